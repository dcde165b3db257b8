//! Conformance of watches: kube-rs watchers, resuming, 410 Gone, bookmarks, selector
//! transitions and streaming lists.

mod common;

use std::time::Duration;

use common::*;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams},
    runtime::{WatchStreamExt, watcher},
};
use serde_json::json;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap()
}

async fn next_event<S>(stream: &mut S) -> WatchEvent<ConfigMap>
where
    S: futures::Stream<Item = kube::Result<WatchEvent<ConfigMap>>> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("event within 5 s")
        .expect("stream open")
        .expect("event decodes")
}

fn describe(e: &WatchEvent<ConfigMap>) -> String {
    match e {
        WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.clone().unwrap()),
        WatchEvent::Modified(o) => format!("MODIFIED {}", o.metadata.name.clone().unwrap()),
        WatchEvent::Deleted(o) => format!("DELETED {}", o.metadata.name.clone().unwrap()),
        WatchEvent::Bookmark(_) => "BOOKMARK".into(),
        WatchEvent::Error(e) => format!("ERROR {}", e.code),
    }
}

#[tokio::test]
async fn kube_rs_watcher_follows_objects() {
    let env = start().await;
    install_widgets(&env.client).await;
    let api = widgets(&env.client, "default");
    api.create(&PostParams::default(), &widget("before", "small"))
        .await
        .unwrap();
    let mut stream = watcher(api.clone(), watcher::Config::default()).boxed();
    let mut log = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            watcher::Event::InitApply(o) => log.push(format!("init {}", o.metadata.name.unwrap())),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(log, vec!["init before"]);
    api.create(&PostParams::default(), &widget("after", "large"))
        .await
        .unwrap();
    api.delete("before", &Default::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            watcher::Event::Apply(o) => seen.push(format!("apply {}", o.metadata.name.unwrap())),
            watcher::Event::Delete(o) => seen.push(format!("delete {}", o.metadata.name.unwrap())),
            _ => {}
        }
    }
    assert_eq!(seen, vec!["apply after", "delete before"]);
}

#[tokio::test]
async fn watch_resumes_from_a_resource_version() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    api.create(&PostParams::default(), &cm("b", json!({})))
        .await
        .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"x": "1"}})),
    )
    .await
    .unwrap();
    api.delete("b", &Default::default()).await.unwrap();
    let mut stream = api
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(describe(&next_event(&mut stream).await));
    }
    assert_eq!(got, vec!["ADDED b", "MODIFIED a", "DELETED b"]);
}

#[tokio::test]
async fn compacted_history_answers_410_and_watchers_recover() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    let old = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    api.create(&PostParams::default(), &cm("b", json!({})))
        .await
        .unwrap();
    env.cluster.cluster.compact_history();
    let mut stream = api
        .watch(&WatchParams::default(), &old)
        .await
        .unwrap()
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Error(e) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
            assert!(
                e.message.starts_with("too old resource version"),
                "{}",
                e.message
            );
        }
        other => panic!("expected a 410 error event, got {}", describe(&other)),
    }
    // A kube-rs watcher relists and carries on.
    let mut w = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    api.create(&PostParams::default(), &cm("c", json!({})))
        .await
        .unwrap();
    let mut names = Vec::new();
    while !names.contains(&"c".to_string()) {
        let o = tokio::time::timeout(Duration::from_secs(5), w.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        names.push(o.metadata.name.unwrap());
    }
}

#[tokio::test]
async fn bookmarks_arrive_when_asked_for() {
    let env = start_with(|o| o.bookmark_interval = Duration::from_millis(200)).await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    let mut stream = api
        .watch(
            &WatchParams {
                bookmarks: true,
                ..Default::default()
            },
            &rv,
        )
        .await
        .unwrap()
        .boxed();
    assert_eq!(describe(&next_event(&mut stream).await), "ADDED a");
    match next_event(&mut stream).await {
        WatchEvent::Bookmark(b) => {
            let latest: u64 = b.metadata.resource_version.parse().unwrap();
            assert!(latest > rv.parse::<u64>().unwrap());
        }
        other => panic!("expected a bookmark, got {}", describe(&other)),
    }
    // Without allowWatchBookmarks there are none.
    let mut quiet = api
        .watch(
            &WatchParams {
                bookmarks: false,
                ..Default::default()
            }
            .timeout(1),
            &rv,
        )
        .await
        .unwrap()
        .boxed();
    let mut kinds = Vec::new();
    while let Some(e) = quiet.next().await {
        kinds.push(describe(&e.unwrap()));
    }
    assert_eq!(kinds, vec!["ADDED a"]);
}

#[tokio::test]
async fn selector_watches_see_objects_enter_and_leave() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = api
        .watch(&WatchParams::default().labels("team=db"), &rv)
        .await
        .unwrap()
        .boxed();
    let pp = PatchParams::default();
    api.patch(
        "a",
        &pp,
        &Patch::Merge(json!({"metadata": {"labels": {"team": "db"}}})),
    )
    .await
    .unwrap();
    api.patch("a", &pp, &Patch::Merge(json!({"data": {"k": "v"}})))
        .await
        .unwrap();
    api.patch(
        "a",
        &pp,
        &Patch::Merge(json!({"metadata": {"labels": {"team": "web"}}})),
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(describe(&next_event(&mut stream).await));
    }
    assert_eq!(got, vec!["ADDED a", "MODIFIED a", "DELETED a"]);
}

#[tokio::test]
async fn streaming_lists_end_with_the_initial_events_bookmark() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    api.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    let mut stream = watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut init = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            watcher::Event::InitApply(o) => init.push(o.metadata.name.unwrap()),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    init.sort();
    assert_eq!(init, vec!["a", "kube-root-ca.crt"]);
}

#[tokio::test]
async fn watches_end_at_their_timeout() {
    let env = start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let started = std::time::Instant::now();
    let mut stream = api
        .watch(&WatchParams::default().timeout(1), &rv)
        .await
        .unwrap()
        .boxed();
    assert!(
        tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap()
            .is_none()
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
}
