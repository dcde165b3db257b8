//! A whole sandbox running `tibr-agent` Jobs as the operator will create them: an init
//! container from a BR image copying `/br` into an emptyDir, the agent image's container with
//! `backup|clean --namespace --backup-name`, TiDB Operator's environment (Secrets by
//! reference). The built `tibr-sandbox` is the multi-call binary behind both images.
//! MariaDB (`tibr_tidb::testing`) plays TiDB.
#![allow(dead_code)]

use tibr_cloud_sim::procs;
#[path = "programs.rs"]
mod programs;

pub use programs::vars;

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{Event, Pod, Secret, ServiceAccount},
};
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, PostParams},
};
use serde_json::{Value, json};
use tibr_api::{Backup, BackupConditionType};
use tibr_sandbox::sandbox::Sandbox;
use tibr_storage::{Env as S3Env, OpenOptions, S3Target, Store, Target};
use tibr_tidb::testing::MariaDb;

pub const NS: &str = "test1";
pub const AGENT_IMAGE: &str = "ghcr.io/tibr/tibr-agent:dev";
pub const BR_IMAGE: &str = "pingcap/br:v8.5.0";
pub const TIDB_SECRET: &str = "backup-demo1-tidb-secret";
pub const S3_SECRET: &str = "s3-secret";

pub struct Env {
    pub sandbox: Sandbox,
    pub client: Client,
    _dir: tempfile::TempDir,
}

impl Env {
    pub async fn start() -> Env {
        let dir = tempfile::tempdir().unwrap();
        // These tests create the Jobs themselves, as the operator will.
        let sandbox = programs::start_sandbox(dir.path(), false).await;
        let client = sandbox.clusters[0].client().await.unwrap();
        let sa: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": "tidb-backup-manager"}})).unwrap();
        Api::<ServiceAccount>::namespaced(client.clone(), NS)
            .create(&PostParams::default(), &sa)
            .await
            .unwrap();
        Env {
            sandbox,
            client,
            _dir: dir,
        }
    }

    /// The seed's two Secrets: the TiDB password and S3 keys (the sandbox's, or others).
    pub async fn secrets(&self, tidb_password: &str, access_key: &str, secret_key: &str) {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), NS);
        for (name, data) in [
            (TIDB_SECRET, json!({"password": tidb_password})),
            (
                S3_SECRET,
                json!({"access_key": access_key, "secret_key": secret_key}),
            ),
        ] {
            let secret: Secret =
                serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))
                    .unwrap();
            api.create(&PostParams::default(), &secret).await.unwrap();
        }
    }

    /// The sandbox's own S3 key in `s3-secret`.
    pub async fn sandbox_secrets(&self, tidb_password: &str) {
        let (a, s) = (
            self.sandbox.s3.access_key.clone(),
            self.sandbox.s3.secret_key.clone(),
        );
        self.secrets(tidb_password, &a, &s).await;
    }

    pub async fn create_backup(&self, name: &str, spec: Value) -> Backup {
        let backup: Backup = serde_json::from_value(json!({
            "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
            "metadata": {"name": name, "namespace": NS},
            "spec": spec,
        }))
        .unwrap();
        self.backups()
            .create(&PostParams::default(), &backup)
            .await
            .unwrap()
    }

    pub fn backups(&self) -> Api<Backup> {
        Api::namespaced(self.client.clone(), NS)
    }

    pub async fn backup(&self, name: &str) -> Backup {
        self.backups().get(name).await.unwrap()
    }

    pub async fn create_job(&self, job: Value) {
        let job: Job = serde_json::from_value(job).unwrap();
        Api::<Job>::namespaced(self.client.clone(), NS)
            .create(&PostParams::default(), &job)
            .await
            .unwrap();
    }

    /// Waits for the Job to end; true when it succeeded.
    pub async fn wait_job(&self, name: &str, secs: u64) -> bool {
        let api: Api<Job> = Api::namespaced(self.client.clone(), NS);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let job = api.get(name).await.unwrap();
            let conditions = job
                .status
                .as_ref()
                .and_then(|s| s.conditions.clone())
                .unwrap_or_default();
            for c in &conditions {
                if c.status == "True" && (c.type_ == "Complete" || c.type_ == "Failed") {
                    return c.type_ == "Complete";
                }
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "Job {name} did not end in {secs} s; logs:\n{}",
                    self.logs(name).await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every container log of the Job's pods.
    pub async fn logs(&self, job: &str) -> String {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), NS);
        let list = pods.list(&ListParams::default()).await.unwrap();
        let dir = self.sandbox.config.dir.join("pods/sandbox/logs").join(NS);
        let mut out = String::new();
        let owned = |p: &Pod| p.owner_references().iter().any(|o| o.name == job);
        for pod in list.items.into_iter().filter(owned) {
            let pod_dir = dir.join(pod.name_any());
            let Ok(entries) = std::fs::read_dir(&pod_dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
            files.sort();
            for f in files {
                out.push_str(&format!("==> {}\n", f.display()));
                out.push_str(&std::fs::read_to_string(&f).unwrap_or_default());
            }
        }
        out
    }

    /// Events in the namespace, both APIs, as JSON text.
    pub async fn events(&self) -> String {
        let core: Api<Event> = Api::namespaced(self.client.clone(), NS);
        let list = core.list(&ListParams::default()).await.unwrap();
        serde_json::to_string(&list.items).unwrap()
    }

    /// Reasons of the Events about `backup`.
    pub async fn event_reasons(&self, backup: &str) -> Vec<String> {
        let core: Api<Event> = Api::namespaced(self.client.clone(), NS);
        core.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.involved_object.name.as_deref() == Some(backup))
            .filter_map(|e| e.reason)
            .collect()
    }

    /// A store on the sandbox's S3 (plain HTTP endpoint, the sandbox key).
    pub fn store(&self, bucket: &str, prefix: &str) -> Store {
        let mut target = S3Target::new("aws", tibr_storage::testing::location(bucket, prefix));
        target.endpoint = Some(self.sandbox.s3.endpoint());
        tibr_storage::open_with(
            &Target::S3(target),
            &OpenOptions {
                env: S3Env::empty()
                    .with("AWS_ACCESS_KEY_ID", &self.sandbox.s3.access_key)
                    .with("AWS_SECRET_ACCESS_KEY", &self.sandbox.s3.secret_key)
                    .with("AWS_REGION", "us-west-2"),
                provider_defaults: false,
                ..OpenOptions::default()
            },
        )
        .unwrap()
    }

    /// Keys under `bucket/prefix` as files of the sandbox's S3.
    pub fn objects(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let root = self.sandbox.s3.data_dir.join(bucket);
        let mut out = Vec::new();
        walk(&root, &root.join(prefix), &mut out);
        out.sort();
        out
    }

    pub async fn stop(self) {
        self.sandbox.stop().await;
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            let key = rel.to_string_lossy().into_owned();
            // s3s-fs keeps metadata beside objects in dot files.
            if !key.split('/').any(|s| s.starts_with('.')) {
                out.push(key);
            }
        }
    }
}

fn secret_env(name: &str, secret: &str, key: &str) -> Value {
    json!({"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
}

/// The environment the operator gives backup and clean pods for S3 with static keys
/// (`with_keys`) or IAM, plus the TiDB password when `from` is set.
pub fn operator_env(with_password: bool, with_keys: bool, region: &str) -> Vec<Value> {
    let mut env = vec![];
    if with_password {
        env.push(secret_env(
            "BACKUP_MANAGER_PASSWORD",
            TIDB_SECRET,
            "password",
        ));
    }
    env.extend([
        json!({"name": "S3_PROVIDER", "value": "aws"}),
        json!({"name": "S3_ENDPOINT", "value": ""}),
        json!({"name": "AWS_REGION", "value": region}),
        json!({"name": "AWS_ACL", "value": "private"}),
        json!({"name": "AWS_STORAGE_CLASS", "value": "STANDARD_IA"}),
    ]);
    if with_keys {
        env.push(secret_env("AWS_ACCESS_KEY_ID", S3_SECRET, "access_key"));
        env.push(secret_env("AWS_SECRET_ACCESS_KEY", S3_SECRET, "secret_key"));
    }
    env.push(json!({"name": "BR_LOG_TO_TERM", "value": "\u{1}"}));
    env
}

fn job(kind: &str, name: &str, backoff_limit: u32, init: Option<Value>, env: Vec<Value>) -> Value {
    let mut pod_spec = json!({
        "restartPolicy": "Never",
        "serviceAccountName": "tidb-backup-manager",
        "containers": [{
            "name": kind,
            "image": AGENT_IMAGE,
            "args": [kind, format!("--namespace={NS}"), format!("--backup-name={name}")],
            "env": env,
            "volumeMounts": [{"name": "br-bin", "mountPath": "/var/lib/br-bin"}],
        }],
        "volumes": [{"name": "br-bin", "emptyDir": {}}],
    });
    if let Some(init) = init {
        pod_spec["initContainers"] = json!([init]);
    }
    let labels = json!({
        "app.kubernetes.io/name": "backup",
        "app.kubernetes.io/component": kind,
        "app.kubernetes.io/managed-by": "backup-operator",
        "tidb.pingcap.com/backup": name,
    });
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": format!("{kind}-{name}"), "namespace": NS, "labels": labels},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    })
}

/// `backup-<name>`: BR copied by the init container, then the agent.
pub fn backup_job(name: &str, env: Vec<Value>) -> Value {
    let init = json!({
        "name": "br",
        "image": BR_IMAGE,
        "command": ["/bin/sh", "-c"],
        "args": ["cp /br /var/lib/br-bin/br; echo 'BR copy finished'"],
        "volumeMounts": [{"name": "br-bin", "mountPath": "/var/lib/br-bin"}],
    });
    job("backup", name, 0, Some(init), env)
}

/// `clean-<name>` (one pod, so a failure shows at once).
pub fn clean_job(name: &str, env: Vec<Value>) -> Value {
    job("clean", name, 0, None, env)
}

/// Fails if any of `secrets` appears in `text`.
pub fn assert_no_secrets(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!s.is_empty());
        assert!(
            !text.contains(s),
            "a secret value appears in {what}:\n{text}"
        );
    }
}

/// The value of `[key=value]` in a BR log line.
pub fn br_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("[{key}="))? + key.len() + 2;
    let rest = &line[start..];
    match rest.strip_prefix('"') {
        Some(q) => q.split('"').next(),
        None => rest.split(']').next(),
    }
}

/// The seed's static-key Backup (`backup-aws-s3.yaml`), `${tidb_*}` filled in with MariaDB.
pub fn seed_spec(db: &MariaDb, prefix: &str) -> Value {
    json!({
        "backupType": "full",
        "br": {"cluster": "demo1", "clusterNamespace": "test1"},
        "from": {"host": "127.0.0.1", "port": db.port, "user": tibr_tidb::testing::USER,
                 "secretName": TIDB_SECRET},
        "s3": {"provider": "aws", "secretName": S3_SECRET, "region": "us-west-1",
               "bucket": "my-bucket", "prefix": prefix}
    })
}

/// BR takes a few seconds (4 MiB at about 1 MiB/s), with frequent progress.
pub fn slow_br() -> Vec<Value> {
    vars(programs::SLOW_BR)
}

pub fn quick_br() -> Vec<Value> {
    vars(programs::QUICK_BR)
}

pub fn status(b: &Backup) -> Value {
    serde_json::to_value(b.status.clone().unwrap_or_default()).unwrap()
}

pub fn condition(b: &Backup, t: BackupConditionType) -> &tibr_api::BackupCondition {
    b.status
        .as_ref()
        .and_then(|s| s.condition(&t))
        .unwrap_or_else(|| panic!("no {t:?} condition in {}", status(b)))
}

/// The agent's process id, found by its command line.
pub fn agent_pid(backup: &str) -> Option<i32> {
    let wanted = format!("--backup-name={backup}");
    find_process(|_, args| {
        args.first().is_some_and(|a| a.ends_with("/tibr-agent")) && args.contains(&wanted)
    })
}

/// The BR process the agent `agent` started.
pub fn br_pid(agent: i32) -> Option<i32> {
    find_process(|pid, args| {
        parent(pid) == Some(agent) && args.first().is_some_and(|a| a.ends_with("/br"))
    })
}

/// The parent process id, from `/proc/<pid>/stat` (the field after the command's `)`).
pub fn parent(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Kills a pod's processes when the test ends, however it ends: a BR left hanging at 30 %
/// would otherwise outlive a failed test.
pub struct KillGroup(pub nix::unistd::Pid);

impl Drop for KillGroup {
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(self.0, nix::sys::signal::Signal::SIGKILL);
    }
}

pub fn find_process(matches: impl Fn(i32, &[String]) -> bool) -> Option<i32> {
    procs::processes(matches).first().map(|(pid, _)| *pid)
}

/// Starts a backup whose BR hangs at 30 %, and waits until it is there with the GC raised.
pub async fn hanging_backup(env: &Env, db: &MariaDb, name: &str) -> i32 {
    env.sandbox_secrets(db.password()).await;
    env.create_backup(name, seed_spec(db, name)).await;
    let mut job_env = operator_env(true, true, "us-west-1");
    job_env.extend(quick_br());
    job_env.extend(vars(programs::HANGING_BR));
    env.create_job(backup_job(name, job_env)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let b = env.backup(name).await;
        let hanging = b.status.as_ref().is_some_and(|s| {
            s.phase == Some(BackupConditionType::Running)
                && s.progresses
                    .iter()
                    .any(|p| p.progress.unwrap_or(0.0) >= 30.0)
        });
        if hanging
            && db.gc_life_time() == "72h0m0s"
            && let Some(pid) = agent_pid(name)
        {
            return pid;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "BR did not reach 30 %:\n{}",
            env.logs(&format!("backup-{name}")).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
