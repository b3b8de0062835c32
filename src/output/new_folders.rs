//! Folders a run creates for its outputs: a run that fails removes them again, when they
//! are still empty, so that "a failed run leaves nothing behind" holds for folders too
//! (`manifest --out DIR`, `report --out DIR` and its `history/`).

use std::path::{Path, PathBuf};

use crate::storage::Location;

/// The topmost folder of a local output location that does not exist yet.
#[derive(Debug)]
pub struct NewFolders {
    top: Option<PathBuf>,
}

impl NewFolders {
    /// Notes which part of `location` a run is about to create (nothing for S3, where
    /// folders do not exist).
    pub fn before_creating(location: &Location) -> NewFolders {
        let top = match location {
            Location::Local(path) => path
                .ancestors()
                .take_while(|p| !p.exists())
                .last()
                .map(Path::to_path_buf),
            Location::S3 { .. } => None,
        };
        NewFolders { top }
    }

    /// Removes the folders noted, if they hold nothing but empty folders.
    pub fn remove_if_empty(&self) {
        if let Some(top) = &self.top {
            prune(top);
        }
    }
}

/// Removes `dir` if it holds only empty folders; true when it is gone.
fn prune(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut empty = true;
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !(is_dir && prune(&entry.path())) {
            empty = false;
        }
    }
    empty && std::fs::remove_dir(dir).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_empty_folders_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        let new = NewFolders::before_creating(&Location::Local(out.clone()));
        std::fs::create_dir_all(out.join("history")).unwrap();
        new.remove_if_empty();
        assert!(!dir.path().join("a").exists());
        assert!(dir.path().exists());
        // A file written there keeps it all.
        let new = NewFolders::before_creating(&Location::Local(out.clone()));
        std::fs::create_dir_all(out.join("history")).unwrap();
        std::fs::write(out.join("history/x.json"), "{}").unwrap();
        new.remove_if_empty();
        assert!(out.join("history/x.json").exists());
        // A folder that existed before is never removed.
        std::fs::remove_dir_all(dir.path().join("a")).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        NewFolders::before_creating(&Location::Local(out.clone())).remove_if_empty();
        assert!(out.exists());
    }
}
