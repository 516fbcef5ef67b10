//! The index snapshot is only a cache: loaded and caught up, it gives exactly the index a full
//! rebuild of the store gives — after new stories, copies, updates, evictions and a "crash"
//! that left the snapshot behind the store; after a clean shutdown it gives the index the
//! daemon had, which holds the same articles and decides alike; and anything it cannot vouch
//! for falls back to the full rebuild.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::snapshot::{self, SnapshotError};
use super::{fingerprint_article, Folder, IndexSource};
use crate::dedup::{DedupParams, Index, Record};
use crate::fingerprint::Fingerprint;
use crate::normalize::{normalize, Article, NormalizeOptions, RawEntry};
use crate::storage::Store;

const HOUR: i64 = 3_600_000;
const T0: i64 = 1_700_000_000_000;

fn params() -> DedupParams {
    DedupParams {
        window: Duration::from_secs(10 * 3600),
        short_window: Duration::from_secs(3 * 3600),
        ..DedupParams::default()
    }
}

/// Deterministic paragraph `i` of story `s`: stories share no long phrases, paragraphs of one
/// story are distinct.
fn para(s: u64, i: u64) -> String {
    let mut x = (s * 7919 + i * 104_729) | 1;
    (0..40)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("w{}", x % 9000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn raw(guid: &str, title: &str, paras: &[String]) -> RawEntry {
    RawEntry {
        guid: Some(guid.into()),
        title: Some(title.into()),
        content: Some(paras.iter().map(|p| format!("<p>{p}.</p>")).collect()),
        ..RawEntry::default()
    }
}

fn article(r: &RawEntry, at: i64) -> Article {
    let now = DateTime::<Utc>::from_timestamp_millis(at).unwrap();
    normalize(r, &NormalizeOptions::new(now))
}

/// Story `s` as source `src` carries it: the whole text, or (for a near copy) all but the
/// last paragraph; `edit` changes the text (an update in place).
fn item(s: u64, src: &str, near: bool, edit: u64) -> RawEntry {
    let n = if near { 5 } else { 6 };
    let mut paras: Vec<String> = (0..n).map(|i| para(s, i)).collect();
    if edit > 0 {
        paras.push(para(s + 1000, edit));
    }
    raw(&format!("{src}-{s}"), &format!("Story {s}"), &paras)
}

/// Folds a day of traffic: every hour two new stories, an exact and a near copy of the
/// previous hour's, and an update of an older one.
fn traffic(f: &Folder, from_hour: i64, to_hour: i64) {
    for h in from_hour..to_hour {
        let at = T0 + h * HOUR;
        let s = h as u64 * 2;
        let mut batch = vec![
            article(&item(s, "agency", false, 0), at),
            article(&item(s + 1, "agency", false, 0), at),
        ];
        if h > 0 {
            batch.push(article(&item(s - 2, "paper", false, 0), at));
            batch.push(article(&item(s - 1, "blog", true, 0), at));
        }
        if h > 3 {
            batch.push(article(&item(s - 8, "agency", false, h as u64), at));
        }
        f.fold_all("mixed", batch, at).unwrap();
    }
}

/// Fingerprints to probe the index with: every story of the traffic, whole and cut.
fn probes(hours: i64) -> Vec<Fingerprint> {
    (0..hours as u64 * 2 + 2)
        .flat_map(|s| [item(s, "probe", false, 0), item(s, "probe", true, 3)])
        .map(|r| fingerprint_article(&article(&r, T0)))
        .collect()
}

/// The index's records, encoded in slot order.
fn record_bytes(i: &crate::dedup::Index) -> Vec<u8> {
    let mut out = Vec::new();
    for r in i.records() {
        r.encode(&mut out);
    }
    out
}

/// The index as it is in memory: every slot, free ones included, and the tables' cells.
fn state_bytes(i: &Index) -> Vec<u8> {
    let mut out = Vec::new();
    i.write_state(&mut out).unwrap();
    out
}

/// Asserts that two folders hold the same index: the same records in the same slots, and the
/// same decision for every probe.
fn assert_same_index(a: &Folder, b: &Folder, now: i64, hours: i64) {
    let (ia, ib) = (a.lock(), b.lock());
    assert!(record_bytes(&ia) == record_bytes(&ib), "the records differ");
    assert_same_articles(&ia, &ib, now, hours);
}

/// Asserts that two indexes hold the same articles, in any slots, and decide alike on every
/// probe.
fn assert_same_articles(a: &Index, b: &Index, now: i64, hours: i64) {
    assert!(!a.is_empty());
    assert_eq!(a.len(), b.len());
    let sorted = |i: &Index| {
        let mut r: Vec<Record> = i.records().collect();
        r.sort_unstable_by_key(Record::article);
        let mut out = Vec::new();
        for r in r {
            r.encode(&mut out);
        }
        out
    };
    assert!(sorted(a) == sorted(b), "the articles differ");
    for fp in probes(hours) {
        assert_eq!(a.find(&fp, now / 1000), b.find(&fp, now / 1000));
    }
}

fn open(path: &std::path::Path) -> Store {
    Store::open(path, Duration::from_secs(60)).unwrap()
}

#[test]
fn a_stale_snapshot_caught_up_is_the_index_a_full_rebuild_gives() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let saved;
    {
        let (f, source) = Folder::open_from(open(&path), params(), T0).unwrap();
        assert_eq!(source, IndexSource::Rebuilt);
        traffic(&f, 0, 14);
        // No snapshot yet: a crash now would rebuild, so every change counts.
        f.store.flush().unwrap();
        let written = f.store.last_change().unwrap().unwrap();
        assert_eq!(f.changes_since_snapshot(), written);
        // Eviction has run (the window is 10 h): the snapshot holds fewer than the store.
        assert!(f.evict(T0 + 14 * HOUR) > 0);
        saved = f.save_snapshot(T0 + 14 * HOUR).unwrap();
        assert_eq!(saved.articles, f.index_len() as u64);
        assert_eq!(f.changes_since_snapshot(), 0);
        // More after the snapshot — new stories, copies, updates of articles it holds — then
        // a "crash": the store is flushed, the snapshot is not written again.
        traffic(&f, 14, 20);
        f.store.flush().unwrap();
        let after = f.store.last_change().unwrap().unwrap() - saved.seq;
        assert!(after > 0);
        assert_eq!(f.changes_since_snapshot(), after);
    }
    let now = T0 + 20 * HOUR;
    let store = open(&path);
    // Caught up only while there are few enough changes after it; past the limit the full
    // rebuild is the faster way to the same index.
    let mut articles: Vec<u64> = store
        .written_changes_after(saved.seq)
        .map(|c| c.unwrap().article)
        .collect();
    articles.dedup();
    let changed = articles.len();
    assert!(
        changed > 20,
        "{changed} articles changed after the snapshot"
    );
    assert!(snapshot::load_with_limit(&store, &params(), now, changed).is_ok());
    match snapshot::load_with_limit(&store, &params(), now, changed - 1) {
        Err(SnapshotError::Stale(m)) => assert!(m.contains("articles changed after it"), "{m}"),
        other => panic!(
            "expected a stale snapshot, got {:?}",
            other.map(|(i, _)| i.len())
        ),
    }
    assert_eq!(snapshot::catch_up_limit(0), 10_000);
    assert_eq!(snapshot::catch_up_limit(1_000_000), 250_000);
    let (loaded, source) = Folder::open_from(store.clone(), params(), now).unwrap();
    assert_eq!(source, IndexSource::Snapshot);
    // Caught up, the snapshot on disk is still the old one: the changes after it count.
    let after = store.last_change().unwrap().unwrap() - saved.seq;
    assert_eq!(loaded.changes_since_snapshot(), after);
    let rebuilt = Folder::open_rebuilding(store.clone(), params(), now).unwrap();
    assert_eq!(
        rebuilt.changes_since_snapshot(),
        store.last_change().unwrap().unwrap()
    );
    assert_same_index(&loaded, &rebuilt, now, 20);
    // The same when the snapshot was read on a thread while the store opened (here the
    // catch-up makes it read the snapshot again).
    let prefetch = snapshot::Prefetch::start(&path, &params());
    let (prefetched, source) = Folder::open_prefetched(store, params(), now, prefetch).unwrap();
    assert_eq!(source, IndexSource::Snapshot);
    assert_same_index(&prefetched, &rebuilt, now, 20);
    drop(prefetched);

    // And both go on folding alike.
    traffic(&loaded, 20, 21);
    drop(loaded);
    let store = rebuilt.store.clone();
    drop(rebuilt);
    let (a, _) = Folder::open_from(store.clone(), params(), now + HOUR).unwrap();
    let b = Folder::open_rebuilding(store, params(), now + HOUR).unwrap();
    assert_same_index(&a, &b, now + HOUR, 21);
}

#[test]
fn a_snapshot_it_cannot_vouch_for_falls_back_to_the_full_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let now = T0 + 12 * HOUR;
    let store = open(&path);
    {
        let f = Folder::open(store.clone(), params(), T0).unwrap();
        traffic(&f, 0, 12);
        f.save_snapshot(now).unwrap();
    }
    let source = |p: DedupParams, at: i64| {
        let (f, s) = Folder::open_from(store.clone(), p.clone(), at).unwrap();
        let full = Folder::open_rebuilding(store.clone(), p, at).unwrap();
        assert_same_articles(&f.lock(), &full.lock(), at, 12);
        s
    };
    assert_eq!(source(params(), now), IndexSource::Snapshot);

    // A longer window needs articles the snapshot dropped.
    let wider = DedupParams {
        window: Duration::from_secs(11 * 3600),
        ..params()
    };
    assert!(matches!(
        snapshot::load(&store, &wider, now),
        Err(SnapshotError::Outdated(_))
    ));
    assert_eq!(source(wider, now), IndexSource::Rebuilt);
    // A clock before the snapshot's time.
    assert!(matches!(
        snapshot::load(&store, &params(), now - 1),
        Err(SnapshotError::Stale(_))
    ));

    // One flipped bit in a record.
    let file = path.join(snapshot::FILE);
    let good = std::fs::read(&file).unwrap();
    // Written for an older store schema (the header's fifth u32), or with another record
    // layout (its second): what the first start after an upgrade finds.
    for (at, value) in [(24, crate::storage::SCHEMA_VERSION - 1), (12, 1)] {
        let mut older = good.clone();
        older[at..at + 4].copy_from_slice(&value.to_le_bytes());
        std::fs::write(&file, &older).unwrap();
        match snapshot::load(&store, &params(), now) {
            Err(SnapshotError::Outdated(m)) => assert!(m.contains("written "), "{m}"),
            other => panic!("{at}: expected an outdated snapshot, got {:?}", other.err()),
        }
        assert_eq!(source(params(), now), IndexSource::Rebuilt);
    }
    std::fs::write(&file, &good).unwrap();
    assert_eq!(source(params(), now), IndexSource::Snapshot);
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    std::fs::write(&file, &bad).unwrap();
    assert!(matches!(
        snapshot::load(&store, &params(), now),
        Err(SnapshotError::Invalid(_))
    ));
    assert_eq!(source(params(), now), IndexSource::Rebuilt);
    // Cut short.
    std::fs::write(&file, &good[..good.len() - 10]).unwrap();
    assert!(matches!(
        snapshot::load(&store, &params(), now),
        Err(SnapshotError::Invalid(_))
    ));
    // Missing.
    std::fs::remove_file(&file).unwrap();
    assert!(matches!(
        snapshot::load(&store, &params(), now),
        Err(SnapshotError::Missing)
    ));
    assert_eq!(source(params(), now), IndexSource::Rebuilt);

    // Retention deleted articles after it was written: the change log does not tell which.
    std::fs::write(&file, &good).unwrap();
    assert_eq!(source(params(), now), IndexSource::Snapshot);
    let f = Folder::open(store.clone(), params(), now).unwrap();
    let pruned = f.prune(T0 + 4 * HOUR, now, 3).unwrap();
    assert_eq!(pruned.articles.len(), 3);
    drop(f);
    assert!(matches!(
        snapshot::load(&store, &params(), now),
        Err(SnapshotError::Stale(_))
    ));
    assert_eq!(source(params(), now), IndexSource::Rebuilt);
}

#[test]
fn a_snapshot_of_another_store_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let now = T0 + 6 * HOUR;
    for (path, hours) in [(&a, 6), (&b, 5)] {
        let f = Folder::open(open(path), params(), T0).unwrap();
        traffic(&f, 0, hours);
        f.save_snapshot(now).unwrap();
    }
    std::fs::copy(a.join(snapshot::FILE), b.join(snapshot::FILE)).unwrap();
    let store = open(&b);
    let got = snapshot::load(&store, &params(), now);
    eprintln!("GOT {:?}", got.as_ref().err());
    assert!(matches!(got, Err(SnapshotError::Stale(_))));
    let (f, source) = Folder::open_from(store.clone(), params(), now).unwrap();
    assert_eq!(source, IndexSource::Rebuilt);
    assert_same_index(
        &f,
        &Folder::open_rebuilding(store, params(), now).unwrap(),
        now,
        6,
    );
}

#[test]
fn after_a_clean_shutdown_the_prefetched_index_is_used_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    // Twelve hours of traffic in a 10 h window, never evicted before the snapshot: the load
    // evicts what is older than the window at `now`.
    let now = T0 + 12 * HOUR;
    let had = {
        let f = Folder::open(open(&path), params(), T0).unwrap();
        traffic(&f, 0, 12);
        f.save_snapshot(now).unwrap();
        assert!(f.evict(now) > 0);
        let had = state_bytes(&f.lock());
        had
    };
    let prefetch = snapshot::Prefetch::start(&path, &params());
    let store = open(&path);
    assert!(store.written_changes_after(0).count() > 0);
    let (f, source) = Folder::open_prefetched(store.clone(), params(), now, prefetch).unwrap();
    assert_eq!(source, IndexSource::Snapshot);
    // The index the daemon had: the same slots and the same table cells ...
    assert!(
        state_bytes(&f.lock()) == had,
        "not the index that was saved"
    );
    // ... which holds the articles a full rebuild holds and decides alike.
    let full = Folder::open_rebuilding(store.clone(), params(), now).unwrap();
    assert_same_articles(&f.lock(), &full.lock(), now, 12);
    // The same without the prefetch.
    let (g, source) = Folder::open_from(store.clone(), params(), now).unwrap();
    assert_eq!(source, IndexSource::Snapshot);
    assert!(
        state_bytes(&g.lock()) == had,
        "not the index that was saved"
    );
    drop(g);
    // A prefetch of a snapshot the store cannot vouch for is not used.
    drop((f, full));
    let f = Folder::open(store.clone(), params(), now).unwrap();
    let pruned = f.prune(T0 + HOUR, now, 2).unwrap();
    assert_eq!(pruned.articles.len(), 2);
    drop(f);
    let prefetch = snapshot::Prefetch::start(&path, &params());
    let (f, source) = Folder::open_prefetched(store.clone(), params(), now, prefetch).unwrap();
    assert_eq!(source, IndexSource::Rebuilt);
    let full = Folder::open_rebuilding(store, params(), now).unwrap();
    assert_same_index(&f, &full, now, 12);
}

#[test]
fn the_rebuild_read_in_two_halves_is_the_index_one_read_gives() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("s"));
    let f = Folder::open_rebuilding(store.clone(), params(), T0).unwrap();
    traffic(&f, 0, 20);
    // The window (10 h) starts in the newer half of the ids, in the older half, before all
    // of them, and after all of them.
    for hours in [20, 12, 8, 40] {
        let now = T0 + hours * HOUR;
        let since = snapshot::window_start(&params(), now);
        let records = snapshot::read_records(&store, since, .., 0).unwrap();
        let one = snapshot::index_of(&params(), records, since);
        let two = snapshot::rebuild(&store, &params(), now).unwrap();
        assert_eq!(one.len(), two.len(), "window of {hours} h");
        assert!(
            record_bytes(&one) == record_bytes(&two),
            "window of {hours} h: the records differ"
        );
        assert_eq!(one.is_empty(), hours == 40, "window of {hours} h");
    }
}

#[test]
fn a_snapshot_that_covers_every_change_is_not_written_again() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let file = path.join(snapshot::FILE);
    // The rename of a new file into place changes the inode: how a rewrite shows.
    let inode = || std::fs::metadata(&file).unwrap().ino();
    let now = T0 + 6 * HOUR;
    let first;
    {
        let (f, source) = Folder::open_from(open(&path), params(), T0).unwrap();
        assert_eq!(source, IndexSource::Rebuilt);
        // Nothing stored: nothing to save, whichever way.
        assert!(matches!(
            f.save_snapshot_if_changed(T0),
            Err(SnapshotError::Empty)
        ));
        traffic(&f, 0, 6);
        f.store.flush().unwrap();
        let saved = f.save_snapshot_if_changed(now).unwrap();
        assert_eq!(saved.map(|s| s.articles), Some(f.index_len() as u64));
        first = inode();
        assert!(f.save_snapshot_if_changed(now).unwrap().is_none());
        assert_eq!(inode(), first);
    }
    // A start from it, and a shutdown with nothing folded in between.
    let (f, source) = Folder::open_from(open(&path), params(), now).unwrap();
    assert_eq!(source, IndexSource::Snapshot);
    assert!(f.save_snapshot_if_changed(now).unwrap().is_none());
    assert_eq!(inode(), first);
    // The same items polled again change nothing either.
    traffic(&f, 5, 6);
    f.store.flush().unwrap();
    assert_eq!(f.changes_since_snapshot(), 0);
    assert!(f.save_snapshot_if_changed(now).unwrap().is_none());
    // New items do.
    traffic(&f, 6, 7);
    f.store.flush().unwrap();
    assert!(f.save_snapshot_if_changed(now + HOUR).unwrap().is_some());
    let second = inode();
    assert_ne!(second, first);
    // A file gone (removed by hand: deleting it is always safe) is written again.
    std::fs::remove_file(&file).unwrap();
    assert!(f.save_snapshot_if_changed(now + HOUR).unwrap().is_some());
    assert!(file.is_file());
    // A start that rebuilt the index cannot vouch for the file on disk: it is rewritten.
    drop(f);
    let rebuilt = Folder::open_rebuilding(open(&path), params(), now + HOUR).unwrap();
    let before = inode();
    assert!(rebuilt
        .save_snapshot_if_changed(now + HOUR)
        .unwrap()
        .is_some());
    assert_ne!(inode(), before);
}
