//! Cheap "may this built-in rule match?" tests, run before the rule's regex.
//!
//! Most paragraphs match no boilerplate rule, and a failing regex call still costs a few
//! hundred instructions of set-up on a short haystack. Each test here reads a byte or two, or
//! scans for a literal the rule's pattern cannot match without; it answers `false` only when
//! the regex cannot match, so the cleaned text is exactly what the regexes alone give. Tests
//! are attached by name to the built-in rules only ([`super::boilerplate::builtin_rules`]);
//! operator rules always run their regex.
//!
//! Case-insensitive letters: under `(?i)` the regex crate also folds `ſ` (U+017F) to `s`
//! and `K` (U+212A) to `k`; any non-ASCII first byte passes every first-byte test, and the
//! literals scanned for avoid `s` and `k`.

/// A "may match" test of one rule, on the text the rule's regex is run on.
#[derive(Debug, Clone, Copy)]
pub(super) enum MayMatch {
    /// A test of the text alone.
    Text(fn(&str) -> bool),
    /// A test of the text and its `,\s+` ([`Commas`]): the rules tested this way on one
    /// paragraph (the two attribution rules) share one scan for the commas.
    Commas(fn(&[u8], &Commas) -> bool),
}

impl MayMatch {
    /// May the rule's regex match `s`?
    pub(super) fn test(&self, s: &str) -> bool {
        self.test_with(s, &mut None)
    }

    /// [`MayMatch::test`] with the comma scan of `s` kept in `commas` (which must be `None`
    /// or the scan of this very `s`).
    pub(super) fn test_with(&self, s: &str, commas: &mut Option<Commas>) -> bool {
        match *self {
            MayMatch::Text(f) => f(s),
            MayMatch::Commas(f) => {
                let b = s.as_bytes();
                f(b, commas.get_or_insert_with(|| Commas::scan(b)))
            }
        }
    }
}

/// The test of a built-in rule, by name.
pub(super) fn for_builtin(name: &str) -> Option<MayMatch> {
    Some(MayMatch::Text(match name {
        // `CITY`: an uppercase letter, then an uppercase letter, mark, `'`, `’`, `.`, `-`.
        "dateline-city-date" | "dateline-city-agency" | "dateline-city-dash" => city_start,
        "dateline-agency" | "reporting-by-parenthesised" => |s| first_in(s, b"("),
        // `PLACE` (an uppercase letter first), and the agency's parenthesis.
        "dateline-place-agency" => |s| {
            s.as_bytes()
                .first()
                .is_some_and(|b| !b.is_ascii() || b.is_ascii_uppercase())
                && memchr::memchr(b'(', s.as_bytes()).is_some()
        },
        "editors-note" => |s| first_in(s, b"eE"),
        // `\p{Han}` / `\p{Thai}` first.
        "dateline-cjk" | "dateline-thai" => |s| s.as_bytes().first().is_none_or(|b| !b.is_ascii()),
        // The time (`\d{1,2}:\d{2}`) is not optional.
        "section-date-time" => |s| memchr::memchr(b':', s.as_bytes()).is_some(),
        "updated-line" => |s| first_in(s, b"uUpPlLfF"),
        "byline-by" => |s| first_in(s, b"B"),
        "name-line" => |s| first_in(s, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        "reporting-by" => |s| first_in(s, b"aArRwW"),
        "follow-us" => |s| first_in(s, b"fFjJ"),
        "read-more" => |s| first_in(s, b"rRsSaAmM"),
        "copyright" => |s| first_in(s, b"cC("),
        "all-rights-reserved" => |s| contains_ignore_ascii_case(s.as_bytes(), b"ght"),
        "photo-caption" => |s| first_in(s, b"PIFV"),
        "subscribe" => |s| first_in(s, b"sS"),
        "sign-up" => |s| first_in(s, b"sSlL"),
        // "click here" may end a clause: its second word, anywhere.
        "click-here" => |s| contains_ignore_ascii_case(s.as_bytes(), b"here"),
        "agency-signoff" => |s| first_in(s, b"-(RAXTdUB"),
        // `{date_dm}`: a month's letter or a day's digit.
        "dateline-date-agency" => |s| first_in(s, b"JFMASONDjfmasond0123456789"),
        "contributed" => |s| first_in(s, b"TARBX"),
        "with-assistance" => |s| first_in(s, b"-mM"),
        "first-published" => |s| first_in(s, b"tT"),
        "coverage-footer" => {
            |s| contains_ignore_ascii_case(s.as_bytes(), b"olely") || first_in(s, b"FMS")
        }
        "trust-principles" => |s| first_in(s, b"oO"),
        "advertisement" => |s| first_in(s, b"aAsScC"),
        "desk-initials" => |s| s.as_bytes().first().is_some_and(u8::is_ascii_lowercase),
        "enditem" => |s| contains_ignore_ascii_case(s.as_bytes(), b"enditem"),
        "dateline-agency-city-date" => |s| first_in(s, b"("),
        "dateline-city-date-slashed" => |s| {
            s.as_bytes()
                .first()
                .is_none_or(|b| !b.is_ascii() || b.is_ascii_uppercase())
                && memchr::memchr(b',', s.as_bytes()).is_some()
        },
        "dateline-cjk-agency" => |s| {
            s.as_bytes()
                .first()
                .is_none_or(|b| !b.is_ascii() || *b == b'(')
        },
        "updated-line-intl" => |s| {
            memchr::memchr(b':', s.as_bytes()).is_some()
                || memchr::memchr(b'h', s.as_bytes()).is_some()
        },
        "source-line" => |s| memchr::memchr(b':', s.as_bytes()).is_some() || !s.is_ascii(),
        "cjk-signoff" => |s| {
            s.as_bytes()
                .first()
                .is_none_or(|b| !b.is_ascii() || *b == b'(' || *b == b'[')
        },
        // `(?i:appeared first on)`: found from its `p` (rarer than `a` in prose).
        "post-appeared-first" => |s| {
            let b = s.as_bytes();
            memchr::memchr2_iter(b'p', b'P', b).any(|i| {
                i > 0
                    && b.get(i - 1..i + 7)
                        .is_some_and(|w| w.eq_ignore_ascii_case(b"appeared"))
            })
        },
        // The three openings start with capitals, rare in prose: one scan for both.
        "continue-reading" => |s| {
            let b = s.as_bytes();
            memchr::memchr2_iter(b'C', b'R', b).any(|i| {
                let w = &b[i..];
                w.starts_with(b"Continue reading")
                    || w.starts_with(b"CONTINUE READING")
                    || w.starts_with(b"Read ")
            })
        },
        "image-credit" => |s| memchr::memchr(b'(', s.as_bytes()).is_some(),
        "attribution-according-to" => return Some(MayMatch::Commas(according_to)),
        "attribution-reports" => return Some(MayMatch::Commas(reports)),
        _ => return None,
    }))
}

/// `\s` on one byte: ASCII white space (with the vertical tab), or any non-ASCII byte, which
/// may be part of a Unicode space.  The second is `true` for a non-ASCII byte.
fn space(b: u8) -> (bool, bool) {
    (
        matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') || b >= 0x80,
        b >= 0x80,
    )
}

/// The positions right after each `,\s+` of a text, each with a flag saying the spaces held a
/// non-ASCII byte (the test cannot tell what follows then, and must say yes). A text with
/// more than [`Commas::MAX`] of them is marked `overflow`, and every test says yes.
#[derive(Debug, Clone)]
pub(super) struct Commas {
    after: [u32; Commas::MAX],
    /// Bit `k`: the spaces of entry `k` held a non-ASCII byte.
    wide: u16,
    len: u8,
    overflow: bool,
}

impl Commas {
    /// The most positions kept; paragraphs rarely have more commas.
    const MAX: usize = 16;

    fn scan(b: &[u8]) -> Commas {
        let mut c = Commas {
            after: [0; Commas::MAX],
            wide: 0,
            len: 0,
            overflow: false,
        };
        for i in memchr::memchr_iter(b',', b) {
            let mut j = i + 1;
            let mut wide = false;
            while let Some(&x) = b.get(j) {
                let (is_space, non_ascii) = space(x);
                if !is_space {
                    break;
                }
                wide |= non_ascii;
                j += 1;
            }
            if j == i + 1 {
                continue;
            }
            let k = usize::from(c.len);
            match (c.after.get_mut(k), u32::try_from(j)) {
                (Some(slot), Ok(j)) => {
                    *slot = j;
                    c.wide |= u16::from(wide) << k;
                    c.len += 1;
                }
                _ => {
                    c.overflow = true;
                    break;
                }
            }
        }
        c
    }

    /// Does `f` hold for one of the positions (with its wide flag)? Always true after an
    /// overflow.
    fn any(&self, mut f: impl FnMut(usize, bool) -> bool) -> bool {
        self.overflow
            || self.after[..usize::from(self.len)]
                .iter()
                .enumerate()
                .any(|(k, &j)| f(j as usize, self.wide >> k & 1 != 0))
    }
}

/// `attribution-according-to`: `,\s+according` (the word is case-sensitive).
fn according_to(b: &[u8], commas: &Commas) -> bool {
    commas.any(|j, wide| wide || b[j..].starts_with(b"according"))
}

/// `attribution-reports`: after a `,\s+`, a subject of at most four names (after an optional
/// `the`) or one of three lower-case phrases of at most three words, then `\s+` and one of
/// the (case-sensitive) verbs.  Said no when no `,\s+` is followed by a capital, a non-ASCII
/// byte or `t`/`l`/`s` (any case), or when none of the second to sixth words starts with a verb.
fn reports(b: &[u8], commas: &Commas) -> bool {
    commas.any(|mut j, wide| {
        let Some(&first) = b.get(j) else {
            return false;
        };
        if wide || first >= 0x80 {
            return true;
        }
        if !first.is_ascii_uppercase() && !matches!(first, b't' | b'l' | b's') {
            return false;
        }
        // the verb is at most the sixth word: `the` and four names
        for _ in 0..5 {
            // a word, then the spaces after it
            while let Some(&c) = b.get(j) {
                let (is_space, non_ascii) = space(c);
                if is_space || c >= 0x80 {
                    if non_ascii {
                        return true;
                    }
                    break;
                }
                j += 1;
            }
            let word_end = j;
            while let Some(&c) = b.get(j) {
                if c >= 0x80 {
                    return true;
                }
                if !space(c).0 {
                    break;
                }
                j += 1;
            }
            if j == word_end || j == b.len() {
                return false;
            }
            let w = &b[j..];
            if w.starts_with(b"report") || w.starts_with(b"informs") || w.starts_with(b"writes") {
                return true;
            }
        }
        false
    })
}

/// Is the first byte of `s` one of `set`? A non-ASCII first byte (or an empty `s`) may be
/// anything: true.
fn first_in(s: &str, set: &[u8]) -> bool {
    match s.as_bytes().first() {
        Some(b) if b.is_ascii() => set.contains(b),
        _ => true,
    }
}

/// `CITY` start: false when the first char is ASCII but not uppercase, or the second is ASCII
/// but none of `A-Z`, `'`, `.`, `-`.
fn city_start(s: &str) -> bool {
    let mut cs = s.chars();
    if cs
        .next()
        .is_some_and(|c| c.is_ascii() && !c.is_ascii_uppercase())
    {
        return false;
    }
    cs.next()
        .is_none_or(|c| !c.is_ascii() || c.is_ascii_uppercase() || matches!(c, '\'' | '.' | '-'))
}

/// Does `h` contain `n` (non-empty, lowercase ASCII), ignoring ASCII case?
fn contains_ignore_ascii_case(h: &[u8], n: &[u8]) -> bool {
    let Some(&first) = n.first() else {
        return true;
    };
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), h).any(|i| {
        h.get(i..i + n.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_test_names_a_builtin_rule() {
        let names: Vec<String> = super::super::boilerplate::builtin_rules()
            .into_iter()
            .map(|r| r.name)
            .collect();
        for n in [
            "dateline-city-date",
            "dateline-agency",
            "section-date-time",
            "name-line",
            "continue-reading",
            "agency-signoff",
        ] {
            assert!(names.iter().any(|m| m == n), "{n}");
            assert!(for_builtin(n).is_some(), "{n}");
        }
    }

    #[test]
    fn literal_scans() {
        let test = |name: &str, s: &str| for_builtin(name).map(|f| f.test(s));
        assert_eq!(
            test("post-appeared-first", "X APPEARED first on Y"),
            Some(true)
        );
        assert_eq!(test("post-appeared-first", "X appeare"), Some(false));
        assert_eq!(test("continue-reading", "abc Read more"), Some(true));
        assert_eq!(test("continue-reading", "abc Rea"), Some(false));
        assert!(contains_ignore_ascii_case(b"all RIGHTS", b"ght"));
        assert!(!contains_ignore_ascii_case(b"appeare", b"appeared"));
        assert!(city_start("BAKU, April 17"));
        assert!(city_start("O'NEIL"));
        assert!(!city_start("The contract"));
        assert!(!city_start("the"));
        assert!(city_start("Ö"));
    }

    #[test]
    fn many_commas_let_the_regexes_decide() {
        let test = |name: &str, s: &str| for_builtin(name).map(|f| f.test(s));
        let few = "a, b".repeat(Commas::MAX);
        let many = "a, b".repeat(Commas::MAX + 1);
        for name in ["attribution-according-to", "attribution-reports"] {
            assert_eq!(test(name, &few), Some(false), "{name}");
            assert_eq!(test(name, &many), Some(true), "{name}");
        }
    }

    #[test]
    fn attribution_scans() {
        let test = |name: &str, s: &str| for_builtin(name).map(|f| f.test(s));
        for s in [
            "The deal was signed, according to Xinhua.",
            "It rose,\u{a0}according to AP.",
            "It rose,\u{2003}anything",
        ] {
            assert_eq!(test("attribution-according-to", s), Some(true), "{s:?}");
        }
        for s in [
            "It rose, according",
            "It rose,according to AP.",
            "According to AP, it rose",
        ] {
            let want = s.contains(", according");
            assert_eq!(test("attribution-according-to", s), Some(want), "{s:?}");
        }
        for s in [
            "The deal was signed, Trend reports.",
            "The deal was signed, the news agency reported.",
            "The deal was signed, local media informs.",
            "It fell, The Baku Daily News Weekly writes.",
            "It fell, Øresund Post writes.",
        ] {
            assert_eq!(test("attribution-reports", s), Some(true), "{s:?}");
        }
        for s in [
            "It fell, and reports say so.",
            "It fell, Trend said.",
            "It fell, A B C D E F reports.",
            "It fell,Trend reports.",
            "It fell, Trend",
        ] {
            assert_eq!(test("attribution-reports", s), Some(false), "{s:?}");
        }
    }

    /// Pieces of boilerplate and prose; the property below strings them together.
    const PIECES: &[&str] = &[
        "BAKU",
        "NEW YORK",
        "O'NEIL",
        "Reuters",
        "(Reuters)",
        "(AP)",
        ", ",
        " ",
        "- ",
        "— ",
        "-- ",
        ":",
        "(",
        ")",
        "The",
        "the post",
        " appeared first on ",
        "APPEARED",
        "Continue reading",
        "CONTINUE READING",
        "Read the full story",
        "Read more",
        "©",
        "ſ",
        "Ö",
        "Ştefan",
        "12",
        "2024",
        "March 3",
        "10:30",
        "all rights reserved",
        "ALL RIGHTS",
        "Photo: ",
        "By ",
        "BY ",
        "sign up for",
        "Subscribe now",
        "Click here",
        "Follow us on X",
        "join us on ",
        "Updated",
        "published on ",
        "Reporting by ",
        "(Reporting by Jo; Editing by Mo)",
        "additional reporting",
        "writing by",
        "Related",
        "also read",
        "more on this",
        "Copyright",
        "(c) 2020",
        "Image credit",
        "dpa",
        "Trend",
        "AZERTAC",
        "北京",
        "3月5日电",
        "กรุงเทพฯ",
        "15 ม.ค.",
        "Jane Doe",
        ".",
        "…",
        "»",
        "\u{212A}",
        ", according to ",
        "according to",
        ",\u{a0}",
        "\u{b}",
        ", the news agency",
        ", local media ",
        ", state media",
        ", The Agency",
        "Xinhua",
        "Ria Novosti",
        " reports.",
        " reported",
        " informs!",
        " writes",
        " citing officials",
        "report",
        "news\u{17F}",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        /// A test that says "no" is never wrong: the regex does not match either.
        #[test]
        fn a_false_test_means_no_match(parts in proptest::collection::vec(0..PIECES.len(), 1..8)) {
            let text: String = parts.iter().map(|&i| PIECES[i]).collect();
            static RULES: std::sync::OnceLock<Vec<super::super::boilerplate::Rule>> =
                std::sync::OnceLock::new();
            for rule in RULES.get_or_init(super::super::boilerplate::builtin_rules) {
                if let Some(test) = for_builtin(&rule.name) {
                    proptest::prop_assert!(
                        test.test(&text) || !rule.is_match(&text),
                        "{} matches {:?} but its test says no", rule.name, text
                    );
                }
            }
        }
    }
}
