//! What one destination's comparison reads and how: the SQL of each side (the source
//! `inventory` and the attached destination table, current versions only when matched on
//! the key), how versions are matched, and what can be checked given the columns both
//! sides carry. What each side lacks (Size, ETag, LastModifiedDate, encryption) is left
//! out of the comparison and said, never read as a difference. [`super::join`] classifies.

use crate::analytics::summary::{Dimension, NULL_LABEL};
use crate::format::assemble::PresentColumns;
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

    /// The source's and the destination's rows as the comparison reads them: what
    /// [`super::join`] classifies, column by column ([`super::join::SideBatch`]). Each side
    /// computes its own `--by` values (`d0`, …) and, for the source, the rule scope, so that
    /// nothing after the join needs SQL. Columns only listed rows show (the bucket, the
    /// storage class, …) are read only when rows are `listing`: a NULL costs no decoding.
    pub fn sides(&self, listing: bool) -> (String, String) {
        let checks = self.checks();
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
        // the destination is held in memory, and both sides may be written to disk.
        let string = |column: &str, name: &str, read: bool| {
            if read {
                format!("CAST({column} AS VARCHAR) AS {name}")
            } else {
                format!("CAST(NULL AS VARCHAR) AS {name}")
            }
        };
        let side = |columns: PresentColumns, source: bool| {
            let mut cols = vec![
                string("bucket", "bucket", listing),
                string("key", "key", true),
                string("version_id", "version_id", true),
                "size".into(),
                string("e_tag", "e_tag", listing || checks.e_tag),
                string("encryption_status", "enc", checks.encryption),
                "CAST(last_modified_date AS BIGINT) AS lm".into(),
                "coalesce(is_delete_marker, false) AS dm".into(),
            ];
            if source {
                cols.push(string("replication_status", "status", true));
                cols.push(string("storage_class", "storage_class", listing));
                cols.push(string("intelligent_tiering_access_tier", "tier", listing));
                if let Some(rules) = &self.rules {
                    cols.push(format!(
                        "({}) AS in_scope",
                        rules.in_scope.replace("{key}", "key")
                    ));
                    cols.push(format!(
                        "({}) AS dm_rule",
                        rules.delete_markers.replace("{key}", "key")
                    ));
                }
            }
            for (i, d) in self.dimensions.iter().enumerate() {
                let expr = match d {
                    Dimension::Prefix { depth } => format!("key_prefix(key, {depth})"),
                    Dimension::Age(b) => format!(
                        "coalesce(age_bucket(last_modified_date, {}), '(unknown)')",
                        sql_literal(&b.spec())
                    ),
                    Dimension::Column(c) if columns.has(c) => {
                        format!("coalesce(CAST({c} AS VARCHAR), '{NULL_LABEL}')")
                    }
                    Dimension::Column(_) => format!("'{NULL_LABEL}'"),
                    // Refused when the options are checked.
                    Dimension::Tag(_) => format!("'{NULL_LABEL}'"),
                };
                cols.push(format!("CAST({expr} AS VARCHAR) AS d{i}"));
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
}
