//! `s3inv manifest LOCATION --out DEST`: Batch Replication manifests and CreateJob requests
//! for PENDING, FAILED and never-replicated objects. `s3inv job-report`: what a job did.

use std::sync::Arc;

use clap::Args;

use super::emit::Emit;
use super::{
    OutputArgs, SourceArgs, print_delivery_notes, print_notes, progress::ProgressLine,
    stdout_is_terminal,
};
use crate::batch::dest::Destination;
use crate::batch::manifest::{ManifestReport, write_manifests};
use crate::batch::report::read_job_report;
use crate::error::Result;
use crate::output::{OutputFormat, Target, count, human_bytes, thousands, write_batch, write_text};
use crate::settings::RawManifest;
use crate::storage::Location;
use crate::table::{Session, SessionOptions};

/// The job requests' settings (shared by `manifest` and `doctor --emit-manifests`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Job requests")]
pub struct JobArgs {
    /// IAM role Batch Operations assumes (needed for job requests).
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// Account that runs the job (default: the role's account).
    #[arg(long, value_name = "ID")]
    pub account_id: Option<String>,

    /// Bucket for the completion report (default: the manifests' bucket).
    #[arg(long, value_name = "BUCKET")]
    pub report_bucket: Option<String>,

    /// Prefix for the completion report (default: <manifest prefix>/reports).
    #[arg(long, value_name = "PREFIX")]
    pub report_prefix: Option<String>,

    /// Which tasks the completion report lists.
    #[arg(long, default_value = "FailedTasksOnly", value_parser = ["FailedTasksOnly", "AllTasks"])]
    pub report_scope: String,

    /// Job priority, 0 to 2147483647 (higher runs first).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = crate::batch::job::parse_priority)]
    pub priority: u32,

    /// Submit jobs ready to run (default: they wait for confirmation).
    #[arg(long)]
    pub no_confirmation: bool,

    /// For a local DEST: the s3:// prefix you will upload the manifests to (job requests
    /// name the manifests by their S3 ARN).
    #[arg(long, value_name = "URL")]
    pub manifest_url: Option<String>,
}

impl JobArgs {
    /// Puts the job settings into `raw`.
    pub(super) fn apply(&self, raw: &mut RawManifest) {
        raw.role_arn = self.role_arn.clone();
        raw.account_id = self.account_id.clone();
        raw.report_bucket = self.report_bucket.clone();
        raw.report_prefix = self.report_prefix.clone();
        raw.report_scope = self.report_scope.clone();
        raw.priority = self.priority;
        raw.confirmation_required = !self.no_confirmation;
        raw.manifest_url = self.manifest_url.clone();
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Lines are bucket,key,version_id: no header, keys percent-encoded (every byte \
except A-Z a-z 0-9 - _ . ~ /), `null` for null-version objects. Delete markers are never written; \
GLACIER and DEEP_ARCHIVE objects are skipped by default (Batch Replication refuses them); both are \
counted in summary.json. With --role-arn, job-00001.json … hold complete CreateJob requests:\n\n  \
aws s3control create-job --region REGION --cli-input-json file://job-00001.json"
)]
pub struct ManifestArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Where to write: a local folder or an s3:// prefix.
    #[arg(long, value_name = "DEST")]
    pub out: String,

    /// Statuses to select: COMPLETED, PENDING, FAILED, REPLICA, NONE (never replicated).
    #[arg(long, value_delimiter = ',', default_value = "FAILED,PENDING")]
    pub status: Vec<String>,

    /// Keep only PENDING objects older than this at delivery time (stuck ones), e.g. 24h.
    #[arg(long, value_name = "DURATION")]
    pub pending_older_than: Option<String>,

    /// Only keys starting with this prefix (repeatable).
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Vec<String>,

    /// Only objects of at least this size (e.g. 1M).
    #[arg(long, value_name = "SIZE")]
    pub min_size: Option<String>,

    /// Only objects of at most this size.
    #[arg(long, value_name = "SIZE")]
    pub max_size: Option<String>,

    /// Only these storage classes (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "CLASSES")]
    pub storage_class: Vec<String>,

    /// Skip (and count) these storage classes; '' skips none.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "GLACIER,DEEP_ARCHIVE",
        value_name = "CLASSES"
    )]
    pub exclude_storage_class: Vec<String>,

    /// Any SQL predicate over the inventory columns, e.g. "encryption_status = 'SSE-KMS'".
    #[arg(long, value_name = "SQL")]
    pub r#where: Option<String>,

    /// Include noncurrent versions (default: current versions only).
    #[arg(long)]
    pub all_versions: bool,

    /// At most this many objects per manifest file.
    #[arg(long, value_name = "N")]
    pub max_objects: Option<u64>,

    /// At most this many object bytes per manifest file (e.g. 10T).
    #[arg(long, value_name = "SIZE")]
    pub max_bytes: Option<String>,

    /// One inventory-format manifest.json over all parts and a single job.json.
    #[arg(long)]
    pub one_job: bool,

    /// Replace the manifests an earlier run left in DEST (only files s3inv wrote: the
    /// numbered names and those its summary.json lists).
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub job: JobArgs,

    /// How to print the result: table (a few lines for people) or json (summary.json).
    #[arg(long, short, value_parser = ["table", "json"])]
    pub format: Option<String>,
}

pub(super) async fn run(args: ManifestArgs, quiet: bool) -> Result<i32> {
    // A failed run leaves no folder behind that it created (and left empty).
    let new_folders =
        crate::output::NewFolders::before_creating(&crate::storage::Location::parse(&args.out)?);
    let result = run_to(args, quiet).await;
    if result.is_err() {
        new_folders.remove_if_empty();
    }
    result
}

async fn run_to(args: ManifestArgs, quiet: bool) -> Result<i32> {
    let source = args.source.raw().validate()?;
    let mut raw = RawManifest {
        out: args.out.clone(),
        statuses: args.status.clone(),
        pending_older_than: args.pending_older_than.clone(),
        prefixes: args.prefix.clone(),
        min_size: args.min_size.clone(),
        max_size: args.max_size.clone(),
        storage_classes: args.storage_class.clone(),
        exclude_storage_classes: args.exclude_storage_class.clone(),
        where_sql: args.r#where.clone(),
        all_versions: args.all_versions,
        max_objects: args.max_objects,
        max_bytes: args.max_bytes.clone(),
        one_job: args.one_job,
        force: args.force,
        ..RawManifest::default()
    };
    args.job.apply(&mut raw);
    let (dest_location, options) = raw.validate()?;
    // Sorting the selection spills to disk past this, so memory stays flat.
    let memory_limit = source.memory_limit.or(Some(1 << 30));
    let session_options = SessionOptions {
        at: source.at.clone(),
        verify: source.verify,
        memory_limit,
        target_partitions: source.threads,
        required: vec![("replication_status", "s3inv manifest".to_string())],
        ..SessionOptions::default()
    };
    let progress = ProgressLine::start(Arc::clone(&session_options.progress), quiet);
    let result = async {
        let dest = Destination::open(&dest_location, &source.s3).await?;
        // Before verifying and scanning a large delivery: can we write at all?
        dest.check_writable().await?;
        let session = Session::open(&source.location, &source.s3, &session_options).await?;
        print_delivery_notes(&session.delivery.notes);
        let report = write_manifests(&session, &dest, &options).await?;
        Ok::<_, crate::Error>((dest, report))
    }
    .await;
    progress.finish();
    let (dest, report) = result?;
    print_notes(&report.notes, quiet);
    if args.format.as_deref() == Some("json") {
        let text = serde_json::to_string_pretty(&report.summary).expect("json") + "\n";
        write_text(&text, &crate::output::Target::Stdout)?;
    } else {
        let region = if report.jobs.is_empty() {
            None
        } else {
            job_region(&source.location, &source.s3).await
        };
        write_text(
            &human(&dest, &report, region.as_deref()),
            &crate::output::Target::Stdout,
        )?;
    }
    Ok(0)
}

/// The Region to create the Batch Operations job in: the source bucket's, which is the
/// inventory's (S3 Inventory delivers only to a bucket in the source bucket's Region).
/// `--region` when given, else asked of S3 for an s3:// delivery on AWS; `None` when it
/// cannot be known (a local copy, a custom endpoint), and the command shows a placeholder.
async fn job_region(location: &Location, s3: &crate::storage::S3Options) -> Option<String> {
    if let Some(r) = &s3.region {
        return Some(r.clone());
    }
    match location {
        Location::S3 { bucket, .. } if s3.endpoint_url.is_none() => {
            object_store::aws::resolve_bucket_region(bucket, &Default::default())
                .await
                .ok()
        }
        _ => None,
    }
}

/// The `aws s3control create-job` command for the job request `job`: a local request is
/// read with `file://`, one written to S3 is read with `aws s3 cp … -` (the AWS CLI reads
/// `file://` only from the local disk).
fn create_job_command(job: &crate::batch::dest::Written, s3: bool, region: Option<&str>) -> String {
    let region = region.unwrap_or("REGION");
    if s3 {
        format!(
            "aws s3control create-job --region {region} --cli-input-json \"$(aws s3 cp {} -)\"",
            job.location
        )
    } else {
        format!(
            "aws s3control create-job --region {region} --cli-input-json file://{}",
            job.location
        )
    }
}

fn human(dest: &Destination, r: &ManifestReport, region: Option<&str>) -> String {
    let total = r.total();
    let mut s = String::new();
    if total.objects == 0 {
        s.push_str("no objects match the selection: no manifest written");
    } else {
        let per: Vec<String> = r
            .selected
            .iter()
            .map(|(k, c)| format!("{k} {}", thousands(c.objects)))
            .collect();
        s.push_str(&format!(
            "selected {} ({}): {}",
            count(total.objects, "object"),
            human_bytes(total.bytes),
            per.join(", ")
        ));
    }
    s.push('\n');
    if !r.skipped.is_empty() {
        let per: Vec<String> = r
            .skipped
            .iter()
            .map(|(k, c)| format!("{k}: {} ({})", thousands(c.objects), human_bytes(c.bytes)))
            .collect();
        s.push_str(&format!("skipped {}\n", per.join(", ")));
    }
    for p in &r.parts {
        s.push_str(&format!(
            "wrote {} ({}, {}, etag {})\n",
            p.file.location,
            count(p.lines, "line"),
            human_bytes(p.file.bytes),
            p.file.etag
        ));
    }
    if !r.parts.is_empty() {
        s.push_str(&format!(
            "verified: {} re-read, every key decodes to its inventory key\n",
            count(r.verified_lines, "line")
        ));
    }
    for j in &r.jobs {
        s.push_str(&format!("job request: {}\n", j.location));
    }
    // Every job is submitted on its own: one command per request, ready to paste.
    let on_s3 = dest.s3_bucket_and_prefix().is_some();
    match r.jobs.as_slice() {
        [] => {}
        [job] => s.push_str(&format!(
            "submit with: {}\n",
            create_job_command(job, on_s3, region)
        )),
        jobs => {
            s.push_str(&format!("submit the {} jobs with:\n", jobs.len()));
            for job in jobs {
                s.push_str(&format!("  {}\n", create_job_command(job, on_s3, region)));
            }
        }
    }
    if !r.jobs.is_empty() && region.is_none() {
        s.push_str("(REGION: the source bucket's Region; give --region to fill it in)\n");
    }
    s.push_str(&format!("summary: {}/summary.json\n", dest.shown()));
    s
}

#[derive(Debug, Args)]
pub struct JobReportArgs {
    /// The report folder …/job-<id>/ (or its manifest.json), a result CSV, or a folder of
    /// result CSVs; local or s3://.
    pub location: String,

    /// Also write the failed tasks as a Batch Operations manifest (to re-drive them), to a
    /// local file or an s3:// object; tasks whose error a retry cannot fix
    /// (SrcObjectNotEligible, DstObjectHardDeleted, Src*NotFound, SrcReplicationNotPending)
    /// are left out and counted.
    #[arg(long, value_name = "PATH")]
    pub failed_manifest: Option<std::path::PathBuf>,

    /// Re-drive failed tasks with this error code too, although a retry cannot fix it as
    /// it is (repeatable).
    #[arg(long, value_name = "CODE", requires = "failed_manifest")]
    pub include_error_code: Vec<String>,

    #[command(flatten)]
    pub store: super::StoreArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub(super) async fn job_report(args: JobReportArgs) -> Result<i32> {
    let source = args.store.raw(&args.location).validate()?;
    let output = args.output.raw().validate(stdout_is_terminal())?;
    let emit = Emit::open(&output.target, &source.s3).await?;
    let failed_manifest = match &args.failed_manifest {
        Some(path) => {
            Some(Emit::open(&Target::from_path(path, "--failed-manifest")?, &source.s3).await?)
        }
        None => None,
    };
    let report = read_job_report(&source.location, &source.s3).await?;
    if let (Some(failed_manifest), Some(path)) = (failed_manifest, &args.failed_manifest) {
        let redrive = report.redrive(&args.include_error_code);
        let text = redrive.lines();
        write_text(&text, failed_manifest.target())?;
        failed_manifest.finish().await?;
        let shown = if path.as_os_str() == "-" {
            "stdout".to_string()
        } else {
            path.display().to_string()
        };
        if !redrive.skipped.is_empty() {
            let per: Vec<String> = redrive
                .skipped
                .iter()
                .map(|(code, n)| format!("{code} {}", thousands(*n)))
                .collect();
            let left_out: u64 = redrive.skipped.values().sum();
            let (them, they_are) = if left_out == 1 {
                ("it", "it is")
            } else {
                ("them", "they are")
            };
            eprintln!(
                "s3inv: note: {} left out of {} (a retry cannot fix {them} as {they_are}): {}; --include-error-code CODE re-drives {them}",
                count(left_out, "failed task"),
                shown,
                per.join(", ")
            );
        }
        // What was written, counted from the text itself: the line count is what
        // CreateJob will see, and an empty manifest is worth saying out loud.
        eprintln!(
            "s3inv: wrote {}: {} (a Batch Operations CSV manifest of the failed tasks to re-drive{})",
            shown,
            count(text.lines().count() as u64, "line"),
            if text.is_empty() {
                ": nothing to re-drive"
            } else {
                ""
            }
        );
    }
    let batch = report.groups_batch()?;
    if output.format == OutputFormat::Table {
        eprintln!(
            "{} in {} ({} failed)",
            count(report.tasks, "task"),
            count(report.result_files as u64, "result file"),
            thousands(report.failed.len() as u64)
        );
    }
    write_batch(batch, output.format, emit.target()).await?;
    emit.finish().await?;
    Ok(0)
}
