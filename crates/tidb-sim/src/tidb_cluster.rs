//! The TiDB cluster of the seed document: namespace `test1` and, when the `TidbCluster`
//! CRD is installed, `TidbCluster demo1` describing the simulated TiDB (PD, TiKV and
//! TiDB at `v8.5.0` with TiDB Operator's field names, and a status that says it is up),
//! as TiDB Operator would show it once the cluster is running.
//!
//! Differences: nothing reconciles it. The object describes the simulated TiDB server;
//! editing it (`kubectl edit tc demo1`) changes the object only. There are no PD or
//! TiKV processes and no `demo1-tidb` Service: clients reach TiDB at the address in
//! `sandbox.env`.

use anyhow::Context;
use serde_json::{Value, json};

use kube_emulator::{RunningCluster, timestamp_now};

pub const NAMESPACE: &str = "test1";
pub const NAME: &str = "demo1";
const API_VERSION: &str = "pingcap.com/v1alpha1";
const KIND: &str = "TidbCluster";

/// The object TiDB Operator users write for `demo1` (spec) and what the operator
/// reports for a healthy cluster (status).
pub fn object(version: &str, now: &str) -> Value {
    let component = |base: &str, replicas: u32, storage: Option<&str>| {
        let mut c = json!({"baseImage": base, "version": version, "replicas": replicas,
                           "maxFailoverCount": 0, "config": {}});
        if let Some(s) = storage {
            c["requests"] = json!({"storage": s});
        }
        c
    };
    let mut tidb = component("pingcap/tidb", 2, None);
    tidb["service"] = json!({"type": "ClusterIP"});
    let stores: serde_json::Map<String, Value> = (0..3)
        .map(|i| {
            (
                (i + 1).to_string(),
                json!({"id": (i + 1).to_string(), "podName": format!("{NAME}-tikv-{i}"),
                       "ip": format!("{NAME}-tikv-{i}.{NAME}-tikv-peer.{NAMESPACE}.svc"),
                       "state": "Up", "leaderCount": 10, "lastTransitionTime": now}),
            )
        })
        .collect();
    json!({
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {
            "version": version,
            "timezone": "UTC",
            "pvReclaimPolicy": "Retain",
            "configUpdateStrategy": "RollingUpdate",
            "discovery": {},
            "pd": component("pingcap/pd", 3, Some("10Gi")),
            "tikv": component("pingcap/tikv", 3, Some("100Gi")),
            "tidb": tidb,
        },
        "status": {
            "clusterID": "7300000000000000001",
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "Ready",
                "message": "TiDB cluster is fully up and running",
                "lastUpdateTime": now, "lastTransitionTime": now,
            }],
            "pd": {"phase": "Normal", "synced": true, "image": format!("pingcap/pd:{version}")},
            "tikv": {"phase": "Normal", "synced": true, "image": format!("pingcap/tikv:{version}"),
                     "stores": stores},
            "tidb": {"phase": "Normal", "image": format!("pingcap/tidb:{version}")},
        },
    })
}

/// Creates namespace `test1` and, if the cluster serves `TidbCluster`, `demo1` with its
/// status, as `manager`. Returns whether `demo1` was created (or already existed).
pub fn create(cluster: &RunningCluster, manager: &str, version: &str) -> anyhow::Result<bool> {
    cluster
        .install_objects(
            manager,
            vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})],
        )
        .with_context(|| format!("creating namespace {NAMESPACE}"))?;
    if !cluster.serves(API_VERSION, KIND) {
        return Ok(false);
    }
    cluster
        .install_with_status(manager, object(version, &timestamp_now()))
        .with_context(|| format!("creating TidbCluster {NAMESPACE}/{NAME}"))?;
    Ok(true)
}
