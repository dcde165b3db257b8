//! Read access to one node of an `openAPIV3Schema` held as JSON.

use serde_json::{Map, Value};

/// One schema node. Absent keywords read as their zero value, as in the server's
/// `JSONSchemaProps`.
#[derive(Clone, Copy, Debug)]
pub struct Node<'a>(pub &'a Value);

/// The three shapes `additionalProperties` can take.
#[derive(Clone, Copy, Debug)]
pub enum Additional<'a> {
    Absent,
    Bool(bool),
    Schema(Node<'a>),
}

impl<'a> Node<'a> {
    pub fn get(self, key: &str) -> Option<&'a Value> {
        self.0.get(key)
    }

    pub fn has(self, key: &str) -> bool {
        self.0.get(key).is_some_and(|v| !v.is_null())
    }

    pub fn str(self, key: &str) -> &'a str {
        self.0.get(key).and_then(Value::as_str).unwrap_or("")
    }

    pub fn ty(self) -> &'a str {
        self.str("type")
    }

    pub fn flag(self, key: &str) -> bool {
        self.0.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn nullable(self) -> bool {
        self.flag("nullable")
    }

    pub fn preserve_unknown(self) -> bool {
        self.flag("x-kubernetes-preserve-unknown-fields")
    }

    pub fn embedded(self) -> bool {
        self.flag("x-kubernetes-embedded-resource")
    }

    pub fn int_or_string(self) -> bool {
        self.flag("x-kubernetes-int-or-string")
    }

    pub fn properties(self) -> Option<&'a Map<String, Value>> {
        self.0.get("properties").and_then(Value::as_object)
    }

    pub fn prop(self, name: &str) -> Option<Node<'a>> {
        self.properties().and_then(|p| p.get(name)).map(Node)
    }

    /// `items` when it is a single schema; the array form is rejected at CRD creation.
    pub fn items(self) -> Option<Node<'a>> {
        self.0.get("items").filter(|v| v.is_object()).map(Node)
    }

    pub fn additional(self) -> Additional<'a> {
        match self.0.get("additionalProperties") {
            None | Some(Value::Null) => Additional::Absent,
            Some(Value::Bool(b)) => Additional::Bool(*b),
            Some(v) => Additional::Schema(Node(v)),
        }
    }

    /// The schema for values of a map, if `additionalProperties` gives one.
    pub fn additional_schema(self) -> Option<Node<'a>> {
        match self.additional() {
            Additional::Schema(n) => Some(n),
            _ => None,
        }
    }

    /// `default`, where a literal `null` counts as unset as it does on the server.
    pub fn default(self) -> Option<&'a Value> {
        self.0.get("default").filter(|v| !v.is_null())
    }

    pub fn list(self, key: &str) -> &'a [Value] {
        self.0
            .get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn f64(self, key: &str) -> Option<f64> {
        self.0.get(key).and_then(Value::as_f64)
    }

    pub fn u64(self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(Value::as_u64)
    }
}
