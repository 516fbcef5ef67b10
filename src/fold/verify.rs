//! The second looks of rule 3 on the texts (3a–3d of the [fold stage](super)): a match the
//! index found is checked against the candidate's stored record, and the short-item searches
//! that go past the sketches (short ↔ long, short ↔ short on the summary).

use super::batch::Batch;
use super::{Folder, LONG_CANDIDATES};
use crate::dedup::{Index, Match, MatchKind};
use crate::fingerprint::Fingerprint;
use crate::normalize::{Article, DateSource};
use crate::storage::{ArticleRecord, DateOrigin, Millis, StoreError, StoryRecord};

impl Folder {
    /// An indexed article's record: from this batch's writes (the newest), else the store.
    pub(super) fn candidate(
        &self,
        batch: &Batch,
        article: u64,
    ) -> Result<Option<ArticleRecord>, StoreError> {
        match batch.writes.iter().rev().find(|(r, _)| r.id == article) {
            Some((r, _)) => Ok(Some(r.clone())),
            None => self.store.article(article),
        }
    }

    /// Rule 3, second verification of a match between headline + summary items on their
    /// texts ([`crate::dedup::short_match_holds`]: an exact copy published a day apart is a
    /// recurring template; a thin summary needs agreeing headlines). The candidate's texts come
    /// from this batch or the store; a candidate gone from both (retention) is kept.
    pub(super) fn short_match_holds(
        &self,
        batch: &Batch,
        a: &Article,
        m: &Match,
    ) -> Result<bool, StoreError> {
        let Some(rec) = self.candidate(batch, m.article)? else {
            return Ok(true);
        };
        let text;
        let title;
        let (title, text) = if m.kind == MatchKind::Near {
            text = stored_fp_text(&rec);
            title = stored_fp_title(&rec);
            (title.as_str(), text.as_str())
        } else {
            ("", "")
        };
        let this = crate::dedup::ShortItem::new(&a.fp_title, &a.fp_text, published(a));
        let other = crate::dedup::ShortItem::new(title, text, dated(&rec));
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
    pub(super) fn long_match_holds(
        &self,
        batch: &Batch,
        a: &Article,
        m: &Match,
    ) -> Result<bool, StoreError> {
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
    pub(super) fn short_story_young(&self, m: &Match, story: &StoryRecord, now: Millis) -> bool {
        let span = i64::try_from(self.params.short_window.min(self.params.window).as_millis())
            .unwrap_or(i64::MAX);
        m.kind == MatchKind::Exact || now.saturating_sub(story.created) <= span
    }

    /// Rule 3b, short → long: the long article (within `short_window`) whose body contains
    /// this headline + summary item's text, verified on the texts ([`crate::dedup::short_in_long`]):
    /// candidates come from the index, their texts from this batch or the store (fingerprint
    /// text recomputed from the stored display text with the built-in rules).
    pub(super) fn short_in_long(
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
        if tris.len() < crate::dedup::SUMMARY_MIN_TRIGRAMS {
            return Ok(None);
        }
        let candidates = index.long_candidates(&tris, now / 1000, LONG_CANDIDATES);
        crate::dedup::best_verified(candidates, |article| {
            let Some(rec) = self.candidate(batch, article)? else {
                return Ok(None);
            };
            // the long text is recomputed with the rules only past the fingerprints' guards
            Ok(crate::dedup::short_in_long(
                fp,
                &tris,
                &rec.fingerprint,
                || crate::fingerprint::lead::trigrams(&stored_fp_text(&rec)),
            ))
        })
    }

    /// Rule 3c, short → short on the summary: the headline + summary item (within
    /// `short_window`) whose summary is this one's, headlines left out, verified on the texts
    /// ([`crate::dedup::summaries_agree`]); candidates from the index by their anchors, texts
    /// from this batch or the store, as in [`Self::short_in_long`].
    pub(super) fn short_by_summary(
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
        if summary.trigrams.len() < crate::dedup::SUMMARY_MIN_TRIGRAMS {
            return Ok(None);
        }
        let bigrams = crate::fingerprint::lead::bigrams(&a.fp_text);
        let published = published(a);
        let candidates = index.short_candidates(&bigrams, now / 1000, LONG_CANDIDATES);
        let this = crate::dedup::ShortItem::new(&a.fp_title, &a.fp_text, published);
        crate::dedup::best_verified(candidates, |article| {
            let Some(rec) = self.candidate(batch, article)? else {
                return Ok(None);
            };
            // the checks on what the record holds first: the texts are recomputed with the
            // rules
            if !crate::dedup::published_close(&self.params, published, dated(&rec))
                || !crate::dedup::summary_names_agree(fp, &rec.fingerprint)
            {
                return Ok(None);
            }
            let text = stored_fp_text(&rec);
            let title = stored_fp_title(&rec);
            let other = crate::fingerprint::lead::Summary::of_item(&title, &text);
            // the summaries first: most candidates fail there, before any strong word is
            // computed
            Ok(
                crate::dedup::summaries_agree(fp, &summary, &rec.fingerprint, &other).filter(
                    |_| {
                        this.subject()
                            .subjects_agree(&crate::dedup::Subject::new(&title, &text))
                    },
                ),
            )
        })
    }
}

/// The fingerprint title of a stored article (its display title with the site name cut), as
/// the second looks on the texts compare it with a new article's `fp_title`.
pub(super) fn stored_fp_title(rec: &ArticleRecord) -> String {
    crate::normalize::text::fingerprint_text(crate::normalize::title::strip_site_name(&rec.title))
}

/// The fingerprint text of a stored article, recomputed from its display text with the
/// built-in rules (operator-added rules are not applied: the second looks' thresholds absorb
/// the difference; see the [module docs](super)).
fn stored_fp_text(rec: &ArticleRecord) -> String {
    let rules = crate::normalize::Rules::shared_default();
    crate::normalize::stored_fp_text(&rec.title, &rec.text, &rules)
}

/// The article's date of publication (Unix seconds) when its feed gave one.
pub(super) fn published(a: &Article) -> Option<i64> {
    matches!(a.date_source, DateSource::Published | DateSource::Updated)
        .then(|| a.published.timestamp())
}

/// The stored article's date of publication (Unix seconds) when its feed gave one.
pub(super) fn dated(rec: &ArticleRecord) -> Option<i64> {
    matches!(rec.date_origin, DateOrigin::Published | DateOrigin::Updated)
        .then(|| rec.published.div_euclid(1000))
}
