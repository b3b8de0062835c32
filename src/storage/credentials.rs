//! The AWS default credential chain (aws-config) as an object_store credential provider.

use std::sync::Arc;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::{AwsCredential, AwsCredentialProvider};

use super::S3Options;
use crate::error::{Error, Result};

/// Adapts aws-config's provider (which caches and refreshes) to object_store's trait.
#[derive(Debug)]
struct ChainProvider {
    inner: SharedCredentialsProvider,
}

#[async_trait::async_trait]
impl object_store::CredentialProvider for ChainProvider {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let c =
            self.inner
                .provide_credentials()
                .await
                .map_err(|e| object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(e),
                })?;
        Ok(Arc::new(AwsCredential {
            key_id: c.access_key_id().to_string(),
            secret_key: c.secret_access_key().to_string(),
            token: c.session_token().map(str::to_string),
        }))
    }
}

/// Loads the default chain and resolves credentials once up front, so that "no
/// credentials" is one clear error before any scan starts. Returns the chain's region too.
pub(super) async fn default_chain(
    bucket: &str,
    options: &S3Options,
) -> Result<(AwsCredentialProvider, Option<String>)> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let config = loader.load().await;
    let provider = config
        .credentials_provider()
        .ok_or_else(|| Error::NoCredentials {
            bucket: bucket.to_string(),
            reason: "no credential provider configured".into(),
        })?;
    if let Err(e) = provider.provide_credentials().await {
        return Err(Error::NoCredentials {
            bucket: bucket.to_string(),
            reason: first_line(&super::errors::error_chain(&e)),
        });
    }
    let region = config.region().map(|r| r.to_string());
    Ok((Arc::new(ChainProvider { inner: provider }), region))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}
