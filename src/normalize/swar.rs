//! Byte classes eight at a time ("SIMD within a register") for the run scans of
//! [`super::text`]: a `u64` holds eight bytes, and each test leaves the high bit set in
//! exactly the bytes that pass it, so a run of accepted bytes ends at the first clear high bit.
//! On x86-64 the runs are scanned sixteen bytes at a time with SSE2 first, the same tests on
//! a byte per bit of a mask.

/// `0x01` in every byte.
const ONES: u64 = 0x0101_0101_0101_0101;
/// The high bit of every byte.
pub const HIGH: u64 = 0x8080_8080_8080_8080;

/// The eight bytes of `b` from `i`, if there are eight.
#[inline]
fn load(b: &[u8], i: usize) -> Option<u64> {
    let chunk = b.get(i..i.checked_add(8)?)?;
    <[u8; 8]>::try_from(chunk).ok().map(u64::from_le_bytes)
}

/// High bit set in each byte of `w` that is ASCII and within `lo..=hi` (`hi < 0x80`).
#[inline]
pub fn in_range(w: u64, lo: u8, hi: u8) -> u64 {
    let low7 = w & !HIGH;
    // Each byte of `low7` is below 0x80 and each addend at most 0x80: no byte carries into
    // the next; the high bit then says "at least lo" (resp. "above hi").
    let ge_lo = low7 + u64::from(0x80 - lo) * ONES;
    let gt_hi = low7 + u64::from(0x7f - hi) * ONES;
    ge_lo & !gt_hi & !w & HIGH
}

/// High bit set in each byte of `w` that lies in one of `ranges` (see [`in_range`]).
#[inline]
pub fn in_ranges(w: u64, ranges: &[(u8, u8)]) -> u64 {
    ranges
        .iter()
        .fold(0, |acc, &(lo, hi)| acc | in_range(w, lo, hi))
}

/// Length of the run at the start of `rest` of bytes that are accepted (in one of `ranges`,
/// all ASCII; `accepted(b)` gives the same answer for one byte), or that are a single `' '`
/// followed by an accepted byte. Sixteen bytes at a time with SSE2 on x86-64, then eight at a
/// time, then byte by byte.
#[inline]
pub fn run_len(rest: &[u8], ranges: &[(u8, u8)], accepted: impl Fn(u8) -> bool) -> usize {
    #[cfg(target_arch = "x86_64")]
    let mut n = {
        // SAFETY: `blocks` only needs SSE2, which every x86-64 CPU has (it is in the target's
        // baseline feature set).
        match unsafe { sse2::blocks(rest, ranges, &accepted) } {
            Ok(len) => return len,
            Err(scanned) => scanned,
        }
    };
    #[cfg(not(target_arch = "x86_64"))]
    let mut n = 0;
    while let Some(w) = load(rest, n) {
        let ok_bytes = in_ranges(w, ranges);
        let spaces = in_range(w, b' ', b' ');
        // Is the byte after each one accepted? (For the last, the first of the next eight.)
        let next_ok = rest.get(n + 8).is_some_and(|&d| accepted(d));
        let before_ok = (ok_bytes >> 8) | if next_ok { 0x80 << 56 } else { 0 };
        let ok = ok_bytes | (spaces & before_ok);
        if ok != HIGH {
            return n + (!ok & HIGH).trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    while let Some(&c) = rest.get(n) {
        if !(accepted(c) || (c == b' ' && rest.get(n + 1).is_some_and(|&d| accepted(d)))) {
            break;
        }
        n += 1;
    }
    n
}

/// [`run_len`] sixteen bytes at a time: a byte per bit of a 16-bit mask.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_set_epi64x, _mm_setzero_si128,
    };

    /// The run of [`super::run_len`] over whole 16-byte blocks: `Ok(length)` when it ends
    /// within them, `Err(scanned)` (a multiple of 16) when fewer than 16 bytes are left.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn blocks(
        rest: &[u8],
        ranges: &[(u8, u8)],
        accepted: &impl Fn(u8) -> bool,
    ) -> Result<usize, usize> {
        let mut n = 0;
        while let Some(block) = rest.get(n..n + 16) {
            let (lo, hi) = block.split_at(8);
            let half = |h: &[u8]| <[u8; 8]>::try_from(h).map_or(0, i64::from_le_bytes);
            let v = _mm_set_epi64x(half(hi), half(lo));
            let mut ok = _mm_setzero_si128();
            for &(lo, hi) in ranges {
                // the range moved to the bottom of the signed bytes: one signed compare
                let shifted = _mm_add_epi8(v, _mm_set1_epi8(0x80_u8.wrapping_sub(lo) as i8));
                let inside = _mm_cmplt_epi8(shifted, _mm_set1_epi8((0x81 + (hi - lo)) as i8));
                ok = _mm_or_si128(ok, inside);
            }
            let ok_bytes = _mm_movemask_epi8(ok) as u32;
            let spaces = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8))) as u32;
            // Is the byte after each one accepted? (For the last, the first of the next block.)
            let next_ok = rest.get(n + 16).is_some_and(|&d| accepted(d));
            let before_ok = (ok_bytes >> 1) | if next_ok { 1 << 15 } else { 0 };
            let run = ok_bytes | (spaces & before_ok);
            if run != 0xffff {
                return Ok(n + (!run).trailing_zeros() as usize);
            }
            n += 16;
        }
        Err(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_agree_with_byte_tests() {
        for lo in [0x09u8, 0x20, 0x21, 0x30, 0x61, 0x7e] {
            for hi in [lo, 0x39.max(lo), 0x7e.max(lo), 0x7f] {
                for start in (0u16..256).step_by(3) {
                    let bytes: Vec<u8> = (0..8).map(|k| ((start + k * 37) % 256) as u8).collect();
                    let w = load(&bytes, 0).expect("8 bytes");
                    for (k, &b) in bytes.iter().enumerate() {
                        let set = in_range(w, lo, hi) >> (8 * k + 7) & 1 == 1;
                        assert_eq!(set, (lo..=hi).contains(&b), "{b:#x} in {lo:#x}..={hi:#x}");
                    }
                }
            }
        }
    }

    #[test]
    fn runs_agree_with_the_byte_loop() {
        let graphic: &[(u8, u8)] = &[(0x21, 0x7e)];
        // the word bytes of the fingerprint pass, several ranges
        let word: &[(u8, u8)] = &[(b'#', b'%'), (b'0', b'9'), (b'@', b'Z'), (b'a', b'z')];
        let naive = |rest: &[u8], accepted: &dyn Fn(u8) -> bool| {
            let mut n = 0;
            while n < rest.len()
                && (accepted(rest[n])
                    || (rest[n] == b' ' && rest.get(n + 1).is_some_and(|&d| accepted(d))))
            {
                n += 1;
            }
            n
        };
        let alphabet = [
            b'a', b' ', b'\t', b'\n', 0x7f, 0xc3, b'~', b'!', 0x00, 0x20, b'Z', b'@', b'#', b'%',
            b'&', b'9', b'`', b'{', b'"',
        ];
        let mut x = 12345u64;
        for len in 0..40 {
            for _ in 0..200 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        // Mostly letters, so that runs are long.
                        let r = (x >> 33) as usize;
                        if r % 4 == 0 {
                            alphabet[r / 4 % alphabet.len()]
                        } else {
                            b'a'
                        }
                    })
                    .collect();
                for ranges in [graphic, word] {
                    let accepted = |c: u8| ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c));
                    for from in 0..s.len() {
                        let got = run_len(&s[from..], ranges, accepted);
                        assert_eq!(got, naive(&s[from..], &accepted), "{:?} from {from}", s);
                    }
                }
            }
        }
    }
}
