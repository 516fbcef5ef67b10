//! The in-memory near-duplicate index (see the [module docs](super)).

use super::table::SlotTable;
use super::{ArticleId, DedupParams, Match, MatchKind, StoryId};
use crate::fingerprint::minhash::{self, BIN_WORDS};
use crate::fingerprint::shingle::fmix64;
use crate::fingerprint::{Fingerprint, ANCHORS};

// `Entry::packed`: shingle count in the low 24 bits, then these flags, then the anchor count.
const SHINGLES: u32 = (1 << 24) - 1;
const LIVE: u32 = 1 << 24;
const SHORT: u32 = 1 << 25;
const ANCHOR_SHIFT: u32 = 26;

const SALT_ID: u64 = 0x243f_6a88_85a3_08d3;
const SALT_EXACT: u64 = 0x1319_8a2e_0370_7344;
const SALT_LONG: u64 = 0xa409_3822_299f_31d0;
const SALT_SHORT: u64 = 0x082e_fa98_ec4e_6c89;

/// Everything the index keeps per article (168 bytes).
#[derive(Clone, Debug)]
struct Entry {
    bins: [u64; BIN_WORDS],
    numbers: u64,
    entities: u64,
    simhash: u64,
    content: u64,
    /// Unix seconds, saturated to `u32` (0 before 1970, the maximum after 2106): four bytes
    /// that leave room for `entities` in 168.
    at: u32,
    article: ArticleId,
    story: StoryId,
    /// Shingle count (saturated at 2^24 - 1), `LIVE`, `SHORT`, anchor count from bit 26;
    /// packed so that the entity mask fits in the same 168 bytes.
    packed: u32,
    anchors: [u32; ANCHORS],
}

impl Entry {
    fn live(&self) -> bool {
        self.packed & LIVE != 0
    }
    fn short(&self) -> bool {
        self.packed & SHORT != 0
    }
    fn anchors(&self) -> &[u32] {
        &self.anchors[..self.anchor_len()]
    }
    fn anchor_len(&self) -> usize {
        ((self.packed >> ANCHOR_SHIFT) as usize).min(ANCHORS)
    }
    fn shingles(&self) -> u32 {
        self.packed & SHINGLES
    }
}

/// One article as the index holds it: what [`Index::from_records`] builds from, and what the
/// index snapshot saves and loads (`fold/snapshot.rs`) as [`Record::BYTES`] flat bytes.
#[derive(Clone, Debug)]
pub struct Record(Entry);

impl Record {
    /// Size of an encoded record: the bins, six `u64`s (numbers, entities, SimHash, content
    /// hash, article, story), then `at`, `packed` and the anchors as `u32`s.
    pub const BYTES: usize = 8 * BIN_WORDS + 8 * 6 + 4 * 2 + 4 * ANCHORS;

    /// The record of `article` in `story` with fingerprint `fp`, first seen at `at_unix_secs`
    /// (what [`Index::insert`] stores).
    pub fn new(article: ArticleId, story: StoryId, fp: &Fingerprint, at_unix_secs: i64) -> Self {
        let sk = &fp.sketch;
        let n_anchors = usize::from(sk.anchor_len).min(ANCHORS);
        Record(Entry {
            bins: sk.bins,
            numbers: sk.numbers,
            entities: fp.entities,
            simhash: fp.simhash,
            content: fp.content as u64,
            at: secs(at_unix_secs),
            article,
            story,
            packed: fp.shingles.min(SHINGLES)
                | LIVE
                | if fp.short { SHORT } else { 0 }
                | ((n_anchors as u32) << ANCHOR_SHIFT),
            anchors: sk.anchors,
        })
    }

    /// The article.
    pub fn article(&self) -> ArticleId {
        self.0.article
    }

    /// When it was first seen (Unix seconds, as the index keeps them).
    pub fn at(&self) -> i64 {
        i64::from(self.0.at)
    }

    /// Appends the record's [`Record::BYTES`] bytes (little-endian fields) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let e = &self.0;
        for w in e.bins {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for v in [
            e.numbers, e.entities, e.simhash, e.content, e.article, e.story,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&e.at.to_le_bytes());
        out.extend_from_slice(&e.packed.to_le_bytes());
        for a in e.anchors {
            out.extend_from_slice(&a.to_le_bytes());
        }
    }

    /// Decodes what [`Record::encode`] wrote; `None` when `b` is not exactly one record or
    /// does not describe a live entry.
    pub fn decode(b: &[u8]) -> Option<Record> {
        if b.len() != Self::BYTES {
            return None;
        }
        let mut words = b.chunks_exact(8);
        let mut u64s = || {
            words
                .next()
                .and_then(|c| c.try_into().ok())
                .map(u64::from_le_bytes)
        };
        let mut bins = [0u64; BIN_WORDS];
        for w in &mut bins {
            *w = u64s()?;
        }
        let (numbers, entities, simhash, content, article, story) =
            (u64s()?, u64s()?, u64s()?, u64s()?, u64s()?, u64s()?);
        let rest = b.get(8 * BIN_WORDS + 48..)?;
        let mut u32s = rest
            .chunks_exact(4)
            .map(|c| c.try_into().map(u32::from_le_bytes));
        let mut u32s = || u32s.next().and_then(Result::ok);
        let (at, packed) = (u32s()?, u32s()?);
        let mut anchors = [0u32; ANCHORS];
        for a in &mut anchors {
            *a = u32s()?;
        }
        if packed & LIVE == 0 || (packed >> ANCHOR_SHIFT) as usize > ANCHORS {
            return None;
        }
        Some(Record(Entry {
            bins,
            numbers,
            entities,
            simhash,
            content,
            at,
            article,
            story,
            packed,
            anchors,
        }))
    }
}

#[inline]
fn id_hash(a: ArticleId) -> u64 {
    fmix64(a ^ SALT_ID)
}
#[inline]
fn exact_hash(content: u64) -> u64 {
    fmix64(content ^ SALT_EXACT)
}
#[inline]
fn anchor_hash(anchor: u32, short: bool) -> u64 {
    fmix64(u64::from(anchor) ^ if short { SALT_SHORT } else { SALT_LONG })
}

/// Unix seconds as kept in an [`Entry`].
#[inline]
fn secs(unix_secs: i64) -> u32 {
    u32::try_from(unix_secs.max(0)).unwrap_or(u32::MAX)
}

/// Figures of edit noise tolerated between same-size long items whose figures differ both ways
/// (see [`Index::verify`]). Measured on the Reuters long set (BENCHMARKS.md, issue 5, round
/// 5): a quarter of the figures (up to 6 on a daily table) let the next issue of a daily table
/// fold; a cap of 2 keeps every copy pair the quarter kept, a cap of 1 loses natural re-sends.
const SAME_SIZE_FIGURE_SLACK: u32 = 2;

/// Whether `e` was first seen at most `w` away from `at` (Unix seconds).
fn within(e: &Entry, at: i64, w: std::time::Duration) -> bool {
    let w = i64::try_from(w.as_secs()).unwrap_or(i64::MAX);
    at.saturating_sub(i64::from(e.at)).saturating_abs() <= w
}

/// Bits of `small` that are not in `large`.
#[inline]
fn extra_numbers(small: u64, large: u64) -> u32 {
    (small & !large).count_ones()
}

/// The entity guard (see [`crate::fingerprint::entities`]): the names of the lead must agree.
/// A copy keeps its original's names; a trimmed copy loses some and an edit may replace one,
/// so either one side's names are all in the other's, or each side has at most one name the
/// other lacks. A template story about another company, organisation or place has several on
/// both sides ("Comerica Inc" / "Meridian Bancorp Inc", SCO / ASEAN). An empty mask (title-only
/// items, caseless scripts, records of schema 2) is not checked.
pub(crate) fn entities_agree(a: u64, b: u64) -> bool {
    if a == 0 || b == 0 {
        return true;
    }
    let (ab, ba) = (extra_numbers(a, b), extra_numbers(b, a));
    ab == 0 || ba == 0 || (ab <= 1 && ba <= 1)
}

/// In-memory near-duplicate index over the articles of the time window.
///
/// Rebuilt at start-up by inserting the stored fingerprints of the window.
#[derive(Clone, Debug)]
pub struct Index {
    params: DedupParams,
    slots: Vec<Entry>,
    free: Vec<u32>,
    by_id: SlotTable,
    by_content: SlotTable,
    by_anchor: SlotTable,
    live: usize,
}

/// Verdict of verifying one candidate.
struct Verdict {
    score: f32,
    jaccard: f32,
}

impl Index {
    /// An empty index.
    pub fn new(params: DedupParams) -> Self {
        Index {
            params,
            slots: Vec::new(),
            free: Vec::new(),
            by_id: SlotTable::with_entries(0, 0),
            by_content: SlotTable::with_entries(0, 0),
            by_anchor: SlotTable::with_entries(0, 0),
            live: 0,
        }
    }

    /// The index of `records` (of distinct articles), inserted in the order given (the
    /// rebuild at start: newest first), as [`Index::insert`] would — but with the record array
    /// and the tables allocated once, sized for `records` (70% load once filled), so that
    /// filling them never grows or rebuilds them, and without the lookup of an older entry
    /// (each table gets the same inserts in the same order as one by one). Builds the same
    /// index whether the records come from the store or from a snapshot. (Filling the anchor
    /// table on a second thread, or asking for huge pages, gained nothing measurable on the
    /// shared 2-core machine.)
    pub fn from_records(params: DedupParams, records: Vec<Record>) -> Self {
        let mut slots: Vec<Entry> = records.into_iter().map(|r| r.0).collect();
        slots.truncate(SlotTable::MAX_SLOTS);
        let n = slots.len();
        let cap = params.max_postings;
        let mut by_id = SlotTable::sized_for(n, slots.capacity());
        let mut by_content = SlotTable::sized_for(n, slots.capacity());
        let anchors = slots.iter().map(|e| e.anchors().len()).sum();
        let mut by_anchor = SlotTable::sized_for(anchors, slots.capacity());
        for (s, e) in slots.iter().enumerate() {
            by_id.insert(id_hash(e.article), s as u32, u32::MAX);
            by_content.insert(exact_hash(e.content), s as u32, cap);
            for &a in e.anchors() {
                by_anchor.insert(anchor_hash(a, e.short()), s as u32, cap);
            }
        }
        Index {
            params,
            slots,
            free: Vec::new(),
            by_id,
            by_content,
            by_anchor,
            live: n,
        }
    }

    /// Every article in the index, in no particular order.
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        self.live_slots().map(|(_, e)| Record(e.clone()))
    }

    /// The parameters in force.
    pub fn params(&self) -> &DedupParams {
        &self.params
    }

    /// Number of articles in the index.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when the index holds no article.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Approximate heap + inline bytes held by the index.
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.slots.capacity() * std::mem::size_of::<Entry>()
            + self.free.capacity() * 4
            + self.by_id.bytes()
            + self.by_content.bytes()
            + self.by_anchor.bytes()
    }

    fn slot_of(&self, article: ArticleId) -> Option<u32> {
        let mut found = None;
        self.by_id.for_each(id_hash(article), u32::MAX, |s| {
            match self.slots.get(s as usize) {
                Some(e) if e.live() && e.article == article => {
                    found = Some(s);
                    false
                }
                _ => true,
            }
        });
        found
    }

    /// Adds (or replaces) an article.  Re-inserting an existing article id
    /// replaces its fingerprint, story and time.
    pub fn insert(
        &mut self,
        article: ArticleId,
        story: StoryId,
        fp: &Fingerprint,
        at_unix_secs: i64,
    ) {
        self.insert_record(Record::new(article, story, fp, at_unix_secs));
    }

    fn insert_record(&mut self, Record(entry): Record) {
        self.remove(entry.article);
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = entry;
                s
            }
            None => {
                let len = self.slots.len();
                if len >= SlotTable::MAX_SLOTS {
                    // 268 million articles in the window: this one is not indexed
                    return;
                }
                if len == self.slots.capacity() {
                    // grow by 1/8 instead of doubling: memory matters more
                    // than the amortised copy cost here
                    let extra = (len / 8).max(64).min(SlotTable::MAX_SLOTS - len);
                    self.slots.reserve_exact(extra);
                    self.readdress();
                }
                self.slots.push(entry);
                (self.slots.len() - 1) as u32
            }
        };
        self.live += 1;
        self.index_slot(slot);
    }

    fn index_slot(&mut self, slot: u32) {
        let Some(e) = self.slots.get(slot as usize) else {
            return;
        };
        let (article, content, short) = (e.article, e.content, e.short());
        let anchors = e.anchors;
        let n_anchors = e.anchors().len();
        if self.by_id.needs_rebuild() {
            self.rebuild_id();
        }
        self.by_id.insert(id_hash(article), slot, u32::MAX);
        if self.by_content.needs_rebuild() {
            self.rebuild_content();
        }
        self.by_content
            .insert(exact_hash(content), slot, self.params.max_postings);
        for &a in &anchors[..n_anchors] {
            if self.by_anchor.needs_rebuild() {
                self.rebuild_anchor();
            }
            self.by_anchor
                .insert(anchor_hash(a, short), slot, self.params.max_postings);
        }
    }

    fn live_slots(&self) -> impl Iterator<Item = (u32, &Entry)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, e)| e.live())
            .map(|(i, e)| (i as u32, e))
    }

    /// Rebuilds the tables that cannot hold every slot id the record array has room for.
    fn readdress(&mut self) {
        let slots = self.slots.capacity();
        if self.by_id.slot_limit() < slots {
            self.rebuild_id();
        }
        if self.by_content.slot_limit() < slots {
            self.rebuild_content();
        }
        if self.by_anchor.slot_limit() < slots {
            self.rebuild_anchor();
        }
    }

    fn rebuild_id(&mut self) {
        let mut t = SlotTable::with_entries(self.by_id.live() + 1, self.slots.capacity());
        for (s, e) in self.live_slots() {
            t.insert(id_hash(e.article), s, u32::MAX);
        }
        self.by_id = t;
    }

    fn rebuild_content(&mut self) {
        let mut t = SlotTable::with_entries(self.by_content.live() + 1, self.slots.capacity());
        let cap = self.params.max_postings;
        for (s, e) in self.live_slots() {
            t.insert(exact_hash(e.content), s, cap);
        }
        self.by_content = t;
    }

    fn rebuild_anchor(&mut self) {
        let want = self.by_anchor.live() + ANCHORS;
        let mut t = SlotTable::with_entries(want, self.slots.capacity());
        let cap = self.params.max_postings;
        for (s, e) in self.live_slots() {
            for &a in e.anchors() {
                if t.needs_rebuild() {
                    break;
                }
                t.insert(anchor_hash(a, e.short()), s, cap);
            }
        }
        self.by_anchor = t;
    }

    /// Removes an article (no-op if absent).
    pub fn remove(&mut self, article: ArticleId) {
        if let Some(slot) = self.slot_of(article) {
            self.remove_slot(slot);
        }
    }

    fn remove_slot(&mut self, slot: u32) {
        let Some(e) = self.slots.get_mut(slot as usize) else {
            return;
        };
        if !e.live() {
            return;
        }
        e.packed &= !LIVE;
        let (article, content, short) = (e.article, e.content, e.short());
        let anchors = e.anchors;
        let n = e.anchor_len();
        self.by_id.remove(id_hash(article), slot);
        self.by_content.remove(exact_hash(content), slot);
        for &a in &anchors[..n.min(ANCHORS)] {
            self.by_anchor.remove(anchor_hash(a, short), slot);
        }
        self.free.push(slot);
        self.live -= 1;
    }

    /// Moves an article to another story (after a story merge).
    pub fn set_story(&mut self, article: ArticleId, story: StoryId) {
        if let Some(slot) = self.slot_of(article) {
            if let Some(e) = self.slots.get_mut(slot as usize) {
                e.story = story;
            }
        }
    }

    /// Story of an indexed article.
    pub fn story_of(&self, article: ArticleId) -> Option<StoryId> {
        self.slot_of(article)
            .and_then(|s| self.slots.get(s as usize))
            .map(|e| e.story)
    }

    /// Removes every article older than `unix_secs` from the index (not from
    /// the store); returns how many.  O(slots): call it periodically (e.g.
    /// once a minute), not per article.
    pub fn evict_before(&mut self, unix_secs: i64) -> usize {
        let old: Vec<u32> = self
            .live_slots()
            .filter(|(_, e)| i64::from(e.at) < unix_secs)
            .map(|(s, _)| s)
            .collect();
        for &s in &old {
            self.remove_slot(s);
        }
        old.len()
    }

    /// Exact copies fold within `window`; near copies of short items only within
    /// `short_window` (see [`DedupParams::short_window`]).
    fn in_window(&self, e: &Entry, at: i64, exact: bool) -> bool {
        let w = if e.short() && !exact {
            self.params.window.min(self.params.short_window)
        } else {
            self.params.window
        };
        within(e, at, w)
    }

    /// Whether `e` was first seen more than `short_window` away from `at`: a long item that
    /// recurs a day later with a figure of its own is the next issue of a daily report, so its
    /// figures get no tolerance (see [`Index::verify`]).
    fn late(&self, e: &Entry, at: i64) -> bool {
        !within(e, at, self.params.short_window)
    }

    /// Verification of a near-duplicate candidate (thresholds in
    /// [`DedupParams`]).  Returns `None` when it must not fold.
    fn verify(&self, fp: &Fingerprint, e: &Entry, at: i64) -> Option<Verdict> {
        if e.short() != fp.short || fp.shingles == 0 || e.shingles() == 0 {
            return None;
        }
        let p = &self.params;
        let (na, nb) = (fp.shingles.min(SHINGLES), e.shingles());
        let (small, large) = if na <= nb {
            (fp.sketch.numbers, e.numbers)
        } else {
            (e.numbers, fp.sketch.numbers)
        };
        // Figures of the smaller item must appear in the larger one (a
        // trimmed copy loses figures, it does not gain them).  Long items
        // tolerate a quarter of the smaller item's figures (rounded down,
        // after +1) and one more when the difference is explained: either
        // the larger item has no figure the smaller lacks (a pure addition
        // such as a dateline) or the sizes differ by more than 20% (a
        // trimmed copy).  Same-size texts whose figures differ both ways are
        // template stories ("20 new cases" / "11 new cases"): at most
        // `SAME_SIZE_FIGURE_SLACK` figures of edit noise, whatever their number
        // (a daily table of 25 figures, 6 of them new, is the next issue).  A
        // candidate first seen more than `short_window` away gets no tolerance:
        // a long item that recurs a day later with a figure of its own is the
        // next issue of a daily report.
        let extra = extra_numbers(small, large);
        let sizes_differ = (na.min(nb) as f32) < 0.8 * na.max(nb) as f32;
        let allowed = if fp.short || self.late(e, at) {
            0
        } else {
            let explained = extra_numbers(large, small) == 0 || sizes_differ;
            let quarter = (small.count_ones() + 1) / 4;
            if explained {
                quarter + 1
            } else {
                quarter.min(SAME_SIZE_FIGURE_SLACK)
            }
        };
        if extra > allowed {
            return None;
        }
        if !entities_agree(fp.entities, e.entities) {
            return None;
        }
        let sk_a = minhash::Sketch {
            bins: e.bins,
            anchors: e.anchors,
            anchor_len: 0,
            numbers: 0,
        };
        let j = minhash::jaccard(&fp.sketch, &sk_a);
        let c = minhash::containment(j, na, nb);
        let ok = if fp.short {
            let need = if na.min(nb) <= p.tiny_max_shingles {
                p.tiny_min_similarity
            } else {
                p.short_min_similarity
            };
            // a trimmed summary (a copy cut to its first sentences) is mostly contained
            j >= need || (c >= 0.85 && j >= 0.3 && na.min(nb) > p.tiny_max_shingles)
        } else {
            (j >= p.min_similarity && c >= p.min_containment)
                || (crate::fingerprint::hamming(fp.simhash, e.simhash) <= p.simhash_max_distance
                    && na.min(nb) as f32 >= 0.8 * na.max(nb) as f32)
        };
        ok.then_some(Verdict {
            score: if fp.short { j } else { c },
            jaccard: j,
        })
    }

    /// Best verified match for `fp` among the articles within the window
    /// around `at_unix_secs`: an exact copy (same content hash and sketch)
    /// first, else the near duplicate with the highest score.
    pub fn find(&self, fp: &Fingerprint, at_unix_secs: i64) -> Option<Match> {
        self.find_all(fp, at_unix_secs).into_iter().next()
    }

    /// Short ↔ long: the best short item (headline + summary) that `lead` — the headline and
    /// first [`crate::fingerprint::SHORT_MAX_WORDS`] words of a long article, fingerprinted as
    /// a short item — verifies against by the short-item rules (Jaccard, trimmed-summary
    /// containment, number and entity guards, `short_window`). Used when the long article has
    /// no match among long items: an outlet's headline + summary of a story another outlet
    /// carries in full. Only this direction is searched: a short item arriving after the
    /// long one would need the long item's lead sketch in the index (64 more bytes per
    /// article).
    pub fn find_lead(&self, lead: &Fingerprint, at_unix_secs: i64) -> Option<Match> {
        if !lead.short {
            return None;
        }
        let mut cands: Vec<u32> = Vec::with_capacity(64);
        for &a in lead.sketch.anchors() {
            self.by_anchor
                .for_each(anchor_hash(a, true), self.params.max_postings, |s| {
                    cands.push(s);
                    true
                });
        }
        cands.sort_unstable();
        cands.dedup();
        let mut best: Option<(&Entry, Verdict)> = None;
        for s in cands {
            let Some(e) = self.slots.get(s as usize) else {
                continue;
            };
            if !e.live() || !e.short() || !self.in_window(e, at_unix_secs, false) {
                continue;
            }
            if let Some(v) = self.verify(lead, e, at_unix_secs) {
                if best
                    .as_ref()
                    .is_none_or(|(b, bv)| (v.score, v.jaccard, e.at) > (bv.score, bv.jaccard, b.at))
                {
                    best = Some((e, v));
                }
            }
        }
        best.map(|(e, v)| Match {
            article: e.article,
            story: e.story,
            kind: MatchKind::Near,
            similarity: v.score,
        })
    }

    /// Short → long candidates: long articles within `short_window` whose anchors are among
    /// `trigrams` (the word 3-gram hashes of a short item's text, see
    /// [`crate::fingerprint::lead::trigrams`]), most shared anchors first, at most `limit`.
    /// A long item's anchors are its smallest 3-gram hashes, so its full text shares some
    /// with a summary of its lead only by chance (about 1 − (1 − 12/|L|)^|S|: ~0.9 for a
    /// 30-trigram summary of a 150-trigram text); the caller verifies on the texts
    /// ([`super::short_in_long`]).
    pub fn long_candidates(
        &self,
        trigrams: &[u64],
        at_unix_secs: i64,
        limit: usize,
    ) -> Vec<(ArticleId, StoryId)> {
        self.anchor_candidates(trigrams, false, at_unix_secs, limit)
    }

    /// Short → short on the summary (`crate::fold` rule 3c): headline + summary items within
    /// `short_window` (a summary that recurs a day later is a daily template) whose anchors
    /// (smallest word-bigram hashes of headline and summary) are among `bigrams` (a summary's,
    /// see [`crate::fingerprint::lead::bigrams`]), most shared anchors first, at most `limit`.
    /// The caller verifies on the texts ([`super::summaries_agree`]).
    pub fn short_candidates(
        &self,
        bigrams: &[u64],
        at_unix_secs: i64,
        limit: usize,
    ) -> Vec<(ArticleId, StoryId)> {
        self.anchor_candidates(bigrams, true, at_unix_secs, limit)
    }

    /// Live items of kind `short` within `short_window` of `at_unix_secs` with an anchor among
    /// `hashes`, most shared anchors first, at most `limit`.
    fn anchor_candidates(
        &self,
        hashes: &[u64],
        short: bool,
        at_unix_secs: i64,
        limit: usize,
    ) -> Vec<(ArticleId, StoryId)> {
        let w = self.params.window.min(self.params.short_window);
        let w = i64::try_from(w.as_secs()).unwrap_or(i64::MAX);
        let mut hits: Vec<(u32, u32)> = Vec::new(); // (slot, shared anchors)
        for &h in hashes {
            let a = h as u32;
            self.by_anchor
                .for_each(anchor_hash(a, short), self.params.max_postings, |s| {
                    if let Some(e) = self.slots.get(s as usize) {
                        if e.live()
                            && e.short() == short
                            && e.anchors().contains(&a)
                            && at_unix_secs
                                .saturating_sub(i64::from(e.at))
                                .saturating_abs()
                                <= w
                        {
                            match hits.iter_mut().find(|(x, _)| *x == s) {
                                Some(hit) => hit.1 += 1,
                                None => hits.push((s, 1)),
                            }
                        }
                    }
                    true
                });
        }
        hits.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        hits.into_iter()
            .take(limit)
            .filter_map(|(s, _)| self.slots.get(s as usize))
            .map(|e| (e.article, e.story))
            .collect()
    }

    /// Every story `fp` matches: the best verified match in each, best first
    /// (by score, then Jaccard, then recency). An exact copy is the only
    /// match returned when there is one. More than one story means the
    /// article bridges stories that were kept apart (see `crate::fold`, story
    /// merges).
    pub fn find_all(&self, fp: &Fingerprint, at_unix_secs: i64) -> Vec<Match> {
        let content = fp.content as u64;
        let mut exact: Option<&Entry> = None;
        self.by_content
            .for_each(exact_hash(content), u32::MAX, |s| {
                if let Some(e) = self.slots.get(s as usize) {
                    if e.live()
                        && e.content == content
                        && e.bins == fp.sketch.bins
                        && e.numbers == fp.sketch.numbers
                        && e.short() == fp.short
                        && self.in_window(e, at_unix_secs, true)
                        && exact.is_none_or(|b| e.at > b.at)
                    {
                        exact = Some(e);
                    }
                }
                true
            });
        if let Some(e) = exact {
            return vec![Match {
                article: e.article,
                story: e.story,
                kind: MatchKind::Exact,
                similarity: 1.0,
            }];
        }
        let mut cands: Vec<u32> = Vec::with_capacity(64);
        for &a in fp.sketch.anchors() {
            self.by_anchor
                .for_each(anchor_hash(a, fp.short), self.params.max_postings, |s| {
                    cands.push(s);
                    true
                });
        }
        cands.sort_unstable();
        cands.dedup();
        // best verdict per story; few stories per lookup, so a linear scan
        let mut best: Vec<(&Entry, Verdict)> = Vec::new();
        for s in cands {
            let Some(e) = self.slots.get(s as usize) else {
                continue;
            };
            if !e.live() || !self.in_window(e, at_unix_secs, false) {
                continue;
            }
            if let Some(v) = self.verify(fp, e, at_unix_secs) {
                let key = (v.score, v.jaccard, e.at);
                match best.iter_mut().find(|(b, _)| b.story == e.story) {
                    Some(slot) => {
                        if key > (slot.1.score, slot.1.jaccard, slot.0.at) {
                            *slot = (e, v);
                        }
                    }
                    None => best.push((e, v)),
                }
            }
        }
        best.sort_by(|(a, av), (b, bv)| {
            (bv.score, bv.jaccard, b.at)
                .partial_cmp(&(av.score, av.jaccard, a.at))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        best.into_iter()
            .map(|(e, v)| Match {
                article: e.article,
                story: e.story,
                kind: MatchKind::Near,
                similarity: v.score,
            })
            .collect()
    }
}

#[cfg(test)]
mod layout {
    use super::entities_agree;

    #[test]
    fn an_entry_stays_168_bytes() {
        assert_eq!(std::mem::size_of::<super::Entry>(), 168);
    }

    #[test]
    fn entity_guard_allows_subsets_and_one_swap_not_two() {
        assert!(entities_agree(0, 0b1111), "unknown is not checked");
        assert!(entities_agree(0b0111, 0b1111), "a trimmed copy");
        assert!(entities_agree(0b1111, 0b0111));
        assert!(entities_agree(0b1_0111, 0b0_1111), "one name replaced");
        assert!(!entities_agree(0b11_0011, 0b00_1111), "two names each way");
    }
}
