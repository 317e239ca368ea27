//! A location plus storage properties → an object store, and the story of how it was built
//! (credential source, endpoint, region) for errors a person can act on.

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use strata_common::env_first;

use crate::files::FilesError;
use crate::files::pooled::{LocalFiles, Pooled};

/// A parsed `scheme://bucket/key` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `s3` or `file`.
    pub scheme: String,
    /// Bucket (empty for `file`).
    pub bucket: String,
    /// Key or absolute path without the leading `/`.
    pub key: String,
}

impl Location {
    /// Parses a FILES path.
    pub fn parse(path: &str) -> Result<Self, FilesError> {
        let Some((scheme, rest)) = path.split_once("://") else {
            return Err(FilesError::InvalidPath(format!(
                "Access storage error. Error message: invalid path. scheme is null: {path}"
            )));
        };
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "s3" | "s3a" | "s3n" | "oss" => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(FilesError::InvalidPath(format!("no bucket in path {path}")));
                }
                Ok(Self {
                    scheme: "s3".into(),
                    bucket: bucket.into(),
                    key: key.into(),
                })
            }
            "file" => Ok(Self {
                scheme: "file".into(),
                bucket: String::new(),
                key: rest.trim_start_matches('/').to_string(),
            }),
            other => Err(FilesError::Unsupported(format!(
                "storage scheme '{other}://' (s3:// and file:// are supported)"
            ))),
        }
    }

    /// The URL the store is registered under (`s3://bucket`, `file://`).
    pub fn store_url(&self) -> String {
        format!("{}://{}", self.scheme, self.bucket)
    }

    /// The display form of an object of this store.
    pub fn display(&self, key: &str) -> String {
        if self.scheme == "file" {
            format!("file:///{key}")
        } else {
            format!("s3://{}/{key}", self.bucket)
        }
    }
}

/// A built store and how it was configured.
#[derive(Debug, Clone)]
pub struct ResolvedStore {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// `credentials …; endpoint …; region …` for error messages.
    pub context: String,
}

fn is_local_host(endpoint: &str) -> bool {
    let host = endpoint
        .split("://")
        .nth(1)
        .unwrap_or(endpoint)
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok()
}

fn flag(props: &BTreeMap<String, String>, key: &str, default: bool) -> Result<bool, FilesError> {
    crate::files::props::flag(key, props.get(key).map(String::as_str), default)
}

/// Builds the store for `loc` from FILES/broker properties and the standard AWS environment.
pub fn resolve(
    loc: &Location,
    props: &BTreeMap<String, String>,
) -> Result<ResolvedStore, FilesError> {
    if loc.scheme == "file" {
        return Ok(ResolvedStore {
            store: Arc::new(LocalFiles::local()),
            context: "local file system".into(),
        });
    }
    if props.contains_key("aws.s3.iam_role_arn") {
        return Err(FilesError::Unsupported(
            "aws.s3.iam_role_arn (assume role); use keys or the default credential chain".into(),
        ));
    }
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(&loc.bucket)
        .with_retry(retry_config());
    let region = props
        .get("aws.s3.region")
        .cloned()
        .or_else(|| env_first(&["AWS_REGION", "AWS_DEFAULT_REGION"]))
        .unwrap_or_else(|| "us-east-1".into());
    b = b.with_region(&region);

    let ssl = flag(props, "aws.s3.enable_ssl", true)?;
    let path_style_flag = flag(props, "aws.s3.enable_path_style_access", false)?;
    let endpoint = props
        .get("aws.s3.endpoint")
        .cloned()
        .or_else(|| env_first(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]));
    let endpoint_desc = match &endpoint {
        Some(e) => {
            let e = if e.contains("://") {
                e.clone()
            } else if ssl {
                format!("https://{e}")
            } else {
                format!("http://{e}")
            };
            let path_style = path_style_flag || is_local_host(&e);
            let url = if path_style {
                e.clone()
            } else {
                // Virtual-hosted style on a custom endpoint: the bucket is part of the host.
                let (scheme, host) = e.split_once("://").unwrap_or(("https", &e));
                format!("{scheme}://{}.{host}", loc.bucket)
            };
            b = b
                .with_endpoint(&url)
                .with_allow_http(url.starts_with("http://"))
                .with_virtual_hosted_style_request(!path_style);
            if path_style {
                format!("{url} (path-style)")
            } else {
                url
            }
        }
        None => {
            b = b.with_virtual_hosted_style_request(!path_style_flag);
            format!("AWS S3 in {region}")
        }
    };
    let default_chain = flag(props, "aws.s3.use_instance_profile", false)?
        || flag(props, "aws.s3.use_aws_sdk_default_behavior", false)?;
    let ak = props.get("aws.s3.access_key");
    let sk = props.get("aws.s3.secret_key");
    let creds = match (ak, sk) {
        (Some(ak), Some(sk)) if !default_chain => {
            b = b.with_access_key_id(ak).with_secret_access_key(sk);
            if let Some(t) = props.get("aws.s3.session_token") {
                b = b.with_token(t);
            }
            format!("access key '{}' from aws.s3.access_key", mask(ak))
        }
        (Some(_), None) | (None, Some(_)) if !default_chain => {
            return Err(FilesError::InvalidProperty(
                "aws.s3.access_key and aws.s3.secret_key must be given together".into(),
            ));
        }
        _ => match std::env::var("AWS_ACCESS_KEY_ID") {
            Ok(ak) if !ak.is_empty() => {
                format!("access key '{}' from AWS_ACCESS_KEY_ID", mask(&ak))
            }
            _ => "the default credential chain (web identity, container, instance profile)"
                .to_string(),
        },
    };
    let store = b.build().map_err(|e| {
        FilesError::InvalidProperty(format!(
            "cannot configure S3 access to bucket '{}': {e}",
            loc.bucket
        ))
    })?;
    Ok(ResolvedStore {
        store: Arc::new(Pooled::new(store)),
        context: format!("credentials: {creds}; endpoint: {endpoint_desc}; region: {region}"),
    })
}

/// How a request to S3 is retried: on 5xx (SlowDown, InternalError), 429, 408 and connection
/// errors, up to 5 times with full-jitter backoff from 100 ms doubling to at most 4 s, so a
/// persistent fault fails within about 8 s naming the path and the store's error (object_store's
/// default, 10 retries up to 15 s each over 3 minutes, held a statement for minutes). AWS SDKs'
/// standard mode makes 3 attempts; outages longer than this are for the job-level retries
/// (a pipe retries a failed batch 5 times with backoff) and for the user.
pub(crate) fn retry_config() -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: std::time::Duration::from_millis(100),
            max_backoff: std::time::Duration::from_secs(4),
            base: 2.0,
        },
        max_retries: 5,
        retry_timeout: std::time::Duration::from_secs(60),
    }
}

/// Shows the first 4 characters of a key id only.
fn mask(key: &str) -> String {
    let head: String = key.chars().take(4).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let l = Location::parse("s3://bucket/a/b.parquet").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.key.as_str()),
            ("bucket", "a/b.parquet")
        );
        let l = Location::parse("file:///tmp/x.csv").unwrap();
        assert_eq!(l.key, "tmp/x.csv");
        assert!(Location::parse("/tmp/x").is_err());
        assert!(Location::parse("hdfs://nn/x").is_err());
        assert!(is_local_host("http://127.0.0.1:9000"));
        assert!(is_local_host("localhost:9000"));
        assert!(!is_local_host("https://s3.example.com"));
    }
}
