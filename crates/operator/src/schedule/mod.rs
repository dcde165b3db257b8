//! The BackupSchedule controller: `read the schedule's Backups -> tibr_core::schedule::decide
//! -> act`.
//!
//! Triggers: every schedule change; every change of a Backup labelled
//! `tidb.pingcap.com/backup-schedule`, mapped to its schedule and to the schedules of the
//! same `backup-schedule-group` (so a finished predecessor releases a waiting run at once);
//! and the requeue the decision asks for (the next tick, the next retention expiry, or a
//! poll while waiting). The requeue is capped at [`MAX_SLEEP`] so a clock step or a lost
//! wake-up costs minutes, never a tick.
//!
//! Exactly-once per tick does not depend on this process' memory: a tick's Backup has a
//! name derived from the tick, creating it twice fails on the name, and the decision reads
//! the last tick taken back from the Backups themselves.

mod act;
mod observe;

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use futures::StreamExt;
use kube::{
    ResourceExt,
    core::DeserializeGuard,
    runtime::{
        Controller,
        controller::Action,
        reflector::{ObjectRef, Store},
        watcher,
    },
};
use tibr_api::{Backup, BackupSchedule, constants::labels};
use tibr_core::schedule;
use tibr_runtime::{client::scoped, reconcile::after_error};

use crate::{
    Context,
    error::{Error, Result},
    unreadable,
};

pub use act::act;
pub use observe::observe;
use tibr_runtime::schedule::metrics::ScheduleLabels;

/// The controller's name in metrics.
pub const CONTROLLER: &str = "backupschedule";

/// The longest a schedule sleeps without looking again.
pub const MAX_SLEEP: Duration = Duration::from_secs(300);

pub type Guarded = DeserializeGuard<BackupSchedule>;

/// The controller, before it runs: its store serves the metrics' clean-up.
pub fn controller(ctx: &Context) -> Controller<Guarded> {
    let client = &ctx.client;
    let ns = ctx.settings.namespace.as_deref();
    let controller = Controller::new(
        scoped::<Guarded>(client, ns),
        watcher::Config::default().any_semantic(),
    );
    let store = controller.store();
    // Only Backups a schedule made; the label's presence is enough to select them.
    let runs = watcher::Config::default().labels(labels::BACKUP_SCHEDULE);
    controller.watches(
        scoped::<DeserializeGuard<Backup>>(client, ns),
        runs,
        move |b| schedules_of_backup(&store, &b),
    )
}

/// Runs the controller until `shutdown` resolves; drops the metrics of deleted schedules
/// as it goes.
pub async fn run(
    controller: Controller<Guarded>,
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let store = controller.store();
    let pruner = {
        let metrics = ctx.metrics.schedules.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                if !ready(&store) {
                    continue;
                }
                let present: BTreeSet<ScheduleLabels> = store
                    .state()
                    .iter()
                    .map(|s| labels_of(s.namespace(), s.name_any()))
                    .collect();
                metrics.retain(&present);
            }
        })
    };
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

/// Whether the store has seen its first full list (an empty store before that says
/// nothing about which schedules exist).
fn ready(store: &Store<Guarded>) -> bool {
    futures::FutureExt::now_or_never(store.wait_until_ready()).is_some_and(|r| r.is_ok())
}

fn labels_of(namespace: Option<String>, name: String) -> ScheduleLabels {
    ScheduleLabels {
        namespace: namespace.unwrap_or_default(),
        schedule: name,
    }
}

/// The schedule that made `backup`, and every schedule of the same group in its namespace.
fn schedules_of_backup(
    store: &Store<Guarded>,
    backup: &DeserializeGuard<Backup>,
) -> Vec<ObjectRef<Guarded>> {
    let namespace = backup.namespace().unwrap_or_default();
    let Some(owner) = backup.labels().get(labels::BACKUP_SCHEDULE).cloned() else {
        return Vec::new();
    };
    let group_of = |s: &Guarded| s.labels().get(labels::BACKUP_SCHEDULE_GROUP).cloned();
    let in_namespace: Vec<Arc<Guarded>> = store
        .state()
        .into_iter()
        .filter(|s| s.namespace().as_deref() == Some(&namespace))
        .collect();
    let group = in_namespace
        .iter()
        .find(|s| s.name_any() == owner)
        .and_then(|s| group_of(s))
        .filter(|g| !g.is_empty());
    let mut names: BTreeSet<String> = BTreeSet::from([owner]);
    if let Some(group) = group {
        names.extend(
            in_namespace
                .iter()
                .filter(|s| group_of(s).as_ref() == Some(&group))
                .map(|s| s.name_any()),
        );
    }
    names
        .into_iter()
        .map(|n| ObjectRef::new(&n).within(&namespace))
        .collect()
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
    let name = schedule.name_any();
    let backups = observe(ctx, schedule, &namespace).await?;
    let now = jiff::Timestamp::now();
    let plan = schedule::decide(schedule, &backups, now);
    tracing::debug!(
        schedule.namespace = %namespace,
        schedule.name = %name,
        create = ?plan.create.as_ref().map(|c| c.backup.name_any()),
        delete = plan.delete.len(),
        requeue = ?plan.requeue,
        "decided"
    );
    let requeue = plan.requeue;
    act(ctx, schedule, plan, now).await?;
    Ok(Action::requeue(
        requeue.map_or(MAX_SLEEP, |r| r.min(MAX_SLEEP)),
    ))
}

fn error_policy(obj: Arc<Guarded>, error: &Error, _ctx: Arc<Context>) -> Action {
    after_error(
        error,
        "BackupSchedule",
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
    )
}
