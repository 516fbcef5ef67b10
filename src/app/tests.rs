//! The daemon in process, with its real HTTP server on loopback: what answers while a backup
//! has the store closed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::*;

/// A runtime of two workers, for the tests that serve feeds on loopback.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Serves `app` on an ephemeral loopback port, on `rt`.
fn serve(rt: &tokio::runtime::Runtime, app: axum::Router) -> std::net::SocketAddr {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    })
}

/// A configuration file of a store in a new temporary directory, the listener on a free
/// port, and `rest` (sources, sections); its directory, and the configuration as loaded.
fn config_with(rest: &str) -> (tempfile::TempDir, impl Fn() -> Config) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n{rest}",
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    (dir, move || {
        Config::load_with_env(&path, Some(HashMap::new())).unwrap()
    })
}

/// `/status` waits for a closed store within the request timeout less a second, then says
/// why with `503 store_closed` (not the timeout's bare 408); `/metrics` (with the sources'
/// series as last read) and `/healthz` answer meanwhile; once the backup is done `/status`
/// answers again.
#[test]
fn while_a_backup_has_the_store_closed_status_says_so_and_metrics_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    let toml = format!(
        "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\nrequest_timeout = \"3s\"\n\
         [schedule]\nstartup_spread = \"100ms\"\n\
         [[sources]]\nname = \"gone\"\nurl = \"{}\"\n",
        dir.path().join("store").display(),
        dir.path().join("missing.xml").display()
    );
    std::fs::write(&path, toml).unwrap();
    let daemon = InProcess::start(&path);
    let store = daemon.store.clone();
    let get = |path: &str| daemon.get(path);
    // Not asked for /status before: its one-second cache would answer.
    assert_eq!(get("/healthz").0, 200);
    assert!(store.size_on_disk() > 0);
    // The source's first poll (its file is missing) is in its series.
    let series = "wirefold_source_failures{source=\"gone\"} 1";
    let polled = Instant::now() + Duration::from_secs(30);
    while !get("/metrics").1.contains(series) {
        assert!(Instant::now() < polled, "{}", get("/metrics").1);
        std::thread::sleep(Duration::from_millis(50));
    }

    // A store call holds the handle: the backup announces its close and waits for it.
    let held = store.hold_handle();
    let (s, root) = (store.clone(), dir.path().join("backups"));
    let backup = std::thread::spawn(move || s.backup(&root, 1, Duration::from_secs(20)));
    while !store.is_closed() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let asked = Instant::now();
    let (code, body) = get("/status");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("\"store_closed\""), "{body}");
    // Within the request timeout (3 s), after the second it leaves for the request.
    assert!(
        asked.elapsed() < Duration::from_millis(2900),
        "{:?}",
        asked.elapsed()
    );
    let (code, metrics) = get("/metrics");
    assert_eq!(code, 200);
    // The store's size as last measured, not a wait for the closed store.
    let bytes = metrics
        .lines()
        .find_map(|l| l.strip_prefix("wirefold_store_bytes "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(bytes.is_some_and(|b| b > 0.0), "{metrics}");
    assert_eq!(get("/healthz"), (200, "ok\n".into()));
    // Past the gauges' idle time, the source's series are still there: set again from what
    // the last scrape read, not gone until the store opens.
    std::thread::sleep(Duration::from_millis(5500));
    let (code, metrics) = get("/metrics");
    assert_eq!(code, 200);
    assert!(metrics.contains(series), "{metrics}");
    // And so are the health counts an alert on sources down reads.
    assert!(
        metrics.contains("wirefold_sources_health{health=\"failing\"} 1"),
        "{metrics}"
    );

    drop(held);
    backup.join().unwrap().unwrap();
    assert_eq!(get("/status").0, 200);
    daemon.stop();
}

/// A configuration file in a new temporary directory: its store there, the listener on a
/// free port, and one source `gone` reading a file that is not there.
fn one_missing_file_source() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    let toml = format!(
        "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
         [[sources]]\nname = \"gone\"\nurl = \"{}\"\n",
        dir.path().join("store").display(),
        dir.path().join("missing.xml").display()
    );
    std::fs::write(&path, toml).unwrap();
    (dir, path)
}

/// The daemon run in this process on `config`'s configuration, with its HTTP server on
/// loopback.
struct InProcess {
    rt: tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    store: crate::storage::Store,
    shutdown: CancellationToken,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcess {
    fn start(config: &std::path::Path) -> InProcess {
        Self::start_with(config, |_| {})
    }

    /// Like [`InProcess::start`], with `before` done to the built app before it runs.
    fn start_with(config: &std::path::Path, before: impl FnOnce(&App)) -> InProcess {
        let config = Config::load_with_env(config, Some(HashMap::new())).unwrap();
        let app = App::build(config).unwrap();
        before(&app);
        let store = app.ctx.store.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let shutdown = CancellationToken::new();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (_hangups_tx, hangups) = tokio::sync::mpsc::unbounded_channel();
        let listener = rt.block_on(super::bind(&app.config.http)).unwrap();
        let running = rt.spawn(app.run(
            listener,
            shutdown.clone(),
            move |addr| {
                let _ = addr_tx.send(addr);
            },
            hangups,
        ));
        let addr = addr_rx.recv_timeout(Duration::from_secs(30)).unwrap();
        InProcess {
            rt,
            addr,
            store,
            shutdown,
            running,
        }
    }

    /// GET `path`: the status code and the body.
    fn get(&self, path: &str) -> (u16, String) {
        let url = format!("http://{}{path}", self.addr);
        self.rt.block_on(async {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    }

    /// POST `path` with no body: the status code and the body.
    fn post(&self, path: &str) -> (u16, String) {
        let url = format!("http://{}{path}", self.addr);
        self.rt.block_on(async {
            let r = reqwest::Client::new().post(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    }

    fn stop(self) {
        self.shutdown.cancel();
        self.rt.block_on(self.running).unwrap().unwrap();
    }
}

/// `/status`, the page and `/metrics` read the sources' states on a blocking thread only
/// with the one turn they share ([`crate::http::api::STATUS_TURNS`]): held by another
/// request, each waits for it, without a thread of its own; a default `/status` built less
/// than a second ago is answered without it. Each took a thread of its own, and a flood of
/// them took the blocking threads the polls' ingest and the store's flushes run on. A
/// poll-now reads with that turn too, not with the API's.
#[test]
fn status_the_page_metrics_and_poll_now_take_the_turn_they_share() {
    let (_dir, path) = one_missing_file_source();
    let daemon = std::sync::Arc::new(InProcess::start(&path));
    assert_eq!(daemon.get("/status").0, 200);
    for path in ["/status?sources=failing", "/", "/metrics"] {
        let held = daemon
            .rt
            .block_on(crate::http::api::STATUS_TURNS.acquire())
            .unwrap();
        // The default /status, just built: from its cache.
        assert_eq!(daemon.get("/status").0, 200);
        let d = daemon.clone();
        let asked = std::thread::spawn(move || d.get(path));
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !asked.is_finished(),
            "{path} answered while the turn was held"
        );
        drop(held);
        assert_eq!(asked.join().unwrap().0, 200, "{path}");
    }
    // An operator's poll-now reads with that turn, not the API's: a flood of API reads
    // holding both of theirs does not keep it waiting.
    let api = daemon
        .rt
        .block_on(crate::http::api::READ_TURNS.acquire_many(2))
        .unwrap();
    let asked = std::time::Instant::now();
    let (code, body) = daemon.post("/sources/gone/poll");
    assert!(
        [202, 429].contains(&code) && asked.elapsed() < Duration::from_secs(3),
        "{code} {body} after {:?}",
        asked.elapsed()
    );
    drop(api);
    match std::sync::Arc::try_unwrap(daemon) {
        Ok(d) => d.stop(),
        Err(_) => panic!("a request still holds the daemon"),
    }
}

/// A poll-now waiting for its poll's end answers at once when the daemon stops (the stop
/// cancels the poll, which then records nothing): it held the stop for the whole
/// `http.shutdown_grace`.
#[test]
fn a_waiting_poll_now_does_not_hold_the_stop() {
    let dir = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let path = dir.path().join("w.toml");
    let toml = format!(
        "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"20s\"\n\
         request_timeout = \"60s\"\n\
         [[sources]]\nname = \"slow\"\nurl = \"http://{}/feed.xml\"\n",
        dir.path().join("store").display(),
        silent.local_addr().unwrap()
    );
    std::fs::write(&path, toml).unwrap();
    let daemon = InProcess::start(&path);
    let url = format!("http://{}/sources/slow/poll?wait=true", daemon.addr);
    let asked = daemon.rt.spawn(async move {
        let r = reqwest::Client::new().post(url).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    std::thread::sleep(Duration::from_millis(500));
    let stopping = Instant::now();
    daemon.shutdown.cancel();
    let (code, body) = daemon.rt.block_on(asked).unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("not_running"), "{body}");
    daemon.rt.block_on(daemon.running).unwrap().unwrap();
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "stopped after {:?}",
        stopping.elapsed()
    );
    drop(silent);
}

/// A poll-now waiting for a poll that was under way already, out of time before it ends,
/// says so (`in_flight`), as the request without `wait` does: not that it started one.
#[test]
fn a_waiting_poll_now_out_of_time_says_the_poll_was_in_flight_already() {
    let dir = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let path = dir.path().join("w.toml");
    let toml = format!(
        "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"1s\"\n\
         request_timeout = \"2s\"\n[fetch]\ntimeout = \"60s\"\n\
         [[sources]]\nname = \"slow\"\nurl = \"http://{}/feed.xml\"\n",
        dir.path().join("store").display(),
        silent.local_addr().unwrap()
    );
    std::fs::write(&path, toml).unwrap();
    let daemon = InProcess::start(&path);
    let url = format!("http://{}/sources/slow/poll", daemon.addr);
    let post = |url: String| async move {
        let r = reqwest::Client::new().post(url).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    // The start's own poll of the source, or this one: under way either way, and silent.
    let (code, body) = daemon.rt.block_on(post(url.clone()));
    assert_eq!(code, 202, "{body}");
    let (code, body) = daemon.rt.block_on(post(format!("{url}?wait=true")));
    assert_eq!(code, 202, "{body}");
    assert!(body.contains("\"in_flight\""), "{body}");
    daemon.shutdown.cancel();
    daemon.rt.block_on(daemon.running).unwrap().unwrap();
    drop(silent);
}

/// Damage found while the stop is under way (a store recovery, or the read-through running
/// when the stop signal came) keeps the stop an error (exit 1), whatever the final flush
/// says: a stop on a store that merely refuses writes is none.
#[test]
fn a_store_found_damaged_as_the_stop_begins_fails_the_stop() {
    let (dir, _) = config_with("");
    let daemon = InProcess::start(&dir.path().join("w.toml"));
    daemon
        .store
        .mark_damaged(&crate::storage::StoreError::Corrupt {
            path: "store".into(),
            message: "sled found corrupted data".into(),
        });
    daemon.shutdown.cancel();
    let r = daemon.rt.block_on(daemon.running).unwrap();
    assert!(
        r.is_err(),
        "the stop of a damaged store returned Ok (exit 0)"
    );
}

/// A reload that marks or unmarks agencies (or removes one) changes stories' `origin` as
/// they are read, with nothing in the change feed: the reload says which marks changed.
#[test]
fn a_reload_names_the_agency_marks_it_changes() {
    let source = |name: &str, agency: bool| crate::config::SourceConfig {
        name: name.into(),
        url: url::Url::parse("http://news.test/feed.xml").expect("a URL"),
        interval: std::time::Duration::from_secs(900),
        enabled: true,
        agency,
        headers: Default::default(),
    };
    let agencies: std::collections::HashSet<String> = ["wire".to_owned(), "afp".to_owned()].into();
    let same = [
        source("afp", true),
        source("wire", true),
        source("outa", false),
    ];
    assert_eq!(super::agency_changes(&agencies, &same), None);
    let changed = [
        source("afp", false),
        source("outa", true),
        source("zeta", true),
    ];
    assert_eq!(
        super::agency_changes(&agencies, &changed),
        Some((vec!["outa", "zeta"], vec!["afp", "wire"]))
    );
}

/// A poll that a temporary redirect (302) takes to another host keeps that host with the
/// source's state, and the next start resumes it for the host limits before any poll, so
/// that the first round after a restart obeys that host's `fetch.per_host_concurrency`. A
/// poll answered by the polled host itself forgets it.
#[test]
fn the_host_a_redirect_took_a_source_to_is_known_after_a_restart() {
    use axum::response::IntoResponse;
    let rt = runtime();
    let serve = |app: axum::Router| serve(&rt, app);
    let feed = HARBOUR_FEED;
    let cdn = serve(
        axum::Router::new().route("/feed.xml", axum::routing::get(move || async move { feed })),
    );
    let redirecting = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = redirecting.clone();
    let origin = serve(axum::Router::new().route(
        "/feed.xml",
        axum::routing::get(move || {
            let flag = flag.clone();
            async move {
                if flag.load(std::sync::atomic::Ordering::SeqCst) {
                    axum::response::Redirect::temporary(&format!("http://{cdn}/feed.xml"))
                        .into_response()
                } else {
                    feed.into_response()
                }
            }
        }),
    ));
    let url = format!("http://{origin}/feed.xml");
    let (_dir, config) = config_with(&format!("[[sources]]\nname = \"s\"\nurl = \"{url}\"\n"));
    let cdn_host = format!("{cdn}");
    {
        let app = App::build(config()).unwrap();
        let outcomes = rt.block_on(app.once());
        assert_eq!(outcomes.len(), 1);
        let st = app.ctx.store.source_state("s").unwrap().unwrap();
        assert_eq!(st.redirect_host.as_deref(), Some(cdn_host.as_str()));
        assert_eq!(st.items_new, 1, "{st:?}");
    }
    // A new process on the same store: known before any poll.
    let app = App::build(config()).unwrap();
    assert_eq!(
        app.ctx.hosts.redirected("s", &url),
        None,
        "not before the start"
    );
    app.ctx.resume_stored_host_limits(
        chrono::Utc::now().timestamp_millis(),
        Duration::from_secs(60),
    );
    assert_eq!(app.ctx.hosts.redirected("s", &url), Some(cdn_host));
    // The origin answers itself again: forgotten, in memory and in the store.
    redirecting.store(false, std::sync::atomic::Ordering::SeqCst);
    rt.block_on(app.once());
    assert_eq!(app.ctx.hosts.redirected("s", &url), None);
    let st = app.ctx.store.source_state("s").unwrap().unwrap();
    assert_eq!(st.redirect_host, None);
}

/// `once` run again (from a timer) leaves alone the host a redirect took a source to when
/// that host asked for a pause, as the daemon does: it polled the source again, and the
/// redirect took it back to the host that had asked to be left alone.
#[test]
fn once_leaves_alone_the_paused_host_a_redirect_takes_a_source_to() {
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let rt = runtime();
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let cdn = serve(
        &rt,
        axum::Router::new().route(
            "/feed.xml",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async {
                    (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        [(axum::http::header::RETRY_AFTER, "600")],
                    )
                        .into_response()
                }
            }),
        ),
    );
    let origin = serve(
        &rt,
        axum::Router::new().route(
            "/feed.xml",
            axum::routing::get(move || async move {
                axum::response::Redirect::temporary(&format!("http://{cdn}/feed.xml"))
            }),
        ),
    );
    let (_dir, config) = config_with(&format!(
        "[[sources]]\nname = \"s\"\nurl = \"http://{origin}/feed.xml\"\n"
    ));
    let outcomes = rt.block_on(App::build(config()).unwrap().once());
    assert!(matches!(outcomes[0].1, OnceOutcome::Polled(_)));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let outcomes = rt.block_on(App::build(config()).unwrap().once());
    match &outcomes[0].1 {
        OnceOutcome::HostPaused { host, left } => {
            assert_eq!(*host, cdn.to_string());
            assert!(*left > Duration::from_secs(500), "{left:?}");
        }
        other => panic!("polled again: {other:?}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// A `Retry-After` past `schedule.max_retry_after` is quoted as the server sent it, and the
/// error says how long the host is really left alone; one within it says nothing more.
#[test]
fn a_retry_after_past_the_bound_says_what_is_held() {
    use axum::response::IntoResponse;
    let rt = runtime();
    let serve = |retry_after: &'static str| {
        let app = axum::Router::new().route(
            "/feed.xml",
            axum::routing::get(move || async move {
                (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    [(axum::http::header::RETRY_AFTER, retry_after)],
                )
                    .into_response()
            }),
        );
        serve(&rt, app)
    };
    let (far, near) = (serve("4294967295"), serve("600"));
    let (_dir, config) = config_with(&format!(
        "[schedule]\nmax_retry_after = \"2h\"\n\
         [[sources]]\nname = \"far\"\nurl = \"http://{far}/feed.xml\"\n\
         [[sources]]\nname = \"near\"\nurl = \"http://{near}/feed.xml\"\n"
    ));
    let app = App::build(config()).unwrap();
    rt.block_on(app.once());
    let error = |name: &str| {
        let st = app.ctx.store.source_state(name).unwrap().unwrap();
        st.last_error.map(|e| e.message).unwrap_or_default()
    };
    assert_eq!(
        error("far"),
        "HTTP status 503 Service Unavailable (Retry-After: 136years 1month 5days 19h 54m 39s); \
         the host is left alone for 2h (schedule.max_retry_after)"
    );
    assert_eq!(
        error("near"),
        "HTTP status 503 Service Unavailable (Retry-After: 10m)"
    );
}

/// A feed that answers 304 shows no entries: a source with tombstones is asked for its body
/// without validators once no poll of it was folded in full for six hours, so that the items
/// retention deleted that it still lists are seen, their tombstones live on, and its next
/// changed body stores only what is new. A source without tombstones keeps its validators.
#[test]
fn a_feed_answering_304_is_asked_for_its_body_to_keep_its_tombstones() {
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};
    let rt = runtime();
    let item = |n: u32, title: &str| {
        format!(
            "<item><guid>g{n}</guid><title>{title}</title><link>http://a.test/{n}</link>\
             <description>{title}: the council of Orrin met on day {n} and voted on the \
             harbour budget, the tram line and the school year.</description></item>"
        )
    };
    let rss = |items: &str| {
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>{items}</channel></rss>")
    };
    let old = format!(
        "{}{}",
        item(1, "Orrin council passes the harbour budget"),
        item(2, "Tram line to Eastgate approved")
    );
    // The body and its ETag: a request naming the ETag gets a 304. Unconditional requests
    // are counted.
    let feed = Arc::new(Mutex::new((rss(&old), "\"v1\"")));
    let unconditional = Arc::new(AtomicU32::new(0));
    let (served, counted) = (feed.clone(), unconditional.clone());
    let addr = serve(
        &rt,
        axum::Router::new().route(
            "/feed.xml",
            axum::routing::get(move |headers: axum::http::HeaderMap| {
                let (body, etag) = served.lock().unwrap().clone();
                let counted = counted.clone();
                async move {
                    match headers.get(axum::http::header::IF_NONE_MATCH) {
                        Some(v) if v.as_bytes() == etag.as_bytes() => {
                            return axum::http::StatusCode::NOT_MODIFIED.into_response()
                        }
                        Some(_) => {}
                        None => {
                            counted.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    ([(axum::http::header::ETAG, etag)], body).into_response()
                }
            }),
        ),
    );
    let (_dir, config) = config_with(&format!(
        "[[sources]]\nname = \"a\"\nurl = \"http://{addr}/feed.xml\"\n"
    ));
    let app = App::build(config()).unwrap();
    let store = &app.ctx.store;
    let state = || store.source_state("a").unwrap().unwrap();
    let hours = |h: i64| h * 60 * 60 * 1000;
    // Time passing: the source's last full poll, and the fold's memory of it, `by` older.
    let age = |by: i64| {
        app.ctx.folder.age_polls(by);
        let mut st = state();
        st.last_full_poll = st.last_full_poll.map(|at| at - by);
        store.put_source_state("a", &st).unwrap();
    };
    // A poll, then the source's 304s so far and the requests sent without validators.
    let poll = || {
        rt.block_on(app.once());
        (state().not_modified, unconditional.load(Ordering::SeqCst))
    };
    rt.block_on(app.once());
    assert_eq!(
        (state().items_new, unconditional.load(Ordering::SeqCst)),
        (2, 1)
    );
    // Six hours of 304s without tombstones: the validators are sent still.
    age(hours(7));
    assert_eq!(poll(), (1, 1));
    // Retention deleted both two days ago, the feed still listing them: the last full fold
    // was seven hours ago, so the next poll asks for the body, and both are seen.
    let now = chrono::Utc::now().timestamp_millis();
    let pruned = store.prune_before(now, now - hours(48), 10).unwrap();
    assert_eq!(pruned.articles.len(), 2);
    assert_eq!(poll(), (1, 2));
    // Within six hours of that: 304s again; past them, the body again.
    age(hours(5));
    assert_eq!(poll(), (2, 2));
    age(hours(2));
    assert_eq!(poll(), (2, 3));
    // The sweep forgets tombstones not seen for a day (the shortest life): these were.
    assert_eq!(store.expire_tombstones(now - hours(24), 10).unwrap(), 0);
    assert_eq!(store.tombstone_count(), 2);
    // The feed changes: only its new item is stored.
    *feed.lock().unwrap() = (
        rss(&format!("{}{old}", item(3, "Schools open a week later"))),
        "\"v2\"",
    );
    rt.block_on(app.once());
    let st = state();
    assert_eq!((st.items_new, st.unchanged_bodies), (3, 0), "{st:?}");
    // A new process (`wirefold once` from a timer) knows the last full poll from the state:
    // within six hours of it, a 304; past them, the body.
    drop(app);
    let app = App::build(config()).unwrap();
    let store = &app.ctx.store;
    let last_full_poll = |ago: i64| {
        let mut st = store.source_state("a").unwrap().unwrap();
        st.last_full_poll = Some(chrono::Utc::now().timestamp_millis() - ago);
        store.put_source_state("a", &st).unwrap();
    };
    let before = unconditional.load(Ordering::SeqCst);
    last_full_poll(hours(5));
    rt.block_on(app.once());
    assert_eq!(unconditional.load(Ordering::SeqCst), before);
    last_full_poll(hours(7));
    rt.block_on(app.once());
    assert_eq!(unconditional.load(Ordering::SeqCst), before + 1);
}

/// The requests a test server saw: each one's path and arrival time.
type Arrivals = std::sync::Arc<std::sync::Mutex<Vec<(String, Instant)>>>;

/// A feed server on `rt` that notes the path and arrival time of every request, answers
/// `/feed.xml` with a temporary redirect to `/real.xml` when `redirect`, and anything else
/// with a one-item feed.
fn noting_server(rt: &tokio::runtime::Runtime, redirect: bool) -> (std::net::SocketAddr, Arrivals) {
    use axum::response::IntoResponse;
    let arrivals = Arrivals::default();
    let noted = arrivals.clone();
    let feed = HARBOUR_FEED;
    let addr = serve(
        rt,
        axum::Router::new().fallback(move |uri: axum::http::Uri| {
            noted
                .lock()
                .unwrap()
                .push((uri.path().to_owned(), Instant::now()));
            async move {
                if redirect && uri.path() == "/feed.xml" {
                    axum::response::Redirect::temporary("/real.xml").into_response()
                } else {
                    feed.into_response()
                }
            }
        }),
    );
    (addr, arrivals)
}

/// Scheduler F5, as `once` polls: a feed URL that redirects (302) to another URL on its own
/// host is asked again `fetch.per_host_spacing` after the first request, not at once; and
/// the wait does not count against `fetch.timeout`, which is shorter here.
///
/// The spacing is counted between request starts; the first request arrives a little after
/// it starts (a new connection), so the gap the server sees is allowed 50 ms less.
#[test]
fn a_redirect_on_the_same_host_comes_a_spacing_after_the_first_request() {
    let rt = runtime();
    let (addr, arrivals) = noting_server(&rt, true);
    let (_dir, config) = config_with(&format!(
        "[fetch]\ntimeout = \"1s\"\nconnect_timeout = \"1s\"\nper_host_spacing = \"1500ms\"\n\
         [[sources]]\nname = \"s\"\nurl = \"http://{addr}/feed.xml\"\n"
    ));
    let outcomes = rt.block_on(App::build(config()).unwrap().once());
    match &outcomes[0].1 {
        OnceOutcome::Polled(report) => assert!(report.result.is_ok(), "{:?}", report.result),
        other => panic!("not polled: {other:?}"),
    }
    let seen = arrivals.lock().unwrap().clone();
    let paths: Vec<_> = seen.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/feed.xml", "/real.xml"]);
    let hop = seen[1].1 - seen[0].1;
    assert!(
        hop + Duration::from_millis(50) >= Duration::from_millis(1500),
        "the redirect came {hop:?} after the first request"
    );
}

/// The daemon, with one global slot (`fetch.concurrency = 1`): a poll whose redirect waits
/// for its host's spacing lets that slot go meanwhile, so another host's source due in the
/// wait is polled then, not after it.
#[test]
fn a_redirect_waiting_for_its_hosts_spacing_holds_no_global_slot() {
    let rt = runtime();
    let (spaced, spaced_arrivals) = noting_server(&rt, true);
    let (other, other_arrivals) = noting_server(&rt, false);
    // First polls are spread over 4 s, at 1 s and 3 s by their names' phases; the spaced
    // host's second request waits 5 s after its first.
    let (dir, _) = config_with(&format!(
        "[fetch]\nconcurrency = 1\nper_host_spacing = \"5s\"\n\
         [schedule]\nstartup_spread = \"4s\"\n\
         [[sources]]\nname = \"a\"\nurl = \"http://{spaced}/feed.xml\"\n\
         [[sources]]\nname = \"b\"\nurl = \"http://{other}/feed.xml\"\n"
    ));
    let daemon = InProcess::start(&dir.path().join("w.toml"));
    let give_up = Instant::now() + Duration::from_secs(30);
    while spaced_arrivals.lock().unwrap().len() < 2 && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(50));
    }
    daemon.stop();
    polled_during_the_wait(&spaced_arrivals, &other_arrivals, Duration::from_secs(5));
}

/// `once` counts `fetch.concurrency` as the daemon does: a poll whose redirect waits for its
/// host's spacing lets its slot go meanwhile (the review of F5: with one slot, the other
/// host's source waited the whole spacing behind it).
#[test]
fn once_lets_the_slot_go_while_a_redirect_waits_for_its_hosts_spacing() {
    let rt = runtime();
    let (spaced, spaced_arrivals) = noting_server(&rt, true);
    let (other, other_arrivals) = noting_server(&rt, false);
    let (_dir, config) = config_with(&format!(
        "[fetch]\nconcurrency = 1\nper_host_spacing = \"3s\"\n\
         [[sources]]\nname = \"a\"\nurl = \"http://{spaced}/feed.xml\"\n\
         [[sources]]\nname = \"b\"\nurl = \"http://{other}/feed.xml\"\n"
    ));
    let outcomes = rt.block_on(App::build(config()).unwrap().once());
    for (_, outcome) in &outcomes {
        match outcome {
            OnceOutcome::Polled(report) => assert!(report.result.is_ok(), "{:?}", report.result),
            other => panic!("not polled: {other:?}"),
        }
    }
    polled_during_the_wait(&spaced_arrivals, &other_arrivals, Duration::from_secs(3));
}

/// Asserts that the redirecting source's two requests came `spacing` apart (less 50 ms: the
/// first arrives a little after it starts) and that the other host's one request came
/// between them, not after.
fn polled_during_the_wait(spaced: &Arrivals, other: &Arrivals, spacing: Duration) {
    let spaced = spaced.lock().unwrap().clone();
    let other = other.lock().unwrap().clone();
    assert_eq!((spaced.len(), other.len()), (2, 1), "{spaced:?} {other:?}");
    // The test's own premise: the spaced source is polled first.
    assert!(
        spaced[0].1 < other[0].1,
        "the other source was polled first"
    );
    assert!(
        other[0].1 < spaced[1].1,
        "the other host's poll came {:?} after the redirect it waited for",
        other[0].1 - spaced[1].1
    );
    assert!(spaced[1].1 - spaced[0].1 + Duration::from_millis(50) >= spacing);
}

/// `/status` and the page answer while the store cannot read a source's state (sled fails
/// every read after a failed write, until the store reopens): each such source is shown as
/// `unknown`, saying why. Both answered 500 for the whole document while the disk was full
/// (observability audit, session 66).
#[test]
fn status_and_the_page_answer_while_the_store_cannot_read_a_sources_state() {
    let (_dir, path) = one_missing_file_source();
    let daemon = InProcess::start(&path);
    daemon.store.take_trees();
    let (code, body) = daemon.get("/status?source=gone");
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let entry = &status["sources"][0];
    assert_eq!(entry["state"], "unknown", "{body}");
    assert_eq!(entry["last_error"]["class"], "store", "{body}");
    assert!(
        entry["last_error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("its state cannot be read now: ")),
        "{body}"
    );
    assert_eq!(status["health"]["waiting"], 1, "{body}");
    let (code, page) = daemon.get("/");
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("its state cannot be read now"), "{page}");
    daemon.store.reopen().unwrap();
    assert_eq!(daemon.get("/status").0, 200);
    daemon.stop();
}

/// A disabled source has no per-source series: a source disabled by a reload kept its
/// `wirefold_source_failures` (and an alert on it firing) until a restart, where a removed
/// one's went (observability audit, session 66).
#[test]
fn a_disabled_source_has_no_series_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    {
        let s = crate::storage::Store::open(&store, Duration::from_millis(100)).unwrap();
        let failing = crate::storage::SourceState {
            failures: 7,
            polls: 9,
            ..Default::default()
        };
        for name in ["off-series-test", "on-series-test"] {
            s.put_source_state(name, &failing).unwrap();
        }
        s.flush().unwrap();
    }
    let path = dir.path().join("w.toml");
    let missing = dir.path().join("missing.xml");
    let toml = format!(
        "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
         [[sources]]\nname = \"off-series-test\"\nurl = \"{}\"\nenabled = false\n\
         [[sources]]\nname = \"on-series-test\"\nurl = \"{}\"\n",
        store.display(),
        missing.display(),
        missing.display()
    );
    std::fs::write(&path, toml).unwrap();
    let daemon = InProcess::start(&path);
    let (code, metrics) = daemon.get("/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("wirefold_source_failures{source=\"on-series-test\"}"),
        "{metrics}"
    );
    assert!(!metrics.contains("off-series-test"), "{metrics}");
    daemon.stop();
}

/// `STATUS=` counts as failing what `/status` and `wirefold stats` count so: a source gone
/// (410, not polled any more) was counted too (observability audit, session 66: "2 failing"
/// beside /status's failing 0, down 1, gone 1).
#[test]
fn the_service_status_line_counts_failing_sources_as_status_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let missing = dir.path().join("missing.xml");
    let url = url::Url::from_file_path(&missing).unwrap();
    {
        let s = crate::storage::Store::open(&store, Duration::from_millis(100)).unwrap();
        let state = |failures, gone: bool| crate::storage::SourceState {
            failures,
            polls: 5,
            configured_url: Some(url.to_string()),
            gone_since: gone.then_some(1_700_000_000_000),
            ..Default::default()
        };
        s.put_source_state("gone", &state(4, true)).unwrap();
        s.put_source_state("down", &state(4, false)).unwrap();
        s.put_source_state("fine", &state(0, false)).unwrap();
        s.flush().unwrap();
    }
    let path = dir.path().join("w.toml");
    let sources: String = ["gone", "down", "fine"]
        .iter()
        .map(|n| format!("[[sources]]\nname = \"{n}\"\nurl = \"{url}\"\n"))
        .collect();
    std::fs::write(
        &path,
        format!(
            "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n{sources}",
            store.display()
        ),
    )
    .unwrap();
    let app = App::build(Config::load_with_env(&path, Some(HashMap::new())).unwrap()).unwrap();
    let line = app.summary();
    assert!(line.starts_with("3 sources (1 failing); "), "{line}");
}

/// Audit defect: a poll that came due while the store refused writes (disk full) returned
/// before it was counted and put its source off a whole interval: `wirefold_polls_total` and
/// `errors_by_class` did not show it, and the source, `pending`, waited an hour after the
/// store reopened. It is counted with class `store`, and the source is held until the store
/// takes writes again, then polled within `startup_spread`.
#[test]
fn a_poll_due_while_the_store_refuses_writes_is_counted_and_comes_again_once_it_reopens() {
    let server = runtime();
    let (addr, arrivals) = noting_server(&server, false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.toml");
    let toml = format!(
        "[store]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
         [schedule]\nstartup_spread = \"100ms\"\n\
         [[sources]]\nname = \"s\"\nurl = \"http://{addr}/feed.xml\"\ninterval = \"1h\"\n",
        dir.path().join("store").display()
    );
    std::fs::write(&path, toml).unwrap();
    // The disk is full from the start: the daemon's recovery reopens the store a few seconds
    // on, when its probe finds the disk takes writes.
    let daemon = InProcess::start_with(&path, |app| {
        app.ctx
            .store
            .refuse_writes("no space left on device (test)".into())
    });
    let store = daemon.store.clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut counted = false;
    while arrivals.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "not polled again after the store reopened"
        );
        if store.fault().is_some() {
            let (_, status) = daemon.get("/status?sources=none");
            counted |= status.contains("{\"class\":\"store\",\"count\":1}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        counted,
        "the poll due while the store refused writes was not counted"
    );
    assert!(
        store.fault().is_none(),
        "fetched while the store refused writes"
    );
    let (_, metrics) = daemon.get("/metrics");
    assert!(
        metrics.contains("wirefold_polls_total{outcome=\"error\",class=\"store\"}"),
        "{metrics}"
    );
    // Polled and stored once the store took writes again: ok, its next poll an interval on.
    let stored = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, status) = daemon.get("/status?source=s");
        if status.contains("\"state\":\"ok\"") {
            break;
        }
        assert!(Instant::now() < stored, "{status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    daemon.stop();
}

/// A feed of one item, for the tests that serve one.
const HARBOUR_FEED: &str = "<rss version=\"2.0\"><channel><title>t</title><item><guid>a1</guid>\
    <title>Harbour reopens after storm</title><description>The harbour reopened on Monday \
    after the storm.</description></item></channel></rss>";

/// A dead redirect target is no sign that the network is down: three sources whose hosts
/// answer with a temporary redirect (302) to one target that then dies fail again and again,
/// each after its host answered, and the network stays up. Counted against those hosts, as
/// though they had not answered, their failures called the network down within seconds and
/// held every other source back for minutes.
#[test]
fn a_dead_redirect_target_does_not_call_the_network_down() {
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let rt = runtime();
    let feed = HARBOUR_FEED;
    let feed_app =
        || axum::Router::new().route("/feed.xml", axum::routing::get(move || async move { feed }));
    let target = serve(&rt, feed_app());
    // A port nothing listens on any more: the target, dead.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let target_dead = Arc::new(AtomicBool::new(false));
    let redirecting = || {
        let target_dead = target_dead.clone();
        serve(
            &rt,
            axum::Router::new().route(
                "/feed.xml",
                axum::routing::get(move || {
                    let to = if target_dead.load(Ordering::SeqCst) {
                        dead
                    } else {
                        target
                    };
                    async move {
                        axum::response::Redirect::temporary(&format!("http://{to}/feed.xml"))
                            .into_response()
                    }
                }),
            ),
        )
    };
    let mut sources = String::new();
    for (i, addr) in [redirecting(), redirecting(), redirecting()]
        .iter()
        .enumerate()
    {
        sources.push_str(&format!(
            "[[sources]]\nname = \"via{i}\"\nurl = \"http://{addr}/feed.xml\"\ninterval = \"1s\"\n"
        ));
    }
    for i in 0..2 {
        let addr = serve(&rt, feed_app());
        sources.push_str(&format!(
            "[[sources]]\nname = \"plain{i}\"\nurl = \"http://{addr}/feed.xml\"\n"
        ));
    }
    let (dir, _) = config_with(&format!(
        "[schedule]\nmin_interval = \"1s\"\ndefault_interval = \"60s\"\nmax_backoff = \"2s\"\n\
         startup_spread = \"500ms\"\n{sources}"
    ));
    let daemon = InProcess::start(&dir.path().join("w.toml"));
    let state = |name: &str| daemon.store.source_state(name).unwrap().unwrap_or_default();
    let names = ["via0", "via1", "via2", "plain0", "plain1"];
    let give_up = Instant::now() + Duration::from_secs(20);
    while !names.iter().all(|n| state(n).last_success.is_some()) {
        assert!(Instant::now() < give_up, "not every source was polled");
        std::thread::sleep(Duration::from_millis(50));
    }
    target_dead.store(true, Ordering::SeqCst);
    let network = || {
        let (code, body) = daemon.get("/status");
        assert_eq!(code, 200, "{body}");
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        status["network"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    // Each redirected source fails at least twice, the plain ones not polled meanwhile.
    let give_up = Instant::now() + Duration::from_secs(20);
    while !names[..3].iter().all(|n| state(n).failures >= 2) {
        if network() != "up" || Instant::now() > give_up {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let failed = network();
    let errors: Vec<_> = names[..3]
        .iter()
        .map(|n| (state(n).failures, state(n).last_error.map(|e| e.class)))
        .collect();
    daemon.stop();
    assert_eq!(failed, "up", "{errors:?}");
    for (failures, class) in errors {
        assert!(failures >= 2, "{failures}");
        assert_eq!(class.as_deref(), Some("connect"));
    }
}

/// An HTTP/1.1 server on a loopback thread that closes every connection after its answer
/// (`answer` of the request's path), until its flag is set: then nothing listens there, and
/// a request is refused as on a machine without a network.
fn closing_server(
    answer: impl Fn(&str) -> String + Send + 'static,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::spawn(move || {
        while !stopped.load(Ordering::SeqCst) {
            let Ok((mut conn, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            };
            let _ = conn.set_nonblocking(false);
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let _ = conn.write_all(answer(&path).as_bytes());
        }
    });
    (addr, stop)
}

/// Sources whose permanent moves were adopted still call the network down when it is: the
/// detector counts the configured hosts and sizes its threshold by them. Filed under the
/// moved-to host instead (recheck, session 66), four sources moved to one host counted as
/// one failing host of five, and the network was never called down.
#[test]
fn sources_moved_to_one_host_still_call_the_network_down() {
    use std::sync::atomic::Ordering;
    let feed = "<rss version=\"2.0\"><channel><title>t</title><item><guid>m1</guid>\
                <title>Ferry timetable changes</title><description>The winter timetable \
                starts on Monday.</description></item></channel></rss>";
    let ok = move |_: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{feed}",
            feed.len()
        )
    };
    let (target, target_stop) = closing_server(ok);
    let mut stops = vec![target_stop];
    let mut sources = String::new();
    for i in 0..4 {
        let (addr, stop) = closing_server(move |_: &str| {
            format!(
                "HTTP/1.1 301 Moved Permanently\r\nLocation: http://{target}/m{i}.xml\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
        });
        stops.push(stop);
        sources.push_str(&format!(
            "[[sources]]\nname = \"m{i}\"\nurl = \"http://{addr}/feed.xml\"\ninterval = \"1s\"\n"
        ));
    }
    let (plain, stop) = closing_server(ok);
    stops.push(stop);
    sources.push_str(&format!(
        "[[sources]]\nname = \"plain\"\nurl = \"http://{plain}/feed.xml\"\ninterval = \"1s\"\n"
    ));
    let (dir, _) = config_with(&format!(
        "[fetch]\npermanent_redirect_polls = 1\n\
         [schedule]\nmin_interval = \"1s\"\nmax_backoff = \"2s\"\n\
         startup_spread = \"500ms\"\nnetwork_probe_interval = \"1m\"\n{sources}"
    ));
    let daemon = InProcess::start(&dir.path().join("w.toml"));
    let state = |name: &str| daemon.store.source_state(name).unwrap().unwrap_or_default();
    let moved = ["m0", "m1", "m2", "m3"];
    let give_up = Instant::now() + Duration::from_secs(20);
    while !moved.iter().all(|n| {
        let st = state(n);
        st.effective_url.is_some() && st.failures == 0 && st.polls >= 2
    }) {
        assert!(Instant::now() < give_up, "the moves were not adopted");
        std::thread::sleep(Duration::from_millis(50));
    }
    for stop in &stops {
        stop.store(true, Ordering::SeqCst);
    }
    let give_up = Instant::now() + Duration::from_secs(20);
    let down = loop {
        let (code, body) = daemon.get("/status");
        assert_eq!(code, 200, "{body}");
        let status: serde_json::Value = serde_json::from_str(&body).unwrap();
        if status["network"]["state"] == "down" {
            break true;
        }
        if Instant::now() > give_up {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    daemon.stop();
    assert!(down, "every server gone, and the network still up");
}

/// A source that a temporary redirect takes to another host obeys that host's pause
/// whatever its poll there ended with: here a body that stalls, while another source on
/// that host is told 429 `Retry-After`. Only a poll there that ended in an error status
/// used to note the host, so the source kept polling it through its pause; and a host a
/// redirect took it to before stayed noted when the redirect changed to another one.
#[test]
fn a_redirect_whose_target_stalls_binds_the_source_to_that_hosts_pause() {
    use axum::response::IntoResponse;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let rt = runtime();
    let feed = HARBOUR_FEED;
    let before = serve(
        &rt,
        axum::Router::new().route("/feed.xml", axum::routing::get(move || async move { feed })),
    );
    let stalls = Arc::new(AtomicUsize::new(0));
    let counted = stalls.clone();
    let busy = serve(
        &rt,
        axum::Router::new()
            .route(
                "/stall.xml",
                axum::routing::get(move || {
                    counted.fetch_add(1, Ordering::SeqCst);
                    async {
                        let first = futures::stream::once(async {
                            Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"<rss"))
                        });
                        axum::body::Body::from_stream(futures::StreamExt::chain(
                            first,
                            futures::stream::pending(),
                        ))
                    }
                }),
            )
            .route(
                "/limited.xml",
                axum::routing::get(|| async {
                    (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        [(axum::http::header::RETRY_AFTER, "600")],
                    )
                        .into_response()
                }),
            ),
    );
    let to_busy = Arc::new(AtomicBool::new(false));
    let flag = to_busy.clone();
    let origin = serve(
        &rt,
        axum::Router::new().route(
            "/feed.xml",
            axum::routing::get(move || {
                let to = if flag.load(Ordering::SeqCst) {
                    format!("http://{busy}/stall.xml")
                } else {
                    format!("http://{before}/feed.xml")
                };
                async move { axum::response::Redirect::temporary(&to).into_response() }
            }),
        ),
    );
    let (_dir, config) = config_with(&format!(
        "[fetch]\nstall_timeout = \"1s\"\n\
         [[sources]]\nname = \"x\"\nurl = \"http://{origin}/feed.xml\"\n\
         [[sources]]\nname = \"y\"\nurl = \"http://{busy}/limited.xml\"\n"
    ));
    let redirect_host = |app: &App| {
        let st = app.ctx.store.source_state("x").unwrap().unwrap();
        st.redirect_host
    };
    // x is redirected to a host that serves it; y, on the busy host, is told to leave that
    // host alone.
    let app = App::build(config()).unwrap();
    rt.block_on(app.once());
    assert_eq!(redirect_host(&app), Some(before.to_string()));
    drop(app);

    // The redirect now takes x to the busy host, whose body stalls.
    to_busy.store(true, Ordering::SeqCst);
    let app = App::build(config()).unwrap();
    let outcomes = rt.block_on(app.once());
    match &outcomes[0].1 {
        OnceOutcome::Polled(report) => {
            let e = report.result.as_ref().unwrap_err();
            assert_eq!(e.class().name, "stalled", "{e}");
        }
        other => panic!("x not polled: {other:?}"),
    }
    assert_eq!(redirect_host(&app), Some(busy.to_string()));
    assert_eq!(stalls.load(Ordering::SeqCst), 1);
    drop(app);
    let outcomes = rt.block_on(App::build(config()).unwrap().once());
    match &outcomes[0].1 {
        OnceOutcome::HostPaused { host, .. } => assert_eq!(*host, busy.to_string()),
        other => panic!("x polled through its redirect host's pause: {other:?}"),
    }
    assert_eq!(stalls.load(Ordering::SeqCst), 1);
}

/// A poll asked for while the store refuses writes is refused at once, saying why: it
/// would store nothing, not even the count `wait=true` waits for, so the request took the
/// whole request timeout and `poll-now` then exited 0 (recheck, session 66).
#[test]
fn a_poll_asked_for_while_the_store_refuses_writes_is_refused_at_once() {
    let (_dir, path) = one_missing_file_source();
    let daemon = InProcess::start(&path);
    daemon
        .store
        .refuse_writes("No space left on device (test)".into());
    let asked = Instant::now();
    let (code, body) = daemon.post("/sources/gone/poll?wait=true");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(code, 503, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"], "store", "{body}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("No space left on device (test)")),
        "{body}"
    );
    daemon.store.reopen().unwrap();
    daemon.stop();
}
