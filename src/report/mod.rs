//! The nightly replication report: the newest delivery's numbers, trends against earlier
//! deliveries, alerts, written as report.html (self-contained), report.json (versioned),
//! report.md, and a small history record so later runs draw trends without rescanning.

pub mod alert;
mod compare;
mod history;
pub mod html;
pub mod markdown;

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type, TimestampMillisecondType};
use serde::Serialize;
use serde_json::Value;

pub use compare::Comparison;
pub use history::{HistoryKey, HistoryRecord, TrendPoint};

use crate::analytics::summary::{Dimension, STATUSES, StatusCounts, SummaryOptions, summarize};
use crate::batch::dest::Destination;
use crate::error::{Error, Result};
use crate::manifest::{AtSpec, DeliveryInfo, list_deliveries, open_delivery};
use crate::output::summary::delivery_json;
use crate::storage::{Location, Store};
use crate::table::Session;
use crate::table::age::AgeBuckets;
use alert::{Alert, Condition};

/// Version of report.json; bumped only on incompatible changes. 2: timestamps are RFC 3339
/// strings everywhere (`trend[].created` was epoch milliseconds) and the oldest stuck
/// PENDING object is `pending.stuck.oldest_last_modified`, as in summary.json (was
/// `pending.oldest_stuck`).
pub const REPORT_VERSION: u32 = 2;

/// What the report compares and how.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Compare with the N latest earlier deliveries; `None`: the previous one and the one
    /// 7 days earlier when present.
    pub compare: Option<usize>,
    pub pending_older_than_ms: i64,
    pub pending_older_than_label: String,
    pub prefix_depth: usize,
    pub top: usize,
    pub fail_on: Vec<Condition>,
    pub verify: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            compare: None,
            pending_older_than_ms: 24 * 3_600_000,
            pending_older_than_label: "24h".into(),
            prefix_depth: 1,
            top: 10,
            fail_on: Vec::new(),
            verify: true,
        }
    }
}

/// Objects and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    pub objects: u64,
    pub bytes: u64,
}

impl From<crate::analytics::summary::Counts> for Counts {
    fn from(c: crate::analytics::summary::Counts) -> Self {
        Counts {
            objects: c.objects,
            bytes: c.bytes,
        }
    }
}

/// One row of a breakdown (age bucket, prefix, storage class, …).
#[derive(Debug, Clone, Serialize)]
pub struct GroupLine {
    pub value: String,
    pub objects: u64,
    pub bytes: u64,
    pub unreplicated: Counts,
    pub statuses: BTreeMap<String, Counts>,
}

/// A FAILED object among the largest.
#[derive(Debug, Clone, Serialize)]
pub struct FailedObject {
    pub key: String,
    pub version_id: Option<String>,
    pub size: i64,
    pub last_modified: Option<String>,
    pub storage_class: Option<String>,
    pub encryption_status: Option<String>,
}

/// The report, as report.json holds it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub s3inv_report_version: u32,
    pub delivery: Value,
    pub scope: &'static str,
    pub totals: Totals,
    pub pending: Pending,
    pub by_age: Vec<GroupLine>,
    pub prefix_depth: usize,
    pub top_prefixes: Vec<GroupLine>,
    pub storage_classes: Vec<GroupLine>,
    pub encryption_statuses: Vec<GroupLine>,
    pub largest_failed: Vec<FailedObject>,
    pub comparisons: Vec<Comparison>,
    pub trend: Vec<TrendPoint>,
    pub alerts: Vec<Alert>,
    pub notes: Vec<Note>,
    /// Every `--fail-on` metric by name, `null` when unknown for this delivery (no
    /// comparison, nothing to replicate); a metric absent here triggers no alert and is left
    /// out of `--metrics`.
    #[serde(serialize_with = "all_metrics")]
    pub metrics: BTreeMap<String, f64>,
    /// `s3inv doctor`'s diagnosis, when the report was given `--config`, `--events` or
    /// `--reports`; `null` otherwise.
    pub why: Option<crate::doctor::diagnose::Diagnosis>,
    /// `s3inv diff` against each `--dest` inventory; `null` without `--dest`.
    pub replicas: Option<Vec<crate::diff::ReplicaSummary>>,
}

/// The metrics `report --dest` adds (summed over the destinations).
pub const REPLICA_METRICS: [(&str, crate::diff::Category); 2] = [
    (
        "missing_at_destination",
        crate::diff::Category::MissingAtDestination,
    ),
    ("mismatch_at_destination", crate::diff::Category::Mismatch),
];

impl Report {
    /// Adds the comparison with the destinations' inventories: its section, its metrics, and
    /// the `--fail-on` conditions on them evaluated again.
    pub fn add_replicas(
        &mut self,
        diffs: &[crate::diff::DestinationDiff],
        fail_on: &[alert::Condition],
    ) {
        for (metric, category) in REPLICA_METRICS {
            let n: u64 = diffs.iter().map(|d| d.get(category).objects).sum();
            self.metrics.insert(metric.into(), n as f64);
        }
        self.replicas = Some(diffs.iter().map(|d| d.summary()).collect());
        self.alerts = alert::evaluate(fail_on, &self.metrics);
        self.notes.retain(|n| {
            !REPLICA_METRICS.iter().any(|(m, _)| {
                n.text.starts_with("--fail-on '")
                    && n.text.contains(&format!("not evaluated: {m} is unknown"))
            })
        });
    }
}

/// A note for the report's reader (report.json `notes` holds its text).
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub text: String,
    /// The note changes what the numbers mean (a delivery skipped or left out, no
    /// comparison, an alert that could not be evaluated): it is printed on stderr even with
    /// `--quiet`, so an unattended run's mail shows it. Notes that only echo the command
    /// line (`--compare 0`) or housekeeping are not.
    pub weighs: bool,
}

impl Note {
    fn weighs(text: impl Into<String>) -> Note {
        Note {
            text: text.into(),
            weighs: true,
        }
    }

    fn aside(text: impl Into<String>) -> Note {
        Note {
            text: text.into(),
            weighs: false,
        }
    }
}

impl Serialize for Note {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

fn all_metrics<S: serde::Serializer>(
    m: &BTreeMap<String, f64>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(alert::METRICS.len()))?;
    for (name, _) in alert::METRICS {
        map.serialize_entry(name, &m.get(*name))?;
    }
    map.end()
}

/// Headline numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub objects: u64,
    pub bytes: u64,
    pub unreplicated: Counts,
    /// COMPLETED bytes as % of the bytes that are not replicas; `None` (null) when no
    /// bytes need replicating (an empty delivery, or only replicas): 0/0 is not 0%.
    pub replicated_pct: Option<f64>,
    pub statuses: BTreeMap<String, Counts>,
}

/// PENDING split at the stuck threshold.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    pub older_than: String,
    pub recent: Counts,
    pub stuck: Stuck,
}

/// The stuck PENDING objects; the same shape as summary.json's `pending.stuck`.
#[derive(Debug, Clone, Serialize)]
pub struct Stuck {
    pub objects: u64,
    pub bytes: u64,
    pub oldest_last_modified: Option<String>,
}

fn iso(ms: i64) -> Option<String> {
    crate::format::timestamp::format_millis(ms)
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1e6 / whole as f64).round() / 1e4
    }
}

fn status_map(s: &StatusCounts) -> BTreeMap<String, Counts> {
    s.all().into_iter().map(|(k, c)| (k, c.into())).collect()
}

/// Sums the groups of a multi-dimension summary by one dimension.
fn marginal(
    groups: &[crate::analytics::summary::Group],
    dim: usize,
) -> Vec<(String, StatusCounts)> {
    let mut by: BTreeMap<String, StatusCounts> = BTreeMap::new();
    for g in groups {
        by.entry(g.values[dim].clone())
            .or_default()
            .merge(&g.statuses);
    }
    by.into_iter().collect()
}

fn line(value: String, s: &StatusCounts) -> GroupLine {
    let t = s.total();
    GroupLine {
        value,
        objects: t.objects,
        bytes: t.bytes,
        unreplicated: s.unreplicated().into(),
        statuses: s.iter().map(|(k, c)| (k.to_string(), c.into())).collect(),
    }
}

/// Builds the report for the session's delivery; `dir` holds earlier runs' history.
pub async fn build(
    session: &Session,
    location: &Location,
    history_dir: &Destination,
    opts: &ReportOptions,
) -> Result<(Report, HistoryRecord)> {
    let delivery = &session.delivery;
    let ages = AgeBuckets::default();
    let summary_options = SummaryOptions {
        dimensions: vec![
            Dimension::Prefix {
                depth: opts.prefix_depth,
            },
            Dimension::Age(ages.clone()),
            Dimension::Column("storage_class"),
            Dimension::Column("encryption_status"),
        ],
        pending_older_than_ms: opts.pending_older_than_ms,
        pending_older_than_label: opts.pending_older_than_label.clone(),
        ..SummaryOptions::default()
    };
    let started = std::time::Instant::now();
    let summary = summarize(session, &summary_options).await?;
    // The summary is the first pass and reads every row of this delivery only.
    session.progress.note_delivery_rows();
    step_log("summary", session, started);

    let totals_counts = summary.totals.total();
    let statuses = status_map(&summary.totals);
    let replica = summary.totals.get("REPLICA").bytes;
    let unreplicated = summary.totals.unreplicated();
    let totals = Totals {
        objects: totals_counts.objects,
        bytes: totals_counts.bytes,
        unreplicated: unreplicated.into(),
        replicated_pct: (totals_counts.bytes > replica).then(|| {
            pct(
                summary.totals.get("COMPLETED").bytes,
                totals_counts.bytes - replica,
            )
        }),
        statuses,
    };
    let p = &summary.pending;
    let pending = Pending {
        older_than: p.threshold_label.clone(),
        recent: p.recent.into(),
        stuck: Stuck {
            objects: p.stuck.objects,
            bytes: p.stuck.bytes,
            oldest_last_modified: p.oldest_stuck_ms.and_then(iso),
        },
    };
    let mut by_age: Vec<GroupLine> = marginal(&summary.groups, 1)
        .into_iter()
        .map(|(v, s)| line(v, &s))
        .collect();
    by_age.sort_by_key(|g| {
        ages.labels()
            .iter()
            .position(|l| *l == g.value)
            .unwrap_or(usize::MAX)
    });
    let mut prefixes: Vec<GroupLine> = marginal(&summary.groups, 0)
        .into_iter()
        .map(|(v, s)| line(v, &s))
        .collect();
    prefixes.sort_by(|a, b| {
        b.unreplicated
            .bytes
            .cmp(&a.unreplicated.bytes)
            .then(a.value.cmp(&b.value))
    });
    prefixes.truncate(opts.top);
    let mut classes: Vec<GroupLine> = marginal(&summary.groups, 2)
        .into_iter()
        .map(|(v, s)| line(v, &s))
        .collect();
    classes.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.value.cmp(&b.value)));
    let mut encryption: Vec<GroupLine> = marginal(&summary.groups, 3)
        .into_iter()
        .map(|(v, s)| line(v, &s))
        .collect();
    encryption.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.value.cmp(&b.value)));

    let started = std::time::Instant::now();
    let largest_failed = largest_failed(session, opts.top.max(10)).await?;
    step_log("largest_failed", session, started);

    // What changes the meaning of the numbers goes into the report itself, not only to
    // stderr: first the delivery's own notes (an incomplete newer delivery skipped).
    let mut notes: Vec<Note> = delivery.notes.iter().map(Note::weighs).collect();
    let mut comparisons = Vec::new();
    // Why there is no comparison, when there is none: newly_failed, left_failed and
    // became_stuck are then unknown, never 0.
    let no_comparison: Option<(String, bool)> = match config_location(location, delivery) {
        Some(_) if opts.compare == Some(0) => {
            Some(("--compare 0 was given".into(), false))
        }
        Some(config) => {
            // Earlier deliveries sit in the same bucket as the newest one.
            let store = delivery.store.clone();
            let earlier = earlier_deliveries(&config, &store, delivery).await?;
            let mut left_out: Vec<(String, String)> = Vec::new();
            let mut attempts = 0usize;
            let mut try_compare = |info: DeliveryInfo| {
                let table = format!("earlier_{attempts}");
                attempts += 1;
                let config = config.clone();
                let store = store.clone();
                let summary = &summary;
                async move {
                    if let Some(why) = unusable(&info) {
                        return Err((info.name, why));
                    }
                    let started = std::time::Instant::now();
                    let result = async {
                        let previous = open_delivery(&config, &store, Some(&AtSpec::Exact(info.name.clone())), opts.verify).await?;
                        let (previous, columns) = session.attach(&table, previous, opts.verify).await?;
                        compare::compare(session, &table, &previous, columns, &summary.totals, opts).await
                    }
                    .await;
                    match result {
                        Ok(cmp) => {
                            tracing::info!(delivery = %info.name, elapsed_ms = started.elapsed().as_millis() as u64, "compared");
                            step_log(&format!("compare {}", info.name), session, started);
                            Ok(cmp)
                        }
                        Err(e) => Err((info.name, e.to_string())),
                    }
                }
            };
            let wanted = opts.compare.unwrap_or(1);
            for info in earlier.iter() {
                // Each failed try may have cost a verification pass; a folder of broken
                // deliveries (data files expired by a lifecycle rule) is not read whole.
                if comparisons.len() == wanted || left_out.len() == MAX_LEFT_OUT {
                    break;
                }
                match try_compare(info.clone()).await {
                    Ok(c) => comparisons.push(c),
                    Err(skip) => left_out.push(skip),
                }
            }
            // By default also the delivery 7 days earlier (within 12 h), when readable.
            if opts.compare.is_none() {
                let week = delivery.manifest.creation_timestamp_ms - 7 * 86_400_000;
                let mut near: Vec<&DeliveryInfo> = earlier
                    .iter()
                    .filter(|d| {
                        created_ms(d).is_some_and(|t| (t - week).abs() <= 12 * 3_600_000)
                            && !comparisons.iter().any(|c| c.delivery == d.name)
                            && !left_out.iter().any(|(n, _)| *n == d.name)
                    })
                    .collect();
                near.sort_by_key(|d| created_ms(d).map(|t| (t - week).abs()));
                for info in near {
                    // Only deliveries older than the previous one compared qualify.
                    if comparisons.first().is_some_and(|c| info.name >= c.delivery) {
                        continue;
                    }
                    match try_compare(info.clone()).await {
                        Ok(c) => {
                            comparisons.push(c);
                            break;
                        }
                        Err(skip) => left_out.push(skip),
                    }
                }
            }
            let previous = comparisons.first().map(|c| c.delivery.clone());
            for (name, why) in &left_out {
                let instead = match &previous {
                    Some(p) if name > p => format!("; the previous delivery compared is {p}"),
                    _ => String::new(),
                };
                notes.push(Note::weighs(format!(
                    "earlier delivery {name} left out of the comparison: {why}{instead}"
                )));
            }
            if !comparisons.is_empty() {
                None
            } else if earlier.is_empty() {
                Some((
                    format!(
                        "no earlier delivery of this configuration in {config} (the first delivery)"
                    ),
                    true,
                ))
            } else {
                Some((
                    format!(
                        "none of the {} earlier deliveries tried could be compared (see the notes on each)",
                        left_out.len()
                    ),
                    true,
                ))
            }
        }
        None => Some((
            "LOCATION is a manifest outside a dated delivery folder, so earlier deliveries are unknown".into(),
            true,
        )),
    };
    if let Some((why, weighs)) = &no_comparison {
        notes.push(Note {
            text: format!(
                "no comparison: {why}; newly_failed, left_failed and became_stuck are unknown"
            ),
            weighs: *weighs,
        });
    }

    // History: this run's record plus what earlier runs stored.
    let record = HistoryRecord::from_summary(session, &summary);
    let (mut trend, history_notes) = history::read_trend(history_dir, &record.key).await?;
    notes.extend(history_notes.into_iter().map(Note::aside));
    trend.retain(|t| t.delivery != record.point.delivery);
    for c in &comparisons {
        if !trend.iter().any(|t| t.delivery == c.delivery) {
            trend.push(c.point.clone());
        }
    }
    trend.push(record.point.clone());
    // A report on an earlier delivery (`--at`) shows the trend up to that delivery only.
    trend.retain(|t| t.created <= record.point.created);
    trend.sort_by_key(|t| t.created);
    if trend.len() > 60 {
        trend.drain(..trend.len() - 60);
    }

    let mut metrics = BTreeMap::new();
    let f = |c: crate::analytics::summary::Counts| (c.objects as f64, c.bytes as f64);
    metrics.insert("objects".into(), totals_counts.objects as f64);
    metrics.insert("bytes".into(), totals_counts.bytes as f64);
    for (name, status) in [
        ("failed", "FAILED"),
        ("pending", "PENDING"),
        ("never_replicated", "NONE"),
    ] {
        let (o, b) = f(summary.totals.get(status));
        metrics.insert(format!("{name}_objects"), o);
        metrics.insert(format!("{name}_bytes"), b);
    }
    metrics.insert("stuck_pending".into(), p.stuck.objects as f64);
    metrics.insert("stuck_pending_bytes".into(), p.stuck.bytes as f64);
    metrics.insert("unreplicated_objects".into(), unreplicated.objects as f64);
    metrics.insert("unreplicated_bytes".into(), unreplicated.bytes as f64);
    metrics.insert(
        "unreplicated_objects_pct".into(),
        pct(unreplicated.objects, totals_counts.objects),
    );
    metrics.insert(
        "unreplicated_bytes_pct".into(),
        pct(unreplicated.bytes, totals_counts.bytes),
    );
    // Not applicable when nothing needs replicating: absent, so no condition fires on it.
    if let Some(p) = totals.replicated_pct {
        metrics.insert("replicated_pct".into(), p);
    }
    // Unknown without a comparison: absent, so they are null in report.json, left out of
    // --metrics and never fire a --fail-on (unknown is not 0).
    if let Some(c) = comparisons.first() {
        metrics.insert("newly_failed".into(), c.newly_failed.objects as f64);
        metrics.insert("left_failed".into(), c.left_failed.objects as f64);
        metrics.insert("became_stuck".into(), c.became_stuck.objects as f64);
    }
    metrics.insert(
        "delivery_timestamp_seconds".into(),
        delivery.manifest.creation_timestamp_ms as f64 / 1000.0,
    );
    let alerts = alert::evaluate(&opts.fail_on, &metrics);
    for a in alerts.iter().filter(|a| a.value.is_none()) {
        let why = match a.metric.as_str() {
            "newly_failed" | "left_failed" | "became_stuck" => no_comparison.as_ref().map_or_else(
                || "no comparison".to_string(),
                |(w, _)| format!("no comparison: {w}"),
            ),
            "replicated_pct" => {
                "no bytes need replicating (an empty delivery, or only replicas)".into()
            }
            m if REPLICA_METRICS.iter().any(|(r, _)| *r == m) => {
                "no --dest inventory to compare with".into()
            }
            _ => "not applicable to this delivery".into(),
        };
        notes.push(Note::weighs(format!(
            "--fail-on '{}' not evaluated: {} is unknown ({why}), so it does not trigger",
            a.condition, a.metric
        )));
    }

    let report = Report {
        s3inv_report_version: REPORT_VERSION,
        delivery: delivery_json(delivery),
        scope: "current",
        totals,
        pending,
        by_age,
        prefix_depth: opts.prefix_depth,
        top_prefixes: prefixes,
        storage_classes: classes,
        encryption_statuses: encryption,
        largest_failed,
        comparisons,
        trend,
        alerts,
        notes,
        metrics,
        why: None,
        replicas: None,
    };
    Ok((report, record))
}

/// One structured line per step, for logs of unattended runs.
fn step_log(step: &str, session: &Session, started: std::time::Instant) {
    use crate::progress::Progress;
    let p = &session.progress;
    tracing::info!(
        step,
        delivery = session.delivery.name.as_deref().unwrap_or(""),
        files = session.delivery.files.len(),
        bytes_read = Progress::get(&p.scanned_bytes),
        rows = Progress::get(&p.delivery_rows),
        rows_read = Progress::get(&p.rows),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "report step"
    );
}

/// The configuration folder of a delivery that sits in a dated folder.
fn config_location(location: &Location, delivery: &crate::manifest::Delivery) -> Option<Location> {
    delivery.name.as_ref()?;
    let config = delivery.manifest_path.parent()?.parent()?;
    Some(match location {
        Location::Local(_) => Location::Local(Store::local_path(&config)),
        Location::S3 { bucket, .. } => Location::S3 {
            bucket: bucket.clone(),
            key: config.to_string(),
        },
    })
}

/// Earlier deliveries left out before the report stops looking for one to compare with.
const MAX_LEFT_OUT: usize = 10;

/// Every earlier delivery of the configuration, newest first, usable or not: the caller
/// notes those it has to leave out.
async fn earlier_deliveries(
    config: &Location,
    store: &Store,
    delivery: &crate::manifest::Delivery,
) -> Result<Vec<DeliveryInfo>> {
    let current = delivery.name.clone().unwrap_or_default();
    let mut earlier: Vec<DeliveryInfo> = list_deliveries(config, store)
        .await?
        .into_iter()
        .filter(|d| d.name < current)
        .collect();
    earlier.sort_by(|a, b| b.name.cmp(&a.name));
    Ok(earlier)
}

/// Why a listed delivery cannot be compared, if it cannot.
fn unusable(d: &DeliveryInfo) -> Option<String> {
    if let Some(problem) = &d.problem {
        return Some(format!("unreadable ({problem})"));
    }
    (!d.complete).then(|| "incomplete (no manifest.checksum)".to_string())
}

/// A delivery's creation time: its manifest's, else the time its folder is named after.
fn created_ms(d: &DeliveryInfo) -> Option<i64> {
    d.creation_timestamp_ms.or_else(|| {
        chrono::NaiveDateTime::parse_from_str(&d.name, "%Y-%m-%dT%H-%MZ")
            .ok()
            .map(|t| t.and_utc().timestamp_millis())
    })
}

async fn largest_failed(session: &Session, n: usize) -> Result<Vec<FailedObject>> {
    let sql = format!(
        "SELECT key, version_id, size, last_modified_date, storage_class, encryption_status FROM inventory \
         WHERE replication_status = 'FAILED' AND {} \
         ORDER BY size DESC, key, version_id LIMIT {n}",
        crate::replication::Scope::Current.predicate(None)
    );
    let mut out = Vec::new();
    for b in session.sql(&sql).await? {
        let text = |i: usize| {
            datafusion::arrow::compute::cast(b.column(i), &DataType::Utf8)
                .map_err(|e| Error::Query(e.to_string()))
        };
        let (key, version, class, enc) = (text(0)?, text(1)?, text(4)?, text(5)?);
        let size = datafusion::arrow::compute::cast(b.column(2), &DataType::Int64)
            .map_err(|e| Error::Query(e.to_string()))?;
        let lm = b.column(3).as_primitive::<TimestampMillisecondType>();
        let opt = |a: &datafusion::arrow::array::ArrayRef, i: usize| {
            let s = a.as_string::<i32>();
            (!s.is_null(i)).then(|| s.value(i).to_string())
        };
        for i in 0..b.num_rows() {
            out.push(FailedObject {
                key: key.as_string::<i32>().value(i).to_string(),
                version_id: opt(&version, i),
                size: size.as_primitive::<Int64Type>().value(i),
                last_modified: (!lm.is_null(i)).then(|| lm.value(i)).and_then(iso),
                storage_class: opt(&class, i),
                encryption_status: opt(&enc, i),
            });
        }
    }
    Ok(out)
}

/// `(status, objects, bytes)` for the Prometheus output, all five statuses.
pub fn status_rows(report: &Report) -> Vec<(String, u64, u64)> {
    STATUSES
        .iter()
        .map(|s| {
            let c = report.totals.statuses.get(*s).copied().unwrap_or_default();
            (s.to_string(), c.objects, c.bytes)
        })
        .collect()
}
