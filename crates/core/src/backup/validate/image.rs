//! `spec.toolImage` as a container image reference, by the grammar the kubelet parses it
//! with (Docker's distribution `reference`, normalized names). A reference it cannot parse
//! never runs: the pod sits in `InvalidImageName`, or, through the sandbox's and some
//! runtimes' error paths, fails with something unrelated. Checked here, the Backup says
//! which field is wrong before any Job exists.
//!
//! `[host[:port]/]path[:tag][@digest]`:
//! - the first component is a registry host when it has a `.` or a `:`, is `localhost`, or
//!   has upper case letters (Docker's rule for telling `registry:5000/br` from `pingcap/br`);
//!   a host is DNS labels or a bracketed IPv6 address, the port digits;
//! - path components are lower case letters and digits, joined by `.`, `_`, `__` or dashes;
//! - a tag is a word character then up to 127 word characters, dots and dashes;
//! - a digest is `sha256:` with 64, `sha384:` with 96 or `sha512:` with 128 lower case hex
//!   digits (the algorithms the kubelet's digest parser accepts);
//! - the name, as Docker spells it out (`docker.io/library/...` for short names), is at most
//!   255 characters.

use super::{Errors, non_empty};

/// Longest image name (registry and path), as Docker counts it.
const MAX_NAME: usize = 255;
const MAX_TAG: usize = 128;
const DEFAULT_REGISTRY: &str = "docker.io";

/// `spec.toolImage`, as the pod will use it (trimmed).
pub(super) fn check_tool_image(errors: &mut Errors, field: &str, tool_image: &Option<String>) {
    if let Some(image) = non_empty(tool_image)
        && let Err(why) = check(&image)
    {
        errors.push(
            field,
            format!(
                "{image:?} is not an image reference: {why} (e.g. pingcap/br:v8.5.0 or \
                 registry.example.com:5000/pingcap/br:v8.5.0)"
            ),
        );
    }
}

/// Why `reference` is not an image reference, or `Ok`.
pub(super) fn check(reference: &str) -> Result<(), String> {
    if let Some(c) = reference
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-/:@[]".contains(*c)))
    {
        return Err(if c.is_whitespace() {
            "it contains white space".to_string()
        } else {
            format!("the character {c:?} cannot appear in one")
        });
    }
    if reference.len() == 64 && is_lower_hex(reference) {
        return Err("a 64-digit hexadecimal string is an image ID, not a reference".into());
    }
    let (named, digest) = match reference.split_once('@') {
        Some((named, digest)) => (named, Some(digest)),
        None => (reference, None),
    };
    if let Some(d) = digest {
        check_digest(d)?;
    }
    // A colon after the last slash starts the tag; before it, it is the registry's port.
    let (name, tag) = match named.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, Some(tag)),
        _ => (named, None),
    };
    if let Some(t) = tag {
        check_tag(t)?;
    }
    check_name(name)
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the image name is missing".into());
    }
    let (registry, path) = match name.split_once('/') {
        Some((first, rest)) if is_registry(first) => (Some(first), rest),
        _ => (None, name),
    };
    if let Some(r) = registry {
        check_registry(r)?;
    }
    for component in path.split('/') {
        check_path_component(component)?;
    }
    let spelled_out = match registry {
        Some(r) => r.len() + 1 + path.len(),
        None if path.contains('/') => DEFAULT_REGISTRY.len() + 1 + path.len(),
        None => DEFAULT_REGISTRY.len() + "/library/".len() + path.len(),
    };
    if spelled_out > MAX_NAME {
        return Err(format!(
            "the image name is longer than {MAX_NAME} characters"
        ));
    }
    Ok(())
}

fn is_registry(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.chars().any(|c| c.is_ascii_uppercase())
}

fn check_registry(registry: &str) -> Result<(), String> {
    let bad = || format!("{registry:?} is not a registry host[:port]");
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
        if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(bad());
        }
        match after {
            "" => (None, None),
            _ => (None, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(h) = host
        && !h.split('.').all(is_dns_label)
    {
        return Err(bad());
    }
    if let Some(p) = port
        && (p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad());
    }
    Ok(())
}

/// A label of a registry's host name: letters, digits and inner dashes.
fn is_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// `[a-z0-9]+` runs joined by one `.` or `_`, by `__`, or by any number of dashes.
fn check_path_component(component: &str) -> Result<(), String> {
    if component.is_empty() {
        return Err("it has an empty path component (two slashes, or one at an end)".into());
    }
    if component.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "the repository name must be lower case ({component:?})"
        ));
    }
    let bad = || {
        format!(
            "{component:?} is not a path component: lower case letters and digits, joined by \
             '.', '_', '__' or '-'"
        )
    };
    let bytes = component.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_lowercase() || bytes[i].is_ascii_digit()) {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        if i == bytes.len() {
            return Ok(());
        }
        let sep = i;
        while i < bytes.len() && bytes[i] == b'-' {
            i += 1;
        }
        if i == sep {
            match &component[sep..] {
                s if s.starts_with("__") => i += 2,
                s if s.starts_with(['.', '_']) => i += 1,
                _ => return Err(bad()),
            }
        }
    }
}

fn check_tag(tag: &str) -> Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = tag.len() <= MAX_TAG
        && tag.chars().next().is_some_and(word)
        && tag.chars().all(|c| word(c) || c == '.' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the tag {tag:?} is not 1 to {MAX_TAG} letters, digits, '_', '.' or '-' starting with a letter, digit or '_'"
        ))
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let (algorithm, hex) = digest.split_once(':').unwrap_or((digest, ""));
    let want = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Err(format!(
                "the digest {digest:?} is not sha256:, sha384: or sha512: followed by lower case hex digits"
            ));
        }
    };
    if hex.len() != want || !is_lower_hex(hex) {
        return Err(format!(
            "the digest {digest:?} needs {want} lower case hex digits after {algorithm}:"
        ));
    }
    Ok(())
}

fn is_lower_hex(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn references_the_kubelet_would_pull_are_accepted() {
        let sha = "a".repeat(64);
        let accepted = [
            "pingcap/br:v8.5.0".to_string(),
            "pingcap/br".into(),
            "br".into(),
            "registry.example.com:5000/pingcap/br:v7.5.1".into(),
            "registry.example.com/pingcap/br".into(),
            "localhost/br:dev".into(),
            "localhost:5000/br".into(),
            "hub.pingcap.net/tidb/br:v8.5.0-20250101-abcdef".into(),
            format!("pingcap/br@sha256:{sha}"),
            format!("pingcap/br:v8.5.0@sha256:{sha}"),
            format!(
                "registry.example.com:5000/pingcap/br@sha512:{}",
                "0".repeat(128)
            ),
            "[::1]:5000/pingcap/br:v8.5.0".into(),
            "[fe80::1]/br".into(),
            "my_org/br__tools/b-r--x/br.1:latest".into(),
            "Registry.Example/br".into(),
            "br:_private".into(),
            format!("br:{}", "x".repeat(128)),
            format!("r.io/{}", "a".repeat(250)),
        ];
        for r in &accepted {
            assert_eq!(check(r), Ok(()), "{r}");
        }
    }

    #[test]
    fn references_the_kubelet_refuses_are_refused_with_a_reason() {
        let refused: Vec<(String, &str)> = vec![
            ("a b".into(), "white space"),
            (" pingcap/br".into(), "white space"),
            ("pingcap/br:v8.5.0\n".into(), "white space"),
            ("pingcap/BR".into(), "must be lower case"),
            ("pingcap/br:".into(), "the tag \"\""),
            ("pingcap/br:-v1".into(), "the tag \"-v1\""),
            (format!("br:{}", "x".repeat(129)), "the tag"),
            ("pingcap/br:v8.5.0:x".into(), "is not a path component"),
            ("pingcap//br".into(), "empty path component"),
            ("pingcap/br/".into(), "empty path component"),
            ("/br".into(), "empty path component"),
            ("".into(), "the image name is missing"),
            (":v1".into(), "the image name is missing"),
            ("pingcap/-br".into(), "is not a path component"),
            ("pingcap/br-".into(), "is not a path component"),
            ("pingcap/b..r".into(), "is not a path component"),
            ("pingcap/b___r".into(), "is not a path component"),
            (
                "pingcap/br@sha256:abc".into(),
                "needs 64 lower case hex digits",
            ),
            (format!("pingcap/br@sha256:{}", "A".repeat(64)), "needs 64"),
            (
                format!("pingcap/br@md5:{}", "a".repeat(32)),
                "is not sha256:",
            ),
            ("pingcap/br@".into(), "is not sha256:"),
            ("registry.-bad.com/br".into(), "is not a registry host"),
            ("registry.com:50a0/br".into(), "is not a registry host"),
            ("registry.com:/br".into(), "is not a registry host"),
            ("[zz::1]/br".into(), "is not a registry host"),
            ("[::1]x/br".into(), "is not a registry host"),
            ("pingcap/br!".into(), "the character '!'"),
            ("https://registry.com/br".into(), "is not a registry host"),
            ("a".repeat(64), "image ID"),
            (format!("r.io/{}", "a".repeat(251)), "longer than 255"),
            (format!("{}/br", "a".repeat(243)), "longer than 255"),
        ];
        for (r, why) in &refused {
            let got = check(r);
            assert!(
                got.as_ref().is_err_and(|e| e.contains(why)),
                "{r:?}: want an error with {why:?}, got {got:?}"
            );
        }
    }

    #[test]
    fn a_bad_tool_image_makes_the_spec_invalid_naming_the_field() {
        let backup: tibr_api::Backup = serde_json::from_value(serde_json::json!({
            "apiVersion": "pingcap.com/v1alpha1", "kind": "Backup",
            "metadata": {"name": "b", "namespace": "ns"},
            "spec": {"br": {"cluster": "c"}, "s3": {"provider": "aws", "bucket": "bkt"}, "toolImage": "a b"}
        }))
        .unwrap();
        let errors = crate::backup::validate(&backup, None).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "spec.toolImage");
        assert!(
            errors[0].to_string().starts_with(
                "spec.toolImage: \"a b\" is not an image reference: it contains white space"
            ),
            "{}",
            errors[0]
        );
    }
}
