//! Volume-snapshot Backups in a data plane: every step of the federation's protocol as
//! TiDB's federation manager drives it, and the failures that concern one data plane.

use serde_json::{Value, json};
use tibr_api::BackupConditionType as T;

use super::*;
use crate::backup::decide::ObservedVolumes;
use crate::backup::fixtures;

/// `fed-vbk1`, as the federation manager writes it into a data plane, in `phase`.
fn member(phase: &str, resume: bool, status: Value) -> Backup {
    let mut b = fixtures::tweak(
        &fixtures::static_keys(),
        json!({"metadata": {"name": "fed-vbk1"},
               "spec": {"backupMode": "volume-snapshot", "backupType": "full", "from": null,
                        "federalVolumeBackupPhase": phase, "resumeGcSchedule": resume,
                        "volumeBackupInitJobMaxActiveSeconds": 300,
                        "s3": {"prefix": "vbk1-dp1"}}}),
    );
    if !status.is_null() {
        b.status = Some(serde_json::from_value(status).unwrap());
    }
    b
}

fn across() -> Observed {
    let mut o = observed();
    o.cluster = Some(fixtures::cluster_with(
        json!({"acrossK8s": true, "tikv": {"replicas": 1}}),
        true,
    ));
    o
}

fn conds(types: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = types
        .iter()
        .map(|(t, r)| json!({"type": t, "status": "True", "reason": r, "lastTransitionTime": "2026-03-01T11:00:00Z"}))
        .collect();
    json!({"phase": types.last().map(|t| t.0), "conditions": list})
}

fn job_named(name: &str, state: &str) -> JobInfo {
    let conditions = match state {
        "active" => json!([]),
        "failed" => {
            json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "Job was active longer than specified deadline"}])
        }
        _ => json!([{"type": "Complete", "status": "True"}]),
    };
    // A Job that started and has its pod running.
    let mut j = job(name, conditions, json!({}), &[]);
    j.started = Some(now());
    j.live_pods = i32::from(state == "active");
    j
}

fn volumes() -> ObservedVolumes {
    let pod = serde_json::from_value(json!({
        "metadata": {"name": "demo1-tikv-0", "labels": {"tidb.pingcap.com/store-id": "1"}},
        "spec": {"containers": [{"name": "tikv"}], "volumes": [
            {"name": "tikv", "persistentVolumeClaim": {"claimName": "tikv-demo1-tikv-0"}}]}
    }))
    .unwrap();
    ObservedVolumes {
        tidb_cluster: json!({"metadata": {"name": "demo1"}, "spec": {"tikv": {"replicas": 1}}}),
        tikv_pods: vec![pod],
        pvcs: vec![
            serde_json::from_value(
                json!({"metadata": {"name": "tikv-demo1-tikv-0"}, "spec": {"volumeName": "pv-0"}}),
            )
            .unwrap(),
        ],
        pvs: vec![
            serde_json::from_value(json!({"metadata": {"name": "pv-0"},
            "spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-000aaa"}}}))
            .unwrap(),
        ],
    }
}

#[test]
fn initialize_creates_the_init_job_with_its_deadline() {
    let plan = run(&member("initialize", false, Value::Null), &across());
    let job = created_job(&plan).expect("the init Job");
    assert_eq!(job.metadata.name.as_deref(), Some("backup-fed-vbk1-init"));
    let spec = job.spec.as_ref().unwrap();
    assert_eq!(spec.active_deadline_seconds, Some(300));
    assert_eq!(spec.backoff_limit, Some(0));
    let args = spec.template.spec.as_ref().unwrap().containers[0]
        .args
        .clone()
        .unwrap();
    assert!(args.contains(&"--initialize".to_string()), "{args:?}");
    assert_eq!(
        conditions(&plan),
        [cond("Scheduled", "True", "InitializeJobCreated")]
    );
}

#[test]
fn volume_snapshots_need_a_cluster_across_kubernetes_clusters() {
    let plan = run(&member("initialize", false, Value::Null), &observed());
    assert_eq!(conditions(&plan), [cond("Invalid", "True", "InvalidSpec")]);
    assert!(
        message(&plan, T::Invalid).contains(
            "spec.br.cluster: volume-snapshot backups are taken across Kubernetes clusters"
        )
    );
    let no_phase = fixtures::tweak(
        &member("initialize", false, Value::Null),
        json!({"spec": {"federalVolumeBackupPhase": null}}),
    );
    let plan = run(&no_phase, &across());
    assert!(message(&plan, T::Invalid).contains("spec.federalVolumeBackupPhase: required"));
}

#[test]
fn resuming_stops_the_init_job_and_says_so() {
    let initialized = conds(&[
        ("Scheduled", "InitializeJobCreated"),
        ("VolumeBackupInitialized", ""),
    ]);
    let mut o = across();
    o.init_job = Some(job_named("backup-fed-vbk1-init", "active"));
    // Still paused: waiting.
    let plan = run(
        &member("execute", false, initialized.clone()),
        &Observed {
            backup_job: Some(job_named("backup-fed-vbk1", "active")),
            ..o.clone()
        },
    );
    assert!(deleted_jobs(&plan).is_empty());
    // Resume asked for: the init Job goes, and the condition says GC and scheduling run again.
    let plan = run(
        &member("execute", true, initialized),
        &Observed {
            backup_job: Some(job_named("backup-fed-vbk1", "active")),
            ..o
        },
    );
    assert_eq!(deleted_jobs(&plan), ["backup-fed-vbk1-init"]);
    assert_eq!(
        conditions(&plan),
        [cond(
            "VolumeBackupInitializeComplete",
            "True",
            "GcAndSchedulingResumed"
        )]
    );
}

#[test]
fn an_init_job_that_ends_or_vanishes_early_fails_the_data_plane() {
    let initialized = conds(&[
        ("Scheduled", "InitializeJobCreated"),
        ("VolumeBackupInitialized", ""),
    ]);
    let mut o = across();
    o.init_job = Some(job_named("backup-fed-vbk1-init", "failed"));
    let plan = run(&member("initialize", false, initialized.clone()), &o);
    assert_eq!(
        conditions(&plan),
        [cond(
            "VolumeBackupInitializeFailed",
            "True",
            "InitializeJobCompletedOrFailed"
        )]
    );
    assert!(message(&plan, T::VolumeBackupInitializeFailed).contains("DeadlineExceeded"));
    o.init_job = None;
    let plan = run(&member("initialize", false, initialized), &o);
    assert_eq!(
        conditions(&plan),
        [cond(
            "VolumeBackupInitializeFailed",
            "True",
            "InitializeJobDeleted"
        )]
    );
}

#[test]
fn execute_builds_the_volume_file_then_the_job() {
    // Observed without the volumes: look again shortly.
    let plan = run(&member("execute", false, Value::Null), &across());
    assert!(plan.jobs.is_empty() && plan.requeue.is_some());
    let o = Observed {
        volumes: Some(volumes()),
        ..across()
    };
    let plan = run(&member("execute", false, Value::Null), &o);
    let cm = plan.clustermeta.as_ref().expect("the volume file");
    assert_eq!(
        cm.metadata.name.as_deref(),
        Some("backup-fed-vbk1-clustermeta")
    );
    assert!(cm.data.as_ref().unwrap()["clustermeta"].contains("vol-000aaa"));
    let job = created_job(&plan).unwrap();
    assert_eq!(job.metadata.name.as_deref(), Some("backup-fed-vbk1"));
    let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    assert!(
        pod.volumes
            .as_ref()
            .unwrap()
            .iter()
            .any(|v| v.config_map.is_some())
    );
    assert_eq!(conditions(&plan), [cond("Scheduled", "True", "JobCreated")]);
    // Volumes that are not EBS fail this data plane, named.
    let mut bad = volumes();
    bad.pvs[0] = serde_json::from_value(
        json!({"metadata": {"name": "pv-0"}, "spec": {"hostPath": {"path": "/x"}}}),
    )
    .unwrap();
    let plan = run(
        &member("execute", false, Value::Null),
        &Observed {
            volumes: Some(bad),
            ..across()
        },
    );
    assert_eq!(
        conditions(&plan),
        [cond("VolumeBackupFailed", "True", "CollectVolumesFailed")]
    );
    assert!(message(&plan, T::VolumeBackupFailed).contains("PV pv-0 is not an EBS volume"));
}

#[test]
fn an_execute_job_that_fails_unreported_fails_the_data_plane_without_retry() {
    let scheduled = conds(&[("Scheduled", "JobCreated"), ("Running", "")]);
    let o = Observed {
        backup_job: Some(job_named("backup-fed-vbk1", "failed")),
        ..across()
    };
    let plan = run(&member("execute", false, scheduled.clone()), &o);
    assert_eq!(
        conditions(&plan),
        [cond("VolumeBackupFailed", "True", "BackupJobLost")]
    );
    assert!(plan.status.new_retry.is_none());
    let plan = run(&member("execute", false, scheduled), &across());
    assert_eq!(
        conditions(&plan),
        [cond("VolumeBackupFailed", "True", "BackupJobLost")]
    );
}

#[test]
fn a_failed_data_plane_stops_its_init_job_at_once() {
    let failed = conds(&[
        ("Scheduled", "InitializeJobCreated"),
        ("VolumeBackupInitialized", ""),
        ("VolumeBackupFailed", "BackupDataToRemoteFailed"),
    ]);
    let mut o = across();
    o.init_job = Some(job_named("backup-fed-vbk1-init", "active"));
    let plan = run(&member("execute", false, failed), &o);
    assert_eq!(deleted_jobs(&plan), ["backup-fed-vbk1-init"]);
}

#[test]
fn teardown_waits_for_the_execute_job_then_completes_or_fails() {
    let done = conds(&[
        ("Scheduled", "JobCreated"),
        ("VolumeBackupSnapshotsCreated", ""),
        ("VolumeBackupComplete", ""),
    ]);
    let busy = Observed {
        backup_job: Some(job_named("backup-fed-vbk1", "active")),
        ..across()
    };
    let plan = run(&member("teardown", true, done.clone()), &busy);
    assert!(plan.status.conditions.is_empty() && plan.requeue.is_some());
    let finished = Observed {
        backup_job: Some(job_named("backup-fed-vbk1", "complete")),
        ..across()
    };
    let plan = run(&member("teardown", true, done), &finished);
    assert_eq!(
        conditions(&plan),
        [cond("Complete", "True", "VolumeBackupTornDown")]
    );
    let failed = conds(&[
        ("Scheduled", "JobCreated"),
        ("VolumeBackupFailed", "BackupDataToRemoteFailed"),
    ]);
    let plan = run(&member("teardown", true, failed), &finished);
    assert_eq!(
        conditions(&plan),
        [cond("Failed", "True", "VolumeBackupTornDown")]
    );
    assert!(message(&plan, T::Failed).contains("VolumeBackupFailed"));
    // Torn down early because another data plane failed: this one did not complete.
    let plan = run(
        &member("teardown", true, conds(&[("Scheduled", "JobCreated")])),
        &finished,
    );
    assert_eq!(
        conditions(&plan),
        [cond("Failed", "True", "VolumeBackupTornDown")]
    );
}

#[test]
fn deleting_a_member_stops_both_its_jobs_first() {
    let running = conds(&[
        ("Scheduled", "InitializeJobCreated"),
        ("VolumeBackupInitialized", ""),
    ]);
    let mut b = member("execute", false, running);
    b = fixtures::tweak(
        &b,
        json!({"metadata": {"deletionTimestamp": NOW,
        "finalizers": ["tidb.pingcap.com/backup-protection"]}, "spec": {"cleanPolicy": "Delete"}}),
    );
    let o = Observed {
        init_job: Some(job_named("backup-fed-vbk1-init", "active")),
        backup_job: Some(job_named("backup-fed-vbk1", "active")),
        ..across()
    };
    let plan = run(&b, &o);
    let mut stopped = deleted_jobs(&plan);
    stopped.sort();
    assert_eq!(stopped, ["backup-fed-vbk1", "backup-fed-vbk1-init"]);
    assert!(
        plan.finalizer.is_none(),
        "the data is dealt with once both are gone"
    );
}

#[test]
fn teardown_records_how_the_pause_ended_before_it_completes() {
    let snapshotted = conds(&[
        ("Scheduled", "InitializeJobCreated"),
        ("VolumeBackupInitialized", ""),
        ("Scheduled", "JobCreated"),
        ("VolumeBackupSnapshotsCreated", ""),
        ("VolumeBackupComplete", ""),
    ]);
    let mut o = Observed {
        backup_job: Some(job_named("backup-fed-vbk1", "complete")),
        ..across()
    };
    // The init Job hit its deadline on its own: the pause may have ended before every
    // snapshot was requested, so this data plane fails, even though resuming was asked.
    o.init_job = Some(job_named("backup-fed-vbk1-init", "failed"));
    let plan = run(&member("teardown", true, snapshotted.clone()), &o);
    assert_eq!(
        conditions(&plan),
        [cond(
            "VolumeBackupInitializeFailed",
            "True",
            "InitializeJobCompletedOrFailed"
        )]
    );
    assert!(
        plan.requeue.is_some(),
        "the end is decided on the next pass"
    );
    // Still holding the pause: stopped now, recorded as the resume.
    o.init_job = Some(job_named("backup-fed-vbk1-init", "active"));
    let plan = run(&member("teardown", true, snapshotted), &o);
    assert_eq!(deleted_jobs(&plan), ["backup-fed-vbk1-init"]);
    assert_eq!(
        conditions(&plan),
        [cond(
            "VolumeBackupInitializeComplete",
            "True",
            "GcAndSchedulingResumed"
        )]
    );
}

#[test]
fn an_init_job_whose_pod_was_refused_then_came_is_remembered_as_the_init_job() {
    let refused = conds(&[("Scheduled", "FailedCreate")]);
    let mut o = across();
    o.init_job = Some(job_named("backup-fed-vbk1-init", "active"));
    let plan = run(&member("initialize", false, refused), &o);
    assert_eq!(
        conditions(&plan),
        [cond("Scheduled", "True", "InitializeJobCreated")],
        "the reason deciding whether an init Job ever ran"
    );
}
