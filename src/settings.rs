//! Raw command-line values turned into validated settings: no I/O here, so every rule is
//! unit-tested. The CLI parses flags with clap, then calls these to check and convert.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::manifest::AtSpec;
use crate::output::{OutputFormat, Target};
use crate::storage::{Location, S3Options};

/// Options shared by every command that reads a delivery.
#[derive(Debug, Clone, Default)]
pub struct RawSource {
    pub location: String,
    pub at: Option<String>,
    pub no_verify: bool,
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub memory_limit: Option<String>,
    pub threads: Option<usize>,
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
    /// output without `--format` takes the format from its extension.
    pub fn validate(&self, stdout_is_terminal: bool) -> Result<OutputSettings> {
        let from_extension = self.output.as_ref().and_then(|p| {
            match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
                "csv" => Some(OutputFormat::Csv),
                "json" => Some(OutputFormat::Json),
                "ndjson" | "jsonl" => Some(OutputFormat::Ndjson),
                "parquet" => Some(OutputFormat::Parquet),
                "txt" => Some(OutputFormat::Table),
                _ => None,
            }
        });
        let format = match (&self.format, from_extension, &self.output) {
            (Some(f), _, _) => OutputFormat::parse(f)?,
            (None, Some(f), _) => f,
            (None, None, Some(_)) => OutputFormat::Csv,
            (None, None, None) if stdout_is_terminal => OutputFormat::Table,
            (None, None, None) => OutputFormat::Csv,
        };
        let target = match &self.output {
            Some(p) => Target::File(p.clone()),
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

/// Where the SQL of `s3inv sql` comes from.
#[derive(Debug, Clone, Default)]
pub struct RawSql {
    pub sql: Option<String>,
    pub file: Option<PathBuf>,
}

impl RawSql {
    /// Exactly one of the positional SQL and `--file`. Reading the file is left to the
    /// caller (this module does no I/O).
    pub fn validate(&self) -> Result<SqlSource> {
        match (&self.sql, &self.file) {
            (Some(_), Some(_)) => Err(Error::Usage(
                "give the SQL either as an argument or with --file, not both".into(),
            )),
            (Some(s), None) if s.trim().is_empty() => Err(Error::Usage("the SQL is empty".into())),
            (Some(s), None) => Ok(SqlSource::Text(s.clone())),
            (None, Some(f)) => Ok(SqlSource::File(f.clone())),
            (None, None) => Err(Error::Usage(
                "no SQL: give a query like \"SELECT count(*) FROM inventory\" or --file query.sql"
                    .into(),
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn sql_source() {
        assert!(RawSql::default().validate().is_err());
        let both = RawSql {
            sql: Some("select 1".into()),
            file: Some("q.sql".into()),
        };
        assert!(both.validate().is_err());
    }
}
