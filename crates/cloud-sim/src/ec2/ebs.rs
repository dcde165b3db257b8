//! The EBS direct API (REST and JSON): the block lists the agent sizes backups with, and the
//! three calls that write a snapshot block by block (StartSnapshot, PutSnapshotBlock,
//! CompleteSnapshot), which the contract suite seeds moto and the emulator with alike.
//!
//! Errors are AWS's JSON ones: the type in `x-amzn-ErrorType`, `Message` and `Reason` in the
//! body. Blocks of a snapshot that is not completed cannot be read, as on AWS.

use std::collections::BTreeSet;

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use bytes::Bytes;
use http::{Method, Request};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    Ec2, Ec2Error, State,
    model::{BLOCK_SIZE, Blocks, Direct, Snapshot, SnapshotState, Tags},
};
use crate::cloud::{
    form,
    serve::{Reply, reply},
};

/// An EBS direct API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbsError {
    pub status: u16,
    /// `ResourceNotFoundException`, `ValidationException`…
    pub kind: &'static str,
    pub reason: Option<&'static str>,
    pub message: String,
}

impl EbsError {
    pub fn new(
        status: u16,
        kind: &'static str,
        reason: Option<&'static str>,
        message: String,
    ) -> Self {
        EbsError {
            status,
            kind,
            reason,
            message,
        }
    }

    fn invalid(reason: &'static str, message: String) -> Self {
        EbsError::new(400, "ValidationException", Some(reason), message)
    }

    pub fn reply(&self) -> Reply {
        let mut body = json!({ "Message": self.message });
        if let Some(r) = self.reason {
            body["Reason"] = json!(r);
        }
        let mut r = reply(self.status, "application/json", body.to_string());
        r.headers_mut().insert(
            "x-amzn-errortype",
            http::HeaderValue::from_static(self.kind),
        );
        r
    }
}

impl From<Ec2Error> for EbsError {
    /// The model's not-found errors, in EBS's words.
    fn from(e: Ec2Error) -> Self {
        if e.code.ends_with(".NotFound") {
            EbsError::new(
                404,
                "ResourceNotFoundException",
                Some("SNAPSHOT_NOT_FOUND"),
                e.message,
            )
        } else {
            EbsError::invalid("INVALID_PARAMETER_VALUE", e.message)
        }
    }
}

/// Which operation a request is, from its method and path (`Unknown` for anything else).
pub fn operation(method: &Method, path: &str) -> &'static str {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["snapshots", _, "blocks"]) => "ListSnapshotBlocks",
        ("GET", ["snapshots", _, "changedblocks"]) => "ListChangedBlocks",
        ("GET", ["snapshots", _, "blocks", _]) => "GetSnapshotBlock",
        ("POST", ["snapshots"]) => "StartSnapshot",
        ("PUT", ["snapshots", _, "blocks", _]) => "PutSnapshotBlock",
        ("POST", ["snapshots", "completion", _]) => "CompleteSnapshot",
        _ => "Unknown",
    }
}

fn segment(path: &str, n: usize) -> String {
    let raw = path.trim_matches('/').split('/').nth(n).unwrap_or_default();
    form::parse_raw(&format!("x={raw}"))
        .pop()
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn header<'a>(req: &'a Request<Bytes>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Runs an authenticated request of `operation`.
pub fn dispatch(operation: &str, req: &Request<Bytes>, ec2: &Ec2) -> Result<Reply, EbsError> {
    let path = req.uri().path();
    let query: Vec<(String, String)> = form::parse_raw(req.uri().query().unwrap_or_default());
    let q = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut state = ec2.lock();
    let now = state.now();
    let account = ec2.config().account_id.clone();
    match operation {
        "ListSnapshotBlocks" => {
            let id = segment(path, 1);
            let snapshot = readable(&state, &id, now)?;
            let blocks: Vec<(u64, Value)> = snapshot
                .blocks
                .iter()
                .map(|(i, version)| {
                    (
                        *i,
                        json!({"BlockIndex": i, "BlockToken": token(&id, *i, *version)}),
                    )
                })
                .collect();
            let (items, next) = page(blocks, &id, &q)?;
            let mut body = lists_common(snapshot, now);
            body["Blocks"] = Value::Array(items);
            if let Some(n) = next {
                body["NextToken"] = json!(n);
            }
            Ok(reply(200, "application/json", body.to_string()))
        }
        "ListChangedBlocks" => {
            let second_id = segment(path, 1);
            let second = readable(&state, &second_id, now)?;
            let first = match q("firstSnapshotId").filter(|f| !f.is_empty()) {
                Some(f) => {
                    let first = readable(&state, f, now)?;
                    if first.lineage != second.lineage {
                        return Err(EbsError::invalid(
                            "UNRELATED_SNAPSHOTS",
                            format!("{f} and {second_id} are not snapshots of the same volume"),
                        ));
                    }
                    Some(first)
                }
                None => None,
            };
            let empty = Blocks::new();
            let first_blocks = first.map_or(&empty, |f| &f.blocks);
            let indexes: BTreeSet<u64> = first_blocks
                .keys()
                .chain(second.blocks.keys())
                .copied()
                .collect();
            let changed: Vec<(u64, Value)> = indexes
                .into_iter()
                .filter(|i| first_blocks.get(i) != second.blocks.get(i))
                .map(|i| {
                    let mut b = json!({"BlockIndex": i});
                    if let (Some(f), Some(v)) = (first, first_blocks.get(&i)) {
                        b["FirstBlockToken"] = json!(token(&f.id, i, *v));
                    }
                    if let Some(v) = second.blocks.get(&i) {
                        b["SecondBlockToken"] = json!(token(&second_id, i, *v));
                    }
                    (i, b)
                })
                .collect();
            let key = format!("{}:{second_id}", q("firstSnapshotId").unwrap_or_default());
            let (items, next) = page(changed, &key, &q)?;
            let mut body = lists_common(second, now);
            body["ChangedBlocks"] = Value::Array(items);
            if let Some(n) = next {
                body["NextToken"] = json!(n);
            }
            Ok(reply(200, "application/json", body.to_string()))
        }
        "StartSnapshot" => {
            let input: Value = serde_json::from_slice(req.body()).map_err(|e| {
                EbsError::invalid(
                    "INVALID_PARAMETER_VALUE",
                    format!("the body is not JSON: {e}"),
                )
            })?;
            let size = input["VolumeSize"]
                .as_i64()
                .filter(|s| (1..=65536).contains(s))
                .ok_or_else(|| {
                    EbsError::invalid(
                        "INVALID_VOLUME_SIZE",
                        "VolumeSize must be 1 to 65536".into(),
                    )
                })?;
            let tags: Tags = input["Tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    Some((
                        t["Key"].as_str()?.to_string(),
                        t["Value"].as_str().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            let description = input["Description"].as_str().unwrap_or_default();
            let parent = input["ParentSnapshotId"].as_str();
            let id = state.model.start_direct(
                i32::try_from(size).unwrap_or(i32::MAX),
                parent,
                description,
                tags,
                now,
            )?;
            let s = &state.model.snapshots[&id];
            let mut body = json!({
                "SnapshotId": id,
                "OwnerId": account,
                "Status": "pending",
                "StartTime": epoch(s.started),
                "VolumeSize": size,
                "BlockSize": BLOCK_SIZE,
                "Description": description,
                "Tags": s.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
            });
            if let Some(p) = parent {
                body["ParentSnapshotId"] = json!(p);
            }
            Ok(reply(201, "application/json", body.to_string()))
        }
        "PutSnapshotBlock" => {
            let id = segment(path, 1);
            let index: u64 = segment(path, 3).parse().map_err(|_| {
                EbsError::invalid("INVALID_BLOCK", "the block index is not a number".into())
            })?;
            let s = open_direct(&mut state, &id)?;
            let max =
                u64::try_from(s.volume_size_gib).unwrap_or(0) * (1 << 30) / u64::from(BLOCK_SIZE);
            if index >= max {
                return Err(EbsError::invalid(
                    "INVALID_BLOCK",
                    format!("block {index} is beyond the end of the volume"),
                ));
            }
            let data = req.body();
            let length = header(req, "x-amz-data-length").and_then(|v| v.parse::<usize>().ok());
            if length != Some(data.len()) || data.len() != BLOCK_SIZE as usize {
                return Err(EbsError::invalid(
                    "INVALID_PARAMETER_VALUE",
                    format!("a block is {BLOCK_SIZE} bytes, with x-amz-Data-Length saying so"),
                ));
            }
            let digest = Sha256::digest(data);
            let checksum = STANDARD.encode(digest);
            if header(req, "x-amz-checksum-algorithm") != Some("SHA256")
                || header(req, "x-amz-checksum") != Some(checksum.as_str())
            {
                return Err(EbsError::invalid(
                    "INVALID_PARAMETER_VALUE",
                    "the block's SHA256 checksum does not match its data".into(),
                ));
            }
            let version = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes of 32"));
            s.blocks.insert(index, version);
            s.written.insert(index);
            let mut r = reply(201, "application/json", "{}");
            r.headers_mut().insert(
                "x-amz-checksum",
                http::HeaderValue::from_str(&checksum).expect("base64 is a header value"),
            );
            r.headers_mut().insert(
                "x-amz-checksum-algorithm",
                http::HeaderValue::from_static("SHA256"),
            );
            Ok(r)
        }
        "CompleteSnapshot" => {
            let id = segment(path, 2);
            let count: usize = header(req, "x-amz-changedblockscount")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| {
                    EbsError::invalid(
                        "INVALID_PARAMETER_VALUE",
                        "x-amz-ChangedBlocksCount is required".into(),
                    )
                })?;
            let s = open_direct(&mut state, &id)?;
            if count != s.written.len() {
                return Err(EbsError::invalid(
                    "INVALID_PARAMETER_VALUE",
                    format!(
                        "ChangedBlocksCount {count} is not the {} blocks written",
                        s.written.len()
                    ),
                ));
            }
            s.direct = Some(Direct::Completed);
            Ok(reply(
                202,
                "application/json",
                json!({"Status": "completed"}).to_string(),
            ))
        }
        other => Err(EbsError::new(
            404,
            "UnknownOperationException",
            None,
            format!(
                "{other} {} is not an operation this endpoint serves",
                req.uri().path()
            ),
        )),
    }
}

/// A completed snapshot, whose blocks may be read.
fn readable<'a>(state: &'a State, id: &str, now: Timestamp) -> Result<&'a Snapshot, EbsError> {
    let s = state.model.snapshot(id)?;
    if s.status(now).state != SnapshotState::Completed {
        return Err(EbsError::invalid(
            "INVALID_SNAPSHOT_ID",
            format!("The snapshot {id} is not completed, so its blocks cannot be read"),
        ));
    }
    Ok(s)
}

/// A snapshot started through this API and not completed yet.
fn open_direct<'a>(state: &'a mut State, id: &str) -> Result<&'a mut Snapshot, EbsError> {
    let s = state
        .model
        .snapshots
        .get_mut(id)
        .ok_or_else(|| EbsError::from(Ec2Error::snapshot_not_found(id)))?;
    if s.direct != Some(Direct::Open) {
        return Err(EbsError::invalid(
            "INVALID_SNAPSHOT_ID",
            format!("{id} is not a snapshot being written through the EBS direct API"),
        ));
    }
    Ok(s)
}

fn epoch(t: Timestamp) -> f64 {
    t.as_millisecond() as f64 / 1000.0
}

/// What both block lists answer besides their blocks.
fn lists_common(s: &Snapshot, now: Timestamp) -> Value {
    json!({
        "VolumeSize": s.volume_size_gib,
        "BlockSize": BLOCK_SIZE,
        "ExpiryTime": epoch(now + SignedDuration::from_hours(1)),
    })
}

/// An opaque token naming a block of a snapshot.
fn token(snapshot: &str, index: u64, version: u64) -> String {
    STANDARD.encode(format!("{snapshot}:{index}:{version:016x}"))
}

/// One page of `items` (block order) from `startingBlockIndex` or the page token, and the
/// token of the next; `key` ties tokens to the listing they came from.
fn page<'q>(
    items: Vec<(u64, Value)>,
    key: &str,
    q: &impl Fn(&str) -> Option<&'q str>,
) -> Result<(Vec<Value>, Option<String>), EbsError> {
    let number = |name: &str| -> Result<Option<u64>, EbsError> {
        q(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    EbsError::invalid("INVALID_PARAMETER_VALUE", format!("{name} is not a number"))
                })
            })
            .transpose()
    };
    // AWS answers at least 100 blocks a page, at most 10 000.
    let limit = number("maxResults")?.unwrap_or(10_000).clamp(100, 10_000) as usize;
    let start = match q("pageToken").filter(|t| !t.is_empty()) {
        Some(t) => URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                let (k, i) = s.rsplit_once('/')?;
                (k == key).then(|| i.parse::<u64>().ok()).flatten()
            })
            .ok_or_else(|| {
                EbsError::invalid(
                    "INVALID_PAGE_TOKEN",
                    "The pagination token is not valid".into(),
                )
            })?,
        None => number("startingBlockIndex")?.unwrap_or(0),
    };
    let mut rest: Vec<(u64, Value)> = items.into_iter().filter(|(i, _)| *i >= start).collect();
    let next =
        (rest.len() > limit).then(|| URL_SAFE_NO_PAD.encode(format!("{key}/{}", rest[limit].0)));
    rest.truncate(limit);
    Ok((rest.into_iter().map(|(_, v)| v).collect(), next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_by_method_and_path() {
        assert_eq!(
            operation(&Method::GET, "/snapshots/snap-1/blocks"),
            "ListSnapshotBlocks"
        );
        assert_eq!(
            operation(&Method::GET, "/snapshots/snap-1/changedblocks"),
            "ListChangedBlocks"
        );
        assert_eq!(operation(&Method::POST, "/snapshots"), "StartSnapshot");
        assert_eq!(
            operation(&Method::PUT, "/snapshots/snap-1/blocks/7"),
            "PutSnapshotBlock"
        );
        assert_eq!(
            operation(&Method::POST, "/snapshots/completion/snap-1"),
            "CompleteSnapshot"
        );
        assert_eq!(operation(&Method::DELETE, "/snapshots/snap-1"), "Unknown");
    }

    #[test]
    fn block_pages() {
        let items: Vec<(u64, Value)> = (0..250).map(|i| (i * 2, json!(i * 2))).collect();
        let none = |_: &str| None;
        let (first, next) = page(items.clone(), "k", &none).unwrap();
        assert_eq!((first.len(), next), (250, None));
        let small = |n: &str| (n == "maxResults").then_some("7");
        let (first, next) = page(items.clone(), "k", &small).unwrap();
        assert_eq!(first.len(), 100, "at least 100 a page");
        let token = next.unwrap();
        let follow = |n: &str| match n {
            "maxResults" => Some("100"),
            "pageToken" => Some(token.as_str()),
            _ => None,
        };
        let (second, _) = page(items.clone(), "k", &follow).unwrap();
        assert_eq!(second[0], json!(200));
        let wrong = |n: &str| (n == "pageToken").then_some(token.as_str());
        assert_eq!(
            page(items, "other", &wrong).unwrap_err().reason,
            Some("INVALID_PAGE_TOKEN")
        );
    }
}
