//! Shared set-up for the emulator's conformance tests: a running cluster, a kube-rs
//! client, and helpers for custom resources and waiting.
#![allow(dead_code)]

use std::time::Duration;

use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, PostParams},
};
use serde_json::{Value, json};
use tibr_sandbox::apiserver::{ClusterOptions, RunningCluster, Tls};

pub struct Env {
    pub cluster: RunningCluster,
    pub client: Client,
    pub dir: tempfile::TempDir,
}

pub async fn start() -> Env {
    start_with(|_| {}).await
}

pub async fn start_with(configure: impl FnOnce(&mut ClusterOptions)) -> Env {
    let dir = tempfile::tempdir().expect("temp dir");
    let tls = Tls::generate().expect("tls");
    let mut options = ClusterOptions::new("test", dir.path().join("logs"));
    configure(&mut options);
    let cluster = RunningCluster::start(options, &tls, 0)
        .await
        .expect("cluster starts");
    let client = cluster.client().await.expect("client");
    Env {
        cluster,
        client,
        dir,
    }
}

/// A CRD `widgets.example.com` (kind Widget, short name `wd`) with a status subresource,
/// printer columns, an enum, a default and a required field.
pub fn widget_crd(scope: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": scope,
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["size"],
                            "properties": {
                                "size": {"type": "string", "enum": ["small", "large"], "description": "How big the widget is."},
                                "count": {"type": "integer", "default": 3, "minimum": 1},
                                "note": {"type": "string"}
                            }
                        },
                        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}
                    }
                }}
            }]
        }
    })
}

pub fn widget_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1", "Widget"),
        "widgets",
    )
}

pub async fn install_widgets(client: &Client) {
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    );
    let crd: DynamicObject = serde_json::from_value(widget_crd("Namespaced")).unwrap();
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("CRD created");
}

pub fn widgets(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &widget_resource())
}

pub fn widget(name: &str, size: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": size}
    }))
    .unwrap()
}

/// The API error a kube-rs call failed with.
pub fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Polls `check` until it returns Some, failing the test after `secs` seconds.
// Not every test binary that includes this module uses every helper.
#[allow(unused_imports)]
pub use tibr_sandbox::testing::wait_until as eventually;

/// The real kubectl against a running cluster, with a private kubeconfig and cache.
pub struct Kubectl {
    pub dir: tempfile::TempDir,
}

pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Kubectl {
    pub fn new(cluster: &RunningCluster) -> Self {
        let binary = std::path::Path::new("/usr/bin/kubectl");
        assert!(
            binary.exists(),
            "kubectl is part of the machine image and must be at /usr/bin/kubectl"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubeconfig"), cluster.kubeconfig_yaml()).unwrap();
        Kubectl { dir }
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("/usr/bin/kubectl");
        cmd.arg("--kubeconfig").arg(self.path("kubeconfig"));
        cmd.arg("--cache-dir").arg(self.path("cache"));
        cmd.args(args);
        cmd.env_remove("KUBECONFIG");
        cmd.kill_on_drop(true);
        cmd
    }

    pub async fn run_with(&self, mut cmd: tokio::process::Command) -> Output {
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .expect("kubectl finishes within 60 s")
            .expect("kubectl runs");
        Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with(self.command(args)).await
    }

    /// Runs and requires success, returning stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.ok,
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            out.stdout, out.stderr
        );
        out.stdout
    }
}
