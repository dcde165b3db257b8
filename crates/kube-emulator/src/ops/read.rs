//! get and list (with selectors and `limit`/`continue` paging).

use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

use crate::{
    cluster::State,
    error::{ApiError, ApiResult},
    registry::ResourceType,
    selector::{FieldSelector, LabelSelector},
    store::key_of,
};

pub(crate) fn get(
    state: &State,
    rt: &ResourceType,
    namespace: Option<&str>,
    name: &str,
) -> ApiResult<Arc<Value>> {
    state
        .store
        .get(&rt.storage, namespace.unwrap_or_default(), name)
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ListOptions {
    pub(crate) labels: LabelSelector,
    pub(crate) fields: FieldSelector,
    pub(crate) limit: Option<usize>,
    pub(crate) continue_token: Option<String>,
}

pub(crate) struct Listed {
    pub(crate) items: Vec<Arc<Value>>,
    pub(crate) resource_version: u64,
    pub(crate) continue_token: Option<String>,
    pub(crate) remaining: Option<usize>,
}

/// A continue token: the list's resourceVersion and the last key returned. Later pages
/// are read from current state, not from a snapshot at that version (see docs/sandbox.md).
fn encode_token(rv: u64, ns: &str, name: &str) -> String {
    let raw = json!({"rv": rv, "ns": ns, "name": name}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_token(token: &str) -> ApiResult<(u64, String, String)> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {token}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    Ok((
        v["rv"].as_u64().ok_or_else(bad)?,
        v["ns"].as_str().unwrap_or_default().to_string(),
        v["name"].as_str().ok_or_else(bad)?.to_string(),
    ))
}

pub(crate) fn matches(obj: &Value, labels: &LabelSelector, fields: &FieldSelector) -> bool {
    let empty = json!({});
    let obj_labels = obj["metadata"].get("labels").unwrap_or(&empty);
    labels.matches(obj_labels) && fields.matches(obj)
}

pub(crate) fn list(
    state: &State,
    rt: &ResourceType,
    namespace: Option<&str>,
    opts: &ListOptions,
) -> ApiResult<Listed> {
    let (rv, after) = match &opts.continue_token {
        Some(t) => {
            let (rv, ns, name) = decode_token(t)?;
            (rv, Some((ns, name)))
        }
        None => (state.store.resource_version(), None),
    };
    let limit = opts.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
    let mut items: Vec<Arc<Value>> = Vec::new();
    let mut rest = 0;
    for o in state.store.range(&rt.storage, namespace, after.as_ref()) {
        if !matches(o, &opts.labels, &opts.fields) {
            continue;
        }
        // Past the page only the count is needed (remainingItemCount), not the objects.
        if items.len() < limit {
            items.push(o.clone());
        } else {
            rest += 1;
        }
    }
    let mut continue_token = None;
    let mut remaining = None;
    if rest > 0 {
        let (ns, name) = key_of(items.last().expect("non-empty page"));
        continue_token = Some(encode_token(rv, &ns, &name));
        remaining = Some(rest);
    }
    Ok(Listed {
        items,
        resource_version: rv,
        continue_token,
        remaining,
    })
}
