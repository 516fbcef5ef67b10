//! The two requests that ask the daemon to do something: `POST /sources/{name}/poll`, an
//! operator's "poll this source now" (after its owner fixed the feed, its next try may be
//! hours away in back-off), and `POST /store/backup`, a copy of the store while it runs.
//! Neither changes what is stored.

use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::api::{blocking_with, segment, Params, STATUS_TURNS};
use super::{error, status, AppState};
use crate::config::SourceConfig;
use crate::scheduler::{Control, PollNow};
use crate::storage::SourceState;

/// Starts a poll of the source `name` now: `202 {"source", "poll": "started" | "in_flight"}`;
/// `404` for no source of that name; `409` for one that is disabled, gone (410) or whose
/// host asked for a pause (`Retry-After`), with the reason; `429` with `Retry-After` for
/// one polled less than `schedule.min_interval` ago (so that a loop of requests cannot
/// turn the daemon against a feed's host); `503` while the scheduler is not running. The
/// outcome shows in `/status` as for any poll.
///
/// With `?wait=true` the answer waits for the poll's end (at most `http.request_timeout`
/// less a second) and is `200 {"source", "poll": "done", "new", "copies", "updated",
/// "status"}`: what the poll stored, and the source's `/status` entry after it.
pub(super) async fn poll(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    // Read (and dropped) so that the body limit holds for a chunked body too, which has no
    // length to refuse it by before it is read: a body of any size was accepted unread.
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if let Err(e) = body {
        // The limit's 413, made JSON by `finish`.
        return e.into_response();
    }
    if let Some(refused) = refuse_foreign(&headers, "polls") {
        return refused;
    }
    let name = match segment(name, "name") {
        Ok(name) => name,
        Err(e) => return e.into_response(),
    };
    let wait = match Params::parse(q.as_deref(), &["wait"]).and_then(|p| p.bool("wait")) {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let live = state.sources.get();
    let Some(source) = live.list.iter().find(|s| s.name == name) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no source named {name:?}"),
        );
    };
    if !source.enabled {
        return error(
            StatusCode::CONFLICT,
            "disabled",
            &format!("source {name:?} is disabled (enabled = false)"),
        );
    }
    if let Some(fault) = state.store.fault() {
        // The poll would fail at once, storing nothing (not even its count, which `wait`
        // waits for): the wait took the whole request timeout and `poll-now` then said the
        // poll had not ended, exit 0 (recheck, session 66). Due sources are held and
        // polled once the store takes writes again.
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store",
            &format!(
                "the store refuses writes since a write failed ({}): a poll now would store \
                 nothing; the sources due meanwhile are polled once it takes writes again",
                fault.message
            ),
        );
    }
    let before = match read_state(&state, &name).await {
        Ok(st) => st,
        Err(r) => return r,
    };
    let (reply, answer) = oneshot::channel();
    if state
        .scheduler_control
        .send(Control::PollNow(name.clone(), reply))
        .is_err()
    {
        return not_running();
    }
    let Ok(answer) = answer.await else {
        return not_running();
    };
    let accepted = |poll: &str| {
        (
            StatusCode::ACCEPTED,
            Json(json!({"source": name, "poll": poll})),
        )
            .into_response()
    };
    match answer {
        PollNow::Started | PollNow::InFlight if wait => {
            match wait_for_poll(&state, source, before).await {
                Ok(Some(done)) => (StatusCode::OK, Json(done)).into_response(),
                // Out of time: the `202` the request without `wait` gets.
                Ok(None) => accepted(match answer {
                    PollNow::InFlight => "in_flight",
                    _ => "started",
                }),
                Err(r) => r,
            }
        }
        PollNow::Started => accepted("started"),
        PollNow::InFlight => accepted("in_flight"),
        PollNow::HostCoolingDown(wait) => error(
            StatusCode::CONFLICT,
            "host_cooling_down",
            &format!(
                "the host of {name:?} asked for a pause (Retry-After) for another {}; its poll stays at its time",
                humantime::format_duration(Duration::from_secs(wait.as_secs().max(1)))
            ),
        ),
        PollNow::TooSoon(wait) => {
            let secs = wait.as_secs().max(1);
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_soon",
                &format!(
                    "source {name:?} was polled less than schedule.min_interval ago; try again in {secs} s"
                ),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
            r
        }
        PollNow::NotScheduled => error(
            StatusCode::CONFLICT,
            "not_scheduled",
            &format!(
                "source {name:?} is not scheduled: it answered 410 Gone (polled again once its url is edited), or a reload is removing it"
            ),
        ),
    }
}

/// `POST /store/backup`: a consistent copy of the store while the daemon runs
/// ([`crate::storage::Store::backup`]) under `store.backup_dir`, keeping
/// `store.backups_kept`. Answers `200 {"path", "bytes", "closed_for_ms", "removed"}`, or
/// `503` with the reason (the store busy for 10 s, a faulted store, a copy that failed: the
/// store goes on either way). Not bounded by `http.request_timeout`: the copy takes as long
/// as the disk needs.
pub(super) async fn backup(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refuse_foreign(&headers, "a backup") {
        return refused;
    }
    if let Err(e) = Params::parse(q.as_deref(), &[]) {
        return e.into_response();
    }
    let (store, backups) = (state.store.clone(), state.backups.clone());
    let done = tokio::task::spawn_blocking(move || {
        backups.run(&store, crate::storage::BACKUP_WAIT, "request")
    })
    .await;
    match done {
        Ok(Ok(r)) => {
            let removed: Vec<String> = r.removed.iter().map(|p| p.display().to_string()).collect();
            Json(json!({
                "path": r.path.display().to_string(),
                "bytes": r.bytes,
                "closed_for_ms": r.closed_for.as_millis() as u64,
                "removed": removed,
            }))
            .into_response()
        }
        Ok(Err(e @ crate::storage::StoreError::BackupUnderWay { .. })) => {
            error(StatusCode::CONFLICT, "backup_under_way", &e.to_string())
        }
        Ok(Err(e)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "backup_failed",
            &e.to_string(),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &e.to_string(),
        ),
    }
}

/// `403` for a browser's post from another site's page ([`foreign_origin`]), asking for
/// `what`. A page that reached a loopback daemon under a name of its own is refused before
/// (`super::host_guard`).
fn refuse_foreign(headers: &HeaderMap, what: &str) -> Option<Response> {
    foreign_origin(headers).map(|origin| {
        error(
            StatusCode::FORBIDDEN,
            "cross_origin",
            &format!("a request from a page at {origin} may not ask for {what}"),
        )
    })
}

/// The host a request to a daemon that listens on loopback without a token is addressed to,
/// when that is neither an address, `localhost` (or a name under it), nor
/// `http.public_url`'s host. A page that had its own name re-pointed at 127.0.0.1 (DNS
/// rebinding) is same-origin to itself: browsers send no `Origin` with its GETs and
/// [`foreign_origin`] lets its POSTs through, so it could read every stored article and the
/// sources' addresses, rotate every backup away, or poll the feeds as fast as
/// `min_interval` allows.
///
/// The host is the request target's authority when it has one (absolute form, which hyper
/// routes by), else the `Host` header, read strictly as `host[:port]`: two `Host` headers,
/// user info, a path or anything else that is no authority is refused as given. A request
/// without either (HTTP/1.0) is no browser's. A trailing dot (`localhost.`) is the same
/// name.
pub(super) fn rebound_host(
    headers: &HeaderMap,
    target: Option<&Authority>,
    http: &crate::config::HttpConfig,
) -> Option<String> {
    if !http.listen.ip().is_loopback() || http.token.is_some() {
        return None;
    }
    let given = match asked_host(headers, target) {
        Ok(Some(a)) => a,
        Ok(None) => return None,
        Err(shown) => return Some(shown),
    };
    let host = given.host();
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let address = name
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .map_or_else(
            || name.parse::<std::net::Ipv4Addr>().is_ok(),
            |h| h.parse::<std::net::Ipv6Addr>().is_ok(),
        );
    let public = || {
        http.public_url
            .as_deref()
            .and_then(|p| url::Url::parse(p).ok())
            .and_then(|p| {
                p.host_str()
                    .map(|h| h.trim_end_matches('.').eq_ignore_ascii_case(&name))
            })
            .unwrap_or(false)
    };
    let allowed = address || name == "localhost" || name.ends_with(".localhost") || public();
    (!allowed).then(|| given.as_str().to_owned())
}

/// The host a request was addressed to: the request target's authority when it has one
/// (absolute form; RFC 9112 3.2.2 has the `Host` header ignored then), else the `Host`
/// header, read strictly as `host[:port]`. `Ok(None)` without either (HTTP/1.0); the value as
/// given when it is no such name (two `Host` headers, user info, a path).
pub(super) fn asked_host(
    headers: &HeaderMap,
    target: Option<&Authority>,
) -> Result<Option<Authority>, String> {
    let given = match target {
        Some(a) => a.clone(),
        None => {
            let mut hosts = headers.get_all(header::HOST).iter();
            let Some(first) = hosts.next() else {
                return Ok(None);
            };
            let shown = || String::from_utf8_lossy(first.as_bytes()).into_owned();
            if hosts.next().is_some() {
                return Err(format!("{} (and another Host header)", shown()));
            }
            first
                .to_str()
                .ok()
                .and_then(|h| h.parse::<Authority>().ok())
                .ok_or_else(shown)?
        }
    };
    if given.as_str().contains('@') {
        return Err(given.as_str().to_owned());
    }
    Ok(Some(given))
}

/// The `Origin` of a request that a browser sent from another site's page (a form or a
/// script posting to the daemon's loopback address): browsers name the page's origin on
/// every cross-origin POST, and that origin's host and port differ from the `Host` the
/// request was sent to. `curl` and the `wirefold` client send no `Origin`.
fn foreign_origin(headers: &HeaderMap) -> Option<String> {
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("?");
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let authority = url::Url::parse(origin).ok().map(|u| match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
        None => u.host_str().unwrap_or_default().to_owned(),
    });
    let same = authority.is_some_and(|a| !a.is_empty() && a.eq_ignore_ascii_case(host));
    (!same).then(|| origin.to_owned())
}

/// The source's stored state (its default before its first poll), read with the turn of
/// `/status` and `/metrics`, not the API's: an operator's poll waited behind a flood of API
/// reads (one timed out at 408 under 400 clients).
async fn read_state(state: &AppState, name: &str) -> Result<SourceState, Response> {
    let (store, name) = (state.store.clone(), name.to_owned());
    blocking_with(&STATUS_TURNS, move || store.source_state(&name))
        .await
        .map(Option::unwrap_or_default)
        .map_err(IntoResponse::into_response)
}

/// Waits for the poll of `source` to be recorded (its state's poll count passes `before`'s,
/// then the scheduler stores its next poll), and answers what it stored; `None` when it did
/// not end in time.
async fn wait_for_poll(
    state: &AppState,
    source: &SourceConfig,
    before: SourceState,
) -> Result<Option<serde_json::Value>, Response> {
    let budget = state
        .config
        .http
        .request_timeout
        .saturating_sub(Duration::from_secs(1))
        .max(Duration::from_millis(500));
    let deadline = Instant::now() + budget;
    let mut polled: Option<Instant> = None;
    loop {
        // A stop cancels the poll, which then records nothing: waiting on for the deadline
        // held the daemon's stop for its whole shutdown grace.
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
            () = state.shutdown.cancelled() => return Err(not_running()),
        }
        let st = read_state(state, &source.name).await?;
        let now = Instant::now();
        if polled.is_none() && st.polls > before.polls {
            polled = Some(now);
        }
        let done = match polled {
            // The poll's own record comes first, the scheduler's next poll just after it.
            Some(at) => st.next_poll != before.next_poll || now >= at + SETTLE || now >= deadline,
            None if now >= deadline => return Ok(None),
            None => false,
        };
        if done {
            let diff = |a: u64, b: u64| a.saturating_sub(b);
            return Ok(Some(json!({
                "source": source.name,
                "poll": "done",
                "new": diff(st.items_new, before.items_new),
                "copies": diff(st.items_copies, before.items_copies),
                "updated": diff(st.items_updated, before.items_updated),
                "not_modified": st.not_modified > before.not_modified,
                "status": status::source_entry(source, &state.sources.get().schedule, st, state.scheduler.held_at()),
            })));
        }
    }
}

/// How long the answer waits for the scheduler's next-poll record after the poll's own.
const SETTLE: Duration = Duration::from_secs(1);

fn not_running() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_running",
        "the scheduler is not running (starting or stopping)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browsers_cross_site_post_is_told_apart_from_a_client_and_the_same_site() {
        let request = |pairs: &[(header::HeaderName, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(k.clone(), v.parse().unwrap());
            }
            foreign_origin(&h)
        };
        // curl, the wirefold client: no Origin.
        assert_eq!(request(&[(header::HOST, "127.0.0.1:8080")]), None);
        // A page served by the daemon's own address.
        assert_eq!(
            request(&[
                (header::HOST, "127.0.0.1:8080"),
                (header::ORIGIN, "http://127.0.0.1:8080")
            ]),
            None
        );
        assert_eq!(
            request(&[
                (header::HOST, "news.example.org"),
                (header::ORIGIN, "https://news.example.org")
            ]),
            None
        );
        // Another site's page, another port, an opaque origin.
        for origin in ["https://evil.example", "http://127.0.0.1:9999", "null"] {
            assert_eq!(
                request(&[(header::HOST, "127.0.0.1:8080"), (header::ORIGIN, origin)]),
                Some(origin.to_owned()),
                "{origin}"
            );
        }
    }

    #[test]
    fn a_loopback_daemon_without_a_token_answers_only_its_own_names() {
        let http = |listen: &str, token: Option<&str>, public_url: Option<&str>| {
            crate::config::HttpConfig {
                listen: listen.parse().unwrap(),
                shutdown_grace: Duration::from_secs(5),
                request_timeout: Duration::from_secs(10),
                token: token.map(|t| secrecy::SecretString::from(t.to_owned())),
                metrics_max_sources: 100,
                public_url: public_url.map(str::to_owned),
            }
        };
        let host = |value: Option<&str>, http: &crate::config::HttpConfig| {
            let mut h = HeaderMap::new();
            if let Some(v) = value {
                h.insert(header::HOST, v.parse().unwrap());
            }
            rebound_host(&h, None, http)
        };
        let loopback = http("127.0.0.1:8080", None, None);
        for own in [
            None,
            Some("127.0.0.1:8080"),
            Some("[::1]:8080"),
            Some("localhost:8080"),
            Some("LOCALHOST"),
            Some("wirefold.localhost:8080"),
        ] {
            assert_eq!(host(own, &loopback), None, "{own:?}");
        }
        for own in ["localhost.:8080", "a.localhost.", "[::1]", "127.0.0.1."] {
            assert_eq!(host(Some(own), &loopback), None, "{own}");
        }
        for foreign in [
            "rebind.attacker.example:8080",
            "localhost.attacker.example",
            "a b",
            // no authority, however a lenient reader would take it
            "evil.example@127.0.0.1",
            "127.0.0.1/evil.example",
            "127.0.0.1\\evil.example",
            "local%68ost",
        ] {
            assert_eq!(
                host(Some(foreign), &loopback),
                Some(foreign.to_owned()),
                "{foreign}"
            );
        }
        // Two Host headers, one of them ours: refused.
        let mut two = HeaderMap::new();
        two.append(header::HOST, "localhost".parse().unwrap());
        two.append(header::HOST, "evil.example".parse().unwrap());
        assert!(rebound_host(&two, None, &loopback).is_some());
        // The absolute-form target is what hyper routes by, whatever Host says.
        let mut ours = HeaderMap::new();
        ours.insert(header::HOST, "127.0.0.1".parse().unwrap());
        let evil: Authority = "evil.example".parse().unwrap();
        assert!(rebound_host(&ours, Some(&evil), &loopback).is_some());
        let local: Authority = "localhost:8080".parse().unwrap();
        assert_eq!(
            rebound_host(&HeaderMap::new(), Some(&local), &loopback),
            None
        );
        let named = http(
            "127.0.0.1:8080",
            None,
            Some("https://News.example.org/wirefold"),
        );
        assert_eq!(host(Some("news.example.org"), &named), None);
        assert!(host(Some("other.example.org"), &named).is_some());
        // A token guards every request itself; a listener beyond loopback is reached under
        // names the daemon cannot know.
        let with_token = http("127.0.0.1:8080", Some("secret"), None);
        assert_eq!(host(Some("rebind.attacker.example"), &with_token), None);
        let everywhere = http("0.0.0.0:8080", None, None);
        assert_eq!(host(Some("feeds.internal"), &everywhere), None);
    }
}
