//! Runs the real kubectl against a throwaway loopback HTTP server that serves these documents
//! plus just enough discovery, and checks what kubectl prints and asks for. Skipped (with a
//! note on stderr) when no kubectl binary is installed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::*;
use crate::openapi::{
    V2_PROTOBUF_CONTENT_TYPE, V2_PROTOBUF_MEDIA_TYPE, v2_document, v2_protobuf, v3_group_version,
    v3_index,
};

/// One request kubectl made: method, path with query, and Accept header.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(crate) method: String,
    pub(crate) uri: String,
    pub(crate) accept: String,
    pub(crate) content_type: String,
}

struct State {
    resources: Vec<OpenApiResource>,
    serve_v3: bool,
    /// Serve a v2 document whose PATCH operations lack `fieldValidation`, as an old server's.
    without_field_validation: bool,
    seen: Mutex<Vec<Seen>>,
}

/// kubectl is part of the machine image the suite runs on; its absence is a failure.
fn kubectl_binary() -> PathBuf {
    let path = std::env::var_os("KUBECTL")
        .map_or_else(|| PathBuf::from("/usr/bin/kubectl"), PathBuf::from);
    assert!(path.exists(), "kubectl not found at {}", path.display());
    path
}

fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts")
}

fn json_response(status: StatusCode, value: &Value) -> Response<Full<Bytes>> {
    respond(
        status,
        "application/json",
        serde_json::to_vec(value).unwrap(),
    )
}

fn resource_list(state: &State, group_version: &str) -> Value {
    let mut list = Vec::new();
    for r in state
        .resources
        .iter()
        .filter(|r| r.group_version_path() == group_version)
    {
        let verbs = [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ];
        list.push(json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced, "kind": r.kind, "verbs": verbs}));
        for sub in &r.subresources {
            list.push(json!({"name": format!("{}/{sub}", r.plural), "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}));
        }
    }
    let gv = group_version
        .trim_start_matches("api/")
        .trim_start_matches("apis/");
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list})
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let accept = header("accept");
    let content_type = header("content-type");
    state.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        uri: uri.to_string(),
        accept: accept.clone(),
        content_type,
    });
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = uri.path();
    let not_found = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404});
    match (method, path) {
        (Method::GET, "/version") => json_response(
            StatusCode::OK,
            &json!({"major": "1", "minor": "32", "gitVersion": "v1.32.4", "platform": "linux/amd64"}),
        ),
        (Method::GET, "/api") => json_response(
            StatusCode::OK,
            &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
        ),
        (Method::GET, "/apis") => {
            let version = json!({"groupVersion": "pingcap.com/v1alpha1", "version": "v1alpha1"});
            let group =
                json!({"name": "pingcap.com", "versions": [version], "preferredVersion": version});
            json_response(
                StatusCode::OK,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [group]}),
            )
        }
        (Method::GET, "/api/v1") => json_response(StatusCode::OK, &resource_list(&state, "api/v1")),
        (Method::GET, "/apis/pingcap.com/v1alpha1") => json_response(
            StatusCode::OK,
            &resource_list(&state, "apis/pingcap.com/v1alpha1"),
        ),
        (Method::GET, "/openapi/v2") => {
            let mut doc = v2_document(&state.resources);
            if state.without_field_validation {
                let text = serde_json::to_string(&doc).unwrap();
                let text = text.replace("\"fieldValidation\"", "\"fieldValidationUnknown\"");
                doc = serde_json::from_str(&text).unwrap();
            }
            if accept.contains("protobuf") {
                respond(StatusCode::OK, V2_PROTOBUF_CONTENT_TYPE, v2_protobuf(&doc))
            } else {
                json_response(StatusCode::OK, &doc)
            }
        }
        (Method::GET, "/openapi/v3") if state.serve_v3 => {
            json_response(StatusCode::OK, &v3_index(&state.resources))
        }
        (Method::GET, p) if state.serve_v3 && p.starts_with("/openapi/v3/") => {
            let gv = p.trim_start_matches("/openapi/v3/");
            let parts: Vec<&str> = gv.split('/').collect();
            let (group, version) = match parts.as_slice() {
                ["api", v] => ("", *v),
                ["apis", g, v] => (*g, *v),
                _ => return json_response(StatusCode::NOT_FOUND, &not_found),
            };
            json_response(
                StatusCode::OK,
                &v3_group_version(&state.resources, group, version),
            )
        }
        (Method::GET, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions") => {
            let crd = json!({"metadata": {"name": "backups.pingcap.com"}, "spec": {"group": "pingcap.com", "names": {"kind": "Backup"}}});
            json_response(
                StatusCode::OK,
                &json!({"kind": "CustomResourceDefinitionList", "apiVersion": "apiextensions.k8s.io/v1", "metadata": {}, "items": [crd]}),
            )
        }
        (Method::GET, "/apis/pingcap.com/v1alpha1/namespaces/default/backups/existing") => {
            json_response(StatusCode::OK, &existing_backup())
        }
        (Method::PATCH, "/apis/pingcap.com/v1alpha1/namespaces/default/backups/existing") => {
            json_response(StatusCode::OK, &existing_backup())
        }
        (Method::POST, _) => {
            // Echo the object back as if created.
            let mut object: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            object["metadata"]["uid"] = json!("00000000-0000-0000-0000-000000000001");
            json_response(StatusCode::CREATED, &object)
        }
        _ => json_response(StatusCode::NOT_FOUND, &not_found),
    }
}

/// A Backup the server already has, last applied with `backupType: full`.
fn existing_backup() -> Value {
    let applied = json!({"apiVersion": "pingcap.com/v1alpha1", "kind": "Backup", "metadata": {"name": "existing", "namespace": "default"}, "spec": {"backupType": "full", "br": {"cluster": "basic"}}});
    let mut object = applied.clone();
    object["metadata"]["uid"] = json!("00000000-0000-0000-0000-000000000002");
    object["metadata"]["resourceVersion"] = json!("7");
    object["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/last-applied-configuration": applied.to_string()});
    object
}

/// A running throwaway server and a kubeconfig pointing at it.
pub(super) struct Harness {
    state: Arc<State>,
    dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
    kubectl: PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Harness {
    pub(super) async fn start(
        resources: Vec<OpenApiResource>,
        serve_v3: bool,
        without_field_validation: bool,
    ) -> Harness {
        let kubectl = kubectl_binary();
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            resources,
            serve_v3,
            without_field_validation,
            seen: Mutex::new(Vec::new()),
        });
        let server_state = state.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = server_state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: emu\n  cluster:\n    server: http://{addr}\nusers:\n- name: u\n  user: {{}}\ncontexts:\n- name: emu\n  context:\n    cluster: emu\n    user: u\n    namespace: default\ncurrent-context: emu\n"
        );
        std::fs::write(dir.path().join("config"), config).unwrap();
        Harness {
            state,
            dir,
            server,
            kubectl,
        }
    }

    pub(super) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs kubectl with a private kubeconfig and cache; returns (success, stdout, stderr).
    pub(super) async fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let dir: &Path = self.dir.path();
        let output = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::process::Command::new(&self.kubectl)
                .arg(format!("--kubeconfig={}", dir.join("config").display()))
                .arg(format!("--cache-dir={}", dir.join("cache").display()))
                .args(args)
                .env_remove("KUBECONFIG")
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("kubectl finished within a minute")
        .expect("kubectl started");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    pub(super) fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    pub(super) fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.state.seen.lock().unwrap())
    }
}

fn requested(seen: &[Seen], prefix: &str) -> Vec<Seen> {
    seen.iter()
        .filter(|s| s.uri.starts_with(prefix))
        .cloned()
        .collect()
}

fn print_requests(label: &str, seen: &[Seen]) {
    eprintln!("--- requests for {label}");
    for s in seen {
        eprintln!(
            "{} {}  Accept: {}  Content-Type: {}",
            s.method, s.uri, s.accept, s.content_type
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_reads_the_v3_documents() {
    let h = Harness::start(all_resources(), true, false).await;
    let (ok, out, err) = h.kubectl(&["explain", "backups.spec.br"]).await;
    print_requests("explain backups.spec.br", &h.seen());
    assert!(ok, "kubectl explain failed: {err}\n{out}");
    assert!(out.contains("GROUP:      pingcap.com"), "{out}");
    assert!(out.contains("KIND:       Backup"), "{out}");
    assert!(out.contains("VERSION:    v1alpha1"), "{out}");
    assert!(out.contains("FIELD: br <Object>"), "{out}");
    assert!(out.contains("BR tool settings."), "{out}");
    assert!(out.contains("cluster\t<string> -required-"), "{out}");
    assert!(out.contains("Name of the TiDB cluster."), "{out}");
    assert!(out.contains("options\t<[]string>"), "{out}");

    let seen = h.take_seen();
    let index = requested(&seen, "/openapi/v3");
    assert!(
        index.iter().any(|s| s.uri.starts_with("/openapi/v3?")),
        "{index:?}"
    );
    let doc = index
        .iter()
        .find(|s| {
            s.uri
                .starts_with("/openapi/v3/apis/pingcap.com/v1alpha1?hash=")
        })
        .expect("the group-version document was fetched by its hashed URL");
    assert_eq!(doc.accept, "application/json");
    assert!(
        requested(&seen, "/openapi/v2").is_empty(),
        "explain v3 does not need v2"
    );

    let (ok, out, err) = h.kubectl(&["explain", "backups.metadata.name"]).await;
    assert!(ok, "explain through the ObjectMeta reference failed: {err}");
    assert!(out.contains("FIELD: name <string>"), "{out}");

    let (ok, out, err) = h.kubectl(&["explain", "backups.spec.backupType"]).await;
    assert!(ok, "{err}");
    assert!(out.contains("ENUM:\n    full\n    db\n    table"), "{out}");

    let (ok, out, err) = h.kubectl(&["explain", "backups", "--recursive"]).await;
    assert!(ok, "explain --recursive failed: {err}");
    for line in [
        "  metadata\t<ObjectMeta>",
        "    creationTimestamp\t<string>",
        "    ownerReferences\t<[]OwnerReference>",
        "  spec\t<Object> -required-",
        "    backupType\t<string> -required-",
        "      cluster\t<string> -required-",
        "    resources\t<map[string]Object>",
        "      effect\t<string>",
        "      message\t<string>",
    ] {
        assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
    }
    assert!(out.contains("enum: full, db, table"), "{out}");

    // Built-in kinds have no schema to show; kubectl says so rather than guessing.
    let (ok, _, err) = h.kubectl(&["explain", "pods"]).await;
    assert!(!ok);
    assert!(err.contains("not found in OpenAPI schema"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_openapiv2_reads_the_protobuf_document() {
    let h = Harness::start(all_resources(), true, false).await;
    let args = ["explain", "backups.spec.br", "--output=plaintext-openapiv2"];
    let (ok, out, err) = h.kubectl(&args).await;
    print_requests("explain --output=plaintext-openapiv2", &h.seen());
    assert!(ok, "kubectl explain (v2) failed: {err}\n{out}");
    assert!(
        out.contains("KIND:     Backup\nVERSION:  pingcap.com/v1alpha1"),
        "{out}"
    );
    assert!(out.contains("RESOURCE: br <Object>"), "{out}");
    assert!(out.contains("cluster\t<string> -required-"), "{out}");
    assert!(out.contains("Name of the TiDB cluster."), "{out}");
    let v2 = requested(&h.seen(), "/openapi/v2");
    assert!(!v2.is_empty());
    assert!(
        v2.iter().all(|s| s.accept == V2_PROTOBUF_MEDIA_TYPE),
        "{v2:?}"
    );
}

const BACKUP_MANIFEST: &str = "apiVersion: pingcap.com/v1alpha1\nkind: Backup\nmetadata:\n  name: b1\nspec:\n  backupType: full\n  unknownField: 1\n  br:\n    cluster: basic\n";

/// kubectl create validates with the v3 documents: it sees `fieldValidation` on the PATCH
/// operation, skips client-side validation (the unknown field would fail it) and leaves the
/// check to the server with `fieldValidation=Strict`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_defers_validation_to_the_server_via_v3() {
    let h = Harness::start(all_resources(), true, false).await;
    std::fs::write(h.path("backup.yaml"), BACKUP_MANIFEST).unwrap();
    let file = h.path("backup.yaml").display().to_string();
    let (ok, out, err) = h.kubectl(&["create", "-f", &file]).await;
    let seen = h.seen();
    print_requests("create -f backup.yaml (v3 served)", &seen);
    assert!(ok, "kubectl create failed: {err}\n{out}");
    let post = seen
        .iter()
        .find(|s| s.method == "POST")
        .expect("a POST was sent");
    assert!(
        post.uri
            .starts_with("/apis/pingcap.com/v1alpha1/namespaces/default/backups?"),
        "{post:?}"
    );
    assert!(post.uri.contains("fieldValidation=Strict"), "{post:?}");
    assert!(
        requested(&seen, "/openapi/v2").is_empty(),
        "v3 answered, so v2 is not needed"
    );

    // A built-in kind: the core document has paths but no schemas, which is enough.
    h.take_seen();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p1\nspec:\n  containers:\n  - name: c\n    image: busybox\n";
    std::fs::write(h.path("pod.yaml"), pod).unwrap();
    let file = h.path("pod.yaml").display().to_string();
    let (ok, out, err) = h.kubectl(&["create", "-f", &file]).await;
    let seen = h.seen();
    print_requests("create -f pod.yaml", &seen);
    assert!(ok, "kubectl create pod failed: {err}\n{out}");
    assert!(
        seen.iter()
            .any(|s| s.uri.starts_with("/openapi/v3/api/v1?hash="))
    );
    let post = seen
        .iter()
        .find(|s| s.method == "POST")
        .expect("a POST was sent");
    assert!(
        post.uri.starts_with("/api/v1/namespaces/default/pods?"),
        "{post:?}"
    );
    assert!(post.uri.contains("fieldValidation=Strict"), "{post:?}");
    assert!(requested(&seen, "/openapi/v2").is_empty());
}

/// With no v3 endpoint kubectl falls back to the v2 protobuf for the same decision; a document
/// it could not parse would fail the command with "failed to download openapi".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_falls_back_to_the_v2_protobuf() {
    let h = Harness::start(all_resources(), false, false).await;
    std::fs::write(h.path("backup.yaml"), BACKUP_MANIFEST).unwrap();
    let file = h.path("backup.yaml").display().to_string();
    let (ok, out, err) = h.kubectl(&["create", "-f", &file]).await;
    let seen = h.seen();
    print_requests("create -f backup.yaml (no v3)", &seen);
    assert!(ok, "kubectl create failed: {err}\n{out}");
    let v2 = requested(&seen, "/openapi/v2");
    assert!(
        v2.iter().any(|s| s.accept == V2_PROTOBUF_MEDIA_TYPE),
        "{v2:?}"
    );
    let post = seen
        .iter()
        .find(|s| s.method == "POST")
        .expect("a POST was sent");
    assert!(post.uri.contains("fieldValidation=Strict"), "{post:?}");
}

/// Control for the tests above: when the v2 document's PATCH operation lacks
/// `fieldValidation`, kubectl validates on the client against the published v2 schema and
/// rejects the unknown field before sending anything. This also shows kubectl's v2 parser
/// accepted the converted CRD schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_validates_locally_without_field_validation_support() {
    let h = Harness::start(all_resources(), false, true).await;
    std::fs::write(h.path("backup.yaml"), BACKUP_MANIFEST).unwrap();
    let file = h.path("backup.yaml").display().to_string();
    let (ok, out, err) = h.kubectl(&["create", "-f", &file]).await;
    let seen = h.seen();
    print_requests("create -f backup.yaml (no v3, no fieldValidation)", &seen);
    assert!(!ok, "client-side validation should have failed: {out}");
    assert!(err.contains("unknownField"), "{err}");
    assert!(!seen.iter().any(|s| s.method == "POST"), "nothing is sent");

    let valid = BACKUP_MANIFEST.replace("  unknownField: 1\n", "");
    std::fs::write(h.path("valid.yaml"), valid).unwrap();
    let file = h.path("valid.yaml").display().to_string();
    let (ok, out, err) = h.kubectl(&["create", "-f", &file]).await;
    assert!(
        ok,
        "a valid Backup passes client-side validation: {err}\n{out}"
    );
}

/// Client-side apply of a changed custom resource: kubectl asks the v3 document whether the
/// PATCH accepts strategic merge patches (it does not for CRDs), then reads the v2 protobuf,
/// and sends a JSON merge patch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_sends_a_merge_patch_for_custom_resources() {
    let h = Harness::start(all_resources(), true, false).await;
    let manifest = "apiVersion: pingcap.com/v1alpha1\nkind: Backup\nmetadata:\n  name: existing\nspec:\n  backupType: db\n  br:\n    cluster: basic\n";
    std::fs::write(h.path("existing.yaml"), manifest).unwrap();
    let file = h.path("existing.yaml").display().to_string();
    let (ok, out, err) = h.kubectl(&["apply", "-f", &file]).await;
    let seen = h.seen();
    print_requests("apply -f existing.yaml", &seen);
    assert!(ok, "kubectl apply failed: {err}\n{out}");
    assert!(!err.contains("warning"), "{err}");
    let patch = seen
        .iter()
        .find(|s| s.method == "PATCH")
        .expect("a PATCH was sent");
    assert!(patch.uri.contains("fieldValidation=Strict"), "{patch:?}");
    assert_eq!(patch.content_type, "application/merge-patch+json");
    let v2 = requested(&seen, "/openapi/v2");
    assert!(
        v2.iter().all(|s| s.accept == V2_PROTOBUF_MEDIA_TYPE),
        "{v2:?}"
    );
}
