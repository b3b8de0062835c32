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
fn output_to_dev_stdout_and_a_process_substitution_is_written_into() {
    // `-o /dev/stdout` with stdout a pipe: the rows arrive on the pipe.
    let (code, out, err) = run(s3inv()
        .arg("sql")
        .arg(generated("csv-all"))
        .arg(COUNT)
        .args(["-f", "csv", "-o", "/dev/stdout"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("n\n"), "{out:?}");
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
