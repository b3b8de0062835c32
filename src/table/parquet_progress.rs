//! Progress for the Parquet scan, which DataFusion drives itself: a reader factory that
//! counts each file and its rows when the scan opens it (from the footer), so the progress
//! line and the step logs say files and rows for Parquet as they do for CSV and ORC.
//! Bytes are counted by `counting_store`. Readers come from DataFusion's own cached factory,
//! so footers are still read once per session.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::{
    CachedParquetFileReaderFactory, ParquetFileReaderFactory,
};
use datafusion::execution::cache::cache_manager::FileMetadataCache;
use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
use datafusion::parquet::arrow::async_reader::AsyncFileReader;
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::ObjectStore;

use crate::progress::{Progress, SharedProgress};

/// DataFusion's cached reader factory, with each opened file counted.
#[derive(Debug)]
pub(crate) struct CountingReaderFactory {
    inner: CachedParquetFileReaderFactory,
    progress: SharedProgress,
}

impl CountingReaderFactory {
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        metadata_cache: Arc<FileMetadataCache>,
        progress: SharedProgress,
    ) -> Self {
        CountingReaderFactory {
            inner: CachedParquetFileReaderFactory::new(store, metadata_cache),
            progress,
        }
    }
}

impl ParquetFileReaderFactory for CountingReaderFactory {
    fn create_reader(
        &self,
        partition_index: usize,
        partitioned_file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> datafusion::error::Result<Box<dyn AsyncFileReader + Send>> {
        // DataFusion may split a large file into byte ranges, one reader each: the file
        // and its rows are counted by the reader of the range that starts it.
        let counts = partitioned_file.range.as_ref().is_none_or(|r| r.start == 0);
        let inner = self.inner.create_reader(
            partition_index,
            partitioned_file,
            metadata_size_hint,
            metrics,
        )?;
        Ok(Box::new(CountingReader {
            inner,
            progress: Arc::clone(&self.progress),
            counted: !counts,
        }))
    }
}

/// Counts its file once, when the scan first asks for the footer (`counted` starts true
/// for the readers of a file's later byte ranges).
struct CountingReader {
    inner: Box<dyn AsyncFileReader + Send>,
    progress: SharedProgress,
    counted: bool,
}

impl AsyncFileReader for CountingReader {
    fn get_bytes(
        &mut self,
        range: Range<u64>,
    ) -> BoxFuture<'_, datafusion::parquet::errors::Result<Bytes>> {
        self.inner.get_bytes(range)
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, datafusion::parquet::errors::Result<Vec<Bytes>>> {
        self.inner.get_byte_ranges(ranges)
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, datafusion::parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let metadata = self.inner.get_metadata(options).await?;
            if !self.counted {
                self.counted = true;
                let rows = metadata.file_metadata().num_rows().max(0) as u64;
                Progress::add(&self.progress.rows, rows);
                Progress::add(&self.progress.scanned_files, 1);
            }
            Ok(metadata)
        }
        .boxed()
    }
}
