//! Conditions and phase, the way every writer of a Backup's status updates them.
//!
//! TiDB Operator's rule, kept for compatibility: `status.phase` is the type of the most
//! recently set condition (except `Restart`, a marker). Conditions are keyed by type, never
//! removed; setting one again updates it in place. Following Kubernetes conventions,
//! `lastTransitionTime` changes only when the condition's status changes, and
//! `observedGeneration` records the spec generation the writer acted on.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::{
    conditions::{BackupCondition, BackupConditionType, ConditionStatus},
    pingcap::v1alpha1::BackupStatus,
};

/// A condition to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCondition {
    pub type_: BackupConditionType,
    pub status: ConditionStatus,
    pub reason: Option<String>,
    pub message: Option<String>,
}

impl NewCondition {
    /// A `True` condition with a reason and message.
    pub fn true_(type_: BackupConditionType, reason: &str, message: impl Into<String>) -> Self {
        NewCondition {
            type_,
            status: ConditionStatus::True,
            reason: (!reason.is_empty()).then(|| reason.to_string()),
            message: Some(message.into()).filter(|m: &String| !m.is_empty()),
        }
    }

    /// A `False` condition (`Clean` while the clean Job runs).
    pub fn false_(type_: BackupConditionType, reason: &str, message: impl Into<String>) -> Self {
        NewCondition {
            status: ConditionStatus::False,
            ..Self::true_(type_, reason, message)
        }
    }
}

/// Records `new` in `status` at `now` for spec generation `generation`; returns whether
/// anything changed (callers skip writes that change nothing).
pub fn set_condition(
    status: &mut BackupStatus,
    new: NewCondition,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    let existing = status.conditions.iter_mut().find(|c| c.type_ == new.type_);
    let changed = match existing {
        Some(c) => update(c, &new, generation, now),
        None => {
            status.conditions.push(BackupCondition {
                command: None,
                type_: new.type_.clone(),
                status: new.status.clone(),
                last_transition_time: Some(Time(now)),
                reason: new.reason.clone(),
                message: new.message.clone(),
                observed_generation: generation,
            });
            true
        }
    };
    let phase_changed =
        if new.type_ != BackupConditionType::Restart && status.phase.as_ref() != Some(&new.type_) {
            status.phase = Some(new.type_);
            true
        } else {
            false
        };
    changed || phase_changed
}

/// Rewrites a condition already in `status` without making it the phase: for an earlier
/// step whose text went stale once a later step was reached (a `Scheduled` still saying the
/// pod could not be created, after the pod ran). An absent condition stays absent. Returns
/// whether anything changed.
pub fn amend_condition(
    status: &mut BackupStatus,
    new: &NewCondition,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == new.type_)
        .is_some_and(|c| update(c, new, generation, now))
}

fn update(
    c: &mut BackupCondition,
    new: &NewCondition,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> bool {
    let same = c.status == new.status
        && c.reason == new.reason
        && c.message == new.message
        && c.observed_generation == generation;
    if c.status != new.status || c.last_transition_time.is_none() {
        c.last_transition_time = Some(Time(now));
    }
    c.status = new.status.clone();
    c.reason = new.reason.clone();
    c.message = new.message.clone();
    c.observed_generation = generation;
    !same
}

/// Whether `status` has condition `type_` with status `True`.
pub fn is_true(status: Option<&BackupStatus>, type_: &BackupConditionType) -> bool {
    status
        .and_then(|s| s.condition(type_))
        .is_some_and(BackupCondition::is_true)
}

/// SI units as `humanize.Bytes` prints them (`12 GB`, `4.2 MB`), for `backupSizeReadable`.
pub fn readable_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 10 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / 1000f64.ln()).floor() as usize;
    let exp = exp.min(UNITS.len() - 1);
    let value = (bytes as f64 / 1000f64.powi(exp as i32) * 10.0 + 0.5).floor() / 10.0;
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[exp])
    } else {
        format!("{value:.0} {}", UNITS[exp])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn phase_follows_the_latest_condition_and_transitions_are_stable() {
        let mut status = BackupStatus::default();
        assert!(set_condition(
            &mut status,
            NewCondition::true_(BackupConditionType::Scheduled, "", ""),
            Some(1),
            ts("2026-01-01T00:00:00Z")
        ));
        assert_eq!(status.phase, Some(BackupConditionType::Scheduled));
        set_condition(
            &mut status,
            NewCondition::true_(BackupConditionType::Running, "", ""),
            Some(1),
            ts("2026-01-01T00:01:00Z"),
        );
        assert_eq!(status.phase, Some(BackupConditionType::Running));
        // Restart marks a re-run but does not change the phase.
        set_condition(
            &mut status,
            NewCondition::true_(BackupConditionType::Restart, "", ""),
            Some(1),
            ts("2026-01-01T00:02:00Z"),
        );
        assert_eq!(status.phase, Some(BackupConditionType::Running));
        // Setting the same condition again changes nothing.
        assert!(!set_condition(
            &mut status,
            NewCondition::true_(BackupConditionType::Running, "", ""),
            Some(1),
            ts("2026-01-01T00:03:00Z")
        ));
        // A new message keeps the transition time; a status flip moves it.
        set_condition(
            &mut status,
            NewCondition::false_(BackupConditionType::Clean, "", "deleting"),
            Some(1),
            ts("2026-01-01T00:04:00Z"),
        );
        set_condition(
            &mut status,
            NewCondition::false_(BackupConditionType::Clean, "", "50%"),
            Some(1),
            ts("2026-01-01T00:05:00Z"),
        );
        let clean = status
            .condition(&BackupConditionType::Clean)
            .unwrap()
            .clone();
        assert_eq!(
            clean.last_transition_time.unwrap().0,
            ts("2026-01-01T00:04:00Z")
        );
        set_condition(
            &mut status,
            NewCondition::true_(BackupConditionType::Clean, "", "done"),
            Some(1),
            ts("2026-01-01T00:06:00Z"),
        );
        let clean = status.condition(&BackupConditionType::Clean).unwrap();
        assert_eq!(
            clean.last_transition_time.as_ref().unwrap().0,
            ts("2026-01-01T00:06:00Z")
        );
        assert_eq!(status.conditions.len(), 4);
        assert!(is_true(Some(&status), &BackupConditionType::Clean));
    }

    #[test]
    fn amending_rewrites_a_past_condition_but_not_the_phase() {
        let mut status = BackupStatus::default();
        let at = ts("2026-01-01T00:00:00Z");
        let fixed = NewCondition::true_(BackupConditionType::Scheduled, "JobCreated", "created");
        assert!(
            !amend_condition(&mut status, &fixed, Some(1), at),
            "absent stays absent"
        );
        assert!(status.conditions.is_empty());
        set_condition(
            &mut status,
            NewCondition::true_(BackupConditionType::Scheduled, "FailedCreate", "refused"),
            Some(1),
            at,
        );
        set_condition(
            &mut status,
            NewCondition::true_(BackupConditionType::Prepare, "", ""),
            Some(1),
            at,
        );
        assert!(amend_condition(
            &mut status,
            &fixed,
            Some(1),
            ts("2026-01-01T00:01:00Z")
        ));
        assert_eq!(status.phase, Some(BackupConditionType::Prepare));
        let c = status
            .condition(&BackupConditionType::Scheduled)
            .unwrap()
            .clone();
        assert_eq!(
            (c.reason.as_deref(), c.message.as_deref()),
            (Some("JobCreated"), Some("created"))
        );
        assert_eq!(
            c.last_transition_time.unwrap().0,
            at,
            "still True: no transition"
        );
        assert!(!amend_condition(&mut status, &fixed, Some(1), at));
    }

    #[test]
    fn sizes_read_like_humanize() {
        assert_eq!(readable_size(0), "0 B");
        assert_eq!(readable_size(999), "999 B");
        assert_eq!(readable_size(12_897), "13 kB");
        assert_eq!(readable_size(4_194_301), "4.2 MB");
        assert_eq!(readable_size(12_000_000_000), "12 GB");
    }
}
