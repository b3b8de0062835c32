//! `diff --list`: the listed rows arrive in no particular order (parallel joins, bucket
//! groups), so they are spooled to a local Arrow IPC file and written sorted by
//! destination, key and version id — the same file for the same inventories, every run —
//! through DataFusion's sort, which spills within `--memory-limit`.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::arrow::ArrowFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use tokio::sync::mpsc::Receiver;

use super::list_schema;
use crate::error::{Error, Result};
use crate::table::Session;

fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Query(format!(
        "cannot write the listing's temporary file {}: {e} (set TMPDIR to a folder with room)",
        path.display()
    ))
}

/// Writes every batch received to `path` until the senders are gone; the row count.
pub async fn spool(path: PathBuf, mut rx: Receiver<Result<RecordBatch>>) -> Result<u64> {
    let file = File::create(&path).map_err(|e| io_error(&path, e))?;
    let mut writer = FileWriter::try_new(BufWriter::with_capacity(1 << 16, file), &list_schema())
        .map_err(|e| io_error(&path, e))?;
    let mut rows = 0;
    while let Some(batch) = rx.recv().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch).map_err(|e| io_error(&path, e))?;
    }
    writer.finish().map_err(|e| io_error(&path, e))?;
    Ok(rows)
}

/// The spooled rows, sorted.
pub async fn sorted(session: &Session, path: &Path) -> Result<SendableRecordBatchStream> {
    let mut config = session
        .ctx
        .copied_config()
        .with_create_default_catalog_and_schema(true);
    // The sort holds this much back for merging its spills: a share of a small limit.
    if let Some(limit) = memory_limit(session) {
        let options = config.options_mut();
        options.execution.sort_spill_reservation_bytes = options
            .execution
            .sort_spill_reservation_bytes
            .min(limit / 8);
    }
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(session.ctx.runtime_env())
        .with_default_features()
        .build();
    let ctx = SessionContext::new_with_state(state);
    let url = ListingTableUrl::parse(path.to_string_lossy())?;
    let options = ListingOptions::new(Arc::new(ArrowFormat)).with_file_extension(".arrow");
    let table = ListingTable::try_new(
        ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(list_schema()),
    )?;
    ctx.register_table("listed", Arc::new(table))?;
    let df = ctx
        .sql("SELECT * FROM listed ORDER BY destination, key, version_id NULLS FIRST")
        .await?;
    Ok(df.execute_stream().await?)
}

/// The session's memory limit, when it has one.
fn memory_limit(session: &Session) -> Option<usize> {
    match session.ctx.runtime_env().memory_pool.memory_limit() {
        datafusion::execution::memory_pool::MemoryLimit::Finite(n) => Some(n),
        _ => None,
    }
}
