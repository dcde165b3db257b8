//! The OpenAPI v3 discovery index (`/openapi/v3`) and the per-group-version documents.

use serde_json::{Map, Value, json};

use super::v2::definitions;
use super::{Dialect, OpenApiResource, fnv1a64, group_version_path, paths};

/// The `/openapi/v3` index: one entry per served group-version, keyed `api/v1` or
/// `apis/<group>/<version>`, whose `serverRelativeURL` carries a hash of the document so that a
/// changed document gets a new URL.
pub(crate) fn v3_index(resources: &[OpenApiResource]) -> Value {
    let mut group_versions: Vec<(String, &str, &str)> = resources
        .iter()
        .map(|r| (r.group_version_path(), r.group.as_str(), r.version.as_str()))
        .collect();
    group_versions.sort();
    group_versions.dedup();
    let mut index = Map::new();
    for (path, group, version) in group_versions {
        let doc = v3_group_version(resources, group, version);
        let bytes = serde_json::to_vec(&doc).unwrap_or_default();
        let url = format!("/openapi/v3/{path}?hash={:016X}", fnv1a64(&bytes));
        index.insert(path, json!({"serverRelativeURL": url}));
    }
    json!({"paths": index})
}

/// The OpenAPI 3.0 document of one group-version: the paths of its resources and the component
/// schemas they refer to. A group-version with no resources yields a document with no paths;
/// the index tells whether it is served at all.
pub(crate) fn v3_group_version(resources: &[OpenApiResource], group: &str, version: &str) -> Value {
    let wanted = group_version_path(group, version);
    let members: Vec<&OpenApiResource> = resources
        .iter()
        .filter(|r| r.group_version_path() == wanted)
        .collect();
    let paths = paths::path_items(&members, Dialect::V3);
    let schemas = definitions(members.iter().copied(), Dialect::V3);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}
