//! `spec.s3` as a checked [`S3Target`]: the one mapping from the CRD's S3 fields to what BR,
//! the agent, the clean and the operator use, so no two of them can read a spec differently.
//!
//! Rules kept from TiDB Operator: path-style addressing except for providers `alibaba` and
//! `netease` (an explicit `forcePathStyle` wins); a `ceph` endpoint given as a bare
//! `host:port` means `http://host:port`; provider `aws` defaults to ACL `private` and storage
//! class `STANDARD_IA`. Only the ACLs, storage classes and encryption modes the user
//! documentation lists are accepted, so a bad value is named at once rather than by BR's
//! first upload.

use tibr_api::pingcap::v1alpha1::S3StorageProvider;

use super::location::Location;
use crate::field::{FieldError, path};

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

    pub fn location(&self) -> &Location {
        match self {
            Target::S3(s3) => &s3.location,
        }
    }
}

/// An S3-compatible location with what BR needs to write there (no secrets: those only ever
/// come from the environment). Optional values are the spec's own; defaults are applied by
/// [`S3Target::effective_acl`] and [`S3Target::effective_storage_class`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Target {
    /// `aws`, `ceph`, `minio`, `alibaba`, `netease`, `other`, … (free text, as in the CRD).
    pub provider: String,
    pub location: Location,
    pub region: Option<String>,
    /// An `http://` or `https://` URL.
    pub endpoint: Option<String>,
    pub acl: Option<String>,
    pub storage_class: Option<String>,
    pub sse: Option<String>,
    /// KMS key for `sse: aws:kms` (BR's `--s3.sse-kms-key-id`).
    pub sse_kms_key_id: Option<String>,
    pub force_path_style: Option<bool>,
}

impl S3Target {
    /// A target with nothing but a provider and a location.
    pub fn new(provider: impl Into<String>, location: Location) -> Self {
        S3Target {
            provider: provider.into(),
            location,
            region: None,
            endpoint: None,
            acl: None,
            storage_class: None,
            sse: None,
            sse_kms_key_id: None,
            force_path_style: None,
        }
    }

    /// The same store and settings at another location (where a backup was written, when
    /// the spec has been edited since).
    pub fn at(&self, location: Location) -> S3Target {
        S3Target {
            location,
            ..self.clone()
        }
    }

    /// `s3://<bucket>/<prefix>`, without a trailing slash.
    pub fn backup_path(&self) -> String {
        self.location.url("s3")
    }

    /// Whether requests use path-style addressing (`endpoint/bucket/key`).
    pub fn path_style(&self) -> bool {
        self.force_path_style
            .unwrap_or(!matches!(self.provider.as_str(), "alibaba" | "netease"))
    }

    /// The ACL to send: the explicit one, else the provider default when asked for.
    pub fn effective_acl(&self, provider_defaults: bool) -> Option<&str> {
        match &self.acl {
            Some(acl) => Some(acl),
            None if provider_defaults && self.provider == "aws" => Some(AWS_DEFAULT_ACL),
            None => None,
        }
    }

    /// The storage class to put objects with: the explicit one, else the provider default.
    pub fn effective_storage_class(&self, provider_defaults: bool) -> Option<&str> {
        match &self.storage_class {
            Some(class) => Some(class),
            None if provider_defaults && self.provider == "aws" => Some(AWS_DEFAULT_STORAGE_CLASS),
            None => None,
        }
    }
}

fn non_empty(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `spec.s3` (found at `field`, e.g. `spec.s3` or `spec.backupTemplate.s3`) as a target, or
/// every rule it breaks.
pub fn s3_target(s3: &S3StorageProvider, field: &str) -> Result<S3Target, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut refuse =
        |rest: &str, message: String| errors.push(FieldError::new(path(field, rest), message));
    let provider = s3.provider.as_str().trim().to_string();
    if provider.is_empty() {
        refuse(
            "provider",
            "must not be empty: use aws, or the S3-compatible provider (minio, ceph, alibaba, …)"
                .into(),
        );
    }
    let bucket = non_empty(s3.bucket.as_deref()).unwrap_or_default();
    let prefix = s3.prefix.as_deref().unwrap_or_default().trim();
    let location = if bucket.is_empty() {
        refuse("bucket", "must not be empty".into());
        None
    } else {
        match Location::parse(&bucket, prefix) {
            Ok(l) if provider == "aws" => match aws_bucket_problem(l.bucket()) {
                Some(problem) => {
                    refuse("bucket", problem);
                    None
                }
                None => Some(l),
            },
            Ok(l) => Some(l),
            Err(e) => {
                refuse(e.part.field(), e.message);
                None
            }
        }
    };
    let endpoint = non_empty(s3.endpoint.as_deref()).map(|e| {
        if provider == "ceph" && !e.contains("://") {
            format!("http://{e}")
        } else {
            e
        }
    });
    if let Some(problem) = endpoint.as_deref().and_then(endpoint_problem) {
        refuse("endpoint", problem);
    }
    let listed = |rest: &str,
                  value: Option<&str>,
                  allowed: &[&str],
                  refuse: &mut dyn FnMut(&str, String)| {
        let value = non_empty(value);
        if let Some(v) = &value
            && !allowed.contains(&v.as_str())
        {
            refuse(
                rest,
                format!("unsupported value {v:?}: use one of {}", allowed.join(", ")),
            );
        }
        value
    };
    let acl = listed("acl", s3.acl.as_deref(), S3_ACLS, &mut refuse);
    let storage_class = listed(
        "storageClass",
        s3.storage_class.as_deref(),
        S3_STORAGE_CLASSES,
        &mut refuse,
    );
    let sse = listed("sse", s3.sse.as_deref(), S3_SSE_MODES, &mut refuse);
    match location {
        Some(location) if errors.is_empty() => Ok(S3Target {
            provider,
            location,
            region: non_empty(s3.region.as_deref()),
            endpoint,
            acl,
            storage_class,
            sse,
            sse_kms_key_id: None,
            force_path_style: s3.force_path_style,
        }),
        _ => Err(errors),
    }
}

/// Why `endpoint` is not one BR and the agent can use, quoted without any credentials it
/// carries: it must be an `http://` or `https://` URL with a host and, if any, a port from 1
/// to 65535; other schemes (`ftp://x`) would only fail inside the pod, and credentials in the
/// URL would reach BR's command line, where no secret may go.
pub fn endpoint_problem(endpoint: &str) -> Option<String> {
    endpoint_check(endpoint)
        .err()
        .map(|why| format!("{:?} {why} (e.g. http://minio.minio:9000)", shown(endpoint)))
}

/// The endpoint as a message may quote it: user information (a password, perhaps) blanked.
fn shown(endpoint: &str) -> String {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return endpoint.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => endpoint.to_string(),
    }
}

fn endpoint_check(endpoint: &str) -> Result<(), &'static str> {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return Err("is not a URL with a scheme and a host");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("is not a URL BR can use: the scheme must be http or https");
    }
    if endpoint
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("is not a URL: it contains white space");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry credentials: put them in the Secret spec.s3.secretName names");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((ip, after)) if !ip.is_empty() => (ip, after.strip_prefix(':')),
            _ => return Err("is not a URL: its IPv6 host is not closed by ']'"),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("is not a URL with a host");
    }
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err("is not a URL: its port is not a number from 1 to 65535");
    }
    Ok(())
}

/// AWS's bucket naming rules (the ones that matter for addressing): 3 to 63 lowercase
/// letters, digits, `.` and `-`, beginning and ending with a letter or digit, no `..`, and
/// not an IPv4 address.
fn aws_bucket_problem(name: &str) -> Option<String> {
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let ip_like = name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    let ok =
        (3..=63).contains(&name.len()) && chars_ok && ends_ok && !name.contains("..") && !ip_like;
    (!ok).then(|| {
        format!(
            "{name:?} is not a valid S3 bucket name: 3 to 63 lowercase letters, digits, '.' and \
             '-', beginning and ending with a letter or digit"
        )
    })
}

#[cfg(test)]
mod tests;
