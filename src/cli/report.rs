//! `s3inv report LOCATION --out DIR`: the nightly report, trends, alerts and metrics.

use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::emit::Emit;
use super::{SourceArgs, print_delivery_notes, progress::ProgressLine};
use crate::batch::dest::Destination;
use crate::batch::manifest::{ManifestOptions, write_manifests};
use crate::error::{Error, Result};
use crate::output::{Target, write_text};
use crate::progress::Progress;
use crate::report::alert::{Condition, prometheus};
use crate::report::{ReportOptions, build, html, markdown, status_rows};
use crate::storage::Location;
use crate::table::age::parse_duration;
use crate::table::{Session, SessionOptions};

#[derive(Debug, Args)]
#[command(
    after_help = "Writes report.html (self-contained), report.json (versioned), report.md and \
history/<source-bucket>__<config-id>__<created>.json into DIR (local or s3://).\n\nAlert metrics for --fail-on: objects, bytes, \
failed_objects, failed_bytes, pending_objects, pending_bytes, stuck_pending, stuck_pending_bytes, \
never_replicated_objects, never_replicated_bytes, unreplicated_objects, unreplicated_bytes, \
unreplicated_objects_pct, unreplicated_bytes_pct, replicated_pct, newly_failed, left_failed, \
became_stuck. Operators: > >= < <= == !=.\n\nnewly_failed, left_failed and became_stuck are \
unknown without a comparison (the first delivery, --compare 0, no readable earlier delivery), \
replicated_pct when no bytes need replicating: unknown is not 0, so a condition on an unknown \
metric does not trigger, and a note says so (null in report.json, n/a or unknown in report.md \
and report.html, left out of --metrics).\n\nNotes that change what the numbers mean (an \
incomplete newest delivery skipped, an earlier delivery left out of the comparison, no \
comparison, a condition not evaluated) are in report.json, report.md and report.html, and \
printed on stderr even with --quiet.\n\nExit codes: 0 no condition holds, 1 a --fail-on \
condition holds (the reasons on one line, printed before the files are written), 2 error.\n\nCron: \
17 3 * * * s3inv report s3://acme-inventory/acme-data/daily/ --out s3://acme-ops/replication-report/ \
--fail-on 'failed_objects>0' --fail-on 'stuck_pending>1000' --metrics /var/lib/node_exporter/s3inv.prom -q"
)]
pub struct ReportArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Where to write the report: a local folder or an s3:// prefix.
    #[arg(long, value_name = "DIR")]
    pub out: String,

    /// Compare with the N latest earlier deliveries [default: the previous one and the
    /// one 7 days earlier, when present].
    #[arg(long, value_name = "N")]
    pub compare: Option<usize>,

    /// PENDING objects older than this at delivery time are stuck.
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub pending_older_than: String,

    /// Prefix depth of the top-prefixes breakdown.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub depth: usize,

    /// Rows in the top-prefixes and largest-FAILED tables.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub top: usize,

    /// Exit 1 when this condition holds, e.g. "failed_objects>0" (repeatable).
    #[arg(long, value_name = "CONDITION")]
    pub fail_on: Vec<String>,

    /// Also write the headline numbers in Prometheus text format to this file (local or
    /// s3://).
    #[arg(long, value_name = "PATH")]
    pub metrics: Option<std::path::PathBuf>,

    /// Also write the FAILED+PENDING Batch Replication manifests into DIR/manifests/.
    #[arg(long)]
    pub with_manifests: bool,

    /// Also compare with this destination bucket's inventory (repeatable), as `s3inv diff`
    /// does: a "Replicas" section per destination and the missing_at_destination and
    /// mismatch_at_destination metrics (--config, when given, scopes each destination).
    #[arg(long = "dest", value_name = "DEST")]
    pub dest: Vec<String>,

    /// With --dest: in a destination's configuration folder, this delivery.
    #[arg(long, value_name = "DATE", requires = "dest")]
    pub dest_at: Vec<String>,

    /// With --dest: versions modified this long before the other side's delivery are
    /// in-flight.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub lag: String,

    /// With any of these, the report gains a "Why" section: `s3inv doctor`'s causes.
    #[command(flatten)]
    pub evidence: super::doctor::EvidenceArgs,
}

fn step(quiet: bool, text: String) {
    if !quiet {
        super::progress::message(&format!("s3inv: {text}"));
    }
}

pub(super) async fn run(args: ReportArgs, quiet: bool) -> Result<i32> {
    // A failed run leaves no folder behind that it created (and left empty).
    let new_folders = crate::output::NewFolders::before_creating(&Location::parse(&args.out)?);
    let result = run_to(args, quiet).await;
    if result.is_err() {
        new_folders.remove_if_empty();
    }
    result
}

async fn run_to(args: ReportArgs, quiet: bool) -> Result<i32> {
    let source = args.source.raw().validate()?;
    if args.depth == 0 {
        return Err(Error::Usage("--depth must be at least 1".into()));
    }
    let fail_on = args
        .fail_on
        .iter()
        .map(|c| Condition::parse(c))
        .collect::<Result<Vec<_>>>()?;
    let options = ReportOptions {
        compare: args.compare,
        pending_older_than_ms: parse_duration(&args.pending_older_than)
            .map_err(|e| Error::Usage(format!("--pending-older-than: {e}")))?,
        pending_older_than_label: args.pending_older_than.trim().to_string(),
        prefix_depth: args.depth,
        top: args.top.max(1),
        fail_on,
        verify: source.verify,
    };
    let dest_at = super::diff::dest_at(&args.dest, &args.dest_at)?;
    let dest_locations: Vec<Location> = args
        .dest
        .iter()
        .map(|d| Location::parse(d))
        .collect::<Result<_>>()?;
    let lag_ms = super::diff::parse_lag(&args.lag)?;
    let replication = match (&args.evidence.config, args.dest.is_empty()) {
        (Some(dir), false) => Some(super::diff::read_config(dir)?),
        _ => None,
    };
    let out = Location::parse(&args.out)?;
    let sub = |name: &str| -> Location {
        match &out {
            Location::Local(p) => Location::Local(p.join(name)),
            Location::S3 { bucket, key } => Location::S3 {
                bucket: bucket.clone(),
                key: format!("{}/{name}", key.trim_end_matches('/'))
                    .trim_start_matches('/')
                    .to_string(),
            },
        }
    };
    let dest = Destination::open(&out, &source.s3).await?;
    dest.check_writable().await?;
    let history = Destination::open(&sub("history"), &source.s3).await?;
    let metrics = match &args.metrics {
        Some(path) => Some(Emit::open(&Target::from_path(path, "--metrics")?, &source.s3).await?),
        None => None,
    };
    let session_options = SessionOptions {
        at: source.at.clone(),
        verify: source.verify,
        memory_limit: source.memory_limit.or(Some(2 << 30)),
        target_partitions: source.threads,
        required: vec![("replication_status", "s3inv report".to_string())],
        ..SessionOptions::default()
    };
    let evidence = match args.evidence.given() {
        true => Some(args.evidence.read(&source.s3).await?),
        false => None,
    };
    let started = Instant::now();
    let progress = ProgressLine::start(Arc::clone(&session_options.progress), quiet);
    let result = async {
        let session = Session::open(&source.location, &source.s3, &session_options).await?;
        let d = &session.delivery;
        step(
            quiet,
            format!(
                "step=open delivery={} format={} files={} bytes={} verified={} elapsed_ms={}",
                d.name.as_deref().unwrap_or("-"),
                d.manifest.file_format,
                d.files.len(),
                d.manifest.total_bytes(),
                source.verify,
                started.elapsed().as_millis()
            ),
        );
        print_delivery_notes(&d.notes);
        let session_notes = d.notes.clone();
        let t = Instant::now();
        let (mut report, record) = build(&session, &source.location, &history, &options).await?;
        if let Some(evidence) = &evidence {
            let (facts, reported, notes) = evidence.for_session(&session).await?;
            super::print_notes(&notes, quiet);
            let doctor = crate::doctor::diagnose::DoctorOptions {
                pending_older_than_ms: options.pending_older_than_ms,
                pending_older_than_label: options.pending_older_than_label.clone(),
                ..Default::default()
            };
            report.why = Some(
                crate::doctor::diagnose::diagnose(&session, &facts, &reported, &doctor, None)
                    .await?,
            );
        }
        if !args.dest.is_empty() {
            let destinations = super::diff::open_destinations(
                &session,
                &super::diff::DestSpec {
                    dest: &args.dest,
                    dest_at: &dest_at,
                    locations: &dest_locations,
                    lag_ms,
                    config: replication.as_ref(),
                    dimensions: &[],
                },
                &source,
                quiet,
            )
            .await?;
            let pass = crate::diff::PassOptions {
                examples: 3,
                budget: source.memory_limit.map(|m| m as u64),
                ..Default::default()
            };
            let mut diffs = Vec::new();
            for d in &destinations {
                diffs.push(crate::diff::compare(&session, d, &pass, None, None).await?);
            }
            report.add_replicas(&diffs, &options.fail_on);
        }
        Ok::<_, Error>((session, report, record, session_notes, t.elapsed()))
    }
    .await;
    // The line goes before the last step line: nothing is drawn again below it.
    progress.finish();
    let (session, report, record, session_notes, analysed_in) = result?;
    let p = &session.progress;
    step(
        quiet,
        format!(
            "step=analyse rows={} rows_read={} bytes_read={} comparisons={} elapsed_ms={}",
            Progress::get(&p.delivery_rows),
            Progress::get(&p.rows),
            Progress::get(&p.scanned_bytes),
            report.comparisons.len(),
            analysed_in.as_millis()
        ),
    );
    // The delivery's own notes were printed when it was opened (even with --quiet). Notes that
    // change what the numbers mean are printed even with --quiet: a cron mail must show
    // that yesterday's delivery was skipped. All of them are in the report files too.
    for n in &report.notes {
        let shown_at_open = session_notes.contains(&n.text);
        if !shown_at_open && (!quiet || n.weighs) {
            eprintln!("s3inv: note: {}", n.text);
        }
    }
    // The alert line comes before any output is written: a failing write (exit 2) must not
    // hide what the numbers said.
    let fired: Vec<String> = report
        .alerts
        .iter()
        .filter(|a| a.triggered)
        .map(|a| format!("{} (value {})", a.condition, a.shown_value()))
        .collect();
    if !fired.is_empty() {
        eprintln!("s3inv: alert: {}", fired.join("; "));
    }
    let manifests = if args.with_manifests {
        let progress = ProgressLine::start(Arc::clone(&session_options.progress), quiet);
        let written = async {
            let mdest = Destination::open(&sub("manifests"), &source.s3).await?;
            let options = ManifestOptions {
                force: true,
                ..ManifestOptions::default()
            };
            write_manifests(&session, &mdest, &options).await
        }
        .await;
        progress.finish();
        Some(written?.total().objects)
    } else {
        None
    };
    let t = Instant::now();
    let json = serde_json::to_string_pretty(&report).expect("json") + "\n";
    dest.write_whole("report.json", json.as_bytes()).await?;
    dest.write_whole("report.md", markdown::render(&report).as_bytes())
        .await?;
    dest.write_whole("report.html", html::render(&report).as_bytes())
        .await?;
    history
        .write_whole(
            &record.file_name(),
            (serde_json::to_string_pretty(&record).expect("json") + "\n").as_bytes(),
        )
        .await?;
    if let Some(metrics) = metrics {
        let source_bucket = report.delivery["source_bucket"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let text = prometheus(
            &report.metrics,
            &[("source_bucket", &source_bucket)],
            &status_rows(&report),
        );
        write_text(&text, metrics.target())?;
        metrics.finish().await?;
    }
    step(
        quiet,
        format!(
            "step=write out={} files=report.html,report.json,report.md,history/{}{} elapsed_ms={}",
            dest.shown(),
            record.file_name(),
            manifests
                .map(|n| format!(" manifest_objects={n}"))
                .unwrap_or_default(),
            t.elapsed().as_millis()
        ),
    );
    Ok(if fired.is_empty() { 0 } else { 1 })
}
