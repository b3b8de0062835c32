//! A deliberately small IAM policy evaluator (doctor.md §f.6): enough to say whether the
//! replication role may do what replication needs, from the documents users export.
//!
//! What it reads: identity policies, trust policies, bucket policies and KMS key policies, as
//! a JSON object, as a JSON string holding one (`"Policy": "{…}"` in `get-bucket-policy` and
//! `get-key-policy` output), or URL-encoded (RFC 3986) the way the Rust AWS SDK returns IAM
//! documents. The AWS CLI wrappers around a document (`{"Policy": …}`, `{"PolicyDocument":
//! …}`, `{"PolicyVersion": {"Document": …}}`, `{"Role": {"AssumeRolePolicyDocument": …}}`)
//! are taken off, so an exported file can be handed over as it is.
//!
//! What it decides: explicit `Deny` wins, then `Allow`, else not allowed; `Action` /
//! `NotAction` with `*` and `?` compared case-insensitively, `Resource` / `NotResource`
//! case-sensitively; `Principal` / `NotPrincipal` for resource policies; and conditions only
//! on the keys a [`Request`] says it carries (string, ARN and `Bool` operators). Every other
//! condition is "not evaluated" and reported as such, never guessed.
//!
//! What it leaves out, so a caller must not claim it: SCPs, RCPs, permission boundaries,
//! session policies, KMS grants, policy variables (`${aws:username}`), and ARN matching
//! component by component (`ArnLike` is matched as a string glob).
//!
//! The permission checks replication needs are in [`super::permissions`].

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::format::key::percent_decode;

/// A parsed policy document and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    origin: String,
    statements: Vec<Statement>,
}

impl Policy {
    /// Where the document came from (a file under the `--config` folder, or an API call), as
    /// given to [`parse_policy`]; decisions name it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// How many statements the document has.
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }
}

/// One question: may `principal` do `action` on `resource`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// `service:Action`, e.g. `s3:ReplicateObject`.
    pub action: &'a str,
    /// An ARN. A trailing `*` stands for every resource that starts with the rest (the
    /// objects of a bucket: `arn:aws:s3:::b/*`): an `Allow` must then cover all of them, and
    /// a `Deny` that covers only some is reported as a possible deny.
    pub resource: &'a str,
    /// Who asks, for resource policies (bucket, key, trust): a role ARN or a service
    /// principal (`s3.amazonaws.com`). `None` for identity policies, which have no
    /// `Principal`: statements with a `Principal` then never apply. Statements without one
    /// apply either way (they belong to whoever asks), so a role's policies and a bucket
    /// policy can be evaluated together for a same-account question.
    pub principal: Option<&'a str>,
    /// Condition keys whose value the request is known to carry, each with the values it may
    /// take (a trailing `*` as in `resource`). A condition on any other key is not evaluated.
    /// With several values, a condition that holds for some and not others is reported with
    /// both.
    pub context: Vec<(&'a str, Vec<String>)>,
}

impl<'a> Request<'a> {
    /// An identity-policy question: no principal, no condition context.
    pub fn new(action: &'a str, resource: &'a str) -> Self {
        Request {
            action,
            resource,
            principal: None,
            context: Vec::new(),
        }
    }

    /// The same question asked by `principal` (for resource policies).
    pub fn with_principal(mut self, principal: &'a str) -> Self {
        self.principal = Some(principal);
        self
    }

    /// The request carries condition key `key` with one of `values`.
    pub fn with_context(mut self, key: &'a str, values: Vec<String>) -> Self {
        self.context.push((key, values));
        self
    }
}

/// The outcome of [`evaluate`]. `by` names the deciding statement: the policy's origin, the
/// statement's JSON path and its `Sid`, and how the principal matched when that matters.
///
/// A `Deny` that may or may not apply (its condition is not evaluated, or its `Resource`
/// covers only part of the request) never makes a decision `DeniedExplicitly`: an allowed
/// request is then `AllowedWithConditions`, with the possible deny in `conditions`
/// (`"possible deny by …"`), and a request nothing allows stays `NotAllowed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    /// An `Allow` applies without conditions, and no `Deny` can apply.
    Allowed { by: String },
    /// An `Allow` applies if conditions hold that were not (or not fully) evaluated, or a
    /// conditional `Deny` may apply; `conditions` lists them (`"StringEquals aws:SourceAccount"`).
    AllowedWithConditions { by: String, conditions: Vec<String> },
    /// A `Deny` applies without conditions.
    DeniedExplicitly { by: String },
    /// No statement allows it (the implicit deny).
    NotAllowed,
}

impl Decision {
    /// `allowed`, `allowed-with-conditions`, `denied-explicitly` or `not-allowed` (the names of
    /// doctor.md §f.6, and of the serialized `decision` field).
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Allowed { .. } => "allowed",
            Decision::AllowedWithConditions { .. } => "allowed-with-conditions",
            Decision::DeniedExplicitly { .. } => "denied-explicitly",
            Decision::NotAllowed => "not-allowed",
        }
    }

    /// Allowed without any doubt.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allowed { by } => write!(f, "allowed by {by}"),
            Decision::AllowedWithConditions { by, conditions } => write!(
                f,
                "allowed with conditions (not evaluated) by {by}: {}",
                conditions.join("; ")
            ),
            Decision::DeniedExplicitly { by } => write!(f, "denied explicitly by {by}"),
            Decision::NotAllowed => f.write_str("not allowed (no statement allows it)"),
        }
    }
}

/// Parses a policy document (see the module header for the accepted forms). `origin` names
/// the document in errors and in every [`Decision`]; a malformed document is an error that
/// names `origin` and the JSON path of the fault.
pub fn parse_policy(text: &str, origin: &str) -> Result<Policy> {
    let value = decode_text(text, origin, "")?;
    parse_document(value, origin, "", 0)
}

/// [`parse_policy`] for a document already read as JSON (a field of a larger file).
pub fn parse_policy_value(value: &Value, origin: &str) -> Result<Policy> {
    parse_document(value.clone(), origin, "", 0)
}

/// Decides `request` over `policies` taken together: an unconditional `Deny` in any of them
/// wins, then an `Allow` in any of them (unconditional ones first), else [`Decision::NotAllowed`].
/// Statements without `Principal` (identity policies) apply to whoever asks; statements with
/// one apply only when `request.principal` matches it. To require an `Allow` from two sides
/// (cross-account: the role's policies *and* the bucket policy), evaluate each side alone.
pub fn evaluate(policies: &[&Policy], request: &Request) -> Decision {
    evaluate_detailed(policies, request).0
}

/// [`evaluate`], and whether the deciding `Allow` only delegates to the principal's account
/// (then that account's IAM policies must allow the request too).
pub(crate) fn evaluate_detailed(policies: &[&Policy], request: &Request) -> (Decision, bool) {
    let mut possible_denies: Vec<String> = Vec::new();
    // (by, delegated): an Allow naming the principal beats one delegating to its account,
    // being the one a user looks for.
    let mut unconditional: Option<(String, bool)> = None;
    let mut conditional: Option<(String, Vec<String>, bool)> = None;
    for policy in policies {
        for statement in &policy.statements {
            let Some(hit) = statement.applies(request) else {
                continue;
            };
            let by = statement.describe(&policy.origin, &hit.principal);
            let delegated = matches!(hit.principal, PrincipalMatch::Delegated(_));
            match (statement.effect, hit.doubts.is_empty()) {
                (Effect::Deny, true) => return (Decision::DeniedExplicitly { by }, false),
                (Effect::Deny, false) => possible_denies.push(format!(
                    "possible deny by {by} if {}",
                    hit.doubts.join(" and ")
                )),
                (Effect::Allow, true) => {
                    if unconditional
                        .as_ref()
                        .is_none_or(|(_, was_delegated)| *was_delegated && !delegated)
                    {
                        unconditional = Some((by, delegated));
                    }
                }
                (Effect::Allow, false) => {
                    if conditional.is_none() {
                        conditional = Some((by, hit.doubts, delegated));
                    }
                }
            }
        }
    }
    match (unconditional, conditional) {
        (Some((by, delegated)), _) if possible_denies.is_empty() => {
            (Decision::Allowed { by }, delegated)
        }
        (Some((by, delegated)), _) => (
            Decision::AllowedWithConditions {
                by,
                conditions: possible_denies,
            },
            delegated,
        ),
        (None, Some((by, mut conditions, delegated))) => {
            conditions.extend(possible_denies);
            (
                Decision::AllowedWithConditions { by, conditions },
                delegated,
            )
        }
        (None, None) => (Decision::NotAllowed, false),
    }
}

// ---------------------------------------------------------------------------------------
// The model

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    /// JSON path in the document: `Statement[2]`, or `Statement` when it is one object.
    path: String,
    sid: Option<String>,
    effect: Effect,
    /// `None`: no `Principal` (an identity policy statement).
    principal: Option<Principals>,
    actions: Patterns,
    /// `None`: no `Resource` (trust policies), which matches any resource.
    resources: Option<Patterns>,
    conditions: Vec<Condition>,
}

/// `Action`/`Resource` values, or with `negated` the `Not…` form.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Patterns {
    negated: bool,
    values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Principals {
    /// `NotPrincipal`.
    negated: bool,
    /// `"*"`, or `{"AWS": "*"}`.
    anyone: bool,
    /// (`AWS` | `Service` | `Federated` | `CanonicalUser`, value).
    entries: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    /// As written: `StringLike`, `ArnNotEqualsIfExists`, `ForAnyValue:StringLike`, …
    operator: String,
    key: String,
    values: Vec<String>,
}

/// How a statement's principal matched the request's.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PrincipalMatch {
    /// No principal involved (identity statement), or a direct match.
    Yes,
    /// The account root (or bare account id): the account's own IAM policies decide.
    Delegated(String),
}

/// A statement that applies to a request, with what keeps it from applying for certain.
struct Hit {
    principal: PrincipalMatch,
    /// Conditions not evaluated (or holding for some of the request's values only), and a
    /// `Resource` covering only part of the request.
    doubts: Vec<String>,
}

impl Statement {
    fn applies(&self, request: &Request) -> Option<Hit> {
        let principal = match &self.principal {
            None => PrincipalMatch::Yes,
            Some(principals) => principals.matches(request.principal?)?,
        };
        let action_hit = self
            .actions
            .values
            .iter()
            .any(|p| Glob::new(p, true, true).coverage(request.action) == Coverage::All);
        if action_hit == self.actions.negated {
            return None;
        }
        let mut doubts = Vec::new();
        if let Some(resources) = &self.resources {
            match resource_coverage(resources, request.resource) {
                Coverage::None => return None,
                Coverage::Some if self.effect == Effect::Allow => return None,
                Coverage::Some => doubts.push(format!(
                    "{} {} covers only part of {}",
                    if resources.negated {
                        "NotResource"
                    } else {
                        "Resource"
                    },
                    resources.values.join(", "),
                    request.resource
                )),
                Coverage::All => {}
            }
        }
        for condition in &self.conditions {
            match condition.evaluate(request) {
                Truth::True => {}
                Truth::False => return None,
                Truth::Unknown(why) => doubts.push(why),
            }
        }
        Some(Hit { principal, doubts })
    }

    fn describe(&self, origin: &str, principal: &PrincipalMatch) -> String {
        let mut out = format!("{origin} {}", self.path);
        if let Some(sid) = &self.sid {
            out.push_str(&format!(" (Sid {sid:?})"));
        }
        if let PrincipalMatch::Delegated(account) = principal {
            out.push_str(&match self.effect {
                Effect::Allow => format!(
                    ", whose Principal is account {account}: it delegates to the account's IAM policies, which must allow it too"
                ),
                Effect::Deny => format!(
                    ", whose Principal is account {account}: it applies to every principal of the account"
                ),
            });
        }
        out
    }
}

/// `Resource` patterns against the request's resource (set): `NotResource` covers what no
/// pattern touches.
fn resource_coverage(resources: &Patterns, resource: &str) -> Coverage {
    let each = resources
        .values
        .iter()
        .map(|p| Glob::new(p, true, false).coverage(resource));
    let any = each.fold(Coverage::None, Coverage::max);
    if !resources.negated {
        return any;
    }
    match any {
        Coverage::None => Coverage::All,
        Coverage::Some => Coverage::Some,
        Coverage::All => Coverage::None,
    }
}

impl Principals {
    fn matches(&self, who: &str) -> Option<PrincipalMatch> {
        if self.negated {
            // NotPrincipal excludes only the principals it names exactly (a role, or a
            // session of it): naming an account excludes its root user, not its roles.
            let excluded = self
                .entries
                .iter()
                .any(|(kind, value)| names_exactly(kind, value, who));
            return (!excluded && !self.anyone).then_some(PrincipalMatch::Yes);
        }
        if self.anyone {
            return Some(PrincipalMatch::Yes);
        }
        let mut delegated = None;
        for (kind, value) in &self.entries {
            if names_exactly(kind, value, who) {
                return Some(PrincipalMatch::Yes);
            }
            if kind == "AWS"
                && let Some(account) = account_of_root(value)
                && arn_account(who) == Some(account)
            {
                delegated = Some(PrincipalMatch::Delegated(account.to_string()));
            }
        }
        delegated
    }
}

/// The principal `who` is the one `value` names: the same ARN or service (IAM role ARNs are
/// compared in full, so `role/service-role/NAME` is not `role/NAME`), or a session of the
/// role (`arn:aws:sts::ACCT:assumed-role/NAME/SESSION`).
fn names_exactly(kind: &str, value: &str, who: &str) -> bool {
    match kind {
        "AWS" => value == "*" || value == who || is_session_of(value, who),
        "Service" => value.eq_ignore_ascii_case(who),
        _ => value == who,
    }
}

fn is_session_of(session: &str, role: &str) -> bool {
    let (Some(s), Some(r)) = (split_arn(session), split_arn(role)) else {
        return false;
    };
    let (Some(s_rest), Some(r_rest)) = (
        s.resource.strip_prefix("assumed-role/"),
        r.resource.strip_prefix("role/"),
    ) else {
        return false;
    };
    let role_name = r_rest.rsplit('/').next().unwrap_or(r_rest);
    s.service == "sts"
        && r.service == "iam"
        && s.partition == r.partition
        && s.account == r.account
        && s_rest.split('/').next() == Some(role_name)
}

/// `arn:PART:iam::ACCT:root` or a bare 12-digit account id → the account.
fn account_of_root(value: &str) -> Option<&str> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value);
    }
    let arn = split_arn(value)?;
    (arn.service == "iam" && arn.resource == "root").then_some(arn.account)
}

/// The account of an IAM or STS principal ARN.
fn arn_account(who: &str) -> Option<&str> {
    let arn = split_arn(who)?;
    matches!(arn.service, "iam" | "sts")
        .then_some(arn.account)
        .filter(|a| !a.is_empty())
}

pub(crate) struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// `arn:partition:service:region:account:resource` (the resource may hold more colons).
pub(crate) fn split_arn(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    Some(Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    })
}

// ---------------------------------------------------------------------------------------
// Conditions

enum Truth {
    True,
    False,
    /// Not evaluated, or true for some of the request's values only: the text says which.
    Unknown(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `StringEquals`: no wildcards.
    Equals,
    /// `StringLike`, `ArnEquals`, `ArnLike`: `*` and `?`.
    Like,
}

struct Operator {
    family: Family,
    negated: bool,
    ignore_case: bool,
}

/// The operators evaluated here; `None` for the rest (numeric, date, IP, `Null`, the
/// `ForAnyValue:`/`ForAllValues:` set forms, unknown ones).
fn operator(name: &str) -> Option<Operator> {
    let base = name.strip_suffix("IfExists").unwrap_or(name);
    let (family, negated, ignore_case) = match base {
        "StringEquals" => (Family::Equals, false, false),
        "StringNotEquals" => (Family::Equals, true, false),
        "StringEqualsIgnoreCase" => (Family::Equals, false, true),
        "StringNotEqualsIgnoreCase" => (Family::Equals, true, true),
        // `Bool` compares "true"/"false" as text; JSON booleans arrive as that text.
        "Bool" => (Family::Equals, false, true),
        "StringLike" | "ArnEquals" | "ArnLike" => (Family::Like, false, false),
        "StringNotLike" | "ArnNotEquals" | "ArnNotLike" => (Family::Like, true, false),
        _ => return None,
    };
    Some(Operator {
        family,
        negated,
        ignore_case,
    })
}

impl Condition {
    fn label(&self) -> String {
        format!("{} {}", self.operator, self.key)
    }

    fn evaluate(&self, request: &Request) -> Truth {
        let known = request
            .context
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(&self.key));
        let (Some(op), Some((_, candidates))) = (operator(&self.operator), known) else {
            return Truth::Unknown(self.label());
        };
        if candidates.is_empty() {
            return Truth::Unknown(self.label());
        }
        let patterns: Vec<Glob> = self
            .values
            .iter()
            .map(|v| Glob::new(v, op.family == Family::Like, op.ignore_case))
            .collect();
        let mut holds = Vec::new();
        let mut fails = Vec::new();
        for candidate in candidates {
            let best = patterns
                .iter()
                .map(|p| p.coverage(candidate))
                .fold(Coverage::None, Coverage::max);
            let truth = match (best, op.negated) {
                (Coverage::All, false) | (Coverage::None, true) => Some(true),
                (Coverage::None, false) | (Coverage::All, true) => Some(false),
                (Coverage::Some, _) => None,
            };
            match truth {
                Some(true) => holds.push(candidate.as_str()),
                Some(false) => fails.push(candidate.as_str()),
                None => {
                    return Truth::Unknown(format!(
                        "{} (holds for part of {candidate})",
                        self.label()
                    ));
                }
            }
        }
        match (holds.is_empty(), fails.is_empty()) {
            (_, true) => Truth::True,
            (true, false) => Truth::False,
            (false, false) => Truth::Unknown(format!(
                "{} (holds for {}, not for {})",
                self.label(),
                holds.join(", "),
                fails.join(", ")
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Glob matching over sets: `*` any run, `?` one character. A request value with a trailing
// `*` stands for every string starting with the rest, so a pattern may match all of it
// (`arn:aws:s3:::b/*` against the objects of `b`), some of it (`arn:aws:s3:::b/logs/*`), or
// none. A small NFA over pattern positions decides all three.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Star,
    One,
    Lit(char),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Coverage {
    None,
    Some,
    All,
}

/// A compiled pattern; `fold` compares ASCII letters case-insensitively (action names,
/// `…IgnoreCase` operators).
struct Glob {
    toks: Vec<Tok>,
    fold: bool,
}

impl Glob {
    fn new(pattern: &str, wildcards: bool, fold: bool) -> Glob {
        let toks = pattern
            .chars()
            .map(|c| match c {
                '*' if wildcards => Tok::Star,
                '?' if wildcards => Tok::One,
                c if fold => Tok::Lit(c.to_ascii_lowercase()),
                c => Tok::Lit(c),
            })
            .collect();
        Glob { toks, fold }
    }

    /// How much of `value` (a string, or with a trailing `*` a set of strings) the pattern
    /// matches.
    fn coverage(&self, value: &str) -> Coverage {
        let pattern = &self.toks;
        let (prefix, is_set) = match value.strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (value, false),
        };
        let n = pattern.len();
        let mut states = vec![false; n + 1];
        states[0] = true;
        close(pattern, &mut states);
        for c in prefix.chars() {
            let c = if self.fold { c.to_ascii_lowercase() } else { c };
            let mut next = vec![false; n + 1];
            for i in 0..n {
                if !states[i] {
                    continue;
                }
                match pattern[i] {
                    Tok::Star => next[i] = true,
                    Tok::One => next[i + 1] = true,
                    Tok::Lit(l) if l == c => next[i + 1] = true,
                    Tok::Lit(_) => {}
                }
            }
            close(pattern, &mut next);
            states = next;
            if !states.contains(&true) {
                return Coverage::None;
            }
        }
        if !is_set {
            return if states[n] {
                Coverage::All
            } else {
                Coverage::None
            };
        }
        // Every continuation is matched from a state whose rest is all stars; any live
        // state matches some continuation.
        if (0..n).any(|i| states[i] && pattern[i..].iter().all(|t| *t == Tok::Star)) {
            Coverage::All
        } else if states.contains(&true) {
            Coverage::Some
        } else {
            Coverage::None
        }
    }
}

/// A star may match nothing: its successor is reachable too.
fn close(pattern: &[Tok], states: &mut [bool]) {
    for i in 0..pattern.len() {
        if states[i] && pattern[i] == Tok::Star {
            states[i + 1] = true;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing

/// How many times a document may be wrapped in a JSON string or URL-encoded.
const MAX_WRAPPING: usize = 3;

fn invalid(origin: &str, path: &str, what: impl fmt::Display) -> Error {
    let at = if path.is_empty() { "(top level)" } else { path };
    Error::bad_data(origin, format!("invalid policy document at {at}: {what}"))
}

/// Text → JSON: URL-encoded text is decoded first.
fn decode_text(text: &str, origin: &str, path: &str) -> Result<Value> {
    let text = text.trim_start_matches('\u{feff}').trim();
    let decoded;
    let text = if text.starts_with('%') {
        decoded = percent_decode(text).map_err(|_| {
            invalid(
                origin,
                path,
                "URL-encoded text that is not UTF-8 once decoded",
            )
        })?;
        decoded.trim()
    } else {
        text
    };
    serde_json::from_str(text).map_err(|e| invalid(origin, path, format_args!("not JSON: {e}")))
}

fn parse_document(value: Value, origin: &str, path: &str, wrapping: usize) -> Result<Policy> {
    let object = match value {
        Value::String(text) => {
            if wrapping >= MAX_WRAPPING {
                return Err(invalid(
                    origin,
                    path,
                    "a string inside a string inside a string: expected a policy document",
                ));
            }
            let inner = decode_text(&text, origin, path)?;
            return parse_document(inner, origin, path, wrapping + 1);
        }
        Value::Object(object) => object,
        other => {
            return Err(invalid(
                origin,
                path,
                format_args!(
                    "expected a policy document (an object), found {}",
                    kind(&other)
                ),
            ));
        }
    };
    if !object.contains_key("Statement") {
        for (wrapper, field) in [
            ("Policy", None),
            ("PolicyDocument", None),
            ("PolicyVersion", Some("Document")),
            ("Role", Some("AssumeRolePolicyDocument")),
        ] {
            let Some(inner) = object.get(wrapper) else {
                continue;
            };
            let (inner, inner_path) = match field {
                None => (Some(inner), join(path, wrapper)),
                Some(field) => (inner.get(field), join(&join(path, wrapper), field)),
            };
            let Some(inner) = inner else {
                return Err(invalid(origin, &inner_path, "missing"));
            };
            return parse_document(inner.clone(), origin, &inner_path, wrapping);
        }
    }
    parse_object(&object, origin, path)
}

fn parse_object(object: &Map<String, Value>, origin: &str, path: &str) -> Result<Policy> {
    let statements_path = join(path, "Statement");
    if !object.contains_key("Statement") {
        return Err(invalid(origin, &statements_path, "missing"));
    }
    for key in object.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err(invalid(
                origin,
                &join(path, key),
                "unknown element (a policy has Version, Id and Statement)",
            ));
        }
    }
    let statements = match object.get("Statement") {
        None => Vec::new(),
        Some(Value::Object(one)) => vec![parse_statement(one, origin, &statements_path)?],
        Some(Value::Array(many)) => many
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let at = format!("{statements_path}[{i}]");
                match s {
                    Value::Object(s) => parse_statement(s, origin, &at),
                    other => Err(invalid(
                        origin,
                        &at,
                        format_args!("expected a statement (an object), found {}", kind(other)),
                    )),
                }
            })
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(invalid(
                origin,
                &statements_path,
                format_args!("expected an object or a list, found {}", kind(other)),
            ));
        }
    };
    Ok(Policy {
        origin: origin.to_string(),
        statements,
    })
}

fn parse_statement(s: &Map<String, Value>, origin: &str, path: &str) -> Result<Statement> {
    for key in s.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(invalid(
                origin,
                &join(path, key),
                "unknown statement element",
            ));
        }
    }
    let sid = match s.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(other) => {
            return Err(invalid(
                origin,
                &join(path, "Sid"),
                format_args!("expected a string, found {}", kind(other)),
            ));
        }
    };
    let effect = match s.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        None => return Err(invalid(origin, &join(path, "Effect"), "missing")),
        Some(other) => {
            return Err(invalid(
                origin,
                &join(path, "Effect"),
                format_args!("expected \"Allow\" or \"Deny\", found {other}"),
            ));
        }
    };
    let actions = one_of(s, "Action", "NotAction", origin, path)?
        .ok_or_else(|| invalid(origin, &join(path, "Action"), "missing (or NotAction)"))?;
    let resources = one_of(s, "Resource", "NotResource", origin, path)?;
    let principal = parse_principals(s, origin, path)?;
    let conditions = match s.get("Condition") {
        None => Vec::new(),
        Some(c) => parse_conditions(c, origin, &join(path, "Condition"))?,
    };
    Ok(Statement {
        path: path.to_string(),
        sid,
        effect,
        principal,
        actions,
        resources,
        conditions,
    })
}

/// `Action` or `NotAction` (likewise `Resource`): at most one of the two.
fn one_of(
    s: &Map<String, Value>,
    positive: &str,
    negative: &str,
    origin: &str,
    path: &str,
) -> Result<Option<Patterns>> {
    match (s.get(positive), s.get(negative)) {
        (Some(_), Some(_)) => Err(invalid(
            origin,
            &join(path, negative),
            format_args!("a statement has {positive} or {negative}, not both"),
        )),
        (Some(v), None) => Ok(Some(Patterns {
            negated: false,
            values: strings(v, origin, &join(path, positive))?,
        })),
        (None, Some(v)) => Ok(Some(Patterns {
            negated: true,
            values: strings(v, origin, &join(path, negative))?,
        })),
        (None, None) => Ok(None),
    }
}

/// A string or a non-empty list of strings.
fn strings(v: &Value, origin: &str, path: &str) -> Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid(
                    origin,
                    &format!("{path}[{i}]"),
                    format_args!("expected a string, found {}", kind(other)),
                )),
            })
            .collect(),
        Value::Array(_) => Err(invalid(origin, path, "empty list")),
        other => Err(invalid(
            origin,
            path,
            format_args!(
                "expected a string or a list of strings, found {}",
                kind(other)
            ),
        )),
    }
}

fn parse_principals(
    s: &Map<String, Value>,
    origin: &str,
    path: &str,
) -> Result<Option<Principals>> {
    let (value, negated, name) = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                origin,
                &join(path, "NotPrincipal"),
                "a statement has Principal or NotPrincipal, not both",
            ));
        }
        (Some(v), None) => (v, false, "Principal"),
        (None, Some(v)) => (v, true, "NotPrincipal"),
        (None, None) => return Ok(None),
    };
    let at = join(path, name);
    let mut principals = Principals {
        negated,
        anyone: false,
        entries: Vec::new(),
    };
    match value {
        Value::String(s) if s == "*" => principals.anyone = true,
        Value::Object(kinds) => {
            for (kind_name, v) in kinds {
                if !matches!(
                    kind_name.as_str(),
                    "AWS" | "Service" | "Federated" | "CanonicalUser"
                ) {
                    return Err(invalid(
                        origin,
                        &join(&at, kind_name),
                        "unknown principal type (expected AWS, Service, Federated or CanonicalUser)",
                    ));
                }
                for entry in strings(v, origin, &join(&at, kind_name))? {
                    if kind_name == "AWS" && entry == "*" {
                        principals.anyone = true;
                    }
                    principals.entries.push((kind_name.clone(), entry));
                }
            }
        }
        other => {
            return Err(invalid(
                origin,
                &at,
                format_args!(
                    "expected \"*\" or an object such as {{\"AWS\": \"arn:…\"}}, found {}",
                    kind(other)
                ),
            ));
        }
    }
    Ok(Some(principals))
}

fn parse_conditions(c: &Value, origin: &str, path: &str) -> Result<Vec<Condition>> {
    let Value::Object(operators) = c else {
        return Err(invalid(
            origin,
            path,
            format_args!("expected an object of operators, found {}", kind(c)),
        ));
    };
    let mut out = Vec::new();
    for (op, keys) in operators {
        let op_path = join(path, op);
        let Value::Object(keys) = keys else {
            return Err(invalid(
                origin,
                &op_path,
                format_args!("expected an object of condition keys, found {}", kind(keys)),
            ));
        };
        for (key, values) in keys {
            let key_path = join(&op_path, key);
            let values = match values {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| scalar(v, origin, &format!("{key_path}[{i}]")))
                    .collect::<Result<Vec<_>>>()?,
                v => vec![scalar(v, origin, &key_path)?],
            };
            out.push(Condition {
                operator: op.clone(),
                key: key.clone(),
                values,
            });
        }
    }
    Ok(out)
}

/// Condition values may be strings, booleans or numbers (`"Bool": {"aws:SecureTransport": false}`).
fn scalar(v: &Value, origin: &str, path: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(invalid(
            origin,
            path,
            format_args!(
                "expected a string, number or boolean, found {}",
                kind(other)
            ),
        )),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The example documents of doctor.md §b.6–§b.9, verbatim (copied by script).
#[cfg(test)]
pub(crate) mod examples {
    /// `aws s3api get-bucket-policy` output ([CLI-ex], §b.6): the policy as a JSON string.
    pub const GET_BUCKET_POLICY: &str = r#"{
    "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Permissions on objects\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data\"},\"Action\":[\"s3:ReplicateDelete\",\"s3:ReplicateObject\"],\"Resource\":\"arn:aws:s3:::acme-data-dr/*\"}]}"
}
"#;

    /// `aws iam get-role` output with the trust policy (§b.7).
    pub const GET_ROLE: &str = r#"{
    "Role": {
        "Path": "/service-role/",
        "RoleName": "s3crr_role_for_acme-data",
        "Arn": "arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data",
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["s3.amazonaws.com", "batchoperations.s3.amazonaws.com"]},
                    "Action": "sts:AssumeRole"
                }
            ]
        }
    }
}
"#;

    /// The replication role permissions policy (§b.7).
    pub const ROLE_POLICY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "SourceBucket",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": "arn:aws:s3:::acme-data"
        },
        {
            "Sid": "SourceObjects",
            "Effect": "Allow",
            "Action": [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
                "s3:GetObjectRetention",
                "s3:GetObjectLegalHold"
            ],
            "Resource": "arn:aws:s3:::acme-data/*"
        },
        {
            "Sid": "DestinationObjects",
            "Effect": "Allow",
            "Action": [
                "s3:ReplicateObject",
                "s3:ReplicateDelete",
                "s3:ReplicateTags",
                "s3:ObjectOwnerOverrideToBucketOwner"
            ],
            "Resource": "arn:aws:s3:::acme-data-dr/*"
        },
        {
            "Sid": "DecryptSource",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": "arn:aws:kms:us-east-1:111122223333:key/aaaa1111-22bb-33cc-44dd-555555eeeeee",
            "Condition": {
                "StringLike": {
                    "kms:ViaService": "s3.us-east-1.amazonaws.com",
                    "kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/*"]
                }
            }
        },
        {
            "Sid": "EncryptReplicas",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": "arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "Condition": {
                "StringLike": {
                    "kms:ViaService": "s3.us-west-2.amazonaws.com",
                    "kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::acme-data-dr", "arn:aws:s3:::acme-data-dr/*"]
                }
            }
        }
    ]
}
"#;

    /// The cross-account destination bucket policy (§b.8).
    pub const DESTINATION_BUCKET_POLICY: &str = r#"{
    "Version": "2012-10-17",
    "Id": "PolicyForDestinationBucket",
    "Statement": [
        {
            "Sid": "Permissions on objects",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data"},
            "Action": [
                "s3:ReplicateObject",
                "s3:ReplicateDelete",
                "s3:ReplicateTags",
                "s3:ObjectOwnerOverrideToBucketOwner"
            ],
            "Resource": "arn:aws:s3:::acme-data-dr/*"
        },
        {
            "Sid": "Permissions on bucket",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data"},
            "Action": ["s3:List*", "s3:GetBucketVersioning", "s3:PutBucketVersioning"],
            "Resource": "arn:aws:s3:::acme-data-dr"
        }
    ]
}
"#;

    /// `aws kms get-key-policy` output for the replica key (§b.9): the policy as a JSON string.
    pub const GET_KEY_POLICY: &str = r#"{
    "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AllowS3ReplicationSourceRoleToUseTheKey\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data\"},\"Action\":[\"kms:GenerateDataKey\",\"kms:Encrypt\"],\"Resource\":\"*\"}]}",
    "PolicyName": "default"
}
"#;
}

#[cfg(test)]
mod tests {
    use super::examples::*;
    use super::*;

    const ROLE: &str = "arn:aws:iam::111122223333:role/service-role/s3crr_role_for_acme-data";

    fn policy(text: &str) -> Policy {
        parse_policy(text, "test.json").unwrap()
    }

    fn ask(p: &Policy, action: &str, resource: &str) -> Decision {
        evaluate(&[p], &Request::new(action, resource))
    }

    fn ask_as(p: &Policy, who: &str, action: &str, resource: &str) -> Decision {
        evaluate(&[p], &Request::new(action, resource).with_principal(who))
    }

    fn error(text: &str) -> String {
        parse_policy(text, "iam/inline/repl.json")
            .unwrap_err()
            .to_string()
    }

    fn without_paths(p: &Policy) -> Vec<Statement> {
        let mut statements = p.statements.clone();
        for s in &mut statements {
            s.path.clear();
        }
        statements
    }

    /// One statement around `body` (the members after `"Effect"`).
    fn one(effect: &str, body: &str) -> Policy {
        policy(&format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"{effect}",{body}}}}}"#
        ))
    }

    #[test]
    fn the_role_policy_example_allows_what_it_lists() {
        let p = policy(ROLE_POLICY);
        for action in ["s3:GetReplicationConfiguration", "s3:ListBucket"] {
            assert!(
                ask(&p, action, "arn:aws:s3:::acme-data").is_allowed(),
                "{action}"
            );
        }
        assert_eq!(
            ask(&p, "s3:ReplicateObject", "arn:aws:s3:::acme-data-dr/*"),
            Decision::Allowed {
                by: r#"test.json Statement[2] (Sid "DestinationObjects")"#.into()
            }
        );
        // Not listed, or on another resource.
        assert_eq!(
            ask(&p, "s3:PutObject", "arn:aws:s3:::acme-data-dr/*"),
            Decision::NotAllowed
        );
        assert_eq!(
            ask(&p, "s3:ReplicateObject", "arn:aws:s3:::acme-data/*"),
            Decision::NotAllowed
        );
    }

    #[test]
    fn kms_conditions_are_evaluated_on_the_keys_the_request_carries() {
        let p = policy(ROLE_POLICY);
        let key = "arn:aws:kms:us-east-1:111122223333:key/aaaa1111-22bb-33cc-44dd-555555eeeeee";
        let as_s3 = |context: Vec<&str>| {
            Request::new("kms:Decrypt", key)
                .with_context("kms:ViaService", vec!["s3.us-east-1.amazonaws.com".into()])
                .with_context(
                    "kms:EncryptionContext:aws:s3:arn",
                    context.into_iter().map(String::from).collect(),
                )
        };
        // Both ARNs are listed: Bucket-Key objects and the others are covered.
        let both = as_s3(vec!["arn:aws:s3:::acme-data/*", "arn:aws:s3:::acme-data"]);
        assert_eq!(
            evaluate(&[&p], &both),
            Decision::Allowed {
                by: r#"test.json Statement[3] (Sid "DecryptSource")"#.into()
            }
        );
        // Without a context nothing is known: allowed with conditions, listed.
        assert_eq!(
            ask(&p, "kms:Decrypt", key),
            Decision::AllowedWithConditions {
                by: r#"test.json Statement[3] (Sid "DecryptSource")"#.into(),
                // serde_json keeps keys sorted.
                conditions: vec![
                    "StringLike kms:EncryptionContext:aws:s3:arn".into(),
                    "StringLike kms:ViaService".into(),
                ],
            }
        );
        // Another bucket's objects: the condition is false, nothing allows it.
        let other = as_s3(vec!["arn:aws:s3:::other/*"]);
        assert_eq!(evaluate(&[&p], &other), Decision::NotAllowed);
    }

    #[test]
    fn a_condition_holding_for_some_values_says_which() {
        // D3: only the object ARN is listed; with S3 Bucket Keys the context is the bucket's.
        let p = one(
            "Allow",
            r#""Action":"kms:Encrypt","Resource":"*","Condition":{"StringLike":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::dst/*"}}"#,
        );
        let r = Request::new("kms:Encrypt", "arn:aws:kms:us-west-2:1:key/k").with_context(
            "kms:EncryptionContext:aws:s3:arn",
            vec!["arn:aws:s3:::dst/*".into(), "arn:aws:s3:::dst".into()],
        );
        assert_eq!(
            evaluate(&[&p], &r),
            Decision::AllowedWithConditions {
                by: "test.json Statement".into(),
                conditions: vec![
                    "StringLike kms:EncryptionContext:aws:s3:arn (holds for arn:aws:s3:::dst/*, not for arn:aws:s3:::dst)"
                        .into()
                ],
            }
        );
        // A prefix pattern covers only part of "every object".
        let p = one(
            "Allow",
            r#""Action":"kms:Encrypt","Resource":"*","Condition":{"StringLike":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::dst/logs/*"}}"#,
        );
        let r = Request::new("kms:Encrypt", "k").with_context(
            "kms:EncryptionContext:aws:s3:arn",
            vec!["arn:aws:s3:::dst/*".into()],
        );
        assert_eq!(
            evaluate(&[&p], &r),
            Decision::AllowedWithConditions {
                by: "test.json Statement".into(),
                conditions: vec![
                    "StringLike kms:EncryptionContext:aws:s3:arn (holds for part of arn:aws:s3:::dst/*)"
                        .into()
                ],
            }
        );
    }

    #[test]
    fn condition_operators() {
        let with = |op: &str, values: &str, actual: &str| {
            let p = one(
                "Allow",
                &format!(
                    r#""Action":"s3:*","Resource":"*","Condition":{{"{op}":{{"aws:SourceAccount":{values}}}}}"#
                ),
            );
            let r = Request::new("s3:GetObject", "arn:aws:s3:::b/k")
                .with_context("aws:sourceaccount", vec![actual.to_string()]);
            evaluate(&[&p], &r).label()
        };
        assert_eq!(with("StringEquals", r#""111""#, "111"), "allowed");
        assert_eq!(with("StringEquals", r#"["222","111"]"#, "111"), "allowed");
        assert_eq!(with("StringEquals", r#""11*""#, "111"), "not-allowed");
        assert_eq!(with("StringLike", r#""11*""#, "111"), "allowed");
        assert_eq!(with("StringLike", r#""1?1""#, "111"), "allowed");
        assert_eq!(with("StringNotEquals", r#""111""#, "111"), "not-allowed");
        assert_eq!(with("StringNotEquals", r#""222""#, "111"), "allowed");
        assert_eq!(with("StringNotLike", r#"["2*","3*"]"#, "111"), "allowed");
        assert_eq!(with("StringEqualsIgnoreCase", r#""ABC""#, "abc"), "allowed");
        assert_eq!(with("StringEquals", r#""ABC""#, "abc"), "not-allowed");
        assert_eq!(with("StringEqualsIfExists", r#""111""#, "111"), "allowed");
        assert_eq!(
            with("ArnLike", r#""arn:aws:s3:::*""#, "arn:aws:s3:::b"),
            "allowed"
        );
        // Bool: JSON booleans or strings, any case.
        assert_eq!(with("Bool", "true", "true"), "allowed");
        assert_eq!(with("Bool", r#""True""#, "true"), "allowed");
        assert_eq!(with("Bool", "false", "true"), "not-allowed");
        // Operators this evaluator does not know stay unevaluated, whatever the context.
        assert_eq!(
            with("ForAnyValue:StringEquals", r#""111""#, "111"),
            "allowed-with-conditions"
        );
        assert_eq!(
            with("NumericEquals", "111", "111"),
            "allowed-with-conditions"
        );
    }

    #[test]
    fn action_wildcards_are_case_insensitive() {
        let p = one(
            "Allow",
            r#""Action":["s3:Get*","S3:replicate?bject"],"Resource":"*""#,
        );
        assert!(ask(&p, "s3:GetObjectVersionForReplication", "x").is_allowed());
        assert!(ask(&p, "S3:GETOBJECTVERSIONACL", "x").is_allowed());
        assert!(ask(&p, "s3:ReplicateObject", "x").is_allowed());
        assert!(!ask(&p, "s3:ReplicateDelete", "x").is_allowed());
        assert!(!ask(&p, "s3:ListBucket", "x").is_allowed());
        // `Get*` does not reach into another service.
        assert!(!ask(&p, "kms:GetKeyPolicy", "x").is_allowed());
        let all = one("Allow", r#""Action":"*","Resource":"*""#);
        assert!(ask(&all, "kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k").is_allowed());
    }

    #[test]
    fn resource_wildcards_are_case_sensitive_and_cover_sets() {
        let p = one(
            "Allow",
            r#""Action":"s3:*","Resource":["arn:aws:s3:::acme-*/*"]"#,
        );
        assert!(ask(&p, "s3:GetObject", "arn:aws:s3:::acme-data/a/b.txt").is_allowed());
        assert!(ask(&p, "s3:GetObject", "arn:aws:s3:::acme-data/*").is_allowed());
        assert!(!ask(&p, "s3:GetObject", "arn:aws:s3:::ACME-data/a").is_allowed());
        // The bucket itself is not one of its objects.
        assert!(!ask(&p, "s3:ListBucket", "arn:aws:s3:::acme-data").is_allowed());
        // Part of a bucket's objects does not allow all of them.
        let logs = one(
            "Allow",
            r#""Action":"s3:*","Resource":"arn:aws:s3:::b/logs/*""#,
        );
        assert!(ask(&logs, "s3:GetObject", "arn:aws:s3:::b/logs/*").is_allowed());
        assert!(ask(&logs, "s3:GetObject", "arn:aws:s3:::b/logs/2026/*").is_allowed());
        assert!(!ask(&logs, "s3:GetObject", "arn:aws:s3:::b/*").is_allowed());
        let suffix = one(
            "Allow",
            r#""Action":"s3:*","Resource":"arn:aws:s3:::b/*.csv""#,
        );
        assert!(!ask(&suffix, "s3:GetObject", "arn:aws:s3:::b/*").is_allowed());
        assert!(ask(&suffix, "s3:GetObject", "arn:aws:s3:::b/x.csv").is_allowed());
    }

    #[test]
    fn glob_coverage() {
        let cov = |p: &str, v: &str| Glob::new(p, true, false).coverage(v);
        assert_eq!(cov("a*", "abc"), Coverage::All);
        assert_eq!(cov("a?c", "abc"), Coverage::All);
        assert_eq!(cov("a?c", "abbc"), Coverage::None);
        assert_eq!(cov("*", ""), Coverage::All);
        assert_eq!(cov("", ""), Coverage::All);
        assert_eq!(cov("a**b", "ab"), Coverage::All);
        assert_eq!(cov("a*b*c", "axxbyyc"), Coverage::All);
        assert_eq!(cov("a*b*c", "axxbyy"), Coverage::None);
        // Sets: "b/*" is every string starting with "b/".
        assert_eq!(cov("b/*", "b/*"), Coverage::All);
        assert_eq!(cov("b*", "b/*"), Coverage::All);
        assert_eq!(cov("*", "b/*"), Coverage::All);
        assert_eq!(cov("b/**", "b/x/*"), Coverage::All);
        assert_eq!(cov("b/x*", "b/*"), Coverage::Some);
        assert_eq!(cov("*.csv", "b/*"), Coverage::Some);
        assert_eq!(cov("b/x", "b/*"), Coverage::Some);
        assert_eq!(cov("b", "b/*"), Coverage::None);
        assert_eq!(cov("c/*", "b/*"), Coverage::None);
        let literal = Glob::new("a*", false, false);
        assert_eq!(literal.coverage("a*b"), Coverage::None);
        assert_eq!(literal.coverage("abc"), Coverage::None);
    }

    #[test]
    fn not_action_and_not_resource() {
        let p = one(
            "Allow",
            r#""NotAction":["iam:*","s3:Delete*"],"Resource":"*""#,
        );
        assert!(ask(&p, "s3:ReplicateObject", "x").is_allowed());
        assert!(!ask(&p, "iam:PassRole", "x").is_allowed());
        assert!(!ask(&p, "s3:DeleteObject", "x").is_allowed());
        let p = one(
            "Allow",
            r#""Action":"s3:*","NotResource":"arn:aws:s3:::secret/*""#,
        );
        assert!(ask(&p, "s3:ReplicateObject", "arn:aws:s3:::acme-data-dr/*").is_allowed());
        assert!(!ask(&p, "s3:ReplicateObject", "arn:aws:s3:::secret/*").is_allowed());
        assert!(!ask(&p, "s3:ReplicateObject", "arn:aws:s3:::secret/k").is_allowed());
        // NotResource on a sub-prefix leaves the rest of the bucket allowed, not all of it.
        let p = one(
            "Allow",
            r#""Action":"s3:*","NotResource":"arn:aws:s3:::b/private/*""#,
        );
        assert!(!ask(&p, "s3:GetObject", "arn:aws:s3:::b/*").is_allowed());
        assert!(ask(&p, "s3:GetObject", "arn:aws:s3:::b/public/*").is_allowed());
    }

    #[test]
    fn an_explicit_deny_wins() {
        let allow = one("Allow", r#""Action":"s3:*","Resource":"*""#);
        let deny = policy(
            r#"{"Statement":[{"Sid":"NoReplicas","Effect":"Deny","Action":"s3:Replicate*","Resource":"arn:aws:s3:::acme-data-dr/*"}]}"#,
        );
        let d = evaluate(
            &[&allow, &deny],
            &Request::new("s3:ReplicateObject", "arn:aws:s3:::acme-data-dr/*"),
        );
        assert_eq!(
            d,
            Decision::DeniedExplicitly {
                by: r#"test.json Statement[0] (Sid "NoReplicas")"#.into()
            }
        );
        assert_eq!(
            d.to_string(),
            r#"denied explicitly by test.json Statement[0] (Sid "NoReplicas")"#
        );
        // A Deny elsewhere changes nothing.
        assert!(
            evaluate(
                &[&allow, &deny],
                &Request::new("s3:ReplicateObject", "arn:aws:s3:::other/*")
            )
            .is_allowed()
        );
    }

    #[test]
    fn a_conditional_or_partial_deny_is_a_possible_deny() {
        let allow = one("Allow", r#""Action":"s3:*","Resource":"*""#);
        let deny = policy(
            r#"{"Statement":[{"Sid":"VpcOnly","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}]}"#,
        );
        let r = Request::new("s3:ReplicateObject", "arn:aws:s3:::d/*");
        assert_eq!(
            evaluate(&[&allow, &deny], &r),
            Decision::AllowedWithConditions {
                by: "test.json Statement".into(),
                conditions: vec![
                    r#"possible deny by test.json Statement[0] (Sid "VpcOnly") if StringNotEquals aws:SourceVpce"#
                        .into()
                ],
            }
        );
        // Nothing allows it: still not allowed, not "denied".
        assert_eq!(evaluate(&[&deny], &r), Decision::NotAllowed);
        // Known to hold: a certain deny.
        let r2 = r
            .clone()
            .with_context("aws:SourceVpce", vec!["vpce-2".into()]);
        assert_eq!(evaluate(&[&allow, &deny], &r2).label(), "denied-explicitly");
        let r3 = r
            .clone()
            .with_context("aws:SourceVpce", vec!["vpce-1".into()]);
        assert!(evaluate(&[&allow, &deny], &r3).is_allowed());
        // A Deny on part of the objects.
        let part = one(
            "Deny",
            r#""Action":"s3:*","Resource":"arn:aws:s3:::d/secret/*""#,
        );
        assert_eq!(
            evaluate(&[&allow, &part], &r),
            Decision::AllowedWithConditions {
                by: "test.json Statement".into(),
                conditions: vec![
                    "possible deny by test.json Statement if Resource arn:aws:s3:::d/secret/* covers only part of arn:aws:s3:::d/*"
                        .into()
                ],
            }
        );
    }

    #[test]
    fn an_unconditional_allow_is_preferred_to_a_conditional_one() {
        let p = policy(
            r#"{"Statement":[
                {"Sid":"c","Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true}}},
                {"Sid":"u","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
        );
        assert_eq!(
            ask(&p, "s3:GetObject", "x"),
            Decision::Allowed {
                by: r#"test.json Statement[1] (Sid "u")"#.into()
            }
        );
        assert_eq!(
            ask(&p, "s3:PutObject", "x"),
            Decision::AllowedWithConditions {
                by: r#"test.json Statement[0] (Sid "c")"#.into(),
                conditions: vec!["Bool aws:SecureTransport".into()],
            }
        );
    }

    #[test]
    fn the_trust_policy_example_lets_s3_assume_the_role() {
        let trust = policy(GET_ROLE);
        let assume = |who: &str| ask_as(&trust, who, "sts:AssumeRole", ROLE);
        assert!(assume("s3.amazonaws.com").is_allowed());
        assert!(assume("batchoperations.s3.amazonaws.com").is_allowed());
        assert_eq!(assume("lambda.amazonaws.com"), Decision::NotAllowed);
        // A trust statement has a Principal: an identity question never matches it.
        assert_eq!(ask(&trust, "sts:AssumeRole", ROLE), Decision::NotAllowed);
    }

    #[test]
    fn bucket_policy_principals_compare_role_arns_in_full() {
        let p = policy(DESTINATION_BUCKET_POLICY);
        let objects = "arn:aws:s3:::acme-data-dr/*";
        assert_eq!(
            ask_as(&p, ROLE, "s3:ReplicateObject", objects),
            Decision::Allowed {
                by: r#"test.json Statement[0] (Sid "Permissions on objects")"#.into()
            }
        );
        // The CLI-made role of the same name is another principal.
        let cli_role = "arn:aws:iam::111122223333:role/s3crr_role_for_acme-data";
        assert_eq!(
            ask_as(&p, cli_role, "s3:ReplicateObject", objects),
            Decision::NotAllowed
        );
        // A session of the role is the role.
        let session = policy(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/s3crr_role_for_acme-data/s3-replication"},"Action":"s3:ReplicateObject","Resource":"arn:aws:s3:::acme-data-dr/*"}}"#,
        );
        assert!(ask_as(&session, ROLE, "s3:ReplicateObject", objects).is_allowed());
        // `s3:List*` reaches ListBucket on the bucket, not on its objects.
        assert!(ask_as(&p, ROLE, "s3:ListBucket", "arn:aws:s3:::acme-data-dr").is_allowed());
        assert!(!ask_as(&p, ROLE, "s3:ListBucket", objects).is_allowed());
    }

    #[test]
    fn an_account_principal_delegates_to_the_accounts_iam() {
        for principal in [
            r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
            r#"{"AWS":"111122223333"}"#,
            r#"{"AWS":["arn:aws:iam::999999999999:root","111122223333"]}"#,
        ] {
            let p = one(
                "Allow",
                &format!(
                    r#""Principal":{principal},"Action":"s3:Replicate*","Resource":"arn:aws:s3:::d/*""#
                ),
            );
            let r = Request::new("s3:ReplicateObject", "arn:aws:s3:::d/*").with_principal(ROLE);
            let (decision, delegated) = evaluate_detailed(&[&p], &r);
            assert!(delegated, "{principal}");
            assert_eq!(
                decision,
                Decision::Allowed {
                    by: "test.json Statement, whose Principal is account 111122223333: it delegates to the account's IAM policies, which must allow it too".into()
                },
                "{principal}"
            );
            // Another account's role is not delegated to.
            let other = "arn:aws:iam::444455556666:role/r";
            assert_eq!(
                ask_as(&p, other, "s3:ReplicateObject", "arn:aws:s3:::d/*"),
                Decision::NotAllowed
            );
        }
        // Naming the role beats delegating to its account.
        let p = policy(&format!(
            r#"{{"Statement":[
                {{"Effect":"Allow","Principal":{{"AWS":"111122223333"}},"Action":"s3:*","Resource":"*"}},
                {{"Sid":"role","Effect":"Allow","Principal":{{"AWS":"{ROLE}"}},"Action":"s3:*","Resource":"*"}}]}}"#
        ));
        let r = Request::new("s3:ReplicateObject", "arn:aws:s3:::d/*").with_principal(ROLE);
        assert_eq!(
            evaluate_detailed(&[&p], &r),
            (
                Decision::Allowed {
                    by: r#"test.json Statement[1] (Sid "role")"#.into()
                },
                false
            )
        );
    }

    #[test]
    fn star_and_not_principal() {
        let r = Request::new("s3:ReplicateObject", "arn:aws:s3:::d/*").with_principal(ROLE);
        for principal in [r#""*""#, r#"{"AWS":"*"}"#] {
            let p = one(
                "Allow",
                &format!(r#""Principal":{principal},"Action":"s3:*","Resource":"*""#),
            );
            assert!(evaluate(&[&p], &r).is_allowed(), "{principal}");
        }
        let allow = one(
            "Allow",
            &format!(r#""Principal":{{"AWS":"{ROLE}"}},"Action":"s3:*","Resource":"*""#),
        );
        let deny_others = one(
            "Deny",
            &format!(r#""NotPrincipal":{{"AWS":"{ROLE}"}},"Action":"s3:*","Resource":"*""#),
        );
        assert!(evaluate(&[&allow, &deny_others], &r).is_allowed());
        // NotPrincipal naming only the account does not exempt the account's roles.
        let deny_account = one(
            "Deny",
            r#""NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"*""#,
        );
        assert_eq!(
            evaluate(&[&allow, &deny_account], &r).label(),
            "denied-explicitly"
        );
    }

    #[test]
    fn a_bucket_policy_comes_as_a_json_string() {
        let p = parse_policy(GET_BUCKET_POLICY, "dst/acme-data-dr.policy.json").unwrap();
        assert_eq!(p.origin(), "dst/acme-data-dr.policy.json");
        assert_eq!(
            ask_as(
                &p,
                ROLE,
                "s3:ReplicateDelete",
                "arn:aws:s3:::acme-data-dr/*"
            ),
            Decision::Allowed {
                by: r#"dst/acme-data-dr.policy.json Policy.Statement[0] (Sid "Permissions on objects")"#
                    .into()
            }
        );
        // The bare string (a JSON string literal), too.
        let wrapper: Value = serde_json::from_str(GET_BUCKET_POLICY).unwrap();
        let literal = wrapper["Policy"].to_string();
        assert!(literal.starts_with("\"{\\\"Version"));
        assert_eq!(without_paths(&policy(&literal)), without_paths(&p));
        // And the key policy.
        let k = policy(GET_KEY_POLICY);
        let key = "arn:aws:kms:us-west-2:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(ask_as(&k, ROLE, "kms:GenerateDataKey", key).is_allowed());
        assert!(ask_as(&k, ROLE, "kms:Encrypt", key).is_allowed());
        assert_eq!(ask_as(&k, ROLE, "kms:Decrypt", key), Decision::NotAllowed);
    }

    #[test]
    fn iam_documents_from_the_sdk_are_url_encoded() {
        // What the Rust SDK's GetRolePolicy returns: RFC 3986, spaces and newlines encoded, a
        // `+` in a role name kept.
        let text = r#"{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "s3:ReplicateObject", "Resource": "arn:aws:s3:::acme+data-dr/*"}]
}"#;
        let encoded: String = text
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'+' => {
                    (b as char).to_string()
                }
                b => format!("%{b:02X}"),
            })
            .collect();
        assert!(encoded.starts_with("%7B%0A%20%20%22Version%22"));
        let p = policy(&encoded);
        assert!(ask(&p, "s3:ReplicateObject", "arn:aws:s3:::acme+data-dr/*").is_allowed());
        assert_eq!(p, policy(text));
        // Inside a JSON string (a recorded SDK response), and as get-role-policy output.
        let in_string = serde_json::to_string(&encoded).unwrap();
        assert_eq!(policy(&in_string), p);
        let wrapped =
            format!(r#"{{"RoleName":"r","PolicyName":"p","PolicyDocument":{in_string}}}"#);
        let wrapped = policy(&wrapped);
        assert_eq!(wrapped.statements[0].path, "PolicyDocument.Statement[0]");
        assert_eq!(without_paths(&wrapped), without_paths(&p));
        // get-policy-version output.
        let version = format!(r#"{{"PolicyVersion":{{"Document":{text},"VersionId":"v1"}}}}"#);
        let version = policy(&version);
        assert_eq!(
            version.statements[0].path,
            "PolicyVersion.Document.Statement[0]"
        );
        assert_eq!(without_paths(&version), without_paths(&p));
    }

    #[test]
    fn statement_and_values_as_object_string_or_list() {
        let a =
            policy(r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"r"}}"#);
        let b = policy(
            r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["r"]}]}"#,
        );
        assert!(ask(&a, "s3:GetObject", "r").is_allowed());
        assert!(ask(&b, "s3:GetObject", "r").is_allowed());
        assert_eq!(a.statement_count(), 1);
        let empty = policy(r#"{"Version":"2012-10-17","Statement":[]}"#);
        assert_eq!(ask(&empty, "s3:GetObject", "r"), Decision::NotAllowed);
    }

    #[test]
    fn malformed_documents_name_the_file_and_the_json_path() {
        let cases = [
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"allow","Action":"s3:*"}]}"#,
                r#"iam/inline/repl.json: invalid policy document at Statement[1].Effect: expected "Allow" or "Deny", found "allow""#,
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObject",7],"Resource":"*"}]}"#,
                "iam/inline/repl.json: invalid policy document at Statement[0].Action[1]: expected a string, found a number",
            ),
            (
                r#"{"Statement":{"Effect":"Allow","Resource":"*"}}"#,
                "iam/inline/repl.json: invalid policy document at Statement.Action: missing (or NotAction)",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}"#,
                "iam/inline/repl.json: invalid policy document at Statement[0].Action: empty list",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*"}]}"#,
                "iam/inline/repl.json: invalid policy document at Statement[0].NotAction: a statement has Action or NotAction, not both",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Actions":"s3:*"}]}"#,
                "iam/inline/repl.json: invalid policy document at Statement[0].Actions: unknown statement element",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Principal":{"User":"x"},"Action":"s3:*"}]}"#,
                "iam/inline/repl.json: invalid policy document at Statement[0].Principal.User: unknown principal type (expected AWS, Service, Federated or CanonicalUser)",
            ),
            (
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Condition":{"StringLike":{"k":{"x":1}}}}]}"#,
                "iam/inline/repl.json: invalid policy document at Statement[0].Condition.StringLike.k: expected a string, number or boolean, found an object",
            ),
            (
                r#"{"Version":"2012-10-17"}"#,
                "iam/inline/repl.json: invalid policy document at Statement: missing",
            ),
            (
                r#"{"Statement":"s3:*"}"#,
                "iam/inline/repl.json: invalid policy document at Statement: expected an object or a list, found a string",
            ),
            (
                r#"["Allow"]"#,
                "iam/inline/repl.json: invalid policy document at (top level): expected a policy document (an object), found a list",
            ),
            (
                "{\"Statement\": [\n  {\"Effect\": \"Allow\",}\n]}",
                "iam/inline/repl.json: invalid policy document at (top level): not JSON: trailing comma at line 2 column 22",
            ),
            (
                r#"{"Policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":true}]}"}"#,
                "iam/inline/repl.json: invalid policy document at Policy.Statement[0].Action: expected a string or a list of strings, found a boolean",
            ),
            (
                r#"{"Policy":"{\"Statement\":["}"#,
                "iam/inline/repl.json: invalid policy document at Policy: not JSON: EOF while parsing a list at line 1 column 14",
            ),
            (
                r#"{"Role":{"RoleName":"r"}}"#,
                "iam/inline/repl.json: invalid policy document at Role.AssumeRolePolicyDocument: missing",
            ),
            (
                "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%7D%5D%7D",
                "iam/inline/repl.json: invalid policy document at Statement[0].Action: missing (or NotAction)",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(error(text), expected, "{text}");
        }
        // Exit 2: a data error, like every malformed input.
        assert!(matches!(
            parse_policy("{", "x.json").unwrap_err(),
            Error::BadData { .. }
        ));
    }

    #[test]
    fn decisions_serialize_with_the_spec_names() {
        let d = Decision::AllowedWithConditions {
            by: "a.json Statement[0]".into(),
            conditions: vec!["StringEquals aws:SourceAccount".into()],
        };
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"decision":"allowed-with-conditions","by":"a.json Statement[0]","conditions":["StringEquals aws:SourceAccount"]}"#
        );
        assert_eq!(
            serde_json::to_string(&Decision::NotAllowed).unwrap(),
            r#"{"decision":"not-allowed"}"#
        );
        assert_eq!(
            d.to_string(),
            "allowed with conditions (not evaluated) by a.json Statement[0]: StringEquals aws:SourceAccount"
        );
    }
}
