//! The embedded store: sled behind a narrow API.
//!
//! Nothing outside this module touches sled (its stable line is 0.34 and 1.0 is still alpha);
//! everything goes through [`Store`], which speaks in records (`records.rs`) and converts
//! `IVec`s at the edge.
//!
//! # Trees
//! Named `key_value`, as Conduit does:
//! - `meta`: `schema_version`, `counts` ([`Counts`]), `index_epoch` (retention deletes, for
//!   the index snapshot), `changes_pruned_through` (the newest change retention pruned),
//!   `id_offset` and `restored_gaps` (what restores did to the ids, `ids.rs`);
//! - `sourcename_state`: source name → [`SourceState`];
//! - `articleid_article`: article id (u64 big-endian) → [`ArticleRecord`];
//! - `articleid_index`: article id → [`IndexRecord`] (what the in-memory index is rebuilt from);
//! - `sourcekey_articleid`: source name `0x00` entry key → article id;
//! - `storyid_story`: story id → [`StoryRecord`];
//! - `storyarticle_copy`: story id ++ article id (both big-endian) → [`CopyRecord`]: the
//!   copies beyond the first [`INLINE_COPIES`] a story record holds (schema 6), so a copy
//!   joining a big story writes its own few dozen bytes, not the whole list again;
//! - `sourcekey_tombstone`: source name `0x00` entry key → when the deleted item was last
//!   seen (ms); such an entry is never ingested again while its tombstone lives (schema 2);
//! - `tombstoneseen_sourcekey`: that time ++ source key → nothing: tombstone expiry order.
//! - `seq_change`: change sequence number → [`ChangeRecord`], the change log behind the change
//!   feed (`/articles?after=`, `/stories?after=`) and the event stream.
//!
//! Ids come from sled's persistent monotonic generator (plus the `id_offset` a restore set),
//! so ordering by id is ordering by the time a record was created, and big-endian keys make
//! "newest first" a reverse range scan. The ids handed out are bounded by a line in a file of
//! its own (`ids.line`, `ids.rs`), which a restore reads to move the restored store past them.
//! Retention relies on that too: it deletes in id order from `articleid_index`, whose records
//! carry the first sighting (schemas 2 and 3 kept a separate `firstseen_articleid` tree for
//! it, one more insert per article; schema 4 dropped it).
//!
//! # Atomicity
//! One fold decision (an article plus its story plus the counters) is one sled transaction over
//! all the trees involved: after a crash either all of it is there or none of it. So is the
//! deletion of one article by retention, and each step of a schema migration. One poll's fold
//! decisions are one transaction ([`Store::commit_batch`]).
//!
//! # Upgrades
//! The schema version is in `meta`. On open an older store is migrated step by step
//! (`schema.rs`); a newer or unreadable version is refused with a clear error.
//!
//! # Durability
//! sled's own background flusher is off: the daemon calls [`Store::flush`] every
//! `store.flush_every`, and a flush that returns makes every earlier write durable (sled
//! recovers a prefix of its log). What readers are told is held back to that line: the change
//! log ([`Store::changes_after`], [`Store::last_change`]) and the counters ([`Store::counts`])
//! stop at the last completed flush, so a change a consumer has seen cannot be taken back by a
//! crash. Writes land in the order articles → source state, so a stored `ETag` never covers
//! articles that were lost. Each flush that moved the line writes its mark beside sled's
//! files (`durable.line`, `mark.rs`), and an open refuses a store whose change log ends
//! before it ([`StoreError::LostWrites`]): sled would open a store that lost its log's tail
//! as an older one, without a word.
//!
//! # Write failures
//! After a failed write (disk full, I/O error) sled refuses every further write until it is
//! reopened. The store records the failure ([`Store::fault`]); readers keep working, writers get
//! [`StoreError::Faulted`], and [`Store::reopen`] (called by the daemon once space is back, see
//! [`Store::probe_space`]) drops the broken handle and opens the directory again.

mod backup;
mod closed;
mod compact;
mod error;
mod ids;
mod legacy;
mod lock;
mod mark;
mod marker;
mod read;
mod records;
mod retention;
mod schema;
mod trees;
mod verify;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;

pub(crate) use backup::interrupted_restore;
pub use backup::{
    backup_stopped, restore, BackupLog, BackupReport, Backups, LastBackup, RestoreReport,
    BACKUP_WAIT,
};
use closed::Closing;
pub use compact::{compact, expected_copy, worth_compacting, CompactReport};
pub use error::StoreError;
pub use ids::IDS_FILE;
use legacy::Record;
pub use lock::LOCK_FILE;

/// Made in a new store's directory before sled's files, removed once its schema version is
/// flushed: left there, the first open was stopped before it finished
/// ([`Store::open`] sets such a store up as new when it holds nothing).
const CREATING_FILE: &str = "wirefold.creating";
pub use mark::MARK_FILE;
pub use marker::{listening, PreviousRun, RunMarker, RUNNING_FILE};
pub use records::*;
pub use retention::{Pruned, ORDER_SLACK_MS, TOMBSTONE_TOUCH_MS};
use trees::Trees;
pub use verify::{DataSize, Progress, Verifier};
pub use write::CopyWrites;

/// sled page cache used unless configured (`store.cache_bytes`). 4 MiB: the cold ingest of
/// 1,000 feeds ran as fast with 4, 8 and 32 MiB, while peak RSS fell from 82 to 59 MB
/// (BENCHMARKS.md, issue 8), and 10,000 sources in steady state hold ~2 MB less with 4 MiB
/// than with 8 ("Session 28"); the daemon's reads are small and the OS caches the files.
pub const DEFAULT_CACHE_BYTES: u64 = 4 * 1024 * 1024;

/// Version of the record layout; stored in `meta` and checked on open.
pub const SCHEMA_VERSION: u32 = 12;

const KEY_SCHEMA: &[u8] = b"schema_version";
const KEY_COUNTS: &[u8] = b"counts";
/// How many times retention removed index records (u64 big-endian; absent is 0). The index
/// snapshot records it: a snapshot is caught up through the change log, which tells of new
/// and updated articles but not of deleted ones.
const KEY_INDEX_EPOCH: &[u8] = b"index_epoch";
/// The newest change-log position retention pruned (u64 big-endian; absent: none): the log's
/// end when retention emptied it, so that cursors stay monotonic across a restart, and the
/// line below which a cursor missed changes nobody can replay any more.
const KEY_PRUNED_THROUGH: &[u8] = b"changes_pruned_through";
/// Added to sled's ids (u64 big-endian; absent is 0): set by a restore, so that the restored
/// store's ids start past those the store it replaced handed out ([`Store::move_ids_past`]).
const KEY_ID_OFFSET: &[u8] = b"id_offset";
/// The ids restores skipped (pairs of u64 big-endian, `from` and `to`; absent: none): no id
/// after `from` and before `to` was handed out by this store, so a change-feed cursor there
/// came from the store a restore replaced ([`Store::restored_gap`]).
const KEY_RESTORED_GAPS: &[u8] = b"restored_gaps";

use crate::telemetry::quietly_catching_panics;

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store handle; cheap to clone (all clones share one open database).
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    shown: String,
    flush_every: Duration,
    cache_bytes: u64,
    /// The open database; `None` only while [`Store::reopen`] swaps it.
    trees: RwLock<Option<Arc<Trees>>>,
    /// What the last completed flush made durable: what readers are told.
    durable: Mutex<Durable>,
    /// The write failure that stopped writing, until a reopen; or the damage found.
    fault: Mutex<Option<StoreFault>>,
    /// The store was read through without damage (`verify.rs`).
    verified: AtomicBool,
    /// What that read-through counted ([`Store::data_size`]).
    data: Mutex<Option<DataSize>>,
    /// Articles stored when the database was last opened (at start, by [`Store::reopen`] or
    /// by [`Store::checkpoint`]).
    articles_at_open: AtomicU64,
    /// Closes in progress or about to start ([`closed::Closing`]); async callers wait for
    /// `reopened` while it is above zero ([`Store::until_open`]).
    closers: AtomicUsize,
    reopened: tokio::sync::Notify,
    /// [`Store::size_on_disk`]'s last answer, given while the database is closed.
    last_size: AtomicU64,
    /// The position the durable line's mark (`mark.rs`) holds, 0 without one.
    marked: AtomicU64,
    /// Writing the mark failed last time (warned once, until it works again).
    mark_failing: AtomicBool,
    /// What is added to sled's ids ([`KEY_ID_OFFSET`]).
    id_offset: AtomicU64,
    /// The line `ids.line` holds (`ids.rs`); 0 until this open wrote it. Only ids below it
    /// are handed out; `ids_writing` is held to move it.
    ids_below: AtomicU64,
    ids_writing: Mutex<()>,
    /// The store directory's lock (`lock.rs`), held while the database is closed too.
    _lock: std::fs::File,
}

/// The durable line: the newest change-log entry and the counters as of the last flush.
#[derive(Debug, Clone, Copy, Default)]
struct Durable {
    seq: Option<u64>,
    counts: Counts,
}

/// A write failure that stopped the store from writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFault {
    /// What failed.
    pub message: String,
    /// When (Unix ms).
    pub since: Millis,
    /// The store is damaged (found by a read-through after open): reopening cannot help.
    pub damaged: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(|e| StoreError::Io(format!("encoding a record: {e}")))
}

/// Room for an encoded [`IndexRecord`] (a fingerprint is ~150 bytes).
const INDEX_RECORD_HINT: usize = 256;

/// [`encode`] into a buffer of `hint` bytes: growing one from empty (what `to_allocvec` does)
/// took four or five reallocations for an article record, on the fold lock's path.
fn encode_sized<T: Serialize>(value: &T, hint: usize) -> Result<Vec<u8>> {
    postcard::to_extend(value, Vec::with_capacity(hint))
        .map_err(|e| StoreError::Io(format!("encoding a record: {e}")))
}

/// The record stored under the big-endian `id` in `tree` (named `name` in errors), if any.
fn get_decoded<T: Record>(tree: &sled::Tree, name: &'static str, id: u64) -> Result<Option<T>> {
    let k = id.to_be_bytes();
    tree.get(k)?.map(|v| decode(name, &k, &v)).transpose()
}

/// Decodes a record in the current layout, else in an older one (see `legacy`).
fn decode<T: Record>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).or_else(|e| {
        T::legacy(bytes).ok_or_else(|| StoreError::Decode {
            tree,
            key: key.iter().map(|b| format!("{b:02x}")).collect(),
            message: e.to_string(),
        })
    })
}

/// The `storyarticle_copy` key of `article`'s copy in `story`.
fn copy_key(story: u64, article: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&story.to_be_bytes());
    k[8..].copy_from_slice(&article.to_be_bytes());
    k
}

fn source_key(source: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(source.len() + 1 + key.len());
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

/// Key of `tombstoneseen_sourcekey`: time, then the source key.
fn tombstone_seen_key(seen: Millis, source_key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + source_key.len());
    k.extend_from_slice(&u64::try_from(seen).unwrap_or(0).to_be_bytes());
    k.extend_from_slice(source_key);
    k
}

fn id_from(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

impl Store {
    /// Opens (or creates) the store at `path`. Fails clearly when another process holds it,
    /// when it is damaged, or when its schema is newer than this build reads. An existing
    /// store is read through once, so a damaged one is refused here rather than served.
    pub fn open(path: &Path, flush_every: Duration) -> Result<Store> {
        Self::open_with(path, flush_every, DEFAULT_CACHE_BYTES)
    }

    /// Like [`Store::open`], with sled's page cache bounded to `cache_bytes` (sled's own
    /// default, 1 GiB, would make the daemon's memory grow with the store).
    pub fn open_with(path: &Path, flush_every: Duration, cache_bytes: u64) -> Result<Store> {
        Self::open_checked(path, flush_every, cache_bytes, true)
    }

    /// Like [`Store::open_with`] but with the quick checks only (sled's recovery, schema,
    /// counters, the first and last record of each tree; see `verify.rs`): time to open no
    /// longer grows with the store. The caller must read it through
    /// ([`Store::verifier`], [`Store::verify_step`]) before trusting it; the daemon does so in
    /// the background and stops on damage.
    pub fn open_unverified(path: &Path, flush_every: Duration, cache_bytes: u64) -> Result<Store> {
        Self::open_checked(path, flush_every, cache_bytes, false)
    }

    fn open_checked(
        path: &Path,
        flush_every: Duration,
        cache_bytes: u64,
        read_through: bool,
    ) -> Result<Store> {
        // Beside where a symbolic link leads: that is where a restore or compaction works.
        let real = backup::resolved(path);
        if let Some(e) = backup::interrupted_restore(&real) {
            return Err(e);
        }
        let found = backup::identity(path);
        let shown = path.display().to_string();
        let existed = path.join("conf").exists() || path.join("db").exists();
        // Our own lock file alone is what an open that failed left (with the file that says
        // a first open began).
        let others = |d: std::fs::ReadDir| {
            d.flatten().any(|e| {
                let name = e.file_name();
                name != std::ffi::OsStr::new(LOCK_FILE)
                    && name != std::ffi::OsStr::new(CREATING_FILE)
            })
        };
        if path.exists() && !existed && std::fs::read_dir(path).is_ok_and(others) {
            // A non-empty directory without sled's files: something else, or a store whose
            // files were lost. Never start an empty store over it.
            return Err(StoreError::Corrupt {
                path: shown,
                message: "the directory holds other files but no sled database (conf, db)".into(),
            });
        }
        // A backup's copy holds none of these: one there was made by an open since (the
        // lock file by any wirefold with one; the others at a flush or stop; the index
        // snapshot is the fold stage's `snapshot::FILE`, named here to keep storage below it).
        let locked_before = path.join(LOCK_FILE).exists();
        let opened_before = locked_before
            || [mark::MARK_FILE, "index.snapshot"]
                .iter()
                .any(|f| path.join(f).exists());
        // Made before sled's files by the first open, removed once the schema version is
        // flushed: still there, that open was killed before it finished. (sled's files alone
        // tell nothing: it reads a garbled file as an empty database.)
        let creating = path.join(CREATING_FILE);
        let unfinished = existed && creating.exists();
        // Before sled's: a daemon whose database is closed for a backup still holds this.
        let lock = lock::lock_store(path)?;
        if backup::swap_under_way(&real, found, backup::identity(path)) {
            // Made (or found anew) since the check above: a restore or compaction moved the
            // store aside in that moment, and its copy is about to take this place. What this
            // open made goes again, so that the copy can.
            drop(lock);
            let _ = std::fs::remove_file(path.join(LOCK_FILE));
            let _ = std::fs::remove_dir(path);
            return Err(StoreError::Locked { path: shown });
        }
        // Told once the lock is ours: a wirefold started while a restore or compaction runs
        // is refused as locked, without taking that one's copy for a leftover.
        for copy in backup::restoring_copies(&real) {
            tracing::warn!(
                copy = %copy.display(),
                "a restore or compaction of this store was stopped before it replaced the \
                 store; its copy is left beside it: remove it (the next restore or compaction \
                 does)"
            );
        }
        for old in backup::discarded_stores(&real) {
            tracing::warn!(
                store = %old.display(),
                "a compaction of this store was stopped while it removed the store it \
                 replaced; what is left of that is beside it: remove it (the next compaction \
                 does)"
            );
        }
        if let Err(e) = backup::adopt_backup(path, &shown, opened_before) {
            // The lock file this open made would pass for an open since: the next open
            // would drop the manifest unchecked, and take the damaged backup.
            if !locked_before {
                drop(lock);
                let _ = std::fs::remove_file(path.join(LOCK_FILE));
            }
            return Err(e);
        }
        // sled 0.34 panics on some damage (a truncated segment) instead of returning an error:
        // catch that and report it as damage, without the panic's own message on stderr.
        if !existed {
            // Synced into the directory before sled writes there: a crash must not keep
            // sled's files and lose this mark.
            std::fs::write(&creating, "")
                .map_err(|e| backup::io_error("writing", &creating, &e))?;
            backup::sync_dir(path)?;
        }
        let mut data = None;
        let trees = catching_sled_panics(&shown, || {
            let trees = Trees::open(path, &shown, cache_bytes)?;
            let found = trees.check_schema(&shown, existed, unfinished)?;
            if !existed || unfinished {
                std::fs::remove_file(&creating)
                    .map_err(|e| backup::io_error("removing", &creating, &e))?;
                // Else a crash after the first articles were flushed could bring the mark
                // back beside them, and the next start refuse the store as damaged.
                backup::sync_dir(path)?;
            }
            if found < SCHEMA_VERSION {
                schema::migrate(&trees, &shown, found)?;
            }
            schema::drop_retired(&trees)?;
            if existed {
                trees.quick_check(&shown)?;
                if read_through {
                    data = trees.verify(&shown)?;
                }
            }
            Ok(trees)
        })
        .map_err(|e| e.at(&shown))?;
        let durable = Durable {
            seq: trees.last_change().map_err(|e| e.at(&shown))?,
            counts: trees.counts().map_err(|e| e.at(&shown))?,
        };
        let marked = mark::check(path, &shown, durable.seq)?;
        let id_offset = trees
            .meta
            .get(KEY_ID_OFFSET)
            .map_err(|e| StoreError::from(e).at(&shown))?
            .and_then(|v| id_from(&v))
            .unwrap_or(0);
        Ok(Store {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                shown,
                flush_every,
                cache_bytes,
                trees: RwLock::new(Some(Arc::new(trees))),
                articles_at_open: AtomicU64::new(durable.counts.articles),
                durable: Mutex::new(durable),
                fault: Mutex::new(None),
                // A new store has nothing to read through.
                verified: AtomicBool::new(read_through || !existed),
                data: Mutex::new(data),
                closers: AtomicUsize::new(0),
                reopened: tokio::sync::Notify::new(),
                last_size: AtomicU64::new(0),
                marked: AtomicU64::new(marked),
                mark_failing: AtomicBool::new(false),
                id_offset: AtomicU64::new(id_offset),
                ids_below: AtomicU64::new(0),
                ids_writing: Mutex::new(()),
                _lock: lock,
            }),
        })
    }

    /// How often the daemon flushes (`store.flush_every`).
    pub fn flush_every(&self) -> Duration {
        self.shared.flush_every
    }

    fn t(&self) -> Result<Arc<Trees>> {
        self.shared
            .trees
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| StoreError::Io("the store is being reopened".into()))
    }

    /// Turns a sled error of a write into ours, remembering it as the fault that stops writes.
    fn wrote<T>(&self, r: std::result::Result<T, sled::Error>) -> Result<T> {
        r.map_err(|e| self.note_fault(e.into()))
    }

    fn note_fault(&self, e: StoreError) -> StoreError {
        if let StoreError::Io(message) = &e {
            let mut fault = self.shared.fault.lock().unwrap_or_else(|p| p.into_inner());
            if fault.is_none() {
                *fault = Some(StoreFault {
                    message: message.clone(),
                    since: chrono::Utc::now().timestamp_millis(),
                    damaged: false,
                });
            }
        }
        e
    }

    /// Refuses writes from now on, as after a failed write, for `why`: until a
    /// [`Store::reopen`] clears it ([`Store::fault`]). For what fails around the store
    /// (rebuilding the index after a reopen).
    pub fn refuse_writes(&self, why: String) {
        self.note_fault(StoreError::Io(why));
    }

    /// Takes the database away as a failed reopen leaves it: every call fails until the next
    /// [`Store::reopen`].
    #[cfg(test)]
    pub(crate) fn take_trees(&self) {
        drop(
            self.shared
                .trees
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }

    fn check_writable(&self) -> Result<()> {
        match self.fault() {
            Some(f) => Err(StoreError::Faulted(f.message)),
            None => Ok(()),
        }
    }

    /// The write failure that stopped the store, if any (cleared by [`Store::reopen`]).
    pub fn fault(&self) -> Option<StoreFault> {
        self.shared
            .fault
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn durable(&self) -> Durable {
        *self
            .shared
            .durable
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Closes the store and returns its own lock file, still locked (see `lock.rs`), so that
    /// no other process opens the store until it is dropped: [`compact`] holds it until its
    /// copy is in place. Refused while a clone of this handle is still around.
    pub(super) fn close_keeping_lock(self) -> Result<std::fs::File> {
        let shared = Arc::try_unwrap(self.shared)
            .map_err(|_| StoreError::Io("the store is still in use in this process".into()))?;
        let Shared { trees, _lock, .. } = shared;
        drop(trees);
        Ok(_lock)
    }

    /// A new id, unique and increasing across restarts.
    pub fn next_id(&self) -> Result<u64> {
        self.check_writable()?;
        let t = self.t()?;
        self.fresh_id(&t)
    }

    /// A new id from `t`'s generator, past what a restore skipped, and below the line of
    /// `ids.line`, which is moved first when the id would reach it.
    fn fresh_id(&self, t: &Trees) -> Result<u64> {
        let shared = &self.shared;
        let id = self
            .wrote(t.db.generate_id())?
            .checked_add(shared.id_offset.load(Ordering::Acquire))
            .ok_or_else(|| StoreError::Io("the store's ids have run out".into()))?;
        if id < shared.ids_below.load(Ordering::Acquire) {
            return Ok(id);
        }
        let _writing = shared.ids_writing.lock().unwrap_or_else(|p| p.into_inner());
        if id >= shared.ids_below.load(Ordering::Acquire) {
            let below = id.saturating_add(ids::RESERVE);
            ids::write(&shared.path, below)
                .map_err(|why| StoreError::Io(format!("the line of the ids handed out: {why}")))?;
            shared.ids_below.store(below, Ordering::Release);
        }
        Ok(id)
    }

    /// What is added to sled's ids (a restore's [`Store::move_ids_past`]).
    pub(super) fn id_offset(&self) -> u64 {
        self.shared.id_offset.load(Ordering::Acquire)
    }

    /// Moves this store's ids past `floor`, the line of the ids the store a restore replaces
    /// handed out ([`IDS_FILE`]): ids from `floor` on, so none names again what one named
    /// there. The ids skipped after the newest change are recorded as a gap
    /// ([`Store::restored_gap`]): a change-feed cursor in it came from the replaced store.
    /// Returns the first id the store now hands out, `None` when its ids were past `floor`
    /// already.
    pub(super) fn move_ids_past(&self, floor: u64) -> Result<Option<u64>> {
        self.check_writable()?;
        let t = self.t()?;
        let next = self.fresh_id(&t)?;
        if next >= floor {
            return Ok(None);
        }
        let offset = self
            .shared
            .id_offset
            .load(Ordering::Acquire)
            .checked_add(floor - next)
            .ok_or_else(|| {
                StoreError::Io(format!("the store's ids cannot be moved past {floor}"))
            })?;
        let from = self.last_change()?.unwrap_or(0);
        let mut gaps = t
            .meta
            .get(KEY_RESTORED_GAPS)?
            .map_or_else(Vec::new, |v| v.to_vec());
        gaps.extend_from_slice(&from.to_be_bytes());
        gaps.extend_from_slice(&floor.to_be_bytes());
        self.wrote(t.meta.insert(KEY_ID_OFFSET, &offset.to_be_bytes()))?;
        self.wrote(t.meta.insert(KEY_RESTORED_GAPS, gaps))?;
        self.shared.id_offset.store(offset, Ordering::Release);
        self.wrote(t.db.flush())?;
        let first = self.fresh_id(&t)?;
        Ok(Some(first))
    }

    /// The gap a restore left in the ids (`restore`) that `cursor` falls in:
    /// after the restored store's newest change and before the first id it handed out. No
    /// page of this store gave such a cursor; the store the restore replaced did, and the
    /// changes its holder saw are not this store's.
    pub fn restored_gap(&self, cursor: u64) -> Result<Option<(u64, u64)>> {
        let gaps = self.t()?.meta.get(KEY_RESTORED_GAPS)?;
        Ok(gaps
            .as_deref()
            .unwrap_or_default()
            .chunks_exact(16)
            .filter_map(|pair| Some((id_from(&pair[..8])?, id_from(&pair[8..])?)))
            .find(|&(from, to)| from < cursor && cursor < to))
    }

    /// Store-wide counters as of the last flush (what is durable).
    pub fn counts(&self) -> Result<Counts> {
        Ok(self.durable().counts)
    }

    /// A source's polling state, if it was ever polled.
    pub fn source_state(&self, name: &str) -> Result<Option<SourceState>> {
        self.t()?
            .sources
            .get(name.as_bytes())?
            .map(|v| decode("sourcename_state", name.as_bytes(), &v))
            .transpose()
    }

    /// What every stored source state holds for the host limits, which keep it in memory
    /// only, read in one pass for a start (see [`StoredHostLimits`]).
    pub fn host_limits(&self) -> Result<StoredHostLimits> {
        let mut found = StoredHostLimits::default();
        for kv in self.t()?.sources.iter() {
            let (k, v) = kv?;
            // A damaged state is the read-through's to report; what it held is lost either way.
            let Ok(state) = decode::<SourceState>("sourcename_state", &k, &v) else {
                continue;
            };
            found
                .pauses
                .extend(state.host_pause.map(|p| (p, state.last_poll)));
            if let (Some(url), Some(host), Ok(name)) = (
                state.configured_url,
                state.redirect_host,
                String::from_utf8(k.to_vec()),
            ) {
                found.redirects.push((name, url, host));
            }
        }
        Ok(found)
    }

    /// Replaces a source's polling state.
    pub fn put_source_state(&self, name: &str, state: &SourceState) -> Result<()> {
        self.check_writable()?;
        let bytes = encode(state)?;
        let t = self.t()?;
        self.wrote(t.sources.insert(name.as_bytes(), bytes))?;
        Ok(())
    }

    /// The article a source stored under an entry key.
    pub fn article_id_by_key(&self, source: &str, key: &str) -> Result<Option<u64>> {
        Ok(self
            .t()?
            .keys
            .get(source_key(source, key))?
            .and_then(|v| id_from(&v)))
    }

    /// One article.
    pub fn article(&self, id: u64) -> Result<Option<ArticleRecord>> {
        get_decoded(&self.t()?.articles, "articleid_article", id)
    }

    /// One story.
    pub fn story(&self, id: u64) -> Result<Option<StoryRecord>> {
        get_decoded(&self.t()?.stories, "storyid_story", id)
    }

    /// Every copy of `story`: those its record holds and those in the copy tree, earliest
    /// first (by first sighting, then article id).
    pub fn copies(&self, story: &StoryRecord) -> Result<Vec<CopyRecord>> {
        let mut all = story.copies.clone();
        if all.len() < story.copy_count as usize {
            all.extend(self.overflow_copies(story.id)?);
        }
        all.sort_by_key(|c| (c.first_seen, c.article));
        Ok(all)
    }

    /// The copies of story `id` that did not fit in its record ([`INLINE_COPIES`]), in the
    /// copy tree, in article-id order.
    pub fn overflow_copies(&self, id: u64) -> Result<Vec<CopyRecord>> {
        self.t()?
            .copies
            .scan_prefix(id.to_be_bytes())
            .map(|kv| {
                let (k, v) = kv?;
                decode("storyarticle_copy", &k, &v)
            })
            .collect()
    }

    /// `article`'s copy in story `story`'s part of the copy tree, if it is there.
    pub fn copy(&self, story: u64, article: u64) -> Result<Option<CopyRecord>> {
        let k = copy_key(story, article);
        self.t()?
            .copies
            .get(k)?
            .map(|v| decode("storyarticle_copy", &k, &v))
            .transpose()
    }

    /// The story that story `id` was merged into, while that one is stored (`None` for a
    /// story that was never merged away, or whose survivor retention has deleted since).
    pub fn merged_into(&self, id: u64) -> Result<Option<u64>> {
        let t = self.t()?;
        Ok(t.merged_into
            .get(id.to_be_bytes())?
            .and_then(|v| id_from(&v)))
    }

    /// Writes everything buffered to disk, then moves the durable line (what
    /// [`Store::changes_after`], [`Store::last_change`] and [`Store::counts`] report) up to
    /// what was written before the flush began. Returns the newest durable change.
    pub fn flush(&self) -> Result<Option<u64>> {
        self.check_writable()?;
        let t = self.t()?;
        // Flushes are serialized by holding the durable line's lock throughout, so a slower
        // flush never moves the line back.
        let mut durable = self
            .shared
            .durable
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Read before flushing: everything read here is covered by the flush.
        let seq = t.last_change()?;
        let counts = t.counts()?;
        self.wrote(t.db.flush())?;
        // Retention can remove the newest change-log entries' predecessors but never adds
        // entries: the line's position only moves forward; the counters always follow.
        durable.seq = durable.seq.max(seq);
        durable.counts = counts;
        if let Some(seq) = durable.seq {
            self.mark(seq);
        }
        Ok(durable.seq)
    }

    /// Writes the durable line's mark (`mark.rs`) of `seq`, just made durable, unless it
    /// holds that already. A failure is warned of once: the store works without it.
    fn mark(&self, seq: u64) {
        let shared = &self.shared;
        if seq <= shared.marked.load(Ordering::Relaxed) {
            return;
        }
        match mark::write(&shared.path, seq, chrono::Utc::now().timestamp_millis()) {
            Ok(()) => {
                shared.marked.store(seq, Ordering::Relaxed);
                if shared.mark_failing.swap(false, Ordering::Relaxed) {
                    tracing::info!("the store's durable line mark is written again");
                }
            }
            Err(e) => {
                if !shared.mark_failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        error.message = %e,
                        "the store's durable line mark could not be written (tried again at \
                         every flush; said once until it works): a store that loses flushed \
                         writes may go unnoticed at the next start"
                    );
                }
            }
        }
    }

    /// Checks that the store's filesystem accepts writes again: writes and removes a 1 MiB
    /// probe file beside the database.
    pub fn probe_space(&self) -> std::io::Result<()> {
        use std::io::Write;
        let probe = self.shared.path.join("space-probe.tmp");
        let result = (|| {
            let mut f = std::fs::File::create(&probe)?;
            f.write_all(&vec![0u8; 1 << 20])?;
            f.sync_all()
        })();
        let _ = std::fs::remove_file(&probe);
        result
    }

    /// Drops the database handle and opens the directory again: what is on disk (everything
    /// up to the last flush) is kept, the unflushed writes lost with the failure are not, and
    /// writing resumes. Waits up to two seconds for in-flight readers to let go of the old
    /// handle.
    pub fn reopen(&self) -> Result<()> {
        if let Some(f) = self.fault().filter(|f| f.damaged) {
            return Err(StoreError::Faulted(f.message));
        }
        let _closing = Closing::announce(&self.shared);
        let mut slot = self.shared.trees.write().unwrap_or_else(|p| p.into_inner());
        drop(slot.take());
        self.open_into(&mut slot)?;
        *self.shared.fault.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    /// Articles stored since the database was last opened: roughly what sled would replay
    /// from its log if the process stopped now (see [`Store::checkpoint`]).
    pub fn articles_since_open(&self) -> u64 {
        self.durable()
            .counts
            .articles
            .saturating_sub(self.shared.articles_at_open.load(Ordering::Relaxed))
    }

    /// Closes and opens the database again so that sled writes its page-table snapshot.
    ///
    /// sled 0.34 writes that snapshot only while opening a database, and an open replays the
    /// log from the last snapshot on: without checkpoints, a start replays everything the
    /// previous run wrote (~11 s after a million articles, BENCHMARKS.md "Restart"). A
    /// checkpoint replays what was written since the last open instead, while every other
    /// store call waits. Nothing is lost: the last handle's drop flushes everything.
    ///
    /// Waits up to `wait` for the handle's other users to finish; returns `Ok(false)`
    /// without reopening if they do not (or the store is being reopened). If opening again
    /// fails, the store records the failure as its fault, as a failed write does: writes are
    /// refused until a [`Store::reopen`] (or the next start) opens it.
    pub fn checkpoint(&self, wait: Duration) -> Result<bool> {
        self.check_writable()?;
        let _closing = Closing::announce(&self.shared);
        let mut slot = self.shared.trees.write().unwrap_or_else(|p| p.into_inner());
        let deadline = std::time::Instant::now() + wait;
        loop {
            match slot.as_ref() {
                None => return Ok(false),
                Some(t) if Arc::strong_count(t) == 1 => break,
                Some(_) if std::time::Instant::now() >= deadline => return Ok(false),
                Some(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        drop(slot.take());
        match self.open_into(&mut slot) {
            Ok(()) => Ok(true),
            Err(e) => {
                let message = format!("reopening the store for a checkpoint failed: {e}");
                Err(self.note_fault(StoreError::Io(message)))
            }
        }
    }

    /// Opens the database into the (emptied) slot and resets the durable line from it.
    fn open_into(&self, slot: &mut Option<Arc<Trees>>) -> Result<()> {
        let shown = &self.shared.shown;
        // As at start: sled 0.34 panics on some damage instead of returning an error.
        // `Trees::open` itself waits out the lock a handle just dropped may still hold.
        let trees = catching_sled_panics(shown, || {
            Trees::open(&self.shared.path, shown, self.shared.cache_bytes)
        })?;
        trees.check_schema(shown, true, false)?;
        let counts = trees.counts()?;
        let seq = trees.last_change()?;
        // A reopen after a write failure keeps what was flushed: checked as at start.
        mark::check(&self.shared.path, shown, seq)?;
        *slot = Some(Arc::new(trees));
        let mut durable = self
            .shared
            .durable
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // After a checkpoint everything was flushed, so the line only moves forward.
        durable.seq = durable.seq.max(seq);
        durable.counts = counts;
        self.shared
            .articles_at_open
            .store(counts.articles, Ordering::Relaxed);
        Ok(())
    }

    /// Bytes the store takes on disk.
    /// While a backup has the database closed, the size last measured, without waiting.
    pub fn size_on_disk(&self) -> u64 {
        if self.is_closed() {
            return self.shared.last_size.load(Ordering::Relaxed);
        }
        let size = self
            .t()
            .ok()
            .and_then(|t| t.db.size_on_disk().ok())
            .unwrap_or(0);
        self.shared.last_size.store(size, Ordering::Relaxed);
        size
    }
}

/// Runs a sled operation `f` on this thread, reporting a panic in it as damage: a
/// [`StoreError::Corrupt`] at `path` ("sled failed reading it: …"), without the panic's report
/// on stderr. `f`'s own result, `Ok` or `Err`, comes back as it is.
///
/// sled 0.34 panics on some damage (a truncated segment, a damaged page) instead of returning
/// an error; on our threads such a panic is damage of the store, and is reported as such.
/// `path` may be empty for a caller that names the store later ([`StoreError::at`]).
pub(crate) fn catching_sled_panics<T>(path: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    quietly_catching_panics(f).unwrap_or_else(|panic| {
        Err(StoreError::Corrupt {
            path: path.to_owned(),
            message: format!("sled failed reading it: {panic}"),
        })
    })
}

#[cfg(test)]
pub(crate) mod tests;
