//! `s3inv::diff` (work in progress, issue 13): a source delivery against a destination's,
//! each category from a fault put there on purpose, in every format mix.

use std::path::Path;

use s3inv::diff::{Matching, compare};
use s3inv::generate::{DeliverySpec, GenerateOptions, Row, Versions, write_rows};
use s3inv::replication::Scope;
use s3inv::storage::{Location, S3Options, Store};
use s3inv::table::{Session, SessionOptions};

use crate::harness::{FORMATS, bundled_options, runtime};

const NOV_20: i64 = 1_795_136_400_000;
const DAY: i64 = 86_400_000;

fn row(bucket: &str, key: &str, version: &str, status: Option<&str>, size: i64) -> Row {
    let mut r = crate::harness::object_row(bucket, key, Some(version), status, NOV_20 - 5 * DAY);
    r.size = Some(size);
    r.bucket_key_status = None;
    r
}

fn write(
    dir: &Path,
    bucket: &str,
    rows: &[Row],
    format: s3inv::manifest::FileFormat,
) -> std::path::PathBuf {
    let opts = GenerateOptions {
        files: 1,
        source_bucket: bucket.into(),
        ..bundled_options()
    };
    let spec = DeliverySpec {
        format,
        versions: Versions::All,
        config_id: "diff".into(),
    };
    write_rows(&dir.join("inv"), &opts, &spec, rows)
        .unwrap()
        .manifest
}

#[test]
fn each_fault_lands_in_its_category_in_every_format_mix() {
    let src = |k: &str, v: &str, s: Option<&str>| row("acme-data", k, v, s, 100);
    let dst = |k: &str, v: &str| row("acme-data-dr", k, v, Some("REPLICA"), 100);
    let mut recent = src("recent", "v7", Some("PENDING"));
    recent.last_modified_ms = NOV_20 - 60_000;
    let mut marker = src("gone", "v8", Some("COMPLETED"));
    marker.is_delete_marker = true;
    marker.size = None;
    let source = vec![
        src("ok", "v1", Some("COMPLETED")),
        src("lost", "v2", Some("COMPLETED")),
        src("changed", "v3", Some("COMPLETED")),
        src("waiting", "v4", Some("FAILED")),
        src("stale", "v5", None),
        recent,
        marker,
    ];
    let mut changed = dst("changed", "v3");
    changed.size = Some(99);
    let destination = vec![
        dst("ok", "v1"),
        changed,
        dst("stale", "v5"),
        dst("extra", "v9"),
    ];
    let rt = runtime();
    for s_format in FORMATS {
        for d_format in FORMATS {
            let dir = tempfile::tempdir().unwrap();
            let s_manifest = write(dir.path(), "acme-data", &source, s_format);
            let d_manifest = write(
                &dir.path().join("dst"),
                "acme-data-dr",
                &destination,
                d_format,
            );
            let got = rt.block_on(async {
                let s3 = S3Options::default();
                let session = Session::open(
                    &Location::parse(s_manifest.to_str().unwrap()).unwrap(),
                    &s3,
                    &SessionOptions::default(),
                )
                .await
                .unwrap();
                let location = Location::parse(d_manifest.to_str().unwrap()).unwrap();
                let store = Store::open(&location, &s3).await.unwrap();
                let delivery = s3inv::manifest::open_delivery(&location, &store, None, true)
                    .await
                    .unwrap();
                let dst_ms = delivery.manifest.creation_timestamp_ms;
                session.attach("dst_0", delivery, true).await.unwrap();
                compare(
                    &session,
                    "dst_0",
                    Matching::KeyAndVersion,
                    Scope::new(true),
                    dst_ms - 3_600_000,
                )
                .await
                .unwrap()
            });
            let counts: Vec<(String, u64)> = got
                .categories
                .iter()
                .map(|(k, c)| (k.clone(), c.objects))
                .collect();
            let expected: Vec<(String, u64)> = [
                ("delete-marker-not-replicated", 1),
                ("in-flight", 1),
                ("mismatch", 1),
                ("missing-at-destination", 1),
                ("not-yet-replicated", 1),
                ("only-at-destination", 1),
                ("present-despite-status", 1),
                ("replicated", 1),
            ]
            .iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect();
            assert_eq!(counts, expected, "{s_format:?} → {d_format:?}");
        }
    }
}
