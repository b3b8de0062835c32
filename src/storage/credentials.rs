//! The AWS default credential chain (aws-config), for object_store (as its credential
//! provider) and for the AWS SDK's S3 client (with the same region, endpoint, retries and
//! timeouts).

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

/// The loaded chain: its credentials, its region and the SDK configuration it came with.
pub(super) struct Chain {
    provider: SharedCredentialsProvider,
    config: aws_config::SdkConfig,
    pub(super) region: Option<String>,
}

impl Chain {
    /// The chain as object_store's credential provider.
    pub(super) fn object_store_provider(&self) -> AwsCredentialProvider {
        Arc::new(ChainProvider {
            inner: self.provider.clone(),
        })
    }

    /// An SDK S3 client in `region` that retries and times out as `options` say, the way
    /// the object_store client does (`S3Options::retry_config`).
    pub(super) fn s3_client(&self, region: &str, options: &S3Options) -> aws_sdk_s3::Client {
        use aws_sdk_s3::config::retry::RetryConfig;
        use aws_sdk_s3::config::timeout::TimeoutConfig;
        use std::time::Duration;
        let retry = RetryConfig::standard()
            .with_max_attempts(u32::try_from(options.retries).unwrap_or(u32::MAX - 1) + 1)
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(20));
        let timeout = TimeoutConfig::builder()
            .operation_timeout(options.timeout)
            .operation_attempt_timeout(options.timeout.min(Duration::from_secs(30)))
            .build();
        let mut builder = aws_sdk_s3::config::Builder::from(&self.config)
            .region(aws_config::Region::new(region.to_string()))
            .credentials_provider(self.provider.clone())
            .retry_config(retry)
            .timeout_config(timeout);
        if let Some(endpoint) = &options.endpoint_url {
            builder = builder
                .endpoint_url(endpoint.trim_end_matches('/'))
                .force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(builder.build())
    }
}

/// Loads the default chain and resolves credentials once up front, so that "no
/// credentials" is one clear error before any scan starts.
pub(super) async fn default_chain(bucket: &str, options: &S3Options) -> Result<Chain> {
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
        if let Some(missing) = missing_profile() {
            return Err(missing);
        }
        return Err(Error::NoCredentials {
            bucket: bucket.to_string(),
            reason: first_line(&super::errors::error_chain(&e)),
        });
    }
    let region = config.region().map(|r| r.to_string());
    Ok(Chain {
        provider,
        config,
        region,
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// `AWS_PROFILE` naming a profile that is in neither AWS config file: the chain's own error
/// for it is a generic "no credentials", which hides the typo.
fn missing_profile() -> Option<Error> {
    let profile = std::env::var("AWS_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())?;
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let config = file("AWS_CONFIG_FILE", "config");
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let mut known = Vec::new();
    for (path, in_config) in [(&config, true), (&credentials, false)] {
        let text = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        known.extend(profile_names(&text, in_config));
    }
    if known.contains(&profile) {
        return None;
    }
    known.sort();
    known.dedup();
    let shown = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map_or_else(|| "?".into(), |p| p.display().to_string())
    };
    Some(Error::NoSuchProfile {
        profile,
        files: format!("{} or {}", shown(&config), shown(&credentials)),
        known: if known.is_empty() {
            String::new()
        } else {
            format!(" (profiles there: {})", known.join(", "))
        },
    })
}

/// Profile names of an AWS config file (`[profile NAME]`, and `[default]`) or credentials
/// file (`[NAME]`).
fn profile_names(text: &str, config_file: bool) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let inner = l.strip_prefix('[')?.strip_suffix(']')?.trim();
            let name = match inner.strip_prefix("profile ") {
                Some(n) => n.trim(),
                None if !config_file || inner == "default" => inner,
                None => return None,
            };
            Some(name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_of_both_files() {
        let config = "[default]\nregion = x\n[profile prod]\n[sso-session s]\n";
        assert_eq!(profile_names(config, true), ["default", "prod"]);
        assert_eq!(profile_names("[dev]\nkey = 1\n", false), ["dev"]);
    }
}
