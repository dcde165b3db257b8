//! The documents of a volume-snapshot backup, as JSON: the volume file the operator builds
//! for BR (`clustermeta`) and the `backupmeta` BR writes once its snapshots are requested.
//! Both share one shape (BR reads the first and fills in what the second adds), so one type
//! reads both and writes the volume file in the key order TiDB Operator gives it, passing
//! through what only they read (`kubernetes`, `options`). Unknown keys are ignored, as BR's
//! decoder does.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `clustermeta` or an EBS `backupmeta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeMeta {
    /// Set by BR in `backupmeta` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_info: Option<ClusterInfo>,
    #[serde(default)]
    pub tikv: Tikv,
    #[serde(default)]
    pub pd: Replicas,
    #[serde(default)]
    pub tidb: Replicas,
    /// PVCs, PVs and the TidbCluster as they were, for restores; opaque here.
    #[serde(default)]
    pub kubernetes: Value,
    #[serde(default)]
    pub options: Value,
    /// Set by BR in `backupmeta` only (empty from backups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// What BR records about the cluster at backup time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// Without quotes or `v` (`7.5.1`).
    #[serde(default)]
    pub cluster_version: String,
    /// `aws-ebs`.
    #[serde(default)]
    pub full_backup_type: String,
    /// The cluster's minimum resolved ts when the snapshots were taken: the backup's
    /// `commitTs`.
    #[serde(default)]
    pub resolved_ts: u64,
    #[serde(default)]
    pub replicas: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Replicas {
    #[serde(default)]
    pub replicas: i64,
}

/// TiKV's stores and their volumes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tikv {
    /// Stores of the whole cluster (this data plane's and its peers'), which a restore
    /// checks against the stores it finds online.
    #[serde(default)]
    pub replicas: i64,
    #[serde(default)]
    pub stores: Vec<Store>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Store {
    #[serde(default)]
    pub store_id: u64,
    #[serde(default)]
    pub volumes: Vec<Volume>,
}

/// One EBS volume of a store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub volume_id: String,
    /// The TiKV setting the volume holds (`storage.data-dir`, `raft-engine.dir`, …).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// In `clustermeta` only (BR drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    #[serde(default)]
    pub snapshot_id: String,
    #[serde(default)]
    pub restore_volume_id: String,
    /// Set by BR in `backupmeta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_az: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl VolumeMeta {
    /// Every `(volume, snapshot)` pair the document names, snapshots requested only.
    pub fn snapshots(&self) -> Vec<(&str, &str)> {
        self.tikv
            .stores
            .iter()
            .flat_map(|s| &s.volumes)
            .filter(|v| !v.snapshot_id.is_empty())
            .map(|v| (v.volume_id.as_str(), v.snapshot_id.as_str()))
            .collect()
    }

    /// The resolved ts BR recorded, when it did.
    pub fn resolved_ts(&self) -> Option<u64> {
        self.cluster_info
            .as_ref()
            .map(|c| c.resolved_ts)
            .filter(|ts| *ts > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str =
        include_str!("../../../storage/tests/data/tidb_br-pkg-config_ebs_backup.json");

    /// BR's own fixture: only `resolved_ts` of its `cluster_info` is a key BR ships, the rest
    /// must be ignored; six volumes with their snapshots.
    #[test]
    fn brs_sample_reads_with_unknown_keys_ignored() {
        let meta: VolumeMeta = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(meta.resolved_ts(), Some(456_745_777_823_347));
        assert_eq!(meta.tikv.replicas, 3);
        assert_eq!(meta.tikv.stores.len(), 3);
        let snapshots = meta.snapshots();
        assert_eq!(snapshots.len(), 6);
        assert_eq!(
            snapshots[0],
            ("vol-0e65f40961a9f6244", "snap-1234567890abcdef0")
        );
        assert_eq!(meta.tikv.stores[0].volumes[0].kind, "raft-engine.dir");
        assert_eq!(meta.pd.replicas, 3);
    }

    /// The obsolete early shape reads as a document with no stores (as BR's decoder does).
    #[test]
    fn the_legacy_shape_has_no_stores() {
        let legacy =
            include_str!("../../../storage/tests/data/tidb_br-pkg-backup_ebs_backup.json.legacy");
        let meta: VolumeMeta = serde_json::from_str(legacy).unwrap();
        assert!(meta.tikv.stores.is_empty() && meta.resolved_ts().is_none());
    }

    #[test]
    /// The order TiDB Operator writes the volume file in (BR's own `backupmeta` puts `tidb`
    /// before `pd`; readers go by key, so only the volume file we write is held to an order).
    fn keys_come_out_in_the_volume_files_order() {
        let meta = VolumeMeta {
            cluster_info: Some(ClusterInfo {
                cluster_version: "8.5.1".into(),
                full_backup_type: "aws-ebs".into(),
                resolved_ts: 7,
                replicas: Value::Null,
            }),
            ..VolumeMeta::default()
        };
        let text = serde_json::to_string(&meta).unwrap();
        let order: Vec<usize> = [
            "cluster_info",
            "\"tikv\"",
            "\"pd\"",
            "\"tidb\"",
            "kubernetes",
            "\"options\"",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    }
}
