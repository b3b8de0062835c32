//! `s3inv generate DIR`: write realistic test and benchmark deliveries.

use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Result};
use crate::generate::replicas::{self, ReplicaOptions};
use crate::generate::{
    DeliverySpec, GenerateOptions, Versions, WrittenDelivery, write_delivery,
    write_replica_delivery,
};
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

    /// Also write each delivery's destination inventory, as bucket NAME: the replicas
    /// (REPLICA, same version ids) with faults for `s3inv diff`, and the categories expected
    /// in DIR/expected-diff/<config-id>.json.
    #[arg(long, value_name = "NAME")]
    pub replica_bucket: Option<String>,

    /// How long before the source delivery the destination's is taken (with --replica-bucket).
    #[arg(
        long,
        default_value = "2h",
        value_name = "DURATION",
        requires = "replica_bucket"
    )]
    pub replica_delay: String,

    /// Replicas without faults (with --replica-bucket): every COMPLETED version exactly there.
    #[arg(long, requires = "replica_bucket")]
    pub no_faults: bool,

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
                report(&written, quiet);
                if let Some(bucket) = &args.replica_bucket {
                    let delay = crate::table::age::parse_duration(&args.replica_delay)
                        .map_err(|e| Error::Usage(format!("--replica-delay: {e}")))?;
                    let replica = ReplicaOptions {
                        bucket: bucket.clone(),
                        source_ms: opts.delivery_ms(),
                        destination_ms: opts.delivery_ms() - delay,
                        lag_ms: 3_600_000,
                        faults: !args.no_faults,
                    };
                    let written = write_replica_delivery(&root, &opts, &spec, &replica)?;
                    report(&written, quiet);
                    // The expectation is for versions matched by id: all-versions only.
                    if v != Versions::All {
                        continue;
                    }
                    let expected = replicas::expected(opts.rows(v), &replica);
                    let dir = args.dir.join("expected-diff");
                    std::fs::create_dir_all(&dir).map_err(|e| Error::Io {
                        path: dir.display().to_string(),
                        source: e,
                    })?;
                    let path = dir.join(format!("{}.json", spec.config_id));
                    let doc: serde_json::Map<String, serde_json::Value> = expected
                        .iter()
                        .map(|(k, (o, b))| {
                            (k.to_string(), serde_json::json!({"objects": o, "bytes": b}))
                        })
                        .collect();
                    let text = serde_json::to_string_pretty(&serde_json::json!({
                        "lag": "1h",
                        "matching": "key_and_version",
                        "destination": bucket,
                        "categories": doc,
                    }))
                    .expect("json")
                        + "\n";
                    std::fs::write(&path, text).map_err(|e| Error::Io {
                        path: path.display().to_string(),
                        source: e,
                    })?;
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

fn report(written: &WrittenDelivery, quiet: bool) {
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
