//! The credentials guard: keeps a Secret alive while a Backup that may still delete data
//! (or restore TiKV's GC life time) names it, by holding the finalizer
//! `tidb.pingcap.com/backup-credentials` on it (docs/adr/0003).
//!
//! Secrets are watched as metadata only. A Secret is reconciled when it changes and when a
//! Backup naming it changes or goes. Keeping a Secret, and adding its finalizer, are
//! decided on the Backup controller's cache and the change that asked
//! (`tibr_core::backup::secrets::view_basis`), at no API request; letting a Secret go is
//! decided on the namespace's Backups read afresh, so a finalizer is never dropped on a
//! stale view.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch},
    core::PartialObjectMeta,
    runtime::{
        controller::{self, Action},
        reflector::{ObjectRef, Store},
        watcher,
    },
};
use tibr_api::Backup;
use tibr_core::backup::{
    decide::FinalizerChange,
    labels::CREDENTIALS_FINALIZER,
    secrets::{live_holder, needs, referenced_secrets, secret_finalizer_change, view_basis},
};

use tibr_runtime::client::scoped;

use crate::{
    Context,
    backup::Guarded,
    error::{Error, Result, is_not_found},
};

/// The controller's name in metrics.
pub const CONTROLLER: &str = "credentials";

type SecretMeta = PartialObjectMeta<Secret>;

/// A Secret, by namespace and name.
type SecretKey = (String, String);

struct GuardContext {
    ctx: Arc<Context>,
    backups: Store<Guarded>,
    /// For each Secret, the last Backup seen holding it (protected, not being deleted) by
    /// the change that asked for its decision: the Backup controller's cache may not have
    /// that change yet.
    hints: Arc<Mutex<HashMap<SecretKey, Backup>>>,
}

/// Runs the guard until `shutdown` resolves. `backups` is the Backup controller's store:
/// the view that settles most decisions without an API request.
pub async fn run(
    ctx: Arc<Context>,
    backups: Store<Guarded>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let ns = ctx.settings.namespace.clone();
    let hints = Arc::new(Mutex::new(HashMap::new()));
    // Metadata only: an `Api<PartialObjectMeta<_>>` watch carries no Secret value.
    tibr_runtime::client::trimmed_controller(
        scoped::<SecretMeta>(&client, ns.as_deref()),
        watcher::Config::default(),
    )
    .with_config(controller::Config::default().concurrency(ctx.settings.workers))
    .watches(
        scoped::<Guarded>(&client, ns.as_deref()),
        watcher::Config::default(),
        {
            let hints = hints.clone();
            move |backup: Guarded| {
                let Ok(b) = backup.0 else { return Vec::new() };
                let namespace = b.namespace().unwrap_or_default();
                let names = referenced_secrets(&b.spec);
                let mut hints = hints.lock().unwrap_or_else(PoisonError::into_inner);
                for name in &names {
                    if live_holder(name, [&b]).is_some() {
                        hints.insert((namespace.clone(), name.clone()), b.clone());
                    }
                }
                names
                    .into_iter()
                    .map(|s| ObjectRef::<SecretMeta>::new(&s).within(&namespace))
                    .collect::<Vec<_>>()
            }
        },
    )
    .graceful_shutdown_on(shutdown)
    .run(
        reconcile,
        error_policy,
        Arc::new(GuardContext {
            ctx,
            backups,
            hints,
        }),
    )
    .for_each(|result| async move {
        if let Err(e) = result {
            tracing::debug!(error = %e, "credentials guard");
        }
    })
    .await;
}

async fn reconcile(secret: Arc<SecretMeta>, guard: Arc<GuardContext>) -> Result<Action> {
    let metrics = &guard.ctx.metrics.reconcile;
    metrics
        .instrument(CONTROLLER, guard_secret(&secret, &guard))
        .await
}

async fn guard_secret(secret: &SecretMeta, guard: &GuardContext) -> Result<Action> {
    let namespace = secret.namespace().unwrap_or_default();
    let name = secret.name_any();
    let has = secret
        .finalizers()
        .iter()
        .any(|f| f == CREDENTIALS_FINALIZER);
    let hint = guard
        .hints
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&(namespace.clone(), name.clone()));
    let cached = guard.backups.state();
    let in_namespace: Vec<&Backup> = cached
        .iter()
        .filter_map(|b| b.0.as_ref().ok())
        .filter(|b| b.metadata.namespace.as_deref() == Some(namespace.as_str()))
        .collect();
    let client = &guard.ctx.client;
    let fresh_list;
    let basis = match view_basis(&name, has, hint.as_ref(), &in_namespace) {
        Some(basis) => basis,
        None => {
            // Only the Backups that need this Secret are kept: the decision asks whether any does.
            fresh_list = crate::unreadable::list_filter_map(
                client,
                Some(&namespace),
                &ListParams::default(),
                |b: Backup| needs(&b, &name).then_some(b),
            )
            .await
            .map_err(|e| Error::kube(format!("listing the Backups of namespace {namespace}"), e))?;
            fresh_list.iter().collect()
        }
    };
    let all = basis.iter().copied();
    let deleting = secret.metadata.deletion_timestamp.is_some();
    let mut change = secret_finalizer_change(&name, secret.finalizers(), deleting, all.clone());
    if change.is_some() {
        // The cached Secret may be behind: decide again on a fresh read before writing,
        // so the resourceVersion precondition holds and nothing is clobbered.
        let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
        let Some(fresh) = api
            .get_metadata_opt(&name)
            .await
            .map_err(|e| Error::kube(format!("reading Secret {namespace}/{name}"), e))?
        else {
            return Ok(Action::await_change());
        };
        let deleting = fresh.metadata.deletion_timestamp.is_some();
        change = secret_finalizer_change(&name, fresh.finalizers(), deleting, all);
        if let Some(change) = change {
            patch_finalizers(client, &fresh, change).await?;
            tracing::info!(
                secret.namespace = %namespace,
                secret.name = %name,
                "{} the credentials finalizer",
                if change == FinalizerChange::Add { "added" } else { "removed" }
            );
        }
    }
    // Protected Secrets are looked at again now and then, in case a trigger was missed.
    Ok(if has || change == Some(FinalizerChange::Add) {
        Action::requeue(guard.ctx.settings.backup.resync_interval)
    } else {
        Action::await_change()
    })
}

async fn patch_finalizers(
    client: &kube::Client,
    secret: &SecretMeta,
    change: FinalizerChange,
) -> Result<()> {
    let namespace = secret.namespace().unwrap_or_default();
    let name = secret.name_any();
    let mut finalizers = secret.finalizers().to_vec();
    match change {
        FinalizerChange::Add => finalizers.push(CREDENTIALS_FINALIZER.into()),
        FinalizerChange::Remove => finalizers.retain(|f| f != CREDENTIALS_FINALIZER),
    }
    let patch = serde_json::json!({"metadata": {
        "resourceVersion": secret.resource_version(),
        "finalizers": finalizers,
    }});
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    match api
        .patch_metadata(&name, &crate::patch_params(), &Patch::Merge(&patch))
        .await
    {
        // Gone meanwhile: nothing left to guard.
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(Error::kube(
            format!("updating the finalizers of Secret {namespace}/{name}"),
            e,
        )),
    }
}

fn error_policy(secret: Arc<SecretMeta>, error: &Error, _guard: Arc<GuardContext>) -> Action {
    // A conflict only means "read again": not worth a warning.
    if matches!(error, Error::Conflict { .. }) {
        tracing::debug!(
            secret.namespace = secret.namespace().unwrap_or_default(),
            secret.name = secret.name_any(),
            "{error}"
        );
    } else {
        tracing::warn!(
            secret.namespace = secret.namespace().unwrap_or_default(),
            secret.name = secret.name_any(),
            category = error.category(),
            "{error}"
        );
    }
    error
        .retry_after()
        .map_or_else(Action::await_change, Action::requeue)
}
