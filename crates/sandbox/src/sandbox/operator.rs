//! The tibr operator of every sandbox cluster, running in this process
//! (`tibr_operator::run`), so that a `Backup` applied with kubectl is taken as in a real
//! cluster: the operator creates the Job, the job runner runs the agent and BR (this
//! multi-call binary, see `programs`), and the agent reports back.
//!
//! It runs as ServiceAccount `tibr-system/tibr-operator` (the identity of
//! `deploy/operator/rbac.yaml`, which is applied when found), with its own token: the API
//! emulator does not enforce RBAC, but records every request under that identity
//! (`Cluster::accesses`), so tests can check the manifests cover what the operator does.
//! Metrics and health are served on free ports of 127.0.0.1. It is started only in clusters
//! where the `Backup` CRD is installed (a sandbox started with other CRDs has nothing for it
//! to do), and stopped before the cluster.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use serde_json::json;
use tokio::{sync::oneshot, task::JoinHandle};
use tracing::Instrument;

use super::files::{MANAGER, install_files};
use kube_emulator::RunningCluster;

/// Namespace and ServiceAccount the operator runs as (`deploy/operator/`).
pub const NAMESPACE: &str = "tibr-system";
pub const SERVICE_ACCOUNT: &str = "tibr-operator";

/// A running operator.
pub struct OperatorHandle {
    pub cluster: String,
    pub agent_image: String,
    pub metrics_addr: SocketAddr,
    pub health_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl std::fmt::Debug for OperatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorHandle")
            .field("cluster", &self.cluster)
            .field("metrics_addr", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

impl OperatorHandle {
    /// Whether the operator is still running (it ends only on `stop`, or on an error it
    /// has logged).
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// One line for `up`: where it runs and what it serves.
    pub fn endpoint_line(&self) -> String {
        format!(
            "operator {:<11} in this process as {NAMESPACE}/{SERVICE_ACCOUNT} (agent image {}; metrics http://{}/metrics, health http://{}/healthz)",
            self.cluster, self.agent_image, self.metrics_addr, self.health_addr
        )
    }

    /// Asks the operator to stop and waits for it (at most 20 s, then it is aborted).
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let abort = self.task.abort_handle();
        match tokio::time::timeout(Duration::from_secs(20), self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => {
                tracing::warn!(cluster = %self.cluster, "the operator ended with an error: {e:#}")
            }
            Ok(Err(e)) => tracing::warn!(cluster = %self.cluster, "the operator task failed: {e}"),
            Err(_) => {
                tracing::warn!(cluster = %self.cluster, "the operator did not stop within 20 s");
                abort.abort();
            }
        }
    }
}

/// Whether `cluster` serves `pingcap.com/v1alpha1` Backups.
pub fn backup_crd_installed(cluster: &RunningCluster) -> bool {
    cluster.serves("pingcap.com/v1alpha1", "Backup")
}

/// Starts the operator for `cluster` with `agent_image`; `deploy` is the workspace's
/// `deploy/` directory, if known (for the operator's RBAC objects); `s3_endpoint` is where
/// S3 is for Backups that name none (the sandbox's, as pods are told).
pub async fn start(
    cluster: &RunningCluster,
    agent_image: &str,
    deploy: Option<&Path>,
    s3_endpoint: &str,
) -> anyhow::Result<OperatorHandle> {
    identity(cluster, deploy)?;
    let client = cluster
        .client_as(NAMESPACE, SERVICE_ACCOUNT)
        .await
        .context("a client for the operator")?;
    let mut settings = tibr_operator::Settings::new(agent_image);
    settings.metrics_addr = free_port()?;
    settings.health_addr = free_port()?;
    settings.pod_name = Some(format!("tibr-operator-{}", cluster.name()));
    settings.s3_endpoint = Some(s3_endpoint.to_string());
    let (metrics_addr, health_addr) = (settings.metrics_addr, settings.health_addr);
    let (tx, rx) = oneshot::channel::<()>();
    let span = tracing::info_span!("operator", cluster = %cluster.name());
    let task = tokio::spawn(
        async move {
            let result = tibr_operator::run(client, settings, async move {
                let _ = rx.await;
            })
            .await;
            if let Err(e) = &result {
                tracing::error!("the operator stopped: {e:#}");
            }
            result
        }
        .instrument(span),
    );
    Ok(OperatorHandle {
        cluster: cluster.name().to_string(),
        agent_image: agent_image.to_string(),
        metrics_addr,
        health_addr,
        stop: Some(tx),
        task,
    })
}

/// Namespace `tibr-system`, ServiceAccount `tibr-operator` and, when `deploy/operator/rbac.yaml`
/// is there, its ClusterRole and binding: what `kubectl apply -f deploy/operator/` creates.
fn identity(cluster: &RunningCluster, deploy: Option<&Path>) -> anyhow::Result<()> {
    cluster
        .install_objects(
            MANAGER,
            vec![
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
                json!({"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE}}),
            ],
        )
        .context("creating the operator's namespace and ServiceAccount")?;
    if let Some(rbac) = deploy
        .map(|d| d.join("operator").join("rbac.yaml"))
        .filter(|p| p.is_file())
    {
        install_files(cluster, &[rbac])?;
    }
    Ok(())
}

/// A free port on 127.0.0.1 (probed now, bound by the operator a moment later).
/// A port free now on 127.0.0.1, for a server this process starts next.
pub(super) fn free_port() -> anyhow::Result<SocketAddr> {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").context("probing a free port")?;
    Ok(probe.local_addr()?)
}

/// `deploy/` next to a CRD directory (`deploy/crds`).
pub fn deploy_dir(crds_dir: Option<&Path>) -> Option<PathBuf> {
    crds_dir
        .and_then(Path::parent)
        .filter(|d| d.join("operator").is_dir())
        .map(Path::to_path_buf)
}
