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
//!    3a. **Short items, verified again on the texts** ([`crate::dedup::short_match_holds`]):
//!    two headline + summary items fold only when their dates of publication (when the feeds
//!    give them) lie within `short_window` — an identical item issued the next day is a daily
//!    template, even when an exact copy; and when a summary is *thin* (fewer than
//!    [`crate::dedup::THIN_SUMMARY_WORDS`] words: "Shr 75 cts vs 64 cts") their headlines must
//!    name the same thing ([`crate::dedup::headlines_agree`]: at most one word differing each
//!    way); and the two must not *each* name a subject the other never mentions
//!    ([`crate::dedup::subjects_agree`]: "Corn supply/demand by country" / "Cotton …", a
//!    word in both headline and summary of one item and nowhere in the other; rule 3c asks
//!    this too). The index keeps neither headlines nor dates, so the candidate's record is read.
//!    And a short item joins a story by a *near* match only while the story is younger than
//!    `short_window` (a copy twelve hours late must not chain the next day's issue of a daily
//!    item onto the first; exact copies keep the full window).
//!    On Reuters short items these took precision 0.9600 → 0.9792 (recall 0.9901 → 0.9898),
//!    with the same 40/44 feed pairs (BENCHMARKS.md, issue 5, round 4).
//!    3b. **Short ↔ long.** A long article with no long match is also compared, by its
//!    headline and first 40 words fingerprinted as a short item ([`lead_fingerprint`]), with
//!    headline + summary items (short-item rules and guards). A headline + summary item with
//!    no short match is compared with long articles of the `short_window`: candidates whose
//!    anchors (smallest body 3-grams) occur among the summary's 3-grams, verified on the texts
//!    ([`crate::dedup::short_in_long`]: ≥ 80% of the summary's 3-grams in the body, every
//!    figure and the names agreeing). The two shingle spaces (word uni+bigrams of headline
//!    and summary, 3-grams of the body) never meet in the sketches, hence the text check.
//!    3c. **Short ↔ short on the summary.** A headline + summary item still without a match is
//!    compared with the headline + summary items of the `short_window` by their summaries
//!    alone: an outlet that rewrites the headline or cuts the summary to a teaser changes half
//!    of the headline + summary shingles. Candidates whose anchors occur among the summary's
//!    bigrams, verified on the texts ([`crate::dedup::summaries_agree`]: a shared run of 12
//!    words and half of the smaller summary's 3-grams, alike starts, figures of the summary
//!    and of one headline in the other item, names agreeing loosely).
//!    3d. **Long articles, headline figures** ([`crate::dedup::headline_figures_agree`]): a
//!    near match between long articles whose headlines *each* carry a figure the other lacks
//!    is a new fact over the same lead paragraphs ("… to cut oil revenues 800 mln dlrs" /
//!    "… causes 950 mln dlrs in losses"), not a copy; the candidate's headline is read.
//! 4. Otherwise → a new story, with this article as its canonical (earliest) copy.
//! 5. **Two stories found to be one.** When the new article's verified matches lie in several
//!    stories and the best match and another story's match both score at least
//!    `dedup.merge_min_similarity` (0.8: the article nearly contains, or is nearly contained
//!    in, a copy of each), those stories are merged into the *earliest* of them (lowest id),
//!    and the article joins it. The survivor lists the absorbed ids in `merged_from`, takes
//!    their copies and headlines (its canonical stays the earliest copy); every article of an
//!    absorbed story is re-pointed in the store and the index and gets a `Merged` change-log
//!    entry (so `/stories?after=` and `/events` readers see the survivor change); the absorbed
//!    story records are deleted, in the same transaction as the article. A weaker bridge only
//!    joins the best match's story, as before: a chain through a template item must not glue
//!    whole stories together (on Reuters natural, merging on any verified bridge cost 0.02
//!    precision; at 0.8 the merges add recall and no false pair on any eval set).
//!
//! Chains (A~B, B~C, A≁C) join one story: C joins B's story because each decision compares with
//! individual copies, not with the story's canonical text, so a story follows its copies' drift
//! (an agency's updated versions stay one story). The price is that same-day template items can
//! chain (measured in BENCHMARKS.md); the number guard and the short-item window bound it.
//!
//! The story's canonical copy is its earliest; its *likely origin* ([`likely_origin`]) is the
//! earliest copy from a source configured with `agency = true`, else the canonical.
//!
//! Short → long reads up to [`LONG_CANDIDATES`] candidate articles from the store and
//! re-derives their fingerprint text with the built-in boilerplate rules (operator-added rules
//! are not applied there; the 80% threshold absorbs the difference); so does rule 3c with
//! up to as many short candidates. On the labeled real-feed pairs rule 3c takes copy recall
//! from 34/44 to 40/44 with no false merge (BENCHMARKS.md, issue 5).
//!
//! Decisions are serialized behind one lock (the index lookup, the id assignment and the store
//! transaction), so two copies arriving at once from two sources cannot open two stories.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::dedup::{DedupParams, Index, Match, MatchKind};
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
    /// Seen before with the same content, or deleted by retention (tombstoned): nothing
    /// written.
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
    /// `index.len()` after the last change, for readers.
    index_size: AtomicUsize,
}

/// Most articles folded under one lock and written in one transaction.
pub const BATCH_MAX: usize = 512;

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
    let mut fp = fingerprint(&FingerprintInput {
        title: &a.fp_title,
        text: &a.fp_text,
        script,
    });
    fp.entities = a.entities;
    fp
}

/// Most candidates a short item is verified against on their texts (short → long, rule 3b;
/// short → short on the summary, rule 3c).
pub const LONG_CANDIDATES: usize = 4;

/// The lead view of a long article: its headline and the first
/// [`SHORT_MAX_WORDS`](crate::fingerprint::SHORT_MAX_WORDS) words of its text (characters for
/// unspaced scripts), fingerprinted as a short item, for [`Index::find_lead`]. `None` for
/// short items.
pub fn lead_fingerprint(a: &Article, fp: &Fingerprint) -> Option<Fingerprint> {
    if fp.short {
        return None;
    }
    let chars = a.script.uses_char_ngrams();
    let lead: String = if chars {
        a.fp_text
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(crate::fingerprint::SHORT_MAX_CHARS)
            .collect()
    } else {
        a.fp_text
            .split_whitespace()
            .take(crate::fingerprint::SHORT_MAX_WORDS)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lead_fp = fingerprint(&FingerprintInput {
        title: &a.fp_title,
        text: &lead,
        script: if chars {
            crate::fingerprint::Script::Chars
        } else {
            crate::fingerprint::Script::Words
        },
    });
    lead_fp.entities = a.entities;
    Some(lead_fp).filter(|f| f.short)
}

/// How the index was built at open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexSource {
    /// From the snapshot, caught up with the changes after it.
    Snapshot,
    /// From the store's index records (no usable snapshot).
    Rebuilt,
}

/// What [`Folder::save_snapshot`] wrote.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotSaved {
    /// Articles in it.
    pub articles: u64,
    /// The change-log position it covers.
    pub seq: u64,
}

impl Folder {
    /// Builds the index of the articles of the last `params.window` in the store: from the
    /// index snapshot when it is usable (see `fold_snapshot.rs`), else from the store.
    pub fn open(store: Store, params: DedupParams, now: Millis) -> Result<Self, StoreError> {
        Self::open_from(store, params, now).map(|(f, _)| f)
    }

    /// Like [`Folder::open`]; also says where the index came from.
    pub fn open_from(
        store: Store,
        params: DedupParams,
        now: Millis,
    ) -> Result<(Self, IndexSource), StoreError> {
        Self::open_prefetched(store, params, now, None)
    }

    /// Like [`Folder::open_from`], taking the snapshot's index from `prefetch` (started with
    /// the same `params` and `now` before the store was opened) when it can stand as it is.
    pub fn open_prefetched(
        store: Store,
        params: DedupParams,
        now: Millis,
        prefetch: Option<snapshot::Prefetch>,
    ) -> Result<(Self, IndexSource), StoreError> {
        let started = std::time::Instant::now();
        // Runs at start, before the read-through: sled 0.34 panics on some damage instead of
        // returning an error, which is reported as damage here too.
        let shown = store.path().display().to_string();
        let (index, source) = crate::storage::quietly_catching_panics(|| {
            let loaded = match prefetch {
                Some(p) => snapshot::load_prefetched(&store, &params, now, p),
                None => snapshot::load(&store, &params, now),
            };
            match loaded {
                Ok(index) => Ok((index, IndexSource::Snapshot)),
                Err(e) => {
                    match &e {
                        SnapshotError::Missing => {
                            tracing::info!("no index snapshot: rebuilding the index from the store")
                        }
                        e => tracing::warn!(
                            reason = %e,
                            "index snapshot not used: rebuilding the index from the store"
                        ),
                    }
                    Ok((
                        snapshot::rebuild(&store, &params, now)?,
                        IndexSource::Rebuilt,
                    ))
                }
            }
        })
        .unwrap_or_else(|panic| {
            Err(StoreError::Corrupt {
                path: String::new(),
                message: format!("sled failed reading it: {panic}"),
            })
        })
        .map_err(|e| e.at(&shown))?;
        tracing::info!(
            articles = index.len(),
            from = ?source,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "index ready"
        );
        Ok((Self::with_index(store, params, index)?, source))
    }

    /// Builds the index from the store's records only, ignoring any snapshot.
    pub fn open_rebuilding(
        store: Store,
        params: DedupParams,
        now: Millis,
    ) -> Result<Self, StoreError> {
        let index = snapshot::rebuild(&store, &params, now)?;
        Self::with_index(store, params, index)
    }

    fn with_index(store: Store, params: DedupParams, index: Index) -> Result<Self, StoreError> {
        let window_ms = i64::try_from(params.window.as_millis()).unwrap_or(i64::MAX);
        Ok(Self {
            index_size: AtomicUsize::new(index.len()),
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
        let fresh = snapshot::rebuild(&self.store, &self.params, now)?;
        let mut index = self.lock();
        *index = fresh;
        self.index_size.store(index.len(), Ordering::Relaxed);
        Ok(index.len())
    }

    /// Saves the index as its snapshot beside the store (`fold_snapshot.rs`), so that the
    /// next start reads one file instead of rebuilding it from the store. Under the fold lock:
    /// flushes the store (so that the snapshot covers only durable changes) and writes the
    /// records to a temporary file; then, without the lock, fsyncs and renames it into place.
    pub fn save_snapshot(&self, now: Millis) -> Result<SnapshotSaved, SnapshotError> {
        let saved = self.write_snapshot(now);
        if saved.is_err() {
            snapshot::discard(self.store.path());
        }
        saved
    }

    fn write_snapshot(&self, now: Millis) -> Result<SnapshotSaved, SnapshotError> {
        let (writer, header) = {
            let index = self.lock();
            self.store.flush()?;
            let seq = self.store.last_change()?.ok_or(SnapshotError::Empty)?;
            let change = self.store.change(seq)?.ok_or(SnapshotError::Empty)?;
            let header = snapshot::Header {
                schema: crate::storage::SCHEMA_VERSION,
                window_secs: self.params.window.as_secs(),
                seq,
                article: change.article,
                story: change.story,
                at: change.at,
                epoch: self.store.index_epoch()?,
                written_at: now,
                count: 0,
                checksum: 0,
            };
            let mut w = snapshot::Writer::create(self.store.path())?;
            for r in index.records() {
                w.push(&r)?;
            }
            (w, header)
        };
        let header = writer.finish(header)?;
        Ok(SnapshotSaved {
            articles: header.count,
            seq: header.seq,
        })
    }

    /// Approximate bytes the index holds (waits for the fold lock).
    pub fn index_bytes(&self) -> usize {
        self.lock().approx_bytes()
    }

    /// Articles currently in the index (as of the last change; readers never wait for the
    /// fold lock).
    pub fn index_len(&self) -> usize {
        self.index_size.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        // A panic while holding the lock cannot leave the index half-updated in a way that
        // matters more than losing it, so recover the guard instead of poisoning the daemon.
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops index entries older than the window (they stay in the store).
    pub fn evict(&self, now: Millis) -> usize {
        let mut index = self.lock();
        let evicted = index.evict_before(now.saturating_sub(self.window_ms) / 1000);
        self.index_size.store(index.len(), Ordering::Relaxed);
        evicted
    }

    /// Folds one article from `source`, first seen at `now`.
    pub fn fold(&self, source: &str, a: Article, now: Millis) -> Result<Decision, StoreError> {
        let mut d = self.fold_all(source, vec![a], now)?;
        Ok(d.pop().unwrap_or(Decision::Unchanged))
    }

    /// Folds the articles of one poll of `source`, in order, writing the decisions in store
    /// transactions of up to [`BATCH_MAX`] articles: each all or nothing. Later articles can
    /// match earlier ones of the same poll. On a failed write the index is put back as it was
    /// for that batch. The lock is released between batches, so a feed of 100,000 items does
    /// not hold up other sources or readers for the whole of it.
    pub fn fold_all(
        &self,
        source: &str,
        articles: Vec<Article>,
        now: Millis,
    ) -> Result<Vec<Decision>, StoreError> {
        let mut decisions = Vec::with_capacity(articles.len());
        let mut articles = articles.into_iter().peekable();
        while articles.peek().is_some() {
            let chunk: Vec<Article> = articles.by_ref().take(BATCH_MAX).collect();
            decisions.extend(self.fold_batch(source, chunk, now)?);
        }
        Ok(decisions)
    }

    fn fold_batch(
        &self,
        source: &str,
        articles: Vec<Article>,
        now: Millis,
    ) -> Result<Vec<Decision>, StoreError> {
        // Fingerprinting is the costly part and needs no lock. So is the lead view (rule 3b),
        // needed only when the article matches nothing: computed here for every long article,
        // it took a fifth of the work done under the lock (callgrind, BENCHMARKS.md issue 8).
        let fingerprinted: Vec<(Article, Fingerprint, Option<Fingerprint>)> = articles
            .into_iter()
            .map(|a| {
                let fp = fingerprint_article(&a);
                let lead = lead_fingerprint(&a, &fp);
                (a, fp, lead)
            })
            .collect();
        let mut index = self.lock();
        let mut batch = Batch::default();
        let mut decisions = Vec::with_capacity(fingerprinted.len());
        for (a, fp, lead) in fingerprinted {
            match self.decide(&mut index, &mut batch, source, a, (fp, lead), now) {
                Ok(d) => decisions.push(d),
                Err(e) => {
                    batch.undo(&mut index);
                    return Err(e);
                }
            }
        }
        if batch.writes.is_empty() {
            return Ok(decisions);
        }
        let stories: Vec<&StoryRecord> = batch.stories.values().collect();
        // Changes reach the live feed from `flush_and_publish`, once durable.
        let written = self
            .store
            .commit_fold(&batch.writes, &stories, &batch.removed, batch.delta);
        if let Err(e) = written {
            batch.undo(&mut index);
            self.index_size.store(index.len(), Ordering::Relaxed);
            return Err(e);
        }
        self.index_size.store(index.len(), Ordering::Relaxed);
        Ok(decisions)
    }

    /// The story as this batch left it, else as stored.
    fn story(&self, batch: &Batch, id: u64) -> Result<Option<StoryRecord>, StoreError> {
        let mut id = id;
        while let Some(&to) = batch.merged.get(&id) {
            id = to;
        }
        match batch.stories.get(&id) {
            Some(s) => Ok(Some(s.clone())),
            None => self.store.story(id),
        }
    }

    fn decide(
        &self,
        index: &mut Index,
        batch: &mut Batch,
        source: &str,
        a: Article,
        (fp, lead): (Fingerprint, Option<Fingerprint>),
        now: Millis,
    ) -> Result<Decision, StoreError> {
        if let Some(id) = self.store.article_id_by_key(source, &a.key)? {
            let Some(mut rec) = self.store.article(id)? else {
                return Err(StoreError::Corrupt {
                    path: String::new(),
                    message: format!("key {source}/{} points at missing article {id}", a.key),
                });
            };
            // moved by a merge earlier in this batch
            if let Some(story) = self.story(batch, rec.story)? {
                rec.story = story.id;
            }
            if rec.fingerprint.content == fp.content && rec.title == a.title && rec.url == a.url {
                return Ok(Decision::Unchanged);
            }
            let mut story = match self.story(batch, rec.story)? {
                Some(s) => s,
                None => new_story(rec.story, &rec),
            };
            story.add_headline(&a.title);
            story.updated = now;
            if let Some(copy) = story.copies.iter_mut().find(|c| c.article == id) {
                copy.url.clone_from(&a.url);
            }
            batch.undo.push(Undo::Restore {
                id,
                story: rec.story,
                at: rec.first_seen / 1000,
                fingerprint: rec.fingerprint.clone(),
            });
            rec.url = a.url;
            rec.title = a.title;
            rec.text = a.text;
            rec.published = a.published.timestamp_millis();
            rec.date_origin = origin(a.date_source);
            rec.language = a.language;
            rec.fingerprint = fp;
            rec.updated = now;
            rec.revisions = rec.revisions.saturating_add(1);
            index.insert(id, rec.story, &rec.fingerprint, rec.first_seen / 1000);
            batch.stories.insert(story.id, story);
            batch.writes.push((rec, ChangeKind::Updated));
            return Ok(Decision::Updated { article: id });
        }

        // Deleted by retention and still in the feed: not a new article.
        if self.store.tombstoned(source, &a.key, now)? {
            return Ok(Decision::Unchanged);
        }

        let id = self.store.next_id()?;
        // Stories that vanished (retention) are skipped; none left starts a new one.
        let mut found: Vec<(Match, StoryRecord)> = Vec::new();
        for m in index.find_all(&fp, now / 1000) {
            if fp.short && !self.short_match_holds(batch, &a, &m)? {
                continue;
            }
            if !fp.short && !self.long_match_holds(batch, &a, &m)? {
                continue;
            }
            if let Some(s) = self.story(batch, m.story)? {
                if fp.short && !self.short_story_young(&m, &s, now) {
                    continue;
                }
                if !found.iter().any(|(_, f)| f.id == s.id) {
                    found.push((m, s));
                }
            }
        }
        let found = match found.len() {
            // Rule 3b: a long article may be the full text of a headline + summary item, and
            // the other way round.
            // Rule 3c: two headline + summary items whose summaries are one text.
            0 => {
                let m = match lead.and_then(|l| index.find_lead(&l, now / 1000)) {
                    Some(m) => Some(m),
                    None => match self.short_in_long(index, batch, &a, &fp, now)? {
                        Some(m) => Some(m),
                        None => self.short_by_summary(index, batch, &a, &fp, now)?,
                    },
                };
                match m {
                    Some(m) => self
                        .story(batch, m.story)?
                        .filter(|s| !fp.short || self.short_story_young(&m, s, now))
                        .map(|s| (m, s)),
                    None => None,
                }
            }
            1 => found.pop(),
            _ => Some(self.merge_bridged(index, batch, found, now)?),
        };
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
        let (decision, story, kind) = match found {
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
                batch.delta.articles += 1;
                batch.delta.copies += 1;
                let d = Decision::Copy {
                    article: id,
                    story: story.id,
                    exact,
                    similarity: m.similarity,
                };
                (d, story, ChangeKind::NewCopy)
            }
            None => {
                let story_id = self.store.next_id()?;
                rec.story = story_id;
                batch.delta.articles += 1;
                batch.delta.stories += 1;
                let d = Decision::New {
                    article: id,
                    story: story_id,
                };
                (d, new_story(story_id, &rec), ChangeKind::NewStory)
            }
        };
        index.insert(id, rec.story, &rec.fingerprint, now / 1000);
        batch.undo.push(Undo::Remove(id));
        batch.stories.insert(story.id, story);
        batch.writes.push((rec, kind));
        Ok(decision)
    }

    /// An indexed article's record: from this batch's writes (the newest), else the store.
    fn candidate(&self, batch: &Batch, article: u64) -> Result<Option<ArticleRecord>, StoreError> {
        match batch.writes.iter().rev().find(|(r, _)| r.id == article) {
            Some((r, _)) => Ok(Some(r.clone())),
            None => self.store.article(article),
        }
    }

    /// Rule 3, second verification of a match between headline + summary items on their
    /// texts ([`crate::dedup::short_match_holds`]: an exact copy published a day apart is a
    /// recurring template; a thin summary needs agreeing headlines). The candidate's texts come
    /// from this batch or the store; a candidate gone from both (retention) is kept.
    fn short_match_holds(&self, batch: &Batch, a: &Article, m: &Match) -> Result<bool, StoreError> {
        let Some(rec) = self.candidate(batch, m.article)? else {
            return Ok(true);
        };
        let text;
        let title;
        let (title, text) = if m.kind == MatchKind::Near {
            let rules = crate::normalize::Rules::shared_default();
            text = crate::normalize::stored_fp_text(&rec.title, &rec.text, &rules);
            title = stored_fp_title(&rec);
            (title.as_str(), text.as_str())
        } else {
            ("", "")
        };
        let this = crate::dedup::ShortItem {
            title: &a.fp_title,
            text: &a.fp_text,
            published: published(a),
        };
        let other = crate::dedup::ShortItem {
            title,
            text,
            published: dated(&rec),
        };
        Ok(crate::dedup::short_match_holds(
            &self.params,
            m.kind,
            &this,
            &other,
        ))
    }

    /// Rule 3d, the headline guard of a near match between long articles
    /// ([`crate::dedup::headline_figures_agree`]: headlines that each carry a figure the other
    /// lacks report different facts). The candidate's headline comes from this batch or the
    /// store; a candidate gone from both (retention) is kept. Exact copies are not checked.
    fn long_match_holds(&self, batch: &Batch, a: &Article, m: &Match) -> Result<bool, StoreError> {
        if m.kind == MatchKind::Exact {
            return Ok(true);
        }
        let Some(rec) = self.candidate(batch, m.article)? else {
            return Ok(true);
        };
        let title = stored_fp_title(&rec);
        Ok(crate::dedup::headline_figures_agree(&a.fp_title, &title))
    }

    /// Rule 3a: a headline + summary item joins a story by a near match only while the story
    /// is younger than `short_window` (first seen); exact copies keep the full window. A near
    /// copy of a copy twelve hours late would otherwise chain the next day's issue of a daily
    /// template onto the first ("hog and cattle slaughter guesstimates").
    fn short_story_young(&self, m: &Match, story: &StoryRecord, now: Millis) -> bool {
        let span = i64::try_from(self.params.short_window.min(self.params.window).as_millis())
            .unwrap_or(i64::MAX);
        m.kind == MatchKind::Exact || now.saturating_sub(story.created) <= span
    }

    /// Rule 3b, short → long: the long article (within `short_window`) whose body contains
    /// this headline + summary item's text, verified on the texts ([`crate::dedup::short_in_long`]):
    /// candidates come from the index, their texts from this batch or the store (fingerprint
    /// text recomputed from the stored display text with the built-in rules).
    fn short_in_long(
        &self,
        index: &Index,
        batch: &Batch,
        a: &Article,
        fp: &Fingerprint,
        now: Millis,
    ) -> Result<Option<Match>, StoreError> {
        if !fp.short {
            return Ok(None);
        }
        let tris = crate::fingerprint::lead::trigrams(&a.fp_text);
        if tris.len() < 8 {
            return Ok(None);
        }
        let rules = crate::normalize::Rules::shared_default();
        let candidates = index.long_candidates(&tris, now / 1000, LONG_CANDIDATES);
        crate::dedup::best_verified(candidates, |article| {
            let Some(rec) = self.candidate(batch, article)? else {
                return Ok(None);
            };
            let text = crate::normalize::stored_fp_text(&rec.title, &rec.text, &rules);
            let long_tris = crate::fingerprint::lead::trigrams(&text);
            Ok(crate::dedup::short_in_long(
                fp,
                &tris,
                &rec.fingerprint,
                &long_tris,
            ))
        })
    }

    /// Rule 3c, short → short on the summary: the headline + summary item (within
    /// `short_window`) whose summary is this one's, headlines left out, verified on the texts
    /// ([`crate::dedup::summaries_agree`]); candidates from the index by their anchors, texts
    /// from this batch or the store, as in [`Self::short_in_long`].
    fn short_by_summary(
        &self,
        index: &Index,
        batch: &Batch,
        a: &Article,
        fp: &Fingerprint,
        now: Millis,
    ) -> Result<Option<Match>, StoreError> {
        if !fp.short {
            return Ok(None);
        }
        let summary = crate::fingerprint::lead::Summary::of_item(&a.fp_title, &a.fp_text);
        if summary.trigrams.len() < 8 {
            return Ok(None);
        }
        let bigrams = crate::fingerprint::lead::bigrams(&a.fp_text);
        let rules = crate::normalize::Rules::shared_default();
        let published = published(a);
        let candidates = index.short_candidates(&bigrams, now / 1000, LONG_CANDIDATES);
        crate::dedup::best_verified(candidates, |article| {
            let Some(rec) = self.candidate(batch, article)? else {
                return Ok(None);
            };
            let text = crate::normalize::stored_fp_text(&rec.title, &rec.text, &rules);
            let title = stored_fp_title(&rec);
            let other = crate::fingerprint::lead::Summary::of_item(&title, &text);
            if !crate::dedup::published_close(&self.params, published, dated(&rec))
                || !crate::dedup::subjects_agree(&a.fp_title, &a.fp_text, &title, &text)
            {
                return Ok(None);
            }
            Ok(crate::dedup::summaries_agree(
                fp,
                &summary,
                &rec.fingerprint,
                &other,
            ))
        })
    }

    /// Rule 5: `found` (best match first) spans several stories. When the best match and
    /// another story's match both score at least `merge_min_similarity`, those stories are
    /// one: every bridged story is merged into the earliest of them (the lowest id: ids grow
    /// with creation), which records them in `merged_from`; their copies move over (an
    /// absorbed story's origin becomes a near copy and is counted as a copy), their
    /// articles are re-pointed (store and index, each with a `Merged` change-log entry) and
    /// their records deleted. Returns the story the new article joins, with its match.
    fn merge_bridged(
        &self,
        index: &mut Index,
        batch: &mut Batch,
        mut found: Vec<(Match, StoryRecord)>,
        now: Millis,
    ) -> Result<(Match, StoryRecord), StoreError> {
        let min = self.params.merge_min_similarity;
        let (best, best_story) = found.remove(0);
        let mut group = vec![best_story];
        if best.similarity >= min {
            group.extend(
                found
                    .into_iter()
                    .filter(|(m, _)| m.similarity >= min)
                    .map(|(_, s)| s),
            );
        }
        if group.len() == 1 {
            return Ok((best, group.remove(0)));
        }
        group.sort_by_key(|s| s.id);
        let mut survivor = group.remove(0);
        for absorbed in group {
            for c in &absorbed.copies {
                self.repoint(index, batch, c.article, survivor.id)?;
            }
            if self.store.story(absorbed.id)?.is_some() {
                batch.removed.push(absorbed.id);
            } else {
                // created earlier in this batch: never stored, never counted
                batch.delta.stories = batch.delta.stories.saturating_sub(1);
            }
            batch.stories.remove(&absorbed.id);
            batch.merged.insert(absorbed.id, survivor.id);
            survivor.created = survivor.created.min(absorbed.created);
            survivor.merged_from.push(absorbed.id);
            survivor.merged_from.extend(absorbed.merged_from);
            for h in &absorbed.headlines {
                survivor.add_headline(h);
            }
            // its first copy is a copy now, not an origin: counted as one
            survivor
                .copies
                .extend(absorbed.copies.into_iter().map(|mut c| {
                    if c.kind == CopyKind::Origin {
                        c.kind = CopyKind::Near;
                        batch.delta.copies += 1;
                    }
                    c
                }));
        }
        survivor.copies.sort_by_key(|c| (c.first_seen, c.article));
        if let Some(first) = survivor.copies.first() {
            survivor.canonical = first.article;
        }
        survivor.updated = now;
        batch.stories.insert(survivor.id, survivor.clone());
        Ok((best, survivor))
    }

    /// Moves one article to `story` (a merge): in this batch's writes, or read from the store
    /// and written again with a `Merged` change; and in the index.
    fn repoint(
        &self,
        index: &mut Index,
        batch: &mut Batch,
        article: u64,
        story: u64,
    ) -> Result<(), StoreError> {
        let mut in_batch = false;
        for (rec, kind) in batch.writes.iter_mut().filter(|(r, _)| r.id == article) {
            rec.story = story;
            // its story, created in this batch, is never written
            if *kind == ChangeKind::NewStory {
                *kind = ChangeKind::NewCopy;
            }
            in_batch = true;
        }
        if !in_batch {
            let Some(mut rec) = self.store.article(article)? else {
                return Ok(()); // deleted by retention since
            };
            rec.story = story;
            batch.writes.push((rec, ChangeKind::Merged));
        }
        if let Some(before) = index.story_of(article) {
            batch.undo.push(Undo::SetStory {
                id: article,
                story: before,
            });
            index.set_story(article, story);
        }
        Ok(())
    }

    /// Retention: deletes up to `max` articles first seen before `cutoff` from the store
    /// (tombstoned at `now`) and from the index, under the fold lock so that no fold decision
    /// is half-made on an article being deleted.
    pub fn prune(
        &self,
        cutoff: Millis,
        now: Millis,
        max: usize,
    ) -> Result<crate::storage::Pruned, StoreError> {
        let mut index = self.lock();
        let pruned = self.store.prune_before(cutoff, now, max)?;
        for &id in &pruned.articles {
            index.remove(id);
        }
        self.index_size.store(index.len(), Ordering::Relaxed);
        Ok(pruned)
    }
}

/// The fingerprint title of a stored article (its display title with the site name cut), as
/// the second looks on the texts compare it with a new article's `fp_title`.
fn stored_fp_title(rec: &ArticleRecord) -> String {
    crate::normalize::text::fingerprint_text(crate::normalize::title::strip_site_name(&rec.title))
}

/// The likely origin of a story: the earliest copy from a source configured as a wire agency
/// (`agency = true`), else the earliest copy (the story's canonical). `None` for a story
/// without copies.
pub fn likely_origin<'a>(
    story: &'a StoryRecord,
    is_agency: impl Fn(&str) -> bool,
) -> Option<&'a CopyRecord> {
    let earliest =
        |it: &mut dyn Iterator<Item = &'a CopyRecord>| it.min_by_key(|c| (c.first_seen, c.article));
    earliest(&mut story.copies.iter().filter(|c| is_agency(&c.source)))
        .or_else(|| earliest(&mut story.copies.iter()))
}

/// The writes of one batch, and how to take its index changes back if the write fails.
#[derive(Default)]
struct Batch {
    /// Articles in decision order, with the change each records.
    writes: Vec<(ArticleRecord, ChangeKind)>,
    /// Stories as the batch left them.
    stories: std::collections::HashMap<u64, StoryRecord>,
    /// Counters moved.
    delta: Counts,
    /// Index changes, in order.
    undo: Vec<Undo>,
    /// Stories merged into another in this batch: absorbed id -> surviving id.
    merged: std::collections::HashMap<u64, u64>,
    /// Stored story records to delete (merged into another).
    removed: Vec<u64>,
}

enum Undo {
    /// A new article was indexed.
    Remove(u64),
    /// An indexed article moved to another story (a merge); its story before.
    SetStory { id: u64, story: u64 },
    /// An updated article's previous index entry.
    Restore {
        id: u64,
        story: u64,
        at: i64,
        fingerprint: Fingerprint,
    },
}

impl Batch {
    fn undo(&mut self, index: &mut Index) {
        for u in self.undo.drain(..).rev() {
            match u {
                Undo::Remove(id) => index.remove(id),
                Undo::SetStory { id, story } => index.set_story(id, story),
                Undo::Restore {
                    id,
                    story,
                    at,
                    fingerprint,
                } => index.insert(id, story, &fingerprint, at),
            }
        }
    }
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
        merged_from: Vec::new(),
    };
    story.add_headline(&rec.title);
    story
}

/// The article's date of publication (Unix seconds) when its feed gave one.
fn published(a: &Article) -> Option<i64> {
    matches!(a.date_source, DateSource::Published | DateSource::Updated)
        .then(|| a.published.timestamp())
}

/// The stored article's date of publication (Unix seconds) when its feed gave one.
fn dated(rec: &ArticleRecord) -> Option<i64> {
    matches!(rec.date_origin, DateOrigin::Published | DateOrigin::Updated)
        .then(|| rec.published.div_euclid(1000))
}

fn origin(d: DateSource) -> DateOrigin {
    match d {
        DateSource::Published => DateOrigin::Published,
        DateSource::Updated => DateOrigin::Updated,
        DateSource::FirstSeen => DateOrigin::FirstSeen,
        DateSource::ClampedFuture => DateOrigin::ClampedFuture,
    }
}

#[path = "fold_snapshot.rs"]
pub mod snapshot;

pub use snapshot::SnapshotError;

#[cfg(test)]
#[path = "fold_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "fold_snapshot_tests.rs"]
mod snapshot_tests;
