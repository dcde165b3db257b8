//! The generated CRDs keep TiDB Operator's contract (names, fields, defaults, columns) and
//! add what we promise (status subresource, list-map conditions, descriptions).

mod support;

use serde_json::{Value, json};
use support::*;

fn property_names(schema: &Value, path: &str) -> Vec<String> {
    let mut names: Vec<String> = node(schema, path)["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{path} has no properties"))
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

#[test]
fn identity_matches_tidb_operator() {
    let expected = [
        ("backups", "pingcap.com", "Backup", "bk"),
        ("backupschedules", "pingcap.com", "BackupSchedule", "bks"),
        (
            "volumebackups",
            "federation.pingcap.com",
            "VolumeBackup",
            "vbk",
        ),
        (
            "volumebackupschedules",
            "federation.pingcap.com",
            "VolumeBackupSchedule",
            "vbks",
        ),
        ("tidbclusters", "pingcap.com", "TidbCluster", "tc"),
    ];
    let all = &*CRDS;
    assert_eq!(all.len(), expected.len());
    for ((plural, group, kind, short), crd) in expected.into_iter().zip(all) {
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some(format!("{plural}.{group}").as_str())
        );
        assert_eq!(crd.spec.group, group);
        assert_eq!(crd.spec.names.kind, kind);
        assert_eq!(crd.spec.names.plural, plural);
        assert_eq!(
            crd.spec.names.short_names.as_deref(),
            Some(&[short.to_string()][..])
        );
        assert_eq!(crd.spec.scope, "Namespaced");
        let versions: Vec<_> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(versions, ["v1alpha1"]);
    }
}

#[test]
fn status_subresource_on_ours_and_not_on_the_stand_in() {
    for crd in tibr_api::owned_crds() {
        let sub = crd.spec.versions[0].subresources.as_ref();
        assert!(
            sub.and_then(|s| s.status.as_ref()).is_some(),
            "{} lacks the status subresource",
            crd.spec.names.kind
        );
    }
    assert!(crd("tidbclusters").spec.versions[0].subresources.is_none());
}

fn columns(plural: &str) -> Vec<(String, String, String, i32)> {
    crd(plural).spec.versions[0]
        .additional_printer_columns
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.name, c.json_path, c.type_, c.priority.unwrap_or(0)))
        .collect()
}

fn cols(list: &[(&str, &str, &str, i32)]) -> Vec<(String, String, String, i32)> {
    list.iter()
        .map(|(n, p, t, prio)| (n.to_string(), p.to_string(), t.to_string(), *prio))
        .collect()
}

#[test]
fn printer_columns_are_tidb_operators() {
    assert_eq!(
        columns("backups"),
        cols(&[
            ("Type", ".spec.backupType", "string", 0),
            ("Mode", ".spec.backupMode", "string", 0),
            ("Status", ".status.phase", "string", 0),
            ("BackupPath", ".status.backupPath", "string", 0),
            ("BackupSize", ".status.backupSizeReadable", "string", 0),
            (
                "IncrementalBackupSize",
                ".status.incrementalBackupSizeReadable",
                "string",
                10
            ),
            ("CommitTS", ".status.commitTs", "string", 0),
            (
                "LogTruncateUntil",
                ".status.logSuccessTruncateUntil",
                "string",
                0
            ),
            ("Started", ".status.timeStarted", "date", 1),
            ("Completed", ".status.timeCompleted", "date", 1),
            ("TimeTaken", ".status.timeTaken", "string", 0),
            ("Age", ".metadata.creationTimestamp", "date", 0),
        ])
    );
    let schedule = cols(&[
        ("Schedule", ".spec.schedule", "string", 0),
        ("MaxBackups", ".spec.maxBackups", "integer", 0),
        ("MaxReservedTime", ".spec.maxReservedTime", "string", 0),
        ("LastBackup", ".status.lastBackup", "string", 1),
        ("LastBackupTime", ".status.lastBackupTime", "date", 1),
        // Ours: a string, since kubectl prints a future date as "<invalid>".
        ("NextBackupTime", ".status.nextBackupTime", "string", 1),
        ("Age", ".metadata.creationTimestamp", "date", 0),
    ]);
    assert_eq!(columns("backupschedules"), schedule);
    assert_eq!(columns("volumebackupschedules"), schedule);
    assert_eq!(
        columns("volumebackups"),
        cols(&[
            ("Status", ".status.phase", "string", 0),
            ("BackupSize", ".status.backupSizeReadable", "string", 0),
            ("CommitTS", ".status.commitTs", "string", 0),
            ("TimeTaken", ".status.timeTaken", "string", 0),
            ("Age", ".metadata.creationTimestamp", "date", 0),
        ])
    );
}

/// Property names of TiDB Operator's CRDs (release-1.x), level by level: ours must have
/// every one of them, spelled the same.
#[rustfmt::skip]
const TIDB_FIELDS: &[(&str, &str, &[&str])] = &[
    ("backups", "spec", &[
        "additionalVolumeMounts", "additionalVolumes", "affinity", "automountServiceAccountToken",
        "azblob", "backoffRetryPolicy", "backupMode", "backupType", "br", "calcSizeLevel",
        "cleanOption", "cleanPolicy", "commitTs", "dumpling", "env", "federalVolumeBackupPhase",
        "from", "gcs", "imagePullSecrets", "local", "logStop", "logSubcommand", "logTruncateUntil",
        "podSecurityContext", "priorityClassName", "resources", "resumeGcSchedule", "s3",
        "serviceAccount", "storageClassName", "storageSize", "tableFilter", "tikvGCLifeTime",
        "tolerations", "toolImage", "useKMS", "volumeAttributesClassName",
        "volumeBackupInitJobMaxActiveSeconds",
    ]),
    ("backups", "status", &[
        "backoffRetryStatus", "backupPath", "backupSize", "backupSizeReadable", "brOperations",
        "commitTs", "conditions", "incrementalBackupSize", "incrementalBackupSizeReadable",
        "logCheckpointTs", "logSubCommandStatuses", "logSuccessTruncateUntil", "phase",
        "progresses", "timeCompleted", "timeStarted", "timeSynced", "timeTaken",
    ]),
    ("backups", "spec.br", &[
        "checkRequirements", "checksum", "cluster", "clusterNamespace", "concurrency", "db",
        "logLevel", "onLine", "options", "rateLimit", "sendCredToTikv", "statusAddr", "table",
        "timeAgo",
    ]),
    ("backups", "spec.s3", &[
        "acl", "bucket", "endpoint", "forcePathStyle", "options", "path", "prefix", "provider",
        "region", "secretName", "sse", "storageClass",
    ]),
    ("backups", "spec.gcs", &[
        "bucket", "bucketAcl", "location", "objectAcl", "path", "prefix", "projectId",
        "secretName", "storageClass",
    ]),
    ("backups", "spec.azblob", &[
        "accessTier", "container", "path", "prefix", "sasToken", "secretName", "storageAccount",
    ]),
    ("backups", "spec.local", &["prefix", "volume", "volumeMount"]),
    ("backups", "spec.from", &["host", "port", "secretName", "tlsClientSecretName", "user"]),
    ("backups", "spec.cleanOption", &[
        "backoffEnabled", "batchConcurrency", "disableBatchConcurrency", "pageSize", "retryCount",
        "routineConcurrency", "snapshotsDeleteRatio",
    ]),
    ("backups", "spec.backoffRetryPolicy", &["maxRetryTimes", "minRetryDuration", "retryTimeout"]),
    ("backups", "spec.dumpling", &["options", "tableFilter"]),
    ("backups", "status.conditions.[]", &[
        "command", "lastTransitionTime", "message", "reason", "status", "type",
    ]),
    ("backups", "status.progresses.[]", &["lastTransitionTime", "progress", "step"]),
    ("backups", "status.brOperations.[]", &["command", "observedAt", "operationID", "startedAt"]),
    ("backups", "status.backoffRetryStatus.[]", &[
        "detectFailedAt", "expectedRetryAt", "originalReason", "realRetryAt", "retryNum",
        "retryReason",
    ]),
    ("backupschedules", "spec", &[
        "azblob", "backupTemplate", "br", "compactBackupTemplate", "compactInterval", "gcs",
        "imagePullSecrets", "local", "logBackupTemplate", "maxBackups", "maxReservedTime",
        "minCompactStartTs", "pause", "s3", "schedule", "storageClassName", "storageSize",
        "volumeAttributesClassName",
    ]),
    ("backupschedules", "status", &[
        "allBackupCleanTime", "lastBackup", "lastBackupTime", "lastCompact",
        "lastCompactExecutionTs", "lastCompactProgress", "logBackup", "logBackupStartTs",
    ]),
    ("backupschedules", "spec.compactBackupTemplate", &[
        "additionalVolumeMounts", "additionalVolumes", "affinity", "automountServiceAccountToken",
        "azblob", "br", "concurrency", "endTs", "env", "gcs", "imagePullSecrets", "local",
        "maxRetryTimes", "mode", "name", "physicalFileCacheCapacity", "podSecurityContext",
        "priorityClassName", "resources", "s3", "serviceAccount", "shardCount", "startTs",
        "tikvImage", "tolerations", "toolImage", "useKMS",
    ]),
    ("volumebackups", "", &["skipGC", "spec", "status"]),
    ("volumebackups", "spec", &["clusters", "template"]),
    ("volumebackups", "spec.clusters.[]", &["k8sClusterName", "tcName", "tcNamespace"]),
    ("volumebackups", "spec.template", &[
        "additionalVolumeMounts", "additionalVolumes", "automountServiceAccountToken", "azblob",
        "br", "calcSizeLevel", "cleanPolicy", "env", "gcs", "imagePullSecrets", "local",
        "priorityClassName", "resources", "s3", "serviceAccount", "snapshotsDeleteRatio",
        "tolerations", "toolImage", "volumeBackupInitJobMaxActiveSeconds",
    ]),
    ("volumebackups", "spec.template.br", &[
        "checkRequirements", "concurrency", "options", "sendCredToTikv",
    ]),
    ("volumebackups", "status", &[
        "backupSize", "backupSizeReadable", "backups", "commitTs", "conditions", "phase",
        "timeCompleted", "timeStarted", "timeTaken",
    ]),
    ("volumebackups", "status.backups.[]", &[
        "backupName", "backupPath", "backupSize", "commitTs", "k8sClusterName", "message", "phase",
        "reason", "tcName", "tcNamespace",
    ]),
    ("volumebackups", "status.conditions.[]", &[
        "lastTransitionTime", "message", "reason", "status", "type",
    ]),
    ("volumebackupschedules", "spec", &[
        "backupTemplate", "maxBackups", "maxReservedTime", "pause", "schedule",
    ]),
    ("volumebackupschedules", "status", &["allBackupCleanTime", "lastBackup", "lastBackupTime"]),
];

/// What we add, and only this: anything else new would be an undocumented divergence.
#[rustfmt::skip]
const OUR_ADDITIONS: &[(&str, &str, &[&str])] = &[
    ("backups", "status", &["gcLifeTime"]),
    ("backups", "status.conditions.[]", &["observedGeneration"]),
    ("backupschedules", "spec", &["serviceAccount"]),
    ("backupschedules", "status", &["conditions", "nextBackupTime"]),
    ("volumebackups", "spec.clusters.[]", &["backup"]),
    ("volumebackups", "spec.template.br", &["cleanPolicy", "resources"]),
    ("volumebackups", "status", &["pauseWindow", "timePaused", "timeResumed"]),
    ("volumebackups", "status.conditions.[]", &["observedGeneration"]),
    ("volumebackupschedules", "status", &["conditions", "nextBackupTime"]),
];

#[test]
fn every_tidb_field_is_there_and_ours_are_the_only_extras() {
    for (plural, path, tidb) in TIDB_FIELDS {
        let ours = property_names(&schema(plural), path);
        let additions = OUR_ADDITIONS
            .iter()
            .find(|(p, at, _)| p == plural && at == path)
            .map_or(&[][..], |(_, _, a)| *a);
        let mut expected: Vec<String> = tidb
            .iter()
            .chain(additions)
            .map(|s| s.to_string())
            .collect();
        expected.sort();
        assert_eq!(ours, expected, "{plural} {path}");
    }
}

#[test]
fn api_server_defaults_are_tidb_operators() {
    let backup = schema("backups");
    let expected = [
        ("spec.backupMode", json!("snapshot")),
        ("spec.cleanPolicy", json!("Retain")),
        ("spec.calcSizeLevel", json!("all")),
        ("spec.volumeBackupInitJobMaxActiveSeconds", json!(600)),
        ("spec.backoffRetryPolicy.minRetryDuration", json!("300s")),
        ("spec.backoffRetryPolicy.maxRetryTimes", json!(2)),
        ("spec.backoffRetryPolicy.retryTimeout", json!("30m")),
        ("spec.cleanOption.retryCount", json!(5)),
        ("spec.cleanOption.snapshotsDeleteRatio", json!(1)),
        // TiDB Operator gets the same effect by always writing the struct back.
        ("spec.backoffRetryPolicy", json!({})),
    ];
    for (path, default) in expected {
        assert_eq!(node(&backup, path)["default"], default, "backups {path}");
    }
    // The same template type inside schedules.
    let schedule = schema("backupschedules");
    assert_eq!(
        node(&schedule, "spec.backupTemplate.backupMode")["default"],
        "snapshot"
    );
    assert_eq!(
        node(&schedule, "spec.compactBackupTemplate.concurrency")["default"],
        4
    );
    assert_eq!(
        node(&schedule, "spec.compactBackupTemplate.maxRetryTimes")["default"],
        6
    );

    let vbk = schema("volumebackups");
    assert_eq!(node(&vbk, "skipGC")["default"], false);
    assert_eq!(node(&vbk, "spec.template.calcSizeLevel")["default"], "all");
    assert_eq!(
        node(&vbk, "spec.template.snapshotsDeleteRatio")["default"],
        1
    );
    assert_eq!(
        node(&vbk, "spec.template.volumeBackupInitJobMaxActiveSeconds")["default"],
        600
    );
    // TiDB's federation leaves the policy to the data plane's default.
    assert!(
        node(&vbk, "spec.template.cleanPolicy")
            .get("default")
            .is_none()
    );
    let vbks = schema("volumebackupschedules");
    assert_eq!(
        node(&vbks, "spec.backupTemplate.template.calcSizeLevel")["default"],
        "all"
    );
}

#[test]
fn closed_and_open_vocabularies() {
    let backup = schema("backups");
    // `""` is what a template renders for an unset value; TiDB Operator reads it as unset.
    assert_eq!(
        node(&backup, "spec.backupMode")["enum"],
        json!(["", "snapshot", "log", "volume-snapshot"])
    );
    assert_eq!(
        node(&backup, "spec.logSubcommand")["enum"],
        json!(["log-start", "log-stop", "log-pause"])
    );
    // TiDB Operator documents that any other clean policy retains the data: the API server
    // must let such values through.
    for path in [
        "spec.cleanPolicy",
        "spec.backupType",
        "spec.s3.provider",
        "status.phase",
    ] {
        assert!(
            node(&backup, path).get("enum").is_none(),
            "{path} must accept any string"
        );
    }
    let schedule = schema("backupschedules");
    assert_eq!(
        node(&schedule, "spec.compactBackupTemplate.mode")["enum"],
        json!(["", "sharded"])
    );
    assert!(
        node(&schema("volumebackups"), "spec.template.cleanPolicy")
            .get("enum")
            .is_none()
    );
}

#[test]
fn required_fields_are_tidb_operators() {
    let backup = schema("backups");
    for (path, required) in [
        ("spec.br", json!(["cluster"])),
        ("spec.s3", json!(["provider"])),
        ("spec.gcs", json!(["projectId"])),
        ("spec.from", json!(["host", "secretName"])),
        ("spec.local", json!(["volume", "volumeMount"])),
        ("status.conditions.[]", json!(["status", "type"])),
    ] {
        assert_eq!(node(&backup, path)["required"], required, "{path}");
    }
    assert_eq!(
        node(&schema("backupschedules"), "spec")["required"],
        json!(["backupTemplate", "schedule"])
    );
    assert_eq!(
        node(&schema("volumebackupschedules"), "spec")["required"],
        json!(["backupTemplate", "schedule"])
    );
    // logStop and logSubcommand exclude each other, as in TiDB's schema.
    let rules = node(&backup, "spec")["x-kubernetes-validations"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 2);
}

#[test]
fn conditions_are_list_maps_keyed_by_type() {
    for (plural, path) in [
        ("backups", "status.conditions"),
        ("backups", "status.logSubCommandStatuses"),
        ("volumebackups", "status.conditions"),
    ] {
        let schema = schema(plural);
        let mut n = node(&schema, path);
        if path.ends_with("Statuses") {
            n = &n["additionalProperties"]["properties"]["conditions"];
        }
        assert_eq!(n["x-kubernetes-list-type"], "map", "{plural} {path}");
        assert_eq!(
            n["x-kubernetes-list-map-keys"],
            json!(["type"]),
            "{plural} {path}"
        );
    }
}

/// Fields whose type comes from Kubernetes: their own description is ours, what is below
/// is left to the Kubernetes reference.
const UPSTREAM_FIELDS: &[&str] = &[
    "resources",
    "env",
    "tolerations",
    "affinity",
    "podSecurityContext",
    "imagePullSecrets",
    "additionalVolumes",
    "additionalVolumeMounts",
    "volume",
    "volumeMount",
];

fn undocumented(n: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(props) = n.get("properties").and_then(Value::as_object) {
        for (name, p) in props {
            let at = format!("{path}.{name}");
            if p.get("description")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                out.push(at.clone());
            }
            if !UPSTREAM_FIELDS.contains(&name.as_str()) {
                undocumented(p, &at, out);
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = n.get(key) {
            undocumented(child, path, out);
        }
    }
}

#[test]
fn every_field_is_documented() {
    for crd in CRDS.iter() {
        let plural = crd.spec.names.plural.clone();
        let mut missing = Vec::new();
        undocumented(&schema(&plural), "", &mut missing);
        assert!(
            missing.is_empty(),
            "{plural}: fields without description: {missing:?}"
        );
    }
    let s3_class = node(&schema("backups"), "spec.s3.storageClass")["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(s3_class.contains("STANDARD_IA"), "{s3_class}");
    assert!(
        !s3_class.contains('\n'),
        "descriptions are unwrapped: {s3_class:?}"
    );
}

#[test]
fn the_tidbcluster_stand_in_keeps_unknown_fields() {
    let tc = schema("tidbclusters");
    for path in [
        "spec",
        "spec.tikv",
        "spec.tidb.tlsClient",
        "status",
        "status.conditions.[]",
    ] {
        assert_eq!(
            node(&tc, path)["x-kubernetes-preserve-unknown-fields"],
            true,
            "{path}"
        );
    }
    assert_eq!(node(&tc, "spec.tikv.baseImage")["default"], "pingcap/tikv");
}

#[test]
fn each_crd_fits_in_kubectl_apply_annotation() {
    // Client-side `kubectl apply` stores the whole object in an annotation, and the API
    // server refuses more than 256 KiB of annotations. TiDB Operator's own schedules CRD is
    // past that; ours must not be.
    for crd in CRDS.iter() {
        let size = serde_json::to_vec(&crd).unwrap().len();
        assert!(
            size < 200 * 1024,
            "{} is {size} bytes",
            crd.spec.names.plural
        );
    }
}
