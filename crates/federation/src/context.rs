//! What every reconcile shares.

use std::sync::Arc;

use kube::Client;
use tibr_runtime::events::Recorder;

use crate::{Settings, metrics::Metrics, registry::Registry};

/// The control plane's client, the settings, the Event recorder, the metrics and the
/// member clusters.
pub(crate) struct Context {
    pub client: Client,
    pub settings: Settings,
    pub recorder: Recorder,
    pub metrics: Metrics,
    pub registry: Arc<Registry>,
}
