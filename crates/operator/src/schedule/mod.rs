//! The BackupSchedule controller: `read the schedule's Backups -> tibr_core::schedule::decide
//! -> act`.
//!
//! Triggers: every schedule change; every change of a Backup labelled
//! `tidb.pingcap.com/backup-schedule`, mapped to its schedule and to the schedules of the
//! same `backup-schedule-group` (so a finished predecessor releases a waiting run at once);
//! and the requeue the decision asks for (the next tick, the next retention expiry, or a
//! poll while waiting). The requeue is capped at [`tibr_runtime::schedule::MAX_SLEEP`] so a clock step or a lost
//! wake-up costs minutes, never a tick.
//!
//! Exactly-once per tick does not depend on this process' memory: a tick's Backup has a
//! name derived from the tick, creating it twice fails on the name, and the decision reads
//! the last tick taken back from the Backups themselves.

mod act;
mod observe;

use std::sync::Arc;

use futures::StreamExt;
use kube::{
    ResourceExt,
    core::DeserializeGuard,
    runtime::{
        Controller,
        controller::{self, Action},
        watcher,
    },
};
use tibr_api::{Backup, BackupSchedule, constants::labels};
use tibr_runtime::{
    client::scoped,
    reconcile::after_error,
    schedule::triggers::{prune_metrics, schedules_of_run},
};

use crate::{
    Context,
    error::{Error, Result},
    unreadable,
};

pub use act::decide_and_act;
pub use observe::observe;

/// The controller's name in metrics.
pub const CONTROLLER: &str = "backupschedule";

pub type Guarded = DeserializeGuard<BackupSchedule>;

/// The controller, before it runs: its store serves the metrics' clean-up.
pub fn controller(ctx: &Context) -> Controller<Guarded> {
    let client = &ctx.client;
    let ns = ctx.settings.namespace.as_deref();
    let controller = tibr_runtime::client::trimmed_controller(
        scoped::<Guarded>(client, ns),
        watcher::Config::default().any_semantic(),
    )
    .with_config(controller::Config::default().concurrency(ctx.settings.workers));
    let store = controller.store();
    // Only Backups a schedule made; the label's presence is enough to select them.
    let runs = watcher::Config::default().labels(labels::BACKUP_SCHEDULE);
    controller.watches(
        scoped::<DeserializeGuard<Backup>>(client, ns),
        runs,
        move |b| schedules_of_run(&store, &b),
    )
}

/// Runs the controller until `shutdown` resolves; drops the metrics of deleted schedules
/// as it goes.
pub async fn run(
    controller: Controller<Guarded>,
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let pruner = tokio::spawn(prune_metrics(
        controller.store(),
        ctx.metrics.schedules.clone(),
    ));
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "backupschedule controller");
            }
        })
        .await;
    pruner.abort();
}

async fn reconcile(obj: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action> {
    let reconcile = async {
        match &obj.0 {
            Ok(schedule) => reconcile_schedule(schedule, &ctx).await,
            Err(invalid) => Err(unreadable::schedule(&ctx, invalid).await),
        }
    };
    ctx.metrics
        .reconcile
        .instrument(CONTROLLER, reconcile)
        .await
}

async fn reconcile_schedule(schedule: &BackupSchedule, ctx: &Context) -> Result<Action> {
    // Deleting: its Backups go through their owner references; nothing new is started.
    if schedule.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = schedule.namespace().unwrap_or_default();
    let backups = observe(ctx, schedule, &namespace).await?;
    let requeue = decide_and_act(ctx, schedule, &backups).await?;
    Ok(Action::requeue(requeue))
}

fn error_policy(obj: Arc<Guarded>, error: &Error, _ctx: Arc<Context>) -> Action {
    after_error(
        error,
        "BackupSchedule",
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
    )
}
