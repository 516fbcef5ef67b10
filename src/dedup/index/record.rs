//! What the index keeps per article: [`Entry`] (168 bytes) in the record array, and
//! [`Record`], its flat form for [`super::Index::from_records`] and the index snapshot.

use crate::dedup::{ArticleId, StoryId};
use crate::fingerprint::minhash::BIN_WORDS;
use crate::fingerprint::{Fingerprint, ANCHORS};

// `Entry::packed`: shingle count in the low 24 bits, then these flags, then the anchor count.
pub(super) const SHINGLES: u32 = (1 << 24) - 1;
pub(super) const LIVE: u32 = 1 << 24;
pub(super) const SHORT: u32 = 1 << 25;
pub(super) const ANCHOR_SHIFT: u32 = 26;

/// Everything the index keeps per article (168 bytes).
///
/// In this order in memory (`repr(C)`): what checking a candidate reads (the time, the
/// flags and the verification's fields) in the first [`HOT_BYTES`], so that a lookup can
/// ask for those two or three lines ahead; after them the ids, read once a candidate is
/// chosen, and the anchors, read when an article leaves and by the anchor searches of the
/// short-item rules (which fetch the whole entry).
#[derive(Clone, Debug)]
#[repr(C)]
pub(super) struct Entry {
    pub(super) bins: [u64; BIN_WORDS],
    pub(super) numbers: u64,
    pub(super) entities: u64,
    pub(super) simhash: u64,
    pub(super) content: u64,
    /// Unix seconds, saturated to `u32` (0 before 1970, the maximum after 2106): four bytes
    /// that leave room for `entities` in 168.
    pub(super) at: u32,
    /// Shingle count (saturated at 2^24 - 1), `LIVE`, `SHORT`, anchor count from bit 26;
    /// packed so that the entity mask fits in the same 168 bytes.
    pub(super) packed: u32,
    pub(super) article: ArticleId,
    pub(super) story: StoryId,
    pub(super) anchors: [u32; ANCHORS],
}

/// Bytes at the start of an [`Entry`] that checking a candidate reads (see its layout).
pub(super) const HOT_BYTES: usize = std::mem::offset_of!(Entry, article);

impl Entry {
    pub(super) fn live(&self) -> bool {
        self.packed & LIVE != 0
    }
    pub(super) fn short(&self) -> bool {
        self.packed & SHORT != 0
    }
    pub(super) fn anchors(&self) -> &[u32] {
        &self.anchors[..self.anchor_len()]
    }
    pub(super) fn anchor_len(&self) -> usize {
        ((self.packed >> ANCHOR_SHIFT) as usize).min(ANCHORS)
    }
    pub(super) fn shingles(&self) -> u32 {
        self.packed & SHINGLES
    }
}

/// One article as the index holds it: what [`Index::from_records`](super::Index::from_records) builds from, and what the
/// index snapshot saves and loads (`fold/snapshot.rs`) as [`Record::BYTES`] flat bytes.
#[derive(Clone, Debug)]
pub struct Record(pub(super) Entry);

impl Record {
    /// Size of an encoded record: the bins, six `u64`s (numbers, entities, SimHash, content
    /// hash, article, story), then `at`, `packed` and the anchors as `u32`s.
    pub const BYTES: usize = 8 * BIN_WORDS + 8 * 6 + 4 * 2 + 4 * ANCHORS;

    /// The record of `article` in `story` with fingerprint `fp`, first seen at `at_unix_secs`
    /// (what [`Index::insert`](super::Index::insert) stores).
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
        Entry::decode(b).filter(Entry::live).map(Record)
    }
}

impl Entry {
    /// [`Record::decode`] of a slot, live or not (the index snapshot keeps the free ones).
    pub(super) fn decode(b: &[u8]) -> Option<Entry> {
        if b.len() != Record::BYTES {
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
        if (packed >> ANCHOR_SHIFT) as usize > ANCHORS {
            return None;
        }
        Some(Entry {
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
        })
    }
}

/// Unix seconds as kept in an [`Entry`].
#[inline]
fn secs(unix_secs: i64) -> u32 {
    u32::try_from(unix_secs.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::{Entry, HOT_BYTES};
    use std::mem::offset_of;

    #[test]
    fn an_entry_stays_168_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 168);
    }

    /// What a lookup prefetches of a candidate (`HOT_BYTES`) holds every field checking it
    /// reads: the time, the flags and the verification's fields.
    #[test]
    fn the_fields_a_candidate_check_reads_lie_in_its_hot_bytes() {
        for end in [
            offset_of!(Entry, bins) + 64,
            offset_of!(Entry, numbers) + 8,
            offset_of!(Entry, entities) + 8,
            offset_of!(Entry, simhash) + 8,
            offset_of!(Entry, content) + 8,
            offset_of!(Entry, at) + 4,
            offset_of!(Entry, packed) + 4,
        ] {
            assert!(end <= HOT_BYTES, "{end} > {HOT_BYTES}");
        }
        assert_eq!(HOT_BYTES, 104);
    }
}
