//! The member Backup, field for field as TiDB's manager writes it.

use serde_json::json;

use super::*;
use crate::federation::{member::member_prefix, member_name};

fn cluster(i: usize) -> MemberCluster {
    MemberCluster::from_spec(&vbk().spec.clusters[i])
}

#[test]
fn the_initialize_member_carries_the_template_and_the_init_deadline() {
    let b = member_backup(&vbk(), &cluster(0), Phase::Initialize);
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!(v["metadata"]["name"], "fed-vbk1");
    assert_eq!(v["metadata"]["namespace"], "ns1");
    assert_eq!(
        v["metadata"]["annotations"],
        json!({"iam.amazonaws.com/role": "arn:aws:iam::123456789012:role/backup"})
    );
    assert_eq!(v["metadata"]["labels"], json!({"team": "db"}));
    let spec = &v["spec"];
    assert_eq!(spec["backupMode"], "volume-snapshot");
    assert_eq!(spec["backupType"], "full");
    assert_eq!(spec["federalVolumeBackupPhase"], "initialize");
    assert_eq!(spec["volumeBackupInitJobMaxActiveSeconds"], 300);
    assert_eq!(
        spec["br"],
        json!({"cluster": "tc1", "clusterNamespace": "ns1", "concurrency": 8,
               "sendCredToTikv": false, "options": ["--log-level=debug"]})
    );
    assert_eq!(
        spec["s3"],
        json!({"provider": "aws", "region": "us-west-2", "bucket": "my-bucket",
               "prefix": "daily/vbk1-k8s1"})
    );
    assert_eq!(spec["cleanOption"], json!({"snapshotsDeleteRatio": 0.5}));
    for (field, value) in [
        ("toolImage", json!("pingcap/br:v8.5.0")),
        ("cleanPolicy", json!("Delete")),
        ("calcSizeLevel", json!("full")),
        ("priorityClassName", json!("backup-critical")),
        ("serviceAccount", json!("tidb-backup-manager")),
    ] {
        assert_eq!(spec[field], value, "{field}");
    }
    assert!(spec.get("resumeGcSchedule").is_none());
    assert!(v.get("status").is_none());
}

#[test]
fn execute_members_get_their_own_prefix_and_no_init_deadline() {
    for i in [1, 2] {
        let b = member_backup(&vbk(), &cluster(i), Phase::Execute);
        let k8s = &cluster(i).k8s_cluster_name;
        assert_eq!(
            b.metadata.namespace.as_deref(),
            Some(cluster(i).tc_namespace.as_str())
        );
        assert_eq!(
            b.spec.storage.s3.as_ref().unwrap().prefix.as_deref(),
            Some(format!("daily/vbk1-{k8s}").as_str())
        );
        assert_eq!(b.spec.volume_backup_init_job_max_active_seconds, None);
        assert_eq!(b.spec.br.as_ref().unwrap().cluster, cluster(i).tc_name);
    }
}

#[test]
fn every_template_field_reaches_the_member() {
    let v = vbk().tweak(json!({"spec": {"template": {
        "resources": {"limits": {"cpu": "1"}},
        "env": [{"name": "AWS_REGION", "value": "us-east-1"}],
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "imagePullSecrets": [{"name": "regcred"}],
        "automountServiceAccountToken": false,
        "additionalVolumes": [{"name": "extra", "emptyDir": {}}],
        "additionalVolumeMounts": [{"name": "extra", "mountPath": "/extra"}],
        "br": {"checkRequirements": false}
    }}}));
    let b = serde_json::to_value(member_backup(&v, &cluster(1), Phase::Execute)).unwrap();
    let spec = &b["spec"];
    assert_eq!(spec["resources"], json!({"limits": {"cpu": "1"}}));
    assert_eq!(spec["env"][0]["name"], "AWS_REGION");
    assert_eq!(spec["tolerations"][0]["key"], "dedicated");
    assert_eq!(spec["imagePullSecrets"][0]["name"], "regcred");
    assert_eq!(spec["automountServiceAccountToken"], false);
    assert_eq!(spec["additionalVolumes"][0]["name"], "extra");
    assert_eq!(spec["additionalVolumeMounts"][0]["mountPath"], "/extra");
    assert_eq!(spec["br"]["checkRequirements"], false);
}

#[test]
fn a_bare_template_leaves_the_data_planes_defaults() {
    let v = vbk().tweak(json!({"spec": {"template": {
        "br": null, "snapshotsDeleteRatio": null, "volumeBackupInitJobMaxActiveSeconds": null,
        "calcSizeLevel": null, "cleanPolicy": null
    }}}));
    let b = member_backup(&v, &cluster(0), Phase::Initialize);
    assert_eq!(b.spec.clean_option, None);
    assert_eq!(b.spec.volume_backup_init_job_max_active_seconds, None);
    assert_eq!(b.spec.clean_policy, None);
    let br = b.spec.br.unwrap();
    assert_eq!(
        (br.cluster.as_str(), br.cluster_namespace.as_deref()),
        ("tc1", Some("ns1"))
    );
    assert_eq!(br.concurrency, None);
}

#[test]
fn names_and_prefixes_are_tidbs() {
    // PR #5418 dropped the cluster from the name; the prefix keeps it, joined as text.
    assert_eq!(member_name("vbk1"), "fed-vbk1");
    assert_eq!(member_prefix("daily/vbk1", "k8s1"), "daily/vbk1-k8s1");
    assert_eq!(member_prefix("", "k8s1"), "-k8s1");
    assert_eq!(
        member_prefix("sched/-2026-05-01t00-00-00", "k8s2"),
        "sched/-2026-05-01t00-00-00-k8s2",
        "a schedule's run directory"
    );
}
