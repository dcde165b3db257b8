//! The validated storage as a `tibr-storage` target, opened with credentials from the
//! environment only (static keys from the Job's Secret references, or IAM).

use tibr_core::backup::{S3Storage, Storage};
use tibr_storage::{Env, OpenOptions, S3Target, Store, Target};

/// The target BR writes to, field for field.
pub fn target(storage: &Storage) -> Target {
    match storage {
        Storage::S3(s3) => Target::S3(s3_target(s3)),
    }
}

fn s3_target(s3: &S3Storage) -> S3Target {
    S3Target {
        provider: s3.provider.clone(),
        bucket: s3.location.bucket.clone(),
        prefix: s3.location.prefix.clone(),
        region: s3.region.clone(),
        endpoint: s3.endpoint.clone(),
        acl: s3.acl.clone().filter(|_| s3.explicit_acl),
        storage_class: s3.storage_class.clone(),
        sse: s3.sse.clone(),
        sse_kms_key_id: None,
        force_path_style: s3.force_path_style,
    }
}

/// Opens `target` for reading and deleting. Provider defaults stay off: the agent writes no
/// objects, and an ACL header on requests to a bucket with ACLs disabled would be refused.
pub fn open(target: &Target) -> tibr_storage::Result<Store> {
    tibr_storage::open_with(
        target,
        &OpenOptions {
            env: Env::from_process(),
            provider_defaults: false,
            ..OpenOptions::default()
        },
    )
}

/// The target for `status.backupPath` (`s3://bucket/prefix`), with the endpoint, region and
/// addressing of `storage`: the data is where the backup said it wrote it, even if the spec's
/// prefix was edited since.
pub fn target_at(storage: &Storage, backup_path: &str) -> Option<Target> {
    let Storage::S3(s3) = storage;
    let rest = backup_path.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    let mut t = s3_target(s3);
    t.bucket = bucket.to_string();
    t.prefix = prefix.trim_matches('/').to_string();
    Some(Target::S3(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tibr_core::storage::Location;

    fn s3() -> Storage {
        Storage::S3(S3Storage {
            provider: "aws".into(),
            location: Location::new("b/mid", "p"),
            region: Some("us-west-1".into()),
            endpoint: None,
            acl: Some("private".into()),
            storage_class: Some("STANDARD_IA".into()),
            explicit_acl: false,
            explicit_storage_class: false,
            sse: None,
            force_path_style: None,
            secret_name: Some("s3-secret".into()),
        })
    }

    #[test]
    fn targets_follow_the_view_and_the_recorded_path() {
        let Target::S3(t) = target(&s3()) else {
            panic!("S3")
        };
        assert_eq!((t.bucket.as_str(), t.prefix.as_str()), ("b", "mid/p"));
        assert_eq!(t.acl, None, "the default ACL is not sent");
        assert_eq!(t.backup_path(), "s3://b/mid/p");
        let Some(Target::S3(at)) = target_at(&s3(), "s3://other/x/y") else {
            panic!("a path")
        };
        assert_eq!((at.bucket.as_str(), at.prefix.as_str()), ("other", "x/y"));
        assert_eq!(at.region.as_deref(), Some("us-west-1"));
        assert!(target_at(&s3(), "gcs://b/p").is_none());
        assert!(target_at(&s3(), "s3://").is_none());
    }

    /// Validation (no I/O, in tibr-core) and the storage layer (tibr-storage) each keep the
    /// values the documentation lists, on either side of the pure/I-O boundary: the agent,
    /// which hands validated values to storage, holds them equal.
    #[test]
    fn validation_and_storage_accept_the_same_values() {
        use tibr_storage::target;
        assert_eq!(tibr_core::backup::S3_ACLS, target::S3_ACLS);
        assert_eq!(
            tibr_core::backup::S3_STORAGE_CLASSES,
            target::S3_STORAGE_CLASSES
        );
        assert_eq!(tibr_core::backup::S3_SSE_MODES, target::S3_SSE_MODES);
    }
}
