//! Bounded memory for `diff` at any row count (a Grace hash join): both sides of a
//! comparison are hash-partitioned on the join key — the key, and the version id when
//! versions are matched — into Arrow IPC files on local disk, then each group of buckets
//! small enough to join in memory is joined on its own. A version lands in the same bucket
//! on both sides, so the groups' rows are exactly the whole join's rows.
//!
//! Only one chunk of rows per scan partition is held while partitioning, and one group's
//! join per core while joining; the groups are sized from the bytes actually written.

use std::fs::File;
use std::io::BufWriter;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::catalog::TableProvider;
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::arrow::ArrowFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use tokio::sync::mpsc::Sender;

use crate::error::{Error, Result};
use crate::output::cast_to_schema;
use crate::table::Session;

/// The seed of the bucket hash: any fixed value; both sides must use the same one.
const SEED: u64 = 0x5333_494e_5644_4946;

/// Rows gathered per bucket before a chunk is split, so each bucket's share is a batch
/// worth writing (and worth joining when read back).
const ROWS_PER_BUCKET: usize = 1024;

/// The largest chunk split at once (rows), whatever the bucket count.
const MAX_CHUNK_ROWS: usize = 1 << 17;

/// One side's rows, partitioned.
#[derive(Debug)]
pub struct SideFiles {
    pub schema: SchemaRef,
    pub buckets: Vec<BucketFiles>,
    pub rows: u64,
}

/// One bucket of one side: its files (one per scan partition that had rows).
#[derive(Debug, Default, Clone)]
pub struct BucketFiles {
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    pub rows: u64,
}

impl SideFiles {
    pub fn bytes(&self) -> u64 {
        self.buckets.iter().map(|b| b.bytes).sum()
    }

    /// Deletes the files (best effort: the temporary folder goes at the end anyway).
    pub fn remove(&self) {
        for f in self.buckets.iter().flat_map(|b| b.files.iter()) {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// The bucket of each row: the high bits of the hash of the `key_columns`.
fn bucket_of(hash: u64, buckets: usize) -> usize {
    ((u128::from(hash) * buckets as u128) >> 64) as usize
}

/// The schema the files carry: every string column as plain `Utf8` (a view or dictionary
/// array would write its whole shared buffers with every slice).
fn plain_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                DataType::Dictionary(_, v)
                    if matches!(
                        v.as_ref(),
                        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
                    ) =>
                {
                    DataType::Utf8
                }
                other => other.clone(),
            };
            Field::new(f.name(), t, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn arrow_error(e: datafusion::arrow::error::ArrowError) -> Error {
    Error::from(DataFusionError::from(e))
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Query(format!(
        "cannot write the comparison's temporary file {}: {e} (set TMPDIR to a folder with room)",
        path.display()
    ))
}

/// The open files of one scan partition, one per bucket that received rows.
struct Writers {
    dir: PathBuf,
    tag: String,
    schema: SchemaRef,
    open: Vec<Option<(PathBuf, FileWriter<BufWriter<File>>)>>,
    rows: Vec<u64>,
}

impl Writers {
    fn new(dir: &Path, tag: String, schema: SchemaRef, buckets: usize) -> Writers {
        Writers {
            dir: dir.to_path_buf(),
            tag,
            schema,
            open: (0..buckets).map(|_| None).collect(),
            rows: vec![0; buckets],
        }
    }

    fn write(&mut self, bucket: usize, batch: &RecordBatch) -> Result<()> {
        if self.open[bucket].is_none() {
            let path = self.dir.join(format!("{}-b{bucket:04}.arrow", self.tag));
            let file = File::create(&path).map_err(|e| io_error(&path, e))?;
            let writer = FileWriter::try_new(BufWriter::with_capacity(1 << 14, file), &self.schema)
                .map_err(|e| io_error(&path, e))?;
            self.open[bucket] = Some((path, writer));
        }
        if let Some((path, writer)) = self.open[bucket].as_mut() {
            writer.write(batch).map_err(|e| io_error(path, e))?;
        }
        self.rows[bucket] += batch.num_rows() as u64;
        Ok(())
    }

    /// Hashes `chunk` on `keys` and appends each bucket's rows to its file.
    fn split(&mut self, chunk: &RecordBatch, keys: &[usize], hashes: &mut Vec<u64>) -> Result<()> {
        let n = chunk.num_rows();
        if n == 0 {
            return Ok(());
        }
        let buckets = self.open.len();
        hashes.clear();
        hashes.resize(n, 0);
        let columns: Vec<&ArrayRef> = keys.iter().map(|&i| chunk.column(i)).collect();
        create_hashes(columns, &RandomState::with_seed(SEED), hashes)?;
        // A counting sort of the rows by bucket, then one `take` and a slice per bucket.
        let mut starts = vec![0u32; buckets + 1];
        for &h in hashes.iter() {
            starts[bucket_of(h, buckets) + 1] += 1;
        }
        for b in 0..buckets {
            starts[b + 1] += starts[b];
        }
        let mut next = starts.clone();
        let mut order = vec![0u32; n];
        for (row, &h) in hashes.iter().enumerate() {
            let b = bucket_of(h, buckets);
            order[next[b] as usize] = row as u32;
            next[b] += 1;
        }
        let sorted = take_record_batch(chunk, &UInt32Array::from(order)).map_err(arrow_error)?;
        for b in 0..buckets {
            let (start, end) = (starts[b] as usize, starts[b + 1] as usize);
            if end > start {
                self.write(b, &sorted.slice(start, end - start))?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<BucketFiles>> {
        let mut out = vec![BucketFiles::default(); self.open.len()];
        for (b, open) in self.open.into_iter().enumerate() {
            if let Some((path, mut writer)) = open {
                writer.finish().map_err(|e| io_error(&path, e))?;
                drop(writer);
                let bytes = std::fs::metadata(&path)
                    .map_err(|e| io_error(&path, e))?
                    .len();
                out[b] = BucketFiles {
                    files: vec![path],
                    bytes,
                    rows: self.rows[b],
                };
            }
        }
        Ok(out)
    }
}

/// Runs `sql` (one side's projection) and writes its rows into `buckets` buckets under
/// `dir`, by hash of `key_columns`; each scan partition writes its own files, in parallel.
pub async fn partition_side(
    session: &Session,
    sql: &str,
    key_columns: &[&str],
    buckets: usize,
    dir: &Path,
    tag: &str,
    explain: Arc<dyn Fn(DataFusionError) -> DataFusionError + Send + Sync>,
) -> Result<SideFiles> {
    let started = std::time::Instant::now();
    let df = session.query(sql).await?;
    let task = Arc::new(df.task_ctx());
    let physical = df.create_physical_plan().await?;
    let schema = plain_schema(physical.schema().as_ref());
    let keys: Vec<usize> = key_columns
        .iter()
        .map(|c| schema.index_of(c))
        .collect::<std::result::Result<_, _>>()
        .map_err(arrow_error)?;
    let chunk_rows = (buckets * ROWS_PER_BUCKET).clamp(8192, MAX_CHUNK_ROWS);
    let partitions = physical
        .properties()
        .output_partitioning()
        .partition_count();
    let mut tasks = Vec::new();
    for p in 0..partitions {
        let mut stream = physical.execute(p, Arc::clone(&task))?;
        let mut writers = Writers::new(dir, format!("{tag}-p{p}"), Arc::clone(&schema), buckets);
        let schema = Arc::clone(&schema);
        let keys = keys.clone();
        let explain = Arc::clone(&explain);
        tasks.push(tokio::spawn(async move {
            let mut pending: Vec<RecordBatch> = Vec::new();
            let mut pending_rows = 0;
            let mut hashes = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::from(explain(e)))?;
                pending_rows += batch.num_rows();
                pending.push(cast_to_schema(&batch, &schema)?);
                if pending_rows >= chunk_rows {
                    let chunk = concat_batches(&schema, &pending).map_err(arrow_error)?;
                    pending.clear();
                    pending_rows = 0;
                    writers.split(&chunk, &keys, &mut hashes)?;
                }
            }
            let chunk = concat_batches(&schema, &pending).map_err(arrow_error)?;
            writers.split(&chunk, &keys, &mut hashes)?;
            writers.finish()
        }));
    }
    let mut merged = vec![BucketFiles::default(); buckets];
    for t in tasks {
        let parts = t
            .await
            .map_err(|e| Error::Query(format!("partitioning the comparison failed: {e}")))??;
        for (m, b) in merged.iter_mut().zip(parts) {
            m.files.extend(b.files);
            m.bytes += b.bytes;
            m.rows += b.rows;
        }
    }
    let rows = merged.iter().map(|b| b.rows).sum();
    tracing::info!(
        side = tag,
        rows,
        bytes = merged.iter().map(|b| b.bytes).sum::<u64>(),
        ms = started.elapsed().as_millis() as u64,
        "diff side partitioned"
    );
    Ok(SideFiles {
        schema,
        buckets: merged,
        rows,
    })
}

/// Adjacent buckets grouped so that each group's join stays within `budget` bytes: the
/// build side (source) is held about three times over (its batches, their concatenation,
/// the hash table), the probe side streams.
pub fn groups(source: &SideFiles, destination: &SideFiles, budget: u64) -> Vec<Range<usize>> {
    let cost = |b: usize| source.buckets[b].bytes * 3 + destination.buckets[b].bytes / 4;
    let mut groups = Vec::new();
    let mut start = 0;
    let mut held = 0;
    for b in 0..source.buckets.len() {
        let c = cost(b);
        if b > start && held + c > budget {
            groups.push(start..b);
            start = b;
            held = 0;
        }
        held += c;
    }
    if start < source.buckets.len() {
        groups.push(start..source.buckets.len());
    }
    groups
}

/// A table over one side's files of `range`, or an empty one.
fn side_table(side: &SideFiles, range: Range<usize>) -> Result<Arc<dyn TableProvider>> {
    let urls = side.buckets[range]
        .iter()
        .flat_map(|b| b.files.iter())
        .map(|p| ListingTableUrl::parse(p.to_string_lossy()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if urls.is_empty() {
        return Ok(Arc::new(MemTable::try_new(
            Arc::clone(&side.schema),
            vec![vec![]],
        )?));
    }
    let options = ListingOptions::new(Arc::new(ArrowFormat)).with_file_extension(".arrow");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(Arc::clone(&side.schema));
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// The SQL of one group's join, given its source and destination table names.
pub type JoinSql = Arc<dyn Fn(&str, &str) -> String + Send + Sync>;

/// Joins each group with `join_sql(source_table, destination_table)`, `concurrency` groups
/// at a time (each on one partition), sending the classified batches to `tx` in no
/// particular order.
pub async fn join_groups(
    session: &Session,
    source: Arc<SideFiles>,
    destination: Arc<SideFiles>,
    groups: Vec<Range<usize>>,
    concurrency: usize,
    join_sql: JoinSql,
    tx: Sender<Result<RecordBatch>>,
) -> Result<()> {
    // The same catalog (the state is a copy), which must not be replaced by a new default
    // one: that would drop the session's tables.
    let mut config = session
        .ctx
        .copied_config()
        .with_create_default_catalog_and_schema(false);
    config.options_mut().execution.target_partitions = 1;
    let state = SessionStateBuilder::new_from_existing(session.ctx.state())
        .with_config(config)
        .build();
    let ctx = SessionContext::new_with_state(state);
    let runs = futures::stream::iter(groups.into_iter().enumerate())
        .map(|(g, range)| {
            let ctx = ctx.clone();
            let source = Arc::clone(&source);
            let destination = Arc::clone(&destination);
            let join_sql = Arc::clone(&join_sql);
            let tx = tx.clone();
            tokio::spawn(async move {
                let (s, d) = (format!("diff_s{g}"), format!("diff_d{g}"));
                ctx.register_table(s.as_str(), side_table(&source, range.clone())?)?;
                ctx.register_table(d.as_str(), side_table(&destination, range)?)?;
                let result = async {
                    let df = ctx.sql(&join_sql(&s, &d)).await?;
                    let mut stream = df.execute_stream().await?;
                    while let Some(batch) = stream.next().await {
                        if tx.send(batch.map_err(Error::from)).await.is_err() {
                            break;
                        }
                    }
                    Ok::<_, Error>(())
                }
                .await;
                ctx.deregister_table(s.as_str())?;
                ctx.deregister_table(d.as_str())?;
                result
            })
        })
        .buffer_unordered(concurrency.max(1));
    let mut runs = std::pin::pin!(runs);
    while let Some(done) = runs.next().await {
        done.map_err(|e| Error::Query(format!("joining the comparison failed: {e}")))??;
    }
    Ok(())
}

/// The comparison's temporary folder, and the source's buckets kept across destinations
/// that read the source alike.
#[derive(Default)]
pub struct Scratch {
    dir: std::sync::Mutex<Option<tempfile::TempDir>>,
    source: std::sync::Mutex<Option<(String, usize, Arc<SideFiles>)>>,
    ids: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scratch")
    }
}

impl Scratch {
    /// The temporary folder (under TMPDIR), made on first use, deleted with `self`.
    pub fn dir(&self) -> Result<PathBuf> {
        let mut dir = self.dir.lock().unwrap_or_else(|p| p.into_inner());
        if dir.is_none() {
            let made = tempfile::Builder::new()
                .prefix("s3inv-diff-")
                .tempdir()
                .map_err(|e| io_error(&std::env::temp_dir(), e))?;
            *dir = Some(made);
        }
        Ok(dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default())
    }

    pub fn next_id(&self) -> usize {
        self.ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// The source's buckets when they were written from the same `sql` into as many buckets.
    pub fn source(&self, sql: &str, buckets: usize) -> Option<Arc<SideFiles>> {
        let kept = self.source.lock().unwrap_or_else(|p| p.into_inner());
        kept.as_ref()
            .filter(|(s, b, _)| s == sql && *b == buckets)
            .map(|(_, _, files)| Arc::clone(files))
    }

    pub fn keep_source(&self, sql: &str, buckets: usize, files: Arc<SideFiles>) {
        let mut kept = self.source.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, old)) = kept.replace((sql.to_string(), buckets, files)) {
            old.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(bytes: &[u64]) -> SideFiles {
        SideFiles {
            schema: Arc::new(Schema::empty()),
            buckets: bytes
                .iter()
                .map(|&b| BucketFiles {
                    files: Vec::new(),
                    bytes: b,
                    rows: b,
                })
                .collect(),
            rows: bytes.iter().sum(),
        }
    }

    #[test]
    fn every_bucket_lands_in_one_group_within_the_budget() {
        let s = side(&[10, 10, 10, 50, 0, 10, 10]);
        let d = side(&[40, 0, 0, 0, 0, 0, 400]);
        // Costs: 3·s + d/4 = 40, 30, 30, 150, 0, 30, 130.
        let g = groups(&s, &d, 100);
        assert_eq!(g, vec![0..3, 3..4, 4..6, 6..7]);
        // One group when everything fits; a bucket over the budget stands alone.
        assert_eq!(groups(&s, &d, 10_000), vec![0..7]);
        assert_eq!(groups(&s, &d, 1).len(), 7);
    }

    #[test]
    fn buckets_cover_the_whole_hash_range() {
        assert_eq!(bucket_of(0, 8), 0);
        assert_eq!(bucket_of(u64::MAX, 8), 7);
        assert_eq!(bucket_of(u64::MAX / 2, 2), 0);
        assert_eq!(bucket_of(u64::MAX / 2 + 1, 2), 1);
        assert_eq!(bucket_of(u64::MAX, 1), 0);
    }
}
