//! BackupSchedules end to end, through the operator in the sandbox with the real agent and
//! the BR stand-in: the seed document's schedules at `@every 5s` take a Backup at each tick,
//! named after it, labelled, annotated and owned as the schedule says, each in its own
//! prefix in S3; retention keeps `maxBackups`; pause stops new runs and unpausing takes one
//! catch-up run; deleting the schedule deletes its Backups with their `cleanPolicy`; an
//! invalid schedule says which field; the per-schedule metrics are served.

mod support;

use std::{collections::BTreeSet, time::Duration};

use jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
};
use serde_json::{Value, json};
use support::*;
use tibr_api::{
    BackupSchedule,
    constants::{annotations, labels},
};
use tibr_core::schedule::{backup_name, run_directory};
use tibr_sandbox::demo::{
    runs::{ScheduleRuns, is_complete},
    seed::{self, Credentials},
};
use tibr_testkit::status::schedule_condition;

const INTERVAL: Duration = Duration::from_secs(5);
/// How late after its tick a run's Backup may first be listed (the operator wakes at the
/// tick; this covers its reconcile, the create and the test's 100 ms polling on a busy
/// machine).
const ON_TIME: Duration = Duration::from_secs(3);

/// The seed's BackupSchedule granting access by `which`, at `@every 5s`, keeping
/// `max_backups`, writing under `prefix`, with a quick BR; as JSON, to edit further.
fn seed_schedule(env: &Env, which: Credentials, max_backups: u32, prefix: &str) -> Value {
    let t = &env.sandbox.tidb;
    let seed = seed::schedules(&t.host(), t.port(), t.user())
        .unwrap()
        .into_iter()
        .find(|s| s.credentials == which)
        .unwrap();
    let mut v = seed
        .quick("@every 5s", max_backups, prefix)
        .unwrap()
        .value()
        .unwrap();
    v["spec"]["backupTemplate"]["env"] = json!(br::vars(br::QUICK_BR));
    v
}

fn schedules(env: &Env) -> Api<BackupSchedule> {
    Api::namespaced(env.client.clone(), NS)
}

async fn patch_spec(env: &Env, name: &str, spec: Value) {
    schedules(env)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": spec })),
        )
        .await
        .unwrap();
}

/// Polls the schedule's runs every 100 ms until `done`, failing after `secs`.
async fn watch(
    env: &Env,
    runs: &mut ScheduleRuns,
    secs: u64,
    what: &str,
    done: impl Fn(&ScheduleRuns) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        runs.poll(&env.backups()).await.unwrap();
        if done(runs) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let seen: Vec<(&String, Option<&str>)> = runs
                .runs
                .values()
                .map(|r| (&r.name, r.backup.phase().map(|p| p.as_str())))
                .collect();
            panic!(
                "timed out after {secs}s waiting for {what}; runs: {seen:?}\n--- operator:\n{}",
                tail(&logs(), 40)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deletes the schedule (as `kubectl delete bks` does: background propagation), then waits
/// until its Backups are gone.
async fn delete_schedule(env: &Env, runs: &mut ScheduleRuns, secs: u64) {
    let name = runs.schedule.clone();
    schedules(env)
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    watch(env, runs, secs, "the schedule's Backups to be gone", |r| {
        r.present.is_empty()
    })
    .await;
}

/// Waits until the schedule's condition `type_` has `status`; returns the schedule.
async fn wait_condition(env: &Env, name: &str, type_: &str, status: &str) -> BackupSchedule {
    wait_for(15, &format!("{type_}={status} on {name}"), || async {
        let s = schedules(env).get(name).await.ok()?;
        (schedule_condition(&s, type_)?.0 == status).then_some(s)
    })
    .await
}

/// The value of the series `name{namespace="test1",schedule="<schedule>"<more>}`.
fn metric(body: &str, name: &str, schedule: &str, more: &str) -> Option<f64> {
    let series = format!("{name}{{namespace=\"{NS}\",schedule=\"{schedule}\"{more}}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn a_schedule_runs_at_its_ticks_keeps_max_backups_pauses_and_catches_up_once() {
    let env = Env::start().await;
    let processes = ProcessWatch::start();
    let tidb = &env.sandbox.tidb;
    env.seed_secrets(tidb.password()).await;
    // kube2iam: the schedule's annotation must reach the pods for the backups to write.
    let v = seed_schedule(&env, Credentials::Kube2iam, 2, "sched");
    let name = v["metadata"]["name"].as_str().unwrap().to_string();
    env.apply(&v.to_string()).await;
    let uid = schedules(&env).get(&name).await.unwrap().uid().unwrap();

    let mut runs = ScheduleRuns::new(&name);
    watch(
        &env,
        &mut runs,
        40,
        "3 complete runs, the oldest deleted by retention",
        |r| r.complete().len() >= 3 && !r.gone().is_empty(),
    )
    .await;

    // Names, ticks and timing.
    let first: Vec<(Timestamp, _)> = runs
        .runs
        .iter()
        .take(3)
        .map(|(t, r)| (*t, r.clone()))
        .collect();
    for pair in first.windows(2) {
        assert_eq!(
            pair[1].0.duration_since(pair[0].0).as_secs(),
            5,
            "consecutive ticks"
        );
    }
    for (tick, run) in &first {
        assert_eq!(
            tick.as_second() % 5,
            0,
            "@every ticks are multiples of 5 s since the epoch"
        );
        assert_eq!(run.name, backup_name(&name, *tick));
        assert!(
            run.name
                .ends_with(&tick.strftime("%Y-%m-%dt%H-%M-%S").to_string()),
            "{}",
            run.name
        );
        let late = run.first_seen.duration_since(*tick);
        assert!(
            !late.is_negative() && late.unsigned_abs() <= ON_TIME,
            "{} first seen {late} after its tick",
            run.name
        );
        let b = &run.backup;
        assert!(is_complete(b), "{}: {:?}", run.name, b.phase());
        // Labels and annotations.
        let l = b.labels();
        for (k, want) in [
            (labels::BACKUP_SCHEDULE, name.as_str()),
            ("app.kubernetes.io/name", "backup-schedule"),
            ("app.kubernetes.io/managed-by", "backup-schedule-operator"),
            ("app.kubernetes.io/instance", name.as_str()),
        ] {
            assert_eq!(
                l.get(k).map(String::as_str),
                Some(want),
                "label {k} of {}",
                run.name
            );
        }
        let a = b.annotations();
        assert_eq!(a.get(annotations::IAM_ROLE).map(String::as_str), Some(ROLE));
        assert_eq!(a.get(annotations::SCHEDULE_TICK), Some(&tick.to_string()));
        // Owned by the schedule, so deleting it deletes them.
        let owners = b.owner_references();
        assert_eq!(owners.len(), 1, "{owners:?}");
        let o = &owners[0];
        assert_eq!(
            (
                o.api_version.as_str(),
                o.kind.as_str(),
                o.name.as_str(),
                o.uid.as_str()
            ),
            (
                "pingcap.com/v1alpha1",
                "BackupSchedule",
                name.as_str(),
                uid.as_str()
            )
        );
        assert_eq!(
            (o.controller, o.block_owner_deletion),
            (Some(true), Some(true))
        );
        // Its own prefix, holding what BR wrote (also for the one retention deleted: the
        // seed's template keeps data, cleanPolicy Retain), written with the pod's role.
        let dir = format!("sched/{}", run_directory("demo1", NS, *tick));
        let status = b.status.clone().unwrap();
        assert_eq!(
            status.backup_path.as_deref(),
            Some(format!("s3://my-bucket/{dir}").as_str())
        );
        assert!(
            env.objects("my-bucket", &dir)
                .contains(&format!("{dir}/backupmeta"))
        );
        let principals = env.principals_under("my-bucket", &dir);
        assert!(
            !principals.is_empty()
                && principals.iter().all(|p| p.starts_with(&format!("assumed-role/user/{NS}-backup-{}-", run.name))),
            "{principals:?}"
        );
    }
    // The schedule's annotation reached the pods kube2iam looks at (of the runs that ran:
    // the newest may not have its pod yet).
    for tick in runs
        .present
        .iter()
        .filter(|t| is_complete(&runs.runs[*t].backup))
    {
        let bk = &runs.runs[tick].name;
        let pods = env.pods_of(&format!("backup-{bk}")).await;
        assert!(!pods.is_empty(), "the Job of {bk} ran");
        for p in &pods {
            assert_eq!(
                p.annotations()
                    .get(annotations::IAM_ROLE)
                    .map(String::as_str),
                Some(ROLE)
            );
        }
    }

    // Retention: maxBackups 2 deletes the oldest Complete runs, never a newer one.
    let gone = runs.gone();
    assert!(
        gone.iter().all(|g| runs.present.iter().all(|p| g < p)),
        "{gone:?} {:?}",
        runs.present
    );
    watch(&env, &mut runs, 10, "2 Complete runs present", |r| {
        r.present
            .iter()
            .filter(|t| is_complete(&r.runs[t].backup))
            .count()
            == 2
    })
    .await;

    // Status and conditions.
    let s = wait_for(10, "a settled status", || async {
        let s = schedules(&env).get(&name).await.ok()?;
        let st = s.status.clone()?;
        let last = st.last_backup_time.as_ref()?.0;
        let settled = st.last_backup.as_deref() == Some(backup_name(&name, last).as_str())
            && st.next_backup_time.as_ref().map(|t| t.0) == last.checked_add(INTERVAL).ok();
        settled.then_some(s)
    })
    .await;
    for (type_, status, reason) in [
        ("Valid", "True", "Valid"),
        ("Paused", "False", "Active"),
        ("Blocked", "False", "NotBlocked"),
        ("Retention", "True", "MaxBackups"),
    ] {
        let c = schedule_condition(&s, type_).unwrap_or_default();
        assert_eq!(
            (c.0.as_str(), c.1.as_str()),
            (status, reason),
            "{type_}: {}",
            c.2
        );
    }

    // Pause: Paused=True, no next time, nothing new for three intervals.
    patch_spec(&env, &name, json!({"pause": true})).await;
    let s = wait_condition(&env, &name, "Paused", "True").await;
    assert!(s.status.unwrap().next_backup_time.is_none());
    watch(&env, &mut runs, 10, "no run in flight", |r| {
        r.present.iter().all(|t| is_complete(&r.runs[t].backup))
    })
    .await;
    let last_before_pause = *runs.runs.keys().last().unwrap();
    let watch_until = tokio::time::Instant::now() + INTERVAL * 3 + Duration::from_secs(1);
    while tokio::time::Instant::now() < watch_until {
        runs.poll(&env.backups()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        *runs.runs.keys().last().unwrap(),
        last_before_pause,
        "no run while paused"
    );

    // Unpause: one catch-up run for the latest tick due, taken at once, then back on
    // schedule. (The operator may see the unpause just after a tick: the catch-up run is
    // the first new one, whatever side of the patch its tick falls.)
    let unpaused_at = Timestamp::now();
    patch_spec(&env, &name, json!({"pause": false})).await;
    watch(
        &env,
        &mut runs,
        15,
        "the catch-up run and the next regular one",
        |r| r.runs.keys().filter(|t| **t > last_before_pause).count() >= 2,
    )
    .await;
    let new: Vec<Timestamp> = runs
        .runs
        .keys()
        .filter(|t| **t > last_before_pause)
        .copied()
        .collect();
    let catch_up = new[0];
    assert!(
        catch_up.duration_since(unpaused_at).unsigned_abs() < INTERVAL,
        "the catch-up run is for the latest due tick: {catch_up}, unpaused at {unpaused_at}"
    );
    let late = runs.runs[&catch_up].first_seen.duration_since(unpaused_at);
    assert!(
        late.unsigned_abs() <= ON_TIME,
        "taken at once, not {late} later"
    );
    for pair in new.windows(2) {
        assert_eq!(
            pair[1].duration_since(pair[0]).as_secs(),
            5,
            "one catch-up run, then each tick: {new:?}"
        );
    }
    let skipped = catch_up.duration_since(last_before_pause).as_secs() / 5 - 1;
    assert!(skipped >= 2, "paused long enough to skip ticks: {skipped}");
    // Events name every run created and every one retention deleted (they are recorded
    // just after the create or delete, so wait for them).
    let created: Vec<String> = runs.runs.values().map(|r| r.name.clone()).collect();
    let deleted: Vec<String> = runs
        .gone()
        .iter()
        .map(|t| runs.runs[t].name.clone())
        .collect();
    let events = wait_for(10, "an Event for every run created and deleted", || async {
        let events = env.events(Some(&name)).await;
        let named = |reason: &str, bk: &String| {
            events
                .iter()
                .any(|e| e.starts_with(&format!("Normal {reason}: ")) && e.contains(bk.as_str()))
        };
        (created.iter().all(|bk| named("SuccessfulCreate", bk))
            && deleted.iter().all(|bk| named("SuccessfulDelete", bk)))
        .then_some(events)
    })
    .await;
    let missed = events
        .iter()
        .find(|e| e.starts_with("Warning MissedTicks: "))
        .unwrap_or_else(|| panic!("{events:?}"));
    assert!(
        missed.contains(&format!("{skipped} run(s) due from")),
        "{missed}"
    );

    // The per-schedule metrics on the operator's endpoint.
    let addr = env.sandbox.operators[0].metrics_addr.to_string();
    let body = tibr_sandbox::demo::http_get(&addr, "/metrics")
        .await
        .unwrap();
    let m = |series: &str, more: &str| {
        metric(&body, series, &name, more).unwrap_or_else(|| panic!("{series} in:\n{body}"))
    };
    let created = m("tibr_operator_schedule_backups_created_total", "");
    let seen = runs.runs.len() as f64;
    assert!(
        created == seen || created == seen + 1.0,
        "{created} created, {seen} seen"
    );
    assert!(m("tibr_operator_schedule_skipped_ticks_total", "") >= skipped as f64);
    assert!(
        m(
            "tibr_operator_schedule_backups_deleted_by_retention_total",
            ""
        ) >= runs.gone().len() as f64
    );
    assert_eq!(m("tibr_operator_schedule_backups_failed_total", ""), 0.0);
    assert_eq!(m("tibr_operator_schedule_consecutive_failures", ""), 0.0);
    assert!(
        m("tibr_operator_schedule_last_success_timestamp_seconds", "")
            > last_before_pause.as_second() as f64
    );
    let complete = m("tibr_operator_schedule_backups", ",state=\"complete\"");
    assert!((2.0..=3.0).contains(&complete), "{complete}");

    // No secret value in any log, process argument, Event or status.
    let secrets = [
        env.sandbox.s3.secret_key.as_str(),
        env.sandbox.s3.access_key.as_str(),
        tidb.password(),
    ];
    let statuses = format!(
        "{}\n{}",
        serde_json::to_string(&env.backups().list(&Default::default()).await.unwrap().items)
            .unwrap(),
        serde_json::to_string(&schedules(&env).get(&name).await.unwrap()).unwrap()
    );
    assert_no_secrets("the statuses", &statuses, &secrets);
    assert_no_secrets("the operator's logs", &logs(), &secrets);
    assert_no_secrets("the pods' logs", &env.pod_logs(), &secrets);
    assert_no_secrets("the Events", &env.all_events_json().await, &secrets);
    let argv: Vec<String> = processes.seen().into_iter().map(|a| a.join(" ")).collect();
    assert!(
        argv.iter().any(|a| a.contains("/tibr-agent backup")),
        "the watch saw the agents"
    );
    assert_no_secrets("process arguments", &argv.join("\n"), &secrets);

    // Deleting the schedule deletes its Backups; Retain keeps every run's data.
    delete_schedule(&env, &mut runs, 20).await;
    // (A run still in flight when the schedule went was stopped with its Job: only the
    // complete ones have a backup to keep.)
    let complete = runs.complete();
    assert!(complete.len() >= 3, "{complete:?}");
    for tick in &complete {
        let dir = format!("sched/{}", run_directory("demo1", NS, *tick));
        assert!(
            env.objects("my-bucket", &dir)
                .contains(&format!("{dir}/backupmeta")),
            "{dir} kept"
        );
    }
    let (agent, operator) = assert_rbac_covers_what_ran(&env);
    assert!(agent > 0 && operator > 0);
    env.stop().await;
}

#[tokio::test]
async fn with_clean_policy_delete_retention_and_deleting_the_schedule_remove_the_data() {
    let env = Env::start().await;
    env.seed_secrets(env.sandbox.tidb.password()).await;
    let mut v = seed_schedule(&env, Credentials::StaticKeys, 1, "del");
    v["spec"]["backupTemplate"]["cleanPolicy"] = json!("Delete");
    let name = v["metadata"]["name"].as_str().unwrap().to_string();
    env.apply(&v.to_string()).await;
    let dir = |t: &Timestamp| format!("del/{}", run_directory("demo1", NS, *t));

    let mut runs = ScheduleRuns::new(&name);
    watch(&env, &mut runs, 30, "2 complete runs", |r| {
        r.complete().len() >= 2
    })
    .await;
    let newest = *runs.complete().last().unwrap();
    assert!(
        env.objects("my-bucket", &dir(&newest))
            .contains(&format!("{}/backupmeta", dir(&newest))),
        "a run's data is there before anything deletes it"
    );
    // maxBackups 1: the older run goes, and its clean Job empties its prefix.
    let oldest = *runs.runs.keys().next().unwrap();
    watch(
        &env,
        &mut runs,
        30,
        "retention to delete the oldest run",
        |r| !r.present.contains(&oldest),
    )
    .await;
    wait_for(30, "the oldest run's data to be deleted", || async {
        env.objects("my-bucket", &dir(&oldest))
            .is_empty()
            .then_some(())
    })
    .await;

    // Deleting the schedule deletes every Backup left, each with its data.
    delete_schedule(&env, &mut runs, 60).await;
    wait_for(30, "every run's prefix to be empty", || async {
        env.objects("my-bucket", "del").is_empty().then_some(())
    })
    .await;
    assert!(
        runs.runs.len() >= 2,
        "{:?}",
        runs.runs.keys().collect::<Vec<_>>()
    );
    env.stop().await;
}

#[tokio::test]
async fn an_invalid_schedule_names_the_field_and_a_bad_retention_does_not_stop_backups() {
    let env = Env::start().await;
    env.seed_secrets(env.sandbox.tidb.password()).await;
    let mut v = seed_schedule(&env, Credentials::StaticKeys, 0, "invalid");
    v["spec"]["schedule"] = json!("*/2 * * *");
    v["spec"]["maxReservedTime"] = json!("3 days");
    let name = v["metadata"]["name"].as_str().unwrap().to_string();
    env.apply(&v.to_string()).await;

    let s = wait_condition(&env, &name, "Valid", "False").await;
    let (_, reason, message) = schedule_condition(&s, "Valid").unwrap();
    assert_eq!(reason, "InvalidSchedule");
    assert!(
        message.contains("spec.schedule") && message.contains("*/2 * * *"),
        "{message}"
    );
    let (status, reason, message) = schedule_condition(&s, "Retention").unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "InvalidMaxReservedTime")
    );
    assert!(message.contains("spec.maxReservedTime"), "{message}");
    assert!(s.status.unwrap().next_backup_time.is_none());
    let events = wait_for(10, "both Warning Events", || async {
        let events = env.events(Some(&name)).await;
        let has = |reason: &str, field: &str| {
            events
                .iter()
                .any(|e| e.starts_with(&format!("Warning {reason}: ")) && e.contains(field))
        };
        (has("InvalidSchedule", "spec.schedule")
            && has("InvalidMaxReservedTime", "spec.maxReservedTime"))
        .then_some(events)
    })
    .await;
    assert!(
        !events.iter().any(|e| e.contains("SuccessfulCreate")),
        "{events:?}"
    );
    let mut runs = ScheduleRuns::new(&name);
    let until = tokio::time::Instant::now() + INTERVAL + Duration::from_secs(1);
    while tokio::time::Instant::now() < until {
        runs.poll(&env.backups()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        runs.runs.is_empty(),
        "nothing is created from an invalid schedule"
    );

    // Fixing the schedule starts it; retention stays off (and says so), backups go on.
    patch_spec(&env, &name, json!({"schedule": "@every 5s"})).await;
    let s = wait_condition(&env, &name, "Valid", "True").await;
    assert_eq!(schedule_condition(&s, "Retention").unwrap().0, "False");
    watch(&env, &mut runs, 20, "a complete run", |r| {
        !r.complete().is_empty()
    })
    .await;
    let ticks: BTreeSet<&Timestamp> = runs.runs.keys().collect();
    assert!(ticks.iter().all(|t| t.as_second() % 5 == 0), "{ticks:?}");
    env.stop().await;
}
