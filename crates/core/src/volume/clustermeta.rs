//! The volume file a data plane hands BR (`clustermeta`): each TiKV store of this
//! Kubernetes cluster with its EBS volumes, found from the TiKV pods through their PVCs and
//! PVs, and the objects a restore needs (PVCs, PVs, the TidbCluster) passed through.
//!
//! A store's volumes are its data volume (pod volume `tikv`, TiKV's `storage.data-dir`) and
//! one per `spec.tikv.storageVolumes[]` entry (pod volume `tikv-<name>`), whose kind is the
//! TiKV setting that points at its mount path (`raft-engine.dir`, say). A PV names its EBS
//! volume through the EBS CSI driver's handle or the in-tree `awsElasticBlockStore`; any
//! other volume cannot be snapshotted this way, and the document is refused naming it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use serde_json::{Value, json};

use super::meta::{Replicas, Store, Tikv, Volume, VolumeMeta};

/// The EBS CSI driver's name.
pub const EBS_CSI_DRIVER: &str = "ebs.csi.aws.com";
/// Where TiKV's data volume is mounted, and the setting it holds.
pub const DATA_DIR_MOUNT: &str = "/var/lib/tikv";
pub const DATA_DIR_KIND: &str = "storage.data-dir";
/// The pod label carrying a TiKV pod's store id.
pub const STORE_ID_LABEL: &str = "tidb.pingcap.com/store-id";
/// The annotation each PV carries in the document, so a restore maps volume ids back to PVs.
pub const VOLUME_ID_ANNOTATION: &str = "temporary/volume-id";

/// What the document is built from, as observed.
#[derive(Debug, Clone, Copy)]
pub struct ClusterObjects<'a> {
    /// The TidbCluster as stored (all of it: it is passed through for restores).
    pub tidb_cluster: &'a Value,
    /// This cluster's TiKV pods.
    pub tikv_pods: &'a [Pod],
    pub pvcs: &'a [PersistentVolumeClaim],
    pub pvs: &'a [PersistentVolume],
}

/// The volume file for `objects`, or every reason it cannot be built.
pub fn build(objects: ClusterObjects<'_>) -> Result<VolumeMeta, Vec<String>> {
    let tc = objects.tidb_cluster;
    let mut problems = Vec::new();
    if objects.tikv_pods.is_empty() {
        problems.push("no TiKV pod found in this Kubernetes cluster".to_string());
    }
    let extra: Vec<(String, String)> = tc["spec"]["tikv"]["storageVolumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let name = v["name"].as_str()?;
            let mount = v["mountPath"].as_str().unwrap_or_default();
            Some((format!("tikv-{name}"), mount.to_string()))
        })
        .collect();
    let settings = tikv_settings(&tc["spec"]["tikv"]["config"]);
    let pvcs: BTreeMap<&str, &PersistentVolumeClaim> = objects
        .pvcs
        .iter()
        .filter_map(|c| Some((c.metadata.name.as_deref()?, c)))
        .collect();
    let pvs: BTreeMap<&str, &PersistentVolume> = objects
        .pvs
        .iter()
        .filter_map(|v| Some((v.metadata.name.as_deref()?, v)))
        .collect();

    let mut stores = Vec::new();
    let mut used_pvcs = Vec::new();
    let mut used_pvs = Vec::new();
    for pod in objects.tikv_pods {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let store_id = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(STORE_ID_LABEL))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let wanted = std::iter::once(("tikv".to_string(), DATA_DIR_MOUNT.to_string()))
            .chain(extra.iter().cloned());
        let mut volumes = Vec::new();
        for (pod_volume, mount) in wanted {
            let claim = pod
                .spec
                .iter()
                .flat_map(|s| s.volumes.iter().flatten())
                .find(|v| v.name == pod_volume)
                .and_then(|v| v.persistent_volume_claim.as_ref())
                .map(|c| c.claim_name.as_str());
            let Some(claim) = claim else {
                problems.push(format!(
                    "pod {pod_name} has no volume {pod_volume} backed by a PVC"
                ));
                continue;
            };
            let Some(pvc) = pvcs.get(claim) else {
                problems.push(format!("PVC {claim} of pod {pod_name} not found"));
                continue;
            };
            let pv_name = pvc
                .spec
                .as_ref()
                .and_then(|s| s.volume_name.as_deref())
                .unwrap_or_default();
            let Some(pv) = pvs.get(pv_name) else {
                problems.push(format!(
                    "PVC {claim} of pod {pod_name} is not bound to a PV that exists"
                ));
                continue;
            };
            match ebs_volume_id(pv) {
                Ok(volume_id) => {
                    let kind = if mount == DATA_DIR_MOUNT {
                        DATA_DIR_KIND.to_string()
                    } else {
                        settings
                            .get(mount.trim_end_matches('/'))
                            .cloned()
                            .unwrap_or_default()
                    };
                    used_pvcs.push((*pvc).clone());
                    used_pvs.push(annotated(pv, &volume_id));
                    volumes.push(Volume {
                        volume_id,
                        kind,
                        mount_path: Some(mount),
                        ..Volume::default()
                    });
                }
                Err(problem) => problems.push(problem),
            }
        }
        stores.push(Store { store_id, volumes });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let status_stores = |key: &str| tc["status"]["tikv"][key].as_object().map_or(0, |m| m.len());
    let replicas = |component: &str| tc["spec"][component]["replicas"].as_i64().unwrap_or(0);
    Ok(VolumeMeta {
        cluster_info: None,
        tikv: Tikv {
            replicas: (status_stores("stores") + status_stores("peerStores")) as i64,
            stores,
        },
        pd: Replicas {
            replicas: replicas("pd"),
        },
        tidb: Replicas {
            replicas: replicas("tidb"),
        },
        kubernetes: json!({
            "pvcs": used_pvcs,
            "pvs": used_pvs,
            "crd_tidb_cluster": tc,
            "options": null,
        }),
        options: Value::Null,
        region: None,
    })
}

/// The EBS volume a PV is, or why it is none.
pub fn ebs_volume_id(pv: &PersistentVolume) -> Result<String, String> {
    let name = pv.metadata.name.as_deref().unwrap_or_default();
    let spec = pv.spec.as_ref();
    let handle = match (
        spec.and_then(|s| s.csi.as_ref()),
        spec.and_then(|s| s.aws_elastic_block_store.as_ref()),
    ) {
        (Some(csi), _) if csi.driver == EBS_CSI_DRIVER => csi.volume_handle.as_str(),
        (Some(csi), _) => {
            return Err(format!(
                "PV {name} is provisioned by CSI driver {}, not {EBS_CSI_DRIVER}: only EBS volumes can be snapshotted",
                csi.driver
            ));
        }
        (None, Some(ebs)) => ebs.volume_id.as_str(),
        (None, None) => {
            return Err(format!(
                "PV {name} is not an EBS volume: only EBS volumes can be snapshotted"
            ));
        }
    };
    // In-tree volume ids may carry the zone: `aws://us-west-2a/vol-…`.
    handle
        .rsplit('/')
        .next()
        .filter(|id| id.starts_with("vol-") && id.len() > 4)
        .map(str::to_string)
        .ok_or_else(|| format!("PV {name} names no EBS volume id (vol-…) in {handle:?}"))
}

fn annotated(pv: &PersistentVolume, volume_id: &str) -> PersistentVolume {
    let mut pv = pv.clone();
    pv.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(VOLUME_ID_ANNOTATION.into(), volume_id.into());
    pv
}

/// TiKV settings whose value is a path, by path: `/var/lib/raft` → `raft-engine.dir`. The
/// config is TOML text or an object, as TiDB Operator accepts both.
fn tikv_settings(config: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    match config {
        Value::String(text) => {
            let mut section = String::new();
            for line in text.lines().map(str::trim) {
                if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                    section = s.trim().to_string();
                } else if let Some((key, value)) = line.split_once('=') {
                    let value = value.trim().trim_matches(['"', '\'']);
                    let key = key.trim();
                    let full = if section.is_empty() {
                        key.to_string()
                    } else {
                        format!("{section}.{key}")
                    };
                    out.insert(value.trim_end_matches('/').to_string(), full);
                }
            }
        }
        Value::Object(_) => flatten("", config, &mut out),
        _ => {}
    }
    out
}

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::String(s) => {
            out.insert(s.trim_end_matches('/').to_string(), prefix.to_string());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
