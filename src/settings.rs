//! Raw command-line values turned into validated settings: no I/O here, so every rule is
//! unit-tested. The CLI parses flags with clap, then calls these to check and convert.

use std::path::PathBuf;

use crate::analytics::queries;
use crate::analytics::summary::{Dimension, Rank, SummaryOptions};
use crate::analytics::tags::TagSource;
use crate::batch::job::{JobSettings, ReportScope};
use crate::batch::manifest::ManifestOptions;
use crate::batch::select::Selection;
use crate::error::{Error, Result};
use crate::manifest::AtSpec;
use crate::output::{OutputFormat, Target};
use crate::storage::{Location, S3Options};
use crate::table::age::{AgeBuckets, parse_duration};

/// Options shared by every command that reads a delivery.
#[derive(Debug, Clone)]
pub struct RawSource {
    pub location: String,
    pub at: Option<String>,
    pub no_verify: bool,
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub retries: usize,
    pub timeout: std::time::Duration,
    pub memory_limit: Option<String>,
    pub threads: Option<usize>,
}

impl Default for RawSource {
    fn default() -> Self {
        let s3 = S3Options::default();
        RawSource {
            location: String::new(),
            at: None,
            no_verify: false,
            endpoint_url: None,
            region: None,
            retries: s3.retries,
            timeout: s3.timeout,
            memory_limit: None,
            threads: None,
        }
    }
}

/// `--timeout`: a duration of at least one second (`30s`, `2m`).
pub fn parse_timeout(s: &str) -> Result<std::time::Duration> {
    let ms = crate::table::age::parse_duration(s)?;
    if ms < 1000 {
        return Err(Error::Usage(format!(
            "--timeout {s:?} is too short: give at least 1s"
        )));
    }
    Ok(std::time::Duration::from_millis(ms as u64))
}

/// Validated source options.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub location: Location,
    pub s3: S3Options,
    pub at: Option<AtSpec>,
    pub verify: bool,
    pub memory_limit: Option<usize>,
    pub threads: Option<usize>,
}

impl RawSource {
    pub fn validate(&self) -> Result<SourceSettings> {
        let location = Location::parse(&self.location)?;
        if let Some(url) = &self.endpoint_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(Error::Usage(format!(
                "invalid --endpoint-url {url:?}: it must start with http:// or https://"
            )));
        }
        if self.threads == Some(0) {
            return Err(Error::Usage("--threads must be at least 1".into()));
        }
        Ok(SourceSettings {
            location,
            s3: S3Options {
                endpoint_url: self.endpoint_url.clone(),
                region: self.region.clone(),
                retries: self.retries,
                timeout: self.timeout,
            },
            at: self.at.as_deref().map(AtSpec::parse).transpose()?,
            verify: !self.no_verify,
            memory_limit: self.memory_limit.as_deref().map(parse_bytes).transpose()?,
            threads: self.threads,
        })
    }
}

/// Parses a byte size: `512M`, `2G`, `1.5GiB`, `1000000` (K/M/G/T are powers of 1024).
pub fn parse_bytes(s: &str) -> Result<usize> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| {
        Error::Usage(format!(
            "invalid size {s:?}: use a number with K, M, G or T, like 2G"
        ))
    })?;
    let scale = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1u64,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        other => {
            return Err(Error::Usage(format!(
                "invalid size {s:?}: unknown unit {other:?}; use K, M, G or T"
            )));
        }
    };
    let bytes = value * scale as f64;
    if !(1.0..=(usize::MAX as f64)).contains(&bytes) {
        return Err(Error::Usage(format!(
            "invalid size {s:?}: must be at least 1 byte"
        )));
    }
    Ok(bytes as usize)
}

/// Output options as given.
#[derive(Debug, Clone, Default)]
pub struct RawOutput {
    pub format: Option<String>,
    pub output: Option<PathBuf>,
}

/// Validated output options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSettings {
    pub format: OutputFormat,
    pub target: Target,
}

impl RawOutput {
    /// `stdout_is_terminal` picks the default: a table for people, CSV for pipes. A file
    /// output without `--format` takes the format from its extension; `.gz` after it asks
    /// for gzip (the writer compresses, see `output::is_gzip`). An extension that names no
    /// format is refused rather than silently written as CSV.
    pub fn validate(&self, stdout_is_terminal: bool) -> Result<OutputSettings> {
        // `-o -` is stdout, as for every Unix tool.
        let output = self.output.as_ref().filter(|p| p.as_os_str() != "-");
        let (from_extension, gzip) = match output {
            Some(p) => output_extension(p, self.format.is_some())?,
            None => (None, false),
        };
        let format = match (&self.format, from_extension, output) {
            (Some(f), _, _) => OutputFormat::parse(f)?,
            (None, Some(f), _) => f,
            (None, None, Some(_)) => OutputFormat::Csv,
            (None, None, None) if stdout_is_terminal => OutputFormat::Table,
            (None, None, None) => OutputFormat::Csv,
        };
        if gzip && format == OutputFormat::Parquet {
            return Err(Error::Usage(
                "parquet output is compressed inside the file: drop the .gz from --output".into(),
            ));
        }
        let target = match output {
            Some(p) => Target::from_path(p, "--output")?,
            None => Target::Stdout,
        };
        if format == OutputFormat::Parquet && target == Target::Stdout && stdout_is_terminal {
            return Err(Error::Usage(
                "parquet output is binary: give --output FILE.parquet or pipe it".into(),
            ));
        }
        Ok(OutputSettings { format, target })
    }
}

/// The extensions `--output` understands, as shown in messages.
pub const OUTPUT_EXTENSIONS: &str = ".csv, .json, .ndjson, .jsonl, .parquet, .txt (table), each text one optionally followed by .gz";

/// The format `path`'s extension names (none for a path without one) and whether it ends
/// in `.gz`. With `--format` given (`explicit`) any extension is accepted.
fn output_extension(
    path: &std::path::Path,
    explicit: bool,
) -> Result<(Option<OutputFormat>, bool)> {
    let ext = |p: &std::path::Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
    };
    let (inner, gzip) = match ext(path).as_deref() {
        Some("gz") => (ext(&path.with_extension("")), true),
        other => (other.map(str::to_string), false),
    };
    let format = match inner.as_deref() {
        None => None,
        Some("csv") => Some(OutputFormat::Csv),
        Some("json") => Some(OutputFormat::Json),
        Some("ndjson" | "jsonl") => Some(OutputFormat::Ndjson),
        Some("parquet") => Some(OutputFormat::Parquet),
        Some("txt") => Some(OutputFormat::Table),
        Some(_) if explicit => None,
        Some(other) => {
            return Err(Error::Usage(format!(
                "--output {}: unknown extension .{other}; use {OUTPUT_EXTENSIONS}, or give --format",
                path.display()
            )));
        }
    };
    Ok((format, gzip))
}

/// Where the SQL of `s3inv sql` comes from.
#[derive(Debug, Clone, Default)]
pub struct RawSql {
    pub sql: Option<String>,
    pub file: Option<PathBuf>,
    pub query: Option<String>,
    pub params: Vec<String>,
}

impl RawSql {
    /// Exactly one of the positional SQL, `--file` and `--query`. Reading the file is left
    /// to the caller (this module does no I/O).
    pub fn validate(&self) -> Result<SqlSource> {
        if !self.params.is_empty() && self.query.is_none() {
            return Err(Error::Usage("--param applies to --query only".into()));
        }
        match (&self.sql, &self.file, &self.query) {
            (Some(s), None, None) if s.trim().is_empty() => {
                Err(Error::Usage("the SQL is empty".into()))
            }
            (Some(s), None, None) => Ok(SqlSource::Text(s.clone())),
            (None, Some(f), None) => Ok(SqlSource::File(f.clone())),
            (None, None, Some(name)) => {
                let params = self
                    .params
                    .iter()
                    .map(|p| queries::parse_param(p))
                    .collect::<Result<Vec<_>>>()?;
                Ok(SqlSource::Text(queries::find(name)?.render(&params)?))
            }
            (None, None, None) => Err(Error::Usage(
                "no SQL: give a query like \"SELECT count(*) FROM inventory\", --file query.sql or --query NAME".into(),
            )),
            _ => Err(Error::Usage(
                "give the SQL one way: as an argument, with --file or with --query".into(),
            )),
        }
    }
}

/// Validated SQL source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlSource {
    Text(String),
    File(PathBuf),
}

/// `summary` options as given.
#[derive(Debug, Clone, Default)]
pub struct RawSummary {
    pub by: Vec<String>,
    pub depth: usize,
    pub age_buckets: Option<String>,
    pub top: Option<usize>,
    pub rank: String,
    pub min_share: Option<String>,
    pub pending_older_than: String,
    pub all_versions: bool,
    /// The tag source, already parsed (it needs the S3 options).
    pub tags: Option<TagSource>,
}

impl RawSummary {
    pub fn validate(&self) -> Result<SummaryOptions> {
        if self.depth == 0 {
            return Err(Error::Usage(
                "--depth must be at least 1 (depth 1 groups by the first folder)".into(),
            ));
        }
        if self.top == Some(0) {
            return Err(Error::Usage("--top must be at least 1".into()));
        }
        let ages = match &self.age_buckets {
            Some(spec) => AgeBuckets::parse(spec)?,
            None => AgeBuckets::default(),
        };
        let mut dimensions = Vec::new();
        for name in self
            .by
            .iter()
            .flat_map(|b| b.split(','))
            .filter(|n| !n.trim().is_empty())
        {
            let d = Dimension::parse(name, self.depth, &ages)?;
            if dimensions.contains(&d) {
                return Err(Error::Usage(format!("--by {} is given twice", d.name())));
            }
            dimensions.push(d);
        }
        if self.tags.is_none() && dimensions.iter().any(|d| matches!(d, Dimension::Tag(_))) {
            return Err(Error::Usage(
                "--by tag:KEY needs --tags SOURCE: S3 Inventory has no tags (export the S3 Metadata live inventory table, or give a bucket,key,version_id,tag_key,tag_value table)".into(),
            ));
        }
        Ok(SummaryOptions {
            dimensions,
            all_versions: self.all_versions,
            top: self.top,
            rank: Rank::parse(&self.rank)?,
            min_share: self.min_share.as_deref().map(parse_share).transpose()?,
            pending_older_than_ms: parse_duration(&self.pending_older_than)
                .map_err(|e| Error::Usage(format!("--pending-older-than: {e}")))?,
            pending_older_than_label: self.pending_older_than.trim().to_string(),
            tags: self.tags.clone(),
        })
    }
}

/// `1%` or `0.01` as a fraction in `(0, 1)`.
pub fn parse_share(s: &str) -> Result<f64> {
    let t = s.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    };
    match value {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(Error::Usage(format!(
            "invalid --min-share {s:?}: use a percentage like 1% (between 0% and 100%)"
        ))),
    }
}

/// `manifest` options as given.
#[derive(Debug, Clone, Default)]
pub struct RawManifest {
    pub out: String,
    pub statuses: Vec<String>,
    pub pending_older_than: Option<String>,
    pub prefixes: Vec<String>,
    pub min_size: Option<String>,
    pub max_size: Option<String>,
    pub storage_classes: Vec<String>,
    pub exclude_storage_classes: Vec<String>,
    pub where_sql: Option<String>,
    pub all_versions: bool,
    pub max_objects: Option<u64>,
    pub max_bytes: Option<String>,
    pub one_job: bool,
    pub force: bool,
    pub role_arn: Option<String>,
    pub account_id: Option<String>,
    pub report_bucket: Option<String>,
    pub report_prefix: Option<String>,
    pub report_scope: String,
    pub priority: u32,
    pub confirmation_required: bool,
    pub manifest_url: Option<String>,
}

/// A byte size that may be 0 (`--min-size 0`).
fn parse_size(s: &str) -> Result<u64> {
    if s.trim() == "0" {
        return Ok(0);
    }
    parse_bytes(s).map(|n| n as u64)
}

fn upper_list(items: &[String]) -> Vec<String> {
    items
        .iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`, as CreateJob's `RoleArn` takes it.
fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws")
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty() && !n.ends_with('/')))
}

impl RawManifest {
    /// The destination and the options, checked.
    pub fn validate(&self) -> Result<(Location, ManifestOptions)> {
        let dest = Location::parse(&self.out)?;
        let selection = Selection {
            statuses: upper_list(&self.statuses),
            pending_older_than_ms: self
                .pending_older_than
                .as_deref()
                .map(|d| {
                    parse_duration(d)
                        .map_err(|e| Error::Usage(format!("--pending-older-than: {e}")))
                })
                .transpose()?,
            prefixes: self.prefixes.clone(),
            min_size: self.min_size.as_deref().map(parse_size).transpose()?,
            max_size: self.max_size.as_deref().map(parse_size).transpose()?,
            storage_classes: upper_list(&self.storage_classes),
            exclude_storage_classes: upper_list(&self.exclude_storage_classes),
            where_sql: self.where_sql.clone(),
            all_versions: self.all_versions,
        };
        selection.validate()?;
        let site = match (&dest, &self.manifest_url) {
            (Location::S3 { .. }, Some(_)) => {
                return Err(Error::Usage(
                    "--manifest-url is for a local --out; an s3:// --out is already where the manifests live".into(),
                ));
            }
            (Location::S3 { bucket, key }, None) => {
                Some((bucket.clone(), key.trim_matches('/').to_string()))
            }
            (Location::Local(_), Some(url)) => match Location::parse(url)? {
                Location::S3 { bucket, key } => Some((bucket, key.trim_matches('/').to_string())),
                Location::Local(_) => {
                    return Err(Error::Usage(format!(
                        "--manifest-url {url:?} must be an s3:// URL"
                    )));
                }
            },
            (Location::Local(_), None) => None,
        };
        let job = match &self.role_arn {
            None => {
                if self.account_id.is_some()
                    || self.report_bucket.is_some()
                    || self.report_prefix.is_some()
                {
                    return Err(Error::Usage(
                        "--account-id, --report-bucket and --report-prefix describe the job: give --role-arn too".into(),
                    ));
                }
                None
            }
            Some(role) => {
                if !is_role_arn(role) {
                    return Err(Error::Usage(format!(
                        "--role-arn {role:?} is not an IAM role ARN; write it like arn:aws:iam::111122223333:role/batch-replication"
                    )));
                }
                if self.priority > crate::batch::job::MAX_PRIORITY {
                    return Err(Error::Usage(format!(
                        "--priority must be a whole number from 0 to {} (CreateJob's range)",
                        crate::batch::job::MAX_PRIORITY
                    )));
                }
                let account_id = match (&self.account_id, JobSettings::account_from_role(role)) {
                    (Some(a), _) if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) => {
                        a.clone()
                    }
                    (Some(a), _) => {
                        return Err(Error::Usage(format!(
                            "invalid --account-id {a:?}: 12 digits expected"
                        )));
                    }
                    (None, Some(a)) => a,
                    (None, None) => {
                        return Err(Error::Usage(format!(
                            "cannot tell the account from --role-arn {role:?}: give --account-id"
                        )));
                    }
                };
                let (site_bucket, site_prefix) = site.clone().unwrap_or_default();
                let report_bucket = self
                    .report_bucket
                    .clone()
                    .map(|b| b.trim_start_matches("arn:aws:s3:::").to_string())
                    .or_else(|| (!site_bucket.is_empty()).then(|| site_bucket.clone()))
                    .ok_or_else(|| {
                        Error::Usage(
                            "give --report-bucket (or an s3:// --out or --manifest-url)".into(),
                        )
                    })?;
                let report_prefix = self.report_prefix.clone().unwrap_or_else(|| {
                    if site_prefix.is_empty() {
                        "reports".into()
                    } else {
                        format!("{site_prefix}/reports")
                    }
                });
                Some(JobSettings {
                    account_id,
                    role_arn: role.clone(),
                    report_bucket,
                    report_prefix,
                    report_scope: ReportScope::parse(&self.report_scope)?,
                    priority: self.priority,
                    confirmation_required: self.confirmation_required,
                })
            }
        };
        Ok((
            dest,
            ManifestOptions {
                selection,
                max_objects: self.max_objects,
                max_bytes: self.max_bytes.as_deref().map(parse_size).transpose()?,
                one_job: self.one_job,
                force: self.force,
                job,
                site,
                operation: Default::default(),
                purpose: None,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        for ok in [
            "arn:aws:iam::111122223333:role/batch",
            "arn:aws:iam::111122223333:role/service-role/s3-batch",
            "arn:aws-cn:iam::111122223333:role/r",
        ] {
            assert!(is_role_arn(ok), "{ok}");
        }
        for bad in [
            "notanarn",
            "arn:aws:iam::1111:role/r",
            "arn:aws:iam::111122223333:user/u",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:s3:::bucket",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("512M").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("2G").unwrap(), 2 << 30);
        assert_eq!(parse_bytes("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(parse_bytes("1000").unwrap(), 1000);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5Q").is_err());
        assert!(parse_bytes("0").is_err());
    }

    #[test]
    fn output_defaults() {
        let raw = RawOutput::default();
        assert_eq!(raw.validate(true).unwrap().format, OutputFormat::Table);
        assert_eq!(raw.validate(false).unwrap().format, OutputFormat::Csv);
        let raw = RawOutput {
            format: None,
            output: Some("x.parquet".into()),
        };
        assert_eq!(raw.validate(true).unwrap().format, OutputFormat::Parquet);
        let raw = RawOutput {
            format: Some("parquet".into()),
            output: None,
        };
        assert!(raw.validate(true).is_err());
        assert!(raw.validate(false).is_ok());
        let raw = RawOutput {
            format: Some("xml".into()),
            output: None,
        };
        assert_eq!(
            raw.validate(true).unwrap_err().to_string(),
            "unknown --format \"xml\"; use one of table, csv, json, ndjson, parquet"
        );
    }

    #[test]
    fn source_validation() {
        let raw = RawSource {
            location: "s3://b/p".into(),
            at: Some("2026-11-20".into()),
            memory_limit: Some("1G".into()),
            ..Default::default()
        };
        let s = raw.validate().unwrap();
        assert!(s.verify);
        assert_eq!(s.memory_limit, Some(1 << 30));
        assert_eq!(s.at, Some(AtSpec::Day("2026-11-20".into())));
        let bad = RawSource {
            location: "x".into(),
            endpoint_url: Some("localhost:9000".into()),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    fn summary(by: &[&str]) -> RawSummary {
        RawSummary {
            by: by.iter().map(|s| s.to_string()).collect(),
            depth: 2,
            rank: "unreplicated-bytes".into(),
            pending_older_than: "24h".into(),
            ..Default::default()
        }
    }

    #[test]
    fn summary_validation() {
        let s = summary(&["prefix,age", "storage_class"])
            .validate()
            .unwrap();
        assert_eq!(s.dimensions.len(), 3);
        assert_eq!(s.dimensions[0], Dimension::Prefix { depth: 2 });
        assert_eq!(s.pending_older_than_ms, 86_400_000);
        let e = summary(&["colour"]).validate().unwrap_err();
        assert!(
            e.to_string()
                .starts_with("unknown --by \"colour\"; use prefix, age, tag:KEY, storage_class"),
            "{e}"
        );
        let mut d0 = summary(&["prefix"]);
        d0.depth = 0;
        assert!(
            d0.validate()
                .unwrap_err()
                .to_string()
                .contains("--depth must be at least 1")
        );
        let mut bad = summary(&[]);
        bad.pending_older_than = "a day".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .starts_with("--pending-older-than: invalid duration")
        );
        assert!(
            summary(&["tag:team"])
                .validate()
                .unwrap_err()
                .to_string()
                .contains("needs --tags")
        );
        assert!(summary(&["age", "age"]).validate().is_err());
        assert_eq!(parse_share("1%").unwrap(), 0.01);
        assert_eq!(parse_share("0.05").unwrap(), 0.05);
        assert!(parse_share("150%").is_err());
        assert!(parse_share("x").is_err());
    }

    #[test]
    fn sql_source() {
        assert!(RawSql::default().validate().is_err());
        let both = RawSql {
            sql: Some("select 1".into()),
            file: Some("q.sql".into()),
            ..Default::default()
        };
        assert!(both.validate().is_err());
        let canned = RawSql {
            query: Some("unreplicated_by_prefix".into()),
            params: vec!["depth=4".into()],
            ..Default::default()
        };
        match canned.validate().unwrap() {
            SqlSource::Text(sql) => assert!(sql.contains("key_prefix(key, 4)")),
            other => panic!("{other:?}"),
        }
    }
}
