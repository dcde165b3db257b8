//! A controller built by `trimmed_controller` reconciles what a re-list brings, including
//! objects created while its watch was down and expired: kube-runtime's own trigger drops
//! them (it asks for each as listed, before its store holds the new list).

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api, Client, ResourceExt,
    api::PostParams,
    config::{KubeConfigOptions, Kubeconfig},
    runtime::{controller::Action, watcher},
};
use kube_emulator::testing::{TestCluster, wait_until};
use tibr_testkit::proxy::Proxy;

type Seen = Arc<Mutex<BTreeSet<String>>>;

/// A client that reaches the cluster through `proxy`.
async fn through(cluster: &TestCluster, proxy: &Proxy) -> Client {
    let mut kubeconfig = Kubeconfig::from_yaml(&cluster.cluster.kubeconfig_yaml()).unwrap();
    for c in &mut kubeconfig.clusters {
        if let Some(c) = c.cluster.as_mut() {
            c.server = Some(format!("https://{}", proxy.addr));
        }
    }
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

async fn create(api: &Api<ConfigMap>, name: &str) {
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some(name.into());
    api.create(&PostParams::default(), &cm).await.unwrap();
}

async fn reconciled(seen: &Seen, name: &str) {
    wait_until(30, &format!("{name} reconciled"), || async {
        seen.lock().unwrap().contains(name).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_created_while_the_watch_was_down_and_expired_are_reconciled() {
    let cluster = TestCluster::start().await;
    let proxy = Proxy::start(cluster.cluster.addr).await;
    let admin: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "default");
    let watched: Api<ConfigMap> = Api::namespaced(through(&cluster, &proxy).await, "default");

    let seen: Seen = Arc::default();
    // One object per list page, so that the list's first objects reach the controller while
    // later pages are still being read, as with thousands of objects.
    let config = watcher::Config::default().page_size(1);
    let controller = tibr_runtime::client::trimmed_controller(watched, config)
        .run(
            |cm: Arc<ConfigMap>, seen: Arc<Seen>| async move {
                seen.lock().unwrap().insert(cm.name_any());
                Ok::<_, kube::Error>(Action::await_change())
            },
            |_, _, _| Action::requeue(Duration::from_secs(1)),
            Arc::new(seen.clone()),
        )
        .for_each(|_| async {});
    let controller = tokio::spawn(controller);

    for i in 0..5 {
        create(&admin, &format!("before-{i}")).await;
    }
    reconciled(&seen, "before-4").await;

    // The watch goes down; meanwhile "a-during" (listed first) is created and the history
    // that a resumed watch would need is gone, so the watcher must list again.
    proxy.cut();
    create(&admin, "a-during").await;
    cluster.cluster.cluster.compact_history();
    proxy.restore();
    reconciled(&seen, "a-during").await;

    controller.abort();
    proxy.stop();
    cluster.stop().await;
}
