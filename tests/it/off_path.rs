//! Off the happy path: locations as users write them (`..`, symlinks, `aws s3 sync`
//! copies), AWS's own quirks (`""` / `null` version ids, fields left out of a report), and
//! inputs that must never reach a panic. Each test names the issue item it guards.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringViewArray};
use s3inv::generate::Versions;
use s3inv::manifest::FileFormat;

use crate::harness::{
    FORMATS, bundled_options, copy_dir, delivery_dir, generated, run, s3inv, write_generated,
};

fn count_sql(location: &Path, cwd: &Path, extra: &[&str]) -> (i32, String, String) {
    run(s3inv()
        .current_dir(cwd)
        .arg("sql")
        .arg(location)
        .arg("SELECT count(*) AS n, sum(size) AS bytes FROM inventory")
        .args(["--format", "csv"])
        .args(extra))
}

/// Item 2: a relative LOCATION (and --tags, --out, --output) with `..` opens.
#[test]
fn locations_with_dot_dot_open() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &generated("csv-all"),
        &dir.path().join("d/acme-data/csv-all"),
    );
    copy_dir(
        &crate::harness::buckets().join("acme-inventory-tags"),
        &dir.path().join("tags"),
    );
    let sub = dir.path().join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let expected = count_sql(&generated("csv-all"), dir.path(), &[]);
    assert_eq!(expected.0, 0, "{}", expected.2);
    // From a sibling folder, through `..`, and with `.` and `..` inside the path.
    for location in [
        "../d/acme-data/csv-all",
        "./../sub/../d/acme-data/./csv-all/",
    ] {
        let (code, out, err) = count_sql(Path::new(location), &sub, &[]);
        assert_eq!(code, 0, "{location}: {err}");
        assert_eq!(out, expected.1, "{location}");
    }
    // --output through `..` lands where the OS would put it.
    let (code, _, err) = count_sql(
        Path::new("../d/acme-data/csv-all"),
        &sub,
        &["--output", "../d/../counts.csv"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("counts.csv")).unwrap(),
        expected.1
    );
    // --tags and --out (manifest) through `..`.
    let (code, out, err) = run(s3inv()
        .current_dir(&sub)
        .args(["summary", "../d/acme-data/csv-all", "--by", "tag:team"])
        .args([
            "--tags",
            "../tags/metadata-inventory.parquet",
            "--format",
            "csv",
        ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tag:team,status,objects,bytes"), "{out}");
    let (code, _, err) = run(s3inv().current_dir(&sub).args([
        "manifest",
        "../d/acme-data/csv-all",
        "--out",
        "../m/../m1",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("m1/manifest-00001.csv").is_file());
}

/// Item 32: a symlinked LOCATION and a configuration folder copied with `aws s3 sync`
/// (files under `<folder>/data/`) find their data files; when none is found, the error
/// lists the places tried.
#[test]
fn symlinked_and_synced_locations_find_their_data() {
    let dir = tempfile::tempdir().unwrap();
    let expected = count_sql(&generated("parquet-all"), dir.path(), &[]);
    assert_eq!(expected.0, 0, "{}", expected.2);

    std::os::unix::fs::symlink(generated("parquet-all"), dir.path().join("link")).unwrap();
    let (code, out, err) = count_sql(&dir.path().join("link"), dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, expected.1);

    // `aws s3 sync s3://acme-inventory/acme-data/parquet-all/ synced/`
    let synced = dir.path().join("synced");
    copy_dir(&generated("parquet-all"), &synced);
    let (code, out, err) = count_sql(&synced, dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, expected.1);

    // Only the manifest was copied: every place tried is named.
    let lonely = dir.path().join("lonely");
    copy_dir(
        &delivery_dir(&generated("parquet-all")),
        &lonely.join("2026-11-20T01-00Z"),
    );
    let (code, out, err) = count_sql(&lonely, dir.path(), &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("of the manifest not found; looked for it at "),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}/data/", lonely.display())),
        "the synced layout is among the places tried: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// Rewrites the `version_id` column of every batch: NULL becomes `""` on even rows and
/// `null` on odd ones.
fn null_versions_as_text(batch: &RecordBatch) -> RecordBatch {
    let schema = batch.schema();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| {
            if f.name() != "version_id" {
                return c.clone();
            }
            let strings = datafusion::arrow::compute::cast(
                c,
                &datafusion::arrow::datatypes::DataType::Utf8View,
            )
            .unwrap();
            let strings = strings.as_string_view();
            let rewritten: StringViewArray = (0..strings.len())
                .map(|i| match strings.is_null(i) {
                    true if i % 2 == 0 => Some(""),
                    true => Some("null"),
                    false => Some(strings.value(i)),
                })
                .collect();
            datafusion::arrow::compute::cast(&rewritten, c.data_type()).unwrap()
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

/// Rewrites one data file so null-version rows carry `""` / `null` version ids, keeping
/// the manifest's sizes and MD5s true.
fn write_text_null_versions(config: &Path, format: FileFormat) {
    let data = std::fs::read_dir(config.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect::<Vec<_>>();
    for file in data {
        let old = std::fs::read(&file).unwrap();
        let new = match format {
            FileFormat::Csv => {
                use std::io::{Read, Write};
                let mut text = String::new();
                flate2::read::MultiGzDecoder::new(&old[..])
                    .read_to_string(&mut text)
                    .unwrap();
                // Keys are URL-encoded in CSV, so `","` only separates fields; the third
                // field is VersionId. Alternate the two spellings of the null version.
                let mut out = String::new();
                for (i, line) in text.lines().enumerate() {
                    let mut fields: Vec<&str> = line.split("\",\"").collect();
                    if fields[2].is_empty() && i % 2 == 1 {
                        fields[2] = "null";
                    }
                    out.push_str(&fields.join("\",\""));
                    out.push('\n');
                }
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), Default::default());
                gz.write_all(out.as_bytes()).unwrap();
                gz.finish().unwrap()
            }
            FileFormat::Parquet => {
                use datafusion::parquet::arrow::ArrowWriter;
                use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
                let reader =
                    ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(old.clone()))
                        .unwrap()
                        .build()
                        .unwrap();
                let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
                let mut out = Vec::new();
                let mut w = ArrowWriter::try_new(&mut out, batches[0].schema(), None).unwrap();
                for b in &batches {
                    w.write(&null_versions_as_text(b)).unwrap();
                }
                w.close().unwrap();
                out
            }
            FileFormat::Orc => {
                let reader =
                    orc_rust::ArrowReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
                        .unwrap()
                        .build();
                let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
                let mut out = Vec::new();
                let mut w = orc_rust::ArrowWriterBuilder::new(&mut out, batches[0].schema())
                    .try_build()
                    .unwrap();
                for b in &batches {
                    w.write(&null_versions_as_text(b)).unwrap();
                }
                w.close().unwrap();
                out
            }
        };
        crate::harness::replace_data_file(config, &file, &new);
    }
}

/// Items 4 and 19: `""` and `null` version ids are the null version (NULL) in every format,
/// so queries and re-drive manifests are those of the original delivery.
#[test]
fn text_null_version_ids_are_null_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let opts = s3inv::generate::GenerateOptions {
        rows: 120,
        files: 2,
        ..bundled_options()
    };
    let sql = "SELECT count(*) FILTER (WHERE version_id IS NULL) AS null_versions, \
               count(DISTINCT version_id) AS versions, count(*) AS n FROM inventory";
    let manifest = |config: &Path, out: &Path| {
        let (code, _, err) = run(s3inv()
            .arg("manifest")
            .arg(config)
            .arg("--out")
            .arg(out)
            .args([
                "--status",
                "COMPLETED,PENDING,FAILED,REPLICA,NONE",
                "--all-versions",
            ]));
        assert_eq!(code, 0, "{err}");
        std::fs::read_to_string(out.join("manifest-00001.csv")).unwrap()
    };
    for format in FORMATS {
        let clean = write_generated(&dir.path().join("clean"), &opts, format, Versions::All);
        let texty = write_generated(&dir.path().join("texty"), &opts, format, Versions::All);
        write_text_null_versions(&texty, format);
        let expected = crate::harness::sql_csv(&clean, sql);
        assert!(
            !expected.contains("\n0,"),
            "{format}: the delivery has null versions: {expected}"
        );
        assert_eq!(crate::harness::sql_csv(&texty, sql), expected, "{format}");
        let lines = manifest(&clean, &dir.path().join(format!("m-clean-{format}")));
        assert!(lines.contains(",null\n"), "{format}: {lines}");
        assert_eq!(
            manifest(&texty, &dir.path().join(format!("m-texty-{format}"))),
            lines,
            "{format}"
        );
    }
}

/// Item 7: `--where` is one condition, ANDed in: it cannot close the selection's
/// parenthesis, nor comment out the conditions that follow.
#[test]
fn where_cannot_widen_the_selection() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let (code, stdout, err) = run(s3inv()
        .arg("manifest")
        .arg(generated("csv-all"))
        .arg("--out")
        .arg(&out)
        .args(["--where", "size > 0) OR (true"]));
    assert_eq!(code, 2, "{stdout}");
    assert!(
        err.starts_with("s3inv: error: invalid --where \"size > 0) OR (true\": "),
        "{err}"
    );
    assert!(!out.join("manifest-00001.csv").exists());
    // A trailing comment is dropped with the rest of the text it would have hidden.
    let with_comment = dir.path().join("c");
    let plain = dir.path().join("p");
    for (dest, condition) in [(&with_comment, "size > 0 --"), (&plain, "size > 0")] {
        let (code, _, err) = run(s3inv()
            .arg("manifest")
            .arg(generated("csv-all"))
            .arg("--out")
            .arg(dest)
            .args(["--where", condition]));
        assert_eq!(code, 0, "{condition}: {err}");
    }
    assert_eq!(
        std::fs::read(with_comment.join("manifest-00001.csv")).unwrap(),
        std::fs::read(plain.join("manifest-00001.csv")).unwrap()
    );
}

/// Item 9: a Parquet footer whose metadata length points before the start of the file is
/// an error naming the file (the parquet crate panics on it), with or without --no-verify.
#[test]
fn parquet_footer_length_out_of_range_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_generated(
        dir.path(),
        &bundled_options(),
        FileFormat::Parquet,
        Versions::All,
    );
    // The second file: the first one's footer is read before the scan, the others by it.
    let mut files: Vec<PathBuf> = std::fs::read_dir(config.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for victim in &files {
        let original = std::fs::read(victim).unwrap();
        for length in [original.len() as u32 - 7, u32::MAX] {
            let mut bad = original.clone();
            let at = bad.len() - 8;
            bad[at..at + 4].copy_from_slice(&length.to_le_bytes());
            std::fs::write(victim, &bad).unwrap();
            let (code, out, err) = count_sql(&config, dir.path(), &["--no-verify"]);
            assert_eq!(code, 2, "{out}{err}");
            let name = victim.file_name().unwrap().to_str().unwrap();
            assert!(
                err.contains(&format!("{name}: not a valid Parquet file: its footer says the metadata has {length} bytes")),
                "{err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        std::fs::write(victim, &original).unwrap();
    }
}

/// Item 13: a delivery whose report leaves out ReplicationStatus (the real DANDI rows) is
/// not "all never replicated": every command that needs the field says so.
#[test]
fn a_delivery_without_replication_status_is_refused_where_it_matters() {
    let dandi = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/realdata/dandi-s3invsync/synthetic-delivery/dandiarchive/dandiarchive");
    let dir = tempfile::tempdir().unwrap();
    let commands: Vec<Vec<String>> = vec![
        vec!["summary".into()],
        vec!["summary".into(), "--by".into(), "storage_class".into()],
        vec![
            "manifest".into(),
            "--out".into(),
            dir.path().join("m").display().to_string(),
        ],
        vec![
            "report".into(),
            "--out".into(),
            dir.path().join("r").display().to_string(),
        ],
        vec!["sql".into(), "--query".into(), "status_totals".into()],
    ];
    for args in commands {
        let (code, out, err) = run(s3inv().arg(&args[0]).arg(&dandi).args(&args[1..]));
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(
            err.contains("the delivery does not carry the ReplicationStatus field"),
            "{args:?}: {err}"
        );
        assert!(err.contains("OptionalFields"), "{err}");
        assert!(out.is_empty(), "{args:?}: {out}");
    }
    // A failed run leaves no folder it created behind.
    assert!(
        !dir.path().join("m").exists(),
        "manifest --out left its folder"
    );
    assert!(
        !dir.path().join("r").exists(),
        "report --out left its folders"
    );
    // A dimension the report leaves out is refused the same way.
    let (code, _, err) = run(s3inv()
        .arg("summary")
        .arg(generated("csv-all"))
        .args(["--by", "object_owner"]));
    if code == 2 {
        assert!(
            err.contains("ObjectOwner field, which --by object_owner needs"),
            "{err}"
        );
    }
    // Free SQL may still ask about the fields the report has.
    let (code, out, err) = count_sql(&dandi, dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "n,bytes\n4,1549852\n");
}

/// Item 15: writing statements are refused as writes before planning, whatever their
/// shape (an INSERT whose values do not fit the table used to fail as a planner error).
#[test]
fn writes_are_refused_before_planning() {
    for sql in [
        "INSERT INTO inventory VALUES (1)",
        "insert into nowhere values (1, 2)",
        "UPDATE inventory SET size = 0",
        "DELETE FROM inventory",
        "EXPLAIN INSERT INTO inventory VALUES (1)",
        "WITH x AS (SELECT 1) INSERT INTO inventory SELECT * FROM inventory",
    ] {
        let (code, out, err) = run(s3inv().arg("sql").arg(generated("csv-all")).arg(sql));
        assert_eq!(code, 2, "{sql}: {out}");
        assert!(
            err.contains("s3inv sql is read-only: DML statements are not allowed"),
            "{sql}: {err}"
        );
    }
    // Questions about the table are not writes.
    for sql in [
        "DESCRIBE inventory",
        "SHOW TABLES",
        "SHOW COLUMNS FROM inventory",
        "EXPLAIN SELECT count(*) FROM inventory",
    ] {
        let (code, out, err) = run(s3inv().arg("sql").arg(generated("csv-all")).arg(sql));
        assert_eq!(code, 0, "{sql}: {err}");
        assert!(!out.is_empty(), "{sql}");
    }
}

/// Safety net: corrupt, truncated and random data files in every format never reach a
/// panic — each run ends in an answer (exit 0) or one error line (exit 2).
#[test]
fn corrupt_data_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let opts = s3inv::generate::GenerateOptions {
        rows: 60,
        files: 1,
        ..bundled_options()
    };
    let mut seed = 0x5eed_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for format in FORMATS {
        let config = write_generated(
            &dir.path().join(format.as_str()),
            &opts,
            format,
            Versions::All,
        );
        let file = crate::harness::data_file(&config);
        let original = std::fs::read(&file).unwrap();
        for case in 0..24 {
            let mut bytes = original.clone();
            match case % 4 {
                // Bytes flipped somewhere.
                0 => {
                    for _ in 0..4 {
                        let at = next() as usize % bytes.len();
                        bytes[at] ^= (next() as u8) | 1;
                    }
                }
                // Cut short.
                1 => bytes.truncate(next() as usize % bytes.len()),
                // Random bytes behind a valid head.
                2 => {
                    let from = next() as usize % bytes.len();
                    for b in &mut bytes[from..] {
                        *b = next() as u8;
                    }
                }
                // A corrupt tail (the footer) only.
                _ => {
                    let n = bytes.len();
                    for b in &mut bytes[n.saturating_sub(64)..n - 8] {
                        *b = next() as u8;
                    }
                }
            }
            // Keep the manifest true so the reader, not the checks, meets the damage.
            crate::harness::replace_data_file(&config, &file, &bytes);
            let (code, out, err) = run(s3inv()
                .env_remove("RUST_BACKTRACE")
                .arg("sql")
                .arg(&config)
                .arg("SELECT replication_status, count(*), sum(size), max(key) FROM inventory GROUP BY 1")
                .arg("--no-verify"));
            assert!(
                code == 0 || code == 2,
                "{format} case {case}: exit {code}\nstdout {out}\nstderr {err}"
            );
            if code == 2 {
                assert!(
                    err.starts_with("s3inv: error: "),
                    "{format} case {case}: {err}"
                );
                assert_eq!(err.lines().count(), 1, "{format} case {case}: {err}");
                assert!(out.is_empty(), "{format} case {case}: {out}");
            }
        }
    }
}

/// Item 18: S3 Inventory writes `prefix//source-bucket/…` when the destination prefix ends
/// in `/`. Such deliveries are read exactly (every format, verified, by configuration
/// folder, dated folder and manifest), never as the key with `//` collapsed; a copy that
/// collapsed the keys is named as such.
#[test]
fn s3_keys_with_an_empty_segment_are_read_exactly() {
    use crate::harness::EMPTY_SEGMENT;
    let buckets = tempfile::tempdir().unwrap();
    let source = crate::harness::buckets().join("acme-inventory/acme-data");
    // `dest/inv/(empty)/acme-data/…` on disk is `inv//acme-data/…` in S3.
    let doubled = buckets
        .path()
        .join(format!("dest/inv/{EMPTY_SEGMENT}/acme-data"));
    // The collapsed twin lacks its last data file: reading it instead fails or miscounts.
    let collapsed = buckets.path().join("dest/inv/acme-data");
    let configs = ["csv-all", "orc-all", "parquet-current"];
    for config in configs {
        for root in [&doubled, &collapsed] {
            copy_dir(&source.join(config), &root.join(config));
            let manifest_path = delivery_dir(&root.join(config)).join("manifest.json");
            let manifest = std::fs::read_to_string(&manifest_path)
                .unwrap()
                .replace("\"acme-data/", "\"inv//acme-data/");
            crate::harness::write_manifest(&root.join(config), &manifest);
        }
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(delivery_dir(&collapsed.join(config)).join("manifest.json")).unwrap(),
        )
        .unwrap();
        let files = manifest["files"].as_array().unwrap();
        assert!(files.len() > 1, "{config}");
        let last = files.last().unwrap()["key"].as_str().unwrap();
        let name = last.rsplit('/').next().unwrap();
        std::fs::remove_file(collapsed.join(config).join("data").join(name)).unwrap();
    }
    // A copy that collapsed `//` in the data files' keys but not in the manifest's place.
    let twin_manifest = buckets
        .path()
        .join(format!("twin/inv/{EMPTY_SEGMENT}/acme-data/csv-all"));
    copy_dir(
        &delivery_dir(&doubled.join("csv-all")),
        &delivery_dir(&twin_manifest),
    );
    copy_dir(
        &doubled.join("csv-all/data"),
        &buckets.path().join("twin/inv/acme-data/csv-all/data"),
    );
    let server = crate::harness::S3Server::start_with_empty_segments(buckets.path());
    let query = "SELECT count(*) AS n, sum(size) AS bytes FROM inventory";
    for config in configs {
        let (code, expected, err) = count_sql(&source.join(config), Path::new("/"), &[]);
        assert_eq!(code, 0, "{err}");
        assert!(expected.lines().count() == 2, "{expected}");
        // A local copy (`aws s3 sync`) holds `inv//…` keys as `inv/…`, as any file system.
        let (code, local, err) = count_sql(&doubled.join(config), Path::new("/"), &[]);
        assert_eq!((code, local.as_str()), (0, expected.as_str()), "{err}");
        for location in [
            format!("s3://dest/inv//acme-data/{config}/"),
            format!("s3://dest/inv//acme-data/{config}/2026-11-20T01-00Z/"),
            format!("s3://dest/inv//acme-data/{config}/2026-11-20T01-00Z/manifest.json"),
        ] {
            let (code, out, err) = run(server.s3inv().args([
                "sql",
                &location,
                query,
                "--format",
                "csv",
                "--endpoint-url",
                &server.endpoint,
            ]));
            assert_eq!(code, 0, "{location}: {err}");
            assert_eq!(out, expected, "{location}");
        }
    }
    // `deliveries` lists the folder under its exact key.
    let (code, out, err) = run(server.s3inv().args([
        "deliveries",
        "s3://dest/inv//acme-data/csv-all/",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("s3://dest/inv//acme-data/csv-all/2026-11-20T01-00Z/manifest.json"),
        "{out}"
    );
    // The same LOCATION written with `/` for `//` finds no delivery (in `twin` only the data
    // files are there): both commands point at the key with the empty segment.
    let hint = "s3://twin/inv//acme-data/csv-all/ exists (an inventory destination prefix that ends in `/` makes S3 write keys with `//`): use that LOCATION";
    let (code, _, err) = run(server.s3inv().args([
        "deliveries",
        "s3://twin/inv/acme-data/csv-all/",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(hint), "{err}");
    let (code, _, err) = run(server.s3inv().args([
        "sql",
        "s3://twin/inv/acme-data/csv-all/",
        query,
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(hint), "{err}");
    // Outputs are never written under such keys (a tool that collapses `//` would find
    // them elsewhere): refused before the scan, naming the location given, nothing written.
    for (args, shown) in [
        (
            vec![
                "sql",
                "s3://dest/inv//acme-data/csv-all/",
                query,
                "-o",
                "s3://dest/out//y.csv",
            ],
            "s3://dest/out//y.csv",
        ),
        (
            vec![
                "report",
                "s3://dest/inv//acme-data/csv-all/",
                "--out",
                "s3://dest/rep//a/",
            ],
            "s3://dest/rep//a/",
        ),
    ] {
        let (code, out, err) = run(server
            .s3inv()
            .args(&args)
            .args(["--endpoint-url", &server.endpoint]));
        assert_eq!(code, 2, "{args:?}: {out}");
        assert!(
            err.contains(&format!(
                "{shown}: s3inv does not write outputs under keys with an empty segment (`//`)"
            )),
            "{args:?}: {err}"
        );
    }
    assert!(!server.root.path().join("dest/out").exists());
    assert!(!server.root.path().join("dest/rep").exists());
    // The data files' keys lost their empty segment in a copy: the error names the twin
    // that exists, and nothing is read from it.
    let (code, out, err) = run(server.s3inv().args([
        "sql",
        "s3://twin/inv//acme-data/csv-all/",
        query,
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("data file \"inv//acme-data/csv-all/data/"),
        "{err}"
    );
    assert!(
        err.contains(
            "its twin with `//` collapsed to `/` exists at s3://twin/inv/acme-data/csv-all/data/"
        ),
        "{err}"
    );
}

/// A whole bucket as the tag source (`--tags s3://bucket/`) is a folder like any other.
#[test]
fn a_bucket_root_is_a_tag_source() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &crate::harness::buckets().join("acme-inventory"),
        &dir.path().join("acme-inventory"),
    );
    std::fs::create_dir_all(dir.path().join("only-tags")).unwrap();
    std::fs::copy(
        crate::harness::buckets().join("acme-inventory-tags/tag-table.csv"),
        dir.path().join("only-tags/tag-table.csv"),
    )
    .unwrap();
    let server = crate::harness::S3Server::start(dir.path());
    let summary = |tags: &str| {
        run(server.s3inv().args([
            "summary",
            "s3://acme-inventory/acme-data/csv-all/",
            "--by",
            "tag:env",
            "--tags",
            tags,
            "--format",
            "csv",
            "--endpoint-url",
            &server.endpoint,
        ]))
    };
    let (code, expected, err) = summary("s3://only-tags/tag-table.csv");
    assert_eq!(code, 0, "{err}");
    for root in ["s3://only-tags/", "s3://only-tags"] {
        let (code, out, err) = summary(root);
        assert_eq!(code, 0, "{root}: {err}");
        assert_eq!(out, expected, "{root}");
    }
}

/// Item 24, as a shell uses it: `-o /dev/stdout` inside a redirected group writes through the
/// inherited descriptor, so the shell's next line comes after s3inv's output, not over it.
#[test]
fn output_to_dev_stdout_shares_the_shells_offset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.txt");
    let binary = s3inv().get_program().to_owned();
    let script = format!(
        "{{ echo HEADER; '{}' sql '{}' 'SELECT key FROM inventory ORDER BY key LIMIT 2' -o /dev/stdout --format csv; echo FOOTER; }} > '{}'",
        binary.to_str().unwrap(),
        generated("csv-all").display(),
        out.display()
    );
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "HEADER\nkey\n leading-space\n/leading-slash.txt\nFOOTER\n"
    );
}

/// Item 29 for `sql -o`: SIGTERM while the result is being written removes the temporary
/// file and exits 143; nothing that looks final is left.
#[test]
fn a_signal_during_sql_output_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let opts = s3inv::generate::GenerateOptions {
        rows: 60_000,
        files: 2,
        ..bundled_options()
    };
    let config = write_generated(dir.path(), &opts, FileFormat::Csv, Versions::All);
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut child = std::process::Command::new(s3inv().get_program())
        .arg("sql")
        .arg(&config)
        .arg("SELECT * FROM inventory ORDER BY key, version_id")
        .arg("-o")
        .arg(out.join("all.csv"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The temporary file appears before the scan starts.
    let started = std::time::Instant::now();
    while std::fs::read_dir(&out).unwrap().next().is_none() {
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
