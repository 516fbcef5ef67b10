//! The sled database and its trees, opened and checked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::error::classify_open_error;
use super::*;

/// The sled database and its trees.
pub(super) struct Trees {
    pub(super) db: sled::Db,
    pub(super) meta: sled::Tree,
    pub(super) sources: sled::Tree,
    pub(super) articles: sled::Tree,
    pub(super) index: sled::Tree,
    pub(super) keys: sled::Tree,
    pub(super) stories: sled::Tree,
    /// `storyarticle_copy`: each story's copies (schema 6).
    pub(super) copies: sled::Tree,
    pub(super) tombstones: sled::Tree,
    pub(super) tombstones_seen: sled::Tree,
    pub(super) changes: sled::Tree,
    /// Story id → the story it was merged into (`storyid_mergedinto`): written with the
    /// surviving story, for every id in its `merged_from`, so one lookup always lands on the
    /// survivor; deleted with it by retention.
    pub(super) merged_into: sled::Tree,
    /// False while `tombstones` is known to be empty (it was at open and retention deleted
    /// nothing since): folding then skips a lookup per article.
    pub(super) may_have_tombstones: AtomicBool,
}

/// How long opening waits for a lock our own process may still hold (see [`Trees::open`]).
const LOCK_GRACE: Duration = Duration::from_secs(2);

/// The stores this process has opened (canonical paths): only there can a lock found at open
/// be our own, left by a handle just dropped. Anywhere else it is another process's.
static OPENED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn opened_key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// How long opening the store at `path` waits out a lock: [`LOCK_GRACE`] where this process
/// has opened it before, else nothing, so that a store another process holds (a second
/// daemon, `wirefold export` beside the running one) is reported at once.
pub(super) fn lock_grace(path: &Path) -> Duration {
    let opened = OPENED.lock().unwrap_or_else(PoisonError::into_inner);
    if opened.contains(&opened_key(path)) {
        LOCK_GRACE
    } else {
        Duration::ZERO
    }
}

impl Trees {
    pub(super) fn open(path: &Path, shown: &str, cache_bytes: u64) -> Result<Trees> {
        let config = sled::Config::new()
            .path(path)
            // Flushing is the daemon's (see "Durability" above), so it knows what is durable.
            .flush_every_ms(None)
            .cache_capacity(cache_bytes);
        // sled releases its file lock when the last of its handles is gone, and a write
        // thread of its pool can hold one for a moment after the store was dropped: opening
        // again at once (a reopen after a full disk, tests) would see our own lock. So a
        // store this process opened before gets a grace period; another process's lock
        // stays, and is reported once it is over, or at once on a first open.
        let deadline = Instant::now() + lock_grace(path);
        let db = loop {
            match config.open().map_err(|e| classify_open_error(shown, e)) {
                Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        OPENED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(opened_key(path));
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
            copies: open("storyarticle_copy")?,
            tombstones_seen: open("tombstoneseen_sourcekey")?,
            changes: open("seq_change")?,
            merged_into: open("storyid_mergedinto")?,
            db,
        })
    }

    /// The store's schema version: written into a new store (`existed` false), or into one
    /// whose creation never finished (`unfinished`: sled's files made, then the process killed
    /// before the version was flushed, which left a store every later start refused as
    /// damaged) when every tree is empty: there is nothing in it to lose.
    pub(super) fn check_schema(&self, shown: &str, existed: bool, unfinished: bool) -> Result<u32> {
        let empty = || {
            [
                &self.meta,
                &self.sources,
                &self.articles,
                &self.index,
                &self.keys,
                &self.stories,
                &self.copies,
                &self.tombstones,
                &self.tombstones_seen,
                &self.changes,
                &self.merged_into,
            ]
            .iter()
            .all(|t| t.is_empty())
        };
        match self.meta.get(KEY_SCHEMA)? {
            None if !existed && self.articles.is_empty() && self.sources.is_empty() => {
                self.meta
                    .insert(KEY_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                self.meta.insert(KEY_COUNTS, encode(&Counts::default())?)?;
                self.db.flush()?;
                Ok(SCHEMA_VERSION)
            }
            None if unfinished && empty() => {
                tracing::info!(
                    store = shown,
                    "the store's creation was stopped before it finished; it holds nothing and \
                     is set up as new"
                );
                self.check_schema(shown, false, false)
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
    pub(super) fn counts(&self) -> Result<Counts> {
        match self.meta.get(KEY_COUNTS)? {
            Some(v) => decode("meta", KEY_COUNTS, &v),
            None => Ok(Counts::default()),
        }
    }

    /// Newest change-log position as written (durable or not): the newest entry, or the
    /// newest one retention pruned when it pruned them all. Positions never go back.
    pub(super) fn last_change(&self) -> Result<Option<u64>> {
        let last = self.changes.last()?.and_then(|(k, _)| id_from(&k));
        Ok(last.max(self.pruned_through()?))
    }

    /// The newest change-log position retention pruned, if it pruned any.
    pub(super) fn pruned_through(&self) -> Result<Option<u64>> {
        Ok(self.meta.get(KEY_PRUNED_THROUGH)?.and_then(|v| id_from(&v)))
    }
}
