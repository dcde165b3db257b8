//! `br backup full|db|table`: the steps of BR's `RunBackup`, with TiKV's part simulated.
//!
//! Order as in BR: choose the backup TS (`--backupts`, else now − `--timeago`), refuse a prefix
//! holding `backupmeta` (or `backup.lock` next to SSTs), write `backup.lock`, build the table
//! list from the filter ("Nothing to backup" when empty), check an incremental's
//! `--lastbackupts`, move the data (SSTs written per store, progress by region), then the
//! checksum step and the metas (children before the root `backupmeta`).
//!
//! Three store workers write their regions' SSTs and then wait until their byte count over the
//! rate (`--ratelimit` per store, else `BR_SIM_STORE_SPEED` × concurrency) has elapsed, so a run
//! never finishes faster than data ÷ (3 × rate). Failure injection is checked at start and
//! after each region, on the whole-run percentage.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tibr_storage::Store;
use tibr_storage::backupmeta::{self, BackupMeta, EncodeOptions, File};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::cluster::{Cluster, PlanInput, Region, STORES, tso, tso_physical_ms};
use crate::config::{SimEnv, Storage};
use crate::filter::Filter;
use crate::flags::{Command, Parsed};
use crate::fmt::{go_duration, human_size};
use crate::log::{Logger, field, raw};

/// Figures the summary line reports; shared with the caller so a cancelled run can still
/// print its failed summary.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub backup_ts: Option<u64>,
    /// Data files written (BR counts these as its "ranges").
    pub files_done: u64,
    pub backup_total_ranges: Option<u64>,
    pub backup_total_regions: Option<u64>,
    pub checksum: Option<(Duration, Duration)>,
    pub total_kvs: u64,
    pub total_bytes: u64,
    pub data_size: u64,
    pub nothing_to_backup: bool,
}

pub struct Ctx<'a> {
    pub command: Command,
    pub parsed: &'a Parsed,
    pub sim: &'a SimEnv,
    pub log: &'a Logger,
    pub storage: &'a Storage,
    pub stats: &'a Mutex<Stats>,
}

const DEFAULT_CONCURRENCY: u64 = 4;
const MAX_CONCURRENCY: u64 = 256;

fn update(stats: &Mutex<Stats>, f: impl FnOnce(&mut Stats)) {
    if let Ok(mut s) = stats.lock() {
        f(&mut s);
    }
}

/// Runs a backup; `Err` holds BR's error text.
pub async fn run(ctx: &Ctx<'_>) -> Result<(), String> {
    let (p, sim, log) = (ctx.parsed, ctx.sim, ctx.log);
    if p.string("type") != "kv" {
        return Err(format!(
            "the br stand-in does not simulate --type={} backups",
            p.string("type")
        ));
    }
    let method = p.string("crypter.method");
    if !method.eq_ignore_ascii_case("plaintext") {
        return Err(format!(
            "the br stand-in does not simulate encrypted backups (--crypter.method={method})"
        ));
    }
    for name in ["ca", "cert", "key"] {
        let path = p.string(name);
        if !path.is_empty() && !std::path::Path::new(&path).is_file() {
            return Err(format!("open {path}: no such file or directory"));
        }
    }
    let mut concurrency = p.uint("concurrency");
    let explicit_concurrency = concurrency != 0;
    if concurrency == 0 {
        concurrency = DEFAULT_CONCURRENCY;
    }
    concurrency = concurrency.min(MAX_CONCURRENCY);
    let ratelimit = p.uint("ratelimit").saturating_mul(p.uint("ratelimit-unit"));
    if ratelimit != 0 {
        if explicit_concurrency {
            log.warn(
                "backup.go:212",
                "setting `--ratelimit` and `--concurrency` at the same time, ignoring \
                 `--concurrency`: `--ratelimit` forces sequential (i.e. concurrency = 1) backup",
                &[
                    field("ratelimit", format!("{}/s", human_size(ratelimit as f64))),
                    raw("concurrency-specified", concurrency),
                ],
            );
        }
        concurrency = 1;
    }

    let store = crate::config::open_store(ctx.storage)?;

    let pd = p.strings("pd");
    let cluster = Cluster::new(&pd, &sim.cluster_version);
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let backup_ts = backup_ts(p, &cluster, now_ms)?;
    let last_ts = p.uint("lastbackupts");
    update(ctx.stats, |s| s.backup_ts = Some(backup_ts));
    if let Some(safepoint) = sim.gc_safepoint {
        let checked = if last_ts > 0 { last_ts } else { backup_ts };
        if checked <= safepoint {
            return Err(format!(
                "GC safepoint {safepoint} exceed TS {checked}: \
                 [BR:Backup:ErrBackupGCSafepointExceeded]backup GC safepoint exceeded"
            ));
        }
    }
    log.info(
        "backup.go:329",
        "current backup safePoint job",
        &[field(
            "safePoint",
            format!(
                "{{ID={:016x},TTL={},BackupTime=\"{}\",BackupTS={}}}",
                cluster.seed,
                p.string("gcttl"),
                jiff::Timestamp::from_millisecond(tso_physical_ms(backup_ts))
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                if last_ts > 0 { last_ts } else { backup_ts }
            ),
        )],
    );

    check_not_in_use(&store, &ctx.storage.uri).await?;
    store
        .put(
            &store
                .key(backupmeta::LOCK_FILE)
                .map_err(|e| e.to_string())?,
            Bytes::from_static(backupmeta::LOCK_FILE_CONTENT.as_bytes()),
        )
        .await
        .map_err(|e| e.to_string())?;

    let filter = match ctx.command {
        Command::Db => Filter::database(&p.string("db")),
        Command::Table => Filter::table(&p.string("db"), &p.string("table")),
        _ => Filter::parse(&p.strings("filter"), p.bool("case-sensitive"))?,
    };
    let plan = cluster.plan(
        &filter,
        PlanInput {
            data_bytes: sim.data_bytes,
            region_bytes: sim.region_bytes,
            backup_ts,
            last_backup_ts: last_ts,
            now_ms,
        },
    );
    log.info(
        "backup.go:397",
        "get placement policies",
        &[raw("count", 0)],
    );
    let mut root = BackupMeta {
        cluster_id: cluster.cluster_id,
        cluster_version: format!("\"{}\"\n", cluster.version),
        start_version: last_ts,
        end_version: backup_ts,
        br_version: format!("BR\n{}", crate::version_info(sim)),
        new_collations_enabled: "True".into(),
        ..Default::default()
    };
    let v2 = p.bool("use-backupmeta-v2") && !sim.meta_v1;
    if plan.tables.is_empty() {
        log.warn(
            "backup.go:407",
            "Nothing to backup, maybe connected to cluster for restoring",
            &[field("PD address", pd.join(","))],
        );
        update(ctx.stats, |s| s.nothing_to_backup = true);
        root.ddls = b"[]".to_vec();
        let input = backupmeta::MetaInput {
            root,
            ..Default::default()
        };
        return write_metas(&store, log, &input, v2).await;
    }
    if last_ts > 0 && backup_ts <= last_ts {
        log.error(
            "backup.go:419",
            "LastBackupTS is larger or equal to current TS",
            &[],
        );
        return Err("LastBackupTS is larger or equal to current TS: \
                    [BR:Common:ErrInvalidArgument]invalid argument"
            .into());
    }
    update(ctx.stats, |s| {
        s.backup_total_ranges = Some(plan.tables.len() as u64);
        s.backup_total_regions = Some(plan.regions.len() as u64);
    });

    let rate = if ratelimit != 0 {
        ratelimit
    } else {
        sim.store_speed.saturating_mul(concurrency)
    };
    let started = Instant::now();
    let mut regions = transfer(ctx, &store, &cluster, plan.regions.clone(), rate).await?;
    regions.sort_by_key(|(id, _)| *id);
    let table_of: std::collections::HashMap<u64, usize> =
        plan.regions.iter().map(|r| (r.id, r.table)).collect();
    let files_of = |table: usize| -> Vec<File> {
        regions
            .iter()
            .filter(|(id, _)| table_of.get(id) == Some(&table))
            .flat_map(|(_, files)| files.iter().cloned())
            .collect()
    };
    let data_files: Vec<File> = regions
        .iter()
        .flat_map(|(_, f)| f.iter().cloned())
        .collect();
    log.info(
        "metafile.go:290",
        "finish the write metas",
        &[
            raw("item", data_files.len()),
            field("type", "datafile"),
            field("costs", go_duration(started.elapsed())),
        ],
    );

    // Checksum: BR skips it for incremental backups and with --checksum=false.
    let incremental = last_ts > 0;
    let with_checksum = p.bool("checksum") && !incremental;
    let checksum_started = Instant::now();
    let total = if with_checksum {
        plan.tables.len() as u64
    } else {
        1
    };
    if !with_checksum {
        let why = if incremental {
            "Skip fast checksum in incremental backup"
        } else {
            "Skip fast checksum"
        };
        log.info("backup.go:520", why, &[]);
    }
    progress_line(log, "Checksum", 0, total, checksum_started);
    let schemas = plan
        .tables
        .iter()
        .map(|&t| cluster.schema(t, &files_of(t), with_checksum, backup_ts))
        .collect();
    let ddls = if incremental {
        plan.tables
            .iter()
            .map(|&t| cluster.ddl_job(t, last_ts, backup_ts))
            .collect()
    } else {
        Vec::new()
    };
    let input = backupmeta::MetaInput {
        root,
        data_files,
        schemas,
        ddls,
        raw_ranges: Vec::new(),
    };
    write_metas(&store, log, &input, v2).await?;
    progress_line(log, "Checksum", total, total, checksum_started);
    let checksum_took = checksum_started.elapsed();
    update(ctx.stats, |s| {
        if with_checksum {
            s.checksum = Some((checksum_took, checksum_took / 3));
        }
        s.files_done = input.data_files.len() as u64;
        s.total_kvs = input.data_files.iter().map(|f| f.total_kvs).sum();
        s.total_bytes = input.data_files.iter().map(|f| f.total_bytes).sum();
        s.data_size = input.data_files.iter().map(|f| f.size).sum();
    });
    Ok(())
}

/// `--backupts` (a TSO or `YYYY-MM-DD HH:MM:SS[±hhmm]`), else now − `--timeago`.
fn backup_ts(p: &Parsed, cluster: &Cluster, now_ms: i64) -> Result<u64, String> {
    let logical = 1 + cluster.seed % 64;
    let text = p.string("backupts");
    if !text.is_empty() {
        if let Ok(ts) = text.trim().parse::<u64>() {
            return Ok(ts);
        }
        let parsed = jiff::Zoned::strptime("%Y-%m-%d %H:%M:%S%z", &text)
            .or_else(|_| {
                jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", &text)
                    .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::system()))
            })
            .map_err(|_| format!("[types:1292]Incorrect datetime value: '{text}'"))?;
        return Ok(tso(parsed.timestamp().as_millisecond(), 0));
    }
    let ago = p.duration("timeago").as_millis() as i64;
    if ago > now_ms {
        return Err("backup ts overflow please choose a smaller timeago: \
                    [BR:Common:ErrInvalidArgument]invalid argument"
            .into());
    }
    Ok(tso(now_ms - ago, logical))
}

/// BR's `SetStorageAndCheckNotInUse` + `CheckBackupStorageIsLocked`, with BR's messages.
pub(crate) async fn check_not_in_use(store: &Store, uri: &str) -> Result<(), String> {
    let meta = store
        .key(backupmeta::BACKUPMETA)
        .map_err(|e| e.to_string())?;
    match store.exists(&meta).await {
        Ok(false) => {}
        Ok(true) => {
            return Err(format!(
                "backup meta file exists in {uri}/backupmeta, there may be some backup files \
                 in the path already, please specify a correct backup directory!: \
                 [BR:Common:ErrInvalidArgument]invalid argument"
            ));
        }
        Err(e) => return Err(format!("error occurred when checking backupmeta file: {e}")),
    }
    let lock = store
        .key(backupmeta::LOCK_FILE)
        .map_err(|e| e.to_string())?;
    match store.exists(&lock).await {
        Ok(false) => Ok(()),
        Ok(true) => {
            let objects = store
                .list(store.prefix())
                .await
                .map_err(|e| e.to_string())?;
            if objects.iter().any(|o| o.key.ends_with(".sst")) {
                return Err(format!(
                    "backup lock file and sst file exist in {uri}/backup.lock, there are some \
                     backup files in the path already, but hasn't checkpoint metadata, please \
                     specify a correct backup directory!: \
                     [BR:Common:ErrInvalidArgument]invalid argument"
                ));
            }
            Ok(())
        }
        Err(e) => Err(format!(
            "error occurred when checking backup.lock file: {e}"
        )),
    }
}

async fn write_metas(
    store: &Store,
    log: &Logger,
    input: &backupmeta::MetaInput,
    v2: bool,
) -> Result<(), String> {
    let options = if v2 {
        EncodeOptions::v2()
    } else {
        EncodeOptions::v1()
    };
    let encoded = backupmeta::encode(input, &options);
    for (name, bytes) in &encoded.meta_files {
        store
            .put(
                &store.key(name).map_err(|e| e.to_string())?,
                Bytes::from(bytes.clone()),
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    log.info(
        "metafile.go:605",
        "save backup meta",
        &[raw("size", encoded.root_bytes.len())],
    );
    store
        .put(
            &store
                .key(backupmeta::BACKUPMETA)
                .map_err(|e| e.to_string())?,
            Bytes::from(encoded.root_bytes),
        )
        .await
        .map_err(|e| e.to_string())
}

/// BR's non-terminal progress line (pb's JSON template fed to `log.Info("progress", …)`).
pub fn progress_line(log: &Logger, step: &str, done: u64, total: u64, started: Instant) {
    let elapsed = started.elapsed();
    let fraction = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let secs = elapsed.as_secs_f64();
    let speed = if secs > 0.0 {
        format!("{:.2} p/s", done as f64 / secs)
    } else {
        "? p/s".into()
    };
    let remaining = if done == 0 || total == 0 {
        "?".into()
    } else {
        // EC2 may report more snapshots than the volume file lists (moto ignores
        // ExcludeDataVolumeIds), so progress can pass its total.
        let left = secs / done as f64 * total.saturating_sub(done) as f64;
        go_duration(Duration::from_secs(left.round() as u64))
    };
    log.info(
        "progress.go:160",
        "progress",
        &[
            field("step", step),
            field("progress", format!("{:.2}%", fraction * 100.0)),
            field("count", format!("{done} / {total}")),
            field("speed", speed),
            field(
                "elapsed",
                go_duration(Duration::from_secs(secs.round() as u64)),
            ),
            field("remaining", remaining),
        ],
    );
}

/// Writes every region's SSTs through three store workers and reports progress.
async fn transfer(
    ctx: &Ctx<'_>,
    store: &Store,
    cluster: &Cluster,
    regions: Vec<Region>,
    rate: u64,
) -> Result<Vec<(u64, Vec<File>)>, String> {
    let (sim, log) = (ctx.sim, ctx.log);
    let step = ctx.command.task_name();
    let total = regions.len() as u64;
    let started = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut workers = JoinSet::new();
    let mut ticker = tokio::time::interval(sim.progress_interval);
    ticker.tick().await;
    progress_line(log, step, 0, total, started);
    // Injection at 0 % happens before any data is written.
    inject(ctx, &mut workers, 0, total, started).await?;
    for store_id in STORES {
        let mine: Vec<Region> = regions
            .iter()
            .filter(|r| r.store == store_id)
            .cloned()
            .collect();
        workers.spawn(worker(
            store.clone(),
            cluster.clone(),
            store_id,
            mine,
            rate,
            tx.clone(),
        ));
    }
    drop(tx);
    let mut done = 0u64;
    let mut out = Vec::new();
    while done < total {
        tokio::select! {
            message = rx.recv() => match message {
                Some(Ok((region, files))) => {
                    done += 1;
                    update(ctx.stats, |s| s.files_done += files.len() as u64);
                    out.push((region, files));
                    inject(ctx, &mut workers, done, total, started).await?;
                }
                Some(Err(e)) => {
                    workers.abort_all();
                    return Err(e);
                }
                None => break,
            },
            _ = ticker.tick() => progress_line(log, step, done, total, started),
        }
    }
    progress_line(log, step, done, total, started);
    while workers.join_next().await.is_some() {}
    Ok(out)
}

/// Failure injection at `done / total` percent.
async fn inject(
    ctx: &Ctx<'_>,
    workers: &mut JoinSet<()>,
    done: u64,
    total: u64,
    started: Instant,
) -> Result<(), String> {
    let sim = ctx.sim;
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let reached = |at: Option<u64>| at.is_some_and(|at| percent >= at);
    let step = ctx.command.task_name();
    if reached(sim.fail_at) {
        workers.abort_all();
        progress_line(ctx.log, step, done, total, started);
        return Err(format!(
            "error happen in store {}: Io(Custom {{ kind: Other, error: \"simulated failure \
             injected by BR_SIM_FAIL_AT_PERCENT={}\" }}): \
             [BR:KV:ErrKVStorage]tikv storage occur I/O error",
            STORES[1],
            sim.fail_at.unwrap_or_default()
        ));
    }
    if reached(sim.kill_at) {
        workers.abort_all();
        progress_line(ctx.log, step, done, total, started);
        let signal = if sim.signal == 15 {
            nix::sys::signal::Signal::SIGTERM
        } else {
            nix::sys::signal::Signal::SIGKILL
        };
        let _ = nix::sys::signal::raise(signal);
        // SIGTERM is handled like BR handles it (the caller's signal listener ends the run).
        std::future::pending::<()>().await;
    }
    if reached(sim.hang_at) {
        workers.abort_all();
        let mut ticker = tokio::time::interval(sim.progress_interval);
        loop {
            ticker.tick().await;
            progress_line(ctx.log, step, done, total, started);
        }
    }
    Ok(())
}

async fn worker(
    store: Store,
    cluster: Cluster,
    store_id: u64,
    regions: Vec<Region>,
    rate: u64,
    tx: mpsc::UnboundedSender<Result<(u64, Vec<File>), String>>,
) {
    let started = tokio::time::Instant::now();
    let mut moved = 0u64;
    for region in regions {
        let mut files = Vec::with_capacity(region.files.len());
        for mut file in region.files.clone() {
            let content = cluster.content(&file);
            file.sha256 = Sha256::digest(&content).to_vec();
            let put = match store.key(&file.name) {
                Ok(key) => store.put(&key, Bytes::from(content)).await,
                Err(e) => Err(e),
            };
            if let Err(e) = put {
                let _ = tx.send(Err(format!(
                    "error happen in store {store_id}: Io(Custom {{ kind: Other, error: {:?} }}): \
                     [BR:KV:ErrKVStorage]tikv storage occur I/O error",
                    e.to_string()
                )));
                return;
            }
            files.push(file);
        }
        moved += region.bytes();
        let due = started + Duration::from_secs_f64(moved as f64 / rate.max(1) as f64);
        tokio::time::sleep_until(due).await;
        if tx.send(Ok((region.id, files))).is_err() {
            return;
        }
    }
}
