//! Every endpoint of the status server against the real binary.

use std::time::Duration;

use crate::fixtures::{agency_feed, html, paragraphs, HARBOUR, ORCHARD};
use crate::helpers::{metric, num, numbered_rss, rss, Daemon, FeedServer, TestEnv};

const TOKEN: &str = "test-token-0123456789";

/// GET with optional headers; returns status, content type and body.
fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let (status, h, body) = send(reqwest::Method::GET, url, headers, true);
    (status, header(&h, "content-type"), body)
}

/// GET without following redirects; returns status, `Location` and body.
fn get_unfollowed(url: &str) -> (u16, String, String) {
    let (status, h, body) = send(reqwest::Method::GET, url, &[], false);
    (status, header(&h, "location"), body)
}

fn header(h: &reqwest::header::HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn send(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    follow: bool,
) -> (u16, reqwest::header::HeaderMap, String) {
    send_body(method, url, headers, follow, Vec::new())
}

/// [`send`] with a request body.
fn send_body(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    follow: bool,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy();
        if !follow {
            client = client.redirect(reqwest::redirect::Policy::none());
        }
        let mut req = client.build().unwrap().request(method, url);
        if !body.is_empty() {
            req = req.body(body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let h = resp.headers().clone();
        (status, h, resp.text().await.unwrap_or_default())
    })
}

/// POST with a body of `len` bytes; returns status, content type and body.
fn post_body(url: &str, headers: &[(&str, &str)], len: usize) -> (u16, String, String) {
    let (code, h, body) = send_body(reqwest::Method::POST, url, headers, true, vec![b'x'; len]);
    (code, header(&h, "content-type"), body)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Reads an SSE stream until `done` holds for the text received, or the timeout.
fn sse_until(url: &str, headers: &[(&str, &str)], done: impl Fn(&str) -> bool) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let mut req = client.get(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let mut text = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(&text) {
            match tokio::time::timeout_at(deadline, resp.chunk()).await {
                Ok(Ok(Some(c))) => text.push_str(&String::from_utf8_lossy(&c)),
                other => panic!("stream ended or timed out ({other:?}); got:\n{text}"),
            }
        }
        text
    })
}

fn serve(server: &FeedServer) {
    server.set("agency.xml", agency_feed("Agency"));
    server.set(
        "outlet.xml",
        rss(
            "Outlet <script>alert('feed')</script>",
            &[(
                "o1",
                "Channel plan <script>alert(1)</script> approved",
                "http://outlet.test/1",
                &html(&paragraphs(HARBOUR)),
            )],
        ),
    );
}

fn both_polled(s: &serde_json::Value) -> bool {
    s["sources"]
        .as_array()
        .is_some_and(|a| a.iter().all(|x| x["last_success"].is_string()))
}

#[test]
fn api_change_feed_feeds_metrics_and_events() {
    let server = FeedServer::start();
    serve(&server);
    let env = TestEnv::new(
        &[
            ("agency", server.url("agency.xml")),
            ("outlet", server.url("outlet.xml")),
        ],
        "1s",
    );
    let d = Daemon::start(&env);
    let s = d.wait_for("both sources polled", both_polled);
    assert_eq!(num(&s, "/counts/stories"), 2, "{s:#}");

    // Liveness and readiness.
    let (code, _, body) = get(&d.url("/healthz"), &[]);
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, _, body) = get(&d.url("/readyz"), &[]);
    assert_eq!(code, 200, "{body}");

    // Metrics in Prometheus text format.
    let (code, ct, m) = get(&d.url("/metrics"), &[]);
    assert_eq!(code, 200);
    assert!(ct.starts_with("text/plain"), "{ct}");
    for needle in [
        "wirefold_polls_total{outcome=\"ok\"",
        "wirefold_fetch_duration_seconds_bucket",
        "wirefold_articles_total{decision=\"copy\"}",
        "wirefold_stories 2",
        "wirefold_index_articles 3",
        "wirefold_store_writable 1",
        "wirefold_store_bytes",
        "wirefold_scheduler_lag_seconds",
        "wirefold_source_last_success_timestamp_seconds{source=\"agency\"}",
    ] {
        assert!(m.contains(needle), "missing {needle} in\n{m}");
    }
    // Every poll's wait for its fetch slots is recorded beside the scheduler's lag.
    // (A poll started just before the scrape may not have its slots yet.)
    let started = crate::helpers::metric(&m, "wirefold_scheduler_lag_seconds_count");
    let slotted = crate::helpers::metric(&m, "wirefold_poll_queue_seconds_count");
    assert!(slotted.is_some_and(|n| n >= 2) && slotted <= started, "{m}");

    // Stories, newest first, with copies; one story in full with each copy's headline.
    let (code, _, body) = get(&d.url("/stories"), &[]);
    assert_eq!(code, 200);
    let v = json(&body);
    let stories = v["stories"].as_array().unwrap();
    assert_eq!(stories.len(), 2);
    let harbour = stories
        .iter()
        .find(|s| s["copy_count"] == 2)
        .expect("folded story");
    let id = harbour["id"].as_u64().unwrap();
    assert_eq!(harbour["copies"].as_array().map(Vec::len), Some(2), "{v:#}");
    // Without the copies' list (a change-feed reader's choice), the count stays.
    let (code, _, body) = get(&d.url("/stories?copies=false"), &[]);
    assert_eq!(code, 200, "{body}");
    let bare = json(&body);
    let bare = bare["stories"].as_array().unwrap();
    assert_eq!(bare.len(), 2);
    assert!(
        bare.iter()
            .all(|s| s.get("copies").is_none() && s["copy_count"].as_u64() >= Some(1)),
        "{body}"
    );
    let (code, _, body) = get(&d.url(&format!("/stories/{id}")), &[]);
    assert_eq!(code, 200);
    let full = json(&body);
    let titles: Vec<&str> = full["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    // Markup in a title is text, never markup: the script element does not survive.
    assert!(titles.contains(&"Channel plan approved"), "{titles:?}");
    assert_eq!(full["source_count"], 2);
    let art = full["copies"][0]["article"].as_u64().unwrap();
    let (code, _, body) = get(&d.url(&format!("/articles/{art}")), &[]);
    assert_eq!(code, 200);
    assert!(json(&body)["text"].as_str().unwrap().contains("Valmora"));
    // The date is the feed's, and says so (a stand-in would say `first_seen`).
    assert_eq!(json(&body)["published"], "2023-04-17T10:05:00Z", "{body}");
    assert_eq!(json(&body)["date_source"], "published", "{body}");

    // The change feed: page through from the start one at a time, then resume.
    let mut cursor = "0".to_owned();
    let mut seen = Vec::new();
    loop {
        let (code, _, body) = get(&d.url(&format!("/articles?after={cursor}&limit=1")), &[]);
        assert_eq!(code, 200, "{body}");
        let v = json(&body);
        let page = v["articles"].as_array().unwrap();
        if page.is_empty() {
            assert_eq!(v["next"], cursor.as_str(), "an empty page keeps the cursor");
            break;
        }
        seen.push(page[0]["id"].as_u64().unwrap());
        cursor = v["next"].as_str().unwrap().to_owned();
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    let (_, _, body) = get(&d.url("/stories?after=0&limit=10"), &[]);
    assert_eq!(json(&body)["stories"].as_array().unwrap().len(), 2);

    // Bad parameters name the parameter; unknown paths are JSON 404s.
    for (path, param) in [
        ("/articles?limit=abc", "limit"),
        ("/articles?limit=0", "limit"),
        ("/stories?after=-1", "after"),
        ("/stories?colour=red", "colour"),
        ("/stories?copies=some", "copies"),
        ("/stories/xyz", "id"),
        ("/articles?text=maybe", "text"),
        // with their texts, pages are smaller
        ("/articles?text=true&limit=101", "limit"),
        // a parameter given twice is refused, not answered with one of its values
        ("/stories?limit=1&limit=2", "limit"),
        ("/articles?after=1&after=2", "after"),
        ("/status?sources=all&sources=none", "sources"),
        ("/feeds/stories.json?limit=5&limit=6", "limit"),
        ("/stories?after=99999999999999999999", "after"),
        // one source's entry, with a filter on the list beside it
        ("/status?source=outlet&sources=failing", "sources"),
        // and a page of it
        ("/status?source=outlet&offset=1", "offset"),
        ("/status?limit=5&source=outlet", "limit"),
        // a single story or article takes no parameter
        ("/stories/1?foo=bar", "foo"),
        ("/articles/1?text=false", "text"),
        // cursors past the change log's end: no page gave them
        ("/stories?after=99999999999999", "after"),
        ("/articles?after=18446744073709551615", "after"),
        ("/events?after=99999999999", "after"),
        // a path segment that is not UTF-8 once decoded: JSON like the rest
        ("/stories/%FF", "id"),
        ("/articles/%C3%28", "id"),
    ] {
        let (code, _, body) = get(&d.url(path), &[]);
        assert_eq!(code, 400, "{path}: {body}");
        assert_eq!(json(&body)["parameter"], param, "{path}: {body}");
    }
    let (code, _, body) = get(&d.url("/articles?text=true&limit=100"), &[]);
    assert_eq!(code, 200, "{body}");
    let (_, _, body) = get(&d.url("/articles?limit=101&text=true"), &[]);
    assert!(body.contains("1 to 100 with text=true"), "{body}");
    assert_eq!(get(&d.url("/articles?limit=1000"), &[]).0, 200);
    // /status filters: failing sources only, counts only, and a page of the list.
    let v = json(&get(&d.url("/status?sources=failing"), &[]).2);
    assert_eq!(v["sources_shown"], "failing");
    assert_eq!(v["sources"].as_array().unwrap().len(), 0);
    assert_eq!(v["health"]["ok"], 2, "{v:#}");
    let v = json(&get(&d.url("/status?sources=all&offset=1&limit=1"), &[]).2);
    assert_eq!(v["sources"][0]["name"], "outlet");
    assert_eq!(v["sources_omitted"], 1);
    let (code, _, body) = get(&d.url("/status?sources=some"), &[]);
    assert_eq!(
        (code, json(&body)["parameter"].as_str()),
        (400, Some("sources"))
    );
    // One source by name, whatever its state and however many are configured.
    let v = json(&get(&d.url("/status?source=outlet"), &[]).2);
    let listed = v["sources"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{v:#}");
    assert_eq!(listed[0]["name"], "outlet");
    assert_eq!(v["sources_shown"], "one", "{v:#}");
    let (code, _, body) = get(&d.url("/status?source=nobody"), &[]);
    assert_eq!(code, 400, "{body}");
    assert_eq!(json(&body)["parameter"], "source", "{body}");
    // The poll endpoint takes POST only, and refuses a browser's post from another site.
    let poll = d.url("/sources/outlet/poll");
    let (code, h, body) = send(reqwest::Method::GET, &poll, &[], true);
    assert_eq!(
        (code, header(&h, "allow").as_str()),
        (405, "POST"),
        "{body}"
    );
    let (code, _, body) = send(
        reqwest::Method::POST,
        &poll,
        &[("origin", "https://evil.example")],
        true,
    );
    assert_eq!(code, 403, "{body}");
    assert_eq!(json(&body)["error"], "cross_origin", "{body}");
    // A page whose own name was pointed at 127.0.0.1 (DNS rebinding) is same-origin to
    // itself; on a loopback daemon without a token only an address, localhost or
    // http.public_url's host may post. The backup would have rotated the backups away.
    let port = d.addr.port();
    let rebound = format!("rebind.attacker.example:{port}");
    let rebound_origin = format!("http://{rebound}");
    for path in ["/store/backup", "/sources/outlet/poll"] {
        let (code, _, body) = send(
            reqwest::Method::POST,
            &d.url(path),
            &[("host", &rebound), ("origin", &rebound_origin)],
            true,
        );
        assert_eq!(code, 403, "{path}: {body}");
        assert_eq!(json(&body)["error"], "host_not_allowed", "{body}");
        assert!(
            json(&body)["message"]
                .as_str()
                .unwrap()
                .contains("http.public_url"),
            "{body}"
        );
    }
    // Its GETs carry no Origin, and would read every article and the sources' addresses;
    // the probes stay open to it.
    for path in [
        "/stories",
        "/status",
        "/",
        "/feeds/stories.atom",
        "/metrics",
    ] {
        let (code, _, body) = send(
            reqwest::Method::GET,
            &d.url(path),
            &[("host", &rebound)],
            true,
        );
        assert_eq!(code, 403, "{path}: {body}");
        assert_eq!(json(&body)["error"], "host_not_allowed", "{path}: {body}");
    }
    for path in ["/healthz", "/readyz"] {
        let (code, _, body) = send(
            reqwest::Method::GET,
            &d.url(path),
            &[("host", &rebound)],
            true,
        );
        assert_eq!(code, 200, "{path}: {body}");
    }
    // An HTTP/1.1 request that names no host: 400 (RFC 9112 3.2), but for the probes;
    // HTTP/1.0 had no Host.
    let raw = |request: &str| {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(d.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        answer
    };
    let hostless = raw("GET /stories HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(hostless.starts_with("HTTP/1.1 400"), "{hostless}");
    assert!(hostless.contains("\"missing_host\""), "{hostless}");
    let probe = raw("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(probe.starts_with("HTTP/1.1 200"), "{probe}");
    let old = raw("GET /stories HTTP/1.0\r\n\r\n");
    assert!(
        old.starts_with("HTTP/1.1 200") || old.starts_with("HTTP/1.0 200"),
        "{old}"
    );
    let local = format!("localhost:{port}");
    let (code, _, body) = send(
        reqwest::Method::GET,
        &d.url("/stories"),
        &[("host", &local)],
        true,
    );
    assert_eq!(code, 200, "{body}");
    let (code, _, body) = send(
        reqwest::Method::POST,
        &d.url("/sources/outlet/poll"),
        &[("host", &local), ("origin", &format!("http://{local}"))],
        true,
    );
    assert!(code == 202 || code == 429, "{code}: {body}");
    let (code, _, body) = send(
        reqwest::Method::POST,
        &format!("{poll}?wait=soon"),
        &[],
        true,
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(json(&body)["parameter"], "wait", "{body}");
    let (code, _, body) = send(
        reqwest::Method::POST,
        &d.url("/sources/%FF/poll"),
        &[],
        true,
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(json(&body)["parameter"], "name", "{body}");
    let (code, ct, body) = get(&d.url("/no/such/thing"), &[]);
    assert_eq!(code, 404);
    assert!(ct.starts_with("application/json"));
    assert_eq!(json(&body)["error"], "not_found");
    let (code, _, _) = get(&d.url("/stories/999999999"), &[]);
    assert_eq!(code, 404);
    // Another method on a known path: 405 with Allow, and JSON like every other error.
    for path in ["/stories", "/status", "/healthz"] {
        let (code, h, body) = send(reqwest::Method::POST, &d.url(path), &[], true);
        assert_eq!(code, 405, "{path}: {body}");
        assert_eq!(header(&h, "allow"), "GET,HEAD", "{path}");
        assert_eq!(json(&body)["error"], "method_not_allowed", "{path}: {body}");
    }

    // The folded stream as feeds, checked by parsing them with feed-rs.
    let (code, ct, atom) = get(&d.url("/feeds/stories.atom"), &[]);
    assert_eq!(code, 200);
    assert!(ct.starts_with("application/atom+xml"), "{ct}");
    let feed = feed_rs::parser::parse(atom.as_bytes()).expect("valid Atom");
    assert_eq!(feed.entries.len(), 2);
    // Valid Atom names an author of a feed whose entries have none (RFC 4287 4.1.1).
    assert!(
        atom.contains("<author><name>wirefold</name></author>"),
        "{atom}"
    );
    // A feed reader's poll of an unchanged feed is a 304 without a body; every other
    // answer is kept by no cache.
    let atom_url = d.url("/feeds/stories.atom");
    let (_, h, _) = send(reqwest::Method::GET, &atom_url, &[], true);
    let tag = header(&h, "etag");
    assert!(tag.starts_with('"') && tag.len() > 2, "{h:?}");
    assert_eq!(header(&h, "cache-control"), "no-cache");
    for asked in [tag.clone(), format!("\"x\", W/{tag}"), "*".to_owned()] {
        let (code, h, body) = send(
            reqwest::Method::GET,
            &atom_url,
            &[("if-none-match", &asked)],
            true,
        );
        assert_eq!((code, body.as_str()), (304, ""), "{asked}");
        assert_eq!(header(&h, "etag"), tag);
    }
    let (code, _, body) = send(
        reqwest::Method::GET,
        &atom_url,
        &[("if-none-match", "\"other\"")],
        true,
    );
    assert_eq!(code, 200);
    assert_eq!(body, atom);
    for path in ["/status", "/stories", "/no/such/thing", "/"] {
        let (_, h, _) = send(reqwest::Method::GET, &d.url(path), &[], true);
        assert_eq!(header(&h, "cache-control"), "no-store", "{path}");
    }
    // Without http.public_url the feeds' own links use the Host the reader asked for (on
    // loopback without a token, one of the daemon's own names).
    assert_eq!(feed.id, d.url("/feeds/stories.atom"));
    let (_, _, moved) = get(
        &d.url("/feeds/stories.json"),
        &[("Host", "news.localhost:8443")],
    );
    assert_eq!(
        json(&moved)["feed_url"],
        "http://news.localhost:8443/feeds/stories.json"
    );
    assert!(feed
        .entries
        .iter()
        .all(|e| e.id.starts_with("urn:wirefold:story:")));
    let (code, _, jf) = get(&d.url("/feeds/stories.json"), &[]);
    assert_eq!(code, 200);
    assert!(
        !jf.contains(":null"),
        "JSON Feed leaves out what it lacks: {jf}"
    );
    let feed = feed_rs::parser::parse(jf.as_bytes()).expect("valid JSON Feed");
    assert_eq!(feed.entries.len(), 2);
    let titles: Vec<String> = feed
        .entries
        .iter()
        .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
        .collect();
    assert!(titles.iter().any(|t| t.contains("Valmora")), "{titles:?}");

    // Server-Sent Events: a live new story arrives...
    let events_url = d.url("/events");
    let waiter = std::thread::spawn(move || {
        sse_until(&events_url, &[], |t| {
            t.contains("Lighthouse keeper retires")
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    let harbour = html(&paragraphs(HARBOUR));
    let orchard = html(&paragraphs(ORCHARD));
    let lighthouse = "<p>The last lighthouse keeper of the Brenn coast retired on Friday after \
        forty-one years, handing the keys to an automated beacon system installed by the \
        maritime office.</p>";
    let items = [
        (
            "a1",
            "Valmora approves deeper channel",
            "http://agency.test/1",
            harbour.as_str(),
        ),
        (
            "a2",
            "Late frost halves Tarn apple harvest",
            "http://agency.test/2",
            orchard.as_str(),
        ),
        (
            "a3",
            "Lighthouse keeper retires",
            "http://agency.test/3",
            lighthouse,
        ),
    ];
    server.set("agency.xml", rss("Agency", &items));
    let live = waiter.join().expect("sse thread");
    assert!(live.contains("event: new_story"), "{live}");
    // ...and a client resuming from the start gets every change replayed, in order.
    let replay = sse_until(&d.url("/events"), &[("Last-Event-ID", "0")], |t| {
        t.matches("event: ").count() >= 4
    });
    assert!(replay.contains("event: new_copy"), "{replay}");
    // `?after=` and Last-Event-ID: the header wins, as a browser's EventSource opened at
    // `?after=N` reconnects with the id of the last event it got (here older, so that the
    // replay shows which one was taken).
    let newest = replay
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .next_back()
        .expect("an event id")
        .to_owned();
    let resumed = sse_until(
        &d.url(&format!("/events?after={newest}")),
        &[("Last-Event-ID", "0")],
        |t| t.matches("event: ").count() >= 4,
    );
    assert!(resumed.contains("event: new_copy"), "{resumed}");
    let same = sse_until(&d.url("/events?after=0"), &[("Last-Event-ID", "0")], |t| {
        t.matches("event: ").count() >= 4
    });
    assert!(same.contains("event: new_copy"), "{same}");
    // So are two Last-Event-ID headers that disagree (the first one won).
    let (code, _, body) = get(
        &d.url("/events"),
        &[("Last-Event-ID", "0"), ("Last-Event-ID", "1")],
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(json(&body)["parameter"], "Last-Event-ID", "{body}");
    // Told apart as numbers, as `after` is: "0" and "00" are one cursor.
    let twice = sse_until(
        &d.url("/events"),
        &[("Last-Event-ID", "0"), ("Last-Event-ID", "00")],
        |t| t.matches("event: ").count() >= 4,
    );
    assert!(twice.contains("event: new_copy"), "{twice}");
    // An empty Last-Event-ID (some client libraries send one) is no cursor.
    let empty = sse_until(&d.url("/events?after=0"), &[("Last-Event-ID", "")], |t| {
        t.matches("event: ").count() >= 4
    });
    assert!(empty.contains("event: new_copy"), "{empty}");

    // The page escapes feed-supplied strings (the outlet's feed title carries a script tag),
    // and tells the browser to run no script should an escape be missed.
    let (code, ct, page) = get(&d.url("/"), &[]);
    assert_eq!(code, 200);
    assert!(ct.starts_with("text/html"));
    let (_, h, _) = send(reqwest::Method::GET, &d.url("/"), &[], true);
    let policy = header(&h, "content-security-policy");
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(!policy.contains("script-src"), "{policy}");
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    assert!(
        !page.contains("<script>alert"),
        "unescaped feed string in page"
    );
    assert!(page.contains("&lt;script&gt;alert"), "{page}");

    // `wirefold stats` summarizes the live status.
    let out = crate::helpers::wirefold()
        .args(["stats", "--url", &d.url("")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 sources (0 failing)"), "{text}");
    assert!(text.contains("agency"), "{text}");
    // One source by name; an unknown name is the daemon's 400, exit 1.
    let one = |name: &str| {
        crate::helpers::wirefold()
            .args(["stats", "--url", &d.url(""), "--source", name])
            .output()
            .unwrap()
    };
    let out = one("outlet");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("outlet") && !text.contains("agency"),
        "{text}"
    );
    // The source not asked for is not said to be left out.
    assert!(!text.contains("not listed"), "{text}");
    let out = one("nobody");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("answered 400 Bad Request: no source named \"nobody\" is configured"),
        "{err}"
    );
    // With its stdout closed before it writes: an error and exit 1, not a panic (101).
    let mut stats = crate::helpers::wirefold()
        .args(["stats", "--url", &d.url("")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(stats.stdout.take());
    let out = stats.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("wirefold: error:") && !err.contains("panicked"),
        "{err}"
    );
    let (code, _) = d.terminate();
    assert_eq!(code, Some(0), "clean exit with an open event stream");
}

#[test]
fn bearer_token_guards_everything_but_health() {
    let server = FeedServer::start();
    serve(&server);
    let env = TestEnv::new(&[("agency", server.url("agency.xml"))], "5m");
    let d = Daemon::start_with(
        &env.config,
        &[
            ("WIREFOLD_HTTP__TOKEN", TOKEN),
            (
                "WIREFOLD_HTTP__PUBLIC_URL",
                "https://news.example.org/wirefold/",
            ),
        ],
    );
    assert_eq!(get(&d.url("/healthz"), &[]).0, 200);
    assert_eq!(get(&d.url("/readyz"), &[]).0, 200);
    for path in [
        "/status",
        "/metrics",
        "/",
        "/stories",
        "/events",
        "/feeds/stories.atom",
    ] {
        let (code, _, body) = get(&d.url(path), &[]);
        assert_eq!(code, 401, "{path}: {body}");
        let (code, _, _) = get(
            &d.url(path),
            &[("Authorization", "Bearer wrong-token-000000000")],
        );
        assert_eq!(code, 401, "{path} with a wrong token");
    }
    // Without the token nothing tells which paths exist or which methods they take...
    let auth = format!("Bearer {TOKEN}");
    let post = |path: &str, headers: &[(&str, &str)]| {
        send(reqwest::Method::POST, &d.url(path), headers, false).0
    };
    assert_eq!(post("/status", &[]), 401);
    let (_, h, _) = send(reqwest::Method::POST, &d.url("/status"), &[], false);
    assert!(h.get("allow").is_none(), "{h:?}");
    assert_eq!(get(&d.url("/no/such/path"), &[]).0, 401);
    // A body over the limit: 401 without the token (nothing learnt), a JSON 413 with it.
    let poll = d.url("/sources/agency/poll");
    assert_eq!(post_body(&poll, &[], 20_000).0, 401);
    let (code, ct, body) = post_body(&poll, &[("Authorization", &auth)], 20_000);
    assert_eq!(code, 413, "{body}");
    assert!(ct.starts_with("application/json"), "{ct}");
    assert_eq!(json(&body)["error"], "body_too_large", "{body}");
    // The same body in chunks, which carries no length to refuse it by: read, and refused.
    let chunked = {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(d.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            c,
            "POST /sources/agency/poll HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
            20_000
        )
        .unwrap();
        c.write_all(&[b'x'; 20_000]).unwrap();
        c.write_all(b"\r\n0\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = c.read_to_string(&mut answer);
        answer
    };
    assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
    assert!(chunked.contains("\"body_too_large\""), "{chunked}");
    // The scheme's case does not matter (RFC 9110 11.1).
    let lower = format!("bearer {TOKEN}");
    assert_eq!(get(&d.url("/status"), &[("Authorization", &lower)]).0, 200);
    // A feed reader (or a browser, which the 401 asks for Basic too) sends the token as
    // the password of Basic credentials, from a URL such as http://reader:TOKEN@host/….
    let (_, h, _) = send(reqwest::Method::GET, &d.url("/"), &[], false);
    let challenges: Vec<&str> = h
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        challenges,
        ["Bearer", "Basic realm=\"wirefold\", charset=\"UTF-8\""]
    );
    let basic = |credentials: &str| {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    };
    for (credentials, code) in [
        (format!("reader:{TOKEN}"), 200),
        (format!(":{TOKEN}"), 200),
        (format!("{TOKEN}:"), 401),
        ("reader:wrong-token-000000000".to_owned(), 401),
        (TOKEN.to_owned(), 401),
    ] {
        let header = basic(&credentials);
        for path in ["/feeds/stories.atom", "/"] {
            let got = get(&d.url(path), &[("Authorization", &header)]).0;
            assert_eq!(got, code, "{path} with Basic {credentials:?}");
        }
    }
    assert_eq!(
        get(&d.url("/status"), &[("Authorization", "Basic not-base64!")]).0,
        401
    );
    let in_url =
        d.url("/feeds/stories.json")
            .replacen("http://", &format!("http://reader:{TOKEN}@"), 1);
    assert_eq!(get(&in_url, &[]).0, 200, "{in_url}");
    // ...while the probes stay open to any method's answer, and the token holder is told.
    assert_eq!(post("/healthz", &[]), 405);
    assert_eq!(post("/status", &[("Authorization", &auth)]), 405);
    assert_eq!(
        get(&d.url("/no/such/path"), &[("Authorization", &auth)]).0,
        404
    );
    assert_eq!(get(&d.url("/status"), &[("Authorization", &auth)]).0, 200);
    // A configured public URL is the base of the feeds' links, whatever Host was asked.
    let (code, _, atom) = get(&d.url("/feeds/stories.atom"), &[("Authorization", &auth)]);
    assert_eq!(code, 200, "{atom}");
    assert!(
        atom.contains(
            r#"<link href="https://news.example.org/wirefold/feeds/stories.atom" rel="self"/>"#
        ),
        "{atom}"
    );
    let (_, _, jf) = get(&d.url("/feeds/stories.json"), &[("Authorization", &auth)]);
    assert_eq!(
        json(&jf)["home_page_url"],
        "https://news.example.org/wirefold/"
    );
    let out = crate::helpers::wirefold()
        .args(["stats", "--url", &d.url("")])
        .env("WIREFOLD_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without --url, `stats` and `health-check` find the daemon (and the token) in the
    // configuration, environment overrides included: the daemon's own port and token given
    // the way a container would move them.
    let tool = |args: &[&str]| {
        crate::helpers::wirefold()
            .args(args)
            .arg("--config")
            .arg(&env.config)
            .env_remove("WIREFOLD_CONFIG")
            .env_remove("WIREFOLD_TOKEN")
            .env("WIREFOLD_HTTP__LISTEN", d.addr.to_string())
            .env("WIREFOLD_HTTP__TOKEN", TOKEN)
            .output()
            .unwrap()
    };
    let out = tool(&["stats"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(" · 1 source (0 failing) · "));
    let out = tool(&["health-check"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // `--url` says where the daemon is; the token still comes from the configuration.
    let out = tool(&["stats", "--url", &d.url("/")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // The test configuration's own listen address has port 0: the running daemon's marker
    // names the port it bound; once it has stopped, there is no URL to derive.
    let health_check = || {
        crate::helpers::wirefold()
            .args(["health-check", "--config"])
            .arg(&env.config)
            .env_remove("WIREFOLD_CONFIG")
            .env_remove("WIREFOLD_HTTP__LISTEN")
            .output()
            .unwrap()
    };
    let out = health_check();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let (code, _) = d.terminate();
    assert_eq!(code, Some(0));
    let out = health_check();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("has port 0") && err.contains("is the daemon running?"),
        "{err}"
    );
}

#[test]
fn a_wire_agencys_copy_is_the_likely_origin_even_when_an_outlet_was_first() {
    let p = paragraphs(HARBOUR);
    let server = FeedServer::start();
    let copy = |title: &str, guid: &str, link: &str| {
        rss(title, &[(guid, "Channel plan", link, &html(&p))])
    };
    server.set("outlet.xml", copy("Outlet", "o1", "http://outlet.test/1"));
    server.set("wire.xml", rss("Wire", &[]));
    let env = TestEnv::new(&[("outlet", server.url("outlet.xml"))], "1s");
    env.append_config(&format!(
        "[[sources]]\nname = \"wire\"\nurl = \"{}\"\ninterval = \"1s\"\nagency = true\n",
        server.url("wire.xml")
    ));
    let d = Daemon::start(&env);
    d.wait_for("the outlet's copy", |s| num(s, "/counts/articles") == 1);
    server.set("wire.xml", copy("Wire", "w1", "http://wire.test/1"));
    let s = d.wait_for("the agency's copy folded", |s| {
        num(s, "/counts/articles") == 2
    });
    assert_eq!(num(&s, "/counts/stories"), 1, "{s:#}");
    let (_, _, body) = get(&d.url("/stories"), &[]);
    let story = &json(&body)["stories"][0];
    // The outlet's copy came first and stays canonical; the agency is the likely origin.
    assert_eq!(story["url"], "http://outlet.test/1", "{story:#}");
    assert_eq!(story["origin"], "wire", "{story:#}");
    let (code, _) = d.terminate();
    assert_eq!(code, Some(0));
}

#[test]
fn a_merged_story_id_redirects_to_the_story_it_joined() {
    // Two outlets carry different parts of one report (only the lead in common): two
    // stories. Then a third carries all of it: the two were one story, and are merged.
    let p = paragraphs(HARBOUR);
    let item = |guid: &str, parts: &[&str]| {
        rss(
            guid,
            &[(guid, "Channel plan", "http://outlet.test/x", &html(parts))],
        )
    };
    let server = FeedServer::start();
    server.set("one.xml", item("one", &[p[0], p[1], p[2]]));
    server.set("two.xml", item("two", &[p[0], p[3], p[4]]));
    server.set("three.xml", rss("three", &[]));
    let env = TestEnv::new(
        &[
            ("one", server.url("one.xml")),
            ("two", server.url("two.xml")),
            ("three", server.url("three.xml")),
        ],
        "1s",
    );
    let d = Daemon::start(&env);
    let s = d.wait_for("three sources polled", both_polled);
    assert_eq!(num(&s, "/counts/stories"), 2, "{s:#}");

    server.set("three.xml", item("three", &p));
    let s = d.wait_for("the full report folded", |s| {
        num(s, "/counts/articles") == 3
    });
    assert_eq!(num(&s, "/counts/stories"), 1, "{s:#}");
    let (_, _, body) = get(&d.url("/stories"), &[]);
    let v = json(&body);
    let survivor = v["stories"][0]["id"].as_u64().unwrap();
    let gone = v["stories"][0]["merged_from"][0].as_u64().unwrap();
    assert_ne!(survivor, gone);

    let (code, location, body) = get_unfollowed(&d.url(&format!("/stories/{gone}")));
    assert_eq!(code, 308, "{body}");
    // relative, so that it holds under a proxy's path prefix too
    assert_eq!(location, survivor.to_string());
    let v = json(&body);
    assert_eq!(
        (v["error"].as_str(), v["merged_into"].as_u64()),
        (Some("merged"), Some(survivor))
    );
    // a client that follows redirects lands on the survivor
    let (code, _, body) = get(&d.url(&format!("/stories/{gone}")), &[]);
    assert_eq!(code, 200);
    assert_eq!(json(&body)["id"].as_u64(), Some(survivor));

    // The change feed read a story at a time: the merged-away story takes no page of its
    // own, so no page is empty before the end of the log (a reader stops at an empty one).
    let (mut after, mut read) = (0u64, Vec::new());
    loop {
        let (code, _, body) = get(&d.url(&format!("/stories?after={after}&limit=1")), &[]);
        assert_eq!(code, 200, "{body}");
        let v = json(&body);
        let next: u64 = v["next"].as_str().unwrap().parse().unwrap();
        let stories = v["stories"].as_array().unwrap();
        if stories.is_empty() && v["deleted"].as_array().unwrap().is_empty() {
            assert_eq!(
                next, after,
                "an empty page before the end of the log: {body}"
            );
            break;
        }
        read.extend(stories.iter().map(|s| s["id"].as_u64().unwrap()));
        after = next;
    }
    assert!(
        read.contains(&survivor) && !read.contains(&gone),
        "{read:?}"
    );
}

/// `wirefold_boilerplate_rule_hits_total{rule}`: how many paragraphs each rule of the
/// daemon's table (built-in and `normalize.rules`) changed in the articles it fetched, so
/// an operator sees in production whether a rule fires.
#[test]
fn metrics_count_each_boilerplate_rules_hits() {
    let server = FeedServer::start();
    let paras = [
        "VALMORA, March 3 (Reuters) - Dock workers walked out on Tuesday after talks over \
         night-shift pay broke down, leaving eleven cranes idle.",
        "The union said its members would stay out until the operator restored the allowance \
         it cut in the spring.",
        "Tide tables for the week are on page 12 of the Harbour Bulletin print edition.",
    ];
    server.set(
        "port.xml",
        rss(
            "Port News",
            &[(
                "p-1",
                "Dock workers strike",
                "http://port.test/1",
                &html(&paras),
            )],
        ),
    );
    let env = TestEnv::new(&[("port", server.url("port.xml"))], "1h");
    env.append_config(
        r#"
[[normalize.rules]]
name = "harbour-bulletin"
position = "whole"
pattern = "Tide tables for the week are on page \\d+ of .* print edition\\."
drop_from_display = true
"#,
    );
    let d = Daemon::start(&env);
    d.wait_for("the article stored", |s| num(s, "/counts/articles") == 1);

    let (code, _, m) = get(&d.url("/metrics"), &[]);
    assert_eq!(code, 200);
    let hits = |rule: &str| -> Option<u64> {
        let prefix = format!("wirefold_boilerplate_rule_hits_total{{rule=\"{rule}\"}} ");
        m.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse().ok())
    };
    assert_eq!(hits("harbour-bulletin"), Some(1), "{m}");
    assert_eq!(hits("dateline-city-date"), Some(1), "{m}");
    assert_eq!(
        hits("byline-by"),
        Some(0),
        "rules that never fired are listed"
    );
    assert!(
        m.contains("# HELP wirefold_boilerplate_rule_hits_total"),
        "{m}"
    );
    let (code, _) = d.terminate();
    assert_eq!(code, Some(0));
}

/// A feed without validators sends its whole body on every poll. Entries the source's last
/// poll folded are parsed and counted but not normalized or folded again
/// (`wirefold_unchanged_bodies_total` grows, the rule hits do not); a changed body is
/// normalized and folded in full, its unchanged entry included.
#[test]
fn a_body_with_the_entries_already_folded_is_not_folded_again() {
    let server = FeedServer::start();
    let item = |n: u32, text: &str| {
        (
            format!("p-{n}"),
            format!("Harbour news {n}"),
            format!("http://port.test/{n}"),
            html(&[
                &format!("VALMORA, March {n} (Reuters) - {text}"),
                "The union said its members would stay out until the operator restored the \
                 allowance it cut in the spring.",
            ]),
        )
    };
    let as_refs = |items: &[(String, String, String, String)]| -> String {
        let refs: Vec<(&str, &str, &str, &str)> = items
            .iter()
            .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
            .collect();
        rss("Port News", &refs)
    };
    let first = item(
        3,
        "Dock workers walked out on Tuesday after talks over night-shift pay broke down.",
    );
    server.set("plain/port.xml", as_refs(std::slice::from_ref(&first)));
    let env = TestEnv::new(&[("port", server.url("plain/port.xml"))], "1s");
    let d = Daemon::start(&env);
    let polls = |s: &serde_json::Value| num(s, "/sources/0/polls");
    d.wait_for("the article stored and two more polls", |s| {
        num(s, "/counts/articles") == 1 && polls(s) >= 3
    });
    let scrape = || {
        let (code, _, m) = get(&d.url("/metrics"), &[]);
        assert_eq!(code, 200);
        m
    };
    let m = scrape();
    let unchanged = metric(&m, "wirefold_unchanged_bodies_total").unwrap_or(0);
    assert!(unchanged >= 2, "{m}");
    let dateline = "wirefold_boilerplate_rule_hits_total{rule=\"dateline-city-date\"}";
    assert_eq!(metric(&m, dateline), Some(1), "normalized once: {m}");
    let s = d.status();
    // the source's own count: every poll after the first (no 304: the feed has no validators)
    assert_eq!(num(&s, "/sources/0/not_modified"), 0, "{s:#}");
    assert_eq!(
        num(&s, "/sources/0/unchanged_bodies"),
        polls(&s) - 1,
        "{s:#}"
    );
    assert_eq!(num(&s, "/sources/0/items_new"), 1);
    assert!(
        num(&s, "/sources/0/items_seen") >= 3,
        "unchanged entries are still seen"
    );
    // The quiet polls answered, but the last new article stays the first poll's.
    let last_new = |s: &serde_json::Value| {
        s["sources"][0]["last_new_article"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let first_new = last_new(&s);
    let last_poll = s["sources"][0]["last_poll"].as_str().unwrap_or_default();
    assert!(
        !first_new.is_empty() && first_new.as_str() < last_poll,
        "{s:#}"
    );
    let gauge = m
        .lines()
        .find_map(|l| {
            l.strip_prefix("wirefold_source_last_new_article_timestamp_seconds{source=\"port\"} ")
        })
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert!(gauge.is_some_and(|t| t > 1.7e9), "{m}");

    // One entry more: both are normalized, the new one stored, the old one unchanged.
    let second = item(
        4,
        "Cranes stood idle for a second day as the strike spread to the grain terminal.",
    );
    server.set("plain/port.xml", as_refs(&[first, second]));
    d.wait_for("the second article stored", |s| {
        num(s, "/counts/articles") == 2
    });
    let m = scrape();
    assert_eq!(metric(&m, dateline), Some(3), "{m}");
    let before = metric(&m, "wirefold_unchanged_bodies_total").unwrap_or(0);
    d.wait_for("the new body skipped in turn", |_| {
        metric(&scrape(), "wirefold_unchanged_bodies_total").unwrap_or(0) > before
    });
    let m = scrape();
    assert_eq!(metric(&m, dateline), Some(3), "{m}");
    let s = d.status();
    assert_eq!(num(&s, "/sources/0/items_new"), 2);
    assert_eq!(num(&s, "/sources/0/items_updated"), 0);
    assert!(last_new(&s) > first_new, "{s:#}");
    // two polls folded in full (the first body, the changed one); every other one skipped
    assert_eq!(
        num(&s, "/sources/0/unchanged_bodies"),
        polls(&s) - 2,
        "{s:#}"
    );
    let (code, _) = d.terminate();
    assert_eq!(code, Some(0));
}

/// A client that opens a connection and sends nothing, or sends its request's head a byte
/// at a time, is cut once `http.request_timeout` has passed without a whole head: such
/// clients held their connections for good, and ~20,000 of them took every descriptor, the
/// polls' sockets included. The server goes on answering the others.
#[test]
fn a_connection_that_never_completes_its_request_is_closed() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let env = TestEnv::new(&[], "1h");
    let daemon = Daemon::start_with(&env.config, &[("WIREFOLD_HTTP__REQUEST_TIMEOUT", "1s")]);
    let idle = TcpStream::connect(daemon.addr).unwrap();
    let mut slow = TcpStream::connect(daemon.addr).unwrap();
    slow.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    for s in [&idle, &slow] {
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
    }
    // Closed: a read gives end of file (or the connection reset), not a timeout.
    let closed = |mut s: &TcpStream| {
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    };
    let start = std::time::Instant::now();
    let (mut idle_closed, mut slow_closed) = (false, false);
    while !(idle_closed && slow_closed) && start.elapsed() < Duration::from_secs(20) {
        // One more byte of a header line every 200 ms: never a whole head.
        if !slow_closed && slow.write_all(b"X").is_err() {
            slow_closed = true;
        }
        idle_closed = idle_closed || closed(&idle);
        slow_closed = slow_closed || closed(&slow);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(idle_closed, "an idle connection stayed open for 20 s");
    assert!(slow_closed, "a trickled request head stayed open for 20 s");
    let (code, _, _) = get(&daemon.url("/healthz"), &[]);
    assert_eq!(code, 200);
}

/// A replay from the start that is longer than the pages it is read in (256 changes) arrives
/// whole, in order, each change once.
#[test]
fn a_replay_of_many_pages_arrives_whole_and_in_order() {
    let server = FeedServer::start();
    let numbers: Vec<u32> = (1..=700).collect();
    server.set("many.xml", numbered_rss("Many", "m", &numbers));
    let env = TestEnv::new(&[("many", server.url("many.xml"))], "1h");
    let d = Daemon::start(&env);
    d.wait_for("700 articles stored", |s| num(s, "/counts/articles") >= 700);
    let ids = |t: &str| -> Vec<u64> {
        t.lines()
            .filter_map(|l| l.strip_prefix("id:"))
            .map(|v| v.trim().parse().unwrap())
            .collect()
    };
    let text = sse_until(&d.url("/events?after=0"), &[], |t| ids(t).len() >= 700);
    let got = ids(&text);
    assert_eq!(got.len(), 700, "{got:?}");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
}

/// The counters are there at 0 before their first event: a series that appears only then
/// breaks `rate()` across a restart and `absent()` alerts.
#[test]
fn the_counters_start_at_zero() {
    let env = TestEnv::new(&[], "1h");
    let d = Daemon::start(&env);
    let (code, _, m) = get(&d.url("/metrics"), &[]);
    assert_eq!(code, 200);
    for line in [
        "wirefold_polls_total{outcome=\"ok\",class=\"\"} 0",
        "wirefold_polls_total{outcome=\"not_modified\",class=\"\"} 0",
        "wirefold_articles_total{decision=\"new\"} 0",
        "wirefold_articles_total{decision=\"copy\"} 0",
        "wirefold_articles_total{decision=\"updated\"} 0",
        "wirefold_fetch_bytes_total 0",
        "wirefold_unchanged_bodies_total 0",
        "wirefold_fetch_duration_seconds_count 0",
        "wirefold_scheduler_lag_seconds_count 0",
        "wirefold_poll_queue_seconds_count 0",
    ] {
        assert!(m.lines().any(|l| l == line), "missing {line} in\n{m}");
    }
    let (code, _) = d.terminate();
    assert_eq!(code, Some(0));
}

/// A feed with no story yet is the same document from one second to the next, so a reader
/// polling it gets 304s (its date stood in as "now", and its ETag changed every second).
#[test]
fn an_empty_feed_keeps_its_etag() {
    let env = TestEnv::new(&[], "1h");
    let d = Daemon::start(&env);
    let url = d.url("/feeds/stories.atom");
    let (code, h, _) = send(reqwest::Method::GET, &url, &[], true);
    assert_eq!(code, 200);
    let tag = header(&h, "etag");
    std::thread::sleep(Duration::from_millis(1_100));
    let (code, _, _) = send(reqwest::Method::GET, &url, &[("if-none-match", &tag)], true);
    assert_eq!(code, 304);
    let (code, _) = d.terminate();
    assert_eq!(code, Some(0));
}
