//! The `manifest.json` of an inventory delivery: types and a tolerant parser.
//!
//! Real manifests are Jackson-pretty-printed, `creationTimestamp` is a string of epoch
//! milliseconds, and `files[].MD5checksum` is spelled with a lowercase `c`. Unknown fields
//! are ignored; `sourceBucket` and `version` are optional.

use serde::Deserialize;

use crate::error::{Error, Result};

/// The data file format of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FileFormat {
    Csv,
    Orc,
    Parquet,
}

impl FileFormat {
    /// Parses the manifest's `fileFormat` (`CSV`, `ORC`, `Parquet`; case-insensitive).
    pub fn parse(s: &str) -> Option<FileFormat> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(FileFormat::Csv),
            "orc" => Some(FileFormat::Orc),
            "parquet" => Some(FileFormat::Parquet),
            _ => None,
        }
    }

    /// The name AWS uses in `fileFormat`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Csv => "CSV",
            FileFormat::Orc => "ORC",
            FileFormat::Parquet => "Parquet",
        }
    }
}

impl std::fmt::Display for FileFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of `files[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// Key of the data file in the destination bucket (raw, not URL-encoded).
    pub key: String,
    /// Byte size of the data file.
    pub size: u64,
    /// Lowercase hex MD5 of the data file.
    pub md5: String,
}

/// A parsed `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryManifest {
    pub source_bucket: Option<String>,
    /// The destination bucket ARN (`arn:aws:s3:::name`).
    pub destination_bucket: Option<String>,
    pub version: Option<String>,
    /// Scan start, epoch milliseconds.
    pub creation_timestamp_ms: i64,
    pub file_format: FileFormat,
    pub file_schema: String,
    pub files: Vec<ManifestFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    source_bucket: Option<String>,
    destination_bucket: Option<String>,
    version: Option<String>,
    creation_timestamp: Option<serde_json::Value>,
    file_format: Option<String>,
    file_schema: Option<String>,
    files: Option<Vec<RawFile>>,
}

#[derive(Deserialize)]
struct RawFile {
    key: Option<String>,
    size: Option<serde_json::Value>,
    #[serde(rename = "MD5checksum", alias = "MD5Checksum", alias = "md5Checksum")]
    md5: Option<String>,
}

fn number(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl InventoryManifest {
    /// Parses manifest bytes; `path` names the file in errors.
    pub fn parse(bytes: &[u8], path: &str) -> Result<InventoryManifest> {
        let invalid = |reason: String| Error::InvalidManifest {
            path: path.to_string(),
            reason,
        };
        let raw: RawManifest = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        let format_name = raw
            .file_format
            .ok_or_else(|| invalid("missing \"fileFormat\"".into()))?;
        let file_format = FileFormat::parse(&format_name).ok_or_else(|| Error::UnknownFormat {
            path: path.to_string(),
            format: format_name.clone(),
        })?;
        let creation_timestamp_ms = raw
            .creation_timestamp
            .as_ref()
            .ok_or_else(|| invalid("missing \"creationTimestamp\"".into()))
            .and_then(|v| {
                number(v).ok_or_else(|| {
                    invalid(format!(
                        "\"creationTimestamp\" must be epoch milliseconds, found {v}"
                    ))
                })
            })?;
        let file_schema = raw.file_schema.unwrap_or_default();
        if file_format == FileFormat::Csv && file_schema.trim().is_empty() {
            return Err(invalid(
                "missing \"fileSchema\": a CSV delivery needs it to name its columns".into(),
            ));
        }
        let raw_files = raw
            .files
            .ok_or_else(|| invalid("missing \"files\"".into()))?;
        let mut files = Vec::with_capacity(raw_files.len());
        for (i, f) in raw_files.into_iter().enumerate() {
            let key = f
                .key
                .filter(|k| !k.is_empty())
                .ok_or_else(|| invalid(format!("files[{i}] has no \"key\"")))?;
            let size = f
                .size
                .as_ref()
                .and_then(number)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| invalid(format!("files[{i}] ({key}) has no valid \"size\"")))?;
            let md5 = f
                .md5
                .map(|m| m.trim().to_ascii_lowercase())
                .filter(|m| m.len() == 32 && m.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| {
                    invalid(format!(
                        "files[{i}] ({key}) has no valid \"MD5checksum\" (32 hex digits)"
                    ))
                })?;
            files.push(ManifestFile { key, size, md5 });
        }
        Ok(InventoryManifest {
            source_bucket: raw.source_bucket,
            destination_bucket: raw.destination_bucket,
            version: raw.version,
            creation_timestamp_ms,
            file_format,
            file_schema,
            files,
        })
    }

    /// The CSV column names of `fileSchema` (split on `,`, trimmed).
    pub fn csv_columns(&self) -> Vec<String> {
        self.file_schema
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Total bytes of the data files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The destination bucket name (from the ARN).
    pub fn destination_bucket_name(&self) -> Option<&str> {
        self.destination_bucket
            .as_deref()
            .map(|arn| arn.rsplit(':').next().unwrap_or(arn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JACKSON: &str = r#"{
  "sourceBucket" : "acme-data",
  "destinationBucket" : "arn:aws:s3:::acme-inventory",
  "version" : "2016-11-30",
  "creationTimestamp" : "1715043600000",
  "fileFormat" : "CSV",
  "fileSchema" : "Bucket, Key, Size",
  "files" : [ {
    "key" : "inv/acme-data/daily/data/a.csv.gz",
    "size" : 331,
    "MD5checksum" : "C473BCC2407D0A5CEC5229B21D967E59"
  } ],
  "somethingNew" : 1
}"#;

    #[test]
    fn parses_jackson_formatting() {
        let m = InventoryManifest::parse(JACKSON.as_bytes(), "m.json").unwrap();
        assert_eq!(m.creation_timestamp_ms, 1_715_043_600_000);
        assert_eq!(m.file_format, FileFormat::Csv);
        assert_eq!(m.csv_columns(), vec!["Bucket", "Key", "Size"]);
        assert_eq!(m.files[0].size, 331);
        assert_eq!(m.files[0].md5, "c473bcc2407d0a5cec5229b21d967e59");
        assert_eq!(m.destination_bucket_name(), Some("acme-inventory"));
    }

    #[test]
    fn numeric_timestamp_and_missing_optional_fields() {
        let m = InventoryManifest::parse(
            br#"{"creationTimestamp":1715043600000,"fileFormat":"Parquet","files":[]}"#,
            "m.json",
        )
        .unwrap();
        assert_eq!(m.file_format, FileFormat::Parquet);
        assert!(m.source_bucket.is_none());
    }

    #[test]
    fn errors_name_the_problem() {
        let e = InventoryManifest::parse(b"{", "x/manifest.json").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x/manifest.json: invalid manifest.json"),
            "{e}"
        );
        let e = InventoryManifest::parse(
            br#"{"creationTimestamp":"1","fileFormat":"JSON","files":[]}"#,
            "m.json",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.json: unknown fileFormat \"JSON\"; s3inv reads CSV, ORC and Parquet"
        );
        let e = InventoryManifest::parse(
            br#"{"creationTimestamp":"1","fileFormat":"ORC","files":[{"key":"k","size":1}]}"#,
            "m.json",
        )
        .unwrap_err();
        assert!(e.to_string().contains("MD5checksum"), "{e}");
    }
}
