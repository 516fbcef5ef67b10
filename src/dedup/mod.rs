//! Near-duplicate index: folds wire copies into stories.
//!
//! **Candidate search: bottom-k anchors, not SimHash tables.**  Each
//! fingerprint carries the 12 smallest shingle hashes (32-bit "anchors";
//! bigrams only for short items).  The index keeps one open-addressing table
//! `anchor -> slot` (4-byte cells: slot id + a tag of the remaining bits) and looks a new item
//! up by each of its anchors.  A copy shares ~`12·J` anchors with its
//! original, and for a trimmed copy `A ⊂ B` every anchor of `B` inside `A`
//! is also an anchor of `A`, so candidate recall follows containment-ish
//! resemblance: at `J = 0.3` the chance of sharing no anchor is 0.7^12 ≈ 1%.
//! Measured alternative: a 64-bit SimHash found ~5% of edited copies at
//! distance 3 and ~50% at 10, since trimming moves many bits; Manku tables
//! cannot reach 95% recall.  SimHash is kept only as an extra near-identity
//! acceptance rule (`simhash_max_distance`).  Very common anchors (and
//! stories republished hundreds of times) are capped at `max_postings`
//! entries per key, which bounds the lookup cost.
//!
//! **Verification.**  Candidates must be in the time window, of the same
//! kind (short/long) and pass:
//! * the *number guard*: the figures (64-bit number mask) of the smaller
//!   item must appear in the larger (short items, and long items first seen
//!   more than `short_window` apart: all; other long items: see
//!   `Index::verify`), which keeps template stories and daily issues apart;
//! * the *entity guard*: the names of the lead (64-bit mask of capitalised words, see
//!   [`crate::fingerprint::entities`]) must agree — one side's inside the other's, or at most
//!   one name extra on each side — which keeps template stories about other companies,
//!   organisations or places apart (the SCO / ASEAN twin); items without a mask are not
//!   checked;
//! * long items: estimated Jaccard `J >= min_similarity` (0.2) and estimated
//!   containment `C = J(|A|+|B|)/((1+J)·min(|A|,|B|)) >= min_containment`
//!   (0.6: a trimmed copy shares nearly all of its text, while two releases on one template
//!   that share their background paragraphs, about half of each, fold at 0.5; on the Reuters
//!   sets 0.6 also lifts long and natural precision for a few natural re-sends, BENCHMARKS.md),
//!   `J` from 128 one-permutation MinHash bins of 4 bits;
//! * short items: `J >= short_min_similarity` (0.45), or
//!   `tiny_min_similarity` (0.6) for headline-only items, or — for a
//!   summary trimmed to its first sentences — estimated containment
//!   `C >= 0.85` with `J >= 0.3` (no change on the Reuters sets; folds the
//!   trimmed Chinese fixture copy).
//!
//! The best candidate by (score, Jaccard, recency) wins; exact content
//! matches (same content hash and sketch) are checked first.  Items
//! without a match here get second looks in `crate::fold` (rules 3b, 3c:
//! [`short_in_long`], [`summaries_agree`]), verified on the texts with
//! candidates from this index ([`Index::long_candidates`],
//! [`Index::short_candidates`]).
//!
//! **Time.**  Candidates must lie within `window` (72 h); short items'
//! near copies within `short_window` (18 h) — a headline and summary that
//! recur a day later are a daily template, not a copy — while exact copies
//! of short items (one item in two feeds of one outlet) use the full window;
//! the fold stage then checks their dates of publication ([`short_match_holds`]).
//!
//! **Measured** with `wirefold eval` (see `crate::eval` and BENCHMARKS.md):
//! Reuters-21578 with seeded wire edits, every other story of the collection
//! as a distractor at its real date: long precision 0.990 / recall 0.983
//! (0.986 / 0.983 on the same labels before the headline-figure rule 3d of `crate::fold`, the
//! daily-issue and same-size caps of the number guard), short 0.983 / 0.987 (labels of
//! 2026-12-01; 0.979 / 0.990 on the earlier ones, 0.960 / 0.990 before the second verification of short
//! matches on their texts, `crate::fold` rule 3a; 0.961 / 0.988 before
//! short ↔ short on the summary, `crate::fold` rule 3c; 0.975 / 0.981 and 0.955 / 0.989 before the entity
//! guard and short ↔ long folding, rule 3b), F1 above
//! datasketch `MinHashLSH`'s best on every set; replayed real
//! feeds: copy recall 0.91 (0.77 before `crate::fold` rule 3c), no false merge of 48 labeled
//! different pairs.  Index speed (`cargo run --release --example
//! index_bench`): 47,000-69,000 fold decisions/s with 1M articles in the
//! index on the slow hours of the shared 2-core VM, since lookups prefetch their
//! candidates' slots (20,000-30,000 before; 80,000 once on a quick hour); ~243
//! bytes per article at 1M (168-byte slot + ~14 four-byte table cells at
//! 70–85% load; 288 with the six-byte cells used before).
//!
//! **Memory layout.**  One 168-byte record per article (sketch bins, number
//! mask, entity mask, SimHash, 64-bit content hash, time as `u32` seconds, ids,
//! shingle count packed with the flags, anchors) in
//! a `Vec` grown by 1/8; free slots are reused.  Three `SlotTable`s index
//! article id, content hash and anchors; they are rebuilt from the records
//! when they pass 85% load (tombstones included).  At start the index is
//! built in one go (`Index::from_records`, from the store or from the index
//! snapshot, see `fold/snapshot.rs`): tables sized for the records at 70%
//! load, no rebuilds, no lookups — 1.1–1.3 s for 1M articles instead of
//! 4.4–5 s of one-by-one inserts (load ~6).
mod contrary;
mod index;
mod table;

pub use contrary::headlines_contradict;
pub use index::{Index, Record, StateError};

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Article identifier (assigned by the store).
pub type ArticleId = u64;
/// Story identifier (assigned by the store).
pub type StoryId = u64;

/// Tuning of the index.  See the module docs for how they were measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DedupParams {
    /// Long items whose SimHashes differ in at most this many bits (and
    /// whose shingle counts are within 20%) fold even if the sketch
    /// estimate is below the thresholds.  Config key; default 3.
    pub simhash_max_distance: u32,
    /// Long items: minimum estimated Jaccard resemblance of the shingle
    /// sets.  A floor that bounds how unequal the sizes of a trimmed copy
    /// and its original may be (the containment estimate gets noisy below
    /// it).  Default 0.2.
    pub min_similarity: f32,
    /// Long items: minimum estimated containment of the smaller shingle set
    /// in the larger one.  Default 0.5.
    pub min_containment: f32,
    /// Short items (headline + summary): minimum estimated Jaccard.
    /// Default 0.45.
    pub short_min_similarity: f32,
    /// Short items where the smaller one has at most `tiny_max_shingles`
    /// shingles (headline only): minimum estimated Jaccard.  Default 0.6.
    pub tiny_min_similarity: f32,
    /// See `tiny_min_similarity`.  Default 16.
    pub tiny_max_shingles: u32,
    /// At most this many articles are indexed (and examined) per anchor or
    /// content hash; bounds the cost of very common phrases and of stories
    /// copied hundreds of times.  Default 64.
    pub max_postings: u32,
    /// Only articles this close in time fold.  Default 72 h.
    pub window: Duration,
    /// Short items (headline + summary) fold only this close in time (at most `window`).
    /// A headline and summary that recur a day later are a daily template ("hog slaughter
    /// guesstimates", "proposed offerings filed with the SEC"), not a copy: on Reuters-21578
    /// such items made most of the short-item false merges.  Exact copies (the same
    /// item in two feeds of one outlet, polled at other times) still fold within `window`.
    /// Default 18 h.
    pub short_window: Duration,
    /// A new article that matches copies of two stories merges them when both matches score
    /// at least this (containment for long items, Jaccard for short ones): see `crate::fold`,
    /// rule 5. Measured: at 0.8 the merges add recall and no false pair on any eval set; at 0
    /// (any verified match) Reuters natural precision falls 0.824 -> 0.801. Default 0.8.
    pub merge_min_similarity: f32,
}

impl Default for DedupParams {
    fn default() -> Self {
        DedupParams {
            simhash_max_distance: 3,
            min_similarity: 0.2,
            min_containment: 0.6,
            short_min_similarity: 0.45,
            tiny_min_similarity: 0.6,
            tiny_max_shingles: 16,
            max_postings: 64,
            window: Duration::from_secs(72 * 3600),
            short_window: Duration::from_secs(18 * 3600),
            merge_min_similarity: 0.8,
        }
    }
}

/// How a match was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchKind {
    /// Same normalised content.
    Exact,
    /// Verified near duplicate.
    Near,
}

/// A fold decision: the new article belongs to `story`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The indexed article that matched best.
    pub article: ArticleId,
    /// Its story.
    pub story: StoryId,
    /// Exact or near.
    pub kind: MatchKind,
    /// 1.0 for exact copies; for near duplicates the estimated containment
    /// of the smaller item in the larger (long items) or the estimated
    /// Jaccard resemblance (short items).
    pub similarity: f32,
}

/// Rules 3b and 3c: the fewest distinct word 3-grams a summary needs before it is compared with
/// another item's text (below that, a shared phrase proves nothing). The fold and the eval
/// look up no candidates for a shorter one.
pub const SUMMARY_MIN_TRIGRAMS: usize = 8;

/// [`SUMMARY_MIN_TRIGRAMS`] for a text without word spaces, in character 3-grams: a summary
/// of about 20 characters, a short sentence of Chinese or Japanese (a character carries about
/// as much as a short word; eight of them are a phrase).
pub const SUMMARY_MIN_CHAR_TRIGRAMS: usize = 20;

/// Rule 3b for a text without word spaces: the most character 3-grams inside the summary
/// that may be missing from the long text (for words, 20% may be). There is no entity guard
/// in such scripts (no capitals), and a person's name is two or three characters: the
/// teaser of a meeting with another deputy premier, the same sentence around the name,
/// keeps over 90% of its 3-grams. So the summary must be in the body as written (a character
/// changed inside it costs three 3-grams)…
pub const SHORT_IN_LONG_MAX_MISSING_CHARS: usize = 2;
/// …but for what an outlet puts before or after it: an attribution (`据新华社报道，`, seven
/// 3-grams) and a reporter's name (`（记者 王磊）`, six), up to this many 3-grams at its two
/// ends together. A name changed there passes: what precedes the run the body holds is
/// taken for an outlet's words.
pub const SHORT_IN_LONG_MAX_EXTRA_CHARS: usize = 16;

/// Rule 3b's order check for a summary without word spaces: its character 3-grams in text
/// order (`ordered`, [`crate::fingerprint::lead::Summary::ordered`]) against the body's
/// character 3-grams (`body`, sorted). Holds when the summary's 3-grams missing from the
/// body are at most [`SHORT_IN_LONG_MAX_MISSING_CHARS`] inside the run the body holds, and at
/// most [`SHORT_IN_LONG_MAX_EXTRA_CHARS`] before and after it.
pub fn held_as_written(ordered: &[u64], body: &[u64]) -> bool {
    let present: Vec<bool> = ordered
        .iter()
        .map(|h| body.binary_search(h).is_ok())
        .collect();
    let (Some(first), Some(last)) = (
        present.iter().position(|&p| p),
        present.iter().rposition(|&p| p),
    ) else {
        return false;
    };
    let ends = first + (present.len() - 1 - last);
    let inside = present[first..=last].iter().filter(|&&p| !p).count();
    inside <= SHORT_IN_LONG_MAX_MISSING_CHARS && ends <= SHORT_IN_LONG_MAX_EXTRA_CHARS
}

/// The fewest distinct 3-grams a summary in `script` needs for rules 3b and 3c.
pub fn summary_min_trigrams(script: crate::fingerprint::Script) -> usize {
    match script {
        crate::fingerprint::Script::Words => SUMMARY_MIN_TRIGRAMS,
        crate::fingerprint::Script::Chars => SUMMARY_MIN_CHAR_TRIGRAMS,
    }
}

/// Short → long verification: the headline + summary item `short` (its text's word 3-grams
/// `short_tris`) against the long item `long` (its body's 3-grams, which `long_tris` computes
/// once the fingerprints' guards have passed: most candidates fail them). Folds when the
/// summary has at least [`SUMMARY_MIN_TRIGRAMS`] 3-grams and 80% of them are in the long
/// text, every figure of the short item (headline included) is in the long one, and the names
/// agree (entity guard). Returns the containment.
pub fn short_in_long<'a>(
    short: &crate::fingerprint::Fingerprint,
    short_tris: &[u64],
    long: &crate::fingerprint::Fingerprint,
    long_tris: impl FnOnce() -> &'a [u64],
) -> Option<f32> {
    if !short.short || long.short || short_tris.len() < SUMMARY_MIN_TRIGRAMS {
        return None;
    }
    if short.sketch.numbers & !long.sketch.numbers != 0
        || !index::entities_agree(short.entities, long.entities)
    {
        return None;
    }
    let c = crate::fingerprint::lead::contained(short_tris, long_tris());
    (c >= 0.8).then_some(c)
}

/// Rule 3c: the longest run of words two summaries must share.
pub const SUMMARY_MIN_RUN: usize = 12;
/// Rule 3c: the least share of the smaller summary's word 3-grams found in the other.
pub const SUMMARY_MIN_CONTAINMENT: f32 = 0.5;

/// Short → short on the summary (`crate::fold` rule 3c): two headline + summary items `a`, `b`
/// (their summaries `sa`, `sb`) that the headline + summary sketch keeps apart because an
/// outlet rewrote the headline, cut the summary to a teaser or reworded its end. Folds when:
/// - the summaries share a run of at least [`SUMMARY_MIN_RUN`] words, and at least
///   [`SUMMARY_MIN_CONTAINMENT`] of the smaller one's 3-grams (at least
///   [`SUMMARY_MIN_TRIGRAMS`]) are in the other;
/// - they start alike: the same first word that is not weak, or the shared run starts one of
///   them (a template item about another company shares the rest of the sentence: "sun co
///   said it raised the contract price ..." / "diamond shamrock said it raised ...");
/// - every figure of the smaller summary is in the other item, and one of the two headlines
///   has all its figures in the other item (a daily template under "live updates for 15 / 17
///   September" has a figure of its own on both sides; "4.5 weeks" / "four weeks" on one);
/// - the names of the summaries' leads agree loosely: one side has at most one name the
///   other lacks (an outlet's capitals, "Regius Professor of Medicine", differ from an
///   agency's; template twins differ by two or more names both ways).
///
/// Returns the containment.
pub fn summaries_agree(
    a: &crate::fingerprint::Fingerprint,
    sa: &crate::fingerprint::lead::Summary,
    b: &crate::fingerprint::Fingerprint,
    sb: &crate::fingerprint::lead::Summary,
) -> Option<f32> {
    if !a.short || !b.short {
        return None;
    }
    let ((small, _), (large, large_fp)) = if sa.trigrams.len() <= sb.trigrams.len() {
        ((sa, a), (sb, b))
    } else {
        ((sb, b), (sa, a))
    };
    if small.trigrams.len() < SUMMARY_MIN_TRIGRAMS || small.numbers & !large_fp.sketch.numbers != 0
    {
        return None;
    }
    if sa.headline_numbers & !b.sketch.numbers != 0 && sb.headline_numbers & !a.sketch.numbers != 0
    {
        return None;
    }
    if !summary_names_agree(a, b) {
        return None;
    }
    let c = crate::fingerprint::lead::contained(&small.trigrams, &large.trigrams);
    if c < SUMMARY_MIN_CONTAINMENT {
        return None;
    }
    let (run, at_small, at_large) =
        crate::fingerprint::lead::longest_run(&small.words, &large.words);
    let same_start = small.first == large.first || at_small == 0 || at_large == 0;
    (run >= SUMMARY_MIN_RUN && same_start).then_some(c)
}

/// The names guard of [`summaries_agree`], on the fingerprints alone: one side has at most
/// one name the other lacks (items without names pass). Callers check it before they compute
/// a candidate's [`crate::fingerprint::lead::Summary`]: most candidates of rule 3c fail here.
pub fn summary_names_agree(
    a: &crate::fingerprint::Fingerprint,
    b: &crate::fingerprint::Fingerprint,
) -> bool {
    let (ab, ba) = (a.entities & !b.entities, b.entities & !a.entities);
    a.entities == 0 || b.entities == 0 || ab.count_ones().min(ba.count_ones()) <= 1
}

/// A summary of fewer words than this is *thin*: "Shr 75 cts vs 64 cts", "Qtly div three cts
/// vs three cts prior", "1000 hrs cdt", or none at all. Thin summaries recur word for word
/// under every company of a day's template, so the headline is what tells the items apart
/// (see [`headlines_agree`]). The same length as [`SUMMARY_MIN_RUN`]: a summary that could not
/// hold rule 3c's shared run identifies no story by itself.
pub const THIN_SUMMARY_WORDS: usize = SUMMARY_MIN_RUN;

/// How many words `w` counts for: one, or one for every two of its letters of a script
/// written without spaces (a Chinese clause between spaces is several words).
fn word_weight(w: &str) -> usize {
    if w.is_ascii() {
        return 1;
    }
    (w.chars().filter(|&c| unspaced(c)).count() / 2).max(1)
}

/// Whether `text` holds `n` words or more, a run of a script written without spaces counting
/// one for every two of its characters (a Chinese summary is one "word" between spaces, and
/// every one was thin, so a copy under a rewritten headline did not fold).
fn at_least_words(text: &str, n: usize) -> bool {
    let mut words = 0;
    for w in text.split_whitespace() {
        words += word_weight(w);
        if words >= n {
            return true;
        }
    }
    false
}

/// The headline guard of short items whose summaries are thin (`crate::fold`, rule 3): when
/// either summary (`a_text`, `b_text`, fingerprint text) has fewer than
/// [`THIN_SUMMARY_WORDS`] words, the headlines (`a_title`, `b_title`, fingerprint titles)
/// must name the same thing: one headline's strong words (not weak, see
/// [`crate::fingerprint::shingle::is_weak`]; figures count) all in the other's, or at most one
/// word differing each way (a copy's edited headline). Template items of one day differ in
/// the company, the product or the place: "Newell Co 3rd qtr net" / "Merchants National Corp
/// 3rd qtr net" over the same "Shr 75 cts vs 64 cts" differ by two or more words each way.
/// Summaries of at least [`THIN_SUMMARY_WORDS`] words carry the story themselves: outlets
/// rewrite headlines freely, so nothing is asked of the headlines then.
pub fn headlines_agree(a_title: &str, a_text: &str, b_title: &str, b_text: &str) -> bool {
    Subject::new(a_title, a_text).headlines_agree(&Subject::new(b_title, b_text))
}

/// Whether two headlines name the same thing whatever their summaries: one's strong words all
/// in the other's, or at most one word differing each way (the thin-summary test of
/// [`headlines_agree`], asked always). The fold asks it of two items of one source
/// (`crate::fold`, rule 3e).
pub fn same_headline(a_title: &str, b_title: &str) -> bool {
    let (a, b) = (strong_words(a_title), strong_words(b_title));
    let ab = a.iter().filter(|w| b.binary_search(w).is_err()).count();
    let ba = b.iter().filter(|w| a.binary_search(w).is_err()).count();
    ab == 0 || ba == 0 || (ab <= 1 && ba <= 1)
}

/// A headline + summary item's strong words (not weak, figures count, a plural `s` dropped),
/// computed once for the guards that compare it with each candidate ([`headlines_agree`],
/// [`subjects_agree`]).
#[derive(Clone, Debug)]
pub struct Subject<'a> {
    title: Vec<Cow<'a, str>>,
    text: Vec<Cow<'a, str>>,
    /// The summary has fewer than [`THIN_SUMMARY_WORDS`] words (two characters of a script
    /// written without spaces counting one).
    thin: bool,
    /// The pairs of letters of scripts without spaces in the headline and in the summary,
    /// sorted: their words, for the subject guard (empty when the headline has none).
    title_pairs: Vec<&'a str>,
    text_pairs: Vec<&'a str>,
}

impl<'a> Subject<'a> {
    /// The strong words of fingerprint title `title` and fingerprint text `text`.
    pub fn new(title: &'a str, text: &'a str) -> Self {
        let spaced = title.is_ascii() || !title.contains(unspaced);
        Subject {
            title: strong_words(title),
            text: strong_words(text),
            thin: !at_least_words(text, THIN_SUMMARY_WORDS),
            title_pairs: if spaced {
                Vec::new()
            } else {
                sorted_pairs(title)
            },
            text_pairs: if spaced {
                Vec::new()
            } else {
                sorted_pairs(text)
            },
        }
    }

    /// [`headlines_agree`] with `other`.
    pub fn headlines_agree(&self, other: &Subject<'_>) -> bool {
        if !self.thin && !other.thin {
            return true;
        }
        let (a, b) = (&self.title, &other.title);
        let ab = a.iter().filter(|w| b.binary_search(w).is_err()).count();
        let ba = b.iter().filter(|w| a.binary_search(w).is_err()).count();
        ab == 0 || ba == 0 || (ab <= 1 && ba <= 1)
    }

    /// Does the headline alone name a story: at least [`HEADLINE_ONLY_MIN_WORDS`] strong
    /// words? A word of a script written without spaces (a Chinese or Thai headline is one
    /// "word") counts one for every two of its characters.
    pub fn headline_names_a_story(&self) -> bool {
        self.title.iter().map(|w| word_weight(w)).sum::<usize>() >= HEADLINE_ONLY_MIN_WORDS
    }

    /// [`subjects_agree`] with `other`.
    pub fn subjects_agree(&self, other: &Subject<'_>) -> bool {
        !(self.names_own_subject(other) && other.names_own_subject(self))
    }

    /// A strong word in both this item's headline and summary that is in neither of
    /// `other`'s. Another spelling counts as another word: a word one letter from another is
    /// often another place or person (Gambia / Zambia, Hansen / Hanson), and a British
    /// spelling another name (Labour / Labor, Endeavour / Endeavor);
    /// in a script without spaces, a pair of letters ("เชียงใหม่" / "เชียงราย").
    fn names_own_subject(&self, other: &Subject<'_>) -> bool {
        self.title.iter().any(|w| {
            self.text.binary_search(w).is_ok()
                && other.title.binary_search(w).is_err()
                && other.text.binary_search(w).is_err()
        }) || self.title_pairs.iter().any(|p| {
            self.text_pairs.binary_search(p).is_ok()
                && other.title_pairs.binary_search(p).is_err()
                && other.text_pairs.binary_search(p).is_err()
        })
    }
}

/// The distinct strong words of a fingerprint text, sorted: not weak (see
/// [`crate::fingerprint::shingle::is_weak`]; figures count, without thousands separators:
/// "1,200" is "1200"), a plural `s` dropped from words of more than four letters ("soybeans"
/// / "soybean"). Fingerprint texts are lower case already, so the words are borrowed from
/// `t`; a word with capitals (any other text) is lowered.
fn strong_words(t: &str) -> Vec<Cow<'_, str>> {
    let mut v: Vec<Cow<'_, str>> = t
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty() && !crate::fingerprint::shingle::is_weak(w))
        .map(|w| {
            if has_thousands_separators(w) {
                return Cow::Owned(w.replace(',', ""));
            }
            let w: Cow<'_, str> = if w.chars().any(char::is_uppercase) {
                Cow::Owned(w.to_lowercase())
            } else {
                Cow::Borrowed(w)
            };
            let stem = match w.strip_suffix('s') {
                Some(stem) if w.len() > 4 => stem.len(),
                _ => return w,
            };
            match w {
                Cow::Borrowed(b) => Cow::Borrowed(&b[..stem]),
                Cow::Owned(mut o) => {
                    o.truncate(stem);
                    Cow::Owned(o)
                }
            }
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Whether `w` is a figure written with thousands separators: "1,200", "12,345,678",
/// "1,200.5" (not "1,2" or "1,2000").
fn has_thousands_separators(w: &str) -> bool {
    let mut groups = w.split(',');
    let first = groups.next().unwrap_or_default();
    let digits = |g: &str| !g.is_empty() && g.bytes().all(|c| c.is_ascii_digit());
    let mut rest = groups.peekable();
    rest.peek().is_some()
        && digits(first)
        && first.len() <= 3
        && rest.all(|g| {
            let whole = g
                .split_once('.')
                .map_or(g, |(whole, frac)| if digits(frac) { whole } else { "" });
            whole.len() == 3 && digits(whole)
        })
}

/// The headline guard of long items (`crate::fold`, rule 3d): two articles whose headlines
/// *each* carry a figure the other's lacks report different facts — "Ecuador quake to cut oil
/// revenues 800 mln dlrs" / "Ecuador quake causes 950 mln dlrs in losses", sent 96 minutes
/// apart over the same lead paragraphs. A copy keeps its headline's figure or drops it, so
/// one-sided differences pass (a headline without figures, one with an extra figure); wire
/// tags such as `UPDATE 2-` are stripped before the titles are fingerprinted. On the Reuters
/// long set no pair of copies differed so, and 17 false pairs did.
///
/// A figure is its number and its unit, however written ("$12B", "$12bn", "$12 billion"
/// are one figure); a figure without a unit is the same figure with any (a copy's headline
/// may drop "billion"), while another unit makes another figure ("12 billion" / "12
/// million").
pub fn headline_figures_agree(a_title: &str, b_title: &str) -> bool {
    let (a, b) = (figures(a_title), figures(b_title));
    let found = |(n, u): &(String, &str), y: &[(String, &str)]| {
        y.iter()
            .any(|(m, v)| m == n && (u == v || u.is_empty() || v.is_empty()))
    };
    let missing = |x: &[(String, &str)], y: &[(String, &str)]| x.iter().any(|f| !found(f, y));
    !(missing(&a, &b) && missing(&b, &a))
}

/// Rules 3d and 3f, as a near match between long articles (`crate::fold`) and a bridge between
/// two stories (rule 5) ask them: [`headline_figures_agree`] and [`headline_words_agree`]. The
/// texts are made only when the headlines leave it open (in the daemon each is the stored
/// article normalized again).
pub fn long_headlines_agree<'a, 'b>(
    (a_title, a_text): (&str, impl FnOnce() -> Cow<'a, str>),
    (b_title, b_text): (&str, impl FnOnce() -> Cow<'b, str>),
) -> bool {
    headline_figures_agree(a_title, b_title)
        && headline_words_agree((a_title, a_text), (b_title, b_text))
}

/// The word guard of long items (`crate::fold`, rule 3f): two articles whose headlines *each*
/// carry a word that their own text states and the other text lacks report different facts.
/// A template story changes a word in its headline and its lead alike: "found guilty" /
/// "acquitted", "yellow" / "red warning", "northbound" / "southbound", "brake" / "airbag
/// fault", "trial opens" / "found guilty" over the same background paragraphs. A copy's
/// rewritten headline takes its words from the text it carries, which is the original's or a
/// part of it, so its new words are in both texts; and an edit of the copy's text would have
/// to reach its headline too. A correction does reach both ("centres" / "centers",
/// "Fieldcor" / "Fidelcor"): words one spelling apart are the same word. Lowercase
/// fingerprint texts; in scripts without spaces the words are pairs of letters.
/// The texts are made only when the headlines each carry a word the other lacks.
pub fn headline_words_agree<'a, 'b>(
    (a_title, a_text): (&str, impl FnOnce() -> Cow<'a, str>),
    (b_title, b_text): (&str, impl FnOnce() -> Cow<'b, str>),
) -> bool {
    use xxhash_rust::xxh3::xxh3_64;
    let (ha, hb) = (headline_words(a_title), headline_words(b_title));
    let lacks = |y: &[(u64, &str)], w: &(u64, &str)| y.binary_search_by_key(&w.0, |o| o.0).is_err();
    if !ha.iter().any(|w| lacks(&hb, w)) || !hb.iter().any(|w| lacks(&ha, w)) {
        return true;
    }
    // "year-end" and "year end" are the same words, "opens" and "opened" one; two words
    // written as one are that word too ("cease-fire", "health care", "per cent")
    let text = |t: &str| -> Vec<u64> {
        let words: Vec<&str> = t
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let mut v: Vec<u64> = words
            .iter()
            .map(|w| xxh3_64(stem(w).as_bytes()))
            .chain(
                words
                    .windows(2)
                    .map(|p| xxh3_64(stem(&format!("{}{}", p[0], p[1])).as_bytes())),
            )
            .chain(
                words
                    .iter()
                    .flat_map(|w| unspaced_pairs(w))
                    .map(|p| xxh3_64(p.as_bytes())),
            )
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (ta, tb) = (text(&a_text()), text(&b_text()));
    let (fa, fb) = (facts(&ha, &hb, &ta, &tb), facts(&hb, &ha, &tb, &ta));
    if fa.is_empty() || fb.is_empty() {
        return true;
    }
    let respelt =
        |x: &[&str], y: &[&str]| x.iter().all(|w| y.iter().any(|v| one_spelling_apart(w, v)));
    respelt(&fa, &fb) && respelt(&fb, &fa)
}

/// A headline's strong words, stemmed, with their hashes, sorted: no figures, no weak words;
/// a run of Chinese, Japanese or Thai between punctuation is a clause, not a word, and gives
/// its character pairs instead ("上海協力機構" / "東南アジア諸国連合": the names differ).
fn headline_words(t: &str) -> Vec<(u64, &str)> {
    fn hashed(w: &str) -> (u64, &str) {
        (xxhash_rust::xxh3::xxh3_64(w.as_bytes()), w)
    }
    let mut v: Vec<(u64, &str)> = Vec::new();
    for w in t.split(|c: char| !c.is_alphanumeric()) {
        if w.contains(unspaced) {
            v.extend(unspaced_pairs(w).map(hashed));
        } else if !w.is_empty()
            && !w.contains(|c: char| c.is_ascii_digit())
            && !crate::fingerprint::shingle::is_weak(w)
        {
            v.push(hashed(stem(w)));
        }
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// [`unspaced_pairs`] of each word of `t`, sorted, without repeats.
fn sorted_pairs(t: &str) -> Vec<&str> {
    let mut v: Vec<&str> = t.split_whitespace().flat_map(unspaced_pairs).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The pairs of neighbouring letters of scripts written without spaces in `w`: the words of
/// such a text, as far as a guard can tell without a dictionary.
fn unspaced_pairs(w: &str) -> impl Iterator<Item = &str> {
    let mut chars = w.char_indices().peekable();
    std::iter::from_fn(move || loop {
        let (i, c) = chars.next()?;
        let &(_, d) = chars.peek()?;
        if unspaced(c) && unspaced(d) {
            return Some(&w[i..i + c.len_utf8() + d.len_utf8()]);
        }
    })
}

/// The words of headline `h` that headline `oh` lacks, stated by text `t` and not by `ot`
/// (texts as sorted word hashes).
fn facts<'a>(h: &[(u64, &'a str)], oh: &[(u64, &str)], t: &[u64], ot: &[u64]) -> Vec<&'a str> {
    h.iter()
        .filter(|w| {
            oh.binary_search_by_key(&w.0, |o| o.0).is_err()
                && t.binary_search(&w.0).is_ok()
                && ot.binary_search(&w.0).is_err()
        })
        .map(|w| w.1)
        .collect()
}

/// Whether `c` is a letter of a script written without word spaces (Chinese, Japanese, Thai).
fn unspaced(c: char) -> bool {
    !c.is_ascii()
        && crate::normalize::lang::Script::of_char(c).is_some_and(|s| s.uses_char_ngrams())
}

/// `w` without an English inflection (`-s`, `-es`, `-ed`, `-ing`) when at least four letters
/// are left: "opens", "opened" and "opening" are "open".
fn stem(w: &str) -> &str {
    ["ing", "ed", "es", "s"]
        .iter()
        .find_map(|suffix| {
            w.strip_suffix(suffix)
                .filter(|rest| rest.chars().count() >= 4)
        })
        .unwrap_or(w)
}

/// Whether two words are one spelling apart (a correction, a transliteration or a house
/// style: "centres" / "centers", "organisation" / "organization", "gaddafi" / "qaddafi",
/// "fieldcor" / "fidelcor"): the same letters in another order, or one letter changed,
/// added or left out, for words of six letters or more, or of five with the same first
/// letter ("fired" / "hired" are two facts); or the British and American pairs of two edits
/// ("programme" / "program", "catalogue" / "catalog", "sulphur" / "sulfur"). Two edits in
/// general would join "slovakia" / "slovenia" and "tuesday" / "thursday".
fn one_spelling_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let shorter = a.len().min(b.len());
    if shorter < 5 || (shorter == 5 && a.first() != b.first()) {
        return false;
    }
    let sorted = |w: &[char]| {
        let mut s = w.to_vec();
        s.sort_unstable();
        s
    };
    if sorted(&a) == sorted(&b) {
        return true;
    }
    let (x, y) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let s = |w: &[char]| w.iter().collect::<String>();
    let (xs, ys) = (s(x), s(y));
    if ys.strip_suffix("me").or_else(|| ys.strip_suffix("ue")) == Some(xs.as_str())
        || ys.replace("ph", "f") == xs
    {
        return true;
    }
    if y.len() - x.len() > 1 {
        return false;
    }
    // one edit: the two differ in one place only
    let (head, tail) = common_ends(x, y);
    x.len() - head - tail <= 1 && y.len() - head - tail <= 1
}

/// How many items `x` and `y` share at their start, and then at their end (never
/// overlapping the start): what lies between is where they differ.
fn common_ends<T: PartialEq>(x: &[T], y: &[T]) -> (usize, usize) {
    let head = x.iter().zip(y).take_while(|(p, q)| p == q).count();
    let tail = x[head..]
        .iter()
        .rev()
        .zip(y[head..].iter().rev())
        .take_while(|(p, q)| p == q)
        .count();
    (head, tail)
}

/// The distinct figures of a fingerprint text, sorted: each word that starts with a digit,
/// as its number (thousands separators dropped) and its unit in one spelling however
/// written, joined or as the next word ("12b", "12bn", "12 billion", "12 bln" are all
/// `("12", "b")`; "4.5m", "4.5 million" `("4.5", "m")`); ordinal endings are no unit ("8th"
/// is `("8", "")`), any other ending is kept as the unit ("2-1"). In scripts written without
/// spaces a figure begins where its digits do, and its unit is one character:
/// "新增确诊病例20例" holds `("20", "例")`, "震度5弱の地震" `("5", "弱")`.
fn figures(t: &str) -> Vec<(String, &str)> {
    let words: Vec<&str> = t
        .split_whitespace()
        .flat_map(unspaced_runs)
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
        .collect();
    let mut v: Vec<(String, &str)> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if !w.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let digits = w
            .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
            .unwrap_or(w.len());
        let (number, mut rest) = w.split_at(digits);
        let mut number = number.trim_end_matches(['.', ',']).replace(',', "");
        // "3万8000円" is 38000円, as another outlet writes it; so is "3 万8000円"
        if let Some((value, after)) = with_multipliers(&number, rest) {
            (number, rest) = (value, after);
        } else if rest.is_empty() {
            if let Some((value, after)) = words
                .get(i + 1)
                .and_then(|next| with_multipliers(&number, next))
            {
                (number, rest) = (value, after);
            }
        }
        // a counter of an unspaced script is one character ("20例"), the clause goes on
        if let Some(c) = rest.chars().next().filter(|&c| unspaced(c)) {
            rest = &rest[..c.len_utf8()];
        }
        let unit = match unit(rest) {
            Some(u) => u,
            // a number alone may take its unit from the next word
            None if rest.is_empty() => words.get(i + 1).and_then(|n| unit(n)).unwrap_or(""),
            None => rest,
        };
        v.push((number, unit));
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// The value of a Chinese or Japanese number word written after digits (`3万`, `1.2亿`).
fn multiplier(c: char) -> Option<f64> {
    match c {
        '百' => Some(1e2),
        '千' => Some(1e3),
        '万' | '萬' => Some(1e4),
        '亿' | '億' => Some(1e8),
        '兆' => Some(1e12),
        _ => None,
    }
}

/// `number` and what follows it (`rest`) read with the number words of Chinese and
/// Japanese, when `rest` begins with one: "3" + "万8000円台" is 38000 and "円台", "3.8" +
/// "万人" 38000 and "人", "1" + "兆2000億円" 1200000000000 and "円", "3" + "千万人"
/// 30000000 and "人"; `None` otherwise. Exact (in millionths), so that 2.3亿 is 230000000.
fn with_multipliers<'a>(number: &str, rest: &'a str) -> Option<(String, &'a str)> {
    // A decimal in millionths; `None` past what u128 holds.
    fn millionths(n: &str) -> Option<u128> {
        let n = n.replace(',', "");
        let (whole, frac) = n.split_once('.').unwrap_or((&n, ""));
        if whole.is_empty() && frac.is_empty() {
            return None;
        }
        let frac = format!("{:0<6}", frac.get(..frac.len().min(6))?);
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        whole
            .checked_mul(1_000_000)?
            .checked_add(frac.parse().ok()?)
    }
    fn multiplied(mut group: u128, rest: &str) -> Option<(u128, &str)> {
        // consecutive number words multiply: 千万 is ten million
        let mut rest = rest;
        while let Some(c) = rest.chars().next() {
            let Some(m) = multiplier(c) else { break };
            group = group.checked_mul(m as u128)?;
            rest = &rest[c.len_utf8()..];
        }
        Some((group, rest))
    }
    multiplier(rest.chars().next()?)?;
    let (mut total, mut rest) = multiplied(millionths(number)?, rest)?;
    loop {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
            .unwrap_or(rest.len());
        if digits == 0 {
            break;
        }
        let Some(n) = millionths(&rest[..digits]) else {
            break;
        };
        let (group, after) = multiplied(n, &rest[digits..])?;
        total = total.checked_add(group)?;
        rest = after;
        if group == n {
            break; // digits without a number word end the figure
        }
    }
    let shown = if total % 1_000_000 == 0 {
        (total / 1_000_000).to_string()
    } else {
        let frac = format!("{:06}", total % 1_000_000);
        format!("{}.{}", total / 1_000_000, frac.trim_end_matches('0'))
    };
    Some((shown, rest))
}

/// `w` cut before each run of digits that follows a letter of a script written without
/// spaces (not a number word: `3万8000` is one figure), where a figure within a clause
/// begins.
fn unspaced_runs(w: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let (mut last, mut before): (Option<char>, Option<char>) = (None, None);
    let mut cuts = w.char_indices().filter_map(move |(i, c)| {
        // a number word after digits goes on with the figure ("3万8000"); after letters
        // ("破亿3天") it is a word, and the digits begin a figure
        let in_figure = last.is_some_and(|l| multiplier(l).is_some())
            && before.is_some_and(|b| b.is_ascii_digit());
        let cut = c.is_ascii_digit() && last.is_some_and(unspaced) && !in_figure;
        (before, last) = (last, Some(c));
        cut.then_some(i)
    });
    std::iter::from_fn(move || {
        if start > w.len() {
            return None;
        }
        let end = cuts.next().unwrap_or(w.len());
        let piece = &w[start..end];
        start = end + usize::from(end == w.len());
        Some(piece)
    })
}

/// The one spelling of a unit a figure may carry (`None` for any other word): thousands,
/// millions, billions, trillions; ordinal endings are no unit (`Some("")`).
fn unit(w: &str) -> Option<&'static str> {
    Some(match w {
        "k" | "thousand" => "k",
        "m" | "mn" | "mln" | "million" | "millions" => "m",
        "b" | "bn" | "bln" | "billion" | "billions" => "b",
        "t" | "tn" | "trn" | "trillion" | "trillions" => "t",
        "st" | "nd" | "rd" | "th" => "",
        _ => return None,
    })
}

/// The subject guard of short items (`crate::fold`, rule 3a): two headline + summary items
/// are about different things when *each* names a subject the other never mentions — a strong
/// word (not weak, figures count, a plural `s` dropped) in both its headline and its summary
/// that is in neither the other's headline nor its summary. Template series share the sentence and swap the slot in
/// both places: "Corn supply/demand by country" / "… exporters of corn …" against "Cotton
/// supply/demand by country" / "… exporters of cotton …"; "Toledo deliverable wheat stocks" /
/// "Chicago deliverable soybean stocks". A copy keeps its original's subject in its summary
/// even under a rewritten headline; an edited word can hide it on one side only, so one-sided
/// differences pass (on the Reuters short set the two-sided rule rejected no pair of copies).
pub fn subjects_agree(a_title: &str, a_text: &str, b_title: &str, b_text: &str) -> bool {
    Subject::new(a_title, a_text).subjects_agree(&Subject::new(b_title, b_text))
}

/// A short item as the second verification of short matches sees it (see
/// [`short_match_holds`]); its [`Subject`] is computed on first use, once for every
/// candidate it is compared with.
#[derive(Clone, Debug)]
pub struct ShortItem<'a> {
    /// Fingerprint title.
    pub title: &'a str,
    /// Fingerprint text (the summary).
    pub text: &'a str,
    /// Publication date (Unix seconds) when the feed gave one; `None` when only the time it
    /// was first seen is known.
    pub published: Option<i64>,
    subject: std::cell::OnceCell<Subject<'a>>,
}

impl<'a> ShortItem<'a> {
    /// The item of fingerprint title `title` and text `text`, published at `published`.
    pub fn new(title: &'a str, text: &'a str, published: Option<i64>) -> Self {
        ShortItem {
            title,
            text,
            published,
            subject: std::cell::OnceCell::new(),
        }
    }

    /// Its strong words (computed once).
    pub fn subject(&self) -> &Subject<'a> {
        self.subject
            .get_or_init(|| Subject::new(self.title, self.text))
    }
}

/// Whether two headline + summary items were published within `short_window` of each other
/// (publication dates in Unix seconds; `None`: the feed gave none, only the time first seen is
/// known, and nothing is checked). Items that recur a day later are a daily template; the
/// index measures that on first sightings, which a late poll moves (the same item in two
/// feeds of one outlet, polled a day apart), so the fold stage asks the dates of publication
/// too.
pub fn published_close(params: &DedupParams, a: Option<i64>, b: Option<i64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => {
            let w =
                i64::try_from(params.short_window.min(params.window).as_secs()).unwrap_or(i64::MAX);
            x.saturating_sub(y).saturating_abs() <= w
        }
        _ => true,
    }
}

/// Second verification of a match between two headline + summary items, on their texts
/// (`crate::fold`, rule 3; the index keeps neither headlines nor dates of publication):
/// - both were published within `short_window` ([`published_close`]): an **exact** copy
///   published a day apart is the same template issued on another day (the SEC "proposed
///   offerings" list, "Fed expected to add temporary reserves"), not a copy. Exact copies keep
///   the full `window` of first sightings — the same item in two feeds of one outlet may be
///   polled a day apart — but its date of publication stays the same;
/// - a **near** copy must also pass [`headlines_agree`] (thin summaries: the headline names the
///   story) and [`subjects_agree`] (each naming a subject the other never mentions), and its
///   headline must not say the opposite of the other's over one template
///   ([`headlines_contradict`], rule 3g).
pub fn short_match_holds(
    params: &DedupParams,
    kind: MatchKind,
    a: &ShortItem<'_>,
    b: &ShortItem<'_>,
) -> bool {
    published_close(params, a.published, b.published)
        && (!a.text.trim().is_empty() || a.subject().headline_names_a_story())
        && (kind == MatchKind::Exact || {
            let (sa, sb) = (a.subject(), b.subject());
            sa.headlines_agree(sb)
                && sa.subjects_agree(sb)
                && !headlines_contradict(a.title, b.title)
        })
}

/// Rule 3a: the fewest strong words a headline without a summary needs to fold with another
/// item, word for word or near. Every outlet has its "Crossword", "Letters to the editor"
/// and "Morning briefing" each day; such a headline names a section, not a story.
pub const HEADLINE_ONLY_MIN_WORDS: usize = 3;

/// The best of `candidates` (article, story) by the score `verify` gives it (`None`: does not
/// fold), as a near [`Match`]; the first of equal scores wins. Shared by the second looks of
/// `crate::fold` (rules 3b and 3c), which verify candidates on their texts read from the store,
/// and by the evaluation, which keeps the texts in memory: `verify` may fail (a store read).
pub fn best_verified<E>(
    candidates: impl IntoIterator<Item = (ArticleId, StoryId)>,
    mut verify: impl FnMut(ArticleId) -> Result<Option<f32>, E>,
) -> Result<Option<Match>, E> {
    let mut best: Option<Match> = None;
    for (article, story) in candidates {
        if let Some(similarity) = verify(article)? {
            if best.as_ref().is_none_or(|b| similarity > b.similarity) {
                best = Some(Match {
                    article,
                    story,
                    kind: MatchKind::Near,
                    similarity,
                });
            }
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests;
