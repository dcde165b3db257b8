//! The Jobs of the seed document's three credential variants, read field by field.

use k8s_openapi::api::{batch::v1::Job, core::v1::Container};
use serde_json::{Value, json};

use super::*;
use crate::backup::{
    fixtures::{self, cluster, cluster_with, irsa, kube2iam, static_keys, tweak},
    validate,
};

fn job_for(b: &Backup, tc: &TidbCluster) -> Job {
    let valid = validate(b, Some(tc)).expect("valid");
    backup_job(b, &valid, tc, "ghcr.io/tibr/tibr-agent:v0.1.0")
}

fn pod(job: &Job) -> &PodSpec {
    job.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn main_container(job: &Job) -> &Container {
    &pod(job).containers[0]
}

/// The environment as `name -> value` or `name -> secret/key` (secretKeyRef).
fn env(c: &Container) -> Vec<(String, String)> {
    c.env
        .iter()
        .flatten()
        .map(|e| {
            let v = match (&e.value, &e.value_from) {
                (Some(v), None) => v.clone(),
                (None, Some(from)) => {
                    let r = from.secret_key_ref.as_ref().expect("only secretKeyRefs");
                    format!("secret:{}/{}", r.name, r.key)
                }
                other => panic!("{}: {other:?}", e.name),
            };
            (e.name.clone(), v)
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn static_keys_variant() {
    let job = job_for(&static_keys(), &cluster());
    assert_eq!(job.metadata.name.as_deref(), Some("backup-demo1-backup-s3"));
    assert_eq!(job.metadata.namespace.as_deref(), Some("test1"));
    let spec = job.spec.as_ref().unwrap();
    assert_eq!(spec.backoff_limit, Some(0));
    let pod = pod(&job);
    assert_eq!(pod.restart_policy.as_deref(), Some("Never"));
    assert_eq!(
        pod.service_account_name.as_deref(),
        Some("tidb-backup-manager")
    );
    assert_eq!(pod.automount_service_account_token, None);

    let init = &pod.init_containers.as_ref().unwrap()[0];
    assert_eq!(init.name, "br");
    assert_eq!(init.image.as_deref(), Some("pingcap/br:v8.5.0"));
    assert_eq!(
        init.command.as_deref().unwrap(),
        ["cp", "/br", "/var/lib/br-bin/br"]
    );

    let main = main_container(&job);
    assert_eq!(main.name, "backup");
    assert_eq!(
        main.image.as_deref(),
        Some("ghcr.io/tibr/tibr-agent:v0.1.0")
    );
    assert_eq!(
        main.args.as_deref().unwrap(),
        [
            "backup",
            "--namespace=test1",
            "--backup-name=demo1-backup-s3"
        ]
    );
    assert_eq!(
        env(main),
        pairs(&[
            (
                "BACKUP_MANAGER_PASSWORD",
                "secret:backup-demo1-tidb-secret/password"
            ),
            ("S3_PROVIDER", "aws"),
            ("AWS_REGION", "us-west-1"),
            ("AWS_ACL", "private"),
            ("AWS_STORAGE_CLASS", "STANDARD_IA"),
            ("AWS_ACCESS_KEY_ID", "secret:s3-secret/access_key"),
            ("AWS_SECRET_ACCESS_KEY", "secret:s3-secret/secret_key"),
            ("BR_LOG_TO_TERM", "1"),
        ])
    );
    let mounts: Vec<_> = main
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect();
    assert_eq!(mounts, [("br-bin", "/var/lib/br-bin")]);
    assert!(job.metadata.annotations.is_none());
}

#[test]
fn kube2iam_variant_copies_the_role_annotation_but_not_last_applied() {
    let job = job_for(&kube2iam(), &cluster());
    for annotations in [
        job.metadata.annotations.as_ref().unwrap(),
        job.spec
            .as_ref()
            .unwrap()
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap(),
    ] {
        assert_eq!(
            annotations
                .get("iam.amazonaws.com/role")
                .map(String::as_str),
            Some("arn:aws:iam::123456789012:role/user")
        );
        assert!(!annotations.contains_key(crate::backup::labels::LAST_APPLIED));
    }
    let names: Vec<String> = env(main_container(&job))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("AWS_ACCESS")),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n == "AWS_SECRET_ACCESS_KEY"));
}

#[test]
fn irsa_variant_uses_the_service_account() {
    let b = tweak(&irsa(), json!({"spec": {"serviceAccount": "backup-irsa"}}));
    let job = job_for(&b, &cluster());
    assert_eq!(
        pod(&job).service_account_name.as_deref(),
        Some("backup-irsa")
    );
    let names: Vec<String> = env(main_container(&job))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("AWS_ACCESS")));
}

#[test]
fn no_secret_value_ever_reaches_the_job() {
    // Whatever the spec says, the serialized Job holds only references to Secrets.
    for b in [static_keys(), kube2iam(), irsa()] {
        let text = serde_json::to_string(&job_for(&b, &cluster())).unwrap();
        assert!(text.contains("secretKeyRef"), "{text}");
        assert!(!text.contains("\"value\":\"xxx\""));
        let job: Value = serde_json::from_str(&text).unwrap();
        for c in job["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
        {
            for e in c["env"].as_array().unwrap() {
                let name = e["name"].as_str().unwrap();
                if name.contains("PASSWORD") || name.contains("ACCESS_KEY") {
                    assert!(e.get("value").is_none(), "{name} is inlined");
                }
            }
        }
    }
}

#[test]
fn tool_image_tag_rules() {
    assert_eq!(br_image(None, Some("v8.5.0")), "pingcap/br:v8.5.0");
    assert_eq!(br_image(Some("my/br"), Some("v8.5.0")), "my/br:v8.5.0");
    assert_eq!(
        br_image(Some("my/br:v7.5.1"), Some("v8.5.0")),
        "my/br:v7.5.1"
    );
    assert_eq!(
        br_image(Some("registry:5000/pingcap/br"), Some("v8.1.0")),
        "registry:5000/pingcap/br:v8.1.0"
    );
    assert_eq!(
        br_image(Some("pingcap/br@sha256:abc"), Some("v8.1.0")),
        "pingcap/br@sha256:abc"
    );
    assert_eq!(br_image(None, None), "pingcap/br:latest");
    let b = tweak(&static_keys(), json!({"spec": {"toolImage": "mirror/br"}}));
    let job = job_for(&b, &cluster());
    assert_eq!(
        pod(&job).init_containers.as_ref().unwrap()[0]
            .image
            .as_deref(),
        Some("mirror/br:v8.5.0")
    );
}

#[test]
fn tls_mounts_follow_the_cluster() {
    let tc = cluster_with(
        json!({"tlsCluster": {"enabled": true}, "tidb": {"tlsClient": {"enabled": true}}}),
        true,
    );
    let job = job_for(&static_keys(), &tc);
    let pod = pod(&job);
    let secrets: Vec<(String, String)> = pod
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| Some((v.name.clone(), v.secret.as_ref()?.secret_name.clone()?)))
        .collect();
    assert_eq!(
        secrets,
        pairs(&[
            ("cluster-client-tls", "demo1-cluster-client-secret"),
            ("tidb-client-tls", "demo1-tidb-client-secret"),
        ])
    );
    let mounts: Vec<_> = main_container(&job)
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.mount_path.clone())
        .collect();
    assert!(mounts.contains(&CLUSTER_TLS_DIR.to_string()));
    assert!(mounts.contains(&TIDB_TLS_DIR.to_string()));

    // An explicit client secret wins; without `from` there is no TiDB connection at all.
    let b = tweak(
        &static_keys(),
        json!({"spec": {"from": {"tlsClientSecretName": "my-tls"}}}),
    );
    let job = job_for(&b, &tc);
    assert!(serde_json::to_string(&job).unwrap().contains("\"my-tls\""));
    let b = tweak(&static_keys(), json!({"spec": {"from": null}}));
    let text = serde_json::to_string(&job_for(&b, &tc)).unwrap();
    assert!(!text.contains("tidb-client-tls"));
    assert!(text.contains("cluster-client-tls"));

    // The skip annotation on the TidbCluster turns the TiDB client certificate off.
    let mut skip = tc.clone();
    skip.metadata.annotations = Some(
        [(
            "tidb.tidb.pingcap.com/skip-tls-when-connect-tidb".to_string(),
            "true".to_string(),
        )]
        .into(),
    );
    let text = serde_json::to_string(&job_for(&static_keys(), &skip)).unwrap();
    assert!(!text.contains("tidb-client-tls"));
}

#[test]
fn pod_settings_are_copied() {
    let b = tweak(
        &static_keys(),
        json!({
            "metadata": {"labels": {"team": "db", "app.kubernetes.io/component": "x"}},
            "spec": {
                "resources": {"limits": {"memory": "1Gi"}},
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "backup", "effect": "NoSchedule"}],
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "Exists"}]}]}}},
                "priorityClassName": "backup-high",
                "imagePullSecrets": [{"name": "regcred"}],
                "podSecurityContext": {"runAsUser": 1000},
                "additionalVolumes": [{"name": "extra", "emptyDir": {}}],
                "additionalVolumeMounts": [{"name": "extra", "mountPath": "/extra"}],
                "automountServiceAccountToken": false,
                "env": [{"name": "AWS_REGION", "value": "eu-west-1"}, {"name": "EXTRA", "value": "1"}]
            }
        }),
    );
    let job = job_for(&b, &cluster());
    let labels = job.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["app.kubernetes.io/component"], "backup");
    assert_eq!(labels["team"], "db");
    let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("Backup", "uid-1", Some(true))
    );
    let pod = pod(&job);
    assert_eq!(pod.priority_class_name.as_deref(), Some("backup-high"));
    assert_eq!(pod.tolerations.as_ref().unwrap().len(), 1);
    assert!(pod.affinity.is_some());
    assert_eq!(pod.image_pull_secrets.as_ref().unwrap()[0].name, "regcred");
    assert_eq!(
        pod.security_context.as_ref().unwrap().run_as_user,
        Some(1000)
    );
    assert_eq!(pod.automount_service_account_token, Some(false));
    let volumes: Vec<_> = pod
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(volumes, ["br-bin", "extra", API_ACCESS_VOLUME]);
    let projected = pod.volumes.as_ref().unwrap()[2].projected.as_ref().unwrap();
    assert_eq!(projected.sources.as_ref().unwrap().len(), 3);
    let main = main_container(&job);
    let init = &pod.init_containers.as_ref().unwrap()[0];
    assert_eq!(main.resources, init.resources);
    assert!(main.resources.is_some());
    let mounts: Vec<_> = main
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.mount_path.as_str())
        .collect();
    assert_eq!(mounts, ["/var/lib/br-bin", "/extra", SA_TOKEN_DIR]);
    let e = env(main);
    assert!(e.contains(&("AWS_REGION".into(), "eu-west-1".into())));
    assert!(!e.contains(&("AWS_REGION".into(), "us-west-1".into())));
    assert_eq!(e.last().unwrap(), &("EXTRA".to_string(), "1".to_string()));
}

#[test]
fn clean_job() {
    let job = super::clean_job(&static_keys(), "agent:1");
    assert_eq!(job.metadata.name.as_deref(), Some("clean-demo1-backup-s3"));
    assert_eq!(job.spec.as_ref().unwrap().backoff_limit, Some(6));
    let pod = pod(&job);
    assert!(pod.init_containers.is_none());
    assert_eq!(
        job.metadata.labels.as_ref().unwrap()["app.kubernetes.io/component"],
        "clean"
    );
    let main = main_container(&job);
    assert_eq!(
        main.args.as_deref().unwrap(),
        [
            "clean",
            "--namespace=test1",
            "--backup-name=demo1-backup-s3"
        ]
    );
    let e = env(main);
    assert!(
        !e.iter().any(|(n, _)| n == "BACKUP_MANAGER_PASSWORD"),
        "the clean Job never needs the TiDB password"
    );
    assert!(e.contains(&(
        "AWS_SECRET_ACCESS_KEY".into(),
        "secret:s3-secret/secret_key".into()
    )));
    // Ceph endpoints without a scheme get http://, as TiDB Operator does.
    let b = tweak(
        &fixtures::static_keys(),
        json!({"spec": {"s3": {"provider": "ceph", "endpoint": "rgw:7480"}}}),
    );
    let e = env(main_container(&super::clean_job(&b, "agent:1")));
    assert!(e.contains(&("S3_ENDPOINT".into(), "http://rgw:7480".into())));
    assert!(!e.iter().any(|(n, _)| n == "AWS_ACL"));
}
