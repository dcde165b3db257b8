//! `tibr-operator`: the command line around [`tibr_operator::run`].

use clap::Parser;
use tibr_runtime::telemetry::LogFormat;

/// Reconciles TiDB backups (`Backup`) in a Kubernetes cluster.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Image of the backup and clean Job pods.
    #[arg(long, env = "TIBR_AGENT_IMAGE", default_value = tibr_operator::DEFAULT_AGENT_IMAGE)]
    agent_image: String,
    /// Where to serve Prometheus metrics.
    #[arg(long, env = "TIBR_METRICS_ADDR", default_value = ":8080", value_parser = tibr_operator::parse_addr)]
    metrics_addr: std::net::SocketAddr,
    /// Where to serve /healthz and /readyz.
    #[arg(long, env = "TIBR_HEALTH_ADDR", default_value = ":8081", value_parser = tibr_operator::parse_addr)]
    health_addr: std::net::SocketAddr,
    /// Log as `text` or `json`.
    #[arg(long, env = "TIBR_LOG_FORMAT", default_value = "text")]
    log_format: LogFormat,
    /// Watch only this namespace (all namespaces by default).
    #[arg(long, env = "TIBR_WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Backups (and, apart, BackupSchedules and Secrets) reconciled at the same time.
    #[arg(long, env = "TIBR_WORKERS", default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    workers: u16,
    /// The operator pod's name, shown on its Events.
    #[arg(long, env = "POD_NAME", hide = true)]
    pod_name: Option<String>,
    /// The operator pod's namespace, for the logs.
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
        "tibr-operator"
    );
    let mut settings = tibr_operator::Settings::new(args.agent_image);
    settings.metrics_addr = args.metrics_addr;
    settings.health_addr = args.health_addr;
    settings.namespace = args.namespace;
    settings.pod_name = args.pod_name;
    settings.workers = args.workers;
    let client = tibr_runtime::client::default_client().await?;
    tibr_operator::run(client, settings, tibr_runtime::shutdown_signal()).await
}
