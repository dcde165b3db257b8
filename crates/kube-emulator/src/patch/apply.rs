//! Server-side apply and the field-ownership bookkeeping of ordinary writes.
//!
//! Each `metadata.managedFields` entry is a manager's field set, identified by manager name,
//! operation and subresource (plus API version for `Update` entries). The pipeline mirrors
//! the API server's field manager: an ordinary write adds what it changed to the writer's
//! `Update` entry and takes those fields from everyone else; an apply merges the applied
//! configuration, removes what the applier stopped applying (unless someone else owns it)
//! and refuses, without `force`, to change fields other managers own.

use serde_json::{Map, Value, json};

use super::fields::{FieldSet, bookkeeping_paths, render_path, strip_meta};
use super::schema::is_typed;
use super::walk::{applied_fields, compare, merge_applied, prune};

/// Upstream keeps at most this many `Update` entries, folding the oldest into one.
const MAX_UPDATE_MANAGERS: usize = 10;
const ANCIENT_CHANGES: &str = "ancient-changes";
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// One field another manager owns that an apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApplyConflict {
    /// The owner as the API server prints it: `"kubectl-edit" using v1`, `"tibr"`, or
    /// `"kubelet" with subresource "status" using v1`.
    pub(crate) manager: String,
    /// The field in the API server's notation, e.g. `.spec.replicas` or
    /// `.spec.containers[name="main"].image`.
    pub(crate) field: String,
}

impl ApplyConflict {
    /// The `message` of this conflict's `StatusCause` (type `FieldManagerConflict`).
    pub(crate) fn cause_message(&self) -> String {
        format!("conflict with {}", self.manager)
    }
}

/// Why an apply was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApplyError {
    /// 400 Bad Request: the applied configuration is unusable (no `apiVersion`, `kind` or
    /// `metadata.name`, `metadata.managedFields` set, a keyed list item without its key,
    /// duplicate keys, ...).
    #[error("{0}")]
    Invalid(String),
    /// 409 Conflict (reason `Conflict`), one cause per field.
    #[error("{}", conflicts_message(.0))]
    Conflicts(Vec<ApplyConflict>),
}

impl ApplyError {
    /// The `Status` message, e.g.
    /// `Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .spec.replicas`.
    pub(crate) fn message(&self) -> String {
        self.to_string()
    }
}

fn conflicts_message(conflicts: &[ApplyConflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            only.manager, only.field
        );
    }
    let mut lines: Vec<String> = Vec::new();
    let mut current: Option<&str> = None;
    for conflict in conflicts {
        if current != Some(conflict.manager.as_str()) {
            current = Some(&conflict.manager);
            lines.push(format!("conflicts with {}:", conflict.manager));
        }
        lines.push(format!("- {}", conflict.field));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Operation {
    Apply,
    Update,
}

#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: Operation,
    api_version: String,
    time: Option<String>,
    subresource: Option<String>,
    set: FieldSet,
}

impl Entry {
    /// Apply entries are one per manager whatever the version they applied in.
    fn is(
        &self,
        manager: &str,
        operation: Operation,
        api_version: &str,
        sub: Option<&str>,
    ) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == sub
            && (operation == Operation::Apply || self.api_version == api_version)
    }

    fn display(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            out.push_str(&format!(" with subresource {sub:?}"));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    fn sort_key(&self) -> (Operation, i64, &str, &str, &str) {
        (
            self.operation,
            seconds(self.time.as_deref()),
            &self.manager,
            &self.api_version,
            self.subresource.as_deref().unwrap_or(""),
        )
    }

    fn encode(&self) -> Value {
        let mut out = Map::new();
        out.insert("manager".into(), json!(self.manager));
        let operation = match self.operation {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        };
        out.insert("operation".into(), json!(operation));
        out.insert("apiVersion".into(), json!(self.api_version));
        if let Some(time) = &self.time {
            out.insert("time".into(), json!(time));
        }
        out.insert("fieldsType".into(), json!("FieldsV1"));
        out.insert("fieldsV1".into(), self.set.to_fields_v1());
        if let Some(sub) = &self.subresource {
            out.insert("subresource".into(), json!(sub));
        }
        Value::Object(out)
    }
}

fn seconds(time: Option<&str>) -> i64 {
    time.and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_second())
}

fn decode_entries(managed: Option<&Value>) -> Result<Vec<Entry>, String> {
    let list = match managed {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err("managedFields is not a list".into()),
    };
    let mut entries: Vec<Entry> = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let text = |name: &str| raw.get(name).and_then(Value::as_str);
        let operation = match text("operation") {
            Some("Apply") => Operation::Apply,
            Some("Update") => Operation::Update,
            _ => return Err("operation must be `Apply` or `Update`".into()),
        };
        let api_version = text("apiVersion").filter(|v| !v.is_empty());
        let api_version = api_version
            .ok_or("apiVersion must not be empty")?
            .to_string();
        match text("fieldsType") {
            Some("FieldsV1") => {}
            None | Some("") => {
                return Err(format!("missing fieldsType in managed fields entry {i}"));
            }
            Some(other) => {
                return Err(format!(
                    "invalid fieldsType {other:?} in managed fields entry {i}"
                ));
            }
        }
        let set = match raw.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::default(),
            Some(fields) => FieldSet::from_fields_v1(fields)?,
        };
        let entry = Entry {
            manager: text("manager").unwrap_or("").to_string(),
            operation,
            api_version,
            time: text("time").map(String::from),
            subresource: text("subresource")
                .filter(|s| !s.is_empty())
                .map(String::from),
            set,
        };
        let sub = entry.subresource.clone();
        let same = |e: &Entry| {
            e.is(
                &entry.manager,
                entry.operation,
                &entry.api_version,
                sub.as_deref(),
            )
        };
        entries.retain(|e| !same(e));
        entries.push(entry);
    }
    Ok(entries)
}

fn managed_fields(obj: &Value) -> Option<&Value> {
    obj.get("metadata").and_then(|m| m.get("managedFields"))
}

fn remove_managed_fields(obj: &mut Value) {
    if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
        meta.shift_remove("managedFields");
    }
}

fn without_managed_fields(obj: &Value) -> Value {
    let mut copy = obj.clone();
    remove_managed_fields(&mut copy);
    copy
}

/// Writes the entries in the API server's order: Apply before Update, then oldest first.
fn store_entries(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.set.is_empty());
    if entries.is_empty() {
        remove_managed_fields(obj);
        return;
    }
    entries.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let encoded: Vec<Value> = entries.iter().map(Entry::encode).collect();
    let Value::Object(root) = obj else {
        return;
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert("managedFields".into(), Value::Array(encoded));
    }
}

/// Folds the oldest `Update` entries into one `ancient-changes` entry per API version once
/// there are more than ten.
fn cap_update_managers(entries: &mut Vec<Entry>) {
    let mut updaters: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].operation == Operation::Update)
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort_by(|&a, &b| {
        let key = |e: &Entry| {
            (
                seconds(e.time.as_deref()),
                e.manager.clone(),
                e.api_version.clone(),
            )
        };
        key(&entries[a]).cmp(&key(&entries[b]))
    });
    let mut remaining = updaters.len();
    let mut first_by_version: Vec<(String, usize)> = Vec::new();
    let mut folded: Vec<usize> = Vec::new();
    for &i in &updaters {
        if remaining <= MAX_UPDATE_MANAGERS {
            break;
        }
        let version = entries[i].api_version.clone();
        let Some(&(_, first)) = first_by_version.iter().find(|(v, _)| *v == version) else {
            first_by_version.push((version, i));
            continue;
        };
        let existing = (0..entries.len()).find(|&b| {
            !folded.contains(&b)
                && entries[b].is(ANCIENT_CHANGES, Operation::Update, &version, None)
        });
        let bucket = match existing {
            Some(bucket) => bucket,
            None => {
                entries[first].manager = ANCIENT_CHANGES.into();
                entries[first].subresource = None;
                first
            }
        };
        if bucket == i {
            continue;
        }
        let set = entries[i].set.clone();
        entries[bucket].set.union_with(&set);
        entries[bucket].time = entries[i].time.clone();
        folded.push(i);
        remaining -= 1;
    }
    let mut index = 0;
    entries.retain(|_| {
        index += 1;
        !folded.contains(&(index - 1))
    });
}

fn manager_name(manager: &str) -> &str {
    if manager.is_empty() {
        "unknown"
    } else {
        manager
    }
}

fn api_version_of(obj: &Value) -> String {
    obj.get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The `Update` bookkeeping shared by ordinary writes and the `before-first-apply` entry:
/// everyone loses what changed, the writer gains it.
fn update_entries(
    entries: &mut Vec<Entry>,
    old: &Value,
    new: &Value,
    identity: (&str, &str, Option<&str>),
    now: &str,
    schema: &Value,
) {
    let (manager, api_version, sub) = identity;
    let diff = compare(old, new, schema, is_typed(schema));
    let mut changed = diff.changed();
    for entry in entries.iter_mut() {
        entry.set.subtract(&changed);
        entry.set.subtract(&diff.removed);
    }
    strip_meta(&mut changed);
    if !changed.is_empty() {
        match entries
            .iter_mut()
            .find(|e| e.is(manager, Operation::Update, api_version, sub))
        {
            Some(entry) => {
                entry.set.union_with(&changed);
                entry.time = Some(now.to_string());
            }
            None => entries.push(Entry {
                manager: manager.to_string(),
                operation: Operation::Update,
                api_version: api_version.to_string(),
                time: Some(now.to_string()),
                subresource: sub.map(String::from),
                set: changed,
            }),
        }
    }
    entries.retain(|e| !e.set.is_empty());
    cap_update_managers(entries);
}

/// Records field ownership for an ordinary (non-apply) write of `new` over `old` (`null` or
/// an object without `metadata.uid` for a create), as the API server's field manager does:
/// the writer's `Update` entry gains every field that changed and every other entry loses
/// the fields that changed or disappeared. `new.metadata.managedFields` is rewritten.
///
/// As upstream: a main-resource write may carry its own `managedFields` (used as the base
/// instead of the stored ones), `managedFields: []` clears the tracking, and an existing
/// object without any entries stays untracked until the next apply.
pub(crate) fn record_update(
    old: &Value,
    new: &mut Value,
    manager: &str,
    operation_now: &str,
    schema: &Value,
    subresource: Option<&str>,
) {
    let stored = || decode_entries(managed_fields(old)).unwrap_or_default();
    let requested = managed_fields(new).cloned();
    let mut entries = match (&requested, subresource) {
        (_, Some(_)) => stored(),
        (Some(Value::Array(list)), None) if list.is_empty() => Vec::new(),
        (Some(Value::Array(list)), None) if list.len() == 1 && list[0] == json!({}) => Vec::new(),
        (requested, None) => match decode_entries(requested.as_ref()) {
            Ok(entries) if !entries.is_empty() => entries,
            _ => stored(),
        },
    };
    remove_managed_fields(new);
    let exists = old
        .get("metadata")
        .and_then(|m| m.get("uid"))
        .and_then(Value::as_str)
        .is_some_and(|uid| !uid.is_empty());
    if entries.is_empty() && exists {
        return;
    }
    let old = if old.is_object() {
        without_managed_fields(old)
    } else {
        json!({})
    };
    let api_version = api_version_of(new);
    let identity = (manager_name(manager), api_version.as_str(), subresource);
    update_entries(&mut entries, &old, new, identity, operation_now, schema);
    store_entries(new, entries);
}

/// The checks the API server makes before merging: the type must be stated, a create needs
/// a name (an existing object keeps its own), and managed fields are not the applier's to set.
fn validate_applied(applied: &Value, creating: bool) -> Result<(), ApplyError> {
    let invalid = |msg: &str| Err(ApplyError::Invalid(msg.to_string()));
    if !applied.is_object() {
        return invalid("the applied configuration must be an object");
    }
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .is_some()
    };
    if !text(applied.get("apiVersion")) {
        return invalid("apiVersion must be set in the applied configuration");
    }
    if !text(applied.get("kind")) {
        return invalid("kind must be set in the applied configuration");
    }
    let meta = applied.get("metadata");
    if creating && !text(meta.and_then(|m| m.get("name"))) {
        return invalid("metadata.name must be set in the applied configuration");
    }
    if meta
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|v| !v.is_null())
    {
        return invalid("metadata.managedFields must be nil");
    }
    Ok(())
}

/// Server-side apply of `applied` by `manager` to `live` (`None` to create). Returns the new
/// object with `metadata.managedFields` rewritten; when nothing but ownership changed the
/// object equals `live` apart from `managedFields`, and an unchanged applier keeps its
/// entry's time, so applying the same configuration twice is a no-op.
pub(crate) fn server_side_apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    schema: &Value,
    now: &str,
    subresource: Option<&str>,
) -> Result<Value, ApplyError> {
    validate_applied(applied, live.is_none())?;
    let typed = is_typed(schema);
    let manager = manager_name(manager);
    let api_version = api_version_of(applied);
    let live_obj = live.map_or_else(|| json!({}), without_managed_fields);
    let mut entries = live
        .map(|l| decode_entries(managed_fields(l)).unwrap_or_default())
        .unwrap_or_default();
    if entries.is_empty() && live.is_some() {
        let identity = (BEFORE_FIRST_APPLY, api_version.as_str(), subresource);
        update_entries(&mut entries, &json!({}), &live_obj, identity, now, schema);
    }

    let config_set = applied_fields(applied, schema, typed).map_err(ApplyError::Invalid)?;
    let mut result = merge_applied(Some(&live_obj), Some(applied), schema, &mut Vec::new())
        .map_err(ApplyError::Invalid)?
        .unwrap_or_else(|| json!({}));
    let mine = entries
        .iter()
        .position(|e| e.is(manager, Operation::Apply, "", subresource));
    if let Some(last) = mine.map(|i| &entries[i].set).filter(|s| !s.is_empty()) {
        // Identity fields count as owned so that a configuration without `metadata` cannot
        // prune the object's name away.
        let mut owned = bookkeeping_paths();
        owned.union_with(&config_set);
        for (i, entry) in entries.iter().enumerate() {
            if Some(i) != mine {
                owned.union_with(&entry.set);
            }
        }
        prune(&mut result, schema, typed, last, Some(&owned));
    }

    let diff = compare(&live_obj, &result, schema, typed);
    let changed = diff.changed();
    let mut conflicts: Vec<(usize, FieldSet)> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if Some(i) == mine {
            continue;
        }
        let taken = entry.set.intersection(&changed);
        if !taken.is_empty() {
            conflicts.push((i, taken));
        }
    }
    if !force && !conflicts.is_empty() {
        let order = |e: &Entry| {
            (
                e.manager.clone(),
                e.operation,
                e.api_version.clone(),
                e.subresource.clone(),
            )
        };
        conflicts.sort_by(|a, b| order(&entries[a.0]).cmp(&order(&entries[b.0])));
        let mut list = Vec::new();
        for (i, taken) in &conflicts {
            for path in taken.paths() {
                list.push(ApplyConflict {
                    manager: entries[*i].display(),
                    field: render_path(&path),
                });
            }
        }
        return Err(ApplyError::Conflicts(list));
    }
    for (i, taken) in &conflicts {
        entries[*i].set.subtract(taken);
    }
    for (i, entry) in entries.iter_mut().enumerate() {
        if Some(i) != mine {
            entry.set.subtract(&diff.removed);
        }
    }

    let mut my_set = config_set;
    strip_meta(&mut my_set);
    let object_changed = result != live_obj;
    match mine {
        Some(i) => {
            let entry = &mut entries[i];
            entry.set = my_set;
            entry.api_version = api_version;
            if object_changed {
                entry.time = Some(now.to_string());
            }
        }
        None => entries.push(Entry {
            manager: manager.to_string(),
            operation: Operation::Apply,
            api_version,
            time: object_changed.then(|| now.to_string()),
            subresource: subresource.map(String::from),
            set: my_set,
        }),
    }
    store_entries(&mut result, entries);
    Ok(result)
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "update_tests.rs"]
mod update_tests;
