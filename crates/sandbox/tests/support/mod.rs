//! The whole product in one sandbox: the operator (in this process, as
//! `tibr-system/tibr-operator`), backup and clean Jobs it creates, run as local processes
//! with the real agent and the BR stand-in (the built multi-call `tibr-sandbox`), the sandbox
//! S3 and cloud, and the simulated TiDB (or MariaDB where a real MySQL server matters).
//! Namespace `test1` gets `deploy/backup-rbac.yaml` as the seed tells users to apply it.
//!
//! What is not about this sandbox (namespace helpers, processes, logs, the RBAC table) is the
//! test kit's; this module starts the sandbox and adds what only its tests do.
#![allow(dead_code)]

use std::{collections::BTreeSet, ops::Deref, path::Path, path::PathBuf};

use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
};
use serde_json::json;
use tibr_sandbox::{
    demo::seed::{self, SeedBackup},
    sandbox::{Sandbox, SandboxConfig, apply},
};
use tibr_testkit::{Ns, S3Access};

#[allow(unused_imports)] // Not every test binary that includes this module uses every helper.
pub use tibr_testkit::{
    NS, S3_SECRET, TIDB_SECRET, br,
    logs::{logs, tail},
    procs::{ProcessWatch, flag},
    status::{assert_no_secrets, condition, status_json},
    wait_until as wait_for,
};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/user";

/// A one-cluster sandbox in `dir/sandbox`; the operator runs in it when `operator`.
pub async fn start_sandbox(dir: &Path, operator: bool) -> Sandbox {
    let mut config = SandboxConfig::new(dir.join("sandbox"), vec!["sandbox".into()]);
    // A test executable cannot serve as `br`: the built binary does.
    config.programs = Some(PathBuf::from(env!("CARGO_BIN_EXE_tibr-sandbox")));
    config.operator = operator;
    let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
    assert!(
        sandbox.mount_namespaces(),
        "these tests need private mount namespaces for pods (root and `unshare --mount`): \
         BR images provide /br that way"
    );
    sandbox
}

pub struct Env {
    pub sandbox: Sandbox,
    ns: Ns,
    _dir: tempfile::TempDir,
}

impl Deref for Env {
    type Target = Ns;
    fn deref(&self) -> &Ns {
        &self.ns
    }
}

impl Env {
    /// A sandbox with the operator, and `backup-rbac.yaml` applied in `test1`.
    pub async fn start() -> Env {
        tibr_testkit::logs::capture_logs("info,tibr_operator=debug", false);
        let dir = tempfile::tempdir().unwrap();
        let sandbox = start_sandbox(dir.path(), true).await;
        assert_eq!(sandbox.operators.len(), 1, "the sandbox runs the operator");
        let client = sandbox.clusters[0].client().await.unwrap();
        let applied = apply::apply(&client, NS, apply::BACKUP_RBAC).await.unwrap();
        assert_eq!(applied.len(), 3, "{applied:?}");
        // Nothing here retries a Backup that ended: a wrong end is reported at once, with
        // the operator's last words.
        let ns = Ns::new(
            client,
            NS,
            sandbox.config.dir.join("pods"),
            S3Access::of(&sandbox.s3),
        )
        .with_diagnostics(|| format!("--- operator:\n{}", tail(&logs(), 60)))
        .stopping_at_end();
        Env {
            sandbox,
            ns,
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

    /// `kubectl annotate sa tidb-backup-manager eks.amazonaws.com/role-arn=<role>`.
    pub async fn annotate_service_account_for_irsa(&self) {
        let patch = json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": ROLE}}});
        Api::<ServiceAccount>::namespaced(self.client.clone(), NS)
            .patch(
                tibr_testkit::BACKUP_SERVICE_ACCOUNT,
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

/// The arguments of every process whose command line matches `matches`.
pub fn processes(matches: impl Fn(&[String]) -> bool) -> Vec<(i32, Vec<String>)> {
    tibr_testkit::procs::processes(|_, args| matches(args))
}

/// A pod's name, ServiceAccount and annotations.
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

/// Every request the agent's pods and the operator made is allowed by the documented table
/// of API calls (see `tibr_testkit::rbac_table`); how many each made.
pub fn assert_rbac_covers_what_ran(env: &Env) -> (usize, usize) {
    tibr_testkit::rbac_table::assert_covers_what_ran(&env.sandbox.clusters[0], NS)
}

pub mod volume;

/// `tibr-sandbox up` as a user runs it, and a shell with its `sandbox.env` loaded.
pub mod up {
    use std::path::Path;

    #[allow(unused_imports)] // Not every test binary that includes this module uses each.
    pub use tibr_testkit::{
        shell::{Shell, load_env, output_ok, stop_up},
        workspace,
    };

    /// `tibr-sandbox up --dir DIR ARGS...` from the workspace with `envs`, until it has
    /// printed its endpoints; returns the process and the lines.
    pub async fn start_up(
        dir: &Path,
        args: &[&str],
        envs: &[(&str, &Path)],
    ) -> (tokio::process::Child, Vec<String>) {
        let sandbox = Path::new(env!("CARGO_BIN_EXE_tibr-sandbox"));
        tibr_testkit::shell::start_up(sandbox, dir, args, envs).await
    }
}
