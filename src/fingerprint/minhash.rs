//! One-permutation MinHash (OPH) with optimal densification, stored as
//! 4-bit values, plus a bottom-k set of "anchor" hashes for candidate search.
//!
//! * **Bins.** A shingle hash `h` goes to bin `h >> 57` (128 bins); the bin
//!   keeps its minimum hash.  Empty bins borrow the value of a non-empty bin
//!   chosen by a fixed, document-independent probe sequence (Shrivastava,
//!   "Optimal densification for fast and accurate minwise hashing", 2017),
//!   so two sets agree on a bin with probability equal to their Jaccard
//!   resemblance `J`.  Only the low 4 bits of each bin minimum are kept
//!   (b-bit minwise hashing): 128 bins in 64 bytes.  Two unrelated bins agree
//!   by chance with probability 1/16, which [`jaccard`] corrects for; at the
//!   same size this has lower variance than 32 bins of 16 bits.
//! * **Anchors.** The [`ANCHORS`] smallest shingle hashes of the document
//!   (bottom-k), each reduced to its low 32 bits (independent of the bits
//!   that decided the order).  For a trimmed copy `A ⊂ B`, every anchor of
//!   `B` that lies in `A` is also an anchor of `A`, so a copy shares about
//!   `ANCHORS · |A∩B| / |A∪B|` anchors with its original; the index looks
//!   candidates up by single anchors.  For short items only bigrams are
//!   anchor-eligible: single words are too common (a frequent word with a
//!   small hash would be an anchor of every item containing it).

use super::shingle::fmix64;
use serde::{Deserialize, Serialize};

/// Number of OPH bins.
pub const BINS: usize = 128;
/// Bits kept per bin.
pub const BITS_PER_BIN: usize = 4;
/// Number of `u64` words holding the packed bins.
pub const BIN_WORDS: usize = BINS * BITS_PER_BIN / 64;
/// Number of bottom-k anchors per document.
pub const ANCHORS: usize = 12;

/// Compact similarity sketch of a document (93 bytes of payload).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sketch {
    /// 128 densified OPH bins, 4 bits each (bin `i` in bits `4(i%16)..` of
    /// word `i/16`).
    pub bins: [u64; BIN_WORDS],
    /// Low 32 bits of the bottom-k shingle hashes; only the first
    /// `anchor_len` are meaningful (the rest are zero).
    pub anchors: [u32; ANCHORS],
    /// Number of valid anchors (`min(shingles, ANCHORS)`).
    pub anchor_len: u8,
    /// One bit (of 64) per distinct number in the text: see
    /// [`crate::fingerprint::shingle::number_mask`].
    pub numbers: u64,
}

impl Sketch {
    /// The valid anchors.
    pub fn anchors(&self) -> &[u32] {
        &self.anchors[..usize::from(self.anchor_len).min(ANCHORS)]
    }
}

/// Incremental OPH + bottom-k builder (feed distinct shingle hashes).
pub struct OphBuilder {
    mins: [u64; BINS],
    bottom: [u64; ANCHORS],
    nb: usize,
}

impl Default for OphBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl OphBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        OphBuilder {
            mins: [u64::MAX; BINS],
            bottom: [u64::MAX; ANCHORS],
            nb: 0,
        }
    }

    /// Adds one distinct shingle hash; `anchor` says whether it may be
    /// chosen as an anchor.
    #[inline]
    pub fn add(&mut self, h: u64, anchor: bool) {
        let bin = (h >> 57) as usize;
        if h < self.mins[bin] {
            self.mins[bin] = h;
        }
        if anchor && (self.nb < ANCHORS || h < self.bottom[ANCHORS - 1]) {
            // insertion into the sorted bottom-k array
            let mut i = self.nb.min(ANCHORS - 1);
            while i > 0 && self.bottom[i - 1] > h {
                self.bottom[i] = self.bottom[i - 1];
                i -= 1;
            }
            self.bottom[i] = h;
            if self.nb < ANCHORS {
                self.nb += 1;
            }
        }
    }

    /// Densifies and packs the sketch (`numbers` is filled in by the caller).
    pub fn finish(self) -> Sketch {
        let mut bins = [0u64; BIN_WORDS];
        let any = self.mins.iter().any(|&m| m != u64::MAX);
        for i in 0..BINS {
            let mut v = self.mins[i];
            if v == u64::MAX && any {
                v = self.borrowed(i);
            } else if v == u64::MAX {
                v = 0;
            }
            bins[i / 16] |= (v & 15) << (4 * (i % 16));
        }
        let mut anchors = [0u32; ANCHORS];
        for (a, b) in anchors.iter_mut().zip(&self.bottom[..self.nb]) {
            *a = *b as u32;
        }
        Sketch {
            bins,
            anchors,
            anchor_len: self.nb as u8,
            numbers: 0,
        }
    }

    /// The value an empty bin `i` borrows: that of the first non-empty bin on its probe
    /// sequence (attempt `a` probes bin `fmix64(i << 32 | a) % BINS`; the first
    /// [`PROBES`] of each sequence come from [`PROBE`]). Only called when some bin is
    /// non-empty; 0 if 4,096 attempts find none (practically never).
    #[inline]
    fn borrowed(&self, i: usize) -> u64 {
        for &j in &PROBE[i] {
            let m = self.mins[usize::from(j)];
            if m != u64::MAX {
                return m;
            }
        }
        for attempt in PROBES as u64 + 1..=4096 {
            let m = self.mins[probe(i, attempt)];
            if m != u64::MAX {
                return m;
            }
        }
        0
    }
}

/// Attempts of each bin's probe sequence kept in [`PROBE`]: an item with a handful of
/// shingles leaves most of the 128 bins empty, and each empty bin probes ~`BINS / filled`
/// times (the densification was ~10 % of normalize + fingerprint of a headline + summary
/// item). 64 one-byte entries per bin: one cache line each.
const PROBES: usize = 64;

/// Bin probed by `attempt` (from 1) of empty bin `i`'s densification sequence.
const fn probe(i: usize, attempt: u64) -> usize {
    (fmix64(((i as u64) << 32) | attempt) % BINS as u64) as usize
}

/// The first [`PROBES`] attempts of every bin's probe sequence, computed at compile time.
static PROBE: [[u8; PROBES]; BINS] = {
    let mut t = [[0u8; PROBES]; BINS];
    let mut i = 0;
    while i < BINS {
        let mut a = 0;
        while a < PROBES {
            // `probe` is below BINS (128), so it fits in a byte
            t[i][a] = probe(i, a as u64 + 1) as u8;
            a += 1;
        }
        i += 1;
    }
    t
};

/// Number of bins (of [`BINS`]) on which two sketches agree.
#[inline]
pub fn matching_bins(a: &[u64; BIN_WORDS], b: &[u64; BIN_WORDS]) -> u32 {
    const LOW: u64 = 0x1111_1111_1111_1111;
    let mut differ = 0;
    for (x, y) in a.iter().zip(b) {
        let d = x ^ y;
        differ += ((d | d >> 1 | d >> 2 | d >> 3) & LOW).count_ones();
    }
    BINS as u32 - differ
}

/// Estimated Jaccard resemblance from two sketches, corrected for the 1/16
/// chance agreement of 4-bit values.
#[inline]
pub fn jaccard(a: &Sketch, b: &Sketch) -> f32 {
    let p = matching_bins(&a.bins, &b.bins) as f32 / BINS as f32;
    let c = 1.0 / 16.0;
    ((p - c) / (1.0 - c)).clamp(0.0, 1.0)
}

/// Containment of the smaller set in the larger one, derived from the
/// Jaccard estimate and the set sizes:
/// `|A∩B| = J(|A|+|B|)/(1+J)`, divided by `min(|A|,|B|)`, capped at 1.
#[inline]
pub fn containment(j: f32, na: u32, nb: u32) -> f32 {
    let small = na.min(nb);
    if small == 0 {
        return 0.0;
    }
    let inter = j * (na as f32 + nb as f32) / (1.0 + j);
    (inter / small as f32).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table holds the start of each bin's probe sequence, exactly.
    #[test]
    fn the_probe_table_is_the_start_of_each_sequence() {
        for (i, row) in PROBE.iter().enumerate() {
            for (a, &j) in row.iter().enumerate() {
                assert_eq!(
                    usize::from(j),
                    probe(i, a as u64 + 1),
                    "bin {i} attempt {}",
                    a + 1
                );
            }
        }
    }

    /// Every empty bin borrows from the first non-empty bin on its sequence, also past the
    /// table's attempts.
    #[test]
    fn empty_bins_borrow_along_their_probe_sequence() {
        // bin `i`'s sequence walked attempt by attempt, as far as 4,096
        let walk = |i: usize, filled: &[usize]| {
            (1..=4096u64)
                .map(|a| probe(i, a))
                .find(|j| filled.contains(j))
        };
        // one filled bin (most sequences need more than `PROBES` attempts to reach it)
        // and a few
        for filled in [vec![77usize], vec![3, 64, 100]] {
            let mut b = OphBuilder::new();
            for &f in &filled {
                b.mins[f] = (f as u64) | 0xAB00;
            }
            let past_table = (0..BINS)
                .filter(|&i| !filled.contains(&i))
                .filter(|&i| !PROBE[i].iter().any(|&j| filled.contains(&usize::from(j))))
                .count();
            if filled.len() == 1 {
                assert!(past_table > 0, "the test must reach past the table");
            }
            let sk = b.finish();
            for i in 0..BINS {
                let got = (sk.bins[i / 16] >> (4 * (i % 16))) & 15;
                let from = if filled.contains(&i) {
                    Some(i)
                } else {
                    walk(i, &filled)
                };
                let want = from.map_or(0, |f| ((f as u64) | 0xAB00) & 15);
                assert_eq!(got, want, "bin {i}");
            }
        }
        // no shingle at all: every bin is 0
        assert_eq!(OphBuilder::new().finish().bins, [0; BIN_WORDS]);
    }
}
