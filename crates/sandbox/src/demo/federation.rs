//! The second seed document: a TiDB cluster stretched over two Kubernetes clusters (`dp-1`,
//! `dp-2`) backed up by EBS snapshots, driven by the federation manager in `control`. Its
//! three `VolumeBackup`s (static keys, kube2iam, IRSA) are applied as written; each ends
//! `Complete` with `status.backups` as the document prints it; the simulated PD shows one
//! short pause per backup; EC2 holds the snapshots and S3 the metadata; deleting one
//! (`cleanPolicy: Delete`) leaves none of its snapshots or files and the others untouched.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::{
    Api, Client,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::json;
use tibr_api::federation::v1alpha1::VolumeBackup;
use tibr_cloud_sim::ec2::SnapshotView;

use super::{
    Report, command,
    fed_seed::{self, SeedVolumeBackup},
    get_table, heading,
    seed::Credentials,
    table_text, wait_for,
};
use crate::sandbox::{Sandbox, apply};

const NS: &str = super::SEED_NAMESPACE;
const ROLE: &str = super::SEED_ROLE;
const CONTROL: &str = "control";
const PLANES: [&str; 2] = ["dp-1", "dp-2"];
const BUCKET: &str = tibr_cloud_sim::s3::DEFAULT_BUCKET;
const BACKUP_NAME_TAG: &str = "tibr.dev/backup-name";

/// The cluster names the scenario needs, in order.
pub fn clusters() -> Vec<String> {
    std::iter::once(CONTROL)
        .chain(PLANES)
        .map(String::from)
        .collect()
}

pub async fn run(sandbox: &Sandbox, report: &mut Report) -> anyhow::Result<()> {
    heading("The second seed: one VolumeBackup across two Kubernetes clusters (EBS snapshots)");
    println!(
        "TidbCluster test1/demo1 runs its TiKV stores in dp-1 and dp-2 (one PD); the federation \
         manager runs in control with a kubeconfig whose contexts are dp-1 and dp-2."
    );
    report.check(
        sandbox.federation.as_ref().is_some_and(|f| f.is_running()),
        "the federation manager runs in control",
    );
    let control = client(sandbox, CONTROL).await?;
    for plane in PLANES {
        prerequisites(sandbox, plane, &client(sandbox, plane).await?).await?;
    }
    let seeds: Vec<SeedVolumeBackup> = fed_seed::volume_backups()?
        .iter()
        .map(SeedVolumeBackup::distinct)
        .collect::<anyhow::Result<_>>()?;
    println!(
        "\nThe seed's three examples are alternatives sharing one name and prefix; here each gets \
         its own ({}).",
        seeds
            .iter()
            .map(|s| s.name())
            .collect::<anyhow::Result<Vec<_>>>()?
            .join(", ")
    );
    let pauses_before = pd_events(sandbox, "schedulers_paused");
    for seed in &seeds {
        take(sandbox, &control, seed, report).await?;
    }
    command("kubectl --context control get vbk -n test1 -o wide");
    let table = get_table(
        &control,
        &format!("/apis/federation.pingcap.com/v1alpha1/namespaces/{NS}/volumebackups"),
    )
    .await?;
    let text = table_text(&table, true);
    print!("{text}");
    report.check(
        text.lines()
            .skip(1)
            .filter(|r| r.contains("Complete"))
            .count()
            == seeds.len()
            && text.contains("COMMITTS")
            && text.contains("BACKUPSIZE"),
        "kubectl get vbk -o wide shows each VolumeBackup Complete with its size and commit TS",
    );
    let pauses = pd_events(sandbox, "schedulers_paused") - pauses_before;
    command("curl -s $TIBR_PD_STATE_URL   # the simulated PD's history, counted");
    println!("schedulers paused {pauses} times, resumed the same; nothing expired");
    report.check(
        pauses == seeds.len()
            && pd_events(sandbox, "schedulers_expired") == 0
            && pd_events(sandbox, "gc_expired") == 0,
        "PD scheduling was paused once per VolumeBackup and every pause was ended, not expired",
    );
    delete_one(sandbox, &control, &seeds[0], &seeds[1], report).await?;
    super::fed_schedule::run(sandbox, &control, report).await
}

async fn client(sandbox: &Sandbox, cluster: &str) -> anyhow::Result<Client> {
    sandbox
        .cluster(cluster)
        .ok_or_else(|| anyhow::anyhow!("the sandbox has no cluster {cluster}"))?
        .client()
        .await
}

/// `backup-rbac.yaml` and `s3-secret` in `test1` of a data plane.
async fn prerequisites(sandbox: &Sandbox, plane: &str, client: &Client) -> anyhow::Result<()> {
    command(&format!(
        "kubectl --context {plane} apply -f deploy/backup-rbac.yaml -n test1"
    ));
    for line in apply::apply(client, NS, apply::BACKUP_RBAC).await? {
        println!("{line}");
    }
    command(&format!(
        "kubectl --context {plane} create secret generic s3-secret \
         --from-literal=access_key=\"$AWS_ACCESS_KEY_ID\" \
         --from-literal=secret_key=\"$AWS_SECRET_ACCESS_KEY\" --namespace=test1"
    ));
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "s3-secret"},
        "stringData": {"access_key": sandbox.s3.access_key, "secret_key": sandbox.s3.secret_key},
    }))?;
    Api::<Secret>::namespaced(client.clone(), NS)
        .create(&PostParams::default(), &secret)
        .await?;
    println!("secret/s3-secret created");
    Ok(())
}

async fn take(
    sandbox: &Sandbox,
    control: &Client,
    seed: &SeedVolumeBackup,
    report: &mut Report,
) -> anyhow::Result<()> {
    let name = seed.name()?;
    if seed.credentials == Credentials::Irsa {
        println!(
            "\nIRSA: tidb-backup-manager gets the role in each data plane only now (a web \
             identity takes precedence over kube2iam for the earlier examples' pods)."
        );
        for plane in PLANES {
            command(&format!(
                "kubectl --context {plane} annotate sa tidb-backup-manager \
                 eks.amazonaws.com/role-arn={ROLE} --namespace=test1"
            ));
            let patch = json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": ROLE}}});
            Api::<ServiceAccount>::namespaced(client(sandbox, plane).await?, NS)
                .patch(
                    "tidb-backup-manager",
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await?;
            println!("serviceaccount/tidb-backup-manager annotated");
        }
    }
    command(&format!(
        "kubectl --context control apply -f backup-fed-{}.yaml -n test1   # {}",
        seed.credentials.suffix(),
        seed.credentials.describe()
    ));
    for line in seed.yaml.lines().filter(|l| !l.trim().is_empty()) {
        println!("  | {line}");
    }
    for line in apply::apply(control, NS, &seed.yaml).await? {
        println!("{line}");
    }
    let vbks: Api<VolumeBackup> = Api::namespaced(control.clone(), NS);
    let done = wait_for(Duration::from_secs(120), || {
        let (vbks, name) = (vbks.clone(), name.clone());
        async move {
            let v = vbks.get_opt(&name).await.ok()??;
            let phase = v.status.as_ref()?.phase.as_ref()?.as_str().to_string();
            matches!(phase.as_str(), "Complete" | "Failed" | "Invalid").then_some(v)
        }
    })
    .await;
    let status = done
        .as_ref()
        .and_then(|v| v.status.clone())
        .unwrap_or_default();
    let phase = status.phase.as_ref().map_or("(none)", |p| p.as_str());
    println!(
        "{name}: {phase} (commitTs {}, {}, took {}, GC and PD scheduling paused {})",
        status.commit_ts.as_deref().unwrap_or("-"),
        status.backup_size_readable.as_deref().unwrap_or("-"),
        status.time_taken.as_deref().unwrap_or("-"),
        status.pause_window.as_deref().unwrap_or("-"),
    );
    let prefix = format!("vbk-seed-{}", seed.credentials.suffix());
    let members_ok = status.backups.len() == PLANES.len()
        && status.backups.iter().zip(PLANES).all(|(b, plane)| {
            b.k8s_cluster_name.as_deref() == Some(plane)
                && b.backup_name == format!("fed-{name}")
                && b.backup_path.as_deref() == Some(&format!("s3://{BUCKET}/{prefix}-{plane}"))
        });
    let min_commit = status
        .backups
        .iter()
        .filter_map(|b| b.commit_ts.as_deref()?.parse::<u64>().ok())
        .min();
    report.check(
        phase == "Complete"
            && members_ok
            && status.commit_ts.as_deref().and_then(|c| c.parse().ok()) == min_commit
            && status.backup_size.unwrap_or(0) > 0,
        &format!(
            "{name} completes: one member fed-{name} per data plane under {prefix}-<cluster>, \
             the smallest commit TS, the summed size ({})",
            seed.credentials.describe()
        ),
    );
    if seed.credentials == Credentials::StaticKeys {
        command(&format!(
            "kubectl --context control get vbk {name} -n test1 -o yaml   # status, conditions left out"
        ));
        let mut shown = serde_json::to_value(&status)?;
        if let Some(o) = shown.as_object_mut() {
            o.remove("conditions");
        }
        print!("{}", yaml_serde::to_string(&json!({ "status": shown }))?);
    }
    identities(sandbox, &name, seed.credentials, &prefix, report);
    let snapshots = snapshots_of(sandbox, &format!("fed-{name}"));
    command(&format!(
        "aws ec2 describe-snapshots --owner-ids self --filters Name=tag:{BACKUP_NAME_TAG},Values=fed-{name}"
    ));
    for s in &snapshots {
        let state = format!("{:?}", s.state).to_lowercase();
        println!(
            "{}  {}  {state}  {} GiB",
            s.id, s.volume_id, s.volume_size_gib
        );
    }
    report.check(
        snapshots.len() == 8,
        &format!("EC2 holds 8 snapshots of fed-{name}: the 4 TiKV volumes of each data plane"),
    );
    let store = super::s3_store(sandbox, BUCKET)?;
    let listed = super::backups::list(&store, &format!("{prefix}-{}", PLANES[0])).await?;
    report.check(
        listed.iter().any(|(k, _)| k.ends_with("/backupmeta")),
        &format!(
            "s3://{BUCKET}/{prefix}-{}/ holds the volume backupmeta",
            PLANES[0]
        ),
    );
    Ok(())
}

async fn delete_one(
    sandbox: &Sandbox,
    control: &Client,
    seed: &SeedVolumeBackup,
    other: &SeedVolumeBackup,
    report: &mut Report,
) -> anyhow::Result<()> {
    let name = seed.name()?;
    let prefix = format!("vbk-seed-{}", seed.credentials.suffix());
    heading("Deleting a VolumeBackup with cleanPolicy: Delete deletes its snapshots and files");
    command(&format!(
        "kubectl --context control delete vbk {name} -n test1"
    ));
    let vbks: Api<VolumeBackup> = Api::namespaced(control.clone(), NS);
    vbks.delete(&name, &DeleteParams::default()).await?;
    println!("volumebackup.federation.pingcap.com \"{name}\" deleted");
    let gone = wait_for(Duration::from_secs(120), || {
        let (vbks, name) = (vbks.clone(), name.clone());
        async move { vbks.get_opt(&name).await.ok()?.is_none().then_some(()) }
    })
    .await;
    report.check(
        gone.is_some(),
        &format!("{name} goes once its members in dp-1 and dp-2 have cleaned"),
    );
    let left = snapshots_of(sandbox, &format!("fed-{name}"));
    command(&format!(
        "aws ec2 describe-snapshots --owner-ids self --filters Name=tag:{BACKUP_NAME_TAG},Values=fed-{name}"
    ));
    println!("({} snapshots)", left.len());
    let store = super::s3_store(sandbox, BUCKET)?;
    let mut files = 0;
    for plane in PLANES {
        let listed = super::backups::list(&store, &format!("{prefix}-{plane}")).await?;
        if listed.is_empty() {
            println!("(nothing)");
        }
        files += listed.len();
    }
    report.check(
        left.is_empty() && files == 0,
        &format!(
            "no snapshot of fed-{name} and no file under {prefix}-dp-1/ or {prefix}-dp-2/ is left"
        ),
    );
    let other_name = other.name()?;
    report.check(
        snapshots_of(sandbox, &format!("fed-{other_name}")).len() == 8,
        &format!("{other_name}'s 8 snapshots are untouched"),
    );
    Ok(())
}

/// Which identities S3 saw under the VolumeBackup's prefixes: the one its example promises.
fn identities(
    sandbox: &Sandbox,
    name: &str,
    credentials: Credentials,
    prefix: &str,
    report: &mut Report,
) {
    let principals: Vec<String> = sandbox
        .cloud
        .credentials
        .uses()
        .into_iter()
        .filter(|(_, dir)| {
            PLANES
                .iter()
                .any(|p| dir.starts_with(&format!("{BUCKET}/{prefix}-{p}/")))
        })
        .map(|(p, _)| p)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!(
        "S3 saw these identities under {prefix}-dp-1/ and {prefix}-dp-2/: {}",
        principals.join(", ")
    );
    let member_pod = format!("{NS}-backup-fed-{name}-");
    let (expected, ok) = match credentials {
        Credentials::StaticKeys => (
            "the access key of s3-secret",
            principals == ["user/sandbox"],
        ),
        Credentials::Kube2iam => (
            "the annotation's role, copied to the member pods (sessions named after them)",
            !principals.is_empty()
                && principals
                    .iter()
                    .all(|p| p.starts_with("assumed-role/role-name/") && p.contains(&member_pod)),
        ),
        Credentials::Irsa => (
            "the ServiceAccount's role through STS (a web identity session)",
            !principals.is_empty()
                && principals
                    .iter()
                    .all(|p| p.starts_with("assumed-role/user/") && !p.contains(&member_pod)),
        ),
    };
    report.check(ok, &format!("{name} wrote with {expected}"));
}

fn snapshots_of(sandbox: &Sandbox, member: &str) -> Vec<SnapshotView> {
    let mut found: Vec<SnapshotView> = sandbox
        .ec2()
        .snapshots()
        .into_iter()
        .filter(|s| s.tags.get(BACKUP_NAME_TAG).map(String::as_str) == Some(member))
        .collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

/// How many times the simulated PD recorded `event` (its JSON name).
fn pd_events(sandbox: &Sandbox, event: &str) -> usize {
    sandbox
        .pd
        .pd()
        .snapshot()
        .history
        .iter()
        .filter(|h| {
            serde_json::to_value(h.event)
                .ok()
                .as_ref()
                .and_then(|v| v.as_str())
                == Some(event)
        })
        .count()
}
