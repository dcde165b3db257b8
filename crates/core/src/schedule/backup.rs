//! The Backup a tick creates, and how a Backup is traced back to its tick.
//!
//! The name is `<schedule>-<tick in UTC as YYYY-MM-DDtHH-MM-SS>`. TiDB Operator names the
//! Backup after the moment it creates it; tibr names it after the tick it is for, so one
//! tick can only ever produce one name, and a second attempt at the same tick (after a
//! restart, a stale cache, a retried reconcile) collides with the first instead of
//! creating a duplicate. The tick is also written in full in an annotation.
//!
//! Per run, the template's storage prefix gets a sub-directory
//! `<cluster>-pd.<clusterNamespace>-2379-<same UTC timestamp>`, TiDB Operator's layout,
//! so that runs never share a location (BR refuses a prefix that already holds a backup)
//! and existing tooling finds the data where it expects it.

use std::collections::BTreeMap;

use jiff::{Timestamp, civil::DateTime, tz::TimeZone};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use tibr_api::{
    Backup, BackupSchedule,
    constants::{annotations, defaults, label_values, labels},
};

use super::plan::SpecProblem;
use crate::names::MAX_LABEL_VALUE;
use crate::storage::join_prefix;

/// See [`annotations::SCHEDULE_TICK`].
pub const TICK_ANNOTATION: &str = annotations::SCHEDULE_TICK;

/// Annotations of the schedule that are not copied to its Backups: kubectl's record of
/// the schedule's own manifest would only confuse `kubectl apply` on a Backup.
const NOT_COPIED_ANNOTATIONS: &[&str] = &["kubectl.kubernetes.io/last-applied-configuration"];

/// Length of the timestamp suffix, `2006-01-02t15-04-05`.
pub(super) const STAMP_LEN: usize = 19;

/// The longest schedule name whose Backups' Jobs (`backup-<schedule>-<stamp>`) still fit
/// the 63 characters Kubernetes allows in the label that carries a Job's name.
pub const MAX_SCHEDULE_NAME: usize = MAX_LABEL_VALUE - "backup-".len() - 1 - STAMP_LEN;

/// The tick as it appears in names and prefixes: UTC, `YYYY-MM-DDtHH-MM-SS`.
pub fn stamp(tick: Timestamp) -> String {
    let t = TimeZone::UTC.to_datetime(tick);
    format!(
        "{:04}-{:02}-{:02}t{:02}-{:02}-{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The name of the Backup for `tick`.
pub fn backup_name(schedule: &str, tick: Timestamp) -> String {
    format!("{schedule}-{}", stamp(tick))
}

/// The tick a Backup name stands for, if it is `<schedule>-<stamp>`.
pub fn tick_from_name(schedule: &str, backup: &str) -> Option<Timestamp> {
    let rest = backup.strip_prefix(schedule)?.strip_prefix('-')?;
    parse_stamp(rest)
}

fn parse_stamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() != STAMP_LEN {
        return None;
    }
    let separators_ok = [(4, b'-'), (7, b'-'), (10, b't'), (13, b'-'), (16, b'-')]
        .iter()
        .all(|&(i, c)| b[i] == c);
    if !separators_ok {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i32> {
        let part = &s[from..from + len];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let dt = DateTime::new(
        num(0, 4)? as i16,
        num(5, 2)? as i8,
        num(8, 2)? as i8,
        num(11, 2)? as i8,
        num(14, 2)? as i8,
        num(17, 2)? as i8,
        0,
    )
    .ok()?;
    TimeZone::UTC.to_timestamp(dt).ok()
}

/// The tick a run was made for: the annotation, else the name.
pub fn tick_of(schedule: &str, run: &ObjectMeta) -> Option<Timestamp> {
    let annotated = run
        .annotations
        .as_ref()
        .and_then(|a| a.get(TICK_ANNOTATION))
        .and_then(|v| v.parse::<Timestamp>().ok());
    annotated.or_else(|| tick_from_name(schedule, run.name.as_deref()?))
}

/// The per-run sub-directory: `<cluster>-pd.<clusterNamespace>-2379-<stamp>`.
pub fn run_directory(cluster: &str, cluster_namespace: &str, tick: Timestamp) -> String {
    let pd = format!(
        "{cluster}-pd.{cluster_namespace}:{}",
        defaults::PD_CLIENT_PORT
    );
    format!("{}-{}", pd.replace(':', "-"), stamp(tick))
}

/// Refuses schedule names whose Backups would get Jobs named past 63 characters
/// (TiDB Operator lets those Backups fail at Job creation, issue #5076).
pub fn check_name(schedule: &str) -> Result<(), SpecProblem> {
    check_name_length(
        schedule,
        MAX_SCHEDULE_NAME,
        "backup-<schedule>-YYYY-MM-DDtHH-MM-SS",
    )
}

/// Refuses schedule names longer than `max`, the limit the runs' Jobs (named as
/// `job_pattern` says) set.
pub(super) fn check_name_length(
    schedule: &str,
    max: usize,
    job_pattern: &str,
) -> Result<(), SpecProblem> {
    if schedule.len() <= max {
        return Ok(());
    }
    Err(SpecProblem {
        field: "metadata.name".into(),
        reason: "NameTooLong",
        message: format!(
            "the name {schedule:?} has {} characters; at most {max} fit, because each run's \
             Job is named {job_pattern} and must stay within {MAX_LABEL_VALUE}; \
             re-create the schedule under a shorter name",
            schedule.len()
        ),
    })
}

/// The Backup for `tick`, from `spec.backupTemplate`: per-run prefix (BR templates) or
/// volume fill-ins (Dumpling templates), the schedule's image pull Secrets and (as a
/// fallback) ServiceAccount, labels, annotations and a controller owner reference.
pub fn build_backup(schedule: &BackupSchedule, tick: Timestamp) -> Result<Backup, SpecProblem> {
    let name = schedule.metadata.name.as_deref().unwrap_or_default();
    check_name(name)?;
    let namespace = schedule.metadata.namespace.clone().unwrap_or_default();
    let Some(uid) = schedule.metadata.uid.clone() else {
        // Only an object read back from the API server has a uid; without one there is
        // no owner reference, and a Backup without one would outlive its schedule.
        return Err(SpecProblem {
            field: "metadata.uid".into(),
            reason: "NoUid",
            message: "the schedule has no uid yet, so its Backups could not be owned by it".into(),
        });
    };
    let sched = &schedule.spec;
    let mut spec = sched.backup_template.clone();

    match spec.br.as_ref() {
        Some(br) => {
            let cluster_namespace = br
                .cluster_namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| namespace.clone());
            let dir = run_directory(&br.cluster, &cluster_namespace, tick);
            // Only the first storage set gets the sub-directory: it is the one the Backup
            // uses. Without any, the Backup controller reports the missing storage.
            let storage = &mut spec.storage;
            let prefix = if let Some(s3) = storage.s3.as_mut() {
                Some(&mut s3.prefix)
            } else if let Some(gcs) = storage.gcs.as_mut() {
                Some(&mut gcs.prefix)
            } else if let Some(az) = storage.azblob.as_mut() {
                Some(&mut az.prefix)
            } else {
                storage.local.as_mut().map(|local| &mut local.prefix)
            };
            if let Some(prefix) = prefix {
                *prefix = Some(join_prefix(prefix.as_deref().unwrap_or_default(), &dir));
            }
        }
        None => {
            // Dumpling exports write to a volume sized by the schedule when the template
            // does not say.
            if spec
                .storage_class_name
                .as_deref()
                .unwrap_or_default()
                .is_empty()
            {
                spec.storage_class_name = sched.storage_class_name.clone();
            }
            if spec.storage_size.as_deref().unwrap_or_default().is_empty() {
                spec.storage_size = Some(
                    sched
                        .storage_size
                        .clone()
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| defaults::DUMPLING_STORAGE_SIZE.to_string()),
                );
            }
        }
    }
    if !sched.image_pull_secrets.is_empty() {
        spec.image_pull_secrets = sched.image_pull_secrets.clone();
    }
    if spec
        .service_account
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        spec.service_account = sched.service_account.clone().filter(|s| !s.is_empty());
    }

    // The schedule's labels, then ours on top: the selector users list runs with must
    // never be overridden.
    let mut labels_out: BTreeMap<String, String> =
        schedule.metadata.labels.clone().unwrap_or_default();
    for (k, v) in [
        (labels::NAME, label_values::BACKUP_SCHEDULE),
        (labels::MANAGED_BY, label_values::BACKUP_SCHEDULE_OPERATOR),
        (labels::INSTANCE, name),
        (labels::BACKUP_SCHEDULE, name),
    ] {
        labels_out.insert(k.to_string(), v.to_string());
    }
    let annotations = copied_annotations(&schedule.metadata, tick);

    Ok(Backup {
        metadata: ObjectMeta {
            name: Some(backup_name(name, tick)),
            namespace: Some(namespace),
            labels: Some(labels_out),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "pingcap.com/v1alpha1".to_string(),
                kind: "BackupSchedule".to_string(),
                name: name.to_string(),
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: *spec,
        status: None,
    })
}

/// A run's annotations: the schedule's, but kubectl's record of the schedule's own
/// manifest, and the tick.
pub(super) fn copied_annotations(
    schedule: &ObjectMeta,
    tick: Timestamp,
) -> BTreeMap<String, String> {
    let mut annotations: BTreeMap<String, String> = schedule
        .annotations
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !NOT_COPIED_ANNOTATIONS.contains(&k.as_str()))
        .collect();
    annotations.insert(TICK_ANNOTATION.to_string(), tick.to_string());
    annotations
}
