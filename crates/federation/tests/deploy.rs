//! `deploy/federation/` stays well-formed and in step with the binary: every document
//! parses into its Kubernetes type, the Deployment runs this version's image with the
//! kubeconfig where the binary reads it, the RBAC grants every call of the table in
//! `deploy/federation/README.md` (the protocol tests hold what the manager really does
//! against the same table), and the flags the README documents exist.

use std::path::PathBuf;

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{Namespace, Secret, ServiceAccount},
    rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding},
};
use serde_json::Value;
use tibr_testkit::rbac_table::{Call, calls_by};

fn dir() -> PathBuf {
    tibr_testkit::workspace().join("deploy/federation")
}

/// Every document of a multi-document YAML file.
fn documents(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir().join(path)).unwrap();
    text.split("\n---")
        .map(|doc| yaml_serde::from_str::<Value>(doc).unwrap())
        .filter(|doc| !doc.is_null())
        .collect()
}

fn typed<T: serde::de::DeserializeOwned>(doc: &Value) -> T {
    serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{e}: {doc:#}"))
}

fn find<T: serde::de::DeserializeOwned>(file: &str, kind: &str) -> T {
    typed(
        &documents(file)
            .into_iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {file}")),
    )
}

#[test]
fn manifests_parse_into_their_types() {
    let mut kinds = Vec::new();
    for file in [
        "namespace.yaml",
        "rbac.yaml",
        "deployment.yaml",
        "member/rbac.yaml",
    ] {
        for doc in documents(file) {
            let kind = doc["kind"].as_str().unwrap().to_owned();
            match kind.as_str() {
                "Namespace" => drop(typed::<Namespace>(&doc)),
                "ServiceAccount" => drop(typed::<ServiceAccount>(&doc)),
                "Secret" => drop(typed::<Secret>(&doc)),
                "ClusterRole" => drop(typed::<ClusterRole>(&doc)),
                "ClusterRoleBinding" => drop(typed::<ClusterRoleBinding>(&doc)),
                "Role" => drop(typed::<Role>(&doc)),
                "RoleBinding" => drop(typed::<RoleBinding>(&doc)),
                "Deployment" => drop(typed::<Deployment>(&doc)),
                other => panic!("unexpected kind {other} in {file}"),
            }
            kinds.push(kind);
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ClusterRole",
            "ClusterRole",
            "ClusterRoleBinding",
            "ClusterRoleBinding",
            "Deployment",
            "Namespace",
            "Namespace",
            "Role",
            "RoleBinding",
            "Secret",
            "ServiceAccount",
            "ServiceAccount",
        ]
    );
}

#[test]
fn the_deployment_runs_this_version_with_the_kubeconfig_where_the_binary_reads_it() {
    let d: Deployment = find("deployment.yaml", "Deployment");
    let pod = d.spec.template.spec.unwrap();
    assert_eq!(pod.service_account_name.as_deref(), Some("tibr-federation"));
    let c = &pod.containers[0];
    assert_eq!(
        c.image.as_deref(),
        Some(
            format!(
                "ghcr.io/tibr/tibr-federation:v{}",
                env!("CARGO_PKG_VERSION")
            )
            .as_str()
        )
    );
    let env = |name: &str| {
        c.env
            .iter()
            .flatten()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    assert_eq!(
        env("TIBR_FEDERATION_KUBECONFIG").value.as_deref(),
        Some(tibr_federation::DEFAULT_KUBECONFIG)
    );
    env("POD_NAME");
    env("POD_NAMESPACE");
    let mount = &c.volume_mounts.as_ref().unwrap()[0];
    assert_eq!(
        std::path::Path::new(&mount.mount_path),
        std::path::Path::new(tibr_federation::DEFAULT_KUBECONFIG)
            .parent()
            .unwrap()
    );
    assert!(
        mount.sub_path.is_none(),
        "a subPath mount never sees the Secret change"
    );
    let volume = &pod.volumes.as_ref().unwrap()[0];
    assert_eq!(volume.name, mount.name);
    assert_eq!(
        volume.secret.as_ref().unwrap().secret_name.as_deref(),
        Some("br-federation-kubeconfig")
    );
    let defaults = tibr_federation::Settings::new("unused");
    let ports: Vec<i32> = c.ports.iter().flatten().map(|p| p.container_port).collect();
    assert_eq!(
        ports,
        [
            i32::from(defaults.metrics_addr.port()),
            i32::from(defaults.health_addr.port())
        ]
    );
}

fn allows(rules: &[PolicyRule], group: &str, resource: &str, verb: &str) -> bool {
    let has = |list: &[String], v: &str| list.iter().any(|x| x == v || x == "*");
    rules.iter().any(|r| {
        has(r.api_groups.as_deref().unwrap_or_default(), group)
            && has(r.resources.as_deref().unwrap_or_default(), resource)
            && has(&r.verbs, verb)
    })
}

#[test]
fn the_rbac_allows_every_documented_call_and_members_nothing_else() {
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    let calls = calls_by(&readme, &["manager", "member"]);
    let cluster_role: ClusterRole = find("rbac.yaml", "ClusterRole");
    let lease_role: Role = find("rbac.yaml", "Role");
    let member_role: ClusterRole = find("member/rbac.yaml", "ClusterRole");
    let mut manager_rules = cluster_role.rules.clone().unwrap_or_default();
    manager_rules.extend(lease_role.rules.clone().unwrap_or_default());
    for who in ["manager", "member"] {
        assert!(calls.iter().any(|c| c.who == who), "no {who} rows");
    }
    for Call {
        who,
        group,
        resource,
        verb,
    } in &calls
    {
        let rules = if who == "manager" {
            &manager_rules
        } else {
            member_role.rules.as_ref().unwrap()
        };
        assert!(
            allows(rules, group, resource, verb),
            "the {who}'s {verb} {group}/{resource} is not allowed"
        );
    }
    // The Lease only in the manager's namespace.
    assert!(!allows(
        cluster_role.rules.as_deref().unwrap_or_default(),
        "coordination.k8s.io",
        "leases",
        "update"
    ));
    // Members: Backups, nothing else.
    for rule in member_role.rules.unwrap() {
        assert_eq!(rule.api_groups.unwrap(), ["pingcap.com"]);
        assert_eq!(rule.resources.unwrap(), ["backups"]);
    }
    // The token Secret belongs to the member ServiceAccount the binding names.
    let secret: Secret = find("member/rbac.yaml", "Secret");
    assert_eq!(
        secret.type_.as_deref(),
        Some("kubernetes.io/service-account-token")
    );
    let account: ServiceAccount = find("member/rbac.yaml", "ServiceAccount");
    assert_eq!(
        secret.metadata.annotations.unwrap()["kubernetes.io/service-account.name"],
        account.metadata.name.clone().unwrap()
    );
    let binding: ClusterRoleBinding = find("member/rbac.yaml", "ClusterRoleBinding");
    assert_eq!(
        binding.subjects.unwrap()[0].name,
        account.metadata.name.unwrap()
    );
}

#[test]
fn the_documented_flags_exist_with_their_defaults() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_tibr-federation"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for (flag, default) in [
        (
            "--federation-kubeconfig-path",
            Some(tibr_federation::DEFAULT_KUBECONFIG),
        ),
        ("--metrics-addr", Some(":6060")),
        ("--health-addr", Some(":6061")),
        ("--leader-elect", Some("true")),
        ("--workers", Some("5")),
        ("--namespace", None),
        ("--log-format", Some("text")),
    ] {
        assert!(help.contains(flag), "{flag} in\n{help}");
        if let Some(d) = default {
            assert!(
                help.contains(&format!("[default: {d}]")),
                "{flag} defaults to {d} in\n{help}"
            );
        }
    }
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    for flag in [
        "--federation-kubeconfig-path",
        "--metrics-addr",
        "--health-addr",
        "--leader-elect",
        "--workers",
        "--namespace",
        "--log-format",
    ] {
        assert!(readme.contains(flag), "{flag} documented");
    }
}
