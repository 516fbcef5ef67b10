//! How long an online backup closes the store: opens the store at DIR (one `rebuild` left,
//! or any stopped daemon's), backs it up `RUNS` times (default 3) into a temporary directory
//! beside it, and prints the bytes copied, how long the store was closed and how long each
//! backup took in all.
//!
//! ```text
//! cargo run --release --example rebuild -- 1000000 /tmp/wf-store 1   # a store to copy
//! cargo run --release --example backup_time -- /tmp/wf-store [RUNS]
//! ```

use std::time::Duration;

use wirefold::storage::{Store, BACKUP_WAIT};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(std::path::PathBuf::from) else {
        return Err("usage: backup_time DIR [RUNS]".into());
    };
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(3);
    let store = Store::open(&dir, Duration::from_millis(500))?;
    let counts = store.counts()?;
    let root = dir.with_extension("backup-time");
    println!(
        "store {} ({} articles, {:.1} MiB on disk)",
        dir.display(),
        counts.articles,
        store.size_on_disk() as f64 / (1024.0 * 1024.0)
    );
    for run in 1..=runs {
        let started = std::time::Instant::now();
        let r = store.backup(&root, 1, BACKUP_WAIT)?;
        println!(
            "run {run}: {:.1} MiB copied, store closed for {:.3} s, backup done in {:.3} s \
             (the manifest's read of the copy comes after the store reopened)",
            r.bytes as f64 / (1024.0 * 1024.0),
            r.closed_for.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    }
    std::fs::remove_dir_all(&root)?;
    Ok(())
}
