//! `spec.s3` (and the storage kinds not supported yet) into a [`Storage`]: the provider,
//! where the data goes, and the ACL, storage class and encryption values S3 accepts, checked
//! here so a bad value is named at once rather than by BR's first upload.

use tibr_api::Backup;

use super::{Errors, non_empty};
use crate::backup::view::{S3Storage, Storage};
use crate::storage::Location;

/// ACLs S3 accepts for `spec.s3.acl` (the documentation's list).
pub const S3_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// Storage classes the documentation lists for `spec.s3.storageClass`.
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

pub(super) fn validate_storage(errors: &mut Errors, backup: &Backup) -> Option<Storage> {
    let storage = &backup.spec.storage;
    let Some(s3) = storage.s3.as_ref() else {
        let other = if storage.gcs.is_some() {
            Some(("spec.gcs", "Google Cloud Storage"))
        } else if storage.azblob.is_some() {
            Some(("spec.azblob", "Azure Blob Storage"))
        } else if storage.local.is_some() {
            Some(("spec.local", "local volumes"))
        } else {
            None
        };
        match other {
            Some((field, what)) => errors.push(
                field,
                format!(
                    "{what} is not supported yet: use spec.s3 (S3 or an S3-compatible service)"
                ),
            ),
            None => errors.push("spec.s3", "required: say where to store the backup"),
        }
        return None;
    };
    let before = errors.0.len();
    let provider = s3.provider.as_str().trim().to_string();
    if provider.is_empty() {
        errors.push(
            "spec.s3.provider",
            "must not be empty: use aws, or the S3-compatible provider (minio, ceph, alibaba, …)",
        );
    }
    let bucket = non_empty(&s3.bucket).unwrap_or_default();
    if bucket.is_empty() {
        errors.push("spec.s3.bucket", "must not be empty");
    }
    let location = Location::new(&bucket, &non_empty(&s3.prefix).unwrap_or_default());
    let endpoint = non_empty(&s3.endpoint);
    super::endpoint::check_endpoint(errors, endpoint.as_deref());
    let aws = provider == "aws";
    let acl = non_empty(&s3.acl);
    if let Some(a) = &acl
        && !S3_ACLS.contains(&a.as_str())
    {
        errors.push(
            "spec.s3.acl",
            format!("unsupported value {a:?}: use one of {}", S3_ACLS.join(", ")),
        );
    }
    let storage_class = non_empty(&s3.storage_class);
    if let Some(c) = &storage_class
        && !S3_STORAGE_CLASSES.contains(&c.as_str())
    {
        errors.push(
            "spec.s3.storageClass",
            format!(
                "unsupported value {c:?}: use one of {}",
                S3_STORAGE_CLASSES.join(", ")
            ),
        );
    }
    let sse = non_empty(&s3.sse);
    if let Some(s) = &sse
        && !S3_SSE_MODES.contains(&s.as_str())
    {
        errors.push(
            "spec.s3.sse",
            format!(
                "unsupported value {s:?}: use one of {}",
                S3_SSE_MODES.join(", ")
            ),
        );
    }
    if errors.0.len() > before {
        return None;
    }
    Some(Storage::S3(S3Storage {
        provider,
        location,
        region: non_empty(&s3.region),
        endpoint,
        explicit_acl: acl.is_some(),
        explicit_storage_class: storage_class.is_some(),
        acl: acl.or_else(|| aws.then(|| "private".to_string())),
        storage_class: storage_class.or_else(|| aws.then(|| "STANDARD_IA".to_string())),
        sse,
        force_path_style: s3.force_path_style,
        secret_name: non_empty(&s3.secret_name),
    }))
}
