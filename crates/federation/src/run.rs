//! Starting and stopping the manager.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context as _;
use futures::{FutureExt, channel::mpsc, future::BoxFuture};
use kube::{Api, Client, api::ListParams, runtime::events::Reporter};
use prometheus_client::registry::Registry as MetricsRegistry;
use tibr_api::VolumeBackup;
use tibr_runtime::{events::Recorder, server::Served};

use crate::{
    NAME, Settings,
    context::Context,
    leader::Elector,
    metrics::{Metrics, PhaseLabels},
    registry::Registry,
    schedule, volume_backup,
    watch::Watches,
};

/// Runs the manager until `shutdown` resolves: serves metrics and health at once, then
/// (once it holds the Lease, when leader election is on) loads the federation kubeconfig,
/// watches the member clusters and reconciles VolumeBackups. Returns an error when the
/// Lease is lost, so that the process restarts rather than act beside a new leader.
pub fn run(
    client: Client,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> BoxFuture<'static, anyhow::Result<()>> {
    boxed(client, settings, shutdown.boxed())
}

/// The manager as a boxed future, made in a function that is not generic: the code that
/// polls it is then compiled once, in this crate, rather than again in each binary and
/// crate that runs the manager (ADR 0011).
fn boxed(
    client: Client,
    settings: Settings,
    shutdown: BoxFuture<'static, ()>,
) -> BoxFuture<'static, anyhow::Result<()>> {
    manage(client, settings, shutdown).boxed()
}

async fn manage(
    client: Client,
    settings: Settings,
    shutdown: BoxFuture<'static, ()>,
) -> anyhow::Result<()> {
    let probe: Api<VolumeBackup> =
        tibr_runtime::client::scoped(&client, settings.namespace.as_deref());
    // Metadata only: a first VolumeBackup that cannot be read must not keep the manager down.
    probe
        .list_metadata(&ListParams::default().limit(1))
        .await
        .context("listing VolumeBackups failed: are the CRDs from deploy/crds installed, and may the manager read them?")?;

    let mut metrics_registry = MetricsRegistry::default();
    let metrics = Metrics::register(&mut metrics_registry);
    let metrics_registry = Arc::new(Mutex::new(metrics_registry));
    let servers = serve(&settings, &metrics_registry).await?;
    tracing::info!(
        metrics = %servers[0].addr,
        health = %servers.last().map_or(servers[0].addr, |s| s.addr),
        namespace = settings.namespace.as_deref().unwrap_or("(all)"),
        kubeconfig = %settings.kubeconfig.display(),
        "tibr-federation starting"
    );
    for s in &servers {
        s.readiness.set_ready();
    }
    let shutdown = shutdown.shared();

    let identity = settings
        .pod_name
        .clone()
        .unwrap_or_else(|| format!("{NAME}-{}", uuid::Uuid::new_v4()));
    let elector = settings
        .leader_election
        .clone()
        .map(|le| Arc::new(Elector::new(&client, le, identity)));
    if let Some(e) = &elector {
        tracing::info!(identity = %e.identity(), "waiting for the Lease");
        tokio::select! {
            _ = e.acquire() => {}
            _ = shutdown.clone() => {
                stop_servers(servers);
                return Ok(());
            }
        }
        tracing::info!(identity = %e.identity(), "holding the Lease: acting");
    }
    metrics.leader.set(1);

    let (wake, wakes) = mpsc::unbounded();
    let registry = Arc::new(Registry::new(
        settings.kubeconfig.clone(),
        settings.member_timeout,
        metrics.clone(),
        wake.clone(),
    ));
    let mut watches = Watches::new(registry.clone(), wake);
    if let Some(changes) = registry.reload().await {
        watches.apply(changes);
    }
    let reloads = {
        let registry = registry.clone();
        let every = settings.reload_interval;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Some(changes) = registry.reload().await {
                    watches.apply(changes);
                }
            }
        })
    };

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
        metrics: metrics.clone(),
        registry,
    });
    let controller = volume_backup::controller(&ctx);
    let phases = {
        let store = controller.store();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            loop {
                let counts = volume_backup::count_phases(&store);
                metrics.volume_backups.clear();
                for (phase, n) in counts {
                    metrics
                        .volume_backups
                        .get_or_create(&PhaseLabels { phase })
                        .set(n);
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        })
    };

    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
    let holder = elector.clone().map(|e| {
        tokio::spawn(async move {
            e.hold().await;
            let _ = lost_tx.send(());
        })
    });
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = {
        let lost = lost.clone();
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                _ = shutdown => {}
                Ok(()) = lost_rx => lost.store(true, std::sync::atomic::Ordering::SeqCst),
            }
        }
    };
    let stop = stop.boxed().shared();
    let schedules = tokio::spawn(schedule::run(
        schedule::controller(&ctx),
        ctx.clone(),
        stop.clone(),
    ));
    volume_backup::run(controller, ctx, wakes, stop).await;
    let _ = schedules.await;

    reloads.abort();
    phases.abort();
    if let Some(h) = holder {
        h.abort();
    }
    metrics.leader.set(0);
    stop_servers(servers);
    if lost.load(std::sync::atomic::Ordering::SeqCst) {
        anyhow::bail!("lost the Lease: stopped acting so that only one manager writes members");
    }
    if let Some(e) = elector {
        e.release().await;
    }
    tracing::info!("tibr-federation stopped");
    Ok(())
}

/// The metrics server, and the health server when it has an address of its own.
async fn serve(
    settings: &Settings,
    registry: &Arc<Mutex<MetricsRegistry>>,
) -> anyhow::Result<Vec<Served>> {
    let mut servers = vec![
        tibr_runtime::server::serve(settings.metrics_addr, registry.clone())
            .await
            .with_context(|| format!("serving metrics on {}", settings.metrics_addr))?,
    ];
    if settings.health_addr != settings.metrics_addr {
        servers.push(
            tibr_runtime::server::serve(settings.health_addr, registry.clone())
                .await
                .with_context(|| format!("serving health on {}", settings.health_addr))?,
        );
    }
    Ok(servers)
}

fn stop_servers(servers: Vec<Served>) {
    for s in servers {
        s.task.abort();
    }
}
