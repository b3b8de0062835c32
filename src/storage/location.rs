//! Parsing of a user's LOCATION: a local path or an `s3://bucket/prefix` URL.

use std::path::PathBuf;

use object_store::path::Path;

use crate::error::{Error, Result};

/// Where something lives: a local file or folder, or an S3 bucket and key/prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An absolute local path.
    Local(PathBuf),
    /// A bucket and a key or prefix inside it (no leading `/`, maybe empty).
    S3 { bucket: String, key: String },
}

impl Location {
    /// Parses a local path (made absolute) or an `s3://` URL.
    pub fn parse(raw: &str) -> Result<Location> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(Error::Usage("location is empty".into()));
        }
        if let Some(rest) = raw
            .strip_prefix("s3://")
            .or_else(|| raw.strip_prefix("S3://"))
        {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(Error::Usage(format!(
                    "{raw}: no bucket name; write s3://BUCKET/PREFIX"
                )));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                key: key.to_string(),
            });
        }
        if raw.contains("://") {
            return Err(Error::Usage(format!(
                "{raw}: unsupported scheme; use a local path or an s3:// URL"
            )));
        }
        let path = std::path::absolute(raw).map_err(|e| Error::Io {
            path: raw.to_string(),
            source: e,
        })?;
        Ok(Location::Local(path))
    }

    /// The object-store path of this location (key within the bucket, or the absolute
    /// local path without its leading `/`).
    pub fn object_path(&self) -> Result<Path> {
        match self {
            // Segments are held raw so that characters object_store would escape (`~`,
            // `#`, `%`, …) reach S3 and the file system as the user wrote them.
            Location::S3 { key, .. } => Ok(super::raw_path(key.trim_matches('/'))),
            Location::Local(p) => Ok(super::raw_path(p.to_string_lossy().trim_matches('/'))),
        }
    }

    /// The bucket, for S3 locations.
    pub fn bucket(&self) -> Option<&str> {
        match self {
            Location::S3 { bucket, .. } => Some(bucket),
            Location::Local(_) => None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_and_local() {
        assert_eq!(
            Location::parse("s3://b/inv/src/cfg/").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                key: "inv/src/cfg/".into()
            }
        );
        assert_eq!(
            Location::parse("s3://b").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                key: "".into()
            }
        );
        assert!(Location::parse("s3:///x").is_err());
        assert!(Location::parse("gs://x/y").is_err());
        let local = Location::parse("/tmp/x/").unwrap();
        assert_eq!(local.object_path().unwrap().as_ref(), "tmp/x");
    }
}
