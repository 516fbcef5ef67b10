//! The index as it is in memory, written out whole and read back: the body of the index
//! snapshot (`fold/snapshot.rs`). A restart after a clean shutdown reads the tables instead of
//! filling them again from the records: at 1,000,000 articles the fill was ~1 s of the ~1.9 s
//! to ready (BENCHMARKS, "Restart with 1,000,000 articles").
//!
//! # Layout (little-endian)
//! - [`LAYOUT_BYTES`]: the slot count, the postings cap the tables were filled with, then for
//!   each table (ids, content hashes, anchors) its cell count and slot id width;
//! - every slot, [`Record::BYTES`] each; a free slot is written as zeros;
//! - each table's cells, four bytes each.
//!
//! Reading checks that the sizes fit the bytes there are before allocating, that every slot
//! decodes, and that every table cell names a live slot and leaves an empty cell (see
//! [`SlotTable::from_cells`]): a table that passes answers lookups without panicking or
//! looping, whatever the file held. The caller checksums the bytes.

use std::io::{Read, Write};

use super::record::Entry;
use super::{Index, Record, Table};
use crate::dedup::table::SlotTable;
use crate::dedup::DedupParams;

/// Bytes of the layout line.
const LAYOUT_BYTES: usize = 8 * 8;

/// Why a written index could not be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The bytes are not an index.
    #[error("{0}")]
    Invalid(&'static str),
}

impl Index {
    /// Writes the index as it is (module docs): slots, free ones included, and tables.
    pub fn write_state(&self, out: &mut impl Write) -> std::io::Result<()> {
        let tables = [&self.by_id, &self.by_content, &self.by_anchor].map(SlotTable::cells);
        let mut layout = Vec::with_capacity(LAYOUT_BYTES);
        let mut line = vec![self.slots.len() as u64, u64::from(self.params.max_postings)];
        for (cells, bits) in tables {
            line.extend([cells.len() as u64, u64::from(bits)]);
        }
        for v in line {
            layout.extend_from_slice(&v.to_le_bytes());
        }
        out.write_all(&layout)?;
        let mut buf = Vec::with_capacity(Record::BYTES * 256);
        for chunk in self.slots.chunks(256) {
            buf.clear();
            for e in chunk {
                if e.live() {
                    Record(e.clone()).encode(&mut buf);
                } else {
                    buf.resize(buf.len() + Record::BYTES, 0);
                }
            }
            out.write_all(&buf)?;
        }
        for (cells, _) in tables {
            for chunk in cells.chunks(16 * 1024) {
                buf.clear();
                for c in chunk {
                    buf.extend_from_slice(&c.to_le_bytes());
                }
                out.write_all(&buf)?;
            }
        }
        Ok(())
    }

    /// Reads back what [`Index::write_state`] wrote, `len` bytes of `input`, under `params`.
    /// Tables filled with another postings cap than `params`' are filled again from the
    /// slots.
    pub fn read_state(
        params: DedupParams,
        input: &mut impl Read,
        len: u64,
    ) -> Result<Index, StateError> {
        let bad = StateError::Invalid;
        let mut layout = [0u8; LAYOUT_BYTES];
        input.read_exact(&mut layout)?;
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&layout[8 * i..8 * i + 8]);
            u64::from_le_bytes(w)
        };
        let (slots, cap) = (word(0), word(1));
        let tables = [(word(2), word(3)), (word(4), word(5)), (word(6), word(7))];
        let want = tables
            .iter()
            .try_fold(
                slots.checked_mul(Record::BYTES as u64),
                |sum, &(cells, _)| Some(sum?.checked_add(cells.checked_mul(4)?)),
            )
            .flatten()
            .and_then(|body| body.checked_add(LAYOUT_BYTES as u64));
        if want != Some(len) {
            return Err(bad("its sizes do not add up to the file's"));
        }
        let slots = usize::try_from(slots).map_err(|_| bad("too many slots"))?;
        if slots > SlotTable::MAX_SLOTS {
            return Err(bad("more slots than an index holds"));
        }
        let mut entries = Vec::with_capacity(slots);
        let mut buf = vec![0u8; Record::BYTES * 1024];
        let mut left = slots;
        while left > 0 {
            let n = left.min(1024);
            let bytes = buf.get_mut(..n * Record::BYTES).unwrap_or_default();
            input.read_exact(bytes)?;
            for b in bytes.chunks_exact(Record::BYTES) {
                entries.push(Entry::decode(b).ok_or(bad("an undecodable slot"))?);
            }
            left -= n;
        }
        // Which slots are live, as bits: the cells' check looks them up in random order, and
        // 125 KB of bits stay in the cache where the million slots' 168 MB do not.
        // One pass over the slots also counts the live ones and lists the free ones.
        let mut live_bits = vec![0u64; entries.len().div_ceil(64)];
        let mut free = Vec::new();
        for (s, e) in entries.iter().enumerate() {
            if e.live() {
                live_bits[s / 64] |= 1 << (s % 64);
            } else {
                free.push(s as u32);
            }
        }
        let live = entries.len() - free.len();
        // Free slots are taken lowest first (the list is a stack).
        free.reverse();
        let holds = |s: u32| {
            let s = s as usize;
            live_bits
                .get(s / 64)
                .is_some_and(|w| w & (1 << (s % 64)) != 0)
        };
        let mut cells = Vec::with_capacity(3);
        for (count, bits) in tables {
            let count = usize::try_from(count).map_err(|_| bad("too many cells"))?;
            let mut t = Vec::with_capacity(count);
            let mut left = count;
            while left > 0 {
                let n = left.min(buf.len() / 4);
                let bytes = buf.get_mut(..n * 4).unwrap_or_default();
                input.read_exact(bytes)?;
                t.extend(
                    bytes
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
                left -= n;
            }
            let bits = u32::try_from(bits).unwrap_or(u32::MAX);
            cells.push(SlotTable::from_cells(t, bits, holds).ok_or(bad("a damaged table"))?);
        }
        let [by_id, by_content, by_anchor]: [SlotTable; 3] =
            cells.try_into().map_err(|_| bad("missing tables"))?;
        if by_id.live() != live {
            return Err(bad("the id table does not hold every slot"));
        }
        let refill = u64::from(params.max_postings) != cap;
        let mut index = Index {
            params,
            slots: entries,
            free,
            by_id,
            by_content,
            by_anchor,
            live,
        };
        if refill {
            index.rebuild(Table::Content, false);
            index.rebuild(Table::Anchor, false);
        }
        index.readdress();
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{fingerprint, Fingerprint, FingerprintInput, Script};

    const T0: i64 = 1_700_000_000;

    fn fp(i: u64) -> Fingerprint {
        let text: Vec<String> = (0..60)
            .map(|w| format!("w{}x{}", i % 97, w * 7 + i))
            .collect();
        fingerprint(&FingerprintInput {
            title: &format!("item {i}"),
            text: &text.join(" "),
            script: Script::Words,
        })
    }

    /// An index grown from empty through many table rebuilds, with updates, removals and
    /// reused slots.
    fn grown() -> Index {
        let mut ix = Index::new(DedupParams::default());
        for i in 0..600 {
            ix.insert(i, i / 3, &fp(i), T0 + i as i64);
            if i % 5 == 0 && i > 10 {
                ix.remove(i - 7);
            }
            if i % 11 == 0 && i > 20 {
                ix.insert(i - 13, 1, &fp(i + 1000), T0 + i as i64);
            }
        }
        // Free slots left at the end.
        for i in 590..594 {
            ix.remove(i);
        }
        ix
    }

    fn bytes(ix: &Index) -> Vec<u8> {
        let mut out = Vec::new();
        ix.write_state(&mut out).unwrap();
        out
    }

    fn read(b: &[u8], params: DedupParams) -> Result<Index, StateError> {
        Index::read_state(params, &mut &b[..], b.len() as u64)
    }

    #[test]
    fn every_table_holds_each_live_slot_once_after_rebuilds() {
        // A table rebuilt while a slot was being indexed took the slot's keys from it, and
        // the keys were then inserted once more: two id cells for one slot.
        let ix = grown();
        assert_eq!(ix.by_id.live(), ix.live);
        let exact: usize = ix.live_slots().count();
        assert_eq!(ix.by_content.live(), exact);
        let anchors: usize = ix.live_slots().map(|(_, e)| e.anchors().len()).sum();
        assert!(ix.by_anchor.live() <= anchors);
    }

    #[test]
    fn an_index_read_back_is_the_one_written() {
        let ix = grown();
        let b = bytes(&ix);
        let back = read(&b, DedupParams::default()).unwrap();
        assert!(bytes(&back) == b);
        assert_eq!(back.len(), ix.len());
        for i in (0..600).step_by(7) {
            let f = fp(i);
            assert_eq!(back.find(&f, T0 + 600), ix.find(&f, T0 + 600));
        }
        // It goes on as the written one: new articles take free slots.
        let mut back = back;
        back.insert(5000, 5000, &fp(5000), T0 + 700);
        assert_eq!(back.story_of(5000), Some(5000));
        assert_eq!(back.len(), ix.len() + 1);
    }

    #[test]
    fn another_postings_cap_fills_the_tables_again() {
        let mut ix = grown();
        // Six copies of one text: six postings under each of its anchors.
        for j in 0..6 {
            ix.insert(10_000 + j, 10_000, &fp(42), T0 + 700);
        }
        let params = DedupParams {
            max_postings: 2,
            ..DedupParams::default()
        };
        let back = read(&bytes(&ix), params).unwrap();
        assert_eq!(back.params.max_postings, 2);
        // At most two of the six copies under each key now.
        assert!(back.by_anchor.live() < ix.by_anchor.live());
        assert!(back.by_content.live() < ix.by_content.live());
        assert!(back.find(&fp(42), T0 + 800).is_some());
    }

    #[test]
    fn damaged_bytes_are_refused_never_a_panic() {
        let b = bytes(&grown());
        assert!(read(&b[..b.len() - 4], DedupParams::default()).is_err());
        let mut longer = b.clone();
        longer.extend([0; 4]);
        assert!(read(&longer, DedupParams::default()).is_err());
        // Every byte of the layout, and bytes all over the slots and cells, flipped one at a
        // time: refused, or an index whose lookups end.
        let probe = fp(3);
        for at in (0..LAYOUT_BYTES).chain((LAYOUT_BYTES..b.len()).step_by(97)) {
            for bit in [0, 3, 7] {
                let mut bad = b.clone();
                bad[at] ^= 1 << bit;
                if let Ok(ix) = read(&bad, DedupParams::default()) {
                    let _ = ix.find(&probe, T0 + 600);
                }
            }
        }
        // A table without an empty cell, and a cell naming a free slot.
        let ix = grown();
        let free = ix.free[0];
        let (cells, bits) = ix.by_id.cells();
        assert!(SlotTable::from_cells(vec![1; cells.len()], bits, |_| true).is_none());
        let mut naming_free = cells.to_vec();
        let mask = (1u32 << bits) - 1;
        let at = naming_free
            .iter()
            .position(|&c| c != 0 && c & mask != mask)
            .unwrap();
        naming_free[at] = (naming_free[at] & !mask) | (free + 1);
        let holds = |s: u32| ix.slots.get(s as usize).is_some_and(Entry::live);
        assert!(SlotTable::from_cells(naming_free, bits, holds).is_none());
    }
}
