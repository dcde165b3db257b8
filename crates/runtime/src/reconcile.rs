//! What every controller's reconcile shares, whatever it reconciles: the same three metric
//! series (reconciles, failures by category, duration), and the same policy after a failure
//! (log it, except a conflict, which only means "read again"; retry when the error says).

use std::{future::Future, time::Duration, time::Instant};

use kube::runtime::controller::Action;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};

/// A controller's error, as the shared policy needs to see it.
pub trait ReconcileError: std::fmt::Display {
    /// A short, fixed name for the kind of failure (a metric label).
    fn category(&self) -> &'static str;
    /// When to try again; `None` means only when the object changes.
    fn retry_after(&self) -> Option<Duration>;
    /// The object changed since it was read: routine, worth no warning.
    fn is_conflict(&self) -> bool;
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabels {
    controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    controller: &'static str,
    category: &'static str,
}

/// `reconciles`, `reconcile_errors` and `reconcile_duration_seconds`, by controller.
#[derive(Clone, Debug)]
pub struct ReconcileMetrics {
    reconciles: Family<ControllerLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    duration: Family<ControllerLabels, Histogram>,
}

impl ReconcileMetrics {
    /// Registers the series in `registry` (under the program's prefix).
    pub fn register(registry: &mut Registry) -> Self {
        let m = ReconcileMetrics {
            reconciles: Family::default(),
            errors: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
            }),
        };
        registry.register(
            "reconciles",
            "Reconciles run, by controller",
            m.reconciles.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by controller and error category",
            m.errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile, by controller",
            m.duration.clone(),
        );
        m
    }

    /// Runs one reconcile of `controller`, counting and timing it.
    pub async fn instrument<T, E: ReconcileError>(
        &self,
        controller: &'static str,
        reconcile: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = reconcile.await;
        let labels = ControllerLabels { controller };
        self.reconciles.get_or_create(&labels).inc();
        self.duration
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            self.errors
                .get_or_create(&ErrorLabels {
                    controller,
                    category: e.category(),
                })
                .inc();
        }
        result
    }
}

/// What a controller does after a failed reconcile of `kind` `namespace/name`.
pub fn after_error<E: ReconcileError>(
    error: &E,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Action {
    if error.is_conflict() {
        tracing::debug!(kind, namespace, name, "{error}");
    } else {
        tracing::warn!(
            kind,
            namespace,
            name,
            category = error.category(),
            "{error}"
        );
    }
    error
        .retry_after()
        .map_or_else(Action::await_change, Action::requeue)
}
