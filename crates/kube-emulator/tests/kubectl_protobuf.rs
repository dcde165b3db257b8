//! The real kubectl's typed commands, which send protobuf bodies, against a running sandbox.

use std::path::{Path, PathBuf};

use kube_emulator::{ClusterOptions, RunningCluster, Tls};
use serde_json::Value;

const KUBECTL: &str = "/usr/bin/kubectl";

struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn new(dir: &Path, cluster: &RunningCluster) -> Self {
        assert!(
            Path::new(KUBECTL).exists(),
            "{KUBECTL} is missing: these tests need the real kubectl"
        );
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, cluster.kubeconfig_yaml()).unwrap();
        Kubectl {
            kubeconfig,
            cache: dir.join("cache"),
        }
    }

    async fn run(&self, args: &[&str]) -> String {
        let out = tokio::process::Command::new(KUBECTL)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .output()
            .await
            .expect("running kubectl");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    async fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args).await;
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl {args:?}: {e}: {out}"))
    }
}

async fn start(dir: &Path) -> RunningCluster {
    let tls = Tls::generate().unwrap();
    RunningCluster::start(ClusterOptions::new("t", dir.join("logs")), &tls, 0)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_create_commands_reach_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start(dir.path()).await;
    let kubectl = Kubectl::new(dir.path(), &cluster);

    kubectl.run(&["create", "namespace", "test1"]).await;
    kubectl
        .run(&[
            "create",
            "secret",
            "generic",
            "s3-secret",
            "--from-literal=access_key=xxx",
            "--from-literal=secret_key=yyy",
            "--namespace=test1",
        ])
        .await;
    let secret = kubectl
        .json(&["get", "secret", "s3-secret", "-n", "test1", "-o", "json"])
        .await;
    assert_eq!(secret["data"]["access_key"], "eHh4");
    assert_eq!(secret["data"]["secret_key"], "eXl5");
    assert_eq!(secret["type"], "Opaque");

    kubectl
        .run(&["create", "serviceaccount", "backup", "-n", "test1"])
        .await;
    let token = kubectl
        .run(&["create", "token", "backup", "-n", "test1", "--duration=1h"])
        .await;
    assert!(!token.trim().is_empty());

    kubectl
        .run(&[
            "create",
            "role",
            "reader",
            "--verb=get,list",
            "--resource=secrets",
            "-n",
            "test1",
        ])
        .await;
    kubectl
        .run(&[
            "create",
            "rolebinding",
            "reader",
            "--role=reader",
            "--serviceaccount=test1:backup",
            "-n",
            "test1",
        ])
        .await;
    let binding = kubectl
        .json(&["get", "rolebinding", "reader", "-n", "test1", "-o", "json"])
        .await;
    assert_eq!(binding["subjects"][0]["name"], "backup");
    assert_eq!(binding["roleRef"]["name"], "reader");

    kubectl
        .run(&[
            "create",
            "job",
            "hello",
            "--image=busybox",
            "-n",
            "test1",
            "--",
            "sh",
            "-c",
            "echo hello",
        ])
        .await;
    let job = kubectl
        .json(&["get", "job", "hello", "-n", "test1", "-o", "json"])
        .await;
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["command"],
        serde_json::json!(["sh", "-c", "echo hello"])
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_protobuf_is_unsupported_media_type() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start(dir.path()).await;
    let client = cluster.client().await.unwrap();
    // A Secret whose metadata carries a field number ObjectMeta does not have.
    let body = [
        b"k8s\0".as_slice(),
        &[0x0a, 0x0c, 0x0a, 0x02],
        b"v1",
        &[0x12, 0x06],
        b"Secret",
        &[0x12, 0x05, 0x0a, 0x03, 0xf8, 0x06, 0x00],
    ]
    .concat();
    let request = http::Request::post("/api/v1/namespaces/default/secrets")
        .header("content-type", "application/vnd.kubernetes.protobuf")
        .body(body)
        .unwrap();
    match client.request_text(request).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 415);
            assert_eq!(status.reason, "UnsupportedMediaType");
            assert!(
                status
                    .message
                    .contains("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta field 111"),
                "{}",
                status.message
            );
            assert!(
                status.message.contains("kubectl apply -f"),
                "{}",
                status.message
            );
        }
        other => panic!("expected a 415, got {other:?}"),
    }
    cluster.stop().await;
}
