//! Conformance of object metadata, verbs and errors, driven through kube-rs.

mod common;

use common::*;
use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{ConfigMap, Pod, Secret},
};
use kube::{
    Api,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(
        json!({"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}),
    )
    .unwrap()
}

#[tokio::test]
async fn metadata_is_stamped_by_the_server() {
    let env = start().await;
    install_widgets(&env.client).await;
    let api = widgets(&env.client, "default");
    let mut w = widget("", "small");
    w.metadata.name = None;
    w.metadata.generate_name = Some("gen-".into());
    let created = api.create(&PostParams::default(), &w).await.unwrap();
    let name = created.metadata.name.clone().unwrap();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    assert_eq!(created.metadata.namespace.as_deref(), Some("default"));
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.metadata.generation, Some(1));
    let rv1: u64 = created
        .metadata
        .resource_version
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    let second = api
        .create(&PostParams::default(), &widget("other", "large"))
        .await
        .unwrap();
    let rv2: u64 = second.metadata.resource_version.unwrap().parse().unwrap();
    assert!(rv2 > rv1, "resourceVersion increases: {rv1} then {rv2}");
}

#[tokio::test]
async fn generation_counts_spec_changes_only() {
    let env = start().await;
    install_widgets(&env.client).await;
    let api = widgets(&env.client, "default");
    api.create(&PostParams::default(), &widget("w", "small"))
        .await
        .unwrap();
    let pp = PatchParams::default();
    let labelled = api
        .patch(
            "w",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    let status = api
        .patch_status(
            "w",
            &pp,
            &Patch::Merge(json!({"status": {"phase": "Running"}})),
        )
        .await
        .unwrap();
    assert_eq!(status.metadata.generation, Some(1));
    let spec = api
        .patch("w", &pp, &Patch::Merge(json!({"spec": {"size": "large"}})))
        .await
        .unwrap();
    assert_eq!(spec.metadata.generation, Some(2));
}

#[tokio::test]
async fn status_subresource_separates_spec_and_status() {
    let env = start().await;
    install_widgets(&env.client).await;
    let api = widgets(&env.client, "default");
    let mut w = widget("w", "small");
    w.data["status"] = json!({"phase": "Ignored"});
    let created = api.create(&PostParams::default(), &w).await.unwrap();
    assert!(
        created.data.get("status").is_none(),
        "status is dropped on create"
    );

    let mut main = created.clone();
    main.data["status"] = json!({"phase": "ViaMain"});
    main.data["spec"]["size"] = json!("large");
    let replaced = api
        .replace("w", &PostParams::default(), &main)
        .await
        .unwrap();
    assert_eq!(replaced.data["spec"]["size"], "large");
    assert!(
        replaced.data.get("status").is_none(),
        "main endpoint ignores status"
    );

    let mut via_status = replaced.clone();
    via_status.data["status"] = json!({"phase": "Done"});
    via_status.data["spec"]["size"] = json!("small");
    let after = api
        .replace_status("w", &PostParams::default(), &via_status)
        .await
        .unwrap();
    assert_eq!(after.data["status"]["phase"], "Done");
    assert_eq!(
        after.data["spec"]["size"], "large",
        "status endpoint ignores spec"
    );
}

#[tokio::test]
async fn errors_carry_kubernetes_status() {
    let env = start().await;
    install_widgets(&env.client).await;
    let api = widgets(&env.client, "default");
    let created = api
        .create(&PostParams::default(), &widget("w", "small"))
        .await
        .unwrap();

    let dup = api_error(
        api.create(&PostParams::default(), &widget("w", "small"))
            .await,
    );
    assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(dup.message, r#"widgets.example.com "w" already exists"#);

    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": "large"}})),
    )
    .await
    .unwrap();
    let stale = api_error(api.replace("w", &PostParams::default(), &created).await);
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
    assert!(
        stale.message.contains("the object has been modified"),
        "{}",
        stale.message
    );

    let missing = api_error(api.get("nope").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, r#"widgets.example.com "nope" not found"#);

    let mut no_rv = created.clone();
    no_rv.metadata.resource_version = None;
    let invalid = api_error(api.replace("w", &PostParams::default(), &no_rv).await);
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    assert!(
        invalid.message.contains("metadata.resourceVersion"),
        "{}",
        invalid.message
    );

    let jobs: Api<Job> = Api::namespaced(env.client.clone(), "default");
    let job: Job = serde_json::from_value(
        json!({"metadata": {"name": "j"}, "spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "busybox"}]}}}}),
    )
    .unwrap();
    let err = api_error(jobs.create(&PostParams::default(), &job).await);
    assert_eq!(err.code, 422);
    let causes = err.details.unwrap().causes;
    assert_eq!(causes[0].field, "spec.template.spec.restartPolicy");
    assert_eq!(causes[0].reason, "FieldValueNotSupported");
}

#[tokio::test]
async fn unchanged_writes_are_no_ops() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let created = api
        .create(&PostParams::default(), &cm("c", json!({})))
        .await
        .unwrap();
    let same = api
        .replace("c", &PostParams::default(), &created)
        .await
        .unwrap();
    assert_eq!(
        same.metadata.resource_version,
        created.metadata.resource_version
    );
}

#[tokio::test]
async fn selectors_filter_lists() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    for (name, labels) in [
        ("a", json!({"app": "tidb", "tier": "db"})),
        ("b", json!({"app": "tikv", "tier": "db"})),
        ("c", json!({"app": "pd"})),
    ] {
        api.create(&PostParams::default(), &cm(name, labels))
            .await
            .unwrap();
    }
    let names = |sel: &str| {
        let api = api.clone();
        let sel = sel.to_string();
        async move {
            let list = api.list(&ListParams::default().labels(&sel)).await.unwrap();
            let mut n: Vec<String> = list
                .items
                .into_iter()
                .filter_map(|i| i.metadata.name)
                .collect();
            n.sort();
            n
        }
    };
    assert_eq!(names("app=tidb").await, vec!["a"]);
    assert_eq!(names("app==tikv").await, vec!["b"]);
    assert_eq!(names("tier!=db").await, vec!["c", "kube-root-ca.crt"]);
    assert_eq!(names("app in (tidb,pd)").await, vec!["a", "c"]);
    assert_eq!(names("app notin (tidb,pd),app").await, vec!["b"]);
    assert_eq!(names("tier").await, vec!["a", "b"]);
    assert_eq!(names("!tier,app").await, vec!["c"]);
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=b"))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    let err = api_error(api.list(&ListParams::default().fields("data.k=v")).await);
    assert_eq!(
        (err.code, err.message.as_str()),
        (400, "field label not supported: data.k")
    );
}

#[tokio::test]
async fn lists_page_with_continue_tokens() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    for i in 0..5 {
        api.create(
            &PostParams::default(),
            &cm(&format!("c{i}"), json!({"page": "yes"})),
        )
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut params = ListParams::default().labels("page=yes").limit(2);
    let mut pages = 0;
    loop {
        let page = api.list(&params).await.unwrap();
        pages += 1;
        seen.extend(page.items.into_iter().filter_map(|i| i.metadata.name));
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => {
                assert!(page.metadata.remaining_item_count.is_some());
                params = params.continue_token(&token);
            }
            _ => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, vec!["c0", "c1", "c2", "c3", "c4"]);
}

#[tokio::test]
async fn dry_run_persists_nothing() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let created = api
        .create(
            &PostParams {
                dry_run: true,
                ..Default::default()
            },
            &cm("dry", json!({})),
        )
        .await
        .unwrap();
    assert_eq!(created.metadata.name.as_deref(), Some("dry"));
    assert_eq!(api_error(api.get("dry").await).code, 404);
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized() {
    let env = start().await;
    let yaml = env
        .cluster
        .kubeconfig_yaml()
        .replace(&env.cluster.admin_token, "wrong");
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let err = api_error(api.list(&ListParams::default()).await);
    assert_eq!((err.code, err.reason.as_str()), (401, "Unauthorized"));
}

#[tokio::test]
async fn deletecollection_honours_selectors() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &cm("x1", json!({"drop": "yes"})))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("x2", json!({"drop": "yes"})))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("keep", json!({})))
        .await
        .unwrap();
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("drop=yes"),
    )
    .await
    .unwrap();
    let left: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|i| i.metadata.name)
        .collect();
    assert_eq!(left, vec!["keep", "kube-root-ca.crt"]);
}

#[tokio::test]
async fn secrets_fold_string_data_and_pods_need_their_service_account() {
    let env = start().await;
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), "default");
    let s: Secret = serde_json::from_value(
        json!({"metadata": {"name": "s"}, "stringData": {"password": "pw"}}),
    )
    .unwrap();
    let created = secrets.create(&PostParams::default(), &s).await.unwrap();
    assert_eq!(created.data.unwrap()["password"].0, b"pw");
    assert!(created.string_data.is_none());

    let pods: Api<Pod> = Api::namespaced(env.client.clone(), "default");
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": {
        "serviceAccountName": "missing", "containers": [{"name": "c", "image": "busybox"}]}}))
    .unwrap();
    let err = api_error(pods.create(&PostParams::default(), &pod).await);
    assert_eq!(err.code, 403);
    assert!(
        err.message
            .contains(r#"serviceaccount "missing" not found"#),
        "{}",
        err.message
    );
}
