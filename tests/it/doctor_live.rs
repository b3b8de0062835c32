//! `doctor --live` collection (`s3inv::doctor::collect`) against a real moto server: S3,
//! IAM and KMS set up through the AWS SDK, then the bundle `collect_live` reads is checked
//! document by document against the AWS CLI's shapes (written out here by hand), and file
//! by file against the bundle the collect script leaves when the real AWS CLI runs it on
//! the same server.
//!
//! What moto (5.2) does, and so what these tests can see: `get-bucket-replication` answers
//! every rule with `"Filter": {"Prefix": ""}` and `DeleteMarkerReplication` Disabled and
//! drops `SourceSelectionCriteria`; `get-key-policy` omits `PolicyName`; S3 calls without an
//! IAM action of their own in moto are authorised as `s3:ListBucket`; a denied IAM or KMS
//! call is answered in an XML form (`<ErrorResponse><Errors><Error>`) that the CLI reads
//! for IAM but not for KMS (it prints the HTTP status and the whole body), and the SDK
//! reads for neither (collect_live then takes the code and message from the body). Two answers the Rust SDK rejects while botocore takes them, so that
//! live they are `.err` documents saying the answer could not be read, where the CLI prints
//! a document (see [`unreadable_on_moto`]): `get-bucket-versioning`, whose root element moto
//! names `GetBucketVersioningResponse` (AWS: `VersioningConfiguration`), and
//! `get-bucket-request-payment`, which moto does not implement (it answers a ListObjects,
//! which the CLI prints as nothing, `{}`). The shapes of those two documents are checked by
//! the unit tests of `collect/shapes.rs`.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use s3inv::S3Options;
use s3inv::doctor::collect::{Bundle, LiveOptions, collect_live, collect_script, read_bundle};
use serde_json::{Value, json};

use crate::harness::{MotoServer, runtime};

const ACCOUNT: &str = "123456789012";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/service-role/s3crr_role_for_acme";

fn provider(key: &str, secret: &str) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(
        key,
        secret,
        None,
        None,
        "doctor-live test",
    ))
}

/// moto's keys before `enable_auth`.
fn root() -> SharedCredentialsProvider {
    provider("testing", "testing")
}

fn sdk(
    moto: &MotoServer,
    creds: &SharedCredentialsProvider,
    region: &str,
) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(creds.clone())
        .build()
}

fn s3(moto: &MotoServer) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&sdk(moto, &root(), "us-east-1"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn iam(moto: &MotoServer) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk(moto, &root(), "us-east-1"))
}

fn kms(moto: &MotoServer, region: &str) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk(moto, &root(), region))
}

fn options(moto: &MotoServer, creds: SharedCredentialsProvider) -> LiveOptions {
    LiveOptions {
        s3: S3Options {
            endpoint_url: Some(moto.endpoint.clone()),
            region: Some("us-east-1".into()),
            retries: 1,
            timeout: Duration::from_secs(60),
        },
        dest_profile: None,
        credentials: Some(creds),
        dest_credentials: None,
    }
}

const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["s3.amazonaws.com", "batchoperations.s3.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}"#;
const INLINE: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "SourceBucket", "Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": "arn:aws:s3:::acme-src"}, {"Sid": "DestinationObjects", "Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], "Resource": "arn:aws:s3:::acme-dr/*"}]}"#;
const MANAGED_V1: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}"#;
const MANAGED_V2: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "EncryptReplicas", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"], "Resource": "arn:aws:kms:eu-west-1:123456789012:key/*"}]}"#;
const DST_POLICY: &str = r#"{"Version":"2012-10-17","Id":"PolicyForDestinationBucket","Statement":[{"Sid":"Permissions on objects","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/service-role/s3crr_role_for_acme"},"Action":["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags","s3:ObjectOwnerOverrideToBucketOwner"],"Resource":"arn:aws:s3:::acme-dr/*"}]}"#;
const SRC_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"TlsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::acme-src","arn:aws:s3:::acme-src/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
const KEY_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "AllowS3ReplicationSourceRoleToUseTheKey", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/service-role/s3crr_role_for_acme"}, "Action": ["kms:GenerateDataKey", "kms:Encrypt"], "Resource": "*"}, {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}]}"#;

/// What the setup made that the expected documents name.
struct Fixture {
    role: aws_sdk_iam::types::Role,
    dr_key: aws_sdk_kms::types::KeyMetadata,
    src_key: aws_sdk_kms::types::KeyMetadata,
}

/// acme-src (us-east-1) replicates to acme-dr (eu-west-1: Object Lock, SSE-KMS replicas)
/// and, by a disabled rule, to acme-gold (never versioned, nothing configured); bare-src
/// has no configuration at all.
async fn set_up(moto: &MotoServer) -> Fixture {
    use aws_sdk_s3::types::*;
    let s3 = s3(moto);
    for bucket in ["acme-src", "acme-gold", "bare-src"] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    s3.create_bucket()
        .bucket("acme-dr")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    for bucket in ["acme-src", "acme-dr"] {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    for (bucket, ownership) in [
        ("acme-src", ObjectOwnership::BucketOwnerEnforced),
        ("acme-dr", ObjectOwnership::BucketOwnerPreferred),
    ] {
        s3.put_bucket_ownership_controls()
            .bucket(bucket)
            .ownership_controls(
                OwnershipControls::builder()
                    .rules(
                        OwnershipControlsRule::builder()
                            .object_ownership(ownership)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    s3.put_object_lock_configuration()
        .bucket("acme-dr")
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(
                            DefaultRetention::builder()
                                .mode(ObjectLockRetentionMode::Compliance)
                                .days(30)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    for (bucket, algorithm, key) in [
        (
            "acme-src",
            ServerSideEncryption::AwsKms,
            Some("alias/acme-src"),
        ),
        ("acme-dr", ServerSideEncryption::Aes256, None),
    ] {
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(algorithm)
            .set_kms_master_key_id(key.map(str::to_string))
            .build()
            .unwrap();
        s3.put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(by_default)
                            .bucket_key_enabled(key.is_some())
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    for (bucket, policy) in [("acme-src", SRC_POLICY), ("acme-dr", DST_POLICY)] {
        s3.put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .unwrap();
    }
    s3.put_public_access_block()
        .bucket("acme-dr")
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let dr_key = kms(moto, "eu-west-1")
        .create_key()
        .description("acme-dr replicas")
        .policy(KEY_POLICY)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let src_kms = kms(moto, "us-east-1");
    let src_key = src_kms
        .create_key()
        .description("acme-src objects")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    src_kms
        .create_alias()
        .alias_name("alias/acme-src")
        .target_key_id(&src_key.key_id)
        .send()
        .await
        .unwrap();

    let to_dr = ReplicationRule::builder()
        .id("to-dr")
        .priority(2)
        .filter(ReplicationRuleFilter::builder().prefix("logs/").build())
        .status(ReplicationRuleStatus::Enabled)
        .source_selection_criteria(
            SourceSelectionCriteria::builder()
                .sse_kms_encrypted_objects(
                    SseKmsEncryptedObjects::builder()
                        .status(SseKmsEncryptedObjectsStatus::Enabled)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .delete_marker_replication(
            DeleteMarkerReplication::builder()
                .status(DeleteMarkerReplicationStatus::Disabled)
                .build(),
        )
        .destination(
            Destination::builder()
                .bucket("arn:aws:s3:::acme-dr")
                .account(ACCOUNT)
                .storage_class(StorageClass::StandardIa)
                .access_control_translation(
                    AccessControlTranslation::builder()
                        .owner(OwnerOverride::Destination)
                        .build()
                        .unwrap(),
                )
                .encryption_configuration(
                    EncryptionConfiguration::builder()
                        .replica_kms_key_id(dr_key.arn.clone().unwrap())
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let to_gold = ReplicationRule::builder()
        .id("gold")
        .priority(1)
        .filter(
            ReplicationRuleFilter::builder()
                .tag(Tag::builder().key("tier").value("gold").build().unwrap())
                .build(),
        )
        .status(ReplicationRuleStatus::Disabled)
        .delete_marker_replication(
            DeleteMarkerReplication::builder()
                .status(DeleteMarkerReplicationStatus::Disabled)
                .build(),
        )
        .destination(
            Destination::builder()
                .bucket("arn:aws:s3:::acme-gold")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    s3.put_bucket_replication()
        .bucket("acme-src")
        .replication_configuration(
            ReplicationConfiguration::builder()
                .role(ROLE_ARN)
                .rules(to_dr)
                .rules(to_gold)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let iam = iam(moto);
    let role = iam
        .create_role()
        .path("/service-role/")
        .role_name("s3crr_role_for_acme")
        .description("S3 replication, acme-src")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    iam.put_role_policy()
        .role_name("s3crr_role_for_acme")
        .policy_name("replication")
        .policy_document(INLINE)
        .send()
        .await
        .unwrap();
    let managed = iam
        .create_policy()
        .policy_name("acme-replication-kms")
        .policy_document(MANAGED_V1)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();
    iam.create_policy_version()
        .policy_arn(&managed)
        .policy_document(MANAGED_V2)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    iam.attach_role_policy()
        .role_name("s3crr_role_for_acme")
        .policy_arn(&managed)
        .send()
        .await
        .unwrap();
    Fixture {
        role,
        dr_key,
        src_key,
    }
}

fn parse(name: &str, text: &str) -> Value {
    assert!(text.ends_with('\n'), "{name}: no final newline");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}:\n{text}"))
}

/// Members that hold a time: the CLI prints them in a form that depends on its version and
/// settings (aws-cli v1: as sent, epoch seconds or ISO text; v2: ISO 8601), so they are
/// compared as instants.
const TIMES: [&str; 6] = [
    "CreateDate",
    "UpdateDate",
    "CreationDate",
    "LastUsedDate",
    "DeletionDate",
    "ValidTo",
];

/// A time member's value in milliseconds since the epoch: whole microseconds first (what
/// both clients keep of an epoch-seconds number), then the milliseconds they fall in.
fn millis(v: &Value) -> i64 {
    let micros = match v {
        Value::Number(n) => (n.as_f64().unwrap() * 1e6).round() as i64,
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{s:?}: {e}"))
            .timestamp_micros(),
        other => panic!("not a time: {other}"),
    };
    micros.div_euclid(1000)
}

/// `v` with every time member replaced by its instant; true when there was one.
fn instants(v: &mut Value) -> bool {
    let mut found = false;
    match v {
        Value::Object(members) => {
            for (k, value) in members.iter_mut() {
                if TIMES.contains(&k.as_str()) {
                    *value = json!(millis(value));
                    found = true;
                } else {
                    found |= instants(value);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                found |= instants(item);
            }
        }
        _ => {}
    }
    found
}

fn instant(t: &aws_sdk_s3::primitives::DateTime) -> i64 {
    t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000)
}

/// See the module docs: documents moto answers in a form only botocore reads.
fn unreadable_on_moto(stem: &str) -> bool {
    stem.ends_with(".versioning") || stem.ends_with(".request-payment")
}

fn assert_unreadable(bundle: &Bundle, name: &str) {
    assert!(
        bundle[name].contains("failed: an answer that could not be read (HTTP 200): "),
        "{name}: {}",
        bundle[name]
    );
}

fn names(bundle: &Bundle) -> Vec<&str> {
    bundle.keys().map(String::as_str).collect()
}

fn expected_names(extra: &[&str], dst: &[(&str, &[&str])]) -> Vec<String> {
    let mut all: BTreeSet<String> = extra.iter().map(|s| s.to_string()).collect();
    for (bucket, failed) in dst {
        for doc in s3inv::doctor::collect::BucketDoc::DESTINATION {
            let ext = if failed.contains(&doc.name()) {
                "err"
            } else {
                "json"
            };
            all.insert(format!("dst/{bucket}.{}.{ext}", doc.name()));
        }
    }
    all.into_iter().collect()
}

#[test]
fn live_bundle_matches_the_cli_shapes_and_the_script() {
    let moto = MotoServer::start();
    let rt = runtime();
    let fixture = rt.block_on(set_up(&moto));
    let bundle = rt
        .block_on(collect_live("acme-src", &options(&moto, root())))
        .unwrap_or_else(|e| panic!("{e}\nmoto:\n{}", moto.log()));

    let dr_key_id = &fixture.dr_key.key_id;
    let src_key_id = &fixture.src_key.key_id;
    let expected = expected_names(
        &[
            "replication.json",
            "src.versioning.err",
            "src.ownership.json",
            "src.object-lock.err",
            "src.encryption.json",
            "src.acl.json",
            "src.location.json",
            "src.policy.json",
            "iam/role.json",
            "iam/inline/replication.json",
            "iam/attached/acme-replication-kms.json",
            &format!("kms/{dr_key_id}.describe.json"),
            &format!("kms/{dr_key_id}.policy.json"),
            "kms/alias-acme-src.describe.json",
            "kms/alias-acme-src.policy.json",
        ],
        &[
            ("acme-dr", &["versioning", "request-payment"]),
            (
                "acme-gold",
                &[
                    "versioning",
                    "ownership",
                    "object-lock",
                    "encryption",
                    "public-access-block",
                    "policy",
                    "request-payment",
                ],
            ),
        ],
    );
    assert_eq!(names(&bundle), expected, "{bundle:#?}");

    let doc = |name: &str| parse(name, &bundle[name]);
    let dr_arn = fixture.dr_key.arn.clone().unwrap();
    // moto answers every rule with an empty prefix filter and no SourceSelectionCriteria.
    assert_eq!(
        doc("replication.json"),
        json!({"ReplicationConfiguration": {
            "Role": ROLE_ARN,
            "Rules": [
                {
                    "ID": "to-dr",
                    "Priority": 2,
                    "Filter": {"Prefix": ""},
                    "Status": "Enabled",
                    "Destination": {
                        "Bucket": "arn:aws:s3:::acme-dr",
                        "Account": ACCOUNT,
                        "StorageClass": "STANDARD_IA",
                        "AccessControlTranslation": {"Owner": "Destination"},
                        "EncryptionConfiguration": {"ReplicaKmsKeyID": dr_arn}
                    },
                    "DeleteMarkerReplication": {"Status": "Disabled"}
                },
                {
                    "ID": "gold",
                    "Priority": 1,
                    "Filter": {"Prefix": ""},
                    "Status": "Disabled",
                    "Destination": {"Bucket": "arn:aws:s3:::acme-gold"},
                    "DeleteMarkerReplication": {"Status": "Disabled"}
                }
            ]
        }})
    );
    // The CLI's order of members, and its indentation.
    assert!(
        bundle["replication.json"].starts_with(
            "{\n    \"ReplicationConfiguration\": {\n        \"Role\": \"arn:aws:iam::123456789012:role/service-role/s3crr_role_for_acme\",\n        \"Rules\": [\n            {\n                \"ID\": \"to-dr\",\n                \"Priority\": 2,\n"
        ),
        "{}",
        bundle["replication.json"]
    );
    for name in ["src.versioning.err", "dst/acme-gold.request-payment.err"] {
        assert_unreadable(&bundle, name);
    }
    assert_eq!(
        doc("dst/acme-dr.object-lock.json"),
        json!({"ObjectLockConfiguration": {
            "ObjectLockEnabled": "Enabled",
            // moto sends <Years>0</Years> beside the days; the CLI prints it too.
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30, "Years": 0}}
        }})
    );
    assert_eq!(
        doc("src.ownership.json"),
        json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}})
    );
    assert_eq!(
        doc("src.encryption.json"),
        json!({"ServerSideEncryptionConfiguration": {"Rules": [{
            "ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms",
                "KMSMasterKeyID": "alias/acme-src"
            },
            "BucketKeyEnabled": true
        }]}})
    );
    assert_eq!(
        doc("dst/acme-dr.policy.json"),
        json!({"Policy": DST_POLICY})
    );
    assert_eq!(doc("src.policy.json"), json!({"Policy": SRC_POLICY}));
    assert_eq!(
        doc("dst/acme-dr.public-access-block.json"),
        json!({"PublicAccessBlockConfiguration": {
            "BlockPublicAcls": true,
            "IgnorePublicAcls": true,
            "BlockPublicPolicy": true,
            "RestrictPublicBuckets": true
        }})
    );
    assert_eq!(
        doc("dst/acme-dr.location.json"),
        json!({"LocationConstraint": "eu-west-1"})
    );
    assert_eq!(
        doc("src.location.json"),
        json!({"LocationConstraint": null})
    );
    assert_eq!(
        bundle["src.object-lock.err"],
        "An error occurred (ObjectLockConfigurationNotFoundError) when calling the GetObjectLockConfiguration operation: Object Lock configuration does not exist for this bucket\n"
    );
    assert_eq!(
        bundle["dst/acme-gold.policy.err"],
        "An error occurred (NoSuchBucketPolicy) when calling the GetBucketPolicy operation: The bucket policy does not exist\n"
    );

    // IAM documents arrive URL-encoded and are printed as JSON objects.
    let mut role = doc("iam/role.json");
    assert_eq!(
        millis(&role["Role"]["CreateDate"]),
        instant(&fixture.role.create_date)
    );
    role["Role"]["CreateDate"] = json!("checked");
    assert_eq!(
        role,
        json!({"Role": {
            "Path": "/service-role/",
            "RoleName": "s3crr_role_for_acme",
            "RoleId": fixture.role.role_id,
            "Arn": ROLE_ARN,
            "CreateDate": "checked",
            "AssumeRolePolicyDocument": serde_json::from_str::<Value>(TRUST).unwrap(),
            "Description": "S3 replication, acme-src",
            "MaxSessionDuration": 3600,
            "RoleLastUsed": {}
        }})
    );
    // The trust policy's members in the author's order, as the CLI prints them.
    assert!(
        bundle["iam/role.json"].contains(
            "\"AssumeRolePolicyDocument\": {\n            \"Version\": \"2012-10-17\",\n            \"Statement\": ["
        ),
        "{}",
        bundle["iam/role.json"]
    );
    assert_eq!(
        doc("iam/inline/replication.json"),
        json!({
            "RoleName": "s3crr_role_for_acme",
            "PolicyName": "replication",
            "PolicyDocument": serde_json::from_str::<Value>(INLINE).unwrap()
        })
    );
    let attached = doc("iam/attached/acme-replication-kms.json");
    assert_eq!(attached["PolicyVersion"]["VersionId"], "v2");
    assert_eq!(attached["PolicyVersion"]["IsDefaultVersion"], true);
    assert_eq!(
        attached["PolicyVersion"]["Document"],
        serde_json::from_str::<Value>(MANAGED_V2).unwrap()
    );

    let mut describe = doc(&format!("kms/{dr_key_id}.describe.json"));
    let created = fixture.dr_key.creation_date.as_ref().unwrap();
    assert_eq!(
        millis(&describe["KeyMetadata"]["CreationDate"]),
        instant(created)
    );
    describe["KeyMetadata"]["CreationDate"] = json!("checked");
    assert_eq!(
        describe,
        json!({"KeyMetadata": {
            "AWSAccountId": ACCOUNT,
            "KeyId": dr_key_id,
            "Arn": dr_arn,
            "CreationDate": "checked",
            "Enabled": true,
            "Description": "acme-dr replicas",
            "KeyState": "Enabled",
            "Origin": "AWS_KMS",
            "KeyManager": "CUSTOMER",
            "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
            "KeySpec": "SYMMETRIC_DEFAULT",
            "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
            "SigningAlgorithms": []
        }})
    );
    // A key policy stays a JSON string, as the CLI prints it (moto sends no PolicyName).
    assert_eq!(
        serde_json::from_str::<Value>(
            doc(&format!("kms/{dr_key_id}.policy.json"))["Policy"]
                .as_str()
                .unwrap()
        )
        .unwrap(),
        serde_json::from_str::<Value>(KEY_POLICY).unwrap()
    );
    // The source key is named by its alias; its policy is the aliased key's.
    let src_describe = doc("kms/alias-acme-src.describe.json");
    assert_eq!(src_describe["KeyMetadata"]["KeyId"], json!(src_key_id));
    assert!(doc("kms/alias-acme-src.policy.json")["Policy"].is_string());

    // The same server, read by the real AWS CLI running the collect script.
    let cli = run_script(&moto, "acme-src", Keys("testing", "testing"), None);
    assert_same_bundle(&cli, &bundle);

    // A bucket with nothing configured.
    let bare = rt
        .block_on(collect_live("bare-src", &options(&moto, root())))
        .unwrap();
    assert_eq!(
        names(&bare),
        [
            "replication.err",
            "src.acl.json",
            "src.encryption.err",
            "src.location.json",
            "src.object-lock.err",
            "src.ownership.err",
            "src.policy.err",
            "src.versioning.err",
        ]
    );
    assert_eq!(
        bare["replication.err"],
        "An error occurred (ReplicationConfigurationNotFoundError) when calling the GetBucketReplication operation: The replication configuration was not found\n"
    );
    assert_eq!(bare["src.acl.json"], bundle["src.acl.json"]);
    let cli = run_script(&moto, "bare-src", Keys("testing", "testing"), None);
    assert_same_bundle(&cli, &bare);
}

/// Denied calls become `.err` documents and the run goes on; the destination side is read
/// with the destination's credentials.
#[test]
fn denied_calls_are_err_documents() {
    let moto = MotoServer::start();
    let rt = runtime();
    let (src_user, dst_user, fixture) = rt.block_on(async {
        let fixture = set_up(&moto).await;
        // moto authorises S3 calls without an IAM action of their own (replication,
        // ownership, object lock, encryption, ...) as s3:ListBucket.
        let src_user = user(
            &moto,
            "doctor-src",
            r#"{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketVersioning", "s3:GetBucketLocation", "s3:GetBucketAcl"], "Resource": "arn:aws:s3:::acme-src"},
                {"Effect": "Allow", "Action": ["iam:GetRole", "iam:ListRolePolicies", "kms:DescribeKey", "kms:GetKeyPolicy"], "Resource": "*"}
            ]}"#,
        )
        .await;
        let dst_user = user(
            &moto,
            "doctor-dst",
            r#"{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::acme-dr", "arn:aws:s3:::acme-gold"]},
                {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}
            ]}"#,
        )
        .await;
        (src_user, dst_user, fixture)
    });
    moto.enable_auth();
    let mut opts = options(&moto, provider(&src_user.0, &src_user.1));
    opts.dest_credentials = Some(provider(&dst_user.0, &dst_user.1));
    let bundle = rt
        .block_on(collect_live("acme-src", &opts))
        .unwrap_or_else(|e| panic!("{e}\nmoto:\n{}", moto.log()));

    let dr_key_id = &fixture.dr_key.key_id;
    let expected = expected_names(
        &[
            "replication.json",
            "src.versioning.err",
            "src.ownership.json",
            "src.object-lock.err",
            "src.encryption.json",
            "src.acl.json",
            "src.location.json",
            "src.policy.err",
            "iam/role.json",
            "iam/inline/replication.err",
            "iam/attached.err",
            &format!("kms/{dr_key_id}.describe.json"),
            &format!("kms/{dr_key_id}.policy.err"),
            "kms/alias-acme-src.describe.json",
            "kms/alias-acme-src.policy.json",
        ],
        &[
            ("acme-dr", &["versioning", "request-payment"]),
            (
                "acme-gold",
                &[
                    "versioning",
                    "ownership",
                    "object-lock",
                    "encryption",
                    "public-access-block",
                    "policy",
                    "request-payment",
                ],
            ),
        ],
    );
    assert_eq!(names(&bundle), expected, "{bundle:#?}");
    assert_eq!(
        bundle["src.policy.err"],
        "An error occurred (AccessDenied) when calling the GetBucketPolicy operation: Access Denied\n"
    );
    assert_eq!(
        bundle["iam/inline/replication.err"],
        "An error occurred (AccessDenied) when calling the GetRolePolicy operation: User: arn:aws:iam::123456789012:user/doctor-src is not authorized to perform: iam:GetRolePolicy\n"
    );
    assert_eq!(
        bundle["iam/attached.err"],
        "An error occurred (AccessDenied) when calling the ListAttachedRolePolicies operation: User: arn:aws:iam::123456789012:user/doctor-src is not authorized to perform: iam:ListAttachedRolePolicies\n"
    );
    // moto answers a denied KMS call in XML, as IAM errors; its code is read from there.
    assert_eq!(
        bundle[&format!("kms/{dr_key_id}.policy.err")],
        "An error occurred (AccessDenied) when calling the GetKeyPolicy operation: User: arn:aws:iam::123456789012:user/doctor-dst is not authorized to perform: kms:GetKeyPolicy\n"
    );
    // Read with the destination's credentials (the source's may not read acme-dr).
    assert_eq!(
        parse("o", &bundle["dst/acme-dr.ownership.json"]),
        json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}})
    );

    let profiles = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        profiles.path(),
        format!(
            "[dst]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            dst_user.0, dst_user.1
        ),
    )
    .unwrap();
    let cli = run_script(
        &moto,
        "acme-src",
        Keys(&src_user.0, &src_user.1),
        Some(("dst", profiles.path())),
    );
    assert_same_bundle(&cli, &bundle);
}

/// An IAM user allowed what `policy` allows, and its access key.
async fn user(moto: &MotoServer, name: &str, policy: &str) -> (String, String) {
    let iam = iam(moto);
    iam.create_user().user_name(name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(name)
        .policy_name("doctor")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    (key.access_key_id, key.secret_access_key)
}

struct Keys<'a>(&'a str, &'a str);

/// The bundle the collect script writes for `bucket` when the real AWS CLI runs it against
/// moto with these credentials, and `DEST_PROFILE` from a credentials file when given.
fn run_script(
    moto: &MotoServer,
    bucket: &str,
    creds: Keys,
    dest_profile: Option<(&str, &Path)>,
) -> Bundle {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "").unwrap();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(collect_script(bucket));
    // Nothing from the environment's AWS settings.
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", creds.0)
        .env("AWS_SECRET_ACCESS_KEY", creds.1)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env("OUT", &out);
    if let Some((profile, file)) = dest_profile {
        cmd.env("DEST_PROFILE", profile)
            .env("AWS_SHARED_CREDENTIALS_FILE", file);
    }
    // The script would turn a missing CLI into one .err file per call: say it once.
    if let Err(e) = std::process::Command::new("aws").arg("--version").output() {
        panic!(
            "cannot run aws (the AWS CLI): {e}; these tests compare the collect script's \
             output with collect_live's: install it with `python3 -m pip install --user \
             awscli` (and put ~/.local/bin on PATH); .ci/run does this"
        );
    }
    let run = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "collect script failed:\n{stderr}");
    read_bundle(&out).unwrap()
}

/// The script's bundle and the live one: the same files; the same error lines; the same
/// documents, as text when they hold no time (times are printed per CLI version) and as
/// JSON with times compared as instants otherwise. Except the documents moto answers in a
/// form only the CLI reads: those the CLI printed, live could not read.
fn assert_same_bundle(cli: &Bundle, live: &Bundle) {
    let stem = |name: &str| name.rsplit_once('.').unwrap().0.to_string();
    let (odd, cli): (Bundle, Bundle) = cli
        .clone()
        .into_iter()
        .partition(|(name, _)| unreadable_on_moto(&stem(name)));
    assert!(!odd.is_empty());
    for name in odd.keys() {
        assert!(
            name.ends_with(".json"),
            "{name}: the CLI could not read it either"
        );
        assert_unreadable(live, &format!("{}.err", stem(name)));
    }
    let live: Bundle = live
        .iter()
        .filter(|(name, _)| !unreadable_on_moto(&stem(name)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        names(&cli),
        names(&live),
        "script (left) and live (right) files"
    );
    for (name, cli_text) in &cli {
        let live_text = &live[name];
        if name.ends_with(".err") {
            // A KMS error moto sends as XML: the CLI names the HTTP status and prints the
            // whole body as the message; live names the code and message in that body.
            if cli_text.lines().count() > 1 {
                let (code, message) = live_text
                    .strip_prefix("An error occurred (")
                    .and_then(|t| t.split_once(") when calling the GetKeyPolicy operation: "))
                    .unwrap_or_else(|| panic!("{name}: {live_text}"));
                assert!(
                    cli_text.starts_with(
                        "An error occurred (403) when calling the GetKeyPolicy operation: "
                    ) && cli_text.contains(&format!("<Code>{code}</Code>"))
                        && cli_text.contains(&format!("<Message>{}</Message>", message.trim_end())),
                    "{name}: script {cli_text:?}, live {live_text:?}"
                );
            } else {
                assert_eq!(cli_text, live_text, "{name}");
            }
            continue;
        }
        let (mut a, mut b) = (parse(name, cli_text), parse(name, live_text));
        let timed = instants(&mut a);
        instants(&mut b);
        assert_eq!(a, b, "{name}: script (left) and live (right) differ");
        if !timed {
            assert_eq!(cli_text, live_text, "{name}: same document, different text");
        }
    }
}

/// `s3inv doctor --live` (the binary, its flags, the default credential chain from the
/// environment) against moto: its answers equal `--config` over the very documents
/// `collect_live` reads, and `--print-collect-script` prints the script for the bucket
/// named or for the bucket a delivery names.
#[test]
fn the_cli_live_answers_equal_the_config_answers() {
    use s3inv::generate::{DeliverySpec, GenerateOptions, Versions, write_delivery};

    let moto = MotoServer::start();
    let rt = runtime();
    rt.block_on(set_up(&moto));
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions {
        source_bucket: "acme-src".into(),
        hostile: false,
        ..crate::harness::bundled_options()
    };
    let spec = DeliverySpec {
        format: s3inv::manifest::FileFormat::Csv,
        versions: Versions::All,
        config_id: "live".into(),
    };
    let manifest = write_delivery(&dir.path().join("inventory"), &opts, &spec)
        .unwrap()
        .manifest;
    let doctor = |args: &[&str]| -> Value {
        let (code, out, err) = crate::harness::run(
            crate::harness::s3inv()
                .arg("doctor")
                .arg(&manifest)
                .args(["--format", "json", "--examples", "2"])
                .args(args)
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing"),
        );
        assert_eq!(code, 0, "{args:?}: {err}\nmoto:\n{}", moto.log());
        serde_json::from_str(&out).unwrap()
    };
    let live = doctor(&[
        "--live",
        "--endpoint-url",
        &moto.endpoint,
        "--region",
        "us-east-1",
    ]);
    let bundle = rt
        .block_on(collect_live("acme-src", &options(&moto, root())))
        .unwrap();
    let config = dir.path().join("config");
    s3inv::doctor::collect::write_bundle(&bundle, &config).unwrap();
    let offline = doctor(&["--config", config.to_str().unwrap()]);
    // The documents are named by where they came from; the rest is the same.
    let offline_text = serde_json::to_string(&offline)
        .unwrap()
        .replace(config.to_str().unwrap(), "live");
    let offline: Value = serde_json::from_str(&offline_text).unwrap();
    for part in ["rows", "totals", "findings", "not_checked", "rule_starts"] {
        assert_eq!(live[part], offline[part], "{part}: {live:#}");
    }
    // The configuration was read: the rules name the destinations.
    let destinations: BTreeSet<&str> = live["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["destination"].as_str())
        .collect();
    assert_eq!(
        destinations,
        BTreeSet::from(["acme-dr", "acme-gold"]),
        "{live:#}"
    );

    // The collect script, for a bucket name and for the delivery that names it.
    for location in [
        "acme-src".to_string(),
        "s3://acme-src/".to_string(),
        manifest.display().to_string(),
    ] {
        let (code, out, err) = crate::harness::run(
            crate::harness::s3inv()
                .args(["doctor", "--print-collect-script"])
                .arg(&location),
        );
        assert_eq!(code, 0, "{location}: {err}");
        assert_eq!(out, collect_script("acme-src"), "{location}");
    }
}
