//! `s3inv summary`: every dimension's numbers equal a plain-Rust computation over the
//! generator's rows, group totals equal the table totals, folding conserves totals, and
//! CSV, ORC and Parquet give identical summaries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use s3inv::generate::{Row, Versions, tags_for};
use serde_json::Value;

use crate::harness::{buckets, bundled_options, generated, run, s3inv};

const DAY: i64 = 86_400_000;

type Expected = BTreeMap<(Vec<String>, String), (u64, u64)>;

fn tags_dir() -> PathBuf {
    buckets().join("acme-inventory-tags")
}

/// `s3inv summary LOCATION ARGS -f json`, parsed.
pub(crate) fn summary_json(location: &Path, args: &[&str]) -> Value {
    let (code, out, err) = run(s3inv()
        .arg("summary")
        .arg(location)
        .args(args)
        .args(["-f", "json"]));
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// (dimension values, status) -> (objects, bytes) from the JSON groups.
fn groups_of(doc: &Value) -> Expected {
    let dims: Vec<String> = doc["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    let mut out = Expected::new();
    for g in doc["groups"].as_array().unwrap() {
        let values: Vec<String> = dims
            .iter()
            .map(|d| g["values"][d].as_str().unwrap().to_string())
            .collect();
        for (status, c) in g["statuses"].as_object().unwrap() {
            out.insert(
                (values.clone(), status.clone()),
                (c["objects"].as_u64().unwrap(), c["bytes"].as_u64().unwrap()),
            );
        }
        let markers = &g["delete_markers"];
        if markers["objects"].as_u64().unwrap() > 0 {
            out.insert(
                (values.clone(), "DELETE_MARKER".into()),
                (
                    markers["objects"].as_u64().unwrap(),
                    markers["bytes"].as_u64().unwrap(),
                ),
            );
        }
    }
    out
}

fn prefix(key: &str, depth: usize) -> String {
    let slashes: Vec<usize> = key.match_indices('/').map(|(i, _)| i).collect();
    match (slashes.get(depth - 1), slashes.last()) {
        (Some(&i), _) => key[..=i].to_string(),
        (None, Some(&last)) => key[..=last].to_string(),
        // Not "/": that is the prefix of keys starting with "/".
        (None, None) => "(root)".to_string(),
    }
}

fn age_label(age_ms: i64, bounds: &[(i64, &str)], last: &str) -> String {
    for (b, label) in bounds {
        if age_ms < *b {
            return label.to_string();
        }
    }
    last.to_string()
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(none)".into())
}

fn tag(row: &Row, key: &str) -> String {
    match tags_for(row) {
        None => "(no tag data)".into(),
        Some(tags) => tags
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("(untagged)".to_string(), |(_, v)| v.to_string()),
    }
}

/// The independent computation: one function per dimension name.
fn dimension(name: &str, row: &Row) -> String {
    let created = bundled_options().created_ms;
    let age = created - row.last_modified_ms;
    match name {
        "prefix1" => prefix(&row.key, 1),
        "prefix2" => prefix(&row.key, 2),
        "prefix3" => prefix(&row.key, 3),
        "age" => age_label(
            age,
            &[
                (DAY, "<1d"),
                (7 * DAY, "1-7d"),
                (30 * DAY, "7-30d"),
                (90 * DAY, "30-90d"),
                (365 * DAY, "90-365d"),
            ],
            "≥365d",
        ),
        "age_custom" => age_label(
            age,
            &[(3_600_000, "<1h"), (DAY, "1h-1d"), (30 * DAY, "1-30d")],
            "≥30d",
        ),
        "storage_class" => opt(&row.storage_class),
        "encryption_status" => opt(&row.encryption_status),
        "object_owner" => opt(&row.object_owner),
        "bucket_key_status" => opt(&row.bucket_key_status),
        "is_multipart_uploaded" => row
            .is_multipart_uploaded
            .map_or("(none)".into(), |b| b.to_string()),
        "intelligent_tiering_access_tier" => opt(&row.intelligent_tiering_access_tier),
        "object_lock_mode" => opt(&row.object_lock_mode),
        "tag:team" => tag(row, "team"),
        "tag:env" => tag(row, "env"),
        other => panic!("no independent computation for {other}"),
    }
}

fn expected(rows: &[Row], dims: &[&str], all_versions: bool) -> Expected {
    let mut out = Expected::new();
    for r in rows.iter().filter(|r| all_versions || r.is_current()) {
        let values = dims.iter().map(|d| dimension(d, r)).collect();
        // Delete markers are counted on their own, whatever their status.
        let status = if r.is_delete_marker {
            "DELETE_MARKER".into()
        } else {
            r.replication_status
                .clone()
                .unwrap_or_else(|| "NONE".into())
        };
        let e = out.entry((values, status)).or_default();
        e.0 += 1;
        e.1 += r.size.unwrap_or(0) as u64;
    }
    out
}

/// The CLI arguments for a dimension name of `dimension`.
fn args_for(dims: &[&str]) -> Vec<String> {
    let mut by = Vec::new();
    let mut extra = Vec::new();
    for d in dims {
        match *d {
            "prefix1" | "prefix2" | "prefix3" => {
                by.push("prefix".to_string());
                extra.extend(["--depth".to_string(), d[6..].to_string()]);
            }
            "age_custom" => {
                by.push("age".into());
                extra.extend(["--age-buckets".into(), "30d,1h,1d".into()]);
            }
            "tag:team" | "tag:env" => {
                by.push(d.to_string());
                let source = if *d == "tag:team" {
                    "metadata-inventory.parquet"
                } else {
                    "tag-table.csv"
                };
                extra.extend([
                    "--tags".into(),
                    tags_dir().join(source).display().to_string(),
                ]);
            }
            other => by.push(other.to_string()),
        }
    }
    let mut args = vec!["--by".to_string(), by.join(",")];
    args.extend(extra);
    args
}

fn check_totals_conserved(doc: &Value) {
    let mut objects = 0;
    let mut bytes = 0;
    for g in doc["groups"].as_array().unwrap() {
        objects += g["objects"].as_u64().unwrap();
        bytes += g["bytes"].as_u64().unwrap();
    }
    assert_eq!(objects, doc["totals"]["objects"].as_u64().unwrap());
    assert_eq!(bytes, doc["totals"]["bytes"].as_u64().unwrap());
    let by_status: u64 = doc["totals"]["statuses"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["objects"].as_u64().unwrap())
        .sum();
    let markers = doc["totals"]["delete_markers"]["objects"].as_u64().unwrap();
    assert_eq!(by_status + markers, objects);
}

const DIMENSIONS: &[&str] = &[
    "prefix1",
    "prefix2",
    "prefix3",
    "age",
    "age_custom",
    "storage_class",
    "encryption_status",
    "object_owner",
    "bucket_key_status",
    "is_multipart_uploaded",
    "intelligent_tiering_access_tier",
    "object_lock_mode",
    "tag:team",
    "tag:env",
];

#[test]
fn every_dimension_matches_an_independent_computation() {
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    let location = generated("csv-all");
    let plain_current = summary_json(&location, &[]);
    let plain_all = summary_json(&location, &["--all-versions"]);
    for dim in DIMENSIONS {
        for all_versions in [false, true] {
            let mut args = args_for(&[dim]);
            if all_versions {
                args.push("--all-versions".into());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let doc = summary_json(&location, &args);
            assert_eq!(
                groups_of(&doc),
                expected(&rows, &[dim], all_versions),
                "--by {dim} all_versions={all_versions}"
            );
            check_totals_conserved(&doc);
            let plain = if all_versions {
                &plain_all
            } else {
                &plain_current
            };
            assert_eq!(
                doc["totals"], plain["totals"],
                "{dim}: totals differ from the plain summary"
            );
        }
    }
}

#[test]
fn combined_dimensions() {
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    let dims = ["prefix2", "age", "tag:team"];
    let args = args_for(&dims);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let doc = summary_json(&generated("parquet-all"), &args);
    assert_eq!(groups_of(&doc), expected(&rows, &dims, false));
    check_totals_conserved(&doc);
}

#[test]
fn totals_match_the_rows_and_delete_markers_count_zero_bytes() {
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    let doc = summary_json(&generated("orc-all"), &["--all-versions"]);
    let markers = rows.iter().filter(|r| r.is_delete_marker).count() as u64;
    assert!(markers > 0);
    assert_eq!(doc["totals"]["objects"], rows.len() as u64);
    assert_eq!(
        doc["totals"]["bytes"],
        rows.iter().filter_map(|r| r.size).sum::<i64>() as u64
    );
    let current = summary_json(&generated("orc-all"), &[]);
    assert_eq!(
        current["totals"]["objects"],
        rows.iter().filter(|r| r.is_current()).count() as u64
    );
    assert_eq!(current["scope"], "current");
    assert_eq!(doc["scope"], "all_versions");
}

#[test]
fn delete_markers_have_their_own_line_and_are_never_unreplicated() {
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    let markers: Vec<&Row> = rows.iter().filter(|r| r.is_delete_marker).collect();
    let unreplicated = rows
        .iter()
        .filter(|r| !r.is_delete_marker)
        .filter(|r| {
            matches!(
                r.replication_status.as_deref(),
                None | Some("PENDING") | Some("FAILED")
            )
        })
        .count() as u64;
    // Some delete markers carry no status: before, they were counted as never replicated.
    assert!(markers.iter().any(|r| r.replication_status.is_none()));
    let location = generated("csv-all");
    let doc = summary_json(&location, &["--all-versions"]);
    let t = &doc["totals"];
    assert_eq!(t["delete_markers"]["objects"], markers.len() as u64);
    assert_eq!(t["delete_markers"]["bytes"], 0);
    assert_eq!(t["unreplicated"]["objects"], unreplicated);
    assert_eq!(t["objects"], rows.len() as u64);
    let by_status: u64 = t["statuses"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["objects"].as_u64().unwrap())
        .sum();
    assert_eq!(by_status + markers.len() as u64, rows.len() as u64);

    // Long form: a DELETE_MARKER row, and the rows add up to every row.
    let (code, out, err) =
        run(s3inv()
            .arg("summary")
            .arg(&location)
            .args(["--all-versions", "-f", "csv"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with(&format!("\nDELETE_MARKER,{},0\n", markers.len())),
        "{out}"
    );
    let sum: u64 = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, rows.len() as u64);
    let (code, out, err) = run(s3inv().arg("summary").arg(&location).args([
        "--all-versions",
        "--by",
        "storage_class",
        "-f",
        "csv",
    ]));
    assert_eq!(code, 0, "{err}");
    let dm: u64 = out
        .lines()
        .filter(|l| l.split(',').nth(1) == Some("DELETE_MARKER"))
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(dm, markers.len() as u64);

    // Table: a row of its own, and "not replicated" without them.
    let (code, out, err) =
        run(s3inv()
            .arg("summary")
            .arg(&location)
            .args(["--all-versions", "-f", "table"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("| delete markers | {:<7} |", markers.len())),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "not replicated (PENDING + FAILED + NONE): {unreplicated} objects"
        )),
        "{out}"
    );
}

#[test]
fn formats_give_identical_summaries() {
    for args in [
        vec!["--by", "prefix", "--depth", "2"],
        vec!["--by", "age,storage_class", "--all-versions"],
        vec![],
    ] {
        let docs: Vec<Value> = ["csv-all", "orc-all", "parquet-all"]
            .iter()
            .map(|c| {
                let mut d = summary_json(&generated(c), &args);
                d["delivery"] = Value::Null;
                d
            })
            .collect();
        assert_eq!(docs[0], docs[1], "{args:?}");
        assert_eq!(docs[0], docs[2], "{args:?}");
    }
    // A current-only delivery answers the default (current) scope the same way.
    let mut all = summary_json(&generated("csv-all"), &["--by", "encryption_status"]);
    let mut current = summary_json(
        &generated("parquet-current"),
        &["--by", "encryption_status"],
    );
    all["delivery"] = Value::Null;
    current["delivery"] = Value::Null;
    assert_eq!(all, current);
}

fn unreplicated_bytes(statuses: &BTreeMap<String, (u64, u64)>) -> u64 {
    ["PENDING", "FAILED", "NONE"]
        .iter()
        .map(|s| statuses.get(*s).map_or(0, |c| c.1))
        .sum()
}

#[test]
fn top_and_min_share_fold_without_changing_totals() {
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    let mut per_prefix: BTreeMap<String, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
    for ((values, status), c) in expected(&rows, &["prefix2"], false) {
        per_prefix
            .entry(values[0].clone())
            .or_default()
            .insert(status, c);
    }
    let mut ranked: Vec<(u64, String)> = per_prefix
        .iter()
        .map(|(p, s)| (unreplicated_bytes(s), p.clone()))
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));

    let plain = summary_json(&generated("csv-all"), &[]);
    let doc = summary_json(
        &generated("csv-all"),
        &["--by", "prefix", "--depth", "2", "--top", "3"],
    );
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 4);
    for (g, (bytes, p)) in groups.iter().take(3).zip(&ranked) {
        assert_eq!(g["values"]["prefix"], p.as_str());
        assert_eq!(g["unreplicated"]["bytes"], *bytes);
    }
    assert_eq!(groups[3]["values"]["prefix"], "(other)");
    assert_eq!(groups[3]["folded_groups"], (ranked.len() - 3) as u64);
    assert_eq!(doc["totals"], plain["totals"]);
    check_totals_conserved(&doc);

    let doc = summary_json(
        &generated("csv-all"),
        &[
            "--by",
            "prefix",
            "--depth",
            "2",
            "--min-share",
            "5%",
            "--rank",
            "objects",
        ],
    );
    let total = doc["totals"]["objects"].as_u64().unwrap() as f64;
    for g in doc["groups"].as_array().unwrap() {
        if g["values"]["prefix"] != "(other)" {
            assert!(g["objects"].as_u64().unwrap() as f64 >= 0.05 * total, "{g}");
        }
    }
    assert_eq!(doc["totals"], plain["totals"]);
    check_totals_conserved(&doc);
}

#[test]
fn stuck_pending_is_split_and_said_in_words() {
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    let created = bundled_options().created_ms;
    for (threshold, ms) in [("24h", DAY), ("30d", 30 * DAY)] {
        let pending: Vec<&Row> = rows
            .iter()
            .filter(|r| r.is_current() && r.replication_status.as_deref() == Some("PENDING"))
            .collect();
        let stuck: Vec<&&Row> = pending
            .iter()
            .filter(|r| created - r.last_modified_ms > ms)
            .collect();
        let doc = summary_json(
            &generated("parquet-all"),
            &["--pending-older-than", threshold],
        );
        let p = &doc["pending"];
        assert_eq!(p["older_than"], threshold);
        assert_eq!(p["stuck"]["objects"], stuck.len() as u64);
        assert_eq!(
            p["stuck"]["bytes"],
            stuck.iter().map(|r| r.size.unwrap() as u64).sum::<u64>()
        );
        assert_eq!(p["recent"]["objects"], (pending.len() - stuck.len()) as u64);
        let oldest = stuck.iter().map(|r| r.last_modified_ms).min().unwrap();
        let oldest = chrono::DateTime::from_timestamp_millis(oldest)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        assert_eq!(p["stuck"]["oldest_last_modified"], oldest.as_str());
    }
    let (code, out, err) = run(s3inv()
        .arg("summary")
        .arg(generated("csv-all"))
        .args(["-f", "table"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("have been pending for more than 24h"), "{out}");
    assert!(
        out.contains("live replication will not finish them by itself"),
        "{out}"
    );
}

#[test]
fn long_form_matches_the_json_groups() {
    let doc = summary_json(
        &generated("csv-all"),
        &["--by", "storage_class,is_multipart_uploaded"],
    );
    let (code, out, err) = run(s3inv().arg("summary").arg(generated("csv-all")).args([
        "--by",
        "storage_class,is_multipart_uploaded",
        "-f",
        "csv",
    ]));
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("storage_class,is_multipart_uploaded,status,objects,bytes")
    );
    let mut from_csv = Expected::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        from_csv.insert(
            (vec![f[0].into(), f[1].into()], f[2].into()),
            (f[3].parse().unwrap(), f[4].parse().unwrap()),
        );
    }
    assert_eq!(from_csv, groups_of(&doc));
    // Without dimensions: one row per status, all five.
    let (_, out, _) = run(s3inv()
        .arg("summary")
        .arg(generated("csv-all"))
        .args(["-f", "csv"]));
    let statuses: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["COMPLETED", "PENDING", "FAILED", "REPLICA", "NONE"]
    );
}

#[test]
fn bad_summary_options_are_one_line_errors() {
    let location = generated("csv-all");
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong.csv");
    std::fs::write(&wrong, "bucket,key,owner\nb,k,me\n").unwrap();
    for (args, message) in [
        (
            vec!["--by", "colour"],
            "unknown --by \"colour\"; use prefix, age, tag:KEY",
        ),
        (
            vec!["--by", "prefix", "--depth", "0"],
            "--depth must be at least 1",
        ),
        (
            vec!["--pending-older-than", "soon"],
            "--pending-older-than: invalid duration \"soon\"",
        ),
        (
            vec!["--by", "age", "--age-buckets", "1h,2x"],
            "invalid duration \"2x\"",
        ),
        (vec!["--by", "tag:team"], "--by tag:KEY needs --tags SOURCE"),
        (
            vec!["--by", "tag:team", "--tags", wrong.to_str().unwrap()],
            "has columns [bucket, key, owner]; expected bucket, key, version_id and either object_tags",
        ),
        (vec!["--min-share", "200%"], "invalid --min-share \"200%\""),
    ] {
        let (code, out, err) = run(s3inv().arg("summary").arg(&location).args(&args));
        assert_eq!(code, 2, "{args:?}: {out} {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(out.is_empty());
    }
}

#[test]
fn summary_reads_tags_through_s3_too() {
    let server = crate::harness::S3Server::start(&buckets());
    let (code, out, err) = run(server.s3inv().args([
        "summary",
        "s3://acme-inventory/acme-data/csv-all",
        "--by",
        "tag:team",
        "--tags",
        "s3://acme-inventory-tags/metadata-inventory.parquet",
        "-f",
        "json",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let local = summary_json(
        &generated("csv-all"),
        &[
            "--by",
            "tag:team",
            "--tags",
            tags_dir()
                .join("metadata-inventory.parquet")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(groups_of(&doc), groups_of(&local));
}

/// Issue 10 item 3: a current-versions-only inventory has no version ids, so each object
/// joins its *current* version in the tag source: by `sequence_number` in the S3 Metadata
/// export, by `is_latest` in the tag table. (Joined on version ids, most objects came out
/// as "(no tag data)".)
#[test]
fn tags_join_current_versions_on_a_current_only_inventory() {
    let rows: Vec<Row> = bundled_options().rows(Versions::All).collect();
    for config in ["csv-current", "parquet-current"] {
        for dim in ["tag:team", "tag:env"] {
            let args = args_for(&[dim]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let doc = summary_json(&generated(config), &args);
            assert_eq!(
                groups_of(&doc),
                expected(&rows, &[dim], false),
                "{config} --by {dim}"
            );
            check_totals_conserved(&doc);
        }
    }
    // A tag table with several versions of a key and nothing to tell the current one.
    let dir = tempfile::tempdir().unwrap();
    let table = std::fs::read_to_string(tags_dir().join("tag-table.csv")).unwrap();
    // is_latest is the one unquoted field, between the quoted version id and tag key.
    let without_is_latest = table
        .replacen(",is_latest,", ",", 1)
        .replace("\",true,\"", "\",\"")
        .replace("\",false,\"", "\",\"");
    let source = dir.path().join("tags.csv");
    std::fs::write(&source, without_is_latest).unwrap();
    let (code, out, err) = run(s3inv()
        .arg("summary")
        .arg(generated("csv-current"))
        .args(["--by", "tag:team", "--tags"])
        .arg(&source));
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("holds several versions of")
            && err.contains("no is_latest, sequence_number or last_modified_date column"),
        "{err}"
    );
}

#[test]
fn grouped_table_shows_unfamiliar_statuses_in_an_other_column() {
    let (_dir, location, rows) = crate::queries::odd_statuses_delivery();
    let new = rows
        .iter()
        .filter(|r| r.is_current())
        .filter(|r| r.replication_status.as_deref() == Some("SOMETHING_NEW"))
        .count();
    assert!(new > 0);
    let (code, out, err) =
        run(s3inv()
            .arg("summary")
            .arg(&location)
            .args(["--by", "storage_class", "-f", "table"]));
    assert_eq!(code, 0, "{err}");
    let cells = |l: &str| -> Vec<String> {
        l.trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut lines = out.lines().filter(|l| l.starts_with('|'));
    let header = cells(lines.next().unwrap());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let statuses = ["COMPLETED", "PENDING", "FAILED", "REPLICA", "NONE", "other"];
    let mut total_row = None;
    for l in lines {
        let c = cells(l);
        let n = |name: &str| c[col(name)].replace(',', "").parse::<usize>().unwrap();
        // The status columns add up to the objects of every row.
        assert_eq!(
            statuses.iter().map(|s| n(s)).sum::<usize>(),
            n("objects"),
            "{l}"
        );
        if c[0] == "TOTAL" {
            total_row = Some(n("other"));
        }
    }
    assert_eq!(total_row, Some(new), "{out}");
    // Legacy COMPLETE is COMPLETED, not an unfamiliar status.
    let doc = summary_json(&location, &[]);
    let statuses: Vec<&String> = doc["totals"]["statuses"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert!(!statuses.iter().any(|s| *s == "COMPLETE"), "{statuses:?}");
}
