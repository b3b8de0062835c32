//! Bad input: each case is one clear error naming the file (and line), exit code 2, and no
//! partial output.

use std::path::{Path, PathBuf};

use s3inv::generate::Versions;
use s3inv::manifest::{FileFormat, md5_hex};

use crate::harness::{bundled_options, run, s3inv, write_generated};

/// A fresh copy of a small generated delivery; returns (tempdir, config folder).
fn delivery(format: FileFormat) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let opts = s3inv::generate::GenerateOptions {
        rows: 50,
        files: 1,
        ..bundled_options()
    };
    let config = write_generated(dir.path(), &opts, format, Versions::All);
    (dir, config)
}

fn delivery_dir(config: &Path) -> PathBuf {
    config.join("2026-11-20T01-00Z")
}

fn data_file(config: &Path) -> PathBuf {
    std::fs::read_dir(config.join("data"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// Replaces the data file's bytes and updates the manifest (size, MD5) and its checksum,
/// so that only the reader can notice what is wrong.
fn replace_data(config: &Path, bytes: &[u8]) -> PathBuf {
    let file = data_file(config);
    let old = std::fs::read(&file).unwrap();
    std::fs::write(&file, bytes).unwrap();
    let manifest_path = delivery_dir(config).join("manifest.json");
    let manifest = std::fs::read_to_string(&manifest_path)
        .unwrap()
        .replace(&md5_hex(&old), &md5_hex(bytes))
        .replace(
            &format!("\"size\" : {},", old.len()),
            &format!("\"size\" : {},", bytes.len()),
        );
    write_manifest(config, &manifest);
    file
}

fn write_manifest(config: &Path, manifest: &str) {
    let dir = delivery_dir(config);
    std::fs::write(dir.join("manifest.json"), manifest).unwrap();
    std::fs::write(
        dir.join("manifest.checksum"),
        format!("{}\n", md5_hex(manifest.as_bytes())),
    )
    .unwrap();
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

/// Runs a count over `location` (extra args appended); expects exit 2; returns stderr.
fn fails(location: &Path, extra: &[&str]) -> String {
    fails_sql(location, "SELECT count(*) FROM inventory", extra)
}

fn fails_sql(location: &Path, sql: &str, extra: &[&str]) -> String {
    let (code, out, err) = run(s3inv().arg("sql").arg(location).arg(sql).args(extra));
    assert_eq!(
        code, 2,
        "expected failure, got stdout {out:?} stderr {err:?}"
    );
    assert!(out.is_empty(), "no partial output expected: {out:?}");
    assert!(err.starts_with("s3inv: error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn no_manifest_at_the_location() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(dir.path(), &[]);
    assert!(err.contains("no inventory manifest at"), "{err}");
    assert!(
        err.contains("point at a manifest.json, a delivery folder or a configuration folder"),
        "{err}"
    );
    let err = fails(&dir.path().join("nothing/manifest.json"), &[]);
    assert!(err.contains("the file does not exist"), "{err}");
}

#[test]
fn invalid_json() {
    let (_d, config) = delivery(FileFormat::Csv);
    write_manifest(&config, "{ \"fileFormat\" : \"CSV\", ");
    let err = fails(&config, &[]);
    assert!(
        err.contains("manifest.json: invalid manifest.json: EOF while parsing"),
        "{err}"
    );
}

#[test]
fn unknown_file_format() {
    let (_d, config) = delivery(FileFormat::Csv);
    let m = std::fs::read_to_string(delivery_dir(&config).join("manifest.json")).unwrap();
    write_manifest(
        &config,
        &m.replace("\"fileFormat\" : \"CSV\"", "\"fileFormat\" : \"Avro\""),
    );
    let err = fails(&config, &[]);
    assert!(
        err.contains("unknown fileFormat \"Avro\"; s3inv reads CSV, ORC and Parquet"),
        "{err}"
    );
}

#[test]
fn manifest_checksum_mismatch() {
    let (_d, config) = delivery(FileFormat::Parquet);
    let path = delivery_dir(&config).join("manifest.json");
    let m = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, m.replace("2016-11-30", "2016-11-31")).unwrap();
    let err = fails(&config, &[]);
    assert!(
        err.contains("manifest.json: md5 mismatch: expected "),
        "{err}"
    );
    // --no-verify reads it anyway.
    let (code, out, _) = run(s3inv()
        .arg("sql")
        .arg(&config)
        .arg("SELECT count(*) AS n FROM inventory")
        .args(["--no-verify", "-f", "csv"]));
    assert_eq!((code, out.as_str()), (0, "n\n50\n"));
}

#[test]
fn data_file_size_mismatch() {
    let (_d, config) = delivery(FileFormat::Orc);
    let file = data_file(&config);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
    let err = fails(&config, &[]);
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(&format!(
            "{name}: size mismatch: manifest says {} bytes, the file has {} bytes",
            bytes.len(),
            bytes.len() - 10
        )),
        "{err}"
    );
    // Sizes are checked even without MD5s.
    let err = fails(&config, &["--no-verify"]);
    assert!(err.contains("size mismatch"), "{err}");
}

#[test]
fn data_file_md5_mismatch() {
    for format in [FileFormat::Csv, FileFormat::Orc, FileFormat::Parquet] {
        let (_d, config) = delivery(format);
        let file = data_file(&config);
        let mut bytes = std::fs::read(&file).unwrap();
        let i = bytes.len() / 2;
        bytes[i] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        let err = fails(&config, &[]);
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(
            err.contains(&format!("{name}: md5 mismatch: expected ")),
            "{err}"
        );
        assert!(err.contains("corrupt or replaced data file"), "{err}");
    }
}

#[test]
fn data_file_missing() {
    let (_d, config) = delivery(FileFormat::Parquet);
    let file = data_file(&config);
    std::fs::remove_file(&file).unwrap();
    for extra in [&[][..], &["--no-verify"][..]] {
        let err = fails(&config, extra);
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(
            err.contains(&format!(
                "{name}: not found: the manifest lists this data file but it is missing"
            )),
            "{err}"
        );
    }
}

#[test]
fn corrupt_gzip_names_the_file() {
    let (_d, config) = delivery(FileFormat::Csv);
    let good = std::fs::read(data_file(&config)).unwrap();
    // A truncated gzip stream (whose manifest entry matches, so only the reader notices).
    let file = replace_data(&config, &good[..good.len() / 2]);
    let err = fails(&config, &[]);
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(&format!("{name}: cannot read (corrupt or truncated gzip?)")),
        "{err}"
    );
}

#[test]
fn corrupt_orc_names_the_file() {
    let (_d, config) = delivery(FileFormat::Orc);
    let file = replace_data(&config, b"this is not an ORC file at all, just text");
    let err = fails(&config, &[]);
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(&format!("{name}: cannot read ORC footer")),
        "{err}"
    );
}

#[test]
fn corrupt_parquet_names_the_file() {
    let (_d, config) = delivery(FileFormat::Parquet);
    let file = replace_data(&config, b"this is not a Parquet file at all, just text");
    let err = fails(&config, &[]);
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(&format!(
            "{name}: not a valid Parquet file: it does not end with PAR1"
        )),
        "{err}"
    );
}

#[test]
fn csv_row_with_wrong_field_count_names_file_and_line() {
    let (_d, config) = delivery(FileFormat::Csv);
    let text = "\"b\",\"k1\"\n\"b\",\"k2\",\"extra\"\n";
    let m = std::fs::read_to_string(delivery_dir(&config).join("manifest.json")).unwrap();
    let schema_start = m.find("\"fileSchema\" : \"").unwrap() + 16;
    let schema_end = schema_start + m[schema_start..].find('"').unwrap();
    let m = format!("{}Bucket, Key{}", &m[..schema_start], &m[schema_end..]);
    write_manifest(&config, &m);
    let file = replace_data(&config, &gzip(text));
    let err = fails(&config, &[]);
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(&format!(
            "{name}: line 2: expected 2 fields (the manifest's fileSchema), found 3"
        )),
        "{err}"
    );
}

#[test]
fn key_that_is_not_utf8_after_decoding() {
    let (_d, config) = delivery(FileFormat::Csv);
    let first = s3inv::generate::RowGen::new(1, "acme-data", 1_795_136_400_000, false)
        .next()
        .unwrap();
    let mut line = s3inv::generate::csv_line(&first, Versions::All);
    line = line.replacen(
        &s3inv::format::key::form_encode(&first.key),
        "bad%C3%28key",
        1,
    );
    let file = replace_data(&config, &gzip(&line));
    // Keys are decoded only when a query reads them: status totals never touch them.
    let (code, out, err) = run(s3inv()
        .arg("sql")
        .arg(&config)
        .arg("SELECT replication_status, count(*) AS n FROM inventory GROUP BY 1")
        .args(["-f", "csv"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.ends_with(",1\n"), "{out}");
    let err = fails_sql(&config, "SELECT count(DISTINCT key) FROM inventory", &[]);
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(&format!(
            "{name}: line 1: Key: key \"bad%C3%28key\" is not valid UTF-8 after URL-decoding"
        )),
        "{err}"
    );
}

#[test]
fn writing_sql_is_refused() {
    let (_d, config) = delivery(FileFormat::Parquet);
    for (sql, kind) in [
        ("CREATE TABLE t AS SELECT 1", "DDL"),
        ("DROP TABLE inventory", "DDL"),
        ("INSERT INTO inventory SELECT * FROM inventory", "DML"),
        ("COPY (SELECT 1) TO '/tmp/s3inv-copy-test.csv'", "COPY"),
        (
            "SET datafusion.execution.batch_size = 1",
            "SET and transaction",
        ),
    ] {
        let (code, out, err) = run(s3inv().arg("sql").arg(&config).arg(sql));
        assert_eq!(code, 2, "{sql}: {err}");
        assert!(out.is_empty());
        assert!(
            err.contains(&format!(
                "s3inv sql is read-only: {kind} statements are not allowed"
            )),
            "{sql}: {err}"
        );
    }
    assert!(!Path::new("/tmp/s3inv-copy-test.csv").exists());
}

#[test]
fn failed_query_leaves_no_output_file() {
    let (d, config) = delivery(FileFormat::Csv);
    let out = d.path().join("result.csv");
    let (code, _, err) = run(s3inv()
        .arg("sql")
        .arg(&config)
        .arg("SELECT CAST(key AS INT) FROM inventory")
        .arg("--output")
        .arg(&out));
    assert_eq!(code, 2, "{err}");
    assert!(!out.exists());
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}
