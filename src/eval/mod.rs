//! Folding quality you can rerun: labeled sets, the wirefold pipeline over them, a side-by-side
//! peer (Python datasketch `MinHashLSH`), and the scores.
//!
//! # Sets
//! - [`reuters::edits`]: Reuters-21578 stories and wire-style copies of them made by a seeded
//!   generator (every edit documented in [`reuters`]), mixed with every other story of the
//!   collection as distractors; long items (full text) and short items (headline + summary).
//! - [`reuters::natural`]: the whole collection as it is, with the natural near-duplicates it
//!   contains (re-sends, corrections, reworded repeats) labeled by the rule in [`reuters`].
//! - [`fixtures::set`]: the shared wire story with edited copies, plus our own template traps.
//! - [`feeds`]: replay of the real captured feeds with hand-labeled cross-feed pairs.
//!
//! # Scores
//! Pairwise over clusters: a pair of items is *predicted together* when the run put them in
//! one story, *truly together* when their labels agree. Precision = predicted-and-true /
//! predicted, recall = predicted-and-true / true, F1 their harmonic mean; the adjusted Rand
//! index (Hubert & Arabie) compares the two partitions corrected for chance.
//!
//! # What runs
//! Each item becomes a [`RawEntry`] (headline, HTML body, date), goes through the real
//! [`normalize`](crate::normalize::normalize) (one language detection per poll of 30 items,
//! [`FeedLanguage`], as the ingest stage does), [`fingerprint_article_and_lead`] and the
//! in-memory [`Index`] in time order: `find_all`, the fold's own second looks on the texts
//! (rules 3a-3d of [`crate::fold`], the same code as the daemon's, with the candidates read
//! from memory instead of the store), then `insert` into the best match's story or a new one,
//! merging bridged stories by rule 5 — the decision path of [`crate::fold::Folder`] without
//! the store writes. The peer gets the same normalized text (headline + fingerprint text), so
//! the comparison is between the indexes and verification rules, not between normalizers.

pub mod command;
pub mod feeds;
pub mod fixtures;
pub mod metrics;
pub mod peer;
pub mod reuters;
pub mod rng;

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::dedup::{DedupParams, Index};
use crate::fingerprint::Fingerprint;
use crate::fold::{fingerprint_article_and_lead, SecondLooks, Seen, SeenArticle};
use crate::normalize::{FeedLanguage, NormalizeOptions, RawEntry};

pub use metrics::{scores, Scores};

/// One labeled item of a set.
#[derive(Debug, Clone)]
pub struct EvalItem {
    /// Headline as an outlet would show it.
    pub title: String,
    /// Body as HTML (or plain text with blank-line paragraphs).
    pub body: String,
    /// When the item appeared (items are processed in this order).
    pub at: DateTime<Utc>,
    /// True story label: items with equal labels are the same story.
    pub label: u64,
}

/// A named labeled set.
#[derive(Debug, Clone)]
pub struct EvalSet {
    /// Short name printed in reports.
    pub name: String,
    /// Items, in any order (runs sort them by time, stably).
    pub items: Vec<EvalItem>,
}

/// Result of running wirefold over a set.
#[derive(Debug, Clone)]
pub struct Run {
    /// Predicted story of each item (same order as the set's items after sorting).
    pub predicted: Vec<u64>,
    /// Normalized text handed to the peer: fingerprint title, newline, fingerprint text.
    pub fp_texts: Vec<String>,
    /// Time spent in normalize.
    pub normalize: Duration,
    /// Time spent in fingerprint.
    pub fingerprint: Duration,
    /// Time spent in the index and the fold rules (evictions, lookups, second looks, inserts).
    pub fold: Duration,
    /// Index bytes per article when the window was fullest: the most bytes the index held over
    /// the most articles it held (it evicts what leaves the window, as the daemon's does).
    pub bytes_per_article: f64,
}

/// Sorts a set's items by time (stable) and returns it.
pub fn sorted(mut set: EvalSet) -> EvalSet {
    set.items.sort_by_key(|i| i.at);
    set
}

/// Converts an item to the raw entry the parse stage would have produced.
pub fn raw_entry(item: &EvalItem, n: usize) -> RawEntry {
    RawEntry {
        guid: Some(format!("eval-{n}")),
        title: Some(item.title.clone()),
        content: Some(item.body.clone()),
        published: Some(item.at),
        ..RawEntry::default()
    }
}

/// Items the eval hands to normalize as one poll of one feed: the sets declare no language,
/// and the ingest stage detects it once per poll (`normalize::FeedLanguage`); 30 is the
/// item count of the ingest benchmarks' feeds.
pub const POLL_ITEMS: usize = 30;

/// Runs normalize → fingerprint → index over `items` (already in time order).
pub fn run_wirefold(items: &[EvalItem], params: &DedupParams) -> Run {
    let mut index = Index::new(params.clone());
    // the largest the index got (bytes) and the most articles it held
    let (mut peak_bytes, mut peak_len) = (0usize, 0usize);
    let mut predicted = Vec::with_capacity(items.len());
    let mut fp_texts = Vec::with_capacity(items.len());
    let (mut t_norm, mut t_fp, mut t_fold) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut opts = NormalizeOptions::new(Utc::now());
    let mut members: HashMap<u64, Vec<u64>> = HashMap::new();
    let mut merged: HashMap<u64, u64> = HashMap::new();
    // each story's first item time, for rule 3a's story span of short near copies
    let mut first_at: HashMap<u64, i64> = HashMap::new();
    // every item folded, by article id (= position), for the second looks
    let mut seen: Vec<Kept> = Vec::with_capacity(items.len());
    let mut language = FeedLanguage::default();
    // the daemon evicts what left the window once a minute (`Folder::evict`), the feed replay
    // each hour of capture time; so does this, by item time
    let window = i64::try_from(params.window.as_secs()).unwrap_or(i64::MAX);
    let mut next_evict = i64::MIN;
    for (n, item) in items.iter().enumerate() {
        let mut raw = raw_entry(item, n);
        opts.now = item.at;
        if n % POLL_ITEMS == 0 {
            // a new poll: the ingest stage detects the language of a feed that declares
            // none once per poll, on its first entry (`FeedLanguage`)
            language = FeedLanguage::default();
        }
        let t0 = Instant::now();
        let a = language.normalize(&mut raw, &opts);
        let t1 = Instant::now();
        // The lead view too, from the same scan, as the fold makes it before its lock. Made
        // apart only for the items that match nothing it would cost more: that is 73 % of
        // the long set's items, at ~39,000 instructions each against ~21,000 from the scan
        // for every one (`examples/fp_stages.rs`, `lead-apart` and `lead`).
        let (fp, lead): (Fingerprint, _) = fingerprint_article_and_lead(&a);
        let t2 = Instant::now();
        let at = item.at.timestamp();
        if at >= next_evict {
            index.evict_before(at.saturating_sub(window));
            next_evict = at.saturating_add(3600);
        }
        // the fold's decision path (`crate::fold`, rules 3a-3d), its candidates read from
        // memory
        let looks = SecondLooks::new(params, Memory(&seen), &a, &fp, at);
        // rule 3a's story span, from each story's first item
        let young = |m: &crate::dedup::Match| {
            first_at.get(&m.story).is_none_or(|&t| {
                looks.story_young(m, t.saturating_mul(1000), at.saturating_mul(1000))
            })
        };
        let mut matches = Vec::new();
        for m in index.find_all(&fp, at) {
            let Ok(m) = looks.holding(&index, m);
            if let Some(m) = m.filter(|m| young(m)) {
                matches.push(m);
            }
        }
        if matches.is_empty() {
            let Ok(found) = looks.find(&index, lead.as_ref());
            matches.extend(found.filter(|m| young(m)));
        }
        let story = match matches.first() {
            None => n as u64,
            Some(best) => {
                let mut survivor = best.story;
                // rule 5 of `crate::fold`: a bridge merges the stories into the earliest
                let others: Vec<u64> = matches[1..]
                    .iter()
                    .filter(|m| {
                        matches!(
                            crate::fold::bridges(params, &Memory(&seen), best, m),
                            Ok(true)
                        )
                    })
                    .map(|m| m.story)
                    .collect();
                for &o in &others {
                    survivor = survivor.min(o);
                }
                for o in others.iter().copied().chain(std::iter::once(best.story)) {
                    if o != survivor {
                        if let Some(t) = first_at.remove(&o) {
                            let f = first_at.entry(survivor).or_insert(t);
                            *f = (*f).min(t);
                        }
                        for a in members.remove(&o).unwrap_or_default() {
                            index.set_story(a, survivor);
                            members.entry(survivor).or_default().push(a);
                        }
                        merged.insert(o, survivor);
                    }
                }
                survivor
            }
        };
        members.entry(story).or_default().push(n as u64);
        first_at.entry(story).or_insert(at);
        seen.push(Kept {
            fp: fp.clone(),
            title: a.fp_title.clone(),
            text: a.fp_text.clone(),
            published: at,
        });
        index.insert(n as u64, story, &fp, at);
        peak_bytes = peak_bytes.max(index.approx_bytes());
        peak_len = peak_len.max(index.len());
        let t3 = Instant::now();
        t_norm += t1 - t0;
        t_fp += t2 - t1;
        t_fold += t3 - t2;
        predicted.push(story);
        fp_texts.push(format!("{}\n{}", a.fp_title, a.fp_text));
    }
    let resolve = |mut s: u64| {
        while let Some(&t) = merged.get(&s) {
            s = t;
        }
        s
    };
    let predicted = predicted.into_iter().map(resolve).collect();
    Run {
        predicted,
        fp_texts,
        normalize: t_norm,
        fingerprint: t_fp,
        fold: t_fold,
        bytes_per_article: peak_bytes as f64 / peak_len.max(1) as f64,
    }
}

/// What the eval keeps of an item it folded, for the fold's second looks on the texts.
struct Kept {
    fp: Fingerprint,
    title: String,
    text: String,
    /// The item's time: the eval's items are published when they appear.
    published: i64,
}

/// The items folded so far, by article id (their position): where the eval's second looks
/// find their candidates (the daemon's read the store).
struct Memory<'a>(&'a [Kept]);

impl Seen for Memory<'_> {
    type Article<'s>
        = &'s Kept
    where
        Self: 's;
    type Error = Infallible;

    fn article(&self, id: u64) -> Result<Option<&Kept>, Infallible> {
        Ok(usize::try_from(id).ok().and_then(|i| self.0.get(i)))
    }
}

impl SeenArticle for &Kept {
    fn fingerprint(&self) -> &Fingerprint {
        &self.fp
    }
    fn fp_title(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.title)
    }
    fn fp_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.text)
    }
    fn published(&self) -> Option<i64> {
        Some(self.published)
    }
}

/// Options of [`evaluate`].
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Index parameters for wirefold.
    pub params: DedupParams,
    /// Run the datasketch peer (needs `python3` with datasketch: `scripts/install-peers.sh`).
    pub peer: Option<peer::PeerConfig>,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Row {
    /// Set name.
    pub set: String,
    /// System (`wirefold`, `datasketch t=0.50`).
    pub system: String,
    /// Items in the set.
    pub items: usize,
    /// True pairs in the set.
    pub true_pairs: u64,
    /// Scores.
    pub scores: Scores,
    /// Wall time of the run.
    pub secs: f64,
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.scores;
        write!(
            f,
            "| {} | {} | {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.3} | {:.0} |",
            self.set,
            self.system,
            self.items,
            self.true_pairs,
            s.precision,
            s.recall,
            s.f1,
            s.ari,
            self.secs,
            self.items as f64 / self.secs.max(1e-9)
        )
    }
}

/// Header matching [`Row`]'s display.
pub const HEADER: &str = "| set | system | items | true pairs | precision | recall | F1 | ARI | time s | items/s |\n|---|---|---|---|---|---|---|---|---|---|";

/// Runs wirefold (and the peer, when configured) over one set; returns the report rows.
pub fn evaluate(set: EvalSet, opts: &EvalOptions) -> Vec<Row> {
    let set = sorted(set);
    let truth: Vec<u64> = set.items.iter().map(|i| i.label).collect();
    let run = run_wirefold(&set.items, &opts.params);
    let secs = (run.normalize + run.fingerprint + run.fold).as_secs_f64();
    let s = scores(&truth, &run.predicted);
    let mut rows = vec![Row {
        set: set.name.clone(),
        system: "wirefold".into(),
        items: set.items.len(),
        true_pairs: s.true_pairs,
        scores: s,
        secs,
    }];
    crate::cli::note(format_args!(
        "{}: normalize {:.3}s, fingerprint {:.3}s, index {:.3}s ({:.0} decisions/s), {:.0} index bytes/article",
        set.name,
        run.normalize.as_secs_f64(),
        run.fingerprint.as_secs_f64(),
        run.fold.as_secs_f64(),
        set.items.len() as f64 / run.fold.as_secs_f64().max(1e-9),
        run.bytes_per_article
    ));
    if let Ok(dir) = std::env::var("WIREFOLD_EVAL_DUMP") {
        // one JSON line per item, for looking at the errors
        let path = std::path::Path::new(&dir).join(format!("{}.jsonl", set.name.replace(' ', "_")));
        if let Ok(mut f) = std::fs::File::create(&path) {
            use std::io::Write;
            for ((it, p), fp) in set.items.iter().zip(&run.predicted).zip(&run.fp_texts) {
                let line = serde_json::json!({"label": it.label, "story": p, "at": it.at.timestamp(), "title": it.title, "fp": fp});
                let _ = writeln!(f, "{line}");
            }
        }
    }
    if set.items.len() <= 40 {
        for (it, p) in set.items.iter().zip(&run.predicted) {
            crate::cli::note(format_args!(
                "  label {:>3} story {:>3}  {}",
                it.label, p, it.title
            ));
        }
    }
    if let Some(cfg) = &opts.peer {
        match peer::run_datasketch(cfg, &run.fp_texts) {
            Ok(runs) => {
                let mut best: Option<Row> = None;
                for r in runs {
                    let s = scores(&truth, &r.labels);
                    let row = Row {
                        set: set.name.clone(),
                        system: format!("datasketch t={:.2}", r.threshold),
                        items: set.items.len(),
                        true_pairs: s.true_pairs,
                        scores: s,
                        secs: r.secs,
                    };
                    if best.as_ref().is_none_or(|b| row.scores.f1 > b.scores.f1) {
                        best = Some(row);
                    }
                }
                if let Some(mut b) = best {
                    b.system = format!("{} (best F1)", b.system);
                    rows.push(b);
                }
            }
            Err(e) => crate::cli::note(format_args!("{}: datasketch not run: {e}", set.name)),
        }
    }
    rows
}

/// Groups item indexes by label (used by set builders to check their labels).
pub fn clusters(labels: &[u64]) -> HashMap<u64, Vec<usize>> {
    let mut m: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, &l) in labels.iter().enumerate() {
        m.entry(l).or_default().push(i);
    }
    m
}
