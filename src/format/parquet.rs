//! Inventory Parquet: which canonical columns a file carries, read from its footer.
//!
//! The data itself is read by DataFusion's Parquet scan (projection and filter pushdown,
//! row-group pruning); `table::provider` adapts it to the canonical schema. Keys are raw.

use std::sync::Arc;

use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};

use super::assemble::PresentColumns;
use crate::error::{Error, Result};

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
    let schema = DFParquetMetadata::new(store.as_ref(), &meta)
        .fetch_schema()
        .await
        .map_err(|e| Error::Read {
            path: display.to_string(),
            message: "cannot read Parquet footer",
            source: Box::new(e),
        })?;
    Ok(PresentColumns::from_names(
        schema.fields().iter().map(|f| f.name().as_str()),
    ))
}
