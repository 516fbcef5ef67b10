//! The accept loop: HTTP/1.1 connections served by hyper with the bounds that `axum::serve`
//! does not set.
//!
//! - **A deadline for a request's head.** Without a timer hyper waits for ever: a client that
//!   sends its headers a byte at a time, or opens a connection and sends nothing, held it
//!   open for good, and ~20,000 of them took every file descriptor, the polls' sockets
//!   included (ingest stopped with `Too many open files`). The head of every request must now
//!   arrive within `http.request_timeout`; that is also how long an idle keep-alive
//!   connection stays open.
//! - **A deadline for every write.** An answer that the client does not read fills the
//!   socket's buffers, and hyper then waits for them to drain, for ever: a client that sent
//!   requests (pipelined, or to the event stream) and stopped reading held its connection,
//!   its slot and up to two built answers each with no limit. A write that waits
//!   `http.request_timeout` now ends the connection. The clock starts again with each write
//!   that goes through, and the kernel lets one through once a third or so of the socket's
//!   send buffer has drained, so that buffer is capped ([`SEND_BUFFER`]): grown by the
//!   kernel to megabytes, it took a slow but steady reader (80 KiB/s) longer than the
//!   timeout to drain, and cut it off.
//! - **A cap on connections served at once** ([`MAX_CONNECTIONS`]): past it the listener
//!   waits for one to end, and the clients wait in the kernel's queue, so HTTP clients never
//!   take the descriptors the fetch stage needs.
//! - **A reserve past the cap** (an eighth of it): while every slot is taken, a new
//!   connection is still served, for one request whose head must come within
//!   [`RESERVE_HEAD_TIMEOUT`], then closed. Clients that open connections and send nothing
//!   (or hold keep-alive ones) can no longer keep a health check or a scrape waiting for
//!   `http.request_timeout`; to hold the reserve too they must keep opening connections.
//! - **A graceful stop**: no new connection once `stop` is cancelled; each open one finishes
//!   the request it serves and closes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_io_timeout::TimeoutStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::{debug, warn};

/// Connections served at once. A page, a scraper, a few API clients and event streams need
/// tens; the rest of the daemon's descriptors are the polls'.
pub const MAX_CONNECTIONS: usize = 512;

/// The send buffer of a connection (the kernel doubles it for its own bookkeeping): with
/// the write deadline, a client is cut off when it reads less than about a third of it in
/// `http.request_timeout` (~9 KB/s at the default 10 s), and a distant one is served at up
/// to ~2.5 MB/s over a 100 ms round trip.
pub const SEND_BUFFER: usize = 128 * 1024;

/// How soon the head of the one request a reserve connection serves must arrive.
pub const RESERVE_HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// Marks a request served on a reserve connection (an extension): one that must not hold it
/// for long, such as an event stream, is refused there.
#[derive(Debug, Clone, Copy)]
pub struct ReserveConnection;

/// Serves `app` on `listener`, at most `max_connections` at once, until `stop` is cancelled
/// and the open connections have ended.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    head_timeout: Duration,
    max_connections: usize,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let reserve = Arc::new(tokio::sync::Semaphore::new((max_connections / 8).max(1)));
    let connections = TaskTracker::new();
    let mut at_cap_said = false;
    loop {
        // (permit, from the reserve)
        let (permit, hurried) = match slots.clone().try_acquire_owned() {
            Ok(p) => (p, false),
            Err(_) => {
                if !at_cap_said {
                    warn!(
                        max = max_connections,
                        "http connections at their limit: new clients get one quick request each from a small reserve, or wait for a connection to close"
                    );
                    at_cap_said = true;
                }
                match reserve.clone().try_acquire_owned() {
                    Ok(p) => (p, true),
                    Err(_) => tokio::select! {
                        () = stop.cancelled() => break,
                        p = slots.clone().acquire_owned() => match p {
                            Ok(p) => (p, false),
                            Err(_) => break,
                        },
                        p = reserve.clone().acquire_owned() => match p {
                            Ok(p) => (p, true),
                            Err(_) => break,
                        },
                    },
                }
            }
        };
        if slots.available_permits() > max_connections / 2 {
            at_cap_said = false;
        }
        let (stream, peer) = tokio::select! {
            // The stop first: once it is asked for, no connection is taken. The daemon's
            // server takes over the socket of the starting one (`starting.rs`), and a
            // connection made after that must not be accepted by the one that stopped.
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was accepted: the
                    // listener itself is fine. A pause, so that a lack of descriptors does not
                    // spin.
                    debug!(error.message = %e, "accepting an http connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
        let app = app.clone();
        let stop = stop.clone();
        connections.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                let app = app.clone();
                if hurried {
                    req.extensions_mut().insert(ReserveConnection);
                }
                async move {
                    let mut res = app
                        .oneshot(req.map(Body::new))
                        .await
                        .unwrap_or_else(|e| match e {});
                    // axum gives a HEAD answer the length of the body it drops, 0 for a 304;
                    // a cache would take that for the stored feed's new length (RFC 9110
                    // 8.6: a 304's must be the 200's, or absent).
                    if res.status() == axum::http::StatusCode::NOT_MODIFIED {
                        res.headers_mut().remove(axum::http::header::CONTENT_LENGTH);
                    }
                    Ok::<_, Infallible>(res)
                }
            });
            let deadline = if hurried {
                head_timeout.min(RESERVE_HEAD_TIMEOUT)
            } else {
                head_timeout
            };
            let mut stream = TimeoutStream::new(stream);
            stream.set_write_timeout(Some(deadline));
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(deadline)
                .keep_alive(!hurried);
            let conn = builder.serve_connection(TokioIo::new(Box::pin(stream)), service);
            tokio::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            debug!(%peer, error.message = %e, "http connection ended");
                        }
                        break;
                    }
                    () = stop.cancelled(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server started for a test: its address, its stop, its task.
    type Started = (
        std::net::SocketAddr,
        CancellationToken,
        tokio::task::JoinHandle<std::io::Result<()>>,
    );

    /// Serves `app` on an ephemeral loopback port, at most `cap` connections at once.
    async fn start(app: Router, cap: usize) -> Started {
        start_with(app, cap, Duration::from_secs(30)).await
    }

    /// As [`start`], with `timeout` as `http.request_timeout`.
    async fn start_with(app: Router, cap: usize, timeout: Duration) -> Started {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(listener, app, timeout, cap, stop.clone()));
        (addr, stop, server)
    }

    /// Waits for the server that `stop` was cancelled for to end, cleanly.
    async fn stopped(server: tokio::task::JoinHandle<std::io::Result<()>>) {
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("stopped")
            .unwrap()
            .unwrap();
    }

    /// A 304 to HEAD carries no `Content-Length: 0`, which would claim the feed is empty.
    #[tokio::test]
    async fn a_not_modified_answer_to_head_claims_no_length() {
        let app = Router::new().route(
            "/",
            axum::routing::get(|| async { axum::http::StatusCode::NOT_MODIFIED }),
        );
        let (addr, stop, server) = start(app, 2).await;
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut head = String::new();
        c.read_to_string(&mut head).await.unwrap();
        assert!(head.starts_with("HTTP/1.1 304"), "{head}");
        assert!(
            !head.to_ascii_lowercase().contains("content-length"),
            "{head}"
        );
        stop.cancel();
        stopped(server).await;
    }

    /// A client that pipelines requests and reads none of the answers has at most two of them
    /// made and held for it (one being written, one waiting), not one per request: hyper
    /// reads a connection's next request only once its last answer is buffered, within its
    /// write buffer's bound. What a few hundred such clients hold is that, times their
    /// number; how fast it is reached is [`super::api::READS_AT_ONCE`]'s.
    #[tokio::test]
    async fn answers_to_pipelined_requests_nobody_reads_are_not_piled_up() {
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = made.clone();
        let app = Router::new().route(
            "/big",
            axum::routing::get(move || {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    vec![b'x'; 8 << 20]
                }
            }),
        );
        let (addr, stop, server) = start(app, 2).await;
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut c = socket.connect(addr).await.unwrap();
        let requests = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n".repeat(10);
        c.write_all(requests.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let n = made.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            (1..=2).contains(&n),
            "{n} answers made for a client reading none"
        );
        drop(c);
        stop.cancel();
        stopped(server).await;
    }

    /// A client that asks for an answer and stops reading it loses its connection once a
    /// write has waited `http.request_timeout`, instead of holding it, its slot and the
    /// answer for ever; one that reads slowly but steadily gets the whole answer.
    #[tokio::test]
    async fn a_client_that_stops_reading_loses_its_connection_after_the_timeout() {
        const BODY: usize = 1 << 20;
        // Answers asked for at once by each client.
        const ASKED: usize = 4;
        let app = Router::new().route("/big", axum::routing::get(|| async { vec![b'x'; BODY] }));
        let (addr, stop, server) = start_with(app, 2, Duration::from_secs(2)).await;
        let connect = |recv_buffer: u32| async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(recv_buffer).unwrap();
            let mut c = socket.connect(addr).await.unwrap();
            c.write_all(
                "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"
                    .repeat(ASKED)
                    .as_bytes(),
            )
            .await
            .unwrap();
            c
        };
        // Reads up to 32 KiB every 50 ms (~600 KiB/s), four answers of 1 MiB asked at once:
        // slow, but it drains a third of the capped send buffer well within the deadline.
        let mut slow = connect(128 << 10).await;
        let slow = tokio::spawn(async move {
            let mut got = 0;
            let mut buf = vec![0u8; 32 << 10];
            loop {
                match slow.read(&mut buf).await {
                    Ok(0) | Err(_) => break got,
                    Ok(n) => got += n,
                }
                if got > ASKED * BODY {
                    break got;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let mut stalled = connect(4096).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let mut got = 0;
        let mut buf = vec![0u8; 1 << 20];
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match stalled.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the stalled connection is still open");
        assert!(
            got < BODY,
            "a client that stopped reading for 5 s still got the whole answer ({got} bytes)"
        );
        let slow_got = tokio::time::timeout(Duration::from_secs(60), slow)
            .await
            .expect("the slow reader finished")
            .unwrap();
        assert!(
            slow_got > ASKED * BODY,
            "the slow reader got {slow_got} bytes of {} answers",
            ASKED
        );
        stop.cancel();
        stopped(server).await;
    }

    /// Connections that send nothing hold every slot: a health check is still answered at
    /// once, from the reserve, and its connection closed.
    #[tokio::test]
    async fn idle_connections_holding_every_slot_do_not_keep_a_health_check_waiting() {
        let app = Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
        let (addr, stop, server) = start(app, 2).await;
        let mut idle = Vec::new();
        for _ in 0..2 {
            idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        // Read to the end: the reserve's connection closes after its one answer.
        tokio::time::timeout(Duration::from_secs(1), c.read_to_string(&mut answer))
            .await
            .expect("answered from the reserve while the slots are held")
            .unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"),
            "{answer}"
        );
        stop.cancel();
        drop(idle);
        stopped(server).await;
    }

    /// A request on a reserve connection carries [`ReserveConnection`], so that a handler
    /// whose answer lasts (the event stream) can refuse it there; one on a slot does not.
    #[tokio::test]
    async fn requests_on_a_reserve_connection_are_marked_as_such() {
        let app = Router::new().route(
            "/which",
            axum::routing::get(
                |reserve: Option<axum::Extension<ReserveConnection>>| async move {
                    if reserve.is_some() {
                        "reserve"
                    } else {
                        "slot"
                    }
                },
            ),
        );
        let (addr, stop, server) = start(app, 2).await;
        async fn ask(c: &mut tokio::net::TcpStream) -> String {
            c.write_all(b"GET /which HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 512];
            let n = c.read(&mut buf).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        }
        let mut first = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(ask(&mut first).await.ends_with("slot"));
        let mut second = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert!(ask(&mut second).await.ends_with("slot"));
        // Both kept alive: the third is served from the reserve.
        let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
        let answer = ask(&mut third).await;
        assert!(answer.ends_with("reserve"), "{answer}");
        stop.cancel();
        drop((first, second, third));
        stopped(server).await;
    }

    /// Past the cap and the reserve a client waits until a connection closes; a reserve
    /// connection that sends nothing is closed after [`RESERVE_HEAD_TIMEOUT`].
    #[tokio::test]
    async fn past_the_cap_a_client_waits_for_a_connection_to_close() {
        let app = Router::new().route("/", axum::routing::get(|| async { "hi" }));
        let (addr, stop, server) = start(app, 2).await;
        let ask = |mut c: tokio::net::TcpStream| async move {
            c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 256];
            let n = c.read(&mut buf).await.unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).contains("hi"));
            c
        };
        let first = ask(tokio::net::TcpStream::connect(addr).await.unwrap()).await;
        let _second = ask(tokio::net::TcpStream::connect(addr).await.unwrap()).await;
        // Both kept alive; a third connection takes the reserve (of 1) and sends nothing.
        let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The fourth is accepted by the kernel, not served.
        let fourth = tokio::spawn(ask(tokio::net::TcpStream::connect(addr).await.unwrap()));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            !fourth.is_finished(),
            "a fourth connection was served past the cap of 2 and the reserve of 1"
        );
        // The silent one is closed within the reserve's deadline; the fourth is served.
        let mut buf = [0u8; 16];
        let closed = tokio::time::timeout(RESERVE_HEAD_TIMEOUT * 3, silent.read(&mut buf)).await;
        assert!(closed.is_ok(), "a silent reserve connection kept open");
        tokio::time::timeout(Duration::from_secs(10), fourth)
            .await
            .expect("served once the reserve was free")
            .unwrap();
        drop(first);
        stop.cancel();
        drop(_second);
        stopped(server).await;
    }
}
