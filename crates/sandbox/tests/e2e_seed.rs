//! The seed document end to end, through the operator: its three ad-hoc Backups (static keys,
//! kube2iam, IRSA) applied as written (placeholders filled from the sandbox, each with its own
//! name and prefix) reach `Complete` with the Job, pod, BR command line, stored objects,
//! status, TiKV GC life time and credentials each variant calls for — and no secret value in
//! any log, process argument, Event or status.

mod support;

use k8s_openapi::api::core::v1::EnvVar;
use support::*;
use tibr_sandbox::demo::seed::Credentials;

fn env_var<'a>(env: &'a [EnvVar], name: &str) -> Option<&'a EnvVar> {
    env.iter().find(|e| e.name == name)
}

/// `(secret, key)` of a variable set from a Secret; fails if it has a literal value.
fn secret_ref(env: &[EnvVar], name: &str) -> Option<(String, String)> {
    let var = env_var(env, name)?;
    assert!(var.value.is_none(), "{name} must not carry a literal value");
    let r = var.value_from.as_ref()?.secret_key_ref.as_ref()?;
    Some((r.name.clone(), r.key.clone()))
}

#[tokio::test]
async fn the_seeds_three_credential_variants_complete_with_what_each_promises() {
    let env = Env::start().await;
    let watch = ProcessWatch::start();
    let tidb = &env.sandbox.tidb;
    env.seed_secrets(tidb.password()).await;

    for backup in env.seed_backups_on_sandbox_tidb() {
        let name = backup.name().unwrap();
        let suffix = backup.credentials.suffix();
        let prefix = format!("my-folder/{suffix}");
        if backup.credentials == Credentials::Irsa {
            // Annotated only now: a web identity in the pod would take precedence over
            // kube2iam's instance metadata, and the kube2iam run would prove nothing.
            env.annotate_service_account_for_irsa().await;
        }
        let statements_before = tidb.statements().len();
        env.apply(&backup.yaml).await;
        let b = env.wait_phase(&name, "Complete", 90).await;
        let pod_logs = env.pod_logs();

        // The Job the operator wrote: the agent image, the seed's ServiceAccount, every
        // Backup annotation on the pod template, credentials only by reference.
        let job = env.job(&format!("backup-{name}")).await.expect("the Job");
        let template = job.spec.as_ref().unwrap().template.clone();
        let pod_spec = template.spec.clone().unwrap();
        assert_eq!(
            pod_spec.service_account_name.as_deref(),
            Some("tidb-backup-manager")
        );
        let main = &pod_spec.containers[0];
        assert!(
            main.image
                .as_deref()
                .unwrap()
                .starts_with("ghcr.io/tibr/tibr-agent:"),
            "{main:?}"
        );
        assert_eq!(
            main.args.as_deref().unwrap(),
            [
                "backup",
                "--namespace=test1",
                &format!("--backup-name={name}")
            ]
        );
        let init = &pod_spec.init_containers.as_ref().unwrap()[0];
        assert_eq!(init.image.as_deref(), Some("pingcap/br:v8.5.0"));
        let vars = main.env.clone().unwrap_or_default();
        assert_eq!(
            secret_ref(&vars, "BACKUP_MANAGER_PASSWORD"),
            Some((TIDB_SECRET.into(), "password".into()))
        );
        let annotations = template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.clone())
            .unwrap_or_default();
        let pods = env.pods_of(&format!("backup-{name}")).await;
        assert_eq!(pods.len(), 1, "one pod, no retry");
        let (_, pod_sa, pod_annotations) = pod_identity(&pods[0]);
        assert_eq!(pod_sa, "tidb-backup-manager");
        let pod_env: Vec<String> = pods[0].spec.as_ref().unwrap().containers[0]
            .env
            .iter()
            .flatten()
            .map(|e| e.name.clone())
            .collect();
        match backup.credentials {
            Credentials::StaticKeys => {
                assert_eq!(
                    secret_ref(&vars, "AWS_ACCESS_KEY_ID"),
                    Some((S3_SECRET.into(), "access_key".into()))
                );
                assert_eq!(
                    secret_ref(&vars, "AWS_SECRET_ACCESS_KEY"),
                    Some((S3_SECRET.into(), "secret_key".into()))
                );
                assert!(!annotations.contains_key("iam.amazonaws.com/role"));
            }
            Credentials::Kube2iam => {
                assert!(env_var(&vars, "AWS_ACCESS_KEY_ID").is_none());
                assert_eq!(
                    annotations
                        .get("iam.amazonaws.com/role")
                        .map(String::as_str),
                    Some(ROLE),
                    "the Backup's annotation is on the pod template"
                );
                assert_eq!(
                    pod_annotations
                        .get("iam.amazonaws.com/role")
                        .map(String::as_str),
                    Some(ROLE),
                    "and on the pod kube2iam looks at"
                );
                assert!(!pod_env.contains(&"AWS_ROLE_ARN".to_string()));
            }
            Credentials::Irsa => {
                assert!(env_var(&vars, "AWS_ACCESS_KEY_ID").is_none());
                assert!(
                    pod_env.contains(&"AWS_ROLE_ARN".to_string())
                        && pod_env.contains(&"AWS_WEB_IDENTITY_TOKEN_FILE".to_string()),
                    "the pod identity webhook acted on the annotated ServiceAccount: {pod_env:?}"
                );
            }
        }

        // Who wrote the objects: the sandbox key, or the role through kube2iam or STS.
        let principals = env.principals_under("my-bucket", &prefix);
        assert!(!principals.is_empty(), "nothing touched {prefix}");
        for p in &principals {
            match backup.credentials {
                Credentials::StaticKeys => assert_eq!(p, "user/sandbox"),
                Credentials::Kube2iam => assert!(
                    p.starts_with(&format!("assumed-role/user/test1-backup-{name}-")),
                    "{p}: kube2iam names the session after the pod"
                ),
                Credentials::Irsa => assert!(
                    p.starts_with("assumed-role/user/") && !p.contains(&format!("backup-{name}-")),
                    "{p}: a web identity session"
                ),
            }
        }

        // BR's command line, as BR logged the arguments it received.
        let arguments = pod_logs
            .lines()
            .find(|l| {
                l.contains("] [arguments] [")
                    && l.contains(&format!("[storage=s3://my-bucket/{prefix}]"))
            })
            .unwrap_or_else(|| panic!("BR logs its arguments for {prefix}:\n{pod_logs}"));
        for field in [
            "[__command=\"br backup full\"]",
            r#"[pd="[demo1-pd.test1:2379]"]"#,
            "[s3.region=us-west-1]",
            "[s3.provider=aws]",
            "[s3.storage-class=STANDARD_IA]",
        ] {
            assert!(arguments.contains(field), "{field} in {arguments}");
        }
        assert_eq!(
            arguments.contains("[send-credentials-to-tikv=false]"),
            backup.credentials != Credentials::StaticKeys,
            "the IAM variants say sendCredToTikv: false: {arguments}"
        );
        assert!(!arguments.contains("s3.acl"), "no ACL unless asked");

        // What BR wrote, and the status that reports it.
        let objects = env.objects("my-bucket", &prefix);
        assert!(
            objects.contains(&format!("{prefix}/backupmeta")),
            "{objects:?}"
        );
        assert!(objects.iter().any(|k| k.ends_with(".sst")), "{objects:?}");
        let s = b.status.clone().unwrap();
        assert_eq!(
            s.backup_path.as_deref(),
            Some(format!("s3://my-bucket/{prefix}").as_str())
        );
        let commit_ts: u64 = s.commit_ts.as_deref().unwrap().parse().unwrap();
        assert!(commit_ts > 400_000_000_000_000_000, "a TSO: {commit_ts}");
        assert!(s.backup_size.unwrap() > 0);
        assert!(s.backup_size_readable.as_deref().unwrap().ends_with('B'));
        assert!(s.time_started.is_some() && s.time_completed.is_some());
        assert!(tibr_core::duration::parse_go_duration(s.time_taken.as_deref().unwrap()).is_ok());
        assert!(
            s.progresses
                .iter()
                .any(|p| p.step.as_deref() == Some("Full Backup") && p.progress == Some(100.0)),
            "{:?}",
            s.progresses
        );

        // TiKV's GC life time: recorded, raised to 72h for the run, back to 10m0s after.
        let gc = s.gc_life_time.clone().expect("status.gcLifeTime");
        assert_eq!(
            (gc.original.as_str(), gc.raised_to.as_deref(), gc.restored),
            ("10m0s", Some("72h0m0s"), true)
        );
        let updates: Vec<String> = tidb.statements()[statements_before..]
            .iter()
            .filter(|st| st.sql.to_uppercase().starts_with("UPDATE"))
            .filter_map(|st| st.params.first().cloned().flatten())
            .collect();
        assert_eq!(updates, ["72h0m0s", "10m0s"], "raised, then restored");
        assert_eq!(tidb.gc_life_time(), "10m0s");
    }

    // The seed's `kubectl get bk -n test1 -o wide`.
    let list = env.backups().list(&Default::default()).await.unwrap();
    assert_eq!(list.items.len(), 3);

    // No secret value in any log, process argument, Event or status.
    let secrets = [
        env.sandbox.s3.secret_key.as_str(),
        env.sandbox.s3.access_key.as_str(),
        tidb.password(),
    ];
    assert_no_secrets("the operator's logs", &logs(), &secrets);
    assert_no_secrets("the pods' logs", &env.pod_logs(), &secrets);
    assert_no_secrets("the Events", &env.all_events_json().await, &secrets);
    assert_no_secrets(
        "the statuses",
        &serde_json::to_string(&list.items).unwrap(),
        &secrets,
    );
    let seen = watch.seen();
    assert!(
        seen.iter().any(|a| a[0].ends_with("/tibr-agent")),
        "the watch saw the agents run"
    );
    let argv: Vec<String> = seen.into_iter().map(|a| a.join(" ")).collect();
    assert_no_secrets("process arguments", &argv.join("\n"), &secrets);

    // The RBAC manifests allow every request the agent and the operator made.
    let (agent, operator) = assert_rbac_covers_what_ran(&env);
    assert!(agent >= 4 && operator >= 10, "{agent} {operator}");
    env.stop().await;
}

/// The seed's static-key Backup with TiDB's `from` filled from the sandbox, as JSON, renamed.
fn seed_static(env: &Env, name: &str, prefix: &str) -> serde_json::Value {
    let mut v = env.seed_backups_on_sandbox_tidb()[0].value().unwrap();
    v["metadata"]["name"] = serde_json::json!(name);
    v["spec"]["s3"]["prefix"] = serde_json::json!(prefix);
    v
}

#[tokio::test]
async fn an_invalid_backup_says_which_field_and_starts_nothing() {
    let env = Env::start().await;
    env.seed_secrets(env.sandbox.tidb.password()).await;
    // useKMS would hand TiDB ciphertext as the password; tibr refuses it up front.
    let mut v = seed_static(&env, "kms", "kms");
    v["spec"]["useKMS"] = serde_json::json!(true);
    v["spec"]["tikvGCLifeTime"] = serde_json::json!("3 days");
    env.create_backup(v).await;
    let b = env.wait_phase("kms", "Invalid", 30).await;
    let (status, reason, message) = condition(&b, "Invalid").unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("True", "InvalidSpec"));
    assert!(
        message.contains("spec.useKMS: KMS-encrypted credentials are not supported")
            && message.contains("spec.tikvGCLifeTime"),
        "{message}"
    );
    let events = env.events(Some("kms")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Warning InvalidSpec") && e.contains("spec.useKMS")),
        "{events:?}"
    );
    assert!(
        env.job("backup-kms").await.is_none(),
        "no Job for an invalid spec"
    );
    assert!(env.objects("my-bucket", "kms").is_empty());
    env.stop().await;
}

#[tokio::test]
async fn a_missing_secret_key_is_named_and_the_backup_completes_once_it_is_there() {
    let env = Env::start().await;
    let tidb = &env.sandbox.tidb;
    env.secret(
        TIDB_SECRET,
        serde_json::json!({"password": tidb.password()}),
    )
    .await;
    // The S3 Secret without its secret key.
    env.secret(
        S3_SECRET,
        serde_json::json!({"access_key": env.sandbox.s3.access_key}),
    )
    .await;
    env.create_backup(seed_static(&env, "waiting", "waiting"))
        .await;
    let b = env.wait_phase("waiting", "RetryFailed", 30).await;
    let (_, reason, message) = condition(&b, "RetryFailed").unwrap();
    assert_eq!(reason, "s3KeyNotExist");
    assert!(
        message.contains("Secret test1/s3-secret") && message.contains("no key secret_key"),
        "{message}"
    );
    assert!(env.job("backup-waiting").await.is_none());

    // Fixing the Secret wakes the Backup (no waiting for a resync).
    let patch = serde_json::json!({"stringData": {"secret_key": env.sandbox.s3.secret_key}});
    kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(env.client.clone(), NS)
        .patch(
            S3_SECRET,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    // Within half the 30 s requeue: only the Secret watch can have woken it.
    let b = env.wait_phase("waiting", "Complete", 15).await;
    assert_eq!(
        b.status.unwrap().backup_path.as_deref(),
        Some("s3://my-bucket/waiting")
    );
    assert!(
        env.objects("my-bucket", "waiting")
            .contains(&"waiting/backupmeta".to_string())
    );
    env.stop().await;
}
