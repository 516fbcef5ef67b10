//! One boilerplate rule: its [`RuleKind`] and [`Position`], the operator's [`RuleSpec`] as read
//! from configuration, and how a [`Rule`]'s pattern is anchored and compiled ([`RuleError`]).

use std::sync::Arc;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use super::matcher::Matcher;
use crate::normalize::rule_filter::MayMatch;

/// What a rule removes (informational; all kinds are handled by position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// `CITY, Month Day (Agency) -` at the start of the story.
    Dateline,
    /// `By NAME` lines and author lines.
    Byline,
    /// `, Trend reports.`, `(Reporting by ...)`.
    Attribution,
    /// `Follow us on ...`, `Copyright ...`, `The post X appeared first on Y.`.
    TrailingNote,
    /// Any other line: section/meta lines, operator rules.
    Line,
}

/// Where in a paragraph a rule's pattern is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// Matches at the start of the paragraph; the match is removed.
    Leading,
    /// Matches at the end of the paragraph; the match is removed.
    Trailing,
    /// Matches the whole paragraph; the paragraph is dropped.
    WholeParagraph,
    /// Matches anywhere; each match is removed, keeping its final `.`/`!`/`?` if any
    /// (so `..., Trend reports. Next` becomes `... . Next` -> sentence kept).
    Inline,
}

/// One boilerplate rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Rule name (shown in errors and by [`Rules::matching`](super::Rules::matching)).
    pub name: String,
    /// What the rule removes.
    pub kind: RuleKind,
    /// Where the pattern is anchored.
    pub position: Position,
    /// The pattern as written, without anchors (anchors come from `position`).
    pub pattern: String,
    /// Also drop the match from the display text (obvious junk such as "Continue reading").
    pub drop_from_display: bool,
    /// Shared by the rule's places in [`Compiled`](super::apply::Compiled): a clone would get
    /// a pool of its own, and so a second set of per-thread caches (lazy DFAs, sparse sets)
    /// for every thread that runs it.
    pub(super) matcher: Arc<Matcher>,
    /// Cheap test run before the regex (built-in rules only, see [`super::rule_filter`]).
    pub(super) may_match: Option<MayMatch>,
}

/// An operator-supplied rule as read from configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RuleSpec {
    /// Rule name.
    pub name: String,
    /// `leading`, `trailing`, `whole` (or `whole_paragraph`) or `inline`.
    pub position: String,
    /// Regex (Rust `regex` syntax), without `^`/`$` anchors.
    pub pattern: String,
    /// Optional kind: `dateline`, `byline`, `attribution`, `trailing_note` or `line` (default).
    #[serde(default)]
    pub kind: Option<String>,
    /// Also drop matches from the display text (default false).
    #[serde(default)]
    pub drop_from_display: bool,
}

/// Errors building rules.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The pattern does not compile.
    #[error("boilerplate rule {name:?}: invalid pattern: {source}")]
    InvalidPattern {
        /// Rule name.
        name: String,
        /// The regex error.
        #[source]
        source: Box<regex::Error>,
    },
    /// The position string is not one of the known positions.
    #[error("boilerplate rule {name:?}: unknown position {position:?} (expected leading, trailing, whole or inline)")]
    UnknownPosition {
        /// Rule name.
        name: String,
        /// The position given.
        position: String,
    },
    /// The kind string is not one of the known kinds.
    #[error("boilerplate rule {name:?}: unknown kind {kind:?} (expected dateline, byline, attribution, trailing_note or line)")]
    UnknownKind {
        /// Rule name.
        name: String,
        /// The kind given.
        kind: String,
    },
    /// The pattern is empty or matches the empty string (it would match every paragraph).
    #[error("boilerplate rule {name:?}: pattern matches the empty string")]
    MatchesEmpty {
        /// Rule name.
        name: String,
    },
    /// The pattern matches any text whole (`.+`): it would empty every article.
    #[error("boilerplate rule {name:?}: pattern matches any text")]
    MatchesAnyText {
        /// Rule name.
        name: String,
    },
}

/// Paragraphs with nothing in common: a pattern that matches each of them whole matches any
/// text (`.+`, `[\s\S]+`, `\S.*`), and a rule of it would take every article's text away.
const UNRELATED: [&str; 4] = [
    "x",
    "The regional board approved the plan on Tuesday.",
    "12 345,6 — «Ünïcode» ✓",
    "Subscribe to our newsletter",
];

/// Largest compiled program a rule may have (the `regex` crate's size limit, and the forward-only
/// matcher's NFA limit).
pub(super) const REGEX_SIZE_LIMIT: usize = 8 << 20;

pub(super) fn anchored(position: Position, pattern: &str) -> String {
    match position {
        Position::Leading => format!("^(?:{pattern})"),
        Position::Trailing => format!("(?:{pattern})$"),
        Position::WholeParagraph => format!("^(?:{pattern})$"),
        Position::Inline => format!("(?:{pattern})"),
    }
}

fn build(name: &str, src: &str) -> Result<Regex, RuleError> {
    RegexBuilder::new(src)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| RuleError::InvalidPattern {
            name: name.to_string(),
            source: Box::new(e),
        })
}

impl Rule {
    /// Builds a rule; the pattern must compile and must match neither the empty string nor
    /// any text.
    pub fn new(
        name: &str,
        kind: RuleKind,
        position: Position,
        pattern: &str,
        drop_from_display: bool,
    ) -> Result<Rule, RuleError> {
        // Compiled as written first, so that an error quotes the operator's pattern, not
        // the anchored form the rule runs.
        build(name, pattern)?;
        let rule = Rule::compile(name, kind, position, pattern, drop_from_display)?;
        let whole = build(name, &format!("^(?:{pattern})$"))?;
        if pattern.trim().is_empty() || whole.is_match("") {
            return Err(RuleError::MatchesEmpty {
                name: name.to_string(),
            });
        }
        if UNRELATED.iter().all(|t| whole.is_match(t)) {
            return Err(RuleError::MatchesAnyText {
                name: name.to_string(),
            });
        }
        Ok(rule)
    }

    /// [`Rule::new`] without the empty-string check, which compiles the pattern a second time:
    /// for the built-in table, whose rules a test checks once (about half of the start-up
    /// cost of compiling the table).
    pub(super) fn compile(
        name: &str,
        kind: RuleKind,
        position: Position,
        pattern: &str,
        drop_from_display: bool,
    ) -> Result<Rule, RuleError> {
        let source = anchored(position, pattern);
        let forward_only = match position {
            Position::Leading | Position::WholeParagraph => {
                Matcher::anchored(&source, REGEX_SIZE_LIMIT)
            }
            Position::Trailing | Position::Inline => None,
        };
        let matcher = match forward_only {
            Some(m) => m,
            None => Matcher::Any(build(name, &source)?),
        };
        Ok(Rule {
            name: name.to_string(),
            kind,
            position,
            pattern: pattern.to_string(),
            drop_from_display,
            matcher: Arc::new(matcher),
            may_match: None,
        })
    }

    /// Builds a rule from a configuration entry.
    pub fn from_spec(spec: &RuleSpec) -> Result<Rule, RuleError> {
        let position = match spec.position.trim().to_ascii_lowercase().as_str() {
            "leading" | "start" => Position::Leading,
            "trailing" | "end" => Position::Trailing,
            "whole" | "whole_paragraph" | "wholeparagraph" | "paragraph" | "line" => {
                Position::WholeParagraph
            }
            "inline" | "anywhere" => Position::Inline,
            _ => {
                return Err(RuleError::UnknownPosition {
                    name: spec.name.clone(),
                    position: spec.position.clone(),
                })
            }
        };
        let kind = match spec.kind.as_deref().map(|k| k.trim().to_ascii_lowercase()) {
            None => RuleKind::Line,
            Some(k) => match k.as_str() {
                "dateline" => RuleKind::Dateline,
                "byline" => RuleKind::Byline,
                "attribution" => RuleKind::Attribution,
                "trailing_note" | "trailingnote" | "note" => RuleKind::TrailingNote,
                "line" | "" => RuleKind::Line,
                _ => {
                    return Err(RuleError::UnknownKind {
                        name: spec.name.clone(),
                        kind: k,
                    })
                }
            },
        };
        Rule::new(
            &spec.name,
            kind,
            position,
            &spec.pattern,
            spec.drop_from_display,
        )
    }

    /// Does this rule match `paragraph` (anchored by its position)?
    pub fn is_match(&self, paragraph: &str) -> bool {
        self.matcher.is_match(paragraph)
    }
}
