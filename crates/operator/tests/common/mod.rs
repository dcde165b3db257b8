//! A sandbox cluster with the CRDs, `TidbCluster test1/demo1`, a job runner whose agent
//! image runs `agent-stub.sh`, an S3 server, a simulated TiDB, and the operator running
//! in-process, with every log line it writes captured.
#![allow(dead_code)]

use std::{path::PathBuf, sync::Arc, time::Duration};

use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{Namespace, Secret, ServiceAccount},
};
use kube::{
    Api, Client,
    api::{DeleteParams, PostParams},
};
use kube_emulator::{ClusterOptions, RunningCluster, Tls};
use serde_json::{Value, json};
use tibr_api::Backup;
use tibr_cloud_sim::{
    runner::{ImageRule, Runner, RunnerConfig, RunnerHandle},
    s3::S3Server,
};
use tibr_sandbox::sandbox::{find_crds_dir, install_manifests};
use tibr_tidb_sim::{TidbConfig, TidbServer, tidb_cluster};

pub const AGENT_IMAGE: &str = "ghcr.io/tibr/tibr-agent:v0.1.0";
pub const NS: &str = "test1";
/// Credential values planted in Secrets; none may ever appear outside them.
pub const ACCESS_KEY: &str = "AKIAPLANTEDACCESS0001";
pub const SECRET_KEY: &str = "planted-secret-key-value-0002";

/// Every line the operator logged in this test process.
#[allow(unused_imports)] // Not every test binary that includes this module reads them.
pub use tibr_sandbox::testing::logs;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub cluster: RunningCluster,
    pub client: Client,
    pub runner: Option<RunnerHandle>,
    pub s3: S3Server,
    pub tidb: TidbServer,
    operator: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
    /// Where the operator serves `/metrics`.
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl Env {
    pub async fn start() -> Env {
        tibr_sandbox::testing::capture_logs("info,tibr_operator=debug", true);
        let dir = tempfile::tempdir().unwrap();
        let tls = Tls::generate().unwrap();
        let options = ClusterOptions::new("test", dir.path().join("logs"));
        let cluster = RunningCluster::start(options, &tls, 0).await.unwrap();
        let client = cluster.client().await.unwrap();
        let crds = find_crds_dir().expect("deploy/crds of the workspace");
        install_manifests(&cluster, &crds).unwrap();
        assert!(tidb_cluster::create(&cluster, tibr_tidb_sim::TIDB_VERSION).unwrap());
        let s3 = S3Server::start(dir.path().join("s3"), 0).await.unwrap();
        s3.ensure_bucket("my-bucket").unwrap();
        let tidb = TidbServer::start(TidbConfig::generated()).await.unwrap();

        let stub = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/common/agent-stub.sh");
        let mut config = RunnerConfig::for_cluster(&cluster, dir.path().join("work"));
        config.job_backoff_base = Duration::from_millis(200);
        config.images = vec![
            ImageRule::new("ghcr.io/tibr/tibr-agent", Some(stub.clone())),
            ImageRule {
                image: "pingcap/br".into(),
                entrypoint: None,
                files: vec![("/br".into(), stub)],
            },
        ];
        let runner = Runner::start(client.clone(), config);
        let env = Env {
            dir,
            cluster,
            client,
            runner: Some(runner),
            s3,
            tidb,
            operator: None,
            metrics_addr: None,
        };
        env.service_account(NS).await;
        env
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
        if let Some(r) = self.runner.take() {
            r.stop().await;
        }
        self.cluster.stop().await;
        self.s3.stop().await;
        self.tidb.stop().await;
    }

    /// The ServiceAccount backup pods run as (`deploy/backup-rbac.yaml` creates it).
    pub async fn service_account(&self, ns: &str) {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), ns);
        let sa: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": "tidb-backup-manager"}})).unwrap();
        let _ = api.create(&PostParams::default(), &sa).await;
    }

    pub async fn namespace(&self, name: &str) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        api.create(&PostParams::default(), &ns).await.unwrap();
        self.service_account(name).await;
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

    pub async fn secret(&self, ns: &str, name: &str, data: &[(&str, &str)]) {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let string_data: serde_json::Map<String, Value> = data
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let s: Secret =
            serde_json::from_value(json!({"metadata": {"name": name}, "stringData": string_data}))
                .unwrap();
        api.create(&PostParams::default(), &s).await.unwrap();
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
        Api::namespaced(self.client.clone(), ns)
    }

    pub fn jobs(&self, ns: &str) -> Api<Job> {
        Api::namespaced(self.client.clone(), ns)
    }

    pub async fn get(&self, ns: &str, name: &str) -> Option<Backup> {
        self.backups(ns).get_opt(name).await.unwrap()
    }

    pub async fn delete_backup(&self, ns: &str, name: &str) {
        self.backups(ns)
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Waits for the Backup's phase to be `phase`, returning it.
    pub async fn wait_phase(&self, ns: &str, name: &str, phase: &str, secs: u64) -> Backup {
        wait_for(
            secs,
            &format!("Backup {ns}/{name} in phase {phase}"),
            || async {
                let b = self.get(ns, name).await?;
                (b.phase().map(|p| p.as_str()) == Some(phase)).then_some(b)
            },
        )
        .await
    }

    /// Events in `ns` as "Type Reason: note", regarding the named object (any when None).
    pub async fn events(&self, ns: &str, regarding: Option<&str>) -> Vec<String> {
        tibr_sandbox::testing::events(&self.client, ns, regarding).await
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
        let mut target = tibr_storage::S3Target::new(
            "aws",
            tibr_core::storage::Location::parse("my-bucket", prefix).expect("a test location"),
        );
        target.endpoint = Some(self.s3.endpoint());
        target.region = Some("us-west-2".into());
        target.storage_class = Some("STANDARD".into());
        let options = tibr_storage::OpenOptions {
            env: tibr_storage::Env::empty()
                .with(tibr_storage::env::ACCESS_KEY_ID, self.s3.access_key.clone())
                .with(
                    tibr_storage::env::SECRET_ACCESS_KEY,
                    self.s3.secret_key.clone(),
                ),
            ..tibr_storage::OpenOptions::default()
        };
        tibr_storage::open_with(&tibr_storage::Target::S3(target), &options).unwrap()
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
pub use tibr_sandbox::testing::{condition, wait_until as wait_for};
