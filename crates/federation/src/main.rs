//! `tibr-federation`: the command line around [`tibr_federation::run`].

use std::path::PathBuf;

use clap::Parser;
use tibr_runtime::{server::parse_addr, telemetry::LogFormat};

/// Backs up TiDB clusters spread over several Kubernetes clusters (`VolumeBackup`).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The federation kubeconfig: one context per data plane, named as the
    /// VolumeBackups' `k8sClusterName`. Read again whenever it changes.
    #[arg(long, env = "TIBR_FEDERATION_KUBECONFIG", default_value = tibr_federation::DEFAULT_KUBECONFIG)]
    federation_kubeconfig_path: PathBuf,
    /// Watch VolumeBackups in this namespace only (all namespaces by default).
    #[arg(long, env = "TIBR_WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Where to serve Prometheus metrics.
    #[arg(long, env = "TIBR_METRICS_ADDR", default_value = ":6060", value_parser = parse_addr)]
    metrics_addr: std::net::SocketAddr,
    /// Where to serve /healthz and /readyz.
    #[arg(long, env = "TIBR_HEALTH_ADDR", default_value = ":6061", value_parser = parse_addr)]
    health_addr: std::net::SocketAddr,
    /// Log as `text` or `json`.
    #[arg(long, env = "TIBR_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    /// Act only while holding the Lease `br-federation-manager` in the manager's namespace.
    #[arg(long, env = "TIBR_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    leader_elect: bool,
    /// VolumeBackups reconciled at the same time.
    #[arg(long, env = "TIBR_WORKERS", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
    /// The manager pod's name: its Lease identity and the reporting instance of its Events.
    #[arg(long, env = "POD_NAME", hide = true)]
    pod_name: Option<String>,
    /// The manager pod's namespace, where its Lease is.
    #[arg(long, env = "POD_NAMESPACE", hide = true)]
    pod_namespace: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tibr_runtime::telemetry::init(args.log_format);
    tracing::info!(
        pod = args.pod_name.as_deref().unwrap_or("-"),
        namespace = args.pod_namespace.as_deref().unwrap_or("-"),
        version = env!("CARGO_PKG_VERSION"),
        "tibr-federation"
    );
    let mut settings = tibr_federation::Settings::new(args.federation_kubeconfig_path);
    settings.namespace = args.namespace;
    settings.metrics_addr = args.metrics_addr;
    settings.health_addr = args.health_addr;
    settings.workers = args.workers;
    settings.pod_name = args.pod_name;
    settings.leader_election = args.leader_elect.then(|| tibr_federation::LeaderElection {
        namespace: args.pod_namespace,
        ..tibr_federation::LeaderElection::default()
    });
    let client = tibr_runtime::client::default_client().await?;
    tibr_federation::run(client, settings, tibr_runtime::shutdown_signal()).await
}
