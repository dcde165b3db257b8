//! The second seed document's `VolumeBackup`s ("Back Up a TiDB Cluster across Multiple
//! Kubernetes Using EBS Volume Snapshots", kept in `crates/api/tests/seeds/`), exactly as
//! written, with its placeholders filled for a sandbox started with `--clusters 3`: the data
//! planes `dp-1` and `dp-2`, TidbCluster `test1/demo1` in each, the sandbox's region, bucket
//! and BR image. The `- ... # other clusters` lines stand for "more of the same" and are
//! dropped. The three examples differ only in how they grant access (static keys, kube2iam,
//! IRSA) and share one name; [`SeedVolumeBackup::distinct`] gives each its own name and
//! prefix so they can run side by side.

use anyhow::Context;
use serde_json::Value;

use super::seed::{Credentials, yaml_blocks};

/// The seed document.
pub const DOCUMENT: &str =
    include_str!("../../../api/tests/seeds/backup-by-ebs-snapshot-across-multiple-kubernetes.md");

/// One of the document's `VolumeBackup` manifests.
#[derive(Debug, Clone)]
pub struct SeedVolumeBackup {
    pub credentials: Credentials,
    /// The YAML, placeholders filled in, comments kept.
    pub yaml: String,
}

impl SeedVolumeBackup {
    pub fn value(&self) -> anyhow::Result<Value> {
        yaml_serde::from_str(&self.yaml).context("the seed's VolumeBackup is not YAML")
    }

    pub fn name(&self) -> anyhow::Result<String> {
        self.value()?["metadata"]["name"]
            .as_str()
            .map(str::to_string)
            .context("the seed's VolumeBackup has no name")
    }

    /// The same manifest named `<name>-<suffix>` writing under `<prefix>-<suffix>`.
    pub fn distinct(&self) -> anyhow::Result<SeedVolumeBackup> {
        let suffix = self.credentials.suffix();
        let mut out = String::new();
        let mut edits = 0;
        for line in self.yaml.lines() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            // `metadata.name` (two spaces in) and `spec.template.s3.prefix`.
            let edit = (trimmed.starts_with("name:") && indent.len() == 2)
                || trimmed.starts_with("prefix:");
            match trimmed.split_once(':').filter(|_| edit) {
                Some((key, value)) => {
                    out.push_str(&format!("{indent}{key}: {}-{suffix}\n", value.trim()));
                    edits += 1;
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        anyhow::ensure!(edits == 2, "expected a name and a prefix, edited {edits}");
        Ok(SeedVolumeBackup {
            credentials: self.credentials,
            yaml: out,
        })
    }
}

/// The document's three `VolumeBackup`s, in its order (static keys, kube2iam, IRSA).
pub fn volume_backups() -> anyhow::Result<Vec<SeedVolumeBackup>> {
    let mut found = Vec::new();
    for block in yaml_blocks(DOCUMENT) {
        let yaml = fill(&block)?;
        let value: Value = match yaml_serde::from_str(&yaml) {
            Ok(v) => v,
            Err(_) => continue,
        };
        if value["kind"] != "VolumeBackup" {
            continue;
        }
        let credentials = if !value["metadata"]["annotations"]["iam.amazonaws.com/role"].is_null() {
            Credentials::Kube2iam
        } else if !value["spec"]["template"]["serviceAccount"].is_null() {
            Credentials::Irsa
        } else {
            Credentials::StaticKeys
        };
        found.push(SeedVolumeBackup { credentials, yaml });
    }
    anyhow::ensure!(
        found.iter().map(|b| b.credentials).collect::<Vec<_>>()
            == [
                Credentials::StaticKeys,
                Credentials::Kube2iam,
                Credentials::Irsa
            ],
        "the seed document should hold three VolumeBackups: static keys, kube2iam, IRSA"
    );
    Ok(found)
}

/// The document's `VolumeBackupSchedule`, exactly as written (its misplaced
/// `template.br.cleanPolicy`, `resources: {}` and empty `backup:` included), named
/// `vbks-seed` in namespace `br-fed`, firing at `cron` and keeping backups for `keep`.
pub fn volume_backup_schedule(cron: &str, keep: &str) -> anyhow::Result<String> {
    for block in yaml_blocks(DOCUMENT) {
        if !block.contains("kind: VolumeBackupSchedule") {
            continue;
        }
        let braced = fill(&block)?;
        let mut out = String::new();
        for line in braced.lines() {
            // Commented-out fields keep their placeholders, as written.
            let mut rest = line;
            if line.trim_start().starts_with('#') {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            while let Some(start) = rest.find('{').filter(|i| !rest[*i..].starts_with("{}")) {
                out.push_str(&rest[..start]);
                let end = rest[start..]
                    .find('}')
                    .with_context(|| format!("an unclosed placeholder in: {line}"))?;
                let name = &rest[start + 1..start + end];
                out.push_str(&match name {
                    "scheduler-name" => "vbks-seed".to_string(),
                    "namespace-name" => SCHEDULE_NAMESPACE.to_string(),
                    "duration" => keep.to_string(),
                    "cron-expression" => format!("{cron:?}"),
                    other => fill(&format!("${{{other}}}"))?,
                });
                rest = &rest[start + end + 1..];
            }
            out.push_str(rest);
            out.push('\n');
        }
        return Ok(out);
    }
    anyhow::bail!("the seed document has no VolumeBackupSchedule")
}

/// The namespace of the seed's VolumeBackupSchedule in the sandbox's `control` cluster.
pub const SCHEDULE_NAMESPACE: &str = "br-fed";

/// The placeholders for a `--clusters 3` sandbox; an unknown one is an error (the document
/// changed and needs a look).
fn fill(yaml: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    for line in yaml.lines() {
        if line.trim_start().starts_with("- ...") {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .with_context(|| format!("an unclosed placeholder in: {line}"))?;
            let name = &rest[start + 2..start + end];
            out.push_str(match name {
                "backup-name" => "vbk-seed",
                "k8s-name1" => "dp-1",
                "k8s-name2" => "dp-2",
                "tc-name1" | "tc-name2" => tibr_tidb_sim::tidb_cluster::NAME,
                "tc-namespace1" | "tc-namespace2" => tibr_tidb_sim::tidb_cluster::NAMESPACE,
                "region-name" => tibr_cloud_sim::s3::REGION,
                "bucket-name" => tibr_cloud_sim::s3::DEFAULT_BUCKET,
                "backup-path" => "vbk-seed",
                "br-image" => "pingcap/br:v8.5.0",
                other => anyhow::bail!("no value for placeholder ${{{other}}} in: {line}"),
            });
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_examples_fill_for_the_sandbox_and_get_their_own_names() {
        let all = volume_backups().unwrap();
        for b in &all {
            let v = b.value().unwrap();
            assert_eq!(v["spec"]["clusters"][1]["k8sClusterName"], "dp-2");
            assert_eq!(v["spec"]["clusters"][0]["tcNamespace"], "test1");
            assert_eq!(v["spec"]["clusters"].as_array().unwrap().len(), 2);
            let d = b.distinct().unwrap();
            let dv = d.value().unwrap();
            let suffix = b.credentials.suffix();
            assert_eq!(dv["metadata"]["name"], format!("vbk-seed-{suffix}"));
            assert_eq!(
                dv["spec"]["template"]["s3"]["prefix"],
                format!("vbk-seed-{suffix}")
            );
            // Nothing else changed.
            let mut back = dv.clone();
            back["metadata"]["name"] = v["metadata"]["name"].clone();
            back["spec"]["template"]["s3"]["prefix"] =
                v["spec"]["template"]["s3"]["prefix"].clone();
            assert_eq!(back, v);
        }
    }

    #[test]
    fn the_schedule_is_filled_with_its_quirks_kept() {
        let yaml = volume_backup_schedule("@every 20s", "1m").unwrap();
        assert!(
            !yaml.contains("${") && !yaml.contains("{scheduler"),
            "{yaml}"
        );
        let v: Value = yaml_serde::from_str(&yaml).unwrap();
        assert_eq!(v["metadata"]["name"], "vbks-seed");
        assert_eq!(v["spec"]["schedule"], "@every 20s");
        assert_eq!(v["spec"]["maxReservedTime"], "1m");
        let template = &v["spec"]["backupTemplate"]["template"];
        assert_eq!(template["br"]["cleanPolicy"], "Delete");
        assert_eq!(template["br"]["resources"], serde_json::json!({}));
        assert_eq!(template["serviceAccount"], "tidb-backup-manager");
        assert_eq!(
            v["spec"]["backupTemplate"]["clusters"][1]["k8sClusterName"],
            "dp-2"
        );
    }
}
