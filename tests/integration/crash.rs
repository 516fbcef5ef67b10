//! Crash test (issue 9): the daemon ingests a steady stream of new items and is killed with
//! SIGKILL at seeded random moments, then restarted. After every kill the store must open, hold
//! every article the daemon had reported (change feed and /status counts), hold nothing twice,
//! and agree with itself: every article in exactly one story that lists it, every copy pointing
//! at an article of that story, counters equal to the records.
//!
//! `CRASH_TEST_KILLS` (default 20 here; the recorded run used 50 and more) and `CRASH_TEST_SEED` (default 9) choose the run;
//! the kill moments (delays after "ready") follow from the seed. The thread interleaving inside
//! the daemon does not, so a failure prints the seed, the kill number and the delay.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use wirefold::storage::{ArticleRecord, Store, StoryRecord};

use crate::helpers::{num, xml_escape, Daemon, FeedServer, TestEnv};

const FEEDS: usize = 6;
/// Items a feed keeps; older ones fall off, as in real feeds.
const FEED_LEN: usize = 400;

const WORDS: &[&str] = &[
    "harbour", "council", "budget", "school", "storm", "market", "price", "team", "coach",
    "league", "river", "bridge", "election", "vote", "minister", "police", "court", "trial",
    "hospital", "doctor", "farmer", "harvest", "frost", "train", "station", "airport", "flight",
    "strike", "union", "wage", "factory", "energy", "grid", "solar", "wind", "tax", "bank", "loan",
    "museum", "artist", "festival", "film", "library", "student", "teacher", "science", "climate",
    "flood", "drought", "forest", "road", "traffic", "housing", "mayor", "treaty",
];

#[derive(Clone)]
struct Item {
    guid: String,
    title: String,
    text: String,
}

/// The feeds: a writer thread adds an item every few milliseconds, a third of them copies of
/// another feed's item (so stories gain copies across sources).
struct Stream {
    feeds: Vec<Vec<Item>>,
    rng: StdRng,
    n: u64,
}

impl Stream {
    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.rng.random_range(0..WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn add(&mut self) -> usize {
        self.n += 1;
        let f = self.rng.random_range(0..FEEDS);
        let copy_from = self.rng.random_range(0..FEEDS);
        let item = if self.rng.random_bool(0.33) && !self.feeds[copy_from].is_empty() {
            let src = self.feeds[copy_from].last().cloned().expect("non-empty");
            Item {
                guid: format!("f{f}-{}", self.n),
                title: format!("{} (copy)", src.title),
                text: src.text,
            }
        } else {
            let title = self.words(6);
            let text = format!(
                "<p>{}</p><p>{}</p><p>{}</p>",
                self.words(30),
                self.words(30),
                self.words(30)
            );
            Item {
                guid: format!("f{f}-{}", self.n),
                title,
                text,
            }
        };
        self.feeds[f].push(item);
        if self.feeds[f].len() > FEED_LEN {
            self.feeds[f].remove(0);
        }
        f
    }

    fn body(&self, f: usize) -> String {
        let mut s = format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Feed {f}</title>\n"
        );
        for it in &self.feeds[f] {
            s.push_str(&format!(
                "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>http://f{f}.test/{}</link><description>{}</description></item>\n",
                it.guid,
                xml_escape(&it.title),
                it.guid,
                xml_escape(&it.text)
            ));
        }
        s.push_str("</channel></rss>\n");
        s
    }
}

/// What the daemon told its readers before a kill.
#[derive(Default)]
struct Reported {
    /// Article id → (source, key), from the change feed.
    articles: BTreeMap<u64, (String, String)>,
    /// Highest change-feed cursor seen.
    cursor: u64,
    /// Largest counts seen in /status.
    articles_count: u64,
    stories_count: u64,
}

/// Follows the change feed and /status until `stop`, recording everything reported. Once
/// `armed`, it kills the daemon the moment a page brings new articles: the newest reported
/// writes are then as fresh as they can be, the hardest case for the promise.
fn watch(daemon: &Daemon, reported: &Mutex<Reported>, armed: &AtomicBool, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let after = reported.lock().unwrap().cursor;
        let Some(page) = try_get_json(daemon, &format!("/articles?after={after}&limit=1000"))
        else {
            return; // killed under us
        };
        let Some(status) = try_get_json(daemon, "/status?sources=none") else {
            return;
        };
        let mut r = reported.lock().unwrap();
        for a in page["articles"].as_array().expect("articles") {
            let id: u64 = a["id"]
                .as_u64()
                .or_else(|| a["id"].as_str().and_then(|s| s.parse().ok()))
                .expect("article id");
            r.articles.insert(
                id,
                (
                    a["source"].as_str().unwrap_or_default().to_owned(),
                    a["key"].as_str().unwrap_or_default().to_owned(),
                ),
            );
        }
        let next: u64 = page["next"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(after);
        r.cursor = r.cursor.max(next);
        r.articles_count = r.articles_count.max(num(&status, "/counts/articles"));
        r.stories_count = r.stories_count.max(num(&status, "/counts/stories"));
        drop(r);
        if armed.load(Ordering::SeqCst) && next > after {
            sigkill(daemon);
            return;
        }
        std::thread::sleep(Duration::from_millis(15));
    }
}

fn sigkill(daemon: &Daemon) {
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(daemon.pid().expect("running") as i32, libc::SIGKILL);
    }
}

fn try_get_json(daemon: &Daemon, path: &str) -> Option<serde_json::Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .ok()?;
        let resp = client.get(daemon.url(path)).send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        serde_json::from_str(&resp.text().await.ok()?).ok()
    })
}

/// Opens the store with the library (the daemon is dead) and checks it agrees with itself and
/// with what was reported. Returns (articles, stories).
fn check_store(env: &TestEnv, reported: &Reported, ctx: &str) -> (usize, usize) {
    let store = Store::open(&env.store, Duration::from_millis(100))
        .unwrap_or_else(|e| panic!("{ctx}: the store does not open: {e}"));
    let articles: Vec<ArticleRecord> = store
        .articles_from(0)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{ctx}: reading articles: {e}"));
    let stories: Vec<StoryRecord> = store
        .stories_before(None)
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{ctx}: reading stories: {e}"));

    let by_id: HashMap<u64, &ArticleRecord> = articles.iter().map(|a| (a.id, a)).collect();
    let mut keys = HashSet::new();
    for a in &articles {
        assert!(
            keys.insert((a.source.clone(), a.key.clone())),
            "{ctx}: article {}/{} stored twice",
            a.source,
            a.key
        );
        assert_eq!(
            store.article_id_by_key(&a.source, &a.key).unwrap(),
            Some(a.id),
            "{ctx}: key index disagrees for {}",
            a.id
        );
    }
    let mut story_of: HashMap<u64, u64> = HashMap::new();
    for s in &stories {
        let copies = store
            .copies(s)
            .unwrap_or_else(|e| panic!("{ctx}: reading story {}'s copies: {e}", s.id));
        assert!(!copies.is_empty(), "{ctx}: story {} has no copies", s.id);
        assert_eq!(
            copies.len(),
            s.copy_count as usize,
            "{ctx}: story {}'s copy count",
            s.id
        );
        assert!(
            copies.iter().any(|c| c.article == s.canonical),
            "{ctx}: story {}'s canonical {} is not one of its copies",
            s.id,
            s.canonical
        );
        for c in &copies {
            let a = by_id.get(&c.article).unwrap_or_else(|| {
                panic!("{ctx}: story {} lists missing article {}", s.id, c.article)
            });
            assert_eq!(
                a.story, s.id,
                "{ctx}: story {} lists article {} of story {}",
                s.id, a.id, a.story
            );
            assert!(
                story_of.insert(c.article, s.id).is_none(),
                "{ctx}: article {} listed twice",
                c.article
            );
        }
    }
    for a in &articles {
        assert_eq!(
            story_of.get(&a.id),
            Some(&a.story),
            "{ctx}: article {} is not listed by its story {}",
            a.id,
            a.story
        );
    }
    let counts = store.counts().unwrap();
    assert_eq!(
        counts.articles,
        articles.len() as u64,
        "{ctx}: article counter"
    );
    assert_eq!(counts.stories, stories.len() as u64, "{ctx}: story counter");
    assert_eq!(
        counts.copies,
        (articles.len() - stories.len()) as u64,
        "{ctx}: copy counter"
    );

    // Everything reported before the kill survived it.
    for (id, (source, key)) in &reported.articles {
        let a = by_id
            .get(id)
            .unwrap_or_else(|| panic!("{ctx}: reported article {id} ({source}/{key}) was lost"));
        assert_eq!(
            (&a.source, &a.key),
            (source, key),
            "{ctx}: article {id} changed identity"
        );
    }
    assert!(
        counts.articles >= reported.articles_count && counts.stories >= reported.stories_count,
        "{ctx}: /status reported {} articles and {} stories, the store has {counts:?}",
        reported.articles_count,
        reported.stories_count
    );
    assert!(
        store.last_change().unwrap().unwrap_or(0) >= reported.cursor,
        "{ctx}: the change log went back behind cursor {}",
        reported.cursor
    );
    (articles.len(), stories.len())
}

/// Opens the store (daemon stopped) and checks it agrees with itself. Returns (articles, stories).
pub(crate) fn check_store_consistent(env: &TestEnv, ctx: &str) -> (usize, usize) {
    check_store(env, &Reported::default(), ctx)
}

#[test]
fn sigkill_at_random_moments_loses_and_doubles_nothing() {
    let kills: usize = std::env::var("CRASH_TEST_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("CRASH_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9);
    let server = FeedServer::start();
    let stream = Arc::new(Mutex::new(Stream {
        feeds: vec![Vec::new(); FEEDS],
        rng: StdRng::seed_from_u64(seed ^ 0x5eed),
        n: 0,
    }));
    for f in 0..FEEDS {
        server.set(&format!("f{f}.xml"), stream.lock().unwrap().body(f));
    }
    let sources: Vec<(String, String)> = (0..FEEDS)
        .map(|f| (format!("f{f}"), server.url(&format!("f{f}.xml"))))
        .collect();
    let sources: Vec<(&str, String)> = sources
        .iter()
        .map(|(n, u)| (n.as_str(), u.clone()))
        .collect();
    let env = TestEnv::new(&sources, "1s");

    // The steady stream: a new item every 10 ms while the test runs.
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (stream, writing) = (stream.clone(), writing.clone());
        let server = Arc::new(server);
        let srv = server.clone();
        let handle = std::thread::spawn(move || {
            while writing.load(Ordering::SeqCst) {
                let mut s = stream.lock().unwrap();
                let f = s.add();
                srv.set(&format!("f{f}.xml"), s.body(f));
                drop(s);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        (handle, server)
    };

    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut totals = (0, 0);
    for k in 0..kills {
        let delay = Duration::from_millis(rng.random_range(0..1500));
        let daemon = Daemon::start(&env);
        let reported = Mutex::new(Reported::default());
        let stop = AtomicBool::new(false);
        let armed = AtomicBool::new(false);
        std::thread::scope(|s| {
            let watcher = s.spawn(|| watch(&daemon, &reported, &armed, &stop));
            std::thread::sleep(delay);
            // Odd kills land on a fresh report; even ones wherever the delay ends.
            if k % 2 == 1 {
                armed.store(true, Ordering::SeqCst);
                let until = Instant::now() + Duration::from_secs(3);
                while !watcher.is_finished() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            sigkill(&daemon);
            stop.store(true, Ordering::SeqCst);
        });
        daemon.kill();
        let reported = reported.into_inner().unwrap();
        let ctx = format!(
            "seed {seed}, kill {}/{kills} after {delay:?} ({} articles reported)",
            k + 1,
            reported.articles.len()
        );
        totals = check_store(&env, &reported, &ctx);
        // The real binary opens it too.
        let (code, _, err) = env.command(&["export"]);
        assert_eq!(code, 0, "{ctx}: export after the kill: {err}");
    }
    eprintln!(
        "crash test: {kills} kills survived in {:?} (seed {seed}); store: {} articles, {} stories",
        started.elapsed(),
        totals.0,
        totals.1
    );

    // Nothing lost for good: with the stream stopped, one clean run stores every item the
    // feeds still carry, including those whose unflushed writes a kill took (their ETag was
    // never stored ahead of them, so they are fetched again).
    writing.store(false, Ordering::SeqCst);
    let (handle, _server) = writer;
    handle.join().unwrap();
    let want: HashSet<(String, String)> = {
        let s = stream.lock().unwrap();
        (0..FEEDS)
            .flat_map(|f| {
                s.feeds[f]
                    .iter()
                    .map(move |it| (format!("f{f}"), format!("g:{}", it.guid)))
            })
            .collect()
    };
    let daemon = Daemon::start(&env);
    // The killed run left its marker: the start says so, in the log and in /status.
    assert_eq!(daemon.status()["store"]["previous_stop"], "unclean");
    let (_, page) = crate::helpers::http_get(&daemon.url("/"));
    assert!(page.contains("did not stop cleanly"), "{page}");
    assert!(
        daemon.log().contains("did not stop cleanly"),
        "{}",
        daemon.log()
    );
    let polls = |s: &serde_json::Value| -> Vec<u64> {
        s["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .map(|x| x["polls"].as_u64().unwrap_or(0))
            .collect()
    };
    let before = polls(&daemon.status());
    // Two successful polls of every source after the restart: the first fetches everything.
    daemon.wait_for("every source polled twice more", |s| {
        polls(s)
            .iter()
            .zip(&before)
            .all(|(now, then)| *now >= then + 2)
            && s["sources"]
                .as_array()
                .is_some_and(|a| a.iter().all(|x| x["last_error"].is_null()))
    });
    let (code, _) = daemon.terminate();
    assert_eq!(code, Some(0));
    let have: HashSet<(String, String)> = env
        .export()
        .iter()
        .map(|v| {
            (
                v["source"].as_str().unwrap_or_default().to_owned(),
                v["key"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let missing: Vec<_> = want.difference(&have).take(5).collect();
    assert!(
        missing.is_empty(),
        "items in the feeds never stored: {missing:?}"
    );
    check_store(&env, &Reported::default(), "after the final clean run");
}
