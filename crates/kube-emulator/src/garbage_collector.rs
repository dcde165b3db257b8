//! The control-plane loops the emulator runs itself: the garbage collector (owner
//! references, with background, foreground and orphan propagation), the namespace
//! lifecycle (a terminating namespace empties itself, then goes), and CRD cleanup (a
//! deleted CRD takes its objects with it).
//!
//! Each pass runs under the cluster lock and performs ordinary deletes and updates, so
//! finalizers, events and watches behave as for client writes. A pass runs after every
//! write, so it must not cost more as the store grows: it reads the store's index (see
//! `store::index`) to find the few objects that can need something (dependents of
//! missing or finalizing owners, objects being deleted) instead of walking them all.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{
    cluster::{Cluster, State, now},
    hooks::CRD_CLEANUP_FINALIZER,
    ops::{self, DeleteOptions, Propagation, WriteOptions, finalizers},
    registry::{GroupResource, ResourceType},
    store::Location,
};

const MANAGER: &str = "kube-controller-manager";

pub(crate) async fn run(cluster: Arc<Cluster>) {
    let mut shutdown = cluster.shutdown.subscribe();
    loop {
        for _ in 0..50 {
            let changed = {
                let mut state = cluster.lock();
                pass(&mut state, now())
            };
            if !changed {
                break;
            }
            cluster.notify_changed();
        }
        tokio::select! {
            _ = cluster.changed.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One pass over everything; true when it changed something.
pub(crate) fn pass(state: &mut State, now: Timestamp) -> bool {
    let mut changed = collect_dependents(state, now);
    changed |= finish_owners(state, now);
    changed |= drain_namespaces(state, now);
    changed |= drain_crds(state, now);
    changed
}

fn type_of(state: &State, storage: &GroupResource) -> Option<Arc<ResourceType>> {
    state.registry.for_storage(storage)
}

fn deleting(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

fn name_ns(obj: &Value) -> (String, String) {
    let (ns, name) = super::store::key_of(obj);
    (name, ns)
}

fn delete_object(
    state: &mut State,
    storage: &GroupResource,
    obj: &Value,
    propagation: Propagation,
    now: Timestamp,
) -> bool {
    let Some(rt) = type_of(state, storage) else {
        return false;
    };
    let (name, ns) = name_ns(obj);
    let opts = DeleteOptions {
        propagation: Some(propagation),
        precondition_uid: obj["metadata"]["uid"].as_str().map(str::to_string),
        ..DeleteOptions::default()
    };
    let namespace = (!ns.is_empty()).then_some(ns.as_str());
    ops::delete(state, &rt, namespace, &name, &opts, now).is_ok()
}

/// Rewrites an object's metadata through a normal update.
fn update_meta(
    state: &mut State,
    storage: &GroupResource,
    obj: &Value,
    edit: impl FnOnce(&mut Value),
    now: Timestamp,
) -> bool {
    let Some(rt) = type_of(state, storage) else {
        return false;
    };
    let (name, ns) = name_ns(obj);
    let mut updated = obj.clone();
    edit(&mut updated);
    let namespace = (!ns.is_empty()).then_some(ns.as_str());
    ops::update(
        state,
        &rt,
        namespace,
        &name,
        updated,
        &WriteOptions::internal(MANAGER, now),
    )
    .is_ok()
}

fn without_finalizer(obj: &mut Value, finalizer: &str) {
    let rest: Vec<String> = finalizers(obj)
        .into_iter()
        .filter(|f| f != finalizer)
        .collect();
    obj["metadata"]["finalizers"] = json!(rest);
}

/// Objects that may need collecting: the dependents of owners that are gone and of owners
/// being deleted with `orphan` or `foregroundDeletion`. Objects outside this set have
/// every owner present and not propagating, so `collect_dependents` would leave them be.
fn collect_candidates(state: &State) -> BTreeSet<Location> {
    let index = state.store.index();
    let mut owners: Vec<&str> = index.missing_owners().map(String::as_str).collect();
    let finalizing: Vec<Arc<Value>> = index
        .finalizing()
        .filter_map(|loc| state.store.at(loc))
        .collect();
    owners.extend(
        finalizing
            .iter()
            .filter_map(|o| o["metadata"]["uid"].as_str()),
    );
    owners
        .into_iter()
        .flat_map(|uid| index.dependents(uid).cloned())
        .collect()
}

/// Dependents whose owners are gone are deleted (or lose the dangling reference when
/// another owner remains); dependents of foreground-deleting owners are deleted; orphaning
/// owners have their references removed from dependents.
fn collect_dependents(state: &mut State, now: Timestamp) -> bool {
    let mut changed = false;
    for loc in collect_candidates(state) {
        let Some(obj) = state.store.at(&loc) else {
            continue;
        };
        let storage = loc.0;
        let Some(refs) = obj["metadata"]["ownerReferences"]
            .as_array()
            .filter(|r| !r.is_empty())
            .cloned()
        else {
            continue;
        };
        let mut keep = Vec::new();
        let mut foreground_owner = false;
        let mut orphaned = false;
        for r in &refs {
            let uid = r["uid"].as_str().unwrap_or_default();
            let Some((_, owner)) = state.store.by_uid(uid) else {
                continue;
            };
            let owner_finalizers = finalizers(&owner);
            if deleting(&owner) && owner_finalizers.iter().any(|f| f == "orphan") {
                orphaned = true;
                continue;
            }
            if deleting(&owner) && owner_finalizers.iter().any(|f| f == "foregroundDeletion") {
                foreground_owner = true;
            }
            keep.push(r.clone());
        }
        // Only a dependent whose every owner is gone is collected; one released by an
        // orphaning owner survives without that reference.
        if keep.is_empty() && !orphaned {
            if !deleting(&obj) {
                changed |= delete_object(state, &storage, &obj, Propagation::Background, now);
            }
        } else if foreground_owner && !deleting(&obj) {
            changed |= delete_object(state, &storage, &obj, Propagation::Foreground, now);
        } else if keep.len() != refs.len() {
            changed |= update_meta(
                state,
                &storage,
                &obj,
                |o| o["metadata"]["ownerReferences"] = json!(keep),
                now,
            );
        }
    }
    changed
}

/// Owners waiting in foreground deletion finish once no blocking dependent remains;
/// orphaning owners finish once no dependent references them.
fn finish_owners(state: &mut State, now: Timestamp) -> bool {
    let owners: Vec<Location> = state.store.index().finalizing().cloned().collect();
    let mut changed = false;
    for loc in owners {
        let Some(obj) = state.store.at(&loc) else {
            continue;
        };
        let uid = obj["metadata"]["uid"].as_str().unwrap_or_default();
        let index = state.store.index();
        let (blocked, referenced) = (index.blocked(uid), index.referenced(uid));
        let f = finalizers(&obj);
        if f.iter().any(|x| x == "foregroundDeletion") && !blocked {
            changed |= update_meta(
                state,
                &loc.0,
                &obj,
                |o| without_finalizer(o, "foregroundDeletion"),
                now,
            );
        } else if f.iter().any(|x| x == "orphan") && !referenced {
            changed |= update_meta(state, &loc.0, &obj, |o| without_finalizer(o, "orphan"), now);
        }
    }
    changed
}

fn drain_namespaces(state: &mut State, now: Timestamp) -> bool {
    let ns_storage = GroupResource::new("", "namespaces");
    let terminating: Vec<Arc<Value>> = state
        .store
        .index()
        .deleting(&ns_storage)
        .filter_map(|key| state.store.get(&ns_storage, &key.0, &key.1))
        .collect();
    let mut changed = false;
    for ns in terminating {
        let name = ns["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut remaining: Vec<(String, usize)> = Vec::new();
        let mut held: BTreeMap<String, usize> = BTreeMap::new();
        let mut live = Vec::new();
        for storage in state.registry.namespaced_storages() {
            let Some(counts) = state.store.index().namespace_counts(&name, &storage) else {
                continue;
            };
            let label = super::error::group_resource(&storage.group, &storage.resource);
            remaining.push((label, counts.objects));
            for (f, n) in &counts.finalizers {
                *held.entry(f.clone()).or_default() += n;
            }
            if counts.live > 0 {
                live.push(storage);
            }
        }
        // Only resources with objects not yet deleting are listed: once deletion has
        // started everywhere, a pass reads the counts alone.
        for storage in live {
            for obj in state.store.list(&storage, Some(&name)) {
                if !deleting(&obj) {
                    changed |= delete_object(state, &storage, &obj, Propagation::Background, now);
                }
            }
        }
        let held: Vec<(String, usize)> = held.into_iter().collect();
        let conditions = namespace_conditions(&remaining, &held, &ns, now);
        if remaining.is_empty() {
            let rt = type_of(state, &ns_storage).expect("namespaces are built in");
            let mut done = (*ns).clone();
            done["spec"]["finalizers"] = json!([]);
            done["status"]["conditions"] = conditions;
            let opts = WriteOptions::internal(MANAGER, now);
            changed |= ops::update(state, &rt, None, &name, done, &opts).is_ok();
        } else if ns["status"]["conditions"] != conditions {
            let rt = type_of(state, &ns_storage).expect("namespaces are built in");
            let mut body = (*ns).clone();
            body["status"]["conditions"] = conditions;
            let opts = WriteOptions::internal(MANAGER, now).status();
            changed |= ops::update(state, &rt, None, &name, body, &opts).is_ok();
        }
    }
    changed
}

/// The conditions `kubectl describe ns` shows while a namespace drains, saying what is
/// left and which finalizers hold it.
fn namespace_conditions(
    remaining: &[(String, usize)],
    held: &[(String, usize)],
    ns: &Value,
    now: Timestamp,
) -> Value {
    let prior = |kind: &str, status: &str| -> Value {
        ns["status"]["conditions"]
            .as_array()
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c["type"] == kind && c["status"] == status)
            })
            .map(|c| c["lastTransitionTime"].clone())
            .unwrap_or_else(|| json!(super::cluster::rfc3339(now)))
    };
    let content = if remaining.is_empty() {
        json!({"type": "NamespaceContentRemaining", "status": "False", "reason": "ContentDeleted",
               "message": "All content successfully removed", "lastTransitionTime": prior("NamespaceContentRemaining", "False")})
    } else {
        let parts: Vec<String> = remaining
            .iter()
            .map(|(r, n)| format!("{r} has {n} resource instances"))
            .collect();
        json!({"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain",
               "message": format!("Some resources are remaining: {}", parts.join(", ")),
               "lastTransitionTime": prior("NamespaceContentRemaining", "True")})
    };
    let finalizing = if held.is_empty() {
        json!({"type": "NamespaceFinalizersRemaining", "status": "False", "reason": "ContentHasNoFinalizers",
               "message": "All content-preserving finalizers finished", "lastTransitionTime": prior("NamespaceFinalizersRemaining", "False")})
    } else {
        let parts: Vec<String> = held
            .iter()
            .map(|(f, n)| format!("{f} in {n} resource instances"))
            .collect();
        json!({"type": "NamespaceFinalizersRemaining", "status": "True", "reason": "SomeFinalizersRemain",
               "message": format!("Some content in the namespace has finalizers remaining: {}", parts.join(", ")),
               "lastTransitionTime": prior("NamespaceFinalizersRemaining", "True")})
    };
    json!([content, finalizing])
}

fn drain_crds(state: &mut State, now: Timestamp) -> bool {
    let crd_storage = GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions");
    let deleting_crds: Vec<Arc<Value>> = state
        .store
        .index()
        .deleting(&crd_storage)
        .filter_map(|key| state.store.get(&crd_storage, &key.0, &key.1))
        .collect();
    let mut changed = false;
    for crd in deleting_crds {
        if !finalizers(&crd).iter().any(|f| f == CRD_CLEANUP_FINALIZER) {
            continue;
        }
        let group = crd["spec"]["group"].as_str().unwrap_or_default();
        let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default();
        let storage = GroupResource::new(group, plural);
        let counts = state
            .store
            .index()
            .resource_counts(&storage)
            .cloned()
            .unwrap_or_default();
        if counts.live > 0 {
            for obj in state.store.list(&storage, None) {
                if !deleting(&obj) {
                    changed |= delete_object(state, &storage, &obj, Propagation::Background, now);
                }
            }
        }
        if counts.objects == 0 {
            changed |= update_meta(
                state,
                &crd_storage,
                &crd,
                |o| without_finalizer(o, CRD_CLEANUP_FINALIZER),
                now,
            );
        }
    }
    changed
}
