//! `TidbCluster` (`tidbclusters.pingcap.com`, short name `tc`), read-only and partial: only
//! what backups need from it (TiKV's image and version, TLS, PD's address, readiness,
//! volume-snapshot prerequisites).
//!
//! TiDB Operator owns this kind. These types ignore every other field, so never write an
//! object read through them back to the API: it would lose the rest. The CRD generated from
//! them is a stand-in for clusters without TiDB Operator (the sandbox); it keeps unknown
//! fields so that full TidbCluster manifests apply.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    conditions::ConditionStatus,
    constants::{annotations, defaults},
    schema::preserve_unknown_fields,
};

/// The parts of a TiDB cluster's desired state that backups read.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
// One `printcolumn` per column: clippy reads their repeated keys as duplicates.
#[allow(clippy::duplicated_attributes)]
#[kube(
    group = "pingcap.com",
    version = "v1alpha1",
    kind = "TidbCluster",
    plural = "tidbclusters",
    shortname = "tc",
    namespaced,
    status = "TidbClusterStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "A TiDB cluster managed by TiDB Operator (only the fields backups read)."
)]
#[kube(printcolumn(
    name = "Ready",
    type_ = "string",
    json_path = r#".status.conditions[?(@.type=="Ready")].status"#
))]
#[kube(printcolumn(
    name = "TiKV",
    type_ = "string",
    json_path = ".status.tikv.image",
    description = "The TiKV image running"
))]
#[kube(printcolumn(
    name = "Status",
    type_ = "string",
    json_path = r#".status.conditions[?(@.type=="Ready")].message"#,
    priority = 1
))]
#[kube(printcolumn(
    name = "Age",
    type_ = "date",
    json_path = ".metadata.creationTimestamp"
))]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
#[schemars(transform = crate::schema::tidy)]
pub struct TidbClusterSpec {
    /// The cluster-wide TiDB version (image tag), e.g. `v8.5.0`; components may override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The PD component; absent when the cluster uses PD from elsewhere (`pdAddresses`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pd: Option<PdSpec>,
    /// The TiDB component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tidb: Option<TidbSpec>,
    /// The TiKV component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tikv: Option<TikvSpec>,
    /// Mutual TLS between the cluster's components (and from BR to them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cluster: Option<TlsCluster>,
    /// Whether the cluster spans several Kubernetes clusters; volume snapshot backups require it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub across_k8s: Option<bool>,
    /// The Kubernetes cluster domain (e.g. `cluster.local`) used in cross-cluster addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
    /// Addresses of an external PD this cluster joins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pd_addresses: Vec<String>,
    /// Another TidbCluster whose PD this one uses (a heterogeneous cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<TidbClusterRef>,
}

/// The PD component, as far as backups care.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
pub struct PdSpec {
    /// Number of PD members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// The TiDB component, as far as backups care.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
pub struct TidbSpec {
    /// TLS between MySQL clients (such as the backup pod) and TiDB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client: Option<TidbTlsClient>,
}

/// TLS between MySQL clients and TiDB.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
pub struct TidbTlsClient {
    /// TiDB accepts TLS connections; the backup pod then connects with the client
    /// certificate in `<cluster>-tidb-client-secret` (or `from.tlsClientSecretName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// TiDB does not check client certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_client_authn: Option<bool>,
    /// Internal clients (the backup pod among them) do not verify TiDB's certificate.
    #[serde(
        rename = "skipInternalClientCA",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub skip_internal_client_ca: Option<bool>,
}

/// The TiKV component, as far as backups care.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
pub struct TikvSpec {
    /// Deprecated full image; used only when `baseImage` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Image repository, tagged with `version` (or the cluster's `spec.version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "pingcap/tikv"))]
    pub base_image: Option<String>,
    /// TiKV's version, overriding the cluster's `spec.version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Number of TiKV stores in this Kubernetes cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// Mutual TLS between the cluster's components.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
pub struct TlsCluster {
    /// Components talk TLS; BR then uses `<cluster>-cluster-client-secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A reference to another TidbCluster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
pub struct TidbClusterRef {
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its namespace; this cluster's namespace when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its Kubernetes cluster domain, when it runs in another Kubernetes cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_domain: Option<String>,
}

/// The parts of a TiDB cluster's observed state that backups read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
#[schemars(transform = crate::schema::tidy)]
pub struct TidbClusterStatus {
    /// PD's cluster ID.
    #[serde(rename = "clusterID", default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// TiKV's observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tikv: Option<TikvStatus>,
    /// The cluster's conditions; backups wait for `Ready` to be `True`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<TidbClusterCondition>,
}

/// TiKV's observed state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
pub struct TikvStatus {
    /// The image TiKV runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// This Kubernetes cluster's TiKV stores, by store ID.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stores: BTreeMap<String, TikvStore>,
    /// TiKV stores of the same TiDB cluster in other Kubernetes clusters, by store ID.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub peer_stores: BTreeMap<String, TikvStore>,
}

/// One TiKV store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
pub struct TikvStore {
    /// The store ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The pod running it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    /// PD's view of the store, e.g. `Up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// A TidbCluster condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = preserve_unknown_fields)]
pub struct TidbClusterCondition {
    /// What the condition is about, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// When the condition was last written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// When `status` last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// A CamelCase word for machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A sentence for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The type of the condition that says a TidbCluster is ready.
pub const TIDB_CLUSTER_READY: &str = "Ready";

impl TidbCluster {
    /// The TiKV image, resolved as TiDB Operator does: `baseImage:version` (component
    /// version, else the cluster's), or `baseImage` alone when no version is set, or the
    /// deprecated `image` when there is no base image. None without a TiKV component.
    pub fn tikv_image(&self) -> Option<String> {
        let tikv = self.spec.tikv.as_ref()?;
        let base = non_empty(&tikv.base_image);
        let Some(base) = base else {
            return non_empty(&tikv.image).map(str::to_owned);
        };
        let version = match &tikv.version {
            Some(v) => Some(v.as_str()),
            None => self.spec.version.as_deref(),
        };
        Some(match version.filter(|v| !v.is_empty()) {
            Some(v) => format!("{base}:{v}"),
            None => base.to_owned(),
        })
    }

    /// The TiKV version: the tag of [`Self::tikv_image`] (after its last `:`), or `latest`
    /// for an untagged image. None without a TiKV component.
    pub fn tikv_version(&self) -> Option<String> {
        self.spec.tikv.as_ref()?;
        let image = self.tikv_image().unwrap_or_default();
        Some(match image.rsplit_once(':') {
            Some((_, tag)) => tag.to_owned(),
            None => "latest".to_owned(),
        })
    }

    /// Whether the components talk mutual TLS (`spec.tlsCluster.enabled`).
    pub fn is_tls_cluster_enabled(&self) -> bool {
        self.spec
            .tls_cluster
            .as_ref()
            .and_then(|t| t.enabled)
            .unwrap_or(false)
    }

    /// Whether a MySQL client must use TLS to reach TiDB: `spec.tidb.tlsClient.enabled`,
    /// unless the TidbCluster carries the skip-TLS annotation.
    pub fn tidb_client_tls(&self) -> bool {
        let enabled = self
            .spec
            .tidb
            .as_ref()
            .and_then(|t| t.tls_client.as_ref())
            .and_then(|c| c.enabled)
            .unwrap_or(false);
        enabled && !self.skip_tls_when_connect_tidb()
    }

    /// Whether clients skip verifying TiDB's certificate (`spec.tidb.tlsClient.skipInternalClientCA`).
    pub fn skip_tidb_client_ca(&self) -> bool {
        self.spec
            .tidb
            .as_ref()
            .and_then(|t| t.tls_client.as_ref())
            .and_then(|c| c.skip_internal_client_ca)
            .unwrap_or(false)
    }

    /// Whether the annotation `tidb.tidb.pingcap.com/skip-tls-when-connect-tidb` is present
    /// (whatever its value).
    pub fn skip_tls_when_connect_tidb(&self) -> bool {
        self.annotations()
            .contains_key(annotations::SKIP_TLS_WHEN_CONNECT_TIDB)
    }

    /// Whether the cluster spans several Kubernetes clusters (`spec.acrossK8s`).
    pub fn across_k8s(&self) -> bool {
        self.spec.across_k8s.unwrap_or(false)
    }

    /// Whether the `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == TIDB_CLUSTER_READY && c.status == ConditionStatus::True)
        })
    }

    /// PD's client address as BR is given it: `<name>-pd.<namespace>:2379`. None if the
    /// object has no name or namespace.
    pub fn pd_client_address(&self) -> Option<String> {
        let name = self.metadata.name.as_deref()?;
        let namespace = self.metadata.namespace.as_deref()?;
        Some(pd_client_address(name, namespace))
    }

    /// TiKV stores known to the cluster: local ones plus those in other Kubernetes clusters.
    pub fn tikv_store_count(&self) -> usize {
        self.status
            .as_ref()
            .and_then(|s| s.tikv.as_ref())
            .map_or(0, |t| t.stores.len() + t.peer_stores.len())
    }
}

/// PD's client address for a TidbCluster: `<cluster>-pd.<namespace>:2379`.
pub fn pd_client_address(cluster: &str, namespace: &str) -> String {
    format!("{cluster}-pd.{namespace}:{}", defaults::PD_CLIENT_PORT)
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}
