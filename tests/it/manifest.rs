//! `s3inv manifest`: the lines equal an independent selection over the generator's rows,
//! the format is exactly Batch Operations', files split and verify, writes are safe, and
//! S3 destinations get real uploads with S3's ETags.

use std::path::Path;

use md5::Digest;
use proptest::prelude::*;
use s3inv::format::key::{batch_encode, percent_decode};
use s3inv::generate::{HOSTILE_KEYS, Row, Versions, long_key};
use s3inv::manifest::{InventoryManifest, md5_hex};
use serde_json::Value;

use crate::harness::{
    S3Server, buckets, bundled_options, generated, manifest_lines, manifest_parts, run, s3inv,
};

fn manifest(location: &Path, out: &Path, args: &[&str]) -> (i32, String, String) {
    run(s3inv()
        .arg("manifest")
        .arg(location)
        .arg("--out")
        .arg(out)
        .args(args))
}

fn ok(location: &Path, out: &Path, args: &[&str]) -> Value {
    let (code, stdout, err) = manifest(location, out, args);
    assert_eq!(code, 0, "{args:?}: {err}");
    assert!(stdout.contains("summary: "), "{stdout}");
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

/// Why Batch Replication refuses a row (formats.md §4.4): GLACIER / DEEP_ARCHIVE, and
/// Intelligent-Tiering objects in the ARCHIVE / DEEP_ARCHIVE access tiers.
fn refused(r: &Row) -> Option<String> {
    match (
        r.storage_class.as_deref(),
        r.intelligent_tiering_access_tier.as_deref(),
    ) {
        (Some(c @ ("GLACIER" | "DEEP_ARCHIVE")), _) => Some(format!("storage class {c}")),
        (Some("INTELLIGENT_TIERING"), Some(t @ ("ARCHIVE" | "DEEP_ARCHIVE"))) => {
            Some(format!("access tier {t}"))
        }
        _ => None,
    }
}

/// The default selection, computed from the rows: current versions, FAILED or PENDING, not
/// delete markers, not refused by Batch Replication; in byte order of the lines.
fn expected_lines(rows: &[Row], versioned: bool) -> Vec<String> {
    let sel: Vec<&Row> = rows
        .iter()
        .filter(|r| r.is_latest && !r.is_delete_marker)
        .filter(|r| {
            matches!(
                r.replication_status.as_deref(),
                Some("FAILED") | Some("PENDING")
            )
        })
        .filter(|r| refused(r).is_none())
        .collect();
    let mut lines: Vec<String> = sel
        .iter()
        .map(|r| {
            let mut line = format!("{},{}", r.bucket, encode_independently(&r.key));
            if versioned {
                line.push(',');
                line.push_str(r.version_id.as_deref().unwrap_or("null"));
            }
            line
        })
        .collect();
    lines.sort();
    lines
}

/// The spec's encoding, written out again here rather than calling the code under test.
fn encode_independently(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[test]
fn lines_equal_an_independent_selection_in_every_format() {
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    let expected = expected_lines(&rows, true);
    assert!(expected.len() > 10);
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    for config in ["csv-all", "orc-all", "parquet-all"] {
        let out = dir.path().join(config);
        let summary = ok(&generated(config), &out, &[]);
        assert_eq!(manifest_lines(&out), expected, "{config}");
        assert_eq!(summary["selected"]["objects"], expected.len() as u64);
        assert_eq!(
            summary["verification"]["lines_reread"],
            expected.len() as u64
        );
        bytes.push(std::fs::read(out.join("manifest-00001.csv")).unwrap());
        // No header, \n endings, UTF-8 ASCII only.
        assert!(bytes.last().unwrap().ends_with(b"\n"));
        assert!(!bytes.last().unwrap().contains(&b'\r'));
    }
    assert_eq!(bytes[0], bytes[1]);
    assert_eq!(bytes[0], bytes[2]);
}

#[test]
fn summary_counts_statuses_and_skips() {
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let summary = ok(
        &generated("parquet-all"),
        &out,
        &["--status", "FAILED,PENDING,NONE", "--all-versions"],
    );
    let matches = |r: &&Row| {
        matches!(
            r.replication_status.as_deref(),
            Some("FAILED") | Some("PENDING") | None
        )
    };
    let markers = rows
        .iter()
        .filter(matches)
        .filter(|r| r.is_delete_marker)
        .count() as u64;
    let mut archived: std::collections::BTreeMap<String, u64> = Default::default();
    for r in rows.iter().filter(matches).filter(|r| !r.is_delete_marker) {
        if let Some(reason) = refused(r) {
            *archived.entry(reason).or_default() += 1;
        }
    }
    assert!(archived.keys().any(|k| k.starts_with("access tier")));
    let archived_total: u64 = archived.values().sum();
    let written = rows.iter().filter(matches).count() as u64 - markers - archived_total;
    assert!(markers > 0 && archived_total > 0);
    assert_eq!(summary["skipped"]["delete marker"]["objects"], markers);
    assert_eq!(summary["skipped"]["delete marker"]["bytes"], 0);
    let skipped_archived: std::collections::BTreeMap<String, u64> = summary["skipped"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.as_str() != "delete marker")
        .map(|(k, v)| (k.clone(), v["objects"].as_u64().unwrap()))
        .collect();
    assert_eq!(skipped_archived, archived);
    assert_eq!(summary["selected"]["objects"], written);
    assert_eq!(manifest_lines(&out).len() as u64, written);
    let none = rows
        .iter()
        .filter(|r| r.replication_status.is_none() && !r.is_delete_marker)
        .filter(|r| refused(r).is_none())
        .count() as u64;
    assert_eq!(summary["selected"]["statuses"]["NONE"]["objects"], none);
    // Per-file entries carry lines, bytes and MD5s that match the files.
    for f in summary["files"].as_array().unwrap() {
        let data = std::fs::read(out.join(f["name"].as_str().unwrap())).unwrap();
        assert_eq!(f["bytes"], data.len() as u64);
        assert_eq!(f["md5"], md5_hex(&data));
        assert_eq!(f["etag"], md5_hex(&data));
    }
}

#[test]
fn splitting_by_objects_and_bytes_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    ok(&generated("csv-all"), &whole, &[]);
    let lines = manifest_lines(&whole);
    let split = dir.path().join("split");
    let summary = ok(&generated("csv-all"), &split, &["--max-objects", "7"]);
    let files = manifest_parts(&split);
    assert_eq!(files.len(), lines.len().div_ceil(7));
    assert_eq!(manifest_lines(&split), lines);
    assert!(
        files
            .iter()
            .all(|f| std::fs::read_to_string(f).unwrap().lines().count() <= 7)
    );
    assert_eq!(summary["files"][0]["lines"], 7);
    let by_bytes = dir.path().join("bytes");
    let summary = ok(&generated("orc-all"), &by_bytes, &["--max-bytes", "1M"]);
    assert_eq!(manifest_lines(&by_bytes), lines);
    for f in summary["files"].as_array().unwrap() {
        // A part exceeds the limit only when a single object does.
        assert!(
            f["object_bytes"].as_u64().unwrap() <= 1 << 20 || f["lines"] == 1,
            "{f}"
        );
    }
    // Same input and options: the same bytes.
    let again = dir.path().join("again");
    ok(&generated("parquet-all"), &again, &["--max-objects", "7"]);
    for (a, b) in manifest_parts(&split).iter().zip(manifest_parts(&again)) {
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
}

#[test]
fn current_only_inventories_write_bucket_and_key() {
    let rows: Vec<Row> = bundled_options().rows(Versions::Current).collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let (code, _, err) = manifest(&generated("csv-current"), &out, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no version ids"), "{err}");
    assert_eq!(manifest_lines(&out), expected_lines(&rows, false));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["format"]["fields"],
        serde_json::json!(["Bucket", "Key"])
    );
}

#[test]
fn existing_manifests_need_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    ok(&generated("csv-all"), &out, &["--max-objects", "5"]);
    let before = manifest_parts(&out).len();
    let (code, _, err) = manifest(&generated("csv-all"), &out, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("already holds manifests (manifest-00001.csv"),
        "{err}"
    );
    assert!(err.contains("pass --force to replace them"), "{err}");
    assert_eq!(manifest_parts(&out).len(), before);
    ok(&generated("csv-all"), &out, &["--force"]);
    assert_eq!(
        manifest_parts(&out).len(),
        1,
        "stale parts of the earlier run must go"
    );
}

#[test]
fn empty_selection_writes_only_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let (code, stdout, err) = manifest(
        &generated("csv-all"),
        &out,
        &[
            "--prefix",
            "no/such/prefix/",
            "--role-arn",
            "arn:aws:iam::111122223333:role/r",
            "--manifest-url",
            "s3://b/p",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains("no objects match the selection: no manifest written"),
        "{stdout}"
    );
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["summary.json"]);
}

#[test]
fn bad_manifest_options() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = dir.path().join("m");
    for (args, message, out) in [
        (
            vec!["--where", "no_such_column = 1"],
            "invalid --where \"no_such_column = 1\"",
            out.clone(),
        ),
        (
            vec!["--where", "size >"],
            "invalid --where \"size >\"",
            out.clone(),
        ),
        (
            vec!["--status", "DONE"],
            "unknown --status \"DONE\"",
            out.clone(),
        ),
        (
            vec!["--storage-class", "GLACIER"],
            "--storage-class GLACIER is also excluded",
            out.clone(),
        ),
        (
            vec!["--status", "FAILED", "--pending-older-than", "24h"],
            "does not select PENDING",
            out.clone(),
        ),
        (
            vec!["--min-size", "2M", "--max-size", "1M"],
            "nothing could match",
            out.clone(),
        ),
        (
            vec!["--account-id", "111122223333"],
            "give --role-arn too",
            out.clone(),
        ),
        (
            vec!["--max-objects", "0"],
            "must be at least 1",
            out.clone(),
        ),
        (vec![], "a-file", file.join("sub")),
    ] {
        let (code, stdout, err) = manifest(&generated("csv-all"), &out, &args);
        assert_eq!(code, 2, "{args:?}: {stdout} {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(!out.join("summary.json").exists());
}

#[test]
fn one_job_writes_an_inventory_format_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let summary = ok(
        &generated("parquet-all"),
        &out,
        &[
            "--max-objects",
            "5",
            "--one-job",
            "--role-arn",
            "arn:aws:iam::111122223333:role/batch",
            "--manifest-url",
            "s3://acme-ops/bops/run",
        ],
    );
    let text = std::fs::read(out.join("manifest.json")).unwrap();
    let checksum = std::fs::read_to_string(out.join("manifest.checksum")).unwrap();
    assert_eq!(checksum, format!("{}\n", md5_hex(&text)));
    let m = InventoryManifest::parse(&text, "manifest.json").unwrap();
    assert_eq!(m.csv_columns(), ["Bucket", "Key", "VersionId"]);
    assert_eq!(m.files.len(), manifest_parts(&out).len());
    for (f, p) in m.files.iter().zip(manifest_parts(&out)) {
        let data = std::fs::read(&p).unwrap();
        assert_eq!(
            f.key,
            format!("bops/run/{}", p.file_name().unwrap().to_str().unwrap())
        );
        assert_eq!(
            (f.size, f.md5.as_str()),
            (data.len() as u64, md5_hex(&data).as_str())
        );
    }
    let job: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("job.json")).unwrap()).unwrap();
    assert_eq!(
        job["Manifest"]["Spec"]["Format"],
        "S3InventoryReport_CSV_20161130"
    );
    assert_eq!(
        job["Manifest"]["Location"]["ObjectArn"],
        "arn:aws:s3:::acme-ops/bops/run/manifest.json"
    );
    assert_eq!(job["Manifest"]["Location"]["ETag"], md5_hex(&text));
    assert_eq!(job["RoleArn"], "arn:aws:iam::111122223333:role/batch");
    assert_eq!(job["AccountId"], "111122223333");
    assert_eq!(job["ConfirmationRequired"], true);
    assert_eq!(summary["jobs"].as_array().unwrap().len(), 1);
    assert!(!out.join("job-00001.json").exists());
}

#[test]
fn s3_destination_uploads_and_records_s3_etags() {
    let server = S3Server::start(&buckets());
    std::fs::create_dir_all(server.root.path().join("acme-ops")).unwrap();
    let (code, stdout, err) = run(server.s3inv().args([
        "manifest",
        "s3://acme-inventory/acme-data/csv-all",
        "--out",
        "s3://acme-ops/bops/run1",
        "--max-objects",
        "10",
        "--role-arn",
        "arn:aws:iam::111122223333:role/batch",
        "--format",
        "json",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    let on_disk = server.root.path().join("acme-ops/bops/run1");
    assert_eq!(manifest_lines(&on_disk), expected_lines(&rows, true));
    for (i, f) in summary["files"].as_array().unwrap().iter().enumerate() {
        let data = std::fs::read(on_disk.join(f["name"].as_str().unwrap())).unwrap();
        assert_eq!(f["md5"], md5_hex(&data));
        assert!(!f["etag"].as_str().unwrap().is_empty());
        let job: Value = serde_json::from_str(
            &std::fs::read_to_string(on_disk.join(format!("job-{:05}.json", i + 1))).unwrap(),
        )
        .unwrap();
        assert_eq!(job["Manifest"]["Location"]["ETag"], f["etag"]);
        assert_eq!(
            job["Manifest"]["Location"]["ObjectArn"],
            format!(
                "arn:aws:s3:::acme-ops/bops/run1/{}",
                f["name"].as_str().unwrap()
            )
        );
        assert_eq!(job["Report"]["Bucket"], "arn:aws:s3:::acme-ops");
        assert_eq!(job["Report"]["Prefix"], "bops/run1/reports");
    }
    assert!(on_disk.join("summary.json").exists());
    // No write-check object is left behind.
    assert!(std::fs::read_dir(&on_disk).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".s3inv")
    }));
    // A destination we may not write to is refused before the scan.
    let (code, _, err) = run(server.s3inv().args([
        "manifest",
        "s3://acme-inventory/acme-data/csv-all",
        "--out",
        "s3://acme-ops/denied",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("access denied: s3://acme-ops/denied/.s3inv-write-check-"),
        "{err}"
    );
    assert!(err.contains("the credentials need s3:PutObject"), "{err}");
}

#[test]
fn every_hostile_key_round_trips() {
    let mut keys: Vec<String> = HOSTILE_KEYS.iter().map(|k| k.to_string()).collect();
    keys.push(long_key());
    for key in keys {
        let encoded = batch_encode(&key);
        assert_eq!(encoded, encode_independently(&key));
        assert!(
            !encoded.contains([',', '"', ' ', '+', '\t', '\n', '\r']),
            "{encoded}"
        );
        assert_eq!(percent_decode(&encoded).unwrap(), key);
    }
}

proptest! {
    #[test]
    fn any_unicode_key_round_trips(key in "\\PC{0,300}|[ -~]{0,50}|.{0,40}") {
        let encoded = batch_encode(&key);
        prop_assert!(!encoded.contains([',', '"', ' ', '+', '\t', '\n', '\r']));
        prop_assert_eq!(percent_decode(&encoded).unwrap(), key);
    }
}

#[test]
fn job_report_summarises_tasks_and_writes_the_failures() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir
        .path()
        .join("reports/backfill/job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955");
    std::fs::create_dir_all(job.join("results")).unwrap();
    let failed = "acme-data,archived.txt,MPJOm_.lSga3Ql8P4u3oHCfdi3qsWvEJ,failed,500,SrcObjectNotEligible,Object is not eligible for replication\n\
acme-data,a%20b.txt,v2,failed,403,AccessDenied,\"Access Denied, really\"\n";
    let ok_rows = "acme-data,control.txt,lIX2YStkv89bYPmWWEC_kjyko28mvprC,succeeded,200,,success\n";
    std::fs::write(job.join("results/b2dd.csv"), failed).unwrap();
    std::fs::write(job.join("results/6217.csv"), ok_rows).unwrap();
    let manifest = serde_json::json!({
        "Format": "Report_CSV_20180820",
        "ReportCreationDate": "2026-11-21T17:48:39.725Z",
        "Results": [
            {"TaskExecutionStatus": "succeeded", "Bucket": "acme-ops", "MD5Checksum": md5_hex(ok_rows.as_bytes()),
             "Key": "reports/backfill/job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955/results/6217.csv"},
            {"TaskExecutionStatus": "failed", "Bucket": "acme-ops", "MD5Checksum": md5_hex(failed.as_bytes()),
             "Key": "reports/backfill/job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955/results/b2dd.csv"}
        ],
        "ReportSchema": "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"
    });
    std::fs::write(job.join("manifest.json"), manifest.to_string()).unwrap();
    let redo = dir.path().join("redo.csv");
    let (code, out, err) = run(s3inv()
        .arg("job-report")
        .arg(&job)
        .args(["-f", "csv", "--failed-manifest"])
        .arg(&redo));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "task_status,error_code,http_status,tasks,example_message\n\
         failed,AccessDenied,403,1,\"Access Denied, really\"\n\
         failed,SrcObjectNotEligible,500,1,Object is not eligible for replication\n\
         succeeded,,200,1,success\n"
    );
    // SrcObjectNotEligible cannot succeed on a retry: left out and counted.
    assert_eq!(
        std::fs::read_to_string(&redo).unwrap(),
        "acme-data,a%20b.txt,v2\n"
    );
    assert!(
        err.contains("1 failed task left out of") && err.contains("SrcObjectNotEligible 1"),
        "{err}"
    );
    // One task: "it", never "them".
    assert!(
        err.contains("(a retry cannot fix it as it is)")
            && err.contains("--include-error-code CODE re-drives it\n"),
        "{err}"
    );
    let (code, _, err) = run(s3inv()
        .arg("job-report")
        .arg(&job)
        .args([
            "-f",
            "csv",
            "--include-error-code",
            "SrcObjectNotEligible",
            "--failed-manifest",
        ])
        .arg(&redo));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(&redo).unwrap(),
        "acme-data,archived.txt,MPJOm_.lSga3Ql8P4u3oHCfdi3qsWvEJ\nacme-data,a%20b.txt,v2\n"
    );
    // The same report read from S3 (results named by bucket and key, as AWS writes them).
    let server = S3Server::start(dir.path());
    std::fs::create_dir_all(server.root.path().join("acme-ops")).unwrap();
    crate::harness::copy_dir(
        &dir.path().join("reports"),
        &server.root.path().join("acme-ops/reports"),
    );
    let (code, out_s3, err) = run(server.s3inv().args([
        "job-report",
        "s3://acme-ops/reports/backfill/job-f8fb9d89-a3aa-461d-bddc-ea6a1b131955/",
        "-f",
        "csv",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out_s3, out);
    // A corrupted result file is caught by its MD5.
    std::fs::write(job.join("results/6217.csv"), "x").unwrap();
    let (code, _, err) = run(s3inv().arg("job-report").arg(&job));
    assert_eq!(code, 2);
    assert!(err.contains("6217.csv: md5 mismatch"), "{err}");
}

#[test]
fn large_manifests_go_up_as_multipart_uploads() {
    // ~150k lines (> 8 MiB): the upload switches to multipart; the ETag is S3's "<md5>-<parts>".
    let dir = tempfile::tempdir().unwrap();
    let opts = s3inv::generate::GenerateOptions {
        rows: 150_000,
        files: 2,
        hostile: false,
        ..bundled_options()
    };
    let config = crate::harness::write_generated(
        dir.path(),
        &opts,
        s3inv::manifest::FileFormat::Parquet,
        Versions::All,
    );
    // A local DEST for upload with `aws s3 cp`: the job's ETag is the multipart ETag aws-cli's
    // default 8 MiB parts give, computed here from the file.
    let local = dir.path().join("local");
    let (code, _, err) = manifest(
        &config,
        &local,
        &[
            "--status",
            "COMPLETED,PENDING,FAILED,REPLICA,NONE",
            "--all-versions",
            "--exclude-storage-class",
            "",
            "--role-arn",
            "arn:aws:iam::111122223333:role/b",
            "--manifest-url",
            "s3://acme-ops/big/",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let data = std::fs::read(local.join("manifest-00001.csv")).unwrap();
    assert!(data.len() > 8 << 20);
    let mut part_md5s = Vec::new();
    for chunk in data.chunks(8 << 20) {
        part_md5s.extend(md5::Md5::digest(chunk));
    }
    let expected = format!("{}-{}", md5_hex(&part_md5s), data.len().div_ceil(8 << 20));
    let job: Value =
        serde_json::from_str(&std::fs::read_to_string(local.join("job-00001.json")).unwrap())
            .unwrap();
    assert_eq!(job["Manifest"]["Location"]["ETag"], expected.as_str());
    assert!(
        err.contains(&format!(
            "upload with: aws s3 cp {} s3://acme-ops/big/ --recursive",
            local.display()
        )),
        "{err}"
    );
    std::fs::create_dir_all(dir.path().join("acme-ops")).unwrap();
    let server = S3Server::start(dir.path());
    let (code, stdout, err) = run(server.s3inv().args([
        "manifest",
        "s3://acme-inventory/acme-data/parquet-all",
        "--out",
        "s3://acme-ops/big",
        "--status",
        "COMPLETED,PENDING,FAILED,REPLICA,NONE",
        "--all-versions",
        "--exclude-storage-class",
        "",
        "--format",
        "json",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let file = &summary["files"][0];
    assert!(file["bytes"].as_u64().unwrap() > 8 << 20, "{file}");
    assert!(
        file["etag"].as_str().unwrap().contains('-'),
        "multipart ETag expected: {file}"
    );
    // Everything but delete markers and Intelligent-Tiering objects in an archive tier
    // (skipped even when no storage class is excluded: Batch Replication refuses them).
    let rows = opts
        .rows(Versions::All)
        .filter(|r| !r.is_delete_marker)
        .filter(|r| !refused(r).is_some_and(|why| why.starts_with("access tier")))
        .count() as u64;
    assert_eq!(file["lines"], rows);
    let data = std::fs::read(server.root.path().join("acme-ops/big/manifest-00001.csv")).unwrap();
    assert_eq!(file["md5"], md5_hex(&data));
    assert_eq!(data.iter().filter(|b| **b == b'\n').count() as u64, rows);
    // A multipart upload that fails midway is aborted: the server keeps no parts.
    let (code, _, err) = run(server.s3inv().args([
        "manifest",
        "s3://acme-inventory/acme-data/parquet-all",
        "--out",
        "s3://acme-ops/fail-upload",
        "--status",
        "COMPLETED,PENDING,FAILED,REPLICA,NONE",
        "--all-versions",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("s3://acme-ops/fail-upload/"), "{err}");
    let leftovers: Vec<String> = crate::harness::files_under(server.root.path())
        .into_iter()
        .filter(|f| f.contains(".upload") || f.starts_with("acme-ops/fail-upload"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn job_requests_stay_in_createjob_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let job_args = [
        "--role-arn",
        "arn:aws:iam::111122223333:role/batch",
        "--manifest-url",
        "s3://acme-ops/bops",
    ];
    // A priority CreateJob would refuse is refused at the flag.
    let mut args = job_args.to_vec();
    args.extend(["--priority", "4000000000"]);
    let (code, _, err) = manifest(&generated("csv-all"), &out, &args);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--priority must be a whole number from 0 to 2147483647"),
        "{err}"
    );
    assert!(!out.join("summary.json").exists());
    // The largest allowed priority and an empty report prefix (omitted, never "").
    let mut args = job_args.to_vec();
    args.extend(["--priority", "2147483647", "--report-prefix", ""]);
    ok(&generated("csv-all"), &out, &args);
    let job: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("job-00001.json")).unwrap())
            .unwrap();
    assert_eq!(job["Priority"], 2147483647u64);
    assert!(job["Report"].get("Prefix").is_none(), "{}", job["Report"]);
}

/// The files directly in a local DEST (hidden ones included), sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

/// Names and MD5s of the files directly in a folder.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    names(dir)
        .into_iter()
        .map(|n| {
            let data = std::fs::read(dir.join(&n)).unwrap();
            (n, md5_hex(&data))
        })
        .collect()
}

fn s3_manifest(server: &S3Server, out: &str, args: &[&str]) -> (i32, String, String) {
    run(server
        .s3inv()
        .args([
            "manifest",
            "s3://acme-inventory/acme-data/csv-all",
            "--out",
            out,
        ])
        .args(args)
        .args(["--endpoint-url", &server.endpoint]))
}

#[test]
fn force_to_s3_replaces_exactly_the_stale_objects() {
    let server = S3Server::start(&buckets());
    std::fs::create_dir_all(server.root.path().join("acme-ops")).unwrap();
    let on_disk = server.root.path().join("acme-ops/m1");
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    let expected = expected_lines(&rows, true);
    let (code, _, err) = s3_manifest(&server, "s3://acme-ops/m1", &["--max-objects", "5"]);
    assert_eq!(code, 0, "{err}");
    let first = manifest_parts(&on_disk).len();
    assert!(first > 3, "{first} parts");
    // A user's file beside the manifests is never touched.
    std::fs::write(on_disk.join("notes.txt"), "mine").unwrap();
    // The rerun: fewer, larger parts.
    let (code, stdout, err) = s3_manifest(
        &server,
        "s3://acme-ops/m1",
        &["--max-objects", "10", "--force", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let second = expected.len().div_ceil(10);
    let mut want: Vec<String> = (1..=second)
        .map(|i| format!("manifest-{i:05}.csv"))
        .collect();
    want.extend(["notes.txt".to_string(), "summary.json".to_string()]);
    assert_eq!(names(&on_disk), want, "exactly the new set, nothing staged");
    assert_eq!(manifest_lines(&on_disk), expected);
    let removed: Vec<String> = (second + 1..=first)
        .map(|i| format!("manifest-{i:05}.csv"))
        .collect();
    assert_eq!(summary["removed"], serde_json::json!(removed));
    assert!(
        err.contains(&format!(
            "removed {} files an earlier run wrote: manifest-{:05}.csv",
            removed.len(),
            second + 1
        )),
        "{err}"
    );
    let on_s3: Value =
        serde_json::from_str(&std::fs::read_to_string(on_disk.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(on_s3, summary);
    // The same run again is a no-op replacement.
    let (code, _, err) = s3_manifest(
        &server,
        "s3://acme-ops/m1",
        &["--max-objects", "10", "--force"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(names(&on_disk), want);
    assert_eq!(manifest_lines(&on_disk), expected);
}

#[test]
fn a_failed_rerun_leaves_the_earlier_run_intact() {
    let server = S3Server::start(&buckets());
    let ops = server.root.path().join("acme-ops");
    std::fs::create_dir_all(&ops).unwrap();
    let (code, _, err) = s3_manifest(
        &server,
        "s3://acme-ops/ok",
        &[
            "--max-objects",
            "5",
            "--role-arn",
            "arn:aws:iam::111122223333:role/b",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // The same files under a prefix where the server refuses every upload of a new file.
    crate::harness::copy_dir(&ops.join("ok"), &ops.join("fail-upload"));
    let before = snapshot(&ops.join("fail-upload"));
    let (code, _, err) = s3_manifest(
        &server,
        "s3://acme-ops/fail-upload",
        &["--max-objects", "7", "--force"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("s3://acme-ops/fail-upload/.manifest-00001.csv.s3inv-"),
        "{err}"
    );
    assert_eq!(
        snapshot(&ops.join("fail-upload")),
        before,
        "the earlier run is untouched"
    );
    // Locally: a failure after the parts are written (a job request cannot be written)
    // rolls the whole run back, and the earlier run stays.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let job = [
        "--role-arn",
        "arn:aws:iam::111122223333:role/b",
        "--manifest-url",
        "s3://acme-ops/m",
    ];
    let mut args = vec!["--max-objects", "5"];
    args.extend(job);
    ok(&generated("csv-all"), &out, &args);
    let before = snapshot(&out);
    let blocked = format!("job-{:05}.json", before.len()); // one past the earlier jobs
    std::fs::remove_file(out.join("summary.json")).unwrap();
    let before_without_summary = snapshot(&out);
    std::fs::create_dir(out.join(&blocked)).unwrap();
    let mut args = vec!["--max-objects", "1", "--force"];
    args.extend(job);
    let (code, _, err) = manifest(&generated("csv-all"), &out, &args);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&blocked), "{err}");
    std::fs::remove_dir(out.join(&blocked)).unwrap();
    // Only the earlier run's files remain: every file this run put in place and the earlier
    // run did not have is gone, no temporary file is left, and no summary.json says
    // "complete".
    let after = snapshot(&out);
    assert!(!out.join("summary.json").exists());
    for (name, _) in &after {
        assert!(
            before_without_summary.iter().any(|(n, _)| n == name),
            "{name} left behind"
        );
    }
}

#[test]
fn force_removes_only_files_s3inv_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    std::fs::create_dir_all(&out).unwrap();
    let users = [
        ("manifest-final.csv", "mine"),
        ("job.json", "{\"mine\": true}"),
        ("manifest-1.csv", "mine"),
        ("job-notes.json", "{}"),
    ];
    for (n, text) in users {
        std::fs::write(out.join(n), text).unwrap();
    }
    // The user's look-alikes are not manifests: no --force needed.
    ok(&generated("csv-all"), &out, &["--max-objects", "5"]);
    let first = names(&out)
        .iter()
        .filter(|n| n.starts_with("manifest-0"))
        .count();
    let (code, _, err) = manifest(&generated("csv-all"), &out, &["--max-objects", "50"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("already holds manifests (manifest-00001.csv"),
        "{err}"
    );
    let (code, _, err) = manifest(
        &generated("csv-all"),
        &out,
        &["--max-objects", "50", "--force"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "removed {} files an earlier run wrote: manifest-00002.csv",
            first - 1
        )),
        "{err}"
    );
    for (n, text) in users {
        assert_eq!(std::fs::read_to_string(out.join(n)).unwrap(), text, "{n}");
    }
    // --one-job would write manifest.json and job.json: a user's job.json is refused, not
    // replaced, with or without --force.
    let job = [
        "--one-job",
        "--force",
        "--role-arn",
        "arn:aws:iam::111122223333:role/b",
        "--manifest-url",
        "s3://acme-ops/m",
    ];
    let (code, _, err) = manifest(&generated("csv-all"), &out, &job);
    assert_eq!(code, 2);
    assert!(
        err.contains("holds a job.json that s3inv did not write"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("job.json")).unwrap(),
        users[1].1
    );
    // Its own manifest.json and job.json (listed in its summary.json) are replaced.
    std::fs::remove_file(out.join("job.json")).unwrap();
    ok(&generated("csv-all"), &out, &job);
    assert!(out.join("manifest.json").exists() && out.join("job.json").exists());
    let (code, _, err) = manifest(
        &generated("csv-all"),
        &out,
        &["--force", "--max-objects", "50"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(
            "removed 3 files an earlier run wrote: job.json, manifest.checksum, manifest.json"
        ),
        "{err}"
    );
    let mut want: Vec<String> = vec![
        "job-notes.json".into(),
        "manifest-00001.csv".into(),
        "manifest-1.csv".into(),
        "manifest-final.csv".into(),
        "summary.json".into(),
    ];
    want.sort();
    assert_eq!(names(&out), want);
}

#[test]
fn report_with_manifests_runs_again_to_s3() {
    let server = S3Server::start(&buckets());
    std::fs::create_dir_all(server.root.path().join("acme-ops")).unwrap();
    let out = server.root.path().join("acme-ops/nightly/manifests");
    let mut sets = Vec::new();
    for night in 0..2 {
        let (code, _, err) = run(server.s3inv().args([
            "report",
            "s3://acme-inventory/acme-data/csv-all/",
            "--out",
            "s3://acme-ops/nightly",
            "--with-manifests",
            "--endpoint-url",
            &server.endpoint,
        ]));
        assert_eq!(code, 0, "night {night}: {err}");
        assert!(out.join("summary.json").exists());
        assert!(!manifest_parts(&out).is_empty());
        sets.push((names(&out), manifest_lines(&out)));
    }
    assert_eq!(sets[0], sets[1]);
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    assert_eq!(sets[1].1, expected_lines(&rows, true));
}

/// Starts `s3inv ARGS` as a child process (for signals), with the harness's environment.
fn spawn(server: Option<&S3Server>, args: &[&str]) -> std::process::Child {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("s3inv"));
    for var in [
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "RUST_LOG",
        "AWS_SESSION_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_CONFIG_FILE", "/nonexistent/s3inv-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/x")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", crate::harness::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", crate::harness::SECRET_KEY)
        .env("AWS_REGION", "us-east-1");
    cmd.args(args);
    if let Some(s) = server {
        cmd.args(["--endpoint-url", &s.endpoint]);
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until a file whose name satisfies `found` appears directly in `dir` (the run is
/// then writing its parts), sends `signal`, and returns (exit code, stderr).
fn interrupt_when(
    mut child: std::process::Child,
    dir: &Path,
    found: impl Fn(&str) -> bool,
    signal: &str,
) -> (Option<i32>, String) {
    let start = std::time::Instant::now();
    loop {
        let seen = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .any(|e| found(&e.file_name().to_string_lossy()))
            })
            .unwrap_or(false);
        if seen {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended before it could be interrupted: {status}");
        }
        assert!(
            start.elapsed().as_secs() < 120,
            "no temporary part appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn signals_stop_a_run_and_leave_the_earlier_run_as_it_was() {
    // One object per part: writing the parts takes seconds, and the signal comes as soon
    // as the first part's temporary file appears.
    let dir = tempfile::tempdir().unwrap();
    let config =
        crate::harness::large_delivery(dir.path(), 50_000, 2, s3inv::manifest::FileFormat::Parquet);
    let all = [
        "--status",
        "COMPLETED,PENDING,FAILED,REPLICA,NONE",
        "--all-versions",
        "--max-objects",
        "1",
        "--force",
    ];
    // Local DEST, SIGINT: exit 130, no temporary file, the earlier run untouched.
    let out = dir.path().join("out");
    ok(&generated("csv-all"), &out, &["--max-objects", "5"]);
    let before = snapshot(&out);
    let mut args = vec![
        "manifest",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(all);
    let child = spawn(None, &args);
    let (code, err) = interrupt_when(
        child,
        &out,
        |n| n.starts_with(".manifest-") && n.ends_with(".tmp"),
        "-INT",
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    assert_eq!(snapshot(&out), before);
    // S3 DEST, SIGTERM: exit 143, nothing staged, no upload left open.
    std::fs::create_dir_all(dir.path().join("acme-ops")).unwrap();
    crate::harness::copy_dir(&out, &dir.path().join("acme-ops/sig"));
    let server = S3Server::start(dir.path());
    let on_disk = server.root.path().join("acme-ops/sig");
    let before = snapshot(&on_disk);
    let mut args = vec![
        "manifest",
        "s3://acme-inventory/acme-data/parquet-all",
        "--out",
        "s3://acme-ops/sig",
    ];
    args.extend(all);
    let child = spawn(Some(&server), &args);
    let (code, err) = interrupt_when(
        child,
        &on_disk,
        |n| n.starts_with(".manifest-") && n.ends_with(".tmp"),
        "-TERM",
    );
    assert_eq!(code, Some(143), "{err}");
    assert!(err.contains("interrupted by SIGTERM"), "{err}");
    assert_eq!(snapshot(&on_disk), before);
    let open: Vec<String> = crate::harness::files_under(server.root.path())
        .into_iter()
        .filter(|f| f.starts_with(".upload"))
        .collect();
    assert!(open.is_empty(), "{open:?}");
}

#[test]
fn every_prefix_label_selects_its_whole_group() {
    // At depth 1 a `summary --by prefix` group is exactly the keys `manifest --prefix LABEL`
    // selects: keys without `/` are `(root)`, no longer mixed with keys starting with `/`.
    let location = generated("csv-all");
    let (code, out, err) = run(s3inv()
        .arg("summary")
        .arg(&location)
        .args(["--by", "prefix", "--depth", "1", "-f", "json"]));
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let groups = doc["groups"].as_array().unwrap();
    let labels: Vec<&str> = groups
        .iter()
        .map(|g| g["values"]["prefix"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"(root)") && labels.contains(&"/"),
        "{labels:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    for (i, g) in groups.iter().enumerate() {
        let label = g["values"]["prefix"].as_str().unwrap();
        let out = dir.path().join(i.to_string());
        let summary = ok(
            &location,
            &out,
            &[
                "--prefix",
                label,
                "--status",
                "COMPLETED,PENDING,FAILED,REPLICA,NONE",
                "--exclude-storage-class",
                "",
            ],
        );
        let skipped: u64 = summary["skipped"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v["objects"].as_u64().unwrap())
            .sum();
        assert_eq!(
            summary["selected"]["objects"].as_u64().unwrap() + skipped,
            g["objects"].as_u64().unwrap(),
            "--prefix {label:?}"
        );
    }
}

#[test]
fn job_report_reads_real_reports_and_result_csvs() {
    let real = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/batch-reports/sample-replicate-on-tag");
    let job = real.join("job-b2f9f42d-dba4-4a77-945e-074cef95450e");
    let result = job.join("results/f47b7e9d4ea62beb3251ae3ae522503744384fda.csv");
    let nulltest = "task_status,error_code,http_status,tasks,example_message\n\
                    succeeded,,200,3,success\n";
    // The report's folder, its manifest.json, the result CSV alone, and its folder.
    for location in [
        job.clone(),
        job.join("manifest.json"),
        result.clone(),
        job.join("results"),
    ] {
        let (code, out, err) = run(s3inv().arg("job-report").arg(&location).args(["-f", "csv"]));
        assert_eq!(code, 0, "{}: {err}", location.display());
        assert_eq!(out, nulltest, "{}", location.display());
    }
    // A folder of result CSVs without a manifest: CRLF rows, `\N` and real versions.
    let dir = tempfile::tempdir().unwrap();
    let redo = dir.path().join("redo.csv");
    let (code, out, err) = run(s3inv()
        .arg("job-report")
        .arg(real.join("rows"))
        .args(["-f", "csv", "--failed-manifest"])
        .arg(&redo));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "task_status,error_code,http_status,tasks,example_message\n\
         failed,SrcObjectNotEligible,500,1,Object is not eligible for replication\n\
         failed,SrcObjectNotFound,500,1,Object versionID is invalid\n\
         succeeded,,200,1,success\n"
    );
    // Both failures are permanent: nothing to re-drive, and the note says why.
    assert_eq!(std::fs::read_to_string(&redo).unwrap(), "");
    assert!(
        err.contains("2 failed tasks left out of")
            && err.contains("SrcObjectNotEligible 1, SrcObjectNotFound 1"),
        "{err}"
    );
    // Overridden: `\N` is a null version, written `null`.
    let (code, _, err) = run(s3inv()
        .arg("job-report")
        .arg(real.join("rows"))
        .args([
            "--include-error-code",
            "SrcObjectNotFound",
            "--include-error-code",
            "SrcObjectNotEligible",
            "--failed-manifest",
        ])
        .arg(&redo));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(&redo).unwrap(),
        "example-source-bucket,verify-test/null-version-req2.txt,null\n\
         amzn-s3-demo-source,archived.txt,MPJOm_.lSga3Ql8P4u3oHCfdi3qsWvEJ\n"
    );
    // A folder with neither says what it expected.
    let (code, _, err) = run(s3inv().arg("job-report").arg(dir.path().join("none")));
    assert_eq!(code, 2);
    assert!(
        err.contains("no manifest.json and no result .csv files"),
        "{err}"
    );
}

#[test]
fn job_report_numbers_are_numbers() {
    let rows = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/batch-reports/sample-replicate-on-tag/rows");
    let (code, out, err) = run(s3inv().arg("job-report").arg(&rows).args(["-f", "json"]));
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        doc[0],
        serde_json::json!({"task_status": "failed", "error_code": "SrcObjectNotEligible",
            "http_status": 500, "tasks": 1, "example_message": "Object is not eligible for replication"})
    );
    let total: u64 = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["tasks"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3);
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("groups.parquet");
    let (code, _, err) = run(s3inv().arg("job-report").arg(&rows).arg("-o").arg(&parquet));
    assert_eq!(code, 0, "{err}");
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&parquet).unwrap(),
        )
        .unwrap();
    let schema = reader.schema().clone();
    use datafusion::arrow::datatypes::DataType;
    assert_eq!(
        schema.field_with_name("http_status").unwrap().data_type(),
        &DataType::Int64
    );
    assert_eq!(
        schema.field_with_name("tasks").unwrap().data_type(),
        &DataType::Int64
    );
}

#[test]
fn the_printed_create_job_command_has_the_region_and_reads_the_request_where_it_is() {
    // #11 item 8: it lacked --region, and for an s3:// DEST pointed at a local file.
    let job = [
        "--role-arn",
        "arn:aws:iam::111122223333:role/b",
        "--manifest-url",
        "s3://acme-ops/m",
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let mut args = job.to_vec();
    args.extend(["--region", "eu-west-1"]);
    let (code, stdout, err) = manifest(&generated("csv-all"), &out, &args);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains(&format!(
            "submit with: aws s3control create-job --region eu-west-1 --cli-input-json file://{}/job-00001.json\n",
            out.display()
        )),
        "{stdout}"
    );
    // Split by --max-objects: every job's command, not only the first one's.
    let (code, stdout, err) = manifest(
        &generated("csv-all"),
        &out,
        &[&args[..], &["--force", "--max-objects", "7"]].concat(),
    );
    assert_eq!(code, 0, "{err}");
    let jobs = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_str().unwrap();
            name.starts_with("job-") && name.ends_with(".json")
        })
        .count();
    assert!(jobs > 1, "{stdout}");
    assert!(
        stdout.contains(&format!("submit the {jobs} jobs with:\n")),
        "{stdout}"
    );
    for n in 1..=jobs {
        assert!(
            stdout.contains(&format!(
                "  aws s3control create-job --region eu-west-1 --cli-input-json file://{}/job-{n:05}.json\n",
                out.display()
            )),
            "job {n}: {stdout}"
        );
    }
    // A local delivery without --region: a placeholder, said to be one.
    let (code, stdout, err) = manifest(
        &generated("csv-all"),
        &out,
        &[&job[..], &["--force"]].concat(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains(&format!(
            "submit with: aws s3control create-job --region REGION --cli-input-json file://{}/job-00001.json\n\
             (REGION: the source bucket's Region; give --region to fill it in)\n",
            out.display()
        )),
        "{stdout}"
    );
    // An s3:// DEST: the request is read from S3.
    let server = S3Server::start(&buckets());
    std::fs::create_dir_all(server.root.path().join("acme-ops")).unwrap();
    let args = [&job[..2], &["--region", "us-east-1"]].concat();
    let (code, stdout, err) = s3_manifest(&server, "s3://acme-ops/mj", &args);
    assert_eq!(code, 0, "{err}");
    assert!(
        stdout.contains(
            "submit with: aws s3control create-job --region us-east-1 --cli-input-json \"$(aws s3 cp s3://acme-ops/mj/job-00001.json -)\"\n"
        ),
        "{stdout}"
    );
    assert!(
        server
            .root
            .path()
            .join("acme-ops/mj/job-00001.json")
            .is_file()
    );
}
