//! Wire boilerplate rules, kept as data.
//!
//! A [`Rules`] table holds [`Rule`]s (name, kind, position, compiled pattern). The built-in table
//! ([`Rules::default`]) covers agency datelines, bylines, attributions, trailing notes and
//! section/meta lines; operators add their own with [`Rules::with_extra`].
//!
//! Rules are applied per paragraph, and only where wire boilerplate lives, which keeps the
//! cost bounded: leading and whole-paragraph rules on the first and last [`EDGE`]
//! paragraphs, trailing rules on the last [`TRAILING_EDGE`], inline rules on the first
//! [`EDGE`] and last two. Leading/trailing regexes see at most [`WINDOW`] bytes of a
//! paragraph's start or end, whole-paragraph rules only paragraphs of at most [`WHOLE_MAX`]
//! bytes; all are anchored, so a failing rule usually costs a few bytes of DFA. Before its
//! regex, a built-in rule runs a cheap may-match test (a first byte or a literal, see
//! `rule_filter`), which skips the regex call's set-up where it cannot match. Rules anchored
//! at a paragraph's start (leading, whole-paragraph) search forward only, with a third of the
//! `regex` crate's memory (`matcher`); trailing and inline rules use the `regex` crate.
//!
//! A table counts how many times each of its rules changed a paragraph while cleaning
//! fetched articles ([`Rules::hits`], exported as `wirefold_boilerplate_rule_hits_total`), so an
//! operator sees whether a rule fires in production; cleaning a stored article again (the
//! fold's second looks, migrations) is not counted.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use super::rule_filter;

mod apply;
mod builtin;
mod matcher;
mod rule;
#[cfg(test)]
mod tests;

use apply::{Compiled, Hits, Tally};
#[cfg(test)]
use builtin::builtin_defs;
pub use builtin::{builtin_names, builtin_rules};
pub use rule::{Position, Rule, RuleError, RuleKind, RuleSpec};

/// Number of paragraphs at each end of an article that rules look at.
pub const EDGE: usize = 5;
/// Bytes of a paragraph's start/end that leading/trailing rules look at.
pub const WINDOW: usize = 300;
/// Longest paragraph (bytes) that whole-paragraph rules look at: junk lines are short, and
/// skipping body paragraphs keeps `.*`-style patterns cheap.
pub const WHOLE_MAX: usize = 240;
/// Trailing rules only look at this many final paragraphs.
pub const TRAILING_EDGE: usize = 3;

/// Largest char boundary <= `i`.
pub(crate) fn floor_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Smallest char boundary >= `i`.
fn ceil_boundary(s: &str, i: usize) -> usize {
    let mut i = i;
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A table of boilerplate rules, compiled for application. Its clones share its hit counts.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
    fp: Compiled,
    display: Compiled,
    hits: Arc<Hits>,
}

impl Default for Rules {
    /// The built-in rules (see [`builtin_rules`]).
    fn default() -> Self {
        // The built-in patterns are tested; should one ever fail, fall back to no rules
        // rather than panic.
        Rules::new(builtin_rules()).unwrap_or_else(|_| Rules::empty())
    }
}

impl Rules {
    /// A table with no rules.
    pub fn empty() -> Rules {
        Rules {
            rules: Vec::new(),
            fp: Compiled::default(),
            display: Compiled::default(),
            hits: Arc::default(),
        }
    }

    /// A table of the given rules.
    pub fn new(rules: Vec<Rule>) -> Result<Rules, RuleError> {
        let fp = Compiled::new(rules.iter().enumerate());
        let display = Compiled::new(
            rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.drop_from_display),
        );
        let hits = Arc::new(Hits::new(rules.len()));
        Ok(Rules {
            rules,
            fp,
            display,
            hits,
        })
    }

    /// The built-in rules plus operator rules from configuration, tried after the built-in
    /// ones of the same position. The built-in rules are [`Rules::shared_default`]'s, not
    /// compiled again: the two tables share their automata and per-thread caches.
    pub fn with_extra(extra: &[RuleSpec]) -> Result<Rules, RuleError> {
        let mut rules = Rules::shared_default().rules.clone();
        rules.reserve(extra.len());
        for spec in extra {
            rules.push(Rule::from_spec(spec)?);
        }
        Rules::new(rules)
    }

    /// The built-in rules, compiled once per process.
    pub fn shared_default() -> Arc<Rules> {
        static DEFAULT: OnceLock<Arc<Rules>> = OnceLock::new();
        DEFAULT.get_or_init(|| Arc::new(Rules::default())).clone()
    }

    /// All rules in the table.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Names of the rules whose anchored pattern matches `paragraph` (for tests and
    /// diagnostics; not used on the hot path).
    pub fn matching(&self, paragraph: &str) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| r.is_match(paragraph))
            .map(|r| r.name.as_str())
            .collect()
    }

    /// Each rule's name and how many times it changed (dropped, cut or rewrote) a paragraph
    /// in [`Rules::clean_display`] and [`Rules::clean_fingerprint`] since the table was made.
    /// A paragraph the display cleaning dropped is not seen by the fingerprint cleaning, so
    /// each change is counted once.
    pub fn hits(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.rules
            .iter()
            .enumerate()
            .map(|(id, r)| (r.name.as_str(), self.hits.get(id)))
    }

    /// Display cleaning: drops only the junk rules (`drop_from_display`).
    pub fn clean_display<'a>(&self, paragraphs: &[&'a str]) -> Vec<Cow<'a, str>> {
        self.display.apply(paragraphs, Tally(Some(&self.hits)))
    }

    /// Fingerprint cleaning: applies every rule.
    pub fn clean_fingerprint<'b>(&self, paragraphs: &'b [Cow<'_, str>]) -> Vec<Cow<'b, str>> {
        self.fingerprint_pass(paragraphs, Tally(Some(&self.hits)))
    }

    /// [`Rules::clean_fingerprint`] for an article cleaned before (a stored one): the same
    /// result, not counted in [`Rules::hits`].
    pub fn reclean_fingerprint<'b>(&self, paragraphs: &'b [Cow<'_, str>]) -> Vec<Cow<'b, str>> {
        self.fingerprint_pass(paragraphs, Tally(None))
    }

    fn fingerprint_pass<'b>(
        &self,
        paragraphs: &'b [Cow<'_, str>],
        tally: Tally,
    ) -> Vec<Cow<'b, str>> {
        let refs: Vec<&'b str> = paragraphs.iter().map(|c| c.as_ref()).collect();
        self.fp.apply(&refs, tally)
    }
}
