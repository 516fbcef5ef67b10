//! Document fingerprints for near-duplicate detection.
//!
//! Input is the normalised `fp_title` / `fp_text` (NFKC, lowercased,
//! punctuation unified, datelines/bylines/boilerplate removed, paragraphs
//! separated by `\n`).  Each token is hashed once with xxh3-64 and shingle
//! hashes are combined from token hashes, so fingerprinting allocates only
//! thread-local scratch buffers that are reused across calls.
//!
//! Two shingle strategies:
//!
//! * **Long items** (body of more than [`SHORT_MAX_WORDS`] words, or
//!   [`SHORT_MAX_CHARS`] characters for [`Script::Chars`]): word 3-grams of
//!   the body (character 3-grams for `Chars`).  The title is ignored because
//!   outlets rewrite headlines freely.
//! * **Short items** (headline + summary, or headline only): title and text
//!   together, as word unigrams plus bigrams (character bigrams for
//!   `Chars`).  One edited word then changes only 3 of ~2n shingles.
//!
//! In both strategies n-grams made only of weak words (stop words, words of
//! one or two letters) are skipped (see [`shingle`]).  Shingles are
//! de-duplicated; [`Fingerprint::shingles`] is the number of distinct ones.

pub mod entities;
pub mod lead;
pub mod minhash;
pub mod shingle;
pub mod simhash;
mod words;

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

pub use minhash::{containment, jaccard, Sketch, ANCHORS, BINS};
pub use simhash::hamming;

use shingle::{DIGIT, WEAK};

/// Bodies with at most this many words are "short" (headline + summary).
pub const SHORT_MAX_WORDS: usize = 40;
/// For [`Script::Chars`], bodies with at most this many non-space
/// characters are "short".
pub const SHORT_MAX_CHARS: usize = 150;

/// How the text is split into tokens; the caller decides from the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Script {
    /// Space-separated scripts: word shingles.
    Words,
    /// Scripts without word spaces (CJK, Thai): character n-grams.
    Chars,
}

/// Normalised input of [`fingerprint`].
#[derive(Clone, Copy, Debug)]
pub struct FingerprintInput<'a> {
    /// Normalised title (`fp_title`).
    pub title: &'a str,
    /// Normalised text (`fp_text`), paragraphs separated by `\n`.
    pub text: &'a str,
    /// Tokenisation strategy.
    pub script: Script,
}

/// Fingerprint of one article.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// xxh3-128 of the (trimmed) normalised text, or of the title when the
    /// text is empty: identifies exact copies.
    pub content: u128,
    /// 64-bit SimHash over the distinct shingle hashes.  Weighting: every
    /// distinct shingle counts once (term frequency ignored, so a repeated
    /// phrase or boilerplate cannot dominate), shingles containing a number
    /// count twice (figures are what tell template stories apart), and
    /// weak-only n-grams are not shingles at all.  Only used as a cheap
    /// near-identity signal; candidate search and verification use `sketch`.
    pub simhash: u64,
    /// OPH MinHash bins, bottom-k anchors and number mask.
    pub sketch: Sketch,
    /// Number of distinct shingles (for containment estimates).
    pub shingles: u32,
    /// True for headline(+summary) items, which use the short-item shingles
    /// and the stricter short-item verification.
    pub short: bool,
    /// One bit per distinct name (capitalised word) of the lead: see [`entities`].  Needs the
    /// cased text, so [`fingerprint`] leaves it 0 ("unknown") and the caller fills it in
    /// (`fold::fingerprint_article` from `Article::entities`).  Schema 3.
    pub entities: u64,
}

#[derive(Default)]
struct Scratch {
    tokens: Vec<(u64, u8)>,
    /// A long item's lead: its title's tokens, then its text's first ones.
    lead: Vec<(u64, u8)>,
    /// The lead's words joined by single spaces, for its content hash.
    lead_text: String,
    shingles: ShingleSet,
}

/// The distinct-shingle set's cells, reused across calls.
#[derive(Default)]
struct ShingleSet {
    set: Vec<u64>,
    /// `stamp[i] == epoch` marks `set[i]` as filled in this call: the set is never cleared
    /// (an 8 KB `memset` per article), only the stamps when `epoch` wraps.
    stamp: Vec<u32>,
    epoch: u32,
}

impl ShingleSet {
    /// Makes the first `cap` cells of the set empty for a new call and returns the epoch.
    fn begin_set(&mut self, cap: usize) -> u32 {
        if self.set.len() < cap {
            self.set.resize(cap, 0);
            self.stamp.resize(cap, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.fill(0);
            self.epoch = 1;
        }
        self.epoch
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Distinct-shingle accumulator: de-duplicates with an open-addressing set
/// and feeds new shingles to the SimHash and OPH builders.
struct Acc<'s> {
    set: &'s mut [u64],
    stamp: &'s mut [u32],
    epoch: u32,
    mask: usize,
    count: u32,
    sim: simhash::SimHasher,
    oph: minhash::OphBuilder,
}

impl<'s> Acc<'s> {
    /// An empty accumulator over the set cells of one call (`set.len()` a power of two, the
    /// cells stamped with an older epoch than `epoch`, see [`ShingleSet::begin_set`]).
    #[inline(always)]
    fn new(set: &'s mut [u64], stamp: &'s mut [u32], epoch: u32) -> Self {
        let mask = set.len() - 1;
        Acc {
            set,
            stamp,
            epoch,
            mask,
            count: 0,
            sim: simhash::SimHasher::new(),
            oph: minhash::OphBuilder::new(),
        }
    }

    #[inline(always)]
    fn add(&mut self, h: u64, weight: u32, anchor: bool) {
        // h | 1, as when 0 marked an empty cell: hashes differing only in bit 0 stay one
        // shingle, so the fingerprints do not change
        let key = h | 1;
        let mut i = (h as usize) & self.mask;
        loop {
            if self.stamp[i] != self.epoch {
                self.stamp[i] = self.epoch;
                self.set[i] = key;
                break;
            }
            if self.set[i] == key {
                return;
            }
            i = (i + 1) & self.mask;
        }
        self.count += 1;
        self.sim.add(h, weight);
        self.oph.add(h, anchor);
    }
}

/// Computes the fingerprint of a normalised article.
pub fn fingerprint(input: &FingerprintInput) -> Fingerprint {
    SCRATCH.with(|cell| {
        let mut guard = cell.borrow_mut();
        let s = &mut *guard;
        let (fp, _) = fingerprint_in(s, input, false);
        fp
    })
}

/// [`fingerprint`], and for a long item also [`fingerprint_lead`] (`None` for a short one),
/// with one scan of the text: the lead's tokens are the first of the text's, so only the
/// title is tokenized again.
pub fn fingerprint_and_lead(input: &FingerprintInput) -> (Fingerprint, Option<Fingerprint>) {
    let (fp, lead_fp) = SCRATCH.with(|cell| {
        let mut guard = cell.borrow_mut();
        let s = &mut *guard;
        fingerprint_in(s, input, true)
    });
    match lead_fp {
        Some(l) => (fp, Some(l)),
        None if fp.short => (fp, None),
        // an unspaced script, or a text the scan could not take the lead from
        None => (fp, Some(fingerprint_lead(input))),
    }
}

/// The lead view of a long item: its title and the first [`SHORT_MAX_WORDS`] words of its
/// text ([`SHORT_MAX_CHARS`] characters for [`Script::Chars`]), fingerprinted as a short item.
/// The fold compares it with headline + summary items (rule 3b of `crate::fold`).
pub fn fingerprint_lead(input: &FingerprintInput) -> Fingerprint {
    let text: String = match input.script {
        Script::Chars => input
            .text
            .chars()
            .filter(|c| !c.is_whitespace())
            .take(SHORT_MAX_CHARS)
            .collect(),
        Script::Words => input
            .text
            .split_whitespace()
            .take(SHORT_MAX_WORDS)
            .collect::<Vec<_>>()
            .join(" "),
    };
    fingerprint(&FingerprintInput {
        title: input.title,
        text: &text,
        script: input.script,
    })
}

/// [`fingerprint`] on the scratch buffers; with `with_lead`, also the lead's fingerprint of a
/// long [`Script::Words`] item, from the same scan (`None` otherwise, and when the scan could
/// not tell where the lead ends: see [`shingle::word_tokens_lead`]).
fn fingerprint_in(
    s: &mut Scratch,
    input: &FingerprintInput,
    with_lead: bool,
) -> (Fingerprint, Option<Fingerprint>) {
    let title = input.title.trim();
    let text = input.text.trim();
    let content = xxh3_128(if text.is_empty() { title } else { text }.as_bytes());
    s.tokens.clear();
    // short items: title tokens, then text tokens; long items: the text's only
    let mut title_numbers = 0u64;
    let mut numbers = 0u64;
    // what the scan saw at the end of the text's first SHORT_MAX_WORDS words (the lead's)
    let mut lead_scan = None;
    let (n_title, n_text) = match input.script {
        Script::Words => {
            // The text first: a long item drops the title's tokens, so it need not make
            // them (nor move the text's tokens past them afterwards).
            let n_text = if with_lead {
                let (n, lead) =
                    shingle::word_tokens_lead(text, &mut s.tokens, &mut numbers, SHORT_MAX_WORDS);
                lead_scan = lead;
                n
            } else {
                shingle::word_tokens_paired(text, &mut s.tokens, &mut numbers)
            };
            if n_text <= SHORT_MAX_WORDS {
                s.tokens.clear();
                numbers = 0;
                lead_scan = None;
                (
                    shingle::word_tokens_paired(title, &mut s.tokens, &mut title_numbers),
                    shingle::word_tokens_paired(text, &mut s.tokens, &mut numbers),
                )
            } else {
                (0, n_text)
            }
        }
        Script::Chars => {
            shingle::number_mask(title, &mut title_numbers);
            shingle::number_mask(text, &mut numbers);
            (
                shingle::char_tokens_paired(title, &mut s.tokens),
                shingle::char_tokens_paired(text, &mut s.tokens),
            )
        }
    };
    let short = match input.script {
        Script::Words => n_text <= SHORT_MAX_WORDS,
        Script::Chars => n_text <= SHORT_MAX_CHARS,
    };
    if short {
        numbers |= title_numbers;
    }
    if !short {
        s.tokens.drain(..n_title);
    }
    let fp = sketch_tokens(
        &mut s.shingles,
        &s.tokens,
        input.script,
        short,
        numbers,
        content,
    );
    let lead_fp = lead_scan.map(|lead| {
        // As `fingerprint_lead` would: the title's tokens and the lead's, as one short item, and the
        // content hash of the lead's words joined by single spaces.
        s.lead.clear();
        let mut lead_numbers = lead.numbers;
        shingle::word_tokens_paired(title, &mut s.lead, &mut lead_numbers);
        s.lead.extend_from_slice(&s.tokens[..lead.tokens]);
        s.lead_text.clear();
        for w in text[..lead.end].split_whitespace() {
            if !s.lead_text.is_empty() {
                s.lead_text.push(' ');
            }
            s.lead_text.push_str(w);
        }
        let content = xxh3_128(s.lead_text.as_bytes());
        sketch_tokens(
            &mut s.shingles,
            &s.lead,
            Script::Words,
            true,
            lead_numbers,
            content,
        )
    });
    (fp, lead_fp)
}

/// The fingerprint of an item's tokens (`short`: headline + summary shingles).
fn sketch_tokens(
    cells: &mut ShingleSet,
    t: &[(u64, u8)],
    script: Script,
    short: bool,
    numbers: u64,
    content: u128,
) -> Fingerprint {
    let n = t.len();
    let cap = (2 * n + 16).next_power_of_two();
    let epoch = cells.begin_set(cap);
    let mut acc = Acc::new(&mut cells.set[..cap], &mut cells.stamp[..cap], epoch);
    let w = |fl: u8| if fl & DIGIT != 0 { 2 } else { 1 };
    match (script, short) {
        (Script::Words, false) => {
            if n < 3 {
                if let Some(&(a, _)) = t.first() {
                    let b = t.get(1).map_or(0, |&(h, _)| h);
                    acc.add(shingle::tri(a, b, 0), 1, true);
                }
            } else {
                for tw in t.windows(3) {
                    let &[(a, fa), (b, fb), (c, fc)] = tw else {
                        continue;
                    };
                    if fa & fb & fc & WEAK != 0 {
                        continue;
                    }
                    acc.add(shingle::tri(a, b, c), w(fa | fb | fc), true);
                }
            }
        }
        (Script::Words, true) => {
            for i in 0..n {
                let (h, fl) = t[i];
                if fl & WEAK == 0 {
                    acc.add(shingle::uni(h), w(fl), false);
                }
                if let Some(&(h2, fl2)) = t.get(i + 1) {
                    if fl & fl2 & WEAK == 0 {
                        acc.add(shingle::bi(h, h2), w(fl | fl2), true);
                    }
                }
            }
        }
        (Script::Chars, short) => {
            let k = if short { 2 } else { 3 };
            // the hashes of one window (k <= 3), for `shingle::chars`
            let mut hs = [0u64; 3];
            let mut window = |win: &[(u64, u8)]| {
                let mut any = 0;
                for (d, &(h, fl)) in hs.iter_mut().zip(win) {
                    *d = h;
                    any |= fl;
                }
                let m = win.len().min(hs.len());
                acc.add(shingle::chars(&hs[..m]), w(any), true);
            };
            if n < k {
                if n > 0 {
                    window(t);
                }
            } else {
                for win in t.windows(k) {
                    window(win);
                }
            }
        }
    }
    let count = acc.count;
    let simhash = acc.sim.finish();
    let mut sketch = acc.oph.finish();
    sketch.numbers = numbers;
    Fingerprint {
        content,
        simhash,
        sketch,
        shingles: count,
        short,
        entities: 0,
    }
}

#[cfg(test)]
mod tests;
