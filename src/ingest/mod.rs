//! What to do for one source: fetch → parse → normalize → fingerprint/fold → store, and the
//! source's state recorded afterwards. How many of these run at once, and when, is the
//! scheduler's business, not this module's.
//!
//! The state a poll leaves behind (see [`SourceState`]) carries what the next polls need:
//! validators, the effective URL after permanent redirects (adopted after
//! `fetch.permanent_redirect_polls` consecutive sightings), `gone_since` after a 410, the feed's
//! own scheduling hints (`<ttl>`, `<skipHours>`, `<skipDays>`, its publishing rate) and the
//! last error with its class. Failed polls are also counted by class in [`ErrorCounts`].

mod body;
pub mod clock_check;
mod counters;
pub mod cpu;
mod poll;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::SourceConfig;
use crate::fetch::host_limit::{host_key, HostLimiter};
use crate::fetch::{CurrentFetcher, FetchError};
use crate::fold::Folder;
use crate::normalize::Rules;
use crate::parse::ParseError;
use crate::storage::{SourceState, Store, StoreError};
pub use body::{
    entry_gap, fold_entries, ingest_body, keep_newest, normalize_entries, MAX_ENTRIES_PER_POLL,
    MAX_TEXT_BYTES, MAX_TITLE_CHARS,
};
pub use counters::{ErrorClass, ErrorCounts};
pub use poll::poll_source;

/// Settings of the ingest stage that come from the configuration (a reload changes them).
#[derive(Debug)]
pub struct IngestOptions {
    /// Consecutive polls that must see the same permanent redirect before it is adopted.
    permanent_redirect_polls: AtomicU32,
}

impl IngestOptions {
    /// Options with `fetch.permanent_redirect_polls` = `polls`.
    pub fn new(permanent_redirect_polls: u32) -> Self {
        Self {
            permanent_redirect_polls: AtomicU32::new(permanent_redirect_polls),
        }
    }

    /// `fetch.permanent_redirect_polls`.
    pub fn permanent_redirect_polls(&self) -> u32 {
        self.permanent_redirect_polls.load(Ordering::Relaxed)
    }

    /// Applies a reloaded `fetch.permanent_redirect_polls`.
    pub fn set_permanent_redirect_polls(&self, polls: u32) {
        self.permanent_redirect_polls
            .store(polls, Ordering::Relaxed);
    }
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self::new(3)
    }
}

/// What the pipeline needs, shared by every poll.
#[derive(Debug, Clone)]
pub struct IngestContext {
    /// HTTP client, replaced by a reload of `[fetch]`.
    pub fetcher: Arc<CurrentFetcher>,
    /// Store.
    pub store: Store,
    /// Index + fold decisions.
    pub folder: Arc<Folder>,
    /// Normalization rules; `None`: the built-in ones, [`Rules::shared_default`] (the daemon
    /// compiles them on a thread of its own at start, see `App::build_with`, and the one copy
    /// serves the fold's short-item rules too). `Some` when `normalize.rules` adds the
    /// operator's rules ([`Rules::with_extra`], which shares the built-in ones).
    pub rules: Option<Arc<Rules>>,
    /// Per-host concurrency, spacing and cooldowns.
    pub hosts: Arc<HostLimiter>,
    /// Failed polls by class.
    pub errors: Arc<ErrorCounts>,
    /// The system clock against the feed servers' `Date`.
    pub clock: Arc<clock_check::ClockCheck>,
    /// Redirect adoption.
    pub options: Arc<IngestOptions>,
    /// The threads that parse, normalize and fold bodies: one per core, one body each at a
    /// time (see [`cpu_pool`]).
    pub cpu: Arc<cpu::CpuPool>,
}

/// The threads that parse, normalize and fold fetched bodies: one per core. That is CPU work,
/// and the fold lock serializes its end anyway: four at once on two cores cost CPU and gained
/// nothing (cold ingest 3.05 → 2.6 s wall, 4.1 → 3.6 CPU-s with two; BENCHMARKS.md, issue 8).
/// They are threads of their own rather than tokio's blocking pool, which stays larger for the
/// store reads of the HTTP handlers, flushes and retention: every thread that runs the
/// boilerplate rules keeps its own caches of their regexes (issue 8, steady-state memory).
pub fn cpu_pool() -> Arc<cpu::CpuPool> {
    Arc::new(cpu::CpuPool::per_core())
}

/// Counts of one poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollSummary {
    /// Entries in the feed.
    pub seen: u64,
    /// Articles that started a new story.
    pub new: u64,
    /// Articles updated in place.
    pub updated: u64,
    /// Articles folded into an existing story.
    pub copies: u64,
    /// Entries unchanged since the last poll.
    pub unchanged: u64,
    /// True when the server said 304 (or the file did not change).
    pub not_modified: bool,
    /// True when the body held the entries the source's last folded poll held, so that
    /// nothing was normalized or folded (`ingest::body::fold_entries`).
    pub body_unchanged: bool,
}

/// Why a poll failed, classified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// Fetching failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The body is not a usable feed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The store refused a write (disk full, I/O error).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The source answered 410 Gone earlier and is not polled any more.
    #[error("the feed is gone (410) since {0}; change its URL to poll it again")]
    Gone(String),
}

impl PollError {
    /// The class recorded on the source and counted (`timeout`, `http_status(503)`, …).
    pub fn class(&self) -> ErrorClass {
        let (name, status) = match self {
            PollError::Fetch(e) => (e.class(), e.http_status()),
            PollError::Parse(e) => (e.class(), None),
            PollError::Store(_) => ("store", None),
            PollError::Gone(_) => ("gone", None),
        };
        ErrorClass { name, status }
    }

    /// `Retry-After` the server asked for (429 and 503).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PollError::Fetch(FetchError::Status { retry_after, .. }) => *retry_after,
            _ => None,
        }
    }

    /// The host that answered with an error status (`host:port`): another than the
    /// source's after a temporary redirect.
    pub fn answered_by(&self) -> Option<&str> {
        match self {
            PollError::Fetch(e) => e.answered_by(),
            _ => None,
        }
    }

    /// False for an error status the target of a temporary redirect answered (see
    /// [`crate::fetch::FetchError::from_feed_url`]).
    pub fn from_feed_url(&self) -> bool {
        match self {
            PollError::Fetch(e) => e.from_feed_url(),
            _ => true,
        }
    }

    /// A failure that may mean this machine is offline rather than the server down.
    pub fn is_network(&self) -> bool {
        matches!(self, PollError::Fetch(e) if e.is_network())
    }
}

/// The result of one poll, with the state recorded for the source.
#[derive(Debug)]
pub struct PollReport {
    /// Counts, or the error.
    pub result: Result<PollSummary, PollError>,
    /// The source's state after the poll (already stored, without `next_poll`).
    pub state: SourceState,
    /// How long the server said the response stays fresh (`max-age`/`Expires`).
    pub fresh_for: Option<Duration>,
    /// What the poll's requests showed of the network; `None` when it sent none (a file,
    /// the store at fault, a gone source).
    pub reach: Option<Reach>,
}

/// What a poll's requests showed of the network, for the detector that tells "this machine
/// is offline" from "some servers are down" (`scheduler::network`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// A server answered a request of the poll, a redirect included: the network works,
    /// whatever failed after it (a redirect target that is down, or stalls).
    pub answered: bool,
}

/// What a parsed body tells about its feed, beyond its entries.
#[derive(Debug, Default)]
pub struct FeedInfo {
    /// The feed's title.
    pub title: Option<String>,
    /// RSS `<ttl>` in minutes.
    pub ttl_minutes: Option<u32>,
    /// RSS `<skipHours>` mask.
    pub skip_hours: u32,
    /// RSS `<skipDays>` mask.
    pub skip_days: u8,
    /// Mean time between entries ([`entry_gap`]).
    pub entry_gap: Option<Duration>,
    /// The encoding the body was read as.
    pub encoding: &'static str,
}

/// The host (`host:port`) of a source's configured URL (`None` for files): what tells the
/// network detector which hosts fail.
pub fn source_host(source: &SourceConfig) -> Option<String> {
    host_key(&source.url)
}

/// The host (`host:port`) a source's polls go to, whose politeness limits and pauses they
/// obey: its adopted permanent move's (`state.effective_url`) when it has one, else the
/// configured URL's. A moved source went on hitting its new host while that host had asked,
/// through another source, to be left alone. A move adopted for a URL the operator has
/// since edited is none: the next poll goes to the new URL (and forgets the move), and
/// waited for the pause of the host the old URL had moved to.
pub fn polled_host(source: &SourceConfig, state: Option<&SourceState>) -> Option<String> {
    state
        .filter(|st| {
            st.configured_url
                .as_deref()
                .is_none_or(|c| c == source.url.as_str())
        })
        .and_then(|st| st.effective_url.as_deref())
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| host_key(&u))
        .or_else(|| source_host(source))
}
