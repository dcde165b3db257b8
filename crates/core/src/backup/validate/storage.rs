//! `spec.s3` (and the storage kinds not supported yet) into a [`Storage`]: where the data
//! goes and how to reach it, through the one mapping in `crate::storage`.

use tibr_api::pingcap::v1alpha1::StorageProvider;

use super::{Errors, non_empty};
use crate::backup::view::{S3Storage, Storage};
use crate::field::path;
use crate::storage::s3_target;

/// `storage` (found at `base`: `spec` or `spec.backupTemplate`) as a [`Storage`].
pub(super) fn validate_storage(
    errors: &mut Errors,
    base: &str,
    storage: &StorageProvider,
) -> Option<Storage> {
    let Some(s3) = storage.s3.as_ref() else {
        let other = if storage.gcs.is_some() {
            Some(("gcs", "Google Cloud Storage"))
        } else if storage.azblob.is_some() {
            Some(("azblob", "Azure Blob Storage"))
        } else if storage.local.is_some() {
            Some(("local", "local volumes"))
        } else {
            None
        };
        match other {
            Some((field, what)) => errors.push(
                &path(base, field),
                format!("{what} is not supported yet: use s3 (S3 or an S3-compatible service)"),
            ),
            None => errors.push(&path(base, "s3"), "required: say where to store the backup"),
        }
        return None;
    };
    match s3_target(s3, &path(base, "s3")) {
        Ok(target) => Some(Storage::S3(S3Storage {
            target,
            secret_name: non_empty(&s3.secret_name),
        })),
        Err(problems) => {
            errors.0.extend(problems);
            None
        }
    }
}
