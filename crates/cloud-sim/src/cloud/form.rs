//! The small text formats the AWS query protocol needs: `application/x-www-form-urlencoded`
//! parameters (in a query string or a body) and XML escaping for responses.

/// Decodes `a=1&b=x%20y` pairs; `+` is a space, bad escapes are kept as written.
pub fn parse(input: &str) -> Vec<(String, String)> {
    pairs(input, true)
}

/// Decodes pairs as URIs carry them (RFC 3986): `+` is itself, as SigV4's canonical query
/// reads it.
pub fn parse_raw(input: &str) -> Vec<(String, String)> {
    pairs(input, false)
}

fn pairs(input: &str, plus_is_space: bool) -> Vec<(String, String)> {
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k, plus_is_space), decode(v, plus_is_space))
        })
        .collect()
}

fn decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Escapes text for an XML element.
pub fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_pairs_decode() {
        assert_eq!(
            parse(
                "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fu&x=a+b&bad=%zz&end=%4"
            ),
            vec![
                ("Action".into(), "AssumeRoleWithWebIdentity".into()),
                ("RoleArn".into(), "arn:aws:iam::1:role/u".into()),
                ("x".into(), "a b".into()),
                ("bad".into(), "%zz".into()),
                ("end".into(), "%4".into()),
            ]
        );
    }

    #[test]
    fn raw_pairs_keep_plus() {
        assert_eq!(parse_raw("t=a+b%2B"), vec![("t".into(), "a+b+".into())]);
    }

    #[test]
    fn xml_escaping() {
        assert_eq!(xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }
}
