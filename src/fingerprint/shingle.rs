//! Tokenisation and shingle hashing.
//!
//! Every token is hashed exactly once with xxh3-64; shingle hashes are then
//! built by mixing the token hashes of a window (no per-shingle allocation).
//! Tokens made only of "weak" words (stop words, one- and two-letter words)
//! do not form shingles on their own: n-grams such as "one of the" or
//! "said it would" occur in a large share of all news texts and would only
//! make unrelated stories look alike (and crowd the candidate index).

use xxhash_rust::xxh3::xxh3_64;

use super::words::{is_stopword, number_word_bit, WordTable, WORDS};

/// Salt for word 3-grams (long items).
const SALT_TRI: u64 = 0x5d58_8b65_6c07_8965;
/// Salt for word unigrams (short items).
const SALT_UNI: u64 = 0x2545_f491_4f6c_dd1d;
/// Salt for word bigrams (short items).
const SALT_BI: u64 = 0x9fb2_1c65_1e98_df25;
/// Salt for character n-grams.
const SALT_CHR: u64 = 0xd6e8_feb8_6659_fd93;

const P1: u64 = 0x9e37_79b9_7f4a_7c15;
const P2: u64 = 0xc2b2_ae3d_27d4_eb4f;
const P3: u64 = 0x1656_67b1_9e37_79f9;

/// Murmur3 64-bit finaliser: a cheap full-avalanche mix.
#[inline]
pub const fn fmix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

/// Hash of a word 3-gram from its token hashes.
#[inline]
pub fn tri(a: u64, b: u64, c: u64) -> u64 {
    fmix64(
        a.wrapping_mul(P1)
            ^ b.rotate_left(21).wrapping_mul(P2)
            ^ c.rotate_left(42).wrapping_mul(P3)
            ^ SALT_TRI,
    )
}

/// Hash of a word bigram from its token hashes.
#[inline]
pub fn bi(a: u64, b: u64) -> u64 {
    fmix64(a.wrapping_mul(P1) ^ b.rotate_left(21).wrapping_mul(P2) ^ SALT_BI)
}

/// Hash of a word unigram from its token hash.
#[inline]
pub fn uni(a: u64) -> u64 {
    fmix64(a ^ SALT_UNI)
}

/// Hash of a character n-gram (n = `hs.len()`, 1..=4) from char hashes.
#[inline]
pub fn chars(hs: &[u64]) -> u64 {
    let mut x = SALT_CHR ^ hs.len() as u64;
    for (i, h) in hs.iter().enumerate() {
        x ^= h.rotate_left(13 * i as u32).wrapping_mul(P1);
        x = x.rotate_left(27).wrapping_mul(P2);
    }
    fmix64(x)
}

/// True if a (lowercased, trimmed) word is weak: no digit and either at most
/// two characters long or a stop word.
#[inline]
pub fn is_weak(w: &str) -> bool {
    let b = w.as_bytes();
    if b.iter().any(u8::is_ascii_digit) {
        return false;
    }
    if b.len() <= 2 || (b.len() <= 8 && w.chars().count() <= 2) {
        return true;
    }
    b.len() <= 7 && is_stopword(b)
}

/// Token flag: the word is weak (see [`is_weak`]).
pub const WEAK: u8 = 1;
/// Token flag: the word contains a digit.
pub const DIGIT: u8 = 2;

/// Where the tokenizer puts its tokens: a hash and its flags, in text order.
trait Sink {
    fn put(&mut self, hash: u64, flags: u8);
    fn count(&self) -> usize;
}

/// Hashes and flags in two vectors (the public [`word_tokens`] / [`char_tokens`]).
struct Split<'a>(&'a mut Vec<u64>, &'a mut Vec<u8>);

impl Sink for Split<'_> {
    #[inline]
    fn put(&mut self, hash: u64, flags: u8) {
        self.0.push(hash);
        self.1.push(flags);
    }

    fn count(&self) -> usize {
        self.0.len()
    }
}

/// Hash and flags side by side: one push per token ([`word_tokens_paired`]).
impl Sink for Vec<(u64, u8)> {
    #[inline]
    fn put(&mut self, hash: u64, flags: u8) {
        self.push((hash, flags));
    }

    fn count(&self) -> usize {
        self.len()
    }
}

#[inline]
fn push_word(w: &[u8], out: &mut impl Sink, numbers: &mut u64) {
    // trim ASCII punctuation on both ends
    let mut a = 0;
    let mut b = w.len();
    while a < b && w[a].is_ascii_punctuation() {
        a += 1;
    }
    while b > a && w[b - 1].is_ascii_punctuation() {
        b -= 1;
    }
    if a == b {
        return;
    }
    let core = &w[a..b];
    let h = xxh3_64(core);
    let mut digit = false;
    let mut lower = true;
    for &c in core {
        digit |= c.is_ascii_digit();
        lower &= c.is_ascii_lowercase();
    }
    // The number mask of this word, as `number_mask` would find it in the whole text
    // (whitespace never joins or splits a number): plain lowercase words can only be a
    // number word; anything else is scanned.
    if lower {
        *numbers |= number_word_bit(core);
    } else {
        number_mask_bytes(w, numbers);
    }
    let f = if digit {
        DIGIT
    } else if is_weak_bytes(core) {
        WEAK
    } else {
        0
    };
    out.put(h, f);
}

/// [`is_weak`] on the UTF-8 bytes of a word without digits.
#[inline]
fn is_weak_bytes(w: &[u8]) -> bool {
    if w.len() <= 2 {
        return true;
    }
    if w.len() > 8 {
        return false;
    }
    if w.is_ascii() {
        return w.len() <= 7 && is_stopword(w);
    }
    std::str::from_utf8(w).is_ok_and(|s| s.chars().count() <= 2)
}

/// Byte classes for [`word_tokens`].
const B_SPACE: u8 = 1;
const B_PUNCT: u8 = 2;
const B_DIGIT: u8 = 4;
const B_LOWER: u8 = 8;
const B_HIGH: u8 = 16;
/// Any other ASCII byte: capitals, control characters.
const B_OTHER: u8 = 32;

const BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c >= 0x80 {
            B_HIGH
        } else if c.is_ascii_whitespace() {
            B_SPACE
        } else if c.is_ascii_punctuation() {
            B_PUNCT
        } else if c.is_ascii_digit() {
            B_DIGIT
        } else if c.is_ascii_lowercase() {
            B_LOWER
        } else {
            B_OTHER
        };
        b += 1;
    }
    t
};

/// [`push_word`] for an ASCII word, given the OR of its byte classes (from the scan that
/// found it). Always inlined: the scan calls it once per word, and the fat-LTO build stopped
/// inlining it once the scan had a second caller (`word_tokens_lead`); the call cost ~2,000
/// instructions on the bench article (`examples/fp_stages.rs`).
#[inline(always)]
fn push_ascii_word(
    w: &[u8],
    classes: u8,
    table: &WordTable,
    out: &mut impl Sink,
    numbers: &mut u64,
) {
    let mut a = 0;
    let mut b = w.len();
    // all lowercase letters once the punctuation at the ends is trimmed
    let mut lower = classes & (B_DIGIT | B_OTHER) == 0;
    if classes & B_PUNCT != 0 {
        while a < b && BYTE_CLASS[usize::from(w[a])] == B_PUNCT {
            a += 1;
        }
        while b > a && BYTE_CLASS[usize::from(w[b - 1])] == B_PUNCT {
            b -= 1;
        }
        if a == b {
            return;
        }
        lower = lower
            && !w[a..b]
                .iter()
                .any(|&c| BYTE_CLASS[usize::from(c)] == B_PUNCT);
    }
    let core = &w[a..b];
    let h = xxh3_64(core);
    // A listed word is all lowercase, so only a lowercase word can be found; stop words
    // have 3 to 7 letters, number words 3 to 9 ("seventeen").
    let special = if classes & B_DIGIT == 0 && (3..=9).contains(&core.len()) {
        table.get(h, core)
    } else {
        None
    };
    if lower {
        if let Some(e) = special {
            *numbers |= e.number;
        }
    } else {
        number_mask_bytes(w, numbers);
    }
    let f = if classes & B_DIGIT != 0 {
        DIGIT
    } else if core.len() <= 2 || special.is_some_and(|e| e.stop) {
        WEAK
    } else {
        0
    };
    out.put(h, f);
}

/// Appends the token hashes (and [`WEAK`]/[`DIGIT`] flags) of the
/// space-separated words of `s`, and adds the figures of `s` to `numbers`
/// exactly as [`number_mask`] would; returns the number of tokens added.
/// Leading/trailing ASCII punctuation is trimmed off each word.  Splits on
/// ASCII whitespace with a byte scan (one table lookup per byte); words
/// containing non-ASCII bytes are further split on Unicode whitespace
/// (normalised input rarely has any).
pub fn word_tokens(
    s: &str,
    hashes: &mut Vec<u64>,
    flags: &mut Vec<u8>,
    numbers: &mut u64,
) -> usize {
    tokenize(s, &mut Split(hashes, flags), numbers)
}

/// [`word_tokens`] with each token's hash and flags side by side in one vector (one push per
/// word instead of two; the fingerprint's shingle loops read both together).
pub fn word_tokens_paired(s: &str, out: &mut Vec<(u64, u8)>, numbers: &mut u64) -> usize {
    tokenize(s, out, numbers)
}

/// Where [`word_tokens_lead`] stopped: after the first `words` words of a text, as
/// `str::split_whitespace` counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lead {
    /// Tokens those words made.
    pub tokens: usize,
    /// The number mask (see [`number_mask`]) once those words were added to it.
    pub numbers: u64,
    /// Byte offset of what follows them: the next word, or the next part of a word that only
    /// Unicode spaces split (a char boundary), or the text's end.
    pub end: usize,
}

/// [`word_tokens_paired`] that also tells where the first `words` words end (see [`Lead`]);
/// the tokens and number mask are the same as [`word_tokens_paired`]'s. `None` when the text
/// holds an ASCII vertical tab before that point: `split_whitespace` splits words on it and
/// the scan does not, so the two would count words differently.
pub fn word_tokens_lead(
    s: &str,
    out: &mut Vec<(u64, u8)>,
    numbers: &mut u64,
    words: usize,
) -> (usize, Option<Lead>) {
    let before = out.len();
    // the lead's words counted, then the rest of the text without the count
    let (lead, at) = scan::<true>(s, 0, words, out, numbers);
    scan::<false>(s, at, 0, out, numbers);
    let lead = lead
        .filter(|l| memchr::memchr(0x0b, &s.as_bytes()[..l.end]).is_none())
        .map(|l| Lead {
            tokens: l.tokens - before,
            ..l
        });
    (out.len() - before, lead)
}

/// The scan of [`word_tokens`].
#[inline]
fn tokenize(s: &str, out: &mut impl Sink, numbers: &mut u64) -> usize {
    let before = out.count();
    scan::<false>(s, 0, 0, out, numbers);
    out.count() - before
}

/// Scans `s` from byte `from` (the start of a word or of whitespace) and adds its tokens to
/// `out`; returns where it stopped. Without `COUNT`, that is the end of `s`. With `COUNT`, it
/// stops once the first `lead_words` words are behind it, counting words as
/// `str::split_whitespace` does (but for the ASCII vertical tab, which only it takes for a
/// space), and also returns where they end: `out`'s length and the number mask then, and the
/// byte offset of the next word or part of a word (`None` if `s` has fewer words). It stops at
/// the start of the next word, or after the word in which the lead ends: the rest of a word
/// is split on Unicode spaces as the whole word is.
#[inline(always)]
fn scan<const COUNT: bool>(
    s: &str,
    from: usize,
    lead_words: usize,
    out: &mut impl Sink,
    numbers: &mut u64,
) -> (Option<Lead>, usize) {
    let table = &*WORDS;
    let b = s.as_bytes();
    let mut words = 0;
    let mut i = from;
    while i < b.len() {
        if BYTE_CLASS[usize::from(b[i])] == B_SPACE {
            i += 1;
            continue;
        }
        if COUNT && words == lead_words {
            let lead = Lead {
                tokens: out.count(),
                numbers: *numbers,
                end: i,
            };
            return (Some(lead), i);
        }
        let start = i;
        let mut classes = 0u8;
        while i < b.len() {
            let c = BYTE_CLASS[usize::from(b[i])];
            if c == B_SPACE {
                break;
            }
            classes |= c;
            i += 1;
        }
        let w = &b[start..i];
        if classes & B_HIGH == 0 {
            push_ascii_word(w, classes, table, out, numbers);
            words += 1;
        } else if let Some(ws) = s.get(start..i) {
            let mut lead = None;
            for part in ws.split(char::is_whitespace) {
                if !part.is_empty() {
                    if COUNT && words == lead_words && lead.is_none() {
                        // the lead ends inside this word, before this part
                        lead = Some(Lead {
                            tokens: out.count(),
                            numbers: *numbers,
                            end: part.as_ptr() as usize - s.as_ptr() as usize,
                        });
                    }
                    push_word(part.as_bytes(), out, numbers);
                    words += 1;
                }
            }
            if COUNT && lead.is_some() {
                return (lead, i);
            }
        }
    }
    let lead = (COUNT && words == lead_words).then(|| Lead {
        tokens: out.count(),
        numbers: *numbers,
        end: b.len(),
    });
    (lead, b.len())
}

/// Appends one hash (and flag) per non-space, non-punctuation character of
/// `s`; returns the number of tokens added.
pub fn char_tokens(s: &str, hashes: &mut Vec<u64>, flags: &mut Vec<u8>) -> usize {
    chars_into(s, &mut Split(hashes, flags))
}

/// [`char_tokens`] with hash and flags side by side (see [`word_tokens_paired`]).
pub fn char_tokens_paired(s: &str, out: &mut Vec<(u64, u8)>) -> usize {
    chars_into(s, out)
}

fn chars_into(s: &str, out: &mut impl Sink) -> usize {
    let before = out.count();
    for c in s.chars() {
        if c.is_whitespace() || c.is_ascii_punctuation() {
            continue;
        }
        out.put(
            fmix64(c as u64 ^ SALT_CHR),
            if c.is_ascii_digit() { DIGIT } else { 0 },
        );
    }
    out.count() - before
}

/// 64-bit mask with one bit per distinct number in `s`: a maximal run of ASCII digits
/// (`.`/`,` allowed between digits), or a spelled-out number word from one to twelve (and
/// twenty to fifty), counted as its digits, so "two billion" and "2 billion" agree and
/// "four cts" differs from "10 cts". Used to veto folding of template stories that differ
/// only in their figures.
pub fn number_mask(s: &str, mask: &mut u64) {
    number_mask_bytes(s.as_bytes(), mask);
}

/// A tens word at `b[start..end]` joined by a hyphen to a unit word ("sixty-five"): its
/// digits ("65") and where the unit word ends.
fn compound_number(b: &[u8], start: usize, end: usize) -> Option<([u8; 2], usize)> {
    let tens = super::words::number_word_digits(&b[start..end])?;
    if tens.len() != 2 || tens[0] < b'2' || tens[1] != b'0' || b.get(end) != Some(&b'-') {
        return None;
    }
    let unit_start = end + 1;
    let unit_end = b[unit_start..]
        .iter()
        .position(|c| !c.is_ascii_lowercase())
        .map_or(b.len(), |p| unit_start + p);
    if b.get(unit_end).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    match super::words::number_word_digits(&b[unit_start..unit_end])? {
        [d] if *d != b'0' => Some(([tens[0], *d], unit_end)),
        _ => None,
    }
}

fn number_mask_bytes(b: &[u8], mask: &mut u64) {
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            let mut j = i + 1;
            while j < b.len() {
                if b[j].is_ascii_digit()
                    || ((b[j] == b'.' || b[j] == b',')
                        && j + 1 < b.len()
                        && b[j + 1].is_ascii_digit())
                {
                    j += 1;
                } else {
                    break;
                }
            }
            let h = xxh3_64(&b[start..j]);
            *mask |= 1u64 << (h & 63);
            i = j;
        } else if b[i].is_ascii_lowercase() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_lowercase() {
                j += 1;
            }
            let end_ok = j == b.len() || !b[j].is_ascii_alphanumeric();
            if end_ok {
                // "sixty-five" is 65, as a copy in figures writes it
                if let Some((n, end)) = compound_number(b, start, j) {
                    *mask |= 1u64 << (xxh3_64(&n) & 63);
                    i = end;
                    continue;
                }
                *mask |= number_word_bit(&b[start..j]);
            }
            i = j;
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
#[path = "shingle_tests.rs"]
mod tests;
