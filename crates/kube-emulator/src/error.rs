//! API errors, rendered as the `Status` objects the real API server returns.
//!
//! Clients branch on `code` and `reason` (kube-rs `ErrorResponse`, client-go
//! `apierrors.IsConflict`...), and users read `message`, so all three follow upstream.

use serde_json::{Value, json};

use super::cause::FieldCause;

/// A failed request: HTTP status code plus the `Status` body fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) details: Option<Value>,
}

/// Names a resource the way error messages do: `backups.pingcap.com`, or `pods` for core.
pub(crate) fn group_resource(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

fn qualified_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

impl ApiError {
    pub(crate) fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub(crate) fn not_found(group: &str, plural: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", group_resource(group, plural)),
        )
        .with_details(json!({"name": name, "group": group, "kind": plural}))
    }

    pub(crate) fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!(
                "{} \"{name}\" already exists",
                group_resource(group, plural)
            ),
        )
        .with_details(json!({"name": name, "group": group, "kind": plural}))
    }

    pub(crate) fn conflict(group: &str, plural: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                group_resource(group, plural)
            ),
        )
        .with_details(json!({"name": name, "group": group, "kind": plural}))
    }

    pub(crate) fn stale(group: &str, plural: &str, name: &str) -> Self {
        Self::conflict(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 with one cause per field, message `Kind.group "name" is invalid: ...`.
    pub(crate) fn invalid(group: &str, kind: &str, name: &str, causes: Vec<FieldCause>) -> Self {
        let joined: Vec<String> = causes.iter().map(FieldCause::full_message).collect();
        let body = if joined.len() == 1 {
            joined[0].clone()
        } else {
            format!("[{}]", joined.join(", "))
        };
        let causes_json: Vec<Value> = causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        Self::new(
            422,
            "Invalid",
            format!(
                "{} \"{name}\" is invalid: {body}",
                qualified_kind(group, kind)
            ),
        )
        .with_details(json!({"name": name, "group": group, "kind": kind, "causes": causes_json}))
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub(crate) fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message)
    }

    pub(crate) fn forbidden(group: &str, plural: &str, name: &str, why: &str) -> Self {
        let gr = group_resource(group, plural);
        let what = if name.is_empty() {
            gr.clone()
        } else {
            format!("{gr} \"{name}\"")
        };
        Self::new(403, "Forbidden", format!("{what} is forbidden: {why}"))
            .with_details(json!({"name": name, "group": group, "kind": plural}))
    }

    pub(crate) fn namespace_terminating(
        group: &str,
        plural: &str,
        name: &str,
        namespace: &str,
    ) -> Self {
        let mut err = Self::forbidden(
            group,
            plural,
            name,
            &format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ),
        );
        err.details = Some(json!({
            "name": name, "group": group, "kind": plural,
            "causes": [{
                "reason": "NamespaceTerminating",
                "message": format!("namespace {namespace} is being terminated"),
                "field": "metadata.namespace"
            }]
        }));
        err
    }

    pub(crate) fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub(crate) fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type})"
            ),
        )
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub(crate) fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// The `Status` object for the response body.
    pub(crate) fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_upstream_wording() {
        assert_eq!(
            ApiError::not_found("pingcap.com", "backups", "b1").message,
            r#"backups.pingcap.com "b1" not found"#
        );
        assert_eq!(
            ApiError::not_found("", "pods", "p").message,
            r#"pods "p" not found"#
        );
        let e = ApiError::invalid(
            "pingcap.com",
            "Backup",
            "b1",
            vec![
                FieldCause::required("spec.br", ""),
                FieldCause::required("spec.s3", ""),
            ],
        );
        assert_eq!(
            e.message,
            r#"Backup.pingcap.com "b1" is invalid: [spec.br: Required value, spec.s3: Required value]"#
        );
        assert_eq!(e.status()["details"]["causes"][1]["field"], "spec.s3");
        let e = ApiError::namespace_terminating("", "configmaps", "c", "ns1");
        assert_eq!(
            e.message,
            r#"configmaps "c" is forbidden: unable to create new content in namespace ns1 because it is being terminated"#
        );
    }
}
