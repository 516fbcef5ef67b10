//! Writing fold decisions: one sled transaction per batch.

use std::collections::BTreeMap;

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::*;

/// The copy records one fold transaction writes and deletes, by (story, article).
#[derive(Debug, Default)]
pub struct CopyWrites {
    put: BTreeMap<(u64, u64), CopyRecord>,
    delete: Vec<(u64, u64)>,
}

impl CopyWrites {
    /// Writes `copy` as a copy of `story` (replacing one written earlier in this batch).
    pub fn put(&mut self, story: u64, copy: CopyRecord) {
        self.put.insert((story, copy.article), copy);
    }

    /// The copy of `article` in `story` written in this batch, if any.
    pub fn get(&self, story: u64, article: u64) -> Option<&CopyRecord> {
        self.put.get(&(story, article))
    }

    /// The copies of `story` written in this batch.
    pub fn of_story(&self, story: u64) -> impl Iterator<Item = &CopyRecord> {
        self.put
            .range((story, 0)..=(story, u64::MAX))
            .map(|(_, c)| c)
    }

    /// Takes back the copies of `story` written in this batch, in article order.
    pub fn take_story(&mut self, story: u64) -> Vec<CopyRecord> {
        let keys: Vec<(u64, u64)> = self
            .put
            .range((story, 0)..=(story, u64::MAX))
            .map(|(k, _)| *k)
            .collect();
        keys.iter().filter_map(|k| self.put.remove(k)).collect()
    }

    /// Deletes the stored copy of `article` in `story` (deletes run before the writes).
    pub fn delete(&mut self, story: u64, article: u64) {
        self.delete.push((story, article));
    }
}

impl Store {
    /// Writes one fold decision atomically: the article (new or updated), its index record and
    /// key, its story (with the copies it holds), the counters moved by `delta`, and a
    /// change-log entry of `kind`. Returns the change record (its `seq` is the consumers'
    /// cursor).
    pub fn commit(
        &self,
        article: &ArticleRecord,
        story: &StoryRecord,
        delta: Counts,
        kind: ChangeKind,
    ) -> Result<ChangeRecord> {
        let copies = CopyWrites::default();
        let mut changes =
            self.commit_batch(&[(article.clone(), kind)], &[story], &copies, delta)?;
        changes
            .pop()
            .ok_or_else(|| StoreError::Io("commit wrote no change".into()))
    }

    /// Writes the fold decisions of one poll in one transaction: each article (new or
    /// updated) with its index record, key and change-log entry of its kind; every story
    /// they touched and the copy-tree records `copies` (copies beyond what a story record
    /// holds); the counters moved by `delta`. All of it or none. Returns the change records
    /// in article order.
    pub fn commit_batch(
        &self,
        articles: &[(ArticleRecord, ChangeKind)],
        stories: &[&StoryRecord],
        copies: &CopyWrites,
        delta: Counts,
    ) -> Result<Vec<ChangeRecord>> {
        self.commit_fold(articles, stories, copies, &[], delta)
    }

    /// [`Store::commit_batch`], also deleting the story records `removed` (stories merged into
    /// another one: their articles are among `articles`, re-pointed, and their copies among
    /// `copies`, moved) and counting them off the stored stories, in the same transaction.
    pub fn commit_fold(
        &self,
        articles: &[(ArticleRecord, ChangeKind)],
        stories: &[&StoryRecord],
        copies: &CopyWrites,
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
            // A merge moves an article without changing it: its change is as old as the
            // survivor's record, which the merge updated.
            let at = match kind {
                ChangeKind::Merged => stories
                    .iter()
                    .find(|s| s.id == article.story)
                    .map_or(article.updated, |s| s.updated.max(article.updated)),
                _ => article.updated,
            };
            let change = ChangeRecord {
                seq: self.fresh_id(&t)?,
                kind: *kind,
                article: article.id,
                story: article.story,
                at,
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
        let copy_rows: Vec<([u8; 16], Vec<u8>)> = copies
            .put
            .iter()
            .map(|(&(story, article), c)| {
                Ok((
                    copy_key(story, article),
                    encode_sized(c, c.encoded_size_hint())?,
                ))
            })
            .collect::<Result<_>>()?;
        let copy_deletes: Vec<[u8; 16]> =
            copies.delete.iter().map(|&(s, a)| copy_key(s, a)).collect();
        (
            &t.meta,
            &t.articles,
            &t.index,
            &t.keys,
            &t.stories,
            &t.copies,
            &t.changes,
            &t.merged_into,
        )
            .transaction(
                |(meta, articles, index, keys, stories_t, copies_t, changes_t, merged_t)| {
                    for r in &rows {
                        articles.insert(&r.key, r.article.as_slice())?;
                        index.insert(&r.key, r.index.as_slice())?;
                        keys.insert(r.source_key.as_slice(), &r.key)?;
                        changes_t.insert(&r.change_key, r.change.as_slice())?;
                    }
                    for (k, v) in &stories {
                        stories_t.insert(k, v.as_slice())?;
                    }
                    for k in &copy_deletes {
                        copies_t.remove(k)?;
                    }
                    for (k, v) in &copy_rows {
                        copies_t.insert(k, v.as_slice())?;
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
}
