//! Mapping of object_store errors to ours: which object, which bucket, which IAM action.
//! Also finds an object_store error buried in a reader's or DataFusion's error chain, so
//! "access denied" reads the same whether it happened in discovery or mid-scan.

use object_store::path::Path;

use crate::error::Error;

/// What s3inv was trying to do, so an access-denied error can name the IAM action.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    Get,
    List,
    Put,
}

impl Action {
    fn iam(self) -> &'static str {
        match self {
            Action::Get => "s3:GetObject",
            Action::List => "s3:ListBucket",
            Action::Put => "s3:PutObject",
        }
    }
}

/// An error and its sources, joined with `: `.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Our error for the storage failures users can act on (missing bucket or object, access
/// denied, rejected credentials); `None` for the rest.
pub fn classify(
    e: &object_store::Error,
    bucket: Option<&str>,
    path: &Path,
    display: &str,
    action: Action,
) -> Option<Error> {
    let text = error_chain(e);
    let denied = || Error::AccessDenied {
        bucket: bucket.unwrap_or_default().to_string(),
        key: super::keys::path_key(path),
        action: action.iam(),
    };
    match (e, bucket) {
        (_, Some(bucket)) if text.contains("NoSuchBucket") => Some(Error::NoSuchBucket {
            bucket: bucket.to_string(),
        }),
        (object_store::Error::NotFound { .. }, _) => Some(Error::NotFound {
            path: display.to_string(),
            hint: "",
        }),
        (_, Some(bucket))
            if text.contains("InvalidAccessKeyId") || text.contains("SignatureDoesNotMatch") =>
        {
            Some(Error::NoCredentials {
                bucket: bucket.to_string(),
                reason:
                    "the credentials were rejected (InvalidAccessKeyId or SignatureDoesNotMatch)"
                        .into(),
            })
        }
        // A HEAD response has no body, so no error code: S3 says 403 both for a missing
        // permission and for rejected credentials.
        (object_store::Error::PermissionDenied { .. }, Some(bucket))
            if text.contains("performing HEAD") && !text.contains("AccessDenied") =>
        {
            Some(Error::Forbidden {
                bucket: bucket.to_string(),
                key: path.to_string(),
            })
        }
        (
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. },
            Some(_),
        ) => Some(denied()),
        (_, Some(_)) if text.contains("AccessDenied") || text.contains("403 Forbidden") => {
            Some(denied())
        }
        (_, Some(_)) => unreachable(e, &text, display),
        _ => None,
    }
}

/// The endpoint could not be reached at all (no HTTP answer): which endpoint and why,
/// instead of object_store's retry text. `None` for any other failure.
fn unreachable(e: &object_store::Error, text: &str, display: &str) -> Option<Error> {
    use object_store::client::{HttpError, HttpErrorKind};
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut connect = false;
    let mut io_kind = None;
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<HttpError>() {
            connect |= matches!(h.kind(), HttpErrorKind::Connect);
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        source = s.source();
    }
    if !connect {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let reason = match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused",
        Some(std::io::ErrorKind::TimedOut) => "connection timed out",
        _ if lower.contains("connection refused") => "connection refused",
        _ if lower.contains("dns error") || lower.contains("failed to lookup") => {
            "the host name does not resolve"
        }
        _ if lower.contains("timed out") => "connection timed out",
        _ => "cannot connect",
    };
    // "Error performing GET http://host:port/bucket/key in …": the origin of that URL.
    let endpoint = text
        .split_whitespace()
        .find_map(|w| url::Url::parse(w).ok().filter(|u| u.has_host()))
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_else(|| "the S3 endpoint".into());
    let fix = if endpoint.ends_with(".amazonaws.com") {
        "check the network connection (and HTTPS_PROXY, if one is needed)"
    } else {
        "check --endpoint-url"
    };
    Some(Error::Unreachable {
        location: display.to_string(),
        endpoint,
        reason: reason.into(),
        fix,
    })
}

/// Maps `e` (about `path`, shown as `display`) to our error.
pub fn map_store_error(
    e: object_store::Error,
    bucket: Option<&str>,
    path: &Path,
    display: &str,
    action: Action,
) -> Error {
    classify(&e, bucket, path, display, action).unwrap_or_else(|| Error::Storage {
        location: display.to_string(),
        source: e,
    })
}

/// The path an object_store error is about, if it names one.
pub fn error_path(e: &object_store::Error) -> Option<Path> {
    match e {
        object_store::Error::NotFound { path, .. }
        | object_store::Error::PermissionDenied { path, .. }
        | object_store::Error::Unauthenticated { path, .. }
        | object_store::Error::Precondition { path, .. }
        | object_store::Error::AlreadyExists { path, .. }
        | object_store::Error::NotModified { path, .. } => {
            // Paths travel in errors as their text; `Path::parse` keeps escaped segments.
            Some(Path::parse(path).unwrap_or_else(|_| Path::from(path.as_str())))
        }
        _ => None,
    }
}

/// Finds an object_store error in a chain of sources (looking inside `io::Error`s, whose
/// `source()` skips the error they wrap).
pub fn find_store_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a object_store::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<object_store::Error>() {
            return Some(found);
        }
        if let Some(df) = err.downcast_ref::<datafusion::error::DataFusionError>()
            && let datafusion::error::DataFusionError::ObjectStore(inner) = df
        {
            return Some(inner.as_ref());
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            current = Some(inner);
            continue;
        }
        current = err.source();
    }
    None
}
