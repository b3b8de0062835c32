//! History beside the report: each run stores its delivery's numbers (status × prefix ×
//! age, small) in `history/<delivery>.json`, so trends over 30+ days read those files
//! instead of rescanning 30 inventories.

use serde::{Deserialize, Serialize};

use crate::analytics::summary::{StatusCounts, Summary};
use crate::batch::dest::Destination;
use crate::error::Result;
use crate::table::Session;

/// One delivery on the trend chart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub delivery: String,
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

/// One group of the stored breakdown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryGroup {
    pub prefix: String,
    pub age: String,
    pub status: String,
    pub objects: u64,
    pub bytes: u64,
}

/// What one run stores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryRecord {
    pub s3inv_history_version: u32,
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
            s3inv_history_version: 1,
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
            "{}.json",
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

/// The trend points earlier runs stored in `dir` (unreadable files are skipped with a warning).
pub async fn read_trend(dir: &Destination) -> Result<Vec<TrendPoint>> {
    let mut points = Vec::new();
    let mut names: Vec<String> = dir
        .list()
        .await?
        .into_iter()
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    for name in names {
        let Some(bytes) = dir.read(&name).await? else {
            continue;
        };
        match serde_json::from_slice::<HistoryRecord>(&bytes) {
            Ok(r) => points.push(r.point),
            Err(e) => {
                tracing::warn!(file = %name, error = %e, "skipping unreadable history record")
            }
        }
    }
    Ok(points)
}
