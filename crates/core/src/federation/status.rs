//! A VolumeBackup's conditions and phase, by the rule every status writer of ours follows
//! (`crate::reconcile::update_condition`): `status.phase` is the type of the condition
//! set last, as in TiDB's manager, and a transition time moves only with the status.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::{
    ConditionStatus, VolumeBackupCondition, VolumeBackupConditionType,
    federation::v1alpha1::VolumeBackupStatus,
};

use crate::reconcile::{ConditionRecord, update_condition};

/// A condition to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCondition {
    pub type_: VolumeBackupConditionType,
    pub status: ConditionStatus,
    pub reason: String,
    pub message: String,
}

impl NewCondition {
    pub fn true_(
        type_: VolumeBackupConditionType,
        reason: &str,
        message: impl Into<String>,
    ) -> Self {
        NewCondition {
            type_,
            status: ConditionStatus::True,
            reason: reason.to_string(),
            message: message.into(),
        }
    }

    pub fn false_(
        type_: VolumeBackupConditionType,
        reason: &str,
        message: impl Into<String>,
    ) -> Self {
        NewCondition {
            status: ConditionStatus::False,
            ..Self::true_(type_, reason, message)
        }
    }
}

impl ConditionRecord for VolumeBackupCondition {
    fn status(&self) -> &str {
        self.status.as_str()
    }
    fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or_default()
    }
    fn message(&self) -> &str {
        self.message.as_deref().unwrap_or_default()
    }
    fn observed_generation(&self) -> Option<i64> {
        self.observed_generation
    }
    fn has_transition_time(&self) -> bool {
        self.last_transition_time.is_some()
    }
    fn set(&mut self, status: &str, reason: &str, message: &str, generation: Option<i64>) {
        self.status = ConditionStatus::from(status);
        self.reason = (!reason.is_empty()).then(|| reason.to_string());
        self.message = (!message.is_empty()).then(|| message.to_string());
        self.observed_generation = generation;
    }
    fn set_transition_time(&mut self, at: Timestamp) {
        self.last_transition_time = Some(Time(at));
    }
}

/// Records `new` in order into `status` at `now`; the last one becomes the phase. Returns
/// whether anything changed.
pub(crate) fn apply_conditions(
    status: &mut VolumeBackupStatus,
    new: &[NewCondition],
    generation: Option<i64>,
    now: Timestamp,
) -> bool {
    let mut changed = false;
    for n in new {
        let status_text = n.status.as_str();
        match status.conditions.iter_mut().find(|c| c.type_ == n.type_) {
            Some(c) => {
                changed |= update_condition(c, status_text, &n.reason, &n.message, generation, now)
            }
            None => {
                let mut c = VolumeBackupCondition {
                    type_: n.type_.clone(),
                    status: n.status.clone(),
                    last_transition_time: None,
                    reason: None,
                    message: None,
                    observed_generation: None,
                };
                update_condition(&mut c, status_text, &n.reason, &n.message, generation, now);
                status.conditions.push(c);
                changed = true;
            }
        }
        if status.phase.as_ref() != Some(&n.type_) {
            status.phase = Some(n.type_.clone());
            changed = true;
        }
    }
    changed
}

/// Whether the VolumeBackup's condition `type_` is `True`.
pub(crate) fn is_true(
    status: Option<&VolumeBackupStatus>,
    type_: &VolumeBackupConditionType,
) -> bool {
    status
        .and_then(|s| s.conditions.iter().find(|c| &c.type_ == type_))
        .is_some_and(VolumeBackupCondition::is_true)
}
