//! `s3inv diff`: the source inventory against each destination's, per destination. Source
//! and destination versions are matched on (key, version id) — replicas keep the source's
//! version id — or on the key alone when either side lists current versions only; every
//! source version and every destination version lands in exactly one category.
//!
//! Each destination is one pass: the sides are read with SQL ([`plan`]), the destination's
//! versions held in a hash table and the source's streamed through it ([`join`]); the
//! categories, `--by` groups and examples are tallied where the rows are classified
//! ([`tally`]), and only the rows `--list` and `--emit-manifests` ask for are handed on.
//! When the destination would not fit the memory budget, both sides are hash-partitioned
//! to disk first and joined a group of buckets at a time ([`partition`]), so memory stays
//! bounded whatever the row counts. A version listed twice on either side is refused where
//! it shows: it would count the other side's version twice.

pub mod join;
pub mod listing;
pub mod partition;
pub mod plan;
pub mod rules;
pub mod slots;
pub mod tally;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use futures::StreamExt;

use crate::doctor::redrive::{Object, Spools};
use crate::error::{Error, Result};
use crate::manifest::Delivery;
use crate::replication::Counts;
use crate::table::Session;
use join::str_at;
pub use plan::{Checks, Matching, Plan, RuleScope};
use tally::Tally;

/// The categories, with stable ids (the README lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Replicated,
    MissingAtDestination,
    Mismatch,
    NotYetReplicated,
    PresentDespiteStatus,
    InFlight,
    OnlyAtDestination,
    OutOfScope,
    ReplicaAtSource,
    DeleteMarkerReplicated,
    DeleteMarkerNotReplicated,
    DeleteMarkerMissing,
}

impl Category {
    pub const ALL: [Category; 12] = [
        Category::Replicated,
        Category::MissingAtDestination,
        Category::Mismatch,
        Category::NotYetReplicated,
        Category::PresentDespiteStatus,
        Category::InFlight,
        Category::OnlyAtDestination,
        Category::OutOfScope,
        Category::ReplicaAtSource,
        Category::DeleteMarkerReplicated,
        Category::DeleteMarkerNotReplicated,
        Category::DeleteMarkerMissing,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Category::Replicated => "replicated",
            Category::MissingAtDestination => "missing-at-destination",
            Category::Mismatch => "mismatch",
            Category::NotYetReplicated => "not-yet-replicated",
            Category::PresentDespiteStatus => "present-despite-status",
            Category::InFlight => "in-flight",
            Category::OnlyAtDestination => "only-at-destination",
            Category::OutOfScope => "out-of-scope",
            Category::ReplicaAtSource => "replica-at-source",
            Category::DeleteMarkerReplicated => "delete-marker-replicated",
            Category::DeleteMarkerNotReplicated => "delete-marker-not-replicated",
            Category::DeleteMarkerMissing => "delete-marker-missing",
        }
    }

    /// What the category means, in one line (the table output and the README).
    pub fn meaning(self) -> &'static str {
        match self {
            Category::Replicated => "COMPLETED and at the destination, same size and ETag",
            Category::MissingAtDestination => {
                "COMPLETED at the source, but the version is not at the destination"
            }
            Category::Mismatch => "at the destination, but the size or the ETag differs",
            Category::NotYetReplicated => {
                "PENDING, FAILED or never replicated, and not at the destination"
            }
            Category::PresentDespiteStatus => {
                "at the destination although the source says PENDING, FAILED or never replicated"
            }
            Category::InFlight => {
                "modified after the other side's delivery was taken (minus --lag): not judged yet"
            }
            Category::OnlyAtDestination => "a destination version with no source version",
            Category::OutOfScope => "no enabled rule replicates it to this destination (--config)",
            Category::ReplicaAtSource => {
                "a replica itself at the source (REPLICA): S3 does not replicate it onward"
            }
            Category::DeleteMarkerReplicated => "a delete marker, at the destination too",
            Category::DeleteMarkerNotReplicated => {
                "a delete marker not at the destination (its rule does not replicate delete markers, or no --config)"
            }
            Category::DeleteMarkerMissing => {
                "a delete marker its rule replicates, not at the destination"
            }
        }
    }

    pub fn code(self) -> i32 {
        Category::ALL
            .iter()
            .position(|c| *c == self)
            .expect("listed") as i32
    }

    pub fn from_code(code: i32) -> Option<Category> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Category::ALL.get(i).copied())
    }

    pub fn parse(id: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.id() == id.trim())
    }

    /// The categories whose objects `--emit-manifests` writes (Batch Replication).
    pub fn redrives(self) -> bool {
        matches!(self, Category::MissingAtDestination | Category::Mismatch)
    }
}

/// One destination, attached to the session.
pub struct Destination {
    /// The destination bucket (its inventory's `sourceBucket`).
    pub name: String,
    pub delivery: Arc<Delivery>,
    pub plan: Plan,
    /// Said alongside the numbers (rules with tag filters, a bucket no rule names, …).
    pub notes: Vec<String>,
}

/// What one pass is asked for besides the totals.
#[derive(Debug, Clone, Default)]
pub struct PassOptions {
    /// Example keys kept per category (the smallest, so that runs agree).
    pub examples: usize,
    /// `--list CATEGORY`: its rows go to the list sink.
    pub list: Option<Category>,
    /// Bytes the joins may hold in memory (`--memory-limit`); [`default_budget`] when unset.
    pub budget: Option<u64>,
    /// Partition into this many buckets whatever the estimate (`--buckets`).
    pub buckets: Option<usize>,
    /// The temporary files, shared by the passes of one run.
    pub scratch: Arc<partition::Scratch>,
}

/// What the joins may hold without `--memory-limit` when the machine's memory is unknown.
pub const DEFAULT_BUDGET: u64 = 2 << 30;

/// What the joins may hold without `--memory-limit`: a quarter of the memory the process
/// may use (the machine's, or its control group's limit when lower, as in a container),
/// between 1 and 16 GiB; [`DEFAULT_BUDGET`] when neither can be read.
pub fn default_budget() -> u64 {
    static BUDGET: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *BUDGET.get_or_init(|| {
        let limit =
            |path: &str| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
        let cgroup = limit("/sys/fs/cgroup/memory.max")
            .or_else(|| limit("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
        match physical_memory().into_iter().chain(cgroup).min() {
            Some(bytes) => (bytes / 4).clamp(1 << 30, 16 << 30),
            None => DEFAULT_BUDGET,
        }
    })
}

#[cfg(unix)]
fn physical_memory() -> Option<u64> {
    // SAFETY: sysconf reads a system constant and touches no memory of ours.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages > 0 && page > 0).then(|| pages as u64 * page as u64)
}

#[cfg(not(unix))]
fn physical_memory() -> Option<u64> {
    None
}

/// Arrow bytes of a side's join columns per byte of inventory data file (compressed CSV,
/// ORC or Parquet), on the high side: enough to choose a bucket count; groups are then
/// sized from the bytes actually written. (Measured on generated deliveries: 1.7 for
/// Parquet, 1.9 for CSV.gz; real CSV.gz, with repetitive keys, compresses better.)
const EXPANSION: u64 = 4;

/// The same, typical rather than high: the destination is held in memory when this guess
/// fits the budget. A low guess costs part of a re-read (holding stops at the budget and
/// the comparison partitions after all); a high one a needless trip through the disk.
const TYPICAL_EXPANSION: u64 = 2;

/// The most buckets one side is written into (open files per scan partition).
const MAX_BUCKETS: usize = 512;

impl PassOptions {
    pub fn budget(&self) -> u64 {
        self.budget.unwrap_or_else(default_budget)
    }

    /// What a destination held in memory whole may take: the rest of the budget is for
    /// the source's scan and the rows handed on.
    fn held_in_memory(&self) -> u64 {
        self.budget() / 3 * 2
    }

    /// 1 (the destination held in memory whole) when its estimate fits the budget, else
    /// enough buckets for about four per group.
    fn buckets(&self, session: &Session, dest: &Destination) -> usize {
        if let Some(n) = self.buckets {
            return n.clamp(1, MAX_BUCKETS);
        }
        // The destination's rows and a table entry each; the source streams.
        let destination = dest.delivery.manifest.total_bytes();
        if destination * TYPICAL_EXPANSION <= self.held_in_memory() {
            return 1;
        }
        self.buckets_for(session, destination * EXPANSION)
    }

    /// The buckets when the destination did not fit after all (its estimate was low).
    fn fallback_buckets(&self, session: &Session, dest: &Destination) -> usize {
        let held = dest.delivery.manifest.total_bytes() * EXPANSION;
        self.buckets_for(session, held.max(2 * self.budget()))
    }

    fn buckets_for(&self, session: &Session, held: u64) -> usize {
        // As the groups are sized (compare_partitioned): half the budget over the cores.
        let cores = session.ctx.copied_config().target_partitions().max(1) as u64;
        let per_group = (self.budget() / (2 * cores)).max(1);
        (held.div_ceil(per_group) * 4)
            .next_power_of_two()
            .clamp(2, MAX_BUCKETS as u64) as usize
    }
}

/// One destination's comparison.
#[derive(Debug, Clone)]
pub struct DestinationDiff {
    pub name: String,
    pub matching: Matching,
    pub checks: Checks,
    pub categories: BTreeMap<Category, Counts>,
    /// Per `--by` group (dimension values) and category.
    pub groups: BTreeMap<(Vec<String>, Category), Counts>,
    /// The smallest keys of each category (`key` or `key (version)`).
    pub examples: BTreeMap<Category, Vec<String>>,
    /// Present with the same size, but the ETags are not comparable (encrypted differently
    /// or with SSE-KMS / DSSE-KMS / SSE-C): not judged on the ETag.
    pub etag_not_compared: Counts,
    /// Source versions compared (every category but the destination-only rows).
    pub source_rows: Counts,
    /// Destination versions with no source version.
    pub destination_only_rows: Counts,
    pub notes: Vec<String>,
}

impl DestinationDiff {
    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        for c in self.categories.values() {
            t.add(*c);
        }
        t
    }

    pub fn get(&self, c: Category) -> Counts {
        self.categories.get(&c).copied().unwrap_or_default()
    }
}

/// One destination's comparison as `report --dest` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplicaSummary {
    pub destination: String,
    /// `key_and_version` or `key`.
    pub matching: &'static str,
    /// The categories with objects, in the README's order.
    pub categories: Vec<CategoryLine>,
    pub total: Counts,
    /// The smallest keys of each category but `replicated`.
    pub examples: BTreeMap<String, Vec<String>>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CategoryLine {
    pub id: &'static str,
    pub meaning: &'static str,
    pub objects: u64,
    pub bytes: u64,
}

impl DestinationDiff {
    pub fn summary(&self) -> ReplicaSummary {
        let mut notes = self.notes.clone();
        if self.etag_not_compared.objects > 0 {
            notes.push(format!(
                "ETag not judged for {} object(s): another ETag, but encrypted differently or with SSE-KMS, DSSE-KMS or SSE-C (ETags not comparable)",
                self.etag_not_compared.objects
            ));
        }
        ReplicaSummary {
            destination: self.name.clone(),
            matching: match self.matching {
                Matching::KeyAndVersion => "key_and_version",
                Matching::Key => "key",
            },
            categories: Category::ALL
                .iter()
                .filter_map(|c| {
                    self.categories.get(c).map(|n| CategoryLine {
                        id: c.id(),
                        meaning: c.meaning(),
                        objects: n.objects,
                        bytes: n.bytes,
                    })
                })
                .collect(),
            total: self.total(),
            examples: self
                .examples
                .iter()
                .map(|(c, k)| (c.id().to_string(), k.clone()))
                .collect(),
            notes,
        }
    }
}

/// The columns of `--list` output.
pub fn list_schema() -> SchemaRef {
    use datafusion::arrow::datatypes::TimeUnit;
    Arc::new(Schema::new(vec![
        Field::new("destination", DataType::Utf8, false),
        Field::new("category", DataType::Utf8, false),
        Field::new("bucket", DataType::Utf8, true),
        Field::new("key", DataType::Utf8, true),
        Field::new("version_id", DataType::Utf8, true),
        Field::new("is_delete_marker", DataType::Boolean, true),
        Field::new("size", DataType::Int64, true),
        Field::new(
            "last_modified_date",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        Field::new("e_tag", DataType::Utf8, true),
        Field::new("replication_status", DataType::Utf8, true),
        Field::new("destination_size", DataType::Int64, true),
        Field::new("destination_e_tag", DataType::Utf8, true),
    ]))
}

/// Compares the source with one destination in one streamed pass ([`join`]). Rows of
/// `options.list` go to `list`; objects to re-drive into `spools` (under
/// `<destination>/<category>`). When the destination's versions would not fit in
/// `options.budget`, both sides are partitioned to disk first and joined a group of
/// buckets at a time ([`partition`]).
pub async fn compare(
    session: &Session,
    dest: &Destination,
    options: &PassOptions,
    list: Option<&tokio::sync::mpsc::Sender<Result<RecordBatch>>>,
    spools: Option<&mut Spools>,
) -> Result<DestinationDiff> {
    let mut select = [false; Category::ALL.len()];
    if let Some(c) = options.list {
        select[c.code() as usize] = true;
    }
    if spools.is_some() {
        for c in Category::ALL.into_iter().filter(|c| c.redrives()) {
            select[c.code() as usize] = true;
        }
    }
    let sides = dest.plan.sides(select.iter().any(|s| *s));
    let classifier = Arc::new(join::Classifier::new(&dest.plan));
    let name: Arc<str> = Arc::from(dest.name.as_str());
    let examples = options.examples;
    let worker =
        move || join::Worker::new(Arc::clone(&classifier), examples, select, Arc::clone(&name));
    let mut pass = Pass {
        dest,
        list,
        list_code: options.list.map(Category::code),
        spools,
        ids: HashMap::new(),
    };
    let stores = [session.delivery.store.clone(), dest.delivery.store.clone()];
    let explain: Explain = Arc::new(move |e| {
        let e = stores[0].explain_datafusion(e);
        stores[1].explain_datafusion(e)
    });
    let concurrency = session.ctx.copied_config().target_partitions().max(1);
    let (tx, rx) = tokio::sync::mpsc::channel(concurrency * 2);
    let consume = async {
        // Owned here, so that the joins' sends fail (and they stop) when this gives up.
        let mut rx = rx;
        while let Some(batch) = rx.recv().await {
            pass.take(batch?).await?;
        }
        Ok::<_, Error>(())
    };
    let buckets = options.buckets(session, dest);
    let held = if buckets <= 1 {
        hold_destination(session, dest, &sides.1, options.held_in_memory(), &explain).await?
    } else {
        None
    };
    let (tallies, consumed) = match held {
        Some(table) => tokio::join!(
            probe_in_memory(session, dest, &sides.0, table, worker, explain, tx),
            consume
        ),
        None => {
            // Estimated to fit but did not: partitioned after all.
            let buckets = if buckets <= 1 {
                options.fallback_buckets(session, dest)
            } else {
                buckets
            };
            tokio::join!(
                compare_partitioned(session, dest, &sides, options, buckets, worker, explain, tx),
                consume
            )
        }
    };
    consumed?;
    let mut tally = Tally::new(examples);
    for t in tallies? {
        tally.merge(t);
    }
    let mut notes = dest.notes.clone();
    let checks = dest.plan.checks();
    notes.extend(unchecked_notes(&dest.plan, &dest.name));
    Ok(DestinationDiff {
        name: dest.name.clone(),
        matching: dest.plan.matching,
        checks,
        categories: tally.categories(),
        groups: tally.groups(),
        etag_not_compared: tally.etag_skipped,
        source_rows: tally.source_rows,
        destination_only_rows: tally.destination_only,
        examples: tally.examples(),
        notes,
    })
}

/// Explains a DataFusion error in terms of the stores read (credentials, regions, …).
type Explain = Arc<dyn Fn(DataFusionError) -> DataFusionError + Send + Sync>;

/// The destination's versions in one table, or `None` when they outgrow `budget` (or the
/// session's memory pool) while being read.
async fn hold_destination(
    session: &Session,
    dest: &Destination,
    destination_sql: &str,
    budget: u64,
    explain: &Explain,
) -> Result<Option<join::DestTable>> {
    let started = std::time::Instant::now();
    let schema = join::plan_side_schema(&dest.plan, false);
    let mut stream = session
        .query(destination_sql)
        .await?
        .execute_stream()
        .await
        .map_err(|e| Error::from(explain(e)))?;
    let mut holding = join::Holding::new(&session.ctx.runtime_env().memory_pool);
    while let Some(batch) = stream.next().await {
        let batch = join::SideBatch::new(&batch.map_err(|e| Error::from(explain(e)))?, &schema)?;
        if holding.push(batch, budget).is_err() {
            tracing::info!(destination = %dest.name, held = holding.bytes(), budget, "diff destination outgrew the budget: partitioning");
            return Ok(None);
        }
    }
    let matching = dest.plan.matching;
    let bytes = holding.bytes();
    let read_ms = started.elapsed().as_millis() as u64;
    let table = tokio::task::spawn_blocking(move || holding.into_table(matching))
        .await
        .map_err(|e| Error::Query(format!("reading the destination failed: {e}")))??;
    tracing::info!(destination = %dest.name, rows = table.rows(), bytes, read_ms, ms = started.elapsed().as_millis() as u64, "diff destination held");
    Ok(Some(table))
}

/// The comparison in memory: the source's scan partitions probing the destination's table
/// concurrently, then the destination's versions no source version found.
async fn probe_in_memory(
    session: &Session,
    dest: &Destination,
    source_sql: &str,
    table: join::DestTable,
    worker: impl Fn() -> join::Worker + Send + Sync + 'static,
    explain: Explain,
    tx: tokio::sync::mpsc::Sender<Result<RecordBatch>>,
) -> Result<Vec<Tally>> {
    let started = std::time::Instant::now();
    let table = Arc::new(table);
    let schema = join::plan_side_schema(&dest.plan, true);
    let worker = Arc::new(worker);
    let streams = partition::scan_partitions(session, source_sql).await?;
    let partitions = streams.len();
    let mut tasks = Vec::new();
    for mut stream in streams {
        let (table, schema, worker, tx) = (
            Arc::clone(&table),
            Arc::clone(&schema),
            Arc::clone(&worker),
            tx.clone(),
        );
        let explain = Arc::clone(&explain);
        tasks.push(tokio::spawn(async move {
            let mut worker = worker();
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(|e| Error::from(explain(e)))?;
                worker.probe(&table, &join::SideBatch::new(&batch, &schema)?)?;
                hand_on(&mut worker, &tx, false).await?;
            }
            hand_on(&mut worker, &tx, true).await?;
            Ok::<_, Error>(worker.tally)
        }));
    }
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(
            t.await
                .map_err(|e| Error::Query(format!("the comparison failed: {e}")))??,
        );
    }
    tracing::info!(destination = %dest.name, ms = started.elapsed().as_millis() as u64, "diff source probed");
    // Every source version has been looked up: the rest of the destination's are its own,
    // classified on every core.
    let batches = table.batch_count();
    let shares = partitions.max(1);
    let mut rest = Vec::new();
    for share in 0..shares {
        let range = batches * share / shares..batches * (share + 1) / shares;
        let (table, worker) = (Arc::clone(&table), Arc::clone(&worker));
        rest.push(tokio::task::spawn_blocking(move || {
            let mut worker = worker();
            worker.unmatched(&table, range)?;
            Ok::<_, Error>(worker)
        }));
    }
    for r in rest {
        let mut worker = r
            .await
            .map_err(|e| Error::Query(format!("the comparison failed: {e}")))??;
        hand_on(&mut worker, &tx, true).await?;
        tallies.push(worker.tally);
    }
    tracing::info!(destination = %dest.name, ms = started.elapsed().as_millis() as u64, "diff destination's unmatched classified");
    Ok(tallies)
}

/// Sends a worker's selected rows on.
async fn hand_on(
    worker: &mut join::Worker,
    tx: &tokio::sync::mpsc::Sender<Result<RecordBatch>>,
    flush: bool,
) -> Result<()> {
    for batch in worker.take_ready(flush)? {
        if tx.send(Ok(batch)).await.is_err() {
            return Err(Error::Query("the comparison's reader stopped".into()));
        }
    }
    Ok(())
}

/// The partitioned comparison: the source's buckets (kept for the next destination when
/// its rows are read alike), the destination's, then the groups joined concurrently.
#[allow(clippy::too_many_arguments)]
async fn compare_partitioned(
    session: &Session,
    dest: &Destination,
    (source_sql, destination_sql): &(String, String),
    options: &PassOptions,
    buckets: usize,
    worker: impl Fn() -> join::Worker + Send + Sync + 'static,
    explain: Explain,
    tx: tokio::sync::mpsc::Sender<Result<RecordBatch>>,
) -> Result<Vec<Tally>> {
    let matching = dest.plan.matching;
    let dir = options.scratch.dir()?;
    let write = |sql: &str, source: bool| {
        let tag = format!(
            "{}{}",
            if source { "s" } else { "d" },
            options.scratch.next_id()
        );
        let schema = join::plan_side_schema(&dest.plan, source);
        let (sql, dir, explain) = (sql.to_string(), dir.clone(), Arc::clone(&explain));
        async move {
            let files = partition::partition_side(
                session, &sql, schema, matching, buckets, &dir, &tag, explain,
            )
            .await?;
            Ok::<_, Error>(Arc::new(files))
        }
    };
    // The source's buckets depend on how versions are matched, too.
    let reuse = format!("{matching:?} {source_sql}");
    let source = match options.scratch.source(&reuse, buckets) {
        Some(s) => s,
        None => {
            let s = write(source_sql, true).await?;
            options.scratch.keep_source(&reuse, buckets, Arc::clone(&s));
            s
        }
    };
    let destination = write(destination_sql, false).await?;
    let concurrency = session.ctx.copied_config().target_partitions().max(1);
    // Half the budget for the groups' estimated holdings: the rest is what the estimate
    // leaves out (read batches, the selected rows, the allocator's slack).
    let budget = options.budget() / (2 * concurrency as u64);
    let groups = partition::groups(&source, &destination, budget);
    tracing::info!(
        destination = %dest.name,
        buckets,
        groups = groups.len(),
        source_rows = source.rows,
        source_bytes = source.bytes(),
        destination_rows = destination.rows,
        destination_bytes = destination.bytes(),
        "diff partitioned"
    );
    let joined = partition::join_groups(
        Arc::clone(&source),
        Arc::clone(&destination),
        groups,
        concurrency,
        worker,
        matching,
        session,
        tx,
    )
    .await;
    // The destination's buckets serve this pass only.
    destination.remove();
    let tallies = joined?;
    // Every row written to the buckets was classified exactly once.
    let mut source_rows = 0;
    let mut destination_rows = 0;
    for t in &tallies {
        source_rows += t.source_rows.objects;
        destination_rows += t.destination_rows;
    }
    for (what, rows, classified) in [
        ("source", source.rows, source_rows),
        ("destination", destination.rows, destination_rows),
    ] {
        if rows != classified {
            return Err(Error::Query(format!(
                "the comparison with {} classified {classified} {what} versions where {rows} were written: an internal error, please report it",
                dest.name
            )));
        }
    }
    Ok(tallies)
}

/// One pass's consumer of the selected rows: the `--list` rows, the spools.
struct Pass<'a> {
    dest: &'a Destination,
    list: Option<&'a tokio::sync::mpsc::Sender<Result<RecordBatch>>>,
    list_code: Option<i32>,
    spools: Option<&'a mut Spools>,
    ids: HashMap<Category, String>,
}

impl Pass<'_> {
    async fn take(&mut self, batch: RecordBatch) -> Result<()> {
        let rows = Rows::new(&batch)?;
        if let Some(spools) = self.spools.as_deref_mut() {
            for i in 0..batch.num_rows() {
                let category = rows.category(i)?;
                if !category.redrives() {
                    continue;
                }
                let id = self
                    .ids
                    .entry(category)
                    .or_insert_with(|| format!("{}/{}", self.dest.name, category.id()));
                spools.add(id, false, &rows.object(i))?;
            }
        }
        if let (Some(tx), Some(code)) = (self.list, self.list_code) {
            let listed = list_batch(&batch, code, &self.dest.name)?;
            if listed.num_rows() > 0 && tx.send(Ok(listed)).await.is_err() {
                return Err(Error::Query("the --list writer stopped".into()));
            }
        }
        Ok(())
    }
}

/// What could not be compared, said in words.
fn unchecked_notes(plan: &Plan, name: &str) -> Vec<String> {
    let checks = plan.checks();
    let mut notes = Vec::new();
    let lacks = |field: &str, column: &str| -> Option<String> {
        let sides: Vec<&str> = [
            (!plan.source.has(column)).then_some("the source inventory"),
            (!plan.destination.has(column)).then_some("the destination inventory"),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!sides.is_empty()).then(|| format!("{} has no {field} field", sides.join(" and ")))
    };
    if !checks.size
        && let Some(why) = lacks("Size", "size")
    {
        notes.push(format!("sizes not compared for {name}: {why}"));
    }
    if !checks.e_tag
        && let Some(why) = lacks("ETag", "e_tag")
    {
        notes.push(format!("ETags not compared for {name}: {why}"));
    }
    if checks.e_tag
        && !checks.encryption
        && let Some(why) = lacks("EncryptionStatus", "encryption_status")
    {
        notes.push(format!(
            "ETags compared for {name} whatever the encryption ({why}): a replica encrypted differently (SSE-KMS, destination default encryption) has another ETag and shows as mismatch"
        ));
    }
    if !checks.in_flight {
        notes.push(format!(
            "in-flight not told apart for {name}: the source inventory has no LastModifiedDate field"
        ));
    }
    if !plan.destination.has("last_modified_date") {
        notes.push(format!(
            "destination versions written after the source delivery cannot be told apart at {name}: the destination inventory has no LastModifiedDate field, so they count as only-at-destination"
        ));
    }
    if plan.matching == Matching::Key {
        notes.push(format!(
            "{name}: matched on the key, current versions only (a side lists no version ids)"
        ));
        if plan.destination.is_current_only() && !plan.source.is_current_only() {
            notes.push(format!(
                "{name}: its inventory lists current objects only, so a source delete marker counts as replicated when the key is absent there (absence is all a current-only inventory can show)"
            ));
        }
    }
    notes
}

/// The selected rows of one batch ([`join::selected_schema`]), by column.
struct Rows<'a> {
    cat: &'a datafusion::arrow::array::Int32Array,
    bucket: &'a StringArray,
    key: &'a StringArray,
    version: &'a StringArray,
    size: &'a datafusion::arrow::array::Int64Array,
    status: &'a StringArray,
    storage_class: &'a StringArray,
    tier: &'a StringArray,
    dm: &'a BooleanArray,
}

impl<'a> Rows<'a> {
    fn new(batch: &'a RecordBatch) -> Result<Rows<'a>> {
        let col = |name: &str| -> Result<&'a ArrayRef> {
            batch
                .column_by_name(name)
                .ok_or_else(|| Error::Query(format!("diff: no column {name}")))
        };
        let string = |name: &str| -> Result<&'a StringArray> {
            col(name)?
                .as_string_opt::<i32>()
                .ok_or_else(|| Error::Query(format!("diff: {name} is not a string")))
        };
        Ok(Rows {
            cat: col("cat")?
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(|| Error::Query("diff: cat is not Int32".into()))?,
            bucket: string("bucket")?,
            key: string("key")?,
            version: string("version_id")?,
            size: col("size")?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| Error::Query("diff: size is not Int64".into()))?,
            status: string("replication_status")?,
            storage_class: string("storage_class")?,
            tier: string("tier")?,
            dm: col("is_delete_marker")?
                .as_boolean_opt()
                .ok_or_else(|| Error::Query("diff: is_delete_marker is not boolean".into()))?,
        })
    }

    fn category(&self, i: usize) -> Result<Category> {
        Category::from_code(self.cat.value(i))
            .ok_or_else(|| Error::Query(format!("diff: unknown category {}", self.cat.value(i))))
    }

    fn object(&self, i: usize) -> Object<'a> {
        Object {
            bucket: str_at(self.bucket, i).unwrap_or(""),
            key: str_at(self.key, i).unwrap_or(""),
            version: str_at(self.version, i).filter(|v| !v.is_empty()),
            size: if self.size.is_valid(i) {
                self.size.value(i).max(0) as u64
            } else {
                0
            },
            status: str_at(self.status, i).unwrap_or("NONE"),
            delete_marker: self.dm.is_valid(i) && self.dm.value(i),
            storage_class: str_at(self.storage_class, i),
            tier: str_at(self.tier, i),
        }
    }
}

/// The rows of category `code` in `batch` (selected rows), as `--list` writes them.
fn list_batch(batch: &RecordBatch, code: i32, destination: &str) -> Result<RecordBatch> {
    let cat = batch
        .column_by_name("cat")
        .and_then(|c| c.as_primitive_opt::<Int32Type>())
        .ok_or_else(|| Error::Query("diff: no category column".into()))?;
    let mask: BooleanArray = cat.iter().map(|c| Some(c == Some(code))).collect();
    let kept = filter_record_batch(batch, &mask).map_err(arrow_error)?;
    let n = kept.num_rows();
    let schema = list_schema();
    let id = Category::from_code(code).map_or("", Category::id);
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![destination; n])),
        Arc::new(StringArray::from(vec![id; n])),
    ];
    for field in schema.fields().iter().skip(2) {
        let column = kept
            .column_by_name(field.name())
            .ok_or_else(|| Error::Query(format!("diff: no column {} to list", field.name())))?;
        columns.push(Arc::clone(column));
    }
    RecordBatch::try_new(schema, columns).map_err(arrow_error)
}

fn arrow_error(e: datafusion::arrow::error::ArrowError) -> Error {
    Error::from(datafusion::error::DataFusionError::from(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_is_a_share_of_this_machines_memory() {
        let budget = default_budget();
        assert!((1 << 30..=16 << 30).contains(&budget), "{budget}");
        let memory = physical_memory().expect("sysconf gives the memory on unix");
        assert!(budget <= (memory / 4).max(1 << 30), "{budget} of {memory}");
    }
}
