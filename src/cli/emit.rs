//! Writing a command's output wherever `--output`, `--metrics` or `--failed-manifest` point:
//! stdout and local files through `output`'s writers; an `s3://` object is written to a
//! local spool file first and then uploaded whole through `batch::dest::Destination` (one
//! PUT, or a multipart upload completed at the end), so the object appears complete or not
//! at all.

use std::io::Read;

use crate::batch::dest::Destination;
use crate::error::{Error, Result};
use crate::output::Target;
use crate::storage::{Location, S3Options};

/// Bytes read from the spool per upload call.
const CHUNK: usize = 8 << 20;

/// An opened output: `target()` is where the writers write (stdout, the local file, or the
/// spool of an S3 object); `finish` uploads the spool.
pub(super) struct Emit {
    local: Target,
    upload: Option<Upload>,
}

struct Upload {
    dest: Destination,
    name: String,
    _spool: tempfile::TempDir,
}

impl Emit {
    /// Opens `target`. A local file or an S3 destination is checked for write access now,
    /// before any scan: a run must not read a whole delivery only to fail at the end.
    pub(super) async fn open(target: &Target, s3: &S3Options) -> Result<Emit> {
        if let Target::File(path) = target {
            crate::output::check_writable(path)?;
        }
        let Target::S3(location @ Location::S3 { bucket, key }) = target else {
            return Ok(Emit {
                local: target.clone(),
                upload: None,
            });
        };
        location.check_output_key(false)?;
        let (folder, name) = key.rsplit_once('/').unwrap_or(("", key.as_str()));
        let dest = Destination::open(
            &Location::S3 {
                bucket: bucket.clone(),
                key: folder.to_string(),
            },
            s3,
        )
        .await?;
        dest.check_writable().await?;
        let spool = tempfile::tempdir().map_err(|e| Error::Io {
            path: std::env::temp_dir().display().to_string(),
            source: e,
        })?;
        Ok(Emit {
            local: Target::File(spool.path().join(name)),
            upload: Some(Upload {
                dest,
                name: name.to_string(),
                _spool: spool,
            }),
        })
    }

    /// Where the writers write.
    pub(super) fn target(&self) -> &Target {
        &self.local
    }

    /// Uploads a spooled S3 object (local targets are already complete).
    pub(super) async fn finish(self) -> Result<()> {
        let (Some(upload), Target::File(spool)) = (self.upload, &self.local) else {
            return Ok(());
        };
        let io = |e: std::io::Error| Error::Io {
            path: spool.display().to_string(),
            source: e,
        };
        let mut file = std::fs::File::open(spool).map_err(io)?;
        let mut writer = upload.dest.create(&upload.name).await?;
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let n = file.read(&mut buffer).map_err(io)?;
            if n == 0 {
                break;
            }
            writer.write(&buffer[..n]).await?;
        }
        writer.finish().await?.commit().await?;
        Ok(())
    }
}
