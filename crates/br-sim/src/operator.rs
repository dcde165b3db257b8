//! `br operator pause-gc-and-schedulers` (alias `prepare-for-snapshot-backup`): BR's
//! `AdaptEnvForSnapshotBackup` against the simulated PD.
//!
//! Three stages become ready, each logging `Stage ready.` with its `component`:
//! `pause_gc` (a service GC safepoint at `--safepoint`, else at the cluster's min resolved
//! ts, checked against the GC safepoint first), `pause_admin_and_wait_apply` (TiKV's
//! prepare-snapshot lease: logged only, the simulated PD has no TiKV) and `pause_scheduler`
//! (every scheduler paused for `--ttl`). Then `Schedulers are paused.`, `GC is paused.` and
//! `All ready.`. Both pauses are renewed every `--ttl`/3, as BR does, until SIGTERM or
//! SIGINT: then the schedulers are resumed and the safepoint removed (TTL 0) and the process
//! exits 0, as BR's tasks all end without error. A signal before everything is ready ends it
//! with "context canceled" (exit 1) after undoing what was done.

use std::time::{Duration, Instant};

use crate::config::SimEnv;
use crate::flags::Parsed;
use crate::log::{Logger, field, raw};
use crate::pd::{self, PdClient, ServiceSafePoint};

const TAG: (&str, &str) = ("tag", "br_operator");

fn tag() -> crate::log::Field {
    field(TAG.0, TAG.1)
}

/// What has been paused, so that it can be undone.
struct Held {
    safe_point: Option<ServiceSafePoint>,
    schedulers: Vec<String>,
}

/// Runs the command; `Ok` is a clean exit after a signal.
pub async fn run(
    parsed: &Parsed,
    sim: &SimEnv,
    log: &Logger,
    signals: &mut crate::Signals,
) -> Result<(), String> {
    let pd = PdClient::locate(sim, &parsed.strings("pd"))?;
    pd.cluster_version()
        .await
        .map_err(|e| format!("failed to dial PD: {e}"))?;
    let ttl = parsed.duration("ttl");
    let id = pd::make_safe_point_id();
    let mut held = Held {
        safe_point: None,
        schedulers: Vec::new(),
    };
    let started = Instant::now();
    let ready = tokio::select! {
        ready = prepare(&pd, parsed, sim, log, &id, ttl, &mut held) => ready,
        signal = signals.next() => {
            crate::announce_signal(log, signal, true);
            Err("context canceled".to_string())
        }
    };
    if let Err(error) = ready {
        log.error(
            "prepare_snap.go:97",
            "A task failed.",
            &[tag(), field("error", &error)],
        );
        undo(&pd, log, &held, ttl).await;
        return Err(error);
    }
    log.info(
        "prepare_snap.go:204",
        "Stage ready.",
        &[
            tag(),
            field("take", crate::fmt::go_duration(started.elapsed())),
            field("component", "pause_admin_and_wait_apply"),
        ],
    );
    for message in ["Schedulers are paused.", "GC is paused.", "All ready."] {
        log.info("prepare_snap.go:130", message, &[]);
    }
    keep(&pd, sim, log, &held, ttl, signals).await;
    undo(&pd, log, &held, ttl).await;
    Ok(())
}

/// The GC stage, then the scheduler stage once "connections are established".
async fn prepare(
    pd: &PdClient,
    parsed: &Parsed,
    sim: &SimEnv,
    log: &Logger,
    id: &str,
    ttl: Duration,
    held: &mut Held,
) -> Result<(), String> {
    if let Some(error) = &sim.pause.fail {
        return Err(error.clone());
    }
    let mut backup_ts = parsed.uint("safepoint");
    if backup_ts == 0 {
        backup_ts = pd.min_resolved_ts().await?;
        log.info(
            "prepare_snap.go:228",
            "No service safepoint provided, using the minimal resolved TS.",
            &[tag(), raw("min-resolved-ts", backup_ts)],
        );
    }
    let sp = ServiceSafePoint {
        id: id.to_string(),
        ttl_seconds: ttl.as_secs() as i64,
        backup_ts,
    };
    start_safe_point_keeper(pd, log, &sp).await?;
    held.safe_point = Some(sp.clone());
    log.info(
        "prepare_snap.go:112",
        "Stage ready.",
        &[
            tag(),
            field("safepoint", sp.log_object()),
            field("component", "pause_gc"),
        ],
    );

    log.info(
        "prepare_snap.go:181",
        "Pause scheduler waiting all connections established.",
        &[],
    );
    log.info(
        "prepare_snap.go:213",
        "All connections are stablished.",
        &[],
    );
    log.info(
        "prepare_snap.go:188",
        "Pause scheduler noticed connections established.",
        &[],
    );
    let names = pd.schedulers().await?;
    let delay = pause_delay(ttl);
    let (paused, result) = pd::pause_schedulers(pd, &names, delay, id).await;
    held.schedulers = paused;
    if let Err(e) = result {
        log.error(
            "pd.go:456",
            "failed to pause scheduler at beginning",
            &[field("name", pd::list(&names)), field("error", &e)],
        );
        return Err(e);
    }
    log.info(
        "pd.go:460",
        "pause scheduler successful at beginning",
        &[field("name", pd::list(&names))],
    );
    log.info(
        "pd.go:470",
        "pause configs successful at beginning",
        &[field("cfg", pd::paused_config_log())],
    );
    log.info(
        "prepare_snap.go:112",
        "Stage ready.",
        &[tag(), field("component", "pause_scheduler")],
    );
    Ok(())
}

/// BR pauses schedulers for the TTL in whole seconds (PD's delay unit).
fn pause_delay(ttl: Duration) -> i64 {
    ttl.as_secs() as i64
}

/// BR's `StartServiceSafePointKeeper` first steps: refuse a TS GC has passed, then set it.
pub async fn start_safe_point_keeper(
    pd: &PdClient,
    log: &Logger,
    sp: &ServiceSafePoint,
) -> Result<(), String> {
    if sp.id.is_empty() || sp.ttl_seconds <= 0 {
        return Err(format!(
            "invalid service safe point {}: [BR:Common:ErrInvalidArgument]invalid argument",
            sp.log_object()
        ));
    }
    let gc = pd.gc_safe_point().await?;
    if sp.backup_ts <= gc {
        return Err(format!(
            "GC safepoint {gc} exceed TS {}: \
             [BR:Backup:ErrBackupGCSafepointExceeded]backup GC safepoint exceeded",
            sp.backup_ts
        ));
    }
    update_safe_point(pd, log, sp).await
}

/// BR's `UpdateServiceSafePoint`: PD keeps `BackupTS - 1`.
pub async fn update_safe_point(
    pd: &PdClient,
    log: &Logger,
    sp: &ServiceSafePoint,
) -> Result<(), String> {
    let wanted = sp.backup_ts.saturating_sub(1);
    let min = pd
        .update_service_safe_point(&sp.id, sp.ttl_seconds, wanted)
        .await?;
    if min > wanted {
        log.warn(
            "safe_point.go:110",
            "service GC safe point lost, we may fail to back up if GC lifetime isn't long enough",
            &[
                raw("lastSafePoint", min),
                field("safePoint", sp.log_object()),
            ],
        );
    }
    Ok(())
}

/// Renews both pauses every TTL/3 until a signal (or the injected death) comes.
async fn keep(
    pd: &PdClient,
    sim: &SimEnv,
    log: &Logger,
    held: &Held,
    ttl: Duration,
    signals: &mut crate::Signals,
) {
    let period = (ttl / 3).max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut die_at = sim.pause.die_after.map(|d| tokio::time::Instant::now() + d);
    loop {
        tokio::select! {
            biased;
            name = signals.next() => {
                crate::announce_signal(log, name, false);
                return;
            }
            _ = ticker.tick() => {
                if let Some(sp) = &held.safe_point
                    && let Err(e) = update_safe_point(pd, log, sp).await
                {
                    log.warn(
                        "safe_point.go:137",
                        "failed to update service safe point, backup may fail if gc triggered",
                        &[field("error", &e)],
                    );
                }
                let delay = pause_delay(ttl);
                let (_, result) = pd::pause_schedulers(pd, &held.schedulers, delay, sp_id(held)).await;
                if let Err(e) = result {
                    log.warn(
                        "pd.go:482",
                        "pause scheduler failed, ignore it and wait next time pause",
                        &[field("error", &e)],
                    );
                }
                log.info(
                    "pd.go:492",
                    "pause scheduler(configs)",
                    &[field("name", pd::list(&held.schedulers)), field("cfg", pd::paused_config_log())],
                );
            }
            _ = sleep_until(die_at) => {
                // Injected death: SIGKILL leaves both pauses to their TTLs; SIGTERM comes
                // back through the signal branch above.
                crate::raise_sim_signal(sim);
                die_at = None;
            }
        }
    }
}

fn sp_id(held: &Held) -> &str {
    held.safe_point
        .as_ref()
        .map(|s| s.id.as_str())
        .unwrap_or("br-operator")
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The clean-up BR's tasks run on the way out, bounded by the TTL as BR bounds it.
async fn undo(pd: &PdClient, log: &Logger, held: &Held, ttl: Duration) {
    let work = async {
        if !held.schedulers.is_empty() {
            log.info(
                "pd.go:505",
                "resume scheduler",
                &[field("schedulers", pd::list(&held.schedulers))],
            );
            log.info(
                "pd.go:494",
                "exit pause scheduler and configs successful",
                &[],
            );
            for name in &held.schedulers {
                match pd.set_scheduler_delay(name, 0, sp_id(held)).await {
                    Ok(()) => log.info(
                        "pd.go:516",
                        "resume scheduler successful",
                        &[field("scheduler", name)],
                    ),
                    Err(_) => log.error(
                        "pd.go:513",
                        "failed to resume scheduler after retry, you may reset this scheduler \
                         manuallyor just wait this scheduler pause timeout",
                        &[field("scheduler", name)],
                    ),
                }
            }
            log.info(
                "pd.go:632",
                "restoring config",
                &[field("config", "{\"enable-tikv-split-region\":true}")],
            );
        }
        if let Some(sp) = &held.safe_point {
            // TTL 0 removes it (BR's cancelling safepoint).
            if let Err(e) = pd.update_service_safe_point(&sp.id, 0, 0).await {
                log.warn(
                    "prepare_snap.go:240",
                    "failed to remove the service safe point",
                    &[field("error", &e)],
                );
            }
        }
    };
    if tokio::time::timeout(ttl.max(Duration::from_secs(1)), work)
        .await
        .is_err()
    {
        log.warn(
            "prepare_snap.go:74",
            "clean up timed out; the pauses end with their TTL",
            &[],
        );
    }
}
