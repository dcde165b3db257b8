//! Field-level error causes, rendered the way the Kubernetes API server renders them.
//!
//! A 422 `Invalid` response carries one `StatusCause` per failed field; clients such as
//! kubectl print the joined messages, and users grep for the field path, so the wording
//! follows the API server's `field.Error` formatting exactly.

use serde::Serialize;
use serde_json::Value;

/// The `reason` of a `StatusCause`, as the API server spells it.
// The variants are serialized by name and must be spelled as the API server spells them.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum CauseReason {
    FieldValueRequired,
    FieldValueDuplicate,
    FieldValueInvalid,
    FieldValueNotSupported,
    FieldValueForbidden,
    FieldValueTooLong,
    FieldValueTooMany,
    FieldValueTypeInvalid,
}

impl CauseReason {
    /// The human text the API server prints before the value.
    pub(crate) fn text(self) -> &'static str {
        match self {
            CauseReason::FieldValueRequired => "Required value",
            CauseReason::FieldValueDuplicate => "Duplicate value",
            CauseReason::FieldValueInvalid | CauseReason::FieldValueTypeInvalid => "Invalid value",
            CauseReason::FieldValueNotSupported => "Unsupported value",
            CauseReason::FieldValueForbidden => "Forbidden",
            CauseReason::FieldValueTooLong => "Too long",
            CauseReason::FieldValueTooMany => "Too many",
        }
    }
}

/// One `details.causes[]` entry of a `Status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct FieldCause {
    pub(crate) reason: CauseReason,
    /// The message without the field path, e.g. `Required value` or
    /// `Unsupported value: "x": supported values: "a", "b"`.
    pub(crate) message: String,
    /// The field path, e.g. `spec.br.cluster` or `spec.containers[0].name`.
    pub(crate) field: String,
}

impl FieldCause {
    fn with_value(reason: CauseReason, field: &str, value: &Value, detail: &str) -> Self {
        let mut message = format!("{}: {}", reason.text(), render_value(value));
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        FieldCause {
            reason,
            message,
            field: field.to_string(),
        }
    }

    fn without_value(reason: CauseReason, field: &str, detail: &str) -> Self {
        let mut message = reason.text().to_string();
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        FieldCause {
            reason,
            message,
            field: field.to_string(),
        }
    }

    pub(crate) fn required(field: &str, detail: &str) -> Self {
        Self::without_value(CauseReason::FieldValueRequired, field, detail)
    }

    pub(crate) fn forbidden(field: &str, detail: &str) -> Self {
        Self::without_value(CauseReason::FieldValueForbidden, field, detail)
    }

    pub(crate) fn invalid(field: &str, value: &Value, detail: &str) -> Self {
        Self::with_value(CauseReason::FieldValueInvalid, field, value, detail)
    }

    pub(crate) fn duplicate(field: &str, value: &Value) -> Self {
        Self::with_value(CauseReason::FieldValueDuplicate, field, value, "")
    }

    pub(crate) fn not_supported(field: &str, value: &Value, supported: &[Value]) -> Self {
        let list: Vec<String> = supported.iter().map(render_value).collect();
        let detail = if list.is_empty() {
            String::new()
        } else {
            format!("supported values: {}", list.join(", "))
        };
        Self::with_value(CauseReason::FieldValueNotSupported, field, value, &detail)
    }

    pub(crate) fn too_long(field: &str, max: usize) -> Self {
        Self::without_value(
            CauseReason::FieldValueTooLong,
            field,
            &format!("may not be more than {max} bytes"),
        )
    }

    pub(crate) fn too_many(field: &str, actual: usize, max: usize) -> Self {
        Self::with_value(
            CauseReason::FieldValueTooMany,
            field,
            &Value::from(actual),
            &format!("must have at most {max} items"),
        )
    }

    /// `field: message`, the form joined into a `Status.message`.
    pub(crate) fn full_message(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.field, self.message)
        }
    }
}

/// Values are printed as Go's `%#v`-like form the API server uses: strings quoted,
/// numbers and booleans bare, `null` for null, compact JSON for objects and arrays.
pub(crate) fn render_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn messages_follow_the_api_server_format() {
        let c = FieldCause::not_supported("spec.mode", &json!("x"), &[json!("a"), json!("b")]);
        assert_eq!(
            c.full_message(),
            r#"spec.mode: Unsupported value: "x": supported values: "a", "b""#
        );
        let c = FieldCause::required("spec.br.cluster", "");
        assert_eq!(c.full_message(), "spec.br.cluster: Required value");
        let c = FieldCause::invalid("metadata.name", &json!("A"), "must be lowercase");
        assert_eq!(c.message, r#"Invalid value: "A": must be lowercase"#);
        assert_eq!(
            serde_json::to_value(&c).unwrap()["reason"],
            "FieldValueInvalid"
        );
    }
}
