//! The destination side of `s3inv diff`: from the rows of a source delivery, the rows a
//! destination bucket's inventory would list — replicas with status REPLICA and the
//! source's version ids — with deliberate faults (versions dropped, sizes and ETags
//! altered, extra objects, delete markers not replicated), and the category each source
//! and destination version is expected in. The decision follows the object (a stable hash
//! of key and version), so any number of rows streams in bounded memory and every format
//! gets the same faults.
//!
//! The expectation is written from the category definitions (README, "diff"), not from
//! the engine's SQL: the two are independent statements of the same rules. It assumes
//! both inventories list every version (matching on key and version id) and no
//! replication configuration.

use std::collections::BTreeMap;

use super::Row;

/// Where the replicas go and when their inventory is taken.
#[derive(Debug, Clone)]
pub struct ReplicaOptions {
    /// The destination bucket (its inventory's sourceBucket).
    pub bucket: String,
    /// Source delivery time (epoch ms).
    pub source_ms: i64,
    /// Destination delivery time (epoch ms).
    pub destination_ms: i64,
    /// `diff --lag`, in ms.
    pub lag_ms: i64,
    /// Put faults in (otherwise every COMPLETED version is replicated exactly).
    pub faults: bool,
}

/// Object and byte counts per category id.
pub type Expected = BTreeMap<&'static str, (u64, u64)>;

const SALT: u64 = 0xD1FF_5EED;

/// What happens to one source version: its category and the destination's rows for it
/// (its replica, and an extra object only the destination has).
pub fn replicate(row: &Row, opts: &ReplicaOptions) -> (&'static str, Vec<(&'static str, Row)>) {
    let h = if opts.faults {
        row.stable_hash(SALT) % 1000
    } else {
        999
    };
    let mut extra = Vec::new();
    if opts.faults && h >= 990 && !row.is_delete_marker {
        let mut e = replica(row, opts);
        e.key.push_str(".dr-only");
        e.version_id = Some(format!("dr{:030}", row.stable_hash(SALT ^ 1)));
        e.is_latest = true;
        let category = if e.last_modified_ms >= opts.source_ms - opts.lag_ms {
            "in-flight"
        } else {
            "only-at-destination"
        };
        extra.push((category, e));
    }
    let status = row.replication_status.as_deref().unwrap_or("");
    let status = if status == "COMPLETE" {
        "COMPLETED"
    } else {
        status
    };
    let (category, copy): (&'static str, Option<Row>) =
        if row.last_modified_ms >= opts.destination_ms - opts.lag_ms {
            ("in-flight", (h % 2 == 0).then(|| replica(row, opts)))
        } else if row.is_delete_marker {
            if h < 700 || !opts.faults {
                ("delete-marker-replicated", Some(replica(row, opts)))
            } else {
                ("delete-marker-not-replicated", None)
            }
        } else if status == "REPLICA" {
            ("replica-at-source", None)
        } else if status == "COMPLETED" {
            if h < 20 {
                ("missing-at-destination", None)
            } else if h < 35 {
                let mut r = replica(row, opts);
                r.size = Some(r.size.unwrap_or(0) + 1);
                ("mismatch", Some(r))
            } else if h < 50 {
                let mut r = replica(row, opts);
                r.e_tag = Some("0badc0de0badc0de0badc0de0badc0de".into());
                // ETags say something only for unencrypted or SSE-S3 objects.
                let comparable = matches!(
                    row.encryption_status.as_deref(),
                    None | Some("NOT-SSE") | Some("SSE-S3")
                );
                (if comparable { "mismatch" } else { "replicated" }, Some(r))
            } else {
                ("replicated", Some(replica(row, opts)))
            }
        } else if h < 100 {
            ("present-despite-status", Some(replica(row, opts)))
        } else {
            ("not-yet-replicated", None)
        };
    let mut rows: Vec<(&'static str, Row)> = copy.into_iter().map(|r| (category, r)).collect();
    rows.extend(extra);
    (category, rows)
}

/// The replica of `row` as the destination's inventory lists it.
fn replica(row: &Row, opts: &ReplicaOptions) -> Row {
    let mut r = row.clone();
    r.bucket = opts.bucket.clone();
    if !r.is_delete_marker {
        r.replication_status = Some("REPLICA".into());
    } else {
        r.replication_status = None;
    }
    r
}

/// The destination's rows for `source`, in order.
pub fn replica_rows(
    source: impl Iterator<Item = Row>,
    opts: ReplicaOptions,
) -> impl Iterator<Item = Row> {
    source.flat_map(move |row| {
        replicate(&row, &opts)
            .1
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>()
    })
}

/// The expected categories of comparing `source` with its [`replica_rows`].
pub fn expected(source: impl Iterator<Item = Row>, opts: &ReplicaOptions) -> Expected {
    let mut out = Expected::new();
    let mut add = |category: &'static str, size: Option<i64>| {
        let e = out.entry(category).or_default();
        e.0 += 1;
        e.1 += size.unwrap_or(0).max(0) as u64;
    };
    for row in source {
        let (category, rows) = replicate(&row, opts);
        add(category, row.size);
        // The extra object counts as the destination's own version.
        for (c, r) in rows.iter().filter(|(_, r)| r.key != row.key) {
            add(c, r.size);
        }
    }
    out
}
