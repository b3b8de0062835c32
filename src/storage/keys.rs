//! S3 keys as object_store paths, losslessly.
//!
//! An S3 key is any UTF-8 text, but an object_store `Path` cannot hold an empty segment
//! (`a//b`), a `.` or `..` segment, or a control character: `Path::from` collapses or
//! escapes them, so the request would name another key. S3 Inventory itself writes
//! `prefix//source-bucket/…` when the destination prefix ends in `/`. Such segments are
//! held *escaped* here: the segment starts with U+FFFF (a noncharacter, which S3 cannot
//! return in a listing's XML, so no real key starts a segment with it) followed by the
//! segment percent-encoded. Every other segment is held raw, exactly as before. The S3
//! store (`s3_store`) sends paths with escaped segments through the AWS SDK, which takes
//! keys as they are.

use object_store::path::{Path, PathPart};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Marks an escaped segment.
const ESCAPE: char = '\u{FFFF}';

/// What an escaped segment percent-encodes: controls, `%` itself (so decoding is exact)
/// and `.` (so `.` and `..` become `%2E` and `%2E%2E`, which Path accepts).
const ESCAPED: &AsciiSet = &CONTROLS.add(b'%').add(b'.');

/// The path of `key` (an S3 key, or a local path without its leading `/`).
pub fn key_path(key: &str) -> Path {
    if key.is_empty() {
        return Path::default();
    }
    let text = key
        .split('/')
        .map(|segment| {
            let raw_ok = !segment.starts_with(ESCAPE) && PathPart::parse(segment).is_ok();
            // An empty segment fails `PathPart::parse` only through `Path::parse`; test it
            // here so that `a//b` keeps its empty segment.
            if raw_ok && !segment.is_empty() {
                segment.to_string()
            } else {
                format!("{ESCAPE}{}", utf8_percent_encode(segment, ESCAPED))
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    // Every segment is now valid, so this cannot fail; fall back to object_store's own
    // escaping rather than panic if that ever changes.
    Path::parse(&text).unwrap_or_else(|_| Path::from(text.as_str()))
}

/// The key `path` stands for: escaped segments decoded.
pub fn path_key(path: &Path) -> String {
    if !is_escaped(path) {
        return path.as_ref().to_string();
    }
    path.parts()
        .map(|p| segment_text(p.as_ref()))
        .collect::<Vec<_>>()
        .join("/")
}

/// The text of one segment of a path made by [`key_path`].
pub fn segment_text(segment: &str) -> String {
    match segment.strip_prefix(ESCAPE) {
        Some(encoded) => percent_decode_str(encoded).decode_utf8_lossy().into_owned(),
        None => segment.to_string(),
    }
}

/// Whether `path` holds a segment object_store could not address.
pub fn is_escaped(path: &Path) -> bool {
    path.as_ref().contains(ESCAPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_round_trips() {
        for key in [
            "inv/src/cfg/data/a.csv.gz",
            "inv//src/cfg/data/a.csv.gz",
            "/leading/slash",
            "a///b",
            "a/./b/../c",
            "tab\there/nl\nthere",
            "percent%2F/%/%%",
            "~#[]{}?*|<>\"`^\\",
            "\u{FFFF}/x\u{FFFF}y",
            "ünï/cödé/😀",
        ] {
            let path = key_path(key);
            assert_eq!(path_key(&path), key, "{key:?} via {path:?}");
            // The path is one object_store accepts as it is.
            assert_eq!(Path::parse(path.as_ref()).unwrap(), path);
        }
    }

    #[test]
    fn ordinary_keys_are_held_raw() {
        let key = "inv/src/cfg/data/a%20b~#.csv.gz";
        assert_eq!(key_path(key).as_ref(), key);
        assert!(!is_escaped(&key_path(key)));
        assert!(is_escaped(&key_path("inv//src")));
        assert_eq!(key_path("inv//src").parts().count(), 3);
        assert_eq!(key_path(""), Path::default());
    }
}
