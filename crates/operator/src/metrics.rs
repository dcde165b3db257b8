//! The operator's Prometheus metrics (`tibr_operator_*`). Labels are bounded: controller
//! names, error categories, phases, outcomes; never messages. Object names appear only in
//! the per-schedule series (see [`crate::schedule::metrics`]).

use std::time::Duration;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub controller: &'static str,
    pub category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CleanLabels {
    /// `job` (a clean Job was created) or `operator` (deleted in process).
    pub by: &'static str,
    pub outcome: &'static str,
}

/// Every metric the operator exports.
#[derive(Clone, Debug)]
pub struct Metrics {
    pub reconciles: Family<ControllerLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub duration: Family<ControllerLabels, Histogram>,
    /// Backups by `status.phase`, recomputed from the informer cache.
    pub backups: Family<PhaseLabels, Gauge>,
    pub clean_runs: Family<CleanLabels, Counter>,
    pub gc_restores: Family<OutcomeLabels, Counter>,
    /// Backups whose data was kept although their policy asked to delete it.
    pub data_kept: Counter,
    /// Per BackupSchedule (`tibr_operator_schedule_*`).
    pub schedules: crate::schedule::metrics::ScheduleMetrics,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Metrics {
            reconciles: Family::default(),
            errors: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
            }),
            backups: Family::default(),
            clean_runs: Family::default(),
            gc_restores: Family::default(),
            data_kept: Counter::default(),
            schedules: Default::default(),
        };
        let r = registry.sub_registry_with_prefix("tibr_operator");
        r.register(
            "reconciles",
            "Reconciles run, by controller",
            m.reconciles.clone(),
        );
        r.register(
            "reconcile_errors",
            "Reconciles that failed, by controller and error category",
            m.errors.clone(),
        );
        r.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile, by controller",
            m.duration.clone(),
        );
        r.register("backups", "Backups by status.phase", m.backups.clone());
        r.register(
            "clean_runs",
            "Deletions of backup data started: by a clean Job or by the operator itself, and how they ended",
            m.clean_runs.clone(),
        );
        r.register(
            "gc_life_time_restores",
            "GC life time restores done by the operator after a backup pod died, by outcome",
            m.gc_restores.clone(),
        );
        r.register(
            "backup_data_kept",
            "Backups deleted with their data kept although cleanPolicy asked to delete it",
            m.data_kept.clone(),
        );
        m.schedules.register_into(r);
        m
    }

    pub fn observe(&self, controller: &'static str, took: Duration, error: Option<&'static str>) {
        self.reconciles
            .get_or_create(&ControllerLabels { controller })
            .inc();
        self.duration
            .get_or_create(&ControllerLabels { controller })
            .observe(took.as_secs_f64());
        if let Some(category) = error {
            self.errors
                .get_or_create(&ErrorLabels {
                    controller,
                    category,
                })
                .inc();
        }
    }
}
