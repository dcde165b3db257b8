//! The decision taken and carried out by [`tibr_runtime::schedule::decide_and_act`], its
//! errors in the operator's terms.

use std::time::Duration;

use tibr_api::{Backup, BackupSchedule};
use tibr_runtime::schedule::{ActError, Actor};

use crate::{
    Context, NAME,
    error::{Error, Result},
};

/// Decides for `schedule` on its `backups` and carries the plan out: the tick's Backup
/// created, retention's deleted, then what `settle` makes of how that went written
/// (status, Events, metrics). A failed create or delete ends in an error after the rest is
/// done, so the controller retries with back-off. Returns when to look again.
pub async fn decide_and_act(
    ctx: &Context,
    schedule: &BackupSchedule,
    backups: &[Backup],
) -> Result<Duration> {
    let actor = Actor {
        client: &ctx.client,
        manager: NAME,
        recorder: &ctx.recorder,
        metrics: &ctx.metrics.schedules,
    };
    tibr_runtime::schedule::decide_and_act(&actor, schedule, backups)
        .await
        .map_err(|e| match e {
            ActError::Status { what, source } => Error::kube(what, source),
            ActError::Failed { schedule, message } => Error::Schedule { schedule, message },
        })
}
