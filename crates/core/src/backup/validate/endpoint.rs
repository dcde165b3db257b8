//! `spec.s3.endpoint`: BR and the agent's S3 client speak HTTP(S) only, so any other scheme
//! (`ftp://x`) would pass a looser check and fail later, inside the pod. Credentials in the
//! URL are refused too: the endpoint reaches BR's command line, where no secret may go.

use super::Errors;

const FIELD: &str = "spec.s3.endpoint";
const EXAMPLE: &str = "e.g. http://minio.minio:9000";

/// Adds an error when `endpoint` (trimmed, non-empty) is not an `http://` or `https://` URL
/// with a host.
pub(super) fn check_endpoint(errors: &mut Errors, endpoint: Option<&str>) {
    if let Some(e) = endpoint
        && let Err(why) = problem(e)
    {
        errors.push(FIELD, format!("{:?} {why} ({EXAMPLE})", shown(e)));
    }
}

/// The endpoint as an error may quote it: user information (a password, perhaps) blanked.
fn shown(endpoint: &str) -> String {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return endpoint.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => endpoint.to_string(),
    }
}

fn problem(endpoint: &str) -> Result<(), &'static str> {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return Err("is not a URL with a scheme and a host");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("is not a URL BR can use: the scheme must be http or https");
    }
    if endpoint
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("is not a URL: it contains white space");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry credentials: put them in the Secret spec.s3.secretName names");
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((ip, after)) if !ip.is_empty() => (ip, after.strip_prefix(':')),
            _ => return Err("is not a URL: its IPv6 host is not closed by ']'"),
        },
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("is not a URL with a host");
    }
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err("is not a URL: its port is not a number from 1 to 65535");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_with_a_host_pass() {
        for ok in [
            "http://minio.minio:9000",
            "https://s3.us-west-1.amazonaws.com",
            "HTTPS://storage.example.com/",
            "http://10.0.0.5:9000/path?x=1",
            "http://[fd00::5]:9000",
            "http://localhost",
        ] {
            assert_eq!(problem(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn other_schemes_and_hostless_urls_are_refused_naming_the_field() {
        for (bad, why) in [
            ("ftp://x", "the scheme must be http or https"),
            ("s3://bucket", "the scheme must be http or https"),
            ("minio:9000", "is not a URL with a scheme and a host"),
            ("http://", "is not a URL with a host"),
            ("http:///bucket", "is not a URL with a host"),
            ("http://:9000", "is not a URL with a host"),
            ("http://minio:99999", "port is not a number"),
            ("http://minio:", "port is not a number"),
            ("http://mi nio:9000", "white space"),
            ("http://[fd00::5:9000", "IPv6 host"),
        ] {
            let mut errors = Errors(Vec::new());
            check_endpoint(&mut errors, Some(bad));
            let text = errors.0.iter().map(ToString::to_string).collect::<Vec<_>>();
            assert_eq!(text.len(), 1, "{bad}: {text:?}");
            assert!(
                text[0].starts_with(&format!("spec.s3.endpoint: {bad:?} "))
                    && text[0].contains(why),
                "{bad}: want {why:?}, got {text:?}"
            );
        }
        // The message quotes the URL without what precedes the host.
        let mut errors = Errors(Vec::new());
        check_endpoint(&mut errors, Some("http://key:s3cr3t-value@minio:9000/x"));
        let text = errors.0[0].to_string();
        assert!(text.contains("must not carry credentials"), "{text}");
        assert!(text.contains("\"http://***@minio:9000/x\""), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        let mut none = Errors(Vec::new());
        check_endpoint(&mut none, None);
        assert!(none.0.is_empty());
    }
}
