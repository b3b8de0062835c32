//! A synchronous `Read` over one data file, for the readers that decompress and parse on
//! a blocking thread: a plain `File` for local paths, an S3 GET stream otherwise.
//!
//! Bytes read are added to the scan progress as they pass.

use std::io::Read;

use bytes::{Buf, Bytes};
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::ObjectStoreExt;

use crate::error::{Error, Result};
use crate::manifest::DataFile;
use crate::progress::{Progress, SharedProgress};
use crate::storage::{Action, Store};

/// Opens `file` for sequential reading. Must be called on a blocking thread inside the
/// Tokio runtime (it waits for S3 responses with `Handle::block_on`).
pub fn open(
    store: &Store,
    file: &DataFile,
    progress: SharedProgress,
) -> Result<Box<dyn Read + Send>> {
    let inner: Box<dyn Read + Send> = match &store.bucket {
        None => {
            let local = Store::local_path(&file.path);
            let f = std::fs::File::open(&local).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::NotFound {
                    path: file.display.clone(),
                    hint: ": the manifest lists this data file but it is missing",
                },
                _ => Error::Io {
                    path: file.display.clone(),
                    source: e,
                },
            })?;
            Box::new(f)
        }
        Some(_) => {
            let handle = tokio::runtime::Handle::current();
            let result = handle
                .block_on(store.object_store.get(&file.path))
                .map_err(|e| store.error(e, &file.path, Action::Get))?;
            Box::new(StreamRead {
                handle,
                stream: result.into_stream(),
                current: Bytes::new(),
            })
        }
    };
    Ok(Box::new(CountingRead { inner, progress }))
}

struct StreamRead {
    handle: tokio::runtime::Handle,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
}

impl Read for StreamRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

struct CountingRead {
    inner: Box<dyn Read + Send>,
    progress: SharedProgress,
}

impl Read for CountingRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        Progress::add(&self.progress.scanned_bytes, n as u64);
        Ok(n)
    }
}
