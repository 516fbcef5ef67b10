//! What to do for one source: fetch → parse → normalize → fingerprint/fold → store, and the
//! source's state recorded afterwards. How many of these run at once is the scheduler's
//! business, not this module's.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tracing::{info, instrument, warn, Span};

use crate::config::SourceConfig;
use crate::fetch::{FetchError, FetchOutcome, Fetcher, Validators};
use crate::fold::{Decision, Folder};
use crate::normalize::{normalize, NormalizeOptions, Rules};
use crate::parse::{parse_feed, ParseError};
use crate::storage::{ErrorRecord, Millis, SourceState, Store, StoreError};

/// What the pipeline needs, shared by every poll.
#[derive(Debug, Clone)]
pub struct IngestContext {
    /// HTTP client.
    pub fetcher: Fetcher,
    /// Store.
    pub store: Store,
    /// Index + fold decisions.
    pub folder: Arc<Folder>,
    /// Normalization rules (built-in plus configured).
    pub rules: Arc<Rules>,
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
    /// True when the server said 304.
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
}

impl PollError {
    /// The class recorded on the source (`timeout`, `http_status`, `malformed_feed`, …).
    pub fn class(&self) -> &'static str {
        match self {
            PollError::Fetch(e) => e.class(),
            PollError::Parse(e) => e.class(),
            PollError::Store(_) => "store",
        }
    }

    /// `Retry-After` the server asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PollError::Fetch(FetchError::Status { retry_after, .. }) => *retry_after,
            _ => None,
        }
    }
}

/// The result of one poll, with the state recorded for the source.
#[derive(Debug)]
pub struct PollReport {
    /// Counts, or the error.
    pub result: Result<PollSummary, PollError>,
    /// The source's state after the poll (already stored, without `next_poll`).
    pub state: SourceState,
}

fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
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
        };
    }
    let mut state = match ctx.store.source_state(&source.name) {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => {
            return PollReport {
                result: Err(e.into()),
                state: SourceState::default(),
            }
        }
    };
    state.last_poll = Some(started);
    state.polls += 1;
    let result = run(ctx, source, &mut state).await;
    match &result {
        Ok(s) if s.not_modified => crate::metrics::poll("not_modified", ""),
        Ok(_) => crate::metrics::poll("ok", ""),
        Err(e) => crate::metrics::poll("error", e.class()),
    }
    match &result {
        Ok(s) => {
            crate::metrics::articles(s.new, s.copies, s.updated);
            state.last_success = Some(now_ms());
            state.last_error = None;
            state.failures = 0;
            state.items_seen += s.seen;
            state.items_new += s.new;
            state.items_updated += s.updated;
            state.items_copies += s.copies;
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
        }
        Err(e) => {
            state.failures = state.failures.saturating_add(1);
            state.last_error = Some(ErrorRecord {
                class: e.class().to_owned(),
                message: e.to_string(),
                at: now_ms(),
            });
            warn!(
                error.class = e.class(),
                error.message = %e,
                failures = state.failures,
                "poll failed"
            );
        }
    }
    match ctx.store.put_source_state(&source.name, &state) {
        Ok(()) | Err(StoreError::Faulted(_)) => {}
        Err(e) => warn!(error.message = %e, "cannot record source state"),
    }
    PollReport { result, state }
}

async fn run(
    ctx: &IngestContext,
    source: &SourceConfig,
    state: &mut SourceState,
) -> Result<PollSummary, PollError> {
    let validators = Validators {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    let started = std::time::Instant::now();
    let fetched = ctx.fetcher.fetch(&source.url, &validators).await?;
    let bytes = match &fetched {
        FetchOutcome::Fetched { body, .. } => body.len() as u64,
        FetchOutcome::NotModified => 0,
    };
    crate::metrics::fetch(started.elapsed(), bytes);
    let (body, validators, final_url) = match fetched {
        FetchOutcome::NotModified => {
            return Ok(PollSummary {
                not_modified: true,
                ..PollSummary::default()
            })
        }
        FetchOutcome::Fetched {
            body,
            validators,
            final_url,
        } => (body, validators, final_url),
    };
    let ctx2 = ctx.clone();
    let name = source.name.clone();
    // Parsing, normalizing and folding are CPU and disk work: keep them off the async threads.
    let (summary, title) =
        tokio::task::spawn_blocking(move || ingest_body(&ctx2, &name, &body, final_url.as_str()))
            .await
            .map_err(|e| StoreError::Io(format!("ingest task failed: {e}")))??;
    // Validators are kept only once the body went into the store: a failed store write must
    // not make the next poll a 304 that skips the items that were never stored.
    state.etag = validators.etag;
    state.last_modified = validators.last_modified;
    if title.is_some() {
        state.feed_title = title;
    }
    Ok(summary)
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
) -> Result<(PollSummary, Option<String>), PollError> {
    let feed = parse_feed(body, url)?;
    let now = Utc::now();
    let opts = NormalizeOptions {
        now,
        max_future: chrono::Duration::days(1),
        rules: ctx.rules.clone(),
    };
    let mut summary = PollSummary::default();
    let mut keys = std::collections::HashSet::with_capacity(feed.entries.len());
    for raw in &feed.entries {
        summary.seen += 1;
        let mut article = normalize(raw, &opts);
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
        match ctx.folder.fold(source, article, now.timestamp_millis())? {
            Decision::Unchanged => summary.unchanged += 1,
            Decision::Updated { .. } => summary.updated += 1,
            Decision::New { .. } => summary.new += 1,
            Decision::Copy { .. } => summary.copies += 1,
        }
    }
    Ok((summary, feed.title))
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
}
