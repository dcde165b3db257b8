//! Member clusters that do not answer, names the kubeconfig does not know, and members
//! that vanish: never a crash, never a silent endless wait, and the protocol goes on
//! when the cluster is back.

use tibr_api::{BackupConditionType as T, VolumeBackupConditionType as V};

use super::sim::{Reach, World};
use super::*;
use crate::reconcile::reasons;

const TIMEOUT: &str = "dial tcp 10.0.3.7:443: i/o timeout";

#[test]
fn nothing_is_paused_while_a_member_cluster_does_not_answer() {
    let o = with_access(observed(&[]), "k8s3", down(TIMEOUT, "2026-05-01T09:59:58Z"));
    let plan = run(&vbk(), &o);
    assert!(plan.actions.is_empty(), "{}", plan.summary());
    assert_eq!(
        conditions(&plan),
        [cond("Running", "True", "VolumeBackupStarted")]
    );
    let warning = note(&plan, reasons::KUBERNETES_CLUSTER_UNREACHABLE);
    assert!(
        warning.contains("Kubernetes cluster k8s3") && warning.contains(TIMEOUT),
        "{warning}"
    );
    assert!(warning.contains("nothing is paused"), "{warning}");
    assert!(
        events(&plan)
            .iter()
            .all(|(k, r)| *k == EventKind::Warning || r != reasons::KUBERNETES_CLUSTER_UNREACHABLE)
    );
}

#[test]
fn the_wait_on_an_unreachable_cluster_grows_within_bounds() {
    let s = settings();
    for (since, expected) in [
        ("2026-05-01T09:59:58Z", s.unreachable_min),
        ("2026-05-01T09:59:00Z", std::time::Duration::from_secs(60)),
        ("2026-05-01T08:00:00Z", s.unreachable_max),
    ] {
        let o = with_access(observed(&[]), "k8s2", down(TIMEOUT, since));
        assert_eq!(run(&vbk(), &o).requeue, Some(expected), "since {since}");
    }
}

#[test]
fn execute_members_wait_for_their_cluster_and_are_created_when_it_is_back() {
    let mut w = World::new(vbk());
    w.step();
    w.report("k8s1", T::VolumeBackupInitialized);
    w.set_reach("k8s3", Reach::Down);
    let (plan, _) = w.step();
    assert_eq!(
        creates(&plan),
        [("k8s2".to_string(), "execute".to_string())]
    );
    assert!(
        note(&plan, reasons::KUBERNETES_CLUSTER_UNREACHABLE).contains("to carry the backup on")
    );
    assert!(plan.requeue <= Some(settings().paused_poll_interval));
    w.set_reach("k8s3", Reach::Up);
    let (plan, _) = w.step();
    assert_eq!(
        creates(&plan),
        [("k8s3".to_string(), "execute".to_string())]
    );
    assert_eq!(w.created, ["k8s1", "k8s2", "k8s3"]);
}

#[test]
fn an_unreachable_member_is_shown_as_such_and_picked_up_again() {
    let mut w = World::new(vbk());
    w.step();
    w.report("k8s1", T::VolumeBackupInitialized);
    w.step();
    for c in CLUSTERS {
        w.report(c, T::VolumeBackupSnapshotsCreated);
    }
    w.set_reach("k8s2", Reach::Down);
    let (plan, settled) = w.step();
    assert!(
        plan.actions.is_empty(),
        "no resume before k8s2 is seen to have its snapshots"
    );
    let entry = &settled.status.backups[1];
    assert_eq!(
        entry.reason.as_deref(),
        Some(reasons::KUBERNETES_CLUSTER_UNREACHABLE)
    );
    assert!(
        entry
            .message
            .as_deref()
            .unwrap()
            .contains("does not answer")
    );
    assert_eq!(entry.backup_name, "fed-vbk1", "what was known stays");
    w.set_reach("k8s2", Reach::Up);
    let (plan, settled) = w.step();
    assert_eq!(patches(&plan), [("k8s1".to_string(), resume())]);
    assert_eq!(settled.status.backups[1].reason, None);
    assert_eq!(
        settled.status.backups[1].phase,
        Some(T::VolumeBackupSnapshotsCreated)
    );
}

#[test]
fn an_unknown_cluster_name_is_invalid_naming_the_known_ones_until_the_registry_knows_it() {
    let mut o = observed(&[]);
    o = with_access(o, "k8s3", Access::UnknownContext);
    o.known_clusters.remove("k8s3");
    o.known_clusters.insert("k8s-west".into());
    let v = vbk().protected();
    let plan = run(&v, &o);
    assert!(plan.actions.is_empty(), "{}", plan.summary());
    assert_eq!(
        conditions(&plan),
        [cond("Invalid", "True", reasons::UNKNOWN_KUBERNETES_CLUSTER)]
    );
    let why = message(&plan, V::Invalid);
    assert!(
        why.starts_with("spec.clusters[2].k8sClusterName: \"k8s3\""),
        "{why}"
    );
    assert!(why.contains("known: k8s-west, k8s1, k8s2"), "{why}");
    assert_eq!(
        plan.requeue,
        Some(settings().registry_interval),
        "looked up again"
    );

    // The kubeconfig is reloaded with the context.
    let v = v.with(V::Invalid, "2026-05-01T09:59:00Z");
    let plan = run(&v, &observed(&[]));
    assert_eq!(
        conditions(&plan),
        [
            cond("Invalid", "False", "Valid"),
            cond("Running", "True", "VolumeBackupStarted")
        ]
    );
    assert_eq!(
        creates(&plan),
        [("k8s1".to_string(), "initialize".to_string())]
    );
}

#[test]
fn a_spec_error_is_not_looked_up_again() {
    let v = vbk()
        .protected()
        .tweak(json!({"spec": {"clusters": [{"k8sClusterName": "k8s1", "tcName": "tc1"}]}}));
    let plan = run(&v, &observed(&[]));
    assert_eq!(
        conditions(&plan),
        [cond("Invalid", "True", reasons::INVALID_SPEC)]
    );
    assert_eq!(
        plan.requeue, None,
        "a change to the spec wakes the controller"
    );
}

#[test]
fn a_cluster_removed_from_the_kubeconfig_after_its_member_exists_is_waited_for_not_invalid() {
    let mut o = observed(&[
        (
            "k8s1",
            member("k8s1", Phase::Execute).cond(T::VolumeBackupInitialized, "2026-05-01T09:51:00Z"),
        ),
        ("k8s3", member("k8s3", Phase::Execute)),
    ]);
    o = with_access(o, "k8s2", Access::UnknownContext);
    o.known_clusters.remove("k8s2");
    let plan = run(&running(&CLUSTERS), &o);
    assert!(conditions(&plan).is_empty(), "{:?}", conditions(&plan));
    assert!(plan.actions.is_empty(), "{}", plan.summary());
    let warning = note(&plan, reasons::UNKNOWN_KUBERNETES_CLUSTER);
    assert!(
        warning.contains("k8s2") && warning.contains("delete this VolumeBackup"),
        "{warning}"
    );
    assert_eq!(
        plan.status.backups[1].reason.as_deref(),
        Some(reasons::UNKNOWN_KUBERNETES_CLUSTER)
    );
    assert!(plan.requeue <= Some(settings().registry_interval));
}

#[test]
fn a_member_that_vanishes_fails_the_backup_and_is_not_created_again_when_it_returns() {
    let mut w = World::new(vbk());
    w.step();
    w.report("k8s1", T::VolumeBackupInitialized);
    w.step();
    let k8s2 = w.planes.get_mut("k8s2").unwrap().1.take().unwrap();
    let (plan, settled) = w.step();
    assert!(creates(&plan).is_empty(), "{}", plan.summary());
    assert_eq!(
        patches(&plan),
        [
            ("k8s1".to_string(), teardown_and_resume()),
            ("k8s3".to_string(), teardown())
        ]
    );
    assert_eq!(
        settled.status.backups[1].reason.as_deref(),
        Some(reasons::MEMBER_NOT_FOUND)
    );
    // Back (a restored etcd, a stale read): driven like the others, never created again.
    w.planes.get_mut("k8s2").unwrap().1 = Some(k8s2);
    let (plan, _) = w.step();
    assert!(creates(&plan).is_empty());
    assert_eq!(patches(&plan), [("k8s2".to_string(), teardown())]);
    for c in CLUSTERS {
        w.report(c, T::Failed);
    }
    w.step();
    assert_eq!(w.phase(), Some("Failed"));
    assert_eq!(w.attempts, ["k8s1", "k8s2", "k8s3"]);
}

#[test]
fn a_member_never_created_in_an_unreachable_cluster_does_not_hold_up_the_end() {
    let o = with_access(
        observed(&[(
            "k8s1",
            member("k8s1", Phase::Teardown)
                .cond(T::VolumeBackupInitializeFailed, "2026-05-01T09:51:00Z")
                .cond(T::Failed, "2026-05-01T09:52:00Z"),
        )]),
        "k8s3",
        down(TIMEOUT, "2026-05-01T09:50:00Z"),
    );
    let plan = run(&running(&["k8s1"]), &o);
    assert_eq!(
        conditions(&plan),
        [cond("Failed", "True", "VolumeBackupMemberFailed")]
    );
    assert!(
        !events(&plan)
            .iter()
            .any(|(_, r)| r == reasons::KUBERNETES_CLUSTER_UNREACHABLE),
        "nothing is waited for there"
    );
}

#[test]
fn a_created_member_in_an_unreachable_cluster_holds_up_the_end() {
    let o = with_access(
        observed(&[
            (
                "k8s1",
                member("k8s1", Phase::Teardown).cond(T::Failed, "2026-05-01T09:52:00Z"),
            ),
            (
                "k8s2",
                member("k8s2", Phase::Teardown).cond(T::Failed, "2026-05-01T09:52:00Z"),
            ),
        ]),
        "k8s3",
        down(TIMEOUT, "2026-05-01T09:50:00Z"),
    );
    let plan = run(&running(&CLUSTERS), &o);
    assert!(conditions(&plan).is_empty(), "its end is not known");
    assert!(note(&plan, reasons::KUBERNETES_CLUSTER_UNREACHABLE).contains("k8s3"));
}
