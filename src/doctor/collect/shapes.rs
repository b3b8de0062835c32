//! SDK responses as the AWS CLI prints them: the same member names (the service model's,
//! PascalCase), in the model's order, only the members the response held.
//!
//! What the CLI changes on the way, done here too: IAM policy documents come URL-encoded
//! and are printed decoded, as JSON objects; bucket and key policies stay JSON strings.
//! Where the CLI's text depends on its version, one form is chosen: timestamps are ISO
//! 8601 in UTC (`2026-12-02T18:48:07.889473+00:00`, aws-cli v2's default; v1 prints the
//! wire form), so a reader parses them as instants, never compares their text.

use aws_sdk_s3::primitives::DateTime;
use percent_encoding::percent_decode_str;

use super::json::{J, Obj};

fn s(v: &str) -> J {
    J::from(v)
}

fn os(v: &Option<String>) -> Option<J> {
    v.as_deref().map(s)
}

fn oi(v: Option<i32>) -> Option<J> {
    v.map(J::from)
}

fn ob(v: Option<bool>) -> Option<J> {
    v.map(J::from)
}

fn list<T>(v: &Option<Vec<T>>, f: impl Fn(&T) -> J) -> Option<J> {
    v.as_ref()
        .map(|items| J::Arr(items.iter().map(f).collect()))
}

fn all<T>(items: &[T], f: impl Fn(&T) -> J) -> J {
    J::Arr(items.iter().map(f).collect())
}

/// Python's `datetime.isoformat()` of a UTC time: microseconds only when not zero.
pub(super) fn timestamp(t: &DateTime) -> J {
    let micros = t.subsec_nanos() / 1000;
    let Some(at) = chrono::DateTime::from_timestamp(t.secs(), micros * 1000) else {
        return J::from(t.to_string());
    };
    let text = if micros == 0 {
        at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    };
    J::from(text)
}

fn ots(t: &Option<DateTime>) -> Option<J> {
    t.as_ref().map(timestamp)
}

/// An IAM policy document as the CLI prints it: URL-decoded and parsed as JSON (members in
/// the author's order), or the text as it came when that fails (botocore's
/// `decode_quoted_jsondoc`).
pub(super) fn iam_document(raw: &str) -> J {
    let decoded = percent_decode_str(raw).decode_utf8_lossy();
    serde_json::from_str::<J>(&decoded).unwrap_or_else(|_| J::from(raw))
}

// ---- S3 ----

pub(super) fn replication(
    o: &aws_sdk_s3::operation::get_bucket_replication::GetBucketReplicationOutput,
) -> J {
    use aws_sdk_s3::types::{Destination, ReplicationRule, ReplicationRuleFilter, Tag};
    fn tag(t: &Tag) -> J {
        Obj::new()
            .put("Key", s(&t.key))
            .put("Value", s(&t.value))
            .into()
    }
    fn filter(f: &ReplicationRuleFilter) -> J {
        Obj::new()
            .put("Prefix", os(&f.prefix))
            .put("Tag", f.tag.as_ref().map(tag))
            .put(
                "And",
                f.and.as_ref().map(|a| {
                    Obj::new()
                        .put("Prefix", os(&a.prefix))
                        .put("Tags", list(&a.tags, tag))
                        .into()
                }),
            )
            .into()
    }
    fn status(v: &str) -> J {
        Obj::new().put("Status", s(v)).into()
    }
    fn minutes(m: Option<i32>) -> J {
        Obj::new().put("Minutes", oi(m)).into()
    }
    fn destination(d: &Destination) -> J {
        Obj::new()
            .put("Bucket", s(&d.bucket))
            .put("Account", os(&d.account))
            .put(
                "StorageClass",
                d.storage_class.as_ref().map(|c| s(c.as_str())),
            )
            .put(
                "AccessControlTranslation",
                d.access_control_translation
                    .as_ref()
                    .map(|a| Obj::new().put("Owner", s(a.owner.as_str())).into()),
            )
            .put(
                "EncryptionConfiguration",
                d.encryption_configuration.as_ref().map(|e| {
                    Obj::new()
                        .put("ReplicaKmsKeyID", os(&e.replica_kms_key_id))
                        .into()
                }),
            )
            .put(
                "ReplicationTime",
                d.replication_time.as_ref().map(|t| {
                    Obj::new()
                        .put("Status", s(t.status.as_str()))
                        .put("Time", t.time.as_ref().map(|v| minutes(v.minutes)))
                        .into()
                }),
            )
            .put(
                "Metrics",
                d.metrics.as_ref().map(|m| {
                    Obj::new()
                        .put("Status", s(m.status.as_str()))
                        .put(
                            "EventThreshold",
                            m.event_threshold.as_ref().map(|v| minutes(v.minutes)),
                        )
                        .into()
                }),
            )
            .into()
    }
    // A V1 rule's `Prefix` is deprecated in the model but is what V1 configurations hold.
    #[allow(deprecated)]
    fn rule(r: &ReplicationRule) -> J {
        Obj::new()
            .put("ID", os(&r.id))
            .put("Priority", oi(r.priority))
            .put("Prefix", os(&r.prefix))
            .put("Filter", r.filter.as_ref().map(filter))
            .put("Status", s(r.status.as_str()))
            .put(
                "SourceSelectionCriteria",
                r.source_selection_criteria.as_ref().map(|c| {
                    Obj::new()
                        .put(
                            "SseKmsEncryptedObjects",
                            c.sse_kms_encrypted_objects
                                .as_ref()
                                .map(|v| status(v.status.as_str())),
                        )
                        .put(
                            "ReplicaModifications",
                            c.replica_modifications
                                .as_ref()
                                .map(|v| status(v.status.as_str())),
                        )
                        .into()
                }),
            )
            .put(
                "ExistingObjectReplication",
                r.existing_object_replication
                    .as_ref()
                    .map(|v| status(v.status.as_str())),
            )
            .put("Destination", r.destination.as_ref().map(destination))
            .put(
                "DeleteMarkerReplication",
                r.delete_marker_replication.as_ref().map(|v| {
                    Obj::new()
                        .put("Status", v.status.as_ref().map(|x| s(x.as_str())))
                        .into()
                }),
            )
            .into()
    }
    Obj::new()
        .put(
            "ReplicationConfiguration",
            o.replication_configuration.as_ref().map(|c| {
                Obj::new()
                    .put("Role", s(&c.role))
                    .put("Rules", all(&c.rules, rule))
                    .into()
            }),
        )
        .into()
}

pub(super) fn versioning(
    o: &aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput,
) -> J {
    Obj::new()
        .put("Status", o.status.as_ref().map(|v| s(v.as_str())))
        .put("MFADelete", o.mfa_delete.as_ref().map(|v| s(v.as_str())))
        .into()
}

pub(super) fn ownership(
    o: &aws_sdk_s3::operation::get_bucket_ownership_controls::GetBucketOwnershipControlsOutput,
) -> J {
    Obj::new()
        .put(
            "OwnershipControls",
            o.ownership_controls.as_ref().map(|c| {
                Obj::new()
                    .put(
                        "Rules",
                        all(&c.rules, |r| {
                            Obj::new()
                                .put("ObjectOwnership", s(r.object_ownership.as_str()))
                                .into()
                        }),
                    )
                    .into()
            }),
        )
        .into()
}

pub(super) fn object_lock(
    o: &aws_sdk_s3::operation::get_object_lock_configuration::GetObjectLockConfigurationOutput,
) -> J {
    let retention = |d: &aws_sdk_s3::types::DefaultRetention| -> J {
        Obj::new()
            .put("Mode", d.mode.as_ref().map(|m| s(m.as_str())))
            .put("Days", oi(d.days))
            .put("Years", oi(d.years))
            .put(
                "DefaultEventHold",
                d.default_event_hold.as_ref().map(|h| {
                    Obj::new()
                        .put("Days", oi(h.days))
                        .put("Years", oi(h.years))
                        .into()
                }),
            )
            .into()
    };
    Obj::new()
        .put(
            "ObjectLockConfiguration",
            o.object_lock_configuration.as_ref().map(|c| {
                Obj::new()
                    .put(
                        "ObjectLockEnabled",
                        c.object_lock_enabled.as_ref().map(|v| s(v.as_str())),
                    )
                    .put(
                        "Rule",
                        c.rule.as_ref().map(|r| {
                            Obj::new()
                                .put(
                                    "DefaultRetention",
                                    r.default_retention.as_ref().map(retention),
                                )
                                .into()
                        }),
                    )
                    .into()
            }),
        )
        .into()
}

pub(super) fn encryption(
    o: &aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput,
) -> J {
    let rule = |r: &aws_sdk_s3::types::ServerSideEncryptionRule| -> J {
        Obj::new()
            .put(
                "ApplyServerSideEncryptionByDefault",
                r.apply_server_side_encryption_by_default.as_ref().map(|d| {
                    Obj::new()
                        .put("SSEAlgorithm", s(d.sse_algorithm.as_str()))
                        .put("KMSMasterKeyID", os(&d.kms_master_key_id))
                        .into()
                }),
            )
            .put("BucketKeyEnabled", ob(r.bucket_key_enabled))
            .put(
                "BlockedEncryptionTypes",
                r.blocked_encryption_types.as_ref().map(|b| {
                    Obj::new()
                        .put(
                            "EncryptionType",
                            list(&b.encryption_type, |t| s(t.as_str())),
                        )
                        .into()
                }),
            )
            .into()
    };
    Obj::new()
        .put(
            "ServerSideEncryptionConfiguration",
            o.server_side_encryption_configuration
                .as_ref()
                .map(|c| Obj::new().put("Rules", all(&c.rules, rule)).into()),
        )
        .into()
}

pub(super) fn acl(o: &aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput) -> J {
    let grant = |g: &aws_sdk_s3::types::Grant| -> J {
        Obj::new()
            .put(
                "Grantee",
                g.grantee.as_ref().map(|e| {
                    Obj::new()
                        .put("DisplayName", os(&e.display_name))
                        .put("EmailAddress", os(&e.email_address))
                        .put("ID", os(&e.id))
                        .put("Type", s(e.r#type.as_str()))
                        .put("URI", os(&e.uri))
                        .into()
                }),
            )
            .put("Permission", g.permission.as_ref().map(|p| s(p.as_str())))
            .into()
    };
    Obj::new()
        .put(
            "Owner",
            o.owner.as_ref().map(|w| {
                Obj::new()
                    .put("DisplayName", os(&w.display_name))
                    .put("ID", os(&w.id))
                    .into()
            }),
        )
        .put("Grants", list(&o.grants, grant))
        .into()
}

/// `{"LocationConstraint": null}` for us-east-1: the CLI prints the member even then.
pub(super) fn location(
    o: &aws_sdk_s3::operation::get_bucket_location::GetBucketLocationOutput,
) -> J {
    let value = match o.location_constraint.as_ref().map(|c| c.as_str()) {
        None | Some("") => J::Null,
        Some(region) => s(region),
    };
    Obj::new().put("LocationConstraint", value).into()
}

pub(super) fn bucket_policy(
    o: &aws_sdk_s3::operation::get_bucket_policy::GetBucketPolicyOutput,
) -> J {
    Obj::new().put("Policy", os(&o.policy)).into()
}

pub(super) fn public_access_block(
    o: &aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockOutput,
) -> J {
    Obj::new()
        .put(
            "PublicAccessBlockConfiguration",
            o.public_access_block_configuration.as_ref().map(|c| {
                Obj::new()
                    .put("BlockPublicAcls", ob(c.block_public_acls))
                    .put("IgnorePublicAcls", ob(c.ignore_public_acls))
                    .put("BlockPublicPolicy", ob(c.block_public_policy))
                    .put("RestrictPublicBuckets", ob(c.restrict_public_buckets))
                    .into()
            }),
        )
        .into()
}

pub(super) fn request_payment(
    o: &aws_sdk_s3::operation::get_bucket_request_payment::GetBucketRequestPaymentOutput,
) -> J {
    Obj::new()
        .put("Payer", o.payer.as_ref().map(|p| s(p.as_str())))
        .into()
}

// ---- IAM ----

fn iam_tag(t: &aws_sdk_iam::types::Tag) -> J {
    Obj::new()
        .put("Key", s(&t.key))
        .put("Value", s(&t.value))
        .into()
}

pub(super) fn role(o: &aws_sdk_iam::operation::get_role::GetRoleOutput) -> J {
    let role = |r: &aws_sdk_iam::types::Role| -> J {
        Obj::new()
            .put("Path", s(&r.path))
            .put("RoleName", s(&r.role_name))
            .put("RoleId", s(&r.role_id))
            .put("Arn", s(&r.arn))
            .put("CreateDate", timestamp(&r.create_date))
            .put(
                "AssumeRolePolicyDocument",
                r.assume_role_policy_document.as_deref().map(iam_document),
            )
            .put("Description", os(&r.description))
            .put("MaxSessionDuration", oi(r.max_session_duration))
            .put(
                "PermissionsBoundary",
                r.permissions_boundary.as_ref().map(|b| {
                    Obj::new()
                        .put(
                            "PermissionsBoundaryType",
                            b.permissions_boundary_type.as_ref().map(|t| s(t.as_str())),
                        )
                        .put("PermissionsBoundaryArn", os(&b.permissions_boundary_arn))
                        .into()
                }),
            )
            .put("Tags", list(&r.tags, iam_tag))
            .put(
                "RoleLastUsed",
                r.role_last_used.as_ref().map(|u| {
                    Obj::new()
                        .put("LastUsedDate", ots(&u.last_used_date))
                        .put("Region", os(&u.region))
                        .into()
                }),
            )
            .into()
    };
    Obj::new().put("Role", o.role.as_ref().map(role)).into()
}

pub(super) fn role_policy(o: &aws_sdk_iam::operation::get_role_policy::GetRolePolicyOutput) -> J {
    Obj::new()
        .put("RoleName", s(&o.role_name))
        .put("PolicyName", s(&o.policy_name))
        .put("PolicyDocument", iam_document(&o.policy_document))
        .into()
}

pub(super) fn policy_version(
    o: &aws_sdk_iam::operation::get_policy_version::GetPolicyVersionOutput,
) -> J {
    Obj::new()
        .put(
            "PolicyVersion",
            o.policy_version.as_ref().map(|v| {
                Obj::new()
                    .put("Document", v.document.as_deref().map(iam_document))
                    .put("VersionId", os(&v.version_id))
                    .put("IsDefaultVersion", J::from(v.is_default_version))
                    .put("CreateDate", ots(&v.create_date))
                    .into()
            }),
        )
        .into()
}

// ---- KMS ----

pub(super) fn describe_key(o: &aws_sdk_kms::operation::describe_key::DescribeKeyOutput) -> J {
    fn names<T>(v: &Option<Vec<T>>, name: impl Fn(&T) -> &str) -> Option<J> {
        list(v, |x| s(name(x)))
    }
    let region_key = |k: &aws_sdk_kms::types::MultiRegionKey| -> J {
        Obj::new()
            .put("Arn", os(&k.arn))
            .put("Region", os(&k.region))
            .into()
    };
    // `CustomerMasterKeySpec` is deprecated but still sent, and the CLI prints it.
    #[allow(deprecated)]
    let meta = |m: &aws_sdk_kms::types::KeyMetadata| -> J {
        Obj::new()
            .put("AWSAccountId", os(&m.aws_account_id))
            .put("KeyId", s(&m.key_id))
            .put("Arn", os(&m.arn))
            .put("CreationDate", ots(&m.creation_date))
            .put("Enabled", J::from(m.enabled))
            .put("Description", os(&m.description))
            .put("KeyUsage", m.key_usage.as_ref().map(|v| s(v.as_str())))
            .put("KeyState", m.key_state.as_ref().map(|v| s(v.as_str())))
            .put("DeletionDate", ots(&m.deletion_date))
            .put("ValidTo", ots(&m.valid_to))
            .put("Origin", m.origin.as_ref().map(|v| s(v.as_str())))
            .put("CustomKeyStoreId", os(&m.custom_key_store_id))
            .put("CloudHsmClusterId", os(&m.cloud_hsm_cluster_id))
            .put(
                "ExpirationModel",
                m.expiration_model.as_ref().map(|v| s(v.as_str())),
            )
            .put("KeyManager", m.key_manager.as_ref().map(|v| s(v.as_str())))
            .put(
                "CustomerMasterKeySpec",
                m.customer_master_key_spec.as_ref().map(|v| s(v.as_str())),
            )
            .put("KeySpec", m.key_spec.as_ref().map(|v| s(v.as_str())))
            .put(
                "EncryptionAlgorithms",
                names(&m.encryption_algorithms, |v| v.as_str()),
            )
            .put(
                "SigningAlgorithms",
                names(&m.signing_algorithms, |v| v.as_str()),
            )
            .put(
                "KeyAgreementAlgorithms",
                names(&m.key_agreement_algorithms, |v| v.as_str()),
            )
            .put(
                "EncapsulationAlgorithms",
                names(&m.encapsulation_algorithms, |v| v.as_str()),
            )
            .put("MultiRegion", ob(m.multi_region))
            .put(
                "MultiRegionConfiguration",
                m.multi_region_configuration.as_ref().map(|c| {
                    Obj::new()
                        .put(
                            "MultiRegionKeyType",
                            c.multi_region_key_type.as_ref().map(|v| s(v.as_str())),
                        )
                        .put("PrimaryKey", c.primary_key.as_ref().map(region_key))
                        .put("ReplicaKeys", list(&c.replica_keys, region_key))
                        .into()
                }),
            )
            .put(
                "PendingDeletionWindowInDays",
                oi(m.pending_deletion_window_in_days),
            )
            .put("MacAlgorithms", names(&m.mac_algorithms, |v| v.as_str()))
            .put(
                "XksKeyConfiguration",
                m.xks_key_configuration
                    .as_ref()
                    .map(|x| Obj::new().put("Id", os(&x.id)).into()),
            )
            .put("CurrentKeyMaterialId", os(&m.current_key_material_id))
            .into()
    };
    Obj::new()
        .put("KeyMetadata", o.key_metadata.as_ref().map(meta))
        .into()
}

pub(super) fn key_policy(o: &aws_sdk_kms::operation::get_key_policy::GetKeyPolicyOutput) -> J {
    Obj::new()
        .put("Policy", os(&o.policy))
        .put("PolicyName", os(&o.policy_name))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_as_python_isoformat() {
        let t = DateTime::from_secs_and_nanos(1_796_237_281, 447_867_000);
        assert_eq!(timestamp(&t), J::from("2026-12-02T18:48:01.447867+00:00"));
        let whole = DateTime::from_secs(1_796_237_281);
        assert_eq!(timestamp(&whole), J::from("2026-12-02T18:48:01+00:00"));
    }

    #[test]
    fn iam_documents_are_decoded_like_botocore() {
        // What IAM sends: the document URL-encoded (RFC 3986).
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGet%2A%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aa%2Bb%2F%2A%22%7D%5D%7D";
        assert_eq!(
            iam_document(raw).to_cli_text(),
            r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:Get*",
            "Resource": "arn:aws:s3:::a+b/*"
        }
    ]
}
"#
        );
        // Not JSON once decoded: kept as it came.
        assert_eq!(iam_document("not%20json"), J::from("not%20json"));
    }

    /// doctor.md §b.1's V2 rule and the CLI example's V1 rule, as built by the SDK: the
    /// parts moto does not send back (filters, SourceSelectionCriteria, replication time).
    #[test]
    fn replication_as_the_cli_prints_it() {
        use aws_sdk_s3::operation::get_bucket_replication::GetBucketReplicationOutput;
        use aws_sdk_s3::types::*;
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
        let minutes = || ReplicationTimeValue::builder().minutes(15).build();
        let v2 = ReplicationRule::builder()
            .id("logs-to-dr")
            .priority(2)
            .filter(
                ReplicationRuleFilter::builder()
                    .and(
                        ReplicationRuleAndOperator::builder()
                            .prefix("logs/")
                            .tags(tag("replicate", "true"))
                            .build(),
                    )
                    .build(),
            )
            .status(ReplicationRuleStatus::Enabled)
            .source_selection_criteria(
                SourceSelectionCriteria::builder()
                    .sse_kms_encrypted_objects(
                        SseKmsEncryptedObjects::builder()
                            .status(SseKmsEncryptedObjectsStatus::Enabled)
                            .build()
                            .unwrap(),
                    )
                    .replica_modifications(
                        ReplicaModifications::builder()
                            .status(ReplicaModificationsStatus::Disabled)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .destination(
                Destination::builder()
                    .bucket("arn:aws:s3:::acme-data-dr")
                    .account("444455556666")
                    .storage_class(StorageClass::StandardIa)
                    .access_control_translation(
                        AccessControlTranslation::builder()
                            .owner(OwnerOverride::Destination)
                            .build()
                            .unwrap(),
                    )
                    .encryption_configuration(
                        EncryptionConfiguration::builder()
                            .replica_kms_key_id("arn:aws:kms:us-west-2:444455556666:key/k")
                            .build(),
                    )
                    .replication_time(
                        ReplicationTime::builder()
                            .status(ReplicationTimeStatus::Enabled)
                            .time(minutes())
                            .build()
                            .unwrap(),
                    )
                    .metrics(
                        Metrics::builder()
                            .status(MetricsStatus::Enabled)
                            .event_threshold(minutes())
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .delete_marker_replication(
                DeleteMarkerReplication::builder()
                    .status(DeleteMarkerReplicationStatus::Disabled)
                    .build(),
            )
            .build()
            .unwrap();
        #[allow(deprecated)]
        let v1 = ReplicationRule::builder()
            .status(ReplicationRuleStatus::Enabled)
            .prefix("")
            .destination(
                Destination::builder()
                    .bucket("arn:aws:s3:::my-bucket-backup")
                    .storage_class(StorageClass::Standard)
                    .build()
                    .unwrap(),
            )
            .id("ZmUwNzE4ZmQ4")
            .build()
            .unwrap();
        let out = GetBucketReplicationOutput::builder()
            .replication_configuration(
                ReplicationConfiguration::builder()
                    .role("arn:aws:iam::111122223333:role/service-role/r")
                    .rules(v2)
                    .rules(v1)
                    .build()
                    .unwrap(),
            )
            .build();
        // Python: json.dumps(<botocore's parse of the same XML>, indent=4) + "\n"; the V1
        // rule's members come in the model's order, whatever order the XML had.
        let expected = r#"{
    "ReplicationConfiguration": {
        "Role": "arn:aws:iam::111122223333:role/service-role/r",
        "Rules": [
            {
                "ID": "logs-to-dr",
                "Priority": 2,
                "Filter": {
                    "And": {
                        "Prefix": "logs/",
                        "Tags": [
                            {
                                "Key": "replicate",
                                "Value": "true"
                            }
                        ]
                    }
                },
                "Status": "Enabled",
                "SourceSelectionCriteria": {
                    "SseKmsEncryptedObjects": {
                        "Status": "Enabled"
                    },
                    "ReplicaModifications": {
                        "Status": "Disabled"
                    }
                },
                "Destination": {
                    "Bucket": "arn:aws:s3:::acme-data-dr",
                    "Account": "444455556666",
                    "StorageClass": "STANDARD_IA",
                    "AccessControlTranslation": {
                        "Owner": "Destination"
                    },
                    "EncryptionConfiguration": {
                        "ReplicaKmsKeyID": "arn:aws:kms:us-west-2:444455556666:key/k"
                    },
                    "ReplicationTime": {
                        "Status": "Enabled",
                        "Time": {
                            "Minutes": 15
                        }
                    },
                    "Metrics": {
                        "Status": "Enabled",
                        "EventThreshold": {
                            "Minutes": 15
                        }
                    }
                },
                "DeleteMarkerReplication": {
                    "Status": "Disabled"
                }
            },
            {
                "ID": "ZmUwNzE4ZmQ4",
                "Prefix": "",
                "Status": "Enabled",
                "Destination": {
                    "Bucket": "arn:aws:s3:::my-bucket-backup",
                    "StorageClass": "STANDARD"
                }
            }
        ]
    }
}
"#;
        assert_eq!(replication(&out).to_cli_text(), expected);
    }

    #[test]
    fn versioning_and_request_payment() {
        use aws_sdk_s3::operation::get_bucket_request_payment::GetBucketRequestPaymentOutput;
        use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
        use aws_sdk_s3::types::{BucketVersioningStatus, MfaDeleteStatus, Payer};
        // Never versioned: the CLI prints nothing, the bundle holds {}.
        let never = GetBucketVersioningOutput::builder().build();
        assert_eq!(versioning(&never).to_cli_text(), "{}\n");
        let suspended = GetBucketVersioningOutput::builder()
            .status(BucketVersioningStatus::Suspended)
            .mfa_delete(MfaDeleteStatus::Disabled)
            .build();
        assert_eq!(
            versioning(&suspended).to_cli_text(),
            "{\n    \"Status\": \"Suspended\",\n    \"MFADelete\": \"Disabled\"\n}\n"
        );
        let payer = GetBucketRequestPaymentOutput::builder()
            .payer(Payer::Requester)
            .build();
        assert_eq!(
            request_payment(&payer).to_cli_text(),
            "{\n    \"Payer\": \"Requester\"\n}\n"
        );
    }

    #[test]
    fn location_of_us_east_1_is_null() {
        use aws_sdk_s3::operation::get_bucket_location::GetBucketLocationOutput;
        use aws_sdk_s3::types::BucketLocationConstraint;
        let none = GetBucketLocationOutput::builder().build();
        assert_eq!(
            location(&none).to_cli_text(),
            "{\n    \"LocationConstraint\": null\n}\n"
        );
        let eu = GetBucketLocationOutput::builder()
            .location_constraint(BucketLocationConstraint::Eu)
            .build();
        assert_eq!(
            location(&eu).to_cli_text(),
            "{\n    \"LocationConstraint\": \"EU\"\n}\n"
        );
    }
}
