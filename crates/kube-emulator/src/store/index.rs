//! What the garbage collector, the namespace lifecycle and CRD cleanup need to know about
//! the stored objects, kept up to date on every write so that their passes read it
//! instead of walking the store: the owner references (who depends on whom, which
//! references block deletion, which owners are gone), the objects being deleted, and how
//! many objects, live objects and finalizers each namespace and resource holds.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::ObjectKey;
use crate::registry::GroupResource;

/// Where an object is stored.
pub(crate) type Location = (GroupResource, ObjectKey);

/// Objects of one resource in one namespace (or cluster-wide).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) objects: usize,
    /// Objects without a deletionTimestamp.
    pub(crate) live: usize,
    /// Each finalizer and how many times objects list it.
    pub(crate) finalizers: BTreeMap<String, usize>,
}

#[derive(Debug, Default, PartialEq)]
pub(crate) struct Index {
    uids: HashMap<String, Location>,
    /// Owner uid to the objects whose ownerReferences name it (whether it exists or not).
    dependents: HashMap<String, BTreeSet<Location>>,
    /// Owner uid to how many ownerReferences to it set blockOwnerDeletion.
    blocking: HashMap<String, usize>,
    /// Uids that ownerReferences name but no stored object has.
    missing: BTreeSet<String>,
    /// Objects being deleted that wait on `orphan` or `foregroundDeletion`.
    finalizing: BTreeSet<Location>,
    /// Objects with a deletionTimestamp, by resource.
    deleting: HashMap<GroupResource, BTreeSet<ObjectKey>>,
    /// Counts by resource, over all namespaces.
    by_resource: HashMap<GroupResource, Counts>,
    /// Counts by namespace, then resource (namespaced objects only).
    by_namespace: HashMap<String, HashMap<GroupResource, Counts>>,
}

/// The parts of an object the index keeps, read once.
struct Facts<'a> {
    uid: Option<&'a str>,
    deleting: bool,
    finalizers: Vec<&'a str>,
    /// (owner uid, blockOwnerDeletion) per reference; an absent uid reads as `""`.
    owners: Vec<(&'a str, bool)>,
}

impl<'a> Facts<'a> {
    fn of(obj: &'a Value) -> Facts<'a> {
        let meta = &obj["metadata"];
        let list = |field: &str| meta[field].as_array().map(Vec::as_slice).unwrap_or(&[]);
        Facts {
            uid: meta["uid"].as_str(),
            deleting: !meta["deletionTimestamp"].is_null(),
            finalizers: list("finalizers")
                .iter()
                .filter_map(Value::as_str)
                .collect(),
            owners: list("ownerReferences")
                .iter()
                .map(|r| {
                    (
                        r["uid"].as_str().unwrap_or_default(),
                        r["blockOwnerDeletion"].as_bool() == Some(true),
                    )
                })
                .collect(),
        }
    }

    fn finalizing(&self) -> bool {
        self.deleting
            && self
                .finalizers
                .iter()
                .any(|f| *f == "orphan" || *f == "foregroundDeletion")
    }
}

impl Index {
    /// Records that `new` replaced `old` at `loc` (either may be absent).
    pub(crate) fn replace(&mut self, loc: &Location, old: Option<&Value>, new: Option<&Value>) {
        let old = old.map(Facts::of);
        let new = new.map(Facts::of);
        let mut touched: Vec<&str> = Vec::new();
        if let Some(f) = &old {
            self.forget(loc, f);
            touched.extend(f.owners.iter().map(|(uid, _)| *uid));
            touched.extend(f.uid);
        }
        if let Some(f) = &new {
            self.add(loc, f);
            touched.extend(f.owners.iter().map(|(uid, _)| *uid));
            touched.extend(f.uid);
        }
        for uid in touched {
            if self.dependents.contains_key(uid) && !self.uids.contains_key(uid) {
                self.missing.insert(uid.to_string());
            } else {
                self.missing.remove(uid);
            }
        }
    }

    fn add(&mut self, loc: &Location, f: &Facts) {
        if let Some(uid) = f.uid {
            self.uids.insert(uid.to_string(), loc.clone());
        }
        for (owner, blocks) in &f.owners {
            self.dependents
                .entry(owner.to_string())
                .or_default()
                .insert(loc.clone());
            if *blocks {
                *self.blocking.entry(owner.to_string()).or_default() += 1;
            }
        }
        if f.finalizing() {
            self.finalizing.insert(loc.clone());
        }
        if f.deleting {
            self.deleting
                .entry(loc.0.clone())
                .or_default()
                .insert(loc.1.clone());
        }
        for counts in self.counts(loc) {
            counts.objects += 1;
            counts.live += usize::from(!f.deleting);
            for fin in &f.finalizers {
                *counts.finalizers.entry(fin.to_string()).or_default() += 1;
            }
        }
    }

    fn forget(&mut self, loc: &Location, f: &Facts) {
        if let Some(uid) = f.uid
            && self.uids.get(uid) == Some(loc)
        {
            self.uids.remove(uid);
        }
        for (owner, blocks) in &f.owners {
            if let Some(set) = self.dependents.get_mut(*owner) {
                set.remove(loc);
                if set.is_empty() {
                    self.dependents.remove(*owner);
                }
            }
            if *blocks && let Some(n) = self.blocking.get_mut(*owner) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.blocking.remove(*owner);
                }
            }
        }
        self.finalizing.remove(loc);
        if let Some(keys) = self.deleting.get_mut(&loc.0) {
            keys.remove(&loc.1);
            if keys.is_empty() {
                self.deleting.remove(&loc.0);
            }
        }
        for counts in self.counts(loc) {
            counts.objects = counts.objects.saturating_sub(1);
            counts.live = counts.live.saturating_sub(usize::from(!f.deleting));
            for fin in &f.finalizers {
                if let Some(n) = counts.finalizers.get_mut(*fin) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        counts.finalizers.remove(*fin);
                    }
                }
            }
        }
        self.drop_empty_counts(loc);
    }

    /// The counts `loc` belongs to: its resource's, and its namespace's when it has one.
    fn counts(&mut self, loc: &Location) -> impl Iterator<Item = &mut Counts> {
        let resource = self.by_resource.entry(loc.0.clone()).or_default();
        let namespace = (!loc.1.0.is_empty()).then(|| {
            self.by_namespace
                .entry(loc.1.0.clone())
                .or_default()
                .entry(loc.0.clone())
                .or_default()
        });
        std::iter::once(resource).chain(namespace)
    }

    /// So that a namespace or resource that emptied leaves nothing behind.
    fn drop_empty_counts(&mut self, loc: &Location) {
        if self.by_resource.get(&loc.0).is_some_and(|c| c.objects == 0) {
            self.by_resource.remove(&loc.0);
        }
        if let Some(resources) = self.by_namespace.get_mut(&loc.1.0) {
            if resources.get(&loc.0).is_some_and(|c| c.objects == 0) {
                resources.remove(&loc.0);
            }
            if resources.is_empty() {
                self.by_namespace.remove(&loc.1.0);
            }
        }
    }

    pub(crate) fn location(&self, uid: &str) -> Option<&Location> {
        self.uids.get(uid)
    }

    /// Objects whose ownerReferences name `uid`.
    pub(crate) fn dependents(&self, uid: &str) -> impl Iterator<Item = &Location> {
        self.dependents.get(uid).into_iter().flatten()
    }

    /// Whether any ownerReference names `uid`.
    pub(crate) fn referenced(&self, uid: &str) -> bool {
        self.dependents.contains_key(uid)
    }

    /// Whether any ownerReference to `uid` sets blockOwnerDeletion.
    pub(crate) fn blocked(&self, uid: &str) -> bool {
        self.blocking.contains_key(uid)
    }

    /// Owner uids that references name and no stored object has.
    pub(crate) fn missing_owners(&self) -> impl Iterator<Item = &String> {
        self.missing.iter()
    }

    /// Objects being deleted that wait on `orphan` or `foregroundDeletion`.
    pub(crate) fn finalizing(&self) -> impl Iterator<Item = &Location> {
        self.finalizing.iter()
    }

    /// Keys of the objects of `storage` that have a deletionTimestamp.
    pub(crate) fn deleting(&self, storage: &GroupResource) -> impl Iterator<Item = &ObjectKey> {
        self.deleting.get(storage).into_iter().flatten()
    }

    pub(crate) fn resource_counts(&self, storage: &GroupResource) -> Option<&Counts> {
        self.by_resource.get(storage)
    }

    /// Counts of the objects of `storage` in `namespace`.
    pub(crate) fn namespace_counts(
        &self,
        namespace: &str,
        storage: &GroupResource,
    ) -> Option<&Counts> {
        self.by_namespace.get(namespace)?.get(storage)
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
