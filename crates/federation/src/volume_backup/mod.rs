//! The VolumeBackup controller: `observe -> tibr_core::federation::decide -> act ->
//! tibr_core::federation::settle -> write`.
//!
//! Triggers: every VolumeBackup change; every change of a member Backup in any member
//! cluster, mapped to its VolumeBackup (`crate::watch`); a member cluster answering again;
//! the kubeconfig changing; and the requeue each decision asks for, which is the poll
//! TiDB's manager relies on alone and here is only the safety net.

mod act;
mod observe;

use std::{collections::BTreeMap, sync::Arc};

use futures::{StreamExt, channel::mpsc::UnboundedReceiver, stream};
use kube::{
    Api, Resource, ResourceExt,
    api::{ApiResource, DynamicObject},
    core::error_boundary::InvalidObject,
    runtime::{
        Controller,
        controller::{self, Action},
        reflector::Store,
        watcher,
    },
};
use tibr_api::VolumeBackup;
use tibr_core::{
    federation::{decide, is_settled},
    reconcile::{Event, reasons},
};
use tibr_runtime::{client::scoped, reconcile::after_error};

use crate::{
    context::Context,
    error::{Error, Result},
    events,
    watch::{Guarded, Wake, owners},
};

/// The controller's name in metrics.
const CONTROLLER: &str = "volume_backup";

/// The controller, before it runs: its store maps member changes to VolumeBackups.
pub(crate) fn controller(ctx: &Context) -> Controller<Guarded> {
    tibr_runtime::client::trimmed_controller(
        scoped::<Guarded>(&ctx.client, ctx.settings.namespace.as_deref()),
        watcher::Config::default().any_semantic(),
    )
    .with_config(controller::Config::default().concurrency(ctx.settings.workers))
}

/// Runs the controller until `shutdown` resolves; `wakes` are mapped to the VolumeBackups
/// they concern.
pub(crate) async fn run(
    controller: Controller<Guarded>,
    ctx: Arc<Context>,
    wakes: UnboundedReceiver<Wake>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let store = controller.store();
    let woken = wakes.flat_map(move |wake| stream::iter(owners(&store, &wake)));
    controller
        .reconcile_on(woken)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "volume backup controller");
            }
        })
        .await;
}

async fn reconcile(obj: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action> {
    ctx.metrics
        .reconcile
        .instrument(CONTROLLER, async {
            match &obj.0 {
                Ok(vbk) => reconcile_one(vbk, &ctx).await,
                Err(invalid) => Err(unreadable(&ctx, invalid).await),
            }
        })
        .await
}

async fn reconcile_one(cached: &VolumeBackup, ctx: &Context) -> Result<Action> {
    // Ended and not being deleted: no member cluster is read at all.
    if is_settled(cached) {
        if cached.metadata.deletion_timestamp.is_none() {
            ctx.metrics.seen(cached);
        }
        return Ok(Action::await_change());
    }
    let namespace = cached.namespace().unwrap_or_default();
    let name = cached.name_any();
    let now = jiff::Timestamp::now();
    let Some((vbk, observed)) = observe::observe(ctx, &namespace, &name).await? else {
        return Ok(Action::await_change());
    };
    if is_settled(&vbk) {
        return Ok(Action::await_change());
    }
    if vbk.metadata.deletion_timestamp.is_none() {
        ctx.metrics.seen(&vbk);
    }
    let plan = decide(&vbk, &observed, &ctx.settings.core, now);
    tracing::debug!(volume_backup.namespace = %namespace, volume_backup.name = %name, plan = %plan.summary(), "decided");
    let requeue = act::act(ctx, vbk, plan, now).await?;
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

fn error_policy(obj: Arc<Guarded>, error: &Error, _ctx: Arc<Context>) -> Action {
    after_error(
        error,
        "VolumeBackup",
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
    )
}

/// Warns, on the object, that it cannot be read as a VolumeBackup and which field is at
/// fault; the controller then waits for an edit. Without this one such object would stall
/// the watch of every other.
async fn unreadable(ctx: &Context, invalid: &InvalidObject) -> Error {
    let namespace = invalid.metadata.namespace.clone().unwrap_or_default();
    let name = invalid.metadata.name.clone().unwrap_or_default();
    // kube's error text does not name the field reliably: read the object again, raw.
    let resource = ApiResource::erase::<VolumeBackup>(&());
    let raw: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &namespace, &resource);
    let why = match raw.get_opt(&name).await {
        Ok(Some(o)) => {
            match tibr_core::unreadable::read::<VolumeBackup>(
                serde_json::to_value(&o).unwrap_or_default(),
            ) {
                Err(why) => why.to_string(),
                // Fixed since the watch saw it: the new version is on its way.
                Ok(_) => {
                    return Error::Conflict {
                        what: format!("reading VolumeBackup {namespace}/{name}"),
                    };
                }
            }
        }
        _ => invalid.error.clone(),
    };
    let about = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(VolumeBackup::api_version(&()).into_owned()),
        kind: Some("VolumeBackup".into()),
        name: Some(name.clone()),
        namespace: Some(namespace.clone()),
        uid: invalid.metadata.uid.clone(),
        ..Default::default()
    };
    let event = Event::warning(
        reasons::INVALID_OBJECT,
        "Read",
        format!("this VolumeBackup cannot be read: {why}; fix the field and it is picked up again"),
    );
    events::publish(ctx, &about, &event).await;
    Error::InvalidObject {
        namespace,
        name,
        error: why,
    }
}

/// VolumeBackups by `status.phase` (`Pending` before the first), from the cache.
pub(crate) fn count_phases(store: &Store<Guarded>) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for g in store.state() {
        let phase = match &g.0 {
            Ok(v) => v
                .status
                .as_ref()
                .and_then(|s| s.phase.as_ref())
                .map_or("Pending", |p| p.as_str())
                .to_string(),
            Err(_) => "Unreadable".to_string(),
        };
        *counts.entry(phase).or_insert(0) += 1;
    }
    counts
}
