//! Jobs in a whole sandbox, as a user drives them with the real kubectl: a Job whose
//! container prints `hello` completes and `kubectl logs job/NAME` shows it; a Job past its
//! `activeDeadlineSeconds` fails with `DeadlineExceeded`.

use std::time::Duration;

use tibr_sandbox::sandbox::{Sandbox, SandboxConfig};

struct Kubectl {
    kubeconfig: std::path::PathBuf,
    cache: std::path::PathBuf,
}

impl Kubectl {
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::process::Command::new("/usr/bin/kubectl")
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .arg("--cache-dir")
                .arg(&self.cache)
                .args(args)
                .output(),
        )
        .await
        .expect("kubectl finishes")
        .expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args).await;
        assert!(ok, "kubectl {args:?}: {err}");
        out
    }
}

#[tokio::test]
async fn jobs_complete_print_logs_and_honour_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SandboxConfig::new(dir.path().to_path_buf(), vec!["sandbox".into()]);
    config.crds_dir = None;
    let sandbox = Sandbox::start(config).await.unwrap();
    let k = Kubectl {
        kubeconfig: sandbox.kubeconfig_path(),
        cache: dir.path().join("cache"),
    };

    let out = k
        .ok(&[
            "create",
            "job",
            "hello",
            "--image=busybox",
            "--",
            "sh",
            "-c",
            "echo hello; exit 0",
        ])
        .await;
    assert!(out.contains("job.batch/hello created"), "{out}");
    k.ok(&[
        "wait",
        "--for=condition=complete",
        "job/hello",
        "--timeout=30s",
    ])
    .await;
    assert_eq!(k.ok(&["logs", "job/hello"]).await, "hello\n");
    let table = k.ok(&["get", "jobs"]).await;
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("hello") && l.contains("Complete") && l.contains("1/1")),
        "{table}"
    );

    let slow = dir.path().join("slow.yaml");
    std::fs::write(
        &slow,
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: slow}\nspec:\n  activeDeadlineSeconds: 2\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: main, image: busybox, command: [sleep, '60']}]\n",
    )
    .unwrap();
    k.ok(&["apply", "-f", slow.to_str().unwrap()]).await;
    k.ok(&[
        "wait",
        "--for=condition=failed",
        "job/slow",
        "--timeout=30s",
    ])
    .await;
    let reason = k
        .ok(&[
            "get",
            "job",
            "slow",
            "-o",
            r#"jsonpath={.status.conditions[?(@.type=="Failed")].reason}"#,
        ])
        .await;
    assert_eq!(reason, "DeadlineExceeded");
    sandbox.stop().await;
}
