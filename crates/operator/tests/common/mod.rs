//! The operator's harness: the test kit's [`World`] (one cluster with the CRDs,
//! `TidbCluster test1/demo1`, S3, a simulated TiDB, and a job runner whose agent image runs
//! `agent-stub.sh`), with the operator running in this process and every log line it
//! writes captured.
#![allow(dead_code)]

use std::{ops::Deref, path::PathBuf, sync::Arc, time::Duration};

use k8s_openapi::api::batch::v1::Job;
use kube::{Api, api::PostParams};
use serde_json::{Value, json};
use tibr_api::Backup;
use tibr_cloud_sim::runner::ImageRule;
use tibr_testkit::{World, WorldOptions};

pub use tibr_testkit::NS;

pub const AGENT_IMAGE: &str = "ghcr.io/tibr/tibr-agent:v0.1.0";
/// Credential values planted in Secrets; none may ever appear outside them.
pub const ACCESS_KEY: &str = "AKIAPLANTEDACCESS0001";
pub const SECRET_KEY: &str = "planted-secret-key-value-0002";

/// Every line the operator logged in this test process.
#[allow(unused_imports)] // Not every test binary that includes this module reads them.
pub use tibr_testkit::logs::logs;

pub struct Env {
    pub world: World,
    operator: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
    /// Where the operator serves `/metrics`.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl Deref for Env {
    type Target = World;
    fn deref(&self) -> &World {
        &self.world
    }
}

impl Env {
    pub async fn start() -> Env {
        tibr_testkit::logs::capture_logs("info,tibr_operator=debug", true);
        let stub = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/common/agent-stub.sh");
        let world = World::start(WorldOptions {
            images: vec![
                ImageRule::new("ghcr.io/tibr/tibr-agent", Some(stub.clone())),
                ImageRule {
                    image: "pingcap/br".into(),
                    entrypoint: None,
                    files: vec![("/br".into(), stub)],
                },
            ],
            job_backoff: Some(Duration::from_millis(200)),
            ..WorldOptions::default()
        })
        .await;
        Env {
            world,
            operator: None,
            metrics_addr: None,
        }
    }

    /// [`Env::start`] with `s3-secret` (planted keys when `planted`, see
    /// [`Env::s3_secret`]), the TiDB password Secret and the operator running.
    pub async fn with_operator(planted: bool) -> Env {
        let mut env = Env::start().await;
        env.s3_secret(NS, planted).await;
        env.tidb_secret(NS).await;
        env.start_operator().await;
        env
    }

    /// Starts the operator in this process.
    pub async fn start_operator(&mut self) {
        self.start_operator_with(Arc::new(tibr_operator::gc::TidbGcRestorer::default()))
            .await;
    }

    /// Starts the operator with the given way to reach TiDB.
    pub async fn start_operator_with(&mut self, gc: Arc<dyn tibr_operator::gc::GcRestorer>) {
        let mut settings = tibr_operator::Settings::new(AGENT_IMAGE);
        // A free port, known in advance so the test can scrape it.
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        settings.metrics_addr = probe.local_addr().unwrap();
        drop(probe);
        settings.health_addr = settings.metrics_addr;
        self.metrics_addr = Some(settings.metrics_addr);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let client = self.client.clone();
        let task = tokio::spawn(tibr_operator::run_with(
            client,
            settings,
            async move {
                let _ = rx.await;
            },
            gc,
        ));
        self.operator = Some((tx, task));
    }

    /// `GET path` on the operator's metrics and health server: (status code, body).
    pub async fn http_get(&self, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.metrics_addr.expect("the operator runs");
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        (out[9..12].parse().unwrap(), out)
    }

    /// Stops the operator (it can be started again).
    pub async fn stop_operator(&mut self) {
        if let Some((tx, task)) = self.operator.take() {
            let _ = tx.send(());
            let stopped = tokio::time::timeout(Duration::from_secs(20), task).await;
            assert!(stopped.is_ok(), "the operator stops on shutdown");
        }
    }

    pub async fn stop(mut self) {
        self.stop_operator().await;
        self.world.stop().await;
    }

    /// Namespace `name` with the ServiceAccount backup pods run as.
    pub async fn namespace(&self, name: &str) {
        self.ns(NS).create_namespace(name).await;
    }

    pub async fn secret(&self, ns: &str, name: &str, data: &[(&str, &str)]) {
        let data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        self.ns(ns).secret(name, Value::Object(data)).await;
    }

    /// `s3-secret` with the sandbox S3's real keys (the planted ones when `planted`).
    pub async fn s3_secret(&self, ns: &str, planted: bool) {
        let (ak, sk) = if planted {
            (ACCESS_KEY.to_string(), SECRET_KEY.to_string())
        } else {
            (self.s3.access_key.clone(), self.s3.secret_key.clone())
        };
        self.secret(ns, "s3-secret", &[("access_key", &ak), ("secret_key", &sk)])
            .await;
    }

    pub async fn tidb_secret(&self, ns: &str) {
        let password = self.tidb.password().to_string();
        self.secret(ns, "backup-demo1-tidb-secret", &[("password", &password)])
            .await;
    }

    /// The spec of a Backup of demo1 to `s3://my-bucket/<prefix>` on the sandbox S3, with
    /// the seed's `from`.
    pub fn backup_spec(&self, prefix: &str) -> Value {
        json!({
            "backupType": "full",
            "br": {"cluster": "demo1", "clusterNamespace": NS},
            "from": {"host": "127.0.0.1", "port": self.tidb.port(), "user": "root",
                     "secretName": "backup-demo1-tidb-secret"},
            "s3": {"provider": "aws", "secretName": "s3-secret", "region": "us-west-2",
                   "endpoint": self.s3.endpoint(), "bucket": "my-bucket", "prefix": prefix,
                   "storageClass": "STANDARD"}
        })
    }

    /// A Backup of demo1 in `ns` to `s3://my-bucket/<prefix>` ([`Env::backup_spec`]), with
    /// `spec` merged over it.
    pub async fn backup(&self, ns: &str, name: &str, prefix: &str, spec: Value) -> Backup {
        let mut v = json!({
            "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
            "metadata": {"name": name, "namespace": ns},
            "spec": self.backup_spec(prefix),
        });
        v["spec"]["env"] =
            json!([{"name": "STUB_PATH", "value": format!("s3://my-bucket/{prefix}")}]);
        merge(&mut v["spec"], spec);
        let b: Backup = serde_json::from_value(v).unwrap();
        self.backups(ns)
            .create(&PostParams::default(), &b)
            .await
            .unwrap()
    }

    pub fn backups(&self, ns: &str) -> Api<Backup> {
        self.ns(ns).backups()
    }

    pub fn jobs(&self, ns: &str) -> Api<Job> {
        self.ns(ns).jobs()
    }

    pub async fn get(&self, ns: &str, name: &str) -> Option<Backup> {
        self.ns(ns).get(name).await
    }

    pub async fn delete_backup(&self, ns: &str, name: &str) {
        self.ns(ns).delete_backup(name).await
    }

    /// Waits for the Backup's phase to be `phase`, returning it.
    pub async fn wait_phase(&self, ns: &str, name: &str, phase: &str, secs: u64) -> Backup {
        self.ns(ns).wait_phase(name, phase, secs).await
    }

    /// Events in `ns` as "Type Reason: note", regarding the named object (any when None).
    pub async fn events(&self, ns: &str, regarding: Option<&str>) -> Vec<String> {
        self.ns(ns).events(regarding).await
    }

    /// Puts `count` objects under `prefix` in the sandbox bucket.
    pub async fn put_objects(&self, prefix: &str, count: usize) -> tibr_storage::Store {
        let store = self.store(prefix);
        for i in 0..count {
            store
                .put(
                    &format!("{prefix}/file-{i}.sst"),
                    bytes::Bytes::from_static(b"data"),
                )
                .await
                .unwrap();
        }
        store
    }

    pub fn store(&self, prefix: &str) -> tibr_storage::Store {
        self.ns(NS).s3.store("my-bucket", prefix)
    }
}

pub fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p,
    }
}

// Not every test binary that includes this module uses every helper.
#[allow(unused_imports)]
pub use tibr_testkit::{status::condition, wait_until as wait_for};
