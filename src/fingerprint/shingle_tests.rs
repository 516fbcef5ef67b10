//! The tokenizer against a plain restatement of what it computes.

use super::super::words::{NUMBER_WORDS, STOP_WORDS, TABLE_SLOTS};
use super::*;
use proptest::prelude::*;

/// [`number_mask`] as first written: number words found in the lists, not the table.
fn reference_numbers(b: &[u8]) -> u64 {
    let word = |w: &[u8]| NUMBER_WORDS.iter().find(|(n, _)| *n == w).map(|&(_, d)| d);
    let mut mask = 0u64;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            let mut j = i + 1;
            while j < b.len()
                && (b[j].is_ascii_digit()
                    || ((b[j] == b'.' || b[j] == b',')
                        && j + 1 < b.len()
                        && b[j + 1].is_ascii_digit()))
            {
                j += 1;
            }
            mask |= 1u64 << (xxh3_64(&b[start..j]) & 63);
            i = j;
        } else if b[i].is_ascii_lowercase() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_lowercase() {
                j += 1;
            }
            if j == b.len() || !b[j].is_ascii_alphanumeric() {
                if let Some(d) = word(&b[start..j]) {
                    mask |= 1u64 << (xxh3_64(d) & 63);
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    mask
}

/// [`word_tokens`] restated: split on ASCII whitespace (words with non-ASCII characters also
/// on Unicode whitespace), trim ASCII punctuation, hash, flag digits and weak words from the
/// lists; the number mask of the whole text.
fn reference(s: &str) -> (Vec<u64>, Vec<u8>, u64) {
    let (mut hashes, mut flags) = (Vec::new(), Vec::new());
    for part in s.split(|c: char| c.is_ascii_whitespace()) {
        let pieces: Vec<&str> = if part.is_ascii() {
            vec![part]
        } else {
            part.split(char::is_whitespace).collect()
        };
        for p in pieces {
            let core = p.trim_matches(|c: char| c.is_ascii_punctuation());
            if core.is_empty() {
                continue;
            }
            let b = core.as_bytes();
            hashes.push(xxh3_64(b));
            let weak = b.len() <= 2
                || (b.len() <= 8 && core.chars().count() <= 2)
                || STOP_WORDS.contains(&b);
            flags.push(if b.iter().any(u8::is_ascii_digit) {
                DIGIT
            } else if weak {
                WEAK
            } else {
                0
            });
        }
    }
    (hashes, flags, reference_numbers(s.as_bytes()))
}

fn tokens(s: &str) -> (Vec<u64>, Vec<u8>, u64) {
    let (mut hashes, mut flags, mut numbers) = (Vec::new(), Vec::new(), 0);
    let n = word_tokens(s, &mut hashes, &mut flags, &mut numbers);
    assert_eq!(n, hashes.len());
    (hashes, flags, numbers)
}

#[test]
fn word_table_holds_exactly_the_lists() {
    assert!(2 * (STOP_WORDS.len() + NUMBER_WORDS.len()) < TABLE_SLOTS);
    for &w in STOP_WORDS {
        assert!((3..=7).contains(&w.len()), "{w:?}");
        assert!(is_stopword(w), "{w:?}");
        assert_eq!(number_word_bit(w), 0, "{w:?}");
    }
    for &(w, d) in NUMBER_WORDS {
        assert!(!is_stopword(w), "{w:?}");
        assert_eq!(number_word_bit(w), 1u64 << (xxh3_64(d) & 63), "{w:?}");
    }
    for w in [
        &b"thee"[..],
        b"sai",
        b"saidx",
        b"The",
        b"one1",
        b"ones",
        b"",
    ] {
        assert!(!is_stopword(w), "{w:?}");
        assert_eq!(number_word_bit(w), 0, "{w:?}");
    }
}

#[test]
fn tokens_of_a_sentence() {
    let s = "the board, which said \"two\" ferries cost 212.5 million (in 2026), won't say.";
    assert_eq!(tokens(s), reference(s));
    let (_, flags, numbers) = tokens(s);
    assert_eq!(flags[0], WEAK); // the
    assert_eq!(flags[1], 0); // board
    assert_eq!(flags[5], 0); // ferries
    assert_eq!(flags[7], DIGIT); // 212.5
    assert_eq!(numbers, reference_numbers(b"two 212.5 2026"));
}

/// Words that exercise every branch: stop and number words, capitals, digits, punctuation at
/// the ends and inside, control characters, non-ASCII letters and spaces.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(STOP_WORDS).prop_map(|w| String::from_utf8_lossy(w).into_owned()),
        proptest::sample::select(NUMBER_WORDS)
            .prop_map(|(w, _)| String::from_utf8_lossy(w).into_owned()),
        "[a-z]{1,9}",
        // across the 16-byte scan window, and longer than it
        "[a-z0-9]{10,20}",
        "[a-zA-Z0-9.,'()\"-]{1,8}",
        "[a-z\u{b}\u{c}\u{1}é\u{a0}\u{2003}ß.-]{1,6}",
    ]
}

proptest! {
    #[test]
    fn word_tokens_match_the_reference(
        words in proptest::collection::vec((word(), "[ \n\t\r\u{b}\u{c}]{1,2}"), 0..40),
    ) {
        let s: String = words.iter().map(|(w, sep)| format!("{w}{sep}")).collect();
        prop_assert_eq!(tokens(&s), reference(&s));
    }

    #[test]
    fn word_tokens_match_the_reference_on_any_text(s in ".{0,200}") {
        prop_assert_eq!(tokens(&s), reference(&s));
    }
}
