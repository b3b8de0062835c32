//! The causes the doctor names: stable kebab-case ids (documented in the README), a title,
//! and the fix in one line. Reported failure reasons (`reported:<Code>`) come from events
//! and completion reports and are described by `reasons`.

/// How sure an attribution is (doctor.md: certain, strong, likely/weak).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    Likely,
    Strong,
    Certain,
}

impl Confidence {
    pub fn name(self) -> &'static str {
        match self {
            Confidence::Certain => "certain",
            Confidence::Strong => "strong",
            Confidence::Likely => "likely",
        }
    }
}

/// One cause of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause {
    pub id: &'static str,
    pub title: &'static str,
    pub fix: &'static str,
}

macro_rules! causes {
    ($($name:ident = $id:literal, $title:literal, $fix:literal;)*) => {
        $(pub const $name: Cause = Cause { id: $id, title: $title, fix: $fix };)*
        /// Every cause, in the order the README lists them.
        pub const ALL: &[Cause] = &[$($name),*];
    };
}

causes! {
    NO_CONFIGURATION = "no-configuration",
        "the source bucket has no replication configuration",
        "add a replication configuration (aws s3api put-bucket-replication), then re-drive these objects with Batch Replication";
    PRE_EXISTING = "pre-existing",
        "written before replication was set up (live replication is not retroactive)",
        "re-drive with Batch Replication (s3inv manifest --status NONE, or a generated manifest with ObjectReplicationStatuses NONE)";
    OUTSIDE_RULE_FILTER = "outside-rule-filter",
        "no enabled rule for this destination matches the key",
        "fix the rule's prefix (a leading / is a common mistake) or add a rule; then re-drive with Batch Replication";
    TAG_FILTER_UNDECIDABLE = "tag-filter-undecidable",
        "the rule filters on tags, which an inventory does not list",
        "check the objects' tags (aws s3api get-object-tagging); tags must be set when the object is written, or re-drive with Batch Replication after tagging";
    RULE_DISABLED = "rule-disabled",
        "only a disabled rule matches the key",
        "enable the rule (Status Enabled), then re-drive with Batch Replication";
    SSE_KMS_NOT_OPTED_IN = "sse-kms-not-opted-in",
        "SSE-KMS / DSSE-KMS objects and the rule does not opt in to them",
        "set SourceSelectionCriteria.SseKmsEncryptedObjects to Enabled with a ReplicaKmsKeyID in the destination Region, grant the KMS permissions, then re-drive with Batch Replication";
    REPLICA = "replica",
        "a replica of another bucket's object (replicas are not replicated again)",
        "replicate from the original bucket, or re-drive with Batch Replication (ObjectReplicationStatuses REPLICA)";
    ARCHIVED_STORAGE_CLASS = "archived-storage-class",
        "GLACIER or DEEP_ARCHIVE objects are not replicated",
        "restore the objects, copy them in place to a non-archive storage class (the new version replicates), or accept";
    ARCHIVE_ACCESS_TIER = "archive-access-tier",
        "Intelligent-Tiering archive access tier: not replicated until restored",
        "restore the objects (aws s3api restore-object), wait until they are back in the frequent tier, then re-drive with Batch Replication";
    DST_VERSIONING_OFF = "dst-versioning-off",
        "versioning is not enabled on the destination bucket",
        "aws s3api put-bucket-versioning --bucket DEST --versioning-configuration Status=Enabled, then re-drive the FAILED objects";
    DST_OBJECT_LOCK_MISSING = "dst-object-lock-missing",
        "the source bucket has Object Lock and the destination does not",
        "enable Object Lock on the destination bucket, then re-drive the FAILED objects";
    SSE_C_BLOCKED_AT_DST = "sse-c-blocked-at-dst",
        "SSE-C objects and the destination bucket blocks SSE-C",
        "aws s3api put-bucket-encryption on the destination with BlockedEncryptionTypes EncryptionType [\"NONE\"], then re-drive the FAILED objects";
    KMS_KEY_INVALID = "kms-key-invalid",
        "the replica KMS key is not usable (disabled, pending deletion, or in another Region)",
        "use an enabled customer managed key in the destination bucket's Region as ReplicaKmsKeyID, then re-drive the FAILED objects";
    ROLE_TRUST = "role-trust",
        "S3 cannot assume the replication role",
        "let s3.amazonaws.com assume the role (trust policy), then re-drive the FAILED objects";
    ROLE_MISSING_PERMISSION = "role-missing-permission",
        "the replication role lacks a permission replication needs",
        "add the missing actions to the role's policy, then re-drive the FAILED objects";
    DST_BUCKET_POLICY = "dst-bucket-policy",
        "the destination bucket policy does not let the replication role write",
        "grant the role s3:ReplicateObject (and the other replication actions) in the destination bucket policy, then re-drive the FAILED objects";
    SRC_BUCKET_POLICY = "src-bucket-policy",
        "the source bucket policy denies the replication role",
        "exempt the replication role from the Deny in the source bucket policy, then re-drive the FAILED objects";
    KMS_KEY_POLICY = "kms-key-policy",
        "a KMS key policy does not let the replication role use the key",
        "allow the role in the key policy (kms:Decrypt on source keys, kms:Encrypt and kms:GenerateDataKey on the replica key), then re-drive the FAILED objects";
    FOREIGN_OWNER = "foreign-owner",
        "objects owned by another account, which the bucket owner cannot read",
        "set the source bucket's Object Ownership to BucketOwnerEnforced, then re-drive with Batch Replication";
    PUBLIC_ACL_BLOCKED = "public-acl-blocked",
        "public ACLs and the destination blocks public ACLs",
        "use owner override (AccessControlTranslation) or BucketOwnerEnforced on the destination, or remove the public grants; then re-drive";
    KMS_PERMISSIONS = "kms-permissions",
        "FAILED only for SSE-KMS objects: a KMS permission is missing",
        "allow the role kms:Decrypt on the source keys and kms:Encrypt and kms:GenerateDataKey on the replica key (role policy and key policies), then re-drive the FAILED objects";
    BUCKET_KEY_CONTEXT = "bucket-key-context",
        "FAILED only for objects with (or without) an S3 Bucket Key: a KMS encryption-context condition names the object ARN or the bucket ARN only",
        "list both the bucket ARN and the bucket/* ARN in kms:EncryptionContext:aws:s3:arn conditions, then re-drive the FAILED objects";
    OBJECT_LOCK_PERMISSIONS = "object-lock-permissions",
        "FAILED only for objects under Object Lock: retention or legal-hold permissions are missing",
        "allow the role s3:GetObjectRetention and s3:GetObjectLegalHold on the source (and the destination's Object Lock), then re-drive the FAILED objects";
    MULTIPART_PERMISSIONS = "multipart-permissions",
        "FAILED only for multipart-uploaded objects",
        "allow the role s3:ReplicateObject on the destination bucket's objects (it covers multipart replication), then re-drive the FAILED objects";
    FAILURE_WINDOW = "failure-window",
        "FAILED only for objects written in a time window: a permission or configuration change then",
        "find what changed in that window (CloudTrail), undo it, then re-drive the FAILED objects of the window";
    FAILED_CONTRAST = "failed-contrast",
        "FAILED concentrated in one kind of object (see the evidence)",
        "look at what sets these objects apart (the evidence names it), fix it, then re-drive the FAILED objects";
    OTHER_DESTINATION = "other-destination",
        "the status was set by another destination of this object",
        "see the rows of the other destination";
    DELETE_MARKER_NOT_REPLICATED = "delete-marker-not-replicated",
        "delete markers and the rule does not replicate them (by design)",
        "enable DeleteMarkerReplication on a prefix rule if deletes should reach the destination";
    PENDING_RECENT = "pending-recent",
        "PENDING and younger than the threshold: normal replication lag",
        "wait; S3 Replication Time Control gives an SLA";
    PENDING_STUCK = "pending-stuck",
        "PENDING for longer than the threshold",
        "check the destination (bucket, Region, KMS throttling) and the replication metrics; re-drive with s3inv manifest if it never drains";
    FAILED_UNEXPLAINED = "failed-unexplained",
        "FAILED, and nothing collected explains it",
        "collect the configuration (--print-collect-script) and replication failure events (--events) to find out";
    NEVER_REPLICATED_UNEXPLAINED = "never-replicated-unexplained",
        "never replicated, and nothing collected explains it",
        "collect the configuration (--print-collect-script) to find out";
    OTHER_STATUS = "unknown-status",
        "a replication status s3inv does not know",
        "report it to the s3inv maintainers with the value";
}

/// The catalog entry of `id`.
pub fn find(id: &str) -> Option<&'static Cause> {
    ALL.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in ALL {
            assert!(seen.insert(c.id), "{}", c.id);
            assert!(
                c.id.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{}",
                c.id
            );
        }
        assert_eq!(find("pre-existing"), Some(&PRE_EXISTING));
    }
}
