//! The seed document's scenario: `TidbCluster demo1` in `test1` with its simulated TiDB,
//! and the three ways of granting AWS permissions (static keys in `s3-secret`, kube2iam's
//! pod annotation, IRSA's ServiceAccount annotation) plus none, each tried from a pod that
//! runs `tibr-sandbox s3-check` against `s3://my-bucket/my-folder` with nothing in its spec
//! saying where S3 is.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Secret, ServiceAccount};
use kube::{
    Api, Client,
    api::{LogParams, PostParams},
};
use serde_json::json;

use super::{Report, command, heading, wait_for};
use crate::sandbox::Sandbox;

const NS: &str = super::SEED_NAMESPACE;
const ROLE: &str = super::SEED_ROLE;

pub async fn run(sandbox: &Sandbox, report: &mut Report) -> anyhow::Result<()> {
    let client = super::admin_client(sandbox).await?;
    heading("The seed's TiDB cluster and AWS permissions");
    println!(
        "TiDB for demo1 listens on {}:{} (user {}, password TIDB_PASSWORD in sandbox.env); \
         gc life time is {}",
        sandbox.tidb.host(),
        sandbox.tidb.port(),
        sandbox.tidb.user(),
        sandbox.tidb.gc_life_time()
    );
    report.check(
        sandbox.tidb.gc_life_time() == "10m0s",
        "tikv_gc_life_time starts at TiDB's default, 10m0s",
    );

    command(
        "kubectl create secret generic s3-secret -n test1 \
         --from-literal=access_key=\"$AWS_ACCESS_KEY_ID\" --from-literal=secret_key=\"$AWS_SECRET_ACCESS_KEY\"",
    );
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "s3-secret"},
        "stringData": {"access_key": sandbox.s3.access_key, "secret_key": sandbox.s3.secret_key}
    }))?;
    created_or_there(
        Api::<Secret>::namespaced(client.clone(), NS)
            .create(&PostParams::default(), &secret)
            .await,
        "secret/s3-secret",
    )?;
    command(&format!(
        "kubectl create sa tidb-backup-manager -n test1 && \
         kubectl annotate sa tidb-backup-manager -n test1 eks.amazonaws.com/role-arn={ROLE}"
    ));
    let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {
        "name": "tidb-backup-manager",
        "annotations": {"eks.amazonaws.com/role-arn": ROLE}
    }}))?;
    created_or_there(
        Api::<ServiceAccount>::namespaced(client.clone(), NS)
            .create(&PostParams::default(), &sa)
            .await,
        "serviceaccount/tidb-backup-manager",
    )?;

    let exe = std::env::current_exe()?.display().to_string();
    let key_ref = |key: &str| json!({"secretKeyRef": {"name": "s3-secret", "key": key}});
    let variants = [
        (
            "static-keys",
            json!({}),
            "default",
            json!([{"name": "AWS_ACCESS_KEY_ID", "valueFrom": key_ref("access_key")},
                   {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": key_ref("secret_key")}]),
            true,
        ),
        (
            "kube2iam",
            json!({"iam.amazonaws.com/role": ROLE}),
            "default",
            json!([]),
            true,
        ),
        ("irsa", json!({}), "tidb-backup-manager", json!([]), true),
        ("no-credentials", json!({}), "default", json!([]), false),
    ];
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    for (name, annotations, sa, env, _) in &variants {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"restartPolicy": "Never", "serviceAccountName": sa, "containers": [{
                "name": "backup", "image": "pingcap/br:v8.5.0", "env": env,
                "command": [exe, "s3-check", "s3://my-bucket/my-folder"],
            }]}
        }))?;
        pods.create(&PostParams::default(), &pod).await?;
    }
    for (name, _, _, _, succeeds) in &variants {
        command(&format!("kubectl logs -n test1 {name}"));
        let (phase, log) = finished(&client, name).await;
        print!("{log}");
        let want = if *succeeds { "Succeeded" } else { "Failed" };
        report.check(
            phase == want,
            &format!(
                "pod {name} {}",
                if *succeeds {
                    "reaches S3"
                } else {
                    "has no credentials and fails"
                }
            ),
        );
    }
    let irsa = pods.get("irsa").await?;
    let env: Vec<String> = irsa
        .spec
        .iter()
        .flat_map(|s| s.containers[0].env.iter().flatten())
        .map(|e| e.name.clone())
        .collect();
    command("kubectl get pod irsa -n test1 -o jsonpath='{.spec.containers[0].env[*].name}'");
    println!("{}", env.join(" "));
    report.check(
        env.iter().any(|e| e == "AWS_ROLE_ARN")
            && env.iter().any(|e| e == "AWS_WEB_IDENTITY_TOKEN_FILE"),
        "the pod identity webhook added AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE",
    );
    Ok(())
}

/// A create that found the object already there (the backup scenario made it) is fine.
fn created_or_there<T>(result: Result<T, kube::Error>, what: &str) -> anyhow::Result<()> {
    match result {
        Ok(_) => println!("{what} created"),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            println!("{what} is already there (the backups above made it)")
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

async fn finished(client: &Client, name: &str) -> (String, String) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let phase = wait_for(Duration::from_secs(60), || {
        let pods = pods.clone();
        async move {
            let pod = pods.get(name).await.ok()?;
            let phase = pod.status.and_then(|s| s.phase)?;
            matches!(phase.as_str(), "Succeeded" | "Failed").then_some(phase)
        }
    })
    .await
    .unwrap_or_else(|| "Pending".to_string());
    let log = pods
        .logs(name, &LogParams::default())
        .await
        .unwrap_or_default();
    (phase, log)
}
