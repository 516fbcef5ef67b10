//! The real binary end to end: folding across sources, restart, shutdown, update in place.

use crate::fixtures::{html, paragraphs, HARBOUR, ORCHARD};
use crate::helpers::{metric, num, numbered_rss, rss, Daemon, FeedServer, TestEnv};

/// Serves four sources: the agency (two stories), two outlets with edited copies of the first
/// story, and one with a copy of the second under another headline.
fn serve_wire(server: &FeedServer) {
    let h = paragraphs(HARBOUR);
    let o = paragraphs(ORCHARD);

    let agency_harbour = {
        let mut p = h.clone();
        let first = format!("VALMORA, March 3 (Reuters) - {}", p[0]);
        p[0] = &first;
        html(&p)
    };
    server.set(
        "agency.xml",
        rss(
            "Agency wire",
            &[
                (
                    "agency-1",
                    "Valmora approves deeper shipping channel",
                    "http://agency.test/valmora-channel",
                    &agency_harbour,
                ),
                (
                    "agency-2",
                    "Late frost halves Tarn apple harvest",
                    "http://agency.test/tarn-apples",
                    &html(&o),
                ),
            ],
        ),
    );

    // Identical body, other headline and link.
    server.set(
        "outlet1.xml",
        rss(
            "Outlet one",
            &[(
                "o1-99",
                "Port to dredge channel for bigger ships",
                "http://outlet1.test/news/99?utm_source=rss",
                &agency_harbour,
            )],
        ),
    );

    // Another dateline and attribution, last paragraph trimmed, a "Follow us" line appended.
    let outlet2 = {
        let first = format!("VALMORA (AP) — {}", h[0]);
        let mut p: Vec<&str> = vec![&first];
        p.extend_from_slice(&h[1..h.len() - 1]);
        p.push("Follow us on Twitter and Facebook for more news.");
        html(&p)
    };
    server.set(
        "outlet2.xml",
        rss(
            "Outlet two",
            &[(
                "o2-a",
                "Valmora channel deepening gets green light - Outlet Two",
                "http://outlet2.test/a",
                &outlet2,
            )],
        ),
    );

    server.set(
        "outlet3.xml",
        rss(
            "Outlet three",
            &[(
                "o3-x",
                "Frost ruins apple crop in the Tarn",
                "http://outlet3.test/x",
                &html(&o),
            )],
        ),
    );
}

fn sources(server: &FeedServer) -> Vec<(&'static str, String)> {
    vec![
        ("agency", server.url("agency.xml")),
        ("outlet1", server.url("outlet1.xml")),
        ("outlet2", server.url("outlet2.xml")),
        ("outlet3", server.url("outlet3.xml")),
    ]
}

fn all_polled(min_polls: u64) -> impl Fn(&serde_json::Value) -> bool {
    move |s| {
        s["sources"].as_array().is_some_and(|a| {
            a.iter().all(|src| {
                src["polls"].as_u64().unwrap_or(0) >= min_polls && src["last_success"].is_string()
            })
        })
    }
}

/// Polls of every source together, as `/status` reports them.
fn total_polls(s: &serde_json::Value) -> u64 {
    s["sources"]
        .as_array()
        .expect("sources in /status")
        .iter()
        .map(|x| x["polls"].as_u64().expect("a source's polls"))
        .sum()
}

/// The wire feeds served at 1 s intervals, a daemon started on them by `start`, and its
/// `/status` once every source was polled `polls` times and the five articles are flushed.
/// `/status` counts are those of the last flush (every 100 ms here), a source's state is live:
/// the wait is for both, so that a slow machine cannot see the polls before their articles. An
/// article stored twice still fails here (the wait times out at 6).
fn wire_daemon(
    start: fn(&TestEnv) -> Daemon,
    polls: u64,
) -> (FeedServer, TestEnv, Daemon, serde_json::Value) {
    let server = FeedServer::start();
    serve_wire(&server);
    let env = TestEnv::new(&sources(&server), "1s");
    let daemon = start(&env);
    let polled = all_polled(polls);
    let s = daemon.wait_for(
        &format!("every source polled {polls} time(s) and its articles flushed"),
        |s| polled(s) && s["counts"]["articles"].as_u64() == Some(5),
    );
    (server, env, daemon, s)
}

#[test]
fn folds_copies_restarts_without_doubling_and_exits_cleanly() {
    let (server, env, daemon, s) = wire_daemon(Daemon::start, 1);
    assert_eq!(num(&s, "/counts/sources"), 4);
    assert_eq!(num(&s, "/counts/stories"), 2, "{s:#}");
    assert_eq!(num(&s, "/counts/copies"), 3, "{s:#}");
    let outlet2 = &s["sources"][2];
    assert_eq!(outlet2["name"], "outlet2");
    assert_eq!(num(outlet2, "/items_copies"), 1, "{s:#}");
    assert!(s["version"].is_string() && s["uptime_s"].is_u64());

    // Polls repeat on schedule; unchanged feeds answer 304 and nothing is stored twice.
    let s = daemon.wait_for("second polls", all_polled(2));
    assert_eq!(num(&s, "/counts/articles"), 5);

    let (code, took) = daemon.terminate();
    assert_eq!(code, Some(0), "clean exit on SIGTERM");
    assert!(took.as_secs() < 5, "exit took {took:?}");

    // Restart on the same store: nothing doubled, no story split.
    let daemon = Daemon::start(&env);
    let s = daemon.status();
    assert_eq!(s["store"]["previous_stop"], "clean", "{s:#}");
    assert!(!daemon.log().contains("did not stop cleanly"));
    assert_eq!(num(&s, "/counts/articles"), 5, "after restart {s:#}");
    let before = total_polls(&s);
    let s = daemon.wait_for("polls after restart", |s| total_polls(s) >= before + 4);
    assert_eq!(num(&s, "/counts/articles"), 5, "{s:#}");
    assert_eq!(num(&s, "/counts/stories"), 2, "{s:#}");
    assert_eq!(num(&s, "/counts/copies"), 3, "{s:#}");
    // The clean shutdown saved the index as it was, and the restart went on with it ...
    assert!(
        daemon.log().contains("from=Snapshot"),
        "the restart did not use the index snapshot:\n{}",
        daemon.log()
    );
    // ... whose tables still find the stories: a new copy of the orchard story, trimmed and
    // under another dateline, folds into it.
    let o = paragraphs(ORCHARD);
    let trimmed = {
        let first = format!("TOULOUSE (AFP) - {}", o[0]);
        let mut p: Vec<&str> = vec![&first];
        p.extend_from_slice(&o[1..o.len() - 1]);
        html(&p)
    };
    server.set(
        "outlet1.xml",
        rss(
            "Outlet one",
            &[(
                "o1-100",
                "Tarn apple growers count frost losses",
                "http://outlet1.test/news/100",
                &trimmed,
            )],
        ),
    );
    let s = daemon.wait_for("the new copy", |s| {
        s["counts"]["articles"].as_u64() == Some(6)
    });
    assert_eq!(num(&s, "/counts/stories"), 2, "{s:#}");
    assert_eq!(num(&s, "/counts/copies"), 4, "{s:#}");

    // An edited item (same GUID) is updated in place, not stored again.
    let mut edited = o.clone();
    edited[3] = "Prices for local apples at the weekly market in Castelnau rose by more than half.";
    server.set(
        "outlet3.xml",
        rss(
            "Outlet three",
            &[(
                "o3-x",
                "Frost ruins apple crop in the Tarn (updated)",
                "http://outlet3.test/x",
                &html(&edited),
            )],
        ),
    );
    let s = daemon.wait_for("the update", |s| {
        s["sources"][3]["items_updated"].as_u64() == Some(1)
    });
    assert_eq!(num(&s, "/counts/articles"), 6, "{s:#}");
    assert_eq!(num(&s, "/counts/stories"), 2, "{s:#}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    assert!(server.hits("agency.xml") >= 3);

    // Export (daemon stopped) shows each article once with its story.
    let lines = env.export();
    assert_eq!(lines.len(), 6);
    for l in &lines {
        for field in [
            "id",
            "source",
            "key",
            "url",
            "title",
            "published",
            "first_seen",
            "story",
        ] {
            assert!(!l[field].is_null(), "{field} missing in {l}");
        }
    }
    // The one updated in place says so, as `GET /articles/{id}` does.
    let revised: Vec<u64> = lines
        .iter()
        .filter_map(|l| l["revisions"].as_u64())
        .collect();
    assert_eq!(revised.len(), 6, "{lines:?}");
    assert_eq!(revised.iter().filter(|&&r| r == 1).count(), 1, "{lines:?}");
    let story_of = |src: &str| {
        lines
            .iter()
            .find(|l| l["source"] == src)
            .map(|l| l["story"].as_u64().unwrap())
            .unwrap()
    };
    assert_eq!(story_of("agency"), story_of("outlet1"));
    assert_eq!(story_of("agency"), story_of("outlet2"));
    assert_ne!(story_of("agency"), story_of("outlet3"));
    let new_copy = lines
        .iter()
        .find(|l| l["url"] == "http://outlet1.test/news/100")
        .unwrap();
    assert_eq!(new_copy["story"].as_u64(), Some(story_of("outlet3")));
    // Tracking parameters do not survive canonicalization.
    let o1 = lines.iter().find(|l| l["source"] == "outlet1").unwrap();
    assert_eq!(o1["url"], "http://outlet1.test/news/99");

    // A run that polls every source again and finds nothing new ends without writing the
    // index snapshot again (a new file is renamed into place: its inode shows a rewrite).
    use std::os::unix::fs::MetadataExt;
    let snapshot = env.store.join("index.snapshot");
    let inode = || std::fs::metadata(&snapshot).expect("index snapshot").ino();
    let before = inode();
    let daemon = Daemon::start(&env);
    let at_start = total_polls(&daemon.status());
    let s = daemon.wait_for("polls with nothing new", |s| total_polls(s) >= at_start + 8);
    assert_eq!(num(&s, "/counts/articles"), 6, "{s:#}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    assert_eq!(
        inode(),
        before,
        "the shutdown rewrote an unchanged index snapshot"
    );
}

#[test]
fn bad_feeds_are_recorded_and_the_daemon_keeps_running() {
    let server = FeedServer::start();
    server.set(
        "good.xml",
        rss(
            "Good",
            &[("g1", "A title", "http://g.test/1", "<p>Some text here.</p>")],
        ),
    );
    server.set_typed(
        "html.xml",
        "<!DOCTYPE html><html><body><h1>403 Forbidden</h1></body></html>",
        "text/html",
    );
    server.set(
        "broken.xml",
        "<rss version=\"2.0\"><channel><item><title>cut off",
    );
    let env = TestEnv::new(
        &[
            ("good", server.url("good.xml")),
            ("html", server.url("html.xml")),
            ("broken", server.url("broken.xml")),
            ("missing", server.url("missing.xml")),
        ],
        "1s",
    );
    let daemon = Daemon::start(&env);
    // The counts are the durable ones: they follow the polls' state by up to a flush.
    let s = daemon.wait_for("every source polled", |s| {
        s["sources"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["polls"].as_u64().unwrap_or(0) >= 1))
            && num(s, "/counts/articles") >= 1
    });
    let class = |i: usize| {
        s["sources"][i]["last_error"]["class"]
            .as_str()
            .map(str::to_owned)
    };
    assert_eq!(class(0), None);
    assert_eq!(class(1).as_deref(), Some("not_a_feed"), "{s:#}");
    assert_eq!(class(2).as_deref(), Some("malformed_feed"), "{s:#}");
    assert_eq!(class(3).as_deref(), Some("http_status"), "{s:#}");
    assert_eq!(num(&s, "/counts/articles"), 1);
    assert!(num(&s, "/sources/3/failures") >= 1);
    assert!(s["sources"][3]["next_poll"].is_string());
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// An operator fixes a failing source's URL and restarts: the source is polled at once at its
/// new URL, not at the next poll its old URL's back-off stored, and its failures start over.
#[test]
fn an_edited_url_is_polled_at_start_and_forgets_the_old_failures() {
    let server = FeedServer::start();
    server.set(
        "fixed.xml",
        rss(
            "Fixed",
            &[("f1", "A title", "http://f.test/1", "<p>Some text here.</p>")],
        ),
    );
    let env = TestEnv::new(&[("src", server.url("typo.xml"))], "10m");
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("the typo polled", |s| num(s, "/sources/0/failures") >= 1);
    assert_eq!(num(&s, "/sources/0/polls"), 1, "{s:#}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));

    let toml = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        toml.replace(&server.url("typo.xml"), &server.url("fixed.xml")),
    )
    .unwrap();
    let daemon = Daemon::start(&env);
    // Before the fix this waited the old URL's stored 10 minutes.
    // The counts are the durable ones: they follow the poll's state by up to a flush.
    let s = daemon.wait_for("the fixed URL polled", |s| {
        num(s, "/sources/0/polls") >= 2 && num(s, "/counts/articles") >= 1
    });
    assert_eq!(num(&s, "/sources/0/failures"), 0, "{s:#}");
    assert_eq!(num(&s, "/counts/articles"), 1, "{s:#}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// A SIGHUP that comes while the daemon still reads its configuration (10,000 sources: more
/// than a second in a debug build; the signal 400 ms after the spawn, when `main` runs) is a
/// reload once it runs, not the end of the process that SIGHUP's default action is.
#[test]
fn a_sighup_while_the_configuration_is_read_reloads_once_running() {
    let server = FeedServer::start();
    server.set("/a.xml", numbered_rss("a", "a", &[1]));
    let env = TestEnv::new(&[("a", server.url("/a.xml"))], "1h");
    let mut more = String::new();
    for i in 0..10_000 {
        more.push_str(&format!(
            "[[sources]]\nname = \"off-{i}\"\nurl = \"http://127.0.0.1:9/{i}.xml\"\nenabled = false\n"
        ));
    }
    env.append_config(&more);
    let daemon = Daemon::start_hung_up_after(&env.config, std::time::Duration::from_millis(400));
    daemon.wait_for_log("SIGHUP: reloading the configuration");
    daemon.wait_for("the reload applied and the source polled", |s| {
        s.pointer("/config/last_reload")
            .is_some_and(|r| !r.is_null())
            && num(s, "/counts/articles") >= 1
    });
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// SIGHUP reloads the sources: one added is polled, one removed is no longer listed, an
/// invalid file changes nothing, `[schedule]` is applied, and changes elsewhere are named as
/// waiting for a restart.
#[test]
fn sighup_reloads_the_sources_and_survives_a_bad_file() {
    let server = FeedServer::start();
    let feed = |name: &str, title: &str, text: &str| {
        let link = format!("http://{name}.test/1");
        rss(name, &[(name, title, &link, text)])
    };
    server.set(
        "one.xml",
        feed("one", "Ferry line opens", &html(&paragraphs(HARBOUR))),
    );
    server.set(
        "two.xml",
        feed("two", "Frost hits orchards", &html(&paragraphs(ORCHARD))),
    );
    let env = TestEnv::new(&[("one", server.url("one.xml"))], "1s");
    let first = std::fs::read_to_string(&env.config).unwrap();
    let daemon = Daemon::start(&env);
    daemon.wait_for("one polled", |s| num(s, "/counts/articles") == 1);

    // A source added.
    let two = format!(
        "[[sources]]\nname = \"two\"\nurl = \"{}\"\ninterval = \"1s\"\n",
        server.url("two.xml")
    );
    env.append_config(&two);
    daemon.hangup();
    let s = daemon.wait_for("two added and polled", |s| {
        num(s, "/counts/sources") == 2 && num(s, "/counts/articles") == 2
    });
    assert_eq!(s["sources"][1]["name"], "two", "{s:#}");
    assert!(
        daemon.log().contains("sources reloaded"),
        "{}",
        daemon.log()
    );
    // Only the sources changed: no section is said to wait for a restart.
    assert!(!daemon.log().contains("take effect"), "{}", daemon.log());
    assert!(daemon.log().contains("added=1"), "{}", daemon.log());

    // An edit that moves no poll ("two" marked as an agency's feed; it is the file's last
    // table) is still counted as a change.
    env.append_config("agency = true\n");
    daemon.hangup();
    daemon.wait_for_log("changed=1");

    // An invalid file: logged on one line (every problem), nothing changes, the daemon
    // runs on.
    env.append_config("colour = \"blue\"\nshade = 3\n");
    daemon.hangup();
    daemon.wait_for_log("configuration not reloaded");
    assert!(
        daemon
            .log()
            .lines()
            .any(|l| l.contains("configuration not reloaded")
                && l.contains(r#"sources[1].colour (source "two"): unknown key"#)
                && l.contains(r#"sources[1].shade (source "two"): unknown key"#)
                && l.contains("unknown key; sources[1].")),
        "{}",
        daemon.log()
    );
    let polls = num(&daemon.status(), "/sources/1/polls");
    let s = daemon.wait_for("two still polled, the refusal in /status", |s| {
        num(s, "/sources/1/polls") > polls && s["config"]["last_reload_error"].is_string()
    });
    assert_eq!(num(&s, "/counts/sources"), 2, "{s:#}");
    // ...and the refusal is in /status, /metrics and on the page, for whoever did not read
    // the log.
    let config = &s["config"];
    assert!(config["last_reload"].is_string(), "{s:#}");
    let why = config["last_reload_error"].as_str().unwrap_or_default();
    assert!(
        why.contains(r#"sources[1].colour (source "two"): unknown key"#),
        "{s:#}"
    );
    let metrics = || crate::helpers::http_get(&daemon.url("/metrics")).1;
    assert!(
        metrics().contains("wirefold_config_last_reload_successful 0"),
        "{}",
        metrics()
    );
    let page = crate::helpers::http_get(&daemon.url("/")).1;
    assert!(
        page.contains("id=\"reload\"") && page.contains(r#"sources[1].colour (source "two")"#),
        "{page}"
    );

    // "one" removed, and a change outside the sources, which waits for a restart. Its metric
    // series exist before...
    assert!(
        metrics().contains(r#"wirefold_source_failures{source="one"}"#),
        "{}",
        metrics()
    );
    let only_two = first
        .replace(
            &format!(
                "[[sources]]\nname = \"one\"\nurl = \"{}\"\ninterval = \"1s\"\n",
                server.url("one.xml")
            ),
            &two,
        )
        .replace("timeout = \"5s\"", "timeout = \"6s\"")
        .replace("concurrency = 4", "concurrency = 3")
        .replace("adaptive = false", "adaptive = false\nmax_backoff = \"1h\"");
    assert!(
        only_two.contains("6s")
            && only_two.contains("= 3")
            && only_two.contains("1h")
            && !only_two.contains("one.xml"),
        "{only_two}"
    );
    std::fs::write(&env.config, only_two).unwrap();
    daemon.hangup();
    let s = daemon.wait_for("one removed", |s| num(s, "/counts/sources") == 1);
    assert_eq!(s["sources"][0]["name"], "two", "{s:#}");
    daemon.wait_for_log("take effect at the next restart");
    let s = daemon.wait_for("the reload recorded", |s| {
        s["config"]["last_reload_error"].is_null()
    });
    assert_eq!(
        s["config"]["loaded_at"], s["config"]["last_reload"],
        "{s:#}"
    );
    assert!(metrics().contains("wirefold_config_last_reload_successful 1"));
    // ...and leave /metrics within seconds (an alert on them must not fire on forever).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let m = metrics();
        if !m.contains(r#"source="one""#) {
            assert!(
                m.contains(r#"wirefold_source_failures{source="two"}"#),
                "{m}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{m}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // [schedule] and the fetch timeout are applied; the concurrency waits for a restart.
    assert!(
        daemon.log().contains("sections=\"fetch.concurrency\"")
            && daemon.log().contains("schedule bounds changed")
            && daemon.log().contains("fetch settings applied"),
        "{}",
        daemon.log()
    );
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// SIGHUP applies `[fetch]` to the next poll: a body cap lowered below the feed's size makes
/// that poll fail as too large, and raised again it succeeds, without a restart.
#[test]
fn a_reload_applies_fetch_settings_to_the_next_poll() {
    let server = FeedServer::start();
    server.set("wire.xml", numbered_rss("Wire", "w", &[1]));
    let env = TestEnv::new(&[("wire", server.url("wire.xml"))], "1s");
    let base = std::fs::read_to_string(&env.config).unwrap();
    let daemon = Daemon::start(&env);
    daemon.wait_for("the first item stored", |s| num(s, "/counts/articles") == 1);

    // A new item makes the body longer than the cap the reload sets. The feed changes once
    // the reload is applied (and a poll that began before it has long ended): set before,
    // a poll already under way with the old client stored the items, and every later poll
    // was a 304 that never met the cap (a CI run failed so).
    let capped = base.replace("concurrency = 4", "concurrency = 4\nmax_body_bytes = 1024");
    assert!(capped.contains("1024"), "{capped}");
    std::fs::write(&env.config, capped).unwrap();
    daemon.hangup();
    daemon.wait_for_log("fetch settings applied");
    std::thread::sleep(std::time::Duration::from_millis(300));
    server.set("wire.xml", numbered_rss("Wire", "w", &[1, 2, 3, 4, 5, 6]));
    let s = daemon.wait_for("the capped poll refused", |s| {
        s["sources"][0]["last_error"]["class"] == "too_large"
    });
    assert_eq!(num(&s, "/counts/articles"), 1, "{s:#}");
    // The cap lifted: the items arrive.
    std::fs::write(&env.config, &base).unwrap();
    daemon.hangup();
    daemon.wait_for("the items stored", |s| num(s, "/counts/articles") == 6);
    assert!(!daemon.log().contains("take effect"), "{}", daemon.log());
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// SIGHUP applies a changed `log.level`: debug lines (every quiet poll) appear and go away
/// again without a restart; with `RUST_LOG` set at start, that stays in force and a warning
/// says the level was not applied.
#[test]
fn sighup_applies_a_changed_log_level() {
    let server = FeedServer::start();
    server.set(
        "one.xml",
        rss(
            "One",
            &[(
                "one",
                "Ferry line opens",
                "http://one.test/1",
                "<p>Some text.</p>",
            )],
        ),
    );
    let env = TestEnv::new(&[("one", server.url("one.xml"))], "1s");
    let set_level = |level: &str| {
        let toml = std::fs::read_to_string(&env.config).unwrap();
        let (head, tail) = toml.split_once("[log]\nlevel = ").unwrap();
        let rest = tail.split_once('\n').unwrap().1;
        std::fs::write(
            &env.config,
            format!("{head}[log]\nlevel = \"{level}\"\n{rest}"),
        )
        .unwrap();
    };
    let quiet = "poll found nothing new";
    let count = |daemon: &Daemon, needle: &str| daemon.log().matches(needle).count();
    set_level("info");
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("three polls", |s| num(s, "/sources/0/polls") >= 3);
    assert_eq!(count(&daemon, quiet), 0, "{s:#}\n{}", daemon.log());

    set_level("info,wirefold=debug");
    daemon.hangup();
    daemon.wait_for_log("log level changed");
    daemon.wait_for_log(quiet);
    assert!(!daemon.log().contains("take effect"), "{}", daemon.log());

    // Back to info: the quiet polls go on, unlogged.
    set_level("info");
    daemon.hangup();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while count(&daemon, "log level changed") < 2 {
        assert!(std::time::Instant::now() < deadline, "{}", daemon.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let logged = count(&daemon, quiet);
    let polls = num(&daemon.status(), "/sources/0/polls");
    daemon.wait_for("three more polls", |s| {
        num(s, "/sources/0/polls") >= polls + 3
    });
    assert_eq!(count(&daemon, quiet), logged, "{}", daemon.log());
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));

    // RUST_LOG chose the filter at start: the configured level is not applied, and the
    // operator is told.
    let daemon = Daemon::start_with(&env.config, &[("RUST_LOG", "info")]);
    set_level("debug");
    daemon.hangup();
    daemon.wait_for_log("RUST_LOG was set at start and stays in force");
    let polls = num(&daemon.status(), "/sources/0/polls");
    daemon.wait_for("two more polls", |s| {
        num(s, "/sources/0/polls") >= polls + 2
    });
    assert_eq!(count(&daemon, quiet), 0, "{}", daemon.log());
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// Credentials in a source URL (a password, an `apikey=` or `token=` parameter) are sent to
/// the feed, and never shown: not in `/status`, the page, the metrics or the log, also when
/// the poll fails and the error names the URL.
#[test]
fn a_sources_credentials_are_used_but_never_shown() {
    let server = FeedServer::start();
    server.set(
        "private/feed.xml",
        rss(
            "Private",
            &[(
                "p1",
                "Ferry line opens",
                "http://p.test/1",
                "<p>Some text here.</p>",
            )],
        ),
    );
    let private = format!(
        "http://alice:s3cret@{}/private/feed.xml?apikey=TOPSECRET&lang=en",
        server.addr
    );
    let env = TestEnv::new(
        &[
            ("private", private),
            (
                "broken",
                "http://bob:hunter2@127.0.0.1:1/feed.xml?token=T0KEN".into(),
            ),
        ],
        "1s",
    );
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("the private feed stored, the broken one failed", |s| {
        num(s, "/counts/articles") == 1 && num(s, "/sources/1/failures") >= 1
    });
    assert_eq!(
        s["sources"][0]["url"],
        format!(
            "http://alice:xxxxx@{}/private/feed.xml?apikey=xxxxx&lang=en",
            server.addr
        ),
        "{s:#}"
    );
    assert_eq!(
        s["sources"][1]["url"], "http://bob:xxxxx@127.0.0.1:1/feed.xml?token=xxxxx",
        "{s:#}"
    );
    let error = s["sources"][1]["last_error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains("token=xxxxx"),
        "the error still names the URL: {s:#}"
    );
    let shown = [
        s.to_string(),
        crate::helpers::http_get(&daemon.url("/")).1,
        crate::helpers::http_get(&daemon.url("/metrics")).1,
        crate::helpers::http_get(&daemon.url("/stories")).1,
        daemon.log(),
    ];
    for (what, text) in ["status", "page", "metrics", "stories", "log"]
        .iter()
        .zip(shown)
    {
        for secret in ["s3cret", "TOPSECRET", "hunter2", "T0KEN"] {
            assert!(!text.contains(secret), "{secret} in the {what}:\n{text}");
        }
    }
    assert!(daemon.log().contains("apikey=xxxxx"), "{}", daemon.log());
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// `wirefold poll-now SOURCE` (`POST /sources/{name}/poll`): a source whose feed was broken
/// and is fixed is polled at once, not at the end of its hour-long interval; a source that
/// is unknown, disabled, or polled less than `schedule.min_interval` ago is refused with the
/// reason, and the daemon runs on.
#[test]
fn poll_now_polls_a_fixed_source_at_once_and_refuses_with_reasons() {
    let server = FeedServer::start();
    let env = TestEnv::new(
        &[
            ("fixme", server.url("fixme.xml")),
            ("broken", server.url("broken.xml")),
        ],
        "1h",
    );
    env.append_config(
        "[[sources]]\nname = \"resting\"\nurl = \"http://127.0.0.1:9/x.xml\"\nenabled = false\n",
    );
    let daemon = Daemon::start(&env);
    daemon.wait_for("the broken feeds failed", |s| {
        num(s, "/sources/0/failures") == 1 && num(s, "/sources/1/failures") == 1
    });
    server.set(
        "fixme.xml",
        rss(
            "Fixed",
            &[(
                "f1",
                "Ferry line opens",
                "http://f.test/1",
                "<p>Some text here.</p>",
            )],
        ),
    );
    let base = daemon.url("");
    // Runs `wirefold poll-now ARGS`, which must exit with `code` and say `says`.
    let poll_now = |args: &[&str], code: i32, says: &str| {
        let mut all = vec!["poll-now", "--url", &base];
        all.extend(args);
        let (got, _, err) = env.command(&all);
        assert_eq!(got, code, "{err}");
        assert!(err.contains(says), "{says}\nin {err}");
    };
    // Past schedule.min_interval (1 s here) since that poll.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    // It waits for the poll and says what it stored.
    poll_now(
        &["fixme"],
        0,
        "\"fixme\": polled: 1 new, 0 copies, 0 updated; next poll 20",
    );
    // /status counts what is durable: the flush after the poll (every 100 ms here) may
    // come a moment after the answer.
    let s = daemon.wait_for("the new article durable", |s| {
        num(s, "/counts/articles") == 1
    });
    assert_eq!(num(&s, "/sources/0/failures"), 0, "{s:#}");
    assert_eq!(num(&s, "/sources/0/polls"), 2, "{s:#}");
    // Without waiting, it says the poll started; with waiting, a failed poll is exit code 1
    // with the poll's error.
    poll_now(&["--no-wait", "broken"], 0, "polling \"broken\" now");
    daemon.wait_for("broken polled again", |s| num(s, "/sources/1/polls") == 2);
    std::thread::sleep(std::time::Duration::from_millis(1200));
    poll_now(
        &["broken"],
        1,
        "\"broken\": the poll failed [http_status 404]: HTTP status 404 Not Found; next try 20",
    );
    assert!(
        daemon.log().contains("poll requested: polling now"),
        "{}",
        daemon.log()
    );
    poll_now(
        &["nobody"],
        1,
        "answered 404 Not Found: no source named \"nobody\"",
    );
    poll_now(
        &["resting"],
        1,
        "answered 409 Conflict: source \"resting\" is disabled",
    );
    // Only POST is served there.
    let (code, body) = crate::helpers::http_get(&daemon.url("/sources/fixme/poll"));
    assert_eq!(code, 405, "{body}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));

    // With a minimum interval of 10 minutes, the source polled seconds ago (before the
    // restart; its next poll is still an hour away) may not be polled again on request.
    let toml = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        toml.replace("min_interval = \"1s\"", "min_interval = \"10m\""),
    )
    .unwrap();
    let daemon = Daemon::start(&env);
    daemon.wait_for("the restarted daemon's status", |s| {
        num(s, "/sources/0/polls") == 2
    });
    let (code, _, err) = env.command(&["poll-now", "--url", &daemon.url(""), "fixme"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("429 Too Many Requests: source \"fixme\" was polled less than schedule.min_interval ago; try again in"),
        "{err}"
    );
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// `wirefold backup` (`POST /store/backup`) while the daemon runs: the copy is a store of
/// its own (a daemon started on it serves what was there), and the daemon goes on ingesting;
/// `wirefold backup --offline` once it stopped, refused before.
#[test]
fn a_backup_of_the_running_store_restores_and_the_daemon_goes_on() {
    let server = FeedServer::start();
    server.set("harbour.xml", numbered_rss("Harbour", "b", &[1]));
    let env = TestEnv::new(&[("harbour", server.url("harbour.xml"))], "1s");
    let daemon = Daemon::start(&env);
    daemon.wait_for("the first item stored", |s| num(s, "/counts/articles") == 1);

    let (code, _, err) = env.command(&["backup", "--url", &daemon.url("")]);
    assert_eq!(code, 0, "{err}");
    let path = err
        .split_once("store backed up to ")
        .and_then(|(_, rest)| rest.split_once(" ("))
        .map(|(path, _)| std::path::PathBuf::from(path))
        .unwrap_or_else(|| panic!("no path in {err}"));
    assert!(
        path.starts_with(format!("{}.backups", env.store.display())),
        "{err}"
    );
    assert!(daemon.log().contains("store backed up"), "{}", daemon.log());

    // The daemon goes on: the feed's next item is stored after the backup.
    server.set("harbour.xml", numbered_rss("Harbour", "b", &[1, 2]));
    daemon.wait_for("the second item stored", |s| {
        num(s, "/counts/articles") == 2
    });
    // No restore under a running daemon.
    let path_arg = path.display().to_string();
    let (code, _, err) = env.command(&["restore", &path_arg]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is the daemon running?"), "{err}");
    // Nor an offline backup: the files of an open store are no backup.
    let (code, _, err) = env.command(&["backup", "--offline"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is the daemon running?"), "{err}");
    let url = daemon.url("");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    // Asked of the stopped daemon, the online backup points at the offline one.
    let (code, _, err) = env.command(&["backup", "--url", &url]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("use `wirefold backup --offline`"), "{err}");

    // The daemon stopped, `backup --offline` copies the store's files beside the first
    // backup: a store of its own with both items.
    let (code, _, err) = env.command(&["backup", "--offline"]);
    assert_eq!(code, 0, "{err}");
    let offline = err
        .split_once("store backed up to ")
        .and_then(|(_, rest)| rest.split_once(" ("))
        .map(|(path, _)| std::path::PathBuf::from(path))
        .unwrap_or_else(|| panic!("no path in {err}"));
    assert_eq!(offline.parent(), path.parent(), "{err}");
    let copy = wirefold::storage::Store::open(&offline, std::time::Duration::from_millis(100));
    assert_eq!(copy.unwrap().counts().unwrap().articles, 2);

    // A daemon pointed at the copy serves what was there at the backup.
    let restored = TestEnv::with_store(&[], "1s", Some(&path));
    let daemon = Daemon::start(&restored);
    let s = daemon.wait_for("the restored store served", |s| {
        num(s, "/counts/articles") == 1
    });
    assert_eq!(num(&s, "/counts/stories"), 1, "{s:#}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));

    // `wirefold restore` puts the copy in the configured store's place, the store it
    // replaced kept aside; the daemon started again serves the restored one.
    let (code, _, err) = env.command(&["restore", &path_arg]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("restored 1 article and 1 story from"), "{err}");
    let aside = err
        .split_once("the store it replaced is at ")
        .and_then(|(_, rest)| rest.split_once(';'))
        .map(|(p, _)| std::path::PathBuf::from(p))
        .unwrap_or_else(|| panic!("no replaced store in {err}"));
    server.set("harbour.xml", numbered_rss("Harbour", "b", &[1]));
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("the restored store polled", |s| {
        num(s, "/sources/0/polls") >= 2
    });
    assert_eq!(num(&s, "/counts/articles"), 1, "{s:#}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    let replaced = wirefold::storage::Store::open(&aside, std::time::Duration::from_millis(100));
    assert_eq!(replaced.unwrap().counts().unwrap().articles, 2);
}

/// `wirefold compact`: refused while the daemon runs; a store with nothing to win is left as
/// it was; once edits have rewritten its articles a few times, the store is rewritten in
/// place, and the daemon started again serves the same articles, loads the index snapshot
/// carried over (no rebuild), and goes on storing.
#[test]
fn a_stopped_store_compacts_in_place_and_the_daemon_goes_on_from_it() {
    let server = FeedServer::start();
    server.set("harbour.xml", numbered_rss("Harbour", "b", &[1, 2, 3]));
    let env = TestEnv::new(
        &[
            ("harbour", server.url("harbour.xml")),
            ("desk", server.url("desk.xml")),
        ],
        "1s",
    );
    // The desk's 60 long items, edited in each round: every poll rewrites them all.
    let desk = |round: u32| {
        let items: Vec<(String, String, String, String)> = (0..60)
            .map(|n| {
                (
                    format!("d{n}"),
                    format!("Desk report {n} on the harbour works"),
                    format!("http://desk.test/{n}"),
                    // Words of this item's own, so that no two items fold.
                    format!(
                        "<p>Revision {round}. {}</p>",
                        (0..300)
                            .map(|k| format!("w{:x}", (n * 7919 + k * 104_729) % 999_983))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                )
            })
            .collect();
        let refs: Vec<_> = items
            .iter()
            .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
            .collect();
        crate::helpers::rss("Desk", &refs)
    };
    server.set("desk.xml", desk(0));
    let daemon = Daemon::start(&env);
    daemon.wait_for("63 items stored", |s| num(s, "/counts/articles") == 63);
    let (code, _, err) = env.command(&["compact"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is the daemon running?"), "{err}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));

    // A copy a stopped compaction left goes with the next one, which says so.
    let mut leftover = env.store.as_os_str().to_owned();
    leftover.push(".restoring-20200101T000000Z");
    std::fs::create_dir(&leftover).unwrap();
    let (code, _, err) = env.command(&["compact"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is compact already"), "{err}");
    assert!(
        err.contains(
            "restoring-20200101T000000Z, left by a restore or compaction that was stopped"
        ),
        "{err}"
    );
    assert!(!std::path::Path::new(&leftover).exists());
    for round in 1..=8 {
        server.set("desk.xml", desk(round));
        let (code, out, err) = env.command(&["once"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("updated=60"), "round {round}: {out}");
    }
    let (code, _, err) = env.command(&["compact"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("compacted {}: ", env.store.display()))
            && err.contains("MiB on disk before")
            && err.contains("(63 articles, 63 stories;"),
        "{err}"
    );
    let parent = env.store.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".replaced-") || n.contains(".restoring-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    server.set("harbour.xml", numbered_rss("Harbour", "b", &[1, 2, 3, 4]));
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("the fourth harbour item stored", |s| {
        num(s, "/counts/articles") == 64
    });
    assert_eq!(num(&s, "/counts/stories"), 64, "{s:#}");
    assert_eq!(s["store"]["previous_stop"], "clean", "{s:#}");
    let log = daemon.log();
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    assert!(
        !log.contains("rebuilding the index from the store"),
        "the carried snapshot was not used: {log}"
    );
}

/// `store.backup_every`: the daemon backs its store up by itself, keeps `backups_kept`, and
/// shows the newest in `/status` and `/metrics`; a restart finds the newest by its name; a
/// backup that fails is shown and the daemon goes on.
#[test]
fn automatic_backups_are_kept_shown_and_survive_a_restart() {
    let server = FeedServer::start();
    server.set("harbour.xml", numbered_rss("Harbour", "b", &[1]));
    let env = TestEnv::new(&[("harbour", server.url("harbour.xml"))], "1s");
    let every = [
        ("WIREFOLD_STORE__BACKUP_EVERY", "1s"),
        ("WIREFOLD_STORE__BACKUPS_KEPT", "2"),
    ];
    let daemon = Daemon::start_with(&env.config, &every);
    let metrics = || crate::helpers::http_get(&daemon.url("/metrics")).1;
    let s = daemon.wait_for("three automatic backups", |_| {
        metric(&metrics(), r#"wirefold_store_backups_total{result="ok"}"#) >= Some(3)
    });
    let b = &s["store"]["backups"];
    assert_eq!(b["every"], "1s", "{b:#}");
    assert_eq!(b["kept"], 2, "{b:#}");
    assert!(b["next"].is_string() && b["failure"].is_null(), "{b:#}");
    assert!(num(b, "/last/bytes") > 0, "{b:#}");
    let m = metrics();
    let at: f64 = m
        .lines()
        .find_map(|l| l.strip_prefix("wirefold_store_last_backup_timestamp_seconds "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(
        (at - chrono::Utc::now().timestamp() as f64).abs() < 60.0,
        "{m}"
    );
    assert!(
        daemon.log().contains("why=\"schedule\""),
        "{}",
        daemon.log()
    );
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    let root = std::path::PathBuf::from(format!("{}.backups", env.store.display()));
    let mut kept: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");

    // Without automatic backups, a restart still knows the newest one, by its name.
    let daemon = Daemon::start(&env);
    let s = daemon.status();
    let b = &s["store"]["backups"];
    assert_eq!(
        b["last"]["path"],
        root.join(&kept[1]).display().to_string(),
        "{b:#}"
    );
    assert!(b["last"]["bytes"].is_null() && b["every"].is_null() && b["next"].is_null());
    assert!(crate::helpers::http_get(&daemon.url("/metrics"))
        .1
        .contains("wirefold_store_last_backup_timestamp_seconds"));
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));

    // A backup directory that cannot be made (under a file; a backup_dir that is a file
    // itself is refused by the configuration): the failure is shown, the daemon goes on.
    let blocked = env.dir().join("not-a-dir");
    std::fs::write(&blocked, "a file").unwrap();
    let blocked = blocked.join("backups").display().to_string();
    let daemon = Daemon::start_with(
        &env.config,
        &[every[0], ("WIREFOLD_STORE__BACKUP_DIR", blocked.as_str())],
    );
    let s = daemon.wait_for("the failed backup shown", |s| {
        s["store"]["backups"]["failure"]["message"].is_string()
    });
    let failure = s["store"]["backups"]["failure"]["message"]
        .as_str()
        .unwrap_or("");
    assert!(failure.contains("not-a-dir"), "{failure}");
    assert!(s["store"]["backups"]["last"].is_null(), "{s:#}");
    let page = crate::helpers::http_get(&daemon.url("/")).1;
    assert!(
        page.contains("id=\"backup\">The store's backup at") && page.contains("not-a-dir"),
        "{page}"
    );
    server.set("harbour.xml", numbered_rss("Harbour", "b", &[1, 2]));
    daemon.wait_for("the next item stored", |s| num(s, "/counts/articles") == 2);
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// A poll error stored by a wirefold older than the URL redaction keeps its URL as it was
/// made until the source's next poll, hours away in back-off: `/status` and the page show
/// it redacted all the same.
#[test]
fn an_error_stored_before_the_redaction_is_shown_without_credentials() {
    use wirefold::storage::{ErrorRecord, SourceState, Store};
    let url = "http://bob:hunter2@127.0.0.1:1/feed.xml?token=T0KEN";
    let env = TestEnv::new(&[("broken", url.into())], "1h");
    let now = chrono::Utc::now().timestamp_millis();
    {
        let store = Store::open(&env.store, std::time::Duration::from_millis(100)).unwrap();
        let state = SourceState {
            configured_url: Some(url.into()),
            last_poll: Some(now - 60_000),
            next_poll: Some(now + 3_600_000),
            failures: 1,
            polls: 1,
            last_error: Some(ErrorRecord {
                class: "connect".into(),
                message: format!("error sending request for url ({url}): connection refused"),
                at: now - 60_000,
                status: None,
            }),
            ..SourceState::default()
        };
        store.put_source_state("broken", &state).unwrap();
        store.flush().unwrap();
    }
    let daemon = Daemon::start(&env);
    let s = daemon.wait_for("the stored error shown", |s| {
        !s["sources"][0]["last_error"].is_null()
    });
    assert_eq!(num(&s, "/sources/0/polls"), 1, "not polled again: {s:#}");
    assert_eq!(
        s["sources"][0]["last_error"]["message"],
        "error sending request for url (http://bob:xxxxx@127.0.0.1:1/feed.xml?token=xxxxx): connection refused",
        "{s:#}"
    );
    let page = crate::helpers::http_get(&daemon.url("/")).1;
    for secret in ["hunter2", "T0KEN"] {
        assert!(!page.contains(secret), "{secret} in the page:\n{page}");
    }
    assert!(page.contains("token=xxxxx"), "{page}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// A feed behind an API key in a header (`headers = { "X-Api-Key" = "${WIRE_KEY}" }`, the
/// key from the daemon's environment): the polls carry it, a reload that changes it applies
/// it to the next poll, and the key is never shown.
#[test]
fn a_sources_own_headers_open_its_feed_and_are_never_shown() {
    use crate::helpers::KEY;
    let server = FeedServer::start();
    server.set("keyed/feed.xml", numbered_rss("Keyed", "k", &[1]));
    let env = TestEnv::new(&[], "1s");
    let source = |key: &str| {
        format!(
            "[[sources]]\nname = \"paid\"\nurl = \"{}\"\ninterval = \"1s\"\n\
             headers = {{ \"X-Api-Key\" = \"{key}\", \"User-Agent\" = \"monitor-desk/2\" }}\n",
            server.url("keyed/feed.xml")
        )
    };
    let base = std::fs::read_to_string(&env.config).unwrap();
    // The key from the daemon's environment (systemd's EnvironmentFile=), not the file.
    std::fs::write(&env.config, format!("{base}{}", source("${WIRE_KEY}"))).unwrap();
    let daemon = Daemon::start_with(&env.config, &[("WIRE_KEY", KEY)]);
    daemon.wait_for("the keyed feed stored", |s| num(s, "/counts/articles") == 1);

    // A rotated key (here a wrong one) is used from the next poll on: refused with 401.
    let rotated = "r0tated-k3y-value";
    std::fs::write(&env.config, format!("{base}{}", source(rotated))).unwrap();
    daemon.hangup();
    let s = daemon.wait_for("the rotated key refused", |s| {
        s["sources"][0]["last_error"]["status"] == 401
    });
    // Rotated back, the feed's new item arrives.
    server.set("keyed/feed.xml", numbered_rss("Keyed", "k", &[1, 2]));
    std::fs::write(&env.config, format!("{base}{}", source("${WIRE_KEY}"))).unwrap();
    daemon.hangup();
    let s2 = daemon.wait_for("the second item stored", |s| {
        num(s, "/counts/articles") == 2 && num(s, "/sources/0/failures") == 0
    });
    let shown = [
        s.to_string(),
        s2.to_string(),
        crate::helpers::http_get(&daemon.url("/")).1,
        crate::helpers::http_get(&daemon.url("/metrics")).1,
        crate::helpers::http_get(&daemon.url("/stories")).1,
        daemon.log(),
    ];
    for (what, text) in ["status", "status", "page", "metrics", "stories", "log"]
        .iter()
        .zip(shown)
    {
        for secret in [KEY, rotated] {
            assert!(!text.contains(secret), "{secret} in the {what}:\n{text}");
        }
    }
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    // export-opml cannot carry the headers, and says so; it needs no key to run.
    let (code, out, err) = env.command(&["export-opml"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(KEY), "{out}");
    assert!(
        err.contains("source \"paid\": its headers are not written"),
        "{err}"
    );
}

/// Behind a forward proxy (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` in the
/// daemon's environment, as a newsroom network often requires) every poll goes through it.
/// The feed server stands in for the proxy: it answers the absolute-form request by its path.
/// The source's own address has nothing listening, so only the proxy can have answered.
#[test]
fn polls_go_through_the_proxy_the_environment_names() {
    let proxy = FeedServer::start();
    proxy.set(
        "feed.xml",
        rss(
            "Proxied",
            &[(
                "x1",
                "Ferry line opens",
                "http://x.test/1",
                "<p>Some text here.</p>",
            )],
        ),
    );
    let env = TestEnv::new(&[("far", "http://127.0.0.2:9/feed.xml".into())], "1s");
    let via = format!("http://{}", proxy.addr);
    let daemon = Daemon::start_with(&env.config, &[("HTTP_PROXY", via.as_str())]);
    let s = daemon.wait_for("the feed stored through the proxy", |s| {
        num(s, "/counts/articles") == 1
    });
    assert_eq!(num(&s, "/sources/0/failures"), 0, "{s:#}");
    assert!(proxy.hits("feed.xml") >= 1);
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// A log reader that goes away (`wirefold run 2>&1 | head`, a collector that dies) costs the
/// log lines, not the daemon: tracing-subscriber reported a failed write with `eprintln!`,
/// which panics when stderr is that same broken pipe (exit code 101, no index snapshot).
#[test]
fn a_closed_stderr_costs_the_log_lines_not_the_daemon() {
    // Every poll after ready logs a line into the closed pipe; ingesting goes on.
    let (_server, env, daemon, s) = wire_daemon(Daemon::start_then_close_log, 2);
    assert_eq!(num(&s, "/counts/stories"), 2, "{s:#}");
    let store = env.store.clone();
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0), "exit code with stderr closed");
    assert!(
        store.join("index.snapshot").is_file(),
        "the shutdown saved no index snapshot"
    );
}

/// A second SIGTERM or Ctrl-C while the stop waits for its grace period (here a client that
/// never finishes its request holds the HTTP server's drain) ends the process at once, with
/// exit code 1; the store opens again afterwards, as after a crash.
#[test]
fn a_second_stop_signal_exits_at_once() {
    use std::io::Write;
    use std::time::Duration;
    let env = TestEnv::new(&[], "1h");
    let daemon = Daemon::start_with(
        &env.config,
        &[
            ("WIREFOLD_HTTP__REQUEST_TIMEOUT", "60s"),
            ("WIREFOLD_HTTP__SHUTDOWN_GRACE", "30s"),
        ],
    );
    let mut held = std::net::TcpStream::connect(daemon.addr).unwrap();
    held.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pid = daemon.pid().unwrap() as i32;
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    daemon.wait_for_log("shutting down");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: as above.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let (code, log) = daemon.wait_exit(Duration::from_secs(10));
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("a second stop signal"), "{log}");
    drop(held);
    let again = Daemon::start(&env);
    assert_eq!(again.status()["counts"]["articles"], 0);
    // Left as after a crash, and told so.
    assert_eq!(again.status()["store"]["previous_stop"], "unclean");
}

/// An address in use fails the start at once, before the store is opened: no empty store
/// is left behind, and the message names the key to change.
#[test]
fn a_listen_address_in_use_fails_the_start_before_the_store_is_opened() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let env = TestEnv::new(&[], "1h");
    let out = crate::helpers::wirefold()
        .args(["run", "--config"])
        .arg(&env.config)
        .env_remove("WIREFOLD_CONFIG")
        .env_remove("RUST_LOG")
        .env("WIREFOLD_HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!(
            "cannot listen on http.listen 127.0.0.1:{port} (another process uses the port"
        )),
        "{err}"
    );
    assert!(!env.store.exists(), "a store was created: {err}");
    drop(taken);
    // An address no interface has (a documentation address): told as such, not as a port
    // in use.
    let out = crate::helpers::wirefold()
        .args(["run", "--config"])
        .arg(&env.config)
        .env_remove("WIREFOLD_CONFIG")
        .env_remove("RUST_LOG")
        .env("WIREFOLD_HTTP__LISTEN", "192.0.2.1:18080")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("cannot listen on http.listen 192.0.2.1:18080 (no interface of this machine has that address"),
        "{err}"
    );
}
