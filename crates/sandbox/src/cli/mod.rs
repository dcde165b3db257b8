//! The command line: `up` runs a sandbox until interrupted, `demo` runs the scripted
//! scenarios in a temporary sandbox, `bench` measures, `s3-check` tests S3 access from a pod.

pub mod s3_check;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use crate::sandbox::{Sandbox, SandboxConfig};

#[derive(Debug, Parser)]
#[command(
    name = "tibr-sandbox",
    version,
    about = "Kubernetes API emulator, job runner and embedded S3 for trying tibr without a cluster"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the sandbox and keep it running until SIGINT or SIGTERM.
    /// The EC2 emulator's switches come from the environment: TIBR_EC2_SNAPSHOT_SECONDS,
    /// TIBR_EC2_FAIL_SNAPSHOTS, TIBR_EC2_FAIL_MESSAGE, TIBR_EC2_PENDING_LIMIT,
    /// TIBR_EC2_VOLUME_PENDING_LIMIT, TIBR_EC2_THROTTLE (RATE[/BURST][:Operation,…]).
    Up {
        /// Directory for the kubeconfig, sandbox.env, S3 data and pod files.
        #[arg(long)]
        dir: PathBuf,
        /// Number of clusters, or their names separated by commas.
        #[arg(long, default_value = "1")]
        clusters: String,
    },
    /// Start a sandbox in a temporary directory, run the scripted scenarios and report.
    Demo,
    /// Measure, and print the results as Markdown (docs/benchmarks.md).
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
    /// Write and read back an object under s3://BUCKET/PREFIX with the credentials of the
    /// environment (static keys, web identity or instance metadata), as a pod would.
    S3Check {
        /// s3://BUCKET/PREFIX
        url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// The operator as a process of its own: RSS idle and with growing numbers of Backups
    /// and BackupSchedules, Backup-to-Job time at each size, a batch of Backups to Complete.
    Operator {
        /// Completed Backups held, in increasing order.
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        sizes: Vec<usize>,
        /// Paused BackupSchedules added at the largest size.
        #[arg(long, default_value_t = 1000)]
        schedules: usize,
        /// Fresh Backups timed to their Job at each size.
        #[arg(long, default_value_t = 20)]
        samples: usize,
        /// Backups created at once and timed to Complete.
        #[arg(long, default_value_t = 100)]
        concurrent: usize,
    },
    /// Deleting a backup's objects: ours against `aws s3 rm --recursive`, rclone and the
    /// server's sequential DeleteObjects limit, on the sandbox's S3 and on moto.
    Clean {
        /// Objects of 1 KiB per run.
        #[arg(long, default_value_t = 20_000)]
        objects: usize,
        /// Runs per tool and server.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// The federation manager: the GC/PD pause window of each VolumeBackup and the time
    /// from a member's status change to the manager's write it causes, on sandboxes of
    /// `control` and N data planes.
    Federation {
        /// Data plane counts, one sandbox each.
        #[arg(long, value_delimiter = ',', default_value = "3,10")]
        planes: Vec<usize>,
        /// VolumeBackups per plane count, one after the other.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// How long EC2 snapshots stay pending (after the pause window, so it barely
        /// matters to the figures).
        #[arg(long, default_value_t = 1)]
        snapshot_seconds: u64,
        /// A VolumeBackup not Complete by then stops the bench.
        #[arg(long, default_value_t = 300)]
        timeout_seconds: u64,
        /// Keep the sandboxes here instead of in a temporary directory.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The API emulator: creates per second one at a time, `kubectl get bk` and resident
    /// memory with 10, 1,000 and 10,000 Backups in the store, and memory once they are gone.
    Emulator {
        /// Backups in the store at each measurement, increasing.
        #[arg(long, value_delimiter = ',', default_value = "10,1000,10000")]
        sizes: Vec<usize>,
        /// Creates timed one at a time at each size.
        #[arg(long, default_value_t = 200)]
        sample: usize,
        /// `kubectl get bk` runs at each size (the median is reported).
        #[arg(long, default_value_t = 5)]
        kubectl_runs: usize,
        /// Keep the kubeconfig here instead of in a temporary directory.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

impl Command {
    /// The log level when `TIBR_LOG` is not set: `up` logs what the operator does (`info`);
    /// the demo prints what a user sees, so only warnings reach its standard error.
    pub fn default_log_level(&self) -> &'static str {
        match self {
            Command::Demo | Command::Bench { .. } => "warn",
            _ => "info",
        }
    }
}

pub fn init_tracing(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIBR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `control`, `dp-1`..: the stable names `--clusters N` gives.
pub fn cluster_names(spec: &str) -> anyhow::Result<Vec<String>> {
    if let Ok(n) = spec.parse::<usize>() {
        anyhow::ensure!(n >= 1, "--clusters must be at least 1");
        if n == 1 {
            return Ok(vec!["sandbox".to_string()]);
        }
        let mut names = vec!["control".to_string()];
        names.extend((1..n).map(|i| format!("dp-{i}")));
        return Ok(names);
    }
    let names: Vec<String> = spec
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    anyhow::ensure!(
        !names.is_empty(),
        "--clusters needs a number or a list of names"
    );
    Ok(names)
}

/// Runs the command. A boxed future made in this crate, so that the code polling it is
/// compiled here once rather than again in the binary's `main` (ADR 0011).
pub fn run(args: Args) -> futures::future::LocalBoxFuture<'static, anyhow::Result<ExitCode>> {
    futures::FutureExt::boxed_local(execute(args))
}

async fn execute(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Up { dir, clusters } => {
            let mut config = SandboxConfig::new(dir, cluster_names(&clusters)?);
            config.programs = Some(this_executable()?);
            config.ec2 = config.ec2.with_env(|name| std::env::var(name).ok())?;
            let sandbox = Sandbox::start(config).await?;
            for line in sandbox.endpoint_lines() {
                println!("{line}");
            }
            wait_for_signal().await;
            sandbox.stop().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::S3Check { url } => {
            let source = s3_check::credential_source();
            match s3_check::run(&url).await {
                Ok(written) => {
                    println!("s3-check: wrote and read {written} ({source})");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("s3-check: {url} ({source}): {e:#}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Bench {
            what:
                Bench::Federation {
                    planes,
                    runs,
                    snapshot_seconds,
                    timeout_seconds,
                    dir,
                },
        } => {
            let mut options = crate::bench::Options::new(this_executable()?);
            options.planes = planes;
            options.runs = runs;
            options.snapshot_duration = std::time::Duration::from_secs(snapshot_seconds);
            options.timeout = std::time::Duration::from_secs(timeout_seconds);
            options.dir = dir;
            let report = crate::bench::run(&options).await?;
            print!("{}", report.render());
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            what: Bench::Clean { objects, runs },
        } => {
            let venv = std::env::current_dir()?.join(".venv");
            let options = crate::bench::clean::Options {
                objects,
                runs,
                venv,
            };
            print!("{}", crate::bench::clean::run(&options).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            what:
                Bench::Operator {
                    sizes,
                    schedules,
                    samples,
                    concurrent,
                },
        } => {
            let options = crate::bench::operator::Options {
                sizes,
                schedules,
                samples,
                concurrent,
                programs: this_executable()?,
            };
            print!("{}", crate::bench::operator::run(&options).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            what:
                Bench::Emulator {
                    sizes,
                    sample,
                    kubectl_runs,
                    dir,
                },
        } => {
            let mut options = crate::bench::emulator::Options::new();
            options.sizes = sizes;
            options.sample = sample;
            options.kubectl_runs = kubectl_runs;
            options.dir = dir;
            let report = crate::bench::emulator::run(&options).await?;
            print!("{}", report.render());
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo => Ok(if crate::demo::run().await? {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }),
    }
}

/// This `tibr-sandbox`, which pods run as `tibr-agent` and `br` (multi-call).
pub fn this_executable() -> anyhow::Result<PathBuf> {
    std::env::current_exe().map_err(|e| anyhow::anyhow!("finding this executable: {e}"))
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_cluster_names() {
        assert_eq!(cluster_names("1").unwrap(), vec!["sandbox"]);
        assert_eq!(cluster_names("3").unwrap(), vec!["control", "dp-1", "dp-2"]);
        assert_eq!(cluster_names("a, b").unwrap(), vec!["a", "b"]);
        assert!(cluster_names("0").is_err());
    }
}
