//! Plumbing shared by tibr's binaries: logging set-up, the metrics and health server,
//! Kubernetes client construction, Event publishing and shutdown signals. No decisions
//! live here.

pub mod client;
pub mod events;
pub mod reconcile;
pub mod schedule;
pub mod server;
pub mod telemetry;

/// Resolves when the process receives SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot listen for SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
