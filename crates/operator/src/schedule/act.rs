//! Writes only: the plan carried out by [`tibr_runtime::schedule::act`], its errors in the
//! operator's terms.

use jiff::Timestamp;
use tibr_api::BackupSchedule;
use tibr_core::schedule::SchedulePlan;
use tibr_runtime::schedule::{ActError, Actor};

use crate::{
    Context, NAME,
    error::{Error, Result},
};

/// Carries out `plan` for `schedule`: the tick's Backup created, retention's deleted,
/// then what `settle` makes of how that went written (status, Events, metrics). A failed
/// create or delete ends in an error after the rest is done, so the controller retries
/// with back-off.
pub async fn act(
    ctx: &Context,
    schedule: &BackupSchedule,
    plan: SchedulePlan,
    now: Timestamp,
) -> Result<()> {
    let actor = Actor {
        client: &ctx.client,
        manager: NAME,
        recorder: &ctx.recorder,
        metrics: &ctx.metrics.schedules,
    };
    tibr_runtime::schedule::act(&actor, schedule, plan, now)
        .await
        .map_err(|e| match e {
            ActError::Status { what, source } => Error::kube(what, source),
            ActError::Failed { schedule, message } => Error::Schedule { schedule, message },
        })
}
