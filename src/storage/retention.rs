//! Retention at the store level: deleting old articles in small batches, in time order, and
//! the tombstones that keep a deleted item from being ingested again.
//!
//! - [`Store::prune_before`] scans `articleid_index` in id order, which is the order of first
//!   sighting (ids grow with time; the records carry the first sighting) give or take
//!   [`ORDER_SLACK_MS`], up to the first record seen that long after a cutoff (and on past
//!   up to [`PASS_OVER`] such records, stored while the wall clock had stepped forward, looking
//!   for due ones stored after it came back), and deletes at
//!   most `max` articles, each in its own transaction: the article, its index record, its
//!   key, its copy in its story (the story goes when its last copy goes), the counters, a
//!   tombstone for its source and key, and a [`ChangeKind::Deleted`] change-log entry (the
//!   change feed and the event stream tell consumers what went).
//! - [`Store::tombstoned`] answers "was this item deleted by retention?" while folding; each
//!   sighting refreshes the tombstone (at most once per [`TOMBSTONE_TOUCH_MS`]), so that a
//!   tombstone lives as long as its item stays in the feed.
//! - [`Store::prune_changes_before`] drops the change log's entries older than the cutoff.
//! - [`Store::expire_tombstones`] range-scans `tombstoneseen_sourcekey` and forgets tombstones
//!   not seen since a cutoff.
//!
//! Callers serialize pruning with folding (the fold lock), so an article is never updated and
//! deleted at the same time.

use std::sync::atomic::Ordering;

use sled::transaction::ConflictableTransactionError as Abortable;
use sled::Transactional;

use super::{
    copy_key, decode, encode, id_from, source_key, tombstone_seen_key, ArticleRecord, ChangeKind,
    ChangeRecord, CopyKind, CopyRecord, Counts, IndexRecord, Millis, Result, Store, StoryRecord,
    KEY_COUNTS, KEY_INDEX_EPOCH, KEY_PRUNED_THROUGH, MAX_HEADLINES,
};

/// How many of a story's copies in the copy tree a deletion reads for the headlines they
/// carry ([`Store::tree_copy_headlines`]).
const TREE_COPIES_READ: usize = 64;

/// A tombstone's time is refreshed when its item is seen again and the stored time is older
/// than this (one hour): cheap on busy feeds, precise enough for expiry in days.
pub const TOMBSTONE_TOUCH_MS: Millis = 60 * 60 * 1000;

/// How far first sightings may run out of id order and still be found by retention: a poll
/// takes its time before its articles get ids (parsing, waiting for the fold lock), and the
/// clock can be stepped back. The scan reads this far past the cutoff (ten minutes of
/// articles, under the fold lock); an article further out of order is deleted late, never
/// early.
pub const ORDER_SLACK_MS: Millis = 10 * 60 * 1000;

/// How many records past the stop line [`Store::prune_before`] reads on, looking for one that
/// is due (a run of articles stored while the wall clock had stepped forward lies before the
/// articles stored after it came back): a longer run holds those back until its own time.
const PASS_OVER: usize = 1024;

/// What one [`Store::prune_before`] call deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Ids of the deleted articles (to drop them from the in-memory index).
    pub articles: Vec<u64>,
    /// Stories deleted with their last copy.
    pub stories: u64,
}

fn millis_from(bytes: &[u8]) -> Millis {
    id_from(bytes).map_or(0, |v| Millis::try_from(v).unwrap_or(Millis::MAX))
}

impl Store {
    /// Deletes up to `max` articles first seen before `cutoff`, in id order (oldest first,
    /// within [`ORDER_SLACK_MS`]), leaving a tombstone stamped `now` for each. Fewer than
    /// `max` deleted means none is left.
    pub fn prune_before(&self, cutoff: Millis, now: Millis, max: usize) -> Result<Pruned> {
        // Nothing is deleted while the store refuses writes (disk full).
        self.check_writable()?;
        if max == 0 {
            return Ok(Pruned::default());
        }
        let t = self.t()?;
        let mut due = Vec::with_capacity(max.min(1024));
        let mut past_line = 0;
        for kv in t.index.iter() {
            let (k, v) = kv?;
            let Some(id) = id_from(&k) else {
                // not an article id: nothing else refers to it
                self.wrote(t.index.remove(&k))?;
                continue;
            };
            let rec: IndexRecord = decode("articleid_index", &k, &v)?;
            // Ids grow with first sighting, give or take the slack: past that line, the rest
            // is newer. But records stored while the wall clock had stepped forward lie
            // before those stored after it came back, and stopping at them kept every later
            // article for as long as the step was: up to `PASS_OVER` records past the line
            // are passed over, looking for one that is due, each time one is found.
            if rec.at >= cutoff.saturating_add(ORDER_SLACK_MS) {
                past_line += 1;
                if past_line > PASS_OVER {
                    break;
                }
                continue;
            }
            past_line = 0;
            if rec.at < cutoff {
                due.push((id, rec.story));
                if due.len() == max {
                    break;
                }
            }
        }
        let mut pruned = Pruned::default();
        for (id, story) in due {
            if self.delete_article(id, story, now)? {
                pruned.stories += 1;
            }
            pruned.articles.push(id);
        }
        Ok(pruned)
    }

    /// Deletes one article atomically (`of_story` is its story as its index record says); true
    /// when its story went with it.
    fn delete_article(&self, id: u64, of_story: u64, now: Millis) -> Result<bool> {
        let t = self.t()?;
        t.may_have_tombstones.store(true, Ordering::SeqCst);
        let article_key = id.to_be_bytes();
        // The story's first copy in the copy tree besides this one: a candidate for canonical
        // when this one was, and with none there and none left in the story record the story
        // goes with this article. Read before the transaction (sled's cannot scan); callers
        // serialize pruning with folding, so it cannot change in between.
        let mut tree_next: Option<CopyRecord> = None;
        for kv in t.copies.scan_prefix(of_story.to_be_bytes()) {
            let (k, v) = kv?;
            let c: CopyRecord = decode("storyarticle_copy", &k, &v)?;
            if c.article != id {
                tree_next = Some(c);
                break;
            }
        }
        // Whether a copy in the copy tree carries this article's headline, when its story lists
        // it: read here for the same reason (the record's own copies are read inside).
        let (tree_carries, tree_titles) = match &tree_next {
            Some(_) => self.tree_copy_headlines(&t, id, of_story)?,
            None => (false, Vec::new()),
        };
        let seq = self.fresh_id(&t)?;
        (
            &t.meta,
            &t.articles,
            &t.index,
            &t.keys,
            &t.stories,
            &t.copies,
            &t.tombstones,
            &t.tombstones_seen,
            &t.merged_into,
            &t.changes,
        )
            .transaction(
                |(
                    meta,
                    articles,
                    index,
                    keys,
                    stories,
                    copies,
                    tombs,
                    tombs_seen,
                    merged_into,
                    changes,
                )| {
                    index.remove(&article_key)?;
                    let Some(bytes) = articles.remove(&article_key)? else {
                        return Ok(false); // already gone: only the index record was left
                    };
                    let a: ArticleRecord = decode("articleid_article", &article_key, &bytes)
                        .map_err(Abortable::Abort)?;
                    let sk = source_key(&a.source, &a.key);
                    if keys.get(&sk)?.as_deref() == Some(&article_key[..]) {
                        keys.remove(sk.as_slice())?;
                    }
                    if let Some(old) = tombs.insert(sk.as_slice(), &now.to_be_bytes())? {
                        tombs_seen.remove(tombstone_seen_key(millis_from(&old), &sk))?;
                    }
                    tombs_seen.insert(tombstone_seen_key(now, &sk), &[])?;

                    let mut delta_copies = 0;
                    let mut story_gone = false;
                    let story_key = a.story.to_be_bytes();
                    let copy_key = copy_key(a.story, id);
                    if let Some(bytes) = stories.get(story_key)? {
                        let mut story: StoryRecord = decode("storyid_story", &story_key, &bytes)
                            .map_err(Abortable::Abort)?;
                        let removed = match story.copies.iter().position(|c| c.article == id) {
                            Some(at) => Some(story.copies.remove(at).kind),
                            None => match copies.remove(&copy_key)? {
                                Some(bytes) => Some(
                                    decode::<CopyRecord>("storyarticle_copy", &copy_key, &bytes)
                                        .map_err(Abortable::Abort)?
                                        .kind,
                                ),
                                None => None,
                            },
                        };
                        if let Some(kind) = removed {
                            story.copy_count = story.copy_count.saturating_sub(1);
                            if kind != CopyKind::Origin {
                                delta_copies = 1;
                            }
                        }
                        let tree_next = tree_next.as_ref().filter(|_| of_story == a.story);
                        if story.copies.is_empty() && tree_next.is_none() {
                            stories.remove(&story_key)?;
                            for gone in &story.merged_from {
                                merged_into.remove(&gone.to_be_bytes())?;
                            }
                            story_gone = true;
                        } else {
                            if story.canonical == id {
                                let earliest = story
                                    .copies
                                    .iter()
                                    .chain(tree_next)
                                    .map(|c| (c.first_seen, c.article))
                                    .min();
                                if let Some((_, next)) = earliest {
                                    story.canonical = next;
                                }
                            }
                            // The story's origin gone, the copy now canonical is its origin:
                            // counted as a copy no more, so that copies stay articles less
                            // stories, and the story shows an origin.
                            if removed == Some(CopyKind::Origin) {
                                let next = story.canonical;
                                if let Some(c) = story.copies.iter_mut().find(|c| c.article == next)
                                {
                                    c.kind = CopyKind::Origin;
                                    delta_copies = 1;
                                } else if let Some(c) = tree_next.filter(|c| c.article == next) {
                                    let mut c = c.clone();
                                    c.kind = CopyKind::Origin;
                                    copies.insert(
                                        &super::copy_key(a.story, next),
                                        encode(&c).map_err(Abortable::Abort)?,
                                    )?;
                                    delta_copies = 1;
                                }
                            }
                            // Its headline goes with it, unless a copy left carries it too
                            // (read from their articles: those in the copy tree above, those
                            // in the record here).
                            if story.headlines.contains(&a.title) {
                                let mut carried = tree_carries;
                                let mut titles = Vec::new();
                                for c in story.copies.iter().filter(|_| !carried) {
                                    let key = c.article.to_be_bytes();
                                    if let Some(bytes) = articles.get(key)? {
                                        let other: ArticleRecord =
                                            decode("articleid_article", &key, &bytes)
                                                .map_err(Abortable::Abort)?;
                                        if other.title == a.title {
                                            carried = true;
                                            break;
                                        }
                                        titles.push(other.title);
                                    }
                                }
                                if !carried {
                                    story.headlines.retain(|h| *h != a.title);
                                    // The room it leaves goes to a headline of a copy left
                                    // that the full list had no room for: a story whose
                                    // listed copies all went kept copies and no headline.
                                    for t in titles.iter().chain(&tree_titles) {
                                        story.add_headline(t);
                                    }
                                }
                            }
                            // changed now (one copy less, perhaps another canonical and
                            // so another title and URL): a reader that goes by `updated`
                            // sees it
                            story.updated = story.updated.max(now);
                            stories
                                .insert(&story_key, encode(&story).map_err(Abortable::Abort)?)?;
                        }
                    } else {
                        copies.remove(&copy_key)?;
                    }

                    let mut counts: Counts = match meta.get(KEY_COUNTS)? {
                        Some(v) => decode("meta", KEY_COUNTS, &v).map_err(Abortable::Abort)?,
                        None => Counts::default(),
                    };
                    counts.articles = counts.articles.saturating_sub(1);
                    counts.copies = counts.copies.saturating_sub(delta_copies);
                    counts.stories = counts.stories.saturating_sub(u64::from(story_gone));
                    meta.insert(KEY_COUNTS, encode(&counts).map_err(Abortable::Abort)?)?;
                    let epoch = meta.get(KEY_INDEX_EPOCH)?.and_then(|v| id_from(&v));
                    meta.insert(KEY_INDEX_EPOCH, &(epoch.unwrap_or(0) + 1).to_be_bytes())?;
                    let change = ChangeRecord {
                        seq,
                        kind: ChangeKind::Deleted,
                        article: id,
                        story: a.story,
                        at: now,
                    };
                    changes.insert(
                        &seq.to_be_bytes(),
                        encode(&change).map_err(Abortable::Abort)?,
                    )?;
                    Ok(story_gone)
                },
            )
            .map_err(|e| self.note_fault(e.into()))
    }

    /// True when `source`'s entry `key` was deleted by retention and its tombstone lives.
    /// Refreshes the tombstone's time to `now` when it is older than [`TOMBSTONE_TOUCH_MS`].
    pub fn tombstoned(&self, source: &str, key: &str, now: Millis) -> Result<bool> {
        let t = self.t()?;
        if !t.may_have_tombstones.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let sk = source_key(source, key);
        let Some(seen) = t.tombstones.get(&sk)? else {
            return Ok(false);
        };
        let seen = millis_from(&seen);
        if now.saturating_sub(seen) > TOMBSTONE_TOUCH_MS && self.fault().is_none() {
            (&t.tombstones, &t.tombstones_seen).transaction(|(tombs, tombs_seen)| {
                // Expired in between: leave it gone.
                if tombs.get(&sk)?.is_some() {
                    tombs.insert(sk.as_slice(), &now.to_be_bytes())?;
                    tombs_seen.remove(tombstone_seen_key(seen, &sk))?;
                    tombs_seen.insert(tombstone_seen_key(now, &sk), &[])?;
                }
                Ok::<_, Abortable<super::StoreError>>(())
            })?;
        }
        Ok(true)
    }

    /// Whether retention left tombstones of `source`'s items (whose feed must be seen now and
    /// then for them to live: `ingest::poll` asks it before polling without validators).
    pub fn has_tombstones(&self, source: &str) -> Result<bool> {
        let t = self.t()?;
        if !t.may_have_tombstones.load(Ordering::SeqCst) {
            return Ok(false);
        }
        Ok(t.tombstones
            .scan_prefix(source_key(source, ""))
            .next()
            .transpose()?
            .is_some())
    }

    /// Forgets up to `max` tombstones last seen before `cutoff`; returns how many.
    pub fn expire_tombstones(&self, cutoff: Millis, max: usize) -> Result<usize> {
        // Nothing is deleted while the store refuses writes (disk full).
        self.check_writable()?;
        let t = self.t()?;
        let end = u64::try_from(cutoff).unwrap_or(0).to_be_bytes();
        let mut due = Vec::new();
        for kv in t.tombstones_seen.range(..&end[..]).take(max) {
            due.push(kv?.0);
        }
        for k in &due {
            let sk = &k[8..];
            let seen = millis_from(&k[..8]);
            (&t.tombstones, &t.tombstones_seen).transaction(|(tombs, tombs_seen)| {
                tombs_seen.remove(k)?;
                // Only if not refreshed since (then its time key is another one).
                if tombs.get(sk)?.map(|v| millis_from(&v)) == Some(seen) {
                    tombs.remove(sk)?;
                }
                Ok::<_, Abortable<super::StoreError>>(())
            })?;
        }
        Ok(due.len())
    }

    /// What the newest [`TREE_COPIES_READ`] of the copy tree's copies of `of_story` other
    /// than `id` say of headlines, read when the story lists `id`'s headline (else none
    /// goes, and nothing is read; sled's transactions cannot scan): whether one carries that
    /// headline too, and the first [`MAX_HEADLINES`] other headlines they carry, newest
    /// first, which may take the room a headline that goes leaves.
    fn tree_copy_headlines(
        &self,
        t: &super::Trees,
        id: u64,
        of_story: u64,
    ) -> Result<(bool, Vec<String>)> {
        let article = |id: u64| -> Result<Option<ArticleRecord>> {
            let key = id.to_be_bytes();
            t.articles
                .get(key)?
                .map(|bytes| decode("articleid_article", &key, &bytes))
                .transpose()
        };
        let Some(a) = article(id)? else {
            return Ok((false, Vec::new()));
        };
        let story_key = of_story.to_be_bytes();
        let Some(bytes) = t.stories.get(story_key)? else {
            return Ok((false, Vec::new()));
        };
        let story: StoryRecord = decode("storyid_story", &story_key, &bytes)?;
        if !story.headlines.contains(&a.title) {
            return Ok((false, Vec::new()));
        }
        let mut others = Vec::new();
        // The newest copies of the tree only (those retention deletes last): each deletion
        // of a copy under a listed headline reads them, and the list refilled from them stays
        // full, so that pruning a story of thousands of copies read its whole tree for every
        // copy (31 s for 1,200 in a debug build, 11.5 s before the refill). A headline
        // carried only by older ones goes, as a list of 16 of a story's headlines could not
        // hold every one anyway.
        for kv in t.copies.scan_prefix(story_key).rev().take(TREE_COPIES_READ) {
            let (k, v) = kv?;
            let c: CopyRecord = decode("storyarticle_copy", &k, &v)?;
            let Some(o) = (c.article != id).then(|| article(c.article)).transpose()? else {
                continue;
            };
            match o {
                // It stays, and nothing needs the room.
                Some(o) if o.title == a.title => return Ok((true, Vec::new())),
                Some(o) if others.len() < MAX_HEADLINES && !others.contains(&o.title) => {
                    others.push(o.title);
                }
                _ => {}
            }
        }
        Ok((false, others))
    }

    /// Forgets up to `max` change-log entries older than `cutoff`, oldest first; returns how
    /// many. Entries of articles deleted by retention would only point at nothing.
    ///
    /// The log is in time order (sequence numbers grow with time) but for entries stamped
    /// while the wall clock ran ahead of `now`: those are young, kept and passed over, so that
    /// one of them cannot keep every change logged after it for as long as the clock ran
    /// ahead. One passed over that the pruned line would pass is logged again past the end,
    /// as it was (a reader may read it twice): everything before the line stays pruned, so
    /// that a cursor before it is one that missed changes, and a reader from the start, who
    /// reads it, can go on with the cursors it is given. Changes are stamped when they are
    /// written, so those logged after an entry logged again fall due a retention later: it
    /// is logged again about once per retention, not at every sweep (were changes written
    /// with stamps already past the cutoff, as a wall clock set back by more than the
    /// retention writes them, it would be at every sweep that prunes one).
    pub fn prune_changes_before(&self, cutoff: Millis, now: Millis, max: usize) -> Result<usize> {
        // Nothing is deleted while the store refuses writes (disk full).
        self.check_writable()?;
        let t = self.t()?;
        let mut batch = sled::Batch::default();
        let mut n = 0;
        let mut newest = None;
        let mut passed = Vec::new();
        for kv in t.changes.iter() {
            if n == max {
                break;
            }
            let (k, v) = kv?;
            let change: ChangeRecord = decode("seq_change", &k, &v)?;
            if change.at >= cutoff {
                if change.at > now {
                    passed.push((k, change));
                    continue;
                }
                break;
            }
            newest = Some(k.clone());
            batch.remove(k);
            n += 1;
        }
        if let Some(line) = newest {
            // Logged again before the line is written, and the line before the entries go:
            // after a crash in between, an entry is there twice at most, and the line covers
            // at most entries still there, which read as they did.
            for (k, mut change) in passed.into_iter().filter(|(k, _)| *k < line) {
                change.seq = self.fresh_id(&t)?;
                self.wrote(t.changes.insert(change.seq.to_be_bytes(), encode(&change)?))?;
                batch.remove(k);
            }
            self.wrote(t.meta.insert(KEY_PRUNED_THROUGH, line))?;
        }
        self.wrote(t.changes.apply_batch(batch))?;
        Ok(n)
    }

    /// The newest change-log position retention pruned: a cursor before it missed changes
    /// that can no longer be replayed.
    pub fn changes_pruned_through(&self) -> Result<Option<u64>> {
        self.t()?.pruned_through()
    }

    /// Live tombstones.
    pub fn tombstone_count(&self) -> usize {
        self.t().map_or(0, |t| t.tombstones.len())
    }
}
