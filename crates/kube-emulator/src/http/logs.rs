//! `pods/<name>/log`: container output captured by the job runner, with `container`,
//! `follow`, `tailLines`, `limitBytes` and `previous` as kubectl uses them.

use std::{path::PathBuf, sync::Arc, time::Duration};

use bytes::Bytes;
use http::{HeaderValue, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::Value;
use tokio::{io::AsyncReadExt, sync::mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::{Body, full};
use crate::{
    cluster::Cluster,
    error::{ApiError, ApiResult},
    registry::GroupResource,
    request::Query,
};

fn names(pod: &Value, list: &str) -> Vec<String> {
    pod["spec"][list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

fn container_status<'a>(pod: &'a Value, container: &str) -> Option<&'a Value> {
    ["initContainerStatuses", "containerStatuses"]
        .iter()
        .flat_map(|k| pod["status"][*k].as_array().into_iter().flatten())
        .find(|s| s["name"] == container)
}

pub(crate) fn log_path(
    dir: &std::path::Path,
    ns: &str,
    pod: &str,
    container: &str,
    previous: bool,
) -> PathBuf {
    let file = if previous {
        format!("{container}.previous.log")
    } else {
        format!("{container}.log")
    };
    dir.join(ns).join(pod).join(file)
}

fn pod_of(cluster: &Cluster, ns: &str, name: &str) -> Option<Arc<Value>> {
    cluster
        .lock()
        .store
        .get(&GroupResource::new("", "pods"), ns, name)
}

fn finished(pod: Option<&Value>, container: &str) -> bool {
    let Some(pod) = pod else { return true };
    if matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    ) {
        return true;
    }
    container_status(pod, container).is_some_and(|s| !s["state"]["terminated"].is_null())
}

fn tail(text: &[u8], lines: usize) -> &[u8] {
    let mut count = 0;
    let trimmed = text.strip_suffix(b"\n").unwrap_or(text);
    for (i, b) in trimmed.iter().enumerate().rev() {
        if *b == b'\n' {
            count += 1;
            if count == lines {
                return &text[i + 1..];
            }
        }
    }
    text
}

pub(crate) async fn serve(
    cluster: &Arc<Cluster>,
    query: &Query,
    ns: &str,
    name: &str,
) -> ApiResult<Response<Body>> {
    let pod = pod_of(cluster, ns, name).ok_or_else(|| ApiError::not_found("", "pods", name))?;
    let containers = names(&pod, "containers");
    let init = names(&pod, "initContainers");
    let container = match query.get("container") {
        Some(c) => {
            if !containers.iter().chain(&init).any(|n| n == c) {
                return Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            c.to_string()
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                containers.join(" ")
            );
            if !init.is_empty() {
                msg.push_str(&format!(
                    " or one of the init containers: [{}]",
                    init.join(" ")
                ));
            }
            return Err(ApiError::bad_request(msg));
        }
    };
    let previous = query.flag("previous");
    let path = log_path(&cluster.options.pod_log_dir, ns, name, &container, previous);
    if !path.exists() {
        let reason = container_status(&pod, &container)
            .and_then(|s| s["state"]["waiting"]["reason"].as_str())
            .unwrap_or("ContainerCreating");
        if previous {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            )));
        }
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    }
    let content = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut start = content.as_slice();
    if let Some(lines) = query.number("tailLines").filter(|n| *n >= 0) {
        start = tail(start, lines as usize);
    }
    let mut first = start.to_vec();
    if let Some(limit) = query.number("limitBytes").filter(|n| *n > 0) {
        first.truncate(limit as usize);
    }
    if !query.flag("follow") || previous {
        let mut resp = Response::new(full(first));
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static("text/plain"));
        return Ok(resp);
    }
    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, std::convert::Infallible>>(64);
    let offset = content.len() as u64;
    let cluster = cluster.clone();
    let (ns, name) = (ns.to_string(), name.to_string());
    tokio::spawn(async move {
        if tx.send(Ok(Frame::data(Bytes::from(first)))).await.is_err() {
            return;
        }
        follow(cluster, path, offset, tx, &ns, &name, &container).await;
    });
    let mut resp = Response::new(StreamBody::new(ReceiverStream::new(rx)).boxed_unsync());
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("text/plain"));
    Ok(resp)
}

async fn follow(
    cluster: Arc<Cluster>,
    path: PathBuf,
    mut offset: u64,
    tx: mpsc::Sender<Result<Frame<Bytes>, std::convert::Infallible>>,
    ns: &str,
    name: &str,
    container: &str,
) {
    let mut shutdown = cluster.shutdown.subscribe();
    loop {
        // Decide "done" before reading, so output written just before termination is sent.
        let done = finished(pod_of(&cluster, ns, name).as_deref(), container);
        if let Ok(mut file) = tokio::fs::File::open(&path).await {
            use tokio::io::AsyncSeekExt;
            if file.seek(std::io::SeekFrom::Start(offset)).await.is_ok() {
                let mut buf = Vec::new();
                if file.read_to_end(&mut buf).await.is_ok() && !buf.is_empty() {
                    offset += buf.len() as u64;
                    if tx.send(Ok(Frame::data(Bytes::from(buf)))).await.is_err() {
                        return;
                    }
                }
            }
        }
        if done {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = tx.closed() => return,
            _ = shutdown.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail(b"a\nb\nc", 1), b"c");
        assert_eq!(tail(b"a\n", 5), b"a\n");
    }
}
