//! `br backup full --type=aws-ebs`: the steps of BR's `RunBackupEBS` with EC2 reached
//! through `tibr-ebs` and PD simulated by `tibr-tidb-sim`.
//!
//! 1. Read `--volume-file` (store count 0 is BR's "store count is 0" error).
//! 2. Refuse a prefix holding `backupmeta`, write `backup.lock`, take `backup_start_ts`.
//! 3. Without `--operator-paused-gc-and-scheduler`, pause the schedulers itself (5 min TTL,
//!    renewed). Then wait, bounded by `BR_SIM_EBS_SCHEDULE_WAIT_MS`, until the schedulers
//!    are paused: BR waits for TiKV to report no pending admin operation, which in the
//!    simulated cluster is what a scheduler pause gives. With the operator flag the
//!    stand-in also waits for a service GC safepoint (BR takes that on trust).
//! 4. Read the min resolved ts (without the operator flag, keep a 5 min safepoint at it).
//! 5. One `CreateSnapshots` per store's instance (`--cloud-api-concurrency` at a time,
//!    `PendingSnapshotLimitExceeded` retried), the volumes' zones, then `backupmeta` in
//!    BR's layout right away; without the operator flag the schedulers resume now.
//! 6. Poll `DescribeSnapshots` until every snapshot is `completed` (one in `error` fails).
//!
//! A failure after the snapshots were requested deletes what was created (best effort).
//! A first SIGTERM/SIGINT cancels the steps before the snapshots; afterwards BR does not
//! look at it (its EC2 calls run without the cancelled context), and a second signal exits
//! at once with status 1, as BR's signal listener does. `--skip-aws` mocks the snapshots
//! (800 ms each, BR's `br_ebs_backup_mocking_wait_snapshot_duration`) and writes no
//! `backupmeta`, as BR.

mod meta;
mod progress;
mod snapshots;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tibr_core::volume::VolumeMeta;
use tibr_storage::backupmeta;
use tokio::sync::watch;

pub use meta::{ByVolume, Filled, render};

use crate::config::{EbsStage, SimEnv, Storage};
use crate::flags::Parsed;
use crate::fmt::go_duration;
use crate::log::{Logger, field, raw};
use crate::pd::{self, PdClient, ServiceSafePoint};
use progress::Progress;
use snapshots::Ec2;

pub struct Ctx<'a> {
    pub parsed: &'a Parsed,
    pub sim: &'a SimEnv,
    pub log: &'a Logger,
    pub storage: &'a Storage,
}

/// BR's pause TTL when it pauses the schedulers itself, and its backup safepoint TTL.
const SELF_PAUSE_TTL: Duration = Duration::from_secs(300);

/// What the backup did that the way out must undo or report.
#[derive(Default)]
struct State {
    /// Set once snapshots may exist: from then on a failure deletes them.
    armed: AtomicBool,
    created: Mutex<ByVolume>,
    cloud: Mutex<Option<tibr_ebs::Cloud>>,
    /// Without the operator flag: the schedulers BR paused, under its safepoint id.
    self_paused: Mutex<Option<(PdClient, String, Vec<String>)>>,
    self_safe_point: Mutex<Option<ServiceSafePoint>>,
}

struct Outcome {
    size_gib: i64,
    resolved_ts: u64,
    backup_start_ts: u64,
}

/// Runs the backup and prints BR's summary; `Err` holds BR's error.
pub async fn run(ctx: &Ctx<'_>, signals: &mut crate::Signals) -> Result<(), String> {
    let state = State::default();
    let (cancel, cancelled) = watch::channel(false);
    let work = async {
        let result = tokio::select! {
            result = backup(ctx, &state, cancelled) => result,
            _ = keep_self_pause(ctx.log, &state) => Err("the pause keeper ended".into()),
        };
        finish(ctx, &state, result).await
    };
    let watcher = async {
        let first = signals.next().await;
        crate::announce_signal(ctx.log, first, false);
        let _ = cancel.send(true);
        signals.next().await;
        std::process::exit(1)
    };
    tokio::select! {
        biased;
        _ = watcher => Err("context canceled".into()),
        result = work => result,
    }
}

fn os_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

async fn until_cancelled(cancelled: &mut watch::Receiver<bool>) {
    if cancelled.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Failure injection at `stage`.
async fn inject(sim: &SimEnv, stage: EbsStage) -> Result<(), String> {
    if sim.ebs.fail_at == Some(stage) {
        return Err(format!(
            "simulated failure injected by BR_SIM_EBS_FAIL_AT={}",
            stage.name()
        ));
    }
    if sim.ebs.kill_at == Some(stage) {
        // SIGKILL ends here; SIGTERM goes through the signal listener like a real one.
        crate::raise_sim_signal(sim);
    }
    if sim.ebs.hang_at == Some(stage) {
        std::future::pending::<()>().await;
    }
    Ok(())
}

async fn backup(
    ctx: &Ctx<'_>,
    state: &State,
    mut cancelled: watch::Receiver<bool>,
) -> Result<Outcome, String> {
    let (p, sim, log) = (ctx.parsed, ctx.sim, ctx.log);
    let path = p.string("volume-file");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("open {path}: {}", os_error(&e)))?;
    let meta: VolumeMeta = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    log.info(
        "backup_ebs.go:98",
        "get backup info from file",
        &[field("info", render(&meta, None))],
    );
    if meta.tikv.stores.is_empty() {
        log.info("backup_ebs.go:101", "nothing to backup", &[]);
        return Err("store count is 0: [BR:Common:ErrInvalidArgument]invalid argument".into());
    }
    let store = crate::config::open_store(ctx.storage)?;
    crate::backup::check_not_in_use(&store, &ctx.storage.uri).await?;
    let lock = store
        .key(backupmeta::LOCK_FILE)
        .map_err(|e| e.to_string())?;
    store
        .put(
            &lock,
            Bytes::from_static(backupmeta::LOCK_FILE_CONTENT.as_bytes()),
        )
        .await
        .map_err(|e| e.to_string())?;

    let pd = PdClient::locate(sim, &p.strings("pd"))?;
    let backup_start_ts = pd.tso().await?;
    let operator_paused = p.bool("operator-paused-gc-and-scheduler");
    log.info(
        "backup_ebs.go:145",
        "starting to remove some PD schedulers and pausing GC",
        &[raw("already-paused-by-operator", operator_paused)],
    );
    let first_store = meta.tikv.stores[0].store_id;
    let before_snapshots = async {
        inject(sim, EbsStage::Start).await?;
        if !operator_paused {
            pause_myself(&pd, log, state).await?;
        }
        wait_paused(
            &pd,
            log,
            sim,
            operator_paused,
            first_store,
            meta.tikv.stores.len(),
        )
        .await?;
        let resolved_ts = pd.min_resolved_ts().await?;
        if !operator_paused {
            let sp = ServiceSafePoint {
                id: state_id(state),
                ttl_seconds: SELF_PAUSE_TTL.as_secs() as i64,
                backup_ts: resolved_ts,
            };
            log.info(
                "backup_ebs.go:187",
                "safe point will be stuck during ebs backup",
                &[field("safePoint", sp.log_object())],
            );
            crate::operator::start_safe_point_keeper(&pd, log, &sp).await?;
            set(&state.self_safe_point, Some(sp));
        }
        let version = pd.cluster_version().await?;
        let normalized = version.trim().trim_start_matches('v').to_string();
        if normalized.split('.').count() < 3 {
            return Err("invalid cluster version".to_string());
        }
        Ok::<_, String>((resolved_ts, normalized))
    };
    let (resolved_ts, cluster_version) = tokio::select! {
        result = before_snapshots => result?,
        _ = until_cancelled(&mut cancelled) => return Err("context canceled".into()),
    };

    let stores = meta.tikv.stores.len() as i64;
    let volume_count = stores * meta.tikv.stores[0].volumes.len() as i64;
    let progress = Progress::new(volume_count * 100);
    let progress_file = PathBuf::from(p.string("progress-file"));
    let phase = async {
        if p.bool("skip-aws") {
            return mock_snapshots(log, sim, &progress, stores, &mut cancelled).await;
        }
        let region = Some(p.string("s3.region")).filter(|r| !r.is_empty());
        let cloud = tibr_ebs::Cloud::from_env(region.as_deref()).await;
        set(&state.cloud, Some(cloud.clone()));
        let ec2 = Ec2 {
            cloud: &cloud,
            log,
            sim,
            concurrency: p.uint("cloud-api-concurrency") as usize,
        };
        state.armed.store(true, Ordering::SeqCst);
        log.info("backup_ebs.go:236", "start async snapshots", &[]);
        let zones = ec2.create(&meta, &state.created).await?;
        let snapshots = state.created.lock().map(|c| c.clone()).unwrap_or_default();
        inject(sim, EbsStage::Snapshots).await?;
        let document = render(
            &meta,
            Some(&Filled {
                cluster_version: cluster_version.clone(),
                resolved_ts,
                snapshots: &snapshots,
                zones: &zones,
            }),
        );
        let key = store
            .key(backupmeta::BACKUPMETA)
            .map_err(|e| e.to_string())?;
        store
            .put(&key, Bytes::from(document))
            .await
            .map_err(|e| e.to_string())?;
        inject(sim, EbsStage::Meta).await?;
        if !operator_paused {
            log.info(
                "backup_ebs.go:259",
                "snapshot started, restore schedule",
                &[],
            );
            resume_myself(log, state).await;
        }
        log.info("backup_ebs.go:266", "wait async snapshots finish", &[]);
        let size = ec2.wait(&snapshots, &progress).await?;
        log.info("backup_ebs.go:271", "async snapshots finished.", &[]);
        Ok(size)
    };
    let result = tokio::select! {
        result = phase => result,
        _ = progress.report(log, &progress_file, sim.progress_interval) => {
            Err("the progress reporter ended".into())
        }
    };
    Progress::finish(&progress_file);
    let size_gib = result?;
    progress.log_line(log);
    Ok(Outcome {
        size_gib,
        resolved_ts,
        backup_start_ts,
    })
}

fn set<T>(slot: &Mutex<Option<T>>, value: Option<T>) {
    if let Ok(mut guard) = slot.lock() {
        *guard = value;
    }
}

fn state_id(state: &State) -> String {
    state
        .self_paused
        .lock()
        .ok()
        .and_then(|g| g.as_ref().map(|(_, id, _)| id.clone()))
        .unwrap_or_else(pd::make_safe_point_id)
}

/// `--skip-aws`: BR counts a store's worth of progress per mock snapshot.
async fn mock_snapshots(
    log: &Logger,
    sim: &SimEnv,
    progress: &Progress,
    stores: i64,
    cancelled: &mut watch::Receiver<bool>,
) -> Result<i64, String> {
    for index in 0..stores {
        progress.add(100);
        let wait = sim.ebs.mock_snapshot_wait;
        log.info(
            "backup_ebs.go:281",
            "mock snapshot finished.",
            &[
                raw("index", index),
                field("time-to-sleep", go_duration(wait)),
            ],
        );
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = until_cancelled(cancelled) => return Err("context canceled".into()),
        }
    }
    Ok(1024)
}

/// Without the operator flag BR removes the schedulers itself (5 min pause).
async fn pause_myself(pd: &PdClient, log: &Logger, state: &State) -> Result<(), String> {
    let id = pd::make_safe_point_id();
    let names = pd.schedulers().await?;
    let (paused, result) =
        pd::pause_schedulers(pd, &names, SELF_PAUSE_TTL.as_secs() as i64, &id).await;
    set(&state.self_paused, Some((pd.clone(), id, paused)));
    result?;
    log.info(
        "pd.go:460",
        "pause scheduler successful at beginning",
        &[field("name", pd::list(&names))],
    );
    Ok(())
}

/// BR's `goBackupToNormal`, once: resumes what BR paused itself.
async fn resume_myself(log: &Logger, state: &State) {
    let taken = state.self_paused.lock().ok().and_then(|mut g| g.take());
    let Some((pd, id, names)) = taken else {
        return;
    };
    log.info(
        "pd.go:505",
        "resume scheduler",
        &[field("schedulers", pd::list(&names))],
    );
    for name in &names {
        if pd.set_scheduler_delay(name, 0, &id).await.is_ok() {
            log.info(
                "pd.go:516",
                "resume scheduler successful",
                &[field("scheduler", name)],
            );
        }
    }
}

/// Renews BR's own pauses every TTL/3 while the backup runs (the safepoint is never
/// removed: BR leaves it to its TTL).
async fn keep_self_pause(log: &Logger, state: &State) {
    let period = SELF_PAUSE_TTL / 3;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        ticker.tick().await;
        let paused = state.self_paused.lock().ok().and_then(|g| g.clone());
        if let Some((pd, id, names)) = paused {
            let _ = pd::pause_schedulers(&pd, &names, SELF_PAUSE_TTL.as_secs() as i64, &id).await;
            let sp = state.self_safe_point.lock().ok().and_then(|g| g.clone());
            if let Some(sp) = sp {
                let _ = crate::operator::update_safe_point(&pd, log, &sp).await;
            }
        }
    }
}

/// BR's `waitAllScheduleStoppedAndNoRegionHole`, answered from the simulated PD.
async fn wait_paused(
    pd: &PdClient,
    log: &Logger,
    sim: &SimEnv,
    operator_paused: bool,
    store_id: u64,
    stores: usize,
) -> Result<(), String> {
    let bound = sim.ebs.schedule_wait;
    let interval = (bound / 40).clamp(Duration::from_millis(10), Duration::from_secs(15));
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match pd.state().await {
            Ok(state) => {
                let schedulers = state["schedulers"]["paused"].as_bool() == Some(true);
                let gc = state["service_gc_safe_points"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty());
                if schedulers && (gc || !operator_paused) {
                    log.info(
                        "backup_ebs.go:325",
                        "all leader regions got, start checking hole",
                        &[raw("len", stores * 16)],
                    );
                    return Ok(());
                }
                if schedulers {
                    log.warn(
                        "backup_ebs.go:322",
                        "failed to wait schedule, will retry later",
                        &[field(
                            "error",
                            "no service GC safepoint is set in PD: GC is not paused \
                             (checked by tibr-br-sim; BR trusts \
                             --operator-paused-gc-and-scheduler)",
                        )],
                    );
                } else {
                    log.info(
                        "backup_ebs.go:320",
                        "schedule ongoing on tikv, will retry later",
                        &[field(
                            "error",
                            format!("store-id={store_id}: has pending admin"),
                        )],
                    );
                }
            }
            Err(e) => log.warn(
                "backup_ebs.go:322",
                "failed to wait schedule, will retry later",
                &[field("error", &e)],
            ),
        }
        if tokio::time::Instant::now() + interval > deadline {
            return Err("failed to wait all schedule stopped".into());
        }
        tokio::time::sleep(interval).await;
    }
}

/// The way out: delete what was created on failure, resume what BR paused, the summary.
async fn finish(
    ctx: &Ctx<'_>,
    state: &State,
    result: Result<Outcome, String>,
) -> Result<(), String> {
    let log = ctx.log;
    match result {
        Ok(outcome) => {
            resume_myself(log, state).await;
            log.summary(
                "EBS backup success",
                &[
                    raw("size", outcome.size_gib),
                    raw("resolved_ts", outcome.resolved_ts),
                    raw("backup_start_ts", outcome.backup_start_ts),
                ],
            );
            Ok(())
        }
        Err(error) => {
            let cloud = state.cloud.lock().ok().and_then(|g| g.clone());
            if state.armed.load(Ordering::SeqCst)
                && let Some(cloud) = cloud
            {
                log.error(
                    "backup_ebs.go:231",
                    "failed to backup ebs, cleaning up created volumes",
                    &[field("error", &error)],
                );
                let created = state.created.lock().map(|c| c.clone()).unwrap_or_default();
                let ec2 = Ec2 {
                    cloud: &cloud,
                    log,
                    sim: ctx.sim,
                    concurrency: ctx.parsed.uint("cloud-api-concurrency") as usize,
                };
                ec2.delete(&created).await;
            }
            resume_myself(log, state).await;
            log.summary("EBS backup failed, please check the log for details.", &[]);
            Err(error)
        }
    }
}
