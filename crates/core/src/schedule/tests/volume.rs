//! What a VolumeBackupSchedule does differently from a BackupSchedule: its runs are
//! VolumeBackups built from the seed's template (with its misplaced `br.cleanPolicy`), its
//! names are shorter, and retention deletes one VolumeBackup at a time.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;
use tibr_api::{
    VolumeBackupCondition, VolumeBackupConditionType as V,
    federation::v1alpha1::{VolumeBackup, VolumeBackupSchedule, VolumeBackupStatus},
    pingcap::v1alpha1::CleanPolicy,
};

use super::support::{condition, deleted, event_reasons, ts, tso};
use crate::schedule::{
    ConditionType, MAX_VOLUME_SCHEDULE_NAME, Outcomes, ScheduleKind, decide, settle,
};

/// The seed's VolumeBackupSchedule, placeholders filled: `cleanPolicy` and `resources: {}`
/// under `template.br`, an empty `backup:` under the first cluster, IRSA.
fn seed(name: &str, cron: &str, max_backups: Option<i32>) -> VolumeBackupSchedule {
    let mut spec = json!({
        "schedule": cron,
        "backupTemplate": {
            "clusters": [
                {"k8sClusterName": "dp-1", "tcName": "demo1", "tcNamespace": "test1", "backup": null},
                {"k8sClusterName": "dp-2", "tcName": "demo1", "tcNamespace": "test1"},
            ],
            "template": {
                "br": {"sendCredToTikv": false, "cleanPolicy": "Delete", "resources": {}},
                "s3": {"provider": "aws", "region": "us-west-2", "bucket": "my-bucket",
                       "prefix": "vbks"},
                "serviceAccount": "tidb-backup-manager",
                "toolImage": "pingcap/br:v8.5.0",
            },
        },
    });
    if let Some(n) = max_backups {
        spec["maxBackups"] = json!(n);
    }
    serde_json::from_value(json!({
        "apiVersion": "federation.pingcap.com/v1alpha1",
        "kind": "VolumeBackupSchedule",
        "metadata": {"name": name, "namespace": "br-fed", "uid": "uid-v",
                     "creationTimestamp": "2026-12-05T10:00:00Z",
                     "labels": {"team": "db"}, "annotations": {"owner": "sre"}},
        "spec": spec,
    }))
    .unwrap()
}

fn run(s: &VolumeBackupSchedule, tick: &str) -> VolumeBackup {
    let mut v = s.build_run(ts(tick)).unwrap();
    v.metadata.creation_timestamp = Some(Time(ts(tick)));
    v
}

fn with_phase(mut v: VolumeBackup, phase: V, at: &str) -> VolumeBackup {
    let status = v.status.get_or_insert_with(VolumeBackupStatus::default);
    status.phase = Some(phase.clone());
    status.conditions.push(VolumeBackupCondition {
        type_: phase.clone(),
        status: "True".into(),
        last_transition_time: Some(Time(ts(at))),
        reason: None,
        message: None,
        observed_generation: None,
    });
    if phase == V::Complete {
        status.commit_ts = Some(tso(at));
        status.time_completed = Some(Time(ts(at)));
    }
    v
}

#[test]
fn a_tick_creates_the_volume_backup_as_tidb_names_it_with_the_misplaced_clean_policy_honoured() {
    let s = seed("vbks", "*/10 * * * *", None);
    let plan = decide(&s, &[], ts("2026-12-05T10:10:30Z"));
    let created = plan
        .create
        .as_ref()
        .expect("the 10:10 tick is due")
        .backup
        .clone();
    assert_eq!(
        created.metadata.name.as_deref(),
        Some("vbks-2026-12-05t10-10-00")
    );
    let labels = created.metadata.labels.clone().unwrap();
    assert_eq!(labels["tidb.pingcap.com/backup-schedule"], "vbks");
    assert_eq!(labels["app.kubernetes.io/instance"], "vbks");
    assert_eq!(labels["team"], "db");
    let annotations = created.metadata.annotations.clone().unwrap();
    assert_eq!(annotations["owner"], "sre");
    let owner = &created.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("VolumeBackupSchedule", "vbks", Some(true))
    );
    let template = &created.spec.template;
    assert_eq!(
        template.storage.s3.as_ref().unwrap().prefix.as_deref(),
        Some("vbks/-2026-12-05t10-10-00"),
        "TiDB's per-run part; each data plane appends -<k8sClusterName>"
    );
    assert_eq!(template.clean_policy, Some(CleanPolicy::Delete));
    assert_eq!(created.spec.clusters.len(), 2);
    assert_eq!(
        plan.status.last_backup.as_deref(),
        Some("vbks-2026-12-05t10-10-00")
    );
    assert_eq!(condition(&plan, ConditionType::Valid).0, "True");
    let note = plan
        .events
        .iter()
        .find(|e| e.reason == "MisplacedField")
        .expect("a Warning names the proper place");
    assert!(
        note.note
            .contains("spec.backupTemplate.template.cleanPolicy"),
        "{note:?}"
    );
    // The run is a VolumeBackup the federation manager accepts.
    assert!(crate::federation::validate(&created, None).is_ok());
}

#[test]
fn names_are_limited_by_the_first_data_planes_init_job() {
    let longest = "a".repeat(MAX_VOLUME_SCHEDULE_NAME);
    let s = seed(&longest, "@every 1h", None);
    let plan = decide(&s, &[], ts("2026-12-05T11:00:01Z"));
    assert_eq!(condition(&plan, ConditionType::Valid).0, "True");
    let vbk = plan.create.unwrap().backup;
    assert!(
        crate::federation::validate(&vbk, None).is_ok(),
        "its run's Jobs fit"
    );

    let s = seed(&"a".repeat(MAX_VOLUME_SCHEDULE_NAME + 1), "@every 1h", None);
    let plan = decide(&s, &[], ts("2026-12-05T11:00:01Z"));
    let (status, reason, message) = condition(&plan, ConditionType::Valid);
    assert_eq!((status, reason), ("False", "NameTooLong"));
    assert!(
        message.contains("backup-fed-<schedule>-YYYY-MM-DDtHH-MM-SS-init"),
        "{message}"
    );
    assert!(plan.create.is_none());
}

#[test]
fn a_template_without_s3_or_clusters_is_invalid_naming_the_template_field() {
    let mut s = seed("vbks", "@every 1h", None);
    s.spec.backup_template.template.storage.s3 = None;
    s.spec.backup_template.clusters.clear();
    let plan = decide(&s, &[], ts("2026-12-05T11:00:01Z"));
    let (status, reason, message) = condition(&plan, ConditionType::Valid);
    assert_eq!((status, reason), ("False", "InvalidTemplate"));
    assert!(
        message.contains("spec.backupTemplate.clusters"),
        "{message}"
    );
    assert!(
        message.contains("spec.backupTemplate.template"),
        "{message}"
    );
    assert!(plan.create.is_none());
}

#[test]
fn a_volume_backup_in_flight_holds_the_next_tick_and_is_named() {
    let s = seed("vbks", "*/10 * * * *", None);
    let running = with_phase(
        run(&s, "2026-12-05T10:10:00Z"),
        V::Running,
        "2026-12-05T10:10:01Z",
    );
    let plan = decide(&s, &[running], ts("2026-12-05T10:20:05Z"));
    assert!(plan.create.is_none());
    let (status, reason, message) = condition(&plan, ConditionType::Blocked);
    assert_eq!((status, reason), ("True", "WaitingForBackup"));
    assert!(
        message.contains("VolumeBackup vbks-2026-12-05t10-10-00"),
        "{message}"
    );

    // A failed one does not hold anything back.
    let failed = with_phase(
        run(&s, "2026-12-05T10:10:00Z"),
        V::Failed,
        "2026-12-05T10:11:00Z",
    );
    let plan = decide(&s, &[failed], ts("2026-12-05T10:20:05Z"));
    assert!(plan.create.is_some());
    assert_eq!(plan.metrics.failed, 1);
}

#[test]
fn retention_deletes_one_volume_backup_at_a_time_and_says_when_it_is_behind() {
    let s = seed("vbks", "*/10 * * * *", Some(1));
    let ticks = [
        "2026-12-05T10:10:00Z",
        "2026-12-05T10:20:00Z",
        "2026-12-05T10:30:00Z",
    ];
    let runs: Vec<VolumeBackup> = ticks
        .iter()
        .map(|t| with_phase(run(&s, t), V::Complete, t))
        .collect();
    let now = ts("2026-12-05T10:35:00Z");
    let plan = decide(&s, &runs, now);
    assert_eq!(
        deleted(&plan),
        ["vbks-2026-12-05t10-10-00"],
        "the oldest only"
    );
    let (status, reason, message) = condition(&plan, ConditionType::Retention);
    assert_eq!((status, reason), ("True", "RetentionBehind"));
    assert!(message.contains("2 VolumeBackup(s) due"), "{message}");

    // While it is being deleted, nothing else is.
    let mut first_going = runs.clone();
    first_going[0].metadata.deletion_timestamp = Some(Time(now));
    let plan = decide(&s, &first_going, now);
    assert!(deleted(&plan).is_empty());
    assert_eq!(
        condition(&plan, ConditionType::Retention).1,
        "RetentionBehind"
    );

    // Once it is gone, the next one goes, and retention is caught up.
    let plan = decide(&s, &runs[1..], now);
    assert_eq!(deleted(&plan), ["vbks-2026-12-05t10-20-00"]);
    assert_eq!(condition(&plan, ConditionType::Retention).1, "MaxBackups");
}

#[test]
fn retention_never_deletes_a_volume_backup_marked_skip_gc() {
    let s = seed("vbks", "*/10 * * * *", Some(1));
    let mut old = with_phase(
        run(&s, "2026-12-05T10:10:00Z"),
        V::Complete,
        "2026-12-05T10:10:00Z",
    );
    old.skip_gc = Some(true);
    let new = with_phase(
        run(&s, "2026-12-05T10:20:00Z"),
        V::Complete,
        "2026-12-05T10:20:00Z",
    );
    let plan = decide(&s, &[old, new], ts("2026-12-05T10:25:00Z"));
    assert!(deleted(&plan).is_empty(), "{:?}", deleted(&plan));
}

#[test]
fn events_and_status_speak_of_volume_backups() {
    let s = seed("vbks", "*/10 * * * *", None);
    let now = ts("2026-12-05T10:10:30Z");
    let plan = decide(&s, &[], now);
    let outcomes = Outcomes {
        create: Some(crate::schedule::Created::Yes),
        delete: vec![],
    };
    let settled = settle(&s, plan, &outcomes, now);
    let created = settled
        .events
        .iter()
        .find(|e| e.reason == "SuccessfulCreate")
        .unwrap();
    assert!(
        created
            .note
            .starts_with("created VolumeBackup vbks-2026-12-05t10-10-00"),
        "{created:?}"
    );
    assert_eq!(
        created.related.as_ref().map(|r| r.kind.as_str()),
        Some("VolumeBackup")
    );
    assert!(settled.status.conditions.iter().any(|c| c.type_ == "Valid"));
    assert_eq!(
        settled.status.next_backup_time.map(|t| t.0),
        Some(ts("2026-12-05T10:20:00Z"))
    );
    // The misplaced field is said with every run created.
    assert!(event_reasons(&decide(&s, &[], now)).contains(&"MisplacedField"));
}
