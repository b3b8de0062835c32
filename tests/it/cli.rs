//! The command line: delivery discovery (`--at`, incomplete deliveries), `deliveries`,
//! every output format, atomic `--output`.

use s3inv::generate::{GenerateOptions, Versions};
use s3inv::manifest::FileFormat;

use crate::harness::{
    bundled_options, data_file, delivery_dir, generated, run, s3inv, write_generated,
};

const DAY_MS: i64 = 86_400_000;

/// A configuration folder with three CSV deliveries (20th, 21st, 22nd of November); the
/// newest has no manifest.checksum yet.
fn three_deliveries() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Default::default();
    for (day, rows) in [(0, 10u64), (1, 20), (2, 30)] {
        let opts = GenerateOptions {
            rows,
            files: 1,
            created_ms: bundled_options().created_ms + day * DAY_MS,
            ..bundled_options()
        };
        config = write_generated(dir.path(), &opts, FileFormat::Csv, Versions::All);
    }
    std::fs::remove_file(config.join("2026-11-22T01-00Z/manifest.checksum")).unwrap();
    (dir, config)
}

fn count(args: &[&str], location: &std::path::Path) -> (i32, String, String) {
    run(s3inv()
        .arg("sql")
        .arg(location)
        .arg("SELECT count(*) AS n FROM inventory")
        .args(["--format", "csv"])
        .args(args))
}

#[test]
fn newest_complete_delivery_is_chosen_and_the_skip_is_noted() {
    let (_d, config) = three_deliveries();
    let (code, out, err) = count(&[], &config);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "n\n20\n");
    assert!(
        err.contains("note: skipped incomplete deliveries (no manifest.checksum yet): 2026-11-22T01-00Z; using 2026-11-21T01-00Z"),
        "{err}"
    );
    // #11 item 1: --quiet must not hide that the answer is about an older delivery.
    let (_, _, quiet_err) = count(&["--quiet"], &config);
    assert_eq!(
        quiet_err,
        "s3inv: note: skipped incomplete deliveries (no manifest.checksum yet): 2026-11-22T01-00Z; using 2026-11-21T01-00Z\n"
    );
    // The JSON documents carry the note too: a tool reading them must know the numbers
    // are about an older delivery.
    let note = "skipped incomplete deliveries (no manifest.checksum yet): 2026-11-22T01-00Z; using 2026-11-21T01-00Z";
    let (code, out, err) = run(s3inv()
        .arg("summary")
        .arg(&config)
        .args(["--format", "json", "-q"]));
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["notes"], serde_json::json!([note]), "{out}");
    assert_eq!(doc["delivery"]["name"], "2026-11-21T01-00Z", "{out}");
    let dest = tempfile::tempdir().unwrap();
    let (code, _, err) = run(s3inv()
        .arg("manifest")
        .arg(&config)
        .arg("--out")
        .arg(dest.path().join("m"))
        .arg("-q"));
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dest.path().join("m/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["notes"][0], note, "{summary}");
}

#[test]
fn at_selects_a_day_or_an_exact_delivery() {
    let (_d, config) = three_deliveries();
    assert_eq!(count(&["--at", "2026-11-20"], &config).1, "n\n10\n");
    assert_eq!(count(&["--at", "2026-11-21T01-00Z"], &config).1, "n\n20\n");
    let (code, _, err) = count(&["--at", "2026-11-22"], &config);
    assert_eq!(code, 2);
    // #11 item 7: the asked-for delivery is incomplete; the message says how to read it,
    // and names the delivery once.
    let folder = format!("{}/2026-11-22T01-00Z/", config.display());
    assert_eq!(
        err,
        format!(
            "s3inv: error: no inventory manifest at {}: delivery 2026-11-22T01-00Z is incomplete (no manifest.checksum); AWS writes manifest.checksum last, so it may still be arriving; to read it as it is, give its dated folder with --no-verify: {folder} --no-verify\n",
            config.display()
        )
    );
    let (code, out, err) = count(&["--no-verify"], std::path::Path::new(&folder));
    assert_eq!((code, out.as_str()), (0, "n\n30\n"), "{err}");
    let (code, _, err) = count(&["--at", "2026-12-01"], &config);
    assert_eq!(code, 2);
    assert!(err.contains("no delivery matches --at 2026-12-01; available: 2026-11-20T01-00Z, 2026-11-21T01-00Z, 2026-11-22T01-00Z"), "{err}");
    let (code, _, err) = count(&["--at", "yesterday"], &config);
    assert_eq!(code, 2);
    assert!(err.contains("invalid --at \"yesterday\""), "{err}");
}

#[test]
fn deliveries_lists_dates_formats_files_bytes_and_completeness() {
    let (_d, config) = three_deliveries();
    let (code, out, err) = run(s3inv()
        .arg("deliveries")
        .arg(&config)
        .args(["--format", "csv"]));
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][..4], ["2026-11-20T01-00Z", "true", "CSV", "1"]);
    assert_eq!(&rows[2][..4], ["2026-11-22T01-00Z", "false", "CSV", "1"]);
    let bytes: u64 = rows[1][4].parse().unwrap();
    let data = config.join("data");
    let sizes: Vec<u64> = std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .collect();
    assert!(sizes.contains(&bytes), "{bytes} not among {sizes:?}");
}

#[test]
fn deliveries_of_an_empty_folder_is_an_empty_list_and_of_a_missing_one_an_error() {
    // #11 item 7.
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(s3inv()
        .arg("deliveries")
        .arg(dir.path())
        .args(["--format", "csv"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "delivery,complete,format,files,bytes,created,problem,manifest\n"
    );
    assert!(
        err.contains("note: no dated delivery folders (YYYY-MM-DDTHH-MMZ) in"),
        "{err}"
    );
    let missing = dir.path().join("nope");
    let (code, out, err) = run(s3inv().arg("deliveries").arg(&missing));
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        format!(
            "s3inv: error: no inventory manifest at {}: the folder does not exist\n",
            missing.display()
        )
    );
}

#[test]
fn deliveries_points_from_a_dated_folder_a_bucket_folder_or_a_file_to_the_configuration() {
    // #11: a dated folder or a source-bucket folder listed nothing and said only what
    // LOCATION should be; a manifest.json was called "a file, not a manifest.json".
    let config = generated("csv-all");
    let shown = config.display().to_string();
    let bucket = config.parent().unwrap().display().to_string();
    let dated = delivery_dir(&config);
    let (code, out, err) = run(s3inv().arg("deliveries").arg(&dated));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        err.contains(&format!(
            "{} is a dated delivery folder: its configuration folder is {shown}/",
            dated.display()
        )),
        "{err}"
    );
    let (code, _, err) = run(s3inv().arg("deliveries").arg(config.parent().unwrap()));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "{bucket} holds the configuration folders csv-all, csv-current, orc-all, "
        )) && err.contains(&format!(": point at one, like {bucket}/csv-all/")),
        "{err}"
    );
    // Every command that opens a delivery gives the same pointer.
    let (code, _, err) = run(s3inv()
        .arg("sql")
        .arg(config.parent().unwrap())
        .arg("SELECT 1"));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(": point at one, like {bucket}/csv-all/")),
        "{err}"
    );
    let manifest = dated.join("manifest.json");
    let (code, _, err) = run(s3inv().arg("deliveries").arg(&manifest));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err,
        format!(
            "s3inv: error: {} is one delivery's manifest.json; `deliveries` lists a configuration folder: s3inv deliveries {shown}/\n",
            manifest.display()
        )
    );
    let data = data_file(&config);
    let (code, _, err) = run(s3inv().arg("deliveries").arg(&data));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err,
        format!(
            "s3inv: error: {} is a file; `deliveries` lists a configuration folder (…/<source-bucket>/<config-id>/)\n",
            data.display()
        )
    );
}

#[test]
fn every_output_format() {
    let config = generated("parquet-all");
    let dir = tempfile::tempdir().unwrap();
    let sql = "SELECT coalesce(replication_status, 'NONE') AS status, count(*) AS objects \
               FROM inventory GROUP BY 1 ORDER BY 1";
    let csv = {
        let (code, out, err) = run(s3inv().arg("sql").arg(&config).arg(sql));
        assert_eq!(code, 0, "{err}");
        out // piped: csv by default
    };
    assert!(csv.starts_with("status,objects\nCOMPLETED,"), "{csv}");
    let csv_rows: Vec<(String, u64)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let (s, n) = l.split_once(',').unwrap();
            (s.to_string(), n.parse().unwrap())
        })
        .collect();

    let (_, json, _) = run(s3inv()
        .arg("sql")
        .arg(&config)
        .arg(sql)
        .args(["--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let from_json: Vec<(String, u64)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["status"].as_str().unwrap().to_string(),
                o["objects"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(from_json, csv_rows);

    let (_, ndjson, _) = run(s3inv()
        .arg("sql")
        .arg(&config)
        .arg(sql)
        .args(["--format", "ndjson"]));
    assert_eq!(ndjson.lines().count(), csv_rows.len());
    let first: serde_json::Value = serde_json::from_str(ndjson.lines().next().unwrap()).unwrap();
    assert_eq!(first["status"], "COMPLETED");

    let (_, table, _) = run(s3inv()
        .arg("sql")
        .arg(&config)
        .arg(sql)
        .args(["--format", "table"]));
    assert!(table.contains("| status    | objects |"), "{table}");

    let out = dir.path().join("result.parquet");
    let (code, stdout, err) = run(s3inv()
        .arg("sql")
        .arg(&config)
        .arg(sql)
        .arg("--output")
        .arg(&out));
    assert_eq!((code, stdout.as_str()), (0, ""), "{err}");
    let reader =
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
            std::fs::File::open(&out).unwrap(),
        )
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(crate::harness::lines(&batches).len(), csv_rows.len());
    let total: u64 = csv_rows.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 400);
}

#[test]
fn sql_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q.sql");
    std::fs::write(&q, "-- how many?\nSELECT count(*) AS n FROM inventory").unwrap();
    let (code, out, err) = run(s3inv()
        .arg("sql")
        .arg(generated("orc-current"))
        .arg("--file")
        .arg(&q)
        .args(["-f", "csv"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "n\n255\n");
}

#[test]
fn broken_pipe_is_success() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("s3inv"))
        .arg("sql")
        .arg(generated("csv-all"))
        .arg("SELECT a.key FROM inventory a, inventory b")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn local_folders_with_unusual_characters() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("inv #1 ~ 100% [copy]");
    crate::harness::copy_dir(&crate::harness::buckets().join("acme-inventory"), &odd);
    for config in ["csv-all", "orc-all", "parquet-all"] {
        let location = odd.join("acme-data").join(config);
        let (code, out, err) = count(&[], &location);
        assert_eq!((code, out.as_str()), (0, "n\n400\n"), "{config}: {err}");
    }
    // Errors show the real path, not an escaped one.
    let file = std::fs::read_dir(odd.join("acme-data/csv-all/data"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(&file).unwrap();
    let (code, _, err) = count(&[], &odd.join("acme-data/csv-all"));
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("{}: not found", file.display())),
        "{err}"
    );
}

#[test]
fn parquet_filters_reach_the_reader() {
    let plan = crate::harness::sql_csv(
        &generated("parquet-current"),
        "EXPLAIN SELECT count(*) FROM inventory WHERE replication_status = 'FAILED' AND is_latest",
    );
    assert!(
        plan.contains("file_type=parquet, predicate=replication_status@10 = FAILED"),
        "{plan}"
    );
    assert!(
        plan.contains("required_guarantees=[replication_status in (FAILED)]"),
        "{plan}"
    );
}

#[test]
fn csv_status_filters_reach_the_reader() {
    let plan = crate::harness::sql_csv(
        &generated("csv-all"),
        "EXPLAIN SELECT key FROM inventory WHERE replication_status IN ('FAILED', 'PENDING') AND size > 0",
    );
    assert!(
        plan.contains(
            r#"projection=[key, size, replication_status], status_filter=[""FAILED"", ""PENDING""]"#
        ),
        "{plan}"
    );
    // Still filtered above the scan: the reader's filter only saves decoding.
    assert!(
        plan.contains("FilterExec: (replication_status@2 = FAILED OR replication_status@2 = PENDING) AND size@1 > 0"),
        "{plan}"
    );
    let plan = crate::harness::sql_csv(
        &generated("csv-all"),
        "EXPLAIN SELECT key FROM inventory WHERE replication_status IS NULL OR replication_status = ''",
    );
    assert!(plan.contains(r#"status_filter=["""", NULL]"#), "{plan}");
}

#[test]
fn scans_read_only_the_columns_a_query_needs() {
    let plan = crate::harness::sql_csv(
        &generated("csv-all"),
        "EXPLAIN SELECT replication_status, sum(size) FROM inventory GROUP BY 1",
    );
    assert!(plan.contains("InventoryScanExec: format=CSV, files=2, partitions=2, projection=[size, replication_status]"), "{plan}");
}

#[test]
fn memory_limit_bounds_the_pool() {
    let sql = "SELECT a.key, count(*) FROM inventory a, inventory b GROUP BY a.key ORDER BY 2 DESC LIMIT 2";
    let (code, _, err) = run(s3inv()
        .arg("sql")
        .arg(generated("parquet-all"))
        .arg(sql)
        .args(["--memory-limit", "100K"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("not enough memory: Resources exhausted"),
        "{err}"
    );
    assert!(err.contains("raise --memory-limit"), "{err}");
    let (code, _, err) = run(s3inv()
        .arg("sql")
        .arg(generated("parquet-all"))
        .arg(sql)
        .args(["--memory-limit", "512M"]));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn an_empty_delivery_gives_empty_answers_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["CSV", "ORC", "Parquet"] {
        let delivery = dir.path().join(format).join("src/cfg/2026-01-01T01-00Z");
        std::fs::create_dir_all(&delivery).unwrap();
        let manifest = format!(
            "{{\"sourceBucket\":\"src\",\"destinationBucket\":\"arn:aws:s3:::b\",\"creationTimestamp\":\"1767229200000\",\
             \"fileFormat\":\"{format}\",\"fileSchema\":\"Bucket, Key, Size\",\"files\":[]}}"
        );
        std::fs::write(delivery.join("manifest.json"), &manifest).unwrap();
        std::fs::write(
            delivery.join("manifest.checksum"),
            s3inv::manifest::md5_hex(manifest.as_bytes()),
        )
        .unwrap();
        let config = delivery.parent().unwrap();
        let sql = "SELECT replication_status, count(*) AS n FROM inventory GROUP BY 1";
        let (code, out, err) = run(s3inv().arg("sql").arg(config).arg(sql).args(["-f", "csv"]));
        assert_eq!(
            (code, out.as_str()),
            (0, "replication_status,n\n"),
            "{format}: {err}"
        );
        let (_, out, _) = run(s3inv().arg("sql").arg(config).arg(sql).args(["-f", "json"]));
        assert_eq!(out, "[]\n");
        let (_, out, _) = run(s3inv()
            .arg("sql")
            .arg(config)
            .arg("SELECT count(*) AS n FROM inventory")
            .args(["-f", "csv"]));
        assert_eq!(out, "n\n0\n");
    }
}

#[test]
fn timestamps_have_one_shape_in_every_format() {
    // The delivery's creation time has zero milliseconds: the shape must still carry them
    // (`…:00.000Z`), in every text format. A zoned timestamp is the same instant in UTC.
    let config = generated("csv-all");
    let sql = "SELECT delivery_time() AS t, \
               arrow_cast(delivery_time(), 'Timestamp(Millisecond, Some(\"+05:00\"))') AS zoned";
    let shape = "2026-11-20T01:00:00.000Z";
    let out = |format: &str| {
        let (code, out, err) = run(s3inv()
            .arg("sql")
            .arg(&config)
            .arg(sql)
            .args(["--format", format]));
        assert_eq!(code, 0, "{err}");
        out
    };
    let json: serde_json::Value = serde_json::from_str(&out("json")).unwrap();
    assert_eq!(json[0]["t"], shape);
    assert_eq!(json[0]["zoned"], shape);
    let ndjson: serde_json::Value = serde_json::from_str(out("ndjson").trim()).unwrap();
    assert_eq!(ndjson["t"], shape);
    assert_eq!(ndjson["zoned"], shape);
    assert_eq!(out("csv"), format!("t,zoned\n{shape},{shape}\n"));
    let table = out("table");
    assert!(table.contains(&format!("| {shape} | {shape} |")), "{table}");
}
