//! Names of the objects tibr creates, as TiDB Operator names them (users and dashboards
//! depend on them).

/// The Job that takes a backup.
pub fn backup_job(backup: &str) -> String {
    format!("backup-{backup}")
}

/// The Job that pauses GC and PD scheduling for a volume-snapshot backup (the first data
/// plane of a VolumeBackup only).
pub fn init_job(backup: &str) -> String {
    format!("backup-{backup}-init")
}

/// The ConfigMap holding the volume file (`clustermeta`) of a volume-snapshot backup.
pub fn clustermeta_config_map(backup: &str) -> String {
    format!("backup-{backup}-clustermeta")
}

/// The Job that deletes a backup's data.
pub fn clean_job(backup: &str) -> String {
    format!("clean-{backup}")
}

/// Pod labels must be at most 63 characters; Job names end up in them.
pub const MAX_LABEL_VALUE: usize = 63;

#[cfg(test)]
mod tests {
    #[test]
    fn job_names() {
        assert_eq!(
            super::backup_job("demo1-backup-s3"),
            "backup-demo1-backup-s3"
        );
        assert_eq!(super::clean_job("b"), "clean-b");
    }
}
