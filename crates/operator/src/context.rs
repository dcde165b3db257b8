//! What every reconcile shares.

use std::sync::Arc;

use kube::Client;
use tibr_runtime::events::Recorder;

use crate::{Settings, gc::GcRestorer, metrics::Metrics};

/// Shared by the controllers: the client, the settings, the Event recorder, the metrics
/// and the way to reach TiDB.
pub struct Context {
    pub client: Client,
    pub settings: Settings,
    pub recorder: Recorder,
    pub metrics: Metrics,
    pub gc: Arc<dyn GcRestorer>,
}
