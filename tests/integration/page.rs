//! The page at `/` in a real headless Chromium: DOM assertions and a screenshot kept as a test
//! artefact (`target/tmp/page.png`). Skipped, loudly, when no Chromium is installed
//! (.ci/run installs Debian's chromium so it always runs in CI).

use std::path::PathBuf;
use std::process::Command;

use crate::fixtures::{agency_feed, html, paragraphs, HARBOUR};
use crate::helpers::{rss, Daemon, FeedServer, TestEnv};

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WIREFOLD_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn headless(chrome: &PathBuf, profile: &std::path::Path) -> Command {
    let mut c = Command::new(chrome);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn page_renders_sources_and_stories_with_feed_strings_escaped() {
    let Some(chrome) = chromium() else {
        eprintln!(
            "\n*** SKIPPED page_renders_sources_and_stories_with_feed_strings_escaped: \
             no Chromium found (install Debian's `chromium` or set WIREFOLD_CHROMIUM) ***\n"
        );
        return;
    };
    let server = FeedServer::start();
    server.set("agency.xml", agency_feed("Agency wire"));
    server.set(
        "outlet.xml",
        rss(
            "Outlet <script>document.title='pwned'</script>",
            &[(
                "o1",
                "Port to dredge channel",
                "http://outlet.test/1",
                &html(&paragraphs(HARBOUR)),
            )],
        ),
    );
    let env = TestEnv::new(
        &[
            ("agency", server.url("agency.xml")),
            ("outlet", server.url("outlet.xml")),
            ("broken", server.url("missing.xml")),
        ],
        "1s",
    );
    let d = Daemon::start(&env);
    d.wait_for("every source polled, the agency three times", |s| {
        s["sources"].as_array().is_some_and(|a| {
            a.iter().all(|x| {
                let polls = x["polls"].as_u64().unwrap_or(0);
                polls >= if x["name"] == "agency" { 3 } else { 1 }
            })
        })
    });

    let profile = tempfile::tempdir().unwrap();
    let out = headless(&chrome, profile.path())
        .arg("--dump-dom")
        .arg(d.url("/"))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("<title>wirefold</title>"),
        "the script in the feed title ran:\n{dom}"
    );
    assert!(
        !dom.contains("<script"),
        "a script element reached the DOM:\n{dom}"
    );
    assert!(
        dom.contains("&lt;script&gt;document.title"),
        "feed title not shown as text:\n{dom}"
    );
    for name in ["agency", "outlet", "broken"] {
        assert!(
            dom.contains(&format!("data-name=\"{name}\"")),
            "no row for {name}"
        );
    }
    assert!(dom.contains("dot ok"), "healthy source colour");
    // polls: not modified / same body, from one stored state: every poll of the unchanging
    // agency feed after its first is one or the other; the missing feed has neither
    let polls_cell = |name: &str| -> (u64, u64, u64) {
        let row = dom
            .split("<tr ")
            .find(|r| r.contains(&format!("data-name=\"{name}\"")))
            .unwrap_or_else(|| panic!("no row for {name}"));
        let cell = row
            .split("<td class=\"polls\">")
            .nth(1)
            .and_then(|c| c.split("</td>").next())
            .unwrap_or_else(|| panic!("no polls cell for {name}: {row}"));
        let n: Vec<u64> = cell
            .split([':', '/'])
            .map(|x| x.trim().parse().expect(cell))
            .collect();
        assert_eq!(n.len(), 3, "{cell}");
        (n[0], n[1], n[2])
    };
    let (polls, not_modified, same_body) = polls_cell("agency");
    assert!(polls >= 3, "agency polled {polls} times");
    assert_eq!(not_modified + same_body, polls - 1, "agency");
    let (polls, not_modified, same_body) = polls_cell("broken");
    assert!(polls >= 1);
    assert_eq!((not_modified, same_body), (0, 0), "broken");
    assert!(
        dom.contains("http_status"),
        "failing source shows its error class"
    );
    assert_eq!(dom.matches("class=\"story\"").count(), 2, "{dom}");
    assert!(
        dom.contains("<td class=\"copies\">2</td>"),
        "folded story shows 2 copies"
    );
    assert!(
        dom.contains("http-equiv=\"refresh\""),
        "the page refreshes itself"
    );

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("page.png");
    let _ = std::fs::remove_file(&shot);
    let out = headless(&chrome, profile.path())
        .arg("--window-size=1280,900")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(d.url("/"))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(png.len() > 10_000, "suspiciously small screenshot");
    eprintln!("page screenshot: {}", shot.display());
    let (code, _) = d.terminate();
    assert_eq!(code, Some(0));
}
