//! Is it them or is it us? Telling "every source fails at once" (this machine is offline)
//! apart from "some servers are down".
//!
//! Evidence comes from finished polls of HTTP sources: any answer from a server (even an error
//! status or an HTML page) proves the network works; a DNS, connect or timeout failure is a
//! vote for "offline". When failures of that kind come from `threshold` distinct hosts in a
//! row, with no answer from anyone in between, the network is declared down. While it is down
//! the scheduler holds HTTP polls back (and does not count their failures against the
//! sources), lets one source through every `schedule.network_probe_interval` as a probe, and
//! releases everything, spread out, at the first answer.
//!
//! With a single host there is nothing to compare, so it never declares the network down:
//! ordinary backoff handles that host.

use std::collections::HashSet;

/// A change of the network's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Enough distinct hosts failed in a row.
    WentDown,
    /// A server answered again.
    CameBack,
}

/// The detector; owned by the scheduler loop.
#[derive(Debug)]
pub struct NetworkMonitor {
    threshold: usize,
    failing: HashSet<String>,
    down: bool,
}

impl NetworkMonitor {
    /// A detector for `hosts` distinct HTTP hosts: down after failures from
    /// `min(hosts, max(3, hosts / 4))` distinct hosts in a row; never with fewer than 2 hosts.
    pub fn new(hosts: usize) -> Self {
        Self {
            threshold: Self::threshold(hosts),
            failing: HashSet::new(),
            down: false,
        }
    }

    fn threshold(hosts: usize) -> usize {
        if hosts < 2 {
            usize::MAX
        } else {
            hosts.min((hosts / 4).max(3))
        }
    }

    /// The sources were reloaded: `hosts` distinct HTTP hosts from now on. The evidence so
    /// far stands.
    pub fn set_hosts(&mut self, hosts: usize) {
        self.threshold = Self::threshold(hosts);
    }

    /// Whether the network is considered down.
    pub fn is_down(&self) -> bool {
        self.down
    }

    /// Distinct hosts that failed since the last answer.
    pub fn failing_hosts(&self) -> usize {
        self.failing.len()
    }

    /// Records a finished poll of `host`: `network_failure` for DNS/connect/timeout failures,
    /// false when a server answered.
    pub fn record(&mut self, host: &str, network_failure: bool) -> Option<Change> {
        if !network_failure {
            self.failing.clear();
            if self.down {
                self.down = false;
                return Some(Change::CameBack);
            }
            return None;
        }
        self.failing.insert(host.to_ascii_lowercase());
        if !self.down && self.failing.len() >= self.threshold {
            self.down = true;
            return Some(Change::WentDown);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_after_distinct_hosts_fail_in_a_row() {
        let mut m = NetworkMonitor::new(5);
        assert_eq!(m.record("a", true), None);
        assert_eq!(m.record("a", true), None); // the same host again is no new evidence
        assert_eq!(m.record("b", true), None);
        assert_eq!(m.record("c", false), None); // someone answered: start over
        assert_eq!(m.record("a", true), None);
        assert_eq!(m.record("b", true), None);
        assert_eq!(m.record("d", true), Some(Change::WentDown));
        assert!(m.is_down());
        assert_eq!(m.record("e", true), None);
        assert_eq!(m.record("e", false), Some(Change::CameBack));
        assert!(!m.is_down());
    }

    #[test]
    fn thresholds_scale_and_single_hosts_never_go_down() {
        let mut one = NetworkMonitor::new(1);
        for _ in 0..10 {
            assert_eq!(one.record("only", true), None);
        }
        let mut two = NetworkMonitor::new(2);
        two.record("a", true);
        assert_eq!(two.record("b", true), Some(Change::WentDown));
        assert_eq!(NetworkMonitor::new(100).threshold, 25);
    }
}
