//! Server-side printing: the `meta.k8s.io/v1` `Table` the API server returns for
//! `Accept: application/json;as=Table;g=meta.k8s.io;v=v1`, which `kubectl get` renders.
//!
//! [`crd_table`] follows the custom-resource table convertor (a `Name` column plus the
//! CRD's `additionalPrinterColumns`, or `Age` when it has none); [`builtin_table`]
//! follows the built-in printers for the kinds the sandbox serves. Like the server,
//! every column is returned whatever its priority: kubectl hides priority > 0 columns
//! unless `-o wide`. Cells are computed against the caller's `now`.
//!
//! Deviations: kinds without a printer of their own here get `Name` and `Age`, where
//! the real server has a dedicated printer for nearly every built-in kind.

mod builtin;
mod crd;
pub(crate) use crd::go_json;
mod duration;
mod jsonpath;
mod pod;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub(crate) use builtin::builtin_table;
pub(crate) use crd::crd_table;
pub(crate) use duration::human_duration;
#[cfg(test)]
pub(crate) use duration::short_human_duration;
#[cfg(test)]
pub(crate) use jsonpath::JsonPath;

/// `ObjectMeta`'s documentation of `name`, the description of every `Name` column.
pub(crate) const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// `ObjectMeta`'s documentation of `creationTimestamp`, the description of `Age` columns.
pub(crate) const CREATION_TIMESTAMP_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// `?includeObject=` of a Table request: what each row carries besides its cells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    /// `"object": null`.
    None,
    /// A `PartialObjectMetadata` with the object's metadata (the server's default).
    #[default]
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses the query parameter; an empty value means the default.
    pub(crate) fn from_query(value: &str) -> Option<IncludeObject> {
        match value {
            "" | "Metadata" => Some(IncludeObject::Metadata),
            "None" => Some(IncludeObject::None),
            "Object" => Some(IncludeObject::Object),
            _ => None,
        }
    }
}

/// One `additionalPrinterColumns` entry of a CRD version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PrinterColumn {
    pub(crate) name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    #[serde(rename = "type")]
    pub(crate) type_: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) format: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) priority: i32,
    #[serde(rename = "jsonPath")]
    pub(crate) json_path: String,
}

/// A `TableColumnDefinition`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) type_: String,
    pub(crate) format: String,
    pub(crate) description: String,
    pub(crate) priority: i32,
}

impl Column {
    pub(crate) fn new(name: &str, type_: &str, description: &str) -> Column {
        Column {
            name: name.to_string(),
            type_: type_.to_string(),
            format: String::new(),
            description: description.to_string(),
            priority: 0,
        }
    }

    pub(crate) fn name_column() -> Column {
        Column {
            format: "name".to_string(),
            ..Column::new("Name", "string", NAME_DESCRIPTION)
        }
    }

    pub(crate) fn wide(self) -> Column {
        Column {
            priority: 1,
            ..self
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// One row before it is serialized.
pub(crate) struct Row<'a> {
    pub(crate) cells: Vec<Value>,
    pub(crate) conditions: Option<Value>,
    pub(crate) object: &'a Value,
}

fn row_object(obj: &Value, include: IncludeObject) -> Value {
    match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Object => obj.clone(),
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

pub(crate) fn build_table(
    columns: &[Column],
    rows: Vec<Row>,
    include: IncludeObject,
    list_metadata: Value,
) -> Value {
    let metadata = if list_metadata.is_null() {
        Value::Object(Map::new())
    } else {
        list_metadata
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let mut row = Map::new();
            row.insert("cells".to_string(), Value::Array(r.cells));
            if let Some(conditions) = r.conditions {
                row.insert("conditions".to_string(), conditions);
            }
            row.insert("object".to_string(), row_object(r.object, include));
            Value::Object(row)
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns.iter().map(Column::to_json).collect::<Vec<_>>(),
        "rows": rows,
    })
}

/// Drops the column definitions, as the server does for every watch event after the
/// first one (`"columnDefinitions": null`).
pub(crate) fn omit_headers(table: &mut Value) {
    if let Some(t) = table.as_object_mut() {
        t.insert("columnDefinitions".to_string(), Value::Null);
    }
}

/// A nested field, or `Null` when any step is missing.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    static NULL: Value = Value::Null;
    path.iter().try_fold(v, |v, k| v.get(*k)).unwrap_or(&NULL)
}

pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).as_str().unwrap_or("")
}

pub(crate) fn list_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path).as_array().map(Vec::as_slice).unwrap_or(&[])
}

pub(crate) fn i64_at(v: &Value, path: &[&str]) -> i64 {
    at(v, path).as_i64().unwrap_or(0)
}

/// Parses a `metav1.Time`; absent, empty and unparsable values are the zero time.
pub(crate) fn timestamp(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// `translateTimestampSince`: the age of a timestamp, `<unknown>` when unset.
pub(crate) fn age(v: &Value, now: jiff::Timestamp) -> String {
    match timestamp(v) {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".to_string(),
    }
}
