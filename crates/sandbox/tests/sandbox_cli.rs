//! `tibr-sandbox up` as a user runs it: several clusters answering the real kubectl, the
//! files it writes, CRD installation from a manifests directory, and a clean stop.

use std::{process::Stdio, time::Duration};

use tokio::io::{AsyncBufReadExt, BufReader};

async fn kubectl(
    kubeconfig: &std::path::Path,
    cache: &std::path::Path,
    args: &[&str],
) -> (bool, String, String) {
    let out = tokio::process::Command::new("/usr/bin/kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .output()
        .await
        .expect("kubectl runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn up_serves_every_cluster_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let crds = tempfile::tempdir().unwrap();
    std::fs::write(
        crds.path().join("gadgets.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gadgets.example.com}\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: gadgets, kind: Gadget}\n  versions:\n  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}\n",
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tibr-sandbox"))
        .args(["up", "--dir"])
        .arg(dir.path())
        .args(["--clusters", "3"])
        .env("TIBR_CRDS_DIR", crds.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
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
    for name in ["control", "dp-1", "dp-2"] {
        assert!(
            printed
                .iter()
                .any(|l| l.starts_with(&format!("cluster {name}"))
                    && l.contains("https://127.0.0.1:")),
            "{printed:?}"
        );
    }
    assert!(printed.iter().any(|l| l.starts_with("s3")), "{printed:?}");
    assert!(
        printed.iter().any(|l| l.starts_with("tidb")
            && l.contains("127.0.0.1:")
            && l.contains("test1/demo1")),
        "{printed:?}"
    );

    let env = std::fs::read_to_string(dir.path().join("sandbox.env")).unwrap();
    for key in [
        "KUBECONFIG=",
        "S3_ENDPOINT='http://127.0.0.1:",
        "AWS_REGION=",
        "AWS_ACCESS_KEY_ID=",
        "AWS_SECRET_ACCESS_KEY=",
        "TIDB_HOST='127.0.0.1'",
        "TIDB_PORT=",
        "TIDB_USER='root'",
        "TIDB_PASSWORD=",
    ] {
        assert!(env.contains(key), "sandbox.env lacks {key}");
    }
    for var in ["AWS_SECRET_ACCESS_KEY", "TIDB_PASSWORD"] {
        let secret = env
            .lines()
            .find_map(|l| l.strip_prefix(&format!("export {var}=")))
            .unwrap()
            .trim_matches('\'')
            .to_string();
        assert!(
            printed.iter().all(|l| !l.contains(&secret)),
            "{var} is never printed"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("sandbox.env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "sandbox.env is private");
    let mode = std::fs::metadata(dir.path().join("kubeconfig"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "kubeconfig is private");

    let kubeconfig = dir.path().join("kubeconfig");
    let cache = dir.path().join("kubectl-cache");
    let (ok, current, _) = kubectl(&kubeconfig, &cache, &["config", "current-context"]).await;
    assert!(ok);
    assert_eq!(current.trim(), "control");
    for name in ["control", "dp-1", "dp-2"] {
        let (ok, out, err) = kubectl(&kubeconfig, &cache, &["--context", name, "get", "ns"]).await;
        assert!(ok, "{name}: {err}");
        assert!(
            out.contains("default") && out.contains("kube-system"),
            "{out}"
        );
        let (ok, out, err) = kubectl(
            &kubeconfig,
            &cache,
            &[
                "--context",
                name,
                "get",
                "crd",
                "gadgets.example.com",
                "-o",
                "name",
            ],
        )
        .await;
        assert!(ok, "{name}: {err}");
        assert_eq!(
            out.trim(),
            "customresourcedefinition.apiextensions.k8s.io/gadgets.example.com"
        );
    }
    // Objects in one cluster are not in another.
    let (ok, _, err) = kubectl(
        &kubeconfig,
        &cache,
        &["--context", "dp-1", "create", "namespace", "only-here"],
    )
    .await;
    assert!(ok, "{err}");
    let (_, out, _) = kubectl(
        &kubeconfig,
        &cache,
        &["--context", "dp-2", "get", "ns", "only-here"],
    )
    .await;
    assert!(!out.contains("only-here"));

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "up exits 0 on SIGTERM: {status:?}");
}
