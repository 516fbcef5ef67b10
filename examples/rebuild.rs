//! Rebuild time of the near-duplicate index from a real store: writes N articles (default
//! 1,000,000; synthetic 30-word items, 5 % 400-word) through `Store::commit`, reopens the
//! store and times `Folder::open` (which reads `articleid_index` and fills the index).
//!
//! ```text
//! cargo run --release --example rebuild -- [N] [DIR]
//! ```

use std::time::{Duration, Instant};

use wirefold::dedup::DedupParams;
use wirefold::fingerprint::{fingerprint, FingerprintInput, Script};
use wirefold::fold::Folder;
use wirefold::storage::{
    ArticleRecord, ChangeKind, CopyKind, CopyRecord, Counts, DateOrigin, Store, StoryRecord,
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
    let _ = std::fs::remove_dir_all(&dir);
    let now = 1_700_000_000_000i64;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut word = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        format!("w{}", x % 50_000)
    };
    {
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
            };
            store.commit(&rec, &story, Counts::default(), ChangeKind::NewStory)?;
        }
        store.flush()?;
        println!(
            "wrote {n} articles in {:.1}s; store {} MB",
            t.elapsed().as_secs_f64(),
            store.size_on_disk() / 1_000_000
        );
    }
    let store = Store::open(&dir, Duration::from_secs(5))?;
    let t = Instant::now();
    let folder = Folder::open(store, DedupParams::default(), now)?;
    println!(
        "Folder::open rebuilt the index of {} articles in {:.2}s",
        folder.index_len(),
        t.elapsed().as_secs_f64()
    );
    drop(folder);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
