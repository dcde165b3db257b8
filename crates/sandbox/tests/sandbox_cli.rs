//! `tibr-sandbox up` as a user runs it: several clusters answering the real kubectl, the
//! files it writes, CRD installation from a manifests directory, the EC2 emulator reached
//! with nothing but `sandbox.env` (by boto3) and its switches from the environment, and a
//! clean stop.

mod support;

use std::path::Path;

use support::up::{Shell, output_ok, start_up, stop_up, workspace};

/// What a user's boto3 sees after `. DIR/sandbox.env`: the endpoint and their snapshots.
const BOTO3: &str = r#"
import boto3
ec2 = boto3.client("ec2")
print(ec2.meta.endpoint_url, len(ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]))
"#;

#[tokio::test]
async fn up_serves_every_cluster_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let crds = tempfile::tempdir().unwrap();
    std::fs::write(
        crds.path().join("gadgets.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gadgets.example.com}\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: gadgets, kind: Gadget}\n  versions:\n  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}\n",
    )
    .unwrap();
    let (mut child, printed) = start_up(
        dir.path(),
        &["--clusters", "3"],
        &[
            ("TIBR_CRDS_DIR", crds.path()),
            ("TIBR_EC2_SNAPSHOT_SECONDS", Path::new("7")),
        ],
    )
    .await;
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
        printed.iter().any(|l| l.starts_with("ec2")
            && l.contains("http://127.0.0.1:")
            && l.contains("pods: https://127.0.0.1:")
            && l.contains("snapshots pending 7s")),
        "the EC2 emulator, with the switch from the environment: {printed:?}"
    );
    // These clusters have no Backup CRD: nothing for an operator to do, and `up` says so.
    assert!(
        printed.iter().any(
            |l| l.starts_with("operator dp-1") && l.contains("the Backup CRD is not installed")
        ),
        "{printed:?}"
    );
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
        "AWS_ENDPOINT_URL_EC2='http://127.0.0.1:",
        "AWS_ENDPOINT_URL_EBS='http://127.0.0.1:",
        "AWS_REGION=",
        "AWS_DEFAULT_REGION=",
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

    let shell = Shell::new(dir.path(), dir.path());
    // boto3 (not ours) finds EC2 and its keys in sandbox.env alone.
    let python = workspace().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: ./scripts/test creates .venv with moto and boto3",
        python.display()
    );
    let out = output_ok(
        tokio::process::Command::new(&python)
            .args(["-c", BOTO3])
            .env_clear()
            .envs(&shell.env),
    )
    .await;
    assert_eq!(
        out.trim(),
        format!("{} 0", shell.var("AWS_ENDPOINT_URL_EC2")),
        "{out}"
    );
    let (ok, current, _) = shell.kubectl(&["config", "current-context"]).await;
    assert!(ok);
    assert_eq!(current.trim(), "control");
    for name in ["control", "dp-1", "dp-2"] {
        let (ok, out, err) = shell.kubectl(&["--context", name, "get", "ns"]).await;
        assert!(ok, "{name}: {err}");
        assert!(
            out.contains("default") && out.contains("kube-system"),
            "{out}"
        );
        let (ok, out, err) = shell
            .kubectl(&[
                "--context",
                name,
                "get",
                "crd",
                "gadgets.example.com",
                "-o",
                "name",
            ])
            .await;
        assert!(ok, "{name}: {err}");
        assert_eq!(
            out.trim(),
            "customresourcedefinition.apiextensions.k8s.io/gadgets.example.com"
        );
    }
    // Objects in one cluster are not in another.
    let (ok, _, err) = shell
        .kubectl(&["--context", "dp-1", "create", "namespace", "only-here"])
        .await;
    assert!(ok, "{err}");
    let (_, out, _) = shell
        .kubectl(&["--context", "dp-2", "get", "ns", "only-here"])
        .await;
    assert!(!out.contains("only-here"));

    stop_up(&mut child, dir.path()).await;
}

#[tokio::test]
async fn up_refuses_an_ec2_switch_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_tibr-sandbox"))
            .args(["up", "--dir"])
            .arg(dir.path())
            .env("TIBR_EC2_THROTTLE", "fast")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("up gives up at once")
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TIBR_EC2_THROTTLE"), "{err}");
}
