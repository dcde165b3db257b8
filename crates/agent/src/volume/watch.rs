//! What the execute agent does while BR runs, on its own task so BR's output is never held
//! up by a slow request: BR's progress file becomes `status.progresses`, and the `backupmeta`
//! BR writes as soon as it has requested the snapshots is read, its snapshots tagged with the
//! Backup they belong to, and `VolumeBackupSnapshotsCreated` reported.

use std::path::PathBuf;
use std::time::Duration;

use tibr_api::BackupConditionType;
use tibr_core::backup::status::NewCondition;
use tibr_core::progress::ProgressUpdate;
use tibr_core::volume::{VolumeMeta, summary::parse_progress_file};
use tibr_storage::{StorageError, Store};
use tokio::sync::{oneshot, watch};

use crate::status::StatusWriter;

/// The step name of a volume-snapshot backup in `status.progresses`, as TiDB Operator
/// names it.
pub(super) const STEP: &str = "Full Backup";
/// BR's name for the document in the backup's prefix.
pub(super) const BACKUPMETA: &str = "backupmeta";

pub(super) struct Watcher {
    pub writer: StatusWriter,
    pub store: Store,
    pub cloud: tibr_ebs::Cloud,
    pub tags: Vec<(String, String)>,
    pub progress_file: PathBuf,
    pub poll: Duration,
    pub progress: watch::Sender<Vec<ProgressUpdate>>,
}

/// What the watcher saw by the time it was stopped.
pub(super) struct Seen {
    pub meta: Option<VolumeMeta>,
    pub tagged: bool,
    pub reported: bool,
}

impl Watcher {
    /// Polls until `stop` fires (or its sender is dropped), then looks once more.
    pub(super) async fn run(self, mut stop: oneshot::Receiver<()>) -> Seen {
        let mut seen = Seen {
            meta: None,
            tagged: false,
            reported: false,
        };
        let mut last = None;
        loop {
            let stopping = tokio::select! {
                _ = &mut stop => true,
                _ = tokio::time::sleep(self.poll) => false,
            };
            if let Ok(text) = tokio::fs::read_to_string(&self.progress_file).await
                && let Some(percent) = parse_progress_file(&text)
                && last != Some(percent)
            {
                last = Some(percent);
                self.progress.send_replace(vec![ProgressUpdate {
                    step: STEP.into(),
                    percent,
                }]);
            }
            self.look(&mut seen).await;
            if stopping {
                return seen;
            }
        }
    }

    /// Reads `backupmeta` until it is there, then tags and reports (each tried again on the
    /// next poll when it failed).
    async fn look(&self, seen: &mut Seen) {
        if seen.meta.is_none() {
            match read_meta(&self.store).await {
                Ok(meta) => seen.meta = meta,
                Err(e) => tracing::warn!(error = %e, "cannot read BR's backupmeta yet"),
            }
        }
        let Some(meta) = &seen.meta else {
            return;
        };
        if !seen.tagged {
            let ids: Vec<String> = meta
                .snapshots()
                .iter()
                .map(|(_, s)| s.to_string())
                .collect();
            match self.cloud.tag(&ids, &self.tags).await {
                Ok(()) => {
                    tracing::info!(snapshots = ids.len(), "snapshots tagged with their Backup");
                    seen.tagged = true;
                }
                Err(e) => tracing::warn!(error = %e, "could not tag the snapshots yet"),
            }
        }
        if !seen.reported {
            let n = meta.snapshots().len();
            let created = NewCondition::true_(
                BackupConditionType::VolumeBackupSnapshotsCreated,
                "",
                format!("BR requested {n} snapshot(s) and wrote backupmeta"),
            );
            match self.writer.condition(created).await {
                Ok(_) => seen.reported = true,
                Err(e) => tracing::warn!(error = %e, "could not report the snapshots yet"),
            }
        }
    }
}

/// The EBS `backupmeta` under the store's prefix, `None` when it is not there (yet).
pub(super) async fn read_meta(store: &Store) -> Result<Option<VolumeMeta>, String> {
    let key = store.key(BACKUPMETA).map_err(|e| e.to_string())?;
    match store.get(&key).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            format!(
                "{} is not the backupmeta of a volume-snapshot backup: {e}",
                store.url(&key)
            )
        }),
        Err(StorageError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}
