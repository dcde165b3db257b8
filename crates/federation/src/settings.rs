//! The manager's settings, parsed from flags and environment by the binary.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// How the manager runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What decisions depend on: poll intervals, the waits on clusters that do not answer.
    pub core: tibr_core::federation::Settings,
    /// The federation kubeconfig: one context per data plane, named as `k8sClusterName`.
    pub kubeconfig: PathBuf,
    /// How often the kubeconfig's content is compared with what was loaded.
    pub reload_interval: Duration,
    /// Watch VolumeBackups in this namespace only; all namespaces when `None`.
    pub namespace: Option<String>,
    /// Where `/metrics` is served (also `/healthz`, `/readyz`).
    pub metrics_addr: SocketAddr,
    /// Where `/healthz` and `/readyz` are served (also `/metrics`); may equal `metrics_addr`.
    pub health_addr: SocketAddr,
    /// `None`: act without electing a leader (one manager only; tests).
    pub leader_election: Option<LeaderElection>,
    /// VolumeBackups reconciled at the same time.
    pub workers: u16,
    /// The manager pod's name: the reporting instance of its Events and its Lease identity.
    pub pod_name: Option<String>,
    /// How long one read or write in a member cluster may take before the cluster counts as
    /// not answering.
    pub member_timeout: Duration,
}

/// The Lease through which one manager of several acts.
#[derive(Debug, Clone)]
pub struct LeaderElection {
    pub lease_name: String,
    /// The Lease's namespace: the manager's own (`None`: the client's default namespace,
    /// which in a pod is its ServiceAccount's).
    pub namespace: Option<String>,
    /// How long a Lease not renewed stays taken.
    pub lease_duration: Duration,
    /// The leader gives up when it could not renew for this long (less than the duration,
    /// so that it stops before another can take over).
    pub renew_deadline: Duration,
    /// How often the Lease is tried or renewed.
    pub retry_period: Duration,
}

impl Default for LeaderElection {
    fn default() -> Self {
        LeaderElection {
            lease_name: crate::LEASE_NAME.to_string(),
            namespace: None,
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl Settings {
    /// The deployment's settings, reading the kubeconfig at `kubeconfig`.
    pub fn new(kubeconfig: impl Into<PathBuf>) -> Self {
        Settings {
            core: tibr_core::federation::Settings::default(),
            kubeconfig: kubeconfig.into(),
            reload_interval: Duration::from_secs(5),
            namespace: None,
            metrics_addr: SocketAddr::from(([0, 0, 0, 0], 6060)),
            health_addr: SocketAddr::from(([0, 0, 0, 0], 6061)),
            leader_election: Some(LeaderElection::default()),
            workers: 5,
            pod_name: None,
            member_timeout: Duration::from_secs(15),
        }
    }
}
