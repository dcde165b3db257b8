//! Objects a cluster starts with, written by the cluster itself rather than by a client:
//! no authentication, no admission, no user in the access log. This is how a test or a
//! sandbox installs CRDs and the objects a real cluster's other controllers would have
//! made (a status only a controller writes, for instance) before any client connects.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::{
    RunningCluster,
    cluster::{now, rfc3339},
    ops::{self, WriteOptions},
};

impl RunningCluster {
    /// Creates every object of every `*.yaml` file in `dir` (CRDs first) as `manager`;
    /// objects that already exist are left alone. Returns how many were created.
    pub fn install_manifests(&self, manager: &str, dir: &Path) -> anyhow::Result<usize> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        self.install_files(manager, &files)
    }

    /// Creates every object of the given manifest files (CRDs first) as `manager`; objects
    /// that already exist are left alone. Returns how many were created.
    pub fn install_files(&self, manager: &str, files: &[PathBuf]) -> anyhow::Result<usize> {
        let mut docs: Vec<Value> = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            for doc in yaml_serde::Deserializer::from_str(&text) {
                let value: Value = serde::Deserialize::deserialize(doc)
                    .with_context(|| format!("parsing {}", file.display()))?;
                if value.is_object() {
                    docs.push(value);
                }
            }
        }
        self.install_objects(manager, docs)
    }

    /// Creates `docs` (CRDs first, so their kinds are served for the rest) as `manager`;
    /// objects that already exist are left alone. Returns how many were created.
    pub fn install_objects(&self, manager: &str, mut docs: Vec<Value>) -> anyhow::Result<usize> {
        docs.sort_by_key(|d| d["kind"] != "CustomResourceDefinition");
        let mut created = 0;
        let result = (|| {
            for doc in docs {
                if self.create_internal(manager, doc, false)? {
                    created += 1;
                }
            }
            Ok(created)
        })();
        self.cluster.notify_changed();
        result
    }

    /// Whether the cluster serves objects of `kind` in `api_version` (a CRD for it exists).
    pub fn serves(&self, api_version: &str, kind: &str) -> bool {
        self.cluster
            .lock()
            .registry
            .by_kind(api_version, kind)
            .is_some()
    }

    /// Creates `obj` as `manager` with the `status` it carries (which a create through the
    /// API drops, when the kind has a status subresource). Returns false when it already
    /// existed, in which case it is left alone.
    pub fn install_with_status(&self, manager: &str, obj: Value) -> anyhow::Result<bool> {
        let created = self.create_internal(manager, obj, true);
        self.cluster.notify_changed();
        created
    }

    fn create_internal(
        &self,
        manager: &str,
        obj: Value,
        with_status: bool,
    ) -> anyhow::Result<bool> {
        let mut state = self.cluster.lock();
        let api_version = obj["apiVersion"].as_str().unwrap_or("v1").to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let rt = state
            .registry
            .by_kind(&api_version, &kind)
            .with_context(|| format!("no resource type for {api_version} {kind}"))?;
        let ns = rt.namespaced.then(|| {
            obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_string()
        });
        let opts = WriteOptions::internal(manager, now());
        let written = match ops::create(&mut state, &rt, ns.as_deref(), obj.clone(), &opts) {
            Ok(w) => w.object,
            Err(e) if e.code == 409 => return Ok(false),
            Err(e) => anyhow::bail!("creating {kind}: {e}"),
        };
        if with_status && rt.has_status() && !obj["status"].is_null() {
            let name = obj["metadata"]["name"].as_str().unwrap_or_default();
            let mut with_status = written;
            with_status["status"] = obj["status"].clone();
            ops::update(
                &mut state,
                &rt,
                ns.as_deref(),
                name,
                with_status,
                &opts.clone().status(),
            )
            .map_err(|e| anyhow::anyhow!("writing the status of {kind} {name}: {e}"))?;
        }
        Ok(true)
    }
}

/// The current time as the cluster writes it in objects (RFC 3339, seconds).
pub fn timestamp_now() -> String {
    rfc3339(now())
}
