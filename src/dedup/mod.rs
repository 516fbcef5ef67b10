//! PLACEHOLDER until the dedup module lands.
use crate::fingerprint::{hamming, Fingerprint};
use std::collections::HashMap;
use std::time::Duration;
pub type ArticleId = u64;
pub type StoryId = u64;
#[derive(Debug, Clone)]
pub struct DedupParams {
    pub simhash_max_distance: u32,
    pub min_similarity: f32,
    pub min_containment: f32,
    pub window: Duration,
}
impl Default for DedupParams {
    fn default() -> Self {
        Self {
            simhash_max_distance: 3,
            min_similarity: 0.5,
            min_containment: 0.8,
            window: Duration::from_secs(72 * 3600),
        }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    Exact,
    Near,
}
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    pub article: ArticleId,
    pub story: StoryId,
    pub kind: MatchKind,
    pub similarity: f32,
}
pub struct Index {
    params: DedupParams,
    items: HashMap<ArticleId, (StoryId, Fingerprint, i64)>,
}
impl Index {
    pub fn new(params: DedupParams) -> Self {
        Self {
            params,
            items: HashMap::new(),
        }
    }
    pub fn insert(&mut self, article: ArticleId, story: StoryId, fp: &Fingerprint, at: i64) {
        self.items.insert(article, (story, fp.clone(), at));
    }
    pub fn remove(&mut self, article: ArticleId) {
        self.items.remove(&article);
    }
    pub fn set_story(&mut self, article: ArticleId, story: StoryId) {
        if let Some(e) = self.items.get_mut(&article) {
            e.0 = story
        }
    }
    pub fn find(&self, fp: &Fingerprint, _at: i64) -> Option<Match> {
        let mut best: Option<Match> = None;
        for (id, (story, f, _)) in &self.items {
            let kind = if f.content == fp.content {
                MatchKind::Exact
            } else if hamming(f.simhash, fp.simhash) <= self.params.simhash_max_distance {
                MatchKind::Near
            } else {
                continue;
            };
            let m = Match {
                article: *id,
                story: *story,
                kind,
                similarity: 1.0 - hamming(f.simhash, fp.simhash) as f32 / 64.0,
            };
            if best.map_or(true, |b| b.article > m.article) {
                best = Some(m)
            }
        }
        best
    }
    pub fn evict_before(&mut self, t: i64) -> usize {
        let n = self.items.len();
        self.items.retain(|_, v| v.2 >= t);
        n - self.items.len()
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn approx_bytes(&self) -> usize {
        self.items.len() * 64
    }
}
