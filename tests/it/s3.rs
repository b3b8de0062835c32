//! The whole S3 path — discovery, manifest, every format, verification, errors — against a
//! real S3 HTTP server (s3s + s3s-fs) on 127.0.0.1 over a copy of testdata/buckets.

use crate::harness::{S3Server, buckets, run, s3inv, sql_csv};

const STATUS_SQL: &str =
    "SELECT replication_status, count(*), sum(size) FROM inventory GROUP BY 1 ORDER BY 1";

/// (S3 location, local configuration folder) of every bundled delivery.
fn bundled() -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    for config in ["csv-all", "csv-current", "orc-all", "parquet-all"] {
        out.push((
            format!("s3://filemanager-inventory-test/filemanager-inventory-test/{config}/"),
            buckets()
                .join("filemanager-inventory-test/filemanager-inventory-test")
                .join(config),
        ));
    }
    for format in ["csv", "orc", "parquet"] {
        for versions in ["all", "current"] {
            let config = format!("{format}-{versions}");
            out.push((
                format!("s3://acme-inventory/acme-data/{config}"),
                buckets().join("acme-inventory/acme-data").join(&config),
            ));
        }
    }
    out
}

#[test]
fn every_bundled_delivery_reads_the_same_through_s3() {
    let server = S3Server::start(&buckets());
    for (url, local) in bundled() {
        let (code, out, err) = run(server.s3inv().args([
            "sql",
            &url,
            STATUS_SQL,
            "--format",
            "csv",
            "--endpoint-url",
            &server.endpoint,
        ]));
        assert_eq!(code, 0, "{url}: {err}");
        assert_eq!(out, sql_csv(&local, STATUS_SQL), "{url}");
    }
}

#[test]
fn manifest_and_delivery_folder_locations_work_over_s3() {
    let server = S3Server::start(&buckets());
    let base = "s3://acme-inventory/acme-data/parquet-all/2026-11-20T01-00Z";
    for location in [format!("{base}/manifest.json"), format!("{base}/")] {
        let (code, out, err) = run(server.s3inv().args([
            "sql",
            &location,
            "SELECT count(*) AS n FROM inventory",
            "--format",
            "csv",
            "--endpoint-url",
            &server.endpoint,
        ]));
        assert_eq!(code, 0, "{location}: {err}");
        assert_eq!(out, "n\n400\n");
    }
}

#[test]
fn deliveries_lists_over_s3() {
    let server = S3Server::start(&buckets());
    let (code, out, err) = run(server.s3inv().args([
        "deliveries",
        "s3://acme-inventory/acme-data/orc-all",
        "--format",
        "csv",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("delivery,complete,format,files,bytes,created,problem,manifest")
    );
    let row = lines.next().unwrap();
    assert!(row.starts_with("2026-11-20T01-00Z,true,ORC,2,"), "{row}");
    assert!(row.ends_with(",2026-11-20T01:00:00.000Z,,s3://acme-inventory/acme-data/orc-all/2026-11-20T01-00Z/manifest.json"), "{row}");
}

#[test]
fn md5_mismatch_is_detected_over_s3() {
    let server = S3Server::start(&buckets());
    // Corrupt one byte of a data file in the server's copy; the size stays the same.
    let data = server
        .root
        .path()
        .join("acme-inventory/acme-data/csv-all/data");
    let file = std::fs::read_dir(&data)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let (code, _, err) = run(server.s3inv().args([
        "sql",
        "s3://acme-inventory/acme-data/csv-all",
        "SELECT count(*) FROM inventory",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 2, "{err}");
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        err.contains(&format!(
            "s3://acme-inventory/acme-data/csv-all/data/{name}: md5 mismatch"
        )),
        "{err}"
    );
}

#[test]
fn access_denied_names_bucket_key_and_action() {
    for config in ["csv-all", "orc-all", "parquet-all"] {
        access_denied_in(config);
    }
}

fn access_denied_in(config_id: &str) {
    let server = S3Server::start(&buckets());
    // Rename a data file so the test server refuses it, and point the manifest at it.
    let config = server
        .root
        .path()
        .join("acme-inventory/acme-data")
        .join(config_id);
    let delivery = config.join("2026-11-20T01-00Z");
    let manifest = std::fs::read_to_string(delivery.join("manifest.json")).unwrap();
    let data = config.join("data");
    let file = std::fs::read_dir(&data)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    std::fs::rename(&file, data.join(format!("denied-{name}"))).unwrap();
    let manifest = manifest.replace(&format!("data/{name}"), &format!("data/denied-{name}"));
    std::fs::write(delivery.join("manifest.json"), &manifest).unwrap();
    let (code, _, err) = run(server.s3inv().args([
        "sql",
        &format!("s3://acme-inventory/acme-data/{config_id}"),
        "SELECT count(*) FROM inventory",
        "--no-verify",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "access denied: s3://acme-inventory/acme-data/{config_id}/data/denied-{name}: the credentials need s3:GetObject"
        )),
        "{err}"
    );
}

#[test]
fn missing_bucket_is_named() {
    let server = S3Server::start(&buckets());
    let (code, _, err) = run(server.s3inv().args([
        "sql",
        "s3://no-such-bucket/acme-data/csv-all",
        "SELECT 1",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bucket \"no-such-bucket\" does not exist"),
        "{err}"
    );
}

#[test]
fn no_credentials_is_one_clear_error() {
    let server = S3Server::start(&buckets());
    let (code, _, err) = run(s3inv().args([
        "sql",
        "s3://acme-inventory/acme-data/csv-all",
        "SELECT 1",
        "--region",
        "us-east-1",
        "--endpoint-url",
        &server.endpoint,
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no aws credentials for s3://acme-inventory"),
        "{err}"
    );
}

#[test]
fn rejected_credentials_are_reported() {
    let server = S3Server::start(&buckets());
    let (code, _, err) = run(server
        .s3inv()
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        .args([
            "sql",
            "s3://acme-inventory/acme-data/csv-all",
            "SELECT 1",
            "--endpoint-url",
            &server.endpoint,
        ]));
    assert_eq!(code, 2, "{err}");
    // #11 item 7: a folder LOCATION is asked with HEAD, whose 403 carries no reason:
    // both causes are named, and how to tell them apart.
    // (aws-config warns first that the test's config files do not exist.)
    assert_eq!(
        err.lines().last().unwrap_or(""),
        "s3inv: error: access denied: s3://acme-inventory/acme-data/csv-all/manifest.json: \
         S3 answered 403 without saying why: either the credentials lack s3:GetObject (and \
         s3:ListBucket) here, or they were rejected (wrong key or secret, expired session); \
         `aws sts get-caller-identity` tells which: if it fails, fix the credentials, if it \
         works, the permissions"
    );
}

#[test]
fn an_unreachable_endpoint_is_named() {
    // #11 item 7: not object_store's retry text.
    let (code, out, err) = run(s3inv()
        .env("AWS_ACCESS_KEY_ID", crate::harness::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", crate::harness::SECRET_KEY)
        .args([
            "sql",
            "s3://acme-inventory/acme-data/csv-all",
            "SELECT 1",
            "--region",
            "us-east-1",
            "--retries",
            "0",
            "--endpoint-url",
            "http://127.0.0.1:1",
        ]));
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err.lines().last().unwrap_or(""),
        "s3inv: error: s3://acme-inventory/acme-data/csv-all/manifest.json: cannot reach \
         http://127.0.0.1:1 (connection refused): check --endpoint-url"
    );
}

#[test]
fn an_aws_profile_that_does_not_exist_is_named() {
    // #11 item 7: not the chain's generic "no credentials".
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[default]\nregion = us-east-1\n[profile prod]\n").unwrap();
    let server = S3Server::start(&buckets());
    let (code, _, err) = run(s3inv()
        .env("AWS_PROFILE", "nope")
        .env("AWS_CONFIG_FILE", &config)
        .args([
            "sql",
            "s3://acme-inventory/acme-data/csv-all",
            "SELECT 1",
            "--region",
            "us-east-1",
            "--endpoint-url",
            &server.endpoint,
        ]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err.lines().last().unwrap_or(""),
        format!(
            "s3inv: error: AWS_PROFILE=nope: no such profile in {} or /nonexistent/s3inv-test-credentials \
             (profiles there: default, prod); fix AWS_PROFILE, or add the profile (`aws configure --profile nope`)",
            config.display()
        )
    );
}
