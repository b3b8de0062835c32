//! Inventory ORC reader (orc-rust): reads the projected columns of one file and assembles
//! canonical batches.
//!
//! The column list comes from the file's footer. ORC `timestamp` carries no zone: AWS
//! writes UTC wall clock, so the naive value is taken as UTC. Keys are raw.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::record_batch::RecordBatch;
use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt, TryFutureExt};
use object_store::ObjectStore;
use object_store::path::Path;
use orc_rust::ArrowReaderBuilder;
use orc_rust::projection::ProjectionMask;
use orc_rust::reader::AsyncChunkReader;

use super::assemble::{Assembler, PresentColumns};
use super::schema::canonical_schema;
use crate::error::{Error, Result};

/// Reads byte ranges of one object; the size is known from the manifest, which saves the
/// extra request a generic reader makes to learn it.
struct RangeReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
}

impl AsyncChunkReader for RangeReader {
    fn len(&mut self) -> BoxFuture<'_, std::io::Result<u64>> {
        let size = self.size;
        async move { Ok(size) }.boxed()
    }

    fn get_bytes(&mut self, offset: u64, length: u64) -> BoxFuture<'_, std::io::Result<Bytes>> {
        use object_store::ObjectStoreExt;
        // orc-rust asks for empty ranges (empty streams); stores reject those.
        if length == 0 {
            return async { Ok(Bytes::new()) }.boxed();
        }
        let range = offset..offset + length;
        self.store
            .get_range(&self.path, range)
            .map_err(std::io::Error::other)
            .boxed()
    }
}

/// Reads the footer of one ORC file and returns the canonical columns it holds.
pub async fn present_columns(
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    display: &str,
) -> Result<PresentColumns> {
    let mut reader = RangeReader { store, path, size };
    let metadata = crate::panic_net::guard(display, async {
        orc_rust::reader::metadata::read_metadata_async(&mut reader)
            .await
            .map_err(|e| Error::Read {
                path: display.to_string(),
                message: "cannot read ORC footer",
                source: Box::new(e),
            })
    })
    .await?;
    let root = metadata.root_data_type();
    Ok(PresentColumns::from_names(
        root.children().iter().map(|c| c.name()),
    ))
}

/// Opens one ORC file and returns a stream of canonical batches for `projection`.
pub async fn open(
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    display: String,
    projection: Vec<usize>,
    batch_size: usize,
) -> Result<impl Stream<Item = Result<RecordBatch>> + Send + 'static> {
    let reader = RangeReader { store, path, size };
    let builder = crate::panic_net::guard(&display, async {
        ArrowReaderBuilder::try_new_async(reader)
            .await
            .map_err(|e| Error::Read {
                path: display.clone(),
                message: "cannot read ORC file",
                source: Box::new(e),
            })
    })
    .await?;
    let root = builder.file_metadata().root_data_type().clone();
    let names: Vec<String> = root
        .children()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let present = PresentColumns::from_names(names.iter().map(String::as_str));
    let assembler = Assembler::new(&canonical_schema(), &projection, present);
    let wanted: Vec<usize> = root
        .children()
        .iter()
        .filter(|c| super::schema::index_of(c.name()).is_some_and(|i| assembler.wants(i)))
        .map(|c| c.data_type().column_index())
        .collect();
    let mask = ProjectionMask::roots(&root, wanted);
    let stream = builder
        .with_batch_size(batch_size)
        .with_projection(mask)
        .build_async();
    Ok(stream.map(move |batch| {
        let batch = batch.map_err(|e| Error::Read {
            path: display.clone(),
            message: "cannot decode ORC data",
            source: Box::new(e),
        })?;
        let rows = batch.num_rows();
        let arrays = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .filter_map(|(f, a)| super::schema::index_of(f.name()).map(|i| (i, Arc::clone(a))))
            .collect();
        assembler
            .assemble(arrays, rows)
            .map_err(|e| Error::bad_data(&display, e.to_string()))
    }))
}
