//! `s3inv doctor`: every object that is not COMPLETED gets one cause per destination, the
//! totals equal `summary`'s, and each cause shows up in the scenario built for it, in every
//! format.

use std::path::{Path, PathBuf};

use s3inv::generate::{DeliverySpec, GenerateOptions, Row, Versions, write_rows};
use s3inv::manifest::FileFormat;
use serde_json::Value;

use crate::harness::{FORMATS, bundled_options, generated, manifest_lines, run, s3inv};

fn doctor(location: &Path, args: &[&str]) -> (i32, String, String) {
    run(s3inv().arg("doctor").arg(location).args(args))
}

fn doctor_json(location: &Path, args: &[&str]) -> Value {
    let (code, out, err) = doctor(location, &[&["--format", "json"], args].concat());
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `summary`'s objects and bytes per status (NONE, FAILED, …).
fn summary_counts(location: &Path, all_versions: bool) -> Vec<(String, u64, u64)> {
    let mut args = vec!["summary", "--format", "csv"];
    if all_versions {
        args.push("--all-versions");
    }
    let (code, out, err) = run(s3inv().args(&args[..1]).arg(location).args(&args[1..]));
    assert_eq!(code, 0, "{err}");
    out.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .filter(|(s, _, _)| s != "COMPLETED")
        .collect()
}

#[test]
fn without_configuration_every_object_is_attributed_and_totals_equal_summary() {
    for config in ["csv-all", "orc-all", "parquet-current"] {
        for all_versions in [false, true] {
            let location = generated(config);
            let args: &[&str] = if all_versions {
                &["--all-versions"]
            } else {
                &[]
            };
            let doc = doctor_json(&location, args);
            let rows = doc["rows"].as_array().unwrap();
            // Delete markers: summary counts them all; the doctor those not COMPLETED.
            let markers: u64 = crate::harness::sql_csv(
                &location,
                "SELECT count(*) AS n FROM inventory WHERE is_delete_marker \
                 AND coalesce(replication_status, '') NOT IN ('COMPLETED', 'COMPLETE')",
            )
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
            let doctor_markers: u64 = rows
                .iter()
                .filter(|r| r["status"] == "DELETE_MARKER")
                .map(|r| r["objects"].as_u64().unwrap())
                .sum();
            assert_eq!(
                doctor_markers,
                if all_versions { markers } else { 0 },
                "{config}"
            );
            for (status, objects, bytes) in summary_counts(&location, all_versions) {
                if status == "DELETE_MARKER" {
                    continue;
                }
                let of = |field: &str| -> u64 {
                    rows.iter()
                        .filter(|r| r["status"] == status.as_str())
                        .map(|r| r[field].as_u64().unwrap())
                        .sum()
                };
                assert_eq!(
                    (of("objects"), of("bytes")),
                    (objects, bytes),
                    "{config} {status} all_versions={all_versions}"
                );
                assert_eq!(
                    doc["totals"][&status]["objects"], objects,
                    "{config} {status}"
                );
            }
            // One destination, unknown without a configuration.
            assert_eq!(doc["destinations"], serde_json::json!([null]));
            for r in rows {
                assert!(r["destination"].is_null(), "{r}");
                assert!(
                    ["certain", "strong", "likely"].contains(&r["confidence"].as_str().unwrap())
                );
            }
        }
    }
}

#[test]
fn without_configuration_the_inventory_alone_explains_what_it_can() {
    let doc = doctor_json(&generated("csv-all"), &["--examples", "2"]);
    let row = |cause: &str, status: &str| -> Value {
        doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["cause"] == cause && r["status"] == status)
            .cloned()
            .unwrap_or_else(|| panic!("no {cause} {status} in {doc}"))
    };
    // Counted independently with SQL over the same delivery.
    let count = |condition: &str| -> u64 {
        let out = crate::harness::sql_csv(
            &generated("csv-all"),
            &format!(
                "SELECT count(*) AS n FROM inventory WHERE coalesce(is_latest, true) \
                 AND NOT coalesce(is_delete_marker, false) AND {condition}"
            ),
        );
        out.lines().nth(1).unwrap().parse().unwrap()
    };
    let none = "coalesce(replication_status, '') = ''";
    let archived = "storage_class IN ('GLACIER', 'DEEP_ARCHIVE')";
    assert_eq!(
        row("archived-storage-class", "NONE")["objects"],
        count(&format!("{none} AND {archived}"))
    );
    assert_eq!(
        row("pre-existing", "NONE")["objects"],
        count(&format!(
            "{none} AND NOT {archived} AND coalesce(version_id, '') IN ('', 'null')"
        ))
    );
    assert_eq!(row("pre-existing", "NONE")["confidence"], "certain");
    assert_eq!(
        row("replica", "REPLICA")["objects"],
        count("replication_status = 'REPLICA'")
    );
    let stuck = row("pending-stuck", "PENDING");
    assert_eq!(stuck["confidence"], "strong");
    // The same split as summary's stuck PENDING (24h before the delivery).
    let (code, out, _) = run(s3inv()
        .arg("summary")
        .arg(generated("csv-all"))
        .args(["--format", "json"]));
    assert_eq!(code, 0);
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stuck["objects"], summary["pending"]["stuck"]["objects"]);
    assert_eq!(
        stuck["oldest_last_modified"],
        summary["pending"]["stuck"]["oldest_last_modified"]
    );
    // Examples: the first keys in key order, at most --examples.
    let examples = row("failed-unexplained", "FAILED")["examples"].clone();
    assert_eq!(examples.as_array().unwrap().len(), 2, "{examples}");
}

const NOV_20: i64 = 1_795_136_400_000; // 2026-11-20T01:00Z, the delivery
const DAY: i64 = 86_400_000;

fn row(key: &str, version: Option<&str>, status: Option<&str>, days_before: i64) -> Row {
    crate::harness::object_row(
        "acme-data",
        key,
        version,
        status,
        NOV_20 - days_before * DAY,
    )
}

/// A delivery in which each cause has its objects, and the configuration that explains
/// them: two destinations, a rule per situation.
fn scenario_rows() -> Vec<Row> {
    let mut kms = row("logs/kms", Some("v4"), None, 5);
    kms.encryption_status = Some("SSE-KMS".into());
    let mut cold = row("logs/cold", Some("v9"), None, 5);
    cold.storage_class = Some("GLACIER".into());
    let mut recent = row("logs/pend", Some("v10"), Some("PENDING"), 0);
    recent.last_modified_ms = NOV_20 - 3_600_000;
    vec![
        row("logs/ok", Some("v1"), Some("COMPLETED"), 10),
        row("logs/old", Some("v2"), None, 50),
        row("logs/new", Some("v3"), None, 5),
        kms,
        row("logs/null", None, None, 5),
        row("logs/fail", Some("v5"), Some("FAILED"), 8),
        row("data/x", Some("v6"), None, 5),
        row("tmp/y", Some("v7"), None, 5),
        row("tagged/z", Some("v8"), None, 5),
        cold,
        recent,
        row("logs/stuck", Some("v11"), Some("PENDING"), 19),
        row("replica/r", Some("v12"), Some("REPLICA"), 5),
    ]
}

const REPLICATION: &str = r#"{
    "ReplicationConfiguration": {
        "Role": "arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data",
        "Rules": [
            {"ID": "logs", "Priority": 3, "Status": "Enabled", "Filter": {"Prefix": "logs/"},
             "Destination": {"Bucket": "arn:aws:s3:::acme-data-dr"},
             "DeleteMarkerReplication": {"Status": "Disabled"}},
            {"ID": "tmp", "Priority": 5, "Status": "Disabled", "Filter": {"Prefix": "tmp/"},
             "Destination": {"Bucket": "arn:aws:s3:::acme-data-dr"},
             "DeleteMarkerReplication": {"Status": "Disabled"}},
            {"ID": "tagged", "Priority": 2, "Status": "Enabled",
             "Filter": {"And": {"Prefix": "tagged/", "Tags": [{"Key": "replicate", "Value": "yes"}]}},
             "Destination": {"Bucket": "arn:aws:s3:::acme-data-dr"},
             "DeleteMarkerReplication": {"Status": "Disabled"}},
            {"ID": "all-eu", "Priority": 1, "Status": "Enabled", "Filter": {},
             "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
             "Destination": {"Bucket": "arn:aws:s3:::acme-data-eu",
                 "EncryptionConfiguration": {"ReplicaKmsKeyID": "arn:aws:kms:eu-west-1:111122223333:key/eu-key"},
                 "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}},
             "DeleteMarkerReplication": {"Status": "Enabled"}}
        ]
    }
}"#;

fn write_config(dir: &Path) -> PathBuf {
    let config = dir.join("config");
    std::fs::create_dir_all(config.join("dst")).unwrap();
    std::fs::write(config.join("replication.json"), REPLICATION).unwrap();
    std::fs::write(
        config.join("dst/acme-data-dr.versioning.json"),
        r#"{"Status": "Suspended", "MFADelete": "Disabled"}"#,
    )
    .unwrap();
    std::fs::write(
        config.join("dst/acme-data-eu.versioning.json"),
        r#"{"Status": "Enabled"}"#,
    )
    .unwrap();
    std::fs::write(
        config.join("dst/acme-data-eu.object-lock.err"),
        "\nAn error occurred (AccessDenied) when calling the GetObjectLockConfiguration operation: Access Denied\n",
    )
    .unwrap();
    config
}

/// Writes `rows` as the `doctor` configuration's delivery under `dir`; returns its folder.
fn write_delivery_of(dir: &Path, rows: &[Row], format: FileFormat) -> PathBuf {
    let opts = GenerateOptions {
        files: 1,
        ..bundled_options()
    };
    let spec = DeliverySpec {
        format,
        versions: Versions::All,
        config_id: "doctor".into(),
    };
    let root = dir.join("acme-inventory");
    write_rows(&root, &opts, &spec, rows).unwrap();
    root.join("acme-data/doctor")
}

fn scenario(format: FileFormat) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions {
        files: 1,
        ..bundled_options()
    };
    let spec = DeliverySpec {
        format,
        versions: Versions::All,
        config_id: "doctor".into(),
    };
    let root = dir.path().join("acme-inventory");
    write_rows(&root, &opts, &spec, &scenario_rows()).unwrap();
    let config = write_config(dir.path());
    let location = root.join("acme-data/doctor");
    (dir, location, config)
}

/// The ids of the configuration findings, in report order.
fn finding_ids(doc: &Value) -> Vec<&str> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect()
}

/// `cause status rule destination objects confidence` per row, in report order.
fn table(doc: &Value) -> Vec<String> {
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {}",
                r["cause"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["rule"].as_str().unwrap_or("-"),
                r["destination"].as_str().unwrap_or("-"),
                r["objects"],
                r["confidence"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn each_cause_of_the_scenario_is_named_per_destination_in_every_format() {
    let expected = [
        // PENDING: lag or stuck, the same at both destinations.
        "pending-recent PENDING logs acme-data-dr 1 certain",
        "pending-recent PENDING all-eu acme-data-eu 1 certain",
        "pending-stuck PENDING logs acme-data-dr 1 strong",
        "pending-stuck PENDING all-eu acme-data-eu 1 strong",
        // FAILED: dr's versioning is suspended; eu did nothing wrong.
        "dst-versioning-off FAILED logs acme-data-dr 1 certain",
        "other-destination FAILED all-eu acme-data-eu 1 likely",
        "replica REPLICA - acme-data-dr 1 certain",
        "replica REPLICA - acme-data-eu 1 certain",
        // NONE: at eu one rule takes everything (KMS opted in); at dr a rule per situation.
        "never-replicated-unexplained NONE all-eu acme-data-eu 5 likely",
        "pre-existing NONE all-eu acme-data-eu 2 strong",
        "archived-storage-class NONE logs acme-data-dr 1 certain",
        "archived-storage-class NONE all-eu acme-data-eu 1 certain",
        "never-replicated-unexplained NONE logs acme-data-dr 1 likely",
        "outside-rule-filter NONE - acme-data-dr 1 strong",
        // logs/old before the rule's start (inferred: strong), logs/null a null version
        // (certain): one row, the weaker confidence.
        "pre-existing NONE logs acme-data-dr 2 strong",
        "rule-disabled NONE tmp acme-data-dr 1 strong",
        "sse-kms-not-opted-in NONE logs acme-data-dr 1 strong",
        "tag-filter-undecidable NONE tagged acme-data-dr 1 likely",
    ];
    let mut first: Option<Vec<String>> = None;
    for format in FORMATS {
        let (_dir, location, config) = scenario(format);
        let doc = doctor_json(&location, &["--config", config.to_str().unwrap()]);
        let got = table(&doc);
        let mut sorted_got = got.clone();
        sorted_got.sort();
        let mut sorted_expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        sorted_expected.sort();
        assert_eq!(sorted_got, sorted_expected, "{format:?}: {doc:#}");
        // The same rows in the same order from every format.
        match &first {
            None => first = Some(got),
            Some(f) => assert_eq!(&got, f, "{format:?}"),
        }
        // Per destination, the rows add up to the inventory's 12 objects not COMPLETED.
        for dest in ["acme-data-dr", "acme-data-eu"] {
            let sum: u64 = doc["rows"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["destination"] == dest)
                .map(|r| r["objects"].as_u64().unwrap())
                .sum();
            assert_eq!(sum, 12, "{dest}");
        }
        // The evidence names the document and where in it.
        let versioning = doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["cause"] == "dst-versioning-off")
            .unwrap();
        assert_eq!(
            versioning["evidence"][0],
            format!(
                "{}/dst/acme-data-dr.versioning.json: Status Suspended",
                config.display()
            )
        );
        assert_eq!(versioning["examples"][0], "logs/fail (version v5)");
        // The rule's start, inferred from the oldest object it gave a status (logs/stuck).
        assert_eq!(
            doc["rule_starts"][0],
            serde_json::json!({"rule": "logs", "destination": "acme-data-dr",
                "start": "2026-11-01T01:00:00.000Z", "how": "inferred"})
        );
        // Findings that explain no object, and what could not be checked.
        let findings = finding_ids(&doc);
        assert_eq!(findings, ["metrics-off", "metrics-off"], "{doc:#}");
        assert!(
            doc["not_checked"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().starts_with(
                    "cannot check acme-data-eu's Object Lock configuration (AccessDenied in "
                )),
            "{doc:#}"
        );
    }
}

#[test]
fn a_given_rule_start_is_certain_and_formats_for_scripts_agree() {
    let (_dir, location, config) = scenario(FileFormat::Csv);
    let config = config.to_str().unwrap();
    let doc = doctor_json(
        &location,
        &[
            "--config",
            config,
            "--rule-start",
            "logs=2026-11-12T00:00:00Z",
        ],
    );
    // logs/old (50 days before the delivery) is older than the given start, logs/null a
    // null version: both certain now; logs/new and logs/kms (5 days) come after it.
    let pre: Vec<String> = table(&doc)
        .into_iter()
        .filter(|r| r.starts_with("pre-existing NONE logs"))
        .collect();
    assert_eq!(pre, ["pre-existing NONE logs acme-data-dr 2 certain"]);
    let row = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cause"] == "pre-existing" && r["rule"] == "logs")
        .unwrap()
        .clone();
    assert_eq!(
        row["evidence"],
        serde_json::json!([
            "inventory: last modified before the rule's start (given: 2026-11-12T00:00:00.000Z) (1 object)",
            "inventory: null version id (written before versioning, so before replication) (1 object)"
        ]),
        "{row}"
    );
    // ndjson: one object per row with the fields scripts rely on.
    let (code, out, err) = doctor(&location, &["--config", config, "--format", "ndjson"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 18);
    for l in &lines {
        for field in [
            "cause",
            "status",
            "rule",
            "destination",
            "objects",
            "bytes",
            "confidence",
        ] {
            assert!(l.get(field).is_some(), "{field}: {l}");
        }
    }
    // CSV: numbers are numbers, one line per row.
    let (code, out, err) = doctor(&location, &["--config", config, "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 19);
    assert!(out.starts_with("cause,status,rule,destination,objects,bytes,confidence,"));
    // The table for people: the causes, then evidence, examples and the fix.
    let (code, out, err) = doctor(&location, &["--config", config, "--format", "table"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\ndst-versioning-off: versioning is not enabled on the destination bucket\n  evidence: "),
        "{out}"
    );
    assert!(
        out.contains("  fix: aws s3api put-bucket-versioning --bucket DEST"),
        "{out}"
    );
    assert!(
        out.contains("configuration findings:\n  - rule logs has replication metrics off"),
        "{out}"
    );
}

#[test]
fn an_absent_configuration_and_a_malformed_one() {
    let (dir, location, _) = scenario(FileFormat::Parquet);
    let absent = dir.path().join("absent");
    std::fs::create_dir_all(&absent).unwrap();
    std::fs::write(
        absent.join("replication.err"),
        "An error occurred (ReplicationConfigurationNotFoundError) when calling the GetBucketReplication operation: The replication configuration was not found\n",
    )
    .unwrap();
    let doc = doctor_json(&location, &["--config", absent.to_str().unwrap()]);
    let none: Vec<String> = table(&doc)
        .into_iter()
        .filter(|r| r.contains(" NONE "))
        .collect();
    // Without a configuration nothing replicates: every NONE object has that one cause.
    assert_eq!(
        none,
        ["no-configuration NONE - - 8 certain"]
            .map(String::from)
            .to_vec(),
        "{doc:#}"
    );
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("replication.json"),
        "{\n  \"Rules\": [\n    {\"ID\": }\n",
    )
    .unwrap();
    let (code, out, err) = doctor(&location, &["--config", bad.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
    assert!(
        err.starts_with(&format!(
            "s3inv: error: {}/replication.json: not valid JSON at line 3, column",
            bad.display()
        )),
        "{err}"
    );
    // A shape error names the JSON path.
    std::fs::write(
        bad.join("replication.json"),
        r#"{"ReplicationConfiguration": {"Rules": [{"ID": "x", "Status": "Enabled"}]}}"#,
    )
    .unwrap();
    let (code, _, err) = doctor(&location, &["--config", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err,
        format!(
            "s3inv: error: {}/replication.json: Rules[0].Destination: missing\n",
            bad.display()
        )
    );
}

/// An S3 replication failure event (doctor.md §c.2) for `key` (form-encoded as S3 writes
/// it) at destination `dest`.
fn failure_event(key: &str, version: &str, dest: &str, reason: &str) -> Value {
    serde_json::json!({"Records": [{
        "eventVersion": "2.2", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-19T21:04:32.527Z",
        "eventName": "Replication:OperationFailedReplication",
        "userIdentity": {"principalId": "s3.amazonaws.com"},
        "requestParameters": {"sourceIPAddress": "s3.amazonaws.com"},
        "responseElements": {"x-amz-request-id": format!("req-{key}"), "x-amz-id-2": "x"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "ReplicationEventName",
            "bucket": {"name": "acme-data", "ownerIdentity": {"principalId": "111122223333"},
                "arn": "arn:aws:s3:::acme-data"},
            "object": {"key": key, "size": 1000, "eTag": "e", "versionId": version,
                "sequencer": "0066DA1CBF104C0D51"}},
        "replicationEventData": {"replicationRuleId": "logs",
            "destinationBucket": format!("arn:aws:s3:::{dest}"), "s3Operation": "OBJECT_PUT",
            "requestTime": "2026-11-19T21:03:59.168Z", "failureReason": reason}
    }]})
}

#[test]
fn reported_reasons_from_events_in_envelopes_and_completion_reports_come_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = scenario_rows();
    rows.push(row("logs/spaced name+plus", Some("v13"), Some("FAILED"), 7));
    let location = write_delivery_of(dir.path(), &rows, FileFormat::Orc);
    let config = write_config(dir.path());
    // An SQS dump of SNS notifications (each a JSON string inside a JSON string).
    let sns = |event: &Value| {
        serde_json::json!({"Type": "Notification", "MessageId": "m",
            "TopicArn": "arn:aws:sns:us-east-1:111122223333:replication",
            "Message": event.to_string(), "Timestamp": "2026-11-19T21:04:33.000Z"})
    };
    let events = dir.path().join("events");
    std::fs::create_dir_all(events.join("sqs")).unwrap();
    let dump = serde_json::json!({"Messages": [
        {"MessageId": "1", "Body": sns(&failure_event("logs/spaced+name%2Bplus", "v13", "acme-data-dr", "DstPutObjectNotPermitted")).to_string()},
        {"MessageId": "2", "Body": sns(&failure_event("logs/spaced+name%2Bplus", "v13", "acme-data-eu", "DstKmsKeyNotFound")).to_string()},
    ]});
    std::fs::write(events.join("sqs/dump.json"), dump.to_string()).unwrap();
    // Firehose: bare records concatenated with no separator; an unknown code passes through.
    let firehose = format!(
        "{}{}",
        failure_event("logs/fail", "v5", "acme-data-eu", "SomethingNew"),
        failure_event(
            "logs/other-bucket",
            "v1",
            "acme-data-eu",
            "DstBucketNotFound"
        )
        .to_string()
        .replace("\"name\":\"acme-data\"", "\"name\":\"someone-else\"")
    );
    std::fs::write(events.join("firehose-1"), firehose).unwrap();
    // A completion report's result CSV (CRLF, like S3 writes it).
    let report = dir.path().join("result.csv");
    std::fs::write(
        &report,
        "acme-data,tmp/y,v7,failed,500,SrcObjectNotEligible,Object is not eligible for replication\r\n",
    )
    .unwrap();
    let doc = doctor_json(
        &location,
        &[
            "--config",
            config.to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
            "--reports",
            report.to_str().unwrap(),
        ],
    );
    let got: Vec<String> = table(&doc)
        .into_iter()
        .filter(|r| {
            r.starts_with("reported:") || r.contains(" FAILED ") || r.starts_with("rule-disabled")
        })
        .collect();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(
        got_sorted,
        [
            // logs/fail: dr's suspended versioning; eu: an event with a code s3inv does
            // not know, passed through.
            "dst-versioning-off FAILED logs acme-data-dr 1 certain",
            "reported:DstKmsKeyNotFound FAILED all-eu acme-data-eu 1 certain",
            // The decoded key matched, per destination.
            "reported:DstPutObjectNotPermitted FAILED logs acme-data-dr 1 certain",
            "reported:SomethingNew FAILED all-eu acme-data-eu 1 certain",
            // The completion report names no destination: both.
            "reported:SrcObjectNotEligible NONE all-eu acme-data-eu 1 certain",
            "reported:SrcObjectNotEligible NONE tmp acme-data-dr 1 certain",
        ]
        .map(String::from)
        .to_vec(),
        "{doc:#}"
    );
    let unknown = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cause"] == "reported:SomethingNew")
        .unwrap();
    assert_eq!(
        unknown["title"],
        "S3 reported failure reason SomethingNew, which s3inv does not know"
    );
    assert_eq!(
        unknown["evidence"][0],
        "replication events: failureReason SomethingNew"
    );
    let kms = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cause"] == "reported:DstPutObjectNotPermitted")
        .unwrap();
    assert_eq!(kms["examples"][0], "logs/spaced name+plus (version v13)");
    // The event of another bucket is left out, and said so.
    let (code, _, err) = doctor(
        &location,
        &["--events", events.to_str().unwrap(), "--format", "csv"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: 1 event or task of other buckets than acme-data left out"),
        "{err}"
    );
    // Malformed events name the file.
    std::fs::write(events.join("broken.json"), "{\"Records\": [").unwrap();
    let (code, _, err) = doctor(&location, &["--events", events.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("broken.json"), "{err}");
}

#[test]
fn fail_on_exits_1_for_the_causes_named_and_refuses_unknown_ids() {
    let (_dir, location, config) = scenario(FileFormat::Csv);
    let config = config.to_str().unwrap();
    let (code, out, err) = doctor(
        &location,
        &[
            "--config",
            config,
            "--fail-on",
            "dst-versioning-off,rule-disabled",
            "-f",
            "csv",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        out.starts_with("cause,"),
        "the output is written before the exit code"
    );
    assert_eq!(
        err,
        "s3inv: alert: dst-versioning-off (1 object), rule-disabled (1 object)\n"
    );
    // pre-existing at both destinations: two objects, not four.
    let (code, _, err) = doctor(
        &location,
        &["--config", config, "--fail-on", "pre-existing", "-f", "csv"],
    );
    assert_eq!(
        (code, err.as_str()),
        (1, "s3inv: alert: pre-existing (2 objects)\n")
    );
    // Nothing of that cause: exit 0.
    let (code, _, err) = doctor(
        &location,
        &[
            "--config",
            config,
            "--fail-on",
            "foreign-owner",
            "-f",
            "csv",
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    // `any` leaves out what S3 is meant to be doing (recent PENDING, replicas).
    let (code, _, err) = doctor(
        &location,
        &["--config", config, "--fail-on", "any", "-f", "csv"],
    );
    assert_eq!(code, 1);
    assert!(
        !err.contains("pending-recent") && !err.contains("replica ("),
        "{err}"
    );
    assert!(err.contains("pending-stuck (1 object)"), "{err}");
    let (code, _, err) = doctor(&location, &["--fail-on", "pre-existin"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("s3inv: error: --fail-on \"pre-existin\": not a cause id; use any, reported, reported:<FailureReason> or one of no-configuration, pre-existing,"),
        "{err}"
    );
}

#[test]
fn contrast_analysis_names_what_sets_failed_objects_apart() {
    // No events, no configuration: 10 SSE-KMS objects FAILED, 20 SSE-S3 ones replicated,
    // and one SSE-S3 object FAILED (under 5 %: it stays unexplained).
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for i in 0..10 {
        let mut r = row(
            &format!("kms/{i}"),
            Some(&format!("k{i}")),
            Some("FAILED"),
            3,
        );
        r.encryption_status = Some("SSE-KMS".into());
        rows.push(r);
    }
    for i in 0..20 {
        rows.push(row(
            &format!("s3/{i:02}"),
            Some(&format!("s{i}")),
            Some("COMPLETED"),
            3,
        ));
    }
    rows.push(row("s3/odd", Some("odd"), Some("FAILED"), 3));
    for format in FORMATS {
        let opts = GenerateOptions {
            files: 1,
            ..bundled_options()
        };
        let spec = DeliverySpec {
            format,
            versions: Versions::All,
            config_id: format!("contrast-{format:?}"),
        };
        let root = dir.path().join("acme-inventory");
        write_rows(&root, &opts, &spec, &rows).unwrap();
        let doc = doctor_json(&root.join("acme-data").join(&spec.config_id), &[]);
        assert_eq!(
            table(&doc),
            [
                "kms-permissions FAILED - - 10 likely",
                "failed-unexplained FAILED - - 1 likely"
            ],
            "{format:?}"
        );
        assert_eq!(
            doc["rows"][0]["evidence"][0],
            "inventory: in this rule and destination, FAILED 10 of 10 objects with encryption_status SSE-KMS, 1 of 21 of the others (contrast analysis)"
        );
    }
}

#[test]
fn a_permission_the_role_lacks_explains_failed_objects_and_unused_gaps_are_findings() {
    let (_dir, location, config) = scenario(FileFormat::Parquet);
    let role = "arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data";
    std::fs::create_dir_all(config.join("iam/inline")).unwrap();
    std::fs::write(
        config.join("iam/role.json"),
        serde_json::json!({"Role": {"Path": "/service-role/", "RoleName": "s3crr_role_for_acme-data",
            "Arn": role, "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                 "Action": "sts:AssumeRole"}]}}})
        .to_string(),
    )
    .unwrap();
    // doctor.md §b.7's policy, granting the dr bucket only: nothing on acme-data-eu.
    std::fs::write(
        config.join("iam/inline/replication.json"),
        serde_json::json!({"RoleName": "s3crr_role_for_acme-data", "PolicyName": "replication",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                 "Resource": "arn:aws:s3:::acme-data"},
                {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
                 "Resource": "arn:aws:s3:::acme-data/*"},
                {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete",
                    "s3:ReplicateTags"],
                 "Resource": "arn:aws:s3:::acme-data-dr/*"}]}})
        .to_string(),
    )
    .unwrap();
    let doc = doctor_json(&location, &["--config", config.to_str().unwrap()]);
    let failed: Vec<String> = table(&doc)
        .into_iter()
        .filter(|r| r.contains(" FAILED "))
        .collect();
    assert_eq!(
        failed,
        [
            "dst-versioning-off FAILED logs acme-data-dr 1 certain",
            "role-missing-permission FAILED all-eu acme-data-eu 1 certain"
        ],
        "{doc:#}"
    );
    let row = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cause"] == "role-missing-permission")
        .unwrap();
    let evidence = row["evidence"][0].as_str().unwrap();
    assert!(
        evidence.contains("(s3:ReplicateObject on arn:aws:s3:::acme-data-eu/*: not-allowed)"),
        "{evidence}"
    );
    // The replica key of the eu rule is not granted either, but no KMS object FAILED: a
    // finding, not a cause.
    let findings: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["id"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        findings.iter().any(|f| f.starts_with(
            "role-missing-permission kms:Encrypt on arn:aws:kms:eu-west-1:111122223333:key/eu-key is not-allowed"
        )),
        "{findings:#?}"
    );
}

#[test]
fn the_report_gains_a_why_section_with_the_doctors_rows() {
    let (dir, location, config) = scenario(FileFormat::Csv);
    let config = config.to_str().unwrap();
    let doc = doctor_json(&location, &["--config", config]);
    let out = dir.path().join("report");
    let (code, _, err) = run(s3inv()
        .arg("report")
        .arg(&location)
        .arg("--out")
        .arg(&out)
        .args(["--config", config, "-q"]));
    assert_eq!(code, 0, "{err}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["why"]["rows"], doc["rows"]);
    assert_eq!(report["why"]["totals"], doc["totals"]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains(
            "| `dst-versioning-off` | FAILED | logs | acme-data-dr | 1 | 1000 B | certain |"
        ),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<h2>Why (s3inv doctor)</h2>"), "{html}");
    assert!(html.contains("\">dst-versioning-off</td>"), "{html}");
    // Without evidence: no section, `why` is null.
    let plain = dir.path().join("plain");
    let (code, _, err) = run(s3inv()
        .arg("report")
        .arg(&location)
        .arg("--out")
        .arg(&plain)
        .arg("-q"));
    assert_eq!(code, 0, "{err}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(plain.join("report.json")).unwrap()).unwrap();
    assert!(report["why"].is_null());
    assert!(
        !std::fs::read_to_string(plain.join("report.html"))
            .unwrap()
            .contains("Why (s3inv doctor)")
    );
}

#[test]
fn objects_another_account_owns_are_named_when_the_bucket_does_not_enforce_ownership() {
    let dir = tempfile::tempdir().unwrap();
    let me = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";
    let other = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let mut rows = scenario_rows();
    let mut foreign = row("logs/foreign", Some("vf"), None, 5);
    foreign.object_owner = Some(other.into());
    let mut mine = row("logs/mine", Some("vm"), None, 5);
    mine.object_owner = Some(me.into());
    rows.extend([foreign, mine]);
    let location = write_delivery_of(dir.path(), &rows, FileFormat::Parquet);
    let config = write_config(dir.path());
    std::fs::write(
        config.join("src.acl.json"),
        serde_json::json!({"Owner": {"DisplayName": "acme", "ID": me}, "Grants": []}).to_string(),
    )
    .unwrap();
    let doc = doctor_json(&location, &["--config", config.to_str().unwrap()]);
    let foreign: Vec<String> = table(&doc)
        .into_iter()
        .filter(|r| r.starts_with("foreign-owner"))
        .collect();
    assert_eq!(
        foreign,
        [
            "foreign-owner NONE logs acme-data-dr 1 strong",
            "foreign-owner NONE all-eu acme-data-eu 1 strong"
        ],
        "{doc:#}"
    );
    // BucketOwnerEnforced owns every object: no such cause.
    std::fs::write(
        config.join("src.ownership.json"),
        r#"{"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}}"#,
    )
    .unwrap();
    let doc = doctor_json(&location, &["--config", config.to_str().unwrap()]);
    assert!(
        !table(&doc).iter().any(|r| r.starts_with("foreign-owner")),
        "{doc:#}"
    );
}

#[test]
fn emitted_manifests_hold_each_actionable_cause_once_and_reruns_replace_them() {
    let (dir, location, config) = scenario(FileFormat::Csv);
    let out = dir.path().join("redrive");
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--emit-manifests",
        out.to_str().unwrap(),
        "--role-arn",
        "arn:aws:iam::111122223333:role/batch-ops",
        "--manifest-url",
        "s3://acme-ops/redrive",
    ];
    let doc = doctor_json(&location, &args);
    // One folder per cause whose fix ends in a re-drive; none for replica, lag, the other
    // destination's status or tags s3inv cannot see.
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("causes.json")).unwrap()).unwrap();
    assert_eq!(
        index["outputs"],
        serde_json::json!([
            "archived-storage-class",
            "dst-versioning-off",
            "never-replicated-unexplained",
            "outside-rule-filter",
            "pending-stuck",
            "pre-existing",
            "rule-disabled",
            "sse-kms-not-opted-in"
        ]),
        "{index:#}"
    );
    let lines = |cause: &str| manifest_lines(&out.join(cause));
    assert_eq!(lines("dst-versioning-off"), ["acme-data,logs/fail,v5"]);
    // Stuck at both destinations: once.
    assert_eq!(lines("pending-stuck"), ["acme-data,logs/stuck,v11"]);
    // A null version is `null`; the same objects at both destinations, once.
    assert_eq!(
        lines("pre-existing"),
        ["acme-data,logs/null,null", "acme-data,logs/old,v2"]
    );
    // The union over the destinations: five at acme-data-eu, logs/new at both.
    assert_eq!(
        lines("never-replicated-unexplained"),
        [
            "acme-data,data/x,v6",
            "acme-data,logs/kms,v4",
            "acme-data,logs/new,v3",
            "acme-data,tagged/z,v8",
            "acme-data,tmp/y,v7"
        ]
    );
    assert_eq!(lines("archived-storage-class"), ["acme-data,logs/cold,v9"]);
    // Replication jobs, and a restore job for the archived object.
    let job = |cause: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(out.join(cause).join("job-00001.json")).unwrap(),
        )
        .unwrap()
    };
    let versioning = job("dst-versioning-off");
    assert_eq!(
        versioning["Operation"],
        serde_json::json!({"S3ReplicateObject": {}})
    );
    assert_eq!(
        versioning["Manifest"]["Location"]["ObjectArn"],
        "arn:aws:s3:::acme-ops/redrive/dst-versioning-off/manifest-00001.csv"
    );
    assert!(
        versioning["Description"]
            .as_str()
            .unwrap()
            .contains("cause dst-versioning-off"),
        "{versioning:#}"
    );
    assert_eq!(
        job("archived-storage-class")["Operation"],
        serde_json::json!({"S3InitiateRestoreObject": {"ExpirationInDays": 7, "GlacierJobTier": "BULK"}})
    );
    // Each row names its cause's manifests; causes without get none.
    for r in doc["rows"].as_array().unwrap() {
        let expected = index["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| *o == r["cause"]);
        assert_eq!(r.get("manifest").is_some(), expected, "{r:#}");
    }
    // A cause folder holding manifests s3inv wrote by other means (no causes.json lists
    // it): refused before anything is written.
    let other = dir.path().join("other");
    std::fs::create_dir_all(other.join("pre-existing")).unwrap();
    std::fs::write(other.join("pre-existing/manifest-00009.csv"), "b,k,v\n").unwrap();
    let (code, _, err) = doctor(
        &location,
        &[
            "--config",
            config.to_str().unwrap(),
            "--emit-manifests",
            other.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("pre-existing already holds manifests"),
        "{err}"
    );
    let mut left: Vec<String> = std::fs::read_dir(&other)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["pre-existing"]);
    // The same folder again: refused before any scan, the manifests untouched.
    let (code, _, err) = doctor(&location, &args);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pass --force"), "{err}");
    assert_eq!(lines("dst-versioning-off"), ["acme-data,logs/fail,v5"]);
    // --force without the configuration: other causes; the earlier run's folders go.
    let (code, out_text, err) = doctor(
        &location,
        &[
            "--emit-manifests",
            out.to_str().unwrap(),
            "--force",
            "--format",
            "table",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out_text.contains("re-drive manifests:"), "{out_text}");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("causes.json")).unwrap()).unwrap();
    let outputs: Vec<&str> = index["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!outputs.contains(&"dst-versioning-off"), "{index:#}");
    assert!(!out.join("dst-versioning-off").exists());
    for folder in &outputs {
        assert!(out.join(folder).join("summary.json").exists(), "{folder}");
    }
    // Every object not COMPLETED but the replica and the recent PENDING one is in one of
    // them, once (no configuration: one cause per object).
    let mut all: Vec<String> = outputs.iter().flat_map(|f| lines(f)).collect();
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(all.len(), before);
    assert_eq!(all.len(), 10, "{all:?}\n{index:#}");
}

/// The inventory's ObjectAccessControlList of an object its owner holds, and, when
/// `public`, that everyone may read.
fn acl(public: bool) -> String {
    use base64::Engine;
    let mut grants = vec![
        serde_json::json!({"canonicalId": "a".repeat(64), "type": "CanonicalUser", "permission": "FULL_CONTROL"}),
    ];
    if public {
        grants.push(serde_json::json!({"uri": "http://acs.amazonaws.com/groups/global/AllUsers", "type": "Group", "permission": "READ"}));
    }
    let doc = serde_json::json!({"version": "2022-11-10", "status": "AVAILABLE", "grants": grants});
    base64::engine::general_purpose::STANDARD.encode(doc.to_string())
}

#[test]
fn public_acls_blocked_at_a_destination_requester_pays_and_unlisted_role_policies() {
    let dir = tempfile::tempdir().unwrap();
    let mut public = row("logs/public", Some("v1"), Some("FAILED"), 5);
    public.object_access_control_list = Some(acl(true));
    let mut private = row("logs/private", Some("v2"), Some("FAILED"), 5);
    private.object_access_control_list = Some(acl(false));
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("dst")).unwrap();
    std::fs::create_dir_all(config.join("iam")).unwrap();
    let files = [
        (
            "replication.json",
            r#"{"ReplicationConfiguration": {"Role": "arn:aws:iam::111122223333:role/repl", "Rules": [
                {"ID": "logs", "Priority": 2, "Status": "Enabled", "Filter": {"Prefix": "logs/"},
                 "Destination": {"Bucket": "arn:aws:s3:::acme-data-dr", "Metrics": {"Status": "Enabled"}},
                 "DeleteMarkerReplication": {"Status": "Disabled"}},
                {"ID": "all-eu", "Priority": 1, "Status": "Enabled", "Filter": {},
                 "Destination": {"Bucket": "arn:aws:s3:::acme-data-eu", "Account": "444455556666",
                     "AccessControlTranslation": {"Owner": "Destination"}, "Metrics": {"Status": "Enabled"}},
                 "DeleteMarkerReplication": {"Status": "Disabled"}}]}}"#,
        ),
        (
            "dst/acme-data-dr.versioning.json",
            r#"{"Status": "Enabled"}"#,
        ),
        (
            "dst/acme-data-eu.versioning.json",
            r#"{"Status": "Enabled"}"#,
        ),
        (
            "dst/acme-data-dr.public-access-block.json",
            r#"{"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}}"#,
        ),
        (
            "dst/acme-data-eu.public-access-block.json",
            r#"{"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}}"#,
        ),
        (
            "dst/acme-data-eu.request-payment.json",
            r#"{"Payer": "Requester"}"#,
        ),
        (
            "iam/inline.err",
            "\nAn error occurred (AccessDenied) when calling the ListRolePolicies operation: not authorized\n",
        ),
        (
            "src.encryption.err",
            "\nAn error occurred (AccessDenied) when calling the GetBucketEncryption operation: Access Denied\n",
        ),
        // The role was read, its policies could not be listed: what is there is not all.
        (
            "iam/role.json",
            r#"{"Role": {"RoleName": "repl", "Arn": "arn:aws:iam::111122223333:role/repl",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}}"#,
        ),
    ];
    for (name, text) in files {
        std::fs::write(config.join(name), text).unwrap();
    }
    let location = write_delivery_of(dir.path(), &[public, private], FileFormat::Parquet);
    let doc = doctor_json(&location, &["--config", config.to_str().unwrap()]);
    let mut got = table(&doc);
    got.sort();
    // The public object fails at the destination that blocks public ACLs; the owner
    // override at acme-data-eu makes the replica's ACL private there.
    assert_eq!(
        got,
        [
            "failed-unexplained FAILED all-eu acme-data-eu 1 likely",
            "failed-unexplained FAILED logs acme-data-dr 1 likely",
            "other-destination FAILED all-eu acme-data-eu 1 likely",
            "public-acl-blocked FAILED logs acme-data-dr 1 strong",
        ],
        "{doc:#}"
    );
    let blocked = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cause"] == "public-acl-blocked")
        .unwrap();
    assert_eq!(blocked["examples"][0], "logs/public (version v1)");
    assert_eq!(
        blocked["evidence"][0],
        format!(
            "{}/dst/acme-data-dr.public-access-block.json: BlockPublicAcls true; inventory: ObjectAccessControlList grants AllUsers or AuthenticatedUsers",
            config.display()
        )
    );
    // Requester Pays is a finding; the public-ACL block that objects show is not repeated
    // as one.
    let findings = finding_ids(&doc);
    assert_eq!(findings, ["dst-requester-pays"], "{doc:#}");
    // The role's policies could not be listed: no permission is claimed missing.
    assert!(
        doc["not_checked"].as_array().unwrap().iter().any(|n| n
            == "cannot check the role's permissions (its inline policies could not be listed) (AccessDenied in iam/inline.err)"),
        "{doc:#}"
    );
    assert!(!got.iter().any(|r| r.starts_with("role-")), "{got:?}");
    // Every document the decisions consult and could not read is named, and those not
    // collected, per bucket.
    let not_checked: Vec<&str> = doc["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        not_checked.contains(
            &"cannot check acme-data's default encryption (AccessDenied in src.encryption.err)"
        ),
        "{not_checked:#?}"
    );
    assert!(
        not_checked.contains(&"acme-data-dr: Object Lock configuration, default encryption, Object Ownership, bucket policy, request payment, Region not checked (no file)"),
        "{not_checked:#?}"
    );

    // Without the public grant in any object, the block is a finding.
    let mut quiet = row("logs/private", Some("v2"), Some("FAILED"), 5);
    quiet.object_access_control_list = Some(acl(false));
    let other = tempfile::tempdir().unwrap();
    let location = write_delivery_of(other.path(), &[quiet], FileFormat::Csv);
    let doc = doctor_json(&location, &["--config", config.to_str().unwrap()]);
    let findings = finding_ids(&doc);
    assert_eq!(
        findings,
        ["public-acl-blocked", "dst-requester-pays"],
        "{doc:#}"
    );
}

#[test]
fn fields_the_inventory_lacks_name_the_causes_they_leave_undecided() {
    let dir = tempfile::tempdir().unwrap();
    let delivery = crate::harness::csv_delivery(
        dir.path(),
        "acme-data",
        "lean",
        NOV_20,
        &[("a", 10, "FAILED"), ("b", 20, ""), ("c", 30, "PENDING")],
    );
    let doc = doctor_json(&delivery, &[]);
    let not_checked: Vec<&str> = doc["not_checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for field in [
        "StorageClass",
        "IntelligentTieringAccessTier",
        "LastModifiedDate",
    ] {
        assert!(
            not_checked
                .iter()
                .any(|n| n.contains(&format!("the inventory has no {field} field"))),
            "{field}: {not_checked:#?}"
        );
    }
    // Without a configuration, the encryption-dependent causes are not in question.
    assert!(
        !not_checked.iter().any(|n| n.contains("EncryptionStatus")),
        "{not_checked:#?}"
    );
    // Every object is still attributed.
    let objects: u64 = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["objects"].as_u64().unwrap())
        .sum();
    assert_eq!(objects, 3);
}

#[test]
fn over_s3_the_delivery_and_the_emitted_manifests_equal_the_local_run() {
    let server = crate::harness::S3Server::start(&crate::harness::buckets());
    std::fs::create_dir_all(server.root.path().join("acme-ops")).unwrap();
    let config =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/doctor/acme-data-config");
    let local_out = tempfile::tempdir().unwrap();
    let local = doctor_json(
        &generated("csv-all"),
        &[
            "--config",
            config.to_str().unwrap(),
            "--emit-manifests",
            local_out.path().to_str().unwrap(),
        ],
    );
    let (code, out, err) = run(server.s3inv().args([
        "doctor",
        "s3://acme-inventory/acme-data/csv-all",
        "--config",
        config.to_str().unwrap(),
        "--emit-manifests",
        "s3://acme-ops/redrive",
        "--role-arn",
        "arn:aws:iam::111122223333:role/batch",
        "--format",
        "json",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 0, "{err}");
    let remote: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(table(&remote), table(&local));
    let on_s3 = server.root.path().join("acme-ops/redrive");
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(on_s3.join("causes.json")).unwrap()).unwrap();
    let local_index: Value = serde_json::from_str(
        &std::fs::read_to_string(local_out.path().join("causes.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(index["outputs"], local_index["outputs"]);
    assert!(!index["outputs"].as_array().unwrap().is_empty());
    for folder in index["outputs"].as_array().unwrap() {
        let folder = folder.as_str().unwrap();
        assert_eq!(
            manifest_lines(&on_s3.join(folder)),
            manifest_lines(&local_out.path().join(folder)),
            "{folder}"
        );
        let job: Value = serde_json::from_str(
            &std::fs::read_to_string(on_s3.join(folder).join("job-00001.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            job["Manifest"]["Location"]["ObjectArn"],
            format!("arn:aws:s3:::acme-ops/redrive/{folder}/manifest-00001.csv")
        );
        // The completion report goes next to the manifests of its cause.
        assert_eq!(job["Report"]["Prefix"], format!("redrive/{folder}/reports"));
    }
    // The rows name where their cause's manifests are.
    let versioning = remote["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cause"] == "pre-existing")
        .unwrap();
    assert_eq!(versioning["manifest"], "s3://acme-ops/redrive/pre-existing");
}

/// The configuration folder of one cause's scenario: rule `r` replicates everything to
/// `dst` (SSE-KMS opted in, metrics on), versioning is on there, and the role may do
/// anything; `replication` fills in the destination's extra members, `files` adds or
/// replaces documents.
fn cause_config(dir: &Path, destination_extra: &str, files: &[(&str, &str)]) -> PathBuf {
    let config = dir.join("config");
    for sub in ["dst", "iam/inline", "kms"] {
        std::fs::create_dir_all(config.join(sub)).unwrap();
    }
    let replication = format!(
        r#"{{"ReplicationConfiguration": {{"Role": "arn:aws:iam::111122223333:role/repl", "Rules": [
            {{"ID": "r", "Priority": 1, "Status": "Enabled", "Filter": {{}},
              "SourceSelectionCriteria": {{"SseKmsEncryptedObjects": {{"Status": "Enabled"}}}},
              "Destination": {{"Bucket": "arn:aws:s3:::dst", "Metrics": {{"Status": "Enabled"}}{destination_extra}}},
              "DeleteMarkerReplication": {{"Status": "Disabled"}}}}]}}}}"#
    );
    let base = [
        ("replication.json", replication.as_str()),
        ("dst/dst.versioning.json", r#"{"Status": "Enabled"}"#),
        (
            "iam/role.json",
            r#"{"Role": {"RoleName": "repl", "Arn": "arn:aws:iam::111122223333:role/repl",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}}"#,
        ),
        (
            "iam/inline/all.json",
            r#"{"PolicyName": "all", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}]}}"#,
        ),
    ];
    for (name, text) in base.iter().chain(files) {
        std::fs::write(config.join(name), text).unwrap();
    }
    config
}

#[test]
fn each_cause_has_its_scenario_in_every_format() {
    let failed = |key: &str| row(key, Some("v1"), Some("FAILED"), 5);
    let with = |mut r: Row, f: &dyn Fn(&mut Row)| {
        f(&mut r);
        r
    };
    let kms = with(failed("k"), &|r| {
        r.encryption_status = Some("SSE-KMS".into())
    });
    let no_lock = "\nAn error occurred (ObjectLockConfigurationNotFoundError) when calling the GetObjectLockConfiguration operation: Object Lock configuration does not exist for this bucket\n";
    type Case<'a> = (
        &'a str,
        Vec<Row>,
        &'a str,
        Vec<(&'a str, &'a str)>,
        &'a [&'a str],
        Vec<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "dst-object-lock-missing",
            vec![failed("a")],
            "",
            vec![
                (
                    "src.object-lock.json",
                    r#"{"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled"}}"#,
                ),
                ("dst/dst.object-lock.err", no_lock),
            ],
            &[],
            vec!["dst-object-lock-missing FAILED r dst 1 certain"],
        ),
        (
            "sse-c-blocked-at-dst",
            vec![with(failed("c"), &|r| {
                r.encryption_status = Some("SSE-C".into())
            })],
            "",
            vec![(
                "dst/dst.encryption.json",
                r#"{"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": false, "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]}}"#,
            )],
            &[],
            vec!["sse-c-blocked-at-dst FAILED r dst 1 certain"],
        ),
        (
            "kms-key-invalid",
            vec![kms.clone()],
            r#", "EncryptionConfiguration": {"ReplicaKmsKeyID": "arn:aws:kms:us-east-1:111122223333:key/k1"}"#,
            vec![(
                "kms/k1.describe.json",
                r#"{"KeyMetadata": {"KeyId": "k1", "Arn": "arn:aws:kms:us-east-1:111122223333:key/k1", "KeyState": "PendingDeletion", "KeyManager": "CUSTOMER"}}"#,
            )],
            &[],
            vec!["kms-key-invalid FAILED r dst 1 certain"],
        ),
        (
            "role-trust",
            vec![failed("t")],
            "",
            vec![(
                "iam/role.json",
                r#"{"Role": {"RoleName": "repl", "Arn": "arn:aws:iam::111122223333:role/repl",
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}}"#,
            )],
            &[],
            vec!["role-trust FAILED r dst 1 certain"],
        ),
        (
            "src-bucket-policy",
            vec![failed("s")],
            "",
            vec![(
                "src.policy.json",
                r#"{"Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:role/repl\"},\"Action\":\"s3:GetObjectVersionForReplication\",\"Resource\":\"arn:aws:s3:::acme-data/*\"}]}"}"#,
            )],
            &[],
            vec!["src-bucket-policy FAILED r dst 1 certain"],
        ),
        (
            "dst-bucket-policy",
            vec![failed("d")],
            r#", "Account": "444455556666""#,
            vec![(
                "dst/dst.policy.json",
                r#"{"Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:role/other\"},\"Action\":\"s3:ReplicateObject\",\"Resource\":\"arn:aws:s3:::dst/*\"}]}"}"#,
            )],
            &[],
            vec!["dst-bucket-policy FAILED r dst 1 certain"],
        ),
        (
            "kms-key-policy",
            vec![kms.clone()],
            "",
            vec![
                (
                    "src.encryption.json",
                    r#"{"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:us-east-1:111122223333:key/src-key"}, "BucketKeyEnabled": false}]}}"#,
                ),
                (
                    "kms/src-key.policy.json",
                    r#"{"Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:role/admin\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}"}"#,
                ),
            ],
            &[],
            vec!["kms-key-policy FAILED r dst 1 certain"],
        ),
        (
            "delete-marker-not-replicated",
            vec![with(row("gone", Some("v9"), None, 1), &|r| {
                r.is_delete_marker = true;
                r.size = None;
                r.e_tag = None;
            })],
            "",
            vec![],
            &["--all-versions"],
            vec!["delete-marker-not-replicated DELETE_MARKER r dst 1 certain"],
        ),
        (
            "archive-access-tier",
            vec![with(row("cold", Some("v1"), None, 5), &|r| {
                r.storage_class = Some("INTELLIGENT_TIERING".into());
                r.intelligent_tiering_access_tier = Some("DEEP_ARCHIVE_ACCESS".into());
            })],
            "",
            vec![],
            &[],
            vec!["archive-access-tier NONE r dst 1 certain"],
        ),
        (
            "no-configuration",
            vec![row("n", Some("v1"), None, 5)],
            "",
            vec![(
                "replication.json",
                "\nAn error occurred (ReplicationConfigurationNotFoundError) when calling the GetBucketReplication operation: The replication configuration was not found\n",
            )],
            &[],
            vec!["no-configuration NONE - - 1 certain"],
        ),
    ];
    for (name, rows, extra, files, args, expected) in &cases {
        for format in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let config = cause_config(dir.path(), extra, files);
            let location = write_delivery_of(dir.path(), rows, format);
            let doc = doctor_json(
                &location,
                &[&["--config", config.to_str().unwrap()], *args].concat(),
            );
            assert_eq!(table(&doc), *expected, "{name} {format:?}: {doc:#}");
        }
    }
}

#[test]
fn contrast_causes_in_every_format() {
    // Five FAILED objects that share one attribute, five COMPLETED that do not.
    type Set = fn(&mut Row);
    let cases: [(&str, Set, &str); 5] = [
        (
            "bucket-key-context",
            |r| r.bucket_key_status = Some("ENABLED".into()),
            "bucket_key_status ENABLED",
        ),
        (
            "object-lock-permissions",
            |r| {
                r.object_lock_mode = Some("GOVERNANCE".into());
                r.object_lock_retain_until_ms = Some(NOV_20 + 365 * DAY);
            },
            "object_lock locked",
        ),
        (
            "multipart-permissions",
            |r| r.is_multipart_uploaded = Some(true),
            "is_multipart_uploaded true",
        ),
        (
            "failed-contrast",
            |r| r.storage_class = Some("STANDARD_IA".into()),
            "storage_class STANDARD_IA",
        ),
        (
            "failure-window",
            |r| r.last_modified_ms = NOV_20 - 40 * DAY,
            "last_modified_day 2026-10-11",
        ),
    ];
    for (cause, set, shown) in cases {
        let mut rows = Vec::new();
        for i in 0..5 {
            let mut failed = row(&format!("f{i}"), Some("v1"), Some("FAILED"), 5 + i);
            failed.encryption_status = Some("SSE-KMS".into());
            set(&mut failed);
            rows.push(failed);
            let mut done = row(&format!("c{i}"), Some("v1"), Some("COMPLETED"), 5 + i);
            done.encryption_status = Some("SSE-KMS".into());
            rows.push(done);
        }
        for format in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let config = cause_config(dir.path(), "", &[]);
            let location = write_delivery_of(dir.path(), &rows, format);
            let doc = doctor_json(&location, &["--config", config.to_str().unwrap()]);
            assert_eq!(
                table(&doc),
                [format!("{cause} FAILED r dst 5 likely")],
                "{format:?}: {doc:#}"
            );
            let evidence = doc["rows"][0]["evidence"][0].as_str().unwrap();
            assert!(
                evidence.contains(&format!("FAILED 5 of 5 objects with {shown}")),
                "{evidence}"
            );
        }
    }
}

#[test]
fn a_current_only_report_says_nothing_of_null_versions() {
    // No VersionId field: a missing version is unknown, not a null version.
    let doc = doctor_json(&generated("csv-current"), &[]);
    for r in doc["rows"].as_array().unwrap() {
        for e in r["evidence"].as_array().unwrap() {
            assert!(!e.as_str().unwrap().contains("null version"), "{r:#}");
        }
    }
    assert!(
        doc["not_checked"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("the inventory has no VersionId field")),
        "{doc:#}"
    );
    // The versioned report of the same objects does name them.
    let doc = doctor_json(&generated("csv-all"), &[]);
    assert!(
        doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["evidence"][0].as_str().unwrap().contains("null version")),
        "{doc:#}"
    );
}

#[test]
fn event_files_without_events_are_refused_and_folders_pass_over_documentation() {
    let dir = tempfile::tempdir().unwrap();
    let location = generated("csv-all");
    let hello = dir.path().join("hello.json");
    std::fs::write(&hello, r#"{"hello": 1}"#).unwrap();
    let (code, _, err) = doctor(&location, &["--events", hello.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("hello.json: holds no S3 event notification records"),
        "{err}"
    );
    // In a folder: the licence and readme beside the events are passed over, a stray JSON
    // file is noted, the events are read.
    let events = dir.path().join("events");
    std::fs::create_dir_all(&events).unwrap();
    std::fs::write(
        events.join("LICENSE"),
        "MIT License\n\nPermission is hereby granted",
    )
    .unwrap();
    std::fs::write(events.join("README.md"), "# events\n").unwrap();
    std::fs::write(events.join("stray.json"), "[1, 2, 3]").unwrap();
    let event = failure_event("logs/p000/x", "v1", "acme-data-dr", "DstBucketUnversioned");
    std::fs::write(events.join("e.json"), event.to_string()).unwrap();
    let (code, _, err) = doctor(
        &location,
        &["--events", events.to_str().unwrap(), "--format", "csv"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("2 hidden, documentation or aws-logs-write-test files passed over"),
        "{err}"
    );
    assert!(
        err.contains("1 file with no S3 event records passed over (first: ")
            && err.contains("stray.json"),
        "{err}"
    );
}

#[test]
fn usage_errors_name_the_flag_and_the_fix_before_any_scan() {
    let (dir, location, config) = scenario(FileFormat::Csv);
    let config = config.to_str().unwrap();
    let out = dir.path().join("redrive");
    let out = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--emit-manifests",
                out,
                "--role-arn",
                "arn:aws:iam::111122223333:role/b",
            ],
            "--role-arn with a local --emit-manifests",
        ),
        (
            vec![
                "--emit-manifests",
                "s3://acme-ops/r",
                "--role-arn",
                "notanarn",
            ],
            "--role-arn \"notanarn\" is not an IAM role ARN",
        ),
        (
            vec!["--emit-manifests", out, "--manifest-url", "notaurl"],
            "--manifest-url \"notaurl\" must be an s3:// URL",
        ),
        (
            vec!["--emit-manifests", ""],
            "--emit-manifests needs a folder",
        ),
        (
            vec!["--emit-manifests", "/proc/s3inv-nope"],
            "--emit-manifests /proc/s3inv-nope: cannot create the folder",
        ),
        (
            vec!["--config", "/nonexistent/cfg"],
            "--config /nonexistent/cfg: no such folder",
        ),
        (
            vec![
                "--config",
                config,
                "--rule-start",
                "nosuchrule=2026-01-01T00:00:00Z",
            ],
            "--rule-start nosuchrule: no rule with that ID in",
        ),
        (
            vec![
                "--config",
                config,
                "--rule-start",
                "logs=2026-01-01T00:00:00Z",
                "--rule-start",
                "logs=2026-02-01T00:00:00Z",
            ],
            "--rule-start logs: given twice",
        ),
        (
            vec!["--rule-start", "logs=2026-01-01T00:00:00Z"],
            "--rule-start needs the replication configuration",
        ),
    ];
    for (args, expected) in cases {
        let (code, _, err) = doctor(&location, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!std::path::Path::new(out).exists(), "{args:?}");
    }
    // A folder named like the bucket (a local copy) does not hide the bucket's name.
    std::fs::create_dir_all(dir.path().join("acme-data")).unwrap();
    let (code, script, err) = run(s3inv().current_dir(dir.path()).args([
        "doctor",
        "--print-collect-script",
        "acme-data",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(script.contains("printed by: s3inv doctor --print-collect-script acme-data"));
}
