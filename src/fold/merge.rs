//! Rule 5 of the [fold stage](super): two stories found to be one are merged.

use super::batch::{Batch, Undo};
use super::verify::{Seen, SeenArticle, Stored};
use super::Folder;
use crate::dedup::{DedupParams, Index, Match};
use crate::storage::{ChangeKind, CopyKind, Millis, StoreError, StoryRecord};

/// Rule 5's test: whether a new article whose best match is `best` bridges that story and
/// the story of `other`, its match in another story: both at least `merge_min_similarity`,
/// and the two matched copies' headlines not *each* carrying a figure the other lacks (rule
/// 3d, which kept those stories apart: "… bites (3)" / "… bites (4)" are two reports, and
/// an article that names no figure, and so matches both, does not make them one), nor each
/// a word of its own that its text states (rule 3f: "found guilty" / "acquitted", bridged
/// by an outlet's "convicted" copy), nor saying the opposite over one template (rule 3g:
/// "… survives confidence vote" / "… loses confidence vote", bridged by a copy whose
/// rewritten headline names no outcome).
pub(crate) fn bridges<S: Seen>(
    params: &DedupParams,
    seen: &S,
    best: &Match,
    other: &Match,
) -> Result<bool, S::Error> {
    let min = params.merge_min_similarity;
    if best.similarity < min || other.similarity < min {
        return Ok(false);
    }
    let (Some(a), Some(b)) = (seen.article(best.article)?, seen.article(other.article)?) else {
        return Ok(true);
    };
    let (ta, tb) = (a.fp_title(), b.fp_title());
    Ok(
        crate::dedup::long_headlines_agree((&ta, || a.fp_text()), (&tb, || b.fp_text()))
            && !crate::dedup::headlines_contradict(&ta, &tb),
    )
}

impl Folder {
    /// Rule 5: `found` (best match first) spans several stories. When the best match and
    /// another story's match both score at least `merge_min_similarity`, those stories are
    /// one: every bridged story is merged into the earliest of them (the lowest id: ids grow
    /// with creation), which records them in `merged_from`; their copies move over (an
    /// absorbed story's origin becomes a near copy and is counted as a copy), their
    /// articles are re-pointed (store and index, each with a `Merged` change-log entry) and
    /// their records deleted. Returns the story the new article joins, with its match.
    pub(super) fn merge_bridged(
        &self,
        index: &mut Index,
        batch: &mut Batch,
        mut found: Vec<(Match, StoryRecord)>,
        now: Millis,
    ) -> Result<(Match, StoryRecord), StoreError> {
        let (best, best_story) = found.remove(0);
        let mut group = vec![best_story];
        let seen = Stored {
            folder: self,
            batch: &*batch,
        };
        for (m, s) in found {
            if bridges(&self.params, &seen, &best, &m)? {
                group.push(s);
            }
        }
        if group.len() == 1 {
            return Ok((best, group.remove(0)));
        }
        group.sort_by_key(|s| s.id);
        let mut survivor = group.remove(0);
        // The canonical copy is the earliest of all the group's copies.
        let canonical = survivor.canonical;
        let mut earliest = match survivor.copies.iter().find(|c| c.article == canonical) {
            Some(c) => Some((c.first_seen, c.article)),
            None => self
                .tree_copy(batch, survivor.id, canonical)?
                .map(|c| (c.first_seen, c.article)),
        };
        for mut absorbed in group {
            // the copies its record holds, those of the copy tree stored, and those this batch
            // wrote there (which replace a stored one)
            let mut moved = std::mem::take(&mut absorbed.copies);
            let mut beyond = self.store.overflow_copies(absorbed.id)?;
            for c in batch.copies.take_story(absorbed.id) {
                match beyond.iter_mut().find(|m| m.article == c.article) {
                    Some(m) => *m = c,
                    None => beyond.push(c),
                }
            }
            for c in &beyond {
                batch.copies.delete(absorbed.id, c.article);
            }
            moved.extend(beyond);
            for mut c in moved {
                self.repoint(index, batch, c.article, survivor.id)?;
                // its first copy is a copy now, not an origin: counted as one
                if c.kind == CopyKind::Origin {
                    c.kind = CopyKind::Near;
                    batch.delta.copies += 1;
                }
                let at = (c.first_seen, c.article);
                if earliest.is_none_or(|e| at < e) {
                    earliest = Some(at);
                }
                if let Some(c) = survivor.push_copy(c) {
                    batch.copies.put(survivor.id, c);
                }
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
        }
        if let Some((_, article)) = earliest {
            survivor.canonical = article;
        }
        survivor.updated = now;
        batch.stories.insert(survivor.id, survivor.clone());
        Ok((best, survivor))
    }

    /// Moves one article to `story` (a merge): in this batch's writes, or read from the store
    /// and written again with a `Merged` change; and in the index.
    pub(super) fn repoint(
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
}
