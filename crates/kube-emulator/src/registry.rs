//! The resource types a cluster serves: the built-in kinds, plus one entry per served
//! version of every established CustomResourceDefinition.
//!
//! Objects are stored once per [`GroupResource`] (the CRD's group and plural, whatever
//! version wrote them), which is how the real server behaves with the `None` conversion
//! strategy; the two Event APIs (`v1` and `events.k8s.io/v1`) share one store as well.

use std::{cmp::Ordering, collections::BTreeMap, sync::Arc};

use serde_json::Value;

/// Where objects of a type live.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct GroupResource {
    pub(crate) group: String,
    pub(crate) resource: String,
}

impl GroupResource {
    pub(crate) fn new(group: &str, resource: &str) -> Self {
        GroupResource {
            group: group.to_string(),
            resource: resource.to_string(),
        }
    }
}

/// Built-in kinds, each with its own defaulting and validation in `builtin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    Namespace,
    Secret,
    ServiceAccount,
    ConfigMap,
    Pod,
    Event,
    EventV1,
    PersistentVolumeClaim,
    PersistentVolume,
    Job,
    Lease,
    Role,
    RoleBinding,
    ClusterRole,
    ClusterRoleBinding,
    CustomResourceDefinition,
}

/// What a custom resource version brings from its CRD.
#[derive(Debug, Clone)]
pub(crate) struct CustomInfo {
    pub(crate) crd_name: String,
    /// Shared, so that handing a resource type to a request does not copy its schema.
    pub(crate) schema: Option<Arc<Value>>,
    /// The list types and merge keys patches and field ownership read, derived from the
    /// schema once rather than on every write.
    pub(crate) merge_schema: Arc<Value>,
    pub(crate) printer_columns: Vec<Value>,
}

#[derive(Debug, Clone)]
pub(crate) enum Origin {
    Builtin(Builtin),
    Custom(CustomInfo),
}

/// One served group/version/resource.
#[derive(Debug, Clone)]
pub(crate) struct ResourceType {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) kind: String,
    pub(crate) list_kind: String,
    pub(crate) plural: String,
    pub(crate) singular: String,
    pub(crate) short_names: Vec<String>,
    pub(crate) categories: Vec<String>,
    pub(crate) namespaced: bool,
    /// Subresources served besides the object itself: `status`, `log`, `token`, `finalize`.
    pub(crate) subresources: Vec<String>,
    pub(crate) storage: GroupResource,
    pub(crate) origin: Origin,
}

impl ResourceType {
    pub(crate) fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub(crate) fn has_status(&self) -> bool {
        self.subresources.iter().any(|s| s == "status")
    }

    pub(crate) fn builtin(&self) -> Option<Builtin> {
        match &self.origin {
            Origin::Builtin(b) => Some(*b),
            Origin::Custom(_) => None,
        }
    }

    pub(crate) fn custom(&self) -> Option<&CustomInfo> {
        match &self.origin {
            Origin::Custom(c) => Some(c),
            Origin::Builtin(_) => None,
        }
    }

    pub(crate) fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    namespaced: bool,
    short_names: &[&str],
    subresources: &[&str],
    which: Builtin,
) -> ResourceType {
    let storage = if which == Builtin::EventV1 {
        GroupResource::new("", "events")
    } else {
        GroupResource::new(group, plural)
    };
    let categories = match which {
        Builtin::Pod | Builtin::Job | Builtin::PersistentVolumeClaim => vec!["all".to_string()],
        _ => vec![],
    };
    ResourceType {
        group: group.to_string(),
        version: version.to_string(),
        kind: kind.to_string(),
        list_kind: format!("{kind}List"),
        plural: plural.to_string(),
        singular: kind.to_lowercase(),
        short_names: short_names.iter().map(|s| s.to_string()).collect(),
        categories,
        namespaced,
        subresources: subresources.iter().map(|s| s.to_string()).collect(),
        storage,
        origin: Origin::Builtin(which),
    }
}

fn builtins() -> Vec<ResourceType> {
    use Builtin::*;
    vec![
        builtin(
            "",
            "v1",
            "Namespace",
            "namespaces",
            false,
            &["ns"],
            &["status", "finalize"],
            Namespace,
        ),
        builtin("", "v1", "Secret", "secrets", true, &[], &[], Secret),
        builtin(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            true,
            &["sa"],
            &["token"],
            ServiceAccount,
        ),
        builtin(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            true,
            &["cm"],
            &[],
            ConfigMap,
        ),
        builtin(
            "",
            "v1",
            "Pod",
            "pods",
            true,
            &["po"],
            &["status", "log"],
            Pod,
        ),
        builtin("", "v1", "Event", "events", true, &["ev"], &[], Event),
        builtin(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            true,
            &["pvc"],
            &["status"],
            PersistentVolumeClaim,
        ),
        builtin(
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            false,
            &["pv"],
            &["status"],
            PersistentVolume,
        ),
        builtin("batch", "v1", "Job", "jobs", true, &[], &["status"], Job),
        builtin(
            "coordination.k8s.io",
            "v1",
            "Lease",
            "leases",
            true,
            &[],
            &[],
            Lease,
        ),
        builtin(
            "events.k8s.io",
            "v1",
            "Event",
            "events",
            true,
            &["ev"],
            &[],
            EventV1,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            true,
            &[],
            &[],
            Role,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            true,
            &[],
            &[],
            RoleBinding,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            false,
            &[],
            &[],
            ClusterRole,
        ),
        builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
            &[],
            &[],
            ClusterRoleBinding,
        ),
        builtin(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
            &["crd", "crds"],
            &["status"],
            CustomResourceDefinition,
        ),
    ]
}

/// Kubernetes version priority: GA before beta before alpha, higher numbers first,
/// non-conforming names last in lexical order.
pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    fn parse(v: &str) -> Option<(u32, u8, u32)> {
        let rest = v.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let major: u32 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((major, 2, 0));
        }
        let (stage, num) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (0, n)
        } else {
            return None;
        };
        Some((major, stage, num.parse().ok()?))
    }
    match (parse(a), parse(b)) {
        (Some((ma, sa, na)), Some((mb, sb, nb))) => sb.cmp(&sa).then(mb.cmp(&ma)).then(nb.cmp(&na)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// All served types of one cluster.
#[derive(Debug, Clone)]
pub(crate) struct Registry {
    types: Vec<Arc<ResourceType>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            types: builtins().into_iter().map(Arc::new).collect(),
        }
    }
}

impl Registry {
    pub(crate) fn all(&self) -> &[Arc<ResourceType>] {
        &self.types
    }

    pub(crate) fn lookup(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<Arc<ResourceType>> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// The type used to talk about stored objects of `storage` (preferred version).
    pub(crate) fn for_storage(&self, storage: &GroupResource) -> Option<Arc<ResourceType>> {
        let mut matching: Vec<&Arc<ResourceType>> = self
            .types
            .iter()
            .filter(|t| &t.storage == storage && t.group == storage.group)
            .collect();
        matching.sort_by(|a, b| compare_versions(&a.version, &b.version));
        matching.first().map(|t| (*t).clone())
    }

    /// Resolve an `apiVersion` + `kind` pair, as found in owner references.
    pub(crate) fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.kind == kind)
            .cloned()
    }

    /// Groups with their versions, preferred version first.
    pub(crate) fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in &self.types {
            let versions = groups.entry(t.group.clone()).or_default();
            if !versions.contains(&t.version) {
                versions.push(t.version.clone());
            }
        }
        for versions in groups.values_mut() {
            versions.sort_by(|a, b| compare_versions(a, b));
        }
        groups
    }

    pub(crate) fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.types
            .iter()
            .filter(|t| t.group == group && t.version == version)
            .cloned()
            .collect()
    }

    /// Replace whatever a CRD previously contributed with `types`.
    pub(crate) fn set_crd_types(&mut self, crd_name: &str, types: Vec<ResourceType>) {
        self.remove_crd_types(crd_name);
        self.types.extend(types.into_iter().map(Arc::new));
    }

    pub(crate) fn remove_crd_types(&mut self, crd_name: &str) {
        self.types
            .retain(|t| t.custom().is_none_or(|c| c.crd_name != crd_name));
    }

    /// Storage keys of every namespaced type, each once.
    pub(crate) fn namespaced_storages(&self) -> Vec<GroupResource> {
        let mut out: Vec<GroupResource> = Vec::new();
        for t in &self.types {
            if t.namespaced && !out.contains(&t.storage) {
                out.push(t.storage.clone());
            }
        }
        out
    }
}

/// The resource types a CRD object defines, or why it is not servable.
pub(crate) fn crd_types(crd: &Value) -> Result<Vec<ResourceType>, String> {
    let name = crd["metadata"]["name"].as_str().unwrap_or_default();
    let spec = &crd["spec"];
    let group = spec["group"].as_str().ok_or("spec.group is required")?;
    let names = &spec["names"];
    let plural = names["plural"]
        .as_str()
        .ok_or("spec.names.plural is required")?;
    let kind = names["kind"]
        .as_str()
        .ok_or("spec.names.kind is required")?;
    let singular = names["singular"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_lowercase());
    let list_kind = names["listKind"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{kind}List"));
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let mut out = Vec::new();
    for version in spec["versions"].as_array().into_iter().flatten() {
        if version["served"].as_bool() == Some(false) {
            continue;
        }
        let vname = version["name"]
            .as_str()
            .ok_or("spec.versions[].name is required")?;
        let mut subresources = Vec::new();
        if version["subresources"]["status"].is_object() {
            subresources.push("status".to_string());
        }
        if version["subresources"]["scale"].is_object() {
            subresources.push("scale".to_string());
        }
        let schema = version["schema"]["openAPIV3Schema"].clone();
        out.push(ResourceType {
            group: group.to_string(),
            version: vname.to_string(),
            kind: kind.to_string(),
            list_kind: list_kind.clone(),
            plural: plural.to_string(),
            singular: singular.clone(),
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            namespaced,
            subresources,
            storage: GroupResource::new(group, plural),
            origin: Origin::Custom(CustomInfo {
                crd_name: name.to_string(),
                merge_schema: Arc::new(super::patch::custom_resource_merge_schema(&schema)),
                schema: if schema.is_null() {
                    None
                } else {
                    Some(Arc::new(schema))
                },
                printer_columns: version["additionalPrinterColumns"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            }),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn version_priority_follows_kubernetes_rules() {
        let mut v = vec!["v1alpha1", "v2", "v1beta1", "foo", "v1", "v1beta2", "v10"];
        v.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            v,
            vec!["v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]
        );
    }

    #[test]
    fn crd_versions_become_types_sharing_storage() {
        let crd = json!({
            "metadata": {"name": "backups.pingcap.com"},
            "spec": {
                "group": "pingcap.com", "scope": "Namespaced",
                "names": {"plural": "backups", "kind": "Backup", "shortNames": ["bk"]},
                "versions": [
                    {"name": "v1alpha1", "served": true, "storage": true,
                     "subresources": {"status": {}}},
                    {"name": "v1old", "served": false, "storage": false}
                ]
            }
        });
        let types = crd_types(&crd).unwrap();
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].list_kind, "BackupList");
        assert_eq!(types[0].singular, "backup");
        assert!(types[0].has_status());
        let mut reg = Registry::default();
        reg.set_crd_types("backups.pingcap.com", types);
        assert!(reg.lookup("pingcap.com", "v1alpha1", "backups").is_some());
        assert_eq!(reg.groups()["pingcap.com"], vec!["v1alpha1"]);
        reg.remove_crd_types("backups.pingcap.com");
        assert!(reg.lookup("pingcap.com", "v1alpha1", "backups").is_none());
    }

    #[test]
    fn event_apis_share_storage() {
        let reg = Registry::default();
        let v1 = reg.lookup("events.k8s.io", "v1", "events").unwrap();
        assert_eq!(v1.storage, GroupResource::new("", "events"));
        assert_eq!(
            reg.for_storage(&GroupResource::new("", "events"))
                .unwrap()
                .group,
            ""
        );
    }
}
