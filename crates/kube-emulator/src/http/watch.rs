//! Watches: the list-then-watch protocol of kube-rs watchers and `kubectl get -w`.
//!
//! A watch starts from a resourceVersion (replaying retained history, or answering with a
//! `410 Expired` ERROR event when history no longer reaches back), or from "now" with
//! synthetic ADDED events for current objects. Selector-filtered watches turn
//! modifications into ADDED/DELETED when objects enter or leave the selection. Bookmarks
//! are sent when asked for, and a streaming list (`sendInitialEvents=true`) ends its
//! initial events with the `k8s.io/initial-events-end` bookmark.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http::{HeaderValue, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::{
    Body, Representation, representation,
    resource::{Ctx, encode, partial_metadata, selectors},
};
use crate::{
    cluster::{Cluster, now},
    engines,
    error::{ApiError, ApiResult},
    ops,
    registry::{Builtin, GroupResource, ResourceType},
    selector::{FieldSelector, LabelSelector},
    store::{Change, EventType},
};

struct Filter {
    storage: GroupResource,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn selects(&self, obj: &Value) -> bool {
        ops::matches(obj, &self.labels, &self.fields)
    }

    /// What a change looks like to this watch, if anything.
    fn view(&self, change: &Change) -> Option<(EventType, Arc<Value>)> {
        if change.storage != self.storage {
            return None;
        }
        if let Some(ns) = &self.namespace
            && &change.namespace != ns
        {
            return None;
        }
        let now_in = self.selects(&change.object);
        let was_in = change.previous.as_deref().is_some_and(|p| self.selects(p));
        match change.kind {
            EventType::Added => now_in.then(|| (EventType::Added, change.object.clone())),
            EventType::Deleted => {
                (was_in || now_in).then(|| (EventType::Deleted, change.object.clone()))
            }
            EventType::Modified => match (was_in, now_in) {
                (true, true) => Some((EventType::Modified, change.object.clone())),
                (false, true) => Some((EventType::Added, change.object.clone())),
                (true, false) => Some((EventType::Deleted, change.object.clone())),
                (false, false) => None,
            },
        }
    }
}

struct Encoder {
    rt: ResourceType,
    repr: Representation,
    include: Option<String>,
    /// Table watches carry column definitions in their first event only, as upstream.
    headers_sent: bool,
}

impl Encoder {
    fn event(&mut self, kind: &str, stored: &Value) -> Bytes {
        let obj = encode(&self.rt, stored);
        match self.repr {
            Representation::Object => line(&Event { kind, object: &obj }),
            Representation::PartialMetadata => line(&Event {
                kind,
                object: &partial_metadata(&obj),
            }),
            Representation::Table => {
                let mut table = engines::table(
                    &self.rt,
                    &[obj.as_ref()],
                    self.include.as_deref(),
                    now(),
                    json!({}),
                );
                if self.headers_sent {
                    crate::table::omit_headers(&mut table);
                }
                self.headers_sent = true;
                line(&Event {
                    kind,
                    object: &table,
                })
            }
        }
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(
            &json!({"type": "BOOKMARK", "object": {"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": meta}}),
        )
    }
}

/// One watch event, serialized without copying its object.
#[derive(serde::Serialize)]
struct Event<'a, T: serde::Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    object: &'a T,
}

fn line(v: &impl serde::Serialize) -> Bytes {
    let mut bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn expired(rv: &str, current: u64) -> Bytes {
    let err = ApiError::gone(format!("too old resource version: {rv} ({current})"));
    line(&json!({"type": "ERROR", "object": err.status()}))
}

pub(crate) async fn serve(
    ctx: &Ctx<'_>,
    rt: &ResourceType,
    ns: Option<&str>,
) -> ApiResult<Response<Body>> {
    let cluster = ctx.cluster.clone();
    let storage_rt = if rt.builtin() == Some(Builtin::EventV1) {
        cluster
            .lock()
            .registry
            .lookup("", "v1", "events")
            .ok_or_else(|| ApiError::internal("no core events"))?
    } else {
        Arc::new(rt.clone())
    };
    let (labels, fields) = selectors(rt, ctx.query)?;
    let filter = Filter {
        storage: storage_rt.storage.clone(),
        namespace: ns.map(str::to_string),
        labels,
        fields,
    };
    let mut encoder = Encoder {
        headers_sent: false,
        rt: rt.clone(),
        repr: representation(ctx.headers.get("accept").and_then(|v| v.to_str().ok())),
        include: ctx.query.get("includeObject").map(str::to_string),
    };
    let bookmarks = ctx.query.flag("allowWatchBookmarks");
    let send_initial = ctx.query.flag("sendInitialEvents");
    let timeout =
        Duration::from_secs(ctx.query.number("timeoutSeconds").unwrap_or(1800).max(1) as u64);
    let rv_param = ctx.query.get("resourceVersion").map(str::to_string);

    let mut first: Vec<Bytes> = Vec::new();
    let mut ended = false;
    let (rx, mut seen) = {
        let mut state = cluster.lock();
        let rx = state.store.subscribe(&filter.storage);
        let current = state.store.resource_version();
        let from =
            match rv_param.as_deref() {
                None | Some("0") => None,
                Some(v) => Some(v.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version: {v:?}"))
                })?),
            };
        match from {
            Some(rv) if !send_initial => match state.store.changes_since(rv) {
                Some(changes) => {
                    for c in &changes {
                        if let Some((kind, obj)) = filter.view(c) {
                            first.push(encoder.event(kind.as_str(), &obj));
                        }
                    }
                }
                None => {
                    first.push(expired(&rv.to_string(), current));
                    ended = true;
                }
            },
            _ => {
                for obj in state
                    .store
                    .list(&filter.storage, filter.namespace.as_deref())
                {
                    if filter.selects(&obj) {
                        first.push(encoder.event("ADDED", &obj));
                    }
                }
                if send_initial {
                    first.push(encoder.bookmark(current, true));
                }
            }
        }
        (rx, current)
    };

    let (tx, out) = mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(256);
    let bookmark_every = cluster.options.bookmark_interval;
    tokio::spawn(async move {
        for chunk in first {
            if tx.send(Ok(Frame::data(chunk))).await.is_err() {
                return;
            }
        }
        if ended {
            return;
        }
        pump(
            cluster,
            rx,
            tx,
            filter,
            encoder,
            bookmarks.then_some(bookmark_every),
            timeout,
            &mut seen,
        )
        .await;
    });

    let mut resp = Response::new(StreamBody::new(ReceiverStream::new(out)).boxed_unsync());
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(resp)
}

#[allow(clippy::too_many_arguments)]
async fn pump(
    cluster: Arc<Cluster>,
    mut rx: broadcast::Receiver<Arc<Change>>,
    tx: mpsc::Sender<Result<Frame<Bytes>, std::convert::Infallible>>,
    filter: Filter,
    mut encoder: Encoder,
    bookmark_every: Option<Duration>,
    timeout: Duration,
    seen: &mut u64,
) {
    let mut shutdown = cluster.shutdown.subscribe();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut ticker = tokio::time::interval(bookmark_every.unwrap_or(Duration::from_secs(3600)));
    ticker.tick().await;
    loop {
        let chunk = tokio::select! {
            _ = &mut deadline => return,
            _ = shutdown.changed() => return,
            _ = tx.closed() => return,
            _ = ticker.tick(), if bookmark_every.is_some() => {
                // Everything up to the store's version has been seen once our queue is
                // empty while writes are excluded; only then can the bookmark claim it.
                let state = cluster.lock();
                if rx.is_empty() {
                    *seen = state.store.resource_version();
                }
                drop(state);
                Some(encoder.bookmark(*seen, false))
            }
            msg = rx.recv() => match msg {
                Ok(change) => {
                    *seen = change.rv;
                    filter.view(&change).map(|(kind, obj)| encoder.event(kind.as_str(), &obj))
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let current = cluster.lock().store.resource_version();
                    let _ = tx.send(Ok(Frame::data(expired(&seen.to_string(), current)))).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        if let Some(chunk) = chunk
            && tx.send(Ok(Frame::data(chunk))).await.is_err()
        {
            return;
        }
    }
}
