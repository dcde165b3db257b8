//! Recording the Events a settled plan asks for. An Event that cannot be recorded is
//! logged instead and never fails a reconcile; Warnings are always logged too, so they
//! outlive Events' one-hour lifetime.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event as KubeEvent, EventType};
use tibr_core::reconcile::{Event, EventKind, EventSubject};

use crate::context::Context;

/// Records `event` about the object `about` refers to (or about its namespace, when the
/// event says so).
pub(crate) async fn publish(ctx: &Context, about: &ObjectReference, event: &Event) {
    let namespace = about.namespace.clone().unwrap_or_default();
    let name = about.name.clone().unwrap_or_default();
    let (regarding, secondary) = match event.subject {
        EventSubject::Object => (about.clone(), None),
        EventSubject::Namespace => (
            ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Namespace".into()),
                name: Some(namespace.clone()),
                ..ObjectReference::default()
            },
            Some(about.clone()),
        ),
    };
    if event.kind == EventKind::Warning {
        tracing::warn!(volume_backup.namespace = %namespace, volume_backup.name = %name, reason = %event.reason, "{}", event.note);
    } else {
        tracing::info!(volume_backup.namespace = %namespace, volume_backup.name = %name, reason = %event.reason, "{}", event.note);
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
        tracing::warn!(volume_backup.namespace = %namespace, volume_backup.name = %name, reason = %event.reason, error = %e, "could not record the Event");
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
