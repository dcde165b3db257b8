//! Which Secrets must outlive the Backups that name them (docs/adr/0003).
//!
//! A Backup that carries the protection finalizer may still need its Secrets: the S3
//! credentials to delete its data, the TiDB password to put the GC life time back. When a
//! namespace is deleted, Kubernetes deletes its Secrets and Backups together; without a
//! finalizer of its own on those Secrets the operator would be left holding Backups whose
//! data nobody can delete. A Secret is protected exactly while some protected Backup in its
//! namespace names it, so the finalizer goes as soon as the last such Backup lets go.

use tibr_api::{Backup, pingcap::v1alpha1::BackupSpec};

use super::{decide::FinalizerChange, decide::has_protection, labels::CREDENTIALS_FINALIZER};

/// The Secrets a spec names (`spec.s3.secretName`, `spec.from.secretName`).
pub fn referenced_secrets(spec: &BackupSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |name: Option<&str>| {
        if let Some(n) = name.map(str::trim).filter(|n| !n.is_empty())
            && !out.iter().any(|o| o == n)
        {
            out.push(n.to_string());
        }
    };
    add(spec
        .storage
        .s3
        .as_ref()
        .and_then(|s| s.secret_name.as_deref()));
    add(spec.from.as_ref().map(|f| f.secret_name.as_str()));
    out
}

/// Whether `backup` needs Secret `name` (of its own namespace) to stay.
pub fn needs(backup: &Backup, name: &str) -> bool {
    has_protection(backup) && referenced_secrets(&backup.spec).iter().any(|s| s == name)
}

/// A Backup that needs Secret `name` and is not being deleted, if `backups` hold one.
///
/// While such a Backup exists the Secret stays needed whatever else has changed: the
/// operator lets go of a Backup's protection only while deleting it, so before the Secret
/// can stop being needed its last holder shows a deletion timestamp. A possibly stale
/// view (a cache) that holds one therefore decides "keep" as a fresh read would. The other
/// ways to let go (a person removing the protection finalizer or renaming the Secret in
/// the spec) are seen at the next change or resync, and only ever keep a Secret longer.
pub fn live_holder<'a>(
    name: &str,
    backups: impl IntoIterator<Item = &'a Backup>,
) -> Option<&'a Backup> {
    backups
        .into_iter()
        .find(|b| b.metadata.deletion_timestamp.is_none() && needs(b, name))
}

/// The change to Secret `name`'s finalizers, given every Backup of its namespace that
/// needs it (or every Backup). A finalizer cannot be added to an object being deleted, so
/// a Secret already going away is never newly protected.
pub fn secret_finalizer_change<'a>(
    name: &str,
    finalizers: &[String],
    deleting: bool,
    backups: impl IntoIterator<Item = &'a Backup>,
) -> Option<FinalizerChange> {
    let has = finalizers.iter().any(|f| f == CREDENTIALS_FINALIZER);
    let needed = backups.into_iter().any(|b| needs(b, name));
    match (needed, has) {
        (true, false) if !deleting => Some(FinalizerChange::Add),
        (false, true) => Some(FinalizerChange::Remove),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tibr_api::constants::BACKUP_PROTECTION_FINALIZER;

    use super::*;
    use crate::backup::fixtures::{SECRET_S3, SECRET_TIDB, irsa, static_keys, tweak};

    fn protected(b: &Backup) -> Backup {
        tweak(
            b,
            json!({"metadata": {"finalizers": [BACKUP_PROTECTION_FINALIZER]}}),
        )
    }

    #[test]
    fn secrets_follow_protected_backups() {
        let b = protected(&static_keys());
        assert_eq!(referenced_secrets(&b.spec), [SECRET_S3, SECRET_TIDB]);
        assert_eq!(
            secret_finalizer_change(SECRET_S3, &[], false, std::slice::from_ref(&b)),
            Some(FinalizerChange::Add)
        );
        assert_eq!(
            secret_finalizer_change(SECRET_TIDB, &[], false, std::slice::from_ref(&b)),
            Some(FinalizerChange::Add)
        );
        // Already protected: nothing to do; being deleted: cannot add any more.
        let mine = vec![CREDENTIALS_FINALIZER.to_string()];
        assert_eq!(
            secret_finalizer_change(SECRET_S3, &mine, true, std::slice::from_ref(&b)),
            None
        );
        assert_eq!(
            secret_finalizer_change(SECRET_S3, &[], true, std::slice::from_ref(&b)),
            None
        );
        // A Retain backup (no finalizer) protects nothing; the finalizer goes.
        assert_eq!(
            secret_finalizer_change(SECRET_S3, &mine, true, &[static_keys()]),
            Some(FinalizerChange::Remove)
        );
        assert_eq!(secret_finalizer_change("other", &[], false, &[b]), None);
        // IRSA backups name only the TiDB Secret.
        assert_eq!(referenced_secrets(&irsa().spec), [SECRET_TIDB]);
    }

    #[test]
    fn only_a_protected_backup_not_being_deleted_holds_a_secret_without_a_fresh_read() {
        let live = protected(&static_keys());
        let deleting = tweak(
            &live,
            json!({"metadata": {"deletionTimestamp": "2026-12-05T10:00:00Z"}}),
        );
        let retained = static_keys();
        assert!(live_holder(SECRET_S3, [&live]).is_some());
        assert!(live_holder(SECRET_TIDB, [&deleting, &live]).is_some());
        // Being deleted, it may let go at any moment: only a fresh read can tell.
        assert!(live_holder(SECRET_S3, [&deleting]).is_none());
        assert!(live_holder(SECRET_S3, [&retained]).is_none());
        assert!(live_holder("other", [&live]).is_none());
    }
}
