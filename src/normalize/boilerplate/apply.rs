//! Applying a table's rules to an article's paragraphs: a rule's [`Check`] (the cheap test,
//! then its pattern), the checks of a table grouped by position ([`Compiled`]), and the passes
//! over the edge paragraphs (leading, whole-paragraph, trailing) and the inline one, each
//! rule's hits counted in the table's [`Hits`] when asked to.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::matcher::Matcher;
use super::{
    ceil_boundary, floor_boundary, Position, Rule, EDGE, TRAILING_EDGE, WHOLE_MAX, WINDOW,
};
use crate::normalize::rule_filter::{self, MayMatch};

/// A compiled rule: its pattern (the rule's own, not a clone: see [`Rule`]) and the cheap
/// test run first.
#[derive(Debug, Clone)]
struct Check {
    matcher: Arc<Matcher>,
    may_match: Option<MayMatch>,
    /// The rule's place in its table (and in the table's [`Hits`]).
    id: usize,
    /// The built-in `read-more` rule: a header it removes takes the list under it along.
    takes_list: bool,
}

impl Check {
    /// Can the regex match `s`? (The cheap test first.)
    fn may(&self, s: &str) -> bool {
        self.may_match.is_none_or(|f| f.test(s))
    }

    fn is_match(&self, s: &str) -> bool {
        self.may(s) && self.matcher.is_match(s)
    }

    /// [`Check::is_match`] with the comma scan of `s` shared between the checks (see
    /// [`MayMatch::test_with`]).
    fn is_match_with(&self, s: &str, commas: &mut Option<rule_filter::Commas>) -> bool {
        self.may_match.is_none_or(|f| f.test_with(s, commas)) && self.matcher.is_match(s)
    }

    /// Where a leading rule's match at the start of `s` ends.
    fn leading_end(&self, s: &str) -> Option<usize> {
        self.may(s).then(|| self.matcher.leading_end(s)).flatten()
    }

    /// Where a trailing rule's match in `s` starts.
    fn trailing_start(&self, s: &str) -> Option<usize> {
        self.may(s).then(|| self.matcher.find_start(s)).flatten()
    }
}

/// How many times each rule of a table changed a paragraph (dropped it, or cut or replaced
/// part of it), by the rule's place in the table. Shared by the table's clones.
#[derive(Debug, Default)]
pub(super) struct Hits(Box<[AtomicU64]>);

impl Hits {
    pub(super) fn new(rules: usize) -> Hits {
        Hits((0..rules).map(|_| AtomicU64::new(0)).collect())
    }

    fn add(&self, id: usize) {
        if let Some(n) = self.0.get(id) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn get(&self, id: usize) -> u64 {
        self.0.get(id).map_or(0, |n| n.load(Ordering::Relaxed))
    }
}

/// Where a pass records its hits: nowhere when it redoes the cleaning of a stored article.
#[derive(Clone, Copy)]
pub(super) struct Tally<'h>(pub(super) Option<&'h Hits>);

impl Tally<'_> {
    fn hit(self, check: &Check) {
        if let Some(h) = self.0 {
            h.add(check.id);
        }
    }
}

/// The rules of one table, grouped by position (a rule in both the fingerprint and the
/// display table is one regex with one set of caches).
#[derive(Debug, Clone, Default)]
pub(super) struct Compiled {
    leading: Vec<Check>,
    trailing: Vec<Check>,
    whole: Vec<Check>,
    inline: Vec<Check>,
}

impl Compiled {
    /// The checks of `rules`, each given with its place in the table.
    pub(super) fn new<'a>(rules: impl Iterator<Item = (usize, &'a Rule)>) -> Compiled {
        let mut c = Compiled::default();
        for (id, r) in rules {
            let list = match r.position {
                Position::Leading => &mut c.leading,
                Position::Trailing => &mut c.trailing,
                Position::WholeParagraph => &mut c.whole,
                Position::Inline => &mut c.inline,
            };
            list.push(Check {
                matcher: Arc::clone(&r.matcher),
                may_match: r.may_match,
                id,
                // by name: an operator's rule of that name would have been refused
                takes_list: r.name == "read-more",
            });
        }
        c
    }

    /// Applies leading/whole/trailing rules to one paragraph; `None` drops it.
    fn edge<'a>(&self, para: &'a str, trailing: bool, tally: Tally) -> Option<&'a str> {
        let mut p = para.trim();
        for _ in 0..4 {
            if p.is_empty() {
                return None;
            }
            if p.len() <= WHOLE_MAX {
                if let Some(r) = self.whole.iter().find(|r| r.is_match(p)) {
                    tally.hit(r);
                    return None;
                }
            }
            let head = &p[..floor_boundary(p, WINDOW)];
            match self
                .leading
                .iter()
                .find_map(|r| r.leading_end(head).map(|end| (r, end)))
            {
                Some((r, end)) if end > 0 => {
                    tally.hit(r);
                    p = p[end..].trim_start();
                }
                _ => break,
            }
        }
        for _ in 0..usize::from(trailing) * 2 {
            if p.is_empty() {
                return None;
            }
            let start = ceil_boundary(p, p.len().saturating_sub(WINDOW));
            let tail = &p[start..];
            match self
                .trailing
                .iter()
                .find_map(|r| r.trailing_start(tail).map(|at| (r, at)))
            {
                Some((r, at)) if at < tail.len() => {
                    tally.hit(r);
                    p = p[..start + at].trim_end();
                }
                _ => break,
            }
        }
        if p.is_empty() {
            None
        } else {
            Some(p)
        }
    }

    /// Whether `para`, removed, was a "READ MORE:" header (not a photo caption's "Video:" or
    /// another rule's paragraph that happens to end in a colon: the list under those is the
    /// story's).
    fn header(&self, para: &str) -> bool {
        let p = para.trim();
        p.ends_with(':')
            && p.len() <= WHOLE_MAX
            && self.whole.iter().any(|r| r.takes_list && r.is_match(p))
    }

    /// Applies inline rules to one paragraph.
    fn inline<'a>(&self, para: &'a str, tally: Tally) -> Cow<'a, str> {
        let mut cur = Cow::Borrowed(para);
        // the commas of `cur`, found by the first check that needs them
        let mut commas = None;
        for check in &self.inline {
            if !check.is_match_with(&cur, &mut commas) {
                continue;
            }
            commas = None;
            tally.hit(check);
            let replaced = check
                .matcher
                .replace_all(&cur, |m| match m.chars().last() {
                    Some(e @ ('.' | '!' | '?')) => e.to_string(),
                    _ => String::new(),
                })
                .into_owned();
            cur = Cow::Owned(replaced);
        }
        cur
    }

    pub(super) fn apply<'a>(&self, paragraphs: &[&'a str], tally: Tally) -> Vec<Cow<'a, str>> {
        let n = paragraphs.len();
        let mut out = Vec::with_capacity(n);
        // A header removed whole ("READ MORE:", "Related:") takes the bulleted list right
        // under it along: other stories' headlines, not this one's last paragraphs.
        let mut under_header = false;
        for (i, &p) in paragraphs.iter().enumerate() {
            if under_header
                && p.trim_start()
                    .starts_with(crate::normalize::text::is_bullet)
            {
                continue;
            }
            under_header = false;
            let at_edge = i < EDGE || i + EDGE >= n;
            let mut cur: Cow<'a, str> = Cow::Borrowed(p);
            if i < EDGE || i + 2 >= n {
                cur = match cur {
                    Cow::Borrowed(b) => self.inline(b, tally),
                    Cow::Owned(o) => Cow::Owned(self.inline(&o, tally).into_owned()),
                };
            }
            if at_edge {
                let trailing = i + TRAILING_EDGE >= n;
                cur = match cur {
                    Cow::Borrowed(b) => match self.edge(b, trailing, tally) {
                        Some(e) => Cow::Borrowed(e),
                        None => {
                            under_header = self.header(b);
                            continue;
                        }
                    },
                    Cow::Owned(o) => match self.edge(&o, trailing, tally) {
                        Some(e) => Cow::Owned(e.to_string()),
                        None => {
                            under_header = self.header(&o);
                            continue;
                        }
                    },
                };
            }
            if !cur.trim().is_empty() {
                out.push(cur);
            }
        }
        out
    }
}
