//! The fetcher against a real HTTP server on 127.0.0.1: redirects as the fetcher follows them,
//! and the DNS guard with a public-looking name given a loopback address.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::*;

async fn serve() -> SocketAddr {
    let moved = |code: StatusCode, to: &'static str| {
        move || async move { (code, [(header::LOCATION, to)]).into_response() }
    };
    let app = Router::new()
        .route("/a", get(moved(StatusCode::MOVED_PERMANENTLY, "/b")))
        .route("/b", get(moved(StatusCode::PERMANENT_REDIRECT, "/feed")))
        .route("/t", get(moved(StatusCode::MOVED_PERMANENTLY, "/u")))
        .route("/u", get(moved(StatusCode::FOUND, "/feed")))
        .route("/loop1", get(moved(StatusCode::FOUND, "/loop2")))
        .route("/loop2", get(moved(StatusCode::FOUND, "/loop1")))
        .route("/ftp", get(moved(StatusCode::FOUND, "ftp://example.com/x")))
        .route(
            "/badloc",
            get(moved(StatusCode::FOUND, "http://[::1/x?sig=S1GNATURE")),
        )
        .route(
            "/badpass",
            get(moved(
                StatusCode::FOUND,
                "//user:PA?SSW0RD@127.0.0.1:99999/x#http://y",
            )),
        )
        .route(
            "/feed",
            get(|| async { "<rss version=\"2.0\"><channel/></rss>" }),
        )
        // A redirect to `?to=`, absolute.
        .route(
            "/to",
            get(
                |axum::extract::RawQuery(q): axum::extract::RawQuery| async move {
                    let to = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
                        .find(|(k, _)| k == "to")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
                },
            ),
        );
    serve_app(app).await
}

/// Serves `app` on an ephemeral loopback port.
async fn serve_app(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// A raw HTTP server on an ephemeral loopback port, for answers no HTTP library writes:
/// each connection's first read (the request head, as text) and the connection go to
/// `answer`, on a task of their own.
async fn raw_server<F, Fut>(answer: F) -> SocketAddr
where
    F: Fn(String, tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let Ok(n) = conn.read(&mut buf).await else {
                    return;
                };
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                answer(request, conn).await;
            });
        }
    });
    addr
}

fn config() -> FetchConfig {
    FetchConfig {
        user_agent: "wirefold-test".into(),
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        max_body_bytes: 1 << 20,
        concurrency: std::num::NonZeroUsize::MIN,
        stall_timeout: Duration::from_secs(5),
        stall_min_bytes: 1,
        max_redirects: 3,
        permanent_redirect_polls: 3,
        per_host_concurrency: std::num::NonZeroUsize::MIN,
        per_host_spacing: Duration::ZERO,
        refuse_private_redirects: true,
        refuse_private_dns: true,
        private_hosts: Vec::new(),
    }
}

#[tokio::test]
async fn permanent_hops_are_reported_until_the_first_temporary_one() {
    let addr = serve().await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = |p: &str| Url::parse(&format!("http://{addr}{p}")).unwrap();
    let out = f.fetch(&url("/a"), &Validators::default()).await.unwrap();
    assert_eq!(out.moved_to, Some(url("/feed")));
    assert_eq!(out.final_url, url("/feed"));
    let out = f.fetch(&url("/t"), &Validators::default()).await.unwrap();
    assert_eq!(out.moved_to, Some(url("/u")));
    let out = f
        .fetch(&url("/feed"), &Validators::default())
        .await
        .unwrap();
    assert_eq!(out.moved_to, None);
}

#[tokio::test]
async fn loops_limits_and_bad_locations_are_named() {
    let addr = serve().await;
    let url = |p: &str| Url::parse(&format!("http://{addr}{p}")).unwrap();
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let e = f
        .fetch(&url("/loop1"), &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "redirect_loop", "{e}");
    let e = f
        .fetch(&url("/ftp"), &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "redirect", "{e}");
    // A Location that is no URL is quoted without its query, which may be a signature.
    let e = f
        .fetch(&url("/badloc"), &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "redirect", "{e}");
    let shown = e.to_string();
    assert!(shown.contains("Location \"http://[::1/x?…\""), "{shown}");
    assert!(!shown.contains("S1GNATURE"), "{shown}");
    // Nor with a password, however it is written.
    let e = f
        .fetch(&url("/badpass"), &Validators::default())
        .await
        .unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains("Location \"//xxxxx@127.0.0.1:99999/x#http://y\"")
            && !shown.contains("SSW0RD"),
        "{shown}"
    );
    let strict = Fetcher::with_fixed_dns(
        &FetchConfig {
            max_redirects: 1,
            ..config()
        },
        HashMap::new(),
    )
    .unwrap();
    let e = strict
        .fetch(&url("/a"), &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "too_many_redirects", "{e}");
    // The chain is named, as a loop's is (it said "more than 1 redirects" alone).
    assert_eq!(
        e.to_string(),
        format!(
            "more than 1 redirects: {} → {} → {}",
            url("/a"),
            url("/b"),
            url("/feed")
        )
    );
}

#[tokio::test]
async fn public_names_resolving_to_private_addresses_are_refused() {
    let addr = serve().await;
    let fixed: HashMap<String, Vec<IpAddr>> = [
        ("news.example.com".to_owned(), vec![addr.ip()]),
        ("feeds.corp.example".to_owned(), vec![addr.ip()]),
    ]
    .into_iter()
    .collect();
    let cfg = FetchConfig {
        private_hosts: vec!["feeds.corp.example".into()],
        ..config()
    };
    let f = Fetcher::with_fixed_dns(&cfg, fixed.clone()).unwrap();
    let port = addr.port();
    let public = Url::parse(&format!("http://news.example.com:{port}/feed")).unwrap();
    let e = f.fetch(&public, &Validators::default()).await.unwrap_err();
    assert_eq!(e.class(), "blocked_address", "{e}");
    // A name the operator listed may resolve there.
    let listed = Url::parse(&format!("http://feeds.corp.example:{port}/feed")).unwrap();
    assert!(f.fetch(&listed, &Validators::default()).await.is_ok());
    // And with the check switched off, anything may.
    let open = Fetcher::with_fixed_dns(
        &FetchConfig {
            refuse_private_dns: false,
            ..config()
        },
        fixed,
    )
    .unwrap();
    assert!(open.fetch(&public, &Validators::default()).await.is_ok());
}

/// A trusted private source whose chain passes a public host may not be sent back to a
/// private address by that public host: each hop is checked against the one that sent it.
#[tokio::test]
async fn a_public_hop_in_a_chain_cannot_redirect_to_a_private_address() {
    let addr = serve().await;
    let port = addr.port();
    // A public-looking name on loopback, which the DNS check is told to let through, so
    // that only the redirect check stands between it and the private address.
    let fixed: HashMap<String, Vec<IpAddr>> = [("cdn.example.com".to_owned(), vec![addr.ip()])]
        .into_iter()
        .collect();
    let cfg = FetchConfig {
        refuse_private_dns: false,
        ..config()
    };
    let f = Fetcher::with_fixed_dns(&cfg, fixed).unwrap();
    let back = format!("http://127.0.0.1:{port}/feed");
    let public = format!(
        "http://cdn.example.com:{port}/to?to={}",
        url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
    );
    let start = Url::parse(&format!(
        "http://127.0.0.1:{port}/to?to={}",
        url::form_urlencoded::byte_serialize(public.as_bytes()).collect::<String>()
    ))
    .unwrap();
    let e = f.fetch(&start, &Validators::default()).await.unwrap_err();
    assert_eq!(e.class(), "blocked_address", "{e}");
    assert!(
        e.to_string()
            .contains("from the public address cdn.example.com"),
        "{e}"
    );
    // The private source alone, and its redirect to a public host, are fine.
    let to_public = Url::parse(&format!(
        "http://127.0.0.1:{port}/to?to={}",
        url::form_urlencoded::byte_serialize(
            format!("http://cdn.example.com:{port}/feed").as_bytes()
        )
        .collect::<String>()
    ))
    .unwrap();
    assert!(f.fetch(&to_public, &Validators::default()).await.is_ok());
}

/// A server that answers `/private` only to the right key, and records the key (or its
/// absence) of every request, so that a test sees what each hop carried.
async fn keyed_server(
    seen: Arc<std::sync::Mutex<Vec<String>>>,
    elsewhere: Option<String>,
) -> SocketAddr {
    use axum::http::HeaderMap as Headers;
    let record = move |h: &Headers, path: &str| {
        let key = h
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        seen.lock().unwrap().push(format!("{path} {key}"));
        key == "k1"
    };
    let (r1, r2, r3) = (record.clone(), record.clone(), record);
    let app = Router::new()
        .route(
            "/private",
            get(move |h: Headers| async move {
                if r1(&h, "/private") {
                    (StatusCode::OK, "<rss version=\"2.0\"><channel/></rss>").into_response()
                } else {
                    StatusCode::UNAUTHORIZED.into_response()
                }
            }),
        )
        .route(
            "/same",
            get(move |h: Headers| async move {
                r2(&h, "/same");
                (StatusCode::FOUND, [(header::LOCATION, "/private")]).into_response()
            }),
        )
        .route(
            "/away",
            get(move |h: Headers| async move {
                r3(&h, "/away");
                let to = elsewhere.unwrap_or_default();
                (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response()
            }),
        );
    let addr = serve_app(app).await;
    addr
}

fn keyed_source(url: Url) -> SourceConfig {
    SourceConfig {
        name: "private".into(),
        url,
        interval: Duration::from_secs(900),
        enabled: true,
        agency: false,
        headers: [(
            reqwest::header::HeaderName::from_static("x-api-key"),
            HeaderValue::from_static("k1"),
        )]
        .into_iter()
        .collect(),
    }
}

#[tokio::test]
async fn a_sources_headers_go_to_its_own_host_and_not_past_a_redirect_elsewhere() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let other = keyed_server(seen.clone(), None).await;
    let own = keyed_server(seen.clone(), Some(format!("http://{other}/private"))).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let at = |addr: SocketAddr, p: &str| Url::parse(&format!("http://{addr}{p}")).unwrap();

    // Sent to the configured URL, and along a redirect on the same host.
    let source = keyed_source(at(own, "/same"));
    f.fetch_source(&source, &source.url, &Validators::default(), None)
        .await
        .unwrap();
    // The same source polled without its headers is refused: the key is what opens it.
    let e = f
        .fetch(&at(own, "/private"), &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "http_status", "{e}");
    // A redirect to another port is another origin: the key stays behind, so that server
    // refuses the poll and never sees the key.
    let source = keyed_source(at(own, "/away"));
    let e = f
        .fetch_source(&source, &source.url, &Validators::default(), None)
        .await
        .unwrap_err()
        .error;
    assert_eq!(e.class(), "http_status", "{e}");
    // Nor when the source has moved there for good: the key belongs to the configured host.
    let e = f
        .fetch_source(
            &source,
            &at(other, "/private"),
            &Validators::default(),
            None,
        )
        .await
        .unwrap_err()
        .error;
    assert_eq!(e.class(), "http_status", "{e}");
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "/same k1",
            "/private k1",
            "/private -",
            "/away k1",
            "/private -",
            "/private -"
        ]
    );
}

#[test]
fn own_headers_follow_the_configured_host_and_its_move_to_tls_only() {
    let u = |s: &str| Url::parse(s).unwrap();
    let configured = u("http://feeds.example.com/news.xml");
    for (hop, sent) in [
        ("http://feeds.example.com/other.xml", true),
        ("http://FEEDS.example.com:80/x", true),
        ("https://feeds.example.com/news.xml", true),
        ("https://feeds.example.com:8443/news.xml", false),
        ("http://feeds.example.com:8080/news.xml", false),
        ("http://cdn.example.com/news.xml", false),
        ("http://example.com/news.xml", false),
        ("http://feeds.example.com.evil.test/news.xml", false),
    ] {
        assert_eq!(sends_own_headers(&configured, &u(hop)), sent, "{hop}");
    }
    // Never from https down to http: the key would cross the network in clear.
    let tls = u("https://feeds.example.com/news.xml");
    assert!(sends_own_headers(&tls, &u("https://feeds.example.com/b")));
    assert!(!sends_own_headers(
        &tls,
        &u("http://feeds.example.com/news.xml")
    ));
}

/// A server that reads the request and then resets the connection, closes it, or answers
/// with something that is not HTTP: the `protocol` class, which is no evidence that the
/// network is down (these were `other`).
#[tokio::test]
async fn a_server_that_breaks_the_exchange_is_a_protocol_error() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((mut c, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 2048];
            let _ = c.read(&mut buf).await;
            match n % 6 {
                0 => {
                    // An RST instead of a FIN.
                    let _ = c.set_zero_linger();
                }
                1 => {}
                2 => {
                    let _ = c.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\r\n").await;
                }
                // Heads hyper refuses to parse: two lengths, a negative one, a NUL.
                3 => {
                    let _ = c
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello")
                        .await;
                }
                4 => {
                    let _ = c
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello")
                        .await;
                }
                _ => {
                    let _ = c
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nX-Bad: a\0b\r\nContent-Length: 5\r\n\r\nhello",
                        )
                        .await;
                }
            }
            drop(c);
        }
    });
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = Url::parse(&format!("http://{addr}/feed")).unwrap();
    for _ in 0..6 {
        let e = f.fetch(&url, &Validators::default()).await.unwrap_err();
        assert_eq!(e.class(), "protocol", "{e}");
        assert!(!e.is_network(), "{e}");
    }
}

/// An `https://` URL at a port that speaks plain HTTP (a common configuration slip) is a TLS
/// failure, not a connection failure, and no sign that the network is down.
#[tokio::test]
async fn a_tls_hello_answered_in_plain_http_is_a_tls_error() {
    let addr = serve().await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = Url::parse(&format!("https://{addr}/feed")).unwrap();
    let e = f.fetch(&url, &Validators::default()).await.unwrap_err();
    assert_eq!(e.class(), "tls", "{e}");
    assert!(!e.is_network(), "{e}");
}

#[tokio::test]
async fn an_error_status_names_the_host_that_answered_after_a_redirect() {
    let busy = Router::new().route(
        "/busy",
        get(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, "120")],
            )
                .into_response()
        }),
    );
    let spawn = |app: Router| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    };
    let b = spawn(busy).await;
    let to = format!("http://{b}/busy");
    let hop = Router::new().route(
        "/hop",
        get(move || async move { (StatusCode::FOUND, [(header::LOCATION, to)]).into_response() }),
    );
    let a = spawn(hop).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = Url::parse(&format!("http://{a}/hop")).unwrap();
    let e = f.fetch(&url, &Validators::default()).await.unwrap_err();
    assert_eq!(e.http_status(), Some(429), "{e}");
    // The pause is the redirect target's to keep, not the configured host's.
    assert_eq!(e.answered_by(), Some(format!("{b}").as_str()), "{e}");
    assert!(matches!(
        e,
        FetchError::Status {
            retry_after: Some(d),
            ..
        } if d == Duration::from_secs(120)
    ));
}

/// gzip under another name (`GZIP`, `x-gzip`), in two members: decoded whole. A charset
/// written as the coding (`Content-Encoding: UTF-8`) over plain text: read as it is.
#[tokio::test]
async fn gzip_by_another_name_is_decoded_and_a_charset_as_coding_is_ignored() {
    use std::io::Write;
    const FEED: &str = "<rss version=\"2.0\"><channel><title>zipped</title></channel></rss>";
    let member = |s: &str| {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(s.as_bytes()).unwrap();
        z.finish().unwrap()
    };
    let (head, tail) = FEED.split_at(30);
    let mut two = member(head);
    two.extend(member(tail));
    let app = Router::new().route(
        "/{coding}",
        get(
            move |axum::extract::Path(coding): axum::extract::Path<String>| {
                let body = if coding == "UTF-8" {
                    FEED.as_bytes().to_vec()
                } else {
                    two.clone()
                };
                async move { ([(header::CONTENT_ENCODING, coding)], body).into_response() }
            },
        ),
    );
    let addr = serve_app(app).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    // `gzip` as written too: reqwest, which decoded it, stopped after the first member.
    for coding in ["gzip", "GZIP", "x-gzip", "UTF-8"] {
        let url = Url::parse(&format!("http://{addr}/{coding}")).unwrap();
        let got = f.fetch(&url, &Validators::default()).await.unwrap();
        let Content::Body { bytes, .. } = got.content else {
            panic!("no body");
        };
        assert_eq!(String::from_utf8(bytes).unwrap(), FEED, "{coding}");
    }
    // Past the cap once decoded: too large, as any other body.
    assert!(matches!(
        body::decode_left_alone(Some("x-gzip"), member(FEED), 10),
        Err(FetchError::TooLarge { limit: 10 })
    ));
    // Bytes after the last member (a line break appended) are left, as reqwest leaves
    // them under `gzip`: under `x-gzip` they failed the poll as a broken member (fetch
    // audit, session 66).
    let mut trailing = member(head);
    trailing.extend(member(tail));
    trailing.extend(b"\n");
    assert_eq!(
        body::decode_left_alone(Some("x-gzip"), trailing, 1 << 20).unwrap(),
        FEED.as_bytes()
    );
    // Read by wirefold under every label, gzip is still capped once decoded: 1 MiB of
    // zeros, 1 KiB on the wire, is too large for a 64 KiB cap.
    let zeros = {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&vec![0u8; 1 << 20]).unwrap();
        z.finish().unwrap()
    };
    let bomb = Router::new().route(
        "/bomb",
        get(move || {
            let body = zeros.clone();
            async move { ([(header::CONTENT_ENCODING, "gzip")], body).into_response() }
        }),
    );
    let addr = serve_app(bomb).await;
    let capped = Fetcher::with_fixed_dns(
        &FetchConfig {
            max_body_bytes: 64 << 10,
            ..config()
        },
        HashMap::new(),
    )
    .unwrap();
    let url = Url::parse(&format!("http://{addr}/bomb")).unwrap();
    let e = capped
        .fetch(&url, &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "too_large", "{e}");
}

/// zstd and brotli are decoded whatever the case of their label (RFC 9110 8.4.1: codings
/// are case-insensitive), alone or in a list. reqwest decodes `zstd` and `br` only as
/// written: `ZSTD` and `BR` failed as codings wirefold "cannot undo" (fetch audit, session
/// 66). A body that is not what its label says is an error naming the label.
#[tokio::test]
async fn zstd_and_brotli_are_decoded_whatever_the_case_of_their_label() {
    use std::io::Write;
    const FEED: &str = "<rss version=\"2.0\"><channel><title>packed</title></channel></rss>";
    let zstd = |b: &[u8]| zstd::stream::encode_all(b, 3).unwrap();
    let br = |b: &[u8]| {
        let mut w = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
        w.write_all(b).unwrap();
        w.into_inner()
    };
    let gz = |b: &[u8]| {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b).unwrap();
        z.finish().unwrap()
    };
    let feed = FEED.as_bytes();
    let served: Vec<(&str, Vec<u8>)> = vec![
        ("zstd", zstd(feed)),
        ("ZSTD", zstd(feed)),
        ("Zstd", zstd(feed)),
        ("br", br(feed)),
        ("BR", br(feed)),
        ("gzip, BR", br(&gz(feed))),
        ("Br, zstd", zstd(&br(feed))),
    ];
    let cases = served.clone();
    let app = Router::new()
        .route(
            "/{n}",
            get(move |axum::extract::Path(n): axum::extract::Path<usize>| {
                let (coding, body) = served[n].clone();
                async move { ([(header::CONTENT_ENCODING, coding)], body).into_response() }
            }),
        )
        .route(
            "/broken",
            get(|| async {
                ([(header::CONTENT_ENCODING, "BR")], vec![0xFFu8; 64]).into_response()
            }),
        );
    let addr = serve_app(app).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    for (n, (coding, _)) in cases.iter().enumerate() {
        let url = Url::parse(&format!("http://{addr}/{n}")).unwrap();
        let got = f.fetch(&url, &Validators::default()).await;
        let got = got.unwrap_or_else(|e| panic!("{coding}: {e}"));
        let Content::Body { bytes, .. } = got.content else {
            panic!("{coding}: no body");
        };
        assert_eq!(String::from_utf8_lossy(&bytes), FEED, "{coding}");
    }
    let url = Url::parse(&format!("http://{addr}/broken")).unwrap();
    let e = f.fetch(&url, &Validators::default()).await.unwrap_err();
    assert_eq!(e.class(), "body", "{e}");
    assert!(
        e.to_string()
            .contains("the body sent as Content-Encoding: BR is no valid br"),
        "{e}"
    );
}

/// Codings reqwest leaves alone: `deflate` sent unasked (zlib or raw), a list (`gzip,
/// gzip`, `gzip, identity`), and one wirefold cannot undo, named in the error.
#[tokio::test]
async fn deflate_and_lists_of_codings_are_decoded_and_others_named() {
    use std::io::Write;
    const FEED: &str = "<rss version=\"2.0\"><channel><title>coded</title></channel></rss>";
    let gz = |b: &[u8]| {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b).unwrap();
        z.finish().unwrap()
    };
    let zlib = {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(FEED.as_bytes()).unwrap();
        z.finish().unwrap()
    };
    let raw = {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(FEED.as_bytes()).unwrap();
        z.finish().unwrap()
    };
    // FEED after a byte-order mark in raw DEFLATE with fixed Huffman codes (zlib's
    // Z_FIXED strategy): the stream's first byte is `{`, as a JSON Feed's
    let bom_raw: Vec<u8> = vec![
        123, 191, 123, 191, 77, 81, 113, 177, 66, 89, 106, 81, 113, 102, 126, 158, 173, 146, 145,
        158, 129, 146, 157, 77, 114, 70, 98, 94, 94, 106, 142, 157, 77, 73, 102, 73, 78, 170, 93,
        114, 126, 74, 106, 138, 141, 62, 132, 99, 163, 15, 151, 213, 7, 106, 181, 3, 0,
    ];
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("zlib", "deflate", zlib),
        ("raw", "Deflate", raw),
        ("bom", "deflate", bom_raw),
        ("twice", "gzip, gzip", gz(&gz(FEED.as_bytes()))),
        ("identity", "gzip, identity", gz(FEED.as_bytes())),
        ("plain", "deflate", FEED.as_bytes().to_vec()),
        // `{` and a line break read as a complete raw stream of one byte
        (
            "json",
            "deflate",
            b"{\n  \"version\": \"https://jsonfeed.org/version/1.1\"\n}".to_vec(),
        ),
        ("compress", "compress", b"\x1f\x9d\x90<rss".to_vec()),
    ];
    let served = cases.clone();
    let app = Router::new().route(
        "/{case}",
        get(
            move |axum::extract::Path(case): axum::extract::Path<String>| {
                let (coding, body) = served
                    .iter()
                    .find(|(name, _, _)| *name == case)
                    .map(|(_, c, b)| (c.to_string(), b.clone()))
                    .unwrap();
                async move { ([(header::CONTENT_ENCODING, coding)], body).into_response() }
            },
        ),
    );
    let addr = serve_app(app).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    for (case, coding, _) in &cases {
        let url = Url::parse(&format!("http://{addr}/{case}")).unwrap();
        let got = f.fetch(&url, &Validators::default()).await;
        if *case == "compress" {
            let e = got.unwrap_err().to_string();
            assert!(e.contains("cannot undo \"compress\""), "{e}");
            continue;
        }
        let Content::Body { bytes, .. } = got.unwrap().content else {
            panic!("no body");
        };
        let text = String::from_utf8_lossy(&bytes);
        if *case == "json" {
            assert!(text.starts_with("{\n  \"version\""), "{text:?}");
            continue;
        }
        assert_eq!(
            text.trim_start_matches('\u{feff}'),
            FEED,
            "{case}: {coding}"
        );
    }
}

/// A server that answers `deflate` with raw DEFLATE (no zlib wrapper), as some do: wirefold
/// does not ask for `deflate`, so it gets the feed uncompressed; gzip it still asks for.
#[tokio::test]
async fn a_server_that_sends_raw_deflate_when_asked_for_it_is_never_asked() {
    use std::io::Write;
    const FEED: &str = "<rss version=\"2.0\"><channel><title>raw</title></channel></rss>";
    let app = Router::new().route(
        "/feed",
        get(|headers: axum::http::HeaderMap| async move {
            let asked = headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if asked.split(',').any(|c| c.trim().starts_with("deflate")) {
                let mut raw =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                raw.write_all(FEED.as_bytes()).unwrap();
                let body = raw.finish().unwrap();
                ([(header::CONTENT_ENCODING, "deflate")], body).into_response()
            } else {
                ([(header::VARY, "Accept-Encoding")], asked).into_response()
            }
        }),
    );
    let addr = serve_app(app).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = Url::parse(&format!("http://{addr}/feed")).unwrap();
    let got = f.fetch(&url, &Validators::default()).await.unwrap();
    let Content::Body { bytes, .. } = got.content else {
        panic!("no body");
    };
    // The server echoed what was asked for.
    let asked = String::from_utf8(bytes).unwrap();
    assert!(asked.contains("gzip"), "{asked}");
    assert!(!asked.contains("deflate"), "{asked}");
}

/// An ETag holding bytes 0x80–0xFF (RFC 9110's obs-text) is sent back as it came: it was
/// dropped, and the feed fetched whole at every poll (fetch audit, session 66).
#[tokio::test]
async fn an_etag_with_bytes_past_ascii_is_sent_back_as_it_came() {
    const TAG: &[u8] = b"\"caf\xe9\"";
    let app = Router::new().route(
        "/feed",
        get(|headers: axum::http::HeaderMap| async move {
            let tag = axum::http::HeaderValue::from_bytes(TAG).unwrap();
            if headers.get(header::IF_NONE_MATCH) == Some(&tag) {
                return StatusCode::NOT_MODIFIED.into_response();
            }
            (
                [(header::ETAG, tag)],
                "<rss version=\"2.0\"><channel/></rss>",
            )
                .into_response()
        }),
    );
    let addr = serve_app(app).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = Url::parse(&format!("http://{addr}/feed")).unwrap();
    let first = f.fetch(&url, &Validators::default()).await.unwrap();
    assert_eq!(first.validators.etag.as_deref(), Some("\"caf\u{e9}\""));
    let again = f.fetch(&url, &first.validators).await.unwrap();
    assert!(matches!(again.content, Content::NotModified), "{again:?}");
}

/// A 304 to a request that asked no condition says nothing about the feed: an error, so
/// that a source whose server always answers so does not stay "ok" with nothing stored.
#[tokio::test]
async fn a_304_to_an_unconditional_request_is_an_error() {
    let app = Router::new().route(
        "/feed",
        get(|| async { axum::http::StatusCode::NOT_MODIFIED.into_response() }),
    );
    let addr = serve_app(app).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = Url::parse(&format!("http://{addr}/feed")).unwrap();
    let e = f.fetch(&url, &Validators::default()).await.unwrap_err();
    assert_eq!(e.class(), "protocol", "{e}");
    assert!(e.to_string().contains("without If-None-Match"), "{e}");
    let asked = Validators {
        etag: Some("\"v1\"".into()),
        last_modified: None,
    };
    let got = f.fetch(&url, &asked).await.unwrap();
    assert!(matches!(got.content, Content::NotModified));
}

/// A 206 answers a request for a range, which a poll never asks: its body is a part of the
/// feed, and taken for the feed it failed as malformed, or passed for a shorter feed.
#[tokio::test]
async fn a_partial_content_answer_is_an_error() {
    let app = Router::new().route(
        "/feed",
        get(|| async {
            (
                axum::http::StatusCode::PARTIAL_CONTENT,
                [("content-range", "bytes 0-39/4000")],
                "<rss version=\"2.0\"><channel><title>x</t",
            )
                .into_response()
        }),
    );
    let addr = serve_app(app).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = Url::parse(&format!("http://{addr}/feed")).unwrap();
    let e = f.fetch(&url, &Validators::default()).await.unwrap_err();
    assert_eq!(e.class(), "protocol", "{e}");
    assert!(e.to_string().contains("206 Partial Content"), "{e}");
    // One that says it holds the whole is read, as before.
    let whole = "<rss version=\"2.0\"><channel><title>x</title></channel></rss>";
    let range = format!("bytes 0-{}/{}", whole.len() - 1, whole.len());
    let app = Router::new().route(
        "/feed",
        get(move || async move {
            (
                axum::http::StatusCode::PARTIAL_CONTENT,
                [("content-range", range)],
                whole,
            )
                .into_response()
        }),
    );
    let addr = serve_app(app).await;
    let url = Url::parse(&format!("http://{addr}/feed")).unwrap();
    let got = f.fetch(&url, &Validators::default()).await.unwrap();
    assert!(matches!(got.content, Content::Body { .. }));
}

/// A server that closes a kept-alive connection as the next request arrives, without an
/// answer (its idle timeout and our reuse crossed): the request is sent once more, on a
/// fresh connection, and the poll succeeds.
#[tokio::test]
async fn a_kept_alive_connection_closed_under_the_request_is_retried_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const FEED: &str = "<rss version=\"2.0\"><channel><title>again</title></channel></rss>";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                // the first connection answers one request, then drops the next unanswered
                for answered in 0.. {
                    let Ok(read) = conn.read(&mut buf).await else {
                        return;
                    };
                    if read == 0 || (n == 0 && answered == 1) {
                        return;
                    }
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\n\r\n{FEED}",
                        FEED.len()
                    );
                    if conn.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = Url::parse(&format!("http://{addr}/feed")).unwrap();
    for poll in 0..2 {
        let got = f.fetch(&url, &Validators::default()).await;
        assert!(got.is_ok(), "poll {poll}: {:?}", got.err());
    }
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// A body cut short of its `Content-Length`, and one announced over the cap: each error says
/// what happened in numbers.
#[tokio::test]
async fn a_short_or_oversized_body_is_told_in_bytes() {
    use tokio::io::AsyncWriteExt;
    let addr = raw_server(|request, mut conn| async move {
        let head = if request.contains("/huge") {
            "HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n<rss"
        } else {
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss version=\"2.0\">"
        };
        let _ = conn.write_all(head.as_bytes()).await;
        // and the connection closes
    })
    .await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let short = Url::parse(&format!("http://{addr}/short")).unwrap();
    let e = f.fetch(&short, &Validators::default()).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("the connection closed after 19 of the 1000 bytes Content-Length announced"),
        "{e}"
    );
    let huge = Url::parse(&format!("http://{addr}/huge")).unwrap();
    let e = f.fetch(&huge, &Validators::default()).await.unwrap_err();
    assert_eq!(e.class(), "too_large");
    assert!(
        e.to_string()
            .starts_with("Content-Length announces 50000000 bytes, over the"),
        "{e}"
    );
}

/// A timeout after the server answered is the server's slowness: the class is `timeout` as
/// before, but it is no sign that the network is down (the scheduler holds every poll back
/// on such signs). A server that never answers still is.
#[tokio::test]
async fn a_body_too_slow_for_the_timeout_is_no_sign_of_a_network_down() {
    use tokio::io::AsyncWriteExt;
    let addr = raw_server(|request, mut conn| async move {
        if request.contains("/redirect-to-silent") {
            // late, so that the fetcher's deadline (started before this hop) comes before
            // the client's own for the next hop
            tokio::time::sleep(Duration::from_millis(600)).await;
            let _ = conn
                .write_all(b"HTTP/1.1 302 Found\r\nLocation: /silent\r\nContent-Length: 0\r\n\r\n")
                .await;
            // kept open: the next hop may come on this connection
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        if request.contains("/silent") {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n<rss";
        let _ = conn.write_all(head.as_bytes()).await;
        // a byte every 50 ms: never stalled, never done within the timeout
        for _ in 0..1000 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if conn.write_all(b" ").await.is_err() {
                return;
            }
        }
    })
    .await;
    let f = Fetcher::with_fixed_dns(
        &FetchConfig {
            timeout: Duration::from_secs(1),
            ..config()
        },
        HashMap::new(),
    )
    .unwrap();
    let url = |p: &str| Url::parse(&format!("http://{addr}{p}")).unwrap();
    let e = f
        .fetch(&url("/slow"), &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "timeout", "{e}");
    assert!(!e.is_network(), "{e}");
    assert_eq!(
        e.to_string(),
        "timed out: the server answered, but no complete response within 1s"
    );
    let e = f
        .fetch(&url("/silent"), &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "timeout", "{e}");
    assert!(e.is_network(), "{e}");
    // A redirect answered, then a hop that never answers: that hop's silence.
    let e = f
        .fetch(&url("/redirect-to-silent"), &Validators::default())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "timeout", "{e}");
    assert!(e.is_network(), "{e}");
}

/// A timeout says so in wirefold's words, with `fetch.timeout`, however often it comes: the
/// client had a timer of its own of the same length, and when that one fired first the
/// error was its bare "operation timed out" (fetch audit, session 66).
#[tokio::test]
async fn a_timeout_always_names_the_configured_duration() {
    use tokio::io::AsyncWriteExt;
    let addr = raw_server(|request, mut conn| async move {
        if request.contains("/hang") {
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<rss")
                .await;
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let f = Fetcher::with_fixed_dns(
        &FetchConfig {
            timeout: Duration::from_millis(200),
            ..config()
        },
        HashMap::new(),
    )
    .unwrap();
    for (path, said) in [
        ("/silent", "timed out: no complete response within 200ms"),
        (
            "/hang",
            "timed out: the server answered, but no complete response within 200ms",
        ),
    ] {
        let url = Url::parse(&format!("http://{addr}{path}")).unwrap();
        for _ in 0..8 {
            let e = f.fetch(&url, &Validators::default()).await.unwrap_err();
            assert_eq!(e.to_string(), said, "{path}");
        }
    }
}

/// A `Location` sent as raw UTF-8 is followed, percent-encoded, as browsers and curl do.
#[tokio::test]
async fn a_location_in_raw_utf8_is_followed() {
    let app = Router::new()
        .route(
            "/moved",
            get(|| async {
                let to = header::HeaderValue::from_bytes("/ok/é ü".as_bytes()).unwrap();
                (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
            }),
        )
        .route(
            "/ok/{name}",
            get(|| async { "<rss version=\"2.0\"><channel/></rss>" }),
        );
    let addr = serve_app(app).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = Url::parse(&format!("http://{addr}/moved")).unwrap();
    let got = f.fetch(&url, &Validators::default()).await.unwrap();
    assert_eq!(got.final_url.path(), "/ok/%C3%A9%20%C3%BC");
}

/// A body labelled `Content-Encoding: gzip` that is not gzip: text is read as it came, as
/// under `x-gzip` and `deflate` (under `gzip` alone it failed, when reqwest decoded it);
/// anything else is an error that names the label.
#[tokio::test]
async fn a_body_labelled_gzip_that_is_not_gzip_is_read_as_text_or_named() {
    const FEED: &str = "<rss version=\"2.0\"><channel/></rss>";
    let app = Router::new()
        .route(
            "/feed",
            get(|| async { ([(header::CONTENT_ENCODING, "gzip")], FEED).into_response() }),
        )
        .route(
            "/binary",
            get(|| async {
                (
                    [(header::CONTENT_ENCODING, "gzip")],
                    vec![0u8, 1, 2, 3, 0xFF],
                )
                    .into_response()
            }),
        );
    let addr = serve_app(app).await;
    let f = Fetcher::with_fixed_dns(&config(), HashMap::new()).unwrap();
    let url = Url::parse(&format!("http://{addr}/feed")).unwrap();
    let got = f.fetch(&url, &Validators::default()).await.unwrap();
    let Content::Body { bytes, .. } = got.content else {
        panic!("no body");
    };
    assert_eq!(bytes, FEED.as_bytes());
    let url = Url::parse(&format!("http://{addr}/binary")).unwrap();
    let e = f.fetch(&url, &Validators::default()).await.unwrap_err();
    assert_eq!(e.class(), "body", "{e}");
    assert!(
        e.to_string()
            .contains("labelled Content-Encoding: gzip but is not gzip data"),
        "{e}"
    );
}
