//! The S3 object store: object_store's `AmazonS3` for every key it can address, and the AWS
//! SDK for the keys it cannot (see `keys`: empty, `.`/`..` or control-character segments,
//! such as the `prefix//source-bucket/…` S3 Inventory writes under a destination prefix
//! ending in `/`).
//!
//! Reads (GET with ranges, HEAD) and listings of such keys go through the SDK with the same
//! credentials, region, endpoint, retries and timeouts. A listing that object_store refuses
//! because some key below the prefix has such a segment is redone through the SDK, so one
//! odd key never hides a whole folder. Writes to such keys are refused with the reason:
//! s3inv's outputs are always written under keys the user chose.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use object_store::path::Path;
use object_store::{
    Attributes, CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult,
    MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, RenameOptions, Result,
};

use super::keys::{is_escaped, key_path, path_key};

/// `AmazonS3` plus an SDK client for the keys `AmazonS3` cannot address.
#[derive(Clone)]
pub(crate) struct S3Store {
    inner: Arc<dyn ObjectStore>,
    sdk: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>, sdk: aws_sdk_s3::Client, bucket: &str) -> Self {
        S3Store {
            inner,
            sdk,
            bucket: bucket.to_string(),
        }
    }

    async fn sdk_get(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let key = path_key(location);
        if options.head {
            let out = self
                .sdk
                .head_object()
                .bucket(&self.bucket)
                .key(&key)
                .set_if_match(options.if_match.clone())
                .set_if_none_match(options.if_none_match.clone())
                .set_version_id(options.version.clone())
                .send()
                .await
                .map_err(|e| sdk_error(e, location))?;
            let size = out.content_length().unwrap_or(0).max(0) as u64;
            let meta = object_meta(
                location,
                out.last_modified(),
                size,
                out.e_tag(),
                out.version_id(),
            );
            return Ok(GetResult {
                payload: GetResultPayload::Stream(stream::empty().boxed()),
                meta,
                range: 0..size,
                attributes: Attributes::default(),
            });
        }
        let range = options.range.as_ref().map(|r| match r {
            GetRange::Bounded(r) => format!("bytes={}-{}", r.start, r.end.saturating_sub(1)),
            GetRange::Offset(o) => format!("bytes={o}-"),
            GetRange::Suffix(n) => format!("bytes=-{n}"),
        });
        let out = self
            .sdk
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .set_range(range)
            .set_if_match(options.if_match.clone())
            .set_if_none_match(options.if_none_match.clone())
            .set_version_id(options.version.clone())
            .send()
            .await
            .map_err(|e| sdk_error(e, location))?;
        let length = out.content_length().unwrap_or(0).max(0) as u64;
        // `bytes START-END/TOTAL` on a ranged answer; the whole object otherwise.
        let (range, size) = match out.content_range().and_then(parse_content_range) {
            Some((range, total)) => (range, total),
            None => (0..length, length),
        };
        let meta = object_meta(
            location,
            out.last_modified(),
            size,
            out.e_tag(),
            out.version_id(),
        );
        let shown = location.clone();
        let body = stream::unfold(Some(out.body), move |body| {
            let shown = shown.clone();
            async move {
                let mut body = body?;
                match body.next().await {
                    Some(Ok(bytes)) => Some((Ok(bytes), Some(body))),
                    Some(Err(e)) => Some((
                        Err(object_store::Error::Generic {
                            store: "S3",
                            source: format!("reading {}: {}", path_key(&shown), e).into(),
                        }),
                        None,
                    )),
                    None => None,
                }
            }
        });
        Ok(GetResult {
            payload: GetResultPayload::Stream(body.boxed()),
            meta,
            range,
            attributes: Attributes::default(),
        })
    }

    /// Every object below `prefix` (all of them, or one level with `delimiter`), through
    /// the SDK.
    async fn sdk_list(&self, prefix: Option<&Path>, delimiter: bool) -> Result<ListResult> {
        let prefix_key = prefix
            .map(|p| format!("{}/", path_key(p)))
            .filter(|p| p != "/");
        let mut result = ListResult {
            common_prefixes: Vec::new(),
            objects: Vec::new(),
        };
        let mut token = None;
        loop {
            let page = self
                .sdk
                .list_objects_v2()
                .bucket(&self.bucket)
                .set_prefix(prefix_key.clone())
                .set_delimiter(delimiter.then(|| "/".to_string()))
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| sdk_error(e, prefix.unwrap_or(&Path::default())))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                result.objects.push(object_meta(
                    &key_path(key),
                    object.last_modified(),
                    object.size().unwrap_or(0).max(0) as u64,
                    object.e_tag(),
                    None,
                ));
            }
            for common in page.common_prefixes() {
                if let Some(p) = common.prefix() {
                    // `a/b/` names the folder `a/b`: drop the delimiter S3 appends.
                    result
                        .common_prefixes
                        .push(key_path(p.strip_suffix('/').unwrap_or(p)));
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(result)
    }

    fn refuse_write(location: &Path) -> object_store::Error {
        object_store::Error::NotSupported {
            source: format!(
                "cannot write {:?}: s3inv writes only keys without empty (`//`), `.`/`..` or control-character segments; choose another output prefix",
                path_key(location)
            )
            .into(),
        }
    }
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3Store({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        if is_escaped(location) {
            return Err(Self::refuse_write(location));
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        if is_escaped(location) {
            return Err(Self::refuse_write(location));
        }
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if is_escaped(location) {
            self.sdk_get(location, options).await
        } else {
            self.inner.get_opts(location, options).await
        }
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        if !is_escaped(location) {
            return self.inner.get_ranges(location, ranges).await;
        }
        // One GET per range: these keys are rare, and their files are read once.
        let mut out = Vec::with_capacity(ranges.len());
        for range in ranges {
            let options = GetOptions {
                range: Some(GetRange::Bounded(range.clone())),
                ..Default::default()
            };
            out.push(self.sdk_get(location, options).await?.bytes().await?);
        }
        Ok(out)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        // Deletes are of s3inv's own outputs and staged parts, whose keys it chose.
        let checked = locations.map(|l| match l {
            Ok(p) if is_escaped(&p) => Err(Self::refuse_write(&p)),
            other => other,
        });
        self.inner.delete_stream(checked.boxed())
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let prefix = prefix.cloned();
        let this = self.clone();
        stream::once(async move {
            let listed = if prefix.as_ref().is_some_and(is_escaped) {
                Err(None)
            } else {
                let all: Result<Vec<ObjectMeta>> = this
                    .inner
                    .list(prefix.as_ref())
                    .collect::<Vec<_>>()
                    .await
                    .into_iter()
                    .collect();
                all.map_err(Some)
            };
            match listed {
                Ok(objects) => objects.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(Some(e)) if !matches!(e, object_store::Error::InvalidPath { .. }) => {
                    vec![Err(e)]
                }
                Err(_) => match this.sdk_list(prefix.as_ref(), false).await {
                    Ok(l) => l.objects.into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(e)],
                },
            }
        })
        .flat_map(stream::iter)
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        if prefix.is_some_and(is_escaped) {
            return self.sdk_list(prefix, true).await;
        }
        match self.inner.list_with_delimiter(prefix).await {
            Err(object_store::Error::InvalidPath { .. }) => self.sdk_list(prefix, true).await,
            other => other,
        }
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        if is_escaped(to) || is_escaped(from) {
            return Err(Self::refuse_write(if is_escaped(to) { to } else { from }));
        }
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        if is_escaped(to) || is_escaped(from) {
            return Err(Self::refuse_write(if is_escaped(to) { to } else { from }));
        }
        self.inner.rename_opts(from, to, options).await
    }
}

/// `bytes 0-99/1234` → (0..100, 1234).
fn parse_content_range(text: &str) -> Option<(Range<u64>, u64)> {
    let (span, total) = text.strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
    Some((start..end.checked_add(1)?, total.parse().ok()?))
}

/// object_store's description of an object from what an SDK answer says of it.
fn object_meta(
    location: &Path,
    last_modified: Option<&aws_sdk_s3::primitives::DateTime>,
    size: u64,
    e_tag: Option<&str>,
    version: Option<&str>,
) -> ObjectMeta {
    ObjectMeta {
        location: location.clone(),
        last_modified: last_modified
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
            .unwrap_or_default(),
        size,
        e_tag: e_tag.map(str::to_string),
        version: version.map(str::to_string),
    }
}

/// The SDK's error as object_store's, so that the rest of s3inv maps it like any other
/// (missing object, access denied, rejected credentials).
fn sdk_error<E>(e: SdkError<E, HttpResponse>, location: &Path) -> object_store::Error
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_string);
    let text = match (&code, e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.clone(),
        _ => DisplayErrorContext(&e).to_string(),
    };
    let source: Box<dyn std::error::Error + Send + Sync> = text.into();
    // Paths travel in errors in their escaped form, which `errors::error_path` reads back.
    let path = location.as_ref().to_string();
    match (status, code.as_deref()) {
        (Some(404), _) | (_, Some("NoSuchKey" | "NotFound")) => {
            object_store::Error::NotFound { path, source }
        }
        (Some(403), _) | (_, Some("AccessDenied")) => {
            object_store::Error::PermissionDenied { path, source }
        }
        (Some(412), _) => object_store::Error::Precondition { path, source },
        (Some(304), _) => object_store::Error::NotModified { path, source },
        _ => object_store::Error::Generic {
            store: "S3",
            source,
        },
    }
}
