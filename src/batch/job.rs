//! S3 Control `CreateJob` requests for the `S3ReplicateObject` operation, ready for
//! `aws s3control create-job --cli-input-json file://job-00001.json`.

use md5::{Digest, Md5};
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// Batch Operations' limit of objects per job.
pub const MAX_OBJECTS_PER_JOB: u64 = 20_000_000_000;

/// Which tasks the completion report lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportScope {
    AllTasks,
    FailedTasksOnly,
}

impl ReportScope {
    pub fn parse(s: &str) -> Result<ReportScope> {
        match s {
            "AllTasks" | "all" => Ok(ReportScope::AllTasks),
            "FailedTasksOnly" | "failed" => Ok(ReportScope::FailedTasksOnly),
            other => Err(Error::Usage(format!(
                "unknown --report-scope {other:?}; use FailedTasksOnly or AllTasks"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ReportScope::AllTasks => "AllTasks",
            ReportScope::FailedTasksOnly => "FailedTasksOnly",
        }
    }
}

/// Everything a job request needs besides the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    pub account_id: String,
    pub role_arn: String,
    /// Bucket name (not ARN) for the completion report.
    pub report_bucket: String,
    pub report_prefix: String,
    pub report_scope: ReportScope,
    pub priority: u32,
    pub confirmation_required: bool,
}

impl JobSettings {
    /// The account id, from `--account-id` or else the role ARN (`arn:aws:iam::ACCOUNT:role/…`).
    pub fn account_from_role(role_arn: &str) -> Option<String> {
        let parts: Vec<&str> = role_arn.split(':').collect();
        (parts.len() >= 6 && parts[0] == "arn" && parts[2] == "iam")
            .then(|| parts[4].to_string())
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    }
}

/// How the manifest the job reads is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestSpec {
    /// A Batch Operations CSV with `Bucket, Key, VersionId` (or `Bucket, Key`).
    Csv { versioned: bool },
    /// An inventory-report `manifest.json` listing CSV parts.
    InventoryReport,
}

/// A deterministic, idempotent token (≤ 64 characters): the same manifest gives the same
/// token, so submitting a job twice creates it once.
pub fn client_request_token(object_arn: &str, etag: &str) -> String {
    let digest = Md5::digest(format!("{object_arn}\n{etag}").as_bytes());
    format!("s3inv-{}", hex::encode(digest))
}

/// The `CreateJob` request for one manifest object.
pub fn create_job(
    settings: &JobSettings,
    spec: ManifestSpec,
    object_arn: &str,
    etag: &str,
    description: &str,
) -> Value {
    let manifest_spec = match spec {
        ManifestSpec::Csv { versioned: true } => {
            json!({ "Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key", "VersionId"] })
        }
        ManifestSpec::Csv { versioned: false } => {
            json!({ "Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"] })
        }
        ManifestSpec::InventoryReport => json!({ "Format": "S3InventoryReport_CSV_20161130" }),
    };
    let mut description = description.to_string();
    description.truncate(256);
    json!({
        "AccountId": settings.account_id,
        "ConfirmationRequired": settings.confirmation_required,
        "Operation": { "S3ReplicateObject": {} },
        "Manifest": {
            "Spec": manifest_spec,
            "Location": { "ObjectArn": object_arn, "ETag": etag },
        },
        "Report": {
            "Enabled": true,
            "Bucket": format!("arn:aws:s3:::{}", settings.report_bucket),
            "Format": "Report_CSV_20180820",
            "Prefix": settings.report_prefix,
            "ReportScope": settings.report_scope.as_str(),
        },
        "Priority": settings.priority,
        "RoleArn": settings.role_arn,
        "ClientRequestToken": client_request_token(object_arn, etag),
        "Description": description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_shape() {
        let s = JobSettings {
            account_id: "111122223333".into(),
            role_arn: "arn:aws:iam::111122223333:role/batch-replication".into(),
            report_bucket: "acme-ops".into(),
            report_prefix: "reports/backfill".into(),
            report_scope: ReportScope::FailedTasksOnly,
            priority: 10,
            confirmation_required: true,
        };
        let j = create_job(
            &s,
            ManifestSpec::Csv { versioned: true },
            "arn:aws:s3:::acme-ops/m/manifest-00001.csv",
            "abc",
            "d",
        );
        assert_eq!(
            j["Manifest"]["Spec"]["Fields"],
            json!(["Bucket", "Key", "VersionId"])
        );
        assert_eq!(j["Report"]["Bucket"], "arn:aws:s3:::acme-ops");
        assert_eq!(j["Report"]["ReportScope"], "FailedTasksOnly");
        assert_eq!(j["Operation"], json!({"S3ReplicateObject": {}}));
        let token = j["ClientRequestToken"].as_str().unwrap();
        assert!(token.len() <= 64);
        assert_eq!(
            token,
            client_request_token("arn:aws:s3:::acme-ops/m/manifest-00001.csv", "abc")
        );
        assert_eq!(
            JobSettings::account_from_role(&s.role_arn),
            Some("111122223333".into())
        );
        assert_eq!(JobSettings::account_from_role("role"), None);
    }
}
