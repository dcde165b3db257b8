//! Names from ticks, per-run prefixes, and the Backup a tick creates.

use k8s_openapi::api::core::v1::LocalObjectReference;
use tibr_api::pingcap::v1alpha1::{GcsStorageProvider, StorageProvider};

use super::support::*;
use crate::schedule::{
    MAX_SCHEDULE_NAME, TICK_ANNOTATION, backup_name, build_backup, check_name, run_directory,
    stamp, tick_from_name, tick_of,
};
use crate::storage::join_prefix;

#[test]
fn names_come_from_the_tick_in_utc() {
    let tick = ts("2024-03-08T02:45:00Z");
    assert_eq!(stamp(tick), "2024-03-08t02-45-00");
    assert_eq!(backup_name("s3sched", tick), "s3sched-2024-03-08t02-45-00");
    // A tick of a schedule in another zone is still named in UTC.
    assert_eq!(
        backup_name("nightly", ts("2026-03-08T07:00:00Z")),
        "nightly-2026-03-08t07-00-00"
    );
}

#[test]
fn names_read_back_to_their_tick() {
    let tick = ts("2026-11-01T05:30:00Z");
    assert_eq!(tick_from_name("a-b", &backup_name("a-b", tick)), Some(tick));
    // Another schedule whose name extends ours is not ours.
    assert_eq!(tick_from_name("a", "a-b-2026-11-01t05-30-00"), None);
    for bad in [
        "a-2026-11-01T05-30-00",
        "a-2026-11-01t05:30:00",
        "a-2026-13-01t05-30-00",
        "a-2026-11-01t05-30-0",
        "a-2026-11-01t05-30-000",
        "a",
        "log-a",
    ] {
        assert_eq!(tick_from_name("a", bad), None, "{bad}");
    }
}

#[test]
fn the_tick_annotation_wins_over_the_name() {
    let s = schedule("sched", "*/2 * * * *", "2026-11-21T07:00:00Z");
    let mut b = run(&s, "2026-11-21T07:02:00Z");
    assert_eq!(
        tick_of("sched", &b.metadata),
        Some(ts("2026-11-21T07:02:00Z"))
    );
    b.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(TICK_ANNOTATION.into(), "2026-11-21T07:04:00Z".into());
    assert_eq!(
        tick_of("sched", &b.metadata),
        Some(ts("2026-11-21T07:04:00Z"))
    );
    b.metadata.annotations = None;
    assert_eq!(
        tick_of("sched", &b.metadata),
        Some(ts("2026-11-21T07:02:00Z"))
    );
}

#[test]
fn per_run_directory_and_go_path_join() {
    let tick = ts("2024-03-08T02:45:00Z");
    assert_eq!(
        run_directory("demo1", "test1", tick),
        "demo1-pd.test1-2379-2024-03-08t02-45-00"
    );
    // Nothing is resolved: a template prefix with `.` or `..` is refused before any tick.
    let cases = [
        ("my-folder", "d", "my-folder/d"),
        ("", "d", "d"),
        ("my-folder/", "d", "my-folder/d"),
        ("/abs/x/", "d", "abs/x/d"),
    ];
    for (base, child, want) in cases {
        assert_eq!(join_prefix(base, child), want, "{base:?} + {child:?}");
    }
}

#[test]
fn long_names_are_refused_before_any_job_fails() {
    assert_eq!(MAX_SCHEDULE_NAME, 36);
    assert!(check_name(&"a".repeat(36)).is_ok());
    let err = check_name(&"a".repeat(37)).unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.reason),
        ("metadata.name", "NameTooLong")
    );
    assert!(
        err.message.contains("37 characters; at most 36"),
        "{}",
        err.message
    );
    // The longest accepted name gives a Job name of exactly 63 characters.
    let job = format!(
        "backup-{}",
        backup_name(&"a".repeat(36), ts("2026-01-01T00:00:00Z"))
    );
    assert_eq!(job.len(), 63);
}

#[test]
fn the_backup_of_a_tick_like_the_seed() {
    let s = schedule(
        "demo1-backup-schedule-s3",
        "*/2 * * * *",
        "2026-11-21T07:00:00Z",
    )
    .labelled("team", "dba")
    .labelled("app.kubernetes.io/name", "mine")
    .labelled("tidb.pingcap.com/backup-schedule", "spoofed");
    let mut s = s;
    let annotations = s.metadata.annotations.get_or_insert_with(Default::default);
    annotations.insert(
        "iam.amazonaws.com/role".into(),
        "arn:aws:iam::123456789012:role/user".into(),
    );
    annotations.insert(
        "kubectl.kubernetes.io/last-applied-configuration".into(),
        "{...}".into(),
    );
    let tick = ts("2026-11-21T07:02:00Z");
    let b = build_backup(&s, tick).unwrap();

    assert_eq!(
        b.metadata.name.as_deref(),
        Some("demo1-backup-schedule-s3-2026-11-21t07-02-00")
    );
    assert_eq!(b.metadata.namespace.as_deref(), Some("test1"));
    let labels = b.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["app.kubernetes.io/name"], "backup-schedule");
    assert_eq!(
        labels["app.kubernetes.io/managed-by"],
        "backup-schedule-operator"
    );
    assert_eq!(
        labels["app.kubernetes.io/instance"],
        "demo1-backup-schedule-s3"
    );
    assert_eq!(
        labels["tidb.pingcap.com/backup-schedule"],
        "demo1-backup-schedule-s3"
    );
    assert_eq!(labels["team"], "dba");
    let annotations = b.metadata.annotations.as_ref().unwrap();
    assert_eq!(
        annotations["iam.amazonaws.com/role"],
        "arn:aws:iam::123456789012:role/user"
    );
    assert_eq!(annotations[TICK_ANNOTATION], "2026-11-21T07:02:00Z");
    assert!(!annotations.contains_key("kubectl.kubernetes.io/last-applied-configuration"));
    let owner = &b.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.uid.as_str(),
            owner.controller,
            owner.block_owner_deletion
        ),
        (
            "pingcap.com/v1alpha1",
            "BackupSchedule",
            "demo1-backup-schedule-s3",
            "uid-1",
            Some(true),
            Some(true)
        )
    );
    let s3 = b.spec.storage.s3.as_ref().unwrap();
    assert_eq!(
        s3.prefix.as_deref(),
        Some("my-folder/demo1-pd.test1-2379-2026-11-21t07-02-00")
    );
    assert_eq!(s3.bucket.as_deref(), Some("my-bucket"));
    assert!(b.status.is_none());
    // Everything else is the template.
    assert_eq!(b.spec.br, s.spec.backup_template.br);
}

#[test]
fn template_fill_ins() {
    let base = schedule("sched", "@daily", "2026-11-21T07:00:00Z");
    let tick = ts("2026-11-22T00:00:00Z");

    // The cluster namespace defaults to the schedule's namespace.
    let s = base.clone().edit(|spec| {
        spec.backup_template.br.as_mut().unwrap().cluster_namespace = None;
        spec.backup_template.storage.s3.as_mut().unwrap().prefix = None;
    });
    let b = build_backup(&s, tick).unwrap();
    assert_eq!(
        b.spec.storage.s3.unwrap().prefix.as_deref(),
        Some("demo1-pd.test1-2379-2026-11-22t00-00-00")
    );

    // The schedule's ServiceAccount (the seed's IRSA variant) is the fallback...
    let s = base
        .clone()
        .edit(|spec| spec.service_account = Some("tidb-backup-manager-irsa".into()));
    let b = build_backup(&s, tick).unwrap();
    assert_eq!(
        b.spec.service_account.as_deref(),
        Some("tidb-backup-manager-irsa")
    );
    // ...the template's own wins.
    let s = s.edit(|spec| spec.backup_template.service_account = Some("own".into()));
    assert_eq!(
        build_backup(&s, tick)
            .unwrap()
            .spec
            .service_account
            .as_deref(),
        Some("own")
    );

    // The schedule's image pull Secrets replace the template's.
    let secret = |n: &str| LocalObjectReference { name: n.into() };
    let s = base.clone().edit(|spec| {
        spec.backup_template.image_pull_secrets = vec![secret("template")];
        spec.image_pull_secrets = vec![secret("schedule")];
    });
    assert_eq!(
        build_backup(&s, tick).unwrap().spec.image_pull_secrets,
        vec![secret("schedule")]
    );

    // GCS gets the sub-directory when it is the storage in use.
    let s = base.clone().edit(|spec| {
        spec.backup_template.storage = StorageProvider {
            gcs: Some(GcsStorageProvider {
                project_id: "p".into(),
                location: None,
                path: None,
                bucket: Some("b".into()),
                storage_class: None,
                object_acl: None,
                bucket_acl: None,
                secret_name: None,
                prefix: Some("backups".into()),
            }),
            ..StorageProvider::default()
        }
    });
    assert_eq!(
        build_backup(&s, tick)
            .unwrap()
            .spec
            .storage
            .gcs
            .unwrap()
            .prefix
            .as_deref(),
        Some("backups/demo1-pd.test1-2379-2026-11-22t00-00-00")
    );

    // Dumpling templates (no `br`) get no sub-directory but a volume size.
    let s = base.clone().edit(|spec| spec.backup_template.br = None);
    let b = build_backup(&s, tick).unwrap();
    assert_eq!(
        b.spec.storage.s3.unwrap().prefix.as_deref(),
        Some("my-folder")
    );
    assert_eq!(b.spec.storage_size.as_deref(), Some("100Gi"));
    let s = s.edit(|spec| {
        spec.storage_size = Some("20Gi".into());
        spec.storage_class_name = Some("fast".into());
    });
    let b = build_backup(&s, tick).unwrap();
    assert_eq!(b.spec.storage_size.as_deref(), Some("20Gi"));
    assert_eq!(b.spec.storage_class_name.as_deref(), Some("fast"));

    // No uid, no owner reference: refused rather than orphaned.
    let mut s = base;
    s.metadata.uid = None;
    assert_eq!(build_backup(&s, tick).unwrap_err().field, "metadata.uid");
}
