//! A destination's replication rules (from `--config`) as SQL over the key: which source
//! versions are expected at the destination at all, and whether the rule that decides a
//! key replicates delete markers — with S3's matching (highest priority first, the prefix
//! only; tags cannot be seen in an inventory).

use super::plan::RuleScope;
use crate::doctor::config::ReplicationConfig;
use crate::doctor::rules::DestinationRules;
use crate::table::sql_literal;

/// The scope of `destination` in `config` (the key written `{key}`), with notes on what
/// the inventory cannot decide.
pub fn scope(config: &ReplicationConfig, destination: &str) -> (RuleScope, Vec<String>) {
    let rules = DestinationRules::new(config, destination);
    let mut notes = Vec::new();
    let enabled = rules.enabled();
    if enabled.is_empty() {
        notes.push(format!(
            "no enabled replication rule names {destination}: every source version is out-of-scope there"
        ));
    }
    let matches = |prefix: &str| {
        if prefix.is_empty() {
            "true".to_string()
        } else {
            format!("starts_with({{key}}, {})", sql_literal(prefix))
        }
    };
    let in_scope = if enabled.is_empty() {
        "false".to_string()
    } else {
        enabled
            .iter()
            .map(|r| matches(&r.filter.prefix))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let delete_markers = if enabled.is_empty() {
        "false".to_string()
    } else {
        let arms: Vec<String> = enabled
            .iter()
            .map(|r| {
                format!(
                    "WHEN {} THEN {}",
                    matches(&r.filter.prefix),
                    r.delete_markers
                )
            })
            .collect();
        format!("CASE {} ELSE false END", arms.join(" "))
    };
    for r in enabled.iter().filter(|r| !r.filter.tags.is_empty()) {
        notes.push(format!(
            "rule {} ({}) also filters on tags, which an inventory does not show: every key under its prefix {:?} is counted in scope for {destination}",
            r.id, r.path, r.filter.prefix
        ));
    }
    (
        RuleScope {
            in_scope,
            delete_markers,
        },
        notes,
    )
}
