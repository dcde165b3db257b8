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
pub fn live_holder<'a>(
    name: &str,
    backups: impl IntoIterator<Item = &'a Backup>,
) -> Option<&'a Backup> {
    backups
        .into_iter()
        .find(|b| b.metadata.deletion_timestamp.is_none() && needs(b, name))
}

/// The Backups to decide Secret `name`'s finalizer on, when a possibly stale view is
/// enough; `None` when the namespace's Backups must be read afresh.
///
/// `hint` is the Backup of the change that asked for this decision, `cached` the
/// namespace's Backups as a cache holds them, `has` whether the Secret carries the
/// finalizer. The view is enough:
/// - when it shows a holder not being deleted: the operator lets go of a Backup's
///   protection only while deleting it, so the Secret is still needed (a person removing
///   the protection by hand, or renaming the Secret in the spec, is seen at the next change
///   or resync, and only ever keeps a Secret longer);
/// - when the Secret holds no finalizer: the only possible change is to add it, and a view
///   behind the truth can only add it later, when the change that made a holder arrives
///   (as the next `hint`).
///
/// Letting a Secret go is decided only on a fresh read.
pub fn view_basis<'a>(
    name: &str,
    has: bool,
    hint: Option<&'a Backup>,
    cached: &[&'a Backup],
) -> Option<Vec<&'a Backup>> {
    if let Some(holder) = live_holder(name, hint.into_iter().chain(cached.iter().copied())) {
        return Some(vec![holder]);
    }
    (!has).then(|| cached.iter().copied().filter(|b| needs(b, name)).collect())
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
    fn a_stale_view_decides_keep_and_add_and_never_let_go() {
        let live = protected(&static_keys());
        let deleting = tweak(
            &live,
            json!({"metadata": {"deletionTimestamp": "2026-12-05T10:00:00Z"}}),
        );
        let retained = static_keys();
        let basis = |has, hint, cached: &[&Backup]| {
            view_basis(SECRET_S3, has, hint, cached).map(|v| v.len())
        };
        // A holder not being deleted, cached or just seen: still needed, whatever else.
        assert_eq!(basis(true, None, &[&retained, &live]), Some(1));
        assert_eq!(basis(true, Some(&live), &[&retained]), Some(1));
        assert_eq!(basis(false, Some(&live), &[]), Some(1));
        // Only a holder being deleted: it may let go at any moment, so a Secret that has
        // the finalizer is decided on a fresh read; one without can only gain it.
        assert_eq!(basis(true, None, &[&deleting]), None);
        assert_eq!(basis(false, None, &[&deleting]), Some(1));
        // No holder at all: without the finalizer nothing changes; with it, read afresh.
        assert_eq!(basis(false, Some(&retained), &[&retained]), Some(0));
        assert_eq!(basis(true, None, &[&retained]), None);
        assert_eq!(basis(true, None, &[]), None);
        let change = |has: bool, basis: Vec<&Backup>| {
            let finalizers = if has {
                vec![CREDENTIALS_FINALIZER.to_string()]
            } else {
                vec![]
            };
            secret_finalizer_change(SECRET_S3, &finalizers, false, basis)
        };
        let view = view_basis(SECRET_S3, false, None, &[&deleting]).unwrap();
        assert_eq!(change(false, view), Some(FinalizerChange::Add));
        let view = view_basis(SECRET_S3, false, None, &[&retained]).unwrap();
        assert_eq!(change(false, view), None);
        assert!(live_holder("other", [&live]).is_none());
    }
}
