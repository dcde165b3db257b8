//! The users' documents work against our CRDs as written: with the real kubectl, every
//! Backup, BackupSchedule, VolumeBackup and VolumeBackupSchedule of the two seed documents
//! applies unchanged (the emulator validates with `fieldValidation=Strict`, so an unknown or
//! mistyped field fails), nothing is pruned, `kubectl get -o wide` shows TiDB Operator's
//! columns, `kubectl explain` shows our descriptions, and wrong values are refused.

use tibr_api::seeds;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tibr_testkit::{Kubectl, TestCluster as Env, api_error};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// A cluster with our CRDs, namespaces `test1` and `test2`, and `backup-rbac.yaml` in both,
/// installed as the documents tell users to.
async fn cluster_with_crds() -> (Env, Kubectl) {
    let env = Env::start().await;
    let k = Kubectl::new(&env.cluster);
    let mut crds: Vec<PathBuf> = std::fs::read_dir(workspace().join("deploy/crds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    crds.sort();
    assert_eq!(crds.len(), 5, "{crds:?}");
    for crd in &crds {
        let out = k.ok(&["apply", "-f", &path_str(crd)]).await;
        assert!(out.contains("created"), "{out}");
    }
    let rbac = path_str(&workspace().join("deploy/backup-rbac.yaml"));
    for ns in ["test1", "test2"] {
        k.ok(&["create", "namespace", ns]).await;
        let out = k.ok(&["apply", "-f", &rbac, "-n", ns]).await;
        for object in [
            "serviceaccount/tidb-backup-manager created",
            "role.rbac.authorization.k8s.io/tidb-backup-manager created",
            "rolebinding.rbac.authorization.k8s.io/tidb-backup-manager created",
        ] {
            assert!(out.contains(object), "{out}");
        }
    }
    (env, k)
}

/// Whether everything in `want` is in `got` with the same value (`got` may have more, e.g.
/// defaults and metadata the server adds).
fn contains(got: &Value, want: &Value, at: &str, diffs: &mut Vec<String>) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (key, wv) in w {
                match g.get(key) {
                    Some(gv) => contains(gv, wv, &format!("{at}.{key}"), diffs),
                    None => diffs.push(format!("{at}.{key} is missing")),
                }
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                contains(gv, wv, &format!("{at}[{i}]"), diffs);
            }
        }
        _ if got == want => {}
        _ => diffs.push(format!("{at}: stored {got}, applied {want}")),
    }
}

const RESOURCES: &[(&str, &str)] = &[
    ("Backup", "backups.pingcap.com"),
    ("BackupSchedule", "backupschedules.pingcap.com"),
    ("VolumeBackup", "volumebackups.federation.pingcap.com"),
    (
        "VolumeBackupSchedule",
        "volumebackupschedules.federation.pingcap.com",
    ),
];

#[tokio::test]
async fn every_seed_manifest_applies_unchanged_and_nothing_is_pruned() {
    let (_env, k) = cluster_with_crds().await;
    let manifests = seeds::manifests(&seeds::seeds_dir());
    assert_eq!(manifests.len(), 10);
    for (i, block) in manifests.iter().enumerate() {
        let file = k.write(&format!("seed-{i}.yaml"), &block.text);
        // The VolumeBackups name no namespace; the documents apply them to the current one.
        let out = k
            .run(&["apply", "--validate=strict", "-n", "test1", "-f", &file])
            .await;
        assert!(
            out.ok,
            "{block} was refused:\n{}\n{}",
            out.stderr, block.text
        );
        assert!(
            out.stdout.contains(" created") || out.stdout.contains(" configured"),
            "{block}: {}",
            out.stdout
        );
        assert!(!out.stderr.contains("Warning"), "{block}: {}", out.stderr);

        let applied = seeds::without_nulls(&block.value());
        let kind = applied["kind"].as_str().unwrap();
        let resource = RESOURCES.iter().find(|(k, _)| *k == kind).unwrap().1;
        let name = applied["metadata"]["name"].as_str().unwrap();
        let stored: Value = serde_json::from_str(
            &k.ok(&["get", resource, name, "-n", "test1", "-o", "json"])
                .await,
        )
        .unwrap();
        let mut diffs = Vec::new();
        contains(&stored["spec"], &applied["spec"], "spec", &mut diffs);
        if let Some(skip_gc) = applied.get("skipGC") {
            contains(&stored["skipGC"], skip_gc, "skipGC", &mut diffs);
        }
        assert!(
            diffs.is_empty(),
            "{block}: the server changed it: {diffs:#?}"
        );
    }
}

#[tokio::test]
async fn schema_defaults_are_tidb_operators() {
    let (_env, k) = cluster_with_crds().await;
    let backup = seeds::manifests(&seeds::seeds_dir())
        .into_iter()
        .find(|b| b.kind().as_deref() == Some("Backup"))
        .unwrap();
    let file = k.write("backup.yaml", &backup.text);
    k.ok(&["apply", "-f", &file]).await;
    let spec: Value = serde_json::from_str(
        &k.ok(&[
            "get",
            "bk",
            "demo1-backup-s3",
            "-n",
            "test1",
            "-o",
            "jsonpath={.spec}",
        ])
        .await,
    )
    .unwrap();
    assert_eq!(spec["backupMode"], "snapshot");
    assert_eq!(spec["cleanPolicy"], "Retain");
    assert_eq!(spec["calcSizeLevel"], "all");
    assert_eq!(spec["volumeBackupInitJobMaxActiveSeconds"], 600);
    assert_eq!(
        spec["backoffRetryPolicy"],
        json!({"minRetryDuration": "300s", "maxRetryTimes": 2, "retryTimeout": "30m"})
    );
    assert!(
        spec.get("cleanOption").is_none(),
        "no defaults without the parent"
    );
}

fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// The cells of kubectl's table, cut at the header's column starts (empty cells are blank,
/// which splitting on whitespace would lose).
fn cells(table: &str) -> Vec<Vec<(String, String)>> {
    let mut lines = table.lines();
    let header = lines.next().unwrap();
    let mut starts: Vec<(usize, &str)> = Vec::new();
    let mut at = 0;
    for name in header.split_whitespace() {
        let start = at + header[at..].find(name).unwrap();
        starts.push((start, name));
        at = start + name.len();
    }
    lines
        .map(|line| {
            starts
                .iter()
                .enumerate()
                .map(|(i, (start, name))| {
                    let end = starts.get(i + 1).map_or(line.len(), |(s, _)| *s);
                    let cell = line.get(*start..end.min(line.len())).unwrap_or("");
                    (name.to_string(), cell.trim().to_string())
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn get_wide_shows_tidb_operators_columns() {
    let (_env, k) = cluster_with_crds().await;
    let manifests = seeds::manifests(&seeds::seeds_dir());
    for kind in ["Backup", "BackupSchedule"] {
        let block = manifests
            .iter()
            .find(|b| b.kind().as_deref() == Some(kind))
            .unwrap();
        k.ok(&["apply", "-f", &k.write("m.yaml", &block.text)])
            .await;
    }
    k.ok(&[
        "patch",
        "bk",
        "demo1-backup-s3",
        "-n",
        "test1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Complete","backupPath":"s3://my-bucket/my-folder","backupSizeReadable":"12MB","commitTs":"420134118382108673","timeTaken":"5m3s"}}"#,
    ])
    .await;

    let table = rows(&k.ok(&["get", "bk", "-n", "test1", "-o", "wide"]).await);
    assert_eq!(
        table[0],
        [
            "NAME",
            "TYPE",
            "MODE",
            "STATUS",
            "BACKUPPATH",
            "BACKUPSIZE",
            "INCREMENTALBACKUPSIZE",
            "COMMITTS",
            "LOGTRUNCATEUNTIL",
            "STARTED",
            "COMPLETED",
            "TIMETAKEN",
            "AGE",
        ]
    );
    let row = &cells(&k.ok(&["get", "bk", "-n", "test1", "-o", "wide"]).await)[0];
    let expected = [
        ("NAME", "demo1-backup-s3"),
        ("TYPE", "full"),
        ("MODE", "snapshot"),
        ("STATUS", "Complete"),
        ("BACKUPPATH", "s3://my-bucket/my-folder"),
        ("BACKUPSIZE", "12MB"),
        ("INCREMENTALBACKUPSIZE", ""),
        ("COMMITTS", "420134118382108673"),
        ("LOGTRUNCATEUNTIL", ""),
        ("STARTED", ""),
        ("COMPLETED", ""),
        ("TIMETAKEN", "5m3s"),
    ];
    for (i, (column, value)) in expected.iter().enumerate() {
        assert_eq!((row[i].0.as_str(), row[i].1.as_str()), (*column, *value));
    }

    let narrow = rows(&k.ok(&["get", "bk", "-n", "test1"]).await);
    assert!(!narrow[0].contains(&"STARTED".to_string()), "{narrow:?}");
    assert!(!narrow[0].contains(&"INCREMENTALBACKUPSIZE".to_string()));

    let schedules = rows(&k.ok(&["get", "bks", "-n", "test1", "-o", "wide"]).await);
    assert_eq!(
        schedules[0],
        [
            "NAME",
            "SCHEDULE",
            "MAXBACKUPS",
            "MAXRESERVEDTIME",
            "LASTBACKUP",
            "LASTBACKUPTIME",
            "NEXTBACKUPTIME",
            "AGE"
        ]
    );
    assert_eq!(
        schedules[1][..4],
        ["demo1-backup-schedule-s3", "*/2", "*", "*"]
    );
}

#[tokio::test]
async fn explain_prints_our_descriptions() {
    let (_env, k) = cluster_with_crds().await;
    let br = k.ok(&["explain", "backup.spec.br"]).await;
    assert!(
        br.contains("BR settings, including the TidbCluster to back up"),
        "{br}"
    );
    assert!(
        br.contains("sendCredToTikv") && br.contains("cluster"),
        "{br}"
    );
    let class = k.ok(&["explain", "backup.spec.s3.storageClass"]).await;
    assert!(
        class.contains("Storage class of the objects written"),
        "{class}"
    );
    let vbk = k.ok(&["explain", "vbk.skipGC"]).await;
    assert!(vbk.contains("retention"), "{vbk}");
}

#[tokio::test]
async fn wrong_values_are_refused_with_the_field() {
    let (_env, k) = cluster_with_crds().await;
    let bad_mode = k.write(
        "bad-mode.yaml",
        "apiVersion: pingcap.com/v1alpha1\nkind: Backup\nmetadata: {name: bad, namespace: test1}\nspec:\n  backupMode: hourly\n  br: {cluster: demo1}\n",
    );
    let out = k.run(&["apply", "-f", &bad_mode]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("is invalid"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(r#"spec.backupMode: Unsupported value: "hourly""#),
        "{}",
        out.stderr
    );

    let misspelled = k.write(
        "misspelled.yaml",
        "apiVersion: pingcap.com/v1alpha1\nkind: Backup\nmetadata: {name: bad, namespace: test1}\nspec:\n  bakupType: full\n  br: {cluster: demo1}\n",
    );
    let out = k.run(&["apply", "-f", &misspelled]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains(r#"unknown field "spec.bakupType""#),
        "{}",
        out.stderr
    );

    let no_cluster = k.write(
        "no-cluster.yaml",
        "apiVersion: pingcap.com/v1alpha1\nkind: Backup\nmetadata: {name: bad, namespace: test1}\nspec:\n  br: {clusterNamespace: test1}\n",
    );
    let out = k.run(&["apply", "-f", &no_cluster]).await;
    assert!(
        out.stderr.contains("spec.br.cluster: Required value"),
        "{}",
        out.stderr
    );

    // TiDB Operator's documents promise that an unknown clean policy retains the data: the
    // API server lets it through.
    let odd_policy = k.write(
        "odd-policy.yaml",
        "apiVersion: pingcap.com/v1alpha1\nkind: Backup\nmetadata: {name: odd, namespace: test1}\nspec:\n  cleanPolicy: Whatever\n  br: {cluster: demo1}\n",
    );
    k.ok(&["apply", "-f", &odd_policy]).await;
    assert_eq!(
        k.ok(&[
            "get",
            "bk",
            "odd",
            "-n",
            "test1",
            "-o",
            "jsonpath={.spec.cleanPolicy}"
        ])
        .await,
        "Whatever"
    );
}

#[tokio::test]
async fn integers_out_of_their_range_are_refused_with_the_field() {
    let (env, k) = cluster_with_crds().await;
    let backups: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        env.client.clone(),
        "test1",
        &kube::api::ApiResource::erase::<tibr_api::Backup>(&()),
    );
    let with_spec = |name: &str, spec: Value| -> kube::api::DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
            "metadata": {"name": name},
            "spec": spec,
        }))
        .unwrap()
    };
    let create = |b: kube::api::DynamicObject| {
        let backups = backups.clone();
        async move { backups.create(&kube::api::PostParams::default(), &b).await }
    };
    // Stored, these would stop the operator from reading the Backup.
    for (name, spec, field) in [
        (
            "concurrency",
            json!({"br": {"cluster": "demo1", "concurrency": 99_999_999_999u64}}),
            "spec.br.concurrency",
        ),
        (
            "port",
            json!({"br": {"cluster": "demo1"},
                   "from": {"host": "tidb", "secretName": "s", "port": 1_099_511_627_776u64}}),
            "spec.from.port",
        ),
        (
            "negative",
            json!({"br": {"cluster": "demo1"}, "cleanOption": {"pageSize": -1}}),
            "spec.cleanOption.pageSize",
        ),
    ] {
        let status = api_error(create(with_spec(name, spec)).await);
        assert_eq!(status.code, 422, "{name}: {status:?}");
        let causes = status.details.unwrap().causes;
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].field, field);
        assert_eq!(causes[0].reason, "FieldValueInvalid");
    }
    // The largest values of the types still go in, and so does a mode left empty by a
    // template, which means snapshot.
    create(with_spec(
        "largest",
        json!({"br": {"cluster": "demo1", "concurrency": 4_294_967_295u64},
               "from": {"host": "tidb", "secretName": "s", "port": 2_147_483_647},
               "backupMode": ""}),
    ))
    .await
    .unwrap();

    // What a user sees.
    let huge = k.write(
        "huge.yaml",
        "apiVersion: pingcap.com/v1alpha1\nkind: Backup\nmetadata: {name: huge, namespace: test1}\nspec:\n  br: {cluster: demo1, concurrency: 99999999999}\n",
    );
    let out = k.run(&["apply", "-f", &huge]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains(
            "spec.br.concurrency: Invalid value: 99999999999: spec.br.concurrency in body \
             should be less than or equal to 4294967295"
        ),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn a_full_tidbcluster_manifest_applies_to_the_stand_in() {
    let (_env, k) = cluster_with_crds().await;
    let tc = k.write(
        "tc.yaml",
        r#"apiVersion: pingcap.com/v1alpha1
kind: TidbCluster
metadata:
  name: demo1
  namespace: test1
spec:
  version: v8.5.0
  timezone: UTC
  pvReclaimPolicy: Retain
  configUpdateStrategy: RollingUpdate
  pd:
    baseImage: pingcap/pd
    replicas: 3
    requests: {storage: "10Gi"}
    config: {}
  tikv:
    baseImage: pingcap/tikv
    replicas: 3
    requests: {storage: "100Gi"}
    annotations:
      iam.amazonaws.com/role: arn:aws:iam::123456789012:role/user
  tidb:
    baseImage: pingcap/tidb
    replicas: 2
    service: {type: ClusterIP}
    tlsClient: {enabled: false}
status:
  clusterID: "7300000000000000000"
  tikv:
    image: pingcap/tikv:v8.5.0
    statefulSet: {readyReplicas: 3}
  conditions:
  - type: Ready
    status: "True"
    reason: Ready
    message: TiDB cluster is fully up and running
"#,
    );
    k.ok(&["apply", "--validate=strict", "-f", &tc]).await;
    let stored: Value = serde_json::from_str(
        &k.ok(&["get", "tc", "demo1", "-n", "test1", "-o", "json"])
            .await,
    )
    .unwrap();
    assert_eq!(stored["spec"]["pd"]["requests"]["storage"], "10Gi");
    assert_eq!(
        stored["spec"]["tikv"]["annotations"]["iam.amazonaws.com/role"],
        "arn:aws:iam::123456789012:role/user"
    );
    assert_eq!(stored["status"]["tikv"]["statefulSet"]["readyReplicas"], 3);
    let table = rows(&k.ok(&["get", "tc", "-n", "test1"]).await);
    assert_eq!(table[0], ["NAME", "READY", "TIKV", "AGE"]);
    assert_eq!(table[1][..3], ["demo1", "True", "pingcap/tikv:v8.5.0"]);
}
