//! Labels, annotations and finalizers tibr puts on the objects it makes or guards.
//!
//! Job labels are TiDB Operator's (dashboards and `kubectl get job -l ...` depend on them);
//! the Secret finalizer and the GC annotation are tibr's own, named so a reader can tell
//! what holds an object and why.

use std::collections::BTreeMap;

use tibr_api::{
    Backup,
    constants::{label_values, labels},
};

/// On a Secret: a Backup that may still have to delete its data (or put TiKV's GC life
/// time back) needs this Secret's credentials, so the Secret must outlive it. Without it,
/// deleting a namespace deletes the credentials before the Backups that need them are
/// done, and their data can no longer be deleted (see docs/adr/0003).
pub const CREDENTIALS_FINALIZER: &str = "tidb.pingcap.com/backup-credentials";

/// On a Backup: why the operator left TiKV's GC life time alone instead of restoring it
/// (for example, someone changed it after the backup raised it). Its presence also stops
/// the operator from trying again. The status has no field for this, and conditions would
/// move `status.phase`, so it is an annotation.
pub const GC_NOT_RESTORED_ANNOTATION: &str = "tidb.pingcap.com/gc-life-time-not-restored";

/// Never copied from a Backup to its Jobs and pods: `kubectl apply` stores the whole
/// manifest in it, and copying it (as TiDB Operator does) makes every Job and pod carry a
/// second copy of the Backup, which can push large specs past the annotation size limit.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Which of the operator's Jobs an object belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The backup Job `backup-<name>`.
    Backup,
    /// The clean Job `clean-<name>`.
    Clean,
}

impl Component {
    /// The value of `app.kubernetes.io/component`.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Backup => label_values::BACKUP,
            Component::Clean => label_values::CLEAN,
        }
    }
}

/// Labels of a Job and its pod: the Backup's own labels, then TiDB Operator's keys, which
/// win on conflicts so selectors keep working whatever the user labelled the Backup with.
pub fn job_labels(backup: &Backup, component: Component) -> BTreeMap<String, String> {
    let name = backup.metadata.name.clone().unwrap_or_default();
    let mut out: BTreeMap<String, String> = backup.metadata.labels.clone().unwrap_or_default();
    let instance = out
        .get(labels::INSTANCE)
        .cloned()
        .unwrap_or_else(|| name.clone());
    out.insert(labels::NAME.into(), label_values::BACKUP.into());
    out.insert(
        labels::MANAGED_BY.into(),
        label_values::BACKUP_OPERATOR.into(),
    );
    out.insert(labels::INSTANCE.into(), instance);
    out.insert(labels::COMPONENT.into(), component.as_str().into());
    out.insert(labels::BACKUP.into(), name);
    out
}

/// Annotations of a Job and its pod: all of the Backup's (this is how kube2iam's
/// `iam.amazonaws.com/role` reaches the pod), except [`LAST_APPLIED`].
pub fn job_annotations(backup: &Backup) -> BTreeMap<String, String> {
    let mut out = backup.metadata.annotations.clone().unwrap_or_default();
    out.remove(LAST_APPLIED);
    out.remove(GC_NOT_RESTORED_ANNOTATION);
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn operator_keys_win_and_user_labels_stay() {
        let b: Backup = serde_json::from_value(json!({
            "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
            "metadata": {"name": "b1", "namespace": "ns", "labels": {
                "app.kubernetes.io/name": "mine", "team": "db",
                "tidb.pingcap.com/backup-schedule": "nightly"}},
            "spec": {}
        }))
        .unwrap();
        let l = job_labels(&b, Component::Clean);
        assert_eq!(l["app.kubernetes.io/name"], "backup");
        assert_eq!(l["app.kubernetes.io/managed-by"], "backup-operator");
        assert_eq!(l["app.kubernetes.io/instance"], "b1");
        assert_eq!(l["app.kubernetes.io/component"], "clean");
        assert_eq!(l["tidb.pingcap.com/backup"], "b1");
        assert_eq!(l["team"], "db");
        assert_eq!(l["tidb.pingcap.com/backup-schedule"], "nightly");
    }

    #[test]
    fn the_instance_label_of_the_backup_is_kept() {
        let b: Backup = serde_json::from_value(json!({
            "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
            "metadata": {"name": "b1", "labels": {"app.kubernetes.io/instance": "demo1"},
                "annotations": {"iam.amazonaws.com/role": "r", LAST_APPLIED: "{huge}"}},
            "spec": {}
        }))
        .unwrap();
        assert_eq!(
            job_labels(&b, Component::Backup)["app.kubernetes.io/instance"],
            "demo1"
        );
        let a = job_annotations(&b);
        assert_eq!(a.len(), 1);
        assert_eq!(a["iam.amazonaws.com/role"], "r");
    }
}
