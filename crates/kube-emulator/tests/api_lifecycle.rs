//! Conformance of deletion: finalizers (also through kube-rs's finalizer helper in a
//! running Controller), owner-reference garbage collection with each propagation policy,
//! namespace termination, CRD removal, and Events.

mod common;

use std::{sync::Arc, time::Duration};

use common::*;
use futures::StreamExt;
use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{ConfigMap, Event as CoreEvent, Namespace, Pod},
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{
        DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, PropagationPolicy,
    },
    runtime::{
        Controller,
        controller::Action,
        events::{Event, EventType, Recorder, Reporter},
        finalizer::{Event as Fin, finalizer},
        watcher,
    },
};
use serde_json::json;

fn cm_owned_by(name: &str, owners: &[(&str, &str, bool)]) -> ConfigMap {
    let refs: Vec<_> = owners
        .iter()
        .map(|(oname, uid, block)| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": oname, "uid": uid, "blockOwnerDeletion": block}))
        .collect();
    serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": refs}})).unwrap()
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
}

async fn gone<K>(api: &Api<K>, name: &str) -> bool
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    matches!(api.get(name).await, Err(kube::Error::Api(s)) if s.code == 404)
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let env = start().await;
    install_widgets(&env.client).await;
    let api = widgets(&env.client, "default");
    let mut w = widget("held", "small");
    w.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    api.create(&PostParams::default(), &w).await.unwrap();
    let pending = api.delete("held", &DeleteParams::default()).await.unwrap();
    let obj = pending.left().expect("deletion pending, object returned");
    assert!(obj.metadata.deletion_timestamp.is_some());
    let again = api.get("held").await.unwrap();
    assert!(again.metadata.deletion_timestamp.is_some());
    let err = api_error(
        api.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}}),
            ),
        )
        .await,
    );
    assert_eq!(
        err.code, 422,
        "no new finalizers while deleting: {}",
        err.message
    );
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(gone(&api, "held").await);
}

#[derive(Clone)]
struct Ctx {
    client: Client,
    cleaned: Arc<std::sync::Mutex<Vec<String>>>,
}

async fn reconcile(
    obj: Arc<DynamicObject>,
    ctx: Arc<Ctx>,
) -> Result<Action, kube::runtime::finalizer::Error<kube::Error>> {
    let api = widgets(&ctx.client, "default");
    finalizer(&api, "example.com/cleanup", obj, |event| async {
        match event {
            Fin::Apply(_) => Ok(Action::await_change()),
            Fin::Cleanup(o) => {
                ctx.cleaned.lock().unwrap().push(o.name_any());
                Ok(Action::await_change())
            }
        }
    })
    .await
}

#[tokio::test]
async fn kube_rs_finalizer_helper_runs_cleanup_in_a_controller() {
    let env = start().await;
    install_widgets(&env.client).await;
    let api = widgets(&env.client, "default");
    let ctx = Arc::new(Ctx {
        client: env.client.clone(),
        cleaned: Default::default(),
    });
    let controller =
        Controller::new_with(api.clone(), watcher::Config::default(), widget_resource())
            .run(
                reconcile,
                |_, _, _| Action::requeue(Duration::from_secs(1)),
                ctx.clone(),
            )
            .for_each(|_| async {});
    let handle = tokio::spawn(controller);
    api.create(&PostParams::default(), &widget("w", "small"))
        .await
        .unwrap();
    eventually(5, "finalizer added", || {
        let api = api.clone();
        async move {
            api.get("w")
                .await
                .ok()
                .filter(|o| !o.finalizers().is_empty())
        }
    })
    .await;
    api.delete("w", &DeleteParams::default()).await.unwrap();
    eventually(5, "object removed after cleanup", || {
        let api = api.clone();
        async move { gone(&api, "w").await.then_some(()) }
    })
    .await;
    assert_eq!(*ctx.cleaned.lock().unwrap(), vec!["w".to_string()]);
    handle.abort();
}

#[tokio::test]
async fn background_propagation_deletes_dependents() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner"))
        .await
        .unwrap();
    let uid = owner.uid().unwrap();
    api.create(
        &PostParams::default(),
        &cm_owned_by("child", &[("owner", &uid, false)]),
    )
    .await
    .unwrap();
    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    eventually(5, "child collected", || {
        let api = api.clone();
        async move { gone(&api, "child").await.then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn foreground_propagation_waits_for_blocking_dependents() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner"))
        .await
        .unwrap();
    let uid = owner.uid().unwrap();
    let mut child = cm_owned_by("child", &[("owner", &uid, true)]);
    child.metadata.finalizers = Some(vec!["example.com/slow".into()]);
    api.create(&PostParams::default(), &child).await.unwrap();
    api.delete("owner", &DeleteParams::foreground())
        .await
        .unwrap();
    let child = eventually(5, "child deletion started", || {
        let api = api.clone();
        async move {
            api.get("child")
                .await
                .ok()
                .filter(|c| c.metadata.deletion_timestamp.is_some())
        }
    })
    .await;
    let owner = api.get("owner").await.unwrap();
    assert!(
        owner
            .finalizers()
            .contains(&"foregroundDeletion".to_string()),
        "owner waits"
    );
    let _ = child;
    api.patch(
        "child",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually(5, "owner removed after its dependent", || {
        let api = api.clone();
        async move { gone(&api, "owner").await.then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn orphan_propagation_keeps_dependents() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let owner = api
        .create(&PostParams::default(), &cm("owner"))
        .await
        .unwrap();
    let other = api
        .create(&PostParams::default(), &cm("other"))
        .await
        .unwrap();
    let (uid, other_uid) = (owner.uid().unwrap(), other.uid().unwrap());
    api.create(
        &PostParams::default(),
        &cm_owned_by("orphan", &[("owner", &uid, false)]),
    )
    .await
    .unwrap();
    api.create(
        &PostParams::default(),
        &cm_owned_by(
            "shared",
            &[("owner", &uid, false), ("other", &other_uid, false)],
        ),
    )
    .await
    .unwrap();
    api.delete("owner", &DeleteParams::orphan()).await.unwrap();
    eventually(5, "owner gone", || {
        let api = api.clone();
        async move { gone(&api, "owner").await.then_some(()) }
    })
    .await;
    let orphan = api.get("orphan").await.unwrap();
    assert!(orphan.owner_references().is_empty());
    let shared = api.get("shared").await.unwrap();
    let left: Vec<String> = shared
        .owner_references()
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(left, vec!["other"]);
}

#[tokio::test]
async fn jobs_orphan_their_pods_by_default_through_batch_v1() {
    let env = start().await;
    let jobs: Api<Job> = Api::namespaced(env.client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), "default");
    for name in ["orphaning", "cascading"] {
        let job: Job = serde_json::from_value(
            json!({"metadata": {"name": name}, "spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}),
        )
        .unwrap();
        let job = jobs.create(&PostParams::default(), &job).await.unwrap();
        let pod: Pod = serde_json::from_value(json!({"metadata": {"name": format!("{name}-pod"), "ownerReferences": [
            {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": job.uid().unwrap(), "controller": true}]},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}))
        .unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
    }
    jobs.delete("orphaning", &DeleteParams::default())
        .await
        .unwrap();
    jobs.delete(
        "cascading",
        &DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    eventually(5, "cascading pod collected", || {
        let pods = pods.clone();
        async move { gone(&pods, "cascading-pod").await.then_some(()) }
    })
    .await;
    let kept = pods.get("orphaning-pod").await.unwrap();
    assert!(
        kept.owner_references().is_empty(),
        "orphaned pod loses its owner reference"
    );
}

#[tokio::test]
async fn deleting_a_namespace_empties_it_and_waits_for_finalizers() {
    let env = start().await;
    install_widgets(&env.client).await;
    let namespaces: Api<Namespace> = Api::all(env.client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "doomed"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "doomed");
    cms.create(&PostParams::default(), &cm("c")).await.unwrap();
    let ws = widgets(&env.client, "doomed");
    let mut w = widget("held", "small");
    w.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    ws.create(&PostParams::default(), &w).await.unwrap();

    namespaces
        .delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    let terminating = eventually(5, "contents deleted", || {
        let (namespaces, cms) = (namespaces.clone(), cms.clone());
        async move {
            let ns = namespaces.get("doomed").await.ok()?;
            let conditions = ns.status.as_ref()?.conditions.clone().unwrap_or_default();
            let finalizers = conditions
                .iter()
                .find(|c| c.type_ == "NamespaceFinalizersRemaining" && c.status == "True")?;
            gone(&cms, "c")
                .await
                .then(|| (ns.clone(), finalizers.message.clone()))
        }
    })
    .await;
    assert_eq!(
        terminating.0.status.unwrap().phase.as_deref(),
        Some("Terminating")
    );
    assert!(
        terminating
            .1
            .unwrap()
            .contains("example.com/hold in 1 resource instances")
    );

    let err = api_error(cms.create(&PostParams::default(), &cm("late")).await);
    assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"));
    assert!(
        err.message.contains("because it is being terminated"),
        "{}",
        err.message
    );

    ws.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually(5, "namespace removed", || {
        let namespaces = namespaces.clone();
        async move { gone(&namespaces, "doomed").await.then_some(()) }
    })
    .await;

    let err = api_error(namespaces.delete("default", &DeleteParams::default()).await);
    assert_eq!(err.code, 403);
}

#[tokio::test]
async fn deleting_a_crd_removes_its_objects_and_its_endpoint() {
    let env = start().await;
    install_widgets(&env.client).await;
    let ws = widgets(&env.client, "default");
    ws.create(&PostParams::default(), &widget("w", "small"))
        .await
        .unwrap();
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(env.client.clone());
    let crd = crds.get("widgets.example.com").await.unwrap();
    let conditions = crd.status.unwrap().conditions.unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );
    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    eventually(5, "CRD gone", || {
        let crds = crds.clone();
        async move { gone(&crds, "widgets.example.com").await.then_some(()) }
    })
    .await;
    let err = api_error(ws.list(&ListParams::default()).await);
    assert_eq!(err.code, 404);
}

#[tokio::test]
async fn recorder_events_are_visible_through_core_v1() {
    let env = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let target = cms
        .create(&PostParams::default(), &cm("target"))
        .await
        .unwrap();
    let recorder = Recorder::new(
        env.client.clone(),
        Reporter {
            controller: "tibr-test".into(),
            instance: None,
        },
    );
    let event = Event {
        type_: EventType::Warning,
        reason: "Checked".into(),
        note: Some("looked at it".into()),
        action: "Check".into(),
        secondary: None,
    };
    let reference = target.object_ref(&());
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();
    let events: Api<CoreEvent> = Api::namespaced(env.client.clone(), "default");
    let list = events
        .list(
            &ListParams::default()
                .fields("involvedObject.name=target,involvedObject.kind=ConfigMap"),
        )
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1, "a repeated event is one series");
    let e = &list.items[0];
    assert_eq!(e.reason.as_deref(), Some("Checked"));
    assert_eq!(e.message.as_deref(), Some("looked at it"));
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    assert_eq!(e.reporting_component.as_deref(), Some("tibr-test"));
}
