//! The embedded store: sled behind a narrow API.
//!
//! Nothing outside this module touches sled (its stable line is 0.34 and 1.0 is still alpha);
//! everything goes through [`Store`], which speaks in records (`records.rs`) and converts
//! `IVec`s at the edge.
//!
//! # Trees
//! Named `key_value`, as Conduit does:
//! - `meta`: `schema_version`, `counts` ([`Counts`]), `index_epoch` (retention deletes, for
//!   the index snapshot);
//! - `sourcename_state`: source name → [`SourceState`];
//! - `articleid_article`: article id (u64 big-endian) → [`ArticleRecord`];
//! - `articleid_index`: article id → [`IndexRecord`] (what the in-memory index is rebuilt from);
//! - `sourcekey_articleid`: source name `0x00` entry key → article id;
//! - `storyid_story`: story id → [`StoryRecord`];
//! - `sourcekey_tombstone`: source name `0x00` entry key → when the deleted item was last
//!   seen (ms); such an entry is never ingested again while its tombstone lives (schema 2);
//! - `tombstoneseen_sourcekey`: that time ++ source key → nothing: tombstone expiry order.
//! - `seq_change`: change sequence number → [`ChangeRecord`], the change log behind the change
//!   feed (`/articles?after=`, `/stories?after=`) and the event stream.
//!
//! Ids come from sled's persistent monotonic generator, so ordering by id is ordering by the
//! time a record was created, and big-endian keys make "newest first" a reverse range scan.
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
//! articles that were lost.
//!
//! # Write failures
//! After a failed write (disk full, I/O error) sled refuses every further write until it is
//! reopened. The store records the failure ([`Store::fault`]); readers keep working, writers get
//! [`StoreError::Faulted`], and [`Store::reopen`] (called by the daemon once space is back, see
//! [`Store::probe_space`]) drops the broken handle and opens the directory again.

mod legacy;
mod records;
mod retention;
mod schema;
mod verify;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use legacy::Record;
pub use records::*;
pub use retention::{Pruned, ORDER_SLACK_MS, TOMBSTONE_TOUCH_MS};
pub use verify::{Progress, Verifier};

/// sled page cache used unless configured (`store.cache_bytes`). 8 MiB: the cold ingest of
/// 1,000 feeds ran as fast with 4, 8 and 32 MiB, while peak RSS fell from 82 to 59 MB
/// (BENCHMARKS.md, issue 8); the daemon's reads are small and the OS caches the files.
pub const DEFAULT_CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// Version of the record layout; stored in `meta` and checked on open.
pub const SCHEMA_VERSION: u32 = 4;

const KEY_SCHEMA: &[u8] = b"schema_version";
const KEY_COUNTS: &[u8] = b"counts";
/// How many times retention removed index records (u64 big-endian; absent is 0). The index
/// snapshot records it: a snapshot is caught up through the change log, which tells of new
/// and updated articles but not of deleted ones.
const KEY_INDEX_EPOCH: &[u8] = b"index_epoch";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process (usually a running daemon) holds the store's lock.
    #[error("the store at {path} is locked by another process (is the daemon running?)")]
    Locked {
        /// Store directory.
        path: String,
    },
    /// sled reported on-disk corruption.
    #[error("the store{} is damaged ({message}); restore it from a backup, or move it away to start with an empty store", at_path(.path))]
    Corrupt {
        /// Store directory.
        path: String,
        /// What sled or the decoder said.
        message: String,
    },
    /// The store was written by a newer wirefold, or by something else entirely.
    #[error("the store at {path} has schema version {found}; this wirefold reads version {SCHEMA_VERSION} and older (a newer wirefold wrote it: run that one, or restore a backup)")]
    Schema {
        /// Store directory.
        path: String,
        /// Version found on disk.
        found: String,
    },
    /// A read or write failed (disk full, permissions, …).
    #[error("store I/O failed: {0}")]
    Io(String),
    /// An earlier write failed; nothing is written until the store is reopened.
    #[error("the store refuses writes since an earlier write failed ({0}); it is reopened once the disk accepts writes again")]
    Faulted(String),
    /// A stored record could not be decoded.
    #[error("stored record {tree}/{key} cannot be decoded: {message}")]
    Decode {
        /// Tree name.
        tree: &'static str,
        /// Hex of the key.
        key: String,
        /// Decoder message.
        message: String,
    },
}

fn at_path(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Corruption { at, .. } => StoreError::Corrupt {
                path: String::new(),
                message: match at {
                    Some(at) => format!("sled found corrupted data at {at:?}"),
                    None => "sled found corrupted data".into(),
                },
            },
            e => StoreError::Io(e.to_string()),
        }
    }
}

impl StoreError {
    /// Names the store directory in a damage report that lacks it.
    pub(crate) fn at(self, shown: &str) -> Self {
        match self {
            StoreError::Corrupt { path, message } if path.is_empty() => StoreError::Corrupt {
                path: shown.to_owned(),
                message,
            },
            e => e,
        }
    }
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => e.into(),
        }
    }
}

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
}

/// The sled database and its trees.
struct Trees {
    db: sled::Db,
    meta: sled::Tree,
    sources: sled::Tree,
    articles: sled::Tree,
    index: sled::Tree,
    keys: sled::Tree,
    stories: sled::Tree,
    tombstones: sled::Tree,
    tombstones_seen: sled::Tree,
    changes: sled::Tree,
    /// Story id → the story it was merged into (`storyid_mergedinto`): written with the
    /// surviving story, for every id in its `merged_from`, so one lookup always lands on the
    /// survivor; deleted with it by retention.
    merged_into: sled::Tree,
    /// False while `tombstones` is known to be empty (it was at open and retention deleted
    /// nothing since): folding then skips a lookup per article.
    may_have_tombstones: AtomicBool,
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

/// Decodes a record in the current layout, else in the layout of schema 2 (see `legacy`).
/// The record stored under the big-endian `id` in `tree` (named `name` in errors), if any.
fn get_decoded<T: Record>(tree: &sled::Tree, name: &'static str, id: u64) -> Result<Option<T>> {
    let k = id.to_be_bytes();
    tree.get(k)?.map(|v| decode(name, &k, &v)).transpose()
}

fn decode<T: Record>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).or_else(|e| {
        T::legacy(bytes).ok_or_else(|| StoreError::Decode {
            tree,
            key: key.iter().map(|b| format!("{b:02x}")).collect(),
            message: e.to_string(),
        })
    })
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

/// How long opening waits for a lock our own process may still hold (see [`Trees::open`]).
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

impl Trees {
    fn open(path: &Path, shown: &str, cache_bytes: u64) -> Result<Trees> {
        let config = sled::Config::new()
            .path(path)
            // Flushing is the daemon's (see "Durability" above), so it knows what is durable.
            .flush_every_ms(None)
            .cache_capacity(cache_bytes);
        // sled releases its file lock when the last of its handles is gone, and a write
        // thread of its pool can hold one for a moment after the store was dropped: opening
        // again at once (a reopen after a full disk, tests) would see our own lock. Another
        // process's lock stays, and is reported once the grace period is over.
        let deadline = std::time::Instant::now() + LOCK_GRACE;
        let db = loop {
            match config.open().map_err(|e| classify_open_error(shown, e)) {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        let open = |name: &str| {
            db.open_tree(name)
                .map_err(|e| classify_open_error(shown, e))
        };
        let tombstones = open("sourcekey_tombstone")?;
        Ok(Trees {
            may_have_tombstones: AtomicBool::new(!tombstones.is_empty()),
            tombstones,
            meta: open("meta")?,
            sources: open("sourcename_state")?,
            articles: open("articleid_article")?,
            index: open("articleid_index")?,
            keys: open("sourcekey_articleid")?,
            stories: open("storyid_story")?,
            tombstones_seen: open("tombstoneseen_sourcekey")?,
            changes: open("seq_change")?,
            merged_into: open("storyid_mergedinto")?,
            db,
        })
    }

    fn check_schema(&self, shown: &str, existed: bool) -> Result<u32> {
        match self.meta.get(KEY_SCHEMA)? {
            None if !existed && self.articles.is_empty() && self.sources.is_empty() => {
                self.meta
                    .insert(KEY_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                self.meta.insert(KEY_COUNTS, encode(&Counts::default())?)?;
                self.db.flush()?;
                Ok(SCHEMA_VERSION)
            }
            None => Err(StoreError::Corrupt {
                path: shown.to_owned(),
                message: "the schema version is missing; refusing to treat it as an empty store"
                    .into(),
            }),
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Schema {
                        path: shown.to_owned(),
                        found: format!("{:?} (unreadable)", v.as_ref()),
                    })?;
                if found > SCHEMA_VERSION || found == 0 {
                    return Err(StoreError::Schema {
                        path: shown.to_owned(),
                        found: found.to_string(),
                    });
                }
                Ok(found)
            }
        }
    }

    /// Counters as written (durable or not).
    fn counts(&self) -> Result<Counts> {
        match self.meta.get(KEY_COUNTS)? {
            Some(v) => decode("meta", KEY_COUNTS, &v),
            None => Ok(Counts::default()),
        }
    }

    /// Newest change-log entry as written (durable or not).
    fn last_change(&self) -> Result<Option<u64>> {
        Ok(self.changes.last()?.and_then(|(k, _)| id_from(&k)))
    }
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
        let shown = path.display().to_string();
        let existed = path.join("conf").exists() || path.join("db").exists();
        if path.exists()
            && !existed
            && std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some())
        {
            // A non-empty directory without sled's files: something else, or a store whose
            // files were lost. Never start an empty store over it.
            return Err(StoreError::Corrupt {
                path: shown,
                message: "the directory holds other files but no sled database (conf, db)".into(),
            });
        }
        // sled 0.34 panics on some damage (a truncated segment) instead of returning an error:
        // catch that and report it as damage, without the panic's own message on stderr.
        let trees = quietly_catching_panics(|| {
            let trees = Trees::open(path, &shown, cache_bytes)?;
            let found = trees.check_schema(&shown, existed)?;
            if found < SCHEMA_VERSION {
                schema::migrate(&trees, &shown, found)?;
            }
            schema::drop_retired(&trees)?;
            if existed {
                trees.quick_check(&shown)?;
                if read_through {
                    trees.verify(&shown)?;
                }
            }
            Ok(trees)
        })
        .unwrap_or_else(|panic| {
            Err(StoreError::Corrupt {
                path: String::new(),
                message: format!("sled failed reading it: {panic}"),
            })
        })
        .map_err(|e| e.at(&shown))?;
        let durable = Durable {
            seq: trees.last_change().map_err(|e| e.at(&shown))?,
            counts: trees.counts().map_err(|e| e.at(&shown))?,
        };
        Ok(Store {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                shown,
                flush_every,
                cache_bytes,
                trees: RwLock::new(Some(Arc::new(trees))),
                durable: Mutex::new(durable),
                fault: Mutex::new(None),
                // A new store has nothing to read through.
                verified: AtomicBool::new(read_through || !existed),
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

    /// A new id, unique and increasing across restarts.
    pub fn next_id(&self) -> Result<u64> {
        self.check_writable()?;
        let t = self.t()?;
        self.wrote(t.db.generate_id())
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

    /// The story that story `id` was merged into, while that one is stored (`None` for a
    /// story that was never merged away, or whose survivor retention has deleted since).
    pub fn merged_into(&self, id: u64) -> Result<Option<u64>> {
        let t = self.t()?;
        Ok(t.merged_into
            .get(id.to_be_bytes())?
            .and_then(|v| id_from(&v)))
    }

    /// Writes one fold decision atomically: the article (new or updated), its index record and
    /// key, its story, the counters moved by `delta`, and a change-log entry of `kind`.
    /// Returns the change record (its `seq` is the consumers' cursor).
    pub fn commit(
        &self,
        article: &ArticleRecord,
        story: &StoryRecord,
        delta: Counts,
        kind: ChangeKind,
    ) -> Result<ChangeRecord> {
        let mut changes = self.commit_batch(&[(article.clone(), kind)], &[story], delta)?;
        changes
            .pop()
            .ok_or_else(|| StoreError::Io("commit wrote no change".into()))
    }

    /// Writes the fold decisions of one poll in one transaction: each article (new or
    /// updated) with its index record, key and change-log entry of its kind; every story
    /// they touched; the counters moved by `delta`. All of it or none. Returns the change
    /// records in article order.
    pub fn commit_batch(
        &self,
        articles: &[(ArticleRecord, ChangeKind)],
        stories: &[&StoryRecord],
        delta: Counts,
    ) -> Result<Vec<ChangeRecord>> {
        self.commit_fold(articles, stories, &[], delta)
    }

    /// [`Store::commit_batch`], also deleting the story records `removed` (stories merged into
    /// another one: their articles are among `articles`, re-pointed) and counting them off
    /// the stored stories, in the same transaction.
    pub fn commit_fold(
        &self,
        articles: &[(ArticleRecord, ChangeKind)],
        stories: &[&StoryRecord],
        removed: &[u64],
        delta: Counts,
    ) -> Result<Vec<ChangeRecord>> {
        struct Row {
            key: [u8; 8],
            article: Vec<u8>,
            index: Vec<u8>,
            source_key: Vec<u8>,
            change_key: [u8; 8],
            change: Vec<u8>,
        }
        self.check_writable()?;
        let t = self.t()?;
        let mut rows = Vec::with_capacity(articles.len());
        let mut changes = Vec::with_capacity(articles.len());
        for (article, kind) in articles {
            let change = ChangeRecord {
                seq: self.wrote(t.db.generate_id())?,
                kind: *kind,
                article: article.id,
                story: article.story,
                at: article.updated,
            };
            rows.push(Row {
                key: article.id.to_be_bytes(),
                article: encode_sized(article, article.encoded_size_hint())?,
                index: encode_sized(
                    &IndexRecord {
                        story: article.story,
                        at: article.first_seen,
                        fingerprint: article.fingerprint.clone(),
                    },
                    INDEX_RECORD_HINT,
                )?,
                source_key: source_key(&article.source, &article.key),
                change_key: change.seq.to_be_bytes(),
                change: encode_sized(&change, 64)?,
            });
            changes.push(change);
        }
        let stories_in = stories;
        let stories: Vec<([u8; 8], Vec<u8>)> = stories
            .iter()
            .map(|s| Ok((s.id.to_be_bytes(), encode_sized(*s, s.encoded_size_hint())?)))
            .collect::<Result<_>>()?;
        (
            &t.meta,
            &t.articles,
            &t.index,
            &t.keys,
            &t.stories,
            &t.changes,
            &t.merged_into,
        )
            .transaction(
                |(meta, articles, index, keys, stories_t, changes_t, merged_t)| {
                    for r in &rows {
                        articles.insert(&r.key, r.article.as_slice())?;
                        index.insert(&r.key, r.index.as_slice())?;
                        keys.insert(r.source_key.as_slice(), &r.key)?;
                        changes_t.insert(&r.change_key, r.change.as_slice())?;
                    }
                    for (k, v) in &stories {
                        stories_t.insert(k, v.as_slice())?;
                    }
                    for s in stories_in {
                        for gone in &s.merged_from {
                            merged_t.insert(&gone.to_be_bytes(), &s.id.to_be_bytes())?;
                        }
                    }
                    let mut gone = 0u64;
                    for id in removed {
                        gone += u64::from(stories_t.remove(&id.to_be_bytes())?.is_some());
                    }
                    if delta != Counts::default() || gone > 0 {
                        let mut counts: Counts = match meta.get(KEY_COUNTS)? {
                            Some(v) => decode("meta", KEY_COUNTS, &v)
                                .map_err(ConflictableTransactionError::Abort)?,
                            None => Counts::default(),
                        };
                        counts.articles += delta.articles;
                        counts.stories = (counts.stories + delta.stories).saturating_sub(gone);
                        counts.copies += delta.copies;
                        let bytes = encode(&counts).map_err(ConflictableTransactionError::Abort)?;
                        meta.insert(KEY_COUNTS, bytes)?;
                    }
                    Ok(())
                },
            )
            .map_err(|e| self.note_fault(e.into()))?;
        Ok(changes)
    }

    /// Change-log entries after `after` (exclusive), oldest first, up to the last flush: a
    /// change is listed only once it is durable.
    pub fn changes_after(
        &self,
        after: Option<u64>,
    ) -> Box<dyn Iterator<Item = Result<ChangeRecord>> + Send + '_> {
        let Some(last) = self.durable().seq else {
            return Box::new(std::iter::empty());
        };
        let start = after.map_or(0, |a| a.saturating_add(1));
        if start > last {
            return Box::new(std::iter::empty());
        }
        match self.t() {
            Ok(t) => Box::new(
                t.changes
                    .range(start.to_be_bytes()..=last.to_be_bytes())
                    .map(|kv| {
                        let (k, v) = kv?;
                        decode("seq_change", &k, &v)
                    }),
            ),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    /// Change-log entries after `after` (exclusive), oldest first, durable or not: what the
    /// index snapshot is caught up with (the index holds every written change).
    pub fn written_changes_after(
        &self,
        after: u64,
    ) -> Box<dyn Iterator<Item = Result<ChangeRecord>> + Send + '_> {
        let Some(start) = after.checked_add(1) else {
            return Box::new(std::iter::empty());
        };
        match self.t() {
            Ok(t) => Box::new(t.changes.range(start.to_be_bytes()..).map(|kv| {
                let (k, v) = kv?;
                decode("seq_change", &k, &v)
            })),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    /// The newest durable change-log position, if any.
    pub fn last_change(&self) -> Result<Option<u64>> {
        Ok(self.durable().seq)
    }

    /// Index records of articles first seen at or after `since`, newest first; times are
    /// compared in whole seconds, as the index keeps them. Relies on ids increasing with first
    /// sighting, so the scan stops at the first older record.
    pub fn index_records_since(
        &self,
        since: Millis,
    ) -> Box<dyn Iterator<Item = Result<(u64, IndexRecord)>> + Send + '_> {
        let t = match self.t() {
            Ok(t) => t,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        Box::new(
            t.index
                .iter()
                .rev()
                .map(|kv| {
                    let (k, v) = kv?;
                    let id = id_from(&k).ok_or_else(|| StoreError::Corrupt {
                        path: String::new(),
                        message: "bad key in articleid_index".into(),
                    })?;
                    Ok((id, decode::<IndexRecord>("articleid_index", &k, &v)?))
                })
                .take_while(move |r| match r {
                    Ok((_, rec)) => rec.at / 1000 >= since / 1000,
                    Err(_) => true,
                }),
        )
    }

    /// One article's index record.
    pub fn index_record(&self, id: u64) -> Result<Option<IndexRecord>> {
        get_decoded(&self.t()?.index, "articleid_index", id)
    }

    /// One change-log entry, durable or not.
    pub fn change(&self, seq: u64) -> Result<Option<ChangeRecord>> {
        get_decoded(&self.t()?.changes, "seq_change", seq)
    }

    /// How many times retention removed index records (written, durable or not).
    pub fn index_epoch(&self) -> Result<u64> {
        Ok(self
            .t()?
            .meta
            .get(KEY_INDEX_EPOCH)?
            .and_then(|v| id_from(&v))
            .unwrap_or(0))
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Articles with an id of at least `first`, oldest first.
    pub fn articles_from(
        &self,
        first: u64,
    ) -> Box<dyn Iterator<Item = Result<ArticleRecord>> + Send + '_> {
        match self.t() {
            Ok(t) => Box::new(t.articles.range(first.to_be_bytes()..).map(|kv| {
                let (k, v) = kv?;
                decode("articleid_article", &k, &v)
            })),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    /// Articles, newest first.
    pub fn articles_newest(&self) -> Box<dyn Iterator<Item = Result<ArticleRecord>> + Send + '_> {
        match self.t() {
            Ok(t) => Box::new(t.articles.iter().rev().map(|kv| {
                let (k, v) = kv?;
                decode("articleid_article", &k, &v)
            })),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    /// Stories, newest first, with an id below `before` (or all when `None`).
    pub fn stories_before(
        &self,
        before: Option<u64>,
    ) -> Box<dyn Iterator<Item = Result<StoryRecord>> + Send + '_> {
        let end = before.unwrap_or(u64::MAX).to_be_bytes();
        match self.t() {
            Ok(t) => Box::new(t.stories.range(..end).rev().map(|kv| {
                let (k, v) = kv?;
                decode("storyid_story", &k, &v)
            })),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
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
        Ok(durable.seq)
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
        let mut slot = self.shared.trees.write().unwrap_or_else(|p| p.into_inner());
        drop(slot.take());
        let mut tries = 0;
        let trees = loop {
            match Trees::open(
                &self.shared.path,
                &self.shared.shown,
                self.shared.cache_bytes,
            ) {
                Ok(t) => break t,
                Err(StoreError::Locked { .. }) if tries < 100 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e),
            }
        };
        trees.check_schema(&self.shared.shown, true)?;
        let durable = Durable {
            seq: trees.last_change()?,
            counts: trees.counts()?,
        };
        *slot = Some(Arc::new(trees));
        *self
            .shared
            .durable
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = durable;
        *self.shared.fault.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.t()
            .ok()
            .and_then(|t| t.db.size_on_disk().ok())
            .unwrap_or(0)
    }
}

thread_local! {
    /// Set while [`quietly_catching_panics`] runs on this thread.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err(message)` without the panic's report on stderr.
///
/// Only panics on the calling thread are silenced: the first call wraps the process's panic
/// hook once in one that skips the report while this thread is inside `f`. (Swapping the hook
/// for a silent one around `f`, as before, silenced every thread meanwhile, and two
/// overlapping calls — a store reopened while another opens, parallel tests — could leave the
/// silent hook installed for good.)
pub(crate) fn quietly_catching_panics<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static WRAP_HOOK: std::sync::Once = std::sync::Once::new();
    WRAP_HOOK.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                report(info);
            }
        }));
    });
    let outer = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(outer));
    result.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into())
    })
}

fn classify_open_error(path: &str, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::Locked {
                path: path.to_owned(),
            }
        }
        sled::Error::Corruption { at, .. } => StoreError::Corrupt {
            path: path.to_owned(),
            message: match at {
                Some(at) => format!("sled found corrupted data at {at:?}"),
                None => "sled found corrupted data".into(),
            },
        },
        sled::Error::ReportableBug(_) => StoreError::Corrupt {
            path: path.to_owned(),
            message: e.to_string(),
        },
        sled::Error::Io(io) => StoreError::Io(format!("opening {path}: {io}")),
        other => StoreError::Corrupt {
            path: path.to_owned(),
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests;
