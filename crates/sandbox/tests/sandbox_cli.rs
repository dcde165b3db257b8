//! `tibr-sandbox up` as a user runs it: several clusters answering the real kubectl, the
//! files it writes, CRD installation from a manifests directory, and a clean stop.

mod support;

use support::up::{Shell, start_up, stop_up};

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
        &[("TIBR_CRDS_DIR", crds.path())],
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

    let shell = Shell::new(dir.path(), dir.path());
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
