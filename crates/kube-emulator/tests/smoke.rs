use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::{
    Api,
    api::{ListParams, PostParams},
};
use kube_emulator::{ClusterOptions, RunningCluster, Tls};

#[tokio::test]
async fn smoke() {
    let dir = tempfile::tempdir().unwrap();
    let tls = Tls::generate().unwrap();
    let c = RunningCluster::start(ClusterOptions::new("t", dir.path().join("logs")), &tls, 0)
        .await
        .unwrap();
    let client = c.client().await.unwrap();
    let ns: Api<Namespace> = Api::all(client.clone());
    let list = ns.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 4);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("a".into());
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let got = cms.get("a").await.unwrap();
    assert!(got.metadata.uid.is_some());
    let all = cms.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        all.items.len(),
        2,
        "{:?}",
        all.items
            .iter()
            .map(|i| i.metadata.name.clone())
            .collect::<Vec<_>>()
    );
    c.stop().await;
}
