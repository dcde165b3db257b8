//! Object storage of one cluster: current objects, the monotonically increasing
//! resourceVersion, and the bounded event history that watches resume from.
//!
//! Everything sits behind the cluster's single mutex, so a write and the event it emits
//! are atomic with respect to every list and watch, which is what lets a watcher that
//! starts at a list's resourceVersion see every later change exactly once.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
};

use serde_json::Value;
use tokio::sync::broadcast;

use super::registry::GroupResource;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) rv: u64,
    pub(crate) storage: GroupResource,
    pub(crate) namespace: String,
    pub(crate) kind: EventType,
    pub(crate) object: Arc<Value>,
    /// The object before the change, so that selector-filtered watches can turn a
    /// modification into ADDED or DELETED when the object enters or leaves the selection.
    pub(crate) previous: Option<Arc<Value>>,
}

/// Key of an object within its resource: (namespace, name); namespace is empty for
/// cluster-scoped objects.
pub(crate) type ObjectKey = (String, String);

pub(crate) struct Store {
    rv: u64,
    objects: HashMap<GroupResource, BTreeMap<ObjectKey, Arc<Value>>>,
    uids: HashMap<String, (GroupResource, ObjectKey)>,
    history: VecDeque<Arc<Change>>,
    history_cap: usize,
    /// Watches must start at or after this resourceVersion.
    oldest_watchable: u64,
    tx: broadcast::Sender<Arc<Change>>,
}

impl Store {
    pub(crate) fn new(history_cap: usize) -> Self {
        let (tx, _) = broadcast::channel(4096);
        Store {
            rv: 1,
            objects: HashMap::new(),
            uids: HashMap::new(),
            history: VecDeque::new(),
            history_cap,
            oldest_watchable: 1,
            tx,
        }
    }

    pub(crate) fn resource_version(&self) -> u64 {
        self.rv
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    pub(crate) fn get(
        &self,
        storage: &GroupResource,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<Value>> {
        self.objects
            .get(storage)?
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    pub(crate) fn by_uid(&self, uid: &str) -> Option<(GroupResource, Arc<Value>)> {
        let (storage, key) = self.uids.get(uid)?;
        let obj = self.objects.get(storage)?.get(key)?.clone();
        Some((storage.clone(), obj))
    }

    /// Objects of a resource in key order, optionally within one namespace.
    pub(crate) fn list(&self, storage: &GroupResource, namespace: Option<&str>) -> Vec<Arc<Value>> {
        let Some(objects) = self.objects.get(storage) else {
            return Vec::new();
        };
        match namespace {
            Some(ns) => objects
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => objects.values().cloned().collect(),
        }
    }

    pub(crate) fn storages(&self) -> Vec<GroupResource> {
        self.objects.keys().cloned().collect()
    }

    /// Writes `object` (whose `metadata.resourceVersion` is set here) and emits the event.
    pub(crate) fn put(&mut self, storage: &GroupResource, mut object: Value) -> Arc<Value> {
        self.rv += 1;
        object["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        let key = key_of(&object);
        let object = Arc::new(object);
        let previous = self
            .objects
            .entry(storage.clone())
            .or_default()
            .insert(key.clone(), object.clone());
        if let Some(uid) = object["metadata"]["uid"].as_str() {
            self.uids
                .insert(uid.to_string(), (storage.clone(), key.clone()));
        }
        let kind = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(storage, key.0, kind, object.clone(), previous);
        object
    }

    /// Removes an object; the DELETED event carries it with a fresh resourceVersion.
    #[cfg(test)]
    pub(crate) fn remove(
        &mut self,
        storage: &GroupResource,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<Value>> {
        self.remove_as(storage, namespace, name, None)
    }

    /// Removes an object, reporting `last` (e.g. the object with its last finalizer
    /// removed) as its final state instead of the stored one.
    pub(crate) fn remove_as(
        &mut self,
        storage: &GroupResource,
        namespace: &str,
        name: &str,
        last: Option<Value>,
    ) -> Option<Arc<Value>> {
        let key = (namespace.to_string(), name.to_string());
        let previous = self.objects.get_mut(storage)?.remove(&key)?;
        if let Some(uid) = previous["metadata"]["uid"].as_str() {
            self.uids.remove(uid);
        }
        self.rv += 1;
        let mut last = last.unwrap_or_else(|| (*previous).clone());
        last["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        let last = Arc::new(last);
        self.emit(
            storage,
            key.0,
            EventType::Deleted,
            last.clone(),
            Some(previous),
        );
        Some(last)
    }

    fn emit(
        &mut self,
        storage: &GroupResource,
        namespace: String,
        kind: EventType,
        object: Arc<Value>,
        previous: Option<Arc<Value>>,
    ) {
        let change = Arc::new(Change {
            rv: self.rv,
            storage: storage.clone(),
            namespace,
            kind,
            object,
            previous,
        });
        self.history.push_back(change.clone());
        while self.history.len() > self.history_cap {
            if let Some(dropped) = self.history.pop_front() {
                self.oldest_watchable = dropped.rv;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(change);
    }

    /// Changes after `rv`, or `None` when history no longer reaches back that far.
    pub(crate) fn changes_since(&self, rv: u64) -> Option<Vec<Arc<Change>>> {
        if rv < self.oldest_watchable {
            return None;
        }
        Some(self.history.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    /// Forget all history up to now, as etcd compaction does: older watches get 410.
    pub(crate) fn compact(&mut self) {
        self.history.clear();
        self.oldest_watchable = self.rv;
    }
}

pub(crate) fn key_of(object: &Value) -> ObjectKey {
    let meta = &object["metadata"];
    (
        meta["namespace"].as_str().unwrap_or_default().to_string(),
        meta["name"].as_str().unwrap_or_default().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cm(ns: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name, "uid": format!("{ns}-{name}")}})
    }

    #[test]
    fn versions_increase_and_history_replays() {
        let gr = GroupResource::new("", "configmaps");
        let mut store = Store::new(100);
        let start = store.resource_version();
        let a = store.put(&gr, cm("a", "x"));
        let b = store.put(&gr, cm("b", "x"));
        assert!(
            a["metadata"]["resourceVersion"].as_str() < b["metadata"]["resourceVersion"].as_str()
        );
        store.put(&gr, cm("a", "x"));
        store.remove(&gr, "b", "x");
        let kinds: Vec<EventType> = store
            .changes_since(start)
            .unwrap()
            .iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                EventType::Added,
                EventType::Added,
                EventType::Modified,
                EventType::Deleted
            ]
        );
        assert_eq!(store.list(&gr, Some("a")).len(), 1);
        assert_eq!(store.list(&gr, None).len(), 1);
        assert!(store.by_uid("b-x").is_none());
        assert!(store.by_uid("a-x").is_some());
    }

    #[test]
    fn compaction_makes_old_versions_unwatchable() {
        let gr = GroupResource::new("", "configmaps");
        let mut store = Store::new(2);
        let start = store.resource_version();
        for i in 0..5 {
            store.put(&gr, cm("a", &format!("c{i}")));
        }
        assert!(store.changes_since(start).is_none());
        let rv = store.resource_version();
        store.compact();
        assert!(store.changes_since(rv - 1).is_none());
        assert_eq!(store.changes_since(rv).unwrap().len(), 0);
    }
}
