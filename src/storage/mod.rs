//! The embedded store: sled behind a narrow API.
//!
//! Nothing outside this module touches sled (its stable line is 0.34 and 1.0 is still alpha);
//! everything goes through [`Store`], which speaks in records (`records.rs`) and converts
//! `IVec`s at the edge.
//!
//! # Trees
//! Named `key_value`, as Conduit does:
//! - `meta`: `schema_version`, `counts` ([`Counts`]);
//! - `sourcename_state`: source name → [`SourceState`];
//! - `articleid_article`: article id (u64 big-endian) → [`ArticleRecord`];
//! - `articleid_index`: article id → [`IndexRecord`] (what the in-memory index is rebuilt from);
//! - `sourcekey_articleid`: source name `0x00` entry key → article id;
//! - `storyid_story`: story id → [`StoryRecord`];
//! - `firstseen_articleid`: first sighting (ms, big-endian) ++ article id → nothing: the
//!   time order retention deletes in, by range scan (schema 2);
//! - `sourcekey_tombstone`: source name `0x00` entry key → when the deleted item was last
//!   seen (ms); such an entry is never ingested again while its tombstone lives (schema 2);
//! - `tombstoneseen_sourcekey`: that time ++ source key → nothing: tombstone expiry order.
//! - `seq_change`: change sequence number → [`ChangeRecord`], the change log behind the change
//!   feed (`/articles?after=`, `/stories?after=`) and the event stream.
//!
//! Ids come from sled's persistent monotonic generator, so ordering by id is ordering by the
//! time a record was created, and big-endian keys make "newest first" a reverse range scan.
//!
//! # Atomicity
//! One fold decision (an article plus its story plus the counters) is one sled transaction over
//! all the trees involved: after a crash either all of it is there or none of it. So is the
//! deletion of one article by retention, and each step of a schema migration.
//!
//! # Upgrades
//! The schema version is in `meta`. On open an older store is migrated step by step
//! (`schema.rs`); a newer or unreadable version is refused with a clear error.

mod records;
mod retention;
mod schema;

use std::path::Path;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

pub use records::*;
pub use retention::{Pruned, TOMBSTONE_TOUCH_MS};

/// sled page cache used unless configured (`store.cache_bytes`).
pub const DEFAULT_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// Version of the record layout; stored in `meta` and checked on open.
pub const SCHEMA_VERSION: u32 = 2;

const KEY_SCHEMA: &[u8] = b"schema_version";
const KEY_COUNTS: &[u8] = b"counts";

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
    #[error("the store at {path} is damaged: {message}")]
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

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Io(e.to_string())
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

/// The store handle; cheap to clone (sled trees are reference-counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    meta: sled::Tree,
    sources: sled::Tree,
    articles: sled::Tree,
    index: sled::Tree,
    keys: sled::Tree,
    stories: sled::Tree,
    first_seen: sled::Tree,
    tombstones: sled::Tree,
    tombstones_seen: sled::Tree,
    changes: sled::Tree,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(value).map_err(|e| StoreError::Io(format!("encoding a record: {e}")))
}

fn decode<T: DeserializeOwned>(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Decode {
        tree,
        key: key.iter().map(|b| format!("{b:02x}")).collect(),
        message: e.to_string(),
    })
}

fn source_key(source: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(source.len() + 1 + key.len());
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

/// Key of `firstseen_articleid`: time then id, both big-endian, so keys sort by time.
/// Times before 1970 (never written by wirefold) sort first.
fn first_seen_key(first_seen: Millis, id: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&u64::try_from(first_seen).unwrap_or(0).to_be_bytes());
    k[8..].copy_from_slice(&id.to_be_bytes());
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
    /// when it is damaged, or when its schema is newer than this build reads.
    pub fn open(path: &Path, flush_every: Duration) -> Result<Store> {
        Self::open_with(path, flush_every, DEFAULT_CACHE_BYTES)
    }

    /// Like [`Store::open`], with sled's page cache bounded to `cache_bytes` (sled's own
    /// default, 1 GiB, would make the daemon's memory grow with the store).
    pub fn open_with(path: &Path, flush_every: Duration, cache_bytes: u64) -> Result<Store> {
        let shown = path.display().to_string();
        let existed = path.join("conf").exists() || path.join("db").exists();
        let flush_ms = u64::try_from(flush_every.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let db = sled::Config::new()
            .path(path)
            .flush_every_ms(Some(flush_ms))
            .cache_capacity(cache_bytes)
            .open()
            .map_err(|e| classify_open_error(&shown, e))?;
        let open = |name: &str| {
            db.open_tree(name)
                .map_err(|e| classify_open_error(&shown, e))
        };
        let store = Store {
            meta: open("meta")?,
            sources: open("sourcename_state")?,
            articles: open("articleid_article")?,
            index: open("articleid_index")?,
            keys: open("sourcekey_articleid")?,
            stories: open("storyid_story")?,
            first_seen: open("firstseen_articleid")?,
            tombstones: open("sourcekey_tombstone")?,
            tombstones_seen: open("tombstoneseen_sourcekey")?,
            changes: open("seq_change")?,
            db,
        };
        let found = store.check_schema(&shown, existed)?;
        if found < SCHEMA_VERSION {
            schema::migrate(&store, &shown, found)?;
        }
        Ok(store)
    }

    /// The schema version on disk (a new store is stamped with [`SCHEMA_VERSION`]).
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

    /// A new id, unique and increasing across restarts.
    pub fn next_id(&self) -> Result<u64> {
        Ok(self.db.generate_id()?)
    }

    /// Store-wide counters.
    pub fn counts(&self) -> Result<Counts> {
        match self.meta.get(KEY_COUNTS)? {
            Some(v) => decode("meta", KEY_COUNTS, &v),
            None => Ok(Counts::default()),
        }
    }

    /// A source's polling state, if it was ever polled.
    pub fn source_state(&self, name: &str) -> Result<Option<SourceState>> {
        self.sources
            .get(name.as_bytes())?
            .map(|v| decode("sourcename_state", name.as_bytes(), &v))
            .transpose()
    }

    /// Replaces a source's polling state.
    pub fn put_source_state(&self, name: &str, state: &SourceState) -> Result<()> {
        self.sources.insert(name.as_bytes(), encode(state)?)?;
        Ok(())
    }

    /// The article a source stored under an entry key.
    pub fn article_id_by_key(&self, source: &str, key: &str) -> Result<Option<u64>> {
        Ok(self
            .keys
            .get(source_key(source, key))?
            .and_then(|v| id_from(&v)))
    }

    /// One article.
    pub fn article(&self, id: u64) -> Result<Option<ArticleRecord>> {
        let k = id.to_be_bytes();
        self.articles
            .get(k)?
            .map(|v| decode("articleid_article", &k, &v))
            .transpose()
    }

    /// One story.
    pub fn story(&self, id: u64) -> Result<Option<StoryRecord>> {
        let k = id.to_be_bytes();
        self.stories
            .get(k)?
            .map(|v| decode("storyid_story", &k, &v))
            .transpose()
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
        let mut changes = self.commit_batch(
            &[(article.clone(), kind)],
            std::slice::from_ref(story),
            delta,
        )?;
        changes
            .pop()
            .ok_or_else(|| StoreError::Io("commit wrote no change".into()))
    }

    /// Writes the fold decisions of one poll in one transaction: each article (new or
    /// updated) with its index record, key, first-seen entry and change-log entry of its
    /// kind; every story they touched; the counters moved by `delta`. All of it or none.
    /// Returns the change records in article order.
    pub fn commit_batch(
        &self,
        articles: &[(ArticleRecord, ChangeKind)],
        stories: &[StoryRecord],
        delta: Counts,
    ) -> Result<Vec<ChangeRecord>> {
        struct Row {
            key: [u8; 8],
            article: Vec<u8>,
            index: Vec<u8>,
            source_key: Vec<u8>,
            seen_key: Vec<u8>,
            change_key: [u8; 8],
            change: Vec<u8>,
        }
        let mut rows = Vec::with_capacity(articles.len());
        let mut changes = Vec::with_capacity(articles.len());
        for (article, kind) in articles {
            let change = ChangeRecord {
                seq: self.next_id()?,
                kind: *kind,
                article: article.id,
                story: article.story,
                at: article.updated,
            };
            rows.push(Row {
                key: article.id.to_be_bytes(),
                article: encode(article)?,
                index: encode(&IndexRecord {
                    story: article.story,
                    at: article.first_seen,
                    fingerprint: article.fingerprint.clone(),
                })?,
                source_key: source_key(&article.source, &article.key),
                seen_key: first_seen_key(article.first_seen, article.id).to_vec(),
                change_key: change.seq.to_be_bytes(),
                change: encode(&change)?,
            });
            changes.push(change);
        }
        let stories: Vec<([u8; 8], Vec<u8>)> = stories
            .iter()
            .map(|s| Ok((s.id.to_be_bytes(), encode(s)?)))
            .collect::<Result<_>>()?;
        (
            &self.meta,
            &self.articles,
            &self.index,
            &self.keys,
            &self.stories,
            &self.first_seen,
            &self.changes,
        )
            .transaction(
                |(meta, articles, index, keys, stories_t, first_seen, changes_t)| {
                    for r in &rows {
                        articles.insert(&r.key, r.article.as_slice())?;
                        first_seen.insert(r.seen_key.as_slice(), &[])?;
                        index.insert(&r.key, r.index.as_slice())?;
                        keys.insert(r.source_key.as_slice(), &r.key)?;
                        changes_t.insert(&r.change_key, r.change.as_slice())?;
                    }
                    for (k, v) in &stories {
                        stories_t.insert(k, v.as_slice())?;
                    }
                    if delta != Counts::default() {
                        let mut counts: Counts = match meta.get(KEY_COUNTS)? {
                            Some(v) => decode("meta", KEY_COUNTS, &v)
                                .map_err(ConflictableTransactionError::Abort)?,
                            None => Counts::default(),
                        };
                        counts.articles += delta.articles;
                        counts.stories += delta.stories;
                        counts.copies += delta.copies;
                        let bytes = encode(&counts).map_err(ConflictableTransactionError::Abort)?;
                        meta.insert(KEY_COUNTS, bytes)?;
                    }
                    Ok(())
                },
            )?;
        Ok(changes)
    }

    /// Change-log entries after `after` (exclusive), oldest first.
    pub fn changes_after(
        &self,
        after: Option<u64>,
    ) -> impl Iterator<Item = Result<ChangeRecord>> + '_ {
        let start = after.map_or(0, |a| a.saturating_add(1)).to_be_bytes();
        self.changes.range(start..).map(|kv| {
            let (k, v) = kv?;
            decode("seq_change", &k, &v)
        })
    }

    /// The newest change-log position, if any.
    pub fn last_change(&self) -> Result<Option<u64>> {
        Ok(self.changes.last()?.and_then(|(k, _)| id_from(&k)))
    }

    /// Index records of articles first seen at or after `since`, newest first. Relies on ids
    /// increasing with first sighting, so the scan stops at the first older record.
    pub fn index_records_since(
        &self,
        since: Millis,
    ) -> impl Iterator<Item = Result<(u64, IndexRecord)>> + '_ {
        self.index
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
                Ok((_, rec)) => rec.at >= since,
                Err(_) => true,
            })
    }

    /// Articles with an id of at least `first`, oldest first.
    pub fn articles_from(&self, first: u64) -> impl Iterator<Item = Result<ArticleRecord>> + '_ {
        let start = first.to_be_bytes();
        self.articles.range(start..).map(|kv| {
            let (k, v) = kv?;
            decode("articleid_article", &k, &v)
        })
    }

    /// Articles, newest first.
    pub fn articles_newest(&self) -> impl Iterator<Item = Result<ArticleRecord>> + '_ {
        self.articles.iter().rev().map(|kv| {
            let (k, v) = kv?;
            decode("articleid_article", &k, &v)
        })
    }

    /// Stories, newest first, with an id below `before` (or all when `None`).
    pub fn stories_before(
        &self,
        before: Option<u64>,
    ) -> impl Iterator<Item = Result<StoryRecord>> + '_ {
        let end = before.unwrap_or(u64::MAX).to_be_bytes();
        self.stories.range(..end).rev().map(|kv| {
            let (k, v) = kv?;
            decode("storyid_story", &k, &v)
        })
    }

    /// Writes everything buffered to disk.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

fn classify_open_error(path: &str, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            StoreError::Locked {
                path: path.to_owned(),
            }
        }
        sled::Error::Corruption { .. } | sled::Error::ReportableBug(_) => StoreError::Corrupt {
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
