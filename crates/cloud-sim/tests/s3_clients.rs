//! The sandbox's S3 held to moto's by clients that are not ours: boto3 lists a prefix the
//! ways our clean, the AWS CLI and rclone do (pages, `/` delimiter, empty delimiter, resume
//! points) and both servers must answer alike; rclone lists, copies and deletes on both.
//! Needs moto (TIBR_TEST_MOTO_ENDPOINT, `./scripts/test` starts it), boto3 from `.venv` and
//! rclone (`./scripts/test` installs it); without them the tests fail.

use std::path::PathBuf;

use serde_json::Value;
use tibr_cloud_sim::s3::{REGION, S3Server};

const BUCKET: &str = "contract";

/// Keys whose byte order differs from a naive directory walk's (`a.txt` < `a/x` < `a0`).
const KEYS: &[&str] = &[
    "a.txt",
    "a/x",
    "a/y/z",
    "a0",
    "b/b1/1",
    "b/b1/2",
    "b/b10/1",
    "b/b1.keep",
    "c d+e",
];

struct Server {
    endpoint: String,
    key: String,
    secret: String,
}

fn moto() -> Server {
    let endpoint = std::env::var("TIBR_TEST_MOTO_ENDPOINT").expect(
        "TIBR_TEST_MOTO_ENDPOINT is not set: this test needs moto_server. Run ./scripts/test, or \
         start `.venv/bin/moto_server -H 127.0.0.1 -p PORT` and export the variable",
    );
    Server {
        endpoint,
        key: "testing".into(),
        secret: "testing".into(),
    }
}

async fn ours() -> (S3Server, Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(dir.path().join("s3"), 0).await.unwrap();
    s3.ensure_bucket(BUCKET).unwrap();
    let server = Server {
        endpoint: s3.endpoint(),
        key: s3.access_key.clone(),
        secret: s3.secret_key.clone(),
    };
    (s3, server, dir)
}

fn venv_python() -> PathBuf {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run ./scripts/test (it creates .venv with moto and boto3)",
        python.display()
    );
    python
}

const LISTINGS: &str = r#"
import json, os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["EP"], region_name=os.environ["REGION"],
                  aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"])
bucket, p = os.environ["BUCKET"], os.environ["P"]
try:
    s3.create_bucket(Bucket=bucket,
                     CreateBucketConfiguration={"LocationConstraint": os.environ["REGION"]})
except s3.exceptions.ClientError:
    pass
for k in json.loads(os.environ["KEYS"]):
    s3.put_object(Bucket=bucket, Key=p + k, Body=k.encode())
def keys(r):
    return ([o["Key"][len(p):] for o in r.get("Contents", [])],
            [c["Prefix"][len(p):] for c in r.get("CommonPrefixes", [])])
out = {}
pages, token = [], None
while True:
    kw = {"ContinuationToken": token} if token else {}
    r = s3.list_objects_v2(Bucket=bucket, Prefix=p, MaxKeys=2, **kw)
    pages.append(keys(r)[0])
    if not r["IsTruncated"]:
        break
    token = r["NextContinuationToken"]
out["pages"] = pages
out["slash"] = keys(s3.list_objects_v2(Bucket=bucket, Prefix=p, Delimiter="/"))
out["slash_b1"] = keys(s3.list_objects_v2(Bucket=bucket, Prefix=p + "b/b1", Delimiter="/"))
out["empty_delimiter"] = keys(s3.list_objects_v2(Bucket=bucket, Prefix=p, Delimiter=""))
out["start_after"] = keys(s3.list_objects_v2(Bucket=bucket, Prefix=p, StartAfter=p + "a/x"))
out["v1_marker"] = keys(s3.list_objects(Bucket=bucket, Prefix=p, Marker=p + "b/b1/1"))
out["url_encoded"] = keys(s3.list_objects_v2(Bucket=bucket, Prefix=p + "c", EncodingType="url"))
print(json.dumps(out))
"#;

async fn listings(server: &Server, prefix: &str) -> Value {
    let out = tokio::process::Command::new(venv_python())
        .args(["-c", LISTINGS])
        .env_clear()
        .env("EP", &server.endpoint)
        .env("REGION", REGION)
        .env("KEY", &server.key)
        .env("SECRET", &server.secret)
        .env("BUCKET", BUCKET)
        .env("P", prefix)
        .env("KEYS", serde_json::to_string(KEYS).unwrap())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 failed against {}: {}",
        server.endpoint,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn listings_answer_as_moto_does() {
    let prefix = format!("list-{}/", uuid::Uuid::new_v4().simple());
    let expected = listings(&moto(), &prefix).await;
    let (s3, server, _dir) = ours().await;
    let got = listings(&server, &prefix).await;
    s3.stop().await;
    assert_eq!(got, expected);
    // And moto's answers are the ones S3 gives (so the comparison can catch a shared error).
    let mut sorted: Vec<&str> = KEYS.to_vec();
    sorted.sort_unstable();
    let paged: Vec<String> = got["pages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p.as_array().unwrap().iter())
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paged, sorted);
    assert_eq!(
        got["slash"],
        serde_json::json!([["a.txt", "a0", "c d+e"], ["a/", "b/"]])
    );
    assert_eq!(
        got["slash_b1"],
        serde_json::json!([["b/b1.keep"], ["b/b1/", "b/b10/"]])
    );
    assert_eq!(
        got["empty_delimiter"][0].as_array().unwrap().len(),
        KEYS.len()
    );
    // Asked for explicitly, URL encoding comes back as sent (boto3 decodes only its own).
    assert_eq!(got["url_encoded"], serde_json::json!([["c%20d%2Be"], []]));
}

/// Runs rclone with a remote `t` on `server`, configured through the environment (never
/// arguments, where keys would be visible to every process).
async fn rclone(server: &Server, args: &[&str]) -> String {
    let out = tokio::process::Command::new("rclone")
        .args(args)
        .env_clear()
        // Without a home, rclone looks for a configuration file in the working directory.
        .env("RCLONE_CONFIG", "/dev/null")
        .env("RCLONE_CONFIG_T_TYPE", "s3")
        .env("RCLONE_CONFIG_T_PROVIDER", "Other")
        .env("RCLONE_CONFIG_T_ENDPOINT", &server.endpoint)
        .env("RCLONE_CONFIG_T_REGION", REGION)
        .env("RCLONE_CONFIG_T_ACCESS_KEY_ID", &server.key)
        .env("RCLONE_CONFIG_T_SECRET_ACCESS_KEY", &server.secret)
        .env("RCLONE_CONFIG_T_FORCE_PATH_STYLE", "true")
        .output()
        .await
        .expect("rclone is missing: ./scripts/test installs it (apt-get install rclone)");
    assert!(
        out.status.success(),
        "rclone {args:?} failed against {}: {}",
        server.endpoint,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn rclone_session(server: &Server, prefix: &str) -> Vec<String> {
    let src = tempfile::tempdir().unwrap();
    for key in KEYS {
        let path = src.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, key).unwrap();
    }
    let remote = format!("t:{BUCKET}/{prefix}");
    rclone(server, &["copy", src.path().to_str().unwrap(), &remote]).await;
    let all = rclone(server, &["lsf", "-R", "--files-only", &remote]).await;
    rclone(server, &["delete", &format!("{remote}b")]).await;
    let left = rclone(server, &["lsf", "-R", "--files-only", &remote]).await;
    vec![all, left]
}

#[tokio::test]
async fn rclone_copies_lists_and_deletes_as_on_moto() {
    let prefix = format!("rclone-{}/", uuid::Uuid::new_v4().simple());
    let on_moto = rclone_session(&moto(), &prefix).await;
    let (s3, server, _dir) = ours().await;
    let on_ours = rclone_session(&server, &prefix).await;
    s3.stop().await;
    assert_eq!(on_ours, on_moto);
    let mut sorted: Vec<&str> = KEYS.to_vec();
    sorted.sort_unstable();
    assert_eq!(on_ours[0].lines().collect::<Vec<_>>(), sorted);
    assert_eq!(
        on_ours[1].lines().collect::<Vec<_>>(),
        ["a.txt", "a/x", "a/y/z", "a0", "c d+e"]
    );
}
