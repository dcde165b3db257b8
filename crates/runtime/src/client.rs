//! Kubernetes clients: in-cluster or kubeconfig (as kube-rs infers it), or a named context
//! of a kubeconfig file (the federation manager reaches each data plane that way).

use std::{collections::HashMap, sync::Arc};

use anyhow::Context;
use kube::{ResourceExt, runtime::reflector::ObjectRef};

/// The client a binary uses for its own cluster: `KUBECONFIG`/`~/.kube/config`, else
/// the in-cluster service account.
pub async fn default_client() -> anyhow::Result<kube::Client> {
    kube::Client::try_default()
        .await
        .context("building a Kubernetes client (kubeconfig or in-cluster)")
}

/// A client for `context` in the kubeconfig at `path`.
pub async fn context_client(path: &std::path::Path, context: &str) -> anyhow::Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    let options = kube::config::KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| format!("kubeconfig context {context:?}"))?;
    kube::Client::try_from(config).context("building a Kubernetes client")
}

/// An API of `K` in the watched namespace, or in all of them.
pub fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> kube::Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => kube::Api::namespaced(client.clone(), ns),
        None => kube::Api::all(client.clone()),
    }
}

/// The annotation `kubectl apply` keeps the whole applied object in; no controller of ours
/// reads it.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What a cached object keeps: everything but `managedFields` and the `kubectl apply`
/// copy, which no decision reads and which are most of a small object's size. Writes are
/// merge patches of named fields, so what the cache lacks is never written back.
pub fn trim<K: kube::Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// A controller of `K` whose cache holds [`trim`]med objects: `Controller::new`'s watch,
/// with the default backoff when the watch fails, and with every object of a (re)list
/// reconciled once the list is complete.
///
/// kube-runtime's own trigger asks for each listed object as it arrives, but its store
/// swaps the new list in only at the end, and the controller drops a request for an object
/// its store does not hold. After a watch expires (410) and the watcher lists again, every
/// object created meanwhile would wait for its next change: a Backup created then would not
/// be started. Here the objects of a list are asked for once the store holds them, and of a
/// re-list only those new or changed since the store last held them: the others were asked
/// for when their last change arrived, and asking again would queue every object the
/// controller holds (10,000 Backups) ahead of the next new one.
pub fn trimmed_controller<K>(
    api: kube::Api<K>,
    config: kube::runtime::watcher::Config,
) -> kube::runtime::Controller<K>
where
    K: kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Unpin,
{
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, reflector, watcher};
    let (reader, writer) = reflector::store();
    let mut triggers = Triggers::new(reader.clone());
    let objects = watcher(api, config)
        .default_backoff()
        .modify(trim)
        .reflect(writer)
        .flat_map(move |event| futures::stream::iter(triggers.on(event)))
        // One copy at a time as the controller takes them, not a list's worth at once.
        .map(|trigger| trigger.map(Arc::unwrap_or_clone));
    kube::runtime::Controller::for_stream(objects, reader)
}

/// The objects each watch event asks to reconcile, given the store that has already taken
/// the event in.
struct Triggers<K>
where
    K: kube::Resource + 'static,
    K::DynamicType: Eq + std::hash::Hash,
{
    store: kube::runtime::reflector::Store<K>,
    /// While a list is read: the resourceVersion of each object the store held before it.
    before: Option<HashMap<ObjectRef<K>, Option<String>>>,
}

impl<K> Triggers<K>
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    fn new(store: kube::runtime::reflector::Store<K>) -> Self {
        Triggers {
            store,
            before: None,
        }
    }

    fn on(
        &mut self,
        event: Result<kube::runtime::watcher::Event<K>, kube::runtime::watcher::Error>,
    ) -> Vec<Result<Arc<K>, kube::runtime::watcher::Error>> {
        use kube::runtime::watcher::Event;
        match event {
            Ok(Event::Apply(obj)) => vec![Ok(Arc::new(obj))],
            // The store still holds what the previous list and changes left in it.
            Ok(Event::Init) => {
                let versions = self
                    .store
                    .state()
                    .iter()
                    .map(|o| (ObjectRef::from_obj(o.as_ref()), o.resource_version()))
                    .collect();
                self.before = Some(versions);
                Vec::new()
            }
            Ok(Event::InitDone) => {
                let before = self.before.take().unwrap_or_default();
                self.store
                    .state()
                    .into_iter()
                    .filter(|o| {
                        before.get(&ObjectRef::from_obj(o.as_ref())) != Some(&o.resource_version())
                    })
                    .map(Ok)
                    .collect()
            }
            // A deletion is the finalizer's business: the object is gone from the store.
            Ok(Event::InitApply(_) | Event::Delete(_)) => Vec::new(),
            Err(e) => vec![Err(e)],
        }
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

    use super::*;

    /// The names a batch of triggers asks for, sorted.
    fn names(triggers: Vec<Result<Arc<ConfigMap>, kube::runtime::watcher::Error>>) -> Vec<String> {
        let mut names: Vec<String> = triggers
            .into_iter()
            .map(|t| t.expect("no error").name_any())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_list_asks_for_every_object_and_a_relist_for_the_new_and_changed_only() {
        use kube::runtime::{reflector, watcher::Event};
        let (reader, mut writer) = reflector::store::<ConfigMap>();
        let mut triggers = Triggers::new(reader);
        let mut feed = |event: Event<ConfigMap>| {
            writer.apply_watcher_event(&event);
            names(triggers.on(Ok(event)))
        };
        let cm = |name: &str, rv: &str| {
            let mut cm = ConfigMap::default();
            cm.metadata.name = Some(name.into());
            cm.metadata.namespace = Some("ns".into());
            cm.metadata.resource_version = Some(rv.into());
            cm
        };
        let none: Vec<String> = Vec::new();
        assert_eq!(feed(Event::Init), none);
        assert_eq!(feed(Event::InitApply(cm("a", "1"))), none);
        assert_eq!(feed(Event::InitApply(cm("b", "1"))), none);
        assert_eq!(feed(Event::InitDone), ["a", "b"]);
        assert_eq!(feed(Event::Apply(cm("a", "2"))), ["a"]);
        // The watch expired; meanwhile b changed and c was created: a was asked for already.
        assert_eq!(feed(Event::Init), none);
        assert_eq!(feed(Event::InitApply(cm("a", "2"))), none);
        assert_eq!(feed(Event::InitApply(cm("b", "3"))), none);
        assert_eq!(feed(Event::InitApply(cm("c", "4"))), none);
        assert_eq!(feed(Event::InitDone), ["b", "c"]);
    }

    #[test]
    fn trim_drops_managed_fields_and_the_applied_copy_only() {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some("b".into());
        cm.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some("kubectl".into()),
            ..ManagedFieldsEntry::default()
        }]);
        cm.metadata.annotations = Some(
            [
                (LAST_APPLIED.to_string(), "{\"big\":true}".to_string()),
                ("keep".to_string(), "me".to_string()),
            ]
            .into(),
        );
        cm.data = Some([("k".to_string(), "v".to_string())].into());
        trim(&mut cm);
        assert_eq!(cm.metadata.managed_fields, None);
        let annotations = cm.metadata.annotations.unwrap();
        assert_eq!(annotations.len(), 1);
        assert_eq!(annotations["keep"], "me");
        assert_eq!(cm.metadata.name.as_deref(), Some("b"));
        assert_eq!(cm.data.unwrap()["k"], "v");
    }
}
