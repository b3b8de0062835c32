//! `collect_live`: the bundle read with the AWS SDK (S3, IAM, KMS) instead of the AWS CLI:
//! the calls the collect script makes, decided from the same documents by the same rules,
//! each answer shaped as the CLI prints it and each failure as the CLI's error line.
//!
//! Clients follow the options the object stores do (`S3Options`: endpoint, region,
//! retries, timeouts); credentials come from the AWS default chain, or from
//! `dest_profile` for everything in the destination account.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use futures::future::join_all;

use super::json::J;
use super::{
    ATTACHED_LIST, BucketDoc, Bundle, INLINE_LIST, KeyDoc, LiveOptions, REPLICATION, ROLE,
    attached_policy_file, destination_file, inline_policy_file, key_file_id, kms_file, shapes,
    source_file,
};
use crate::error::{Error, Result};

/// Whose credentials a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Source,
    Destination,
}

/// A call's outcome: the CLI-shaped document, or why there is none.
type Answer = std::result::Result<J, Failure>;

#[derive(Debug, Clone)]
struct Failure {
    /// The text of NAME.err: the CLI's error line when the service answered.
    line: String,
    /// The service answered (with an error); false when no answer came at all.
    answered: bool,
}

/// The loaded AWS configurations: the source account's and the destination account's
/// (the same one unless `dest_profile` or `dest_credentials` says otherwise).
struct Aws {
    source: SdkConfig,
    destination: SdkConfig,
    endpoint: Option<String>,
}

impl Aws {
    async fn load(bucket: &str, options: &LiveOptions) -> Result<Aws> {
        use aws_config::retry::RetryConfig;
        use aws_config::timeout::TimeoutConfig;
        let s3 = &options.s3;
        // The same bounds as the object stores' S3 client (`S3Options::retry_config`).
        let retry = RetryConfig::standard()
            .with_max_attempts(u32::try_from(s3.retries).unwrap_or(u32::MAX - 1) + 1)
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(20));
        let timeout = TimeoutConfig::builder()
            .operation_timeout(s3.timeout)
            .operation_attempt_timeout(s3.timeout.min(Duration::from_secs(30)))
            .build();
        let endpoint = s3
            .endpoint_url
            .as_ref()
            .map(|e| e.trim_end_matches('/').to_string());
        let loader = || {
            let mut l = aws_config::defaults(BehaviorVersion::latest())
                .retry_config(retry.clone())
                .timeout_config(timeout.clone());
            if let Some(region) = &s3.region {
                l = l.region(Region::new(region.clone()));
            }
            // One endpoint for S3, IAM and KMS alike (LocalStack, moto); without it each
            // service has its own, which AWS_ENDPOINT_URL_<SERVICE> may still set.
            if let Some(e) = &endpoint {
                l = l.endpoint_url(e.clone());
            }
            l
        };
        let source = match &options.credentials {
            Some(c) => loader().credentials_provider(c.clone()),
            None => loader(),
        }
        .load()
        .await;
        check_credentials(&source)
            .await
            .map_err(|reason| Error::NoCredentials {
                bucket: bucket.to_string(),
                reason,
            })?;
        let destination = match (&options.dest_credentials, &options.dest_profile) {
            (Some(c), _) => loader().credentials_provider(c.clone()).load().await,
            (None, Some(profile)) => {
                // The profile's own credentials even when the environment holds others, as
                // the CLI's --profile does (the default chain would prefer the environment).
                let credentials = aws_config::profile::ProfileFileCredentialsProvider::builder()
                    .profile_name(profile)
                    .build();
                let config = loader()
                    .profile_name(profile)
                    .credentials_provider(credentials)
                    .load()
                    .await;
                check_credentials(&config).await.map_err(|reason| {
                    Error::Usage(format!(
                        "destination profile {profile:?}: no credentials ({reason})"
                    ))
                })?;
                config
            }
            (None, None) => source.clone(),
        };
        Ok(Aws {
            source,
            destination,
            endpoint,
        })
    }

    fn config(&self, side: Side) -> &SdkConfig {
        match side {
            Side::Source => &self.source,
            Side::Destination => &self.destination,
        }
    }

    /// The configured region (what the CLI uses when a call names none).
    fn home(&self, side: Side) -> String {
        self.config(side)
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_string())
    }

    /// The region to call `bucket` in: its own on AWS (asked the way the object stores
    /// ask, without credentials), the configured one behind a custom endpoint.
    async fn bucket_region(&self, side: Side, bucket: &str) -> String {
        if self.endpoint.is_some() {
            return self.home(side);
        }
        object_store::aws::resolve_bucket_region(bucket, &Default::default())
            .await
            .unwrap_or_else(|_| self.home(side))
    }

    fn s3(&self, side: Side, region: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(self.config(side))
            .region(Region::new(region.to_string()))
            .force_path_style(self.endpoint.is_some())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    fn iam(&self) -> aws_sdk_iam::Client {
        let config = aws_sdk_iam::config::Builder::from(&self.source)
            .region(Region::new(self.home(Side::Source)))
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    fn kms(&self, side: Side, region: &str) -> aws_sdk_kms::Client {
        let config = aws_sdk_kms::config::Builder::from(self.config(side))
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_kms::Client::from_conf(config)
    }

    fn unreachable(&self, bucket: &str, region: &str, failure: &Failure) -> Error {
        let (endpoint, fix) = match &self.endpoint {
            Some(e) => (e.clone(), "check --endpoint-url"),
            None => (
                format!("S3 in {region}"),
                "check the network connection (and HTTPS_PROXY, if one is needed)",
            ),
        };
        Error::Unreachable {
            location: format!("s3://{bucket}"),
            endpoint,
            reason: failure.line.clone(),
            fix,
        }
    }
}

async fn check_credentials(config: &SdkConfig) -> std::result::Result<(), String> {
    let provider = config
        .credentials_provider()
        .ok_or_else(|| "no credential provider configured".to_string())?;
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => Err(first_line(&chain(&e))),
    }
}

/// An error and its sources, joined with `: `.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// At most `max` characters of `s` (the SDK's parse errors quote whole XML elements).
fn shortened(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// A response shaped as the CLI prints it, or the failure as the CLI reports it:
/// `An error occurred (CODE) when calling the OPERATION operation: MESSAGE` (botocore's
/// `ClientError`, with its fallbacks: the HTTP status for a missing code, `Unknown` for a
/// missing message).
fn answer<T, E>(
    operation: &str,
    result: std::result::Result<T, SdkError<E, HttpResponse>>,
    shape: impl FnOnce(&T) -> J,
) -> Answer
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    result
        .map(|o| shape(&o))
        .map_err(|e| failure(operation, &e))
}

fn failure<E>(operation: &str, e: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status());
    match e {
        // A success the SDK could not read (a server that names the answer's root element
        // otherwise, or answers another request): not an error line of the service's.
        SdkError::ServiceError(_) if status.is_some_and(|s| s.is_success()) => Failure {
            line: format!(
                "{operation} failed: an answer that could not be read (HTTP {}): {}",
                status.map_or(0, |s| s.as_u16()),
                shortened(&first_line(&chain(e)), 200)
            ),
            answered: true,
        },
        SdkError::ServiceError(_) => {
            // An error body in another protocol's form than the SDK expects (an XML
            // `<Errors><Error>` list from an emulator, XML from a JSON service) still
            // names its code and message.
            let (code, message) = match e.code() {
                Some(code) => (Some(code.to_string()), e.message().map(str::to_string)),
                None => e
                    .raw_response()
                    .and_then(|r| r.body().bytes())
                    .map(xml_error)
                    .unwrap_or_default(),
            };
            let code = code.or_else(|| status.map(|s| s.as_u16().to_string()));
            Failure {
                line: format!(
                    "An error occurred ({}) when calling the {operation} operation: {}",
                    code.as_deref().unwrap_or("Unknown"),
                    message.as_deref().unwrap_or("Unknown")
                ),
                answered: true,
            }
        }
        // An answer that could not be read: the service was reached.
        SdkError::ResponseError(_) => Failure {
            line: format!("{operation} failed: {}", first_line(&chain(e))),
            answered: true,
        },
        _ => Failure {
            line: format!("{operation} failed: {}", first_line(&chain(e))),
            answered: false,
        },
    }
}

/// The first `<Code>` and `<Message>` of an XML error body.
fn xml_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(body);
    let element = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = start + text[start..].find(&format!("</{name}>"))?;
        let value = text[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&");
        Some(value)
    };
    (element("Code"), element("Message"))
}

fn put(bundle: &mut Bundle, stem: &str, answer: &Answer) {
    match answer {
        Ok(doc) => bundle.insert(format!("{stem}.json"), doc.to_cli_text()),
        Err(f) => bundle.insert(format!("{stem}.err"), format!("{}\n", f.line)),
    };
}

async fn bucket_doc(s3: &aws_sdk_s3::Client, bucket: &str, doc: BucketDoc) -> Answer {
    let op = doc.operation();
    match doc {
        BucketDoc::Versioning => answer(
            op,
            s3.get_bucket_versioning().bucket(bucket).send().await,
            shapes::versioning,
        ),
        BucketDoc::Ownership => answer(
            op,
            s3.get_bucket_ownership_controls()
                .bucket(bucket)
                .send()
                .await,
            shapes::ownership,
        ),
        BucketDoc::ObjectLock => answer(
            op,
            s3.get_object_lock_configuration()
                .bucket(bucket)
                .send()
                .await,
            shapes::object_lock,
        ),
        BucketDoc::Encryption => answer(
            op,
            s3.get_bucket_encryption().bucket(bucket).send().await,
            shapes::encryption,
        ),
        BucketDoc::Acl => answer(
            op,
            s3.get_bucket_acl().bucket(bucket).send().await,
            shapes::acl,
        ),
        BucketDoc::Location => answer(
            op,
            s3.get_bucket_location().bucket(bucket).send().await,
            shapes::location,
        ),
        BucketDoc::Policy => answer(
            op,
            s3.get_bucket_policy().bucket(bucket).send().await,
            shapes::bucket_policy,
        ),
        BucketDoc::PublicAccessBlock => answer(
            op,
            s3.get_public_access_block().bucket(bucket).send().await,
            shapes::public_access_block,
        ),
        BucketDoc::RequestPayment => answer(
            op,
            s3.get_bucket_request_payment().bucket(bucket).send().await,
            shapes::request_payment,
        ),
    }
}

async fn bucket_docs(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    docs: &[BucketDoc],
) -> Vec<(BucketDoc, Answer)> {
    join_all(
        docs.iter()
            .map(|&doc| async move { (doc, bucket_doc(s3, bucket, doc).await) }),
    )
    .await
}

/// Strings at `path` under each rule: `Rules[].<path>`, as the script's `--query` selects
/// them (empty values left out, each value once).
fn rule_values(replication: &J, path: &[&str]) -> BTreeSet<String> {
    replication
        .at(&["ReplicationConfiguration", "Rules"])
        .map(J::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|rule| rule.at(path).and_then(J::as_str))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// The region a location document names: `null` is us-east-1, `EU` eu-west-1.
fn location_region(location: &J) -> Option<String> {
    match location.get("LocationConstraint")? {
        J::Null => Some("us-east-1".into()),
        J::Str(s) if s.is_empty() => Some("us-east-1".into()),
        J::Str(s) if s == "EU" => Some("eu-west-1".into()),
        J::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// The region of an ARN (`arn:PARTITION:SERVICE:REGION:…`), when it names one.
fn arn_region(arn: &str) -> Option<&str> {
    if !arn.starts_with("arn:") {
        return None;
    }
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// What follows the last `sep`: a bucket of an S3 ARN (`:`), a role or policy name of an
/// IAM ARN (`/`).
fn last_part(s: &str, sep: char) -> &str {
    s.rsplit(sep).next().unwrap_or(s)
}

fn is_alias(key: &str) -> bool {
    key.starts_with("alias/") || (key.starts_with("arn:") && key.contains(":alias/"))
}

pub(super) async fn collect(source: &str, options: &LiveOptions) -> Result<Bundle> {
    let aws = Aws::load(source, options).await?;
    let mut bundle = Bundle::new();

    let region = aws.bucket_region(Side::Source, source).await;
    let s3 = aws.s3(Side::Source, &region);
    let replication = answer(
        "GetBucketReplication",
        s3.get_bucket_replication().bucket(source).send().await,
        shapes::replication,
    );
    // No answer at all to the first call: nothing else would get one either, and one clear
    // error beats a bundle of identical failures (each after its retries).
    if let Err(f) = &replication
        && !f.answered
    {
        return Err(aws.unreachable(source, &region, f));
    }
    put(&mut bundle, REPLICATION, &replication);
    let source_docs = bucket_docs(&s3, source, &BucketDoc::SOURCE).await;
    for (doc, a) in &source_docs {
        put(&mut bundle, &source_file(*doc), a);
    }
    let found = |doc: BucketDoc| {
        source_docs
            .iter()
            .find(|(d, _)| *d == doc)
            .and_then(|(_, a)| a.as_ref().ok())
    };
    // A source key given as a bare id lives in the source bucket's region.
    let source_region = found(BucketDoc::Location)
        .and_then(location_region)
        .unwrap_or_else(|| aws.home(Side::Source));
    let source_keys: BTreeSet<String> = found(BucketDoc::Encryption)
        .and_then(|e| e.at(&["ServerSideEncryptionConfiguration", "Rules"]))
        .map(J::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|rule| {
            rule.at(&["ApplyServerSideEncryptionByDefault", "KMSMasterKeyID"])
                .and_then(J::as_str)
        })
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();

    let config = replication.as_ref().ok();
    let destinations: BTreeSet<String> = config
        .map(|c| rule_values(c, &["Destination", "Bucket"]))
        .unwrap_or_default()
        .iter()
        .map(|arn| last_part(arn, ':').to_string())
        .collect();
    let role = config
        .and_then(|c| c.at(&["ReplicationConfiguration", "Role"]))
        .and_then(J::as_str)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let replica_keys = config
        .map(|c| {
            rule_values(
                c,
                &["Destination", "EncryptionConfiguration", "ReplicaKmsKeyID"],
            )
        })
        .unwrap_or_default();

    // Replica keys first, then the source's: a key met twice is read once, by the first.
    let mut seen = HashSet::new();
    let mut keys = Vec::new();
    for key in replica_keys {
        if seen.insert(key_file_id(&key)) {
            keys.push((key, Side::Destination, None));
        }
    }
    for key in source_keys {
        if seen.insert(key_file_id(&key)) {
            keys.push((key, Side::Source, Some(source_region.clone())));
        }
    }

    let (destination_docs, role_docs, key_docs) = futures::join!(
        join_all(destinations.iter().map(|b| destination(&aws, b))),
        role_docs(&aws, role.as_deref()),
        join_all(keys.iter().map(|(key, side, fallback)| key_docs(
            &aws,
            key,
            *side,
            fallback.as_deref()
        ))),
    );
    for (stem, a) in destination_docs
        .iter()
        .flatten()
        .chain(&role_docs)
        .chain(key_docs.iter().flatten())
    {
        put(&mut bundle, stem, a);
    }
    Ok(bundle)
}

async fn destination(aws: &Aws, bucket: &str) -> Vec<(String, Answer)> {
    let region = aws.bucket_region(Side::Destination, bucket).await;
    let s3 = aws.s3(Side::Destination, &region);
    bucket_docs(&s3, bucket, &BucketDoc::DESTINATION)
        .await
        .into_iter()
        .map(|(doc, a)| (destination_file(bucket, doc), a))
        .collect()
}

async fn role_docs(aws: &Aws, role_arn: Option<&str>) -> Vec<(String, Answer)> {
    let Some(arn) = role_arn else {
        return Vec::new();
    };
    let name = last_part(arn, '/');
    let iam = aws.iam();
    let mut out = vec![(
        ROLE.to_string(),
        answer(
            "GetRole",
            iam.get_role().role_name(name).send().await,
            shapes::role,
        ),
    )];
    match inline_policies(&iam, name).await {
        Ok(policies) => {
            for policy in policies {
                let got = iam
                    .get_role_policy()
                    .role_name(name)
                    .policy_name(&policy)
                    .send()
                    .await;
                out.push((
                    inline_policy_file(&policy),
                    answer("GetRolePolicy", got, shapes::role_policy),
                ));
            }
        }
        Err(f) => out.push((INLINE_LIST.to_string(), Err(f))),
    }
    match attached_policies(&iam, name).await {
        Ok(arns) => {
            for policy_arn in arns {
                let doc = attached_policy(&iam, &policy_arn).await;
                out.push((attached_policy_file(last_part(&policy_arn, '/')), doc));
            }
        }
        Err(f) => out.push((ATTACHED_LIST.to_string(), Err(f))),
    }
    out
}

/// The names of the role's inline policies, every page.
async fn inline_policies(
    iam: &aws_sdk_iam::Client,
    role: &str,
) -> std::result::Result<BTreeSet<String>, Failure> {
    let mut names = BTreeSet::new();
    let mut marker = None;
    loop {
        let page = iam
            .list_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| failure("ListRolePolicies", &e))?;
        names.extend(page.policy_names);
        match page.marker.filter(|_| page.is_truncated) {
            Some(m) => marker = Some(m),
            None => return Ok(names),
        }
    }
}

/// The ARNs of the managed policies attached to the role, every page.
async fn attached_policies(
    iam: &aws_sdk_iam::Client,
    role: &str,
) -> std::result::Result<BTreeSet<String>, Failure> {
    let mut arns = BTreeSet::new();
    let mut marker = None;
    loop {
        let page = iam
            .list_attached_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| failure("ListAttachedRolePolicies", &e))?;
        arns.extend(
            page.attached_policies
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| p.policy_arn),
        );
        match page.marker.filter(|_| page.is_truncated) {
            Some(m) => marker = Some(m),
            None => return Ok(arns),
        }
    }
}

/// The default version of a managed policy (`get-policy` names it).
async fn attached_policy(iam: &aws_sdk_iam::Client, arn: &str) -> Answer {
    let policy = iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| failure("GetPolicy", &e))?;
    let version = policy
        .policy
        .and_then(|p| p.default_version_id)
        .unwrap_or_default();
    answer(
        "GetPolicyVersion",
        iam.get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await,
        shapes::policy_version,
    )
}

/// A key's description and key policy, in the region of its ARN, else `fallback`, else the
/// configured one.
async fn key_docs(
    aws: &Aws,
    key: &str,
    side: Side,
    fallback: Option<&str>,
) -> Vec<(String, Answer)> {
    let id = key_file_id(key);
    let region = arn_region(key)
        .or(fallback)
        .map(str::to_string)
        .unwrap_or_else(|| aws.home(side));
    let kms = aws.kms(side, &region);
    let describe = answer(
        "DescribeKey",
        kms.describe_key().key_id(key).send().await,
        shapes::describe_key,
    );
    // GetKeyPolicy takes no alias: ask for the key the alias points to.
    let policy_key = match &describe {
        Ok(d) if is_alias(key) => d
            .at(&["KeyMetadata", "Arn"])
            .and_then(J::as_str)
            .unwrap_or(key)
            .to_string(),
        _ => key.to_string(),
    };
    let policy = answer(
        "GetKeyPolicy",
        kms.get_key_policy()
            .key_id(policy_key)
            .policy_name("default")
            .send()
            .await,
        shapes::key_policy,
    );
    vec![
        (kms_file(&id, KeyDoc::Describe), describe),
        (kms_file(&id, KeyDoc::Policy), policy),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_of_arns_and_locations() {
        assert_eq!(
            arn_region("arn:aws:kms:eu-west-1:111122223333:key/abc"),
            Some("eu-west-1")
        );
        assert_eq!(arn_region("arn:aws:kms::111122223333:key/abc"), None);
        assert_eq!(arn_region("1234abcd-12ab"), None);
        let loc = |v: J| J::Obj(vec![("LocationConstraint".into(), v)]);
        assert_eq!(location_region(&loc(J::Null)).as_deref(), Some("us-east-1"));
        assert_eq!(
            location_region(&loc(J::from("EU"))).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            location_region(&loc(J::from("ap-south-2"))).as_deref(),
            Some("ap-south-2")
        );
        assert_eq!(last_part("arn:aws:s3:::acme-dr", ':'), "acme-dr");
        assert_eq!(
            last_part("arn:aws:iam::1:role/service-role/s3crr", '/'),
            "s3crr"
        );
        assert!(is_alias("alias/x") && is_alias("arn:aws:kms:r:1:alias/x"));
        assert!(!is_alias("arn:aws:kms:r:1:key/x"));
    }

    #[test]
    fn codes_of_xml_error_bodies() {
        let moto = br#"<?xml version="1.0"?><ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: u is not authorized to perform: kms:GetKeyPolicy &amp; more</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"#;
        assert_eq!(
            xml_error(moto),
            (
                Some("AccessDenied".into()),
                Some("User: u is not authorized to perform: kms:GetKeyPolicy & more".into())
            )
        );
        assert_eq!(xml_error(b"{}"), (None, None));
    }

    #[test]
    fn rule_values_once_each_without_empties() {
        let config: J = serde_json::from_str(
            r#"{"ReplicationConfiguration": {"Role": "r", "Rules": [
                {"Destination": {"Bucket": "arn:aws:s3:::b"}},
                {"Destination": {"Bucket": "arn:aws:s3:::a"}},
                {"Destination": {"Bucket": "arn:aws:s3:::b"}},
                {"Destination": {"Bucket": ""}},
                {"Status": "Enabled"}
            ]}}"#,
        )
        .unwrap();
        let buckets: Vec<_> = rule_values(&config, &["Destination", "Bucket"])
            .into_iter()
            .collect();
        assert_eq!(buckets, ["arn:aws:s3:::a", "arn:aws:s3:::b"]);
    }
}
