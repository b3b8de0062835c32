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
        Ok(Location::Local(normalise_local(raw)?))
    }

    /// The object-store path of this location (key within the bucket, or the absolute
    /// local path without its leading `/`).
    pub fn object_path(&self) -> Result<Path> {
        match self {
            // Segments are held raw so that characters object_store would escape (`~`,
            // `#`, `%`, …) reach S3 and the file system as the user wrote them.
            // Only the trailing `/` of a prefix goes: `s3://b/inv//src/` is the key prefix
            // `inv//src`, empty segment and all (S3 Inventory writes such keys).
            Location::S3 { key, .. } => Ok(super::key_path(key.trim_end_matches('/'))),
            Location::Local(p) => Ok(super::key_path(p.to_string_lossy().trim_matches('/'))),
        }
    }

    /// Fails for an S3 output location whose key s3inv will not write: one with an empty
    /// (`a//b`), `.`/`..` or control-character segment. Such keys can be read (see
    /// `keys`), but an output there is almost always a typo, and a tool that collapses `//`
    /// would find it under another key. `folder` says a trailing `/` only ends the prefix.
    pub fn check_output_key(&self, folder: bool) -> Result<()> {
        let Location::S3 { key, .. } = self else {
            return Ok(());
        };
        let key = if folder {
            key.strip_suffix('/').unwrap_or(key)
        } else {
            key.as_str()
        };
        if !key.is_empty() && super::keys::is_escaped(&super::key_path(key)) {
            return Err(Error::Usage(format!(
                "{self}: s3inv does not write outputs under keys with an empty segment (`//`), a `.`/`..` segment or control characters; choose an output location without them"
            )));
        }
        Ok(())
    }

    /// The bucket, for S3 locations.
    pub fn bucket(&self) -> Option<&str> {
        match self {
            Location::S3 { bucket, .. } => Some(bucket),
            Location::Local(_) => None,
        }
    }
}

/// `raw` as an absolute path without `.`, `..` or symlinks in the part that exists.
///
/// The longest existing ancestor is canonicalised (so a symlinked delivery folder resolves
/// to where its data files really are, and `a/link/../b` means what the OS means by it);
/// the rest, not yet created, is normalised lexically. object_store paths cannot hold `.`
/// or `..` segments, so no local path may keep them.
fn normalise_local(raw: &str) -> Result<PathBuf> {
    use std::path::Component;
    let io = |e: std::io::Error| Error::Io {
        path: raw.to_string(),
        source: e,
    };
    let absolute = std::path::absolute(raw).map_err(io)?;
    let components: Vec<Component<'_>> = absolute.components().collect();
    // The longest prefix that exists, canonicalised; the rest is appended lexically.
    let (mut path, rest) = (1..=components.len())
        .rev()
        .find_map(|n| {
            let prefix: PathBuf = components[..n].iter().collect();
            std::fs::canonicalize(&prefix)
                .ok()
                .map(|c| (c, &components[n..]))
        })
        .unwrap_or_else(|| (PathBuf::from("/"), &components[..]));
    for component in rest {
        match component {
            Component::ParentDir => {
                path.pop();
            }
            Component::Normal(name) => path.push(name),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Ok(path)
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
        // A `//` inside an S3 key is kept: the path names that key, never `inv/src/cfg`.
        let path = Location::parse("s3://b/inv//src/cfg/")
            .unwrap()
            .object_path()
            .unwrap();
        assert_eq!(crate::storage::path_key(&path), "inv//src/cfg");
        let local = Location::parse("/nonexistent-s3inv/x/").unwrap();
        assert_eq!(local.object_path().unwrap().as_ref(), "nonexistent-s3inv/x");
    }

    #[test]
    fn local_paths_are_normalised_and_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(real.join("d/sub")).unwrap();
        std::fs::create_dir_all(real.join("other")).unwrap();
        let parsed = |p: std::path::PathBuf| Location::parse(p.to_str().unwrap()).unwrap();
        // `..` and `.` go, also in the part that does not exist yet.
        assert_eq!(
            parsed(real.join("d/sub/../sub/./new/../file%#~.json")),
            Location::Local(real.join("d/sub/file%#~.json"))
        );
        // A symlink resolves to its target, and `..` after it is the target's parent.
        std::os::unix::fs::symlink(real.join("d/sub"), real.join("other/link")).unwrap();
        assert_eq!(
            parsed(real.join("other/link")),
            Location::Local(real.join("d/sub"))
        );
        assert_eq!(
            parsed(real.join("other/link/../x")),
            Location::Local(real.join("d/x"))
        );
        // Segments object_store would escape are held raw once `..` is gone.
        let loc = parsed(real.join("d/../d/a%20b#~"));
        let expected = format!("{}/d/a%20b#~", real.display());
        assert_eq!(
            loc.object_path().unwrap().as_ref(),
            expected.trim_start_matches('/')
        );
    }
}
