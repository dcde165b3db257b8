//! RFC 6902 JSON Patch with the behaviour of the Go library behind the API server
//! (evanphx/json-patch v4), because clients are written against that, not against the RFC.
//!
//! The quirks kept on purpose:
//! - a JSON `null` stored in the document reads as absent, and `test` with value `null` (or no
//!   value) on an absent key succeeds — kube-rs relies on this before adding a first finalizer;
//! - `replace` on an absent object key adds it, `copy` from an absent key copies `null`;
//! - an operation without `value` uses `null`;
//! - negative array indices count from the end;
//! - only the parent of the target must exist; `add` on an existing object key replaces it.
//!
//! Only a body that is not a list of objects is rejected up front (400). Everything else,
//! including an unknown `op` or a missing `path`, fails while applying, which the API server
//! reports as 422 with the library's message.

use serde_json::{Map, Value};

use super::PatchError;

/// The API server refuses longer patches with 413.
const MAX_OPERATIONS: usize = 10_000;

/// Applies a JSON Patch document to `doc`.
pub(crate) fn json_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops: &[Value] = match patch {
        Value::Null => &[],
        Value::Array(ops) => ops,
        other => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                go_json_kind(other)
            )));
        }
    };
    if let Some(bad) = ops
        .iter()
        .find(|op| !matches!(op, Value::Object(_) | Value::Null))
    {
        return Err(PatchError::BadRequest(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
            go_json_kind(bad)
        )));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(PatchError::TooLarge(format!(
            "The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {}",
            ops.len()
        )));
    }
    let empty = Map::new();
    let mut doc = doc.clone();
    for op in ops {
        let op = op.as_object().unwrap_or(&empty);
        apply_op(&mut doc, op).map_err(PatchError::Unprocessable)?;
    }
    Ok(doc)
}

fn go_json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn apply_op(doc: &mut Value, op: &Map<String, Value>) -> Result<(), String> {
    let kind = op.get("op").and_then(Value::as_str).unwrap_or("unknown");
    let value = || op.get("value").cloned().unwrap_or(Value::Null);
    match kind {
        "add" => {
            let path = op_path(op, "path")
                .map_err(|_| "add operation failed to decode path: missing value")?;
            let (parent, key) = locate(doc, &path).ok_or_else(|| {
                format!(
                    "add operation does not apply: doc is missing path: \"{path}\": missing value"
                )
            })?;
            add(parent, &key, value()).map_err(|e| format!("error in add for path: '{path}': {e}"))
        }
        "remove" => {
            let path = op_path(op, "path")
                .map_err(|_| "remove operation failed to decode path: missing value")?;
            let (parent, key) = locate(doc, &path).ok_or_else(|| {
                format!("remove operation does not apply: doc is missing path: \"{path}\": missing value")
            })?;
            remove(parent, &key).map_err(|e| format!("error in remove for path: '{path}': {e}"))?;
            Ok(())
        }
        "replace" => {
            let path = op_path(op, "path")
                .map_err(|e| format!("replace operation failed to decode path: {e}"))?;
            if path.is_empty() {
                let value = value();
                if !matches!(value, Value::Object(_) | Value::Array(_)) {
                    return Err("replace operation value must be object or array".into());
                }
                *doc = value;
                return Ok(());
            }
            let (parent, key) = locate(doc, &path).ok_or_else(|| {
                format!(
                    "replace operation does not apply: doc is missing path: {path}: missing value"
                )
            })?;
            get(parent, &key).map_err(|_| {
                format!(
                    "replace operation does not apply: doc is missing key: {path}: missing value"
                )
            })?;
            set(parent, &key, value());
            Ok(())
        }
        "move" => {
            let from = op_path(op, "from")
                .map_err(|e| format!("move operation failed to decode from: {e}"))?;
            let (parent, key) = locate(doc, &from).ok_or_else(|| {
                format!(
                    "move operation does not apply: doc is missing from path: {from}: missing value"
                )
            })?;
            get(parent, &key).map_err(|e| format!("error in move for path: '{key}': {e}"))?;
            let moved = remove(parent, &key)
                .map_err(|e| format!("error in move for path: '{key}': {e}"))?;
            let path = op_path(op, "path")
                .map_err(|e| format!("move operation failed to decode path: {e}"))?;
            let (parent, key) = locate(doc, &path).ok_or_else(|| {
                format!(
                    "move operation does not apply: doc is missing destination path: {path}: missing value"
                )
            })?;
            add(parent, &key, moved).map_err(|e| format!("error in move for path: '{path}': {e}"))
        }
        "copy" => {
            let from = op_path(op, "from")
                .map_err(|e| format!("copy operation failed to decode from: {e}"))?;
            let (parent, key) = locate(doc, &from).ok_or_else(|| {
                format!(
                    "copy operation does not apply: doc is missing from path: {from}: missing value"
                )
            })?;
            let copied = get(parent, &key)
                .map_err(|e| format!("error in copy for from: '{from}': {e}"))?
                .cloned()
                .unwrap_or(Value::Null);
            let path = op_path(op, "path")
                .map_err(|_| "copy operation failed to decode path: missing value")?;
            let (parent, key) = locate(doc, &path).ok_or_else(|| {
                format!(
                    "copy operation does not apply: doc is missing destination path: {path}: missing value"
                )
            })?;
            add(parent, &key, copied)
                .map_err(|e| format!("error while adding value during copy: {e}"))
        }
        "test" => test(doc, op),
        other => Err(format!("Unexpected kind: {other}")),
    }
}

fn test(doc: &mut Value, op: &Map<String, Value>) -> Result<(), String> {
    let path =
        op_path(op, "path").map_err(|e| format!("test operation failed to decode path: {e}"))?;
    let failed = || format!("testing value {path} failed: test failed");
    // An absent `value` and an explicit `null` are the same to the Go library.
    let expected = op.get("value").filter(|v| !v.is_null());
    if path.is_empty() {
        return if expected == Some(&*doc) {
            Ok(())
        } else {
            Err(failed())
        };
    }
    let (parent, key) = locate(doc, &path).ok_or_else(|| {
        format!("test operation does not apply: is missing path: {path}: missing value")
    })?;
    let actual = get(parent, &key).map_err(|e| format!("error in test for path: '{path}': {e}"))?;
    match (actual, expected) {
        (None, None) => Ok(()),
        (Some(actual), Some(expected)) if actual == expected => Ok(()),
        _ => Err(failed()),
    }
}

fn op_path(op: &Map<String, Value>, field: &str) -> Result<String, String> {
    match op.get(field) {
        None | Some(Value::Null) if field == "from" => {
            Err("operation, missing from field: missing value".into())
        }
        None | Some(Value::Null) => Err("operation missing path field: missing value".into()),
        Some(Value::String(path)) => Ok(path.clone()),
        Some(other) => Err(format!(
            "json: cannot unmarshal {} into Go value of type string",
            go_json_kind(other)
        )),
    }
}

/// RFC 6901 unescaping in one left-to-right pass, so `~01` becomes `~1`, not `/`.
fn unescape(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.peek() {
                Some('0') => {
                    chars.next();
                    out.push('~');
                    continue;
                }
                Some('1') => {
                    chars.next();
                    out.push('/');
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
    }
    out
}

/// The container holding the last token of `path` and that (unescaped) token. Like the Go
/// library, the text before the first `/` is ignored and intermediate nodes must be
/// objects or arrays that exist and are not `null`.
fn locate<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let tokens: Vec<&str> = path.split('/').collect();
    if tokens.len() < 2 {
        return None;
    }
    let mut cur = doc;
    for token in &tokens[1..tokens.len() - 1] {
        let token = unescape(token);
        let next = match cur {
            Value::Object(map) => map.get_mut(&token).filter(|v| !v.is_null()),
            Value::Array(list) => {
                let idx = resolve_index(&token, list.len()).ok()?;
                list.get_mut(idx)
            }
            _ => None,
        }?;
        if !matches!(next, Value::Object(_) | Value::Array(_)) {
            return None;
        }
        cur = next;
    }
    Some((cur, unescape(tokens[tokens.len() - 1])))
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, nothing else.
fn atoi(token: &str) -> Result<i64, String> {
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {token:?}: invalid syntax"));
    }
    token
        .parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {token:?}: value out of range"))
}

fn invalid_index(idx: i64) -> String {
    format!("Unable to access invalid index: {idx}: invalid index referenced")
}

/// An existing element's position; negative indices count from the end.
fn resolve_index(token: &str, len: usize) -> Result<usize, String> {
    let idx = atoi(token)?;
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let resolved = if idx < 0 { idx + len } else { idx };
    if resolved < 0 || resolved >= len {
        return Err(invalid_index(idx));
    }
    usize::try_from(resolved).map_err(|_| invalid_index(idx))
}

fn get<'a>(container: &'a Value, key: &str) -> Result<Option<&'a Value>, String> {
    match container {
        Value::Object(map) => Ok(map.get(key).filter(|v| !v.is_null())),
        Value::Array(list) => Ok(Some(&list[resolve_index(key, list.len())?])),
        _ => Err("unknown object type".into()),
    }
}

fn set(container: &mut Value, key: &str, value: Value) {
    match container {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
        }
        Value::Array(list) => {
            if let Ok(idx) = resolve_index(key, list.len()) {
                list[idx] = value;
            }
        }
        _ => {}
    }
}

fn add(container: &mut Value, key: &str, value: Value) -> Result<(), String> {
    match container {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
            Ok(())
        }
        Value::Array(list) => {
            if key == "-" {
                list.push(value);
                return Ok(());
            }
            let idx = atoi(key)
                .map_err(|e| format!("value was not a proper array index: '{key}': {e}"))?;
            // Insertion may also target the position just past the end.
            let slots = i64::try_from(list.len()).unwrap_or(i64::MAX) + 1;
            let resolved = if idx < 0 { idx + slots } else { idx };
            if resolved < 0 || resolved >= slots {
                return Err(invalid_index(idx));
            }
            let at = usize::try_from(resolved).map_err(|_| invalid_index(idx))?;
            list.insert(at, value);
            Ok(())
        }
        _ => Err("unknown object type".into()),
    }
}

fn remove(container: &mut Value, key: &str) -> Result<Value, String> {
    match container {
        Value::Object(map) => map
            .shift_remove(key)
            .ok_or_else(|| format!("Unable to remove nonexistent key: {key}: missing value")),
        Value::Array(list) => {
            let idx = resolve_index(key, list.len())?;
            Ok(list.remove(idx))
        }
        _ => Err("unknown object type".into()),
    }
}

#[cfg(test)]
#[path = "json_patch_tests.rs"]
mod tests;
