//! Which identity made which kind of request: the API server's authorization attributes
//! (user, verb, API group, resource and subresource, namespace), recorded for every resource
//! request. The emulator does not enforce RBAC; tests compare what a program *did* with what
//! its manifests (`deploy/backup-rbac.yaml`, `deploy/operator/rbac.yaml`) allow, so a call the
//! manifests forget fails a test instead of a production cluster.
//!
//! Distinct attributes only (a set, not a log), so it stays small however long a sandbox runs.

use std::{collections::BTreeSet, sync::Mutex};

use http::Method;

use super::{
    cluster::Identity,
    request::{Query, ResourcePath},
};

/// One kind of request, as RBAC sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Access {
    pub user: Identity,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete` or `deletecollection`.
    pub verb: String,
    /// `""` for the core group.
    pub group: String,
    /// `backups`, or `backups/status` for a subresource.
    pub resource: String,
    /// `None` for cluster-scoped resources and requests across all namespaces.
    pub namespace: Option<String>,
}

/// The RBAC verb of a request, as kube-apiserver's request-info resolver derives it.
pub(crate) fn verb(method: &Method, path: &ResourcePath, query: &Query) -> &'static str {
    match *method {
        Method::GET | Method::HEAD if path.name.is_some() => "get",
        Method::GET | Method::HEAD if query.flag("watch") => "watch",
        Method::GET | Method::HEAD => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if path.name.is_some() => "delete",
        Method::DELETE => "deletecollection",
        _ => "unknown",
    }
}

/// The distinct accesses seen by one cluster.
#[derive(Debug, Default)]
pub struct AccessLog(Mutex<BTreeSet<Access>>);

impl AccessLog {
    pub(crate) fn record(
        &self,
        user: &Identity,
        method: &Method,
        path: &ResourcePath,
        query: &Query,
    ) {
        let resource = match &path.subresource {
            Some(sub) => format!("{}/{sub}", path.plural),
            None => path.plural.clone(),
        };
        let access = Access {
            user: user.clone(),
            verb: verb(method, path, query).to_string(),
            group: path.group.clone(),
            resource,
            namespace: path.namespace.clone(),
        };
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(access);
    }

    /// Every distinct access so far, sorted.
    pub fn all(&self) -> Vec<Access> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}
