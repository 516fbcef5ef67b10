//! Wire boilerplate rules, kept as data.
//!
//! A [`Rules`] table holds [`Rule`]s (name, kind, position, regex). The built-in table
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
//! `rule_filter`), which skips the regex call's set-up where it cannot match.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use super::rule_filter::{self, MayMatch};

mod builtin;
#[cfg(test)]
use builtin::builtin_defs;
pub use builtin::builtin_rules;

/// Number of paragraphs at each end of an article that rules look at.
pub const EDGE: usize = 5;
/// Bytes of a paragraph's start/end that leading/trailing rules look at.
pub const WINDOW: usize = 300;
/// Longest paragraph (bytes) that whole-paragraph rules look at: junk lines are short, and
/// skipping body paragraphs keeps `.*`-style patterns cheap.
pub const WHOLE_MAX: usize = 240;
/// Trailing rules only look at this many final paragraphs.
pub const TRAILING_EDGE: usize = 3;

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
    /// Rule name (shown in errors and by [`Rules::matching`]).
    pub name: String,
    /// What the rule removes.
    pub kind: RuleKind,
    /// Where the pattern is anchored.
    pub position: Position,
    /// The pattern as written, without anchors (anchors come from `position`).
    pub pattern: String,
    /// Also drop the match from the display text (obvious junk such as "Continue reading").
    pub drop_from_display: bool,
    /// Shared by the rule's places in [`Compiled`]: a `Regex` clone would get a pool of its
    /// own, and so a second set of per-thread caches (lazy DFAs, sparse sets) for every
    /// thread that runs it.
    regex: Arc<Regex>,
    /// Cheap test run before the regex (built-in rules only, see [`super::rule_filter`]).
    may_match: Option<MayMatch>,
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
}

const REGEX_SIZE_LIMIT: usize = 8 << 20;

fn anchored(position: Position, pattern: &str) -> String {
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
    /// Builds a rule; the pattern must compile and must not match the empty string.
    pub fn new(
        name: &str,
        kind: RuleKind,
        position: Position,
        pattern: &str,
        drop_from_display: bool,
    ) -> Result<Rule, RuleError> {
        let rule = Rule::compile(name, kind, position, pattern, drop_from_display)?;
        if pattern.trim().is_empty() || build(name, &format!("^(?:{pattern})$"))?.is_match("") {
            return Err(RuleError::MatchesEmpty {
                name: name.to_string(),
            });
        }
        Ok(rule)
    }

    /// [`Rule::new`] without the empty-string check, which compiles the pattern a second time:
    /// for the built-in table, whose rules a test checks once (about half of the start-up
    /// cost of compiling the table).
    fn compile(
        name: &str,
        kind: RuleKind,
        position: Position,
        pattern: &str,
        drop_from_display: bool,
    ) -> Result<Rule, RuleError> {
        let regex = Arc::new(build(name, &anchored(position, pattern))?);
        Ok(Rule {
            name: name.to_string(),
            kind,
            position,
            pattern: pattern.to_string(),
            drop_from_display,
            regex,
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
        self.regex.is_match(paragraph)
    }
}

/// A compiled rule: its regex (the rule's own, not a clone: see [`Rule`]) and the cheap test
/// run first.
#[derive(Debug, Clone)]
struct Check {
    regex: Arc<Regex>,
    may_match: Option<MayMatch>,
}

impl Check {
    /// Can the regex match `s`? (The cheap test first.)
    fn may(&self, s: &str) -> bool {
        self.may_match.is_none_or(|f| f.test(s))
    }

    fn is_match(&self, s: &str) -> bool {
        self.may(s) && self.regex.is_match(s)
    }

    /// [`Check::is_match`] with the comma scan of `s` shared between the checks (see
    /// [`MayMatch::test_with`]).
    fn is_match_with(&self, s: &str, commas: &mut Option<rule_filter::Commas>) -> bool {
        self.may_match.is_none_or(|f| f.test_with(s, commas)) && self.regex.is_match(s)
    }

    fn find<'h>(&self, s: &'h str) -> Option<regex::Match<'h>> {
        if self.may(s) {
            self.regex.find(s)
        } else {
            None
        }
    }
}

/// The rules of one table, grouped by position (a rule in both the fingerprint and the
/// display table is one regex with one set of caches).
#[derive(Debug, Clone, Default)]
struct Compiled {
    leading: Vec<Check>,
    trailing: Vec<Check>,
    whole: Vec<Check>,
    inline: Vec<Check>,
}

impl Compiled {
    fn new<'a>(rules: impl Iterator<Item = &'a Rule>) -> Compiled {
        let mut c = Compiled::default();
        for r in rules {
            let list = match r.position {
                Position::Leading => &mut c.leading,
                Position::Trailing => &mut c.trailing,
                Position::WholeParagraph => &mut c.whole,
                Position::Inline => &mut c.inline,
            };
            list.push(Check {
                regex: Arc::clone(&r.regex),
                may_match: r.may_match,
            });
        }
        c
    }

    /// Applies leading/whole/trailing rules to one paragraph; `None` drops it.
    fn edge<'a>(&self, para: &'a str, trailing: bool) -> Option<&'a str> {
        let mut p = para.trim();
        for _ in 0..4 {
            if p.is_empty() {
                return None;
            }
            if p.len() <= WHOLE_MAX && self.whole.iter().any(|r| r.is_match(p)) {
                return None;
            }
            let head = &p[..floor_boundary(p, WINDOW)];
            match self.leading.iter().find_map(|r| r.find(head)) {
                Some(m) if m.end() > 0 => p = p[m.end()..].trim_start(),
                _ => break,
            }
        }
        for _ in 0..usize::from(trailing) * 2 {
            if p.is_empty() {
                return None;
            }
            let start = ceil_boundary(p, p.len().saturating_sub(WINDOW));
            let tail = &p[start..];
            match self.trailing.iter().find_map(|r| r.find(tail)) {
                Some(m) if m.start() < tail.len() => p = p[..start + m.start()].trim_end(),
                _ => break,
            }
        }
        if p.is_empty() {
            None
        } else {
            Some(p)
        }
    }

    /// Applies inline rules to one paragraph.
    fn inline<'a>(&self, para: &'a str) -> Cow<'a, str> {
        let mut cur = Cow::Borrowed(para);
        // the commas of `cur`, found by the first check that needs them
        let mut commas = None;
        for check in &self.inline {
            if !check.is_match_with(&cur, &mut commas) {
                continue;
            }
            commas = None;
            let replaced = check
                .regex
                .replace_all(&cur, |c: &regex::Captures<'_>| {
                    let m = c.get(0).map_or("", |m| m.as_str());
                    match m.chars().last() {
                        Some(e @ ('.' | '!' | '?')) => e.to_string(),
                        _ => String::new(),
                    }
                })
                .into_owned();
            cur = Cow::Owned(replaced);
        }
        cur
    }

    fn apply<'a>(&self, paragraphs: &[&'a str]) -> Vec<Cow<'a, str>> {
        let n = paragraphs.len();
        let mut out = Vec::with_capacity(n);
        for (i, &p) in paragraphs.iter().enumerate() {
            let at_edge = i < EDGE || i + EDGE >= n;
            let mut cur: Cow<'a, str> = Cow::Borrowed(p);
            if i < EDGE || i + 2 >= n {
                cur = match cur {
                    Cow::Borrowed(b) => self.inline(b),
                    Cow::Owned(o) => Cow::Owned(self.inline(&o).into_owned()),
                };
            }
            if at_edge {
                let trailing = i + TRAILING_EDGE >= n;
                cur = match cur {
                    Cow::Borrowed(b) => match self.edge(b, trailing) {
                        Some(e) => Cow::Borrowed(e),
                        None => continue,
                    },
                    Cow::Owned(o) => match self.edge(&o, trailing) {
                        Some(e) => Cow::Owned(e.to_string()),
                        None => continue,
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

/// Largest char boundary <= `i`.
pub(super) fn floor_boundary(s: &str, i: usize) -> usize {
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

/// A table of boilerplate rules, compiled for application.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
    fp: Compiled,
    display: Compiled,
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
        }
    }

    /// A table of the given rules.
    pub fn new(rules: Vec<Rule>) -> Result<Rules, RuleError> {
        let fp = Compiled::new(rules.iter());
        let display = Compiled::new(rules.iter().filter(|r| r.drop_from_display));
        Ok(Rules { rules, fp, display })
    }

    /// The built-in rules plus operator rules from configuration.
    pub fn with_extra(extra: &[RuleSpec]) -> Result<Rules, RuleError> {
        let mut rules = builtin_rules();
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

    /// Display cleaning: drops only the junk rules (`drop_from_display`).
    pub fn clean_display<'a>(&self, paragraphs: &[&'a str]) -> Vec<Cow<'a, str>> {
        self.display.apply(paragraphs)
    }

    /// Fingerprint cleaning: applies every rule.
    pub fn clean_fingerprint<'b>(&self, paragraphs: &'b [Cow<'_, str>]) -> Vec<Cow<'b, str>> {
        let refs: Vec<&'b str> = paragraphs.iter().map(|c| c.as_ref()).collect();
        self.fp.apply(&refs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROSE: &[&str] = &[
        "By the end of the year, prices had risen by a third across the region.",
        "The minister said the talks in Washington would continue next week.",
        "Related talks continued on Monday in Geneva.",
        "Copyright infringement cases rose sharply in 2023, the court said.",
        "Photographs of the event circulated widely on social media.",
        "Subscribers to the service rose 5% in the quarter.",
        "Updated figures show growth in the services sector.",
        "Like many on Twitter, she complained about the outage for hours.",
        "They will continue reading the bill on Monday, the speaker said.",
        "In April 17 people were injured in the blast.",
        "Washington — the capital — was quiet.",
        "Reporting by the Times revealed that the minister had lied.",
        "The agency reported a rise in cases, officials said.",
        "He said all rights reserved by the treaty remain in force today.",
        "Follow-up talks are planned, the spokesman said.",
    ];

    fn rule(name: &str) -> Rule {
        builtin_rules()
            .into_iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no rule {name}"))
    }

    fn check(name: &str, positives: &[&str]) {
        let r = rule(name);
        for p in positives {
            assert!(r.is_match(p), "{name} should match {p:?}");
        }
        for p in PROSE {
            assert!(!r.is_match(p), "{name} must not match prose {p:?}");
        }
    }

    #[test]
    fn all_builtins_compile() {
        assert_eq!(builtin_rules().len(), builtin_defs().len());
        // builtin_rules skips the empty-string check; every built-in passes it.
        for (name, kind, pos, pat, disp) in builtin_defs() {
            assert!(Rule::new(name, kind, pos, &pat, disp).is_ok(), "{name}");
        }
        let rules = Rules::default();
        assert_eq!(rules.rules().len(), builtin_defs().len());
    }

    #[test]
    fn dateline_city_date() {
        check(
            "dateline-city-date",
            &[
                "BAKU, Azerbaijan, April 17. A delegation met officials.",
                "BAKU, Azerbaijan, April 17 (Trend): A delegation met officials.",
                "LONDON, March 3 (Reuters) - Shares fell.",
                "BEIJING, Jan. 5 (Xinhua) -- Officials said.",
                "NEW YORK, May 1 (UPI) -- Stocks rose.",
                "ANKARA, Dec 5 (Reuters) - Turkey said.",
                "KYIV, Ukraine, 17 April - Shelling continued.",
            ],
        );
    }

    #[test]
    fn dateline_city_agency() {
        check(
            "dateline-city-agency",
            &[
                "WASHINGTON (AP) — The Senate voted.",
                "WASHINGTON (AP) - The Senate voted.",
                "PARIS (AFP) - France said.",
                "ATLANTA, Ga. (AP) — Storms hit.",
            ],
        );
    }

    #[test]
    fn dateline_cjk_and_thai() {
        check(
            "dateline-cjk",
            &[
                "新华社北京3月3日电 交通运输部周二表示",
                "中新网3月3日电 交通运输部周二表示",
                "新华社上海3月4日电（记者王明）上海市政府宣布",
            ],
        );
        check(
            "dateline-thai",
            &[
                "กรุงเทพฯ 3 มี.ค. - กระทรวงคมนาคมเปิดเผยว่า",
                "เชียงใหม่ 4 ธ.ค. 2566 - จังหวัดประกาศ",
            ],
        );
    }

    #[test]
    fn dateline_city_dash_and_agency_only() {
        check(
            "dateline-city-dash",
            &[
                "WASHINGTON — The Senate voted.",
                "SAN FRANCISCO -- Tech shares fell.",
            ],
        );
        check(
            "dateline-agency",
            &["(Reuters) - Shares fell.", "(AP) — Storms hit."],
        );
    }

    #[test]
    fn section_line() {
        check(
            "section-date-time",
            &[
                "Politics News 17 April 2023 14:05",
                "Politics News 17 April 2023 14:05 Someone Else",
                "World April 17, 2023 2:05 PM",
                "Economy 17.04.2023 14:05 |",
            ],
        );
        check(
            "updated-line",
            &[
                "Updated: April 17, 2023 14:05 GMT",
                "Published 17 April 2023",
            ],
        );
    }

    #[test]
    fn bylines() {
        check(
            "byline-by",
            &[
                "By Sabir Alizade",
                "By JOHN SMITH, Associated Press",
                "By Jane Doe and John Roe",
                "BY ANNA O'NEIL | Reuters",
            ],
        );
        check("name-line", &["TurkicWorld Sabir Alizade", "Jane Doe"]);
    }

    #[test]
    fn attributions() {
        check(
            "attribution-reports",
            &[
                "Officials met in Beijing on April 17, TurkicWorld reports.",
                "Officials met, Trend reports. They talked.",
                "Prices rose, the agency reported.",
                "Prices rose, Report informs citing the ministry.",
            ],
        );
        check(
            "attribution-according-to",
            &[
                "Prices rose, according to Xinhua.",
                "Prices rose, according to the agency.",
            ],
        );
        check(
            "reporting-by-parenthesised",
            &[
                "(Reporting by Jane Doe; Editing by John Roe)",
                "(Additional reporting by A B in Paris)",
            ],
        );
        check(
            "reporting-by",
            &["Reporting by Jane Doe; Writing by John Roe; Editing by Max Moe"],
        );
    }

    #[test]
    fn inline_attribution_keeps_sentence() {
        let rules = Rules::default();
        let paras: Vec<Cow<'_, str>> = vec![Cow::Borrowed(
            "They met on April 17, Trend reports. Then they left.",
        )];
        let out = rules.clean_fingerprint(&paras);
        assert_eq!(out[0], "They met on April 17. Then they left.");
    }

    #[test]
    fn trailing_notes() {
        check(
            "follow-us",
            &[
                "Follow us on Twitter @x",
                "Follow Trend on Telegram",
                "Join us on Facebook today",
            ],
        );
        check(
            "read-more",
            &[
                "Read more: Something else happened",
                "Related",
                "See also - other story",
            ],
        );
        check(
            "copyright",
            &[
                "Copyright 2023 The Associated Press.",
                "© 2023 Reuters",
                "(c) 2021 AFP",
            ],
        );
        check(
            "all-rights-reserved",
            &[
                "All rights reserved.",
                "2023 Trend News Agency. All rights reserved",
            ],
        );
        check(
            "post-appeared-first",
            &[
                "The post Azerbaijan and SCO talk appeared first on Example News.",
                "Text here. The post X appeared first on Y.",
            ],
        );
        check(
            "continue-reading",
            &[
                "Some summary […] Continue reading",
                "Summary text. Continue reading →",
                "Teaser. Read the full story",
            ],
        );
        check(
            "image-credit",
            &["Leaders met. (Image credit: Getty Images)"],
        );
        check(
            "photo-caption",
            &[
                "Photo: Reuters",
                "Photo by John Doe/Getty",
                "FILE PHOTO: A view of the city",
            ],
        );
        check(
            "subscribe",
            &["Subscribe to our newsletter", "Subscribe now for updates"],
        );
        check("click-here", &["Click here to read more", "Click here."]);
        check(
            "sign-up",
            &["Sign up for our daily briefing", "Sign up here"],
        );
        check("agency-signoff", &["Reuters", "— AP", "(AFP)"]);
    }

    #[test]
    fn display_cleaning_only_drops_junk() {
        let rules = Rules::default();
        let paras = [
            "BAKU, Azerbaijan, April 17. Body.",
            "Middle.",
            "Follow us on Twitter @x",
            "The post X appeared first on Y.",
        ];
        let out = rules.clean_display(&paras);
        assert_eq!(out, vec!["BAKU, Azerbaijan, April 17. Body.", "Middle."]);
    }

    #[test]
    fn extra_rules_from_config() {
        let spec = RuleSpec {
            name: "site-promo".into(),
            position: "whole".into(),
            pattern: r"Download our app.{0,50}".into(),
            kind: Some("trailing_note".into()),
            drop_from_display: true,
        };
        let rules = Rules::with_extra(std::slice::from_ref(&spec)).unwrap();
        assert_eq!(rules.rules().len(), builtin_defs().len() + 1);
        assert_eq!(rules.matching("Download our app now"), vec!["site-promo"]);
        assert!(
            rules
                .clean_display(&["Body.", "Download our app now"])
                .len()
                == 1
        );

        let bad = RuleSpec {
            pattern: "(unclosed".into(),
            ..spec.clone()
        };
        let err = Rules::with_extra(&[bad]).unwrap_err();
        assert!(matches!(err, RuleError::InvalidPattern { .. }));
        assert!(err.to_string().contains("site-promo"), "{err}");

        let bad = RuleSpec {
            position: "middle".into(),
            ..spec.clone()
        };
        let err = Rules::with_extra(&[bad]).unwrap_err();
        assert!(err.to_string().contains("site-promo") && err.to_string().contains("middle"));

        let bad = RuleSpec {
            pattern: ".*".into(),
            ..spec.clone()
        };
        assert!(matches!(
            Rules::with_extra(&[bad]),
            Err(RuleError::MatchesEmpty { .. })
        ));

        let bad = RuleSpec {
            kind: Some("banana".into()),
            ..spec
        };
        assert!(matches!(
            Rules::with_extra(&[bad]),
            Err(RuleError::UnknownKind { .. })
        ));
    }
}
