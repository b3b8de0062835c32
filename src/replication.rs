//! What "replicated" means, in one place: the replication [`Status`] of a row (AWS's
//! strings normalised: legacy `COMPLETE` is `COMPLETED`, empty or NULL is `NONE`), the
//! [`Scope`] of rows a question counts (current versions that are not delete markers, or
//! every row), the objects Batch Replication refuses, and the [`Counts`] every command adds
//! up. `summary`, `manifest`, `report` and the canned queries all take these from here, so
//! they cannot disagree.
//!
//! A leaf: it knows SQL text and column names, nothing of sessions or output.

use std::collections::BTreeMap;

/// A row's replication status as reports name it. The order of the variants is the report
/// order; unfamiliar statuses come last, alphabetically.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Completed,
    Pending,
    Failed,
    Replica,
    /// Empty `ReplicationStatus`: never replicated (Batch Operations calls it `NONE`).
    None,
    /// A value AWS may add one day, passed through as written.
    Other(String),
}

/// The labels of the five known statuses, in report order.
pub const LABELS: [&str; 5] = ["COMPLETED", "PENDING", "FAILED", "REPLICA", "NONE"];

impl Status {
    /// The five known statuses, in report order.
    pub const KNOWN: [Status; 5] = [
        Status::Completed,
        Status::Pending,
        Status::Failed,
        Status::Replica,
        Status::None,
    ];

    /// The status of a raw `replication_status` value.
    pub fn from_raw(raw: Option<&str>) -> Status {
        match raw {
            None | Some("") | Some("NONE") => Status::None,
            Some("COMPLETED") | Some("COMPLETE") => Status::Completed,
            Some("PENDING") => Status::Pending,
            Some("FAILED") => Status::Failed,
            Some("REPLICA") => Status::Replica,
            Some(other) => Status::Other(other.to_string()),
        }
    }

    /// What `manifest` re-drives unless told otherwise.
    pub const REDRIVE_DEFAULT: [Status; 2] = [Status::Failed, Status::Pending];

    /// One of the five known labels (`--status` values); `None` for anything else.
    pub fn parse(label: &str) -> Option<Status> {
        match Status::from_raw(Some(label)) {
            Status::Other(_) => None,
            known => (known.label() == label).then_some(known),
        }
    }

    /// The name reports use.
    pub fn label(&self) -> &str {
        match self {
            Status::Completed => "COMPLETED",
            Status::Pending => "PENDING",
            Status::Failed => "FAILED",
            Status::Replica => "REPLICA",
            Status::None => "NONE",
            Status::Other(s) => s,
        }
    }

    /// PENDING, FAILED and NONE: the statuses "not replicated" adds up.
    pub fn is_unreplicated(&self) -> bool {
        matches!(self, Status::Pending | Status::Failed | Status::None)
    }

    /// SQL for the label of a row's status, over the raw `column`.
    pub fn label_sql(column: &str) -> String {
        format!(
            "CASE WHEN {column} IS NULL OR {column} = '' THEN 'NONE' \
             WHEN {column} = 'COMPLETE' THEN 'COMPLETED' ELSE {column} END"
        )
    }

    /// SQL that keeps the rows whose status is one of `statuses`, written on the raw column
    /// so that it needs no per-row CASE and Parquet statistics can prune with it.
    pub fn filter_sql(column: &str, statuses: &[Status]) -> String {
        let mut raw: Vec<&str> = Vec::new();
        let mut none = false;
        for s in statuses {
            match s {
                Status::None => none = true,
                Status::Completed => raw.extend(["COMPLETED", "COMPLETE"]),
                other => raw.push(other.label()),
            }
        }
        let mut any = Vec::new();
        if !raw.is_empty() {
            let list: Vec<String> = raw.iter().map(|s| literal(s)).collect();
            any.push(format!("{column} IN ({})", list.join(", ")));
        }
        if none {
            any.push(format!("{column} IS NULL OR {column} = ''"));
        }
        match any.len() {
            0 => "false".into(),
            _ => format!("({})", any.join(" OR ")),
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Which rows a question counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// Current versions that are not delete markers (a current-only inventory lists only
    /// these).
    #[default]
    Current,
    /// Every row: noncurrent versions and delete markers too.
    AllVersions,
}

impl Scope {
    pub fn new(all_versions: bool) -> Scope {
        if all_versions {
            Scope::AllVersions
        } else {
            Scope::Current
        }
    }

    /// `current` or `all_versions` (the JSON and `-- scope:` spelling).
    pub fn name(self) -> &'static str {
        match self {
            Scope::Current => "current",
            Scope::AllVersions => "all_versions",
        }
    }

    pub fn parse(name: &str) -> Option<Scope> {
        match name.trim() {
            "current" => Some(Scope::Current),
            "all_versions" => Some(Scope::AllVersions),
            _ => None,
        }
    }

    /// The SQL predicate for rows of `alias` (or unqualified columns) in this scope. The
    /// only place that spells "current version and not a delete marker".
    pub fn predicate(self, alias: Option<&str>) -> String {
        let col = |c: &str| match alias {
            Some(a) => format!("{a}.{c}"),
            None => c.to_string(),
        };
        match self {
            Scope::Current => format!(
                "(coalesce({}, true) AND NOT coalesce({}, false))",
                col("is_latest"),
                col("is_delete_marker")
            ),
            Scope::AllVersions => "true".into(),
        }
    }
}

/// Storage classes Batch Replication refuses (skipped and counted by default).
pub const REFUSED_CLASSES: [&str; 2] = ["GLACIER", "DEEP_ARCHIVE"];

/// Intelligent-Tiering access tiers Batch Replication refuses until the object is restored:
/// the inventory values (`ARCHIVE`, `DEEP_ARCHIVE`) and the API's names for the same tiers.
pub const REFUSED_TIERS: [&str; 4] = [
    "ARCHIVE",
    "DEEP_ARCHIVE",
    "ARCHIVE_ACCESS",
    "DEEP_ARCHIVE_ACCESS",
];

/// SQL giving why Batch Replication would refuse a row — `storage class GLACIER`,
/// `access tier ARCHIVE` — or NULL. `classes` are the storage classes to refuse
/// (`manifest --exclude-storage-class`, by default [`REFUSED_CLASSES`]); Intelligent-Tiering
/// objects in an archive tier are always refused.
pub fn refusal_sql(alias: Option<&str>, classes: &[String]) -> String {
    let col = |c: &str| match alias {
        Some(a) => format!("{a}.{c}"),
        None => c.to_string(),
    };
    let mut whens = String::new();
    if !classes.is_empty() {
        let list: Vec<String> = classes.iter().map(|s| literal(s)).collect();
        whens.push_str(&format!(
            " WHEN {sc} IN ({}) THEN 'storage class ' || {sc}",
            list.join(", "),
            sc = col("storage_class")
        ));
    }
    let tiers: Vec<String> = REFUSED_TIERS.iter().map(|s| literal(s)).collect();
    whens.push_str(&format!(
        " WHEN {sc} = 'INTELLIGENT_TIERING' AND {t} IN ({}) THEN 'access tier ' || {t}",
        tiers.join(", "),
        sc = col("storage_class"),
        t = col("intelligent_tiering_access_tier")
    ));
    format!("CASE{whens} END")
}

/// [`refusal_sql`] with the default classes.
pub fn default_refusal_sql(alias: Option<&str>) -> String {
    let classes: Vec<String> = REFUSED_CLASSES.iter().map(|s| s.to_string()).collect();
    refusal_sql(alias, &classes)
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Objects and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub objects: u64,
    pub bytes: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.objects += other.objects;
        self.bytes += other.bytes;
    }
}

/// Counts per status, and the delete markers apart: a delete marker is not an object that
/// failed to replicate, so it is in the total but never in "not replicated".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusCounts {
    statuses: BTreeMap<Status, Counts>,
    delete_markers: Counts,
}

impl StatusCounts {
    /// Adds to one status.
    pub fn add(&mut self, status: Status, c: Counts) {
        self.statuses.entry(status).or_default().add(c);
    }

    /// Adds objects and bytes to the status labelled (or raw-valued) `status`.
    pub fn add_counts(&mut self, status: &str, objects: u64, bytes: u64) {
        self.add(Status::from_raw(Some(status)), Counts { objects, bytes });
    }

    /// Adds delete markers.
    pub fn add_delete_markers(&mut self, c: Counts) {
        self.delete_markers.add(c);
    }

    /// Adds another set of counts.
    pub fn merge(&mut self, other: &StatusCounts) {
        for (s, c) in &other.statuses {
            self.add(s.clone(), *c);
        }
        self.delete_markers.add(other.delete_markers);
    }

    /// Counts of the status labelled `status` (zero when absent).
    pub fn get(&self, status: &str) -> Counts {
        self.statuses
            .get(&Status::from_raw(Some(status)))
            .copied()
            .unwrap_or_default()
    }

    /// Delete markers (only an all-versions scope has any).
    pub fn delete_markers(&self) -> Counts {
        self.delete_markers
    }

    /// The statuses present, in report order (delete markers not included).
    pub fn iter(&self) -> impl Iterator<Item = (&str, Counts)> {
        self.statuses.iter().map(|(s, c)| (s.label(), *c))
    }

    /// The five known statuses (zeros included) then any unfamiliar ones.
    pub fn all(&self) -> Vec<(String, Counts)> {
        let mut out: Vec<(String, Counts)> = LABELS
            .iter()
            .map(|s| (s.to_string(), self.get(s)))
            .collect();
        out.extend(
            self.statuses
                .iter()
                .filter(|(s, _)| matches!(s, Status::Other(_)))
                .map(|(s, c)| (s.label().to_string(), *c)),
        );
        out
    }

    /// The unfamiliar statuses added up.
    pub fn other(&self) -> Counts {
        let mut t = Counts::default();
        for (s, c) in &self.statuses {
            if matches!(s, Status::Other(_)) {
                t.add(*c);
            }
        }
        t
    }

    /// Every row counted: all statuses and the delete markers.
    pub fn total(&self) -> Counts {
        let mut t = self.delete_markers;
        for c in self.statuses.values() {
            t.add(*c);
        }
        t
    }

    /// PENDING + FAILED + NONE (never delete markers).
    pub fn unreplicated(&self) -> Counts {
        let mut t = Counts::default();
        for (s, c) in &self.statuses {
            if s.is_unreplicated() {
                t.add(*c);
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch, StringViewArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::prelude::SessionContext;
    use std::sync::Arc;

    const RAW: [Option<&str>; 8] = [
        None,
        Some(""),
        Some("COMPLETE"),
        Some("COMPLETED"),
        Some("PENDING"),
        Some("FAILED"),
        Some("REPLICA"),
        Some("SOMETHING-NEW"),
    ];

    fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let batches = rt
            .block_on(async { ctx.sql(sql).await?.collect().await })
            .unwrap();
        let mut out: Vec<String> = batches
            .iter()
            .flat_map(|b| {
                let c = b.column(0).as_string_view();
                (0..b.num_rows())
                    .map(|i| if c.is_valid(i) { c.value(i) } else { "NULL" }.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort();
        out
    }

    fn table() -> SessionContext {
        let ctx = SessionContext::new();
        let schema = Schema::new(vec![Field::new("s", DataType::Utf8View, true)]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(StringViewArray::from(RAW.to_vec()))],
        )
        .unwrap();
        ctx.register_batch("t", batch).unwrap();
        ctx
    }

    #[test]
    fn label_sql_matches_from_raw_and_filters_match_labels() {
        let ctx = table();
        let labelled = rows(&ctx, &format!("SELECT {} FROM t", Status::label_sql("s")));
        let mut expected: Vec<String> = RAW
            .iter()
            .map(|r| Status::from_raw(*r).label().to_string())
            .collect();
        expected.sort();
        assert_eq!(labelled, expected);
        assert_eq!(Status::from_raw(Some("COMPLETE")), Status::Completed);
        assert_eq!(Status::from_raw(Some("")), Status::None);

        // Every subset of the known statuses: the raw filter keeps exactly the rows whose
        // label is in the subset.
        let all = Status::KNOWN;
        for mask in 0..(1u32 << all.len()) {
            let chosen: Vec<Status> = (0..all.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| all[i].clone())
                .collect();
            let got = rows(
                &ctx,
                &format!("SELECT s FROM t WHERE {}", Status::filter_sql("s", &chosen)),
            );
            let mut want: Vec<String> = RAW
                .iter()
                .filter(|r| chosen.contains(&Status::from_raw(**r)))
                .map(|r| r.unwrap_or("NULL").to_string())
                .collect();
            want.sort();
            assert_eq!(got, want, "statuses {chosen:?}");
        }
    }

    #[test]
    fn parse_takes_only_the_five_labels() {
        for l in LABELS {
            assert_eq!(Status::parse(l).unwrap().label(), l);
        }
        for bad in ["COMPLETE", "DONE", "", "failed"] {
            assert_eq!(Status::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn scope_predicate_keeps_current_live_rows() {
        let ctx = SessionContext::new();
        let schema = Schema::new(vec![
            Field::new("k", DataType::Utf8View, false),
            Field::new("is_latest", DataType::Boolean, true),
            Field::new("is_delete_marker", DataType::Boolean, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringViewArray::from(vec!["a", "b", "c", "d", "e"])),
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    Some(true),
                    None,
                    Some(true),
                ])),
                Arc::new(BooleanArray::from(vec![
                    Some(false),
                    Some(false),
                    Some(true),
                    None,
                    None,
                ])),
            ],
        )
        .unwrap();
        ctx.register_batch("i", batch).unwrap();
        let sql = |scope: Scope, alias| format!("SELECT k FROM i WHERE {}", scope.predicate(alias));
        assert_eq!(rows(&ctx, &sql(Scope::Current, None)), ["a", "d", "e"]);
        assert_eq!(rows(&ctx, &sql(Scope::Current, Some("i"))), ["a", "d", "e"]);
        assert_eq!(rows(&ctx, &sql(Scope::AllVersions, None)).len(), 5);
    }

    #[test]
    fn counts_keep_delete_markers_out_of_unreplicated() {
        let mut s = StatusCounts::default();
        s.add_counts("COMPLETE", 2, 20);
        s.add_counts("", 1, 5);
        s.add_counts("NEW", 1, 1);
        s.add_delete_markers(Counts {
            objects: 3,
            bytes: 0,
        });
        assert_eq!(s.get("COMPLETED").objects, 2);
        assert_eq!(s.get("NONE").objects, 1);
        assert_eq!(s.total().objects, 7);
        assert_eq!(s.unreplicated().objects, 1);
        assert_eq!(s.other().objects, 1);
        let labels: Vec<String> = s.all().into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            labels,
            ["COMPLETED", "PENDING", "FAILED", "REPLICA", "NONE", "NEW"]
        );
    }
}
