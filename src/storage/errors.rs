//! Mapping of object_store errors to ours: which object, which bucket, which IAM action.

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

/// Maps `e` (about `path`, shown as `display`) to our error.
pub fn map_store_error(
    e: object_store::Error,
    bucket: Option<&str>,
    path: &Path,
    display: &str,
    action: Action,
) -> Error {
    let text = error_chain(&e);
    match (&e, bucket) {
        (_, Some(bucket)) if text.contains("NoSuchBucket") => Error::NoSuchBucket {
            bucket: bucket.to_string(),
        },
        (object_store::Error::NotFound { .. }, _) => Error::NotFound {
            path: display.to_string(),
            hint: "",
        },
        (
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. },
            Some(bucket),
        ) => Error::AccessDenied {
            bucket: bucket.to_string(),
            key: path.to_string(),
            action: action.iam(),
        },
        (_, Some(bucket)) if text.contains("AccessDenied") || text.contains("403 Forbidden") => {
            Error::AccessDenied {
                bucket: bucket.to_string(),
                key: path.to_string(),
                action: action.iam(),
            }
        }
        (_, Some(bucket))
            if text.contains("InvalidAccessKeyId") || text.contains("SignatureDoesNotMatch") =>
        {
            Error::NoCredentials {
                bucket: bucket.to_string(),
                reason: "the credentials were rejected (InvalidAccessKeyId or SignatureDoesNotMatch)"
                    .into(),
            }
        }
        _ => Error::Storage {
            location: display.to_string(),
            source: e,
        },
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
