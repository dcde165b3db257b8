//! The `meta/v1` (and `autoscaling/v1` Scale) definitions every custom resource document
//! refers to, taken from k8s-openapi's schemars support so that names and descriptions match
//! the upstream API rather than being maintained by hand here.

use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value};

use super::Dialect;
use super::structural::{sort_properties, wrap_refs};

pub(super) const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
pub(super) const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub(super) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
pub(super) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub(super) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub(super) const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";

/// Definitions are generated against `#/definitions/` and re-pointed for v3 afterwards, so one
/// generator configuration serves both dialects.
fn generator() -> SchemaGenerator {
    SchemaSettings::draft07()
        .with(|settings| {
            settings.definitions_path = "/definitions".into();
            settings.meta_schema = None;
            // The OpenAPI shaping (ref wrapping) is done by this module for CRD schemas too,
            // so schemars' own transforms would only make the two paths disagree.
            settings.transforms = Vec::new();
        })
        .into_generator()
}

/// The meta definitions the operations and kind schemas refer to (and what they refer to in
/// turn), by definition name, in the given dialect.
pub(super) fn definitions(dialect: Dialect, with_scale: bool) -> Vec<(String, Value)> {
    let mut generator = generator();
    generator.subschema_for::<metav1::ObjectMeta>();
    generator.subschema_for::<metav1::ListMeta>();
    generator.subschema_for::<metav1::Status>();
    generator.subschema_for::<metav1::DeleteOptions>();
    generator.subschema_for::<metav1::Patch>();
    if with_scale {
        generator.subschema_for::<Scale>();
    }
    generator
        .take_definitions(false)
        .into_iter()
        .map(|(name, mut schema)| {
            if dialect == Dialect::V3 {
                repoint_refs(&mut schema);
                schema = wrap_refs(schema);
            }
            sort_properties(&mut schema);
            (name, schema)
        })
        .collect()
}

fn repoint_refs(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get_mut("$ref")
                && let Some(name) = target.strip_prefix("#/definitions/")
            {
                *target = Dialect::V3.ref_to(name);
            }
            map.values_mut().for_each(repoint_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(repoint_refs),
        _ => {}
    }
}

/// Texts the kube-native properties of a custom resource carry, borrowed from built-in types
/// whose fields have the same meaning.
#[derive(Debug, Clone)]
pub(super) struct TypeMetaTexts {
    pub(crate) api_version: Value,
    pub(crate) kind: Value,
    pub(crate) object_metadata: String,
    pub(crate) list_metadata: String,
}

impl TypeMetaTexts {
    pub(super) fn load() -> TypeMetaTexts {
        let status = root_properties(generator().root_schema_for::<metav1::Status>().into());
        let config_map = root_properties(generator().root_schema_for::<ConfigMap>().into());
        let description = |props: &Map<String, Value>, field: &str| {
            props
                .get(field)
                .and_then(|p| p.get("description"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        TypeMetaTexts {
            api_version: status.get("apiVersion").cloned().unwrap_or_default(),
            kind: status.get("kind").cloned().unwrap_or_default(),
            object_metadata: description(&config_map, "metadata"),
            list_metadata: description(&status, "metadata"),
        }
    }
}

fn root_properties(schema: Value) -> Map<String, Value> {
    match schema {
        Value::Object(mut map) => match map.remove("properties") {
            Some(Value::Object(props)) => props,
            _ => Map::new(),
        },
        _ => Map::new(),
    }
}
