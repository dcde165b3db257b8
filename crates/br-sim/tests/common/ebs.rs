//! One EBS backup test's world: moto (EC2 and S3), a simulated PD, a scratch directory,
//! and BR run as TiDB Operator's backup manager runs it.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;
use tibr_storage::Store;
use tibr_storage::testing::{Moto, unique_name};
use tibr_tidb_sim::pd::PdServer;
use tokio::process::Command;

use super::{ec2, pd, value};

pub struct Setup {
    pub moto: Moto,
    pub bucket: String,
    pub pd: PdServer,
    pub ec2: aws_sdk_ec2::Client,
    pub cloud: tibr_ebs::Cloud,
    pub dir: PathBuf,
}

impl Setup {
    pub async fn new() -> Setup {
        let (moto, bucket) = Moto::with_bucket("ebs").await;
        let dir = std::env::temp_dir().join(unique_name("br-ebs"));
        std::fs::create_dir_all(&dir).unwrap();
        Setup {
            ec2: ec2::client(&moto),
            cloud: ec2::cloud(&moto).await,
            pd: pd::start().await,
            moto,
            bucket,
            dir,
        }
    }

    pub fn volume_file(&self, document: &Value) -> String {
        let path = self.dir.join(unique_name("volumes"));
        std::fs::write(&path, document.to_string()).unwrap();
        path.to_string_lossy().into_owned()
    }

    pub fn progress_file(&self) -> PathBuf {
        self.dir.join("progress.txt")
    }

    /// BR as TiDB Operator's backup manager runs it, with moto as the cloud.
    pub fn br(&self, prefix: &str, file: &str, extra: &[&str], env: &[(&str, &str)]) -> Command {
        let storage = format!("--storage=s3://{}/{prefix}", self.bucket);
        let volume_file = format!("--volume-file={file}");
        let progress_file = format!("--progress-file={}", self.progress_file().display());
        let mut args = vec![
            "backup",
            "full",
            "--type=aws-ebs",
            "--pd=demo1-pd.test1:2379",
            &storage,
            "--s3.region=us-east-1",
            "--s3.provider=aws",
            &volume_file,
            &progress_file,
            "--check-requirements=false",
        ];
        args.extend_from_slice(extra);
        let pd_url = self.pd.url();
        let mut all = vec![
            ("AWS_ACCESS_KEY_ID", Moto::ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", Moto::SECRET_KEY),
            ("AWS_ENDPOINT_URL", self.moto.endpoint.as_str()),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("BR_SIM_PD_URL", pd_url.as_str()),
            ("BR_SIM_EBS_POLL_INTERVAL_MS", "100"),
            ("BR_SIM_PROGRESS_INTERVAL_MS", "50"),
        ];
        all.extend_from_slice(env);
        pd::br(&args, &all)
    }

    pub fn store(&self, prefix: &str) -> Store {
        self.moto.store(&self.moto.target(&self.bucket, prefix))
    }

    pub async fn backupmeta(&self, prefix: &str) -> Option<String> {
        let store = self.store(prefix);
        let key = store.key("backupmeta").unwrap();
        match store.exists(&key).await.unwrap() {
            true => Some(String::from_utf8(store.get(&key).await.unwrap().to_vec()).unwrap()),
            false => None,
        }
    }

    /// What the init Job's BR leaves in PD, set directly.
    pub fn pause(&self) {
        let pd = self.pd.pd();
        let sp = pd.min_resolved_ts() - 1;
        pd.update_service_safe_point("br-init", 120, sp).unwrap();
        for name in pd.scheduler_names() {
            pd.pause_scheduler(&name, 120, "br-init").unwrap();
        }
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn line<'a>(stdout: &'a str, needle: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle} in:\n{stdout}"))
}

pub fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

pub fn number(line: &str, key: &str) -> u64 {
    value(line, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}
