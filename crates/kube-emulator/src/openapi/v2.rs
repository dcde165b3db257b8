//! The aggregated Swagger 2.0 document served at `/openapi/v2`.

use serde_json::{Map, Value, json};

use super::meta::{self, TypeMetaTexts};
use super::structural::{kind_schema, list_schema};
use super::{Dialect, KUBERNETES_VERSION, OpenApiResource, paths};

/// The Swagger 2.0 document describing every given resource: its paths and operations and,
/// for resources with a schema, the kind and list definitions in their v2-compatible form,
/// plus the meta definitions they refer to.
pub(crate) fn v2_document(resources: &[OpenApiResource]) -> Value {
    let all: Vec<&OpenApiResource> = resources.iter().collect();
    let paths = paths::path_items(&all, Dialect::V2);
    let definitions = definitions(resources, Dialect::V2);
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBERNETES_VERSION},
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer token authentication.",
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
            },
        },
        "security": [{"BearerToken": []}],
    })
}

/// The definitions (v2) or component schemas (v3) of the given resources, sorted by name.
pub(super) fn definitions<'a>(
    resources: impl IntoIterator<Item = &'a OpenApiResource>,
    dialect: Dialect,
) -> Map<String, Value> {
    let resources: Vec<&OpenApiResource> = resources.into_iter().collect();
    let mut entries: Vec<(String, Value)> = Vec::new();
    if !resources.is_empty() {
        let with_scale = resources.iter().any(|r| r.has_subresource("scale"));
        entries.extend(meta::definitions(dialect, with_scale));
    }
    let texts = TypeMetaTexts::load();
    for resource in resources.iter().filter(|r| r.schema.is_some()) {
        entries.push((
            resource.definition_name(&resource.kind),
            kind_schema(resource, &texts, dialect),
        ));
        entries.push((
            resource.definition_name(&resource.list_kind),
            list_schema(resource, &texts, dialect),
        ));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    // A later entry for the same name (a resource listed twice) wins.
    let mut out = Map::new();
    for (name, schema) in entries {
        out.insert(name, schema);
    }
    out
}
