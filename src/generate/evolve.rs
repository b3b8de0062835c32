//! How a bucket moves on between daily deliveries: statuses progress (PENDING mostly
//! completes, a few fail; some FAILED and never-replicated objects are re-driven) and new
//! objects arrive, most of them PENDING or COMPLETED. Deterministic per object and day.

use super::GenerateOptions;
use super::rows::{Rng, Row};

pub(super) const DAY_MS: i64 = 86_400_000;

/// New objects written per day, for a bucket generated with `rows` rows.
pub(super) fn new_per_day(rows: u64) -> u64 {
    rows / 50
}

/// The row as delivery `day` lists it.
pub(super) fn evolve(mut row: Row, day: u32) -> Row {
    if row.is_delete_marker {
        return row;
    }
    for d in 1..=day {
        let roll = row.stable_hash(d as u64) % 100;
        row.replication_status = match (row.replication_status.as_deref(), roll) {
            (Some("PENDING"), 0..=69) => Some("COMPLETED".into()),
            (Some("PENDING"), 70..=74) => Some("FAILED".into()),
            (Some("FAILED"), 0..=9) => Some("COMPLETED".into()),
            (None, 0..=2) => Some("COMPLETED".into()),
            (status, _) => status.map(str::to_string),
        };
    }
    row
}

/// The objects written between the first delivery and delivery `opts.day`.
pub(super) fn new_objects(opts: GenerateOptions) -> impl Iterator<Item = Row> {
    let per_day = new_per_day(opts.rows);
    (1..=opts.day).flat_map(move |d| {
        let mut rng = Rng::new(opts.seed ^ (d as u64).wrapping_mul(0x9E37_79B9));
        let bucket = opts.source_bucket.clone();
        let created = opts.created_ms;
        let last_day = opts.day;
        (0..per_day).map(move |i| {
            let t = created + (d as i64 - 1) * DAY_MS + (rng.unit() * DAY_MS as f64) as i64;
            let roll = rng.below(100);
            // Objects of the latest day may still be PENDING; older ones have moved on.
            let status = match (roll, d == last_day) {
                (0..=39, true) => "PENDING",
                (0..=4, false) => "FAILED",
                (40..=44, true) => "FAILED",
                _ => "COMPLETED",
            };
            let size = (rng.normal() * 2.0 + 10.0).exp() as i64;
            Row {
                bucket: bucket.clone(),
                key: format!("new/day{d:02}/obj-{i:06}.json"),
                version_id: Some(rng.version_id()),
                is_latest: true,
                is_delete_marker: false,
                size: Some(size),
                last_modified_ms: t,
                e_tag: Some(rng.hex(32)),
                storage_class: Some("STANDARD".into()),
                is_multipart_uploaded: Some(false),
                replication_status: Some(status.into()),
                encryption_status: Some("SSE-S3".into()),
                object_lock_retain_until_ms: None,
                object_lock_mode: None,
                object_lock_legal_hold_status: Some("OFF".into()),
                intelligent_tiering_access_tier: None,
                bucket_key_status: Some("DISABLED".into()),
                checksum_algorithm: None,
                object_access_control_list: None,
                object_owner: None,
                lifecycle_expiration_ms: None,
            }
        })
    })
}
