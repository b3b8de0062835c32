//! The permission checks live replication needs (doctor.md §a C1–C5, D2, D4), run over the
//! exported documents with the evaluator of [`super::policy`]: the role's trust policy, its
//! permission policies, the bucket policies of the source and the destinations, and the KMS
//! key policies. Each gap becomes a [`PermissionFinding`] that names the missing action, the
//! resource, the deciding statement, the `failureReason` codes (doctor.md §c.4) the gap
//! produces, and the objects it concerns, so the rules can match it to FAILED rows.
//!
//! Only gaps are reported: a decision that is not [`Decision::Allowed`]. "Allowed with
//! conditions" is reported too, as the softer [`PermissionFinding::is_conditional`].
//! A document that was not exported is not checked (no finding). Nothing here is claimed
//! that cannot be checked offline: SCPs, RCPs, permission boundaries, session policies and
//! KMS grants are left out, and saying "cannot check" about them is the caller's.
//!
//! Inferences (doctor.md's "I") the checks rest on:
//! - a destination without a known `account` is in the source's account;
//! - the role is in the source bucket owner's account (replication requires it), so
//!   `source_account` defaults to the role's account;
//! - the KMS calls S3 makes carry `kms:ViaService = s3.<key region>.amazonaws.com` and
//!   `kms:EncryptionContext:aws:s3:arn` = the bucket ARN with S3 Bucket Keys, an object ARN
//!   without (D3); these two condition keys are evaluated, every other one is not;
//! - a missing `kms:Decrypt` on a source key fails as `SrcGetObjectNotPermitted`;
//! - S3 makes its replication requests over TLS (`aws:SecureTransport = true`), so the
//!   common "deny unless SecureTransport" bucket policy does not stop replication;
//! - for the trust policy, S3 assumes the role with `aws:SourceAccount` = the source
//!   account and `aws:SourceArn` = the source bucket ARN (confused-deputy conditions).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::policy::{Decision, Policy, Request, evaluate, evaluate_detailed, split_arn};

/// The trust policy does not let S3 assume the role (C1).
pub const ROLE_TRUST: &str = "role-trust";
/// The role's permission policies lack an action (C2, C3, C5, D2).
pub const ROLE_MISSING_PERMISSION: &str = "role-missing-permission";
/// A destination bucket policy does not grant the role (cross-account, C4), or denies it.
pub const DST_BUCKET_POLICY: &str = "dst-bucket-policy";
/// The source bucket policy denies the role (C6).
pub const SRC_BUCKET_POLICY: &str = "src-bucket-policy";
/// A KMS key policy does not let the role use the key (D2, D4).
pub const KMS_KEY_POLICY: &str = "kms-key-policy";

/// The replication configuration, as far as permissions depend on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicationSetup {
    /// The configuration's `Role`.
    pub role_arn: String,
    /// Name or ARN.
    pub source_bucket: String,
    /// The source bucket owner's account; `None`: the role's account.
    pub source_account: Option<String>,
    pub destinations: Vec<DestinationSetup>,
    /// KMS key ARNs the source objects are encrypted with (default encryption, S3 Metadata
    /// `kms_key_arn`). Aliases and bare key ids are skipped: resolve them with `describe-key`.
    pub source_kms_keys: Vec<String>,
    /// The source bucket has Object Lock enabled.
    pub object_lock: bool,
}

/// One destination of the configuration (rules sharing a destination merged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationSetup {
    /// `Destination.Bucket`: name or ARN.
    pub bucket: String,
    /// `Destination.Account`, or the owner learnt elsewhere; `None`: the source's account.
    pub account: Option<String>,
    /// `AccessControlTranslation.Owner = Destination`.
    pub owner_override: bool,
    /// The destination's Object Ownership is `BucketOwnerEnforced` (owner override then
    /// needs no permission).
    pub bucket_owner_enforced: bool,
    /// `EncryptionConfiguration.ReplicaKmsKeyID` (an ARN; aliases are skipped).
    pub replica_kms_key: Option<String>,
    /// Delete markers are replicated (V2 `DeleteMarkerReplication: Enabled`, or a V1 rule).
    pub delete_marker_replication: bool,
    /// The destination's default encryption has `BucketKeyEnabled`; `None`: unknown, both
    /// encryption contexts are checked.
    pub bucket_key: Option<bool>,
}

/// The exported documents. `None` (or a missing map entry): not exported, not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyDocs {
    /// `get-role` `AssumeRolePolicyDocument`.
    pub trust: Option<Policy>,
    /// The role's inline and attached policies; `Some(vec![])`: the role has none.
    pub identity: Option<Vec<Policy>>,
    pub source_bucket_policy: Option<Policy>,
    /// By destination bucket name (or ARN).
    pub destination_bucket_policies: BTreeMap<String, Policy>,
    /// By key ARN (or key id).
    pub key_policies: BTreeMap<String, Policy>,
}

/// The objects a finding concerns, so the caller can match it to FAILED rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectClass {
    /// Every object the rule replicates.
    All,
    /// SSE-KMS and DSSE-KMS objects.
    KmsEncrypted,
    /// SSE-KMS / DSSE-KMS objects with `bucket_key_status = ENABLED`.
    KmsWithBucketKey,
    /// SSE-KMS / DSSE-KMS objects without an S3 Bucket Key.
    KmsWithoutBucketKey,
    /// Objects with a retention period (`object_lock_mode`, `object_lock_retain_until_date`).
    ObjectLockRetention,
    /// Objects with a legal hold (`object_lock_legal_hold_status = ON`).
    ObjectLockLegalHold,
    /// Delete markers.
    DeleteMarkers,
}

/// One permission gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionFinding {
    /// [`ROLE_TRUST`], [`ROLE_MISSING_PERMISSION`], [`DST_BUCKET_POLICY`],
    /// [`SRC_BUCKET_POLICY`] or [`KMS_KEY_POLICY`].
    pub cause: &'static str,
    /// The destination bucket name, for destination-side and replica-key gaps.
    pub destination: Option<String>,
    pub action: String,
    /// An ARN; `…/*` means every object of the bucket.
    pub resource: String,
    /// Never [`Decision::Allowed`].
    pub decision: Decision,
    /// The §c.4 codes this gap produces in events and reports; empty when none is documented.
    pub failure_reasons: Vec<&'static str>,
    pub applies_to: ObjectClass,
    /// One line: which documents were read and what they decided.
    pub evidence: String,
}

impl PermissionFinding {
    /// Allowed if conditions hold that were not evaluated: a possible gap, to be worded
    /// "allowed with conditions (not evaluated)", not a certain one.
    pub fn is_conditional(&self) -> bool {
        matches!(self.decision, Decision::AllowedWithConditions { .. })
    }
}

/// Every permission gap of `setup` the documents in `docs` show, in a stable order: trust,
/// source, each destination, source keys, replica keys.
pub fn check(setup: &ReplicationSetup, docs: &PolicyDocs) -> Vec<PermissionFinding> {
    let checker = Checker::new(setup, docs);
    let mut out = Vec::new();
    checker.trust(&mut out);
    checker.source(&mut out);
    for destination in &setup.destinations {
        checker.destination(destination, &mut out);
    }
    for key in &setup.source_kms_keys {
        checker.source_key(key, &mut out);
    }
    for destination in &setup.destinations {
        checker.replica_key(destination, &mut out);
    }
    let mut seen = BTreeSet::new();
    out.retain(|f| {
        seen.insert((
            f.cause,
            f.destination.clone(),
            f.action.clone(),
            f.resource.clone(),
            f.applies_to,
        ))
    });
    out
}

// The codes of doctor.md §c.4, by the action whose absence produces them.
const REPLICATE_OBJECT_REASONS: &[&str] = &[
    "DstPutObjectNotPermitted",
    "DstMultipartInitNotPermitted",
    "DstMultipartUploadNotPermitted",
    "DstMultipartCompleteNotPermitted",
    "DstPutTaggingNotPermitted",
    "DstPutAclNotPermitted",
];

/// One (action, resource) replication needs.
struct Need<'a> {
    action: &'static str,
    resource: &'a str,
    reasons: &'static [&'static str],
    applies_to: ObjectClass,
}

/// A bucket policy taking part in a check, and the cause its gaps get.
struct BucketPolicy<'a> {
    policy: &'a Policy,
    cause: &'static str,
}

struct Checker<'a> {
    setup: &'a ReplicationSetup,
    docs: &'a PolicyDocs,
    partition: String,
    source_account: Option<String>,
    source_bucket: String,
}

impl<'a> Checker<'a> {
    fn new(setup: &'a ReplicationSetup, docs: &'a PolicyDocs) -> Self {
        let role = split_arn(&setup.role_arn);
        let partition = role.as_ref().map_or("aws", |a| a.partition).to_string();
        let source_account = setup.source_account.clone().or_else(|| {
            role.map(|a| a.account.to_string())
                .filter(|a| !a.is_empty())
        });
        Checker {
            setup,
            docs,
            partition,
            source_account,
            source_bucket: bucket_name(&setup.source_bucket).to_string(),
        }
    }

    fn role(&self) -> &str {
        &self.setup.role_arn
    }

    fn bucket_arn(&self, bucket: &str) -> String {
        format!("arn:{}:s3:::{bucket}", self.partition)
    }

    /// C1: S3 may assume the role.
    fn trust(&self, out: &mut Vec<PermissionFinding>) {
        let Some(trust) = &self.docs.trust else {
            return;
        };
        // S3 assumes the role on behalf of the source bucket: the confused-deputy keys
        // carry its account and ARN.
        let mut request =
            Request::new("sts:AssumeRole", self.role()).with_principal("s3.amazonaws.com");
        if let Some(account) = &self.source_account {
            request = request.with_context("aws:SourceAccount", vec![account.clone()]);
        }
        let source_arn = self.bucket_arn(&self.source_bucket);
        request = request.with_context("aws:SourceArn", vec![source_arn]);
        let decision = evaluate(&[trust], &request);
        if !decision.is_allowed() {
            out.push(finding(
                ROLE_TRUST,
                None,
                &request,
                decision,
                &["AssumeRoleNotPermitted"],
                ObjectClass::All,
                &[trust],
            ));
        }
    }

    /// C2: reading the source bucket and its objects.
    fn source(&self, out: &mut Vec<PermissionFinding>) {
        let bucket = self.bucket_arn(&self.source_bucket);
        let objects = format!("{bucket}/*");
        let mut needs = vec![
            Need {
                action: "s3:GetReplicationConfiguration",
                resource: &bucket,
                reasons: &[],
                applies_to: ObjectClass::All,
            },
            Need {
                action: "s3:ListBucket",
                resource: &bucket,
                reasons: &[],
                applies_to: ObjectClass::All,
            },
            Need {
                action: "s3:GetObjectVersionForReplication",
                resource: &objects,
                reasons: &["SrcGetObjectNotPermitted", "SrcHeadObjectNotPermitted"],
                applies_to: ObjectClass::All,
            },
            Need {
                action: "s3:GetObjectVersionAcl",
                resource: &objects,
                reasons: &["SrcGetAclNotPermitted"],
                applies_to: ObjectClass::All,
            },
            Need {
                action: "s3:GetObjectVersionTagging",
                resource: &objects,
                reasons: &["SrcGetTaggingNotPermitted"],
                applies_to: ObjectClass::All,
            },
        ];
        if self.setup.object_lock {
            needs.push(Need {
                action: "s3:GetObjectRetention",
                resource: &objects,
                reasons: &["SrcGetRetentionNotPermitted"],
                applies_to: ObjectClass::ObjectLockRetention,
            });
            needs.push(Need {
                action: "s3:GetObjectLegalHold",
                resource: &objects,
                reasons: &["SrcGetLegalHoldNotPermitted"],
                applies_to: ObjectClass::ObjectLockLegalHold,
            });
        }
        let bucket_policy = self
            .docs
            .source_bucket_policy
            .as_ref()
            .map(|policy| BucketPolicy {
                policy,
                cause: SRC_BUCKET_POLICY,
            });
        for need in &needs {
            let start = out.len();
            self.s3_need(need, None, bucket_policy.as_ref(), false, out);
            if need.action == "s3:GetObjectVersionForReplication" {
                self.narrow_to_kms(start, need, bucket_policy.as_ref(), out);
            }
        }
    }

    /// C2: `s3:GetObjectVersion` instead of `…ForReplication` replicates everything but
    /// SSE-KMS objects [UG-kms], so such a gap concerns the KMS objects only.
    fn narrow_to_kms(
        &self,
        start: usize,
        need: &Need,
        bucket_policy: Option<&BucketPolicy>,
        out: &mut [PermissionFinding],
    ) {
        let Some(identity) = &self.docs.identity else {
            return;
        };
        let request = s3_request("s3:GetObjectVersion", need.resource).with_principal(self.role());
        let mut policies: Vec<&Policy> = identity.iter().collect();
        policies.extend(bucket_policy.map(|b| b.policy));
        let fallback = evaluate(&policies, &request);
        let Decision::Allowed { by } = fallback else {
            return;
        };
        for f in &mut out[start..] {
            if f.cause == ROLE_MISSING_PERMISSION && f.decision == Decision::NotAllowed {
                f.applies_to = ObjectClass::KmsEncrypted;
                f.evidence.push_str(&format!(
                    "; s3:GetObjectVersion is allowed by {by}, which replicates objects that are not SSE-KMS"
                ));
            }
        }
    }

    /// C3, C4, C5: writing to one destination.
    fn destination(&self, destination: &DestinationSetup, out: &mut Vec<PermissionFinding>) {
        let name = bucket_name(&destination.bucket);
        let bucket = self.bucket_arn(name);
        let objects = format!("{bucket}/*");
        let mut needs = vec![
            Need {
                action: "s3:ReplicateObject",
                resource: &objects,
                reasons: REPLICATE_OBJECT_REASONS,
                applies_to: ObjectClass::All,
            },
            Need {
                action: "s3:ReplicateTags",
                resource: &objects,
                reasons: &["DstPutTaggingNotPermitted"],
                applies_to: ObjectClass::All,
            },
        ];
        if destination.delete_marker_replication {
            needs.push(Need {
                action: "s3:ReplicateDelete",
                resource: &objects,
                reasons: &["DstDelObjNotPermitted"],
                applies_to: ObjectClass::DeleteMarkers,
            });
        }
        if destination.owner_override && !destination.bucket_owner_enforced {
            needs.push(Need {
                action: "s3:ObjectOwnerOverrideToBucketOwner",
                resource: &objects,
                reasons: &["DstPutObjectNotPermitted"],
                applies_to: ObjectClass::All,
            });
        }
        let cross_account = match (&destination.account, &self.source_account) {
            (Some(dst), Some(src)) => dst != src,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let bucket_policy =
            lookup_bucket(&self.docs.destination_bucket_policies, name).map(|policy| {
                BucketPolicy {
                    policy,
                    cause: DST_BUCKET_POLICY,
                }
            });
        for need in &needs {
            self.s3_need(need, Some(name), bucket_policy.as_ref(), cross_account, out);
        }
        // The bucket-level grants of the console's "Receive replicated objects" policy
        // (doctor.md §b.8), asked of the bucket policy only: the role's own policy needs no
        // destination bucket action [UG-perm]. `s3:PutBucketVersioning` is left out: nothing
        // says replication writes the destination's versioning. No failure code is
        // documented for these.
        if cross_account && let Some(bucket_policy) = &bucket_policy {
            for action in ["s3:ListBucket", "s3:GetBucketVersioning"] {
                let request = s3_request(action, &bucket).with_principal(self.role());
                let decision = evaluate(&[bucket_policy.policy], &request);
                if !decision.is_allowed() {
                    out.push(finding(
                        DST_BUCKET_POLICY,
                        Some(name),
                        &request,
                        decision,
                        &[],
                        ObjectClass::All,
                        &[bucket_policy.policy],
                    ));
                }
            }
        }
    }

    /// One S3 need, against the role's policies and the bucket policy. Same account: either
    /// may allow it. Cross-account: both must. An explicit Deny in the bucket policy is its
    /// finding either way.
    fn s3_need(
        &self,
        need: &Need,
        destination: Option<&str>,
        bucket_policy: Option<&BucketPolicy>,
        cross_account: bool,
        out: &mut Vec<PermissionFinding>,
    ) {
        let as_role = s3_request(need.action, need.resource).with_principal(self.role());
        let push = |out: &mut Vec<PermissionFinding>,
                    cause: &'static str,
                    request: &Request,
                    decision: Decision,
                    read: &[&Policy]| {
            out.push(finding(
                cause,
                destination,
                request,
                decision,
                need.reasons,
                need.applies_to,
                read,
            ));
        };
        let by_bucket = bucket_policy.map(|b| (b, evaluate(&[b.policy], &as_role)));
        if let Some((b, decision @ Decision::DeniedExplicitly { .. })) = &by_bucket {
            push(out, b.cause, &as_role, decision.clone(), &[b.policy]);
            return;
        }
        let identity = self.docs.identity.as_ref();
        if cross_account {
            if let Some(identity) = identity {
                let request = s3_request(need.action, need.resource);
                let policies: Vec<&Policy> = identity.iter().collect();
                let decision = evaluate(&policies, &request);
                if !decision.is_allowed() {
                    push(out, ROLE_MISSING_PERMISSION, &request, decision, &policies);
                }
            }
            if let Some((b, decision)) = by_bucket
                && !decision.is_allowed()
            {
                push(out, b.cause, &as_role, decision, &[b.policy]);
            }
        } else if let Some(identity) = identity {
            let mut policies: Vec<&Policy> = identity.iter().collect();
            policies.extend(bucket_policy.map(|b| b.policy));
            let decision = evaluate(&policies, &as_role);
            if !decision.is_allowed() {
                push(out, ROLE_MISSING_PERMISSION, &as_role, decision, &policies);
            }
        }
    }

    /// D2: the role may decrypt source objects. With S3 Bucket Keys the encryption context
    /// is the bucket ARN, else the object's (D3): checked apart, reported apart when they
    /// differ.
    fn source_key(&self, key: &str, out: &mut Vec<PermissionFinding>) {
        let bucket = self.bucket_arn(&self.source_bucket);
        let objects = format!("{bucket}/*");
        let contexts = [
            (ObjectClass::KmsWithoutBucketKey, vec![objects]),
            (ObjectClass::KmsWithBucketKey, vec![bucket]),
        ];
        self.kms_need(
            key,
            "kms:Decrypt",
            &contexts,
            None,
            &["SrcGetObjectNotPermitted"],
            out,
        );
    }

    /// D2, D4: the role may encrypt replicas with the replica key (and decrypt with it when
    /// the destination uses S3 Bucket Keys).
    fn replica_key(&self, destination: &DestinationSetup, out: &mut Vec<PermissionFinding>) {
        let Some(key) = &destination.replica_kms_key else {
            return;
        };
        let name = bucket_name(&destination.bucket);
        let bucket = self.bucket_arn(name);
        let objects = format!("{bucket}/*");
        let values = match destination.bucket_key {
            Some(true) => vec![bucket],
            Some(false) => vec![objects],
            None => vec![objects, bucket],
        };
        let contexts = [(ObjectClass::KmsEncrypted, values)];
        let mut actions = vec!["kms:Encrypt", "kms:GenerateDataKey"];
        if destination.bucket_key == Some(true) {
            actions.push("kms:Decrypt");
        }
        for action in actions {
            self.kms_need(
                key,
                action,
                &contexts,
                Some(name),
                &["DstPutObjectNotPermitted"],
                out,
            );
        }
    }

    /// One KMS action on `key`, per encryption-context class: the key policy must allow the
    /// role, and so must the role's policies unless the key policy names the role itself in
    /// the key's own account (a key policy naming the account delegates to IAM;
    /// cross-account always needs both).
    fn kms_need(
        &self,
        key: &str,
        action: &'static str,
        contexts: &[(ObjectClass, Vec<String>)],
        destination: Option<&str>,
        reasons: &'static [&'static str],
        out: &mut Vec<PermissionFinding>,
    ) {
        let Some(arn) =
            split_arn(key).filter(|a| a.service == "kms" && a.resource.starts_with("key/"))
        else {
            return;
        };
        let via = (!arn.region.is_empty()).then(|| format!("s3.{}.amazonaws.com", arn.region));
        let same_account = self.source_account.as_deref() == Some(arn.account);
        let key_policy = lookup_key(&self.docs.key_policies, key);

        // (class, decision) per side, merged into one finding when the classes agree.
        let mut by_key = Vec::new();
        let mut identity_needed = true;
        if let Some(policy) = key_policy {
            for (class, values) in contexts {
                let r = kms_request(action, key, values, via.as_deref(), Some(self.role()));
                let (decision, delegated) = evaluate_detailed(&[policy], &r);
                if decision.is_allowed() && !delegated && same_account {
                    identity_needed = false;
                }
                by_key.push((*class, r, decision));
            }
        }
        push_kms(
            out,
            KMS_KEY_POLICY,
            destination,
            by_key,
            reasons,
            key_policy.map(|p| vec![p]),
        );

        let Some(identity) = self.docs.identity.as_ref().filter(|_| identity_needed) else {
            return;
        };
        let policies: Vec<&Policy> = identity.iter().collect();
        let by_role = contexts
            .iter()
            .map(|(class, values)| {
                let r = kms_request(action, key, values, via.as_deref(), None);
                let decision = evaluate(&policies, &r);
                (*class, r, decision)
            })
            .collect();
        push_kms(
            out,
            ROLE_MISSING_PERMISSION,
            destination,
            by_role,
            reasons,
            Some(policies),
        );
    }
}

/// An S3 request as replication makes it.
fn s3_request<'r>(action: &'r str, resource: &'r str) -> Request<'r> {
    Request::new(action, resource).with_context("aws:SecureTransport", vec!["true".into()])
}

/// A KMS request as S3 makes it: through S3 in the key's Region, with the bucket or object
/// ARN as encryption context.
fn kms_request<'r>(
    action: &'r str,
    key: &'r str,
    contexts: &[String],
    via: Option<&str>,
    principal: Option<&'r str>,
) -> Request<'r> {
    let mut request = Request::new(action, key).with_context(ENCRYPTION_CONTEXT, contexts.to_vec());
    if let Some(via) = via {
        request = request.with_context("kms:ViaService", vec![via.to_string()]);
    }
    if let Some(principal) = principal {
        request = request.with_principal(principal);
    }
    request
}

/// KMS decisions per object class → findings: one for all KMS objects when every class
/// decided alike, else one per class that is not allowed.
fn push_kms(
    out: &mut Vec<PermissionFinding>,
    cause: &'static str,
    destination: Option<&str>,
    decisions: Vec<(ObjectClass, Request, Decision)>,
    reasons: &'static [&'static str],
    read: Option<Vec<&Policy>>,
) {
    let Some(read) = read else {
        return;
    };
    let alike = decisions
        .windows(2)
        .all(|w| w[0].2.label() == w[1].2.label());
    if alike && decisions.len() > 1 {
        let (_, request, decision) = decisions.into_iter().next().expect("two or more");
        if !decision.is_allowed() {
            out.push(finding(
                cause,
                destination,
                &request,
                decision,
                reasons,
                ObjectClass::KmsEncrypted,
                &read,
            ));
        }
        return;
    }
    let split = decisions.len() > 1;
    let labels: Vec<(ObjectClass, &'static str)> =
        decisions.iter().map(|(c, _, d)| (*c, d.label())).collect();
    for (class, request, decision) in decisions {
        if decision.is_allowed() {
            continue;
        }
        let mut f = finding(
            cause,
            destination,
            &request,
            decision,
            reasons,
            class,
            &read,
        );
        if split {
            // D3: say which encryption context fails and how the other class fared.
            let context = request
                .context
                .iter()
                .find(|(k, _)| *k == ENCRYPTION_CONTEXT)
                .map(|(_, v)| v.join(", "))
                .unwrap_or_default();
            let others = labels
                .iter()
                .filter(|(c, _)| *c != class)
                .map(|(c, label)| format!("{}: {label}", class_words(*c)))
                .collect::<Vec<_>>()
                .join(", ");
            f.evidence.push_str(&format!(
                "; for {} ({ENCRYPTION_CONTEXT} = {context}); {others}",
                class_words(class)
            ));
        }
        out.push(f);
    }
}

const ENCRYPTION_CONTEXT: &str = "kms:EncryptionContext:aws:s3:arn";

fn class_words(class: ObjectClass) -> &'static str {
    match class {
        ObjectClass::All => "all objects",
        ObjectClass::KmsEncrypted => "SSE-KMS objects",
        ObjectClass::KmsWithBucketKey => "SSE-KMS objects with an S3 Bucket Key",
        ObjectClass::KmsWithoutBucketKey => "SSE-KMS objects without an S3 Bucket Key",
        ObjectClass::ObjectLockRetention => "objects with a retention period",
        ObjectClass::ObjectLockLegalHold => "objects with a legal hold",
        ObjectClass::DeleteMarkers => "delete markers",
    }
}

fn finding(
    cause: &'static str,
    destination: Option<&str>,
    request: &Request,
    decision: Decision,
    reasons: &'static [&'static str],
    applies_to: ObjectClass,
    read: &[&Policy],
) -> PermissionFinding {
    let what = match request.principal {
        Some(who) => format!("{} on {} for {who}", request.action, request.resource),
        None => format!("{} on {}", request.action, request.resource),
    };
    let evidence = match &decision {
        Decision::NotAllowed
            if read.iter().all(|p| p.statement_count() == 0) && read.len() <= 1 =>
        {
            match read.first() {
                Some(p) => format!("{} has no statements: nothing allows {what}", p.origin()),
                None => format!("the role has no permission policies: nothing allows {what}"),
            }
        }
        Decision::NotAllowed => format!(
            "no statement in {} allows {what}",
            read.iter()
                .map(|p| p.origin())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{what}: {other}"),
    };
    PermissionFinding {
        cause,
        destination: destination.map(str::to_string),
        action: request.action.to_string(),
        resource: request.resource.to_string(),
        decision,
        failure_reasons: reasons.to_vec(),
        applies_to,
        evidence,
    }
}

/// `arn:aws:s3:::name` or `name` → `name`.
fn bucket_name(bucket: &str) -> &str {
    match split_arn(bucket) {
        Some(arn) if arn.service == "s3" => arn.resource,
        _ => bucket,
    }
}

fn lookup_bucket<'p>(policies: &'p BTreeMap<String, Policy>, name: &str) -> Option<&'p Policy> {
    policies
        .iter()
        .find(|(k, _)| bucket_name(k) == name)
        .map(|(_, p)| p)
}

/// By key ARN, or by the key id the `--config` folder names files with.
fn lookup_key<'p>(policies: &'p BTreeMap<String, Policy>, key: &str) -> Option<&'p Policy> {
    if let Some(p) = policies.get(key) {
        return Some(p);
    }
    let id = split_arn(key)?.resource.strip_prefix("key/")?;
    policies
        .iter()
        .find(|(k, _)| {
            k.as_str() == id
                || split_arn(k).and_then(|a| a.resource.strip_prefix("key/")) == Some(id)
        })
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::doctor::policy::examples::*;
    use crate::doctor::policy::parse_policy;

    const ROLE: &str = "arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data";
    const SOURCE_KEY: &str =
        "arn:aws:kms:us-east-1:111122223333:key/aaaa1111-22bb-33cc-44dd-555555eeeeee";
    const REPLICA_KEY: &str =
        "arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const SRC: &str = "arn:aws:s3:::acme-data";
    const SRC_OBJECTS: &str = "arn:aws:s3:::acme-data/*";
    const DST: &str = "arn:aws:s3:::acme-data-dr";
    const DST_OBJECTS: &str = "arn:aws:s3:::acme-data-dr/*";

    /// The configuration of doctor.md §b.1's first rule, with everything the examples
    /// of §b.7–§b.9 grant switched on: cross-account, owner override, replica key, delete
    /// markers, Object Lock, an SSE-KMS source.
    fn setup() -> ReplicationSetup {
        ReplicationSetup {
            role_arn: ROLE.into(),
            source_bucket: "acme-data".into(),
            source_account: None,
            destinations: vec![DestinationSetup {
                bucket: DST.into(),
                account: Some("444455556666".into()),
                owner_override: true,
                bucket_owner_enforced: false,
                replica_kms_key: Some(REPLICA_KEY.into()),
                delete_marker_replication: true,
                bucket_key: None,
            }],
            source_kms_keys: vec![SOURCE_KEY.into()],
            object_lock: true,
        }
    }

    fn parse(text: &str, origin: &str) -> Policy {
        parse_policy(text, origin).unwrap()
    }

    fn docs_with(role_policy: &str, bucket_policy: &str, key_policy: &str) -> PolicyDocs {
        PolicyDocs {
            trust: Some(parse(GET_ROLE, "iam/role.json")),
            identity: Some(vec![parse(role_policy, "iam/inline/repl.json")]),
            source_bucket_policy: None,
            destination_bucket_policies: BTreeMap::from([(
                "acme-data-dr".to_string(),
                parse(bucket_policy, "dst/acme-data-dr.policy.json"),
            )]),
            // Keyed by key id, as the --config folder names the file.
            key_policies: BTreeMap::from([(
                "1234abcd-12ab-34cd-56ef-1234567890ab".to_string(),
                parse(
                    key_policy,
                    "kms/1234abcd-12ab-34cd-56ef-1234567890ab.policy.json",
                ),
            )]),
        }
    }

    fn docs() -> PolicyDocs {
        docs_with(ROLE_POLICY, DESTINATION_BUCKET_POLICY, GET_KEY_POLICY)
    }

    /// `doc` with `action` taken out of the statement `sid` (the statement dropped when it
    /// was its last action). A document wrapped as `{"Policy": "…"}` stays wrapped.
    fn without_action(doc: &str, sid: &str, action: &str) -> String {
        let mut value: Value = serde_json::from_str(doc).unwrap();
        if let Some(Value::String(inner)) = value.get("Policy") {
            let inner = without_action(inner, sid, action);
            value["Policy"] = Value::String(inner);
            return value.to_string();
        }
        let statements = value["Statement"].as_array_mut().unwrap();
        let at = statements
            .iter()
            .position(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid}"));
        let actions = match &mut statements[at]["Action"] {
            Value::Array(actions) => actions,
            one => {
                assert_eq!(one, action);
                statements.remove(at);
                return value.to_string();
            }
        };
        let before = actions.len();
        actions.retain(|a| a != action);
        assert_eq!(actions.len(), before - 1, "{action} not in {sid}");
        if actions.is_empty() {
            statements.remove(at);
        }
        value.to_string()
    }

    /// (cause, destination, action, resource, reasons, applies_to) of each finding.
    type Row = (
        &'static str,
        Option<String>,
        String,
        String,
        Vec<&'static str>,
        ObjectClass,
    );

    fn rows(findings: &[PermissionFinding]) -> Vec<Row> {
        findings
            .iter()
            .map(|f| {
                (
                    f.cause,
                    f.destination.clone(),
                    f.action.clone(),
                    f.resource.clone(),
                    f.failure_reasons.clone(),
                    f.applies_to,
                )
            })
            .collect()
    }

    fn row(
        cause: &'static str,
        destination: Option<&str>,
        action: &str,
        resource: &str,
        reasons: &[&'static str],
        applies_to: ObjectClass,
    ) -> Row {
        (
            cause,
            destination.map(String::from),
            action.into(),
            resource.into(),
            reasons.to_vec(),
            applies_to,
        )
    }

    #[test]
    fn the_aws_examples_allow_everything_replication_needs() {
        let findings = check(&setup(), &docs());
        assert_eq!(findings, vec![], "{findings:#?}");
        // Same with a known Bucket-Key state at the destination (both ARNs are listed).
        let mut s = setup();
        s.destinations[0].bucket_key = Some(false);
        assert_eq!(check(&s, &docs()), vec![]);
    }

    #[test]
    fn each_action_taken_from_the_role_policy_is_one_finding() {
        use ObjectClass::*;
        let dst = Some("acme-data-dr");
        let missing = ROLE_MISSING_PERMISSION;
        let cases: Vec<(&str, &str, Row)> = vec![
            (
                "SourceBucket",
                "s3:GetReplicationConfiguration",
                row(
                    missing,
                    None,
                    "s3:GetReplicationConfiguration",
                    SRC,
                    &[],
                    All,
                ),
            ),
            (
                "SourceBucket",
                "s3:ListBucket",
                row(missing, None, "s3:ListBucket", SRC, &[], All),
            ),
            (
                "SourceObjects",
                "s3:GetObjectVersionForReplication",
                row(
                    missing,
                    None,
                    "s3:GetObjectVersionForReplication",
                    SRC_OBJECTS,
                    &["SrcGetObjectNotPermitted", "SrcHeadObjectNotPermitted"],
                    All,
                ),
            ),
            (
                "SourceObjects",
                "s3:GetObjectVersionAcl",
                row(
                    missing,
                    None,
                    "s3:GetObjectVersionAcl",
                    SRC_OBJECTS,
                    &["SrcGetAclNotPermitted"],
                    All,
                ),
            ),
            (
                "SourceObjects",
                "s3:GetObjectVersionTagging",
                row(
                    missing,
                    None,
                    "s3:GetObjectVersionTagging",
                    SRC_OBJECTS,
                    &["SrcGetTaggingNotPermitted"],
                    All,
                ),
            ),
            (
                "SourceObjects",
                "s3:GetObjectRetention",
                row(
                    missing,
                    None,
                    "s3:GetObjectRetention",
                    SRC_OBJECTS,
                    &["SrcGetRetentionNotPermitted"],
                    ObjectLockRetention,
                ),
            ),
            (
                "SourceObjects",
                "s3:GetObjectLegalHold",
                row(
                    missing,
                    None,
                    "s3:GetObjectLegalHold",
                    SRC_OBJECTS,
                    &["SrcGetLegalHoldNotPermitted"],
                    ObjectLockLegalHold,
                ),
            ),
            (
                "DestinationObjects",
                "s3:ReplicateObject",
                row(
                    missing,
                    dst,
                    "s3:ReplicateObject",
                    DST_OBJECTS,
                    REPLICATE_OBJECT_REASONS,
                    All,
                ),
            ),
            (
                "DestinationObjects",
                "s3:ReplicateDelete",
                row(
                    missing,
                    dst,
                    "s3:ReplicateDelete",
                    DST_OBJECTS,
                    &["DstDelObjNotPermitted"],
                    DeleteMarkers,
                ),
            ),
            (
                "DestinationObjects",
                "s3:ReplicateTags",
                row(
                    missing,
                    dst,
                    "s3:ReplicateTags",
                    DST_OBJECTS,
                    &["DstPutTaggingNotPermitted"],
                    All,
                ),
            ),
            (
                "DestinationObjects",
                "s3:ObjectOwnerOverrideToBucketOwner",
                row(
                    missing,
                    dst,
                    "s3:ObjectOwnerOverrideToBucketOwner",
                    DST_OBJECTS,
                    &["DstPutObjectNotPermitted"],
                    All,
                ),
            ),
            (
                "DecryptSource",
                "kms:Decrypt",
                row(
                    missing,
                    None,
                    "kms:Decrypt",
                    SOURCE_KEY,
                    &["SrcGetObjectNotPermitted"],
                    KmsEncrypted,
                ),
            ),
            (
                "EncryptReplicas",
                "kms:Encrypt",
                row(
                    missing,
                    dst,
                    "kms:Encrypt",
                    REPLICA_KEY,
                    &["DstPutObjectNotPermitted"],
                    KmsEncrypted,
                ),
            ),
            (
                "EncryptReplicas",
                "kms:GenerateDataKey",
                row(
                    missing,
                    dst,
                    "kms:GenerateDataKey",
                    REPLICA_KEY,
                    &["DstPutObjectNotPermitted"],
                    KmsEncrypted,
                ),
            ),
        ];
        assert_eq!(cases.len(), 14, "every action of the example");
        for (sid, action, expected) in cases {
            let role_policy = without_action(ROLE_POLICY, sid, action);
            let d = docs_with(&role_policy, DESTINATION_BUCKET_POLICY, GET_KEY_POLICY);
            let findings = check(&setup(), &d);
            assert_eq!(rows(&findings), vec![expected], "without {action}");
            assert_eq!(
                findings[0].decision,
                Decision::NotAllowed,
                "without {action}"
            );
            assert!(!findings[0].is_conditional());
            assert!(
                findings[0]
                    .evidence
                    .starts_with("no statement in iam/inline/repl.json allows "),
                "{}",
                findings[0].evidence
            );
        }
    }

    #[test]
    fn each_action_taken_from_the_destination_bucket_policy_is_one_finding() {
        use ObjectClass::*;
        let dst = Some("acme-data-dr");
        let policy = DST_BUCKET_POLICY;
        let objects = "Permissions on objects";
        let bucket = "Permissions on bucket";
        let cases: Vec<(&str, &str, Option<Row>)> = vec![
            (
                objects,
                "s3:ReplicateObject",
                Some(row(
                    policy,
                    dst,
                    "s3:ReplicateObject",
                    DST_OBJECTS,
                    REPLICATE_OBJECT_REASONS,
                    All,
                )),
            ),
            (
                objects,
                "s3:ReplicateDelete",
                Some(row(
                    policy,
                    dst,
                    "s3:ReplicateDelete",
                    DST_OBJECTS,
                    &["DstDelObjNotPermitted"],
                    DeleteMarkers,
                )),
            ),
            (
                objects,
                "s3:ReplicateTags",
                Some(row(
                    policy,
                    dst,
                    "s3:ReplicateTags",
                    DST_OBJECTS,
                    &["DstPutTaggingNotPermitted"],
                    All,
                )),
            ),
            (
                objects,
                "s3:ObjectOwnerOverrideToBucketOwner",
                Some(row(
                    policy,
                    dst,
                    "s3:ObjectOwnerOverrideToBucketOwner",
                    DST_OBJECTS,
                    &["DstPutObjectNotPermitted"],
                    All,
                )),
            ),
            (
                bucket,
                "s3:List*",
                Some(row(policy, dst, "s3:ListBucket", DST, &[], All)),
            ),
            (
                bucket,
                "s3:GetBucketVersioning",
                Some(row(policy, dst, "s3:GetBucketVersioning", DST, &[], All)),
            ),
            // Granted by the console's policy, not needed by replication.
            (bucket, "s3:PutBucketVersioning", None),
        ];
        for (sid, action, expected) in cases {
            let bucket_policy = without_action(DESTINATION_BUCKET_POLICY, sid, action);
            let d = docs_with(ROLE_POLICY, &bucket_policy, GET_KEY_POLICY);
            let findings = check(&setup(), &d);
            assert_eq!(
                rows(&findings),
                expected.into_iter().collect::<Vec<_>>(),
                "without {action}"
            );
            if let Some(f) = findings.first() {
                assert_eq!(
                    f.evidence,
                    format!(
                        "no statement in dst/acme-data-dr.policy.json allows {} on {} for {ROLE}",
                        f.action, f.resource
                    )
                );
            }
        }
    }

    #[test]
    fn each_action_taken_from_the_replica_key_policy_is_one_finding() {
        for action in ["kms:GenerateDataKey", "kms:Encrypt"] {
            let key_policy = without_action(
                GET_KEY_POLICY,
                "AllowS3ReplicationSourceRoleToUseTheKey",
                action,
            );
            let d = docs_with(ROLE_POLICY, DESTINATION_BUCKET_POLICY, &key_policy);
            assert_eq!(
                rows(&check(&setup(), &d)),
                vec![row(
                    KMS_KEY_POLICY,
                    Some("acme-data-dr"),
                    action,
                    REPLICA_KEY,
                    &["DstPutObjectNotPermitted"],
                    ObjectClass::KmsEncrypted
                )],
                "without {action}"
            );
        }
    }

    #[test]
    fn a_trust_policy_without_s3_is_role_trust() {
        let trust = GET_ROLE.replace(r#""s3.amazonaws.com", "#, "");
        assert_ne!(trust, GET_ROLE);
        let mut d = docs();
        d.trust = Some(parse(&trust, "iam/role.json"));
        let findings = check(&setup(), &d);
        assert_eq!(
            rows(&findings),
            vec![row(
                ROLE_TRUST,
                None,
                "sts:AssumeRole",
                ROLE,
                &["AssumeRoleNotPermitted"],
                ObjectClass::All
            )]
        );
        assert_eq!(
            findings[0].evidence,
            format!(
                "no statement in iam/role.json allows sts:AssumeRole on {ROLE} for s3.amazonaws.com"
            )
        );
    }

    #[test]
    fn confused_deputy_conditions_in_the_trust_policy() {
        let trust = |condition: &str| {
            format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"Service":"s3.amazonaws.com"}},"Action":"sts:AssumeRole","Condition":{condition}}}]}}"#
            )
        };
        let run = |condition: &str, source_account: Option<&str>| {
            let mut s = setup();
            s.source_account = source_account.map(String::from);
            let mut d = docs();
            d.trust = Some(parse(&trust(condition), "iam/role.json"));
            check(&s, &d)
        };
        let account = r#"{"StringEquals":{"aws:SourceAccount":"111122223333"}}"#;
        // The source account defaults to the role's.
        assert_eq!(run(account, None), vec![]);
        let other = run(account, Some("999999999999"));
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].decision, Decision::NotAllowed);
        let arn = r#"{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::acme-*"}}"#;
        assert_eq!(run(arn, None), vec![]);
        // A key nobody knows offline: a conditional finding, worded softly.
        let org = r#"{"StringEquals":{"aws:SourceOrgID":"o-123"}}"#;
        let soft = run(org, None);
        assert_eq!(soft.len(), 1);
        assert!(soft[0].is_conditional());
        assert_eq!(soft[0].cause, ROLE_TRUST);
        assert_eq!(
            soft[0].evidence,
            format!(
                "sts:AssumeRole on {ROLE} for s3.amazonaws.com: allowed with conditions (not evaluated) by iam/role.json Statement[0]: StringEquals aws:SourceOrgID"
            )
        );
    }

    #[test]
    fn optional_permissions_follow_the_configuration() {
        // No Object Lock, no delete markers, owner override made moot by BucketOwnerEnforced:
        // a policy without those actions has no gap.
        let mut role_policy = ROLE_POLICY.to_string();
        for (sid, action) in [
            ("SourceObjects", "s3:GetObjectRetention"),
            ("SourceObjects", "s3:GetObjectLegalHold"),
            ("DestinationObjects", "s3:ReplicateDelete"),
            ("DestinationObjects", "s3:ObjectOwnerOverrideToBucketOwner"),
        ] {
            role_policy = without_action(&role_policy, sid, action);
        }
        let mut s = setup();
        s.object_lock = false;
        s.destinations[0].delete_marker_replication = false;
        s.destinations[0].bucket_owner_enforced = true;
        let d = docs_with(&role_policy, DESTINATION_BUCKET_POLICY, GET_KEY_POLICY);
        assert_eq!(check(&s, &d), vec![]);
        // Without KMS, no KMS statement is needed.
        let mut plain = s.clone();
        plain.source_kms_keys.clear();
        plain.destinations[0].replica_kms_key = None;
        let role_policy = without_action(&role_policy, "DecryptSource", "kms:Decrypt");
        let d = docs_with(
            &role_policy,
            DESTINATION_BUCKET_POLICY,
            r#"{"Statement":[]}"#,
        );
        assert_eq!(check(&plain, &d), vec![]);
    }

    #[test]
    fn a_bucket_policy_for_the_cli_made_role_does_not_grant_the_console_made_one() {
        // §b.8 names `role/service-role/NAME`; a policy for `role/NAME` grants another role.
        let cli_made = DESTINATION_BUCKET_POLICY.replace("role/service-role/", "role/");
        let d = docs_with(ROLE_POLICY, &cli_made, GET_KEY_POLICY);
        let findings = check(&setup(), &d);
        let actions: Vec<&str> = findings.iter().map(|f| f.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "s3:ReplicateObject",
                "s3:ReplicateTags",
                "s3:ReplicateDelete",
                "s3:ObjectOwnerOverrideToBucketOwner",
                "s3:ListBucket",
                "s3:GetBucketVersioning"
            ]
        );
        assert!(
            findings
                .iter()
                .all(|f| f.cause == DST_BUCKET_POLICY && f.decision == Decision::NotAllowed)
        );
    }

    #[test]
    fn an_account_root_principal_delegates_to_the_source_accounts_iam() {
        let root = DESTINATION_BUCKET_POLICY.replace(
            "arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data",
            "arn:aws:iam::111122223333:root",
        );
        let d = docs_with(ROLE_POLICY, &root, GET_KEY_POLICY);
        assert_eq!(check(&setup(), &d), vec![]);
        // The role's own policy still has to allow it: delegation is not a grant.
        let role_policy = without_action(ROLE_POLICY, "DestinationObjects", "s3:ReplicateTags");
        let d = docs_with(&role_policy, &root, GET_KEY_POLICY);
        assert_eq!(
            rows(&check(&setup(), &d)),
            vec![row(
                ROLE_MISSING_PERMISSION,
                Some("acme-data-dr"),
                "s3:ReplicateTags",
                DST_OBJECTS,
                &["DstPutTaggingNotPermitted"],
                ObjectClass::All
            )]
        );
    }

    #[test]
    fn same_account_either_side_may_allow_and_a_bucket_policy_deny_wins() {
        let mut s = setup();
        s.destinations[0].account = None;
        // The role policy lacks ReplicateObject, the bucket policy grants it: allowed.
        let role_policy = without_action(ROLE_POLICY, "DestinationObjects", "s3:ReplicateObject");
        let d = docs_with(&role_policy, DESTINATION_BUCKET_POLICY, GET_KEY_POLICY);
        assert_eq!(check(&s, &d), vec![]);
        // A same-account bucket policy is not asked for bucket-level grants.
        let bare = without_action(
            DESTINATION_BUCKET_POLICY,
            "Permissions on bucket",
            "s3:List*",
        );
        let d = docs_with(ROLE_POLICY, &bare, GET_KEY_POLICY);
        assert_eq!(check(&s, &d), vec![]);
        // A Deny in it wins over the role's Allow, in either account setup.
        let deny = r#"{"Statement":[{"Sid":"NoDeletes","Effect":"Deny","Principal":"*","Action":"s3:ReplicateDelete","Resource":"arn:aws:s3:::acme-data-dr/*"}]}"#;
        for s in [s.clone(), setup()] {
            let d = docs_with(ROLE_POLICY, deny, GET_KEY_POLICY);
            let findings: Vec<_> = check(&s, &d)
                .into_iter()
                .filter(|f| f.action == "s3:ReplicateDelete")
                .collect();
            assert_eq!(findings.len(), 1);
            assert_eq!(findings[0].cause, DST_BUCKET_POLICY);
            assert_eq!(
                findings[0].decision,
                Decision::DeniedExplicitly {
                    by: r#"dst/acme-data-dr.policy.json Statement[0] (Sid "NoDeletes")"#.into()
                }
            );
        }
    }

    #[test]
    fn a_source_bucket_policy_deny() {
        let mut d = docs();
        d.source_bucket_policy = Some(parse(
            r#"{"Statement":[{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3:GetObjectVersionTagging","Resource":"arn:aws:s3:::acme-data/*"}]}"#,
            "src.policy.json",
        ));
        let findings = check(&setup(), &d);
        assert_eq!(
            rows(&findings),
            vec![row(
                SRC_BUCKET_POLICY,
                None,
                "s3:GetObjectVersionTagging",
                SRC_OBJECTS,
                &["SrcGetTaggingNotPermitted"],
                ObjectClass::All
            )]
        );
        assert_eq!(findings[0].decision.label(), "denied-explicitly");
        // The usual "TLS only" Deny does not stop replication (S3 replicates over TLS).
        let tls_only = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::acme-data","arn:aws:s3:::acme-data/*"],"Condition":{"Bool":{"aws:SecureTransport":false}}}]}"#;
        d.source_bucket_policy = Some(parse(tls_only, "src.policy.json"));
        assert_eq!(check(&setup(), &d), vec![]);
        // A Deny on a key nobody knows offline is a possible deny: soft findings.
        let vpce_only = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acme-data/*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b3c4d"}}}]}"#;
        d.source_bucket_policy = Some(parse(vpce_only, "src.policy.json"));
        let findings = check(&setup(), &d);
        assert_eq!(findings.len(), 5, "the object actions: {findings:#?}");
        assert!(
            findings
                .iter()
                .all(|f| f.cause == ROLE_MISSING_PERMISSION && f.is_conditional())
        );
        assert_eq!(
            findings[0].evidence,
            format!(
                "s3:GetObjectVersionForReplication on {SRC_OBJECTS} for {ROLE}: allowed with conditions (not evaluated) by iam/inline/repl.json Statement[1] (Sid \"SourceObjects\"): possible deny by src.policy.json Statement[0] if StringNotEquals aws:SourceVpce"
            )
        );
    }

    #[test]
    fn get_object_version_instead_of_for_replication_concerns_kms_objects_only() {
        let role_policy = ROLE_POLICY.replace(
            r#""s3:GetObjectVersionForReplication""#,
            r#""s3:GetObjectVersion""#,
        );
        let d = docs_with(&role_policy, DESTINATION_BUCKET_POLICY, GET_KEY_POLICY);
        let findings = check(&setup(), &d);
        assert_eq!(
            rows(&findings),
            vec![row(
                ROLE_MISSING_PERMISSION,
                None,
                "s3:GetObjectVersionForReplication",
                SRC_OBJECTS,
                &["SrcGetObjectNotPermitted", "SrcHeadObjectNotPermitted"],
                ObjectClass::KmsEncrypted
            )]
        );
        assert!(findings[0].evidence.ends_with(
            r#"; s3:GetObjectVersion is allowed by iam/inline/repl.json Statement[1] (Sid "SourceObjects"), which replicates objects that are not SSE-KMS"#
        ));
    }

    #[test]
    fn an_encryption_context_without_the_bucket_arn_fails_bucket_key_objects() {
        // D3: the source key statement lists only object ARNs.
        let role_policy = ROLE_POLICY.replace(
            r#"["arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/*"]"#,
            r#"["arn:aws:s3:::acme-data/*"]"#,
        );
        assert_ne!(role_policy, ROLE_POLICY);
        let d = docs_with(&role_policy, DESTINATION_BUCKET_POLICY, GET_KEY_POLICY);
        let findings = check(&setup(), &d);
        assert_eq!(
            rows(&findings),
            vec![row(
                ROLE_MISSING_PERMISSION,
                None,
                "kms:Decrypt",
                SOURCE_KEY,
                &["SrcGetObjectNotPermitted"],
                ObjectClass::KmsWithBucketKey
            )]
        );
        assert_eq!(
            findings[0].evidence,
            format!(
                "no statement in iam/inline/repl.json allows kms:Decrypt on {SOURCE_KEY}; for SSE-KMS objects with an S3 Bucket Key (kms:EncryptionContext:aws:s3:arn = arn:aws:s3:::acme-data); SSE-KMS objects without an S3 Bucket Key: allowed"
            )
        );
        // The replica key likewise, the destination's Bucket-Key state unknown: soft.
        let role_policy = ROLE_POLICY.replace(
            r#"["arn:aws:s3:::acme-data-dr", "arn:aws:s3:::acme-data-dr/*"]"#,
            r#"["arn:aws:s3:::acme-data-dr/*"]"#,
        );
        let d = docs_with(&role_policy, DESTINATION_BUCKET_POLICY, GET_KEY_POLICY);
        let findings = check(&setup(), &d);
        assert_eq!(findings.len(), 2);
        assert!(findings.iter().all(PermissionFinding::is_conditional));
        assert_eq!(
            findings[0].decision,
            Decision::AllowedWithConditions {
                by: r#"iam/inline/repl.json Statement[4] (Sid "EncryptReplicas")"#.into(),
                conditions: vec![
                    "StringLike kms:EncryptionContext:aws:s3:arn (holds for arn:aws:s3:::acme-data-dr/*, not for arn:aws:s3:::acme-data-dr)".into()
                ],
            }
        );
        // Known: the destination uses no Bucket Key, nothing to report.
        let mut s = setup();
        s.destinations[0].bucket_key = Some(false);
        assert_eq!(check(&s, &d), vec![]);
    }

    #[test]
    fn a_bucket_key_destination_needs_kms_decrypt_on_the_replica_key() {
        // D4.
        let mut s = setup();
        s.destinations[0].bucket_key = Some(true);
        let dst = Some("acme-data-dr");
        assert_eq!(
            rows(&check(&s, &docs())),
            vec![
                row(
                    KMS_KEY_POLICY,
                    dst,
                    "kms:Decrypt",
                    REPLICA_KEY,
                    &["DstPutObjectNotPermitted"],
                    ObjectClass::KmsEncrypted
                ),
                row(
                    ROLE_MISSING_PERMISSION,
                    dst,
                    "kms:Decrypt",
                    REPLICA_KEY,
                    &["DstPutObjectNotPermitted"],
                    ObjectClass::KmsEncrypted
                ),
            ]
        );
    }

    #[test]
    fn a_same_account_key_policy_naming_the_role_needs_no_iam_grant() {
        let mut s = setup();
        let key = "arn:aws:kms:us-west-2:111122223333:key/k1";
        s.destinations[0].account = None;
        s.destinations[0].replica_kms_key = Some(key.into());
        let role_policy = without_action(
            &without_action(ROLE_POLICY, "EncryptReplicas", "kms:Encrypt"),
            "EncryptReplicas",
            "kms:GenerateDataKey",
        );
        let mut d = docs_with(&role_policy, DESTINATION_BUCKET_POLICY, GET_KEY_POLICY);
        d.key_policies =
            BTreeMap::from([(key.to_string(), parse(GET_KEY_POLICY, "kms/k1.policy.json"))]);
        assert_eq!(check(&s, &d), vec![]);
        // The default key policy delegates to the account: then IAM must grant it.
        let default_policy = r#"{"Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
        d.key_policies =
            BTreeMap::from([(key.to_string(), parse(default_policy, "kms/k1.policy.json"))]);
        let findings = check(&s, &d);
        let found: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.cause, f.action.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (ROLE_MISSING_PERMISSION, "kms:Encrypt"),
                (ROLE_MISSING_PERMISSION, "kms:GenerateDataKey")
            ]
        );
    }

    #[test]
    fn nothing_exported_nothing_claimed() {
        assert_eq!(check(&setup(), &PolicyDocs::default()), vec![]);
        // Aliases cannot be checked offline: skipped, not reported.
        let mut s = setup();
        s.source_kms_keys = vec!["alias/aws/s3".into()];
        s.destinations[0].replica_kms_key =
            Some("arn:aws:kms:us-west-2:444455556666:alias/dr".into());
        let d = docs_with(
            ROLE_POLICY,
            DESTINATION_BUCKET_POLICY,
            r#"{"Statement":[]}"#,
        );
        assert_eq!(check(&s, &d), vec![]);
    }

    #[test]
    fn a_role_without_policies_misses_everything() {
        let mut d = docs();
        d.identity = Some(vec![]);
        let findings = check(&setup(), &d);
        assert_eq!(findings.len(), 14);
        assert!(findings.iter().all(|f| f.cause == ROLE_MISSING_PERMISSION));
        assert_eq!(
            findings[0].evidence,
            "the role has no permission policies: nothing allows s3:GetReplicationConfiguration on arn:aws:s3:::acme-data for arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data"
        );
    }

    #[test]
    fn findings_serialize_for_the_json_output() {
        let mut d = docs();
        d.identity = Some(vec![]);
        let f = &check(&setup(), &d)[0];
        let json = serde_json::to_value(f).unwrap();
        assert_eq!(json["cause"], "role-missing-permission");
        assert_eq!(json["decision"]["decision"], "not-allowed");
        assert_eq!(json["applies_to"], "all");
    }
}
