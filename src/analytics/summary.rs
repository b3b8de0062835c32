//! `summary`: objects and bytes per replication status, overall and by dimensions (key
//! prefix, age, tag, storage class, …), with stuck PENDING split out — in one aggregation
//! over the `inventory` table.
//!
//! Totals are conserved: folding small groups into `(other)` never changes them, and every
//! row lands in exactly one group (NULLs get a label, never dropped).

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, TimestampMillisecondType};

use super::tags::{TagJoin, TagSource};
use crate::error::{Error, Result};
use crate::replication::{Scope, Status};
use crate::table::Session;
use crate::table::age::AgeBuckets;
use crate::table::sql_literal;

/// The statuses in report order; `NONE` stands for an empty status (never replicated).
pub use crate::replication::LABELS as STATUSES;
pub use crate::replication::{Counts, StatusCounts};

/// Long-form `status` of the delete markers (all-versions scope): they are counted, on
/// their own row, never as "not replicated".
pub const DELETE_MARKERS: &str = "DELETE_MARKER";

/// The columns `--by` accepts by name.
pub const COLUMN_DIMENSIONS: [&str; 7] = [
    "storage_class",
    "encryption_status",
    "object_owner",
    "bucket_key_status",
    "is_multipart_uploaded",
    "intelligent_tiering_access_tier",
    "object_lock_mode",
];

/// Label of a NULL value in a column dimension.
pub const NULL_LABEL: &str = "(none)";
/// Label of the folded groups.
pub const OTHER_LABEL: &str = "(other)";
/// Tag dimension: the object has no row in the tag source.
pub const NO_TAG_DATA: &str = "(no tag data)";
/// Tag dimension: the object has tag data but not this tag.
pub const UNTAGGED: &str = "(untagged)";

/// One way to group objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dimension {
    /// `key_prefix(key, depth)`.
    Prefix { depth: usize },
    /// Age at delivery time, in buckets.
    Age(AgeBuckets),
    /// A canonical column, by name (one of [`COLUMN_DIMENSIONS`]).
    Column(&'static str),
    /// The value of one object tag (needs a tag source).
    Tag(String),
}

impl Dimension {
    /// Parses one `--by` name; `depth` and `age` come from their own options.
    pub fn parse(name: &str, depth: usize, age: &AgeBuckets) -> Result<Dimension> {
        let name = name.trim();
        if let Some(tag) = name.strip_prefix("tag:") {
            if tag.is_empty() {
                return Err(Error::Usage(
                    "--by tag:KEY needs a tag key, like tag:team".into(),
                ));
            }
            return Ok(Dimension::Tag(tag.to_string()));
        }
        match name {
            "prefix" => Ok(Dimension::Prefix { depth }),
            "age" => Ok(Dimension::Age(age.clone())),
            other => COLUMN_DIMENSIONS
                .iter()
                .find(|c| **c == other)
                .map(|c| Dimension::Column(c))
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "unknown --by {other:?}; use prefix, age, tag:KEY, {}",
                        COLUMN_DIMENSIONS.join(", ")
                    ))
                }),
        }
    }

    /// The column name in long-form output (`prefix`, `age`, `storage_class`, `tag:team`).
    pub fn name(&self) -> String {
        match self {
            Dimension::Prefix { .. } => "prefix".into(),
            Dimension::Age(_) => "age".into(),
            Dimension::Column(c) => c.to_string(),
            Dimension::Tag(t) => format!("tag:{t}"),
        }
    }
}

/// How `--top` ranks groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    Objects,
    Bytes,
    /// Bytes that are PENDING, FAILED or never replicated.
    UnreplicatedBytes,
}

impl Rank {
    pub fn parse(s: &str) -> Result<Rank> {
        match s {
            "objects" => Ok(Rank::Objects),
            "bytes" => Ok(Rank::Bytes),
            "unreplicated-bytes" => Ok(Rank::UnreplicatedBytes),
            other => Err(Error::Usage(format!(
                "unknown --rank {other:?}; use objects, bytes or unreplicated-bytes"
            ))),
        }
    }
}

/// What to summarise.
#[derive(Debug, Clone)]
pub struct SummaryOptions {
    pub dimensions: Vec<Dimension>,
    /// Count every row (all versions and delete markers), not only current live objects.
    pub all_versions: bool,
    pub top: Option<usize>,
    pub rank: Rank,
    /// Fold groups whose share of the rank metric is below this fraction.
    pub min_share: Option<f64>,
    /// PENDING objects older than this (at delivery time) are stuck.
    pub pending_older_than_ms: i64,
    /// The threshold as the user wrote it (`24h`), for messages.
    pub pending_older_than_label: String,
    pub tags: Option<TagSource>,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions {
            dimensions: Vec::new(),
            all_versions: false,
            top: None,
            rank: Rank::UnreplicatedBytes,
            min_share: None,
            pending_older_than_ms: 24 * 3_600_000,
            pending_older_than_label: "24h".into(),
            tags: None,
        }
    }
}

fn metric(s: &StatusCounts, rank: Rank) -> u64 {
    match rank {
        Rank::Objects => s.total().objects,
        Rank::Bytes => s.total().bytes,
        Rank::UnreplicatedBytes => s.unreplicated().bytes,
    }
}

/// PENDING objects split at the stuck threshold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingSplit {
    pub threshold_ms: i64,
    pub threshold_label: String,
    pub recent: Counts,
    pub stuck: Counts,
    /// Oldest `last_modified_date` among stuck objects (epoch ms).
    pub oldest_stuck_ms: Option<i64>,
}

/// One group: its dimension values and counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub values: Vec<String>,
    pub statuses: StatusCounts,
    /// How many original groups this one stands for (more than 1 for `(other)`).
    pub folded: usize,
}

/// The answer.
#[derive(Debug, Clone)]
pub struct Summary {
    pub dimensions: Vec<Dimension>,
    pub all_versions: bool,
    pub totals: StatusCounts,
    pub pending: PendingSplit,
    pub groups: Vec<Group>,
}

impl Summary {
    /// Column names of the dimensions.
    pub fn dimension_names(&self) -> Vec<String> {
        self.dimensions.iter().map(Dimension::name).collect()
    }
}

/// The SQL of the aggregation (exposed so users can see and adapt it).
pub fn summary_sql(opts: &SummaryOptions, delivery_ms: i64, tags: Option<&TagJoin>) -> String {
    let mut dims = Vec::new();
    for (i, d) in opts.dimensions.iter().enumerate() {
        let expr = match d {
            Dimension::Prefix { depth } => format!("key_prefix(i.key, {depth})"),
            Dimension::Age(b) => format!(
                "coalesce(age_bucket(i.last_modified_date, {}), '(unknown)')",
                sql_literal(&b.spec())
            ),
            Dimension::Column(c) => format!("coalesce(CAST(i.{c} AS VARCHAR), '{NULL_LABEL}')"),
            Dimension::Tag(_) => format!(
                "CASE WHEN t.has_data IS NULL THEN '{NO_TAG_DATA}' WHEN t.v{i} IS NULL THEN '{UNTAGGED}' ELSE t.v{i} END"
            ),
        };
        dims.push(format!("{expr} AS d{i}"));
    }
    // Grouped by the raw status and labelled in Rust (`status_label`): a CASE per row
    // costs more than the whole scan of a Parquet delivery. The stuck split is counted with
    // a FILTER on the timestamp alone and read only from the PENDING groups.
    let stuck_before = delivery_ms - opts.pending_older_than_ms;
    let stuck =
        format!("FILTER (WHERE i.last_modified_date < to_timestamp_millis({stuck_before}))");
    let scope = Scope::new(opts.all_versions).predicate(Some("i"));
    let join = match tags {
        Some(tags) => {
            let keys: Vec<(usize, &str)> = opts
                .dimensions
                .iter()
                .enumerate()
                .filter_map(|(i, d)| match d {
                    Dimension::Tag(k) => Some((i, k.as_str())),
                    _ => None,
                })
                .collect();
            if keys.is_empty() {
                String::new()
            } else {
                format!(
                    " LEFT JOIN ({}) t ON {}",
                    tags.per_object_sql(&keys),
                    tags.join_on()
                )
            }
        }
        None => String::new(),
    };
    let mut select = dims.clone();
    select.push("i.replication_status AS raw_status".into());
    // Delete markers are counted apart (only an all-versions scope has any).
    select.push("coalesce(i.is_delete_marker, false) AS delete_marker".into());
    select.push("count(*) AS objects".into());
    select.push("coalesce(sum(i.size), 0) AS bytes".into());
    select.push(format!("count(*) {stuck} AS stuck_objects"));
    select.push(format!("coalesce(sum(i.size) {stuck}, 0) AS stuck_bytes"));
    select.push(format!("min(i.last_modified_date) {stuck} AS oldest_stuck"));
    let group_by: Vec<String> = (1..=opts.dimensions.len() + 2)
        .map(|i| i.to_string())
        .collect();
    format!(
        "SELECT {} FROM inventory i{join} WHERE {scope} GROUP BY {}",
        select.join(", "),
        group_by.join(", ")
    )
}

/// Runs the summary over a session.
pub async fn summarize(session: &Session, opts: &SummaryOptions) -> Result<Summary> {
    if opts
        .dimensions
        .iter()
        .any(|d| matches!(d, Dimension::Tag(_)))
        && opts.tags.is_none()
    {
        return Err(Error::Usage(
            "--by tag:KEY needs --tags SOURCE: S3 Inventory has no tags (export the S3 Metadata live inventory table, or give a bucket,key,version_id,tag_key,tag_value table)".into(),
        ));
    }
    let tag_join = match &opts.tags {
        Some(tags) => Some(tags.register(session).await?),
        None => None,
    };
    let delivery_ms = session.delivery.manifest.creation_timestamp_ms;
    let sql = summary_sql(opts, delivery_ms, tag_join.as_ref());
    tracing::debug!(%sql, "summary query");
    let batches = session.sql(&sql).await?;
    let mut totals = StatusCounts::default();
    let mut pending = PendingSplit {
        threshold_ms: opts.pending_older_than_ms,
        threshold_label: opts.pending_older_than_label.clone(),
        ..Default::default()
    };
    let mut groups: BTreeMap<Vec<String>, StatusCounts> = BTreeMap::new();
    let dims = opts.dimensions.len();
    for batch in &batches {
        read_rows(
            batch,
            dims,
            &mut |values, raw_status, marker, c, stuck, oldest| {
                let group = groups.entry(values).or_default();
                if marker {
                    totals.add_delete_markers(c);
                    group.add_delete_markers(c);
                    return;
                }
                let status = Status::from_raw(raw_status);
                if status == Status::Pending {
                    pending.stuck.add(stuck);
                    pending.recent.add(Counts {
                        objects: c.objects - stuck.objects,
                        bytes: c.bytes - stuck.bytes,
                    });
                    if let Some(o) = oldest {
                        pending.oldest_stuck_ms =
                            Some(pending.oldest_stuck_ms.map_or(o, |p| p.min(o)));
                    }
                }
                totals.add(status.clone(), c);
                group.add(status, c);
            },
        )?;
    }
    let groups = if dims == 0 {
        Vec::new()
    } else {
        order_and_fold(groups, opts)
    };
    Ok(Summary {
        dimensions: opts.dimensions.clone(),
        all_versions: opts.all_versions,
        totals,
        pending,
        groups,
    })
}

type RowSink<'a> = dyn FnMut(Vec<String>, Option<&str>, bool, Counts, Counts, Option<i64>) + 'a;

fn read_rows(batch: &RecordBatch, dims: usize, sink: &mut RowSink<'_>) -> Result<()> {
    let text = |i: usize| -> Result<datafusion::arrow::array::ArrayRef> {
        datafusion::arrow::compute::cast(
            batch.column(i),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .map_err(|e| Error::Query(e.to_string()))
    };
    let dim_cols: Vec<_> = (0..dims).map(text).collect::<Result<_>>()?;
    let status = text(dims)?;
    let status = status.as_string::<i32>();
    let int = |i: usize| -> Result<datafusion::arrow::array::ArrayRef> {
        datafusion::arrow::compute::cast(
            batch.column(i),
            &datafusion::arrow::datatypes::DataType::Int64,
        )
        .map_err(|e| Error::Query(e.to_string()))
    };
    let marker = batch.column(dims + 1).as_boolean();
    let objects = int(dims + 2)?;
    let bytes = int(dims + 3)?;
    let stuck_objects = int(dims + 4)?;
    let stuck_bytes = int(dims + 5)?;
    let (objects, bytes) = (
        objects.as_primitive::<Int64Type>(),
        bytes.as_primitive::<Int64Type>(),
    );
    let (stuck_objects, stuck_bytes) = (
        stuck_objects.as_primitive::<Int64Type>(),
        stuck_bytes.as_primitive::<Int64Type>(),
    );
    let oldest = batch
        .column(dims + 6)
        .as_primitive::<TimestampMillisecondType>();
    for row in 0..batch.num_rows() {
        let values = dim_cols
            .iter()
            .map(|c| c.as_string::<i32>().value(row).to_string())
            .collect();
        let c = Counts {
            objects: objects.value(row) as u64,
            bytes: bytes.value(row) as u64,
        };
        let stuck = Counts {
            objects: stuck_objects.value(row) as u64,
            bytes: stuck_bytes.value(row) as u64,
        };
        let oldest = (!oldest.is_null(row)).then(|| oldest.value(row));
        let raw_status = (!status.is_null(row)).then(|| status.value(row));
        sink(values, raw_status, marker.value(row), c, stuck, oldest);
    }
    Ok(())
}

/// Sorts groups (natural order, or by rank when folding) and folds the tail into `(other)`.
fn order_and_fold(
    groups: BTreeMap<Vec<String>, StatusCounts>,
    opts: &SummaryOptions,
) -> Vec<Group> {
    let total: u64 = groups.values().map(|s| metric(s, opts.rank)).sum();
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|(values, statuses)| Group {
            values,
            statuses,
            folded: 1,
        })
        .collect();
    let folding = opts.top.is_some() || opts.min_share.is_some();
    if folding {
        groups.sort_by(|a, b| {
            metric(&b.statuses, opts.rank)
                .cmp(&metric(&a.statuses, opts.rank))
                .then_with(|| a.values.cmp(&b.values))
        });
    } else {
        // Natural order: age buckets young to old, everything else alphabetically.
        groups.sort_by(|a, b| {
            natural_key(a, &opts.dimensions).cmp(&natural_key(b, &opts.dimensions))
        });
    }
    let mut kept = Vec::new();
    let mut other = Group {
        values: vec![OTHER_LABEL.to_string(); opts.dimensions.len()],
        statuses: StatusCounts::default(),
        folded: 0,
    };
    for (i, g) in groups.into_iter().enumerate() {
        let below_share = opts.min_share.is_some_and(|share| {
            total > 0 && (metric(&g.statuses, opts.rank) as f64) < share * total as f64
        });
        let beyond_top = opts.top.is_some_and(|k| i >= k);
        if below_share || beyond_top {
            other.statuses.merge(&g.statuses);
            other.folded += g.folded;
        } else {
            kept.push(g);
        }
    }
    if other.folded > 0 {
        kept.push(other);
    }
    kept
}

fn natural_key(g: &Group, dims: &[Dimension]) -> Vec<(usize, String)> {
    natural_order(&g.values, dims)
}

/// The sort key of a group's `values`: age buckets young to old (their labels' order),
/// everything else alphabetically.
pub fn natural_order(values: &[String], dims: &[Dimension]) -> Vec<(usize, String)> {
    values
        .iter()
        .zip(dims)
        .map(|(v, d)| match d {
            Dimension::Age(b) => (
                b.labels().iter().position(|l| l == v).unwrap_or(usize::MAX),
                v.clone(),
            ),
            _ => (0, v.clone()),
        })
        .collect()
}

/// The sentence a summary prints when stuck PENDING objects exist.
pub fn stuck_sentence(p: &PendingSplit, human_bytes: impl Fn(u64) -> String) -> Option<String> {
    if p.stuck.objects == 0 {
        return None;
    }
    let oldest = p
        .oldest_stuck_ms
        .and_then(crate::format::timestamp::format_millis)
        .unwrap_or_else(|| "unknown".into());
    Some(format!(
        "{} PENDING object{} ({}) {} been pending for more than {} (oldest last modified {oldest}): live replication will not finish {} by itself; re-drive with S3 Batch Replication.",
        p.stuck.objects,
        if p.stuck.objects == 1 { "" } else { "s" },
        human_bytes(p.stuck.bytes),
        if p.stuck.objects == 1 { "has" } else { "have" },
        p.threshold_label,
        if p.stuck.objects == 1 { "it" } else { "them" },
    ))
}
