//! Reading the change log, the index records and the newest articles and stories.

use super::*;

/// A sled iterator together with the handle it came from. A sled iterator keeps the
/// database open after the handle is dropped: a backup, which waits until it holds the last
/// handle, closed the store under a live iterator (an event stream's replay), found sled's
/// files still locked, and could not open them again. Holding the handle, the iterator
/// counts as a user of the store, and the backup waits for it.
struct Holding<I> {
    inner: I,
    _trees: Arc<Trees>,
}

impl<I: Iterator> Iterator for Holding<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        self.inner.next()
    }
}

fn holding<'a, T: 'a, I: Iterator<Item = T> + Send + 'a>(
    trees: Arc<Trees>,
    inner: impl FnOnce(&Trees) -> I,
) -> Box<dyn Iterator<Item = T> + Send + 'a> {
    let inner = inner(&trees);
    Box::new(Holding {
        inner,
        _trees: trees,
    })
}

impl Store {
    /// Change-log entries after `after` (exclusive), oldest first, up to the last flush: a
    /// change is listed only once it is durable.
    pub fn changes_after(
        &self,
        after: Option<u64>,
    ) -> Box<dyn Iterator<Item = Result<ChangeRecord>> + Send + '_> {
        let Some(last) = self.durable().seq else {
            return Box::new(std::iter::empty());
        };
        let start = after.map_or(0, |a| a.saturating_add(1));
        if start > last {
            return Box::new(std::iter::empty());
        }
        match self.t() {
            Ok(t) => holding(t, |t| {
                t.changes
                    .range(start.to_be_bytes()..=last.to_be_bytes())
                    .map(|kv| {
                        let (k, v) = kv?;
                        decode("seq_change", &k, &v)
                    })
            }),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    /// Change-log entries after `after` (exclusive), oldest first, durable or not: what the
    /// index snapshot is caught up with (the index holds every written change).
    pub fn written_changes_after(
        &self,
        after: u64,
    ) -> Box<dyn Iterator<Item = Result<ChangeRecord>> + Send + '_> {
        let Some(start) = after.checked_add(1) else {
            return Box::new(std::iter::empty());
        };
        match self.t() {
            Ok(t) => holding(t, |t| {
                t.changes.range(start.to_be_bytes()..).map(|kv| {
                    let (k, v) = kv?;
                    decode("seq_change", &k, &v)
                })
            }),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    /// The newest durable change-log position, if any.
    pub fn last_change(&self) -> Result<Option<u64>> {
        Ok(self.durable().seq)
    }

    /// Index records of articles first seen at or after `since`, newest first; times are
    /// compared in whole seconds, as the index keeps them. Relies on ids increasing with first
    /// sighting, so the scan stops at the first older record.
    pub fn index_records_since(
        &self,
        since: Millis,
    ) -> Box<dyn Iterator<Item = Result<(u64, IndexRecord)>> + Send + '_> {
        self.index_records_in(since, ..)
    }

    /// [`Store::index_records_since`] among the articles with an id in `ids`: a part of the
    /// scan that another thread can read while one reads the rest.
    pub fn index_records_in(
        &self,
        since: Millis,
        ids: impl std::ops::RangeBounds<u64>,
    ) -> Box<dyn Iterator<Item = Result<(u64, IndexRecord)>> + Send + '_> {
        let t = match self.t() {
            Ok(t) => t,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        holding(t, |t| {
            t.index
                .range((
                    ids.start_bound().map(|id| id.to_be_bytes()),
                    ids.end_bound().map(|id| id.to_be_bytes()),
                ))
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
                    Ok((_, rec)) => rec.at / 1000 >= since / 1000,
                    Err(_) => true,
                })
        })
    }

    /// The lowest and the highest article id with an index record, if there is any.
    pub fn index_id_bounds(&self) -> Result<Option<(u64, u64)>> {
        let t = self.t()?;
        let id = |kv: Option<(sled::IVec, sled::IVec)>| kv.and_then(|(k, _)| id_from(&k));
        Ok(id(t.index.first()?).zip(id(t.index.last()?)))
    }

    /// One article's index record.
    pub fn index_record(&self, id: u64) -> Result<Option<IndexRecord>> {
        get_decoded(&self.t()?.index, "articleid_index", id)
    }

    /// One change-log entry, durable or not.
    pub fn change(&self, seq: u64) -> Result<Option<ChangeRecord>> {
        get_decoded(&self.t()?.changes, "seq_change", seq)
    }

    /// How many times retention removed index records (written, durable or not).
    pub fn index_epoch(&self) -> Result<u64> {
        Ok(self
            .t()?
            .meta
            .get(KEY_INDEX_EPOCH)?
            .and_then(|v| id_from(&v))
            .unwrap_or(0))
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Articles with an id of at least `first`, oldest first.
    pub fn articles_from(
        &self,
        first: u64,
    ) -> Box<dyn Iterator<Item = Result<ArticleRecord>> + Send + '_> {
        match self.t() {
            Ok(t) => holding(t, |t| {
                t.articles.range(first.to_be_bytes()..).map(|kv| {
                    let (k, v) = kv?;
                    decode("articleid_article", &k, &v)
                })
            }),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    /// Articles, newest first.
    pub fn articles_newest(&self) -> Box<dyn Iterator<Item = Result<ArticleRecord>> + Send + '_> {
        match self.t() {
            Ok(t) => holding(t, |t| {
                t.articles.iter().rev().map(|kv| {
                    let (k, v) = kv?;
                    decode("articleid_article", &k, &v)
                })
            }),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }

    /// Stories, newest first, with an id below `before` (or all when `None`).
    pub fn stories_before(
        &self,
        before: Option<u64>,
    ) -> Box<dyn Iterator<Item = Result<StoryRecord>> + Send + '_> {
        let end = before.unwrap_or(u64::MAX).to_be_bytes();
        match self.t() {
            Ok(t) => holding(t, |t| {
                t.stories.range(..end).rev().map(|kv| {
                    let (k, v) = kv?;
                    decode("storyid_story", &k, &v)
                })
            }),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }
}
