//! One poll of one source: its stored state read and rebound to the configured URL, the fetch
//! (validators, permanent redirects), the body handed to the CPU threads, and the outcome
//! recorded on the source's state (counts, last error, `gone_since`, host cooldowns).

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{debug, info, instrument, warn, Span};
use url::Url;

use super::{ingest_body, polled_host, IngestContext, PollError, PollReport, PollSummary, Reach};
use crate::config::{shown_url, SourceConfig};
use crate::fetch::host_limit::PollSlots;
use crate::fetch::{Content, FetchOutcome, Validators};
use crate::storage::{ErrorRecord, Millis, SourceState, StoreError};

fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

/// Forgets the URL-bound parts of `state` when the configured URL is not the one they belong
/// to (the operator edited it): validators, effective URL, redirects, gone, and the
/// run of failures (the new URL's first failure backs off from the interval, not from the
/// old URL's hours).
fn rebind(state: &mut SourceState, source: &SourceConfig) {
    let configured = source.url.as_str();
    if state.configured_url.as_deref() == Some(configured) {
        return;
    }
    if state.configured_url.is_some() {
        info!(source = %source.name, url = %source.shown_url(), "configured URL changed; starting afresh");
    }
    state.configured_url = Some(configured.to_owned());
    state.etag = None;
    state.last_modified = None;
    state.effective_url = None;
    state.redirect_host = None;
    state.moved_candidate = None;
    state.moved_polls = 0;
    state.gone_since = None;
    state.failures = 0;
}

/// Polls one source once and records the outcome on its state.
///
/// The span names the source in every event of the poll; it is at `error` level so that it
/// is there whatever `log.level` lets through (at `warn`, "poll failed" must still say
/// which source).
#[instrument(level = "error", skip_all, fields(source = %source.name, url = %source.shown_url(), new, copies))]
pub async fn poll_source(
    ctx: &IngestContext,
    source: &SourceConfig,
    mut slots: PollSlots,
) -> PollReport {
    // A backup may have the store closed: wait for it as a task, not on a runtime thread.
    ctx.store.until_open().await;
    let started = now_ms();
    if let Some(fault) = ctx.store.fault() {
        // The store refuses writes (disk full): fetching now would only be thrown away. The
        // source's stored state is left as it was; /status reports the store's fault. The
        // poll is counted as failed with class `store` (it was not, and nothing showed why
        // polls stopped), and the scheduler holds the source until the store reopens.
        let error = PollError::from(StoreError::Faulted(fault.message));
        ctx.errors.record(error.class());
        crate::metrics::poll("error", error.class().name);
        return PollReport {
            result: Err(error),
            state: ctx
                .store
                .source_state(&source.name)
                .ok()
                .flatten()
                .unwrap_or_default(),
            fresh_for: None,
            reach: None,
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
                reach: None,
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
            reach: None,
        };
    }
    state.last_poll = Some(started);
    state.polls += 1;
    let url = state
        .effective_url
        .as_deref()
        .and_then(|u| Url::parse(u).ok())
        .unwrap_or_else(|| source.url.clone());
    let mut reach = None;
    let result = run(ctx, source, &url, &mut state, &mut slots, &mut reach).await;
    if result.is_err() {
        // A permanent move is adopted after that many *consecutive* successful polls
        // through it: a failed poll starts the count again.
        forget_move(&mut state);
    }
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
            let polled = polled_host(source, Some(&state));
            forget_pause_on_success(&mut state, polled.as_deref(), now_ms());
            state.items_seen += s.seen;
            state.items_new += s.new;
            state.items_updated += s.updated;
            state.items_copies += s.copies;
            state.not_modified += u64::from(s.not_modified);
            state.unchanged_bodies += u64::from(s.body_unchanged);
            if s.new + s.copies > 0 {
                state.last_new = Some(now_ms());
            }
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
            } else {
                // Most polls: a 304 or a feed with nothing new. Seen with `log.level = "debug"`.
                debug!(
                    seen = s.seen,
                    not_modified = s.not_modified,
                    "poll found nothing new"
                );
            }
            Ok(s)
        }
        Err(e) => {
            record_failure(ctx, source, &mut state, &e);
            Err(e)
        }
    };
    ctx.store.until_open().await;
    match ctx.store.put_source_state(&source.name, &state) {
        Ok(()) | Err(StoreError::Faulted(_)) => {}
        Err(e) => warn!(error.message = %e, "cannot record source state"),
    }
    PollReport {
        result,
        state,
        fresh_for,
        reach,
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
    // The host that asked: a source that a temporary redirect took elsewhere does not
    // pause its own host for the other host's sake.
    let asked = e
        .answered_by()
        .map(str::to_owned)
        .or_else(|| polled_host(source, Some(state)));
    let pause = match (e.retry_after(), asked) {
        (Some(wait), Some(host)) => {
            let held = ctx.hosts.cool_down(&host, wait);
            Some((host, wait, held))
        }
        _ => None,
    };
    // What the server sent may be quoted in it: shown safe and short in the log and /status.
    let mut message = crate::config::shown_message(&e.to_string());
    // A `Retry-After` past `schedule.max_retry_after` is quoted as sent: say what is held.
    if let Some((_, asked, held)) = &pause {
        if held < asked {
            message.push_str(&format!(
                "; the host is left alone for {} (schedule.max_retry_after)",
                humantime::format_duration(Duration::from_secs(held.as_secs()))
            ));
        }
    }
    warn!(
        error.class = %class,
        error.message = %message,
        failures = state.failures,
        "poll failed"
    );
    state.last_error = Some(ErrorRecord {
        class: class.name.to_owned(),
        message,
        at: now_ms(),
        status: class.status,
    });
    // Gone is the feed URL's word (or a permanent move's) for good; a dated copy that a
    // temporary redirect pointed at may go while the feed stays.
    if class.status == Some(410) && e.from_feed_url() {
        state.gone_since = Some(now_ms());
        warn!(source = %source.name, "the feed is gone (410): polling stopped; change its URL to poll it again");
    }
    state.host_pause = None;
    if let Some((host, _, wait)) = pause {
        if !wait.is_zero() {
            info!(host, wait_s = wait.as_secs(), "host asked to be left alone");
            // Kept with the state: a restart resumes this pause, not the source's back-off.
            let until =
                now_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
            state.host_pause = Some(crate::storage::HostPause { host, until });
        }
    }
}

/// After a successful poll of `polled`: that host is no longer paused, so its pause is
/// forgotten; a pause another host asked for (the source's before it moved) is kept until it
/// ends, so that a restart still resumes it.
fn forget_pause_on_success(state: &mut SourceState, polled: Option<&str>, now: Millis) {
    if state
        .host_pause
        .as_ref()
        .is_some_and(|p| p.until <= now || Some(p.host.as_str()) == polled)
    {
        state.host_pause = None;
    }
}

/// Starts the count of a permanent move again: this poll did not go through it.
fn forget_move(state: &mut SourceState) {
    state.moved_candidate = None;
    state.moved_polls = 0;
}

/// Counts a permanent redirect seen on this poll; adopts it after enough consecutive polls.
fn track_move(state: &mut SourceState, source: &SourceConfig, moved_to: Option<&Url>, needed: u32) {
    let Some(target) = moved_to.map(Url::as_str) else {
        forget_move(state);
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
            from = %shown_url(state.effective_url.as_deref().unwrap_or(source.url.as_str())),
            to = %shown_url(target),
            polls = state.moved_polls,
            "feed moved permanently; polling its new URL"
        );
        state.effective_url = (target != source.url.as_str()).then(|| target.to_owned());
        state.moved_candidate = None;
        state.moved_polls = 0;
    }
}

/// Whether `source`'s poll should go without validators, so that its feed's entries are
/// seen and the tombstones of those retention deleted live on: it has tombstones, and none of
/// its polls was folded in full for [`RECHECK`](crate::fold::polls::RECHECK) (or none is known: a state of an older
/// schema). A 304, or a body holding the entries already folded, shows none of them. The
/// time is kept with the source's state, so `wirefold once` from a timer and a daemon
/// restarted often are asked too. A store that cannot answer says no.
fn full_poll_due(ctx: &IngestContext, source: &str, state: &SourceState, now: Millis) -> bool {
    state
        .last_full_poll
        .is_none_or(|at| now.saturating_sub(at) >= crate::fold::polls::RECHECK)
        && ctx.store.has_tombstones(source).unwrap_or(false)
}

async fn run(
    ctx: &IngestContext,
    source: &SourceConfig,
    url: &Url,
    state: &mut SourceState,
    slots: &mut PollSlots,
    reach: &mut Option<Reach>,
) -> Result<(PollSummary, Option<Duration>), PollError> {
    // A 304 shows no entries: now and then the body is asked for whole, so that the items
    // retention deleted that the feed still lists are seen and their tombstones live on.
    ctx.store.until_open().await;
    let validators = if full_poll_due(ctx, &source.name, state, now_ms()) {
        debug!(
            source = %source.name,
            "polled without validators: its tombstoned items must be seen again"
        );
        Validators::default()
    } else {
        Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        }
    };
    let started = std::time::Instant::now();
    let fetcher = ctx.fetcher.get();
    let fetched = fetcher
        .fetch_source(source, url, &validators, Some((&ctx.hosts, slots)))
        .await;
    // Every attempt is timed: the slowest fetches are those that end in a timeout.
    let bytes = match &fetched {
        Ok(FetchOutcome {
            content: Content::Body { bytes, .. },
            ..
        }) => bytes.len() as u64,
        _ => 0,
    };
    // Less the waits for the hosts' spacing, which are the poll's politeness, not the fetch.
    crate::metrics::fetch(started.elapsed().saturating_sub(slots.waited()), bytes);
    *reach = Some(Reach {
        answered: fetched.as_ref().map_or_else(|f| f.answered, |_| true),
    });
    // The host the chain reached after redirects, whatever failed there (a stall, a broken
    // body, a dead target): its limits bind this source's next polls. A poll whose first
    // request went unanswered learnt nothing of where the redirects lead now.
    let reached = match &fetched {
        Ok(outcome) => crate::fetch::host_limit::host_key(&outcome.final_url),
        Err(f) if f.answered => crate::fetch::host_limit::host_key(&f.at),
        Err(_) => None,
    };
    if let Some(reached) = reached {
        let polled = crate::fetch::host_limit::host_key(url);
        let configured = source.url.as_str();
        ctx.hosts
            .note_reached(&source.name, configured, polled.as_deref(), &reached);
        // Kept with the state too: a restart resumes it (`Poller::resume_stored_host_limits`).
        state.redirect_host =
            (!polled.is_some_and(|p| p.eq_ignore_ascii_case(&reached))).then_some(reached);
    }
    let outcome = fetched.map_err(|f| f.error)?;
    if let (Some(offset), Some(host)) = (
        outcome.clock_offset,
        crate::fetch::host_limit::host_key(&outcome.final_url),
    ) {
        if let Some(skew) = ctx.clock.observe(&host, offset) {
            warn!("{}", skew.warning());
        }
    }
    let moved_to = outcome.moved_to;
    let needed = ctx.options.permanent_redirect_polls();
    let (bytes, content_type, status) = match outcome.content {
        Content::NotModified => {
            // A 304 counts neither way for a move: the page moved to may be a sign-in
            // page that answers the feed's If-Modified-Since so, and no feed was read.
            // A 304 may renew a validator; one it does not carry stays as stored.
            if let Some(etag) = outcome.validators.etag {
                state.etag = Some(etag);
            }
            if let Some(last_modified) = outcome.validators.last_modified {
                state.last_modified = Some(last_modified);
            }
            let summary = PollSummary {
                not_modified: true,
                ..PollSummary::default()
            };
            return Ok((summary, outcome.fresh_for));
        }
        Content::Body {
            bytes,
            content_type,
            status,
        } => (bytes, content_type, status),
    };
    let ctx2 = ctx.clone();
    let name = source.name.clone();
    let final_url = outcome.final_url;
    // Where the body came from, for an error about it, when that is not the URL configured.
    let from = (final_url != source.url).then(|| shown_url(final_url.as_str()).into_owned());
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
        .map_err(|e| StoreError::Io(format!("ingest task failed: {e}")))?
        .map_err(|e| match e {
            PollError::Parse(e) => PollError::Parse(e.answered(status, from.as_deref())),
            e => e,
        })?;
    // A move counts only once its new URL served a feed: a 301 to a sign-in page or an
    // error page with status 200 is not the feed's new home.
    track_move(state, source, moved_to.as_ref(), needed);
    // Validators are kept only once the body went into the store: a failed store write must
    // not make the next poll a 304 that skips the items that were never stored.
    state.etag = outcome.validators.etag;
    state.last_modified = outcome.validators.last_modified;
    if !summary.body_unchanged {
        state.last_full_poll = Some(now_ms());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A source at `http://a.example/feed`.
    fn source_a() -> SourceConfig {
        SourceConfig {
            name: "s".into(),
            url: Url::parse("http://a.example/feed").unwrap(),
            interval: Duration::from_secs(60),
            enabled: true,
            agency: false,
            headers: Default::default(),
        }
    }

    #[test]
    fn a_moved_source_obeys_the_limits_of_the_host_it_moved_to() {
        let source = source_a();
        assert_eq!(polled_host(&source, None).as_deref(), Some("a.example:80"));
        let mut st = SourceState::default();
        assert_eq!(
            polled_host(&source, Some(&st)).as_deref(),
            Some("a.example:80")
        );
        st.effective_url = Some("https://B.example/new-feed".into());
        assert_eq!(
            polled_host(&source, Some(&st)).as_deref(),
            Some("b.example:443")
        );
        st.configured_url = Some(source.url.to_string());
        assert_eq!(
            polled_host(&source, Some(&st)).as_deref(),
            Some("b.example:443")
        );
        // The operator edited the URL since the move: the next poll goes to the new URL's
        // host, not to the one the old URL moved to (and obeys its limits, not the other's).
        let mut edited = source_a();
        edited.url = url::Url::parse("http://c.example/feed").unwrap();
        assert_eq!(
            polled_host(&edited, Some(&st)).as_deref(),
            Some("c.example:80")
        );
    }

    #[test]
    fn a_success_forgets_its_own_hosts_pause_not_anothers() {
        let paused = |host: &str| SourceState {
            host_pause: Some(crate::storage::HostPause {
                host: host.into(),
                until: 10_000,
            }),
            ..SourceState::default()
        };
        let mut own = paused("a.example:80");
        forget_pause_on_success(&mut own, Some("a.example:80"), 5_000);
        assert_eq!(own.host_pause, None);
        // Moved to b.example since a.example asked for its pause: kept until it ends.
        let mut moved = paused("a.example:80");
        forget_pause_on_success(&mut moved, Some("b.example:80"), 5_000);
        assert!(moved.host_pause.is_some());
        forget_pause_on_success(&mut moved, Some("b.example:80"), 10_000);
        assert_eq!(moved.host_pause, None);
    }

    #[test]
    fn permanent_moves_are_adopted_after_n_polls() {
        let source = source_a();
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
        st.failures = 7;
        rebind(&mut st, &edited);
        assert_eq!(st.effective_url, None);
        assert_eq!(st.failures, 0);
    }

    /// A poll's error about its body says what the server answered: an empty body names
    /// its status (a 204 means one: "the response body is empty" alone read as a broken
    /// feed), and a body that is no feed names the URL redirects took the poll to, which is
    /// not the one the operator configured (fetch audit, session 66). Real store, real
    /// loopback server, through `once`.
    #[test]
    fn a_body_that_is_no_feed_names_its_status_or_where_redirects_led() {
        use axum::http::{header, StatusCode};
        use axum::response::IntoResponse;
        use axum::routing::get;
        const PAGE: &str = "<!DOCTYPE html><html><body>Sign in</body></html>";
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let app = axum::Router::new()
            .route("/nothing", get(|| async { StatusCode::NO_CONTENT }))
            .route("/blank", get(|| async { "" }))
            .route(
                "/page",
                get(|| async { ([(header::CONTENT_TYPE, "text/html")], PAGE) }),
            )
            .route(
                "/feed",
                get(|| async {
                    (StatusCode::FOUND, [(header::LOCATION, "/login?next=feed")]).into_response()
                }),
            )
            .route(
                "/login",
                get(|| async { ([(header::CONTENT_TYPE, "text/html")], PAGE) }),
            )
            .route(
                "/old",
                get(|| async {
                    (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/api")]).into_response()
                }),
            )
            .route("/api", get(|| async { "{\"error\": \"no such feed\"}" }));
        let addr = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await });
            addr
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.toml");
        let mut toml = format!(
            "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
            dir.path().join("store").display()
        );
        for name in ["nothing", "blank", "page", "feed", "old"] {
            toml.push_str(&format!(
                "[[sources]]\nname = \"{name}\"\nurl = \"http://{addr}/{name}\"\n"
            ));
        }
        std::fs::write(&path, toml).unwrap();
        let config = crate::config::Config::load_with_env(&path, Some(Default::default()));
        let app = crate::app::App::build(config.unwrap()).unwrap();
        let outcomes = rt.block_on(app.once());
        let said = |name: &str| {
            let (_, outcome) = outcomes.iter().find(|(n, _)| n == name).unwrap();
            let crate::app::OnceOutcome::Polled(report) = outcome else {
                panic!("{name} not polled: {outcome:?}");
            };
            let e = report.result.as_ref().unwrap_err();
            (e.class().name, e.to_string())
        };
        assert_eq!(
            said("nothing"),
            (
                "empty_body",
                "204 No Content: the response body is empty".into()
            )
        );
        assert_eq!(
            said("blank"),
            ("empty_body", "200 OK: the response body is empty".into())
        );
        // Where the operator's URL led: nothing more to say.
        assert_eq!(
            said("page"),
            ("not_a_feed", "not a feed: the body is an HTML page".into())
        );
        assert_eq!(
            said("feed"),
            (
                "not_a_feed",
                format!(
                    "not a feed: the body from http://{addr}/login?next=feed (where the \
                     source's URL redirects) is an HTML page"
                )
            )
        );
        let (class, message) = said("old");
        assert_eq!(class, "malformed_feed");
        assert!(
            message.starts_with("malformed feed: ")
                && message.ends_with(&format!(
                    " (from http://{addr}/api, where the source's URL redirects)"
                )),
            "{message}"
        );
    }
}
