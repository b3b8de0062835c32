//! The SQL of one destination's comparison: the source `inventory` and the attached
//! destination table joined on (key, version id) or on the key, every row given one
//! category code. What each side lacks (Size, ETag, LastModifiedDate, encryption) is left
//! out of the comparison and said, never read as a difference.

use super::Category;
use crate::analytics::summary::{Dimension, NULL_LABEL};
use crate::format::assemble::PresentColumns;
use crate::replication::Status;
use crate::table::sql_literal;

/// How versions are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// (key, version id): both sides list every version.
    KeyAndVersion,
    /// The key alone, current versions: a side lists current versions only.
    Key,
}

impl Matching {
    /// Both sides list versions (with their ids) → versions; otherwise keys.
    pub fn of(source: PresentColumns, destination: PresentColumns) -> Matching {
        let versioned = |c: PresentColumns| c.has_version_ids() && !c.is_current_only();
        if versioned(source) && versioned(destination) {
            Matching::KeyAndVersion
        } else {
            Matching::Key
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Matching::KeyAndVersion => "key and version id",
            Matching::Key => "key (current versions)",
        }
    }
}

/// A destination's replication rules, as SQL over the key (from `--config`).
#[derive(Debug, Clone)]
pub struct RuleScope {
    /// True when an enabled rule for this destination matches the key.
    pub in_scope: String,
    /// True when the deciding rule replicates delete markers.
    pub delete_markers: String,
}

/// Everything one destination's comparison depends on.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The attached destination table (`dst_0`).
    pub table: String,
    pub matching: Matching,
    pub source: PresentColumns,
    pub destination: PresentColumns,
    /// Source versions modified at or after this (destination delivery time minus the
    /// lag) are in flight.
    pub source_in_flight_ms: i64,
    /// Destination versions modified at or after this (source delivery time minus the lag)
    /// are in flight too: written after the source delivery was taken.
    pub destination_in_flight_ms: i64,
    pub rules: Option<RuleScope>,
    /// `--by` dimensions (prefix, age, columns).
    pub dimensions: Vec<Dimension>,
    /// Select what `--list` writes (timestamps, ETags, the destination's size and ETag).
    pub detail: bool,
}

/// What the comparison could check, given the columns both sides carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    pub size: bool,
    pub e_tag: bool,
    /// ETags compared only when both sides are encrypted alike with SSE-S3 or not at all.
    pub encryption: bool,
    pub in_flight: bool,
}

impl Plan {
    pub fn checks(&self) -> Checks {
        let both = |c: &str| self.source.has(c) && self.destination.has(c);
        Checks {
            size: both("size"),
            e_tag: both("e_tag"),
            encryption: both("encryption_status"),
            in_flight: self.source.has("last_modified_date"),
        }
    }

    /// The classified rows: `cat` (a [`Category`] code), the `--by` dimensions `d0…`, and
    /// the object (bucket, key, version_id, size, status, storage_class, tier,
    /// etag_skipped; with `detail` also last_modified_date, e_tag, dst_size, dst_e_tag).
    pub fn sql(&self) -> String {
        let (source, destination) = self.sides();
        format!(
            "WITH s AS ({source}), d AS ({destination}) {}",
            self.join_sql("s", "d")
        )
    }

    /// The join columns of the sides: what both sides are partitioned on.
    pub fn key_columns(&self) -> &'static [&'static str] {
        match self.matching {
            Matching::KeyAndVersion => &["key", "v"],
            Matching::Key => &["key"],
        }
    }

    /// The source's and the destination's rows as the join reads them (`s` and `d`).
    pub fn sides(&self) -> (String, String) {
        let version = "coalesce(nullif(CAST(version_id AS VARCHAR), ''), 'null')";
        let (s_where, d_where) = match self.matching {
            Matching::KeyAndVersion => ("true".to_string(), "true".to_string()),
            // Current versions; the source's current delete markers are compared too (the
            // key is gone there), and the destination's when the source can show them.
            Matching::Key => {
                let current = "coalesce(is_latest, true)";
                let d = if self.source.is_current_only() {
                    format!("{current} AND NOT coalesce(is_delete_marker, false)")
                } else {
                    current.to_string()
                };
                (current.to_string(), d)
            }
        };
        // Each side carries only what the classification and the asked-for outputs read:
        // the join holds one side in memory (hash join) or sorts both (sort-merge join).
        let dated = self.detail
            || self
                .dimensions
                .iter()
                .any(|d| matches!(d, Dimension::Age(_)));
        let side = |columns: PresentColumns, source: bool| {
            let mut cols = vec![
                "bucket".to_string(),
                "key".to_string(),
                format!("{version} AS v"),
                "CAST(version_id AS VARCHAR) AS version_id".into(),
                "size".into(),
                "CAST(e_tag AS VARCHAR) AS e_tag".into(),
                "CAST(encryption_status AS VARCHAR) AS enc".into(),
                "CAST(last_modified_date AS BIGINT) AS lm".into(),
                "coalesce(is_delete_marker, false) AS dm".into(),
            ];
            if dated {
                cols.push("last_modified_date".into());
            }
            if source {
                cols.push("CAST(storage_class AS VARCHAR) AS storage_class".into());
                cols.push("CAST(intelligent_tiering_access_tier AS VARCHAR) AS tier".into());
                cols.push(format!(
                    "{} AS status",
                    Status::label_sql("replication_status")
                ));
            }
            for d in &self.dimensions {
                if let Dimension::Column(c) = d
                    && !(source && matches!(*c, "storage_class"))
                {
                    cols.push(if columns.has(c) {
                        format!("CAST({c} AS VARCHAR) AS {c}")
                    } else {
                        format!("CAST(NULL AS VARCHAR) AS {c}")
                    });
                }
            }
            cols.join(", ")
        };
        (
            format!(
                "SELECT {} FROM inventory WHERE {s_where}",
                side(self.source, true)
            ),
            format!(
                "SELECT {} FROM {} WHERE {d_where}",
                side(self.destination, false),
                self.table
            ),
        )
    }

    /// The classification over the sides held in tables `s_table` and `d_table`.
    pub fn join_sql(&self, s_table: &str, d_table: &str) -> String {
        let checks = self.checks();
        let on = match self.matching {
            Matching::KeyAndVersion => "s.key = d.key AND s.v = d.v",
            Matching::Key => "s.key = d.key",
        };
        // The destination holds the source version: in key matching, a current delete
        // marker at the destination is no object.
        let (present, dm_present) = match self.matching {
            Matching::KeyAndVersion => ("d.key IS NOT NULL", "d.key IS NOT NULL"),
            Matching::Key => (
                "(d.key IS NOT NULL AND NOT d.dm)",
                "(d.key IS NULL OR d.dm)",
            ),
        };
        let code = |c: Category| c.code().to_string();
        let mut arms = Vec::new();
        let mut arm =
            |when: String, c: Category| arms.push(format!("WHEN {when} THEN {}", code(c)));
        if self.destination.has("last_modified_date") {
            arm(
                format!(
                    "s.key IS NULL AND d.lm >= {}",
                    self.destination_in_flight_ms
                ),
                Category::InFlight,
            );
        }
        arm("s.key IS NULL".into(), Category::OnlyAtDestination);
        if let Some(rules) = &self.rules {
            arm(
                format!("NOT ({})", rules.in_scope.replace("{key}", "s.key")),
                Category::OutOfScope,
            );
        }
        if checks.in_flight {
            arm(
                format!("s.lm >= {}", self.source_in_flight_ms),
                Category::InFlight,
            );
        }
        arm(
            format!("s.dm AND {dm_present}"),
            Category::DeleteMarkerReplicated,
        );
        if let Some(rules) = &self.rules {
            arm(
                format!(
                    "s.dm AND ({})",
                    rules.delete_markers.replace("{key}", "s.key")
                ),
                Category::DeleteMarkerMissing,
            );
        }
        arm("s.dm".into(), Category::DeleteMarkerNotReplicated);
        arm("s.status = 'REPLICA'".into(), Category::ReplicaAtSource);
        arm(
            format!("NOT ({present}) AND s.status = 'COMPLETED'"),
            Category::MissingAtDestination,
        );
        arm(format!("NOT ({present})"), Category::NotYetReplicated);
        if checks.size {
            arm(
                "(s.size IS DISTINCT FROM d.size)".into(),
                Category::Mismatch,
            );
        }
        let comparable = if checks.encryption {
            "((s.enc IS NOT DISTINCT FROM d.enc) AND coalesce(s.enc, 'NOT-SSE') IN ('NOT-SSE', 'SSE-S3'))"
        } else {
            "true"
        };
        if checks.e_tag {
            arm(
                format!("(s.e_tag IS DISTINCT FROM d.e_tag) AND {comparable}"),
                Category::Mismatch,
            );
        }
        arm("s.status = 'COMPLETED'".into(), Category::Replicated);
        let cases = arms.join(" ");
        let etag_skipped = if checks.e_tag && checks.encryption {
            format!(
                "(s.key IS NOT NULL AND {present} AND (s.e_tag IS DISTINCT FROM d.e_tag) AND NOT {comparable})"
            )
        } else {
            "false".into()
        };
        let either = |c: &str| format!("coalesce(s.{c}, d.{c})");
        let mut select = vec![
            format!(
                "CASE {cases} ELSE {} END AS cat",
                code(Category::PresentDespiteStatus)
            ),
            format!("{} AS bucket", either("bucket")),
            format!("{} AS key", either("key")),
            "CASE WHEN s.key IS NULL THEN d.version_id ELSE s.version_id END AS version_id".into(),
            "CASE WHEN s.key IS NULL THEN d.size ELSE s.size END AS size".into(),
            "s.status AS status".into(),
            "s.storage_class AS storage_class".into(),
            "s.tier AS tier".into(),
            "CASE WHEN s.key IS NULL THEN d.dm ELSE s.dm END AS dm".into(),
            format!("{etag_skipped} AS etag_skipped"),
            "d.key IS NOT NULL AS at_destination".into(),
        ];
        for (i, d) in self.dimensions.iter().enumerate() {
            let expr = match d {
                Dimension::Prefix { depth } => format!("key_prefix({}, {depth})", either("key")),
                Dimension::Age(b) => format!(
                    "coalesce(age_bucket(CASE WHEN s.key IS NULL THEN d.last_modified_date ELSE s.last_modified_date END, {}), '(unknown)')",
                    sql_literal(&b.spec())
                ),
                Dimension::Column(c) => format!(
                    "coalesce(CASE WHEN s.key IS NULL THEN d.{c} ELSE s.{c} END, '{NULL_LABEL}')"
                ),
                // Refused when the options are checked.
                Dimension::Tag(_) => format!("'{NULL_LABEL}'"),
            };
            select.push(format!("{expr} AS d{i}"));
        }
        if self.detail {
            select.extend([
                "CASE WHEN s.key IS NULL THEN d.last_modified_date ELSE s.last_modified_date END AS last_modified_date".to_string(),
                "CASE WHEN s.key IS NULL THEN d.e_tag ELSE s.e_tag END AS e_tag".into(),
                "CASE WHEN s.key IS NULL THEN NULL ELSE d.size END AS destination_size".into(),
                "CASE WHEN s.key IS NULL THEN NULL ELSE d.e_tag END AS destination_e_tag".into(),
            ]);
        }
        format!(
            "SELECT {} FROM {s_table} AS s FULL OUTER JOIN {d_table} AS d ON {on}",
            select.join(", "),
        )
    }
}
