//! What stops a schedule from creating Backups at all: an unparsable `spec.schedule`, a
//! name too long for its runs' Jobs, a template a Backup would refuse. Reported in the
//! `Valid` condition, every problem named by its field.

use tibr_api::ConditionStatus;

use super::super::{
    backup::check_name_length,
    cron::Cron,
    kind::ScheduleKind,
    plan::{ConditionType, ScheduleCondition, SpecProblem},
};
use crate::duration::format_go_duration;
use crate::reconcile::reasons;

/// The schedule's cron, when it parses, and every problem with the spec.
pub(super) fn check<S: ScheduleKind>(schedule: &S) -> (Option<Cron>, Vec<SpecProblem>) {
    let name = schedule.meta().name.as_deref().unwrap_or_default();
    let text = schedule.cron_text();
    let mut problems: Vec<SpecProblem> = Vec::new();
    let cron = Cron::parse(text)
        .map_err(|e| {
            problems.push(SpecProblem {
                field: "spec.schedule".into(),
                reason: reasons::INVALID_SCHEDULE,
                message: format!("{text:?} {e}"),
            })
        })
        .ok();
    if let Err(p) = check_name_length(name, S::MAX_NAME, S::JOB_PATTERN) {
        problems.push(p);
    }
    problems.extend(schedule.template_problems());
    (cron, problems)
}

pub(super) fn valid_condition(
    problems: &[SpecProblem],
    cron: Option<&Cron>,
    text: &str,
) -> ScheduleCondition {
    match (problems.first(), cron) {
        (Some(first), _) => ScheduleCondition {
            type_: ConditionType::Valid,
            status: ConditionStatus::False,
            reason: first.reason,
            message: problems
                .iter()
                .map(SpecProblem::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        },
        (None, Some(cron)) => ScheduleCondition {
            type_: ConditionType::Valid,
            status: ConditionStatus::True,
            reason: reasons::VALID,
            message: match cron.every() {
                Some(d) => format!(
                    "schedule {:?} fires every {}, at multiples of it since 1970-01-01T00:00:00Z",
                    text.trim(),
                    format_go_duration(d)
                ),
                None => format!(
                    "schedule {:?} runs in time zone {}",
                    text.trim(),
                    cron.zone().name()
                ),
            },
        },
        // Unreachable: without a cron there is a problem.
        (None, None) => flag(ConditionType::Valid, false, ("", ""), ("Invalid", "")),
    }
}

pub(super) fn flag(
    type_: ConditionType,
    on: bool,
    when_true: (&'static str, &str),
    when_false: (&'static str, &str),
) -> ScheduleCondition {
    let ((reason, message), status) = if on {
        (when_true, ConditionStatus::True)
    } else {
        (when_false, ConditionStatus::False)
    };
    ScheduleCondition {
        type_,
        status,
        reason,
        message: message.to_string(),
    }
}
