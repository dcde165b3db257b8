//! Legacy discovery documents (`/api`, `/apis`, `/apis/<group>`, `/api/v1`,
//! `/apis/<group>/<version>`) and `/version`. Clients that prefer aggregated discovery
//! fall back to these when the server answers with a plain group list, as kubectl does.

use serde_json::{Value, json};

use crate::registry::{Builtin, Registry, ResourceType};

use crate::openapi::KUBERNETES_VERSION;

/// `/version`, claiming the release whose behaviour the emulator follows. Version-matching
/// kubectl wrappers pick their client from this, so it also decides which kubectl runs.
pub(crate) fn version() -> Value {
    let numbers = KUBERNETES_VERSION.trim_start_matches('v');
    let mut parts = numbers.split('.');
    json!({
        "major": parts.next().unwrap_or("1"),
        "minor": parts.next().unwrap_or("0"),
        "gitVersion": format!("{KUBERNETES_VERSION}+tibr-sandbox"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

fn group_doc(name: &str, versions: &[String]) -> Value {
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": entries,
        "preferredVersion": entries.first().cloned().unwrap_or(Value::Null),
    })
}

pub(crate) fn groups(registry: &Registry) -> Value {
    let groups: Vec<Value> = registry
        .groups()
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, versions)| {
            let mut doc = group_doc(g, versions);
            if let Some(o) = doc.as_object_mut() {
                o.remove("kind");
                o.remove("apiVersion");
            }
            doc
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub(crate) fn group(registry: &Registry, name: &str) -> Option<Value> {
    registry
        .groups()
        .get(name)
        .filter(|_| !name.is_empty())
        .map(|v| group_doc(name, v))
}

fn resource_entry(t: &ResourceType) -> Value {
    let mut entry = json!({
        "name": t.plural,
        "singularName": t.singular,
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": t.verbs(),
    });
    if !t.short_names.is_empty() {
        entry["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        entry["categories"] = json!(t.categories);
    }
    entry
}

fn subresource_entries(t: &ResourceType) -> Vec<Value> {
    t.subresources
        .iter()
        .map(|sub| {
            let name = format!("{}/{sub}", t.plural);
            match (t.builtin(), sub.as_str()) {
                (Some(Builtin::ServiceAccount), "token") => json!({
                    "name": name, "singularName": "", "namespaced": true,
                    "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest",
                    "verbs": ["create"]
                }),
                (_, "log") => json!({"name": name, "singularName": "", "namespaced": t.namespaced, "kind": t.kind, "verbs": ["get"]}),
                (_, "finalize") => json!({"name": name, "singularName": "", "namespaced": t.namespaced, "kind": t.kind, "verbs": ["update"]}),
                _ => json!({"name": name, "singularName": "", "namespaced": t.namespaced, "kind": t.kind, "verbs": ["get", "patch", "update"]}),
            }
        })
        .collect()
}

pub(crate) fn resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let types = registry.in_group_version(group, version);
    if types.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for t in &types {
        resources.push(resource_entry(t));
        resources.extend(subresource_entries(t));
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}
