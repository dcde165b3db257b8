//! From a container spec to a process launch: environment, command line, mounts and
//! working directory, or the reason the kubelet would give for not starting it.
//! The environment starts from the standard variables and the cloud's (see
//! `RunnerConfig::cloud`), then the container's `envFrom` and `env`.
//!
//! Differences: a container without `workingDir` starts in the pod's home directory
//! rather than the image's `WORKDIR`. Without mount namespaces, paths under a volume's
//! `mountPath` in `command[0]`, `workingDir` and environment values that are a path are
//! translated to the host directory, but paths inside arguments are not.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use k8s_openapi::api::core::v1::{Container, Pod};
use kube::ResourceExt;

use super::{
    Shared, credentials,
    env::{self, EnvList, Objects},
    image,
    mounts::{self, Mount},
    process::Launch,
    volumes::HostVolume,
};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a pod's containers share once its sandbox is set up.
#[derive(Debug, Clone)]
pub struct PodContext {
    pub home: PathBuf,
    /// The pod's own temporary directory (`TMPDIR`): its containers share the host's `/tmp`,
    /// where a real container has its own, so programs of concurrent pods that write a
    /// fixed name there would overwrite each other's files.
    pub tmp: PathBuf,
    pub volumes: HashMap<String, HostVolume>,
    /// The host directory holding `token`, `ca.crt` and `namespace`, when the pod gets
    /// in-cluster credentials from the kubelet.
    pub service_account: Option<PathBuf>,
    /// The per-pod kubeconfig used without mount namespaces.
    pub kubeconfig: Option<PathBuf>,
    /// Per-pod variables from the cloud (the pod's metadata endpoint).
    pub cloud_env: EnvList,
}

/// Why a container does not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `CreateContainerConfigError`: retried until the configuration resolves.
    Config(String),
    /// The image cannot run here: a waiting reason and message.
    Image { reason: String, message: String },
    /// The runtime could not execute the command: the container terminates with
    /// `StartError`.
    Start(String),
}

/// Whether `path` is `prefix` or below it, component-wise.
fn under(path: &str, prefix: &str) -> Option<PathBuf> {
    Path::new(path)
        .strip_prefix(Path::new(prefix))
        .ok()
        .map(Path::to_path_buf)
}

/// The mounts a container gets: its volumeMounts, the credentials and its image's files.
fn container_mounts(
    container: &Container,
    ctx: &PodContext,
    files: &[(String, PathBuf)],
) -> Result<Vec<Mount>, String> {
    let mut out = Vec::new();
    for vm in container.volume_mounts.iter().flatten() {
        let volume = ctx.volumes.get(&vm.name).ok_or_else(|| {
            format!(
                "cannot find volume \"{}\" to mount into container \"{}\"",
                vm.name, container.name
            )
        })?;
        let mut host = volume.path.clone();
        if let Some(sub) = vm.sub_path.as_deref().filter(|s| !s.is_empty()) {
            if Path::new(sub)
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(format!("invalid subPath {sub:?}"));
            }
            host = host.join(sub);
            if !host.exists() {
                std::fs::create_dir_all(&host).map_err(|e| e.to_string())?;
            }
        }
        out.push(Mount {
            host,
            target: vm.mount_path.clone(),
            read_only: volume.read_only || vm.read_only.unwrap_or(false),
        });
    }
    if let Some(sa) = &ctx.service_account {
        out.push(Mount {
            host: sa.clone(),
            target: credentials::SERVICE_ACCOUNT_DIR.to_string(),
            read_only: true,
        });
    }
    for (target, host) in files {
        out.push(Mount {
            host: host.clone(),
            target: target.clone(),
            read_only: true,
        });
    }
    Ok(out)
}

/// The standard variables every container starts with.
fn base_env(shared: &Shared, pod: &Pod, ctx: &PodContext) -> EnvList {
    let cfg = &shared.config;
    let mut env = EnvList::default();
    let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string());
    env.set("PATH", path);
    env.set("HOME", ctx.home.to_string_lossy().into_owned());
    env.set("TMPDIR", ctx.tmp.to_string_lossy().into_owned());
    env.set("HOSTNAME", pod.name_any());
    let port = cfg.api_port.to_string();
    env.set("KUBERNETES_SERVICE_HOST", cfg.api_host.clone());
    env.set("KUBERNETES_SERVICE_PORT", port.clone());
    env.set("KUBERNETES_SERVICE_PORT_HTTPS", port.clone());
    env.set("KUBERNETES_PORT", format!("tcp://{}:{port}", cfg.api_host));
    if let Some(kc) = &ctx.kubeconfig {
        env.set("KUBECONFIG", kc.to_string_lossy().into_owned());
    }
    if let Some(cloud) = &cfg.cloud {
        for (k, v) in &cloud.vars {
            env.set(k, v.clone());
        }
    }
    for (k, v) in ctx.cloud_env.clone().into_vec() {
        env.set(&k, v);
    }
    env
}

/// Builds the launch of `container`, logging to `log`.
pub async fn launch(
    shared: &Shared,
    pod: &Pod,
    container: &Container,
    ctx: &PodContext,
    log: PathBuf,
) -> Result<Launch, Problem> {
    let image_name = container.image.clone().unwrap_or_default();
    let rule = image::rule_for(&shared.config.images, &image_name);
    let mut env = base_env(shared, pod, ctx);
    let mut objects = Objects::new(shared.client.clone(), &pod.namespace().unwrap_or_default());
    env::container_env(pod, container, &mut objects, &mut env)
        .await
        .map_err(|e| Problem::Config(e.0))?;
    let raw = image::command_line(
        &image_name,
        container.command.as_deref().unwrap_or_default(),
        container.args.as_deref().unwrap_or_default(),
        rule,
    )
    .map_err(|(reason, message)| Problem::Image { reason, message })?;
    let lookup = |n: &str| env.get(n).map(str::to_string);
    let mut argv: Vec<String> = raw.iter().map(|a| env::expand(a, &lookup)).collect();
    let files = rule.map(|r| r.files.clone()).unwrap_or_default();
    let mounts = container_mounts(container, ctx, &files).map_err(Problem::Config)?;
    let provided = |p: &str| mounts.iter().any(|m| under(p, &m.target).is_some());
    let translate = |p: &str| -> Option<PathBuf> {
        if shared.isolated {
            return None;
        }
        // The deepest mount wins, as it would shadow its parents.
        mounts
            .iter()
            .filter_map(|m| under(p, &m.target).map(|rest| (m, rest)))
            .max_by_key(|(m, _)| Path::new(&m.target).components().count())
            .map(|(m, rest)| {
                if rest.as_os_str().is_empty() {
                    m.host.clone()
                } else {
                    m.host.join(rest)
                }
            })
    };
    let path_env = env.get("PATH").unwrap_or(DEFAULT_PATH).to_string();
    let program = image::resolve_program(&argv[0], &path_env, &provided, &translate)
        .map_err(Problem::Start)?;
    let workdir = container
        .working_dir
        .clone()
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| ctx.home.to_string_lossy().into_owned());
    let mut env = env.into_vec();
    if !shared.isolated {
        // A variable that names a file in a volume (`AWS_WEB_IDENTITY_TOKEN_FILE`) must
        // name it where it is on the host.
        for (_, value) in env.iter_mut() {
            if value.starts_with('/')
                && let Some(host) = translate(value)
            {
                *value = host.to_string_lossy().into_owned();
            }
        }
    }
    if shared.isolated {
        let (program, args) = mounts::wrap(&mounts, &workdir, &argv);
        return Ok(Launch {
            program,
            args,
            env,
            cwd: ctx.home.clone(),
            log,
        });
    }
    let cwd = translate(&workdir).unwrap_or_else(|| PathBuf::from(&workdir));
    // A runtime creates a missing working directory.
    std::fs::create_dir_all(&cwd)
        .map_err(|e| Problem::Start(format!("creating working directory {workdir}: {e}")))?;
    argv.remove(0);
    Ok(Launch {
        program,
        args: argv,
        env,
        cwd,
        log,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_mounts() {
        assert_eq!(under("/data/x/y", "/data"), Some(PathBuf::from("x/y")));
        assert_eq!(under("/data", "/data"), Some(PathBuf::new()));
        assert_eq!(under("/database", "/data"), None);
    }
}
