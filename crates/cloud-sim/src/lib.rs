//! The world Job pods run in, emulated on one machine: a job runner (Job controller and
//! kubelet) that runs pods of an emulated cluster as local processes, "the cloud" those
//! pods reach (instance metadata, STS, credentials, EC2 and EBS), and an S3 server storing
//! objects as files. Each talks to its cluster only as a client would, so it works with any cluster
//! `kube-emulator` serves.
pub mod cloud;
pub mod ec2;
pub mod procs;
pub mod runner;
pub mod s3;
pub mod world;

/// Files holding credentials are readable by their owner only.
pub fn write_private(path: &std::path::Path, content: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    Ok(())
}
