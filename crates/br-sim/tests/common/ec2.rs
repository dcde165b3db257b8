//! TiKV nodes in moto's EC2: an instance (with its boot volume) per store, the store's
//! volumes attached to it, optionally one more data volume that is not TiKV's; the volume
//! file TiDB Operator would write for them; and snapshot counts read through `tibr-ebs`.

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};
use tibr_ebs::{Cloud, CloudConfig, Keys};
use tibr_storage::testing::Moto;

pub const REGION: &str = "us-east-1";
pub const ZONE: &str = "us-east-1a";

/// One TiKV's instance and volumes.
#[derive(Debug, Clone)]
pub struct Node {
    pub store_id: u64,
    pub instance: String,
    pub boot: String,
    /// The store's volumes, data dir first (as TiDB Operator lists them).
    pub volumes: Vec<String>,
    /// A data volume on the same instance the volume file does not list.
    pub other: Option<String>,
}

pub fn client(moto: &Moto) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(Credentials::new(
            Moto::ACCESS_KEY,
            Moto::SECRET_KEY,
            None,
            None,
            "moto",
        ))
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

/// The agent's view of EC2, for counting snapshots.
pub async fn cloud(moto: &Moto) -> Cloud {
    Cloud::from_config(&CloudConfig {
        region: Some(REGION.into()),
        ec2_endpoint: Some(moto.endpoint.clone()),
        ebs_endpoint: Some(moto.endpoint.clone()),
        keys: Some(Keys {
            access_key_id: Moto::ACCESS_KEY.into(),
            secret_access_key: Moto::SECRET_KEY.into(),
            session_token: None,
        }),
    })
    .await
}

async fn volume(ec2: &aws_sdk_ec2::Client, size: i32) -> String {
    ec2.create_volume()
        .availability_zone(ZONE)
        .size(size)
        .send()
        .await
        .expect("CreateVolume")
        .volume_id()
        .unwrap()
        .to_string()
}

/// `stores` instances with `per_store` volumes each (10 GiB data, 5 GiB the others); the
/// first instance also gets an unlisted 7 GiB data volume when `other` is set.
pub async fn seed(
    ec2: &aws_sdk_ec2::Client,
    stores: usize,
    per_store: usize,
    other: bool,
) -> Vec<Node> {
    let mut nodes = Vec::new();
    for index in 0..stores {
        let run = ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .min_count(1)
            .max_count(1)
            .placement(
                aws_sdk_ec2::types::Placement::builder()
                    .availability_zone(ZONE)
                    .build(),
            )
            .send()
            .await
            .expect("RunInstances");
        let instance = run.instances()[0].instance_id().unwrap().to_string();
        let described = ec2
            .describe_instances()
            .instance_ids(&instance)
            .send()
            .await
            .expect("DescribeInstances");
        let found = &described.reservations()[0].instances()[0];
        let root = found.root_device_name().unwrap().to_string();
        let boot = found
            .block_device_mappings()
            .iter()
            .find(|m| m.device_name() == Some(root.as_str()))
            .and_then(|m| m.ebs()?.volume_id())
            .expect("a boot volume")
            .to_string();
        let mut volumes = Vec::new();
        let devices = ["/dev/sdf", "/dev/sdg", "/dev/sdh", "/dev/sdi"];
        for (k, device) in devices.iter().take(per_store).enumerate() {
            let id = volume(ec2, if k == 0 { 10 } else { 5 }).await;
            ec2.attach_volume()
                .volume_id(&id)
                .instance_id(&instance)
                .device(*device)
                .send()
                .await
                .expect("AttachVolume");
            volumes.push(id);
        }
        let other = if other && index == 0 {
            let id = volume(ec2, 7).await;
            ec2.attach_volume()
                .volume_id(&id)
                .instance_id(&instance)
                .device("/dev/sdz")
                .send()
                .await
                .expect("AttachVolume");
            Some(id)
        } else {
            None
        };
        nodes.push(Node {
            store_id: [1, 4, 5, 6][index % 4] + 10 * (index as u64 / 4),
            instance,
            boot,
            volumes,
            other,
        });
    }
    nodes
}

/// What TiDB Operator writes as `clustermeta` for these nodes (keys in its order, with
/// `mount_path`, and pass-through objects whose keys are deliberately unsorted).
pub fn volume_file(nodes: &[Node]) -> Value {
    let kinds = ["storage.data-dir", "raft-engine.dir", "rocksdb.wal-dir"];
    let mounts = ["/var/lib/tikv", "/var/lib/raft", "/var/lib/wal"];
    let stores: Vec<Value> = nodes
        .iter()
        .map(|n| {
            let volumes: Vec<Value> = n
                .volumes
                .iter()
                .enumerate()
                .map(|(k, v)| {
                    json!({"volume_id": v, "type": kinds[k % 3], "mount_path": mounts[k % 3],
                           "snapshot_id": "", "restore_volume_id": ""})
                })
                .collect();
            json!({"store_id": n.store_id, "volumes": volumes})
        })
        .collect();
    let pvs: Vec<Value> = nodes
        .iter()
        .flat_map(|n| &n.volumes)
        .map(|v| {
            json!({"spec": {"csi": {"volumeHandle": v, "driver": "ebs.csi.aws.com"}},
                   "metadata": {"name": format!("pvc-{v}"),
                                "annotations": {"temporary/volume-id": v}}})
        })
        .collect();
    json!({
        "tikv": {"replicas": nodes.len(), "stores": stores},
        "pd": {"replicas": 3},
        "tidb": {"replicas": 2},
        "kubernetes": {
            "pvcs": [{"spec": {"volumeName": "pvc-x"}, "metadata": {"name": "tikv-demo1-tikv-0"}}],
            "pvs": pvs,
            "crd_tidb_cluster": {"spec": {"tikv": {"replicas": nodes.len()}},
                                 "kind": "TidbCluster", "apiVersion": "pingcap.com/v1alpha1"},
            "options": null
        },
        "options": null
    })
}

/// Every snapshot EC2 holds of `volumes`.
pub async fn snapshots_of(cloud: &Cloud, volumes: &[String]) -> Vec<tibr_ebs::SnapshotInfo> {
    let mut all = Vec::new();
    for volume in volumes {
        all.extend(
            cloud
                .completed_snapshots_of(volume)
                .await
                .expect("DescribeSnapshots"),
        );
    }
    all
}

/// Every volume of `nodes`, boot and unlisted ones included.
pub fn all_volumes(nodes: &[Node]) -> Vec<String> {
    nodes
        .iter()
        .flat_map(|n| {
            std::iter::once(n.boot.clone())
                .chain(n.volumes.iter().cloned())
                .chain(n.other.iter().cloned())
        })
        .collect()
}

/// Best effort: the snapshots of `nodes`' volumes and their instances go (moto is shared by
/// every suite on the machine).
pub async fn clean(ec2: &aws_sdk_ec2::Client, cloud: &Cloud, nodes: &[Node]) {
    for snapshot in snapshots_of(cloud, &all_volumes(nodes)).await {
        let _ = cloud.delete_snapshot(&snapshot.snapshot_id).await;
    }
    let ids: Vec<String> = nodes.iter().map(|n| n.instance.clone()).collect();
    let _ = ec2
        .terminate_instances()
        .set_instance_ids(Some(ids))
        .send()
        .await;
}
