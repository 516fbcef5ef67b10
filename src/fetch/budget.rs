//! The time a fetch has of `fetch.timeout`, stopped while it waits for a host's spacing
//! before a redirect hop ([`super::host_limit::HostLimiter::space_hop`]).
//!
//! That wait is politeness the fetch chose, not a server's slowness: counted, it would time
//! out every poll whose redirect stays on a host with a `fetch.per_host_spacing` longer than
//! what is left of `fetch.timeout` (the spacing may be up to 10m, the timeout is seconds),
//! and the source would fail for obeying its own limits. The requests and the body still
//! share the one timeout, as before.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// What is left of one fetch's timeout.
#[derive(Debug)]
pub(super) struct Budget(Mutex<State>);

#[derive(Debug)]
struct State {
    /// When the time is up, as if a wait under way ended now.
    deadline: Instant,
    /// Since when a spacing wait is under way, if one is.
    stopped_at: Option<Instant>,
}

/// Keeps the count stopped while held ([`Budget::stop`]).
#[derive(Debug)]
pub(super) struct Stopped<'a>(&'a Budget);

impl Budget {
    /// `timeout` from now.
    pub(super) fn new(timeout: Duration) -> Self {
        Self(Mutex::new(State {
            deadline: Instant::now() + timeout,
            stopped_at: None,
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the count until the guard is dropped: the deadline moves by the time waited.
    pub(super) fn stop(&self) -> Stopped<'_> {
        let mut s = self.state();
        s.stopped_at.get_or_insert_with(Instant::now);
        Stopped(self)
    }

    /// When to look again whether the time is up: the deadline, moved by the wait under
    /// way so far.
    pub(super) fn next_check(&self) -> Instant {
        let s = self.state();
        match s.stopped_at {
            Some(at) => s.deadline + at.elapsed(),
            None => s.deadline,
        }
    }

    /// Whether the time outside spacing waits is up. A wait that began after it was up
    /// (no time left for the hop it waits for) does not save it.
    pub(super) fn is_up(&self) -> bool {
        let s = self.state();
        s.deadline <= s.stopped_at.unwrap_or_else(Instant::now)
    }
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state();
        if let Some(at) = s.stopped_at.take() {
            s.deadline += at.elapsed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_spacing_wait_moves_the_deadline_by_its_length() {
        let budget = Budget::new(Duration::from_secs(10));
        let t0 = Instant::now();
        tokio::time::advance(Duration::from_secs(4)).await;
        {
            let _stopped = budget.stop();
            tokio::time::advance(Duration::from_secs(60)).await;
            // Not up while waiting, and looked at again once the 6 s left would be spent.
            assert!(!budget.is_up());
            assert_eq!(budget.next_check(), t0 + Duration::from_secs(70));
        }
        assert_eq!(budget.next_check(), t0 + Duration::from_secs(70));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(!budget.is_up());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(budget.is_up());
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_begun_after_the_time_was_up_does_not_save_it() {
        let budget = Budget::new(Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(2)).await;
        let _stopped = budget.stop();
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(budget.is_up());
    }
}
