//! Starting and stopping the operator.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context as _;
use futures::{FutureExt, future::BoxFuture};
use kube::{Api, Client, api::ListParams, runtime::events::Reporter};
use prometheus_client::registry::Registry;
use tibr_api::Backup;
use tibr_runtime::events::Recorder;

use crate::{
    Context, NAME, Settings, backup,
    gc::{GcRestorer, TidbGcRestorer},
    metrics::{Metrics, PhaseLabels},
    schedule, secrets,
};

/// Runs the operator until `shutdown` resolves.
pub fn run(
    client: Client,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> BoxFuture<'static, anyhow::Result<()>> {
    run_with(
        client,
        settings,
        shutdown,
        Arc::new(TidbGcRestorer::default()),
    )
}

/// [`run`], with the given way to reach TiDB (tests pass a double).
pub fn run_with(
    client: Client,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
    gc: Arc<dyn GcRestorer>,
) -> BoxFuture<'static, anyhow::Result<()>> {
    boxed(client, settings, shutdown.boxed(), gc)
}

/// The operator as a boxed future, made in a function that is not generic: the code that
/// polls it is then compiled once, in this crate, rather than again in each binary and
/// crate that runs the operator (ADR 0011).
fn boxed(
    client: Client,
    settings: Settings,
    shutdown: BoxFuture<'static, ()>,
    gc: Arc<dyn GcRestorer>,
) -> BoxFuture<'static, anyhow::Result<()>> {
    operate(client, settings, shutdown, gc).boxed()
}

async fn operate(
    client: Client,
    settings: Settings,
    shutdown: BoxFuture<'static, ()>,
    gc: Arc<dyn GcRestorer>,
) -> anyhow::Result<()> {
    let probe: Api<Backup> = tibr_runtime::client::scoped(&client, settings.namespace.as_deref());
    // Metadata only: a first Backup that cannot be read must not keep the operator down.
    probe
        .list_metadata(&ListParams::default().limit(1))
        .await
        .context("listing Backups failed: are the CRDs from deploy/crds installed, and may the operator read them?")?;

    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let registry = Arc::new(Mutex::new(registry));
    let metrics_server = tibr_runtime::server::serve(settings.metrics_addr, registry.clone())
        .await
        .with_context(|| format!("serving metrics on {}", settings.metrics_addr))?;
    let health_server = if settings.health_addr == settings.metrics_addr {
        None
    } else {
        Some(
            tibr_runtime::server::serve(settings.health_addr, registry.clone())
                .await
                .with_context(|| format!("serving health on {}", settings.health_addr))?,
        )
    };
    tracing::info!(
        metrics = %metrics_server.addr,
        health = %health_server.as_ref().map_or(metrics_server.addr, |s| s.addr),
        namespace = settings.namespace.as_deref().unwrap_or("(all)"),
        agent_image = %settings.backup.agent_image,
        "tibr-operator starting"
    );

    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: NAME.into(),
            instance: settings.pod_name.clone(),
        },
    );
    let ctx = Arc::new(Context {
        client,
        settings,
        recorder,
        metrics,
        gc,
    });

    let shutdown = shutdown.shared();
    let controller = backup::controller(&ctx);
    let schedules = schedule::controller(&ctx);
    let store = controller.store();
    let phases = {
        let store = store.clone();
        let metrics = ctx.metrics.clone();
        tokio::spawn(async move {
            loop {
                let counts = backup::count_phases(&store);
                metrics.backups.clear();
                for (phase, n) in counts {
                    metrics.backups.get_or_create(&PhaseLabels { phase }).set(n);
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        })
    };
    metrics_server.readiness.set_ready();
    if let Some(h) = &health_server {
        h.readiness.set_ready();
    }
    futures::join!(
        backup::run(controller, ctx.clone(), shutdown.clone()),
        schedule::run(schedules, ctx.clone(), shutdown.clone()),
        secrets::run(ctx.clone(), store, shutdown),
    );
    phases.abort();
    metrics_server.task.abort();
    if let Some(h) = health_server {
        h.task.abort();
    }
    tracing::info!("tibr-operator stopped");
    Ok(())
}
