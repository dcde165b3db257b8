//! Authentication and routing of one request.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::json;

use super::{Body, discovery, error_response, json_response, resource};
use crate::{
    cluster::{Cluster, Identity},
    engines,
    error::ApiError,
    request::{Query, Route, route},
};

fn identity(cluster: &Cluster, req: &Request<Incoming>) -> Option<Identity> {
    let header = req.headers().get("authorization")?.to_str().ok()?;
    let token = header.strip_prefix("Bearer ")?.trim();
    cluster.lock().tokens.get(token).cloned()
}

pub(crate) async fn handle(
    cluster: Arc<Cluster>,
    address: Arc<String>,
    req: Request<Incoming>,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    tracing::debug!(
        cluster = %cluster.options.name,
        method = %req.method(),
        uri = %req.uri(),
        content_type = ?req.headers().get("content-type"),
        accept = ?req.headers().get("accept"),
        user_agent = ?req.headers().get("user-agent"),
        "request"
    );
    let route = route(&path);
    // Version and health are public on real clusters too.
    if matches!(route, Route::Version) {
        return json_response(200, &discovery::version(), &[]);
    }
    if matches!(route, Route::Health) {
        return Response::new(super::full("ok"));
    }
    let Some(who) = identity(&cluster, &req) else {
        return error_response(&ApiError::unauthorized());
    };
    let (parts, body) = req.into_parts();
    let body: Bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return error_response(&ApiError::bad_request(format!("reading request body: {e}")));
        }
    };
    let query = Query::parse(parts.uri.query());
    let not_found = || {
        error_response(&ApiError::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ))
    };
    match route {
        Route::CoreVersions => json_response(200, &discovery::core_versions(&address), &[]),
        Route::Groups => json_response(200, &discovery::groups(&cluster.lock().registry), &[]),
        Route::Group(g) => match discovery::group(&cluster.lock().registry, &g) {
            Some(doc) => json_response(200, &doc, &[]),
            None => not_found(),
        },
        Route::GroupVersion { group, version } => {
            match discovery::resource_list(&cluster.lock().registry, &group, &version) {
                Some(doc) => json_response(200, &doc, &[]),
                None => not_found(),
            }
        }
        Route::OpenApiV2 => {
            let accept = parts
                .headers
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let registry = cluster.lock().registry.clone();
            engines::openapi_v2(&registry, accept)
        }
        Route::OpenApiV3Index => {
            let registry = cluster.lock().registry.clone();
            json_response(200, &engines::openapi_v3_index(&registry), &[])
        }
        Route::OpenApiV3 { group, version } => {
            let registry = cluster.lock().registry.clone();
            match engines::openapi_v3(&registry, &group, &version) {
                Some(doc) => json_response(200, &doc, &[]),
                None => not_found(),
            }
        }
        Route::Resource(path) => {
            cluster.accesses.record(&who, &parts.method, &path, &query);
            let ctx = resource::Ctx {
                cluster: &cluster,
                method: &parts.method,
                headers: &parts.headers,
                query: &query,
                body,
            };
            resource::handle(ctx, path, &who).await
        }
        Route::Version | Route::Health => unreachable!("answered above"),
        Route::NotFound => json_response(
            404,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "the server could not find the requested resource", "reason": "NotFound", "details": {}, "code": 404}),
            &[],
        ),
    }
}
