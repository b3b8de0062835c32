//! `s3inv report`: the JSON numbers equal `summary`'s, comparisons equal a plain-Rust join of
//! the generator's rows of two days, history feeds the trend, alerts set the exit code, and
//! the HTML renders in headless Chromium.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use s3inv::generate::{DeliverySpec, GenerateOptions, Row, Versions, write_delivery};
use s3inv::manifest::FileFormat;
use serde_json::Value;

use crate::harness::{S3Server, buckets, csv_delivery, run, s3inv};

fn logs() -> PathBuf {
    buckets().join("acme-inventory/acme-logs/csv-all")
}

/// How the acme-logs deliveries were generated (testdata/README.md).
fn logs_options(day: u32) -> GenerateOptions {
    GenerateOptions {
        rows: 300,
        seed: 1,
        source_bucket: "acme-logs".into(),
        destination_bucket: "acme-inventory".into(),
        destination_prefix: String::new(),
        created_ms: 1_795_136_400_000,
        files: 1,
        hostile: true,
        day,
    }
}

fn report(location: &Path, out: &Path, args: &[&str]) -> (i32, String, Value) {
    let (code, _, err) = run(s3inv()
        .arg("report")
        .arg(location)
        .arg("--out")
        .arg(out)
        .args(args));
    let doc = std::fs::read_to_string(out.join("report.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (code, err, doc)
}

/// Asserts that stderr holds the `failed_objects>0` alert line with report `r`'s FAILED
/// count; returns that count.
fn assert_failed_objects_alert(err: &str, r: &Value) -> u64 {
    let failed = r["totals"]["statuses"]["FAILED"]["objects"]
        .as_u64()
        .unwrap();
    assert!(
        err.lines()
            .any(|l| l == format!("s3inv: alert: failed_objects>0 (value {failed})")),
        "{err}"
    );
    failed
}

fn summary(location: &Path, args: &[&str]) -> Value {
    let (code, out, err) = run(s3inv()
        .arg("summary")
        .arg(location)
        .args(args)
        .args(["-f", "json"]));
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn numbers_equal_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err, r) = report(&logs(), dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["s3inv_report_version"], 2);
    let s = summary(&logs(), &[]);
    assert_eq!(r["totals"]["objects"], s["totals"]["objects"]);
    assert_eq!(r["totals"]["bytes"], s["totals"]["bytes"]);
    assert_eq!(r["totals"]["unreplicated"], s["totals"]["unreplicated"]);
    for (status, c) in s["totals"]["statuses"].as_object().unwrap() {
        assert_eq!(
            r["totals"]["statuses"][status]["objects"], c["objects"],
            "{status}"
        );
        assert_eq!(
            r["totals"]["statuses"][status]["bytes"], c["bytes"],
            "{status}"
        );
    }
    assert_eq!(r["pending"]["stuck"], s["pending"]["stuck"]);
    assert_eq!(r["pending"]["recent"], s["pending"]["recent"]);
    // Breakdowns equal summary --by of the same dimension.
    for (field, by) in [
        ("by_age", "age"),
        ("storage_classes", "storage_class"),
        ("encryption_statuses", "encryption_status"),
    ] {
        let s = summary(&logs(), &["--by", by]);
        let mut expected: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for g in s["groups"].as_array().unwrap() {
            expected.insert(
                g["values"][by].as_str().unwrap().into(),
                (g["objects"].as_u64().unwrap(), g["bytes"].as_u64().unwrap()),
            );
        }
        let got: BTreeMap<String, (u64, u64)> = r[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["value"].as_str().unwrap().into(),
                    (g["objects"].as_u64().unwrap(), g["bytes"].as_u64().unwrap()),
                )
            })
            .collect();
        assert_eq!(got, expected, "{field}");
    }
    let s = summary(&logs(), &["--by", "prefix", "--depth", "1", "--top", "10"]);
    let top: Vec<(String, u64)> = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["values"]["prefix"] != "(other)")
        .map(|g| {
            (
                g["values"]["prefix"].as_str().unwrap().into(),
                g["unreplicated"]["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    let got: Vec<(String, u64)> = r["top_prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["value"].as_str().unwrap().into(),
                g["unreplicated"]["bytes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, top);
    assert!(r["largest_failed"].as_array().unwrap().len() <= 10);
    for name in [
        "report.html",
        "report.md",
        "history/acme-logs__csv-all__2026-11-27T01-00-00Z.json",
    ] {
        assert!(dir.path().join(name).exists(), "{name}");
    }
}

type Key = (String, Option<String>);

/// FAILED/PENDING state per object of one day, current versions only.
fn states(day: u32) -> BTreeMap<Key, (String, i64, u64)> {
    logs_options(day)
        .rows(Versions::All)
        .filter(Row::is_current)
        .filter_map(|r| {
            let s = r.replication_status.clone()?;
            (s == "FAILED" || s == "PENDING").then(|| {
                (
                    (r.key.clone(), r.version_id.clone()),
                    (s, r.last_modified_ms, r.size.unwrap_or(0) as u64),
                )
            })
        })
        .collect()
}

/// The transitions between two days, computed directly.
fn transitions(now: u32, then: u32) -> [(u64, u64); 3] {
    let (c, p) = (states(now), states(then));
    let threshold = 86_400_000;
    let now_ms = logs_options(now).delivery_ms();
    let then_ms = logs_options(then).delivery_ms();
    let mut out = [(0, 0); 3];
    for (k, (s, lm, size)) in &c {
        let before = p.get(k);
        if s == "FAILED" && before.is_none_or(|b| b.0 != "FAILED") {
            out[0].0 += 1;
            out[0].1 += size;
        }
        let stuck_now = s == "PENDING" && *lm < now_ms - threshold;
        let stuck_then = before.is_some_and(|b| b.0 == "PENDING" && b.1 < then_ms - threshold);
        if stuck_now && !stuck_then {
            out[2].0 += 1;
            out[2].1 += size;
        }
    }
    for (k, (s, _, size)) in &p {
        if s == "FAILED" && c.get(k).is_none_or(|n| n.0 != "FAILED") {
            out[1].0 += 1;
            out[1].1 += size;
        }
    }
    out
}

fn check_comparison(c: &Value, now: u32, then: u32) {
    let t = transitions(now, then);
    for (i, field) in ["newly_failed", "left_failed", "became_stuck"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            (
                c[field]["objects"].as_u64().unwrap(),
                c[field]["bytes"].as_u64().unwrap()
            ),
            t[i],
            "{field} day {now} vs {then}"
        );
    }
}

#[test]
fn comparisons_equal_an_independent_join() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err, r) = report(&logs(), dir.path(), &[]);
    assert_eq!(code, 0, "{err}");
    let cmp = r["comparisons"].as_array().unwrap();
    assert_eq!(cmp.len(), 2, "previous and 7 days earlier");
    assert_eq!(cmp[0]["delivery"], "2026-11-26T01-00Z");
    assert_eq!(cmp[1]["delivery"], "2026-11-20T01-00Z");
    assert_eq!(cmp[1]["days_earlier"], 7.0);
    check_comparison(&cmp[0], 7, 6);
    check_comparison(&cmp[1], 7, 0);
    let t = transitions(7, 0);
    assert!(
        t[0].0 > 0 && t[1].0 > 0,
        "the fixture should show movement: {t:?}"
    );
    // --compare N picks the N latest earlier deliveries.
    let dir = tempfile::tempdir().unwrap();
    let (_, _, r) = report(
        &logs(),
        dir.path(),
        &["--compare", "3", "--at", "2026-11-25"],
    );
    let names: Vec<&str> = r["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["delivery"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "2026-11-24T01-00Z",
            "2026-11-23T01-00Z",
            "2026-11-22T01-00Z"
        ]
    );
    check_comparison(&r["comparisons"][2], 5, 2);
}

#[test]
fn history_feeds_the_trend_without_rescanning() {
    let dir = tempfile::tempdir().unwrap();
    for day in ["2026-11-21", "2026-11-23", "2026-11-25"] {
        let (code, err, _) = report(&logs(), dir.path(), &["--at", day, "--compare", "0"]);
        assert_eq!(code, 0, "{err}");
    }
    let (_, _, r) = report(&logs(), dir.path(), &["--compare", "0"]);
    let trend = trend_deliveries(&r);
    assert_eq!(
        trend,
        [
            "2026-11-21T01-00Z",
            "2026-11-23T01-00Z",
            "2026-11-25T01-00Z",
            "2026-11-27T01-00Z"
        ]
    );
    // The stored points carry the numbers a summary of that delivery gives.
    let s = summary(&logs(), &["--at", "2026-11-23"]);
    let p = &r["trend"][1];
    assert_eq!(p["objects"], s["totals"]["objects"]);
    assert_eq!(
        p["unreplicated_bytes"],
        s["totals"]["unreplicated"]["bytes"]
    );
    assert_eq!(p["stuck_pending"], s["pending"]["stuck"]["objects"]);
    assert!(r["comparisons"].as_array().unwrap().is_empty());
}

#[test]
fn alerts_set_the_exit_code_and_metrics_are_prometheus_text() {
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("s3inv.prom");
    let (code, err, r) = report(
        &logs(),
        &dir.path().join("r"),
        &[
            "--fail-on",
            "failed_objects>0",
            "--fail-on",
            "stuck_pending>1000",
            "--metrics",
            prom.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    let failed = assert_failed_objects_alert(&err, &r);
    assert_eq!(r["alerts"][1]["triggered"], false);
    let text = std::fs::read_to_string(&prom).unwrap();
    check_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        text.contains(&format!(
            "\ns3inv_failed_objects{{source_bucket=\"acme-logs\"}} {failed}\n"
        )),
        "{text}"
    );
    assert!(text.contains("# TYPE s3inv_objects gauge"));
    let none = r["totals"]["statuses"]["NONE"]["objects"].as_u64().unwrap();
    assert!(text.contains(&format!(
        "\ns3inv_objects{{source_bucket=\"acme-logs\",status=\"NONE\"}} {none}\n"
    )));
    // The delivery is a value (the same series every night), not a label.
    assert!(!text.contains("delivery=\""), "{text}");
    assert!(
        text.contains(
            "\ns3inv_delivery_timestamp_seconds{source_bucket=\"acme-logs\"} 1795741200\n"
        ),
        "{text}"
    );
    let (code, _, _) = report(
        &logs(),
        &dir.path().join("r2"),
        &["--fail-on", "unreplicated_bytes_pct>99.9", "-q"],
    );
    assert_eq!(code, 0);
    let (code, err, _) = report(
        &logs(),
        &dir.path().join("r3"),
        &["--fail-on", "failures>0"],
    );
    assert_eq!(code, 2);
    assert!(err.contains("unknown metric \"failures\""), "{err}");
}

#[test]
fn earlier_delivery_in_another_format_is_still_compared() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("acme-inventory");
    for (day, format) in [(0, FileFormat::Parquet), (1, FileFormat::Csv)] {
        let spec = DeliverySpec {
            format,
            versions: Versions::All,
            config_id: "daily".into(),
        };
        write_delivery(&root, &logs_options(day), &spec).unwrap();
    }
    let out = dir.path().join("report");
    let (code, err, r) = report(&root.join("acme-logs/daily"), &out, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["delivery"]["format"], "CSV");
    assert_eq!(r["comparisons"][0]["format"], "Parquet");
    check_comparison(&r["comparisons"][0], 1, 0);
}

#[test]
fn bad_input_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    // No delivery yet.
    let empty = dir.path().join("acme-inventory/acme-logs/none");
    std::fs::create_dir_all(empty.join("data")).unwrap();
    let (code, err, _) = report(&empty, &dir.path().join("r"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("no inventory manifest at"), "{err}");
    // An incomplete newest delivery: fall back to the previous complete one and say so.
    let copy = dir.path().join("copy/acme-inventory/acme-logs/csv-all");
    crate::harness::copy_dir(&logs(), &copy);
    std::fs::remove_file(copy.join("2026-11-27T01-00Z/manifest.checksum")).unwrap();
    let (code, err, r) = report(&copy, &dir.path().join("r"), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("skipped incomplete deliveries (no manifest.checksum yet): 2026-11-27T01-00Z; using 2026-11-26T01-00Z"), "{err}");
    assert_eq!(r["delivery"]["name"], "2026-11-26T01-00Z");
    // An unwritable DIR fails before any scan.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let (code, err, _) = report(&logs(), &file.join("report"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("a-file"), "{err}");
    assert!(!err.contains("step=open"), "{err}");
}

#[test]
fn report_over_s3_with_manifests() {
    let server = S3Server::start(&buckets());
    std::fs::create_dir_all(server.root.path().join("acme-ops")).unwrap();
    let (code, _, err) = run(server.s3inv().args([
        "report",
        "s3://acme-inventory/acme-logs/parquet-all/",
        "--out",
        "s3://acme-ops/replication-report",
        "--with-manifests",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 0, "{err}");
    let out = server.root.path().join("acme-ops/replication-report");
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["comparisons"].as_array().unwrap().len(), 2);
    check_comparison(&r["comparisons"][0], 7, 6);
    assert!(out.join("manifests/summary.json").exists());
    assert!(
        out.join("history/acme-logs__parquet-all__2026-11-27T01-00-00Z.json")
            .exists()
    );
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .map(|n| Path::new("/usr/bin").join(n))
        .find(|p| p.exists())
}

#[test]
fn html_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err, _) = report(&logs(), dir.path(), &["--fail-on", "failed_objects>0"]);
    assert_eq!(code, 1, "{err}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page must need no network"
    );
    assert!(html.contains("<svg"));
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("S3INV_REQUIRE_BROWSER").is_none(),
            "S3INV_REQUIRE_BROWSER is set but no Chromium was found (apt-get install chromium)"
        );
        eprintln!(
            "skipping the browser check: no Chromium (apt-get install chromium; .ci/run installs it)"
        );
        return;
    };
    let shot = dir.path().join("report.png");
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("report.html").display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ];
    let status = std::process::Command::new(&browser)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1366,2400")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1366, 2400));
    assert!(
        png.len() > 40_000,
        "a rendered report is not a blank page ({} bytes)",
        png.len()
    );
    // The DOM the browser built holds the headline numbers and the charts.
    let dom = std::process::Command::new(&browser)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("Replication report — acme-logs"), "{dom}");
    assert!(dom.contains("Stuck PENDING") && dom.contains("Largest FAILED objects"));
    assert!(dom.matches("<svg").count() >= 3);
}

/// A strict reader of the Prometheus text exposition format (0.0.4): at most one HELP and
/// one TYPE per family, TYPE before the family's first sample, a family's samples together,
/// valid names, quoted and escaped label values, no duplicate label names or series,
/// numeric values.
fn check_exposition(text: &str) -> Result<(), String> {
    use std::collections::BTreeSet;
    fn name_ok(n: &str, colon: bool) -> bool {
        let mut c = n.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || (colon && f == ':'))
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || (colon && x == ':'))
    }
    let mut helped = BTreeSet::new();
    let mut typed = BTreeSet::new();
    let mut sampled = BTreeSet::new();
    let mut series = BTreeSet::new();
    let mut current: Option<String> = None;
    if !text.ends_with('\n') {
        return Err("the text must end with a newline".into());
    }
    for (no, line) in text.lines().enumerate() {
        let at = |m: String| format!("line {}: {m}: {line:?}", no + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or("");
            if !name_ok(name, true) || !helped.insert(name.to_string()) {
                return Err(at("invalid or second HELP".into()));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| at("TYPE without type".into()))?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(at(format!("unknown type {kind}")));
            }
            if !name_ok(name, true) || !typed.insert(name.to_string()) {
                return Err(at("invalid or second TYPE".into()));
            }
            if sampled.contains(name) {
                return Err(at("TYPE after the family's samples".into()));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
        let name = &line[..name_end];
        if !name_ok(name, true) {
            return Err(at("invalid metric name".into()));
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(body) = rest.strip_prefix('{') {
            let mut i = 0;
            loop {
                if body[i..].starts_with('}') {
                    rest = &body[i + 1..];
                    break;
                }
                let eq = body[i..]
                    .find('=')
                    .ok_or_else(|| at("label without =".into()))?;
                let label = &body[i..i + eq];
                if !name_ok(label, false) {
                    return Err(at(format!("invalid label name {label:?}")));
                }
                i += eq + 1;
                if !body[i..].starts_with('"') {
                    return Err(at("unquoted label value".into()));
                }
                i += 1;
                let mut value = String::new();
                loop {
                    let c = body[i..]
                        .chars()
                        .next()
                        .ok_or_else(|| at("open label value".into()))?;
                    i += c.len_utf8();
                    match c {
                        '"' => break,
                        '\\' => {
                            let e = body[i..]
                                .chars()
                                .next()
                                .ok_or_else(|| at("open escape".into()))?;
                            i += e.len_utf8();
                            value.push(match e {
                                '\\' => '\\',
                                '"' => '"',
                                'n' => '\n',
                                _ => return Err(at(format!("invalid escape \\{e}"))),
                            });
                        }
                        c => value.push(c),
                    }
                }
                labels.push((label.to_string(), value));
                if body[i..].starts_with(',') {
                    i += 1;
                } else if !body[i..].starts_with('}') {
                    return Err(at("expected , or } after a label".into()));
                }
            }
        }
        let names: BTreeSet<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
        if names.len() != labels.len() {
            return Err(at("duplicate label name".into()));
        }
        let mut parts = rest
            .strip_prefix(' ')
            .ok_or_else(|| at("no space before the value".into()))?
            .split(' ');
        let value = parts.next().unwrap_or("");
        if value.parse::<f64>().is_err() && !["NaN", "+Inf", "-Inf"].contains(&value) {
            return Err(at(format!("invalid value {value:?}")));
        }
        if let Some(ts) = parts.next()
            && ts.parse::<i64>().is_err()
        {
            return Err(at("invalid timestamp".into()));
        }
        if parts.next().is_some() {
            return Err(at("trailing text".into()));
        }
        if current.as_deref() != Some(name) {
            if sampled.contains(name) {
                return Err(at(format!("samples of {name} are not together")));
            }
            current = Some(name.to_string());
            sampled.insert(name.to_string());
        }
        let mut key = labels.clone();
        key.sort();
        if !series.insert((name.to_string(), key)) {
            return Err(at("duplicate series".into()));
        }
    }
    Ok(())
}

#[test]
fn the_exposition_checker_is_strict() {
    let good = "# HELP a_b x\n# TYPE a_b gauge\na_b{l=\"v\\\"q\"} 1\na_b{l=\"w\"} 2.5\n# HELP c y\n# TYPE c gauge\nc 3\n";
    check_exposition(good).unwrap();
    for bad in [
        "# HELP a x\n# HELP a x\na 1\n",                       // second HELP
        "# TYPE a gauge\na{s=\"1\"} 1\n# TYPE a gauge\na 2\n", // second TYPE
        "a 1\nb 2\na 3\n",                                     // interleaved family
        "a{l=\"1\"} 1\na{l=\"1\"} 2\n",                        // duplicate series
        "a{l=1} 1\n",                                          // unquoted value
        "a{l=\"1\",l=\"2\"} 1\n",                              // duplicate label
        "a one\n",                                             // not a number
        "a 1\n# TYPE a gauge\n",                               // TYPE after samples
    ] {
        assert!(check_exposition(bad).is_err(), "{bad:?}");
    }
}

const NOV_20: i64 = 1_795_136_400_000; // 2026-11-20T01:00Z
const DAY: i64 = 86_400_000;

#[test]
fn replicated_pct_is_not_applicable_when_nothing_needs_replicating() {
    let dir = tempfile::tempdir().unwrap();
    let empty = csv_delivery(dir.path(), "src", "empty", NOV_20, &[]);
    let replicas = csv_delivery(
        dir.path(),
        "src",
        "replicas",
        NOV_20,
        &[("a.txt", 10, "REPLICA"), ("b.txt", 20, "REPLICA")],
    );
    for (location, objects) in [(empty, 0), (replicas, 2)] {
        let out = dir.path().join("out").join(objects.to_string());
        let prom = out.join("s3inv.prom");
        std::fs::create_dir_all(&out).unwrap();
        let (code, err, r) = report(
            &location,
            &out,
            &[
                "--fail-on",
                "replicated_pct<99",
                "--metrics",
                prom.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(r["totals"]["objects"], objects);
        assert_eq!(r["totals"]["replicated_pct"], Value::Null);
        assert_eq!(r["alerts"][0]["value"], Value::Null);
        assert_eq!(r["alerts"][0]["triggered"], false);
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(md.contains("; n/a of bytes replicated"), "{md}");
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(html.contains(">n/a<"), "{html}");
        let text = std::fs::read_to_string(&prom).unwrap();
        check_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(!text.contains("replicated_pct"), "{text}");
    }
    // With bytes to replicate the number is there and the condition is evaluated.
    let some = csv_delivery(
        dir.path(),
        "src",
        "some",
        NOV_20,
        &[("a.txt", 30, "COMPLETED"), ("b.txt", 10, "FAILED")],
    );
    let (code, err, r) = report(
        &some,
        &dir.path().join("out/some"),
        &["--fail-on", "replicated_pct<99"],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(r["totals"]["replicated_pct"], 75.0);
    assert!(
        err.contains("s3inv: alert: replicated_pct<99 (value 75)"),
        "{err}"
    );
}

#[test]
fn a_report_on_an_earlier_delivery_trends_up_to_it_only() {
    let dir = tempfile::tempdir().unwrap();
    for day in ["2026-11-21", "2026-11-23", "2026-11-25"] {
        let (code, err, _) = report(&logs(), dir.path(), &["--at", day, "--compare", "0"]);
        assert_eq!(code, 0, "{err}");
    }
    let (code, err, r) = report(
        &logs(),
        dir.path(),
        &["--at", "2026-11-23", "--compare", "0"],
    );
    assert_eq!(code, 0, "{err}");
    let trend = trend_deliveries(&r);
    assert_eq!(trend, ["2026-11-21T01-00Z", "2026-11-23T01-00Z"]);
}

#[test]
fn a_manifest_outside_a_dated_folder_keeps_its_history_in_the_report_folder() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [("a.txt", 30, "COMPLETED"), ("b.txt", 10, "FAILED")];
    let mut manifests = Vec::new();
    for day in 0..2 {
        let delivery = csv_delivery(dir.path(), "src", "cfg", NOV_20 + day * DAY, &rows);
        let manual = dir.path().join(format!("inv/manual-{day}"));
        std::fs::create_dir_all(&manual).unwrap();
        for f in ["manifest.json", "manifest.checksum"] {
            std::fs::copy(delivery.join(f), manual.join(f)).unwrap();
        }
        manifests.push(manual.join("manifest.json"));
    }
    let out = dir.path().join("out");
    for m in &manifests {
        let (code, err, _) = report(m, &out, &[]);
        assert_eq!(code, 0, "{err}");
    }
    let mut history: Vec<String> = std::fs::read_dir(out.join("history"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    history.sort();
    assert_eq!(
        history,
        [
            "src__cfg__2026-11-20T01-00-00Z.json",
            "src__cfg__2026-11-21T01-00-00Z.json"
        ]
    );
    // Nothing was written beside the source manifests.
    for m in &manifests {
        assert_eq!(std::fs::read_dir(m.parent().unwrap()).unwrap().count(), 2);
    }
    let (_, _, r) = report(&manifests[1], &out, &[]);
    let trend = trend_deliveries(&r);
    assert_eq!(trend, ["2026-11-20T01-00Z", "2026-11-21T01-00Z"]);
}

#[test]
fn configurations_sharing_a_report_folder_keep_their_own_history() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Two configurations of one bucket, delivered at the same times, different numbers.
    let mut configs = Vec::new();
    for (config, objects) in [("daily", 1usize), ("weekly", 3)] {
        let rows: Vec<(String, u64, &str)> = (0..objects)
            .map(|i| (format!("k{i}"), 10, "FAILED"))
            .collect();
        let rows: Vec<(&str, u64, &str)> =
            rows.iter().map(|(k, s, t)| (k.as_str(), *s, *t)).collect();
        for day in 0..2 {
            csv_delivery(dir.path(), "src", config, NOV_20 + day * DAY, &rows);
        }
        configs.push((dir.path().join("inv/src").join(config), objects as u64));
    }
    for day in ["2026-11-20", "2026-11-21"] {
        for (config, _) in &configs {
            let (code, err, _) = report(config, &out, &["--at", day, "--compare", "0"]);
            assert_eq!(code, 0, "{err}");
        }
    }
    let mut names: Vec<String> = std::fs::read_dir(out.join("history"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "src__daily__2026-11-20T01-00-00Z.json",
            "src__daily__2026-11-21T01-00-00Z.json",
            "src__weekly__2026-11-20T01-00-00Z.json",
            "src__weekly__2026-11-21T01-00-00Z.json",
        ]
    );
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("history").join(&names[2])).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (&record["source_bucket"], &record["configuration"]),
        (&Value::from("src"), &Value::from("weekly"))
    );
    // A record whose content names another configuration than its name is left out.
    std::fs::copy(
        out.join("history").join(&names[2]),
        out.join("history/src__daily__2026-11-19T01-00-00Z.json"),
    )
    .unwrap();
    for (config, objects) in &configs {
        let (code, err, r) = report(config, &out, &["--compare", "0"]);
        assert_eq!(code, 0, "{err}");
        let trend = r["trend"].as_array().unwrap();
        assert_eq!(trend.len(), 2, "{trend:?}");
        assert!(trend.iter().all(|p| p["objects"] == *objects), "{trend:?}");
        let notes: Vec<&str> = r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        // The other configuration's two records and the mismatched copy.
        let expected = 3;
        assert!(
            notes.iter().any(|n| n.contains(&format!(
                "{expected} history record(s) of other inventory configurations"
            ))),
            "{notes:?}"
        );
    }
}

/// The deliveries report.json's trend plots, in order.
fn trend_deliveries(r: &Value) -> Vec<&str> {
    r["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["delivery"].as_str().unwrap())
        .collect()
}

/// The report files' text: (report.md, report.html).
fn md_and_html(out: &Path) -> (String, String) {
    (
        std::fs::read_to_string(out.join("report.md")).unwrap(),
        std::fs::read_to_string(out.join("report.html")).unwrap(),
    )
}

#[test]
fn notes_that_change_the_numbers_reach_the_report_even_with_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("acme-inventory/acme-logs/csv-all");
    crate::harness::copy_dir(&logs(), &copy);
    // The newest delivery is still arriving (no manifest.checksum yet) …
    std::fs::remove_file(copy.join("2026-11-27T01-00Z/manifest.checksum")).unwrap();
    // … the previous one of the reported delivery has a manifest cut short …
    let cut = copy.join("2026-11-25T01-00Z/manifest.json");
    let text = std::fs::read_to_string(&cut).unwrap();
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    // … and the one before it a data file whose bytes no longer match its MD5.
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(copy.join("2026-11-24T01-00Z/manifest.json")).unwrap(),
    )
    .unwrap();
    let key = m["files"][0]["key"].as_str().unwrap();
    let file = copy.join("data").join(Path::new(key).file_name().unwrap());
    let len = std::fs::metadata(&file).unwrap().len() as usize;
    std::fs::write(&file, vec![b'x'; len]).unwrap();

    let out = dir.path().join("r");
    // -q, as in the README's cron line.
    let (code, err, r) = report(&copy, &out, &["-q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["delivery"]["name"], "2026-11-26T01-00Z");
    // "Since the previous delivery" is three days back, and everyone reading is told why.
    assert_eq!(r["comparisons"].as_array().unwrap().len(), 1);
    assert_eq!(r["comparisons"][0]["delivery"], "2026-11-23T01-00Z");
    let notes: Vec<&str> = r["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let skipped = "skipped incomplete deliveries (no manifest.checksum yet): 2026-11-27T01-00Z; using 2026-11-26T01-00Z";
    let unreadable = "earlier delivery 2026-11-25T01-00Z left out of the comparison: unreadable (";
    let corrupt = "earlier delivery 2026-11-24T01-00Z left out of the comparison: ";
    let instead = "; the previous delivery compared is 2026-11-23T01-00Z";
    assert_eq!(notes[0], skipped, "{notes:?}");
    assert!(
        notes[1].starts_with(unreadable) && notes[1].ends_with(instead),
        "{notes:?}"
    );
    assert!(
        notes[2].starts_with(corrupt)
            && notes[2].contains("md5 mismatch")
            && notes[2].contains(key)
            && notes[2].ends_with(instead),
        "{notes:?}"
    );
    let (md, html) = md_and_html(&out);
    for n in &notes[..3] {
        assert!(md.contains(&format!("- Note: {n}")), "{n}\n{md}");
    }
    assert!(
        html.contains(&format!("<p class=\"note\">Note: {skipped}</p>")),
        "{html}"
    );
    assert!(
        html.contains(unreadable) && html.contains(corrupt),
        "{html}"
    );
    // --quiet hides the steps, not what changes the meaning of the numbers.
    assert!(!err.contains("step="), "{err}");
    assert!(err.contains(&format!("s3inv: note: {skipped}\n")), "{err}");
    assert!(err.contains(&format!("s3inv: note: {unreadable}")), "{err}");
    assert!(err.contains(&format!("s3inv: note: {corrupt}")), "{err}");
    // Without -q each note is printed once.
    let (code, err, _) = report(&copy, &dir.path().join("r2"), &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches(skipped).count(), 1, "{err}");
}

#[test]
fn without_a_comparison_the_changes_are_unknown_not_zero() {
    let dir = tempfile::tempdir().unwrap();
    // --compare 0: asked for, so said in the report but not pushed into a quiet run's mail.
    let out = dir.path().join("off");
    let prom = dir.path().join("off.prom");
    let (code, err, r) = report(
        &logs(),
        &out,
        &[
            "--compare",
            "0",
            "--fail-on",
            "left_failed<1",
            "--fail-on",
            "failed_objects>0",
            "--metrics",
            prom.to_str().unwrap(),
        ],
    );
    // failed_objects>0 holds; left_failed<1 is not evaluated (it used to hold with 0).
    assert_eq!(code, 1, "{err}");
    let failed = assert_failed_objects_alert(&err, &r);
    for m in ["newly_failed", "left_failed", "became_stuck"] {
        assert_eq!(r["metrics"][m], Value::Null, "{m}");
    }
    assert_eq!(r["metrics"]["failed_objects"], failed as f64);
    assert_eq!(r["alerts"][0]["value"], Value::Null);
    assert_eq!(r["alerts"][0]["triggered"], false);
    let why = "no comparison: --compare 0 was given; newly_failed, left_failed and became_stuck are unknown";
    let not_evaluated = "--fail-on 'left_failed<1' not evaluated: left_failed is unknown (no comparison: --compare 0 was given), so it does not trigger";
    let notes = r["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n == why), "{notes:?}");
    assert!(notes.iter().any(|n| n == not_evaluated), "{notes:?}");
    assert!(
        err.contains(&format!("s3inv: note: {not_evaluated}\n")),
        "{err}"
    );
    let (md, html) = md_and_html(&out);
    assert!(
        md.contains("newly FAILED unknown, left FAILED unknown, became stuck unknown"),
        "{md}"
    );
    assert!(md.contains(&format!("- Note: {why}")), "{md}");
    assert!(
        html.contains("newly FAILED, left FAILED and became stuck are unknown (n/a)"),
        "{html}"
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    check_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(!text.contains("left_failed"), "{text}");
    let (_, err, _) = report(&logs(), &dir.path().join("q"), &["--compare", "0", "-q"]);
    assert!(!err.contains("note:"), "{err}");

    // The first delivery of a configuration: nothing earlier exists, and the note says so.
    let (code, err, r) = report(
        &logs(),
        &dir.path().join("first"),
        &["--at", "2026-11-20", "--fail-on", "newly_failed>=0", "-q"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(r["comparisons"].as_array().unwrap().is_empty());
    assert_eq!(r["metrics"]["newly_failed"], Value::Null);
    let first = format!(
        "no comparison: no earlier delivery of this configuration in {} (the first delivery); newly_failed, left_failed and became_stuck are unknown",
        std::fs::canonicalize(logs()).unwrap().display()
    );
    let notes = r["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| *n == first), "{notes:?}");
    assert!(err.contains(&format!("s3inv: note: {first}\n")), "{err}");

    // Earlier deliveries exist but none can be read: that is a third reason.
    let copy = dir.path().join("acme-inventory/acme-logs/csv-all");
    crate::harness::copy_dir(&logs(), &copy);
    std::fs::write(copy.join("2026-11-20T01-00Z/manifest.json"), "{").unwrap();
    let (code, err, r) = report(&copy, &dir.path().join("none"), &["--at", "2026-11-21"]);
    assert_eq!(code, 0, "{err}");
    let notes = r["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n
            == "no comparison: none of the 1 earlier deliveries tried could be compared (see the notes on each); newly_failed, left_failed and became_stuck are unknown"),
        "{notes:?}"
    );
}

#[test]
fn report_timestamps_are_rfc3339_and_named_as_in_summary() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err, _) = report(
        &logs(),
        dir.path(),
        &["--at", "2026-11-26", "--compare", "0"],
    );
    assert_eq!(code, 0, "{err}");
    // Earlier s3inv versions stored `created` as epoch milliseconds: still read.
    let history = dir.path().join("history");
    let name = std::fs::read_dir(&history)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut record: Value = serde_json::from_str(&std::fs::read_to_string(&name).unwrap()).unwrap();
    assert_eq!(record["point"]["created"], "2026-11-26T01:00:00.000Z");
    record["point"]["created"] = Value::from(1_795_654_800_000i64);
    std::fs::write(&name, record.to_string()).unwrap();
    let (code, err, r2) = report(&logs(), dir.path(), &["--compare", "0"]);
    assert_eq!(code, 0, "{err}");
    let created: Vec<&Value> = r2["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["created"])
        .collect();
    assert_eq!(
        created,
        ["2026-11-26T01:00:00.000Z", "2026-11-27T01:00:00.000Z"]
    );
    // One name per concept: report.json's stuck PENDING is summary.json's, field for field
    // (acme-data has stuck objects, the oldest last modified at .960 s).
    let data = crate::harness::generated("csv-all");
    let (code, err, r) = report(&data, &dir.path().join("data"), &[]);
    assert_eq!(code, 0, "{err}");
    let s = summary(&data, &[]);
    assert_eq!(r["pending"]["stuck"], s["pending"]["stuck"]);
    assert_eq!(
        r["pending"]["stuck"]["oldest_last_modified"],
        "2025-10-09T07:38:44.960Z"
    );
    assert!(r["pending"].get("oldest_stuck").is_none());
    assert_eq!(r["s3inv_report_version"], 2);
}

#[test]
fn outputs_are_checked_before_the_scan_and_alerts_come_before_writes() {
    let dir = tempfile::tempdir().unwrap();
    // An unwritable --metrics path fails at once, naming it; nothing is read.
    let metrics = dir.path().join("no-such-folder/s3inv.prom");
    let (code, err, _) = report(
        &logs(),
        &dir.path().join("r"),
        &["--metrics", metrics.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    // The folder is named, never the temporary file beside the target.
    let folder = metrics.parent().unwrap().display().to_string();
    assert!(
        err.contains(&format!(
            "s3inv: error: cannot write {}: folder {folder} does not exist (create it first: mkdir -p {folder})",
            metrics.display()
        )),
        "{err}"
    );
    assert!(!err.contains(".s3inv.prom."), "{err}");
    assert!(!err.contains("step=open"), "{err}");
    assert!(!dir.path().join("r").exists());
    // Nothing can be created under /proc: said before the scan too (it was after).
    let (code, err, _) = report(
        &logs(),
        &dir.path().join("r"),
        &["--metrics", "/proc/s3inv-test.prom"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("s3inv: error: cannot write /proc/s3inv-test.prom: it does not exist, and no file can be created in /proc"),
        "{err}"
    );
    assert!(!err.contains("step=open"), "{err}");
    // --out names a regular file: said so ("File exists (os error 17)" before).
    let file = dir.path().join("afile");
    std::fs::write(&file, "x").unwrap();
    let (code, err, _) = report(&logs(), &file, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "s3inv: error: {} is a file, not a folder: name a folder to write into",
            file.display()
        )),
        "{err}"
    );
    // A file where a folder of the path belongs, for a file output.
    let (code, err, _) = report(
        &logs(),
        &dir.path().join("r"),
        &["--metrics", file.join("x.prom").to_str().unwrap()],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "s3inv: error: cannot write {}: {} is a file, not a folder",
            file.join("x.prom").display(),
            file.display()
        )),
        "{err}"
    );
    // A write that fails after the scan (report.json is a folder) still shows the alert.
    let out = dir.path().join("r2");
    std::fs::create_dir_all(out.join("report.json")).unwrap();
    let (code, err, _) = report(&logs(), &out, &["--fail-on", "failed_objects>0"]);
    assert_eq!(code, 2, "{err}");
    let alert = err.find("s3inv: alert: failed_objects>0 (value ");
    let error = err.find("s3inv: error:");
    assert!(alert.is_some() && error.is_some() && alert < error, "{err}");
}

#[test]
fn deliveries_hours_apart_logs_of_the_delivery_rows_and_no_colour_off_a_terminal() {
    // #11 items 5 and 8: two deliveries 12 h apart read "0 days earlier"; the step line
    // logged the rows of every pass (2,000,000 for a 1M-row delivery); RUST_LOG output
    // carried ANSI colour into files; "1 files".
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        ("a", 1, "COMPLETED"),
        ("b", 2, "FAILED"),
        ("c", 3, "PENDING"),
    ];
    csv_delivery(dir.path(), "src", "cfg", NOV_20, &rows[..2]);
    let newest = csv_delivery(dir.path(), "src", "cfg", NOV_20 + DAY / 2, &rows);
    let config = newest.parent().unwrap();
    let out = dir.path().join("out");
    let (code, _, err) = run(s3inv()
        .env("RUST_LOG", "s3inv=info")
        .arg("report")
        .arg(config)
        .arg("--out")
        .arg(&out));
    assert_eq!(code, 0, "{err}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("- Since 2026-11-20T01-00Z (12 hours earlier): FAILED +0,"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<tr><td>2026-11-20T01-00Z</td><td>12 hours</td>"),
        "{html}"
    );
    let analyse = err
        .lines()
        .find(|l| l.starts_with("s3inv: step=analyse "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(analyse.contains(" rows=3 "), "{analyse}");
    let rows_read: u64 = analyse
        .split_whitespace()
        .find_map(|w| w.strip_prefix("rows_read="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        rows_read > 3,
        "the report reads the delivery more than once: {analyse}"
    );
    assert!(err.contains("report step"), "RUST_LOG=info logs: {err}");
    assert!(
        !err.contains('\x1b'),
        "no escape codes off a terminal: {err:?}"
    );
    let (code, text, err) = run(s3inv().arg("summary").arg(config).args(["-f", "table"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        text.starts_with("delivery 2026-11-20T13-00Z (CSV, 1 file, "),
        "{text}"
    );
}

/// #11 item 5: the step line of a Parquet report said `rows=0` (DataFusion reads Parquet
/// itself, and nothing counted its rows or files); every format says the delivery's rows,
/// also when DataFusion splits a large Parquet file into byte ranges (each range's reader
/// counted the whole file: rows=200000 for 100,000).
#[test]
fn every_format_logs_the_delivery_rows() {
    let big = tempfile::tempdir().unwrap();
    let big_parquet = crate::harness::large_delivery(big.path(), 100_000, 1, FileFormat::Parquet);
    let locations = ["csv-all", "orc-all", "parquet-all"]
        .map(crate::harness::generated)
        .into_iter()
        .chain([big_parquet]);
    for location in locations {
        let config = location.display().to_string();
        let expected: u64 = crate::harness::sql_csv(&location, "SELECT count(*) FROM inventory")
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let out = tempfile::tempdir().unwrap();
        let (code, err, _) = report(&location, out.path(), &["--compare", "0"]);
        assert_eq!(code, 0, "{config}: {err}");
        let analyse = err
            .lines()
            .find(|l| l.contains("step=analyse"))
            .unwrap_or_else(|| panic!("{config}: {err}"));
        let field = |name: &str| -> u64 {
            analyse
                .split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .unwrap_or_else(|| panic!("{config}: {analyse}"))
                .parse()
                .unwrap()
        };
        assert_eq!(field("rows="), expected, "{config}: {analyse}");
        // The report reads the delivery more than once.
        assert!(field("rows_read=") > expected, "{config}: {analyse}");
    }
}

#[test]
fn report_dest_adds_the_replicas_and_their_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let source = buckets().join("acme-inventory/acme-data/csv-all");
    let dest = buckets().join("acme-inventory/acme-data-dr/orc-all");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(buckets().join("expected-diff/csv-all.json")).unwrap(),
    )
    .unwrap();
    let missing = expected["categories"]["missing-at-destination"]["objects"]
        .as_u64()
        .unwrap();
    let (code, err, doc) = report(
        &source,
        &out,
        &[
            "--dest",
            dest.to_str().unwrap(),
            "--fail-on",
            "missing_at_destination>0",
            "--fail-on",
            "mismatch_at_destination>1000",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "s3inv: alert: missing_at_destination>0 (value {missing})"
        )),
        "{err}"
    );
    let replicas = &doc["replicas"][0];
    assert_eq!(replicas["destination"], "acme-data-dr");
    let got: BTreeMap<String, u64> = replicas["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["objects"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: BTreeMap<String, u64> = expected["categories"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["objects"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(doc["metrics"]["missing_at_destination"], missing as f64);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("**Replicas at `acme-data-dr`**"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Replicas at acme-data-dr"));
    // Without --dest the replica metrics are unknown: a condition on them does not fire.
    let out2 = dir.path().join("out2");
    let (code, err, doc) = report(&source, &out2, &["--fail-on", "missing_at_destination>0"]);
    assert_eq!(code, 0, "{err}");
    assert!(doc["replicas"].is_null());
    assert!(err.contains("no --dest inventory to compare with"), "{err}");
}
