//! When to poll a source next: a pure function of its configuration and its last outcome.
//!
//! - Success: the source's interval, clamped to the schedule's bounds, with a small jitter
//!   (±5 %) so that sources started together drift apart instead of polling in lockstep.
//! - Failure: `interval × 2^(failures-1)`, capped at `max_backoff`, with jitter; a server's
//!   `Retry-After` raises the wait to at least what it asked for (bounded by `max_backoff`).
//!   A failing source is never disabled: it keeps being retried at the capped interval.
//! - First poll (or overdue after a restart): a deterministic offset within
//!   `min(interval, startup_spread)` derived from the source's name, so a restart does not fire
//!   every source at once.

use std::time::Duration;

use xxhash_rust::xxh3::xxh3_64;

/// Longest wait after repeated failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

/// A number in `[0, 1)` derived from `name` and `salt`: the same inputs always give the same
/// jitter, so schedules are reproducible in tests.
pub fn unit_hash(name: &str, salt: u64) -> f64 {
    let h = xxh3_64(name.as_bytes()) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let h = xxh3_64(&h.to_le_bytes());
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Delay before the next poll after a poll that ended with `failures` failures in a row
/// (0 = success).
pub fn next_delay(
    name: &str,
    interval: Duration,
    min: Duration,
    max: Duration,
    failures: u32,
    retry_after: Option<Duration>,
    salt: u64,
) -> Duration {
    let base = interval.clamp(min, max.max(min));
    let jitter = 0.95 + 0.10 * unit_hash(name, salt);
    if failures == 0 {
        return base.mul_f64(jitter);
    }
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    let backoff = base.saturating_mul(factor).min(MAX_BACKOFF.max(base));
    let delay = backoff.mul_f64(jitter);
    match retry_after {
        Some(r) => delay.max(r.min(MAX_BACKOFF)),
        None => delay,
    }
}

/// Delays of the first polls after a start, one per `(name, interval)`: stratified over
/// `min(interval, spread)`. Sources are ranked by a hash of their name (so neighbours in the
/// configuration, often one host, are not polled together) and the k-th of n starts at
/// `(k + ½) / n` of its window: an even spread, not merely a random one.
pub fn startup_delays(sources: &[(&str, Duration)], spread: Duration) -> Vec<Duration> {
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by(|&a, &b| unit_hash(sources[a].0, 0).total_cmp(&unit_hash(sources[b].0, 0)));
    let n = sources.len().max(1) as f64;
    let mut delays = vec![Duration::ZERO; sources.len()];
    for (rank, &i) in order.iter().enumerate() {
        let window = sources[i].1.min(spread);
        delays[i] = window.mul_f64((rank as f64 + 0.5) / n);
    }
    delays
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);
    const MAX: Duration = Duration::from_secs(6 * 3600);

    #[test]
    fn success_keeps_the_interval_with_small_jitter() {
        let i = Duration::from_secs(900);
        for salt in 0..100 {
            let d = next_delay("a", i, MIN, MAX, 0, None, salt);
            assert!(d >= i.mul_f64(0.95) && d <= i.mul_f64(1.05), "{d:?}");
        }
        // Bounds apply even to a configured interval outside them.
        let d = next_delay("a", Duration::from_secs(1), MIN, MAX, 0, None, 0);
        assert!(d >= MIN.mul_f64(0.95));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_cap() {
        let i = Duration::from_secs(600);
        let ds: Vec<f64> = (1..=8)
            .map(|f| next_delay("b", i, MIN, MAX, f, None, 7).as_secs_f64())
            .collect();
        // Same salt → same jitter, so each step doubles exactly until the cap.
        assert!((ds[1] / ds[0] - 2.0).abs() < 1e-9);
        assert!((ds[4] / ds[3] - 2.0).abs() < 1e-9);
        assert!(ds[7] <= MAX_BACKOFF.as_secs_f64() * 1.05);
        assert!(ds[7] >= MAX_BACKOFF.as_secs_f64() * 0.95);
    }

    #[test]
    fn retry_after_is_respected_but_bounded() {
        let i = Duration::from_secs(60);
        let d = next_delay("c", i, MIN, MAX, 1, Some(Duration::from_secs(3600)), 0);
        assert!(d >= Duration::from_secs(3600));
        let d = next_delay(
            "c",
            i,
            MIN,
            MAX,
            1,
            Some(Duration::from_secs(86400 * 30)),
            0,
        );
        assert_eq!(d, MAX_BACKOFF);
    }

    #[test]
    fn startup_spreads_sources_evenly() {
        let spread = Duration::from_secs(100);
        let names: Vec<String> = (0..10_000).map(|i| format!("source-{i}")).collect();
        let sources: Vec<(&str, Duration)> = names
            .iter()
            .map(|n| (n.as_str(), Duration::from_secs(900)))
            .collect();
        let delays = startup_delays(&sources, spread);
        let mut buckets = [0u32; 20];
        for d in &delays {
            assert!(*d < spread);
            buckets[(d.as_secs_f64() / 5.0) as usize] += 1;
        }
        // Within ±5 % of uniform in every 5 % slice of the window.
        for b in buckets {
            assert!((475..=525).contains(&b), "{buckets:?}");
        }
        // Config neighbours are not polled back to back.
        let gap = delays[0].abs_diff(delays[1]);
        assert!(gap > Duration::from_millis(10), "{gap:?}");
    }
}
