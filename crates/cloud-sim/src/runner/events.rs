//! Events about Jobs and pods, written as core/v1 Events like client-go's recorder does
//! for the job controller, the scheduler and the kubelet, so `kubectl describe` shows
//! them. Unlike client-go, repeated events are not merged into one with a count.

use k8s_openapi::{
    api::core::v1::{Event, EventSource, ObjectReference},
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time},
};
use kube::{Api, Resource, ResourceExt, api::PostParams};

#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    component: &'static str,
    host: Option<String>,
}

pub const NORMAL: &str = "Normal";
pub const WARNING: &str = "Warning";

impl Recorder {
    pub fn new(client: kube::Client, component: &'static str, host: Option<String>) -> Self {
        Recorder {
            client,
            component,
            host,
        }
    }

    /// Records an event about `obj`; failures are logged, never returned, since an event
    /// that cannot be written must not stop the work it describes.
    pub async fn record<K>(&self, obj: &K, kind_type: &str, reason: &str, message: &str)
    where
        K: Resource<DynamicType = ()>,
    {
        let reference = ObjectReference {
            api_version: Some(K::api_version(&()).to_string()),
            kind: Some(K::kind(&()).to_string()),
            name: Some(obj.name_any()),
            namespace: obj.namespace(),
            uid: obj.uid(),
            resource_version: obj.resource_version(),
            ..ObjectReference::default()
        };
        let ns = obj.namespace().unwrap_or_else(|| "default".to_string());
        let now = jiff::Timestamp::now();
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{}.{:x}", obj.name_any(), now.as_nanosecond())),
                namespace: Some(ns.clone()),
                ..ObjectMeta::default()
            },
            involved_object: reference,
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            type_: Some(kind_type.to_string()),
            source: Some(EventSource {
                component: Some(self.component.to_string()),
                host: self.host.clone(),
            }),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            count: Some(1),
            reporting_component: Some(self.component.to_string()),
            reporting_instance: Some(self.host.clone().unwrap_or_default()),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        if let Err(e) = api.create(&PostParams::default(), &event).await {
            tracing::debug!(reason, "recording an event: {e}");
        }
    }
}
