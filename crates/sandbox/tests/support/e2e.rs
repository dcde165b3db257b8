//! The whole product in one sandbox: the operator (in this process, as
//! `tibr-system/tibr-operator`), backup and clean Jobs it creates, run as local processes
//! with the real agent and the BR stand-in (the built multi-call `tibr-sandbox`), the sandbox
//! S3 and cloud, and the simulated TiDB (or MariaDB where a real MySQL server matters).
//! Namespace `test1` gets `deploy/backup-rbac.yaml` as the seed tells users to apply it.
//!
//! Everything the operator logs in this test process is captured ([`logs`]); pod logs are
//! read from the sandbox's files; [`ProcessWatch`] samples every process's arguments while a
//! test runs, so a secret that reaches a command line is caught.
#![allow(dead_code)]

use tibr_cloud_sim::procs;
#[path = "programs.rs"]
pub mod programs;
#[path = "../../../../xtask/src/rbac_table.rs"]
mod rbac_table;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{Event, Pod, Secret, ServiceAccount},
};
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use tibr_api::Backup;
use tibr_sandbox::{
    demo::seed::{self, SeedBackup},
    sandbox::{Sandbox, apply},
};

pub const NS: &str = "test1";
pub const ROLE: &str = "arn:aws:iam::123456789012:role/user";
pub const TIDB_SECRET: &str = "backup-demo1-tidb-secret";
pub const S3_SECRET: &str = "s3-secret";

/// Every line logged in this test process (the operator's, the sandbox's).
#[allow(unused_imports)] // Not every test binary that includes this module reads them.
pub use tibr_sandbox::testing::logs;

pub struct Env {
    pub sandbox: Sandbox,
    pub client: Client,
    _dir: tempfile::TempDir,
}

impl Env {
    /// A sandbox with the operator, and `backup-rbac.yaml` applied in `test1`.
    pub async fn start() -> Env {
        tibr_sandbox::testing::capture_logs("info,tibr_operator=debug", false);
        let dir = tempfile::tempdir().unwrap();
        let sandbox = programs::start_sandbox(dir.path(), true).await;
        assert_eq!(sandbox.operators.len(), 1, "the sandbox runs the operator");
        let client = sandbox.clusters[0].client().await.unwrap();
        let applied = apply::apply(&client, NS, apply::BACKUP_RBAC).await.unwrap();
        assert_eq!(applied.len(), 3, "{applied:?}");
        Env {
            sandbox,
            client,
            _dir: dir,
        }
    }

    /// The seed's Secrets: `s3-secret` with the sandbox's S3 key, and the TiDB password.
    pub async fn seed_secrets(&self, tidb_password: &str) {
        let (ak, sk) = (
            self.sandbox.s3.access_key.clone(),
            self.sandbox.s3.secret_key.clone(),
        );
        self.secret(S3_SECRET, json!({"access_key": ak, "secret_key": sk}))
            .await;
        self.secret(TIDB_SECRET, json!({"password": tidb_password}))
            .await;
    }

    pub async fn secret(&self, name: &str, data: Value) {
        let secret: Secret =
            serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))
                .unwrap();
        Api::<Secret>::namespaced(self.client.clone(), NS)
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }

    /// `kubectl annotate sa tidb-backup-manager eks.amazonaws.com/role-arn=<role>`.
    pub async fn annotate_service_account_for_irsa(&self) {
        let patch = json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": ROLE}}});
        Api::<ServiceAccount>::namespaced(self.client.clone(), NS)
            .patch(
                "tidb-backup-manager",
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .unwrap();
    }

    /// The seed's Backups with TiDB at `host:port` as `user`, each with its own name and prefix.
    pub fn seed_backups(&self, host: &str, port: u16, user: &str) -> Vec<SeedBackup> {
        seed::backups(host, port, user)
            .unwrap()
            .iter()
            .map(|b| b.distinct().unwrap())
            .collect()
    }

    /// The seed's Backups against the sandbox's simulated TiDB.
    pub fn seed_backups_on_sandbox_tidb(&self) -> Vec<SeedBackup> {
        let t = &self.sandbox.tidb;
        self.seed_backups(&t.host(), t.port(), t.user())
    }

    /// `kubectl apply -f` of YAML text in `test1`.
    pub async fn apply(&self, yaml: &str) {
        apply::apply(&self.client, NS, yaml).await.unwrap();
    }

    /// Creates a Backup from JSON (`metadata.namespace` defaults to `test1`).
    pub async fn create_backup(&self, mut value: Value) -> Backup {
        if value["metadata"]["namespace"].is_null() {
            value["metadata"]["namespace"] = json!(NS);
        }
        let ns = value["metadata"]["namespace"].as_str().unwrap().to_string();
        let b: Backup = serde_json::from_value(value).unwrap();
        Api::<Backup>::namespaced(self.client.clone(), &ns)
            .create(&PostParams::default(), &b)
            .await
            .unwrap()
    }

    pub fn backups(&self) -> Api<Backup> {
        Api::namespaced(self.client.clone(), NS)
    }

    pub async fn get(&self, name: &str) -> Option<Backup> {
        self.backups().get_opt(name).await.unwrap()
    }

    /// Waits until the Backup's phase is `phase`; fails early when it ends in another.
    pub async fn wait_phase(&self, name: &str, phase: &str, secs: u64) -> Backup {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let b = self.get(name).await;
            let now = b
                .as_ref()
                .and_then(|b| b.phase())
                .map(|p| p.as_str().to_string());
            let now = now.as_deref();
            if now == Some(phase) {
                return b.unwrap();
            }
            let ended = matches!(now, Some("Complete" | "Failed" | "Invalid"));
            if ended || tokio::time::Instant::now() > deadline {
                panic!(
                    "Backup {name} is {now:?}, not {phase}:\n{}\n--- pods:\n{}\n--- operator:\n{}",
                    b.map(|b| serde_json::to_string_pretty(&b.status).unwrap())
                        .unwrap_or_default(),
                    self.pod_logs(),
                    tail(&logs(), 60)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the Backup is gone.
    pub async fn wait_gone(&self, name: &str, secs: u64) {
        wait_for(secs, &format!("Backup {name} to be gone"), || async {
            self.get(name).await.is_none().then_some(())
        })
        .await;
    }

    pub async fn delete_backup(&self, name: &str) {
        self.backups()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    pub async fn job(&self, name: &str) -> Option<Job> {
        Api::<Job>::namespaced(self.client.clone(), NS)
            .get_opt(name)
            .await
            .unwrap()
    }

    /// The pods of Job `job`.
    pub async fn pods_of(&self, job: &str) -> Vec<Pod> {
        Api::<Pod>::namespaced(self.client.clone(), NS)
            .list(&ListParams::default().labels(&format!("job-name={job}")))
            .await
            .unwrap()
            .items
    }

    /// Every container log of every pod, with file names.
    pub fn pod_logs(&self) -> String {
        let mut files = Vec::new();
        walk_files(&self.sandbox.config.dir.join("pods"), &mut files);
        files.retain(|f| f.components().any(|c| c.as_os_str() == "logs"));
        files.sort();
        let mut out = String::new();
        for f in files {
            out.push_str(&format!("==> {}\n", f.display()));
            out.push_str(&std::fs::read_to_string(&f).unwrap_or_default());
        }
        out
    }

    /// Events in `test1` as "Type Reason: message" about `name` (any when `None`).
    pub async fn events(&self, name: Option<&str>) -> Vec<String> {
        tibr_sandbox::testing::events(&self.client, NS, name).await
    }

    /// Every Event of every namespace, as JSON text (for secret checks).
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

    /// Object keys under `bucket/prefix` in the sandbox S3 (s3s-fs's dot files left out).
    pub fn objects(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let root = self.sandbox.s3.data_dir.join(bucket);
        let mut files = Vec::new();
        walk_files(&root.join(prefix), &mut files);
        let mut keys: Vec<String> = files
            .iter()
            .filter_map(|f| f.strip_prefix(&root).ok())
            .map(|k| k.to_string_lossy().into_owned())
            .filter(|k| !k.split('/').any(|s| s.starts_with('.')))
            .collect();
        keys.sort();
        keys
    }

    /// Principals (`user/sandbox`, `assumed-role/user/<session>`) that touched objects
    /// under `bucket/prefix/`.
    pub fn principals_under(&self, bucket: &str, prefix: &str) -> BTreeSet<String> {
        let want = format!("{bucket}/{prefix}/");
        self.sandbox
            .cloud
            .credentials
            .uses()
            .into_iter()
            .filter(|(_, dir)| dir.starts_with(&want))
            .map(|(p, _)| p)
            .collect()
    }

    pub async fn stop(self) {
        self.sandbox.stop().await;
    }
}

fn walk_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// Not every test binary that includes this module uses every helper.
#[allow(unused_imports)]
pub use tibr_sandbox::testing::{condition, wait_until as wait_for};

pub fn status_json(b: &Backup) -> String {
    serde_json::to_string(&b.status).unwrap()
}

/// Fails if any of `secrets` appears in `text`.
pub fn assert_no_secrets(what: &str, text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(s.len() >= 8, "a secret worth looking for");
        assert!(
            !text.contains(s),
            "a secret value appears in {what}:\n{}",
            text.lines()
                .filter(|l| l.contains(s))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// The arguments of every process whose command line matches `matches`.
pub fn processes(matches: impl Fn(&[String]) -> bool) -> Vec<(i32, Vec<String>)> {
    procs::processes(|_, args| matches(args))
}

/// Samples every process's command line every 20 ms until stopped: the agents' and BR's
/// argument vectors as they ran (for the tests' assertions), and any command line holding a
/// secret.
pub struct ProcessWatch {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<BTreeSet<Vec<String>>>>,
    task: Option<std::thread::JoinHandle<()>>,
}

impl ProcessWatch {
    pub fn start() -> ProcessWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let (s, v) = (stop.clone(), seen.clone());
        let task = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                for (_, args) in processes(|_| true) {
                    v.lock().unwrap().insert(args);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        ProcessWatch {
            stop,
            seen,
            task: Some(task),
        }
    }

    /// Every distinct argument vector seen so far.
    pub fn seen(&self) -> Vec<Vec<String>> {
        self.seen.lock().unwrap().iter().cloned().collect()
    }

    /// BR's argument vectors (`.../br backup ...`).
    pub fn br_runs(&self) -> Vec<Vec<String>> {
        self.seen()
            .into_iter()
            .filter(|a| a[0].ends_with("/br") && a.get(1).map(String::as_str) == Some("backup"))
            .collect()
    }
}

impl Drop for ProcessWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.task.take() {
            let _ = t.join();
        }
    }
}

/// The value of `--name=value` in an argument vector.
pub fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let prefix = format!("--{name}=");
    args.iter().find_map(|a| a.strip_prefix(&prefix))
}

/// Names of the pods of `job`, with their ServiceAccount and annotations.
pub fn pod_identity(pod: &Pod) -> (String, String, std::collections::BTreeMap<String, String>) {
    (
        pod.name_any(),
        pod.spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        pod.annotations().clone(),
    )
}

/// Every request the agent's pods (ServiceAccount `test1/tidb-backup-manager`) and the
/// operator (`tibr-system/tibr-operator`) made is a row of the table of API calls in
/// `deploy/README.md`, which `cargo xtask`'s tests hold against the Role of
/// `deploy/backup-rbac.yaml` and the ClusterRole of `deploy/operator/rbac.yaml`: so every
/// call that ran is allowed. The agent's calls stay in its namespace (a Role grants no more).
/// Returns how many distinct requests each made, so a test can tell the check saw them.
pub fn assert_rbac_covers_what_ran(env: &Env) -> (usize, usize) {
    use kube_emulator::cluster::Identity;
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/README.md");
    let documented: BTreeSet<rbac_table::Call> =
        rbac_table::calls(&std::fs::read_to_string(readme).unwrap())
            .into_iter()
            .collect();
    let (mut agent, mut operator) = (0, 0);
    for a in env.sandbox.clusters[0].cluster.accesses.all() {
        let Identity::ServiceAccount { namespace, name } = &a.user else {
            continue;
        };
        let who = match (namespace.as_str(), name.as_str()) {
            (NS, "tidb-backup-manager") => {
                agent += 1;
                assert_eq!(a.namespace.as_deref(), Some(NS), "{a:?}");
                "agent"
            }
            ("tibr-system", "tibr-operator") => {
                operator += 1;
                "operator"
            }
            _ => continue,
        };
        let call = rbac_table::Call {
            who: who.to_string(),
            group: a.group.clone(),
            resource: a.resource.clone(),
            verb: a.verb.clone(),
        };
        assert!(
            documented.contains(&call),
            "the table of API calls in deploy/README.md (and so the RBAC manifests) lacks {call:?}"
        );
    }
    (agent, operator)
}
