//! `kubectl apply -f` for the manifests the sandbox, its demo and its tests hand to a
//! cluster (`deploy/backup-rbac.yaml`, the seed's Backups): every document of a YAML text,
//! server-side applied with field manager `kubectl`, reported the way kubectl reports it
//! (`serviceaccount/tidb-backup-manager created`).

use anyhow::Context;
use kube::{
    Api, Client,
    api::{DynamicObject, GroupVersionKind, Patch, PatchParams},
    discovery::{Scope, pinned_kind},
};
use serde_json::Value;

/// `deploy/backup-rbac.yaml` of this version: what backup and clean pods need in a namespace.
pub const BACKUP_RBAC: &str = include_str!("../../../../deploy/backup-rbac.yaml");

/// Every document of `yaml` that is an object, in order.
pub fn documents(yaml: &str) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(yaml) {
        let value: Value = serde::Deserialize::deserialize(doc).context("parsing YAML")?;
        if value.is_object() {
            out.push(value);
        }
    }
    Ok(out)
}

/// Applies every document of `yaml` in `namespace` (unless a document names its own), and
/// returns kubectl's line for each: `<kind>[.<group>]/<name> created|configured|unchanged`.
pub async fn apply(client: &Client, namespace: &str, yaml: &str) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for doc in documents(yaml)? {
        lines.push(apply_one(client, namespace, doc).await?);
    }
    Ok(lines)
}

async fn apply_one(client: &Client, namespace: &str, doc: Value) -> anyhow::Result<String> {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = doc["kind"].as_str().unwrap_or_default().to_string();
    let name = doc["metadata"]["name"]
        .as_str()
        .context("a manifest without metadata.name")?
        .to_string();
    let (group, version) = api_version
        .rsplit_once('/')
        .unwrap_or(("", api_version.as_str()));
    let gvk = GroupVersionKind::gvk(group, version, &kind);
    let (resource, caps) = pinned_kind(client, &gvk)
        .await
        .with_context(|| format!("the server does not serve {api_version} {kind}"))?;
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Namespaced => {
            let ns = doc["metadata"]["namespace"].as_str().unwrap_or(namespace);
            Api::namespaced_with(client.clone(), ns, &resource)
        }
        Scope::Cluster => Api::all_with(client.clone(), &resource),
    };
    let before = api.get_opt(&name).await?;
    let after = api
        .patch(
            &name,
            &PatchParams::apply("kubectl").force(),
            &Patch::Apply(&doc),
        )
        .await
        .with_context(|| format!("applying {kind} {name}"))?;
    let what = match before {
        None => "created",
        Some(b) if b.metadata.resource_version == after.metadata.resource_version => "unchanged",
        Some(_) => "configured",
    };
    let qualified = if group.is_empty() {
        kind.to_lowercase()
    } else {
        format!("{}.{group}", kind.to_lowercase())
    };
    Ok(format!("{qualified}/{name} {what}"))
}
