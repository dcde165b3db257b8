//! The seed document in a whole sandbox: `TidbCluster demo1` in `test1` (with a minimal
//! `TidbCluster` CRD standing in for the generated one), the simulated TiDB reached with
//! the values of `sandbox.env`, and the three ways of granting AWS permissions (plus none)
//! exercised from Job-like pods that run object_store configured only from their
//! environment (`tibr-sandbox s3-check`), with no endpoint in their spec.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, ServiceAccount};
use kube::{
    Api,
    api::{ApiResource, DynamicObject, GroupVersionKind, LogParams, PostParams},
};
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use tibr_sandbox::sandbox::{Sandbox, SandboxConfig};

mod support;

const TIDB_CLUSTER_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: tidbclusters.pingcap.com}
spec:
  group: pingcap.com
  scope: Namespaced
  names: {plural: tidbclusters, singular: tidbcluster, kind: TidbCluster, shortNames: [tc]}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

async fn sandbox(dir: &tempfile::TempDir) -> Sandbox {
    let crds = dir.path().join("crds");
    std::fs::create_dir_all(&crds).unwrap();
    std::fs::write(crds.join("pingcap.com_tidbclusters.yaml"), TIDB_CLUSTER_CRD).unwrap();
    let mut config = SandboxConfig::new(dir.path().join("sandbox"), vec!["sandbox".into()]);
    config.crds_dir = Some(crds);
    Sandbox::start(config).await.expect("the sandbox starts")
}

/// The variables of `sandbox.env`.
fn sandbox_env(s: &Sandbox) -> Vec<(String, String)> {
    support::up::load_env(&s.env_path()).into_iter().collect()
}

#[tokio::test]
async fn demo1_and_its_tidb_are_there_as_the_seed_expects() {
    let dir = tempfile::tempdir().unwrap();
    let s = sandbox(&dir).await;
    let client = s.clusters[0].client().await.unwrap();
    Api::<Namespace>::all(client.clone())
        .get("test1")
        .await
        .expect("namespace test1 exists");
    let tc = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("pingcap.com", "v1alpha1", "TidbCluster"),
        "tidbclusters",
    );
    let demo1: DynamicObject = Api::namespaced_with(client.clone(), "test1", &tc)
        .get("demo1")
        .await
        .expect("TidbCluster demo1 exists");
    let spec = &demo1.data["spec"];
    assert_eq!(spec["version"], "v8.5.0");
    assert_eq!(spec["tikv"]["baseImage"], "pingcap/tikv");
    assert_eq!(spec["tikv"]["version"], "v8.5.0");
    assert_eq!(spec["tikv"]["replicas"], 3);
    let ready = &demo1.data["status"]["conditions"][0];
    assert_eq!(
        (ready["type"].as_str(), ready["status"].as_str()),
        (Some("Ready"), Some("True"))
    );
    assert_eq!(demo1.data["status"]["tikv"]["image"], "pingcap/tikv:v8.5.0");
    assert_eq!(
        s.create_tidb_clusters().unwrap(),
        1,
        "creating it again is harmless"
    );

    // The TiDB endpoint and account from sandbox.env.
    let env = sandbox_env(&s);
    let get = |k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(get("TIDB_HOST"))
        .tcp_port(get("TIDB_PORT").parse().unwrap())
        .user(Some(get("TIDB_USER")))
        .pass(Some(get("TIDB_PASSWORD")));
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .expect("TiDB accepts sandbox.env's account");
    let v: Option<String> = conn
        .exec_first(
            "SELECT variable_value FROM mysql.tidb WHERE variable_name = ?",
            ("tikv_gc_life_time",),
        )
        .await
        .unwrap();
    assert_eq!(v.as_deref(), Some("10m0s"));
    conn.disconnect().await.unwrap();
    assert!(s.s3.data_dir.join("my-bucket").is_dir(), "my-bucket exists");
    s.stop().await;
}

/// A pod like a backup Job's, running `s3-check` against the seed's bucket and prefix.
fn check_pod(name: &str, annotations: Value, service_account: &str, env: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "test1", "annotations": annotations},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": service_account,
            "containers": [{
                "name": "backup",
                "image": "pingcap/br:v8.5.0",
                "command": [env!("CARGO_BIN_EXE_tibr-sandbox"), "s3-check", "s3://my-bucket/my-folder"],
                "env": env,
            }]
        }
    }))
    .unwrap()
}

async fn finished(pods: &Api<Pod>, name: &str) -> (String, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let pod = pods.get(name).await.unwrap();
        let phase = pod.status.and_then(|s| s.phase).unwrap_or_default();
        if phase == "Succeeded" || phase == "Failed" {
            let log = pods
                .logs(name, &LogParams::default())
                .await
                .unwrap_or_default();
            return (phase, log);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pod {name} did not finish ({phase})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_three_credential_variants_reach_s3_from_pods_and_none_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let s = sandbox(&dir).await;
    let client = s.clusters[0].client().await.unwrap();
    let role = "arn:aws:iam::123456789012:role/user";

    // Static keys: the s3-secret of the seed, filled from sandbox.env.
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "s3-secret"},
        "stringData": {"access_key": s.s3.access_key, "secret_key": s.s3.secret_key}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), "test1")
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    // IRSA: the annotated ServiceAccount of the seed.
    let sa: ServiceAccount = serde_json::from_value(json!({
        "metadata": {"name": "tidb-backup-manager", "annotations": {"eks.amazonaws.com/role-arn": role}}
    }))
    .unwrap();
    Api::<ServiceAccount>::namespaced(client.clone(), "test1")
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();

    let pods: Api<Pod> = Api::namespaced(client.clone(), "test1");
    let key_ref = |key: &str| json!({"secretKeyRef": {"name": "s3-secret", "key": key}});
    let none = json!({});
    let cases = [
        (
            "static-keys",
            none.clone(),
            "default",
            json!([
                {"name": "AWS_ACCESS_KEY_ID", "valueFrom": key_ref("access_key")},
                {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": key_ref("secret_key")},
            ]),
        ),
        (
            "kube2iam",
            json!({"iam.amazonaws.com/role": role}),
            "default",
            json!([]),
        ),
        ("irsa", none.clone(), "tidb-backup-manager", json!([])),
        ("no-credentials", none.clone(), "default", json!([])),
    ];
    for (name, annotations, sa, env) in cases {
        pods.create(
            &PostParams::default(),
            &check_pod(name, annotations, sa, env),
        )
        .await
        .unwrap();
    }

    let (phase, log) = finished(&pods, "static-keys").await;
    assert_eq!(phase, "Succeeded", "{log}");
    let tail = &s.s3.access_key[s.s3.access_key.len() - 4..];
    assert!(log.contains(&format!("(access key ****{tail})")), "{log}");
    assert!(
        !log.contains(&s.s3.access_key),
        "the key id is masked: {log}"
    );

    let (phase, log) = finished(&pods, "kube2iam").await;
    assert_eq!(phase, "Succeeded", "{log}");
    assert!(log.contains("(instance metadata)"), "{log}");

    let (phase, log) = finished(&pods, "irsa").await;
    assert_eq!(phase, "Succeeded", "{log}");
    assert!(log.contains(&format!("(web identity for {role})")), "{log}");

    let (phase, log) = finished(&pods, "no-credentials").await;
    assert_eq!(phase, "Failed", "{log}");
    assert!(
        log.contains("404") && log.contains("unable to find role"),
        "{log}"
    );

    for name in ["static-keys", "kube2iam", "irsa"] {
        let object =
            s.s3.data_dir
                .join(format!("my-bucket/my-folder/s3-check/{name}"));
        assert!(object.is_file(), "{} was written", object.display());
    }
    assert!(
        !s.s3
            .data_dir
            .join("my-bucket/my-folder/s3-check/no-credentials")
            .exists()
    );

    // The cloud's variables reach processes, never the pod spec.
    let spec = serde_json::to_string(&pods.get("kube2iam").await.unwrap().spec).unwrap();
    assert!(!spec.contains("AWS_ENDPOINT_URL"), "{spec}");
    s.stop().await;
}
