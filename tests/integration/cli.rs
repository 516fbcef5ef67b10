//! The one-shot commands: check-config, once, export, health-check.

use crate::helpers::{numbered_rss, rss, Daemon, FeedServer, TestEnv};

#[test]
fn check_config_names_every_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[http]
listen = "everywhere"
[fetch]
timeout = "0s"
colour = "blue"
[[sources]]
name = "dup"
url = "https://example.com/a.xml"
[[sources]]
name = "dup"
url = "gopher://example.com/"
interval = "often"
"#,
    )
    .unwrap();
    let out = crate::helpers::wirefold()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "http.listen",
        "fetch.timeout",
        "fetch.colour: unknown key",
        "sources[1].name (source \"dup\"): duplicate",
        "sources[1].url (source \"dup\"): scheme \"gopher\"",
        "sources[1].interval (source \"dup\")",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }

    let env = TestEnv::new(&[("a", "https://example.com/feed".into())], "5m");
    let (code, out, err) = env.command(&["check-config"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok (1 source, 1 enabled)"), "{out}");
}

/// `/dev/full`: every write to it fails (ENOSPC), as a write to a closed pipe does (EPIPE),
/// and `println!` panics on both.
fn full() -> std::process::Stdio {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

#[test]
fn one_shot_commands_report_a_failed_stdout_and_never_panic() {
    let env = TestEnv::new(&[("a", "https://example.com/feed".into())], "5m");
    let opml = env.dir().join("subs.opml");
    std::fs::write(
        &opml,
        r#"<opml version="2.0"><body><outline text="B" xmlUrl="https://b.example.com/rss"/></body></opml>"#,
    )
    .unwrap();
    let mut commands = vec![
        vec![
            "check-config".to_string(),
            "--config".into(),
            env.config.display().to_string(),
        ],
        vec![
            "import-opml".to_string(),
            opml.display().to_string(),
            "--config".into(),
            env.config.display().to_string(),
        ],
        vec![
            "export-opml".to_string(),
            "--config".into(),
            env.config.display().to_string(),
        ],
    ];
    // The evaluation over the shared wire story and the fixtures (quick), when the corpus is here.
    if let Some(corpus) = crate::helpers::corpus("") {
        commands.push(
            ["eval", "--set", "wire", "--no-peer", "--corpus"]
                .map(String::from)
                .into_iter()
                .chain([corpus.display().to_string()])
                .collect(),
        );
    }
    for args in &commands {
        // stdout fails: the error on stderr, exit 1.
        let out = crate::helpers::wirefold()
            .args(args)
            .stdout(full())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("wirefold: error:") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
        // stderr fails too: the report is lost, the exit code is not.
        let out = crate::helpers::wirefold()
            .args(args)
            .stdout(full())
            .stderr(full())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
    // A bad configuration with stderr failing: exit 2, as with the report readable.
    let bad = env.dir().join("bad.toml");
    std::fs::write(&bad, "[http]\nlisten = \"everywhere\"\n").unwrap();
    let out = crate::helpers::wirefold()
        .args(["check-config", "--config"])
        .arg(&bad)
        .stderr(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_path_falls_back_to_the_environment() {
    let env = TestEnv::new(&[("a", "https://example.com/feed".into())], "5m");
    let out = crate::helpers::wirefold()
        .arg("check-config")
        .env("WIREFOLD_CONFIG", &env.config)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn once_summarizes_each_source_then_export_sees_a_locked_store() {
    let server = FeedServer::start();
    server.set(
        "a.xml",
        rss(
            "A",
            &[
                (
                    "1",
                    "First item",
                    "http://a.test/1",
                    "<p>The first item has its own words.</p>",
                ),
                (
                    "2",
                    "Second item",
                    "http://a.test/2",
                    "<p>Entirely different text for the second.</p>",
                ),
            ],
        ),
    );
    let env = TestEnv::new(
        &[("a", server.url("a.xml")), ("gone", server.url("gone.xml"))],
        "5m",
    );
    let out = env.command_ok(&["once"]);
    assert!(
        out.contains("a: ok seen=2 new=2 updated=0 copies=0"),
        "{out}"
    );
    assert!(
        out.contains("gone: error [http_status(404)] HTTP status 404 Not Found"),
        "{out}"
    );

    // Every source failing makes `once` fail.
    let env_bad = TestEnv::new(&[("gone", server.url("gone.xml"))], "5m");
    let (code, _, _) = env_bad.command(&["once"]);
    assert_ne!(code, 0);

    // export --since in the future selects nothing; a past time selects everything.
    let out = env.command_ok(&["export", "--since", "2999-01-01"]);
    assert_eq!(out.lines().count(), 0);
    let out = env.command_ok(&["export", "--since", "1h"]);
    assert_eq!(out.lines().count(), 2, "{out}");

    // While the daemon holds the store, export says so instead of failing obscurely.
    let daemon = Daemon::start(&env);
    let (code, _, err) = env.command(&["export"]);
    assert_ne!(code, 0);
    assert!(err.contains("locked by another process"), "{err}");

    // health-check against the live daemon, then against nothing.
    let out = crate::helpers::wirefold()
        .args(["health-check", "--url", &daemon.url("/healthz")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // A proxy set in the environment (for the daemon's polls, as a container's) is not for
    // the daemon's own API: the clients sent it their requests, the token with them, and
    // its refusal failed the container's health check (observability audit, session 66).
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    for args in [
        vec!["health-check", "--url", &daemon.url("/healthz")],
        vec![
            "stats",
            "--url",
            &daemon.url("/"),
            "--token",
            "PROXIED-TOKEN",
        ],
    ] {
        let mut cmd = crate::helpers::wirefold();
        for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
            cmd.env(var, &proxy_url);
        }
        cmd.env_remove("NO_PROXY").env_remove("no_proxy");
        let out = cmd.args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
    assert!(
        proxy
            .accept()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "a client went through the proxy"
    );
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    let out = crate::helpers::wirefold()
        .args([
            "health-check",
            "--url",
            &format!("http://{}/healthz", server.addr)
                .replace(&server.addr.port().to_string(), "1"),
        ])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    // Nothing answers: the error quotes the URL as typed, without its credentials.
    for args in [
        [
            "health-check",
            "--url",
            "http://hc:HCPW1@127.0.0.1:1/healthz?token=HCTOK",
        ],
        ["stats", "--url", "http://st:STPW2@127.0.0.1:1"],
        ["poll-now", "--url", "http://pn:PNPW3@127.0.0.1:1"],
    ] {
        let mut cmd = crate::helpers::wirefold();
        cmd.args(args);
        if args[0] == "poll-now" {
            cmd.arg("a");
        }
        let out = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.contains("xxxxx@127.0.0.1:1"), "{args:?}: {err}");
        for secret in ["HCPW1", "HCTOK", "STPW2", "PNPW3"] {
            assert!(!err.contains(secret), "{args:?}: {err}");
        }
    }
}

/// A configuration file broken after the daemon started (a reload refuses it and the daemon
/// runs on) does not fail `health-check`: it asks `WIREFOLD_HTTP__LISTEN`'s address, as a
/// container's `HEALTHCHECK` does.
#[test]
fn health_check_survives_a_configuration_broken_since_the_start() {
    let env = TestEnv::new(&[], "5m");
    let daemon = Daemon::start(&env);
    let addr = daemon
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    env.append_config("[[[ not toml\n");
    let check = |listen: Option<&str>| {
        let mut cmd = crate::helpers::wirefold();
        cmd.args(["health-check", "--config"]).arg(&env.config);
        cmd.env_remove("WIREFOLD_HTTP__LISTEN");
        if let Some(l) = listen {
            cmd.env("WIREFOLD_HTTP__LISTEN", l);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = check(Some(&addr));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("cannot read"), "{err}");
    assert!(err.contains(&format!("asking http://{addr}")), "{err}");
    // A port nothing listens on is unhealthy, not a pass.
    let (code, _) = check(Some("127.0.0.1:1"));
    assert_eq!(code, Some(1));
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// `health-check` and `stats` ask the address the running daemon bound (its marker in the
/// store says), not `http.listen` as the file says now: port 0, or a port edited for the next
/// restart. Once the daemon has stopped, the file's address is asked, and fails.
#[test]
fn client_commands_ask_the_address_the_daemon_bound() {
    let env = TestEnv::new(&[], "5m");
    let daemon = Daemon::start(&env);
    // The test configuration listens on port 0.
    let out = env.command_ok(&["health-check"]);
    assert_eq!(out, "");
    let status = env.command_ok(&["stats"]);
    assert!(status.contains("sources"), "{status}");
    let toml = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        toml.replace(r#"listen = "127.0.0.1:0""#, r#"listen = "127.0.0.1:1""#),
    )
    .unwrap();
    env.command_ok(&["health-check"]);
    // No configuration at all: `WIREFOLD_HTTP__LISTEN` says where the daemon is.
    let addr = daemon.url("");
    let nowhere = tempfile::tempdir().unwrap();
    let out = crate::helpers::wirefold()
        .arg("stats")
        .current_dir(nowhere.path())
        .env_remove("WIREFOLD_CONFIG")
        .env(
            "WIREFOLD_HTTP__LISTEN",
            addr.trim_start_matches("http://").trim_end_matches('/'),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    let (code, _, err) = env.command(&["health-check"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
}

/// `once` run again (from a timer) leaves a host alone for the pause it asked for with
/// `Retry-After`, its other sources too, and marks the store as in use while it runs.
#[test]
fn once_respects_a_hosts_pause_across_runs() {
    let server = crate::fault_server::FaultServer::start();
    let env = TestEnv::new(
        &[
            ("limited", server.url("429-seconds.xml")),
            ("neighbour", server.url("etag.xml")),
        ],
        "5m",
    );
    let (code, out, err) = env.command(&["once"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("limited: error [http_status(429)]"), "{out}");
    assert_eq!(server.hits("429-seconds.xml"), 1);
    assert!(!env.store.join("wirefold.running").exists());
    let neighbour_hits = server.hits("etag.xml");

    // A run that was killed left its marker: the next one says so.
    std::fs::write(env.store.join("wirefold.running"), "4242 1000\n").unwrap();
    let (code, out, err) = env.command(&["once"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let host = server.addr.to_string();
    for name in ["limited", "neighbour"] {
        assert!(
            out.contains(&format!(
                "{name}: not polled: {host} asked for a pause (Retry-After), 59m"
            )),
            "{out}"
        );
    }
    assert_eq!(server.hits("429-seconds.xml"), 1);
    assert_eq!(server.hits("etag.xml"), neighbour_hits);
    assert!(err.contains("did not stop cleanly"), "{err}");
    assert!(!env.store.join("wirefold.running").exists());

    // The daemon started on that store goes on with the pause, says so, and shows it on
    // both sources: the neighbour, whose own polls succeeded, looked fine and unpolled.
    let daemon = Daemon::start(&env);
    daemon.wait_for_log("Retry-After pause goes on after the restart");
    let s = daemon.status();
    for i in 0..2 {
        assert!(
            s["sources"][i]["host_paused_until"].is_string(),
            "{}: {s:#}",
            s["sources"][i]["name"]
        );
    }
    let page = crate::helpers::http_get(&daemon.url("/")).1;
    assert_eq!(page.matches("host paused until").count(), 2, "{page}");
    // The source that learnt the pause removed by a reload: the pause stays in force, and
    // shows on the neighbour still.
    let toml = std::fs::read_to_string(&env.config).unwrap();
    let limited = format!(
        "[[sources]]\nname = \"limited\"\nurl = \"{}\"\ninterval = \"5m\"\n",
        server.url("429-seconds.xml")
    );
    assert!(toml.contains(&limited), "{toml}");
    std::fs::write(&env.config, toml.replace(&limited, "")).unwrap();
    daemon.hangup();
    let s = daemon.wait_for("limited removed", |s| {
        crate::helpers::num(s, "/counts/sources") == 1
    });
    assert_eq!(s["sources"][0]["name"], "neighbour", "{s:#}");
    assert!(s["sources"][0]["host_paused_until"].is_string(), "{s:#}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    assert_eq!(server.hits("429-seconds.xml"), 1);
    assert_eq!(server.hits("etag.xml"), neighbour_hits);
}

/// `[[normalize.rules]]` reaches the daemon's ingest: a paragraph that only the operator's rule
/// knows as boilerplate leaves the stored text and the fingerprint, so the two outlets' copies
/// fold as exact copies; without the rule (the same feeds, another store) the paragraph is
/// kept and the copies fold only as near copies.
#[test]
fn operator_rules_from_the_config_clean_text_and_fingerprints() {
    const BODY: [&str; 4] = [
        "Dock workers at the northern container terminal walked out on Tuesday morning after \
         talks over night-shift pay broke down, leaving eleven cranes idle and a queue of \
         ships waiting in the outer anchorage.",
        "The union said its members would stay out until the operator restored the allowance \
         it cut in the spring, which workers say made up a fifth of their take-home pay.",
        "The terminal operator said it had offered a phased return of the allowance over two \
         years and called the strike premature, adding that perishable cargo would be diverted \
         to the southern berths.",
        "Shipping agents expected delays of three to four days for vessels already in the \
         queue, and said freight forwarders had begun booking space at a rival port along the \
         coast.",
    ];
    const PLUG: &str =
        "Tide tables for the week are on page 12 of the Harbour Bulletin print edition.";
    let html = |paras: &[&str]| -> String { paras.iter().map(|p| format!("<p>{p}</p>")).collect() };
    let mut with_plug = BODY.to_vec();
    with_plug.push(PLUG);
    let server = FeedServer::start();
    let headline = "Dock workers strike at container terminal";
    server.set(
        "port.xml",
        rss(
            "Port News",
            &[("p-1", headline, "http://port.test/1", &html(&with_plug))],
        ),
    );
    server.set(
        "wire.xml",
        rss(
            "Wire",
            &[("w-1", headline, "http://wire.test/1", &html(&BODY))],
        ),
    );
    let sources = [
        ("port", server.url("port.xml")),
        ("wire", server.url("wire.xml")),
    ];

    // (text of port's copy, one story for both, both similarities 1.0)
    let run = |env: &TestEnv| -> (String, bool, bool) {
        env.command_ok(&["once"]);
        let articles = env.export();
        assert_eq!(articles.len(), 2, "{articles:?}");
        let port = articles
            .iter()
            .find(|a| a["source"] == "port")
            .expect("port's article");
        assert_eq!(port["date_source"], "published", "{port}");
        let same_story = articles[0]["story"] == articles[1]["story"];
        let exact = articles
            .iter()
            .all(|a| a["similarity"].as_f64() == Some(1.0));
        (
            port["text"].as_str().unwrap_or_default().to_owned(),
            same_story,
            exact,
        )
    };

    let plain = TestEnv::new(&sources, "5m");
    let (text, same_story, exact) = run(&plain);
    assert!(text.contains("Harbour Bulletin"), "{text}");
    assert!(
        same_story,
        "the copies are near copies without the rule too"
    );
    assert!(
        !exact,
        "without the rule the plug makes the copies near, not exact"
    );

    let ruled = TestEnv::new(&sources, "5m");
    ruled.append_config(
        r#"
[[normalize.rules]]
name = "harbour-bulletin"
position = "whole"
pattern = "(?i)tide tables for the week are on page \\d+ of .* print edition\\."
drop_from_display = true
"#,
    );
    let out = ruled.command_ok(&["check-config"]);
    assert!(
        out.contains("ok (2 sources, 2 enabled, 1 boilerplate rule of its own)"),
        "{out}"
    );
    let (text, same_story, exact) = run(&ruled);
    assert!(!text.contains("Harbour Bulletin"), "{text}");
    assert!(text.contains("rival port along the coast."), "{text}");
    assert!(
        same_story && exact,
        "the rule makes the two copies exact copies"
    );

    // A bad rule stops the daemon from starting, with the key named.
    ruled.append_config(
        "[[normalize.rules]]\nname = \"broken\"\nposition = \"whole\"\npattern = \"(open\"\n",
    );
    let (code, _, err) = ruled.command(&["once"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("normalize.rules[1].pattern: rule \"broken\": not a valid pattern"),
        "{err}"
    );
}

/// `wirefold normalize FILE` prints each entry as the ingest normalizes it, with the
/// configuration's rules: the tool an operator checks a new rule with.
#[test]
fn normalize_prints_what_the_configured_rules_leave() {
    let env = TestEnv::new(&[("a", "https://example.com/feed".into())], "5m");
    let feed = env.dir().join("harbour.xml");
    std::fs::write(
        &feed,
        rss(
            "Harbour",
            &[(
                "h-1",
                "Cranes idle at the container terminal",
                "http://port.test/1?utm_source=rss",
                "<p>LISBON, March 3 (Reuters) - Dock workers walked out on Tuesday over \
                 night-shift pay.</p><p>Tide tables for the week are on page 12.</p>",
            )],
        ),
    )
    .expect("write feed");
    let feed_arg = feed.to_str().expect("utf-8 path");
    let entry = |env: &TestEnv| -> serde_json::Value {
        let out = env.command_ok(&["normalize", feed_arg]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1, "{out}");
        serde_json::from_str(lines[0]).expect("a JSON line")
    };

    // The built-in rules alone: the dateline leaves the fingerprint, the tide line stays.
    let e = entry(&env);
    assert_eq!(e["key"], "g:h-1");
    assert_eq!(e["url"], "http://port.test/1");
    // Named and dated as `export` writes them.
    assert_eq!(e["date_source"], "published");
    assert_eq!(e["published"], "2023-04-17T10:05:00Z");
    let fp = e["fingerprint_text"].as_str().unwrap_or_default();
    assert!(fp.starts_with("dock workers walked out"), "{fp}");
    assert!(fp.contains("tide tables"), "{fp}");

    // With the operator's rule the tide line leaves the fingerprint; kept for display.
    env.append_config(
        "[[normalize.rules]]\nname = \"tides\"\nposition = \"whole\"\n\
         pattern = \"Tide tables for the week are on page \\\\d+\\\\.\"\n",
    );
    let e = entry(&env);
    let fp = e["fingerprint_text"].as_str().unwrap_or_default();
    assert_eq!(
        fp,
        "dock workers walked out on tuesday over night-shift pay"
    );
    let text = e["text"].as_str().unwrap_or_default();
    assert!(text.contains("Tide tables"), "{text}");

    // Problems elsewhere in the configuration (a source that would not start) do not stop
    // it (a bad rule does: below).
    env.append_config("[[sources]]\nname = \"broken\"\nurl = \"gopher://x.test/\"\n");
    let (code, _, err) = env.command(&["once"]);
    assert_ne!(code, 0, "{err}");
    let e = entry(&env);
    assert!(e["fingerprint_text"].as_str().is_some(), "{e}");

    // With no configuration named and none in the working directory: the built-in rules.
    let out = crate::helpers::wirefold()
        .args(["normalize", feed_arg])
        .current_dir(env.dir())
        .env_remove("WIREFOLD_CONFIG")
        .output()
        .expect("run wirefold");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("and 0 of normalize.rules"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);

    // Not a feed: a clear error, non-zero.
    let (code, _, err) = env.command(&["normalize", env.config.to_str().expect("utf-8")]);
    assert_ne!(code, 0);
    assert!(
        err.contains("parsing") && err.contains("wirefold.toml"),
        "{err}"
    );

    // A feed whose error quotes escape sequences and a line break (a tag name): written as
    // escapes, on the error's one line, as the daemon's log writes them.
    let hostile = env.dir().join("hostile.xml");
    std::fs::write(
        &hostile,
        "<rss version=\"2.0\"><channel><title>T</title></chan\u{1b}[31mnel\u{1b}]0;X\u{7}\n\
         2026-01-01T00:00:00Z ERROR forged>",
    )
    .unwrap();
    let (code, _, err) = env.command(&["normalize", hostile.to_str().expect("utf-8")]);
    assert_ne!(code, 0);
    assert!(!err.contains(['\u{1b}', '\u{7}']), "{err:?}");
    assert!(
        err.contains("\\u{1b}[31m") && err.contains("\\n2026"),
        "{err:?}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");

    // So does a misspelt section, whose rules would be left out without a word.
    let typo = env.dir().join("typo.toml");
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &typo,
        text.replace("[[normalize.rules]]", "[[normalise.rules]]"),
    )
    .unwrap();
    let out = crate::helpers::wirefold()
        .args(["normalize", "--config"])
        .arg(&typo)
        .arg(feed_arg)
        .env_remove("WIREFOLD_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("normalise: unknown key"), "{err}");
    // Not another stray key of the file, nor a variable meant for the daemon.
    std::fs::write(&typo, format!("colour = 1\n{text}")).unwrap();
    let out = crate::helpers::wirefold()
        .args(["normalize", "--config"])
        .arg(&typo)
        .arg(feed_arg)
        .env_remove("WIREFOLD_CONFIG")
        .env("WIREFOLD_SCHEDULE_MIN_INTERVAL", "1m")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // A bad rule stops it, named alone.
    env.append_config(
        "[[normalize.rules]]\nname = \"broken\"\nposition = \"whole\"\npattern = \"(open\"\n",
    );
    let (code, _, err) = env.command(&["normalize", feed_arg]);
    assert_ne!(code, 0);
    assert!(
        err.contains("normalize.rules[1].pattern") && !err.contains("sources["),
        "{err}"
    );
}

/// A feed reader's OPML export becomes `[[sources]]` entries: appended to the configuration
/// and applied by a reload, its new feeds are polled; one already configured, one listed
/// twice and one that is not http(s) are left out, each with its reason.
#[test]
fn import_opml_prints_sources_a_reload_then_polls() {
    let server = FeedServer::start();
    for (path, title) in [
        ("one.xml", "Ferry line opens"),
        ("two.xml", "Frost hits orchards"),
    ] {
        let link = format!("http://{path}.test/1");
        server.set(
            path,
            rss(
                path,
                &[(path, title, &link, "<p>Some text of the story.</p>")],
            ),
        );
    }
    let env = TestEnv::new(&[("one", server.url("one.xml"))], "1s");
    let opml = env.dir().join("subs.opml");
    std::fs::write(
        &opml,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Export</title></head><body>
<outline text="News" title="News">
  <outline type="rss" text="The One" xmlUrl="{one}"/>
  <outline type="rss" text="Two &amp; Co" xmlUrl="{two}"/>
  <outline type="rss" text="Two again" xmlUrl="{two}"/>
</outline>
<outline type="rss" text="Mail" xmlUrl="mailto:desk@example.org"/>
<outline type="rss" text="Files" xmlUrl="ftp://reader:hunter2@files.test/feed.xml"/>
</body></opml>"#,
            one = server.url("one.xml"),
            two = server.url("two.xml"),
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&env);
    daemon.wait_for("one polled", |s| {
        crate::helpers::num(s, "/counts/articles") == 1
    });

    let path = opml.display().to_string();
    let (code, out, err) = env.command(&["import-opml", &path, "--interval", "2s"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("# 1 source from "), "{out}");
    assert!(
        out.contains(&format!(
            "[[sources]]\nname = \"Two & Co\"\nurl = \"{}\"\ninterval = \"2s\"\n",
            server.url("two.xml")
        )),
        "{out}"
    );
    assert!(err.contains("5 feeds in "), "{err}");
    assert!(
        err.contains(r#""The One""#) && err.contains(r#"already configured as "one""#),
        "{err}"
    );
    assert!(
        err.contains(r#"already listed earlier in the file, as "Two & Co""#),
        "{err}"
    );
    assert!(err.contains(r#"scheme "mailto""#), "{err}");
    // A feed left out is listed without the password in its URL.
    assert!(
        err.contains("<ftp://reader:xxxxx@files.test/feed.xml>") && !err.contains("hunter2"),
        "{err}"
    );

    env.append_config(&out);
    env.command_ok(&["check-config"]);
    daemon.hangup();
    let s = daemon.wait_for("the imported source polled", |s| {
        crate::helpers::num(s, "/counts/articles") == 2
    });
    assert_eq!(s["sources"][1]["name"], "Two & Co", "{s:#}");

    // Imported once, the feed is configured: a second import adds nothing.
    let (code, out, err) = env.command(&["import-opml", &path]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("# 0 sources from ") && !out.contains("[[sources]]"),
        "{out}"
    );
    assert!(err.contains(r#"already configured as "Two & Co""#), "{err}");

    // Exported, the configured list is both sources, and importing it adds nothing.
    let exported = env.command_ok(&["export-opml"]);
    assert_eq!(exported.matches("<outline ").count(), 2, "{exported}");
    assert!(exported.contains(r#"text="Two &amp; Co""#), "{exported}");
    let round = env.dir().join("exported.opml");
    std::fs::write(&round, &exported).unwrap();
    let (code, out, err) = env.command(&["import-opml", &round.display().to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("# 0 sources from "), "{out}");
    assert!(
        err.contains("2 feeds in ") && err.contains("0 to add, 2 left out"),
        "{err}"
    );

    // Not an OPML file, and an interval the schedule refuses: specific errors, exit 1.
    let (code, _, err) = env.command(&["import-opml", &env.config.display().to_string()]);
    assert_eq!(code, 1);
    assert!(err.contains("not an OPML file"), "{err}");
    let (code, _, err) = env.command(&["import-opml", &path, "--interval", "7d"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--interval 7d is outside schedule bounds; allowed: 1s to 6h"),
        "{err}"
    );
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// A command refused for its token says why: a daemon reads `http.token` when it starts, so
/// after the token was edited (and SIGHUP, which says it needs a restart) the command's new
/// one is refused until the daemon restarts; a command that sent none is told where it is.
#[test]
fn a_refused_token_is_explained_to_the_command() {
    let server = FeedServer::start();
    server.set("d.xml", numbered_rss("Harbour", "t", &[1]));
    let env = TestEnv::new(&[("d", server.url("d.xml"))], "1h");
    let with_token = |token: &str| {
        let toml = std::fs::read_to_string(&env.config).unwrap();
        let toml = match toml.find("\ntoken = ") {
            Some(at) => {
                let end = at + 1 + toml[at + 1..].find('\n').unwrap();
                format!("{}\ntoken = \"{token}\"{}", &toml[..at], &toml[end..])
            }
            None => toml.replacen(
                "listen = \"127.0.0.1:0\"",
                &format!("listen = \"127.0.0.1:0\"\ntoken = \"{token}\""),
                1,
            ),
        };
        std::fs::write(&env.config, toml).unwrap();
    };
    with_token("first-token-0123456789");
    let daemon = Daemon::start(&env);
    let (code, _, err) = env.command(&["stats"]);
    assert_eq!(code, 0, "{err}");

    with_token("second-token-0123456789");
    daemon.hangup();
    daemon.wait_for_log("restart");
    let (code, _, err) = env.command(&["stats"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("401") && err.contains("started before the token was edited"),
        "{err}"
    );
    // Told where the daemon is but given no configuration: no token sent.
    let out = crate::helpers::wirefold()
        .args(["stats", "--url", &daemon.url("")])
        .env_remove("WIREFOLD_CONFIG")
        .current_dir(env.dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the command sent no token"), "{err}");
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// An item whose link is only a fragment, or empty, links to the feed itself: stored with
/// the feed's URL as it was configured, its token went out with every article surface
/// (`export` here; the API and the page show the same URL).
#[test]
fn an_item_linking_to_its_feed_is_stored_without_the_feeds_credentials() {
    let server = FeedServer::start();
    server.set(
        "feed.xml",
        rss(
            "Private",
            &[
                (
                    "p-1",
                    "Ferry line opens",
                    "#post-1",
                    "<p>The ferry runs.</p>",
                ),
                ("p-2", "Frost hits orchards", "", "<p>Frost came early.</p>"),
            ],
        ),
    );
    let url = format!("{}?token=T0KSECRET&edition=2", server.url("feed.xml"));
    let env = TestEnv::new(&[("private", url)], "1h");
    env.command_ok(&["once"]);
    let articles = env.export();
    assert_eq!(articles.len(), 2, "{articles:?}");
    let text = serde_json::to_string(&articles).unwrap();
    assert!(!text.contains("T0KSECRET"), "{text}");
    // Still the feed's own page, with what is not a credential.
    assert!(text.contains("feed.xml?edition=2"), "{text}");
}
