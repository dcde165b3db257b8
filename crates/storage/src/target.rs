//! Where a backup lives, described without the CRD types.
//!
//! The pure core crate maps `spec.s3` onto [`S3Target`]; everything here is pure (no I/O, no
//! environment) so that the controller can compute `status.backupPath` and validate a spec
//! without touching storage.
//!
//! Rules kept from TiDB Operator:
//! - bucket sub-paths: `bucket: b/mid`, `prefix: p` ⇒ bucket `b`, key prefix `mid/p`; the two are
//!   joined and cleaned like Go's `path.Join` and split at the first `/`;
//! - backup path `s3://<bucket>/<prefix>` with no trailing slash;
//! - path-style addressing by default, except for providers `alibaba` and `netease`; an explicit
//!   `force_path_style` wins;
//! - provider `aws` defaults to ACL `private` and storage class `STANDARD_IA` (the operator sets
//!   them as `AWS_ACL` / `AWS_STORAGE_CLASS`); other providers have no default.
//!
//! Only the ACLs and storage classes the user documentation lists are accepted; anything else
//! is rejected up front with the list of accepted values rather than at the first upload.

use crate::error::StorageError;

/// The canned ACLs the documentation lists for `spec.s3.acl`.
pub const S3_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// The storage classes the documentation lists for `spec.s3.storageClass`.
pub const S3_STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "GLACIER",
    "DEEP_ARCHIVE",
];

/// Server-side encryption modes BR accepts for `--s3.sse`.
pub const S3_SSE_MODES: &[&str] = &["AES256", "aws:kms"];

/// ACL applied to provider `aws` when none is given.
pub const AWS_DEFAULT_ACL: &str = "private";
/// Storage class applied to provider `aws` when none is given.
pub const AWS_DEFAULT_STORAGE_CLASS: &str = "STANDARD_IA";

/// A storage backend. Only S3 exists today; GCS, Azure and local volumes will join it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    S3(S3Target),
}

impl Target {
    /// The backup location as shown in `status.backupPath`.
    pub fn backup_path(&self) -> String {
        match self {
            Target::S3(s3) => s3.backup_path(),
        }
    }
}

/// An S3-compatible location, field for field what `spec.s3` carries for BR (no secrets: those
/// only ever come from the environment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Target {
    /// `aws`, `ceph`, `minio`, `alibaba`, `netease`, `other`, … (free text, as in the CRD).
    pub provider: String,
    /// May carry a sub-path (`b/mid`), see [`S3Target::location`].
    pub bucket: String,
    pub prefix: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub acl: Option<String>,
    pub storage_class: Option<String>,
    pub sse: Option<String>,
    /// KMS key for `sse: aws:kms` (BR's `--s3.sse-kms-key-id`).
    pub sse_kms_key_id: Option<String>,
    pub force_path_style: Option<bool>,
}

/// A bucket and a key prefix inside it, after sub-path splitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    /// Key prefix without leading or trailing `/`; empty for the bucket root.
    pub prefix: String,
}

impl S3Target {
    pub fn new(provider: impl Into<String>, bucket: impl Into<String>) -> Self {
        S3Target {
            provider: provider.into(),
            bucket: bucket.into(),
            ..Default::default()
        }
    }

    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Bucket and key prefix after moving any bucket sub-path into the prefix.
    pub fn location(&self) -> Location {
        split_bucket_prefix(&self.bucket, &self.prefix)
    }

    /// `s3://<bucket>/<prefix>`, cleaned, without a trailing slash.
    pub fn backup_path(&self) -> String {
        backup_path(&self.bucket, &self.prefix)
    }

    /// Whether requests use path-style addressing (`endpoint/bucket/key`).
    pub fn path_style(&self) -> bool {
        self.force_path_style
            .unwrap_or(!matches!(self.provider.as_str(), "alibaba" | "netease"))
    }

    /// The ACL to send: the explicit one, else the provider default when asked for.
    pub fn effective_acl(&self, provider_defaults: bool) -> Option<&str> {
        match &self.acl {
            Some(acl) if !acl.is_empty() => Some(acl),
            _ if provider_defaults && self.provider == "aws" => Some(AWS_DEFAULT_ACL),
            _ => None,
        }
    }

    /// The storage class to put objects with: the explicit one, else the provider default.
    pub fn effective_storage_class(&self, provider_defaults: bool) -> Option<&str> {
        match &self.storage_class {
            Some(class) if !class.is_empty() => Some(class),
            _ if provider_defaults && self.provider == "aws" => Some(AWS_DEFAULT_STORAGE_CLASS),
            _ => None,
        }
    }

    /// Checks what can be checked without talking to storage.
    pub fn validate(&self) -> Result<(), StorageError> {
        let location = self.location();
        if location.bucket.is_empty() {
            return Err(StorageError::InvalidTarget("the S3 bucket is empty".into()));
        }
        check_listed("ACL", self.acl.as_deref(), S3_ACLS)?;
        check_listed(
            "storage class",
            self.storage_class.as_deref(),
            S3_STORAGE_CLASSES,
        )?;
        check_listed("server-side encryption", self.sse.as_deref(), S3_SSE_MODES)?;
        if let Some(endpoint) = self.endpoint.as_deref().filter(|e| !e.is_empty()) {
            check_endpoint(endpoint)?;
        }
        Ok(())
    }
}

fn check_listed(what: &str, value: Option<&str>, allowed: &[&str]) -> Result<(), StorageError> {
    match value {
        Some(v) if !v.is_empty() && !allowed.contains(&v) => {
            Err(StorageError::InvalidTarget(format!(
                "unsupported S3 {what} {v:?}; accepted: {}",
                allowed.join(", ")
            )))
        }
        _ => Ok(()),
    }
}

/// An endpoint must be an absolute `http://` or `https://` URL with a host.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<(), StorageError> {
    let rest = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))
        .ok_or_else(|| {
            StorageError::InvalidTarget(format!(
                "S3 endpoint {endpoint:?} must start with http:// or https://"
            ))
        })?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(StorageError::InvalidTarget(format!(
            "S3 endpoint {endpoint:?} has no host"
        )));
    }
    Ok(())
}

/// Joins `bucket` and `prefix` like Go's `path.Join` and splits at the first `/`.
pub fn split_bucket_prefix(bucket: &str, prefix: &str) -> Location {
    let joined = clean_path(&format!("{bucket}/{prefix}"));
    match joined.split_once('/') {
        Some((bucket, prefix)) => Location {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        },
        None => Location {
            bucket: joined,
            prefix: String::new(),
        },
    }
}

/// `s3://<bucket>/<prefix>` (cleaned, no trailing slash), as TiDB Operator shows it.
pub fn backup_path(bucket: &str, prefix: &str) -> String {
    let location = split_bucket_prefix(bucket, prefix);
    url_for("s3", &location.bucket, &location.prefix)
}

/// `scheme://bucket/key` without doubled or trailing slashes.
pub(crate) fn url_for(scheme: &str, bucket: &str, key: &str) -> String {
    if key.is_empty() {
        format!("{scheme}://{bucket}")
    } else {
        format!("{scheme}://{bucket}/{key}")
    }
}

/// Go `path.Clean` without the leading slash: no empty, `.` or `..` segments.
pub(crate) fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Joins a key prefix and a name relative to it.
pub fn join_key(prefix: &str, name: &str) -> String {
    clean_path(&format!("{prefix}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_sub_path_moves_into_prefix() {
        let loc = split_bucket_prefix("b/mid", "p");
        assert_eq!(loc.bucket, "b");
        assert_eq!(loc.prefix, "mid/p");
        assert_eq!(backup_path("b/mid", "p"), "s3://b/mid/p");
        assert_eq!(backup_path("b", "/p/q/"), "s3://b/p/q");
        assert_eq!(backup_path("b", ""), "s3://b");
        assert_eq!(backup_path("b/", "//x//y"), "s3://b/x/y");
        assert_eq!(split_bucket_prefix("b", "").prefix, "");
    }

    #[test]
    fn path_style_rule() {
        let mut t = S3Target::new("aws", "b");
        assert!(t.path_style());
        t.provider = "alibaba".into();
        assert!(!t.path_style());
        t.provider = "netease".into();
        assert!(!t.path_style());
        t.force_path_style = Some(true);
        assert!(t.path_style());
        t.provider = "ceph".into();
        t.force_path_style = Some(false);
        assert!(!t.path_style());
    }

    #[test]
    fn aws_defaults_only_for_aws() {
        let t = S3Target::new("aws", "b");
        assert_eq!(t.effective_acl(true), Some("private"));
        assert_eq!(t.effective_storage_class(true), Some("STANDARD_IA"));
        assert_eq!(t.effective_storage_class(false), None);
        let t = S3Target::new("ceph", "b");
        assert_eq!(t.effective_acl(true), None);
        assert_eq!(t.effective_storage_class(true), None);
        let mut t = S3Target::new("aws", "b");
        t.storage_class = Some("STANDARD".into());
        assert_eq!(t.effective_storage_class(true), Some("STANDARD"));
    }

    #[test]
    fn validation_names_the_accepted_values() {
        let mut t = S3Target::new("aws", "b");
        t.acl = Some("public".into());
        let err = t.validate().unwrap_err().to_string();
        assert!(err.contains("unsupported S3 ACL \"public\""), "{err}");
        assert!(err.contains("bucket-owner-full-control"), "{err}");
        t.acl = Some("bucket-owner-read".into());
        t.storage_class = Some("INTELLIGENT_TIERING".into());
        let err = t.validate().unwrap_err().to_string();
        assert!(err.contains("storage class"), "{err}");
        t.storage_class = Some("DEEP_ARCHIVE".into());
        assert!(t.validate().is_ok());
        t.endpoint = Some("minio:9000".into());
        assert!(t.validate().is_err());
        t.endpoint = Some("http://minio:9000".into());
        assert!(t.validate().is_ok());
        assert!(S3Target::new("aws", "").validate().is_err());
        assert!(S3Target::new("aws", "/").validate().is_err());
    }
}
