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
//! the real server has a dedicated printer for nearly every built-in kind; and a Table
//! list ignores `limit` (docs/adr/0010-table-lists-answered-whole.md).

mod builtin;
mod crd;
pub(crate) use crd::go_json;
mod duration;
mod jsonpath;
mod pod;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
}

impl Serialize for Column {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("name", &self.name)?;
        map.serialize_entry("type", &self.type_)?;
        map.serialize_entry("format", &self.format)?;
        map.serialize_entry("description", &self.description)?;
        map.serialize_entry("priority", &self.priority)?;
        map.end()
    }
}

/// One row before it is serialized.
pub(crate) struct Row<'a> {
    pub(crate) cells: Vec<Value>,
    pub(crate) conditions: Option<Value>,
    pub(crate) object: &'a Value,
}

/// A `Table` ready to serialize. Rows borrow their objects, so a list of 10,000 rows
/// copies no object metadata on its way to the client.
pub(crate) struct Table<'a> {
    /// `None` once a watch has sent them (`"columnDefinitions": null`).
    headers: Option<Vec<Column>>,
    rows: Vec<Row<'a>>,
    include: IncludeObject,
    metadata: Value,
}

#[cfg(test)]
impl Table<'_> {
    /// The table as a JSON value.
    pub(crate) fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for Table<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("kind", "Table")?;
        map.serialize_entry("apiVersion", "meta.k8s.io/v1")?;
        map.serialize_entry("metadata", &self.metadata)?;
        match &self.headers {
            Some(columns) => map.serialize_entry("columnDefinitions", columns)?,
            None => map.serialize_entry("columnDefinitions", &Value::Null)?,
        }
        let rows: Vec<SerializedRow> = self
            .rows
            .iter()
            .map(|row| SerializedRow {
                row,
                include: self.include,
            })
            .collect();
        map.serialize_entry("rows", &rows)?;
        map.end()
    }
}

struct SerializedRow<'r, 'a> {
    row: &'r Row<'a>,
    include: IncludeObject,
}

impl Serialize for SerializedRow<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("cells", &self.row.cells)?;
        if let Some(conditions) = &self.row.conditions {
            map.serialize_entry("conditions", conditions)?;
        }
        let object = self.row.object;
        match self.include {
            IncludeObject::None => map.serialize_entry("object", &Value::Null)?,
            IncludeObject::Object => map.serialize_entry("object", object)?,
            IncludeObject::Metadata => map.serialize_entry(
                "object",
                &PartialObjectMetadata {
                    metadata: object.get("metadata"),
                },
            )?,
        }
        map.end()
    }
}

/// A row's `PartialObjectMetadata`, borrowing the object's metadata.
struct PartialObjectMetadata<'a> {
    metadata: Option<&'a Value>,
}

impl Serialize for PartialObjectMetadata<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("kind", "PartialObjectMetadata")?;
        map.serialize_entry("apiVersion", "meta.k8s.io/v1")?;
        match self.metadata {
            Some(m) => map.serialize_entry("metadata", m)?,
            None => map.serialize_entry("metadata", &Map::new())?,
        }
        map.end()
    }
}

pub(crate) fn build_table<'a>(
    columns: &[Column],
    rows: Vec<Row<'a>>,
    include: IncludeObject,
    list_metadata: Value,
) -> Table<'a> {
    let metadata = if list_metadata.is_null() {
        Value::Object(Map::new())
    } else {
        list_metadata
    };
    Table {
        headers: Some(columns.to_vec()),
        rows,
        include,
        metadata,
    }
}

/// Drops the column definitions, as the server does for every watch event after the
/// first one (`"columnDefinitions": null`).
pub(crate) fn omit_headers(table: &mut Table) {
    table.headers = None;
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
