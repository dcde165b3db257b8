//! Reads only: the VolumeBackup as it is now and, per member cluster, whether it answers
//! and the member Backup it holds, each read fresh (a decision to create a member must
//! never rest on a cached "not found"). The clusters are read at the same time, so one
//! that does not answer delays the others by the member timeout at most.

use std::collections::BTreeSet;

use futures::future::join_all;
use jiff::Timestamp;
use kube::Api;
use tibr_api::{Backup, VolumeBackup};
use tibr_core::federation::{
    Access, MemberCluster, Observed, ObservedMember, is_settled, member_name,
};

use crate::{
    context::Context,
    error::{Error, Result},
    registry::Reach,
};

/// The VolumeBackup and its members; `None` if the VolumeBackup is gone.
pub(super) async fn observe(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<Option<(VolumeBackup, Observed)>> {
    let api: Api<VolumeBackup> = Api::namespaced(ctx.client.clone(), namespace);
    let Some(vbk) = api
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading VolumeBackup {namespace}/{name}"), e))?
    else {
        return Ok(None);
    };
    if is_settled(&vbk) {
        return Ok(Some((vbk, Observed::default())));
    }
    let member = member_name(name);
    let mut seen = BTreeSet::new();
    let clusters: Vec<MemberCluster> = vbk
        .spec
        .clusters
        .iter()
        .map(MemberCluster::from_spec)
        .filter(|c| seen.insert(c.k8s_cluster_name.clone()))
        .collect();
    let members = join_all(clusters.iter().map(|c| read_member(ctx, c, &member))).await;
    let observed = Observed {
        members,
        known_clusters: ctx.registry.known(),
    };
    Ok(Some((vbk, observed)))
}

async fn read_member(ctx: &Context, cluster: &MemberCluster, name: &str) -> ObservedMember {
    let k8s = &cluster.k8s_cluster_name;
    let namespace = &cluster.tc_namespace;
    let access = match ctx.registry.reach(k8s) {
        Reach::Unknown => Access::UnknownContext,
        Reach::Broken { error, since } => Access::Unreachable { error, since },
        // No namespace, no member: validation says what is wrong with the spec.
        Reach::Client(_) if namespace.is_empty() => Access::Reachable(None),
        Reach::Client(client) => {
            let api: Api<Backup> = Api::namespaced(client, namespace);
            let read = tokio::time::timeout(ctx.settings.member_timeout, api.get_opt(name)).await;
            let error = match read {
                Ok(Ok(found)) => {
                    ctx.registry.answered(k8s);
                    return ObservedMember {
                        k8s_cluster_name: k8s.clone(),
                        access: Access::Reachable(found.map(Box::new)),
                    };
                }
                Ok(Err(e)) => format!("reading Backup {namespace}/{name}: {e}"),
                Err(_) => format!(
                    "reading Backup {namespace}/{name}: no answer within {}s",
                    ctx.settings.member_timeout.as_secs()
                ),
            };
            let since: Timestamp = ctx.registry.failed(k8s, &error);
            Access::Unreachable { error, since }
        }
    };
    ObservedMember {
        k8s_cluster_name: k8s.clone(),
        access,
    }
}
