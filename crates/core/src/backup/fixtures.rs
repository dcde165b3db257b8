//! Test fixtures: the seed document's three Backups (static keys, kube2iam, IRSA) and its
//! TidbCluster, as users write them, plus small builders for the states tests need.

use serde_json::{Value, json};
use tibr_api::{Backup, TidbCluster};

pub const SECRET_S3: &str = "s3-secret";
pub const SECRET_TIDB: &str = "backup-demo1-tidb-secret";

fn from() -> Value {
    json!({"host": "basic-tidb", "port": 4000, "user": "root", "secretName": SECRET_TIDB})
}

/// Variant 1: access key and secret key in `s3-secret`.
pub fn static_keys() -> Backup {
    backup(json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
        "metadata": {"name": "demo1-backup-s3", "namespace": "test1", "uid": "uid-1", "generation": 1},
        "spec": {
            "backupType": "full",
            "br": {"cluster": "demo1", "clusterNamespace": "test1"},
            "from": from(),
            "s3": {"provider": "aws", "secretName": SECRET_S3, "region": "us-west-1",
                   "bucket": "my-bucket", "prefix": "my-folder"}
        }
    }))
}

/// Variant 2: kube2iam, the role as an annotation on the Backup.
pub fn kube2iam() -> Backup {
    backup(json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
        "metadata": {"name": "demo1-backup-s3", "namespace": "test1", "uid": "uid-1", "generation": 1,
            "annotations": {
                "iam.amazonaws.com/role": "arn:aws:iam::123456789012:role/user",
                "kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Backup\"}"
            }},
        "spec": {
            "backupType": "full",
            "br": {"cluster": "demo1", "sendCredToTikv": false, "clusterNamespace": "test1"},
            "from": from(),
            "s3": {"provider": "aws", "region": "us-west-1", "bucket": "my-bucket", "prefix": "my-folder"}
        }
    }))
}

/// Variant 3: IRSA, through the `tidb-backup-manager` ServiceAccount.
pub fn irsa() -> Backup {
    backup(json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
        "metadata": {"name": "demo1-backup-s3", "namespace": "test1", "uid": "uid-1", "generation": 1},
        "spec": {
            "backupType": "full",
            "serviceAccount": "tidb-backup-manager",
            "br": {"cluster": "demo1", "sendCredToTikv": false, "clusterNamespace": "test1"},
            "from": from(),
            "s3": {"provider": "aws", "region": "us-west-1", "bucket": "my-bucket", "prefix": "my-folder"}
        }
    }))
}

pub fn backup(v: Value) -> Backup {
    serde_json::from_value(v).expect("fixture Backup parses")
}

/// `test1/demo1` at v8.5.0, Ready, without TLS.
pub fn cluster() -> TidbCluster {
    cluster_with(json!({}), true)
}

/// `test1/demo1` with extra spec fields merged in, Ready or not.
pub fn cluster_with(extra_spec: Value, ready: bool) -> TidbCluster {
    let mut v = json!({
        "apiVersion": "pingcap.com/v1alpha1", "kind": "TidbCluster",
        "metadata": {"name": "demo1", "namespace": "test1"},
        "spec": {"version": "v8.5.0", "tikv": {"baseImage": "pingcap/tikv", "replicas": 3}},
        "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                                   "message": "TiKV store(s) are not up"}]}
    });
    if let Value::Object(extra) = extra_spec {
        for (k, val) in extra {
            v["spec"][k] = val;
        }
    }
    serde_json::from_value(v).expect("fixture TidbCluster parses")
}

/// Applies a JSON merge of `patch` onto the Backup (for spec and metadata tweaks).
pub fn tweak(b: &Backup, patch: Value) -> Backup {
    let mut v = serde_json::to_value(b).unwrap();
    merge(&mut v, patch);
    serde_json::from_value(v).unwrap()
}

fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}
