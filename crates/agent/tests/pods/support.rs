//! The agent's harness: the test kit's [`World`] with the cloud, running Jobs as the
//! operator will create them: an init container from a BR image copying `/br` into an
//! emptyDir, the agent image's container with `backup|clean --namespace --backup-name`,
//! TiDB Operator's environment (Secrets by reference). The agent image runs the built
//! `tibr-agent`; BR images provide this test executable as `/br`, which `main` runs as the
//! BR stand-in under that name. MariaDB (`tibr_tidb::testing`) plays TiDB.

use std::{ops::Deref, path::PathBuf, time::Duration};

use serde_json::{Value, json};
use tibr_api::{Backup, BackupConditionType};
use tibr_cloud_sim::runner::ImageRule;
use tibr_tidb::testing::MariaDb;

pub use tibr_testkit::{
    NS, Ns, S3_SECRET, TIDB_SECRET, World, WorldOptions,
    br::{HANGING_BR, QUICK_BR, SLOW_BR, field as br_field, vars},
    procs::{KillGroup, agent_pid, br_pid},
    status::assert_no_secrets,
};

pub const AGENT_IMAGE: &str = "ghcr.io/tibr/tibr-agent:dev";
pub const BR_IMAGE: &str = "pingcap/br:v8.5.0";

pub struct Env {
    pub world: World,
    pub ns: Ns,
    /// `br`, a link to this test executable, which BR images provide as `/br`.
    _bin: tempfile::TempDir,
}

impl Deref for Env {
    type Target = Ns;
    fn deref(&self) -> &Ns {
        &self.ns
    }
}

impl Env {
    pub async fn start() -> Env {
        let bin = tempfile::tempdir().unwrap();
        let br = bin.path().join("br");
        std::os::unix::fs::symlink(std::env::current_exe().unwrap(), &br).unwrap();
        let agent = PathBuf::from(env!("CARGO_BIN_EXE_tibr-agent"));
        let mut br_rule = ImageRule::new("pingcap/br*", None);
        br_rule.files.push(("/br".to_string(), br));
        let world = World::start(WorldOptions {
            cluster: "sandbox".to_string(),
            // These tests create the Jobs themselves, as the operator will.
            images: vec![
                ImageRule::new("ghcr.io/tibr/tibr-agent*", Some(agent)),
                br_rule,
            ],
            cloud: true,
            ..WorldOptions::default()
        })
        .await;
        assert!(
            world.mount_namespaces(),
            "these tests need private mount namespaces for pods (root and `unshare --mount`): \
             BR images provide /br that way"
        );
        let ns = world.ns(NS);
        Env {
            world,
            ns,
            _bin: bin,
        }
    }

    /// The seed's two Secrets: the TiDB password and S3 keys (the sandbox's, or others).
    pub async fn secrets(&self, tidb_password: &str, access_key: &str, secret_key: &str) {
        self.secret(TIDB_SECRET, json!({"password": tidb_password}))
            .await;
        self.secret(
            S3_SECRET,
            json!({"access_key": access_key, "secret_key": secret_key}),
        )
        .await;
    }

    /// The sandbox's own S3 key in `s3-secret`.
    pub async fn sandbox_secrets(&self, tidb_password: &str) {
        let (a, s) = (self.s3.access_key.clone(), self.s3.secret_key.clone());
        self.secrets(tidb_password, &a, &s).await;
    }

    pub async fn create_backup(&self, name: &str, spec: Value) -> Backup {
        self.ns
            .create_backup(json!({
                "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
                "metadata": {"name": name, "namespace": NS},
                "spec": spec,
            }))
            .await
    }

    /// A store on the sandbox's S3 (plain HTTP endpoint, the sandbox key).
    pub fn store(&self, bucket: &str, prefix: &str) -> tibr_storage::Store {
        self.s3.store(bucket, prefix)
    }

    pub async fn stop(self) {
        self.world.stop().await;
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
    vars(SLOW_BR)
}

pub fn quick_br() -> Vec<Value> {
    vars(QUICK_BR)
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

/// Starts a backup whose BR hangs at 30 %, and waits until it is there with the GC raised.
pub async fn hanging_backup(env: &Env, db: &MariaDb, name: &str) -> i32 {
    env.sandbox_secrets(db.password()).await;
    env.create_backup(name, seed_spec(db, name)).await;
    let mut job_env = operator_env(true, true, "us-west-1");
    job_env.extend(quick_br());
    job_env.extend(vars(HANGING_BR));
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
            env.job_logs(&format!("backup-{name}")).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
