//! Compaction: the store rewritten into a file that holds only its live data.
//!
//! sled 0.34 reuses a stretch of its file only once at most half of it is live, and does
//! that work in its own flusher thread, which the store turns off (it flushes itself; see
//! "Durability"). Under retention, with as much deleted as ingested, the file then grows by
//! about what is written (BENCHMARKS.md, issue 9, "Session 58: the store on disk under
//! retention churn"). sled has no call that rewrites its file in place, so [`compact`] does
//! what a restore does, with a compacted copy where the backup's copy would be: the daemon
//! stopped, it reads the store into a new database beside it (`STORE.restoring-TIME`, the
//! name a restore's copy has, so that a compaction killed at any point leaves what a restore
//! killed there leaves, and every open reports it the same way), checks the copy, and puts
//! it in place.
//!
//! The copy is checked three ways before anything is replaced: sled's checksum of every key
//! and value in every tree is the store's; it opens as a store (the full read-through, the
//! durable line's mark); and its id generator hands out ids past every one the store handed
//! out. That last one needs care: article, story and change-log ids come from sled's
//! generator, which starts again at 0 in a new database, and ids must never be reused (a
//! client's cursor, a merged story's id). sled keeps the generator's persisted value in the
//! database and, on every open, starts `2 × idgen_persist_interval` past it; there is no
//! call that sets it. So the copy is opened once with the interval at half of `past`, the
//! first multiple of sled's interval above the store's next id, and one id is taken there:
//! that id is `past`, and taking it persists the generator at `past` (sled asserts that a
//! persisted value is a multiple of the interval every later open uses), which every later
//! open starts from, as after any restart.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::backup::{
    beside, discarded_stores, free_stamp, give_modes, give_owner, holds_sled_files,
    interrupted_restore, io_error, lock_sled, put_in_place, resolved, restoring_copies, sync_dir,
    wait_for_sled, CHECKED, DISCARDED,
};
use super::{Counts, Result, Store, StoreError, IDS_FILE, MARK_FILE, RUNNING_FILE};

/// Files of the store directory outside sled's that stay with the data: the durable line's
/// mark (which the copy's open then checks), the run marker of a daemon that did not stop
/// cleanly (so the next start still says so), and the index snapshot (a cache of the same
/// records and change-log position, still valid for an identical copy: the next start loads
/// it instead of rebuilding the index). The snapshot's name is the fold stage's
/// `snapshot::FILE`, named here to keep storage below it, as `Store::open` does.
const CARRIED: [&str; 4] = [MARK_FILE, IDS_FILE, RUNNING_FILE, "index.snapshot"];

/// sled's `idgen_persist_interval`, which the store leaves at sled's default.
const SLED_IDGEN_INTERVAL: u64 = 1_000_000;

/// Bytes written to the copy per batch. sled's file holds the copy of a store retention had
/// churned (6.0 MB of keys and values in 133 MB) in 29 MB with batches of 8 MiB, in 21 MB
/// with 64 KiB, 22–26 MB with 1–4 KiB or one insert at a time (session 59).
const BATCH_BYTES: usize = 64 << 10;

/// What a fresh sled copy takes per byte of keys and values…
const COPY_PER_BYTE: u64 = 3;
/// …and per record: a store of 160,000 retention tombstones (11.6 MB of keys and values in
/// 397,348 records) compacted to 85.6–93 MB, where bytes alone say 35 (session 60). The
/// churned store of session 59 (6.0 MB, 65,317 records) compacted to 22.8 MB, a store
/// nothing churned (4.2 MB) to 11–13 MB: this model says 26.4 and ~15.
const COPY_PER_RECORD: u64 = 128;

/// Below this size a file is not worth a stop of the daemon, whatever it would give back.
pub const WORTH_COMPACTING_BYTES: u64 = 64 << 20;

/// About what [`compact`] would leave of a store whose read-through counted `data`, now that
/// it holds `articles_now` articles: the count scaled by the articles (retention shrinks the
/// data with them), at `COPY_PER_BYTE` and `COPY_PER_RECORD`. `None` once the store
/// holds more than twice the articles counted: a count taken young (a store of one short
/// article, later fed 400 sources of long ones) says nothing of the articles since, and the
/// next start counts again.
pub fn expected_copy(data: &super::DataSize, articles_now: u64) -> Option<u64> {
    if articles_now > data.articles.saturating_mul(2) {
        return None;
    }
    // Tombstones and meta records as counted: retention adds tombstones as it deletes.
    let scaled = |v: u64, fixed: u64| {
        let v = v.saturating_sub(fixed);
        let v = match data.articles {
            0 => v,
            then => u64::try_from(u128::from(v) * u128::from(articles_now) / u128::from(then))
                .unwrap_or(u64::MAX),
        };
        v.saturating_add(fixed)
    };
    Some(
        scaled(data.bytes, data.unscaled_bytes)
            .saturating_mul(COPY_PER_BYTE)
            .saturating_add(
                scaled(data.records, data.unscaled_records).saturating_mul(COPY_PER_RECORD),
            ),
    )
}

/// Whether a store file of `file_bytes` that a compaction would take to about
/// `expected_copy` bytes is worth saying so to the operator (`/status`, the page,
/// `wirefold stats`): at least `WORTH_COMPACTING_BYTES` (64 MiB), and at least twice the copy.
pub fn worth_compacting(file_bytes: u64, expected_copy: u64) -> bool {
    file_bytes >= WORTH_COMPACTING_BYTES && file_bytes / 2 >= expected_copy
}

/// What [`compact`] did.
#[derive(Debug, Clone)]
pub struct CompactReport {
    /// What the store holds (the same before and after).
    pub counts: Counts,
    /// The store directory's bytes on disk before and after (or the copy's, when it was
    /// not smaller and the store was left as it was).
    pub before: u64,
    pub after: u64,
    /// Keys and values copied, in all trees.
    pub entries: u64,
    /// How long it took.
    pub took: Duration,
    /// Where the store as it was is kept (`keep_old`); `None` once removed.
    pub kept: Option<PathBuf>,
    /// Copies that restores or compactions of this store left when they were stopped before
    /// the store was replaced, and stores compactions left while removing them, removed by
    /// this one.
    pub removed: Vec<PathBuf>,
    /// Whether the copy replaced the store: `false` when it was no smaller (the store was
    /// left as it was).
    pub replaced: bool,
}

/// Rewrites the store at `store`, which no process may have open (the daemon stopped), into
/// a copy holding its live data only, and puts the copy in its place (see the module
/// documentation). The store as it was is removed once the copy is in place, or kept beside
/// it as `STORE.replaced-TIME` with `keep_old`. Any failure before the copy is in place
/// removes the copy and leaves the store as it was; so does a copy no smaller than the store
/// (a store retention never churned: sled's file holds its data at about the density a copy
/// gets).
pub fn compact(store: &Path, flush_every: Duration, keep_old: bool) -> Result<CompactReport> {
    compact_with(store, flush_every, keep_old, |_| {})
}

/// [`compact`], calling `before_swap` with the store's path once the copy is checked and
/// before it is put in place (the tests act there, as another process might).
pub(super) fn compact_with(
    store: &Path,
    flush_every: Duration,
    keep_old: bool,
    before_swap: impl FnOnce(&Path),
) -> Result<CompactReport> {
    let started = Instant::now();
    // A store reached through a symbolic link is compacted where it is: the copy beside the
    // link's target, on its disk, and the link left as it is.
    let store = &resolved(store);
    if let Some(e) = interrupted_restore(store) {
        return Err(e);
    }
    if !holds_sled_files(store) {
        return Err(StoreError::Io(format!(
            "there is no store at {} to compact (no sled files conf and db in it)",
            store.display()
        )));
    }
    let before = dir_bytes(store)?;
    let stamp = free_stamp(store);
    let staging = beside(store, "restoring", &stamp);
    let shown = store.display().to_string();
    let failed = |message: String| StoreError::CompactFailed {
        path: shown.clone(),
        message,
    };

    // The store opened as the daemon opens it (read through, migrated): a damaged store is
    // refused here, never copied. Open until the copy is written, so nothing else writes to
    // it meanwhile; `Locked` when the daemon runs.
    let old = Store::open(store, flush_every)?;
    let counts = old.counts()?;
    let copied = (|| {
        let t = old.t()?;
        let next_id = t.db.generate_id()?;
        let entries = copy_database(&t.db, &staging)?;
        Ok::<_, StoreError>((next_id, entries, t.db.checksum()?))
    })();
    // Whatever the copy did, the store is left as it was found, flushed. Closed, but with
    // its own lock held until the copy is in place or given up: a wirefold started
    // meanwhile (a timer's `once`) is refused, instead of writing what the copy then
    // replaced.
    let flushed = old.flush();
    let own_lock = old.close_keeping_lock();
    let checked = copied
        .and_then(|(next_id, entries, checksum)| {
            flushed?;
            let own_lock = own_lock?;
            wait_for_sled(store)?;
            check_copy(store, &staging, flush_every, next_id, checksum, &counts).map_err(|e| {
                match e {
                    StoreError::CompactFailed { .. } => e,
                    StoreError::Io(message) => failed(message),
                    e => failed(e.to_string()),
                }
            })?;
            Ok((entries, own_lock))
        })
        .and_then(|done| {
            // The store's owner and modes (run as root for a service whose files are its
            // own user's; a store only its user may read stays so).
            let meta = fs::metadata(store).map_err(|e| io_error("reading", store, &e))?;
            give_owner(&staging, &meta)?;
            give_modes(&staging, store)?;
            Ok(done)
        })
        .and_then(|done| Ok((done, dir_bytes(&staging)?)));
    let ((entries, own_lock), after) = match checked {
        Ok(done) => done,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let report =
        |after: u64, kept: Option<PathBuf>, removed: Vec<PathBuf>, replaced: bool| CompactReport {
            counts,
            before,
            after,
            entries,
            took: started.elapsed(),
            kept,
            removed,
            replaced,
        };
    // What stopped restores and compactions left beside the store, removed while it is
    // locked (a restore running now holds the lock, and its copy is no leftover).
    let leftovers = || -> Vec<PathBuf> {
        restoring_copies(store)
            .into_iter()
            .chain(discarded_stores(store))
            .filter(|copy| fs::remove_dir_all(copy).is_ok())
            .collect()
    };
    if after >= before {
        fs::remove_dir_all(&staging).map_err(|e| io_error("removing", &staging, &e))?;
        let removed = leftovers();
        drop(own_lock);
        return Ok(report(after, None, removed, false));
    }

    before_swap(store);
    // sled's lock as well, which a wirefold from before the store's own lock takes alone;
    // and the copy's own lock, which is the store's once the copy is in place.
    let locks = lock_sled(store).and_then(|sled| Ok((sled, super::lock::lock_store(&staging)?)));
    let locks = match locks {
        Ok(locks) => locks,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    // Moved aside under the name of what it is about to be: a compaction killed before
    // removing it leaves a directory the next open warns of and the next compaction removes
    // (or, killed before the copy went in, one the open names beside the copy).
    let aside = if keep_old { "replaced" } else { DISCARDED };
    let replaced = put_in_place(&staging, store, &stamp, aside)?;
    drop(own_lock);
    let kept = match replaced {
        Some(old) if !keep_old => {
            fs::remove_dir_all(&old).map_err(|e| {
                io_error(
                    "removing the store as it was (the compacted one is in place) at",
                    &old,
                    &e,
                )
            })?;
            None
        }
        other => other,
    };
    let removed = leftovers();
    drop(locks);
    Ok(report(dir_bytes(store)?, kept, removed, true))
}

/// Copies every tree of `from` into a new database at `to`, flushed; the keys and values
/// copied.
fn copy_database(from: &sled::Db, to: &Path) -> Result<u64> {
    fs::create_dir(to).map_err(|e| io_error("creating", to, &e))?;
    let db = sled_config(to).open()?;
    let mut entries = 0;
    for name in from.tree_names() {
        let (source, target) = (from.open_tree(&name)?, db.open_tree(&name)?);
        let (mut batch, mut bytes) = (sled::Batch::default(), 0);
        for kv in source.iter() {
            let (k, v) = kv?;
            bytes += k.len() + v.len();
            batch.insert(k, v);
            entries += 1;
            if bytes >= BATCH_BYTES {
                target.apply_batch(std::mem::take(&mut batch))?;
                bytes = 0;
            }
        }
        target.apply_batch(batch)?;
    }
    db.flush()?;
    Ok(entries)
}

/// Checks the copy at `copy` of the store at `store` (closed) against it, and makes it the
/// store to put in place: the store's other files carried over ([`CARRIED`]), its id
/// generator moved past `next_id` (the store's next id), opened as a store, and marked
/// checked.
fn check_copy(
    store: &Path,
    copy: &Path,
    flush_every: Duration,
    next_id: u64,
    checksum: u32,
    counts: &Counts,
) -> Result<()> {
    wait_for_sled(copy)?;
    {
        // The generator must be persisted at a multiple of the interval every later open
        // uses (sled asserts it): the first multiple past the store's next id. Opened with
        // half that as the interval, the copy's first id is that multiple, and taking it
        // persists it.
        let past = (next_id / SLED_IDGEN_INTERVAL + 1)
            .checked_mul(SLED_IDGEN_INTERVAL)
            .ok_or_else(|| StoreError::CompactFailed {
                path: store.display().to_string(),
                message: format!("its next id {next_id} is too large to carry over"),
            })?;
        let db = sled_config(copy).idgen_persist_interval(past / 2).open()?;
        let copied = db.checksum()?;
        if copied != checksum {
            return Err(StoreError::CompactFailed {
                path: store.display().to_string(),
                message: format!("the copy's checksum is {copied:08x}, the store's {checksum:08x}"),
            });
        }
        let first = db.generate_id()?;
        db.flush()?;
        if first != past {
            return Err(StoreError::CompactFailed {
                path: store.display().to_string(),
                message: format!("the copy's id generator started at {first}, not at {past}"),
            });
        }
    }
    wait_for_sled(copy)?;
    for name in CARRIED {
        let from = store.join(name);
        if from.exists() {
            let to = copy.join(name);
            fs::copy(&from, &to)
                .and_then(|_| fs::File::open(&to)?.sync_all())
                .map_err(|e| io_error("copying", &from, &e))?;
        }
    }
    sync_dir(copy)?;
    let opened = Store::open(copy, flush_every)?;
    // sled's id: the offset a restore set was copied with `meta`.
    let id = opened.next_id()? - opened.id_offset();
    let found = opened.counts()?;
    opened.flush()?;
    drop(opened);
    wait_for_sled(copy)?;
    if id <= next_id {
        return Err(StoreError::CompactFailed {
            path: store.display().to_string(),
            message: format!(
                "the copy's ids start again at {id}, and the store had handed out ids up to {}",
                next_id.saturating_sub(1)
            ),
        });
    }
    if found != *counts {
        return Err(StoreError::CompactFailed {
            path: store.display().to_string(),
            message: format!("the copy counts {found:?}, the store {counts:?}"),
        });
    }
    let mark = copy.join(CHECKED);
    fs::File::create(&mark)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error("marking the checked copy", &mark, &e))?;
    sync_dir(copy)
}

/// sled's configuration as the store opens it ([`super::trees`]): its own flusher off.
fn sled_config(path: &Path) -> sled::Config {
    sled::Config::new()
        .path(path)
        .flush_every_ms(None)
        .cache_capacity(super::DEFAULT_CACHE_BYTES)
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut bytes = 0;
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in fs::read_dir(&d).map_err(|e| io_error("reading", &d, &e))? {
            let entry = entry.map_err(|e| io_error("reading", &d, &e))?;
            let meta = entry.metadata().map_err(|e| io_error("reading", &d, &e))?;
            if meta.is_dir() {
                dirs.push(entry.path());
            } else {
                bytes += meta.len();
            }
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod advice_tests {
    use super::{expected_copy, worth_compacting};
    use crate::storage::DataSize;

    fn counted(bytes: u64, records: u64, articles: u64) -> DataSize {
        DataSize {
            bytes,
            records,
            articles,
            unscaled_bytes: 0,
            unscaled_records: 0,
            at: 0,
        }
    }

    /// The cases measured (see the constants): the churned store of session 59 is advised,
    /// a freshly compacted one of tombstones is not, nor a store counted young and fed since
    /// (session 60's review: 204 MB "for 893 bytes of data"), nor a small file.
    #[test]
    fn a_compaction_is_advised_for_a_churned_file_only() {
        let mb = 1_000_000;
        // 6.0 MB in 65,317 records and 1,892 articles, in a 129 MB file.
        let churned = counted(6 * mb, 65_317, 1_892);
        let e = expected_copy(&churned, 1_892).unwrap();
        assert!((20 * mb..30 * mb).contains(&e), "{e}");
        assert!(worth_compacting(129 * mb, e));
        // Retention went on deleting: scaled down, still advised.
        assert!(worth_compacting(
            129 * mb,
            expected_copy(&churned, 1_000).unwrap()
        ));
        // Below 64 MiB: never.
        assert!(!worth_compacting(60 * mb, e));
        // 397,348 records of tombstones (11.6 MB), no article, in 79 MB just compacted.
        let tombstones = counted(11_567_164, 397_348, 0);
        let e = expected_copy(&tombstones, 0).unwrap();
        assert!(!worth_compacting(79 * mb, e), "{e}");
        // Counted with one article; 18,000 stored since: no estimate, no advice.
        assert_eq!(expected_copy(&counted(893, 8, 1), 18_000), None);
        assert_eq!(expected_copy(&counted(893, 8, 0), 1), None);
        // Up to twice the articles counted, scaled up.
        assert_eq!(
            expected_copy(&counted(1_000, 10, 100), 200),
            Some(3 * 2_000 + 128 * 20)
        );
        // Tombstones are not scaled: a compacted store of 373,000 tombstones (10.7 MB)
        // counted with 2 articles, whose articles retention then deleted (session 60's
        // recheck: advised at "0.0 MiB" for a 79 MB file).
        let drained = DataSize {
            unscaled_bytes: 10_730_000,
            unscaled_records: 373_500,
            ..counted(10_738_996, 373_532, 2)
        };
        let e = expected_copy(&drained, 0).unwrap();
        assert!(e > 75 * mb, "{e}");
        assert!(!worth_compacting(79 * mb, e));
    }
}
