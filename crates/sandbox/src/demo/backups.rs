//! The seed document's ad-hoc backups, taken by the sandbox's operator as in a real cluster:
//! `backup-rbac.yaml` and the two Secrets in `test1`, then the document's three `Backup`s
//! (static keys, kube2iam, IRSA) applied as written, each run to `Complete`; `kubectl get bk
//! -o wide`; what each wrote; TiKV's GC life time during and after; and a `Delete`-policy
//! Backup deleted with its data.

use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{Secret, ServiceAccount},
};
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use object_store::{ObjectStore, path::Path};
use serde_json::json;
use tibr_api::Backup;

use super::{
    Report, command, get_table, heading,
    seed::{self, Credentials, SeedBackup},
    table_text, wait_for,
};
use crate::sandbox::{Sandbox, apply};

const NS: &str = super::SEED_NAMESPACE;
const BUCKET: &str = "my-bucket";
const ROLE: &str = super::SEED_ROLE;
const PROTECTION: &str = "tidb.pingcap.com/backup-protection";

pub async fn run(sandbox: &Sandbox, report: &mut Report) -> anyhow::Result<()> {
    let client = super::admin_client(sandbox).await?;
    heading("The seed's ad-hoc backups: three ways to grant access to S3");
    prerequisites(sandbox, &client, report).await?;
    let tidb = &sandbox.tidb;
    let backups: Vec<SeedBackup> = seed::backups(&tidb.host(), tidb.port(), tidb.user())?
        .iter()
        .map(SeedBackup::distinct)
        .collect::<anyhow::Result<_>>()?;
    println!(
        "\nThe seed's three examples are alternatives: all are named demo1-backup-s3 and write to \
         s3://my-bucket/my-folder. Names must be unique, and BR refuses a prefix that already \
         holds a backup, so here each gets its own name suffix and prefix:"
    );
    for b in &backups {
        let s = b.credentials.suffix();
        println!(
            "  demo1-backup-s3-{s:<9} -> s3://{BUCKET}/my-folder/{s}   ({})",
            b.credentials.describe()
        );
    }
    let statements_before = tidb.statements().len();
    for backup in &backups {
        take(sandbox, &client, backup, report).await?;
    }
    overview(sandbox, &client, &backups, report).await?;
    gc_life_time(sandbox, statements_before, report);
    delete_one(sandbox, &client, &backups[0], report).await
}

async fn prerequisites(
    sandbox: &Sandbox,
    client: &Client,
    report: &mut Report,
) -> anyhow::Result<()> {
    command("kubectl apply -f deploy/backup-rbac.yaml -n test1");
    let lines = apply::apply(client, NS, apply::BACKUP_RBAC).await?;
    for l in &lines {
        println!("{l}");
    }
    report.check(
        lines.len() == 3 && lines.iter().all(|l| l.contains("tidb-backup-manager")),
        "backup-rbac.yaml gives test1 the ServiceAccount, Role and RoleBinding tidb-backup-manager",
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    for (name, data, shown) in [
        (
            "s3-secret",
            json!({"access_key": sandbox.s3.access_key, "secret_key": sandbox.s3.secret_key}),
            "--from-literal=access_key=\"$AWS_ACCESS_KEY_ID\" --from-literal=secret_key=\"$AWS_SECRET_ACCESS_KEY\"",
        ),
        (
            "backup-demo1-tidb-secret",
            json!({"password": sandbox.tidb.password()}),
            "--from-literal=password=\"$TIDB_PASSWORD\"",
        ),
    ] {
        command(&format!(
            "kubectl create secret generic {name} {shown} --namespace=test1"
        ));
        let secret: Secret =
            serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))?;
        secrets.create(&PostParams::default(), &secret).await?;
        println!("secret/{name} created");
    }
    Ok(())
}

/// Applies one of the seed's Backups and waits for it to complete.
async fn take(
    sandbox: &Sandbox,
    client: &Client,
    backup: &SeedBackup,
    report: &mut Report,
) -> anyhow::Result<()> {
    let name = backup.name()?;
    let suffix = backup.credentials.suffix();
    if backup.credentials == Credentials::Irsa {
        println!(
            "\nIRSA: the ServiceAccount gets the role only now. The sandbox's three backups share \
             it, and a pod of an annotated ServiceAccount gets a web identity, which AWS clients \
             prefer to kube2iam's instance metadata. (The seed's command has a stray `-n`.)"
        );
        command(&format!(
            "kubectl annotate sa tidb-backup-manager eks.amazonaws.com/role-arn={ROLE} --namespace=test1"
        ));
        let patch = json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": ROLE}}});
        Api::<ServiceAccount>::namespaced(client.clone(), NS)
            .patch(
                "tidb-backup-manager",
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        println!("serviceaccount/tidb-backup-manager annotated");
    }
    command(&format!(
        "kubectl apply -f backup-aws-s3-{suffix}.yaml   # {} (comments not shown)",
        backup.credentials.describe()
    ));
    for line in backup.yaml.lines() {
        if !line.trim_start().starts_with('#') && !line.trim().is_empty() {
            println!("  | {line}");
        }
    }
    for line in apply::apply(client, NS, &backup.yaml).await? {
        println!("{line}");
    }
    let backups: Api<Backup> = Api::namespaced(client.clone(), NS);
    let done = wait_for(Duration::from_secs(90), || {
        let backups = backups.clone();
        let name = name.clone();
        async move {
            let b = backups.get_opt(&name).await.ok()??;
            matches!(
                b.phase().map(|p| p.as_str()),
                Some("Complete" | "Failed" | "Invalid")
            )
            .then_some(b)
        }
    })
    .await;
    let status = done
        .as_ref()
        .and_then(|b| b.status.clone())
        .unwrap_or_default();
    let phase = status.phase.as_ref().map_or("(none)", |p| p.as_str());
    println!(
        "{name}: {phase}, {} (commitTs {}, {}, took {})",
        status.backup_path.as_deref().unwrap_or("-"),
        status.commit_ts.as_deref().unwrap_or("-"),
        status.backup_size_readable.as_deref().unwrap_or("-"),
        status.time_taken.as_deref().unwrap_or("-"),
    );
    report.check(
        phase == "Complete"
            && status.backup_path.as_deref()
                == Some(format!("s3://{BUCKET}/my-folder/{suffix}").as_str())
            && status.commit_ts.is_some()
            && status.backup_size.unwrap_or(0) > 0,
        &format!(
            "{name} completes with its path, commit TS and size ({})",
            backup.credentials.describe()
        ),
    );
    let principals: Vec<String> = sandbox
        .cloud
        .credentials
        .uses()
        .into_iter()
        .filter(|(_, dir)| dir.starts_with(&format!("{BUCKET}/my-folder/{suffix}/")))
        .map(|(p, _)| p)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!(
        "S3 saw these identities under my-folder/{suffix}/: {}",
        principals.join(", ")
    );
    let (expected, ok) = match backup.credentials {
        Credentials::StaticKeys => (
            "the access key of s3-secret (user/sandbox)",
            principals == ["user/sandbox"],
        ),
        Credentials::Kube2iam => (
            "the pod's role from instance metadata (a session named after the pod)",
            !principals.is_empty()
                && principals
                    .iter()
                    .all(|p| p.starts_with(&format!("assumed-role/user/{NS}-backup-{name}-"))),
        ),
        Credentials::Irsa => (
            "the ServiceAccount's role through STS (a web identity session)",
            !principals.is_empty()
                && principals.iter().all(|p| {
                    p.starts_with("assumed-role/user/") && !p.contains(&format!("backup-{name}-"))
                }),
        ),
    };
    report.check(ok, &format!("{name} wrote with {expected}"));
    Ok(())
}

/// `kubectl get bk -o wide` and `aws s3 ls` of each prefix.
async fn overview(
    sandbox: &Sandbox,
    client: &Client,
    backups: &[SeedBackup],
    report: &mut Report,
) -> anyhow::Result<()> {
    command("kubectl get bk -n test1 -o wide");
    let table = get_table(
        client,
        &format!("/apis/pingcap.com/v1alpha1/namespaces/{NS}/backups"),
    )
    .await?;
    let text = table_text(&table, true);
    print!("{text}");
    let rows: Vec<&str> = text.lines().skip(1).collect();
    report.check(
        rows.len() == backups.len()
            && rows.iter().all(|r| {
                r.contains("Complete")
                    && r.contains("s3://my-bucket/my-folder/")
                    && r.contains("full")
            })
            && text.contains("BACKUPPATH")
            && text.contains("COMMITTS"),
        "kubectl get bk -o wide shows each backup Complete with its type, path, size and commit TS",
    );
    let store = super::s3_store(sandbox, BUCKET)?;
    for b in backups {
        let prefix = format!("my-folder/{}", b.credentials.suffix());
        let listed = list(&store, &prefix).await?;
        let data = listed.iter().filter(|(k, _)| k.ends_with(".sst")).count();
        report.check(
            listed
                .iter()
                .any(|(k, _)| *k == format!("{prefix}/backupmeta"))
                && data > 0,
            &format!("s3://{BUCKET}/{prefix}/ holds backupmeta and {data} data files"),
        );
    }
    Ok(())
}

/// `aws s3 ls --recursive s3://my-bucket/<prefix>/`, printed; returns (key, size).
pub(super) async fn list(
    store: &impl ObjectStore,
    prefix: &str,
) -> anyhow::Result<Vec<(String, u64)>> {
    command(&format!("aws s3 ls --recursive s3://{BUCKET}/{prefix}/"));
    let mut listed: Vec<_> = store
        .list(Some(&Path::from(format!("{prefix}/"))))
        .try_collect()
        .await?;
    listed.sort_by(|a, b| a.location.cmp(&b.location));
    // BR writes dozens of data files: show two of them and every metadata file.
    let mut data_shown = 0;
    for meta in &listed {
        let data = meta.location.as_ref().ends_with(".sst");
        if data && data_shown == 2 {
            data_shown += 1;
            let more = listed
                .iter()
                .filter(|m| m.location.as_ref().ends_with(".sst"))
                .count()
                - 2;
            println!("  ... {more} more .sst data files");
        }
        if data && data_shown > 2 {
            continue;
        }
        data_shown += usize::from(data);
        println!(
            "{}  {:>8}  {}",
            meta.last_modified.format("%Y-%m-%d %H:%M:%S"),
            meta.size,
            meta.location
        );
    }
    Ok(listed
        .into_iter()
        .map(|m| (m.location.to_string(), m.size))
        .collect())
}

/// What the backups did to `tikv_gc_life_time`, from the simulated TiDB's statement log.
fn gc_life_time(sandbox: &Sandbox, from: usize, report: &mut Report) {
    command("# the simulated TiDB's statement log: every change to tikv_gc_life_time");
    let updates: Vec<String> = sandbox.tidb.statements()[from..]
        .iter()
        .filter(|s| {
            s.sql
                .trim_start()
                .to_uppercase()
                .starts_with("UPDATE MYSQL.TIDB")
        })
        .filter_map(|s| {
            let value = s.params.first().cloned().flatten()?;
            println!("{}   -- value {value}", s.sql.trim());
            Some(value)
        })
        .collect();
    let pairs = updates.chunks(2).all(|p| p == ["72h0m0s", "10m0s"]);
    report.check(
        updates.len() == 6 && pairs,
        "each backup raised tikv_gc_life_time to 72h0m0s for its run and put 10m0s back",
    );
    command(
        "mysql -h \"$TIDB_HOST\" -P \"$TIDB_PORT\" -u root -p -e \"select VARIABLE_NAME, VARIABLE_VALUE from mysql.tidb where VARIABLE_NAME like 'tikv_gc_life_time'\"",
    );
    let now = sandbox.tidb.gc_life_time();
    println!("tikv_gc_life_time\t{now}");
    report.check(now == "10m0s", "tikv_gc_life_time is back to 10m0s");
}

/// Sets `cleanPolicy: Delete` on one backup, deletes it and shows its prefix empty.
async fn delete_one(
    sandbox: &Sandbox,
    client: &Client,
    backup: &SeedBackup,
    report: &mut Report,
) -> anyhow::Result<()> {
    let name = backup.name()?;
    let prefix = format!("my-folder/{}", backup.credentials.suffix());
    heading("Deleting a backup with cleanPolicy: Delete deletes its data");
    command(&format!(
        "kubectl patch bk {name} -n test1 --type=merge -p '{{\"spec\":{{\"cleanPolicy\":\"Delete\"}}}}'"
    ));
    let backups: Api<Backup> = Api::namespaced(client.clone(), NS);
    backups
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"cleanPolicy": "Delete"}})),
        )
        .await?;
    println!("backup.pingcap.com/{name} patched");
    // Deleting before the operator has added its finalizer would lose the clean: wait.
    let protected = wait_for(Duration::from_secs(30), || {
        let backups = backups.clone();
        let name = name.clone();
        async move {
            let b = backups.get_opt(&name).await.ok()??;
            b.finalizers()
                .iter()
                .any(|f| f == PROTECTION)
                .then(|| b.finalizers().to_vec())
        }
    })
    .await;
    command(&format!(
        "kubectl get bk {name} -n test1 -o jsonpath='{{.metadata.finalizers}}'"
    ));
    println!("{}", serde_json::to_string(&protected)?);
    report.check(
        protected.is_some(),
        &format!("the operator protects {name} with {PROTECTION} once its data is to be deleted"),
    );

    command(&format!("kubectl delete bk {name} -n test1"));
    backups.delete(&name, &DeleteParams::default()).await?;
    println!("backup.pingcap.com \"{name}\" deleted");
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    let clean_job = format!("clean-{name}");
    let cleaned_by_job = std::cell::Cell::new(false);
    let gone = wait_for(Duration::from_secs(60), || {
        let (backups, jobs, name, clean_job) = (
            backups.clone(),
            jobs.clone(),
            name.clone(),
            clean_job.clone(),
        );
        let seen = &cleaned_by_job;
        async move {
            if jobs.get_opt(&clean_job).await.ok().flatten().is_some() {
                seen.set(true);
            }
            backups
                .get_opt(&name)
                .await
                .ok()
                .filter(Option::is_none)
                .map(|_| ())
        }
    })
    .await;
    report.check(
        gone.is_some() && cleaned_by_job.get(),
        &format!("Job {clean_job} deleted the data, then the Backup went"),
    );
    let store = super::s3_store(sandbox, BUCKET)?;
    let left = list(&store, &prefix).await?;
    if left.is_empty() {
        println!("(nothing)");
    }
    report.check(
        left.is_empty(),
        &format!("s3://{BUCKET}/{prefix}/ is empty"),
    );
    command(&format!("aws s3 ls s3://{BUCKET}/my-folder/"));
    let folders = store
        .list_with_delimiter(Some(&Path::from("my-folder")))
        .await?
        .common_prefixes;
    for f in &folders {
        println!("{:>30} {}/", "PRE", f.filename().unwrap_or_default());
    }
    let kept = folders.iter().map(|f| f.to_string()).collect::<Vec<_>>();
    report.check(
        kept.contains(&"my-folder/kube2iam".to_string())
            && kept.contains(&"my-folder/irsa".to_string())
            && !kept.contains(&prefix),
        "the other backups' data is untouched",
    );
    Ok(())
}
