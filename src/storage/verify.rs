//! Finding damage: the quick checks at open and the full read-through.
//!
//! # What is checked when
//! - **At every open** ([`Store::open`] and [`Store::open_unverified`]): sled's own recovery
//!   (it reads its log and refuses or panics on what it cannot replay), the schema version,
//!   the counters record, and the first and last record of every tree (each read and
//!   decoded). Milliseconds, whatever the size of the store.
//! - **The read-through** ([`Verifier`]): every record of the article, story, copy, index,
//!   key, change-log and source trees is paged in (which checks sled's checksums on each), and the
//!   counters must agree with the articles and stories stored. [`Store::open`] (the one-shot
//!   commands, the library's default) does it before returning; the daemon opens with
//!   [`Store::open_unverified`] and runs it in the background, in steps, once it is ready
//!   (see `app/background.rs`), and stops with an error when it finds damage.
//!
//! A read-through running beside the daemon's writes counts only the articles and stories
//! that existed when it started (ids are increasing, so that is an id bound), against the
//! counters of that moment; nothing may delete records while it runs (the daemon starts
//! retention after it).

use std::panic::AssertUnwindSafe;

use super::{decode, id_from, Counts, Result, Store, StoreError, Trees};

/// Every tree a read-through reads, in order: the first [`CHECKED`] are checked record by
/// record; the others have no records to check, and their sizes are added to [`DataSize`]
/// apart (not scaled by the articles: see [`DataSize::unscaled_bytes`]).
const READ: [&str; 11] = [
    "articleid_article",
    "storyid_story",
    "articleid_index",
    "sourcekey_articleid",
    "seq_change",
    "sourcename_state",
    "storyid_mergedinto",
    "storyarticle_copy",
    "meta",
    "tombstones",
    "tombstones_seen",
];

/// How many of [`READ`] are checked.
const CHECKED: usize = 8;

fn tree<'a>(t: &'a Trees, name: &str) -> &'a sled::Tree {
    match name {
        "articleid_article" => &t.articles,
        "storyid_story" => &t.stories,
        "articleid_index" => &t.index,
        "sourcekey_articleid" => &t.keys,
        "seq_change" => &t.changes,
        "storyid_mergedinto" => &t.merged_into,
        "storyarticle_copy" => &t.copies,
        "meta" => &t.meta,
        "tombstones" => &t.tombstones,
        "tombstones_seen" => &t.tombstones_seen,
        _ => &t.sources,
    }
}

/// Decodes one record of a tree whose values have a record type; `Ok` for the others.
fn decode_record(name: &'static str, k: &[u8], v: &[u8]) -> Result<()> {
    use super::records::{
        ArticleRecord, ChangeRecord, CopyRecord, IndexRecord, SourceState, StoryRecord,
    };
    match name {
        "articleid_article" => decode::<ArticleRecord>(name, k, v).map(drop),
        "storyid_story" => decode::<StoryRecord>(name, k, v).map(drop),
        "articleid_index" => decode::<IndexRecord>(name, k, v).map(drop),
        "seq_change" => decode::<ChangeRecord>(name, k, v).map(drop),
        "storyarticle_copy" => decode::<CopyRecord>(name, k, v).map(drop),
        "sourcename_state" => decode::<SourceState>(name, k, v).map(drop),
        _ => Ok(()),
    }
}

impl Trees {
    /// The quick checks of every open: the counters and the first and last record of each
    /// tree read through sled and decoded.
    pub(super) fn quick_check(&self, shown: &str) -> Result<()> {
        let damaged = |message: String| StoreError::Corrupt {
            path: shown.to_owned(),
            message,
        };
        self.counts().map_err(|e| damaged(e.to_string()))?;
        for &name in &READ[..CHECKED] {
            let t = tree(self, name);
            for kv in [t.first(), t.last()] {
                if let Some((k, v)) = kv.map_err(|e| damaged(format!("{name}: {e}")))? {
                    decode_record(name, &k, &v).map_err(|e| damaged(e.to_string()))?;
                }
            }
        }
        Ok(())
    }
}

/// Where a read-through is, between its steps. Made by [`Store::verifier`].
#[derive(Debug, Clone)]
pub struct Verifier {
    /// Index in [`READ`] of the tree being read.
    tree: usize,
    /// The last key read in it; the next step resumes after it.
    after: Option<Vec<u8>>,
    /// Articles and stories with ids up to these existed when the read-through started.
    last_article: u64,
    last_story: u64,
    /// The counters of that moment.
    expect: Counts,
    /// Records of those seen so far.
    articles: u64,
    stories: u64,
    /// Records read, all trees.
    read: u64,
    /// Bytes of their keys and values.
    bytes: u64,
    /// Records and bytes of the trees past the first [`CHECKED`] of [`READ`].
    unscaled_records: u64,
    unscaled_bytes: u64,
}

/// How far a read-through got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More to read.
    Reading {
        /// Records read so far.
        read: u64,
    },
    /// Everything read, nothing wrong.
    Done {
        /// Records read.
        read: u64,
        /// What the store's keys and values add up to, every tree (see [`DataSize`]).
        data: DataSize,
    },
}

/// What a store's keys and values add up to, counted by a read-through: the data a
/// compaction copies (a fresh sled copy takes about 2–4× this on disk; the store's own file
/// grows past that under retention's churn, see `wirefold compact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSize {
    /// Bytes of keys and values.
    pub bytes: u64,
    /// Records (key–value pairs).
    pub records: u64,
    /// Articles among them: what the data is scaled by as the store grows or shrinks after
    /// the count (`crate::storage::compact::expected_copy`).
    pub articles: u64,
    /// Of `bytes` and `records`, those of the trees that do not grow and shrink with the
    /// articles (retention's tombstones, which outlive the articles they stand for; the
    /// store's meta records): not scaled.
    pub unscaled_bytes: u64,
    pub unscaled_records: u64,
    /// When the read-through finished (Unix milliseconds). Records written while it ran may
    /// or may not be in it.
    pub at: crate::storage::Millis,
}

impl Verifier {
    /// A read-through of `t` as it is now.
    fn new(t: &Trees) -> Result<Verifier> {
        let last = |tree: &sled::Tree| -> Result<u64> {
            Ok(tree.last()?.and_then(|(k, _)| id_from(&k)).unwrap_or(0))
        };
        Ok(Verifier {
            tree: 0,
            after: None,
            last_article: last(&t.articles)?,
            last_story: last(&t.stories)?,
            expect: t.counts()?,
            articles: 0,
            stories: 0,
            read: 0,
            bytes: 0,
            unscaled_records: 0,
            unscaled_bytes: 0,
        })
    }

    /// Reads up to `max` records; damage is reported as [`StoreError::Corrupt`] naming the
    /// tree and what is wrong (the path is added by the caller).
    fn step(&mut self, t: &Trees, max: usize) -> Result<Progress> {
        let damaged = |message: String| StoreError::Corrupt {
            path: String::new(),
            message,
        };
        let mut budget = max.max(1);
        while let Some(&name) = READ.get(self.tree) {
            let checked = self.tree < CHECKED;
            let sled_tree = tree(t, name);
            let iter = match self.after.take() {
                Some(after) => {
                    sled_tree.range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
                }
                None => sled_tree.iter(),
            };
            let mut last = None;
            for kv in iter {
                if budget == 0 {
                    self.after = last;
                    return Ok(Progress::Reading { read: self.read });
                }
                let (k, v) = kv.map_err(|e| damaged(format!("{name}: {e}")))?;
                let size = (k.len() + v.len()) as u64;
                if checked {
                    decode_record(name, &k, &v).map_err(|e| damaged(e.to_string()))?;
                    let id = id_from(&k).unwrap_or(u64::MAX);
                    match name {
                        "articleid_article" if id <= self.last_article => self.articles += 1,
                        "storyid_story" if id <= self.last_story => self.stories += 1,
                        _ => {}
                    }
                    self.read += 1;
                    self.bytes += size;
                } else {
                    self.unscaled_records += 1;
                    self.unscaled_bytes += size;
                }
                budget -= 1;
                last = Some(k.to_vec());
            }
            self.tree += 1;
        }
        if self.expect.articles != self.articles || self.expect.stories != self.stories {
            return Err(damaged(format!(
                "the counters say {} articles and {} stories but {} and {} are stored",
                self.expect.articles, self.expect.stories, self.articles, self.stories
            )));
        }
        Ok(Progress::Done {
            read: self.read,
            data: DataSize {
                bytes: self.bytes + self.unscaled_bytes,
                records: self.read + self.unscaled_records,
                articles: self.articles,
                unscaled_bytes: self.unscaled_bytes,
                unscaled_records: self.unscaled_records,
                at: chrono::Utc::now().timestamp_millis(),
            },
        })
    }
}

impl Trees {
    /// Reads the whole store once, so that damage anywhere is found before anything is
    /// served; what its data adds up to.
    pub(super) fn verify(&self, shown: &str) -> Result<Option<DataSize>> {
        match Verifier::new(self)?.step(self, usize::MAX) {
            Ok(Progress::Done { data, .. }) => Ok(Some(data)),
            Ok(Progress::Reading { .. }) => Ok(None),
            Err(e) => Err(e.at(shown)),
        }
    }
}

impl Store {
    /// Starts a read-through of the store as it is now (see the module docs). Call it before
    /// anything writes: the counters and the newest ids read here are what the records are
    /// checked against.
    pub fn verifier(&self) -> Result<Verifier> {
        Verifier::new(&*self.t()?)
    }

    /// Runs one step of a read-through, at most `max` records. Damage (including a panic of
    /// sled on a damaged page) comes back as [`StoreError::Corrupt`] naming the store, the tree
    /// and the problem.
    pub fn verify_step(&self, v: &mut Verifier, max: usize) -> Result<Progress> {
        let t = self.t()?;
        let shown = &self.shared.shown;
        std::panic::catch_unwind(AssertUnwindSafe(|| v.step(&t, max)))
            .unwrap_or_else(|p| {
                let what = p
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".into());
                Err(StoreError::Corrupt {
                    path: String::new(),
                    message: format!("sled failed reading it: {what}"),
                })
            })
            .map_err(|e| e.at(shown))
    }

    /// True once the store was read through without damage: at open ([`Store::open`]) or by
    /// a completed background read-through ([`Store::set_verified`]).
    pub fn is_verified(&self) -> bool {
        self.shared
            .verified
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records that a background read-through completed without damage, and what it
    /// counted.
    pub fn set_verified(&self, data: DataSize) {
        self.shared
            .verified
            .store(true, std::sync::atomic::Ordering::Relaxed);
        *self.shared.data.lock().unwrap_or_else(|p| p.into_inner()) = Some(data);
    }

    /// What the store's keys and values added up to at the last read-through (at open, or
    /// the daemon's in the background); `None` before one finished, and for a store that
    /// was new when opened.
    pub fn data_size(&self) -> Option<DataSize> {
        *self.shared.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records damage found after open: the store refuses writes from now on, [`Store::fault`]
    /// reports it, and [`Store::reopen`] refuses to clear it (only a restored store fixes it).
    pub fn mark_damaged(&self, e: &StoreError) {
        let mut fault = self.shared.fault.lock().unwrap_or_else(|p| p.into_inner());
        *fault = Some(super::StoreFault {
            message: e.to_string(),
            since: chrono::Utc::now().timestamp_millis(),
            damaged: true,
        });
    }
}
