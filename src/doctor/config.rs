//! The configuration bundle: the documents `--print-collect-script` (or `--live`) exports
//! with the AWS CLI's shapes (doctor.md §b, file names §f.2), read into typed facts.
//!
//! Every document is in one of four states: read; *absent* (the CLI's error line says the
//! bucket has no such configuration — a fact too); *unreadable* (denied, or another error —
//! "cannot check"); or *not collected* (no file — "not checked"). Only malformed JSON is an
//! error, naming the file and where in it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// File name → text, as collected (`.json` documents and `.err` error lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bundle {
    pub files: BTreeMap<String, String>,
    /// Where the files came from, for evidence (`./config`, `live`).
    pub origin: String,
}

impl Bundle {
    /// Reads every `.json` and `.err` file below `dir`, keyed by its path relative to `dir`
    /// with `/` separators.
    pub fn read_dir(dir: &Path) -> Result<Bundle> {
        let meta = std::fs::metadata(dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Usage(format!(
                "--config {}: no such folder; give the folder the collect script wrote (s3inv doctor --print-collect-script BUCKET)",
                dir.display()
            )),
            _ => Error::Io {
                path: dir.display().to_string(),
                source: e,
            },
        })?;
        if !meta.is_dir() {
            return Err(Error::Usage(format!(
                "--config {}: not a folder; give the folder the collect script wrote (s3inv doctor --print-collect-script BUCKET)",
                dir.display()
            )));
        }
        // The same reading as the collect script's output is checked with (hidden files
        // are an interrupted write's, non-UTF-8 text is named).
        let files = super::collect::read_bundle(dir)?;
        Ok(Bundle {
            files,
            origin: dir.display().to_string(),
        })
    }

    /// The document `stem` (`replication`, `dst/b.versioning`): its JSON, the error the CLI
    /// printed, or nothing. An empty `.json` (the CLI prints nothing for a bucket whose
    /// versioning was never enabled) reads as `{}`.
    pub fn document(&self, stem: &str) -> Result<Doc> {
        let json_name = format!("{stem}.json");
        if let Some(text) = self.files.get(&json_name) {
            if let Some(err) = error_line(text) {
                return Ok(Doc::from_error(&json_name, err));
            }
            let text = text.trim();
            if text.is_empty() {
                return Ok(Doc::Read {
                    value: Value::Object(Default::default()),
                    origin: json_name,
                });
            }
            let value: Value = serde_json::from_str(text).map_err(|e| {
                // serde_json ends its message with the position; it is said once, first.
                let what = e.to_string();
                let what = what
                    .rsplit_once(" at line ")
                    .map_or(what.as_str(), |(w, _)| w)
                    .to_string();
                Error::bad_data(
                    self.shown(&json_name),
                    format!(
                        "not valid JSON at line {}, column {}: {what}; fix the file or collect it again (s3inv doctor --print-collect-script BUCKET)",
                        e.line(),
                        e.column()
                    ),
                )
            })?;
            return Ok(Doc::Read {
                value,
                origin: json_name,
            });
        }
        let err_name = format!("{stem}.err");
        if let Some(text) = self.files.get(&err_name) {
            if text.trim().is_empty() {
                return Ok(Doc::NotCollected);
            }
            return Ok(Doc::from_error(
                &err_name,
                error_line(text).unwrap_or(text.trim()),
            ));
        }
        Ok(Doc::NotCollected)
    }

    /// Names of the files under `folder/` (`iam/inline/`), without it.
    pub fn names_under(&self, folder: &str) -> Vec<String> {
        let prefix = format!("{}/", folder.trim_end_matches('/'));
        self.files
            .keys()
            .filter_map(|n| n.strip_prefix(&prefix))
            .filter(|n| !n.contains('/'))
            .map(str::to_string)
            .collect()
    }

    /// A bundle file as users see it: `config/replication.json`.
    pub fn shown(&self, name: &str) -> String {
        if self.origin.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.origin.trim_end_matches('/'))
        }
    }
}

/// The AWS CLI's error line (`An error occurred (CODE) when calling the OP operation: …`)
/// in `text`, if it holds one.
fn error_line(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("An error occurred (") || l.contains("An error occurred ("))
}

/// One collected document.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    Read {
        value: Value,
        origin: String,
    },
    /// The bucket has no such configuration (the CLI said `…NotFound…`).
    Absent {
        code: String,
        origin: String,
    },
    /// The call failed otherwise (AccessDenied, …): cannot check.
    Unreadable {
        code: String,
        message: String,
        origin: String,
    },
    NotCollected,
}

/// Error codes that mean "this bucket has no such configuration".
const ABSENT_CODES: [&str; 8] = [
    "ReplicationConfigurationNotFoundError",
    "OwnershipControlsNotFoundError",
    "ObjectLockConfigurationNotFoundError",
    "NoSuchPublicAccessBlockConfiguration",
    "NoSuchBucketPolicy",
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchConfiguration",
    "NoSuchEntity",
];

impl Doc {
    fn from_error(origin: &str, line: &str) -> Doc {
        let code = line
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(code, _)| code.trim().to_string())
            .unwrap_or_else(|| "Error".into());
        if ABSENT_CODES.contains(&code.as_str()) {
            Doc::Absent {
                code,
                origin: origin.to_string(),
            }
        } else {
            Doc::Unreadable {
                code,
                message: line.to_string(),
                origin: origin.to_string(),
            }
        }
    }

    /// The JSON and its file name, when read.
    pub fn read(&self) -> Option<(&Value, &str)> {
        match self {
            Doc::Read { value, origin } => Some((value, origin)),
            _ => None,
        }
    }

    /// "cannot check" / "not checked" text for a document that was not read, naming it.
    pub fn why_unknown(&self, what: &str) -> Option<String> {
        match self {
            Doc::Read { .. } | Doc::Absent { .. } => None,
            Doc::Unreadable { code, origin, .. } => {
                Some(format!("cannot check {what} ({code} in {origin})"))
            }
            Doc::NotCollected => Some(format!("{what} not checked (no file)")),
        }
    }
}

/// A string at `path` (`["Destination", "Bucket"]`) of `value`.
pub fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = value;
    for p in path {
        v = v.get(*p)?;
    }
    v.as_str()
}

/// The string at `path` of `value`, `None` when absent or null, an error naming `at` (the
/// JSON path shown) when it is there but not a string.
fn string_at<'a>(
    value: &'a Value,
    path: &[&str],
    at: &str,
    origin: &str,
) -> Result<Option<&'a str>> {
    let mut v = value;
    for p in path {
        match v.get(*p) {
            Some(next) => v = next,
            None => return Ok(None),
        }
    }
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(Error::bad_data(
            origin.to_string(),
            format!("{at}: a string expected, found {other}"),
        )),
    }
}

/// `Status: Enabled` at `path`.
fn enabled(value: &Value, path: &[&str]) -> bool {
    text(value, path).is_some_and(|s| s.eq_ignore_ascii_case("Enabled"))
}

/// The bucket name of `arn:aws:s3:::name` (or a bare name).
pub fn bucket_of_arn(arn: &str) -> String {
    arn.strip_prefix("arn:")
        .and_then(|rest| rest.rsplit_once(":::"))
        .map_or(arn, |(_, name)| name)
        .trim_end_matches('/')
        .to_string()
}

/// Which schema a rule was written in: V1 (rule-level `Prefix`, no `Filter`) or V2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    V1,
    V2,
}

/// A rule's filter: every listed tag must match, and the key must start with the prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub prefix: String,
    pub tags: Vec<(String, String)>,
}

/// One replication rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The rule's `ID`, or `#N` (its position, from 1) when it has none.
    pub id: String,
    /// Where the rule is in the document (`Rules[0]`), for evidence.
    pub path: String,
    pub priority: i64,
    pub enabled: bool,
    pub schema: Schema,
    pub filter: Filter,
    pub destination: Destination,
    pub sse_kms_opted_in: bool,
    pub replica_modifications: bool,
    /// Delete markers are replicated: V1 always (user deletes), V2 with
    /// `DeleteMarkerReplication: Enabled`.
    pub delete_markers: bool,
    pub existing_object_replication: bool,
}

/// Where a rule replicates to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destination {
    /// The bucket name (from `Destination.Bucket`'s ARN).
    pub bucket: String,
    pub account: Option<String>,
    pub storage_class: Option<String>,
    pub replica_kms_key: Option<String>,
    pub owner_override: bool,
    pub metrics: bool,
    pub replication_time: bool,
}

/// The source bucket's replication configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationConfig {
    pub role: Option<String>,
    pub rules: Vec<Rule>,
    pub origin: String,
}

impl ReplicationConfig {
    /// Reads `get-bucket-replication` output, or the bare configuration
    /// (`put-bucket-replication --replication-configuration` input).
    pub fn parse(value: &Value, origin: &str) -> Result<ReplicationConfig> {
        if value.as_object().is_some_and(|o| o.is_empty()) {
            return Err(Error::bad_data(
                origin.to_string(),
                "empty: expected get-bucket-replication's output ({\"ReplicationConfiguration\": {…}}); collect it again, or remove the file to leave the configuration unchecked",
            ));
        }
        let config = value.get("ReplicationConfiguration").unwrap_or(value);
        let bad =
            |path: &str, what: &str| Error::bad_data(origin.to_string(), format!("{path}: {what}"));
        // Every string member is checked for its type: a number where a bucket or a prefix
        // belongs is a broken document, not an absent member.
        let s = |v: &'_ Value, keys: &[&str], at: String| -> Result<Option<String>> {
            Ok(string_at(v, keys, &at, origin)?.map(str::to_string))
        };
        let role = s(config, &["Role"], "ReplicationConfiguration.Role".into())?;
        let rules = match config.get("Rules") {
            Some(Value::Array(rules)) => rules,
            Some(_) => return Err(bad("ReplicationConfiguration.Rules", "not a list")),
            None => return Err(bad("ReplicationConfiguration.Rules", "missing")),
        };
        let mut out = Vec::with_capacity(rules.len());
        for (i, rule) in rules.iter().enumerate() {
            let path = format!("Rules[{i}]");
            if !rule.is_object() {
                return Err(bad(&path, "not an object"));
            }
            let schema = if rule.get("Filter").is_some() || rule.get("Prefix").is_none() {
                Schema::V2
            } else {
                Schema::V1
            };
            let filter = match schema {
                Schema::V1 => Filter {
                    prefix: s(rule, &["Prefix"], format!("{path}.Prefix"))?.unwrap_or_default(),
                    tags: Vec::new(),
                },
                Schema::V2 => parse_filter(rule.get("Filter"), &format!("{path}.Filter"), origin)?,
            };
            let destination = rule
                .get("Destination")
                .ok_or_else(|| bad(&format!("{path}.Destination"), "missing"))?;
            let bucket_at = format!("{path}.Destination.Bucket");
            let bucket = s(destination, &["Bucket"], bucket_at.clone())?
                .ok_or_else(|| bad(&bucket_at, "missing"))?;
            if bucket.trim().is_empty() {
                return Err(bad(&bucket_at, "empty"));
            }
            let id = s(rule, &["ID"], format!("{path}.ID"))?;
            let destination_text = |keys: &[&str]| {
                s(
                    destination,
                    keys,
                    format!("{path}.Destination.{}", keys.join(".")),
                )
            };
            let account = destination_text(&["Account"])?;
            let storage_class = destination_text(&["StorageClass"])?;
            let replica_kms_key =
                destination_text(&["EncryptionConfiguration", "ReplicaKmsKeyID"])?;
            let owner = destination_text(&["AccessControlTranslation", "Owner"])?;
            let priority = match rule.get("Priority") {
                None | Some(Value::Null) => 0,
                Some(p) => p
                    .as_i64()
                    .ok_or_else(|| bad(&format!("{path}.Priority"), "not a whole number"))?,
            };
            out.push(Rule {
                id: id
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| format!("#{}", i + 1)),
                path,
                priority,
                enabled: enabled(rule, &["Status"]),
                schema,
                filter,
                destination: Destination {
                    bucket: bucket_of_arn(&bucket),
                    account,
                    storage_class,
                    replica_kms_key,
                    owner_override: owner.is_some_and(|o| o == "Destination"),
                    metrics: enabled(destination, &["Metrics", "Status"]),
                    replication_time: enabled(destination, &["ReplicationTime", "Status"]),
                },
                sse_kms_opted_in: enabled(
                    rule,
                    &[
                        "SourceSelectionCriteria",
                        "SseKmsEncryptedObjects",
                        "Status",
                    ],
                ),
                replica_modifications: enabled(
                    rule,
                    &["SourceSelectionCriteria", "ReplicaModifications", "Status"],
                ),
                delete_markers: match schema {
                    Schema::V1 => true,
                    Schema::V2 => enabled(rule, &["DeleteMarkerReplication", "Status"]),
                },
                existing_object_replication: rule.get("ExistingObjectReplication").is_some(),
            });
        }
        Ok(ReplicationConfig {
            role,
            rules: out,
            origin: origin.to_string(),
        })
    }

    /// The destination buckets, in the order rules first name them.
    pub fn destinations(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.rules {
            if !out.contains(&r.destination.bucket) {
                out.push(r.destination.bucket.clone());
            }
        }
        out
    }
}

fn parse_filter(filter: Option<&Value>, path: &str, origin: &str) -> Result<Filter> {
    let bad = |what: &str| Error::bad_data(origin.to_string(), format!("{path}: {what}"));
    let Some(filter) = filter else {
        return Ok(Filter::default());
    };
    if !filter.is_object() {
        return Err(bad("not an object"));
    }
    let tag = |t: &Value, at: &str| -> Result<(String, String)> {
        match (text(t, &["Key"]), text(t, &["Value"])) {
            (Some(k), Some(v)) => Ok((k.to_string(), v.to_string())),
            _ => Err(Error::bad_data(
                origin.to_string(),
                format!("{at}: a tag needs Key and Value"),
            )),
        }
    };
    let mut out = Filter::default();
    if let Some(prefix) = string_at(filter, &["Prefix"], &format!("{path}.Prefix"), origin)? {
        out.prefix = prefix.to_string();
    }
    if let Some(t) = filter.get("Tag") {
        out.tags.push(tag(t, &format!("{path}.Tag"))?);
    }
    if let Some(and) = filter.get("And") {
        if let Some(prefix) = string_at(and, &["Prefix"], &format!("{path}.And.Prefix"), origin)? {
            out.prefix = prefix.to_string();
        }
        match and.get("Tags") {
            None => {}
            Some(Value::Array(tags)) => {
                for (i, t) in tags.iter().enumerate() {
                    out.tags.push(tag(t, &format!("{path}.And.Tags[{i}]"))?);
                }
            }
            Some(_) => return Err(bad("And.Tags is not a list")),
        }
    }
    Ok(out)
}

/// `get-bucket-versioning`: `Enabled`, `Suspended`, or never enabled (no `Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioning {
    Enabled,
    Suspended,
    Never,
}

impl Versioning {
    pub fn from_doc(doc: &Doc) -> Option<Versioning> {
        let (value, _) = doc.read()?;
        Some(match text(value, &["Status"]) {
            Some(s) if s.eq_ignore_ascii_case("Enabled") => Versioning::Enabled,
            Some(s) if s.eq_ignore_ascii_case("Suspended") => Versioning::Suspended,
            _ => Versioning::Never,
        })
    }
}

/// Object Lock on a bucket: `Some(true)` enabled, `Some(false)` absent, `None` unknown.
pub fn object_lock(doc: &Doc) -> Option<bool> {
    match doc {
        Doc::Read { value, .. } => Some(enabled(
            value,
            &["ObjectLockConfiguration", "ObjectLockEnabled"],
        )),
        Doc::Absent { .. } => Some(false),
        _ => None,
    }
}

/// The encryption types a bucket blocks (`BlockedEncryptionTypes`), e.g. `SSE-C`.
pub fn blocked_encryption_types(doc: &Doc) -> Option<Vec<String>> {
    let (value, _) = doc.read()?;
    let rules = value
        .get("ServerSideEncryptionConfiguration")
        .and_then(|c| c.get("Rules"))
        .and_then(Value::as_array)?;
    let mut out = Vec::new();
    for r in rules {
        match r
            .get("BlockedEncryptionTypes")
            .and_then(|b| b.get("EncryptionType"))
        {
            Some(Value::Array(types)) => {
                out.extend(types.iter().filter_map(Value::as_str).map(str::to_string))
            }
            Some(Value::String(t)) => out.push(t.clone()),
            _ => {}
        }
    }
    Some(out)
}

/// The default-encryption KMS key of a bucket, if it has one.
pub fn default_kms_key(doc: &Doc) -> Option<String> {
    let (value, _) = doc.read()?;
    value
        .get("ServerSideEncryptionConfiguration")?
        .get("Rules")?
        .as_array()?
        .iter()
        .find_map(|r| text(r, &["ApplyServerSideEncryptionByDefault", "KMSMasterKeyID"]))
        .map(str::to_string)
}

/// Whether a bucket's default encryption uses S3 Bucket Keys.
pub fn bucket_key_enabled(doc: &Doc) -> Option<bool> {
    let (value, _) = doc.read()?;
    let rules = value
        .get("ServerSideEncryptionConfiguration")?
        .get("Rules")?
        .as_array()?;
    Some(
        rules
            .iter()
            .any(|r| r.get("BucketKeyEnabled").and_then(Value::as_bool) == Some(true)),
    )
}

/// `ObjectOwnership` (`BucketOwnerEnforced`, …); absent controls read as `ObjectWriter`.
pub fn object_ownership(doc: &Doc) -> Option<String> {
    match doc {
        Doc::Read { value, .. } => value
            .get("OwnershipControls")
            .and_then(|c| c.get("Rules"))
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .and_then(|r| text(r, &["ObjectOwnership"]))
            .map(str::to_string),
        Doc::Absent { .. } => Some("ObjectWriter".into()),
        _ => None,
    }
}

/// `BlockPublicAcls` of a public access block; absent means not blocked.
pub fn blocks_public_acls(doc: &Doc) -> Option<bool> {
    match doc {
        Doc::Read { value, .. } => Some(
            value
                .get("PublicAccessBlockConfiguration")
                .and_then(|c| c.get("BlockPublicAcls"))
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        Doc::Absent { .. } => Some(false),
        _ => None,
    }
}

/// `Payer` of `get-bucket-request-payment`.
pub fn payer(doc: &Doc) -> Option<String> {
    let (value, _) = doc.read()?;
    text(value, &["Payer"]).map(str::to_string)
}

/// The Region of `get-bucket-location` (`null` / empty is us-east-1).
pub fn region(doc: &Doc) -> Option<String> {
    let (value, _) = doc.read()?;
    Some(match text(value, &["LocationConstraint"]) {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(r) => r.to_string(),
    })
}

/// The bucket owner's canonical id (`get-bucket-acl` `Owner.ID`).
pub fn owner_id(doc: &Doc) -> Option<String> {
    let (value, _) = doc.read()?;
    text(value, &["Owner", "ID"]).map(str::to_string)
}

/// `describe-key`: the key's state and manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub arn: Option<String>,
    pub state: Option<String>,
    pub manager: Option<String>,
}

pub fn key_facts(doc: &Doc) -> Option<KeyFacts> {
    let (value, _) = doc.read()?;
    let meta = value.get("KeyMetadata")?;
    Some(KeyFacts {
        arn: text(meta, &["Arn"]).map(str::to_string),
        state: text(meta, &["KeyState"]).map(str::to_string),
        manager: text(meta, &["KeyManager"]).map(str::to_string),
    })
}

/// The file stem of a KMS key in the bundle: the key id (last segment of its ARN), or an
/// alias with `alias/` written `alias-`.
pub fn key_stem(key: &str) -> String {
    let tail = key.rsplit_once(":").map_or(key, |(_, t)| t);
    if let Some(alias) = tail.strip_prefix("alias/") {
        return format!("alias-{}", alias.replace('/', "-"));
    }
    tail.strip_prefix("key/").unwrap_or(tail).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(files: &[(&str, &str)]) -> Bundle {
        Bundle {
            files: files
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            origin: "cfg".into(),
        }
    }

    #[test]
    fn documents_read_absent_unreadable_or_not_collected() {
        let b = bundle(&[
            (
                "replication.json",
                "{\"ReplicationConfiguration\":{\"Rules\":[]}}",
            ),
            (
                "src.ownership.err",
                "\nAn error occurred (OwnershipControlsNotFoundError) when calling the GetBucketOwnershipControls operation: The bucket ownership controls were not found\n",
            ),
            (
                "dst/b.policy.err",
                "An error occurred (AccessDenied) when calling the GetBucketPolicy operation: Access Denied",
            ),
            ("dst/b.versioning.json", ""),
        ]);
        assert!(b.document("replication").unwrap().read().is_some());
        assert!(matches!(
            b.document("src.ownership").unwrap(),
            Doc::Absent { ref code, .. } if code == "OwnershipControlsNotFoundError"
        ));
        let denied = b.document("dst/b.policy").unwrap();
        assert_eq!(
            denied.why_unknown("the destination bucket policy"),
            Some(
                "cannot check the destination bucket policy (AccessDenied in dst/b.policy.err)"
                    .into()
            )
        );
        assert_eq!(b.document("kms/x.describe").unwrap(), Doc::NotCollected);
        // The CLI prints nothing for a bucket never versioned.
        assert_eq!(
            Versioning::from_doc(&b.document("dst/b.versioning").unwrap()),
            Some(Versioning::Never)
        );
        let bad = bundle(&[("replication.json", "{\"Rules\": [")]);
        let e = bad.document("replication").unwrap_err().to_string();
        assert!(
            e.starts_with("cfg/replication.json: not valid JSON at line 1"),
            "{e}"
        );
    }

    #[test]
    fn v1_and_v2_rules() {
        // The AWS CLI's own example (V1): rule-level Prefix, no Priority.
        let v1: Value = serde_json::from_str(
            r#"{"ReplicationConfiguration": {"Rules": [{"Status": "Enabled", "Prefix": "",
            "Destination": {"Bucket": "arn:aws:s3:::my-bucket-backup", "StorageClass": "STANDARD"},
            "ID": "ZmUw"}], "Role": "arn:aws:iam::123456789012:role/s3-replication-role"}}"#,
        )
        .unwrap();
        let c = ReplicationConfig::parse(&v1, "replication.json").unwrap();
        assert_eq!(c.rules[0].schema, Schema::V1);
        assert!(c.rules[0].delete_markers && c.rules[0].enabled);
        assert_eq!(c.rules[0].destination.bucket, "my-bucket-backup");
        assert_eq!(
            c.role.as_deref(),
            Some("arn:aws:iam::123456789012:role/s3-replication-role")
        );
        let v2: Value = serde_json::from_str(
            r#"{"Rules": [{"ID": "a", "Priority": 2, "Status": "Enabled",
              "Filter": {"And": {"Prefix": "logs/", "Tags": [{"Key": "k", "Value": "v"}]}},
              "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
              "Destination": {"Bucket": "arn:aws:s3:::dr", "Account": "444455556666",
                "AccessControlTranslation": {"Owner": "Destination"},
                "EncryptionConfiguration": {"ReplicaKmsKeyID": "arn:aws:kms:us-west-2:4:key/k1"},
                "Metrics": {"Status": "Enabled"}},
              "DeleteMarkerReplication": {"Status": "Disabled"}},
             {"Priority": 1, "Status": "Disabled", "Filter": {},
              "Destination": {"Bucket": "arn:aws:s3:::dr"}}], "Role": "r"}"#,
        )
        .unwrap();
        let c = ReplicationConfig::parse(&v2, "replication.json").unwrap();
        let a = &c.rules[0];
        assert_eq!(a.schema, Schema::V2);
        assert_eq!(a.filter.prefix, "logs/");
        assert_eq!(a.filter.tags, vec![("k".to_string(), "v".to_string())]);
        assert!(a.sse_kms_opted_in && !a.delete_markers && a.destination.owner_override);
        assert!(a.destination.metrics && !a.destination.replication_time);
        assert_eq!(c.rules[1].id, "#2");
        assert!(!c.rules[1].enabled);
        assert_eq!(c.destinations(), vec!["dr".to_string()]);
        let bad: Value = serde_json::from_str(r#"{"Rules": [{"Status": "Enabled"}]}"#).unwrap();
        assert_eq!(
            ReplicationConfig::parse(&bad, "cfg/replication.json")
                .unwrap_err()
                .to_string(),
            "cfg/replication.json: Rules[0].Destination: missing"
        );
        // A member of the wrong type is named with its JSON path, never taken as absent.
        let cases = [
            (
                r#"{"Rules": [{"Filter": {}, "Destination": {"Bucket": 7}}]}"#,
                "Rules[0].Destination.Bucket: a string expected, found 7",
            ),
            (
                r#"{"Role": 5, "Rules": []}"#,
                "ReplicationConfiguration.Role: a string expected, found 5",
            ),
            (
                r#"{"Rules": [{"Filter": {"Prefix": 3}, "Destination": {"Bucket": "b"}}]}"#,
                "Rules[0].Filter.Prefix: a string expected, found 3",
            ),
            (
                r#"{"Rules": [{"Filter": {"And": {"Prefix": false}}, "Destination": {"Bucket": "b"}}]}"#,
                "Rules[0].Filter.And.Prefix: a string expected, found false",
            ),
            (
                r#"{"Rules": [{"Filter": {}, "Destination": {"Bucket": ""}}]}"#,
                "Rules[0].Destination.Bucket: empty",
            ),
            (
                r#"{"Rules": [{"Filter": {}, "Destination": {"Bucket": "b", "EncryptionConfiguration": {"ReplicaKmsKeyID": []}}}]}"#,
                "Rules[0].Destination.EncryptionConfiguration.ReplicaKmsKeyID: a string expected, found []",
            ),
            ("{}", "empty: expected get-bucket-replication's output"),
        ];
        for (text, expected) in cases {
            let value: Value = serde_json::from_str(text).unwrap();
            let e = ReplicationConfig::parse(&value, "cfg/replication.json")
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("cfg/replication.json: {expected}")),
                "{text}: {e}"
            );
        }
        // A JSON syntax error says where once, and how to get a good file.
        let bad = bundle(&[("replication.json", "{\"Rules\": [1,,]}")]);
        let e = bad.document("replication").unwrap_err().to_string();
        assert_eq!(
            e,
            "cfg/replication.json: not valid JSON at line 1, column 14: expected value; fix the file or collect it again (s3inv doctor --print-collect-script BUCKET)"
        );
    }

    #[test]
    fn key_stems() {
        assert_eq!(
            key_stem("arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab"),
            "1234abcd-12ab"
        );
        assert_eq!(key_stem("alias/aws/s3"), "alias-aws-s3");
        assert_eq!(key_stem("1234abcd"), "1234abcd");
    }
}
