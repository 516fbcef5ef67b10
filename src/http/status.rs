//! `GET /status`: the daemon's summary as JSON, built from the store and live figures.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::AppState;
use crate::storage::{Counts, Millis, SourceState};

/// The `/status` document.
#[derive(Debug, Serialize)]
pub struct Status {
    /// wirefold's version.
    pub version: &'static str,
    /// Seconds since the process started.
    pub uptime_s: u64,
    /// Whether the scheduler is running.
    pub scheduler_running: bool,
    /// Polls in flight.
    pub polls_in_flight: usize,
    /// Store-wide counts.
    pub counts: StatusCounts,
    /// Articles in the near-duplicate index (the time window).
    pub index_size: usize,
    /// Bytes the store takes on disk.
    pub store_bytes: u64,
    /// Whether the daemon can reach the network at all.
    pub network: NetworkInfo,
    /// Failed polls by error class since the process started.
    pub errors_by_class: Vec<ClassCount>,
    /// One entry per configured source, in configuration order.
    pub sources: Vec<SourceStatus>,
}

/// Counts in `/status`.
#[derive(Debug, Serialize)]
pub struct StatusCounts {
    /// Configured sources (enabled or not).
    pub sources: usize,
    /// Stored articles.
    pub articles: u64,
    /// Stories.
    pub stories: u64,
    /// Articles folded into an existing story.
    pub copies: u64,
}

/// The network as the scheduler sees it.
#[derive(Debug, Serialize)]
pub struct NetworkInfo {
    /// `up`, or `down` while every source fails at once (polls held back, probing).
    pub state: &'static str,
    /// Since when it is down.
    pub down_since: Option<String>,
    /// Sources held back.
    pub held: usize,
    /// When the next probe may start.
    pub next_probe: Option<String>,
    /// Distinct hosts that failed since any server last answered.
    pub failing_hosts: usize,
}

/// Failed polls of one class.
#[derive(Debug, Serialize)]
pub struct ClassCount {
    /// Error class.
    pub class: &'static str,
    /// HTTP status, for `http_status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Failed polls.
    pub count: u64,
}

/// One source in `/status`.
#[derive(Debug, Serialize)]
pub struct SourceStatus {
    /// Configured name.
    pub name: String,
    /// Configured URL.
    pub url: String,
    /// Where it is polled now, when permanent redirects moved it (else the configured URL).
    pub effective_url: String,
    /// A permanent redirect seen on the last polls and not adopted yet: target and count.
    pub moving_to: Option<MovingTo>,
    /// Polled at all.
    pub enabled: bool,
    /// `pending` (never polled), `ok`, `failing` (retried with backoff, never given up),
    /// `gone` (410: not polled any more) or `disabled`.
    pub state: &'static str,
    /// When the server said 410 Gone.
    pub gone_since: Option<String>,
    /// Configured interval in seconds.
    pub interval_s: u64,
    /// The feed's own title.
    pub title: Option<String>,
    /// Start of the last poll (RFC 3339).
    pub last_poll: Option<String>,
    /// End of the last successful poll.
    pub last_success: Option<String>,
    /// The last error, if the last poll failed.
    pub last_error: Option<SourceError>,
    /// When the next poll is due.
    pub next_poll: Option<String>,
    /// Failures in a row.
    pub failures: u32,
    /// Polls made.
    pub polls: u64,
    /// Polls answered "not modified" (no parse).
    pub not_modified: u64,
    /// The character encoding of the last body.
    pub encoding: Option<String>,
    /// Entries seen in the feed, all polls together.
    pub items_seen: u64,
    /// Articles that started a story.
    pub items_new: u64,
    /// Articles updated in place.
    pub items_updated: u64,
    /// Articles folded into an existing story.
    pub items_copies: u64,
}

/// A permanent redirect being counted.
#[derive(Debug, Serialize)]
pub struct MovingTo {
    /// Target URL.
    pub url: String,
    /// Consecutive polls that saw it.
    pub polls: u32,
}

/// A source's last error.
#[derive(Debug, Serialize)]
pub struct SourceError {
    /// Error class.
    pub class: String,
    /// HTTP status, for `http_status`.
    pub status: Option<u16>,
    /// Message.
    pub message: String,
    /// When (RFC 3339).
    pub at: Option<String>,
}

/// Milliseconds to RFC 3339, seconds precision.
pub(crate) fn rfc3339(ms: Millis) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

pub(super) async fn status(State(state): State<AppState>) -> Response {
    let built = tokio::task::spawn_blocking(move || build(&state)).await;
    match built {
        Ok(Ok(s)) => Json(s).into_response(),
        Ok(Err(e)) => super::error(StatusCode::INTERNAL_SERVER_ERROR, "store", &e.to_string()),
        Err(e) => super::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

fn build(state: &AppState) -> Result<Status, crate::storage::StoreError> {
    let counts: Counts = state.store.counts()?;
    let mut sources = Vec::with_capacity(state.config.sources.len());
    for s in &state.config.sources {
        let st: SourceState = state.store.source_state(&s.name)?.unwrap_or_default();
        // State recorded for another URL (the configuration changed) is not this source's.
        let same_url = st.configured_url.as_deref() == Some(s.url.as_str());
        let gone = same_url && st.gone_since.is_some();
        let state = if !s.enabled {
            "disabled"
        } else if gone {
            "gone"
        } else if st.polls == 0 {
            "pending"
        } else if st.failures > 0 {
            "failing"
        } else {
            "ok"
        };
        sources.push(SourceStatus {
            name: s.name.clone(),
            url: s.url.to_string(),
            effective_url: st
                .effective_url
                .clone()
                .filter(|_| same_url)
                .unwrap_or_else(|| s.url.to_string()),
            moving_to: st
                .moved_candidate
                .clone()
                .filter(|_| same_url)
                .map(|url| MovingTo {
                    url,
                    polls: st.moved_polls,
                }),
            enabled: s.enabled,
            state,
            gone_since: st.gone_since.filter(|_| gone).and_then(rfc3339),
            interval_s: s.interval.as_secs(),
            title: st.feed_title,
            last_poll: st.last_poll.and_then(rfc3339),
            last_success: st.last_success.and_then(rfc3339),
            last_error: st.last_error.map(|e| SourceError {
                class: e.class,
                status: e.status,
                message: e.message,
                at: rfc3339(e.at),
            }),
            next_poll: if s.enabled && !gone {
                st.next_poll.and_then(rfc3339)
            } else {
                None
            },
            failures: st.failures,
            polls: st.polls,
            not_modified: st.not_modified,
            encoding: st.encoding,
            items_seen: st.items_seen,
            items_new: st.items_new,
            items_updated: st.items_updated,
            items_copies: st.items_copies,
        });
    }
    let net = state.scheduler.network();
    let network = NetworkInfo {
        state: if net.down_since.is_some() {
            "down"
        } else {
            "up"
        },
        down_since: net.down_since.and_then(rfc3339),
        held: net.held,
        next_probe: net.next_probe.and_then(rfc3339),
        failing_hosts: net.failing_hosts,
    };
    let errors_by_class = state
        .scheduler
        .errors
        .snapshot()
        .into_iter()
        .map(|(c, count)| ClassCount {
            class: c.name,
            status: c.status,
            count,
        })
        .collect();
    Ok(Status {
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: state.started.elapsed().as_secs(),
        scheduler_running: state.scheduler.running.load(Ordering::SeqCst),
        polls_in_flight: state.scheduler.in_flight.load(Ordering::SeqCst),
        counts: StatusCounts {
            sources: state.config.sources.len(),
            articles: counts.articles,
            stories: counts.stories,
            copies: counts.copies,
        },
        index_size: state.folder.index_len(),
        store_bytes: state.store.size_on_disk(),
        network,
        errors_by_class,
        sources,
    })
}
