//! Which replication rule applies to a key, per destination, with S3's semantics: a rule
//! matches when the key starts with its prefix (tags cannot be seen in an inventory); among
//! the enabled rules that match and replicate to the same bucket, the highest `Priority`
//! wins (V1 rules have none: the first one listed); disabled rules are ignored, but an
//! object matched only by a disabled rule is told apart from one no rule matches.

use super::config::{ReplicationConfig, Rule};

/// What applies to one key for one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleMatch<'a> {
    /// The enabled rule that decides (its tags, if any, could not be checked).
    Rule(&'a Rule),
    /// Only disabled rules match: the highest-priority one.
    OnlyDisabled(&'a Rule),
    /// No rule for this destination matches the key.
    None,
}

/// The rules of one destination, in the order they are tried.
#[derive(Debug, Clone)]
pub struct DestinationRules<'a> {
    enabled: Vec<&'a Rule>,
    disabled: Vec<&'a Rule>,
}

/// Rules sorted for matching: highest priority first, then document order (a stable sort,
/// so equal priorities — V1 rules, or a configuration S3 should have refused — keep it).
fn by_priority(mut rules: Vec<&Rule>) -> Vec<&Rule> {
    rules.sort_by_key(|r| std::cmp::Reverse(r.priority));
    rules
}

impl<'a> DestinationRules<'a> {
    pub fn new(config: &'a ReplicationConfig, destination: &str) -> DestinationRules<'a> {
        let of_dest = |enabled: bool| {
            by_priority(
                config
                    .rules
                    .iter()
                    .filter(|r| r.destination.bucket == destination && r.enabled == enabled)
                    .collect(),
            )
        };
        DestinationRules {
            enabled: of_dest(true),
            disabled: of_dest(false),
        }
    }

    /// The enabled rules, in the order they are tried (the first whose prefix matches
    /// decides).
    pub fn enabled(&self) -> &[&'a Rule] {
        &self.enabled
    }

    /// The rule deciding `key`.
    pub fn match_key(&self, key: &str) -> RuleMatch<'a> {
        if let Some(rule) = self
            .enabled
            .iter()
            .find(|r| key.starts_with(r.filter.prefix.as_str()))
        {
            return RuleMatch::Rule(rule);
        }
        match self
            .disabled
            .iter()
            .find(|r| key.starts_with(r.filter.prefix.as_str()))
        {
            Some(rule) => RuleMatch::OnlyDisabled(rule),
            None => RuleMatch::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::{Destination, Filter, Schema};
    use super::*;

    fn rule(i: usize, prefix: &str, priority: i64, enabled: bool, dest: &str) -> Rule {
        Rule {
            id: format!("r{i}"),
            path: format!("Rules[{i}]"),
            priority,
            enabled,
            schema: Schema::V2,
            filter: Filter {
                prefix: prefix.into(),
                tags: Vec::new(),
            },
            destination: Destination {
                bucket: dest.into(),
                ..Destination::default()
            },
            sse_kms_opted_in: false,
            replica_modifications: false,
            delete_markers: false,
            existing_object_replication: false,
        }
    }

    /// The reference: every matching rule of the destination considered, enabled before
    /// disabled, the highest priority and then the earliest position kept.
    fn reference<'a>(config: &'a ReplicationConfig, dest: &str, key: &str) -> RuleMatch<'a> {
        let best = |enabled: bool| {
            let mut best: Option<(usize, &Rule)> = None;
            for (i, r) in config.rules.iter().enumerate() {
                if r.destination.bucket != dest
                    || r.enabled != enabled
                    || !key.starts_with(&r.filter.prefix)
                {
                    continue;
                }
                if best.is_none_or(|(j, b)| {
                    r.priority > b.priority || (r.priority == b.priority && i < j)
                }) {
                    best = Some((i, r));
                }
            }
            best.map(|(_, r)| r)
        };
        match (best(true), best(false)) {
            (Some(r), _) => RuleMatch::Rule(r),
            (None, Some(r)) => RuleMatch::OnlyDisabled(r),
            (None, None) => RuleMatch::None,
        }
    }

    #[test]
    fn priority_prefix_and_disabled_rules() {
        let config = ReplicationConfig {
            role: None,
            rules: vec![
                rule(0, "", 1, true, "dr"),
                rule(1, "logs/", 3, true, "dr"),
                rule(2, "logs/old/", 9, false, "dr"),
                rule(3, "tmp/", 5, false, "dr"),
                rule(4, "logs/", 1, true, "eu"),
            ],
            origin: String::new(),
        };
        let dr = DestinationRules::new(&config, "dr");
        let id = |m: RuleMatch| match m {
            RuleMatch::Rule(r) => format!("rule {}", r.id),
            RuleMatch::OnlyDisabled(r) => format!("disabled {}", r.id),
            RuleMatch::None => "none".into(),
        };
        assert_eq!(id(dr.match_key("logs/a")), "rule r1");
        // The disabled higher-priority rule is ignored.
        assert_eq!(id(dr.match_key("logs/old/a")), "rule r1");
        assert_eq!(id(dr.match_key("data/a")), "rule r0");
        let eu = DestinationRules::new(&config, "eu");
        assert_eq!(id(eu.match_key("data/a")), "none");
        assert_eq!(id(eu.match_key("logs/x")), "rule r4");
        let only_disabled = ReplicationConfig {
            role: None,
            rules: vec![rule(0, "tmp/", 5, false, "dr")],
            origin: String::new(),
        };
        let m = DestinationRules::new(&only_disabled, "dr");
        assert_eq!(id(m.match_key("tmp/a")), "disabled r0");
        assert_eq!(id(m.match_key("x")), "none");
    }

    #[test]
    fn random_rule_sets_match_the_reference() {
        // A small deterministic generator (xorshift): prefixes over a tiny alphabet so that
        // rules overlap often, priorities with ties, two destinations, some rules disabled.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        let word = |next: &mut dyn FnMut(u64) -> u64, max: u64| -> String {
            (0..next(max + 1))
                .map(|_| ["a", "b", "/"][next(3) as usize])
                .collect()
        };
        for _ in 0..300 {
            let rules = (0..1 + next(6) as usize)
                .map(|i| {
                    rule(
                        i,
                        &word(&mut next, 3),
                        next(4) as i64,
                        next(4) != 0,
                        ["dr", "eu"][next(2) as usize],
                    )
                })
                .collect();
            let config = ReplicationConfig {
                role: None,
                rules,
                origin: String::new(),
            };
            for dest in ["dr", "eu"] {
                let m = DestinationRules::new(&config, dest);
                for _ in 0..20 {
                    let key = word(&mut next, 5);
                    assert_eq!(
                        m.match_key(&key),
                        reference(&config, dest, &key),
                        "{key:?} {config:?}"
                    );
                }
            }
        }
    }
}
