//! The diagnosis: every object of the scope that is not COMPLETED gets exactly one cause
//! per destination (doctor.md §f.4: configuration contradiction > inventory pattern, an
//! "unexplained" cause per status so that nothing is dropped), summed into one row per
//! (cause, status, rule, destination).
//!
//! Two streaming passes over the delivery, never more: the first (only with a replication
//! configuration) finds when each rule started replicating (the first object it gave a
//! status, the inferred T0 of §f.4 step 6); the second decides every row. Memory holds the
//! groups, not the rows. The per-status totals are counted apart from the decisions and
//! checked against them before anything is reported.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use datafusion::arrow::array::{Array, AsArray, BooleanArray, Int64Array, StringViewArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use futures::StreamExt;
use serde::Serialize;

use super::causes::{self, Cause, Confidence};
use super::config::{ReplicationConfig, Rule, Versioning};
use super::contrast::{Contrast, Counter, Values};
use super::facts::{ConfigState, Facts, Finding};
use super::permissions::{ObjectClass, PermissionFinding};
use super::reasons;
use super::redrive::{Object, Spools};
use super::reported::{Reported, Source};
use super::rules::{DestinationRules, RuleMatch};
use crate::error::{Error, Result};
use crate::replication::{Counts, REFUSED_CLASSES, REFUSED_TIERS, Scope, Status};
use crate::table::Session;

/// What to diagnose and how.
#[derive(Debug, Clone)]
pub struct DoctorOptions {
    pub scope: Scope,
    /// PENDING objects older than this at delivery time are stuck.
    pub pending_older_than_ms: i64,
    pub pending_older_than_label: String,
    /// Example keys per row.
    pub examples: usize,
    /// When rules started (`--rule-start RULE=TIME`), in ms: objects older were written
    /// before the rule existed.
    pub rule_start_ms: BTreeMap<String, i64>,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        DoctorOptions {
            scope: Scope::Current,
            pending_older_than_ms: 24 * 3_600_000,
            pending_older_than_label: "24h".into(),
            examples: 3,
            rule_start_ms: BTreeMap::new(),
        }
    }
}

/// One row of the diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CauseRow {
    pub cause: String,
    pub title: String,
    pub status: String,
    pub rule: Option<String>,
    pub destination: Option<String>,
    pub objects: u64,
    pub bytes: u64,
    pub oldest_last_modified: Option<String>,
    pub newest_last_modified: Option<String>,
    pub examples: Vec<String>,
    pub evidence: Vec<String>,
    pub confidence: String,
    pub fix: String,
    /// The cause's re-drive manifests (`--emit-manifests`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub scope: &'static str,
    pub pending_older_than: String,
    /// The destinations objects were attributed for (`[null]` without a configuration).
    pub destinations: Vec<Option<String>>,
    pub rows: Vec<CauseRow>,
    /// The scope's rows that are not COMPLETED, by status, as the inventory counts them.
    pub totals: BTreeMap<String, Counts>,
    /// Configuration findings that explain no object by themselves.
    pub findings: Vec<Finding>,
    /// Documents that could not be read or were not collected.
    pub not_checked: Vec<String>,
    /// When each (rule, destination) started replicating, as inferred or given.
    pub rule_starts: Vec<RuleStart>,
}

/// A rule's start (T0) for one destination.
#[derive(Debug, Clone, Serialize)]
pub struct RuleStart {
    pub rule: String,
    pub destination: String,
    pub start: Option<String>,
    pub how: &'static str,
}

/// One row of the inventory, as the decisions need it.
struct Row<'a> {
    /// The delivery has version ids (`IncludedObjectVersions = All`).
    versioned: bool,
    bucket: &'a str,
    key: &'a str,
    version: Option<&'a str>,
    status: Status,
    delete_marker: bool,
    size: u64,
    last_modified: Option<i64>,
    storage_class: Option<&'a str>,
    tier: Option<&'a str>,
    encryption: Option<&'a str>,
    bucket_key: Option<&'a str>,
    owner: Option<&'a str>,
    locked: bool,
    multipart: Option<bool>,
    /// `ObjectAccessControlList`, base64 JSON as the inventory holds it.
    acl: Option<&'a str>,
}

impl Row<'_> {
    /// The row's values for the contrast analysis.
    fn values(&self) -> Values<'_> {
        Values {
            text: [
                self.encryption.unwrap_or("(none)"),
                self.bucket_key.unwrap_or("(none)"),
                self.owner.unwrap_or("(none)"),
                if self.locked { "locked" } else { "not locked" },
                match self.multipart {
                    Some(true) => "true",
                    Some(false) => "false",
                    None => "(none)",
                },
                self.storage_class.unwrap_or("STANDARD"),
            ],
            day: self.last_modified.map(|ms| ms.div_euclid(86_400_000)),
        }
    }

    /// A null version (written before versioning). Only a delivery with version ids can
    /// say: a current-only report has no VersionId field at all.
    fn null_version(&self) -> bool {
        self.versioned && matches!(self.version, None | Some("") | Some("null"))
    }

    fn kms(&self) -> bool {
        matches!(self.encryption, Some("SSE-KMS") | Some("DSSE-KMS"))
    }
}

/// A decision for one row and destination; the evidence is rendered once per group.
struct Decision<'a> {
    cause: CauseRef<'a>,
    confidence: Confidence,
    evidence: Evidence<'a>,
}

/// A cause of the catalog, or a failure reason S3 reported (known to `reasons` or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CauseRef<'a> {
    Catalog(&'static str),
    Reported(&'a str),
}

impl CauseRef<'_> {
    fn is(&self, cause: &Cause) -> bool {
        *self == CauseRef::Catalog(cause.id)
    }

    /// Id, title and fix.
    fn describe(&self) -> (String, String, String) {
        match self {
            CauseRef::Catalog(id) => {
                let c = causes::find(id).expect("a catalog id");
                (c.id.to_string(), c.title.to_string(), c.fix.to_string())
            }
            CauseRef::Reported(code) => match reasons::lookup(code) {
                Some(r) => (
                    reasons::cause_id(code),
                    format!("S3 reported {}: {}", r.code, r.meaning),
                    if r.retry_helps {
                        format!("{}; then re-drive the FAILED objects", r.fix)
                    } else {
                        format!("{} (re-driving these objects cannot succeed as they are)", r.fix)
                    },
                ),
                None => (
                    reasons::cause_id(code),
                    format!("S3 reported failure reason {code}, which s3inv does not know"),
                    "look the code up in the S3 replication failure reasons (AWS documentation), fix it, then re-drive the FAILED objects".into(),
                ),
            },
        }
    }
}

/// Why a decision was made, without allocating per row: rendered once per group.
#[derive(Clone, Copy)]
enum Evidence<'a> {
    Text(&'static str),
    /// `{configuration}: {rule path} {what}`.
    Rule(&'a Rule, &'static str),
    /// `{configuration}: {what}`.
    Config(&'static str),
    /// `{document}: {what}`.
    Doc(&'a str, &'static str),
    /// `{document}: {what}; {document}: {what}`.
    DocPair(&'a str, &'static str, &'a str, &'static str),
    /// The rule's start (epoch ms) and how it is known.
    Start(i64, &'static str),
    /// `describe-key` says the key is not Enabled.
    KeyState(&'a str, &'a str),
    /// The replica key's Region and the destination's.
    KeyRegion(&'a Rule, &'a str, &'a str),
    /// A failure reason from an event or a completion report.
    Reported(Source, &'a str),
    /// What sets the scope's FAILED objects apart.
    Contrast(&'a Contrast),
    /// A permission the policies do not grant.
    Permission(&'a PermissionFinding),
}

impl Evidence<'_> {
    /// Same evidence (rules compared by identity): one line per distinct reason.
    fn same(&self, other: &Evidence) -> bool {
        use Evidence::*;
        match (self, other) {
            (Text(a), Text(b)) | (Config(a), Config(b)) => a == b,
            (Rule(r, a), Rule(q, b)) => std::ptr::eq(*r, *q) && a == b,
            (Doc(o, a), Doc(p, b)) => o == p && a == b,
            (DocPair(o, a, x, c), DocPair(p, b, y, d)) => o == p && a == b && x == y && c == d,
            (Start(t, a), Start(u, b)) => t == u && a == b,
            (KeyState(o, a), KeyState(p, b)) => o == p && a == b,
            (KeyRegion(r, a, c), KeyRegion(q, b, d)) => std::ptr::eq(*r, *q) && a == b && c == d,
            (Reported(s, a), Reported(t, b)) => s == t && a == b,
            (Contrast(a), Contrast(b)) => std::ptr::eq(*a, *b),
            (Permission(a), Permission(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }

    fn render(&self, config_origin: &str) -> String {
        match self {
            Evidence::Text(t) => t.to_string(),
            Evidence::Rule(rule, what) => format!("{config_origin}: {} {what}", rule.path),
            Evidence::Config(what) => format!("{config_origin}: {what}"),
            Evidence::Doc(origin, what) => format!("{origin}: {what}"),
            Evidence::DocPair(o1, w1, o2, w2) => format!("{o1}: {w1}; {o2}: {w2}"),
            Evidence::Start(t0, how) => format!(
                "inventory: last modified before the rule's start ({how}: {})",
                crate::format::timestamp::format_millis(*t0).unwrap_or_default()
            ),
            Evidence::KeyState(origin, state) => format!("{origin}: KeyState {state}"),
            Evidence::KeyRegion(rule, key_region, dest_region) => format!(
                "{config_origin}: {} Destination.EncryptionConfiguration.ReplicaKmsKeyID is in {key_region}, the destination in {dest_region}",
                rule.path
            ),
            Evidence::Reported(Source::Event, code) => {
                format!("replication events: failureReason {code}")
            }
            Evidence::Reported(Source::Report, code) => {
                format!("Batch Operations completion reports: ErrorCode {code}")
            }
            Evidence::Permission(f) => format!(
                "{} ({} on {}: {})",
                f.evidence,
                f.action,
                f.resource,
                f.decision.label()
            ),
            Evidence::Contrast(c) => format!(
                "inventory: in this rule and destination, FAILED {} of {} objects with {} {}, {} of {} of the others (contrast analysis)",
                c.failed_in,
                c.total_in,
                c.attribute,
                c.shown_values(),
                c.failed_out,
                c.total_out
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey<'a> {
    cause: CauseRef<'a>,
    status: u8,
    rule: Option<usize>,
    destination: usize,
}

struct Group<'a> {
    status: Status,
    /// The weakest confidence of the group's objects.
    confidence: Confidence,
    counts: Counts,
    oldest: Option<i64>,
    newest: Option<i64>,
    /// The first keys (and versions) in key order, formatted once the pass is over.
    examples: BTreeSet<(String, Option<String>)>,
    /// Each distinct reason, with its objects.
    evidence: Vec<(Evidence<'a>, u64)>,
}

/// Which of the costlier columns a pass reads; a column left out is a constant of its type,
/// so the scan never decodes it (the key is most of a delivery's bytes).
#[derive(Debug, Clone, Copy)]
struct Columns {
    key: bool,
    /// version_id, size, intelligent_tiering_access_tier: what pass 2 decides and counts by.
    row: bool,
    bucket: bool,
    acl: bool,
}

/// The delivery's columns the decisions read (absent fields read as NULL), in the order
/// `scan` takes them.
fn select(scope: Scope, statuses: &str, columns: Columns) -> String {
    let pick = |wanted: bool, expr: &str, unread: &str| {
        if wanted {
            expr.to_string()
        } else {
            unread.to_string()
        }
    };
    format!(
        "SELECT {key}, {version}, \
         CAST(replication_status AS VARCHAR) AS replication_status, \
         coalesce(is_delete_marker, false) AS is_delete_marker, {size}, \
         CAST(last_modified_date AS BIGINT) AS last_modified, \
         CAST(storage_class AS VARCHAR) AS storage_class, {tier}, \
         CAST(encryption_status AS VARCHAR) AS encryption_status, \
         CAST(bucket_key_status AS VARCHAR) AS bucket_key_status, \
         CAST(object_owner AS VARCHAR) AS object_owner, \
         (object_lock_mode IS NOT NULL OR coalesce(object_lock_legal_hold_status = 'ON', false)) AS locked, \
         is_multipart_uploaded, {bucket}, {acl} \
         FROM inventory WHERE {} AND {statuses}",
        scope.predicate(None),
        key = pick(columns.key, "key", "'' AS key"),
        version = pick(
            columns.row,
            "CAST(version_id AS VARCHAR) AS version_id",
            "CAST(NULL AS VARCHAR) AS version_id"
        ),
        size = pick(
            columns.row,
            "coalesce(size, 0) AS size",
            "CAST(0 AS BIGINT) AS size"
        ),
        tier = pick(
            columns.row,
            "CAST(intelligent_tiering_access_tier AS VARCHAR) AS tier",
            "CAST(NULL AS VARCHAR) AS tier"
        ),
        bucket = pick(columns.bucket, "bucket", "'' AS bucket"),
        acl = pick(
            columns.acl,
            "CAST(object_access_control_list AS VARCHAR) AS acl",
            "CAST(NULL AS VARCHAR) AS acl"
        ),
    )
}

/// Column `i` as string views: the inventory's own type, so no copy (the literals of
/// columns a pass does not read are cast, once per batch).
fn strings(batch: &RecordBatch, i: usize) -> Result<StringViewArray> {
    let col =
        cast(batch.column(i), &DataType::Utf8View).map_err(|e| Error::Query(e.to_string()))?;
    Ok(col.as_string_view().clone())
}

fn opt(a: &StringViewArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// Calls `each` for every row of `sql`'s result.
async fn scan(
    session: &Session,
    sql: &str,
    mut each: impl FnMut(Row<'_>) -> Result<()>,
) -> Result<()> {
    let versioned = session.columns.has_version_ids();
    let mut stream = session.stream(sql).await?;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let keys = strings(&batch, 0)?;
        let versions = strings(&batch, 1)?;
        let statuses = strings(&batch, 2)?;
        let markers =
            cast(batch.column(3), &DataType::Boolean).map_err(|e| Error::Query(e.to_string()))?;
        let markers = markers
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("bool");
        let sizes =
            cast(batch.column(4), &DataType::Int64).map_err(|e| Error::Query(e.to_string()))?;
        let sizes = sizes.as_any().downcast_ref::<Int64Array>().expect("i64");
        let modified =
            cast(batch.column(5), &DataType::Int64).map_err(|e| Error::Query(e.to_string()))?;
        let modified = modified.as_any().downcast_ref::<Int64Array>().expect("i64");
        let classes = strings(&batch, 6)?;
        let tiers = strings(&batch, 7)?;
        let encryption = strings(&batch, 8)?;
        let bucket_keys = strings(&batch, 9)?;
        let owners = strings(&batch, 10)?;
        let locked =
            cast(batch.column(11), &DataType::Boolean).map_err(|e| Error::Query(e.to_string()))?;
        let locked = locked
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("bool");
        let multipart =
            cast(batch.column(12), &DataType::Boolean).map_err(|e| Error::Query(e.to_string()))?;
        let multipart = multipart
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("bool");
        let buckets = strings(&batch, 13)?;
        let acls = strings(&batch, 14)?;
        for i in 0..batch.num_rows() {
            each(Row {
                versioned,
                bucket: buckets.value(i),
                key: keys.value(i),
                version: opt(&versions, i),
                status: Status::from_raw(opt(&statuses, i)),
                delete_marker: markers.value(i),
                size: sizes.value(i).max(0) as u64,
                last_modified: (!modified.is_null(i)).then(|| modified.value(i)),
                storage_class: opt(&classes, i),
                tier: opt(&tiers, i),
                encryption: opt(&encryption, i),
                bucket_key: opt(&bucket_keys, i),
                owner: opt(&owners, i),
                locked: !locked.is_null(i) && locked.value(i),
                multipart: (!multipart.is_null(i)).then(|| multipart.value(i)),
                acl: opt(&acls, i),
            })?;
        }
    }
    Ok(())
}

/// The label rows are counted under: delete markers apart, as `summary` counts them.
fn status_label(row: &Row) -> Status {
    if row.delete_marker {
        Status::Other("DELETE_MARKER".into())
    } else {
        row.status.clone()
    }
}

fn status_index(s: &Status) -> u8 {
    match s {
        Status::Completed => 0,
        Status::Pending => 1,
        Status::Failed => 2,
        Status::Replica => 3,
        Status::None => 4,
        Status::Other(o) if o == "DELETE_MARKER" => 5,
        Status::Other(_) => 6,
    }
}

/// Diagnoses the session's delivery.
pub async fn diagnose(
    session: &Session,
    facts: &Facts,
    reported: &Reported,
    opts: &DoctorOptions,
    mut spools: Option<&mut Spools>,
) -> Result<Diagnosis> {
    let delivery_ms = session.delivery.manifest.creation_timestamp_ms;
    let config = facts.config();
    let destinations: Vec<Option<String>> = match config {
        Some(c) if !c.destinations().is_empty() => c.destinations().into_iter().map(Some).collect(),
        _ => vec![None],
    };
    let dest_rules: Vec<Option<DestinationRules>> = destinations
        .iter()
        .map(|d| {
            config
                .zip(d.as_deref())
                .map(|(c, d)| DestinationRules::new(c, d))
        })
        .collect();

    // Pass 1: when each rule started replicating to each destination, and the FAILED and
    // COMPLETED objects of each scope by attribute (the contrast analysis).
    let mut first_status: BTreeMap<(usize, usize), i64> = BTreeMap::new();
    let mut counters: HashMap<(Option<usize>, usize), Counter> = HashMap::new();
    // Keys only to match rules; nothing pass 2 alone needs.
    let sql = select(
        opts.scope,
        &Status::filter_sql(
            "replication_status",
            &[Status::Completed, Status::Failed, Status::Pending],
        ),
        Columns {
            key: dest_rules.iter().any(Option::is_some),
            row: false,
            bucket: false,
            acl: false,
        },
    );
    scan(session, &sql, |row| {
        if row.delete_marker {
            return Ok(());
        }
        for (d, rules) in dest_rules.iter().enumerate() {
            let rule = match rules.as_ref().map(|r| r.match_key(row.key)) {
                Some(RuleMatch::Rule(rule)) => config.map(|c| rule_index(c, rule)),
                _ => None,
            };
            if let (Some(index), Some(lm)) = (rule, row.last_modified) {
                let t = first_status.entry((index, d)).or_insert(lm);
                *t = (*t).min(lm);
            }
            if matches!(row.status, Status::Completed | Status::Failed) {
                counters
                    .entry((rule, d))
                    .or_default()
                    .add(&row.values(), row.status == Status::Failed);
            }
        }
        Ok(())
    })
    .await?;
    let contrasts: HashMap<(Option<usize>, usize), Contrast> = counters
        .into_iter()
        .filter_map(|(scope, counter)| counter.separate().map(|c| (scope, c)))
        .collect();
    let starts = |rule: &Rule, index: usize, d: usize| -> Option<(i64, &'static str)> {
        opts.rule_start_ms
            .get(&rule.id)
            .map(|t| (*t, "given"))
            .or_else(|| first_status.get(&(index, d)).map(|t| (*t, "inferred")))
    };

    // Pass 2: every row that is not COMPLETED.
    // `IS NULL OR`: `NULL NOT IN (…)` is NULL, which would drop every never-replicated
    // row. Written so that the CSV reader drops COMPLETED rows before decoding their keys.
    let not_completed =
        "(replication_status IS NULL OR replication_status NOT IN ('COMPLETED', 'COMPLETE'))"
            .to_string();
    let config_origin = config.map(|c| c.origin.as_str()).unwrap_or("");
    let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
    let mut totals: BTreeMap<String, Counts> = BTreeMap::new();
    let mut decided: Vec<BTreeMap<String, Counts>> = vec![BTreeMap::new(); destinations.len()];
    let stuck_before = delivery_ms - opts.pending_older_than_ms;
    let sql = select(
        opts.scope,
        &not_completed,
        Columns {
            key: true,
            row: true,
            bucket: spools.is_some(),
            acl: facts
                .destinations
                .values()
                .any(|d| d.public_acls_blocked.is_some()),
        },
    );
    scan(session, &sql, |row| {
        let status = status_label(&row);
        let counts = Counts {
            objects: 1,
            bytes: row.size,
        };
        add_to(&mut totals, status.label(), counts);
        let mut decisions: Vec<(Option<usize>, Decision)> = destinations
            .iter()
            .enumerate()
            .map(|(d, dest)| {
                let matched = dest_rules[d].as_ref().map(|r| r.match_key(row.key));
                let rule = match matched {
                    Some(RuleMatch::Rule(r)) | Some(RuleMatch::OnlyDisabled(r)) => Some(r),
                    _ => None,
                };
                let index = rule.zip(config).map(|(r, c)| rule_index(c, r));
                let start = rule.zip(index).and_then(|(r, i)| starts(r, i, d));
                // A reason S3 reported for this very version beats every inference.
                let reason = (!reported.is_empty() && row.status != Status::Replica)
                    .then(|| {
                        reported.reason(
                            row.key,
                            row.version.filter(|_| !row.null_version()),
                            dest.as_deref(),
                        )
                    })
                    .flatten();
                let decision = match reason {
                    Some(r) => Decision {
                        cause: CauseRef::Reported(&r.code),
                        confidence: Confidence::Certain,
                        evidence: Evidence::Reported(r.source, &r.code),
                    },
                    None => decide(
                        &row,
                        facts,
                        dest.as_deref(),
                        dest.as_deref().and_then(|d| facts.destinations.get(d)),
                        matched,
                        start,
                        stuck_before,
                    ),
                };
                // Nothing collected explains it: what sets the scope's FAILED objects apart?
                let decision = match contrasts.get(&(index, d)) {
                    Some(contrast)
                        if decision.cause.is(&causes::FAILED_UNEXPLAINED)
                            && contrast.covers(&row.values()) =>
                    {
                        Decision {
                            cause: CauseRef::Catalog(contrast.cause().id),
                            confidence: Confidence::Likely,
                            evidence: Evidence::Contrast(contrast),
                        }
                    }
                    _ => decision,
                };
                // A replica's rule says nothing about it: one row per destination.
                let index = if decision.cause.is(&causes::REPLICA) {
                    None
                } else {
                    index
                };
                (index, decision)
            })
            .collect();
        // S3's status is an aggregate over the destinations: a FAILED object explained at
        // one destination need not have failed at another.
        if row.status == Status::Failed && decisions.len() > 1 {
            let explained = decisions.iter().any(|(_, d)| {
                !d.cause.is(&causes::FAILED_UNEXPLAINED) && d.confidence >= Confidence::Strong
            });
            if explained {
                for (_, d) in decisions.iter_mut() {
                    if d.cause.is(&causes::FAILED_UNEXPLAINED) {
                        *d = Decision {
                            cause: CauseRef::Catalog(causes::OTHER_DESTINATION.id),
                            confidence: Confidence::Likely,
                            evidence: Evidence::Text(
                                "another destination's configuration explains the FAILED status",
                            ),
                        };
                    }
                }
            }
        }
        if let Some(spools) = spools.as_deref_mut() {
            let object = Object {
                bucket: row.bucket,
                key: row.key,
                version: row.version.filter(|_| !row.null_version()),
                size: row.size,
                status: status.label(),
                delete_marker: row.delete_marker,
                storage_class: row.storage_class,
                tier: row.tier,
            };
            // Each cause once, however many destinations it explains the object for.
            for (i, (_, d)) in decisions.iter().enumerate() {
                if decisions[..i].iter().any(|(_, e)| e.cause == d.cause) {
                    continue;
                }
                match d.cause {
                    CauseRef::Catalog(id) => spools.add(id, false, &object)?,
                    CauseRef::Reported(code) => spools.add(code, true, &object)?,
                }
            }
        }
        for (d, (rule, decision)) in decisions.into_iter().enumerate() {
            add_to(&mut decided[d], status.label(), counts);
            let key = GroupKey {
                cause: decision.cause,
                status: status_index(&status),
                rule,
                destination: d,
            };
            let group = groups.entry(key).or_insert_with(|| Group {
                status: status.clone(),
                confidence: decision.confidence,
                counts: Counts::default(),
                oldest: None,
                newest: None,
                examples: BTreeSet::new(),
                evidence: Vec::new(),
            });
            add(&mut group.counts, counts);
            group.confidence = group.confidence.min(decision.confidence);
            match group
                .evidence
                .iter_mut()
                .find(|(e, _)| e.same(&decision.evidence))
            {
                Some((_, n)) => *n += 1,
                None => group.evidence.push((decision.evidence, 1)),
            }
            if let Some(lm) = row.last_modified {
                group.oldest = Some(group.oldest.map_or(lm, |o| o.min(lm)));
                group.newest = Some(group.newest.map_or(lm, |n| n.max(lm)));
            }
            if opts.examples > 0 {
                // The first keys in key order: the same examples on every run. A key is
                // copied only when it makes the list.
                let version = row.version.filter(|_| !row.null_version());
                let smaller = |last: &(String, Option<String>)| {
                    (row.key, version) < (last.0.as_str(), last.1.as_deref())
                };
                if group.examples.len() < opts.examples {
                    group
                        .examples
                        .insert((row.key.to_string(), version.map(str::to_string)));
                } else if group.examples.last().is_some_and(smaller) {
                    group.examples.pop_last();
                    group
                        .examples
                        .insert((row.key.to_string(), version.map(str::to_string)));
                }
            }
        }
        Ok(())
    })
    .await?;

    // Conservation: per destination, the decisions add up to the scope's counts.
    for (d, per_status) in decided.iter().enumerate() {
        if *per_status != totals {
            return Err(Error::Query(format!(
                "internal check failed: the causes for destination {:?} add up to {per_status:?}, the inventory to {totals:?}",
                destinations[d]
            )));
        }
    }

    // Permission gaps no FAILED object shows are findings, not causes (doctor.md §f.6).
    let used: Vec<*const PermissionFinding> = groups
        .values()
        .flat_map(|g| g.evidence.iter())
        .filter_map(|(e, _)| match e {
            Evidence::Permission(f) => Some(*f as *const PermissionFinding),
            _ => None,
        })
        .collect();
    // A destination finding (public ACLs blocked) that objects show as their cause is not
    // repeated as a finding.
    let shown_at = |cause: &str, dest: &str| {
        groups.keys().any(|k| {
            k.cause.describe().0 == cause && destinations[k.destination].as_deref() == Some(dest)
        })
    };
    let mut findings: Vec<Finding> = facts
        .lints
        .iter()
        .filter(|f| !f.destination.as_deref().is_some_and(|d| shown_at(&f.id, d)))
        .cloned()
        .collect();
    for f in &facts.permissions {
        if used.contains(&(f as *const PermissionFinding)) {
            continue;
        }
        findings.push(Finding {
            id: f.cause.to_string(),
            message: format!(
                "{} on {} is {}{} (no FAILED object shows it yet)",
                f.action,
                f.resource,
                f.decision.label(),
                f.destination
                    .as_deref()
                    .map(|d| format!(" for destination {d}"))
                    .unwrap_or_default()
            ),
            evidence: f.evidence.clone(),
            destination: None,
        });
    }
    // Report order: by status (PENDING, FAILED, REPLICA, NONE, delete markers), then the
    // largest first; the key order of the groups breaks ties, so every run prints the same.
    let mut groups: Vec<(GroupKey, Group)> = groups.into_iter().collect();
    groups.sort_by(|(ka, a), (kb, b)| {
        ka.status
            .cmp(&kb.status)
            .then(b.counts.bytes.cmp(&a.counts.bytes))
            .then(b.counts.objects.cmp(&a.counts.objects))
            .then(ka.cmp(kb))
    });
    let rows = groups
        .into_iter()
        .map(|(key, g)| {
            let (cause, title, fix) = key.cause.describe();
            CauseRow {
                cause,
                title,
                status: g.status.label().to_string(),
                rule: key.rule.and_then(|i| config.map(|c| c.rules[i].id.clone())),
                destination: destinations[key.destination].clone(),
                objects: g.counts.objects,
                bytes: g.counts.bytes,
                oldest_last_modified: g.oldest.and_then(crate::format::timestamp::format_millis),
                newest_last_modified: g.newest.and_then(crate::format::timestamp::format_millis),
                examples: g
                    .examples
                    .iter()
                    .map(|(k, v)| example(k, v.as_deref()))
                    .collect(),
                evidence: render_evidence(&g.evidence, g.counts.objects, config_origin),
                confidence: g.confidence.name().to_string(),
                fix,
                manifest: None,
            }
        })
        .collect();
    let mut rule_starts = Vec::new();
    if let Some(config) = config {
        for (index, rule) in config.rules.iter().enumerate() {
            for (d, dest) in destinations.iter().enumerate() {
                if dest.as_deref() != Some(rule.destination.bucket.as_str()) || !rule.enabled {
                    continue;
                }
                let start = starts(rule, index, d);
                rule_starts.push(RuleStart {
                    rule: rule.id.clone(),
                    destination: rule.destination.bucket.clone(),
                    start: start.and_then(|(t, _)| crate::format::timestamp::format_millis(t)),
                    how: start.map_or("unknown", |(_, how)| how),
                });
            }
        }
    }
    let mut not_checked = facts.unknown.clone();
    not_checked.extend(missing_fields(session, facts));
    if let ConfigState::Unreadable { reason } = &facts.config
        && !not_checked.contains(reason)
    {
        not_checked.push(reason.clone());
    }
    Ok(Diagnosis {
        scope: opts.scope.name(),
        pending_older_than: opts.pending_older_than_label.clone(),
        destinations,
        rows,
        totals,
        findings,
        not_checked,
        rule_starts,
    })
}

/// The reasons of a group, each with its share when there is more than one: the most
/// objects first, then by text. (Not in the order they were met: partitions are scanned in
/// parallel, and every run must print the same.)
fn render_evidence(evidence: &[(Evidence, u64)], objects: u64, config_origin: &str) -> Vec<String> {
    let mut shown: Vec<(u64, String)> = evidence
        .iter()
        .map(|(e, n)| (*n, e.render(config_origin)))
        .collect();
    shown.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    shown
        .into_iter()
        .map(|(n, text)| {
            if n == objects {
                text
            } else {
                format!("{text} ({})", crate::output::count(n, "object"))
            }
        })
        .collect()
}

/// The causes the delivery's fields cannot decide, and the field to add: an inventory
/// configuration chooses its optional fields, and a cause that reads an absent one never
/// shows (its objects fall to another cause or to "unexplained").
fn missing_fields(session: &Session, facts: &Facts) -> Vec<String> {
    let config = facts.config().is_some();
    let wanted: [(&str, &str, &str, bool); 7] = [
        (
            "version_id",
            "VersionId",
            "pre-existing by a null version (a current-only report)",
            true,
        ),
        (
            "storage_class",
            "StorageClass",
            "archived-storage-class",
            true,
        ),
        (
            "intelligent_tiering_access_tier",
            "IntelligentTieringAccessTier",
            "archive-access-tier",
            true,
        ),
        (
            "last_modified_date",
            "LastModifiedDate",
            "pending-stuck (every PENDING object counts as recent), pre-existing by date",
            true,
        ),
        (
            "encryption_status",
            "EncryptionStatus",
            "sse-kms-not-opted-in, sse-c-blocked-at-dst, kms-key-invalid",
            config,
        ),
        (
            "object_owner",
            "ObjectOwner",
            "foreign-owner",
            facts.source_owner_id.is_some(),
        ),
        (
            "object_access_control_list",
            "ObjectAccessControlList",
            "public-acl-blocked",
            facts
                .destinations
                .values()
                .any(|d| d.public_acls_blocked.is_some()),
        ),
    ];
    wanted
        .iter()
        .filter(|(column, _, _, relevant)| *relevant && !session.columns.has(column))
        .map(|(_, field, causes, _)| {
            format!(
                "cannot tell {causes}: the inventory has no {field} field (add it to the inventory configuration's optional fields)"
            )
        })
        .collect()
}

/// Whether an inventory `ObjectAccessControlList` (base64 of
/// `{"version":…,"status":…,"grants":[…]}`) grants anything to everyone or to every AWS
/// account (formats.md §3.4).
fn grants_public_access(acl: &str) -> bool {
    use base64::Engine;
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(acl.trim()) else {
        return false;
    };
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return false;
    };
    doc["grants"].as_array().is_some_and(|grants| {
        grants.iter().any(|g| {
            g["uri"].as_str().is_some_and(|uri| {
                uri.ends_with("/groups/global/AllUsers")
                    || uri.ends_with("/groups/global/AuthenticatedUsers")
            })
        })
    })
}

/// A decision for an object another account owns, which the bucket owner cannot read
/// unless the bucket enforces ownership (doctor.md C7).
fn foreign_owner<'a>(row: &Row, facts: &'a Facts) -> Option<Decision<'a>> {
    let (owner_id, origin) = facts.source_owner_id.as_ref()?;
    let owner = row.owner.filter(|o| !o.is_empty() && *o != "UNAVAILABLE")?;
    if owner == owner_id || facts.source_ownership.as_deref() == Some("BucketOwnerEnforced") {
        return None;
    }
    Some(decision(
        &causes::FOREIGN_OWNER,
        Confidence::Strong,
        Evidence::Doc(
            origin,
            "Owner.ID differs from the objects' owner (inventory: ObjectOwner), and Object Ownership is not BucketOwnerEnforced",
        ),
    ))
}

/// Whether a permission gap concerns objects like `row`.
fn class_matches(class: ObjectClass, row: &Row) -> bool {
    let bucket_key = row.bucket_key == Some("ENABLED");
    match class {
        ObjectClass::All => true,
        ObjectClass::KmsEncrypted => row.kms(),
        ObjectClass::KmsWithBucketKey => row.kms() && bucket_key,
        ObjectClass::KmsWithoutBucketKey => row.kms() && !bucket_key,
        ObjectClass::ObjectLockRetention | ObjectClass::ObjectLockLegalHold => row.locked,
        ObjectClass::DeleteMarkers => row.delete_marker,
    }
}

/// An example key as shown: quoted when spaces at its ends, a comma or a control character
/// would make it ambiguous in a list; with its version id.
fn example(key: &str, version: Option<&str>) -> String {
    let plain = !key.is_empty()
        && key.trim() == key
        && !key.chars().any(|c| c == ',' || c == '"' || c.is_control());
    let key = if plain {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    match version {
        Some(v) => format!("{key} (version {v})"),
        None => key,
    }
}

fn add(to: &mut Counts, c: Counts) {
    to.objects += c.objects;
    to.bytes += c.bytes;
}

/// Adds to the counts of `label`, allocating the label only the first time.
fn add_to(map: &mut BTreeMap<String, Counts>, label: &str, c: Counts) {
    match map.get_mut(label) {
        Some(to) => add(to, c),
        None => add(map.entry(label.to_string()).or_default(), c),
    }
}

fn rule_index(config: &ReplicationConfig, rule: &Rule) -> usize {
    config
        .rules
        .iter()
        .position(|r| std::ptr::eq(r, rule))
        .expect("a rule of this configuration")
}

fn decision<'a>(
    cause: &'static Cause,
    confidence: Confidence,
    evidence: Evidence<'a>,
) -> Decision<'a> {
    Decision {
        cause: CauseRef::Catalog(cause.id),
        confidence,
        evidence,
    }
}

/// The cause of one row for one destination (doctor.md §f.4, in its order).
#[allow(clippy::too_many_arguments)]
fn decide<'a>(
    row: &Row,
    facts: &'a Facts,
    dest_name: Option<&str>,
    dest: Option<&'a super::facts::DestinationFacts>,
    matched: Option<RuleMatch<'a>>,
    start: Option<(i64, &'static str)>,
    stuck_before: i64,
) -> Decision<'a> {
    use Confidence::*;
    if row.status == Status::Replica {
        return decision(
            &causes::REPLICA,
            Certain,
            Evidence::Text("inventory: ReplicationStatus REPLICA"),
        );
    }
    if let ConfigState::Absent { origin } = &facts.config
        && row.status == Status::None
    {
        return decision(
            &causes::NO_CONFIGURATION,
            Certain,
            Evidence::Doc(origin, "ReplicationConfigurationNotFoundError"),
        );
    }
    let rule = match matched {
        // S3 gave FAILED and PENDING objects a status, so a rule took them when they were
        // written: the configuration changed since, which is less certain than a key no
        // rule has ever taken.
        Some(RuleMatch::None) if row.status == Status::None => {
            return decision(
                &causes::OUTSIDE_RULE_FILTER,
                Strong,
                Evidence::Config(
                    "no enabled rule for this destination has a prefix the keys start with",
                ),
            );
        }
        Some(RuleMatch::None) => {
            return decision(
                &causes::OUTSIDE_RULE_FILTER,
                Likely,
                Evidence::Config(
                    "no enabled rule for this destination matches these keys now, although S3 gave them a status: the configuration changed after they were written",
                ),
            );
        }
        Some(RuleMatch::OnlyDisabled(rule)) => {
            return decision(
                &causes::RULE_DISABLED,
                if row.status == Status::None {
                    Strong
                } else {
                    Likely
                },
                Evidence::Rule(
                    rule,
                    if row.status == Status::None {
                        "Status Disabled"
                    } else {
                        "Status Disabled (disabled after S3 gave these objects a status)"
                    },
                ),
            );
        }
        Some(RuleMatch::Rule(rule)) => Some(rule),
        None => None,
    };
    if row.delete_marker {
        if let Some(rule) = rule
            && !rule.delete_markers
            && row.status == Status::None
        {
            return decision(
                &causes::DELETE_MARKER_NOT_REPLICATED,
                Certain,
                Evidence::Rule(rule, "DeleteMarkerReplication not Enabled"),
            );
        }
    } else if matches!(row.status, Status::None | Status::Failed) {
        if row
            .storage_class
            .is_some_and(|c| REFUSED_CLASSES.contains(&c))
        {
            return decision(
                &causes::ARCHIVED_STORAGE_CLASS,
                Certain,
                Evidence::Text("inventory: StorageClass GLACIER or DEEP_ARCHIVE"),
            );
        }
        if row.storage_class == Some("INTELLIGENT_TIERING")
            && row.tier.is_some_and(|t| REFUSED_TIERS.contains(&t))
        {
            return decision(
                &causes::ARCHIVE_ACCESS_TIER,
                Certain,
                Evidence::Text("inventory: IntelligentTieringAccessTier ARCHIVE or DEEP_ARCHIVE"),
            );
        }
    }
    match row.status {
        Status::None => {
            if let Some(rule) = rule
                && !rule.filter.tags.is_empty()
            {
                return decision(
                    &causes::TAG_FILTER_UNDECIDABLE,
                    Likely,
                    Evidence::Rule(rule, "Filter has tags"),
                );
            }
            if row.null_version() && !row.delete_marker {
                return decision(
                    &causes::PRE_EXISTING,
                    Certain,
                    Evidence::Text(
                        "inventory: null version id (written before versioning, so before replication)",
                    ),
                );
            }
            if let Some(rule) = rule
                && row.kms()
                && !rule.sse_kms_opted_in
            {
                return decision(
                    &causes::SSE_KMS_NOT_OPTED_IN,
                    Strong,
                    Evidence::Rule(
                        rule,
                        "SourceSelectionCriteria.SseKmsEncryptedObjects not Enabled",
                    ),
                );
            }
            if rule.is_some() {
                match (start, row.last_modified) {
                    (Some((t0, how)), Some(lm)) if lm < t0 => {
                        return decision(
                            &causes::PRE_EXISTING,
                            if how == "given" { Certain } else { Strong },
                            Evidence::Start(t0, how),
                        );
                    }
                    (None, _) => {
                        return decision(
                            &causes::PRE_EXISTING,
                            Likely,
                            Evidence::Text(
                                "inventory: no object of this rule has a replication status, so it may never have run (give --rule-start RULE=TIME)",
                            ),
                        );
                    }
                    _ => {}
                }
            }
            if let Some(d) = foreign_owner(row, facts) {
                return d;
            }
            decision(
                &causes::NEVER_REPLICATED_UNEXPLAINED,
                Likely,
                Evidence::Text("inventory: empty ReplicationStatus"),
            )
        }
        Status::Failed => {
            if let Some(d) = dest {
                if let Some((v, origin)) = &d.versioning
                    && *v != Versioning::Enabled
                {
                    return decision(
                        &causes::DST_VERSIONING_OFF,
                        Certain,
                        Evidence::Doc(
                            origin,
                            match v {
                                Versioning::Suspended => "Status Suspended",
                                _ => "no Status (versioning never enabled)",
                            },
                        ),
                    );
                }
                if let (Some((true, src)), Some((false, dst))) =
                    (&facts.source_object_lock, &d.object_lock)
                {
                    return decision(
                        &causes::DST_OBJECT_LOCK_MISSING,
                        Certain,
                        Evidence::DocPair(src, "ObjectLockEnabled Enabled", dst, "no Object Lock"),
                    );
                }
                if row.encryption == Some("SSE-C")
                    && let Some((true, origin)) = &d.blocks_sse_c
                {
                    return decision(
                        &causes::SSE_C_BLOCKED_AT_DST,
                        Certain,
                        Evidence::Doc(
                            origin,
                            "BlockedEncryptionTypes SSE-C; inventory: EncryptionStatus SSE-C",
                        ),
                    );
                }
                if let Some(origin) = &d.public_acls_blocked
                    && row.acl.is_some_and(grants_public_access)
                {
                    return decision(
                        &causes::PUBLIC_ACL_BLOCKED,
                        Strong,
                        Evidence::Doc(
                            origin,
                            "BlockPublicAcls true; inventory: ObjectAccessControlList grants AllUsers or AuthenticatedUsers",
                        ),
                    );
                }
                if row.kms()
                    && let Some(rule) = rule
                    && let Some(key) = &rule.destination.replica_kms_key
                {
                    let described = d.replica_keys.iter().find(|(k, _, _)| k == key);
                    if let Some((_, Some(key_facts), origin)) = described
                        && key_facts.state.as_deref().is_some_and(|s| s != "Enabled")
                    {
                        return decision(
                            &causes::KMS_KEY_INVALID,
                            Certain,
                            Evidence::KeyState(origin, key_facts.state.as_deref().unwrap_or("")),
                        );
                    }
                    if let (Some(key_region), Some(dest_region)) =
                        (super::facts::key_region(key), d.region.as_deref())
                        && key_region != dest_region
                    {
                        return decision(
                            &causes::KMS_KEY_INVALID,
                            Certain,
                            Evidence::KeyRegion(rule, key_region, dest_region),
                        );
                    }
                }
            }
            // A permission the policies do not grant, for objects like this one: a definite
            // gap first, then one that depends on conditions s3inv cannot evaluate.
            let destination = dest_name;
            let applies = |f: &&PermissionFinding| {
                f.destination.is_none() || f.destination.as_deref() == destination
            };
            let matching = |f: &&PermissionFinding| applies(f) && class_matches(f.applies_to, row);
            if let Some(f) = facts
                .permissions
                .iter()
                .filter(matching)
                .find(|f| !f.is_conditional())
                .or_else(|| facts.permissions.iter().find(matching))
                && let Some(cause) = causes::find(f.cause)
            {
                return decision(
                    cause,
                    if f.is_conditional() { Likely } else { Certain },
                    Evidence::Permission(f),
                );
            }
            if let Some(d) = foreign_owner(row, facts) {
                return d;
            }
            decision(
                &causes::FAILED_UNEXPLAINED,
                Likely,
                Evidence::Text("inventory: ReplicationStatus FAILED"),
            )
        }
        Status::Pending => {
            if row.last_modified.is_some_and(|lm| lm < stuck_before) {
                decision(
                    &causes::PENDING_STUCK,
                    Strong,
                    Evidence::Text("inventory: PENDING, last modified before the threshold"),
                )
            } else {
                decision(
                    &causes::PENDING_RECENT,
                    Certain,
                    Evidence::Text("inventory: PENDING, last modified within the threshold"),
                )
            }
        }
        _ => decision(
            &causes::OTHER_STATUS,
            Likely,
            Evidence::Text("inventory: ReplicationStatus"),
        ),
    }
}
