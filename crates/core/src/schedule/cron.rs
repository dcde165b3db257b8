//! Parsing `spec.schedule`: the cron dialect TiDB Operator accepts (robfig/cron v1
//! `ParseStandard`), plus an optional `CRON_TZ=<zone>` / `TZ=<zone>` prefix.
//!
//! Accepted, as robfig accepts it:
//! - five fields, `minute hour day-of-month month day-of-week`, separated by spaces;
//! - in each field a comma list of `*` or `?` (any), `N`, `A-B`, each optionally with a
//!   step `/S`; `N/S` means `N-max/S`; months `JAN`..`DEC` and weekdays `SUN`..`SAT` by
//!   name, in any case; weekdays are `0`..`6` (robfig has no `7` for Sunday);
//! - descriptors `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
//!   `@hourly`, and `@every <Go duration>`.
//!
//! Refused, each with a message naming the problem: a seconds field (6 or 7 fields, which
//! robfig's standard parser refuses too), values out of range, zero steps, unknown names,
//! `L`/`W`/`#` extensions, and — where we are stricter than robfig, because robfig would
//! accept them and then never fire or fire at surprising times — a day-of-month and month
//! that never meet (`0 0 31 2 *`), empty list elements, `*-N`, and `@every` below one
//! second or with a fraction of a second (robfig silently rounds those).
//!
//! Time zones: without a prefix the schedule runs in UTC. TiDB Operator evaluates it in
//! the controller's local zone, which depends on how the operator was deployed; tibr
//! makes the zone part of the schedule instead. Zone names come from the IANA database
//! bundled into the binary, so a schedule means the same on every host.

use std::time::Duration;

use jiff::tz::{TimeZone, TimeZoneDatabase};

use crate::duration::parse_go_duration;

/// A parsed `spec.schedule`. Tick arithmetic is in `ticks.rs`.
#[derive(Debug, Clone)]
pub struct Cron {
    pub(super) zone: Zone,
    pub(super) kind: Kind,
}

/// The zone a calendar schedule is read in.
#[derive(Debug, Clone)]
pub struct Zone {
    pub(super) name: String,
    pub(super) tz: TimeZone,
}

impl Zone {
    fn utc() -> Self {
        Zone {
            name: "UTC".to_string(),
            tz: TimeZone::UTC,
        }
    }

    /// The zone's IANA name as written (`UTC` when no prefix was given).
    pub fn name(&self) -> &str {
        &self.name
    }
}

#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// Wall-clock times matching five fields.
    Calendar(Fields),
    /// `@every`: a fixed interval of whole seconds, anchored on the Unix epoch.
    Every(Duration),
}

/// Bit sets of the allowed values of each field (bit `n` = value `n`), and whether the
/// day fields were written with `*`/`?`, which selects robfig's day rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fields {
    pub minutes: u64,
    pub hours: u64,
    pub days_of_month: u64,
    pub months: u64,
    pub days_of_week: u64,
    pub dom_star: bool,
    pub dow_star: bool,
}

/// Why a schedule string was refused. The message names the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronError(pub String);

impl std::fmt::Display for CronError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CronError {}

const FIELD_NAMES: &str = "minute hour day-of-month month day-of-week";
const DESCRIPTORS: &str =
    "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>";

struct Bounds {
    what: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Bounds = Bounds {
    what: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Bounds = Bounds {
    what: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Bounds = Bounds {
    what: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
// Names are listed from the field's minimum value upwards.
const MONTH: Bounds = Bounds {
    what: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: Bounds = Bounds {
    what: "day-of-week",
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Cron {
    /// Parses a schedule string; see the module documentation for the accepted syntax.
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(CronError(
                "is empty: give five fields (minute hour day-of-month month day-of-week) or a descriptor such as @daily".into(),
            ));
        }
        let (zone, rest) = split_zone(trimmed)?;
        let kind = if rest.starts_with('@') {
            parse_descriptor(rest)?
        } else {
            Kind::Calendar(parse_fields(rest)?)
        };
        Ok(Cron { zone, kind })
    }

    /// The zone the schedule is read in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// For `@every`: the interval.
    pub fn every(&self) -> Option<Duration> {
        match self.kind {
            Kind::Every(d) => Some(d),
            Kind::Calendar(_) => None,
        }
    }
}

/// Takes an optional `CRON_TZ=<zone>` or `TZ=<zone>` prefix off the schedule.
fn split_zone(text: &str) -> Result<(Zone, &str), CronError> {
    let Some(after) = text
        .strip_prefix("CRON_TZ=")
        .or_else(|| text.strip_prefix("TZ="))
    else {
        return Ok((Zone::utc(), text));
    };
    let prefix = &text[..text.len() - after.len()];
    let (name, rest) = match after.find(char::is_whitespace) {
        Some(i) => (&after[..i], after[i..].trim_start()),
        None => (after, ""),
    };
    if name.is_empty() {
        return Err(CronError(format!(
            "{prefix} needs an IANA zone name, e.g. {prefix}Asia/Shanghai"
        )));
    }
    if rest.is_empty() {
        return Err(CronError(format!(
            "{prefix}{name} must be followed by the schedule itself, e.g. \"{prefix}{name} 0 2 * * *\""
        )));
    }
    // "Local" would make the schedule depend on the operator's host, which is what the
    // prefix exists to avoid.
    if name.eq_ignore_ascii_case("local") {
        return Err(CronError(format!(
            "{prefix}{name}: name the zone (e.g. Asia/Shanghai); \"Local\" is not accepted"
        )));
    }
    let tz = TimeZoneDatabase::bundled().get(name).map_err(|_| {
        CronError(format!(
            "{prefix}{name}: unknown time zone; use an IANA name such as Asia/Shanghai, America/New_York or UTC"
        ))
    })?;
    Ok((
        Zone {
            name: name.to_string(),
            tz,
        },
        rest,
    ))
}

fn parse_descriptor(text: &str) -> Result<Kind, CronError> {
    let calendar = |spec: &str| parse_fields(spec).map(Kind::Calendar);
    match text {
        "@yearly" | "@annually" => return calendar("0 0 1 1 *"),
        "@monthly" => return calendar("0 0 1 * *"),
        "@weekly" => return calendar("0 0 * * 0"),
        "@daily" | "@midnight" => return calendar("0 0 * * *"),
        "@hourly" => return calendar("0 * * * *"),
        _ => {}
    }
    let Some(rest) = text.strip_prefix("@every") else {
        return Err(CronError(format!(
            "unknown descriptor {text:?}; use {DESCRIPTORS}"
        )));
    };
    let arg = rest.trim();
    // Nothing after `@every`, or something glued to it (`@everyday`, `@every1h`).
    if arg.is_empty() || !rest.starts_with(char::is_whitespace) {
        return Err(CronError(format!(
            "{text:?}: write @every, a space and a Go duration, e.g. \"@every 1h30m\""
        )));
    }
    let interval = parse_go_duration(arg).map_err(|e| CronError(format!("@every: {e}")))?;
    if interval < Duration::from_secs(1) || interval.subsec_nanos() != 0 {
        // Backup names have one-second resolution, so finer intervals could not be
        // told apart; robfig rounds them silently, we say so instead.
        return Err(CronError(format!(
            "@every {arg}: the interval must be a whole number of seconds, at least 1s"
        )));
    }
    Ok(Kind::Every(interval))
}

fn parse_fields(text: &str) -> Result<Fields, CronError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    match fields.len() {
        5 => {}
        6 | 7 => {
            return Err(CronError(format!(
                "{text:?} has {} fields; expected 5 ({FIELD_NAMES}): a seconds or year field is not supported",
                fields.len()
            )));
        }
        n => {
            return Err(CronError(format!(
                "{text:?} has {n} field{}; expected 5 ({FIELD_NAMES}) or a descriptor such as @daily",
                if n == 1 { "" } else { "s" }
            )));
        }
    }
    let (minutes, _) = parse_field(fields[0], &MINUTE)?;
    let (hours, _) = parse_field(fields[1], &HOUR)?;
    let (days_of_month, dom_star) = parse_field(fields[2], &DAY_OF_MONTH)?;
    let (months, _) = parse_field(fields[3], &MONTH)?;
    let (days_of_week, dow_star) = parse_field(fields[4], &DAY_OF_WEEK)?;
    let parsed = Fields {
        minutes,
        hours,
        days_of_month,
        months,
        days_of_week,
        dom_star,
        dow_star,
    };
    if !parsed.some_day_matches() {
        return Err(CronError(format!(
            "no date has day-of-month {:?} in month {:?}, so the schedule would never run",
            fields[2], fields[3]
        )));
    }
    Ok(parsed)
}

impl Fields {
    /// Whether the day-of-month, month and day-of-week fields can ever agree. Only the
    /// day-of-month/month pair can fail: a restricted day-of-week alone always matches
    /// some day of any month, and with both day fields restricted either one suffices.
    fn some_day_matches(&self) -> bool {
        if !self.dom_star && !self.dow_star {
            return true;
        }
        const DAYS_IN_MONTH: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        (1..=12u32).any(|m| {
            self.months & (1 << m) != 0
                && (1..=DAYS_IN_MONTH[m as usize - 1]).any(|d| self.days_of_month & (1 << d) != 0)
        })
    }
}

/// One field: a comma list of ranges. Returns the bit set and whether any element was
/// `*` or `?` (robfig's "star", which switches the day rule from OR to AND).
fn parse_field(text: &str, b: &Bounds) -> Result<(u64, bool), CronError> {
    let mut bits = 0u64;
    let mut star = false;
    for element in text.split(',') {
        if element.is_empty() {
            return Err(CronError(format!(
                "{} field {text:?}: empty element in the list",
                b.what
            )));
        }
        let (element_bits, element_star) = parse_range(element, b)
            .map_err(|msg| CronError(format!("{} field {text:?}: {msg}", b.what)))?;
        bits |= element_bits;
        star |= element_star;
    }
    Ok((bits, star))
}

/// `*`, `?`, `N`, `A-B`, each with an optional `/step`.
fn parse_range(element: &str, b: &Bounds) -> Result<(u64, bool), String> {
    let mut parts = element.split('/');
    let base = parts.next().unwrap_or_default();
    let step = match parts.next() {
        None => None,
        Some(s) => {
            let step = parse_number(s).ok_or_else(|| format!("step {s:?} is not a number"))?;
            if step == 0 {
                return Err(format!("step in {element:?} must be at least 1"));
            }
            Some(step)
        }
    };
    if parts.next().is_some() {
        return Err(format!("{element:?} has more than one '/'"));
    }
    let (start, end, star) = if base == "*" || base == "?" {
        (b.min, b.max, true)
    } else {
        let mut ends = base.split('-');
        let low = value(ends.next().unwrap_or_default(), b)?;
        let high = match ends.next() {
            Some(h) => value(h, b)?,
            // `N/step` runs from N to the field's maximum, as in robfig.
            None if step.is_some() => b.max,
            None => low,
        };
        if ends.next().is_some() {
            return Err(format!("{element:?} has more than one '-'"));
        }
        if high < low {
            return Err(format!(
                "range {base:?} runs backwards ({low} is after {high})"
            ));
        }
        (low, high, false)
    };
    let step = step.unwrap_or(1) as usize;
    let bits = (start..=end)
        .step_by(step)
        .fold(0u64, |acc, v| acc | (1 << v));
    Ok((bits, star))
}

/// A number or (for months and weekdays) a three-letter name, within bounds.
fn value(text: &str, b: &Bounds) -> Result<u32, String> {
    if text.is_empty() {
        return Err("a range is missing a value".to_string());
    }
    if let Some(i) = b.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(b.min + i as u32);
    }
    let Some(v) = parse_number(text) else {
        let hint = match b.what {
            "month" => " (use 1-12 or JAN-DEC)",
            "day-of-week" => " (use 0-6 or SUN-SAT)",
            _ => "",
        };
        return Err(format!("{text:?} is not a valid value{hint}"));
    };
    if v < b.min {
        return Err(format!("{v} is below the minimum {}", b.min));
    }
    if v > b.max {
        let hint = if b.what == "day-of-week" && v == 7 {
            " (Sunday is 0 or SUN)"
        } else {
            ""
        };
        return Err(format!("{v} is above the maximum {}{hint}", b.max));
    }
    Ok(v)
}

fn parse_number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Anything too long to fit is out of every field's range anyway.
    Some(text.parse::<u32>().unwrap_or(u32::MAX))
}
