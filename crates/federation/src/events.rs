//! Recording the Events a settled plan asks for (see [`tibr_runtime::events::publish`]).

use k8s_openapi::api::core::v1::ObjectReference;
use tibr_core::reconcile::Event;

use crate::context::Context;

/// Records `event` about the object `about` refers to (or about its namespace, when the
/// event says so).
pub(crate) async fn publish(ctx: &Context, about: &ObjectReference, event: &Event) {
    tibr_runtime::events::publish(&ctx.recorder, about, event).await;
}
