//! `s3inv diff`: a source delivery against destination deliveries. Each category from a
//! fault put there on purpose, in every format mix; the generator's destination
//! inventories against its independent expectation, locally and over the tests' S3
//! server; rule scopes, key matching, listings, manifests, and bad input.

use std::path::{Path, PathBuf};

use s3inv::generate::replicas::{self, ReplicaOptions};
use s3inv::generate::{
    DeliverySpec, GenerateOptions, Row, Versions, write_delivery, write_replica_delivery,
    write_rows,
};
use s3inv::manifest::FileFormat;
use serde_json::Value;

use crate::harness::{FORMATS, S3Server, bundled_options, csv_delivery, run, s3inv};

const NOV_20: i64 = 1_795_136_400_000;
const DAY: i64 = 86_400_000;
const SRC: &str = "acme-data";
const DST: &str = "acme-data-dr";

fn row(bucket: &str, key: &str, version: Option<&str>, status: Option<&str>, size: i64) -> Row {
    let mut r = crate::harness::object_row(bucket, key, version, status, NOV_20 - 5 * DAY);
    r.size = Some(size);
    r
}

/// Writes `rows` as one all-versions delivery of `bucket` under `dir`; returns its manifest.
fn write(
    dir: &Path,
    bucket: &str,
    rows: &[Row],
    format: FileFormat,
    versions: Versions,
) -> PathBuf {
    let opts = GenerateOptions {
        files: 1,
        source_bucket: bucket.into(),
        ..bundled_options()
    };
    let spec = DeliverySpec {
        format,
        versions,
        config_id: "diff".into(),
    };
    write_rows(&dir.join("inv"), &opts, &spec, rows)
        .unwrap()
        .manifest
}

/// Flags that make diff partition both sides into 8 buckets on disk; with the memory limit,
/// 3000 generated versions are joined in several groups of buckets (the log says how many).
const PARTITIONED: &[&str] = &["--buckets", "8", "--memory-limit", "1M"];

/// `s3inv diff SOURCE --dest DEST`, to add flags to.
fn diff_cmd(
    source: impl AsRef<std::ffi::OsStr>,
    dest: impl AsRef<std::ffi::OsStr>,
) -> assert_cmd::Command {
    let mut cmd = s3inv();
    cmd.arg("diff").arg(source).arg("--dest").arg(dest);
    cmd
}

/// One ndjson row: destination, category, objects, bytes.
type Line = (String, String, u64, u64);

/// `s3inv diff` with `args` in ndjson: (exit code, category → objects per destination, stderr).
fn diff(args: &[&str]) -> (i32, Vec<Line>, String) {
    let (code, out, err) = run(s3inv().arg("diff").args(args).args(["--format", "ndjson"]));
    (code, ndjson_lines(&out), err)
}

/// The categories with objects of ndjson output.
fn ndjson_lines(out: &str) -> Vec<Line> {
    out.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (
                v["destination"].as_str().unwrap().to_string(),
                v["category"].as_str().unwrap().to_string(),
                v["objects"].as_u64().unwrap(),
                v["bytes"].as_u64().unwrap(),
            )
        })
        .filter(|r| r.2 > 0)
        .collect()
}

fn counts(rows: &[Line], dest: &str) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = rows
        .iter()
        .filter(|r| r.0 == dest)
        .map(|r| (r.1.clone(), r.2))
        .collect();
    v.sort();
    v
}

fn expect(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    v.sort();
    v
}

/// The source and destination of the fault-per-category scenario.
fn fault_rows() -> (Vec<Row>, Vec<Row>) {
    let src = |k: &str, v: &str, s: Option<&str>| row(SRC, k, Some(v), s, 100);
    let dst = |k: &str, v: &str| row(DST, k, Some(v), Some("REPLICA"), 100);
    let mut recent = src("recent", "v7", Some("PENDING"));
    recent.last_modified_ms = NOV_20 - 60_000;
    let mut marker = src("gone", "v8", None);
    marker.is_delete_marker = true;
    marker.size = None;
    marker.e_tag = None;
    let mut marker_kept = src("gone-too", "v10", None);
    marker_kept.is_delete_marker = true;
    marker_kept.size = None;
    marker_kept.e_tag = None;
    let mut kms = src("kms", "v11", Some("COMPLETED"));
    kms.encryption_status = Some("SSE-KMS".into());
    // Keys that differ only in Unicode normalisation, or hold '+' and spaces (CSV writes
    // them form-encoded): each matches only itself.
    let nfc = src("caf\u{e9}.txt", "v12", Some("COMPLETED"));
    let nfd = src("cafe\u{301}.txt", "v13", Some("COMPLETED"));
    let plus = src("a+b c.txt", "v14", Some("COMPLETED"));
    let space = src("a b c.txt", "v15", Some("COMPLETED"));
    // A null version (written before versioning): empty at the source.
    let mut null_version = src("old.txt", "", Some("COMPLETED"));
    null_version.version_id = None;
    let source = vec![
        src("ok", "v1", Some("COMPLETED")),
        src("lost", "v2", Some("COMPLETED")),
        src("changed", "v3", Some("COMPLETED")),
        src("waiting", "v4", Some("FAILED")),
        src("stale", "v5", None),
        recent,
        marker,
        marker_kept.clone(),
        src("echo", "v9", Some("REPLICA")),
        kms.clone(),
        nfc,
        nfd,
        plus,
        space,
        null_version,
    ];
    let mut changed = dst("changed", "v3");
    changed.size = Some(99);
    let mut kms_replica = kms;
    kms_replica.bucket = DST.into();
    kms_replica.replication_status = Some("REPLICA".into());
    kms_replica.e_tag = Some("fedcba9876543210fedcba9876543210".into());
    let mut marker_replica = marker_kept;
    marker_replica.bucket = DST.into();
    let destination = vec![
        dst("ok", "v1"),
        changed,
        dst("stale", "v5"),
        dst("extra", "v9"),
        kms_replica,
        marker_replica,
        dst("caf\u{e9}.txt", "v12"),
        // The NFD key's replica is missing; its NFC twin must not stand in for it.
        dst("a+b c.txt", "v14"),
        dst("a b c.txt", "v15"),
        // The destination spells the null version out.
        dst("old.txt", "null"),
    ];
    (source, destination)
}

#[test]
fn each_fault_lands_in_its_category_in_every_format_mix() {
    let (source, destination) = fault_rows();
    let expected = expect(&[
        ("delete-marker-not-replicated", 1),
        ("delete-marker-replicated", 1),
        ("in-flight", 1),
        ("mismatch", 1),
        ("missing-at-destination", 2),
        ("not-yet-replicated", 1),
        ("only-at-destination", 1),
        ("present-despite-status", 1),
        ("replica-at-source", 1),
        ("replicated", 6),
    ]);
    for s_format in FORMATS {
        for d_format in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let s = write(dir.path(), SRC, &source, s_format, Versions::All);
            let d = write(
                &dir.path().join("dst"),
                DST,
                &destination,
                d_format,
                Versions::All,
            );
            // One join in memory, and both sides partitioned on disk into 8 buckets.
            for partitioned in [&[][..], PARTITIONED] {
                let mut args = vec![s.to_str().unwrap(), "--dest", d.to_str().unwrap()];
                args.extend(partitioned);
                let (code, rows, err) = diff(&args);
                assert_eq!(code, 0, "{err}");
                let case = format!("{s_format:?} → {d_format:?} {partitioned:?}");
                assert_eq!(counts(&rows, DST), expected, "{case}");
                // Conserved: source rows plus the destination's own.
                let total: u64 = rows.iter().map(|r| r.2).sum();
                assert_eq!(total, source.len() as u64 + 1, "{case}");
                let bytes: u64 = rows.iter().map(|r| r.3).sum();
                // Every source object is 100 bytes (the markers none), the extra one too.
                assert_eq!(bytes, (source.len() as u64 - 2 + 1) * 100, "{case}");
            }
        }
    }
}

#[test]
fn table_output_names_examples_and_the_etags_not_judged() {
    let (source, destination) = fault_rows();
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), SRC, &source, FileFormat::Csv, Versions::All);
    let d = write(
        &dir.path().join("dst"),
        DST,
        &destination,
        FileFormat::Parquet,
        Versions::All,
    );
    let (code, out, err) = run(diff_cmd(&s, &d).args(["--format", "table"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("matched on key and version id"), "{out}");
    assert!(out.contains("cafe\u{301}.txt (v13)"), "{out}");
    assert!(out.contains("lost (v2)"), "{out}");
    assert!(out.contains("total"), "{out}");
    assert!(
        out.contains("= 15 source + 1 only at the destination"),
        "{out}"
    );
    assert!(
        out.contains("ETag not judged for 1 object at acme-data-dr"),
        "{out}"
    );
    // Rows only on stdout: the matching and the notes go to stderr, unless quiet.
    let (code, out, err) = run(diff_cmd(&s, &d).args(["--format", "ndjson"]));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("note"), "{out}");
    assert!(
        err.contains("s3inv: note: acme-data-dr: matched on key and version id")
            && err.contains("ETag not judged for 1 object at acme-data-dr"),
        "{err}"
    );
    let (_, _, quiet) = run(diff_cmd(&s, &d).args(["--format", "csv", "-q"]));
    assert!(!quiet.contains("note"), "{quiet}");
}

/// Builds the generator's source and destination deliveries in `root` (standing for S3).
fn generated_pair(
    root: &Path,
    rows: u64,
    s_format: FileFormat,
    d_format: FileFormat,
) -> (PathBuf, PathBuf, replicas::Expected) {
    let opts = GenerateOptions {
        rows,
        files: 3,
        ..bundled_options()
    };
    let spec = |format: FileFormat| DeliverySpec {
        format,
        versions: Versions::All,
        config_id: format!("{}-all", format.as_str().to_ascii_lowercase()),
    };
    let replica = ReplicaOptions {
        bucket: DST.into(),
        source_ms: opts.delivery_ms(),
        destination_ms: opts.delivery_ms() - 2 * 3_600_000,
        lag_ms: 3_600_000,
        faults: true,
    };
    let inv = root.join("acme-inventory");
    let s = write_delivery(&inv, &opts, &spec(s_format)).unwrap();
    let d = write_replica_delivery(&inv, &opts, &spec(d_format), &replica).unwrap();
    let expected = replicas::expected(opts.rows(Versions::All), &replica);
    (s.manifest, d.manifest, expected)
}

fn expected_pairs(e: &replicas::Expected) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = e.iter().map(|(k, (o, _))| (k.to_string(), *o)).collect();
    v.sort();
    v
}

#[test]
fn generated_faults_match_the_expectation_in_every_format_mix() {
    for s_format in FORMATS {
        for d_format in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let (s, d, expected) = generated_pair(dir.path(), 3000, s_format, d_format);
            let (code, rows, err) = diff(&[s.to_str().unwrap(), "--dest", d.to_str().unwrap()]);
            assert_eq!(code, 0, "{err}");
            assert_eq!(
                counts(&rows, DST),
                expected_pairs(&expected),
                "{s_format:?} → {d_format:?}"
            );
            for (category, (_, bytes)) in &expected {
                let got = rows.iter().find(|r| r.1 == *category).map_or(0, |r| r.3);
                assert_eq!(got, *bytes, "{category} bytes, {s_format:?} → {d_format:?}");
            }
            // Partitioned on disk: the same totals, groups by prefix and examples.
            let table = |extra: &[&str]| {
                let (code, out, err) = run(diff_cmd(&s, &d)
                    .args(["--by", "prefix", "--examples", "5", "-f", "csv"])
                    .args(extra));
                assert_eq!(code, 0, "{err}");
                out
            };
            let whole = table(&[]);
            assert!(whole.lines().count() > 20, "{whole}");
            assert_eq!(table(PARTITIONED), whole, "{s_format:?} → {d_format:?}");
            if (s_format, d_format) == (FileFormat::Csv, FileFormat::Parquet) {
                // A bucket bigger than the memory limit: a clear error, not a hang.
                let (code, out, err) =
                    run(diff_cmd(&s, &d).args(["--buckets", "8", "--memory-limit", "16K"]));
                assert_eq!(code, 2, "{out}{err}");
                assert!(err.contains("not enough memory"), "{err}");
                assert!(out.is_empty(), "{out}");
                // --list: the same file, sorted by key, however the rows were joined.
                let listed = |extra: &[&str]| {
                    let path = dir.path().join(format!("list-{}.ndjson", extra.len()));
                    let (code, _, err) = run(diff_cmd(&s, &d)
                        .args(["--list", "not-yet-replicated", "-f", "ndjson", "--output"])
                        .arg(&path)
                        .args(extra));
                    assert_eq!(code, 0, "{err}");
                    std::fs::read_to_string(&path).unwrap()
                };
                let whole = listed(&[]);
                let keys: Vec<String> = whole
                    .lines()
                    .map(|l| {
                        let v: Value = serde_json::from_str(l).unwrap();
                        v["key"].as_str().unwrap().to_string()
                    })
                    .collect();
                assert!(keys.len() > 100, "{whole}");
                assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{whole}");
                assert_eq!(listed(PARTITIONED), whole);
            }
        }
    }
}

#[test]
fn generated_faults_over_the_s3_server_equal_the_local_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (s, d, expected) = generated_pair(dir.path(), 2000, FileFormat::Csv, FileFormat::Parquet);
    let server = S3Server::start(dir.path());
    let to_url = |p: &Path| {
        format!(
            "s3://{}",
            p.strip_prefix(dir.path()).unwrap().to_str().unwrap()
        )
    };
    let (code, out, err) = run(server
        .s3inv()
        .arg("diff")
        .arg(to_url(&s))
        .arg("--dest")
        .arg(to_url(&d))
        .args(["--endpoint-url", &server.endpoint, "--format", "ndjson"]));
    assert_eq!(code, 0, "{err}");
    let mut got: Vec<(String, u64)> = out
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["objects"].as_u64().unwrap() > 0)
        .map(|v| {
            (
                v["category"].as_str().unwrap().to_string(),
                v["objects"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, expected_pairs(&expected));
}

#[test]
fn two_destinations_with_different_rule_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let src = |k: &str, v: &str, s: Option<&str>| row(SRC, k, Some(v), s, 10);
    let mut marker = src("logs/gone", "v5", None);
    marker.is_delete_marker = true;
    marker.size = None;
    let source = vec![
        src("logs/a", "v1", Some("COMPLETED")),
        src("logs/b", "v2", Some("FAILED")),
        src("data/c", "v3", Some("COMPLETED")),
        src("data/d", "v4", Some("COMPLETED")),
        marker,
    ];
    let replica = |bucket: &str, r: &Row| {
        let mut r = r.clone();
        r.bucket = bucket.into();
        r.replication_status = Some("REPLICA".into());
        r
    };
    // dr-logs: rule "logs/" (delete markers replicated); it has logs/a only.
    let logs = vec![replica("dr-logs", &source[0])];
    // dr-all: every key, no delete markers; logs/b is there (FAILED only at dr-logs).
    let all = vec![
        replica("dr-all", &source[0]),
        replica("dr-all", &source[1]),
        replica("dr-all", &source[2]),
        replica("dr-all", &source[3]),
    ];
    let s = write(dir.path(), SRC, &source, FileFormat::Parquet, Versions::All);
    let d1 = write(
        &dir.path().join("d1"),
        "dr-logs",
        &logs,
        FileFormat::Csv,
        Versions::All,
    );
    let d2 = write(
        &dir.path().join("d2"),
        "dr-all",
        &all,
        FileFormat::Orc,
        Versions::All,
    );
    let config = serde_json::json!({"ReplicationConfiguration": {
    "Role": "arn:aws:iam::111122223333:role/replication",
    "Rules": [
        {"ID": "logs", "Priority": 2, "Status": "Enabled", "Filter": {"Prefix": "logs/"},
         "DeleteMarkerReplication": {"Status": "Enabled"},
         "Destination": {"Bucket": "arn:aws:s3:::dr-logs"}},
        {"ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {},
         "DeleteMarkerReplication": {"Status": "Disabled"},
         "Destination": {"Bucket": "arn:aws:s3:::dr-all"}}
    ]}});
    let config_path = dir.path().join("replication.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let args = [
        s.to_str().unwrap(),
        "--dest",
        d1.to_str().unwrap(),
        "--dest",
        d2.to_str().unwrap(),
        "--config",
        config_path.to_str().unwrap(),
    ];
    let (code, rows, err) = diff(&args);
    assert_eq!(code, 0, "{err}");
    // Partitioned on disk (the source's buckets written once for both destinations): the
    // same rows.
    let (code, partitioned, err) = diff(&[&args[..], PARTITIONED].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(partitioned, rows);
    assert_eq!(
        counts(&rows, "dr-logs"),
        expect(&[
            ("delete-marker-missing", 1),
            ("not-yet-replicated", 1),
            ("out-of-scope", 2),
            ("replicated", 1),
        ])
    );
    assert_eq!(
        counts(&rows, "dr-all"),
        expect(&[
            ("delete-marker-not-replicated", 1),
            ("present-despite-status", 1),
            ("replicated", 3),
        ])
    );
    // Without the configuration nothing is out of scope, and the marker is undecided.
    let (_, rows, _) = diff(&[s.to_str().unwrap(), "--dest", d1.to_str().unwrap()]);
    assert_eq!(
        counts(&rows, "dr-logs"),
        expect(&[
            ("delete-marker-not-replicated", 1),
            ("missing-at-destination", 2),
            ("not-yet-replicated", 1),
            ("replicated", 1),
        ])
    );
}

#[test]
fn a_current_only_side_is_matched_on_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let src = |k: &str, v: &str, s: Option<&str>| row(SRC, k, Some(v), s, 10);
    let mut old = src("a", "v0", Some("COMPLETED"));
    old.is_latest = false;
    let source = vec![
        src("a", "v1", Some("COMPLETED")),
        old,
        src("b", "v2", Some("COMPLETED")),
    ];
    // The destination lists current objects only: "a" (another version id is not
    // visible), not "b".
    let dest = vec![row(DST, "a", None, Some("REPLICA"), 10)];
    let s = write(dir.path(), SRC, &source, FileFormat::Csv, Versions::All);
    let d = write(
        &dir.path().join("d"),
        DST,
        &dest,
        FileFormat::Parquet,
        Versions::Current,
    );
    let (code, out, err) = run(diff_cmd(&s, &d).args(["--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let d0 = &doc["destinations"][0];
    assert_eq!(d0["matching"], "key");
    assert_eq!(d0["categories"]["replicated"]["objects"], 1);
    assert_eq!(d0["categories"]["missing-at-destination"]["objects"], 1);
    assert_eq!(
        d0["total"]["objects"], 2,
        "the noncurrent version is not compared"
    );
    assert!(
        d0["notes"].to_string().contains("matched on the key"),
        "{d0}"
    );
}

#[test]
fn a_destination_without_etags_is_compared_on_what_it_has() {
    let dir = tempfile::tempdir().unwrap();
    let mut changed = row(SRC, "b", Some("v2"), Some("COMPLETED"), 10);
    changed.e_tag = Some("ffffffffffffffffffffffffffffffff".into());
    let source = vec![row(SRC, "a", Some("v1"), Some("COMPLETED"), 10), changed];
    let s = write(dir.path(), SRC, &source, FileFormat::Orc, Versions::All);
    // Bucket, Key, Size, ReplicationStatus: no version ids, no ETag.
    let d = csv_delivery(
        dir.path(),
        DST,
        "cfg",
        NOV_20,
        &[("a", 10, "REPLICA"), ("b", 10, "REPLICA")],
    );
    let (code, out, err) = run(diff_cmd(&s, &d).args(["--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let d0 = &doc["destinations"][0];
    assert_eq!(d0["categories"]["replicated"]["objects"], 2, "{d0}");
    assert_eq!(d0["categories"]["mismatch"]["objects"], 0);
    assert_eq!(d0["compared"]["e_tag"], false);
    assert_eq!(d0["compared"]["size"], true);
    assert!(
        d0["notes"].to_string().contains(
            "ETags not compared for acme-data-dr: the destination inventory has no ETag field"
        ),
        "{d0}"
    );
}

#[test]
fn a_destination_of_the_source_bucket_itself_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rows = vec![row(SRC, "a", Some("v1"), Some("COMPLETED"), 10)];
    let s = write(dir.path(), SRC, &rows, FileFormat::Csv, Versions::All);
    let other = write(
        &dir.path().join("o"),
        SRC,
        &rows,
        FileFormat::Parquet,
        Versions::All,
    );
    for dest in [&s, &other] {
        let (code, out, err) = run(&mut diff_cmd(&s, dest));
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert!(
            err.contains("is an inventory of acme-data, the source bucket itself"),
            "{err}"
        );
    }
}

#[test]
fn a_version_listed_twice_is_refused_not_double_counted() {
    let dir = tempfile::tempdir().unwrap();
    let source = vec![row(SRC, "a", Some("v1"), Some("COMPLETED"), 10)];
    let twice = vec![
        row(DST, "a", Some("v1"), Some("REPLICA"), 10),
        row(DST, "a", Some("v1"), Some("REPLICA"), 10),
    ];
    let s = write(dir.path(), SRC, &source, FileFormat::Csv, Versions::All);
    let d = write(
        &dir.path().join("d"),
        DST,
        &twice,
        FileFormat::Csv,
        Versions::All,
    );
    let redrive = dir.path().join("new").join("redrive");
    for partitioned in [&[][..], PARTITIONED] {
        let mut args = vec![s.to_str().unwrap(), "--dest", d.to_str().unwrap()];
        args.extend(partitioned);
        args.extend(["--emit-manifests", redrive.to_str().unwrap()]);
        let (code, rows, err) = diff(&args);
        assert_eq!(code, 2, "{err}");
        assert!(rows.is_empty(), "{rows:?}");
        assert!(
            err.contains("lists the same object version more than once"),
            "{err}"
        );
        // The folders made for the manifests are gone again.
        assert!(!dir.path().join("new").exists());
    }
}

#[test]
fn list_emit_manifests_and_fail_on() {
    let (source, destination) = fault_rows();
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), SRC, &source, FileFormat::Parquet, Versions::All);
    let d = write(
        &dir.path().join("dst"),
        DST,
        &destination,
        FileFormat::Csv,
        Versions::All,
    );
    // --list: the objects themselves.
    let list = dir.path().join("missing.csv");
    let (code, out, err) = run(diff_cmd(&s, &d)
        .args(["--list", "missing-at-destination", "--output"])
        .arg(&list));
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("listed 2 objects of missing-at-destination"),
        "{err}"
    );
    let text = std::fs::read_to_string(&list).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .remove(0)
            .starts_with("destination,category,bucket,key,version_id")
    );
    // Sorted by destination, key and version id.
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with(
            "acme-data-dr,missing-at-destination,acme-data,cafe\u{301}.txt,v13,false,100,"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("acme-data-dr,missing-at-destination,acme-data,lost,v2,false,100,"),
        "{}",
        lines[1]
    );

    // Partitioned on disk: the same rows listed.
    let partitioned = dir.path().join("missing-partitioned.csv");
    let (code, _, err) = run(diff_cmd(&s, &d)
        .args(["--list", "missing-at-destination", "--output"])
        .arg(&partitioned)
        .args(PARTITIONED));
    assert_eq!(code, 0, "{err}");
    let again = std::fs::read_to_string(&partitioned).unwrap();
    assert_eq!(again, text);

    // --emit-manifests: missing and mismatch, per destination; --fail-on exits 1.
    let out_dir = dir.path().join("redrive");
    let (code, _, err) = run(diff_cmd(&s, &d)
        .arg("--emit-manifests")
        .arg(&out_dir)
        .args(["--fail-on", "missing-at-destination>1", "-f", "table"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("2 missing-at-destination at acme-data-dr"),
        "{err}"
    );
    let missing = crate::harness::manifest_lines(&out_dir.join(DST).join("missing-at-destination"));
    let mut missing = missing.clone();
    missing.sort();
    assert_eq!(
        missing,
        vec!["acme-data,cafe%CC%81.txt,v13", "acme-data,lost,v2"]
    );
    let mismatch = crate::harness::manifest_lines(&out_dir.join(DST).join("mismatch"));
    assert_eq!(mismatch, vec!["acme-data,changed,v3"]);
    let partitioned_dir = dir.path().join("redrive-partitioned");
    let (code, _, err) = run(diff_cmd(&s, &d)
        .arg("--emit-manifests")
        .arg(&partitioned_dir)
        .args(PARTITIONED));
    assert_eq!(code, 0, "{err}");
    for category in ["missing-at-destination", "mismatch"] {
        let mut lines = crate::harness::manifest_lines(&partitioned_dir.join(DST).join(category));
        lines.sort();
        let mut whole = crate::harness::manifest_lines(&out_dir.join(DST).join(category));
        whole.sort();
        assert_eq!(lines, whole, "{category}");
    }
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("diff.json")).unwrap()).unwrap();
    assert_eq!(index["outputs"].as_array().unwrap().len(), 2);
    // A rerun needs --force; with it the answer is the same.
    let (code, _, err) = run(diff_cmd(&s, &d).arg("--emit-manifests").arg(&out_dir));
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    let (code, _, err) = run(diff_cmd(&s, &d)
        .arg("--emit-manifests")
        .arg(&out_dir)
        .args(["--force", "--fail-on", "missing-at-destination>2"]));
    assert_eq!(code, 0, "{err}");
    // Bad flags name themselves; a zero lag judges everything.
    let (code, _, err) = run(diff_cmd(&s, &d).args(["--dest-at", "garbage"]));
    assert_eq!(code, 2);
    assert!(err.contains("--dest-at \"garbage\""), "{err}");
    let (code, _, err) = run(diff_cmd(&s, &d).args(["--by", "tag:team"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("--by tag:KEY is not available in diff"),
        "{err}"
    );
    let (code, rows, err) = diff(&[
        s.to_str().unwrap(),
        "--dest",
        d.to_str().unwrap(),
        "--lag",
        "0",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!rows.iter().any(|r| r.1 == "in-flight"), "{rows:?}");
    let (code, _, err) = run(diff_cmd(&s, &d).args(["--list", "lost"]));
    assert_eq!(code, 2);
    assert!(err.contains("--list: unknown category \"lost\""), "{err}");
}

#[test]
fn the_bundled_destination_deliveries_give_the_expected_categories() {
    let buckets = crate::harness::buckets();
    for format in ["csv", "orc", "parquet"] {
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(buckets.join(format!("expected-diff/{format}-all.json")))
                .unwrap(),
        )
        .unwrap();
        let want: Vec<(String, u64)> = expected["categories"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["objects"].as_u64().unwrap()))
            .collect();
        // Each destination format against another source format.
        let source = buckets.join("acme-inventory/acme-data/orc-all");
        let dest = buckets.join(format!("acme-inventory/acme-data-dr/{format}-all"));
        let (code, rows, err) = diff(&[source.to_str().unwrap(), "--dest", dest.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(counts(&rows, DST), expect_owned(want), "{format}");
        // --by age: buckets young to old (not alphabetically), totals kept.
        let (code, out, err) = run(diff_cmd(&source, &dest).args(["--by", "age", "-f", "csv"]));
        assert_eq!(code, 0, "{err}");
        let mut ages: Vec<&str> = Vec::new();
        for line in out.lines().skip(1) {
            let age = line.split(',').nth(1).unwrap();
            if ages.last() != Some(&age) {
                ages.push(age);
            }
        }
        assert_eq!(
            ages,
            ["<1d", "1-7d", "7-30d", "30-90d", "90-365d", "≥365d"],
            "{out}"
        );
        let objects: u64 = out
            .lines()
            .skip(1)
            .map(|l| l.rsplit(',').nth(1).unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(objects, rows.iter().map(|r| r.2).sum::<u64>());
    }
}

fn expect_owned(mut v: Vec<(String, u64)>) -> Vec<(String, u64)> {
    v.sort();
    v
}

#[test]
fn a_destination_larger_than_estimated_is_partitioned_after_all() {
    // Long keys that compress well: the Parquet file is small, the rows held are not, so
    // the estimate says "in memory" and the holding outgrows the budget.
    let dir = tempfile::tempdir().unwrap();
    let prefix = "p/".repeat(200);
    let mut source = Vec::new();
    let mut destination = Vec::new();
    for i in 0..3000 {
        let key = format!("{prefix}{i:05}");
        let v = format!("v{i}");
        source.push(row(SRC, &key, Some(&v), Some("COMPLETED"), 10));
        if i % 3 != 0 {
            destination.push(row(DST, &key, Some(&v), Some("REPLICA"), 10));
        }
    }
    let s = write(dir.path(), SRC, &source, FileFormat::Parquet, Versions::All);
    let d = write(
        &dir.path().join("d"),
        DST,
        &destination,
        FileFormat::Parquet,
        Versions::All,
    );
    let (code, whole, err) = diff(&[s.to_str().unwrap(), "--dest", d.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        counts(&whole, DST),
        expect(&[("replicated", 2000), ("missing-at-destination", 1000)])
    );
    let (code, out, err) = run(diff_cmd(&s, &d)
        .args(["--memory-limit", "1M", "--format", "ndjson"])
        .env("RUST_LOG", "s3inv=info"));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("outgrew the budget") && err.contains("diff partitioned"),
        "{err}"
    );
    // The same objects and bytes as held in memory, and nothing said without RUST_LOG but
    // the matching note.
    assert_eq!(ndjson_lines(&out), whole);
    let (_, again, quiet) = diff(&[
        s.to_str().unwrap(),
        "--dest",
        d.to_str().unwrap(),
        "--memory-limit",
        "1M",
    ]);
    assert!(
        quiet.lines().all(|l| l.starts_with("s3inv: note:")) && !quiet.contains("partition"),
        "{quiet}"
    );
    assert_eq!(again, whole);
}
