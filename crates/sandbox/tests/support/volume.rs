//! A three-cluster sandbox (`control`, `dp-1`, `dp-2`) with TidbCluster `test1/demo1`
//! stretched over the two data planes, driven as TiDB's federation manager drives it: member
//! Backups `fed-<vbk>` written and patched with the real `kubectl`, one context per plane.
//! The simulated PD and the embedded EC2 are read directly, to prove what was paused and
//! what is left.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use serde_json::{Value, json};
use tibr_api::Backup;
use tibr_cloud_sim::ec2::SnapshotView;
use tibr_sandbox::sandbox::{Sandbox, SandboxConfig, apply};
use tibr_testkit::shell::Shell;
use tibr_testkit::{Ns, S3Access};

use super::{NS, S3_SECRET, logs, tail};

pub const PLANES: [&str; 2] = ["dp-1", "dp-2"];
pub const BUCKET: &str = "my-bucket";

pub struct Planes {
    pub sandbox: Sandbox,
    pub shell: Shell,
    /// The data planes, `dp-1`, `dp-2`, ...
    pub planes: Vec<String>,
    /// `test1` of each data plane, in `planes` order.
    pub ns: Vec<Ns>,
    _dir: tempfile::TempDir,
}

impl Planes {
    /// The sandbox with the operator in every cluster, `backup-rbac.yaml` and the S3 Secret
    /// in `test1` of each data plane, and `ec2` applied to the embedded EC2 first.
    pub async fn start(snapshot_duration: Duration) -> Planes {
        Planes::start_n(snapshot_duration, PLANES.len()).await
    }

    /// [`Planes::start`] with `n` data planes.
    pub async fn start_n(snapshot_duration: Duration, n: usize) -> Planes {
        tibr_testkit::logs::capture_logs("info,tibr_operator=debug,tibr_federation=debug", false);
        let dir = tempfile::tempdir().unwrap();
        let planes: Vec<String> = (1..=n).map(|i| format!("dp-{i}")).collect();
        let names = std::iter::once("control".to_string())
            .chain(planes.iter().cloned())
            .collect();
        let mut config = SandboxConfig::new(dir.path().join("sandbox"), names);
        config.programs = Some(PathBuf::from(env!("CARGO_BIN_EXE_tibr-sandbox")));
        let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
        sandbox.ec2().set_snapshot_duration(snapshot_duration);
        assert_eq!(sandbox.stretched.len(), n, "demo1 spans every data plane");
        let mut ns = Vec::new();
        for plane in &planes {
            let cluster = sandbox.cluster(plane).unwrap();
            let client = cluster.client().await.unwrap();
            apply::apply(&client, NS, apply::BACKUP_RBAC).await.unwrap();
            let n = Ns::new(
                client,
                NS,
                sandbox.config.dir.join("pods"),
                S3Access::of(&sandbox.s3),
            )
            .with_diagnostics(|| format!("--- operators:\n{}", tail(&logs(), 80)));
            n.secret(
                S3_SECRET,
                json!({"access_key": sandbox.s3.access_key, "secret_key": sandbox.s3.secret_key}),
            )
            .await;
            ns.push(n);
        }
        let shell = Shell::new(&sandbox.config.dir, dir.path());
        Planes {
            sandbox,
            shell,
            planes,
            ns,
            _dir: dir,
        }
    }

    pub fn plane(&self, plane: &str) -> &Ns {
        let i = self.planes.iter().position(|p| p == plane).unwrap();
        &self.ns[i]
    }

    /// `kubectl --context <plane> apply` of the member Backup `name` as TiDB's federation
    /// manager writes it, `extra` merged into its spec.
    pub async fn apply_member(&self, plane: &str, name: &str, phase: &str, extra: Value) {
        self.apply_member_object(plane, name, phase, json!({ "spec": extra }))
            .await;
    }

    /// [`Planes::apply_member`] with `object` merged into the whole object (metadata too).
    pub async fn apply_member_object(&self, plane: &str, name: &str, phase: &str, object: Value) {
        let mut doc = member(plane, name, phase, json!({}));
        merge(&mut doc, object);
        let yaml = yaml_serde::to_string(&doc).unwrap();
        let file = self.shell.dir.join(format!("{plane}-{name}.yaml"));
        std::fs::write(&file, yaml).unwrap();
        let out = self
            .shell
            .ok(&["--context", plane, "apply", "-f", &file.to_string_lossy()])
            .await;
        assert!(out.contains(&format!("backup.pingcap.com/{name}")), "{out}");
    }

    /// `kubectl --context <plane> patch backup <name> --type merge -p {"spec": spec}`.
    pub async fn patch_spec(&self, plane: &str, name: &str, spec: Value) {
        let body = json!({ "spec": spec }).to_string();
        self.shell
            .ok(&[
                "--context",
                plane,
                "-n",
                NS,
                "patch",
                "backup",
                name,
                "--type",
                "merge",
                "-p",
                &body,
            ])
            .await;
    }

    /// Waits until condition `type_` of the member is `True`; its Backup.
    pub async fn wait_condition(&self, plane: &str, name: &str, type_: &str, secs: u64) -> Backup {
        let ns = self.plane(plane);
        tibr_testkit::wait_until(secs, &format!("{type_} on {plane}/{name}"), || async {
            let b = ns.get(name).await?;
            let has = b
                .status
                .as_ref()?
                .conditions
                .iter()
                .any(|c| c.type_.as_str() == type_ && c.status.as_str() == "True");
            has.then_some(b)
        })
        .await
    }

    /// The condition types of the member in the order they were first set, with reasons.
    pub async fn conditions(&self, plane: &str, name: &str) -> Vec<(String, String)> {
        let b = self.plane(plane).backup(name).await;
        b.status
            .map(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.type_.as_str().to_string(), c.reason.unwrap_or_default()))
            .collect()
    }

    /// The snapshots of the embedded EC2 tagged with the member's name.
    pub fn snapshots_of(&self, name: &str) -> Vec<SnapshotView> {
        self.sandbox
            .ec2()
            .snapshots()
            .into_iter()
            .filter(|s| s.tags.get("tibr.dev/backup-name").map(String::as_str) == Some(name))
            .collect()
    }

    /// What the simulated PD recorded: `(event, by)` in order.
    pub fn pd_history(&self) -> Vec<(String, String)> {
        let snap = self.sandbox.pd.pd().snapshot();
        snap.history
            .iter()
            .map(|h| {
                let event = serde_json::to_value(h.event).unwrap();
                (
                    event.as_str().unwrap_or_default().to_string(),
                    h.by.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Whether GC or PD scheduling is paused now.
    pub fn paused(&self) -> bool {
        let snap = self.sandbox.pd.pd().snapshot();
        snap.schedulers.paused || !snap.service_gc_safe_points.is_empty()
    }

    /// Objects under `prefix` of the bucket.
    pub fn objects(&self, prefix: &str) -> Vec<String> {
        self.ns[0].objects(BUCKET, prefix)
    }

    /// What a timed-out wait on VolumeBackup `name` needs to say where it stopped: its
    /// status, each member's phase and conditions, the control plane's Events about it, the
    /// simulated PD's history and the tail of the controllers' logs.
    pub async fn describe_volume_backup(
        &self,
        vbks: &kube::Api<tibr_api::federation::v1alpha1::VolumeBackup>,
        name: &str,
    ) -> String {
        let mut out = String::new();
        let status = vbks.get_opt(name).await.ok().flatten().map(|v| v.status);
        out += &format!("--- {name}: {status:#?}\n");
        for (plane, ns) in self.planes.iter().zip(&self.ns) {
            let member = format!("fed-{name}");
            let state = ns.get(&member).await.map(|b| {
                let s = b.status.unwrap_or_default();
                let conditions: Vec<_> = s
                    .conditions
                    .iter()
                    .map(|c| {
                        format!(
                            "{}={} ({})",
                            c.type_.as_str(),
                            c.status.as_str(),
                            c.reason.as_deref().unwrap_or("")
                        )
                    })
                    .collect();
                format!("{:?} {conditions:?}", s.phase)
            });
            out += &format!("--- {plane}/{member}: {state:?}\n");
        }
        let client = vbks.clone().into_client();
        let events = kube_emulator::testing::events(&client, NS, Some(name)).await;
        out += &format!("--- events: {events:#?}\n--- pd: {:?}\n", self.pd_history());
        out += &format!("--- logs:\n{}", tail(&logs(), 120));
        out
    }

    pub async fn stop(self) {
        self.sandbox.stop().await;
    }
}

/// The member Backup TiDB's federation manager writes for VolumeBackup `vbk` into `plane`.
pub fn member(plane: &str, name: &str, phase: &str, extra: Value) -> Value {
    let vbk = name.trim_start_matches("fed-");
    let mut spec = json!({
        "backupMode": "volume-snapshot",
        "backupType": "full",
        "federalVolumeBackupPhase": phase,
        "br": {"cluster": "demo1", "clusterNamespace": NS},
        "s3": {"provider": "aws", "region": "us-west-2", "bucket": BUCKET,
               "prefix": format!("{vbk}-{plane}"), "secretName": S3_SECRET},
        "toolImage": "pingcap/br:v8.5.0",
        "cleanPolicy": "Delete",
        "calcSizeLevel": "all",
    });
    if phase == "initialize" {
        spec["volumeBackupInitJobMaxActiveSeconds"] = json!(600);
    }
    merge(&mut spec, extra);
    json!({
        "apiVersion": "pingcap.com/v1alpha1",
        "kind": "Backup",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    })
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

/// Environment entries for `spec.env` (the BR stand-in's switches reach BR this way).
pub fn env(vars: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = vars
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    json!({ "env": list })
}

/// Counts per PD event name.
pub fn counts(history: &[(String, String)]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (event, _) in history {
        *out.entry(event.clone()).or_insert(0) += 1;
    }
    out
}
