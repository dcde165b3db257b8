//! Recording the Events a plan asks for. An Event that cannot be recorded (for example in
//! a namespace being deleted) is logged instead and never fails a reconcile; Warnings are
//! always logged too, so they survive Events' one-hour lifetime.

use k8s_openapi::{api::core::v1::ObjectReference, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::runtime::events::{Event as KubeEvent, EventType};
use tibr_core::reconcile::{Event, EventKind, EventSubject, reasons};

use crate::Context;

fn namespace_ref(namespace: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Namespace".into()),
        name: Some(namespace.into()),
        ..ObjectReference::default()
    }
}

/// Records `event` about the object `about` refers to (or about its namespace, as the
/// event says), with its related object in the same namespace.
pub async fn publish(ctx: &Context, about: &ObjectReference, event: &Event) {
    let namespace = about.namespace.clone().unwrap_or_default();
    let name = about.name.clone().unwrap_or_default();
    let related = event.related.as_ref().map(|r| ObjectReference {
        api_version: Some(r.api_version.clone()),
        kind: Some(r.kind.clone()),
        namespace: Some(namespace.clone()),
        name: Some(r.name.clone()),
        ..ObjectReference::default()
    });
    let (regarding, secondary) = match event.subject {
        EventSubject::Object => (about.clone(), related),
        EventSubject::Namespace => (namespace_ref(&namespace), Some(about.clone())),
    };
    let kind = about.kind.clone().unwrap_or_default();
    if event.kind == EventKind::Warning {
        tracing::warn!(object.kind = %kind, object.namespace = %namespace, object.name = %name, reason = %event.reason, "{}", event.note);
    } else {
        tracing::info!(object.kind = %kind, object.namespace = %namespace, object.name = %name, reason = %event.reason, "{}", event.note);
    }
    let recorded = KubeEvent {
        type_: match event.kind {
            EventKind::Normal => EventType::Normal,
            EventKind::Warning => EventType::Warning,
        },
        reason: event.reason.clone(),
        note: Some(truncate(&event.note, 1000)),
        action: event.action.clone(),
        secondary,
    };
    if let Err(e) = ctx.recorder.publish(&recorded, &regarding).await {
        tracing::warn!(object.kind = %kind, object.namespace = %namespace, object.name = %name, reason = %event.reason, error = %e, "could not record the Event");
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
    let reference = ObjectReference {
        api_version: Some("pingcap.com/v1alpha1".into()),
        kind: Some(kind.into()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        ..Default::default()
    };
    let event = Event::warning(
        reasons::INVALID_OBJECT,
        "Read",
        format!("this {kind} cannot be read: {problem}; fix the field and it is picked up again"),
    );
    publish(ctx, &reference, &event).await;
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
