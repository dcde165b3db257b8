//! `tibr-sandbox bench operator`: the operator's own footprint and reaction time as the
//! number of Backups it holds grows (docs/benchmarks.md).
//!
//! The operator runs as its own process (the release `tibr-operator` beside this program)
//! against a one-cluster sandbox, so its memory is its own. The sandbox is filled with
//! Backups that have completed (installed with their status, as a long-running schedule
//! leaves them; `Retain`, so nothing is ever deleted) and with paused BackupSchedules; at
//! each size the bench waits until the operator has reconciled everything it holds (its
//! `tibr_operator_reconciles_total`), then reads its RSS and times fresh Backups from their
//! creation to their Job's, as a watch of Jobs sees them, one after the other, each once
//! the previous one is `Complete` (so no sample's pod shares the CPUs with the next). Once,
//! before the fill, a batch of Backups is created at once and timed until every one is
//! `Complete` (their pods run the agent and the BR stand-in).

use std::{
    collections::HashMap,
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use futures::StreamExt;
use k8s_openapi::api::{batch::v1::Job, core::v1::Secret};
use kube::{
    Api, Client, ResourceExt,
    api::PostParams,
    runtime::{WatchStreamExt, watcher},
};
use serde_json::{Value, json};
use tibr_api::Backup;
use tokio::process::{Child, Command};

use super::stats::percentile;
use crate::demo::seed;
use crate::sandbox::{Sandbox, SandboxConfig, apply};

const NS: &str = "bench";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Completed Backups held, in increasing order.
    pub sizes: Vec<usize>,
    /// Paused BackupSchedules added at the largest size.
    pub schedules: usize,
    /// Fresh Backups timed to their Job at each size.
    pub samples: usize,
    /// Backups created at once and timed to `Complete`.
    pub concurrent: usize,
    /// This program (pods run it as the agent and BR).
    pub programs: PathBuf,
}

/// One size's figures.
#[derive(Debug, Clone)]
struct Point {
    label: String,
    rss_mib: f64,
    to_job_ms: Vec<f64>,
}

pub async fn run(options: &Options) -> anyhow::Result<String> {
    let operator_exe = options.programs.with_file_name("tibr-operator");
    anyhow::ensure!(
        operator_exe.exists(),
        "{} is missing: build it first (cargo build --release -p tibr-operator; cargo xtask \
         bench operator does)",
        operator_exe.display()
    );
    let dir = tempfile::tempdir()?;
    let mut config = SandboxConfig::new(dir.path().to_path_buf(), vec!["sandbox".into()]);
    config.operator = false;
    config.programs = Some(options.programs.clone());
    eprintln!("bench: starting a sandbox");
    let sandbox = Sandbox::start(config).await?;
    let result = measure(&sandbox, options, &operator_exe).await;
    sandbox.stop().await;
    result
}

async fn measure(
    sandbox: &Sandbox,
    options: &Options,
    operator_exe: &std::path::Path,
) -> anyhow::Result<String> {
    let client = sandbox.clusters[0].client().await?;
    prepare(sandbox, &client).await?;
    let template = template(sandbox)?;
    let mut operator = Operator::start(sandbox, operator_exe).await?;
    let jobs = JobTimes::watch(&client).await?;
    let mut points = Vec::new();
    operator.settled(0, 0).await?;
    let idle = operator.rss_mib()?;
    eprintln!("bench: idle {idle:.1} MiB");

    let started = Instant::now();
    let batch: Vec<String> = (0..options.concurrent)
        .map(|i| format!("batch-{i}"))
        .collect();
    for name in &batch {
        create(&client, &template, name).await?;
    }
    wait_complete(&client, &batch, Duration::from_secs(900)).await?;
    let batch_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "bench: {} Backups complete in {batch_seconds:.1} s",
        batch.len()
    );
    let mut held = batch.len();
    points.push(Point {
        label: "idle (no Backups)".into(),
        rss_mib: idle,
        to_job_ms: Vec::new(),
    });

    let mut sample_no = 0;
    for &size in &options.sizes {
        let filler: Vec<Value> = (held..size).map(|i| completed(&template, i)).collect();
        for obj in filler {
            sandbox.clusters[0].install_with_status("bench", obj)?;
        }
        held = held.max(size);
        operator.settled(held, 0).await?;
        let mut to_job = Vec::new();
        for _ in 0..options.samples {
            let name = format!("sample-{sample_no}");
            sample_no += 1;
            let sent = Instant::now();
            create(&client, &template, &name).await?;
            let seen = jobs
                .wait(&format!("backup-{name}"), Duration::from_secs(60))
                .await?;
            let ms = seen.duration_since(sent).as_secs_f64() * 1000.0;
            eprintln!("bench: {name}: its Job after {ms:.1} ms");
            to_job.push(ms);
            held += 1;
            // The next sample starts on a quiet machine, not beside this one's pod.
            wait_complete(&client, &[name], Duration::from_secs(60)).await?;
        }
        operator.settled(held, 0).await?;
        let rss = operator.rss_mib()?;
        eprintln!(
            "bench: {held} Backups: {rss:.1} MiB, Backup→Job p50 {:.1} ms, p95 {:.1} ms",
            percentile(&to_job, 50.0).unwrap_or(f64::NAN),
            percentile(&to_job, 95.0).unwrap_or(f64::NAN)
        );
        points.push(Point {
            label: format!("{size} Backups"),
            rss_mib: rss,
            to_job_ms: to_job,
        });
    }
    if options.schedules > 0 {
        for i in 0..options.schedules {
            sandbox.clusters[0].install_objects("bench", vec![paused_schedule(&template, i)])?;
        }
        operator.settled(held, options.schedules).await?;
        let rss = operator.rss_mib()?;
        points.push(Point {
            label: format!("{held} Backups and {} BackupSchedules", options.schedules),
            rss_mib: rss,
            to_job_ms: Vec::new(),
        });
    }
    operator.stop().await;
    Ok(render(options, idle, &points, batch.len(), batch_seconds))
}

/// The namespace, the Backup RBAC and the Secrets of the seed's static-key Backup.
async fn prepare(sandbox: &Sandbox, client: &Client) -> anyhow::Result<()> {
    sandbox.clusters[0].install_objects(
        "bench",
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})],
    )?;
    apply::apply(client, NS, apply::BACKUP_RBAC).await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    for (name, data) in [
        (
            "s3-secret",
            json!({"access_key": sandbox.s3.access_key, "secret_key": sandbox.s3.secret_key}),
        ),
        (
            "backup-demo1-tidb-secret",
            json!({"password": sandbox.tidb.password()}),
        ),
    ] {
        let secret: Secret =
            serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))?;
        secrets.create(&PostParams::default(), &secret).await?;
    }
    Ok(())
}

/// The seed's first Backup (static keys), in the bench namespace, keeping its data.
fn template(sandbox: &Sandbox) -> anyhow::Result<Value> {
    let tidb = &sandbox.tidb;
    let seed = seed::backups(&tidb.host(), tidb.port(), tidb.user())?;
    let mut backup = seed.first().context("the seed has no Backup")?.value()?;
    backup["metadata"]["namespace"] = json!(NS);
    backup["spec"]["cleanPolicy"] = json!("Retain");
    backup["spec"]["s3"]["endpoint"] = json!(sandbox.s3.endpoint());
    Ok(backup)
}

fn named(template: &Value, name: &str) -> Value {
    let mut b = template.clone();
    b["metadata"]["name"] = json!(name);
    b["spec"]["s3"]["prefix"] = json!(format!("bench/{name}"));
    b
}

async fn create(client: &Client, template: &Value, name: &str) -> anyhow::Result<()> {
    let api: Api<Backup> = Api::namespaced(client.clone(), NS);
    let backup: Backup = serde_json::from_value(named(template, name))?;
    api.create(&PostParams::default(), &backup).await?;
    Ok(())
}

/// A Backup as a finished run leaves it.
fn completed(template: &Value, i: usize) -> Value {
    let mut b = named(template, &format!("done-{i:05}"));
    b["status"] = json!({
        "phase": "Complete",
        "backupPath": format!("s3://my-bucket/bench/done-{i:05}"),
        "commitTs": "449000000000000001",
        "backupSize": 1_048_576,
        "backupSizeReadable": "1 MiB",
        "timeStarted": "2026-12-01T00:00:00Z",
        "timeCompleted": "2026-12-01T00:01:00Z",
        "conditions": [
            {"type": "Scheduled", "status": "True", "lastTransitionTime": "2026-12-01T00:00:00Z"},
            {"type": "Running", "status": "True", "lastTransitionTime": "2026-12-01T00:00:01Z"},
            {"type": "Complete", "status": "True", "lastTransitionTime": "2026-12-01T00:01:00Z"},
        ],
    });
    b
}

fn paused_schedule(template: &Value, i: usize) -> Value {
    json!({
        "apiVersion": "pingcap.com/v1alpha1",
        "kind": "BackupSchedule",
        "metadata": {"name": format!("sched-{i:04}"), "namespace": NS},
        "spec": {
            "schedule": "0 0 * * *",
            "pause": true,
            "maxReservedTime": "72h",
            "backupTemplate": template["spec"].clone(),
        },
    })
}

async fn wait_complete(client: &Client, names: &[String], limit: Duration) -> anyhow::Result<()> {
    let api: Api<Backup> = Api::namespaced(client.clone(), NS);
    let deadline = Instant::now() + limit;
    loop {
        // One read per Backup: listing would read every Backup held, 10,000 at the top size.
        let mut phases: HashMap<String, String> = HashMap::new();
        for name in names {
            let b = api.get(name).await?;
            let phase = b.status.as_ref().and_then(|s| s.phase.clone());
            phases.insert(
                name.clone(),
                phase.map(|p| format!("{p:?}")).unwrap_or_default(),
            );
        }
        let failed: Vec<&String> = names
            .iter()
            .filter(|n| phases.get(*n).is_some_and(|p| p.contains("Failed")))
            .collect();
        if !failed.is_empty() {
            bail!("Backups failed: {failed:?}");
        }
        if names
            .iter()
            .all(|n| phases.get(n).is_some_and(|p| p.contains("Complete")))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "not all of {} Backups Complete within {limit:?}",
                names.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// When each Job was first seen, from a watch started before the Backups are created.
struct JobTimes {
    seen: tokio::sync::watch::Receiver<HashMap<String, Instant>>,
    _task: tokio::task::JoinHandle<()>,
}

impl JobTimes {
    async fn watch(client: &Client) -> anyhow::Result<JobTimes> {
        let api: Api<Job> = Api::namespaced(client.clone(), NS);
        let (tx, rx) = tokio::sync::watch::channel(HashMap::new());
        let task = tokio::spawn(async move {
            let mut jobs = watcher(api, watcher::Config::default())
                .default_backoff()
                .applied_objects()
                .boxed();
            // A watch that expires (a burst of writes outruns it) is listed again: go on.
            while let Some(event) = jobs.next().await {
                let Ok(job) = event else { continue };
                let at = Instant::now();
                tx.send_modify(|m| {
                    m.entry(job.name_any()).or_insert(at);
                });
            }
        });
        Ok(JobTimes {
            seen: rx,
            _task: task,
        })
    }

    async fn wait(&self, name: &str, limit: Duration) -> anyhow::Result<Instant> {
        let mut rx = self.seen.clone();
        let found = tokio::time::timeout(limit, rx.wait_for(|m| m.contains_key(name)))
            .await
            .with_context(|| format!("Job {name} not created within {limit:?}"))??;
        Ok(found[name])
    }
}

/// The operator as a process of its own.
struct Operator {
    child: Child,
    metrics: String,
}

impl Operator {
    async fn start(sandbox: &Sandbox, exe: &std::path::Path) -> anyhow::Result<Operator> {
        let port = |()| -> anyhow::Result<u16> {
            Ok(std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port())
        };
        let (metrics, health) = (port(())?, port(())?);
        let child = Command::new(exe)
            .env_clear()
            .env("KUBECONFIG", sandbox.kubeconfig_path())
            .env("TIBR_METRICS_ADDR", format!("127.0.0.1:{metrics}"))
            .env("TIBR_HEALTH_ADDR", format!("127.0.0.1:{health}"))
            .env("TIBR_AGENT_IMAGE", tibr_operator::DEFAULT_AGENT_IMAGE)
            // The operator's log level, to look into a run: warnings unless asked.
            .env(
                "TIBR_LOG",
                std::env::var("TIBR_BENCH_OPERATOR_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        Ok(Operator {
            child,
            metrics: format!("127.0.0.1:{metrics}"),
        })
    }

    fn rss_mib(&self) -> anyhow::Result<f64> {
        let pid = self.child.id().context("the operator exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .context("VmRSS")?;
        Ok(kib / 1024.0)
    }

    /// Waits until the operator has reconciled at least `backups` Backups and `schedules`
    /// BackupSchedules and its count has stopped moving for a second (its queue is empty).
    async fn settled(&mut self, backups: usize, schedules: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(600);
        let mut last = (0, 0);
        let mut still_since = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the operator exited: {status}");
            }
            let now = self.reconciles().await.unwrap_or_default();
            if now != last {
                last = now;
                still_since = Instant::now();
            } else if now.0 >= backups as u64
                && now.1 >= schedules as u64
                && still_since.elapsed() > Duration::from_secs(1)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the operator did not settle in 10 minutes: {} Backup and {} BackupSchedule \
                     reconciles for {backups} and {schedules} held, RSS {:.1} MiB",
                    last.0,
                    last.1,
                    self.rss_mib().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Reconciles run so far: (backup, backupschedule).
    async fn reconciles(&self) -> anyhow::Result<(u64, u64)> {
        let text = crate::demo::http_get(&self.metrics, "/metrics").await?;
        let count = |controller: &str| {
            text.lines()
                .find(|l| {
                    l.starts_with("tibr_operator_reconciles_total")
                        && l.contains(&format!("controller=\"{controller}\""))
                })
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
                .map_or(0, |v| v as u64)
        };
        Ok((count("backup"), count("backupschedule")))
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

fn render(options: &Options, idle: f64, points: &[Point], batch: usize, batch_s: f64) -> String {
    use std::fmt::Write;
    let machine = super::Machine::this();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} CPUs ({}), load {} at start; Backup→Job over {} fresh Backups per size.\n",
        machine.cpus,
        machine.cpu_model,
        machine.load.as_deref().unwrap_or("unknown"),
        options.samples
    );
    let _ = writeln!(
        out,
        "| held | operator RSS | per Backup over idle | Backup→Job p50 | p95 |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    for p in points {
        let per = p
            .label
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<f64>().ok())
            .map_or("—".into(), |n| {
                format!("{:.1} KiB", (p.rss_mib - idle) * 1024.0 / n)
            });
        let ms = |rank: f64| {
            percentile(&p.to_job_ms, rank).map_or("—".into(), |v| format!("{v:.1} ms"))
        };
        let (p50, p95) = (ms(50.0), ms(95.0));
        let _ = writeln!(
            out,
            "| {} | {:.1} MiB | {per} | {p50} | {p95} |",
            p.label, p.rss_mib
        );
    }
    let _ = writeln!(
        out,
        "\n{batch} Backups created at once, all `Complete` after {batch_s:.1} s (their pods run \
         the agent and the BR stand-in on the same machine)."
    );
    out
}
