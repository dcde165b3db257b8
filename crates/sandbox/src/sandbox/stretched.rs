//! One TiDB cluster stretched over the data planes of a multi-cluster sandbox, as TiDB
//! Operator shows such a cluster: in every data plane, `TidbCluster test1/demo1` with
//! `acrossK8s: true`, its TiKV pods (each with its store id), their PVCs and the PVs behind
//! them, whose EBS CSI handles name volumes of the embedded EC2; the stores of the other
//! planes are the TidbCluster's peer stores.
//!
//! Each store has two volumes, its data volume and a raft-engine volume (a
//! `storageVolumes` entry), so a snapshot request covers several volumes of one instance.
//! Nothing runs in the TiKV pods: they are bound to the store's EC2 instance as their node,
//! which no job runner serves, and carry a `Running` status.

use serde_json::{Value, json};
use tibr_tidb_sim::tidb_cluster::{NAME, NAMESPACE};

/// Where the raft-engine volume is mounted, and so what TiKV's `raft-engine.dir` says.
pub const RAFT_MOUNT: &str = "/var/lib/raft";
/// The extra storage volume's name (pod volume `tikv-raft`).
const RAFT_VOLUME: &str = "raft";

/// One TiKV store and what it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub id: u64,
    /// Its ordinal in its data plane: pod `demo1-tikv-<ordinal>`.
    pub ordinal: usize,
    /// The EC2 instance (the pod's node is its private DNS name).
    pub instance_id: String,
    pub node: String,
    pub data_volume: String,
    pub raft_volume: String,
}

impl Store {
    pub fn pod(&self) -> String {
        format!("{NAME}-tikv-{}", self.ordinal)
    }

    fn claim(&self, volume: &str) -> String {
        format!("{volume}-{}", self.pod())
    }
}

/// One data plane's stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plane {
    pub cluster: String,
    pub stores: Vec<Store>,
}

/// The objects of `plane` (TidbCluster first), the stores of `peers` being the other planes'.
pub fn objects(plane: &Plane, peers: &[&Store], version: &str, now: &str) -> Vec<Value> {
    let mut out = vec![tidb_cluster(plane, peers, version, now)];
    for store in &plane.stores {
        for (pod_volume, volume_id, size) in [
            ("tikv", &store.data_volume, "100Gi"),
            ("tikv-raft", &store.raft_volume, "10Gi"),
        ] {
            let claim = store.claim(pod_volume);
            let pv = format!("pv-{}-{volume_id}", plane.cluster);
            out.push(json!({
                "apiVersion": "v1", "kind": "PersistentVolume",
                "metadata": {"name": pv, "labels": labels(Some(store))},
                "spec": {
                    "capacity": {"storage": size},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "ebs-gp3",
                    "claimRef": {"namespace": NAMESPACE, "name": claim},
                    "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": volume_id, "fsType": "ext4"},
                },
                "status": {"phase": "Bound"},
            }));
            out.push(json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim, "namespace": NAMESPACE, "labels": labels(Some(store))},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "ebs-gp3",
                    "resources": {"requests": {"storage": size}},
                    "volumeName": pv,
                },
                "status": {"phase": "Bound", "capacity": {"storage": size}},
            }));
        }
        out.push(pod(store, version, now));
    }
    out
}

fn labels(store: Option<&Store>) -> Value {
    let mut l = json!({
        "app.kubernetes.io/name": "tidb-cluster",
        "app.kubernetes.io/managed-by": "tidb-operator",
        "app.kubernetes.io/instance": NAME,
        "app.kubernetes.io/component": "tikv",
    });
    if let Some(s) = store {
        l["tidb.pingcap.com/store-id"] = json!(s.id.to_string());
    }
    l
}

fn pod(store: &Store, version: &str, now: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": store.pod(), "namespace": NAMESPACE, "labels": labels(Some(store))},
        "spec": {
            "nodeName": store.node,
            "containers": [{
                "name": "tikv",
                "image": format!("pingcap/tikv:{version}"),
                "volumeMounts": [
                    {"name": "tikv", "mountPath": "/var/lib/tikv"},
                    {"name": "tikv-raft", "mountPath": RAFT_MOUNT},
                ],
            }],
            "volumes": [
                {"name": "tikv", "persistentVolumeClaim": {"claimName": store.claim("tikv")}},
                {"name": "tikv-raft", "persistentVolumeClaim": {"claimName": store.claim("tikv-raft")}},
            ],
        },
        "status": {
            "phase": "Running",
            "startTime": now,
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
            "containerStatuses": [{
                "name": "tikv", "ready": true, "restartCount": 0, "started": true,
                "image": format!("pingcap/tikv:{version}"), "imageID": "",
                "state": {"running": {"startedAt": now}},
            }],
        },
    })
}

fn store_status(store: &Store, now: &str) -> (String, Value) {
    (
        store.id.to_string(),
        json!({"id": store.id.to_string(), "podName": store.pod(),
               "ip": format!("{}.{NAME}-tikv-peer.{NAMESPACE}.svc", store.pod()),
               "state": "Up", "leaderCount": 10, "lastTransitionTime": now}),
    )
}

fn tidb_cluster(plane: &Plane, peers: &[&Store], version: &str, now: &str) -> Value {
    let mut tc = tibr_tidb_sim::tidb_cluster::object(version, now);
    tc["spec"]["acrossK8s"] = json!(true);
    let tikv = &mut tc["spec"]["tikv"];
    tikv["replicas"] = json!(plane.stores.len());
    tikv["storageVolumes"] =
        json!([{"name": RAFT_VOLUME, "storageSize": "10Gi", "mountPath": RAFT_MOUNT}]);
    tikv["config"] = json!(format!("[raft-engine]\ndir = \"{RAFT_MOUNT}\"\n"));
    let local: serde_json::Map<String, Value> =
        plane.stores.iter().map(|s| store_status(s, now)).collect();
    let peer: serde_json::Map<String, Value> = peers.iter().map(|s| store_status(s, now)).collect();
    tc["status"]["tikv"]["stores"] = Value::Object(local);
    tc["status"]["tikv"]["peerStores"] = Value::Object(peer);
    tc
}

/// TiKV stores per data plane.
pub const STORES_PER_PLANE: usize = 2;

/// Creates the stretched cluster over `planes` (each with the TidbCluster CRD): an EC2
/// instance per store with its two volumes (some blocks written, so sizes are not zero),
/// then each plane's objects as `manager`. Returns the planes as created.
pub fn create(
    ec2: &tibr_cloud_sim::ec2::Ec2,
    planes: &[&kube_emulator::RunningCluster],
    manager: &str,
    version: &str,
) -> anyhow::Result<Vec<Plane>> {
    use anyhow::Context;
    use tibr_cloud_sim::ec2::{InstanceSpec, VolumeSpec};

    let mut built = Vec::new();
    for (p, cluster) in planes.iter().enumerate() {
        let zone = ec2.zone(char::from(b'a' + (p % 3) as u8));
        let mut stores = Vec::new();
        for ordinal in 0..STORES_PER_PLANE {
            let id = (p * STORES_PER_PLANE + ordinal + 1) as u64;
            let instance_id = ec2
                .run_instance(InstanceSpec::new(&zone))
                .map_err(|e| anyhow::anyhow!("an instance for TiKV store {id}: {e}"))?;
            let pod = format!("{NAME}-tikv-{ordinal}");
            let volume = |pod_volume: &str, size: i32, device: &str, blocks: u64| {
                let claim = format!("{pod_volume}-{pod}");
                let mut spec = VolumeSpec::new(&zone, size);
                // The EBS CSI driver's tags, which BR copies to the snapshots.
                for (k, v) in [
                    ("kubernetes.io/created-for/pvc/name", claim.as_str()),
                    ("kubernetes.io/created-for/pvc/namespace", NAMESPACE),
                    ("ebs.csi.aws.com/cluster", "true"),
                ] {
                    spec.tags.insert(k.to_string(), v.to_string());
                }
                let id = ec2
                    .create_volume(spec)
                    .map_err(|e| anyhow::anyhow!("volume {claim}: {e}"))?;
                ec2.attach_volume(&id, &instance_id, device)
                    .map_err(|e| anyhow::anyhow!("attaching {id}: {e}"))?;
                ec2.write_blocks(&id, 0..blocks)
                    .map_err(|e| anyhow::anyhow!("writing to {id}: {e}"))?;
                anyhow::Ok(id)
            };
            let data_volume = volume("tikv", 100, "/dev/xvdba", 48)?;
            let raft_volume = volume("tikv-raft", 10, "/dev/xvdbb", 12)?;
            stores.push(Store {
                id,
                ordinal,
                node: format!(
                    "ip-10-0-{p}-{ordinal}.{}.compute.internal",
                    tibr_cloud_sim::s3::REGION
                ),
                instance_id,
                data_volume,
                raft_volume,
            });
        }
        built.push(Plane {
            cluster: cluster.name().to_string(),
            stores,
        });
    }
    let now = kube_emulator::timestamp_now();
    for (plane, cluster) in built.iter().zip(planes) {
        let peers: Vec<&Store> = built
            .iter()
            .filter(|other| other.cluster != plane.cluster)
            .flat_map(|other| &other.stores)
            .collect();
        let mut objects = objects(plane, &peers, version, &now);
        let tc = objects.remove(0);
        cluster
            .install_with_status(manager, tc)
            .with_context(|| format!("TidbCluster {NAMESPACE}/{NAME} in {}", plane.cluster))?;
        for object in objects {
            let what = format!(
                "{} {} in {}",
                object["kind"].as_str().unwrap_or_default(),
                object["metadata"]["name"].as_str().unwrap_or_default(),
                plane.cluster
            );
            cluster.install_with_status(manager, object).context(what)?;
        }
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
    use tibr_core::volume::{ClusterObjects, build_clustermeta};

    fn store(id: u64, ordinal: usize) -> Store {
        Store {
            id,
            ordinal,
            instance_id: format!("i-{id:017}"),
            node: format!("ip-10-0-0-{id}.ec2.internal"),
            data_volume: format!("vol-{id:017}"),
            raft_volume: format!("vol-{:017}", id + 100),
        }
    }

    /// The operator builds the volume file from these objects exactly as from a real data
    /// plane: every store with both volumes, peers counted in `tikv.replicas`.
    #[test]
    fn the_volume_file_builds_from_a_plane() {
        let plane = Plane {
            cluster: "dp-1".into(),
            stores: vec![store(1, 0), store(2, 1)],
        };
        let peer = store(3, 0);
        let objects = objects(&plane, &[&peer], "v8.5.0", "2026-12-05T00:00:00Z");
        let of = |kind: &str| -> Vec<Value> {
            objects
                .iter()
                .filter(|o| o["kind"] == kind)
                .cloned()
                .collect()
        };
        let pods: Vec<Pod> = of("Pod")
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap())
            .collect();
        let pvcs: Vec<PersistentVolumeClaim> = of("PersistentVolumeClaim")
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap())
            .collect();
        let pvs: Vec<PersistentVolume> = of("PersistentVolume")
            .into_iter()
            .map(|v| serde_json::from_value(v).unwrap())
            .collect();
        let tc = &of("TidbCluster")[0];
        let meta = build_clustermeta(ClusterObjects {
            tidb_cluster: tc,
            tikv_pods: &pods,
            pvcs: &pvcs,
            pvs: &pvs,
        })
        .unwrap();
        assert_eq!(meta.tikv.replicas, 3);
        assert_eq!(meta.tikv.stores.len(), 2);
        let kinds: Vec<(&str, &str)> = meta.tikv.stores[0]
            .volumes
            .iter()
            .map(|v| (v.volume_id.as_str(), v.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("vol-00000000000000001", "storage.data-dir"),
                ("vol-00000000000000101", "raft-engine.dir")
            ]
        );
    }
}
