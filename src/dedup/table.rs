//! Open-addressing multiset of slot ids, used for every index of [`super::Index`].
//!
//! Cells are 4 bytes: the low `slot_bits` hold the slot id + 1 (0 is an empty cell, all ones
//! a tombstone), the high bits a tag taken from the low bits of the key hash; the home
//! position comes from the high bits of the same hash (multiply-shift range reduction, so any
//! capacity works).  A table addresses the slot ids below [`SlotTable::slot_limit`], chosen
//! when it is made: the bigger the index, the fewer tag bits (13 at 350,000 articles, 12 at
//! 1,000,000); a tag only saves reading a slot whose key differs, so a shorter one costs a
//! rare extra read, never a wrong answer.  Linear probing, tombstones on removal.  The table
//! never rehashes by itself: the owner rebuilds it from its slot data when
//! [`SlotTable::needs_rebuild`] says so, or when its slots outgrow the limit.  Keys may repeat
//! (several slots per key); callers cap repetitions.
//!
//! Six-byte cells (a `u32` slot and a 16-bit tag) took a third more memory for the same
//! load: ~9 MB of a daemon's steady-state RSS with 350,000 articles in the window.

/// Fewest bits for the slot id: small tables keep long tags.
const MIN_SLOT_BITS: u32 = 10;
/// Most bits for the slot id (268 million slots); at least 4 bits of tag remain.
const MAX_SLOT_BITS: u32 = 28;

/// Bits of the home cell sorted on per pass of [`Placement::sort`]'s radix sort (at
/// most): three passes of 9 bits for the 17 million cells of a 1,000,000-article anchor
/// table. Wider digits scatter into more places at once (past a thousand or so, most writes
/// miss the TLB); 8 to 13 bits measured the same within this machine's noise.
const RADIX_BITS: u32 = 10;

/// Maximum share of used (live + tombstone) cells.
const MAX_LOAD: f64 = 0.85;
/// Load right after a rebuild.
const TARGET_LOAD: f64 = 0.75;
/// Load of a table made by [`SlotTable::sized_for`] once filled.
const SIZED_LOAD: f64 = 0.70;
/// Load below which [`SlotTable::sparse`] says a table holds more cells than it needs: a
/// rebuild then saves at least a fifteenth of its cells.
const SPARSE_LOAD: f64 = 0.70;

#[derive(Clone, Debug)]
pub(crate) struct SlotTable {
    cells: Vec<u32>,
    /// Bits of a cell that hold the slot id + 1.
    slot_bits: u32,
    live: usize,
    used: usize,
    /// Live entries the table was made for: [`SlotTable::grew`] compares with it.
    base: usize,
}

/// Asks the CPU to bring the cache line at `p` in, without waiting for it: a lookup that
/// will read several places of a large table or record array (each a likely cache miss)
/// announces them all first, so that their misses overlap instead of following one another.
/// A hint only: it never faults, whatever the address, and does nothing off x86-64.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and cannot fault (SSE is part of
    // x86-64).
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Number of slot ids `bits` bits address: ids + 1 must stay below the tombstone's all ones.
#[inline]
fn limit_of(bits: u32) -> usize {
    (1usize << bits) - 2
}

impl SlotTable {
    /// The most slots any table addresses: an index never holds more.
    pub(crate) const MAX_SLOTS: usize = (1usize << MAX_SLOT_BITS) - 2;

    fn with_cells(cells: usize, slots: usize, base: usize) -> Self {
        let mut slot_bits = MIN_SLOT_BITS;
        while slot_bits < MAX_SLOT_BITS && limit_of(slot_bits) < slots {
            slot_bits += 1;
        }
        SlotTable {
            cells: vec![0; cells],
            slot_bits,
            live: 0,
            used: 0,
            base,
        }
    }

    /// Cells for `n` entries at [`TARGET_LOAD`].
    fn cells_for(n: usize) -> usize {
        ((n as f64 / TARGET_LOAD) as usize).max(16)
    }

    /// A table sized for `expected` entries, addressing slot ids below `slots` at least.
    pub(crate) fn with_entries(expected: usize, slots: usize) -> Self {
        Self::with_room(expected, expected, slots)
    }

    /// A table for the `live` entries there are, sized as if for `room` (at least `live`):
    /// the rebuild of a growing table leaves room for its growth, so that it is not rebuilt
    /// again after another eighth.
    pub(crate) fn with_room(live: usize, room: usize, slots: usize) -> Self {
        Self::with_cells(Self::cells_for(room.max(live)), slots, live)
    }

    /// A table that takes `n` entries without a rebuild, at 70% load then (as after a
    /// rebuild; 85% forces one), addressing slot ids below `slots` at least: for an index
    /// built once with a known size.
    pub(crate) fn sized_for(n: usize, slots: usize) -> Self {
        Self::with_cells((n as f64 / SIZED_LOAD) as usize + 16, slots, n)
    }

    /// True when the table holds a sixteenth more live entries than it was made for: a
    /// rebuild now is growth, not the clearing of tombstones.
    pub(crate) fn grew(&self) -> bool {
        self.live > self.base + self.base / 16
    }

    /// True when the table is below [`SPARSE_LOAD`] and a rebuild for its live entries would
    /// be smaller: room left by growth that did not come, or by removals.
    pub(crate) fn sparse(&self) -> bool {
        let n = self.cells.len();
        (self.live as f64) < SPARSE_LOAD * n as f64 && Self::cells_for(self.live) < n
    }

    /// The slot ids this table can hold are those below this.
    pub(crate) fn slot_limit(&self) -> usize {
        limit_of(self.slot_bits)
    }

    #[inline]
    fn slot_mask(&self) -> u32 {
        (1u32 << self.slot_bits) - 1
    }

    /// The tag bits of `hash`, in place.
    #[inline]
    fn tag(&self, hash: u64) -> u32 {
        (hash as u32) << self.slot_bits
    }

    /// The cell that holds `slot` under `hash`: its tag and the slot id + 1.
    #[inline]
    fn cell(&self, hash: u64, slot: u32) -> u32 {
        self.tag(hash) | (slot + 1)
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.cells.len() as u128) >> 64) as usize
    }

    /// True when one more insert would exceed the maximum load.
    pub(crate) fn needs_rebuild(&self) -> bool {
        (self.used + 1) as f64 > MAX_LOAD * self.cells.len() as f64
    }

    /// Number of live entries.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Heap bytes used.
    pub(crate) fn bytes(&self) -> usize {
        self.cells.capacity() * std::mem::size_of::<u32>()
    }

    /// Inserts `slot` under `hash` unless `max_same` entries with the same
    /// tag are already in the probe run.  Returns whether it was inserted.
    /// The caller must have checked [`Self::needs_rebuild`] and that `slot` is below
    /// [`Self::slot_limit`].
    pub(crate) fn insert(&mut self, hash: u64, slot: u32, max_same: u32) -> bool {
        debug_assert!((slot as usize) < self.slot_limit());
        self.insert_at(self.home(hash), self.cell(hash, slot), max_same)
    }

    /// [`Self::insert`] of `cell` (tag and slot id + 1) with its probe run starting at `home`.
    fn insert_at(&mut self, home: usize, cell: u32, max_same: u32) -> bool {
        let mask = self.slot_mask();
        let tag = cell & !mask;
        let n = self.cells.len();
        let mut i = home;
        let mut free: Option<usize> = None;
        let mut same = 0u32;
        loop {
            let c = self.cells[i];
            if c == 0 {
                break;
            }
            if c & mask == mask {
                if free.is_none() {
                    free = Some(i);
                }
            } else if c & !mask == tag {
                same += 1;
                if same >= max_same {
                    return false;
                }
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
        match free {
            Some(f) => self.cells[f] = cell,
            None => {
                self.cells[i] = cell;
                self.used += 1;
            }
        }
        self.live += 1;
        true
    }

    /// Where this table puts keys, as a value another thread can hold while the table is
    /// written: [`Placement::packed`] and [`Placement::sort`] make the batches
    /// [`Self::insert_sorted`] takes.
    pub(crate) fn placement(&self) -> Placement {
        Placement {
            cells: self.cells.len(),
            slot_bits: self.slot_bits,
        }
    }

    /// Inserts the entries of `batch` (made by [`Placement::packed`] with this table's
    /// placement and sorted by [`Placement::sort`]) as [`Self::insert`] would, in the order
    /// of their home cells: a key's entries go in in the order they were packed (the sort is
    /// stable, so the repetition cap keeps the first ones, as with inserts one by one), and
    /// the table is written front to back instead of at one random cell after another.
    /// Stops, returning false, when the table must be rebuilt first
    /// ([`Self::needs_rebuild`]).
    pub(crate) fn insert_sorted(&mut self, batch: &[u64], max_same: u32) -> bool {
        for &p in batch {
            if self.needs_rebuild() {
                return false;
            }
            self.insert_at((p >> 32) as usize, p as u32, max_same);
        }
        true
    }

    /// The cells and the slot id's width, as [`Self::from_cells`] takes them back.
    pub(crate) fn cells(&self) -> (&[u32], u32) {
        (&self.cells, self.slot_bits)
    }

    /// The table whose cells and slot id width [`Self::cells`] gave, or `None` when they cannot
    /// be one: a width out of range, no empty cell (a probe would never end), or a cell holding
    /// a slot id that `holds` refuses (one the index has no live record in).
    pub(crate) fn from_cells(
        cells: Vec<u32>,
        slot_bits: u32,
        holds: impl Fn(u32) -> bool,
    ) -> Option<SlotTable> {
        if !(MIN_SLOT_BITS..=MAX_SLOT_BITS).contains(&slot_bits) {
            return None;
        }
        let mask = (1u32 << slot_bits) - 1;
        let (mut live, mut used) = (0, 0);
        for &c in &cells {
            let slot = c & mask;
            if c == 0 {
                continue;
            }
            used += 1;
            if slot == mask {
                continue;
            }
            // A cell with a tag and slot bits 0 is neither empty nor a slot.
            if slot == 0 || !holds(slot - 1) {
                return None;
            }
            live += 1;
        }
        (used < cells.len()).then_some(SlotTable {
            cells,
            slot_bits,
            live,
            used,
            base: live,
        })
    }

    /// Removes one entry (`hash`, `slot`); returns whether it was present.
    pub(crate) fn remove(&mut self, hash: u64, slot: u32) -> bool {
        if slot as usize >= self.slot_limit() {
            return false;
        }
        let mask = self.slot_mask();
        let cell = self.cell(hash, slot);
        let n = self.cells.len();
        let mut i = self.home(hash);
        loop {
            let c = self.cells[i];
            if c == 0 {
                return false;
            }
            if c == cell {
                self.cells[i] = mask;
                self.live -= 1;
                return true;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    /// [`prefetch`]es the home cell of `hash`, ahead of a [`Self::for_each`] on it.
    #[inline]
    pub(crate) fn prefetch(&self, hash: u64) {
        if let Some(c) = self.cells.get(self.home(hash)) {
            prefetch(c);
        }
    }

    /// Calls `f` with every slot whose entry tag matches `hash` (a superset
    /// of the slots stored under `hash`), stopping after `limit` slots or
    /// when `f` returns false.
    #[inline]
    pub(crate) fn for_each(&self, hash: u64, limit: u32, mut f: impl FnMut(u32) -> bool) {
        let (mask, tag) = (self.slot_mask(), self.tag(hash));
        let n = self.cells.len();
        let mut i = self.home(hash);
        let mut seen = 0;
        loop {
            let c = self.cells[i];
            if c == 0 {
                return;
            }
            if c & !mask == tag && c & mask != mask {
                if !f((c & mask) - 1) {
                    return;
                }
                seen += 1;
                if seen >= limit {
                    return;
                }
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }
}

/// Where a [`SlotTable`] of a given size and slot id width puts keys (see
/// [`SlotTable::placement`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Placement {
    cells: usize,
    slot_bits: u32,
}

impl Placement {
    /// `slot` under `hash` as [`SlotTable::insert_sorted`] takes it: the home cell in the high
    /// 32 bits, the cell in the low ones. The caller must have checked that `slot` is below
    /// the table's [`SlotTable::slot_limit`].
    #[inline]
    pub(crate) fn packed(&self, hash: u64, slot: u32) -> u64 {
        debug_assert!((slot as usize) < limit_of(self.slot_bits));
        let home = ((u128::from(hash) * self.cells as u128) >> 64) as u64;
        let cell = ((hash as u32) << self.slot_bits) | (slot + 1);
        (home << 32) | u64::from(cell)
    }

    /// Radix-sorts `batch` (made by [`Self::packed`]) on the home cell, stably, with
    /// `scratch` as the other buffer; [`RADIX_BITS`] a pass.
    pub(crate) fn sort(&self, batch: &mut Vec<u64>, scratch: &mut Vec<u64>) {
        let bits = usize::BITS - (self.cells.max(2) - 1).leading_zeros();
        let passes = bits.div_ceil(RADIX_BITS);
        let width = bits.div_ceil(passes);
        let mut starts = vec![0usize; 1 << width];
        for pass in 0..passes {
            let shift = 32 + pass * width;
            let digit = |p: u64| ((p >> shift) as usize) & ((1 << width) - 1);
            starts.fill(0);
            for &p in batch.iter() {
                starts[digit(p)] += 1;
            }
            let mut sum = 0;
            for s in &mut starts {
                (*s, sum) = (sum, sum + *s);
            }
            scratch.clear();
            scratch.resize(batch.len(), 0);
            for &p in batch.iter() {
                let at = &mut starts[digit(p)];
                scratch[*at] = p;
                *at += 1;
            }
            std::mem::swap(batch, scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{SlotTable, MAX_LOAD};

    /// A batch sorted and inserted, as the index's fill does.
    fn insert_batch(
        t: &mut SlotTable,
        batch: &mut Vec<u64>,
        scratch: &mut Vec<u64>,
        cap: u32,
    ) -> bool {
        t.placement().sort(batch, scratch);
        t.insert_sorted(batch, cap)
    }

    fn slots_of(t: &SlotTable, hash: u64) -> Vec<u32> {
        let mut v = Vec::new();
        t.for_each(hash, u32::MAX, |s| {
            v.push(s);
            true
        });
        v.sort_unstable();
        v
    }

    #[test]
    fn a_table_grew_once_it_holds_a_sixteenth_more_than_it_was_made_for() {
        let mut t = SlotTable::with_entries(160, 1022);
        for s in 0..170 {
            assert!(t.insert(u64::from(s) << 40, s, u32::MAX));
        }
        assert!(!t.grew(), "170 of 160: tombstones' rebuilds are not growth");
        assert!(t.insert(171 << 40, 171, u32::MAX));
        assert!(t.grew());
        // a new empty table grows with its first entry
        let mut empty = SlotTable::with_entries(0, 0);
        assert!(!empty.grew());
        assert!(empty.insert(1, 1, u32::MAX));
        assert!(empty.grew());
    }

    #[test]
    fn a_table_is_sparse_below_seventy_percent_when_a_rebuild_would_be_smaller() {
        let fill = |mut t: SlotTable, n: u32| {
            for s in 0..n {
                assert!(t.insert(u64::from(s) << 40, s, u32::MAX));
            }
            t
        };
        // made with room for 200, holding 100: 266 cells where 133 do
        assert!(fill(SlotTable::with_room(100, 200, 1022), 100).sparse());
        // the room taken up: 190 of 266 cells (71%), but not 180 (68%)
        assert!(!fill(SlotTable::with_room(100, 200, 1022), 190).sparse());
        assert!(fill(SlotTable::with_room(100, 200, 1022), 180).sparse());
        // made for what it holds, or empty at the smallest size
        assert!(!fill(SlotTable::with_entries(100, 1022), 100).sparse());
        assert!(!SlotTable::with_entries(0, 0).sparse());
        // removals leave a table sparse too
        let mut t = fill(SlotTable::with_entries(1000, 1022), 1000);
        for s in 0..600 {
            assert!(t.remove(u64::from(s) << 40, s));
        }
        assert!(t.sparse());
    }

    #[test]
    fn the_slot_limit_follows_the_slots_asked_for() {
        assert_eq!(SlotTable::with_entries(0, 0).slot_limit(), 1022);
        assert_eq!(SlotTable::with_entries(0, 1022).slot_limit(), 1022);
        assert_eq!(SlotTable::with_entries(0, 1023).slot_limit(), 2046);
        assert_eq!(
            SlotTable::sized_for(10, 1_000_000).slot_limit(),
            (1 << 20) - 2
        );
        assert_eq!(
            SlotTable::with_entries(0, usize::MAX).slot_limit(),
            SlotTable::MAX_SLOTS
        );
    }

    #[test]
    fn the_highest_slot_and_slot_zero_are_kept_apart_from_empty_and_tombstone_cells() {
        let mut t = SlotTable::with_entries(100, 1022);
        let top = (t.slot_limit() - 1) as u32;
        assert!(t.insert(7, 0, u32::MAX));
        assert!(t.insert(7, top, u32::MAX));
        assert_eq!(slots_of(&t, 7), vec![0, top]);
        assert!(t.remove(7, top), "the highest slot is found again");
        assert_eq!(slots_of(&t, 7), vec![0], "its tombstone is not a slot");
        assert!(!t.remove(7, top), "removed once");
        assert!(!t.remove(7, top + 1), "beyond the limit: never stored");
        assert!(t.insert(7, top, u32::MAX), "the tombstone is reused");
        assert_eq!(slots_of(&t, 7), vec![0, top]);
        assert_eq!(t.live(), 2);
    }

    #[test]
    fn keys_that_share_a_tag_come_back_together_and_callers_tell_them_apart() {
        // Same low bits (the tag) and the same home: a superset comes back for either key.
        let mut t = SlotTable::with_entries(1000, 1022);
        let (a, b) = (5_u64, (1_u64 << 40) | 5);
        assert_eq!(t.home(a), t.home(b));
        for s in 0..20 {
            assert!(t.insert(if s % 2 == 0 { a } else { b }, s, u32::MAX));
        }
        assert_eq!(slots_of(&t, a), (0..20).collect::<Vec<_>>());
        assert_eq!(slots_of(&t, b), slots_of(&t, a));
        // Another tag in the same run is not returned.
        let c = (1_u64 << 40) | 6;
        assert_eq!(t.home(c), t.home(a));
        assert!(slots_of(&t, c).is_empty());
        for s in (0..20).step_by(2) {
            assert!(t.remove(a, s));
        }
        assert_eq!(t.live(), 10);
        assert_eq!(slots_of(&t, b), (1..20).step_by(2).collect::<Vec<_>>());
    }

    #[test]
    fn a_batch_goes_in_as_inserts_one_by_one_would() {
        // 300 keys, five slots each, interleaved, capped at 4; distinct tags (the low bits) so
        // that the cap counts one key's entries only. Over 2^12 cells: the radix sort takes
        // two passes.
        let key = |k: u64| (k.wrapping_mul(0x9e37_79b9_7f4a_7c15) & !0xff_ffff) | k;
        let entries: Vec<(u64, u32)> = (0..1500u32)
            .map(|s| (key(u64::from(s * 7 % 300)), s))
            .collect();
        let (mut one, mut bulk) = (
            SlotTable::with_entries(6000, 2000),
            SlotTable::with_entries(6000, 2000),
        );
        assert!(bulk.cells.len() > 1 << 12);
        let (mut batch, mut scratch) = (Vec::new(), Vec::new());
        for (i, &(h, s)) in entries.iter().enumerate() {
            one.insert(h, s, 4);
            batch.push(bulk.placement().packed(h, s));
            if i % 500 == 499 {
                assert!(insert_batch(&mut bulk, &mut batch, &mut scratch, 4));
                batch.clear();
            }
        }
        assert!(insert_batch(&mut bulk, &mut batch, &mut scratch, 4));
        assert_eq!(bulk.live(), one.live());
        for k in 0..300 {
            let got = slots_of(&bulk, key(k));
            assert_eq!(got, slots_of(&one, key(k)), "key {k}");
            let mut first: Vec<u32> = entries
                .iter()
                .filter(|&&(h, _)| h == key(k))
                .map(|&(_, s)| s)
                .take(4)
                .collect();
            first.sort_unstable();
            assert_eq!(got, first, "the first four slots of key {k}");
        }
    }

    #[test]
    fn a_batch_stops_where_the_table_must_be_rebuilt() {
        let mut t = SlotTable::with_entries(10, 1022);
        let room = (0..).take_while(|&i| f64::from(i + 1) <= MAX_LOAD * t.cells.len() as f64);
        let room = room.count();
        let mut batch: Vec<u64> = (0..room as u32 + 5)
            .map(|s| t.placement().packed(u64::from(s) << 40 | u64::from(s), s))
            .collect();
        assert!(!insert_batch(&mut t, &mut batch, &mut Vec::new(), u32::MAX));
        assert_eq!(t.live(), room);
        assert!(t.needs_rebuild());
    }

    #[test]
    fn repetitions_of_a_key_are_capped() {
        let mut t = SlotTable::with_entries(100, 1022);
        assert!(t.insert(42, 1, 2));
        assert!(t.insert(42, 2, 2));
        assert!(!t.insert(42, 3, 2));
        assert_eq!(slots_of(&t, 42), vec![1, 2]);
    }
}
