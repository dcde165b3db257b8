//! The federation manager of a sandbox with several clusters, running in this process in
//! the first cluster (`control`), as `kubectl apply -f deploy/federation/` would run it: as
//! ServiceAccount `tibr-system/tibr-federation`, with a federation kubeconfig (`DIR/
//! federation-kubeconfig`) holding one context per data plane, named after it, whose user is
//! the data plane's `tibr-system/br-federation-member` (`deploy/federation/member/`).
//!
//! The API emulator does not enforce RBAC but records every request under its identity, so
//! tests can check the manifests cover what the manager does. Leader election is off: there
//! is one manager.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use base64::Engine;
use serde_json::json;
use tokio::{sync::oneshot, task::JoinHandle};
use tracing::Instrument;

use super::files::{MANAGER, install_files};
use super::operator::free_port;
use kube_emulator::RunningCluster;

pub const NAMESPACE: &str = "tibr-system";
pub const SERVICE_ACCOUNT: &str = "tibr-federation";
/// The data planes' identity for the manager.
pub const MEMBER_SERVICE_ACCOUNT: &str = "br-federation-member";

/// A running federation manager.
pub struct FederationHandle {
    pub cluster: String,
    pub kubeconfig: PathBuf,
    pub metrics_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl std::fmt::Debug for FederationHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationHandle")
            .field("cluster", &self.cluster)
            .field("metrics_addr", &self.metrics_addr)
            .finish_non_exhaustive()
    }
}

impl FederationHandle {
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// One line for `up`.
    pub fn endpoint_line(&self) -> String {
        format!(
            "federation {:<9} in this process as {NAMESPACE}/{SERVICE_ACCOUNT} (members from {}; metrics http://{}/metrics)",
            self.cluster,
            self.kubeconfig.display(),
            self.metrics_addr
        )
    }

    /// Asks the manager to stop and waits for it (at most 20 s, then it is aborted).
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let abort = self.task.abort_handle();
        match tokio::time::timeout(Duration::from_secs(20), self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!("the federation manager ended with an error: {e:#}"),
            Ok(Err(e)) => tracing::warn!("the federation manager task failed: {e}"),
            Err(_) => {
                tracing::warn!("the federation manager did not stop within 20 s");
                abort.abort();
            }
        }
    }
}

/// Whether `cluster` serves VolumeBackups (the federation CRDs are installed).
pub fn installed(cluster: &RunningCluster) -> bool {
    cluster.serves("federation.pingcap.com/v1alpha1", "VolumeBackup")
}

/// Starts the manager in `control` for `planes`, writing its kubeconfig in `dir`; `deploy`
/// is the workspace's `deploy/` directory, if known (for the RBAC objects).
pub async fn start(
    control: &RunningCluster,
    planes: &[&RunningCluster],
    dir: &Path,
    deploy: Option<&Path>,
) -> anyhow::Result<FederationHandle> {
    let federation = deploy.map(|d| d.join("federation"));
    control
        .install_objects(
            MANAGER,
            vec![
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
                json!({"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE}}),
            ],
        )
        .context("the federation manager's namespace and ServiceAccount")?;
    if let Some(rbac) = federation
        .as_ref()
        .map(|d| d.join("rbac.yaml"))
        .filter(|p| p.is_file())
    {
        install_files(control, &[rbac])?;
    }
    let member_rbac = federation
        .as_ref()
        .map(|d| d.join("member").join("rbac.yaml"))
        .filter(|p| p.is_file());
    for plane in planes {
        match &member_rbac {
            Some(rbac) => {
                install_files(plane, std::slice::from_ref(rbac))?;
            }
            None => {
                plane.install_objects(
                    MANAGER,
                    vec![
                        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
                        json!({"apiVersion": "v1", "kind": "ServiceAccount",
                               "metadata": {"name": MEMBER_SERVICE_ACCOUNT, "namespace": NAMESPACE}}),
                    ],
                )?;
            }
        }
    }
    let kubeconfig = dir.join("federation-kubeconfig");
    tibr_cloud_sim::write_private(&kubeconfig, &kubeconfig_yaml(planes))?;

    let client = control
        .client_as(NAMESPACE, SERVICE_ACCOUNT)
        .await
        .context("a client for the federation manager")?;
    let mut settings = tibr_federation::Settings::new(&kubeconfig);
    settings.metrics_addr = free_port()?;
    settings.health_addr = settings.metrics_addr;
    settings.leader_election = None;
    settings.pod_name = Some(format!("tibr-federation-{}", control.name()));
    let metrics_addr = settings.metrics_addr;
    let (tx, rx) = oneshot::channel::<()>();
    let span = tracing::info_span!("federation", cluster = %control.name());
    let task = tokio::spawn(
        async move {
            let result = tibr_federation::run(client, settings, async move {
                let _ = rx.await;
            })
            .await;
            if let Err(e) = &result {
                tracing::error!("the federation manager stopped: {e:#}");
            }
            result
        }
        .instrument(span),
    );
    Ok(FederationHandle {
        cluster: control.name().to_string(),
        kubeconfig,
        metrics_addr,
        stop: Some(tx),
        task,
    })
}

/// One context per data plane, named after it, as the member ServiceAccount.
fn kubeconfig_yaml(planes: &[&RunningCluster]) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let user = |c: &RunningCluster| format!("{}-{MEMBER_SERVICE_ACCOUNT}", c.name());
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": planes.iter().map(|c| json!({"name": c.name(), "cluster": {
            "server": c.url(), "certificate-authority-data": b64(&c.ca_pem)}})).collect::<Vec<_>>(),
        "users": planes.iter().map(|c| json!({"name": user(c), "user": {
            "token": c.service_account_token(NAMESPACE, MEMBER_SERVICE_ACCOUNT)}})).collect::<Vec<_>>(),
        "contexts": planes.iter().map(|c| json!({"name": c.name(), "context": {
            "cluster": c.name(), "user": user(c)}})).collect::<Vec<_>>(),
        "current-context": planes.first().map(|c| c.name()).unwrap_or_default(),
    });
    yaml_serde::to_string(&doc).expect("a kubeconfig is YAML")
}
