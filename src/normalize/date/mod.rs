//! Lenient date parsing for feed timestamps, and the choice of an article's date.
//!
//! [`parse_date`] is meant to be installed as feed-rs's timestamp parser. RFC 3339 goes
//! through chrono directly; everything else (RFC 2822 and its many broken variants, a
//! trailing comment, W3C-DTF, asctime, `YYYY/MM/DD`, Korean/Greek/Hungarian month and marker
//! words, IANA zone names for the common zones, ...) goes through one small tokenizer. Inputs
//! longer than 120 bytes are rejected outright, so the cost is bounded. Bare Unix time
//! (`1518478934`) is no date: feed-rs dates an item by whichever of `pubDate` and `dc:date`
//! comes last, and feedjira's fixture of such a `dc:date` beside a good `pubDate` would take
//! a date four months off.
//!
//! The code is split by concern:
//! - `words`: the tokenizer, and the month, weekday and noise words it meets;
//! - `zone`: time zone abbreviations and IANA names, with their daylight-saving rules;
//! - `parser`: tokens -> date fields -> a UTC instant.

mod parser;
mod words;
mod zone;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Duration, Timelike, Utc};

use super::DateSource;
use parser::Parser;

/// Picks the article date: `published`, else `updated`, else `now`. A date more than
/// `max_future` ahead of `now` counts as absent while the other one is usable; when neither
/// is, it is replaced by `now` and flagged [`DateSource::ClampedFuture`]. A date before the
/// Unix epoch or on its first day (a feed's empty date written as 0, in any time zone:
/// `Thu, 01 Jan 1970 00:00:00 EST`) is a placeholder, not a date: it counts as absent.
pub fn choose_date(
    published: Option<DateTime<Utc>>,
    updated: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    max_future: Duration,
) -> (DateTime<Utc>, DateSource) {
    let real = |d: Option<DateTime<Utc>>| d.filter(|d| !is_placeholder(*d));
    let (published, updated) = (real(published), real(updated));
    let limit = now.checked_add_signed(max_future);
    let in_time = |d: Option<DateTime<Utc>>| d.filter(|d| limit.is_none_or(|l| *d <= l));
    match (in_time(published), in_time(updated)) {
        (Some(p), _) => (p, DateSource::Published),
        (None, Some(u)) => (u, DateSource::Updated),
        (None, None) if published.is_some() || updated.is_some() => {
            (now, DateSource::ClampedFuture)
        }
        (None, None) => (now, DateSource::FirstSeen),
    }
}

/// A date before the Unix epoch or on its first day: a feed's empty date written as 0, in any
/// time zone (`Thu, 01 Jan 1970 00:00:00 EST` is 05:00 UTC), not a date.
pub fn is_placeholder(d: DateTime<Utc>) -> bool {
    d.timestamp() <= 86_400
}

/// Parses a feed date string leniently; `None` when it is not a date. Fractional seconds
/// are dropped (whole-second precision, as feed dates are compared across feeds). Day and
/// month given as two numbers that both could be the month are read month first after `/`
/// (`05/12/2026` is 12 May), else day first; [`parse_date_near`] decides by the date.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    readings(s).map(|(d, _)| d)
}

/// [`parse_date`], for a feed fetched at `now`: when day and month could be read either
/// way round (`05/12/2026`), the reading nearer to `now` that is not more than a day ahead
/// of it (a feed's item is of the last days, not seven months away).
pub fn parse_date_near(s: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (d, other) = readings(s)?;
    let Some(other) = other else {
        return Some(d);
    };
    let limit = now + Duration::days(1);
    let distance = |x: DateTime<Utc>| {
        if x > limit {
            i64::MAX
        } else {
            (now - x).num_seconds().abs()
        }
    };
    Some(if distance(other) < distance(d) {
        other
    } else {
        d
    })
}

fn readings(s: &str) -> Option<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let s = s.trim();
    if s.is_empty() || s.len() > 120 {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some((d.with_timezone(&Utc).with_nanosecond(0)?, None));
    }
    Parser::new(s)
        .and_then(|p| p.parse_readings())
        .or_else(|| {
            // A leading word the parser does not know as a weekday: an abbreviated one in
            // another language (`mar.,` `Mo,` `Вт,` `di`), which it may even take for a month
            // (French and Spanish `mar` is Tuesday). The date after it, read alone.
            let rest = without_leading_word(s)?;
            Parser::new(rest)?.parse_readings()
        })
        .or_else(|| {
            // A comment at the end, as RFC 5322 allows and JavaScript's `Date.toString()`
            // writes: `Thu Nov 12 2020 17:00:00 GMT+0000 (Coordinated Universal Time)`.
            let open = s.strip_suffix(')')?.rfind('(')?;
            readings(&s[..open])
        })
}

/// `s` without its first word (letters of any script, at most 12) and the `.`, `,` and
/// spaces after it; `None` when it does not start with such a word followed by a separator.
fn without_leading_word(s: &str) -> Option<&str> {
    let end = s
        .char_indices()
        .find(|(_, c)| !c.is_alphabetic())
        .map(|(i, _)| i)?;
    if end == 0 || s[..end].chars().count() > 12 {
        return None;
    }
    let rest = &s[end..];
    let trimmed = rest.trim_start_matches(['.', ',', ' ', '\t']);
    (trimmed.len() < rest.len() && !trimmed.is_empty()).then_some(trimmed)
}
