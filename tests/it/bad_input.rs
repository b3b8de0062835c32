//! Bad input: each case is one clear error naming the file (and line), exit code 2, and no
//! partial output.

use std::path::{Path, PathBuf};

use s3inv::generate::Versions;
use s3inv::manifest::FileFormat;

use crate::harness::{
    bundled_options, data_file, delivery_dir, replace_data, run, s3inv, write_generated,
    write_manifest,
};

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

/// One bad-input case of the matrix: how to break a fresh delivery, the arguments after
/// `sql LOCATION`, and what the one error line must name.
struct Case {
    name: &'static str,
    format: FileFormat,
    /// Breaks the delivery; returns the text the error must contain.
    breaks: fn(&Path) -> String,
    sql: &'static str,
    extra: &'static [&'static str],
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_string()
}

/// Issue 10 safety net: every input error the README promises, run the same way — exit 2,
/// one `s3inv: error:` line naming the culprit, nothing on stdout, and nothing left in the
/// folder `--output` would have written to.
#[test]
fn bad_input_matrix() {
    const COUNT: &str = "SELECT count(*) AS n, max(key) AS k FROM inventory";
    let cases = [
        Case {
            name: "no manifest",
            format: FileFormat::Csv,
            breaks: |c| {
                std::fs::remove_dir_all(delivery_dir(c)).unwrap();
                "no inventory manifest at".into()
            },
            sql: COUNT,
            extra: &[],
        },
        Case {
            name: "invalid manifest",
            format: FileFormat::Csv,
            breaks: |c| {
                write_manifest(c, "{ \"fileFormat\" : ");
                "manifest.json: invalid manifest.json".into()
            },
            sql: COUNT,
            extra: &[],
        },
        Case {
            name: "edited manifest",
            format: FileFormat::Orc,
            breaks: |c| {
                let p = delivery_dir(c).join("manifest.json");
                let m = std::fs::read_to_string(&p).unwrap();
                std::fs::write(&p, m.replace("2016-11-30", "2016-12-01")).unwrap();
                "manifest.json: md5 mismatch".into()
            },
            sql: COUNT,
            extra: &[],
        },
        Case {
            name: "size mismatch",
            format: FileFormat::Parquet,
            breaks: |c| {
                let f = data_file(c);
                let b = std::fs::read(&f).unwrap();
                std::fs::write(&f, &b[..b.len() - 1]).unwrap();
                format!("{}: size mismatch", file_name(&f))
            },
            sql: COUNT,
            extra: &[],
        },
        Case {
            name: "md5 mismatch",
            format: FileFormat::Csv,
            breaks: |c| {
                let f = data_file(c);
                let mut b = std::fs::read(&f).unwrap();
                let i = b.len() / 2;
                b[i] ^= 0x40;
                std::fs::write(&f, &b).unwrap();
                format!("{}: md5 mismatch", file_name(&f))
            },
            sql: COUNT,
            extra: &[],
        },
        Case {
            name: "truncated gzip",
            format: FileFormat::Csv,
            breaks: |c| {
                let good = std::fs::read(data_file(c)).unwrap();
                let f = replace_data(c, &good[..good.len() / 3]);
                format!("{}: cannot read", file_name(&f))
            },
            sql: COUNT,
            extra: &[],
        },
        Case {
            name: "corrupt parquet",
            format: FileFormat::Parquet,
            breaks: |c| {
                let f = replace_data(c, b"PAR1 and then nothing useful at all PAR1");
                format!("{}: not a valid Parquet file", file_name(&f))
            },
            sql: COUNT,
            extra: &[],
        },
        Case {
            name: "corrupt orc",
            format: FileFormat::Orc,
            breaks: |c| {
                let f = replace_data(c, b"ORC but not really an ORC file");
                format!("{}: cannot read ORC footer", file_name(&f))
            },
            sql: COUNT,
            extra: &[],
        },
        Case {
            name: "wrong field count",
            format: FileFormat::Csv,
            breaks: |c| {
                let f = replace_data(c, &gzip("\"acme-data\",\"k\"\n"));
                format!("{}: line 1: expected ", file_name(&f))
            },
            sql: COUNT,
            extra: &[],
        },
        Case {
            name: "invalid utf-8 key",
            format: FileFormat::Csv,
            breaks: |c| {
                let first = s3inv::generate::RowGen::new(1, "acme-data", 1_795_136_400_000, false)
                    .next()
                    .unwrap();
                let line = s3inv::generate::csv_line(&first, Versions::All).replacen(
                    &s3inv::format::key::form_encode(&first.key),
                    "k%FF",
                    1,
                );
                let f = replace_data(c, &gzip(&line));
                format!(
                    "{}: line 1: Key: key \"k%FF\" is not valid UTF-8",
                    file_name(&f)
                )
            },
            sql: COUNT,
            extra: &[],
        },
        Case {
            name: "missing data file",
            format: FileFormat::Orc,
            breaks: |c| {
                let f = data_file(c);
                std::fs::remove_file(&f).unwrap();
                format!("{}: not found", file_name(&f))
            },
            sql: COUNT,
            extra: &["--no-verify"],
        },
        Case {
            name: "refused sql",
            format: FileFormat::Csv,
            breaks: |_| "s3inv sql is read-only: DDL statements are not allowed".into(),
            sql: "DROP TABLE inventory",
            extra: &[],
        },
        Case {
            name: "failed query",
            format: FileFormat::Parquet,
            breaks: |_| "query failed".into(),
            sql: "SELECT CAST(key AS INT) FROM inventory",
            extra: &[],
        },
        Case {
            name: "bad option",
            format: FileFormat::Csv,
            breaks: |_| "--threads must be at least 1".into(),
            sql: COUNT,
            extra: &["--threads", "0"],
        },
        Case {
            name: "bad --at",
            format: FileFormat::Csv,
            breaks: |_| "invalid --at \"yesterday\"".into(),
            sql: COUNT,
            extra: &["--at", "yesterday"],
        },
    ];
    for case in cases {
        let (dir, config) = delivery(case.format);
        let expected = (case.breaks)(&config);
        let out_dir = dir.path().join("out");
        std::fs::create_dir_all(&out_dir).unwrap();
        let (code, out, err) = run(s3inv()
            .env_remove("RUST_BACKTRACE")
            .arg("sql")
            .arg(&config)
            .arg(case.sql)
            .arg("--output")
            .arg(out_dir.join("result.csv"))
            .args(case.extra));
        let name = case.name;
        assert_eq!(code, 2, "{name}: stdout {out:?} stderr {err:?}");
        assert!(out.is_empty(), "{name}: {out}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.starts_with("s3inv: error: "), "{name}: {err}");
        assert!(
            err.contains(&expected),
            "{name}: expected {expected:?} in {err}"
        );
        let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
        assert!(left.is_empty(), "{name}: files left behind: {left:?}");
    }
    // Unwritable output: the parent is a file.
    let (dir, config) = delivery(FileFormat::Csv);
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    let (code, out, err) = run(s3inv()
        .arg("sql")
        .arg(&config)
        .arg(COUNT)
        .arg("--output")
        .arg(blocker.join("result.csv")));
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("a-file/result.csv"), "{err}");
    // Unreachable endpoint.
    let (code, out, err) = run(s3inv()
        .env("AWS_ACCESS_KEY_ID", "k")
        .env("AWS_SECRET_ACCESS_KEY", "s")
        .env("AWS_REGION", "us-east-1")
        .args([
            "sql",
            "s3://b/inv/",
            COUNT,
            "--endpoint-url",
            "http://127.0.0.1:1",
        ])
        .args(["--retries", "1", "--timeout", "5s"]));
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty());
    let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("s3inv:")).collect();
    assert_eq!(ours.len(), 1, "{err}");
    assert!(ours[0].contains("s3://b/inv"), "{err}");
}

#[test]
fn a_file_given_as_location_is_named_as_not_a_manifest() {
    // #11 item 7: "…/README.md/manifest.json: Not a directory" named the wrong cause.
    let (_d, config) = delivery(FileFormat::Parquet);
    let readme = config.join("README.md");
    std::fs::write(&readme, "# notes\n").unwrap();
    for file in [readme, data_file(&config)] {
        let err = fails(&file, &[]);
        assert!(
            err.contains(&format!(
                "no inventory manifest at {}: it is a file, not a manifest.json or an inventory folder",
                file.display()
            )),
            "{err}"
        );
        assert!(!err.contains("Not a directory"), "{err}");
        // `deliveries` wants a configuration folder, and says so.
        let (code, _, err) = run(s3inv().arg("deliveries").arg(&file));
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("is a file; `deliveries` lists a configuration folder"),
            "{err}"
        );
    }
}

#[test]
fn zero_byte_data_file_with_the_empty_md5_is_zero_rows() {
    // #11 item 8: an empty data file listed with the empty file's MD5 holds no rows; it
    // is not a corrupt gzip, ORC or Parquet file.
    for format in crate::harness::FORMATS {
        let dir = tempfile::tempdir().unwrap();
        let opts = s3inv::generate::GenerateOptions {
            rows: 50,
            files: 2,
            ..bundled_options()
        };
        let config = write_generated(dir.path(), &opts, format, Versions::All);
        let mut files: Vec<PathBuf> = std::fs::read_dir(config.join("data"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let count = |extra: &[&str]| {
            let (code, out, err) = run(s3inv()
                .arg("sql")
                .arg(&config)
                .arg("SELECT count(*) AS n FROM inventory")
                .args(["--format", "csv"])
                .args(extra));
            assert_eq!(code, 0, "{format:?}: {err}");
            out.lines().nth(1).unwrap().parse::<u64>().unwrap()
        };
        let all = count(&[]);
        crate::harness::replace_data_file(&config, &files[1], b"");
        let manifest =
            std::fs::read_to_string(delivery_dir(&config).join("manifest.json")).unwrap();
        assert!(
            manifest.contains("d41d8cd98f00b204e9800998ecf8427e"),
            "{manifest}"
        );
        let left = count(&[]);
        assert!(left > 0 && left < all, "{format:?}: {left} of {all}");
        assert_eq!(count(&["--no-verify"]), left, "{format:?}");
        // Both files empty: a delivery of no rows.
        crate::harness::replace_data_file(&config, &files[0], b"");
        assert_eq!(count(&[]), 0, "{format:?}");
    }
}

#[test]
fn a_corrupt_parquet_footer_says_parquet_error_once() {
    // #11 item 7: "…: cannot read Parquet footer: Parquet error: Parquet error: …".
    let (_d, config) = delivery(FileFormat::Parquet);
    let file = data_file(&config);
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    let footer = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
    // The footer's first bytes made garbage; its length and PAR1 left as they were.
    bytes[n - 8 - footer..n - 8 - footer + 50].fill(0xff);
    crate::harness::replace_data_file(&config, &file, &bytes);
    let err = fails(&config, &[]);
    assert!(
        err.starts_with(&format!(
            "s3inv: error: {}: cannot read Parquet footer: Parquet error: ",
            file.display()
        )),
        "{err}"
    );
    assert_eq!(err.matches("Parquet error:").count(), 1, "{err}");
}
