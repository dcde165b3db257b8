//! The CustomResourceDefinitions generated from the types.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::{
    federation::v1alpha1::{VolumeBackup, VolumeBackupSchedule},
    pingcap::v1alpha1::{Backup, BackupSchedule, TidbCluster},
};

/// The CRDs of the kinds tibr serves: Backup, BackupSchedule, VolumeBackup and
/// VolumeBackupSchedule. Each has a status subresource (TiDB Operator's have none), so that
/// spec and status have separate writers.
pub fn owned_crds() -> Vec<CustomResourceDefinition> {
    [
        Backup::crd(),
        BackupSchedule::crd(),
        VolumeBackup::crd(),
        VolumeBackupSchedule::crd(),
    ]
    .into_iter()
    .map(finish)
    .collect()
}

/// CRDs of kinds tibr only reads and that TiDB Operator owns: the partial TidbCluster, for
/// clusters without TiDB Operator (the sandbox, tests). It keeps unknown fields, and it has
/// no status subresource, like TiDB Operator's, so a manifest with a status applies as is.
/// Never install it where TiDB Operator runs: it would replace TiDB Operator's full CRD.
pub fn stand_in_crds() -> Vec<CustomResourceDefinition> {
    let mut tc = finish(TidbCluster::crd());
    for version in &mut tc.spec.versions {
        version.subresources = None;
    }
    vec![tc]
}

/// What every CRD of ours gets on top of kube's derive, which has no hook for it: integer
/// ranges ([`crate::schema::bound_integers`]). Use these functions, not `K::crd()`.
fn finish(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        if let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            crate::schema::bound_integers(schema);
        }
    }
    crd
}

/// Every CRD of ours, owned ones then stand-ins, each list in a fixed order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut all = owned_crds();
    all.extend(stand_in_crds());
    all
}
