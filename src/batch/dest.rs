//! Where manifests go: a local folder or an `s3://bucket/prefix`. Files are written under
//! temporary names (local: a hidden temp file; S3: a hidden staged object, one PUT or a
//! multipart upload for large files) and put in place by `Pending::commit` (a rename; a
//! server-side copy whose ETag is read back), so a caller can re-read and verify them
//! before any is visible. An upload or staged object dropped uncommitted is aborted or
//! deleted (`finish_cleanup` waits for that).

use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;
use futures::TryStreamExt;

use md5::{Digest, Md5};
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload, PutResult};

use super::md5_thread::{BackgroundMd5, aws_cli_chunk_size, multipart_etag};

use crate::error::{Error, Result};
use crate::output::AtomicFile;
use crate::storage::{Action, Location, S3Options, Store};

/// Files up to this size go up in one PUT; larger ones as a multipart upload.
const SINGLE_PUT_LIMIT: usize = 8 << 20;
/// The size of every part of a multipart upload but the last.
const PART_SIZE: usize = 8 << 20;

/// The name a file is uploaded under until `Pending::commit` copies it into place: hidden,
/// unique to the process and recognisably temporary (`.manifest-00001.csv.s3inv-<id>.tmp`).
fn staged_name(name: &str) -> String {
    static RUN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let run = RUN.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{:x}{:x}", std::process::id(), nanos & 0xffff_ffff)
    });
    format!(".{name}.s3inv-{run}.tmp")
}

/// Whether `name` is a temporary file s3inv left for `of` (a local `.NAME.XXXXXX.tmp` or
/// an S3 `.NAME.s3inv-ID.tmp`), e.g. after the process was killed.
pub fn is_temporary_of(name: &str, of: impl Fn(&str) -> bool) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    inner
        .rsplit_once('.')
        .is_some_and(|(base, tag)| !tag.is_empty() && !tag.contains('/') && of(base))
}

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
                std::fs::create_dir_all(path)
                    .map_err(|e| crate::output::write_error(path, path, e))?;
                Ok(Destination {
                    kind: Kind::Local(path.clone()),
                    shown,
                })
            }
            Location::S3 { .. } => {
                location.check_output_key(true)?;
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
                staged: Staged {
                    s3: store.clone(),
                    path: Store::join(prefix, &staged_name(name)),
                    armed: true,
                },
                target: Store::join(prefix, name),
                buffer: Vec::new(),
                upload: Upload::default(),
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

    /// Writes a small file whole (S3: one PUT, which is atomic by itself).
    pub async fn write_whole(&self, name: &str, content: &[u8]) -> Result<Written> {
        match &self.kind {
            Kind::Local(_) => {
                let mut w = self.create(name).await?;
                w.write(content).await?;
                w.finish().await?.commit().await
            }
            Kind::S3 { store, prefix } => {
                let path = Store::join(prefix, name);
                let put = store
                    .object_store
                    .put(&path, PutPayload::from(content.to_vec()))
                    .await
                    .map_err(|e| store.error(e, &path, Action::Put))?;
                let md5 = hex::encode(Md5::digest(content));
                Ok(Written {
                    name: name.to_string(),
                    location: self.object(name),
                    bytes: content.len() as u64,
                    etag: put
                        .e_tag
                        .map(|t| t.trim_matches('"').to_string())
                        .unwrap_or_else(|| md5.clone()),
                    md5,
                })
            }
        }
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
                ByteLines::open_s3(store, &Store::join(prefix, name)).await
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
    async fn open_s3(store: &Store, path: &Path) -> Result<ByteLines> {
        let r = store
            .object_store
            .get(path)
            .await
            .map_err(|e| store.error(e, path, Action::Get))?;
        Ok(ByteLines::S3 {
            stream: r.into_stream(),
            pending: Vec::new(),
            start: 0,
            shown: store.display(path),
        })
    }

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

// One per file being written: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Local {
        file: AtomicFile,
        handle: std::io::BufWriter<std::fs::File>,
    },
    S3 {
        s3: Store,
        /// Where the bytes go until `commit`: `.NAME.s3inv-RUN.tmp` beside the final name.
        staged: Staged,
        target: Path,
        buffer: Vec<u8>,
        upload: Upload,
    },
}

/// Part uploads at most in flight for one file.
const PARTS_IN_FLIGHT: usize = 4;

/// A multipart upload in progress; dropped before it completes (an error, or the run
/// cancelled), it is aborted so that S3 keeps (and bills) no orphaned parts.
#[derive(Default)]
struct Upload {
    upload: Option<Box<dyn MultipartUpload>>,
    parts: tokio::task::JoinSet<object_store::Result<()>>,
}

impl Upload {
    async fn start(&mut self, s3: &Store, path: &Path) -> Result<()> {
        if self.upload.is_none() {
            let u = s3
                .object_store
                .put_multipart(path)
                .await
                .map_err(|e| s3.error(e, path, Action::Put))?;
            self.upload = Some(u);
        }
        Ok(())
    }

    /// Waits until fewer than `max` parts are in flight.
    async fn wait(&mut self, max: usize) -> object_store::Result<()> {
        while !self.parts.is_empty() && self.parts.len() >= max {
            match self.parts.join_next().await {
                None => break,
                Some(Ok(r)) => r?,
                Some(Err(e)) => {
                    return Err(object_store::Error::Generic {
                        store: "S3",
                        source: Box::new(e),
                    });
                }
            }
        }
        Ok(())
    }

    fn put(&mut self, data: Vec<u8>) {
        let part = self
            .upload
            .as_mut()
            .expect("started before parts are put")
            .put_part(PutPayload::from(data));
        self.parts.spawn(part);
    }

    /// Waits for every part and completes the upload; aborts it on any error.
    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let result = match self.wait(0).await {
            Ok(()) => self.upload.as_mut().expect("started").complete().await,
            Err(e) => Err(e),
        };
        match result {
            Ok(r) => {
                self.upload = None;
                Ok(r)
            }
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    async fn abort(&mut self) {
        self.parts.shutdown().await;
        if let Some(mut u) = self.upload.take()
            && let Err(e) = u.abort().await
        {
            tracing::warn!(error = %e, "could not abort a multipart upload");
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(mut u) = self.upload.take() {
            self.parts.abort_all();
            spawn_cleanup(async move {
                if let Err(e) = u.abort().await {
                    tracing::warn!(error = %e, "could not abort a multipart upload");
                }
            });
        }
    }
}

/// A file being written; `finish` completes the upload (S3) or flushes (local) and returns
/// a pending file, still under its temporary name, that `commit` puts in place.
pub struct FileWriter {
    name: String,
    location: String,
    inner: Inner,
    md5: BackgroundMd5,
    bytes: u64,
}

/// A finished file waiting to be made visible; dropped uncommitted, it is removed.
pub struct Pending {
    written: Written,
    kind: PendingKind,
}

#[allow(clippy::large_enum_variant)]
enum PendingKind {
    /// `None` once committed.
    Local(Option<AtomicFile>),
    S3 {
        s3: Store,
        staged: Staged,
        target: Path,
    },
}

/// A staged S3 object: deleted when dropped armed (from the first byte written: an upload
/// cancelled in flight may still complete on the server).
struct Staged {
    s3: Store,
    path: Path,
    armed: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.armed {
            let (s3, path) = (self.s3.clone(), self.path.clone());
            spawn_cleanup(async move {
                let _ = s3.object_store.delete(&path).await;
            });
        }
    }
}

impl Pending {
    pub fn written(&self) -> &Written {
        &self.written
    }

    /// Reads the file back where it is now (before `commit`).
    pub async fn read_lines(&self) -> Result<ByteLines> {
        match &self.kind {
            PendingKind::Local(file) => {
                use std::io::Seek;
                let mut f = file.as_ref().expect("present until commit").handle()?;
                f.seek(std::io::SeekFrom::Start(0)).map_err(|e| Error::Io {
                    path: self.written.location.clone(),
                    source: e,
                })?;
                Ok(ByteLines::Local(std::io::BufReader::with_capacity(
                    1 << 20,
                    f,
                )))
            }
            PendingKind::S3 { s3, staged, .. } => ByteLines::open_s3(s3, &staged.path).await,
        }
    }

    /// Makes the file visible under its name: a rename (local), or a server-side copy of
    /// the staged object, whose ETag is then read back (S3 gives a copy its own ETag).
    pub async fn commit(mut self) -> Result<Written> {
        match &mut self.kind {
            PendingKind::Local(file) => {
                file.take().expect("present until commit").commit()?;
            }
            PendingKind::S3 { s3, staged, target } => {
                let from = staged.path.clone();
                s3.object_store
                    .copy(&from, target)
                    .await
                    .map_err(|e| s3.error(e, target, Action::Put))?;
                let meta = s3
                    .object_store
                    .head(target)
                    .await
                    .map_err(|e| s3.error(e, target, Action::Get))?;
                if meta.size != self.written.bytes {
                    return Err(Error::bad_data(
                        &self.written.location,
                        format!(
                            "holds {} bytes after the copy, {} were uploaded",
                            meta.size, self.written.bytes
                        ),
                    ));
                }
                if let Some(etag) = meta.e_tag {
                    self.written.etag = etag.trim_matches('"').to_string();
                }
                match s3.object_store.delete(&from).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(s3.error(e, &from, Action::Put)),
                }
                staged.armed = false;
            }
        }
        Ok(self.written.clone())
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
                staged,
                buffer,
                upload,
                ..
            } => {
                buffer.extend_from_slice(data);
                if buffer.len() >= SINGLE_PUT_LIMIT {
                    upload.start(s3, &staged.path).await?;
                    while buffer.len() >= PART_SIZE {
                        upload
                            .wait(PARTS_IN_FLIGHT)
                            .await
                            .map_err(|e| s3.error(e, &staged.path, Action::Put))?;
                        let rest = buffer.split_off(PART_SIZE);
                        upload.put(std::mem::replace(buffer, rest));
                    }
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
        let digests = self.md5.finish();
        let md5 = digests.md5.clone();
        let (etag, kind) = match self.inner {
            Inner::Local { file, mut handle } => {
                handle.flush().map_err(|e| Error::Io {
                    path: self.location.clone(),
                    source: e,
                })?;
                drop(handle);
                // The ETag S3 will give the file when `aws s3 cp` uploads it (multipart
                // from 8 MiB: `<md5 of part md5s>-<parts>`).
                let etag = match digests.aws_cli_etag() {
                    Some(etag) => etag,
                    None => aws_cli_etag_of(&file, self.bytes, &self.location)?,
                };
                (etag, PendingKind::Local(Some(file)))
            }
            Inner::S3 {
                s3,
                staged,
                target,
                buffer,
                mut upload,
            } => {
                let result = if upload.upload.is_none() {
                    s3.object_store
                        .put(&staged.path, PutPayload::from(buffer))
                        .await
                        .map_err(|e| s3.error(e, &staged.path, Action::Put))?
                } else {
                    if !buffer.is_empty() {
                        upload.put(buffer);
                    }
                    upload
                        .complete()
                        .await
                        .map_err(|e| s3.error(e, &staged.path, Action::Put))?
                };
                let etag = result
                    .e_tag
                    .map(|t| t.trim_matches('"').to_string())
                    .unwrap_or_else(|| md5.clone());
                (etag, PendingKind::S3 { s3, staged, target })
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
            kind,
        })
    }
}

/// The `aws s3 cp` ETag of a local file, read back (files past 78 GiB, whose chunk is not
/// 8 MiB).
fn aws_cli_etag_of(file: &AtomicFile, size: u64, shown: &str) -> Result<String> {
    use std::io::Read;
    let chunk = aws_cli_chunk_size(size) as usize;
    let mut f = file.handle()?;
    let mut buf = vec![0u8; 1 << 20];
    let mut parts = Vec::new();
    let mut h = Md5::new();
    let mut in_chunk = 0usize;
    loop {
        let want = buf.len().min(chunk - in_chunk);
        let n = f.read(&mut buf[..want]).map_err(|e| Error::Io {
            path: shown.to_string(),
            source: e,
        })?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        in_chunk += n;
        if in_chunk == chunk {
            parts.push(h.finalize_reset().into());
            in_chunk = 0;
        }
    }
    if in_chunk > 0 {
        parts.push(h.finalize().into());
    }
    Ok(multipart_etag(&parts))
}

/// Clean-ups that destructors start (aborting an upload, deleting a staged object): they
/// cannot wait, so they run as tasks that `finish_cleanup` waits for.
static CLEANUP: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>> =
    std::sync::Mutex::new(Vec::new());

pub(crate) fn spawn_cleanup(work: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        let handle = rt.spawn(work);
        CLEANUP
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }
}

/// Waits, at most `limit`, for the clean-ups started so far (call before exiting).
pub async fn finish_cleanup(limit: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let handles = std::mem::take(&mut *CLEANUP.lock().unwrap_or_else(|e| e.into_inner()));
        if handles.is_empty() {
            return;
        }
        for h in handles {
            if tokio::time::timeout_at(deadline, h).await.is_err() {
                return;
            }
        }
    }
}
