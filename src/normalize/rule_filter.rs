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
pub(super) type MayMatch = fn(&str) -> bool;

/// The test of a built-in rule, by name.
pub(super) fn for_builtin(name: &str) -> Option<MayMatch> {
    Some(match name {
        // `CITY`: an uppercase letter, then an uppercase letter, mark, `'`, `’`, `.`, `-`.
        "dateline-city-date" | "dateline-city-agency" | "dateline-city-dash" => city_start,
        "dateline-agency" | "reporting-by-parenthesised" => |s| first_in(s, b"("),
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
        "subscribe" | "sign-up" => |s| first_in(s, b"sS"),
        "click-here" => |s| first_in(s, b"cC"),
        "agency-signoff" => |s| first_in(s, b"-(RAXTdUB"),
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
        _ => return None,
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
        let test = |name: &str, s: &str| for_builtin(name).map(|f| f(s));
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
                        test(&text) || !rule.is_match(&text),
                        "{} matches {:?} but its test says no", rule.name, text
                    );
                }
            }
        }
    }
}
