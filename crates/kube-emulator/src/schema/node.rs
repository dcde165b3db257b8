//! Read access to one node of an `openAPIV3Schema` held as JSON.

use serde_json::{Map, Value};

/// One schema node. Absent keywords read as their zero value, as in the server's
/// `JSONSchemaProps`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node<'a>(pub &'a Value);

/// The three shapes `additionalProperties` can take.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Additional<'a> {
    Absent,
    Bool(bool),
    Schema(Node<'a>),
}

impl<'a> Node<'a> {
    pub(crate) fn get(self, key: &str) -> Option<&'a Value> {
        self.0.get(key)
    }

    pub(crate) fn has(self, key: &str) -> bool {
        self.0.get(key).is_some_and(|v| !v.is_null())
    }

    pub(crate) fn str(self, key: &str) -> &'a str {
        self.0.get(key).and_then(Value::as_str).unwrap_or("")
    }

    pub(crate) fn ty(self) -> &'a str {
        self.str("type")
    }

    pub(crate) fn flag(self, key: &str) -> bool {
        self.0.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    pub(crate) fn nullable(self) -> bool {
        self.flag("nullable")
    }

    pub(crate) fn preserve_unknown(self) -> bool {
        self.flag("x-kubernetes-preserve-unknown-fields")
    }

    pub(crate) fn embedded(self) -> bool {
        self.flag("x-kubernetes-embedded-resource")
    }

    pub(crate) fn int_or_string(self) -> bool {
        self.flag("x-kubernetes-int-or-string")
    }

    pub(crate) fn properties(self) -> Option<&'a Map<String, Value>> {
        self.0.get("properties").and_then(Value::as_object)
    }

    pub(crate) fn prop(self, name: &str) -> Option<Node<'a>> {
        self.properties().and_then(|p| p.get(name)).map(Node)
    }

    /// `items` when it is a single schema; the array form is rejected at CRD creation.
    pub(crate) fn items(self) -> Option<Node<'a>> {
        self.0.get("items").filter(|v| v.is_object()).map(Node)
    }

    pub(crate) fn additional(self) -> Additional<'a> {
        match self.0.get("additionalProperties") {
            None | Some(Value::Null) => Additional::Absent,
            Some(Value::Bool(b)) => Additional::Bool(*b),
            Some(v) => Additional::Schema(Node(v)),
        }
    }

    /// The schema for values of a map, if `additionalProperties` gives one.
    pub(crate) fn additional_schema(self) -> Option<Node<'a>> {
        match self.additional() {
            Additional::Schema(n) => Some(n),
            _ => None,
        }
    }

    /// `default`, where a literal `null` counts as unset as it does on the server.
    pub(crate) fn default(self) -> Option<&'a Value> {
        self.0.get("default").filter(|v| !v.is_null())
    }

    pub(crate) fn list(self, key: &str) -> &'a [Value] {
        self.0
            .get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub(crate) fn f64(self, key: &str) -> Option<f64> {
        self.0.get(key).and_then(Value::as_f64)
    }

    pub(crate) fn u64(self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(Value::as_u64)
    }
}
