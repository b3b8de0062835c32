//! Parsing of inventory CSV timestamps (`2024-05-06T22:37:48.000Z`) to epoch milliseconds,
//! and the one shape every output prints timestamps in.
//!
//! The exact AWS shape takes a branch-light fast path; anything else RFC 3339 goes
//! through chrono.

/// The one timestamp shape of every output (tables, CSV, JSON, NDJSON, report.json,
/// summary.json, messages): RFC 3339 UTC with milliseconds, as AWS writes inventory CSVs
/// (`2026-11-20T01:00:48.000Z`). Always three digits, so the text sorts as the time does
/// and a parser never meets two shapes.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// Epoch milliseconds in [`TIMESTAMP_FORMAT`]; `None` outside chrono's range.
pub fn format_millis(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format(TIMESTAMP_FORMAT).to_string())
}

/// Epoch milliseconds of an ISO-8601/RFC 3339 UTC timestamp, or `None` if it is not one.
pub fn parse_timestamp_millis(s: &[u8]) -> Option<i64> {
    if s.len() == 24
        && s[4] == b'-'
        && s[7] == b'-'
        && s[10] == b'T'
        && s[13] == b':'
        && s[16] == b':'
        && s[19] == b'.'
        && s[23] == b'Z'
    {
        let n = |a: usize, b: usize| -> Option<i64> {
            let mut v = 0i64;
            for &c in &s[a..b] {
                if !c.is_ascii_digit() {
                    return None;
                }
                v = v * 10 + (c - b'0') as i64;
            }
            Some(v)
        };
        let (y, mo, d) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
        let (h, mi, sec, ms) = (n(11, 13)?, n(14, 16)?, n(17, 19)?, n(20, 23)?);
        if (1..=12).contains(&mo)
            && (1..=days_in_month(y, mo)).contains(&d)
            && h < 24
            && mi < 60
            && sec < 60
        {
            let days = days_from_civil(y, mo, d);
            return Some(((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + ms);
        }
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_matches_chrono() {
        for s in [
            "2024-05-06T22:37:48.000Z",
            "1970-01-01T00:00:00.000Z",
            "2000-02-29T23:59:59.999Z",
            "1969-12-31T23:59:59.123Z",
            "2100-12-31T00:00:00.001Z",
        ] {
            let expected = chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis();
            assert_eq!(parse_timestamp_millis(s.as_bytes()), Some(expected), "{s}");
        }
        assert_eq!(
            parse_timestamp_millis(b"2024-05-06T22:37:48.000Z"),
            Some(1_715_035_068_000)
        );
    }

    #[test]
    fn other_rfc3339_and_garbage() {
        assert_eq!(
            parse_timestamp_millis(b"2024-05-06T22:37:48Z"),
            Some(1_715_035_068_000)
        );
        assert_eq!(parse_timestamp_millis(b"2024-02-30T00:00:00.000Z"), None);
        assert_eq!(parse_timestamp_millis(b"yesterday"), None);
    }
}
