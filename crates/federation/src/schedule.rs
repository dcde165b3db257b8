//! The VolumeBackupSchedule controller: `list the schedule's VolumeBackups ->
//! tibr_core::schedule::decide -> tibr_runtime::schedule::act`, the same steps as the
//! operator's BackupSchedule controller.
//!
//! Triggers: every schedule change; every change of a VolumeBackup labelled
//! `tidb.pingcap.com/backup-schedule`, mapped to its schedule and its group; and the
//! requeue the decision asks for, capped at [`tibr_runtime::schedule::MAX_SLEEP`]. Exactly-once per tick rests on
//! the run's name being derived from the tick, not on this process' memory.

use std::sync::Arc;

use futures::StreamExt;
use kube::{
    ResourceExt,
    api::ListParams,
    core::DeserializeGuard,
    runtime::{Controller, controller::Action, watcher},
};
use tibr_api::{VolumeBackup, constants::labels, federation::v1alpha1::VolumeBackupSchedule};
use tibr_runtime::{
    client::scoped,
    reconcile::after_error,
    schedule::{
        ActError, Actor,
        triggers::{prune_metrics, schedules_of_run},
    },
};

use crate::{
    NAME,
    context::Context,
    error::{Error, Result},
};

/// The controller's name in metrics.
const CONTROLLER: &str = "volume_backup_schedule";

type Guarded = DeserializeGuard<VolumeBackupSchedule>;

pub(crate) fn controller(ctx: &Context) -> Controller<Guarded> {
    let ns = ctx.settings.namespace.as_deref();
    let controller = tibr_runtime::client::trimmed_controller(
        scoped::<Guarded>(&ctx.client, ns),
        watcher::Config::default().any_semantic(),
    );
    let store = controller.store();
    let runs = watcher::Config::default().labels(labels::BACKUP_SCHEDULE);
    controller.watches(
        scoped::<DeserializeGuard<VolumeBackup>>(&ctx.client, ns),
        runs,
        move |v| schedules_of_run(&store, &v),
    )
}

/// Runs the controller until `shutdown` resolves; drops the metrics of deleted schedules
/// as it goes.
pub(crate) async fn run(
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
                tracing::debug!(error = %e, "volume backup schedule controller");
            }
        })
        .await;
    pruner.abort();
}

async fn reconcile(obj: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action> {
    ctx.metrics
        .reconcile
        .instrument(CONTROLLER, async {
            match &obj.0 {
                Ok(schedule) => reconcile_one(schedule, &ctx).await,
                Err(invalid) => Err(Error::InvalidObject {
                    namespace: invalid.metadata.namespace.clone().unwrap_or_default(),
                    name: invalid.metadata.name.clone().unwrap_or_default(),
                    error: invalid.error.clone(),
                }),
            }
        })
        .await
}

async fn reconcile_one(schedule: &VolumeBackupSchedule, ctx: &Context) -> Result<Action> {
    // Deleting: its VolumeBackups go through their owner references.
    if schedule.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = schedule.namespace().unwrap_or_default();
    let runs = observe(ctx, schedule, &namespace).await?;
    let actor = Actor {
        client: &ctx.client,
        manager: NAME,
        recorder: &ctx.recorder,
        metrics: &ctx.metrics.schedules,
    };
    let requeue = tibr_runtime::schedule::decide_and_act(&actor, schedule, &runs)
        .await
        .map_err(|e| match e {
            ActError::Status { what, source } => Error::kube(what, source),
            ActError::Failed { schedule, message } => Error::Schedule { schedule, message },
        })?;
    Ok(Action::requeue(requeue))
}

/// The schedule's VolumeBackups, read fresh: with a group, every schedule-made
/// VolumeBackup of the namespace. One that cannot be read is left out (retention never
/// deletes what it could not read).
async fn observe(
    ctx: &Context,
    schedule: &VolumeBackupSchedule,
    namespace: &str,
) -> Result<Vec<VolumeBackup>> {
    let selector = tibr_runtime::schedule::runs_selector(schedule);
    let api =
        kube::Api::<DeserializeGuard<VolumeBackup>>::namespaced(ctx.client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| {
            Error::kube(
                format!(
                    "listing the VolumeBackups of VolumeBackupSchedule {namespace}/{}",
                    schedule.name_any()
                ),
                e,
            )
        })?;
    Ok(list.items.into_iter().filter_map(|g| g.0.ok()).collect())
}

fn error_policy(obj: Arc<Guarded>, error: &Error, _ctx: Arc<Context>) -> Action {
    after_error(
        error,
        "VolumeBackupSchedule",
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
    )
}
