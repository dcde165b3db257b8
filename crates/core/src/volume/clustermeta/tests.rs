use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use serde_json::{Value, json};

use super::*;

fn tc() -> Value {
    json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "TidbCluster",
        "metadata": {"name": "demo1", "namespace": "test1"},
        "spec": {
            "acrossK8s": true,
            "pd": {"replicas": 3}, "tidb": {"replicas": 2},
            "tikv": {
                "replicas": 2,
                "storageVolumes": [{"name": "raft", "mountPath": "/var/lib/raft", "storageSize": "10Gi"}],
                "config": "[raft-engine]\ndir = \"/var/lib/raft\"\n[storage]\nreserve-space = \"0MB\"\n"
            }
        },
        "status": {"tikv": {"stores": {"1": {"id": "1"}, "4": {"id": "4"}},
                            "peerStores": {"7": {"id": "7"}, "8": {"id": "8"}}}}
    })
}

fn pod(i: u32, store: u32) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": format!("demo1-tikv-{i}"), "labels": {"tidb.pingcap.com/store-id": store.to_string()}},
        "spec": {"containers": [{"name": "tikv"}], "volumes": [
            {"name": "tikv", "persistentVolumeClaim": {"claimName": format!("tikv-demo1-tikv-{i}")}},
            {"name": "tikv-raft", "persistentVolumeClaim": {"claimName": format!("tikv-raft-demo1-tikv-{i}")}}
        ]}
    }))
    .unwrap()
}

fn pvc(name: &str, pv: &str) -> PersistentVolumeClaim {
    serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"volumeName": pv}})).unwrap()
}

fn csi_pv(name: &str, handle: &str) -> PersistentVolume {
    serde_json::from_value(json!({"metadata": {"name": name},
        "spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": handle}}}))
    .unwrap()
}

fn objects() -> (Vec<Pod>, Vec<PersistentVolumeClaim>, Vec<PersistentVolume>) {
    let pods = vec![pod(0, 1), pod(1, 4)];
    let mut pvcs = Vec::new();
    let mut pvs = Vec::new();
    for i in 0..2 {
        pvcs.push(pvc(
            &format!("tikv-demo1-tikv-{i}"),
            &format!("pv-data-{i}"),
        ));
        pvcs.push(pvc(
            &format!("tikv-raft-demo1-tikv-{i}"),
            &format!("pv-raft-{i}"),
        ));
        pvs.push(csi_pv(&format!("pv-data-{i}"), &format!("vol-0d{i}")));
    }
    // One raft volume through the in-tree plugin, with its zone in the id.
    pvs.push(csi_pv("pv-raft-0", "vol-0r0"));
    pvs.push(
        serde_json::from_value(json!({"metadata": {"name": "pv-raft-1"},
            "spec": {"awsElasticBlockStore": {"volumeID": "aws://us-west-2a/vol-0r1"}}}))
        .unwrap(),
    );
    (pods, pvcs, pvs)
}

#[test]
fn stores_volumes_and_pass_through_as_tidb_operator_writes_them() {
    let tc = tc();
    let (pods, pvcs, pvs) = objects();
    let meta = build(ClusterObjects {
        tidb_cluster: &tc,
        tikv_pods: &pods,
        pvcs: &pvcs,
        pvs: &pvs,
    })
    .unwrap();
    assert_eq!(
        meta.tikv.replicas, 4,
        "local and peer stores: the whole cluster"
    );
    assert_eq!((meta.pd.replicas, meta.tidb.replicas), (3, 2));
    let store_ids: Vec<u64> = meta.tikv.stores.iter().map(|s| s.store_id).collect();
    assert_eq!(store_ids, [1, 4]);
    let first = &meta.tikv.stores[0].volumes;
    assert_eq!(
        first
            .iter()
            .map(|v| (v.volume_id.as_str(), v.kind.as_str()))
            .collect::<Vec<_>>(),
        [
            ("vol-0d0", "storage.data-dir"),
            ("vol-0r0", "raft-engine.dir")
        ]
    );
    assert_eq!(
        meta.tikv.stores[1].volumes[1].volume_id, "vol-0r1",
        "zone prefix dropped"
    );
    assert_eq!(first[1].mount_path.as_deref(), Some("/var/lib/raft"));
    let k = &meta.kubernetes;
    assert_eq!(k["crd_tidb_cluster"]["metadata"]["name"], "demo1");
    assert_eq!(k["pvs"].as_array().unwrap().len(), 4);
    assert_eq!(
        k["pvs"][0]["metadata"]["annotations"]["temporary/volume-id"],
        "vol-0d0"
    );
    assert!(k["options"].is_null() && meta.options.is_null());
    // BR's key order: tikv first, cluster_info absent until BR adds it.
    let text = serde_json::to_string(&meta).unwrap();
    assert!(text.starts_with("{\"tikv\":{\"replicas\":4"), "{text}");
}

#[test]
fn config_as_an_object_names_extra_volumes_too() {
    let mut tc = tc();
    tc["spec"]["tikv"]["config"] = json!({"raft-engine": {"dir": "/var/lib/raft/"}});
    let (pods, pvcs, pvs) = objects();
    let meta = build(ClusterObjects {
        tidb_cluster: &tc,
        tikv_pods: &pods,
        pvcs: &pvcs,
        pvs: &pvs,
    })
    .unwrap();
    assert_eq!(meta.tikv.stores[0].volumes[1].kind, "raft-engine.dir");
}

#[test]
fn volumes_that_are_not_ebs_are_refused_by_name() {
    let tc = tc();
    let (pods, pvcs, mut pvs) = objects();
    pvs[0] = serde_json::from_value(json!({"metadata": {"name": "pv-data-0"},
        "spec": {"csi": {"driver": "pd.csi.storage.gke.io", "volumeHandle": "projects/p/zones/z/disks/d"}}}))
    .unwrap();
    pvs.pop();
    let problems = build(ClusterObjects {
        tidb_cluster: &tc,
        tikv_pods: &pods,
        pvcs: &pvcs,
        pvs: &pvs,
    })
    .unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("PV pv-data-0 is provisioned by CSI driver pd.csi.storage.gke.io")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("tikv-raft-demo1-tikv-1")),
        "{problems:?}"
    );
    let none = build(ClusterObjects {
        tidb_cluster: &tc,
        tikv_pods: &[],
        pvcs: &pvcs,
        pvs: &pvs,
    })
    .unwrap_err();
    assert!(none[0].contains("no TiKV pod"), "{none:?}");
}
