//! kubectl's own share of `kubectl get bk`: the same command against a server that holds
//! the emulator's answers in memory and sends them back without doing any work, over the
//! same TLS. Its time is the floor any server sending those bytes can reach with this
//! kubectl on this machine; what the emulator adds is the difference.
//!
//! kubectl asks such a server only for the list (and `/version`, which a dispatching
//! kubectl asks before it picks its version): its discovery cache, warmed by the runs
//! against the emulator, is copied under the replay's address. Any other request is
//! answered 404 and fails the bench, so a floor is never measured on a different
//! conversation.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::Context;
use bytes::Bytes;
use kube::Client;
use kube_emulator::{RunningCluster, Tls};
use tibr_cloud_sim::cloud::serve::{Handler, Served, handler_service, reply, serve};

use super::table_list_uri;
use crate::sandbox::write_private;

/// The Accept header kubectl sends for `get`.
const KUBECTL_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,\
                              application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// One recorded answer.
#[derive(Clone)]
struct Answer {
    content_type: String,
    body: Bytes,
}

#[derive(Default)]
struct Book {
    answers: HashMap<String, Answer>,
    /// Requests that had no recorded answer.
    misses: Vec<String>,
}

pub(super) struct Replay {
    served: Served,
    book: Arc<Mutex<Book>>,
    kubeconfig: PathBuf,
}

impl Replay {
    /// Serves on a free port with the emulator's certificate, and writes a kubeconfig
    /// that differs from the emulator's only in its server address.
    pub(super) async fn start(
        cluster: &RunningCluster,
        tls: &Tls,
        dir: &Path,
    ) -> anyhow::Result<Replay> {
        let book = Arc::new(Mutex::new(Book::default()));
        let answers = book.clone();
        let handler: Handler = Arc::new(move |request| {
            let uri = request.uri();
            let key = uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            let mut book = answers.lock().unwrap_or_else(|e| e.into_inner());
            // `/version` is asked with a timeout parameter; the list's query is its page.
            let answer = book
                .answers
                .get(&key)
                .or_else(|| book.answers.get(uri.path()))
                .cloned();
            let response = match answer {
                Some(a) => reply(200, &a.content_type, a.body),
                None => {
                    book.misses.push(format!("{} {key}", request.method()));
                    reply(404, "text/plain", "not recorded")
                }
            };
            Box::pin(async move { response })
        });
        let served = serve(0, Some(tls.server_config.clone()), handler_service(handler)).await?;
        let kubeconfig = dir.join("kubeconfig-replay");
        let yaml = cluster
            .kubeconfig_yaml()
            .replace(&cluster.url(), &served.url(true));
        write_private(&kubeconfig, &yaml)?;
        Ok(Replay {
            served,
            book,
            kubeconfig,
        })
    }

    pub(super) fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Records what the emulator answers now to the requests `kubectl get bk` makes, and
    /// copies kubectl's discovery cache for the emulator (in `cache_dir`) under the
    /// replay's address.
    pub(super) async fn record(
        &self,
        client: &Client,
        cluster: &RunningCluster,
        cache_dir: &Path,
    ) -> anyhow::Result<()> {
        let mut answers = HashMap::new();
        for (uri, accept) in [
            (table_list_uri(None), KUBECTL_ACCEPT),
            // The machine's kubectl may pick its version from the server's.
            ("/version".to_string(), "application/json"),
        ] {
            let request = http::Request::get(&uri)
                .header("Accept", accept)
                .body(kube::client::Body::empty())?;
            let response = client
                .send(request)
                .await
                .with_context(|| format!("recording {uri}"))?;
            anyhow::ensure!(
                response.status().is_success(),
                "the emulator answered {uri} with {}",
                response.status()
            );
            let content_type = response
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/json")
                .to_string();
            let body = response.into_body().collect_bytes().await?;
            answers.insert(uri, Answer { content_type, body });
        }
        self.book.lock().unwrap_or_else(|e| e.into_inner()).answers = answers;
        let discovery = cache_dir.join("discovery");
        copy_tree(
            &discovery.join(cache_key(&cluster.url())),
            &discovery.join(cache_key(&self.served.url(true))),
        )
    }

    /// Fails if kubectl asked for anything that was not recorded.
    pub(super) fn check(&self) -> anyhow::Result<()> {
        let book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        anyhow::ensure!(
            book.misses.is_empty(),
            "kubectl asked the replay for requests it had not recorded ({}): its \
             time would not be the same conversation's",
            book.misses.join(", ")
        );
        Ok(())
    }

    pub(super) async fn stop(self) {
        self.served.stop().await;
    }
}

/// The directory kubectl keeps a server's discovery in: the address without its scheme,
/// `:` replaced.
fn cache_key(url: &str) -> String {
    let host = url
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    host.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        from.is_dir(),
        "kubectl kept no discovery cache in {}",
        from.display()
    );
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::cache_key;

    #[test]
    fn the_cache_is_kept_under_the_address() {
        assert_eq!(cache_key("https://127.0.0.1:46409"), "127.0.0.1_46409");
    }
}
