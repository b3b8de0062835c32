//! Comparing the newest delivery with an earlier one: totals per status, and — joining the
//! FAILED and PENDING objects of both on (bucket, key, version_id) — objects newly FAILED,
//! objects that left FAILED, and PENDING objects that aged past the stuck threshold.
//!
//! Only FAILED and PENDING rows enter the join, so its memory follows those, not the
//! inventory. Deliveries of different formats or schemas compare the same way: both are the
//! canonical table.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use serde::Serialize;

use super::history::TrendPoint;
use super::{Counts, ReportOptions};
use crate::analytics::summary::{STATUSES, StatusCounts};
use crate::error::{Error, Result};
use crate::format::assemble::PresentColumns;
use crate::manifest::Delivery;
use crate::replication::{Scope, Status};
use crate::table::Session;

/// The newest delivery against one earlier delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub delivery: String,
    pub created: Option<String>,
    pub format: String,
    /// Days between the two deliveries.
    pub days_earlier: f64,
    /// The earlier delivery's objects and bytes per status.
    pub earlier: BTreeMap<String, Counts>,
    /// Newest minus earlier, per status (signed).
    pub change: BTreeMap<String, SignedCounts>,
    pub newly_failed: Counts,
    pub left_failed: Counts,
    pub became_stuck: Counts,
    #[serde(skip)]
    pub point: TrendPoint,
}

/// A signed change of objects and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SignedCounts {
    pub objects: i64,
    pub bytes: i64,
}

fn ints(batch: &datafusion::arrow::array::RecordBatch) -> Result<Vec<i64>> {
    (0..batch.num_columns())
        .map(|i| {
            let a = datafusion::arrow::compute::cast(batch.column(i), &DataType::Int64)
                .map_err(|e| Error::Query(e.to_string()))?;
            let a = a.as_primitive::<Int64Type>();
            Ok(if a.is_empty() || a.is_null(0) {
                0
            } else {
                a.value(0)
            })
        })
        .collect()
}

impl Comparison {
    /// The time between the two deliveries for people: `12 hours`, `1 day`, `7 days`.
    pub fn interval(&self) -> String {
        crate::output::interval((self.days_earlier * 86_400_000.0).round() as i64)
    }
}

/// Compares the session's `inventory` with the attached table `earlier`.
pub(super) async fn compare(
    session: &Session,
    earlier: &str,
    delivery: &Delivery,
    earlier_columns: PresentColumns,
    newest: &StatusCounts,
    opts: &ReportOptions,
) -> Result<Comparison> {
    let status = Status::label_sql("replication_status");
    let scope = Scope::Current.predicate(None);
    let mut before = StatusCounts::default();
    let totals_sql = format!(
        "SELECT {status} AS s, count(*), coalesce(sum(size), 0) FROM {earlier} WHERE {scope} GROUP BY 1"
    );
    for b in session.sql(&totals_sql).await? {
        let s = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8)
            .map_err(|e| Error::Query(e.to_string()))?;
        let n = datafusion::arrow::compute::cast(b.column(1), &DataType::Int64)
            .map_err(|e| Error::Query(e.to_string()))?;
        let by = datafusion::arrow::compute::cast(b.column(2), &DataType::Int64)
            .map_err(|e| Error::Query(e.to_string()))?;
        for i in 0..b.num_rows() {
            before.add_counts(
                s.as_string::<i32>().value(i),
                n.as_primitive::<Int64Type>().value(i) as u64,
                by.as_primitive::<Int64Type>().value(i) as u64,
            );
        }
    }
    let newest_ms = session.delivery.manifest.creation_timestamp_ms;
    let earlier_ms = delivery.manifest.creation_timestamp_ms;
    let stuck_now = newest_ms - opts.pending_older_than_ms;
    let stuck_then = earlier_ms - opts.pending_older_than_ms;
    // Versions join only when both reports carry them.
    let versions = if session.columns.has_version_ids() && earlier_columns.has_version_ids() {
        " AND c.version_id IS NOT DISTINCT FROM p.version_id"
    } else {
        ""
    };
    let side = |table: &str| {
        format!(
            "SELECT bucket, key, version_id, {status} AS s, coalesce(size, 0) AS size, CAST(last_modified_date AS BIGINT) AS lm \
             FROM {table} WHERE {scope} AND ({status}) IN ('FAILED', 'PENDING')"
        )
    };
    let newly = "c.s = 'FAILED' AND (p.s IS NULL OR p.s <> 'FAILED')";
    let left = "p.s = 'FAILED' AND (c.s IS NULL OR c.s <> 'FAILED')";
    let stuck = format!(
        "c.s = 'PENDING' AND c.lm < {stuck_now} AND (p.s IS NULL OR p.s <> 'PENDING' OR p.lm >= {stuck_then})"
    );
    let sql = format!(
        "WITH c AS ({}), p AS ({}) SELECT \
           sum(CASE WHEN {newly} THEN 1 ELSE 0 END), coalesce(sum(CASE WHEN {newly} THEN c.size END), 0), \
           sum(CASE WHEN {left} THEN 1 ELSE 0 END), coalesce(sum(CASE WHEN {left} THEN p.size END), 0), \
           sum(CASE WHEN {stuck} THEN 1 ELSE 0 END), coalesce(sum(CASE WHEN {stuck} THEN c.size END), 0) \
         FROM c FULL OUTER JOIN p ON c.bucket = p.bucket AND c.key = p.key{versions}",
        side("inventory"),
        side(earlier)
    );
    let batches = session.sql(&sql).await?;
    let v = batches
        .first()
        .map(ints)
        .transpose()?
        .unwrap_or_else(|| vec![0; 6]);
    let counts = |o: i64, b: i64| Counts {
        objects: o.max(0) as u64,
        bytes: b.max(0) as u64,
    };
    let mut change = BTreeMap::new();
    for s in STATUSES {
        let (a, b) = (newest.get(s), before.get(s));
        change.insert(
            s.to_string(),
            SignedCounts {
                objects: a.objects as i64 - b.objects as i64,
                bytes: a.bytes as i64 - b.bytes as i64,
            },
        );
    }
    let name = delivery
        .name
        .clone()
        .unwrap_or_else(|| delivery.manifest_display.clone());
    Ok(Comparison {
        point: TrendPoint::from_counts(&name, earlier_ms, &before, None),
        delivery: name,
        created: super::iso(earlier_ms),
        format: delivery.manifest.file_format.to_string(),
        days_earlier: ((newest_ms - earlier_ms) as f64 / 86_400_000.0 * 100.0).round() / 100.0,
        earlier: before
            .all()
            .into_iter()
            .map(|(k, c)| (k, c.into()))
            .collect(),
        change,
        newly_failed: counts(v[0], v[1]),
        left_failed: counts(v[2], v[3]),
        became_stuck: counts(v[4], v[5]),
    })
}
