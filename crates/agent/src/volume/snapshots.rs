//! Deleting a volume-snapshot backup's EBS snapshots, before its files.
//!
//! The snapshots are those `backupmeta` lists and those tagged with the Backup's uid (which
//! finds them when `backupmeta` is gone). A listed snapshot tagged with another Backup's uid
//! is another backup's and is kept. Deletions are paced at `snapshotsDeleteRatio` per
//! second; one already gone counts as deleted. Afterwards the tag is asked again: the clean
//! succeeds only when no snapshot of this Backup is left, so a clean that reported success
//! never leaves one behind. A `backupmeta` that cannot be read (other than missing) fails the
//! clean: without it, what to delete is not known, and the Job tries again.

use std::collections::BTreeSet;

use tibr_api::Backup;
use tibr_core::volume::tags::{UID_TAG, finder};
use tibr_ebs::{Cloud, Deleted, Pacer};
use tibr_storage::Store;

use super::watch::read_meta;

/// What was done.
#[derive(Debug, Default)]
pub(crate) struct Deletion {
    pub deleted: usize,
    pub already_gone: usize,
    /// Listed in `backupmeta` but another Backup's.
    pub kept: Vec<String>,
    /// `backupmeta` was missing: only tagged snapshots were found.
    pub no_meta: bool,
}

impl Deletion {
    pub(crate) fn describe(&self) -> String {
        let mut text = format!(
            "deleted {} snapshot(s) ({} already gone)",
            self.deleted + self.already_gone,
            self.already_gone
        );
        if self.no_meta {
            text.push_str(", found by the Backup's uid tag as backupmeta was missing");
        }
        if !self.kept.is_empty() {
            text.push_str(&format!(
                "; kept {} listed in backupmeta but tagged as another Backup's: {}",
                self.kept.len(),
                self.kept.join(", ")
            ));
        }
        text
    }
}

/// Deletes the snapshots of `backup`, whose files `store` holds; `progress` gets the share
/// done, 0 to 1.
pub(crate) async fn delete(
    cloud: &Cloud,
    store: &Store,
    backup: &Backup,
    per_second: f64,
    mut progress: impl FnMut(f64),
) -> Result<Deletion, String> {
    let uid = backup.metadata.uid.clone().unwrap_or_default();
    let mut deletion = Deletion::default();
    let mut ids = BTreeSet::new();
    match read_meta(store).await? {
        Some(meta) => ids.extend(meta.snapshots().into_iter().map(|(_, s)| s.to_string())),
        None => deletion.no_meta = true,
    }
    let tag = finder(backup);
    if let Some(tag) = &tag {
        let tagged = cloud
            .snapshots_tagged(std::slice::from_ref(tag))
            .await
            .map_err(|e| e.to_string())?;
        ids.extend(tagged.into_iter().map(|s| s.snapshot_id));
    }
    tracing::info!(snapshots = ids.len(), "deleting the backup's snapshots");
    let total = ids.len();
    let mut pacer = Pacer::new(per_second);
    for (done, id) in ids.into_iter().enumerate() {
        progress(done as f64 / total as f64);
        let described = match cloud.snapshots_by_id(std::slice::from_ref(&id)).await {
            Ok(found) => found.into_iter().next(),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(format!("{e} (after {done} of {total} snapshots)")),
        };
        let Some(snapshot) = described else {
            deletion.already_gone += 1;
            continue;
        };
        if let Some(owner) = snapshot.tags.get(UID_TAG)
            && *owner != uid
        {
            tracing::warn!(snapshot = %id, owner = %owner, "listed in backupmeta but another Backup's: kept");
            deletion.kept.push(id);
            continue;
        }
        pacer.ready().await;
        match cloud.delete_snapshot(&id).await {
            Ok(Deleted::Yes) => deletion.deleted += 1,
            Ok(Deleted::NotFound) => deletion.already_gone += 1,
            Err(e) => return Err(format!("{e} (after {done} of {total} snapshots)")),
        }
    }
    progress(1.0);
    if let Some(tag) = &tag {
        let left = cloud
            .snapshots_tagged(std::slice::from_ref(tag))
            .await
            .map_err(|e| format!("checking that no snapshot is left: {e}"))?;
        if !left.is_empty() {
            let ids: Vec<&str> = left.iter().map(|s| s.snapshot_id.as_str()).collect();
            return Err(format!(
                "{} snapshot(s) of this Backup are still there after deletion: {}",
                ids.len(),
                ids.join(", ")
            ));
        }
    }
    Ok(deletion)
}
