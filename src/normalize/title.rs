//! Site names around titles: `Title - Reuters`, `Title | BBC News`, `BBC News - Title`,
//! `Title: AP News`, and wire tags such as `UPDATE 2-Title`.
//!
//! A trailing ` - X` / ` | X` / ` – X` / ` — X` segment is removed when X is a known outlet,
//! or when X is short (at most 4 words) and looks like a name (every word capitalised, or a
//! domain; no figure: a score, a date or a part number tells a headline from its other
//! issues) and at least three words remain; after ` | ` any X of at most 6 words. Known
//! outlets are also removed as prefixes and after `: `.

/// Outlet names (lowercase) removed as prefix or suffix with any separator.
const KNOWN_OUTLETS: &[&str] = &[
    "reuters",
    "ap",
    "ap news",
    "associated press",
    "the associated press",
    "afp",
    "agence france-presse",
    "bbc",
    "bbc news",
    "bbc sport",
    "cnn",
    "cnn.com",
    "the guardian",
    "guardian",
    "al jazeera",
    "al jazeera english",
    "bloomberg",
    "the new york times",
    "nytimes.com",
    "the washington post",
    "fox news",
    "npr",
    "trend",
    "trend.az",
    "azertac",
    "report.az",
    "apa",
    "news.az",
    "turkicworld",
    "tass",
    "xinhua",
    "upi",
    "yahoo news",
    "yahoo finance",
    "msn",
    "sky news",
    "abc news",
    "cbs news",
    "nbc news",
    "the independent",
    "daily mail",
    "daily mail online",
    "mail online",
    "the telegraph",
    "france 24",
    "dw",
    "euronews",
    "anadolu agency",
    "aa",
    "rt",
    "interfax",
    "the straits times",
    "nz herald",
    "rnz",
    "stuff",
    "philstar.com",
    "gma news online",
    "the sydney morning herald",
    "wsj",
    "the wall street journal",
    "los angeles times",
    "la times",
    "politico",
    "axios",
    "the hill",
    "cnbc",
    "financial times",
    "ft",
];

/// Separators between a title and a site name.
const SEPARATORS: &[&str] = &[" | ", " - ", " – ", " — ", " :: ", " · ", " // ", " • "];

/// Wire-tag prefixes (case-sensitive, as agencies write them).
const WIRE_TAGS: &[&str] = &[
    "UPDATE",
    "REFILE",
    "CORRECTED",
    "BREAKING NEWS",
    "BREAKING",
    "EXCLUSIVE",
    "WRAPUP",
    "ANALYSIS",
    "FACTBOX",
    "INSTANT VIEW",
    "RPT",
];

fn is_known(s: &str) -> bool {
    let s = s.trim().trim_end_matches('.');
    if s.is_ascii() {
        // The lowercase of ASCII is its ASCII lowercase: no allocation needed.
        return KNOWN_OUTLETS.iter().any(|k| k.eq_ignore_ascii_case(s));
    }
    let l = s.to_lowercase();
    KNOWN_OUTLETS.contains(&l.as_str())
}

/// Does `h` hold `n` at `i`? Byte by byte: the separators are a few bytes long, a call to
/// `memcmp` per position would cost more than the comparison.
fn sep_at(h: &[u8], i: usize, n: &[u8]) -> bool {
    h.get(i..i + n.len())
        .is_some_and(|w| w.iter().zip(n).all(|(a, b)| a == b))
}

/// The first two bytes of the separators (of [`SEPARATORS`] and `": "`): `(first, second)`,
/// one flag per byte value.
const SEP_BYTES: ([bool; 256], [bool; 256]) = {
    let mut first = [false; 256];
    let mut second = [false; 256];
    let mut k = 0;
    while k <= SEPARATORS.len() {
        let s = if k < SEPARATORS.len() {
            SEPARATORS[k].as_bytes()
        } else {
            b": "
        };
        first[s[0] as usize] = true;
        second[s[1] as usize] = true;
        k += 1;
    }
    (first, second)
};

/// Can a separator start at `i`? Its first two bytes must be those of one: most spaces of a
/// title are followed by a letter, which no separator has second, so the separators are
/// compared one by one only at the few places left.
fn may_sep(h: &[u8], i: usize) -> bool {
    SEP_BYTES.0[usize::from(h[i])] && h.get(i + 1).is_some_and(|&c| SEP_BYTES.1[usize::from(c)])
}

/// `t.find(sep)` for every separator of [`SEPARATORS`] and then `": "` (in that order), in one
/// scan: only where [`may_sep`] says a separator can start are they compared, and a title is
/// scanned once instead of once per separator.
fn first_seps(t: &str) -> [Option<usize>; SEPARATORS.len() + 1] {
    let h = t.as_bytes();
    let mut first = [None; SEPARATORS.len() + 1];
    for i in 0..h.len() {
        if !may_sep(h, i) {
            continue;
        }
        for (slot, sep) in first.iter_mut().zip(SEPARATORS.iter().chain([": "].iter())) {
            if slot.is_none() && sep_at(h, i, sep.as_bytes()) {
                *slot = Some(i);
            }
        }
    }
    first
}

/// The separator (of [`SEPARATORS`] and `": "`) that occurs last in `t`, with its position:
/// the largest `t.rfind(sep)` over all of them (the first in list order on a tie), found in
/// one backward scan.
fn last_sep(t: &str) -> Option<(usize, &'static str)> {
    let h = t.as_bytes();
    (0..h.len()).rev().find_map(|i| {
        if !may_sep(h, i) {
            return None;
        }
        SEPARATORS
            .iter()
            .chain([": "].iter())
            .find(|s| sep_at(h, i, s.as_bytes()))
            .map(|s| (i, *s))
    })
}

/// A domain name (`Example.com`, `news24.com`, `11Alive.com`): a name with a letter, a dot,
/// and a top-level name of letters (`$1.5bn` is none).
fn is_domain(w: &str) -> bool {
    w.rsplit_once('.').is_some_and(|(name, tld)| {
        tld.len() >= 2
            && tld.chars().all(|c| c.is_ascii_alphabetic())
            && name.chars().any(|c| c.is_alphabetic())
    })
}

/// A number standing alone: digits, with `.`, `,`, `/`, `:` or `-` between them (`2`,
/// `2020`, `8/26/06`, `2023/24`, `8,`).
fn is_number(w: &str) -> bool {
    let w = w.trim_end_matches([',', '.', ':', ';']);
    w.starts_with(|c: char| c.is_ascii_digit())
        && w.ends_with(|c: char| c.is_ascii_digit())
        && w.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '/' | ':' | '-'))
}

/// A broadcaster's call sign or network beside a channel number: two to seven capitals
/// (`FOX`, `NBC`, `WSB-TV`), not a month or a time (`MAY 8`, `8 PM ET`).
fn is_call_sign(w: &str) -> bool {
    let letters = w.chars().filter(char::is_ascii_uppercase).count();
    (2..=7).contains(&letters)
        && w.chars().all(|c| c.is_ascii_uppercase() || c == '-')
        && !matches!(
            w,
            "AM" | "PM"
                | "ET"
                | "PT"
                | "CT"
                | "MT"
                | "GMT"
                | "UTC"
                | "BST"
                | "CET"
                | "EST"
                | "PST"
                | "JAN"
                | "FEB"
                | "MAR"
                | "APR"
                | "MAY"
                | "JUN"
                | "JUL"
                | "AUG"
                | "SEP"
                | "SEPT"
                | "OCT"
                | "NOV"
                | "DEC"
        )
}

/// Does the tail `s` look like a site's name: every word capitalised, a figure or a domain
/// (`of`, `the` and a few such words between), the first one a capitalised word, a domain
/// or a figure joined to letters (`9News`, `13WMAZ`)? A number standing alone is a
/// channel's only beside a call sign (`FOX 5 Atlanta`, `WSB-TV 2`); anywhere else it is the
/// headline's own: a score (`Harriers 2 - 1 Dunmore Rovers`, `Harriers 2 - Rovers 1`), a
/// date (`- May 8, 2020`, `- 17 September 2021`) or a part (`- Race 4`, `- Stage 12`), which
/// tells the headline from its other issues.
fn looks_like_name(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    let Some(first) = words.first() else {
        return false;
    };
    let first_ok = is_domain(first)
        || first.chars().next().is_some_and(char::is_uppercase)
        || (!is_number(first) && first.starts_with(|c: char| c.is_ascii_digit()));
    let channel = |i: usize| {
        (i > 0 && is_call_sign(words[i - 1])) || words.get(i + 1).is_some_and(|w| is_call_sign(w))
    };
    first_ok
        && (0..words.len()).all(|i| !is_number(words[i]) || channel(i))
        && words.iter().all(|w| {
            is_domain(w)
                || w.chars()
                    .next()
                    .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
                || matches!(*w, "&" | "of" | "the" | "and" | "de" | "la")
        })
}

/// `s.split_whitespace().count() <= n`, without counting past `n + 1`.
fn at_most_words(s: &str, n: usize) -> bool {
    s.split_whitespace().nth(n).is_none()
}

/// Removes one wire tag prefix: `UPDATE 2-`, `BREAKING: `, `EXCLUSIVE-`.
fn strip_wire_tag(t: &str) -> &str {
    for tag in WIRE_TAGS {
        if let Some(rest) = t.strip_prefix(tag) {
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
            for sep in ["-", ":", "–", "—"] {
                if let Some(r) = rest.strip_prefix(sep) {
                    let r = r.trim_start();
                    if !r.is_empty() {
                        return r;
                    }
                }
            }
        }
    }
    t
}

/// Removes site-name prefixes/suffixes and wire tags from a display title. Returns the
/// title unchanged when nothing applies (never an empty string for a non-empty title).
pub fn strip_site_name(title: &str) -> &str {
    let mut t = strip_wire_tag(title.trim());
    // Known outlet as prefix: "BBC News - Title", "Reuters: Title".
    let first = first_seps(t);
    for (sep, at) in SEPARATORS.iter().chain([": "].iter()).zip(first) {
        if let Some((head, rest)) = at.map(|p| (&t[..p], &t[p + sep.len()..])) {
            if is_known(head) && !rest.trim().is_empty() {
                t = rest.trim();
                break;
            }
        }
    }
    for _ in 0..2 {
        let Some((pos, sep)) = last_sep(t) else {
            break;
        };
        let head = t[..pos].trim_end();
        let tail = t[pos + sep.len()..].trim();
        if head.is_empty() || tail.is_empty() {
            break;
        }
        let strip = if is_known(tail) {
            true
        } else if sep == ": " {
            false
        } else {
            let pipe = sep == " | ";
            let max_words = if pipe { 6 } else { 4 };
            at_most_words(tail, max_words)
                && (pipe || looks_like_name(tail))
                && !at_most_words(head, 2)
        };
        if strip {
            t = head;
        } else {
            break;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The one-scan search finds every separator where `str::find` does.
        #[test]
        fn first_seps_is_find(t in "([a-z :|/·•–—-]|::| - | \\| ){0,30}") {
            let seps = SEPARATORS.iter().chain([": "].iter());
            let expected: Vec<Option<usize>> = seps.map(|sep| t.find(sep)).collect();
            prop_assert_eq!(first_seps(&t).to_vec(), expected);
        }
    }

    #[test]
    fn known_suffixes() {
        assert_eq!(
            strip_site_name("Azerbaijan, SCO discuss co-op - Reuters"),
            "Azerbaijan, SCO discuss co-op"
        );
        assert_eq!(
            strip_site_name("Storm hits coast | BBC News"),
            "Storm hits coast"
        );
        assert_eq!(
            strip_site_name("Storm hits coast – The Guardian"),
            "Storm hits coast"
        );
        assert_eq!(
            strip_site_name("Storm hits coast: AP News"),
            "Storm hits coast"
        );
        assert_eq!(
            strip_site_name("Storm hits coast — Al Jazeera"),
            "Storm hits coast"
        );
    }

    #[test]
    fn known_prefixes_and_wire_tags() {
        assert_eq!(
            strip_site_name("BBC News - Storm hits coast"),
            "Storm hits coast"
        );
        assert_eq!(
            strip_site_name("UPDATE 2-Storm hits coast"),
            "Storm hits coast"
        );
        assert_eq!(
            strip_site_name("BREAKING: Storm hits coast"),
            "Storm hits coast"
        );
    }

    #[test]
    fn generic_suffix() {
        assert_eq!(
            strip_site_name("Storm hits the coast - Daily Planet"),
            "Storm hits the coast"
        );
        assert_eq!(
            strip_site_name("Storm hits the coast | the local paper"),
            "Storm hits the coast"
        );
        assert_eq!(
            strip_site_name("Storm hits coast - Section - Daily Planet"),
            "Storm hits coast"
        );
        assert_eq!(
            strip_site_name("Storm hits the coast - Example.com"),
            "Storm hits the coast"
        );
        assert_eq!(
            strip_site_name("Storm hits the coast - News24.com"),
            "Storm hits the coast"
        );
        // station names carry figures
        for station in [
            "FOX 5 Atlanta",
            "NBC 5 Chicago",
            "WSB-TV 2",
            "ABC7 Los Angeles",
            "11Alive.com",
            "9News",
            "7NEWS",
            "13WMAZ",
            "6abc Action News",
        ] {
            assert_eq!(
                strip_site_name(&format!("Storm hits the coast - {station}")),
                "Storm hits the coast",
                "{station}"
            );
        }
        // a speaker's name after a sentence-case headline (as RNZ writes them)
        assert_eq!(
            strip_site_name("School holiday dates to remain unchanged - Minister Hipkins"),
            "School holiday dates to remain unchanged"
        );
    }

    #[test]
    fn prose_is_kept() {
        for t in [
            "Biden says economy is strong - and getting stronger",
            "Prices rise - analysts expect more increases this year",
            "Biden: We will win",
            "Inflation hits 5%: ECB warns",
            "Man - Dog",
            "Reuters",
            "",
            // a score, a date or a part: figures tell such headlines apart
            "Kelby Harriers 2 - 1 Dunmore Rovers",
            "Sydney living with the virus - May 8, 2020",
            "Locations of interest – September 17",
            "Week in pictures: 11 - 17 September 2021",
            "A guide to the new season - Part 1",
            "Royal Ascot day one results - Race 4",
            "Tour de France live updates - Stage 12",
            "Kelby Harriers 2 - Dunmore Rovers 1",
            "Quarterly results - Q3 2024",
            "Fund raised for the harbour - $1.5bn",
            "The old show returns - MAY 8, 2020",
            "Dog show heats tonight - 8 PM ET",
        ] {
            assert_eq!(strip_site_name(t), t.trim(), "{t:?}");
        }
    }
}
