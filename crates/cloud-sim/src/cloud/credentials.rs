//! Every AWS credential the sandbox's cloud knows: the long-term sandbox key (what an
//! IAM user's access key is) and the temporary credentials its STS and instance
//! metadata emulators issue, with their session tokens and expiry. The embedded S3
//! authenticates requests against it ([`S3Keys`]): SigV4 with the key's secret, the
//! session token required for (and only for) temporary keys, and expired keys refused
//! with `ExpiredToken`, as S3 does.
//!
//! Differences from IAM: there are no policies; any valid credential may do anything
//! in any bucket.
//!
//! [`S3Keys`] also lets uploads name any storage class AWS offers (`STANDARD_IA`, the
//! documented default of the seed's backups, …): s3s-fs keeps only `STANDARD`, so the class
//! is accepted and not stored, as an unknown one is refused (`InvalidStorageClass`).

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use jiff::Timestamp;
use rand::distr::{Alphanumeric, SampleString};
use s3s::{
    S3Request, S3Result,
    access::{S3Access, S3AccessContext},
    auth::{S3Auth, SecretKey},
    dto::{CreateMultipartUploadInput, PutObjectInput, StorageClass},
    path::S3Path,
    s3_error,
};

/// How long an expired key is remembered, so clients learn it expired rather than
/// that it never existed.
const EXPIRED_MEMORY: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone)]
struct Key {
    secret: String,
    session_token: Option<String>,
    expires: Option<Timestamp>,
    principal: String,
}

/// Temporary credentials as STS and IMDS hand them out.
#[derive(Clone, PartialEq, Eq)]
pub struct TemporaryCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: Timestamp,
}

impl std::fmt::Debug for TemporaryCredentials {
    // Secrets never reach logs: only the key id and expiry are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporaryCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// Why a key does not authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    Unknown,
    Expired,
}

#[derive(Default)]
pub struct CredentialStore {
    keys: Mutex<HashMap<String, Key>>,
    /// Who touched objects where: `(principal, "bucket/dir/")`, distinct pairs only.
    uses: Mutex<BTreeSet<(String, String)>>,
}

impl std::fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialStore")
            .field("keys", &self.lock().len())
            .finish()
    }
}

fn random_key(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric
            .sample_string(&mut rand::rng(), 16)
            .to_uppercase()
    )
}

impl CredentialStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Key>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a long-term access key (no session token, no expiry).
    pub fn add_static(&self, access_key: &str, secret: &str, principal: &str) {
        self.lock().insert(
            access_key.to_string(),
            Key {
                secret: secret.to_string(),
                session_token: None,
                expires: None,
                principal: principal.to_string(),
            },
        );
    }

    /// Issues temporary credentials (`ASIA...` key, secret, session token) for
    /// `principal` that stop working after `lifetime`.
    pub fn issue(&self, principal: &str, lifetime: Duration) -> TemporaryCredentials {
        let now = Timestamp::now();
        let expiration = now + lifetime;
        let issued = TemporaryCredentials {
            access_key_id: random_key("ASIA"),
            secret_access_key: Alphanumeric.sample_string(&mut rand::rng(), 40),
            session_token: format!(
                "IQoJb3JpZ2luX2VjE{}",
                Alphanumeric.sample_string(&mut rand::rng(), 200)
            ),
            expiration,
        };
        let mut keys = self.lock();
        keys.retain(|_, k| k.expires.is_none_or(|e| e + EXPIRED_MEMORY > now));
        keys.insert(
            issued.access_key_id.clone(),
            Key {
                secret: issued.secret_access_key.clone(),
                session_token: Some(issued.session_token.clone()),
                expires: Some(expiration),
                principal: principal.to_string(),
            },
        );
        issued
    }

    /// Who a key belongs to (`user/sandbox`, `assumed-role/user/session`).
    pub fn principal(&self, access_key: &str) -> Option<String> {
        self.lock().get(access_key).map(|k| k.principal.clone())
    }

    /// Which principal read or wrote objects in which directory (`bucket/dir/`, the key up
    /// to its last `/`): how a test or the demo tells which credentials a backup used.
    pub fn uses(&self) -> Vec<(String, String)> {
        self.uses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    fn record_use(&self, access_key: &str, path: &S3Path) {
        let S3Path::Object { bucket, key } = path else {
            return;
        };
        let Some(principal) = self.principal(access_key) else {
            return;
        };
        let dir = key.rfind('/').map_or("", |i| &key[..=i]);
        self.uses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((principal, format!("{bucket}/{dir}")));
    }

    /// The secret and session token of a key that is valid now.
    pub(crate) fn lookup(&self, access_key: &str) -> Result<(String, Option<String>), KeyError> {
        let keys = self.lock();
        let key = keys.get(access_key).ok_or(KeyError::Unknown)?;
        if key.expires.is_some_and(|e| e <= Timestamp::now()) {
            return Err(KeyError::Expired);
        }
        Ok((key.secret.clone(), key.session_token.clone()))
    }
}

/// The S3 server's view of the store: authentication (`S3Auth`) and the session-token
/// check (`S3Access`).
#[derive(Debug, Clone)]
pub struct S3Keys(pub Arc<CredentialStore>);

#[async_trait::async_trait]
impl S3Auth for S3Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.lookup(access_key) {
            Ok((secret, _)) => Ok(SecretKey::from(secret)),
            Err(KeyError::Expired) => {
                Err(s3_error!(ExpiredToken, "The provided token has expired."))
            }
            Err(KeyError::Unknown) => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
        }
    }
}

/// The session token a request carries, in its header or (presigned URLs) its query.
fn request_token(cx: &S3AccessContext<'_>) -> Option<String> {
    if let Some(v) = cx.headers().get("x-amz-security-token") {
        return v.to_str().ok().map(str::to_string);
    }
    let query = cx.uri().query()?;
    super::form::parse(query)
        .into_iter()
        .find(|(k, _)| k == "X-Amz-Security-Token")
        .map(|(_, v)| v)
}

/// Storage classes S3 accepts on upload.
const AWS_STORAGE_CLASSES: &[&str] = &[
    StorageClass::STANDARD,
    StorageClass::REDUCED_REDUNDANCY,
    StorageClass::STANDARD_IA,
    StorageClass::ONEZONE_IA,
    StorageClass::INTELLIGENT_TIERING,
    StorageClass::GLACIER,
    StorageClass::DEEP_ARCHIVE,
    StorageClass::GLACIER_IR,
    StorageClass::OUTPOSTS,
    StorageClass::EXPRESS_ONEZONE,
    StorageClass::SNOW,
];

/// Accepts a class S3 knows by dropping it (s3s-fs would refuse all but `STANDARD`).
fn accept_storage_class(class: &mut Option<StorageClass>) -> S3Result<()> {
    match class.as_ref().map(StorageClass::as_str) {
        None => Ok(()),
        Some(c) if AWS_STORAGE_CLASSES.contains(&c) => {
            *class = None;
            Ok(())
        }
        Some(_) => Err(s3_error!(InvalidStorageClass)),
    }
}

#[async_trait::async_trait]
impl S3Access for S3Keys {
    async fn put_object(&self, req: &mut S3Request<PutObjectInput>) -> S3Result<()> {
        accept_storage_class(&mut req.input.storage_class)
    }

    async fn create_multipart_upload(
        &self,
        req: &mut S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<()> {
        accept_storage_class(&mut req.input.storage_class)
    }

    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let Some(credentials) = cx.credentials() else {
            return Err(s3_error!(AccessDenied, "Access Denied"));
        };
        let expected = match self.0.lookup(&credentials.access_key) {
            Ok((_, token)) => token,
            Err(KeyError::Expired) => {
                return Err(s3_error!(ExpiredToken, "The provided token has expired."));
            }
            Err(KeyError::Unknown) => return Err(s3_error!(InvalidAccessKeyId)),
        };
        if request_token(cx) != expected {
            return Err(s3_error!(
                InvalidToken,
                "The provided token is malformed or otherwise invalid."
            ));
        }
        self.0.record_use(&credentials.access_key, cx.s3_path());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_storage_classes_are_accepted_and_unknown_ones_refused() {
        let mut class = Some(StorageClass::from_static(StorageClass::STANDARD_IA));
        accept_storage_class(&mut class).unwrap();
        assert_eq!(class, None, "dropped: s3s-fs stores STANDARD only");
        let mut none = None;
        accept_storage_class(&mut none).unwrap();
        let mut bad = Some(StorageClass::from("COLD".to_string()));
        assert!(accept_storage_class(&mut bad).is_err());
    }

    #[test]
    fn temporary_keys_expire_and_static_keys_do_not() {
        let store = CredentialStore::default();
        store.add_static("AKIDSANDBOX", "secret", "user/sandbox");
        let t = store.issue("assumed-role/user/s", Duration::from_millis(0));
        assert!(t.access_key_id.starts_with("ASIA"));
        assert_eq!(store.lookup(&t.access_key_id), Err(KeyError::Expired));
        assert_eq!(store.lookup("nope"), Err(KeyError::Unknown));
        assert_eq!(
            store.lookup("AKIDSANDBOX"),
            Ok(("secret".to_string(), None))
        );
        let live = store.issue("assumed-role/user/s", Duration::from_secs(60));
        assert_eq!(
            store.lookup(&live.access_key_id).unwrap().1,
            Some(live.session_token.clone())
        );
        assert!(!format!("{live:?}").contains(&live.secret_access_key));
        assert_eq!(
            store.principal(&live.access_key_id).as_deref(),
            Some("assumed-role/user/s")
        );
    }
}
