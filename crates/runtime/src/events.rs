//! Publishing Events (`events.k8s.io/v1`), with repeats folded into a series.
//!
//! kube's own `Recorder` folds an Event into an earlier one with the same type, reason,
//! action and objects, whatever its note says: the second "attempt 2 of 3" or "waits for
//! Backup b" shows up as a count on the first Event's text. Here the note is part of what
//! makes two Events the same, so a new fact gets its own Event and only true repeats
//! become a series.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use k8s_openapi::{
    api::{core::v1::ObjectReference, events::v1::Event as K8sEvent, events::v1::EventSeries},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::{SignedDuration, Timestamp},
};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
    runtime::events::{Event, EventType, Reporter},
};

/// How long a published Event can still grow a series; later repeats start a new Event.
/// (Kubernetes' own recorders use six minutes as well.)
const SERIES_WINDOW: SignedDuration = SignedDuration::from_mins(6);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    warning: bool,
    reason: String,
    action: String,
    note: Option<String>,
    regarding: String,
    related: Option<String>,
}

/// Publishes Events as one reporter (controller and instance).
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    reporter: Reporter,
    published: Arc<Mutex<HashMap<Key, K8sEvent>>>,
}

impl Recorder {
    pub fn new(client: Client, reporter: Reporter) -> Self {
        Recorder {
            client,
            reporter,
            published: Arc::default(),
        }
    }

    /// Publishes `event` about `regarding`, in `regarding`'s namespace: a new Event, or the
    /// next count of an identical one published within the last six minutes.
    pub async fn publish(
        &self,
        event: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = Key {
            warning: matches!(event.type_, EventType::Warning),
            reason: event.reason.clone(),
            action: event.action.clone(),
            note: event.note.clone(),
            regarding: identity(regarding),
            related: event.secondary.as_ref().map(identity),
        };
        let earlier = {
            let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
            published.retain(|_, e| last_seen(e).is_some_and(|t| t + SERIES_WINDOW > now));
            published.get(&key).cloned()
        };
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let written = match earlier {
            Some(mut e) => {
                let count = e.series.as_ref().map_or(2, |s| s.count + 1);
                e.series = Some(EventSeries {
                    count,
                    last_observed_time: MicroTime(now),
                });
                let name = e.metadata.name.clone().unwrap_or_default();
                let patch = serde_json::json!({ "series": e.series });
                api.patch(&name, &self.patch_params(), &Patch::Merge(&patch))
                    .await?;
                e
            }
            None => {
                let e = self.new_event(event, regarding, namespace, now);
                let params = PostParams {
                    field_manager: Some(self.reporter.controller.clone()),
                    ..PostParams::default()
                };
                api.create(&params, &e).await?
            }
        };
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, written);
        Ok(())
    }

    /// Events' `managedFields` name the controller that wrote them.
    fn patch_params(&self) -> PatchParams {
        PatchParams {
            field_manager: Some(self.reporter.controller.clone()),
            ..PatchParams::default()
        }
    }

    fn new_event(
        &self,
        event: &Event,
        regarding: &ObjectReference,
        namespace: &str,
        now: Timestamp,
    ) -> K8sEvent {
        let stem = regarding
            .name
            .as_deref()
            .unwrap_or(&self.reporter.controller);
        K8sEvent {
            metadata: ObjectMeta {
                name: Some(format!("{stem}.{:x}", now.as_nanosecond())),
                namespace: Some(namespace.to_string()),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now)),
            type_: Some(
                match event.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_string(),
            ),
            reason: Some(event.reason.clone()),
            action: Some(event.action.clone()),
            note: event.note.clone(),
            regarding: Some(regarding.clone()),
            related: event.secondary.clone(),
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| self.reporter.controller.clone()),
            ),
            ..K8sEvent::default()
        }
    }
}

fn identity(r: &ObjectReference) -> String {
    format!(
        "{}/{}/{}/{}/{}",
        r.api_version.as_deref().unwrap_or_default(),
        r.kind.as_deref().unwrap_or_default(),
        r.namespace.as_deref().unwrap_or_default(),
        r.name.as_deref().unwrap_or_default(),
        r.uid.as_deref().unwrap_or_default()
    )
}

fn last_seen(e: &K8sEvent) -> Option<Timestamp> {
    e.series
        .as_ref()
        .map(|s| s.last_observed_time.0)
        .or(e.event_time.as_ref().map(|t| t.0))
}

fn namespace_ref(namespace: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Namespace".into()),
        name: Some(namespace.into()),
        ..ObjectReference::default()
    }
}

/// Records a plan's `event` about the object `about` refers to (or about its namespace,
/// as the event says), with its related object in the same namespace. An Event that cannot
/// be recorded (for example in a namespace being deleted) is logged instead and never
/// fails a reconcile; Warnings are always logged too, so they outlive Events' one-hour
/// lifetime.
pub async fn publish(
    recorder: &Recorder,
    about: &ObjectReference,
    event: &tibr_core::reconcile::Event,
) {
    use tibr_core::reconcile::{EventKind, EventSubject};
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
    let recorded = Event {
        type_: match event.kind {
            EventKind::Normal => EventType::Normal,
            EventKind::Warning => EventType::Warning,
        },
        reason: event.reason.clone(),
        note: Some(truncate(&event.note, 1000)),
        action: event.action.clone(),
        secondary,
    };
    if let Err(e) = recorder.publish(&recorded, &regarding).await {
        tracing::warn!(object.kind = %kind, object.namespace = %namespace, object.name = %name, reason = %event.reason, error = %e, "could not record the Event");
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
