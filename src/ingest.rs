//! What to do for one source: fetch → parse → normalize → fingerprint/fold → store, and the
//! source's state recorded afterwards. How many of these run at once, and when, is the
//! scheduler's business, not this module's.
//!
//! The state a poll leaves behind (see [`SourceState`]) carries what the next polls need:
//! validators, the effective URL after permanent redirects (adopted after
//! `fetch.permanent_redirect_polls` consecutive sightings), `gone_since` after a 410, the feed's
//! own scheduling hints (`<ttl>`, `<skipHours>`, `<skipDays>`, its publishing rate) and the
//! last error with its class. Failed polls are also counted by class in [`ErrorCounts`].

mod counters;
pub mod cpu;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{info, instrument, warn, Span};
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::host_limit::{host_key, HostLimiter};
use crate::fetch::{Content, FetchError, Fetcher, Validators};
use crate::fold::{Decision, Folder};
use crate::normalize::{FeedLanguage, NormalizeOptions, RawEntry, Rules};
use crate::parse::{parse_feed, ParseError};
use crate::storage::{ErrorRecord, Millis, SourceState, Store, StoreError};
pub use counters::{ErrorClass, ErrorCounts};

/// Settings of the ingest stage that come from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct IngestOptions {
    /// Consecutive polls that must see the same permanent redirect before it is adopted.
    pub permanent_redirect_polls: u32,
    /// Longest `Retry-After` honoured (also the longest host cooldown).
    pub max_retry_after: Duration,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            permanent_redirect_polls: 3,
            max_retry_after: Duration::from_secs(6 * 3600),
        }
    }
}

/// What the pipeline needs, shared by every poll.
#[derive(Debug, Clone)]
pub struct IngestContext {
    /// HTTP client.
    pub fetcher: Fetcher,
    /// Store.
    pub store: Store,
    /// Index + fold decisions.
    pub folder: Arc<Folder>,
    /// Normalization rules; `None`: the built-in ones, [`Rules::shared_default`] (the daemon
    /// compiles them on a thread of its own at start, see `App::build_with`, and the one copy
    /// serves the fold's short-item rules too).
    pub rules: Option<Arc<Rules>>,
    /// Per-host concurrency, spacing and cooldowns.
    pub hosts: Arc<HostLimiter>,
    /// Failed polls by class.
    pub errors: Arc<ErrorCounts>,
    /// Redirect adoption and `Retry-After` bounds.
    pub options: IngestOptions,
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

fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

/// The host (`host:port`) whose politeness limits a source's polls obey (`None` for files).
pub fn source_host(source: &SourceConfig) -> Option<String> {
    host_key(&source.url)
}

/// Forgets the URL-bound parts of `state` when the configured URL is not the one they belong
/// to (the operator edited it): validators, effective URL, redirect candidate, gone.
fn rebind(state: &mut SourceState, source: &SourceConfig) {
    let configured = source.url.as_str();
    if state.configured_url.as_deref() == Some(configured) {
        return;
    }
    if state.configured_url.is_some() {
        info!(source = %source.name, url = configured, "configured URL changed; starting afresh");
    }
    state.configured_url = Some(configured.to_owned());
    state.etag = None;
    state.last_modified = None;
    state.effective_url = None;
    state.moved_candidate = None;
    state.moved_polls = 0;
    state.gone_since = None;
}

/// Polls one source once and records the outcome on its state.
#[instrument(skip_all, fields(source = %source.name, url = %source.url, new, copies))]
pub async fn poll_source(ctx: &IngestContext, source: &SourceConfig) -> PollReport {
    let started = now_ms();
    if let Some(fault) = ctx.store.fault() {
        // The store refuses writes (disk full): fetching now would only be thrown away. The
        // source's stored state is left as it was; /status reports the store's fault.
        return PollReport {
            result: Err(StoreError::Faulted(fault.message).into()),
            state: ctx
                .store
                .source_state(&source.name)
                .ok()
                .flatten()
                .unwrap_or_default(),
            fresh_for: None,
        };
    }
    let mut state = match ctx.store.source_state(&source.name) {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => {
            let result = Err(PollError::from(e));
            if let Err(e) = &result {
                ctx.errors.record(e.class());
            }
            return PollReport {
                result,
                state: SourceState::default(),
                fresh_for: None,
            };
        }
    };
    rebind(&mut state, source);
    if let Some(since) = state.gone_since {
        let at = DateTime::<Utc>::from_timestamp_millis(since)
            .map_or_else(|| since.to_string(), |t| t.to_rfc3339());
        return PollReport {
            result: Err(PollError::Gone(at)),
            state,
            fresh_for: None,
        };
    }
    state.last_poll = Some(started);
    state.polls += 1;
    let url = state
        .effective_url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .unwrap_or_else(|| source.url.clone());
    let result = run(ctx, source, &url, &mut state).await;
    match &result {
        Ok((s, _)) if s.not_modified => crate::metrics::poll("not_modified", ""),
        Ok(_) => crate::metrics::poll("ok", ""),
        Err(e) => crate::metrics::poll("error", e.class().name),
    }
    let mut fresh_for = None;
    let result = match result {
        Ok((s, fresh)) => {
            fresh_for = fresh;
            crate::metrics::articles(s.new, s.copies, s.updated);
            state.last_success = Some(now_ms());
            state.last_error = None;
            state.failures = 0;
            state.items_seen += s.seen;
            state.items_new += s.new;
            state.items_updated += s.updated;
            state.items_copies += s.copies;
            state.not_modified += u64::from(s.not_modified);
            Span::current()
                .record("new", s.new)
                .record("copies", s.copies);
            if s.new + s.updated + s.copies > 0 {
                info!(
                    seen = s.seen,
                    new = s.new,
                    updated = s.updated,
                    copies = s.copies,
                    "poll stored articles"
                );
            }
            Ok(s)
        }
        Err(e) => {
            record_failure(ctx, source, &mut state, &e);
            Err(e)
        }
    };
    match ctx.store.put_source_state(&source.name, &state) {
        Ok(()) | Err(StoreError::Faulted(_)) => {}
        Err(e) => warn!(error.message = %e, "cannot record source state"),
    }
    PollReport {
        result,
        state,
        fresh_for,
    }
}

fn record_failure(
    ctx: &IngestContext,
    source: &SourceConfig,
    state: &mut SourceState,
    e: &PollError,
) {
    let class = e.class();
    ctx.errors.record(class);
    state.failures = state.failures.saturating_add(1);
    state.last_error = Some(ErrorRecord {
        class: class.name.to_owned(),
        message: e.to_string(),
        at: now_ms(),
        status: class.status,
    });
    warn!(
        error.class = %class,
        error.message = %e,
        failures = state.failures,
        "poll failed"
    );
    if class.status == Some(410) {
        state.gone_since = Some(now_ms());
        warn!(source = %source.name, "the feed is gone (410): polling stopped; change its URL to poll it again");
    }
    if let (Some(wait), Some(host)) = (e.retry_after(), source_host(source)) {
        let wait = wait.min(ctx.options.max_retry_after);
        if !wait.is_zero() {
            ctx.hosts.cool_down(&host, wait);
            info!(host, wait_s = wait.as_secs(), "host asked to be left alone");
        }
    }
}

/// Counts a permanent redirect seen on this poll; adopts it after enough consecutive polls.
fn track_move(state: &mut SourceState, source: &SourceConfig, moved_to: Option<&Url>, needed: u32) {
    let Some(target) = moved_to.map(Url::as_str) else {
        state.moved_candidate = None;
        state.moved_polls = 0;
        return;
    };
    if state.moved_candidate.as_deref() == Some(target) {
        state.moved_polls = state.moved_polls.saturating_add(1);
    } else {
        state.moved_candidate = Some(target.to_owned());
        state.moved_polls = 1;
    }
    if state.moved_polls >= needed {
        info!(
            source = %source.name,
            from = state.effective_url.as_deref().unwrap_or(source.url.as_str()),
            to = target,
            polls = state.moved_polls,
            "feed moved permanently; polling its new URL"
        );
        state.effective_url = (target != source.url.as_str()).then(|| target.to_owned());
        state.moved_candidate = None;
        state.moved_polls = 0;
    }
}

async fn run(
    ctx: &IngestContext,
    source: &SourceConfig,
    url: &Url,
    state: &mut SourceState,
) -> Result<(PollSummary, Option<Duration>), PollError> {
    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    let started = std::time::Instant::now();
    let outcome = ctx.fetcher.fetch(url, &validators).await?;
    let bytes = match &outcome.content {
        Content::Body { bytes, .. } => bytes.len() as u64,
        Content::NotModified => 0,
    };
    crate::metrics::fetch(started.elapsed(), bytes);
    track_move(
        state,
        source,
        outcome.moved_to.as_ref(),
        ctx.options.permanent_redirect_polls,
    );
    let (bytes, content_type) = match outcome.content {
        Content::NotModified => {
            let summary = PollSummary {
                not_modified: true,
                ..PollSummary::default()
            };
            return Ok((summary, outcome.fresh_for));
        }
        Content::Body {
            bytes,
            content_type,
        } => (bytes, content_type),
    };
    let ctx2 = ctx.clone();
    let name = source.name.clone();
    let final_url = outcome.final_url;
    // Parsing, normalizing and folding are CPU and disk work: keep them off the async threads,
    // one body per core at a time.
    let (summary, info) = ctx
        .cpu
        .run(move || {
            ingest_body(
                &ctx2,
                &name,
                &bytes,
                final_url.as_str(),
                content_type.as_deref(),
            )
        })
        .await
        .map_err(|e| StoreError::Io(format!("ingest task failed: {e}")))??;
    // Validators are kept only once the body went into the store: a failed store write must
    // not make the next poll a 304 that skips the items that were never stored.
    state.etag = outcome.validators.etag;
    state.last_modified = outcome.validators.last_modified;
    if info.title.is_some() {
        state.feed_title = info.title;
    }
    state.ttl_s = info.ttl_minutes.map(|m| m.saturating_mul(60));
    state.skip_hours = info.skip_hours;
    state.skip_days = info.skip_days;
    state.entry_gap_s = info.entry_gap.map(|d| d.as_secs());
    state.encoding = Some(info.encoding.to_owned());
    Ok((summary, outcome.fresh_for))
}

/// Longest title kept, in characters (longer ones are cut, with `…`).
pub const MAX_TITLE_CHARS: usize = 1000;

fn cut_chars(s: &mut String, max: usize) {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
        s.push('…');
    }
}

/// Parses, normalizes and folds a fetched body. Blocking.
pub fn ingest_body(
    ctx: &IngestContext,
    source: &str,
    body: &[u8],
    url: &str,
    content_type: Option<&str>,
) -> Result<(PollSummary, FeedInfo), PollError> {
    let mut feed = parse_feed(body, url, content_type)?;
    if feed.replaced_bytes {
        warn!(
            source,
            encoding = feed.encoding,
            "invalid bytes in the feed were replaced"
        );
    }
    let now = Utc::now();
    let opts = NormalizeOptions {
        now,
        max_future: chrono::Duration::days(1),
        rules: ctx.rules.clone().unwrap_or_else(Rules::shared_default),
        detect_language: true,
    };
    let mut summary = PollSummary::default();
    let mut keys = std::collections::HashSet::with_capacity(feed.entries.len());
    let mut language = FeedLanguage::default();
    let mut articles = Vec::with_capacity(feed.entries.len());
    for raw in &mut feed.entries {
        summary.seen += 1;
        let mut article = language.normalize(raw, &opts);
        // A hostile feed can send a title of megabytes; it would be copied into the story's
        // headline variants on every copy. Headlines are short: keep the first characters.
        cut_chars(&mut article.title, MAX_TITLE_CHARS);
        cut_chars(&mut article.fp_title, MAX_TITLE_CHARS);
        // A feed that repeats a GUID for different items (it happens): the later ones get a
        // positional suffix, so they neither overwrite each other nor flip-flop every poll.
        if !keys.insert(article.key.clone()) {
            let base = article.key.clone();
            let mut n = 2;
            while !keys.insert(format!("{base}#{n}")) {
                n += 1;
            }
            article.key = format!("{base}#{n}");
        }
        articles.push(article);
    }
    // One lock and one store transaction for the whole poll: per-article transactions made
    // folding the bottleneck of ingestion.
    for d in ctx
        .folder
        .fold_all(source, articles, now.timestamp_millis())?
    {
        match d {
            Decision::Unchanged => summary.unchanged += 1,
            Decision::Updated { .. } => summary.updated += 1,
            Decision::New { .. } => summary.new += 1,
            Decision::Copy { .. } => summary.copies += 1,
        }
    }
    let info = FeedInfo {
        entry_gap: entry_gap(&feed.entries, now),
        title: feed.title,
        ttl_minutes: feed.ttl_minutes,
        skip_hours: feed.skip_hours,
        skip_days: feed.skip_days,
        encoding: feed.encoding,
    };
    Ok((summary, info))
}

/// The feed's publishing rate as a mean time between entries: the span from its oldest entry
/// of the last 30 days until now, divided by the number of those entries. A feed whose recent
/// entries stopped long ago therefore looks slow, as it is. `None` when no entry has a date, or
/// when every date is the same instant (feeds that stamp every entry with the time of the
/// request say nothing about their rate); 30 days when no entry is recent.
pub fn entry_gap(entries: &[RawEntry], now: DateTime<Utc>) -> Option<Duration> {
    const WINDOW: Duration = Duration::from_secs(30 * 86_400);
    let dates: Vec<DateTime<Utc>> = entries
        .iter()
        .filter_map(|e| e.published.or(e.updated))
        .filter(|d| *d <= now + chrono::Duration::days(1))
        .collect();
    let oldest = dates.iter().min()?;
    let newest = dates.iter().max()?;
    if dates.len() > 1 && (*newest - *oldest) < chrono::Duration::minutes(1) {
        return None;
    }
    let since = now - chrono::Duration::from_std(WINDOW).ok()?;
    let recent: Vec<&DateTime<Utc>> = dates.iter().filter(|d| **d >= since).collect();
    let Some(oldest_recent) = recent.iter().min() else {
        return Some(WINDOW);
    };
    let span = (now - **oldest_recent).to_std().unwrap_or(Duration::ZERO);
    Some(span / recent.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_titles_are_cut_on_a_character_boundary() {
        let mut s = "é".repeat(MAX_TITLE_CHARS + 5);
        cut_chars(&mut s, MAX_TITLE_CHARS);
        assert_eq!(s.chars().count(), MAX_TITLE_CHARS + 1);
        assert!(s.ends_with('…'));
        let mut short = "short".to_owned();
        cut_chars(&mut short, MAX_TITLE_CHARS);
        assert_eq!(short, "short");
    }

    fn entry(age_min: i64, now: DateTime<Utc>) -> RawEntry {
        RawEntry {
            guid: None,
            link: None,
            title: None,
            summary: None,
            content: None,
            published: Some(now - chrono::Duration::minutes(age_min)),
            updated: None,
            authors: Vec::new(),
            language: None,
        }
    }

    #[test]
    fn entry_gap_follows_the_publishing_rate() {
        let now = Utc::now();
        // Ten entries over the last 100 minutes: one every ten minutes.
        let busy: Vec<RawEntry> = (0..10).map(|i| entry(10 + i * 10, now)).collect();
        assert_eq!(entry_gap(&busy, now), Some(Duration::from_secs(600)));
        // Stopped two months ago: as slow as it gets.
        let dormant: Vec<RawEntry> = (0..5).map(|i| entry(86_400 + i, now)).collect();
        assert_eq!(
            entry_gap(&dormant, now),
            Some(Duration::from_secs(30 * 86_400))
        );
        // Every entry stamped with one instant: no information.
        let stamped: Vec<RawEntry> = (0..5).map(|_| entry(0, now)).collect();
        assert_eq!(entry_gap(&stamped, now), None);
        assert_eq!(entry_gap(&[], now), None);
    }

    #[test]
    fn permanent_moves_are_adopted_after_n_polls() {
        let source = SourceConfig {
            name: "s".into(),
            url: Url::parse("http://a.example/feed").unwrap(),
            interval: Duration::from_secs(60),
            enabled: true,
            agency: false,
        };
        let b = Url::parse("http://b.example/feed").unwrap();
        let c = Url::parse("http://c.example/feed").unwrap();
        let mut st = SourceState::default();
        track_move(&mut st, &source, Some(&b), 3);
        track_move(&mut st, &source, Some(&b), 3);
        assert_eq!(st.effective_url, None);
        // Interrupted by a poll without the redirect: counting starts again.
        track_move(&mut st, &source, None, 3);
        track_move(&mut st, &source, Some(&b), 3);
        track_move(&mut st, &source, Some(&c), 3);
        assert_eq!(
            (st.moved_candidate.as_deref(), st.moved_polls),
            (Some(c.as_str()), 1)
        );
        track_move(&mut st, &source, Some(&c), 3);
        track_move(&mut st, &source, Some(&c), 3);
        assert_eq!(st.effective_url.as_deref(), Some(c.as_str()));
        // A changed configuration forgets it.
        let mut edited = source.clone();
        edited.url = Url::parse("http://d.example/feed").unwrap();
        st.configured_url = Some(source.url.to_string());
        rebind(&mut st, &edited);
        assert_eq!(st.effective_url, None);
    }
}
