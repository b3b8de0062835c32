//! Numbers for people: `1,234,567` and `1.5 GiB`.

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `1 file`, `2 files`, `1,234 objects`: a count with its noun, singular for exactly one.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{} {noun}s", thousands(n))
    }
}

/// `12 hours`, `1 day`, `7 days`, `2.5 days`: the time between two deliveries. Deliveries
/// less than two days apart that are not whole days apart are counted in hours, so two
/// runs 12 h apart never read "0 days".
pub fn interval(ms: i64) -> String {
    let hours = (ms as f64 / 3_600_000.0).round() as i64;
    if hours < 48 && hours % 24 != 0 {
        return if hours == 1 {
            "1 hour".into()
        } else {
            format!("{hours} hours")
        };
    }
    let days = ms as f64 / 86_400_000.0;
    let tenths = (days * 10.0).round() / 10.0;
    if tenths == 1.0 {
        "1 day".into()
    } else if tenths.fract() == 0.0 {
        format!("{tenths:.0} days")
    } else {
        format!("{tenths:.1} days")
    }
}

/// `1.5 GiB`, `320.0 MiB`, `12 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
    }

    #[test]
    fn counts_and_intervals() {
        assert_eq!(count(1, "file"), "1 file");
        assert_eq!(count(0, "file"), "0 files");
        assert_eq!(count(1234, "object"), "1,234 objects");
        const H: i64 = 3_600_000;
        assert_eq!(interval(12 * H), "12 hours");
        assert_eq!(interval(H), "1 hour");
        assert_eq!(interval(24 * H), "1 day");
        assert_eq!(interval(36 * H), "36 hours");
        assert_eq!(interval(48 * H), "2 days");
        assert_eq!(interval(7 * 24 * H), "7 days");
        assert_eq!(interval(60 * H), "2.5 days");
    }
}
