//! `br backup full --type=aws-ebs` against moto's EC2 and S3 and the simulated PD. Needs
//! the moto_server `./scripts/test` starts (`TIBR_TEST_MOTO_ENDPOINT`); fails without it.
//!
//! moto completes a snapshot at once and ignores `ExcludeDataVolumeIds` (5.2.5 snapshots
//! every non-boot volume of the instance), so pending and `error` snapshots, the pending
//! limit and the exclusion of other data volumes are left to the EC2 emulator's tests.

mod common;

use std::time::Duration;

use common::ebs::{Setup, keys, line, number, text};
use common::ec2;
use common::pd::{self, events};
use common::{lines, value, wait_for_line};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tibr_core::volume::VolumeMeta;
use tibr_tidb_sim::pd::Event;

#[tokio::test]
async fn snapshots_per_instance_then_backupmeta_in_brs_layout_and_brs_success_line() {
    let s = Setup::new().await;
    let nodes = ec2::seed(&s.ec2, 2, 2, true).await;
    let file = s.volume_file(&ec2::volume_file(&nodes));
    // The init Job: the real pause command, held while the backup runs.
    let pd_url = s.pd.url();
    let mut init = pd::br(
        &[
            "operator",
            "pause-gc-and-schedulers",
            "--pd=demo1-pd.test1:2379",
        ],
        &[("BR_SIM_PD_URL", pd_url.as_str())],
    )
    .spawn()
    .unwrap();
    let mut init_out = lines(&mut init);
    wait_for_line(&mut init_out, &mut Vec::new(), |l| {
        l.contains("[\"GC is paused.\"]")
    })
    .await;
    let before = pd::state(&s.pd).await;

    let out = s
        .br(
            "happy",
            &file,
            &["--operator-paused-gc-and-scheduler=true"],
            &[],
        )
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let success = line(&stdout, "[\"EBS backup success\"]");
    assert!(success.contains("[INFO] [collector.go:77]"), "{success}");
    let (size, resolved_ts, start_ts) = (
        number(success, "size"),
        number(success, "resolved_ts"),
        number(success, "backup_start_ts"),
    );
    let after = pd::state(&s.pd).await;
    assert!(resolved_ts >= before.min_resolved_ts && resolved_ts <= after.min_resolved_ts);
    assert!(start_ts > before.tso && start_ts <= after.tso);
    // GC was held below the backup's ts for the whole run.
    let held = after.service_gc_safe_points[0].safe_point;
    assert!(held < resolved_ts, "{held} {resolved_ts}");
    assert!(
        after.schedulers.paused,
        "the backup does not resume the init Job's pause"
    );
    assert_eq!(
        stdout.matches("[\"EC2 instance id is\"]").count(),
        2,
        "one request per instance"
    );

    // Two volumes per instance and one snapshot of each: one request per instance (a request
    // per volume would snapshot the instance twice on moto); the boot volumes never.
    let mut size_gib = 0;
    let mut by_volume = std::collections::BTreeMap::new();
    for node in &nodes {
        assert!(
            ec2::snapshots_of(&s.cloud, std::slice::from_ref(&node.boot))
                .await
                .is_empty()
        );
        for volume in node.volumes.iter().chain(&node.other) {
            let snaps = ec2::snapshots_of(&s.cloud, std::slice::from_ref(volume)).await;
            assert_eq!(snaps.len(), 1, "{volume}: {snaps:?}");
            size_gib += i64::from(snaps[0].size_gib);
            by_volume.insert(volume.clone(), snaps[0].snapshot_id.clone());
        }
    }
    assert_eq!(
        size as i64, size_gib,
        "BR's size is the snapshots' provisioned GiB"
    );

    let raw = s.backupmeta("happy").await.expect("backupmeta written");
    assert!(!raw.contains('\n') && !raw.contains("mount_path"), "{raw}");
    let json: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        keys(&json),
        [
            "cluster_info",
            "tikv",
            "tidb",
            "pd",
            "kubernetes",
            "options",
            "region"
        ]
    );
    assert_eq!(
        keys(&json["kubernetes"]),
        ["pvs", "pvcs", "crd_tidb_cluster", "options"]
    );
    assert_eq!(
        keys(&json["kubernetes"]["pvs"][0]),
        ["metadata", "spec"],
        "Go map order"
    );
    assert_eq!(json["cluster_info"]["cluster_version"], "8.5.0");
    let meta: VolumeMeta = serde_json::from_str(&raw).expect("reads as VolumeMeta");
    assert_eq!(meta.resolved_ts(), Some(resolved_ts));
    assert_eq!(
        meta.cluster_info.as_ref().unwrap().full_backup_type,
        "aws-ebs"
    );
    for (volume, snapshot) in meta.snapshots() {
        assert_eq!(by_volume.get(volume).map(String::as_str), Some(snapshot));
    }
    assert_eq!(meta.snapshots().len(), 4, "listed volumes only");
    let zones: Vec<_> = meta
        .tikv
        .stores
        .iter()
        .flat_map(|s| &s.volumes)
        .map(|v| v.volume_az.clone())
        .collect();
    assert!(
        zones.iter().all(|z| z.as_deref() == Some(ec2::ZONE)),
        "{zones:?}"
    );
    assert!(!s.progress_file().exists(), "BR removes its progress file");

    kill(Pid::from_raw(init.id().unwrap() as i32), Signal::SIGTERM).unwrap();
    assert_eq!(init.wait().await.unwrap().code(), Some(0));
    let end = pd::state(&s.pd).await;
    assert!(!end.schedulers.paused && end.service_gc_safe_points.is_empty());
    ec2::clean(&s.ec2, &s.cloud, &nodes).await;
}

#[tokio::test]
async fn a_used_prefix_or_no_store_is_refused_before_any_snapshot() {
    let s = Setup::new().await;
    s.pause();
    let nodes = ec2::seed(&s.ec2, 1, 1, false).await;
    let file = s.volume_file(&ec2::volume_file(&nodes));
    let store = s.store("used");
    store
        .put(
            &store.key("backupmeta").unwrap(),
            bytes::Bytes::from_static(b"{}"),
        )
        .await
        .unwrap();
    let out = s
        .br(
            "used",
            &file,
            &["--operator-paused-gc-and-scheduler=true"],
            &[],
        )
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with(&format!(
            "Error: backup meta file exists in s3://{}/used//backupmeta, there may be some \
             backup files in the path already, please specify a correct backup directory!",
            s.bucket
        )),
        "{stderr}"
    );
    line(
        &stdout,
        "[\"EBS backup failed, please check the log for details.\"]",
    );
    assert!(!stdout.contains("cleaning up created volumes"));
    assert!(
        ec2::snapshots_of(&s.cloud, &ec2::all_volumes(&nodes))
            .await
            .is_empty()
    );

    let empty = s.volume_file(&serde_json::json!({"tikv": {"replicas": 0, "stores": []}}));
    let out = s.br("empty", &empty, &[], &[]).output().await.unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr
            .starts_with("Error: store count is 0: [BR:Common:ErrInvalidArgument]invalid argument"),
        "{stderr}"
    );
    line(&stdout, "[\"nothing to backup\"]");
    assert!(s.backupmeta("empty").await.is_none());
    ec2::clean(&s.ec2, &s.cloud, &nodes).await;
}

#[tokio::test]
async fn the_operators_pause_is_required_and_waited_for() {
    let s = Setup::new().await;
    let nodes = ec2::seed(&s.ec2, 1, 2, false).await;
    let file = s.volume_file(&ec2::volume_file(&nodes));
    let paused = ["--operator-paused-gc-and-scheduler=true"];
    let short_wait = [("BR_SIM_EBS_SCHEDULE_WAIT_MS", "600")];
    let out = s
        .br("unpaused", &file, &paused, &short_wait)
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("Error: failed to wait all schedule stopped"),
        "{stderr}"
    );
    let retry = line(&stdout, "[\"schedule ongoing on tikv, will retry later\"]");
    assert_eq!(
        value(retry, "error"),
        Some(&*format!(
            "store-id={}: has pending admin",
            nodes[0].store_id
        ))
    );
    assert!(s.backupmeta("unpaused").await.is_none());

    // Schedulers paused but no GC safepoint: still refused.
    for name in s.pd.pd().scheduler_names() {
        s.pd.pd().pause_scheduler(&name, 120, "someone").unwrap();
    }
    let out = s
        .br("no-gc", &file, &paused, &short_wait)
        .output()
        .await
        .unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        line(&stdout, "failed to wait schedule, will retry later").contains("GC is not paused")
    );
    assert!(
        ec2::snapshots_of(&s.cloud, &ec2::all_volumes(&nodes))
            .await
            .is_empty()
    );

    // The pause arriving while BR waits lets it go on.
    for name in s.pd.pd().scheduler_names() {
        s.pd.pd().pause_scheduler(&name, 0, "someone").unwrap();
    }
    let mut child = s
        .br(
            "late",
            &file,
            &paused,
            &[("BR_SIM_EBS_SCHEDULE_WAIT_MS", "30000")],
        )
        .spawn()
        .unwrap();
    let mut out = lines(&mut child);
    let mut seen = Vec::new();
    wait_for_line(&mut out, &mut seen, |l| {
        l.contains("schedule ongoing on tikv")
    })
    .await;
    s.pause();
    let done = wait_for_line(&mut out, &mut seen, |l| l.contains("EBS backup")).await;
    assert!(
        done.contains("[\"EBS backup success\"]"),
        "{}",
        seen.join("\n")
    );
    assert_eq!(child.wait().await.unwrap().code(), Some(0));
    ec2::clean(&s.ec2, &s.cloud, &nodes).await;
}

#[tokio::test]
async fn a_failure_after_some_requests_deletes_the_snapshots_it_created() {
    let s = Setup::new().await;
    s.pause();
    let nodes = ec2::seed(&s.ec2, 3, 2, false).await;
    let file = s.volume_file(&ec2::volume_file(&nodes));
    let volumes = ec2::all_volumes(&nodes);
    assert!(ec2::snapshots_of(&s.cloud, &volumes).await.is_empty());
    let out = s
        .br(
            "after-one",
            &file,
            &[
                "--operator-paused-gc-and-scheduler=true",
                "--cloud-api-concurrency=1",
            ],
            &[("BR_SIM_EBS_FAIL_AFTER_CREATES", "1")],
        )
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stderr.starts_with("Error: failed to create snapshot for request {"),
        "{stderr}"
    );
    let cleaned = stdout
        .find("cleaning up created volumes")
        .expect("clean-up announced");
    let end = line(&stdout, "[\"delete snapshot end\"]");
    // One instance's two volumes were snapshotted, and both deletions went through.
    assert_eq!((number(end, "need-to-del"), number(end, "deleted")), (2, 2));
    let failed = stdout
        .find("[\"EBS backup failed, please check the log for details.\"]")
        .unwrap();
    assert!(
        cleaned < stdout.find("delete snapshot end").unwrap()
            && stdout.find("delete snapshot end").unwrap() < failed
    );
    assert!(stdout.contains("[ERROR] [backup.go:54] [\"failed to backup\"]"));
    assert!(ec2::snapshots_of(&s.cloud, &volumes).await.is_empty());
    assert!(s.backupmeta("after-one").await.is_none());

    // Failing once every request is done, before backupmeta: everything goes.
    let out = s
        .br(
            "before-meta",
            &file,
            &["--operator-paused-gc-and-scheduler=true"],
            &[("BR_SIM_EBS_FAIL_AT", "snapshots")],
        )
        .output()
        .await
        .unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    let end = line(&stdout, "[\"delete snapshot end\"]");
    assert_eq!((number(end, "need-to-del"), number(end, "deleted")), (6, 6));
    assert!(ec2::snapshots_of(&s.cloud, &volumes).await.is_empty());
    assert!(s.backupmeta("before-meta").await.is_none());
    let store = s.store("before-meta");
    assert!(
        store
            .exists(&store.key("backup.lock").unwrap())
            .await
            .unwrap()
    );
    ec2::clean(&s.ec2, &s.cloud, &nodes).await;
}

#[tokio::test]
async fn after_the_snapshots_a_first_sigterm_is_ignored_and_a_second_exits_at_once() {
    let s = Setup::new().await;
    s.pause();
    let nodes = ec2::seed(&s.ec2, 1, 2, false).await;
    let file = s.volume_file(&ec2::volume_file(&nodes));
    let mut child = s
        .br(
            "hang",
            &file,
            &["--operator-paused-gc-and-scheduler=true"],
            &[("BR_SIM_EBS_HANG_AT", "meta")],
        )
        .spawn()
        .unwrap();
    let mut out = lines(&mut child);
    let mut seen = Vec::new();
    // backupmeta is written right after the requests, long before the snapshots complete.
    wait_for_line(&mut out, &mut seen, |l| {
        l.contains("[progress] [step=backup]")
    })
    .await;
    let written = pd::wait_until(Duration::from_secs(20), || async {
        s.backupmeta("hang").await.is_some()
            && std::fs::read_to_string(s.progress_file()).is_ok_and(|p| p == "0.00")
    })
    .await;
    assert!(
        written,
        "backupmeta and a 0.00 progress file while the snapshots are polled"
    );
    let pid = Pid::from_raw(child.id().unwrap() as i32);
    kill(pid, Signal::SIGTERM).unwrap();
    wait_for_line(&mut out, &mut seen, |l| {
        l.contains("received signal to exit")
    })
    .await;
    // Still running: progress keeps being reported after the signal.
    wait_for_line(&mut out, &mut seen, |l| {
        l.contains("[progress] [step=backup]")
    })
    .await;
    assert!(child.try_wait().unwrap().is_none());
    kill(pid, Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    // No clean-up on a forced exit: the snapshots stay for the Backup's clean to find.
    let volumes = ec2::all_volumes(&nodes);
    assert_eq!(ec2::snapshots_of(&s.cloud, &volumes).await.len(), 2);
    ec2::clean(&s.ec2, &s.cloud, &nodes).await;
}

#[tokio::test]
async fn without_the_operator_flag_br_pauses_itself_and_resumes_the_schedulers() {
    let s = Setup::new().await;
    let nodes = ec2::seed(&s.ec2, 1, 1, false).await;
    let file = s.volume_file(&ec2::volume_file(&nodes));
    let out = s.br("self", &file, &[], &[]).output().await.unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let state = pd::state(&s.pd).await;
    let paused = events(&state, Event::SchedulersPaused);
    let resumed = events(&state, Event::SchedulersResumed);
    let gc = events(&state, Event::GcPaused);
    assert_eq!(
        (paused.len(), resumed.len(), gc.len()),
        (1, 1, 1),
        "{state:#?}"
    );
    assert_eq!(paused[0].by, resumed[0].by);
    assert_eq!(paused[0].by, gc[0].by);
    // BR leaves its safepoint to its 5-minute TTL.
    assert!(events(&state, Event::GcResumed).is_empty());
    assert_eq!(state.service_gc_safe_points[0].ttl_seconds, 300);
    assert!(s.backupmeta("self").await.is_some());
    ec2::clean(&s.ec2, &s.cloud, &nodes).await;
}

#[tokio::test]
async fn skip_aws_mocks_the_snapshots_and_writes_no_backupmeta() {
    let s = Setup::new().await;
    s.pause();
    let nodes = ec2::seed(&s.ec2, 2, 1, false).await;
    let file = s.volume_file(&ec2::volume_file(&nodes));
    let out = s
        .br(
            "skip",
            &file,
            &["--operator-paused-gc-and-scheduler=true", "--skip-aws"],
            &[("br_ebs_backup_mocking_wait_snapshot_duration", "10ms")],
        )
        .output()
        .await
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.matches("[\"mock snapshot finished.\"]").count(), 2);
    assert_eq!(
        number(line(&stdout, "[\"EBS backup success\"]"), "size"),
        1024
    );
    assert!(s.backupmeta("skip").await.is_none());
    assert!(
        ec2::snapshots_of(&s.cloud, &ec2::all_volumes(&nodes))
            .await
            .is_empty()
    );
    ec2::clean(&s.ec2, &s.cloud, &nodes).await;
}
