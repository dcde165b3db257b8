//! Schema plumbing shared by the kinds: string-valued wire enums, and the small schema
//! fragments kube's derive cannot express on its own.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use schemars::{JsonSchema, Schema, generate::SchemaSettings};

/// Declares a string-valued field type: the values TiDB Operator defines become variants,
/// and any other string is kept verbatim in `Other`, so reading an object written by
/// another version (or by hand) never fails. Whether the CRD restricts the field to the
/// known values is chosen per type: `schema = closed` emits an `enum`, `schema = open`
/// a plain string, leaving the check to the controller.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident (schema = $kind:ident) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know, kept as written.
            Other(String),
        }

        impl $name {
            /// Every value this version knows, in declaration order.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $value, )+
                    $name::Other(s) => s,
                }
            }

            /// False for a value this version does not know.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $value => $name::$variant, )+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match $name::from(s.as_str()) {
                    $name::Other(_) => $name::Other(s),
                    known => known,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok($name::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(d).map($name::from)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                $crate::schema::wire_enum!(@schema $kind $( $value ),+)
            }
        }
    };
    (@schema closed $( $value:literal ),+) => {
        schemars::json_schema!({ "type": "string", "enum": [ $( $value ),+ ] })
    };
    (@schema open $( $value:literal ),+) => {
        schemars::json_schema!({ "type": "string" })
    };
}
pub(crate) use wire_enum;

/// `x-kubernetes-preserve-unknown-fields` on an object: used where we model only the part
/// of someone else's object that we read.
pub(crate) fn preserve_unknown_fields(schema: &mut Schema) {
    schema.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
}

/// The schema of a whole resource, generated the way kube's `CustomResource` derive does
/// it, for the one kind whose root we write by hand (`VolumeBackup`, which has a field
/// beside `spec`).
pub(crate) fn root_schema<T: JsonSchema>() -> JSONSchemaProps {
    let generator = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(schemars::transform::AddNullable::default())
        .with_transform(kube::core::schema::StructuralSchemaRewriter)
        .with_transform(kube::core::schema::OptionalEnum)
        .with_transform(kube::core::schema::OptionalIntOrString)
        .into_generator();
    let schema = generator.into_root_schema_for::<T>();
    serde_json::to_value(schema)
        .and_then(serde_json::from_value)
        .expect("schemars output is a valid JSONSchemaProps")
}

/// For fields whose type comes from Kubernetes (Affinity, Volume, EnvVar, ...): keeps the
/// field's own description and drops the upstream ones below it. The upstream text is in
/// every Kubernetes reference; repeated in each CRD it would push Backup and BackupSchedule
/// past what `kubectl apply` can store in its last-applied annotation (256 KiB).
pub(crate) fn upstream_type(schema: &mut Schema) {
    if let Some(object) = schema.as_object_mut() {
        for (key, value) in object.iter_mut() {
            if key != "description" {
                strip_descriptions(value);
            }
        }
    }
}

fn strip_descriptions(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            // A property named `description` is data, not documentation: only drop the
            // keyword, i.e. a string next to schema keywords.
            if map.get("description").is_some_and(|d| d.is_string()) {
                map.remove("description");
            }
            for (key, child) in map.iter_mut() {
                if key != "properties" {
                    strip_descriptions(child);
                } else if let serde_json::Value::Object(props) = child {
                    for prop in props.values_mut() {
                        strip_descriptions(prop);
                    }
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

/// Final touches on a kind's spec or status schema:
/// - doc comments arrive with their source line breaks; `kubectl explain` wraps text itself,
///   so single line breaks become spaces (blank lines still separate paragraphs);
/// - schemars lists `null` among the values of an optional enum, which a CRD must not: the
///   field's `nullable` already allows it.
pub(crate) fn tidy(schema: &mut Schema) {
    if let Some(object) = schema.as_object_mut() {
        for value in object.values_mut() {
            tidy_value(value);
        }
        tidy_keywords(object);
    }
}

fn tidy_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            tidy_keywords(map);
            map.values_mut().for_each(tidy_value);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(tidy_value),
        _ => {}
    }
}

fn tidy_keywords(map: &mut serde_json::Map<String, serde_json::Value>) {
    if let Some(serde_json::Value::String(text)) = map.get_mut("description") {
        *text = unwrap_lines(text);
    }
    if let Some(serde_json::Value::Array(values)) = map.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
}

fn unwrap_lines(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            paragraph
                .split('\n')
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}
