//! Opening a [`Target`] as an `object_store` client, and the small object API tibr needs.
//!
//! Credentials come only from [`Env`] (the process environment by default) in the order of the
//! standard AWS chain: static keys (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
//! `AWS_SESSION_TOKEN`), web identity (`AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE`, STS at
//! `AWS_ENDPOINT_URL_STS` when set), container credentials, then the instance metadata service
//! (at `AWS_EC2_METADATA_SERVICE_ENDPOINT` when set, unless `AWS_EC2_METADATA_DISABLED=true`).
//!
//! Endpoint: the target's, else `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, else AWS.
//! Region: the target's, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1` (the Go
//! SDK default TiDB Operator relies on).
//!
//! The ACL travels as a default `x-amz-acl` header (object_store has no ACL option; its S3 client
//! signs default headers, so SigV4 servers accept it); the storage class is set per object on
//! put. `Store`'s `Debug` never delegates to the inner client, whose credential provider could
//! print a key.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, BackoffConfig, ClientOptions, HeaderMap, HeaderValue,
    ObjectStore, ObjectStoreExt, PutOptions, PutPayload, RetryConfig,
};

use crate::env::{self, Env};
use crate::error::{Redactor, Result, StorageError};
use tibr_core::storage::{Location, S3Target, Target, endpoint_problem};

/// Where the credentials of a store come from (never the values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    StaticKeys,
    WebIdentity,
    Container,
    InstanceMetadata,
    /// A store built around a caller-provided client.
    External,
}

/// How to open a target.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Where credentials and endpoint overrides come from.
    pub env: Env,
    /// Apply provider `aws` defaults (ACL `private`, storage class `STANDARD_IA`) when the target
    /// names none. TiDB Operator's own tools do; BR does not (the br stand-in turns this off).
    pub provider_defaults: bool,
    /// Retries of one request inside the client (network errors, 5xx, throttling).
    pub max_retries: usize,
    /// Upper bound on the time spent retrying one request.
    pub retry_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            env: Env::from_process(),
            provider_defaults: true,
            max_retries: 5,
            retry_timeout: Duration::from_secs(60),
        }
    }
}

/// Opens a target with credentials from the process environment.
pub fn open(target: &Target) -> Result<Store> {
    open_with(target, &OpenOptions::default())
}

/// Opens a target with explicit options.
pub fn open_with(target: &Target, options: &OpenOptions) -> Result<Store> {
    match target {
        Target::S3(s3) => open_s3(s3, options),
    }
}

fn open_s3(target: &S3Target, options: &OpenOptions) -> Result<Store> {
    let env = &options.env;
    let location = &target.location;
    let region = non_empty(target.region.as_deref())
        .or_else(|| env.get(env::REGION))
        .or_else(|| env.get(env::DEFAULT_REGION))
        .unwrap_or("us-east-1")
        .to_owned();
    let endpoint = non_empty(target.endpoint.as_deref())
        .or_else(|| env.get(env::ENDPOINT_URL_S3))
        .or_else(|| env.get(env::ENDPOINT_URL))
        .map(|e| e.trim_end_matches('/').to_owned());
    if let Some(problem) = endpoint.as_deref().and_then(endpoint_problem) {
        return Err(StorageError::InvalidTarget(format!(
            "S3 endpoint {problem}"
        )));
    }
    let path_style = target.path_style();

    // allow_http must live inside the ClientOptions: with_client_options replaces it otherwise.
    let mut client = ClientOptions::new().with_allow_http(
        endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("http://")),
    );
    if let Some(acl) = target.effective_acl(options.provider_defaults) {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(acl)
            .map_err(|_| StorageError::InvalidTarget(format!("invalid ACL {acl:?}")))?;
        headers.insert("x-amz-acl", value);
        client = client.with_default_headers(headers);
    }

    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(location.bucket())
        .with_region(&region)
        .with_client_options(client)
        .with_virtual_hosted_style_request(!path_style)
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: options.max_retries,
            retry_timeout: options.retry_timeout,
        });
    if let Some(endpoint) = &endpoint {
        // Virtual-hosted requests against a custom endpoint need the bucket in the host name.
        let endpoint = if path_style {
            endpoint.clone()
        } else {
            virtual_host_endpoint(endpoint, location.bucket())
        };
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(sse) = non_empty(target.sse.as_deref()) {
        builder = builder.with_config(config_key("aws_server_side_encryption"), sse);
        if let Some(key) = non_empty(target.sse_kms_key_id.as_deref()) {
            builder = builder.with_config(config_key("aws_sse_kms_key_id"), key);
        }
    }
    let (builder, credential_source) = with_credentials(builder, env)?;

    let redactor = Redactor::new(env.secret_values());
    let build = |builder: AmazonS3Builder| {
        builder
            .build()
            .map_err(|e| StorageError::InvalidTarget(redactor.redact(&format!("S3 client: {e}"))))
    };
    // A second client whose deletes are single `DELETE /key` requests, for cleaning with
    // batching disabled (object_store's own single delete is a one-key DeleteObjects).
    let single = build(
        builder
            .clone()
            .with_config(config_key("aws_disable_bulk_delete"), "true"),
    )?;
    let inner = build(builder)?;
    Ok(Store {
        inner: Arc::new(inner),
        single_delete: Arc::new(single),
        location: location.clone(),
        endpoint: endpoint.unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com")),
        storage_class: target
            .effective_storage_class(options.provider_defaults)
            .map(str::to_owned),
        credential_source,
        redactor,
    })
}

fn config_key(name: &str) -> AmazonS3ConfigKey {
    name.parse()
        .unwrap_or_else(|_| panic!("object_store knows the S3 config key {name}"))
}

fn with_credentials(
    mut builder: AmazonS3Builder,
    env: &Env,
) -> Result<(AmazonS3Builder, CredentialSource)> {
    match (env.get(env::ACCESS_KEY_ID), env.get(env::SECRET_ACCESS_KEY)) {
        (Some(key), Some(secret)) => {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
            if let Some(token) = env.get(env::SESSION_TOKEN) {
                builder = builder.with_token(token);
            }
            return Ok((builder, CredentialSource::StaticKeys));
        }
        (Some(_), None) => {
            return Err(StorageError::Credentials(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(StorageError::Credentials(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not".into(),
            ));
        }
        (None, None) => {}
    }
    if let (Some(role), Some(token_file)) = (
        env.get(env::ROLE_ARN),
        env.get(env::WEB_IDENTITY_TOKEN_FILE),
    ) {
        builder = builder
            .with_config(config_key("aws_role_arn"), role)
            .with_config(config_key("aws_web_identity_token_file"), token_file);
        if let Some(name) = env.get(env::ROLE_SESSION_NAME) {
            builder = builder.with_config(config_key("aws_role_session_name"), name);
        }
        if let Some(sts) = env.get(env::ENDPOINT_URL_STS) {
            builder = builder.with_config(config_key("aws_endpoint_url_sts"), sts);
        }
        return Ok((builder, CredentialSource::WebIdentity));
    }
    if let Some(uri) = env.get(env::CONTAINER_CREDENTIALS_RELATIVE_URI) {
        builder = builder.with_config(config_key("aws_container_credentials_relative_uri"), uri);
        return Ok((builder, CredentialSource::Container));
    }
    if let (Some(uri), Some(token_file)) = (
        env.get(env::CONTAINER_CREDENTIALS_FULL_URI),
        env.get(env::CONTAINER_AUTHORIZATION_TOKEN_FILE),
    ) {
        builder = builder
            .with_config(config_key("aws_container_credentials_full_uri"), uri)
            .with_config(
                config_key("aws_container_authorization_token_file"),
                token_file,
            );
        return Ok((builder, CredentialSource::Container));
    }
    if env
        .get(env::EC2_METADATA_DISABLED)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Err(StorageError::Credentials(
            "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or \
             AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE (the instance metadata service is \
             disabled by AWS_EC2_METADATA_DISABLED)"
                .into(),
        ));
    }
    if let Some(endpoint) = env.get(env::EC2_METADATA_SERVICE_ENDPOINT) {
        builder = builder.with_metadata_endpoint(endpoint.trim_end_matches('/'));
    }
    Ok((builder, CredentialSource::InstanceMetadata))
}

/// `https://host` + bucket ⇒ `https://bucket.host`.
fn virtual_host_endpoint(endpoint: &str, bucket: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{bucket}.{rest}"),
        None => format!("{bucket}.{endpoint}"),
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

/// An opened bucket: an `object_store` client plus the target's bucket and key prefix.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    single_delete: Arc<dyn ObjectStore>,
    location: Location,
    endpoint: String,
    storage_class: Option<String>,
    credential_source: CredentialSource,
    redactor: Redactor,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("bucket", &self.location.bucket())
            .field("prefix", &self.location.prefix())
            .field("endpoint", &self.endpoint)
            .field("storage_class", &self.storage_class)
            .field("credential_source", &self.credential_source)
            .finish()
    }
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Full key inside the bucket.
    pub key: String,
    pub size: u64,
}

impl Store {
    /// Wraps an existing client (tests use this to inject failures).
    pub fn from_object_store(inner: Arc<dyn ObjectStore>, location: Location) -> Self {
        Store {
            single_delete: Arc::clone(&inner),
            inner,
            location,
            endpoint: "external".into(),
            storage_class: None,
            credential_source: CredentialSource::External,
            redactor: Redactor::default(),
        }
    }

    /// The same bucket and credentials around a different client (e.g. a fault-injecting one).
    pub fn with_object_store(&self, inner: Arc<dyn ObjectStore>) -> Self {
        Store {
            single_delete: Arc::clone(&inner),
            inner,
            ..self.clone()
        }
    }

    pub fn bucket(&self) -> &str {
        self.location.bucket()
    }

    /// The target's key prefix (after bucket sub-path splitting).
    pub fn prefix(&self) -> &str {
        self.location.prefix()
    }

    /// Where this store was opened: everything it writes or deletes lies under it.
    pub fn location(&self) -> &Location {
        &self.location
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn storage_class(&self) -> Option<&str> {
        self.storage_class.as_deref()
    }

    pub fn credential_source(&self) -> CredentialSource {
        self.credential_source
    }

    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    /// The client whose deletes are one request per object.
    pub(crate) fn single_delete_store(&self) -> &Arc<dyn ObjectStore> {
        &self.single_delete
    }

    /// `s3://bucket/key`.
    pub fn url(&self, key: &str) -> String {
        let key = key.trim_matches('/');
        if key.is_empty() {
            format!("s3://{}", self.bucket())
        } else {
            format!("s3://{}/{key}", self.bucket())
        }
    }

    /// The full key of `name` under the store's location; refused when `name` would leave it
    /// (a `..` segment, an absolute name), whoever wrote the name.
    pub fn key(&self, name: &str) -> Result<String> {
        self.location.key(name).ok_or_else(|| {
            StorageError::InvalidTarget(format!(
                "{name:?} does not name an object under {}",
                self.location.url("s3")
            ))
        })
    }

    /// The full key of `name` under `prefix`, a key prefix of this store's bucket, for
    /// reads; the same rules as a location's.
    pub(crate) fn key_under(&self, prefix: &str, name: &str) -> Result<String> {
        let under = Location::parse(self.bucket(), prefix).ok();
        under.and_then(|l| l.key(name)).ok_or_else(|| {
            StorageError::InvalidTarget(format!(
                "{prefix:?}/{name:?} does not name an object in bucket {}",
                self.bucket()
            ))
        })
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// Turns an `object_store` error into a redacted [`StorageError`].
    pub(crate) fn error(
        &self,
        op: &'static str,
        key: &str,
        err: object_store::Error,
    ) -> StorageError {
        let url = self.url(key);
        let detail = self.redact(&error_chain(&err));
        match err {
            object_store::Error::NotFound { .. } => StorageError::NotFound {
                what: "object".into(),
                url,
            },
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => {
                StorageError::AccessDenied { url, detail }
            }
            object_store::Error::Generic { .. } => {
                let transient = !is_client_error(&detail);
                StorageError::Request {
                    op,
                    url,
                    detail,
                    transient,
                }
            }
            _ => StorageError::Request {
                op,
                url,
                detail,
                transient: false,
            },
        }
    }

    /// Uploads one object, with the store's storage class.
    pub async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        let mut options = PutOptions::default();
        if let Some(class) = &self.storage_class {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::StorageClass, AttributeValue::from(class.clone()));
            options.attributes = attributes;
        }
        self.inner
            .put_opts(&literal(key)?, PutPayload::from(data), options)
            .await
            .map(|_| ())
            .map_err(|e| self.error("put", key, e))
    }

    pub async fn get(&self, key: &str) -> Result<Bytes> {
        let result = self
            .inner
            .get(&literal(key)?)
            .await
            .map_err(|e| self.error("get", key, e))?;
        result.bytes().await.map_err(|e| self.error("get", key, e))
    }

    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.inner.head(&literal(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error("head", key, e)),
        }
    }

    /// Every object under `prefix` (segment-wise: `a/b` covers `a/b/x`, not `a/bc`).
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        let path = literal(prefix)?;
        let listed: Vec<_> = self
            .inner
            .list(Some(&path))
            .try_collect()
            .await
            .map_err(|e| self.error("list", prefix, e))?;
        let mut out: Vec<ObjectInfo> = listed
            .into_iter()
            .map(|m| ObjectInfo {
                key: m.location.to_string(),
                size: m.size,
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

/// `key` as object_store's path, character for character: `Path::from` would percent-encode
/// characters such as `{` or `~`, and so read, write and delete other keys than BR's.
pub(crate) fn literal(key: &str) -> Result<Path> {
    Path::parse(key).map_err(|e| StorageError::InvalidTarget(format!("key {key:?}: {e}")))
}

/// The error's message followed by its sources, which is where object_store puts the HTTP
/// status and the server's error code.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// A 4xx answer is not worth retrying (object_store keeps them as `Generic` unless 401/403/404).
fn is_client_error(detail: &str) -> bool {
    ["status code: 4", "status 4"]
        .iter()
        .any(|marker| detail.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(bucket: &str, prefix: &str) -> Location {
        Location::parse(bucket, prefix).unwrap()
    }

    #[test]
    fn keys_are_literal_and_stay_inside() {
        let store = Store::from_object_store(
            Arc::new(object_store::memory::InMemory::new()),
            at("b", "p"),
        );
        assert_eq!(store.key("a{b}~c").unwrap(), "p/a{b}~c");
        assert_eq!(literal("p/a{b}~c").unwrap().as_ref(), "p/a{b}~c");
        assert!(store.key("../q").is_err());
        assert_eq!(store.key_under("p/sub", "x").unwrap(), "p/sub/x");
        assert_eq!(
            store.key_under("q", "x").unwrap(),
            "q/x",
            "reads may look elsewhere"
        );
        assert!(store.key_under("p/../q", "x").is_err());
    }

    #[test]
    fn virtual_host_inserts_bucket() {
        assert_eq!(
            virtual_host_endpoint("https://oss-cn-hangzhou.aliyuncs.com", "b"),
            "https://b.oss-cn-hangzhou.aliyuncs.com"
        );
    }

    #[test]
    fn missing_half_of_a_key_pair_is_a_clear_error() {
        let target = Target::S3(S3Target::new("aws", at("bkt", "")));
        let options = OpenOptions {
            env: Env::empty().with(env::ACCESS_KEY_ID, "AKIAONLY"),
            ..OpenOptions::default()
        };
        let err = open_with(&target, &options).unwrap_err().to_string();
        assert_eq!(
            err,
            "storage credentials: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
        );
        assert!(!err.contains("AKIAONLY"));
    }

    #[test]
    fn no_credentials_and_no_metadata_service() {
        let target = Target::S3(S3Target::new("aws", at("bkt", "")));
        let options = OpenOptions {
            env: Env::empty().with(env::EC2_METADATA_DISABLED, "true"),
            ..OpenOptions::default()
        };
        let err = open_with(&target, &options).unwrap_err();
        assert!(matches!(err, StorageError::Credentials(_)), "{err}");
    }

    #[test]
    fn endpoint_precedence_and_debug_hides_secrets() {
        let mut s3 = S3Target::new("ceph", at("b/mid", "p"));
        let env = Env::empty()
            .with(env::ACCESS_KEY_ID, "AKIAEXAMPLEKEY")
            .with(env::SECRET_ACCESS_KEY, "wJalrXUtnFEMIEXAMPLESECRET")
            .with(env::ENDPOINT_URL, "http://generic:1")
            .with(env::ENDPOINT_URL_S3, "http://s3only:2");
        let options = OpenOptions {
            env,
            ..OpenOptions::default()
        };
        let store = open_with(&Target::S3(s3.clone()), &options).unwrap();
        assert_eq!(store.endpoint(), "http://s3only:2");
        assert_eq!(store.bucket(), "b");
        assert_eq!(store.prefix(), "mid/p");
        assert_eq!(store.credential_source(), CredentialSource::StaticKeys);
        let dbg = format!("{store:?}");
        assert!(!dbg.contains("wJalrXUtnFEMIEXAMPLESECRET"), "{dbg}");
        assert!(!dbg.contains("AKIAEXAMPLEKEY"), "{dbg}");
        s3.endpoint = Some("http://explicit:3/".into());
        let store = open_with(&Target::S3(s3), &options).unwrap();
        assert_eq!(store.endpoint(), "http://explicit:3");
        assert_eq!(store.storage_class(), None);
    }
}
