//! The real daemon against the fault-injecting server: every misbehaviour ends as the right
//! articles or the right error class in `/status`, nothing panics, `/status` keeps answering.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::fault_server::{FaultServer, BOMB_BYTES};
use crate::helpers::{http_get, num, rss, Daemon, FeedServer, TestEnv};

/// Tight limits so that each fault shows quickly.
const FETCH: &str = r#"
max_body_bytes = 2097152
stall_timeout = "1s"
stall_min_bytes = 1024
per_host_concurrency = 8
permanent_redirect_polls = 3
"#;

fn source<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["sources"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no source {name} in {s:#}"))
}

fn class(s: &Value, name: &str) -> String {
    source(s, name)["last_error"]["class"]
        .as_str()
        .unwrap_or("none")
        .to_owned()
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not a time: {v}"))
}

#[test]
fn every_fault_is_classified_and_the_daemon_keeps_serving() {
    let server = FaultServer::start();
    // 429s get a server each: a Retry-After cools their whole host (host:port) down.
    let limited_s = FaultServer::start();
    let limited_d = FaultServer::start();
    let plain = [
        "etag",
        "trickle",
        "endless",
        "bomb",
        "html",
        "malformed",
        "truncated",
        "invalid-utf8",
        "cp1251",
        "sjis",
        "moved-1",
        "loop-a",
        "503",
        "500",
        "410",
        "reset",
        "empty",
    ];
    let mut sources: Vec<(&str, String)> = plain
        .iter()
        .map(|n| (*n, server.url(&format!("{n}.xml"))))
        .collect();
    sources.push(("429-seconds", limited_s.url("429-seconds.xml")));
    sources.push(("429-date", limited_d.url("429-date.xml")));
    // A local file: read again only when it changes.
    let env = TestEnv::custom(&sources, "1s", FETCH, "");
    let file = env.dir().join("local.xml");
    std::fs::write(
        &file,
        rss(
            // A direction override in the feed's own title: left out; its markup is text.
            "Lo\u{202E}cal\u{202C} <b>feed</b>",
            &[(
                "l-1",
                "Local item",
                "http://local.test/1",
                "<p>Local text.</p>",
            )],
        ),
    )
    .unwrap();
    env.append_config(&format!(
        "[[sources]]\nname = \"file\"\nurl = \"{}\"\ninterval = \"1s\"\n",
        url::Url::from_file_path(&file).unwrap()
    ));

    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("every fault polled and the move adopted", |s| {
        s["sources"].as_array().is_some_and(|a| {
            a.iter().all(|x| x["polls"].as_u64().unwrap_or(0) >= 1)
                && a.iter().find(|x| x["name"] == "moved-1").is_some_and(|x| {
                    x["effective_url"]
                        .as_str()
                        .unwrap_or("")
                        .ends_with("/moved-final.xml")
                })
                && a.iter()
                    .find(|x| x["name"] == "file")
                    .is_some_and(|x| x["not_modified"].as_u64().unwrap_or(0) >= 1)
                && a.iter()
                    .find(|x| x["name"] == "etag")
                    .is_some_and(|x| x["not_modified"].as_u64().unwrap_or(0) >= 1)
        })
    });

    // Error classes, one per fault.
    for (name, want) in [
        ("trickle", "stalled"),
        ("endless", "too_large"),
        ("bomb", "too_large"),
        ("html", "not_a_feed"),
        ("malformed", "malformed_feed"),
        ("truncated", "malformed_feed"),
        ("loop-a", "redirect_loop"),
        ("503", "http_status"),
        ("500", "http_status"),
        ("410", "http_status"),
        ("reset", "body"),
        ("empty", "empty_body"),
        ("429-seconds", "http_status"),
        ("429-date", "http_status"),
    ] {
        assert_eq!(class(&s, name), want, "{name}: {:#}", source(&s, name));
        assert_eq!(
            source(&s, name)["state"],
            if name == "410" { "gone" } else { "failing" },
            "{name}"
        );
    }
    for (name, code) in [
        ("503", 503),
        ("500", 500),
        ("410", 410),
        ("429-seconds", 429),
        ("429-date", 429),
    ] {
        assert_eq!(source(&s, name)["last_error"]["status"], code, "{name}");
    }
    assert!(source(&s, "loop-a")["last_error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("loop-b.xml")));

    // Good feeds, whatever their encoding.
    for (name, title, encoding, items) in [
        ("etag", "Validators", "UTF-8", 2),
        ("invalid-utf8", "Zürich – Genève", "UTF-8", 2),
        ("cp1251", "Новости", "windows-1251", 1),
        ("sjis", "ニュース", "Shift_JIS", 1),
        ("moved-1", "Moved", "UTF-8", 2),
        ("file", "Local <b>feed</b>", "UTF-8", 1),
    ] {
        let x = source(&s, name);
        assert_eq!(x["state"], "ok", "{name}: {x:#}");
        assert_eq!(x["title"], title, "{name}");
        assert_eq!(x["encoding"], encoding, "{name}");
        // Stored as new stories or as copies of the same text from another fault route.
        assert_eq!(
            num(x, "/items_new") + num(x, "/items_copies"),
            items,
            "{name}"
        );
    }

    // The permanent move: status shows both URLs, and the old ones are no longer asked.
    let moved = source(&s, "moved-1");
    assert!(moved["url"].as_str().unwrap().ends_with("/moved-1.xml"));
    let before = server.hits("moved-1.xml");
    assert!(before >= 3, "{before}");

    // Retry-After, in seconds and as a date: the next poll waits for it.
    for (name, wait) in [("429-seconds", 3600), ("429-date", 7200)] {
        let x = source(&s, name);
        let gap = time(&x["next_poll"]) - time(&x["last_poll"]);
        assert!(gap.num_seconds() >= wait - 60, "{name}: {gap} {x:#}");
    }

    // Counts by class.
    let counts = s["errors_by_class"].as_array().unwrap();
    let count = |c: &str| {
        counts
            .iter()
            .filter(|x| x["class"] == c)
            .map(|x| x["count"].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    for c in [
        "stalled",
        "too_large",
        "not_a_feed",
        "malformed_feed",
        "redirect_loop",
        "http_status",
        "body",
        "empty_body",
    ] {
        assert!(count(c) >= 1, "{c}: {counts:?}");
    }
    assert!(counts
        .iter()
        .any(|x| x["class"] == "http_status" && x["status"] == 410));
    assert_eq!(s["network"]["state"], "up");

    // More polls later: 410 and 429 are not asked again, the move sticks, the file is not
    // re-read, and /status still answers.
    let polls_of = |s: &Value, n: &str| num(source(s, n), "/polls");
    let base = polls_of(&s, "etag");
    let s2 = daemon.wait_for("three more rounds", |s| polls_of(s, "etag") >= base + 3);
    assert_eq!(server.hits("410.xml"), 1);
    assert_eq!(source(&s2, "410")["next_poll"], Value::Null);
    assert_eq!(limited_s.hits("429-seconds.xml"), 1);
    assert_eq!(limited_d.hits("429-date.xml"), 1);
    assert_eq!(server.hits("moved-1.xml"), before);
    assert!(server.hits("moved-final.xml") > before);
    assert_eq!(num(source(&s2, "file"), "/items_seen"), 1);
    assert!(server.not_modified() >= 1);
    // Every fetch is timed, those that ended in an error too (timeouts are the slowest).
    let polls: u64 = s2["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| num(x, "/polls"))
        .sum();
    let metrics = crate::helpers::http_get(&daemon.url("/metrics")).1;
    let timed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("wirefold_fetch_duration_seconds_count "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no fetch count in\n{metrics}"));
    assert!(timed >= polls, "{timed} fetches timed, {polls} polls");
    // Every source is counted by its health, as /status counts them.
    let health = |word: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("wirefold_sources_health{{health=\"{word}\"}} ")))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {word} count in\n{metrics}"))
    };
    let total: u64 = ["ok", "failing", "down", "gone", "waiting", "disabled"]
        .into_iter()
        .map(health)
        .sum();
    assert_eq!(total, s2["sources"].as_array().unwrap().len() as u64);
    assert_eq!(health("gone"), 1);
    assert!(health("failing") + health("down") >= 5, "{metrics}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// Peak resident memory of a process, from /proc (Linux).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn a_gzip_bomb_costs_at_most_about_twice_the_cap() {
    let server = FaultServer::start();
    let cap: u64 = 2 << 20;
    let env = TestEnv::custom(&[("ok", server.url("etag.xml"))], "1s", FETCH, "");
    let daemon = Daemon::start(&env);
    daemon.wait_for("a first poll", |s| num(source(s, "ok"), "/polls") >= 2);
    let Some(before) = daemon.pid().and_then(peak_rss) else {
        eprintln!("SKIPPED: no /proc here; memory not measured");
        return;
    };
    drop(daemon);
    // The same store and settings, now with the bomb (128 MiB inflated, 2 MiB cap).
    env.append_config(&format!(
        "[[sources]]\nname = \"bomb\"\nurl = \"{}\"\ninterval = \"1s\"\n",
        server.url("bomb.xml")
    ));
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("the bomb polled three times", |s| {
        num(source(s, "bomb"), "/polls") >= 3
    });
    let after = daemon.pid().and_then(peak_rss).unwrap_or(0);
    eprintln!(
        "peak RSS without the bomb {} MiB, with it {} MiB; cap {} MiB, bomb {} MiB",
        before >> 20,
        after >> 20,
        cap >> 20,
        BOMB_BYTES >> 20
    );
    assert!(
        after < before + 2 * cap + (8 << 20),
        "peak RSS grew from {before} to {after} bytes"
    );
    assert_eq!(class(&s, "bomb"), "too_large");
    // /status keeps answering, with the error counted.
    let s = daemon.status();
    assert!(s["errors_by_class"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x["class"] == "too_large")));
}

/// A 304 that carries a new `ETag` updates the stored one (RFC 9111 4.3.4): the next
/// request sends it.
#[test]
fn a_304_with_a_new_etag_replaces_the_stored_one() {
    let server = FaultServer::start();
    let env = TestEnv::new(&[("renewed", server.url("etag-renewed.xml"))], "1s");
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("the renewed ETag sent", |s| {
        server.renewed_etag_sent() >= 1 && num(source(s, "renewed"), "/not_modified") >= 2
    });
    assert_eq!(num(source(&s, "renewed"), "/items_new"), 2);
}

#[test]
fn a_restarted_daemon_sends_its_validators_and_parses_nothing_on_304() {
    let server = FaultServer::start();
    let env = TestEnv::new(&[("etag", server.url("etag.xml"))], "1s");
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("a first poll", |s| num(source(s, "etag"), "/polls") >= 1);
    assert_eq!(num(source(&s, "etag"), "/items_seen"), 2);
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    // Read after the exit: polls made between the status above and the exit count too.
    let not_modified_before = server.not_modified();

    let daemon = Daemon::start(&env);
    // The stored ETag goes out and comes back as 304s: nothing parsed, nothing seen again.
    let s = daemon.wait_for("two 304s after the restart", |s| {
        server.not_modified() >= not_modified_before + 2
            && num(source(s, "etag"), "/not_modified") >= 2
    });
    let x = source(&s, "etag");
    assert_eq!(num(x, "/items_seen"), 2);
    assert_eq!(num(x, "/items_new"), 2);
    assert_eq!(x["state"], "ok");
}

#[test]
fn every_source_failing_at_once_is_reported_as_network_down() {
    // Ports nobody listens on (bound, then released): connections are refused, as when the
    // network is gone.
    let ports: Vec<u16> = (0..3)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap()
        })
        .collect();
    let sources: Vec<(String, String)> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("s{i}"), format!("http://127.0.0.1:{p}/feed.xml")))
        .collect();
    let refs: Vec<(&str, String)> = sources
        .iter()
        .map(|(n, u)| (n.as_str(), u.clone()))
        .collect();
    let env = TestEnv::new(&refs, "1s");
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("the network declared down", |s| {
        s["network"]["state"] == "down"
    });
    assert!(s["network"]["down_since"].is_string());
    for (n, _) in &sources {
        assert_eq!(class(&s, n), "connect");
        assert!(num(source(&s, n), "/failures") <= 1, "{s:#}");
    }
    // A source whose failure was not counted against it shows as held, not as ok.
    let s = daemon.wait_for("a source held", |s| {
        s["sources"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["state"] == "held"))
    });
    for x in s["sources"].as_array().unwrap() {
        assert_ne!(x["state"], "ok", "{s:#}");
    }
    // Held sources count as waiting, not failing: the outage has a gauge of its own,
    let (_, metrics) = http_get(&daemon.url("/metrics"));
    assert!(metrics.contains("\nwirefold_network_up 0\n"), "{metrics}");
    // and `wirefold stats` says it.
    let (code, out, err) = env.command(&["stats"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("NETWORK DOWN since"), "{out}");
    // So does the page, above its rows (it showed only each held row's "waiting").
    let (_, page) = http_get(&daemon.url("/"));
    assert!(
        page.contains("<p class=\"err\" id=\"network\">The network is down since "),
        "{page}"
    );
}

/// Three sources on dead hosts and one that works: the dead ones fail first and fail again,
/// but they never answered, so they are no evidence that this machine is offline. The
/// working source goes on being polled and the network stays up (they once declared it
/// down before the working one was polled, held it back, and flapped at each probe).
#[test]
fn dead_hosts_beside_a_working_one_do_not_make_the_network_look_down() {
    let dead: Vec<(String, String)> = (0..3)
        .map(|i| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap();
            (
                format!("dead{i}"),
                format!("http://127.0.0.1:{port}/feed.xml"),
            )
        })
        .collect();
    let server = FeedServer::start();
    server.set(
        "good.xml",
        rss(
            "Good",
            &[("g1", "One", "http://good.example/1", "Text one.")],
        ),
    );
    let mut sources: Vec<(&str, String)> =
        dead.iter().map(|(n, u)| (n.as_str(), u.clone())).collect();
    sources.push(("good", server.url("good.xml")));
    let env = TestEnv::new(&sources, "1s");
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("the working source polled five times", |s| {
        assert_eq!(s["network"]["state"], "up", "{s:#}");
        num(source(s, "good"), "/polls") >= 5
    });
    let (_, metrics) = http_get(&daemon.url("/metrics"));
    assert!(metrics.contains("\nwirefold_network_up 1\n"), "{metrics}");
    for (n, _) in &dead {
        assert_eq!(class(&s, n), "connect");
        assert!(num(source(&s, n), "/failures") >= 2, "{s:#}");
    }
    assert!(!daemon.log().contains("the network looks down"));
}

/// A stop waits for polls under way and for HTTP requests under way together, within one
/// `http.shutdown_grace`: a feed that trickles and a client that never finishes its request
/// each hold their part of the stop for the whole grace, and one after the other they took
/// two.
#[test]
fn a_stop_waits_one_grace_for_polls_and_requests_together() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    let server = FaultServer::start();
    let env = TestEnv::new(&[("trickle", server.url("trickle.xml"))], "1h");
    let daemon = Daemon::start_with(
        &env.config,
        &[
            ("WIREFOLD_FETCH__TIMEOUT", "60s"),
            ("WIREFOLD_FETCH__STALL_TIMEOUT", "60s"),
            ("WIREFOLD_HTTP__SHUTDOWN_GRACE", "4s"),
            ("WIREFOLD_HTTP__REQUEST_TIMEOUT", "60s"),
        ],
    );
    let started = Instant::now();
    while server.hits("trickle.xml") == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "never polled");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut held = std::net::TcpStream::connect(daemon.addr).unwrap();
    held.write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (code, took) = daemon.terminate();
    assert_eq!(code, Some(0));
    assert!(
        took < Duration::from_millis(7_000),
        "the stop took {took:?}"
    );
    drop(held);
}

/// A system clock a day behind the feed servers' (three of them, by their `Date`) is said in
/// the log, `/status`, the page and `/metrics`; one server's clock alone is not believed.
#[test]
fn a_clock_a_day_behind_the_servers_is_said() {
    let servers: Vec<FaultServer> = (0..3).map(|_| FaultServer::start()).collect();
    let env = TestEnv::new(
        &[
            ("a", servers[0].url("day-ahead.xml")),
            ("b", servers[1].url("day-ahead.xml")),
            ("c", servers[2].url("day-ahead.xml")),
        ],
        "1h",
    );
    let d = Daemon::start(&env);
    let s = d.wait_for("three hosts answered", |s| {
        s["clock"]["hosts"].as_u64() == Some(3)
    });
    let offset = s["clock"]["offset_s"].as_i64().unwrap_or_default();
    assert!((86_390..=86_410).contains(&offset), "{s:#}");
    d.wait_for_log(
        "the system clock is 1day behind the feed servers' clocks (the median of the last 3 to \
         answer",
    );
    let page = crate::helpers::http_get(&d.url("/")).1;
    assert!(page.contains("id=\"clock\""), "{page}");
    let metrics = crate::helpers::http_get(&d.url("/metrics")).1;
    assert!(
        crate::helpers::metric(&metrics, "wirefold_clock_offset_seconds")
            .is_some_and(|o| (86_390..=86_410).contains(&o)),
        "{metrics}"
    );
    let (code, _) = d.terminate();
    assert_eq!(code, Some(0));

    // One server a day ahead and three on time: its clock is not believed.
    let on_time = FeedServer::start();
    on_time.set(
        "f.xml",
        rss("On time", &[("g1", "One", "https://x.example/1", "Words.")]),
    );
    let (also, and_also) = (FaultServer::start(), FaultServer::start());
    let env = TestEnv::new(
        &[
            ("a", servers[0].url("day-ahead.xml")),
            ("c", on_time.url("f.xml")),
            ("d", also.url("etag.xml")),
            ("e", and_also.url("etag.xml")),
        ],
        "1h",
    );
    let d = Daemon::start(&env);
    let s = d.wait_for("four hosts answered", |s| {
        s["clock"]["hosts"].as_u64() == Some(4)
    });
    assert!(
        s["clock"]["offset_s"]
            .as_i64()
            .is_some_and(|o| o.abs() < 10),
        "{s:#}"
    );
    assert!(!d.log().contains("system clock"), "{}", d.log());
    let (code, _) = d.terminate();
    assert_eq!(code, Some(0));
}

/// A permanent move counts only when its new URL serves a feed, on consecutive polls; a 410
/// behind a temporary redirect is the redirect target's, not the end of the feed.
#[test]
fn a_move_counts_only_to_a_feed_and_a_redirect_targets_410_ends_nothing() {
    let server = FaultServer::start();
    let sources: Vec<(&str, String)> = ["moved-login", "moved-flaky", "moved-304", "temp-410"]
        .iter()
        .map(|n| (*n, server.url(&format!("{n}.xml"))))
        .collect();
    let env = TestEnv::custom(&sources, "1s", FETCH, "max_backoff = \"1s\"");
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("each source polled seven times", |s| {
        ["moved-login", "moved-flaky", "moved-304", "temp-410"]
            .iter()
            .all(|n| num(source(s, n), "/polls") >= 7)
    });
    for name in ["moved-login", "moved-flaky", "moved-304"] {
        let x = source(&s, name);
        assert_eq!(x["effective_url"], x["url"], "{name}: {x:#}");
    }
    assert_eq!(source(&s, "moved-login")["state"], "failing");
    assert_eq!(class(&s, "moved-login"), "not_a_feed");
    let gone = source(&s, "temp-410");
    assert_eq!(gone["state"], "failing", "{gone:#}");
    assert_eq!(gone["gone_since"], Value::Null, "{gone:#}");
    assert_eq!(gone["last_error"]["status"], 410);
    assert!(
        gone["last_error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("after a temporary redirect")),
        "{gone:#}"
    );
    assert!(server.hits("temp-410.xml") >= 7);
}

/// `wirefold once` stopped by a signal stops as the daemon does: no poll starts after it, a
/// poll under way has `http.shutdown_grace` and is cut off then, the store is flushed and
/// marked as stopped cleanly, and the exit says the run did not finish.
#[test]
fn once_stopped_by_a_signal_flushes_and_says_what_it_did_not_poll() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let trickle = FaultServer::start();
    let feeds = FeedServer::start();
    feeds.set(
        "a.xml",
        rss("A", &[("1", "One", "http://a.test/1", "<p>Some text.</p>")]),
    );
    // One poll at a time: `a` waits behind the trickle.
    let env = TestEnv::new(
        &[
            ("trickle", trickle.url("trickle.xml")),
            ("a", feeds.url("a.xml")),
        ],
        "5m",
    );
    let child = env
        .wirefold(&["once"])
        .env("RUST_LOG", "warn")
        .env("WIREFOLD_FETCH__CONCURRENCY", "1")
        .env("WIREFOLD_FETCH__TIMEOUT", "60s")
        .env("WIREFOLD_FETCH__STALL_TIMEOUT", "60s")
        .env("WIREFOLD_HTTP__SHUTDOWN_GRACE", "2s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run wirefold once");
    let started = Instant::now();
    while trickle.hits("trickle.xml") == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "never polled");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().expect("wait for wirefold once");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("trickle: cut off: stopped while polled")
            && stdout.contains("a: not polled: stopped"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("stopped before every source was polled"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Stopped cleanly: no marker left, the store unlocked, and nothing of `a` stored.
    assert!(
        !env.store.join("wirefold.running").exists(),
        "the stop was not clean:\n{stderr}"
    );
    assert_eq!(env.command_ok(&["export"]).lines().count(), 0);
}
