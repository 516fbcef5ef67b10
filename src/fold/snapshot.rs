//! The index snapshot: the near-duplicate index saved as one flat file beside the store
//! (`index.snapshot`), so that a restart reads one file instead of the index records of the
//! whole window out of sled, and the index's tables as they were instead of filling them
//! again.
//!
//! # What it is, and why it can be trusted
//! A cache, never a source of truth. It is written under the fold lock right after a store
//! flush, so it holds exactly the index records of the durable store up to one change-log
//! position (`seq`). On start it is used only when
//! - its header, layout and xxh3 checksum are right and it was written for this schema;
//! - the store still holds the change at `seq`, the same one (not an older or restored store,
//!   nor a change log pruned past it);
//! - retention deleted nothing since (`index_epoch` in the store's `meta` is unchanged: the
//!   change log tells of new and updated articles, not of deleted ones);
//! - the time window did not grow, and the clock is not before the snapshot's time.
//!
//! When nothing was written after `seq` (a clean shutdown wrote it), the index is used as it
//! was saved, with what has left the window since evicted: the daemon goes on with the index
//! it had. That holds the articles a full rebuild holds, in other slots, and with the tables'
//! postings caps filled in the order the articles came (a rebuild fills them newest first).
//! Otherwise it is caught up with every change after `seq` (the article's index record read
//! again from the store: new articles, updated ones, and whatever a crash left after the last
//! snapshot), and its records go through the same steps as a full rebuild: newest first, up
//! to the first one older than the window, into [`Index::from_records`]. So that index is the
//! one a full rebuild of the store gives (as long as article ids increase with first
//! sighting, which the full rebuild assumes too). Anything else — missing, damaged, stale,
//! or so far behind that the rebuild is faster (`catch_up_limit`) — falls back to the full
//! rebuild, with the reason logged.
//!
//! At daemon start the file is read on a thread while sled opens the store ([`Prefetch`]).
//! Reading it is a copy and a check: at 1,000,000 articles 0.34–0.40 s, where reading the
//! records and filling the tables again took 0.82–1.21 s (BENCHMARKS, "Restart with
//! 1,000,000 articles").
//!
//! Writing one holds the fold lock for a store flush plus the copy of the index into the page
//! cache (part of a whole save, which with the fsync took 0.7–0.9 s at 1,000,000 articles,
//! with the tables as without them): folding pauses that long once an hour while articles
//! change, never while none do (at most once a minute during a burst of ingest).
//!
//! # Layout
//! A header of [`HEADER_BYTES`] (little-endian): magic, format version, record size,
//! `ANCHORS`, `BIN_WORDS`, schema version, window (s), the covered change (seq, article, story,
//! time), the index epoch, when it was written (ms), the article count and the xxh3-64 of the
//! rest; then the index as [`Index::write_state`] writes it (its slots, [`Record::BYTES`]
//! each, then its tables' cells). Written to a temporary file, fsynced, renamed over the old
//! one, directory fsynced: a crash leaves the old snapshot or the new one. A snapshot of
//! format 1 (records only) is refused as written by another version, and the index rebuilt.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3;

use crate::dedup::{DedupParams, Index, Record, StateError};
use crate::fingerprint::minhash::BIN_WORDS;
use crate::fingerprint::ANCHORS;
use crate::storage::{Millis, Store, StoreError, SCHEMA_VERSION};

/// File name in the store directory.
pub const FILE: &str = "index.snapshot";
const TMP: &str = "index.snapshot.tmp";
const MAGIC: &[u8; 8] = b"WFIDXSNP";
/// 2: the index as it was in memory, tables included (1: its records only).
const FORMAT: u32 = 2;
/// Header size.
pub const HEADER_BYTES: usize = 8 + 4 * 6 + 8 * 9;

/// Why a snapshot was not written or not used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// There is none (first start, or removed).
    #[error("there is no index snapshot")]
    Missing,
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Not a snapshot of this format, or damaged.
    #[error("the index snapshot is unreadable: {0}")]
    Invalid(String),
    /// Written by another version of wirefold or under a shorter `dedup.window`: expected
    /// once after an upgrade or that change, not a fault.
    #[error("the index snapshot is outdated: {0}")]
    Outdated(String),
    /// It does not describe this store as it is now.
    #[error("the index snapshot is stale: {0}")]
    Stale(String),
    /// Nothing to snapshot yet (no change logged).
    #[error("nothing to snapshot: the change log is empty")]
    Empty,
    /// The store could not be read or flushed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T, E = SnapshotError> = std::result::Result<T, E>;

/// What a snapshot header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Store schema version it was written for.
    pub schema: u32,
    /// The dedup window (s) the index was kept to.
    pub window_secs: u64,
    /// The newest change it covers (its seq)...
    pub seq: u64,
    /// ... that change's article ...
    pub article: u64,
    /// ... its story ...
    pub story: u64,
    /// ... and its time (ms): together they identify the store it was written from.
    pub at: Millis,
    /// The store's `index_epoch` then.
    pub epoch: u64,
    /// When it was written (ms).
    pub written_at: Millis,
    /// Articles in the index.
    pub count: u64,
    /// xxh3-64 of the index's bytes.
    pub checksum: u64,
}

impl Header {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEADER_BYTES);
        b.extend_from_slice(MAGIC);
        for v in [
            FORMAT,
            Record::BYTES as u32,
            ANCHORS as u32,
            BIN_WORDS as u32,
            self.schema,
            0,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [
            self.window_secs,
            self.seq,
            self.article,
            self.story,
            self.at as u64,
            self.epoch,
            self.written_at as u64,
            self.count,
            self.checksum,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    fn decode(b: &[u8]) -> Result<Header> {
        let bad = |m: &str| SnapshotError::Invalid(m.to_owned());
        if b.get(..8) != Some(MAGIC.as_slice()) {
            return Err(bad("not an index snapshot (magic)"));
        }
        let u32_at = |i: usize| {
            b.get(8 + 4 * i..12 + 4 * i)
                .and_then(|c| c.try_into().ok())
                .map(u32::from_le_bytes)
        };
        let u64_at = |i: usize| {
            b.get(32 + 8 * i..40 + 8 * i)
                .and_then(|c| c.try_into().ok())
                .map(u64::from_le_bytes)
        };
        let layout = [
            FORMAT,
            Record::BYTES as u32,
            ANCHORS as u32,
            BIN_WORDS as u32,
        ];
        for (i, want) in layout.into_iter().enumerate() {
            if u32_at(i) != Some(want) {
                return Err(SnapshotError::Outdated(
                    "written by another version (format or record layout)".into(),
                ));
            }
        }
        let v = |i| u64_at(i).ok_or_else(|| bad("short header"));
        Ok(Header {
            schema: u32_at(4).ok_or_else(|| bad("short header"))?,
            window_secs: v(0)?,
            seq: v(1)?,
            article: v(2)?,
            story: v(3)?,
            at: v(4)? as Millis,
            epoch: v(5)?,
            written_at: v(6)? as Millis,
            count: v(7)?,
            checksum: v(8)?,
        })
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SnapshotError + '_ {
    move |source| SnapshotError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A writer that hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Xxh3,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A snapshot being written: the index goes to a temporary file (under the fold lock, into
/// the page cache), [`Writer::finish`] makes it durable and puts it in place (no lock needed).
pub struct Writer {
    dir: PathBuf,
    out: Hashing<BufWriter<File>>,
    count: u64,
}

impl Writer {
    /// Starts a snapshot in `dir`.
    pub fn create(dir: &Path) -> Result<Writer> {
        let tmp = dir.join(TMP);
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(io(&tmp))?);
        out.write_all(&[0u8; HEADER_BYTES]).map_err(io(&tmp))?;
        Ok(Writer {
            dir: dir.to_owned(),
            out: Hashing {
                inner: out,
                hasher: Xxh3::new(),
            },
            count: 0,
        })
    }

    /// Writes `index` as it is: its records, free slots and tables
    /// ([`Index::write_state`]).
    pub fn write_index(&mut self, index: &Index) -> Result<()> {
        let tmp = self.dir.join(TMP);
        index.write_state(&mut self.out).map_err(io(&tmp))?;
        self.count = index.len() as u64;
        Ok(())
    }

    /// Writes the header (`count` and `checksum` filled in here), fsyncs, and renames the
    /// file into place. Returns the header written.
    pub fn finish(self, mut header: Header) -> Result<Header> {
        let tmp = self.dir.join(TMP);
        header.count = self.count;
        header.checksum = self.out.hasher.digest();
        let mut f = self
            .out
            .inner
            .into_inner()
            .map_err(|e| io(&tmp)(e.into_error()))?;
        f.rewind().map_err(io(&tmp))?;
        f.write_all(&header.encode()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        let path = self.dir.join(FILE);
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        // The rename itself must survive a crash.
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        Ok(header)
    }
}

/// Removes what a failed [`Writer`] left in `dir` (on a full disk it takes the space a
/// recovering store needs).
pub fn discard(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(TMP));
}

/// A reader that hashes what comes through it.
struct Hashed<R> {
    inner: R,
    hasher: Xxh3,
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// Reads the snapshot in `dir`: the header and the index as it was written (under `params`;
/// see [`Index::read_state`]), checked against the checksum.
pub fn read(dir: &Path, params: &DedupParams) -> Result<(Header, Index)> {
    let path = dir.join(FILE);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SnapshotError::Missing),
        Err(e) => return Err(io(&path)(e)),
    };
    let len = file.metadata().map_err(io(&path))?.len();
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut head = [0u8; HEADER_BYTES];
    input
        .read_exact(&mut head)
        .map_err(|_| SnapshotError::Invalid("shorter than its header".into()))?;
    let header = Header::decode(&head)?;
    let mut body = Hashed {
        inner: input,
        hasher: Xxh3::new(),
    };
    let index = Index::read_state(
        params.clone(),
        &mut body,
        len.saturating_sub(HEADER_BYTES as u64),
    )
    .map_err(|e| match e {
        StateError::Io(source) => io(&path)(source),
        e => SnapshotError::Invalid(e.to_string()),
    })?;
    if body.hasher.digest() != header.checksum {
        return Err(SnapshotError::Invalid("checksum mismatch".into()));
    }
    if index.len() as u64 != header.count {
        return Err(SnapshotError::Invalid(format!(
            "{} articles where the header says {}",
            index.len(),
            header.count
        )));
    }
    Ok((header, index))
}

/// The index from the snapshot in the store's directory, caught up with the store, and the
/// change-log position the snapshot covers: see the module docs for when that is refused.
pub fn load(store: &Store, params: &DedupParams, now: Millis) -> Result<(Index, u64)> {
    checked_and_caught_up(store, params, now, read(store.path(), params)?, None)
}

/// [`load`] with `limit` in place of [`catch_up_limit`]'s.
#[cfg(test)]
pub(super) fn load_with_limit(
    store: &Store,
    params: &DedupParams,
    now: Millis,
    limit: usize,
) -> Result<(Index, u64)> {
    let snapshot = read(store.path(), params)?;
    checked_and_caught_up(store, params, now, snapshot, Some(limit))
}

/// A snapshot as read, [`check`]ed and [`caught_up`] with the store, within `limit` changed
/// articles ([`catch_up_limit`] of its size when `None`); with the position it covers.
fn checked_and_caught_up(
    store: &Store,
    params: &DedupParams,
    now: Millis,
    (header, index): (Header, Index),
    limit: Option<usize>,
) -> Result<(Index, u64)> {
    check(store, params, now, &header)?;
    let limit = limit.unwrap_or_else(|| catch_up_limit(index.len()));
    caught_up(store, params, now, &header, index, limit).map(|index| (index, header.seq))
}

/// Changed articles after the snapshot up to which catching it up beats the full rebuild,
/// for a snapshot of `len` articles. Each costs the catch-up its
/// change-log entries and a point read of its index record, where the full rebuild scans the
/// window's records in order on two threads: a daemon killed during a cold ingest left
/// ~800,000 articles changed after a snapshot of ~170,000, and their catch-up took 6.3 s
/// where the rebuild of all 1,000,000 took 4.0 s (BENCHMARKS, "Restart after a crash").
/// Small stores are quick either way and keep the snapshot.
pub(crate) fn catch_up_limit(len: usize) -> usize {
    (len / 4).max(10_000)
}

/// The snapshot's index `index` (described by `header`, checked) made the store's index now:
/// as it is when nothing changed after it, else rebuilt from its records with every article
/// that has a change after the snapshot read again from the store. More than `limit` changed
/// articles make it [`SnapshotError::Stale`]: the full rebuild is faster then ([`catch_up_limit`]).
fn caught_up(
    store: &Store,
    params: &DedupParams,
    now: Millis,
    header: &Header,
    mut index: Index,
    limit: usize,
) -> Result<Index> {
    let since = window_start(params, now);
    let mut changed: Vec<u64> = Vec::new();
    for c in store.written_changes_after(header.seq) {
        // A new article writes several changes in a row: count articles, not changes.
        let article = c?.article;
        if changed.last() != Some(&article) {
            changed.push(article);
        }
        if changed.len() > limit {
            return Err(SnapshotError::Stale(format!(
                "more than {limit} articles changed after it (a crash during a busy \
                 ingest): rebuilding reads them faster than catching up"
            )));
        }
    }
    if changed.is_empty() {
        index.evict_before(since / 1000);
        return Ok(index);
    }
    changed.sort_unstable();
    changed.dedup();
    let mut records = index.into_records();
    records.retain(|r| changed.binary_search(&r.article()).is_err());
    for &id in &changed {
        if let Some(rec) = store.index_record(id)? {
            records.push(Record::new(id, rec.story, &rec.fingerprint, rec.at / 1000));
        }
    }
    Ok(index_of(params, records, since))
}

/// Whether the snapshot described by `header` can stand for the store now (module docs).
fn check(store: &Store, params: &DedupParams, now: Millis, header: &Header) -> Result<()> {
    let stale = |m: String| Err(SnapshotError::Stale(m));
    let outdated = |m: String| Err(SnapshotError::Outdated(m));
    if header.schema != SCHEMA_VERSION {
        return outdated(format!(
            "written for store schema {}, the store is at {SCHEMA_VERSION}",
            header.schema
        ));
    }
    if params.window.as_secs() > header.window_secs {
        return outdated(format!(
            "the window grew from {} s to {} s",
            header.window_secs,
            params.window.as_secs()
        ));
    }
    if now < header.written_at {
        return stale("the clock is before the time it was written".into());
    }
    match store.change(header.seq)? {
        Some(c) if (c.article, c.story, c.at) == (header.article, header.story, header.at) => {}
        _ => {
            return stale(format!(
                "the store does not hold the change it covers ({}): an older or restored \
                 store, or a change log pruned past it",
                header.seq
            ))
        }
    }
    if store.index_epoch()? != header.epoch {
        return stale("retention deleted articles since it was written".into());
    }
    Ok(())
}

/// The snapshot in a store directory read on a thread of its own while the store opens: the
/// two overlap at start. Used by [`load_prefetched`].
#[derive(Debug)]
pub struct Prefetch(std::thread::JoinHandle<Result<(Header, Index)>>);

impl Prefetch {
    /// Starts reading the snapshot in `dir` under `params` (`None` when no thread could be
    /// started).
    pub fn start(dir: &Path, params: &DedupParams) -> Option<Prefetch> {
        let (dir, params) = (dir.to_owned(), params.clone());
        std::thread::Builder::new()
            .name("index-snapshot".into())
            .spawn(move || read(&dir, &params))
            .ok()
            .map(Prefetch)
    }
}

/// [`load`], with the snapshot already read by `prefetch` (started with the same `params`).
pub fn load_prefetched(
    store: &Store,
    params: &DedupParams,
    now: Millis,
    prefetch: Prefetch,
) -> Result<(Index, u64)> {
    let snapshot = prefetch
        .0
        .join()
        .map_err(|_| SnapshotError::Invalid("the snapshot reader failed".into()))??;
    checked_and_caught_up(store, params, now, snapshot, None)
}

/// Start of the window at `now`, in ms.
pub fn window_start(params: &DedupParams, now: Millis) -> Millis {
    now.saturating_sub(i64::try_from(params.window.as_millis()).unwrap_or(i64::MAX))
}

/// What a full rebuild does with the store's records, for any source of them: newest first,
/// one record per article, up to the first one first seen before `since` (ms, compared in
/// whole seconds).
pub fn index_of(params: &DedupParams, mut records: Vec<Record>, since: Millis) -> Index {
    records.sort_unstable_by_key(|r| std::cmp::Reverse(r.article()));
    records.dedup_by_key(|r| r.article());
    let since = since / 1000;
    if let Some(cut) = records.iter().position(|r| r.at() < since) {
        records.truncate(cut);
    }
    records.shrink_to_fit();
    Index::from_records(params.clone(), records)
}

/// The full rebuild: the index records of the window read from the store, newest first up to
/// the first older one. With a second core, two threads read the two halves of the ids: most
/// of a rebuild is sled reading its pages, and on a quiet 2-core machine a rebuild of
/// 1,000,000 articles took 3.1 s instead of 4.0 s (BENCHMARKS, "speed and memory of the index").
pub fn rebuild(store: &Store, params: &DedupParams, now: Millis) -> Result<Index, StoreError> {
    let since = window_start(params, now);
    let Some((first, last)) = store.index_id_bounds()? else {
        return Ok(index_of(params, Vec::new(), since));
    };
    let two = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    let hint = usize::try_from(store.counts()?.articles)
        .unwrap_or(0)
        .min(1 << 24);
    let records = if two {
        let mid = first + last.saturating_sub(first) / 2;
        let (newer, older) = std::thread::scope(|s| {
            // sled 0.34 panics on some damage: on this thread that is the damage
            // `Folder::open_from` reports, as on the caller's (which names the store).
            let older = s.spawn(|| {
                crate::storage::catching_sled_panics("", || {
                    read_records(store, since, ..mid, hint / 2)
                })
            });
            let newer = read_records(store, since, mid.., hint / 2);
            (newer, older.join())
        });
        let mut records = newer?;
        match older {
            Ok(older) => records.extend(older?),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        records
    } else {
        read_records(store, since, .., hint)?
    };
    Ok(index_of(params, records, since))
}

/// The index records of the articles with an id in `ids`, newest first, as
/// [`Store::index_records_in`] reads them.
pub(super) fn read_records(
    store: &Store,
    since: Millis,
    ids: impl std::ops::RangeBounds<u64>,
    hint: usize,
) -> Result<Vec<Record>, StoreError> {
    let mut records = Vec::with_capacity(hint);
    for rec in store.index_records_in(since, ids) {
        let (id, rec) = rec?;
        records.push(Record::new(id, rec.story, &rec.fingerprint, rec.at / 1000));
    }
    Ok(records)
}
