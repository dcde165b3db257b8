//! The kubelet end to end: what a container sees (environment, volumes, in-cluster
//! credentials) and how it ends.

mod support;

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::{Api, api::DeleteParams};
use serde_json::{Value, json};
use support::{Env, pod, pod_status, sleeps, wait_for, wait_phase};
use tibr_cloud_sim::runner::ImageRule;

fn log(env: &Env, ns: &str, pod: &str) -> String {
    std::fs::read_to_string(env.log_dir().join(ns).join(pod).join("main.log")).unwrap_or_default()
}

async fn waiting_reason(env: &Env, ns: &str, name: &str, reason: &str) -> Value {
    wait_for(20, &format!("{name} waiting with {reason}"), || async {
        let s = pod_status(&env.client, ns, name).await?;
        let w = &s["containerStatuses"][0]["state"]["waiting"];
        if w["reason"] == reason {
            Ok(w.clone())
        } else {
            Err(s.to_string())
        }
    })
    .await
}

#[tokio::test]
async fn environment_comes_from_secrets_config_maps_and_the_pod() {
    let env = Env::start().await;
    env.namespace("env").await;
    env.create::<Secret>(
        "env",
        json!({"metadata": {"name": "db"}, "stringData": {"password": "s3cret"}}),
    )
    .await;
    env.create::<ConfigMap>(
        "env",
        json!({"metadata": {"name": "settings"}, "data": {"color": "blue", "size": "L"}}),
    )
    .await;
    let script = r#"echo "$PASSWORD|$COLOR|$POD|$NS|$LABEL|$NODE|$CFG_size|$GREETING|${MAYBE-unset}|$HOSTNAME|$KUBERNETES_SERVICE_HOST|$MEM""#;
    let container = json!({
        "env": [
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "LABEL", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "GREETING", "value": "hi $(COLOR) $$(COLOR) $(NOPE)"},
            {"name": "MAYBE", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k", "optional": true}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
        ],
        "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
        "resources": {"limits": {"memory": "64Mi"}},
    });
    let mut p = pod("env", &["sh", "-c", script], container, json!({}));
    p["metadata"]["labels"] = json!({"app": "demo"});
    env.create::<Pod>("env", p).await;
    wait_phase(&env.client, "env", "env", &["Succeeded"]).await;
    assert_eq!(
        log(&env, "env", "env"),
        "s3cret|blue|env|env|demo|t-node|L|hi blue $(COLOR) $(NOPE)|unset|env|127.0.0.1|64\n"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_missing_secret_holds_the_container_until_it_exists() {
    let env = Env::start().await;
    env.namespace("late").await;
    let container = json!({"env": [
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "later", "key": "token"}}},
    ]});
    env.create::<Pod>(
        "late",
        pod("p", &["sh", "-c", "echo got $TOKEN"], container, json!({})),
    )
    .await;
    let w = waiting_reason(&env, "late", "p", "CreateContainerConfigError").await;
    assert_eq!(w["message"], "secret \"later\" not found");
    env.create::<Secret>(
        "late",
        json!({"metadata": {"name": "later"}, "stringData": {"other": "x"}}),
    )
    .await;
    let w = wait_for(20, "the key message", || async {
        let w = waiting_reason(&env, "late", "p", "CreateContainerConfigError").await;
        if w["message"] == "couldn't find key token in Secret late/later" {
            Ok(w)
        } else {
            Err(w.to_string())
        }
    })
    .await;
    assert_eq!(w["reason"], "CreateContainerConfigError");
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), "late");
    secrets
        .delete("later", &DeleteParams::default())
        .await
        .unwrap();
    env.create::<Secret>(
        "late",
        json!({"metadata": {"name": "later"}, "stringData": {"token": "t0k"}}),
    )
    .await;
    wait_phase(&env.client, "late", "p", &["Succeeded"]).await;
    assert_eq!(log(&env, "late", "p"), "got t0k\n");
    let events = env.events("late", "p").await;
    assert!(
        events.contains(&"Failed: Error: secret \"later\" not found".to_string()),
        "{events:?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn volumes_appear_at_their_mount_paths() {
    let env = Env::start().await;
    assert!(
        env.runner.mount_namespaces(),
        "this machine should allow mount namespaces (root)"
    );
    env.namespace("vol").await;
    env.create::<Secret>(
        "vol",
        json!({"metadata": {"name": "creds"}, "stringData": {"user": "u", "password": "pw"}}),
    )
    .await;
    env.create::<ConfigMap>(
        "vol",
        json!({"metadata": {"name": "conf"}, "data": {"app.toml": "x = 1\n"}}),
    )
    .await;
    // Paths that do not exist on the host; the empty mount points stay behind.
    let script = "cd /tmp/tibr-runner-test; cat creds/pw conf/app.toml data/from-init info/name; echo; \
                  stat -c %a creds/pw; ls creds; touch conf/new 2>/dev/null || echo read-only";
    let container = json!({"volumeMounts": [
        {"name": "creds", "mountPath": "/tmp/tibr-runner-test/creds"},
        {"name": "conf", "mountPath": "/tmp/tibr-runner-test/conf"},
        {"name": "scratch", "mountPath": "/tmp/tibr-runner-test/data"},
        {"name": "info", "mountPath": "/tmp/tibr-runner-test/info"},
    ]});
    let spec = json!({
        "volumes": [
            {"name": "creds", "secret": {"secretName": "creds", "items": [{"key": "password", "path": "pw"}], "defaultMode": 0o400}},
            {"name": "conf", "configMap": {"name": "conf"}},
            {"name": "scratch", "emptyDir": {}},
            {"name": "info", "downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        ],
        "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "echo seeded > /tmp/tibr-runner-test/data/from-init"],
                            "volumeMounts": [{"name": "scratch", "mountPath": "/tmp/tibr-runner-test/data"}]}],
    });
    env.create::<Pod>("vol", pod("v", &["sh", "-c", script], container, spec))
        .await;
    let status = wait_phase(&env.client, "vol", "v", &["Succeeded", "Failed"]).await;
    assert_eq!(
        status["phase"],
        "Succeeded",
        "{status}\n{}",
        log(&env, "vol", "v")
    );
    assert_eq!(
        log(&env, "vol", "v"),
        "pwx = 1\nseeded\nv\n400\npw\nread-only\n"
    );
    assert_eq!(
        status["initContainerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
    // The mounts were private to the container.
    assert!(!std::path::Path::new("/tmp/tibr-runner-test/creds/pw").exists());
    env.stop().await;
}

#[tokio::test]
async fn a_missing_secret_volume_fails_to_mount_until_it_exists() {
    let env = Env::start().await;
    env.namespace("mnt").await;
    let container = json!({"volumeMounts": [{"name": "s", "mountPath": "/etc/s"}]});
    let spec = json!({"volumes": [{"name": "s", "secret": {"secretName": "later"}}]});
    env.create::<Pod>("mnt", pod("m", &["cat", "/etc/s/k"], container, spec))
        .await;
    let event = wait_for(20, "FailedMount", || async {
        let events = env.events("mnt", "m").await;
        events
            .iter()
            .find(|e| e.starts_with("FailedMount"))
            .cloned()
            .ok_or_else(|| format!("{events:?}"))
    })
    .await;
    assert_eq!(
        event,
        "FailedMount: MountVolume.SetUp failed for volume \"s\" : secret \"later\" not found"
    );
    let s = pod_status(&env.client, "mnt", "m").await.unwrap();
    assert_eq!(s["phase"], "Pending");
    assert_eq!(
        s["containerStatuses"][0]["state"]["waiting"]["reason"],
        "ContainerCreating"
    );
    env.create::<Secret>(
        "mnt",
        json!({"metadata": {"name": "later"}, "stringData": {"k": "value"}}),
    )
    .await;
    wait_phase(&env.client, "mnt", "m", &["Succeeded"]).await;
    assert_eq!(log(&env, "mnt", "m"), "value");
    env.stop().await;
}

/// Runs `kubectl get pods` inside a pod with in-cluster configuration.
async fn kubectl_in_a_pod(env: &Env, ns: &str) {
    assert!(
        std::path::Path::new("/usr/bin/kubectl").exists(),
        "/usr/bin/kubectl is required"
    );
    env.namespace(ns).await;
    env.create::<Pod>(
        ns,
        pod(
            "kc",
            &["kubectl", "get", "pods", "-o", "name"],
            json!({}),
            json!({}),
        ),
    )
    .await;
    let status = wait_phase(&env.client, ns, "kc", &["Succeeded", "Failed"]).await;
    let out = log(env, ns, "kc");
    assert_eq!(status["phase"], "Succeeded", "{out}");
    assert!(out.contains("pod/kc"), "{out}");
}

#[tokio::test]
async fn kubectl_works_inside_a_pod() {
    let env = Env::start().await;
    assert!(env.runner.mount_namespaces());
    kubectl_in_a_pod(&env, "kc").await;
    env.stop().await;
}

#[tokio::test]
async fn kubectl_works_inside_a_pod_without_mount_namespaces() {
    let env = Env::start_with(|c| c.mount_namespaces = false).await;
    assert!(!env.runner.mount_namespaces());
    kubectl_in_a_pod(&env, "kc2").await;
    env.stop().await;
}

/// Run inside a pod by `kube_rs_in_cluster_config_works`: lists the pod's namespace
/// with `Client::try_default()`.
#[tokio::test]
#[ignore = "run inside a sandbox pod"]
async fn in_cluster_probe() {
    if std::env::var("TIBR_IN_POD").is_err() {
        return;
    }
    let client = kube::Client::try_default()
        .await
        .expect("in-cluster config");
    let pods: Api<Pod> = Api::default_namespaced(client);
    let list = pods.list(&Default::default()).await.expect("listing pods");
    let names: Vec<String> = list.items.iter().map(kube::ResourceExt::name_any).collect();
    println!("in-cluster pods: {names:?}");
}

#[tokio::test]
async fn kube_rs_in_cluster_config_works() {
    let env = Env::start().await;
    env.namespace("rs").await;
    let exe = std::env::current_exe()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let container = json!({
        "args": ["in_cluster_probe", "--exact", "--ignored", "--nocapture", "--test-threads=1"],
        "env": [{"name": "TIBR_IN_POD", "value": "1"}],
    });
    env.create::<Pod>("rs", pod("probe", &[&exe], container, json!({})))
        .await;
    let status = wait_phase(&env.client, "rs", "probe", &["Succeeded", "Failed"]).await;
    let out = log(&env, "rs", "probe");
    assert_eq!(status["phase"], "Succeeded", "{out}");
    assert!(out.contains("in-cluster pods: [\"probe\"]"), "{out}");
    env.stop().await;
}

#[tokio::test]
async fn exits_by_signal_and_unmapped_images_are_reported() {
    let env = Env::start().await;
    env.namespace("ends").await;
    // `$$` is an escaped `$` in Kubernetes expansion, so the shell sees `$$`.
    env.create::<Pod>(
        "ends",
        pod(
            "killed",
            &["sh", "-c", "kill -9 $$$$"],
            json!({}),
            json!({}),
        ),
    )
    .await;
    let s = wait_phase(&env.client, "ends", "killed", &["Failed"]).await;
    let t = &s["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(
        (t["exitCode"].clone(), t["signal"].clone()),
        (json!(137), json!(9)),
        "{t}"
    );

    let mut p = pod("noimage", &[], json!({}), json!({}));
    p["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("command");
    p["spec"]["containers"][0]["image"] = json!("example.com/unknown:1");
    env.create::<Pod>("ends", p).await;
    let w = waiting_reason(&env, "ends", "noimage", "ErrImageNeverPull").await;
    assert_eq!(
        w["message"],
        "image \"example.com/unknown:1\" is not mapped to a host executable in this sandbox"
    );

    env.create::<Pod>(
        "ends",
        pod("nocmd", &["no-such-command-x"], json!({}), json!({})),
    )
    .await;
    let s = wait_phase(&env.client, "ends", "nocmd", &["Failed"]).await;
    let t = &s["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(t["reason"], "StartError", "{t}");
    assert_eq!(t["exitCode"], 128);
    env.stop().await;
}

#[tokio::test]
async fn deleting_a_pod_stops_it_within_its_grace_period() {
    let env = Env::start().await;
    env.namespace("grace").await;
    let spec = json!({"terminationGracePeriodSeconds": 2, "automountServiceAccountToken": false});
    env.create::<Pod>(
        "grace",
        pod(
            "stubborn",
            &["sh", "-c", "trap '' TERM; sleep 3609; true"],
            json!({}),
            spec,
        ),
    )
    .await;
    wait_for(20, "the sleep process", || async {
        if sleeps("3609").is_empty() {
            Err("none".to_string())
        } else {
            Ok(())
        }
    })
    .await;
    let api: Api<Pod> = Api::namespaced(env.client.clone(), "grace");
    let started = std::time::Instant::now();
    api.delete("stubborn", &DeleteParams::default())
        .await
        .unwrap();
    let deleting = api.get("stubborn").await.unwrap();
    assert!(deleting.metadata.deletion_timestamp.is_some());
    wait_for(20, "the pod to go", || async {
        match api.get_opt("stubborn").await.unwrap() {
            None => Ok(()),
            Some(_) => Err("still there".to_string()),
        }
    })
    .await;
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(1500),
        "SIGTERM was ignored, so the grace period runs out: {took:?}"
    );
    assert!(sleeps("3609").is_empty());
    env.stop().await;
}

#[tokio::test]
async fn image_rules_supply_the_entrypoint_and_files() {
    let host = tempfile::tempdir().unwrap();
    let marker = host.path().join("marker");
    std::fs::write(&marker, "from the host\n").unwrap();
    let env = Env::start_with(|c| {
        let mut rule = ImageRule::new("example.com/tibr/agent", Some("/bin/sh".into()));
        rule.files
            .push(("/opt/tibr-runner-test/marker".to_string(), marker.clone()));
        c.images.push(rule);
    })
    .await;
    env.namespace("img").await;
    let mut p = pod(
        "agent",
        &[],
        json!({"args": ["-c", "cat /opt/tibr-runner-test/marker; echo $0; pwd"], "workingDir": "/tmp/tibr-runner-test/wd"}),
        json!({}),
    );
    p["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("command");
    p["spec"]["containers"][0]["image"] = json!("example.com/tibr/agent:v1.2");
    env.create::<Pod>("img", p).await;
    let status = wait_phase(&env.client, "img", "agent", &["Succeeded", "Failed"]).await;
    assert_eq!(
        status["phase"],
        "Succeeded",
        "{}",
        log(&env, "img", "agent")
    );
    assert_eq!(
        log(&env, "img", "agent"),
        "from the host\n/bin/sh\n/tmp/tibr-runner-test/wd\n"
    );
    env.stop().await;
}

/// Without mount namespaces, a variable naming a file in a volume (as the pod identity
/// webhook's `AWS_WEB_IDENTITY_TOKEN_FILE` does) names it where it is on the host, and the
/// projected ServiceAccount token is there.
#[tokio::test]
async fn volume_paths_in_variables_resolve_without_mount_namespaces() {
    let env = Env::start_with(|c| c.mount_namespaces = false).await;
    env.namespace("paths").await;
    let dir = "/var/run/secrets/eks.amazonaws.com/serviceaccount";
    let container = json!({
        "args": ["-c", "test -s \"$TOKEN_FILE\" && echo token-present"],
        "env": [{"name": "TOKEN_FILE", "value": format!("{dir}/token")}],
        "volumeMounts": [{"name": "aws-iam-token", "mountPath": dir, "readOnly": true}],
    });
    let spec = json!({"volumes": [{"name": "aws-iam-token", "projected": {"sources": [
        {"serviceAccountToken": {"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"}}
    ]}}]});
    env.create::<Pod>("paths", pod("tok", &["sh"], container, spec))
        .await;
    let status = wait_phase(&env.client, "paths", "tok", &["Succeeded", "Failed"]).await;
    let out = log(&env, "paths", "tok");
    assert_eq!(status["phase"], "Succeeded", "{out}");
    assert!(out.contains("token-present"), "{out}");
    env.stop().await;
}

/// The cloud hook: every container process gets the cloud's variables and its own
/// metadata endpoint, and the pod spec shows neither.
#[tokio::test]
async fn the_cloud_hook_adds_variables_to_processes_only() {
    let credentials = std::sync::Arc::new(tibr_cloud_sim::cloud::CredentialStore::default());
    let (metadata, served) = tibr_cloud_sim::cloud::MetadataService::start(
        credentials,
        "123456789012",
        "us-west-2",
        std::time::Duration::from_secs(3600),
    )
    .await
    .unwrap();
    let cloud = tibr_cloud_sim::cloud::CloudEnv {
        vars: vec![("AWS_ENDPOINT_URL_S3".into(), "https://127.0.0.1:1".into())],
        metadata: Some(metadata.clone()),
    };
    let env = Env::start_with(move |c| c.cloud = Some(cloud)).await;
    env.namespace("cloud").await;
    let container = json!({
        "args": ["-c", "echo s3=$AWS_ENDPOINT_URL_S3; echo imds=$AWS_EC2_METADATA_SERVICE_ENDPOINT; echo os=$AWS_METADATA_ENDPOINT"],
        "env": [],
    });
    let created = env
        .create::<Pod>("cloud", pod("env", &["sh"], container, json!({})))
        .await;
    let status = wait_phase(&env.client, "cloud", "env", &["Succeeded", "Failed"]).await;
    let out = log(&env, "cloud", "env");
    assert_eq!(status["phase"], "Succeeded", "{out}");
    assert!(out.contains("s3=https://127.0.0.1:1\n"), "{out}");
    let prefix = format!("imds={}/pod/", metadata.url());
    let imds = out
        .lines()
        .find(|l| l.starts_with(&prefix))
        .expect(&out)
        .to_string();
    assert_eq!(
        imds.replacen("imds=", "os=", 1),
        out.lines().nth(2).unwrap()
    );
    let spec = created.spec.unwrap();
    assert!(
        spec.containers[0]
            .env
            .clone()
            .unwrap_or_default()
            .is_empty()
    );
    env.stop().await;
    served.stop().await;
}
