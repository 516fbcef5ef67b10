//! Byte classes eight at a time ("SIMD within a register") for the run scans of
//! [`super::text`]: a `u64` holds eight bytes, and each test leaves the high bit set in
//! exactly the bytes that pass it, so a run of accepted bytes ends at the first clear high bit.

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

/// Length of the run at the start of `rest` of bytes that are accepted (`accepted(b)`, and
/// `mask` gives the same answer for eight bytes at once), or that are a single `' '`
/// followed by an accepted byte.
#[inline]
pub fn run_len(rest: &[u8], mask: impl Fn(u64) -> u64, accepted: impl Fn(u8) -> bool) -> usize {
    let mut n = 0;
    while let Some(w) = load(rest, n) {
        let ok_bytes = mask(w);
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
        let graphic = |w| in_range(w, 0x21, 0x7e);
        let naive = |rest: &[u8]| {
            let mut n = 0;
            while n < rest.len()
                && (rest[n].is_ascii_graphic()
                    || (rest[n] == b' ' && rest.get(n + 1).is_some_and(u8::is_ascii_graphic)))
            {
                n += 1;
            }
            n
        };
        let alphabet = [b'a', b' ', b'\t', b'\n', 0x7f, 0xc3, b'~', b'!', 0x00, 0x20];
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
                for from in 0..s.len() {
                    let got = run_len(&s[from..], graphic, |c| c.is_ascii_graphic());
                    assert_eq!(got, naive(&s[from..]), "{:?} from {from}", s);
                }
            }
        }
    }
}
