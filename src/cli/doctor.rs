//! `s3inv doctor LOCATION`: why the objects that are not COMPLETED did not replicate, one
//! cause per object and destination, with evidence and the fix.

use std::sync::Arc;

use clap::Args;
use datafusion::arrow::array::{ArrayRef, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::emit::Emit;
use super::{
    OutputArgs, SourceArgs, print_delivery_notes, print_notes, progress::ProgressLine,
    stdout_is_terminal,
};
use crate::batch::job::RestoreTier;
use crate::batch::report::read_job_report;
use crate::doctor::config::Bundle;
use crate::doctor::diagnose::{CauseRow, Diagnosis, DoctorOptions, diagnose};
use crate::doctor::events::{EventBatch, read_events};
use crate::doctor::facts::Facts;
use crate::doctor::redrive::{self, EmitOptions, Spools};
use crate::doctor::reported::Reported;
use crate::error::{Error, Result};
use crate::output::{OutputFormat, count, human_bytes, thousands, write_batch, write_text};
use crate::replication::Scope;
use crate::settings::RawManifest;
use crate::storage::Location;
use crate::table::{Session, SessionOptions};

#[derive(Debug, Args)]
#[command(after_help = after_help())]
pub struct DoctorArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub evidence: EvidenceArgs,

    /// Diagnose every version, delete markers too (default: current versions).
    #[arg(long)]
    pub all_versions: bool,

    /// PENDING objects older than this at delivery time are stuck (e.g. 24h, 3d).
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub pending_older_than: String,

    /// Example keys per row.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub examples: usize,

    /// When a rule was created (RULE_ID=2026-11-01T00:00:00Z): objects older than that in its
    /// scope were written before it (otherwise inferred from the first object it replicated).
    #[arg(long, value_name = "RULE=TIME")]
    pub rule_start: Vec<String>,

    /// Exit 1 when objects have one of these causes (comma-separated ids; `reported` for
    /// any reported failure reason), or `any`: every cause but the expected ones
    /// (pending-recent, replica, delete-marker-not-replicated).
    #[arg(long, value_name = "CAUSES")]
    pub fail_on: Vec<String>,

    /// Print the read-only AWS CLI script that exports the configuration documents of the
    /// source bucket, and exit. LOCATION is the bucket's name (or an inventory delivery of it).
    #[arg(long)]
    pub print_collect_script: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub redrive: RedriveArgs,
}

/// The help's epilogue: the cause ids come from the catalog, so the list is complete.
fn after_help() -> String {
    let ids: Vec<&str> = crate::doctor::causes::ALL.iter().map(|c| c.id).collect();
    format!(
        "Causes (stable ids; README, \"doctor\"): {}, and reported:<FailureReason> from events \
and completion reports.\n\n\
Formats: table (for people: the causes, then evidence, examples and fixes); csv, ndjson, \
parquet (one row per cause, status, rule and destination); json (one document).\n\n\
Re-drive: --emit-manifests DIR writes DIR/<cause>/ for each cause whose fix ends in a re-drive \
(Batch Replication manifests; restore manifests for archived objects; none for replica, \
pending-recent, other-destination, delete-marker-not-replicated, tag-filter-undecidable, \
unknown-status and reasons no re-drive gets past), \
with job requests when --role-arn is given, and DIR/causes.json listing them.\n\n\
Examples:\n  s3inv doctor testdata/buckets/acme-inventory/acme-data/csv-all\n  \
s3inv doctor --print-collect-script acme-data > collect.sh && OUT=cfg sh collect.sh\n  \
s3inv doctor s3://acme-inventory/acme-data/daily/ --config cfg --examples 5\n  \
s3inv doctor s3://acme-inventory/acme-data/daily/ --config cfg --emit-manifests redrive",
        ids.join(", ")
    )
}

/// `--emit-manifests` and what the manifests need.
#[derive(Debug, Args)]
#[command(next_help_heading = "Re-drive manifests")]
pub struct RedriveArgs {
    /// Write a Batch Operations manifest set per cause whose fix ends in a re-drive into
    /// DIR/<cause>/ (a local folder or an s3:// prefix), and DIR/causes.json.
    #[arg(long, value_name = "DIR")]
    pub emit_manifests: Option<String>,

    /// Replace the manifests an earlier --emit-manifests run wrote in DIR.
    #[arg(long, requires = "emit_manifests")]
    pub force: bool,

    /// Restore manifests: days a restored GLACIER / DEEP_ARCHIVE object stays available.
    #[arg(long, default_value_t = 7, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub restore_days: u32,

    /// Restore manifests: the retrieval tier.
    #[arg(long, default_value = "BULK", value_parser = ["BULK", "STANDARD"])]
    pub restore_tier: String,

    #[command(flatten)]
    pub job: super::manifest::JobArgs,
}

impl RedriveArgs {
    /// The settings, checked (None without --emit-manifests).
    fn options(&self, s3: &crate::storage::S3Options) -> Result<Option<EmitOptions>> {
        let Some(mut options) = emit_options(
            self.emit_manifests.as_deref(),
            self.force,
            &self.job,
            s3,
            &redrive::DOCTOR,
        )?
        else {
            return Ok(None);
        };
        options.restore_days = self.restore_days;
        options.restore_tier = RestoreTier::parse(&self.restore_tier)?;
        Ok(Some(options))
    }
}

/// `--emit-manifests DIR` with the job flags, checked (None without DIR), for `doctor` and
/// `diff`.
pub(super) fn emit_options(
    dir: Option<&str>,
    force: bool,
    job: &super::manifest::JobArgs,
    s3: &crate::storage::S3Options,
    index: &'static redrive::IndexSpec,
) -> Result<Option<EmitOptions>> {
    let Some(dir) = dir else {
        if job.role_arn.is_some() || job.manifest_url.is_some() {
            return Err(Error::Usage(
                "--role-arn and --manifest-url describe the re-drive jobs: give --emit-manifests DIR too".into(),
            ));
        }
        return Ok(None);
    };
    let local = !dir.trim_start().starts_with("s3://");
    if local && job.role_arn.is_some() && job.manifest_url.is_none() {
        return Err(Error::Usage(format!(
            "--role-arn with a local --emit-manifests {dir}: give --manifest-url s3://BUCKET/PREFIX too (where you will upload the folder), so the job requests can name the manifests"
        )));
    }
    let mut raw = RawManifest {
        out: dir.to_string(),
        statuses: vec!["FAILED".into()],
        force,
        ..RawManifest::default()
    };
    job.apply(&mut raw);
    Ok(Some(EmitOptions {
        raw,
        s3: s3.clone(),
        restore_days: 7,
        restore_tier: RestoreTier::Bulk,
        index,
    }))
}

/// What explains objects besides the inventory (shared by `doctor` and `report`).
#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// The documents the collect script exported (replication.json, dst/…, iam/…, kms/…); a
    /// missing file means "not checked".
    #[arg(long, value_name = "DIR", conflicts_with = "live")]
    pub config: Option<std::path::PathBuf>,

    /// Read the same documents now with the AWS SDK (S3, IAM, KMS; the default credential
    /// chain); a denied call is "cannot check", never an error.
    #[arg(long)]
    pub live: bool,

    /// With --live: the AWS profile for the destination buckets and their KMS keys, when
    /// they are in another account.
    #[arg(long, value_name = "PROFILE", requires = "live")]
    pub dest_profile: Option<String>,

    /// Replication events (OperationFailedReplication …) in any envelope they were collected
    /// in — S3 notification records, SNS, SQS dumps, Firehose, CloudWatch Logs exports: a
    /// file, a folder or an s3:// prefix (repeatable).
    #[arg(long, value_name = "PATH")]
    pub events: Vec<String>,

    /// Batch Operations completion reports (a job-<id>/ folder, its manifest.json or a
    /// result CSV; local or s3://; repeatable): failed tasks name their error code.
    #[arg(long, value_name = "PATH")]
    pub reports: Vec<String>,
}

impl EvidenceArgs {
    pub(super) fn given(&self) -> bool {
        self.config.is_some() || self.live || !self.events.is_empty() || !self.reports.is_empty()
    }

    /// Reads everything given, before any scan: a mistake in a document, an event file or a
    /// report costs no scan. Every configuration document is parsed now; the permission
    /// checks need the source bucket and are redone once the delivery names it.
    pub(super) async fn read(&self, s3: &crate::storage::S3Options) -> Result<Evidence> {
        let live = self.live.then(|| crate::doctor::collect::LiveOptions {
            s3: s3.clone(),
            dest_profile: self.dest_profile.clone(),
            credentials: None,
            dest_credentials: None,
        });
        let bundle = match &self.config {
            Some(dir) => {
                let bundle = Bundle::read_dir(dir)?;
                Facts::from_bundle(&bundle, "")?;
                Some(bundle)
            }
            None => None,
        };
        let events = if self.events.is_empty() {
            EventBatch::default()
        } else {
            read_events(&self.events, s3).await?
        };
        let mut reports = Vec::new();
        for path in &self.reports {
            reports.push(read_job_report(&Location::parse(path)?, s3).await?);
        }
        Ok(Evidence {
            bundle,
            live,
            events,
            reports,
        })
    }
}

/// The evidence, read.
pub(super) struct Evidence {
    bundle: Option<Bundle>,
    /// `--live`: the documents are read once the delivery names the source bucket.
    live: Option<crate::doctor::collect::LiveOptions>,
    events: EventBatch,
    reports: Vec<crate::batch::report::JobReport>,
}

impl Evidence {
    /// The facts and the reported reasons for the session's delivery, with notes on what
    /// was left out.
    pub(super) async fn for_session(
        &self,
        session: &Session,
    ) -> Result<(Facts, Reported, Vec<String>)> {
        let source_bucket = session.delivery.manifest.source_bucket.as_deref();
        let live = match (&self.live, source_bucket) {
            (Some(options), Some(bucket)) => Some(Bundle {
                files: crate::doctor::collect::collect_live(bucket, options).await?,
                origin: "live".into(),
            }),
            (Some(_), None) => {
                return Err(Error::Usage(
                    "--live needs the source bucket, and this delivery's manifest does not name it; collect with --print-collect-script and give --config".into(),
                ));
            }
            (None, _) => None,
        };
        let facts = match live.as_ref().or(self.bundle.as_ref()) {
            Some(bundle) => Facts::from_bundle(bundle, source_bucket.unwrap_or(""))?,
            None => Facts::none(),
        };
        let reported = Reported::new(source_bucket, &self.events, &self.reports);
        let mut notes = self.events.notes.clone();
        if reported.other_buckets > 0 {
            notes.push(format!(
                "{} of other buckets than {} left out",
                if reported.other_buckets == 1 {
                    "1 event or task".to_string()
                } else {
                    format!("{} events or tasks", thousands(reported.other_buckets))
                },
                source_bucket.unwrap_or("-")
            ));
        }
        if reported.without_reason > 0 {
            notes.push(format!(
                "{} without a failure reason (missed threshold, not tracked) left out",
                count(reported.without_reason, "replication event")
            ));
        }
        Ok((facts, reported, notes))
    }
}

/// Causes that are states S3 is meant to be in, not problems: `--fail-on any` skips them.
const EXPECTED: [&str; 3] = ["pending-recent", "replica", "delete-marker-not-replicated"];

/// The `--fail-on` ids, checked against the catalog.
fn fail_on(specs: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for id in specs.iter().flat_map(|s| s.split(',')).map(str::trim) {
        let known = id == "any"
            || id == "reported"
            || id.starts_with("reported:")
            || crate::doctor::causes::find(id).is_some();
        if !known {
            return Err(Error::Usage(format!(
                "--fail-on {id:?}: not a cause id; use any, reported, reported:<FailureReason> or one of {}",
                crate::doctor::causes::ALL
                    .iter()
                    .map(|c| c.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        out.push(id.to_string());
    }
    Ok(out)
}

/// Whether a row's cause is one `--fail-on` names.
fn fires(ids: &[String], cause: &str) -> bool {
    ids.iter().any(|id| match id.as_str() {
        "any" => !EXPECTED.contains(&cause),
        "reported" => cause.starts_with("reported:"),
        id => id == cause,
    })
}

pub(super) async fn run(args: DoctorArgs, quiet: bool) -> Result<i32> {
    if args.print_collect_script {
        let bucket = source_bucket_of(&args.source).await?;
        write_text(
            &crate::doctor::collect::collect_script(&bucket),
            &crate::output::Target::Stdout,
        )?;
        return Ok(0);
    }
    let source = args.source.raw().validate()?;
    let emit_options = args.redrive.options(&source.s3)?;
    let output = args.output.raw().validate(stdout_is_terminal())?;
    let fail_on = fail_on(&args.fail_on)?;
    let pending_older_than_ms = crate::table::age::parse_duration(&args.pending_older_than)
        .map_err(|e| Error::Usage(format!("--pending-older-than: {e}")))?;
    let mut rule_start_ms = std::collections::BTreeMap::new();
    for spec in &args.rule_start {
        let (rule, time) = spec.split_once('=').ok_or_else(|| {
            Error::Usage(format!(
                "--rule-start {spec:?}: write RULE_ID=TIME, like logs-to-dr=2026-11-01T00:00:00Z"
            ))
        })?;
        let ms = crate::format::timestamp::parse_timestamp_millis(time.trim().as_bytes())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--rule-start {spec:?}: {time:?} is not a time; write it like 2026-11-01T00:00:00Z"
                ))
            })?;
        if rule_start_ms.insert(rule.trim().to_string(), ms).is_some() {
            return Err(Error::Usage(format!(
                "--rule-start {}: given twice; give each rule's start once",
                rule.trim()
            )));
        }
    }
    let options = DoctorOptions {
        scope: Scope::new(args.all_versions),
        pending_older_than_ms,
        pending_older_than_label: args.pending_older_than.trim().to_string(),
        examples: args.examples,
        rule_start_ms,
    };
    let evidence = args.evidence.read(&source.s3).await?;
    // Rule ids are checked before the scan when the configuration is a folder (live, it is
    // read once the delivery names the bucket).
    match (&evidence.bundle, &evidence.live) {
        (Some(bundle), _) => check_rule_starts(&options, &Facts::from_bundle(bundle, "")?)?,
        (None, None) => check_rule_starts(&options, &Facts::none())?,
        (None, Some(_)) => {}
    }
    // Before the scan: may we write the manifests where they are to go?
    let emit_target = match &emit_options {
        Some(o) => Some(o.check().await?),
        None => None,
    };
    let session_options = SessionOptions {
        at: source.at.clone(),
        verify: source.verify,
        memory_limit: source.memory_limit,
        target_partitions: source.threads,
        required: vec![("replication_status", "s3inv doctor".to_string())],
        ..SessionOptions::default()
    };
    let emit = Emit::open(&output.target, &source.s3).await?;
    let progress = ProgressLine::start(Arc::clone(&session_options.progress), quiet);
    let result = async {
        let session = Session::open(&source.location, &source.s3, &session_options).await?;
        print_delivery_notes(&session.delivery.notes);
        let (facts, reported, mut notes) = evidence.for_session(&session).await?;
        check_rule_starts(&options, &facts)?;
        if args.all_versions && session.columns.is_current_only() {
            notes.push(
                "this delivery lists current versions only (no version fields): --all-versions shows nothing more".into(),
            );
        }
        print_notes(&notes, quiet);
        let mut spools = emit_target
            .is_some()
            .then(|| Spools::new(session.columns.has_version_ids()));
        let mut diagnosis =
            diagnose(&session, &facts, &reported, &options, spools.as_mut()).await?;
        let written = match (spools, emit_target, &emit_options) {
            (Some(spools), Some(target), Some(o)) => {
                Some(redrive::write(&session, spools, o, target).await?)
            }
            _ => None,
        };
        if let Some(w) = &written {
            for row in diagnosis.rows.iter_mut() {
                row.manifest = w
                    .emitted
                    .iter()
                    .find(|e| e.cause == row.cause)
                    .map(|e| e.location.clone());
            }
        }
        Ok::<_, Error>((session, diagnosis, written))
    }
    .await;
    progress.finish();
    let (session, diagnosis, written) = result?;
    match output.format {
        OutputFormat::Table => {
            let mut out = text(&diagnosis, &session, args.examples)?;
            if let Some(w) = &written {
                out.push_str(&redrive_text(w));
            }
            write_text(&out, emit.target())?
        }
        OutputFormat::Json => {
            let mut doc = serde_json::to_value(&diagnosis).expect("json");
            if let Some(w) = &written {
                doc["manifests"] = w.index.clone().into();
            }
            doc["s3inv_doctor_version"] = 1.into();
            doc["delivery"] = crate::output::summary::delivery_json(&session.delivery);
            doc["notes"] = serde_json::to_value(&session.delivery.notes).expect("json");
            let text = serde_json::to_string_pretty(&doc).expect("json") + "\n";
            write_text(&text, emit.target())?;
        }
        OutputFormat::Ndjson => {
            let mut text = String::new();
            for row in &diagnosis.rows {
                text.push_str(&serde_json::to_string(row).expect("json"));
                text.push('\n');
            }
            write_text(&text, emit.target())?;
        }
        format => {
            write_batch(rows_batch(&diagnosis.rows)?, format, emit.target()).await?;
        }
    }
    emit.finish().await?;
    // Objects per cause: each object has one cause per destination, so the count is the
    // largest over the destinations, never their sum.
    let mut per_destination: std::collections::BTreeMap<(&str, Option<&str>), u64> =
        Default::default();
    for r in diagnosis.rows.iter().filter(|r| fires(&fail_on, &r.cause)) {
        *per_destination
            .entry((r.cause.as_str(), r.destination.as_deref()))
            .or_default() += r.objects;
    }
    let mut per_cause: std::collections::BTreeMap<&str, u64> = Default::default();
    for ((cause, _), objects) in per_destination {
        let n = per_cause.entry(cause).or_default();
        *n = (*n).max(objects);
    }
    let fired: Vec<String> = per_cause
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(cause, n)| format!("{cause} ({})", count(n, "object")))
        .collect();
    if fired.is_empty() {
        Ok(0)
    } else {
        eprintln!("s3inv: alert: {}", fired.join(", "));
        Ok(1)
    }
}

/// The rows as one table (CSV, Parquet): lists joined with "; ".
fn rows_batch(rows: &[CauseRow]) -> Result<RecordBatch> {
    let text = |f: &dyn Fn(&CauseRow) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from_iter(rows.iter().map(f)))
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("cause", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("rule", DataType::Utf8, true),
        Field::new("destination", DataType::Utf8, true),
        Field::new("objects", DataType::UInt64, false),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("confidence", DataType::Utf8, false),
        Field::new("oldest_last_modified", DataType::Utf8, true),
        Field::new("newest_last_modified", DataType::Utf8, true),
        Field::new("examples", DataType::Utf8, false),
        Field::new("evidence", DataType::Utf8, false),
        Field::new("title", DataType::Utf8, false),
        Field::new("fix", DataType::Utf8, false),
        Field::new("manifest", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        text(&|r| Some(r.cause.clone())),
        text(&|r| Some(r.status.clone())),
        text(&|r| r.rule.clone()),
        text(&|r| r.destination.clone()),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| r.objects),
        )),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.bytes))),
        text(&|r| Some(r.confidence.clone())),
        text(&|r| r.oldest_last_modified.clone()),
        text(&|r| r.newest_last_modified.clone()),
        text(&|r| Some(r.examples.join("; "))),
        text(&|r| Some(r.evidence.join("; "))),
        text(&|r| Some(r.title.clone())),
        text(&|r| Some(r.fix.clone())),
        text(&|r| r.manifest.clone()),
    ];
    RecordBatch::try_new(schema, columns).map_err(|e| Error::Query(e.to_string()))
}

/// The report for people.
fn text(d: &Diagnosis, session: &Session, examples_wanted: usize) -> Result<String> {
    let delivery = &session.delivery;
    let total: u64 = d.totals.values().map(|c| c.objects).sum();
    let mut out = format!(
        "delivery {} ({}), scope {}: {} not COMPLETED{}\n",
        delivery.name.as_deref().unwrap_or("-"),
        delivery.manifest.file_format,
        d.scope,
        crate::output::count(total, "object"),
        if d.totals.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                d.totals
                    .iter()
                    .map(|(s, c)| format!("{s} {}", thousands(c.objects)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if d.rows.is_empty() {
        out.push_str("nothing to diagnose: every object in scope is COMPLETED\n");
    } else {
        let headers = [
            "cause",
            "status",
            "rule",
            "destination",
            "objects",
            "bytes",
            "confidence",
        ];
        let rows: Vec<Vec<String>> = d
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.cause.clone(),
                    r.status.clone(),
                    r.rule.clone().unwrap_or_else(|| "-".into()),
                    r.destination.clone().unwrap_or_else(|| "-".into()),
                    thousands(r.objects),
                    human_bytes(r.bytes),
                    r.confidence.clone(),
                ]
            })
            .collect();
        let batch = crate::output::text_batch(&headers, &rows)?;
        out.push_str(&crate::output::terminal::pretty(&[batch])?);
        out.push('\n');
        // Then each cause once, in the table's order: its title, the evidence and example
        // keys of all its rows (each line once), and the fix.
        let mut causes: Vec<&str> = Vec::new();
        for r in &d.rows {
            if !causes.contains(&r.cause.as_str()) {
                causes.push(&r.cause);
            }
        }
        for cause in causes {
            let rows: Vec<&CauseRow> = d.rows.iter().filter(|r| r.cause == cause).collect();
            out.push_str(&format!("\n{cause}: {}\n", rows[0].title));
            let mut seen = std::collections::BTreeSet::new();
            for e in rows.iter().flat_map(|r| &r.evidence) {
                if seen.insert(e) {
                    out.push_str(&format!("  evidence: {e}\n"));
                }
            }
            let mut examples: Vec<&str> = Vec::new();
            for e in rows.iter().flat_map(|r| &r.examples) {
                if !examples.contains(&e.as_str()) && examples.len() < examples_wanted {
                    examples.push(e);
                }
            }
            if !examples.is_empty() {
                out.push_str(&format!("  examples: {}\n", examples.join(", ")));
            }
            out.push_str(&format!("  fix: {}\n", rows[0].fix));
        }
    }
    if !d.findings.is_empty() {
        out.push_str("\nconfiguration findings:\n");
        for f in &d.findings {
            out.push_str(&format!("  - {} ({})\n", f.message, f.evidence));
        }
    }
    if !d.not_checked.is_empty() {
        out.push_str("\nnot checked:\n");
        for n in &d.not_checked {
            out.push_str(&format!("  - {n}\n"));
        }
    }
    Ok(out)
}

/// `--rule-start` names rules of the configuration read.
fn check_rule_starts(options: &DoctorOptions, facts: &Facts) -> Result<()> {
    if options.rule_start_ms.is_empty() {
        return Ok(());
    }
    let Some(config) = facts.config() else {
        return Err(Error::Usage(
            "--rule-start needs the replication configuration: give --config DIR or --live".into(),
        ));
    };
    for rule in options.rule_start_ms.keys() {
        if !config.rules.iter().any(|r| &r.id == rule) {
            let ids: Vec<&str> = config.rules.iter().map(|r| r.id.as_str()).collect();
            return Err(Error::Usage(format!(
                "--rule-start {rule}: no rule with that ID in {} (rules: {})",
                config.origin,
                ids.join(", ")
            )));
        }
    }
    Ok(())
}

/// The bucket `--print-collect-script` is for: LOCATION when it is a bucket name (or
/// `s3://bucket`), else the source bucket its inventory delivery names.
async fn source_bucket_of(source: &SourceArgs) -> Result<String> {
    let given = source.location.trim();
    let name = given
        .strip_prefix("s3://")
        .unwrap_or(given)
        .trim_end_matches('/');
    let bucket_like = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    // A bare name is the bucket's even when a local folder of that name exists (a copy
    // of the bucket is common); a delivery folder is written as a path (./acme-data/…).
    if bucket_like && (given.starts_with("s3://") || !given.contains('/')) {
        return Ok(name.to_string());
    }
    let raw = source.raw().validate()?;
    let store = crate::storage::Store::open(&raw.location, &raw.s3).await?;
    let delivery =
        crate::manifest::open_delivery(&raw.location, &store, raw.at.as_ref(), false).await?;
    delivery.manifest.source_bucket.clone().ok_or_else(|| {
        Error::Usage(format!(
            "--print-collect-script: the delivery at {given} does not name its source bucket; give the bucket's name instead"
        ))
    })
}

/// The re-drive section of the table output: each cause's manifests and how to submit them.
pub(super) fn redrive_text(w: &redrive::Written) -> String {
    let mut out = String::from("\nre-drive manifests:\n");
    // A note every cause's manifests carry (no --role-arn, where to upload) once.
    let shared: Vec<&String> = match w.emitted.split_first() {
        Some((first, rest)) if !rest.is_empty() => first
            .report
            .notes
            .iter()
            .filter(|n| rest.iter().all(|e| e.report.notes.contains(n)))
            .collect(),
        _ => Vec::new(),
    };
    if w.emitted.is_empty() {
        out.push_str("  none: no cause has objects a re-drive or a restore would act on\n");
    }
    for e in &w.emitted {
        let total = e.report.total();
        let verb = match e.action {
            redrive::Action::Restore { .. } => "restore",
            _ => "replicate",
        };
        out.push_str(&format!(
            "  {}: {verb} {} ({}) — {}\n",
            e.cause,
            count(total.objects, "object"),
            human_bytes(total.bytes),
            e.location
        ));
        for (reason, c) in &e.report.skipped {
            out.push_str(&format!(
                "    skipped {} ({}): {reason}\n",
                thousands(c.objects),
                human_bytes(c.bytes)
            ));
        }
        for j in &e.report.jobs {
            out.push_str(&format!("    job request: {}\n", j.location));
        }
        for n in e.report.notes.iter().filter(|n| !shared.contains(n)) {
            out.push_str(&format!("    note: {n}\n"));
        }
    }
    for n in &shared {
        out.push_str(&format!("  note: {n}\n"));
    }
    for (cause, skipped) in &w.nothing_to_write {
        let n: u64 = skipped.values().map(|c| c.objects).sum();
        out.push_str(&format!(
            "  {cause}: nothing to write ({} skipped: {})\n",
            thousands(n),
            skipped.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    if !w.removed.is_empty() {
        out.push_str(&format!(
            "  removed {} file(s) of an earlier run\n",
            thousands(w.removed.len() as u64)
        ));
    }
    out.push_str(&format!("  index: {}\n", w.index));
    out
}
