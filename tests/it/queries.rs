//! Canned queries (`queries/*.sql`) and the SQL helpers: every query runs on the bundled
//! deliveries, gives the same answer in CSV, ORC and Parquet, and matches its snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use s3inv::generate::{GenerateOptions, Row, Versions};
use s3inv::manifest::FileFormat;
use serde_json::Value;

use crate::harness::{bundled_options, generated, run, s3inv, sql_csv, write_generated};

fn canned(config: &str, name: &str, params: &[&str]) -> String {
    let mut cmd = s3inv();
    cmd.arg("sql")
        .arg(generated(config))
        .args(["--query", name, "-f", "csv"]);
    for p in params {
        cmd.args(["--param", p]);
    }
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{name}: {err}");
    out
}

#[test]
fn every_canned_query_agrees_across_formats_and_matches_its_snapshot() {
    for q in s3inv::analytics::queries::all() {
        let csv = canned("csv-all", q.name, &[]);
        assert_eq!(
            canned("orc-all", q.name, &[]),
            csv,
            "{}: ORC differs",
            q.name
        );
        assert_eq!(
            canned("parquet-all", q.name, &[]),
            csv,
            "{}: Parquet differs",
            q.name
        );
        assert!(
            csv.lines().count() > 1,
            "{} returned no rows on the fixture",
            q.name
        );
        insta::assert_snapshot!(format!("query_{}", q.name), csv);
    }
}

#[test]
fn parameters_change_the_answer() {
    let d1 = canned("csv-all", "unreplicated_by_prefix", &["depth=1", "limit=3"]);
    assert_eq!(d1.lines().count(), 4);
    assert!(
        d1.lines()
            .skip(1)
            .all(|l| l.split(',').next().unwrap().matches('/').count() == 1),
        "{d1}"
    );
    let (code, _, err) = run(s3inv().arg("sql").arg(generated("csv-all")).args([
        "--query",
        "largest_failed",
        "--param",
        "limit=1;DROP",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid value \"1;DROP\" for parameter limit"),
        "{err}"
    );
    let (code, _, err) = run(s3inv()
        .arg("sql")
        .arg(generated("csv-all"))
        .args(["--query", "no_such_query"]));
    assert_eq!(code, 2);
    assert!(err.contains("no canned query \"no_such_query\""), "{err}");
}

#[test]
fn queries_lists_every_file() {
    let (code, out, err) = run(s3inv().args(["queries", "-f", "csv"]));
    assert_eq!(code, 0, "{err}");
    let mut files: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/queries"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".sql")
                .to_string()
        })
        .collect();
    files.sort();
    let mut listed: Vec<String> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, files);
    assert!(files.len() >= 10);
    let (_, sql, _) = run(s3inv().args(["queries", "stuck_pending"]));
    assert!(
        sql.starts_with("-- question: Which PENDING objects are stuck"),
        "{sql}"
    );
    // Printed as it runs: scope and status filled in, parameters left to --param.
    assert!(
        !sql.contains("${scope}") && !sql.contains("${status}"),
        "{sql}"
    );
    assert!(sql.contains("coalesce(is_latest, true)"), "{sql}");
    assert!(sql.contains("${older_than_hours}"), "{sql}");
}

#[test]
fn sql_helpers() {
    let out = sql_csv(
        &generated("parquet-all"),
        "SELECT key_prefix('a/b/c.txt', 2) AS p2, key_prefix('a/b.txt', 2) AS p_short, key_prefix('x', 3) AS p_root, \
         batch_key('a b+c/ü,\"') AS bk, delivery_time() AS dt, \
         age_bucket(delivery_time() - INTERVAL '2 days') AS a_default, \
         age_bucket(delivery_time() - INTERVAL '2 hours', '1h,1d') AS a_custom",
    );
    assert_eq!(
        out,
        "p2,p_short,p_root,bk,dt,a_default,a_custom\n\
         a/b/,a/,(root),a%20b%2Bc/%C3%BC%2C%22,2026-11-20T01:00:00.000Z,1-7d,1h-1d\n"
    );
    // batch_key over every key decodes back to the key (the manifest encoding round-trips).
    let out = sql_csv(
        &generated("orc-all"),
        "SELECT count(*) AS n FROM inventory WHERE batch_key(key) LIKE '%,%' OR batch_key(key) LIKE '% %'",
    );
    assert_eq!(out, "n\n0\n");
}

/// A CSV delivery of the bundled rows (one file) in which every third COMPLETED row carries
/// AWS's legacy `COMPLETE` and a few rows a status s3inv has never seen; returns the
/// tempdir, the configuration folder and the rows as written.
pub(crate) fn odd_statuses_delivery() -> (tempfile::TempDir, PathBuf, Vec<Row>) {
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions {
        files: 1,
        ..bundled_options()
    };
    let config = write_generated(dir.path(), &opts, FileFormat::Csv, Versions::All);
    let mut completed = 0;
    let rows: Vec<Row> = opts
        .rows(Versions::All)
        .enumerate()
        .map(|(i, mut r)| {
            if r.replication_status.as_deref() == Some("COMPLETED") {
                completed += 1;
                if completed % 3 == 0 {
                    r.replication_status = Some("COMPLETE".into());
                }
            } else if i % 37 == 5 {
                r.replication_status = Some("SOMETHING_NEW".into());
            }
            r
        })
        .collect();
    assert!(
        rows.iter()
            .any(|r| r.replication_status.as_deref() == Some("SOMETHING_NEW"))
    );
    let text: String = rows
        .iter()
        .map(|r| s3inv::generate::csv_line(r, Versions::All))
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    crate::harness::replace_data(&config, &bytes);
    (dir, config, rows)
}

/// A canned query's rows (`-f ndjson`).
fn canned_rows(location: &Path, name: &str, params: &[&str]) -> Vec<Value> {
    let mut cmd = s3inv();
    cmd.arg("sql")
        .arg(location)
        .args(["--query", name, "-f", "ndjson"]);
    for p in params {
        cmd.args(["--param", p]);
    }
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{name}: {err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

type Tally = BTreeMap<Vec<String>, (u64, u64)>;

/// `summary --by DIMS` as (dimension values…, status) -> (objects, bytes), statuses
/// filtered by `keep`.
fn summary_tally(location: &Path, by: &str, extra: &[&str], keep: &[&str]) -> Tally {
    let mut args = vec!["--by", by];
    args.extend(extra);
    let doc = crate::summary::summary_json(location, &args);
    let dims: Vec<&str> = by.split(',').collect();
    let mut out = Tally::new();
    for g in doc["groups"].as_array().unwrap() {
        for (status, c) in g["statuses"].as_object().unwrap() {
            if !keep.is_empty() && !keep.contains(&status.as_str()) {
                continue;
            }
            let mut k: Vec<String> = dims
                .iter()
                .map(|d| g["values"][*d].as_str().unwrap().to_string())
                .collect();
            if keep.len() != 1 {
                k.push(status.clone());
            }
            let e = out.entry(k).or_default();
            e.0 += c["objects"].as_u64().unwrap();
            e.1 += c["bytes"].as_u64().unwrap();
        }
    }
    out
}

/// A canned query's rows as key columns -> (objects column, bytes column).
fn query_tally(rows: &[Value], keys: &[&str], objects: &str, bytes: &str) -> Tally {
    let mut out = Tally::new();
    for r in rows {
        let k = keys.iter().map(|c| r[*c].as_str().unwrap().to_string());
        let e = out.entry(k.collect()).or_default();
        e.0 += r[objects].as_u64().unwrap();
        e.1 += r[bytes].as_u64().unwrap();
    }
    out
}

#[test]
fn every_canned_query_agrees_with_summary() {
    let (_dir, odd, _) = odd_statuses_delivery();
    let bundled = generated("csv-all");
    let mut checked = BTreeSet::new();
    for location in [bundled.as_path(), odd.as_path()] {
        let plain = crate::summary::summary_json(location, &[]);
        let totals = &plain["totals"]["statuses"];
        let total = |s: &str| {
            (
                totals[s]["objects"].as_u64().unwrap(),
                totals[s]["bytes"].as_u64().unwrap(),
            )
        };

        // status_totals: exactly the summary's non-empty statuses (legacy COMPLETE is
        // COMPLETED; an unfamiliar status is its own row in both).
        let rows = canned_rows(location, "status_totals", &[]);
        let mut want = Tally::new();
        for (s, c) in totals.as_object().unwrap() {
            if c["objects"].as_u64().unwrap() > 0 {
                let v = (c["objects"].as_u64().unwrap(), c["bytes"].as_u64().unwrap());
                want.insert(vec![s.clone()], v);
            }
        }
        assert_eq!(query_tally(&rows, &["status"], "objects", "bytes"), want);
        checked.insert("status_totals");

        // status_by_storage_class: the status columns add up to `objects`, and equal
        // `summary --by storage_class`.
        let by_class = summary_tally(location, "storage_class", &[], &[]);
        let rows = canned_rows(location, "status_by_storage_class", &[]);
        let mut got = Tally::new();
        for r in &rows {
            let class = r["storage_class"].as_str().unwrap().to_string();
            let cols = [
                ("completed", "COMPLETED"),
                ("pending", "PENDING"),
                ("failed", "FAILED"),
                ("replica", "REPLICA"),
                ("never_replicated", "NONE"),
            ];
            let mut sum = r["other"].as_u64().unwrap();
            for (col, status) in cols {
                let n = r[col].as_u64().unwrap();
                sum += n;
                if n > 0 {
                    got.insert(vec![class.clone(), status.into()], (n, 0));
                }
            }
            assert_eq!(sum, r["objects"].as_u64().unwrap(), "{r}");
            let class_total: (u64, u64) = by_class
                .iter()
                .filter(|(k, _)| k[0] == class)
                .fold((0, 0), |a, (_, c)| (a.0 + c.0, a.1 + c.1));
            assert_eq!(
                class_total,
                (r["objects"].as_u64().unwrap(), r["bytes"].as_u64().unwrap())
            );
        }
        let known: Tally = by_class
            .iter()
            .filter(|(k, _)| {
                ["COMPLETED", "PENDING", "FAILED", "REPLICA", "NONE"].contains(&k[1].as_str())
            })
            .map(|(k, c)| (k.clone(), (c.0, 0)))
            .collect();
        assert_eq!(got, known);
        checked.insert("status_by_storage_class");

        // unreplicated_by_prefix: PENDING, FAILED and NONE bytes per prefix.
        let rows = canned_rows(
            location,
            "unreplicated_by_prefix",
            &["depth=2", "limit=100000"],
        );
        let by_prefix = summary_tally(location, "prefix", &["--depth", "2"], &[]);
        for (col, status) in [
            ("pending_bytes", "PENDING"),
            ("failed_bytes", "FAILED"),
            ("never_replicated_bytes", "NONE"),
        ] {
            let got: Tally = rows
                .iter()
                .filter(|r| r[col].as_u64().unwrap() > 0)
                .map(|r| {
                    let k = vec![r["prefix"].as_str().unwrap().to_string(), status.into()];
                    (k, (0, r[col].as_u64().unwrap()))
                })
                .collect();
            let want: Tally = by_prefix
                .iter()
                .filter(|(k, c)| k[1] == status && c.1 > 0)
                .map(|(k, c)| (k.clone(), (0, c.1)))
                .collect();
            assert_eq!(got, want, "{col}");
        }
        let unrep: u64 = rows
            .iter()
            .map(|r| r["unreplicated_objects"].as_u64().unwrap())
            .sum();
        assert_eq!(
            unrep,
            plain["totals"]["unreplicated"]["objects"].as_u64().unwrap()
        );
        checked.insert("unreplicated_by_prefix");

        // Ages of PENDING and never-replicated objects.
        let by_age = summary_tally(location, "age", &[], &["PENDING"]);
        let rows = canned_rows(location, "pending_age_histogram", &[]);
        assert_eq!(query_tally(&rows, &["age"], "objects", "bytes"), by_age);
        checked.insert("pending_age_histogram");
        let by_age = summary_tally(location, "age", &[], &["NONE"]);
        let rows = canned_rows(location, "never_replicated_by_age", &[]);
        assert_eq!(query_tally(&rows, &["age"], "objects", "bytes"), by_age);
        checked.insert("never_replicated_by_age");

        // stuck_pending: the summary's stuck PENDING objects.
        let rows = canned_rows(location, "stuck_pending", &["limit=100000"]);
        let stuck = &plain["pending"]["stuck"];
        assert_eq!(rows.len() as u64, stuck["objects"].as_u64().unwrap());
        let bytes: u64 = rows.iter().map(|r| r["size"].as_u64().unwrap()).sum();
        assert_eq!(bytes, stuck["bytes"].as_u64().unwrap());
        checked.insert("stuck_pending");

        // FAILED by encryption, and the largest FAILED objects (all of them).
        let by_enc = summary_tally(
            location,
            "encryption_status,bucket_key_status",
            &[],
            &["FAILED"],
        );
        let rows = canned_rows(location, "failed_by_encryption", &[]);
        assert_eq!(
            query_tally(
                &rows,
                &["encryption_status", "bucket_key_status"],
                "objects",
                "bytes"
            ),
            by_enc
        );
        checked.insert("failed_by_encryption");
        let rows = canned_rows(location, "largest_failed", &["limit=100000"]);
        let bytes: u64 = rows.iter().map(|r| r["size"].as_u64().unwrap()).sum();
        assert_eq!((rows.len() as u64, bytes), total("FAILED"));
        checked.insert("largest_failed");

        // Replicas by prefix.
        let by_prefix = summary_tally(location, "prefix", &["--depth", "1"], &["REPLICA"]);
        let rows = canned_rows(location, "replica_objects", &[]);
        assert_eq!(
            query_tally(&rows, &["prefix"], "objects", "bytes"),
            by_prefix
        );
        checked.insert("replica_objects");

        // cannot_replicate: the reasons recomputed from summary groups.
        let dims = "storage_class,intelligent_tiering_access_tier,encryption_status,object_owner";
        let groups = summary_tally(location, dims, &[], &[]);
        let mut owners: BTreeMap<&str, u64> = BTreeMap::new();
        for (k, c) in &groups {
            if k[3] != "(none)" && k[3] != "UNAVAILABLE" {
                *owners.entry(&k[3]).or_default() += c.0;
            }
        }
        let usual = owners
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(o, _)| *o)
            .unwrap();
        let mut want = Tally::new();
        for (k, c) in &groups {
            let (class, tier, enc, owner) = (&k[0], &k[1], &k[2], &k[3]);
            let reason = if class == "GLACIER" || class == "DEEP_ARCHIVE" {
                format!("archived (storage class {class})")
            } else if class == "INTELLIGENT_TIERING"
                && (tier == "ARCHIVE" || tier == "DEEP_ARCHIVE")
            {
                format!("archived (access tier {tier})")
            } else if enc == "SSE-KMS" || enc == "DSSE-KMS" {
                format!("kms-encrypted ({enc})")
            } else if owner != "(none)" && owner != "UNAVAILABLE" && owner != usual {
                "owned by another account".into()
            } else {
                continue;
            };
            let e = want.entry(vec![reason, k[4].clone()]).or_default();
            e.0 += c.0;
            e.1 += c.1;
        }
        let rows = canned_rows(location, "cannot_replicate", &[]);
        assert_eq!(
            query_tally(&rows, &["reason", "replication_status"], "objects", "bytes"),
            want
        );
        assert!(
            rows.iter()
                .all(|r| !r["reason"].as_str().unwrap().contains("SSE-C")),
            "SSE-C objects replicate"
        );
        checked.insert("cannot_replicate");

        // redrive_preview: `manifest`'s default selection, line for line.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m");
        let (code, _, err) = run(s3inv().arg("manifest").arg(location).arg("--out").arg(&out));
        assert_eq!(code, 0, "{err}");
        let lines = std::fs::read_to_string(out.join("manifest-00001.csv")).unwrap();
        let preview: String = canned_rows(location, "redrive_preview", &["limit=100000"])
            .iter()
            .map(|r| {
                format!(
                    "{},{},{}\n",
                    r["bucket"].as_str().unwrap(),
                    r["key"].as_str().unwrap(),
                    r["version_id"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(preview, lines);
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(
            summary["selected"]["objects"].as_u64().unwrap(),
            lines.lines().count() as u64
        );
        checked.insert("redrive_preview");
    }
    let all: BTreeSet<&str> = s3inv::analytics::queries::all()
        .iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(
        checked, all,
        "every canned query is checked against summary"
    );
}
