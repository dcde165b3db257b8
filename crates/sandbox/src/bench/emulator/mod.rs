//! `tibr-sandbox bench emulator`: what a write and a list cost the API emulator as its
//! store grows (docs/benchmarks.md).
//!
//! One emulated cluster is started in this process as the sandbox starts its clusters,
//! with the workspace's CRDs installed and no operator. The store is filled with Backups
//! (the seed document's S3 example) up to each size; at each size the bench times creates
//! made one at a time (each waits for the previous answer, as a controller's writes do),
//! runs the real `kubectl get bk` through the kubeconfig it wrote, and reads this
//! process's resident memory. Last it deletes every Backup and reads the memory again.

mod replay;
mod report;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt, stream};
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, PostParams},
};
use kube_emulator::{ClusterOptions, RunningCluster, Tls};
use serde_json::{Value, json};

pub use report::Report;
use report::{Memory, SizeFigures};

use crate::sandbox::{find_crds_dir, install_manifests, write_private};

/// The namespace the Backups are created in.
const NAMESPACE: &str = "bench";

/// kubectl's `--chunk-size` default: the `limit` of each page it asks for.
const KUBECTL_CHUNK: usize = 500;

/// kubectl's cache directory, under the bench's directory.
const KUBECTL_CACHE: &str = "kube-cache";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Backups in the store at each measurement, in increasing order.
    pub sizes: Vec<usize>,
    /// Creates timed one at a time at each size (then deleted again).
    pub sample: usize,
    /// `kubectl get bk` runs at each size; the median is reported.
    pub kubectl_runs: usize,
    /// Creates in flight while filling the store and deleting (untimed).
    pub concurrency: usize,
    /// The kubectl binary.
    pub kubectl: PathBuf,
    /// Where the kubeconfig and pod logs go (a temporary directory when `None`).
    pub dir: Option<PathBuf>,
}

impl Options {
    pub fn new() -> Options {
        Options {
            sizes: vec![10, 1_000, 10_000],
            sample: 200,
            kubectl_runs: 5,
            concurrency: 8,
            kubectl: PathBuf::from("kubectl"),
            dir: None,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new()
    }
}

/// Runs every size in turn; progress goes to standard error.
pub async fn run(options: &Options) -> anyhow::Result<Report> {
    anyhow::ensure!(options.sample >= 1, "--sample must be at least 1");
    anyhow::ensure!(
        options.kubectl_runs >= 1,
        "--kubectl-runs must be at least 1"
    );
    anyhow::ensure!(
        options.sizes.windows(2).all(|w| w[0] < w[1]),
        "--sizes must increase"
    );
    let temp;
    let dir = match &options.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir().context("a directory for the bench")?;
            temp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let machine = super::Machine::this();
    let tls = Tls::generate()?;
    let cluster_options = ClusterOptions::new("bench", dir.join("pods").join("logs"));
    let cluster = RunningCluster::start(cluster_options, &tls, 0).await?;
    let result = match replay::Replay::start(&cluster, &tls, &dir).await {
        Ok(replay) => {
            let result = measure(&cluster, &replay, &dir, options).await;
            replay.stop().await;
            result
        }
        Err(e) => Err(e),
    };
    cluster.stop().await;
    let (sizes, fill, [after_delete, after_compact]) = result?;
    Ok(Report {
        machine,
        date: jiff::Timestamp::now().strftime("%Y-%m-%d").to_string(),
        sample: options.sample,
        kubectl_runs: options.kubectl_runs,
        concurrency: options.concurrency,
        sizes,
        fill,
        after_delete,
        after_compact,
    })
}

type Measured = (Vec<SizeFigures>, Duration, [Memory; 2]);

async fn measure(
    cluster: &RunningCluster,
    replay: &replay::Replay,
    dir: &Path,
    options: &Options,
) -> anyhow::Result<Measured> {
    let crds = find_crds_dir().context("deploy/crds not found (run from the workspace)")?;
    install_manifests(cluster, &crds)?;
    cluster.install_objects(
        crate::sandbox::MANAGER,
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})],
    )?;
    let kubeconfig = dir.join("kubeconfig");
    write_private(&kubeconfig, &cluster.kubeconfig_yaml())?;
    let client = cluster.client().await?;
    let backups = backups_api(&client);
    let template = template()?;
    let start_memory = Memory::now();
    eprintln!("bench: emulator up, {} resident", start_memory);

    let mut figures = Vec::new();
    let mut fill_time = Duration::ZERO;
    let mut stored = 0;
    for &size in &options.sizes {
        let began = Instant::now();
        let names: Vec<String> = (stored..size).map(|i| format!("bk-{i:05}")).collect();
        for_each(&names, options.concurrency, |name| {
            create(&backups, &template, name)
        })
        .await
        .with_context(|| format!("filling the store to {size} Backups"))?;
        fill_time += began.elapsed();
        stored = size;

        let sample: Vec<String> = (0..options.sample)
            .map(|i| format!("sample-{size}-{i:04}"))
            .collect();
        let began = Instant::now();
        for name in &sample {
            create(&backups, &template, name.clone()).await?;
        }
        let creates = began.elapsed();
        for_each(&sample, options.concurrency, |name| delete(&backups, name)).await?;

        let mut lists = Vec::new();
        let mut alone = Vec::new();
        let mut pages = Vec::new();
        for run in 0..options.kubectl_runs {
            lists.push(kubectl_get(&options.kubectl, &kubeconfig, dir, size).await?);
            if run == 0 {
                // Once kubectl has cached the emulator's discovery and the store is full.
                replay
                    .record(&client, cluster, &dir.join(KUBECTL_CACHE))
                    .await?;
            }
            alone.push(kubectl_get(&options.kubectl, replay.kubeconfig(), dir, size).await?);
            pages.push(table_pages(&client, size).await?);
        }
        replay.check()?;
        let memory = Memory::now();
        let f = SizeFigures {
            size,
            creates_per_second: options.sample as f64 / creates.as_secs_f64(),
            kubectl: super::stats::median(&lists).unwrap_or_default(),
            kubectl_alone: super::stats::median(&alone).unwrap_or_default(),
            table_pages: super::stats::median(&pages).unwrap_or_default(),
            memory,
        };
        eprintln!(
            "bench: {size} Backups: {:.0} creates/s, kubectl get bk {} (kubectl alone {}, its Table list {}), {} resident",
            f.creates_per_second,
            report::seconds(f.kubectl),
            report::seconds(f.kubectl_alone),
            report::seconds(f.table_pages),
            f.memory
        );
        figures.push(f);
    }
    let names: Vec<String> = (0..stored).map(|i| format!("bk-{i:05}")).collect();
    let began = Instant::now();
    for_each(&names, options.concurrency, |name| delete(&backups, name)).await?;
    let left = backups.list(&Default::default()).await?.items.len();
    anyhow::ensure!(left == 0, "{left} Backups left after deleting them all");
    let after_delete = Memory::now();
    // What the change history holds of the deleted objects, told apart from what the
    // allocator keeps: the same reading once the history is forgotten.
    cluster.cluster.compact_history();
    let after_compact = Memory::now();
    eprintln!(
        "bench: deleted {stored} Backups in {}, {after_delete} resident, {after_compact} once the history is compacted",
        report::seconds(began.elapsed())
    );
    Ok((figures, fill_time, [after_delete, after_compact]))
}

fn backups_api(client: &Client) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("pingcap.com", "v1alpha1", "Backup");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "backups");
    Api::namespaced_with(client.clone(), NAMESPACE, &resource)
}

/// The seed document's first Backup (S3, access keys), as a user applies it.
fn template() -> anyhow::Result<Value> {
    let seeds = crate::demo::seed::backups("basic-tidb.test1", 4000, "root")?;
    let mut backup = seeds
        .first()
        .context("the seed document has no Backup")?
        .value()?;
    backup["metadata"]["namespace"] = json!(NAMESPACE);
    backup["metadata"]["labels"] =
        json!({"app.kubernetes.io/component": "backup", "bench": "emulator"});
    Ok(backup)
}

async fn create(api: &Api<DynamicObject>, template: &Value, name: String) -> anyhow::Result<()> {
    let mut body = template.clone();
    body["metadata"]["name"] = json!(name);
    let object: DynamicObject = serde_json::from_value(body)?;
    api.create(&PostParams::default(), &object)
        .await
        .with_context(|| format!("creating Backup {name}"))?;
    Ok(())
}

async fn delete(api: &Api<DynamicObject>, name: String) -> anyhow::Result<()> {
    api.delete(&name, &DeleteParams::default())
        .await
        .with_context(|| format!("deleting Backup {name}"))?;
    Ok(())
}

/// Runs `f` on every name, `concurrency` at a time; the first error stops it.
async fn for_each<F, Fut>(names: &[String], concurrency: usize, f: F) -> anyhow::Result<()>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    stream::iter(names.iter().cloned().map(&f))
        .buffer_unordered(concurrency.max(1))
        .try_collect::<()>()
        .await
}

/// The emulator's part of `kubectl get bk`: the Table list as kubectl asks for it (500 rows
/// a page, following continue tokens if any), without kubectl's own request rate limit and
/// printing. Rows are counted, not kept, so this process's memory stays the emulator's.
async fn table_pages(client: &Client, expected: usize) -> anyhow::Result<Duration> {
    let began = Instant::now();
    let mut rows = 0;
    let mut token: Option<String> = None;
    loop {
        let request = http::Request::get(table_list_uri(token.as_deref()))
            .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
            .body(Vec::new())?;
        let page: TablePage = client
            .request(request)
            .await
            .context("listing a table page")?;
        rows += page.rows.len();
        match page.metadata.continue_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    anyhow::ensure!(
        rows == expected,
        "the table pages held {rows} rows for {expected} Backups"
    );
    Ok(began.elapsed())
}

/// The Backup list as kubectl asks for it: a first page of [`KUBECTL_CHUNK`] rows, or the
/// page after `continue_token`.
fn table_list_uri(continue_token: Option<&str>) -> String {
    let mut uri =
        format!("/apis/pingcap.com/v1alpha1/namespaces/{NAMESPACE}/backups?limit={KUBECTL_CHUNK}");
    if let Some(t) = continue_token {
        uri.push_str(&format!("&continue={t}"));
    }
    uri
}

/// What [`table_pages`] reads of a Table.
#[derive(serde::Deserialize)]
struct TablePage {
    rows: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    metadata: TablePageMeta,
}

#[derive(Default, serde::Deserialize)]
struct TablePageMeta {
    #[serde(default, rename = "continue")]
    continue_token: Option<String>,
}

/// The wall time of one `kubectl get bk`, after checking it printed every Backup.
async fn kubectl_get(
    kubectl: &Path,
    kubeconfig: &Path,
    dir: &Path,
    expected: usize,
) -> anyhow::Result<Duration> {
    let mut command = tokio::process::Command::new(kubectl);
    command
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(dir.join(KUBECTL_CACHE))
        .args(["get", "bk", "-n", NAMESPACE]);
    let began = Instant::now();
    let out = command
        .output()
        .await
        .with_context(|| format!("running {}", kubectl.display()))?;
    let took = began.elapsed();
    anyhow::ensure!(
        out.status.success(),
        "kubectl get bk failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = String::from_utf8_lossy(&out.stdout).lines().count();
    anyhow::ensure!(
        rows == expected + 1,
        "kubectl get bk printed {rows} lines for {expected} Backups"
    );
    Ok(took)
}
