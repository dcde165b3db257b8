//! A stand-in for PingCAP BR (`br backup full|db|table`, `br backup full --type=aws-ebs` and
//! `br operator pause-gc-and-schedulers`) for tests and the sandbox; never for production.
//! BR, TiKV and PD cannot be installed on our machines, so this binary speaks BR's command
//! line, writes BR's files (SSTs named like TiKV's, `backup.lock`, a protobuf `backupmeta` in
//! the v2 layout by default or v1, or the JSON `backupmeta` of an EBS backup) through
//! `tibr-storage`, takes EBS snapshots through `tibr-ebs`, pauses GC and scheduling in the
//! simulated PD of `tibr-tidb-sim` (see [`pd`]), and prints BR's log lines. The reader those
//! files are checked with is itself checked against real BR output.
//!
//! # Output (what the agent parses)
//! pingcap/log text lines on stdout when `BR_LOG_TO_TERM` is set (else in `--log-file`, default
//! `/tmp/br.log.<time>`, with only the summary on stdout):
//! - progress, every `BR_SIM_PROGRESS_INTERVAL_MS` (default 1000) plus at 0 % and at the end:
//!   `[…] [INFO] [progress.go:160] [progress] [step="Full Backup"] [progress=42.86%]
//!   [count="6 / 14"] [speed="3.10 p/s"] [elapsed=2s] [remaining=3s]` — `step` is
//!   `Full Backup` / `Database Backup` / `Table Backup`, then `Checksum`; `backup` for EBS
//!   (one unit per percent of each volume's snapshot);
//! - success: `[…] [INFO] [collector.go:77] ["Full Backup success summary"] [total-ranges=N]
//!   [ranges-succeed=N] [ranges-failed=0] [backup-checksum=…] [backup-fast-checksum=…]
//!   [backup-total-ranges=T] [backup-total-regions=R] [total-take=…] [BackupTS=…]
//!   [total-kv=…] [total-kv-size=…] [average-speed=…/s]
//!   [backup-data-size(after-compressed)=…] [Size=…]`;
//! - failure: `["Full Backup failed summary"]`, `[ERROR] … ["failed to backup"] [error="…"]`,
//!   `Error: <message>` on stderr, `[ERROR] [main.go:58] ["br failed"] [error="…"]`, exit 1.
//!
//! EBS (`backup full --type=aws-ebs`, see [`ebs`]):
//! - success: `[…] [INFO] [collector.go:77] ["EBS backup success"] [size=<GiB>]
//!   [resolved_ts=<tso>] [backup_start_ts=<tso>]` — `resolved_ts` is the backup's commitTs;
//!   `size` is BR's: the provisioned GiB of the snapshots' volumes;
//! - failure: `[…] [INFO] [collector.go:77] ["EBS backup failed, please check the log for
//!   details."]`, then `["failed to backup"]`, `Error: …` and `["br failed"]` as above; when
//!   snapshots were requested it is preceded by `[ERROR] … ["failed to backup ebs, cleaning up
//!   created volumes"] [error="…"]` and `["delete snapshot end"] [need-to-del=N] [deleted=M]`;
//! - `backupmeta` (compact JSON, BR's layout) appears in storage right after the
//!   `CreateSnapshots` calls; `--progress-file` (default `progress.txt`) holds `%.2f` percent,
//!   rewritten every 500 ms and removed at the end.
//!
//! `operator pause-gc-and-schedulers` (see [`operator`]):
//! - `["Stage ready."] [tag=br_operator] … [component=pause_gc|pause_scheduler|
//!   pause_admin_and_wait_apply]`, then, once all three hold, `[INFO] [prepare_snap.go:130]
//!   ["Schedulers are paused."]`, `["GC is paused."]`, `["All ready."]`;
//! - renewal every `--ttl`/3: `["pause scheduler(configs)"] [name="[…]"] [cfg="…"]`;
//! - on SIGTERM/SIGINT: `========[ Got signal terminated to exit. ]========` (stdout),
//!   `[WARN] … ["received signal to exit"] [signal=terminated]`, `["resume scheduler
//!   successful"] [scheduler=…]` per scheduler, exit 0 (1 with "context canceled" if the
//!   signal came before everything was paused);
//! - failure: `[ERROR] … ["A task failed."] [tag=br_operator] [error="…"]`, `Error: …` on
//!   stderr, `["br failed"]`, exit 1 — e.g. `GC safepoint <gc> exceed TS 0:
//!   [BR:Backup:ErrBackupGCSafepointExceeded]backup GC safepoint exceeded` when resolved ts
//!   is disabled in the simulated PD.
//!
//! # Environment
//! - `AWS_*`: credentials and endpoints, read by `tibr-storage` and `tibr-ebs` only (never
//!   from arguments; `--storage` query credentials are refused); `AWS_ENDPOINT_URL_EC2` (or
//!   `AWS_ENDPOINT_URL`) reaches a local EC2; the EC2 region is `--s3.region`, else
//!   `AWS_REGION`, as BR;
//! - `BR_LOG_TO_TERM`: as BR;
//! - `BR_SIM_PD_URL` (`http://127.0.0.1:<port>`): the simulated PD (`tibr_tidb_sim::pd`);
//!   unset, the first `--pd` address is read as `host:port` of it. Used by the operator and
//!   EBS commands only;
//! - `BR_SIM_DATA_BYTES` (default 4 MiB; `4194304`, `8MiB`): the cluster's total data size;
//! - `BR_SIM_REGION_BYTES` (default 256 KiB): region size, i.e. progress granularity;
//! - `BR_SIM_STORE_SPEED` (default 64 MiB): bytes/s per store per `--concurrency` unit when
//!   `--ratelimit` is not set;
//! - `BR_SIM_PROGRESS_INTERVAL_MS` (default 1000); the EBS progress file is rewritten every
//!   500 ms, or at this interval when shorter;
//! - `BR_SIM_FAIL_AT_PERCENT=N`: exit 1 with a TiKV I/O error once N % of regions are done;
//! - `BR_SIM_HANG_AT_PERCENT=N`: stop progressing at N % (progress lines keep repeating);
//! - `BR_SIM_KILL_SIGNAL_AT_PERCENT=N` with `BR_SIM_SIGNAL=9|15` (default 9): send that signal
//!   to itself at N % (15 goes through BR's graceful shutdown: exit 1, "context canceled");
//! - `BR_SIM_META_VERSION=1`: write the v1 layout (as does `--use-backupmeta-v2=false`);
//! - `BR_SIM_VERSION` (default `v8.5.1`), `BR_SIM_CLUSTER_VERSION` (default `8.5.1`; EBS
//!   backups take the simulated PD's version instead);
//! - `BR_SIM_GC_SAFEPOINT=<tso>`: refuse backup TSs at or below it, as BR does (KV backups;
//!   the operator and EBS commands check the simulated PD's GC safepoint);
//! - EBS backups:
//!   - `BR_SIM_EBS_POLL_INTERVAL_MS` (default 5000, BR's): between `DescribeSnapshots` polls;
//!   - `BR_SIM_EBS_PENDING_RETRY_MS` (default 30000, BR's): between retries of a
//!     `CreateSnapshots` refused with `PendingSnapshotLimitExceeded`;
//!   - `BR_SIM_EBS_SCHEDULE_WAIT_MS` (default 600000, about BR's 40 attempts): how long to
//!     wait for the schedulers (and, with `--operator-paused-gc-and-scheduler`, a service GC
//!     safepoint) in the simulated PD before "failed to wait all schedule stopped";
//!   - `BR_SIM_EBS_FAIL_AFTER_CREATES=N`: the first N `CreateSnapshots` requests go through,
//!     later ones fail (so what the first N created is deleted);
//!   - `BR_SIM_EBS_FAIL_AT=start|snapshots|meta`: fail after `backup.lock` is written, after
//!     every `CreateSnapshots` returned (before `backupmeta`), or right after `backupmeta`;
//!   - `BR_SIM_EBS_HANG_AT=start|snapshots|meta`: stop there (progress keeps being reported);
//!   - `BR_SIM_EBS_KILL_AT=start|snapshots|meta` with `BR_SIM_SIGNAL`: send that signal to
//!     itself there (9: dies without clean-up);
//!   - `br_ebs_backup_mocking_wait_snapshot_duration` (Go duration, default 800ms): BR's own
//!     wait per store with `--skip-aws`;
//! - `operator pause-gc-and-schedulers`:
//!   - `BR_SIM_PAUSE_FAIL=<error>`: fail with this error before pausing anything;
//!   - `BR_SIM_PAUSE_DIE_AFTER_MS=N`: N ms after everything is paused, send `BR_SIM_SIGNAL`
//!     (default 9) to itself: with 9 nothing is resumed and the pauses end with their TTL.
//!
//! # Where it differs from BR
//! There is no cluster: data, ids and schemas are simulated (see [`cluster`]); SST contents are
//! deterministic noise, not RocksDB files; every object is written by this process with its own
//! credentials (TiKV does not upload); no checkpoint files, stats, placement policies, raw/txn,
//! encrypted or non-S3 backups; `--status-addr` answers any HTTP request with 200; the
//! table filter supports wildcards and negation only; progress is logged every interval (BR
//! logs it every two minutes when stderr is not a terminal; no bar is ever drawn);
//! `--log-format` is always text; `--check-requirements`, `--send-credentials-to-tikv`,
//! `--compression`, `--gcttl` and the gRPC flags are accepted and have no effect; the backupmeta
//! does not carry `backup_schema_version` (v8.5-era BR did not write it). PD is reached over
//! the simulated PD's HTTP API, never gRPC, and TLS flags are accepted but not used for it;
//! there is no TiKV, so BR's wait for "no pending admin operation and no region hole" is
//! answered by the simulated PD's scheduler pause, and the prepare-snapshot lease is logged
//! only; the KV backup path still prints the older `got signal to exit` line.
//!
//! `main_with_args` builds its own runtime and installs SIGTERM/SIGINT/SIGHUP/SIGQUIT handlers,
//! so it is meant to be the whole process (a multi-call binary), not a call inside a server.

pub mod backup;
pub mod cluster;
pub mod config;
pub mod ebs;
pub mod filter;
pub mod flags;
pub mod fmt;
pub mod log;
pub mod operator;
pub mod pd;

use std::sync::Mutex;
use std::time::Instant;

use std::io::Write;

use tokio::io::AsyncWriteExt;

use crate::backup::Stats;
use crate::config::SimEnv;
use crate::flags::Command;
use crate::fmt::{go_duration, human_size};
use crate::log::{Level, Logger, field, raw};

/// BR's build information block (`br --version`, and after `BR\n` in `backupmeta`).
pub fn version_info(sim: &SimEnv) -> String {
    format!(
        "Release Version: {}\nGit Commit Hash: 0000000000000000000000000000000000000000\n\
         Git Branch: tibr-br-sim\nGo Version: go1.23.6\nUTC Build Time: 2025-01-01 00:00:00\n\
         Race Enabled: false",
        sim.release_version
    )
}

const HELP: &str = "br is a TiDB/TiKV cluster backup restore tool.

Usage:
  br [command]

Available Commands:
  backup      backup a TiDB/TiKV cluster

Flags:
  -V, --version   Display version information about BR

(tibr-br-sim: a stand-in implementing \"br backup full|db|table\" and the hidden
\"br operator pause-gc-and-schedulers\" only)
";

const OPERATOR_HELP: &str = "utilities for operators like tidb-operator.

Usage:
  br operator <subcommand> [command]

Available Commands:
  pause-gc-and-schedulers     (Will be replaced with `prepare-for-snapshot-backup`) pause gc, schedulers and importing until the program exits.
  prepare-for-snapshot-backup pause gc, schedulers and importing until the program exits, for snapshot backup.
";

const BACKUP_HELP: &str = "backup a TiDB/TiKV cluster

Usage:
  br backup [command]

Available Commands:
  db          backup a database
  full        backup all database
  table       backup a table
";

/// Runs BR with `args` (`args[0]` is the program name) and returns the exit code; for a
/// multi-call binary.
pub fn main_with_args(args: Vec<String>) -> i32 {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(e) => {
            eprintln!("Error: starting the runtime: {e}");
            1
        }
    }
}

/// Like [`main_with_args`], inside an existing runtime.
pub async fn run(args: Vec<String>) -> i32 {
    let argv: Vec<String> = args.into_iter().skip(1).collect();
    let parsed = match flags::parse(&argv) {
        Ok(parsed) => parsed,
        Err(e) => return fail_early(&e),
    };
    let command = match flags::command(&parsed) {
        Ok(c) => c,
        Err(e) => return fail_early(&e),
    };
    let sim = match SimEnv::from_process() {
        Ok(sim) => sim,
        Err(e) => return fail_early(&e),
    };
    match command {
        Command::Root if parsed.bool("version") => {
            println!("{}", version_info(&sim));
            return 0;
        }
        Command::Root => {
            print!("{HELP}");
            return 0;
        }
        Command::Backup => {
            print!("{BACKUP_HELP}");
            return 0;
        }
        Command::Operator => {
            print!("{OPERATOR_HELP}");
            return 0;
        }
        _ => {}
    }
    let ebs = command == Command::Full && parsed.string("type") == "aws-ebs";
    // Parse the storage before anything is logged, so a credential in it is never printed.
    let storage = match command {
        Command::Pause(_) => None,
        _ => match config::storage(&parsed) {
            Ok(s) => Some(s),
            Err(e) => return fail_early(&e),
        },
    };
    // Signal handlers are installed before any work, so no signal finds the default action.
    let mut signals = Signals::new();
    let level = Level::parse(&parsed.string("log-level"));
    let log = if sim.log_to_term {
        Logger::to_term(level)
    } else {
        let path = match parsed.string("log-file") {
            p if p.is_empty() => default_log_file(),
            p => p,
        };
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(file) => {
                eprintln!("Detail BR log in {path} ");
                Logger::to_file(level, file)
            }
            Err(e) => return fail_early(&format!("open {path}: {e}")),
        }
    };
    if let Err(e) = start_status_server(&parsed.string("status-addr")).await {
        return fail_early(&e);
    }
    log_start(&log, &sim, command, &parsed);

    let storage = match storage {
        Some(storage) => storage,
        None => {
            return match operator::run(&parsed, &sim, &log, &mut signals).await {
                Ok(()) => 0,
                Err(error) => {
                    eprintln!("Error: {error}");
                    log.error("main.go:58", "br failed", &[field("error", &error)]);
                    1
                }
            };
        }
    };
    if ebs {
        let ctx = ebs::Ctx {
            parsed: &parsed,
            sim: &sim,
            log: &log,
            storage: &storage,
        };
        return match ebs::run(&ctx, &mut signals).await {
            Ok(()) => 0,
            Err(error) => {
                log.error(
                    "backup.go:54",
                    "failed to backup",
                    &[field("error", &error)],
                );
                eprintln!("Error: {error}");
                log.error("main.go:58", "br failed", &[field("error", &error)]);
                1
            }
        };
    }

    let stats = Mutex::new(Stats::default());
    let started = Instant::now();
    let ctx = backup::Ctx {
        command,
        parsed: &parsed,
        sim: &sim,
        log: &log,
        storage: &storage,
        stats: &stats,
    };
    let result = tokio::select! {
        result = backup::run(&ctx) => result,
        signal = signals.next() => {
            log.info("signal_posix.go:54", "got signal to exit", &[field("signal", signal)]);
            eprintln!("gracefully shutting down, press ^C again to force exit");
            Err("context canceled".to_owned())
        }
    };
    let stats = stats.lock().map(|s| s.clone()).unwrap_or_default();
    let name = command.task_name();
    match result {
        Ok(()) => {
            summary_success(&log, name, &stats, started);
            0
        }
        Err(error) => {
            summary_failure(&log, name, &stats);
            log.error(
                "backup.go:54",
                "failed to backup",
                &[field("error", &error)],
            );
            eprintln!("Error: {error}");
            log.error("main.go:58", "br failed", &[field("error", &error)]);
            1
        }
    }
}

/// Errors before logging is set up: cobra prints `Error: …`, then main logs "br failed".
fn fail_early(error: &str) -> i32 {
    eprintln!("Error: {error}");
    Logger::to_term(Level::Info).error("main.go:58", "br failed", &[field("error", error)]);
    1
}

fn default_log_file() -> String {
    let now = jiff::Zoned::now();
    std::env::temp_dir()
        .join(format!("br.log.{}", now.strftime("%Y-%m-%dT%H.%M.%S%z")))
        .to_string_lossy()
        .into_owned()
}

fn log_start(log: &Logger, sim: &SimEnv, command: Command, parsed: &flags::Parsed) {
    log.info(
        "info.go:49",
        "Welcome to Backup & Restore (BR)",
        &[
            field("release-version", &sim.release_version),
            field("git-hash", "0000000000000000000000000000000000000000"),
            field("git-branch", "tibr-br-sim"),
            field("go-version", "go1.23.6"),
            field("utc-build-time", "2025-01-01 00:00:00"),
            raw("race-enabled", false),
        ],
    );
    let mut fields = vec![field("__command", command.path())];
    let mut seen = Vec::new();
    for (name, _) in &parsed.given {
        if seen.contains(name) {
            continue;
        }
        seen.push(*name);
        let value = match *name {
            "storage" => config::redact_storage_url(&parsed.string(name)),
            "pd" | "filter" => format!("[{}]", parsed.strings(name).join(",")),
            "crypter.key" => "redacted".to_owned(),
            _ => parsed.string(name),
        };
        fields.push(field(name, value));
    }
    log.info("common.go:779", "arguments", &fields);
}

fn summary_success(log: &Logger, name: &str, stats: &Stats, started: Instant) {
    let took = started.elapsed();
    let mut fields = vec![
        raw("total-ranges", stats.files_done),
        raw("ranges-succeed", stats.files_done),
        raw("ranges-failed", 0),
    ];
    if let Some((checksum, fast)) = stats.checksum {
        fields.push(field("backup-checksum", go_duration(checksum)));
        fields.push(field("backup-fast-checksum", go_duration(fast)));
    }
    if let Some(ranges) = stats.backup_total_ranges {
        fields.push(raw("backup-total-ranges", ranges));
    }
    if let Some(regions) = stats.backup_total_regions {
        fields.push(raw("backup-total-regions", regions));
    }
    fields.push(field("total-take", go_duration(took)));
    if let Some(ts) = stats.backup_ts {
        fields.push(raw("BackupTS", ts));
    }
    if !stats.nothing_to_backup {
        let secs = took.as_secs_f64().max(1e-9);
        fields.push(raw("total-kv", stats.total_kvs));
        fields.push(field("total-kv-size", human_size(stats.total_bytes as f64)));
        fields.push(field(
            "average-speed",
            format!("{}/s", human_size(stats.total_bytes as f64 / secs)),
        ));
        fields.push(field(
            "backup-data-size(after-compressed)",
            human_size(stats.data_size as f64),
        ));
        fields.push(raw("Size", stats.data_size));
    }
    log.summary(&format!("{name} success summary"), &fields);
}

fn summary_failure(log: &Logger, name: &str, stats: &Stats) {
    log.info(
        "collector.go:224",
        "units canceled",
        &[raw("cancel-unit", 0)],
    );
    let mut fields = vec![
        raw("total-ranges", stats.files_done),
        raw("ranges-succeed", stats.files_done),
        raw("ranges-failed", 0),
    ];
    if let Some(ranges) = stats.backup_total_ranges {
        fields.push(raw("backup-total-ranges", ranges));
    }
    if let Some(regions) = stats.backup_total_regions {
        fields.push(raw("backup-total-regions", regions));
    }
    log.summary(&format!("{name} failed summary"), &fields);
}

/// SIGTERM, SIGINT, SIGHUP and SIGQUIT, which BR's listener handles, from the moment this
/// is created (a signal before would find the default action: the process ends).
pub struct Signals {
    streams: Vec<(tokio::signal::unix::Signal, &'static str)>,
}

impl Signals {
    pub fn new() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            (SignalKind::terminate(), "terminated"),
            (SignalKind::interrupt(), "interrupt"),
            (SignalKind::hangup(), "hangup"),
            (SignalKind::quit(), "quit"),
        ];
        let streams = kinds
            .into_iter()
            .filter_map(|(kind, name)| signal(kind).ok().map(|s| (s, name)))
            .collect();
        Signals { streams }
    }

    /// Resolves with Go's name of the next signal.
    pub async fn next(&mut self) -> &'static str {
        if self.streams.is_empty() {
            return std::future::pending().await;
        }
        let waits = self.streams.iter_mut().map(|(stream, name)| {
            let name = *name;
            Box::pin(async move {
                stream.recv().await;
                name
            })
        });
        futures::future::select_all(waits).await.0
    }
}

impl Default for Signals {
    fn default() -> Self {
        Signals::new()
    }
}

/// What BR's signal listener (the one of the versions with `operator` and EBS backups)
/// prints on the first signal; the goroutine dump is asked for before the pause is ready.
pub(crate) fn announce_signal(log: &Logger, signal: &str, dump: bool) {
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out);
        let _ = writeln!(out, "========[ Got signal {signal} to exit. ]========");
        let _ = writeln!(out, "========[ Required Goroutine Dump = {dump} ]========");
        if dump {
            let _ = writeln!(out, "========[ Start Dumping Goroutine ]========");
            let _ = writeln!(out, "(tibr-br-sim has no goroutines to dump)");
            let _ = writeln!(out, "========[ End of Dumping Goroutine ]========");
        }
        let _ = out.flush();
    }
    log.warn(
        "signal.go:49",
        "received signal to exit",
        &[field("signal", signal)],
    );
    eprintln!("gracefully shutting down, press ^C again to force exit");
}

/// Failure injection: `BR_SIM_SIGNAL` (9 by default) sent to this process.
pub(crate) fn raise_sim_signal(sim: &SimEnv) {
    let signal = if sim.signal == 15 {
        nix::sys::signal::Signal::SIGTERM
    } else {
        nix::sys::signal::Signal::SIGKILL
    };
    let _ = nix::sys::signal::raise(signal);
}

/// BR serves pprof and metrics on `--status-addr`; the stand-in answers 200 to anything.
async fn start_status_server(addr: &str) -> Result<(), String> {
    if addr.is_empty() {
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("listen tcp {addr}: {e}"))?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
                    )
                    .await;
            });
        }
    });
    Ok(())
}
