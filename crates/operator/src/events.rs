//! Recording the Events a plan asks for. An Event that cannot be recorded (for example in
//! a namespace being deleted) is logged instead and never fails a reconcile; Warnings are
//! always logged too, so they survive Events' one-hour lifetime.

use k8s_openapi::{api::core::v1::ObjectReference, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::{
    Resource,
    runtime::events::{Event, EventType},
};
use tibr_api::Backup;
use tibr_core::backup::decide::{EventKind, EventSubject, PlannedEvent, reasons};

use crate::Context;

/// A reference to the Backup, for Events about it.
pub fn backup_ref(backup: &Backup) -> ObjectReference {
    backup.object_ref(&())
}

/// A reference to the schedule, for Events about it.
pub fn schedule_ref(schedule: &tibr_api::BackupSchedule) -> ObjectReference {
    schedule.object_ref(&())
}

fn namespace_ref(namespace: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Namespace".into()),
        name: Some(namespace.into()),
        ..ObjectReference::default()
    }
}

pub async fn publish(ctx: &Context, backup: &Backup, planned: &PlannedEvent) {
    let about = backup_ref(backup);
    let namespace = about.namespace.clone().unwrap_or_default();
    let name = about.name.clone().unwrap_or_default();
    let (regarding, related) = match planned.subject {
        EventSubject::Backup => (about, None),
        EventSubject::Namespace => (namespace_ref(&namespace), Some(about)),
    };
    publish_ref(ctx, &regarding, related, planned, &namespace, &name).await;
}

pub async fn publish_ref(
    ctx: &Context,
    regarding: &ObjectReference,
    related: Option<ObjectReference>,
    planned: &PlannedEvent,
    namespace: &str,
    name: &str,
) {
    let event = Event {
        type_: match planned.kind {
            EventKind::Normal => EventType::Normal,
            EventKind::Warning => EventType::Warning,
        },
        reason: planned.reason.clone(),
        note: Some(truncate(&planned.note, 1000)),
        action: planned.action.clone(),
        secondary: related,
    };
    if planned.kind == EventKind::Warning {
        tracing::warn!(backup.namespace = namespace, backup.name = name, reason = %planned.reason, "{}", planned.note);
    } else {
        tracing::info!(backup.namespace = namespace, backup.name = name, reason = %planned.reason, "{}", planned.note);
    }
    if let Err(e) = ctx.recorder.publish(&event, regarding).await {
        tracing::warn!(backup.namespace = namespace, backup.name = name, reason = %planned.reason, error = %e, "could not record the Event");
    }
}

/// Warns, on the object, that it cannot be read as a `kind` (`problem` names the field),
/// and returns the error that makes the controller wait for an edit. Without this one
/// such object would stall its whole watch.
pub async fn unreadable(
    ctx: &Context,
    kind: &'static str,
    meta: &ObjectMeta,
    problem: &str,
) -> crate::Error {
    let namespace = meta.namespace.clone().unwrap_or_default();
    let name = meta.name.clone().unwrap_or_default();
    let reference = ObjectReference {
        api_version: Some("pingcap.com/v1alpha1".into()),
        kind: Some(kind.into()),
        name: Some(name.clone()),
        namespace: Some(namespace.clone()),
        uid: meta.uid.clone(),
        ..Default::default()
    };
    let event = PlannedEvent::warning(
        reasons::INVALID_OBJECT,
        "Read",
        format!("this {kind} cannot be read: {problem}; fix the field and it is picked up again"),
    );
    publish_ref(ctx, &reference, None, &event, &namespace, &name).await;
    unreadable_error(kind, meta, problem)
}

/// The error for an object of `kind` that cannot be read: the controller waits for an edit.
pub fn unreadable_error(kind: &'static str, meta: &ObjectMeta, problem: &str) -> crate::Error {
    crate::Error::InvalidObject {
        kind,
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        error: problem.to_string(),
    }
}

/// Event notes are limited to 1 kB.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}
