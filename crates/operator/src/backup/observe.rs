//! Reads only: everything `decide` needs about one Backup, straight from the API.
//!
//! The Jobs are read before the Backup: the agent writes its result before its process
//! exits, so a Job seen finished guarantees the result is visible in the Backup read next,
//! and a finished Job without a result really is a pod that died silently. Secrets are
//! reduced to their key names at once. A Job's Events are read only while it has no pod
//! (its pod was refused), so a healthy backup costs no extra request.

use k8s_openapi::api::{
    batch::v1::Job,
    core::v1::{Event, Namespace, Pod, Secret},
};
use kube::{Api, Client, ResourceExt, api::ListParams};
use tibr_api::{
    Backup, TidbCluster,
    constants::{label_values, labels},
    pingcap::v1alpha1::BackupMode,
};
use tibr_core::{
    backup::{
        ClusterRef,
        decide::{JobInfo, Observed, SecretInfo, needs_volumes},
        gc_restore::{self, GcReading},
        labels::Component,
        secrets::referenced_secrets,
    },
    names,
};

use crate::{
    Context,
    error::{Error, Result},
    gc,
};

/// The Backup as it is now and what surrounds it; `None` if it is gone.
pub async fn observe(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<(Backup, Observed)>> {
    let client = &ctx.client;
    let backup_job = read_job(
        client,
        namespace,
        name,
        &names::backup_job(name),
        Component::Backup,
    )
    .await?;
    let clean_job = read_job(
        client,
        namespace,
        name,
        &names::clean_job(name),
        Component::Clean,
    )
    .await?;
    let backups: Api<Backup> = Api::namespaced(client.clone(), namespace);
    let Some(backup) = backups
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading Backup {namespace}/{name}"), e))?
    else {
        return Ok(None);
    };
    let volume_mode = backup.spec.mode() == BackupMode::VolumeSnapshot;
    let init_job = if volume_mode {
        read_job(
            client,
            namespace,
            name,
            &names::init_job(name),
            Component::Backup,
        )
        .await?
    } else {
        None
    };
    let mut observed = Observed {
        backup_job,
        clean_job,
        init_job,
        ..Observed::default()
    };
    if let Some(cluster) = ClusterRef::of(&backup) {
        let clusters: Api<TidbCluster> = Api::namespaced(client.clone(), &cluster.namespace);
        observed.cluster = clusters.get_opt(&cluster.name).await.map_err(|e| {
            Error::kube(
                format!("reading TidbCluster {}/{}", cluster.namespace, cluster.name),
                e,
            )
        })?;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for secret in referenced_secrets(&backup.spec) {
        let found = secrets
            .get_opt(&secret)
            .await
            .map_err(|e| Error::kube(format!("reading Secret {namespace}/{secret}"), e))?;
        if let Some(s) = found {
            observed.secrets.insert(secret, secret_info(&s));
        }
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = namespaces
        .get_opt(namespace)
        .await
        .map_err(|e| Error::kube(format!("reading Namespace {namespace}"), e))?;
    observed.namespace_terminating = ns.is_none_or(|n| {
        n.metadata.deletion_timestamp.is_some()
            || n.status.and_then(|s| s.phase).as_deref() == Some("Terminating")
    });
    if needs_volumes(&backup, observed.backup_job.as_ref())
        && let Some(cluster) = ClusterRef::of(&backup)
    {
        observed.volumes = Some(super::volumes::read(client, &cluster).await?);
    }
    if gc_restore::pending(&backup, observed.backup_job.as_ref()).is_some() {
        observed.gc = Some(read_gc(ctx, &backup, observed.cluster.as_ref()).await);
    }
    Ok(Some((backup, observed)))
}

/// TiKV's GC life time and the other Backups of the same TiDB cluster, for a restore the
/// operator may have to make. A failure is part of the reading: the decision says what it
/// means (retry, or give up once the patience is over).
async fn read_gc(ctx: &Context, backup: &Backup, cluster: Option<&TidbCluster>) -> GcReading {
    let namespace = backup.namespace().unwrap_or_default();
    let read = async {
        let connection = gc_restore::connection(backup, cluster)?;
        let endpoint = gc::endpoint(&ctx.client, &namespace, &connection).await?;
        let current = ctx.gc.read(&endpoint).await?;
        let peers = gc::peers(&ctx.client, ctx.settings.namespace.as_deref(), backup).await?;
        Ok::<_, String>(GcReading::Read { current, peers })
    };
    read.await.unwrap_or_else(GcReading::Failed)
}

/// Key names only: the values are dropped here and never reach a decision.
fn secret_info(secret: &Secret) -> SecretInfo {
    let mut keys: std::collections::BTreeSet<String> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    keys.extend(secret.string_data.iter().flatten().map(|(k, _)| k.clone()));
    SecretInfo {
        keys,
        deleting: secret.metadata.deletion_timestamp.is_some(),
    }
}

async fn read_job(
    client: &Client,
    namespace: &str,
    backup: &str,
    name: &str,
    component: Component,
) -> Result<Option<JobInfo>> {
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let Some(job) = jobs
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading Job {namespace}/{name}"), e))?
    else {
        return Ok(None);
    };
    let finished = job
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| (c.type_ == "Failed" || c.type_ == "Complete") && c.status == "True");
    // Pods only matter to explain how a finished Job ended.
    let pods = if finished {
        let selector = format!(
            "{}={backup},{}={},{}={}",
            labels::BACKUP,
            labels::COMPONENT,
            component.as_str(),
            labels::MANAGED_BY,
            label_values::BACKUP_OPERATOR
        );
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let uid = job.uid();
        pods.list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| Error::kube(format!("listing the pods of Job {namespace}/{name}"), e))?
            .items
            .into_iter()
            .filter(|p| {
                p.owner_references()
                    .iter()
                    .any(|o| Some(&o.uid) == uid.as_ref())
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut info = JobInfo::from_job(&job, &pods);
    if info.awaits_pod() {
        info.note_events(&job_events(client, namespace, &job).await);
    }
    Ok(Some(info))
}

/// The Events about this very Job (its uid: a Job of the same name from an earlier run has
/// its own), which is where Kubernetes' Job controller says why it has no pod. They only
/// explain a wait, so failing to read them (a ClusterRole from before `list events`) is
/// logged and the Backup is decided without them.
async fn job_events(client: &Client, namespace: &str, job: &Job) -> Vec<Event> {
    let name = job.name_any();
    let mut selector = format!("involvedObject.kind=Job,involvedObject.name={name}");
    if let Some(uid) = job.uid() {
        selector.push_str(&format!(",involvedObject.uid={uid}"));
    }
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    match events.list(&ListParams::default().fields(&selector)).await {
        Ok(list) => list.items,
        Err(e) => {
            tracing::warn!(job.namespace = namespace, job.name = %name, error = %e, "cannot read the Job's Events to learn why it has no pod");
            Vec::new()
        }
    }
}
