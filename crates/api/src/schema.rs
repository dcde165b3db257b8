//! Schema plumbing shared by the kinds: string-valued wire enums, and the small schema
//! fragments kube's derive cannot express on its own.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use schemars::{JsonSchema, Schema, generate::SchemaSettings};

/// Declares a string-valued field type: the values TiDB Operator defines become variants,
/// and any other string is kept verbatim in `Other`, so reading an object written by
/// another version (or by hand) never fails. Whether the CRD restricts the field to the
/// known values is chosen per type: `schema = closed` emits an `enum`, `schema = open`
/// a plain string, leaving the check to the controller.
///
/// `default = Variant` names what an unset field means. It becomes the type's `Default`,
/// and the empty string reads as it too: a Helm template renders an unset value as `""`,
/// TiDB Operator treats `""` as unset, and so must we (a closed schema lists `""`).
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident (schema = $kind:ident, default = $default:ident) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $crate::schema::wire_enum!(@type $(#[$meta])* $vis $name [$kind ""] ("" => $name::$default,)
            { $( $(#[$vmeta])* $variant = $value, )+ });

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident (schema = $kind:ident) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $crate::schema::wire_enum!(@type $(#[$meta])* $vis $name [$kind] ()
            { $( $(#[$vmeta])* $variant = $value, )+ });
    };
    (
        @type $(#[$meta:meta])* $vis:vis $name:ident [$kind:ident $($empty:literal)?]
        ($($empty_arm:tt)*)
        { $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+ }
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
                    $($empty_arm)*
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
                $crate::schema::wire_enum!(@schema $kind $($empty,)? $( $value ),+)
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

/// The largest bound a 64-bit integer field gets: 2^63 - 1024, the largest double below
/// 2^63. A CRD states bounds as doubles, and the API server keeps integers as int64, so
/// nothing above this could be stated exactly or stored anyway; what it leaves out
/// (2^63 - 1023 ..= i64::MAX) is no meaningful size, count or duration. Values above 2^53
/// pass through kubectl, the API server and tibr exactly (JavaScript tools would round
/// them), so the bound is not lowered to 2^53 - 1: that would refuse, for instance, a
/// `backupSize` of 9 PB that TiDB Operator's CRD accepts.
pub(crate) const INT64_CEILING: f64 = 9_223_372_036_854_774_784.0;

/// The values an integer of this OpenAPI `format` holds in Rust, as a CRD states them:
/// the format is what schemars writes for each Rust integer type (and k8s-openapi for
/// Kubernetes' own int32/int64 fields).
pub(crate) fn integer_range(format: &str) -> Option<(f64, f64)> {
    let range = match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int" | "int64" | "int128" => (i64::MIN as f64, INT64_CEILING),
        "uint8" => (0.0, u8::MAX.into()),
        "uint16" => (0.0, u16::MAX.into()),
        "uint32" => (0.0, u32::MAX.into()),
        "uint" | "uint64" | "uint128" => (0.0, INT64_CEILING),
        _ => return None,
    };
    Some(range)
}

/// Gives every integer in `schema` the range of its Rust type as `minimum`/`maximum`
/// (keeping a narrower one the field already has). `format: uint32` alone is no range
/// check: the API server would store a value the operator then cannot read, and one such
/// object must not stop the work on every other.
pub(crate) fn bound_integers(schema: &mut JSONSchemaProps) {
    if schema.type_.as_deref() == Some("integer")
        && let Some((low, high)) = schema.format.as_deref().and_then(integer_range)
    {
        schema.minimum = Some(schema.minimum.map_or(low, |m| m.max(low)));
        schema.maximum = Some(schema.maximum.map_or(high, |m| m.min(high)));
    }
    for child in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        bound_integers(child);
    }
    match &mut schema.items {
        Some(JSONSchemaPropsOrArray::Schema(items)) => bound_integers(items),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => items.iter_mut().for_each(bound_integers),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(additional)) = &mut schema.additional_properties {
        bound_integers(additional);
    }
    for alternatives in [&mut schema.all_of, &mut schema.any_of, &mut schema.one_of]
        .into_iter()
        .flatten()
    {
        alternatives.iter_mut().for_each(bound_integers);
    }
    if let Some(not) = &mut schema.not {
        bound_integers(not);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_64_bit_ceiling_is_exact_and_just_below_2_63() {
        assert_eq!(INT64_CEILING as i64 as f64, INT64_CEILING);
        assert_eq!(INT64_CEILING as i64, i64::MAX - 1023);
        // The next double up is 2^63, outside i64.
        assert_eq!(f64::from_bits(INT64_CEILING.to_bits() + 1), 2f64.powi(63));
    }

    #[test]
    fn a_narrower_range_is_kept_and_other_types_are_left_alone() {
        let mut schema: JSONSchemaProps = serde_json::from_value(serde_json::json!({
            "type": "object",
            "properties": {
                "shards": {"type": "integer", "format": "int32", "minimum": 1.0},
                "ratio": {"type": "number", "format": "double"},
                "list": {"type": "array", "items": {"type": "integer", "format": "uint16"}},
            }
        }))
        .unwrap();
        bound_integers(&mut schema);
        let props = schema.properties.unwrap();
        assert_eq!(props["shards"].minimum, Some(1.0));
        assert_eq!(props["shards"].maximum, Some(2147483647.0));
        assert_eq!(props["ratio"].minimum, None);
        let Some(JSONSchemaPropsOrArray::Schema(item)) = &props["list"].items else {
            panic!("items")
        };
        assert_eq!((item.minimum, item.maximum), (Some(0.0), Some(65535.0)));
    }
}
