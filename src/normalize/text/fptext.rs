//! Plain text -> fingerprint text: [`fingerprint_text`] folds NFKC forms, case, quote and
//! dash styles, punctuation and spacing, line by line, with table-driven fast paths for
//! ASCII.

use crate::normalize::swar;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Character classes used by the fingerprint folding.
enum Class {
    /// Part of a word (letters, digits, combining marks, currency/percent).
    Word(char),
    /// Kept only between two word characters (`'`, `-`, `.`, `,`, `:`, `/`, `&`).
    Connector(char),
    /// Removed without separating (joiners, variation selectors, soft hyphen).
    Join,
    /// Everything else: separates words.
    Sep,
}

fn classify(c: char) -> Class {
    if c.is_ascii() {
        return match c {
            'a'..='z' | '0'..='9' | '%' | '$' | '#' | '@' => Class::Word(c),
            'A'..='Z' => Class::Word(c.to_ascii_lowercase()),
            '\'' | '`' => Class::Connector('\''),
            '-' | '.' | ',' | ':' | '/' | '&' => Class::Connector(c),
            _ => Class::Sep,
        };
    }
    match c {
        '\'' | '‘' | '’' | '‛' | '′' | '`' | '´' | 'ʼ' | 'ʻ' | 'ʹ' => {
            Class::Connector('\'')
        }
        '-' | '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' | '⁃' | '﹘' | '﹣' | '－' => {
            Class::Connector('-')
        }
        '.' | ',' | ':' | '/' | '&' => Class::Connector(c),
        // The Arabic decimal and thousands separators (`٥٫٨`, `١٬٠٠٠`).
        '\u{066B}' => Class::Connector('.'),
        '\u{066C}' => Class::Connector(','),
        '%' | '$' | '€' | '£' | '¥' | '₽' | '₺' | '₼' | '₹' | '₩' | '#' | '@' => {
            Class::Word(c)
        }
        // A digit of any script is its ASCII digit: the number checks read those, so `٢٠`
        // against `١١` (or `२०` against `११`) was no figure at all, and daily bulletins in
        // Arabic or Hindi folded whatever their figures; and `20` in one copy matches `٢٠`.
        c if c.is_numeric() => Class::Word(ascii_digit(c).unwrap_or(c)),
        '\u{200C}' | '\u{200D}' | '\u{00AD}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' => Class::Join,
        // Arabic tatweel (a stretched stroke, typography only) and the Arabic letter mark.
        '\u{0640}' | '\u{061C}' => Class::Join,
        // Vowel signs, written in full in some copies and left out in most: Arabic harakat
        // (fatha, kasra, shadda, sukun, tanwin…), the dagger alef and the Quranic marks,
        // Hebrew niqqud and cantillation (not maqaf, paseq or sof pasuq: punctuation).
        '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06DC}'
        | '\u{06DF}'..='\u{06E4}'
        | '\u{06E7}'
        | '\u{06E8}'
        | '\u{06EA}'..='\u{06ED}'
        | '\u{0591}'..='\u{05BD}'
        | '\u{05BF}'
        | '\u{05C1}'
        | '\u{05C2}'
        | '\u{05C4}'
        | '\u{05C5}'
        | '\u{05C7}' => Class::Join,
        // Letters written in their Arabic or their Persian form alike (a Persian copy typed
        // on an Arabic keyboard, an Arabic one with `ى` for a final `ي`), and alef with or
        // without its hamza or madda: one letter each, as search engines fold them.
        '\u{064A}' | '\u{0649}' | '\u{06CC}' => Class::Word('\u{06CC}'),
        '\u{0643}' | '\u{06A9}' => Class::Word('\u{06A9}'),
        '\u{0622}' | '\u{0623}' | '\u{0625}' | '\u{0671}' => Class::Word('\u{0627}'),
        '\u{FE00}'..='\u{FE0F}' => Class::Join,
        c if c.is_alphanumeric() || is_combining_mark(c) => Class::Word(c),
        _ => Class::Sep,
    }
}

/// The first code points of the decimal digit blocks (Unicode category Nd) of the scripts
/// news is written in, each followed by its digits one to nine; fullwidth digits are NFKC's.
const DIGIT_ZEROS: [u32; 24] = [
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0xA9D0, 0xABF0,
];

/// The ASCII digit of a decimal digit of another script.
fn ascii_digit(c: char) -> Option<char> {
    let c = u32::from(c);
    let zero = DIGIT_ZEROS.iter().find(|z| (**z..**z + 10).contains(&c))?;
    char::from_digit(c - zero, 10)
}

/// Fingerprint-normalizes text: NFKC, lowercase (Unicode, locale-free; `İ` -> `i`,
/// final sigma folded), curly quotes/apostrophes -> `'`, every dash -> `-`, punctuation
/// removed except `' - . , : / &` between two word characters, whitespace collapsed.
/// Paragraphs (lines of the input) are kept, separated by `"\n"`; empty ones are dropped.
///
/// Idempotent: `fingerprint_text(&fingerprint_text(x)) == fingerprint_text(x)`.
pub fn fingerprint_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fingerprint_text_into(s, &mut out);
    out
}

/// Appends [`fingerprint_text`]`(s)` to `out` (nothing else: no separator), so that the
/// paragraphs of a body are folded into one buffer.
pub fn fingerprint_text_into(s: &str, out: &mut String) {
    let base = out.len();
    fp_pass_into(s, out);
    let once = &out[base..];
    // Lowercasing can (rarely) produce text that NFKC would change again; settle it.
    if once.is_ascii() || is_nfkc_quick(once.chars()) == IsNormalized::Yes {
        return;
    }
    let mut again = String::with_capacity(once.len());
    fp_pass_into(once, &mut again);
    if again != once {
        let settled = again;
        again = String::with_capacity(settled.len());
        fp_pass_into(&settled, &mut again);
    }
    out.truncate(base);
    out.push_str(&again);
}

/// `s.split('\n')`, with the vectorised byte search of the `memchr` crate (most of our
/// texts are one paragraph without a newline: this is then one fast scan).
pub(in crate::normalize) fn lines(s: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', s.as_bytes())
        .chain(std::iter::once(s.len()))
        .map(move |end| {
            // `\n` is ASCII: both ends are char boundaries
            let line = s.get(start..end).unwrap_or_default();
            start = end + 1;
            line
        })
}

/// Appends the fingerprint form of the lines of `s` to `out`, separated by `"\n"`.
fn fp_pass_into(s: &str, out: &mut String) {
    out.reserve(s.len());
    let base = out.len();
    for line in lines(s) {
        let start = out.len();
        if start > base {
            out.push('\n');
        }
        let body_start = out.len();
        if line.is_ascii() || is_nfkc_quick(line.chars()) == IsNormalized::Yes {
            fp_line_str(line, out, body_start);
        } else {
            fp_line(line.nfkc(), out, body_start);
        }
        if out.len() == body_start {
            out.truncate(start);
        }
    }
}

/// Per-line folding state.
struct FpLine<'a> {
    out: &'a mut String,
    line_start: usize,
    pending_space: bool,
    pending_conn: Option<char>,
    prev_word: bool,
}

impl<'a> FpLine<'a> {
    /// A line that began at `line_start` of `out`, nothing pending.
    fn new(out: &'a mut String, line_start: usize) -> Self {
        FpLine {
            out,
            line_start,
            pending_space: false,
            pending_conn: None,
            prev_word: false,
        }
    }

    /// Before a word character: the pending connector, or the pending space.
    #[inline]
    fn word_prefix(&mut self) {
        if let Some(k) = self.pending_conn.take() {
            self.out.push(k);
        } else if self.pending_space && self.out.len() > self.line_start {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.prev_word = true;
    }

    #[inline]
    fn connector(&mut self, k: char) {
        if self.prev_word && self.pending_conn.is_none() && !self.pending_space {
            self.pending_conn = Some(k);
        } else {
            self.pending_conn = None;
            self.pending_space = true;
        }
        self.prev_word = false;
    }

    #[inline]
    fn sep(&mut self) {
        self.pending_conn = None;
        self.pending_space = true;
        self.prev_word = false;
    }

    /// Lowercases one input char and handles the result.
    fn fold(&mut self, c: char) {
        match c {
            'İ' => self.handle('i'),
            c if c.is_ascii() => self.handle(c.to_ascii_lowercase()),
            c => {
                for l in c.to_lowercase() {
                    self.handle(if l == 'ς' { 'σ' } else { l });
                }
            }
        }
    }

    fn handle(&mut self, l: char) {
        match classify(l) {
            Class::Word(w) => {
                self.word_prefix();
                self.out.push(w);
            }
            Class::Connector(k) => self.connector(k),
            Class::Join => {}
            Class::Sep => self.sep(),
        }
    }
}

/// [`classify`] of an ASCII byte, as a table: a word character (letters are lowercased on
/// output), a connector, a separator; bytes from 0x80 on are the start or continuation of a
/// multi-byte char.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AsciiClass {
    Word,
    Connector,
    Sep,
    NonAscii,
}

const ASCII_CLASS: [AsciiClass; 256] = {
    let mut t = [AsciiClass::Sep; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c >= 0x80 {
            AsciiClass::NonAscii
        } else if c.is_ascii_alphanumeric() || matches!(c, b'%' | b'$' | b'#' | b'@') {
            AsciiClass::Word
        } else if matches!(c, b'\'' | b'`' | b'-' | b'.' | b',' | b':' | b'/' | b'&') {
            AsciiClass::Connector
        } else {
            AsciiClass::Sep
        };
        b += 1;
    }
    t
};

/// `ASCII_CLASS[b] == AsciiClass::Word`, as a plain table for the word-run loop.
const IS_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = matches!(ASCII_CLASS[b], AsciiClass::Word);
        b += 1;
    }
    t
};

/// The byte ranges [`IS_WORD`] accepts: ASCII letters and digits, `#`, `$`, `%` and `@`.
const WORD_RANGES: [(u8, u8); 4] = [(b'#', b'%'), (b'0', b'9'), (b'@', b'Z'), (b'a', b'z')];

/// [`fp_line`] for lines already in NFKC: runs of ASCII word characters are copied (lowercased)
/// at once, other ASCII bytes are classified by table, and only non-ASCII chars go through the
/// per-char path.
fn fp_line_str(line: &str, out: &mut String, line_start: usize) {
    let mut st = FpLine::new(out, line_start);
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match ASCII_CLASS[usize::from(c)] {
            AsciiClass::Word => {
                // A run of words separated by single spaces is copied at once: a space
                // between two word characters folds to itself.
                let start = i;
                i += swar::run_len(&b[start..], &WORD_RANGES, |c| IS_WORD[usize::from(c)]);
                st.word_prefix();
                let at = st.out.len();
                st.out.push_str(&line[start..i]);
                // Lowercase text (most of it) is left as it is.
                st.out[at..].make_ascii_lowercase();
            }
            AsciiClass::Connector => {
                st.connector(if c == b'`' { '\'' } else { char::from(c) });
                i += 1;
            }
            AsciiClass::Sep => {
                st.sep();
                i += 1;
            }
            AsciiClass::NonAscii => {
                let Some(ch) = line[i..].chars().next() else {
                    break;
                };
                i += ch.len_utf8();
                st.fold(ch);
            }
        }
    }
}

/// Appends the fingerprint form of one line to `out`; `line_start` is where the line began.
fn fp_line(chars: impl Iterator<Item = char>, out: &mut String, line_start: usize) {
    let mut st = FpLine::new(out, line_start);
    for c in chars {
        st.fold(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_ranges_are_the_word_table() {
        for start in 0u16..256 {
            let bytes: [u8; 8] = std::array::from_fn(|k| ((start + k as u16 * 61) % 256) as u8);
            let mask = swar::in_ranges(u64::from_le_bytes(bytes), &WORD_RANGES);
            for (k, &c) in bytes.iter().enumerate() {
                assert_eq!(
                    mask >> (8 * k + 7) & 1 == 1,
                    IS_WORD[usize::from(c)],
                    "{c:#x}"
                );
            }
        }
    }

    #[test]
    fn fingerprint_basics() {
        assert_eq!(
            fingerprint_text("“Hello,” she said — it’s the U.S. “Covid‑19” plan!"),
            "hello she said it's the u.s covid-19 plan"
        );
        assert_eq!(
            fingerprint_text("Para one.\n\nPara  two.\n"),
            "para one\npara two"
        );
        assert_eq!(
            fingerprint_text("3.5% of 1,000 at 14:05"),
            "3.5% of 1,000 at 14:05"
        );
        assert_eq!(fingerprint_text("ﬁnancial Ｆｕｌｌ"), "financial full");
        assert_eq!(fingerprint_text("a -- b - c"), "a b c");
        assert_eq!(fingerprint_text("«Quote» „German“"), "quote german");
    }

    #[test]
    fn fingerprint_turkic_cyrillic_arabic() {
        // Azerbaijani: Ə lowercases to ə; ı, ş, ğ survive.
        assert_eq!(fingerprint_text("ƏLİYEV Şəki Ağdam"), "əliyev şəki ağdam");
        // Turkish dotted capital İ becomes plain i, dotless ı stays dotless, no stray marks.
        let t = fingerprint_text("İSTANBUL Işık ılık");
        // Locale-free: capital I folds to i (both copies of a story fold the same way).
        assert_eq!(t, "istanbul işık ılık");
        assert!(!t.contains('\u{307}'));
        assert_eq!(fingerprint_text("Москва — СТОЛИЦА"), "москва столица");
        assert_eq!(fingerprint_text("باكو، أذربيجان"), "باکو اذربیجان");
        // Tatweel stretches a word, the Arabic letter mark steers display: neither is a letter.
        assert_eq!(fingerprint_text("بـــاكو أذربيـجان"), "باکو اذربیجان");
        assert_eq!(fingerprint_text("با\u{61C}كو"), "باکو");
        // Vowel signs are left out, and letters written in Arabic or Persian form alike
        // (yeh, kaf; alef with or without hamza) are one: copies typed either way meet.
        assert_eq!(fingerprint_text("الْحُكُومَةُ"), fingerprint_text("الحكومة"));
        assert_eq!(
            fingerprint_text("كشور ايران"),
            fingerprint_text("کشور ایران")
        );
        assert_eq!(
            fingerprint_text("على أن إلى آخر"),
            fingerprint_text("علی ان الی اخر")
        );
        assert_eq!(
            fingerprint_text("\u{5D4}\u{5B7}\u{5DE}\u{5BC}\u{5B6}\u{5DE}\u{5B0}\u{5E9}\u{5C1}\u{5B8}\u{5DC}\u{5B8}\u{5D4}"),
            "\u{5D4}\u{5DE}\u{5DE}\u{5E9}\u{5DC}\u{5D4}"
        );
        // Hebrew's hyphen (maqaf) still parts words; distinct letters stay apart.
        assert_eq!(fingerprint_text("\u{5D1}\u{5BE}\u{5D2}"), "\u{5D1} \u{5D2}");
        assert_ne!(fingerprint_text("باب"), fingerprint_text("بات"));
        assert_eq!(fingerprint_text("ΟΔΟΣ Σ"), "οδοσ σ");
        // Digits of every script are ASCII digits, with the Arabic separators.
        assert_eq!(
            fingerprint_text("زلزال بقوة ٥٫٨ و١٬٢٠٠ منزل"),
            "زلزال بقوة 5.8 و1,200 منزل"
        );
        assert_eq!(fingerprint_text("२० नए मामले ۱۱ ๑๒"), "20 नए मामले 11 12");
    }

    #[test]
    fn fingerprint_idempotent_examples() {
        for s in [
            "a'.b",
            "x -'y",
            "İ\u{307}",
            "K\u{212A}",
            "' \u{301}",
            "a\u{200D}-b",
            "Σς",
        ] {
            let once = fingerprint_text(s);
            assert_eq!(fingerprint_text(&once), once, "{s:?}");
        }
    }
}
