//! Reads only: the schedule's Backups, straight from the API (not from a cache).

use kube::{ResourceExt, api::ListParams};
use tibr_api::{Backup, BackupSchedule};

use crate::{
    Context,
    error::{Error, Result},
    unreadable,
};

/// The schedule's Backups, read fresh (not from a cache): with a group, every
/// schedule-made Backup of the namespace, since the group's other members' runs can hold
/// this schedule back.
pub async fn observe(
    ctx: &Context,
    schedule: &BackupSchedule,
    namespace: &str,
) -> Result<Vec<Backup>> {
    let selector = tibr_runtime::schedule::runs_selector(schedule);
    // A run that cannot be read is left out: the schedule goes on without it (the Backup
    // controller marks it Invalid, which holds no run back either), and retention never
    // deletes a Backup it could not read.
    unreadable::list(
        &ctx.client,
        Some(namespace),
        &ListParams::default().labels(&selector),
    )
    .await
    .map_err(|e| {
        Error::kube(
            format!(
                "listing the Backups of BackupSchedule {namespace}/{}",
                schedule.name_any()
            ),
            e,
        )
    })
}
