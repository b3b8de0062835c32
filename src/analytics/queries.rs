//! The canned questions in `queries/*.sql`, embedded in the binary.
//!
//! Each file starts with `--` comment lines: `question:` (what it answers), `scope:`
//! (`current` or `all_versions`, then free text), optional `param: NAME = DEFAULT (meaning)`
//! lines, `columns:` (the output), and free text. In the SQL, `${NAME}` is replaced by the
//! parameter's value (`--param NAME=VALUE`, else the default). Values must be plain numbers
//! or words, so a parameter can never inject SQL.
//!
//! What the commands mean by status and scope comes from [`crate::replication`], never
//! from the query text:
//!
//! | placeholder | replaced by |
//! |---|---|
//! | `${scope}` | the `scope:` header's predicate (current: current versions, not delete markers) |
//! | `${status}` | the row's status label: `COMPLETED` (also for the legacy `COMPLETE`), `PENDING`, `FAILED`, `REPLICA`, `NONE` (empty), or an unfamiliar value as written |
//! | `${unreplicated}` | status is PENDING, FAILED or NONE |
//! | `${redrive}` | status is one `manifest` selects by default (FAILED, PENDING) |
//! | `${refused}` | why Batch Replication refuses the row (`storage class GLACIER`, `access tier ARCHIVE`), else NULL — what `manifest` skips by default |

use crate::error::{Error, Result};
use crate::replication::{Scope, Status, default_refusal_sql};

const FILES: &[(&str, &str)] = &[
    (
        "status_totals",
        include_str!("../../queries/status_totals.sql"),
    ),
    (
        "unreplicated_by_prefix",
        include_str!("../../queries/unreplicated_by_prefix.sql"),
    ),
    (
        "pending_age_histogram",
        include_str!("../../queries/pending_age_histogram.sql"),
    ),
    (
        "stuck_pending",
        include_str!("../../queries/stuck_pending.sql"),
    ),
    (
        "failed_by_encryption",
        include_str!("../../queries/failed_by_encryption.sql"),
    ),
    (
        "never_replicated_by_age",
        include_str!("../../queries/never_replicated_by_age.sql"),
    ),
    (
        "replica_objects",
        include_str!("../../queries/replica_objects.sql"),
    ),
    (
        "largest_failed",
        include_str!("../../queries/largest_failed.sql"),
    ),
    (
        "status_by_storage_class",
        include_str!("../../queries/status_by_storage_class.sql"),
    ),
    (
        "cannot_replicate",
        include_str!("../../queries/cannot_replicate.sql"),
    ),
    (
        "redrive_preview",
        include_str!("../../queries/redrive_preview.sql"),
    ),
];

/// One parameter of a canned query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub default: String,
    pub meaning: String,
}

/// One canned query.
#[derive(Debug, Clone)]
pub struct CannedQuery {
    pub name: &'static str,
    pub question: String,
    pub columns: String,
    pub params: Vec<Param>,
    /// The rows it counts (`-- scope:`); `None` when the header is missing or unknown
    /// (then `${scope}` cannot be rendered).
    pub scope: Option<Scope>,
    pub text: &'static str,
}

fn parse(name: &'static str, text: &'static str) -> CannedQuery {
    let mut q = CannedQuery {
        name,
        question: String::new(),
        columns: String::new(),
        params: Vec::new(),
        scope: None,
        text,
    };
    for line in text.lines().take_while(|l| l.starts_with("--")) {
        let line = line.trim_start_matches('-').trim();
        if let Some(v) = line.strip_prefix("question:") {
            q.question = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("scope:") {
            q.scope = v.split_whitespace().next().and_then(Scope::parse);
        } else if let Some(v) = line.strip_prefix("columns:") {
            q.columns = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("param:") {
            let (name, rest) = v.split_once('=').unwrap_or((v, ""));
            let rest = rest.trim();
            let (default, meaning) = match rest.split_once(' ') {
                Some((d, m)) => (d, m.trim().trim_start_matches('(').trim_end_matches(')')),
                None => (rest, ""),
            };
            q.params.push(Param {
                name: name.trim().to_string(),
                default: default.to_string(),
                meaning: meaning.to_string(),
            });
        }
    }
    q
}

/// Every canned query, in file order.
pub fn all() -> Vec<CannedQuery> {
    FILES.iter().map(|(n, t)| parse(n, t)).collect()
}

/// The canned query called `name`.
pub fn find(name: &str) -> Result<CannedQuery> {
    let name = name.trim().trim_end_matches(".sql");
    all().into_iter().find(|q| q.name == name).ok_or_else(|| {
        Error::Usage(format!(
            "no canned query {name:?}; `s3inv queries` lists them: {}",
            FILES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        ))
    })
}

impl CannedQuery {
    /// The SQL with `${NAME}` replaced; `values` are `NAME=VALUE` pairs.
    pub fn render(&self, values: &[(String, String)]) -> Result<String> {
        for (name, _) in values {
            if !self.params.iter().any(|p| &p.name == name) {
                return Err(Error::Usage(format!(
                    "query {} has no parameter {name:?}{}",
                    self.name,
                    if self.params.is_empty() {
                        String::from(" (it takes none)")
                    } else {
                        format!(
                            "; it takes {}",
                            self.params
                                .iter()
                                .map(|p| p.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                )));
            }
        }
        let mut sql = self.text.to_string();
        for p in &self.params {
            let value = values
                .iter()
                .rev()
                .find(|(n, _)| *n == p.name)
                .map_or(p.default.as_str(), |(_, v)| v.as_str());
            // A parameter whose default is a whole number takes whole numbers only: a word
            // would reach the SQL as a column name and fail as "no field named x".
            if p.default.parse::<u64>().is_ok() {
                if value.parse::<u64>().is_err() {
                    return Err(Error::Usage(format!(
                        "invalid value {value:?} for parameter {} of query {}: use a whole number, like {} ({})",
                        p.name, self.name, p.default, p.meaning
                    )));
                }
            } else if value.is_empty()
                || !value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            {
                return Err(Error::Usage(format!(
                    "invalid value {value:?} for parameter {} of query {}: use a plain word \
                     (letters, digits, '.', '_'), like {} ({})",
                    p.name, self.name, p.default, p.meaning
                )));
            }
            sql = sql.replace(&format!("${{{}}}", p.name), value);
        }
        self.fill_builtins(sql)
    }
}

impl CannedQuery {
    /// The text as `s3inv queries NAME` prints it: scope and status filled in as they run,
    /// the parameters left as `${NAME}`.
    pub fn shown(&self) -> Result<String> {
        self.fill_builtins(self.text.to_string())
    }

    /// Replaces the placeholders [`crate::replication`] defines (see the module table).
    fn fill_builtins(&self, mut sql: String) -> Result<String> {
        if sql.contains("${scope}") {
            let scope = self.scope.ok_or_else(|| {
                Error::Usage(format!(
                    "query {} uses ${{scope}} without a `-- scope: current|all_versions` line",
                    self.name
                ))
            })?;
            sql = sql.replace("${scope}", &scope.predicate(None));
        }
        let column = "replication_status";
        let unreplicated = [Status::Pending, Status::Failed, Status::None];
        for (name, value) in [
            ("status", Status::label_sql(column)),
            ("unreplicated", Status::filter_sql(column, &unreplicated)),
            (
                "redrive",
                Status::filter_sql(column, &Status::REDRIVE_DEFAULT),
            ),
            ("refused", default_refusal_sql(None)),
        ] {
            sql = sql.replace(&format!("${{{name}}}"), &format!("({value})"));
        }
        Ok(sql)
    }
}

/// Parses `NAME=VALUE`.
pub fn parse_param(s: &str) -> Result<(String, String)> {
    s.split_once('=')
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| {
            Error::Usage(format!(
                "invalid --param {s:?}: write NAME=VALUE, like depth=3"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_documents_itself() {
        let qs = all();
        assert!(qs.len() >= 10);
        for q in &qs {
            assert!(!q.question.is_empty(), "{} lacks a question", q.name);
            assert!(!q.columns.is_empty(), "{} lacks columns", q.name);
            assert!(q.scope.is_some(), "{} lacks a scope", q.name);
            let sql = q.render(&[]).unwrap();
            assert!(!sql.contains("${"), "{} leaves a placeholder", q.name);
            // Scope and status come from `replication`, never spelled in a query.
            for spelled in [
                "is_latest AND",
                "WHERE is_latest",
                "is_delete_marker",
                "'COMPLETE'",
                "= ''",
            ] {
                assert!(
                    !q.text.contains(spelled),
                    "{} spells {spelled} itself",
                    q.name
                );
            }
        }
    }

    #[test]
    fn parameters_are_checked() {
        let q = find("unreplicated_by_prefix").unwrap();
        assert_eq!(
            q.params[0],
            Param {
                name: "depth".into(),
                default: "2".into(),
                meaning: "prefix depth: the key up to its N-th '/'".into()
            }
        );
        let sql = q.render(&[("depth".into(), "3".into())]).unwrap();
        assert!(sql.contains("key_prefix(key, 3)"));
        // Whatever is wrong with a number, the message is the same and names the query.
        for bad in ["1; DROP", "-1", "", "1.5"] {
            assert_eq!(
                q.render(&[("depth".into(), bad.into())])
                    .unwrap_err()
                    .to_string(),
                format!(
                    "invalid value {bad:?} for parameter depth of query unreplicated_by_prefix: use a whole number, like 2 (prefix depth: the key up to its N-th '/')"
                )
            );
        }
        assert!(q.render(&[("deep".into(), "1".into())]).is_err());
        // A word where a number belongs is named, not passed to SQL as a column.
        assert_eq!(
            q.render(&[("depth".into(), "x".into())])
                .unwrap_err()
                .to_string(),
            "invalid value \"x\" for parameter depth of query unreplicated_by_prefix: use a whole number, like 2 (prefix depth: the key up to its N-th '/')"
        );
        assert!(find("nope").is_err());
        assert!(find("status_totals.sql").is_ok());
    }
}
