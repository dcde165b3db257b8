//! Deleting a VolumeBackup: every member deleted where it can be, `CleanFailed` naming
//! the member whose clean failed, `Cleaned` and the finalizer released when none is
//! left; a removed cluster does not hang the deletion, an unreachable one says how to
//! give up on it.

use tibr_api::{BackupConditionType as T, VolumeBackupConditionType as V};

use super::sim::{Reach, World};
use super::*;
use crate::federation::{FinalizerChange, MemberWrite};
use crate::reconcile::reasons;

fn all_members() -> Observed {
    observed(&[
        (
            "k8s1",
            member("k8s1", Phase::Teardown).cond(T::Complete, "2026-05-01T09:58:00Z"),
        ),
        (
            "k8s2",
            member("k8s2", Phase::Teardown).cond(T::Complete, "2026-05-01T09:58:00Z"),
        ),
        (
            "k8s3",
            member("k8s3", Phase::Teardown).cond(T::Complete, "2026-05-01T09:58:00Z"),
        ),
    ])
}

fn deleted_vbk() -> VolumeBackup {
    running(&CLUSTERS)
        .with(V::Complete, "2026-05-01T09:59:00Z")
        .deleting()
}

#[test]
fn every_member_is_deleted_with_its_uid_as_precondition() {
    let plan = run(&deleted_vbk(), &all_members());
    assert_eq!(deletes(&plan), ["k8s1", "k8s2", "k8s3"]);
    let uids: Vec<_> = plan
        .actions
        .iter()
        .map(|a| match &a.write {
            MemberWrite::Delete { uid } => uid.clone().unwrap(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(uids, ["k8s1-uid", "k8s2-uid", "k8s3-uid"]);
    assert_eq!(plan.finalizer, None, "not while members remain");
    assert!(plan.conditions.is_empty());
    assert_eq!(plan.requeue, Some(settings().poll_interval));
}

#[test]
fn members_being_cleaned_are_waited_for_and_a_failed_clean_is_named() {
    let o = observed(&[
        ("k8s1", member("k8s1", Phase::Teardown).deleting()),
        (
            "k8s2",
            member("k8s2", Phase::Teardown).deleting().failed_with(
                T::CleanFailed,
                "CleanJobFailed",
                "deleting snapshot snap-0a1: RequestLimitExceeded",
            ),
        ),
    ]);
    let plan = run(&deleted_vbk(), &o);
    assert!(
        deletes(&plan).is_empty(),
        "deleted already: only waited for"
    );
    assert_eq!(
        conditions(&plan),
        [cond("CleanFailed", "True", reasons::MEMBER_CLEAN_FAILED)]
    );
    let why = message(&plan, V::CleanFailed);
    assert!(
        why.contains("Backup ns2/fed-vbk1 in Kubernetes cluster k8s2: deleting snapshot snap-0a1"),
        "{why}"
    );
    assert!(!why.contains("k8s1"));
    assert_eq!(plan.finalizer, None);
}

#[test]
fn cleaned_and_the_finalizer_released_once_no_member_is_left() {
    let mut w = World::new(deleted_vbk());
    w.planes = all_members()
        .members
        .into_iter()
        .map(|m| match m.access {
            Access::Reachable(b) => (m.k8s_cluster_name, (Reach::Up, b.map(|b| *b))),
            _ => unreachable!(),
        })
        .collect();
    w.step();
    for c in CLUSTERS {
        assert!(w.member(c).metadata.deletion_timestamp.is_some(), "{c}");
    }
    w.cleaned("k8s1");
    w.cleaned("k8s2");
    let (plan, settled) = w.step();
    assert!(!settled.release_finalizer);
    assert_eq!(
        plan.status.backups.len(),
        1,
        "gone members leave the status"
    );
    w.cleaned("k8s3");
    let (plan, settled) = w.step();
    assert_eq!(
        conditions(&plan),
        [cond("Cleaned", "True", reasons::MEMBERS_DELETED)]
    );
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
    assert!(settled.release_finalizer);
    assert_eq!(w.phase(), Some("Cleaned"));
    assert!(w.vbk.metadata.finalizers.is_none());
}

#[test]
fn a_member_in_a_removed_cluster_is_left_in_place_loudly_and_does_not_hang_the_deletion() {
    let mut o = with_access(observed(&[]), "k8s2", Access::UnknownContext);
    o.known_clusters.remove("k8s2");
    let mut v = deleted_vbk();
    v.status.as_mut().unwrap().backups[1].backup_path =
        Some("s3://my-bucket/daily/vbk1-k8s2".into());
    let plan = run(&v, &o);
    assert_eq!(
        conditions(&plan),
        [cond("Cleaned", "True", reasons::MEMBERS_DELETED)]
    );
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
    let kept = note(&plan, reasons::MEMBER_DATA_KEPT);
    for part in [
        "Backup ns2/fed-vbk1 in Kubernetes cluster k8s2 is not deleted",
        "s3://my-bucket/daily/vbk1-k8s2",
        "kubectl --context k8s2 -n ns2 get backup fed-vbk1",
    ] {
        assert!(kept.contains(part), "{part:?} in {kept}");
    }
    assert!(message(&plan, V::Cleaned).contains("kept: Backup ns2/fed-vbk1"));
}

#[test]
fn a_removed_cluster_where_nothing_was_created_is_not_reported() {
    let mut o = with_access(observed(&[]), "k8s3", Access::UnknownContext);
    o.known_clusters.remove("k8s3");
    let plan = run(&vbk().protected().with(V::Invalid, NOW).deleting(), &o);
    assert_eq!(
        conditions(&plan),
        [cond("Cleaned", "True", reasons::MEMBERS_DELETED)]
    );
    assert!(
        events(&plan)
            .iter()
            .all(|(_, r)| r != reasons::MEMBER_DATA_KEPT)
    );
}

#[test]
fn an_unreachable_cluster_keeps_the_deletion_waiting_and_says_how_to_give_up() {
    let o = with_access(
        all_members(),
        "k8s3",
        down("connection refused", "2026-05-01T09:59:50Z"),
    );
    let plan = run(&deleted_vbk(), &o);
    assert_eq!(deletes(&plan), ["k8s1", "k8s2"]);
    assert_eq!(plan.finalizer, None);
    assert!(plan.conditions.is_empty());
    let warning = note(&plan, reasons::KUBERNETES_CLUSTER_UNREACHABLE);
    assert!(warning.contains("connection refused"), "{warning}");
    assert!(
        warning.contains("remove this context from the federation kubeconfig"),
        "{warning}"
    );
    assert_eq!(
        plan.requeue,
        secs(10),
        "waited 10s so far: sooner than the poll"
    );
}

#[test]
fn a_foreign_backup_of_the_same_name_is_never_deleted() {
    let mut foreign = member("k8s1", Phase::Execute);
    foreign.spec.backup_mode = None;
    foreign.spec.federal_volume_backup_phase = None;
    let plan = run(&deleted_vbk(), &observed(&[("k8s1", foreign)]));
    assert!(deletes(&plan).is_empty());
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
    assert!(message(&plan, V::Cleaned).contains("no member of a VolumeBackup"));
}

#[test]
fn running_backups_are_deleted_too_and_without_the_finalizer_nothing_is_done() {
    let o = observed(&[(
        "k8s1",
        member("k8s1", Phase::Initialize).cond(T::Running, NOW),
    )]);
    let plan = run(&running(&["k8s1"]).deleting(), &o);
    assert_eq!(
        deletes(&plan),
        ["k8s1"],
        "its data plane stops its Jobs first"
    );
    let mut bare = running(&["k8s1"]).deleting();
    bare.metadata.finalizers = None;
    assert!(crate::federation::is_settled(&bare));
    assert_eq!(run(&bare, &o).summary(), "nothing");
}

#[test]
fn a_removed_cluster_without_a_status_entry_is_reported_as_maybe_holding_a_member() {
    // The creation's status write lost to a conflict (with this very deletion): the
    // member may be there although the status does not list it.
    let mut o = with_access(observed(&[]), "k8s2", Access::UnknownContext);
    o.known_clusters.remove("k8s2");
    let mut v = deleted_vbk();
    v.status
        .as_mut()
        .unwrap()
        .backups
        .retain(|b| b.k8s_cluster_name.as_deref() != Some("k8s2"));
    let plan = run(&v, &o);
    assert_eq!(plan.finalizer, Some(FinalizerChange::Remove));
    let kept = note(&plan, reasons::MEMBER_DATA_KEPT);
    for part in [
        "Backup ns2/fed-vbk1 in Kubernetes cluster k8s2 may exist",
        "kubectl --context k8s2 -n ns2 get backup fed-vbk1",
    ] {
        assert!(kept.contains(part), "{part:?} in {kept}");
    }
}
