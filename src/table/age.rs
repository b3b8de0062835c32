//! Age buckets: half-open `[lo, hi)` ranges of object age (delivery creation time minus
//! `last_modified_date`), with labels like `<1d`, `1-7d` (from 1 day up to, not including, 7 days), `≥365d`, and the duration syntax
//! (`90s`, `30m`, `24h`, `7d`, `2w`) shared by every option that takes one.

use crate::error::{Error, Result};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// Parses a duration like `24h`, `7d`, `90m`, `2w`, `45s` into milliseconds.
pub fn parse_duration(s: &str) -> Result<i64> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        Error::Usage(format!(
            "invalid duration {s:?}: use a whole number with s, m, h, d or w, like 24h or 7d"
        ))
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        "w" => WEEK,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).filter(|v| *v > 0).ok_or_else(bad)
}

/// Shortest text for a duration in days, hours, minutes or seconds: `1h`, `7d`, `90m`
/// (weeks print as days, like the default labels).
pub fn format_duration(ms: i64) -> String {
    for (unit, size) in [("d", DAY), ("h", HOUR), ("m", MINUTE)] {
        if ms >= size && ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{}s", ms / SECOND)
}

/// Sorted, distinct boundaries in milliseconds, with their labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeBuckets {
    bounds: Vec<i64>,
    labels: Vec<String>,
}

impl Default for AgeBuckets {
    fn default() -> Self {
        AgeBuckets::from_bounds(vec![DAY, 7 * DAY, 30 * DAY, 90 * DAY, 365 * DAY])
    }
}

impl AgeBuckets {
    /// Parses `1h,1d,7d,30d`.
    pub fn parse(spec: &str) -> Result<AgeBuckets> {
        let mut bounds = spec
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(parse_duration)
            .collect::<Result<Vec<_>>>()?;
        if bounds.is_empty() {
            return Err(Error::Usage(format!(
                "invalid --age-buckets {spec:?}: give boundaries like 1h,1d,7d,30d"
            )));
        }
        bounds.sort_unstable();
        bounds.dedup();
        Ok(AgeBuckets::from_bounds(bounds))
    }

    fn from_bounds(bounds: Vec<i64>) -> AgeBuckets {
        let texts: Vec<String> = bounds.iter().map(|&b| format_duration(b)).collect();
        let mut labels = Vec::with_capacity(bounds.len() + 1);
        labels.push(format!("<{}", texts[0]));
        for w in texts.windows(2) {
            labels.push(range_label(&w[0], &w[1]));
        }
        // The last bucket includes its lower bound: an object exactly 365 days old is `≥365d`.
        labels.push(format!("≥{}", texts[texts.len() - 1]));
        AgeBuckets { bounds, labels }
    }

    /// The label of an age in milliseconds (negative ages — objects newer than the
    /// delivery — fall in the first bucket).
    pub fn label(&self, age_ms: i64) -> &str {
        let i = self.bounds.partition_point(|&b| b <= age_ms);
        &self.labels[i]
    }

    /// The boundaries as `age_bucket`'s second argument takes them (`1d,7d,30d`).
    pub fn spec(&self) -> String {
        self.bounds
            .iter()
            .map(|&b| format_duration(b))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Labels from youngest to oldest (the order reports use).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }
}

/// `1-7d` when both ends share a unit, `1h-1d` otherwise.
fn range_label(lo: &str, hi: &str) -> String {
    let unit = |s: &str| {
        s.trim_start_matches(|c: char| c.is_ascii_digit())
            .to_string()
    };
    if unit(lo) == unit(hi) {
        format!(
            "{}-{hi}",
            lo.trim_end_matches(|c: char| !c.is_ascii_digit())
        )
    } else {
        format!("{lo}-{hi}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_buckets_are_half_open() {
        let b = AgeBuckets::default();
        assert_eq!(
            b.labels(),
            ["<1d", "1-7d", "7-30d", "30-90d", "90-365d", "≥365d"]
        );
        assert_eq!(b.label(DAY - 1), "<1d");
        assert_eq!(b.label(DAY), "1-7d");
        assert_eq!(b.label(-5), "<1d");
        assert_eq!(b.label(365 * DAY - 1), "90-365d");
        assert_eq!(b.label(365 * DAY), "≥365d");
        assert_eq!(b.label(7 * DAY - 1), "1-7d");
        assert_eq!(b.label(7 * DAY), "7-30d");
    }

    #[test]
    fn custom_buckets_and_durations() {
        let b = AgeBuckets::parse("7d,1h,1d,30d").unwrap();
        assert_eq!(b.labels(), ["<1h", "1h-1d", "1-7d", "7-30d", "≥30d"]);
        assert_eq!(parse_duration("24h").unwrap(), DAY);
        assert_eq!(parse_duration("2w").unwrap(), 2 * WEEK);
        for bad in ["", "h", "1.5h", "10y", "-1d", "0h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(AgeBuckets::parse(",").is_err());
    }
}
