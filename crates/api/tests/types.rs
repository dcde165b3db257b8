//! Behaviour of the types beyond their shape: tolerant vocabularies, effective defaults,
//! the TidbCluster helpers and the hand-written VolumeBackup root.

use kube::{CustomResourceExt, Resource};
use serde_json::{Value, json};
use tibr_api::{
    BackupConditionType, ConditionStatus, LogSubCommandType, VolumeBackupConditionType,
    constants::annotations,
    federation::v1alpha1::{VolumeBackup, VolumeBackupSpec},
    pingcap::v1alpha1::{
        Backup, BackupMode, BackupStatus, BackupType, CalcSizeLevel, CleanOption, CleanPolicy,
        GcLifeTimeRecord, TidbCluster,
    },
};

fn backup_yaml(spec: &str) -> Backup {
    let yaml = format!(
        "apiVersion: pingcap.com/v1alpha1\nkind: Backup\nmetadata: {{name: b, namespace: test1}}\nspec:\n{spec}"
    );
    yaml_serde::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

#[test]
fn clean_policy_accepts_any_string_and_unknown_means_retain() {
    let cases = [
        ("Delete", CleanPolicy::Delete, CleanPolicy::Delete),
        ("OnFailure", CleanPolicy::OnFailure, CleanPolicy::OnFailure),
        ("Retain", CleanPolicy::Retain, CleanPolicy::Retain),
        (
            "Whatever",
            CleanPolicy::Other("Whatever".into()),
            CleanPolicy::Retain,
        ),
    ];
    for (value, parsed, effective) in cases {
        let backup = backup_yaml(&format!(
            "  cleanPolicy: {value}\n  br: {{cluster: demo1}}\n"
        ));
        assert_eq!(backup.spec.clean_policy, Some(parsed), "{value}");
        assert_eq!(backup.spec.clean_policy(), effective, "{value}");
        // Written back exactly as given.
        let json = serde_json::to_value(&backup).unwrap();
        assert_eq!(json["spec"]["cleanPolicy"], value);
    }
    assert_eq!(
        backup_yaml("  br: {cluster: x}\n").spec.clean_policy(),
        CleanPolicy::Retain
    );
}

#[test]
fn an_empty_string_reads_as_the_default() {
    // What a Helm template renders for a value left unset; TiDB Operator reads it as unset.
    let backup = backup_yaml(
        "  backupMode: \"\"\n  backupType: \"\"\n  cleanPolicy: \"\"\n  calcSizeLevel: \"\"\n  br: {cluster: demo1}\n",
    );
    assert_eq!(backup.spec.backup_mode, Some(BackupMode::Snapshot));
    assert_eq!(backup.spec.mode(), BackupMode::Snapshot);
    assert_eq!(backup.spec.backup_type, Some(BackupType::Full));
    assert_eq!(backup.spec.clean_policy, Some(CleanPolicy::Retain));
    // Without a default, "" is a value like any other: no size is computed.
    assert_eq!(
        backup.spec.calc_size_level,
        Some(CalcSizeLevel::Other(String::new()))
    );
    let vbk: VolumeBackup = serde_json::from_value(json!({
        "apiVersion": "federation.pingcap.com/v1alpha1", "kind": "VolumeBackup",
        "metadata": {"name": "v"},
        "spec": {"template": {"cleanPolicy": ""}},
    }))
    .unwrap();
    assert_eq!(vbk.spec.template.clean_policy, Some(CleanPolicy::Retain));
}

#[test]
fn unknown_values_survive_a_round_trip() {
    let backup = backup_yaml(
        "  backupMode: hourly\n  backupType: incremental\n  s3: {provider: minio, bucket: b}\n",
    );
    assert_eq!(
        backup.spec.backup_mode,
        Some(BackupMode::Other("hourly".into()))
    );
    assert!(!backup.spec.mode().is_known());
    let json = serde_json::to_value(&backup).unwrap();
    assert_eq!(json["spec"]["backupMode"], "hourly");
    assert_eq!(json["spec"]["backupType"], "incremental");
    assert_eq!(json["spec"]["s3"]["provider"], "minio");

    // A condition type from a newer TiDB Operator does not break reading a status.
    let status: BackupStatus = serde_json::from_value(json!({
        "phase": "SomethingNew",
        "conditions": [{"type": "SomethingNew", "status": "True", "lastTransitionTime": null}],
    }))
    .unwrap();
    assert_eq!(
        status.phase,
        Some(BackupConditionType::Other("SomethingNew".into()))
    );
    assert!(status.conditions[0].is_true());
}

#[test]
fn vocabularies_use_tidb_operators_strings() {
    let strings: Vec<&str> = BackupConditionType::KNOWN
        .iter()
        .map(|t| t.as_str())
        .collect();
    for phase in [
        "Scheduled",
        "Prepare",
        "Running",
        "Complete",
        "Failed",
        "RetryFailed",
        "Invalid",
        "Restart",
        "Clean",
        "CleanFailed",
        "Paused",
        "Stopped",
        "Repeatable",
        "VolumeBackupInitialized",
        "VolumeBackupInitializeFailed",
        "VolumeBackupSnapshotsCreated",
        "VolumeBackupInitializeComplete",
        "VolumeBackupComplete",
        "VolumeBackupFailed",
    ] {
        assert!(strings.contains(&phase), "{phase}");
        assert_eq!(BackupConditionType::from(phase).as_str(), phase);
    }
    assert_eq!(strings.len(), 19);
    let volume: Vec<&str> = VolumeBackupConditionType::KNOWN
        .iter()
        .map(|t| t.as_str())
        .collect();
    assert_eq!(
        volume,
        [
            "Invalid",
            "Running",
            "SnapshotsCreated",
            "Complete",
            "Failed",
            "Cleaned",
            "CleanFailed"
        ]
    );
    assert_eq!(LogSubCommandType::Truncate.to_string(), "log-truncate");
    assert_eq!(
        serde_json::to_value(BackupMode::VolumeSnapshot).unwrap(),
        json!("volume-snapshot")
    );
    assert_eq!(
        "False".parse::<ConditionStatus>().unwrap(),
        ConditionStatus::False
    );
}

#[test]
fn log_sub_command_statuses_are_keyed_by_subcommand() {
    let status: BackupStatus = serde_json::from_value(json!({
        "logSubCommandStatuses": {
            "log-start": {"command": "log-start", "phase": "Complete"},
            "log-truncate": {"logTruncatingUntil": "400036290571534337"},
        }
    }))
    .unwrap();
    let start = &status.log_sub_command_statuses[&LogSubCommandType::Start];
    assert_eq!(start.phase, Some(BackupConditionType::Complete));
    assert_eq!(
        status.log_sub_command_statuses[&LogSubCommandType::Truncate]
            .log_truncating_until
            .as_deref(),
        Some("400036290571534337")
    );
}

#[test]
fn gc_life_time_record_says_when_a_restore_is_owed() {
    let raised = GcLifeTimeRecord {
        original: "10m".into(),
        raised_to: Some("72h".into()),
        ..Default::default()
    };
    assert!(raised.needs_restore());
    let restored = GcLifeTimeRecord {
        restored: true,
        ..raised.clone()
    };
    assert!(!restored.needs_restore());
    let untouched = GcLifeTimeRecord {
        original: "100h".into(),
        ..Default::default()
    };
    assert!(!untouched.needs_restore());
    let json = serde_json::to_value(&raised).unwrap();
    assert_eq!(
        json,
        json!({"original": "10m", "raisedTo": "72h", "restored": false})
    );
}

#[test]
fn clean_option_falls_back_to_tidb_defaults() {
    let unset = CleanOption::default();
    assert_eq!(
        (
            unset.page_size(),
            unset.retry_count(),
            unset.batch_concurrency(),
            unset.routine_concurrency()
        ),
        (10_000, 5, 10, 100)
    );
    let set = CleanOption {
        page_size: Some(500),
        retry_count: Some(0),
        batch_concurrency: Some(3),
        ..Default::default()
    };
    assert_eq!(
        (set.page_size(), set.retry_count(), set.batch_concurrency()),
        (500, 5, 3)
    );
}

fn tc(value: Value) -> TidbCluster {
    serde_json::from_value(value).unwrap()
}

#[test]
fn tidbcluster_reads_a_full_manifest_and_resolves_tikv_image() {
    // A TiDB Operator manifest, with fields these types do not model.
    let full = tc(json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "TidbCluster",
        "metadata": {"name": "demo1", "namespace": "test1"},
        "spec": {
            "version": "v8.5.0", "timezone": "UTC", "pvReclaimPolicy": "Retain",
            "pd": {"baseImage": "pingcap/pd", "replicas": 3, "requests": {"storage": "1Gi"}},
            "tikv": {"baseImage": "pingcap/tikv", "replicas": 3, "config": {}},
            "tidb": {"baseImage": "pingcap/tidb", "replicas": 2, "service": {"type": "ClusterIP"}},
        },
        "status": {"clusterID": "7", "conditions": [
            {"type": "Ready", "status": "True", "reason": "Ready", "lastUpdateTime": null}
        ]},
    }));
    assert_eq!(full.tikv_image().as_deref(), Some("pingcap/tikv:v8.5.0"));
    assert_eq!(full.tikv_version().as_deref(), Some("v8.5.0"));
    assert!(full.is_ready());
    assert_eq!(
        full.pd_client_address().as_deref(),
        Some("demo1-pd.test1:2379")
    );
    assert!(!full.is_tls_cluster_enabled() && !full.tidb_client_tls() && !full.across_k8s());

    let cases = [
        // Component version wins over the cluster's.
        (
            json!({"version": "v7.5.0", "tikv": {"baseImage": "reg/tikv", "version": "v8.1.0"}}),
            Some("reg/tikv:v8.1.0"),
            Some("v8.1.0"),
        ),
        // No version anywhere: the bare base image, whose version reads as latest.
        (
            json!({"tikv": {"baseImage": "pingcap/tikv"}}),
            Some("pingcap/tikv"),
            Some("latest"),
        ),
        // The deprecated full image, used when there is no base image.
        (
            json!({"tikv": {"image": "pingcap/tikv:v4.0.7"}}),
            Some("pingcap/tikv:v4.0.7"),
            Some("v4.0.7"),
        ),
        // No TiKV component at all.
        (json!({"version": "v8.5.0"}), None, None),
    ];
    for (spec, image, version) in cases {
        let c = tc(json!({"metadata": {"name": "c"}, "spec": spec}));
        assert_eq!(c.tikv_image().as_deref(), image, "{spec}");
        assert_eq!(c.tikv_version().as_deref(), version, "{spec}");
    }
}

#[test]
fn tidbcluster_tls_settings() {
    let mut c = tc(json!({
        "metadata": {"name": "c", "namespace": "n"},
        "spec": {
            "tlsCluster": {"enabled": true},
            "acrossK8s": true,
            "tidb": {"tlsClient": {"enabled": true, "skipInternalClientCA": true}},
        },
        "status": {"conditions": [{"type": "Ready", "status": "False"}],
                   "tikv": {"stores": {"1": {"id": "1"}}, "peerStores": {"4": {"id": "4"}}}},
    }));
    assert!(c.is_tls_cluster_enabled());
    assert!(c.tidb_client_tls());
    assert!(c.skip_tidb_client_ca());
    assert!(c.across_k8s());
    assert!(!c.is_ready());
    assert_eq!(c.tikv_store_count(), 2);
    // The annotation switches client TLS off whatever its value.
    c.meta_mut()
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            annotations::SKIP_TLS_WHEN_CONNECT_TIDB.into(),
            String::new(),
        );
    assert!(c.skip_tls_when_connect_tidb());
    assert!(!c.tidb_client_tls());
}

#[test]
fn volume_backup_root_carries_skip_gc_beside_spec() {
    let vbk: VolumeBackup = serde_json::from_value(json!({
        "apiVersion": "federation.pingcap.com/v1alpha1", "kind": "VolumeBackup",
        "metadata": {"name": "v"},
        "skipGC": true,
        "spec": {"clusters": [{"k8sClusterName": "dp-1", "tcName": "basic"}]},
    }))
    .unwrap();
    assert!(vbk.skips_gc());
    let back = serde_json::to_value(&vbk).unwrap();
    assert_eq!(back["apiVersion"], "federation.pingcap.com/v1alpha1");
    assert_eq!(back["kind"], "VolumeBackup");
    assert_eq!(back["skipGC"], true);
    assert_eq!(back["spec"]["clusters"][0]["k8sClusterName"], "dp-1");

    assert_eq!(VolumeBackup::plural(&()), "volumebackups");
    assert_eq!(VolumeBackup::group(&()), "federation.pingcap.com");
    assert_eq!(
        VolumeBackup::crd_name(),
        "volumebackups.federation.pingcap.com"
    );
    assert_eq!(VolumeBackup::shortnames(), ["vbk"]);
    assert_eq!(
        VolumeBackup::url_path(&(), Some("ns")),
        "/apis/federation.pingcap.com/v1alpha1/namespaces/ns/volumebackups"
    );
    let fresh = VolumeBackup::new("x", VolumeBackupSpec::default());
    assert!(!fresh.skips_gc());
    assert!(
        serde_json::to_value(&fresh)
            .unwrap()
            .get("skipGC")
            .is_none()
    );
}
