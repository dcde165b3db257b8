//! Starting and stopping one emulated cluster, and the client configuration to reach it.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use base64::Engine;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::json;
use tokio::{net::TcpListener, task::JoinHandle};

use super::{
    cluster::{Cluster, ClusterOptions, now},
    garbage_collector, http,
    ops::{self, WriteOptions},
    tls::Tls,
};

/// Namespaces every cluster starts with.
const SYSTEM_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

/// A cluster serving on 127.0.0.1.
pub struct RunningCluster {
    pub cluster: Arc<Cluster>,
    pub addr: SocketAddr,
    pub admin_token: String,
    pub ca_pem: String,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningCluster")
            .field("name", &self.name())
            .field("addr", &self.addr)
            .finish()
    }
}

impl RunningCluster {
    /// Binds `127.0.0.1:port` (0 for any free port) and starts serving.
    pub async fn start(options: ClusterOptions, tls: &Tls, port: u16) -> anyhow::Result<Self> {
        let admin_token = format!("admin.{}", Alphanumeric.sample_string(&mut rand::rng(), 48));
        let cluster = Arc::new(Cluster::new(options, &admin_token, &tls.ca_pem));
        {
            let mut state = cluster.lock();
            let ns_type = state
                .registry
                .lookup("", "v1", "namespaces")
                .context("namespaces type")?;
            let opts = WriteOptions::internal("kube-apiserver", now());
            for ns in SYSTEM_NAMESPACES {
                ops::create(
                    &mut state,
                    &ns_type,
                    None,
                    json!({"metadata": {"name": ns}}),
                    &opts,
                )
                .map_err(|e| anyhow::anyhow!("creating namespace {ns}: {e}"))?;
            }
        }
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .context("binding the API server port")?;
        let addr = listener.local_addr()?;
        let tasks = vec![
            http::serve(cluster.clone(), listener, tls.server_config.clone()),
            tokio::spawn(garbage_collector::run(cluster.clone())),
        ];
        Ok(RunningCluster {
            cluster,
            addr,
            admin_token,
            ca_pem: tls.ca_pem.clone(),
            tasks,
        })
    }

    pub fn name(&self) -> &str {
        &self.cluster.options.name
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A kubeconfig document (as YAML) with this cluster as its only, current context.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig_yaml(&[self], None)
    }

    /// A kube-rs client authenticated as cluster admin.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&self.kubeconfig_yaml())?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// A kube-rs client authenticated as ServiceAccount `namespace/name`, as a program in a
    /// pod under that account would be (the token is known to this server only). Its requests
    /// are recorded under that identity in [`Cluster::accesses`](super::cluster::Cluster).
    pub async fn client_as(&self, namespace: &str, name: &str) -> anyhow::Result<kube::Client> {
        let token = self.service_account_token(namespace, name);
        self.client_with_token(&token, namespace).await
    }

    /// A bearer token of ServiceAccount `namespace/name`, as the token Secret of a
    /// long-lived account holds it: for a kubeconfig another program (the federation
    /// manager reaching a data plane) uses. Its requests are recorded under that identity.
    pub fn service_account_token(&self, namespace: &str, name: &str) -> String {
        let token = format!("sa.{}", Alphanumeric.sample_string(&mut rand::rng(), 48));
        self.cluster.lock().tokens.insert(
            token.clone(),
            super::cluster::Identity::ServiceAccount {
                namespace: namespace.to_string(),
                name: name.to_string(),
            },
        );
        token
    }

    async fn client_with_token(
        &self,
        token: &str,
        namespace: &str,
    ) -> anyhow::Result<kube::Client> {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let doc = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": self.name(), "cluster": {"server": self.url(), "certificate-authority-data": b64(&self.ca_pem)}}],
            "users": [{"name": "user", "user": {"token": token}}],
            "contexts": [{"name": self.name(), "context": {"cluster": self.name(), "user": "user", "namespace": namespace}}],
            "current-context": self.name(),
        });
        let kubeconfig: kube::config::Kubeconfig = serde_json::from_value(doc)?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?;
        Ok(kube::Client::try_from(config)?)
    }

    pub async fn stop(self) {
        let _ = self.cluster.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// One kubeconfig for several clusters: a context per cluster named after it, the first
/// (or `current`) selected.
pub fn kubeconfig_yaml(clusters: &[&RunningCluster], current: Option<&str>) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let entries: Vec<_> = clusters.iter().map(|c| (c.name().to_string(), c)).collect();
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": entries.iter().map(|(n, c)| json!({"name": n, "cluster": {"server": c.url(), "certificate-authority-data": b64(&c.ca_pem)}})).collect::<Vec<_>>(),
        "users": entries.iter().map(|(n, c)| json!({"name": format!("{n}-admin"), "user": {"token": c.admin_token}})).collect::<Vec<_>>(),
        "contexts": entries.iter().map(|(n, _)| json!({"name": n, "context": {"cluster": n, "user": format!("{n}-admin"), "namespace": "default"}})).collect::<Vec<_>>(),
        "current-context": current.map(str::to_string).or_else(|| entries.first().map(|(n, _)| n.clone())).unwrap_or_default(),
        "preferences": {},
    });
    yaml_serde::to_string(&doc).unwrap_or_default()
}
