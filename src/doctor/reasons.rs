//! The replication failure reasons S3 reports: the `failureReason` of an
//! `OperationFailedReplication` event and the `ErrorCode` of a Batch Replication completion
//! report use the same strings (doctor.md §c.4: 34 codes, plus the 2023 name
//! `DstMultipartPartUploadNotPermitted` of `DstMultipartUploadNotPermitted`).
//!
//! This module owns the table (what each code means, the fix, whether a re-drive can help)
//! and the cause id a reported code becomes. Matching codes to objects is left to the
//! rules; reading events and reports to `events` and `batch::report`.

/// One failure reason S3 can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureReason {
    /// The code as S3 spells it (the current name).
    pub code: &'static str,
    /// Only Batch Replication reports it (live replication never does).
    pub batch_only: bool,
    /// What happened, in a sentence.
    pub meaning: &'static str,
    /// What to change, in a sentence.
    pub fix: &'static str,
    /// Whether replicating the object again (a Batch Replication re-drive, after the fix)
    /// can succeed. False when the object is not eligible as it is, is gone at the source
    /// or (hard-deleted) at the destination, or was already replicated: re-driving those
    /// fails the same way. The same codes as `batch::report::PERMANENT_ERRORS`, which
    /// `job-report --failed-manifest` leaves out (a test keeps the two equal).
    pub retry_helps: bool,
}

const fn reason(
    code: &'static str,
    batch_only: bool,
    meaning: &'static str,
    fix: &'static str,
    retry_helps: bool,
) -> FailureReason {
    FailureReason {
        code,
        batch_only,
        meaning,
        fix,
        retry_helps,
    }
}

/// Every code of doctor.md §c.4, in its order (alphabetical).
pub const REASONS: &[FailureReason] = &[
    reason(
        "AssumeRoleNotPermitted",
        false,
        "S3 cannot assume the IAM role of the replication configuration or of the Batch Operations job",
        "make sure the role exists and its trust policy lets s3.amazonaws.com (batchoperations.s3.amazonaws.com for a Batch job) call sts:AssumeRole",
        true,
    ),
    reason(
        "DstBucketInvalidRegion",
        true,
        "the destination bucket is not in the Region the Batch Operations job expects",
        "create the Batch Replication job in the Region the job expects for the destination",
        true,
    ),
    reason(
        "DstBucketNotFound",
        false,
        "S3 cannot find the destination bucket named in the replication configuration",
        "fix the destination bucket ARN in the replication rule, or recreate the bucket",
        true,
    ),
    reason(
        "DstBucketObjectLockConfigMissing",
        false,
        "the source bucket has Object Lock and the destination bucket may not",
        "enable Object Lock on the destination bucket",
        true,
    ),
    reason(
        "DstBucketUnversioned",
        false,
        "versioning is not enabled on the destination bucket",
        "enable versioning on the destination bucket (aws s3api put-bucket-versioning --versioning-configuration Status=Enabled)",
        true,
    ),
    reason(
        "DstDelObjNotPermitted",
        false,
        "S3 cannot replicate delete markers to the destination; s3:ReplicateDelete may be missing",
        "allow s3:ReplicateDelete on the destination objects to the replication role",
        true,
    ),
    reason(
        "DstKmsKeyInvalidState",
        false,
        "the destination KMS key is not in a valid state (disabled, or pending deletion)",
        "enable the destination KMS key (or cancel its deletion)",
        true,
    ),
    reason(
        "DstKmsKeyNotFound",
        false,
        "the destination KMS key of the replication configuration does not exist",
        "fix ReplicaKmsKeyID in the replication rule to name an existing key in the destination Region",
        true,
    ),
    reason(
        "DstMultipartCompleteNotPermitted",
        false,
        "S3 cannot complete the multipart upload of the replica; s3:ReplicateObject may be missing",
        "allow s3:ReplicateObject on the destination objects to the replication role",
        true,
    ),
    reason(
        "DstMultipartInitNotPermitted",
        false,
        "S3 cannot start a multipart upload of the replica; s3:ReplicateObject may be missing",
        "allow s3:ReplicateObject on the destination objects to the replication role",
        true,
    ),
    reason(
        "DstMultipartUploadNotPermitted",
        false,
        "S3 cannot upload the parts of the replica; s3:ReplicateObject may be missing",
        "allow s3:ReplicateObject on the destination objects to the replication role",
        true,
    ),
    reason(
        "DstObjectHardDeleted",
        true,
        "the replica was deleted by version ID in the destination, and Batch Replication does not replicate it again",
        "copy the object in place at the source (Batch Operations Copy) so that a new version replicates",
        false,
    ),
    reason(
        "DstPutAclNotPermitted",
        false,
        "S3 cannot replicate the object ACL; s3:ReplicateObject may be missing",
        "allow s3:ReplicateObject to the replication role, or use owner override / bucket-owner-enforced ownership",
        true,
    ),
    reason(
        "DstPutLegalHoldNotPermitted",
        false,
        "S3 cannot set the Object Lock legal hold on the replica; s3:PutObjectLegalHold may be missing",
        "allow s3:PutObjectLegalHold on the destination objects to the replication role",
        true,
    ),
    reason(
        "DstPutObjectNotPermitted",
        false,
        "S3 cannot write the replica: s3:ReplicateObject or s3:ObjectOwnerOverrideToBucketOwner is missing, or the destination KMS key policy does not allow kms:Decrypt / kms:GenerateDataKey* to the role",
        "allow s3:ReplicateObject (and s3:ObjectOwnerOverrideToBucketOwner with owner override) to the role in its policy and the destination bucket policy, and kms:GenerateDataKey* / kms:Decrypt in the destination key policy",
        true,
    ),
    reason(
        "DstPutRetentionNotPermitted",
        false,
        "S3 cannot set the Object Lock retention on the replica; s3:PutObjectRetention may be missing",
        "allow s3:PutObjectRetention on the destination objects to the replication role",
        true,
    ),
    reason(
        "DstPutTaggingNotPermitted",
        false,
        "S3 cannot replicate the object tags; s3:ReplicateObject may be missing",
        "allow s3:ReplicateObject (and s3:ReplicateTags) on the destination objects to the replication role",
        true,
    ),
    reason(
        "DstVersionNotFound",
        false,
        "the destination version a metadata change should be replicated to does not exist",
        "replicate the object itself again (Batch Replication), then its metadata changes replicate",
        true,
    ),
    reason(
        "InitiateReplicationNotPermitted",
        true,
        "the Batch Operations job's role may not call s3:InitiateReplication on the objects",
        "allow s3:InitiateReplication on the source objects to the Batch Operations role",
        true,
    ),
    reason(
        "SrcBucketInvalidRegion",
        true,
        "the source bucket is not in the Region of the Batch Operations job",
        "create the Batch Replication job in the source bucket's Region",
        true,
    ),
    reason(
        "SrcBucketNotFound",
        false,
        "S3 cannot find the source bucket",
        "none: the source bucket is gone, so are its objects",
        false,
    ),
    reason(
        "SrcBucketReplicationConfigMissing",
        false,
        "the source bucket has no replication configuration",
        "add the replication configuration to the source bucket (aws s3api put-bucket-replication)",
        true,
    ),
    reason(
        "SrcGetAclNotPermitted",
        false,
        "S3 cannot read the object ACL; s3:GetObjectVersionAcl may be missing, or the object is not owned by the bucket owner",
        "allow s3:GetObjectVersionAcl to the replication role; for objects of other accounts, set Object Ownership to bucket owner enforced",
        true,
    ),
    reason(
        "SrcGetLegalHoldNotPermitted",
        false,
        "S3 cannot read the object's Object Lock legal hold; s3:GetObjectLegalHold may be missing",
        "allow s3:GetObjectLegalHold on the source objects to the replication role",
        true,
    ),
    reason(
        "SrcGetObjectNotPermitted",
        false,
        "S3 cannot read the object; s3:GetObjectVersionForReplication may be missing (or the source KMS key does not allow kms:Decrypt to the role)",
        "allow s3:GetObjectVersionForReplication on the source objects (and kms:Decrypt on the source key) to the replication role",
        true,
    ),
    reason(
        "SrcGetRetentionNotPermitted",
        false,
        "S3 cannot read the object's Object Lock retention; s3:GetObjectRetention may be missing",
        "allow s3:GetObjectRetention on the source objects to the replication role",
        true,
    ),
    reason(
        "SrcGetTaggingNotPermitted",
        false,
        "S3 cannot read the object tags; s3:GetObjectVersionTagging may be missing",
        "allow s3:GetObjectVersionTagging on the source objects to the replication role",
        true,
    ),
    reason(
        "SrcHeadObjectNotPermitted",
        false,
        "S3 cannot read the object's metadata; s3:GetObjectVersionForReplication may be missing",
        "allow s3:GetObjectVersionForReplication on the source objects to the replication role",
        true,
    ),
    reason(
        "SrcKeyNotFound",
        false,
        "the source key no longer exists: it was deleted before replication completed",
        "none: the object is gone",
        false,
    ),
    reason(
        "SrcKmsKeyInvalidState",
        false,
        "the source KMS key is not in a valid state (disabled, or pending deletion)",
        "enable the source KMS key (or cancel its deletion)",
        true,
    ),
    reason(
        "SrcObjectNotEligible",
        false,
        "the object is not eligible under the replication configuration: its storage class (GLACIER, DEEP_ARCHIVE, an archive access tier) or tags do not match, or only a disabled rule matches it",
        "restore an archived object and copy it in place, or fix the rule's filter or status",
        false,
    ),
    reason(
        "SrcObjectNotFound",
        false,
        "the source object does not exist",
        "none: the object is gone",
        false,
    ),
    reason(
        "SrcReplicationNotPending",
        false,
        "the object was already replicated and is no longer pending",
        "none: nothing to replicate (a duplicate request)",
        false,
    ),
    reason(
        "SrcVersionNotFound",
        false,
        "the source version does not exist: it may have been deleted before replication completed",
        "none: the version is gone",
        false,
    ),
];

/// Older names S3 reported (the June 2023 list), and the code they stand for now.
pub const ALIASES: &[(&str, &str)] = &[(
    "DstMultipartPartUploadNotPermitted",
    "DstMultipartUploadNotPermitted",
)];

/// The reason `code` names: its current name, an older name ([`ALIASES`]), or either in
/// another letter case (a report or a user may write `srcobjectnoteligible`).
pub fn lookup(code: &str) -> Option<&'static FailureReason> {
    let code = code.trim();
    let canonical = ALIASES
        .iter()
        .find(|(old, _)| old.eq_ignore_ascii_case(code))
        .map_or(code, |(_, new)| *new);
    REASONS.iter().find(|r| r.code == canonical).or_else(|| {
        REASONS
            .iter()
            .find(|r| r.code.eq_ignore_ascii_case(canonical))
    })
}

/// The cause id of a reason an event or a report gave: `reported:<Code>` with the current
/// name of a known code, and an unknown code as it was written (S3 adds codes; the list
/// is open-ended, doctor.md §c.4).
pub fn cause_id(code: &str) -> String {
    match lookup(code) {
        Some(r) => format!("reported:{}", r.code),
        None => format!("reported:{code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_the_34_codes_once_each_in_order() {
        assert_eq!(REASONS.len(), 34);
        for pair in REASONS.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for r in REASONS {
            assert!(!r.meaning.is_empty() && !r.fix.is_empty(), "{}", r.code);
            assert!(
                r.code.chars().all(|c| c.is_ascii_alphanumeric()),
                "{}",
                r.code
            );
        }
        let batch_only: Vec<&str> = REASONS
            .iter()
            .filter(|r| r.batch_only)
            .map(|r| r.code)
            .collect();
        assert_eq!(
            batch_only,
            [
                "DstBucketInvalidRegion",
                "DstObjectHardDeleted",
                "InitiateReplicationNotPermitted",
                "SrcBucketInvalidRegion"
            ]
        );
        // An alias never shadows a current code.
        for (old, new) in ALIASES {
            assert!(REASONS.iter().all(|r| r.code != *old));
            assert!(REASONS.iter().any(|r| r.code == *new));
        }
    }

    #[test]
    fn retry_helps_agrees_with_the_job_report_re_drive() {
        use crate::batch::report::PERMANENT_ERRORS;
        let permanent: Vec<&str> = REASONS
            .iter()
            .filter(|r| !r.retry_helps)
            .map(|r| r.code)
            .collect();
        assert_eq!(permanent, PERMANENT_ERRORS);
        for code in PERMANENT_ERRORS {
            assert!(lookup(code).is_some(), "{code} is not in the table");
        }
    }

    #[test]
    fn lookup_accepts_the_old_name_and_any_case() {
        assert_eq!(
            lookup("AssumeRoleNotPermitted").unwrap().code,
            "AssumeRoleNotPermitted"
        );
        assert_eq!(
            lookup("DstMultipartPartUploadNotPermitted").unwrap().code,
            "DstMultipartUploadNotPermitted"
        );
        assert_eq!(
            lookup("srcobjectnoteligible").unwrap().code,
            "SrcObjectNotEligible"
        );
        assert_eq!(lookup(" SrcKeyNotFound ").unwrap().code, "SrcKeyNotFound");
        assert!(!lookup("SrcKeyNotFound").unwrap().retry_helps);
        assert!(lookup("DstBucketUnversioned").unwrap().retry_helps);
        // Generic Batch Operations codes are not replication failure reasons.
        assert_eq!(lookup("AccessDenied"), None);
        assert_eq!(lookup("PermanentFailure"), None);
        assert_eq!(lookup(""), None);
    }

    #[test]
    fn cause_ids_name_the_current_code_and_pass_unknown_ones_through() {
        assert_eq!(
            cause_id("DstPutObjectNotPermitted"),
            "reported:DstPutObjectNotPermitted"
        );
        assert_eq!(
            cause_id("DstMultipartPartUploadNotPermitted"),
            "reported:DstMultipartUploadNotPermitted"
        );
        assert_eq!(
            cause_id("dstbucketunversioned"),
            "reported:DstBucketUnversioned"
        );
        assert_eq!(cause_id("AccessDenied"), "reported:AccessDenied");
        assert_eq!(cause_id("SomeNewCode2027"), "reported:SomeNewCode2027");
    }
}
