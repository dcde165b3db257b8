//! The EBS `backupmeta` exactly as BR writes it: BR decodes the volume file into its own Go
//! struct (`VolSnapBackupMeta`) and `json.Marshal`s it back, so the document takes that
//! struct's shape whatever the volume file looked like:
//! - keys in the struct's order: `cluster_info, tikv, tidb, pd, kubernetes, options,
//!   region`; inside `kubernetes`: `pvs, pvcs, crd_tidb_cluster, options`;
//! - every field present (`null` for what the file lacked), volumes without `mount_path`;
//! - what BR keeps as untyped JSON (the Kubernetes objects, `options`, `replicas`) goes
//!   through Go maps, so its object keys come out sorted;
//! - `<`, `>` and `&` escaped as `\u003c`, `\u003e`, `\u0026` (Go's HTML-safe encoding).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use tibr_core::volume::VolumeMeta;

/// Volume id → snapshot id, or → availability zone.
pub type ByVolume = BTreeMap<String, String>;

/// What BR sets once its snapshots are requested.
#[derive(Debug, Clone)]
pub struct Filled<'a> {
    pub cluster_version: String,
    pub resolved_ts: u64,
    pub snapshots: &'a ByVolume,
    pub zones: &'a ByVolume,
}

#[derive(Serialize)]
struct GoMeta {
    cluster_info: Option<GoClusterInfo>,
    tikv: GoTikv,
    tidb: GoReplicas,
    pd: GoReplicas,
    kubernetes: Value,
    options: Value,
    region: String,
}

#[derive(Serialize)]
struct GoClusterInfo {
    cluster_version: String,
    full_backup_type: String,
    resolved_ts: u64,
    replicas: Value,
}

#[derive(Serialize)]
struct GoTikv {
    replicas: i64,
    stores: Vec<GoStore>,
}

#[derive(Serialize)]
struct GoStore {
    store_id: u64,
    volumes: Vec<GoVolume>,
}

#[derive(Serialize)]
struct GoVolume {
    volume_id: String,
    #[serde(rename = "type")]
    kind: String,
    snapshot_id: String,
    restore_volume_id: String,
    volume_az: String,
    status: String,
}

#[derive(Serialize)]
struct GoReplicas {
    replicas: i64,
}

/// A Go `map[string]interface{}` round trip: objects with sorted keys, at every depth.
fn go_map(value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort();
            let sorted: Map<String, Value> = keys
                .into_iter()
                .map(|k| (k.clone(), go_map(&object[k])))
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(go_map).collect()),
        other => other.clone(),
    }
}

/// A field BR types as a map: anything but an object decodes to nil there.
fn go_object(value: Option<&Value>) -> Value {
    match value {
        Some(v @ Value::Object(_)) => go_map(v),
        _ => Value::Null,
    }
}

/// BR's `Kubernetes` struct: `pvs`, `pvcs` (slices), `crd_tidb_cluster` (anything),
/// `options` (a map); `null` when the volume file had none.
fn go_kubernetes(value: &Value) -> Value {
    let Value::Object(object) = value else {
        return Value::Null;
    };
    let slice = |key: &str| match object.get(key) {
        Some(v @ Value::Array(_)) => go_map(v),
        _ => Value::Null,
    };
    let mut out = Map::new();
    out.insert("pvs".into(), slice("pvs"));
    out.insert("pvcs".into(), slice("pvcs"));
    out.insert(
        "crd_tidb_cluster".into(),
        object
            .get("crd_tidb_cluster")
            .map(go_map)
            .unwrap_or(Value::Null),
    );
    out.insert("options".into(), go_object(object.get("options")));
    Value::Object(out)
}

/// Go's `json.Marshal` escapes these for HTML; in JSON text they only occur in strings.
fn html_safe(text: String) -> String {
    if !text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return text;
    }
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The document as BR marshals it: `input` as decoded, with `filled` applied when given
/// (snapshot ids and zones by volume, missing ones empty as a Go map lookup gives).
pub fn render(input: &VolumeMeta, filled: Option<&Filled<'_>>) -> String {
    let cluster_info = match (filled, &input.cluster_info) {
        (Some(f), info) => Some(GoClusterInfo {
            cluster_version: f.cluster_version.clone(),
            full_backup_type: "aws-ebs".into(),
            resolved_ts: f.resolved_ts,
            replicas: go_object(info.as_ref().map(|i| &i.replicas)),
        }),
        (None, Some(info)) => Some(GoClusterInfo {
            cluster_version: info.cluster_version.clone(),
            full_backup_type: info.full_backup_type.clone(),
            resolved_ts: info.resolved_ts,
            replicas: go_object(Some(&info.replicas)),
        }),
        (None, None) => None,
    };
    let lookup = |map: &ByVolume, id: &str| map.get(id).cloned().unwrap_or_default();
    let stores = input
        .tikv
        .stores
        .iter()
        .map(|store| GoStore {
            store_id: store.store_id,
            volumes: store
                .volumes
                .iter()
                .map(|v| GoVolume {
                    volume_id: v.volume_id.clone(),
                    kind: v.kind.clone(),
                    snapshot_id: match filled {
                        Some(f) => lookup(f.snapshots, &v.volume_id),
                        None => v.snapshot_id.clone(),
                    },
                    restore_volume_id: v.restore_volume_id.clone(),
                    volume_az: match filled {
                        Some(f) => lookup(f.zones, &v.volume_id),
                        None => v.volume_az.clone().unwrap_or_default(),
                    },
                    status: v.status.clone().unwrap_or_default(),
                })
                .collect(),
        })
        .collect();
    let meta = GoMeta {
        cluster_info,
        tikv: GoTikv {
            replicas: input.tikv.replicas,
            stores,
        },
        tidb: GoReplicas {
            replicas: input.tidb.replicas,
        },
        pd: GoReplicas {
            replicas: input.pd.replicas,
        },
        kubernetes: go_kubernetes(&input.kubernetes),
        options: go_object(Some(&input.options)),
        region: input.region.clone().unwrap_or_default(),
    };
    html_safe(serde_json::to_string(&meta).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BR's own volume-file fixture (`br/pkg/config/ebs_backup.json`).
    const SAMPLE: &str =
        include_str!("../../../storage/tests/data/tidb_br-pkg-config_ebs_backup.json");

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    /// The JSON type of every path in `value`, array elements merged.
    fn shape(value: &Value, path: &str, out: &mut BTreeMap<String, &'static str>) {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(items) => {
                for item in items {
                    shape(item, &format!("{path}[]"), out);
                }
                "array"
            }
            Value::Object(object) => {
                for (k, v) in object {
                    shape(v, &format!("{path}.{k}"), out);
                }
                "object"
            }
        };
        out.insert(path.to_string(), kind);
    }

    fn filled_sample() -> (VolumeMeta, String) {
        let input: VolumeMeta = serde_json::from_str(SAMPLE).unwrap();
        let snapshots: ByVolume = input
            .tikv
            .stores
            .iter()
            .flat_map(|s| &s.volumes)
            .map(|v| (v.volume_id.clone(), format!("snap-new-{}", v.volume_id)))
            .collect();
        let zones: ByVolume = snapshots
            .keys()
            .map(|v| (v.clone(), "us-west-2a".to_string()))
            .collect();
        let text = render(
            &input,
            Some(&Filled {
                cluster_version: "8.5.1".into(),
                resolved_ts: 456_745_777_823_347,
                snapshots: &snapshots,
                zones: &zones,
            }),
        );
        (input, text)
    }

    /// Every path of BR's fixture that BR's struct ships is in ours with the same JSON type
    /// (the fixture's `cluster_info.{id,version,max_alloc_id}` are keys BR's struct lacks).
    #[test]
    fn keeps_every_shipped_path_of_brs_sample_with_its_type() {
        let (_, text) = filled_sample();
        let ours: Value = serde_json::from_str(&text).unwrap();
        let sample: Value = serde_json::from_str(SAMPLE).unwrap();
        let (mut want, mut got) = (BTreeMap::new(), BTreeMap::new());
        shape(&sample, "", &mut want);
        shape(&ours, "", &mut got);
        let unknown = [
            ".cluster_info.id",
            ".cluster_info.version",
            ".cluster_info.max_alloc_id",
        ];
        for (path, kind) in &want {
            if unknown.contains(&path.as_str()) {
                assert!(!got.contains_key(path), "{path} is not BR's");
                continue;
            }
            assert_eq!(got.get(path), Some(kind), "{path} in {text}");
        }
        assert_eq!(
            ours["tikv"]["stores"][2]["volumes"][1]["snapshot_id"],
            "snap-new-vol-0e65f40961a9f6249"
        );
        assert_eq!(ours["cluster_info"]["full_backup_type"], "aws-ebs");
        assert_eq!(ours["cluster_info"]["resolved_ts"], 456_745_777_823_347u64);
    }

    #[test]
    fn keys_in_brs_struct_order_and_read_back_by_volume_meta() {
        let (input, text) = filled_sample();
        assert!(
            !text.contains('\n') && !text.contains(": "),
            "compact: {text}"
        );
        let ours: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            keys(&ours),
            [
                "cluster_info",
                "tikv",
                "tidb",
                "pd",
                "kubernetes",
                "options",
                "region"
            ]
        );
        assert_eq!(
            keys(&ours["cluster_info"]),
            [
                "cluster_version",
                "full_backup_type",
                "resolved_ts",
                "replicas"
            ]
        );
        assert_eq!(
            keys(&ours["tikv"]["stores"][0]["volumes"][0]),
            [
                "volume_id",
                "type",
                "snapshot_id",
                "restore_volume_id",
                "volume_az",
                "status"
            ]
        );
        assert_eq!(
            keys(&ours["kubernetes"]),
            ["pvs", "pvcs", "crd_tidb_cluster", "options"]
        );
        assert_eq!(ours["region"], "");
        assert_eq!(ours["cluster_info"]["replicas"], Value::Null);
        let back: VolumeMeta = serde_json::from_str(&text).unwrap();
        assert_eq!(back.resolved_ts(), Some(456_745_777_823_347));
        assert_eq!(back.snapshots().len(), input.snapshots().len());
        assert!(
            back.snapshots()
                .iter()
                .all(|(v, s)| *s == format!("snap-new-{v}"))
        );
        assert_eq!(
            back.tikv.stores[0].volumes[0].volume_az.as_deref(),
            Some("us-west-2a")
        );
    }

    #[test]
    fn go_maps_sort_passthrough_keys_and_drop_mount_path() {
        let file = serde_json::json!({
            "tikv": {"replicas": 1, "stores": [{"store_id": 4, "volumes": [
                {"volume_id": "vol-1", "type": "storage.data-dir", "mount_path": "/var/lib/tikv",
                 "snapshot_id": "", "restore_volume_id": ""}]}]},
            "pd": {"replicas": 3},
            "tidb": {"replicas": 2},
            "kubernetes": {"pvcs": [{"metadata": {"name": "b", "annotations": {"z": "1", "a": "<&>"}}}],
                           "crd_tidb_cluster": {"spec": {}, "kind": "TidbCluster"},
                           "options": null},
            "options": null
        });
        let input: VolumeMeta = serde_json::from_value(file).unwrap();
        let text = render(&input, None);
        assert!(!text.contains("mount_path"), "{text}");
        assert!(
            text.contains(r#""annotations":{"a":"\u003c\u0026\u003e","z":"1"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""crd_tidb_cluster":{"kind":"TidbCluster","spec":{}}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""kubernetes":{"pvs":null,"pvcs":[{"metadata""#),
            "{text}"
        );
        assert!(
            text.starts_with(r#"{"cluster_info":null,"tikv":{"replicas":1"#),
            "{text}"
        );
        assert!(
            text.ends_with(r#""options":null},"options":null,"region":""}"#),
            "{text}"
        );
    }
}
