//! Object storage of one cluster: current objects, the monotonically increasing
//! resourceVersion, the bounded event history that watches resume from, and the
//! [`index`] the cluster's own controllers read instead of walking every object.
//!
//! Everything sits behind the cluster's single mutex, so a write and the event it emits
//! are atomic with respect to every list and watch, which is what lets a watcher that
//! starts at a list's resourceVersion see every later change exactly once.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    ops::Bound,
    sync::Arc,
};

use serde_json::Value;
use tokio::sync::broadcast;

use super::registry::GroupResource;

mod index;

pub(crate) use index::{Index, Location};

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
    /// What `object` and `previous` take in memory, roughly ([`approximate_size`]).
    size: usize,
}

/// Key of an object within its resource: (namespace, name); namespace is empty for
/// cluster-scoped objects.
pub(crate) type ObjectKey = (String, String);

/// How much change history the store keeps: the last `changes`, as long as they take no
/// more than `bytes`. The size bound matters when objects are large and many: each
/// change holds two versions of its object, which would otherwise stay in memory long
/// after the objects were deleted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HistoryLimit {
    pub(crate) changes: usize,
    pub(crate) bytes: usize,
}

pub(crate) struct Store {
    rv: u64,
    objects: HashMap<GroupResource, BTreeMap<ObjectKey, Arc<Value>>>,
    index: Index,
    history: VecDeque<Arc<Change>>,
    history_limit: HistoryLimit,
    /// The sum of the sizes of the changes in `history`.
    history_bytes: usize,
    /// Watches must start at or after this resourceVersion.
    oldest_watchable: u64,
    /// One channel per resource: a burst of writes of one kind fills only its own
    /// watchers' queues, as the real server's per-resource watch caches do.
    tx: HashMap<GroupResource, broadcast::Sender<Arc<Change>>>,
}

/// Changes a watcher may fall behind by before its watch ends with 410.
const WATCH_QUEUE: usize = 4096;

impl Store {
    pub(crate) fn new(history_limit: HistoryLimit) -> Self {
        Store {
            rv: 1,
            objects: HashMap::new(),
            index: Index::default(),
            history: VecDeque::new(),
            history_limit,
            history_bytes: 0,
            oldest_watchable: 1,
            tx: HashMap::new(),
        }
    }

    pub(crate) fn resource_version(&self) -> u64 {
        self.rv
    }

    /// The changes of one resource (its storage), from now on.
    pub(crate) fn subscribe(
        &mut self,
        storage: &GroupResource,
    ) -> broadcast::Receiver<Arc<Change>> {
        self.tx
            .entry(storage.clone())
            .or_insert_with(|| broadcast::channel(WATCH_QUEUE).0)
            .subscribe()
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
        let (storage, key) = self.index.location(uid)?;
        let obj = self.objects.get(storage)?.get(key)?.clone();
        Some((storage.clone(), obj))
    }

    pub(crate) fn at(&self, (storage, key): &Location) -> Option<Arc<Value>> {
        self.objects.get(storage)?.get(key).cloned()
    }

    pub(crate) fn index(&self) -> &Index {
        &self.index
    }

    /// Objects of a resource in key order, optionally within one namespace.
    pub(crate) fn list(&self, storage: &GroupResource, namespace: Option<&str>) -> Vec<Arc<Value>> {
        self.range(storage, namespace, None).cloned().collect()
    }

    /// Objects of a resource in key order, optionally within one namespace, starting after
    /// `after`: a page of a list is read without going through the objects before it.
    pub(crate) fn range<'a>(
        &'a self,
        storage: &GroupResource,
        namespace: Option<&'a str>,
        after: Option<&ObjectKey>,
    ) -> impl Iterator<Item = &'a Arc<Value>> + 'a {
        let first = namespace.map(|ns| (ns.to_string(), String::new()));
        let start = match (after, first) {
            (Some(a), Some(f)) if *a < f => Bound::Included(f),
            (Some(a), _) => Bound::Excluded(a.clone()),
            (None, Some(f)) => Bound::Included(f),
            (None, None) => Bound::Unbounded,
        };
        self.objects
            .get(storage)
            .into_iter()
            .flat_map(move |objects| objects.range((start.clone(), Bound::Unbounded)))
            .take_while(move |((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, v)| v)
    }

    #[cfg(test)]
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
        self.index.replace(
            &(storage.clone(), key.clone()),
            previous.as_deref(),
            Some(&object),
        );
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
        self.index
            .replace(&(storage.clone(), key.clone()), Some(&previous), None);
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
        let size = approximate_size(&object) + previous.as_deref().map_or(0, approximate_size);
        let change = Arc::new(Change {
            rv: self.rv,
            storage: storage.clone(),
            namespace,
            kind,
            object,
            previous,
            size,
        });
        self.history_bytes += change.size;
        self.history.push_back(change.clone());
        while self.history.len() > self.history_limit.changes
            || self.history_bytes > self.history_limit.bytes
        {
            let Some(dropped) = self.history.pop_front() else {
                break;
            };
            self.history_bytes -= dropped.size;
            self.oldest_watchable = dropped.rv;
        }
        // No channel or no receivers is fine: nobody is watching.
        if let Some(tx) = self.tx.get(&change.storage) {
            let _ = tx.send(change);
        }
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
        self.history_bytes = 0;
        self.oldest_watchable = self.rv;
    }
}

/// Roughly the memory a JSON value takes, allocations included. It only has to be
/// proportionate, for the history's size bound.
pub(crate) fn approximate_size(v: &Value) -> usize {
    std::mem::size_of::<Value>() + heap_size(v)
}

/// What a value holds beyond its own slot: string bytes, array slots, and per map entry
/// its bucket (hash, key, value), hash index and key bytes; each allocation counts a
/// header.
fn heap_size(v: &Value) -> usize {
    const ALLOC: usize = 16;
    const SLOT: usize = std::mem::size_of::<Value>();
    const BUCKET: usize = 8 + std::mem::size_of::<String>() + SLOT;
    const INDEX: usize = 16;
    match v {
        Value::String(s) if s.is_empty() => 0,
        Value::String(s) => ALLOC + s.len(),
        Value::Array(items) => ALLOC + items.iter().map(|i| SLOT + heap_size(i)).sum::<usize>(),
        Value::Object(map) => {
            2 * ALLOC
                + map
                    .iter()
                    .map(|(k, v)| BUCKET + INDEX + ALLOC + k.len() + heap_size(v))
                    .sum::<usize>()
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
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
        let mut store = Store::new(HistoryLimit {
            changes: 100,
            bytes: usize::MAX,
        });
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
    fn ranges_start_after_a_key_and_stay_in_their_namespace() {
        let gr = GroupResource::new("", "configmaps");
        let mut store = Store::new(HistoryLimit {
            changes: 100,
            bytes: usize::MAX,
        });
        for (ns, name) in [("a", "1"), ("a", "2"), ("b", "1"), ("b", "2"), ("c", "1")] {
            store.put(&gr, cm(ns, name));
        }
        let names = |after: Option<(&str, &str)>, ns: Option<&str>| -> Vec<String> {
            let after = after.map(|(n, m)| (n.to_string(), m.to_string()));
            store
                .range(&gr, ns, after.as_ref())
                .map(|o| {
                    format!(
                        "{}/{}",
                        o["metadata"]["namespace"].as_str().unwrap(),
                        o["metadata"]["name"].as_str().unwrap()
                    )
                })
                .collect()
        };
        assert_eq!(names(None, Some("b")), ["b/1", "b/2"]);
        assert_eq!(names(Some(("b", "1")), Some("b")), ["b/2"]);
        assert_eq!(names(Some(("a", "9")), Some("b")), ["b/1", "b/2"]);
        assert_eq!(names(Some(("b", "2")), Some("b")), Vec::<String>::new());
        assert_eq!(names(Some(("a", "2")), None), ["b/1", "b/2", "c/1"]);
        assert_eq!(store.list(&gr, None).len(), 5);
    }

    #[test]
    fn history_is_bounded_by_size_too() {
        let gr = GroupResource::new("", "configmaps");
        let mut store = Store::new(HistoryLimit {
            changes: 1000,
            bytes: usize::MAX,
        });
        let start = store.resource_version();
        let one = approximate_size(&store.put(&gr, cm("a", "c00")));
        store.history_limit.bytes = 10 * one;
        for i in 1..40 {
            store.put(&gr, cm("a", &format!("c{i:02}")));
        }
        assert!(store.changes_since(start).is_none());
        // Later objects carry longer resourceVersions, so nine or ten fit.
        assert!((9..=10).contains(&store.history.len()));
        let sum: usize = store.history.iter().map(|c| c.size).sum();
        assert_eq!(store.history_bytes, sum);
        assert!(sum <= 10 * one);
        let oldest = store.history.front().unwrap().rv;
        assert!(store.changes_since(oldest - 1).is_some());
        assert!(store.changes_since(oldest - 2).is_none());
    }

    #[test]
    fn compaction_makes_old_versions_unwatchable() {
        let gr = GroupResource::new("", "configmaps");
        let mut store = Store::new(HistoryLimit {
            changes: 2,
            bytes: usize::MAX,
        });
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

    #[test]
    fn a_burst_of_one_resource_leaves_other_watchers_behind_nothing() {
        let configmaps = GroupResource::new("", "configmaps");
        let secrets = GroupResource::new("", "secrets");
        let mut store = Store::new(HistoryLimit {
            changes: 100,
            bytes: usize::MAX,
        });
        let mut cm_watch = store.subscribe(&configmaps);
        let mut secret_watch = store.subscribe(&secrets);
        for i in 0..WATCH_QUEUE + 10 {
            store.put(&configmaps, cm("a", &format!("c{i}")));
        }
        store.put(&secrets, cm("a", "s"));
        assert!(matches!(
            cm_watch.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
        let change = secret_watch
            .try_recv()
            .expect("the Secret's change, and only it");
        assert_eq!(change.storage, secrets);
        assert!(secret_watch.try_recv().is_err());
    }
}
