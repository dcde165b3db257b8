//! As a new user tries it: `tibr-sandbox up` in one shell, the real `kubectl` in another with
//! `sandbox.env` loaded, the seed's commands (`backup-rbac.yaml`, `kubectl create secret
//! generic ...`) and the seed's first Backup YAML with its placeholders filled in, waited for
//! with `kubectl wait`; an invalid Backup explains itself in `kubectl describe`; SIGTERM stops
//! everything. And `tibr-sandbox demo` passes, as the README promises.

#[path = "support/e2e.rs"]
mod e2e;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::io::{AsyncBufReadExt, BufReader};

struct Shell {
    env: BTreeMap<String, String>,
    cache: PathBuf,
    dir: PathBuf,
}

impl Shell {
    /// `kubectl args...` with `sandbox.env` loaded: (success, stdout, stderr).
    async fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::process::Command::new("kubectl")
            .args(args)
            .arg("--cache-dir")
            .arg(&self.cache)
            .envs(&self.env)
            .current_dir(&self.dir)
            .output()
            .await
            .expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.kubectl(args).await;
        assert!(ok, "kubectl {args:?} failed:\n{out}\n{err}");
        out
    }

    fn var(&self, name: &str) -> &str {
        self.env.get(name).map(String::as_str).unwrap_or_default()
    }
}

/// The variables `sandbox.env` exports (single-quoted shell assignments).
fn load_env(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[tokio::test]
async fn a_new_user_takes_the_seeds_backup_with_up_and_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox_dir = dir.path().join("sbx");
    let (mut up, printed) = start_up(&sandbox_dir).await;
    let operator = printed
        .iter()
        .find(|l| l.starts_with("operator sandbox"))
        .unwrap_or_else(|| panic!("up says where the operator runs: {printed:?}"));
    assert!(
        operator.contains("tibr-system/tibr-operator")
            && operator.contains("ghcr.io/tibr/tibr-agent:v"),
        "{operator}"
    );
    // The metrics endpoint it prints answers.
    let metrics = operator
        .split("metrics http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();

    let shell = Shell {
        env: load_env(&sandbox_dir.join("sandbox.env")),
        cache: dir.path().join("kubectl-cache"),
        dir: dir.path().to_path_buf(),
    };
    let rbac = workspace().join("deploy/backup-rbac.yaml");
    let out = shell
        .ok(&["apply", "-f", rbac.to_str().unwrap(), "-n", "test1"])
        .await;
    assert!(
        out.contains("serviceaccount/tidb-backup-manager created"),
        "{out}"
    );
    let access = format!(
        "--from-literal=access_key={}",
        shell.var("AWS_ACCESS_KEY_ID")
    );
    let secret = format!(
        "--from-literal=secret_key={}",
        shell.var("AWS_SECRET_ACCESS_KEY")
    );
    shell
        .ok(&[
            "create",
            "secret",
            "generic",
            "s3-secret",
            &access,
            &secret,
            "--namespace=test1",
        ])
        .await;
    let password = format!("--from-literal=password={}", shell.var("TIDB_PASSWORD"));
    shell
        .ok(&[
            "create",
            "secret",
            "generic",
            "backup-demo1-tidb-secret",
            &password,
            "--namespace=test1",
        ])
        .await;

    // The seed's backup-aws-s3.yaml, ${tidb_host} ${tidb_port} ${tidb_user} from sandbox.env.
    let seed = tibr_sandbox::demo::seed::backups(
        shell.var("TIDB_HOST"),
        shell.var("TIDB_PORT").parse().unwrap(),
        shell.var("TIDB_USER"),
    )
    .unwrap();
    std::fs::write(dir.path().join("backup-aws-s3.yaml"), &seed[0].yaml).unwrap();
    let out = shell.ok(&["apply", "-f", "backup-aws-s3.yaml"]).await;
    assert!(
        out.contains("backup.pingcap.com/demo1-backup-s3 created"),
        "{out}"
    );
    let (ok, out, err) = shell
        .kubectl(&[
            "wait",
            "--for=jsonpath={.status.phase}=Complete",
            "bk/demo1-backup-s3",
            "-n",
            "test1",
            "--timeout=90s",
        ])
        .await;
    assert!(
        ok,
        "{out}\n{err}\n{}",
        shell.ok(&["get", "bk", "-n", "test1", "-o", "yaml"]).await
    );
    let table = shell.ok(&["get", "bk", "-n", "test1", "-o", "wide"]).await;
    assert!(
        table.contains("demo1-backup-s3")
            && table.contains("Complete")
            && table.contains("s3://my-bucket/my-folder"),
        "{table}"
    );
    assert!(
        sandbox_dir
            .join("s3/my-bucket/my-folder/backupmeta")
            .is_file(),
        "the backup is in the sandbox's S3"
    );

    // An invalid Backup explains itself.
    let invalid = seed[0]
        .yaml
        .replace("name: demo1-backup-s3", "name: demo1-backup-kms")
        .replace(
            "spec:\n",
            "spec:\n  useKMS: true\n  tikvGCLifeTime: 3 days\n",
        );
    std::fs::write(dir.path().join("invalid.yaml"), invalid).unwrap();
    shell.ok(&["apply", "-f", "invalid.yaml"]).await;
    shell
        .ok(&[
            "wait",
            "--for=jsonpath={.status.phase}=Invalid",
            "bk/demo1-backup-kms",
            "-n",
            "test1",
            "--timeout=30s",
        ])
        .await;
    let described = shell
        .ok(&["describe", "bk", "demo1-backup-kms", "-n", "test1"])
        .await;
    for want in [
        "InvalidSpec",
        "spec.useKMS: KMS-encrypted credentials are not supported",
        "spec.tikvGCLifeTime",
    ] {
        assert!(described.contains(want), "{want} in:\n{described}");
    }
    assert!(
        described.contains("Events:") && described.contains("Warning"),
        "the Event shows in describe:\n{described}"
    );

    let scraped = reqwest_get(&metrics, "/metrics").await;
    assert!(
        scraped.starts_with("HTTP/1.1 200")
            && scraped.contains("tibr_operator_reconciles_total{controller=\"backup\"}"),
        "{scraped}"
    );

    stop_up(&mut up, &sandbox_dir).await;
}

/// `tibr-sandbox up --dir DIR` from the workspace, until it has printed its endpoints.
async fn start_up(dir: &Path) -> (tokio::process::Child, Vec<String>) {
    let mut up = tokio::process::Command::new(env!("CARGO_BIN_EXE_tibr-sandbox"))
        .args(["up", "--dir"])
        .arg(dir)
        .current_dir(workspace())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(up.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while !printed
        .iter()
        .any(|l: &String| l.starts_with("environment"))
    {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("up prints its endpoints");
        printed.push(line);
    }
    (up, printed)
}

/// SIGTERM: `up` exits 0 and leaves no process of its own behind.
async fn stop_up(up: &mut tokio::process::Child, dir: &Path) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(up.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), up.wait())
        .await
        .expect("up stops within 30 s")
        .unwrap();
    assert!(status.success(), "up exits 0 on SIGTERM: {status:?}");
    let marker = dir.to_string_lossy().into_owned();
    let left = e2e::processes(|a| a.iter().any(|x| x.contains(&marker)));
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// The shell blocks of the README's "Try a backup in the sandbox".
fn readme_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let section = readme
        .split("## Try a backup in the sandbox")
        .nth(1)
        .expect("the README's sandbox section")
        .split("\n## ")
        .next()
        .unwrap();
    section
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_readmes_commands_take_a_backup() {
    let blocks = readme_blocks();
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    assert_eq!(
        blocks[0].trim(),
        "cargo run -p tibr-sandbox -- up --dir /tmp/sbx",
        "the first block starts the sandbox (the test runs the built binary)"
    );
    let dir = tempfile::tempdir().unwrap();
    let sandbox_dir = dir.path().join("sbx");
    let (mut up, _) = start_up(&sandbox_dir).await;
    let script = blocks[1].replace("/tmp/sbx", sandbox_dir.to_str().unwrap());
    let out = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(workspace())
        .env("HOME", dir.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "backup.pingcap.com/demo1-backup-s3 created",
        "backup.pingcap.com/demo1-backup-s3 condition met",
        "s3://my-bucket/my-folder",
        "backupmeta",
    ] {
        assert!(stdout.contains(want), "{want} in:\n{stdout}");
    }
    stop_up(&mut up, &sandbox_dir).await;
}

/// `GET path` on `addr` (host:port) over plain HTTP; the body.
async fn reqwest_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn the_demo_passes() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tibr-sandbox"))
        .arg("demo")
        .current_dir(workspace())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "demo1-backup-s3-keys: Complete",
        "demo1-backup-s3-kube2iam: Complete",
        "demo1-backup-s3-irsa: Complete",
        "$ kubectl get bk -n test1 -o wide",
        "s3://my-bucket/my-folder/keys/ is empty",
        "demo passed:",
    ] {
        assert!(stdout.contains(want), "{want} in:\n{stdout}");
    }
    assert!(!stdout.contains('✗'), "{stdout}");
}
