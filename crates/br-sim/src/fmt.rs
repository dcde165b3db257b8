//! Go formatting BR's output depends on: `time.Duration` parsing and printing, docker/go-units
//! `HumanSize`, and pingcap/log's quoting of field values.

use std::time::Duration;

/// Go's `time.ParseDuration` for non-negative durations (`1h30m`, `1.5s`, `300ms`, `0`).
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let s = text.strip_prefix('+').unwrap_or(text);
    if s.starts_with('-') {
        // BR rejects negative values itself; treat them as invalid here.
        return Err(invalid());
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(invalid());
        }
        let number: f64 = rest[..num_len].parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            other => return Err(format!("time: unknown unit {other:?} in duration {text:?}")),
        };
        total += number * scale;
    }
    Ok(Duration::from_secs_f64(total))
}

/// Go's `Duration.String()`: `1.416143685s`, `91.994496ms`, `1h2m3s`, `0s`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", trim_fraction(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim_fraction(nanos, 1_000_000));
    }
    let secs = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let seconds = trim_fraction(u128::from(s as u32) * 1_000_000_000 + frac, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / unit` with the fraction's trailing zeros removed.
fn trim_fraction(value: u128, unit: u128) -> String {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// docker/go-units `HumanSize`: decimal units, four significant digits (`74.35kB`, `1MB`).
pub fn human_size(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{}{}", format_g4(value), UNITS[unit])
}

/// `%.4g` for 0 ≤ v < 1000 (the range HumanSize produces).
fn format_g4(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = if v >= 1.0 {
        v.log10().floor() as i32 + 1
    } else {
        0
    };
    let decimals = (4 - digits).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// pingcap/log quotes a value holding bytes ≤ 0x20 or any of `\ " [ ] =`.
pub fn log_value(s: &str) -> String {
    let needs = s
        .bytes()
        .any(|b| b <= 0x20 || matches!(b, b'\\' | b'"' | b'[' | b']' | b'='));
    if !needs {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(
            go_duration(Duration::from_nanos(1_416_143_685)),
            "1.416143685s"
        );
        assert_eq!(go_duration(Duration::from_nanos(91_994_496)), "91.994496ms");
        assert_eq!(go_duration(Duration::from_secs(3723)), "1h2m3s");
        assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(go_duration(Duration::from_micros(5)), "5µs");
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(
            parse_go_duration("1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_go_duration("5").unwrap_err().contains("missing unit"));
        assert!(
            parse_go_duration("abc")
                .unwrap_err()
                .contains("invalid duration")
        );
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(74346.0), "74.35kB");
        assert_eq!(human_size(269_800.0), "269.8kB");
        assert_eq!(human_size(1000.0), "1kB");
        assert_eq!(human_size(999.0), "999B");
        assert_eq!(human_size(4_194_304.0), "4.194MB");
        assert_eq!(human_size(0.0), "0B");
    }

    #[test]
    fn quoting() {
        assert_eq!(log_value("42.00%"), "42.00%");
        assert_eq!(log_value("Full Backup"), "\"Full Backup\"");
        assert_eq!(log_value("a=b"), "\"a=b\"");
        assert_eq!(log_value("s3://b/p"), "s3://b/p");
        assert_eq!(log_value("say \"hi\""), "\"say \\\"hi\\\"\"");
    }
}
