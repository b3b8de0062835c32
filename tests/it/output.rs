//! Where output goes: `--output`, `--metrics`, `--failed-manifest` and report files replace
//! only regular files (links are followed, FIFOs and devices written into), honour the
//! umask, reach `s3://`; table output escapes what a terminal would obey.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::harness::{generated, run, s3inv};

const COUNT: &str = "SELECT count(*) AS n FROM inventory";

/// Runs `s3inv ARGS…` under `sh` with `umask MASK`; returns (exit code, stderr).
fn under_umask(mask: &str, args: &[&str]) -> (i32, String) {
    let bin = assert_cmd::cargo::cargo_bin("s3inv");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {mask}; exec \"$0\" \"$@\""))
        .arg(bin)
        .args(args)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn new_files_honour_the_umask_and_replaced_files_keep_their_mode() {
    let dir = tempfile::tempdir().unwrap();
    let config = generated("csv-all");
    let config = config.to_str().unwrap();
    let out = dir.path().join("n.csv");
    let out_s = out.to_str().unwrap();
    let (code, err) = under_umask("022", &["sql", config, COUNT, "-o", out_s]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&out), 0o644);
    let (code, err) = under_umask("077", &["sql", config, COUNT, "-o", out_s]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&out), 0o644, "a replaced file keeps its mode");
    let fresh = dir.path().join("fresh.csv");
    let (code, err) = under_umask(
        "027",
        &["sql", config, COUNT, "-o", fresh.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&fresh), 0o640);
    // The report's files and the metrics file go through the same writer.
    let report = dir.path().join("report");
    let prom = dir.path().join("s3inv.prom");
    let (code, err) = under_umask(
        "022",
        &[
            "report",
            config,
            "--out",
            report.to_str().unwrap(),
            "--metrics",
            prom.to_str().unwrap(),
            "-q",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&report.join("report.html")), 0o644);
    assert_eq!(mode(&report.join("report.json")), 0o644);
    assert_eq!(mode(&prom), 0o644);
}

#[test]
fn output_through_a_symlink_replaces_the_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    let real = dir.path().join("real/n.csv");
    std::fs::write(&real, "old\n").unwrap();
    let link = dir.path().join("n.csv");
    std::os::unix::fs::symlink("real/n.csv", &link).unwrap();
    let (code, _, err) = run(s3inv()
        .arg("sql")
        .arg(generated("csv-all"))
        .arg(COUNT)
        .arg("-o")
        .arg(&link));
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read_to_string(&real).unwrap().starts_with("n\n"));
}

#[test]
fn a_dash_as_output_is_stdout() {
    // `-o -` wrote a file named `-` in the working folder.
    let cwd = tempfile::tempdir().unwrap();
    let (code, out, err) = run(s3inv()
        .current_dir(cwd.path())
        .arg("sql")
        .arg(generated("csv-all"))
        .arg(COUNT)
        .args(["-o", "-"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("n\n"), "{out:?}");
    assert!(!cwd.path().join("-").exists());
    // The same for the outputs of other flags.
    let (code, out, err) = run(s3inv()
        .current_dir(cwd.path())
        .arg("job-report")
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/batch-reports/sample-replicate-on-tag/rows"),
        )
        .args([
            "-f",
            "json",
            "--failed-manifest",
            "-",
            "--include-error-code",
            "SrcObjectNotFound",
        ]));
    assert_eq!(code, 0, "{err}");
    // The re-drive manifest's one line (SrcObjectNotFound re-driven), then the groups.
    assert!(
        out.starts_with("example-source-bucket,verify-test/null-version-req2.txt\n"),
        "{out}"
    );
    assert!(err.contains("s3inv: wrote stdout: 1 line"), "{err}");
    assert!(!cwd.path().join("-").exists());
}

#[test]
fn output_to_dev_stdout_and_a_process_substitution_is_written_into() {
    // `-o /dev/stdout` with stdout a pipe: the rows arrive on the pipe. The test's own link
    // to /proc/self/fd/1 stands for /dev/stdout (the same link), so that a regression
    // replaces a link in a temporary folder, not the machine's /dev/stdout.
    let links = tempfile::tempdir().unwrap();
    let stdout = links.path().join("stdout");
    std::os::unix::fs::symlink("/proc/self/fd/1", &stdout).unwrap();
    let (code, out, err) = run(s3inv()
        .arg("sql")
        .arg(generated("csv-all"))
        .arg(COUNT)
        .args(["-f", "csv", "-o"])
        .arg(&stdout));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("n\n"), "{out:?}");
    assert!(
        std::fs::symlink_metadata(&stdout)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    // `-o >(gzip > x.gz)`: a /dev/fd/N pipe.
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "\"$0\" sql '{}' '{COUNT}' -f csv -o >(gzip > '{}/x.gz'); wait $!",
        generated("csv-all").display(),
        dir.path().display()
    );
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(assert_cmd::cargo::cargo_bin("s3inv"))
        .status()
        .unwrap();
    assert!(status.success());
    // gzip finishes after bash's `wait`; poll briefly for the complete stream.
    let mut text = String::new();
    for _ in 0..50 {
        let out = std::process::Command::new("gzip")
            .arg("-dc")
            .arg(dir.path().join("x.gz"))
            .output()
            .unwrap();
        text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && !text.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(text.starts_with("n\n"), "{text:?}");
}

#[test]
fn s3_outputs_are_uploaded_whole() {
    let server = crate::harness::S3Server::start(&crate::harness::buckets());
    let ops = server.root.path().join("acme-ops");
    std::fs::create_dir_all(&ops).unwrap();
    let location = "s3://acme-inventory/acme-data/csv-all/";
    let endpoint = ["--endpoint-url", server.endpoint.as_str()];
    let local = sql_local(COUNT);
    // sql --output
    let (code, out, err) = run(server
        .s3inv()
        .args(["sql", location, COUNT, "-o", "s3://acme-ops/out/n.csv"])
        .args(endpoint));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        std::fs::read_to_string(ops.join("out/n.csv")).unwrap(),
        local
    );
    // summary --output (format from the extension), at the bucket's root.
    let (code, _, err) = run(server
        .s3inv()
        .args(["summary", location, "-o", "s3://acme-ops/summary.json"])
        .args(endpoint));
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ops.join("summary.json")).unwrap()).unwrap();
    assert_eq!(doc["totals"]["objects"], 255);
    // report --metrics
    let (code, _, err) = run(server
        .s3inv()
        .args(["report", location, "--out", "s3://acme-ops/report"])
        .args(["--metrics", "s3://acme-ops/metrics/s3inv.prom", "-q"])
        .args(endpoint));
    assert_eq!(code, 0, "{err}");
    let prom = std::fs::read_to_string(ops.join("metrics/s3inv.prom")).unwrap();
    assert!(prom.contains("s3inv_failed_objects{"), "{prom}");
    // A query that fails while rows are written leaves no object, and the write check
    // leaves nothing behind either.
    let (code, _, err) = run(server
        .s3inv()
        .args([
            "sql",
            location,
            "SELECT CAST(key AS INT) AS k FROM inventory",
        ])
        .args(["-o", "s3://acme-ops/out/broken.csv"])
        .args(endpoint));
    assert_eq!(code, 2, "{err}");
    let names: Vec<String> = std::fs::read_dir(ops.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".s3s"))
        .collect();
    assert_eq!(names, ["n.csv"]);
    // A prefix is not an object name.
    let (code, _, err) = run(server
        .s3inv()
        .args(["sql", location, COUNT, "-o", "s3://acme-ops/out/"])
        .args(endpoint));
    assert_eq!(code, 2);
    assert!(
        err.contains("--output s3://acme-ops/out/: name an object"),
        "{err}"
    );
}

#[test]
fn job_report_failed_manifest_goes_to_s3() {
    let server = crate::harness::S3Server::start(&crate::harness::buckets());
    let job = server.root.path().join("acme-ops/reports/job-1");
    std::fs::create_dir_all(job.join("results")).unwrap();
    let failed = "acme-data,a%20b.txt,v2,failed,403,AccessDenied,Access Denied\n\
                  acme-data,c.txt,v3,failed,503,SlowDown,Please reduce your request rate\n";
    std::fs::write(job.join("results/r1.csv"), failed).unwrap();
    let manifest = serde_json::json!({
        "Format": "Report_CSV_20180820",
        "ReportCreationDate": "2026-11-21T17:48:39.725Z",
        "Results": [{"TaskExecutionStatus": "failed", "Bucket": "acme-ops",
            "MD5Checksum": s3inv::manifest::md5_hex(failed.as_bytes()),
            "Key": "reports/job-1/results/r1.csv"}],
        "ReportSchema": "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"
    });
    std::fs::write(job.join("manifest.json"), manifest.to_string()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("redo.csv");
    let (code, _, err) = run(server
        .s3inv()
        .args(["job-report", "s3://acme-ops/reports/job-1/", "-f", "csv"])
        .arg("--failed-manifest")
        .arg(&local)
        .args(["--endpoint-url", &server.endpoint]));
    assert_eq!(code, 0, "{err}");
    // #11 item 8: what was written, and how many lines.
    assert!(
        err.contains(&format!(
            "s3inv: wrote {}: 2 lines (a Batch Operations CSV manifest of the failed tasks to re-drive)\n",
            local.display()
        )),
        "{err}"
    );
    let (code, _, err) = run(server
        .s3inv()
        .args(["job-report", "s3://acme-ops/reports/job-1/", "-f", "csv"])
        .args(["--failed-manifest", "s3://acme-ops/redo/manifest.csv"])
        .args(["--endpoint-url", &server.endpoint]));
    assert_eq!(code, 0, "{err}");
    let uploaded =
        std::fs::read_to_string(server.root.path().join("acme-ops/redo/manifest.csv")).unwrap();
    assert!(uploaded.contains("acme-data,a%20b.txt,v2\n"), "{uploaded}");
    assert_eq!(uploaded, std::fs::read_to_string(&local).unwrap());
}

fn sql_local(sql: &str) -> String {
    let (code, out, err) = run(s3inv()
        .arg("sql")
        .arg(generated("csv-all"))
        .arg(sql)
        .args(["-f", "csv"]));
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn table_output_escapes_terminal_controls_and_machine_formats_stay_exact() {
    let sql = "SELECT key FROM inventory WHERE key IN ('hostile/new\nline.txt', 'hostile/cr\rreturn.txt') AND is_latest \
               UNION ALL SELECT concat('esc', chr(27), '[2J', chr(8238), 'txt.exe') \
               ORDER BY key";
    let (code, table, err) = run(s3inv()
        .arg("sql")
        .arg(generated("csv-all"))
        .arg(sql)
        .args(["-f", "table"]));
    assert_eq!(code, 0, "{err}");
    for raw in ['\u{1b}', '\r', '\u{202e}'] {
        assert!(!table.contains(raw), "{raw:?} in {table:?}");
    }
    assert!(
        table.contains("| esc\\u{1b}[2J\\u{202e}txt.exe |"),
        "{table}"
    );
    assert!(
        table.contains("| hostile/cr\\u{d}return.txt   |"),
        "{table}"
    );
    assert!(
        table.contains("| hostile/new\\u{a}line.txt    |"),
        "{table}"
    );
    // Every line of the table is one row of the frame: no key broke a line.
    assert_eq!(table.lines().count(), 7, "{table}");
    let (_, csv, _) = run(s3inv()
        .arg("sql")
        .arg(generated("csv-all"))
        .arg(sql)
        .args(["-f", "csv"]));
    assert!(csv.contains("esc\u{1b}[2J\u{202e}txt.exe\n"), "{csv:?}");
    assert!(csv.contains("\"hostile/new\nline.txt\""), "{csv:?}");
    let (_, json, _) = run(s3inv()
        .arg("sql")
        .arg(generated("csv-all"))
        .arg(sql)
        .args(["-f", "json"]));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json[0]["key"], "esc\u{1b}[2J\u{202e}txt.exe");
}

#[test]
fn local_outputs_are_checked_before_any_data_is_read() {
    // The delivery is corrupt (a data file's bytes do not match its MD5): a run that read
    // data would fail on it. Each unwritable output must fail first, naming itself.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("acme-inventory/acme-data/csv-all");
    crate::harness::copy_dir(&generated("csv-all"), &config);
    let file = crate::harness::data_file(&config);
    let len = std::fs::metadata(&file).unwrap().len() as usize;
    std::fs::write(&file, vec![b'x'; len]).unwrap();
    std::fs::write(dir.path().join("a-file"), "x").unwrap();
    let blocked = dir.path().join("a-file/out.csv");
    let blocked = blocked.to_str().unwrap();
    let config = config.to_str().unwrap();
    let folder = dir.path().to_str().unwrap();
    for args in [
        vec!["sql", config, COUNT, "-o", blocked],
        vec!["sql", config, COUNT, "--output", folder],
        vec!["summary", config, "-o", blocked],
        vec!["deliveries", config, "-o", blocked],
        vec!["manifest", config, "--out", blocked],
    ] {
        let (code, _, err) = run(s3inv().args(&args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.contains("md5"), "{args:?}: {err}");
        assert!(
            err.contains(blocked) || err.contains(&format!("{folder} is a folder")),
            "{args:?}: {err}"
        );
    }
    // The checks leave nothing behind.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a-file", "acme-inventory"]);
}

#[test]
fn gz_output_is_gzip_and_an_unknown_extension_is_refused() {
    // #11 item 8: `-o out.csv.gz` wrote plain CSV; `-o x.md` silently wrote CSV.
    let config = generated("csv-all");
    let dir = tempfile::tempdir().unwrap();
    let sql = "SELECT key, size FROM inventory ORDER BY key, version_id";
    let (code, plain, err) = run(s3inv()
        .arg("sql")
        .arg(&config)
        .arg(sql)
        .args(["--format", "csv"]));
    assert_eq!(code, 0, "{err}");
    for (name, format) in [("out.csv.gz", None), ("out.gz", Some("csv"))] {
        let out = dir.path().join(name);
        let mut cmd = s3inv();
        cmd.arg("sql").arg(&config).arg(sql).arg("-o").arg(&out);
        if let Some(f) = format {
            cmd.args(["--format", f]);
        }
        let (code, _, err) = run(&mut cmd);
        assert_eq!(code, 0, "{err}");
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[..2], [0x1f, 0x8b], "{name}: gzip magic");
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
            &mut text,
        )
        .unwrap();
        assert_eq!(text, plain, "{name}");
    }
    // JSON too, through the text writer (summary --format json).
    let out = dir.path().join("summary.json.gz");
    let (code, _, err) = run(s3inv().arg("summary").arg(&config).arg("-o").arg(&out));
    assert_eq!(code, 0, "{err}");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&out).unwrap()),
        &mut text,
    )
    .unwrap();
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(summary["totals"].is_object(), "{summary}");
    for (name, message) in [
        (
            "x.md",
            "--output {}: unknown extension .md; use .csv, .json, .ndjson, .jsonl, .parquet, .txt (table), each text one optionally followed by .gz, or give --format",
        ),
        (
            "x.parquet.gz",
            "parquet output is compressed inside the file: drop the .gz from --output",
        ),
    ] {
        let out = dir.path().join(name);
        let (code, stdout, err) = run(s3inv()
            .arg("sql")
            .arg(&config)
            .arg(COUNT)
            .arg("-o")
            .arg(&out));
        assert_eq!((code, stdout.as_str()), (2, ""), "{name}");
        assert_eq!(
            err,
            format!(
                "s3inv: error: {}\n",
                message.replace("{}", &out.display().to_string())
            ),
            "{name}"
        );
        assert!(!out.exists(), "{name}");
    }
    // With --format, any name is taken as it is.
    let out = dir.path().join("x.md");
    let (code, _, err) = run(s3inv()
        .arg("sql")
        .arg(&config)
        .arg(COUNT)
        .args(["--format", "csv", "-o"])
        .arg(&out));
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("n\n") && text.len() > 3, "{text}");
    assert_eq!(text, crate::harness::sql_csv(&config, COUNT));
}
