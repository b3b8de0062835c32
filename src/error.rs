//! The one error type of the library and its conversions to and from DataFusion's.
//!
//! Every variant carries what a user needs to act: the file, bucket or key, what was
//! expected and what was found, and the fix when one is known. Messages are lowercase and
//! single-line so the CLI can print them as they are.

use datafusion::error::DataFusionError;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while finding, verifying, reading or querying a delivery.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The location holds no manifest.json (and no delivery folders).
    #[error("no inventory manifest at {location}: {reason}")]
    NoManifest { location: String, reason: String },

    /// manifest.json could not be parsed.
    #[error("{path}: invalid manifest.json: {reason}")]
    InvalidManifest { path: String, reason: String },

    /// The manifest names a format s3inv does not read.
    #[error("{path}: unknown fileFormat {format:?}; s3inv reads CSV, ORC and Parquet")]
    UnknownFormat { path: String, format: String },

    /// manifest.checksum or a data file's MD5 differs from what the manifest promises.
    #[error("{path}: md5 mismatch: expected {expected}, actual {actual}{hint}")]
    ChecksumMismatch {
        path: String,
        expected: String,
        actual: String,
        hint: &'static str,
    },

    /// A data file's size differs from the manifest's `size`.
    #[error(
        "{path}: size mismatch: manifest says {expected} bytes, the file has {actual} bytes (truncated or replaced?)"
    )]
    SizeMismatch {
        path: String,
        expected: u64,
        actual: u64,
    },

    /// A data file cannot be decoded (gzip, CSV, ORC or Parquet error, bad UTF-8, bad value).
    #[error("{path}: {message}")]
    BadData { path: String, message: String },

    /// A reader failed on a data file; the source keeps the underlying error (storage,
    /// ORC, Parquet) so callers can tell what it was.
    #[error("{path}: {message}: {}", tidy(.path, &.source.to_string()))]
    Read {
        path: String,
        message: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The object (or bucket) exists but the credentials may not read it.
    #[error("access denied: s3://{bucket}/{key}: the credentials need {action} on this object")]
    AccessDenied {
        bucket: String,
        key: String,
        action: &'static str,
    },

    /// No AWS credentials could be found for an s3:// location.
    #[error(
        "no aws credentials for s3://{bucket}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, run `aws sso login`, or use an instance role ({reason})"
    )]
    NoCredentials { bucket: String, reason: String },

    /// `AWS_PROFILE` names a profile that neither AWS config file defines.
    #[error(
        "AWS_PROFILE={profile}: no such profile in {files}{known}; fix AWS_PROFILE, or add the profile (`aws configure --profile {profile}`)"
    )]
    NoSuchProfile {
        profile: String,
        files: String,
        known: String,
    },

    /// The S3 endpoint cannot be reached at all (refused, unresolvable, timed out).
    #[error("{location}: cannot reach {endpoint} ({reason}): {fix}")]
    Unreachable {
        location: String,
        endpoint: String,
        reason: String,
        fix: &'static str,
    },

    /// S3 answered a HEAD with 403 and no body: a missing permission and rejected
    /// credentials look the same.
    #[error(
        "access denied: s3://{bucket}/{key}: S3 answered 403 without saying why: either the credentials lack s3:GetObject (and s3:ListBucket) here, or they were rejected (wrong key or secret, expired session); `aws sts get-caller-identity` tells which: if it fails, fix the credentials, if it works, the permissions"
    )]
    Forbidden { bucket: String, key: String },

    /// The bucket does not exist (or is in another partition).
    #[error("bucket {bucket:?} does not exist (check the name in the s3:// location)")]
    NoSuchBucket { bucket: String },

    /// A file the manifest lists (or the manifest itself) is missing.
    #[error("{path}: not found{hint}")]
    NotFound { path: String, hint: &'static str },

    /// The manifest's first data file is in none of the places a delivery or a copy of one
    /// keeps it.
    #[error(
        "data file {key:?} of the manifest not found; looked for it at {}: {}",
        tried.join(", "),
        match twin {
            Some(twin) => format!("but its twin with `//` collapsed to `/` exists at {twin}: the delivery was copied by a tool that drops empty key segments; copy it with `aws s3 sync`, which keeps them"),
            None => "copy the delivery with its layout (the destination bucket's folders, or the configuration folder with its data/)".to_string(),
        }
    )]
    DataFileNotFound {
        key: String,
        tried: Vec<String>,
        /// Where the key with its empty segments collapsed exists, if it does.
        twin: Option<String>,
    },

    /// A panic, caught (see `panic_net`): a bug in s3inv or a library it uses, met while
    /// reading `context`.
    #[error(
        "internal error while reading {context}: {message}; the file may be corrupt (its MD5 is checked against the manifest unless --no-verify is given); if it is intact, this is a bug in s3inv or a library it uses: please report it (with the file, if you can share it)"
    )]
    Panic { context: String, message: String },

    /// One of our errors seen through a shared DataFusion error (the same failure reported
    /// to several consumers): its message as it was.
    #[error("{0}")]
    Relayed(String),

    /// A broken invariant of s3inv itself (a bug to report).
    #[error("internal error: {0} (please report this as an s3inv bug)")]
    Internal(String),

    /// The delivery does not carry a field the command needs.
    #[error(
        "{manifest}: the delivery does not carry the {field} field, which {needed_by} needs; add {field} to the inventory configuration's optional fields (S3 console: the inventory configuration's \"additional metadata fields\"; API: OptionalFields) and use a delivery made after that change"
    )]
    MissingField {
        manifest: String,
        field: &'static str,
        needed_by: String,
    },

    /// Any other storage failure, with the location it concerned.
    #[error("{location}: {source}")]
    Storage {
        location: String,
        #[source]
        source: object_store::Error,
    },

    /// Local file-system failure.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// Invalid arguments or settings.
    #[error("{0}")]
    Usage(String),

    /// A SQL statement that would change something (DDL, DML, COPY).
    #[error(
        "s3inv sql is read-only: {0} statements are not allowed; use SELECT (or WITH … SELECT, EXPLAIN, SHOW, DESCRIBE)"
    )]
    ReadOnly(String),

    /// A query failed in DataFusion (planning or execution).
    #[error("query failed: {0}")]
    Query(String),
}

impl Error {
    pub(crate) fn bad_data(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::BadData {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<Error> for DataFusionError {
    fn from(e: Error) -> Self {
        DataFusionError::External(Box::new(e))
    }
}

impl From<DataFusionError> for Error {
    /// Digs our own error back out of DataFusion's wrappers, so a bad data file surfaces as
    /// the same message whether it failed inside a scan or outside one.
    fn from(e: DataFusionError) -> Self {
        match unwrap_ours(e) {
            Ok(ours) => ours,
            Err(other) => Error::Query(one_line(&tidy("", &strip_df_prefixes(&other.to_string())))),
        }
    }
}

fn unwrap_ours(e: DataFusionError) -> std::result::Result<Error, DataFusionError> {
    match e {
        DataFusionError::External(boxed) => match boxed.downcast::<Error>() {
            Ok(ours) => Ok(*ours),
            Err(boxed) => match boxed.downcast::<DataFusionError>() {
                Ok(inner) => unwrap_ours(*inner),
                Err(boxed) => Err(DataFusionError::External(boxed)),
            },
        },
        DataFusionError::Context(_, inner) => unwrap_ours(*inner),
        DataFusionError::Shared(shared) => match std::sync::Arc::try_unwrap(shared) {
            Ok(inner) => unwrap_ours(inner),
            Err(shared) => match find_ours_ref(&shared) {
                Some(msg) => Ok(Error::Relayed(msg)),
                None => Err(DataFusionError::Shared(shared)),
            },
        },
        DataFusionError::ArrowError(arrow, ctx) => match *arrow {
            datafusion::arrow::error::ArrowError::ExternalError(boxed) => {
                match boxed.downcast::<Error>() {
                    Ok(ours) => Ok(*ours),
                    Err(boxed) => match boxed.downcast::<DataFusionError>() {
                        Ok(inner) => unwrap_ours(*inner),
                        Err(boxed) => Err(DataFusionError::ArrowError(
                            Box::new(datafusion::arrow::error::ArrowError::ExternalError(boxed)),
                            ctx,
                        )),
                    },
                }
            }
            other => Err(DataFusionError::ArrowError(Box::new(other), ctx)),
        },
        other => Err(other),
    }
}

/// For a shared error we cannot take ownership of: find our message by reference.
fn find_ours_ref(e: &DataFusionError) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(ours) = s.downcast_ref::<Error>() {
            return Some(ours.to_string());
        }
        source = s.source();
    }
    None
}

/// DataFusion prefixes messages with the variant ("Error during planning: ", "External
/// error: "); users want the sentence, lowercased like ours.
/// A reader's error text made readable: a label its layers repeat ("Parquet error:
/// Parquet error: …") said once, and `path` (a local file, `/…`) named with its leading
/// slash where the text quotes object_store's slash-less form of it.
fn tidy(path: &str, text: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split(": ") {
        if parts.last() != Some(&part) {
            parts.push(part);
        }
    }
    let mut out = parts.join(": ");
    if let Some(relative) = path.strip_prefix('/') {
        out = out.replace(&format!(" {relative}"), &format!(" {path}"));
    }
    out
}

fn strip_df_prefixes(msg: &str) -> String {
    let mut m = msg.trim();
    for prefix in [
        "External error: ",
        "Arrow error: ",
        "Execution error: ",
        "Error during planning: ",
        "SQL error: ",
        "Schema error: ",
        "This feature is not implemented: ",
        "Invalid argument error: ",
    ] {
        if let Some(rest) = m.strip_prefix(prefix) {
            m = rest;
        }
    }
    m.to_string()
}

/// Errors print on one line; memory exhaustion says what to do about it.
fn one_line(msg: &str) -> String {
    if msg.starts_with("Resources exhausted") {
        let first = msg.lines().next().unwrap_or(msg).trim_end_matches(" as:");
        // The comparison's table has no query to reshape: only the limit helps.
        let advice = if first.contains("diff destination table") {
            "raise --memory-limit (or drop it)"
        } else {
            "raise --memory-limit (or drop it), or aggregate more before sorting"
        };
        return format!("not enough memory: {first}; {advice}");
    }
    msg.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_exhaustion_advice_fits_what_ran_out() {
        let sort = one_line(
            "Resources exhausted: Failed to allocate additional 8 MB for ExternalSorter[0]",
        );
        assert!(sort.ends_with("or aggregate more before sorting"), "{sort}");
        let diff = one_line(
            "Resources exhausted: Additional allocation failed for diff destination table with top memory consumers (across reservations) as:",
        );
        assert!(
            diff.starts_with("not enough memory: Resources exhausted: Additional allocation failed for diff destination table")
                && diff.ends_with("raise --memory-limit (or drop it)"),
            "{diff}"
        );
    }

    #[test]
    fn our_error_survives_a_round_trip_through_datafusion() {
        let ours = Error::bad_data("data/a.csv.gz", "line 3: expected 18 fields, found 17");
        let df: DataFusionError = DataFusionError::Context("scan".into(), Box::new(ours.into()));
        let back: Error = df.into();
        assert_eq!(
            back.to_string(),
            "data/a.csv.gz: line 3: expected 18 fields, found 17"
        );
    }

    #[test]
    fn reader_errors_say_their_label_once_and_keep_the_leading_slash() {
        // #11 item 7: "Parquet error: Parquet error: …" and object_store's "tmp/…".
        let e = Error::Read {
            path: "/tmp/d/a.parquet".into(),
            message: "cannot read Parquet footer",
            source: "Parquet error: Parquet error: Object at location tmp/d/a.parquet not found"
                .into(),
        };
        assert_eq!(
            e.to_string(),
            "/tmp/d/a.parquet: cannot read Parquet footer: Parquet error: Object at location /tmp/d/a.parquet not found"
        );
    }

    #[test]
    fn datafusion_prefixes_are_removed() {
        let df = DataFusionError::Plan("table 'x' not found".into());
        assert_eq!(
            Error::from(df).to_string(),
            "query failed: table 'x' not found"
        );
    }
}
