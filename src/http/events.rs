//! `GET /events`: a Server-Sent Events stream of new stories, new copies and updates.
//!
//! Each event has `id:` = its change-log position and `event:` = `new_story`, `new_copy` or
//! `updated`. A client that reconnects with `Last-Event-ID` (or `?after=`) first gets every
//! change it missed, replayed from the store, then the live ones: nothing is lost in between,
//! because the live subscription is opened before the replay and duplicates are skipped by
//! position. A client too slow for the live channel falls back to replaying from the store.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::api::{BadParam, Params};
use super::serve::ReserveConnection;
use super::{rfc3339, AppState};
use crate::storage::{ChangeKind, ChangeRecord, Store, StoreError};

/// Changes a replay reads from the store at a time.
const REPLAY_PAGE: usize = 256;

fn kind_name(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::NewStory => "new_story",
        ChangeKind::NewCopy => "new_copy",
        ChangeKind::Updated => "updated",
        ChangeKind::Merged => "merged",
        ChangeKind::Deleted => "deleted",
    }
}

/// The event of change `c`, with its article's source, title and URL (none once retention
/// deleted it). An error when the article cannot be read (the store closed for a backup that
/// failed, being reopened): an event sent without them would be kept by the client for good.
fn to_event(store: &Store, c: &ChangeRecord) -> Result<Event, StoreError> {
    let article = store.article(c.article)?;
    let data = json!({
        "seq": c.seq.to_string(),
        "kind": kind_name(c.kind),
        "story": c.story,
        "article": c.article,
        "at": rfc3339(c.at),
        "source": article.as_ref().map(|a| a.source.as_str()),
        "title": article.as_ref().map(|a| a.title.as_str()),
        "url": article.as_ref().and_then(|a| a.url.as_deref()),
    });
    Ok(Event::default()
        .id(c.seq.to_string())
        .event(kind_name(c.kind))
        .data(data.to_string()))
}

/// A page of the replay after `from`.
#[derive(Default)]
struct Replay {
    /// The events read, each with its position.
    page: Vec<(u64, Event)>,
    /// Whether no change or article failed to read.
    complete: bool,
    /// Retention pruned changes after `from`: they cannot be replayed.
    expired: bool,
}

/// A page of the replay after `from`: the changes read first and the iterator let go, then
/// each one's article (reading articles under a live log iterator kept a backup waiting on
/// it). Stops at the first change whose article cannot be read. Expired when retention
/// pruned changes after `from` (the line is read after the changes: it is written before
/// the entries go), as a new stream's cursor would be ([`super::api::check_cursor`]): a
/// client that fell that far behind while connected lost them too.
fn replay_page(store: &Store, from: u64) -> Replay {
    let mut changes: Vec<ChangeRecord> = Vec::with_capacity(REPLAY_PAGE);
    let mut complete = true;
    for c in store.changes_after(Some(from)) {
        match c {
            Ok(c) => changes.push(c),
            // A record that does not decode never will: left out, as before.
            Err(StoreError::Decode { .. }) => continue,
            Err(_) => {
                complete = false;
                break;
            }
        }
        if changes.len() == REPLAY_PAGE {
            break;
        }
    }
    match store.changes_pruned_through() {
        Ok(Some(line)) if from > 0 && from < line => {
            return Replay {
                expired: true,
                ..Replay::default()
            }
        }
        Ok(_) => {}
        Err(_) => return Replay::default(),
    }
    let mut page = Vec::with_capacity(changes.len());
    for c in changes {
        match to_event(store, &c) {
            Ok(ev) => page.push((c.seq, ev)),
            Err(_) => {
                complete = false;
                break;
            }
        }
    }
    Replay {
        page,
        complete,
        expired: false,
    }
}

/// The last event of a stream whose position retention pruned past: the client starts
/// again without a cursor, as a reconnect would be told (`410 cursor_expired`).
fn expired_event(after: u64) -> Event {
    let data = json!({
        "error": "cursor_expired",
        "after": after.to_string(),
        "message": "the changes after this position are no longer kept (store.retention deleted \
                    them) and this stream fell behind them; start again without a cursor",
    });
    Event::default()
        .event("cursor_expired")
        .data(data.to_string())
}

pub(super) async fn events(
    State(state): State<AppState>,
    reserve: Option<Extension<ReserveConnection>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    // A stream lasts: on one of the few connections kept for health checks and scrapes
    // while every slot is taken, it would hold one for good, and some hundreds of
    // subscribers would leave `/healthz` no way in.
    if reserve.is_some() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "10")],
            Json(json!({
                "error": "busy",
                "message": "every http connection slot is taken; event streams are not served on the few kept for health checks: retry later",
            })),
        )
            .into_response();
    }
    let p = match Params::parse(q.as_deref(), &["after"]) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    // Empty is none: an EventSource sends the header only when it has an id, but some
    // client libraries send it empty.
    let mut header_cursor = None;
    for v in headers
        .get_all("last-event-id")
        .iter()
        .filter(|v| !v.as_bytes().trim_ascii().is_empty())
    {
        let n = match v.to_str() {
            Ok(v) => match super::api::unsigned(v.trim_ascii()) {
                Some(n) => n,
                None => {
                    return BadParam {
                        name: "Last-Event-ID".into(),
                        message: format!("\"{v}\" is not an event id"),
                    }
                    .into_response()
                }
            },
            Err(_) => {
                return BadParam {
                    name: "Last-Event-ID".into(),
                    message: "not ASCII".into(),
                }
                .into_response()
            }
        };
        // Two that disagree: which one the client meant is unknown (as with `after`). Told
        // apart as numbers, as `after` is: "5" and "05" are one cursor.
        if header_cursor.is_some_and(|h| h != n) {
            return BadParam {
                name: "Last-Event-ID".into(),
                message: "given twice with different values; give one cursor".into(),
            }
            .into_response();
        }
        header_cursor = Some(n);
    }
    let after = match p.u64("after") {
        // Both given: the header wins. A browser's EventSource reconnects to the URL it was
        // opened with (`?after=` where it resumed from a saved cursor) and adds the id of the
        // last event it got: the newer of the two.
        Ok(a) => header_cursor.or(a),
        Err(e) => return e.into_response(),
    };
    let name = if header_cursor.is_some() {
        "Last-Event-ID"
    } else {
        "after"
    };
    if let Err(refused) = super::api::check_cursor(&state.store, after, name).await {
        return refused;
    }
    // Live subscription first, so nothing committed during the replay is missed.
    let live = state.folder.subscribe();
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(256);
    let store = state.store.clone();
    let stop = state.shutdown.clone();
    tokio::spawn(async move {
        let mut last = match after {
            Some(a) => a,
            // No cursor: only what happens from now on.
            None => store.last_change().ok().flatten().unwrap_or(0),
        };
        let mut live = live;
        let mut need_replay = after.is_some();
        loop {
            // A page at a time: collected whole, a replay from 0 of a store with a million
            // changes held them all in memory for each client (100 clients that did not
            // read took 380 MB with 30,000 changes).
            while need_replay {
                let s = store.clone();
                let from = last;
                let Replay {
                    page,
                    complete,
                    expired,
                } = super::api::blocking(move || Ok(replay_page(&s, from)))
                    .await
                    .unwrap_or_default();
                if expired {
                    let _ = tx.send(Ok(expired_event(last))).await;
                    return;
                }
                need_replay = !complete || page.len() == REPLAY_PAGE;
                for (seq, ev) in page {
                    if tx.send(Ok(ev)).await.is_err() {
                        return;
                    }
                    last = seq;
                }
                if stop.is_cancelled() {
                    return;
                }
                if !complete {
                    // The store is closed or being reopened: resume from `last` once it
                    // opens, a second at the soonest (a store that stays down is no loop).
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tx.closed() => return,
                        () = async {
                            store.until_open().await;
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        } => {}
                    }
                }
            }
            let c = tokio::select! {
                () = stop.cancelled() => return,
                () = tx.closed() => return,
                r = live.recv() => r,
            };
            match c {
                Ok(c) if c.seq > last => {
                    let s = store.clone();
                    let Ok(ev) =
                        super::api::in_turn(&super::api::READ_TURNS, move || to_event(&s, &c))
                            .await
                    else {
                        return;
                    };
                    match ev {
                        Ok(ev) => {
                            if tx.send(Ok(ev)).await.is_err() {
                                return;
                            }
                            last = c.seq;
                        }
                        // Sent by the replay from `last`, which waits for the store.
                        Err(_) => need_replay = true,
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => need_replay = true,
                Err(RecvError::Closed) => return,
            }
        }
    });
    Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::tests::commit_at;

    /// A replay from a position retention pruned past is expired, whether the stream just
    /// opened or fell that far behind while connected; one from the start, or from the
    /// line, is not.
    #[test]
    fn a_replay_from_before_the_pruned_changes_is_expired() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Duration::from_millis(100)).unwrap();
        commit_at(&store, "g:1", 1_000);
        commit_at(&store, "g:2", 2_000);
        commit_at(&store, "g:3", 9_000);
        // The log is read as far as it is durable.
        store.flush().unwrap();
        let seqs: Vec<u64> = store.changes_after(None).map(|c| c.unwrap().seq).collect();
        let fresh = replay_page(&store, seqs[0]);
        assert!(!fresh.expired && fresh.complete);
        assert_eq!(fresh.page.len(), 2);
        assert_eq!(store.prune_changes_before(5_000, 10_000, 10).unwrap(), 2);
        store.flush().unwrap();
        let behind = replay_page(&store, seqs[0]);
        assert!(behind.expired);
        assert!(behind.page.is_empty());
        for from in [0, seqs[1]] {
            let r = replay_page(&store, from);
            assert!(!r.expired, "{from}");
            assert_eq!(
                r.page.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
                [seqs[2]]
            );
        }
    }

    /// A stream from the start replays more than a page of changes stamped while the wall
    /// clock ran ahead, which retention passed over, without being cut off.
    #[test]
    fn a_replay_from_the_start_goes_past_entries_stamped_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Duration::from_millis(100)).unwrap();
        let year = 365 * 86_400_000;
        for i in 0..(REPLAY_PAGE as i64 + 10) {
            commit_at(&store, &format!("g:ahead{i}"), year + i);
        }
        commit_at(&store, "g:old", 2_000);
        commit_at(&store, "g:young", 9_000);
        store.flush().unwrap();
        assert_eq!(store.prune_changes_before(5_000, 10_000, 10).unwrap(), 1);
        store.flush().unwrap();
        let first = replay_page(&store, 0);
        assert!(!first.expired);
        assert_eq!(first.page.len(), REPLAY_PAGE);
        let last = first.page.last().unwrap().0;
        let second = replay_page(&store, last);
        assert!(!second.expired, "cut off after {last}");
        assert_eq!(second.page.len(), 11);
    }
}
