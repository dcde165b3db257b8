//! The second seed document's VolumeBackupSchedule, applied with kubectl in `control` of a
//! three-cluster sandbox exactly as written (its misplaced `template.br.cleanPolicy`,
//! `resources: {}` and empty `backup:` included; IRSA for access), at `@every 15s`: runs
//! named after their ticks complete across both data planes under TiDB's per-run prefix,
//! retention deletes the expired ones with their snapshots (the misplaced `Delete` policy
//! honoured), `pause: true` stops new runs while retention goes on, and deleting the
//! schedule deletes its VolumeBackups and their snapshots.

mod support;

use std::time::Duration;

use kube::{Api, ResourceExt, api::ListParams};
use support::volume::{PLANES, Planes};
use tibr_api::federation::v1alpha1::{VolumeBackup, VolumeBackupSchedule};
use tibr_sandbox::demo::fed_seed::{self, SCHEDULE_NAMESPACE as NS};

const CONTROL: &str = "control";
const NAME: &str = "vbks-seed";

/// "Reason: message" of the Events about the schedule.
async fn schedule_events(client: &kube::Client) -> Vec<String> {
    kube_emulator::testing::events(client, NS, Some(NAME)).await
}

fn count(events: &[String], reason: &str) -> usize {
    events
        .iter()
        .filter(|e| e.contains(&format!(" {reason}:")))
        .count()
}

#[tokio::test]
async fn the_seeds_schedule_takes_runs_keeps_what_retention_says_pauses_and_deletes_cleanly() {
    let p = Planes::start(Duration::from_secs(1)).await;
    let control = p.sandbox.cluster(CONTROL).unwrap().client().await.unwrap();
    let vbks: Api<VolumeBackup> = Api::namespaced(control.clone(), NS);
    let schedules: Api<VolumeBackupSchedule> = Api::namespaced(control.clone(), NS);
    for plane in PLANES {
        p.shell
            .ok(&[
                "--context",
                plane,
                "-n",
                "test1",
                "annotate",
                "serviceaccount",
                "tidb-backup-manager",
                &format!("eks.amazonaws.com/role-arn={}", support::ROLE),
            ])
            .await;
    }
    p.shell
        .ok(&["--context", CONTROL, "create", "namespace", NS])
        .await;
    let file = p.shell.dir.join("volume-backup-scheduler.yaml");
    std::fs::write(
        &file,
        fed_seed::volume_backup_schedule("@every 15s", "35s").unwrap(),
    )
    .unwrap();
    let out = p
        .shell
        .ok(&["--context", CONTROL, "apply", "-f", &file.to_string_lossy()])
        .await;
    assert!(
        out.contains("volumebackupschedule.federation.pingcap.com/vbks-seed created"),
        "{out}"
    );

    // Runs complete, and retention deletes the expired ones.
    tibr_testkit::wait_until(150, "retention to delete a run", || async {
        let events = schedule_events(&control).await;
        (count(&events, "SuccessfulDelete") >= 1).then_some(())
    })
    .await;
    let events = schedule_events(&control).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Warning MisplacedField")
                && e.contains("spec.backupTemplate.template.cleanPolicy")),
        "{events:?}"
    );
    let complete: Vec<VolumeBackup> = vbks
        .list(&ListParams::default().labels(&format!("tidb.pingcap.com/backup-schedule={NAME}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|v| {
            v.status
                .as_ref()
                .and_then(|s| s.phase.as_ref())
                .map(|p| p.as_str())
                == Some("Complete")
        })
        .collect();
    assert!(!complete.is_empty());
    for v in &complete {
        let name = v.name_any();
        let stamp = name
            .strip_prefix("vbks-seed-")
            .expect("named after its tick");
        assert_eq!(stamp.len(), "2026-12-05t10-00-00".len(), "{name}");
        assert_eq!(
            v.spec.template.clean_policy.as_ref().map(|c| c.as_str()),
            Some("Delete"),
            "the misplaced policy is applied"
        );
        let status = v.status.as_ref().unwrap();
        let paths: Vec<_> = status
            .backups
            .iter()
            .filter_map(|b| b.backup_path.clone())
            .collect();
        assert_eq!(
            paths,
            PLANES.map(|plane| format!("s3://my-bucket/vbk-seed/-{stamp}-{plane}")),
            "TiDB's per-run prefix, then each data plane's suffix"
        );
        assert_eq!(p.snapshots_of(&format!("fed-{name}")).len(), 8);
    }
    // The deleted run's snapshots go with it.
    let deleted = events
        .iter()
        .find(|e| e.contains(" SuccessfulDelete:"))
        .and_then(|e| e.split_whitespace().nth(4).map(str::to_string))
        .unwrap();
    tibr_testkit::wait_until(
        90,
        &format!("{deleted} and its snapshots to be gone"),
        || async {
            let gone = vbks.get_opt(&deleted).await.ok()?.is_none();
            (gone && p.snapshots_of(&format!("fed-{deleted}")).is_empty()).then_some(())
        },
    )
    .await;

    // Pause: no new run, while retention keeps deleting. Two Complete runs first, so that
    // retention has one to delete after the pause (it never deletes the newest).
    tibr_testkit::wait_until(90, "two Complete runs", || async {
        let list = vbks.list(&ListParams::default()).await.ok()?;
        let done = list.items.iter().filter(|v| {
            v.metadata.deletion_timestamp.is_none()
                && v.status
                    .as_ref()
                    .and_then(|s| s.phase.as_ref())
                    .map(|p| p.as_str())
                    == Some("Complete")
        });
        (done.count() >= 2).then_some(())
    })
    .await;
    p.shell
        .ok(&[
            "--context",
            CONTROL,
            "-n",
            NS,
            "patch",
            "vbks",
            NAME,
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"pause":true}}"#,
        ])
        .await;
    tibr_testkit::wait_until(30, "Paused=True for generation 2", || async {
        let s = schedules.get(NAME).await.ok()?;
        s.status?.conditions.iter().find(|c| {
            c.type_ == "Paused" && c.status == "True" && c.observed_generation == Some(2)
        })?;
        Some(())
    })
    .await;
    let before = schedule_events(&control).await;
    let created = count(&before, "SuccessfulCreate");
    tibr_testkit::wait_until(90, "retention to delete a run while paused", || async {
        let events = schedule_events(&control).await;
        (count(&events, "SuccessfulDelete") > count(&before, "SuccessfulDelete")).then_some(())
    })
    .await;
    let after = schedule_events(&control).await;
    assert_eq!(
        count(&after, "SuccessfulCreate"),
        created,
        "no run while paused: {after:?}"
    );
    let s = schedules.get(NAME).await.unwrap();
    assert!(s.status.unwrap().next_backup_time.is_none());

    // Deleting the schedule deletes its VolumeBackups, and they their snapshots.
    p.shell
        .ok(&["--context", CONTROL, "-n", NS, "delete", "vbks", NAME])
        .await;
    tibr_testkit::wait_until(120, "every run and snapshot to be gone", || async {
        let left = vbks.list(&ListParams::default()).await.ok()?.items.len();
        let snapshots = p
            .sandbox
            .ec2()
            .snapshots()
            .iter()
            .filter(|s| {
                s.tags
                    .get("tibr.dev/backup-name")
                    .is_some_and(|n| n.starts_with("fed-vbks-seed-"))
            })
            .count();
        let mut members = 0;
        for ns in &p.ns {
            members += ns
                .backups()
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .len();
        }
        (left == 0 && snapshots == 0 && members == 0).then_some(())
    })
    .await;
    p.stop().await;
}
