//! Checking AWS Signature Version 4 on requests to the EC2 and EBS endpoints, against the
//! sandbox's [`CredentialStore`]: the client's canonical request is rebuilt from what
//! arrived (the headers it says it signed, the path encoded once more as AWS does for every
//! service but S3, the query sorted), signed with the key's secret and compared.
//!
//! What is checked besides the signature: the credential scope names this service; the
//! request's date is within 15 minutes of now; a temporary key comes with its session token
//! and a long-term key with none; a temporary key has not expired. The region in the scope
//! is not checked: the emulator is one region whatever a client calls it (see the ADR).

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac, digest::FixedOutput};
use http::Request;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::cloud::credentials::{CredentialStore, KeyError};

/// Why a request is not authenticated; each endpoint words it in its own protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header that is not a well-formed SigV4 one.
    Malformed(String),
    UnknownKey,
    ExpiredKey,
    /// The key's session token is missing or another one.
    WrongToken,
    /// The request's date is too far from now.
    Skewed,
    /// Signed for another service.
    WrongService(String),
    BadSignature,
}

/// Who signed an accepted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    pub access_key: String,
    pub region: String,
}

/// How far a request's date may be from the server's clock.
const MAX_SKEW: SignedDuration = SignedDuration::from_secs(15 * 60);

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthError> {
    let malformed = |why: &str| AuthError::Malformed(why.to_string());
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or_else(|| malformed("only AWS4-HMAC-SHA256 is supported"))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(malformed(
            "Authorization needs Credential, SignedHeaders and Signature",
        ));
    };
    let mut scope = credential.split('/');
    let (Some(access_key), Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(malformed(
            "Credential must be <key>/<date>/<region>/<service>/aws4_request",
        ));
    };
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

/// Percent-encodes everything but AWS's unreserved characters (and `/` when asked).
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The query string in canonical form: every name and value decoded, encoded the AWS way,
/// sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = crate::cloud::form::parse_raw(query)
        .into_iter()
        .map(|(k, v)| (encode(&k, false), encode(&v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn header_value(req: &Request<Bytes>, name: &str) -> Option<String> {
    if name == "host" && req.headers().get("host").is_none() {
        // HTTP/2 carries the host as the URI's authority.
        return req.uri().authority().map(|a| a.to_string());
    }
    let values: Vec<String> = req
        .headers()
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(data);
    mac.finalize_fixed().to_vec()
}

/// Checks the request's signature for `service` against `store`, at `now`.
pub fn verify(
    req: &Request<Bytes>,
    store: &CredentialStore,
    service: &str,
    now: Timestamp,
) -> Result<Signer, AuthError> {
    let header = req
        .headers()
        .get("authorization")
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Malformed("Authorization is not text".into()))?;
    let auth = parse_authorization(header)?;
    if auth.service != service {
        return Err(AuthError::WrongService(auth.service.to_string()));
    }
    let amz_date = header_value(req, "x-amz-date")
        .ok_or_else(|| AuthError::Malformed("X-Amz-Date is missing".into()))?;
    let signed_at = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", &amz_date)
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| AuthError::Malformed(format!("X-Amz-Date {amz_date} is not a date")))?;
    if !amz_date.starts_with(auth.date) {
        return Err(AuthError::Malformed(
            "the credential's date is not the request's".into(),
        ));
    }
    if (now.duration_since(signed_at)).abs() > MAX_SKEW {
        return Err(AuthError::Skewed);
    }
    let (secret, token) = match store.lookup(auth.access_key) {
        Ok(found) => found,
        Err(KeyError::Unknown) => return Err(AuthError::UnknownKey),
        Err(KeyError::Expired) => return Err(AuthError::ExpiredKey),
    };
    if header_value(req, "x-amz-security-token") != token {
        return Err(AuthError::WrongToken);
    }
    let signed: Vec<&str> = auth.signed_headers.split(';').collect();
    if !signed.contains(&"host") {
        return Err(AuthError::Malformed(
            "the host header must be signed".into(),
        ));
    }
    let mut canonical_headers = String::new();
    for name in &signed {
        let value = header_value(req, name).ok_or_else(|| {
            AuthError::Malformed(format!("signed header {name} is not in the request"))
        })?;
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let payload = match header_value(req, "x-amz-content-sha256") {
        Some(declared) if declared == "UNSIGNED-PAYLOAD" => declared,
        Some(declared) => {
            if declared != sha256_hex(req.body()) {
                return Err(AuthError::BadSignature);
            }
            declared
        }
        None => sha256_hex(req.body()),
    };
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method(),
        encode(req.uri().path(), true),
        canonical_query(req.uri().query().unwrap_or_default()),
        canonical_headers,
        auth.signed_headers,
        payload
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = [auth.date, auth.region, auth.service, "aws4_request"]
        .iter()
        .fold(format!("AWS4{secret}").into_bytes(), |key, part| {
            hmac(&key, part.as_bytes())
        });
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if expected != auth.signature {
        return Err(AuthError::BadSignature);
    }
    Ok(Signer {
        access_key: auth.access_key.to_string(),
        region: auth.region.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_and_query_order() {
        assert_eq!(encode("a b/c~", true), "a%20b/c~");
        assert_eq!(encode("a b/c", false), "a%20b%2Fc");
        assert_eq!(
            canonical_query("pageToken=a%2Bb&maxResults=100&firstSnapshotId=snap-1"),
            "firstSnapshotId=snap-1&maxResults=100&pageToken=a%2Bb"
        );
    }

    #[test]
    fn authorization_header_parts() {
        let a = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-west-2/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .ok()
        .unwrap();
        assert_eq!(
            (a.access_key, a.date, a.region, a.service),
            ("AKID", "20260101", "us-west-2", "ec2")
        );
        assert_eq!((a.signed_headers, a.signature), ("host;x-amz-date", "abc"));
        assert!(matches!(
            parse_authorization("AWS4-HMAC-SHA256 Credential=AKID/20260101/ec2/aws4_request"),
            Err(AuthError::Malformed(_))
        ));
    }
}
