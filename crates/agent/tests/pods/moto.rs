//! The objects BR writes for a Backup, checked on moto, which keeps storage classes and ACLs
//! as S3 does (the sandbox's own S3 does not). The agent runs as a Job pod in the sandbox;
//! the Backup names moto as its endpoint. Needs `TIBR_TEST_MOTO_ENDPOINT` (`./scripts/test`).

use crate::support::*;
use serde_json::{Value, json};
use tibr_api::BackupConditionType;
use tibr_storage::testing::Moto;

fn spec(moto: &Moto, bucket: &str, prefix: &str, extra: Value) -> Value {
    let mut s3 = json!({"provider": "aws", "secretName": S3_SECRET, "region": "us-east-1",
                        "bucket": bucket, "prefix": prefix, "endpoint": moto.endpoint});
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            s3[k] = v;
        }
    }
    json!({"backupType": "full", "br": {"cluster": "demo1"}, "s3": s3})
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub async fn brs_objects_get_standard_ia_by_default_and_the_acl_only_when_asked() {
    let (moto, bucket) = Moto::with_bucket("agent").await;
    let env = Env::start().await;
    env.secrets("unused", Moto::ACCESS_KEY, Moto::SECRET_KEY)
        .await;
    env.create_backup("defaults", spec(&moto, &bucket, "defaults", json!({})))
        .await;
    env.create_backup(
        "explicit",
        spec(
            &moto,
            &bucket,
            "explicit",
            json!({"acl": "public-read", "storageClass": "ONEZONE_IA"}),
        ),
    )
    .await;
    for name in ["defaults", "explicit"] {
        let mut job_env = operator_env(false, true, "us-east-1");
        job_env.extend(vars(&[
            ("BR_SIM_DATA_BYTES", "256KiB"),
            ("BR_SIM_REGION_BYTES", "64KiB"),
        ]));
        env.create_job(backup_job(name, job_env)).await;
    }
    for name in ["defaults", "explicit"] {
        let job = format!("backup-{name}");
        assert!(env.wait_job(&job, 90).await, "{}", env.job_logs(&job).await);
        let b = env.backup(name).await;
        let s = b.status.unwrap();
        assert_eq!(s.phase, Some(BackupConditionType::Complete));
        assert_eq!(
            s.backup_path.as_deref(),
            Some(format!("s3://{bucket}/{name}").as_str())
        );
        assert!(s.commit_ts.is_some());
    }

    // The documented default for provider aws, which TiDB Operator never passed to BR.
    let head = moto.head(&bucket, "defaults/backupmeta").await;
    assert_eq!(header(&head, "x-amz-storage-class"), Some("STANDARD_IA"));
    let acl = moto.object_acl(&bucket, "defaults/backupmeta").await;
    assert!(!acl.contains("AllUsers"), "private by default: {acl}");

    let head = moto.head(&bucket, "explicit/backupmeta").await;
    assert_eq!(header(&head, "x-amz-storage-class"), Some("ONEZONE_IA"));
    let acl = moto.object_acl(&bucket, "explicit/backupmeta").await;
    assert!(acl.contains("AllUsers"), "public-read as asked: {acl}");
    env.stop().await;
}
