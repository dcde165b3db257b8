//! Reads only: what a volume-snapshot backup's volume file is built from — the TidbCluster
//! as stored (whole, it is passed through for restores), its TiKV pods, their PVCs and the
//! PVs bound to them.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, ListParams},
};
use tibr_api::{TidbCluster, constants::labels};
use tibr_core::backup::{ClusterRef, decide::ObservedVolumes};

use crate::error::{Error, Result};

/// TiKV pods carry TiDB Operator's instance and component labels.
const TIKV_COMPONENT: &str = "tikv";

pub async fn read(client: &Client, cluster: &ClusterRef) -> Result<ObservedVolumes> {
    let ns = &cluster.namespace;
    let resource = ApiResource::erase::<TidbCluster>(&());
    let clusters: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    let what = |w: &str| format!("reading {w} of TidbCluster {ns}/{}", cluster.name);
    let tidb_cluster = clusters
        .get_opt(&cluster.name)
        .await
        .map_err(|e| Error::kube(what("the object"), e))?
        .map(|o| serde_json::to_value(o).unwrap_or_default())
        .unwrap_or_default();
    let selector = format!(
        "{}={},{}={TIKV_COMPONENT}",
        labels::INSTANCE,
        cluster.name,
        labels::COMPONENT
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let tikv_pods = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| Error::kube(what("the TiKV pods"), e))?
        .items;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let mut pvcs = Vec::new();
    let mut pvs = Vec::new();
    // Collected first: the iterator's closures would otherwise be held across the reads.
    let claim_names: Vec<String> = tikv_pods
        .iter()
        .filter_map(|p| p.spec.as_ref())
        .flat_map(|s| s.volumes.clone().unwrap_or_default())
        .filter_map(|v| v.persistent_volume_claim.map(|c| c.claim_name))
        .collect();
    for claim in claim_names {
        let Some(pvc) = claims
            .get_opt(&claim)
            .await
            .map_err(|e| Error::kube(what(&format!("PVC {claim}")), e))?
        else {
            continue;
        };
        if let Some(pv_name) = pvc.spec.as_ref().and_then(|s| s.volume_name.clone())
            && let Some(pv) = volumes
                .get_opt(&pv_name)
                .await
                .map_err(|e| Error::kube(what(&format!("PV {pv_name}")), e))?
        {
            pvs.push(pv);
        }
        pvcs.push(pvc);
    }
    Ok(ObservedVolumes {
        tidb_cluster,
        tikv_pods,
        pvcs,
        pvs,
    })
}
