//! A small seeded generator (SplitMix64) for the edit generator: reproducible across
//! platforms and releases without a runtime dependency on `rand`.

use std::ops::Range;

/// SplitMix64 (Steele, Lea & Flood 2014).
#[derive(Debug, Clone)]
pub struct StdRng(u64);

impl StdRng {
    /// A generator from a seed.
    pub fn seed_from_u64(seed: u64) -> Self {
        StdRng(seed ^ 0x6a09_e667_f3bc_c909)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn random_bool(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `r` (empty ranges give `r.start`).
    pub fn random_range<T: Sample>(&mut self, r: Range<T>) -> T {
        T::sample(self, r)
    }
}

/// Types [`StdRng::random_range`] draws.
pub trait Sample: Sized {
    /// Uniform in `r`.
    fn sample(rng: &mut StdRng, r: Range<Self>) -> Self;
}

impl Sample for usize {
    fn sample(rng: &mut StdRng, r: Range<Self>) -> Self {
        let span = r.end.saturating_sub(r.start) as u64;
        if span == 0 {
            return r.start;
        }
        r.start + (rng.next_u64() % span) as usize
    }
}

impl Sample for u64 {
    fn sample(rng: &mut StdRng, r: Range<Self>) -> Self {
        let span = r.end.saturating_sub(r.start);
        if span == 0 {
            return r.start;
        }
        r.start + rng.next_u64() % span
    }
}

impl Sample for f64 {
    fn sample(rng: &mut StdRng, r: Range<Self>) -> Self {
        r.start + rng.unit() * (r.end - r.start)
    }
}

impl Sample for i32 {
    fn sample(rng: &mut StdRng, r: Range<Self>) -> Self {
        let span = i64::from(r.end) - i64::from(r.start);
        if span <= 0 {
            return r.start;
        }
        r.start + (rng.next_u64() % span as u64) as i32
    }
}
