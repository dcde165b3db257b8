//! The `format` values CRD schemas validate.
//!
//! The server keeps only the formats in its supported list (compared with `-` removed,
//! so `date-time` is `datetime`) and silently drops every other one. Notably `int32`,
//! `int64`, `float` and `double` are *not* in that list, so they constrain nothing.
//!
//! Deviations: `isbn*` and `creditcard` accept any string (no checksum), `email` and
//! `uri` use a shape check rather than Go's parsers.

use std::net::IpAddr;
use std::sync::LazyLock;

use base64::Engine;
use regex::Regex;

const SUPPORTED: [&str; 24] = [
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
];

/// The format as the validator sees it: `None` when the server would strip it.
pub(crate) fn effective(format: &str) -> Option<&str> {
    if format.is_empty() {
        return None;
    }
    let normalized = format.replace('-', "");
    SUPPORTED.contains(&normalized.as_str()).then_some(format)
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("format regexes are valid")
}

static UUID: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"));
static UUID3: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID4: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static UUID5: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static TIME_OF_DAY: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(z|[+-][0-9]{2}:[0-9]{2})$"));
static DATE: LazyLock<Regex> = LazyLock::new(|| re(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$"));
static HOSTNAME_LABEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[\p{L}\p{S}0-9]([\p{L}\p{S}0-9-]{0,61}[\p{L}\p{S}0-9])?$"));
static MAC: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^([0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(([:-])[0-9A-Fa-f]{2}){4,18}|[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4}){2,9})$",
    )
});
static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*[-+]?(\s*[0-9]+(\.[0-9]*)?\s*(ns|us|µs|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?|minutes?|hours?|days?|weeks?)\s*)+$",
    )
});
static HEX_COLOR: LazyLock<Regex> = LazyLock::new(|| re(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"));
static RGB_COLOR: LazyLock<Regex> = LazyLock::new(|| {
    let c = r"\s*(0|[1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\s*";
    re(&format!(r"^rgb\({c},{c},{c}\)$"))
});
static SSN: LazyLock<Regex> = LazyLock::new(|| re(r"^[0-9]{3}[- ]?[0-9]{2}[- ]?[0-9]{4}$"));
static OBJECT_ID: LazyLock<Regex> = LazyLock::new(|| re(r"^[0-9a-fA-F]{24}$"));
static URI: LazyLock<Regex> = LazyLock::new(|| re(r"^([a-zA-Z][a-zA-Z0-9+.-]*:[^\s]*|/[^\s]*)$"));

fn is_date(s: &str) -> bool {
    let Some(c) = DATE.captures(s) else {
        return false;
    };
    let num = |i: usize| c[i].parse::<i32>().unwrap_or(0);
    let (Ok(y), Ok(m), Ok(d)) = (
        i16::try_from(num(1)),
        i8::try_from(num(2)),
        i8::try_from(num(3)),
    ) else {
        return false;
    };
    jiff::civil::Date::new(y, m, d).is_ok()
}

fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let mut parts = lower.split('t');
    let (Some(date), Some(time)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let Some(c) = TIME_OF_DAY.captures(time) else {
        return false;
    };
    &c[1] <= "23" && &c[2] <= "59" && &c[3] <= "59"
}

fn is_hostname(s: &str) -> bool {
    if s.is_empty() || s.len() > 255 {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    if labels.len() > 1 {
        let tld = labels[labels.len() - 1];
        let tld_ok =
            (2..=63).contains(&tld.chars().count()) && tld.chars().all(char::is_alphabetic);
        tld_ok
            && labels[..labels.len() - 1]
                .iter()
                .all(|l| HOSTNAME_LABEL.is_match(l))
    } else {
        HOSTNAME_LABEL.is_match(s)
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    !bits.is_empty()
        && bits.chars().all(|c| c.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|b| b <= max)
}

fn is_email(s: &str) -> bool {
    let addr = match (s.find('<'), s.rfind('>')) {
        (Some(start), Some(end)) if start < end => &s[start + 1..end],
        _ => s.trim(),
    };
    match addr.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !addr.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// Whether `s` is valid for the (already [`effective`]) `format`.
pub(crate) fn is_valid(format: &str, s: &str) -> bool {
    match format.replace('-', "").as_str() {
        "datetime" => is_date_time(s),
        "date" => is_date(s),
        "uuid" => UUID.is_match(s),
        "uuid3" => UUID3.is_match(s),
        "uuid4" => UUID4.is_match(s),
        "uuid5" => UUID5.is_match(s),
        "ipv4" => s.parse::<IpAddr>().is_ok() && s.contains('.'),
        "ipv6" => s.parse::<IpAddr>().is_ok() && s.contains(':'),
        "cidr" => is_cidr(s),
        "mac" => MAC.is_match(s),
        "byte" => base64::engine::general_purpose::STANDARD.decode(s).is_ok(),
        "hostname" => is_hostname(s),
        "email" => is_email(s),
        "uri" => URI.is_match(s),
        "duration" => DURATION.is_match(s),
        "hexcolor" => HEX_COLOR.is_match(s),
        "rgbcolor" => RGB_COLOR.is_match(s),
        "ssn" => SSN.is_match(s),
        "bsonobjectid" => OBJECT_ID.is_match(s),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_supported_formats_take_effect() {
        assert_eq!(effective("date-time"), Some("date-time"));
        assert_eq!(effective("int32"), None);
        assert_eq!(effective("int64"), None);
        assert_eq!(effective("double"), None);
        assert_eq!(effective(""), None);
    }

    #[test]
    fn formats_accept_and_reject() {
        let cases = [
            ("date-time", "2024-01-02T03:04:05Z", true),
            ("date-time", "2024-01-02t03:04:05.123+08:00", true),
            ("date-time", "2024-01-02T24:04:05Z", false),
            ("date-time", "2024-02-30T03:04:05Z", false),
            ("date-time", "yesterday", false),
            ("date", "2024-02-29", true),
            ("date", "2023-02-29", false),
            ("uuid", "123e4567-e89b-12d3-a456-426614174000", true),
            ("uuid", "123e4567", false),
            ("ipv4", "10.0.0.1", true),
            ("ipv4", "::1", false),
            ("ipv6", "::1", true),
            ("cidr", "10.0.0.0/8", true),
            ("cidr", "10.0.0.0/33", false),
            ("byte", "aGVsbG8=", true),
            ("byte", "not base64!", false),
            ("hostname", "example.com", true),
            ("hostname", "-bad.com", false),
            ("duration", "1h30m", true),
            ("duration", "soon", false),
            ("password", "anything", true),
        ];
        for (format, value, want) in cases {
            assert_eq!(is_valid(format, value), want, "{format} {value}");
        }
    }
}
