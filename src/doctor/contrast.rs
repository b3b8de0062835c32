//! Contrast analysis (doctor.md §f.5): when nothing collected explains a rule's FAILED
//! objects, the inventory often does — FAILED only for SSE-KMS objects, only for one owner,
//! only for objects written in one week. Within each (rule, destination) scope the FAILED
//! and COMPLETED objects are counted per value of a few attributes; an attribute explains
//! the failures when every value is either almost all FAILED (≥ 95 %) or almost never
//! (≤ 5 %), with objects on both sides. The cause it points at is *likely*, never certain.

use std::collections::HashMap;

use super::causes::{self, Cause};

/// The attributes, in the order they are tried (the first that separates wins).
pub const ATTRIBUTES: [&str; 7] = [
    "encryption_status",
    "bucket_key_status",
    "object_owner",
    "object_lock",
    "is_multipart_uploaded",
    "storage_class",
    "last_modified_day",
];

/// A row's values of [`ATTRIBUTES`], in order; the day is days since 1970.
#[derive(Debug, Clone, Copy)]
pub struct Values<'a> {
    pub text: [&'a str; 6],
    pub day: Option<i64>,
}

const FAILING: f64 = 0.95;
const CLEAN: f64 = 0.05;
/// Objects needed on each side before a split says anything: with a handful of objects
/// every attribute (the day above all) "separates" by chance.
const MIN_SIDE: u64 = 5;

/// COMPLETED and FAILED objects of one attribute value.
type Tally = (u64, u64);

/// COMPLETED and FAILED objects per attribute value, in one scope. An attribute has a
/// handful of values (encryption types, storage classes, owners), so each is a short list
/// searched in order: cheaper per row than hashing the value.
#[derive(Debug, Default)]
pub struct Counter {
    text: [Vec<(Box<str>, Tally)>; 6],
    days: HashMap<i64, (u64, u64)>,
}

impl Counter {
    /// Counts one COMPLETED (`failed` false) or FAILED object.
    pub fn add(&mut self, values: &Values, failed: bool) {
        let bump = |c: &mut (u64, u64)| {
            if failed { c.1 += 1 } else { c.0 += 1 }
        };
        for (list, value) in self.text.iter_mut().zip(values.text) {
            match list.iter_mut().find(|(v, _)| **v == *value) {
                Some((_, c)) => bump(c),
                None => {
                    let mut c = (0, 0);
                    bump(&mut c);
                    list.push((value.into(), c));
                }
            }
        }
        if let Some(day) = values.day {
            bump(self.days.entry(day).or_default());
        }
    }

    /// The first attribute that separates FAILED from COMPLETED, if any.
    pub fn separate(&self) -> Option<Contrast> {
        for (i, list) in self.text.iter().enumerate() {
            let counts: Vec<(String, (u64, u64))> =
                list.iter().map(|(k, v)| (k.to_string(), *v)).collect();
            if let Some(c) = split(ATTRIBUTES[i], counts) {
                return Some(c);
            }
        }
        let days: Vec<(String, (u64, u64))> =
            self.days.iter().map(|(d, v)| (d.to_string(), *v)).collect();
        split(ATTRIBUTES[6], days)
    }
}

/// What separates a scope's FAILED objects from its COMPLETED ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contrast {
    pub attribute: &'static str,
    /// The values (almost) all FAILED; days as days since 1970.
    pub failing: Vec<String>,
    /// FAILED and all objects with a failing value, then with the other values.
    pub failed_in: u64,
    pub total_in: u64,
    pub failed_out: u64,
    pub total_out: u64,
}

fn split(attribute: &'static str, mut counts: Vec<(String, (u64, u64))>) -> Option<Contrast> {
    counts.sort();
    let share = |(completed, failed): (u64, u64)| failed as f64 / (completed + failed) as f64;
    let mut out = Contrast {
        attribute,
        failing: Vec::new(),
        failed_in: 0,
        total_in: 0,
        failed_out: 0,
        total_out: 0,
    };
    for (value, c) in counts {
        let s = share(c);
        if s >= FAILING {
            out.failing.push(value);
            out.failed_in += c.1;
            out.total_in += c.0 + c.1;
        } else if s <= CLEAN {
            out.failed_out += c.1;
            out.total_out += c.0 + c.1;
        } else {
            return None;
        }
    }
    let completed_out = out.total_out - out.failed_out;
    (out.failed_in >= MIN_SIDE && completed_out >= MIN_SIDE).then_some(out)
}

impl Contrast {
    /// Whether a FAILED row with these values is one the contrast explains.
    pub fn covers(&self, values: &Values) -> bool {
        match ATTRIBUTES.iter().position(|a| *a == self.attribute) {
            Some(6) => values
                .day
                .is_some_and(|d| self.failing.iter().any(|f| f == &d.to_string())),
            Some(i) => self.failing.iter().any(|f| f == values.text[i]),
            None => false,
        }
    }

    /// The cause the separating attribute points at.
    pub fn cause(&self) -> &'static Cause {
        let only = |v: &[&str]| self.failing.iter().all(|f| v.contains(&f.as_str()));
        match self.attribute {
            "encryption_status" if only(&["SSE-KMS", "DSSE-KMS"]) => &causes::KMS_PERMISSIONS,
            "encryption_status" if only(&["SSE-C"]) => &causes::SSE_C_BLOCKED_AT_DST,
            "bucket_key_status" => &causes::BUCKET_KEY_CONTEXT,
            "object_owner" => &causes::FOREIGN_OWNER,
            "object_lock" if only(&["locked"]) => &causes::OBJECT_LOCK_PERMISSIONS,
            "is_multipart_uploaded" if only(&["true"]) => &causes::MULTIPART_PERMISSIONS,
            "last_modified_day" => &causes::FAILURE_WINDOW,
            _ => &causes::FAILED_CONTRAST,
        }
    }

    /// The failing values as people read them (days as dates, a window when contiguous).
    pub fn shown_values(&self) -> String {
        if self.attribute != "last_modified_day" {
            return self.failing.join(", ");
        }
        let mut days: Vec<i64> = self.failing.iter().filter_map(|d| d.parse().ok()).collect();
        days.sort();
        let date = |d: i64| {
            chrono::DateTime::from_timestamp(d * 86_400, 0)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default()
        };
        match (days.first(), days.last()) {
            (Some(a), Some(b)) if a == b => date(*a),
            (Some(a), Some(b)) if (b - a + 1) as usize == days.len() => {
                format!("{} to {}", date(*a), date(*b))
            }
            _ => days.iter().map(|d| date(*d)).collect::<Vec<_>>().join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(encryption: &'a str, owner: &'a str, day: i64) -> Values<'a> {
        Values {
            text: [
                encryption,
                "DISABLED",
                owner,
                "not locked",
                "false",
                "STANDARD",
            ],
            day: Some(day),
        }
    }

    #[test]
    fn kms_objects_failing_alone_are_found() {
        let mut c = Counter::default();
        for day in 0..10 {
            c.add(&values("SSE-KMS", "o", day), true);
            c.add(&values("SSE-S3", "o", day), false);
            c.add(&values("NOT-SSE", "o", day), false);
        }
        // One KMS object replicated: 10 of 11 is still not ≥ 95 %, so nothing is claimed.
        let mut noisy = Counter::default();
        for day in 0..10 {
            noisy.add(&values("SSE-KMS", "o", day), true);
            noisy.add(&values("SSE-S3", "o", day), false);
        }
        noisy.add(&values("SSE-KMS", "o", 3), false);
        let contrast = c.separate().unwrap();
        assert_eq!(contrast.attribute, "encryption_status");
        assert_eq!(contrast.failing, ["SSE-KMS"]);
        assert_eq!(
            (
                contrast.failed_in,
                contrast.total_in,
                contrast.failed_out,
                contrast.total_out
            ),
            (10, 10, 0, 20)
        );
        assert_eq!(contrast.cause().id, "kms-permissions");
        assert!(contrast.covers(&values("SSE-KMS", "x", 99)));
        assert!(!contrast.covers(&values("SSE-S3", "x", 99)));
        assert_eq!(noisy.separate(), None);
    }

    #[test]
    fn a_window_of_days_and_nothing_when_all_failed() {
        let mut c = Counter::default();
        for day in 100..120 {
            let failed = (105..=109).contains(&day);
            c.add(&values("SSE-S3", "o", day), failed);
        }
        let contrast = c.separate().unwrap();
        assert_eq!(contrast.attribute, "last_modified_day");
        assert_eq!(contrast.cause().id, "failure-window");
        assert_eq!(contrast.shown_values(), "1970-04-16 to 1970-04-20");
        // Too few objects on a side: chance, not a finding.
        let mut few = Counter::default();
        for day in 0..4 {
            few.add(&values("SSE-KMS", "o", day), true);
        }
        for day in 0..20 {
            few.add(&values("SSE-S3", "o", day), false);
        }
        assert_eq!(few.separate(), None);
        // Everything FAILED: no contrast to draw.
        let mut all = Counter::default();
        all.add(&values("SSE-KMS", "o", 1), true);
        all.add(&values("SSE-S3", "o", 2), true);
        assert_eq!(all.separate(), None);
    }
}
