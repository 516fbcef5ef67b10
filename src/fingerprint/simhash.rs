//! 64-bit SimHash accumulation.
//!
//! Counting is done with 8 packed accumulators of eight 8-bit lanes each:
//! per shingle, each byte of the hash selects a precomputed lane pattern,
//! so adding a shingle costs 8 additions instead of 64 branches.  The lanes
//! are flushed into wide counters before they can overflow.

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

/// Largest sum of weights an 8-bit lane can hold.
const LANE_MAX: u32 = 255;

/// Weighted SimHash accumulator.
pub struct SimHasher {
    acc: [u64; 8],
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
            acc: [0; 8],
            pending: 0,
            ones: [0; 64],
            total: 0,
        }
    }

    /// Adds a shingle hash with an integer weight (1..=255).
    #[inline]
    pub fn add(&mut self, h: u64, weight: u32) {
        let weight = weight.clamp(1, LANE_MAX);
        if self.pending + weight > LANE_MAX {
            self.flush();
        }
        let w = u64::from(weight);
        for (j, a) in self.acc.iter_mut().enumerate() {
            *a += SPREAD[((h >> (8 * j)) & 0xff) as usize] * w;
        }
        self.pending += weight;
        self.total += w;
    }

    fn flush(&mut self) {
        for (j, a) in self.acc.iter_mut().enumerate() {
            for k in 0..8 {
                self.ones[8 * j + k] += ((*a >> (8 * k)) & 0xff) as u32;
            }
            *a = 0;
        }
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
