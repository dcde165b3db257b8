//! The Kubernetes rule for a condition written again, in one place for every condition shape
//! we keep: `lastTransitionTime` moves only when the status changes (or was never set),
//! `observedGeneration` records the spec the writer acted on, and a write that changes
//! nothing reports so, so that unchanged status is never written.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use tibr_api::{BackupCondition, ConditionStatus};

/// A stored condition, whatever its shape (TiDB Operator's Backup condition, or
/// Kubernetes' `metav1.Condition`).
pub trait ConditionRecord {
    fn status(&self) -> &str;
    fn reason(&self) -> &str;
    fn message(&self) -> &str;
    fn observed_generation(&self) -> Option<i64>;
    fn has_transition_time(&self) -> bool;
    fn set(&mut self, status: &str, reason: &str, message: &str, generation: Option<i64>);
    fn set_transition_time(&mut self, at: Timestamp);
}

/// Writes `status`/`reason`/`message` for spec `generation` into `c` at `now`; returns
/// whether anything changed.
pub fn update_condition<C: ConditionRecord>(
    c: &mut C,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: Timestamp,
) -> bool {
    let same = c.status() == status
        && c.reason() == reason
        && c.message() == message
        && c.observed_generation() == generation;
    if c.status() != status || !c.has_transition_time() {
        c.set_transition_time(now);
    }
    c.set(status, reason, message, generation);
    !same
}

impl ConditionRecord for BackupCondition {
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

impl ConditionRecord for Condition {
    fn status(&self) -> &str {
        &self.status
    }
    fn reason(&self) -> &str {
        &self.reason
    }
    fn message(&self) -> &str {
        &self.message
    }
    fn observed_generation(&self) -> Option<i64> {
        self.observed_generation
    }
    fn has_transition_time(&self) -> bool {
        true
    }
    fn set(&mut self, status: &str, reason: &str, message: &str, generation: Option<i64>) {
        self.status = status.to_string();
        self.reason = reason.to_string();
        self.message = message.to_string();
        self.observed_generation = generation;
    }
    fn set_transition_time(&mut self, at: Timestamp) {
        self.last_transition_time = Time(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Both shapes follow the same rule: the transition time moves with the status only,
    /// and writing the same thing again changes nothing.
    #[test]
    fn the_transition_time_moves_only_with_the_status() {
        fn check<C: ConditionRecord>(mut c: C, transition: impl Fn(&C) -> Option<Timestamp>) {
            let t1 = at("2026-01-01T00:00:00Z");
            let t2 = at("2026-01-01T01:00:00Z");
            let t3 = at("2026-01-01T02:00:00Z");
            assert!(update_condition(&mut c, "True", "A", "first", Some(1), t1));
            let first = transition(&c);
            assert!(!update_condition(&mut c, "True", "A", "first", Some(1), t2));
            assert!(update_condition(
                &mut c,
                "True",
                "B",
                "reworded",
                Some(2),
                t2
            ));
            assert_eq!(transition(&c), first, "same status: the time stays");
            assert!(update_condition(
                &mut c,
                "False",
                "B",
                "reworded",
                Some(2),
                t3
            ));
            assert_eq!(transition(&c), Some(t3));
            assert_eq!(
                (c.status(), c.reason(), c.observed_generation()),
                ("False", "B", Some(2))
            );
        }
        let backup: BackupCondition = serde_json::from_value(serde_json::json!({
            "type": "Scheduled", "status": "Unknown"
        }))
        .unwrap();
        check(backup, |c| c.last_transition_time.as_ref().map(|t| t.0));
        let kube = Condition {
            type_: "Valid".into(),
            status: "Unknown".into(),
            reason: String::new(),
            message: String::new(),
            last_transition_time: Time(Timestamp::UNIX_EPOCH),
            observed_generation: None,
        };
        check(kube, |c| Some(c.last_transition_time.0));
    }
}
