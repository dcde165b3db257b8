//! Every reason a condition or Event of ours carries, in one list. TiDB Operator's where it
//! has one (alerts and runbooks match them), CamelCase words of our own otherwise.

// Backups: conditions.
pub const INVALID_SPEC: &str = "InvalidSpec";
pub const SPEC_CORRECTED: &str = "SpecCorrected";
pub const TIDB_CLUSTER_NOT_FOUND: &str = "TidbClusterNotFound";
pub const TIDB_CLUSTER_NOT_READY: &str = "TidbClusterNotReady";
pub const GET_TIDB_SECRET_FAILED: &str = "GetTidbSecretFailed";
pub const TIDB_KEY_NOT_EXIST: &str = "KeyNotExist";
pub const GET_S3_SECRET_FAILED: &str = "GetS3SecretFailed";
pub const S3_KEY_NOT_EXIST: &str = "s3KeyNotExist";
pub const JOB_CREATED: &str = "JobCreated";
pub const RETRY_FAILED_BACKUP: &str = "RetryFailedBackup";
pub const BACKOFF_RETRY: &str = "BackoffRetry";
pub const ALREADY_FAILED: &str = "AlreadyFailed";
pub const NOTHING_TO_CLEAN: &str = "NothingToClean";
pub const CLEAN_JOB_CREATED: &str = "CleanJobCreated";
pub const CLEAN_JOB_FAILED: &str = "CleanJobFailed";
pub const CLEANED_BY_OPERATOR: &str = "CleanedByOperator";
pub const CLEAN_BACKUP_DATA_FAILED: &str = "CleanBackupDataFailed";
/// An object the API holds that cannot be read as its kind.
pub const INVALID_OBJECT: &str = "InvalidObject";

// Backups: Events.
pub const BACKUP_POD_LOST: &str = "BackupPodLost";
pub const RETRYING_BACKUP: &str = "RetryingBackup";
pub const WAITING_FOR_TIDB_CLUSTER: &str = "WaitingForTidbCluster";
pub const UNKNOWN_CLEAN_POLICY: &str = "UnknownCleanPolicy";
/// Allowed, but worth a word: a backup at a bucket root.
pub const SPEC_WARNING: &str = "SpecWarning";
pub const STOPPING_BACKUP: &str = "StoppingBackupJob";
pub const CLEAN_FAILED: &str = "CleanFailed";
pub const BACKUP_DATA_KEPT: &str = "BackupDataKept";
pub const BACKUP_DATA_DELETED: &str = "BackupDataDeleted";
pub const GC_LIFE_TIME_RESTORED: &str = "GcLifeTimeRestored";
pub const GC_LIFE_TIME_NOT_RESTORED: &str = "GcLifeTimeNotRestored";
pub const GC_LIFE_TIME_HANDED_OVER: &str = "GcLifeTimeHandedOver";

// Objects created and deleted, by any controller (Kubernetes' own words).
pub const SUCCESSFUL_CREATE: &str = "SuccessfulCreate";
pub const SUCCESSFUL_DELETE: &str = "SuccessfulDelete";
pub const FAILED_CREATE: &str = "FailedCreate";
pub const FAILED_DELETE: &str = "FailedDelete";

// Schedules: conditions and Events.
pub const INVALID_SCHEDULE: &str = "InvalidSchedule";
pub const INVALID_TEMPLATE: &str = "InvalidTemplate";
pub const NAME_TOO_LONG: &str = "NameTooLong";
pub const NO_UID: &str = "NoUid";
pub const INVALID_MAX_RESERVED_TIME: &str = "InvalidMaxReservedTime";
pub const INVALID_MAX_BACKUPS: &str = "InvalidMaxBackups";
pub const VALID: &str = "Valid";
pub const PAUSED: &str = "Paused";
pub const ACTIVE: &str = "Active";
pub const NOT_BLOCKED: &str = "NotBlocked";
pub const WAITING_FOR_BACKUP: &str = "WaitingForBackup";
pub const PREDECESSOR_STUCK: &str = "PredecessorStuck";
/// A tick's Backup could not be created; the schedule retries.
pub const CREATE_FAILED: &str = "CreateFailed";
pub const TICK_NAME_TAKEN: &str = "TickNameTaken";
pub const MISSED_TICKS: &str = "MissedTicks";
pub const CLOCK_SKEW: &str = "ClockSkew";
pub const MAX_RESERVED_TIME: &str = "MaxReservedTime";
pub const MAX_BACKUPS: &str = "MaxBackups";
pub const KEEP_ALL: &str = "KeepAll";
pub const NEWEST_COMPLETE_KEPT: &str = "NewestCompleteKept";
/// Retention has more to delete than it deletes at once (one VolumeBackup at a time).
pub const RETENTION_BEHIND: &str = "RetentionBehind";
/// A field set where the API does not have it, honoured from there.
pub const MISPLACED_FIELD: &str = "MisplacedField";

// Volume-snapshot backups in a data plane (TiDB Operator's words where it has them).
pub const INITIALIZE_JOB_CREATED: &str = "InitializeJobCreated";
pub const INITIALIZE_JOB_DELETED: &str = "InitializeJobDeleted";
pub const INITIALIZE_JOB_COMPLETED_OR_FAILED: &str = "InitializeJobCompletedOrFailed";
/// The init Job was stopped on request, so GC and PD scheduling run again.
pub const GC_AND_SCHEDULING_RESUMED: &str = "GcAndSchedulingResumed";
/// The data plane's TiKV volumes could not be mapped to EBS volumes.
pub const COLLECT_VOLUMES_FAILED: &str = "CollectVolumesFailed";
/// The execute Job ended, or went away, without the agent reporting.
pub const BACKUP_JOB_LOST: &str = "BackupJobLost";
pub const VOLUME_BACKUP_TORN_DOWN: &str = "VolumeBackupTornDown";

// Written by the agent of a volume-snapshot backup.
/// BR could not pause GC and PD scheduling, or stopped holding the pause on its own.
pub const PAUSE_GC_AND_SCHEDULERS_FAILED: &str = "PauseGcAndSchedulersFailed";
/// The volume file the operator built is missing or unreadable in the pod.
pub const VOLUME_FILE_UNREADABLE: &str = "VolumeFileUnreadable";
/// Another backup's files are where this one would write (TiDB Operator's word).
pub const FILE_EXISTED_IN_EXTERNAL_STORAGE: &str = "FileExistedInExternalStorage";
/// BR failed, or what it wrote cannot be read (TiDB Operator's word).
pub const BACKUP_DATA_TO_REMOTE_FAILED: &str = "BackupDataToRemoteFailed";
/// A snapshot could not be tagged, or sized: the backup is fine, the record is not whole.
pub const SNAPSHOT_TAGS_NOT_SET: &str = "SnapshotTagsNotSet";
pub const SNAPSHOT_SIZE_UNKNOWN: &str = "SnapshotSizeUnknown";
/// Updating the Backup's status failed (TiDB Operator's word).
pub const UPDATE_STATUS_FAILED: &str = "UpdateStatusFailed";

// Federation manager: VolumeBackup conditions, member entries of its status, and Events.
/// TiDB's word for a VolumeBackup that failed because members did.
pub const VOLUME_BACKUP_MEMBER_FAILED: &str = "VolumeBackupMemberFailed";
pub const VOLUME_BACKUP_STARTED: &str = "VolumeBackupStarted";
/// Every member requested its snapshots and GC and PD scheduling run again.
pub const ALL_SNAPSHOTS_CREATED: &str = "AllSnapshotsCreated";
pub const ALL_MEMBERS_COMPLETE: &str = "AllMembersComplete";
/// A complete member has no commitTs, or one that is not a TSO: the backup has no point
/// a restore can be consistent at.
pub const MEMBER_COMMIT_TS_INVALID: &str = "MemberCommitTsInvalid";
/// A `k8sClusterName` that is no context of the federation kubeconfig.
pub const UNKNOWN_KUBERNETES_CLUSTER: &str = "UnknownKubernetesCluster";
pub const KUBERNETES_CLUSTER_UNREACHABLE: &str = "KubernetesClusterUnreachable";
/// A member Backup that existed is gone from its cluster.
pub const MEMBER_NOT_FOUND: &str = "MemberNotFound";
/// The member's name is taken by a Backup that is no federation member.
pub const MEMBER_NAME_TAKEN: &str = "MemberNameTaken";
/// The manager changed a member's phase or asked it to resume GC and PD scheduling.
pub const MEMBER_UPDATED: &str = "MemberUpdated";
pub const FAILED_UPDATE: &str = "FailedUpdate";
pub const MEMBERS_DELETED: &str = "MembersDeleted";
pub const MEMBER_CLEAN_FAILED: &str = "MemberCleanFailed";
/// A member left in place on deletion: its cluster is no context of the kubeconfig any more.
pub const MEMBER_DATA_KEPT: &str = "MemberDataKept";
