//! `GET /status`: the daemon's summary as JSON, built from the store and live figures.

use std::sync::atomic::Ordering;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::api::{BadParam, Params};
use super::AppState;
use crate::config::{shown_message, shown_url, SourceConfig};
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
    /// Polls in flight: holding one of the `fetch.concurrency` slots, or waiting without it
    /// for a redirect hop's spacing.
    pub polls_in_flight: usize,
    /// Store-wide counts.
    pub counts: StatusCounts,
    /// Articles in the near-duplicate index (the time window).
    pub index_size: usize,
    /// Bytes the store takes on disk.
    pub store_bytes: u64,
    /// Whether the daemon can reach the network at all.
    pub network: NetworkInfo,
    /// The system clock against the feed servers' (`null` until three hosts answered with a
    /// `Date`); past 300 s off the log and the page warn of it.
    pub clock: Option<ClockStatus>,
    /// Failed polls by error class since the process started.
    pub errors_by_class: Vec<ClassCount>,
    /// Whether the store takes writes; a failed write (disk full) stops ingesting until the
    /// disk takes writes again and the store is reopened.
    pub store: StoreHealth,
    /// The configuration file and its (re)loads.
    pub config: ConfigStatus,
    /// Sources by health: `ok`, `failing` (1–2 failures in a row), `down` (3 or more),
    /// `gone` (410), `waiting` (not polled yet), `disabled`.
    pub health: HealthCounts,
    /// Which sources `sources` lists: `all`, `failing` or `none`, or `one` (`source=NAME`).
    pub sources_shown: &'static str,
    /// Sources left out of `sources` by the filter or the page (`offset`, `limit`).
    pub sources_omitted: usize,
    /// The listed sources, in configuration order.
    pub sources: Vec<SourceStatus>,
}

/// The system clock against the feed servers' in `/status`.
#[derive(Debug, Serialize)]
pub struct ClockStatus {
    /// The median, over the last hosts that answered with a `Date` (up to 64), of their clock
    /// less ours, in seconds: positive when ours is behind.
    pub offset_s: i64,
    /// Hosts it is the median of.
    pub hosts: usize,
}

/// The store's health in `/status`.
#[derive(Debug, Serialize)]
pub struct StoreHealth {
    /// True while writes succeed.
    pub writable: bool,
    /// True once the store was read through without damage (at open, or by the daemon's
    /// background read-through, which runs right after start).
    pub verified: bool,
    /// True when that read-through found damage: the daemon stops with an error.
    pub damaged: bool,
    /// The write failure that stopped ingesting, while it lasts.
    pub error: Option<StoreErrorStatus>,
    /// Its backups.
    pub backups: BackupStatus,
    /// What retention keeps and how its sweeps went.
    pub retention: RetentionStatus,
    /// The store's keys and values as the last read-through counted them (the daemon's,
    /// right after start): what a `wirefold compact` copies. `null` until it finished, and
    /// for a store that was new at start.
    pub data: Option<DataStatus>,
    /// How the daemon's previous run on this store ended: `clean` (or there was none), or
    /// `unclean` (killed, crashed, power lost: the store was recovered from its log, and that
    /// run's last `store.flush_every` of writes may be missing).
    pub previous_stop: &'static str,
}

/// The store's data in `/status` (see [`StoreHealth::data`]).
#[derive(Debug, Serialize)]
pub struct DataStatus {
    /// Bytes of keys and values, every tree.
    pub bytes: u64,
    /// Records (key–value pairs).
    pub records: u64,
    /// Articles among them.
    pub articles: u64,
    /// When they were counted.
    pub counted_at: Option<String>,
    /// About what `wirefold compact` would leave now: the count scaled by the articles
    /// stored since (tombstones as counted), at what a fresh copy takes per byte and per
    /// record (`null` once the store holds more than twice the articles counted).
    pub expected_after_compact: Option<u64>,
    /// Whether `store_bytes` is at least 64 MiB and twice that: the file is mostly space
    /// retention freed, which `wirefold compact` (with the daemon stopped) gives back.
    pub compact_advised: bool,
}

impl DataStatus {
    fn new(d: crate::storage::DataSize, store_bytes: u64, articles_now: u64) -> Self {
        let expected = crate::storage::expected_copy(&d, articles_now);
        DataStatus {
            bytes: d.bytes,
            records: d.records,
            articles: d.articles,
            counted_at: rfc3339(d.at),
            expected_after_compact: expected,
            compact_advised: expected
                .is_some_and(|e| crate::storage::worth_compacting(store_bytes, e)),
        }
    }
}

/// The store's backups in `/status`: where they go, the newest, the next automatic one, and
/// the last failure if none succeeded since.
#[derive(Debug, Serialize)]
pub struct BackupStatus {
    /// `store.backup_dir`.
    pub dir: String,
    /// `store.backups_kept`.
    pub kept: usize,
    /// `store.backup_every` (e.g. `"1day"`); `null`: only when asked (`wirefold backup`).
    pub every: Option<String>,
    /// The newest backup: written by this daemon, or found in `dir` at start (then without
    /// `bytes` and `closed_for_ms`).
    pub last: Option<LastBackupStatus>,
    /// When the next automatic backup falls.
    pub next: Option<String>,
    /// The last failed backup, if none succeeded after it.
    pub failure: Option<BackupFailureStatus>,
}

/// Retention in `/status`: what `store.retention` keeps, and how the sweeps went since the
/// start.
#[derive(Debug, Serialize)]
pub struct RetentionStatus {
    /// `store.retention` (e.g. `"30days"`); `null`: off, everything is kept.
    pub after: Option<String>,
    /// How often a sweep runs (`retention / 8`, between a second and ten minutes).
    pub every: Option<String>,
    /// Sweeps finished since the start; none before the store was read through.
    pub sweeps: u64,
    /// When the last sweep finished, and when the next is due.
    pub last: Option<String>,
    pub next: Option<String>,
    /// What the sweeps deleted since the start: articles, stories (with their last copy),
    /// change-log entries and tombstones.
    pub deleted: crate::retention::Swept,
    /// Sweeps that failed since the start, and since when they fail (`null` once one
    /// finished after them).
    pub failed: u64,
    pub failing_since: Option<String>,
}

impl RetentionStatus {
    fn new(retention: Option<std::time::Duration>, log: crate::retention::RetentionState) -> Self {
        let human = |d| humantime::format_duration(d).to_string();
        Self {
            after: retention.map(human),
            every: retention.map(|r| human(crate::retention::sweep_every(r))),
            sweeps: log.sweeps,
            last: log.last.and_then(rfc3339),
            next: log.next.and_then(rfc3339),
            deleted: log.deleted,
            failed: log.failed,
            failing_since: log.failing_since.and_then(rfc3339),
        }
    }
}

/// A backup in `/status`.
#[derive(Debug, Serialize)]
pub struct LastBackupStatus {
    pub at: Option<String>,
    pub path: String,
    pub bytes: Option<u64>,
    pub closed_for_ms: Option<u64>,
}

/// A failed backup in `/status`.
#[derive(Debug, Serialize)]
pub struct BackupFailureStatus {
    pub at: Option<String>,
    pub message: String,
}

impl BackupStatus {
    /// `dir`: where the backups go, as [`crate::storage::Backups`] made it (absolute).
    fn new(
        config: &crate::config::StoreConfig,
        dir: &std::path::Path,
        log: crate::storage::BackupLog,
    ) -> Self {
        Self {
            dir: dir.display().to_string(),
            kept: config.backups_kept,
            every: config
                .backup_every
                .map(|d| humantime::format_duration(d).to_string()),
            last: log.last.map(|b| LastBackupStatus {
                at: rfc3339(b.at),
                path: b.path.display().to_string(),
                bytes: b.bytes,
                closed_for_ms: b.closed_for_ms,
            }),
            next: log.next.and_then(rfc3339),
            failure: log.failure.map(|(at, message)| BackupFailureStatus {
                at: rfc3339(at),
                message,
            }),
        }
    }
}

/// The configuration in `/status`: where it is read from, when the sources in effect were
/// loaded, and how the last reload (SIGHUP) went.
#[derive(Debug, Serialize)]
pub struct ConfigStatus {
    /// The file.
    pub path: String,
    /// When the sources in effect were loaded: at start, or by the last applied reload.
    pub loaded_at: Option<String>,
    /// When a reload was last tried (`null`: never).
    pub last_reload: Option<String>,
    /// Why that reload was refused (`null`: it was applied, or none was tried): every
    /// problem, as `check-config` lists them.
    pub last_reload_error: Option<String>,
}

/// A store write failure in `/status`.
#[derive(Debug, Serialize)]
pub struct StoreErrorStatus {
    /// What failed.
    pub message: String,
    /// Since when (RFC 3339).
    pub since: Option<String>,
}

/// Sources by health.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct HealthCounts {
    /// Last poll succeeded.
    pub ok: usize,
    /// One or two failures in a row.
    pub failing: usize,
    /// Three or more failures in a row.
    pub down: usize,
    /// Answered 410 Gone: no longer polled.
    pub gone: usize,
    /// Enabled, not polled yet.
    pub waiting: usize,
    /// Not polled by configuration.
    pub disabled: usize,
}

impl HealthCounts {
    /// The count of health `word` (a [`health_of`] word; `None` for any other).
    fn count_mut(&mut self, word: &str) -> Option<&mut usize> {
        match word {
            "ok" => Some(&mut self.ok),
            "failing" => Some(&mut self.failing),
            "down" => Some(&mut self.down),
            "gone" => Some(&mut self.gone),
            "waiting" => Some(&mut self.waiting),
            "disabled" => Some(&mut self.disabled),
            _ => None,
        }
    }

    /// Counts one more source of health `word`.
    pub fn add(&mut self, word: &str) {
        if let Some(n) = self.count_mut(word) {
            *n += 1;
        }
    }

    /// Counts one source of health `word` less (not below zero).
    pub fn remove(&mut self, word: &str) {
        if let Some(n) = self.count_mut(word) {
            *n = n.saturating_sub(1);
        }
    }

    /// Each health word of [`crate::metrics::HEALTHS`] with its count, in that order.
    pub fn by_word(&self) -> [(&'static str, usize); 6] {
        let mut me = *self;
        crate::metrics::HEALTHS.map(|w| (w, me.count_mut(w).map_or(0, |n| *n)))
    }
}

/// How a source is doing, in one word: its `state`, with failing split by how long.
pub fn health_of(s: &SourceStatus) -> &'static str {
    match s.state {
        "disabled" => "disabled",
        "gone" => "gone",
        // Unknown: its state could not be read (the store refusing writes).
        "pending" | "held" | "unknown" => "waiting",
        _ if s.failures == 0 => "ok",
        _ if s.failures < 3 => "failing",
        _ => "down",
    }
}

/// Which sources `/status` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Every source (paged by `offset`/`limit`).
    All,
    /// Only sources whose last poll failed.
    Failing,
    /// None: counts only.
    None,
}

/// The `/status` query: `sources=all|failing|none`, `source=NAME`, `offset`, `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusQuery {
    /// Which sources.
    pub show: Show,
    /// Only the source of this name (then every state is shown unless `sources` says else).
    pub name: Option<String>,
    /// Skip this many of the selected sources.
    pub offset: usize,
    /// List at most this many.
    pub limit: usize,
}

/// Sources listed by default; with more configured, the default lists only failing ones.
pub const DEFAULT_LISTED: usize = 1000;

impl StatusQuery {
    /// The default for `n` configured sources.
    pub fn default_for(n: usize) -> Self {
        StatusQuery {
            show: if n <= DEFAULT_LISTED {
                Show::All
            } else {
                Show::Failing
            },
            name: None,
            offset: 0,
            limit: DEFAULT_LISTED,
        }
    }
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
    /// `held` (due, or its last poll failed, while the network is down: polled again once
    /// it is back, no back-off), `gone` (410: not polled any more), `disabled`, or `unknown`
    /// (its state could not be read: the store fails reads after a failed write).
    pub state: &'static str,
    /// When the server said 410 Gone.
    pub gone_since: Option<String>,
    /// Configured interval in seconds.
    pub interval_s: u64,
    /// The interval between polls that succeed, as the schedule has it now: the configured
    /// one, adapted to the feed's publishing rate (`schedule.adaptive`), lengthened by its
    /// `<ttl>`, within `[min_interval, max_interval]`. A response's `Cache-Control` may
    /// lengthen one wait; failures back off from it.
    pub poll_interval_s: u64,
    /// The feed's own title.
    pub title: Option<String>,
    /// Start of the last poll (RFC 3339).
    pub last_poll: Option<String>,
    /// End of the last successful poll.
    pub last_success: Option<String>,
    /// When a poll last stored an article new to this source (a new story or a copy): a feed
    /// that answers but stopped publishing is `ok` with this falling behind. `null` until the
    /// first such poll (and, after the upgrade to schema 8, until the next one).
    pub last_new_article: Option<String>,
    /// The last error, if the last poll failed.
    pub last_error: Option<SourceError>,
    /// When the next poll is due.
    pub next_poll: Option<String>,
    /// Until when the host its polls go to asked to be left alone (`Retry-After` on a 429
    /// or 503 to any source of that host): no poll of it goes out before then, whatever
    /// `next_poll` says. `null` when there is no such pause.
    pub host_paused_until: Option<String>,
    /// Failures in a row.
    pub failures: u32,
    /// Polls made.
    pub polls: u64,
    /// Polls answered "not modified" (no parse).
    pub not_modified: u64,
    /// Polls whose whole body held the entries already folded (parsed, not folded again):
    /// a server that ignores or lacks validators when it comes close to
    /// `polls - not_modified` (the polls that brought new entries make the difference).
    pub unchanged_bodies: u64,
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

/// How long a built default `/status` is served again: load balancers and dashboards poll it
/// often, and with thousands of sources building it is the expensive part.
const CACHE_FOR: Duration = Duration::from_secs(1);

/// The last default `/status` body and when it was built.
#[derive(Debug, Default)]
pub struct StatusCache(Mutex<Option<(Instant, Bytes)>>);

impl StatusCache {
    /// The body built less than [`CACHE_FOR`] ago, if there is one.
    fn fresh(&self) -> Option<Bytes> {
        let c = self.0.lock().ok()?;
        c.as_ref()
            .filter(|(at, _)| at.elapsed() < CACHE_FOR)
            .map(|(_, body)| body.clone())
    }

    /// Keeps `body`, built now.
    fn keep(&self, body: &Bytes) {
        if let Ok(mut c) = self.0.lock() {
            *c = Some((Instant::now(), body.clone()));
        }
    }
}

fn parse_query(q: Option<&str>, live: &crate::config::Sources) -> Result<StatusQuery, BadParam> {
    let p = Params::parse(q, &["sources", "source", "offset", "limit"])?;
    let mut query = StatusQuery::default_for(live.list.len());
    if let Some(name) = p.get("source") {
        if !live.list.iter().any(|s| s.name == name) {
            return Err(BadParam {
                name: "source".into(),
                message: format!("no source named {name:?} is configured"),
            });
        }
        query.name = Some(name.to_owned());
        query.show = Show::All;
    }
    // `source=` lists its source whatever its state: a filter beside it is a question with
    // two answers, and a page of it is the entry or nothing (an offset of 1 gave an empty
    // list beside "omitted: 300").
    if query.name.is_some() {
        for (param, lists) in [
            ("sources", "that source whatever its state"),
            ("offset", "that one source"),
            ("limit", "that one source"),
        ] {
            if p.get(param).is_some() {
                return Err(BadParam {
                    name: param.into(),
                    message: format!("not with source=, which lists {lists}"),
                });
            }
        }
    }
    if let Some(v) = p.get("sources") {
        query.show = match v {
            "all" => Show::All,
            "failing" => Show::Failing,
            "none" => Show::None,
            other => {
                return Err(BadParam {
                    name: "sources".into(),
                    message: format!("\"{other}\" is not allowed; allowed: all, failing, none"),
                })
            }
        };
    }
    if let Some(o) = p.u64("offset")? {
        query.offset = usize::try_from(o).unwrap_or(usize::MAX);
    }
    if p.get("limit").is_some() {
        query.limit = p.limit_up_to(100_000)?;
    }
    Ok(query)
}

pub(super) async fn status(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let live = state.sources.get();
    let default = StatusQuery::default_for(live.list.len());
    let query = match parse_query(q.as_deref(), &live) {
        Ok(query) => query,
        Err(e) => return e.into_response(),
    };
    let is_default = query == default;
    let json_response =
        |body: Bytes| ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(body) = is_default.then(|| state.status_cache.fresh()).flatten() {
        return json_response(body);
    }
    let st = state.clone();
    let built = super::api::in_turn(&super::api::STATUS_TURNS, move || {
        // Built by a request that held the turn before this one: one build a second, however
        // many clients ask at once.
        if let Some(body) = is_default.then(|| st.status_cache.fresh()).flatten() {
            return Ok(Ok(body));
        }
        let body = build(&st, &live, query).map(|s| serde_json::to_vec(&s).map(Bytes::from));
        if let (true, Ok(Ok(body))) = (is_default, &body) {
            st.status_cache.keep(body);
        }
        body
    })
    .await;
    match built {
        Ok(Ok(Ok(body))) => json_response(body),
        Ok(Ok(Err(e))) => super::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
        Ok(Err(e)) => super::error(StatusCode::INTERNAL_SERVER_ERROR, "store", &e.to_string()),
        Err(e) => super::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

/// One source's entry in `/status`, from its configuration and stored state.
///
/// `held_at`: the time now while the network is down, when the scheduler holds back every
/// source whose poll is due.
pub(crate) fn source_entry(
    s: &SourceConfig,
    schedule: &crate::config::ScheduleConfig,
    st: SourceState,
    held_at: Option<Millis>,
) -> SourceStatus {
    // State recorded for another URL (the configuration changed) is not this source's.
    let same_url = st.configured_url.as_deref() == Some(s.url.as_str());
    let gone = same_url && st.gone_since.is_some();
    let state = if !s.enabled {
        "disabled"
    } else if gone {
        "gone"
    } else if st.polls == 0 {
        "pending"
    } else if held_at.is_some_and(|now| st.next_poll.is_some_and(|next| next <= now))
        || (st.last_error.is_some() && st.next_poll.is_none())
    {
        // Due while the network is down, or its last poll failed as every source's did then
        // (not counted against it, no next poll): held back until the network is back. Its
        // failures from before, if any, still show in `failures`; it is not polled, so not
        // `failing` now.
        "held"
    } else if st.failures > 0 {
        "failing"
    } else {
        "ok"
    };
    SourceStatus {
        name: s.name.clone(),
        // Shown without credentials (`config::shown_url`), as everywhere.
        url: s.shown_url().into_owned(),
        effective_url: st
            .effective_url
            .as_deref()
            .filter(|_| same_url)
            .map_or_else(|| s.shown_url(), shown_url)
            .into_owned(),
        moving_to: st
            .moved_candidate
            .as_deref()
            .filter(|_| same_url)
            .map(|url| MovingTo {
                url: shown_url(url).into_owned(),
                polls: st.moved_polls,
            }),
        enabled: s.enabled,
        state,
        gone_since: st.gone_since.filter(|_| gone).and_then(rfc3339),
        interval_s: s.interval.as_secs(),
        // What the policy makes of it after a success; state of another URL does not count.
        poll_interval_s: {
            use crate::scheduler::policy::{base_interval, Bounds, Inputs};
            let own = if same_url {
                &st
            } else {
                &SourceState::default()
            };
            base_interval(
                &Inputs::from_state(s.interval, own),
                &Bounds::from(schedule),
            )
            .as_secs()
        },
        title: st.feed_title,
        last_poll: st.last_poll.and_then(rfc3339),
        last_success: st.last_success.and_then(rfc3339),
        last_new_article: st.last_new.and_then(rfc3339),
        last_error: st.last_error.map(|e| SourceError {
            class: e.class,
            status: e.status,
            // Redacted again: a message stored by an older wirefold still names the
            // URL as configured until the source's next poll replaces it.
            message: shown_message(&e.message),
            at: rfc3339(e.at),
        }),
        next_poll: if s.enabled && !gone {
            st.next_poll.and_then(rfc3339)
        } else {
            None
        },
        // set by `build`, which sees every source's pause
        host_paused_until: None,
        failures: st.failures,
        polls: st.polls,
        not_modified: st.not_modified,
        unchanged_bodies: st.unchanged_bodies,
        encoding: st.encoding,
        items_seen: st.items_seen,
        items_new: st.items_new,
        items_updated: st.items_updated,
        items_copies: st.items_copies,
    }
}

/// The status of `live`, the sources the caller read once (its query was checked against
/// the same list).
pub(super) fn build(
    state: &AppState,
    live: &crate::config::Sources,
    query: StatusQuery,
) -> Result<Status, crate::storage::StoreError> {
    let counts: Counts = state.store.counts()?;
    let mut health = HealthCounts::default();
    let mut selected = 0usize;
    let mut sources = Vec::new();
    // Each listed source's host, for the pause the polls' host limits hold it to.
    let mut hosts = Vec::new();
    let held_at = state.scheduler.held_at();
    for s in live.list.iter() {
        // A state the store cannot read now (sled fails every read after a failed write
        // until the store is reopened, and while it reopens) is shown as unknown: the whole
        // document failed, page included, just when the disk was full.
        let (st, unreadable) = match state.store.source_state(&s.name) {
            Ok(st) => (st.unwrap_or_default(), None),
            Err(e) => (SourceState::default(), Some(e)),
        };
        // its own, and the one its last poll was redirected to
        let host = [
            crate::ingest::polled_host(s, Some(&st)),
            state.hosts.redirected(&s.name, s.url.as_str()),
        ];
        let mut entry = source_entry(s, &live.schedule, st, held_at);
        if let Some(e) = unreadable.filter(|_| entry.enabled) {
            entry.state = "unknown";
            entry.last_error = Some(SourceError {
                class: "store".into(),
                status: None,
                message: format!("its state cannot be read now: {e}"),
                at: None,
            });
        }
        let word = health_of(&entry);
        health.add(word);
        let wanted = match query.show {
            Show::All => true,
            Show::Failing => matches!(word, "failing" | "down" | "gone"),
            Show::None => false,
        } && query.name.as_ref().is_none_or(|n| *n == s.name);
        if wanted {
            if selected >= query.offset && sources.len() < query.limit {
                sources.push(entry);
                hosts.push(host);
            }
            selected += 1;
        }
    }
    // The pause in force (a removed source's, one shortened by a reload, one resumed at
    // start), not the one a source's state stored.
    let now = chrono::Utc::now();
    for (entry, host) in sources.iter_mut().zip(hosts) {
        entry.host_paused_until = host
            .into_iter()
            .flatten()
            .filter_map(|h| state.hosts.cooldown(&h))
            .max()
            .filter(|_| entry.enabled && entry.state != "gone")
            .and_then(|wait| chrono::Duration::from_std(wait).ok())
            .and_then(|wait| rfc3339((now + wait).timestamp_millis()));
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
    let store_bytes = state.store.size_on_disk();
    Ok(Status {
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: state.started.elapsed().as_secs(),
        scheduler_running: state.scheduler.running.load(Ordering::SeqCst),
        polls_in_flight: state.scheduler.in_flight.load(Ordering::SeqCst),
        counts: StatusCounts {
            sources: live.list.len(),
            articles: counts.articles,
            stories: counts.stories,
            copies: counts.copies,
        },
        index_size: state.folder.index_len(),
        store_bytes,
        network,
        clock: state.scheduler.clock.skew().map(|s| ClockStatus {
            offset_s: s.seconds,
            hosts: s.hosts,
        }),
        errors_by_class,
        config: {
            let loads = state.sources.loads();
            ConfigStatus {
                path: state.config.path.display().to_string(),
                loaded_at: rfc3339(loads.loaded_at),
                last_reload: loads.last_reload.and_then(rfc3339),
                last_reload_error: loads.last_reload_error,
            }
        },
        store: {
            let fault = state.store.fault();
            StoreHealth {
                writable: fault.is_none(),
                verified: state.store.is_verified(),
                damaged: fault.as_ref().is_some_and(|f| f.damaged),
                error: fault.map(|f| StoreErrorStatus {
                    message: f.message,
                    since: rfc3339(f.since),
                }),
                backups: BackupStatus::new(
                    &state.config.store,
                    state.backups.root(),
                    state.backups.log(),
                ),
                retention: RetentionStatus::new(
                    state.config.store.retention,
                    state.retention.get(),
                ),
                data: state
                    .store
                    .data_size()
                    .map(|d| DataStatus::new(d, store_bytes, counts.articles)),
                previous_stop: match state.previous_run {
                    crate::storage::PreviousRun::Clean => "clean",
                    crate::storage::PreviousRun::Unclean { .. } => "unclean",
                },
            }
        },
        health,
        sources_shown: match query.show {
            // `source=NAME`: that one, the rest left out by the filter
            _ if query.name.is_some() => "one",
            Show::All => "all",
            Show::Failing => "failing",
            Show::None => "none",
        },
        sources_omitted: live.list.len() - sources.len(),
        sources,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// An enabled source polled every 15 minutes.
    fn outlet() -> SourceConfig {
        SourceConfig {
            name: "outlet".into(),
            url: url::Url::parse("http://news.test/feed.xml").unwrap(),
            interval: Duration::from_secs(900),
            enabled: true,
            agency: false,
            headers: Default::default(),
        }
    }

    /// The three places that count sources by health (`/status`, `/metrics`, the page's
    /// footer) count through `HealthCounts`: each word lands in its own field, in the order
    /// of the metric's words.
    #[test]
    fn health_counts_count_each_word_in_its_own_field() {
        let mut h = HealthCounts::default();
        for (k, word) in crate::metrics::HEALTHS.iter().enumerate() {
            for _ in 0..=k {
                h.add(word);
            }
        }
        h.add("no such health");
        h.remove("ok");
        h.remove("ok");
        assert_eq!((h.ok, h.failing, h.down, h.gone), (0, 2, 3, 4));
        assert_eq!((h.waiting, h.disabled), (5, 6));
        let words = h.by_word();
        assert_eq!(words.map(|(w, _)| w), crate::metrics::HEALTHS);
        assert_eq!(words.map(|(_, n)| n), [0, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn the_poll_interval_is_what_the_schedule_makes_of_the_configured_one() {
        let source = outlet();
        let schedule = crate::config::ScheduleConfig::default();
        let polled = |entry_gap_s: Option<u64>, ttl_s: Option<u32>, url: &str| SourceState {
            configured_url: Some(url.to_owned()),
            polls: 3,
            entry_gap_s,
            ttl_s,
            ..SourceState::default()
        };
        let own = source.url.as_str();
        let interval = |st| {
            let e = source_entry(&source, &schedule, st, None);
            (e.interval_s, e.poll_interval_s)
        };
        assert_eq!(interval(SourceState::default()), (900, 900));
        // A feed publishing every 2 h is polled at most 4 times less often; one publishing
        // every 5 minutes, every 5 minutes; every minute, at most 4 times more often; a
        // <ttl> of 3 h lengthens any of them.
        assert_eq!(interval(polled(Some(7200), None, own)), (900, 3600));
        assert_eq!(interval(polled(Some(300), None, own)), (900, 300));
        assert_eq!(interval(polled(Some(60), None, own)), (900, 225));
        assert_eq!(interval(polled(Some(60), Some(10_800), own)), (900, 10_800));
        // State recorded for the URL before an edit is not this source's.
        assert_eq!(
            interval(polled(Some(7200), None, "http://old.test/")),
            (900, 900)
        );
    }

    #[test]
    fn a_source_held_while_the_network_is_down_is_not_ok() {
        let source = outlet();
        let schedule = crate::config::ScheduleConfig::default();
        let error = crate::storage::ErrorRecord {
            class: "connect".into(),
            message: "connection failed: refused".into(),
            at: 1_700_000_000_000,
            status: None,
        };
        // The scheduler took the failure back and holds the source (no next poll).
        let held = SourceState {
            configured_url: Some(source.url.to_string()),
            polls: 4,
            last_error: Some(error.clone()),
            ..SourceState::default()
        };
        let e = source_entry(&source, &schedule, held.clone(), None);
        assert_eq!((e.state, health_of(&e)), ("held", "waiting"));
        // The same after failures of its own before the network went down.
        let held_after_failures = SourceState {
            failures: 2,
            ..held.clone()
        };
        let e = source_entry(&source, &schedule, held_after_failures, None);
        assert_eq!((e.state, e.failures, health_of(&e)), ("held", 2, "waiting"));
        let failing = SourceState {
            failures: 1,
            next_poll: Some(1_700_000_900_000),
            ..held.clone()
        };
        let e = source_entry(&source, &schedule, failing.clone(), None);
        assert_eq!((e.state, health_of(&e)), ("failing", "failing"));
        let ok = SourceState {
            last_error: None,
            next_poll: Some(1_700_000_900_000),
            ..held
        };
        assert_eq!(
            source_entry(&source, &schedule, ok.clone(), None).state,
            "ok"
        );
        // Due while the network is down, whether its last poll failed or not: held back.
        let now = Some(1_700_001_000_000);
        for st in [ok.clone(), failing] {
            let e = source_entry(&source, &schedule, st, now);
            assert_eq!((e.state, health_of(&e)), ("held", "waiting"));
        }
        // Not due yet: as it was.
        let before = Some(1_700_000_800_000);
        assert_eq!(source_entry(&source, &schedule, ok, before).state, "ok");
    }
}
