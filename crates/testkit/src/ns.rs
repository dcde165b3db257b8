//! One namespace of an emulated cluster as tests use it: Backups, Secrets, Jobs and Events
//! through the API, and what pods logged and wrote to S3 from the files behind them.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{Event, Namespace, Pod, Secret, ServiceAccount},
};
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, ListParams, PostParams},
};
use serde_json::{Value, json};
use tibr_api::Backup;
use tibr_cloud_sim::s3::S3Server;
use tibr_storage::{Env as S3Env, OpenOptions, S3Target, Store, Target};

/// The sandbox S3 as a client on the host reaches it: the plain HTTP endpoint and the
/// long-term key, and the directory its objects are files in.
#[derive(Clone, Debug)]
pub struct S3Access {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub data_dir: PathBuf,
}

impl S3Access {
    pub fn of(s3: &S3Server) -> S3Access {
        S3Access {
            endpoint: s3.endpoint(),
            access_key: s3.access_key.clone(),
            secret_key: s3.secret_key.clone(),
            data_dir: s3.data_dir.clone(),
        }
    }

    /// A store on `bucket/prefix` with the sandbox key, no provider defaults.
    pub fn store(&self, bucket: &str, prefix: &str) -> Store {
        let mut target = S3Target::new("aws", tibr_storage::testing::location(bucket, prefix));
        target.endpoint = Some(self.endpoint.clone());
        tibr_storage::open_with(
            &Target::S3(target),
            &OpenOptions {
                env: S3Env::empty()
                    .with("AWS_ACCESS_KEY_ID", &self.access_key)
                    .with("AWS_SECRET_ACCESS_KEY", &self.secret_key)
                    .with("AWS_REGION", tibr_cloud_sim::s3::REGION),
                provider_defaults: false,
                ..OpenOptions::default()
            },
        )
        .unwrap()
    }

    /// Object keys under `bucket/prefix`, read from the server's files (s3s-fs keeps
    /// metadata beside objects in dot files, which are left out).
    pub fn objects(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let root = self.data_dir.join(bucket);
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
}

type Diagnose = Arc<dyn Fn() -> String + Send + Sync>;

/// A namespace of a cluster, with the files of the pods that run in it.
#[derive(Clone)]
pub struct Ns {
    pub client: Client,
    pub name: String,
    /// Where the job runners keep pod files: `<pods_dir>/<cluster>/logs/<namespace>/<pod>/`.
    pub pods_dir: PathBuf,
    pub s3: S3Access,
    /// More to show when a wait fails (the operator's log, say).
    diagnose: Option<Diagnose>,
    /// Whether waiting for a phase gives up as soon as the Backup ends in another one: for
    /// tests where nothing retries, so a failure shows at once with its cause.
    stop_at_end: bool,
}

impl std::fmt::Debug for Ns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ns").field("name", &self.name).finish()
    }
}

impl Ns {
    pub fn new(client: Client, name: &str, pods_dir: PathBuf, s3: S3Access) -> Ns {
        Ns {
            client,
            name: name.to_string(),
            pods_dir,
            s3,
            diagnose: None,
            stop_at_end: false,
        }
    }

    /// The same cluster's namespace `name`.
    pub fn other(&self, name: &str) -> Ns {
        Ns {
            name: name.to_string(),
            ..self.clone()
        }
    }

    /// Failures while waiting also show what `diagnose` returns.
    pub fn with_diagnostics(mut self, diagnose: impl Fn() -> String + Send + Sync + 'static) -> Ns {
        self.diagnose = Some(Arc::new(diagnose));
        self
    }

    /// [`Ns::wait_phase`] fails as soon as the Backup is `Complete`, `Failed` or `Invalid`
    /// and not in the phase waited for.
    pub fn stopping_at_end(mut self) -> Ns {
        self.stop_at_end = true;
        self
    }

    pub fn backups(&self) -> Api<Backup> {
        Api::namespaced(self.client.clone(), &self.name)
    }

    pub fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), &self.name)
    }

    pub async fn get(&self, name: &str) -> Option<Backup> {
        self.backups().get_opt(name).await.unwrap()
    }

    /// The Backup, which must exist.
    pub async fn backup(&self, name: &str) -> Backup {
        self.backups().get(name).await.unwrap()
    }

    /// Creates a Backup from JSON (`metadata.namespace` defaults to this namespace).
    pub async fn create_backup(&self, mut value: Value) -> Backup {
        if value["metadata"]["namespace"].is_null() {
            value["metadata"]["namespace"] = json!(self.name);
        }
        let ns = value["metadata"]["namespace"].as_str().unwrap().to_string();
        let b: Backup = serde_json::from_value(value).unwrap();
        Api::<Backup>::namespaced(self.client.clone(), &ns)
            .create(&PostParams::default(), &b)
            .await
            .unwrap()
    }

    pub async fn delete_backup(&self, name: &str) {
        self.backups()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Waits until the Backup's phase is `phase`, failing with its status, the pods' logs and
    /// the diagnostics after `secs` seconds (or at another end, see [`Ns::stopping_at_end`]).
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
            let ended = self.stop_at_end && matches!(now, Some("Complete" | "Failed" | "Invalid"));
            if ended || tokio::time::Instant::now() > deadline {
                panic!(
                    "Backup {}/{name} is {now:?}, not {phase} (after {secs}s at most):\n{}\n--- pods:\n{}\n--- more:\n{}",
                    self.name,
                    b.map(|b| serde_json::to_string_pretty(&b.status).unwrap())
                        .unwrap_or_default(),
                    self.pod_logs(),
                    self.diagnose.as_ref().map(|d| d()).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the Backup is gone.
    pub async fn wait_gone(&self, name: &str, secs: u64) {
        crate::wait_until(secs, &format!("Backup {name} to be gone"), || async {
            self.get(name).await.is_none().then_some(())
        })
        .await;
    }

    /// Creates namespace `name` of this cluster with the backup ServiceAccount in it.
    pub async fn create_namespace(&self, name: &str) -> Ns {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        api.create(&PostParams::default(), &ns).await.unwrap();
        let other = self.other(name);
        other.service_account().await;
        other
    }

    /// The ServiceAccount backup pods run as (`deploy/backup-rbac.yaml` creates it), unless
    /// it exists.
    pub async fn service_account(&self) {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &self.name);
        let sa: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": crate::BACKUP_SERVICE_ACCOUNT}}))
                .unwrap();
        let _ = api.create(&PostParams::default(), &sa).await;
    }

    /// A Secret with `data` (a JSON object of strings) as `stringData`.
    pub async fn secret(&self, name: &str, data: Value) {
        let secret: Secret =
            serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))
                .unwrap();
        Api::<Secret>::namespaced(self.client.clone(), &self.name)
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }

    pub async fn job(&self, name: &str) -> Option<Job> {
        self.jobs().get_opt(name).await.unwrap()
    }

    pub async fn create_job(&self, job: Value) {
        let job: Job = serde_json::from_value(job).unwrap();
        self.jobs()
            .create(&PostParams::default(), &job)
            .await
            .unwrap();
    }

    /// Waits for the Job to end; true when it succeeded.
    pub async fn wait_job(&self, name: &str, secs: u64) -> bool {
        let ended = crate::poll(Duration::from_secs(secs), || async {
            let job = self.jobs().get(name).await.unwrap();
            let conditions = job.status.and_then(|s| s.conditions).unwrap_or_default();
            conditions
                .iter()
                .find(|c| c.status == "True" && (c.type_ == "Complete" || c.type_ == "Failed"))
                .map(|c| c.type_ == "Complete")
        })
        .await;
        match ended {
            Ok(complete) => complete,
            Err(_) => panic!(
                "Job {name} did not end in {secs} s; logs:\n{}",
                self.job_logs(name).await
            ),
        }
    }

    /// The pods of Job `job`.
    pub async fn pods_of(&self, job: &str) -> Vec<Pod> {
        Api::<Pod>::namespaced(self.client.clone(), &self.name)
            .list(&ListParams::default().labels(&format!("job-name={job}")))
            .await
            .unwrap()
            .items
    }

    /// Every container log of the pods Job `job` owns.
    pub async fn job_logs(&self, job: &str) -> String {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.name);
        let list = pods.list(&ListParams::default()).await.unwrap();
        let owned = |p: &Pod| p.owner_references().iter().any(|o| o.name == job);
        let mut out = String::new();
        for pod in list.items.into_iter().filter(owned) {
            for cluster in subdirs(&self.pods_dir) {
                let pod_dir = cluster.join("logs").join(&self.name).join(pod.name_any());
                let mut files = Vec::new();
                walk_files(&pod_dir, &mut files);
                files.sort();
                append_files(&mut out, &files);
            }
        }
        out
    }

    /// Every container log of every pod of every namespace, with file names.
    pub fn pod_logs(&self) -> String {
        let mut files = Vec::new();
        walk_files(&self.pods_dir, &mut files);
        files.retain(|f| f.components().any(|c| c.as_os_str() == "logs"));
        files.sort();
        let mut out = String::new();
        append_files(&mut out, &files);
        out
    }

    /// Events in this namespace as "Type Reason: message" about the object named
    /// `regarding` (any when `None`).
    pub async fn events(&self, regarding: Option<&str>) -> Vec<String> {
        kube_emulator::testing::events(&self.client, &self.name, regarding).await
    }

    /// The Events (core/v1) of this namespace as JSON text (for secret checks).
    pub async fn events_json(&self) -> String {
        let core: Api<Event> = Api::namespaced(self.client.clone(), &self.name);
        let list = core.list(&ListParams::default()).await.unwrap();
        serde_json::to_string(&list.items).unwrap()
    }

    /// Reasons of the Events about `name`.
    pub async fn event_reasons(&self, name: &str) -> Vec<String> {
        let core: Api<Event> = Api::namespaced(self.client.clone(), &self.name);
        core.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.involved_object.name.as_deref() == Some(name))
            .filter_map(|e| e.reason)
            .collect()
    }

    /// Every Event of every namespace, both APIs, as JSON text (for secret checks).
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

    /// Object keys under `bucket/prefix` in the sandbox S3.
    pub fn objects(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.s3.objects(bucket, prefix)
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn append_files(out: &mut String, files: &[PathBuf]) {
    for f in files {
        out.push_str(&format!("==> {}\n", f.display()));
        out.push_str(&std::fs::read_to_string(f).unwrap_or_default());
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
