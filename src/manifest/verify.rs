//! Verification of data files against the manifest: sizes always, MD5s unless turned off.
//!
//! MD5s are checked in a parallel pass before the scan (one task per file, as many at once
//! as there are cores), so that a query never returns answers from a corrupt delivery.

use std::sync::Arc;

use futures::StreamExt;
use md5::{Digest, Md5};
use object_store::ObjectStoreExt;

use super::discover::DataFile;
use crate::error::{Error, Result};
use crate::progress::{Progress, SharedProgress};
use crate::storage::{Action, Store};

/// Lowercase hex MD5 of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// Checks every file's size (HEAD) and, with `md5`, its MD5 (full read), `concurrency`
/// files at a time. The first mismatch or missing file is the error.
pub async fn verify_data_files(
    store: &Store,
    files: &[DataFile],
    md5: bool,
    concurrency: usize,
    progress: &SharedProgress,
) -> Result<()> {
    // Without MD5s only sizes are asked for (HEAD): no bytes to count.
    let bytes = if md5 {
        files.iter().map(|f| f.size).sum()
    } else {
        0
    };
    progress.plan_verify(files.len() as u64, bytes);
    let results = futures::stream::iter(files.iter().cloned())
        .map(|file| {
            let store = store.clone();
            let progress = Arc::clone(progress);
            // Spawn so hashing runs on every runtime thread, not only the polling one.
            tokio::spawn(async move { verify_one(&store, &file, md5, &progress).await })
        })
        .buffer_unordered(concurrency.max(1));
    futures::pin_mut!(results);
    while let Some(r) = results.next().await {
        r.map_err(|e| task_failed(e, "a data file"))??;
    }
    Ok(())
}

async fn verify_one(
    store: &Store,
    file: &DataFile,
    md5: bool,
    progress: &SharedProgress,
) -> Result<()> {
    let not_found = |e: Error| match e {
        Error::NotFound { path, .. } => Error::NotFound {
            path,
            hint: ": the manifest lists this data file but it is missing (deleted by a lifecycle rule, or not copied?)",
        },
        other => other,
    };
    if !md5 {
        let meta = store
            .object_store
            .head(&file.path)
            .await
            .map_err(|e| not_found(store.error(e, &file.path, Action::Get)))?;
        check_size(file, meta.size)?;
        Progress::add(&progress.verified_files, 1);
        return Ok(());
    }
    if store.bucket.is_none() {
        // Local files: big sequential reads on a blocking thread beat the object store's
        // small chunked stream by a wide margin.
        let path = Store::local_path(&file.path);
        let file = file.clone();
        let progress_bytes = std::sync::Arc::clone(progress);
        let shown = file.display.clone();
        tokio::task::spawn_blocking(move || md5_local(&path, &file, &progress_bytes))
            .await
            .map_err(|e| task_failed(e, &shown))??;
        Progress::add(&progress.verified_files, 1);
        return Ok(());
    }
    let result = store
        .object_store
        .get(&file.path)
        .await
        .map_err(|e| not_found(store.error(e, &file.path, Action::Get)))?;
    check_size(file, result.meta.size)?;
    let mut stream = result.into_stream();
    let mut hasher = Md5::new();
    let mut read = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| store.error(e, &file.path, Action::Get))?;
        read += chunk.len() as u64;
        hasher.update(&chunk);
        Progress::add(&progress.verified_bytes, chunk.len() as u64);
    }
    check_size(file, read)?;
    finish(file, hasher)?;
    Progress::add(&progress.verified_files, 1);
    Ok(())
}

/// A verification task that did not finish: a panic (named) or a cancelled runtime.
fn task_failed(e: tokio::task::JoinError, what: &str) -> Error {
    match e.try_into_panic() {
        Ok(payload) => crate::panic_net::error(what, payload.as_ref()),
        Err(e) => Error::Internal(format!("verification of {what} did not finish: {e}")),
    }
}

fn md5_local(path: &std::path::Path, file: &DataFile, progress: &Progress) -> Result<()> {
    use std::io::Read;
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound {
            path: file.display.clone(),
            hint: ": the manifest lists this data file but it is missing (deleted by a lifecycle rule, or not copied?)",
        },
        _ => Error::Io {
            path: file.display.clone(),
            source: e,
        },
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    check_size(file, f.metadata().map_err(io)?.len())?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut read = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        read += n as u64;
        Progress::add(&progress.verified_bytes, n as u64);
    }
    check_size(file, read)?;
    finish(file, hasher)
}

fn finish(file: &DataFile, hasher: Md5) -> Result<()> {
    let actual = hex::encode(hasher.finalize());
    if actual != file.md5 {
        return Err(Error::ChecksumMismatch {
            path: file.display.clone(),
            expected: file.md5.clone(),
            actual,
            hint: " (corrupt or replaced data file)",
        });
    }
    Ok(())
}

fn check_size(file: &DataFile, actual: u64) -> Result<()> {
    if actual != file.size {
        return Err(Error::SizeMismatch {
            path: file.display.clone(),
            expected: file.size,
            actual,
        });
    }
    Ok(())
}
