//! How a rule's compiled pattern searches a paragraph ([`Matcher`]).
//!
//! Most of the rules' memory is their automata: the `regex` crate compiles every pattern
//! forward and in reverse, and each thread that runs a rule keeps a lazy-DFA cache for both
//! directions, sized by the automaton. The Unicode classes of the dateline and byline rules
//! (`\p{Lu}`, `\p{L}` repeated up to sixteen times) make those automata large: ~5 MB of
//! programs and ~2.6 MB of caches per thread for the built-in table. A rule anchored at the
//! start of the paragraph (leading, whole-paragraph) never needs the reverse direction: its
//! match starts at 0, and a forward search finds where it ends. So those rules run a forward
//! lazy DFA of their own ([`Anchored`]), with a PikeVM over the same automaton for the inputs
//! the DFA gives up on (a Unicode word boundary next to a non-ASCII letter, a thrashing
//! cache), as the `regex` crate itself does. Same matches, a third of the memory.
//! Trailing and inline rules, which must find where a match starts, keep the `regex` crate.

use std::borrow::Cow;

use regex::Regex;
use regex_automata::hybrid::dfa::{Cache as DfaCache, DFA};
use regex_automata::nfa::thompson::pikevm::{Cache as PikeCache, PikeVM};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::pool::Pool;
use regex_automata::{Anchored as AnchoredSearch, Input};

/// A compiled rule pattern.
#[derive(Debug)]
pub(super) enum Matcher {
    /// A pattern anchored at the paragraph's start, searched forward only (boxed: its pool
    /// holds the owner thread's caches inline).
    Anchored(Box<Anchored>),
    /// Any other pattern, with the `regex` crate.
    Any(Regex),
}

impl Matcher {
    /// A forward-only matcher for `pattern` (which must begin with `^`), or `None` if it
    /// cannot be built: an invalid pattern, an automaton over `size_limit` bytes, or a
    /// construct the lazy DFA does not take. The caller then uses the `regex` crate, which
    /// reports the error or copes.
    pub(super) fn anchored(pattern: &str, size_limit: usize) -> Option<Matcher> {
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .nfa_size_limit(Some(size_limit))
                    // The PikeVM needs the implicit group to report where a match ends.
                    .which_captures(WhichCaptures::Implicit),
            )
            .build(pattern)
            .ok()?;
        let dfa = DFA::builder()
            .configure(DFA::config().unicode_word_boundary(true))
            .build_from_nfa(nfa.clone())
            .ok()?;
        let pikevm = PikeVM::new_from_nfa(nfa).ok()?;
        Some(Matcher::Anchored(Box::new(Anchored {
            dfa,
            pikevm,
            caches: Pool::new(Caches::default),
        })))
    }

    /// Does the pattern match `s`?
    pub(super) fn is_match(&self, s: &str) -> bool {
        match self {
            Matcher::Anchored(a) => a.end(s).is_some(),
            Matcher::Any(re) => re.is_match(s),
        }
    }

    /// Where the match that starts `s` ends, for a pattern anchored at the start.
    pub(super) fn leading_end(&self, s: &str) -> Option<usize> {
        match self {
            Matcher::Anchored(a) => a.end(s),
            Matcher::Any(re) => re.find(s).map(|m| m.end()),
        }
    }

    /// Where the (leftmost) match in `s` starts.
    pub(super) fn find_start(&self, s: &str) -> Option<usize> {
        match self {
            Matcher::Anchored(a) => a.end(s).map(|_| 0),
            Matcher::Any(re) => re.find(s).map(|m| m.start()),
        }
    }

    /// `s` with every match replaced by `with(matched text)`.
    pub(super) fn replace_all<'a>(
        &self,
        s: &'a str,
        with: impl Fn(&str) -> String,
    ) -> Cow<'a, str> {
        match self {
            // Anchored at the start: one match at most.
            Matcher::Anchored(a) => match a.end(s) {
                Some(end) => Cow::Owned(with(&s[..end]) + &s[end..]),
                None => Cow::Borrowed(s),
            },
            Matcher::Any(re) => re.replace_all(s, |c: &regex::Captures<'_>| {
                with(c.get(0).map_or("", |m| m.as_str()))
            }),
        }
    }
}

/// A forward lazy DFA and its fallback, with a pool of per-thread caches like the `regex`
/// crate's.
#[derive(Debug)]
pub(super) struct Anchored {
    dfa: DFA,
    pikevm: PikeVM,
    caches: Pool<Caches, fn() -> Caches>,
}

/// One thread's search state; each part is made when first needed.
#[derive(Debug, Default)]
struct Caches {
    dfa: Option<DfaCache>,
    pikevm: Option<PikeCache>,
}

impl Anchored {
    /// Where the leftmost-first match starting at 0 ends.
    fn end(&self, s: &str) -> Option<usize> {
        let input = Input::new(s).anchored(AnchoredSearch::Yes);
        let mut caches = self.caches.get();
        let dfa_cache = caches.dfa.get_or_insert_with(|| self.dfa.create_cache());
        match self.dfa.try_search_fwd(dfa_cache, &input) {
            Ok(found) => found.map(|m| m.offset()),
            // The DFA gave up (a Unicode word boundary beside a non-ASCII byte, or its cache
            // kept filling up): the PikeVM answers the same, more slowly.
            Err(_) => {
                let pike_cache = caches
                    .pikevm
                    .get_or_insert_with(|| self.pikevm.create_cache());
                self.pikevm.find(pike_cache, input).map(|m| m.end())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rule::REGEX_SIZE_LIMIT;
    use super::super::{builtin_defs, Position};
    use super::*;

    /// The built-in rules that run forward only, each with the `regex` crate's compilation
    /// of the same anchored pattern to compare against.
    fn anchored_rules() -> Vec<(&'static str, Matcher, Regex)> {
        builtin_defs()
            .into_iter()
            .filter(|d| matches!(d.2, Position::Leading | Position::WholeParagraph))
            .map(|(name, _, position, pattern, _)| {
                let source = super::super::rule::anchored(position, &pattern);
                let forward = Matcher::anchored(&source, REGEX_SIZE_LIMIT);
                let forward = forward.unwrap_or_else(|| panic!("{name}: no forward matcher"));
                let regex = Regex::new(&source).unwrap_or_else(|e| panic!("{name}: {e}"));
                (name, forward, regex)
            })
            .collect()
    }

    /// Pieces of wire boilerplate and body text, ASCII and not: datelines, bylines, lines
    /// the rules drop, and letters next to which a Unicode word boundary makes the lazy DFA
    /// give up.
    const PIECES: &[&str] = &[
        "BAKU",
        "NEW YORK",
        "МОСКВА",
        "ÜRÜMQI",
        "SÃO PAULO",
        ", Azerbaijan",
        ", Calif.",
        ", ",
        " ",
        "  ",
        "\t",
        "April",
        "apr.",
        "Sept",
        "17",
        "2024",
        "12:30",
        " GMT",
        " p.m.",
        " (Trend)",
        " (AP)",
        "(Reuters)",
        " - ",
        " — ",
        " – ",
        ": ",
        ". ",
        "By ",
        "BY ",
        "John",
        "O'Neil",
        "J.",
        "Al-Assad",
        "Müller",
        "Жанна",
        "e\u{301}",
        " and ",
        " & ",
        "Reuters staff",
        " | ",
        "/",
        "Subscribe to",
        " now",
        "toй",
        "Follow us on",
        " Twitter",
        "Telegramé",
        "follow uſ",
        "Click here",
        "Sign up for",
        "Updated:",
        "Published on ",
        "Copyright ",
        "©",
        "All rights reserved",
        "Photo: ",
        "PHOTO by ",
        "Read more",
        "Reporting by ",
        "; Editing by ",
        "(Reporting by Jane Doe)",
        "Reuters",
        "AP",
        "北京",
        "4月17日电",
        "（记者王磊）",
        "กรุงเทพฯ",
        " 17 เม.ย. ",
        "The president said",
        "x",
        "\u{a0}",
        "\n",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The forward-only matcher finds the same match end as the `regex` crate, whether
        /// its DFA answers or gives up to the PikeVM.
        #[test]
        fn forward_only_matches_as_the_regex_crate(
            parts in proptest::collection::vec(0..PIECES.len(), 1..10),
        ) {
            static RULES: std::sync::OnceLock<Vec<(&'static str, Matcher, Regex)>> =
                std::sync::OnceLock::new();
            let text: String = parts.iter().map(|&i| PIECES[i]).collect();
            for (name, forward, regex) in RULES.get_or_init(anchored_rules) {
                let expected = regex.find(&text).map(|m| m.end());
                proptest::prop_assert_eq!(forward.leading_end(&text), expected, "{} on {:?}", name, text);
                proptest::prop_assert_eq!(forward.is_match(&text), expected.is_some());
            }
        }
    }

    #[test]
    fn every_builtin_rule_anchored_at_the_start_runs_forward_only() {
        let rules = super::super::builtin_rules();
        let mut anchored = 0;
        for rule in &rules {
            let forward = matches!(*rule.matcher, Matcher::Anchored(_));
            let at_start = matches!(rule.position, Position::Leading | Position::WholeParagraph);
            assert_eq!(forward, at_start, "{}", rule.name);
            anchored += usize::from(forward);
        }
        assert!(anchored >= 20, "{anchored} forward-only rules");
    }

    #[test]
    fn a_word_boundary_beside_a_non_ascii_letter_is_answered_by_the_fallback() {
        let source = super::super::rule::anchored(
            Position::WholeParagraph,
            r"(?i:subscribe)\s+(?i:to|for|now|today|here)\b.*",
        );
        let m = Matcher::anchored(&source, REGEX_SIZE_LIMIT).expect("builds");
        // The DFA quits at `é` (its Unicode word boundary is only known for ASCII); the
        // PikeVM decides: no boundary between `o` and `é`, so no match.
        assert!(!m.is_match("Subscribe toé"));
        assert!(m.is_match("Subscribe to é-mail"));
        assert!(m.is_match("Subscribe now"));
        assert_eq!(m.leading_end("Subscribe now, friends"), Some(22));
    }

    #[test]
    fn replacing_an_anchored_match_replaces_only_the_start() {
        let source = super::super::rule::anchored(Position::Leading, r"BAKU\s*-\s*");
        let m = Matcher::anchored(&source, REGEX_SIZE_LIMIT).expect("builds");
        assert_eq!(
            m.replace_all("BAKU - text BAKU - x", |_| String::new()),
            "text BAKU - x"
        );
        assert_eq!(m.replace_all("text", |_| String::new()), "text");
        assert_eq!(m.find_start("BAKU - text"), Some(0));
        assert_eq!(m.find_start("text BAKU - "), None);
    }
}
