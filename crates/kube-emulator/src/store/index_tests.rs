use serde_json::{Value, json};

use super::super::{HistoryLimit, Store};
use super::*;

fn store() -> Store {
    Store::new(HistoryLimit {
        changes: 1000,
        bytes: usize::MAX,
    })
}

fn pods() -> GroupResource {
    GroupResource::new("", "pods")
}

fn obj(ns: &str, name: &str, uid: &str, owners: &[(&str, bool)]) -> Value {
    let refs: Vec<Value> = owners
        .iter()
        .map(|(uid, block)| json!({"apiVersion": "v1", "kind": "Pod", "name": "o", "uid": uid, "blockOwnerDeletion": block}))
        .collect();
    json!({"metadata": {"namespace": ns, "name": name, "uid": uid, "ownerReferences": refs}})
}

fn loc(ns: &str, name: &str) -> Location {
    (pods(), (ns.to_string(), name.to_string()))
}

fn missing(store: &Store) -> Vec<String> {
    store.index().missing_owners().cloned().collect()
}

fn dependents(store: &Store, uid: &str) -> Vec<Location> {
    store.index().dependents(uid).cloned().collect()
}

/// The index a store would have if every object it holds had just been written.
fn rebuilt(store: &Store) -> Index {
    let mut index = Index::default();
    for storage in store.storages() {
        for o in store.list(&storage, None) {
            index.replace(&(storage.clone(), super::super::key_of(&o)), None, Some(&o));
        }
    }
    index
}

#[test]
fn owners_are_missing_until_stored_and_again_once_removed() {
    let mut s = store();
    s.put(&pods(), obj("a", "dep", "d1", &[("o1", false)]));
    assert_eq!(missing(&s), vec!["o1"]);
    assert_eq!(dependents(&s, "o1"), vec![loc("a", "dep")]);
    assert!(s.index().referenced("o1"));

    s.put(&pods(), obj("a", "owner", "o1", &[]));
    assert!(missing(&s).is_empty());
    assert_eq!(s.index().location("o1"), Some(&loc("a", "owner")));

    s.remove(&pods(), "a", "owner");
    assert_eq!(missing(&s), vec!["o1"]);
    assert_eq!(s.index().location("o1"), None);

    // Dropping the reference forgets the owner altogether.
    s.put(&pods(), obj("a", "dep", "d1", &[]));
    assert!(missing(&s).is_empty());
    assert!(dependents(&s, "o1").is_empty());
    assert!(!s.index().referenced("o1"));
}

#[test]
fn blocking_follows_each_reference() {
    let mut s = store();
    s.put(&pods(), obj("a", "owner", "o1", &[]));
    s.put(&pods(), obj("a", "d1", "d1", &[("o1", true)]));
    s.put(&pods(), obj("a", "d2", "d2", &[("o1", true)]));
    assert!(s.index().blocked("o1"));
    s.put(&pods(), obj("a", "d1", "d1", &[("o1", false)]));
    assert!(s.index().blocked("o1"), "d2 still blocks");
    s.remove(&pods(), "a", "d2");
    assert!(!s.index().blocked("o1"));
    assert!(s.index().referenced("o1"), "d1 still references it");
    assert_eq!(dependents(&s, "o1"), vec![loc("a", "d1")]);
}

#[test]
fn finalizing_and_deleting_follow_metadata() {
    let mut s = store();
    let mut owner = obj("a", "owner", "o1", &[]);
    s.put(&pods(), owner.clone());
    assert_eq!(s.index().finalizing().count(), 0);
    owner["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    owner["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
    s.put(&pods(), owner.clone());
    assert_eq!(
        s.index().finalizing().cloned().collect::<Vec<_>>(),
        vec![loc("a", "owner")]
    );
    assert_eq!(s.index().deleting(&pods()).count(), 1);
    owner["metadata"]["finalizers"] = json!(["example.com/hold"]);
    s.put(&pods(), owner);
    assert_eq!(s.index().finalizing().count(), 0);
    assert_eq!(s.index().deleting(&pods()).count(), 1);
    s.remove(&pods(), "a", "owner");
    assert_eq!(s.index().deleting(&pods()).count(), 0);
}

#[test]
fn counts_by_namespace_and_resource() {
    let mut s = store();
    let mut held = obj("a", "x", "x", &[]);
    held["metadata"]["finalizers"] = json!(["example.com/hold"]);
    s.put(&pods(), held.clone());
    s.put(&pods(), obj("a", "y", "y", &[]));
    s.put(&pods(), obj("b", "z", "z", &[]));
    let a = s.index().namespace_counts("a", &pods()).unwrap();
    assert_eq!((a.objects, a.live), (2, 2));
    assert_eq!(a.finalizers.get("example.com/hold"), Some(&1));
    assert_eq!(s.index().resource_counts(&pods()).unwrap().objects, 3);

    held["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    s.put(&pods(), held);
    let a = s.index().namespace_counts("a", &pods()).unwrap();
    assert_eq!((a.objects, a.live), (2, 1));

    s.remove(&pods(), "a", "x");
    s.remove(&pods(), "a", "y");
    assert_eq!(s.index().namespace_counts("a", &pods()), None);
    assert_eq!(s.index().resource_counts(&pods()).unwrap().objects, 1);
}

/// Any sequence of writes leaves the index as it would be built from scratch.
#[test]
fn index_matches_a_rebuild_after_every_write() {
    let mut s = store();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for step in 0..2000 {
        let ns = ["a", "b"][next(2) as usize];
        let name = format!("o{}", next(12));
        if next(4) == 0 {
            s.remove(&pods(), ns, &name);
        } else {
            let owners: Vec<(String, bool)> = (0..next(3))
                .map(|_| {
                    (
                        format!("{}-o{}", ["a", "b"][next(2) as usize], next(12)),
                        next(2) == 0,
                    )
                })
                .collect();
            let owners: Vec<(&str, bool)> = owners.iter().map(|(u, b)| (u.as_str(), *b)).collect();
            let mut o = obj(ns, &name, &format!("{ns}-{name}"), &owners);
            if next(3) == 0 {
                o["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
            }
            let fins = [
                ["orphan"].as_slice(),
                &["foregroundDeletion", "x"],
                &[],
                &["x", "x"],
            ];
            o["metadata"]["finalizers"] = json!(fins[next(4) as usize]);
            s.put(&pods(), o);
        }
        assert!(*s.index() == rebuilt(&s), "index differs after step {step}");
    }
}
