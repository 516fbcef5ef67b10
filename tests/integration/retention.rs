//! Retention end to end: articles older than `store.retention` vanish from the store, and
//! the same items still in their feed are not ingested again (tombstones).

use crate::helpers::{num, rss, Daemon, FeedServer, TestEnv};

const ITEMS: [(&str, &str, &str, &str); 3] = [
    (
        "r-1",
        "Valmora approves deeper shipping channel",
        "http://agency.test/1",
        "The port authority of Valmora approved a plan on Tuesday to deepen the northern shipping channel by four metres.",
    ),
    (
        "r-2",
        "Late frost halves Tarn apple harvest",
        "http://agency.test/2",
        "Apple growers in the Tarn valley reported their smallest harvest in twenty years after a late frost in April.",
    ),
    (
        "r-3",
        "Ferry line to the islands resumes",
        "http://agency.test/3",
        "The ferry service between the mainland and the outer islands resumed on Monday after a three-week strike by crews.",
    ),
];

fn source(s: &serde_json::Value) -> &serde_json::Value {
    &s["sources"][0]
}

#[test]
fn old_items_vanish_and_do_not_come_back() {
    let server = FeedServer::start();
    server.set("agency.xml", rss("Agency", &ITEMS[..2]));
    let env = TestEnv::new(&[("agency", server.url("agency.xml"))], "1s");
    // A retention of eight seconds (the dedup window must not be longer): the change log's
    // deletions are read below before they are that old themselves. (With four, a loaded
    // machine once pruned the stories' deletions between the two reads below.)
    let daemon = Daemon::start_with(
        &env.config,
        &[
            ("WIREFOLD_STORE__RETENTION", "8s"),
            ("WIREFOLD_DEDUP__WINDOW", "1s"),
        ],
    );
    daemon.wait_for("both items stored", |s| num(source(s), "/items_new") == 2);
    // A consumer's cursor from now, which it will hold past the retention.
    let held = daemon.get_json("/articles?after=0")["next"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(held, "0");
    let s = daemon.wait_for("both items deleted by retention", |s| {
        num(s, "/counts/articles") == 0 && num(s, "/counts/stories") == 0
    });
    assert_eq!(num(source(&s), "/items_new"), 2);
    // `/status` and `/metrics` tell what the sweeps did.
    let s = daemon.wait_for("the sweep's deletions shown", |s| {
        s.pointer("/store/retention/deleted/articles")
            .and_then(serde_json::Value::as_u64)
            == Some(2)
    });
    let r = &s["store"]["retention"];
    assert_eq!(r["after"], "8s", "{r:#}");
    assert_eq!(r["every"], "1s", "{r:#}");
    assert!(
        num(r, "/sweeps") >= 1 && num(r, "/deleted/stories") == 2,
        "{r:#}"
    );
    assert!(r["last"].is_string() && r["next"].is_string(), "{r:#}");
    assert!(
        r["failing_since"].is_null() && num(r, "/failed") == 0,
        "{r:#}"
    );
    let metrics = crate::helpers::http_get(&daemon.url("/metrics")).1;
    assert_eq!(
        crate::helpers::metric(
            &metrics,
            r#"wirefold_retention_deleted_total{what="articles"}"#
        ),
        Some(2),
        "{metrics}"
    );
    let page = crate::helpers::http_get(&daemon.url("/")).1;
    assert!(
        page.contains("id=\"retention\">retention 8s · last sweep ")
            && page.contains(" · 2 articles deleted since the start</p>"),
        "{page}"
    );
    // The change feed tells a consumer that follows it which articles and stories went.
    let ids = |v: &serde_json::Value, key: &str| {
        let mut ids: Vec<u64> = v[key]
            .as_array()
            .unwrap_or_else(|| panic!("no {key} in {v:#}"))
            .iter()
            .filter_map(serde_json::Value::as_u64)
            .collect();
        ids.sort_unstable();
        ids
    };
    let articles = daemon.get_json("/articles?after=0&limit=100");
    assert_eq!(articles["articles"], serde_json::json!([]), "{articles:#}");
    assert_eq!(ids(&articles, "deleted").len(), 2, "{articles:#}");
    let stories = daemon.get_json("/stories?after=0&limit=100");
    assert_eq!(stories["stories"], serde_json::json!([]), "{stories:#}");
    assert_eq!(ids(&stories, "deleted").len(), 2, "{stories:#}");
    // and resuming from the end lists nothing more
    let next = articles["next"].as_str().unwrap_or("0").to_owned();
    let rest = daemon.get_json(&format!("/articles?after={next}"));
    assert_eq!(ids(&rest, "deleted"), Vec::<u64>::new(), "{rest:#}");
    // Once retention pruned the changes after the held cursor, it is refused as expired: its
    // holder would never learn of deletions it missed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (code, body) =
            crate::helpers::http_get(&daemon.url(&format!("/articles?after={held}")));
        if code == 410 {
            assert!(body.contains("\"cursor_expired\""), "{body}");
            let (code, body) =
                crate::helpers::http_get(&daemon.url(&format!("/stories?after={held}")));
            assert_eq!(code, 410, "{body}");
            assert!(body.contains("\"cursor_expired\""), "{body}");
            break;
        }
        assert_eq!(code, 200, "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "never expired: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // The feed changes (so it is parsed again, not a 304) and still carries both old items.
    server.set("agency.xml", rss("Agency", &ITEMS));
    let s = daemon.wait_for("the changed feed polled", |s| {
        num(source(s), "/items_seen") >= 5
    });
    assert_eq!(
        num(source(&s), "/items_new"),
        3,
        "only the new item is stored; the old ones are tombstoned:\n{s:#}"
    );
    // And they stay out on later polls.
    let polls = num(source(&s), "/polls");
    let s = daemon.wait_for("two more polls", |s| num(source(s), "/polls") >= polls + 2);
    assert_eq!(num(source(&s), "/items_new"), 3);
    assert!(daemon.log().contains("retention deleted old items"));
    // The new item's deletion reaches the change log (it is durable, so it counts below)
    // before the log can be empty for good: otherwise the log's end read below may still
    // move, once, when that deletion is flushed.
    let first_two = ids(&articles, "deleted");
    daemon.wait_for_within(
        "the new item's deletion in the change log",
        std::time::Duration::from_secs(60),
        |_| {
            let log = daemon.get_json("/articles?after=0&limit=1000");
            ids(&log, "deleted")
                .iter()
                .any(|id| first_two.iter().all(|old| id > old))
        },
    );
    // The newest cursor survives a restart after retention emptied the log: it was taken
    // for one past the end of an empty log.
    daemon.wait_for_within(
        "retention to empty the change log",
        std::time::Duration::from_secs(60),
        |_| {
            let log = daemon.get_json("/stories?after=0&limit=1000");
            log["stories"] == serde_json::json!([]) && log["deleted"] == serde_json::json!([])
        },
    );
    let newest = daemon.get_json("/articles?limit=1")["next"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    let daemon = Daemon::start_with(
        &env.config,
        &[
            ("WIREFOLD_STORE__RETENTION", "8s"),
            ("WIREFOLD_DEDUP__WINDOW", "1s"),
        ],
    );
    let (code, body) = crate::helpers::http_get(&daemon.url(&format!("/articles?after={newest}")));
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        daemon.get_json("/articles?limit=1")["next"],
        newest.as_str()
    );
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
}

/// `wirefold once` from a timer keeps to `store.retention` as the daemon does: each run ends
/// with a sweep, and the deleted items, still in their feed, are not stored again.
#[test]
fn once_keeps_to_the_retention_too() {
    let server = FeedServer::start();
    server.set("agency.xml", rss("Agency", &ITEMS[..2]));
    let env = TestEnv::new(&[("agency", server.url("agency.xml"))], "1s");
    let once = || {
        let out = env
            .wirefold(&["once"])
            .env("WIREFOLD_STORE__RETENTION", "2s")
            .env("WIREFOLD_DEDUP__WINDOW", "1s")
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{err}");
        err
    };
    once();
    assert_eq!(env.export().len(), 2);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    server.set("agency.xml", rss("Agency", &ITEMS));
    let log = once();
    assert!(log.contains("retention deleted old items"), "{log}");
    let left: Vec<String> = env
        .export()
        .iter()
        .map(|a| a["key"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(left, ["g:r-3"], "{log}");
}
