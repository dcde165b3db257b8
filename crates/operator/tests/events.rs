//! The Event recorder the operator and the agent share (`tibr_runtime::events`), against the
//! sandbox API: a repeat becomes a series on one Event, a new note a new Event (kube's own
//! recorder would fold it into the first one's text), and the related object keeps runs apart.

use k8s_openapi::api::{core::v1::ObjectReference, events::v1::Event as K8sEvent};
use kube::{
    Api,
    api::ListParams,
    runtime::events::{Event, EventType, Reporter},
};
use kube_emulator::{ClusterOptions, RunningCluster, Tls};
use tibr_runtime::events::Recorder;

fn reference(name: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("pingcap.com/v1alpha1".into()),
        kind: Some("BackupSchedule".into()),
        name: Some(name.into()),
        namespace: Some("default".into()),
        uid: Some(format!("uid-{name}")),
        ..ObjectReference::default()
    }
}

fn event(note: &str, related: Option<ObjectReference>) -> Event {
    Event {
        type_: EventType::Warning,
        reason: "WaitingForBackup".into(),
        note: Some(note.into()),
        action: "Schedule".into(),
        secondary: related,
    }
}

#[tokio::test]
async fn repeats_count_and_new_notes_stand_apart() {
    let dir = tempfile::tempdir().unwrap();
    let tls = Tls::generate().unwrap();
    let options = ClusterOptions::new("events", dir.path().join("logs"));
    let cluster = RunningCluster::start(options, &tls, 0).await.unwrap();
    let client = cluster.client().await.unwrap();
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "tibr-operator".into(),
            instance: Some("test".into()),
        },
    );
    let s = reference("nightly");

    for _ in 0..3 {
        recorder
            .publish(&event("waits for Backup a", None), &s)
            .await
            .unwrap();
    }
    recorder
        .publish(&event("waits for Backup b", None), &s)
        .await
        .unwrap();
    let mut about_a = reference("a");
    about_a.kind = Some("Backup".into());
    recorder
        .publish(&event("waits for Backup b", Some(about_a)), &s)
        .await
        .unwrap();

    let events: Vec<K8sEvent> = Api::<K8sEvent>::namespaced(client, "default")
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    let mut seen: Vec<(String, i32, Option<String>)> = events
        .iter()
        .map(|e| {
            (
                e.note.clone().unwrap_or_default(),
                e.series.as_ref().map_or(1, |s| s.count),
                e.related.as_ref().and_then(|r| r.name.clone()),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("waits for Backup a".to_string(), 3, None),
            ("waits for Backup b".to_string(), 1, None),
            ("waits for Backup b".to_string(), 1, Some("a".to_string())),
        ]
    );
    for e in &events {
        assert_eq!(e.reporting_controller.as_deref(), Some("tibr-operator"));
        assert_eq!(e.reporting_instance.as_deref(), Some("test"));
        // The create and the series patches are written under the controller's name.
        let managers: Vec<&str> = e
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|m| m.manager.as_deref())
            .collect();
        assert!(
            !managers.is_empty() && managers.iter().all(|m| *m == "tibr-operator"),
            "{managers:?}"
        );
        assert_eq!(
            e.regarding.as_ref().and_then(|r| r.name.as_deref()),
            Some("nightly")
        );
    }
    cluster.stop().await;
}
