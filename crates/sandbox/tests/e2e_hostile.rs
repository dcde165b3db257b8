//! Hostile specs against retained neighbours: every way a spec could make a backup write or
//! clean outside the path it names (`..` segments in the prefix or the bucket, a `?` in the
//! prefix, a `br.options` storage override) ends `Invalid` naming the field before anything
//! is written, and deleting it (policy `Delete`) touches nothing; a backup at the bucket
//! root runs with a warning and its clean deletes exactly what it wrote. The neighbours'
//! objects are counted before and after, and they still complete beside the hostile ones.

mod support;

use serde_json::{Value, json};
use support::*;

/// The seed's static-key Backup on the sandbox's TiDB, renamed, at `bucket`/`prefix`.
fn backup(env: &Env, name: &str, policy: &str, bucket: &str, prefix: &str) -> Value {
    let mut v = env.seed_backups_on_sandbox_tidb()[0].value().unwrap();
    v["metadata"]["name"] = json!(name);
    v["spec"]["s3"]["bucket"] = json!(bucket);
    v["spec"]["s3"]["prefix"] = json!(prefix);
    v["spec"]["cleanPolicy"] = json!(policy);
    v
}

/// Every object in the sandbox's buckets, as `bucket/key`.
fn all_objects(env: &Env, buckets: &[&str]) -> Vec<String> {
    buckets
        .iter()
        .flat_map(|b| {
            env.objects(b, "")
                .into_iter()
                .map(move |k| format!("{b}/{k}"))
        })
        .collect()
}

/// Waits for the Backup's `Invalid` condition and returns its message.
async fn invalid_message(env: &Env, name: &str) -> String {
    let b = env.wait_phase(name, "Invalid", 60).await;
    let status = b.status.unwrap();
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_.as_str() == "Invalid")
        .expect("an Invalid condition");
    c.message.clone().unwrap_or_default()
}

#[tokio::test]
async fn no_spec_makes_a_backup_write_or_clean_outside_its_own_path() {
    let env = Env::start().await;
    env.seed_secrets(env.sandbox.tidb.password()).await;
    env.sandbox.s3.ensure_bucket("safety").unwrap();

    // The neighbours: retained backups in the places the hostile specs aim at.
    let neighbours = [
        ("keep", "my-bucket", "keep"),
        ("par-a", "my-bucket", "par/a"),
        ("safety", "safety", "p"),
    ];
    for (name, bucket, prefix) in neighbours {
        env.create_backup(backup(&env, name, "Retain", bucket, prefix))
            .await;
    }
    for (name, _, _) in neighbours {
        env.wait_phase(name, "Complete", 90).await;
    }
    let before = all_objects(&env, &["my-bucket", "safety"]);
    for (name, bucket, prefix) in neighbours {
        assert!(
            !env.objects(bucket, prefix).is_empty(),
            "{name} wrote its backup"
        );
    }

    let hostile: Vec<(&str, Value, &str)> = vec![
        (
            "dotdot",
            backup(&env, "dotdot", "Delete", "my-bucket", "x/../keep"),
            "spec.s3.prefix: has a \"..\" segment",
        ),
        (
            "other-bucket",
            backup(&env, "other-bucket", "Delete", "my-bucket/../safety", "p"),
            "spec.s3.bucket: has a \"..\" segment",
        ),
        (
            "parent",
            backup(&env, "parent", "Delete", "my-bucket", "par/b/.."),
            "spec.s3.prefix: has a \"..\" segment",
        ),
        (
            "only-dots",
            backup(&env, "only-dots", "Delete", "my-bucket", ".."),
            "spec.s3.prefix: has a \"..\" segment",
        ),
        (
            "query",
            backup(&env, "query", "Delete", "my-bucket", "keep?versionId=1"),
            "spec.s3.prefix: holds '?'",
        ),
        (
            "bad-bucket",
            backup(&env, "bad-bucket", "Delete", "My_Bucket", "p"),
            "spec.s3.bucket: \"My_Bucket\" is not a valid S3 bucket name",
        ),
        ("option", option_override(&env), "spec.br.options[0]:"),
    ];
    for (_, spec, _) in &hostile {
        env.create_backup(spec.clone()).await;
    }
    for (name, _, field) in &hostile {
        let message = invalid_message(&env, name).await;
        assert!(message.contains(field), "{name}: {message}");
        let events = env.events(Some(name)).await;
        assert!(
            events
                .iter()
                .any(|e| e.starts_with("Warning") && e.contains(field)),
            "{name}: {events:?}"
        );
        let b = env.get(name).await.unwrap();
        let path = b.status.and_then(|s| s.backup_path).unwrap_or_default();
        assert_eq!(path, "", "{name} never had a path: nothing was written");
        assert!(env.job(&format!("backup-{name}")).await.is_none(), "{name}");
    }
    for (name, _, _) in &hostile {
        env.delete_backup(name).await;
    }
    for (name, _, _) in &hostile {
        env.wait_gone(name, 60).await;
    }
    assert_eq!(
        all_objects(&env, &["my-bucket", "safety"]),
        before,
        "no hostile Backup wrote or deleted anything"
    );
    for (name, _, _) in neighbours {
        let b = env.get(name).await.unwrap();
        assert_eq!(
            b.phase().map(|p| p.as_str().to_string()).as_deref(),
            Some("Complete")
        );
    }
    env.stop().await;
}

/// `br.options` that would point BR at a neighbour's prefix.
fn option_override(env: &Env) -> Value {
    let mut v = backup(env, "option", "Delete", "my-bucket", "own");
    v["spec"]["br"]["options"] = json!(["--storage=s3://my-bucket/keep"]);
    v
}

#[tokio::test]
async fn a_backup_at_the_bucket_root_cleans_only_what_it_wrote() {
    let env = Env::start().await;
    env.seed_secrets(env.sandbox.tidb.password()).await;
    env.create_backup(backup(&env, "keep", "Retain", "my-bucket", "keep"))
        .await;
    env.wait_phase("keep", "Complete", 90).await;
    std::fs::write(
        env.sandbox.s3.data_dir.join("my-bucket/unrelated.txt"),
        b"x",
    )
    .unwrap();
    let before = env.objects("my-bucket", "");

    env.create_backup(backup(&env, "root", "Delete", "my-bucket", ""))
        .await;
    let b = env.wait_phase("root", "Complete", 90).await;
    assert_eq!(
        b.status.and_then(|s| s.backup_path).as_deref(),
        Some("s3://my-bucket")
    );
    let events = env.events(Some("root")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Warning SpecWarning") && e.contains("spec.s3.prefix")),
        "{events:?}"
    );
    let written: Vec<String> = env
        .objects("my-bucket", "")
        .into_iter()
        .filter(|k| !before.contains(k))
        .collect();
    assert!(written.iter().any(|k| k == "backupmeta"), "{written:?}");

    env.delete_backup("root").await;
    env.wait_gone("root", 60).await;
    assert_eq!(
        env.objects("my-bucket", ""),
        before,
        "exactly what the root backup wrote is gone, nothing else"
    );
    // The clean says what it deleted, in an Event that outlives the Backup.
    let said = format!("deleted {} object(s) under s3://my-bucket ", written.len());
    let events = env.events(Some("root")).await;
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("Normal BackupDataCleaned") && e.contains(&said)),
        "{said}: {events:?}"
    );
    env.stop().await;
}
