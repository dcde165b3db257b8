//! Recording the Events a plan asks for (see [`tibr_runtime::events::publish`]), and the
//! Warning on an object that cannot be read.

use k8s_openapi::{api::core::v1::ObjectReference, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use tibr_core::reconcile::{Event, reasons};

use crate::Context;

/// Records `event` about the object `about` refers to (see
/// [`tibr_runtime::events::publish`]).
pub async fn publish(ctx: &Context, about: &ObjectReference, event: &Event) {
    tibr_runtime::events::publish(&ctx.recorder, about, event).await;
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
