//! Conformance of the patch flavours and server-side apply, driven through kube-rs.

mod common;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

#[tokio::test]
async fn server_side_apply_creates_updates_and_detects_conflicts() {
    let env = start().await;
    install_widgets(&env.client).await;
    let api = widgets(&env.client, "default");
    let config = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                        "spec": {"size": "small", "note": "from-a"}});
    let a = PatchParams::apply("manager-a");
    let created = api.patch("w", &a, &Patch::Apply(&config)).await.unwrap();
    assert_eq!(created.data["spec"]["note"], "from-a");
    let managers: Vec<String> = created
        .managed_fields()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, vec!["manager-a"]);

    let again = api.patch("w", &a, &Patch::Apply(&config)).await.unwrap();
    assert_eq!(
        again.resource_version(),
        created.resource_version(),
        "re-applying is a no-op"
    );

    let b = PatchParams::apply("manager-b");
    let other = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                       "spec": {"note": "from-b"}});
    let err = api_error(api.patch("w", &b, &Patch::Apply(&other)).await);
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert!(
        err.message.contains(r#"conflict with "manager-a""#) && err.message.contains(".spec.note"),
        "{}",
        err.message
    );

    let forced = api
        .patch("w", &b.clone().force(), &Patch::Apply(&other))
        .await
        .unwrap();
    assert_eq!(forced.data["spec"]["note"], "from-b");

    // manager-a stops applying `note`: b owns it now, so it stays; `size` is a's alone.
    let shrunk = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                        "spec": {"size": "large"}});
    let after = api.patch("w", &a, &Patch::Apply(&shrunk)).await.unwrap();
    assert_eq!(
        (
            after.data["spec"]["size"].as_str(),
            after.data["spec"]["note"].as_str()
        ),
        (Some("large"), Some("from-b"))
    );
}

#[tokio::test]
async fn apply_removes_fields_the_manager_stopped_setting() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let pp = PatchParams::apply("tibr");
    let first = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
    api.patch("c", &pp, &Patch::Apply(&first)).await.unwrap();
    let second = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let cm = api.patch("c", &pp, &Patch::Apply(&second)).await.unwrap();
    assert_eq!(
        cm.data.unwrap().keys().cloned().collect::<Vec<_>>(),
        vec!["a"]
    );
}

#[tokio::test]
async fn json_patch_and_strategic_merge_patch() {
    let env = start().await;
    let pods: Api<Pod> = Api::namespaced(env.client.clone(), "default");
    let pod: Pod =
        serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "a", "image": "busybox", "env": [{"name": "X", "value": "1"}]},
        {"name": "b", "image": "busybox"}]}}))
        .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    // Strategic merge: containers merge by name, env by name.
    let smp =
        json!({"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}});
    let p = pods
        .patch("p", &PatchParams::default(), &Patch::Strategic(smp))
        .await
        .unwrap();
    let containers = p.spec.unwrap().containers;
    assert_eq!(containers.len(), 2, "the other container is kept");
    let env_names: Vec<String> = containers[0]
        .env
        .clone()
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(env_names, vec!["Y", "X"]);

    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/labels", "value": null},
        {"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}
    ]))
    .unwrap();
    let p = pods
        .patch("p", &PatchParams::default(), &Patch::<()>::Json(jp.clone()))
        .await
        .unwrap();
    assert_eq!(p.labels()["a"], "b");
    let err = api_error(
        pods.patch("p", &PatchParams::default(), &Patch::<()>::Json(jp))
            .await,
    );
    assert_eq!(
        err.code, 422,
        "a failed test op is Unprocessable: {}",
        err.message
    );
}
