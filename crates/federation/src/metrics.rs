//! The manager's Prometheus metrics.
//!
//! TiDB's series keep their names and labels, so dashboards and alerts built on TiDB's
//! manager keep working: `fed_volume_backup_status{namespace,tc,status}`,
//! `fed_volume_backup_total_time_sec{namespace,tc}`, `fed_volume_backup_total_size_gb`,
//! `fed_volume_backup_cleanup_status{namespace,tc,status}` and
//! `fed_volume_backup_cleanup_total_time_sec`, where `tc` is the VolumeBackup's TidbCluster
//! names, sorted and joined by commas. They only grow, as TiDB's counters do, but are
//! exposed as type `unknown`: OpenMetrics would rename a counter to `..._total`.
//!
//! Ours are `tibr_federation_*`: reconciles (as every controller of ours counts them),
//! member reachability, kubeconfig loads, the pause window, phase durations, VolumeBackups
//! by phase and leadership. Labels are bounded: object names never appear, only the
//! namespace and TidbCluster names that TiDB's series already carry.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use jiff::Timestamp;
use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder},
    metrics::{
        MetricType, TypedMetric,
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use tibr_api::{VolumeBackup, VolumeBackupConditionType as V};
use tibr_core::federation::MemberCluster;
use tibr_runtime::reconcile::ReconcileMetrics;

/// A value that only grows, encoded under its own name (see the module docs).
#[derive(Clone, Debug, Default)]
pub(crate) struct Tally(Arc<AtomicU64>);

impl Tally {
    fn add(&self, v: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + v).to_bits())
            });
    }

    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

impl TypedMetric for Tally {
    const TYPE: MetricType = MetricType::Unknown;
}

impl EncodeMetric for Tally {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&self.get())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Unknown
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TcLabels {
    namespace: String,
    tc: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TcStatusLabels {
    namespace: String,
    tc: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ClusterLabels {
    pub cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PhaseLabels {
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Every metric the manager exports.
#[derive(Clone, Debug)]
pub(crate) struct Metrics {
    pub reconcile: ReconcileMetrics,
    status: Family<TcStatusLabels, Tally>,
    total_time: Family<TcLabels, Tally>,
    total_size: Family<TcLabels, Tally>,
    cleanup_status: Family<TcStatusLabels, Tally>,
    cleanup_time: Family<TcLabels, Tally>,
    /// 1 while the member cluster answers, 0 while it does not (or its client cannot be
    /// built); no series for a context the kubeconfig no longer has.
    pub member_reachable: Family<ClusterLabels, Gauge>,
    pub member_clusters: Gauge,
    kubeconfig_loads: Family<OutcomeLabels, Counter>,
    pause_window: Histogram,
    last_pause_window: Family<TcLabels, Gauge<f64, AtomicU64>>,
    phase_seconds: Family<PhaseLabels, Histogram>,
    /// VolumeBackups by `status.phase`, from the controller's cache.
    pub volume_backups: Family<PhaseLabels, Gauge>,
    /// 1 while this manager holds the Lease (or runs without leader election).
    pub leader: Gauge,
    /// Per VolumeBackupSchedule (`tibr_federation_schedule_*`).
    pub schedules: tibr_runtime::schedule::metrics::ScheduleMetrics,
}

/// The statuses TiDB's manager shows at zero for every VolumeBackup it has seen, so a
/// dashboard's `increase()` starts from a known value.
const STATUSES: [V; 5] = [
    V::Running,
    V::SnapshotsCreated,
    V::Complete,
    V::Failed,
    V::Cleaned,
];

impl Metrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Metrics {
            reconcile: ReconcileMetrics::register(
                registry.sub_registry_with_prefix("tibr_federation"),
            ),
            status: Family::default(),
            total_time: Family::default(),
            total_size: Family::default(),
            cleanup_status: Family::default(),
            cleanup_time: Family::default(),
            member_reachable: Family::default(),
            member_clusters: Gauge::default(),
            kubeconfig_loads: Family::default(),
            // 1 s to about 68 min: a pause is seconds when all goes well, the init Job's
            // deadline (10 min by default) when it does not.
            pause_window: Histogram::new(exponential_buckets(1.0, 2.0, 13)),
            last_pause_window: Family::default(),
            phase_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(1.0, 2.0, 16))
            }),
            volume_backups: Family::default(),
            leader: Gauge::default(),
            schedules: Default::default(),
        };
        registry.register(
            "fed_volume_backup_status",
            "VolumeBackups that ended, by namespace, TidbClusters and status (TiDB's series)",
            m.status.clone(),
        );
        registry.register(
            "fed_volume_backup_total_time_sec",
            "Seconds from start to end of the VolumeBackups that ended (TiDB's series)",
            m.total_time.clone(),
        );
        registry.register(
            "fed_volume_backup_total_size_gb",
            "GiB backed up by the VolumeBackups that ended (TiDB's series)",
            m.total_size.clone(),
        );
        registry.register(
            "fed_volume_backup_cleanup_status",
            "VolumeBackup deletions that ended, by status (TiDB's series)",
            m.cleanup_status.clone(),
        );
        registry.register(
            "fed_volume_backup_cleanup_total_time_sec",
            "Seconds from deletion request to end of cleaning (TiDB's series)",
            m.cleanup_time.clone(),
        );
        let r = registry.sub_registry_with_prefix("tibr_federation");
        r.register(
            "member_reachable",
            "Whether the member Kubernetes cluster answers (1) or not (0), by kubeconfig context",
            m.member_reachable.clone(),
        );
        r.register(
            "member_clusters",
            "Contexts in the federation kubeconfig as last loaded",
            m.member_clusters.clone(),
        );
        r.register(
            "kubeconfig_loads",
            "Loads of the federation kubeconfig, by outcome (loaded, failed)",
            m.kubeconfig_loads.clone(),
        );
        r.register(
            "pause_window_seconds",
            "How long GC and PD scheduling of the whole TiDB cluster were paused, per VolumeBackup",
            m.pause_window.clone(),
        );
        r.register(
            "last_pause_window_seconds",
            "The pause window of the latest VolumeBackup, by namespace and TidbClusters",
            m.last_pause_window.clone(),
        );
        r.register(
            "phase_seconds",
            "Time from a VolumeBackup's start (or deletion) to a phase: snapshots_created, complete, failed, cleaned",
            m.phase_seconds.clone(),
        );
        r.register(
            "volume_backups",
            "VolumeBackups by status.phase",
            m.volume_backups.clone(),
        );
        r.register(
            "leader",
            "Whether this manager acts (holds the Lease, or runs without leader election)",
            m.leader.clone(),
        );
        m.schedules.register_into(r);
        m
    }

    pub fn kubeconfig_loaded(&self, ok: bool) {
        let outcome = if ok { "loaded" } else { "failed" };
        self.kubeconfig_loads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// The zero series of a VolumeBackup's statuses, as TiDB's manager shows them.
    pub fn seen(&self, vbk: &VolumeBackup) {
        let (namespace, tc) = tc_labels(vbk);
        for s in STATUSES {
            let _ = self.status.get_or_create(&TcStatusLabels {
                namespace: namespace.clone(),
                tc: tc.clone(),
                status: s.as_str().to_string(),
            });
        }
    }

    /// What changed between the status as read (`before`) and as written (`after`).
    pub fn transitions(&self, before: &VolumeBackup, after: &VolumeBackup, now: Timestamp) {
        let newly = |t: V| !is_true(before, &t) && is_true(after, &t);
        let (namespace, tc) = tc_labels(after);
        let status = after.status.clone().unwrap_or_default();
        let started = status.time_started.as_ref().map(|t| t.0);
        let tc_labels = TcLabels {
            namespace: namespace.clone(),
            tc: tc.clone(),
        };
        if newly(V::SnapshotsCreated)
            && let Some(from) = started
        {
            self.phase("snapshots_created", seconds(from, now));
        }
        if before
            .status
            .as_ref()
            .and_then(|s| s.time_resumed.as_ref())
            .is_none()
            && let (Some(paused), Some(resumed)) = (&status.time_paused, &status.time_resumed)
        {
            let window = seconds(paused.0, resumed.0);
            self.pause_window.observe(window);
            self.last_pause_window.get_or_create(&tc_labels).set(window);
        }
        for end in [V::Complete, V::Failed] {
            if !newly(end.clone()) {
                continue;
            }
            self.status
                .get_or_create(&TcStatusLabels {
                    namespace: namespace.clone(),
                    tc: tc.clone(),
                    status: end.as_str().to_string(),
                })
                .add(1.0);
            let completed = status.time_completed.as_ref().map_or(now, |t| t.0);
            if let Some(from) = started {
                let taken = seconds(from, completed);
                self.total_time.get_or_create(&tc_labels).add(taken);
                self.phase(&end.as_str().to_ascii_lowercase(), taken);
            }
            if let Some(size) = status.backup_size.filter(|s| *s > 0) {
                self.total_size
                    .get_or_create(&tc_labels)
                    .add(size as f64 / f64::from(1u32 << 30));
            }
        }
        for end in [V::Cleaned, V::CleanFailed] {
            if !newly(end.clone()) {
                continue;
            }
            self.cleanup_status
                .get_or_create(&TcStatusLabels {
                    namespace: namespace.clone(),
                    tc: tc.clone(),
                    status: end.as_str().to_string(),
                })
                .add(1.0);
            if let Some(deleted) = &after.metadata.deletion_timestamp {
                let taken = seconds(deleted.0, now);
                self.cleanup_time.get_or_create(&tc_labels).add(taken);
                if end == V::Cleaned {
                    self.phase("cleaned", taken);
                }
            }
        }
    }

    fn phase(&self, phase: &str, secs: f64) {
        self.phase_seconds
            .get_or_create(&PhaseLabels {
                phase: phase.to_string(),
            })
            .observe(secs);
    }
}

fn is_true(vbk: &VolumeBackup, t: &V) -> bool {
    vbk.condition(t).is_some_and(|c| c.is_true())
}

fn seconds(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64().max(0.0)
}

/// `namespace` and `tc` as TiDB's manager labels a VolumeBackup: its TidbCluster names,
/// sorted, joined by commas.
fn tc_labels(vbk: &VolumeBackup) -> (String, String) {
    let mut names: Vec<String> = vbk
        .spec
        .clusters
        .iter()
        .map(|c| MemberCluster::from_spec(c).tc_name)
        .collect();
    names.sort();
    (
        vbk.metadata.namespace.clone().unwrap_or_default(),
        names.join(","),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidb_series_keep_their_names() {
        let mut registry = Registry::default();
        let m = Metrics::register(&mut registry);
        let vbk: VolumeBackup = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "v", "namespace": "ns"},
            "spec": {"clusters": [{"tcName": "tc2"}, {"tcName": "tc1"}]}
        }))
        .unwrap();
        m.seen(&vbk);
        m.status
            .get_or_create(&TcStatusLabels {
                namespace: "ns".into(),
                tc: "tc1,tc2".into(),
                status: "Complete".into(),
            })
            .add(1.0);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(
                "fed_volume_backup_status{namespace=\"ns\",tc=\"tc1,tc2\",status=\"Complete\"} 1.0"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "fed_volume_backup_status{namespace=\"ns\",tc=\"tc1,tc2\",status=\"Running\"} 0.0"
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE fed_volume_backup_status unknown"),
            "{text}"
        );
    }
}
