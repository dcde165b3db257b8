//! Turns one message's bytes into the JSON that Go's `encoding/json` would print for the
//! struct those bytes decode to, following the tables' `Emit` rules.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};

use super::{
    ProtobufError,
    schema::{Emit, Field, Message, Shape, Ty},
    wire::{Fields, Wire, varint},
};
use crate::cluster::{rfc3339, rfc3339_micro};

const TIME: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime";
const QUANTITY: &str = "k8s.io.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "k8s.io.apimachinery.pkg.util.intstr.IntOrString";
const FIELDS_V1: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1";
const MAP_ENTRY: &str = "map entry";

fn fail(
    message: &'static str,
    field: Option<u32>,
    path: &str,
    reason: impl Into<String>,
) -> ProtobufError {
    ProtobufError {
        message,
        field,
        path: path.to_string(),
        reason: reason.into(),
    }
}

/// Decodes `bytes` as `msg`; `path` names where it sits in the whole object, for errors.
pub(crate) fn message(
    msg: &'static Message,
    bytes: &[u8],
    path: &str,
) -> Result<Map<String, Value>, ProtobufError> {
    let mut seen: Vec<Vec<Wire<'_>>> = vec![Vec::new(); msg.fields.len()];
    for item in Fields::new(bytes) {
        let (number, wire) = item.map_err(|reason| fail(msg.name, None, path, reason))?;
        let Some(index) = msg.fields.iter().position(|f| f.number == number) else {
            return Err(fail(
                msg.name,
                Some(number),
                path,
                "unknown field number: the sender knows a newer version of this message than the sandbox",
            ));
        };
        seen[index].push(wire);
    }
    let mut out = Map::new();
    for (field, wires) in msg.fields.iter().zip(seen) {
        let here = child(path, field.json);
        let value = match field.shape {
            Shape::One => one(msg, field, &wires, &here)?,
            Shape::List => list(msg, field, &wires, &here)?,
            Shape::Map => map(msg, field, &wires, &here)?,
        };
        match (field.emit, value) {
            (Emit::Inline, Some(Value::Object(inner))) => out.extend(inner),
            (Emit::Inline, _) => {
                return Err(fail(
                    msg.name,
                    Some(field.number),
                    path,
                    "embedded field is not a message",
                ));
            }
            (_, Some(value)) => {
                out.insert(field.json.to_string(), value);
            }
            (_, None) => {}
        }
    }
    Ok(out)
}

fn child(path: &str, name: &str) -> String {
    match (path.is_empty(), name.is_empty()) {
        (_, true) => path.to_string(),
        (true, false) => name.to_string(),
        (false, false) => format!("{path}.{name}"),
    }
}

/// A singular field: what Go prints for it, or `None` when Go leaves it out.
fn one(
    msg: &'static Message,
    field: &Field,
    wires: &[Wire<'_>],
    path: &str,
) -> Result<Option<Value>, ProtobufError> {
    let value = match (field.ty, wires) {
        (_, []) => None,
        // Repeated occurrences of a message merge, which is what decoding their
        // concatenation gives.
        (Ty::Msg(_), [_, _, ..]) => {
            let mut joined = Vec::new();
            for wire in wires {
                let Wire::Len(bytes) = wire else {
                    return Err(wrong_wire(msg, field, wire, path));
                };
                joined.extend_from_slice(bytes);
            }
            Some(element(msg, field, Wire::Len(&joined), path)?)
        }
        (_, [.., last]) => Some(element(msg, field, *last, path)?),
    };
    Ok(match (field.emit, value) {
        (Emit::Ptr, value) => value,
        (Emit::PtrNull, value) => Some(value.unwrap_or(Value::Null)),
        (Emit::OmitEmpty, Some(value)) if is_scalar(field.ty) && is_zero(&value) => None,
        (Emit::OmitEmpty, None) if is_scalar(field.ty) => None,
        (_, Some(value)) => Some(value),
        (_, None) => Some(zero(field.ty, path)?),
    })
}

fn list(
    msg: &'static Message,
    field: &Field,
    wires: &[Wire<'_>],
    path: &str,
) -> Result<Option<Value>, ProtobufError> {
    let mut items = Vec::new();
    for wire in wires {
        match (field.ty, *wire) {
            // Packed scalars: one length-delimited run of varints.
            (Ty::Bool | Ty::I32 | Ty::I64, Wire::Len(mut run)) => {
                while !run.is_empty() {
                    let v = varint(&mut run).map_err(|reason| {
                        fail(
                            msg.name,
                            Some(field.number),
                            path,
                            format!("packed: {reason}"),
                        )
                    })?;
                    let at = format!("{path}[{}]", items.len());
                    items.push(element(msg, field, Wire::Varint(v), &at)?);
                }
            }
            (_, wire) => {
                let at = format!("{path}[{}]", items.len());
                items.push(element(msg, field, wire, &at)?);
            }
        }
    }
    Ok(collection(
        field,
        (!items.is_empty()).then_some(Value::Array(items)),
    ))
}

fn map(
    msg: &'static Message,
    field: &Field,
    wires: &[Wire<'_>],
    path: &str,
) -> Result<Option<Value>, ProtobufError> {
    // Go prints map keys sorted.
    let mut entries = BTreeMap::new();
    for wire in wires {
        let Wire::Len(bytes) = wire else {
            return Err(wrong_wire(msg, field, wire, path));
        };
        let mut key = String::new();
        let mut value = None;
        for item in Fields::new(bytes) {
            let (number, wire) = item.map_err(|reason| fail(MAP_ENTRY, None, path, reason))?;
            match (number, wire) {
                (1, Wire::Len(k)) => key = String::from_utf8_lossy(k).into_owned(),
                (2, wire) => value = Some(wire),
                _ => {
                    return Err(fail(
                        MAP_ENTRY,
                        Some(number),
                        path,
                        format!(
                            "unexpected {} field in an entry of {}",
                            wire.type_name(),
                            field.json
                        ),
                    ));
                }
            }
        }
        let at = format!("{path}[{key}]");
        let value = match value {
            Some(wire) => element(msg, field, wire, &at)?,
            None => zero(field.ty, &at)?,
        };
        entries.insert(key, value);
    }
    let object = (!entries.is_empty()).then(|| Value::Object(entries.into_iter().collect()));
    Ok(collection(field, object))
}

/// Go leaves out empty `omitempty` lists and maps, and prints others that are empty as null.
fn collection(field: &Field, value: Option<Value>) -> Option<Value> {
    match (value, field.emit) {
        (Some(v), _) => Some(v),
        (None, Emit::Always) => Some(Value::Null),
        (None, _) => None,
    }
}

fn is_scalar(ty: Ty) -> bool {
    matches!(ty, Ty::Str | Ty::Bytes | Ty::Bool | Ty::I32 | Ty::I64)
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Null => true,
        _ => false,
    }
}

/// What Go prints for a field its decoder never set.
fn zero(ty: Ty, path: &str) -> Result<Value, ProtobufError> {
    Ok(match ty {
        Ty::Str => Value::from(""),
        // A nil `[]byte` prints as null.
        Ty::Bytes | Ty::Time | Ty::MicroTime | Ty::FieldsV1 => Value::Null,
        Ty::Bool => Value::from(false),
        Ty::I32 | Ty::I64 | Ty::IntOrString => Value::from(0),
        Ty::Quantity => Value::from("0"),
        Ty::Msg(m) => Value::Object(message(m, &[], path)?),
    })
}

fn wrong_wire(msg: &'static Message, field: &Field, wire: &Wire<'_>, path: &str) -> ProtobufError {
    fail(
        msg.name,
        Some(field.number),
        path,
        format!(
            "`{}` holds {} but arrived as {}",
            field.json,
            field.ty_name(),
            wire.type_name()
        ),
    )
}

impl Field {
    fn ty_name(&self) -> &'static str {
        match self.ty {
            Ty::Str => "string",
            Ty::Bytes => "bytes",
            Ty::Bool => "bool",
            Ty::I32 => "int32",
            Ty::I64 => "int64",
            Ty::Msg(m) => m.name,
            Ty::Time => TIME,
            Ty::MicroTime => MICRO_TIME,
            Ty::Quantity => QUANTITY,
            Ty::IntOrString => INT_OR_STRING,
            Ty::FieldsV1 => FIELDS_V1,
        }
    }
}

/// One value of `field`'s type (a list item, a map value, or the field itself).
fn element(
    msg: &'static Message,
    field: &Field,
    wire: Wire<'_>,
    path: &str,
) -> Result<Value, ProtobufError> {
    Ok(match (field.ty, wire) {
        (Ty::Str, Wire::Len(b)) => Value::from(String::from_utf8_lossy(b).into_owned()),
        (Ty::Bytes, Wire::Len(b)) => {
            Value::from(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Ty::Bool, Wire::Varint(v)) => Value::from(v != 0),
        // int32 travels sign-extended to 64 bits; truncating undoes that.
        (Ty::I32, Wire::Varint(v)) => Value::from(i64::from(v as i32)),
        (Ty::I64, Wire::Varint(v)) => Value::from(v as i64),
        (Ty::Msg(m), Wire::Len(b)) => Value::Object(message(m, b, path)?),
        (Ty::Time, Wire::Len(b)) => time(b, false, path)?,
        (Ty::MicroTime, Wire::Len(b)) => time(b, true, path)?,
        (Ty::Quantity, Wire::Len(b)) => quantity(b, path)?,
        (Ty::IntOrString, Wire::Len(b)) => int_or_string(b, path)?,
        (Ty::FieldsV1, Wire::Len(b)) => fields_v1(b, path)?,
        (_, wire) => return Err(wrong_wire(msg, field, &wire, path)),
    })
}

/// The fields of a hand-decoded special message, each checked for its wire type.
fn special_fields<'a>(
    name: &'static str,
    bytes: &'a [u8],
    path: &str,
    expected: &[(u32, &'static str)],
) -> Result<Vec<(u32, Wire<'a>)>, ProtobufError> {
    let mut out = Vec::new();
    for item in Fields::new(bytes) {
        let (number, wire) = item.map_err(|reason| fail(name, None, path, reason))?;
        match expected.iter().find(|(n, _)| *n == number) {
            Some((_, kind)) if *kind == wire.type_name() => out.push((number, wire)),
            Some((_, kind)) => {
                return Err(fail(
                    name,
                    Some(number),
                    path,
                    format!("expected {kind}, got {}", wire.type_name()),
                ));
            }
            None => return Err(fail(name, Some(number), path, "unknown field number")),
        }
    }
    Ok(out)
}

fn time(bytes: &[u8], micro: bool, path: &str) -> Result<Value, ProtobufError> {
    let name = if micro { MICRO_TIME } else { TIME };
    // Go writes the zero time as an empty message, and prints it as null.
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let (mut seconds, mut nanos) = (0i64, 0i32);
    for (number, wire) in special_fields(name, bytes, path, &[(1, "varint"), (2, "varint")])? {
        if let Wire::Varint(v) = wire {
            match number {
                1 => seconds = v as i64,
                _ => nanos = v as i32,
            }
        }
    }
    let ts = jiff::Timestamp::new(seconds, nanos).map_err(|e| {
        fail(
            name,
            None,
            path,
            format!("seconds {seconds} nanos {nanos}: {e}"),
        )
    })?;
    Ok(Value::from(if micro {
        rfc3339_micro(ts)
    } else {
        rfc3339(ts)
    }))
}

fn quantity(bytes: &[u8], path: &str) -> Result<Value, ProtobufError> {
    let mut text = String::new();
    for (_, wire) in special_fields(QUANTITY, bytes, path, &[(1, "length-delimited")])? {
        if let Wire::Len(b) = wire {
            text = String::from_utf8_lossy(b).into_owned();
        }
    }
    // The zero Quantity prints as "0".
    Ok(Value::from(if text.is_empty() {
        "0".to_string()
    } else {
        text
    }))
}

fn int_or_string(bytes: &[u8], path: &str) -> Result<Value, ProtobufError> {
    let (mut kind, mut int, mut string) = (0u64, 0i32, String::new());
    let expected = [(1, "varint"), (2, "varint"), (3, "length-delimited")];
    for (number, wire) in special_fields(INT_OR_STRING, bytes, path, &expected)? {
        match (number, wire) {
            (1, Wire::Varint(v)) => kind = v,
            (2, Wire::Varint(v)) => int = v as i32,
            (_, Wire::Len(b)) => string = String::from_utf8_lossy(b).into_owned(),
            _ => {}
        }
    }
    match kind {
        0 => Ok(Value::from(int)),
        1 => Ok(Value::from(string)),
        other => Err(fail(
            INT_OR_STRING,
            Some(1),
            path,
            format!("type {other} is neither 0 (int) nor 1 (string)"),
        )),
    }
}

fn fields_v1(bytes: &[u8], path: &str) -> Result<Value, ProtobufError> {
    let mut value = Value::Null;
    for (_, wire) in special_fields(FIELDS_V1, bytes, path, &[(1, "length-delimited")])? {
        if let Wire::Len(raw) = wire {
            value = serde_json::from_slice(raw)
                .map_err(|e| fail(FIELDS_V1, Some(1), path, format!("Raw is not JSON: {e}")))?;
        }
    }
    Ok(value)
}
