//! The Backup controller: `observe -> tibr_core::backup::decide -> act`.
//!
//! Triggers: every Backup change; every change of a Job it owns (so a finished or failed
//! Job is handled at once — TiDB Operator only watches Job deletions); TidbClusters and
//! Secrets (metadata only), mapped to the Backups that name them, so a Secret created late
//! unblocks a `RetryFailed` Backup at once; and a periodic requeue as a safety net.
//!
//! Backups are watched through `DeserializeGuard`, so one object that does not parse (a
//! value its type does not take) is marked `Invalid` with the field named, gets a Warning
//! Event and waits for an edit, instead of stalling the watch for every other Backup.

mod act;
mod observe;
mod volumes;

use std::{collections::BTreeMap, sync::Arc};

use futures::StreamExt;
use k8s_openapi::api::{batch::v1::Job, core::v1::Secret};
use kube::{
    ResourceExt,
    core::{DeserializeGuard, PartialObjectMeta},
    runtime::{
        Controller,
        controller::{self, Action},
        reflector::{ObjectRef, Store},
        watcher,
    },
};
use tibr_api::{Backup, TidbCluster, constants::labels};
use tibr_core::backup::{
    ClusterRef,
    decide::{self, Observed, is_settled},
    secrets::referenced_secrets,
};
use tibr_runtime::{client::scoped, reconcile::after_error};

use crate::{
    Context,
    error::{Error, Result},
    unreadable,
};

pub use act::act;
pub use observe::observe;

/// The controller's name in metrics.
pub const CONTROLLER: &str = "backup";

pub type Guarded = DeserializeGuard<Backup>;

/// The controller, before it runs: its store serves the Secret guard and the metrics.
pub fn controller(ctx: &Context) -> Controller<Guarded> {
    let client = &ctx.client;
    let ns = ctx.settings.namespace.as_deref();
    let controller = tibr_runtime::client::trimmed_controller(
        scoped::<Guarded>(client, ns),
        watcher::Config::default().any_semantic(),
    )
    .with_config(controller::Config::default().concurrency(ctx.settings.workers));
    let store = controller.store();
    let for_cluster = store.clone();
    let for_secret = store.clone();
    let jobs = watcher::Config::default().labels(&format!(
        "{}={}",
        labels::MANAGED_BY,
        tibr_api::constants::label_values::BACKUP_OPERATOR
    ));
    controller
        .owns(scoped::<Job>(client, ns), jobs)
        .watches(
            scoped::<DeserializeGuard<TidbCluster>>(client, ns),
            watcher::Config::default(),
            move |tc| backups_of_cluster(&for_cluster, &tc),
        )
        // Metadata only: an `Api<PartialObjectMeta<_>>` watch carries no Secret value.
        .watches(
            scoped::<PartialObjectMeta<Secret>>(client, ns),
            watcher::Config::default(),
            move |secret| {
                backups_naming_secret(
                    &for_secret,
                    &secret.namespace().unwrap_or_default(),
                    &secret.name_any(),
                )
            },
        )
}

/// Runs the controller until `shutdown` resolves.
pub async fn run(
    controller: Controller<Guarded>,
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "backup controller");
            }
        })
        .await;
}

fn backups_of_cluster(
    store: &Store<Guarded>,
    tc: &DeserializeGuard<TidbCluster>,
) -> Vec<ObjectRef<Guarded>> {
    let name = tc.name_any();
    let namespace = tc.namespace().unwrap_or_default();
    store
        .state()
        .iter()
        .filter_map(|b| b.0.as_ref().ok())
        // A settled Backup's plan depends on itself alone: schedules leave thousands.
        .filter(|b| !is_settled(b))
        .filter(|b| ClusterRef::of(b).is_some_and(|c| c.name == name && c.namespace == namespace))
        .map(|b| ObjectRef::new(&b.name_any()).within(&b.namespace().unwrap_or_default()))
        .collect()
}

fn backups_naming_secret(
    store: &Store<Guarded>,
    namespace: &str,
    name: &str,
) -> Vec<ObjectRef<Guarded>> {
    store
        .state()
        .iter()
        .filter_map(|b| b.0.as_ref().ok())
        .filter(|b| !is_settled(b))
        .filter(|b| b.namespace().as_deref() == Some(namespace))
        .filter(|b| referenced_secrets(&b.spec).iter().any(|s| s == name))
        .map(|b| ObjectRef::new(&b.name_any()).within(namespace))
        .collect()
}

async fn reconcile(obj: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action> {
    ctx.metrics
        .reconcile
        .instrument(CONTROLLER, reconcile_guarded(&obj, &ctx))
        .await
}

async fn reconcile_guarded(obj: &Guarded, ctx: &Context) -> Result<Action> {
    match &obj.0 {
        Ok(backup) => reconcile_backup(backup, ctx).await,
        Err(invalid) => Err(unreadable::backup(ctx, invalid).await),
    }
}

async fn reconcile_backup(cached: &Backup, ctx: &Context) -> Result<Action> {
    let now = jiff::Timestamp::now();
    let namespace = cached.namespace().unwrap_or_default();
    let name = cached.name_any();
    // Settled Backups are decided on the cached object alone: no API reads at all.
    let settled = is_settled(cached);
    let (backup, observed) = if settled {
        (cached.clone(), Observed::default())
    } else {
        match observe(ctx, &namespace, &name).await? {
            Some(found) => found,
            None => return Ok(Action::await_change()),
        }
    };
    let plan = decide::decide(&backup, &observed, &ctx.settings.backup, now);
    tracing::debug!(backup.namespace = %namespace, backup.name = %name, plan = %plan.summary(), "decided");
    let planned = plan.requeue;
    let look_again = act(ctx, backup, plan, now).await?;
    let requeue = match (planned, look_again) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(match requeue {
        Some(after) => Action::requeue(after),
        None if settled => Action::await_change(),
        None => Action::requeue(ctx.settings.backup.resync_interval),
    })
}

fn error_policy(obj: Arc<Guarded>, error: &Error, _ctx: Arc<Context>) -> Action {
    after_error(
        error,
        "Backup",
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
    )
}

/// Backups by `status.phase` (`Pending` before the first phase), from the cache.
pub fn count_phases(store: &Store<Guarded>) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for b in store.state() {
        let phase = match &b.0 {
            Ok(b) => b.phase().map_or("Pending", |p| p.as_str()).to_string(),
            Err(_) => "Unreadable".to_string(),
        };
        *counts.entry(phase).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use kube::runtime::{reflector, watcher};
    use serde_json::{Value, json};

    use super::*;

    fn backup(name: &str, status: Value) -> Guarded {
        DeserializeGuard(Ok(serde_json::from_value(json!({
            "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
            "metadata": {"name": name, "namespace": "ns", "uid": name, "generation": 1},
            "spec": {
                "br": {"cluster": "tc", "clusterNamespace": "ns"},
                "s3": {"provider": "aws", "secretName": "s3", "bucket": "b", "prefix": name}
            },
            "status": status,
        }))
        .unwrap()))
    }

    #[test]
    fn settled_backups_are_not_woken_by_their_cluster_or_their_secrets() {
        let (reader, mut writer) = reflector::store::<Guarded>();
        let complete = json!({"conditions": [{"type": "Complete", "status": "True"}]});
        writer.apply_watcher_event(&watcher::Event::Apply(backup("done", complete)));
        writer.apply_watcher_event(&watcher::Event::Apply(backup("running", json!({}))));
        let tc: DeserializeGuard<TidbCluster> = DeserializeGuard(Ok(serde_json::from_value(
            json!({"apiVersion": "pingcap.com/v1alpha1", "kind": "TidbCluster",
                   "metadata": {"name": "tc", "namespace": "ns"}, "spec": {}}),
        )
        .unwrap()));
        let names = |refs: Vec<ObjectRef<Guarded>>| -> Vec<String> {
            refs.into_iter().map(|r| r.name).collect()
        };
        assert_eq!(names(backups_of_cluster(&reader, &tc)), ["running"]);
        assert_eq!(
            names(backups_naming_secret(&reader, "ns", "s3")),
            ["running"]
        );
    }
}
