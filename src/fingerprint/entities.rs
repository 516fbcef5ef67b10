//! Entity mask: one bit (of 64) per distinct capitalised word of an article's lead.
//!
//! Template stories share their wording and differ in *who*: "Mercantile Bancorp said it
//! raised its prime rate to 7-3/4 pct" / "Comerica Inc said it raised its prime rate to 7-3/4
//! pct", "Azerbaijan and the Shanghai Cooperation Organization discussed …" / "… the
//! Association of Southeast Asian Nations discussed …". Shingle resemblance cannot tell them
//! apart (one or two names in forty words) and the number guard sees figures only. The
//! capitalised words of the lead are mostly names (people, companies, places, organisations),
//! so the index compares these masks like the number mask: a copy keeps the names of its
//! original (trimming and dropped words remove some, they do not bring new ones).
//!
//! What counts: in the lead — the first whole paragraphs of the fingerprint-cleaned body until
//! [`LEAD_MIN_WORDS`] words, at most [`LEAD_MAX_WORDS`] (datelines, bylines and boilerplate
//! already removed, so "LONDON, March 3 (Reuters) -" adds nothing) — a
//! word that starts with an uppercase letter, has no digit (figures are the number mask's) and
//! is not a weak word once lowercased ("The", "In", "It": see
//! [`super::shingle::is_weak`]) nor a month or weekday name (left-overs of datelines, "on
//! Tuesday"; dates are figures for the number guard). A paragraph written mostly in capitals (an all-caps or
//! title-case line) gives no entities: every word of it would look like a name. The word is
//! hashed lowercased, so "SCO" and "Sco" agree. An empty mask means "no information" (title-only
//! items, caseless scripts): the index then skips the check.

use xxhash_rust::xxh3::xxh3_64;

use super::shingle::{fmix64, is_weak};

/// The lead is the first whole paragraphs of the cleaned body up to at least this many words…
pub const LEAD_MIN_WORDS: usize = 30;
/// …and at most this many (a long first paragraph is cut here).
pub const LEAD_MAX_WORDS: usize = 80;

/// Share of capitalised words above which a paragraph is treated as a headline-style line…
const CAPS_LINE: f32 = 0.6;
/// …unless it is a sentence (it ends as one), which takes this share: wire copy names its
/// people with their titles ("The meeting brought together Azerbaijani Minister of Digital
/// Development and Transport Rashad Nabiyev and …", 13 capitalised words of 20), and the
/// template twin about another partner differs there.
const CAPS_SENTENCE: f32 = 0.85;

/// Does the paragraph end as a sentence does (`.`, `!`, `?`, or a closing quote)? Headline-
/// style lines (`Azerbaijan, Sco Discuss Expanding Co-Op`) end without.
fn is_sentence(para: &str) -> bool {
    para.trim_end()
        .ends_with(['.', '!', '?', '"', '”', '’', '»'])
}

const SALT: u64 = 0x7fb5_d329_728e_a185;

fn trim_word(w: &str) -> &str {
    // A word's last letter may carry combining marks (`José` decomposed): they stay.
    w.trim_start_matches(|c: char| !c.is_alphanumeric())
        .trim_end_matches(|c: char| {
            !c.is_alphanumeric() && !unicode_normalization::char::is_combining_mark(c)
        })
}

/// ASCII whitespace as `char::is_whitespace` sees it: `9..=13` (with the vertical tab) and
/// the space.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// `u8::is_ascii_alphanumeric`, as a table for the trimming loops.
const ALNUM: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    t
};

/// `s.split_whitespace().map(trim_word).filter(non-empty)` for ASCII `s`, by bytes: the
/// whitespace of `char::is_whitespace` and the alphanumerics of `char::is_alphanumeric` are,
/// within ASCII, the bytes tested here.
fn ascii_words(s: &str) -> impl Iterator<Item = &str> {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || loop {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        let start = i;
        while i < b.len() && !is_space(b[i]) {
            i += 1;
        }
        let (mut lo, mut hi) = (start, i);
        while lo < hi && !ALNUM[usize::from(b[lo])] {
            lo += 1;
        }
        while hi > lo && !ALNUM[usize::from(b[hi - 1])] {
            hi -= 1;
        }
        if lo < hi {
            return s.get(lo..hi);
        }
    })
}

/// Month and weekday names: dates are the number guard's business, and datelines and
/// "on Tuesday" vary between copies.
fn is_calendar_word(w: &str) -> bool {
    matches!(
        w,
        "january"
            | "february"
            | "march"
            | "april"
            | "may"
            | "june"
            | "july"
            | "august"
            | "september"
            | "october"
            | "november"
            | "december"
            | "jan"
            | "feb"
            | "mar"
            | "apr"
            | "jun"
            | "jul"
            | "aug"
            | "sep"
            | "sept"
            | "oct"
            | "nov"
            | "dec"
            | "monday"
            | "tuesday"
            | "wednesday"
            | "thursday"
            | "friday"
            | "saturday"
            | "sunday"
    )
}

/// Accumulates the mask over the paragraphs of a body, in order.
#[derive(Debug, Default, Clone, Copy)]
pub struct EntityMask {
    mask: u64,
    words: usize,
}

impl EntityMask {
    /// An empty mask.
    pub fn new() -> Self {
        Self::default()
    }

    /// True once the lead is complete (at least [`LEAD_MIN_WORDS`] words seen): later
    /// paragraphs add nothing.
    pub fn full(&self) -> bool {
        self.words >= LEAD_MIN_WORDS
    }

    /// Adds the names among the next words of the lead (a cased, cleaned paragraph).
    pub fn add_paragraph(&mut self, para: &str) {
        if self.full() {
            return;
        }
        let room = LEAD_MAX_WORDS - self.words.min(LEAD_MAX_WORDS);
        let sentence = is_sentence(para);
        if para.is_ascii() {
            self.add_words(ascii_words(para).take(room), sentence);
        } else {
            self.add_words(
                para.split_whitespace()
                    .map(trim_word)
                    .filter(|w| !w.is_empty())
                    .take(room),
                sentence,
            );
        }
    }

    /// Adds the names among `words` (the next words of the lead, one paragraph's), unless
    /// the line is mostly capitalised words and not a `sentence` (a headline-style line
    /// gives none). One pass: the names are hashed as the words go by and kept only once the
    /// count says the line is not such a line (no list of the words is built).
    fn add_words<'a>(&mut self, words: impl Iterator<Item = &'a str>, sentence: bool) {
        let mut n = 0usize;
        let mut caps = 0usize;
        let mut names = 0u64;
        let mut ascii_lower = String::new();
        for w in words {
            n += 1;
            if !w.chars().next().is_some_and(char::is_uppercase) {
                continue;
            }
            caps += 1;
            if w.bytes().any(|c| c.is_ascii_digit()) {
                continue;
            }
            let owned;
            let lower: &str = if w.is_ascii() {
                ascii_lower.clear();
                ascii_lower.push_str(w);
                ascii_lower.make_ascii_lowercase();
                &ascii_lower
            } else {
                // Folded as the fingerprint text is (NFKC, lower case, one apostrophe): a
                // copy that writes `O’Brien`, `Seán` decomposed or `Ｔｏｋｙｏ` names the same
                // people and places.
                owned = crate::normalize::fingerprint_text(w);
                &owned
            };
            if is_weak(lower) || is_calendar_word(lower) {
                continue;
            }
            names |= 1u64 << (fmix64(xxh3_64(lower.as_bytes()) ^ SALT) & 63);
        }
        self.words += n;
        let share = caps as f32 / n.max(1) as f32;
        if n >= 4 && share > CAPS_LINE && (!sentence || share > CAPS_SENTENCE) {
            return;
        }
        self.mask |= names;
    }

    /// The mask.
    pub fn finish(self) -> u64 {
        self.mask
    }
}

/// The entity mask of a body given as cased, cleaned paragraphs.
pub fn entity_mask<'a>(paragraphs: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut m = EntityMask::new();
    for p in paragraphs {
        if m.full() {
            break;
        }
        m.add_paragraph(p);
    }
    m.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    proptest! {
        /// The byte scan splits as `split_whitespace` + `trim_word`.
        #[test]
        fn ascii_words_match_split_whitespace(s in "[a-zA-Z0-9 .,'()\t\n\u{b}\u{c}\r-]{0,80}") {
            let reference: Vec<&str> =
                s.split_whitespace().map(trim_word).filter(|w| !w.is_empty()).collect();
            prop_assert_eq!(ascii_words(&s).collect::<Vec<_>>(), reference);
        }
    }

    #[test]
    fn a_name_is_the_same_name_however_its_letters_are_written() {
        let lead = "Seán O’Brien met Tokyo officials and Ireland’s envoy José Müller on Monday.";
        let straight = lead.replace('’', "'");
        let decomposed: String = lead.nfd().collect();
        let wide = lead.replace("Tokyo", "Ｔｏｋｙｏ");
        let m = entity_mask([lead]);
        assert!(m.count_ones() >= 5, "{m:064b}");
        for other in [&straight, &decomposed, &wide] {
            assert_eq!(entity_mask([other.as_str()]), m, "{other}");
        }
        assert_ne!(entity_mask([lead.replace("Tokyo", "Kyoto").as_str()]), m);
    }

    #[test]
    fn names_count_function_words_and_figures_do_not() {
        let a = entity_mask(["The board of Comerica Inc said it raised its prime rate to 7 pct."]);
        let b = entity_mask(["Comerica Inc said on Monday it raised its prime rate."]);
        assert_eq!(a.count_ones(), 2, "{a:064b}");
        assert_eq!(a & b, a);
    }

    #[test]
    fn capitalised_lines_give_nothing() {
        assert_eq!(entity_mask(["MERCANTILE BANK RAISES PRIME RATE TODAY"]), 0);
        assert_eq!(entity_mask(["Azerbaijan, Sco Discuss Expanding Co-Op"]), 0);
    }

    #[test]
    fn only_the_lead_counts() {
        let filler = "word ".repeat(LEAD_MIN_WORDS);
        assert_eq!(entity_mask([filler.as_str(), "Later Names Here"]), 0);
    }

    #[test]
    fn case_does_not_matter_for_the_bit() {
        assert_eq!(
            entity_mask(["talks with the SCO today"]),
            entity_mask(["talks with the Sco today"])
        );
    }
}
