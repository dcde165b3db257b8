//! Schema-driven walks for field ownership: which paths a value sets, how two objects
//! differ, how an applied configuration merges into a live object, and which previously
//! applied fields to remove. They follow sigs.k8s.io/structured-merge-diff, with the
//! deviations listed in the module header of `patch`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::fields::{FieldSet, Path, PathElement, render_path};
use super::merge::without_nulls;
use super::schema::{
    ListType, child, is_always_present, is_map_entry, is_map_type, items, list_type, map_is_atomic,
};

/// How a node is walked: as one value, as a map of fields, or as a list of identified items.
enum Shape {
    Leaf,
    Fields,
    Items,
}

fn shape(schema: &Value, sample: &[Option<&Value>]) -> Shape {
    let present: Vec<&Value> = sample
        .iter()
        .flatten()
        .copied()
        .filter(|v| !v.is_null())
        .collect();
    if present.iter().all(|v| v.is_object()) && !present.is_empty() {
        if map_is_atomic(schema)
            || present
                .iter()
                .all(|v| v.as_object().is_some_and(Map::is_empty))
        {
            return Shape::Leaf;
        }
        return Shape::Fields;
    }
    if present.iter().all(|v| v.is_array()) && !present.is_empty() {
        if list_type(schema) == ListType::Atomic
            || present
                .iter()
                .all(|v| v.as_array().is_some_and(Vec::is_empty))
        {
            return Shape::Leaf;
        }
        return Shape::Items;
    }
    Shape::Leaf
}

/// The path element of a list item under `list_schema` (a set or a keyed list).
pub(crate) fn item_element(list_schema: &Value, item: &Value) -> Result<PathElement, String> {
    match list_type(list_schema) {
        ListType::Map(keys) => {
            let item_schema = items(list_schema);
            let mut fields = Vec::with_capacity(keys.len());
            for key in keys {
                let value = item
                    .get(&key)
                    .or_else(|| child(item_schema, &key).get("default"));
                let Some(value) = value else {
                    return Err(format!(
                        "associative list with keys has an element that omits key field {key:?} (and doesn't have default value)"
                    ));
                };
                fields.push((key, value.clone()));
            }
            Ok(PathElement::key(&fields))
        }
        _ => Ok(PathElement::value(item)),
    }
}

/// Items with their path elements; the first of duplicated identities wins.
fn index_items<'a>(
    list_schema: &Value,
    list: &'a [Value],
    path: &Path,
    reject_duplicates: bool,
) -> Result<(Vec<PathElement>, HashMap<PathElement, &'a Value>), String> {
    let mut order = Vec::with_capacity(list.len());
    let mut by_element = HashMap::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let element = item_element(list_schema, item)
            .map_err(|e| format!("{}: element {i}: {e}", render_path(path)))?;
        if by_element.contains_key(&element) {
            if reject_duplicates {
                let mut at = path.clone();
                at.push(element);
                return Err(format!("{}: duplicate entries for key", render_path(&at)));
            }
            continue;
        }
        by_element.insert(element.clone(), item);
        order.push(element);
    }
    Ok((order, by_element))
}

/// The fields an applied configuration sets: leaves, list items, map entries, atomic values
/// and explicitly empty or `null` fields, but not the named fields of structs on the way.
pub(crate) fn applied_fields(
    config: &Value,
    schema: &Value,
    typed: bool,
) -> Result<FieldSet, String> {
    let mut set = FieldSet::default();
    let mut path = Vec::new();
    collect_applied(config, schema, typed, &mut path, &mut set)?;
    Ok(set)
}

fn collect_applied(
    value: &Value,
    schema: &Value,
    typed: bool,
    path: &mut Path,
    set: &mut FieldSet,
) -> Result<(), String> {
    match value {
        Value::Object(map) if !map_is_atomic(schema) => {
            for (key, inner) in map {
                path.push(PathElement::Field(key.clone()));
                collect_applied(inner, child(schema, key), typed, path, set)?;
                let empty = inner.is_null() || inner.as_object().is_some_and(Map::is_empty);
                if empty || is_map_entry(schema, key, typed) {
                    set.insert(path);
                }
                path.pop();
            }
        }
        Value::Array(list) if list_type(schema) != ListType::Atomic => {
            let (order, by_element) = index_items(schema, list, path, true)?;
            for element in order {
                path.push(element.clone());
                collect_applied(by_element[&element], items(schema), typed, path, set)?;
                set.insert(path);
                path.pop();
            }
        }
        _ => set.insert(path),
    }
    Ok(())
}

/// What changed between two versions of an object.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub(crate) added: FieldSet,
    pub(crate) modified: FieldSet,
    pub(crate) removed: FieldSet,
}

impl Comparison {
    pub(crate) fn changed(&self) -> FieldSet {
        let mut all = self.added.clone();
        all.union_with(&self.modified);
        all
    }
}

/// Compares `old` with `new`. Leaves that differ are modified; any node present on one side
/// only is added or removed, except that in skeletons of Go types a struct reached through
/// a named field, or a field marked as never omitted, is not recorded itself: upstream
/// compares typed objects, whose zero value already holds those (a Go struct value is never
/// absent, and a field without `omitempty` is at least `null`).
pub(crate) fn compare(old: &Value, new: &Value, schema: &Value, typed: bool) -> Comparison {
    let mut out = Comparison::default();
    let mut path = Vec::new();
    compare_node(
        Some(old),
        Some(new),
        schema,
        typed,
        false,
        &mut path,
        &mut out,
    );
    out
}

fn compare_node(
    old: Option<&Value>,
    new: Option<&Value>,
    schema: &Value,
    typed: bool,
    named_struct: bool,
    path: &mut Path,
    out: &mut Comparison,
) {
    match shape(schema, &[old, new]) {
        Shape::Leaf => {
            match (old, new) {
                (None, Some(_)) => out.added.insert(path),
                (Some(_), None) => out.removed.insert(path),
                (Some(a), Some(b)) if a != b => out.modified.insert(path),
                _ => {}
            }
            return;
        }
        Shape::Fields => {
            let empty = Map::new();
            let old_map = old.and_then(Value::as_object).unwrap_or(&empty);
            let new_map = new.and_then(Value::as_object).unwrap_or(&empty);
            let keys = old_map
                .keys()
                .chain(new_map.keys().filter(|k| !old_map.contains_key(*k)));
            for key in keys {
                path.push(PathElement::Field(key.clone()));
                let named = typed && !is_map_entry(schema, key, typed);
                let (a, b) = (old_map.get(key), new_map.get(key));
                compare_node(a, b, child(schema, key), typed, named, path, out);
                path.pop();
            }
            if named_struct && (!is_map_type(schema) || is_always_present(schema)) {
                return;
            }
        }
        Shape::Items => {
            let none: &[Value] = &[];
            let old_list = old.and_then(Value::as_array).map_or(none, Vec::as_slice);
            let new_list = new.and_then(Value::as_array).map_or(none, Vec::as_slice);
            let indexed = index_items(schema, old_list, path, false)
                .and_then(|o| index_items(schema, new_list, path, false).map(|n| (o, n)));
            let Ok(((old_order, old_items), (new_order, new_items))) = indexed else {
                // Unidentifiable items: compare the lists as single values.
                if old != new {
                    out.modified.insert(path);
                }
                return;
            };
            let elements = old_order
                .iter()
                .chain(new_order.iter().filter(|e| !old_items.contains_key(*e)));
            for element in elements {
                path.push(element.clone());
                let (a, b) = (
                    old_items.get(element).copied(),
                    new_items.get(element).copied(),
                );
                compare_node(a, b, items(schema), typed, false, path, out);
                path.pop();
            }
            if named_struct && is_always_present(schema) {
                return;
            }
        }
    }
    match (old, new) {
        (None, Some(_)) => out.added.insert(path),
        (Some(_), None) => out.removed.insert(path),
        _ => {}
    }
}

/// Merges an applied configuration into the live object: configuration values win, maps
/// merge per field, sets and keyed lists merge per item. `None` means "no value", which
/// drops the key from the parent.
pub(crate) fn merge_applied(
    live: Option<&Value>,
    config: Option<&Value>,
    schema: &Value,
    path: &mut Path,
) -> Result<Option<Value>, String> {
    let Some(config) = config else {
        return Ok(live.cloned());
    };
    if config.is_null() {
        return Ok(None);
    }
    let Some(live) = live else {
        return Ok(Some(without_nulls(config)));
    };
    match (shape(schema, &[Some(live), Some(config)]), live, config) {
        (Shape::Fields, Value::Object(live_map), Value::Object(config_map)) => {
            let mut out = live_map.clone();
            for (key, value) in config_map {
                path.push(PathElement::Field(key.clone()));
                let merged =
                    merge_applied(live_map.get(key), Some(value), child(schema, key), path)?;
                path.pop();
                match merged {
                    Some(merged) => {
                        out.insert(key.clone(), merged);
                    }
                    None => {
                        out.shift_remove(key);
                    }
                }
            }
            Ok(Some(Value::Object(out)))
        }
        (Shape::Items, Value::Array(live_list), Value::Array(config_list)) => {
            merge_items(live_list, config_list, schema, path).map(|list| Some(Value::Array(list)))
        }
        _ => Ok(Some(without_nulls(config))),
    }
}

/// Keeps the live order, with items both sides have appearing in the configuration's
/// order and items only the configuration has placed after the configuration item that
/// precedes them.
fn merge_items(
    live: &[Value],
    config: &[Value],
    schema: &Value,
    path: &mut Path,
) -> Result<Vec<Value>, String> {
    let (config_order, config_items) = index_items(schema, config, path, true)?;
    let (live_order, live_items) = index_items(schema, live, path, false)?;
    let mut shared = config_order.iter().filter(|e| live_items.contains_key(*e));
    let mut next_shared = shared.next();
    let mut done: std::collections::HashSet<&PathElement> = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(live.len().max(config.len()));
    let item_schema = items(schema);
    let merge_one = |element: &PathElement, out: &mut Vec<Value>, path: &mut Path| {
        path.push(element.clone());
        let merged = merge_applied(
            live_items.get(element).copied(),
            config_items.get(element).copied(),
            item_schema,
            path,
        );
        path.pop();
        merged.map(|m| out.extend(m))
    };
    let (mut l, mut c) = (0, 0);
    while l < live_order.len() || c < config_order.len() {
        if l < live_order.len() && c < config_order.len() {
            let element = &live_order[l];
            if *element == config_order[c] {
                done.insert(element);
                merge_one(element, &mut out, path)?;
                l += 1;
                c += 1;
                next_shared = shared.next();
                continue;
            }
            if config_items.contains_key(element) && next_shared.is_some_and(|n| n != element) {
                l += 1;
                continue;
            }
        }
        if l < live_order.len() {
            let element = &live_order[l];
            if !config_items.contains_key(element) {
                merge_one(element, &mut out, path)?;
                l += 1;
                continue;
            }
            if done.contains(element) {
                l += 1;
            }
        }
        if c < config_order.len() {
            let element = &config_order[c];
            done.insert(element);
            merge_one(element, &mut out, path)?;
            c += 1;
            if next_shared == Some(element) {
                next_shared = shared.next();
            }
        }
    }
    Ok(out)
}

/// Removes from `merged` what the applier owned last time (`last`) and nobody owns now
/// (`owned`, including the applier's new set). A named struct field present in either set
/// counts as owned there, so dropping every field of a struct drops the struct too.
/// Containers emptied by the removal are removed as well.
pub(crate) fn prune(
    merged: &mut Value,
    schema: &Value,
    typed: bool,
    last: &FieldSet,
    owned: Option<&FieldSet>,
) {
    match merged {
        Value::Object(map) if !map_is_atomic(schema) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let element = PathElement::Field(key.clone());
                let Some(last_child) = last.child(&element) else {
                    continue;
                };
                let named = !is_map_entry(schema, &key, typed);
                let owned_child = owned.and_then(|o| o.child(&element));
                let was_owned = last_child.member || named;
                let still_owned = owned_child.is_some_and(|o| o.member || named);
                if was_owned && !still_owned {
                    map.shift_remove(&key);
                    continue;
                }
                if let Some(value) = map.get_mut(&key) {
                    let was_container = is_nonempty_container(value);
                    prune(value, child(schema, &key), typed, last_child, owned_child);
                    if was_container && !is_nonempty_container(value) {
                        map.shift_remove(&key);
                    }
                }
            }
        }
        Value::Array(list) if list_type(schema) != ListType::Atomic => {
            let item_schema = items(schema);
            let mut kept = Vec::with_capacity(list.len());
            for mut item in std::mem::take(list) {
                let Ok(element) = item_element(schema, &item) else {
                    kept.push(item);
                    continue;
                };
                let Some(last_child) = last.child(&element) else {
                    kept.push(item);
                    continue;
                };
                let owned_child = owned.and_then(|o| o.child(&element));
                if last_child.member && !owned_child.is_some_and(|o| o.member) {
                    continue;
                }
                prune(&mut item, item_schema, typed, last_child, owned_child);
                kept.push(item);
            }
            *list = kept;
        }
        _ => {}
    }
}

fn is_nonempty_container(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(list) => !list.is_empty(),
        _ => false,
    }
}
