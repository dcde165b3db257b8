use serde_json::json;
use tibr_api::{Backup, BackupSchedule};

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn backup_with(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
        "metadata": {"name": name, "namespace": "test1", "generation": 3},
        "spec": spec,
    })
}

fn too_much_concurrency() -> Unreadable {
    read::<Backup>(backup_with(
        "bad",
        json!({"br": {"cluster": "demo1", "concurrency": 99_999_999_999u64}}),
    ))
    .unwrap_err()
}

#[test]
fn the_field_at_fault_is_named() {
    let why = too_much_concurrency();
    assert_eq!(why.field, "spec.br.concurrency");
    assert!(
        why.problem.contains("99999999999") && why.problem.contains("u32"),
        "{why}"
    );
    assert!(
        why.to_string().starts_with("spec.br.concurrency: "),
        "{why}"
    );

    // Inside a list, and inside a Kubernetes type.
    let why = read::<Backup>(backup_with(
        "bad",
        json!({"additionalVolumes": [{"name": "v", "secret": {"defaultMode": 1_099_511_627_776u64}}]}),
    ))
    .unwrap_err();
    assert_eq!(why.field, "spec.additionalVolumes[0].secret.defaultMode");

    let why = read::<BackupSchedule>(json!({
        "metadata": {"name": "s"},
        "spec": {"schedule": "0 * * * *", "maxBackups": 4_294_967_296u64,
                 "backupTemplate": {"br": {"cluster": "demo1"}}},
    }))
    .unwrap_err();
    assert_eq!(why.field, "spec.maxBackups");
}

#[test]
fn one_bad_object_does_not_hide_the_others() {
    let good = backup_with("good", json!({"br": {"cluster": "demo1"}}));
    let bad = backup_with(
        "bad",
        json!({"br": {"cluster": "demo1", "concurrency": -1}}),
    );
    let (read_ok, skipped) = read_each::<Backup>([bad, good]);
    let names: Vec<_> = read_ok
        .iter()
        .map(|b| b.metadata.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["good"]);
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        (skipped[0].namespace.as_str(), skipped[0].name.as_str()),
        ("test1", "bad")
    );
    assert_eq!(skipped[0].why.field, "spec.br.concurrency");
}

#[test]
fn an_unreadable_backup_is_marked_invalid_keeping_its_conditions() {
    let why = too_much_concurrency();
    let stored = json!({
        "phase": "Running",
        "backupPath": "s3://b/p",
        "conditions": [{"type": "Running", "status": "True",
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}],
    });
    let now = ts("2026-01-02T00:00:00Z");
    let patch = backup_status(Some(&stored), Some(3), &why, now).unwrap();
    assert_eq!(patch["phase"], "Invalid");
    let conditions = patch["conditions"].as_array().unwrap();
    assert_eq!(conditions.len(), 2, "{patch}");
    assert_eq!(conditions[0]["type"], "Running");
    let invalid = &conditions[1];
    assert_eq!(invalid["type"], "Invalid");
    assert_eq!(invalid["status"], "True");
    assert_eq!(invalid["reason"], "InvalidObject");
    assert_eq!(invalid["observedGeneration"], 3);
    assert!(
        invalid["message"]
            .as_str()
            .unwrap()
            .starts_with("spec.br.concurrency: "),
        "{invalid}"
    );
    // Only phase and conditions are written: the rest of the status stays as it is.
    assert!(patch.get("backupPath").is_none());

    // Once written, nothing more to write; a later edit (still unreadable) is recorded.
    let mut after = stored.clone();
    after["phase"] = patch["phase"].clone();
    after["conditions"] = patch["conditions"].clone();
    assert_eq!(backup_status(Some(&after), Some(3), &why, now), None);
    let edited = backup_status(Some(&after), Some(4), &why, now).unwrap();
    assert_eq!(edited["conditions"][1]["observedGeneration"], 4);

    // No status yet.
    let fresh = backup_status(None, Some(1), &why, now).unwrap();
    assert_eq!(fresh["conditions"].as_array().unwrap().len(), 1);
}

#[test]
fn conditions_that_cannot_be_read_are_replaced() {
    let why = too_much_concurrency();
    let stored = json!({"backupSize": "huge", "conditions": [{"type": 7}]});
    let patch = backup_status(Some(&stored), Some(1), &why, ts("2026-01-02T00:00:00Z")).unwrap();
    let conditions = patch["conditions"].as_array().unwrap();
    assert_eq!(conditions.len(), 1);
    assert_eq!(conditions[0]["type"], "Invalid");
}

#[test]
fn an_unreadable_schedule_is_not_valid_and_has_no_next_backup() {
    let why = Unreadable {
        field: "spec.maxBackups".into(),
        problem: "invalid value: integer `4294967296`, expected i32".into(),
    };
    let stored = json!({
        "lastBackup": "s-2026-01-01t00-00-00",
        "nextBackupTime": "2026-01-02T01:00:00Z",
        "conditions": [
            {"type": "Valid", "status": "True", "reason": "Valid", "message": "ok",
             "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1},
            {"type": "Paused", "status": "False", "reason": "NotPaused", "message": "",
             "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1},
        ],
    });
    let now = ts("2026-01-02T00:00:00Z");
    let patch = schedule_status(Some(&stored), Some(2), &why, now).unwrap();
    assert_eq!(patch["nextBackupTime"], Value::Null);
    let conditions = patch["conditions"].as_array().unwrap();
    assert_eq!(conditions.len(), 2);
    let valid = &conditions[0];
    assert_eq!(
        (&valid["status"], &valid["reason"]),
        (&json!("False"), &json!("InvalidObject"))
    );
    assert_eq!(
        valid["message"],
        "spec.maxBackups: invalid value: integer `4294967296`, expected i32"
    );
    assert_eq!(valid["lastTransitionTime"], "2026-01-02T00:00:00Z");
    assert_eq!(conditions[1]["type"], "Paused");

    let mut after = stored.clone();
    after["conditions"] = patch["conditions"].clone();
    after.as_object_mut().unwrap().remove("nextBackupTime");
    assert_eq!(schedule_status(Some(&after), Some(2), &why, now), None);
}
