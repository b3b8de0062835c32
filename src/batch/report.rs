//! Reading a Batch Operations completion report: `<prefix>/job-<id>/manifest.json` and the
//! result CSVs it lists — or result CSVs alone (one file, or a folder of them) — summarised
//! by task status and error code; and the failed tasks worth re-driving.
//!
//! Two quirks (formats.md §4.6): rows put `HTTPStatusCode` before `ErrorCode` although the
//! report's schema says the opposite, so the two are told apart by content; and `Key`
//! echoes the manifest's encoded key, so it is percent-decoded once.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use md5::{Digest, Md5};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::format::key::percent_decode;
use crate::storage::{Location, S3Options, Store};

#[derive(Deserialize)]
struct RawReport {
    #[serde(rename = "Format")]
    format: Option<String>,
    #[serde(rename = "ReportCreationDate")]
    created: Option<String>,
    #[serde(rename = "Results")]
    results: Vec<RawResult>,
}

#[derive(Deserialize)]
struct RawResult {
    #[serde(rename = "Bucket")]
    bucket: String,
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "MD5Checksum", alias = "MD5checksum")]
    md5: Option<String>,
}

/// One task of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub bucket: String,
    /// The key as written in the manifest (encoded).
    pub encoded_key: String,
    /// The real key.
    pub key: String,
    pub version_id: Option<String>,
    pub status: String,
    pub http_status: Option<u16>,
    pub error_code: Option<String>,
    pub message: String,
}

/// Tasks grouped by (status, error code, HTTP status).
#[derive(Debug, Clone, Default)]
pub struct JobReport {
    pub format: Option<String>,
    pub created: Option<String>,
    pub result_files: usize,
    /// (task status, error code or "", HTTP status) -> (tasks, an example message).
    pub groups: BTreeMap<(String, String, Option<u16>), (u64, String)>,
    pub failed: Vec<Task>,
    pub tasks: u64,
}

/// Parses one result row (already split into fields).
pub fn parse_task(fields: &[String]) -> Result<Task> {
    if fields.len() < 4 {
        return Err(Error::Usage(format!(
            "a result row has {} fields; expected Bucket, Key, VersionId, TaskStatus, …",
            fields.len()
        )));
    }
    let http = |s: &str| s.parse::<u16>().ok().filter(|c| (100..=599).contains(c));
    let (a, b) = (
        fields.get(4).cloned().unwrap_or_default(),
        fields.get(5).cloned().unwrap_or_default(),
    );
    // Rows say HTTPStatusCode, ErrorCode; the schema says ErrorCode, HTTPStatusCode.
    let (http_status, error_code) = match (http(&a), http(&b)) {
        (Some(code), _) => (Some(code), b),
        (None, Some(code)) => (Some(code), a),
        (None, None) => (None, if a.is_empty() { b } else { a }),
    };
    Ok(Task {
        bucket: fields[0].clone(),
        key: percent_decode(&fields[1]).unwrap_or_else(|_| fields[1].clone()),
        encoded_key: fields[1].clone(),
        // A null version is written `null`, `\N` or nothing.
        version_id: Some(fields[2].clone()).filter(|v| !matches!(v.as_str(), "" | "null" | "\\N")),
        status: fields[3].to_ascii_lowercase(),
        http_status,
        error_code: Some(error_code).filter(|e| !e.is_empty()),
        message: fields.get(6..).map(|m| m.join(",")).unwrap_or_default(),
    })
}

/// Splits CSV text into rows of fields (RFC 4180 quoting, `\n` or `\r\n`).
pub fn csv_rows(data: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv_core::ReaderBuilder::new().build();
    let mut rows = Vec::new();
    let mut input = data;
    let mut out = vec![0u8; 4096];
    let mut ends = vec![0usize; 32];
    let (mut o, mut e) = (0, 0);
    loop {
        let (res, nin, nout, nend) = reader.read_record(input, &mut out[o..], &mut ends[e..]);
        input = &input[nin..];
        o += nout;
        e += nend;
        match res {
            csv_core::ReadRecordResult::InputEmpty => {}
            csv_core::ReadRecordResult::OutputFull => out.resize(out.len() * 2, 0),
            csv_core::ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            csv_core::ReadRecordResult::Record => {
                let mut start = 0;
                let row: Vec<String> = ends[..e]
                    .iter()
                    .map(|&end| {
                        let f = String::from_utf8_lossy(&out[start..end]).into_owned();
                        start = end;
                        f
                    })
                    .collect();
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push(row);
                }
                o = 0;
                e = 0;
            }
            csv_core::ReadRecordResult::End => return rows,
        }
    }
}

/// Error codes a re-drive cannot fix: the object is not eligible as it is, is gone (with
/// its bucket, for `SrcBucketNotFound`), or was already replicated (spec/formats.md §5.1,
/// spec/doctor.md). `--include-error-code` re-drives them anyway. The doctor's reason table
/// (`doctor::reasons`, `retry_helps: false`) lists the same codes; a test there keeps the
/// two equal (batch sits below doctor, so the list lives here).
pub const PERMANENT_ERRORS: &[&str] = &[
    "DstObjectHardDeleted",
    "SrcBucketNotFound",
    "SrcKeyNotFound",
    "SrcObjectNotEligible",
    "SrcObjectNotFound",
    "SrcReplicationNotPending",
    "SrcVersionNotFound",
];

/// The failed tasks to re-drive, and those left out by error code.
#[derive(Debug, Default)]
pub struct Redrive<'a> {
    pub tasks: Vec<&'a Task>,
    pub skipped: BTreeMap<String, u64>,
}

impl Redrive<'_> {
    /// The tasks as Batch Operations manifest lines (`bucket,key[,version]`, the key as the
    /// report echoed it, i.e. still encoded); with a version column when any task has one.
    pub fn lines(&self) -> String {
        let versioned = self.tasks.iter().any(|t| t.version_id.is_some());
        let mut text = String::new();
        for t in &self.tasks {
            text.push_str(&t.bucket);
            text.push(',');
            text.push_str(&t.encoded_key);
            if versioned {
                text.push(',');
                text.push_str(t.version_id.as_deref().unwrap_or("null"));
            }
            text.push('\n');
        }
        text
    }
}

impl JobReport {
    /// The groups as one typed batch: `task_status`, `error_code` (text), `http_status`
    /// (integer, null when the row had none), `tasks` (integer), `example_message`. Numbers
    /// stay numbers in JSON and Parquet, so a script can sum `tasks` without parsing text.
    pub fn groups_batch(&self) -> Result<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("task_status", DataType::Utf8, false),
            Field::new("error_code", DataType::Utf8, false),
            Field::new("http_status", DataType::Int64, true),
            Field::new("tasks", DataType::Int64, false),
            Field::new("example_message", DataType::Utf8, false),
        ]));
        let g = &self.groups;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(g.keys().map(|k| &k.0))),
            Arc::new(StringArray::from_iter_values(g.keys().map(|k| &k.1))),
            Arc::new(Int64Array::from_iter(g.keys().map(|k| k.2.map(i64::from)))),
            Arc::new(Int64Array::from_iter_values(g.values().map(|v| v.0 as i64))),
            Arc::new(StringArray::from_iter_values(g.values().map(|v| &v.1))),
        ];
        RecordBatch::try_new(schema, columns).map_err(|e| Error::Query(e.to_string()))
    }

    /// The failed tasks worth re-driving: all but those whose error code is permanent
    /// ([`PERMANENT_ERRORS`]), unless `include` names the code.
    pub fn redrive(&self, include: &[String]) -> Redrive<'_> {
        let mut r = Redrive::default();
        for t in &self.failed {
            match t.error_code.as_deref() {
                Some(code)
                    if PERMANENT_ERRORS.contains(&code)
                        && !include.iter().any(|i| i.eq_ignore_ascii_case(code)) =>
                {
                    *r.skipped.entry(code.to_string()).or_default() += 1;
                }
                _ => r.tasks.push(t),
            }
        }
        r
    }

    fn add_rows(&mut self, data: &[u8], shown: &str) -> Result<()> {
        for row in csv_rows(data) {
            let task = parse_task(&row).map_err(|e| Error::bad_data(shown, e.to_string()))?;
            self.tasks += 1;
            let key = (
                task.status.clone(),
                task.error_code.clone().unwrap_or_default(),
                task.http_status,
            );
            let entry = self.groups.entry(key).or_insert((0, task.message.clone()));
            entry.0 += 1;
            if task.status == "failed" {
                self.failed.push(task);
            }
        }
        self.result_files += 1;
        Ok(())
    }
}

/// Reads the report at `location`: the `job-<id>/` folder or its `manifest.json`, or result
/// CSVs without their manifest (one `.csv`, or a folder holding them directly or under
/// `results/`).
pub async fn read_job_report(location: &Location, s3: &S3Options) -> Result<JobReport> {
    let store = Store::open(location, s3).await?;
    let path = location.object_path()?;
    if path.as_ref().ends_with(".csv") {
        let mut report = JobReport::default();
        let data = store.get_bytes(&path).await?;
        report.add_rows(&data, &store.display(&path))?;
        return Ok(report);
    }
    let manifest_path = if path.as_ref().ends_with(".json") {
        path.clone()
    } else {
        Store::join(&path, "manifest.json")
    };
    if !path.as_ref().ends_with(".json") && !exists(&store, &manifest_path).await? {
        return read_result_folder(&store, &path).await;
    }
    let job_dir = manifest_path.parent().unwrap_or_default();
    let shown = store.display(&manifest_path);
    let raw: RawReport =
        serde_json::from_slice(&store.get_bytes(&manifest_path).await?).map_err(|e| {
            Error::InvalidManifest {
                path: shown.clone(),
                reason: format!("not a Batch Operations completion report manifest: {e}"),
            }
        })?;
    let mut report = JobReport {
        format: raw.format,
        created: raw.created,
        ..Default::default()
    };
    for result in &raw.results {
        // In S3 the results sit where the report says; in a local copy, under the job folder.
        let (file_store, file_path) = match &store.bucket {
            Some(b) if *b == result.bucket => {
                (store.clone(), crate::storage::key_path(&result.key))
            }
            Some(_) => {
                let loc = Location::S3 {
                    bucket: result.bucket.clone(),
                    key: result.key.clone(),
                };
                (
                    Store::open(&loc, s3).await?,
                    crate::storage::key_path(&result.key),
                )
            }
            None => {
                let tail = result
                    .key
                    .rsplit_once("/results/")
                    .map_or(result.key.as_str(), |(_, t)| t);
                (
                    store.clone(),
                    Store::join(&job_dir, &format!("results/{tail}")),
                )
            }
        };
        let data = file_store.get_bytes(&file_path).await?;
        if let Some(expected) = &result.md5 {
            let actual = hex::encode(Md5::digest(&data));
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(Error::ChecksumMismatch {
                    path: file_store.display(&file_path),
                    expected: expected.clone(),
                    actual,
                    hint: " (the result file does not match the report's MD5Checksum)",
                });
            }
        }
        report.add_rows(&data, &file_store.display(&file_path))?;
    }
    Ok(report)
}

async fn exists(store: &Store, path: &object_store::path::Path) -> Result<bool> {
    use object_store::ObjectStoreExt;
    match store.object_store.head(path).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(store.error(e, path, crate::storage::Action::Get)),
    }
}

/// A folder of result CSVs (directly in it, or under `results/`), read in name order.
async fn read_result_folder(store: &Store, dir: &object_store::path::Path) -> Result<JobReport> {
    let mut files = Vec::new();
    for sub in [dir.clone(), Store::join(dir, "results")] {
        let listing = match store.object_store.list_with_delimiter(Some(&sub)).await {
            Ok(l) => l,
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(e) => return Err(store.error(e, &sub, crate::storage::Action::List)),
        };
        files.extend(
            listing
                .objects
                .into_iter()
                .map(|o| o.location)
                .filter(|p| p.as_ref().ends_with(".csv")),
        );
    }
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "{} holds no completion report: no manifest.json and no result .csv files (give the report's job-<id>/ folder, its manifest.json, or a result CSV)",
            store.display(dir)
        )));
    }
    files.sort();
    let mut report = JobReport::default();
    for f in &files {
        let data = store.get_bytes(f).await?;
        report.add_rows(&data, &store.display(f))?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_by_content() {
        let data = b"acme-data,archived.txt,MPJOm_.lSga3Ql8P4u3oHCfdi3qsWvEJ,failed,500,SrcObjectNotEligible,Object is not eligible for replication\r\n\
acme-data,a%20b%2520c,v1,succeeded,200,,success\n\
awsexamplebucket1,image_14975,,failed,200,PermanentFailure,\"Lambda returned function error: {\"\"errorMessage\"\":\"\"x, y\"\"}\"\n";
        let rows = csv_rows(data);
        assert_eq!(rows.len(), 3);
        let t = parse_task(&rows[0]).unwrap();
        assert_eq!(
            (t.http_status, t.error_code.as_deref()),
            (Some(500), Some("SrcObjectNotEligible"))
        );
        assert_eq!(t.status, "failed");
        let t = parse_task(&rows[1]).unwrap();
        assert_eq!(t.key, "a b%20c");
        assert_eq!(t.error_code, None);
        let t = parse_task(&rows[2]).unwrap();
        assert_eq!(t.version_id, None);
        assert_eq!(
            t.message,
            "Lambda returned function error: {\"errorMessage\":\"x, y\"}"
        );
        // The documented (schema) order is accepted too.
        let t = parse_task(&[
            "b".into(),
            "k".into(),
            "v".into(),
            "failed".into(),
            "AccessDenied".into(),
            "403".into(),
            "m".into(),
        ])
        .unwrap();
        assert_eq!(
            (t.http_status, t.error_code.as_deref()),
            (Some(403), Some("AccessDenied"))
        );
    }
}
