//! Encodes a Swagger 2.0 JSON document as gnostic's `openapi.v2.Document` protobuf, the
//! form client-go asks `/openapi/v2` for.
//!
//! The real server converts its JSON with gnostic, so the mapping here is gnostic's: each JSON
//! object becomes the message of the same name, name-keyed maps become repeated `Named*`
//! entries in document order, `x-` keys become `vendor_extension` entries whose value is the
//! YAML text of the JSON value, and `default`/`enum`/`example` values are YAML text too.
//! Fields are written in field-number order with proto3 rules: zero scalars are omitted,
//! members of a `oneof` are always written. Keys gnostic does not know are skipped.

use serde_json::{Map, Value};

/// Encodes a Swagger 2.0 document (as built by [`super::v2_document`]) as protobuf.
pub(crate) fn v2_protobuf(doc: &Value) -> Vec<u8> {
    encode_object(doc, DOCUMENT, Some(16))
}

/// A protobuf message body under construction.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8 & 0x7f) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire_type));
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.key(field, 2);
        self.varint(bytes.len() as u64);
        self.buf.extend_from_slice(bytes);
    }

    fn string(&mut self, field: u32, value: &str) {
        if !value.is_empty() {
            self.bytes(field, value.as_bytes());
        }
    }

    fn boolean(&mut self, field: u32, value: bool) {
        if value {
            self.key(field, 0);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u32, value: i64) {
        if value != 0 {
            self.key(field, 0);
            // Negative int64 values are sign-extended to ten bytes on the wire.
            self.varint(value as u64);
        }
    }

    fn double(&mut self, field: u32, value: f64) {
        if value != 0.0 {
            self.key(field, 1);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }
}

/// How one JSON key maps onto a message field.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    /// A repeated string; a lone JSON string counts as one element.
    Strs,
    Bool,
    Double,
    Int,
    /// An `Any` holding the YAML text of the value.
    Any,
    /// A repeated `Any`, one per array element.
    Anys,
    /// A sub-message encoded by the function from the JSON value.
    Msg(fn(&Value) -> Vec<u8>),
    /// A repeated sub-message, one per array element.
    Msgs(fn(&Value) -> Vec<u8>),
}

struct Field {
    key: &'static str,
    number: u32,
    kind: Kind,
}

const fn f(key: &'static str, number: u32, kind: Kind) -> Field {
    Field { key, number, kind }
}

/// Writes the fields listed in `fields` (in table order, which is field-number order) and
/// then the `x-` keys as vendor extensions under `extension_field`.
fn encode_object(value: &Value, fields: &[Field], extension_field: Option<u32>) -> Vec<u8> {
    let Some(map) = value.as_object() else {
        return Vec::new();
    };
    let mut w = Writer::default();
    for field in fields {
        if let Some(v) = map.get(field.key) {
            write_field(&mut w, field.number, field.kind, v);
        }
    }
    if let Some(number) = extension_field {
        write_extensions(&mut w, number, map);
    }
    w.buf
}

fn write_field(w: &mut Writer, number: u32, kind: Kind, value: &Value) {
    match kind {
        Kind::Str => w.string(number, value.as_str().unwrap_or_default()),
        Kind::Strs => match value {
            Value::String(s) => w.bytes(number, s.as_bytes()),
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .for_each(|s| w.bytes(number, s.as_bytes())),
            _ => {}
        },
        Kind::Bool => w.boolean(number, value.as_bool().unwrap_or_default()),
        Kind::Double => w.double(number, value.as_f64().unwrap_or_default()),
        Kind::Int => {
            let int = value.as_i64().or_else(|| value.as_f64().map(|f| f as i64));
            w.int64(number, int.unwrap_or_default());
        }
        Kind::Any => w.bytes(number, &encode_any(value)),
        Kind::Anys => {
            for item in value.as_array().into_iter().flatten() {
                w.bytes(number, &encode_any(item));
            }
        }
        Kind::Msg(encode) => w.bytes(number, &encode(value)),
        Kind::Msgs(encode) => {
            for item in value.as_array().into_iter().flatten() {
                w.bytes(number, &encode(item));
            }
        }
    }
}

fn write_extensions(w: &mut Writer, number: u32, map: &Map<String, Value>) {
    for (key, value) in map.iter().filter(|(k, _)| k.starts_with("x-")) {
        w.bytes(number, &named(key, &encode_any(value)));
    }
}

/// A `Named*` entry: the name in field 1, the encoded value in field 2.
fn named(name: &str, value: &[u8]) -> Vec<u8> {
    let mut w = Writer::default();
    w.string(1, name);
    w.bytes(2, value);
    w.buf
}

/// A `Named*` map message: each key becomes a repeated entry in field 1. `x-` keys are
/// included, since a property may legitimately be named like an extension.
fn named_map(value: &Value, encode: fn(&Value) -> Vec<u8>) -> Vec<u8> {
    let mut w = Writer::default();
    for (name, item) in value.as_object().into_iter().flatten() {
        w.bytes(1, &named(name, &encode(item)));
    }
    w.buf
}

/// `openapi.v2.Any`: the YAML rendering in field 2, as gnostic stores values it has no
/// message type for.
fn encode_any(value: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    w.string(2, &yaml_text(value));
    w.buf
}

fn yaml_text(value: &Value) -> String {
    // JSON is a subset of YAML, so if the YAML emitter ever refuses a value, its JSON text is
    // an equally valid rendering.
    yaml_serde::to_string(value).unwrap_or_else(|_| format!("{value}\n"))
}

const DOCUMENT: &[Field] = &[
    f("swagger", 1, Kind::Str),
    f("info", 2, Kind::Msg(encode_info)),
    f("host", 3, Kind::Str),
    f("basePath", 4, Kind::Str),
    f("schemes", 5, Kind::Strs),
    f("consumes", 6, Kind::Strs),
    f("produces", 7, Kind::Strs),
    f("paths", 8, Kind::Msg(encode_paths)),
    f("definitions", 9, Kind::Msg(encode_definitions)),
    f("parameters", 10, Kind::Msg(encode_parameter_definitions)),
    f("security", 12, Kind::Msgs(encode_security_requirement)),
    f(
        "securityDefinitions",
        13,
        Kind::Msg(encode_security_definitions),
    ),
    f("tags", 14, Kind::Msgs(encode_tag)),
    f("externalDocs", 15, Kind::Msg(encode_external_docs)),
];

fn encode_info(value: &Value) -> Vec<u8> {
    const INFO: &[Field] = &[
        f("title", 1, Kind::Str),
        f("version", 2, Kind::Str),
        f("description", 3, Kind::Str),
        f("termsOfService", 4, Kind::Str),
    ];
    encode_object(value, INFO, Some(7))
}

fn encode_external_docs(value: &Value) -> Vec<u8> {
    const DOCS: &[Field] = &[f("description", 1, Kind::Str), f("url", 2, Kind::Str)];
    encode_object(value, DOCS, Some(3))
}

fn encode_tag(value: &Value) -> Vec<u8> {
    const TAG: &[Field] = &[
        f("name", 1, Kind::Str),
        f("description", 2, Kind::Str),
        f("externalDocs", 3, Kind::Msg(encode_external_docs)),
    ];
    encode_object(value, TAG, Some(4))
}

fn encode_paths(value: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    let Some(map) = value.as_object() else {
        return Vec::new();
    };
    write_extensions(&mut w, 1, map);
    for (path, item) in map.iter().filter(|(k, _)| !k.starts_with("x-")) {
        w.bytes(2, &named(path, &encode_path_item(item)));
    }
    w.buf
}

fn encode_path_item(value: &Value) -> Vec<u8> {
    const PATH_ITEM: &[Field] = &[
        f("$ref", 1, Kind::Str),
        f("get", 2, Kind::Msg(encode_operation)),
        f("put", 3, Kind::Msg(encode_operation)),
        f("post", 4, Kind::Msg(encode_operation)),
        f("delete", 5, Kind::Msg(encode_operation)),
        f("options", 6, Kind::Msg(encode_operation)),
        f("head", 7, Kind::Msg(encode_operation)),
        f("patch", 8, Kind::Msg(encode_operation)),
        f("parameters", 9, Kind::Msgs(encode_parameters_item)),
    ];
    encode_object(value, PATH_ITEM, Some(10))
}

fn encode_operation(value: &Value) -> Vec<u8> {
    const OPERATION: &[Field] = &[
        f("tags", 1, Kind::Strs),
        f("summary", 2, Kind::Str),
        f("description", 3, Kind::Str),
        f("externalDocs", 4, Kind::Msg(encode_external_docs)),
        f("operationId", 5, Kind::Str),
        f("produces", 6, Kind::Strs),
        f("consumes", 7, Kind::Strs),
        f("parameters", 8, Kind::Msgs(encode_parameters_item)),
        f("responses", 9, Kind::Msg(encode_responses)),
        f("schemes", 10, Kind::Strs),
        f("deprecated", 11, Kind::Bool),
        f("security", 12, Kind::Msgs(encode_security_requirement)),
    ];
    encode_object(value, OPERATION, Some(13))
}

fn encode_json_reference(value: &Value) -> Vec<u8> {
    const REFERENCE: &[Field] = &[f("$ref", 1, Kind::Str), f("description", 2, Kind::Str)];
    encode_object(value, REFERENCE, None)
}

/// `ParametersItem`: a oneof of an inline `Parameter` (1) and a `JsonReference` (2).
fn encode_parameters_item(value: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    if value.get("$ref").is_some() {
        w.bytes(2, &encode_json_reference(value));
    } else {
        w.bytes(1, &encode_parameter(value));
    }
    w.buf
}

/// `Parameter`: a oneof of `BodyParameter` (1) and `NonBodyParameter` (2), which is itself a
/// oneof over where the parameter lives.
fn encode_parameter(value: &Value) -> Vec<u8> {
    const BODY: &[Field] = &[
        f("description", 1, Kind::Str),
        f("name", 2, Kind::Str),
        f("in", 3, Kind::Str),
        f("required", 4, Kind::Bool),
        f("schema", 5, Kind::Msg(encode_schema)),
    ];
    let mut w = Writer::default();
    let location = value.get("in").and_then(Value::as_str).unwrap_or_default();
    if location == "body" {
        w.bytes(1, &encode_object(value, BODY, Some(6)));
        return w.buf;
    }
    let (number, sub) = match location {
        "header" => (1, encode_object(value, PATH_OR_HEADER_PARAMETER, Some(22))),
        "formData" => (2, encode_object(value, QUERY_OR_FORM_PARAMETER, Some(23))),
        "path" => (4, encode_object(value, PATH_OR_HEADER_PARAMETER, Some(22))),
        _ => (3, encode_object(value, QUERY_OR_FORM_PARAMETER, Some(23))),
    };
    let mut non_body = Writer::default();
    non_body.bytes(number, &sub);
    w.bytes(2, &non_body.buf);
    w.buf
}

/// `QueryParameterSubSchema` and `FormDataParameterSubSchema` share this layout.
const QUERY_OR_FORM_PARAMETER: &[Field] = &[
    f("required", 1, Kind::Bool),
    f("in", 2, Kind::Str),
    f("description", 3, Kind::Str),
    f("name", 4, Kind::Str),
    f("allowEmptyValue", 5, Kind::Bool),
    f("type", 6, Kind::Str),
    f("format", 7, Kind::Str),
    f("items", 8, Kind::Msg(encode_primitives_items)),
    f("collectionFormat", 9, Kind::Str),
    f("default", 10, Kind::Any),
    f("maximum", 11, Kind::Double),
    f("exclusiveMaximum", 12, Kind::Bool),
    f("minimum", 13, Kind::Double),
    f("exclusiveMinimum", 14, Kind::Bool),
    f("maxLength", 15, Kind::Int),
    f("minLength", 16, Kind::Int),
    f("pattern", 17, Kind::Str),
    f("maxItems", 18, Kind::Int),
    f("minItems", 19, Kind::Int),
    f("uniqueItems", 20, Kind::Bool),
    f("enum", 21, Kind::Anys),
    f("multipleOf", 22, Kind::Double),
];

/// `PathParameterSubSchema` and `HeaderParameterSubSchema` share this layout (no
/// `allowEmptyValue`, so everything after `name` is one lower).
const PATH_OR_HEADER_PARAMETER: &[Field] = &[
    f("required", 1, Kind::Bool),
    f("in", 2, Kind::Str),
    f("description", 3, Kind::Str),
    f("name", 4, Kind::Str),
    f("type", 5, Kind::Str),
    f("format", 6, Kind::Str),
    f("items", 7, Kind::Msg(encode_primitives_items)),
    f("collectionFormat", 8, Kind::Str),
    f("default", 9, Kind::Any),
    f("maximum", 10, Kind::Double),
    f("exclusiveMaximum", 11, Kind::Bool),
    f("minimum", 12, Kind::Double),
    f("exclusiveMinimum", 13, Kind::Bool),
    f("maxLength", 14, Kind::Int),
    f("minLength", 15, Kind::Int),
    f("pattern", 16, Kind::Str),
    f("maxItems", 17, Kind::Int),
    f("minItems", 18, Kind::Int),
    f("uniqueItems", 19, Kind::Bool),
    f("enum", 20, Kind::Anys),
    f("multipleOf", 21, Kind::Double),
];

fn encode_primitives_items(value: &Value) -> Vec<u8> {
    const ITEMS: &[Field] = &[
        f("type", 1, Kind::Str),
        f("format", 2, Kind::Str),
        f("items", 3, Kind::Msg(encode_primitives_items)),
        f("collectionFormat", 4, Kind::Str),
        f("default", 5, Kind::Any),
        f("maximum", 6, Kind::Double),
        f("exclusiveMaximum", 7, Kind::Bool),
        f("minimum", 8, Kind::Double),
        f("exclusiveMinimum", 9, Kind::Bool),
        f("maxLength", 10, Kind::Int),
        f("minLength", 11, Kind::Int),
        f("pattern", 12, Kind::Str),
        f("maxItems", 13, Kind::Int),
        f("minItems", 14, Kind::Int),
        f("uniqueItems", 15, Kind::Bool),
        f("enum", 16, Kind::Anys),
        f("multipleOf", 17, Kind::Double),
    ];
    encode_object(value, ITEMS, Some(18))
}

fn encode_parameter_definitions(value: &Value) -> Vec<u8> {
    named_map(value, encode_parameter)
}

/// `Responses`: status codes as `NamedResponseValue` (1), extensions in field 2.
fn encode_responses(value: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    let Some(map) = value.as_object() else {
        return Vec::new();
    };
    for (code, response) in map.iter().filter(|(k, _)| !k.starts_with("x-")) {
        w.bytes(1, &named(code, &encode_response_value(response)));
    }
    write_extensions(&mut w, 2, map);
    w.buf
}

/// `ResponseValue`: a oneof of `Response` (1) and `JsonReference` (2).
fn encode_response_value(value: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    if value.get("$ref").is_some() {
        w.bytes(2, &encode_json_reference(value));
    } else {
        w.bytes(1, &encode_response(value));
    }
    w.buf
}

fn encode_response(value: &Value) -> Vec<u8> {
    const RESPONSE: &[Field] = &[
        f("description", 1, Kind::Str),
        f("schema", 2, Kind::Msg(encode_schema_item)),
    ];
    encode_object(value, RESPONSE, Some(5))
}

/// `SchemaItem`: a oneof whose `Schema` member (1) is the only one emitted here.
fn encode_schema_item(value: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    w.bytes(1, &encode_schema(value));
    w.buf
}

fn encode_definitions(value: &Value) -> Vec<u8> {
    named_map(value, encode_schema)
}

fn encode_schema(value: &Value) -> Vec<u8> {
    const SCHEMA: &[Field] = &[
        f("$ref", 1, Kind::Str),
        f("format", 2, Kind::Str),
        f("title", 3, Kind::Str),
        f("description", 4, Kind::Str),
        f("default", 5, Kind::Any),
        f("multipleOf", 6, Kind::Double),
        f("maximum", 7, Kind::Double),
        f("exclusiveMaximum", 8, Kind::Bool),
        f("minimum", 9, Kind::Double),
        f("exclusiveMinimum", 10, Kind::Bool),
        f("maxLength", 11, Kind::Int),
        f("minLength", 12, Kind::Int),
        f("pattern", 13, Kind::Str),
        f("maxItems", 14, Kind::Int),
        f("minItems", 15, Kind::Int),
        f("uniqueItems", 16, Kind::Bool),
        f("maxProperties", 17, Kind::Int),
        f("minProperties", 18, Kind::Int),
        f("required", 19, Kind::Strs),
        f("enum", 20, Kind::Anys),
        f(
            "additionalProperties",
            21,
            Kind::Msg(encode_additional_properties),
        ),
        f("type", 22, Kind::Msg(encode_type_item)),
        f("items", 23, Kind::Msg(encode_items_item)),
        f("allOf", 24, Kind::Msgs(encode_schema)),
        f("properties", 25, Kind::Msg(encode_properties)),
        f("discriminator", 26, Kind::Str),
        f("readOnly", 27, Kind::Bool),
        f("externalDocs", 29, Kind::Msg(encode_external_docs)),
        f("example", 30, Kind::Any),
    ];
    encode_object(value, SCHEMA, Some(31))
}

fn encode_properties(value: &Value) -> Vec<u8> {
    named_map(value, encode_schema)
}

/// `AdditionalPropertiesItem`: a oneof of a `Schema` (1) and a boolean (2); being a oneof
/// member, `false` is written too.
fn encode_additional_properties(value: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    match value {
        Value::Bool(b) => {
            w.key(2, 0);
            w.varint(u64::from(*b));
        }
        other => w.bytes(1, &encode_schema(other)),
    }
    w.buf
}

/// `TypeItem`: the type names, whether JSON gave one or a list.
fn encode_type_item(value: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    write_field(&mut w, 1, Kind::Strs, value);
    w.buf
}

/// `ItemsItem`: one schema, or several for tuple-style `items`.
fn encode_items_item(value: &Value) -> Vec<u8> {
    let mut w = Writer::default();
    match value {
        Value::Array(items) => items.iter().for_each(|i| w.bytes(1, &encode_schema(i))),
        other => w.bytes(1, &encode_schema(other)),
    }
    w.buf
}

/// `SecurityDefinitionsItem` is a oneof keyed by the scheme's `type`; only the schemes the
/// Kubernetes document uses are mapped.
fn encode_security_definitions(value: &Value) -> Vec<u8> {
    fn item(value: &Value) -> Vec<u8> {
        const API_KEY: &[Field] = &[
            f("type", 1, Kind::Str),
            f("name", 2, Kind::Str),
            f("in", 3, Kind::Str),
            f("description", 4, Kind::Str),
        ];
        const BASIC: &[Field] = &[f("type", 1, Kind::Str), f("description", 2, Kind::Str)];
        let mut w = Writer::default();
        match value.get("type").and_then(Value::as_str) {
            Some("apiKey") => w.bytes(2, &encode_object(value, API_KEY, Some(5))),
            Some("basic") => w.bytes(1, &encode_object(value, BASIC, Some(3))),
            _ => {}
        }
        w.buf
    }
    named_map(value, item)
}

/// `SecurityRequirement`: scheme name to the list of scopes (`NamedStringArray`).
fn encode_security_requirement(value: &Value) -> Vec<u8> {
    fn scopes(value: &Value) -> Vec<u8> {
        let mut w = Writer::default();
        write_field(&mut w, 1, Kind::Strs, value);
        w.buf
    }
    named_map(value, scopes)
}
