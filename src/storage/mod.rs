//! Locations and object stores: turns a local path or `s3://bucket/prefix` into an
//! `Arc<dyn ObjectStore>` plus a path inside it, and maps storage errors to ours.
//!
//! S3 credentials come from the AWS default chain (env, profile, SSO, web identity,
//! instance role) through aws-config; never from flags. `endpoint_url` and `region` reach
//! S3-compatible stores. Reading, verifying and scanning are left to other modules.

mod credentials;
mod errors;
mod keys;
mod location;
mod s3_store;

use std::sync::Arc;

use datafusion::error::DataFusionError;
use datafusion::execution::object_store::ObjectStoreUrl;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;

pub use errors::{Action, classify, error_path, find_store_error, map_store_error};
pub use keys::{key_path, path_key};
pub use location::Location;

use crate::error::{Error, Result};

/// How to reach S3: the options a user may give on the command line.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// A custom endpoint such as `http://127.0.0.1:9000` (S3-compatible stores, tests).
    pub endpoint_url: Option<String>,
    /// The region; otherwise the AWS chain's region, then the bucket's own region.
    pub region: Option<String>,
    /// Retries of one failed request (`--retries`).
    pub retries: usize,
    /// How long one request may keep retrying from its first try (`--timeout`).
    pub timeout: std::time::Duration,
}

impl S3Options {
    pub const DEFAULT_RETRIES: usize = 10;
    pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

    /// Backoff between tries: random, growing ×3 from 200 ms up to 20 s. With the default
    /// 10 retries a request rides out about a minute of throttling (S3 asks clients that
    /// get `503 SlowDown` to back off), within `timeout`.
    fn retry_config(&self) -> object_store::RetryConfig {
        object_store::RetryConfig {
            backoff: object_store::BackoffConfig {
                init_backoff: std::time::Duration::from_millis(200),
                max_backoff: std::time::Duration::from_secs(20),
                base: 3.0,
            },
            max_retries: self.retries,
            retry_timeout: self.timeout,
        }
    }
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            endpoint_url: None,
            region: None,
            retries: Self::DEFAULT_RETRIES,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// An opened store: the object store, the DataFusion URL it is registered under, and how
/// to show a path inside it to a user.
#[derive(Debug, Clone)]
pub struct Store {
    pub object_store: Arc<dyn ObjectStore>,
    pub url: ObjectStoreUrl,
    /// `Some(bucket)` for S3, `None` for the local file system.
    pub bucket: Option<String>,
}

impl Store {
    /// The user-facing name of `path` in this store: `s3://bucket/key` or `/abs/path`.
    pub fn display(&self, path: &Path) -> String {
        let key = path_key(path);
        match &self.bucket {
            Some(bucket) => format!("s3://{bucket}/{key}"),
            None => format!("/{key}"),
        }
    }

    /// The text of one path segment. Paths hold raw segments (built with `key_path`,
    /// never `Path::from`, which would escape `%`, `#`, `~` and the like, and collapse
    /// `//`): that is what both S3 and object_store's local file system expect.
    pub fn segment(part: &object_store::path::PathPart<'_>) -> String {
        keys::segment_text(part.as_ref())
    }

    /// `base` joined with the `/`-separated relative key `rel`.
    pub fn join(base: &Path, rel: &str) -> Path {
        let joined = if base.as_ref().is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", path_key(base))
        };
        key_path(&joined)
    }

    /// `base` joined with `key`, a key read from a document (a manifest's `files[]`, a
    /// completion report). On S3 the key is exact, empty segments and all; on a file system
    /// `a//b` is `a/b`, which is where a local copy of such keys lands.
    pub fn join_key(&self, base: &Path, key: &str) -> Path {
        match self.bucket {
            Some(_) => Self::join(base, key),
            None => Self::join(base, &collapse_empty_segments(key)),
        }
    }

    /// The file-system path of a local `path`.
    pub fn local_path(path: &Path) -> std::path::PathBuf {
        std::path::PathBuf::from(format!("/{}", path_key(path)))
    }

    /// The whole content of a (small) object.
    pub async fn get_bytes(&self, path: &Path) -> Result<bytes::Bytes> {
        use object_store::ObjectStoreExt;
        let r = self
            .object_store
            .get(path)
            .await
            .map_err(|e| self.error(e, path, Action::Get))?;
        r.bytes()
            .await
            .map_err(|e| self.error(e, path, Action::Get))
    }

    /// Maps a storage error about `path` to our error, naming the object and the action.
    pub fn error(&self, e: object_store::Error, path: &Path, action: Action) -> Error {
        map_store_error(e, self.bucket.as_deref(), path, &self.display(path), action)
    }

    /// Replaces an error whose chain holds a storage failure users can act on (access
    /// denied, missing object or bucket) with that failure, named; other errors pass.
    pub fn explain(&self, e: Error) -> Error {
        self.explain_ref(&e).unwrap_or(e)
    }

    /// The same for an error DataFusion raised while scanning.
    pub fn explain_datafusion(&self, e: DataFusionError) -> DataFusionError {
        match self.explain_ref(&e) {
            Some(ours) => DataFusionError::External(Box::new(ours)),
            None => e,
        }
    }

    fn explain_ref(&self, e: &(dyn std::error::Error + 'static)) -> Option<Error> {
        let found = find_store_error(e)?;
        let path = error_path(found)?;
        classify(
            found,
            self.bucket.as_deref(),
            &path,
            &self.display(&path),
            Action::Get,
        )
    }

    /// Opens the store that holds `location`.
    pub async fn open(location: &Location, options: &S3Options) -> Result<Store> {
        match location {
            Location::Local(_) => Ok(Store {
                object_store: Arc::new(LocalFileSystem::new()),
                url: ObjectStoreUrl::local_filesystem(),
                bucket: None,
            }),
            Location::S3 { bucket, .. } => open_s3(bucket, options).await,
        }
    }
}

/// `key` without empty segments: `a//b/` is `a/b`.
pub fn collapse_empty_segments(key: &str) -> String {
    key.split('/')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

async fn open_s3(bucket: &str, options: &S3Options) -> Result<Store> {
    let chain = credentials::default_chain(bucket, options).await?;
    let (provider, chain_region) = (chain.object_store_provider(), chain.region.clone());
    let region = match (&options.region, chain_region, &options.endpoint_url) {
        (Some(r), _, _) => r.clone(),
        // A custom endpoint has no "bucket region" to discover.
        (None, Some(r), Some(_)) => r,
        (None, None, Some(_)) => "us-east-1".to_string(),
        // Prefer the bucket's own region: a manifest in eu-west-1 read from a laptop set to
        // us-east-1 must still work.
        (None, chain, None) => {
            match object_store::aws::resolve_bucket_region(bucket, &Default::default()).await {
                Ok(r) => r,
                Err(object_store::Error::Generic { source, .. })
                    if source.to_string().contains("not found") =>
                {
                    return Err(Error::NoSuchBucket {
                        bucket: bucket.to_string(),
                    });
                }
                Err(_) => chain.unwrap_or_else(|| "us-east-1".to_string()),
            }
        }
    };
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region.clone())
        .with_credentials(provider)
        .with_retry(options.retry_config())
        // One try may take object_store's default 30 s, or less when --timeout is shorter:
        // a server that accepts and never answers must not outlast the user's bound.
        .with_client_options(
            object_store::ClientOptions::new()
                .with_timeout(options.timeout.min(std::time::Duration::from_secs(30))),
        );
    if let Some(endpoint) = &options.endpoint_url {
        builder = builder
            .with_endpoint(endpoint.trim_end_matches('/'))
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    let s3 = builder.build().map_err(|e| Error::Storage {
        location: format!("s3://{bucket}"),
        source: e,
    })?;
    let url = ObjectStoreUrl::parse(format!("s3://{bucket}"))
        .map_err(|e| Error::Usage(format!("invalid bucket name {bucket:?}: {e}")))?;
    let sdk = chain.s3_client(&region, options);
    Ok(Store {
        object_store: Arc::new(s3_store::S3Store::new(Arc::new(s3), sdk, bucket)),
        url,
        bucket: Some(bucket.to_string()),
    })
}
