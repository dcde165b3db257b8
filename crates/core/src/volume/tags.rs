//! What ties an EBS snapshot to the Backup that took it, beside the source-volume tags BR
//! copies: with these, a backup's snapshots can be found (and cleaned) even when its
//! `backupmeta` is gone.

use tibr_api::Backup;

pub const NAMESPACE_TAG: &str = "tibr.dev/backup-namespace";
pub const NAME_TAG: &str = "tibr.dev/backup-name";
pub const UID_TAG: &str = "tibr.dev/backup-uid";
pub const CLUSTER_TAG: &str = "tibr.dev/tidb-cluster";

/// The tags a Backup's snapshots carry.
pub fn snapshot_tags(backup: &Backup) -> Vec<(String, String)> {
    let meta = &backup.metadata;
    let cluster = backup
        .spec
        .br
        .as_ref()
        .map(|b| b.cluster.trim().to_string())
        .unwrap_or_default();
    [
        (NAMESPACE_TAG, meta.namespace.clone().unwrap_or_default()),
        (NAME_TAG, meta.name.clone().unwrap_or_default()),
        (UID_TAG, meta.uid.clone().unwrap_or_default()),
        (CLUSTER_TAG, cluster),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The one tag that finds exactly this Backup's snapshots (the uid: a Backup re-created under
/// the same name is another backup).
pub fn finder(backup: &Backup) -> Option<(String, String)> {
    backup
        .metadata
        .uid
        .clone()
        .filter(|u| !u.is_empty())
        .map(|u| (UID_TAG.to_string(), u))
}
