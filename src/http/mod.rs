//! The status server (axum): how wirefold is watched and consumed.
//!
//! | endpoint | |
//! |---|---|
//! | `GET /healthz` | liveness: `200 ok` while the process serves requests |
//! | `GET /readyz` | `200` once the store is open and the scheduler runs, else `503` |
//! | `GET /status` | JSON summary ([`status::Status`], schema in the README) |
//! | `GET /metrics` | Prometheus text format ([`crate::metrics`]) |
//! | `GET /` | a page for people (`http/page.rs`) |
//! | `GET /articles`, `/stories`, `/articles/{id}`, `/stories/{id}` | the API and change feed (`http/api.rs`) |
//! | `GET /events` | Server-Sent Events of new stories and copies (`http/events.rs`) |
//! | `GET /feeds/stories.atom`, `/feeds/stories.json` | the folded stream as feeds (`http/feeds.rs`) |
//! | `POST /sources/{name}/poll` | poll a source now (`http/control.rs`) |
//! | `POST /store/backup` | a consistent copy of the store, online (`http/control.rs`) |
//!
//! Unknown paths get a JSON 404, bad parameters a JSON 400 naming the parameter. With
//! `http.token` set, everything but `/healthz` and `/readyz` needs a bearer token; without it,
//! a loopback listener answers only its own names (`host_guard`, against DNS rebinding). Requests
//! are bounded in time (`http.request_timeout`, the event stream excepted) and in body size;
//! while a backup has the store closed, they wait for it within that time (`store_open`).
//! Handlers only read: the store is shared with the pipeline through the cheap, clonable
//! [`crate::storage::Store`] handle, and store reads run on blocking threads. Two POSTs
//! are the exceptions, and neither changes what is stored: one asks the scheduler for a poll
//! over its control channel (obeying `schedule.min_interval`, so no request rate raises the
//! poll rate), the other copies the store into a backup.

pub(crate) mod api;
mod control;
mod events;
mod feeds;
mod page;
mod serve;
mod starting;
mod status;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::ExposeSecret;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::{Config, LiveSources};
use crate::fold::Folder;
use crate::scheduler::SchedulerStats;
use crate::storage::Store;

pub use api::{ArticleView, CopyView, StoryView};
pub use serve::{serve, MAX_CONNECTIONS};
pub use starting::StartingServer;
pub(crate) use status::{health_of, rfc3339, source_entry};
pub use status::{SourceStatus, Status, StatusCache};

/// Largest request body accepted (wirefold's API takes none).
const MAX_BODY: usize = 16 * 1024;

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The validated configuration, without its `sources` (moved to `sources`).
    pub config: Arc<Config>,
    /// The configured sources, replaced by a reload.
    pub sources: Arc<LiveSources>,
    /// The store.
    pub store: Store,
    /// The fold index (for its size) and the live change channel.
    pub folder: Arc<Folder>,
    /// Scheduler figures.
    pub scheduler: Arc<SchedulerStats>,
    /// Process start.
    pub started: Instant,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Cancelled at shutdown: ends long-lived responses (the event stream) so HTTP can drain.
    pub shutdown: CancellationToken,
    /// The last default `/status`, served again for up to a second.
    pub status_cache: Arc<status::StatusCache>,
    /// Asks the scheduler for a poll now (`POST /sources/{name}/poll`).
    pub scheduler_control: tokio::sync::mpsc::UnboundedSender<crate::scheduler::Control>,
    /// The store's backups (`POST /store/backup`, `store.backup_every`) and how they went.
    pub backups: Arc<crate::storage::Backups>,
    /// The sources' states `/metrics` last read, set again while a backup has the store
    /// closed.
    pub metric_states: Arc<crate::metrics::LastSourceStates>,
    /// How the previous run on the store ended (`store.previous_stop` in `/status`).
    pub previous_run: crate::storage::PreviousRun,
    /// The polls' per-host limits, with the pauses hosts asked for (`host_paused_until`).
    pub hosts: Arc<crate::fetch::host_limit::HostLimiter>,
    /// How the retention sweeps went (`store.retention` in `/status`).
    pub retention: Arc<crate::retention::RetentionLog>,
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    let timeout = state.config.http.request_timeout;
    let guarded = Router::new()
        .route("/", get(page::page))
        .route("/status", get(status::status))
        .route("/metrics", get(metrics))
        .route("/articles", get(api::articles))
        .route("/articles/{id}", get(api::article))
        .route("/stories", get(api::stories))
        .route("/stories/{id}", get(api::story))
        .route("/feeds/stories.atom", get(feeds::atom))
        .route("/feeds/stories.json", get(feeds::json_feed))
        .route("/sources/{name}/poll", post(control::poll))
        // Inside the timeout, which it answers before.
        .layer(middleware::from_fn_with_state(state.clone(), store_open))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        // The event stream is long-lived by design, and a backup takes what the disk needs:
        // no request timeout.
        .route("/events", get(events::events))
        .route("/store/backup", post(control::backup));
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(guarded)
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        // Around the fallbacks too: without the token a client learns neither which paths
        // exist (404) nor which methods they take (405).
        // Inside the token check: a client without the token gets 401 whatever it sends.
        .layer(RequestBodyLimitLayer::new(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(middleware::from_fn_with_state(state.clone(), host_guard))
        .with_state(state);
    // The method router adds `Allow` to whatever a wrong method got, the 401 included, and
    // the body limit and the timeout answer in plain text: both mended outside.
    Router::new()
        .fallback_service(app)
        .layer(middleware::map_response(finish))
}

/// The last word on every answer: `Cache-Control: no-store` unless it has its own; a `401`
/// names no methods (see [`router`]); the body limit's `413` and the timeout's `408` are
/// JSON like every other error.
async fn finish(r: Response) -> Response {
    let mut r = as_json(r);
    if r.status() == StatusCode::UNAUTHORIZED {
        r.headers_mut().remove(header::ALLOW);
    }
    // Every answer but the feeds' (which carry an ETag) is of the moment, and may be
    // behind a token: no cache keeps it.
    r.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(header::HeaderValue::from_static("no-store"));
    r
}

/// The body limit's `413` and the timeout's `408` as JSON errors.
fn as_json(r: Response) -> Response {
    let json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE if !json => error(
            r.status(),
            "body_too_large",
            &format!("request bodies are limited to {MAX_BODY} bytes (the API takes none)"),
        ),
        StatusCode::REQUEST_TIMEOUT if !json => error(
            r.status(),
            "timeout",
            "the request took longer than http.request_timeout",
        ),
        _ => r,
    }
}

/// Compares in time independent of where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The paths open to anyone when `http.token` is set: liveness and readiness probes.
const OPEN_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// While a backup has the store closed, a request that reads the store waits for the reopen
/// (as a task) within `http.request_timeout` less a second; past that it gets `503
/// store_closed` with `Retry-After`, not the timeout's bare 408. `/metrics` does not wait: it
/// renders what needs no store read.
async fn store_open(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.store.is_closed() && req.uri().path() != "/metrics" {
        let within = state
            .config
            .http
            .request_timeout
            .saturating_sub(STORE_CLOSED_MARGIN);
        if tokio::time::timeout(within, state.store.until_open())
            .await
            .is_err()
        {
            let mut r = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_closed",
                "the store is closed while a backup copies it; it answers again once the copy is done",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
            return r;
        }
    }
    next.run(req).await
}

/// What [`store_open`] leaves of the request timeout for the request itself.
const STORE_CLOSED_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

/// `403 host_not_allowed` for a request to a loopback daemon without a token under a name
/// that is not its own ([`control::rebound_host`]: DNS rebinding), whatever its method and
/// path but the probes'.
///
/// Also `400 missing_host` for an HTTP/1.1 request that names no host at all (no `Host`
/// header, no absolute target), as RFC 9112 3.2 has a server answer it; the probes are
/// answered anyway, for the simplest health checkers.
async fn host_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if OPEN_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    if req.version() == axum::http::Version::HTTP_11
        && req.uri().authority().is_none()
        && !req.headers().contains_key(header::HOST)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "missing_host",
            "an HTTP/1.1 request must name the host it is sent to in a Host header \
             (RFC 9112 3.2)",
        );
    }
    match control::rebound_host(req.headers(), req.uri().authority(), &state.config.http) {
        None => next.run(req).await,
        Some(host) => error(
            StatusCode::FORBIDDEN,
            "host_not_allowed",
            &format!(
                "this daemon listens on loopback without http.token, so it answers only \
                 requests addressed to an IP address or localhost, not to {host:?} (a page \
                 could have pointed that name at this machine); if {host:?} names this \
                 daemon, set http.public_url to it (or set http.token)"
            ),
        ),
    }
}

async fn auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = &state.config.http.token else {
        return next.run(req).await;
    };
    if OPEN_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    match given_token(req.headers()) {
        Some(g) if constant_time_eq(g.as_bytes(), token.expose_secret().as_bytes()) => {
            next.run(req).await
        }
        _ => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this endpoint needs Authorization: Bearer <http.token>, or HTTP Basic \
                 with the token as the password (any user name), as a feed reader or a \
                 browser sends it",
            );
            // Both challenges: a browser asked for Basic prompts for the token.
            for challenge in ["Bearer", "Basic realm=\"wirefold\", charset=\"UTF-8\""] {
                r.headers_mut().append(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static(challenge),
                );
            }
            r
        }
    }
}

/// The token a request offers: `Authorization: Bearer TOKEN`, or `Basic` credentials whose
/// password is the token, whatever the user name. Feed readers send no bearer token, but
/// most send Basic credentials from a subscription URL such as
/// `https://reader:TOKEN@news.example.org/feeds/stories.atom`, and a browser prompts for
/// them. The scheme is case-insensitive (RFC 9110 11.1).
fn given_token(headers: &header::HeaderMap) -> Option<String> {
    use base64::Engine;
    let (scheme, credentials) = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim_start()
        .split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .ok()?;
    let pair = String::from_utf8(decoded).ok()?;
    pair.split_once(':')
        .map(|(_, password)| password.to_owned())
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.scheduler.running.load(Ordering::SeqCst) {
        (StatusCode::OK, Json(json!({"ready": true}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "reason": "scheduler not running"})),
        )
            .into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let s = state.clone();
    let gauges = api::in_turn(&api::STATUS_TURNS, move || {
        let live = s.sources.get();
        crate::metrics::store_gauges(
            s.store.counts().unwrap_or_default(),
            s.folder.index_len(),
            s.store.size_on_disk(),
            live.list.len(),
            s.scheduler.in_flight.load(Ordering::SeqCst),
            s.store.fault().is_none(),
        );
        crate::metrics::store_data_gauge(s.store.data_size());
        crate::metrics::config_gauges(&s.sources.loads());
        crate::metrics::clock_gauge(s.scheduler.clock.skew());
        crate::metrics::backup_gauges(&s.backups.log());
        if s.config.store.retention.is_some() {
            crate::metrics::retention_gauges(&s.retention.get());
        }
        crate::metrics::rule_hits(s.folder.rules());
        crate::metrics::network_gauge(s.scheduler.network().down_since.is_none());
        // The sources' states are in the store: while a backup has it closed, the ones the
        // last scrape read are set again, and so are the health counts (rather than failing
        // the scrape at its timeout, or letting the series go idle and vanish during a long
        // backup, which an alert on `down` or on `absent()` would take for a change).
        let max = s.config.http.metrics_max_sources;
        let closed = s.store.is_closed();
        let mut health = None;
        let states = if closed {
            let names: std::collections::HashSet<&str> = live
                .list
                .iter()
                .filter(|src| src.enabled)
                .take(max)
                .map(|src| src.name.as_str())
                .collect();
            let mut last = s.metric_states.get();
            if let Some(counts) = last.health {
                crate::metrics::health_gauges(counts);
            }
            last.states
                .retain(|(name, _)| names.contains(name.as_str()));
            last.states
        } else {
            // Each state read once: the first `max` enabled sources' for their own series (a
            // disabled one's failures kept an alert on it firing), and every source's health,
            // past that cap too (an alert on sources down must not miss the 101st).
            let mut counts = status::HealthCounts::default();
            let held_at = s.scheduler.held_at();
            let mut shown = Vec::with_capacity(max.min(live.list.len()));
            for src in live.list.iter() {
                let st = s.store.source_state(&src.name).ok().flatten();
                if let Some(st) = st.as_ref().filter(|_| src.enabled && shown.len() < max) {
                    shown.push((src.name.clone(), st.clone()));
                }
                let entry =
                    status::source_entry(src, &live.schedule, st.unwrap_or_default(), held_at);
                counts.add(status::health_of(&entry));
            }
            let by_word = counts.by_word();
            crate::metrics::health_gauges(by_word);
            health = Some(by_word);
            shown
        };
        for (name, st) in &states {
            crate::metrics::source_gauges(name, st);
        }
        if !closed {
            s.metric_states
                .set(crate::metrics::LastScrape { states, health });
        }
    })
    .await;
    if let Err(e) = gauges {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// A known path asked with another method than it serves: JSON like every other error;
/// axum adds the `Allow` header.
async fn method_not_allowed(method: axum::http::Method) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("{method} is not served here; the Allow header lists what is"),
    )
}

/// A JSON error body: `{"error": code, "message": …}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}
