//! A VolumeBackup that is not being deleted: TiDB's protocol (spec-federation §2.4), with
//! GC and PD scheduling resumed as soon as every member requested its snapshots or any
//! member failed, every member torn down at the first failure, and `Failed` only once
//! every member is terminal.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tibr_api::{
    BackupConditionType as T, VolumeBackup, VolumeBackupConditionType as V,
    pingcap::v1alpha1::FederalVolumeBackupPhase as Phase,
};

use super::{
    Member, View, deleting, has, has_finalizer, init_index, members, phase,
    report::{self, Stage},
    resume_asked,
};
use crate::federation::{
    FinalizerChange, MemberPatch, MemberWrite, Observed, Plan, Settings,
    member::member_backup,
    status::{NewCondition, is_true},
    validate::{ValidVolumeBackup, validate},
};
use crate::field::FieldError;
use crate::reconcile::{Event, reasons};

pub(super) fn decide(vbk: &VolumeBackup, obs: &Observed, s: &Settings, now: Timestamp) -> Plan {
    let mut plan = Plan::new(vbk);
    if !has_finalizer(vbk) {
        plan.finalizer = Some(FinalizerChange::Add);
    }
    let members = members(vbk, obs);
    // A member seen, or recorded in the status, means the backup began: from then on a
    // cluster name the registry lost is a cluster gone missing, not a spec error.
    let started = members
        .iter()
        .any(|m| matches!(m.view, View::Ours(_) | View::Foreign(_)) || m.entry.is_some());
    let valid = validate(vbk, (!started).then_some(&obs.known_clusters));
    match valid {
        Err(errors) if !started => invalid(vbk, errors, s, &mut plan),
        Ok(valid) if !started => start(vbk, &valid, &members, s, now, &mut plan),
        valid => protocol(vbk, valid.err(), &members, s, now, &mut plan),
    }
    report::refresh(vbk, &members, false, &mut plan);
    plan
}

/// Nothing was created: say what is wrong. A spec error stays until the spec changes (a
/// change wakes the controller); an unknown cluster name is looked up again.
fn invalid(vbk: &VolumeBackup, errors: Vec<FieldError>, s: &Settings, plan: &mut Plan) {
    let registry_only = validate(vbk, None).is_ok();
    let reason = if registry_only {
        reasons::UNKNOWN_KUBERNETES_CLUSTER
    } else {
        reasons::INVALID_SPEC
    };
    let message = join(&errors);
    plan.condition(
        vbk,
        NewCondition::true_(V::Invalid, reason, message.clone()),
        Some(Event::warning(reason, "Validate", message)),
    );
    if registry_only {
        plan.requeue_after(s.registry_interval);
    }
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// `Running` (and `timeStarted`) once, `Invalid` cleared if it was set.
fn running(vbk: &VolumeBackup, members: &[Member<'_>], now: Timestamp, plan: &mut Plan) {
    let status = vbk.status.as_ref();
    if is_true(status, &V::Invalid) {
        plan.condition(
            vbk,
            NewCondition::false_(V::Invalid, reasons::VALID, "the spec is valid"),
            None,
        );
    }
    // Never back to Running from a later phase (a status written by another manager).
    if !is_true(status, &V::Running) && !is_true(status, &V::SnapshotsCreated) {
        let list: Vec<String> = members
            .iter()
            .map(|m| {
                format!(
                    "{}/{} in {}",
                    m.cluster.tc_namespace, m.cluster.tc_name, m.cluster.k8s_cluster_name
                )
            })
            .collect();
        let note = format!(
            "backing up TidbClusters {}; the first pauses GC and PD scheduling",
            list.join(", ")
        );
        plan.condition(
            vbk,
            NewCondition::true_(V::Running, reasons::VOLUME_BACKUP_STARTED, note.clone()),
            Some(Event::normal(reasons::VOLUME_BACKUP_STARTED, "Start", note)),
        );
    }
    if plan.status.time_started.is_none() {
        plan.status.time_started = Some(Time(now));
    }
}

/// No member exists yet: create the initialize member, but only once every cluster
/// answers. Pausing GC and PD scheduling for a cluster whose other members cannot be
/// reached would only hold the pause until the init Job's deadline fails the backup.
fn start(
    vbk: &VolumeBackup,
    valid: &ValidVolumeBackup,
    members: &[Member<'_>],
    s: &Settings,
    now: Timestamp,
    plan: &mut Plan,
) {
    running(vbk, members, now, plan);
    if vbk
        .status
        .as_ref()
        .is_none_or(|st| st.time_started.is_none())
    {
        for w in &valid.warnings {
            plan.events.push(Event::warning(
                reasons::SPEC_WARNING,
                "Validate",
                w.to_string(),
            ));
        }
    }
    let mut waiting = false;
    for m in members.iter().filter(|m| !m.observable()) {
        report::wait_for(m, Stage::Start, s, now, plan);
        waiting = true;
    }
    if waiting {
        return;
    }
    let first = &members[0];
    let backup = member_backup(vbk, &first.cluster, Phase::Initialize);
    plan.act(
        &first.cluster.k8s_cluster_name,
        &first.cluster.tc_namespace,
        &first.name,
        MemberWrite::Create(Box::new(backup)),
    );
    plan.requeue_after(s.paused_poll_interval);
}

/// Why the backup cannot complete: about a member, or about the VolumeBackup itself.
struct Failure {
    member: Option<usize>,
    text: String,
}

/// At least one member exists: carry the protocol on from what the members say.
fn protocol(
    vbk: &VolumeBackup,
    spec_errors: Option<Vec<FieldError>>,
    members: &[Member<'_>],
    s: &Settings,
    now: Timestamp,
    plan: &mut Plan,
) {
    running(vbk, members, now, plan);
    let Some(init) = members.get(init_index(members)) else {
        return;
    };
    let init_backup = init.ours();
    let past_creation =
        init_backup.is_some_and(|b| resume_asked(b) || has(b, T::VolumeBackupInitializeComplete));
    let mut failures: Vec<Failure> = members
        .iter()
        .filter_map(|m| {
            m.failure(past_creation, m.index == init.index)
                .map(|why| Failure {
                    member: Some(m.index),
                    text: format!("{} {why}", m.label()),
                })
        })
        .collect();
    if let Some(errors) = spec_errors {
        // The template matters only to members still to be created; once they all
        // exist, a spec edited since changes nothing for this backup.
        let to_create = init_backup.is_some_and(|b| has(b, T::VolumeBackupInitialized))
            && !past_creation
            && members
                .iter()
                .any(|m| matches!(m.view, View::Absent) && m.entry.is_none());
        let text = format!(
            "the spec was changed into an invalid one: {}",
            join(&errors)
        );
        if to_create {
            failures.push(Failure { member: None, text });
        } else {
            plan.events.push(Event::warning(
                reasons::SPEC_WARNING,
                "Validate",
                format!("{text}; every member exists, so the backup goes on"),
            ));
        }
    }
    let all_done = members.iter().all(|m| {
        m.ours()
            .is_some_and(|b| has(b, T::VolumeBackupComplete) || has(b, T::Complete))
    });
    let tearing_down = !failures.is_empty()
        || all_done
        || members
            .iter()
            .any(|m| m.ours().is_some_and(|b| phase(b) == Some(&Phase::Teardown)));
    for m in members.iter().filter(|m| !m.observable()) {
        // When tearing down, a member never created needs nothing from its cluster.
        if !(tearing_down && m.terminal()) {
            report::wait_for(m, Stage::Backup, s, now, plan);
        }
    }
    if let Some(b) = init_backup {
        snapshots_created(vbk, members, b, plan);
    }
    if tearing_down {
        teardown(vbk, members, init, &failures, now, plan);
    } else {
        advance(vbk, members, init, past_creation, plan);
    }
    let pausing = init_backup.is_some_and(|b| {
        !has(b, T::VolumeBackupInitializeComplete)
            && !has(b, T::VolumeBackupInitializeFailed)
            && !init.terminal()
    });
    if !plan
        .conditions
        .iter()
        .any(|c| matches!(c.type_, V::Complete | V::Failed))
    {
        plan.requeue_after(if pausing {
            s.paused_poll_interval
        } else {
            s.poll_interval
        });
    }
}

/// No failure, not every member done: members created once the pause holds, the resume
/// once every member requested its snapshots, `SnapshotsCreated` once it happened.
fn advance(
    vbk: &VolumeBackup,
    members: &[Member<'_>],
    init: &Member<'_>,
    past_creation: bool,
    plan: &mut Plan,
) {
    let Some(b) = init.ours() else {
        // Not observable now (reported above); a missing or foreign one is a failure.
        return;
    };
    if !has(b, T::VolumeBackupInitialized) {
        return;
    }
    for m in members.iter().filter(|m| m.index != init.index) {
        if matches!(m.view, View::Absent) && m.entry.is_none() && !past_creation {
            let backup = member_backup(vbk, &m.cluster, Phase::Execute);
            plan.act(
                &m.cluster.k8s_cluster_name,
                &m.cluster.tc_namespace,
                &m.name,
                MemberWrite::Create(Box::new(backup)),
            );
        }
    }
    let mut patch = MemberPatch::default();
    if phase(b) == Some(&Phase::Initialize) {
        patch.phase = Some(Phase::Execute);
    }
    let all_created = members.iter().all(|m| {
        m.ours()
            .is_some_and(|b| has(b, T::VolumeBackupSnapshotsCreated))
    });
    if all_created && !resume_asked(b) {
        patch.resume_gc_schedule = Some(true);
    }
    if patch != MemberPatch::default() {
        plan.act(
            &init.cluster.k8s_cluster_name,
            &init.cluster.tc_namespace,
            &init.name,
            MemberWrite::Patch(patch),
        );
    }
}

/// `SnapshotsCreated` once every member requested its snapshots and the initialize
/// member let GC and PD scheduling go (also when the manager only learns it late, on the
/// way to the end).
fn snapshots_created(
    vbk: &VolumeBackup,
    members: &[Member<'_>],
    b: &tibr_api::Backup,
    plan: &mut Plan,
) {
    let all_created = members.iter().all(|m| {
        m.ours()
            .is_some_and(|b| has(b, T::VolumeBackupSnapshotsCreated))
    });
    if all_created
        && has(b, T::VolumeBackupInitializeComplete)
        && !is_true(vbk.status.as_ref(), &V::SnapshotsCreated)
    {
        let note = format!(
            "every member requested its snapshots and GC and PD scheduling run again; the \
             snapshots are being copied{}",
            report::pause_note(b)
        );
        plan.condition(
            vbk,
            NewCondition::true_(
                V::SnapshotsCreated,
                reasons::ALL_SNAPSHOTS_CREATED,
                note.clone(),
            ),
            Some(Event::normal(
                reasons::ALL_SNAPSHOTS_CREATED,
                "Snapshot",
                note,
            )),
        );
    }
}

/// Every member completed, or something failed: every member that can still act goes to
/// `teardown`, the initialize member is asked to resume, and the VolumeBackup ends once
/// every member is terminal.
fn teardown(
    vbk: &VolumeBackup,
    members: &[Member<'_>],
    init: &Member<'_>,
    failures: &[Failure],
    now: Timestamp,
    plan: &mut Plan,
) {
    for m in members {
        let Some(b) = m.ours() else { continue };
        if deleting(b) || m.terminal() {
            continue;
        }
        let mut patch = MemberPatch::default();
        if phase(b) != Some(&Phase::Teardown) {
            patch.phase = Some(Phase::Teardown);
        }
        if m.index == init.index && !resume_asked(b) {
            patch.resume_gc_schedule = Some(true);
        }
        if patch != MemberPatch::default() {
            plan.act(
                &m.cluster.k8s_cluster_name,
                &m.cluster.tc_namespace,
                &m.name,
                MemberWrite::Patch(patch),
            );
        }
    }
    if !members.iter().all(Member::terminal) {
        return;
    }
    if failures.is_empty() && members.iter().all(Member::complete) {
        match report::summary(members) {
            Ok(summary) => {
                report::finish(&summary, now, plan);
                let note = format!(
                    "every member completed: commitTs {}, {} in all",
                    summary.commit_ts.unwrap_or_default(),
                    plan.status.backup_size_readable.clone().unwrap_or_default()
                );
                plan.condition(
                    vbk,
                    NewCondition::true_(V::Complete, reasons::ALL_MEMBERS_COMPLETE, note.clone()),
                    Some(Event::normal(
                        reasons::ALL_MEMBERS_COMPLETE,
                        "Complete",
                        note,
                    )),
                );
            }
            Err(why) => {
                report::finish(&report::sizes_only(members), now, plan);
                plan.condition(
                    vbk,
                    NewCondition::true_(V::Failed, reasons::MEMBER_COMMIT_TS_INVALID, why.clone()),
                    Some(Event::warning(
                        reasons::MEMBER_COMMIT_TS_INVALID,
                        "Complete",
                        why,
                    )),
                );
            }
        }
        return;
    }
    let mut causes: Vec<String> = failures
        .iter()
        .filter(|f| f.member.is_none())
        .map(|f| f.text.clone())
        .collect();
    for m in members.iter().filter(|m| !m.complete()) {
        causes.push(
            failures
                .iter()
                .find(|f| f.member == Some(m.index))
                .map_or_else(
                    || format!("{} was never created", m.label()),
                    |f| f.text.clone(),
                ),
        );
    }
    report::finish(&report::sizes_only(members), now, plan);
    let note = format!("the backup failed: {}", causes.join("; "));
    plan.condition(
        vbk,
        NewCondition::true_(
            V::Failed,
            reasons::VOLUME_BACKUP_MEMBER_FAILED,
            note.clone(),
        ),
        Some(Event::warning(
            reasons::VOLUME_BACKUP_MEMBER_FAILED,
            "Backup",
            note,
        )),
    );
}
