//! Where manifests go: a local folder or an `s3://bucket/prefix`. Local files are written
//! under temporary names and renamed when complete; S3 objects are uploaded whole (one PUT,
//! or a multipart upload for large files) and the ETag S3 returns is kept.

use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;
use futures::TryStreamExt;

use super::md5_thread::BackgroundMd5;
use object_store::WriteMultipart;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{Error, Result};
use crate::output::AtomicFile;
use crate::storage::{Action, Location, S3Options, Store};

/// Files up to this size go up in one PUT; larger ones as a multipart upload.
const SINGLE_PUT_LIMIT: usize = 8 << 20;

/// An opened destination.
#[derive(Debug, Clone)]
pub struct Destination {
    kind: Kind,
    shown: String,
}

#[derive(Debug, Clone)]
enum Kind {
    Local(PathBuf),
    S3 { store: Store, prefix: Path },
}

/// A finished file: its name, size, MD5 and ETag (S3's, or the MD5 for local files).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    pub name: String,
    pub location: String,
    pub bytes: u64,
    pub md5: String,
    pub etag: String,
}

impl Destination {
    /// Opens `location` (a local folder, created if missing, or an S3 prefix).
    pub async fn open(location: &Location, s3: &S3Options) -> Result<Destination> {
        let shown = location.to_string();
        match location {
            Location::Local(path) => {
                std::fs::create_dir_all(path).map_err(|e| Error::Io {
                    path: path.display().to_string(),
                    source: e,
                })?;
                Ok(Destination {
                    kind: Kind::Local(path.clone()),
                    shown,
                })
            }
            Location::S3 { .. } => {
                let store = Store::open(location, s3).await?;
                Ok(Destination {
                    kind: Kind::S3 {
                        prefix: location.object_path()?,
                        store,
                    },
                    shown: shown.trim_end_matches('/').to_string(),
                })
            }
        }
    }

    /// The destination as the user wrote it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// `(bucket, key prefix)` when the destination is in S3.
    pub fn s3_bucket_and_prefix(&self) -> Option<(String, String)> {
        match &self.kind {
            Kind::S3 { store, prefix } => {
                Some((store.bucket.clone().unwrap_or_default(), prefix.to_string()))
            }
            Kind::Local(_) => None,
        }
    }

    fn object(&self, name: &str) -> String {
        format!("{}/{name}", self.shown)
    }

    /// Proves that we may write here by writing and deleting a small object.
    pub async fn check_writable(&self) -> Result<()> {
        let name = format!(".s3inv-write-check-{}", std::process::id());
        match &self.kind {
            Kind::Local(dir) => {
                let path = dir.join(&name);
                std::fs::write(&path, b"s3inv")
                    .map_err(|e| Error::Usage(format!("cannot write to {}: {e}", dir.display())))?;
                let _ = std::fs::remove_file(&path);
                Ok(())
            }
            Kind::S3 { store, prefix } => {
                let path = Store::join(prefix, &name);
                store
                    .object_store
                    .put(&path, PutPayload::from_static(b"s3inv"))
                    .await
                    .map_err(|e| match store.error(e, &path, Action::Put) {
                        Error::AccessDenied { bucket, key, .. } => Error::AccessDenied {
                            bucket,
                            key,
                            action: "s3:PutObject",
                        },
                        other => other,
                    })?;
                let _ = store.object_store.delete(&path).await;
                Ok(())
            }
        }
    }

    /// Names of the files directly in the destination.
    pub async fn list(&self) -> Result<Vec<String>> {
        match &self.kind {
            Kind::Local(dir) => Ok(std::fs::read_dir(dir)
                .map_err(|e| Error::Io {
                    path: dir.display().to_string(),
                    source: e,
                })?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()),
            Kind::S3 { store, prefix } => {
                let listing = store
                    .object_store
                    .list_with_delimiter(Some(prefix))
                    .await
                    .map_err(|e| store.error(e, prefix, Action::List))?;
                Ok(listing
                    .objects
                    .iter()
                    .filter_map(|o| o.location.filename().map(str::to_string))
                    .collect())
            }
        }
    }

    /// Deletes files by name (missing ones are fine).
    pub async fn remove(&self, names: &[String]) -> Result<()> {
        for name in names {
            match &self.kind {
                Kind::Local(dir) => {
                    let _ = std::fs::remove_file(dir.join(name));
                }
                Kind::S3 { store, prefix } => {
                    let path = Store::join(prefix, name);
                    match store.object_store.delete(&path).await {
                        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                        Err(e) => return Err(store.error(e, &path, Action::Put)),
                    }
                }
            }
        }
        Ok(())
    }

    /// Starts writing `name`.
    pub async fn create(&self, name: &str) -> Result<FileWriter> {
        let inner = match &self.kind {
            Kind::Local(dir) => {
                let file = AtomicFile::create(&dir.join(name))?;
                let handle = std::io::BufWriter::with_capacity(1 << 20, file.handle()?);
                Inner::Local { file, handle }
            }
            Kind::S3 { store, prefix } => Inner::S3 {
                s3: store.clone(),
                path: Store::join(prefix, name),
                buffer: Vec::new(),
                upload: None,
            },
        };
        Ok(FileWriter {
            name: name.to_string(),
            location: self.object(name),
            inner,
            md5: BackgroundMd5::new(),
            bytes: 0,
        })
    }

    /// Writes a small file whole.
    pub async fn write_whole(&self, name: &str, content: &[u8]) -> Result<Written> {
        let mut w = self.create(name).await?;
        w.write(content).await?;
        let pending = w.finish().await?;
        pending.commit()
    }

    /// The whole content of a small file; `None` when it does not exist.
    pub async fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match &self.kind {
            Kind::Local(dir) => match std::fs::read(dir.join(name)) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::Io {
                    path: dir.join(name).display().to_string(),
                    source: e,
                }),
            },
            Kind::S3 { store, prefix } => {
                let path = Store::join(prefix, name);
                match store.object_store.get(&path).await {
                    Ok(r) => Ok(Some(
                        r.bytes()
                            .await
                            .map_err(|e| store.error(e, &path, Action::Get))?
                            .to_vec(),
                    )),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(store.error(e, &path, Action::Get)),
                }
            }
        }
    }

    /// Reads a file back (for the conservation check).
    pub async fn read_lines(&self, name: &str) -> Result<ByteLines> {
        match &self.kind {
            Kind::Local(dir) => {
                let path = dir.join(name);
                let f = std::fs::File::open(&path).map_err(|e| Error::Io {
                    path: path.display().to_string(),
                    source: e,
                })?;
                Ok(ByteLines::Local(std::io::BufReader::with_capacity(
                    1 << 20,
                    f,
                )))
            }
            Kind::S3 { store, prefix } => {
                let path = Store::join(prefix, name);
                let r = store
                    .object_store
                    .get(&path)
                    .await
                    .map_err(|e| store.error(e, &path, Action::Get))?;
                Ok(ByteLines::S3 {
                    stream: r.into_stream(),
                    pending: Vec::new(),
                    start: 0,
                    shown: store.display(&path),
                })
            }
        }
    }
}

/// Lines of a file, local or streamed from S3.
pub enum ByteLines {
    Local(std::io::BufReader<std::fs::File>),
    S3 {
        stream: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
        /// Received bytes; those before `start` are consumed.
        pending: Vec<u8>,
        start: usize,
        shown: String,
    },
}

impl ByteLines {
    /// The next line without its `\n`, or `None` at the end.
    pub async fn next_line(&mut self, line: &mut Vec<u8>) -> Result<bool> {
        line.clear();
        match self {
            ByteLines::Local(r) => {
                use std::io::BufRead;
                let n = r.read_until(b'\n', line).map_err(|e| Error::Io {
                    path: "manifest".into(),
                    source: e,
                })?;
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                Ok(n > 0)
            }
            ByteLines::S3 {
                stream,
                pending,
                start,
                shown,
            } => loop {
                if let Some(i) = memchr::memchr(b'\n', &pending[*start..]) {
                    line.extend_from_slice(&pending[*start..*start + i]);
                    *start += i + 1;
                    return Ok(true);
                }
                // Keep only the unfinished line before appending the next chunk.
                pending.drain(..*start);
                *start = 0;
                match stream.try_next().await.map_err(|e| Error::Storage {
                    location: shown.clone(),
                    source: e,
                })? {
                    Some(chunk) => pending.extend_from_slice(&chunk),
                    None => {
                        let more = !pending.is_empty();
                        line.append(pending);
                        return Ok(more);
                    }
                }
            },
        }
    }
}

enum Inner {
    Local {
        file: AtomicFile,
        handle: std::io::BufWriter<std::fs::File>,
    },
    S3 {
        s3: Store,
        path: Path,
        buffer: Vec<u8>,
        upload: Option<Box<WriteMultipart>>,
    },
}

/// A file being written; `finish` completes the upload (S3) or flushes (local) and returns
/// a pending file that `commit` makes visible (local rename; S3 is already visible).
pub struct FileWriter {
    name: String,
    location: String,
    inner: Inner,
    md5: BackgroundMd5,
    bytes: u64,
}

/// A finished file waiting to be made visible.
pub struct Pending {
    written: Written,
    local: Option<AtomicFile>,
}

impl Pending {
    pub fn written(&self) -> &Written {
        &self.written
    }

    /// Makes the file visible under its name.
    pub fn commit(self) -> Result<Written> {
        if let Some(f) = self.local {
            f.commit()?;
        }
        Ok(self.written)
    }
}

impl FileWriter {
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.md5.update(data);
        self.bytes += data.len() as u64;
        match &mut self.inner {
            Inner::Local { handle, .. } => handle.write_all(data).map_err(|e| Error::Io {
                path: self.location.clone(),
                source: e,
            }),
            Inner::S3 {
                s3,
                path,
                buffer,
                upload,
            } => {
                buffer.extend_from_slice(data);
                if buffer.len() >= SINGLE_PUT_LIMIT {
                    if upload.is_none() {
                        let u = s3
                            .object_store
                            .put_multipart(path)
                            .await
                            .map_err(|e| s3.error(e, path, Action::Put))?;
                        *upload = Some(Box::new(WriteMultipart::new_with_chunk_size(u, 8 << 20)));
                    }
                    let w = upload.as_mut().expect("started above");
                    w.wait_for_capacity(4)
                        .await
                        .map_err(|e| s3.error(e, path, Action::Put))?;
                    w.write(buffer);
                    buffer.clear();
                }
                Ok(())
            }
        }
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub async fn finish(self) -> Result<Pending> {
        let md5 = self.md5.finish();
        let (etag, local) = match self.inner {
            Inner::Local { file, mut handle } => {
                handle.flush().map_err(|e| Error::Io {
                    path: self.location.clone(),
                    source: e,
                })?;
                drop(handle);
                // S3 would report the MD5 as the ETag of a single-part upload.
                (md5.clone(), Some(file))
            }
            Inner::S3 {
                s3,
                path,
                buffer,
                upload,
            } => {
                let result = match upload {
                    None => s3
                        .object_store
                        .put(&path, PutPayload::from(buffer))
                        .await
                        .map_err(|e| s3.error(e, &path, Action::Put))?,
                    Some(mut w) => {
                        w.write(&buffer);
                        w.finish()
                            .await
                            .map_err(|e| s3.error(e, &path, Action::Put))?
                    }
                };
                let etag = result
                    .e_tag
                    .map(|t| t.trim_matches('"').to_string())
                    .unwrap_or_else(|| md5.clone());
                (etag, None)
            }
        };
        Ok(Pending {
            written: Written {
                name: self.name,
                location: self.location,
                bytes: self.bytes,
                md5,
                etag,
            },
            local,
        })
    }
}
