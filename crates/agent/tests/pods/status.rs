//! The agent's status writes against the API emulator: JSON merge patches of the status
//! subresource that carry the resourceVersion they were computed from, so concurrent writers
//! (the agent's progress task, its main flow, the operator) never lose each other's changes.

use crate::support::*;
use serde_json::json;
use tibr_agent::{Secrets, StatusWriter};
use tibr_api::BackupConditionType;
use tibr_api::pingcap::v1alpha1::Progress;
use tibr_core::backup::status::{NewCondition, set_condition};

pub async fn concurrent_writers_lose_nothing_and_phase_follows_the_latest_condition() {
    let env = Env::start().await;
    let backup = env
        .create_backup(
            "racy",
            json!({"br": {"cluster": "demo1"}, "s3": {"provider": "aws", "bucket": "my-bucket", "prefix": "racy"}}),
        )
        .await;
    let secrets = Secrets::new(vec![], None);
    let writers: Vec<StatusWriter> = (0..8)
        .map(|_| StatusWriter::new(env.client.clone(), &backup, secrets.clone()))
        .collect();
    // Each writer adds its own step, from the status it read: a write computed from a stale
    // read must be refused (409) and recomputed, or steps go missing.
    let tasks = writers.iter().enumerate().map(|(i, w)| async move {
        w.update(|s, _, _| {
            s.progresses.push(Progress {
                step: Some(format!("step-{i}")),
                progress: Some(i as f64),
                last_transition_time: None,
            });
            true
        })
        .await
        .expect("the write lands, retrying on conflicts")
    });
    futures::future::join_all(tasks).await;
    let s = env.backup("racy").await.status.unwrap();
    let mut steps: Vec<String> = s.progresses.iter().filter_map(|p| p.step.clone()).collect();
    steps.sort();
    assert_eq!(
        steps,
        (0..8).map(|i| format!("step-{i}")).collect::<Vec<_>>()
    );

    // An operator-side condition written between two agent writes survives, and the phase is
    // the type of the latest condition.
    writers[0]
        .condition(NewCondition::true_(BackupConditionType::Running, "", ""))
        .await
        .unwrap();
    env.backups()
        .patch_status(
            "racy",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"status": {"backoffRetryStatus": [{"retryNum": 1}]}})),
        )
        .await
        .unwrap();
    let written = writers[1]
        .update(|s, generation, now| {
            set_condition(
                s,
                NewCondition::true_(BackupConditionType::Complete, "", ""),
                generation,
                now,
            )
        })
        .await
        .unwrap();
    let s = written.status.unwrap();
    assert_eq!(s.phase, Some(BackupConditionType::Complete));
    assert_eq!(
        s.backoff_retry_status.len(),
        1,
        "the operator's field is kept"
    );
    assert_eq!(s.progresses.len(), 8);
    let managers: Vec<String> = written
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.contains(&tibr_agent::FIELD_MANAGER.to_string()),
        "{managers:?}"
    );
    env.stop().await;
}
