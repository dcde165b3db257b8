//! How a Backup reaches the cluster it copies: BR's settings, the TiDB connection used to
//! hold GC back, and the legacy Dumpling settings.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Settings of the BR run. Every optional field that is unset leaves BR's own default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrConfig {
    /// Name of the TidbCluster to back up. BR reaches its PD at
    /// `<cluster>-pd.<clusterNamespace>:2379`; TLS Secrets are named after it.
    pub cluster: String,
    /// Namespace of that TidbCluster; defaults to the Backup's own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_namespace: Option<String>,
    /// Deprecated since BR v4.0.3, use `spec.tableFilter`: the database backed up when
    /// `backupType` is `db` or `table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    /// Deprecated since BR v4.0.3, use `spec.tableFilter`: the table backed up when
    /// `backupType` is `table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// BR's log level (`--log-level`), e.g. `info` (BR's default) or `debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// Address on which BR serves its status and metrics (`--status-addr`); empty serves none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_addr: Option<String>,
    /// Worker threads per TiKV node doing the backup (`--concurrency`; BR's default is 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Speed limit per TiKV node in MB/s (`--ratelimit`); unset means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u64>,
    /// Back up the data as it was this long ago, as a Go duration such as `1.5h` or `2h45m`
    /// (`--timeago`). It must stay within the GC life time. Unset backs up current data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ago: Option<String>,
    /// Whether BR verifies checksums after the backup (`--checksum`; BR's default is true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<bool>,
    /// Whether BR checks its requirements before starting (`--check-requirements`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_requirements: Option<bool>,
    /// Whether BR hands its storage credentials to TiKV (`--send-credentials-to-tikv`; BR's
    /// default is true). Set false when TiKV has its own IAM identity (kube2iam or IRSA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_cred_to_tikv: Option<bool>,
    /// Restore only: whether the restore runs online. Ignored by backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_line: Option<bool>,
    /// Extra BR arguments, appended last so they win over the generated ones. An incremental
    /// backup is requested here with `--lastbackupts=<TSO of the previous backup>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// How to log in to TiDB. Only needed to hold TiKV's GC back during the backup (required for
/// TiKV older than v4.0.8; newer BR protects its snapshot itself).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TidbAccessConfig {
    /// TiDB's address, usually its Service name such as `basic-tidb`.
    pub host: String,
    /// TiDB's MySQL port; 4000 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// The user to log in as; `root` when empty. It needs SELECT and UPDATE on `mysql.tidb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Secret in the Backup's namespace whose key `password` holds the user's password.
    pub secret_name: String,
    /// Secret with `tls.crt`, `tls.key` and `ca.crt` for connecting to a TiDB whose client
    /// TLS is enabled; `<cluster>-tidb-client-secret` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_secret_name: Option<String>,
}

/// Settings of a legacy Dumpling export (a Backup without `br`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DumplingConfig {
    /// Extra Dumpling arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Deprecated, use `spec.tableFilter`: table filter rules for the export.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub table_filter: Vec<String>,
}
