//! What sled 0.34 costs per stored article, apart from everything else wirefold does: the
//! floor under ingest throughput (BENCHMARKS.md, issue 8, "20,000 articles/s").
//!
//! Writes N articles in polls of 30, each as the five records a fold writes (article with
//! its text, index record, source key, story, change-log entry) plus the counters, in one of
//! three ways, flushing every 3,000 articles (`FLUSH=N`; 0: only at the end), and prints CPU
//! time per article (user + system, every thread of the process):
//!
//! ```sh
//! cargo run --release --example sled_cost -- txn 30000      # one transaction per poll (wirefold)
//! cargo run --release --example sled_cost -- batch 30000    # one apply_batch per tree and poll
//! cargo run --release --example sled_cost -- single 30000   # plain inserts, no atomicity
//! TEXT=1000 cargo run --release --example sled_cost -- single 30000   # text bytes (default 2200)
//! ```

use std::time::Instant;

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

const POLL: u64 = 30;
const INDEX: [u8; 190] = [b'i'; 190];
const STORY: [u8; 300] = [b's'; 300];
const CHANGE: [u8; 40] = [b'c'; 40];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "txn".into());
    let n: u64 = std::env::args()
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or(30_000);
    let text_len: usize = std::env::var("TEXT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2200);
    let flush_every: u64 = std::env::var("FLUSH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let dir = tempfile::tempdir()?;
    let db = sled::Config::new()
        .path(dir.path())
        .flush_every_ms(None)
        .cache_capacity(8 << 20)
        .open()?;
    let t: Vec<sled::Tree> = ["article", "index", "key", "story", "change", "meta"]
        .iter()
        .map(|name| db.open_tree(name))
        .collect::<Result<_, _>>()?;
    let text = vec![b'x'; text_len];
    let key_of = |x: u64| format!("source{}\0item{x}", x % 1000).into_bytes();
    let (wall, cpu) = (Instant::now(), cpu_secs());
    let mut next = 0u64;
    while next < n {
        let ids: Vec<u64> = (next..next + POLL).collect();
        next += POLL;
        match mode.as_str() {
            "txn" => {
                (&t[0], &t[1], &t[2], &t[3], &t[4], &t[5])
                    .transaction(|(a, i, k, s, c, m)| {
                        for &x in &ids {
                            let id = x.to_be_bytes();
                            a.insert(&id, text.as_slice())?;
                            i.insert(&id, &INDEX[..])?;
                            k.insert(key_of(x), &id)?;
                            s.insert(&id, &STORY[..])?;
                            c.insert(&id, &CHANGE[..])?;
                        }
                        m.insert(b"counts", &next.to_be_bytes())?;
                        Ok::<_, ConflictableTransactionError<()>>(())
                    })
                    .map_err(|e| format!("{e:?}"))?;
            }
            "batch" => {
                let mut b: Vec<sled::Batch> = (0..6).map(|_| sled::Batch::default()).collect();
                for &x in &ids {
                    let id = x.to_be_bytes();
                    b[0].insert(&id, text.as_slice());
                    b[1].insert(&id, &INDEX[..]);
                    b[2].insert(key_of(x), &id);
                    b[3].insert(&id, &STORY[..]);
                    b[4].insert(&id, &CHANGE[..]);
                }
                b[5].insert(b"counts", &next.to_be_bytes());
                for (tree, batch) in t.iter().zip(b) {
                    tree.apply_batch(batch)?;
                }
            }
            "single" => {
                for &x in &ids {
                    let id = x.to_be_bytes();
                    t[0].insert(id, text.as_slice())?;
                    t[1].insert(id, &INDEX[..])?;
                    t[2].insert(key_of(x), &id)?;
                    t[3].insert(id, &STORY[..])?;
                    t[4].insert(id, &CHANGE[..])?;
                }
                t[5].insert(b"counts", &next.to_be_bytes())?;
            }
            other => return Err(format!("mode {other}: txn, batch or single").into()),
        }
        if flush_every > 0 && next % flush_every == 0 {
            db.flush()?;
        }
    }
    db.flush()?;
    let cpu = cpu_secs() - cpu;
    println!(
        "{mode}: {n} articles, text {text_len} B: {:.3} s wall, {cpu:.3} CPU-s, {:.1} µs CPU/article",
        wall.elapsed().as_secs_f64(),
        cpu / n as f64 * 1e6
    );
    Ok(())
}

/// User + system CPU time of this process so far.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
