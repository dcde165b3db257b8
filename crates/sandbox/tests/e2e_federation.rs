//! The second seed document end to end: its three `VolumeBackup`s (static keys, kube2iam,
//! IRSA), applied with kubectl in the `control` cluster of a three-cluster sandbox, are
//! carried through both data planes by our federation manager and our operators, and end
//! `Complete` with `status.backups` as the document prints it, the smallest commit ts, the
//! summed size and the pause window; the simulated PD shows one pause and one resume per
//! backup. Deleting one with `cleanPolicy: Delete` leaves none of its snapshots or files.

mod support;

use std::time::Duration;

use kube::Api;
use support::volume::{PLANES, Planes, counts};
use tibr_api::federation::v1alpha1::VolumeBackup;
use tibr_sandbox::demo::{fed_seed, seed::Credentials};

const CONTROL: &str = "control";

async fn wait_vbk_phase(
    p: &Planes,
    vbks: &Api<VolumeBackup>,
    name: &str,
    phase: &str,
) -> VolumeBackup {
    let waited = tibr_testkit::poll(Duration::from_secs(120), || async {
        let v = vbks.get_opt(name).await.ok().flatten()?;
        let now = v.status.as_ref()?.phase.as_ref()?.as_str().to_string();
        if now == "Failed" && phase != "Failed" {
            panic!("{name} failed: {:#?}", v.status);
        }
        (now == phase).then_some(v)
    })
    .await;
    match waited {
        Ok(v) => v,
        // Where it stopped, for a timeout that does not reproduce on demand.
        Err(_) => panic!(
            "timed out after 120s waiting for VolumeBackup {name} to be {phase}\n{}",
            p.describe_volume_backup(vbks, name).await
        ),
    }
}

#[tokio::test]
async fn the_seeds_volume_backups_complete_across_two_data_planes_and_delete_cleanly() {
    let p = Planes::start(Duration::from_secs(1)).await;
    assert!(
        p.sandbox
            .federation
            .as_ref()
            .is_some_and(|f| f.is_running()),
        "the sandbox runs the federation manager in control"
    );
    let control = p.sandbox.cluster(CONTROL).unwrap().client().await.unwrap();
    let vbks: Api<VolumeBackup> = Api::namespaced(control, "test1");

    let seeds = fed_seed::volume_backups().unwrap();
    let mut done = Vec::new();
    for seed in seeds {
        let seed = seed.distinct().unwrap();
        let name = seed.name().unwrap();
        if seed.credentials == Credentials::Irsa {
            // Annotated only now: a web identity would take precedence over kube2iam.
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
        }
        let file = p.shell.dir.join(format!("{name}.yaml"));
        std::fs::write(&file, &seed.yaml).unwrap();
        let out = p
            .shell
            .ok(&[
                "--context",
                CONTROL,
                "-n",
                "test1",
                "apply",
                "-f",
                &file.to_string_lossy(),
            ])
            .await;
        assert!(
            out.contains(&format!(
                "volumebackup.federation.pingcap.com/{name} created"
            )),
            "{out}"
        );
        let v = wait_vbk_phase(&p, &vbks, &name, "Complete").await;
        let s = v.status.clone().unwrap();

        // status.backups as the document prints it, one entry per data plane.
        assert_eq!(s.backups.len(), 2, "{s:#?}");
        let prefix = v
            .spec
            .template
            .storage
            .s3
            .as_ref()
            .unwrap()
            .prefix
            .clone()
            .unwrap();
        let mut commits = Vec::new();
        for (entry, plane) in s.backups.iter().zip(PLANES) {
            assert_eq!(entry.k8s_cluster_name.as_deref(), Some(plane));
            assert_eq!(entry.tc_name.as_deref(), Some("demo1"));
            assert_eq!(entry.tc_namespace.as_deref(), Some("test1"));
            assert_eq!(entry.backup_name, format!("fed-{name}"));
            assert_eq!(
                entry.backup_path.as_deref(),
                Some(format!("s3://my-bucket/{prefix}-{plane}").as_str())
            );
            commits.push(entry.commit_ts.clone().unwrap().parse::<u64>().unwrap());
            let member = p.plane(plane).backup(&format!("fed-{name}")).await;
            assert_eq!(
                member.phase().map(|p| p.as_str().to_string()).as_deref(),
                Some("Complete")
            );
        }
        assert_eq!(
            s.commit_ts.as_deref(),
            Some(commits.iter().min().unwrap().to_string().as_str()),
            "the smallest member commit ts"
        );
        assert!(s.backup_size.unwrap() > 0 && s.backup_size_readable.is_some());
        assert!(s.time_taken.is_some());
        assert!(
            s.time_paused.is_some() && s.time_resumed.is_some() && s.pause_window.is_some(),
            "the pause is on the VolumeBackup: {s:#?}"
        );
        assert_eq!(p.snapshots_of(&format!("fed-{name}")).len(), 8);
        let wide = p
            .shell
            .ok(&[
                "--context",
                CONTROL,
                "-n",
                "test1",
                "get",
                "vbk",
                &name,
                "-o",
                "wide",
            ])
            .await;
        assert!(wide.contains("Complete"), "{wide}");
        done.push((name, prefix));
    }
    // One pause and one resume per VolumeBackup, none left to expire.
    let c = counts(&p.pd_history());
    assert_eq!(c.get("schedulers_paused"), Some(&3), "{c:?}");
    assert_eq!(c.get("schedulers_resumed"), Some(&3), "{c:?}");
    assert!(!c.contains_key("schedulers_expired") && !c.contains_key("gc_expired"));

    // Deleting one (the seed's cleanPolicy is Delete) removes its members, their snapshots
    // and their files, and leaves the others alone.
    let (name, prefix) = done[0].clone();
    p.shell
        .ok(&[
            "--context",
            CONTROL,
            "-n",
            "test1",
            "delete",
            "vbk",
            &name,
            "--wait=false",
        ])
        .await;
    tibr_testkit::wait_until(120, &format!("VolumeBackup {name} to be gone"), || async {
        vbks.get_opt(&name).await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(p.snapshots_of(&format!("fed-{name}")).is_empty());
    for plane in PLANES {
        assert!(p.objects(&format!("{prefix}-{plane}")).is_empty());
        assert!(p.plane(plane).get(&format!("fed-{name}")).await.is_none());
    }
    let (other, _) = &done[1];
    assert_eq!(p.snapshots_of(&format!("fed-{other}")).len(), 8);
    p.stop().await;
}
