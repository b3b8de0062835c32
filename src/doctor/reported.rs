//! Failure reasons S3 reported for single objects — `OperationFailedReplication` events and
//! failed tasks of Batch Replication completion reports — indexed by key and version id
//! for the diagnosis (doctor.md §f.4 step 1: a reported reason beats every inference).

use std::collections::HashMap;

use super::events::EventBatch;
use crate::batch::report::JobReport;

/// Where a reason was reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Event,
    Report,
}

/// One reported failure of one object version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub version: Option<String>,
    /// The destination bucket the failure concerned, when the report names it (events do).
    pub destination: Option<String>,
    pub code: String,
    pub time_ms: Option<i64>,
    pub source: Source,
}

/// Reported reasons by key (decoded).
#[derive(Debug, Default)]
pub struct Reported {
    by_key: HashMap<String, Vec<Reason>>,
    /// Events and tasks of another bucket than the inventory's, left out.
    pub other_buckets: u64,
    /// Events without a failure reason (threshold, not-tracked), left out.
    pub without_reason: u64,
    pub events: u64,
    pub tasks: u64,
}

/// A version id as the inventory holds it: `None` for the null version.
fn version(v: Option<&str>) -> Option<String> {
    v.filter(|v| !v.is_empty() && *v != "null" && *v != "\\N")
        .map(str::to_string)
}

impl Reported {
    /// Indexes the failure events of `bucket` and the failed tasks of the reports on it
    /// (every bucket's when the manifest does not name its source bucket).
    pub fn new(bucket: Option<&str>, events: &EventBatch, reports: &[JobReport]) -> Reported {
        let other = |b: &str| bucket.is_some_and(|want| want != b);
        let mut out = Reported::default();
        for e in &events.events {
            if other(&e.bucket) {
                out.other_buckets += 1;
                continue;
            }
            let Some(code) = &e.failure_reason else {
                out.without_reason += 1;
                continue;
            };
            out.events += 1;
            out.by_key.entry(e.key.clone()).or_default().push(Reason {
                version: version(e.version_id.as_deref()),
                destination: e.destination_bucket.clone(),
                code: code.clone(),
                time_ms: e.event_time_ms,
                source: Source::Event,
            });
        }
        for report in reports {
            for task in &report.failed {
                if other(&task.bucket) {
                    out.other_buckets += 1;
                    continue;
                }
                let Some(code) = task.error_code.as_deref().filter(|c| !c.is_empty()) else {
                    continue;
                };
                out.tasks += 1;
                out.by_key
                    .entry(task.key.clone())
                    .or_default()
                    .push(Reason {
                        version: version(task.version_id.as_deref()),
                        destination: None,
                        code: code.to_string(),
                        time_ms: None,
                        source: Source::Report,
                    });
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The reason for this object version at `destination`: the latest one that concerns
    /// it (events name their destination; report tasks concern every destination). A
    /// report task has no time: an event with one is preferred, then the last listed.
    pub fn reason(
        &self,
        key: &str,
        version: Option<&str>,
        destination: Option<&str>,
    ) -> Option<&Reason> {
        self.by_key
            .get(key)?
            .iter()
            .filter(|r| r.version.as_deref() == version)
            .filter(|r| match (&r.destination, destination) {
                (Some(d), Some(dest)) => d == dest,
                _ => true,
            })
            .max_by_key(|r| r.time_ms.unwrap_or(i64::MIN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::events::ReplicationEvent;

    fn event(
        key: &str,
        version: Option<&str>,
        dest: &str,
        code: &str,
        time: i64,
    ) -> ReplicationEvent {
        ReplicationEvent {
            bucket: "src".into(),
            key: key.into(),
            version_id: version.map(str::to_string),
            event_name: "Replication:OperationFailedReplication".into(),
            failure_reason: Some(code.into()),
            destination_bucket: Some(dest.into()),
            rule_id: None,
            event_time_ms: Some(time),
            request_id: None,
            origin: "e.json".into(),
        }
    }

    #[test]
    fn the_latest_reason_for_the_version_and_destination() {
        let events = EventBatch {
            events: vec![
                event("a b", Some("v1"), "dr", "DstBucketNotFound", 1),
                event("a b", Some("v1"), "dr", "DstPutObjectNotPermitted", 2),
                event("a b", Some("v1"), "eu", "AssumeRoleNotPermitted", 3),
                event("a b", Some("v2"), "dr", "SrcKeyNotFound", 4),
                ReplicationEvent {
                    bucket: "other".into(),
                    ..event("a b", Some("v1"), "dr", "X", 9)
                },
            ],
            ..Default::default()
        };
        let r = Reported::new(Some("src"), &events, &[]);
        assert_eq!(r.other_buckets, 1);
        assert_eq!(
            r.reason("a b", Some("v1"), Some("dr"))
                .map(|r| r.code.as_str()),
            Some("DstPutObjectNotPermitted")
        );
        assert_eq!(
            r.reason("a b", Some("v1"), Some("eu"))
                .map(|r| r.code.as_str()),
            Some("AssumeRoleNotPermitted")
        );
        // Without a known destination, the latest of all.
        assert_eq!(
            r.reason("a b", Some("v1"), None).map(|r| r.code.as_str()),
            Some("AssumeRoleNotPermitted")
        );
        assert_eq!(r.reason("a b", None, Some("dr")), None);
        assert_eq!(r.reason("c", Some("v1"), Some("dr")), None);
    }
}
