//! Which objects a Batch Replication manifest lists: statuses, stuck PENDING, prefixes,
//! sizes, storage classes, a free SQL predicate, versions. The selection is one SQL query
//! over `inventory`; its order does not matter, `spool` puts the lines in canonical order.

use crate::error::{Error, Result};
use crate::replication::{LABELS, REFUSED_CLASSES, Scope, Status, refusal_sql};
use crate::table::functions::ROOT_PREFIX;
use crate::table::sql_condition;
use crate::table::sql_literal;

/// Storage classes Batch Replication refuses; excluded (and reported) by default.
pub const DEFAULT_EXCLUDED_CLASSES: [&str; 2] = REFUSED_CLASSES;

/// What to select.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub statuses: Vec<String>,
    /// Keep only PENDING objects older than this at delivery time (stuck ones).
    pub pending_older_than_ms: Option<i64>,
    pub prefixes: Vec<String>,
    pub min_size: Option<u64>,
    pub max_size: Option<u64>,
    /// Only these storage classes (empty: all).
    pub storage_classes: Vec<String>,
    /// Counted and reported as skipped, never written (Intelligent-Tiering objects in an
    /// archive access tier are always skipped: Batch Replication refuses them).
    pub exclude_storage_classes: Vec<String>,
    /// A SQL predicate over the `inventory` columns.
    pub where_sql: Option<String>,
    pub all_versions: bool,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            statuses: Status::REDRIVE_DEFAULT
                .iter()
                .map(|s| s.label().to_string())
                .collect(),
            pending_older_than_ms: None,
            prefixes: Vec::new(),
            min_size: None,
            max_size: None,
            storage_classes: Vec::new(),
            exclude_storage_classes: DEFAULT_EXCLUDED_CLASSES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            where_sql: None,
            all_versions: false,
        }
    }
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| sql_literal(s))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Selection {
    /// Checks the parts that need no I/O.
    pub fn validate(&self) -> Result<()> {
        if self.statuses.is_empty() {
            return Err(Error::Usage("--status needs at least one status".into()));
        }
        for s in &self.statuses {
            if Status::parse(s).is_none() {
                return Err(Error::Usage(format!(
                    "unknown --status {s:?}; use {}",
                    LABELS.join(", ")
                )));
            }
        }
        if self.pending_older_than_ms.is_some() && !self.statuses.iter().any(|s| s == "PENDING") {
            return Err(Error::Usage(
                "--pending-older-than filters PENDING objects, but --status does not select PENDING".into(),
            ));
        }
        if let (Some(lo), Some(hi)) = (self.min_size, self.max_size)
            && lo > hi
        {
            return Err(Error::Usage(format!(
                "--min-size {lo} is larger than --max-size {hi}: nothing could match"
            )));
        }
        if let Some(c) = self
            .storage_classes
            .iter()
            .find(|c| self.exclude_storage_classes.contains(c))
        {
            return Err(Error::Usage(format!(
                "--storage-class {c} is also excluded by --exclude-storage-class (GLACIER and DEEP_ARCHIVE are excluded by default; pass --exclude-storage-class '' to exclude nothing)"
            )));
        }
        if let Some(w) = &self.where_sql {
            sql_condition(w)?;
        }
        Ok(())
    }

    /// The statuses, parsed (unknown names are left out; `validate` reports them).
    pub fn status_list(&self) -> Vec<Status> {
        self.statuses
            .iter()
            .filter_map(|s| Status::parse(s))
            .collect()
    }

    pub fn scope(&self) -> Scope {
        Scope::new(self.all_versions)
    }

    /// The selection query: every candidate row with its status, size and, when it must not
    /// be written, the reason (`skip`).
    pub fn sql(&self, delivery_ms: i64) -> Result<String> {
        let status = Status::label_sql("replication_status");
        // The filters use the raw column (no CASE per row; Parquet statistics can prune);
        // the CASE labels only the rows that pass.
        let mut filters = vec![Status::filter_sql(
            "replication_status",
            &self.status_list(),
        )];
        if self.scope() == Scope::Current {
            filters.push(self.scope().predicate(None));
        }
        if let Some(ms) = self.pending_older_than_ms {
            filters.push(format!(
                "(coalesce(replication_status, '') <> 'PENDING' OR last_modified_date < to_timestamp_millis({}))",
                delivery_ms - ms
            ));
        }
        if !self.prefixes.is_empty() {
            let any: Vec<String> = self.prefixes.iter().map(|p| prefix_sql(p)).collect();
            filters.push(format!("({})", any.join(" OR ")));
        }
        if let Some(n) = self.min_size {
            filters.push(format!("size >= {n}"));
        }
        if let Some(n) = self.max_size {
            filters.push(format!("size <= {n}"));
        }
        if !self.storage_classes.is_empty() {
            filters.push(format!(
                "storage_class IN ({})",
                list(&self.storage_classes)
            ));
        }
        if let Some(w) = &self.where_sql {
            filters.push(sql_condition(w)?);
        }
        // In an all-versions scope delete markers are rows of the selection, skipped and
        // counted; a current scope has none.
        let refused = refusal_sql(None, &self.exclude_storage_classes);
        Ok(format!(
            "SELECT bucket, key, version_id, coalesce(size, 0) AS size, {status} AS status, \
             CASE WHEN coalesce(is_delete_marker, false) THEN 'delete marker' ELSE {refused} END AS skip \
             FROM inventory WHERE {}",
            filters.join(" AND ")
        ))
    }
}

/// The filter for one `--prefix`: keys starting with it; the `--by prefix` label of keys
/// without any `/`, [`ROOT_PREFIX`], selects exactly those keys.
fn prefix_sql(prefix: &str) -> String {
    if prefix == ROOT_PREFIX {
        "strpos(key, '/') = 0".into()
    } else {
        format!("starts_with(key, {})", sql_literal(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(Selection::default().validate().is_ok());
        let bad = Selection {
            statuses: vec!["DONE".into()],
            ..Default::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("unknown --status \"DONE\"")
        );
        let bad = Selection {
            statuses: vec!["FAILED".into()],
            pending_older_than_ms: Some(1),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        let bad = Selection {
            storage_classes: vec!["GLACIER".into()],
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        let bad = Selection {
            min_size: Some(10),
            max_size: Some(5),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn sql_quotes_values() {
        let s = Selection {
            prefixes: vec!["it's/".into()],
            ..Default::default()
        };
        assert!(s.sql(0).unwrap().contains("starts_with(key, 'it''s/')"));
    }

    #[test]
    fn where_is_one_condition() {
        let with = |w: &str| Selection {
            where_sql: Some(w.into()),
            ..Default::default()
        };
        // Closing the parenthesis early, a second statement, an alias, nothing: refused
        // before any SQL is built.
        for bad in [
            "size > 0) OR (true",
            "true; DROP TABLE x",
            "",
            "size > 0 AS x",
        ] {
            let e = match with(bad).validate() {
                Ok(()) => panic!("--where {bad:?} accepted"),
                Err(e) => e.to_string(),
            };
            assert!(e.starts_with(&format!("invalid --where {bad:?}")), "{e}");
        }
        let sql = with("size > 0 AND key LIKE 'a%' -- big ones")
            .sql(0)
            .unwrap();
        assert!(sql.ends_with("AND (size > 0 AND key LIKE 'a%')"), "{sql}");
        // A comment cannot swallow what follows: the condition is rendered from its tree.
        let sql = with("true --").sql(0).unwrap();
        assert!(sql.ends_with("AND (true)"), "{sql}");
        assert!(sql.contains("coalesce(is_latest, true) AND"), "{sql}");
    }
}
