//! A file that appears complete or not at all: written under a temporary name in the same
//! folder, renamed into place on `commit`, removed if dropped uncommitted.
//!
//! Only a regular file (or a path that does not exist yet) is replaced by a rename. A
//! symbolic link is followed first: the temporary file goes next to the link's final target,
//! which is replaced, so the link keeps pointing at the new content. Anything else — a
//! FIFO, a character device such as `/dev/null`, a terminal, an open descriptor under
//! `/dev/fd/N` or `/dev/stdout` (the kernel's `/proc/…/fd` links) — is written straight
//! into, since renaming over it would replace the device node or pipe by a regular file.
//!
//! A new file gets the mode `0666` less the process umask, like any file a shell creates; a
//! replaced file keeps its mode.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// A file being written; see the module docs.
#[derive(Debug)]
pub struct AtomicFile {
    kind: Kind,
    /// The path as the user gave it (for messages).
    target: PathBuf,
}

#[derive(Debug)]
enum Kind {
    /// Written under a temporary name, renamed over `dest` on commit.
    Replace { temp: NamedTempFile, dest: PathBuf },
    /// Written straight into (FIFO, device, open descriptor).
    Direct(File),
}

/// Symbolic links followed before giving up (the kernel's limit is 40).
const MAX_LINKS: usize = 40;

/// What `target` turns out to be once symbolic links are followed.
enum Resolved {
    /// A regular file, or nothing yet: replace this path by a rename.
    Replace(PathBuf),
    /// Anything else: write into `target` as it is.
    Direct,
}

fn io_error(target: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: target.display().to_string(),
        source: e,
    }
}

/// Explains why `target` cannot be written: `folder`, where it goes (its parent folder, or
/// `target` itself when it is a folder to create), is missing, a part of that path is a
/// file, or writing there is not allowed. Names the user's path, never a temporary file.
pub(crate) fn write_error(target: &Path, folder: &Path, e: std::io::Error) -> Error {
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    // The deepest part of the folder's path that exists must be a folder.
    let existing = folder.ancestors().find(|a| std::fs::metadata(a).is_ok());
    if let Some(file) = existing.filter(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir())) {
        return Error::Usage(if file == target {
            format!(
                "{} is a file, not a folder: name a folder to write into",
                target.display()
            )
        } else {
            format!(
                "cannot write {}: {} is a file, not a folder",
                target.display(),
                file.display()
            )
        });
    }
    let message = match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "folder {} does not exist (create it first: mkdir -p {})",
            folder.display(),
            folder.display()
        ),
        std::io::ErrorKind::PermissionDenied => {
            format!("no permission to write in folder {}", folder.display())
        }
        std::io::ErrorKind::ReadOnlyFilesystem => {
            format!("folder {} is on a read-only file system", folder.display())
        }
        _ => return io_error(target, plain(e)),
    };
    Error::Usage(format!("cannot write {}: {message}", target.display()))
}

/// The OS error inside `tempfile`'s error, which would otherwise name the temporary file.
fn plain(e: std::io::Error) -> std::io::Error {
    let code = e
        .get_ref()
        .and_then(|inner| inner.source())
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .and_then(std::io::Error::raw_os_error);
    match code {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => e,
    }
}

/// The folder a file at `dest` is written in.
fn folder_of(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A path inside `/proc` names a kernel object (`/dev/stdout` → `/proc/self/fd/1`), never a
/// file we may rename over.
fn in_proc(path: &Path) -> bool {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = dir
        .and_then(|d| std::fs::canonicalize(d).ok())
        .unwrap_or_else(|| dir.map(Path::to_path_buf).unwrap_or_default());
    dir.starts_with("/proc")
}

/// Our own stdout or stderr when `target` is one of them (`-o /dev/stdout`): written through
/// the inherited descriptor, whose offset the shell shares, so that output redirected to a
/// file lands where the shell's next write expects it. Opening the path anew would give a
/// descriptor with an offset of its own.
fn inherited(target: &Path) -> Option<File> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let wanted = std::fs::metadata(target).ok()?;
    let candidates = [
        std::io::stdout().as_fd().try_clone_to_owned(),
        std::io::stderr().as_fd().try_clone_to_owned(),
    ];
    candidates.into_iter().flatten().map(File::from).find(|f| {
        f.metadata()
            .is_ok_and(|m| m.dev() == wanted.dev() && m.ino() == wanted.ino())
    })
}

fn resolve(target: &Path) -> Result<Resolved> {
    let mut path = target.to_path_buf();
    for _ in 0..MAX_LINKS {
        if in_proc(&path) {
            return Ok(Resolved::Direct);
        }
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Resolved::Replace(path));
            }
            Err(e) => return Err(write_error(target, &folder_of(&path), e)),
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&path).map_err(|e| io_error(target, e))?;
                path = match path.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(m) if m.is_file() => return Ok(Resolved::Replace(path)),
            Ok(m) if m.is_dir() => {
                return Err(Error::Usage(format!(
                    "{} is a folder: name a file to write",
                    target.display()
                )));
            }
            Ok(_) => return Ok(Resolved::Direct),
        }
    }
    Err(Error::Usage(format!(
        "{}: too many levels of symbolic links",
        target.display()
    )))
}

impl AtomicFile {
    /// Starts writing `target` (its folder must exist).
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let kind = match resolve(target)? {
            Resolved::Direct => Kind::Direct(match inherited(target) {
                Some(f) => f,
                None => OpenOptions::new()
                    // A regular file behind a descriptor (`-o /dev/fd/3 3>> log`) is
                    // appended to where the shell left it, not overwritten from byte 0.
                    .append(true)
                    .open(target)
                    .map_err(|e| io_error(target, e))?,
            }),
            Resolved::Replace(dest) => Kind::Replace {
                temp: temp_beside(&dest).map_err(|e| write_error(target, &folder_of(&dest), e))?,
                dest,
            },
        };
        Ok(AtomicFile {
            kind,
            target: target.to_path_buf(),
        })
    }

    /// A second handle on the file being written, to write through.
    pub fn handle(&self) -> Result<File> {
        match &self.kind {
            Kind::Replace { temp, .. } => temp.reopen(),
            Kind::Direct(f) => f.try_clone(),
        }
        .map_err(|e| io_error(&self.target, e))
    }

    /// Flushes to disk and renames the file into place (a file written straight into is
    /// already in place).
    pub fn commit(self) -> Result<()> {
        match self.kind {
            Kind::Replace { temp, dest } => {
                temp.as_file()
                    .sync_all()
                    .map_err(|e| io_error(&self.target, e))?;
                temp.persist(&dest)
                    .map_err(|e| io_error(&self.target, e.error))?;
                Ok(())
            }
            Kind::Direct(_) => Ok(()),
        }
    }
}

/// A temporary file in `dest`'s folder, with the mode `dest` has, or `0666` less the umask
/// when `dest` is new (the kernel applies the umask to the mode asked for at creation).
/// Checks, before any data is read, that `target` can be written as [`AtomicFile::create`]
/// will write it: a temporary file can be made beside the file it replaces (and is removed
/// at once). A FIFO, device or descriptor is not opened here (opening a FIFO waits for its
/// reader), so it is left to the write itself.
pub fn check_writable(target: &Path) -> Result<()> {
    match resolve(target)? {
        // Nothing to write into (`/proc/x`, where no file can be created): said now.
        Resolved::Direct => match std::fs::metadata(target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::Usage(format!(
                "cannot write {}: it does not exist, and no file can be created in {}",
                target.display(),
                folder_of(target).display()
            ))),
            _ => Ok(()),
        },
        Resolved::Replace(dest) => temp_beside(&dest)
            .map(drop)
            .map_err(|e| write_error(target, &folder_of(&dest), e)),
    }
}

fn temp_beside(dest: &Path) -> std::io::Result<NamedTempFile> {
    let dir = folder_of(dest);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "output".into());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let temp = builder.tempfile_in(&dir)?;
    if let Ok(existing) = std::fs::metadata(dest) {
        temp.as_file().set_permissions(existing.permissions())?;
    }
    Ok(temp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn write(target: &Path, text: &str) {
        let f = AtomicFile::create(target).unwrap();
        f.handle().unwrap().write_all(text.as_bytes()).unwrap();
        f.commit().unwrap();
    }

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
        write(&target, "whole");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "whole");
    }

    #[test]
    fn regular_file_is_replaced_and_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, "old and longer").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&target, "new");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        let m = std::fs::symlink_metadata(&target).unwrap();
        assert!(m.is_file());
        assert_eq!(m.permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn symlink_stays_a_link_and_its_target_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real_dir = dir.path().join("real");
        std::fs::create_dir(&real_dir).unwrap();
        let real = real_dir.join("metrics.prom");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.prom");
        std::os::unix::fs::symlink("real/metrics.prom", &link).unwrap();
        // A link to a link, and a dangling link (its target is created).
        let link2 = dir.path().join("link2.prom");
        std::os::unix::fs::symlink(&link, &link2).unwrap();
        write(&link2, "new");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::symlink_metadata(&link2)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
        // No temporary file left beside the link or the target.
        assert_eq!(std::fs::read_dir(&real_dir).unwrap().count(), 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink("real/new.txt", &dangling).unwrap();
        write(&dangling, "created");
        assert!(
            std::fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(real_dir.join("new.txt")).unwrap(),
            "created"
        );
    }

    #[test]
    fn fifo_is_written_into_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = File::open(&fifo).and_then(|mut f| f.read_to_string(&mut text));
                let _ = tx.send(text);
            });
        }
        write(&fifo, "through the pipe\n");
        let read = rx.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(read.as_deref(), Ok("through the pipe\n"));
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn dev_null_stays_a_device() {
        use std::os::unix::fs::FileTypeExt;
        // Checked before writing: a regression must not replace the machine's /dev/null.
        assert!(matches!(
            resolve(Path::new("/dev/null")).unwrap(),
            Resolved::Direct
        ));
        write(Path::new("/dev/null"), "discarded");
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }

    #[test]
    fn a_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = AtomicFile::create(dir.path()).unwrap_err().to_string();
        assert!(e.contains("is a folder"), "{e}");
    }
}
