//! The configuration documents the doctor reads, gathered in one of two ways that give the
//! same bundle (`shared/spec/doctor.md` §f.2): a POSIX script of read-only AWS CLI calls for
//! users to run ([`collect_script`]), or the same calls made with the AWS SDK
//! ([`collect_live`]). [`write_bundle`] saves a bundle as the script would have left it,
//! [`read_bundle`] reads such a folder back.
//!
//! A bundle maps file names to file texts. `NAME.json` holds what the AWS CLI prints for a
//! call (§b); `NAME.err` holds the CLI's error line when the call failed, an absent
//! configuration included (`An error occurred (NoSuchBucketPolicy) when calling the
//! GetBucketPolicy operation: …`); when no answer came, or one that could not be read, it
//! says so instead (`GetBucketVersioning failed: …`). A name missing from the bundle was not
//! asked for.
//! Interpreting the documents is left to the doctor's readers; nothing here judges them.
//!
//! Names (`B` a destination bucket, `KEY` a KMS key's file id, see [`key_file_id`]):
//! `replication`, `src.{versioning,ownership,object-lock,encryption,acl,location,policy}`,
//! `dst/B.{versioning,ownership,object-lock,encryption,public-access-block,policy,
//! request-payment,location}`, `iam/role`, `iam/inline/POLICY`, `iam/attached/POLICY`,
//! `kms/KEY.describe`, `kms/KEY.policy` (an attached policy's POLICY is the last part of its
//! ARN); and two `.err`-only names, `iam/inline.err` and
//! `iam/attached.err`, for when the role's policies could not be listed (without them a
//! denied list would read as "no policies").

mod json;
mod live;
mod shapes;

use std::collections::BTreeMap;
use std::path::Path;

use aws_credential_types::provider::SharedCredentialsProvider;

use crate::error::{Error, Result};
use crate::storage::S3Options;

/// File name (relative, `/`-separated, with its `.json` or `.err`) → file text.
pub type Bundle = BTreeMap<String, String>;

/// `replication`: `aws s3api get-bucket-replication` of the source bucket.
pub const REPLICATION: &str = "replication";
/// `iam/role`: `aws iam get-role` of the configuration's role.
pub const ROLE: &str = "iam/role";
/// `iam/inline.err`: the role's inline policies could not be listed.
pub const INLINE_LIST: &str = "iam/inline";
/// `iam/attached.err`: the role's attached policies could not be listed.
pub const ATTACHED_LIST: &str = "iam/attached";

/// A bucket document: which part of a file name it is, and which call reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketDoc {
    Versioning,
    Ownership,
    ObjectLock,
    Encryption,
    Acl,
    Location,
    Policy,
    PublicAccessBlock,
    RequestPayment,
}

impl BucketDoc {
    /// What is read of the source bucket.
    pub const SOURCE: [BucketDoc; 7] = [
        BucketDoc::Versioning,
        BucketDoc::Ownership,
        BucketDoc::ObjectLock,
        BucketDoc::Encryption,
        BucketDoc::Acl,
        BucketDoc::Location,
        BucketDoc::Policy,
    ];

    /// What is read of each destination bucket.
    pub const DESTINATION: [BucketDoc; 8] = [
        BucketDoc::Versioning,
        BucketDoc::Ownership,
        BucketDoc::ObjectLock,
        BucketDoc::Encryption,
        BucketDoc::PublicAccessBlock,
        BucketDoc::Policy,
        BucketDoc::RequestPayment,
        BucketDoc::Location,
    ];

    /// The file name part: `src.<name>`, `dst/B.<name>`.
    pub fn name(self) -> &'static str {
        match self {
            BucketDoc::Versioning => "versioning",
            BucketDoc::Ownership => "ownership",
            BucketDoc::ObjectLock => "object-lock",
            BucketDoc::Encryption => "encryption",
            BucketDoc::Acl => "acl",
            BucketDoc::Location => "location",
            BucketDoc::Policy => "policy",
            BucketDoc::PublicAccessBlock => "public-access-block",
            BucketDoc::RequestPayment => "request-payment",
        }
    }

    /// The S3 API operation, as error lines name it.
    pub fn operation(self) -> &'static str {
        match self {
            BucketDoc::Versioning => "GetBucketVersioning",
            BucketDoc::Ownership => "GetBucketOwnershipControls",
            BucketDoc::ObjectLock => "GetObjectLockConfiguration",
            BucketDoc::Encryption => "GetBucketEncryption",
            BucketDoc::Acl => "GetBucketAcl",
            BucketDoc::Location => "GetBucketLocation",
            BucketDoc::Policy => "GetBucketPolicy",
            BucketDoc::PublicAccessBlock => "GetPublicAccessBlock",
            BucketDoc::RequestPayment => "GetBucketRequestPayment",
        }
    }
}

/// A KMS key document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyDoc {
    /// `aws kms describe-key`
    Describe,
    /// `aws kms get-key-policy --policy-name default`
    Policy,
}

/// `src.<doc>`
pub fn source_file(doc: BucketDoc) -> String {
    format!("src.{}", doc.name())
}

/// `dst/<bucket>.<doc>`
pub fn destination_file(bucket: &str, doc: BucketDoc) -> String {
    format!("dst/{bucket}.{}", doc.name())
}

/// `iam/inline/<policy>`: `aws iam get-role-policy`.
pub fn inline_policy_file(policy: &str) -> String {
    format!("iam/inline/{policy}")
}

/// `iam/attached/<policy>`: `aws iam get-policy-version` of the default version.
pub fn attached_policy_file(policy: &str) -> String {
    format!("iam/attached/{policy}")
}

/// `kms/<key id>.describe`, `kms/<key id>.policy`.
pub fn kms_file(key_id: &str, doc: KeyDoc) -> String {
    let what = match doc {
        KeyDoc::Describe => "describe",
        KeyDoc::Policy => "policy",
    };
    format!("kms/{key_id}.{what}")
}

/// The file id of a KMS key as a replication configuration or a default encryption names
/// it: the last part of a key ARN or key id (`1234abcd-…`), `alias-NAME` for an alias
/// (ARN or `alias/NAME`), any `/` in it made a `-`.
pub fn key_file_id(key: &str) -> String {
    let alias = key.strip_prefix("alias/").or_else(|| {
        key.starts_with("arn:")
            .then(|| key.split_once(":alias/").map(|(_, a)| a))
            .flatten()
    });
    let id = match alias {
        Some(a) => format!("alias-{a}"),
        None => key.rsplit('/').next().unwrap_or(key).to_string(),
    };
    id.replace('/', "-")
}

/// One document of a bundle, by its name without extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document<'a> {
    /// `NAME.json`: what the call printed.
    Json(&'a str),
    /// `NAME.err`: the call failed; the CLI's error line.
    Failed(&'a str),
    /// Neither: not checked.
    Missing,
}

/// The document `stem` (`src.policy`, `dst/acme-dr.versioning`) of `bundle`.
pub fn document<'a>(bundle: &'a Bundle, stem: &str) -> Document<'a> {
    if let Some(text) = bundle.get(&format!("{stem}.json")) {
        Document::Json(text)
    } else if let Some(text) = bundle.get(&format!("{stem}.err")) {
        Document::Failed(text)
    } else {
        Document::Missing
    }
}

/// The read-only script that writes the bundle for `source_bucket` with the AWS CLI into
/// `${OUT:-.}`: `s3inv doctor --print-collect-script SOURCE_BUCKET`.
pub fn collect_script(source_bucket: &str) -> String {
    const TEMPLATE: &str = include_str!("collect/collect.sh");
    // The name as a comment shows it: a line break there would end the comment.
    let shown: String = source_bucket
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    TEMPLATE
        .replacen("@SRC_SHOWN@", &shown, 1)
        .replacen("@SRC@", &sh_quote(source_bucket), 1)
}

/// `s` as one shell word: single-quoted, each `'` as `'\''`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// How `collect_live` reaches AWS.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Endpoint, region, retries and timeouts, as for reading inventories
    /// (`--endpoint-url`, `--region`, `--retries`, `--timeout`). The endpoint, when given,
    /// serves IAM and KMS too (LocalStack, moto).
    pub s3: S3Options,
    /// The AWS profile for the destination buckets and their replica KMS keys
    /// (`--dest-profile`), when they are in another account; else the default chain.
    pub dest_profile: Option<String>,
    /// Credentials to use instead of the default chain, for a program that embeds s3inv
    /// (and for tests, which must not depend on the environment's).
    pub credentials: Option<SharedCredentialsProvider>,
    /// The same for the destination side, in place of `dest_profile`.
    pub dest_credentials: Option<SharedCredentialsProvider>,
}

/// Reads the bundle for `source_bucket` with the AWS SDK: the documents the collect script
/// would write, the same names and the same texts (timestamps aside, see `shapes`). A call
/// that fails becomes its `.err` document and the run goes on; the run fails only without
/// credentials, or when S3 cannot be reached at all.
pub async fn collect_live(source_bucket: &str, options: &LiveOptions) -> Result<Bundle> {
    live::collect(source_bucket, options).await
}

/// Checks that a bundle name is a relative path inside the bundle folder.
fn checked_name(name: &str) -> Result<&str> {
    let parts_ok = name
        .split('/')
        .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\\'));
    let typed = name.ends_with(".json") || name.ends_with(".err");
    if parts_ok && typed && !name.starts_with('/') {
        Ok(name)
    } else {
        Err(Error::Internal(format!(
            "bundle file name {name:?} is not a relative NAME.json or NAME.err"
        )))
    }
}

/// Writes `bundle` into `dir` (created if needed), each file complete or not at all. A
/// document's other form left by an earlier run (`NAME.err` beside a new `NAME.json`, or
/// the reverse) is removed, so the folder says what this run found.
pub fn write_bundle(bundle: &Bundle, dir: &Path) -> Result<()> {
    use std::io::Write;
    let io = |path: &Path, e: std::io::Error| Error::Io {
        path: path.display().to_string(),
        source: e,
    };
    for (name, text) in bundle {
        let path = dir.join(checked_name(name)?);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        let file = crate::output::AtomicFile::create(&path)?;
        file.handle()?
            .write_all(text.as_bytes())
            .map_err(|e| io(&path, e))?;
        file.commit()?;
        let other = match name.strip_suffix(".json") {
            Some(stem) => format!("{stem}.err"),
            None => format!("{}.json", name.trim_end_matches(".err")),
        };
        if !bundle.contains_key(&other) {
            let stale = dir.join(&other);
            match std::fs::remove_file(&stale) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&stale, e)),
                _ => {}
            }
        }
    }
    Ok(())
}

/// The bundle in `dir`: every `*.json` and `*.err` file under it, by relative name.
pub fn read_bundle(dir: &Path) -> Result<Bundle> {
    fn walk(base: &Path, dir: &Path, out: &mut Bundle) -> Result<()> {
        let io = |path: &Path, e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            source: e,
        };
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let entry = entry.map_err(|e| io(dir, e))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            // Hidden files are an interrupted write's temporary files (or not ours).
            if name.starts_with('.') {
                continue;
            }
            if entry.file_type().map_err(|e| io(&path, e))?.is_dir() {
                walk(base, &path, out)?;
            } else if name.ends_with(".json") || name.ends_with(".err") {
                let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
                let text = String::from_utf8(bytes).map_err(|_| Error::BadData {
                    path: path.display().to_string(),
                    message: "not UTF-8 text".into(),
                })?;
                let rel = path.strip_prefix(base).unwrap_or(&path);
                let rel: Vec<_> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().to_string())
                    .collect();
                out.insert(rel.join("/"), text);
            }
        }
        Ok(())
    }
    let mut bundle = Bundle::new();
    walk(dir, dir, &mut bundle)?;
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn key_file_ids() {
        let key = "arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(key_file_id(key), "1234abcd-12ab-34cd-56ef-1234567890ab");
        assert_eq!(key_file_id("1234abcd-12ab"), "1234abcd-12ab");
        assert_eq!(key_file_id("alias/replicas"), "alias-replicas");
        assert_eq!(key_file_id("alias/aws/s3"), "alias-aws-s3");
        assert_eq!(
            key_file_id("arn:aws:kms:us-west-2:444455556666:alias/team/replicas"),
            "alias-team-replicas"
        );
    }

    #[test]
    fn names() {
        assert_eq!(source_file(BucketDoc::ObjectLock), "src.object-lock");
        assert_eq!(
            destination_file("acme-dr", BucketDoc::PublicAccessBlock),
            "dst/acme-dr.public-access-block"
        );
        assert_eq!(kms_file("k1", KeyDoc::Describe), "kms/k1.describe");
        let mut bundle = Bundle::new();
        bundle.insert("src.policy.err".into(), "An error occurred …\n".into());
        bundle.insert("replication.json".into(), "{}\n".into());
        assert_eq!(document(&bundle, "replication"), Document::Json("{}\n"));
        assert!(matches!(
            document(&bundle, "src.policy"),
            Document::Failed(_)
        ));
        assert_eq!(document(&bundle, "iam/role"), Document::Missing);
    }

    #[test]
    fn write_then_read_back_replacing_the_other_form() {
        let dir = tempfile::tempdir().unwrap();
        let earlier = dir.path().join("earlier");
        std::fs::create_dir_all(earlier.join("dst")).unwrap();
        std::fs::write(earlier.join("dst/b.policy.json"), "old").unwrap();
        std::fs::write(earlier.join("src.acl.err"), "old").unwrap();
        let mut bundle = Bundle::new();
        bundle.insert("dst/b.policy.err".into(), "An error occurred (NoSuchBucketPolicy) when calling the GetBucketPolicy operation: The bucket policy does not exist\n".into());
        bundle.insert("src.acl.json".into(), "{}\n".into());
        bundle.insert(
            "iam/inline/p.json".into(),
            "{\n    \"PolicyName\": \"p\"\n}\n".into(),
        );
        write_bundle(&bundle, &dir.path().join("new")).unwrap();
        assert_eq!(read_bundle(&dir.path().join("new")).unwrap(), bundle);
        write_bundle(&bundle, &earlier).unwrap();
        assert_eq!(read_bundle(&earlier).unwrap(), bundle);

        let mut bad = Bundle::new();
        bad.insert("../escape.json".into(), "{}".into());
        assert!(write_bundle(&bad, dir.path()).is_err());
    }

    #[test]
    fn script_is_valid_sh_for_any_bucket_name() {
        for name in ["acme-data", "it's $(rm -rf ~) `x` \"q\"\nnext line", "*"] {
            let script = collect_script(name);
            let out = Command::new("sh")
                .arg("-n")
                .arg("-c")
                .arg(&script)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!script.contains("@SRC"));
        }
        let script = collect_script("it's");
        assert!(script.contains("\nSRC='it'\\''s'\n"), "{script}");
        assert!(script.contains("set -uf\n"));
        for permission in [
            "s3:GetReplicationConfiguration",
            "iam:GetPolicyVersion",
            "kms:GetKeyPolicy",
        ] {
            assert!(script.contains(permission), "{permission}");
        }
    }

    /// Runs the script against a stand-in `aws` that logs each call and answers like the
    /// real CLI for a small configuration, and checks the calls and the files.
    #[test]
    fn script_calls_for_a_sample() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let out = dir.path().join("out");
        std::fs::create_dir_all(&bin).unwrap();
        let log = dir.path().join("calls.log");
        // Answers keyed by the arguments; an unknown call fails like the CLI does.
        let stub = format!(
            r#"#!/bin/sh
printf '%s\n' "$*" >>'{log}'
case "$*" in
*"--query ReplicationConfiguration.Rules[].Destination.Bucket "*)
    printf 'arn:aws:s3:::dst-two\tarn:aws:s3:::dst-one\tarn:aws:s3:::dst-two\n' ;;
*"--query ReplicationConfiguration.Role "*)
    echo 'arn:aws:iam::111122223333:role/service-role/repl role' ;;
*"--query ReplicationConfiguration.Rules[].Destination.EncryptionConfiguration.ReplicaKmsKeyID "*)
    printf 'arn:aws:kms:eu-west-1:444455556666:key/k-dst\n' ;;
*"--query ServerSideEncryptionConfiguration.Rules[].ApplyServerSideEncryptionByDefault.KMSMasterKeyID "*)
    echo 'alias/src-key' ;;
*"--query LocationConstraint "*) echo None ;;
*"--query PolicyNames[] "*) printf 'inline-a\tinline-b\n' ;;
*"--query AttachedPolicies[].PolicyArn "*)
    echo 'An error occurred (AccessDenied) when calling the ListAttachedRolePolicies operation: no' >&2; exit 254 ;;
*"--query KeyMetadata.Arn "*) echo 'arn:aws:kms:us-east-1:111122223333:key/k-src' ;;
*get-bucket-policy*)
    printf '\nAn error occurred (NoSuchBucketPolicy) when calling the GetBucketPolicy operation: The bucket policy does not exist\n' >&2; exit 254 ;;
*get-bucket-versioning*"--bucket dst-one"*) ;;
*) echo '{{"Called": "yes"}}' ;;
esac
"#,
            log = log.display()
        );
        let aws = bin.join("aws");
        std::fs::write(&aws, stub).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let run = Command::new("sh")
            .arg("-c")
            .arg(collect_script("src bucket"))
            .env("PATH", path)
            .env("OUT", &out)
            .env("DEST_PROFILE", "dr")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );

        let calls = std::fs::read_to_string(&log).unwrap();
        let has = |call: &str| {
            assert!(
                calls.lines().any(|l| l == call),
                "no call {call:?} in\n{calls}"
            )
        };
        has("s3api get-bucket-replication --bucket src bucket --output json");
        has("s3api get-bucket-acl --bucket src bucket --output json");
        has("--profile dr s3api get-bucket-request-payment --bucket dst-one --output json");
        has("--profile dr s3api get-public-access-block --bucket dst-two --output json");
        has("iam get-role --role-name repl role --output json");
        has("iam get-role-policy --role-name repl role --policy-name inline-b --output json");
        has(
            "--profile dr kms describe-key --key-id arn:aws:kms:eu-west-1:444455556666:key/k-dst --region eu-west-1 --output json",
        );
        has(
            "--profile dr kms get-key-policy --key-id arn:aws:kms:eu-west-1:444455556666:key/k-dst --policy-name default --region eu-west-1 --output json",
        );
        // The source key is an alias in the source bucket's region (null: us-east-1); its
        // policy is asked of the key the alias points to.
        has("kms describe-key --key-id alias/src-key --region us-east-1 --output json");
        has(
            "kms get-key-policy --key-id arn:aws:kms:us-east-1:111122223333:key/k-src --policy-name default --region us-east-1 --output json",
        );
        // Nothing but reads.
        for line in calls.lines() {
            let verb = line
                .split_whitespace()
                .skip_while(|w| w.starts_with("--") || *w == "dr")
                .nth(1)
                .unwrap_or("");
            assert!(
                ["get-", "list-", "describe-"]
                    .iter()
                    .any(|p| verb.starts_with(p)),
                "not a read: {line}"
            );
        }

        let bundle = read_bundle(&out).unwrap();
        let names: Vec<_> = bundle.keys().cloned().collect();
        let mut expected: Vec<String> = [
            "iam/attached.err",
            "iam/inline/inline-a.json",
            "iam/inline/inline-b.json",
            "iam/role.json",
            "kms/alias-src-key.describe.json",
            "kms/alias-src-key.policy.json",
            "kms/k-dst.describe.json",
            "kms/k-dst.policy.json",
            "replication.json",
            "src.acl.json",
            "src.encryption.json",
            "src.location.json",
            "src.object-lock.json",
            "src.ownership.json",
            "src.policy.err",
            "src.versioning.json",
        ]
        .map(String::from)
        .to_vec();
        for b in ["dst-one", "dst-two"] {
            for doc in BucketDoc::DESTINATION {
                let ext = if doc == BucketDoc::Policy {
                    "err"
                } else {
                    "json"
                };
                expected.push(format!("dst/{b}.{}.{ext}", doc.name()));
            }
        }
        expected.sort();
        assert_eq!(names, expected);
        // The CLI's error line, without the blank line it starts with.
        assert_eq!(
            bundle["src.policy.err"],
            "An error occurred (NoSuchBucketPolicy) when calling the GetBucketPolicy operation: The bucket policy does not exist\n"
        );
        // Nothing printed (a bucket never versioned): {}.
        assert_eq!(bundle["dst/dst-one.versioning.json"], "{}\n");
        assert_eq!(bundle["src.acl.json"], "{\"Called\": \"yes\"}\n");
    }
}
