//! 64-bit SimHash accumulation.
//!
//! The 64 per-bit counts are kept bit-sliced: plane `k` holds bit `k` of every count, so
//! adding a shingle is a ripple-carry add of its hash into the planes (two or three bit
//! operations per plane, no table lookups). The planes are flushed into wide counters
//! before they can overflow.

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

/// Number of bit planes.
const PLANES: usize = 8;
/// Largest sum of weights the planes can hold (and the largest weight).
const LANE_MAX: u32 = (1 << PLANES) - 1;

/// Weighted SimHash accumulator.
pub struct SimHasher {
    /// Plane `k`: bit `b` is bit `k` of the count of bit `b` since the last flush.
    planes: [u64; PLANES],
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
            planes: [0; PLANES],
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
        if weight <= 2 {
            // The weights in use (1, and 2 for shingles with a number), without a branch:
            // `h` enters plane 0 or plane 1, then the carries ripple up.
            let in0 = h & 0u64.wrapping_sub(u64::from(weight & 1));
            let in1 = h & 0u64.wrapping_sub(u64::from(weight >> 1));
            // At most one of `in0` and `in1` is non-zero, so they cannot collide in plane 1.
            let mut carry = (self.planes[0] & in0) | in1;
            self.planes[0] ^= in0;
            for p in &mut self.planes[1..] {
                let next = *p & carry;
                *p ^= carry;
                carry = next;
            }
        } else {
            for k in 0..PLANES {
                if weight >> k & 1 != 0 {
                    let mut carry = h;
                    for p in &mut self.planes[k..] {
                        let next = *p & carry;
                        *p ^= carry;
                        carry = next;
                    }
                }
            }
        }
        // The counts are at most `pending <= LANE_MAX`: nothing carried out of the top plane.
        self.pending += weight;
        self.total += u64::from(weight);
    }

    fn flush(&mut self) {
        // Gather the planes into eight 8-bit lanes per byte of the hash (lane `k` of `acc[j]`
        // is the count of bit `8j + k`; counts fit a lane), then widen.
        let mut acc = [0u64; 8];
        for (k, plane) in self.planes.iter_mut().enumerate() {
            for (j, a) in acc.iter_mut().enumerate() {
                *a |= SPREAD[((*plane >> (8 * j)) & 0xff) as usize] << k;
            }
            *plane = 0;
        }
        for (j, a) in acc.iter().enumerate() {
            for k in 0..8 {
                self.ones[8 * j + k] += ((*a >> (8 * k)) & 0xff) as u32;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The SimHash counted one bit at a time.
    fn naive(items: &[(u64, u32)]) -> u64 {
        let mut ones = [0u64; 64];
        let mut total = 0u64;
        for &(h, w) in items {
            let w = u64::from(w.clamp(1, LANE_MAX));
            total += w;
            for (b, n) in ones.iter_mut().enumerate() {
                *n += (h >> b & 1) * w;
            }
        }
        (0..64)
            .filter(|&b| 2 * ones[b] > total)
            .fold(0, |out, b| out | 1u64 << b)
    }

    #[test]
    fn bit_sliced_counts_agree_with_bit_by_bit_counts() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for (n, weights) in [
            (0, &[1u32][..]),
            (1, &[2]),
            (300, &[1]),
            (700, &[1, 2, 1, 1, 1, 2]),
            (900, &[2, 2, 1]),
            (400, &[1, 3, 200, 255, 0, 1000, 2]),
        ] {
            let mut items = Vec::new();
            for i in 0..n {
                x = crate::fingerprint::shingle::fmix64(x);
                // Skewed bits, so that some counts lie near the majority threshold.
                let h = if i % 3 == 0 { x & (x >> 7) } else { x };
                items.push((h, weights[i % weights.len()]));
            }
            let mut s = SimHasher::new();
            for &(h, w) in &items {
                s.add(h, w);
            }
            assert_eq!(s.finish(), naive(&items), "{n} items, weights {weights:?}");
        }
    }
}
