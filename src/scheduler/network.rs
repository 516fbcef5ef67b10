//! Is it them or is it us? Telling "every source fails at once" (this machine is offline)
//! apart from "some servers are down".
//!
//! Evidence comes from finished polls of HTTP sources: any answer from a server (even an error
//! status, an HTML page, or a redirect to a host that then fails) proves the network works,
//! and counts for the source's configured host (the set the threshold is sized by, an
//! adopted move's host included under it); a DNS, connect or timeout failure of a poll
//! that no server answered is a vote for "offline", but only from a host that answered at its
//! last poll: a host that is dead for its own reasons (its server gone, its name expired), or
//! a redirect target that is, says nothing about this machine's network. When such failures
//! come from `threshold` distinct hosts in a row, with no answer from anyone in between, or
//! every host failed in a row (a start without a network, when no host answered yet), the
//! network is declared down.
//!
//! Counting dead hosts as votes, three of four sources on closed ports declared the network
//! down before the fourth, working one was ever polled, held it back, and flapped between
//! down and up at each probe. While it is down
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
    hosts: usize,
    threshold: usize,
    /// Hosts that failed since the last answer from anyone.
    failing: HashSet<String>,
    /// Of those, the ones that had answered at their poll before.
    failing_answered: HashSet<String>,
    /// Hosts whose last poll got an answer.
    answering: HashSet<String>,
    down: bool,
}

impl NetworkMonitor {
    /// A detector for `hosts` distinct HTTP hosts: down after failures from
    /// `min(hosts, max(3, hosts / 4))` distinct hosts in a row; never with fewer than 2 hosts.
    pub fn new(hosts: usize) -> Self {
        Self {
            hosts,
            threshold: Self::threshold(hosts),
            failing: HashSet::new(),
            failing_answered: HashSet::new(),
            answering: HashSet::new(),
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

    /// The sources were reloaded: `hosts` (`host:port`) are the distinct HTTP hosts from now
    /// on. The evidence of those that stay stands; a host the reload removed is no evidence
    /// any more: its failures, counted against the fewer hosts left, called the network
    /// down at the first timeout of one that stayed.
    ///
    /// While the network is down, a reload that leaves none of the hosts that failed (or
    /// fewer than two hosts, which never call it down) leaves no evidence that it is:
    /// [`Change::CameBack`], so that the sources left are polled again. Kept down, it stayed
    /// down with nothing held and nothing to probe until a restart.
    pub fn set_hosts(&mut self, hosts: &HashSet<String>) -> Option<Change> {
        let kept = |h: &String| hosts.contains(h) || hosts.contains(&h.to_ascii_lowercase());
        let gone: Vec<String> = self.failing.iter().filter(|h| !kept(h)).cloned().collect();
        for h in &gone {
            self.failing.remove(h);
            self.failing_answered.remove(h);
        }
        self.answering.retain(|h| kept(h));
        self.hosts = hosts.len();
        self.threshold = Self::threshold(self.hosts);
        if self.down && (self.failing.is_empty() || self.hosts < 2) {
            self.down = false;
            self.failing.clear();
            self.failing_answered.clear();
            return Some(Change::CameBack);
        }
        None
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
        let host = host.to_ascii_lowercase();
        if !network_failure {
            self.failing.clear();
            self.failing_answered.clear();
            self.answering.insert(host);
            if self.down {
                self.down = false;
                return Some(Change::CameBack);
            }
            return None;
        }
        // While the network is down a failure says nothing about the host: it keeps its
        // standing for when the network is back.
        let answered_before = if self.down {
            false
        } else {
            self.answering.remove(&host)
        };
        if self.failing.insert(host.clone()) && answered_before {
            self.failing_answered.insert(host);
        }
        let everyone = self.hosts >= 2 && self.failing.len() >= self.hosts;
        if !self.down && (self.failing_answered.len() >= self.threshold || everyone) {
            self.down = true;
            return Some(Change::WentDown);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A monitor of `hosts` hosts whose `answering` ones answered once.
    fn answered(hosts: usize, answering: &[&str]) -> NetworkMonitor {
        let mut m = NetworkMonitor::new(hosts);
        for h in answering {
            assert_eq!(m.record(h, false), None);
        }
        m
    }

    #[test]
    fn down_after_distinct_answering_hosts_fail_in_a_row() {
        let mut m = answered(6, &["a", "b", "c", "d", "e"]);
        assert_eq!(m.record("a", true), None);
        assert_eq!(m.record("a", true), None); // the same host again is no new evidence
        assert_eq!(m.record("b", true), None);
        assert_eq!(m.record("c", false), None); // someone answered: start over
        assert_eq!(m.record("c", true), None);
        assert_eq!(m.record("d", true), None);
        assert_eq!(m.record("a", true), None); // a and b failed at their last poll: no votes
        assert_eq!(m.record("b", true), None);
        assert_eq!(m.record("e", true), Some(Change::WentDown));
        assert!(m.is_down());
        assert_eq!(m.record("f", true), None);
        assert_eq!(m.record("f", false), Some(Change::CameBack));
        assert!(!m.is_down());
    }

    #[test]
    fn dead_hosts_are_no_evidence_but_every_host_failing_is() {
        // Three hosts on closed ports, one working: the dead ones fail first, again and
        // again, and the network stays up.
        let mut m = NetworkMonitor::new(4);
        for _ in 0..3 {
            for h in ["dead-a", "dead-b", "dead-c"] {
                assert_eq!(m.record(h, true), None);
            }
        }
        assert_eq!(m.record("good", false), None);
        for h in ["dead-a", "dead-b", "dead-c"] {
            assert_eq!(m.record(h, true), None);
        }
        assert!(!m.is_down());
        // The working one fails too: now every host failed in a row.
        assert_eq!(m.record("good", true), Some(Change::WentDown));
        // A start without a network: nobody ever answered, every host fails.
        let mut m = NetworkMonitor::new(3);
        assert_eq!(m.record("a", true), None);
        assert_eq!(m.record("b", true), None);
        assert_eq!(m.record("c", true), Some(Change::WentDown));
    }

    /// Hosts a reload removed are no evidence: with their failures kept, one timeout of a
    /// host that stayed made "every host" of the two left fail.
    #[test]
    fn a_reload_drops_the_evidence_of_the_hosts_it_removed() {
        let set = |hosts: &[&str]| hosts.iter().map(|h| h.to_string()).collect::<HashSet<_>>();
        let mut m = answered(4, &["g1:80", "g2:80", "d3:80", "d4:80"]);
        assert_eq!(m.record("d3:80", true), None);
        assert_eq!(m.record("d4:80", true), None);
        m.set_hosts(&set(&["g1:80", "g2:80"]));
        assert_eq!(m.failing_hosts(), 0);
        assert_eq!(m.record("g1:80", true), None);
        assert!(!m.is_down());
        assert_eq!(m.failing_hosts(), 1);
        // The evidence of the hosts that stay stands: the other one failing too is every
        // host.
        assert_eq!(m.record("g2:80", true), Some(Change::WentDown));
        // Answering hosts the reload removed count no more as having answered.
        let mut m = answered(5, &["a:80", "b:80", "c:80", "d:80", "e:80"]);
        m.set_hosts(&set(&["a:80", "b:80", "c:80", "d:80"]));
        assert!(!m.answering.contains("e:80"));
    }

    /// While the network is down, a reload that leaves no failing host (or one host only)
    /// leaves nothing to say it is: up again. One that keeps a failing host keeps it down.
    #[test]
    fn a_reload_that_leaves_no_failing_host_brings_the_network_back() {
        let set = |hosts: &[&str]| hosts.iter().map(|h| h.to_string()).collect::<HashSet<_>>();
        let down = || {
            let mut m = NetworkMonitor::new(3);
            m.record("a:80", true);
            m.record("b:80", true);
            assert_eq!(m.record("c:80", true), Some(Change::WentDown));
            m
        };
        let mut m = down();
        assert_eq!(m.set_hosts(&set(&["a:80", "n:80"])), None);
        assert!(m.is_down());
        for left in [&[][..], &["n1:80", "n2:80"], &["a:80"]] {
            let mut m = down();
            assert_eq!(m.set_hosts(&set(left)), Some(Change::CameBack), "{left:?}");
            assert!(!m.is_down());
            assert_eq!(m.failing_hosts(), 0);
        }
        // Up already: nothing changes.
        assert_eq!(NetworkMonitor::new(3).set_hosts(&set(&[])), None);
    }

    #[test]
    fn thresholds_scale_and_single_hosts_never_go_down() {
        let mut one = answered(1, &["only"]);
        for _ in 0..10 {
            assert_eq!(one.record("only", true), None);
        }
        let mut two = answered(2, &["a", "b"]);
        two.record("a", true);
        assert_eq!(two.record("b", true), Some(Change::WentDown));
        assert_eq!(NetworkMonitor::new(100).threshold, 25);
    }
}
