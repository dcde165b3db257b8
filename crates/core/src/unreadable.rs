//! Objects the API holds that cannot be read as their kind: a value its CRD let through
//! (an older CRD without ranges, a write straight to etcd) that our types do not take.
//! Such an object is named with the field at fault, marked on its own status where that
//! can be written, and left out of lists, so that it stops nothing but itself.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};
use tibr_api::{
    BackupCondition, BackupConditionType, ConditionStatus, pingcap::v1alpha1::BackupStatus,
};

use crate::reconcile::reasons;
use crate::{
    backup::status::{NewCondition, set_condition},
    schedule::{ConditionType, ScheduleCondition, apply_conditions},
};

/// Why an object cannot be read: the first field that does not fit its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// `spec.br.concurrency`, `spec.additionalVolumes[0].secret.defaultMode`; `.` when the
    /// object as a whole is the problem.
    pub field: String,
    /// What is wrong with it, e.g. ``invalid value: integer `99999999999`, expected u32``.
    pub problem: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Reads `object` as a `T`, naming the field that does not fit.
pub fn read<T: DeserializeOwned>(object: Value) -> Result<T, Unreadable> {
    serde_path_to_error::deserialize(object).map_err(|e| Unreadable {
        field: e.path().to_string(),
        problem: e.inner().to_string(),
    })
}

/// An object of a list that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub namespace: String,
    pub name: String,
    pub why: Unreadable,
}

/// Reads each object on its own: one that does not fit is set apart instead of failing
/// the whole list, which would stop the work on every other object of the list.
pub fn read_each<T: DeserializeOwned>(
    objects: impl IntoIterator<Item = Value>,
) -> (Vec<T>, Vec<Skipped>) {
    let mut read_ok = Vec::new();
    let mut skipped = Vec::new();
    for object in objects {
        let meta = |key: &str| {
            object["metadata"][key]
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let (namespace, name) = (meta("namespace"), meta("name"));
        match read(object) {
            Ok(t) => read_ok.push(t),
            Err(why) => skipped.push(Skipped {
                namespace,
                name,
                why,
            }),
        }
    }
    (read_ok, skipped)
}

/// The phase and conditions of a status as stored. Only these are read, so that a bad
/// value elsewhere in the status does not stop the status from being marked; conditions
/// that cannot be read themselves are replaced.
#[derive(Deserialize)]
#[serde(bound = "C: DeserializeOwned")]
struct Recorded<C> {
    #[serde(default)]
    phase: Option<BackupConditionType>,
    #[serde(default)]
    conditions: Vec<C>,
    #[serde(default, rename = "nextBackupTime")]
    next_backup_time: Option<Value>,
}

fn recorded<C: DeserializeOwned>(status: Option<&Value>) -> Recorded<C> {
    status
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or(Recorded {
            phase: None,
            conditions: Vec::new(),
            next_backup_time: None,
        })
}

/// The `status` of a JSON merge patch that marks an unreadable Backup `Invalid` (phase and
/// an `Invalid` condition naming the field), by the rule every status writer follows
/// ([`set_condition`]). `status` is the object's status as stored, `generation` its
/// `metadata.generation`. `None` when the status already says so.
pub fn backup_status(
    status: Option<&Value>,
    generation: Option<i64>,
    why: &Unreadable,
    now: Timestamp,
) -> Option<Value> {
    let recorded = recorded::<BackupCondition>(status);
    let mut status = BackupStatus {
        phase: recorded.phase,
        conditions: recorded.conditions,
        ..BackupStatus::default()
    };
    let changed = set_condition(
        &mut status,
        NewCondition::true_(
            BackupConditionType::Invalid,
            reasons::INVALID_OBJECT,
            why.to_string(),
        ),
        generation,
        now,
    );
    // A merge patch replaces a list whole: every condition goes, not only the new one.
    changed.then(|| json!({"phase": status.phase, "conditions": status.conditions}))
}

/// The `status` of a JSON merge patch that marks an unreadable BackupSchedule as not
/// `Valid`, naming the field, the way an invalid spec is reported
/// ([`apply_conditions`]); like one, it has no next backup time. `None` when the status
/// already says so.
pub fn schedule_status(
    status: Option<&Value>,
    generation: Option<i64>,
    why: &Unreadable,
    now: Timestamp,
) -> Option<Value> {
    let recorded = recorded::<Condition>(status);
    let mut conditions = recorded.conditions;
    let changed = apply_conditions(
        &mut conditions,
        &[ScheduleCondition {
            type_: ConditionType::Valid,
            status: ConditionStatus::False,
            reason: reasons::INVALID_OBJECT,
            message: why.to_string(),
        }],
        generation,
        now,
    );
    (changed || recorded.next_backup_time.is_some())
        .then(|| json!({"conditions": conditions, "nextBackupTime": null}))
}

#[cfg(test)]
mod tests;
