//! The BackupSchedule controller against the sandbox API, with the agent stub playing the
//! backups: Backups at the ticks with the names, labels, annotations, owner and prefix the
//! schedule promises; retention; a running predecessor holding the next run visibly; pause
//! and the single catch-up run; an invalid schedule reported on the object; an operator
//! restart; deleting the schedule; the per-schedule metrics.

mod common;

use std::collections::BTreeSet;

use common::*;
use jiff::Timestamp;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use tibr_api::{Backup, BackupSchedule};
use tibr_testkit::status::schedule_condition;

const SCHEDULE_LABEL: &str = "tidb.pingcap.com/backup-schedule";

fn schedules(env: &Env) -> Api<BackupSchedule> {
    Api::namespaced(env.client.clone(), NS)
}

/// Creates schedule `name` backing demo1 up to `my-bucket/<name>`, with `spec` merged over
/// it and the stub's behaviour (`STUB_MODE`) in the template's env.
async fn schedule(env: &Env, name: &str, spec: Value, stub_mode: &str) -> BackupSchedule {
    let mut template = env.backup_spec(name);
    template["env"] = json!([{"name": "STUB_MODE", "value": stub_mode}]);
    let mut v = json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "BackupSchedule",
        "metadata": {"name": name, "namespace": NS,
                     "annotations": {"iam.amazonaws.com/role": "arn:aws:iam::123456789012:role/user"},
                     "labels": {"team": "dba"}},
        "spec": {"schedule": "@every 2s", "backupTemplate": template},
    });
    merge(&mut v["spec"], spec);
    let s: BackupSchedule = serde_json::from_value(v).unwrap();
    schedules(env)
        .create(&PostParams::default(), &s)
        .await
        .unwrap()
}

/// The Backups schedule `name` made, oldest first (names sort by tick).
async fn runs(env: &Env, name: &str) -> Vec<Backup> {
    let mut list = env
        .backups(NS)
        .list(&ListParams::default().labels(&format!("{SCHEDULE_LABEL}={name}")))
        .await
        .unwrap()
        .items;
    list.sort_by_key(|b| b.name_any());
    list
}

async fn get_schedule(env: &Env, name: &str) -> BackupSchedule {
    schedules(env).get(name).await.unwrap()
}

/// The tick a run's name carries (`<schedule>-YYYY-MM-DDtHH-MM-SS`, UTC).
fn tick_of(schedule: &str, backup: &str) -> Timestamp {
    let stamp = backup
        .strip_prefix(&format!("{schedule}-"))
        .unwrap_or_else(|| panic!("{backup} is not named after {schedule}"));
    let civil = jiff::civil::DateTime::strptime("%Y-%m-%dt%H-%M-%S", stamp)
        .unwrap_or_else(|e| panic!("{backup}: {e}"));
    civil.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp()
}

/// Makes the controller decide about schedule `name` again now, and waits until it has: a
/// spec change that means nothing to a BR template (`storageSize`) bumps the generation,
/// which every condition then records. What the tests assert after this was decided after
/// this moment, so an assertion that something did not happen can fail.
async fn decided_again(env: &Env, name: &str) {
    let marker = format!("{}Mi", Timestamp::now().as_millisecond() % 1_000_000);
    let patched = schedules(env)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"storageSize": marker}})),
        )
        .await
        .unwrap();
    let generation = patched.metadata.generation;
    wait_for(30, "a decision on the new generation", || async {
        let s = get_schedule(env, name).await;
        let conditions = s.status?.conditions;
        (!conditions.is_empty()
            && conditions
                .iter()
                .all(|c| c.observed_generation == generation))
        .then_some(())
    })
    .await;
}

/// Waits until `ticks` periods of `@every <period>` have passed since now (the clock has to
/// move for ticks to come due).
async fn ticks_pass(period: std::time::Duration, ticks: u32) {
    tokio::time::sleep(period * ticks).await;
}

/// The value of the metric line starting with `series` in the operator's `/metrics`.
async fn metric(env: &Env, series: &str) -> Option<f64> {
    let (_, body) = env.http_get("/metrics").await;
    body.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn backups_come_at_the_ticks_as_promised_and_max_backups_are_kept() {
    let env = Env::with_operator(false).await;
    let created = schedule(&env, "every2", json!({"maxBackups": 2}), "complete").await;

    // Retention has deleted at least one Complete run: four ticks or more have passed.
    let present = wait_for(60, "retention to have deleted a run", || async {
        let deleted = metric(
            &env,
            "tibr_operator_schedule_backups_deleted_by_retention_total{namespace=\"test1\",schedule=\"every2\"}",
        )
        .await?;
        (deleted >= 2.0).then_some(())?;
        Some(runs(&env, "every2").await)
    })
    .await;

    let complete: Vec<&Backup> = present
        .iter()
        .filter(|b| b.phase().map(|p| p.as_str()) == Some("Complete"))
        .collect();
    assert!(
        complete.len() <= 2,
        "maxBackups 2 keeps at most two complete runs: {:?}",
        present.iter().map(|b| b.name_any()).collect::<Vec<_>>()
    );
    for b in &present {
        let name = b.name_any();
        let tick = tick_of("every2", &name);
        assert_eq!(
            tick.as_second() % 2,
            0,
            "{name}: @every 2s ticks on even seconds"
        );
        assert_eq!(
            b.annotations()["tibr.dev/schedule-tick"],
            tick.to_string(),
            "{name}: the tick annotation"
        );
        let labels = b.labels();
        assert_eq!(labels[SCHEDULE_LABEL], "every2");
        assert_eq!(labels["app.kubernetes.io/instance"], "every2");
        assert_eq!(labels["app.kubernetes.io/name"], "backup-schedule");
        assert_eq!(
            labels["app.kubernetes.io/managed-by"],
            "backup-schedule-operator"
        );
        assert_eq!(labels["team"], "dba", "the schedule's own labels");
        assert_eq!(
            b.annotations()["iam.amazonaws.com/role"],
            "arn:aws:iam::123456789012:role/user",
            "the schedule's annotations reach its Backups (and from there the pods)"
        );
        let owner = &b.owner_references()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.controller),
            ("BackupSchedule", "every2", Some(true))
        );
        assert_eq!(Some(&owner.uid), created.metadata.uid.as_ref());
        let stamp = name.strip_prefix("every2-").unwrap();
        assert_eq!(
            b.spec.storage.s3.as_ref().unwrap().prefix.as_deref(),
            Some(format!("every2/demo1-pd.test1-2379-{stamp}").as_str()),
            "{name}: a per-run prefix"
        );
    }
    let ticks: Vec<Timestamp> = present
        .iter()
        .map(|b| tick_of("every2", &b.name_any()))
        .collect();
    assert_eq!(
        ticks.iter().collect::<BTreeSet<_>>().len(),
        ticks.len(),
        "one Backup per tick"
    );

    // The status names the newest run and the next tick; the conditions say all is well.
    let s = get_schedule(&env, "every2").await;
    let status = s.status.clone().unwrap();
    let last = status.last_backup.clone().expect("lastBackup");
    assert!(last.starts_with("every2-"));
    let next = status.next_backup_time.clone().expect("nextBackupTime").0;
    assert!(
        next > tick_of("every2", &last),
        "the next run is after the last"
    );
    assert_eq!(schedule_condition(&s, "Valid").unwrap().0, "True");
    assert_eq!(schedule_condition(&s, "Paused").unwrap().0, "False");
    let retention = schedule_condition(&s, "Retention").unwrap();
    assert_eq!(
        (retention.0.as_str(), retention.1.as_str()),
        ("True", "MaxBackups")
    );

    let events = env.events(NS, Some("every2")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Normal SuccessfulCreate: created Backup every2-")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Normal SuccessfulDelete: deleted Backup every2-")),
        "{events:?}"
    );
    let created_total = metric(
        &env,
        "tibr_operator_schedule_backups_created_total{namespace=\"test1\",schedule=\"every2\"}",
    )
    .await
    .unwrap();
    assert!(created_total >= 3.0, "created {created_total}");
    let last_success = metric(
        &env,
        "tibr_operator_schedule_last_success_timestamp_seconds{namespace=\"test1\",schedule=\"every2\"}",
    )
    .await
    .unwrap();
    assert!(last_success > 0.0);
    env.stop().await;
}

#[tokio::test]
async fn a_running_predecessor_holds_the_next_run_visibly_then_one_run_follows() {
    let env = Env::with_operator(false).await;
    schedule(&env, "held", json!({}), "sleep").await;
    let first = wait_for(30, "the first run", || async {
        runs(&env, "held").await.into_iter().next()
    })
    .await
    .name_any();
    env.wait_phase(NS, &first, "Running", 30).await;

    // Several ticks pass; the schedule says it waits, and for what.
    let s = wait_for(30, "the Blocked condition", || async {
        let s = get_schedule(&env, "held").await;
        let (status, _, _) = schedule_condition(&s, "Blocked")?;
        (status == "True").then_some(s)
    })
    .await;
    ticks_pass(std::time::Duration::from_secs(2), 2).await;
    decided_again(&env, "held").await;
    assert_eq!(
        runs(&env, "held").await.len(),
        1,
        "no second backup beside a running one"
    );
    let (_, reason, message) = schedule_condition(&s, "Blocked").unwrap();
    assert_eq!(reason, "WaitingForBackup");
    assert!(message.contains(&format!("Backup {first}")), "{message}");
    let next = s.status.unwrap().next_backup_time.unwrap().0;
    assert!(
        next < Timestamp::now(),
        "nextBackupTime shows the overdue run"
    );
    let events = env.events(NS, Some("held")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Warning WaitingForBackup:") && e.contains(&first)),
        "{events:?}"
    );
    let blocked_since = metric(
        &env,
        "tibr_operator_schedule_blocked_since_timestamp_seconds{namespace=\"test1\",schedule=\"held\"}",
    )
    .await
    .unwrap();
    assert!(blocked_since > 0.0);

    // Out of the way, the predecessor releases exactly one catch-up run.
    env.delete_backup(NS, &first).await;
    let next_run = wait_for(30, "the catch-up run", || async {
        runs(&env, "held")
            .await
            .into_iter()
            .find(|b| b.name_any() != first)
    })
    .await;
    assert!(tick_of("held", &next_run.name_any()) > tick_of("held", &first));
    ticks_pass(std::time::Duration::from_secs(2), 2).await;
    decided_again(&env, "held").await;
    let after: Vec<String> = runs(&env, "held")
        .await
        .iter()
        .map(|b| b.name_any())
        .filter(|n| n != &first)
        .collect();
    assert_eq!(
        after,
        vec![next_run.name_any()],
        "one run for all the missed ticks"
    );
    let events = env.events(NS, Some("held")).await;
    assert!(
        events.iter().any(|e| e.starts_with("Warning MissedTicks:")),
        "{events:?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn pause_creates_nothing_and_unpausing_catches_up_once() {
    let env = Env::with_operator(false).await;
    schedule(
        &env,
        "paused",
        json!({"pause": true, "schedule": "@every 1s"}),
        "sleep",
    )
    .await;
    let s = wait_for(30, "the Paused condition", || async {
        let s = get_schedule(&env, "paused").await;
        (schedule_condition(&s, "Paused")?.0 == "True").then_some(s)
    })
    .await;
    assert!(
        s.status.unwrap().next_backup_time.is_none(),
        "no next run while paused"
    );
    ticks_pass(std::time::Duration::from_secs(1), 3).await;
    decided_again(&env, "paused").await;
    assert!(
        runs(&env, "paused").await.is_empty(),
        "nothing while paused"
    );

    schedules(&env)
        .patch(
            "paused",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"pause": false}})),
        )
        .await
        .unwrap();
    let first = wait_for(30, "the catch-up run", || async {
        runs(&env, "paused").await.into_iter().next()
    })
    .await;
    // The stub sleeps, so every later tick waits on this one: exactly one run.
    ticks_pass(std::time::Duration::from_secs(1), 3).await;
    decided_again(&env, "paused").await;
    assert_eq!(runs(&env, "paused").await.len(), 1);
    let events = env.events(NS, Some("paused")).await;
    let missed = events
        .iter()
        .find(|e| e.starts_with("Warning MissedTicks:"))
        .unwrap_or_else(|| panic!("{events:?}"));
    assert!(
        missed.contains(&tick_of("paused", &first.name_any()).to_string()),
        "{missed}"
    );
    let s = get_schedule(&env, "paused").await;
    assert_eq!(schedule_condition(&s, "Paused").unwrap().0, "False");
    env.stop().await;
}

#[tokio::test]
async fn an_invalid_schedule_is_reported_on_the_object_and_an_edit_fixes_it() {
    let env = Env::with_operator(false).await;
    schedule(
        &env,
        "broken",
        json!({"schedule": "every day at noon"}),
        "complete",
    )
    .await;
    let s = wait_for(30, "Valid=False", || async {
        let s = get_schedule(&env, "broken").await;
        (schedule_condition(&s, "Valid")?.0 == "False").then_some(s)
    })
    .await;
    let (_, reason, message) = schedule_condition(&s, "Valid").unwrap();
    assert_eq!(reason, "InvalidSchedule");
    assert!(message.contains("spec.schedule"), "{message}");
    let events = env.events(NS, Some("broken")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Warning InvalidSchedule: spec.schedule")),
        "{events:?}"
    );
    assert!(runs(&env, "broken").await.is_empty());

    schedules(&env)
        .patch(
            "broken",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"schedule": "@every 1s"}})),
        )
        .await
        .unwrap();
    wait_for(30, "a run after the fix", || async {
        runs(&env, "broken").await.into_iter().next()
    })
    .await;
    let s = get_schedule(&env, "broken").await;
    assert_eq!(schedule_condition(&s, "Valid").unwrap().0, "True");
    env.stop().await;
}

#[tokio::test]
async fn a_template_a_backup_would_refuse_creates_no_backups_until_fixed() {
    let env = Env::with_operator(false).await;
    schedule(
        &env,
        "badtmpl",
        json!({"backupTemplate": {"backupType": "bogus", "s3": {"prefix": "runs/../other"}}}),
        "complete",
    )
    .await;
    let s = wait_for(30, "Valid=False", || async {
        let s = get_schedule(&env, "badtmpl").await;
        (schedule_condition(&s, "Valid")?.0 == "False").then_some(s)
    })
    .await;
    let (_, reason, message) = schedule_condition(&s, "Valid").unwrap();
    assert_eq!(reason, "InvalidTemplate");
    assert!(
        message.contains("spec.backupTemplate.backupType"),
        "{message}"
    );
    assert!(
        message.contains("spec.backupTemplate.s3.prefix"),
        "{message}"
    );
    let events = env.events(NS, Some("badtmpl")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Warning InvalidTemplate: spec.backupTemplate.")),
        "{events:?}"
    );
    assert!(runs(&env, "badtmpl").await.is_empty());

    schedules(&env)
        .patch(
            "badtmpl",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"backupTemplate": {"backupType": "full", "s3": {"prefix": "runs"}}}})),
        )
        .await
        .unwrap();
    wait_for(30, "a run after the fix", || async {
        runs(&env, "badtmpl").await.into_iter().next()
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn after_an_operator_restart_one_catch_up_run_and_no_duplicate() {
    let mut env = Env::with_operator(false).await;
    schedule(
        &env,
        "restart",
        json!({"schedule": "@every 1s"}),
        "complete",
    )
    .await;
    wait_for(30, "two runs", || async {
        (runs(&env, "restart").await.len() >= 2).then_some(())
    })
    .await;
    env.stop_operator().await;
    let before: BTreeSet<String> = runs(&env, "restart")
        .await
        .iter()
        .map(|b| b.name_any())
        .collect();
    let stopped_at = Timestamp::now();
    // Ticks come due while nobody watches.
    ticks_pass(std::time::Duration::from_secs(1), 5).await;

    env.start_operator().await;
    let new = wait_for(30, "the catch-up run", || async {
        let now: Vec<String> = runs(&env, "restart")
            .await
            .iter()
            .map(|b| b.name_any())
            .collect();
        now.into_iter().find(|n| !before.contains(n))
    })
    .await;
    // The first run after the restart is for the latest tick, not the first missed one.
    assert!(
        tick_of("restart", &new)
            >= stopped_at
                .checked_add(jiff::SignedDuration::from_secs(4))
                .unwrap(),
        "{new} is a catch-up for the latest tick (stopped at {stopped_at})"
    );
    let events = env.events(NS, Some("restart")).await;
    assert!(
        events.iter().any(|e| e.starts_with("Warning MissedTicks:")),
        "{events:?}"
    );
    let all: Vec<Timestamp> = runs(&env, "restart")
        .await
        .iter()
        .map(|b| tick_of("restart", &b.name_any()))
        .collect();
    assert_eq!(
        all.iter().collect::<BTreeSet<_>>().len(),
        all.len(),
        "one Backup per tick"
    );
    env.stop().await;
}

#[tokio::test]
async fn deleting_the_schedule_deletes_its_backups_by_their_clean_policy() {
    let env = Env::with_operator(false).await;
    schedule(
        &env,
        "doomed",
        json!({"backupTemplate": {"cleanPolicy": "Delete"}}),
        "complete",
    )
    .await;
    let names: Vec<String> = wait_for(30, "two complete runs", || async {
        let done: Vec<String> = runs(&env, "doomed")
            .await
            .iter()
            .filter(|b| b.phase().map(|p| p.as_str()) == Some("Complete"))
            .map(|b| b.name_any())
            .collect();
        (done.len() >= 2).then_some(done)
    })
    .await;
    wait_for(10, "the schedule's metrics", || async {
        metric(
            &env,
            "tibr_operator_schedule_backups_created_total{namespace=\"test1\",schedule=\"doomed\"}",
        )
        .await
    })
    .await;

    schedules(&env)
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    wait_for(30, "the schedule gone", || async {
        schedules(&env)
            .get_opt("doomed")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    wait_for(60, "its Backups gone", || async {
        runs(&env, "doomed").await.is_empty().then_some(())
    })
    .await;
    // Each went through its own cleanPolicy (Delete): a clean Job deleted its data first.
    for name in &names {
        let events = env.events(NS, Some(name)).await;
        let cleaned = format!("Normal SuccessfulCreate: created Job clean-{name}");
        assert!(
            events.iter().any(|e| e.starts_with(&cleaned)),
            "{name} was cleaned: {events:?}"
        );
    }
    wait_for(30, "the schedule's series dropped", || async {
        let (_, body) = env.http_get("/metrics").await;
        (!body.contains("schedule=\"doomed\"")).then_some(())
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn a_tick_name_taken_by_someone_else_is_reported_and_the_schedule_goes_on() {
    let env = Env::with_operator(false).await;
    // Backups made by hand with the names of the next ticks of `@every 3s`.
    let now = Timestamp::now().as_second();
    let first = (now / 3 + 1) * 3;
    let mut taken = Vec::new();
    for tick in [first, first + 3, first + 6] {
        let stamp = Timestamp::from_second(tick)
            .unwrap()
            .strftime("%Y-%m-%dt%H-%M-%S")
            .to_string();
        let name = format!("taken-{stamp}");
        env.backup(NS, &name, &name, json!({})).await;
        taken.push(name);
    }
    schedule(&env, "taken", json!({"schedule": "@every 3s"}), "complete").await;

    let warning = wait_for(30, "the TickNameTaken Warning", || async {
        env.events(NS, Some("taken"))
            .await
            .into_iter()
            .find(|e| e.starts_with("Warning TickNameTaken:"))
    })
    .await;
    assert!(taken.iter().any(|n| warning.contains(n)), "{warning}");
    assert!(
        warning.contains("was not made by this schedule"),
        "{warning}"
    );
    // Later ticks get their own Backups.
    let own = wait_for(30, "a run of its own", || async {
        runs(&env, "taken").await.into_iter().next()
    })
    .await;
    assert!(!taken.contains(&own.name_any()));
    env.stop().await;
}
