//! The GC life time decisions: raise or keep, re-runs, concurrent backups, external changes.

use std::time::Duration;

use super::*;

const H72: Duration = Duration::from_secs(72 * 3600);

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn now() -> jiff::Timestamp {
    ts("2026-03-01T10:00:00Z")
}

fn raised(original: &str, to: &str, at: &str) -> GcLifeTimeRecord {
    GcLifeTimeRecord {
        original: original.into(),
        raised_to: Some(to.into()),
        raised_at: Some(Time(ts(at))),
        restored: false,
        restored_at: None,
    }
}

fn running(name: &str, record: GcLifeTimeRecord) -> Peer {
    Peer {
        backup: name.into(),
        record,
        running: true,
    }
}

#[test]
fn a_shorter_value_is_recorded_then_raised() {
    let plan = plan_raise("10m0s", H72, None, &[], now()).unwrap();
    assert_eq!(plan.set.as_deref(), Some("72h0m0s"));
    assert_eq!(plan.record.original, "10m0s");
    assert_eq!(plan.record.raised_to.as_deref(), Some("72h0m0s"));
    assert_eq!(plan.record.raised_at, Some(Time(now())));
    assert!(plan.record.needs_restore());
    assert!(
        plan.explanation.contains("from 10m0s to 72h0m0s"),
        "{}",
        plan.explanation
    );
}

#[test]
fn a_longer_or_equal_value_is_kept_and_never_lowered() {
    for current in ["100h", "72h", "72h0m0s", "4320m"] {
        let plan = plan_raise(current, H72, None, &[], now()).unwrap();
        assert_eq!(plan.set, None, "{current}");
        assert_eq!(plan.record.original, current);
        assert_eq!(plan.record.raised_to, None);
        assert!(!plan.record.needs_restore(), "{current}");
        assert_eq!(plan_restore(&plan.record, current, &[]), Restore::Nothing);
    }
}

#[test]
fn an_unparsable_value_is_refused() {
    let err = plan_raise("ten minutes", H72, None, &[], now()).unwrap_err();
    assert_eq!(err.value, "ten minutes");
    assert!(err.to_string().contains("not a Go duration"), "{err}");
}

#[test]
fn a_rerun_reuses_the_recorded_original_never_the_raised_value() {
    // The first run raised 10m to 72h and its pod died; the cluster still holds 72h.
    let earlier = raised("10m0s", "72h0m0s", "2026-03-01T09:00:00Z");
    let plan = plan_raise("72h0m0s", H72, Some(&earlier), &[], now()).unwrap();
    assert_eq!(plan.set, None, "72h is enough, nothing to set");
    assert_eq!(plan.record.original, "10m0s");
    assert!(plan.record.needs_restore(), "the re-run must restore 10m");
    assert_eq!(
        plan_restore(&plan.record, "72h0m0s", &[]),
        Restore::Set {
            value: "10m0s".into()
        }
    );

    // The operator restored after the pod died; the retry raises again from the original.
    let mut restored = earlier.clone();
    mark_restored(&mut restored, ts("2026-03-01T09:30:00Z"));
    let plan = plan_raise("10m0s", H72, Some(&restored), &[], now()).unwrap();
    assert_eq!(plan.set.as_deref(), Some("72h0m0s"));
    assert_eq!(plan.record.original, "10m0s");
    assert!(!plan.record.restored);
}

#[test]
fn a_second_backup_inherits_the_original_and_the_last_one_out_restores() {
    // A raised 10m to 72h; B starts while A runs and sees 72h.
    let a = raised("10m0s", "72h0m0s", "2026-03-01T09:00:00Z");
    let b_plan = plan_raise("72h0m0s", H72, None, &[running("a", a.clone())], now()).unwrap();
    assert_eq!(b_plan.set, None);
    assert_eq!(b_plan.record.original, "10m0s", "not the raised 72h");
    assert!(b_plan.record.needs_restore(), "B holds the raise too");
    let b = b_plan.record;

    // A ends first: B still runs, so A hands over and restores nothing.
    assert_eq!(
        plan_restore(&a, "72h0m0s", &[running("b", b.clone())]),
        Restore::HandOver {
            to: vec!["b".into()]
        }
    );
    // B ends last: A has ended (not running), so B restores the original.
    let a_ended = Peer {
        running: false,
        ..running("a", a.clone())
    };
    assert_eq!(
        plan_restore(&b, "72h0m0s", &[a_ended]),
        Restore::Set {
            value: "10m0s".into()
        }
    );
    // The operator then finds A's record with the original back in place.
    assert_eq!(plan_restore(&a, "10m0s", &[]), Restore::AlreadyRestored);
}

#[test]
fn a_longer_target_raises_over_another_backups_raise() {
    let a = raised("10m0s", "72h0m0s", "2026-03-01T09:00:00Z");
    let plan = plan_raise(
        "72h0m0s",
        Duration::from_secs(100 * 3600),
        None,
        &[running("a", a.clone())],
        now(),
    )
    .unwrap();
    assert_eq!(plan.set.as_deref(), Some("100h0m0s"));
    assert_eq!(plan.record.original, "10m0s");
    // B (100h) ends first and hands over; A ends last and finds 100h, which B set: restore.
    let b = plan.record;
    assert!(matches!(
        plan_restore(&b, "100h0m0s", &[running("a", a.clone())]),
        Restore::HandOver { .. }
    ));
    let b_ended = Peer {
        running: false,
        ..running("b", b)
    };
    assert_eq!(
        plan_restore(&a, "100h0m0s", &[b_ended]),
        Restore::Set {
            value: "10m0s".into()
        }
    );
}

#[test]
fn the_earliest_raise_knows_the_original() {
    let first = raised("10m0s", "72h0m0s", "2026-03-01T08:00:00Z");
    let second = raised("72h0m0s", "80h0m0s", "2026-03-01T09:00:00Z");
    let plan = plan_raise(
        "80h0m0s",
        H72,
        None,
        &[running("second", second), running("first", first)],
        now(),
    )
    .unwrap();
    assert_eq!(plan.record.original, "10m0s");
}

#[test]
fn an_external_change_is_left_alone_and_explained() {
    let own = raised("10m0s", "72h0m0s", "2026-03-01T09:00:00Z");
    match plan_restore(&own, "200h", &[]) {
        Restore::Skip { reason } => {
            assert!(reason.contains("200h"), "{reason}");
            assert!(reason.contains("10m0s"), "{reason}");
        }
        other => panic!("expected Skip, got {other:?}"),
    }
    assert!(matches!(
        plan_restore(&own, "garbage", &[]),
        Restore::Skip { .. }
    ));
}

#[test]
fn equal_durations_in_other_spellings_count_as_what_we_set() {
    // TiDB normalises 72h to 72h0m0s; MariaDB keeps what was written.
    let own = raised("10m", "72h", "2026-03-01T09:00:00Z");
    assert_eq!(
        plan_restore(&own, "72h0m0s", &[]),
        Restore::Set {
            value: "10m".into()
        }
    );
    assert_eq!(plan_restore(&own, "10m0s", &[]), Restore::AlreadyRestored);
}

#[test]
fn a_record_written_before_a_raise_that_never_happened() {
    // The agent died between writing the record and the UPDATE: the cluster has the original.
    let own = raised("10m0s", "72h0m0s", "2026-03-01T09:00:00Z");
    assert_eq!(plan_restore(&own, "10m0s", &[]), Restore::AlreadyRestored);
    let mut done = own.clone();
    mark_restored(&mut done, now());
    assert_eq!(plan_restore(&done, "72h0m0s", &[]), Restore::Nothing);
    assert_eq!(done.restored_at, Some(Time(now())));
}

#[test]
fn peers_come_from_statuses() {
    let mut status = BackupStatus {
        gc_life_time: Some(raised("10m0s", "72h0m0s", "2026-03-01T09:00:00Z")),
        phase: Some(BackupConditionType::Running),
        ..Default::default()
    };
    let p = peer("a", Some(&status)).unwrap();
    assert!(p.running && p.holds_raise());
    status.phase = Some(BackupConditionType::Complete);
    assert!(!peer("a", Some(&status)).unwrap().holds_raise());
    status.phase = None;
    assert!(peer("a", Some(&status)).unwrap().running, "not started yet");
    status.gc_life_time = None;
    assert_eq!(peer("a", Some(&status)), None);
    assert_eq!(peer("a", None), None);
}

fn backup(ns: &str, name: &str, cluster: serde_json::Value, phase: &str) -> Backup {
    let mut b: Backup = serde_json::from_value(serde_json::json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"br": cluster, "s3": {"provider": "aws", "bucket": "bkt"}},
    }))
    .unwrap();
    b.status = Some(BackupStatus {
        gc_life_time: Some(raised("10m0s", "72h0m0s", "2026-03-01T09:00:00Z")),
        phase: Some(phase.parse().unwrap()),
        ..Default::default()
    });
    b
}

#[test]
fn peers_are_the_other_backups_of_the_same_tidb_cluster_in_any_namespace() {
    let demo1 = serde_json::json!({"cluster": "demo1", "clusterNamespace": "test1"});
    let me = backup(
        "test1",
        "me",
        serde_json::json!({"cluster": "demo1"}),
        "Failed",
    );
    let all = vec![
        me.clone(),
        backup("test1", "same-ns", demo1.clone(), "Running"),
        backup("test2", "other-ns", demo1.clone(), "Complete"),
        // The same name in another namespace is another Backup.
        backup("test2", "me", demo1, "Running"),
        backup(
            "test1",
            "other-cluster",
            serde_json::json!({"cluster": "demo2"}),
            "Running",
        ),
        backup(
            "test2",
            "default-ns",
            serde_json::json!({"cluster": "demo1"}),
            "Running",
        ),
    ];
    let cluster = ClusterRef::of(&me).unwrap();
    let found = peers(&cluster, "test1", "me", &all);
    let names: Vec<&str> = found.iter().map(|p| p.backup.as_str()).collect();
    assert_eq!(names, ["same-ns", "test2/other-ns", "test2/me"]);
    assert!(found[0].holds_raise() && !found[1].holds_raise());
    let lone = backup(
        "test1",
        "lone",
        serde_json::json!({"cluster": ""}),
        "Failed",
    );
    assert_eq!(ClusterRef::of(&lone), None);
}
