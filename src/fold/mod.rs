//! Fold stage: decides what a normalized article is — unchanged, an update, a copy of an
//! existing story, or a new story — and writes that decision to the store.
//!
//! # Rules
//! 1. **Same source, same entry key** → the same article. Unchanged content (same content hash,
//!    title and URL) is a no-op, unless the feed now dates an item whose stored date was a
//!    stand-in (first seen, or clamped); anything else updates the article in place: it keeps its id
//!    and its story, its fingerprints in the index are replaced, its headline joins the story's
//!    headline variants in place of the one it had (which stays when another copy carries it
//!    too). An entry that comes without text (its feed dropped the description)
//!    keeps the stored text: only its headline, link or date can change. A poll whose entries
//!    are exactly those the source's last poll folded is not folded at all (every entry would
//!    be unchanged; see [`polls`]). A key reused for another story (a "top story" GUID slot, a
//!    daily item at a fixed URL) is updated in place too: the stored text is replaced and the
//!    story takes in the other. Taking such an item for a new article (tried in session 51:
//!    texts sharing under a tenth of their 3-grams, headlines no strong word) made a key name
//!    two articles, and a review found the store growing by an article per poll for a feed
//!    alternating two undated items without links, deleted items coming back past their
//!    tombstones, a merge's rewrite pointing the key back at the old article, and CJK or
//!    two-word headlines splitting real updates. Doing it needs each key's articles recorded
//!    (not one id per key) and the tombstones kept per article.
//! 2. **Identical fingerprint text** from any source (xxh3-128) → an exact copy in that story:
//!    the newest such copy's, else (when that one does not hold, 3a and 3e) the newest older
//!    one's that does.
//!    2a. Unless it is the source's own article at the same URL under another entry key (a
//!    feed that mints new GUIDs on every poll): that is the article again, unchanged. An item
//!    without URL is that article again when both carry the same date from the feed; the
//!    same words dated another day (a daily item), or undated, stay a copy. An *edited*
//!    item under a new key stays a near copy: taking it for the source's article at the
//!    same URL (tried in session 50) lost the texts of different items at one page, a live
//!    blog's posts told apart by their anchors, a daily item at a fixed URL, a headline
//!    correcting one fact.
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
//!    this too). A headline without a summary folds only when it has at least
//!    [`crate::dedup::HEADLINE_ONLY_MIN_WORDS`] strong words: "Crossword", "Letters to the
//!    editor" or "Morning briefing" from two outlets name a section, not a story.
//!    The index keeps neither headlines nor dates, so the candidate's record is read.
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
//!    In scripts without word spaces (Chinese, Japanese, Thai) the lead is the first 150
//!    characters, the 3-grams are of characters, and the summary must be in the body as
//!    written ([`crate::dedup::held_as_written`]: no capitals, so no entity guard, and a name
//!    of two or three characters changed keeps over 90% of the 3-grams), but for an outlet's
//!    attribution before it or a reporter's name after it.
//!    3c. **Short ↔ short on the summary.** A headline + summary item still without a match is
//!    compared with the headline + summary items of the `short_window` by their summaries
//!    alone: an outlet that rewrites the headline or cuts the summary to a teaser changes half
//!    of the headline + summary shingles. Candidates whose anchors occur among the summary's
//!    bigrams, verified on the texts ([`crate::dedup::summaries_agree`]: a shared run of 12
//!    words and half of the smaller summary's 3-grams, alike starts, figures of the summary
//!    and of one headline in the other item, names agreeing loosely). Words only: its runs
//!    and anchors are counted in words.
//!    3d. **Long articles, headline figures** ([`crate::dedup::headline_figures_agree`]): a
//!    near match between long articles whose headlines *each* carry a figure the other lacks
//!    is a new fact over the same lead paragraphs ("… to cut oil revenues 800 mln dlrs" /
//!    "… causes 950 mln dlrs in losses"), not a copy; the candidate's headline is read.
//!    3f. **Long articles, headline words** ([`crate::dedup::headline_words_agree`]): a near
//!    match between long articles whose headlines *each* carry a word that their own text
//!    states and the other text lacks is another fact on one template ("found guilty" /
//!    "acquitted", "yellow" / "red warning", "northbound" / "southbound"); a copy's
//!    rewritten headline takes its words from a text both share. Words one spelling apart
//!    (a correction: "centres" / "centers") are one word. On the Reuters sets it parted 3
//!    false pairs and no true one; the template probe's families lost 28 of 45 false pairs.
//!    3g. **Headlines saying the opposite** ([`crate::dedup::headlines_contradict`]): a near
//!    match of a headline + summary item (rules 3a–3c, and a long article's lead in 3b)
//!    whose headline is the other's word for word but for one word swapped for its opposite
//!    ("survives" / "loses", "higher" / "lower", "approves" / "rejects", "man" / "woman",
//!    "will" / "won't") or one negation put in ("votes to confirm" / "votes not to confirm")
//!    is another fact over one summary. Rule 3f needs the headline word stated by the item's
//!    own text, which a summary that does not repeat the outcome never does. An outlet's
//!    rewrite changes more words than that, or swaps one for a synonym, and folds ("FTSE
//!    rises while Dow falls" / "FTSE gains, Dow slips"; a first version that asked only for
//!    opposite words anywhere split such copies, long ones too). Long near matches are left
//!    to rule 3f. On the eval's fixtures it parts three false pairs (precision 0.79 → 1);
//!    the Reuters edit sets and the feeds replay are as before it but for the generated
//!    headline edits that swapped a negation for a random word (BENCHMARKS.md, "Session 53").
//!    3e. **Two items of one source.** A headline + summary item folds with another item of
//!    its own source (rules 3a, 3b both ways, and 3c; exact copies excepted) only when their
//!    headlines name the same thing ([`crate::dedup::same_headline`]); a long item's exact copy from its own
//!    source under another headline, only when the two were published within `short_window`
//!    (SMH's 49-word hotline notice under two days' live blogs, CNN's one description under
//!    two videos of two days were one story each; the same day's re-titled blog still folds):
//!    an outlet puts one boilerplate summary (a hotline notice, a "virus latest" box, a
//!    campaign paragraph) under its different stories. Across sources a rewritten headline is
//!    an outlet's own, and 3a–3c decide. The eval's Reuters sets have no sources; in the
//!    feeds replay it took 28 same-source copies apart (136 → 108), labelled pairs unchanged
//!    (40/44, 0/48). It also parts an outlet's re-titled reissue of an item ("… was to testify
//!    at a hearing" / "White House blocks Fauci from testifying"), the price of it.
//! 4. Otherwise → a new story, with this article as its canonical (earliest) copy.
//! 5. **Two stories found to be one.** When the new article's verified matches lie in several
//!    stories and the best match and another story's match both score at least
//!    `dedup.merge_min_similarity` (0.8: the article nearly contains, or is nearly contained
//!    in, a copy of each), and the two matched copies' headlines do not *each* carry a figure
//!    the other lacks (rule 3d kept them apart as two reports; an article naming no figure
//!    matches both and must not join them), nor each a word of their own (rule 3f), nor say
//!    the opposite (rule 3g), those stories are merged into the *earliest* of them (lowest id),
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
//! re-derives their fingerprint text with the boilerplate rules the ingest normalizes with
//! ([`Folder::use_rules`]: the built-in ones plus the operator's); so does rule 3c with up to
//! as many short candidates. On the labeled real-feed pairs rule 3c takes copy recall
//! from 34/44 to 40/44 with no false merge (BENCHMARKS.md, issue 5).
//!
//! Decisions are serialized behind one lock (the index lookup, the id assignment and the store
//! transaction), so two copies arriving at once from two sources cannot open two stories.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use self::batch::Batch;
use self::polls::FoldedPolls;
use crate::dedup::{DedupParams, Index};
use crate::fingerprint::{
    fingerprint, fingerprint_and_lead, Fingerprint, FingerprintInput, Script,
};
use crate::normalize::{Article, Rules};
use crate::storage::{ChangeRecord, CopyRecord, Millis, Store, StoreError, StoryRecord};

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
    /// The change-log position the index snapshot on disk covers: 0 when there is none the
    /// next start could use (none loaded or saved since this start, or the last save failed).
    snapshot_seq: AtomicU64,
    /// The boilerplate rules the ingest normalizes with, for re-deriving a stored
    /// candidate's fingerprint text ([`Folder::rules`]); set by [`Folder::use_rules`], else
    /// the built-in table, taken at first use.
    rules: OnceLock<Arc<Rules>>,
    /// Each source's last fully folded entries ([`Folder::poll_unchanged`]).
    polls: FoldedPolls,
    /// The latest first-seen time folded (Unix ms), read and set under the fold lock
    /// ([`Folder::fold_batch`]).
    folded_at: AtomicI64,
}

/// Most articles folded under one lock and written in one transaction.
pub const BATCH_MAX: usize = 512;

impl std::fmt::Debug for Folder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Folder").finish_non_exhaustive()
    }
}

/// What [`fingerprint`] reads of a normalized article.
fn fingerprint_input(a: &Article) -> FingerprintInput<'_> {
    FingerprintInput {
        title: &a.fp_title,
        text: &a.fp_text,
        script: if a.script.uses_char_ngrams() {
            Script::Chars
        } else {
            Script::Words
        },
    }
}

/// Fingerprints a normalized article.
pub fn fingerprint_article(a: &Article) -> Fingerprint {
    let mut fp = fingerprint(&fingerprint_input(a));
    fp.entities = a.entities;
    fp
}

/// [`fingerprint_article`] and [`lead_fingerprint`] together, the lead's tokens taken from the
/// article's own scan (what the fold computes for each article before it takes the lock).
pub fn fingerprint_article_and_lead(a: &Article) -> (Fingerprint, Option<Fingerprint>) {
    let (mut fp, lead) = fingerprint_and_lead(&fingerprint_input(a));
    fp.entities = a.entities;
    let lead = lead
        .map(|mut l| {
            l.entities = a.entities;
            l
        })
        .filter(|l| l.short);
    (fp, lead)
}

/// Most candidates a short item is verified against on their texts (short → long, rule 3b;
/// short → short on the summary, rule 3c).
pub const LONG_CANDIDATES: usize = 4;

/// The lead view of a long article: its headline and the first
/// [`SHORT_MAX_WORDS`](crate::fingerprint::SHORT_MAX_WORDS) words of its text (characters for
/// unspaced scripts), fingerprinted as a short item
/// ([`fingerprint_lead`](crate::fingerprint::fingerprint_lead)), for [`Index::find_leads`].
/// `None` for short items.
pub fn lead_fingerprint(a: &Article, fp: &Fingerprint) -> Option<Fingerprint> {
    if fp.short {
        return None;
    }
    let mut lead_fp = crate::fingerprint::fingerprint_lead(&fingerprint_input(a));
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
    /// index snapshot when it is usable (see `fold/snapshot.rs`), else from the store.
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
        let (index, source, snapshot_seq) = crate::storage::catching_sled_panics(&shown, || {
            let loaded = match prefetch {
                Some(p) => snapshot::load_prefetched(&store, &params, now, p),
                None => snapshot::load(&store, &params, now),
            };
            match loaded {
                Ok((index, seq)) => Ok((index, IndexSource::Snapshot, seq)),
                Err(e) => {
                    match &e {
                        SnapshotError::Missing => {
                            tracing::info!("no index snapshot: rebuilding the index from the store")
                        }
                        // Once after an upgrade or a longer window: nothing is wrong.
                        SnapshotError::Outdated(_) => tracing::info!(
                            reason = %e,
                            "index snapshot not used: rebuilding the index from the store"
                        ),
                        e => tracing::warn!(
                            reason = %e,
                            "index snapshot not used: rebuilding the index from the store"
                        ),
                    }
                    Ok((
                        snapshot::rebuild(&store, &params, now)?,
                        IndexSource::Rebuilt,
                        0,
                    ))
                }
            }
        })
        .map_err(|e| e.at(&shown))?;
        tracing::info!(
            articles = index.len(),
            from = ?source,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "index ready"
        );
        Ok((
            Self::with_index(store, params, index, snapshot_seq)?,
            source,
        ))
    }

    /// Builds the index from the store's records only, ignoring any snapshot.
    pub fn open_rebuilding(
        store: Store,
        params: DedupParams,
        now: Millis,
    ) -> Result<Self, StoreError> {
        let index = snapshot::rebuild(&store, &params, now)?;
        Self::with_index(store, params, index, 0)
    }

    fn with_index(
        store: Store,
        params: DedupParams,
        index: Index,
        snapshot_seq: u64,
    ) -> Result<Self, StoreError> {
        let window_ms = i64::try_from(params.window.as_millis()).unwrap_or(i64::MAX);
        Ok(Self {
            index_size: AtomicUsize::new(index.len()),
            published: Mutex::new(store.last_change()?),
            store,
            index: Mutex::new(index),
            params,
            window_ms,
            events: tokio::sync::broadcast::channel(EVENT_CAPACITY).0,
            snapshot_seq: AtomicU64::new(snapshot_seq),
            rules: OnceLock::new(),
            polls: FoldedPolls::default(),
            folded_at: AtomicI64::new(i64::MIN),
        })
    }

    /// Re-derives stored candidates' fingerprint texts with `rules`, the table the ingest
    /// normalizes with (the built-in rules plus the operator's, `normalize.rules`), instead
    /// of the built-in table. Call it before the first fold; `false` when it came too late
    /// (the table in use stays).
    pub fn use_rules(&self, rules: Arc<Rules>) -> bool {
        self.rules.set(rules).is_ok()
    }

    /// The table stored candidates' fingerprint texts are re-derived with.
    pub(crate) fn rules(&self) -> &Rules {
        self.rules.get_or_init(Rules::shared_default)
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

    /// Rebuilds the index from the store. Returns the index size.
    pub fn reload(&self, now: Millis) -> Result<usize, StoreError> {
        self.reload_after(now, || Ok(()), |e| e)
    }

    /// Runs `reopen` ([`Store::reopen`] after a failure, which drops the writes that were not
    /// flushed) and rebuilds the index from the store, with the fold lock held from before
    /// the one to after the other: once the reopen clears the fault, polls fold again, and
    /// one that folded between the rebuild's read and the swap went into the index thrown
    /// away. A few hundred articles of every recovery from a full disk were missing from
    /// the index, and from its snapshot after a clean stop (helper audit, session 65).
    /// A rebuild's failure is made an `E` by `rebuilding`. Returns the index size.
    pub fn reload_after<E>(
        &self,
        now: Millis,
        reopen: impl FnOnce() -> Result<(), E>,
        rebuilding: impl FnOnce(StoreError) -> E,
    ) -> Result<usize, E> {
        let mut index = self.lock();
        reopen()?;
        *index = match snapshot::rebuild(&self.store, &self.params, now) {
            Ok(rebuilt) => rebuilt,
            Err(e) => {
                // The reopen cleared the store's fault: set again, writes stay refused and the
                // recovery tries again, instead of polls folding against the index of before
                // the failure, which may name articles the reopen dropped.
                self.store.refuse_writes(format!(
                    "rebuilding the index after reopening the store failed: {e}"
                ));
                return Err(rebuilding(e));
            }
        };
        self.index_size.store(index.len(), Ordering::Relaxed);
        // What the digests say was folded may be among the dropped writes.
        self.polls.forget_all();
        Ok(index.len())
    }

    /// Saves the index as its snapshot beside the store (`fold/snapshot.rs`), so that the
    /// next start reads one file instead of rebuilding it from the store. Under the fold lock:
    /// flushes the store (so that the snapshot covers only durable changes) and writes the
    /// index to a temporary file; then, without the lock, fsyncs and renames it into place.
    pub fn save_snapshot(&self, now: Millis) -> Result<SnapshotSaved, SnapshotError> {
        let saved = self.write_snapshot(now);
        match &saved {
            Ok(s) => self.snapshot_seq.store(s.seq, Ordering::Relaxed),
            Err(_) => {
                snapshot::discard(self.store.path());
                self.snapshot_seq.store(0, Ordering::Relaxed);
            }
        }
        saved
    }

    /// Like [`Folder::save_snapshot`], unless the snapshot on disk already covers every
    /// change in the store: then nothing is written and `Ok(None)` says so. A shutdown or a
    /// `wirefold once` with nothing new would otherwise rewrite the whole file (248 MB at
    /// 1,000,000 articles) to the same effect: the next start evicts what left the window
    /// since either way.
    pub fn save_snapshot_if_changed(
        &self,
        now: Millis,
    ) -> Result<Option<SnapshotSaved>, SnapshotError> {
        let unchanged = self.snapshot_seq.load(Ordering::Relaxed) != 0
            && self.changes_since_snapshot() == 0
            && self.store.path().join(snapshot::FILE).is_file();
        if unchanged {
            return Ok(None);
        }
        self.save_snapshot(now).map(Some)
    }

    /// Durable change-log entries after the position the index snapshot on disk covers (all
    /// of them when there is none): what the next start would catch up on after a crash.
    pub fn changes_since_snapshot(&self) -> u64 {
        let last = self.store.last_change().ok().flatten().unwrap_or(0);
        last.saturating_sub(self.snapshot_seq.load(Ordering::Relaxed))
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
            w.write_index(&index)?;
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

    /// Gives back the room a growing index left in its tables once the growth has stopped
    /// ([`Index::compact`]); returns how many tables it rebuilt. For the maintenance tick, on
    /// a blocking thread: it holds the fold lock while it rebuilds (the anchor table of
    /// 1,000,000 articles: ~0.8 s, `examples/index_bench.rs`).
    pub fn compact_index(&self) -> usize {
        let mut index = self.lock();
        index.compact()
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

    /// Makes the folds remembered `by` older (tests).
    #[cfg(test)]
    pub(crate) fn age_polls(&self, by: Millis) {
        self.polls.age(by);
    }

    /// Whether `source`'s poll with entries of `digest` ([`polls::entries_digest`]) holds
    /// exactly what its last poll folded by [`Folder::fold_poll`], recently enough to skip
    /// it: folding it again would find every entry unchanged (see `fold/polls.rs`).
    pub fn poll_unchanged(&self, source: &str, digest: u64, now: Millis) -> bool {
        self.polls.unchanged(source, digest, now)
    }

    /// [`Folder::fold_all`] for a poll whose entries have `digest`; once every entry is
    /// folded and written, the digest is remembered for [`Folder::poll_unchanged`].
    pub fn fold_poll(
        &self,
        source: &str,
        digest: u64,
        articles: Vec<Article>,
        now: Millis,
    ) -> Result<Vec<Decision>, StoreError> {
        let ticket = self.polls.ticket();
        let decisions = self.fold_all(source, articles, now)?;
        self.polls.record(ticket, source, digest, now);
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
                let (fp, lead) = fingerprint_article_and_lead(&a);
                (a, fp, lead)
            })
            .collect();
        let mut index = self.lock();
        // First seen in fold order. A poll fetched a moment before another but folded after
        // it (a big feed still fingerprinting while a small one took the lock) would give
        // the later story, whose id is higher, the earlier copy: the story's canonical copy
        // (its first) was then not its earliest, and after a merge a `near` copy was
        // canonical beside another `origin`. Within `ORDER_SLACK_MS`; a clock set back
        // further starts over from its time.
        let last = self.folded_at.load(Ordering::Relaxed);
        let now = if now < last && last - now < crate::storage::ORDER_SLACK_MS {
            last
        } else {
            now
        };
        self.folded_at.store(now, Ordering::Relaxed);
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
        let written = self.store.commit_fold(
            &batch.writes,
            &stories,
            &batch.copies,
            &batch.removed,
            batch.delta,
        );
        if let Err(e) = written {
            batch.undo(&mut index);
            self.index_size.store(index.len(), Ordering::Relaxed);
            return Err(e);
        }
        self.index_size.store(index.len(), Ordering::Relaxed);
        Ok(decisions)
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

/// The likely origin of a story with `copies` ([`Store::copies`]) and `canonical` article:
/// the earliest copy from a source configured as a wire agency (`agency = true`), else the
/// canonical copy (else the earliest). `None` for a story without copies.
pub fn likely_origin<'a>(
    copies: &'a [CopyRecord],
    canonical: u64,
    is_agency: impl Fn(&str) -> bool,
) -> Option<&'a CopyRecord> {
    let earliest =
        |it: &mut dyn Iterator<Item = &'a CopyRecord>| it.min_by_key(|c| (c.first_seen, c.article));
    earliest(&mut copies.iter().filter(|c| is_agency(&c.source)))
        .or_else(|| copies.iter().find(|c| c.article == canonical))
        .or_else(|| earliest(&mut copies.iter()))
}

mod batch;
mod decide;
mod merge;
pub mod polls;
pub mod snapshot;
mod verify;

pub(crate) use self::merge::bridges;
pub(crate) use self::verify::{SecondLooks, Seen, SeenArticle};

pub use snapshot::SnapshotError;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod snapshot_tests;
