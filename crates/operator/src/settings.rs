//! The operator's settings, parsed from flags and environment by the binary.

use std::net::SocketAddr;

/// How `--metrics-addr` and `--health-addr` are written (shared by every binary).
pub use tibr_runtime::server::parse_addr;

/// How the operator runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What decisions depend on: the agent image, requeue intervals, patience.
    pub backup: tibr_core::backup::Settings,
    /// Where `/metrics` is served (also `/healthz`, `/readyz`).
    pub metrics_addr: SocketAddr,
    /// Where `/healthz` and `/readyz` are served (also `/metrics`); may equal `metrics_addr`.
    pub health_addr: SocketAddr,
    /// Watch only this namespace; all namespaces when `None`.
    pub namespace: Option<String>,
    /// The operator pod's name, shown as the reporting instance of its Events.
    pub pod_name: Option<String>,
    /// Where S3 is for a Backup that names no `spec.s3.endpoint`, when the operator deletes
    /// its data itself (a namespace being deleted): what `AWS_ENDPOINT_URL_S3` tells a pod.
    /// `None` (a real cluster): AWS. The sandbox points it at its own S3.
    pub s3_endpoint: Option<String>,
    /// Objects each controller reconciles at the same time (TiDB Operator's `--workers`).
    /// Bounded so that a burst of triggers (a re-list of 10,000 Backups) queues instead of
    /// holding one reconcile in memory per object.
    pub workers: u16,
}

impl Settings {
    /// Settings with the given agent image and the deployment's ports.
    pub fn new(agent_image: impl Into<String>) -> Self {
        Settings {
            backup: tibr_core::backup::Settings::new(agent_image),
            metrics_addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            health_addr: SocketAddr::from(([0, 0, 0, 0], 8081)),
            namespace: None,
            pod_name: None,
            s3_endpoint: None,
            workers: 5,
        }
    }
}
