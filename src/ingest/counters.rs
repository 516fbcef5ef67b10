//! Failed polls counted by error class, for `/status` now and metrics later.
//!
//! [`ErrorCounts`] lives in the [`super::IngestContext`] (one per process) and is bumped once
//! per failed poll. Read it with [`ErrorCounts::snapshot`]: a sorted list of
//! `(class, http status, count)`, with the status set only for class `http_status`, which is
//! the shape a labelled counter wants (`class="http_status", status="503"`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

/// The class of a failed poll: a stable name plus, for `http_status`, the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ErrorClass {
    /// Stable name: `dns`, `connect`, `tls`, `timeout`, `stalled`, `too_large`,
    /// `http_status`, `redirect_loop`, `too_many_redirects`, `redirect`, `blocked_address`,
    /// `body`, `file`, `empty_body`, `not_a_feed`, `malformed_feed`, `store`, `other`.
    pub name: &'static str,
    /// The HTTP status, for `http_status`.
    pub status: Option<u16>,
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(code) => write!(f, "{}({code})", self.name),
            None => f.write_str(self.name),
        }
    }
}

/// Failed polls by class since the process started.
#[derive(Debug, Default)]
pub struct ErrorCounts {
    counts: Mutex<BTreeMap<ErrorClass, u64>>,
}

impl ErrorCounts {
    /// Counts one failed poll.
    pub fn record(&self, class: ErrorClass) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *c.entry(class).or_default() += 1;
    }

    /// Every class seen so far with its count, sorted by class.
    pub fn snapshot(&self) -> Vec<(ErrorClass, u64)> {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Failed polls of all classes.
    pub fn total(&self) -> u64 {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_class_and_status() {
        let c = ErrorCounts::default();
        let t = ErrorClass {
            name: "timeout",
            status: None,
        };
        let s503 = ErrorClass {
            name: "http_status",
            status: Some(503),
        };
        c.record(t);
        c.record(s503);
        c.record(s503);
        assert_eq!(c.snapshot(), vec![(s503, 2), (t, 1)]);
        assert_eq!(c.total(), 3);
        assert_eq!(s503.to_string(), "http_status(503)");
    }
}
