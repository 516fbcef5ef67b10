//! Rules 1–5 of the [fold stage](super), applied to one article: [`Folder::decide`].

use super::batch::{Batch, Undo};
use super::verify::{SecondLooks, Stored};
use super::{Decision, Folder};
use crate::dedup::{Index, Match, MatchKind};
use crate::fingerprint::Fingerprint;
use crate::normalize::{Article, DateSource};
use crate::storage::{
    ArticleRecord, ChangeKind, CopyKind, CopyRecord, DateOrigin, Millis, StoreError, StoryRecord,
};

impl Folder {
    /// The story as this batch left it, else as stored.
    pub(super) fn story(&self, batch: &Batch, id: u64) -> Result<Option<StoryRecord>, StoreError> {
        let mut id = id;
        while let Some(&to) = batch.merged.get(&id) {
            id = to;
        }
        match batch.stories.get(&id) {
            Some(s) => Ok(Some(s.clone())),
            None => self.store.story(id),
        }
    }

    /// `article`'s copy in `story`'s part of the copy tree: as this batch wrote it, else as
    /// stored.
    pub(super) fn tree_copy(
        &self,
        batch: &Batch,
        story: u64,
        article: u64,
    ) -> Result<Option<CopyRecord>, StoreError> {
        match batch.copies.get(story, article) {
            Some(c) => Ok(Some(c.clone())),
            None => self.store.copy(story, article),
        }
    }

    /// Decides what `a` from `source` is (rules 1–5 of the [module docs](super)), updates the
    /// index and adds the writes to `batch`; index changes are recorded for [`Batch::undo`].
    pub(super) fn decide(
        &self,
        index: &mut Index,
        batch: &mut Batch,
        source: &str,
        a: Article,
        (fp, lead): (Fingerprint, Option<Fingerprint>),
        now: Millis,
    ) -> Result<Decision, StoreError> {
        if let Some(id) = self.store.article_id_by_key(source, &a.key)? {
            let Some(rec) = self.store.article(id)? else {
                return Err(StoreError::Corrupt {
                    path: String::new(),
                    message: format!("key {source}/{} points at missing article {id}", a.key),
                });
            };
            return self.update(index, batch, rec, a, fp, now);
        }

        // Deleted by retention and still in the feed: not a new article.
        if self.store.tombstoned(source, &a.key, now)? {
            return Ok(Decision::Unchanged);
        }

        let id = self.store.next_id()?;
        let stored = Stored {
            folder: self,
            batch,
        };
        let looks = SecondLooks::new(&self.params, stored, &a, &fp, now / 1000).of_source(source);
        let young = |m: &Match, s: &StoryRecord| looks.story_young(m, s.created, now);
        // Stories that vanished (retention) are skipped; none left starts a new one.
        let mut found: Vec<(Match, StoryRecord)> = Vec::new();
        // Nothing to compare (no word in its title or text: an enclosure alone): every such
        // item was an exact copy of every other.
        let blank = a.fp_title.trim().is_empty() && a.fp_text.trim().is_empty();
        for m in index
            .find_all(&fp, now / 1000)
            .into_iter()
            .filter(|_| !blank)
        {
            let Some(m) = looks.holding(index, m)? else {
                continue;
            };
            if let Some(s) = self.story(batch, m.story)? {
                if !young(&m, &s) {
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
            0 if blank => None,
            0 => match looks.find(index, lead.as_ref())? {
                Some(m) => self
                    .story(batch, m.story)?
                    .filter(|s| young(&m, s))
                    .map(|s| (m, s)),
                None => None,
            },
            1 => found.pop(),
            _ => Some(self.merge_bridged(index, batch, found, now)?),
        };
        // Rule 2a: an exact copy of the source's own article at the same URL under another
        // key is that article again: a feed that mints a new GUID for its items on every poll
        // added a "copy" per item per poll, for ever. Without a URL, the same date the feed
        // gives (to the millisecond) says so: a daily item with the same words has another.
        if let Some((m, story)) = &found {
            let dated = a
                .date_source
                .from_feed()
                .then(|| a.published.timestamp_millis());
            if m.kind == MatchKind::Exact
                && (a.url.is_some() || dated.is_some())
                && self.same_item_again(batch, story, (m, fp.content), source, &a.url, dated)?
            {
                return Ok(Decision::Unchanged);
            }
        }
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
                let copy = CopyRecord {
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
                };
                if let Some(beyond) = story.push_copy(copy) {
                    batch.copies.put(story.id, beyond);
                }
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
}

/// Whether a stored URL is `url`; one stored before the canonical form last changed is read
/// in today's form.
fn same_url(stored: &Option<String>, url: &str) -> bool {
    match stored.as_deref() {
        Some(u) if u == url => true,
        Some(u) => crate::normalize::url::canonical_url(u, None).as_deref() == Some(url),
        None => false,
    }
}

impl Folder {
    /// Article `id` as this batch left it, else as stored.
    fn record(&self, batch: &Batch, id: u64) -> Result<Option<ArticleRecord>, StoreError> {
        match batch.writes.iter().rev().find(|(r, _)| r.id == id) {
            Some((r, _)) => Ok(Some(r.clone())),
            None => self.store.article(id),
        }
    }

    /// Rule 1: `a` is stored article `rec` again; unchanged, or updated in place:
    /// it keeps its id and its story.
    fn update(
        &self,
        index: &mut Index,
        batch: &mut Batch,
        mut rec: ArticleRecord,
        a: Article,
        fp: Fingerprint,
        now: Millis,
    ) -> Result<Decision, StoreError> {
        let id = rec.id;
        // An item whose feed dropped its description or content keeps the stored text
        // (its headline may still change): a thinner poll says nothing new of the body,
        // and the archive's only copy of the lead is not given up for it.
        let (a, fp) = if a.text.is_empty() && !rec.text.is_empty() {
            let a = crate::normalize::with_stored_text(
                a,
                &rec.text,
                rec.language.clone(),
                self.rules(),
            );
            let (fp, _) = super::fingerprint_article_and_lead(&a);
            (a, fp)
        } else {
            (a, fp)
        };
        // moved by a merge earlier in this batch
        if let Some(story) = self.story(batch, rec.story)? {
            rec.story = story.id;
        }
        // A stand-in date (the item came undated, or dated too far ahead) gives way to the
        // first date the feed gives it, though nothing else changed: the stand-in was ours.
        let dated_now = a.date_source.from_feed() && !rec.date_origin.from_feed();
        if rec.fingerprint.content == fp.content
            && rec.title == a.title
            && rec.url == a.url
            && !dated_now
        {
            return Ok(Decision::Unchanged);
        }
        let mut story = match self.story(batch, rec.story)? {
            Some(s) => s,
            None => new_story(rec.story, &rec),
        };
        // The story's headlines are those its copies carry: the one this article had goes
        // unless another copy carries it too. (Kept, it stayed with the story when retention
        // deleted the article, carried by no copy, for as long as the story lived.)
        if rec.title != a.title
            && story.headlines.contains(&rec.title)
            && !self.another_copy_carries(batch, &story, id, &rec.title)?
        {
            story.headlines.retain(|h| *h != rec.title);
        }
        story.add_headline(&a.title);
        story.updated = now;
        if rec.url != a.url {
            // in the story record, else in the copy tree
            if let Some(copy) = story.copies.iter_mut().find(|c| c.article == id) {
                copy.url.clone_from(&a.url);
            } else if let Some(mut copy) = self.tree_copy(batch, story.id, id)? {
                copy.url.clone_from(&a.url);
                batch.copies.put(story.id, copy);
            }
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
        // A date the feed gives replaces the stored one; an undated (or far-future)
        // item's stand-in is the time of this poll, and would make an edit look like a
        // new publication: the stored date stays.
        if a.date_source.from_feed() {
            rec.published = a.published.timestamp_millis();
            rec.date_origin = origin(a.date_source);
        }
        rec.language = a.language;
        rec.fingerprint = fp;
        rec.updated = now;
        rec.revisions = rec.revisions.saturating_add(1);
        index.insert(id, rec.story, &rec.fingerprint, rec.first_seen / 1000);
        batch.stories.insert(story.id, story);
        batch.writes.push((rec, ChangeKind::Updated));
        Ok(Decision::Updated { article: id })
    }

    /// Whether a copy of `story` other than article `id` carries `title`, as this batch left
    /// it: those in the story record, and those in the copy tree (stored, and written by this
    /// batch). A story keeps copies there once it had more than the record holds, however
    /// few are left.
    fn another_copy_carries(
        &self,
        batch: &Batch,
        story: &StoryRecord,
        id: u64,
        title: &str,
    ) -> Result<bool, StoreError> {
        let stored = match story.copy_count as usize > story.copies.len() {
            true => self.store.overflow_copies(story.id)?,
            false => Vec::new(),
        };
        let articles = story
            .copies
            .iter()
            .chain(&stored)
            .chain(batch.copies.of_story(story.id))
            .map(|c| c.article)
            .filter(|&a| a != id);
        for article in articles {
            if self
                .record(batch, article)?
                .is_some_and(|r| r.title == title)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `story` (found by the exact match `m` of an item whose fingerprint text hashes
    /// to `content`) already holds this item of `source`: the matched article itself at
    /// `url`, or a copy in the story record at `url` with the same words; for an item
    /// without URL, one without URL that the feed dated `dated` as well.
    fn same_item_again(
        &self,
        batch: &Batch,
        story: &StoryRecord,
        (m, content): (&Match, u128),
        source: &str,
        url: &Option<String>,
        dated: Option<Millis>,
    ) -> Result<bool, StoreError> {
        let record = |id: u64| self.record(batch, id);
        if let Some(url) = url {
            let own = |r: &ArticleRecord| r.source == source && same_url(&r.url, url);
            if record(m.article)?.is_some_and(|r| own(&r)) {
                return Ok(true);
            }
            // The newest exact copy may be another outlet's: the source's own copy at this
            // URL must hold these words too. A copy of the source at its URL (a feed that
            // links every item to one page) with other words is another item, and this
            // one, an exact copy of another outlet's text, is a copy of its own.
            for c in story
                .copies
                .iter()
                .filter(|c| c.article != m.article && c.source == source && same_url(&c.url, url))
            {
                if record(c.article)?.is_some_and(|r| own(&r) && r.fingerprint.content == content) {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        let same = |r: &ArticleRecord| {
            r.source == source
                && r.url.is_none()
                && r.date_origin.from_feed()
                && Some(r.published) == dated
        };
        if record(m.article)?.is_some_and(|r| same(&r)) {
            return Ok(true);
        }
        for c in story
            .copies
            .iter()
            .filter(|c| c.source == source && c.url.is_none())
        {
            if c.article != m.article && record(c.article)?.is_some_and(|r| same(&r)) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Story `id` with `rec` as its first copy (the origin).
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
        copy_count: 1,
        headlines: Vec::new(),
        merged_from: Vec::new(),
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
