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

/// `word_tokens_lead`'s tokens and mask, and its lead's against the first `n` words of `s`
/// joined by single spaces and tokenized on their own.
fn check_lead(s: &str, n: usize) -> Result<(), TestCaseError> {
    let (mut out, mut numbers) = (Vec::new(), 0);
    let (count, lead) = word_tokens_lead(s, &mut out, &mut numbers, n);
    let (hashes, flags, all_numbers) = tokens(s);
    let paired: Vec<(u64, u8)> = hashes.into_iter().zip(flags).collect();
    prop_assert_eq!(count, out.len());
    prop_assert_eq!(&out, &paired);
    prop_assert_eq!(numbers, all_numbers);
    let words = s.split_whitespace().count();
    match lead {
        // (a vertical tab after the lead leaves it alone: `the_lead_stops_after_its_words`)
        None => prop_assert!(
            words < n || s.contains('\u{b}'),
            "no lead of {n} words in {s:?}"
        ),
        Some(lead) => {
            let joined = s.split_whitespace().take(n).collect::<Vec<_>>().join(" ");
            let (jh, jf, jn) = tokens(&joined);
            let want: Vec<(u64, u8)> = jh.into_iter().zip(jf).collect();
            prop_assert_eq!(&out[..lead.tokens], &want[..]);
            prop_assert_eq!(lead.numbers, jn);
            prop_assert!(s.is_char_boundary(lead.end));
            prop_assert_eq!(s[..lead.end].split_whitespace().count(), n);
        }
    }
    Ok(())
}

#[test]
fn the_lead_stops_after_its_words() {
    let s = "One two, three 4.5 five";
    let (mut out, mut numbers) = (Vec::new(), 0);
    let (count, lead) = word_tokens_lead(s, &mut out, &mut numbers, 3);
    assert_eq!(count, 5);
    let lead = lead.expect("a lead of three words");
    assert_eq!((lead.tokens, &s[..lead.end]), (3, "One two, three "));
    // inside a word that only Unicode spaces split
    let s = "a b\u{a0}c d";
    let lead = word_tokens_lead(s, &mut Vec::new(), &mut 0, 2)
        .1
        .expect("a lead");
    assert_eq!(&s[..lead.end], "a b\u{a0}");
    // a vertical tab before the lead's end: `split_whitespace` counts words the scan does not
    assert_eq!(
        word_tokens_lead("a\u{b}b c d", &mut Vec::new(), &mut 0, 2).1,
        None
    );
    assert!(word_tokens_lead("a b c\u{b}d", &mut Vec::new(), &mut 0, 2)
        .1
        .is_some());
    // The lead ends inside a word whose rest holds a vertical tab: the rest is split as the
    // whole word is (a scan resumed there took "the\u{b}" for one word).
    check_lead("the\u{a0}the\u{b}", 1).expect("the rest of the word split as before");
    check_lead("the the\tthe\tthe the\u{a0}\u{b}", 5).expect("a vertical tab after the lead");
}

proptest! {
    #[test]
    fn the_lead_is_the_first_words_tokenized_on_their_own(
        words in proptest::collection::vec((word(), "[ \n\t\r\u{b}\u{c}\u{a0}]{1,2}"), 0..60),
        n in 0usize..50,
    ) {
        let s: String = words.iter().map(|(w, sep)| format!("{w}{sep}")).collect();
        check_lead(&s, n)?;
    }

    #[test]
    fn the_lead_is_the_first_words_on_any_text(s in ".{0,300}", n in 0usize..50) {
        check_lead(&s, n)?;
    }
}

#[test]
fn a_compound_number_word_is_its_figure() {
    let mask = |s: &str| {
        let mut m = 0;
        number_mask(s, &mut m);
        m
    };
    assert_eq!(mask("sixty-five prisoners"), mask("65 prisoners"));
    assert_eq!(mask("a twenty-one-year-old"), mask("a 21-year-old"));
    assert_ne!(mask("sixty-five"), mask("sixty five"));
    assert_eq!(mask("ten-five"), mask("10 5"));
}
