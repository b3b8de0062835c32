//! Bounded memory for `diff` at any row count (a Grace hash join): both sides of a
//! comparison are hash-partitioned on the join key — the key, and the version id when
//! versions are matched — into Arrow IPC files on local disk, then each group of buckets
//! small enough to join in memory is joined on its own. A version lands in the same bucket
//! on both sides, so the groups' rows are exactly the whole join's rows.
//!
//! Only one chunk of rows per scan partition is held while partitioning, and one group's
//! destination table per core while joining ([`super::join`]); the groups are sized from
//! the bytes actually written.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use tokio::sync::mpsc::Sender;

use super::Matching;
use super::join::{Holding, SideBatch, TABLE_BYTES_PER_ROW, Worker, partition_hasher};
use super::tally::Tally;
use crate::error::{Error, Result};
use crate::output::cast_to_schema;
use crate::progress::Progress;
use crate::table::Session;

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

/// The bucket of each row: the high bits of the hash of its join key.
fn bucket_of(hash: u64, buckets: usize) -> usize {
    ((u128::from(hash) * buckets as u128) >> 64) as usize
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

    /// Hashes `chunk` on its join key and appends each bucket's rows to its file.
    fn split(
        &mut self,
        chunk: &RecordBatch,
        matching: Matching,
        hashes: &mut Vec<u64>,
    ) -> Result<()> {
        let n = chunk.num_rows();
        if n == 0 {
            return Ok(());
        }
        let buckets = self.open.len();
        let side = SideBatch::new(chunk, &self.schema)?;
        let state = partition_hasher();
        hashes.clear();
        // A row without a key matches nothing: any bucket will do.
        hashes.extend((0..n).map(|i| side.hash(i, matching, &state).unwrap_or(0)));
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

/// One stream per partition of a query's plan, to be read concurrently (the side scans:
/// each partition's batches are handled where they are read, without a merge).
pub async fn scan_partitions(
    session: &Session,
    sql: &str,
) -> Result<Vec<SendableRecordBatchStream>> {
    let df = session.query(sql).await?;
    let task = Arc::new(df.task_ctx());
    let physical = df.create_physical_plan().await?;
    let partitions = physical
        .properties()
        .output_partitioning()
        .partition_count();
    (0..partitions)
        .map(|p| Ok(physical.execute(p, Arc::clone(&task))?))
        .collect()
}

/// Runs `sql` (one side's projection, read as `schema`) and writes its rows into `buckets`
/// buckets under `dir`, by hash of the join key; each scan partition writes its own files,
/// in parallel.
#[allow(clippy::too_many_arguments)]
pub async fn partition_side(
    session: &Session,
    sql: &str,
    schema: SchemaRef,
    matching: Matching,
    buckets: usize,
    dir: &Path,
    tag: &str,
    explain: Arc<dyn Fn(DataFusionError) -> DataFusionError + Send + Sync>,
) -> Result<SideFiles> {
    let started = std::time::Instant::now();
    let chunk_rows = (buckets * ROWS_PER_BUCKET).clamp(8192, MAX_CHUNK_ROWS);
    let mut tasks = Vec::new();
    for (p, mut stream) in scan_partitions(session, sql).await?.into_iter().enumerate() {
        let mut writers = Writers::new(dir, format!("{tag}-p{p}"), Arc::clone(&schema), buckets);
        let schema = Arc::clone(&schema);
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
                    writers.split(&chunk, matching, &mut hashes)?;
                }
            }
            let chunk = concat_batches(&schema, &pending).map_err(arrow_error)?;
            writers.split(&chunk, matching, &mut hashes)?;
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
/// destination's rows are held (about their bytes on disk, and a hash table entry each), the
/// source's stream through one batch at a time.
pub fn groups(source: &SideFiles, destination: &SideFiles, budget: u64) -> Vec<Range<usize>> {
    let cost = |b: usize| {
        let d = &destination.buckets[b];
        d.bytes + d.bytes / 4 + d.rows * TABLE_BYTES_PER_ROW
    };
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

/// The batches of one side's files of `range`, in file order.
fn read_side(
    side: &SideFiles,
    range: Range<usize>,
    mut each: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    for path in side.buckets[range].iter().flat_map(|b| b.files.iter()) {
        let file = File::open(path).map_err(|e| read_error(path, e))?;
        let reader =
            FileReader::try_new(BufReader::new(file), None).map_err(|e| read_error(path, e))?;
        for batch in reader {
            each(batch.map_err(|e| read_error(path, e))?)?;
        }
    }
    Ok(())
}

fn read_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Query(format!(
        "cannot read the comparison's temporary file {}: {e}",
        path.display()
    ))
}

/// Joins each group on its own ([`super::join`]), `concurrency` groups at a time on
/// blocking threads, sending the selected rows to `tx` in no particular order. Returns the
/// groups' tallies.
#[allow(clippy::too_many_arguments)]
pub async fn join_groups(
    source: Arc<SideFiles>,
    destination: Arc<SideFiles>,
    groups: Vec<Range<usize>>,
    concurrency: usize,
    worker: impl Fn() -> Worker + Send + Sync + 'static,
    matching: Matching,
    session: &Session,
    tx: Sender<Result<RecordBatch>>,
) -> Result<Vec<Tally>> {
    let worker = Arc::new(worker);
    let pool = Arc::clone(&session.ctx.runtime_env().memory_pool);
    let progress = Arc::clone(&session.progress);
    progress.plan_join(
        source.buckets.len() as u64,
        source.bytes() + destination.bytes(),
    );
    let runs = futures::stream::iter(groups)
        .map(|range| {
            let (source, destination) = (Arc::clone(&source), Arc::clone(&destination));
            let (worker, tx, pool) = (Arc::clone(&worker), tx.clone(), Arc::clone(&pool));
            let progress = Arc::clone(&progress);
            tokio::task::spawn_blocking(move || -> Result<Tally> {
                let mut held = Holding::new(&pool);
                read_side(&destination, range.clone(), |batch| {
                    held.push(SideBatch::new(&batch, &destination.schema)?, u64::MAX)
                })?;
                let table = held.into_table(matching)?;
                let mut worker = worker();
                let hand_on = |worker: &mut Worker, flush: bool| -> Result<()> {
                    for batch in worker.take_ready(flush)? {
                        if tx.blocking_send(Ok(batch)).is_err() {
                            return Err(Error::Query("the comparison's reader stopped".into()));
                        }
                    }
                    Ok(())
                };
                let group_buckets = range.len() as u64;
                read_side(&source, range.clone(), |batch| {
                    worker.probe(&table, &SideBatch::new(&batch, &source.schema)?)?;
                    hand_on(&mut worker, false)
                })?;
                worker.unmatched(&table, 0..table.batch_count())?;
                hand_on(&mut worker, true)?;
                let bytes: u64 = range
                    .map(|b| source.buckets[b].bytes + destination.buckets[b].bytes)
                    .sum();
                Progress::add(&progress.joined_bytes, bytes);
                Progress::add(&progress.joined_buckets, group_buckets);
                drop(table);
                return_freed_memory();
                Ok(worker.tally)
            })
        })
        .buffer_unordered(concurrency.max(1));
    let mut runs = std::pin::pin!(runs);
    let mut tallies = Vec::new();
    while let Some(done) = runs.next().await {
        tallies
            .push(done.map_err(|e| Error::Query(format!("joining the comparison failed: {e}")))??);
    }
    Ok(tallies)
}

/// Hands the memory a group's table held back to the system. glibc keeps freed memory in
/// the arena it came from, and the next group's table, read on another thread, may be
/// given another arena: without this, a 50M-row diff under `--memory-limit 1G` crept up
/// to 970 MB while each group held about 200 MB.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
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

    fn side(bytes: &[u64], rows: u64) -> SideFiles {
        SideFiles {
            schema: Arc::new(datafusion::arrow::datatypes::Schema::empty()),
            buckets: bytes
                .iter()
                .map(|&b| BucketFiles {
                    files: Vec::new(),
                    bytes: b,
                    rows,
                })
                .collect(),
            rows: rows * bytes.len() as u64,
        }
    }

    #[test]
    fn every_bucket_lands_in_one_group_within_the_budget() {
        // The source streams: its bytes do not count.
        let s = side(&[1000; 7], 0);
        let d = side(&[80, 0, 40, 40, 0, 0, 400], 0);
        // Costs: 5/4 of the destination's bytes = 100, 0, 50, 50, 0, 0, 500.
        let g = groups(&s, &d, 100);
        assert_eq!(g, vec![0..2, 2..6, 6..7]);
        // One group when everything fits; a bucket over the budget stands alone.
        assert_eq!(groups(&s, &d, 10_000), vec![0..7]);
        assert_eq!(groups(&s, &side(&[1; 7], 0), 0).len(), 7);
        // The table's entries count too.
        let (s, d) = (side(&[0; 4], 0), side(&[0; 4], 10));
        assert_eq!(groups(&s, &d, 2 * 10 * TABLE_BYTES_PER_ROW).len(), 2);
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
