//! Inventory Parquet: which canonical columns a file carries, read from its footer.
//!
//! The data itself is read by DataFusion's Parquet scan (projection and filter pushdown,
//! row-group pruning); `table::provider` adapts it to the canonical schema. Keys are raw.
//!
//! Before that scan, every file's last 8 bytes are checked here: the parquet crate's
//! footer decoder trusts the metadata length it finds there and panics on one that
//! points before the start of the file.

use std::sync::Arc;

use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};

use super::assemble::PresentColumns;
use crate::error::{Error, Result};
use crate::manifest::DataFile;
use crate::storage::{Action, Store};

/// The length of a Parquet file's tail: the metadata length (4 bytes) and `PAR1`.
const TAIL: u64 = 8;

/// Checks that each file ends like a Parquet file whose metadata fits inside it, reading
/// the last 8 bytes of `concurrency` files at a time.
pub async fn check_tails(store: &Store, files: &[DataFile], concurrency: usize) -> Result<()> {
    let checks = futures::stream::iter(files)
        .map(|file| async move {
            if file.size < TAIL {
                return Err(not_parquet(file, format!("it has {} bytes", file.size)));
            }
            let tail = store
                .object_store
                .get_range(&file.path, file.size - TAIL..file.size)
                .await
                .map_err(|e| store.error(e, &file.path, Action::Get))?;
            check_tail(file, &tail)
        })
        .buffer_unordered(concurrency.max(1));
    futures::pin_mut!(checks);
    while let Some(result) = checks.next().await {
        result?;
    }
    Ok(())
}

fn check_tail(file: &DataFile, tail: &[u8]) -> Result<()> {
    if tail.len() as u64 != TAIL || &tail[4..] != b"PAR1" {
        return Err(not_parquet(file, "it does not end with PAR1".into()));
    }
    let metadata = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if metadata + TAIL > file.size {
        return Err(not_parquet(
            file,
            format!(
                "its footer says the metadata has {metadata} bytes, but the file has only {}",
                file.size
            ),
        ));
    }
    Ok(())
}

fn not_parquet(file: &DataFile, why: String) -> Error {
    Error::bad_data(
        &file.display,
        format!("not a valid Parquet file: {why} (corrupt, truncated or not Parquet)"),
    )
}

/// Reads the footer of one Parquet file and returns the canonical columns it holds.
pub async fn present_columns(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: u64,
    display: &str,
) -> Result<PresentColumns> {
    let meta = ObjectMeta {
        location: path.clone(),
        last_modified: chrono::DateTime::UNIX_EPOCH,
        size,
        e_tag: None,
        version: None,
    };
    let schema = crate::panic_net::guard(display, async {
        DFParquetMetadata::new(store.as_ref(), &meta)
            .fetch_schema()
            .await
            .map_err(|e| Error::Read {
                path: display.to_string(),
                message: "cannot read Parquet footer",
                source: Box::new(e),
            })
    })
    .await?;
    Ok(PresentColumns::from_names(
        schema.fields().iter().map(|f| f.name().as_str()),
    ))
}
