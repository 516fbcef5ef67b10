//! Fold stage: decides what a normalized article is — unchanged, an update, a copy of an
//! existing story, or a new story — and writes that decision to the store.
//!
//! # Rules
//! 1. **Same source, same entry key** → the same article. Unchanged content (same content hash,
//!    title and URL) is a no-op; anything else updates the article in place: it keeps its id
//!    and its story, its fingerprints in the index are replaced, its headline joins the story's
//!    headline variants.
//! 2. **Identical fingerprint text** from any source (xxh3-128) → an exact copy in that story.
//! 3. **Near-duplicate** found by the index within the time window and verified there → a near
//!    copy in the matched article's story.
//! 4. Otherwise → a new story, with this article as its canonical (earliest) copy.
//!
//! Chains (A~B, B~C, A≁C) join one story: C joins B's story because each decision compares with
//! individual copies, not with the story's canonical text, so a story follows its copies' drift.
//!
//! Decisions are serialized behind one lock (the index lookup, the id assignment and the store
//! transaction), so two copies arriving at once from two sources cannot open two stories.

use std::sync::Mutex;

use crate::dedup::{DedupParams, Index, MatchKind};
use crate::fingerprint::{fingerprint, Fingerprint, FingerprintInput};
use crate::normalize::{Article, DateSource};
use crate::storage::{
    ArticleRecord, ChangeKind, ChangeRecord, CopyKind, CopyRecord, Counts, DateOrigin, Millis,
    Store, StoreError, StoryRecord,
};

/// Capacity of the live change channel; a subscriber that falls further behind is told it
/// lagged and resumes from the change log.
const EVENT_CAPACITY: usize = 4096;

/// What folding did with one article.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Seen before with the same content: nothing written.
    Unchanged,
    /// Same source and key, edited content: updated in place.
    Updated {
        /// The article's id.
        article: u64,
    },
    /// First copy of a new story.
    New {
        /// The article's id.
        article: u64,
        /// The new story's id.
        story: u64,
    },
    /// A copy joined an existing story.
    Copy {
        /// The article's id.
        article: u64,
        /// The story it joined.
        story: u64,
        /// Exact or near.
        exact: bool,
        /// Similarity to the matched copy.
        similarity: f32,
    },
}

/// The near-duplicate index plus the store it writes to.
pub struct Folder {
    store: Store,
    index: Mutex<Index>,
    params: DedupParams,
    window_ms: Millis,
    /// Every durable change, live, for the event stream (`/events`).
    events: tokio::sync::broadcast::Sender<ChangeRecord>,
    /// The newest change sent on `events`.
    published: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Folder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Folder").finish_non_exhaustive()
    }
}

/// Fingerprints a normalized article.
pub fn fingerprint_article(a: &Article) -> Fingerprint {
    let script = if a.script.uses_char_ngrams() {
        crate::fingerprint::Script::Chars
    } else {
        crate::fingerprint::Script::Words
    };
    fingerprint(&FingerprintInput {
        title: &a.fp_title,
        text: &a.fp_text,
        script,
    })
}

impl Folder {
    /// Builds the index from the articles of the last `params.window` in the store.
    pub fn open(store: Store, params: DedupParams, now: Millis) -> Result<Self, StoreError> {
        let window_ms = i64::try_from(params.window.as_millis()).unwrap_or(i64::MAX);
        let mut index = Index::new(params.clone());
        load_index(&store, &mut index, now.saturating_sub(window_ms))?;
        Ok(Self {
            published: Mutex::new(store.last_change()?),
            store,
            index: Mutex::new(index),
            params,
            window_ms,
            events: tokio::sync::broadcast::channel(EVENT_CAPACITY).0,
        })
    }

    /// A live feed of committed changes, each sent once a flush made it durable.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ChangeRecord> {
        self.events.subscribe()
    }

    /// Flushes the store, then sends the changes that flush made durable to the live feed:
    /// subscribers never hear of a change a crash could take back. Called every
    /// `store.flush_every` by the daemon.
    pub fn flush_and_publish(&self) -> Result<(), StoreError> {
        self.store.flush()?;
        let mut published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        for c in self.store.changes_after(*published) {
            let c = c?;
            // No subscriber is not an error.
            let _ = self.events.send(c);
            *published = Some(c.seq);
        }
        Ok(())
    }

    /// Rebuilds the index from the store, after [`Store::reopen`] dropped the writes that
    /// were not flushed when the store failed. Returns the index size.
    pub fn reload(&self, now: Millis) -> Result<usize, StoreError> {
        let mut fresh = Index::new(self.params.clone());
        load_index(&self.store, &mut fresh, now.saturating_sub(self.window_ms))?;
        let mut index = self.lock();
        *index = fresh;
        Ok(index.len())
    }

    /// Articles currently in the index.
    pub fn index_len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        // A panic while holding the lock cannot leave the index half-updated in a way that
        // matters more than losing it, so recover the guard instead of poisoning the daemon.
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops index entries older than the window (they stay in the store).
    pub fn evict(&self, now: Millis) -> usize {
        self.lock()
            .evict_before(now.saturating_sub(self.window_ms) / 1000)
    }

    /// Folds one article from `source`, first seen at `now`.
    pub fn fold(&self, source: &str, a: Article, now: Millis) -> Result<Decision, StoreError> {
        let fp = fingerprint_article(&a);
        let mut index = self.lock();

        if let Some(id) = self.store.article_id_by_key(source, &a.key)? {
            let Some(mut rec) = self.store.article(id)? else {
                return Err(StoreError::Corrupt {
                    path: String::new(),
                    message: format!("key {source}/{} points at missing article {id}", a.key),
                });
            };
            if rec.fingerprint.content == fp.content && rec.title == a.title && rec.url == a.url {
                return Ok(Decision::Unchanged);
            }
            let mut story = self.story_or_new(rec.story, &rec)?;
            story.add_headline(&a.title);
            story.updated = now;
            if let Some(copy) = story.copies.iter_mut().find(|c| c.article == id) {
                copy.url.clone_from(&a.url);
            }
            rec.url = a.url;
            rec.title = a.title;
            rec.text = a.text;
            rec.published = a.published.timestamp_millis();
            rec.date_origin = origin(a.date_source);
            rec.language = a.language;
            rec.fingerprint = fp;
            rec.updated = now;
            rec.revisions = rec.revisions.saturating_add(1);
            self.store
                .commit(&rec, &story, Counts::default(), ChangeKind::Updated)?;
            index.insert(id, rec.story, &rec.fingerprint, rec.first_seen / 1000);
            return Ok(Decision::Updated { article: id });
        }

        let id = self.store.next_id()?;
        let found = index
            .find(&fp, now / 1000)
            .map(|m| (m, self.store.story(m.story)))
            .and_then(|(m, s)| match s {
                Ok(Some(story)) => Some(Ok((m, story))),
                Ok(None) => None, // story vanished (retention): start a new one
                Err(e) => Some(Err(e)),
            })
            .transpose()?;
        let mut rec = ArticleRecord {
            id,
            source: source.to_owned(),
            key: a.key,
            url: a.url,
            title: a.title,
            text: a.text,
            published: a.published.timestamp_millis(),
            date_origin: origin(a.date_source),
            first_seen: now,
            updated: now,
            revisions: 0,
            language: a.language,
            story: 0,
            similarity: 1.0,
            fingerprint: fp,
        };
        let decision = match found {
            Some((m, mut story)) => {
                let exact = m.kind == MatchKind::Exact;
                rec.story = story.id;
                rec.similarity = m.similarity;
                story.copies.push(CopyRecord {
                    article: id,
                    source: source.to_owned(),
                    url: rec.url.clone(),
                    first_seen: now,
                    similarity: m.similarity,
                    kind: if exact {
                        CopyKind::Exact
                    } else {
                        CopyKind::Near
                    },
                });
                story.add_headline(&rec.title);
                story.updated = now;
                self.store.commit(
                    &rec,
                    &story,
                    Counts {
                        articles: 1,
                        stories: 0,
                        copies: 1,
                    },
                    ChangeKind::NewCopy,
                )?;
                Decision::Copy {
                    article: id,
                    story: story.id,
                    exact,
                    similarity: m.similarity,
                }
            }
            None => {
                let story_id = self.store.next_id()?;
                rec.story = story_id;
                let story = new_story(story_id, &rec);
                self.store.commit(
                    &rec,
                    &story,
                    Counts {
                        articles: 1,
                        stories: 1,
                        copies: 0,
                    },
                    ChangeKind::NewStory,
                )?;
                Decision::New {
                    article: id,
                    story: story_id,
                }
            }
        };
        index.insert(id, rec.story, &rec.fingerprint, now / 1000);
        Ok(decision)
    }

    fn story_or_new(&self, id: u64, rec: &ArticleRecord) -> Result<StoryRecord, StoreError> {
        Ok(self.store.story(id)?.unwrap_or_else(|| new_story(id, rec)))
    }
}

fn load_index(store: &Store, index: &mut Index, since: Millis) -> Result<(), StoreError> {
    for rec in store.index_records_since(since) {
        let (id, rec) = rec?;
        index.insert(id, rec.story, &rec.fingerprint, rec.at / 1000);
    }
    Ok(())
}

fn new_story(id: u64, rec: &ArticleRecord) -> StoryRecord {
    let mut story = StoryRecord {
        id,
        created: rec.first_seen,
        updated: rec.first_seen,
        canonical: rec.id,
        copies: vec![CopyRecord {
            article: rec.id,
            source: rec.source.clone(),
            url: rec.url.clone(),
            first_seen: rec.first_seen,
            similarity: 1.0,
            kind: CopyKind::Origin,
        }],
        headlines: Vec::new(),
    };
    story.add_headline(&rec.title);
    story
}

fn origin(d: DateSource) -> DateOrigin {
    match d {
        DateSource::Published => DateOrigin::Published,
        DateSource::Updated => DateOrigin::Updated,
        DateSource::FirstSeen => DateOrigin::FirstSeen,
        DateSource::ClampedFuture => DateOrigin::ClampedFuture,
    }
}
