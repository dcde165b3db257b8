//! HTTP serving: TLS accept loop, authentication, routing, content negotiation.

mod discovery;
mod handler;
mod logs;
mod mutate;
mod resource;
mod server;
mod watch;

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};

pub(crate) use server::serve;

use super::error::ApiError;

pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

pub(crate) fn json_response(
    code: u16,
    value: &impl serde::Serialize,
    warnings: &[String],
) -> Response<Body> {
    let mut resp = Response::new(full(serde_json::to_vec(value).unwrap_or_default()));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    for w in warnings {
        let text = format!("299 - {}", serde_json::to_string(w).unwrap_or_default());
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append("warning", v);
        }
    }
    resp
}

pub(crate) fn error_response(err: &ApiError) -> Response<Body> {
    json_response(err.code, &err.status(), &[])
}

/// What representation the client asked for in `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Representation {
    Object,
    Table,
    PartialMetadata,
}

pub(crate) fn representation(accept: Option<&str>) -> Representation {
    let Some(accept) = accept else {
        return Representation::Object;
    };
    // The first acceptable entry wins, as clients list their preference first.
    for entry in accept.split(',') {
        let params: Vec<&str> = entry.split(';').map(str::trim).collect();
        let media = params.first().copied().unwrap_or_default();
        if media != "application/json" && media != "*/*" && media != "application/yaml" {
            continue;
        }
        let param = |k: &str| {
            params
                .iter()
                .find_map(|p| p.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
        };
        match (param("as"), param("g")) {
            (Some("Table"), Some("meta.k8s.io")) if param("v") == Some("v1") => {
                return Representation::Table;
            }
            (Some("PartialObjectMetadata" | "PartialObjectMetadataList"), Some("meta.k8s.io"))
                if param("v") == Some("v1") =>
            {
                return Representation::PartialMetadata;
            }
            (Some(_), _) => continue,
            (None, _) => return Representation::Object,
        }
    }
    Representation::Object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(representation(Some(kubectl)), Representation::Table);
        assert_eq!(
            representation(Some("application/json")),
            Representation::Object
        );
        assert_eq!(
            representation(Some(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            )),
            Representation::PartialMetadata
        );
        assert_eq!(
            representation(Some(
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
            )),
            Representation::Object
        );
        assert_eq!(representation(None), Representation::Object);
    }
}
