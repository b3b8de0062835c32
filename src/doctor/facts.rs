//! What the collected documents establish, ready for the per-object decisions: the
//! replication configuration (or its absence), per destination the facts that make
//! replication fail (versioning, Object Lock, the SSE-C block, the replica KMS key), and the
//! configuration findings that explain no object by themselves (lints, "cannot check").

use std::collections::BTreeMap;

use super::config::{
    Bundle, Doc, KeyFacts, ReplicationConfig, Versioning, blocked_encryption_types,
    blocks_public_acls, bucket_key_enabled, default_kms_key, key_facts, key_stem, object_lock,
    object_ownership, owner_id, payer, region,
};
use super::permissions::{
    DestinationSetup, PermissionFinding, PolicyDocs, ReplicationSetup, check,
};
use super::policy::{Policy, parse_policy_value};
use crate::error::Result;

/// The state of the replication configuration.
#[derive(Debug, Clone)]
pub enum ConfigState {
    /// No `--config`: nothing is known.
    NotCollected,
    /// `get-bucket-replication` said there is none.
    Absent {
        origin: String,
    },
    /// It could not be read (denied): cannot check.
    Unreadable {
        reason: String,
    },
    Read(ReplicationConfig),
}

/// Facts about one destination bucket; `None` = unknown (not collected or unreadable).
#[derive(Debug, Clone, Default)]
pub struct DestinationFacts {
    pub versioning: Option<(Versioning, String)>,
    pub object_lock: Option<(bool, String)>,
    pub blocks_sse_c: Option<(bool, String)>,
    pub region: Option<String>,
    /// The replica KMS key of the rules replicating here, with what `describe-key` says.
    pub replica_keys: Vec<(String, Option<KeyFacts>, String)>,
    /// The public access block's origin when it blocks public ACLs and nothing makes the
    /// replicas' ACLs private (owner override in a rule, BucketOwnerEnforced): objects with
    /// a public grant fail there (doctor.md C8).
    pub public_acls_blocked: Option<String>,
    /// The request-payment document's origin when the bucket is Requester Pays (B5).
    pub requester_pays: Option<String>,
}

/// A configuration finding that explains no object by itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub id: String,
    pub message: String,
    pub evidence: String,
    /// The destination it is about, when it is about one: a finding that objects of that
    /// destination show as a cause is not repeated as a finding.
    #[serde(skip)]
    pub destination: Option<String>,
}

/// Everything the bundle says.
#[derive(Debug, Clone)]
pub struct Facts {
    pub config: ConfigState,
    pub source_object_lock: Option<(bool, String)>,
    /// The source bucket owner's canonical id (`src.acl.json`) and the origin.
    pub source_owner_id: Option<(String, String)>,
    /// The source bucket's Object Ownership (`BucketOwnerEnforced` owns every object).
    pub source_ownership: Option<String>,
    pub destinations: BTreeMap<String, DestinationFacts>,
    pub lints: Vec<Finding>,
    /// Documents that could not be read or were not collected, said once each.
    pub unknown: Vec<String>,
    /// Permission gaps the role, bucket and key policies show (`permissions::check`).
    pub permissions: Vec<PermissionFinding>,
}

impl Facts {
    /// Nothing collected.
    pub fn none() -> Facts {
        Facts {
            config: ConfigState::NotCollected,
            source_object_lock: None,
            source_owner_id: None,
            source_ownership: None,
            destinations: BTreeMap::new(),
            lints: Vec::new(),
            unknown: Vec::new(),
            permissions: Vec::new(),
        }
    }

    /// Reads what `bundle` holds about the replication of `source_bucket`.
    pub fn from_bundle(bundle: &Bundle, source_bucket: &str) -> Result<Facts> {
        let mut facts = Facts::none();
        let replication = bundle.document("replication")?;
        facts.config = match &replication {
            Doc::Read { value, origin } => {
                ConfigState::Read(ReplicationConfig::parse(value, &bundle.shown(origin))?)
            }
            Doc::Absent { origin, .. } => ConfigState::Absent {
                origin: bundle.shown(origin),
            },
            Doc::Unreadable { .. } => ConfigState::Unreadable {
                reason: replication
                    .why_unknown("the replication configuration")
                    .unwrap_or_default(),
            },
            Doc::NotCollected => {
                facts.unknown.push(
                    "the replication configuration not checked (no replication.json in --config)"
                        .into(),
                );
                ConfigState::NotCollected
            }
        };
        if let ConfigState::Unreadable { reason } = &facts.config {
            facts.unknown.push(reason.clone());
        }
        let src_lock = bundle.document("src.object-lock")?;
        facts.source_object_lock =
            object_lock(&src_lock).map(|on| (on, doc_origin(bundle, &src_lock)));
        let acl = bundle.document("src.acl")?;
        facts.source_owner_id = owner_id(&acl).map(|id| (id, doc_origin(bundle, &acl)));
        facts.source_ownership = object_ownership(&bundle.document("src.ownership")?);
        let ConfigState::Read(config) = &facts.config else {
            return Ok(facts);
        };
        for dest in config.destinations() {
            let doc = |what: &str| bundle.document(&format!("dst/{dest}.{what}"));
            let versioning = doc("versioning")?;
            let lock = doc("object-lock")?;
            let encryption = doc("encryption")?;
            let mut d = DestinationFacts {
                versioning: Versioning::from_doc(&versioning)
                    .map(|v| (v, doc_origin(bundle, &versioning))),
                object_lock: object_lock(&lock).map(|on| (on, doc_origin(bundle, &lock))),
                blocks_sse_c: blocked_encryption_types(&encryption).map(|types| {
                    (
                        types.iter().any(|t| t.eq_ignore_ascii_case("SSE-C")),
                        doc_origin(bundle, &encryption),
                    )
                }),
                region: region(&doc("location")?),
                replica_keys: Vec::new(),
                public_acls_blocked: None,
                requester_pays: None,
            };
            let access_block = doc("public-access-block")?;
            let owner_override = config
                .rules
                .iter()
                .filter(|r| r.enabled && r.destination.bucket == dest)
                .any(|r| r.destination.owner_override);
            let enforced =
                object_ownership(&doc("ownership")?).is_some_and(|o| o == "BucketOwnerEnforced");
            if blocks_public_acls(&access_block) == Some(true) && !owner_override && !enforced {
                d.public_acls_blocked = Some(doc_origin(bundle, &access_block));
            }
            let payment = doc("request-payment")?;
            if payer(&payment).as_deref() == Some("Requester") {
                d.requester_pays = Some(doc_origin(bundle, &payment));
            }
            for rule in config.rules.iter().filter(|r| r.destination.bucket == dest) {
                let Some(key) = &rule.destination.replica_kms_key else {
                    continue;
                };
                if d.replica_keys.iter().any(|(k, _, _)| k == key) {
                    continue;
                }
                let describe = bundle.document(&format!("kms/{}.describe", key_stem(key)))?;
                d.replica_keys.push((
                    key.clone(),
                    key_facts(&describe),
                    doc_origin(bundle, &describe),
                ));
            }
            facts.destinations.insert(dest, d);
        }
        facts.lints = lints(config, &facts);
        facts
            .unknown
            .extend(unchecked(bundle, config, source_bucket)?);
        for (stem, what) in ROLE_POLICY_LISTS {
            let doc = bundle.document(stem)?;
            if matches!(doc, Doc::Unreadable { .. })
                && let Some(why) = doc.why_unknown(what)
            {
                facts.unknown.push(why);
            }
        }
        facts.permissions = permission_gaps(bundle, config, &facts, source_bucket)?;
        Ok(facts)
    }

    /// The replication configuration, when it was read.
    pub fn config(&self) -> Option<&ReplicationConfig> {
        match &self.config {
            ConfigState::Read(c) => Some(c),
            _ => None,
        }
    }
}

/// The documents the decisions consult that could not be read ("cannot check X (CODE in
/// FILE)", each) or were not collected ("B: X, Y not checked (no file)", per bucket).
fn unchecked(
    bundle: &Bundle,
    config: &ReplicationConfig,
    source_bucket: &str,
) -> Result<Vec<String>> {
    const SOURCE: [(&str, &str); 5] = [
        ("object-lock", "Object Lock configuration"),
        ("ownership", "Object Ownership"),
        ("acl", "owner (ACL)"),
        ("encryption", "default encryption"),
        ("policy", "bucket policy"),
    ];
    const DESTINATION: [(&str, &str); 8] = [
        ("versioning", "versioning"),
        ("object-lock", "Object Lock configuration"),
        ("encryption", "default encryption"),
        ("public-access-block", "public access block"),
        ("ownership", "Object Ownership"),
        ("policy", "bucket policy"),
        ("request-payment", "request payment"),
        ("location", "Region"),
    ];
    let mut out = Vec::new();
    let source = if source_bucket.is_empty() {
        "the source bucket".to_string()
    } else {
        source_bucket.to_string()
    };
    let mut groups: Vec<(String, Vec<(String, &str)>)> = vec![(
        source,
        SOURCE
            .iter()
            .map(|(doc, what)| (format!("src.{doc}"), *what))
            .collect(),
    )];
    for dest in config.destinations() {
        let docs = DESTINATION
            .iter()
            .map(|(doc, what)| (format!("dst/{dest}.{doc}"), *what))
            .collect();
        groups.push((dest, docs));
    }
    let mut keys: Vec<&String> = config
        .rules
        .iter()
        .filter_map(|r| r.destination.replica_kms_key.as_ref())
        .collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let stem = key_stem(key);
        groups.push((
            format!("KMS key {key}"),
            vec![
                (format!("kms/{stem}.describe"), "description"),
                (format!("kms/{stem}.policy"), "key policy"),
            ],
        ));
    }
    if config.role.is_some() {
        groups.push((
            "the replication role".into(),
            vec![("iam/role".to_string(), "trust and permission policies")],
        ));
    }
    for (label, docs) in groups {
        let mut missing = Vec::new();
        for (stem, what) in docs {
            let doc = bundle.document(&stem)?;
            match doc {
                Doc::Unreadable { .. } => {
                    out.extend(doc.why_unknown(&format!("{label}'s {what}")));
                }
                Doc::NotCollected => missing.push(what),
                _ => {}
            }
        }
        if !missing.is_empty() {
            out.push(format!(
                "{label}: {} not checked (no file)",
                missing.join(", ")
            ));
        }
    }
    Ok(out)
}

/// The `.err` documents of the role's policy listings, and what they are.
const ROLE_POLICY_LISTS: [(&str, &str); 2] = [
    (
        super::collect::INLINE_LIST,
        "the role's permissions (its inline policies could not be listed)",
    ),
    (
        super::collect::ATTACHED_LIST,
        "the role's permissions (its attached policies could not be listed)",
    ),
];

/// The policies of the bundle, parsed; `None` when the document was not read.
fn policy(bundle: &Bundle, stem: &str) -> Result<Option<Policy>> {
    match bundle.document(stem)? {
        Doc::Read { value, origin } => {
            Ok(Some(parse_policy_value(&value, &bundle.shown(&origin))?))
        }
        _ => Ok(None),
    }
}

/// What the role, bucket and key policies of the bundle allow replication to do.
fn permission_gaps(
    bundle: &Bundle,
    config: &ReplicationConfig,
    facts: &Facts,
    source_bucket: &str,
) -> Result<Vec<PermissionFinding>> {
    let Some(role_arn) = &config.role else {
        return Ok(Vec::new());
    };
    let trust = policy(bundle, "iam/role")?;
    // The role's policies could not be listed: what is there is not all there is.
    let mut unlisted = false;
    for (stem, _) in ROLE_POLICY_LISTS {
        unlisted |= matches!(bundle.document(stem)?, Doc::Unreadable { .. });
    }
    let mut identity = Vec::new();
    for folder in ["iam/inline", "iam/attached"] {
        for name in bundle.names_under(folder) {
            if let Some(stem) = name.strip_suffix(".json")
                && let Some(p) = policy(bundle, &format!("{folder}/{stem}"))?
            {
                identity.push(p);
            }
        }
    }
    // The role's policies count as collected when the role itself was, and both lists
    // could be read.
    let identity = ((trust.is_some() || !identity.is_empty()) && !unlisted).then_some(identity);
    let mut docs = PolicyDocs {
        trust,
        identity,
        source_bucket_policy: policy(bundle, "src.policy")?,
        destination_bucket_policies: BTreeMap::new(),
        key_policies: BTreeMap::new(),
    };
    let source_encryption = bundle.document("src.encryption")?;
    let source_kms_keys: Vec<String> = default_kms_key(&source_encryption).into_iter().collect();
    let mut destinations = Vec::new();
    for dest in config.destinations() {
        if let Some(p) = policy(bundle, &format!("dst/{dest}.policy"))? {
            docs.destination_bucket_policies.insert(dest.clone(), p);
        }
        let rules: Vec<&super::config::Rule> = config
            .rules
            .iter()
            .filter(|r| r.enabled && r.destination.bucket == dest)
            .collect();
        let Some(first) = rules.first() else { continue };
        let encryption = bundle.document(&format!("dst/{dest}.encryption"))?;
        destinations.push(DestinationSetup {
            bucket: dest.clone(),
            account: first.destination.account.clone(),
            owner_override: rules.iter().any(|r| r.destination.owner_override),
            bucket_owner_enforced: object_ownership(
                &bundle.document(&format!("dst/{dest}.ownership"))?,
            )
            .is_some_and(|o| o == "BucketOwnerEnforced"),
            replica_kms_key: first.destination.replica_kms_key.clone(),
            delete_marker_replication: rules.iter().any(|r| r.delete_markers),
            bucket_key: bucket_key_enabled(&encryption),
        });
    }
    for key in source_kms_keys.iter().chain(
        config
            .rules
            .iter()
            .filter_map(|r| r.destination.replica_kms_key.as_ref()),
    ) {
        if let Some(p) = policy(bundle, &format!("kms/{}.policy", key_stem(key)))? {
            docs.key_policies.insert(key.clone(), p);
        }
    }
    let setup = ReplicationSetup {
        role_arn: role_arn.clone(),
        source_bucket: source_bucket.to_string(),
        source_account: role_arn.split(':').nth(4).map(str::to_string),
        destinations,
        source_kms_keys,
        object_lock: facts.source_object_lock.as_ref().is_some_and(|(on, _)| *on),
    };
    Ok(check(&setup, &docs))
}

fn doc_origin(bundle: &Bundle, doc: &Doc) -> String {
    match doc {
        Doc::Read { origin, .. } | Doc::Absent { origin, .. } | Doc::Unreadable { origin, .. } => {
            bundle.shown(origin)
        }
        Doc::NotCollected => String::new(),
    }
}

/// A key's Region, from its ARN (`arn:aws:kms:REGION:…`).
pub fn key_region(key: &str) -> Option<&str> {
    let mut parts = key.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.nth(2).filter(|r| !r.is_empty())
}

/// Findings about the configuration that hold whatever the objects are.
fn lints(config: &ReplicationConfig, facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in &config.rules {
        let at = format!("{}: {}", config.origin, rule.path);
        if rule.enabled && !rule.destination.metrics {
            out.push(Finding {
                id: "metrics-off".into(),
                message: format!(
                    "rule {} has replication metrics off: S3 sends no replication failure events for it (enable Metrics on the rule and an s3:Replication:* event notification)",
                    rule.id
                ),
                evidence: format!("{at}.Destination.Metrics"),
                destination: None,
            });
        }
        if rule.existing_object_replication {
            out.push(Finding {
                id: "existing-object-replication".into(),
                message: format!(
                    "rule {} sets ExistingObjectReplication, which S3 no longer supports: existing objects are replicated with Batch Replication",
                    rule.id
                ),
                evidence: format!("{at}.ExistingObjectReplication"),
                destination: None,
            });
        }
        if let Some(key) = &rule.destination.replica_kms_key {
            let dest_region = facts
                .destinations
                .get(&rule.destination.bucket)
                .and_then(|d| d.region.as_deref());
            if let (Some(key_region), Some(dest_region)) = (key_region(key), dest_region)
                && key_region != dest_region
            {
                out.push(Finding {
                    id: "replica-key-region".into(),
                    message: format!(
                        "rule {} encrypts replicas with a KMS key in {key_region}, but {} is in {dest_region}: the key must be in the destination bucket's Region",
                        rule.id, rule.destination.bucket
                    ),
                    evidence: format!("{at}.Destination.EncryptionConfiguration.ReplicaKmsKeyID"),
                    destination: None,
                });
            }
        }
        if !rule.filter.tags.is_empty() && rule.delete_markers {
            out.push(Finding {
                id: "tag-rule-delete-markers".into(),
                message: format!(
                    "rule {} filters on tags and enables DeleteMarkerReplication, which S3 does not support for tag rules",
                    rule.id
                ),
                evidence: format!("{at}.DeleteMarkerReplication"),
                destination: None,
            });
        }
    }
    let mut priorities: BTreeMap<(&str, i64), Vec<&str>> = BTreeMap::new();
    for rule in config.rules.iter().filter(|r| r.enabled) {
        priorities
            .entry((rule.destination.bucket.as_str(), rule.priority))
            .or_default()
            .push(&rule.id);
    }
    // V1 rules have no priority (S3 refuses overlapping V1 prefixes instead).
    let v2 = config
        .rules
        .iter()
        .any(|r| r.schema == super::config::Schema::V2);
    for ((dest, priority), ids) in priorities {
        if v2 && ids.len() > 1 {
            out.push(Finding {
                id: "duplicate-priority".into(),
                message: format!(
                    "rules {} replicate to {dest} with the same priority {priority}: which one applies to an object both match is not defined",
                    ids.join(", ")
                ),
                evidence: config.origin.clone(),
                destination: None,
            });
        }
    }
    for (dest, d) in &facts.destinations {
        if let Some(origin) = &d.requester_pays {
            out.push(Finding {
                id: "dst-requester-pays".into(),
                message: format!(
                    "{dest} is a Requester Pays bucket, which replication does not support as a destination: set Payer BucketOwner (aws s3api put-bucket-request-payment --bucket {dest} --request-payment-configuration Payer=BucketOwner)"
                ),
                evidence: format!("{origin}: Payer Requester"),
                destination: Some(dest.clone()),
            });
        }
        if let Some(origin) = &d.public_acls_blocked {
            out.push(Finding {
                id: super::causes::PUBLIC_ACL_BLOCKED.id.into(),
                message: format!(
                    "{dest} blocks public ACLs and no rule to it overrides the owner: objects with a public ACL grant will fail to replicate there"
                ),
                evidence: format!("{origin}: BlockPublicAcls true"),
                destination: Some(dest.clone()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_regions() {
        assert_eq!(
            key_region("arn:aws:kms:us-west-2:444455556666:key/1234"),
            Some("us-west-2")
        );
        assert_eq!(key_region("1234abcd"), None);
    }
}
