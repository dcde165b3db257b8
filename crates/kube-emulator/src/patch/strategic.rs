//! Strategic merge patch, as kube-apiserver applies `application/strategic-merge-patch+json`
//! to built-in kinds (the body `kubectl apply`, `edit` and `patch` send).
//!
//! The merge follows the server side of apimachinery's `strategicpatch` package, including
//! its list ordering (items a patch adds to a merging list go before the live items unless
//! `$setElementOrder` places them) and its error classes. Where the Go code copies a patch
//! value verbatim into a place the live object lacks, any directives inside would survive
//! until the typed decode dropped them; here such values are merged into an empty value
//! instead, which strips directives and `null`s the way that decode would.

use serde_json::{Map, Value};

use super::PatchError;
use super::schema::{child, items, kind_name, patch_merge_key, patch_strategy};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_PRIMITIVES: &str = "$deleteFromPrimitiveList";
const ELEMENT_ORDER: &str = "$setElementOrder";

/// Applies a strategic merge patch to `doc` using the patch metadata in `schema`.
pub(crate) fn strategic_merge_patch(
    doc: &Value,
    patch: &Value,
    schema: &Value,
) -> Result<Value, PatchError> {
    let patch = match patch {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        other => {
            return Err(PatchError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                match other {
                    Value::Array(_) => "array",
                    Value::String(_) => "string",
                    Value::Number(_) => "number",
                    _ => "bool",
                }
            )));
        }
    };
    let Value::Object(doc) = doc else {
        return Err(PatchError::Internal(
            "the patched document is not an object".into(),
        ));
    };
    merge_map(doc.clone(), patch, schema).map(Value::Object)
}

fn internal(msg: impl Into<String>) -> PatchError {
    PatchError::Internal(msg.into())
}

fn bad_arg(expected: &str, actual: &Value) -> PatchError {
    internal(format!(
        "expected a {expected}, but received a {}",
        kind_name(actual)
    ))
}

fn no_merge_key(map: &Map<String, Value>, key: &str) -> PatchError {
    internal(format!(
        "map: {} does not contain declared merge key: {key}",
        Value::Object(map.clone())
    ))
}

fn unknown_directive(directive: &Value, map: &Map<String, Value>) -> PatchError {
    let shown = directive
        .as_str()
        .map_or_else(|| directive.to_string(), str::to_string);
    internal(format!(
        "unknown patch type: {shown} in map: {}",
        Value::Object(map.clone())
    ))
}

/// Resolves the directives of a value that lands where the live object has nothing.
fn fresh(value: Value, schema: &Value) -> Result<Value, PatchError> {
    match value {
        Value::Object(map) => merge_map(Map::new(), map, schema).map(Value::Object),
        Value::Array(list) => fresh_list(list, schema).map(Value::Array),
        other => Ok(other),
    }
}

fn fresh_list(list: Vec<Value>, schema: &Value) -> Result<Vec<Value>, PatchError> {
    if patch_strategy(schema).0 == Some("merge") {
        return merge_slice(&[], list, schema);
    }
    let item_schema = items(schema);
    list.into_iter()
        .map(|item| fresh(item, item_schema))
        .collect()
}

/// `prefix/field` to `field`; anything else is a malformed directive.
fn directive_target<'a>(key: &'a str, prefix: &str, err: &str) -> Result<&'a str, PatchError> {
    match key.split_once('/') {
        Some((head, field)) if head == prefix => Ok(field),
        _ => Err(PatchError::BadRequest(err.into())),
    }
}

fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: &Value,
) -> Result<Map<String, Value>, PatchError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE);
                merge_map(Map::new(), patch, schema)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(unknown_directive(directive, &patch)),
        };
    }

    if let Some(retain) = patch.shift_remove(RETAIN_KEYS) {
        apply_retain_keys(&mut original, &patch, &retain)?;
    }

    let order_keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(ELEMENT_ORDER))
        .cloned()
        .collect();
    for order_key in order_keys {
        let order = patch.shift_remove(&order_key).unwrap_or(Value::Null);
        apply_element_order(&mut original, &mut patch, &order_key, order, schema)?;
    }

    for (key, patch_value) in patch {
        let (field, delete_list) = if key.starts_with(DELETE_PRIMITIVES) {
            let field = directive_target(
                &key,
                DELETE_PRIMITIVES,
                "invalid patch format of primitive list",
            )?;
            (field.to_string(), true)
        } else if key.starts_with('$') {
            // Unknown directives have no field to land in on a typed object.
            continue;
        } else {
            (key, false)
        };
        if patch_value.is_null() {
            original.shift_remove(&field);
            continue;
        }
        let field_schema = child(schema, &field);
        let Some(current) = original.get_mut(&field) else {
            if !delete_list {
                original.insert(field, fresh(patch_value, field_schema)?);
            }
            continue;
        };
        if delete_list {
            match (current, patch_value) {
                (Value::Array(list), Value::Array(remove)) => list.retain(|v| !remove.contains(v)),
                (Value::Array(_), other) => return Err(bad_arg("[]interface {}", &other)),
                // The Go code would overwrite a non-list with the deletion list; nothing
                // sensible can be deleted from a scalar, so it is left alone.
                _ => {}
            }
            continue;
        }
        let (strategy, _) = patch_strategy(field_schema);
        *current = match (std::mem::take(current), patch_value) {
            (Value::Object(cur), Value::Object(p)) => {
                if strategy == Some("replace") {
                    fresh(Value::Object(p), field_schema)?
                } else {
                    Value::Object(merge_map(cur, p, field_schema)?)
                }
            }
            (Value::Array(cur), Value::Array(p)) => {
                Value::Array(merge_list_field(&cur, p, field_schema)?)
            }
            (_, p) => fresh(p, field_schema)?,
        };
    }
    Ok(original)
}

fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    retain: &Value,
) -> Result<(), PatchError> {
    let bad = || PatchError::BadRequest("invalid patch format of retainKeys".into());
    let Value::Array(retain) = retain else {
        return Err(bad());
    };
    let kept = |key: &str| retain.iter().any(|r| r.as_str() == Some(key));
    for (key, value) in patch {
        let exempt =
            value.is_null() || key.starts_with(DELETE_PRIMITIVES) || key.starts_with(ELEMENT_ORDER);
        if !exempt && !kept(key) {
            return Err(bad());
        }
    }
    original.retain(|key, _| kept(key));
    Ok(())
}

/// A list field with both a live and a patch value.
fn merge_list_field(
    current: &[Value],
    patch: Vec<Value>,
    schema: &Value,
) -> Result<Vec<Value>, PatchError> {
    if patch_strategy(schema).0 == Some("merge") {
        merge_slice(current, patch, schema)
    } else {
        fresh_list(patch, schema)
    }
}

fn apply_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    order_key: &str,
    order: Value,
    schema: &Value,
) -> Result<(), PatchError> {
    let Value::Array(order) = order else {
        return Err(bad_arg("[]interface {}", &order));
    };
    let field = directive_target(
        order_key,
        ELEMENT_ORDER,
        "invalid patch format of setElementOrder list",
    )?
    .to_string();
    let field_schema = child(schema, &field);
    let merge_key = patch_merge_key(field_schema).unwrap_or("");
    let live = match original.get(&field) {
        None => None,
        Some(Value::Array(list)) => Some(list.clone()),
        Some(other) => return Err(bad_arg("[]interface {}", other)),
    };
    let patched = match patch.shift_remove(&field) {
        None => None,
        Some(Value::Array(list)) => Some(list),
        Some(other) => return Err(bad_arg("[]interface {}", &other)),
    };
    check_order(patched.as_deref().unwrap_or(&[]), &order, merge_key)?;
    let merged = match (&live, patched) {
        (Some(live), None) => live.clone(),
        (None, Some(patched)) => fresh_list(patched, field_schema)?,
        (Some(live), Some(patched)) => merge_list_field(live, patched, field_schema)?,
        (None, None) => return Ok(()),
    };
    let (named, server_only) = partition(merged, &order, merge_key)?;
    let live = live.unwrap_or_default();
    let ordered = normalize_order(named, server_only, &order, &live, merge_key)?;
    original.insert(field, Value::Array(ordered));
    Ok(())
}

fn is_delete_item(item: &Value) -> bool {
    item.get(DIRECTIVE).and_then(Value::as_str) == Some("delete")
}

/// The value an item is identified by in order computations: its merge key for maps, the
/// item itself for primitives.
fn identity<'a>(item: &'a Value, merge_key: &str) -> Option<&'a Value> {
    if merge_key.is_empty() {
        Some(item)
    } else {
        item.get(merge_key)
    }
}

fn position(list: &[Value], item: &Value, merge_key: &str) -> Option<usize> {
    let id = identity(item, merge_key);
    list.iter()
        .position(|other| identity(other, merge_key) == id)
}

fn require_key<'a>(item: &'a Value, merge_key: &str) -> Result<&'a Value, PatchError> {
    let Value::Object(map) = item else {
        return Err(bad_arg("map[string]interface {}", item));
    };
    map.get(merge_key)
        .ok_or_else(|| no_merge_key(map, merge_key))
}

/// The patch list must name its items in the same relative order as `$setElementOrder`, and
/// only items the order names (deletions aside).
fn check_order(patch: &[Value], order: &[Value], merge_key: &str) -> Result<(), PatchError> {
    if patch.is_empty() || order.is_empty() {
        return Ok(());
    }
    let mut kept = Vec::with_capacity(patch.len());
    for item in patch {
        if !merge_key.is_empty() && !item.is_object() {
            return Err(bad_arg("map[string]interface {}", item));
        }
        if merge_key.is_empty() || !is_delete_item(item) {
            kept.push(item);
        }
    }
    let (mut p, mut o) = (0, 0);
    while p < kept.len() && o < order.len() {
        if kept[p].get(DIRECTIVE).is_some() {
            p += 1;
            continue;
        }
        let same = if merge_key.is_empty() {
            kept[p] == &order[o]
        } else {
            require_key(kept[p], merge_key)? == require_key(&order[o], merge_key)?
        };
        if same {
            p += 1;
        }
        o += 1;
    }
    if p < kept.len() {
        return Err(internal(format!(
            "The order in patch list:\n{}\n doesn't match {ELEMENT_ORDER} list:\n{}\n",
            Value::Array(patch.to_vec()),
            Value::Array(order.to_vec())
        )));
    }
    Ok(())
}

/// Splits `merged` into the items `by` names and the rest, keeping their relative order.
fn partition(
    merged: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut named = Vec::new();
    let mut rest = Vec::new();
    for item in merged {
        if !merge_key.is_empty() {
            require_key(&item, merge_key)?;
        }
        if position(by, &item, merge_key).is_some() {
            named.push(item);
        } else {
            rest.push(item);
        }
    }
    Ok((named, rest))
}

/// Orders the named items as `patch_order` does and the server-only items as the live list
/// does, then interleaves them: a server-only item goes first only when the live list puts
/// it before the next named item, so named items the live list lacks come before whatever
/// server-only items remain.
fn normalize_order(
    mut named: Vec<Value>,
    mut server_only: Vec<Value>,
    patch_order: &[Value],
    live_order: &[Value],
    merge_key: &str,
) -> Result<Vec<Value>, PatchError> {
    for item in patch_order.iter().chain(live_order) {
        if !merge_key.is_empty() {
            require_key(item, merge_key)?;
        }
    }
    let sort = |list: &mut Vec<Value>, order: &[Value]| {
        let (deleted, mut kept): (Vec<Value>, Vec<Value>) = std::mem::take(list)
            .into_iter()
            .partition(|item| !merge_key.is_empty() && is_delete_item(item));
        kept.sort_by_key(|item| position(order, item, merge_key).unwrap_or(usize::MAX));
        kept.extend(deleted);
        *list = kept;
    };
    sort(&mut named, patch_order);
    sort(&mut server_only, live_order);

    let mut out = Vec::with_capacity(named.len() + server_only.len());
    let mut server = server_only.into_iter().peekable();
    let mut patch = named.into_iter().peekable();
    loop {
        let take_server = match (server.peek(), patch.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(s), Some(p)) => matches!(
                (position(live_order, s, merge_key), position(live_order, p, merge_key)),
                (Some(si), Some(pi)) if si < pi
            ),
        };
        let next = if take_server {
            server.next()
        } else {
            patch.next()
        };
        out.extend(next);
    }
    Ok(out)
}

/// The JSON kinds the Go code distinguishes when it checks a list is homogeneous.
fn element_kind(value: &Value) -> u8 {
    match value {
        Value::Object(_) => 0,
        Value::Array(_) => 1,
        Value::String(_) => 2,
        Value::Number(_) => 3,
        Value::Bool(_) => 4,
        Value::Null => 5,
    }
}

fn merge_slice(
    current: &[Value],
    patch: Vec<Value>,
    schema: &Value,
) -> Result<Vec<Value>, PatchError> {
    if current.is_empty() && patch.is_empty() {
        return Ok(Vec::new());
    }
    let mut all = current.iter().chain(&patch);
    let first = all.next().map_or(0, element_kind);
    if first == 1 {
        return Err(PatchError::Unprocessable(
            "lists of lists are not supported".into(),
        ));
    }
    if all.any(|v| element_kind(v) != first) {
        return Err(internal(format!(
            "list element types are not identical: [{} {}]",
            Value::Array(current.to_vec()),
            Value::Array(patch.clone())
        )));
    }
    let merge_key = patch_merge_key(schema).unwrap_or("");
    if first != 0 {
        let mut merged: Vec<Value> = Vec::with_capacity(current.len() + patch.len());
        for item in current.iter().chain(&patch) {
            if !merged.contains(item) {
                merged.push(item.clone());
            }
        }
        let (named, server_only) = partition(merged, &patch, "")?;
        return normalize_order(named, server_only, &patch, current, "");
    }
    if merge_key.is_empty() {
        return Err(internal(
            "cannot merge lists without merge key for type map",
        ));
    }
    let item_schema = items(schema);
    let (base, patch) = split_special_items(current, patch, merge_key, item_schema)?;
    let mut merged = base.clone();
    for item in &patch {
        let key = require_key(item, merge_key)?;
        let mut found = None;
        for (i, existing) in merged.iter().enumerate() {
            let Value::Object(existing) = existing else {
                return Err(internal(format!("value for key {i} is not a map.")));
            };
            if existing.get(merge_key) == Some(key) {
                found = Some(i);
                break;
            }
        }
        match (found, item.clone()) {
            (Some(i), Value::Object(p)) => {
                let Value::Object(existing) = std::mem::take(&mut merged[i]) else {
                    unreachable!("checked to be a map above");
                };
                merged[i] = Value::Object(merge_map(existing, p, item_schema)?);
            }
            (_, item) => merged.push(fresh(item, item_schema)?),
        }
    }
    let (named, server_only) = partition(merged, &patch, merge_key)?;
    normalize_order(named, server_only, &patch, &base, merge_key)
}

/// Handles the `$patch` items of a merging list of maps: `delete` drops live items with that
/// key, `replace` makes the remaining patch items the whole list. Returns the live list to
/// merge into and the ordinary patch items.
fn split_special_items(
    current: &[Value],
    patch: Vec<Value>,
    merge_key: &str,
    item_schema: &Value,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut base = current.to_vec();
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Value::Object(map) = &item else {
            return Err(bad_arg("map[string]interface {}", &item));
        };
        let Some(directive) = map.get(DIRECTIVE) else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let key = map
                    .get(merge_key)
                    .ok_or_else(|| no_merge_key(map, merge_key))?;
                for (i, existing) in base.iter().enumerate() {
                    if !existing.is_object() {
                        return Err(internal(format!("value for key {i} is not a map.")));
                    }
                }
                base.retain(|existing| existing.get(merge_key) != Some(key));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(internal(
                    "merging lists cannot yet be specified in the patch",
                ));
            }
            _ => return Err(unknown_directive(directive, map)),
        }
    }
    if replace {
        let replaced: Result<Vec<Value>, PatchError> = plain
            .into_iter()
            .map(|item| fresh(item, item_schema))
            .collect();
        return Ok((replaced?, Vec::new()));
    }
    Ok((base, plain))
}

#[cfg(test)]
#[path = "strategic_tests.rs"]
mod tests;
