//! `s3inv diff`: the source inventory against each destination's, per destination. Source
//! and destination versions are matched on (key, version id) — replicas keep the source's
//! version id — or on the key alone when either side has no version ids; every source
//! version and every destination version lands in exactly one category.
//!
//! The comparison is one SQL full outer join per destination over the two `inventory`
//! tables (`inventory` and the attached `dst_N`), grouped by category: DataFusion sorts and
//! spills under `--memory-limit`, so memory does not grow with the row counts.
//!
//! Work in progress (issue 13): categories and totals; delete markers against the rule,
//! `out-of-scope`, examples, listings and manifests are still to come.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;

use crate::error::Result;
use crate::replication::{Counts, Scope, Status};
use crate::table::Session;

/// Category ids, stable (the README lists them).
pub const CATEGORIES: [&str; 9] = [
    "replicated",
    "missing-at-destination",
    "mismatch",
    "not-yet-replicated",
    "present-despite-status",
    "in-flight",
    "only-at-destination",
    "delete-marker-replicated",
    "delete-marker-not-replicated",
];

/// How versions are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// (key, version id): both sides list versions.
    KeyAndVersion,
    /// The key alone: a side lists current versions only.
    Key,
}

/// One destination's comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub table: String,
    pub matching: Matching,
    pub categories: BTreeMap<String, Counts>,
}

/// The SQL of one destination's comparison: `table` is the attached destination
/// inventory, `in_flight_after_ms` the source modification time from which neither
/// presence nor absence means anything yet (destination delivery time minus the lag).
pub fn comparison_sql(
    table: &str,
    matching: Matching,
    scope: Scope,
    in_flight_after_ms: i64,
) -> String {
    let version = "coalesce(nullif(CAST(version_id AS VARCHAR), ''), 'null')";
    let on = match matching {
        Matching::KeyAndVersion => "s.key = d.key AND s.v = d.v",
        Matching::Key => "s.key = d.key",
    };
    // A current-only side: both compared as current versions.
    let (s_scope, d_scope) = match matching {
        Matching::KeyAndVersion => (scope.predicate(None), scope.predicate(None)),
        Matching::Key => (
            Scope::Current.predicate(None),
            Scope::Current.predicate(None),
        ),
    };
    format!(
        "WITH s AS (SELECT key, {version} AS v, size, CAST(e_tag AS VARCHAR) AS e_tag, \
           {status} AS status, CAST(last_modified_date AS BIGINT) AS lm, \
           coalesce(is_delete_marker, false) AS dm FROM inventory WHERE {s_scope}), \
         d AS (SELECT key, {version} AS v, size, CAST(e_tag AS VARCHAR) AS e_tag, \
           coalesce(is_delete_marker, false) AS dm FROM {table} WHERE {d_scope}) \
         SELECT category, count(*) AS objects, sum(coalesce(size, 0)) AS bytes FROM ( \
           SELECT CASE \
             WHEN s.key IS NULL THEN 'only-at-destination' \
             WHEN s.dm AND d.key IS NOT NULL THEN 'delete-marker-replicated' \
             WHEN s.dm THEN 'delete-marker-not-replicated' \
             WHEN s.lm >= {in_flight_after_ms} THEN 'in-flight' \
             WHEN d.key IS NULL AND s.status = 'COMPLETED' THEN 'missing-at-destination' \
             WHEN d.key IS NULL THEN 'not-yet-replicated' \
             WHEN (s.size IS DISTINCT FROM d.size) OR (s.e_tag IS DISTINCT FROM d.e_tag) THEN 'mismatch' \
             WHEN s.status = 'COMPLETED' THEN 'replicated' \
             ELSE 'present-despite-status' END AS category, \
             CASE WHEN s.key IS NULL THEN d.size ELSE s.size END AS size \
           FROM s FULL OUTER JOIN d ON {on}) \
         GROUP BY category",
        status = Status::label_sql("replication_status"),
    )
}

/// Compares the session's source inventory with the attached destination `table`.
pub async fn compare(
    session: &Session,
    table: &str,
    matching: Matching,
    scope: Scope,
    in_flight_after_ms: i64,
) -> Result<Comparison> {
    let sql = comparison_sql(table, matching, scope, in_flight_after_ms);
    let mut categories = BTreeMap::new();
    for batch in session.sql(&sql).await? {
        let names = batch.column(0).as_string_view_opt().cloned();
        let objects = batch.column(1).as_primitive::<Int64Type>();
        let bytes = batch.column(2).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            let name = match &names {
                Some(n) => n.value(i).to_string(),
                None => batch.column(0).as_string::<i32>().value(i).to_string(),
            };
            categories.insert(
                name,
                Counts {
                    objects: objects.value(i).max(0) as u64,
                    bytes: if bytes.is_null(i) {
                        0
                    } else {
                        bytes.value(i).max(0) as u64
                    },
                },
            );
        }
    }
    Ok(Comparison {
        table: table.to_string(),
        matching,
        categories,
    })
}
