//! Pod volumes as host directories: `emptyDir`, `secret` and `configMap` (keys as files,
//! `items`, `defaultMode`, `optional`), `projected` (serviceAccountToken, configMap,
//! secret, downwardAPI), `downwardAPI`, `persistentVolumeClaim` and `hostPath`.
//!
//! Differences from the kubelet: files are written once when the pod starts (no atomic
//! `..data` symlink swap, no refresh when a Secret or ConfigMap changes, no token
//! rotation); a claim is a directory `<work_dir>/persistentvolumeclaims/<ns>/<claim>` that
//! outlives its pods, whether or not the PVC object exists or is bound; `emptyDir` is a
//! plain directory whatever its `medium` or `sizeLimit`; other volume types fail to
//! mount.

use std::{
    collections::{BTreeMap, HashMap},
    os::unix::fs::PermissionsExt,
    path::{Component, Path, PathBuf},
};

use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Pod, Volume};
use kube::ResourceExt;

use super::{
    Shared, credentials,
    env::{self, Objects},
};

/// The kubelet's default mode for projected, secret and configMap files (0644).
const DEFAULT_MODE: u32 = 0o644;

/// Why a volume cannot be set up yet; the pod stays `ContainerCreating`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountError {
    pub volume: String,
    pub message: String,
}

impl MountError {
    /// The `FailedMount` event message, as the kubelet words it.
    pub fn event_message(&self) -> String {
        format!(
            "MountVolume.SetUp failed for volume \"{}\" : {}",
            self.volume, self.message
        )
    }
}

/// A prepared volume: where it is on the host and whether Kubernetes always mounts it
/// read-only (secret, configMap, projected and downwardAPI volumes are).
#[derive(Debug, Clone)]
pub struct HostVolume {
    pub path: PathBuf,
    pub read_only: bool,
}

/// Writes `bytes` to `dir/rel` with `mode`, creating parent directories; `rel` must stay
/// inside `dir`.
pub fn write_file(dir: &Path, rel: &str, bytes: &[u8], mode: u32) -> Result<(), String> {
    let rel_path = Path::new(rel);
    if rel.is_empty()
        || rel_path
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
    {
        return Err(format!(
            "invalid path {rel:?}: must be relative and may not contain '..'"
        ));
    }
    let path = dir.join(rel_path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o777))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn mode_of(m: Option<i32>, default: u32) -> u32 {
    m.map_or(default, |m| m as u32)
}

/// Writes the keys of a Secret or ConfigMap (all, or the listed `items`).
fn write_keys(
    dir: &Path,
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&Vec<KeyToPath>>,
    default_mode: u32,
    optional: bool,
    missing_key: &dyn Fn(&str) -> String,
) -> Result<(), String> {
    match items {
        Some(items) => {
            for item in items {
                match data.get(&item.key) {
                    Some(v) => write_file(dir, &item.path, v, mode_of(item.mode, default_mode))?,
                    None if optional => {}
                    None => return Err(missing_key(&item.key)),
                }
            }
        }
        None => {
            for (k, v) in data {
                write_file(dir, k, v, default_mode)?;
            }
        }
    }
    Ok(())
}

async fn write_secret(
    objects: &mut Objects,
    dir: &Path,
    name: &str,
    items: Option<&Vec<KeyToPath>>,
    mode: u32,
    optional: bool,
) -> Result<(), String> {
    match objects.secret(name).await? {
        Some(data) => write_keys(dir, &data, items, mode, optional, &|k| {
            format!("references non-existent secret key: {k}")
        }),
        None if optional => Ok(()),
        None => Err(format!("secret \"{name}\" not found")),
    }
}

async fn write_config_map(
    objects: &mut Objects,
    dir: &Path,
    name: &str,
    items: Option<&Vec<KeyToPath>>,
    mode: u32,
    optional: bool,
) -> Result<(), String> {
    match objects.config_map(name).await? {
        Some(data) => write_keys(dir, &data, items, mode, optional, &|k| {
            format!("configmap references non-existent config key: {k}")
        }),
        None if optional => Ok(()),
        None => Err(format!("configmap \"{name}\" not found")),
    }
}

fn write_downward(
    pod: &Pod,
    dir: &Path,
    items: &[DownwardAPIVolumeFile],
    default_mode: u32,
) -> Result<(), String> {
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            env::field_value(pod, &f.field_path, true)?
        } else if let Some(r) = &item.resource_field_ref {
            let name = r.container_name.clone().unwrap_or_default();
            let container = env::find_container(pod, &name)
                .ok_or_else(|| format!("container {name} not found"))?;
            let divisor = r.divisor.as_ref().map(|d| d.0.as_str());
            env::resource_value(container, &r.resource, divisor)?
        } else {
            continue;
        };
        write_file(
            dir,
            &item.path,
            value.as_bytes(),
            mode_of(item.mode, default_mode),
        )?;
    }
    Ok(())
}

fn fresh_dir(dir: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))
}

/// Sets up one volume under `root` (the pod's `volumes/` directory).
async fn prepare_one(
    shared: &Shared,
    pod: &Pod,
    objects: &mut Objects,
    root: &Path,
    volume: &Volume,
) -> Result<HostVolume, String> {
    let dir = root.join(&volume.name);
    let ro = |path: PathBuf| HostVolume {
        path,
        read_only: true,
    };
    let rw = |path: PathBuf| HostVolume {
        path,
        read_only: false,
    };
    if volume.empty_dir.is_some() {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        return Ok(rw(dir));
    }
    if let Some(s) = &volume.secret {
        fresh_dir(&dir)?;
        let name = s.secret_name.clone().unwrap_or_default();
        let mode = mode_of(s.default_mode, DEFAULT_MODE);
        let optional = s.optional.unwrap_or(false);
        write_secret(objects, &dir, &name, s.items.as_ref(), mode, optional).await?;
        return Ok(ro(dir));
    }
    if let Some(c) = &volume.config_map {
        fresh_dir(&dir)?;
        let mode = mode_of(c.default_mode, DEFAULT_MODE);
        let optional = c.optional.unwrap_or(false);
        write_config_map(objects, &dir, &c.name, c.items.as_ref(), mode, optional).await?;
        return Ok(ro(dir));
    }
    if let Some(d) = &volume.downward_api {
        fresh_dir(&dir)?;
        let mode = mode_of(d.default_mode, DEFAULT_MODE);
        write_downward(pod, &dir, d.items.as_deref().unwrap_or_default(), mode)?;
        return Ok(ro(dir));
    }
    if let Some(p) = &volume.projected {
        fresh_dir(&dir)?;
        let mode = mode_of(p.default_mode, DEFAULT_MODE);
        for source in p.sources.iter().flatten() {
            if let Some(t) = &source.service_account_token {
                let token = credentials::request_token(
                    &shared.client,
                    pod,
                    t.audience.as_deref(),
                    t.expiration_seconds,
                )
                .await?;
                write_file(&dir, &t.path, token.as_bytes(), mode)?;
            }
            if let Some(s) = &source.secret {
                let optional = s.optional.unwrap_or(false);
                write_secret(objects, &dir, &s.name, s.items.as_ref(), mode, optional).await?;
            }
            if let Some(c) = &source.config_map {
                let optional = c.optional.unwrap_or(false);
                write_config_map(objects, &dir, &c.name, c.items.as_ref(), mode, optional).await?;
            }
            if let Some(d) = &source.downward_api {
                write_downward(pod, &dir, d.items.as_deref().unwrap_or_default(), mode)?;
            }
        }
        return Ok(ro(dir));
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        let dir = shared
            .config
            .work_dir
            .join("persistentvolumeclaims")
            .join(pod.namespace().unwrap_or_default())
            .join(&claim.claim_name);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        return Ok(HostVolume {
            path: dir,
            read_only: claim.read_only.unwrap_or(false),
        });
    }
    if let Some(h) = &volume.host_path {
        let path = PathBuf::from(&h.path);
        match h.type_.as_deref().unwrap_or_default() {
            "DirectoryOrCreate" => std::fs::create_dir_all(&path).map_err(|e| e.to_string())?,
            "FileOrCreate" if !path.exists() => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                std::fs::write(&path, b"").map_err(|e| e.to_string())?;
            }
            "Directory" if !path.is_dir() => {
                return Err(format!(
                    "hostPath type check failed: {} is not a directory",
                    h.path
                ));
            }
            "File" if !path.is_file() => {
                return Err(format!(
                    "hostPath type check failed: {} is not a file",
                    h.path
                ));
            }
            _ => {}
        }
        return Ok(rw(path));
    }
    Err("this volume type is not supported by the sandbox".to_string())
}

/// Sets up every volume of the pod under `root`.
pub async fn prepare(
    shared: &Shared,
    pod: &Pod,
    objects: &mut Objects,
    root: &Path,
) -> Result<HashMap<String, HostVolume>, MountError> {
    let mut out = HashMap::new();
    for volume in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let prepared = prepare_one(shared, pod, objects, root, volume)
            .await
            .map_err(|message| MountError {
                volume: volume.name.clone(),
                message,
            })?;
        out.insert(volume.name.clone(), prepared);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_stay_inside_their_volume() {
        let dir = tempfile::tempdir().unwrap();
        write_file(dir.path(), "a/b.txt", b"x", 0o600).unwrap();
        let meta = std::fs::metadata(dir.path().join("a/b.txt")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(write_file(dir.path(), "../x", b"x", 0o644).is_err());
        assert!(write_file(dir.path(), "/etc/x", b"x", 0o644).is_err());
    }

    #[test]
    fn items_select_keys_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let data: BTreeMap<String, Vec<u8>> = [
            ("k".to_string(), b"v".to_vec()),
            ("o".to_string(), b"w".to_vec()),
        ]
        .into();
        let items = vec![KeyToPath {
            key: "k".into(),
            path: "sub/key".into(),
            mode: Some(0o400),
            ..KeyToPath::default()
        }];
        let missing = |k: &str| format!("missing {k}");
        write_keys(dir.path(), &data, Some(&items), 0o644, false, &missing).unwrap();
        assert_eq!(std::fs::read(dir.path().join("sub/key")).unwrap(), b"v");
        assert!(!dir.path().join("o").exists());
        let bad = vec![KeyToPath {
            key: "nope".into(),
            path: "x".into(),
            mode: None,
            ..KeyToPath::default()
        }];
        assert_eq!(
            write_keys(dir.path(), &data, Some(&bad), 0o644, false, &missing).unwrap_err(),
            "missing nope"
        );
        write_keys(dir.path(), &data, Some(&bad), 0o644, true, &missing).unwrap();
    }
}
