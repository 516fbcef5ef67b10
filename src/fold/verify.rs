//! The second looks of rule 3 on the texts (3a–3d of the [fold stage](super)): a match the
//! index found is checked against the candidate's texts, and the short-item searches that go
//! past the sketches (short ↔ long, short ↔ short on the summary).
//!
//! Written once, over [`Seen`]: the daemon reads a candidate from the batch being folded or
//! the store ([`Stored`]), the evaluation (`crate::eval`) from the items it keeps in memory.
//! So the eval scores the fold's own decisions, not a copy of them.

use std::borrow::Cow;
use std::cell::OnceCell;

use super::batch::Batch;
use super::{Folder, LONG_CANDIDATES};
use crate::dedup::{ArticleId, DedupParams, Index, Match, MatchKind, ShortItem};
use crate::fingerprint::lead::Summary;
use crate::fingerprint::{Fingerprint, Script};
use crate::normalize::{Article, Rules};
use crate::storage::{ArticleRecord, Millis, StoreError};

/// An indexed article as the second looks read it.
pub(crate) trait SeenArticle {
    /// Its fingerprint.
    fn fingerprint(&self) -> &Fingerprint;
    /// Its fingerprint title (the headline with the site name cut, as `Article::fp_title`).
    fn fp_title(&self) -> Cow<'_, str>;
    /// Its fingerprint text (as `Article::fp_text`).
    fn fp_text(&self) -> Cow<'_, str>;
    /// Its date of publication (Unix seconds) when its feed gave one.
    fn published(&self) -> Option<i64>;
    /// The source it came from, where the candidates have one (the eval's do not).
    fn source(&self) -> Option<&str> {
        None
    }
}

/// Where the second looks find an indexed article.
pub(crate) trait Seen {
    /// What they read of it.
    type Article<'s>: SeenArticle
    where
        Self: 's;
    /// Why reading it failed.
    type Error;
    /// The article `id`; `None` when it is gone (retention), which keeps the match.
    fn article(&self, id: ArticleId) -> Result<Option<Self::Article<'_>>, Self::Error>;
}

/// The second looks for one new article `a` (fingerprint `fp`, folded at `now`, Unix
/// seconds), reading candidates from `seen`.
pub(crate) struct SecondLooks<'a, S> {
    params: &'a DedupParams,
    seen: S,
    a: &'a Article,
    fp: &'a Fingerprint,
    /// `a` as a short item: its strong words are computed once, for every candidate.
    this: ShortItem<'a>,
    /// `a`'s summary view (rules 3b and 3c), made once for both searches.
    summary: OnceCell<Summary>,
    now: i64,
    /// The source `a` came from ([`SecondLooks::of_source`]), for rule 3e.
    source: Option<&'a str>,
}

impl<'a, S: Seen> SecondLooks<'a, S> {
    pub(crate) fn new(
        params: &'a DedupParams,
        seen: S,
        a: &'a Article,
        fp: &'a Fingerprint,
        now: i64,
    ) -> Self {
        SecondLooks {
            params,
            seen,
            a,
            fp,
            this: ShortItem::new(&a.fp_title, &a.fp_text, published(a)),
            summary: OnceCell::new(),
            now,
            source: None,
        }
    }

    /// Names the source `a` came from, so that rule 3e can tell another item of the same
    /// source from another outlet's copy.
    pub(crate) fn of_source(mut self, source: &'a str) -> Self {
        self.source = Some(source);
        self
    }

    /// Rule 3e: `other` is another item of `a`'s own source whose headline names another
    /// thing. An outlet puts one boilerplate summary (a hotline notice, a "virus latest"
    /// box, a campaign paragraph) under its different stories; as headline + summary items
    /// they verified as one text. Across sources a rewritten headline is an outlet's own.
    fn another_item_of_the_source(&self, other: &S::Article<'_>) -> bool {
        self.source.is_some()
            && other.source() == self.source
            && !crate::dedup::same_headline(&self.a.fp_title, &other.fp_title())
    }

    /// `a`'s summary view: its text's words and 3-grams, its headline's figures.
    fn summary(&self) -> &Summary {
        self.summary
            .get_or_init(|| Summary::of_item(&self.a.fp_title, &self.a.fp_text, self.script()))
    }

    /// How `a`'s texts are split into tokens (characters for scripts without word spaces).
    fn script(&self) -> Script {
        super::fingerprint_input(self.a).script
    }

    /// Whether a match [`Index::find_all`] gave holds on the texts: rule 3a's second
    /// verification for a headline + summary item, rule 3d's headline guard for a long one.
    /// A candidate that is gone is kept.
    fn holds(&self, m: &Match) -> Result<bool, S::Error> {
        if self.fp.short {
            self.short_match_holds(m)
        } else {
            self.long_match_holds(m)
        }
    }

    /// Rules 3b and 3c, for an article [`Index::find_all`] matched with nothing: the
    /// headline-and-summary item whose text is this long article's lead (`lead`,
    /// [`Index::find_leads`], the first of them that may take it); for a headline-and-summary item, the long article that contains
    /// it, else the headline-and-summary item with the same summary.
    pub(crate) fn find(
        &self,
        index: &Index,
        lead: Option<&Fingerprint>,
    ) -> Result<Option<Match>, S::Error> {
        for m in lead.map_or_else(Vec::new, |l| index.find_leads(l, self.now)) {
            if self.lead_holds(m.article)? {
                return Ok(Some(m));
            }
        }
        match self.short_in_long(index)? {
            Some(m) => Ok(Some(m)),
            None => self.short_by_summary(index),
        }
    }

    /// Rule 3b, long → short: whether the headline + summary item `id` whose text is this
    /// long article's lead may take it: not when its headline says the opposite of `a`'s
    /// (rule 3g, [`crate::dedup::headlines_contradict`]), nor when it is another item of
    /// `a`'s own source (rule 3e: an outlet's boilerplate paragraph opens several of its
    /// stories). An article that is gone may.
    fn lead_holds(&self, id: ArticleId) -> Result<bool, S::Error> {
        Ok(self.seen.article(id)?.is_none_or(|other| {
            !self.contradicts(&other.fp_title()) && !self.another_item_of_the_source(&other)
        }))
    }

    /// Rule 3g against headline `title` (a fingerprint title).
    fn contradicts(&self, title: &str) -> bool {
        crate::dedup::headlines_contradict(&self.a.fp_title, title)
    }

    /// Rule 3a: a headline + summary item joins a story by a near match `m` only while the
    /// story is younger than `short_window` (its creation, `created`, to `now`, both in ms);
    /// exact copies keep the full window, and long articles are not held to it. A near copy
    /// of a copy twelve hours late would otherwise chain the next day's issue of a daily
    /// template onto the first ("hog and cattle slaughter guesstimates").
    pub(crate) fn story_young(&self, m: &Match, created: Millis, now: Millis) -> bool {
        let p = self.params;
        let span = i64::try_from(p.short_window.min(p.window).as_millis()).unwrap_or(i64::MAX);
        !self.fp.short || m.kind == MatchKind::Exact || now.saturating_sub(created) <= span
    }

    /// Rule 3a, second verification of a match between headline + summary items on their
    /// texts ([`crate::dedup::short_match_holds`]: an exact copy published a day apart is a
    /// recurring template; a thin summary needs agreeing headlines).
    fn short_match_holds(&self, m: &Match) -> Result<bool, S::Error> {
        let Some(other) = self.seen.article(m.article)? else {
            return Ok(true);
        };
        if m.kind == MatchKind::Near && self.another_item_of_the_source(&other) {
            return Ok(false);
        }
        // an exact copy is checked on its dates only
        let (title, text) = if m.kind == MatchKind::Near {
            (other.fp_title(), other.fp_text())
        } else {
            (Cow::Borrowed(""), Cow::Borrowed(""))
        };
        let other = ShortItem::new(&title, &text, other.published());
        Ok(crate::dedup::short_match_holds(
            self.params,
            m.kind,
            &self.this,
            &other,
        ))
    }

    /// Rule 3d, the headline guard of a near match between long articles
    /// ([`crate::dedup::headline_figures_agree`]: headlines that each carry a figure the other
    /// lacks report different facts). An exact copy holds unless it is another item of `a`'s
    /// own source under another headline published more than `short_window` apart (rule 3e):
    /// an outlet's boilerplate text of over 40 words under two days' live blogs (SMH's hotline
    /// notice, doubled in its feed). Only candidates with a source (the daemon's) are read for
    /// that.
    fn long_match_holds(&self, m: &Match) -> Result<bool, S::Error> {
        let dated = self.source.is_some() && self.this.published.is_some();
        if m.kind == MatchKind::Exact && !dated {
            return Ok(true);
        }
        let Some(other) = self.seen.article(m.article)? else {
            return Ok(true);
        };
        if m.kind == MatchKind::Exact {
            let close =
                crate::dedup::published_close(self.params, self.this.published, other.published());
            return Ok(close || !self.another_item_of_the_source(&other));
        }
        Ok(crate::dedup::long_headlines_agree(
            (&self.a.fp_title, || Cow::Borrowed(self.a.fp_text.as_str())),
            (&other.fp_title(), || other.fp_text()),
        ))
    }

    /// The match [`Index::find_all`] gave, if it [holds](SecondLooks::holds); for an exact
    /// copy that does not (another day's issue of the same words, rule 2), the newest of the
    /// older exact copies in the window that does.
    pub(crate) fn holding(&self, index: &Index, m: Match) -> Result<Option<Match>, S::Error> {
        if self.holds(&m)? {
            return Ok(Some(m));
        }
        if m.kind == MatchKind::Exact {
            for older in index.exact_all(self.fp, self.now) {
                if older.article != m.article && self.holds(&older)? {
                    return Ok(Some(older));
                }
            }
        }
        Ok(None)
    }

    /// Rule 3b, short → long: the long article (within `short_window`) whose body contains
    /// this headline + summary item's text, verified on the texts
    /// ([`crate::dedup::short_in_long`]).
    fn short_in_long(&self, index: &Index) -> Result<Option<Match>, S::Error> {
        if !self.fp.short {
            return Ok(None);
        }
        // the text's 3-grams (`lead::trigrams`), from the summary view rule 3c needs too
        let tris = &self.summary().trigrams;
        let script = self.script();
        if tris.len() < crate::dedup::summary_min_trigrams(script) {
            return Ok(None);
        }
        let candidates = index.long_candidates(tris, self.now, LONG_CANDIDATES);
        crate::dedup::best_verified(candidates, |article| {
            let Some(other) = self.seen.article(article)? else {
                return Ok(None);
            };
            // the long text is read (in the daemon: recomputed with the rules) only past the
            // fingerprints' guards; kept for the order check of unspaced scripts
            let mut body = None;
            let c = crate::dedup::short_in_long(self.fp, tris, other.fingerprint(), || {
                body.insert(crate::fingerprint::lead::trigrams(&other.fp_text(), script))
            });
            Ok(c.filter(|_| {
                (script == Script::Words
                    || body
                        .as_deref()
                        .is_some_and(|b| crate::dedup::held_as_written(&self.summary().ordered, b)))
                    && !self.contradicts(&other.fp_title())
                    && !self.another_item_of_the_source(&other)
            }))
        })
    }

    /// Rule 3c, short → short on the summary: the headline + summary item (within
    /// `short_window`) whose summary is this one's, headlines left out, verified on the texts
    /// ([`crate::dedup::summaries_agree`]); candidates from the index by their anchors. Not
    /// for scripts without word spaces: its runs and anchors are counted in words.
    fn short_by_summary(&self, index: &Index) -> Result<Option<Match>, S::Error> {
        if !self.fp.short || self.script() == Script::Chars {
            return Ok(None);
        }
        let fp = self.fp;
        let summary = self.summary();
        if summary.trigrams.len() < crate::dedup::SUMMARY_MIN_TRIGRAMS {
            return Ok(None);
        }
        let bigrams = summary.bigrams();
        let candidates = index.short_candidates(&bigrams, self.now, LONG_CANDIDATES);
        crate::dedup::best_verified(candidates, |article| {
            let Some(other) = self.seen.article(article)? else {
                return Ok(None);
            };
            // the checks on the fingerprint and the date first: the texts may be recomputed
            if !crate::dedup::published_close(self.params, self.this.published, other.published())
                || !crate::dedup::summary_names_agree(fp, other.fingerprint())
                || self.another_item_of_the_source(&other)
            {
                return Ok(None);
            }
            let (title, text) = (other.fp_title(), other.fp_text());
            let theirs = Summary::of_item(&title, &text, Script::Words);
            // the summaries first: most candidates fail there, before any strong word is
            // computed
            Ok(
                crate::dedup::summaries_agree(fp, summary, other.fingerprint(), &theirs).filter(
                    |_| {
                        self.this
                            .subject()
                            .subjects_agree(&crate::dedup::Subject::new(&title, &text))
                            && !self.contradicts(&title)
                    },
                ),
            )
        })
    }
}

/// The daemon's candidates: this batch's writes (the newest), else the store.
pub(super) struct Stored<'a> {
    pub(super) folder: &'a Folder,
    pub(super) batch: &'a Batch,
}

impl Seen for Stored<'_> {
    type Article<'s>
        = StoredArticle<'s>
    where
        Self: 's;
    type Error = StoreError;

    fn article(&self, id: ArticleId) -> Result<Option<StoredArticle<'_>>, StoreError> {
        let record = match self.batch.writes.iter().rev().find(|(r, _)| r.id == id) {
            Some((r, _)) => Cow::Borrowed(r),
            None => match self.folder.store.article(id)? {
                Some(r) => Cow::Owned(r),
                None => return Ok(None),
            },
        };
        Ok(Some(StoredArticle {
            record,
            rules: self.folder.rules(),
        }))
    }
}

/// A stored candidate: borrowed from the batch (an article and its text are not copied per
/// look), owned when read from the store; its fingerprint texts are recomputed from its
/// display texts with the rules the ingest normalizes with ([`Folder::use_rules`]).
pub(super) struct StoredArticle<'s> {
    record: Cow<'s, ArticleRecord>,
    rules: &'s Rules,
}

impl SeenArticle for StoredArticle<'_> {
    fn fingerprint(&self) -> &Fingerprint {
        &self.record.fingerprint
    }
    fn fp_title(&self) -> Cow<'_, str> {
        Cow::Owned(crate::normalize::text::fingerprint_text(
            crate::normalize::title::strip_site_name(&self.record.title),
        ))
    }
    fn fp_text(&self) -> Cow<'_, str> {
        Cow::Owned(crate::normalize::stored_fp_text(
            &self.record.title,
            &self.record.text,
            self.rules,
        ))
    }
    fn published(&self) -> Option<i64> {
        let r = &self.record;
        r.date_origin
            .from_feed()
            .then(|| r.published.div_euclid(1000))
    }
    fn source(&self) -> Option<&str> {
        Some(&self.record.source)
    }
}

/// The article's date of publication (Unix seconds) when its feed gave one.
fn published(a: &Article) -> Option<i64> {
    a.date_source.from_feed().then(|| a.published.timestamp())
}
