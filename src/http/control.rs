//! `POST /sources/{name}/poll`: an operator's "poll this source now". The one endpoint that
//! changes anything, and all it changes is when a configured source is polled: after its
//! owner fixed the feed, its next try may be hours away in back-off.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::sync::oneshot;

use super::{error, AppState};
use crate::scheduler::{Control, PollNow};

/// Starts a poll of the source `name` now: `202 {"source", "poll": "started" | "in_flight"}`;
/// `404` for no source of that name; `409` for one that is disabled, gone (410) or whose
/// host asked for a pause (`Retry-After`), with the reason; `429` with `Retry-After` for
/// one polled less than `schedule.min_interval` ago (so that a loop of requests cannot
/// turn the daemon against a feed's host); `503` while the scheduler is not running. The outcome shows in `/status` as for any poll.
pub(super) async fn poll(State(state): State<AppState>, Path(name): Path<String>) -> Response {
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
        PollNow::Started => accepted("started"),
        PollNow::InFlight => accepted("in_flight"),
        PollNow::HostCoolingDown(wait) => error(
            StatusCode::CONFLICT,
            "host_cooling_down",
            &format!(
                "the host of {name:?} asked for a pause (Retry-After) for another {}; its poll stays at its time",
                humantime::format_duration(std::time::Duration::from_secs(wait.as_secs().max(1)))
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
                .insert(axum::http::header::RETRY_AFTER, secs.into());
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

fn not_running() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_running",
        "the scheduler is not running (starting or stopping)",
    )
}
