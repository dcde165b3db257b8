//! The validated storage as a `tibr-storage` target, opened with credentials from the
//! environment only (static keys from the Job's Secret references, or IAM).

use tibr_core::backup::Storage;
use tibr_core::storage::{Location, Target};
use tibr_storage::{Env, OpenOptions, Store};

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

/// The target at `status.backupPath` (`s3://bucket/prefix`), with the endpoint, region and
/// addressing of `storage`: the data is where the backup said it wrote it, even if the spec's
/// prefix was edited since. A path that does not pass the location rules is refused.
pub fn target_at(storage: &Storage, backup_path: &str) -> Result<Target, String> {
    let Storage::S3(s3) = storage;
    let location = Location::from_url(backup_path, "s3")
        .map_err(|e| format!("status.backupPath {backup_path:?}: {}", e.message))?;
    Ok(Target::S3(s3.target.at(location)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tibr_core::backup::S3Storage;
    use tibr_core::storage::S3Target;

    fn s3() -> Storage {
        let mut target = S3Target::new("aws", Location::parse("bkt/mid", "p").unwrap());
        target.region = Some("us-west-1".into());
        Storage::S3(S3Storage {
            target,
            secret_name: Some("s3-secret".into()),
        })
    }

    #[test]
    fn targets_follow_the_recorded_path() {
        assert_eq!(s3().target().backup_path(), "s3://bkt/mid/p");
        let Ok(Target::S3(at)) = target_at(&s3(), "s3://other/x/y") else {
            panic!("a path")
        };
        let l = &at.location;
        assert_eq!((l.bucket(), l.prefix()), ("other", "x/y"));
        assert_eq!(at.region.as_deref(), Some("us-west-1"));
        for bad in ["gcs://b/p", "s3://", "s3://b/x/../y", "s3://b/p?x"] {
            assert!(target_at(&s3(), bad).is_err(), "{bad}");
        }
    }
}
