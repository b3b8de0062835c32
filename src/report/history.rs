//! History beside the report: each run stores its delivery's numbers (status × prefix ×
//! age, small) in `history/<source-bucket>__<config-id>__<created>.json`, so trends over 30+
//! days read those files instead of rescanning 30 inventories. Several configurations may
//! share one report folder: a record counts only for the configuration (source bucket and
//! configuration id, in its name and in its content) it was written for.

use serde::{Deserialize, Serialize};

use crate::analytics::summary::{StatusCounts, Summary};
use crate::batch::dest::Destination;
use crate::error::Result;
use crate::table::Session;

/// One delivery on the trend chart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub delivery: String,
    /// Epoch milliseconds; written as RFC 3339 (`2026-11-20T01:00:00.000Z`) like every
    /// other timestamp, read from either shape (records of s3inv before report version 2
    /// hold the number).
    #[serde(with = "created")]
    pub created: i64,
    pub objects: u64,
    pub bytes: u64,
    pub unreplicated_objects: u64,
    pub unreplicated_bytes: u64,
    pub failed_objects: u64,
    pub pending_objects: u64,
    /// Known when the delivery was summarised with a stuck threshold.
    pub stuck_pending: Option<u64>,
}

impl TrendPoint {
    pub(super) fn from_counts(
        delivery: &str,
        created: i64,
        s: &StatusCounts,
        stuck: Option<u64>,
    ) -> TrendPoint {
        let t = s.total();
        let u = s.unreplicated();
        TrendPoint {
            delivery: delivery.to_string(),
            created,
            objects: t.objects,
            bytes: t.bytes,
            unreplicated_objects: u.objects,
            unreplicated_bytes: u.bytes,
            failed_objects: s.get("FAILED").objects,
            pending_objects: s.get("PENDING").objects,
            stuck_pending: stuck,
        }
    }
}

/// `TrendPoint::created` in JSON: an RFC 3339 string out, a string or a number in.
mod created {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        match crate::format::timestamp::format_millis(*ms) {
            Some(t) => s.serialize_str(&t),
            None => s.serialize_i64(*ms),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Millis(i64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        match Either::deserialize(d)? {
            Either::Millis(ms) => Ok(ms),
            Either::Text(t) => crate::format::timestamp::parse_timestamp_millis(t.as_bytes())
                .ok_or_else(|| D::Error::custom(format!("not an RFC 3339 time: {t:?}"))),
        }
    }
}

/// One group of the stored breakdown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryGroup {
    pub prefix: String,
    pub age: String,
    pub status: String,
    pub objects: u64,
    pub bytes: u64,
}

/// Which inventory configuration a record belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryKey {
    pub source_bucket: String,
    pub configuration: String,
}

impl HistoryKey {
    /// The delivery's source bucket (manifest.json `sourceBucket`) and configuration id:
    /// the folder above `data/` in its data files' keys
    /// (`<prefix>/<source-bucket>/<config-id>/data/…`), else the folder above the dated
    /// delivery folder; `-` when neither tells.
    pub fn of(d: &crate::manifest::Delivery) -> HistoryKey {
        let from_files = d.manifest.files.first().and_then(|f| {
            let parts: Vec<&str> = f.key.split('/').collect();
            let data = parts.iter().rposition(|p| *p == "data")?;
            parts[..data].last().map(|c| c.to_string())
        });
        let from_folder = || {
            d.name.as_ref()?;
            let parts: Vec<_> = d.manifest_path.parts().collect();
            parts
                .len()
                .checked_sub(3)
                .map(|i| crate::storage::Store::segment(&parts[i]))
        };
        HistoryKey {
            source_bucket: d
                .manifest
                .source_bucket
                .clone()
                .unwrap_or_else(|| "-".into()),
            configuration: from_files
                .or_else(from_folder)
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "-".into()),
        }
    }

    /// The start of the file names of this configuration's records.
    fn file_prefix(&self) -> String {
        // Bucket names never hold `_`, so the first `__` ends the bucket.
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!(
            "{}__{}__",
            safe(&self.source_bucket),
            safe(&self.configuration)
        )
    }
}

/// What one run stores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub s3inv_history_version: u32,
    /// The configuration the record belongs to (absent from version-1 records).
    #[serde(flatten)]
    pub key: HistoryKey,
    pub format: String,
    pub point: TrendPoint,
    pub groups: Vec<HistoryGroup>,
}

impl HistoryRecord {
    /// The record of a report summary whose first two dimensions are prefix and age.
    pub(super) fn from_summary(session: &Session, summary: &Summary) -> HistoryRecord {
        let d = &session.delivery;
        // A manifest outside a dated folder is named by its creation time, like AWS names
        // the folders, never by its path.
        let name = d
            .name
            .clone()
            .unwrap_or_else(|| time_name(d.manifest.creation_timestamp_ms, "%Y-%m-%dT%H-%MZ"));
        let mut by: std::collections::BTreeMap<(String, String, String), (u64, u64)> =
            Default::default();
        for g in &summary.groups {
            for (status, c) in g.statuses.iter() {
                let e = by
                    .entry((g.values[0].clone(), g.values[1].clone(), status.to_string()))
                    .or_default();
                e.0 += c.objects;
                e.1 += c.bytes;
            }
        }
        HistoryRecord {
            s3inv_history_version: 2,
            key: HistoryKey::of(d),
            format: d.manifest.file_format.to_string(),
            point: TrendPoint::from_counts(
                &name,
                d.manifest.creation_timestamp_ms,
                &summary.totals,
                Some(summary.pending.stuck.objects),
            ),
            groups: by
                .into_iter()
                .map(|((prefix, age, status), (objects, bytes))| HistoryGroup {
                    prefix,
                    age,
                    status,
                    objects,
                    bytes,
                })
                .collect(),
        }
    }

    /// The file name it is stored under: the delivery's creation time (manifest.json
    /// `creationTimestamp`), never a path.
    pub fn file_name(&self) -> String {
        format!(
            "{}{}.json",
            self.key.file_prefix(),
            time_name(self.point.created, "%Y-%m-%dT%H-%M-%SZ")
        )
    }
}

/// `ms` (Unix milliseconds, UTC) in `format`; `-` for a time chrono cannot show.
fn time_name(ms: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format(format).to_string())
        .unwrap_or_else(|| "-".into())
}

/// The trend points earlier runs stored in `dir` for the configuration `key`, and a note
/// naming the records left out: those of other configurations, those whose content names
/// another configuration than their file name, records of older s3inv versions (no
/// configuration), and unreadable files.
pub async fn read_trend(
    dir: &Destination,
    key: &HistoryKey,
) -> Result<(Vec<TrendPoint>, Vec<String>)> {
    let prefix = key.file_prefix();
    let mut points = Vec::new();
    let mut ignored = Vec::new();
    let mut names: Vec<String> = dir
        .list()
        .await?
        .into_iter()
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    for name in names {
        if !name.starts_with(&prefix) {
            ignored.push(name);
            continue;
        }
        let Some(bytes) = dir.read(&name).await? else {
            continue;
        };
        match serde_json::from_slice::<HistoryRecord>(&bytes) {
            Ok(r) if r.key == *key => points.push(r.point),
            Ok(_) => ignored.push(name),
            Err(e) => {
                tracing::warn!(file = %name, error = %e, "skipping unreadable history record");
                ignored.push(name);
            }
        }
    }
    let mut notes = Vec::new();
    if !ignored.is_empty() {
        notes.push(format!(
            "{}: {} history record(s) of other inventory configurations (or older s3inv versions, or unreadable) left out of the trend of {}/{}: {}{}",
            dir.shown(),
            ignored.len(),
            key.source_bucket,
            key.configuration,
            ignored.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            if ignored.len() > 3 { ", …" } else { "" }
        ));
    }
    Ok((points, notes))
}
