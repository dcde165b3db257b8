//! When a schedule fires: ticks are instants, computed from the cron fields read as
//! wall-clock times in the schedule's zone.
//!
//! The rule, which holds across daylight-saving changes: **every wall-clock time the
//! fields match runs exactly once.**
//! - A matching time that does not exist (it falls in a spring-forward gap, e.g. 02:30 on
//!   the night New York skips from 02:00 to 03:00) runs at the instant the gap ends (03:00
//!   local). Several such times collapse into that one tick, which is also the tick of
//!   03:00 itself if the fields match 03:00. Nothing is dropped: a daily 02:30 backup
//!   runs at 03:00 that day.
//! - A matching time that happens twice (a fall-back hour, e.g. 01:30 in New York on the
//!   first Sunday of November) runs at its first occurrence only. A daily 01:30 backup
//!   runs once that day; an hourly `0 * * * *` schedule has one two-hour gap that night.
//!   Use UTC (the default) or `@every` when equal spacing matters more than wall-clock
//!   times.
//!
//! `@every <d>` fires at the multiples of `d` since the Unix epoch (1970-01-01T00:00:00Z),
//! whatever the zone: the ticks depend only on `d`, never on when the schedule was
//! created or last ran, so a restart, a re-created schedule or a late reconcile always
//! computes the same ticks (and thus the same Backup names). `@every 1h` fires on the
//! hour (UTC), `@every 24h` at 00:00 UTC.

use jiff::{
    Timestamp, ToSpan,
    civil::{Date, DateTime, Time},
    tz::AmbiguousOffset,
};

use super::cron::{Cron, Fields, Kind};

/// How far ahead a search for the next matching day may go. Every schedule that parses
/// matches within a few years (29 February on a given weekday recurs within 28 years);
/// 400 years is the length of the Gregorian cycle, so nothing beyond it can be new.
const SEARCH_YEARS: i16 = 400;

/// The ticks that came due in a window `(after, until]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueTicks {
    /// The earliest tick in the window.
    pub first: Option<Timestamp>,
    /// The latest tick in the window: the one a catch-up run is for.
    pub latest: Option<Timestamp>,
    /// How many ticks the window holds, counted up to the cap given.
    pub count: u64,
    /// Whether `count` stopped at the cap (there are at least that many).
    pub capped: bool,
}

impl Cron {
    /// The first tick strictly after `t`.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        match &self.kind {
            Kind::Every(d) => {
                let step = d.as_nanos() as i128;
                let k = t.as_nanosecond().div_euclid(step) + 1;
                Timestamp::from_nanosecond(k * step).ok()
            }
            Kind::Calendar(fields) => {
                // Wall-clock times before `t`'s own can only map to instants before `t`
                // (the mapping never goes backwards), so the search starts there and
                // skips the few candidates of a repeated hour that still lie behind.
                let mut candidate = floor_minute(self.zone.tz.to_datetime(t));
                loop {
                    candidate = next_match(fields, candidate)?;
                    let at = self.instant_of(candidate)?;
                    if at > t {
                        return Some(at);
                    }
                    candidate = candidate.checked_add(1.minute()).ok()?;
                }
            }
        }
    }

    /// The latest tick at or before `t`.
    pub fn latest_at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        match &self.kind {
            Kind::Every(d) => {
                let step = d.as_nanos() as i128;
                let k = t.as_nanosecond().div_euclid(step);
                Timestamp::from_nanosecond(k * step).ok()
            }
            Kind::Calendar(fields) => {
                // A wall-clock time up to a day later than `t`'s may still have its first
                // occurrence at or before `t` (inside a repeated hour), so the backward
                // search starts a day ahead and skips what lies after `t`.
                let mut candidate = floor_minute(self.zone.tz.to_datetime(t))
                    .checked_add(1.day())
                    .ok()?;
                loop {
                    candidate = prev_match(fields, candidate)?;
                    let at = self.instant_of(candidate)?;
                    if at <= t {
                        return Some(at);
                    }
                    candidate = candidate.checked_sub(1.minute()).ok()?;
                }
            }
        }
    }

    /// The latest tick in `(after, until]`.
    pub fn latest_between(&self, after: Timestamp, until: Timestamp) -> Option<Timestamp> {
        self.latest_at_or_before(until).filter(|t| *t > after)
    }

    /// The ticks in `(after, until]`, at most `limit` of them, earliest first.
    pub fn ticks_between(
        &self,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Vec<Timestamp> {
        let mut out = Vec::new();
        let mut cursor = after;
        while out.len() < limit {
            match self.next_after(cursor) {
                Some(t) if t <= until => {
                    out.push(t);
                    cursor = t;
                }
                _ => break,
            }
        }
        out
    }

    /// The ticks that came due in `(after, until]`: the first, the latest, and how many
    /// (counting stops at `cap`).
    pub fn due_between(&self, after: Timestamp, until: Timestamp, cap: u64) -> DueTicks {
        let none = DueTicks {
            first: None,
            latest: None,
            count: 0,
            capped: false,
        };
        if until <= after {
            return none;
        }
        let Some(first) = self.next_after(after).filter(|t| *t <= until) else {
            return none;
        };
        let latest = self.latest_between(after, until);
        let (count, capped) = match &self.kind {
            Kind::Every(d) => {
                let step = d.as_nanos() as i128;
                let n =
                    until.as_nanosecond().div_euclid(step) - after.as_nanosecond().div_euclid(step);
                let n = u64::try_from(n).unwrap_or(u64::MAX);
                (n.min(cap), n > cap)
            }
            Kind::Calendar(_) => {
                let n = self.ticks_between(after, until, cap as usize + 1).len() as u64;
                (n.min(cap), n > cap)
            }
        };
        DueTicks {
            first: Some(first),
            latest,
            count,
            capped,
        }
    }

    /// The instant a matching wall-clock time runs at: its only occurrence, its first
    /// one in a repeated hour, or the end of the gap it falls in.
    fn instant_of(&self, local: DateTime) -> Option<Timestamp> {
        let tz = &self.zone.tz;
        match tz.to_ambiguous_timestamp(local).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok(),
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local).ok(),
            AmbiguousOffset::Gap { after, .. } => {
                // Read with the later offset, a time in the gap lands just before the
                // transition; the transition that follows is where the gap ends.
                let probe = after.to_timestamp(local).ok()?;
                tz.following(probe).next().map(|tr| tr.timestamp())
            }
        }
    }
}

fn floor_minute(dt: DateTime) -> DateTime {
    dt.with()
        .second(0)
        .subsec_nanosecond(0)
        .build()
        .unwrap_or(dt)
}

impl Fields {
    fn day_matches(&self, date: Date) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let dom = self.days_of_month & (1 << date.day()) != 0;
        let dow = self.days_of_week & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        // robfig's rule: when either day field was written with `*` or `?`, both must
        // match; when both are restricted, either one is enough.
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The first (hour, minute) at or after `from` that the fields allow.
    fn first_time_from(&self, from: Time) -> Option<Time> {
        let (h0, m0) = (from.hour() as u32, from.minute() as u32);
        (h0..24)
            .filter(|h| self.hours & (1 << h) != 0)
            .find_map(|h| {
                let lowest = if h == h0 { m0 } else { 0 };
                let m = next_bit(self.minutes, lowest, 59)?;
                Time::new(h as i8, m as i8, 0, 0).ok()
            })
    }

    /// The last (hour, minute) at or before `until` that the fields allow.
    fn last_time_until(&self, until: Time) -> Option<Time> {
        let (h0, m0) = (until.hour() as u32, until.minute() as u32);
        (0..=h0)
            .rev()
            .filter(|h| self.hours & (1 << h) != 0)
            .find_map(|h| {
                let highest = if h == h0 { m0 } else { 59 };
                let m = prev_bit(self.minutes, highest)?;
                Time::new(h as i8, m as i8, 0, 0).ok()
            })
    }
}

/// The lowest set bit in `lowest..=highest`.
fn next_bit(bits: u64, lowest: u32, highest: u32) -> Option<u32> {
    (lowest..=highest).find(|b| bits & (1 << b) != 0)
}

/// The highest set bit in `0..=highest`.
fn prev_bit(bits: u64, highest: u32) -> Option<u32> {
    (0..=highest).rev().find(|b| bits & (1 << b) != 0)
}

/// The first wall-clock minute at or after `from` that the fields match.
fn next_match(fields: &Fields, from: DateTime) -> Option<DateTime> {
    let limit = from.year().checked_add(SEARCH_YEARS)?;
    let mut date = from.date();
    let mut earliest = from.time();
    while date.year() <= limit {
        if fields.months & (1 << date.month()) == 0 {
            // Skip the whole month.
            date = date.last_of_month().tomorrow().ok()?;
            earliest = Time::midnight();
            continue;
        }
        if fields.day_matches(date)
            && let Some(time) = fields.first_time_from(earliest)
        {
            return Some(date.to_datetime(time));
        }
        date = date.tomorrow().ok()?;
        earliest = Time::midnight();
    }
    None
}

/// The last wall-clock minute at or before `until` that the fields match.
fn prev_match(fields: &Fields, until: DateTime) -> Option<DateTime> {
    let limit = until.year().checked_sub(SEARCH_YEARS)?;
    let mut date = until.date();
    let mut latest = until.time();
    let end_of_day = Time::new(23, 59, 0, 0).ok()?;
    while date.year() >= limit {
        if fields.months & (1 << date.month()) == 0 {
            date = date.first_of_month().yesterday().ok()?;
            latest = end_of_day;
            continue;
        }
        if fields.day_matches(date)
            && let Some(time) = fields.last_time_until(latest)
        {
            return Some(date.to_datetime(time));
        }
        date = date.yesterday().ok()?;
        latest = end_of_day;
    }
    None
}
