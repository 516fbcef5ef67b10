//! Hostile feeds (issue 9): each is served to the real daemon from a loopback server, and the
//! daemon must stay up, answer HTTP, bound its memory (peak RSS, `VmHWM`, read from
//! /proc/PID/status: a bound, not a timing) and either store the feed or record a clear error.

use std::time::Duration;

use crate::helpers::{num, Daemon, FeedServer, TestEnv};

const HEAD: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>H</title>"#;
const TAIL: &str = "</channel></rss>";

/// Serves `body` as the only source, waits for its first poll and returns the daemon and the
/// source's status entry.
fn poll_once(body: String) -> (Daemon, serde_json::Value, FeedServer, TestEnv) {
    let server = FeedServer::start();
    server.set("h.xml", body);
    let env = TestEnv::new(&[("h", server.url("h.xml"))], "1h");
    let daemon = Daemon::start(&env);
    // Generous: 100,000 items take about a minute in a debug build on a busy machine.
    let s = daemon.wait_for_within("the first poll", Duration::from_secs(600), |s| {
        s["sources"][0]["polls"].as_u64().unwrap_or(0) >= 1
    });
    let src = s["sources"][0].clone();
    assert_eq!(
        daemon.get_json("/status?sources=none")["scheduler_running"],
        true
    );
    (daemon, src, server, env)
}

fn peak_mib(d: &Daemon) -> u64 {
    d.peak_rss_kib() / 1024
}

/// One poll folds the newest `MAX_ENTRIES_PER_POLL` entries (undated ones in the feed's
/// order), not 100,000.
#[test]
fn a_feed_of_100000_items_folds_the_newest_with_bounded_memory() {
    use wirefold::ingest::MAX_ENTRIES_PER_POLL as MAX;
    let mut body = String::from(HEAD);
    for i in 0..100_000 {
        body.push_str(&format!(
            "<item><guid>i{i}</guid><title>Item {i}</title><description>Text of item number {i}</description></item>"
        ));
    }
    body.push_str(TAIL);
    let (daemon, src, _server, _env) = poll_once(body);
    assert!(src["last_error"].is_null(), "{src:#}");
    assert_eq!(num(&src, "/items_seen"), MAX as u64);
    let s = daemon.wait_for("the counts flushed", |s| {
        num(s, "/counts/articles") == MAX as u64
    });
    assert_eq!(num(&s, "/counts/articles"), MAX as u64);
    let newest = daemon.get_json("/articles?limit=1");
    assert_eq!(
        newest["articles"][0]["title"],
        format!("Item {}", MAX - 1),
        "the feed's first {MAX}"
    );
    let peak = peak_mib(&daemon);
    eprintln!("100,000 items (5 MB), {MAX} folded: peak RSS {peak} MiB");
    assert!(peak < 1024, "peak RSS {peak} MiB");
}

#[test]
fn a_10_mb_title_is_cut_and_memory_stays_bounded() {
    let title = "word ".repeat(2_000_000);
    let body = format!(
        "{HEAD}<item><guid>big</guid><title>{title}</title><description>short</description></item>{TAIL}"
    );
    let (daemon, src, _server, _env) = poll_once(body);
    assert!(src["last_error"].is_null(), "{src:#}");
    let s = daemon.wait_for("the article", |s| num(s, "/counts/articles") == 1);
    assert_eq!(num(&s, "/counts/stories"), 1);
    let page = daemon.get_json("/articles?limit=1");
    let stored = page["articles"][0]["title"].as_str().expect("title");
    assert!(
        stored.chars().count() <= 1001,
        "title of {} chars",
        stored.len()
    );
    let peak = peak_mib(&daemon);
    eprintln!("10 MB title: peak RSS {peak} MiB");
    assert!(peak < 512, "peak RSS {peak} MiB");
}

#[test]
fn nesting_deeper_than_the_parser_allows_is_refused_and_deep_nesting_below_it_is_harmless() {
    let deep = |d: usize| {
        format!(
            "{HEAD}<item><guid>n</guid><title>deep</title><foo>{}{}</foo><description>{}x{}</description></item>{TAIL}",
            "<a>".repeat(d),
            "</a>".repeat(d),
            "&lt;b&gt;".repeat(d),
            "&lt;/b&gt;".repeat(d)
        )
    };
    let (daemon, src, _s, _e) = poll_once(deep(200_000));
    assert_eq!(src["last_error"]["class"], "malformed_feed", "{src:#}");
    let msg = src["last_error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("nests elements deeper"), "{msg}");
    assert!(peak_mib(&daemon) < 256);
    drop(daemon);

    // Just under the XML parser's limit: parsed without recursion trouble on a 2 MiB stack.
    let (daemon, src, _s, _e) = poll_once(deep(65_000));
    assert!(src["last_error"].is_null(), "{src:#}");
    daemon.wait_for("the article", |s| num(s, "/counts/articles") == 1);
    assert!(peak_mib(&daemon) < 256);
}

#[test]
fn entity_expansion_is_not_performed() {
    let mut dtd = String::from(r#"<!ENTITY lol "lol">"#);
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            r#"<!ENTITY lol{i} "{}">"#,
            format!("&{prev};").repeat(10)
        ));
    }
    let body = format!(
        r#"<?xml version="1.0"?><!DOCTYPE rss [{dtd}]><rss version="2.0"><channel><title>&lol9;</title><item><guid>l</guid><title>Laughs &lol9;</title><description>&lol9;</description></item></channel></rss>"#
    );
    let (daemon, src, _s, _e) = poll_once(body);
    // Either way the entity is never expanded: stored literally, or the feed refused.
    if src["last_error"].is_null() {
        daemon.wait_for("the article", |s| num(s, "/counts/articles") == 1);
        let page = daemon.get_json("/articles?limit=1&text=true");
        let a = &page["articles"][0];
        let all = format!("{}{}", a["title"], a["text"]);
        assert!(
            !all.contains("lollollol"),
            "entity expanded: {}",
            &all[..all.len().min(200)]
        );
    }
    let peak = peak_mib(&daemon);
    eprintln!("billion laughs: peak RSS {peak} MiB");
    assert!(peak < 256, "peak RSS {peak} MiB");
}

#[test]
fn external_entities_never_read_local_files() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("secret.txt");
    std::fs::write(&marker, "XXE-MARKER-7f3a9c").unwrap();
    let url = format!("file://{}", marker.display());
    let body = format!(
        r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{url}"><!ENTITY % p SYSTEM "{url}">%p;]><rss version="2.0"><channel><title>X &xxe;</title><item><guid>x</guid><title>T &xxe;</title><link>http://x.test/&xxe;</link><description>D &xxe;</description></item></channel></rss>"#
    );
    let (daemon, _src, _s, env) = poll_once(body);
    let s = daemon.status();
    let page = daemon.get_json("/articles?limit=10&text=true");
    let stories = daemon.get_json("/stories?limit=10");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    let (_, export, _) = env.command(&["export"]);
    for (what, text) in [
        ("status", s.to_string()),
        ("articles", page.to_string()),
        ("stories", stories.to_string()),
        ("export", export),
    ] {
        assert!(
            !text.contains("XXE-MARKER"),
            "the local file leaked into {what}: {text}"
        );
    }
}

/// A malformed feed whose tag name carries escape sequences, a line break with a forged log
/// line, and 20 KB: the error is shown escaped and cut in the log and `/status`, and at
/// `warn` the log line still names the source that failed.
#[test]
fn what_a_broken_feed_quotes_cannot_forge_log_lines() {
    let server = FeedServer::start();
    let forged = "2026-12-05T00:00:00Z ERROR forged line";
    server.set(
        "h.xml",
        format!(
            "{HEAD}<item><title>x</ti\u{1b}[31mRED\u{1b}[0m\n{forged} {}></item>{TAIL}",
            "Z".repeat(20_000)
        ),
    );
    let env = TestEnv::new(&[("broken", server.url("h.xml"))], "1h");
    let daemon = Daemon::start_with(&env.config, &[("RUST_LOG", "warn,wirefold::app=info")]);
    let s = daemon.wait_for("the failed poll", |s| {
        !s["sources"][0]["last_error"].is_null()
    });
    let message = s["sources"][0]["last_error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!message.contains(['\u{1b}', '\n']), "{message}");
    assert!(message.contains("\\u{1b}[31mRED"), "{message}");
    assert!(message.len() < 1200, "{} bytes", message.len());
    assert!(message.ends_with("bytes more)"), "{message}");
    let log = daemon.log();
    let failed = log
        .lines()
        .find(|l| l.contains("poll failed"))
        .unwrap_or_else(|| panic!("no poll failed line:\n{log}"));
    assert!(failed.contains("source=broken"), "{failed}");
    assert!(!log.contains('\u{1b}'), "{log}");
    assert!(
        !log.lines().any(|l| l.starts_with(forged)),
        "a forged line:\n{log}"
    );
}
