//! `s3inv summary LOCATION`: objects and bytes per replication status, by dimensions.

use std::sync::Arc;

use clap::Args;

use super::emit::Emit;
use super::{
    GroupArgs, OutputArgs, SourceArgs, print_delivery_notes, progress::ProgressLine,
    stdout_is_terminal,
};
use crate::analytics::summary::{Dimension, summarize};
use crate::analytics::tags::TagSource;
use crate::error::Result;
use crate::output::{OutputFormat, summary as render, write_batch, write_text};
use crate::settings::RawSummary;
use crate::storage::Location;
use crate::table::{Session, SessionOptions};

#[derive(Debug, Args)]
#[command(
    after_help = "Dimensions (--by, comma-separated, combinable): prefix (with --depth), \
age (age at the delivery's creation time; --age-buckets), tag:KEY (with --tags), storage_class, \
encryption_status, object_owner, bucket_key_status, is_multipart_uploaded, \
intelligent_tiering_access_tier, object_lock_mode.\n\n\
Formats: table (statuses pivoted into columns, for people); csv, ndjson, parquet (long form: \
<dimensions>, status, objects, bytes); json (one document: delivery, scope, totals, pending, groups).\n\n\
Examples:\n  s3inv summary testdata/buckets/acme-inventory/acme-data/csv-all\n  \
s3inv summary LOCATION --by prefix --depth 2 --top 20\n  \
s3inv summary LOCATION --by age,storage_class --format csv\n  \
s3inv summary LOCATION --by tag:team --tags s3://exports/metadata-inventory/"
)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    #[command(flatten)]
    pub groups: GroupArgs,

    /// Keep the K largest groups (by --rank) and fold the rest into "(other)".
    #[arg(long, value_name = "K")]
    pub top: Option<usize>,

    /// What --top and --min-share rank by.
    #[arg(long, default_value = "unreplicated-bytes", value_parser = ["objects", "bytes", "unreplicated-bytes"])]
    pub rank: String,

    /// Fold groups below this share of the ranked total into "(other)", e.g. 1%.
    #[arg(long, value_name = "PCT")]
    pub min_share: Option<String>,

    /// PENDING objects older than this at delivery time are stuck (e.g. 24h, 3d).
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub pending_older_than: String,

    /// Count every row: noncurrent versions and delete markers (0 bytes) too.
    #[arg(long)]
    pub all_versions: bool,

    /// Object tags for --by tag:KEY: an S3 Metadata live inventory export (Parquet with
    /// object_tags) or a tag table (CSV/Parquet: bucket,key,version_id,tag_key,tag_value).
    #[arg(long, value_name = "SOURCE")]
    pub tags: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub(super) async fn run(args: SummaryArgs, quiet: bool) -> Result<i32> {
    let source = args.source.raw().validate()?;
    let output = args.output.raw().validate(stdout_is_terminal())?;
    let tags = match &args.tags {
        Some(t) => Some(TagSource {
            location: Location::parse(t)?,
            s3: source.s3.clone(),
        }),
        None => None,
    };
    let options = RawSummary {
        by: args.groups.by.clone(),
        depth: args.groups.depth,
        age_buckets: args.groups.age_buckets.clone(),
        top: args.top,
        rank: args.rank.clone(),
        min_share: args.min_share.clone(),
        pending_older_than: args.pending_older_than.clone(),
        all_versions: args.all_versions,
        tags,
    }
    .validate()?;
    let mut required = vec![("replication_status", "s3inv summary".to_string())];
    for d in &options.dimensions {
        let column = match d {
            Dimension::Age(_) => "last_modified_date",
            Dimension::Column(c) => c,
            Dimension::Prefix { .. } | Dimension::Tag(_) => continue,
        };
        required.push((column, format!("--by {}", d.name())));
    }
    let session_options = SessionOptions {
        at: source.at.clone(),
        verify: source.verify,
        memory_limit: source.memory_limit,
        target_partitions: source.threads,
        required,
        ..SessionOptions::default()
    };
    let emit = Emit::open(&output.target, &source.s3).await?;
    let progress = ProgressLine::start(Arc::clone(&session_options.progress), quiet);
    let result = async {
        let session = Session::open(&source.location, &source.s3, &session_options).await?;
        print_delivery_notes(&session.delivery.notes);
        let summary = summarize(&session, &options).await?;
        Ok::<_, crate::Error>((session, summary))
    }
    .await;
    progress.finish();
    let (session, summary) = result?;
    let delivery = &session.delivery;
    match output.format {
        OutputFormat::Table => write_text(&render::text(&summary, delivery)?, emit.target())?,
        OutputFormat::Json => {
            let doc = render::json_document(
                &summary,
                delivery,
                &args.rank,
                options.top,
                options.min_share,
            );
            let text = serde_json::to_string_pretty(&doc).expect("json serialises") + "\n";
            write_text(&text, emit.target())?;
        }
        format => {
            let batch = render::long_form(&summary)?;
            write_batch(batch, format, emit.target()).await?;
        }
    }
    emit.finish().await?;
    Ok(0)
}
