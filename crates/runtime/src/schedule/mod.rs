//! What a schedule controller does once `tibr_core::schedule::decide` has spoken, for any
//! kind of schedule (BackupSchedule in the operator, VolumeBackupSchedule in the
//! federation manager): carry out the plan in a fixed order — the tick's run created,
//! retention's runs deleted —, hand what happened to `settle`, and write what that
//! returns: the status, Events, metrics. The run comes before the status: if the status
//! write is lost, the next decision reads the tick back from the run and neither repeats
//! nor loses it. Nothing here decides.

pub mod metrics;
pub mod triggers;

use std::fmt::Debug;

use jiff::Timestamp;
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
    core::NamespaceResourceScope,
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value, json};
use tibr_core::schedule::{Created, Deleted, Outcomes, ScheduleKind, SchedulePlan, settle};

use crate::events::{Recorder, publish};
use metrics::{Done, ScheduleLabels, ScheduleMetrics};

/// A namespaced object of a schedule's kind as this module reads and writes it through a
/// typed `Api`: the schedule itself and its runs.
pub trait Object:
    Resource<DynamicType = (), Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug
{
}

impl<T> Object for T where
    T: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
{
}

/// The longest a schedule sleeps without looking again: a clock step or a lost wake-up
/// costs minutes, never a tick.
pub const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(300);

/// The label selector of the runs a schedule's decision reads: its own, or with a
/// `backup-schedule-group` label every schedule-made run of the namespace (another member
/// of the group can hold it back).
pub fn runs_selector<S: ResourceExt>(schedule: &S) -> String {
    use tibr_api::constants::labels;
    let grouped = schedule
        .labels()
        .get(labels::BACKUP_SCHEDULE_GROUP)
        .is_some_and(|g| !g.is_empty());
    if grouped {
        labels::BACKUP_SCHEDULE.to_string()
    } else {
        format!("{}={}", labels::BACKUP_SCHEDULE, schedule.name_any())
    }
}

/// One reconcile of a schedule whose runs were just read: decide at the current time, carry
/// the plan out, and say when to look again (at most [`MAX_SLEEP`]).
pub async fn decide_and_act<S>(
    actor: &Actor<'_>,
    schedule: &S,
    runs: &[S::Run],
) -> Result<std::time::Duration, ActError>
where
    S: ScheduleKind + Object,
    S::Run: Object + Serialize,
    S::Status: Serialize,
{
    let now = Timestamp::now();
    let plan = tibr_core::schedule::decide(schedule, runs, now);
    tracing::debug!(
        schedule.kind = %S::kind(&()),
        schedule.namespace = %schedule.namespace().unwrap_or_default(),
        schedule.name = %schedule.name_any(),
        create = ?plan.create.as_ref().map(|c| S::run_meta(&c.backup).name.clone()),
        delete = plan.delete.len(),
        requeue = ?plan.requeue,
        "decided"
    );
    let requeue = plan.requeue;
    act(actor, schedule, plan, now).await?;
    Ok(requeue.map_or(MAX_SLEEP, |r| r.min(MAX_SLEEP)))
}

/// What the act step needs from its controller.
pub struct Actor<'a> {
    pub client: &'a Client,
    /// The field manager of every write.
    pub manager: &'a str,
    pub recorder: &'a Recorder,
    pub metrics: &'a ScheduleMetrics,
}

/// Why a reconcile ends in an error (and is retried with back-off).
#[derive(Debug)]
pub enum ActError {
    /// The status could not be written.
    Status { what: String, source: kube::Error },
    /// A create or delete the plan asked for failed; the rest was done.
    Failed { schedule: String, message: String },
}

/// Carries out `plan` for `schedule`, then writes what `settle` makes of how that went.
pub async fn act<S>(
    actor: &Actor<'_>,
    schedule: &S,
    plan: SchedulePlan<S::Run, S::Status>,
    now: Timestamp,
) -> Result<(), ActError>
where
    S: ScheduleKind + Object,
    S::Run: Object + Serialize,
    S::Status: Serialize,
{
    let namespace = schedule.namespace().unwrap_or_default();
    let name = schedule.name_any();
    let runs: Api<S::Run> = Api::namespaced(actor.client.clone(), &namespace);
    let mut outcomes = Outcomes::default();

    if let Some(creation) = &plan.create {
        let params = PostParams {
            field_manager: Some(actor.manager.into()),
            ..PostParams::default()
        };
        outcomes.create = Some(match runs.create(&params, &creation.backup).await {
            Ok(_) => Created::Yes,
            Err(e) if status_code(&e) == Some(409) => Created::Exists,
            Err(e) => Created::Failed(kube_reason(&e)),
        });
    }
    for deletion in &plan.delete {
        outcomes.delete.push(
            match runs
                .delete(&deletion.name, &DeleteParams::background())
                .await
            {
                Ok(_) => Deleted::Yes,
                Err(e) if status_code(&e) == Some(404) => Deleted::Gone,
                Err(e) => Deleted::Failed(kube_reason(&e)),
            },
        );
    }

    let settled = settle(schedule, plan, &outcomes, now);
    let observed = schedule.status();
    if settled.status != observed {
        write_status(actor, schedule, &observed, &settled.status).await?;
    }
    let about = schedule.object_ref(&());
    for event in &settled.events {
        publish(actor.recorder, &about, event).await;
    }
    let key = ScheduleLabels {
        namespace: namespace.clone(),
        schedule: name.clone(),
    };
    let done = Done {
        created: settled.created,
        skipped_ticks: settled.skipped_ticks,
        deleted: settled.deleted,
    };
    actor.metrics.record(&key, &settled.metrics, done);
    match settled.failure {
        Some(message) => Err(ActError::Failed {
            schedule: format!("{namespace}/{name}"),
            message,
        }),
        None => Ok(()),
    }
}

/// A JSON merge patch of the status subresource, guarded by the resourceVersion the
/// decision was made on. Fields the decision cleared are sent as `null` (a merge patch
/// keeps what it does not mention).
async fn write_status<S>(
    actor: &Actor<'_>,
    schedule: &S,
    observed: &S::Status,
    status: &S::Status,
) -> Result<(), ActError>
where
    S: ScheduleKind + Object,
    S::Status: Serialize,
{
    let namespace = schedule.namespace().unwrap_or_default();
    let name = schedule.name_any();
    let mut fields = match serde_json::to_value(status) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Ok(Value::Object(before)) = serde_json::to_value(observed) {
        for key in before.keys() {
            fields.entry(key.clone()).or_insert(Value::Null);
        }
    }
    let patch = json!({
        "metadata": { "resourceVersion": schedule.resource_version() },
        "status": fields,
    });
    let api: Api<S> = Api::namespaced(actor.client.clone(), &namespace);
    api.patch_status(
        &name,
        &PatchParams {
            field_manager: Some(actor.manager.into()),
            ..PatchParams::default()
        },
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|source| ActError::Status {
        what: format!("writing the status of {} {namespace}/{name}", S::kind(&())),
        source,
    })?;
    Ok(())
}

fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// The API server's message for a refused request, else the error itself.
fn kube_reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}
