//! `tibr-agent`: what runs in a backup Job (`backup-<name>`) or clean Job (`clean-<name>`) pod,
//! the role TiDB Operator's `backup-manager` plays.
//!
//! `main → run(args) → Outcome → report(outcome)`: [`run`] does the work and writes progress
//! conditions on the way (`Restart`, `Prepare`, `Running`, `status.progresses`,
//! `status.gcLifeTime`); [`report`] writes the final condition exactly once (`Complete`,
//! `Failed`, `Clean`, `CleanFailed`) and turns the outcome into the exit code: 0 for success,
//! 1 for a failure, 128+signal when a stop signal ended the run (the status then stays as it
//! was, so the operator's retry policy applies, as for any pod that died).
//!
//! Where we differ from `backup-manager` on purpose:
//! - GC life time: recorded before it is raised, restored on every exit path including
//!   signals; when the restore fails after a successful BR run the backup stays `Complete`
//!   (the data is fine), with reason `ResetTikvGCLifeTimeFailed`, a Warning Event and the
//!   unrestored record in `status.gcLifeTime`, which the operator keeps retrying.
//! - BR's stop: SIGTERM/SIGINT are forwarded to BR, which gets 10 s to stop.
//! - Progress: BR's `[progress]` records become `status.progresses`.
//! - Clean with nothing written (`backupPath` empty) is `Clean`, not `Failed`.
//! - No secret value reaches a log line, a condition, an Event or BR's argument vector.
//!
//! - `backup`, `clean`: the two flows; `volume`: a volume-snapshot backup's part (the init
//!   and execute Jobs, its snapshots when cleaning). `br`: BR as a child process. `gc`: the GC life time;
//!   `tidb_wait`: waiting for TiDB, shown on the Backup.
//! - `status`: status writes and Events. `storage`, `secrets`, `signals`: small plumbing.

mod backup;
mod br;
mod clean;
mod gc;
mod secrets;
mod signals;
mod status;
mod storage;
mod tidb_wait;
mod volume;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use tibr_api::BackupConditionType;
use tibr_core::backup::status::{NewCondition, readable_size, set_condition};
use tibr_core::duration::{format_go_duration, parse_go_duration};

pub use backup::is_rerun;
pub use secrets::Secrets;
pub use signals::{Signals, Stop};
pub use status::{FIELD_MANAGER, StatusWriter};

/// The agent's command line.
#[derive(Debug, Parser)]
#[command(
    name = "tibr-agent",
    version,
    about = "Backs up a TiDB cluster with BR, or deletes a backup's data, for one Backup"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Take the backup a Backup describes (the Job `backup-<name>`).
    Backup(BackupArgs),
    /// Delete the data of a Backup being deleted (the Job `clean-<name>`).
    Clean(CleanArgs),
}

/// Which Backup.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupRef {
    #[arg(long)]
    pub namespace: String,
    /// The Backup's name (`--backupName` as TiDB Operator spells it also works).
    #[arg(long = "backup-name", alias = "backupName")]
    pub backup_name: String,
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_go_duration(text)
}

#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub target: BackupRef,
    /// BR, as the init container copied it.
    #[arg(long, env = "TIBR_BR_PATH", default_value = tibr_core::backup::br::BR_PATH)]
    pub br_path: PathBuf,
    /// How long to wait for TiDB before giving up (Go duration).
    #[arg(long, env = "TIBR_TIDB_CONNECT_TIMEOUT", default_value = "10m", value_parser = duration)]
    pub tidb_connect_timeout: Duration,
    /// Time allowed for putting the GC life time back, on every exit path. With BR's 10 s
    /// to stop, the default fits Kubernetes' default 30 s grace period.
    #[arg(long, env = "TIBR_GC_RESTORE_TIMEOUT", default_value = "15s", value_parser = duration)]
    pub gc_restore_timeout: Duration,
    /// Least time between two progress writes for the same step.
    #[arg(long, env = "TIBR_PROGRESS_INTERVAL", default_value = "5s", value_parser = duration)]
    pub progress_interval: Duration,
    /// Where the TiDB client TLS Secret is mounted.
    #[arg(long, env = "TIBR_TIDB_CLIENT_TLS_DIR", default_value = tibr_core::backup::br::TIDB_CLIENT_TLS_DIR)]
    pub tidb_client_tls_dir: PathBuf,
    /// Where the cluster client TLS Secret is mounted.
    #[arg(long, env = "TIBR_CLUSTER_CLIENT_TLS_DIR", default_value = tibr_core::backup::br::CLUSTER_CLIENT_TLS_DIR)]
    pub cluster_client_tls_dir: PathBuf,
    /// Volume snapshots: this is the init Job, which keeps GC and PD scheduling paused.
    #[arg(long)]
    pub initialize: bool,
    /// Volume snapshots: the volume file the operator built.
    #[arg(
        long,
        env = "TIBR_CLUSTERMETA",
        default_value = "/var/lib/tibr/clustermeta/clustermeta"
    )]
    pub clustermeta: PathBuf,
    /// Volume snapshots: where BR's volume file and progress file go. By default the
    /// temporary directory (`TMPDIR`, else `/tmp`): private to the container in a pod, and
    /// per pod in the sandbox, whose pods share the host's `/tmp`.
    #[arg(long, env = "TIBR_WORK_DIR", default_value_os_t = std::env::temp_dir())]
    pub work_dir: PathBuf,
    /// Volume snapshots: how often BR's progress and the `backupmeta` it writes are looked at.
    #[arg(long, env = "TIBR_SNAPSHOT_POLL", default_value = "1s", value_parser = duration)]
    pub snapshot_poll: Duration,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CleanArgs {
    #[command(flatten)]
    pub target: BackupRef,
    /// Least time between two progress writes.
    #[arg(long, env = "TIBR_PROGRESS_INTERVAL", default_value = "5s", value_parser = duration)]
    pub progress_interval: Duration,
}

/// A failed step: TiDB's condition reason and a message for humans.
#[derive(Debug)]
pub struct Failure {
    pub reason: String,
    pub message: String,
    /// A GC life time raise made before the failure, still to be undone.
    held: Option<Box<gc::Held>>,
    /// The step was cut short by a stop signal.
    interrupted: Option<Stop>,
}

impl Failure {
    pub fn new(reason: &str, message: impl Into<String>) -> Self {
        Failure {
            reason: reason.to_string(),
            message: message.into(),
            held: None,
            interrupted: None,
        }
    }

    fn interrupted(stop: Stop) -> Self {
        Failure {
            interrupted: Some(stop),
            ..Failure::new("Interrupted", format!("stopped by {}", stop.name()))
        }
    }

    fn holding(mut self, held: gc::Held) -> Self {
        self.held = Some(Box::new(held));
        self
    }

    /// Appends what happened to the GC life time, when there is something to say.
    fn add_gc(&mut self, restored: &gc::Restored) {
        match restored {
            gc::Restored::Done(Some(m)) | gc::Restored::Left(m) | gc::Restored::Failed(m) => {
                self.message.push_str("; ");
                self.message.push_str(m);
            }
            gc::Restored::Done(None) => {}
        }
    }
}

/// What a successful backup reports, in one status write.
#[derive(Debug, Clone)]
pub struct Completion {
    pub started: jiff::Timestamp,
    pub completed: jiff::Timestamp,
    pub commit_ts: String,
    pub size: u64,
    /// Anything worth telling (the GC life time left raised for other backups, …).
    pub note: String,
    /// The GC life time could not be restored: the backup is complete, but this needs doing.
    pub gc_not_restored: Option<String>,
    /// Volume snapshots: the blocks changed since each volume's previous snapshot.
    pub incremental_size: Option<u64>,
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    Complete(Completion),
    Failed(Failure),
    /// Volume snapshots: this data plane's snapshots are complete (`VolumeBackupComplete`);
    /// the federation then tears the backup down, which makes it `Complete`.
    VolumeComplete(Completion),
    /// Volume snapshots: this data plane's backup failed (`VolumeBackupFailed`).
    VolumeFailed(Failure),
    /// Volume snapshots: GC and PD scheduling could not be paused, or stopped being paused
    /// before they were to be resumed (`VolumeBackupInitializeFailed`).
    InitializeFailed(Failure),
    /// Volume snapshots: the init Job was stopped as asked, GC and scheduling resumed.
    Released {
        note: String,
    },
    /// A stop signal ended the run before it finished; the status is left for the operator's
    /// retry policy, as for a pod that died.
    Interrupted {
        stop: Stop,
        note: String,
    },
    /// The data is gone (or there was none).
    Cleaned {
        reason: String,
        message: String,
    },
    CleanFailed {
        message: String,
    },
}

/// The whole program, for `main` and for multi-call binaries: parses `argv` (with the
/// program name first), runs, reports, and returns the exit code.
pub fn main_with_args(argv: Vec<String>) -> i32 {
    let args = match Args::try_parse_from(argv) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tibr-agent: starting the runtime: {e}");
            return 1;
        }
    };
    runtime.block_on(async {
        let secrets = Secrets::from_env();
        let client = match tibr_runtime::client::default_client().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "no Kubernetes client");
                return 1;
            }
        };
        match run(client, &args, &secrets).await {
            Ok((writer, outcome)) => report(&writer, outcome).await,
            Err(failure) => {
                tracing::error!(reason = %failure.reason, error = %secrets.scrub(&failure.message), "cannot work on the Backup");
                1
            }
        }
    })
}

/// `tracing` to stderr (the pod log), filtered by `TIBR_LOG` or `RUST_LOG`; colours only on
/// a terminal, so `kubectl logs` shows plain text.
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIBR_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// Does the work of `args`. `Err` only when the Backup cannot even be read (there is then no
/// status to report to). A backup takes over SIGTERM and SIGINT (to stop BR and restore the
/// GC life time); a clean does not, as dying mid-way loses nothing.
pub async fn run(
    client: kube::Client,
    args: &Args,
    secrets: &Secrets,
) -> Result<(StatusWriter, Outcome), Failure> {
    match &args.command {
        Command::Backup(a) => {
            tracing::info!(namespace = %a.target.namespace, backup = %a.target.backup_name, "backup starting");
            let mut signals = Signals::install().map_err(|e| {
                Failure::new(
                    "GetBackupCRFailed",
                    format!("cannot listen for signals: {e}"),
                )
            })?;
            let (writer, outcome) = backup::run(client, a, secrets, &mut signals).await?;
            let outcome = match outcome {
                Outcome::Failed(f) if f.interrupted.is_some() => Outcome::Interrupted {
                    stop: f.interrupted.unwrap_or(Stop::Terminate),
                    note: f.message,
                },
                other => other,
            };
            Ok((writer, outcome))
        }
        Command::Clean(a) => {
            tracing::info!(namespace = %a.target.namespace, backup = %a.target.backup_name, "clean starting");
            clean::run(client, a, secrets).await
        }
    }
}

/// The fields a successful backup reports with its `Complete` condition, in the same write.
fn record_completion(s: &mut tibr_api::pingcap::v1alpha1::BackupStatus, c: &Completion) {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let took = c.completed.duration_since(c.started).unsigned_abs();
    // Whole seconds, as TiDB Operator shows it (`5m3s`).
    let taken = Duration::from_secs(took.as_secs_f64().round() as u64);
    s.time_started = Some(Time(c.started));
    s.time_completed = Some(Time(c.completed));
    s.time_taken = Some(format_go_duration(taken));
    s.backup_size = Some(i64::try_from(c.size).unwrap_or(i64::MAX));
    s.backup_size_readable = Some(readable_size(c.size));
    s.commit_ts = Some(c.commit_ts.clone());
    if let Some(incremental) = c.incremental_size {
        s.incremental_backup_size = Some(i64::try_from(incremental).unwrap_or(i64::MAX));
        s.incremental_backup_size_readable = Some(readable_size(incremental));
    }
}

/// The success of a backup, as condition `type_` with the completion fields, in one write.
async fn complete(
    writer: &StatusWriter,
    c: &Completion,
    type_: BackupConditionType,
) -> (i32, Result<(), kube::Error>) {
    let (reason, mut message) = match &c.gc_not_restored {
        Some(problem) => (
            "ResetTikvGCLifeTimeFailed",
            format!("the backup is complete, but {problem}"),
        ),
        None => ("", String::new()),
    };
    if !c.note.is_empty() {
        if !message.is_empty() {
            message.push_str("; ");
        }
        message.push_str(&c.note);
    }
    tracing::info!(commit_ts = %c.commit_ts, size = c.size, "backup complete");
    if let Some(problem) = &c.gc_not_restored {
        tracing::warn!("{problem}");
    }
    let cond = writer.scrubbed(NewCondition::true_(type_.clone(), reason, message));
    let written = writer
        .update(|s, generation, now| {
            set_condition(s, cond.clone(), generation, now);
            record_completion(s, c);
            true
        })
        .await;
    (0, written.map(|_| ()))
}

/// A failure, as condition `type_`, with a Warning Event.
async fn failed(
    writer: &StatusWriter,
    f: &Failure,
    type_: BackupConditionType,
) -> (i32, Result<(), kube::Error>) {
    let message = writer.scrubbed(NewCondition::true_(type_, &f.reason, f.message.clone()));
    tracing::error!(reason = %f.reason, error = %message.message.clone().unwrap_or_default(), "backup failed");
    writer
        .event(
            true,
            &f.reason,
            "Backup",
            message.message.as_deref().unwrap_or_default(),
        )
        .await;
    (1, writer.condition(message).await.map(|_| ()))
}

/// Writes the final condition (once) and returns the exit code.
pub async fn report(writer: &StatusWriter, outcome: Outcome) -> i32 {
    let (code, written) = match outcome {
        Outcome::Complete(c) => complete(writer, &c, BackupConditionType::Complete).await,
        Outcome::VolumeComplete(c) => {
            complete(writer, &c, BackupConditionType::VolumeBackupComplete).await
        }
        Outcome::Failed(f) => failed(writer, &f, BackupConditionType::Failed).await,
        Outcome::VolumeFailed(f) => {
            failed(writer, &f, BackupConditionType::VolumeBackupFailed).await
        }
        Outcome::InitializeFailed(f) => {
            failed(
                writer,
                &f,
                BackupConditionType::VolumeBackupInitializeFailed,
            )
            .await
        }
        Outcome::Released { note } => {
            tracing::info!("{note}");
            (0, Ok(()))
        }
        Outcome::Interrupted { stop, note } => {
            tracing::warn!(signal = stop.name(), "{note}");
            writer
                .event(true, "BackupInterrupted", "Backup", &note)
                .await;
            (stop.exit_code(), Ok(()))
        }
        Outcome::Cleaned { reason, message } => {
            tracing::info!("{message}");
            writer
                .event(false, "BackupDataCleaned", "Clean", &message)
                .await;
            let cond = NewCondition::true_(BackupConditionType::Clean, &reason, message);
            (0, writer.condition(cond).await.map(|_| ()))
        }
        Outcome::CleanFailed { message } => {
            let cond = writer.scrubbed(NewCondition::true_(
                BackupConditionType::CleanFailed,
                "CleanBackupDataFailed",
                message,
            ));
            tracing::error!(error = %cond.message.clone().unwrap_or_default(), "clean failed");
            writer
                .event(
                    true,
                    "CleanBackupDataFailed",
                    "Clean",
                    cond.message.as_deref().unwrap_or_default(),
                )
                .await;
            (1, writer.condition(cond).await.map(|_| ()))
        }
    };
    match written {
        Ok(()) => code,
        Err(e) => {
            tracing::error!(error = %e, "could not write the final status");
            if code == 0 { 1 } else { code }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("tibr-agent").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_operators_command_lines() {
        let Command::Backup(b) = parse(&[
            "backup",
            "--namespace=test1",
            "--backup-name=demo1-backup-s3",
        ])
        .command
        else {
            panic!("backup")
        };
        assert_eq!(
            (b.target.namespace.as_str(), b.target.backup_name.as_str()),
            ("test1", "demo1-backup-s3")
        );
        assert_eq!(b.br_path, PathBuf::from("/var/lib/br-bin/br"));
        assert_eq!(b.tidb_connect_timeout, Duration::from_secs(600));
        assert_eq!(b.gc_restore_timeout, Duration::from_secs(15));
        assert_eq!(b.progress_interval, Duration::from_secs(5));
        assert_eq!(
            b.tidb_client_tls_dir,
            PathBuf::from("/var/lib/tidb-client-tls")
        );
        // TiDB Operator's spelling, and Go durations.
        let Command::Clean(c) = parse(&[
            "clean",
            "--namespace",
            "ns",
            "--backupName",
            "b",
            "--progress-interval=1m30s",
        ])
        .command
        else {
            panic!("clean")
        };
        assert_eq!(c.target.backup_name, "b");
        assert_eq!(c.progress_interval, Duration::from_secs(90));
        assert!(Args::try_parse_from(["tibr-agent", "backup", "--namespace=ns"]).is_err());
        assert!(
            Args::try_parse_from([
                "tibr-agent",
                "clean",
                "--namespace=ns",
                "--backup-name=b",
                "--progress-interval=5"
            ])
            .is_err(),
            "a duration needs a unit"
        );
    }

    #[test]
    fn completion_fields_read_like_tidb_operators() {
        let mut s = tibr_api::pingcap::v1alpha1::BackupStatus::default();
        let started: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        record_completion(
            &mut s,
            &Completion {
                started,
                completed: started + jiff::SignedDuration::from_millis(303_600),
                commit_ts: "449123456789012481".into(),
                size: 12_000_000_000,
                note: String::new(),
                gc_not_restored: None,
                incremental_size: None,
            },
        );
        assert_eq!(s.time_taken.as_deref(), Some("5m4s"));
        assert_eq!(s.backup_size, Some(12_000_000_000));
        assert_eq!(s.backup_size_readable.as_deref(), Some("12 GB"));
        assert_eq!(s.commit_ts.as_deref(), Some("449123456789012481"));
    }
}
