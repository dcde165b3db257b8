//! Every YAML of the users' two documents reads into our types and writes back the same:
//! no field lost, renamed or added.

use tibr_api::seeds;

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use tibr_api::{
    federation::v1alpha1::{VolumeBackup, VolumeBackupSchedule, VolumeBackupStatus},
    pingcap::v1alpha1::{
        Backup, BackupMode, BackupSchedule, BackupSpec, BackupType, CleanPolicy, S3Provider,
    },
};

fn dir() -> std::path::PathBuf {
    seeds::seeds_dir()
}

/// Parses `value` as `T`, and checks that writing it back gives `value` (nulls aside).
fn round_trip<T: Serialize + DeserializeOwned>(what: &str, value: &Value) -> T {
    let typed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{what} does not read into our type: {e}\n{value:#}"));
    let back = serde_json::to_value(&typed).unwrap();
    let expected = seeds::without_nulls(value);
    assert_eq!(
        back, expected,
        "{what} does not survive a round trip through our type"
    );
    typed
}

#[test]
fn every_manifest_round_trips_through_its_type() {
    let manifests = seeds::manifests(&dir());
    let mut kinds: Vec<String> = Vec::new();
    for block in &manifests {
        let value = block.value();
        let what = block.to_string();
        let kind = block.kind().unwrap();
        match kind.as_str() {
            "Backup" => drop(round_trip::<Backup>(&what, &value)),
            "BackupSchedule" => drop(round_trip::<BackupSchedule>(&what, &value)),
            "VolumeBackup" => drop(round_trip::<VolumeBackup>(&what, &value)),
            "VolumeBackupSchedule" => drop(round_trip::<VolumeBackupSchedule>(&what, &value)),
            other => panic!("{what}: unexpected kind {other}"),
        }
        kinds.push(kind);
    }
    kinds.sort();
    // Three credential variants of each ad-hoc and scheduled kind, one volume schedule.
    assert_eq!(
        kinds,
        [
            "Backup",
            "Backup",
            "Backup",
            "BackupSchedule",
            "BackupSchedule",
            "BackupSchedule",
            "VolumeBackup",
            "VolumeBackup",
            "VolumeBackup",
            "VolumeBackupSchedule",
        ]
    );
}

#[test]
fn fragments_round_trip_too() {
    let fragments: Vec<_> = seeds::blocks(&dir())
        .into_iter()
        .filter(|b| b.kind().is_none())
        .collect();
    assert_eq!(fragments.len(), 2, "{fragments:?}");
    for block in fragments {
        let value = block.value();
        if let Some(status) = value.get("status") {
            let status: VolumeBackupStatus = round_trip(&block.to_string(), status);
            assert_eq!(status.backups.len(), 2);
            assert_eq!(
                status.backups[0].backup_path.as_deref(),
                Some("s3://my-bucket/vbk-demo-dp-1")
            );
        } else {
            let spec: BackupSpec = round_trip(&block.to_string(), &value);
            assert_eq!(spec.table_filter, ["*.*", "!db.table"]);
        }
    }
}

#[test]
fn the_values_land_in_the_right_fields() {
    let manifests = seeds::manifests(&dir());
    let of_kind = |kind: &str| -> Vec<Value> {
        manifests
            .iter()
            .filter(|b| b.kind().as_deref() == Some(kind))
            .map(seeds::Block::value)
            .collect()
    };
    let backup: Backup = serde_json::from_value(of_kind("Backup")[0].clone()).unwrap();
    assert_eq!(backup.metadata.name.as_deref(), Some("demo1-backup-s3"));
    assert_eq!(backup.spec.backup_type, Some(BackupType::Full));
    let from = backup.spec.from.as_ref().unwrap();
    assert_eq!(
        (from.host.as_str(), from.port, from.secret_name.as_str()),
        ("demo1-tidb", Some(4000), "backup-demo1-tidb-secret")
    );
    let s3 = backup.spec.storage.s3.as_ref().unwrap();
    assert_eq!(s3.provider, S3Provider::Aws);
    assert_eq!(s3.secret_name.as_deref(), Some("s3-secret"));
    assert_eq!(backup.spec.br.as_ref().unwrap().cluster, "demo1");
    // Unset fields take TiDB Operator's defaults when read through the helpers.
    assert_eq!(backup.spec.mode(), BackupMode::Snapshot);
    assert_eq!(backup.spec.clean_policy(), CleanPolicy::Retain);

    let irsa_schedule = of_kind("BackupSchedule")
        .into_iter()
        .map(|v| serde_json::from_value::<BackupSchedule>(v).unwrap())
        .find(|s| s.spec.service_account.is_some())
        .expect("the IRSA schedule sets spec.serviceAccount");
    assert_eq!(irsa_schedule.spec.schedule, "*/2 * * * *");
    assert_eq!(irsa_schedule.spec.max_reserved_time.as_deref(), Some("3h"));

    let vbks: VolumeBackupSchedule =
        serde_json::from_value(of_kind("VolumeBackupSchedule")[0].clone()).unwrap();
    let template = &vbks.spec.backup_template;
    assert_eq!(
        template.clusters.len(),
        2,
        "the `- ...` item is not a cluster"
    );
    let br = template.template.br.as_ref().unwrap();
    assert_eq!(br.clean_policy, Some(CleanPolicy::Delete));
    assert_eq!(br.send_cred_to_tikv, Some(false));
    assert_eq!(
        template.template.clean_policy, None,
        "the misplaced policy is not moved"
    );
}

#[test]
fn placeholders_are_all_filled() {
    for block in seeds::blocks(&dir()) {
        assert!(
            !block.text.contains("${"),
            "{block}: placeholder left\n{}",
            block.text
        );
        assert!(!block.text.contains("- ..."), "{block}: ellipsis item left");
    }
    assert_eq!(
        seeds::fill("port: ${tidb_port}\nname: fed-{backup-name}-{k8s-name1}\nr: {}\n"),
        "port: 4000\nname: fed-vbk-demo-dp-1\nr: {}\n"
    );
}
