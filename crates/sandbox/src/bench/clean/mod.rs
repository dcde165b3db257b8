//! `tibr-sandbox bench clean`: how fast a backup's objects are deleted, ours against the
//! tools users reach for and against the server's own limit, on the sandbox's S3 (s3s-fs
//! with our listing) and on moto (docs/benchmarks.md).
//!
//! Every run fills a fresh prefix with a backup of N data files of 1 KiB and its
//! `backupmeta`, and deletes it with one tool;
//! tools take turns, so a slow spell of the machine hits all of them. The limit is a plain
//! loop of 1000-key `DeleteObjects` requests, one after the other, over keys it already
//! knows (boto3, timed inside Python, so neither listing nor start-up counts). The AWS CLI
//! (`aws s3 rm --recursive`) and rclone (`rclone delete`) are timed as whole processes, as a
//! user meets them. Ours is `tibr_storage::clean_backup` with `spec.cleanOption`'s
//! defaults, the code the clean Job runs, called in this process.

mod peers;

use std::{path::PathBuf, time::Instant};

use anyhow::Context;
use futures::StreamExt;
use tibr_storage::{CleanOptions, Env, Location, OpenOptions, S3Target, Store, Target};

use peers::{Moto, Peer, Tools};

use super::stats::median;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub objects: usize,
    pub runs: usize,
    /// The workspace's `.venv` (boto3, moto, the AWS CLI).
    pub venv: PathBuf,
}

/// Who deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Ours,
    RawLoop,
    AwsCli,
    Rclone,
}

impl Tool {
    const ALL: [Tool; 4] = [Tool::Ours, Tool::RawLoop, Tool::AwsCli, Tool::Rclone];

    fn label(self) -> &'static str {
        match self {
            Tool::Ours => "ours (`clean_backup`, default cleanOption)",
            Tool::RawLoop => "server limit: sequential 1000-key DeleteObjects (boto3)",
            Tool::AwsCli => "`aws s3 rm --recursive`",
            Tool::Rclone => "`rclone delete`",
        }
    }
}

/// One server's medians, objects per second.
#[derive(Debug, Clone)]
pub struct ServerFigures {
    pub server: &'static str,
    /// Per tool: every run's rate.
    pub rates: Vec<(Tool, Vec<f64>)>,
}

/// S3 credentials and where the server is.
#[derive(Debug, Clone)]
pub(crate) struct Server {
    pub name: &'static str,
    pub endpoint: String,
    pub key: String,
    pub secret: String,
    pub region: String,
    pub bucket: String,
}

impl Server {
    fn store(&self, prefix: &str) -> anyhow::Result<Store> {
        let location = Location::parse(&self.bucket, prefix)
            .map_err(|e| anyhow::anyhow!("{}/{prefix}: {e:?}", self.bucket))?;
        let mut target = S3Target::new("aws", location);
        target.endpoint = Some(self.endpoint.clone());
        let env = Env::empty()
            .with(tibr_storage::env::ACCESS_KEY_ID, &self.key)
            .with(tibr_storage::env::SECRET_ACCESS_KEY, &self.secret)
            .with(tibr_storage::env::REGION, &self.region);
        Ok(tibr_storage::open_with(
            &Target::S3(target),
            &OpenOptions {
                env,
                ..OpenOptions::default()
            },
        )?)
    }
}

pub async fn run(options: &Options) -> anyhow::Result<String> {
    anyhow::ensure!(
        options.runs >= 1 && options.objects >= 1,
        "nothing to measure"
    );
    let tools = Tools::find(&options.venv).await?;
    let dir = tempfile::tempdir()?;
    let s3 = tibr_cloud_sim::s3::S3Server::start(dir.path().join("s3"), 0).await?;
    let bucket = "bench";
    s3.ensure_bucket(bucket)?;
    let ours = Server {
        name: "sandbox S3 (s3s-fs)",
        endpoint: s3.endpoint(),
        key: s3.access_key.clone(),
        secret: s3.secret_key.clone(),
        region: tibr_cloud_sim::s3::REGION.into(),
        bucket: bucket.into(),
    };
    let moto = Moto::start(&options.venv).await?;
    let moto_server = moto.server(bucket).await?;
    let mut figures = Vec::new();
    for server in [&ours, &moto_server] {
        figures.push(bench_server(server, options, &tools).await?);
    }
    drop(moto);
    s3.stop().await;
    Ok(render(options, &figures))
}

async fn bench_server(
    server: &Server,
    options: &Options,
    tools: &Tools,
) -> anyhow::Result<ServerFigures> {
    let mut rates: Vec<(Tool, Vec<f64>)> = Tool::ALL.iter().map(|t| (*t, Vec::new())).collect();
    for run in 0..options.runs {
        for (tool, seen) in &mut rates {
            let prefix = format!("run-{run}-{tool:?}").to_lowercase();
            let keys = fill(server, &prefix, options.objects).await?;
            // The listing tools need the objects' names from the server, ours from the
            // backupmeta, the raw loop from us.
            let seconds = match tool {
                Tool::Ours => {
                    let store = server.store(&prefix)?;
                    let started = Instant::now();
                    let mut named = None;
                    let report =
                        tibr_storage::clean_backup(&store, &CleanOptions::default(), |p| {
                            named = p.expected;
                        })
                        .await?;
                    // The lock file it names but BR did not write counts too (S3 confirms
                    // an absent key's deletion); what is left is checked below.
                    anyhow::ensure!(report.deleted as usize >= keys.len(), "ours missed objects");
                    // A backupmeta the clean cannot read makes it list instead: not the path
                    // a BR backup takes, so not the figure to publish.
                    anyhow::ensure!(
                        named.is_some(),
                        "ours did not read the backupmeta: the run measured a listing clean"
                    );
                    started.elapsed().as_secs_f64()
                }
                Tool::RawLoop => tools.raw_loop(server, &keys).await?,
                Tool::AwsCli => tools.run(Peer::AwsCli, server, &prefix).await?,
                Tool::Rclone => tools.run(Peer::Rclone, server, &prefix).await?,
            };
            let left = server.store(&prefix)?.list(&prefix).await?.len();
            anyhow::ensure!(left == 0, "{tool:?} left {left} objects on {}", server.name);
            let rate = keys.len() as f64 / seconds;
            eprintln!("{}: {tool:?} run {run}: {rate:.0} objects/s", server.name);
            seen.push(rate);
        }
    }
    Ok(ServerFigures {
        server: server.name,
        rates,
    })
}

/// Writes a backup of `n` data objects of 1 KiB under `prefix`, as BR leaves one: the
/// files spread over directories, and a `backupmeta` (v2, with its meta files) naming
/// them. Returns every key written.
async fn fill(server: &Server, prefix: &str, n: usize) -> anyhow::Result<Vec<String>> {
    use tibr_storage::backupmeta::{self, EncodeOptions, File, MetaInput};
    let store = server.store(prefix)?;
    let body = bytes::Bytes::from(vec![b'x'; 1024]);
    let names: Vec<String> = (0..n)
        .map(|i| format!("{:02}/{i:07}_default.sst", i % 16))
        .collect();
    let meta = backupmeta::encode(
        &MetaInput {
            data_files: names
                .iter()
                .map(|name| File {
                    name: name.clone(),
                    size: 1024,
                    ..File::default()
                })
                .collect(),
            root: backupmeta::BackupMeta {
                cluster_id: 7,
                br_version: "BR\nRelease Version: v8.5.1".into(),
                ..backupmeta::BackupMeta::default()
            },
            ..MetaInput::default()
        },
        &EncodeOptions::v2(),
    );
    let mut objects: Vec<(String, bytes::Bytes)> =
        names.into_iter().map(|name| (name, body.clone())).collect();
    objects.extend(
        meta.meta_files
            .into_iter()
            .map(|(name, bytes)| (name, bytes::Bytes::from(bytes))),
    );
    objects.push(("backupmeta".into(), bytes::Bytes::from(meta.root_bytes)));
    let results: Vec<_> = futures::stream::iter(objects.iter().cloned())
        .map(|(name, bytes)| {
            let store = &store;
            async move { store.put(&format!("{prefix}/{name}"), bytes).await }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for r in results {
        r.with_context(|| format!("filling {prefix} on {}", server.name))?;
    }
    Ok(objects
        .into_iter()
        .map(|(name, _)| format!("{prefix}/{name}"))
        .collect())
}

fn render(options: &Options, figures: &[ServerFigures]) -> String {
    use std::fmt::Write;
    let machine = super::Machine::this();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} objects of 1 KiB, median of {} runs, {} CPUs ({}), load {} at start.\n",
        options.objects,
        options.runs,
        machine.cpus,
        machine.cpu_model,
        machine.load.as_deref().unwrap_or("unknown")
    );
    for server in figures {
        let of = |t: Tool| {
            server
                .rates
                .iter()
                .find(|(tool, _)| *tool == t)
                .and_then(|(_, r)| median(r))
                .unwrap_or(0.0)
        };
        let ours = of(Tool::Ours);
        let limit = of(Tool::RawLoop);
        let best_peer = of(Tool::AwsCli).max(of(Tool::Rclone));
        let _ = writeln!(out, "**{}**\n", server.server);
        let _ = writeln!(out, "| tool | objects/s (median) | runs | ours ÷ this |");
        let _ = writeln!(out, "|---|---:|---|---:|");
        for (tool, rates) in &server.rates {
            let m = median(rates).unwrap_or(0.0);
            let runs: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
            let ratio = if *tool == Tool::Ours {
                "—".to_string()
            } else {
                format!("{:.2}x", ours / m)
            };
            let _ = writeln!(
                out,
                "| {} | {m:.0} | {} | {ratio} |",
                tool.label(),
                runs.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "\nOurs reaches {:.2}x the server's sequential limit and {:.2}x the best peer tool.\n",
            ours / limit,
            ours / best_peer
        );
    }
    out
}
