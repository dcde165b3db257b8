//! The `batch/v1` Job controller, for Jobs that run one pod at a time.
//!
//! For a Job that is neither finished nor suspended it keeps one pod (from the template,
//! `generateName: <job>-`, owned by the Job) until a pod succeeds (`SuccessCriteriaMet` and
//! `Complete`, `CompletionsReached`), failures exceed `backoffLimit` (`FailureTarget`,
//! then `Failed` once no pod is left, `BackoffLimitExceeded`), or `activeDeadlineSeconds`
//! since `startTime` passes (`DeadlineExceeded`, its pods deleted). A failed pod is
//! replaced after a back-off that starts at `job_backoff_base` and doubles up to 6 min;
//! a refused pod creation is a `FailedCreate` event (none while the namespace is being
//! deleted) and is retried after Kubernetes' API back-off, from `job_api_backoff_base`
//! doubling up to a minute. With `restartPolicy: OnFailure`, container restarts count toward
//! `backoffLimit` as upstream. `suspend` deletes the pod and sets `Suspended`.
//!
//! Differences from the real controller: `parallelism` and `completions` other than 1,
//! `Indexed` completion, `podFailurePolicy`, `successPolicy`, `backoffLimitPerIndex`,
//! `ttlSecondsAfterFinished` and `managedBy` are ignored. Finished pods are counted in
//! memory instead of through the `batch.kubernetes.io/job-tracking` finalizer (pods carry
//! no finalizer; `uncountedTerminatedPods` stays empty); after a runner restart, pods
//! that finished before are taken as counted when the Job's status already counts any.
//! A pod that disappears before finishing counts as failed, as upstream. Events are not
//! aggregated.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::{batch::v1::Job, core::v1::Pod};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    runtime::{Controller, controller::Action, watcher},
};
use serde_json::{Value, json};

mod rules;

use rules::{
    api_backoff, backoff, condition_true, finished_at, past_backoff_on_failure, phase,
    pod_from_template, pod_ready, remaining, set_condition, terminal,
};

use super::{
    Shared,
    events::{self, Recorder},
    status::time,
};

#[derive(Debug, Clone, Default)]
struct Memory {
    /// Pods whose end is already in `succeeded`/`failed`.
    counted: HashSet<String>,
    /// Pods seen unfinished, so one that vanishes can be counted as failed.
    unfinished: HashSet<String>,
    succeeded: i32,
    failed: i32,
    last_failure: Option<Timestamp>,
    create_failures: u32,
    last_create_failure: Option<Timestamp>,
}

struct Ctx {
    shared: Arc<Shared>,
    recorder: Recorder,
    memory: Mutex<HashMap<String, Memory>>,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct Error(#[from] kube::Error);

/// Runs until aborted.
pub async fn run(shared: Arc<Shared>) {
    let client = shared.client.clone();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "job-controller", None),
        shared,
        memory: Mutex::new(HashMap::new()),
    });
    Controller::new(Api::<Job>::all(client.clone()), watcher::Config::default())
        .owns(Api::<Pod>::all(client), watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

fn error_policy(job: Arc<Job>, err: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(job = %job.name_any(), "syncing a Job: {err}");
    Action::requeue(Duration::from_secs(1))
}

async fn reconcile(cached: Arc<Job>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let client = ctx.shared.client.clone();
    let ns = cached.namespace().unwrap_or_default();
    let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
    // The cache may lag behind this controller's own status writes; the server does not.
    let Some(job) = jobs.get_opt(&cached.name_any()).await? else {
        if let Some(uid) = cached.uid() {
            ctx.memory
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&uid);
        }
        return Ok(Action::await_change());
    };
    if job.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let uid = job.uid().unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(client, &ns);
    let selector = format!("batch.kubernetes.io/controller-uid={uid}");
    let owned: Vec<Pod> = pods
        .list(&ListParams::default().labels(&selector))
        .await?
        .items
        .into_iter()
        .filter(|p| p.owner_references().iter().any(|o| o.uid == uid))
        .collect();
    let remembered = ctx
        .memory
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&uid)
        .cloned();
    let mem = remembered.unwrap_or_else(|| first_sight(&job, &owned));
    let (action, mem) = sync(&ctx, &job, &owned, mem).await?;
    ctx.memory
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(uid, mem);
    Ok(action)
}

/// What a controller that has not seen this Job before assumes was already counted.
fn first_sight(job: &Job, pods: &[Pod]) -> Memory {
    let status = job.status.clone().unwrap_or_default();
    let mut mem = Memory {
        succeeded: status.succeeded.unwrap_or(0),
        failed: status.failed.unwrap_or(0),
        ..Memory::default()
    };
    if mem.succeeded + mem.failed > 0 {
        for p in pods.iter().filter(|p| terminal(p)) {
            mem.counted.extend(p.uid());
            if phase(p) == "Failed" {
                mem.last_failure = mem.last_failure.max(finished_at(p));
            }
        }
    }
    mem
}

async fn sync(
    ctx: &Ctx,
    job: &Job,
    pods: &[Pod],
    mut mem: Memory,
) -> Result<(Action, Memory), Error> {
    let now = Timestamp::now();
    let status = job.status.clone().unwrap_or_default();
    let conds = status.conditions.clone().unwrap_or_default();
    if condition_true(&conds, "Complete") || condition_true(&conds, "Failed") {
        return Ok((Action::await_change(), mem));
    }
    let spec = job.spec.clone().unwrap_or_default();
    let mut conditions: Vec<Value> = conds
        .iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();

    let present: HashSet<String> = pods.iter().filter_map(|p| p.uid()).collect();
    for pod in pods.iter().filter(|p| terminal(p)) {
        if mem.counted.insert(pod.uid().unwrap_or_default()) {
            if phase(pod) == "Succeeded" {
                mem.succeeded += 1;
            } else {
                mem.failed += 1;
                mem.last_failure = mem.last_failure.max(finished_at(pod).or(Some(now)));
            }
        }
    }
    for uid in mem
        .unfinished
        .difference(&present)
        .cloned()
        .collect::<Vec<_>>()
    {
        if mem.counted.insert(uid) {
            mem.failed += 1;
            mem.last_failure = Some(now);
        }
    }
    let unfinished: Vec<&Pod> = pods.iter().filter(|p| !terminal(p)).collect();
    mem.unfinished = unfinished.iter().filter_map(|p| p.uid()).collect();
    let active: Vec<&Pod> = unfinished
        .iter()
        .copied()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    let mut terminating = unfinished.len() - active.len();
    let mut active_count = active.len();
    let ready = active.iter().filter(|p| pod_ready(p)).count();

    let mut notes: Vec<(&str, String, String)> = Vec::new();
    let mut start_time = status.start_time.as_ref().map(|t| t.0);
    let mut completion_time = status.completion_time.as_ref().map(|t| t.0);
    let mut requeue: Option<Duration> = None;
    let mut to_delete: Vec<&Pod> = Vec::new();
    let base = ctx.shared.config.job_backoff_base;

    if spec.suspend == Some(true) {
        to_delete = active.clone();
        if !condition_true(&conds, "Suspended") {
            set_condition(
                &mut conditions,
                "Suspended",
                true,
                "JobSuspended",
                "Job suspended",
                now,
            );
            notes.push((events::NORMAL, "Suspended".into(), "Job suspended".into()));
        }
    } else {
        if condition_true(&conds, "Suspended") {
            set_condition(
                &mut conditions,
                "Suspended",
                false,
                "JobResumed",
                "Job resumed",
                now,
            );
            notes.push((events::NORMAL, "Resumed".into(), "Job resumed".into()));
            start_time = None;
        }
        let start = *start_time.get_or_insert(now);
        let target = conds
            .iter()
            .find(|c| c.type_ == "FailureTarget" && c.status == "True")
            .map(|c| {
                (
                    c.reason.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default(),
                )
            });
        let deadline = spec
            .active_deadline_seconds
            .map(|s| start + jiff::SignedDuration::from_secs(s));
        let failure = target.or_else(|| {
            if mem.succeeded >= 1 {
                None
            } else if mem.failed > spec.backoff_limit.unwrap_or(6)
                || past_backoff_on_failure(job, &active)
            {
                Some((
                    "BackoffLimitExceeded".into(),
                    "Job has reached the specified backoff limit".into(),
                ))
            } else if deadline.is_some_and(|d| d <= now) {
                Some((
                    "DeadlineExceeded".into(),
                    "Job was active longer than specified deadline".into(),
                ))
            } else {
                None
            }
        });
        if let Some((reason, message)) = failure {
            if !condition_true(&conds, "FailureTarget") {
                notes.push((events::WARNING, reason.clone(), message.clone()));
            }
            set_condition(
                &mut conditions,
                "FailureTarget",
                true,
                &reason,
                &message,
                now,
            );
            to_delete = active.clone();
            if active.is_empty() && terminating == 0 {
                set_condition(&mut conditions, "Failed", true, &reason, &message, now);
            }
        } else if mem.succeeded >= 1 {
            to_delete = active.clone();
            let (reason, message) = (
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            );
            set_condition(
                &mut conditions,
                "SuccessCriteriaMet",
                true,
                reason,
                message,
                now,
            );
            set_condition(&mut conditions, "Complete", true, reason, message, now);
            completion_time = Some(now);
            notes.push((events::NORMAL, "Completed".into(), "Job completed".into()));
        } else {
            if active.is_empty() {
                let wait = remaining(mem.last_failure, backoff(base, mem.failed as u32), now).max(
                    remaining(
                        mem.last_create_failure,
                        api_backoff(ctx.shared.config.job_api_backoff_base, mem.create_failures),
                        now,
                    ),
                );
                if !wait.is_zero() {
                    requeue = Some(wait);
                } else {
                    if create(ctx, job, &mut mem, &mut notes, &mut requeue, now).await? {
                        active_count += 1;
                    }
                }
            }
            if let Some(d) = deadline {
                let left: Duration = d.duration_since(now).try_into().unwrap_or(Duration::ZERO);
                requeue = Some(requeue.map_or(left, |r| r.min(left)));
            }
        }
    }

    let pods_api: Api<Pod> = Api::namespaced(
        ctx.shared.client.clone(),
        &job.namespace().unwrap_or_default(),
    );
    for pod in to_delete {
        match pods_api
            .delete(&pod.name_any(), &DeleteParams::default())
            .await
        {
            Ok(_) => {
                notes.push((
                    events::NORMAL,
                    "SuccessfulDelete".into(),
                    format!("Deleted pod: {}", pod.name_any()),
                ));
                terminating += 1;
                active_count -= 1;
            }
            Err(kube::Error::Api(s)) if s.code == 404 => active_count -= 1,
            Err(e) => return Err(e.into()),
        }
    }

    let nonzero = |n: i64| if n > 0 { json!(n) } else { Value::Null };
    let patch = json!({"status": {
        "active": nonzero(active_count as i64),
        "ready": ready.min(active_count),
        "terminating": terminating,
        "succeeded": nonzero(mem.succeeded.into()),
        "failed": nonzero(mem.failed.into()),
        "startTime": start_time.map(time),
        "completionTime": completion_time.map(time),
        "conditions": if conditions.is_empty() { Value::Null } else { json!(conditions) },
        "uncountedTerminatedPods": {},
    }});
    let jobs: Api<Job> = Api::namespaced(
        ctx.shared.client.clone(),
        &job.namespace().unwrap_or_default(),
    );
    jobs.patch_status(
        &job.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    for (kind, reason, message) in notes {
        ctx.recorder.record(job, kind, &reason, &message).await;
    }
    let action = requeue.map_or_else(Action::await_change, Action::requeue);
    Ok((action, mem))
}

/// Creates the Job's next pod; a refusal is recorded and retried after a back-off.
async fn create(
    ctx: &Ctx,
    job: &Job,
    mem: &mut Memory,
    notes: &mut Vec<(&'static str, String, String)>,
    requeue: &mut Option<Duration>,
    now: Timestamp,
) -> Result<bool, Error> {
    let pods: Api<Pod> = Api::namespaced(
        ctx.shared.client.clone(),
        &job.namespace().unwrap_or_default(),
    );
    match pods
        .create(&PostParams::default(), &pod_from_template(job))
        .await
    {
        Ok(pod) => {
            mem.unfinished.extend(pod.uid());
            mem.create_failures = 0;
            mem.last_create_failure = None;
            notes.push((
                events::NORMAL,
                "SuccessfulCreate".into(),
                format!("Created pod: {}", pod.name_any()),
            ));
            Ok(true)
        }
        Err(kube::Error::Api(s)) if s.code < 500 => {
            mem.create_failures += 1;
            mem.last_create_failure = Some(now);
            // As Kubernetes' pod control: in a namespace going away every creation fails,
            // and saying so each time would only be noise.
            let terminating = s
                .details
                .as_ref()
                .is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"));
            if !terminating {
                notes.push((
                    events::WARNING,
                    "FailedCreate".into(),
                    format!("Error creating: {}", s.message),
                ));
            }
            *requeue = Some(api_backoff(
                ctx.shared.config.job_api_backoff_base,
                mem.create_failures,
            ));
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}
