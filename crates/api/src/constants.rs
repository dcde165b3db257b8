//! Names and defaults that TiDB Operator's users, dashboards and runbooks already depend
//! on. They are part of the wire contract: change none of them.

/// Keeps a Backup (or VolumeBackup) until its data has been dealt with according to its
/// clean policy. Same string as TiDB Operator, so objects it protected stay protected.
pub const BACKUP_PROTECTION_FINALIZER: &str = "tidb.pingcap.com/backup-protection";

/// Label keys.
pub mod labels {
    /// The schedule that created a Backup or VolumeBackup (value: the schedule's name).
    /// `kubectl get bk -l tidb.pingcap.com/backup-schedule=<name>` lists a schedule's runs.
    pub const BACKUP_SCHEDULE: &str = "tidb.pingcap.com/backup-schedule";
    /// Schedules sharing a value of this label never run concurrently.
    pub const BACKUP_SCHEDULE_GROUP: &str = "tidb.pingcap.com/backup-schedule-group";
    /// On backup and clean Jobs and their pods: the Backup they work for.
    pub const BACKUP: &str = "tidb.pingcap.com/backup";
    /// Kubernetes' recommended label for the application's name.
    pub const NAME: &str = "app.kubernetes.io/name";
    /// Kubernetes' recommended label for the instance of the application.
    pub const INSTANCE: &str = "app.kubernetes.io/instance";
    /// Kubernetes' recommended label for the component within the application.
    pub const COMPONENT: &str = "app.kubernetes.io/component";
    /// Kubernetes' recommended label for the tool that manages the object.
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
}

/// Values TiDB Operator puts under the `app.kubernetes.io/*` keys.
pub mod label_values {
    /// `app.kubernetes.io/name` and `app.kubernetes.io/component` of backup Jobs.
    pub const BACKUP: &str = "backup";
    /// `app.kubernetes.io/component` of clean Jobs.
    pub const CLEAN: &str = "clean";
    /// `app.kubernetes.io/managed-by` of backup and clean Jobs.
    pub const BACKUP_OPERATOR: &str = "backup-operator";
    /// `app.kubernetes.io/name` of objects a schedule creates.
    pub const BACKUP_SCHEDULE: &str = "backup-schedule";
    /// `app.kubernetes.io/managed-by` of objects a schedule creates.
    pub const BACKUP_SCHEDULE_OPERATOR: &str = "backup-schedule-operator";
    /// `app.kubernetes.io/component` of the RBAC objects in `backup-rbac.yaml`.
    pub const BACKUP_MANAGER: &str = "tidb-backup-manager";
}

/// Annotation keys.
pub mod annotations {
    /// kube2iam: the IAM role a pod assumes. Set on a Backup, it is copied to its pods.
    pub const IAM_ROLE: &str = "iam.amazonaws.com/role";
    /// EKS IRSA: the IAM role of a ServiceAccount's pods (set on the ServiceAccount).
    pub const EKS_ROLE_ARN: &str = "eks.amazonaws.com/role-arn";
    /// On a TidbCluster: present (any value) means "connect to TiDB without TLS even though
    /// its client TLS is enabled".
    pub const SKIP_TLS_WHEN_CONNECT_TIDB: &str = "tidb.tidb.pingcap.com/skip-tls-when-connect-tidb";
    /// tibr extension, on a Backup a schedule created: the cron tick (RFC 3339, UTC) it
    /// was taken for. The schedule reads its progress back from it (the Backup's name
    /// carries the tick too, to the second), so a lost status write never repeats a tick.
    pub const SCHEDULE_TICK: &str = "tibr.dev/schedule-tick";
}

/// Defaults applied in code (not by the API server), as TiDB Operator applies them.
pub mod defaults {
    /// The ServiceAccount of backup, clean and stop Job pods when `spec.serviceAccount` is empty.
    pub const SERVICE_ACCOUNT: &str = "tidb-backup-manager";
    /// The TiKV GC life time held during a backup when `spec.tikvGCLifeTime` is empty.
    pub const TIKV_GC_LIFE_TIME: &str = "72h";
    /// TiDB's MySQL port when `spec.from.port` is unset.
    pub const TIDB_PORT: i32 = 4000;
    /// TiDB user when `spec.from.user` is empty.
    pub const TIDB_USER: &str = "root";
    /// PD's client port; BR reaches PD at `<cluster>-pd.<namespace>:2379`.
    pub const PD_CLIENT_PORT: i32 = 2379;
    /// The TiKV image repository when a TidbCluster names neither image nor base image.
    pub const TIKV_BASE_IMAGE: &str = "pingcap/tikv";
    /// The BR image repository when `spec.toolImage` is empty (tagged with the TiKV version).
    pub const BR_IMAGE: &str = "pingcap/br";
    /// Key in the `from.secretName` Secret that holds the TiDB password.
    pub const TIDB_PASSWORD_KEY: &str = "password";
    /// Keys in the `s3.secretName` Secret.
    pub const S3_ACCESS_KEY_KEY: &str = "access_key";
    /// See [`S3_ACCESS_KEY_KEY`].
    pub const S3_SECRET_KEY_KEY: &str = "secret_key";
    /// Key in the `gcs.secretName` Secret holding the service account JSON.
    pub const GCS_CREDENTIALS_KEY: &str = "credentials";
    /// Objects listed per page by the clean Job when `cleanOption.pageSize` is unset.
    pub const CLEAN_PAGE_SIZE: u64 = 10_000;
    /// Parallel batch deletes when `cleanOption.batchConcurrency` is unset.
    pub const CLEAN_BATCH_CONCURRENCY: u32 = 10;
    /// Parallel single-object deletes when `cleanOption.routineConcurrency` is unset.
    pub const CLEAN_ROUTINE_CONCURRENCY: u32 = 100;
    /// Whole-prefix clean attempts when `cleanOption.retryCount` is unset.
    pub const CLEAN_RETRY_COUNT: i64 = 5;
    /// `backoffRetryPolicy.minRetryDuration` when unset.
    pub const MIN_RETRY_DURATION: &str = "300s";
    /// `backoffRetryPolicy.maxRetryTimes` when unset.
    pub const MAX_RETRY_TIMES: i64 = 2;
    /// `backoffRetryPolicy.retryTimeout` when unset.
    pub const RETRY_TIMEOUT: &str = "30m";
    /// Storage size of a Dumpling export's volume when `spec.storageSize` is empty.
    pub const DUMPLING_STORAGE_SIZE: &str = "100Gi";
    /// Deadline in seconds of the volume-snapshot initialize Job.
    pub const VOLUME_BACKUP_INIT_JOB_MAX_ACTIVE_SECONDS: i64 = 600;
    /// EBS snapshot deletions per second per data plane.
    pub const SNAPSHOTS_DELETE_RATIO: f64 = 1.0;
}
