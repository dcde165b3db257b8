//! The cloud emulators against third-party clients: the embedded S3's credential checks
//! with object_store (static and temporary keys, session tokens, expiry), the instance
//! metadata service with `curl` (IMDSv2 and v1, kube2iam's answers), STS with `curl`
//! (AWS's XML and errors), and the pod identity webhook and token audiences through
//! kube-rs.

use std::{path::PathBuf, sync::Arc, time::Duration};

use k8s_openapi::api::{
    authentication::v1::{TokenRequest, TokenRequestSpec},
    core::v1::{Namespace, Pod, ServiceAccount},
};
use kube::{Api, api::PostParams};
use kube_emulator::{ClusterOptions, RunningCluster, Tls, pod_identity::PodIdentityWebhook};
use object_store::{
    ClientOptions, ObjectStoreExt, PutPayload, aws::AmazonS3Builder, path::Path as ObjectPath,
};
use serde_json::{Value, json};
use tibr_cloud_sim::{
    cloud::{Cloud, CloudConfig, CredentialStore},
    s3::{REGION, S3Server},
};

struct World {
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
    cluster: RunningCluster,
    client: kube::Client,
    s3: S3Server,
    cloud: Cloud,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let tls = Tls::generate().unwrap();
    let mut options = ClusterOptions::new("t", dir.path().join("logs"));
    options.pod_identity_webhook = Some(PodIdentityWebhook::eks(REGION));
    let cluster = RunningCluster::start(options, &tls, 0).await.unwrap();
    let client = cluster.client().await.unwrap();
    let credentials = Arc::new(CredentialStore::default());
    let s3 = S3Server::start_with(dir.path().join("s3"), 0, credentials.clone(), None)
        .await
        .unwrap();
    s3.ensure_bucket("my-bucket").unwrap();
    let cloud = Cloud::start(
        CloudConfig::new(dir.path().join("cloud"), REGION),
        &tls,
        vec![cluster.cluster.clone()],
        credentials,
    )
    .await
    .unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &tls.ca_pem).unwrap();
    World {
        _dir: dir,
        ca_file,
        cluster,
        client,
        s3,
        cloud,
    }
}

/// object_store against the plain-HTTP S3 endpoint with explicit credentials.
fn store(w: &World, key: &str, secret: &str, token: Option<&str>) -> object_store::aws::AmazonS3 {
    let mut b = AmazonS3Builder::new()
        .with_endpoint(w.s3.endpoint())
        .with_bucket_name("my-bucket")
        .with_region("us-west-1")
        .with_access_key_id(key)
        .with_secret_access_key(secret)
        .with_client_options(ClientOptions::new().with_allow_http(true))
        .with_retry(object_store::RetryConfig {
            max_retries: 0,
            ..Default::default()
        });
    if let Some(t) = token {
        b = b.with_token(t);
    }
    b.build().unwrap()
}

async fn put(s: &object_store::aws::AmazonS3) -> Result<(), String> {
    s.put(
        &ObjectPath::from("my-folder/x"),
        PutPayload::from_static(b"x"),
    )
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[tokio::test]
async fn s3_accepts_every_credential_the_cloud_issues_and_nothing_else() {
    let w = world().await;
    put(&store(&w, &w.s3.access_key, &w.s3.secret_key, None))
        .await
        .expect("the static sandbox key works");
    let err = put(&store(&w, &w.s3.access_key, "wrong", None))
        .await
        .unwrap_err();
    assert!(err.contains("SignatureDoesNotMatch"), "{err}");
    let err = put(&store(&w, "AKIAUNKNOWN", "x", None)).await.unwrap_err();
    assert!(err.contains("InvalidAccessKeyId"), "{err}");

    let temp = w
        .cloud
        .credentials
        .issue("assumed-role/user/test", Duration::from_secs(2));
    let with_token = store(
        &w,
        &temp.access_key_id,
        &temp.secret_access_key,
        Some(&temp.session_token),
    );
    put(&with_token)
        .await
        .expect("temporary credentials work with their token");
    let err = put(&store(
        &w,
        &temp.access_key_id,
        &temp.secret_access_key,
        None,
    ))
    .await
    .unwrap_err();
    assert!(err.contains("InvalidToken"), "{err}");
    let err = put(&store(
        &w,
        &w.s3.access_key,
        &w.s3.secret_key,
        Some(&temp.session_token),
    ))
    .await
    .unwrap_err();
    assert!(
        err.contains("InvalidToken"),
        "a static key takes no token: {err}"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let err = put(&with_token).await.unwrap_err();
    assert!(err.contains("ExpiredToken"), "{err}");
    w.cloud.stop().await;
    w.s3.stop().await;
    w.cluster.stop().await;
}

/// As on S3, nothing is written to a bucket that was never created (s3s-fs alone would
/// create it on the first upload, hiding a misspelt bucket until the backup met AWS).
#[tokio::test]
async fn writes_to_a_bucket_that_does_not_exist_are_refused_like_s3() {
    let w = world().await;
    let missing = AmazonS3Builder::new()
        .with_endpoint(w.s3.endpoint())
        .with_bucket_name("no-such-bucket")
        .with_region("us-west-1")
        .with_access_key_id(&w.s3.access_key)
        .with_secret_access_key(&w.s3.secret_key)
        .with_client_options(ClientOptions::new().with_allow_http(true))
        .build()
        .unwrap();
    let err = put(&missing).await.unwrap_err();
    assert!(err.contains("NoSuchBucket"), "{err}");
    assert!(!w.s3.data_dir.join("no-such-bucket").exists());
    w.s3.ensure_bucket("no-such-bucket").unwrap();
    put(&missing).await.expect("the bucket exists now");
    w.cloud.stop().await;
    w.s3.stop().await;
    w.cluster.stop().await;
}

async fn curl(args: &[&str]) -> (u16, String) {
    assert!(
        std::path::Path::new("/usr/bin/curl").exists(),
        "curl is part of the machine image these tests are written for"
    );
    let out = tokio::process::Command::new("/usr/bin/curl")
        .args(["-sS", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .await
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("curl prints the status");
    (code.parse().unwrap_or(0), body.to_string())
}

#[tokio::test]
async fn instance_metadata_answers_as_kube2iam() {
    let w = world().await;
    let with_role = w
        .cloud
        .metadata
        .register("test1/backup", Some("arn:aws:iam::123456789012:role/user"));
    let base = &with_role.endpoint;

    // IMDSv2: a token first, then reads with it.
    let (code, token) = curl(&[
        "-X",
        "PUT",
        "-H",
        "X-aws-ec2-metadata-token-ttl-seconds: 60",
        &format!("{base}/latest/api/token"),
    ])
    .await;
    assert_eq!(code, 200);
    let header = format!("X-aws-ec2-metadata-token: {token}");
    let list = format!("{base}/latest/meta-data/iam/security-credentials/");
    let (code, role) = curl(&["-H", &header, &list]).await;
    assert_eq!((code, role.as_str()), (200, "user"));
    let (code, body) = curl(&["-H", &header, &format!("{list}user")]).await;
    assert_eq!(code, 200);
    let creds: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(creds["Code"], "Success");
    assert_eq!(creds["Type"], "AWS-HMAC");
    for field in [
        "AccessKeyId",
        "SecretAccessKey",
        "Token",
        "Expiration",
        "LastUpdated",
    ] {
        assert!(creds[field].is_string(), "{field} in {body}");
    }
    let s3 = store(
        &w,
        creds["AccessKeyId"].as_str().unwrap(),
        creds["SecretAccessKey"].as_str().unwrap(),
        Some(creds["Token"].as_str().unwrap()),
    );
    put(&s3).await.expect("role credentials reach S3");
    let principal = w
        .cloud
        .credentials
        .principal(creds["AccessKeyId"].as_str().unwrap());
    assert_eq!(
        principal.as_deref(),
        Some("assumed-role/user/test1-backup-user")
    );

    // IMDSv1 works too; a bad token is 401; a token request needs its TTL header.
    let (code, _) = curl(&[&list]).await;
    assert_eq!(code, 200);
    let (code, _) = curl(&["-H", "X-aws-ec2-metadata-token: nope", &list]).await;
    assert_eq!(code, 401);
    let (code, _) = curl(&["-X", "PUT", &format!("{base}/latest/api/token")]).await;
    assert_eq!(code, 400);
    // Another role than the pod's is refused.
    let (code, body) = curl(&[&format!("{list}admin")]).await;
    assert_eq!((code, body.trim()), (403, "Invalid role admin"));

    // A pod without the annotation has no role: kube2iam's 404.
    let without = w.cloud.metadata.register("test1/plain", None);
    let (code, body) = curl(&[&format!(
        "{}/latest/meta-data/iam/security-credentials/",
        without.endpoint
    )])
    .await;
    assert_eq!(code, 404);
    assert!(body.contains("unable to find role"), "{body}");

    // A pod that is gone (its registration dropped) has no endpoint any more.
    let gone = with_role.endpoint.clone();
    drop(with_role);
    let (code, _) = curl(&[&format!(
        "{gone}/latest/meta-data/iam/security-credentials/"
    )])
    .await;
    assert_eq!(code, 404);
    w.cloud.stop().await;
    w.s3.stop().await;
    w.cluster.stop().await;
}

async fn sts_token(client: &kube::Client, ns: &str, sa: &str, audience: Option<&str>) -> String {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let req = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: audience.map(|a| vec![a.to_string()]),
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    api.create_token_request(sa, &PostParams::default(), &req)
        .await
        .unwrap()
        .status
        .unwrap()
        .token
        .expect("a token")
}

async fn setup_service_account(client: &kube::Client, role: &str) {
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "test1"}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {
        "name": "tidb-backup-manager",
        "annotations": {"eks.amazonaws.com/role-arn": role}
    }}))
    .unwrap();
    Api::<ServiceAccount>::namespaced(client.clone(), "test1")
        .create(&PostParams::default(), &sa)
        .await
        .unwrap();
}

#[tokio::test]
async fn sts_trades_service_account_tokens_for_role_credentials() {
    let w = world().await;
    let role = "arn:aws:iam::123456789012:role/user";
    setup_service_account(&w.client, role).await;
    let token = sts_token(
        &w.client,
        "test1",
        "tidb-backup-manager",
        Some("sts.amazonaws.com"),
    )
    .await;
    let sts = w.cloud.sts_endpoint();
    let ca = w.ca_file.display().to_string();
    let call = |role: &str, token: &str| {
        let (role, token, sts, ca) = (role.to_string(), token.to_string(), sts.clone(), ca.clone());
        async move {
            curl(&[
                "--cacert",
                &ca,
                "--data-urlencode",
                "Action=AssumeRoleWithWebIdentity",
                "--data-urlencode",
                "Version=2011-06-15",
                "--data-urlencode",
                &format!("RoleArn={role}"),
                "--data-urlencode",
                "RoleSessionName=backup",
                "--data-urlencode",
                &format!("WebIdentityToken={token}"),
                &sts,
            ])
            .await
        }
    };
    let (code, body) = call(role, &token).await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
    ));
    assert!(body.contains("<SubjectFromWebIdentityToken>system:serviceaccount:test1:tidb-backup-manager</SubjectFromWebIdentityToken>"));
    assert!(body.contains("<Arn>arn:aws:sts::123456789012:assumed-role/user/backup</Arn>"));
    let field = |name: &str| {
        let start = body.find(&format!("<{name}>")).unwrap() + name.len() + 2;
        let end = body[start..].find('<').unwrap() + start;
        body[start..end].to_string()
    };
    let s3 = store(
        &w,
        &field("AccessKeyId"),
        &field("SecretAccessKey"),
        Some(&field("SessionToken")),
    );
    put(&s3).await.expect("STS credentials reach S3");

    // The role trusts only the ServiceAccount annotated with it.
    let (code, body) = call("arn:aws:iam::123456789012:role/admin", &token).await;
    assert_eq!(code, 403);
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    // A token for the API server is not for STS; a made-up token is nobody's.
    let api_token = sts_token(&w.client, "test1", "tidb-backup-manager", None).await;
    let (code, body) = call(role, &api_token).await;
    assert_eq!(code, 400);
    assert!(
        body.contains("<Code>InvalidIdentityToken</Code>")
            && body.contains("Incorrect token audience"),
        "{body}"
    );
    let (code, body) = call(role, "sa.made-up").await;
    assert_eq!(code, 400);
    assert!(body.contains("<Code>InvalidIdentityToken</Code>"), "{body}");
    let (code, body) = call("not-an-arn", &token).await;
    assert_eq!(code, 400);
    assert!(body.contains("<Code>ValidationError</Code>"), "{body}");

    // The STS token does not authenticate to the API server (its audience is STS).
    let mut config = kube::Config::new(w.cluster.url().parse().unwrap());
    config.root_cert = Some(vec![pem_der(&std::fs::read_to_string(&w.ca_file).unwrap())]);
    config.auth_info.token = Some(token.clone().into());
    let as_sa = kube::Client::try_from(config).unwrap();
    let err = Api::<Pod>::namespaced(as_sa, "test1")
        .list(&Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 401),
        "{err:?}"
    );
    w.cloud.stop().await;
    w.s3.stop().await;
    w.cluster.stop().await;
}

fn pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[tokio::test]
async fn the_pod_identity_webhook_mutates_pods_of_annotated_service_accounts() {
    let w = world().await;
    setup_service_account(&w.client, "arn:aws:iam::123456789012:role/user").await;
    let pods: Api<Pod> = Api::namespaced(w.client.clone(), "test1");
    let pod = |name: &str, sa: &str| -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"serviceAccountName": sa, "containers": [{"name": "backup", "image": "pingcap/br",
                     "env": [{"name": "AWS_REGION", "value": "us-west-1"}]}]}
        }))
        .unwrap()
    };
    let created = pods
        .create(&PostParams::default(), &pod("irsa", "tidb-backup-manager"))
        .await
        .unwrap();
    let spec = serde_json::to_value(created.spec.unwrap()).unwrap();
    let env: Vec<(String, String)> = spec["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().into(),
                e["value"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(
        env,
        vec![
            ("AWS_REGION".into(), "us-west-1".into()),
            ("AWS_STS_REGIONAL_ENDPOINTS".into(), "regional".into()),
            (
                "AWS_ROLE_ARN".into(),
                "arn:aws:iam::123456789012:role/user".into()
            ),
            (
                "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
                "/var/run/secrets/eks.amazonaws.com/serviceaccount/token".into()
            ),
        ],
        "the pod's own region is kept"
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"][0],
        json!({"name": "aws-iam-token", "readOnly": true, "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"})
    );
    assert_eq!(spec["volumes"][0]["name"], "aws-iam-token");
    assert_eq!(
        spec["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"],
        json!({"audience": "sts.amazonaws.com", "expirationSeconds": 86400, "path": "token"})
    );
    let plain = pods
        .create(&PostParams::default(), &pod("plain", "default"))
        .await
        .unwrap();
    let spec = plain.spec.unwrap();
    assert!(spec.volumes.unwrap_or_default().is_empty());
    assert_eq!(spec.containers[0].env.as_ref().unwrap().len(), 1);
    w.cloud.stop().await;
    w.s3.stop().await;
    w.cluster.stop().await;
}
