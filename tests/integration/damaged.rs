//! Damaged store (issue 9): truncated or garbled sled files give a clear startup error and a
//! non-zero exit, never a panic and never a silently empty (or silently shorter) store.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::helpers::{http_get, metric, num, rss, Daemon, FeedServer, TestEnv};

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Deterministic "random" bytes (xorshift), so every run garbles the same way.
fn garbage(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn words(i: usize) -> String {
    (0..150)
        .map(|j| format!("t{}", (i * 31 + j * 17) % 5003))
        .collect::<Vec<_>>()
        .join(" ")
}

/// An RSS feed titled `title` of the first `n` of the distinct items these tests store
/// (a headline and 150 words each).
fn feed_of(title: &str, n: usize) -> String {
    let items: Vec<(String, String, String, String)> = (0..n)
        .map(|i| {
            (
                format!("g{i}"),
                format!("Headline {i}"),
                format!("http://d.test/{i}"),
                format!("<p>{}</p>", words(i)),
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str, &str)> = items
        .iter()
        .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
        .collect();
    rss(title, &refs)
}

#[test]
fn truncated_or_garbled_stores_are_refused_clearly() {
    // A store of a few MiB (several sled segments), written by the real binary.
    let server = FeedServer::start();
    server.set("d.xml", feed_of("Damage", 1500));
    let env = TestEnv::new(&[("d", server.url("d.xml"))], "1h");
    env.command_ok(&["once"]);
    let pristine_lines = env.export().len();
    assert_eq!(pristine_lines, 1500);

    let pristine = env.store.with_extension("pristine");
    copy_dir(&env.store, &pristine);
    let db = env.store.join("db");
    let size = std::fs::metadata(&db).unwrap().len();

    type Damage = Box<dyn Fn(&Path)>;
    let mut cases: Vec<(String, Damage)> = Vec::new();
    for pct in [0u64, 1, 10, 30, 50, 70, 90, 99] {
        let at = size * pct / 100;
        cases.push((
            format!("db truncated to {pct}% ({at} bytes)"),
            Box::new(move |dir: &Path| {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(dir.join("db"))
                    .unwrap();
                f.set_len(at).unwrap();
            }),
        ));
    }
    for (k, pct) in [0u64, 5, 20, 40, 60, 80, 95].into_iter().enumerate() {
        let at = size * pct / 100;
        cases.push((
            format!("4 KiB of garbage at {pct}% ({at})"),
            Box::new(move |dir: &Path| {
                use std::io::{Seek, SeekFrom, Write};
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(dir.join("db"))
                    .unwrap();
                f.seek(SeekFrom::Start(at)).unwrap();
                f.write_all(&garbage(k as u64 + 1, 4096)).unwrap();
            }),
        ));
    }
    cases.push((
        "db file deleted".into(),
        Box::new(|dir: &Path| std::fs::remove_file(dir.join("db")).unwrap()),
    ));
    cases.push((
        "db file replaced by garbage".into(),
        Box::new(move |dir: &Path| {
            std::fs::write(dir.join("db"), garbage(99, size as usize)).unwrap()
        }),
    ));
    cases.push((
        "conf and db deleted, other files left".into(),
        Box::new(|dir: &Path| {
            std::fs::remove_file(dir.join("db")).unwrap();
            std::fs::remove_file(dir.join("conf")).unwrap();
        }),
    ));

    let mut refused = 0;
    let mut refused_cases = Vec::new();
    for (what, damage) in &cases {
        copy_dir(&pristine, &env.store);
        damage(&env.store);
        let (code, out, err) = env.command(&["export"]);
        assert!(
            !err.contains("panicked"),
            "{what}: a panic, not an error:\n{err}"
        );
        if code == 0 {
            // Damage that hit space sled no longer uses: everything must still be there.
            assert_eq!(
                out.lines().count(),
                pristine_lines,
                "{what}: the store opened with articles missing\n{err}"
            );
        } else {
            assert!(
                clear(&err) && err.contains(&env.store.display().to_string()),
                "{what}: exit {code} without a clear message:\n{err}"
            );
            refused += 1;
            refused_cases.push((what, damage));
        }
    }
    eprintln!(
        "damaged store: {refused} of {} damages refused, the rest hit unused space",
        cases.len()
    );
    assert!(refused >= cases.len() / 2, "too few damages detected");

    // The daemon stops on every damage the one-shot command refused, with the same clear
    // error and a non-zero exit: at open (the quick checks) or, for damage deep in the store,
    // once its background read-through reaches it, soon after it became ready.
    let mut after_ready = 0;
    for (what, damage) in refused_cases {
        copy_dir(&pristine, &env.store);
        damage(&env.store);
        let (code, err) = run_daemon_until_exit(&env.config, Duration::from_secs(60));
        assert!(
            !err.contains("panicked"),
            "{what}: the daemon panicked:\n{err}"
        );
        assert!(
            matches!(code, Some(c) if c != 0),
            "{what}: the daemon went on serving a damaged store (exit {code:?}):\n{err}"
        );
        assert!(
            clear(&err) && err.contains(&env.store.display().to_string()),
            "{what}: daemon exit {code:?} without a clear message:\n{err}"
        );
        if err.contains("wirefold ready") {
            after_ready += 1;
        }
    }
    eprintln!("damaged store: the daemon found {after_ready} of {refused} after it was ready");

    // And the pristine copy still opens: the checks refuse damage, not stores.
    copy_dir(&pristine, &env.store);
    let daemon = Daemon::start(&env);
    assert_eq!(daemon.status()["counts"]["articles"], 1500);
    // ... and its background read-through passes, which `/status` tells.
    let started = Instant::now();
    loop {
        let store = daemon.status()["store"].clone();
        assert_eq!(store["damaged"], false, "{store}");
        if store["verified"] == true {
            assert_eq!(store["writable"], true, "{store}");
            // What it counted: 1,500 articles' keys and values, and when; `/metrics` too.
            let bytes = num(&store, "/data/bytes");
            assert!(bytes > 1500 * 200, "{store}");
            assert!(num(&store, "/data/records") > 4 * 1500, "{store}");
            assert!(store["data"]["counted_at"].is_string(), "{store}");
            assert_eq!(num(&store, "/data/articles"), 1500, "{store}");
            assert_eq!(store["data"]["compact_advised"], false, "{store}");
            let (_, metrics) = http_get(&daemon.url("/metrics"));
            assert_eq!(metric(&metrics, "wirefold_store_data_bytes"), Some(bytes));
            let (_, page) = http_get(&daemon.url("/"));
            assert!(
                page.contains("<p class=\"muted\" id=\"disk\">store ")
                    && page.contains(" MiB of data counted at "),
                "{page}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the read-through did not finish: {store}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// sled recovers a prefix of its log without complaint, so a store whose files were put back
/// older (a copy from before the last run) would open shorter and read through clean: every
/// command refuses it, naming the durable line mark, until the operator removes the mark.
#[test]
fn a_store_whose_files_were_put_back_older_is_refused_by_every_command() {
    let server = FeedServer::start();
    server.set("d.xml", feed_of("Older", 150));
    let env = TestEnv::new(&[("d", server.url("d.xml"))], "1h");
    env.command_ok(&["once"]);
    let older = env.store.with_extension("older");
    copy_dir(&env.store, &older);
    server.set("d.xml", feed_of("Older", 400));
    env.command_ok(&["once"]);
    assert_eq!(env.export().len(), 400);

    // sled's files of the older copy in place of the store's; the mark is left.
    let mark = env.store.join("durable.line");
    let kept = std::fs::read(&mark).expect("the runs left a durable line mark");
    copy_dir(&older, &env.store);
    std::fs::write(&mark, kept).unwrap();
    let said = |err: &str| {
        err.contains("lost writes it had made durable")
            && err.contains(&mark.display().to_string())
            && !err.contains("panicked")
    };
    for args in [&["export"][..], &["once"]] {
        let (code, out, err) = env.command(args);
        assert!(
            code != 0 && said(&err),
            "{args:?}: exit {code}\n{out}\n{err}"
        );
        assert!(out.is_empty(), "{args:?}: {out}");
    }
    let (code, err) = run_daemon_until_exit(&env.config, Duration::from_secs(60));
    assert!(
        matches!(code, Some(c) if c != 0) && said(&err),
        "the daemon: exit {code:?}\n{err}"
    );

    // A mark a crash cut short is not checked, and every command says so (export too,
    // whose stdout is the data).
    std::fs::write(&mark, "").unwrap();
    let (code, out, err) = env.command(&["export"]);
    assert_eq!((code, out.lines().count()), (0, 150), "{err}");
    assert!(
        err.contains("durable line mark does not read") && err.contains("durable.line"),
        "{err}"
    );

    // The operator's way on with what is left: the mark removed.
    std::fs::remove_file(&mark).unwrap();
    assert_eq!(env.export().len(), 150);
}

/// Whether a refusal says what is wrong: damage sled or the checks found, or writes the
/// files lost that their durable line mark says a flush had made durable.
fn clear(err: &str) -> bool {
    err.contains("is damaged") || err.contains("lost writes it had made durable")
}

/// Runs `wirefold run` until it exits by itself; kills it after `limit`. Returns its exit code
/// (`None` when it had to be killed) and its log.
fn run_daemon_until_exit(config: &Path, limit: Duration) -> (Option<i32>, String) {
    let mut child = crate::helpers::wirefold()
        .args(["run", "--config"])
        .arg(config)
        .env_remove("WIREFOLD_CONFIG")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, reader.join().unwrap())
}

/// A backup closes and reopens the store; a reopen that finds the store lost writes (here its
/// mark moved past the change log's end while the daemon ran) stops the daemon as damage, and
/// is not first reported as a full disk to wait for.
#[test]
fn a_backup_whose_reopen_finds_lost_writes_stops_the_daemon_in_plain_words() {
    let server = FeedServer::start();
    server.set("d.xml", feed_of("Reopened", 20));
    let env = TestEnv::new(&[("d", server.url("d.xml"))], "1h");
    let daemon = Daemon::start(&env);
    daemon.wait_for("the items stored", |s| num(s, "/counts/articles") == 20);
    let mark = env.store.join("durable.line");
    // Written after the flush that made the items durable; nothing moves the line after it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&mark).is_ok_and(|m| m.contains("seq ")) {
        assert!(Instant::now() < deadline, "no durable line mark written");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(
        &mark,
        "wirefold durable line\nseq 999999999\nat 1700000000000\n",
    )
    .unwrap();

    let (code, _, err) = env.command(&["backup", "--url", &daemon.url("")]);
    assert_ne!(code, 0, "the backup: {err}");
    let (code, log) = daemon.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(1), "the daemon went on:\n{log}");
    assert!(
        log.contains("the store is damaged: ingesting stops and the daemon exits")
            && log.contains("lost writes it had made durable"),
        "{log}"
    );
    // Not first called a write failure to wait out.
    for wrong in [
        "stopped taking writes",
        "store write failed",
        "disk takes writes",
    ] {
        assert!(!log.contains(wrong), "{wrong:?}:\n{log}");
    }
    assert!(!log.contains("panicked"), "{log}");
}
