//! When to poll a source next: pure functions of its configuration, its state and the last
//! outcome (Miniflux's `ScheduleNextCheck`, extended).
//!
//! - **Base interval**: the configured interval; with `schedule.adaptive`, the feed's mean time
//!   between entries, kept within ¼× and 4× the configured interval. RSS `<ttl>`,
//!   `Cache-Control: max-age` and `Expires` may then lengthen it, never shorten it; the result
//!   is clamped to `[min_interval, max_interval]`.
//! - **Phase**: each source has a fixed phase in `[0, 1)` (its rank by a hash of its name among
//!   all sources, stratified: the k-th of n gets `(k + ½) / n`). After a success the next poll
//!   is the next instant `t ≥ now + base/2` with `t ≡ phase × base (mod base)` on the wall
//!   clock: sources with the same interval are spread evenly over it and stay so, whatever
//!   order they started in, and a restart keeps each one's slot.
//! - **Failure**: `base × 2^(failures-1)` (the first retry after one interval, then doubling),
//!   capped at `schedule.max_backoff`, minus up to 15 % jitter so that sources failing together
//!   do not retry together. A `Retry-After` (429/503) raises the wait to what the server asked,
//!   bounded by `schedule.max_retry_after`. A failing source is never disabled.
//! - **skipHours/skipDays**: a poll due in a skipped hour (UTC) or day moves to the start of
//!   the next allowed hour, plus a phase-based offset within its first quarter.

use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc};
use xxhash_rust::xxh3::xxh3_64;

use crate::config::ScheduleConfig;
use crate::storage::{Millis, SourceState};

/// Bounds and switches from `[schedule]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Shortest interval.
    pub min: Duration,
    /// Longest interval (successes).
    pub max: Duration,
    /// Longest wait after failures.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// Follow the publishing rate.
    pub adaptive: bool,
}

impl From<&ScheduleConfig> for Bounds {
    fn from(s: &ScheduleConfig) -> Self {
        Bounds {
            min: s.min_interval,
            max: s.max_interval.max(s.min_interval),
            max_backoff: s.max_backoff,
            max_retry_after: s.max_retry_after,
            adaptive: s.adaptive,
        }
    }
}

/// What the next poll depends on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs {
    /// The configured interval.
    pub interval: Duration,
    /// The source's phase in `[0, 1)` ([`phases`]).
    pub phase: f64,
    /// Failures in a row, the last poll included (0: it succeeded).
    pub failures: u32,
    /// `Retry-After` of the last response.
    pub retry_after: Option<Duration>,
    /// RSS `<ttl>`.
    pub ttl: Option<Duration>,
    /// `Cache-Control: max-age` / `Expires` of the last response.
    pub fresh_for: Option<Duration>,
    /// Mean time between the feed's entries.
    pub entry_gap: Option<Duration>,
    /// RSS `<skipHours>` mask (bit = hour UTC).
    pub skip_hours: u32,
    /// RSS `<skipDays>` mask (bit 0 = Monday).
    pub skip_days: u8,
    /// Varies the failure jitter from one poll to the next (e.g. the poll count).
    pub salt: u64,
}

impl Inputs {
    /// Inputs from a source's stored state; the caller adds phase, `Retry-After` and
    /// freshness of the last response.
    pub fn from_state(interval: Duration, state: &SourceState) -> Self {
        Inputs {
            interval,
            failures: state.failures,
            ttl: state.ttl_s.map(|s| Duration::from_secs(u64::from(s))),
            entry_gap: state.entry_gap_s.map(Duration::from_secs),
            skip_hours: state.skip_hours,
            skip_days: state.skip_days,
            salt: state.polls,
            ..Inputs::default()
        }
    }
}

/// A number in `[0, 1)` derived from `name` and `salt`: the same inputs always give the same
/// value, so schedules are reproducible in tests.
pub fn unit_hash(name: &str, salt: u64) -> f64 {
    let h = xxh3_64(name.as_bytes()) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let h = xxh3_64(&h.to_le_bytes());
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Phases of `names`, stratified: sources are ranked by a hash of their name (so neighbours in
/// the configuration, often one host, are not polled together) and the k-th of n gets
/// `(k + ½) / n`: an even spread, not merely a random one.
pub fn phases(names: &[&str]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| unit_hash(names[a], 0).total_cmp(&unit_hash(names[b], 0)));
    let n = names.len().max(1) as f64;
    let mut out = vec![0.0; names.len()];
    for (rank, &i) in order.iter().enumerate() {
        out[i] = (rank as f64 + 0.5) / n;
    }
    out
}

/// Delays of the first polls after a start: each source's phase of `min(interval, spread)`.
pub fn startup_delays(phases: &[f64], intervals: &[Duration], spread: Duration) -> Vec<Duration> {
    phases
        .iter()
        .zip(intervals)
        .map(|(p, i)| (*i).min(spread).mul_f64(*p))
        .collect()
}

/// The interval after a success, before phase alignment.
pub fn base_interval(inp: &Inputs, b: &Bounds) -> Duration {
    let mut base = inp.interval;
    if b.adaptive {
        if let Some(gap) = inp.entry_gap {
            base = gap.clamp(inp.interval / 4, inp.interval.saturating_mul(4));
        }
    }
    for hint in [inp.ttl, inp.fresh_for].into_iter().flatten() {
        base = base.max(hint);
    }
    base.clamp(b.min, b.max)
}

/// The wait after a failed poll (`inp.failures ≥ 1`).
pub fn backoff(name: &str, inp: &Inputs, b: &Bounds) -> Duration {
    let base = inp.interval.clamp(b.min, b.max);
    let factor = 2u32.saturating_pow(inp.failures.saturating_sub(1).min(30));
    let capped = base.saturating_mul(factor).min(b.max_backoff.max(b.min));
    let delay = capped
        .mul_f64(1.0 - 0.15 * unit_hash(name, inp.salt))
        .max(b.min);
    match inp.retry_after {
        Some(r) => delay.max(r.min(b.max_retry_after)),
        None => delay,
    }
}

/// Wall-clock time (Unix ms) of the next poll after one that ended at `now`.
pub fn next_poll(name: &str, now: Millis, inp: &Inputs, b: &Bounds) -> Millis {
    let due = if inp.failures == 0 {
        let base = base_interval(inp, b);
        let with_retry = inp.retry_after.map(|r| r.min(b.max_retry_after));
        // The slot lies half an interval to one and a half ahead, but never sooner than the
        // lifetime the server gave the response (`<ttl>`, `max-age`: the first slot after a
        // 2-hour `<ttl>` appeared came after one hour). The bounds are the operator's promise
        // to the feed's owner and to readers (no poll sooner than `min_interval` after the
        // last, none later than `max_interval`), and win.
        let fresh = [inp.ttl, inp.fresh_for].into_iter().flatten().max();
        let aligned = align(now, base, inp.phase)
            .max(now + millis(fresh.map_or(b.min, |f| f.max(b.min))))
            .min(now + millis(b.max));
        match with_retry {
            Some(r) => aligned.max(now + millis(r)),
            None => aligned,
        }
    } else {
        now + millis(backoff(name, inp, b))
    };
    skip(due, inp.skip_hours, inp.skip_days, inp.phase)
}

fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX / 4)
}

/// The first `t ≥ now + period/2` with `t ≡ phase × period (mod period)`.
fn align(now: Millis, period: Duration, phase: f64) -> Millis {
    let p = millis(period).max(1);
    let offset = (phase.clamp(0.0, 1.0) * p as f64) as Millis;
    let earliest = now + p / 2;
    earliest + (offset - earliest).rem_euclid(p)
}

/// Moves `due` out of skipped hours and days (UTC).
pub fn skip(due: Millis, hours: u32, days: u8, phase: f64) -> Millis {
    if hours == 0 && days == 0 {
        return due;
    }
    let Some(mut t) = DateTime::<Utc>::from_timestamp_millis(due) else {
        return due;
    };
    let mut moved = false;
    // A week of hours is enough to leave any valid mask (all-hours masks are refused earlier).
    for _ in 0..(24 * 8) {
        let hour_skipped = hours & (1 << t.hour()) != 0;
        let day_skipped = days & (1 << t.weekday().num_days_from_monday()) != 0;
        if !hour_skipped && !day_skipped {
            break;
        }
        let hour_start = t
            .with_minute(0)
            .and_then(|x| x.with_second(0))
            .and_then(|x| x.with_nanosecond(0))
            .unwrap_or(t);
        t = hour_start + chrono::Duration::hours(1);
        moved = true;
    }
    let spread = if moved {
        (phase.clamp(0.0, 1.0) * 15.0 * 60_000.0) as Millis
    } else {
        0
    };
    t.timestamp_millis() + spread
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);
    const MAX: Duration = Duration::from_secs(6 * 3600);

    fn bounds() -> Bounds {
        Bounds {
            min: MIN,
            max: MAX,
            max_backoff: Duration::from_secs(6 * 3600),
            max_retry_after: Duration::from_secs(2 * 3600),
            adaptive: true,
        }
    }

    fn inputs(interval: u64) -> Inputs {
        Inputs {
            interval: Duration::from_secs(interval),
            phase: 0.25,
            ..Inputs::default()
        }
    }

    #[test]
    fn success_lands_on_the_phase_slot() {
        let b = bounds();
        let i = inputs(900);
        let now: Millis = 1_700_000_000_000;
        let t = next_poll("a", now, &i, &b);
        assert!(
            t >= now + 450_000 && t < now + 450_000 + 900_000,
            "{}",
            t - now
        );
        assert_eq!((t - 225_000).rem_euclid(900_000), 0);
        // From the slot, the next one is exactly one interval later.
        assert_eq!(next_poll("a", t, &i, &b), t + 900_000);
    }

    #[test]
    fn the_slot_stays_within_min_and_max_interval() {
        let now: Millis = 1_700_000_000_000;
        // An interval at the minimum: the slot may come half an interval after the last
        // poll, but never before the minimum has passed.
        let b = Bounds {
            min: Duration::from_secs(600),
            ..bounds()
        };
        for k in 0..20 {
            let i = Inputs {
                phase: f64::from(k) / 20.0,
                ..inputs(600)
            };
            let wait = next_poll("m", now, &i, &b) - now;
            assert!((600_000..1_200_000).contains(&wait), "phase {k}: {wait}");
        }
        // An interval at the maximum: never more than the maximum away.
        for k in 0..20 {
            let i = Inputs {
                phase: f64::from(k) / 20.0,
                ..inputs(6 * 3600)
            };
            let wait = next_poll("x", now, &i, &b) - now;
            assert!(wait <= 6 * 3_600_000, "phase {k}: {wait}");
        }
    }

    #[test]
    fn no_poll_comes_before_the_lifetime_the_server_gave() {
        let b = bounds();
        let now: Millis = 1_700_000_000_000;
        for k in 0..20 {
            for (ttl, fresh_for) in [
                (Some(7200), None),
                (None, Some(7200)),
                (Some(60), Some(7200)),
            ] {
                let i = Inputs {
                    phase: f64::from(k) / 20.0,
                    ttl: ttl.map(Duration::from_secs),
                    fresh_for: fresh_for.map(Duration::from_secs),
                    ..inputs(600)
                };
                let wait = next_poll("t", now, &i, &b) - now;
                assert!((7_200_000..14_400_000).contains(&wait), "phase {k}: {wait}");
            }
        }
        // Past `max_interval`, the operator's bound wins.
        let i = Inputs {
            ttl: Some(Duration::from_secs(86_400)),
            ..inputs(600)
        };
        assert_eq!(next_poll("t", now, &i, &b) - now, 6 * 3_600_000);
    }

    #[test]
    fn hints_lengthen_but_never_shorten_below_min() {
        let b = bounds();
        let mut i = inputs(600);
        i.ttl = Some(Duration::from_secs(3600));
        assert_eq!(base_interval(&i, &b), Duration::from_secs(3600));
        i.ttl = None;
        i.fresh_for = Some(Duration::from_secs(5));
        assert_eq!(base_interval(&i, &b), Duration::from_secs(600));
        i.fresh_for = Some(Duration::from_secs(86_400));
        assert_eq!(base_interval(&i, &b), MAX);
        // A configured interval below the minimum is raised to it.
        let i = inputs(1);
        assert_eq!(base_interval(&i, &b), MIN);
    }

    #[test]
    fn adaptive_interval_is_bounded() {
        let b = bounds();
        let mut i = inputs(900);
        i.entry_gap = Some(Duration::from_secs(1800));
        assert_eq!(base_interval(&i, &b), Duration::from_secs(1800));
        i.entry_gap = Some(Duration::from_secs(30 * 86_400));
        assert_eq!(base_interval(&i, &b), Duration::from_secs(3600));
        i.entry_gap = Some(Duration::from_secs(10));
        assert_eq!(base_interval(&i, &b), Duration::from_secs(225));
        let fixed = Bounds {
            adaptive: false,
            ..b
        };
        assert_eq!(base_interval(&i, &fixed), Duration::from_secs(900));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_cap() {
        let b = bounds();
        let mut i = inputs(600);
        i.salt = 7;
        let ds: Vec<f64> = (1..=8)
            .map(|f| {
                i.failures = f;
                backoff("b", &i, &b).as_secs_f64()
            })
            .collect();
        // Same salt → same jitter, so each step doubles exactly until the cap.
        assert!((ds[1] / ds[0] - 2.0).abs() < 1e-9, "{ds:?}");
        assert!((ds[4] / ds[3] - 2.0).abs() < 1e-9, "{ds:?}");
        assert!(ds[0] <= 600.0 && ds[0] >= 600.0 * 0.85);
        assert!(ds[7] <= b.max_backoff.as_secs_f64());
        assert!(ds[7] >= b.max_backoff.as_secs_f64() * 0.85);
        // Jitter differs between sources failing together.
        i.failures = 3;
        let spread: std::collections::HashSet<u64> = (0..50)
            .map(|n| backoff(&format!("s{n}"), &i, &b).as_millis() as u64)
            .collect();
        assert!(spread.len() > 40);
    }

    #[test]
    fn retry_after_is_respected_but_bounded() {
        let b = bounds();
        let mut i = inputs(60);
        i.failures = 1;
        i.retry_after = Some(Duration::from_secs(3600));
        assert!(backoff("c", &i, &b) >= Duration::from_secs(3600));
        i.retry_after = Some(Duration::from_secs(86_400 * 30));
        assert_eq!(backoff("c", &i, &b), b.max_retry_after);
        // Also after a success that carried one (a 503 is a failure, but be safe).
        i.failures = 0;
        i.retry_after = Some(Duration::from_secs(3000));
        let now = 1_700_000_000_000;
        assert!(next_poll("c", now, &i, &b) >= now + 3_000_000);
    }

    #[test]
    fn skipped_hours_and_days_are_honoured() {
        let b = bounds();
        let mut i = inputs(900);
        // 2024-01-01 is a Monday. Skip 10:00-11:59 UTC and Tuesdays.
        i.skip_hours = (1 << 10) | (1 << 11);
        i.skip_days = 1 << 1;
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        let t = next_poll("d", at("2024-01-01T09:55:00Z"), &i, &b);
        let t = DateTime::<Utc>::from_timestamp_millis(t).unwrap();
        assert_eq!(t.hour(), 12, "{t}");
        assert!(t.minute() < 15);
        let t = next_poll("d", at("2024-01-01T23:55:00Z"), &i, &b);
        let t = DateTime::<Utc>::from_timestamp_millis(t).unwrap();
        assert_eq!(t.weekday(), chrono::Weekday::Wed, "{t}");
        assert_eq!(t.hour(), 0);
    }

    #[test]
    fn phases_are_stratified() {
        let names: Vec<String> = (0..10_000).map(|i| format!("source-{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let p = phases(&refs);
        let mut buckets = [0u32; 20];
        for x in &p {
            buckets[(x * 20.0) as usize] += 1;
        }
        assert!(buckets.iter().all(|b| *b == 500), "{buckets:?}");
        // Config neighbours are not polled back to back.
        assert!((p[0] - p[1]).abs() > 0.001);
        let d = startup_delays(
            &p,
            &vec![Duration::from_secs(900); p.len()],
            Duration::from_secs(100),
        );
        assert!(d.iter().all(|d| *d < Duration::from_secs(100)));
    }
}
