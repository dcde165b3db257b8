//! `settle()`: what the act step reported about each write, and what is then written. A
//! create that failed takes nothing into the status; a cluster that does not answer is
//! looked at again, a refusal ends the reconcile in an error to retry.

use tibr_api::{BackupConditionType as T, VolumeBackupConditionType as V};

use super::*;
use crate::federation::{ActionOutcome as O, FinalizerChange, Outcomes, Settled, settle};
use crate::reconcile::reasons;

fn first_plan() -> (VolumeBackup, Plan) {
    let v = vbk();
    let plan = run(&v, &observed(&[]));
    assert_eq!(
        plan.actions.len(),
        1,
        "the fixture creates the first member"
    );
    (v, plan)
}

fn settled(
    v: &VolumeBackup,
    plan: Plan,
    finalizer: Option<Result<(), String>>,
    o: Vec<Option<O>>,
) -> Settled {
    let outcomes = Outcomes {
        finalizer,
        actions: o,
    };
    settle(v, plan, &outcomes, &settings(), now())
}

#[test]
fn a_created_member_is_recorded_with_running_and_an_event() {
    let (v, plan) = first_plan();
    let s = settled(&v, plan, Some(Ok(())), vec![Some(O::Created)]);
    assert!(s.status_changed && s.retry.is_none());
    assert_eq!(s.status.phase, Some(V::Running));
    assert_eq!(s.status.backups.len(), 1);
    assert_eq!(s.status.backups[0].backup_name, "fed-vbk1");
    let running = &s.status.conditions[0];
    assert_eq!(running.last_transition_time.as_ref().unwrap().0, now());
    assert_eq!(running.observed_generation, Some(1));
    let created = s
        .events
        .iter()
        .find(|e| e.reason == reasons::SUCCESSFUL_CREATE)
        .unwrap();
    assert_eq!(
        created.note,
        "created Backup ns1/fed-vbk1 in Kubernetes cluster k8s1 in phase initialize"
    );
}

#[test]
fn a_refused_create_takes_nothing_into_the_status_and_is_retried() {
    let (v, plan) = first_plan();
    let s = settled(
        &v,
        plan,
        Some(Ok(())),
        vec![Some(O::Refused("namespaces \"ns1\" not found".into()))],
    );
    assert!(s.status.backups.is_empty(), "{:?}", s.status.backups);
    assert!(
        s.retry
            .as_deref()
            .unwrap()
            .contains("namespaces \"ns1\" not found")
    );
    assert!(
        s.events
            .iter()
            .any(|e| e.reason == reasons::FAILED_CREATE && e.is_warning())
    );
    assert_eq!(
        s.status.phase,
        Some(V::Running),
        "the backup did start trying"
    );
}

#[test]
fn a_create_into_an_unreachable_cluster_is_looked_at_again_without_an_error() {
    let (v, plan) = first_plan();
    let s = settled(
        &v,
        plan,
        Some(Ok(())),
        vec![Some(O::Unreachable("i/o timeout".into()))],
    );
    assert!(s.status.backups.is_empty());
    assert_eq!(s.retry, None);
    assert_eq!(s.requeue, Some(settings().unreachable_min));
    assert!(
        s.events
            .iter()
            .any(|e| e.reason == reasons::KUBERNETES_CLUSTER_UNREACHABLE)
    );
}

#[test]
fn a_create_that_found_the_name_taken_keeps_the_entry_for_the_next_look() {
    let (v, plan) = first_plan();
    let s = settled(&v, plan, Some(Ok(())), vec![Some(O::AlreadyExisted)]);
    assert_eq!(s.status.backups.len(), 1);
    assert!(
        !s.events
            .iter()
            .any(|e| e.reason == reasons::SUCCESSFUL_CREATE)
    );
}

#[test]
fn a_failed_finalizer_means_nothing_else_was_done() {
    let (v, plan) = first_plan();
    let s = settled(&v, plan, Some(Err("conflict".into())), vec![None]);
    assert!(!s.status_changed);
    assert_eq!(s.status, Default::default());
    assert_eq!(s.retry.as_deref(), Some("conflict"));
    let (v, plan) = first_plan();
    let s = settled(&v, plan, None, vec![]);
    assert!(s.retry.is_some(), "a finalizer not reported is not added");
}

#[test]
fn a_create_not_attempted_restores_the_entry_as_it_was() {
    // settle does not trust the plan's entry for a member it did not create: the entry
    // goes back to what the status said before the decision.
    let mut v = vbk().protected().with(V::Running, NOW).entry("k8s1");
    v.status.as_mut().unwrap().backups[0].message = Some("as before".into());
    let mut plan = run(&v, &observed(&[]));
    plan.status.backups[0].message = None;
    plan.actions = run(&vbk(), &observed(&[])).actions;
    let s = settled(&v, plan, None, vec![None]);
    assert_eq!(s.status.backups[0].message.as_deref(), Some("as before"));
}

fn teardown_plan() -> (VolumeBackup, Plan) {
    let v = running(&CLUSTERS);
    let o = observed(&[
        (
            "k8s1",
            member("k8s1", Phase::Execute).cond(T::VolumeBackupInitialized, "2026-05-01T09:51:00Z"),
        ),
        (
            "k8s2",
            member("k8s2", Phase::Execute).cond(T::VolumeBackupFailed, "2026-05-01T09:52:00Z"),
        ),
        ("k8s3", member("k8s3", Phase::Execute)),
    ]);
    let plan = run(&v, &o);
    assert_eq!(plan.actions.len(), 3);
    (v, plan)
}

#[test]
fn patches_report_each_outcome() {
    let (v, plan) = teardown_plan();
    let s = settled(
        &v,
        plan,
        None,
        vec![
            Some(O::Patched),
            Some(O::NotFound),
            Some(O::Refused("admission webhook denied".into())),
        ],
    );
    let updated = s
        .events
        .iter()
        .find(|e| e.reason == reasons::MEMBER_UPDATED)
        .unwrap();
    assert_eq!(
        updated.note,
        "set phase teardown and resumeGcSchedule on Backup ns1/fed-vbk1 in Kubernetes cluster k8s1"
    );
    assert!(s.events.iter().any(|e| e.reason == reasons::FAILED_UPDATE
        && e.note.contains("ns3/fed-vbk1")
        && e.note.contains("admission webhook denied")));
    assert!(s.retry.is_some());
    assert_eq!(
        s.requeue,
        Some(settings().short_interval),
        "the one gone is looked at soon"
    );
}

#[test]
fn the_finalizer_goes_only_when_nothing_is_left_to_retry() {
    let v = running(&CLUSTERS).deleting();
    let plan = run(&v, &observed(&[]));
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
    let s = settled(&v, plan, None, vec![]);
    assert!(s.release_finalizer);
    assert_eq!(s.status.phase, Some(V::Cleaned));

    let v = running(&CLUSTERS).deleting();
    let o = observed(&[("k8s1", member("k8s1", Phase::Teardown))]);
    let plan = run(&v, &o);
    let s = settled(&v, plan, None, vec![Some(O::Refused("forbidden".into()))]);
    assert!(!s.release_finalizer);
    assert!(s.events.iter().any(|e| e.reason == reasons::FAILED_DELETE));
}

#[test]
fn nothing_changed_writes_nothing() {
    let v = running(&["k8s1"]);
    let init = member("k8s1", Phase::Initialize).cond(T::Scheduled, "2026-05-01T09:50:05Z");
    let o = observed(&[("k8s1", init)]);
    let once = settled(&v, run(&v, &o), None, vec![]);
    assert!(once.status_changed, "the entry learns the member's state");
    let mut v = v;
    v.status = Some(once.status);
    let twice = settled(&v, run(&v, &o), None, vec![]);
    assert!(!twice.status_changed, "{:?}", twice.status);
}
