//! What the listener answers while the daemon starts: it is bound first (a port in use stops
//! the start at once), and opening the store can take seconds (a replay after a crash, an
//! index rebuilt from millions of articles). Without an answer meanwhile, a connection
//! waited unanswered: a probe with a one-second timeout took the daemon for dead, and an
//! orchestrator restarted it in the middle of its replay.
//!
//! [`StartingServer`] serves a duplicate of the listener's socket until the daemon is ready:
//! `/healthz` answers `200 starting` (the process lives and works), `/readyz` `503` with the
//! phase under way, `/events` an event stream that ends at once after a `retry:` (a browser's
//! `EventSource` takes any other answer for the end of the stream, for good, and reconnects
//! only after a stream that ended), and every other path `503 {"error": "starting"}` with
//! `Retry-After`. Stopped, it closes its duplicate at once (the daemon's server then accepts
//! on the socket), and the connections it holds each end after the request they serve.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Connections the starting server serves at once: probes and the odd early client.
const STARTING_CONNECTIONS: usize = 64;

/// The answers while the daemon starts, served on a duplicate of its listener.
pub struct StartingServer {
    phase: Arc<Mutex<&'static str>>,
    stop: CancellationToken,
}

impl StartingServer {
    /// Serves the starting answers on a duplicate of `listener`'s socket (each request's
    /// head within `head_timeout`, as the daemon's own server asks).
    pub fn start(listener: &TcpListener, head_timeout: Duration) -> std::io::Result<Self> {
        let socket = socket2::SockRef::from(listener).try_clone()?;
        let duplicate = std::net::TcpListener::from(socket);
        duplicate.set_nonblocking(true)?;
        let duplicate = TcpListener::from_std(duplicate)?;
        let phase = Arc::new(Mutex::new("starting"));
        let stop = CancellationToken::new();
        // Not awaited: it ends once the connections it holds have (each after its request).
        tokio::spawn(super::serve(
            duplicate,
            router(phase.clone()),
            head_timeout,
            STARTING_CONNECTIONS,
            stop.clone(),
        ));
        Ok(Self { phase, stop })
    }

    /// The phase under way, which `/readyz` names.
    pub fn set_phase(&self, phase: &'static str) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = phase;
    }

    /// Stops accepting: the daemon's server takes the next connection. A request under way
    /// (a slow client's half-sent head) is still answered "starting", without holding the
    /// daemon's readiness back.
    pub fn stop(self) {
        self.stop.cancel();
    }
}

impl Drop for StartingServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn router(phase: Arc<Mutex<&'static str>>) -> Router {
    Router::new().fallback(move |req: axum::extract::Request| {
        let phase = *phase.lock().unwrap_or_else(|p| p.into_inner());
        async move { answer(req.uri().path(), phase) }
    })
}

/// The answer to a request for `path` while the daemon is in `phase`.
fn answer(path: &str, phase: &str) -> Response {
    match path {
        "/healthz" => (StatusCode::OK, "starting\n").into_response(),
        "/events" => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/event-stream"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            ": the daemon is starting; reconnect\nretry: 2000\n\n",
        )
            .into_response(),
        "/readyz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"ready": false, "reason": phase})),
        )
            .into_response(),
        _ => {
            let mut r = super::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "starting",
                &format!("the daemon is starting ({phase}); it answers once ready"),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("2"));
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn ask(addr: std::net::SocketAddr, path: &str) -> String {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).await.unwrap();
        answer
    }

    /// While starting, the probes answer at once and the rest says why it cannot yet; once
    /// stopped, the listener itself accepts (here: the connection waits in its queue, and is
    /// answered by whoever accepts next).
    #[tokio::test]
    async fn a_starting_daemon_answers_its_probes_and_then_hands_the_socket_over() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let starting = StartingServer::start(&listener, Duration::from_secs(5)).unwrap();
        starting.set_phase("starting: opening the store");
        let health = ask(addr, "/healthz").await;
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        assert!(health.ends_with("starting\n"), "{health}");
        let ready = ask(addr, "/readyz").await;
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(ready.contains("starting: opening the store"), "{ready}");
        let other = ask(addr, "/status").await;
        assert!(other.starts_with("HTTP/1.1 503"), "{other}");
        assert!(other.contains("\"starting\""), "{other}");
        assert!(
            other.to_ascii_lowercase().contains("retry-after: 2"),
            "{other}"
        );
        // An event stream that ends at once: an EventSource reconnects after it, and gives
        // up for good on any other answer.
        let events = ask(addr, "/events").await;
        assert!(events.starts_with("HTTP/1.1 200"), "{events}");
        assert!(events.contains("text/event-stream"), "{events}");
        assert!(events.ends_with("retry: 2000\n\n"), "{events}");

        // A client that sent half its request before the stop is answered, and holds
        // nothing up.
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        starting.stop();
        // The daemon's own listener takes the next connection.
        let daemon = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf).await;
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nready")
                .await
                .unwrap();
        });
        let answer = ask(addr, "/status").await;
        assert!(answer.ends_with("ready"), "{answer}");
        daemon.await.unwrap();
        slow.write_all(b"Connection: close\r\n\r\n").await.unwrap();
        let mut late = String::new();
        slow.read_to_string(&mut late).await.unwrap();
        assert!(late.starts_with("HTTP/1.1 503"), "{late}");
    }
}
