//! From what the bench saw arrive (member Backups changing in the data planes), when it
//! sent each VolumeBackup, and from the simulated PD's history, one run's
//! figures: each manager write paired with the member status change that made it due,
//! and the pause window cut into BR's part, the manager's and the data plane's resume.
//! Pure functions over recorded data, so they are tested without a sandbox.

use std::collections::BTreeSet;

use anyhow::{Context, bail};
use tibr_api::{Backup, pingcap::v1alpha1::FederalVolumeBackupPhase as Phase};

/// Microseconds since the Unix epoch, on the wall clock the simulated PD also reads.
pub(crate) type Micros = i64;

/// One change, timestamped when the bench's watch delivered it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
    pub at: Micros,
    pub cluster: String,
    /// The member Backup's name, or the VolumeBackup's for [`Change::VolumeBackupSent`].
    pub name: String,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// The bench sent the VolumeBackup to `control`. Its own watch there may see it after
    /// the manager already acted, so the request's time stands in: an upper bound.
    VolumeBackupSent,
    /// A member's status changed; the condition types that became `True` with it (none
    /// for progress and other updates).
    Status(BTreeSet<String>),
    /// The manager wrote a member's spec (or created it).
    Write(Kind),
    /// A spec change the protocol does not explain: the bench stops on it.
    OtherWrite(String),
}

/// The manager's member writes, each with the change that makes it due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The initialize member created, once the VolumeBackup exists.
    Start,
    /// The first member moved to `execute`, once it reported the pause.
    Execute,
    /// An `execute` member created in another data plane, on the same report.
    Create,
    /// `resumeGcSchedule` set on the first member, once every member requested its snapshots.
    Resume,
    /// A member moved to `teardown`, once every member's snapshots completed.
    Teardown,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Start,
        Kind::Execute,
        Kind::Create,
        Kind::Resume,
        Kind::Teardown,
    ];

    /// Trigger and write, for the report.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Start => "VolumeBackup sent → initialize member created",
            Kind::Execute => "VolumeBackupInitialized → first member to `execute`",
            Kind::Create => "VolumeBackupInitialized → `execute` member created",
            Kind::Resume => "last VolumeBackupSnapshotsCreated → `resumeGcSchedule`",
            Kind::Teardown => "last VolumeBackupComplete → member to `teardown`",
        }
    }

    /// Whether a member status change triggers it (TiDB's manager polls for those; it
    /// watches VolumeBackups, so `Start` is prompt there too).
    pub(crate) fn polled_by_tidb(self) -> bool {
        self != Kind::Start
    }

    /// The member conditions whose arrival makes this write due.
    fn triggers(self) -> &'static [&'static str] {
        match self {
            Kind::Start => &[],
            Kind::Execute | Kind::Create => &["VolumeBackupInitialized"],
            Kind::Resume => &["VolumeBackupSnapshotsCreated"],
            Kind::Teardown => &["VolumeBackupComplete", "Complete"],
        }
    }

    /// How many writes of this kind one backup over `planes` data planes makes.
    pub fn expected(self, planes: usize) -> usize {
        match self {
            Kind::Start | Kind::Execute | Kind::Resume => 1,
            Kind::Create => planes.saturating_sub(1),
            Kind::Teardown => planes,
        }
    }
}

fn true_conditions(b: &Backup) -> BTreeSet<String> {
    b.status
        .iter()
        .flat_map(|s| &s.conditions)
        .filter(|c| c.is_true())
        .map(|c| c.type_.as_str().to_string())
        .collect()
}

/// What changed from `before` (`None`: the member was just created) to `after`.
pub(crate) fn classify(before: Option<&Backup>, after: &Backup) -> Vec<Change> {
    let phase = |b: &Backup| b.spec.federal_volume_backup_phase.clone();
    let Some(before) = before else {
        return vec![match phase(after) {
            Some(Phase::Initialize) => Change::Write(Kind::Start),
            Some(Phase::Execute) => Change::Write(Kind::Create),
            other => Change::OtherWrite(format!("created in phase {other:?}")),
        }];
    };
    let mut out = Vec::new();
    if json(&before.status) != json(&after.status) {
        let was = true_conditions(before);
        out.push(Change::Status(
            true_conditions(after).difference(&was).cloned().collect(),
        ));
    }
    if json(&before.spec) != json(&after.spec) {
        let mut explained = false;
        if phase(before) != phase(after) {
            explained = true;
            out.push(match phase(after) {
                Some(Phase::Execute) => Change::Write(Kind::Execute),
                Some(Phase::Teardown) => Change::Write(Kind::Teardown),
                other => Change::OtherWrite(format!("phase set to {other:?}")),
            });
        }
        if after.spec.resume_gc_schedule == Some(true)
            && before.spec.resume_gc_schedule != Some(true)
        {
            explained = true;
            out.push(Change::Write(Kind::Resume));
        }
        let mut b = before.spec.clone();
        b.federal_volume_backup_phase = after.spec.federal_volume_backup_phase.clone();
        b.resume_gc_schedule = after.spec.resume_gc_schedule;
        if !explained || json(&b) != json(&after.spec) {
            out.push(Change::OtherWrite(format!(
                "spec changed from {} to {}",
                json(&before.spec),
                json(&after.spec)
            )));
        }
    }
    out
}

/// A part of a Backup as its JSON, to compare what the API server stores.
fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// One manager write and how long after its trigger it was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub kind: Kind,
    /// The data plane written to.
    pub cluster: String,
    pub latency: Micros,
}

/// Each write paired with the latest change before it that makes it due. `seen` is in
/// arrival order, over `planes` data planes.
///
/// The bench's watches of different clusters may deliver out of order what happened in
/// order: a write due only once every member reported (`Resume`, `Teardown`) is paired
/// only when every member's report arrived before it, else the bench stops, since the
/// latest report before the write would not be the one that made it due.
pub(crate) fn pairs(seen: &[Seen], planes: usize) -> anyhow::Result<Vec<Pair>> {
    let mut out = Vec::new();
    for (i, s) in seen.iter().enumerate() {
        let kind = match &s.change {
            Change::Write(kind) => *kind,
            Change::OtherWrite(what) => {
                bail!(
                    "{}/{}: a member write the protocol does not explain: {what}",
                    s.cluster,
                    s.name
                )
            }
            _ => continue,
        };
        let due = |t: &Seen| match &t.change {
            Change::VolumeBackupSent => kind == Kind::Start,
            Change::Status(became) => kind.triggers().iter().any(|c| became.contains(*c)),
            _ => false,
        };
        let Some(trigger) = seen[..i].iter().rev().find(|t| due(t)) else {
            bail!(
                "{}/{}: no change before the {kind:?} write explains it",
                s.cluster,
                s.name
            );
        };
        if matches!(kind, Kind::Resume | Kind::Teardown) {
            let reported: BTreeSet<&str> = seen[..i]
                .iter()
                .filter(|t| due(t))
                .map(|t| t.cluster.as_str())
                .collect();
            anyhow::ensure!(
                reported.len() == planes,
                "{}/{}: the {kind:?} write arrived before the reports of every member \
                 (seen from {reported:?}): the watches delivered out of order",
                s.cluster,
                s.name
            );
        }
        out.push(Pair {
            kind,
            cluster: s.cluster.clone(),
            latency: s.at - trigger.at,
        });
    }
    Ok(out)
}

/// What the simulated PD recorded, reduced to what the window needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PdMark {
    /// GC or PD scheduling paused.
    Paused(Micros),
    /// GC or PD scheduling resumed by a call.
    Resumed(Micros),
    /// A pause ran out instead of being lifted.
    Expired(Micros),
}

/// One backup's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    pub volume_backup: String,
    /// The first pause to the last resume in the simulated PD.
    pub window: Micros,
    /// The pause to the last member's `VolumeBackupSnapshotsCreated` seen: BR's part.
    pub until_requested: Micros,
    /// The manager's two steps inside the window: from `VolumeBackupInitialized` to its
    /// last member write, and from the last `VolumeBackupSnapshotsCreated` to the resume.
    pub manager_in_window: Micros,
    /// `resumeGcSchedule` seen to the resume in PD: the first data plane's operator
    /// deleting the init Job, BR lifting the pause.
    pub resume_to_pd: Micros,
    pub pairs: Vec<Pair>,
    /// The VolumeBackup's own `status.pauseWindow` (whole seconds).
    pub status_pause_window: Option<String>,
}

/// One run's figures from everything seen about it (`seen` in arrival order) and PD's
/// marks during it. Fails, saying why, when a write or a step is missing.
pub(crate) fn figures(
    volume_backup: &str,
    planes: usize,
    seen: &[Seen],
    pd: &[PdMark],
    status_pause_window: Option<String>,
) -> anyhow::Result<RunFigures> {
    let pairs = pairs(seen, planes)?;
    for kind in Kind::ALL {
        let n = pairs.iter().filter(|p| p.kind == kind).count();
        anyhow::ensure!(
            n == kind.expected(planes),
            "{volume_backup}: {n} {kind:?} writes seen, {} expected over {planes} data planes",
            kind.expected(planes)
        );
    }
    if let Some(PdMark::Expired(at)) = pd.iter().find(|m| matches!(m, PdMark::Expired(_))) {
        bail!("{volume_backup}: a pause expired in PD at {at} µs instead of being lifted");
    }
    let paused = pd
        .iter()
        .filter_map(|m| match m {
            PdMark::Paused(at) => Some(*at),
            _ => None,
        })
        .min()
        .with_context(|| format!("{volume_backup}: PD recorded no pause"))?;
    let resumed = pd
        .iter()
        .filter_map(|m| match m {
            PdMark::Resumed(at) => Some(*at),
            _ => None,
        })
        .max()
        .with_context(|| format!("{volume_backup}: PD recorded no resume"))?;
    let requested = seen
        .iter()
        .filter(|s| {
            matches!(&s.change, Change::Status(c) if c.contains("VolumeBackupSnapshotsCreated"))
        })
        .map(|s| s.at)
        .max()
        .with_context(|| format!("{volume_backup}: no member reported its snapshots"))?;
    let latency = |kinds: &[Kind]| {
        pairs
            .iter()
            .filter(|p| kinds.contains(&p.kind))
            .map(|p| p.latency)
            .max()
            .unwrap_or_default()
    };
    let resume_write = seen
        .iter()
        .find(|s| s.change == Change::Write(Kind::Resume))
        .map(|s| s.at)
        .unwrap_or_default();
    Ok(RunFigures {
        volume_backup: volume_backup.to_string(),
        window: resumed - paused,
        until_requested: requested - paused,
        manager_in_window: latency(&[Kind::Execute, Kind::Create]) + latency(&[Kind::Resume]),
        resume_to_pd: resumed - resume_write,
        pairs,
        status_pause_window,
    })
}

/// `n`, the median (nearest rank) and the maximum of some durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub n: usize,
    pub p50: Micros,
    pub max: Micros,
}

impl Stats {
    pub(crate) fn of(values: impl IntoIterator<Item = Micros>) -> Option<Stats> {
        let v: Vec<Micros> = values.into_iter().collect();
        Some(Stats {
            n: v.len(),
            p50: super::stats::median(&v)?,
            max: v.iter().copied().max()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn backup(phase: &str, resume: bool, conditions: &[&str]) -> Backup {
        let conds: Vec<_> = conditions
            .iter()
            .map(|c| json!({"type": c, "status": "True"}))
            .collect();
        serde_json::from_value(json!({
            "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
            "metadata": {"name": "fed-v", "namespace": "test1"},
            "spec": {"federalVolumeBackupPhase": phase, "resumeGcSchedule": resume},
            "status": {"conditions": conds},
        }))
        .unwrap()
    }

    fn status(c: &[&str]) -> Change {
        Change::Status(c.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn changes_are_told_apart() {
        let init = backup("initialize", false, &[]);
        assert_eq!(classify(None, &init), [Change::Write(Kind::Start)]);
        let paused = backup("initialize", false, &["Running", "VolumeBackupInitialized"]);
        assert_eq!(
            classify(Some(&init), &paused),
            [status(&["Running", "VolumeBackupInitialized"])]
        );
        let exec = backup("execute", false, &["Running", "VolumeBackupInitialized"]);
        assert_eq!(
            classify(Some(&paused), &exec),
            [Change::Write(Kind::Execute)]
        );
        let resume = backup("execute", true, &["Running", "VolumeBackupInitialized"]);
        assert_eq!(
            classify(Some(&exec), &resume),
            [Change::Write(Kind::Resume)]
        );
        let mut odd = resume.clone();
        odd.spec.tool_image = Some("other".into());
        assert!(matches!(
            classify(Some(&resume), &odd)[..],
            [Change::OtherWrite(_)]
        ));
    }

    fn at(at: Micros, cluster: &str, change: Change) -> Seen {
        Seen {
            at,
            cluster: cluster.into(),
            name: "fed-v".into(),
            change,
        }
    }

    #[test]
    fn writes_pair_with_the_latest_change_that_made_them_due() {
        let seen = vec![
            at(0, "control", Change::VolumeBackupSent),
            at(10, "dp-1", Change::Write(Kind::Start)),
            at(1_000, "dp-1", status(&["VolumeBackupInitialized"])),
            at(1_020, "dp-1", Change::Write(Kind::Execute)),
            at(1_030, "dp-2", Change::Write(Kind::Create)),
            at(2_000, "dp-2", status(&["VolumeBackupSnapshotsCreated"])),
            at(2_500, "dp-1", status(&["VolumeBackupSnapshotsCreated"])),
            at(2_600, "dp-2", status(&[])),
            at(2_540, "dp-1", Change::Write(Kind::Resume)),
            at(9_000, "dp-1", status(&["VolumeBackupComplete"])),
            at(9_100, "dp-2", status(&["VolumeBackupComplete"])),
            at(9_150, "dp-1", Change::Write(Kind::Teardown)),
            at(9_170, "dp-2", Change::Write(Kind::Teardown)),
        ];
        let mut seen = seen;
        seen.sort_by_key(|s| s.at);
        let pd = [PdMark::Paused(900), PdMark::Resumed(2_700)];
        let f = figures("v", 2, &seen, &pd, Some("2s".into())).unwrap();
        let latencies: Vec<(Kind, Micros)> = f.pairs.iter().map(|p| (p.kind, p.latency)).collect();
        assert_eq!(
            latencies,
            [
                (Kind::Start, 10),
                (Kind::Execute, 20),
                (Kind::Create, 30),
                (Kind::Resume, 40),
                (Kind::Teardown, 50),
                (Kind::Teardown, 70),
            ]
        );
        assert_eq!(f.window, 1_800);
        assert_eq!(f.until_requested, 1_600);
        assert_eq!(f.manager_in_window, 30 + 40);
        assert_eq!(f.resume_to_pd, 160);

        // A missing write or an expired pause is an error, not a figure.
        let short: Vec<Seen> = seen[..seen.len() - 1].to_vec();
        assert!(figures("v", 2, &short, &pd, None).is_err());
        assert!(
            figures(
                "v",
                2,
                &seen,
                &[PdMark::Paused(900), PdMark::Expired(5)],
                None
            )
            .is_err()
        );
    }

    #[test]
    fn a_write_without_a_trigger_is_an_error() {
        let seen = vec![at(5, "dp-1", Change::Write(Kind::Resume))];
        assert!(pairs(&seen, 1).is_err());
        // The last member's report arriving after the write: out of order, not paired
        // with the other member's.
        let seen = vec![
            at(1, "dp-1", status(&["VolumeBackupSnapshotsCreated"])),
            at(5, "dp-1", Change::Write(Kind::Resume)),
            at(6, "dp-2", status(&["VolumeBackupSnapshotsCreated"])),
        ];
        assert!(pairs(&seen, 2).is_err());
    }

    #[test]
    fn stats_take_the_nearest_rank_median() {
        assert_eq!(
            Stats::of([5, 1, 3, 4]),
            Some(Stats {
                n: 4,
                p50: 3,
                max: 5
            })
        );
        assert_eq!(Stats::of([7]).unwrap().p50, 7);
        assert_eq!(Stats::of([]), None);
    }
}
