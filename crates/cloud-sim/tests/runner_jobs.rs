//! The job controller end to end: Jobs run as local processes and finish with the
//! conditions, counts and events of the real controller.

mod support;

use std::time::Duration;

use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{Pod, ServiceAccount},
};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, LogParams, Patch, PatchParams, PropagationPolicy},
};
use serde_json::{Value, json};
use support::{Env, condition, job, sleeps, wait_for};

async fn job_status(env: &Env, ns: &str, name: &str) -> Result<Value, String> {
    let api: Api<Job> = Api::namespaced(env.client.clone(), ns);
    let job = api.get(name).await.map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(job.status).unwrap())
}

/// Waits for the Job's `kind` condition to be True; returns the status.
async fn wait_condition(env: &Env, ns: &str, name: &str, kind: &str) -> Value {
    wait_for(30, &format!("Job {name} {kind}"), || async {
        let s = job_status(env, ns, name).await?;
        match condition(&s, kind) {
            Some((status, _)) if status == "True" => Ok(s),
            _ => Err(s.to_string()),
        }
    })
    .await
}

#[tokio::test]
async fn a_job_completes_and_its_log_is_served() {
    let env = Env::start().await;
    env.namespace("jobs").await;
    env.create::<Job>(
        "jobs",
        job("hello", &["sh", "-c", "echo hello; exit 0"], json!({})),
    )
    .await;
    let status = wait_condition(&env, "jobs", "hello", "Complete").await;
    assert_eq!(status["succeeded"], 1);
    assert_eq!(
        condition(&status, "Complete").unwrap().1,
        "CompletionsReached"
    );
    assert_eq!(
        condition(&status, "SuccessCriteriaMet").unwrap(),
        ("True".to_string(), "CompletionsReached".to_string())
    );
    assert!(status["completionTime"].is_string(), "{status}");
    assert!(status["startTime"].is_string(), "{status}");
    assert!(status.get("active").is_none_or(Value::is_null), "{status}");

    let pods = env.pods("jobs").await;
    assert_eq!(pods.len(), 1);
    let pod = &pods[0];
    let name = pod.name_any();
    assert!(name.starts_with("hello-"), "{name}");
    let owner = &pod.owner_references()[0];
    assert_eq!((owner.kind.as_str(), owner.controller), ("Job", Some(true)));
    let ps = serde_json::to_value(&pod.status).unwrap();
    assert_eq!(ps["phase"], "Succeeded");
    let term = &ps["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(term["exitCode"], 0);
    assert_eq!(term["reason"], "Completed");
    assert_eq!(ps["podIP"], "127.0.0.1");
    assert_eq!(
        pod.spec.as_ref().unwrap().node_name.as_deref(),
        Some("t-node")
    );

    let file = env.log_dir().join("jobs").join(&name).join("main.log");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "hello\n");
    let api: Api<Pod> = Api::namespaced(env.client.clone(), "jobs");
    assert_eq!(
        api.logs(&name, &LogParams::default()).await.unwrap(),
        "hello\n"
    );

    let events = env.events("jobs", "hello").await;
    assert!(
        events.contains(&format!("SuccessfulCreate: Created pod: {name}")),
        "{events:?}"
    );
    assert!(
        events.contains(&"Completed: Job completed".to_string()),
        "{events:?}"
    );
    let pod_events = env.events("jobs", &name).await;
    assert!(
        pod_events
            .iter()
            .any(|e| e.starts_with("Scheduled: Successfully assigned jobs/")),
        "{pod_events:?}"
    );
    assert!(
        pod_events.contains(&"Started: Started container main".to_string()),
        "{pod_events:?}"
    );

    // The real kubectl finds the Job's pod and prints its log.
    let kubeconfig = env.dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, env.cluster.kubeconfig_yaml()).unwrap();
    let out = tokio::process::Command::new("/usr/bin/kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--cache-dir")
        .arg(env.dir.path().join("kubectl-cache"))
        .args(["logs", "-n", "jobs", "job/hello"])
        .output()
        .await
        .expect("/usr/bin/kubectl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    env.stop().await;
}

#[tokio::test]
async fn a_job_past_its_deadline_fails_and_its_process_dies() {
    let env = Env::start().await;
    env.namespace("deadline").await;
    env.create::<Job>(
        "deadline",
        job(
            "slow",
            &["sh", "-c", "sleep 3607"],
            json!({"activeDeadlineSeconds": 2}),
        ),
    )
    .await;
    wait_for(20, "the sleep process", || async {
        if sleeps("3607").is_empty() {
            Err("none".to_string())
        } else {
            Ok(())
        }
    })
    .await;
    let status = wait_condition(&env, "deadline", "slow", "Failed").await;
    assert_eq!(
        condition(&status, "Failed").unwrap().1,
        "DeadlineExceeded",
        "{status}"
    );
    assert_eq!(
        condition(&status, "FailureTarget").unwrap().1,
        "DeadlineExceeded"
    );
    let message = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Failed")
        .unwrap()["message"]
        .clone();
    assert_eq!(message, "Job was active longer than specified deadline");
    assert!(
        sleeps("3607").is_empty(),
        "the container's process survived"
    );
    assert_eq!(status["failed"], 1, "{status}");
    let events = env.events("deadline", "slow").await;
    assert!(
        events.contains(
            &"DeadlineExceeded: Job was active longer than specified deadline".to_string()
        ),
        "{events:?}"
    );
    env.stop().await;
}

#[tokio::test]
async fn failures_past_the_backoff_limit_fail_the_job() {
    let env = Env::start().await;
    env.namespace("backoff").await;
    env.create::<Job>(
        "backoff",
        job("fails", &["sh", "-c", "exit 3"], json!({"backoffLimit": 1})),
    )
    .await;
    let status = wait_condition(&env, "backoff", "fails", "Failed").await;
    assert_eq!(
        condition(&status, "Failed").unwrap().1,
        "BackoffLimitExceeded"
    );
    assert_eq!(
        condition(&status, "FailureTarget").unwrap().1,
        "BackoffLimitExceeded"
    );
    assert_eq!(status["failed"], 2, "{status}");
    let pods = env.pods("backoff").await;
    assert_eq!(pods.len(), 2);
    for pod in &pods {
        let ps = serde_json::to_value(&pod.status).unwrap();
        assert_eq!(ps["phase"], "Failed");
        let term = &ps["containerStatuses"][0]["state"]["terminated"];
        assert_eq!(
            (term["exitCode"].clone(), term["reason"].clone()),
            (json!(3), json!("Error"))
        );
    }
    let events = env.events("backoff", "fails").await;
    assert!(
        events.contains(
            &"BackoffLimitExceeded: Job has reached the specified backoff limit".to_string()
        ),
        "{events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.starts_with("SuccessfulCreate"))
            .count(),
        2
    );
    env.stop().await;
}

/// Deletes a running Job with `policy` and waits until its process, pod and the Job
/// itself are gone.
async fn delete_running_job(policy: PropagationPolicy, ns: &str, marker: &str) {
    let env = Env::start().await;
    env.namespace(ns).await;
    let command = format!("sleep {marker}");
    env.create::<Job>(ns, job("long", &["sh", "-c", &command], json!({})))
        .await;
    wait_for(20, "the sleep process", || async {
        if sleeps(marker).is_empty() {
            Err("none".to_string())
        } else {
            Ok(())
        }
    })
    .await;
    let status = job_status(&env, ns, "long").await.unwrap();
    assert_eq!(status["active"], 1, "{status}");
    let api: Api<Job> = Api::namespaced(env.client.clone(), ns);
    let dp = DeleteParams {
        propagation_policy: Some(policy),
        ..DeleteParams::default()
    };
    api.delete("long", &dp).await.unwrap();
    wait_for(20, "the process, the pod and the Job to go", || async {
        let left = sleeps(marker);
        let pods = env.pods(ns).await;
        let job = api.get_opt("long").await.map_err(|e| e.to_string())?;
        if left.is_empty() && pods.is_empty() && job.is_none() {
            Ok(())
        } else {
            Err(format!(
                "processes {left:?}, pods {}, job {}",
                pods.len(),
                job.is_some()
            ))
        }
    })
    .await;
    env.stop().await;
}

#[tokio::test]
async fn deleting_a_running_job_kills_its_process() {
    delete_running_job(PropagationPolicy::Background, "del", "3608").await;
}

#[tokio::test]
async fn deleting_a_running_job_in_the_foreground_kills_its_process() {
    delete_running_job(PropagationPolicy::Foreground, "fg", "3610").await;
}

#[tokio::test]
async fn a_refused_pod_is_a_failed_create_event_and_is_retried() {
    let env = Env::start().await;
    env.namespace("sa").await;
    let mut j = job("needs-sa", &["sh", "-c", "echo ok"], json!({}));
    j["spec"]["template"]["spec"]["serviceAccountName"] = json!("robot");
    env.create::<Job>("sa", j).await;
    let event = wait_for(20, "a FailedCreate event", || async {
        let events = env.events("sa", "needs-sa").await;
        events
            .iter()
            .find(|e| e.starts_with("FailedCreate: "))
            .cloned()
            .ok_or_else(|| format!("{events:?}"))
    })
    .await;
    // Kubernetes' text: admission runs before the name is generated, so the refusal
    // quotes the Job's `generateName`, and repeated refusals read the same.
    assert_eq!(
        event,
        "FailedCreate: Error creating: pods \"needs-sa-\" is forbidden: error looking up service account sa/robot: serviceaccount \"robot\" not found"
    );
    wait_for(20, "a second refusal", || async {
        let events = env.events("sa", "needs-sa").await;
        let refusals: Vec<&String> = events
            .iter()
            .filter(|e| e.starts_with("FailedCreate: "))
            .collect();
        (refusals.len() >= 2 && refusals.iter().all(|e| **e == event))
            .then_some(())
            .ok_or_else(|| format!("{events:?}"))
    })
    .await;
    env.create::<ServiceAccount>("sa", json!({"metadata": {"name": "robot"}}))
        .await;
    wait_condition(&env, "sa", "needs-sa", "Complete").await;
    env.stop().await;
}

#[tokio::test]
async fn on_failure_restarts_the_container_in_place() {
    let env = Env::start().await;
    env.namespace("restart").await;
    let script = "if [ -f \"$HOME/tried\" ]; then echo second; exit 0; fi; touch \"$HOME/tried\"; echo first; exit 1";
    let mut j = job("flaky", &["sh", "-c", script], json!({"backoffLimit": 3}));
    j["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
    env.create::<Job>("restart", j).await;
    wait_condition(&env, "restart", "flaky", "Complete").await;
    let pods = env.pods("restart").await;
    assert_eq!(
        pods.len(),
        1,
        "OnFailure restarts in place, without a new pod"
    );
    let name = pods[0].name_any();
    let ps = serde_json::to_value(&pods[0].status).unwrap();
    let cs = &ps["containerStatuses"][0];
    assert_eq!(cs["restartCount"], 1, "{cs}");
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1, "{cs}");
    assert_eq!(cs["state"]["terminated"]["exitCode"], 0, "{cs}");
    let dir = env.log_dir().join("restart").join(&name);
    assert_eq!(
        std::fs::read_to_string(dir.join("main.previous.log")).unwrap(),
        "first\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("main.log")).unwrap(),
        "second\n"
    );
    let api: Api<Pod> = Api::namespaced(env.client.clone(), "restart");
    let previous = LogParams {
        previous: true,
        ..LogParams::default()
    };
    assert_eq!(api.logs(&name, &previous).await.unwrap(), "first\n");
    tokio::time::sleep(Duration::from_millis(10)).await;
    env.stop().await;
}

#[tokio::test]
async fn a_suspended_job_runs_once_resumed() {
    let env = Env::start().await;
    env.namespace("susp").await;
    env.create::<Job>(
        "susp",
        job(
            "later",
            &["sh", "-c", "echo resumed"],
            json!({"suspend": true}),
        ),
    )
    .await;
    let status = wait_condition(&env, "susp", "later", "Suspended").await;
    assert_eq!(condition(&status, "Suspended").unwrap().1, "JobSuspended");
    assert!(env.pods("susp").await.is_empty());
    let api: Api<Job> = Api::namespaced(env.client.clone(), "susp");
    let patch = json!({"spec": {"suspend": false}});
    api.patch("later", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let status = wait_condition(&env, "susp", "later", "Complete").await;
    assert_eq!(
        condition(&status, "Suspended").unwrap(),
        ("False".to_string(), "JobResumed".to_string())
    );
    env.stop().await;
}
