//! A fault-injecting HTTP server on 127.0.0.1: one route per way a feed server misbehaves.
//!
//! | route | misbehaviour |
//! |---|---|
//! | `etag.xml` | a good feed with `ETag`/`Last-Modified`; 304 when they come back |
//! | `etag-renewed.xml` | `ETag: "r1"`; its 304 carries a new one, `"r2"` (RFC 9111 4.3.4) |
//! | `trickle.xml` | 200, then one byte every 100 ms, forever |
//! | `endless.xml` | 200, then 64 KiB chunks as fast as they go, forever |
//! | `bomb.xml` | `Content-Encoding: gzip`: ~600 KB inflating to 128 MiB of zeros |
//! | `html.xml` | an HTML page with 200 |
//! | `malformed.xml` | XML with mismatched tags |
//! | `truncated.xml` | a feed cut off in the middle |
//! | `invalid-utf8.xml` | a UTF-8 feed with stray invalid bytes |
//! | `cp1251.xml` | windows-1251, declared only in `Content-Type` |
//! | `sjis.xml` | Shift_JIS, declared only in the XML prolog |
//! | `moved-1.xml` | 301 → `moved-2.xml` 301 → `moved-final.xml` |
//! | `loop-a.xml` | 302 → `loop-b.xml` 302 → `loop-a.xml` |
//! | `429-seconds.xml` / `429-date.xml` | 429 with `Retry-After: 3600` / an HTTP date 2 h ahead |
//! | `503.xml`, `500.xml`, `410.xml` | those statuses |
//! | `reset.xml` | `Content-Length: 100000`, 400 bytes, then the connection drops |
//! | `empty.xml` | 200 with an empty body |
//! | `day-ahead.xml` | a good feed whose `Date` is a day ahead (our clock a day behind) |

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::helpers::rss;

/// Decoded size of the gzip bomb.
pub const BOMB_BYTES: usize = 128 << 20;

static BOMB: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..(BOMB_BYTES >> 20) {
        e.write_all(&zeros).expect("compress");
    }
    e.finish().expect("compress")
});

#[derive(Default)]
struct Counters {
    hits: Mutex<HashMap<String, u32>>,
    not_modified: AtomicU32,
    /// Requests that came back with the ETag a 304 gave.
    renewed_etag_sent: AtomicU32,
}

/// The server; lives as long as the value.
pub struct FaultServer {
    pub addr: SocketAddr,
    counters: Arc<Counters>,
    _rt: tokio::runtime::Runtime,
}

impl FaultServer {
    pub fn start() -> FaultServer {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("test runtime");
        let counters: Arc<Counters> = Arc::default();
        let app = Router::new()
            .route("/{*path}", get(handle))
            .with_state(counters.clone());
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind fault server");
        let addr = listener.local_addr().expect("addr");
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultServer {
            addr,
            counters,
            _rt: rt,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// Requests of `path` so far.
    pub fn hits(&self, path: &str) -> u32 {
        *self
            .counters
            .hits
            .lock()
            .unwrap()
            .get(path.trim_start_matches('/'))
            .unwrap_or(&0)
    }

    /// 304 answers so far.
    pub fn not_modified(&self) -> u32 {
        self.counters.not_modified.load(Ordering::SeqCst)
    }

    /// Requests to `etag-renewed.xml` that sent the ETag its 304 gave.
    pub fn renewed_etag_sent(&self) -> u32 {
        self.counters.renewed_etag_sent.load(Ordering::SeqCst)
    }
}

fn two_items(title: &str) -> String {
    rss(
        title,
        &[
            (
                "f-1",
                "Harbour board approves dredging plan",
                "http://faults.test/1",
                "<p>The board approved the plan on Tuesday after a long debate.</p>",
            ),
            (
                "f-2",
                "Frost damages apple orchards",
                "http://faults.test/2",
                "<p>Growers reported heavy losses after the late frost.</p>",
            ),
        ],
    )
}

fn xml(body: impl Into<Body>) -> Response {
    ([(header::CONTENT_TYPE, "application/rss+xml")], body.into()).into_response()
}

fn redirect(code: StatusCode, to: &str) -> Response {
    (code, [(header::LOCATION, to.to_owned())]).into_response()
}

fn stream_of(
    s: impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> Body {
    Body::from_stream(s)
}

async fn handle(
    State(c): State<Arc<Counters>>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let hit = {
        let mut hits = c.hits.lock().unwrap();
        let n = hits.entry(path.clone()).or_default();
        *n += 1;
        *n
    };
    match path.as_str() {
        "etag.xml" => {
            let etag = "\"v1\"";
            if headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                == Some(etag)
            {
                c.not_modified.fetch_add(1, Ordering::SeqCst);
                return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
            }
            (
                [
                    (header::CONTENT_TYPE, "application/rss+xml"),
                    (header::ETAG, etag),
                    (header::LAST_MODIFIED, "Mon, 17 Apr 2023 10:05:00 GMT"),
                ],
                two_items("Validators"),
            )
                .into_response()
        }
        "etag-renewed.xml" => {
            match headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
            {
                Some("\"r1\"") => {
                    return (StatusCode::NOT_MODIFIED, [(header::ETAG, "\"r2\"")]).into_response()
                }
                Some("\"r2\"") => {
                    c.renewed_etag_sent.fetch_add(1, Ordering::SeqCst);
                    return (StatusCode::NOT_MODIFIED, [(header::ETAG, "\"r2\"")]).into_response();
                }
                _ => {}
            }
            (
                [
                    (header::CONTENT_TYPE, "application/rss+xml"),
                    (header::ETAG, "\"r1\""),
                ],
                two_items("Renewed"),
            )
                .into_response()
        }
        "trickle.xml" => {
            let s = futures::stream::unfold(0u32, |n| async move {
                if n > 6000 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Ok(Bytes::from_static(b" ")), n + 1))
            });
            xml(stream_of(s))
        }
        "endless.xml" => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let s = futures::stream::repeat_with(move || Ok(chunk.clone()));
            xml(stream_of(s))
        }
        "bomb.xml" => (
            [
                (header::CONTENT_TYPE, "application/rss+xml"),
                (header::CONTENT_ENCODING, "gzip"),
            ],
            BOMB.clone(),
        )
            .into_response(),
        "html.xml" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html><html><head><title>Just a moment...</title></head>\
             <body><p>Checking your browser.</p></body></html>",
        )
            .into_response(),
        "malformed.xml" => xml(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Broken</titel>\
             <item><title>One</item></channel></rss>",
        ),
        "truncated.xml" => {
            let full = two_items("Truncated");
            xml(full[..full.len() / 2].to_owned())
        }
        "invalid-utf8.xml" => {
            let mut body = two_items("Zürich – Genève").into_bytes();
            // Stray bytes inside a title and a description.
            let at = body.windows(7).position(|w| w == b"Harbour").unwrap_or(0);
            body.insert(at, 0xFF);
            let at = body.windows(5).position(|w| w == b"heavy").unwrap_or(0);
            body.splice(at..at, [0xC3, 0x28]);
            xml(body)
        }
        "cp1251.xml" => {
            let text = rss(
                "Новости",
                &[(
                    "ru-1",
                    "Совет одобрил план углубления канала",
                    "http://faults.test/ru/1",
                    "<p>Совет директоров порта одобрил план во вторник.</p>",
                )],
            )
            .replace(" encoding=\"UTF-8\"", "");
            let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
            (
                [(
                    header::CONTENT_TYPE,
                    "application/rss+xml; charset=windows-1251",
                )],
                bytes.into_owned(),
            )
                .into_response()
        }
        "sjis.xml" => {
            let text = rss(
                "ニュース",
                &[(
                    "jp-1",
                    "港湾局が航路の浚渫計画を承認",
                    "http://faults.test/jp/1",
                    "<p>港湾局は火曜日に計画を承認した。</p>",
                )],
            )
            .replace("encoding=\"UTF-8\"", "encoding=\"Shift_JIS\"");
            let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
            ([(header::CONTENT_TYPE, "text/xml")], bytes.into_owned()).into_response()
        }
        "moved-1.xml" => redirect(StatusCode::MOVED_PERMANENTLY, "/moved-2.xml"),
        "moved-2.xml" => redirect(StatusCode::MOVED_PERMANENTLY, "/moved-final.xml"),
        "moved-final.xml" => xml(two_items("Moved")),
        // A permanent move to a sign-in page (200, HTML): no feed's new home.
        "moved-login.xml" => redirect(StatusCode::MOVED_PERMANENTLY, "/login.html"),
        "login.html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html><html><head><title>Sign in</title></head>\
             <body><form><input name=\"user\"></form></body></html>",
        )
            .into_response(),
        // A permanent move seen twice, then a failure, and again: never three in a row.
        "moved-flaky.xml" if hit % 3 == 0 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "moved-flaky.xml" => redirect(StatusCode::MOVED_PERMANENTLY, "/moved-final.xml"),
        // A feed, then a permanent move to a sign-in page that answers any condition with
        // 304: no feed is ever read there.
        "moved-304.xml" if hit == 1 => (
            [
                (header::CONTENT_TYPE, "application/rss+xml"),
                (header::LAST_MODIFIED, "Mon, 17 Apr 2023 10:05:00 GMT"),
            ],
            two_items("Before the move"),
        )
            .into_response(),
        "moved-304.xml" => redirect(StatusCode::MOVED_PERMANENTLY, "/signin-304.html"),
        "signin-304.html" if headers.contains_key(header::IF_MODIFIED_SINCE) => {
            StatusCode::NOT_MODIFIED.into_response()
        }
        "signin-304.html" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!DOCTYPE html><html><body><form></form></body></html>",
        )
            .into_response(),
        // A temporary redirect to a dated copy that is gone: the feed itself is not.
        "temp-410.xml" => redirect(StatusCode::FOUND, "/dated-410.xml"),
        "dated-410.xml" => StatusCode::GONE.into_response(),
        "loop-a.xml" => redirect(StatusCode::FOUND, "/loop-b.xml"),
        "loop-b.xml" => redirect(StatusCode::FOUND, "/loop-a.xml"),
        "429-seconds.xml" => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "3600")],
        )
            .into_response(),
        "429-date.xml" => {
            let now = SystemTime::now();
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::DATE, httpdate::fmt_http_date(now)),
                    (
                        header::RETRY_AFTER,
                        httpdate::fmt_http_date(now + Duration::from_secs(7200)),
                    ),
                ],
            )
                .into_response()
        }
        "day-ahead.xml" => (
            [
                (
                    header::DATE,
                    httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(86_400)),
                ),
                (header::CONTENT_TYPE, "application/rss+xml".to_owned()),
            ],
            two_items("Tomorrow"),
        )
            .into_response(),
        "503.xml" => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        "500.xml" => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "410.xml" => StatusCode::GONE.into_response(),
        "reset.xml" => {
            let head = Bytes::from(two_items("Reset").into_bytes()[..400].to_vec());
            // The head and first bytes go out; a moment later the connection drops.
            let s = futures::stream::unfold(Some(head), |head| async move {
                match head {
                    Some(h) => Some((Ok(h), None)),
                    None => {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        let e = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "dropped");
                        Some((Err(e), None))
                    }
                }
            });
            (
                [
                    (header::CONTENT_TYPE, "application/rss+xml".to_owned()),
                    (header::CONTENT_LENGTH, "100000".to_owned()),
                ],
                stream_of(s),
            )
                .into_response()
        }
        "empty.xml" => xml(""),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
