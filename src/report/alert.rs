//! Alert conditions (`--fail-on "failed_objects>0"`) over the report's headline numbers, and
//! the same numbers in Prometheus text format (`--metrics`).

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The numbers conditions may name, with their meaning (for `--help` and errors).
pub const METRICS: &[(&str, &str)] = &[
    (
        "objects",
        "objects in scope (current versions, no delete markers)",
    ),
    ("bytes", "their bytes"),
    ("failed_objects", "FAILED objects"),
    ("failed_bytes", "FAILED bytes"),
    ("pending_objects", "PENDING objects"),
    ("pending_bytes", "PENDING bytes"),
    (
        "stuck_pending",
        "PENDING objects older than --pending-older-than",
    ),
    ("stuck_pending_bytes", "their bytes"),
    (
        "never_replicated_objects",
        "objects with an empty status (NONE)",
    ),
    ("never_replicated_bytes", "their bytes"),
    ("unreplicated_objects", "PENDING + FAILED + NONE objects"),
    ("unreplicated_bytes", "PENDING + FAILED + NONE bytes"),
    (
        "unreplicated_objects_pct",
        "unreplicated objects, % of objects",
    ),
    ("unreplicated_bytes_pct", "unreplicated bytes, % of bytes"),
    (
        "replicated_pct",
        "COMPLETED bytes, % of bytes that are not replicas",
    ),
    (
        "newly_failed",
        "objects FAILED now but not in the previous delivery",
    ),
    (
        "left_failed",
        "objects FAILED in the previous delivery but not now",
    ),
    (
        "became_stuck",
        "PENDING objects that aged past the stuck threshold since the previous delivery",
    ),
    (
        "missing_at_destination",
        "COMPLETED versions not at a --dest inventory (report --dest)",
    ),
    (
        "mismatch_at_destination",
        "versions at a --dest inventory with another size or ETag (report --dest)",
    ),
];

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

/// One `--fail-on` condition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Condition {
    pub text: String,
    pub metric: String,
    pub op: Op,
    pub value: f64,
}

impl Condition {
    /// Parses `metric OP number`, e.g. `stuck_pending>1000`, `unreplicated_bytes_pct >= 0.1`.
    pub fn parse(s: &str) -> Result<Condition> {
        let text = s.trim().to_string();
        let ops = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=", Op::Eq),
        ];
        let Some((pos, sym, op)) = ops
            .iter()
            .filter_map(|(sym, op)| text.find(sym).map(|p| (p, *sym, *op)))
            .min_by_key(|(p, sym, _)| (*p, std::cmp::Reverse(sym.len())))
        else {
            return Err(Error::Usage(format!(
                "invalid --fail-on {text:?}: write METRIC OP NUMBER, like failed_objects>0"
            )));
        };
        let metric = text[..pos].trim().to_string();
        let number = text[pos + sym.len()..].trim();
        if !METRICS.iter().any(|(m, _)| *m == metric) {
            return Err(Error::Usage(format!(
                "unknown metric {metric:?} in --fail-on {text:?}; use one of {}",
                METRICS
                    .iter()
                    .map(|(m, _)| *m)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let value: f64 = number.parse().map_err(|_| {
            Error::Usage(format!("invalid number {number:?} in --fail-on {text:?}"))
        })?;
        Ok(Condition {
            text,
            metric,
            op,
            value,
        })
    }

    /// Whether the condition holds for `actual`.
    pub fn holds(&self, actual: f64) -> bool {
        match self.op {
            Op::Gt => actual > self.value,
            Op::Ge => actual >= self.value,
            Op::Lt => actual < self.value,
            Op::Le => actual <= self.value,
            Op::Eq => actual == self.value,
            Op::Ne => actual != self.value,
        }
    }
}

/// The result of one condition.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    pub condition: String,
    /// The metric the condition reads.
    pub metric: String,
    /// `None` (null) when the metric is unknown for this delivery (`replicated_pct` when no
    /// bytes need replicating; `newly_failed`, `left_failed`, `became_stuck` without a
    /// comparison); such a condition never triggers, and the report's notes say so.
    pub value: Option<f64>,
    pub triggered: bool,
}

impl Alert {
    /// The value for messages: the number, or `n/a`.
    pub fn shown_value(&self) -> String {
        self.value.map_or_else(|| "n/a".into(), |v| v.to_string())
    }
}

/// Evaluates conditions against the metrics; a metric absent from `metrics` is not
/// applicable and triggers nothing.
pub fn evaluate(conditions: &[Condition], metrics: &BTreeMap<String, f64>) -> Vec<Alert> {
    conditions
        .iter()
        .map(|c| {
            let value = metrics.get(&c.metric).copied();
            Alert {
                condition: c.text.clone(),
                metric: c.metric.clone(),
                value,
                triggered: value.is_some_and(|v| c.holds(v)),
            }
        })
        .collect()
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics in Prometheus text exposition format: one HELP and TYPE per family, each
/// family's samples together. `labels` identify the series and stay the same from one
/// delivery to the next (the source bucket); the delivery's creation time is a value,
/// `s3inv_delivery_timestamp_seconds`. `objects` and `bytes` are the sums of the
/// per-status families `s3inv_objects` and `s3inv_bytes`, so they are not repeated. A
/// metric absent from `metrics` (not applicable) is left out.
pub fn prometheus(
    metrics: &BTreeMap<String, f64>,
    labels: &[(&str, &str)],
    statuses: &[(String, u64, u64)],
) -> String {
    let base: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
        .collect();
    let with = |extra: Option<(&str, &str)>| -> String {
        let mut all = base.clone();
        if let Some((k, v)) = extra {
            all.push(format!("{k}=\"{}\"", label(v)));
        }
        if all.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", all.join(","))
        }
    };
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, String)>| {
        out.push_str(&format!(
            "# HELP s3inv_{name} {help}\n# TYPE s3inv_{name} gauge\n"
        ));
        for (labels, value) in samples {
            out.push_str(&format!("s3inv_{name}{labels} {value}\n"));
        }
    };
    family(
        "objects",
        "Objects per replication status in the delivery (current versions, no delete markers).",
        statuses
            .iter()
            .map(|(s, o, _)| (with(Some(("status", s))), o.to_string()))
            .collect(),
    );
    family(
        "bytes",
        "Bytes per replication status in the delivery (current versions, no delete markers).",
        statuses
            .iter()
            .map(|(s, _, b)| (with(Some(("status", s))), b.to_string()))
            .collect(),
    );
    for (name, help) in METRICS {
        if matches!(*name, "objects" | "bytes") {
            continue;
        }
        if let Some(v) = metrics.get(*name) {
            family(name, &format!("{help}."), vec![(with(None), v.to_string())]);
        }
    }
    if let Some(t) = metrics.get("delivery_timestamp_seconds") {
        family(
            "delivery_timestamp_seconds",
            "Creation time of the reported inventory delivery (Unix seconds).",
            vec![(with(None), t.to_string())],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_and_hold() {
        let c = Condition::parse("failed_objects>0").unwrap();
        assert_eq!(
            (c.metric.as_str(), c.op, c.value),
            ("failed_objects", Op::Gt, 0.0)
        );
        assert!(c.holds(1.0) && !c.holds(0.0));
        let c = Condition::parse(" unreplicated_bytes_pct >= 0.1 ").unwrap();
        assert_eq!(c.op, Op::Ge);
        assert!(c.holds(0.1));
        assert!(Condition::parse("stuck_pending=5").unwrap().holds(5.0));
        assert!(Condition::parse("stuck_pending!=5").unwrap().holds(4.0));
        assert!(
            Condition::parse("colour>1")
                .unwrap_err()
                .to_string()
                .contains("unknown metric \"colour\"")
        );
        assert!(Condition::parse("failed_objects>lots").is_err());
        assert!(Condition::parse("failed_objects").is_err());
    }
}
