//! `s3inv diff`: the source inventory against each destination's, per destination. Source
//! and destination versions are matched on (key, version id) — replicas keep the source's
//! version id — or on the key alone when either side lists current versions only; every
//! source version and every destination version lands in exactly one category.
//!
//! Each destination is one SQL full outer join ([`plan`]) streamed once: the categories,
//! `--by` groups, examples, the `--list` rows and the re-drive spools are all taken from
//! that one pass. With `--memory-limit` the join is a sort-merge join whose sorts spill, so
//! memory stays bounded whatever the row counts. After each pass the rows that entered the
//! join are checked against the rows classified: a side listing a version twice would
//! otherwise count the other side's version twice.

pub mod listing;
pub mod partition;
pub mod plan;
pub mod rules;

use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use futures::StreamExt;

use crate::doctor::redrive::{Object, Spools};
use crate::error::{Error, Result};
use crate::manifest::Delivery;
use crate::replication::Counts;
use crate::table::Session;
pub use plan::{Checks, Matching, Plan, RuleScope};

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
    /// Bytes the joins may hold in memory (`--memory-limit`); [`DEFAULT_BUDGET`] when unset.
    pub budget: Option<u64>,
    /// Partition into this many buckets whatever the estimate (`--buckets`).
    pub buckets: Option<usize>,
    /// The temporary files, shared by the passes of one run.
    pub scratch: Arc<partition::Scratch>,
}

/// What the joins may hold without `--memory-limit`.
pub const DEFAULT_BUDGET: u64 = 2 << 30;

/// Arrow bytes of a side's join columns per byte of inventory data file (compressed CSV,
/// ORC or Parquet), roughly: enough to choose a bucket count; groups are then sized from
/// the bytes actually written.
const EXPANSION: u64 = 4;

/// The most buckets one side is written into (open files per scan partition).
const MAX_BUCKETS: usize = 512;

impl PassOptions {
    pub fn budget(&self) -> u64 {
        self.budget.unwrap_or(DEFAULT_BUDGET)
    }

    /// 1 (one in-memory join) when the estimated join fits the budget, else enough buckets
    /// for about four per group.
    fn buckets(&self, session: &Session, dest: &Destination) -> usize {
        if let Some(n) = self.buckets {
            return n.clamp(1, MAX_BUCKETS);
        }
        let source = session.delivery.manifest.total_bytes() * EXPANSION;
        let destination = dest.delivery.manifest.total_bytes() * EXPANSION;
        let held = source * 3 + destination / 4;
        if held <= self.budget() {
            return 1;
        }
        // As the groups are sized (compare_partitioned): half the budget over the cores.
        let cores = session.ctx.copied_config().target_partitions().max(1) as u64;
        let per_group = (self.budget() / (2 * cores)).max(1);
        (held.div_ceil(per_group) * 4)
            .next_power_of_two()
            .min(MAX_BUCKETS as u64) as usize
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

/// Compares the source with one destination in one streamed pass. Rows of
/// `options.list` go to `list`; objects to re-drive into `spools` (under
/// `<destination>/<category>`). Beyond what one join holds in memory (`options.budget`),
/// both sides are partitioned to disk first and joined a group of buckets at a time
/// ([`partition`]).
pub async fn compare(
    session: &Session,
    dest: &Destination,
    options: &PassOptions,
    list: Option<&tokio::sync::mpsc::Sender<Result<RecordBatch>>>,
    spools: Option<&mut Spools>,
) -> Result<DestinationDiff> {
    let mut pass = Pass {
        tally: Tally::new(options.examples, dest.plan.dimensions.len()),
        dest,
        list,
        list_code: options.list.map(Category::code),
        spools,
        ids: HashMap::new(),
    };
    let stores = [session.delivery.store.clone(), dest.delivery.store.clone()];
    let explain = move |e| {
        let e = stores[0].explain_datafusion(e);
        stores[1].explain_datafusion(e)
    };
    let buckets = options.buckets(session, dest);
    if buckets <= 1 {
        let sql = dest.plan.sql();
        tracing::debug!(%sql, destination = %dest.name, "diff");
        let df = session.query(&sql).await?;
        let task = Arc::new(df.task_ctx());
        let physical = df.create_physical_plan().await?;
        let mut stream = execute_stream(Arc::clone(&physical), task)?;
        while let Some(batch) = stream.next().await {
            pass.take(batch.map_err(&explain)?).await?;
        }
        check_conservation(&physical, &pass.tally, &dest.name)?;
    } else {
        compare_partitioned(session, options, buckets, &mut pass, Arc::new(explain)).await?;
    }
    let tally = pass.tally;
    let mut notes = dest.notes.clone();
    let checks = dest.plan.checks();
    notes.extend(unchecked_notes(&dest.plan, &dest.name));
    Ok(DestinationDiff {
        name: dest.name.clone(),
        matching: dest.plan.matching,
        checks,
        categories: tally.categories,
        groups: tally.groups,
        examples: tally
            .examples
            .into_iter()
            .map(|(c, heap)| (c, heap.into_sorted_vec()))
            .collect(),
        etag_not_compared: tally.etag_skipped,
        source_rows: tally.source_rows,
        destination_only_rows: tally.destination_only,
        notes,
    })
}

/// The partitioned comparison: the source's buckets (kept for the next destination when
/// its rows are read alike), the destination's, then the groups joined concurrently.
async fn compare_partitioned(
    session: &Session,
    options: &PassOptions,
    buckets: usize,
    pass: &mut Pass<'_>,
    explain: Arc<dyn Fn(DataFusionError) -> DataFusionError + Send + Sync>,
) -> Result<()> {
    let dest = pass.dest;
    let (source_sql, destination_sql) = dest.plan.sides();
    let keys = dest.plan.key_columns();
    let dir = options.scratch.dir()?;
    let write = |sql: &str, side: &str| {
        let tag = format!("{side}{}", options.scratch.next_id());
        let (sql, dir, explain) = (sql.to_string(), dir.clone(), Arc::clone(&explain));
        async move {
            let files =
                partition::partition_side(session, &sql, keys, buckets, &dir, &tag, explain)
                    .await?;
            Ok::<_, Error>(Arc::new(files))
        }
    };
    let source = match options.scratch.source(&source_sql, buckets) {
        Some(s) => s,
        None => {
            let s = write(&source_sql, "s").await?;
            options
                .scratch
                .keep_source(&source_sql, buckets, Arc::clone(&s));
            s
        }
    };
    let destination = write(&destination_sql, "d").await?;
    let concurrency = session.ctx.copied_config().target_partitions().max(1);
    // Half the budget for the groups' estimated holdings: the rest is what the estimate
    // leaves out (read and output batches, the allocator's slack). Measured: at 10M x 10M
    // Parquet rows and `--memory-limit 1G`, a full share per group peaked at 1.1 GB.
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
    let plan = dest.plan.clone();
    let join_sql = Arc::new(move |s: &str, d: &str| plan.join_sql(s, d));
    let (tx, rx) = tokio::sync::mpsc::channel(concurrency * 2);
    let joins = partition::join_groups(
        session,
        Arc::clone(&source),
        Arc::clone(&destination),
        groups,
        concurrency,
        join_sql,
        tx,
    );
    let consume = async {
        // Owned here, so that the joins' sends fail (and they stop) when this gives up.
        let mut rx = rx;
        while let Some(batch) = rx.recv().await {
            pass.take(batch?).await?;
        }
        Ok::<_, Error>(())
    };
    let (joined, consumed) = tokio::join!(joins, consume);
    // The destination's buckets serve this pass only.
    destination.remove();
    consumed?;
    joined?;
    // Every row written to the buckets was classified exactly once.
    let counted = [
        ("source", source.rows, pass.tally.source_rows.objects),
        ("destination", destination.rows, pass.tally.destination_rows),
    ];
    for (what, rows, classified) in counted {
        if rows != classified {
            return Err(duplicate_versions(&dest.name, what, classified, rows));
        }
    }
    Ok(())
}

/// One pass's consumer of classified batches: the tally, the `--list` rows, the spools.
struct Pass<'a> {
    tally: Tally,
    dest: &'a Destination,
    list: Option<&'a tokio::sync::mpsc::Sender<Result<RecordBatch>>>,
    list_code: Option<i32>,
    spools: Option<&'a mut Spools>,
    ids: HashMap<Category, String>,
}

impl Pass<'_> {
    async fn take(&mut self, batch: RecordBatch) -> Result<()> {
        let rows = Rows::new(&batch, self.dest.plan.dimensions.len())?;
        for i in 0..batch.num_rows() {
            let category = rows.category(i)?;
            self.tally.add(&rows, i, category);
            if let Some(spools) = self.spools.as_deref_mut()
                && category.redrives()
            {
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

fn duplicate_versions(name: &str, what: &str, classified: u64, rows: u64) -> Error {
    Error::Query(format!(
        "the comparison with {name} counted {classified} {what} versions where {rows} were read: an inventory lists the same object version more than once (the same key, and version id when it has them, on two rows), so the categories would not add up; no answer is given"
    ))
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

/// The rows that entered the join against the rows classified: equal unless a side lists a
/// version twice, which would count the other side's version twice.
fn check_conservation(plan: &Arc<dyn ExecutionPlan>, tally: &Tally, name: &str) -> Result<()> {
    let Some(join) = find_join(plan) else {
        return Ok(());
    };
    let children = join.children();
    for child in children {
        let Some(rows) = child.metrics().and_then(|m| m.output_rows()) else {
            continue;
        };
        let source = child.schema().field_with_name("status").is_ok();
        let (what, classified) = if source {
            ("source", tally.source_rows.objects)
        } else {
            ("destination", tally.destination_rows)
        };
        if rows as u64 != classified {
            return Err(duplicate_versions(name, what, classified, rows as u64));
        }
    }
    Ok(())
}

fn find_join(plan: &Arc<dyn ExecutionPlan>) -> Option<Arc<dyn ExecutionPlan>> {
    if plan.name().contains("Join") {
        return Some(Arc::clone(plan));
    }
    plan.children().into_iter().find_map(find_join)
}

/// The classified rows of one batch, by column.
struct Rows<'a> {
    cat: &'a datafusion::arrow::array::PrimitiveArray<Int64Type>,
    bucket: StrCol<'a>,
    key: StrCol<'a>,
    version: StrCol<'a>,
    size: &'a datafusion::arrow::array::PrimitiveArray<Int64Type>,
    status: StrCol<'a>,
    storage_class: StrCol<'a>,
    tier: StrCol<'a>,
    dm: &'a BooleanArray,
    etag_skipped: &'a BooleanArray,
    at_destination: &'a BooleanArray,
    dims: Vec<StrCol<'a>>,
}

/// A string column as DataFusion hands it over (Utf8, LargeUtf8 or Utf8View).
enum StrCol<'a> {
    Utf8(&'a datafusion::arrow::array::StringArray),
    Large(&'a datafusion::arrow::array::LargeStringArray),
    View(&'a datafusion::arrow::array::StringViewArray),
    Null,
}

impl<'a> StrCol<'a> {
    fn new(a: &'a ArrayRef) -> StrCol<'a> {
        match a.data_type() {
            DataType::Utf8 => StrCol::Utf8(a.as_string::<i32>()),
            DataType::LargeUtf8 => StrCol::Large(a.as_string::<i64>()),
            DataType::Utf8View => StrCol::View(a.as_string_view()),
            _ => StrCol::Null,
        }
    }

    fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            StrCol::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::Null => None,
        }
    }
}

impl<'a> Rows<'a> {
    fn new(batch: &'a RecordBatch, dims: usize) -> Result<Rows<'a>> {
        let col = |name: &str| -> Result<&'a ArrayRef> {
            batch
                .column_by_name(name)
                .ok_or_else(|| Error::Query(format!("diff: no column {name}")))
        };
        let bool_col = |name: &str| -> Result<&'a BooleanArray> {
            col(name)?
                .as_boolean_opt()
                .ok_or_else(|| Error::Query(format!("diff: column {name} is not boolean")))
        };
        Ok(Rows {
            cat: col("cat")?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| Error::Query("diff: cat is not Int64".into()))?,
            bucket: StrCol::new(col("bucket")?),
            key: StrCol::new(col("key")?),
            version: StrCol::new(col("version_id")?),
            size: col("size")?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| Error::Query("diff: size is not Int64".into()))?,
            status: StrCol::new(col("status")?),
            storage_class: StrCol::new(col("storage_class")?),
            tier: StrCol::new(col("tier")?),
            dm: bool_col("dm")?,
            etag_skipped: bool_col("etag_skipped")?,
            at_destination: bool_col("at_destination")?,
            dims: (0..dims)
                .map(|i| col(&format!("d{i}")).map(StrCol::new))
                .collect::<Result<_>>()?,
        })
    }

    fn category(&self, i: usize) -> Result<Category> {
        Category::from_code(self.cat.value(i) as i32)
            .ok_or_else(|| Error::Query(format!("diff: unknown category {}", self.cat.value(i))))
    }

    fn size(&self, i: usize) -> u64 {
        if self.size.is_null(i) {
            0
        } else {
            self.size.value(i).max(0) as u64
        }
    }

    fn flag(a: &BooleanArray, i: usize) -> bool {
        !a.is_null(i) && a.value(i)
    }

    fn object(&self, i: usize) -> Object<'a> {
        Object {
            bucket: self.bucket.get(i).unwrap_or(""),
            key: self.key.get(i).unwrap_or(""),
            version: self.version.get(i).filter(|v| !v.is_empty()),
            size: self.size(i),
            status: self.status.get(i).unwrap_or("NONE"),
            delete_marker: Rows::flag(self.dm, i),
            storage_class: self.storage_class.get(i),
            tier: self.tier.get(i),
        }
    }
}

/// Totals, groups and examples of one pass.
struct Tally {
    categories: BTreeMap<Category, Counts>,
    groups: BTreeMap<(Vec<String>, Category), Counts>,
    /// Per category the smallest examples, as a max-heap of at most `examples`.
    examples: BTreeMap<Category, BinaryHeap<String>>,
    limit: usize,
    dims: usize,
    etag_skipped: Counts,
    source_rows: Counts,
    destination_only: Counts,
    /// Destination versions that took part (matched or not).
    destination_rows: u64,
}

impl Tally {
    fn new(limit: usize, dims: usize) -> Tally {
        Tally {
            categories: BTreeMap::new(),
            groups: BTreeMap::new(),
            examples: BTreeMap::new(),
            limit,
            dims,
            etag_skipped: Counts::default(),
            source_rows: Counts::default(),
            destination_only: Counts::default(),
            destination_rows: 0,
        }
    }

    fn add(&mut self, rows: &Rows, i: usize, category: Category) {
        let size = rows.size(i);
        let one = Counts {
            objects: 1,
            bytes: size,
        };
        self.categories.entry(category).or_default().add(one);
        let from_source = rows.status.get(i).is_some();
        if from_source {
            self.source_rows.add(one);
        } else {
            self.destination_only.add(one);
        }
        if Rows::flag(rows.at_destination, i) {
            self.destination_rows += 1;
        }
        if Rows::flag(rows.etag_skipped, i) {
            self.etag_skipped.add(one);
        }
        if self.dims > 0 {
            let dims: Vec<String> = rows
                .dims
                .iter()
                .map(|d| d.get(i).unwrap_or("").to_string())
                .collect();
            self.groups.entry((dims, category)).or_default().add(one);
        }
        if self.limit > 0 && category != Category::Replicated {
            let key = rows.key.get(i).unwrap_or("");
            let heap = self.examples.entry(category).or_default();
            let full = heap.len() >= self.limit;
            if full && heap.peek().is_some_and(|max| key >= max.as_str()) {
                return;
            }
            let example = match rows.version.get(i).filter(|v| !v.is_empty()) {
                Some(v) => format!("{key} ({v})"),
                None => key.to_string(),
            };
            heap.push(example);
            if heap.len() > self.limit {
                heap.pop();
            }
        }
    }
}

/// The rows of category `code` in `batch`, as `--list` writes them.
fn list_batch(batch: &RecordBatch, code: i32, destination: &str) -> Result<RecordBatch> {
    let cat = batch
        .column_by_name("cat")
        .and_then(|c| c.as_primitive_opt::<Int64Type>())
        .ok_or_else(|| Error::Query("diff: no category column".into()))?;
    let mask: BooleanArray = cat.iter().map(|c| Some(c == Some(code as i64))).collect();
    let kept = filter_record_batch(batch, &mask).map_err(arrow_error)?;
    let n = kept.num_rows();
    let schema = list_schema();
    let id = Category::from_code(code).map_or("", Category::id);
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![destination; n])),
        Arc::new(StringArray::from(vec![id; n])),
    ];
    for field in schema.fields().iter().skip(2) {
        let name = match field.name().as_str() {
            "is_delete_marker" => "dm",
            "replication_status" => "status",
            other => other,
        };
        let column = kept
            .column_by_name(name)
            .ok_or_else(|| Error::Query(format!("diff: no column {name} to list")))?;
        columns.push(
            datafusion::arrow::compute::cast(column, field.data_type()).map_err(arrow_error)?,
        );
    }
    RecordBatch::try_new(schema, columns).map_err(arrow_error)
}

fn arrow_error(e: datafusion::arrow::error::ArrowError) -> Error {
    Error::from(datafusion::error::DataFusionError::from(e))
}
