//! `s3inv generate DIR`: write realistic test and benchmark deliveries.

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Result};
use crate::generate::{DeliverySpec, GenerateOptions, Versions, write_delivery};
use crate::manifest::FileFormat;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder that stands for S3: deliveries go to DIR/<destination-bucket>/….
    pub dir: PathBuf,

    /// Rows drawn from the generator (the versioned deliveries hold exactly this many).
    #[arg(long, default_value_t = 1000)]
    pub rows: u64,

    /// Seed: the same seed and options always write the same rows.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// Formats to write, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "csv,orc,parquet", value_parser = ["csv", "orc", "parquet"])]
    pub formats: Vec<String>,

    /// Versions to list, comma-separated: all (versioned report), current (current only).
    #[arg(long, value_delimiter = ',', default_value = "all,current", value_parser = ["all", "current"])]
    pub versions: Vec<String>,

    /// Data files per delivery.
    #[arg(long, default_value_t = 1)]
    pub files: usize,

    /// Delivery time (its folder name), e.g. 2026-11-20T01-00Z.
    #[arg(long, default_value = "2026-11-20T01-00Z")]
    pub at: String,

    #[arg(long, default_value = "acme-data")]
    pub source_bucket: String,

    #[arg(long, default_value = "acme-inventory")]
    pub destination_bucket: String,

    /// Destination prefix inside the destination bucket.
    #[arg(long, default_value = "")]
    pub prefix: String,

    /// Leave out the hostile keys that normally come first.
    #[arg(long)]
    pub no_hostile: bool,

    /// Deliveries per configuration, one a day from --at on (later ones show objects
    /// moving on: PENDING completing, new objects arriving).
    #[arg(long, default_value_t = 1)]
    pub days: u32,

    /// Also write tag sources for `summary --tags` into DIR/<destination-bucket>-tags/: an S3
    /// Metadata live inventory export and a tag table.
    #[arg(long)]
    pub tags: bool,
}

fn parse_at(s: &str) -> Result<i64> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H-%MZ")
        .map(|t| t.and_utc().timestamp_millis())
        .map_err(|_| {
            Error::Usage(format!(
                "invalid --at {s:?}: use a delivery time like 2026-11-20T01-00Z"
            ))
        })
}

pub(super) fn run(args: GenerateArgs, quiet: bool) -> Result<i32> {
    let opts = GenerateOptions {
        rows: args.rows,
        seed: args.seed,
        source_bucket: args.source_bucket.clone(),
        destination_bucket: args.destination_bucket.clone(),
        destination_prefix: args.prefix.clone(),
        created_ms: parse_at(&args.at)?,
        files: args.files.max(1),
        hostile: !args.no_hostile,
        day: 0,
    };
    let root = args.dir.join(&args.destination_bucket);
    for format in &args.formats {
        let format = FileFormat::parse(format).expect("clap checked the value");
        for versions in &args.versions {
            let (v, suffix) = match versions.as_str() {
                "all" => (Versions::All, "all"),
                _ => (Versions::Current, "current"),
            };
            let spec = DeliverySpec {
                format,
                versions: v,
                config_id: format!("{}-{suffix}", format.as_str().to_ascii_lowercase()),
            };
            for day in 0..args.days.max(1) {
                let opts = GenerateOptions {
                    day,
                    ..opts.clone()
                };
                let written = write_delivery(&root, &opts, &spec)?;
                if !quiet {
                    eprintln!(
                        "wrote {} ({}, {}, {})",
                        written.manifest.display(),
                        crate::output::count(written.rows, "row"),
                        crate::output::count(written.files as u64, "file"),
                        crate::output::count(written.bytes, "byte")
                    );
                }
            }
        }
    }
    if args.tags {
        let dir = args.dir.join(format!("{}-tags", args.destination_bucket));
        let (metadata, table) = crate::generate::write_tag_sources(&dir, &opts)?;
        if !quiet {
            eprintln!("wrote {} and {}", metadata.display(), table.display());
        }
    }
    Ok(0)
}
