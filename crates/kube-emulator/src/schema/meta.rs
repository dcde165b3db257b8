//! Object metadata validation on create, with the API server's messages, and the name
//! checks it is built from (`IsDNS1123Label`, `IsQualifiedName`, ...).
//!
//! Follows apimachinery as of Kubernetes 1.32/1.33: the RFC 1123 label message does
//! not yet special-case names that are only invalid because of dots. Labels and
//! annotations are checked in document order (the server walks a Go map).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::gofmt;
use super::path;
use crate::cause::FieldCause;

/// Which names an object kind accepts, as the server's `ValidateNameFunc`s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NameRule {
    /// Most kinds, and every custom resource.
    Dns1123Subdomain,
    /// Namespaces, services and a few others.
    Dns1123Label,
    /// Anything safe as a URL path segment (RBAC objects, embedded resources).
    PathSegment,
}

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

/// Annotations may hold 256 KiB of keys and values together.
pub(crate) const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
const FIELD_MANAGER_MAX_LENGTH: usize = 128;
const SUBRESOURCE_MAX_LENGTH: usize = 256;

fn anchored(fmt: &str) -> Regex {
    Regex::new(&format!("^{fmt}$")).expect("name regexes are valid")
}

static QUALIFIED_NAME: LazyLock<Regex> = LazyLock::new(|| anchored(QUALIFIED_NAME_FMT));
static LABEL_VALUE: LazyLock<Regex> = LazyLock::new(|| anchored(LABEL_VALUE_FMT));
static DNS1123_LABEL: LazyLock<Regex> = LazyLock::new(|| anchored(DNS1123_LABEL_FMT));
static DNS1123_SUBDOMAIN: LazyLock<Regex> = LazyLock::new(|| anchored(DNS1123_SUBDOMAIN_FMT));
static DNS1035_LABEL: LazyLock<Regex> = LazyLock::new(|| anchored(DNS1035_LABEL_FMT));

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// apimachinery's `RegexError`, including its doubled space before a second example.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{e}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

pub(crate) fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !DNS1123_LABEL.is_match(value) {
        errs.push(regex_error(
            DNS1123_LABEL_MSG,
            DNS1123_LABEL_FMT,
            &["my-name", "123-abc"],
        ));
    }
    errs
}

pub(crate) fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 253 {
        errs.push(max_len_error(253));
    }
    if !DNS1123_SUBDOMAIN.is_match(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

pub(crate) fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !DNS1035_LABEL.is_match(value) {
        errs.push(regex_error(
            DNS1035_LABEL_MSG,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// A "qualified name": an optional DNS subdomain prefix and `/`, then a name part.
pub(crate) fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    is_dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            let msg = regex_error(
                QUALIFIED_NAME_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"],
            );
            errs.push(format!(
                "a qualified name {msg} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len_error(63)));
    }
    if !QUALIFIED_NAME.is_match(name) {
        let msg = regex_error(
            QUALIFIED_NAME_MSG,
            QUALIFIED_NAME_FMT,
            &["MyName", "my.name", "123-abc"],
        );
        errs.push(format!("name part {msg}"));
    }
    errs
}

pub(crate) fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !LABEL_VALUE.is_match(value) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// A `generateName` may end in `-`: the server masks the last two characters to check it.
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        format!("{}a", &name[..name.len() - 2])
    } else {
        name.to_string()
    }
}

/// The messages for `name`, or for a `generateName` prefix when `prefix` is true.
pub(crate) fn check_name(rule: NameRule, name: &str, prefix: bool) -> Vec<String> {
    match rule {
        NameRule::Dns1123Subdomain | NameRule::Dns1123Label => {
            let name = if prefix {
                mask_trailing_dash(name)
            } else {
                name.to_string()
            };
            if rule == NameRule::Dns1123Label {
                is_dns1123_label(&name)
            } else {
                is_dns1123_subdomain(&name)
            }
        }
        NameRule::PathSegment => {
            if !prefix && let Some(bad) = [".", ".."].into_iter().find(|b| *b == name) {
                return vec![format!("may not be '{bad}'")];
            }
            ["/", "%"]
                .iter()
                .filter(|c| name.contains(*c))
                .map(|c| format!("may not contain '{c}'"))
                .collect()
        }
    }
}

fn string_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Validates the `metadata` of an object being created, with paths under `metadata`.
pub(crate) fn validate_object_meta(
    meta: &Value,
    namespaced: bool,
    name_rule: NameRule,
) -> Vec<FieldCause> {
    validate_object_meta_at(meta, namespaced, name_rule, "metadata")
}

/// [`validate_object_meta`] for metadata at another path (embedded resources).
pub(crate) fn validate_object_meta_at(
    meta: &Value,
    namespaced: bool,
    name_rule: NameRule,
    at: &str,
) -> Vec<FieldCause> {
    let mut out = Vec::new();
    let field = |name: &str| path::child(at, name);

    let generate_name = string_at(meta, "generateName");
    if !generate_name.is_empty() {
        for msg in check_name(name_rule, generate_name, true) {
            out.push(gofmt::invalid(
                &field("generateName"),
                &Value::from(generate_name),
                &msg,
            ));
        }
    }
    let name = string_at(meta, "name");
    if name.is_empty() {
        out.push(FieldCause::required(
            &field("name"),
            "name or generateName is required",
        ));
    } else {
        for msg in check_name(name_rule, name, false) {
            out.push(gofmt::invalid(&field("name"), &Value::from(name), &msg));
        }
    }
    let namespace = string_at(meta, "namespace");
    if namespaced {
        if namespace.is_empty() {
            out.push(FieldCause::required(&field("namespace"), ""));
        } else {
            for msg in is_dns1123_label(namespace) {
                out.push(gofmt::invalid(
                    &field("namespace"),
                    &Value::from(namespace),
                    &msg,
                ));
            }
        }
    } else if !namespace.is_empty() {
        out.push(FieldCause::forbidden(
            &field("namespace"),
            "not allowed on this type",
        ));
    }
    if let Some(generation) = meta.get("generation").and_then(Value::as_i64)
        && generation < 0
    {
        out.push(gofmt::invalid(
            &field("generation"),
            &Value::from(generation),
            "must be greater than or equal to 0",
        ));
    }
    out.extend(validate_labels(meta.get("labels"), &field("labels")));
    out.extend(validate_annotations(
        meta.get("annotations"),
        &field("annotations"),
    ));
    out.extend(validate_owner_references(
        meta.get("ownerReferences"),
        &field("ownerReferences"),
    ));
    out.extend(validate_finalizers(
        meta.get("finalizers"),
        &field("finalizers"),
    ));
    out.extend(validate_managed_fields(
        meta.get("managedFields"),
        &field("managedFields"),
    ));
    out
}

fn string_map(v: Option<&Value>) -> Vec<(&str, &str)> {
    let Some(map) = v.and_then(Value::as_object) else {
        return Vec::new();
    };
    map.iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("")))
        .collect()
}

fn validate_labels(labels: Option<&Value>, at: &str) -> Vec<FieldCause> {
    let mut out = Vec::new();
    for (k, v) in string_map(labels) {
        for msg in is_qualified_name(k) {
            out.push(gofmt::invalid(at, &Value::from(k), &msg));
        }
        for msg in is_valid_label_value(v) {
            out.push(gofmt::invalid(at, &Value::from(v), &msg));
        }
    }
    out
}

fn validate_annotations(annotations: Option<&Value>, at: &str) -> Vec<FieldCause> {
    let mut out = Vec::new();
    let entries = string_map(annotations);
    for (k, _) in &entries {
        // Annotation keys are qualified names where case does not matter.
        for msg in is_qualified_name(&k.to_lowercase()) {
            out.push(gofmt::invalid(at, &Value::from(*k), &msg));
        }
    }
    let total: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        out.push(gofmt::too_long(at, TOTAL_ANNOTATION_SIZE_LIMIT));
    }
    out
}

fn validate_owner_references(refs: Option<&Value>, at: &str) -> Vec<FieldCause> {
    let Some(refs) = refs.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut first_controller: Option<String> = None;
    for r in refs {
        let api_version = string_at(r, "apiVersion");
        let kind = string_at(r, "kind");
        // schema.FromAPIVersionAndKind: an unparsable apiVersion leaves group and version empty.
        let (group, version) = match api_version.split('/').collect::<Vec<_>>().as_slice() {
            [v] => ("", *v),
            [g, v] => (*g, *v),
            _ => ("", ""),
        };
        if version.is_empty() {
            out.push(gofmt::invalid(
                &path::child(at, "apiVersion"),
                &Value::from(api_version),
                "version must not be empty",
            ));
        }
        if kind.is_empty() {
            out.push(gofmt::invalid(
                &path::child(at, "kind"),
                &Value::from(kind),
                "kind must not be empty",
            ));
        }
        for (key, detail) in [
            ("name", "name must not be empty"),
            ("uid", "uid must not be empty"),
        ] {
            let value = string_at(r, key);
            if value.is_empty() {
                out.push(gofmt::invalid(
                    &path::child(at, key),
                    &Value::from(value),
                    detail,
                ));
            }
        }
        if group.is_empty() && version == "v1" && kind == "Event" {
            out.push(gofmt::invalid(
                at,
                r,
                "/v1, Kind=Event is disallowed from being an owner",
            ));
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let current = format!("{kind}/{}", string_at(r, "name"));
            match &first_controller {
                Some(first) => {
                    let detail = format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {current}"
                    );
                    out.push(gofmt::invalid(at, &Value::Array(refs.clone()), &detail));
                }
                None => first_controller = Some(current),
            }
        }
    }
    out
}

fn validate_finalizers(finalizers: Option<&Value>, at: &str) -> Vec<FieldCause> {
    let Some(list) = finalizers.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
    for f in &names {
        for msg in is_qualified_name(f) {
            out.push(gofmt::invalid(at, &Value::from(*f), &msg));
        }
    }
    if names.contains(&"orphan") && names.contains(&"foregroundDeletion") {
        let detail = "finalizer orphan and foregroundDeletion cannot be both set";
        out.push(gofmt::invalid(at, &Value::Array(list.clone()), detail));
    }
    out
}

fn validate_managed_fields(entries: Option<&Value>, at: &str) -> Vec<FieldCause> {
    let Some(entries) = entries.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let here = path::index(at, i);
        let operation = string_at(e, "operation");
        if operation != "Apply" && operation != "Update" {
            out.push(gofmt::invalid(
                &path::child(&here, "operation"),
                &Value::from(operation),
                "must be `Apply` or `Update`",
            ));
        }
        let fields_type = string_at(e, "fieldsType");
        if !fields_type.is_empty() && fields_type != "FieldsV1" {
            out.push(gofmt::invalid(
                &path::child(&here, "fieldsType"),
                &Value::from(fields_type),
                "must be `FieldsV1`",
            ));
        }
        let manager = string_at(e, "manager");
        let manager_path = path::child(&here, "manager");
        if manager.len() > FIELD_MANAGER_MAX_LENGTH {
            out.push(gofmt::too_long(&manager_path, FIELD_MANAGER_MAX_LENGTH));
        }
        for (pos, c) in manager.char_indices().filter(|(_, c)| c.is_control()) {
            let detail = format!("invalid character U+{:04X} (at position {pos})", c as u32);
            out.push(gofmt::invalid(
                &manager_path,
                &Value::from(manager),
                &detail,
            ));
        }
        if string_at(e, "subresource").len() > SUBRESOURCE_MAX_LENGTH {
            out.push(gofmt::too_long(
                &path::child(&here, "subresource"),
                SUBRESOURCE_MAX_LENGTH,
            ));
        }
    }
    out
}
