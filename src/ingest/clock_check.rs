//! The system clock checked against the feed servers': each response's `Date` (plus its
//! `Age`, for a copy a cache kept) says what time the server thinks it is. A clock set a day
//! behind makes every item's date lie in the future (clamped to now), and retention and the
//! schedule go by it; the daemon cannot fix it, but it can say so. One server's clock may be
//! off; the median of the last [`HOSTS`] hosts' is not, once [`MIN_HOSTS`] agree.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Hosts whose latest offset is kept.
pub const HOSTS: usize = 64;
/// Fewest hosts whose median is believed.
pub const MIN_HOSTS: usize = 3;
/// An offset past this is worth a warning (network delays and servers' second-granularity
/// `Date` are far below it).
pub const TOLERANCE: Duration = Duration::from_secs(300);
/// Least time between two warnings.
const WARN_EVERY: Duration = Duration::from_secs(3600);

/// The servers' clocks as the recent responses gave them.
#[derive(Debug, Default)]
pub struct ClockCheck {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// `(host, server clock − ours in seconds)`, the newest last; one entry per host.
    offsets: VecDeque<(String, i64)>,
    warned: Option<Instant>,
}

/// What the servers' clocks say of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skew {
    /// The median offset, server minus ours, in seconds: positive when ours is behind.
    pub seconds: i64,
    /// Hosts it is the median of.
    pub hosts: usize,
}

impl Skew {
    /// Whether the offset is past [`TOLERANCE`].
    pub fn off(&self) -> bool {
        self.seconds.unsigned_abs() > TOLERANCE.as_secs()
    }

    /// One line for the log: how far ours is off, which way, and what that does.
    pub fn warning(&self) -> String {
        // to the minute: the servers' `Date` is no finer than a second, a response's delay
        // is in it too
        let by = humantime::format_duration(Duration::from_secs(
            (self.seconds.unsigned_abs() + 30) / 60 * 60,
        ));
        let way = if self.seconds > 0 {
            "behind"
        } else {
            "ahead of"
        };
        format!(
            "the system clock is {by} {way} the feed servers' clocks (the median of the last \
             {} to answer, by their Date headers): item dates, retention and the schedule go \
             by it; set it right (NTP)",
            self.hosts
        )
    }
}

impl ClockCheck {
    /// Records that `host` answered with its clock `offset_s` seconds from ours; returns the
    /// skew when it is worth a warning now (past the tolerance, at most once an hour).
    pub fn observe(&self, host: &str, offset_s: i64) -> Option<Skew> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = inner.offsets.iter().position(|(h, _)| h == host) {
            inner.offsets.remove(i);
        } else if inner.offsets.len() == HOSTS {
            inner.offsets.pop_front();
        }
        inner.offsets.push_back((host.to_owned(), offset_s));
        let skew = median(&inner.offsets).filter(Skew::off)?;
        if inner.warned.is_some_and(|t| t.elapsed() < WARN_EVERY) {
            return None;
        }
        inner.warned = Some(Instant::now());
        Some(skew)
    }

    /// The median offset of the recent hosts, once [`MIN_HOSTS`] answered.
    pub fn skew(&self) -> Option<Skew> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        median(&inner.offsets)
    }
}

fn median(offsets: &VecDeque<(String, i64)>) -> Option<Skew> {
    if offsets.len() < MIN_HOSTS {
        return None;
    }
    let mut v: Vec<i64> = offsets.iter().map(|(_, o)| *o).collect();
    v.sort_unstable();
    // Of an even count's two middle values the one nearer ours: half the hosts off is not
    // a majority.
    let (low, high) = (v[(v.len() - 1) / 2], v[v.len() / 2]);
    Some(Skew {
        seconds: if low.abs() <= high.abs() { low } else { high },
        hosts: v.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_a_day_behind_is_said_once_three_hosts_agree() {
        let c = ClockCheck::default();
        let day = 86_400;
        assert_eq!(c.observe("a:443", day), None);
        assert_eq!(
            c.observe("b:443", day + 2),
            None,
            "two hosts are not enough"
        );
        // One host again is still two hosts.
        assert_eq!(c.observe("a:443", day + 1), None);
        let skew = c.observe("c:443", day - 3).expect("three hosts agree");
        assert_eq!(
            skew,
            Skew {
                seconds: day + 1,
                hosts: 3
            }
        );
        assert!(
            skew.warning()
                .starts_with("the system clock is 1day behind"),
            "{}",
            skew.warning()
        );
        // Said once an hour, not on every response.
        assert_eq!(c.observe("d:443", day), None);
        assert_eq!(c.skew().map(|s| s.hosts), Some(4));
    }

    #[test]
    fn one_servers_wrong_clock_or_small_offsets_are_not_a_skew() {
        let c = ClockCheck::default();
        assert_eq!(c.observe("wrong:80", -30 * 86_400), None);
        assert_eq!(c.observe("a:443", 2), None);
        assert_eq!(c.observe("b:443", -1), None);
        assert_eq!(c.observe("c:443", 240), None);
        assert_eq!(
            c.skew(),
            Some(Skew {
                seconds: -1,
                hosts: 4
            })
        );
        // Half the hosts a day off is no majority.
        let c = ClockCheck::default();
        assert_eq!(c.observe("c", 0), None);
        assert_eq!(c.observe("d", 1), None);
        assert_eq!(c.observe("a", 86_400), None);
        assert_eq!(c.observe("b", 86_400), None);
        assert_eq!(c.skew().map(|s| s.seconds), Some(1));
        // A clock ahead is said too.
        let c = ClockCheck::default();
        for h in ["a", "b", "c"] {
            c.observe(h, -7200);
        }
        assert!(c
            .skew()
            .is_some_and(|s| s.off() && s.warning().contains("2h ahead of")));
    }

    #[test]
    fn only_the_latest_hosts_count() {
        let c = ClockCheck::default();
        for i in 0..HOSTS {
            c.observe(&format!("old{i}"), 86_400);
        }
        for i in 0..=HOSTS / 2 {
            c.observe(&format!("new{i}"), 0);
        }
        assert_eq!(c.skew().map(|s| (s.seconds, s.hosts)), Some((0, HOSTS)));
    }
}
