//! Key codecs: the inventory CSV form-URL decoding and the Batch Operations manifest
//! percent-encoding (see design.md, "Key encodings").
//!
//! Inventory CSV keys are decoded exactly once, here, by the CSV reader. ORC and Parquet
//! keys are raw and never pass through this module.

/// Why a CSV key could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The decoded bytes are not UTF-8 (S3 keys always are).
    NotUtf8 { valid_up_to: usize },
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::NotUtf8 { valid_up_to } => write!(
                f,
                "key is not valid UTF-8 after URL-decoding (first bad byte at {valid_up_to})"
            ),
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes an inventory CSV key (`application/x-www-form-urlencoded`: `+` is a space, then
/// `%XX` bytes) into `out`, appending. A `%` not followed by two hex digits is kept as is,
/// like every lenient form decoder.
pub fn form_decode_into(encoded: &[u8], out: &mut Vec<u8>) {
    // Fast path: nothing to decode.
    if !encoded.iter().any(|&b| b == b'+' || b == b'%') {
        out.extend_from_slice(encoded);
        return;
    }
    let mut i = 0;
    while i < encoded.len() {
        let b = encoded[i];
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < encoded.len() => {
                match (hex_value(encoded[i + 1]), hex_value(encoded[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Encodes a key the way inventory CSV does (Java `URLEncoder` rules with `/` kept):
/// `A-Z a-z 0-9 . - * _ /` stay, space becomes `+`, every other byte `%XX`. Used to write
/// test and benchmark deliveries.
pub fn form_encode(key: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(key.len() + key.len() / 4);
    for &b in key.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'*' | b'_' | b'/') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

/// Decodes an inventory CSV key into a `String`.
pub fn form_decode(encoded: &str) -> Result<String, KeyError> {
    let mut out = Vec::with_capacity(encoded.len());
    form_decode_into(encoded.as_bytes(), &mut out);
    String::from_utf8(out).map_err(|e| KeyError::NotUtf8 {
        valid_up_to: e.utf8_error().valid_up_to(),
    })
}

/// Percent-decodes (`%XX` only; `+` stays `+`), as Batch Operations completion reports need.
pub fn percent_decode(encoded: &str) -> Result<String, KeyError> {
    let mut out = Vec::with_capacity(encoded.len());
    percent_decode_into(encoded.as_bytes(), &mut out);
    String::from_utf8(out).map_err(|e| KeyError::NotUtf8 {
        valid_up_to: e.utf8_error().valid_up_to(),
    })
}

/// `percent_decode` into `out` (appending), without checking UTF-8.
pub fn percent_decode_into(bytes: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(at) = memchr::memchr(b'%', &bytes[i..]) {
        let at = i + at;
        out.extend_from_slice(&bytes[i..at]);
        if at + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_value(bytes[at + 1]), hex_value(bytes[at + 2]))
        {
            out.push(h << 4 | l);
            i = at + 3;
        } else {
            out.push(b'%');
            i = at + 1;
        }
    }
    out.extend_from_slice(&bytes[i..]);
}

/// Encodes a key for a Batch Operations CSV manifest: every byte except
/// `A-Z a-z 0-9 - _ . ~ /` becomes `%XX` (uppercase hex), so space is `%20` and `+` is `%2B`.
pub fn batch_encode(key: &str) -> String {
    let mut out = Vec::with_capacity(key.len() + key.len() / 4);
    batch_encode_into(key.as_bytes(), &mut out);
    String::from_utf8(out).expect("percent-encoding yields ASCII")
}

/// `batch_encode` into `out` (appending): runs of bytes that stay are copied at once.
pub fn batch_encode_into(key: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let keeps = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/');
    let mut i = 0;
    while i < key.len() {
        let run = key[i..]
            .iter()
            .position(|&b| !keeps(b))
            .unwrap_or(key.len() - i);
        out.extend_from_slice(&key[i..i + run]);
        i += run;
        if let Some(&b) = key.get(i) {
            out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_follows_form_rules() {
        assert_eq!(form_decode("a+b").unwrap(), "a b");
        assert_eq!(form_decode("a%2Bb").unwrap(), "a+b");
        assert_eq!(form_decode("dt%3D2024").unwrap(), "dt=2024");
        assert_eq!(form_decode("%2541").unwrap(), "%41");
        assert_eq!(form_decode("caf%C3%A9").unwrap(), "café");
        assert_eq!(form_decode("100%").unwrap(), "100%");
        assert_eq!(form_decode("%4").unwrap(), "%4");
        assert_eq!(form_decode("%zz").unwrap(), "%zz");
        assert_eq!(form_decode("a/b/").unwrap(), "a/b/");
        assert!(matches!(
            form_decode("ab%FF"),
            Err(KeyError::NotUtf8 { valid_up_to: 2 })
        ));
    }

    #[test]
    fn batch_encoding_is_unambiguous() {
        assert_eq!(batch_encode("a b+c/d~e.f_g-h"), "a%20b%2Bc/d~e.f_g-h");
        assert_eq!(batch_encode("x,\"\t\n%"), "x%2C%22%09%0A%25");
        assert_eq!(batch_encode("é"), "%C3%A9");
        for key in ["a b", "a+b", "%41", "日本/😀", "x,y\"z\n"] {
            assert_eq!(percent_decode(&batch_encode(key)).unwrap(), key);
        }
    }

    #[test]
    fn form_encoding_round_trips() {
        assert_eq!(form_encode("a b+c/d=e"), "a+b%2Bc/d%3De");
        for key in ["a b", "a+b", "%41", "日本/😀", "x,y\"z\n", " "] {
            assert_eq!(form_decode(&form_encode(key)).unwrap(), key);
        }
    }

    #[test]
    fn percent_decoding_keeps_plus() {
        assert_eq!(percent_decode("a+b%20c").unwrap(), "a+b c");
        assert_eq!(percent_decode("%").unwrap(), "%");
        assert_eq!(percent_decode("%4").unwrap(), "%4");
        assert_eq!(percent_decode("a%zz%41").unwrap(), "a%zzA");
        assert_eq!(percent_decode("%%41%").unwrap(), "%A%");
        assert_eq!(percent_decode("%e6%97%a5").unwrap(), "日");
    }
}
