//! The second seed document's VolumeBackupSchedule, applied as written (at `@every 10s`,
//! keeping backups 25 s): its runs across both data planes, retention deleting expired
//! runs with their snapshots, `pause: true`, and deleting the schedule.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::json;
use tibr_api::federation::v1alpha1::{VolumeBackup, VolumeBackupSchedule};

use super::{
    Report, command,
    fed_seed::{self, SCHEDULE_NAMESPACE as NS},
    get_table, heading, table_text, wait_for,
};
use crate::sandbox::{Sandbox, apply};

const NAME: &str = "vbks-seed";

pub async fn run(sandbox: &Sandbox, control: &Client, report: &mut Report) -> anyhow::Result<()> {
    heading("The second seed's VolumeBackupSchedule: runs, retention, pause");
    let yaml = fed_seed::volume_backup_schedule("@every 10s", "25s")?;
    command(&format!("kubectl --context control create namespace {NS}"));
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}}))?;
    Api::<Namespace>::all(control.clone())
        .create(&PostParams::default(), &ns)
        .await?;
    println!("namespace/{NS} created");
    command(
        "kubectl --context control apply -f volume-backup-scheduler.yaml   # the seed's, as written",
    );
    for line in yaml.lines().filter(|l| !l.trim().is_empty()) {
        println!("  | {line}");
    }
    for line in apply::apply(control, NS, &yaml).await? {
        println!("{line}");
    }
    let runs: Api<VolumeBackup> = Api::namespaced(control.clone(), NS);
    let deleted = wait_for(Duration::from_secs(120), || async {
        (count(control, "SuccessfulDelete").await >= 1).then_some(())
    })
    .await;
    report.check(
        deleted.is_some(),
        "runs are taken every 10 s, and retention deletes those older than 25 s",
    );
    show(control).await?;
    let complete = list(&runs)
        .await?
        .iter()
        .filter(|v| phase(v) == "Complete")
        .count();
    report.check(complete >= 1, "the runs complete across dp-1 and dp-2");
    let misplaced = events(control)
        .await
        .iter()
        .any(|e| e.contains("MisplacedField") && e.contains("template.cleanPolicy"));
    report.check(
        misplaced,
        "a Warning asks to move template.br.cleanPolicy to template.cleanPolicy, where it is applied",
    );

    command(&format!(
        "kubectl --context control -n {NS} patch vbks {NAME} --type merge -p '{{\"spec\":{{\"pause\":true}}}}'"
    ));
    let schedules: Api<VolumeBackupSchedule> = Api::namespaced(control.clone(), NS);
    schedules
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"pause": true}})),
        )
        .await?;
    println!("volumebackupschedule.federation.pingcap.com/{NAME} patched");
    let paused = wait_for(Duration::from_secs(30), || async {
        let s = schedules.get(NAME).await.ok()?;
        s.status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Paused" && c.status == "True" && c.observed_generation == Some(2))
    })
    .await;
    let created = count(control, "SuccessfulCreate").await;
    let deletions = count(control, "SuccessfulDelete").await;
    let later = wait_for(Duration::from_secs(60), || async {
        (count(control, "SuccessfulDelete").await > deletions).then_some(())
    })
    .await;
    show(control).await?;
    report.check(
        paused.is_some() && later.is_some() && count(control, "SuccessfulCreate").await == created,
        "paused: no new run, while retention goes on deleting",
    );

    command(&format!(
        "kubectl --context control -n {NS} delete vbks {NAME}"
    ));
    schedules.delete(NAME, &DeleteParams::background()).await?;
    println!("volumebackupschedule.federation.pingcap.com \"{NAME}\" deleted");
    let gone = wait_for(Duration::from_secs(120), || async {
        let left = list(&runs).await.ok()?.len();
        let snapshots = sandbox
            .ec2()
            .snapshots()
            .iter()
            .filter(|s| {
                s.tags
                    .get("tibr.dev/backup-name")
                    .is_some_and(|n| n.starts_with("fed-vbks-seed-"))
            })
            .count();
        (left == 0 && snapshots == 0).then_some(())
    })
    .await;
    command(&format!("kubectl --context control -n {NS} get vbk"));
    println!("No resources found in {NS} namespace.");
    report.check(
        gone.is_some(),
        "deleting the schedule deletes its VolumeBackups, and their snapshots (cleanPolicy Delete)",
    );
    Ok(())
}

async fn list(runs: &Api<VolumeBackup>) -> anyhow::Result<Vec<VolumeBackup>> {
    Ok(runs.list(&ListParams::default()).await?.items)
}

fn phase(v: &VolumeBackup) -> &str {
    v.status
        .as_ref()
        .and_then(|s| s.phase.as_ref())
        .map_or("", |p| p.as_str())
}

async fn events(control: &Client) -> Vec<String> {
    kube_emulator::testing::events(control, NS, Some(NAME)).await
}

async fn count(control: &Client, reason: &str) -> usize {
    events(control)
        .await
        .iter()
        .filter(|e| e.contains(&format!(" {reason}:")))
        .count()
}

/// `kubectl get vbks -o wide`, `kubectl get vbk`, and the schedule's Events.
async fn show(control: &Client) -> anyhow::Result<()> {
    command(&format!(
        "kubectl --context control -n {NS} get vbks -o wide"
    ));
    let table = get_table(
        control,
        &format!("/apis/federation.pingcap.com/v1alpha1/namespaces/{NS}/volumebackupschedules"),
    )
    .await?;
    print!("{}", table_text(&table, true));
    command(&format!("kubectl --context control -n {NS} get vbk"));
    let table = get_table(
        control,
        &format!("/apis/federation.pingcap.com/v1alpha1/namespaces/{NS}/volumebackups"),
    )
    .await?;
    print!("{}", table_text(&table, false));
    command(&format!(
        "kubectl --context control -n {NS} get events --field-selector involvedObject.name={NAME}"
    ));
    let mut seen = std::collections::BTreeSet::new();
    for e in events(control).await {
        if seen.insert(e.clone()) {
            println!("{e}");
        }
    }
    Ok(())
}
