//! A file that appears complete or not at all: written under a temporary name in the same
//! folder, renamed into place on `commit`, removed if dropped uncommitted.

use std::fs::File;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A file being written; see the module docs.
#[derive(Debug)]
pub struct AtomicFile {
    temp: NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    /// Starts writing `target` (its folder must exist).
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "output".into());
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| Error::Io {
                path: target.display().to_string(),
                source: e,
            })?;
        Ok(AtomicFile {
            temp,
            target: target.to_path_buf(),
        })
    }

    /// A second handle on the temporary file, to write through.
    pub fn handle(&self) -> Result<File> {
        self.temp.reopen().map_err(|e| Error::Io {
            path: self.target.display().to_string(),
            source: e,
        })
    }

    /// Flushes to disk and renames the file into place.
    pub fn commit(self) -> Result<()> {
        let io = |e: std::io::Error, target: &Path| Error::Io {
            path: target.display().to_string(),
            source: e,
        };
        self.temp
            .as_file()
            .sync_all()
            .map_err(|e| io(e, &self.target))?;
        self.temp
            .persist(&self.target)
            .map_err(|e| io(e.error, &self.target))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn uncommitted_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        {
            let f = AtomicFile::create(&target).unwrap();
            f.handle().unwrap().write_all(b"half").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let f = AtomicFile::create(&target).unwrap();
        f.handle().unwrap().write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "whole");
    }
}
