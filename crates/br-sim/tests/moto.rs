//! `--s3.storage-class` and `--s3.acl` reach storage (moto keeps both, as AWS does), and BR
//! applies no AWS default of its own. Needs the moto_server `./scripts/test` starts.

use tibr_storage::backupmeta::{self, RetryPolicy};
use tibr_storage::testing::Moto;

async fn br(moto: &Moto, args: &[&str]) -> std::process::Output {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_br"))
        .args(args)
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", Moto::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", Moto::SECRET_KEY)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("BR_LOG_TO_TERM", "1")
        .env("BR_SIM_DATA_BYTES", "256KiB")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn storage_class_and_acl_flags_reach_s3() {
    let (moto, bucket) = Moto::with_bucket("brsim").await;
    br(
        &moto,
        &[
            "backup",
            "full",
            "--pd=pd:2379",
            &format!("--storage=s3://{bucket}/flags"),
            "--s3.provider=aws",
            "--s3.region=us-east-1",
            "--s3.storage-class=STANDARD_IA",
            "--s3.acl=public-read",
        ],
    )
    .await;
    let store = moto.store(&moto.target(&bucket, "flags"));
    let contents = backupmeta::read_backup_contents(&store, "flags", &RetryPolicy::default())
        .await
        .unwrap();
    let sst = format!("flags/{}", contents.data_files[0].name);
    for key in [sst.as_str(), "flags/backupmeta"] {
        let headers = moto.head(&bucket, key).await;
        assert_eq!(
            header(&headers, "x-amz-storage-class"),
            Some("STANDARD_IA"),
            "{key}"
        );
        let acl = moto.object_acl(&bucket, key).await;
        assert!(
            acl.contains("http://acs.amazonaws.com/groups/global/AllUsers"),
            "{acl}"
        );
    }

    // Without the flags BR sends neither: TiDB Operator's AWS defaults are not BR's.
    br(
        &moto,
        &[
            "backup",
            "full",
            "--pd=pd:2379",
            &format!("--storage=s3://{bucket}/plain"),
            "--s3.provider=aws",
        ],
    )
    .await;
    let headers = moto.head(&bucket, "plain/backupmeta").await;
    assert_eq!(header(&headers, "x-amz-storage-class"), None);
}
