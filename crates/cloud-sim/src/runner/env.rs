//! A container's environment, as the kubelet builds it: `envFrom` (with `prefix`), then
//! `env` (`value` with `$(VAR)` expansion, `secretKeyRef`, `configMapKeyRef`, `fieldRef`,
//! `resourceFieldRef`), over the standard variables. A missing Secret, ConfigMap or key
//! that is not `optional` is a [`ConfigError`] with the kubelet's message.
//!
//! Differences: the image's own environment does not exist, so the base is `PATH` from
//! the host, `HOME` in the pod's directory and `HOSTNAME`; of the service variables only
//! the `kubernetes` Service's are set. Limits that are not set resolve to this machine's
//! CPUs and memory, as a node's allocatable would. `fileKeyRef` is not supported.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret};
use kube::{Api, ResourceExt};

/// A container configuration the kubelet cannot satisfy yet
/// (`CreateContainerConfigError`); the message is the kubelet's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

/// Secrets and ConfigMaps of one namespace, read once per attempt.
pub struct Objects {
    client: kube::Client,
    namespace: String,
    secrets: HashMap<String, Option<Secret>>,
    config_maps: HashMap<String, Option<ConfigMap>>,
}

impl Objects {
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Objects {
            client,
            namespace: namespace.to_string(),
            secrets: HashMap::new(),
            config_maps: HashMap::new(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A Secret's data, or `None` when it does not exist.
    pub async fn secret(
        &mut self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, String> {
        if !self.secrets.contains_key(name) {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
            let got = api.get_opt(name).await.map_err(|e| e.to_string())?;
            self.secrets.insert(name.to_string(), got);
        }
        Ok(self.secrets[name].as_ref().map(|s| {
            let mut data: BTreeMap<String, Vec<u8>> = s
                .data
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect();
            for (k, v) in s.string_data.iter().flatten() {
                data.insert(k.clone(), v.clone().into_bytes());
            }
            data
        }))
    }

    /// A ConfigMap's `data` and `binaryData`, or `None` when it does not exist.
    pub async fn config_map(
        &mut self,
        name: &str,
    ) -> Result<Option<BTreeMap<String, Vec<u8>>>, String> {
        if !self.config_maps.contains_key(name) {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
            let got = api.get_opt(name).await.map_err(|e| e.to_string())?;
            self.config_maps.insert(name.to_string(), got);
        }
        Ok(self.config_maps[name].as_ref().map(|c| {
            let mut data: BTreeMap<String, Vec<u8>> = c
                .binary_data
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect();
            for (k, v) in c.data.iter().flatten() {
                data.insert(k.clone(), v.clone().into_bytes());
            }
            data
        }))
    }
}

/// An ordered environment where a later definition replaces an earlier one in place.
#[derive(Default, Clone)]
pub struct EnvList {
    entries: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl EnvList {
    pub fn set(&mut self, name: &str, value: String) {
        match self.index.get(name) {
            Some(&i) => self.entries[i].1 = value,
            None => {
                self.index.insert(name.to_string(), self.entries.len());
                self.entries.push((name.to_string(), value));
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.entries[i].1.as_str())
    }

    pub fn into_vec(self) -> Vec<(String, String)> {
        self.entries
    }
}

impl std::fmt::Debug for EnvList {
    // Values may be secrets: only names are printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(k, _)| k))
            .finish()
    }
}

/// Kubernetes `$(VAR)` expansion: `$$` is a literal `$`, a reference to an undefined
/// variable is left as written, and so is an unterminated `$(`.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The value of a downward API `fieldRef`; `volume` allows the whole-map paths that only
/// downwardAPI volumes support.
pub fn field_value(pod: &Pod, path: &str, volume: bool) -> Result<String, String> {
    let quoted_key = |prefix: &str| -> Option<String> {
        let inner = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(inner.to_string())
    };
    let spec = pod.spec.as_ref();
    let ip = || "127.0.0.1".to_string();
    Ok(match path {
        "metadata.name" => pod.name_any(),
        "metadata.namespace" => pod.namespace().unwrap_or_default(),
        "metadata.uid" => pod.uid().unwrap_or_default(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" | "status.hostIP" | "status.podIPs" | "status.hostIPs" => ip(),
        "metadata.labels" if volume => format_map(pod.labels()),
        "metadata.annotations" if volume => format_map(pod.annotations()),
        _ => {
            if let Some(k) = quoted_key("metadata.labels['") {
                pod.labels().get(&k).cloned().unwrap_or_default()
            } else if let Some(k) = quoted_key("metadata.annotations['") {
                pod.annotations().get(&k).cloned().unwrap_or_default()
            } else {
                return Err(format!("unsupported fieldPath: {path}"));
            }
        }
    })
}

/// Labels or annotations as a downwardAPI volume writes them: `key="value"` lines.
fn format_map(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={}", go_quote(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Kubernetes quantity as a number (`500m`, `1Gi`, `2e3`, `1.5`).
pub fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => 10f64.powi(s[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * factor)
}

fn host_cpus() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}

fn host_memory() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb * 1024.0)
}

/// The value of a `resourceFieldRef` for `container`, divided by `divisor` and rounded up.
pub fn resource_value(
    container: &Container,
    resource: &str,
    divisor: Option<&str>,
) -> Result<String, String> {
    let res = container.resources.as_ref();
    let get = |which: &str, name: &str| -> Option<f64> {
        let map = match which {
            "limits" => res.and_then(|r| r.limits.as_ref()),
            _ => res.and_then(|r| r.requests.as_ref()),
        };
        map.and_then(|m| m.get(name))
            .and_then(|q| parse_quantity(&q.0))
    };
    let (which, name) = resource
        .split_once('.')
        .ok_or_else(|| format!("unsupported container resource : {resource:?}"))?;
    let value = match which {
        "limits" => get("limits", name).unwrap_or_else(|| match name {
            "cpu" => host_cpus(),
            "memory" => host_memory(),
            _ => 0.0,
        }),
        "requests" => get("requests", name)
            .or_else(|| get("limits", name))
            .unwrap_or(0.0),
        _ => return Err(format!("unsupported container resource : {resource:?}")),
    };
    let divisor = divisor
        .and_then(parse_quantity)
        .filter(|d| *d > 0.0)
        .unwrap_or(1.0);
    // Quantities carry decimal fractions: nudge before rounding up so 0.5/0.001 stays 500.
    let scaled = value / divisor;
    Ok(((scaled - 1e-9).ceil().max(0.0) as i64).to_string())
}

/// Fetches the value of one `env` entry's `valueFrom`; `None` for an optional reference
/// that does not resolve.
async fn value_from(
    pod: &Pod,
    container: &Container,
    source: &k8s_openapi::api::core::v1::EnvVarSource,
    objects: &mut Objects,
) -> Result<Option<String>, ConfigError> {
    let ns = objects.namespace().to_string();
    if let Some(sel) = &source.secret_key_ref {
        let optional = sel.optional.unwrap_or(false);
        return match objects.secret(&sel.name).await.map_err(ConfigError)? {
            None if optional => Ok(None),
            None => Err(ConfigError(format!("secret \"{}\" not found", sel.name))),
            Some(data) => match data.get(&sel.key) {
                Some(v) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
                None if optional => Ok(None),
                None => Err(ConfigError(format!(
                    "couldn't find key {} in Secret {ns}/{}",
                    sel.key, sel.name
                ))),
            },
        };
    }
    if let Some(sel) = &source.config_map_key_ref {
        let optional = sel.optional.unwrap_or(false);
        return match objects.config_map(&sel.name).await.map_err(ConfigError)? {
            None if optional => Ok(None),
            None => Err(ConfigError(format!("configmap \"{}\" not found", sel.name))),
            Some(data) => match data.get(&sel.key) {
                Some(v) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
                None if optional => Ok(None),
                None => Err(ConfigError(format!(
                    "couldn't find key {} in ConfigMap {ns}/{}",
                    sel.key, sel.name
                ))),
            },
        };
    }
    if let Some(sel) = &source.field_ref {
        return field_value(pod, &sel.field_path, false)
            .map(Some)
            .map_err(ConfigError);
    }
    if let Some(sel) = &source.resource_field_ref {
        let target = match sel.container_name.as_deref().filter(|n| !n.is_empty()) {
            Some(name) => find_container(pod, name)
                .ok_or_else(|| ConfigError(format!("container {name} not found")))?,
            None => container,
        };
        let divisor = sel.divisor.as_ref().map(|d| d.0.as_str());
        return resource_value(target, &sel.resource, divisor)
            .map(Some)
            .map_err(ConfigError);
    }
    Err(ConfigError(
        "valueFrom has no supported source in this sandbox".to_string(),
    ))
}

pub fn find_container<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)
}

/// Adds the container's `envFrom` and `env` to `env` (which holds the standard
/// variables), in the kubelet's order.
pub async fn container_env(
    pod: &Pod,
    container: &Container,
    objects: &mut Objects,
    env: &mut EnvList,
) -> Result<(), ConfigError> {
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let data = if let Some(r) = &from.config_map_ref {
            match objects.config_map(&r.name).await.map_err(ConfigError)? {
                Some(d) => d,
                None if r.optional.unwrap_or(false) => continue,
                None => return Err(ConfigError(format!("configmap \"{}\" not found", r.name))),
            }
        } else if let Some(r) = &from.secret_ref {
            match objects.secret(&r.name).await.map_err(ConfigError)? {
                Some(d) => d,
                None if r.optional.unwrap_or(false) => continue,
                None => return Err(ConfigError(format!("secret \"{}\" not found", r.name))),
            }
        } else {
            continue;
        };
        for (k, v) in data {
            env.set(
                &format!("{prefix}{k}"),
                String::from_utf8_lossy(&v).into_owned(),
            );
        }
    }
    for var in container.env.iter().flatten() {
        let value = match &var.value_from {
            Some(source) => match value_from(pod, container, source, objects).await? {
                Some(v) => v,
                None => continue,
            },
            None => {
                let snapshot = env.clone();
                let lookup = |n: &str| snapshot.get(n).map(str::to_string);
                expand(var.value.as_deref().unwrap_or_default(), &lookup)
            }
        };
        env.set(&var.name, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(n: &str) -> Option<String> {
        match n {
            "A" => Some("1".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expansion_follows_kubernetes_rules() {
        assert_eq!(expand("x$(A)y", &vars), "x1y");
        assert_eq!(expand("$$(A)", &vars), "$(A)");
        assert_eq!(expand("$(B)", &vars), "$(B)");
        assert_eq!(expand("$(A", &vars), "$(A");
        assert_eq!(expand("a$b$", &vars), "a$b$");
        assert_eq!(expand("[$(EMPTY)]", &vars), "[]");
        assert_eq!(expand("$$$$", &vars), "$$");
    }

    #[test]
    fn quantities_and_divisors() {
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("1Gi"), Some(1073741824.0));
        assert_eq!(parse_quantity("2e3"), Some(2000.0));
        assert_eq!(parse_quantity("x"), None);
        let c: Container = serde_json::from_value(serde_json::json!({
            "name": "c",
            "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "250m"}},
        }))
        .unwrap();
        assert_eq!(
            resource_value(&c, "limits.memory", Some("1Mi")).unwrap(),
            "1024"
        );
        assert_eq!(
            resource_value(&c, "requests.cpu", Some("1m")).unwrap(),
            "250"
        );
        assert_eq!(resource_value(&c, "requests.cpu", None).unwrap(), "1");
        assert_eq!(
            resource_value(&c, "requests.memory", None).unwrap(),
            "1073741824"
        );
        assert!(resource_value(&c, "bogus", None).is_err());
    }

    #[test]
    fn field_paths() {
        let mut pod = Pod::default();
        pod.metadata.name = Some("p".into());
        pod.metadata.labels = Some([("app".to_string(), "a\"b".to_string())].into());
        assert_eq!(field_value(&pod, "metadata.name", false).unwrap(), "p");
        assert_eq!(
            field_value(&pod, "metadata.labels['app']", false).unwrap(),
            "a\"b"
        );
        assert_eq!(
            field_value(&pod, "metadata.labels", true).unwrap(),
            "app=\"a\\\"b\""
        );
        assert!(field_value(&pod, "metadata.labels", false).is_err());
        assert_eq!(
            field_value(&pod, "status.podIP", false).unwrap(),
            "127.0.0.1"
        );
    }
}
