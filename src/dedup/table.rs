//! Open-addressing multiset of slot ids, used for every index of [`super::Index`].
//!
//! Entries are 6 bytes: a `u32` slot id and a 16-bit tag taken from the key
//! hash; the home position comes from the high bits of the same hash
//! (multiply-shift range reduction, so any capacity works).  Linear probing,
//! tombstones on removal.  The table never rehashes by itself: the owner
//! rebuilds it from its slot data when [`SlotTable::needs_rebuild`] says so.
//! Keys may repeat (several slots per key); callers cap repetitions.

const EMPTY: u32 = u32::MAX;
const TOMB: u32 = u32::MAX - 1;

/// Maximum share of used (live + tombstone) cells.
const MAX_LOAD: f64 = 0.85;
/// Load right after a rebuild.
const TARGET_LOAD: f64 = 0.75;
/// Load of a table made by [`SlotTable::sized_for`] once filled.
const SIZED_LOAD: f64 = 0.70;

#[derive(Clone, Debug)]
pub(crate) struct SlotTable {
    cells: Vec<[u16; 3]>,
    live: usize,
    used: usize,
}

#[inline]
fn pack(slot: u32, tag: u16) -> [u16; 3] {
    [slot as u16, (slot >> 16) as u16, tag]
}

#[inline]
fn slot_of(c: [u16; 3]) -> u32 {
    u32::from(c[0]) | (u32::from(c[1]) << 16)
}

#[inline]
fn tag_of(hash: u64) -> u16 {
    hash as u16
}

impl SlotTable {
    /// A table sized for `expected` entries.
    pub(crate) fn with_entries(expected: usize) -> Self {
        let cap = ((expected as f64 / TARGET_LOAD) as usize).max(16);
        SlotTable {
            cells: vec![pack(EMPTY, 0); cap],
            live: 0,
            used: 0,
        }
    }

    /// A table that takes `n` entries without a rebuild, at 70% load then (as after a
    /// rebuild; 85% forces one): for an index built once with a known size.
    pub(crate) fn sized_for(n: usize) -> Self {
        SlotTable {
            cells: vec![pack(EMPTY, 0); (n as f64 / SIZED_LOAD) as usize + 16],
            live: 0,
            used: 0,
        }
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
        self.cells.capacity() * std::mem::size_of::<[u16; 3]>()
    }

    /// Inserts `slot` under `hash` unless `max_same` entries with the same
    /// tag are already in the probe run.  Returns whether it was inserted.
    /// The caller must have checked [`Self::needs_rebuild`].
    pub(crate) fn insert(&mut self, hash: u64, slot: u32, max_same: u32) -> bool {
        let tag = tag_of(hash);
        let n = self.cells.len();
        let mut i = self.home(hash);
        let mut free: Option<usize> = None;
        let mut same = 0u32;
        loop {
            let c = self.cells[i];
            let s = slot_of(c);
            if s == EMPTY {
                break;
            }
            if s == TOMB {
                if free.is_none() {
                    free = Some(i);
                }
            } else if c[2] == tag {
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
            Some(f) => self.cells[f] = pack(slot, tag),
            None => {
                self.cells[i] = pack(slot, tag);
                self.used += 1;
            }
        }
        self.live += 1;
        true
    }

    /// Removes one entry (`hash`, `slot`); returns whether it was present.
    pub(crate) fn remove(&mut self, hash: u64, slot: u32) -> bool {
        let tag = tag_of(hash);
        let n = self.cells.len();
        let mut i = self.home(hash);
        loop {
            let c = self.cells[i];
            let s = slot_of(c);
            if s == EMPTY {
                return false;
            }
            if s == slot && c[2] == tag {
                self.cells[i] = pack(TOMB, 0);
                self.live -= 1;
                return true;
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
    }

    /// Calls `f` with every slot whose entry tag matches `hash` (a superset
    /// of the slots stored under `hash`), stopping after `limit` slots or
    /// when `f` returns false.
    #[inline]
    pub(crate) fn for_each(&self, hash: u64, limit: u32, mut f: impl FnMut(u32) -> bool) {
        let tag = tag_of(hash);
        let n = self.cells.len();
        let mut i = self.home(hash);
        let mut seen = 0;
        loop {
            let c = self.cells[i];
            let s = slot_of(c);
            if s == EMPTY {
                return;
            }
            if s != TOMB && c[2] == tag {
                if !f(s) {
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
