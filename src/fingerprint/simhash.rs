//! 64-bit SimHash accumulation.
//!
//! Counting is done in 64 packed 8-bit lanes, one per hash bit, flushed into wide counters
//! before they can overflow.  On x86-64 the lanes are four SSE2 registers: per shingle the
//! hash is spread to one byte per bit with four shuffles, a compare against the bit masks
//! and an add (about 25 instructions).  Elsewhere they are eight `u64` words, where each
//! byte of the hash selects a precomputed lane pattern (8 table adds per shingle).  Both
//! count exactly, so the SimHash does not depend on the target.

/// Largest sum of weights an 8-bit lane can hold.
const LANE_MAX: u32 = 255;

#[cfg(not(target_arch = "x86_64"))]
use spread::Lanes;
#[cfg(target_arch = "x86_64")]
use sse2::Lanes;

/// Lanes of eight `u64` words with a lane-pattern table (any target).
#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
mod spread {
    /// For a byte `n`, lane `k` (8 bits wide) is 1 iff bit `k` of `n` is set.
    const SPREAD: [u64; 256] = {
        let mut t = [0u64; 256];
        let mut n = 0;
        while n < 256 {
            let mut k = 0;
            while k < 8 {
                if n & (1 << k) != 0 {
                    t[n] |= 1u64 << (8 * k);
                }
                k += 1;
            }
            n += 1;
        }
        t
    };

    /// 64 8-bit counters: lane `k` of word `j` counts hash bit `8j + k`.
    #[derive(Clone, Copy, Default)]
    pub struct Lanes([u64; 8]);

    impl Lanes {
        /// Adds `w` to the lane of every bit set in `h` (the caller prevents overflow).
        #[inline]
        pub fn add(&mut self, h: u64, w: u8) {
            let w = u64::from(w);
            for (j, a) in self.0.iter_mut().enumerate() {
                *a += SPREAD[((h >> (8 * j)) & 0xff) as usize] * w;
            }
        }

        /// The 64 counters, bit order.
        pub fn counts(&self) -> [u8; 64] {
            let mut out = [0u8; 64];
            for (j, a) in self.0.iter().enumerate() {
                out[8 * j..8 * j + 8].copy_from_slice(&a.to_le_bytes());
            }
            out
        }
    }
}

/// Lanes of four SSE2 registers (SSE2 is part of every x86-64 CPU).
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_and_si128, _mm_cmpeq_epi8, _mm_cvtsi128_si64, _mm_set1_epi64x,
        _mm_set1_epi8, _mm_setzero_si128, _mm_unpackhi_epi16, _mm_unpackhi_epi32,
        _mm_unpackhi_epi64, _mm_unpacklo_epi16, _mm_unpacklo_epi32, _mm_unpacklo_epi8,
    };

    /// 64 8-bit counters: lane `i` of register `k` counts hash bit `16k + i`.
    #[derive(Clone, Copy)]
    pub struct Lanes([__m128i; 4]);

    // SAFETY (all three `unsafe` blocks below): they only call functions that need SSE2, and
    // every x86-64 CPU has SSE2 (it is in the target's baseline feature set).

    impl Default for Lanes {
        fn default() -> Self {
            Lanes(unsafe { zero() })
        }
    }

    impl Lanes {
        /// Adds `w` to the lane of every bit set in `h` (the caller prevents overflow).
        #[inline]
        pub fn add(&mut self, h: u64, w: u8) {
            unsafe { add(&mut self.0, h, w) }
        }

        /// The 64 counters, bit order.
        pub fn counts(&self) -> [u8; 64] {
            unsafe { counts(&self.0) }
        }
    }

    #[target_feature(enable = "sse2")]
    fn zero() -> [__m128i; 4] {
        [_mm_setzero_si128(); 4]
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    fn add(lanes: &mut [__m128i; 4], h: u64, w: u8) {
        // byte i of each 8-byte half: the mask of bit i
        let bits = _mm_set1_epi64x(0x8040_2010_0804_0201_u64 as i64);
        let weight = _mm_set1_epi8(w as i8);
        let v = _mm_set1_epi64x(h as i64);
        // every byte of the hash eight times: register k holds bytes 2k and 2k + 1
        let a = _mm_unpacklo_epi8(v, v);
        let lo = _mm_unpacklo_epi16(a, a);
        let hi = _mm_unpackhi_epi16(a, a);
        let spread = [
            _mm_unpacklo_epi32(lo, lo),
            _mm_unpackhi_epi32(lo, lo),
            _mm_unpacklo_epi32(hi, hi),
            _mm_unpackhi_epi32(hi, hi),
        ];
        for (acc, s) in lanes.iter_mut().zip(spread) {
            let set = _mm_cmpeq_epi8(_mm_and_si128(s, bits), bits);
            *acc = _mm_add_epi8(*acc, _mm_and_si128(set, weight));
        }
    }

    #[target_feature(enable = "sse2")]
    fn counts(lanes: &[__m128i; 4]) -> [u8; 64] {
        let mut out = [0u8; 64];
        for (k, &r) in lanes.iter().enumerate() {
            let lo = _mm_cvtsi128_si64(r) as u64;
            let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(r, r)) as u64;
            out[16 * k..16 * k + 8].copy_from_slice(&lo.to_le_bytes());
            out[16 * k + 8..16 * k + 16].copy_from_slice(&hi.to_le_bytes());
        }
        out
    }
}

/// Weighted SimHash accumulator.
pub struct SimHasher {
    lanes: Lanes,
    pending: u32,
    ones: [u32; 64],
    total: u64,
}

impl Default for SimHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl SimHasher {
    /// An empty accumulator.
    pub fn new() -> Self {
        SimHasher {
            lanes: Lanes::default(),
            pending: 0,
            ones: [0; 64],
            total: 0,
        }
    }

    /// Adds a shingle hash with an integer weight (1..=255).
    #[inline(always)]
    pub fn add(&mut self, h: u64, weight: u32) {
        let weight = weight.clamp(1, LANE_MAX);
        if self.pending + weight > LANE_MAX {
            self.flush();
        }
        self.lanes.add(h, weight as u8);
        self.pending += weight;
        self.total += u64::from(weight);
    }

    fn flush(&mut self) {
        for (one, c) in self.ones.iter_mut().zip(self.lanes.counts()) {
            *one += u32::from(c);
        }
        self.lanes = Lanes::default();
        self.pending = 0;
    }

    /// The SimHash: bit `b` is set iff the weighted majority of shingles has
    /// bit `b` set.  Zero when nothing was added.
    pub fn finish(mut self) -> u64 {
        self.flush();
        let mut out = 0u64;
        for (b, &n) in self.ones.iter().enumerate() {
            if 2 * u64::from(n) > self.total {
                out |= 1u64 << b;
            }
        }
        out
    }
}

/// Number of differing bits between two SimHashes.
#[inline]
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bit by bit, the definition.
    fn reference(items: &[(u64, u32)]) -> u64 {
        let total: u64 = items.iter().map(|&(_, w)| u64::from(w)).sum();
        let mut out = 0;
        for b in 0..64 {
            let ones: u64 = items
                .iter()
                .filter(|&&(h, _)| h >> b & 1 == 1)
                .map(|&(_, w)| u64::from(w))
                .sum();
            if 2 * ones > total {
                out |= 1 << b;
            }
        }
        out
    }

    proptest! {
        #[test]
        fn lanes_count_each_bit(items in proptest::collection::vec((any::<u64>(), 1u8..=2), 0..40)) {
            let mut fast = Lanes::default();
            let mut portable = spread::Lanes::default();
            let mut want = [0u8; 64];
            for &(h, w) in &items {
                fast.add(h, w);
                portable.add(h, w);
                for (b, c) in want.iter_mut().enumerate() {
                    if h >> b & 1 == 1 {
                        *c += w;
                    }
                }
            }
            prop_assert_eq!(fast.counts(), want);
            prop_assert_eq!(portable.counts(), want);
        }

        #[test]
        fn simhash_is_the_weighted_majority(items in proptest::collection::vec((any::<u64>(), 1u32..=2), 0..400)) {
            // up to 800 weight units: several flushes of the 8-bit lanes
            let mut s = SimHasher::new();
            for &(h, w) in &items {
                s.add(h, w);
            }
            prop_assert_eq!(s.finish(), reference(&items));
        }
    }
}
