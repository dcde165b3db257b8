//! `tibr-sandbox bench federation`: how long the federation manager keeps GC and PD
//! scheduling of the whole TiDB cluster paused, and how soon it acts on what the data
//! planes report, measured on a sandbox of `control` and N data planes (docs/benchmarks.md).
//!
//! Each plane count gets a sandbox of its own, started in this process as the end-to-end
//! tests start theirs; its VolumeBackups (access keys, every data plane listed) run one
//! after the other. The figures come from outside the manager: the bench's own watches of
//! the member Backups ([`record`]), when it sent each VolumeBackup, and the simulated PD's
//! history, paired up in
//! [`analyse`] and printed by [`report`].

mod analyse;
pub mod clean;
pub mod emulator;
pub mod operator;
mod record;
mod report;
mod stats;

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use kube::{Api, Client, api::PostParams};
use serde_json::{Value, json};
use tibr_api::{Backup, VolumeBackup};
use tibr_cloud_sim::s3::{DEFAULT_BUCKET, REGION};
use tibr_tidb_sim::{
    pd::Event,
    tidb_cluster::{NAME as TC_NAME, NAMESPACE},
};

pub use analyse::{Kind, Pair, RunFigures, Stats};
pub use report::{Machine, PlaneSet, Report};

use crate::sandbox::{Sandbox, SandboxConfig, apply};
use analyse::{Change, Micros, PdMark, Seen};
use record::{Recorder, now};

/// The Secret the VolumeBackups name for S3 and EC2 (access keys).
const S3_SECRET: &str = "s3-secret";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Data plane counts, one sandbox each.
    pub planes: Vec<usize>,
    /// VolumeBackups per plane count, one after the other.
    pub runs: usize,
    /// How long the EC2 emulator keeps snapshots pending. It is outside the pause window
    /// (GC and PD scheduling resume once the snapshots are requested), so short keeps the
    /// bench short.
    pub snapshot_duration: Duration,
    /// A VolumeBackup not `Complete` by then stops the bench.
    pub timeout: Duration,
    /// The built `tibr-sandbox`, which pods run as the agent and BR.
    pub programs: PathBuf,
    /// Where the sandboxes live (a temporary directory when `None`).
    pub dir: Option<PathBuf>,
}

impl Options {
    pub fn new(programs: PathBuf) -> Options {
        Options {
            planes: vec![3, 10],
            runs: 5,
            snapshot_duration: Duration::from_secs(1),
            timeout: Duration::from_secs(300),
            programs,
            dir: None,
        }
    }
}

/// Runs every plane count in turn; progress goes to standard error.
pub async fn run(options: &Options) -> anyhow::Result<Report> {
    anyhow::ensure!(options.runs >= 1, "--runs must be at least 1");
    let machine = Machine::this();
    let mut sets = Vec::new();
    for &planes in &options.planes {
        anyhow::ensure!(planes >= 1, "a sandbox needs at least one data plane");
        sets.push(bench_planes(options, planes).await?);
    }
    Ok(Report {
        machine,
        runs: options.runs,
        snapshot_duration: options.snapshot_duration,
        sets,
    })
}

async fn bench_planes(options: &Options, planes: usize) -> anyhow::Result<PlaneSet> {
    let temp;
    let dir = match &options.dir {
        Some(d) => d.join(format!("planes-{planes}")),
        None => {
            temp = tempfile::tempdir().context("a directory for the sandbox")?;
            temp.path().to_path_buf()
        }
    };
    let names = crate::cli::cluster_names(&(planes + 1).to_string())?;
    let mut config = SandboxConfig::new(dir, names);
    config.programs = Some(options.programs.clone());
    config.ec2.snapshot_duration = options.snapshot_duration;
    eprintln!("bench: starting a sandbox with {planes} data planes");
    let sandbox = Sandbox::start(config).await?;
    let result = measure(&sandbox, options, planes).await;
    sandbox.stop().await;
    result
}

async fn measure(sandbox: &Sandbox, options: &Options, planes: usize) -> anyhow::Result<PlaneSet> {
    anyhow::ensure!(
        sandbox.stretched.len() == planes,
        "TidbCluster {NAMESPACE}/{TC_NAME} spans {} data planes, not {planes}",
        sandbox.stretched.len()
    );
    anyhow::ensure!(
        sandbox.federation.as_ref().is_some_and(|f| f.is_running()),
        "the federation manager is not running in control"
    );
    anyhow::ensure!(
        sandbox.mount_namespaces(),
        "pods need private mount namespaces (root and `unshare --mount`): BR images provide /br that way"
    );
    let plane_names: Vec<String> = sandbox
        .clusters
        .iter()
        .skip(1)
        .map(|c| c.name().to_string())
        .collect();
    let mut plane_clients = Vec::new();
    for cluster in sandbox.clusters.iter().skip(1) {
        let client = cluster.client().await?;
        prepare_plane(sandbox, &client)
            .await
            .with_context(|| format!("preparing {}", cluster.name()))?;
        plane_clients.push((cluster.name().to_string(), client));
    }
    let control = sandbox.clusters[0].client().await?;
    let recorder = Recorder::start(plane_clients.clone(), NAMESPACE).await?;
    let vbks: Api<VolumeBackup> = Api::namespaced(control.clone(), NAMESPACE);
    let mut runs = Vec::new();
    for run in 1..=options.runs {
        let name = format!("bench-{planes}-{run}");
        let vbk: VolumeBackup = serde_json::from_value(volume_backup(&name, &plane_names))?;
        let started = now();
        recorder.note(Seen {
            at: started,
            cluster: "control".into(),
            name: name.clone(),
            change: Change::VolumeBackupSent,
        });
        vbks.create(&PostParams::default(), &vbk)
            .await
            .with_context(|| format!("creating VolumeBackup {name}"))?;
        let done = wait_complete(&vbks, &name, &plane_clients, options.timeout).await?;
        let expected: usize = Kind::ALL.iter().map(|k| k.expected(planes)).sum();
        let seen = settle(&recorder, &name, expected).await;
        let pd = pd_marks(sandbox, started);
        let status_window = done.status.and_then(|s| s.pause_window);
        let figures = analyse::figures(&name, planes, &seen, &pd, status_window)
            .with_context(|| timeline(started, &seen, &pd))?;
        eprintln!(
            "bench: {planes} data planes, {name}: pause window {}, BR's need {}, manager inside it {}",
            report::duration(figures.window),
            report::duration(figures.until_requested),
            report::duration(figures.manager_in_window),
        );
        runs.push(figures);
    }
    Ok(PlaneSet { planes, runs })
}

/// What the tests and docs/federation.md do in each data plane: the backup pods' RBAC and
/// the Secret with the sandbox's access keys.
async fn prepare_plane(sandbox: &Sandbox, client: &Client) -> anyhow::Result<()> {
    apply::apply(client, NAMESPACE, apply::BACKUP_RBAC).await?;
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": S3_SECRET, "namespace": NAMESPACE},
        "stringData": {"access_key": sandbox.s3.access_key, "secret_key": sandbox.s3.secret_key},
    });
    apply::apply(client, NAMESPACE, &secret.to_string()).await?;
    Ok(())
}

/// The first VolumeBackup of docs/federation.md (access keys), listing every data plane.
fn volume_backup(name: &str, planes: &[String]) -> Value {
    let clusters: Vec<Value> = planes
        .iter()
        .map(|p| json!({"k8sClusterName": p, "tcName": TC_NAME, "tcNamespace": NAMESPACE}))
        .collect();
    json!({
        "apiVersion": "federation.pingcap.com/v1alpha1",
        "kind": "VolumeBackup",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "clusters": clusters,
            "template": {
                "br": {"sendCredToTikv": true},
                "s3": {"provider": "aws", "secretName": S3_SECRET, "region": REGION,
                       "bucket": DEFAULT_BUCKET, "prefix": name},
                "toolImage": "pingcap/br:v8.5.0",
                "cleanPolicy": "Delete",
            },
        },
    })
}

/// Waits for `Complete`; stops at the first failure, of the VolumeBackup or of a member
/// (a VolumeBackup waits for every member to end before it is `Failed`, and a member that
/// lost the pause early may wait on BR's own bound of minutes).
async fn wait_complete(
    vbks: &Api<VolumeBackup>,
    name: &str,
    planes: &[(String, Client)],
    timeout: Duration,
) -> anyhow::Result<VolumeBackup> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let v = vbks.get_opt(name).await?;
        let status = v.as_ref().and_then(|v| v.status.as_ref());
        let phase = status
            .and_then(|s| s.phase.as_ref())
            .map(|p| p.as_str().to_string());
        let member_failed = status.is_some_and(|s| {
            s.backups
                .iter()
                .any(|b| b.phase.as_ref().is_some_and(|p| p.as_str() == "Failed"))
        });
        match phase.as_deref() {
            Some("Complete") => return v.context("read just now"),
            Some("Failed") => bail!(
                "VolumeBackup {name} failed:\n{}",
                diagnostics(v.as_ref(), name, planes).await
            ),
            _ if member_failed => bail!(
                "a member of VolumeBackup {name} failed:\n{}",
                diagnostics(v.as_ref(), name, planes).await
            ),
            _ if tokio::time::Instant::now() >= deadline => bail!(
                "VolumeBackup {name} is not Complete after {timeout:?}:\n{}",
                diagnostics(v.as_ref(), name, planes).await
            ),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The VolumeBackup's status and each member's phase and latest condition.
async fn diagnostics(v: Option<&VolumeBackup>, name: &str, planes: &[(String, Client)]) -> String {
    let mut out = match v.and_then(|v| v.status.as_ref()) {
        Some(s) => yaml_serde::to_string(s).unwrap_or_default(),
        None => "no status\n".to_string(),
    };
    let member = tibr_core::federation::member_name(name);
    for (cluster, client) in planes {
        let api: Api<Backup> = Api::namespaced(client.clone(), NAMESPACE);
        let line = match api.get_opt(&member).await {
            Ok(Some(b)) => {
                let last = b.status.as_ref().and_then(|s| s.conditions.last());
                format!(
                    "{} {:?}: {}",
                    b.phase().map(|p| p.as_str()).unwrap_or("-"),
                    b.spec
                        .federal_volume_backup_phase
                        .as_ref()
                        .map(|p| p.as_str()),
                    last.map(|c| format!(
                        "{} {}",
                        c.reason.as_deref().unwrap_or_default(),
                        c.message.as_deref().unwrap_or_default()
                    ))
                    .unwrap_or_default()
                )
            }
            Ok(None) => "absent".to_string(),
            Err(e) => format!("unreadable: {e}"),
        };
        out.push_str(&format!("member {member} in {cluster}: {line}\n"));
    }
    out
}

/// What the bench saw of `vbk`, once its watches delivered every write the backup made
/// (they may trail the VolumeBackup's own `Complete` a little), or after ten seconds with
/// what there is, for the analysis to say what is missing.
async fn settle(recorder: &Recorder, vbk: &str, writes: usize) -> Vec<Seen> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = recorder.of(vbk);
        let n = seen
            .iter()
            .filter(|s| matches!(s.change, Change::Write(_)))
            .count();
        if n >= writes || tokio::time::Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the analysis had, in milliseconds since the VolumeBackup was applied.
fn timeline(started: Micros, seen: &[Seen], pd: &[PdMark]) -> String {
    let ms = |at: Micros| (at - started) as f64 / 1000.0;
    let mut lines: Vec<(Micros, String)> = seen
        .iter()
        .map(|s| {
            (
                s.at,
                format!(
                    "{:>10.3} ms  {} {} {:?}",
                    ms(s.at),
                    s.cluster,
                    s.name,
                    s.change
                ),
            )
        })
        .collect();
    lines.extend(pd.iter().map(|m| {
        let (PdMark::Paused(at) | PdMark::Resumed(at) | PdMark::Expired(at)) = *m;
        (at, format!("{:>10.3} ms  PD {m:?}", ms(at)))
    }));
    lines.sort_by_key(|(at, _)| *at);
    let lines: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
    format!("what the bench saw:\n{}", lines.join("\n"))
}

/// The pauses, resumes and expiries PD recorded since `since`.
fn pd_marks(sandbox: &Sandbox, since: Micros) -> Vec<PdMark> {
    let since_ms = since / 1000;
    sandbox
        .pd
        .pd()
        .snapshot()
        .history
        .iter()
        .filter(|t| t.at_ms >= since_ms)
        .filter_map(|t| {
            let at = t.at_ms * 1000;
            match t.event {
                Event::GcPaused | Event::SchedulersPaused => Some(PdMark::Paused(at)),
                Event::GcResumed | Event::SchedulersResumed => Some(PdMark::Resumed(at)),
                Event::GcExpired | Event::SchedulersExpired => Some(PdMark::Expired(at)),
                Event::ResolvedTsDisabled | Event::ResolvedTsEnabled => None,
            }
        })
        .collect()
}
