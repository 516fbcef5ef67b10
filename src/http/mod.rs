//! The status server (axum): how wirefold is watched.
//!
//! - `GET /healthz`: liveness, `200 ok` while the process serves requests;
//! - `GET /readyz`: `200` once the store is open and the scheduler runs, else `503`;
//! - `GET /status`: JSON summary (schema in the README and in [`status::Status`]).
//!
//! Unknown paths get a JSON 404. Handlers only read: the store is shared with the pipeline
//! through the cheap, clonable [`crate::storage::Store`] handle.

mod status;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::config::Config;
use crate::fold::Folder;
use crate::scheduler::SchedulerStats;
use crate::storage::Store;

pub(crate) use status::rfc3339;
pub use status::{SourceStatus, Status};

/// What the handlers read.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// The store.
    pub store: Store,
    /// The fold index (for its size).
    pub folder: Arc<Folder>,
    /// Scheduler figures.
    pub scheduler: Arc<SchedulerStats>,
    /// Process start.
    pub started: Instant,
}

/// Builds the router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/status", get(status::status))
        .fallback(not_found)
        .with_state(state)
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

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// A JSON error body: `{"error": code, "message": …}`.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}
