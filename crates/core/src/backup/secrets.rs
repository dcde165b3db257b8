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

/// The change to Secret `name`'s finalizers, given every Backup of its namespace. A
/// finalizer cannot be added to an object being deleted, so a Secret already going away
/// is never newly protected.
pub fn secret_finalizer_change(
    name: &str,
    finalizers: &[String],
    deleting: bool,
    backups: &[Backup],
) -> Option<FinalizerChange> {
    let has = finalizers.iter().any(|f| f == CREDENTIALS_FINALIZER);
    let needed = backups.iter().any(|b| needs(b, name));
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
}
