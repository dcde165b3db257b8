//! What wakes a schedule, for any kind: a change of one of its runs wakes the schedule
//! that made it and every schedule of the same `backup-schedule-group` (so a finished
//! predecessor releases a waiting run at once); and the series of deleted schedules are
//! dropped from the metrics.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use kube::{
    Resource, ResourceExt,
    runtime::reflector::{ObjectRef, Store},
};
use tibr_api::constants::labels;

use super::metrics::{ScheduleLabels, ScheduleMetrics};

/// The schedules woken by a change of the run `run` (its namespace and labels), from the
/// schedules' cache.
pub fn schedules_of_run<G, R>(store: &Store<G>, run: &R) -> Vec<ObjectRef<G>>
where
    G: Resource<DynamicType = ()> + Clone,
    R: ResourceExt,
{
    let namespace = run.namespace().unwrap_or_default();
    let Some(owner) = run.labels().get(labels::BACKUP_SCHEDULE).cloned() else {
        return Vec::new();
    };
    let group_of = |s: &G| s.labels().get(labels::BACKUP_SCHEDULE_GROUP).cloned();
    let in_namespace: Vec<Arc<G>> = store
        .state()
        .into_iter()
        .filter(|s| s.namespace().as_deref() == Some(&namespace))
        .collect();
    let group = in_namespace
        .iter()
        .find(|s| s.name_any() == owner)
        .and_then(|s| group_of(s))
        .filter(|g| !g.is_empty());
    let mut names: BTreeSet<String> = BTreeSet::from([owner]);
    if let Some(group) = group {
        names.extend(
            in_namespace
                .iter()
                .filter(|s| group_of(s).as_ref() == Some(&group))
                .map(|s| s.name_any()),
        );
    }
    names
        .into_iter()
        .map(|n| ObjectRef::new(&n).within(&namespace))
        .collect()
}

/// Every ten seconds, drops the series of schedules no longer in `store` (once it has seen
/// its first full list: an empty store before that says nothing).
pub async fn prune_metrics<G>(store: Store<G>, metrics: ScheduleMetrics)
where
    G: Resource<DynamicType = ()> + Clone + 'static,
{
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let ready = futures::FutureExt::now_or_never(store.wait_until_ready());
        if ready.is_none_or(|r| r.is_err()) {
            continue;
        }
        let present: BTreeSet<ScheduleLabels> = store
            .state()
            .iter()
            .map(|s| ScheduleLabels {
                namespace: s.namespace().unwrap_or_default(),
                schedule: s.name_any(),
            })
            .collect();
        metrics.retain(&present);
    }
}
