//! Kubernetes clients: in-cluster or kubeconfig (as kube-rs infers it), or a named context
//! of a kubeconfig file (the federation manager reaches each data plane that way).

use anyhow::Context;

/// The client a binary uses for its own cluster: `KUBECONFIG`/`~/.kube/config`, else
/// the in-cluster service account.
pub async fn default_client() -> anyhow::Result<kube::Client> {
    kube::Client::try_default()
        .await
        .context("building a Kubernetes client (kubeconfig or in-cluster)")
}

/// A client for `context` in the kubeconfig at `path`.
pub async fn context_client(path: &std::path::Path, context: &str) -> anyhow::Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    let options = kube::config::KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| format!("kubeconfig context {context:?}"))?;
    kube::Client::try_from(config).context("building a Kubernetes client")
}

/// An API of `K` in the watched namespace, or in all of them.
pub fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> kube::Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => kube::Api::namespaced(client.clone(), ns),
        None => kube::Api::all(client.clone()),
    }
}
