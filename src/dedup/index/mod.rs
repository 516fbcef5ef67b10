//! The in-memory near-duplicate index (see the [module docs](super)).

use super::table::{prefetch, Placement, SlotTable};
use super::{ArticleId, DedupParams, Match, MatchKind, StoryId};
use crate::fingerprint::shingle::fmix64;
use crate::fingerprint::{Fingerprint, ANCHORS};

mod record;
mod state;
mod verify;

pub use record::Record;
use record::{Entry, HOT_BYTES, LIVE};
pub use state::StateError;
pub(crate) use verify::entities_agree;
use verify::Verdict;

const SALT_ID: u64 = 0x243f_6a88_85a3_08d3;
const SALT_EXACT: u64 = 0x1319_8a2e_0370_7344;
const SALT_LONG: u64 = 0xa409_3822_299f_31d0;
const SALT_SHORT: u64 = 0x082e_fa98_ec4e_6c89;

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

/// Keys a bulk fill gathers before it writes them into the table (8 MB of packed entries
/// and as much scratch; the table is swept once per batch).
const FILL_BATCH: usize = 1 << 20;
/// How many candidates ahead a lookup asks for the slots' lines ([`Index::each_candidate`]):
/// enough misses in flight to cover a memory access's latency, few enough that the lines
/// are still cached when their turn comes.
const PREFETCH_AHEAD: usize = 8;

/// The slot ids the tables of an index made for `capacity` records address: twice as many,
/// so that the record array can grow to twice its size before the tables must be rebuilt to
/// address more (see [`Index::readdress`]); it costs each cell one bit of tag. A daemon
/// restarted with 1,000,000 articles otherwise rebuilt all three tables (~2 s, under the fold
/// lock) at its first new article, when the full record array first grew.
fn room_to_grow(capacity: usize) -> usize {
    capacity.saturating_mul(2).min(SlotTable::MAX_SLOTS)
}

/// The keys of a record in one table, written to the start of the array; returns how many.
type Keys = fn(&Entry, &mut [u64; ANCHORS]) -> usize;

fn id_keys(e: &Entry, out: &mut [u64; ANCHORS]) -> usize {
    out[0] = id_hash(e.article);
    1
}

fn content_keys(e: &Entry, out: &mut [u64; ANCHORS]) -> usize {
    out[0] = exact_hash(e.content);
    1
}

fn anchor_keys(e: &Entry, out: &mut [u64; ANCHORS]) -> usize {
    let anchors = e.anchors();
    for (o, &a) in out.iter_mut().zip(anchors) {
        *o = anchor_hash(a, e.short());
    }
    anchors.len()
}

/// Inserts the keys of every live record of `slots` into `t` (at most `cap` slots a key), in
/// slot order, while it has room, a batch at a time ([`SlotTable::insert_sorted`]: in the
/// order of the cells). Inserting them one by one waits on one cache miss after another:
/// three quarters of [`Index::from_records`]' time at 1,000,000 articles (`perf annotate`).
fn fill(t: &mut SlotTable, slots: &[Entry], cap: u32, keys: Keys) {
    fill_batched(t, slots, cap, keys, FILL_BATCH);
}

/// [`fill`], `per_batch` keys a batch.
fn fill_batched(t: &mut SlotTable, slots: &[Entry], cap: u32, keys: Keys, per_batch: usize) {
    let place = t.placement();
    gather(slots, keys, place, per_batch, |batch| {
        t.insert_sorted(batch, cap)
    });
}

/// The keys of the live records of `slots`, placed and sorted for a table with `place`
/// ([`Placement::sort`]), handed to `sorted` a batch of `per_batch` at a time (the last one
/// shorter); stops when `sorted` returns false. `sorted` may take the batch's buffer.
fn gather(
    slots: &[Entry],
    keys: Keys,
    place: Placement,
    per_batch: usize,
    mut sorted: impl FnMut(&mut Vec<u64>) -> bool,
) {
    let mut k = [0u64; ANCHORS];
    let (mut batch, mut scratch) = (Vec::new(), Vec::new());
    for (s, e) in slots.iter().enumerate().filter(|(_, e)| e.live()) {
        let n = keys(e, &mut k);
        batch.extend(k[..n].iter().map(|&h| place.packed(h, s as u32)));
        if batch.len() >= per_batch {
            place.sort(&mut batch, &mut scratch);
            if !sorted(&mut batch) {
                return;
            }
            batch.clear();
        }
    }
    place.sort(&mut batch, &mut scratch);
    sorted(&mut batch);
}

/// [`fill`] on two threads: a second one gathers and sorts the next batch of keys while this
/// one writes the last into `t` (the same inserts in the same order, so the same table).
/// For [`Index::from_records`], where the other core is otherwise idle: of a 1,000,000-article
/// anchor table's fill, the keys and the sort took ~0.3 s and the inserts ~0.45 s. Falls back
/// to [`fill`] when `total` (the keys there are) makes one batch, on one core, or when no
/// thread can be started.
fn fill_two_threads(
    t: &mut SlotTable,
    slots: &[Entry],
    cap: u32,
    keys: Keys,
    (total, per_batch): (usize, usize),
) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if total <= per_batch || cores < 2 {
        return fill_batched(t, slots, cap, keys, per_batch);
    }
    let place = t.placement();
    let filled = std::thread::scope(|scope| {
        // One batch being inserted, one waiting, one being gathered and its sort's other
        // buffer: ~32 MB of keys.
        let (ready, batches) = std::sync::mpsc::sync_channel::<Vec<u64>>(1);
        let (used, spare) = std::sync::mpsc::channel::<Vec<u64>>();
        let gather = move || {
            gather(slots, keys, place, per_batch, |batch| {
                let next = spare.try_recv().unwrap_or_default();
                ready.send(std::mem::replace(batch, next)).is_ok()
            })
        };
        let started = std::thread::Builder::new()
            .name("index-fill".into())
            .spawn_scoped(scope, gather);
        if started.is_err() {
            return false;
        }
        for batch in batches {
            if !t.insert_sorted(&batch, cap) {
                break;
            }
            let _ = used.send(batch);
        }
        true
    });
    if !filled {
        fill_batched(t, slots, cap, keys, per_batch);
    }
}

/// A growing table's rebuild leaves room for this share of its live entries more (a quarter:
/// 60% load after the rebuild instead of 75%), so that it comes again after ~40% growth
/// instead of ~13%. An index that grows from empty (a cold start, the eval) filled each cell
/// ~8 times over a doubling; now ~3 times. `wirefold eval --no-peer`: index step of the long
/// set 0.095 → 0.063 s, short set 0.53 → 0.40 s, the same decisions; 253 → 270 index bytes
/// per article at the peak (a half: 0.053 s and 0.373 s, 287 bytes: not worth the memory).
const GROWTH_ROOM: usize = 4;

/// Entries a table rebuilt for `live` ones is sized for: `live`, plus a [`GROWTH_ROOM`]th
/// when the table grew since it was made ([`SlotTable::grew`]; a rebuild that clears the
/// tombstones of evictions gets no room). [`Index::compact`] gives the room back once the
/// growth stops.
fn room(t: &SlotTable, live: usize) -> usize {
    if t.grew() {
        live + live / GROWTH_ROOM
    } else {
        live
    }
}

/// One of the index's three tables.
#[derive(Clone, Copy)]
enum Table {
    Id,
    Content,
    Anchor,
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
    /// index whether the records come from the store or from a snapshot's catch-up. The anchor
    /// table's keys are gathered and sorted on a second thread (`fill_two_threads`); filling
    /// the whole anchor table on one beside the other tables, or asking for huge pages, gained
    /// nothing measurable on the shared 2-core machine.
    pub fn from_records(params: DedupParams, records: Vec<Record>) -> Self {
        let mut slots: Vec<Entry> = records.into_iter().map(|r| r.0).collect();
        slots.truncate(SlotTable::MAX_SLOTS);
        let n = slots.len();
        let cap = params.max_postings;
        let ids = room_to_grow(slots.capacity());
        let mut by_id = SlotTable::sized_for(n, ids);
        let mut by_content = SlotTable::sized_for(n, ids);
        let anchors = slots.iter().map(|e| e.anchors().len()).sum();
        let mut by_anchor = SlotTable::sized_for(anchors, ids);
        fill(&mut by_id, &slots, u32::MAX, id_keys);
        fill(&mut by_content, &slots, cap, content_keys);
        fill_two_threads(
            &mut by_anchor,
            &slots,
            cap,
            anchor_keys,
            (anchors, FILL_BATCH),
        );
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

    /// The index's records in slot order, its tables dropped first: what a snapshot's catch-up
    /// builds again from.
    pub fn into_records(self) -> Vec<Record> {
        let Index {
            mut slots,
            free,
            by_id,
            by_content,
            by_anchor,
            ..
        } = self;
        drop((free, by_id, by_content, by_anchor));
        slots.retain(Entry::live);
        slots.into_iter().map(Record).collect()
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
        // The slot is live already: a table rebuilt here takes its keys from it, so they are
        // not inserted again (they were, once: two cells for one slot, and after its removal
        // the second pointed at whatever article took the slot next).
        if self.by_id.needs_rebuild() {
            self.rebuild(Table::Id, false);
        } else {
            self.by_id.insert(id_hash(article), slot, u32::MAX);
        }
        if self.by_content.needs_rebuild() {
            self.rebuild(Table::Content, false);
        } else {
            self.by_content
                .insert(exact_hash(content), slot, self.params.max_postings);
        }
        for &a in &anchors[..n_anchors] {
            if self.by_anchor.needs_rebuild() {
                self.rebuild(Table::Anchor, false);
                break;
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
            self.rebuild(Table::Id, false);
        }
        if self.by_content.slot_limit() < slots {
            self.rebuild(Table::Content, false);
        }
        if self.by_anchor.slot_limit() < slots {
            self.rebuild(Table::Anchor, false);
        }
    }

    fn table(&self, which: Table) -> &SlotTable {
        match which {
            Table::Id => &self.by_id,
            Table::Content => &self.by_content,
            Table::Anchor => &self.by_anchor,
        }
    }

    /// Rebuilds one table from the records: for its live entries and the insert being made
    /// (one key, or up to [`ANCHORS`]) with [`room`] for growth; or, to `compact` it, for its
    /// live entries alone.
    fn rebuild(&mut self, which: Table, compact: bool) {
        let (cap, keys, extra): (u32, Keys, usize) = match which {
            Table::Id => (u32::MAX, id_keys, 1),
            Table::Content => (self.params.max_postings, content_keys, 1),
            Table::Anchor => (self.params.max_postings, anchor_keys, ANCHORS),
        };
        let (old, slots) = (self.table(which), self.slots.capacity());
        let mut t = if compact {
            SlotTable::with_entries(old.live(), slots)
        } else {
            let live = old.live() + extra;
            SlotTable::with_room(live, room(old, live), slots)
        };
        fill(&mut t, &self.slots, cap, keys);
        *match which {
            Table::Id => &mut self.by_id,
            Table::Content => &mut self.by_content,
            Table::Anchor => &mut self.by_anchor,
        } = t;
    }

    /// Rebuilds the tables that growth or removals left sparse (below 70 % load) at their
    /// usual 75 %; returns how many it rebuilt. For the daemon's maintenance tick: a growing
    /// table is rebuilt with room for a quarter more entries, which one that stopped growing
    /// gives back here.
    pub fn compact(&mut self) -> usize {
        let mut rebuilt = 0;
        for which in [Table::Id, Table::Content, Table::Anchor] {
            if self.table(which).sparse() {
                self.rebuild(which, true);
                rebuilt += 1;
            }
        }
        rebuilt
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

    /// [`prefetch`]es the lines that hold the first `bytes` bytes of slot `s`.
    #[inline]
    fn prefetch_slot(&self, s: u32, bytes: usize) {
        if let Some(e) = self.slots.get(s as usize) {
            let p = (e as *const Entry).cast::<u8>();
            let mut at = 0;
            while at < bytes {
                prefetch(p.wrapping_add(at));
                at += 64;
            }
            prefetch(p.wrapping_add(bytes - 1));
        }
    }

    /// Calls `f` with each of `items` (candidates: `slot` gives each one's slot id) in order,
    /// with its entry, with the first `bytes` bytes of the next [`PREFETCH_AHEAD`] items'
    /// entries already asked for: with a million articles almost every candidate is a cache
    /// miss, and a lookup has dozens to hundreds.
    #[inline]
    fn each_candidate<'a, T: Copy>(
        &'a self,
        items: &[T],
        slot: impl Fn(T) -> u32,
        bytes: usize,
        mut f: impl FnMut(T, &'a Entry),
    ) {
        for &item in items.iter().take(PREFETCH_AHEAD) {
            self.prefetch_slot(slot(item), bytes);
        }
        for (i, &item) in items.iter().enumerate() {
            if let Some(&next) = items.get(i + PREFETCH_AHEAD) {
                self.prefetch_slot(slot(next), bytes);
            }
            if let Some(e) = self.slots.get(slot(item) as usize) {
                f(item, e);
            }
        }
    }

    /// Best verified match for `fp` among the articles within the window
    /// around `at_unix_secs`: an exact copy (same content hash and sketch)
    /// first, else the near duplicate with the highest score.
    pub fn find(&self, fp: &Fingerprint, at_unix_secs: i64) -> Option<Match> {
        self.find_all(fp, at_unix_secs).into_iter().next()
    }

    /// Asks for the anchor table's home cells of `anchors` (of short or long items) ahead of
    /// the lookups on them, so that their cache misses overlap (and with whatever the caller
    /// looks up in between).
    fn prefetch_anchor_cells(&self, anchors: impl IntoIterator<Item = u32>, short: bool) {
        for a in anchors {
            self.by_anchor.prefetch(anchor_hash(a, short));
        }
    }

    /// The slots posted under `fp`'s anchors (at most `max_postings` each), in slot order,
    /// each once.
    fn anchor_slots(&self, fp: &Fingerprint) -> Vec<u32> {
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
        cands
    }

    /// Short ↔ long: the short items (headline + summary) that `lead` — the headline and
    /// first [`crate::fingerprint::SHORT_MAX_WORDS`] words of a long article, fingerprinted as
    /// a short item — verifies against by the short-item rules (Jaccard, trimmed-summary
    /// containment, number and entity guards, `short_window`), best first. Used when the long
    /// article has no match among long items: an outlet's headline + summary of a story
    /// another outlet carries in full. All of them, not the best alone: the fold's second
    /// look may refuse the best (rule 3e, an item of the long one's own outlet; rule 3g), and
    /// another outlet's item behind it is then the match. Only this direction is searched: a
    /// short item arriving after the long one would need the long item's lead sketch in the
    /// index (64 more bytes per article).
    pub fn find_leads(&self, lead: &Fingerprint, at_unix_secs: i64) -> Vec<Match> {
        if !lead.short {
            return Vec::new();
        }
        self.prefetch_anchor_cells(lead.sketch.anchors().iter().copied(), lead.short);
        let cands = self.anchor_slots(lead);
        let mut found: Vec<(&Entry, Verdict)> = Vec::new();
        self.each_candidate(
            &cands,
            |s| s,
            HOT_BYTES,
            |_, e| {
                if !e.live() || !e.short() || !self.in_window(e, at_unix_secs, false) {
                    return;
                }
                if let Some(v) = self.verify(lead, e, at_unix_secs) {
                    found.push((e, v));
                }
            },
        );
        ranked(found)
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
    /// see [`crate::fingerprint::lead::Summary::bigrams`]), most shared anchors first, at most `limit`.
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
        self.prefetch_anchor_cells(hashes.iter().map(|&h| h as u32), short);
        let mut posted: Vec<(u32, u32)> = Vec::new(); // (slot, anchor)
        for &h in hashes {
            let a = h as u32;
            self.by_anchor
                .for_each(anchor_hash(a, short), self.params.max_postings, |s| {
                    posted.push((s, a));
                    true
                });
        }
        // (slot, position in `posted`), once per anchor the slot shares.
        let mut shared: Vec<(u32, u32)> = Vec::new();
        let whole = std::mem::size_of::<Entry>();
        let mut pos = 0u32;
        self.each_candidate(
            &posted,
            |(s, _)| s,
            whole,
            |(s, a), e| {
                if e.live()
                    && e.short() == short
                    && e.anchors().contains(&a)
                    && at_unix_secs
                        .saturating_sub(i64::from(e.at))
                        .saturating_abs()
                        <= w
                {
                    shared.push((s, pos));
                }
                pos += 1;
            },
        );
        most_shared_first(shared)
            .into_iter()
            .take(limit)
            .filter_map(|s| self.slots.get(s as usize))
            .map(|e| (e.article, e.story))
            .collect()
    }

    /// Every live article within the window around `at_unix_secs` of which `fp` is an exact
    /// copy (the same content hash and sketch).
    fn each_exact<'s>(&'s self, fp: &Fingerprint, at_unix_secs: i64, mut f: impl FnMut(&'s Entry)) {
        let content = fp.content as u64;
        self.by_content
            .for_each(exact_hash(content), u32::MAX, |s| {
                if let Some(e) = self.slots.get(s as usize) {
                    if e.live()
                        && e.content == content
                        && e.bins == fp.sketch.bins
                        && e.numbers == fp.sketch.numbers
                        && e.short() == fp.short
                        && self.in_window(e, at_unix_secs, true)
                    {
                        f(e);
                    }
                }
                true
            });
    }

    /// Every exact copy of `fp` within the window (see [`Index::find_all`], which gives the
    /// newest alone), newest first: for a fold whose newest exact copy does not hold on the
    /// texts (another day's issue of the same words) to try the older ones.
    pub fn exact_all(&self, fp: &Fingerprint, at_unix_secs: i64) -> Vec<Match> {
        let mut found: Vec<&Entry> = Vec::new();
        self.each_exact(fp, at_unix_secs, |e| found.push(e));
        found.sort_by_key(|e| std::cmp::Reverse(e.at));
        found
            .into_iter()
            .map(|e| Match {
                article: e.article,
                story: e.story,
                kind: MatchKind::Exact,
                similarity: 1.0,
            })
            .collect()
    }

    /// Every story `fp` matches: the best verified match in each, best first
    /// (by score, then Jaccard, then recency). An exact copy is the only
    /// match returned when there is one. More than one story means the
    /// article bridges stories that were kept apart (see `crate::fold`, story
    /// merges).
    pub fn find_all(&self, fp: &Fingerprint, at_unix_secs: i64) -> Vec<Match> {
        self.by_content.prefetch(exact_hash(fp.content as u64));
        self.prefetch_anchor_cells(fp.sketch.anchors().iter().copied(), fp.short);
        let mut exact: Option<&Entry> = None;
        self.each_exact(fp, at_unix_secs, |e| {
            if exact.is_none_or(|b| e.at > b.at) {
                exact = Some(e);
            }
        });
        if let Some(e) = exact {
            return vec![Match {
                article: e.article,
                story: e.story,
                kind: MatchKind::Exact,
                similarity: 1.0,
            }];
        }
        let cands = self.anchor_slots(fp);
        // best verdict per story; few stories per lookup, so a linear scan
        let mut best: Vec<(&Entry, Verdict)> = Vec::new();
        self.each_candidate(
            &cands,
            |s| s,
            HOT_BYTES,
            |_, e| {
                if !e.live() || !self.in_window(e, at_unix_secs, false) {
                    return;
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
            },
        );
        ranked(best)
    }
}

/// Verified candidates as near matches, best first: by score, then Jaccard, then recency
/// (the first found of equals first).
fn ranked(mut found: Vec<(&Entry, Verdict)>) -> Vec<Match> {
    found.sort_by(|(a, av), (b, bv)| {
        (bv.score, bv.jaccard, b.at)
            .partial_cmp(&(av.score, av.jaccard, a.at))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    found
        .into_iter()
        .map(|(e, v)| Match {
            article: e.article,
            story: e.story,
            kind: MatchKind::Near,
            similarity: v.score,
        })
        .collect()
}

/// The slots of `shared` ((slot, position) once per anchor a slot shares) ordered by how many
/// anchors they share, most first, and among equals by where they were first seen. Sorting,
/// not a search per hit: a summary's hundred n-grams times 64 postings each would make the
/// search quadratic under the fold lock.
fn most_shared_first(mut shared: Vec<(u32, u32)>) -> Vec<u32> {
    shared.sort_unstable();
    let mut hits: Vec<(std::cmp::Reverse<usize>, u32, u32)> = shared
        .chunk_by(|x, y| x.0 == y.0)
        .map(|g| (std::cmp::Reverse(g.len()), g[0].1, g[0].0))
        .collect();
    hits.sort_unstable();
    hits.into_iter().map(|(_, _, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{fingerprint, FingerprintInput, Script};

    fn fp(i: usize) -> Fingerprint {
        let text: Vec<String> = (0..40)
            .map(|w| format!("w{}", (i * 7919 + w * 104_729) % 50_000))
            .collect();
        fingerprint(&FingerprintInput {
            title: "t",
            text: &text.join(" "),
            script: Script::Words,
        })
    }

    #[test]
    fn an_index_built_at_start_takes_new_articles_without_readdressing_its_tables() {
        // just under a power of two: one growth step (+1/8) passes 2^12 - 2 slot ids
        let n = 4000;
        let records = (0..n)
            .map(|i| Record::new(i as u64, i as u64, &fp(i), 1_700_000_000))
            .collect();
        let mut ix = Index::from_records(DedupParams::default(), records);
        let tables = |ix: &Index| {
            [&ix.by_id, &ix.by_content, &ix.by_anchor].map(|t| (t.bytes(), t.slot_limit()))
        };
        let before = tables(&ix);
        // the first insert grows the full record array; the tables address twice its size
        ix.insert(n as u64, n as u64, &fp(n), 1_700_000_000);
        assert!(ix.slots.capacity() > n);
        assert_eq!(tables(&ix), before);
        assert_eq!(
            ix.find(&fp(n), 1_700_000_000).map(|m| m.article),
            Some(n as u64)
        );
        assert_eq!(ix.find(&fp(7), 1_700_000_000).map(|m| m.article), Some(7));
    }

    /// Each table's live entries over its cells.
    fn loads(ix: &Index) -> [f64; 3] {
        [&ix.by_id, &ix.by_content, &ix.by_anchor]
            .map(|t| t.live() as f64 / (t.bytes() / std::mem::size_of::<u32>()) as f64)
    }

    #[test]
    fn a_growing_index_leaves_room_in_its_tables_and_compacting_gives_it_back() {
        let t = 1_700_000_000;
        let mut ix = Index::new(DedupParams::default());
        let fps: Vec<Fingerprint> = (0..6000).map(fp).collect();
        // rebuilds of the anchor table while the index grows from empty to 6,000 articles
        // (~90,000 cells): 53 when each came after an eighth's growth, 24 with the room
        let mut rebuilds = 0;
        for (i, f) in fps.iter().enumerate() {
            let cells = ix.by_anchor.bytes();
            ix.insert(i as u64, i as u64, f, t);
            rebuilds += usize::from(ix.by_anchor.bytes() != cells);
        }
        assert!((15..=35).contains(&rebuilds), "{rebuilds} rebuilds");
        let decide = |ix: &Index| -> Vec<Option<(u64, MatchKind)>> {
            fps.iter()
                .map(|f| ix.find(f, t).map(|m| (m.article, m.kind)))
                .collect()
        };
        let before = decide(&ix);
        assert!(before
            .iter()
            .enumerate()
            .all(|(i, m)| *m == Some((i as u64, MatchKind::Exact))));
        // each table was last rebuilt while growing, with room for a quarter more (60% load
        // then), and filled on since (at most 85%)
        let grown = loads(&ix);
        assert!(
            grown.iter().all(|&l| (0.55..=0.85).contains(&l)),
            "{grown:?}"
        );
        // After the growth, with a sixth of the articles left: every table is sparse and
        // is rebuilt at 75% load, answering as before.
        for i in (0..6000).filter(|i| i % 6 != 0) {
            ix.remove(i);
        }
        let (bytes, kept) = (ix.approx_bytes(), decide(&ix));
        assert_eq!(ix.compact(), 3);
        assert!(
            loads(&ix).iter().all(|&l| (0.70..=0.76).contains(&l)),
            "{:?}",
            loads(&ix)
        );
        assert!(ix.approx_bytes() < bytes);
        assert_eq!(decide(&ix), kept);
        assert_eq!(ix.compact(), 0, "nothing left to give back");
        // and it grows on from there
        ix.insert(6000, 6000, &fp(6000), t);
        assert_eq!(ix.find(&fp(6000), t).map(|m| m.article), Some(6000));
        assert_eq!(ix.find(&fps[6], t).map(|m| m.article), Some(6));
    }

    #[test]
    fn candidates_by_anchor_come_most_shared_first_then_first_seen() {
        // slot 3 shares three anchors, 5 two, 7 and 2 one each (7 seen before 2)
        let shared = vec![(5, 0), (3, 1), (7, 2), (5, 3), (3, 4), (2, 5), (3, 6)];
        assert_eq!(most_shared_first(shared), vec![3, 5, 7, 2]);
        assert!(most_shared_first(Vec::new()).is_empty());

        // The same through the index: article 1 shares three anchors with the query,
        // 3 (asked for first) and 2 one each; 4 none.
        let t = 1_700_000_000;
        let mut ix = Index::new(DedupParams::default());
        let fps: Vec<Fingerprint> = (0..5).map(fp).collect();
        for (i, f) in fps.iter().enumerate().skip(1) {
            ix.insert(i as u64, 10 * i as u64, f, t);
        }
        let short = fps[1].short;
        assert!(fps[1..]
            .iter()
            .all(|f| f.short == short && f.sketch.anchors().len() >= 3));
        let a = |i: usize, k: usize| u64::from(fps[i].sketch.anchors()[k]);
        let query = [a(3, 0), a(1, 0), a(2, 1), a(1, 1), a(1, 2)];
        let found = |limit| {
            if short {
                ix.short_candidates(&query, t + 60, limit)
            } else {
                ix.long_candidates(&query, t + 60, limit)
            }
        };
        assert_eq!(found(4), vec![(1, 10), (3, 30), (2, 20)]);
        assert_eq!(found(2), vec![(1, 10), (3, 30)]);
    }
}

#[cfg(test)]
mod fill_tests {
    use super::*;
    use crate::fingerprint::minhash::BIN_WORDS;
    use record::ANCHOR_SHIFT;

    /// `n` live entries with 12 pseudo-random anchors each, a few of them shared (so that
    /// the postings cap has work), without fingerprinting anything.
    fn entries(n: usize) -> Vec<Entry> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..n)
            .map(|i| {
                let mut anchors = [0u32; ANCHORS];
                for a in &mut anchors {
                    x = fmix64(x.wrapping_add(i as u64));
                    *a = if x % 50 == 0 { 7 } else { x as u32 };
                }
                Entry {
                    bins: [0; BIN_WORDS],
                    numbers: 0,
                    entities: 0,
                    simhash: x,
                    content: x,
                    at: 0,
                    article: i as u64,
                    story: i as u64,
                    packed: LIVE | ((ANCHORS as u32) << ANCHOR_SHIFT),
                    anchors,
                }
            })
            .collect()
    }

    #[test]
    fn the_fill_on_two_threads_writes_the_table_one_thread_writes() {
        // Twenty batches of keys (of 4,096 here, where the index's are of a million).
        const BATCH: usize = 4096;
        let slots = entries(20 * BATCH / ANCHORS);
        let keys = slots.len() * ANCHORS;
        for room in [keys, keys / 2] {
            // Room for every key, and a table that fills up halfway.
            let mut one = SlotTable::sized_for(room, slots.len());
            let mut two = one.clone();
            fill_batched(&mut one, &slots, 4, anchor_keys, BATCH);
            fill_two_threads(&mut two, &slots, 4, anchor_keys, (keys, BATCH));
            assert!(
                one.cells() == two.cells(),
                "the tables differ (room {room})"
            );
            assert_eq!(one.live(), two.live());
            assert!(one.live() > 5 * BATCH && one.live() < keys);
            if room == keys {
                // Every key that is not over the cap is there, the last batch's too.
                for (s, e) in slots.iter().enumerate() {
                    for &a in e.anchors().iter().filter(|&&a| a != 7) {
                        let mut found = false;
                        two.for_each(anchor_hash(a, false), u32::MAX, |x| {
                            found |= x == s as u32;
                            !found
                        });
                        assert!(found, "slot {s} anchor {a}");
                    }
                }
            }
        }
    }
}
