//! S3 Control `CreateJob` requests for the `S3ReplicateObject` operation, ready for
//! `aws s3control create-job --cli-input-json file://job-00001.json`.

use md5::{Digest, Md5};
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// Batch Operations' limit of objects per job.
pub const MAX_OBJECTS_PER_JOB: u64 = 20_000_000_000;

/// CreateJob's largest `Priority` (a signed 32-bit integer, 0 or more).
pub const MAX_PRIORITY: u32 = i32::MAX as u32;

/// Parses `--priority`: 0 to [`MAX_PRIORITY`].
pub fn parse_priority(s: &str) -> std::result::Result<u32, String> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|p| *p <= MAX_PRIORITY)
        .ok_or_else(|| {
            format!(
                "--priority must be a whole number from 0 to {MAX_PRIORITY} (CreateJob's range)"
            )
        })
}

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

/// What a job does to each object of its manifest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Operation {
    /// Batch Replication (`S3ReplicateObject`).
    #[default]
    Replicate,
    /// `S3InitiateRestoreObject`: archived objects come back for `expiration_days` (GLACIER
    /// and DEEP_ARCHIVE; CreateJob refuses the field for Intelligent-Tiering archive tiers,
    /// whose objects move back to the frequent tier instead).
    Restore {
        expiration_days: Option<u32>,
        tier: RestoreTier,
    },
}

/// The retrieval tier of a restore job (Batch Operations offers these two).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestoreTier {
    #[default]
    Bulk,
    Standard,
}

impl RestoreTier {
    pub fn parse(s: &str) -> Result<RestoreTier> {
        match s.trim().to_ascii_uppercase().as_str() {
            "BULK" => Ok(RestoreTier::Bulk),
            "STANDARD" => Ok(RestoreTier::Standard),
            _ => Err(Error::Usage(format!(
                "restore tier {s:?}: use BULK or STANDARD (the tiers Batch Operations restores with)"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RestoreTier::Bulk => "BULK",
            RestoreTier::Standard => "STANDARD",
        }
    }
}

impl Operation {
    /// The request's `Operation` member.
    fn json(self) -> Value {
        match self {
            Operation::Replicate => json!({ "S3ReplicateObject": {} }),
            Operation::Restore {
                expiration_days,
                tier,
            } => {
                let mut restore = json!({ "GlacierJobTier": tier.as_str() });
                if let Some(days) = expiration_days {
                    restore["ExpirationInDays"] = json!(days);
                }
                json!({ "S3InitiateRestoreObject": restore })
            }
        }
    }

    /// The verb of a job description.
    pub fn verb(self) -> &'static str {
        match self {
            Operation::Replicate => "replicate",
            Operation::Restore { .. } => "restore",
        }
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

/// CreateJob's limit on `Description`, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 256;

/// `s` cut to at most `max` bytes at a character boundary.
fn truncate_chars(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A deterministic, idempotent token (≤ 64 characters) over everything the request says
/// (manifest object and ETag, role, account, priority, report, confirmation, description):
/// the same request gives the same token, so submitting a job twice creates it once, while
/// a resubmission with other settings is a new request.
pub fn client_request_token(request: &Value) -> String {
    // serde_json writes object keys in a fixed order: the text is canonical.
    let mut request = request.clone();
    if let Some(m) = request.as_object_mut() {
        m.remove("ClientRequestToken");
    }
    let digest = Md5::digest(request.to_string().as_bytes());
    format!("s3inv-{}", hex::encode(digest))
}

/// The `CreateJob` request for one manifest object.
pub fn create_job(
    settings: &JobSettings,
    operation: Operation,
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
    let description = truncate_chars(description, MAX_DESCRIPTION_BYTES);
    let mut report = json!({
        "Enabled": true,
        "Bucket": format!("arn:aws:s3:::{}", settings.report_bucket),
        "Format": "Report_CSV_20180820",
        "ReportScope": settings.report_scope.as_str(),
    });
    // CreateJob refuses an empty Prefix: no prefix means the bucket's top level.
    if !settings.report_prefix.is_empty() {
        report["Prefix"] = json!(settings.report_prefix);
    }
    let mut request = json!({
        "AccountId": settings.account_id,
        "ConfirmationRequired": settings.confirmation_required,
        "Operation": operation.json(),
        "Manifest": {
            "Spec": manifest_spec,
            "Location": { "ObjectArn": object_arn, "ETag": etag },
        },
        "Report": report,
        "Priority": settings.priority,
        "RoleArn": settings.role_arn,
        "Description": description,
    });
    request["ClientRequestToken"] = json!(client_request_token(&request));
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_cut_at_a_character_boundary() {
        let s = JobSettings {
            account_id: "111122223333".into(),
            role_arn: "arn:aws:iam::111122223333:role/r".into(),
            report_bucket: "b".into(),
            report_prefix: "p".into(),
            report_scope: ReportScope::FailedTasksOnly,
            priority: 10,
            confirmation_required: true,
        };
        // 255 ASCII bytes, then a 3-byte character across byte 256.
        let text = format!("{}日本", "a".repeat(255));
        let j = create_job(
            &s,
            Operation::Replicate,
            ManifestSpec::InventoryReport,
            "arn:aws:s3:::b/m",
            "e",
            &text,
        );
        assert_eq!(j["Description"], "a".repeat(255));
        let short = "s3inv: replicate 日本";
        let j = create_job(
            &s,
            Operation::Replicate,
            ManifestSpec::InventoryReport,
            "arn:aws:s3:::b/m",
            "e",
            short,
        );
        assert_eq!(j["Description"], short);
        assert_eq!(truncate_chars("日本語", 7), "日本");
    }

    #[test]
    fn priority_and_report_prefix_stay_in_createjob_ranges() {
        assert_eq!(parse_priority("0"), Ok(0));
        assert_eq!(parse_priority("2147483647"), Ok(2147483647));
        for bad in ["2147483648", "4000000000", "-1", "ten"] {
            let e = parse_priority(bad).unwrap_err();
            assert!(e.contains("from 0 to 2147483647"), "{bad}: {e}");
        }
        let s = JobSettings {
            account_id: "111122223333".into(),
            role_arn: "arn:aws:iam::111122223333:role/r".into(),
            report_bucket: "b".into(),
            report_prefix: String::new(),
            report_scope: ReportScope::AllTasks,
            priority: 0,
            confirmation_required: true,
        };
        let j = create_job(
            &s,
            Operation::Replicate,
            ManifestSpec::InventoryReport,
            "arn:aws:s3:::b/m",
            "e",
            "d",
        );
        assert!(j["Report"].get("Prefix").is_none(), "{}", j["Report"]);
        assert_eq!(j["Report"]["Bucket"], "arn:aws:s3:::b");
    }

    #[test]
    fn request_shape() {
        // A request for the versioned CSV manifest the tests name, by settings, operation
        // and the manifest's ETag.
        let csv_job = |s: &JobSettings, op: Operation, etag: &str| {
            create_job(
                s,
                op,
                ManifestSpec::Csv { versioned: true },
                "arn:aws:s3:::acme-ops/m/manifest-00001.csv",
                etag,
                "d",
            )
        };
        let s = JobSettings {
            account_id: "111122223333".into(),
            role_arn: "arn:aws:iam::111122223333:role/batch-replication".into(),
            report_bucket: "acme-ops".into(),
            report_prefix: "reports/backfill".into(),
            report_scope: ReportScope::FailedTasksOnly,
            priority: 10,
            confirmation_required: true,
        };
        let j = csv_job(&s, Operation::Replicate, "abc");
        assert_eq!(
            j["Manifest"]["Spec"]["Fields"],
            json!(["Bucket", "Key", "VersionId"])
        );
        assert_eq!(j["Report"]["Bucket"], "arn:aws:s3:::acme-ops");
        assert_eq!(j["Report"]["ReportScope"], "FailedTasksOnly");
        assert_eq!(j["Operation"], json!({"S3ReplicateObject": {}}));
        let token = j["ClientRequestToken"].as_str().unwrap();
        assert!(token.len() <= 64);
        // Deterministic for the same request; any setting that changes the request changes it.
        let again = csv_job(&s, Operation::Replicate, "abc");
        assert_eq!(again["ClientRequestToken"], token);
        let variants = [
            JobSettings {
                role_arn: "arn:aws:iam::111122223333:role/other".into(),
                ..s.clone()
            },
            JobSettings {
                priority: 11,
                ..s.clone()
            },
            JobSettings {
                report_bucket: "other".into(),
                ..s.clone()
            },
            JobSettings {
                report_prefix: "reports/other".into(),
                ..s.clone()
            },
            JobSettings {
                report_scope: ReportScope::AllTasks,
                ..s.clone()
            },
            JobSettings {
                confirmation_required: false,
                ..s.clone()
            },
        ];
        let mut tokens = std::collections::BTreeSet::from([token.to_string()]);
        for v in &variants {
            let j = csv_job(v, Operation::Replicate, "abc");
            assert!(
                tokens.insert(j["ClientRequestToken"].as_str().unwrap().to_string()),
                "{v:?}"
            );
        }
        let other_etag = csv_job(&s, Operation::Replicate, "abd");
        assert!(
            tokens.insert(
                other_etag["ClientRequestToken"]
                    .as_str()
                    .unwrap()
                    .to_string()
            )
        );
        let restore = Operation::Restore {
            expiration_days: Some(7),
            tier: RestoreTier::Bulk,
        };
        let j = csv_job(&s, restore, "abc");
        assert_eq!(
            j["Operation"],
            json!({"S3InitiateRestoreObject": {"ExpirationInDays": 7, "GlacierJobTier": "BULK"}})
        );
        assert!(tokens.insert(j["ClientRequestToken"].as_str().unwrap().to_string()));
        // Intelligent-Tiering archive tiers: CreateJob refuses ExpirationInDays.
        let tiering = Operation::Restore {
            expiration_days: None,
            tier: RestoreTier::parse("standard").unwrap(),
        };
        let j = csv_job(&s, tiering, "abc");
        assert_eq!(
            j["Operation"],
            json!({"S3InitiateRestoreObject": {"GlacierJobTier": "STANDARD"}})
        );
        assert!(RestoreTier::parse("EXPEDITED").is_err());
        assert_eq!(
            JobSettings::account_from_role(&s.role_arn),
            Some("111122223333".into())
        );
        assert_eq!(JobSettings::account_from_role("role"), None);
    }
}
