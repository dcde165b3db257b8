//! The operator's Prometheus metrics (`tibr_operator_*`). Labels are bounded: controller
//! names, error categories, phases, outcomes; never messages. Object names appear only in
//! the per-schedule series (see [`tibr_runtime::schedule::metrics`]).

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use tibr_runtime::reconcile::ReconcileMetrics;

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
    /// Reconciles, failures and durations, as every controller of ours counts them.
    pub reconcile: ReconcileMetrics,
    /// Backups by `status.phase`, recomputed from the informer cache.
    pub backups: Family<PhaseLabels, Gauge>,
    pub clean_runs: Family<CleanLabels, Counter>,
    pub gc_restores: Family<OutcomeLabels, Counter>,
    /// Backups whose data was kept although their policy asked to delete it.
    pub data_kept: Counter,
    /// Per BackupSchedule (`tibr_operator_schedule_*`).
    pub schedules: tibr_runtime::schedule::metrics::ScheduleMetrics,
}

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let r = registry.sub_registry_with_prefix("tibr_operator");
        let m = Metrics {
            reconcile: ReconcileMetrics::register(r),
            backups: Family::default(),
            clean_runs: Family::default(),
            gc_restores: Family::default(),
            data_kept: Counter::default(),
            schedules: Default::default(),
        };
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
}
