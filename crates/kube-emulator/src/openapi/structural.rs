//! Turns a CRD version's `openAPIV3Schema` into the kind and list schemas the API server
//! publishes.
//!
//! The steps follow the apiextensions-apiserver's: keep only what its structural schema model
//! can hold, expand `x-kubernetes-int-or-string` into the `anyOf` it stands for, and add the
//! kube-native `apiVersion`, `kind` and `metadata` properties (also inside embedded
//! resources). For Swagger 2.0 the schema is then cut down to what kubectl's v2 parser accepts:
//! no junctors, no `nullable` (a nullable field loses its type and is no longer required), no
//! fields under `x-kubernetes-preserve-unknown-fields`, no arrays without items, no defaults.

use serde_json::{Map, Value, json};

use super::meta::{LIST_META, OBJECT_META, TypeMetaTexts};
use super::{Dialect, OpenApiResource};

const PRESERVE_UNKNOWN: &str = "x-kubernetes-preserve-unknown-fields";
const EMBEDDED_RESOURCE: &str = "x-kubernetes-embedded-resource";
const INT_OR_STRING: &str = "x-kubernetes-int-or-string";
pub(super) const GVK_EXTENSION: &str = "x-kubernetes-group-version-kind";

/// Keywords a structural schema keeps, besides the schema-valued ones handled separately.
const KEPT_KEYWORDS: &[&str] = &[
    "type",
    "nullable",
    "description",
    "title",
    "default",
    "format",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
    "x-kubernetes-validations",
];

/// Boolean extensions the structural model only records when true.
const FLAG_EXTENSIONS: &[&str] = &[PRESERVE_UNKNOWN, EMBEDDED_RESOURCE, INT_OR_STRING];

/// The published schema of a resource's kind.
pub(super) fn kind_schema(
    resource: &OpenApiResource,
    texts: &TypeMetaTexts,
    dialect: Dialect,
) -> Value {
    let source = resource.schema.as_ref().map(structural);
    let mut schema = match source {
        Some(Value::Object(mut map)) => {
            unfold(&mut map);
            let preserve_all = is_true(&map, PRESERVE_UNKNOWN);
            if dialect == Dialect::V2 && preserve_all {
                // kubectl's v2 validation would reject every unlisted field, so the server
                // publishes nothing it could validate against.
                json!({"type": "object"})
            } else {
                if dialect == Dialect::V2 {
                    to_v2(&mut map);
                }
                let props = properties_mut(&mut map);
                props.insert("apiVersion".into(), texts.api_version.clone());
                props.insert("kind".into(), texts.kind.clone());
                props.insert("metadata".into(), object_metadata(texts, dialect));
                add_embedded(&mut map, texts, dialect);
                Value::Object(map)
            }
        }
        _ => json!({"type": "object"}),
    };
    if let Value::Object(map) = &mut schema {
        map.insert(
            GVK_EXTENSION.into(),
            resource.definition_gvk(&resource.kind),
        );
    }
    finish(schema, dialect)
}

/// The published schema of a resource's list kind.
pub(super) fn list_schema(
    resource: &OpenApiResource,
    texts: &TypeMetaTexts,
    dialect: Dialect,
) -> Value {
    let item = dialect.ref_schema(&resource.definition_name(&resource.kind));
    let schema = json!({
        "description": format!("A list of {} objects.", resource.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": texts.api_version,
            "items": {
                "description": format!("The {} in this list.", resource.plural),
                "type": "array",
                "items": item,
            },
            "kind": texts.kind,
            "metadata": {
                "$ref": dialect.ref_to(LIST_META),
                "description": texts.list_metadata,
            },
        },
        GVK_EXTENSION: resource.definition_gvk(&resource.list_kind),
    });
    finish(schema, dialect)
}

fn finish(mut schema: Value, dialect: Dialect) -> Value {
    sort_properties(&mut schema);
    match dialect {
        Dialect::V2 => schema,
        Dialect::V3 => wrap_refs(schema),
    }
}

fn object_metadata(texts: &TypeMetaTexts, dialect: Dialect) -> Value {
    json!({"$ref": dialect.ref_to(OBJECT_META), "description": texts.object_metadata})
}

fn is_true(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key) == Some(&Value::Bool(true))
}

fn type_is(map: &Map<String, Value>, ty: &str) -> bool {
    map.get("type").and_then(Value::as_str) == Some(ty)
}

fn properties_mut(map: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let entry = map
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut().expect("just made an object")
}

/// Applies `f` to every direct sub-schema of `map`.
fn for_each_subschema(map: &mut Map<String, Value>, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props
            .values_mut()
            .filter_map(Value::as_object_mut)
            .for_each(&mut *f);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(Value::Object(sub)) = map.get_mut(key) {
            f(sub);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = map.get_mut(key) {
            subs.iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(&mut *f);
        }
    }
}

/// The part of a schema the structural model represents; everything else is dropped.
fn structural(schema: &Value) -> Value {
    let Value::Object(source) = schema else {
        return json!({});
    };
    let mut out = Map::new();
    for (key, value) in source {
        let keep = match key.as_str() {
            "properties" => {
                if let Value::Object(props) = value {
                    let props = props.iter().map(|(k, v)| (k.clone(), structural(v)));
                    out.insert(key.clone(), Value::Object(props.collect()));
                }
                false
            }
            "items" | "not" => {
                out.insert(key.clone(), structural(value));
                false
            }
            "additionalProperties" => {
                let converted = match value {
                    Value::Bool(b) => Value::Bool(*b),
                    other => structural(other),
                };
                out.insert(key.clone(), converted);
                false
            }
            "allOf" | "anyOf" | "oneOf" => {
                if let Value::Array(subs) = value {
                    out.insert(key.clone(), subs.iter().map(structural).collect());
                }
                false
            }
            k if FLAG_EXTENSIONS.contains(&k) => value == &Value::Bool(true),
            "nullable" => value == &Value::Bool(true),
            "x-kubernetes-list-map-keys" | "x-kubernetes-validations" => {
                value.as_array().is_some_and(|a| !a.is_empty())
            }
            k => KEPT_KEYWORDS.contains(&k),
        };
        if keep {
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

fn int_or_string_alternatives() -> Value {
    json!([{"type": "integer"}, {"type": "string"}])
}

fn is_int_or_string_any_of(value: Option<&Value>) -> bool {
    value == Some(&int_or_string_alternatives())
}

/// Spells out `x-kubernetes-int-or-string` as the `anyOf` validation it implies, unless the
/// schema already carries it.
fn unfold(map: &mut Map<String, Value>) {
    if is_true(map, INT_OR_STRING) {
        let first_all_of = map
            .get("allOf")
            .and_then(Value::as_array)
            .and_then(|all| all.first())
            .and_then(|first| first.get("anyOf"));
        let already =
            is_int_or_string_any_of(map.get("anyOf")) || is_int_or_string_any_of(first_all_of);
        if !already {
            if map.contains_key("anyOf") {
                let wrapped = json!({"anyOf": int_or_string_alternatives()});
                let mut all_of = vec![wrapped];
                if let Some(Value::Array(rest)) = map.remove("allOf") {
                    all_of.extend(rest);
                }
                map.insert("allOf".into(), Value::Array(all_of));
            } else {
                map.insert("anyOf".into(), int_or_string_alternatives());
            }
        }
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props
            .values_mut()
            .filter_map(Value::as_object_mut)
            .for_each(unfold);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(Value::Object(sub)) = map.get_mut(key) {
            unfold(sub);
        }
    }
}

/// Reduces a structural schema to what Swagger 2.0 and kubectl's v2 parser can take.
fn to_v2(map: &mut Map<String, Value>) {
    for key in ["allOf", "anyOf", "oneOf", "not", "default"] {
        map.remove(key);
    }
    let nullable = map.remove("nullable") == Some(Value::Bool(true));
    let preserve = is_true(map, PRESERVE_UNKNOWN);
    if nullable || preserve {
        map.remove("items");
        map.remove("properties");
    }
    if nullable {
        map.remove("type");
    }
    if !map.contains_key("items") && type_is(map, "array") {
        map.remove("type");
    }
    if preserve && type_is(map, "object") {
        map.remove("type");
    }
    // A nullable field may be sent as null, which v2 clients would reject as a missing
    // required field; the server therefore drops it from `required`.
    let nullable_fields: Vec<String> = match map.get("properties") {
        Some(Value::Object(props)) => props
            .iter()
            .filter(|(_, p)| p.get("nullable") == Some(&Value::Bool(true)))
            .map(|(name, _)| name.clone())
            .collect(),
        _ => Vec::new(),
    };
    let nullable_values = map
        .get("additionalProperties")
        .and_then(|a| a.get("nullable"))
        == Some(&Value::Bool(true));
    if nullable_values {
        map.remove("required");
    } else if !nullable_fields.is_empty()
        && let Some(Value::Array(required)) = map.get_mut("required")
    {
        required.retain(|r| {
            !r.as_str()
                .is_some_and(|r| nullable_fields.iter().any(|f| f == r))
        });
        if required.is_empty() {
            map.remove("required");
        }
    }
    for_each_subschema(map, &mut to_v2);
}

/// Gives every `x-kubernetes-embedded-resource` object its kube-native properties, innermost
/// first as the server does.
fn add_embedded(map: &mut Map<String, Value>, texts: &TypeMetaTexts, dialect: Dialect) {
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for sub in props.values_mut().filter_map(Value::as_object_mut) {
            add_embedded(sub, texts, dialect);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(Value::Object(sub)) = map.get_mut(key) {
            add_embedded(sub, texts, dialect);
        }
    }
    if dialect == Dialect::V2 && is_true(map, PRESERVE_UNKNOWN) {
        // Listing properties would make kubectl's v2 validation reject the unknown ones.
        return;
    }
    if !is_true(map, EMBEDDED_RESOURCE) {
        return;
    }
    let props = properties_mut(map);
    props.insert(
        "apiVersion".into(),
        json!({"description": "The API group and version of the embedded object.", "type": "string"}),
    );
    props.insert(
        "kind".into(),
        json!({"description": "The kind of the embedded object, in CamelCase.", "type": "string"}),
    );
    props.insert("metadata".into(), object_metadata(texts, dialect));
    let required = map
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(required) = required {
        for field in ["kind", "apiVersion"] {
            if !required.iter().any(|r| r == field) {
                required.push(Value::String(field.into()));
            }
        }
    }
}

/// Sorts every `properties` map by name, as the Go server's map serialization does, so the
/// documents (and their hashes) do not depend on the order a CRD was written in.
pub(super) fn sort_properties(schema: &mut Value) {
    if let Value::Object(map) = schema {
        sort_properties_in(map);
    }
}

fn sort_properties_in(map: &mut Map<String, Value>) {
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        let mut entries: Vec<(String, Value)> = std::mem::take(props).into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        props.extend(entries);
    }
    for_each_subschema(map, &mut sort_properties_in);
}

/// OpenAPI 3.0 ignores the siblings of a `$ref`, so a reference that carries a description
/// (or anything else) is moved into a single-element `allOf`, as the server does.
pub(super) fn wrap_refs(mut schema: Value) -> Value {
    if let Value::Object(map) = &mut schema {
        wrap_refs_in(map);
    }
    schema
}

fn wrap_refs_in(map: &mut Map<String, Value>) {
    if map.len() > 1
        && let Some(target) = map.remove("$ref")
    {
        let mut all_of = vec![json!({"$ref": target})];
        if let Some(Value::Array(rest)) = map.remove("allOf") {
            all_of.extend(rest);
        }
        map.insert("allOf".into(), Value::Array(all_of));
    }
    for_each_subschema(map, &mut wrap_refs_in);
}
