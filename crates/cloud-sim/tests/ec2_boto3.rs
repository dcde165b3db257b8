//! The EC2 emulator against a client that is not ours: boto3 (in the test venv with moto,
//! `./scripts/test` installs it), with the static key and with temporary credentials and
//! their session token, listing a backup's snapshots by tag as the docs tell users to, and
//! refused with a wrong secret. The instance and volumes are seeded through the emulator's
//! Rust API, as the sandbox seeds them.

mod ec2_support;

use std::{path::PathBuf, time::Duration};

use ec2_support::{Target, ZONE, unique};
use serde_json::Value;
use tibr_cloud_sim::ec2::{InstanceSpec, Tags, VolumeSpec};

/// The venv `./scripts/test` installs moto (and with it boto3) into.
fn python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: this test needs boto3 from the workspace's .venv. Run ./scripts/test \
         (it creates .venv with moto and boto3), or `python3 -m venv .venv && .venv/bin/pip \
         install 'moto[server]==5.2.5'`",
        python.display()
    );
    python
}

const SCRIPT: &str = r#"
import json, os, boto3, botocore
kw = dict(endpoint_url=os.environ["EP"], region_name="us-west-2",
          aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"],
          aws_session_token=os.environ.get("TOKEN") or None,
          config=botocore.config.Config(retries={"max_attempts": 1}))
ec2 = boto3.client("ec2", **kw)
out = {}
try:
    snaps = ec2.describe_snapshots(OwnerIds=["self"],
                                   Filters=[{"Name": "tag:backup", "Values": [os.environ["RUN"]]}])
    out["snapshots"] = sorted((s["SnapshotId"], s["VolumeId"], s["State"], s["Progress"])
                              for s in snaps["Snapshots"])
    vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                          "Values": [os.environ["INSTANCE"]]}])
    out["volumes"] = sorted(v["VolumeId"] for v in vols["Volumes"])
    pages = ec2.get_paginator("describe_snapshots").paginate(
        OwnerIds=["self"], PaginationConfig={"PageSize": 5})
    out["paged"] = sorted(s["SnapshotId"] for p in pages for s in p["Snapshots"])
    ebs = boto3.client("ebs", **kw)
    out["blocks"] = [b["BlockIndex"] for b in
                     ebs.list_snapshot_blocks(SnapshotId=out["snapshots"][0][0])["Blocks"]]
except botocore.exceptions.ClientError as e:
    out["error"] = e.response["Error"]["Code"]
print(json.dumps(out))
"#;

async fn boto3(t: &Target, secret: &str, token: Option<&str>, run: &str, instance: &str) -> Value {
    let out = tokio::process::Command::new(python())
        .args(["-c", SCRIPT])
        .env_clear()
        .env("EP", &t.endpoint)
        .env("KEY", &t.keys.access_key_id)
        .env("SECRET", secret)
        .env("TOKEN", token.unwrap_or_default())
        .env("RUN", run)
        .env("INSTANCE", instance)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn boto3_lists_a_backups_snapshots_by_tag() {
    let t = Target::emulator().await;
    let ec2 = t.ec2();
    ec2.set_snapshot_duration(Duration::ZERO);
    // Seeded as the sandbox seeds a TiKV node: an instance, two data volumes with blocks.
    let instance = ec2.run_instance(InstanceSpec::new(ZONE)).unwrap();
    let mut volumes = Vec::new();
    for (n, device) in ["/dev/xvdb", "/dev/xvdc"].iter().enumerate() {
        let v = ec2.create_volume(VolumeSpec::new(ZONE, 20)).unwrap();
        ec2.attach_volume(&v, &instance, device).unwrap();
        ec2.write_blocks(&v, 0..(n as u64 + 2)).unwrap();
        volumes.push(v);
    }
    let run = unique("boto3");
    let created = t
        .cloud()
        .await
        .create_snapshots(&instance, &volumes, &[("backup".into(), run.clone())])
        .await
        .unwrap();
    // Another backup's snapshots, which the tag filter leaves out.
    for _ in 0..4 {
        ec2.snapshot_volume(&volumes[0], Tags::from([("backup".into(), "other".into())]))
            .unwrap();
    }

    let out = boto3(&t, &t.keys.secret_access_key, None, &run, &instance).await;
    assert_eq!(out.get("error"), None, "{out}");
    let mut expected: Vec<Value> = created
        .iter()
        .map(|c| serde_json::json!([c.snapshot_id, c.volume_id, "completed", "100%"]))
        .collect();
    expected.sort_by_key(|v| v[0].as_str().unwrap().to_string());
    assert_eq!(out["snapshots"], Value::Array(expected), "{out}");
    let root = ec2
        .instances()
        .into_iter()
        .find(|i| i.id == instance)
        .unwrap()
        .devices["/dev/xvda"]
        .clone();
    let mut attached = vec![root];
    attached.extend(volumes.iter().cloned());
    attached.sort();
    assert_eq!(out["volumes"], serde_json::json!(attached), "{out}");
    // boto3's paginator follows the emulator's tokens to every snapshot (6, 5 a page).
    assert_eq!(out["paged"].as_array().unwrap().len(), 6, "{out}");
    assert_eq!(ec2.count("DescribeSnapshots"), 3, "by tag, then two pages");
    let first_blocks = out["blocks"].as_array().unwrap().len();
    assert!(first_blocks == 2 || first_blocks == 3, "{out}");

    // Temporary credentials, with their session token.
    let temp = t
        .credentials
        .issue("assumed-role/user/boto3", Duration::from_secs(600));
    let with_token = Target {
        keys: tibr_ebs::Keys {
            access_key_id: temp.access_key_id.clone(),
            secret_access_key: temp.secret_access_key.clone(),
            session_token: Some(temp.session_token.clone()),
        },
        endpoint: t.endpoint.clone(),
        name: t.name,
        server: None,
        credentials: t.credentials.clone(),
    };
    let out = boto3(
        &with_token,
        &temp.secret_access_key,
        Some(&temp.session_token),
        &run,
        &instance,
    )
    .await;
    assert_eq!(out["snapshots"].as_array().unwrap().len(), 2, "{out}");

    // A wrong secret is refused in EC2's words.
    let out = boto3(&t, "wrong-secret", None, &run, &instance).await;
    assert_eq!(out["error"], "AuthFailure", "{out}");
}

/// What a pod's boto3 sees of EC2 and EBS with nothing but the variables the kubelet adds
/// (`AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL_EBS`, `AWS_CA_BUNDLE`) and its credentials.
const POD_SCRIPT: &str = r#"
import boto3, os
ec2 = boto3.client("ec2", region_name="us-west-2")
ebs = boto3.client("ebs", region_name="us-west-2")
print("ec2", ec2.meta.endpoint_url, "ebs", ebs.meta.endpoint_url)
vols = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [os.environ["INSTANCE"]]}])
print("volumes", len(vols["Volumes"]))
print("blocks", len(ebs.list_snapshot_blocks(SnapshotId=os.environ["SNAPSHOT"])["Blocks"]))
"#;

#[tokio::test]
async fn pods_reach_ec2_and_ebs_over_https_with_static_keys_and_kube2iam() {
    use k8s_openapi::api::core::v1::{Namespace, Pod};
    use kube::{Api, api::PostParams};
    use kube_emulator::{ClusterOptions, RunningCluster, Tls};
    use tibr_cloud_sim::{s3::REGION, world::PodWorld};

    let dir = tempfile::tempdir().unwrap();
    let tls = Tls::generate().unwrap();
    let options = ClusterOptions::new("t", dir.path().join("pods/t/logs"));
    let cluster = RunningCluster::start(options, &tls, 0).await.unwrap();
    let mut world = PodWorld::start(dir.path(), &tls, std::slice::from_ref(&cluster), &[], &[])
        .await
        .unwrap();
    let ec2 = world.cloud.ec2.ec2.clone();
    assert_eq!(ec2.config().region, REGION);
    ec2.set_snapshot_duration(Duration::ZERO);
    let instance = ec2.run_instance(InstanceSpec::new(&ec2.zone('b'))).unwrap();
    let volume = ec2
        .create_volume(VolumeSpec::new(&ec2.zone('b'), 10))
        .unwrap();
    ec2.attach_volume(&volume, &instance, "/dev/xvdf").unwrap();
    ec2.write_blocks(&volume, [1, 2, 3]).unwrap();
    let snapshot = ec2.snapshot_volume(&volume, Tags::new()).unwrap();

    let client = cluster.client().await.unwrap();
    let ns: Namespace =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "ec2"}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "ec2");
    let python = python().display().to_string();
    let env = |extra: Vec<(&str, &str)>| {
        let mut env = vec![
            serde_json::json!({"name": "INSTANCE", "value": instance}),
            serde_json::json!({"name": "SNAPSHOT", "value": snapshot}),
        ];
        env.extend(
            extra
                .into_iter()
                .map(|(k, v)| serde_json::json!({"name": k, "value": v})),
        );
        env
    };
    let pod = |name: &str, annotations: serde_json::Value, env: Vec<serde_json::Value>| -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "main", "image": "python:3.11", "command": [&python, "-c", POD_SCRIPT],
                "env": env,
            }]},
        }))
        .unwrap()
    };
    pods.create(
        &PostParams::default(),
        &pod(
            "static",
            serde_json::json!({}),
            env(vec![
                ("AWS_ACCESS_KEY_ID", &world.s3.access_key),
                ("AWS_SECRET_ACCESS_KEY", &world.s3.secret_key),
            ]),
        ),
    )
    .await
    .unwrap();
    pods.create(
        &PostParams::default(),
        &pod(
            "kube2iam",
            serde_json::json!({"iam.amazonaws.com/role": "backup"}),
            env(vec![]),
        ),
    )
    .await
    .unwrap();
    let https = world.cloud.ec2_tls_endpoint();
    for name in ["static", "kube2iam"] {
        let phase = kube_emulator::testing::wait_until(60, &format!("pod {name} done"), || async {
            let p = pods.get(name).await.map_err(|e| e.to_string())?;
            let phase = p.status.and_then(|s| s.phase).unwrap_or_default();
            if phase == "Succeeded" || phase == "Failed" {
                Ok(phase)
            } else {
                Err(phase)
            }
        })
        .await;
        let log = pods.logs(name, &Default::default()).await.unwrap();
        assert_eq!(phase, "Succeeded", "{name}: {log}");
        assert!(
            log.contains(&format!("ec2 {https} ebs {https}")),
            "{name}: {log}"
        );
        assert!(log.contains("volumes 2\n"), "root and data volume: {log}");
        assert!(log.contains("blocks 3\n"), "{log}");
    }
    // Who called: the sandbox key, and the role kube2iam handed the other pod.
    let principals: std::collections::BTreeSet<String> = ec2
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DescribeVolumes" && c.error.is_none())
        .filter_map(|c| c.principal)
        .collect();
    assert_eq!(principals.len(), 2, "{principals:?}");
    assert!(principals.contains("user/sandbox"), "{principals:?}");
    assert!(
        principals
            .iter()
            .any(|p| p.starts_with("assumed-role/backup/")),
        "{principals:?}"
    );
    world.stop_runners().await;
    cluster.stop().await;
    world.stop().await;
}
