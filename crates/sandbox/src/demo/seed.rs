//! The seed document's ad-hoc Backups and its first BackupSchedule ("Back up Data to
//! S3-Compatible Storage Using BR", kept in `crates/api/tests/seeds/`), exactly as written,
//! with only `${tidb_host}`, `${tidb_port}` and `${tidb_user}` filled in: the demo, the
//! end-to-end tests and a user at a shell apply the same text.
//!
//! The document's three examples share one name (`demo1-backup-s3`) and one prefix
//! (`my-folder`): they are alternatives. Run side by side, the names would collide and BR
//! would refuse the second backup into a prefix that already holds one, so
//! [`SeedBackup::distinct`] gives each its own name suffix and prefix.

use anyhow::Context;
use serde_json::Value;

/// The seed document.
pub const DOCUMENT: &str = include_str!("../../../api/tests/seeds/backup-to-aws-s3-using-br.md");

/// How an example grants the backup access to S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// `spec.s3.secretName: s3-secret` (access key and secret key).
    StaticKeys,
    /// The Backup's annotation `iam.amazonaws.com/role`, served by kube2iam.
    Kube2iam,
    /// `spec.serviceAccount` whose ServiceAccount is annotated `eks.amazonaws.com/role-arn`.
    Irsa,
}

impl Credentials {
    /// The name suffix and prefix part [`SeedBackup::distinct`] uses.
    pub fn suffix(self) -> &'static str {
        match self {
            Credentials::StaticKeys => "keys",
            Credentials::Kube2iam => "kube2iam",
            Credentials::Irsa => "irsa",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Credentials::StaticKeys => "AccessKey and SecretKey in s3-secret",
            Credentials::Kube2iam => "IAM role of the pod (kube2iam annotation)",
            Credentials::Irsa => "IAM role of the ServiceAccount (IRSA)",
        }
    }
}

/// One of the document's `Backup` manifests.
#[derive(Debug, Clone)]
pub struct SeedBackup {
    pub credentials: Credentials,
    /// The YAML, placeholders filled in, comments kept.
    pub yaml: String,
}

impl SeedBackup {
    pub fn value(&self) -> anyhow::Result<Value> {
        yaml_serde::from_str(&self.yaml).context("the seed's Backup is not YAML")
    }

    pub fn name(&self) -> anyhow::Result<String> {
        let v = self.value()?;
        v["metadata"]["name"]
            .as_str()
            .map(str::to_string)
            .context("the seed's Backup has no name")
    }

    /// The same manifest named `<name>-<suffix>` and writing to `<prefix>/<suffix>`.
    pub fn distinct(&self) -> anyhow::Result<SeedBackup> {
        let suffix = self.credentials.suffix();
        let mut out = String::new();
        let (mut named, mut prefixed) = (false, false);
        for line in self.yaml.lines() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            if !named && indent == "  " && trimmed.starts_with("name: ") {
                out.push_str(&format!("{line}-{suffix}\n"));
                named = true;
            } else if !prefixed && trimmed.starts_with("prefix: ") {
                out.push_str(&format!("{line}/{suffix}\n"));
                prefixed = true;
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        anyhow::ensure!(named && prefixed, "the seed's Backup has no name or prefix");
        Ok(SeedBackup {
            credentials: self.credentials,
            yaml: out,
        })
    }
}

/// The document's three ad-hoc `Backup`s, in its order (static keys, kube2iam, IRSA), with
/// TiDB at `host:port` as `user`.
pub fn backups(host: &str, port: u16, user: &str) -> anyhow::Result<Vec<SeedBackup>> {
    Ok(three("Backup", host, port, user)?
        .map(|(credentials, yaml)| SeedBackup { credentials, yaml })
        .collect())
}

/// The document's three `BackupSchedule`s (`*/2 * * * *`, `maxReservedTime: "3h"`), in its
/// order (static keys, kube2iam, IRSA), with TiDB at `host:port` as `user`.
pub fn schedules(host: &str, port: u16, user: &str) -> anyhow::Result<Vec<SeedSchedule>> {
    Ok(three("BackupSchedule", host, port, user)?
        .map(|(credentials, yaml)| SeedSchedule { credentials, yaml })
        .collect())
}

/// The document's first `BackupSchedule`, with static keys.
pub fn schedule(host: &str, port: u16, user: &str) -> anyhow::Result<SeedSchedule> {
    let mut all = schedules(host, port, user)?;
    Ok(all.remove(0))
}

/// The document's manifests of `kind`, one per way of granting access to S3, in the
/// document's order (static keys, kube2iam, IRSA).
fn three(
    kind: &str,
    host: &str,
    port: u16,
    user: &str,
) -> anyhow::Result<impl Iterator<Item = (Credentials, String)>> {
    let found: Vec<(Credentials, String)> = manifests(host, port, user)
        .into_iter()
        .filter(|(_, v)| v["kind"] == kind)
        .map(|(yaml, value)| {
            let credentials =
                if !value["metadata"]["annotations"]["iam.amazonaws.com/role"].is_null() {
                    Credentials::Kube2iam
                } else if !value["spec"]["serviceAccount"].is_null() {
                    Credentials::Irsa
                } else {
                    Credentials::StaticKeys
                };
            (credentials, yaml)
        })
        .collect();
    anyhow::ensure!(
        found.iter().map(|(c, _)| *c).collect::<Vec<_>>()
            == [
                Credentials::StaticKeys,
                Credentials::Kube2iam,
                Credentials::Irsa
            ],
        "the seed document should hold three {kind}s: static keys, kube2iam, IRSA"
    );
    Ok(found.into_iter())
}

/// One of the document's `BackupSchedule` manifests.
#[derive(Debug, Clone)]
pub struct SeedSchedule {
    pub credentials: Credentials,
    /// The YAML, placeholders filled in, comments kept.
    pub yaml: String,
}

impl SeedSchedule {
    pub fn value(&self) -> anyhow::Result<Value> {
        yaml_serde::from_str(&self.yaml).context("the seed's BackupSchedule is not YAML")
    }

    pub fn name(&self) -> anyhow::Result<String> {
        self.value()?["metadata"]["name"]
            .as_str()
            .map(str::to_string)
            .context("the seed's BackupSchedule has no name")
    }

    /// The same manifest running at `schedule`, keeping the `max_backups` newest backups
    /// instead of three hours' worth (`maxReservedTime` removed, as it would win), and
    /// writing under `prefix`: the seed's every-two-minutes schedule is too slow to watch.
    pub fn quick(
        &self,
        schedule: &str,
        max_backups: u32,
        prefix: &str,
    ) -> anyhow::Result<SeedSchedule> {
        let mut out = String::new();
        let mut edits = 0;
        for line in self.yaml.lines() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            if trimmed.starts_with("maxReservedTime:") {
                edits += 1;
                continue;
            }
            let edited = if trimmed.starts_with("schedule:") {
                format!("{indent}schedule: \"{schedule}\"")
            } else if trimmed.starts_with("#maxBackups:") {
                format!("{indent}maxBackups: {max_backups}")
            } else if trimmed.starts_with("prefix:") {
                format!("{indent}prefix: {prefix}")
            } else {
                out.push_str(line);
                out.push('\n');
                continue;
            };
            edits += 1;
            out.push_str(&edited);
            out.push('\n');
        }
        anyhow::ensure!(
            edits == 4,
            "the seed's BackupSchedule should have one schedule, #maxBackups, maxReservedTime and prefix line"
        );
        Ok(SeedSchedule {
            credentials: self.credentials,
            yaml: out,
        })
    }
}

/// Every manifest of the document with the placeholders filled: its YAML and its value.
fn manifests(host: &str, port: u16, user: &str) -> Vec<(String, Value)> {
    yaml_blocks(DOCUMENT)
        .into_iter()
        .filter_map(|block| {
            let yaml = block
                .replace("${tidb_host}", host)
                .replace("${tidb_port}", &port.to_string())
                .replace("${tidb_user}", user);
            let value: Value = yaml_serde::from_str(&yaml).ok()?;
            Some((yaml, value))
        })
        .collect()
}

/// The contents of the ```` ```yaml ```` fences of `markdown`, without the fences'
/// indentation (the document nests them in list items).
pub(super) fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut open {
            None if trimmed.trim_end() == "```yaml" => open = Some((indent, String::new())),
            None => {}
            Some(_) if trimmed.trim_end() == "```" => {
                if let Some((_, text)) = open.take() {
                    blocks.push(text);
                }
            }
            Some((fence, text)) => {
                text.push_str(&line[indent.min(*fence)..]);
                text.push('\n');
            }
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_ad_hoc_backups_as_written() {
        let all = backups("127.0.0.1", 4000, "root").unwrap();
        let first = all[0].value().unwrap();
        assert_eq!(first["metadata"]["name"], "demo1-backup-s3");
        assert_eq!(first["spec"]["from"]["host"], "127.0.0.1");
        assert_eq!(first["spec"]["from"]["port"], 4000);
        assert_eq!(first["spec"]["s3"]["secretName"], "s3-secret");
        assert!(all[0].yaml.contains("# logLevel: info"), "comments kept");
        let irsa = all[2].distinct().unwrap().value().unwrap();
        assert_eq!(irsa["metadata"]["name"], "demo1-backup-s3-irsa");
        assert_eq!(irsa["spec"]["s3"]["prefix"], "my-folder/irsa");
        assert_eq!(irsa["spec"]["serviceAccount"], "tidb-backup-manager");
    }

    #[test]
    fn the_first_schedule_as_written_and_quickened() {
        let seed = schedule("127.0.0.1", 4000, "root").unwrap();
        let v = seed.value().unwrap();
        assert_eq!(v["metadata"]["name"], "demo1-backup-schedule-s3");
        assert_eq!(v["spec"]["schedule"], "*/2 * * * *");
        assert_eq!(v["spec"]["maxReservedTime"], "3h");
        assert_eq!(v["spec"]["backupTemplate"]["from"]["port"], 4000);
        assert_eq!(v["spec"]["backupTemplate"]["s3"]["secretName"], "s3-secret");
        assert!(
            v["metadata"]["annotations"].is_null(),
            "the static-key variant"
        );
        let quick = seed.quick("@every 5s", 2, "my-folder/schedule").unwrap();
        let q = quick.value().unwrap();
        assert_eq!(q["spec"]["schedule"], "@every 5s");
        assert_eq!(q["spec"]["maxBackups"], 2);
        assert!(q["spec"]["maxReservedTime"].is_null());
        assert_eq!(
            q["spec"]["backupTemplate"]["s3"]["prefix"],
            "my-folder/schedule"
        );
        assert!(quick.yaml.contains("#pause: true"), "comments kept");
        let kube2iam = schedules("127.0.0.1", 4000, "root").unwrap()[1]
            .value()
            .unwrap();
        assert_eq!(
            kube2iam["metadata"]["annotations"]["iam.amazonaws.com/role"],
            "arn:aws:iam::123456789012:role/user"
        );
    }
}
