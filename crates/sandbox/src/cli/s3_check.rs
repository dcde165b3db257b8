//! `tibr-sandbox s3-check s3://BUCKET/PREFIX`: writes an object under the prefix and
//! reads it back with object_store configured only from the process environment, as
//! the agent and BR stand-in configure themselves in a Job pod. Run inside a pod, it
//! shows which of the credential variants (static keys, kube2iam, IRSA) the pod has.

use object_store::{ObjectStoreExt, PutPayload, aws::AmazonS3Builder, path::Path};

/// Where the credentials come from, by the variables object_store looks at first.
pub fn credential_source() -> String {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some(key) = var("AWS_ACCESS_KEY_ID") {
        // Masked as `aws configure list` shows it: key ids stay out of logs.
        let tail: String = key
            .chars()
            .skip(key.chars().count().saturating_sub(4))
            .collect();
        format!("access key ****{tail}")
    } else if let (Some(_), Some(role)) = (var("AWS_WEB_IDENTITY_TOKEN_FILE"), var("AWS_ROLE_ARN"))
    {
        format!("web identity for {role}")
    } else {
        "instance metadata".to_string()
    }
}

/// Writes and reads back one object; returns its `s3://` URL.
pub async fn run(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| anyhow::anyhow!("expected s3://BUCKET/PREFIX, got {url}"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let store = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()?;
    let name = std::env::var("HOSTNAME").unwrap_or_else(|_| uuid::Uuid::new_v4().to_string());
    let key = Path::from(format!("{}/s3-check/{name}", prefix.trim_matches('/')));
    let body = format!("written by tibr-sandbox s3-check from {name}\n");
    store
        .put(&key, PutPayload::from(body.clone().into_bytes()))
        .await?;
    let got = store.get(&key).await?.bytes().await?;
    anyhow::ensure!(got == body.as_bytes(), "read back different content");
    Ok(format!("s3://{bucket}/{key}"))
}
