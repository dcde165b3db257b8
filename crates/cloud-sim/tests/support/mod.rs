//! A cluster with a job runner, and what the runner tests build pods and Jobs with.
#![allow(dead_code)]

use std::{path::PathBuf, time::Duration};

use k8s_openapi::api::core::v1::{Event, Namespace, Pod};
use kube::{
    Api, Client,
    api::{ListParams, PostParams},
};
use kube_emulator::{ClusterOptions, RunningCluster, Tls};
use serde_json::{Value, json};
use tibr_cloud_sim::runner::{Runner, RunnerConfig, RunnerHandle};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub cluster: RunningCluster,
    pub client: Client,
    pub runner: RunnerHandle,
    pub config: RunnerConfig,
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(|_| {}).await
    }

    /// Starts a cluster and a runner with short back-offs; `adjust` may change the runner
    /// configuration first.
    pub async fn start_with(adjust: impl FnOnce(&mut RunnerConfig)) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let tls = Tls::generate().unwrap();
        let options = ClusterOptions::new("t", dir.path().join("logs"));
        let cluster = RunningCluster::start(options, &tls, 0).await.unwrap();
        let client = cluster.client().await.unwrap();
        let mut config = RunnerConfig::for_cluster(&cluster, dir.path().join("work"));
        config.job_backoff_base = Duration::from_millis(200);
        config.crash_backoff_base = Duration::from_millis(200);
        adjust(&mut config);
        let runner = Runner::start(client.clone(), config.clone());
        Env {
            dir,
            cluster,
            client,
            runner,
            config,
        }
    }

    pub async fn namespace(&self, name: &str) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        api.create(&PostParams::default(), &ns).await.unwrap();
    }

    /// Creates any namespaced object given as JSON through its typed API.
    pub async fn create<K>(&self, ns: &str, obj: Value) -> K
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        let typed: K = serde_json::from_value(obj).unwrap();
        api.create(&PostParams::default(), &typed).await.unwrap()
    }

    pub fn log_dir(&self) -> PathBuf {
        self.config.log_dir.clone()
    }

    pub async fn pods(&self, ns: &str) -> Vec<Pod> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        api.list(&ListParams::default()).await.unwrap().items
    }

    /// The events about the object named `name`, as "reason: message".
    pub async fn events(&self, ns: &str, name: &str) -> Vec<String> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), ns);
        api.list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e.reason.unwrap_or_default(),
                    e.message.unwrap_or_default()
                )
            })
            .collect()
    }

    pub async fn stop(self) {
        self.runner.stop().await;
        self.cluster.stop().await;
    }
}

// Not every test binary that includes this module waits.
#[allow(unused_imports)]
pub use kube_emulator::testing::wait_until as wait_for;

/// A Job running `command` with `restartPolicy: Never`.
pub fn job(name: &str, command: &[&str], spec: Value) -> Value {
    let mut job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox:1.36", "command": command}],
        }}},
    });
    if let Value::Object(extra) = spec {
        for (k, v) in extra {
            job["spec"][k] = v;
        }
    }
    job
}

/// A pod running `command` with `restartPolicy: Never`, with `patch` merged into its spec.
pub fn pod(name: &str, command: &[&str], container: Value, spec: Value) -> Value {
    let mut c = json!({"name": "main", "image": "busybox:1.36", "command": command});
    if let Value::Object(extra) = container {
        for (k, v) in extra {
            c[k] = v;
        }
    }
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [c]},
    });
    if let Value::Object(extra) = spec {
        for (k, v) in extra {
            pod["spec"][k] = v;
        }
    }
    pod
}

/// The condition of `kind` in a status, as (status, reason).
pub fn condition(status: &Value, kind: &str) -> Option<(String, String)> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
}

/// Process ids of `sleep` processes with `arg` among their arguments.
pub fn sleeps(arg: &str) -> Vec<u32> {
    tibr_cloud_sim::procs::processes(|_, args| {
        args[0].ends_with("sleep") && args.iter().any(|a| a == arg)
    })
    .into_iter()
    .map(|(pid, _)| pid as u32)
    .collect()
}

/// A pod's status as JSON.
pub async fn pod_status(client: &Client, ns: &str, name: &str) -> Result<Value, String> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pod = api.get(name).await.map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(pod.status).unwrap())
}

/// Waits until the pod's phase is one of `phases` and returns its status.
pub async fn wait_phase(client: &Client, ns: &str, name: &str, phases: &[&str]) -> Value {
    wait_for(30, &format!("pod {name} in {phases:?}"), || async {
        let s = pod_status(client, ns, name).await?;
        if phases.iter().any(|p| s["phase"] == *p) {
            Ok(s)
        } else {
            Err(s.to_string())
        }
    })
    .await
}
