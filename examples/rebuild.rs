//! Rebuild time of the near-duplicate index from a real store: writes N articles (default
//! 1,000,000; synthetic 30-word items, 5 % 400-word) through `Store::commit`, reopens the
//! store and times, `RUNS` times (default 3): opening it with the quick checks only (as the
//! daemon does), the full rebuild of the index from `articleid_index`, saving the index
//! snapshot, and loading the index from it (what a restart does). Also times `Store::open`,
//! which reads the whole store through (as the one-shot commands do), once.
//!
//! ```text
//! cargo run --release --example rebuild -- [N] [DIR] [RUNS]
//! ```
//!
//! With `DIR` given, a store already there (from an earlier run) is reused and kept, so that
//! the open and rebuild times can be measured again without writing it anew.

use std::time::{Duration, Instant};

use wirefold::dedup::DedupParams;
use wirefold::fingerprint::{fingerprint, FingerprintInput, Script};
use wirefold::fold::{snapshot, Folder};
use wirefold::storage::{
    ArticleRecord, ChangeKind, CopyKind, CopyRecord, Counts, DateOrigin, Store, StoryRecord,
    DEFAULT_CACHE_BYTES,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = args.get(1).map_or_else(
        || std::env::temp_dir().join("wirefold-rebuild-bench"),
        std::path::PathBuf::from,
    );
    let keep = args.get(1).is_some();
    let reuse = keep && dir.join("db").exists();
    if !reuse {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let now = 1_700_000_000_000i64;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut word = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        format!("w{}", x % 50_000)
    };
    if !reuse {
        let store = Store::open(&dir, Duration::from_secs(5))?;
        let t = Instant::now();
        for i in 0..n {
            let len = if i % 20 == 0 { 400 } else { 30 };
            let text: Vec<String> = (0..len).map(|_| word()).collect();
            let text = text.join(" ");
            let fp = fingerprint(&FingerprintInput {
                title: "t",
                text: &text,
                script: Script::Words,
            });
            let id = store.next_id()?;
            let at = now - 60 * 60 * 1000 + (i as i64) * 3;
            let rec = ArticleRecord {
                id,
                source: "s".into(),
                key: format!("g:{i}"),
                url: None,
                title: String::new(),
                text: String::new(),
                published: at,
                date_origin: DateOrigin::FirstSeen,
                first_seen: at,
                updated: at,
                revisions: 0,
                language: None,
                story: id,
                similarity: 1.0,
                fingerprint: fp,
            };
            let story = StoryRecord {
                id,
                created: at,
                updated: at,
                canonical: id,
                copies: vec![CopyRecord {
                    article: id,
                    source: "s".into(),
                    url: None,
                    first_seen: at,
                    similarity: 1.0,
                    kind: CopyKind::Origin,
                }],
                headlines: Vec::new(),
                merged_from: vec![],
                copy_count: 1,
            };
            let one = Counts {
                articles: 1,
                stories: 1,
                copies: 0,
            };
            store.commit(&rec, &story, one, ChangeKind::NewStory)?;
        }
        store.flush()?;
        println!(
            "wrote {n} articles in {:.1}s; store {} MB",
            t.elapsed().as_secs_f64(),
            store.size_on_disk() / 1_000_000
        );
    }
    let secs = |t: Instant| t.elapsed().as_secs_f64();
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let params = DedupParams::default();
    // The full read-through is what `Store::open` (one-shot commands) does; the daemon opens
    // with the quick checks only and reads through in the background.
    let t = Instant::now();
    drop(Store::open(&dir, Duration::from_secs(5))?);
    println!(
        "Store::open (quick checks + full read-through): {:.2}s",
        secs(t)
    );
    for run in 1..=runs {
        let t = Instant::now();
        let store = Store::open_unverified(&dir, Duration::from_secs(5), DEFAULT_CACHE_BYTES)?;
        let open = secs(t);
        let t = Instant::now();
        let folder = Folder::open_rebuilding(store.clone(), params.clone(), now)?;
        let rebuild = secs(t);
        let t = Instant::now();
        let saved = folder.save_snapshot(now)?;
        let save = secs(t);
        let bytes = std::fs::metadata(dir.join(snapshot::FILE))?.len();
        let per_article = folder.index_bytes() as f64 / folder.index_len() as f64;
        drop(folder);
        let t = Instant::now();
        let (folder, source) = Folder::open_from(store, params.clone(), now)?;
        let load = secs(t);
        println!(
            "run {run}: open_unverified {open:.2}s; full rebuild of {} articles {rebuild:.2}s \
             ({per_article:.1} bytes/article); snapshot saved in {save:.2}s ({} articles, \
             {} MB); {source:?} load {load:.2}s",
            folder.index_len(),
            saved.articles,
            bytes / 1_000_000,
        );
    }
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
