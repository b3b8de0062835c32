//! The command line: clap definitions, one file per subcommand, progress rendering. The
//! only module that knows clap or writes to stderr.
//!
//! Exit codes: 0 success, 1 findings (when `--fail-on` asks for it), 2 error. A broken
//! pipe (`s3inv sql … | head`) is a success.

mod deliveries;
mod diff;
mod doctor;
mod emit;
mod generate;
mod manifest;
mod progress;
mod queries;
mod report;
mod sql;
mod summary;

use std::path::PathBuf;

pub use progress::{LogWriter, log_writer};

use clap::{Args, Parser, Subcommand};

use crate::error::Error;
use crate::settings::{RawOutput, RawSource};

/// Answers which S3 objects did not replicate, where they are, and why — from S3
/// Inventory deliveries (CSV.gz, ORC, Parquet; local folders or s3://).
#[derive(Debug, Parser)]
#[command(
    name = "s3inv",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_help = "LOCATION is a manifest.json, a dated delivery folder \
(…/<source-bucket>/<config-id>/2026-11-20T01-00Z/) or a configuration folder \
(…/<source-bucket>/<config-id>/, newest complete delivery unless --at). Local paths and \
s3:// URLs work everywhere; S3 credentials come from the AWS default chain.\n\n\
Exit codes: 0 success, 1 findings (--fail-on), 2 error.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// No progress line, steps or notes on stderr (except notes that change what the
    /// numbers mean: a skipped incomplete delivery, a report's comparison left out).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run SQL over a delivery's `inventory` table.
    #[command(after_help = "Examples:\n  \
s3inv sql testdata/buckets/acme-inventory/acme-data/csv-all \\\n    \
\"SELECT replication_status, count(*), sum(size) FROM inventory GROUP BY 1\"\n  \
s3inv sql s3://acme-inventory/acme-data/daily --file failed.sql --output failed.parquet\n\n\
The table `inventory` has the 21 AWS columns (bucket, key, version_id, is_latest, \
is_delete_marker, size, last_modified_date, e_tag, storage_class, is_multipart_uploaded, \
replication_status, encryption_status, object_lock_retain_until_date, object_lock_mode, \
object_lock_legal_hold_status, intelligent_tiering_access_tier, bucket_key_status, \
checksum_algorithm, object_access_control_list, object_owner, lifecycle_expiration_date). \
Keys are decoded; empty values are NULL; replication_status NULL means never replicated. \
SQL is read-only.\n\n\
Helpers: key_prefix(key, depth), age_bucket(last_modified_date [, '1h,1d,7d']), \
delivery_time(), batch_key(key).")]
    Sql(SqlArgs),
    /// Objects and bytes per replication status, by prefix, age, tag, storage class, …
    Summary(summary::SummaryArgs),
    /// Write S3 Batch Replication manifests and CreateJob requests for what did not replicate.
    Manifest(Box<manifest::ManifestArgs>),
    /// Summarise a Batch Operations completion report by task status and error code.
    JobReport(manifest::JobReportArgs),
    /// The nightly report: report.html/json/md, trends between deliveries, alerts.
    Report(Box<report::ReportArgs>),
    /// Why objects did not replicate: one cause per object and destination, with the fix.
    Doctor(Box<doctor::DoctorArgs>),
    /// Are the replicas there? The source inventory against each destination's, per
    /// destination: missing, mismatched, in flight, only at the destination, …
    Diff(Box<diff::DiffArgs>),
    /// List the canned questions (`s3inv sql LOCATION --query NAME` runs one).
    Queries(queries::QueriesArgs),
    /// List the deliveries of an inventory configuration folder.
    Deliveries(DeliveriesArgs),
    /// Write realistic test deliveries (CSV.gz, ORC, Parquet) in the real bucket layout.
    Generate(generate::GenerateArgs),
}

/// How to reach S3 (credentials always come from the AWS default chain).
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// S3-compatible endpoint, e.g. http://127.0.0.1:9000.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// AWS region (default: the bucket's own region).
    #[arg(long)]
    pub region: Option<String>,

    /// Retries of a failed S3 request (5xx, 429 throttling, a dropped connection, a body
    /// cut short), with exponential backoff from 200 ms to 20 s between tries.
    #[arg(long, value_name = "N", default_value_t = crate::storage::S3Options::DEFAULT_RETRIES)]
    pub retries: usize,

    /// Give up on an S3 request this long after its first try, retries included (e.g.
    /// 2m, 30s).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = crate::settings::parse_timeout)]
    pub timeout: std::time::Duration,
}

impl StoreArgs {
    /// A raw source for `location` reached this way.
    fn raw(&self, location: &str) -> RawSource {
        RawSource {
            location: location.to_string(),
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            retries: self.retries,
            timeout: self.timeout,
            ..Default::default()
        }
    }
}

/// Where the delivery is and how to read it.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// A manifest.json, a dated delivery folder or a configuration folder (local or s3://).
    pub location: String,

    /// In a configuration folder, use the delivery of this day (2026-11-20) or this exact
    /// delivery (2026-11-20T01-00Z) instead of the newest complete one.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,

    /// Skip manifest.checksum and data-file MD5 checks (sizes are still checked).
    #[arg(long)]
    pub no_verify: bool,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Bound DataFusion's memory pool, e.g. 2G; queries that need more fail or spill.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,

    /// Files scanned in parallel (default: the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl SourceArgs {
    fn raw(&self) -> RawSource {
        RawSource {
            location: self.location.clone(),
            at: self.at.clone(),
            no_verify: self.no_verify,
            endpoint_url: self.store.endpoint_url.clone(),
            region: self.store.region.clone(),
            retries: self.store.retries,
            timeout: self.store.timeout,
            memory_limit: self.memory_limit.clone(),
            threads: self.threads,
        }
    }
}

/// `--by` and the options of its dimensions (`summary`, `diff`).
#[derive(Debug, Args)]
pub struct GroupArgs {
    /// Group by these dimensions (comma-separated): prefix, age, tag:KEY, storage_class, …
    #[arg(long, value_name = "DIMS")]
    pub by: Vec<String>,

    /// Prefix depth for --by prefix: the key up to and including its N-th '/'.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub depth: usize,

    /// Age bucket boundaries for --by age, e.g. 1h,1d,7d,30d [default: 1d,7d,30d,90d,365d].
    #[arg(long, value_name = "LIST")]
    pub age_buckets: Option<String>,
}

/// How to print results.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format (default: table on a terminal, csv when piped, or from --output's
    /// extension).
    #[arg(long, short, value_parser = crate::output::OutputFormat::NAMES)]
    pub format: Option<String>,

    /// Write to this file or s3:// object (complete or not at all) instead of stdout; a
    /// name ending in .gz is written gzip-compressed (e.g. failed.csv.gz).
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

impl OutputArgs {
    fn raw(&self) -> RawOutput {
        RawOutput {
            format: self.format.clone(),
            output: self.output.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// The SQL query (reads the table `inventory`).
    pub sql: Option<String>,

    /// Read the SQL from this file instead.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Run a canned query (`s3inv queries` lists them).
    #[arg(long, value_name = "NAME")]
    pub query: Option<String>,

    /// A canned query's parameter, NAME=VALUE (repeatable).
    #[arg(long, value_name = "NAME=VALUE")]
    pub param: Vec<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// A configuration folder …/<source-bucket>/<config-id>/ (local or s3://).
    pub location: String,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// How long an ending run waits for its clean-up (aborting uploads, deleting staged files).
const CLEANUP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs a parsed command line; returns the process exit code. SIGINT and SIGTERM cancel the
/// command: its future is dropped, so temporary files are removed and uploads aborted as
/// they drop, and the exit code is 130 (SIGINT) or 143 (SIGTERM).
pub async fn run(cli: Cli) -> i32 {
    let command = run_command(cli);
    let result = tokio::select! {
        result = command => result,
        (code, name) = interrupted() => {
            crate::batch::dest::finish_cleanup(CLEANUP_WAIT).await;
            eprintln!("s3inv: error: interrupted by {name}");
            return code;
        }
    };
    crate::batch::dest::finish_cleanup(CLEANUP_WAIT).await;
    match result {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

/// Waits for SIGINT or SIGTERM; returns the exit code (128 + signal) and the name.
async fn interrupted() -> (i32, &'static str) {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => (130, "SIGINT"),
            _ = term.recv() => (143, "SIGTERM"),
        },
        // Without handlers the signals keep their default action.
        _ => std::future::pending().await,
    }
}

async fn run_command(cli: Cli) -> crate::Result<i32> {
    let quiet = cli.quiet;
    match cli.command {
        Command::Sql(args) => sql::run(args, quiet).await,
        Command::Summary(args) => summary::run(args, quiet).await,
        Command::Queries(args) => queries::run(args).await,
        Command::Manifest(args) => manifest::run(*args, quiet).await,
        Command::Report(args) => report::run(*args, quiet).await,
        Command::Doctor(args) => doctor::run(*args, quiet).await,
        Command::Diff(args) => diff::run(*args, quiet).await,
        Command::JobReport(args) => manifest::job_report(args).await,
        Command::Deliveries(args) => deliveries::run(args, quiet).await,
        Command::Generate(args) => generate::run(args, quiet),
    }
}

/// Prints an error; returns its exit code.
fn report(e: &Error) -> i32 {
    if is_broken_pipe(e) {
        return 0;
    }
    eprintln!("s3inv: error: {e}");
    2
}

fn is_broken_pipe(e: &Error) -> bool {
    match e {
        Error::Io { source, .. } => source.kind() == std::io::ErrorKind::BrokenPipe,
        Error::Query(m) => m.contains("Broken pipe"),
        _ => false,
    }
}

/// Prints notes about the delivery (skipped incomplete deliveries and the like).
fn print_notes(notes: &[String], quiet: bool) {
    if !quiet {
        for n in notes {
            progress::message(&format!("s3inv: note: {n}"));
        }
    }
}

/// The notes of opening a delivery (a newer, incomplete delivery skipped): printed even
/// with `--quiet`, as the answer is then about an older delivery than the user may think.
fn print_delivery_notes(notes: &[String]) {
    print_notes(notes, false);
}

fn stdout_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal()
}
