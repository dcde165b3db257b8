//! The seed document's first BackupSchedule (static keys), run by the sandbox's operator
//! with a five-second schedule: Backups named after their ticks, each `Complete` in its own
//! per-run prefix; retention keeping two; `pause: true` stopping new runs; and deleting the
//! schedule taking its Backups with it (their data stays: the template's `cleanPolicy` is
//! the default, `Retain`).

use std::{collections::BTreeSet, time::Duration};

use jiff::Timestamp;
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams},
};
use object_store::{ObjectStore, ObjectStoreExt, path::Path};
use serde_json::json;
use tibr_api::{Backup, BackupSchedule, constants::labels};
use tibr_core::schedule::{backup_name, run_directory, tick_of};

use super::{
    Report, command, get_table, heading,
    runs::{RunChange, ScheduleRuns, SeenRun, is_complete},
    seed, table_text, wait_for,
};
use crate::sandbox::{Sandbox, apply};

const NS: &str = super::SEED_NAMESPACE;
const BUCKET: &str = "my-bucket";
const PREFIX: &str = "my-folder/schedule";
const EVERY: &str = "@every 5s";
const INTERVAL: Duration = Duration::from_secs(5);
const MAX_BACKUPS: u32 = 2;
/// Runs watched before pausing: one more than `MAX_BACKUPS`, so retention has to act.
const RUNS: usize = 3;
/// How many intervals the paused schedule is watched for.
const PAUSED_INTERVALS: u32 = 3;
/// How late after its tick a Backup may appear: the operator sleeps until the tick; this
/// covers its reconcile, the create and the demo's polling.
const ON_TIME: Duration = Duration::from_secs(3);

struct Ctx {
    client: Client,
    schedules: Api<BackupSchedule>,
    backups: Api<Backup>,
    name: String,
    selector: String,
}

pub async fn run(sandbox: &Sandbox, report: &mut Report) -> anyhow::Result<()> {
    let client = super::admin_client(sandbox).await?;
    heading("The seed's BackupSchedule: a Backup at each tick, retention, pause, deletion");
    let t = &sandbox.tidb;
    let sched = seed::schedule(&t.host(), t.port(), t.user())?.quick(EVERY, MAX_BACKUPS, PREFIX)?;
    let name = sched.name()?;
    println!(
        "The seed's first BackupSchedule (static keys in s3-secret) runs every two minutes \
         (\"*/2 * * * *\") and keeps three hours of backups (maxReservedTime: \"3h\"): too slow \
         to watch. Here it runs \"{EVERY}\" and keeps the {MAX_BACKUPS} newest (maxBackups: \
         {MAX_BACKUPS}; maxReservedTime removed, as it would win), writing under \
         s3://{BUCKET}/{PREFIX}. Everything else is as written."
    );
    command("kubectl apply -f backup-scheduler-aws-s3.yaml   # (comments not shown)");
    for line in sched.yaml.lines() {
        if !line.trim_start().starts_with('#') && !line.trim().is_empty() {
            println!("  | {line}");
        }
    }
    for line in apply::apply(&client, NS, &sched.yaml).await? {
        println!("{line}");
    }
    let ctx = Ctx {
        schedules: Api::namespaced(client.clone(), NS),
        backups: Api::namespaced(client.clone(), NS),
        selector: format!("{}={name}", labels::BACKUP_SCHEDULE),
        client,
        name,
    };
    let next = wait_for(Duration::from_secs(10), || async {
        let s = ctx.schedules.get_opt(&ctx.name).await.ok()??;
        s.status?.next_backup_time.map(|t| t.0)
    })
    .await;
    let text = schedules_table(&ctx).await?;
    report.check(
        next.is_some_and(|n| {
            n.as_second() % INTERVAL.as_secs() as i64 == 0
                && text.contains(EVERY)
                && text.contains(&n.to_string())
        }),
        "kubectl get bks -o wide shows the schedule, maxBackups and the next run, a multiple of 5 s (UTC)",
    );

    let watched = watch_runs(&ctx).await?;
    check_runs(sandbox, &ctx, &watched, report).await?;
    retention(sandbox, &ctx, &watched, report).await?;
    show_events(&ctx, report).await;
    metrics(sandbox, &ctx, report).await?;
    pause(&ctx, &watched, report).await?;
    delete(sandbox, &ctx, &watched, report).await
}

/// `kubectl get bks -n test1 -o wide`, printed; its text.
async fn schedules_table(ctx: &Ctx) -> anyhow::Result<String> {
    command("kubectl get bks -n test1 -o wide");
    let table = get_table(
        &ctx.client,
        &format!("/apis/pingcap.com/v1alpha1/namespaces/{NS}/backupschedules"),
    )
    .await?;
    let text = table_text(&table, true);
    print!("{text}");
    Ok(text)
}

/// `kubectl get bk -n test1 -l tidb.pingcap.com/backup-schedule=<name>`, printed; its rows.
async fn backups_table(ctx: &Ctx) -> anyhow::Result<Vec<String>> {
    command(&format!("kubectl get bk -n test1 -l {}", ctx.selector));
    let table = get_table(
        &ctx.client,
        &format!(
            "/apis/pingcap.com/v1alpha1/namespaces/{NS}/backups?labelSelector={}",
            ctx.selector.replace('/', "%2F").replace('=', "%3D")
        ),
    )
    .await?;
    let text = table_text(&table, false);
    let rows: Vec<String> = text.lines().skip(1).map(str::to_string).collect();
    if rows.is_empty() {
        println!("No resources found in {NS} namespace.");
    } else {
        print!("{text}");
    }
    Ok(rows)
}

/// Lists the schedule's Backups until `RUNS` of them are Complete and retention has deleted
/// the oldest, printing each as it appears and completes.
async fn watch_runs(ctx: &Ctx) -> anyhow::Result<ScheduleRuns> {
    println!("\nWatching the schedule's Backups until {RUNS} have completed:");
    let mut w = ScheduleRuns::new(&ctx.name);
    let deadline = tokio::time::Instant::now() + INTERVAL * (RUNS as u32 + 3);
    while tokio::time::Instant::now() < deadline {
        for (at, name, change) in w.poll(&ctx.backups).await? {
            let what = match change {
                RunChange::Created => "created ",
                RunChange::Completed => "Complete",
            };
            println!("  {at}  {what}  {name}");
        }
        let oldest = w.runs.keys().next();
        if w.complete().len() >= RUNS && oldest.is_some_and(|t| !w.present.contains(t)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(t) = w.gone().first() {
        println!("  retention deleted {}", w.runs[t].name);
    }
    Ok(w)
}

/// Names, timing, owner and per-run prefix of the first `RUNS` runs.
async fn check_runs(
    sandbox: &Sandbox,
    ctx: &Ctx,
    w: &ScheduleRuns,
    report: &mut Report,
) -> anyhow::Result<()> {
    let first: Vec<(&Timestamp, &SeenRun)> = w.runs.iter().take(RUNS).collect();
    let ticks: Vec<Timestamp> = first.iter().map(|(t, _)| **t).collect();
    report.check(
        first.len() == RUNS
            && first
                .iter()
                .all(|(t, r)| r.name == backup_name(&ctx.name, **t))
            && ticks
                .windows(2)
                .all(|p| p[1].duration_since(p[0]).as_secs() == 5)
            && ticks.iter().all(|t| t.as_second() % 5 == 0),
        &format!(
            "{RUNS} Backups named {}-<tick in UTC>, for consecutive ticks 5 s apart",
            ctx.name
        ),
    );
    let on_time = first.iter().all(|(t, r)| {
        let late = r.first_seen.duration_since(**t);
        late.is_positive() && late.unsigned_abs() <= ON_TIME
    });
    report.check(
        on_time,
        &format!(
            "each appears at its tick (within {} s after it, never before)",
            ON_TIME.as_secs()
        ),
    );
    let owned = first.iter().all(|(_, r)| {
        r.backup
            .owner_references()
            .iter()
            .any(|o| o.kind == "BackupSchedule" && o.name == ctx.name && o.controller == Some(true))
    });
    report.check(
        owned,
        "each is owned by the schedule (ownerReferences, controller: true)",
    );
    let store = super::s3_store(sandbox, BUCKET)?;
    let mut all_stored = first.len() == RUNS;
    for (tick, run) in &first {
        let dir = format!("{PREFIX}/{}", run_directory("demo1", NS, **tick));
        let path = run
            .backup
            .status
            .as_ref()
            .and_then(|s| s.backup_path.clone());
        let meta = store
            .head(&Path::from(format!("{dir}/backupmeta")))
            .await
            .is_ok();
        println!(
            "  {}: {}, {}",
            run.name,
            run.backup.phase().map_or("(none)", |p| p.as_str()),
            path.as_deref().unwrap_or("-")
        );
        all_stored &= is_complete(&run.backup)
            && path.as_deref() == Some(format!("s3://{BUCKET}/{dir}").as_str())
            && meta;
    }
    report.check(
        all_stored,
        &format!(
            "each run reaches Complete in its own prefix s3://{BUCKET}/{PREFIX}/demo1-pd.test1-2379-<tick>, which holds its backupmeta"
        ),
    );
    Ok(())
}

/// `maxBackups: 2`: the oldest Complete run is deleted; its data stays (`Retain`).
async fn retention(
    sandbox: &Sandbox,
    ctx: &Ctx,
    w: &ScheduleRuns,
    report: &mut Report,
) -> anyhow::Result<()> {
    let rows = backups_table(ctx).await?;
    let complete_rows = rows.iter().filter(|r| r.contains("Complete")).count();
    let Some((oldest, run)) = w.runs.iter().next() else {
        report.check(false, "the schedule made Backups");
        return Ok(());
    };
    report.check(
        !w.present.contains(oldest)
            && complete_rows == MAX_BACKUPS as usize
            && !rows.iter().any(|r| r.starts_with(&run.name)),
        &format!(
            "retention keeps the {MAX_BACKUPS} newest Complete runs: {} is deleted",
            run.name
        ),
    );
    let dir = format!("{PREFIX}/{}", run_directory("demo1", NS, *oldest));
    command(&format!("aws s3 ls s3://{BUCKET}/{dir}/backupmeta"));
    let kept = super::s3_store(sandbox, BUCKET)?
        .head(&Path::from(format!("{dir}/backupmeta")))
        .await;
    if let Ok(meta) = &kept {
        println!("{}  {:>8}  backupmeta", meta.last_modified, meta.size);
    }
    report.check(
        kept.is_ok(),
        "its data stays: the template's cleanPolicy is the default, Retain (Delete would remove it)",
    );
    Ok(())
}

/// `kubectl get events -n test1 --field-selector involvedObject.name=<schedule>`.
async fn show_events(ctx: &Ctx, report: &mut Report) {
    command(&format!(
        "kubectl get events -n test1 --field-selector involvedObject.name={}",
        ctx.name
    ));
    let events = kube_emulator::testing::events(&ctx.client, NS, Some(&ctx.name)).await;
    for e in &events {
        println!("{e}");
    }
    let count = |reason: &str| {
        events
            .iter()
            .filter(|e| e.starts_with(&format!("Normal {reason}: ")))
            .count()
    };
    report.check(
        count("SuccessfulCreate") >= RUNS && count("SuccessfulDelete") >= 1,
        "the schedule's Events name each Backup it created and the one retention deleted",
    );
}

/// The per-schedule series on the operator's metrics endpoint.
async fn metrics(sandbox: &Sandbox, ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let Some(op) = sandbox.operators.first() else {
        report.check(false, "the sandbox runs the operator");
        return Ok(());
    };
    command(&format!(
        "curl -s http://{}/metrics | grep 'tibr_operator_schedule_.*schedule=\"{}\"'",
        op.metrics_addr, ctx.name
    ));
    let body = super::http_get(&op.metrics_addr.to_string(), "/metrics").await?;
    let want = format!("schedule=\"{}\"", ctx.name);
    let lines: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("tibr_operator_schedule_") && l.contains(&want))
        .collect();
    for l in &lines {
        println!("{l}");
    }
    let value = |series: &str| -> f64 {
        lines
            .iter()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0)
    };
    report.check(
        value("tibr_operator_schedule_backups_created_total") >= RUNS as f64
            && value("tibr_operator_schedule_backups_deleted_by_retention_total") >= 1.0
            && value("tibr_operator_schedule_last_success_timestamp_seconds") > 0.0,
        "the operator's metrics count the schedule's runs and retention's deletions per schedule",
    );
    Ok(())
}

/// `pause: true`: the Paused condition, no next run, and no new Backup for a few intervals.
async fn pause(ctx: &Ctx, w: &ScheduleRuns, report: &mut Report) -> anyhow::Result<()> {
    heading("Pausing the schedule");
    command(&format!(
        "kubectl patch bks {} -n test1 --type=merge -p '{{\"spec\":{{\"pause\":true}}}}'",
        ctx.name
    ));
    ctx.schedules
        .patch(
            &ctx.name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"pause": true}})),
        )
        .await?;
    println!("backupschedule.pingcap.com/{} patched", ctx.name);
    let paused = wait_for(Duration::from_secs(10), || async {
        let s = ctx.schedules.get_opt(&ctx.name).await.ok()??;
        let status = s.status?;
        let c = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Paused" && c.status == "True")?;
        Some((c.clone(), status.next_backup_time))
    })
    .await;
    command(&format!(
        "kubectl get bks {} -n test1 -o jsonpath='{{.status.conditions[?(@.type==\"Paused\")]}}'",
        ctx.name
    ));
    if let Some((c, _)) = &paused {
        println!("{}", serde_json::to_string(c)?);
    }
    report.check(
        paused.as_ref().is_some_and(|(_, next)| next.is_none()),
        "the schedule reports Paused=True and no next backup time",
    );
    let before = ticks_made(ctx).await?;
    let newest = before.iter().chain(w.runs.keys()).max().copied();
    let watch = INTERVAL * PAUSED_INTERVALS;
    println!(
        "\nWaiting {} s ({PAUSED_INTERVALS} intervals)...",
        watch.as_secs()
    );
    tokio::time::sleep(watch).await;
    let text = schedules_table(ctx).await?;
    let rows = backups_table(ctx).await?;
    let after = ticks_made(ctx).await?;
    report.check(
        after.iter().all(|t| Some(*t) <= newest) && !rows.is_empty() && text.contains(&ctx.name),
        &format!("no new Backup while paused ({PAUSED_INTERVALS} intervals)"),
    );
    Ok(())
}

/// The ticks of the schedule's Backups now.
async fn ticks_made(ctx: &Ctx) -> anyhow::Result<BTreeSet<Timestamp>> {
    let listed = ctx
        .backups
        .list(&ListParams::default().labels(&ctx.selector))
        .await?;
    Ok(listed
        .items
        .iter()
        .filter_map(|b| tick_of(&ctx.name, &b.metadata))
        .collect())
}

/// Deleting the schedule deletes its Backups through their owner references; with
/// `Retain` their data stays.
async fn delete(
    sandbox: &Sandbox,
    ctx: &Ctx,
    w: &ScheduleRuns,
    report: &mut Report,
) -> anyhow::Result<()> {
    heading("Deleting the schedule");
    let left = ticks_made(ctx).await?;
    command(&format!("kubectl delete bks {} -n test1", ctx.name));
    ctx.schedules
        .delete(&ctx.name, &DeleteParams::default())
        .await?;
    println!("backupschedule.pingcap.com \"{}\" deleted", ctx.name);
    let gone = wait_for(Duration::from_secs(20), || async {
        let none = ticks_made(ctx).await.ok()?.is_empty();
        let schedule_gone = ctx.schedules.get_opt(&ctx.name).await.ok()?.is_none();
        (none && schedule_gone).then_some(())
    })
    .await;
    backups_table(ctx).await?;
    report.check(
        gone.is_some() && !left.is_empty(),
        &format!(
            "its {} Backups are deleted with it (owner references)",
            left.len()
        ),
    );
    command(&format!("aws s3 ls s3://{BUCKET}/{PREFIX}/"));
    let folders: BTreeSet<String> = super::s3_store(sandbox, BUCKET)?
        .list_with_delimiter(Some(&Path::from(PREFIX)))
        .await?
        .common_prefixes
        .iter()
        .map(|p| p.filename().unwrap_or_default().to_string())
        .collect();
    for f in &folders {
        println!("{:>30} {f}/", "PRE");
    }
    let all_kept = w
        .runs
        .keys()
        .chain(left.iter())
        .all(|t| folders.contains(&run_directory("demo1", NS, *t)));
    report.check(
        all_kept,
        "every run's data stays in S3 (cleanPolicy Retain; with Delete, each Backup's clean Job would empty its prefix)",
    );
    Ok(())
}
