//! The federation manager's harness: one emulated control plane and up to three data
//! planes, each reached by the manager through a TCP proxy the test can cut (a cluster
//! that stops answering keeps its objects), a federation kubeconfig the test rewrites, and
//! the manager running in this process as ServiceAccount `tibr-system/tibr-federation`
//! (and, in the data planes, as `tibr-system/br-federation-member`), so every request it
//! makes can be held against `deploy/federation/README.md`.
//!
//! The data planes' operators are played by the test: [`Plane::report`] writes a member
//! Backup's status as a data-plane operator does, one condition at a time.
#![allow(dead_code)]

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use base64::Engine;
use k8s_openapi::api::core::v1::{Event, Namespace};
use kube::{
    Api, Client,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use kube_emulator::{ClusterOptions, Identity, RunningCluster, Tls};
use serde_json::{Value, json};
use tibr_api::{Backup, VolumeBackup};
use tibr_testkit::rbac_table::{Call, calls_by};

pub use tibr_testkit::proxy::Proxy;
pub use tibr_testkit::{logs::logs, wait_until};

/// The data planes, as the VolumeBackups name them; the TidbCluster of `k8s<i>` is
/// `tc<i>` in namespace `ns<i>`.
pub const CLUSTERS: [&str; 3] = ["k8s1", "k8s2", "k8s3"];
/// Where VolumeBackups live in the control plane.
pub const NS: &str = "br-fed";
pub const SYSTEM: &str = "tibr-system";
pub const MANAGER_SA: &str = "tibr-federation";
pub const MEMBER_SA: &str = "br-federation-member";
const INSTALLER: &str = "tibr-federation-tests";
/// How long a wait for proof may take: generous, since the machine may be busy; a wait
/// that gets its proof returns at once.
pub const WAIT: u64 = 60;

pub struct Plane {
    pub name: String,
    pub cluster: RunningCluster,
    /// Admin: the test playing this data plane's operator.
    pub client: Client,
    /// What the manager's kubeconfig points at.
    pub proxy: Proxy,
    /// `br-federation-member`'s token in this cluster.
    pub token: String,
}

pub struct Manager {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub metrics_addr: SocketAddr,
}

pub struct Fed {
    pub dir: tempfile::TempDir,
    pub control: RunningCluster,
    /// Admin on the control plane: the user's.
    pub client: Client,
    pub planes: Vec<Plane>,
    pub kubeconfig: PathBuf,
    ca_pem: String,
}

impl Fed {
    /// The control plane and `planes` data planes (named `k8s1`...), with the CRDs, the
    /// namespaces, and a kubeconfig naming every data plane.
    pub async fn start(planes: usize) -> Fed {
        tibr_testkit::logs::capture_logs("info,tibr_federation=debug", true);
        let dir = tempfile::tempdir().unwrap();
        let tls = Tls::generate().unwrap();
        let control = start_cluster("control", dir.path(), &tls).await;
        let client = control.client().await.unwrap();
        for ns in [NS, SYSTEM] {
            namespace(&client, ns).await;
        }
        let mut list = Vec::new();
        for (i, name) in CLUSTERS.iter().take(planes).enumerate() {
            let cluster = start_cluster(name, dir.path(), &tls).await;
            let client = cluster.client().await.unwrap();
            namespace(&client, &format!("ns{}", i + 1)).await;
            let proxy = Proxy::start(cluster.addr).await;
            let token = cluster.service_account_token(SYSTEM, MEMBER_SA);
            list.push(Plane {
                name: name.to_string(),
                cluster,
                client,
                proxy,
                token,
            });
        }
        let fed = Fed {
            kubeconfig: dir.path().join("federation-kubeconfig"),
            dir,
            control,
            client,
            planes: list,
            ca_pem: tls.ca_pem.clone(),
        };
        fed.write_kubeconfig(&CLUSTERS[..planes]);
        fed
    }

    pub fn plane(&self, name: &str) -> &Plane {
        self.planes.iter().find(|p| p.name == name).unwrap()
    }

    /// Replaces the federation kubeconfig with one context per named data plane, the way
    /// a Secret volume does: a new file swapped in whole.
    pub fn write_kubeconfig(&self, contexts: &[&str]) {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let planes: Vec<&Plane> = contexts.iter().map(|c| self.plane(c)).collect();
        let doc = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": planes.iter().map(|p| json!({"name": p.name, "cluster": {
                "server": format!("https://{}", p.proxy.addr),
                "certificate-authority-data": b64(&self.ca_pem)}})).collect::<Vec<_>>(),
            "users": planes.iter().map(|p| json!({"name": format!("{}-member", p.name),
                "user": {"token": p.token}})).collect::<Vec<_>>(),
            "contexts": planes.iter().map(|p| json!({"name": p.name, "context": {
                "cluster": p.name, "user": format!("{}-member", p.name)}})).collect::<Vec<_>>(),
        });
        self.swap_in(&yaml_serde::to_string(&doc).unwrap());
    }

    /// Writes `text` as the kubeconfig, whole.
    pub fn swap_in(&self, text: &str) {
        let next = self.dir.path().join("federation-kubeconfig.next");
        std::fs::write(&next, text).unwrap();
        std::fs::rename(&next, &self.kubeconfig).unwrap();
    }

    /// The manager's settings for tests: every poll an hour away, so that whatever moves
    /// was moved by a watch; waits on clusters that do not answer kept short.
    pub fn settings(&self) -> tibr_federation::Settings {
        let mut s = tibr_federation::Settings::new(&self.kubeconfig);
        let hour = Duration::from_secs(3600);
        s.core.poll_interval = hour;
        s.core.paused_poll_interval = hour;
        s.core.registry_interval = hour;
        s.core.short_interval = Duration::from_millis(200);
        s.core.unreachable_min = Duration::from_millis(500);
        s.core.unreachable_max = Duration::from_secs(2);
        s.reload_interval = Duration::from_millis(200);
        s.member_timeout = Duration::from_secs(5);
        s.leader_election = None;
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        s.metrics_addr = probe.local_addr().unwrap();
        s.health_addr = s.metrics_addr;
        s
    }

    /// Starts a manager in this process as ServiceAccount `tibr-system/tibr-federation`.
    pub async fn start_manager(&self, settings: tibr_federation::Settings) -> Manager {
        let client = self.control.client_as(SYSTEM, MANAGER_SA).await.unwrap();
        let metrics_addr = settings.metrics_addr;
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(tibr_federation::run(client, settings, async move {
            let _ = rx.await;
        }));
        let manager = Manager {
            stop,
            task,
            metrics_addr,
        };
        wait_until(20, "the manager serves /healthz", || async {
            manager.get("/healthz").await.filter(|(c, _)| *c == 200)
        })
        .await;
        manager
    }

    /// A VolumeBackup of `tc<i>` in `ns<i>` of each named cluster, as TiDB's documentation
    /// writes one (S3 with a kube2iam role, cleanPolicy Delete).
    pub async fn create_vbk(&self, name: &str, clusters: &[&str]) -> VolumeBackup {
        let members: Vec<Value> = clusters
            .iter()
            .map(|c| {
                let i = &c[3..];
                json!({"k8sClusterName": c, "tcName": format!("tc{i}"), "tcNamespace": format!("ns{i}")})
            })
            .collect();
        let vbk: VolumeBackup = serde_json::from_value(json!({
            "apiVersion": "federation.pingcap.com/v1alpha1", "kind": "VolumeBackup",
            "metadata": {"name": name, "namespace": NS,
                "annotations": {"iam.amazonaws.com/role": "arn:aws:iam::123456789012:role/backup"}},
            "spec": {
                "clusters": members,
                "template": {
                    "br": {"sendCredToTikv": false},
                    "s3": {"provider": "aws", "region": "us-west-2", "bucket": "my-bucket",
                           "prefix": format!("daily/{name}")},
                    "toolImage": "pingcap/br:v8.5.0",
                    "cleanPolicy": "Delete",
                    "volumeBackupInitJobMaxActiveSeconds": 300
                }
            }
        }))
        .unwrap();
        self.vbks()
            .create(&PostParams::default(), &vbk)
            .await
            .unwrap()
    }

    pub fn vbks(&self) -> Api<VolumeBackup> {
        Api::namespaced(self.client.clone(), NS)
    }

    pub async fn vbk(&self, name: &str) -> Option<VolumeBackup> {
        self.vbks().get_opt(name).await.unwrap()
    }

    /// Waits until the VolumeBackup satisfies `check`, showing its status on timeout.
    pub async fn wait_vbk(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&VolumeBackup) -> bool,
    ) -> VolumeBackup {
        wait_until(WAIT, what, || async {
            match self.vbk(name).await {
                Some(v) if check(&v) => Ok(v),
                other => Err(serde_json::to_string(&other.map(|v| v.status)).unwrap()),
            }
        })
        .await
    }

    /// Waits for the VolumeBackup's phase.
    pub async fn wait_phase(&self, name: &str, phase: &str) -> VolumeBackup {
        self.wait_vbk(name, &format!("VolumeBackup {name} {phase}"), |v| {
            phase_of(v) == phase
        })
        .await
    }

    /// Events about `name` in the VolumeBackups' namespace, as `Type Reason: note`.
    pub async fn events(&self, name: &str) -> Vec<String> {
        kube_emulator::testing::events(&self.client, NS, Some(name)).await
    }

    /// Waits until an Event about `name` has `reason` and contains `text`; returns it.
    pub async fn wait_event(&self, name: &str, reason: &str, text: &str) -> String {
        wait_until(
            WAIT,
            &format!("a {reason} Event about {name} with {text:?}"),
            || async {
                let events = self.events(name).await;
                events
                    .iter()
                    .find(|e| e.contains(&format!(" {reason}: ")) && e.contains(text))
                    .cloned()
                    .ok_or_else(|| format!("{events:#?}"))
            },
        )
        .await
    }

    /// Every Event of the control plane, both APIs, as JSON text (for secret checks).
    pub async fn all_events_json(&self) -> String {
        let core = Api::<Event>::all(self.client.clone())
            .list(&ListParams::default())
            .await
            .unwrap();
        let new = Api::<k8s_openapi::api::events::v1::Event>::all(self.client.clone())
            .list(&ListParams::default())
            .await
            .unwrap();
        format!(
            "{}\n{}",
            serde_json::to_string(&core.items).unwrap(),
            serde_json::to_string(&new.items).unwrap()
        )
    }

    /// Every credential of the kubeconfig and the clusters: none may leave them.
    pub fn secrets(&self) -> Vec<String> {
        let mut s: Vec<String> = self.planes.iter().map(|p| p.token.clone()).collect();
        s.extend(self.planes.iter().map(|p| p.cluster.admin_token.clone()));
        s.push(self.control.admin_token.clone());
        s
    }

    /// No credential in this process's logs or in the control plane's Events.
    pub async fn assert_no_secrets(&self) {
        let secrets = self.secrets();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        tibr_testkit::status::assert_no_secrets("the logs", &logs(), &secrets);
        tibr_testkit::status::assert_no_secrets("Events", &self.all_events_json().await, &secrets);
    }

    /// Every request the manager made, in the control plane and in each data plane, is a
    /// row of the table of API calls in `deploy/federation/README.md`. Returns how many
    /// distinct requests each identity made.
    pub fn assert_calls_documented(&self) -> (usize, usize) {
        let readme = tibr_testkit::workspace().join("deploy/federation/README.md");
        let documented = calls_by(
            &std::fs::read_to_string(readme).unwrap(),
            &["manager", "member"],
        );
        let check = |cluster: &RunningCluster, who: &str, sa: &str| {
            let mut n = 0;
            for a in cluster.cluster.accesses.all() {
                let Identity::ServiceAccount { namespace, name } = &a.user else {
                    continue;
                };
                if namespace != SYSTEM || name != sa {
                    continue;
                }
                n += 1;
                let call = Call {
                    who: who.to_string(),
                    group: a.group.clone(),
                    resource: a.resource.clone(),
                    verb: a.verb.clone(),
                };
                assert!(
                    documented.contains(&call),
                    "deploy/federation/README.md (and so its RBAC) lacks {call:?}"
                );
            }
            n
        };
        let manager = check(&self.control, "manager", MANAGER_SA);
        let member = self
            .planes
            .iter()
            .map(|p| check(&p.cluster, "member", MEMBER_SA))
            .sum();
        (manager, member)
    }

    pub async fn stop(self) {
        for p in self.planes {
            p.proxy.stop();
            p.cluster.stop().await;
        }
        self.control.stop().await;
    }
}

impl Manager {
    /// `GET path` on the manager's metrics and health server: (status code, body).
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(self.metrics_addr)
            .await
            .ok()?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).await.ok()?;
        Some((out.get(9..12)?.parse().ok()?, out))
    }

    pub async fn metrics(&self) -> String {
        self.get("/metrics")
            .await
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    /// The value of the series `series` (name and labels as exposed), if present.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    /// Waits until the series has the value `value`.
    pub async fn wait_metric(&self, series: &str, value: f64) {
        wait_until(WAIT, &format!("{series} = {value}"), || async {
            match self.metric(series).await {
                Some(v) if v == value => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await
    }

    /// Stops the manager and returns how `run` ended.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the manager stops on shutdown")
            .unwrap()
    }
}

impl Plane {
    pub fn backups(&self, ns: &str) -> Api<Backup> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// The member Backup of VolumeBackup `vbk` here (in `ns<i>`).
    pub async fn member(&self, vbk: &str) -> Option<Backup> {
        self.backups(&self.tc_namespace())
            .get_opt(&format!("fed-{vbk}"))
            .await
            .unwrap()
    }

    pub fn tc_namespace(&self) -> String {
        format!("ns{}", &self.name[3..])
    }

    /// Waits until the member of `vbk` here satisfies `check`.
    pub async fn wait_member(
        &self,
        vbk: &str,
        what: &str,
        check: impl Fn(&Backup) -> bool,
    ) -> Backup {
        wait_until(WAIT, &format!("{what} in {}", self.name), || async {
            match self.member(vbk).await {
                Some(b) if check(&b) => Ok(b),
                other => Err(format!("{:?}", other.map(|b| (b.spec, b.status)))),
            }
        })
        .await
    }

    /// As this data plane's operator would: condition `type_` turns `True` on the member of
    /// `vbk` and becomes its phase; `extra` status fields are merged in.
    pub async fn report(&self, vbk: &str, type_: &str, extra: Value) {
        let name = format!("fed-{vbk}");
        let b = self.member(vbk).await.expect("the member exists");
        let mut conditions: Vec<Value> = b
            .status
            .map(|s| {
                s.conditions
                    .iter()
                    .map(|c| serde_json::to_value(c).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        conditions.retain(|c| c["type"] != type_);
        conditions.push(json!({
            "type": type_, "status": "True",
            "lastTransitionTime": jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap().to_string(),
        }));
        let mut status = json!({"conditions": conditions, "phase": type_});
        if let (Value::Object(s), Value::Object(e)) = (&mut status, extra) {
            s.extend(e);
        }
        self.backups(&self.tc_namespace())
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": status})),
            )
            .await
            .unwrap();
    }
}

pub fn phase_of(v: &VolumeBackup) -> String {
    v.status
        .as_ref()
        .and_then(|s| s.phase.as_ref())
        .map(|p| p.as_str().to_string())
        .unwrap_or_default()
}

/// A VolumeBackup's condition of `type_` as `(status, reason, message)`.
pub fn condition(v: &VolumeBackup, type_: &str) -> Option<(String, String, String)> {
    v.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_.as_str() == type_)
        .map(|c| {
            (
                c.status.as_str().to_string(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

pub fn phase(b: &Backup) -> Option<String> {
    b.spec
        .federal_volume_backup_phase
        .as_ref()
        .map(|p| p.as_str().to_string())
}

pub fn resumes(b: &Backup) -> bool {
    b.spec.resume_gc_schedule == Some(true)
}

async fn start_cluster(name: &str, dir: &Path, tls: &Tls) -> RunningCluster {
    let options = ClusterOptions::new(name, dir.join("logs").join(name));
    let cluster = RunningCluster::start(options, tls, 0).await.unwrap();
    cluster
        .install_manifests(INSTALLER, &tibr_testkit::crds_dir())
        .unwrap();
    cluster
}

async fn namespace(client: &Client, name: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}
