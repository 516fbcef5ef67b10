//! Entry normalization: turns one raw feed entry into an [`Article`] with a stable key,
//! a canonical URL, clean display text and fingerprint-ready text.
//!
//! The pipeline per entry is: HTML -> display paragraphs ([`text::html_to_text`]), junk lines
//! dropped from display, wire boilerplate stripped ([`boilerplate::Rules`]), the headline
//! echo removed, then every paragraph is fingerprint-normalized ([`text::fingerprint_text`]).
//! Everything is linear in the input size; nothing here panics on input data.

pub mod boilerplate;
pub mod date;
pub mod lang;
mod rule_filter;
mod swar;
pub mod text;
pub mod title;
pub mod url;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fingerprint::entities::EntityMask;

pub use boilerplate::{Position, Rule, RuleError, RuleKind, RuleSpec, Rules};
pub use date::{choose_date, parse_date};
pub use lang::Script;
pub use text::{fingerprint_text, html_to_text, plain_to_text};
pub use title::strip_site_name;
pub use url::canonical_url;

/// One feed entry as the parse stage hands it over: raw strings, nothing cleaned yet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawEntry {
    /// The entry's own id (RSS guid / Atom id / JSON Feed id) when the feed gave one; never a generated id.
    pub guid: Option<String>,
    /// The entry's link (first alternate link), already resolved against the feed URL when relative.
    pub link: Option<String>,
    /// Title, possibly with markup or entities.
    pub title: Option<String>,
    /// Summary/description, possibly HTML (possibly double-escaped: `&lt;p&gt;...`).
    pub summary: Option<String>,
    /// Full content (content:encoded / atom content), possibly HTML.
    pub content: Option<String>,
    /// Publication date as parsed by the parse stage.
    pub published: Option<chrono::DateTime<chrono::Utc>>,
    /// Last-update date as parsed by the parse stage.
    pub updated: Option<chrono::DateTime<chrono::Utc>>,
    /// Author names as given.
    pub authors: Vec<String>,
    /// Language declared by the entry or feed (e.g. "en-us"), if any.
    pub language: Option<String>,
    /// Which of the strings above the feed declares plain text.
    pub plain: PlainText,
}

/// Which of a [`RawEntry`]'s strings its feed declares plain text: Atom's `type="text"` (the
/// default) and JSON Feed's `title`, `summary` and `content_text`. They are read literally
/// ([`text::plain_to_text`]): a `<` or `&` in them is a character, not markup. RSS declares
/// nothing, and its titles and descriptions carry HTML and entities: never set for RSS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlainText {
    /// The title is plain text.
    pub title: bool,
    /// The summary is plain text.
    pub summary: bool,
    /// The content is plain text.
    pub content: bool,
}

/// Where [`Article::published`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DateSource {
    /// The entry's published date.
    Published,
    /// The entry's updated date (no published date given).
    Updated,
    /// Neither date given: the time the entry was first normalized (`NormalizeOptions::now`).
    FirstSeen,
    /// The chosen date lay more than `max_future` ahead of now and was replaced by now.
    ClampedFuture,
}

impl DateSource {
    /// Whether the feed gave the date (published or updated), not a stand-in for it.
    pub fn from_feed(self) -> bool {
        matches!(self, DateSource::Published | DateSource::Updated)
    }

    /// Its name where it is shown (`normalize`, and as the stored article's `date_source`
    /// in `export` and the API): `published`, `updated`, `first_seen`, `clamped_future`.
    pub fn name(self) -> &'static str {
        match self {
            DateSource::Published => "published",
            DateSource::Updated => "updated",
            DateSource::FirstSeen => "first_seen",
            DateSource::ClampedFuture => "clamped_future",
        }
    }
}

/// A normalized entry, ready for fingerprinting and storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Stable entry key: `g:<guid>`, else `u:<canonical url>`, else `h:<xxh3 hex>` of the fingerprint.
    pub key: String,
    /// Canonical URL of the entry (tracking parameters, fragments and AMP variants folded).
    pub url: Option<String>,
    /// Display title: clean text, entities decoded, whitespace collapsed.
    pub title: String,
    /// Display text: readable plain text, paragraphs separated by `"\n\n"`.
    pub text: String,
    /// Fingerprint title: fingerprint-normalized, site-name prefix/suffix removed.
    pub fp_title: String,
    /// Fingerprint text of the body, boilerplate removed, paragraphs separated by `"\n"`;
    /// empty for title-only items.
    pub fp_text: String,
    /// The article's date (see [`date_source`](Self::date_source)).
    pub published: DateTime<Utc>,
    /// Where `published` came from.
    pub date_source: DateSource,
    /// ISO 639-1 code (or 639-3 when there is no 639-1 code), detected or declared.
    pub language: Option<String>,
    /// Dominant writing system, used to pick word or character shingles.
    pub script: Script,
    /// Names of the lead (see [`crate::fingerprint::entities`]), from the cleaned body before
    /// it is lowercased.
    pub entities: u64,
}

/// Settings for [`normalize`].
#[derive(Debug, Clone)]
pub struct NormalizeOptions {
    /// The current time: used for undated entries and to clamp future dates.
    pub now: DateTime<Utc>,
    /// How far ahead of `now` a date may lie before it is clamped to `now` (default 1 day).
    pub max_future: chrono::Duration,
    /// Boilerplate rules to apply.
    pub rules: Arc<Rules>,
    /// Run language detection on entries that declare no language (~40 µs each). The
    /// ingest stage turns it off for the rest of a feed once detection found nothing on the
    /// feed's first entry; the script is always detected.
    pub detect_language: bool,
}

/// How far ahead of now the ingest lets a feed's date lie before it clamps it
/// ([`NormalizeOptions::max_future`]).
pub const MAX_FUTURE: chrono::Duration = chrono::Duration::days(1);

impl NormalizeOptions {
    /// Options with the given `now`, a one-day `max_future` and the built-in rules.
    pub fn new(now: DateTime<Utc>) -> Self {
        NormalizeOptions {
            now,
            max_future: MAX_FUTURE,
            rules: Rules::shared_default(),
            detect_language: true,
        }
    }
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        Self::new(Utc::now())
    }
}

/// The language of one poll of a feed, for its entries that declare none.
///
/// Language detection costs ~40 µs an entry, more than the rest of normalization, and the
/// entries of one feed share a language. So the first entry without a declared language is
/// detected and its answer stands in as the declared language of the poll's other such
/// entries ([`normalize`] still detects an entry whose script does not fit it); when
/// [`LANGUAGE_TRIES`] entries in a row give nothing reliable, the rest are not tried either.
/// Start a new one per poll.
#[derive(Debug, Default)]
pub struct FeedLanguage {
    detected: Option<String>,
    /// Undeclared entries tried without a reliable answer.
    failed: u8,
}

/// Undeclared entries of a poll tried before detection gives up for it: a first entry of one
/// short line ("Kate Beckinsale is speaking out.") left a whole poll of an English feed
/// without a language.
pub const LANGUAGE_TRIES: u8 = 3;

impl FeedLanguage {
    /// Normalizes `raw` as the next entry of the poll; sets `raw.language` when the entry has
    /// none and one was detected earlier.
    pub fn normalize(&mut self, raw: &mut RawEntry, opts: &NormalizeOptions) -> Article {
        let declared = raw.language.is_some();
        if declared {
            return normalize(raw, opts);
        }
        // Set on the entry itself: a copy of the entry (its HTML) per item cost more.
        raw.language.clone_from(&self.detected);
        let mut article = if self.failed >= LANGUAGE_TRIES && opts.detect_language {
            let quiet = NormalizeOptions {
                detect_language: false,
                ..opts.clone()
            };
            normalize(raw, &quiet)
        } else {
            normalize(raw, opts)
        };
        match &self.detected {
            // A stand-in the item's script cannot be written in is no answer: a feed whose
            // first item was Arabic labelled its short English and Hebrew items "ar". (A
            // language the feed itself declares is its word, and stays.)
            Some(stand_in)
                if article.language.as_ref() == Some(stand_in)
                    && !lang::script_fits(stand_in, article.script) =>
            {
                article.language = None;
            }
            Some(_) => {}
            None => {
                self.detected.clone_from(&article.language);
                if self.detected.is_none() {
                    self.failed = self.failed.saturating_add(1);
                }
            }
        }
        article
    }
}

/// What of an entry's title, summary or content is read: the first 2 MiB of its text, once
/// the markup is gone (cutting the markup could leave a `<script>` open, whose code would
/// then be read as words). Texts are stored cut at 256 KiB anyway
/// (`crate::ingest::MAX_TEXT_BYTES`), but each paragraph costs its own small allocations on
/// the way: one 8 MB description of two-character list items took 220 MB to normalize, and
/// a body may be 16 MiB.
pub const MAX_FIELD_BYTES: usize = 2 << 20;

/// `text` cut to [`MAX_FIELD_BYTES`]: at the last paragraph break before the limit when there
/// is one in its second half, else at a character boundary.
fn capped(mut text: String) -> String {
    if text.len() <= MAX_FIELD_BYTES {
        return text;
    }
    let mut at = boilerplate::floor_boundary(&text, MAX_FIELD_BYTES);
    if let Some(p) = memchr::memmem::rfind(&text.as_bytes()[..at], b"\n\n") {
        if p >= MAX_FIELD_BYTES / 2 {
            at = p;
        }
    }
    text.truncate(at);
    text
}

/// Normalizes one raw entry. Never panics; every field may be arbitrary text.
pub fn normalize(raw: &RawEntry, opts: &NormalizeOptions) -> Article {
    let rules: &Rules = &opts.rules;

    // Title: markup stripped, paragraphs folded into one line.
    let title = raw
        .title
        .as_deref()
        .map(|t| {
            let t = capped(if raw.plain.title {
                text::plain_to_text(t)
            } else {
                html_to_text(&text::protect_bracketed_names(t))
            });
            // most titles are one paragraph: no search (and no new string) then
            if memchr::memchr(b'\n', t.as_bytes()).is_some() {
                t.replace("\n\n", " ")
            } else {
                t
            }
        })
        .unwrap_or_default();
    // Body: the longer of content and summary (some feeds put a teaser in one of them).
    let to_text = |plain: bool| -> fn(&str) -> String {
        if plain {
            text::plain_to_text
        } else {
            html_to_text
        }
    };
    let content = raw
        .content
        .as_deref()
        .map(to_text(raw.plain.content))
        .map(capped)
        .unwrap_or_default();
    let summary = raw
        .summary
        .as_deref()
        .map(to_text(raw.plain.summary))
        .map(capped)
        .unwrap_or_default();
    let body = if summary.len() > content.len() {
        summary
    } else {
        content
    };

    // `html_to_text` separates paragraphs by "\n\n" and emits no other newline.
    let paragraphs: Vec<&str> = text::lines(&body).filter(|p| !p.is_empty()).collect();
    let display = rules.clean_display(&paragraphs);
    let text = display.join("\n\n");

    let FpBody {
        fp_title,
        fp_text,
        entities,
    } = fp_body(&title, &display, rules, false);

    let url = article_url(raw);
    let (published, date_source) =
        choose_date(raw.published, raw.updated, opts.now, opts.max_future);
    let (language, script) = if opts.detect_language || raw.language.is_some() {
        lang::detect(&title, &text, raw.language.as_deref())
    } else {
        let sample = if text.is_empty() { &title } else { &text };
        (None, lang::detect_script(sample))
    };
    let key = make_key(raw, url.as_deref(), &fp_title, &fp_text);

    Article {
        key,
        url,
        title,
        text,
        fp_title,
        fp_text,
        published,
        date_source,
        language,
        script,
        entities,
    }
}

/// What [`fp_body`] derives from a title and the display paragraphs of a body.
struct FpBody {
    /// The fingerprint title (site name removed).
    fp_title: String,
    /// The fingerprint paragraphs of the body, joined by `"\n"`.
    fp_text: String,
    /// The entity mask of the body's lead.
    entities: u64,
}

/// The fingerprint side of a body, from its display title and paragraphs: every boilerplate
/// rule applied, each paragraph fingerprint-normalized, the headline echoed as one of the
/// first paragraphs dropped, and the names of the lead collected. Shared by [`normalize`] and
/// the functions that redo it on stored articles, so that all of them agree.
///
/// `stored` says the body was cleaned before (a stored article's): its rule hits are not
/// counted again ([`Rules::hits`]).
fn fp_body(title: &str, display: &[Cow<'_, str>], rules: &Rules, stored: bool) -> FpBody {
    let short_title = strip_site_name(title);
    let fp_title = fingerprint_text(short_title);
    let fp_full_title = (short_title.len() != title.len()).then(|| fingerprint_text(title));
    let cleaned = if stored {
        rules.reclean_fingerprint(display)
    } else {
        rules.clean_fingerprint(display)
    };
    // Every paragraph is folded straight into the joined text (no String per paragraph)
    // and taken back out when it is empty or the headline echo.
    let mut fp_text = String::with_capacity(cleaned.iter().map(|p| p.len() + 1).sum());
    let mut entities = EntityMask::new();
    for (i, para) in cleaned.iter().enumerate() {
        let start = fp_text.len();
        if start > 0 {
            fp_text.push('\n');
        }
        let body = fp_text.len();
        text::fingerprint_text_into(para, &mut fp_text);
        let fp = &fp_text[body..];
        // Empty, or the headline echoed as one of the first body paragraphs.
        if fp.is_empty()
            || (i < 4 && start == 0 && (fp == fp_title || fp_full_title.as_deref() == Some(fp)))
        {
            fp_text.truncate(start);
            continue;
        }
        entities.add_paragraph(para);
    }
    FpBody {
        fp_title,
        fp_text,
        entities: entities.finish(),
    }
}

/// The display paragraphs of a stored article's text (as [`normalize`] joined them).
fn stored_paragraphs(text: &str) -> Vec<Cow<'_, str>> {
    text.split("\n\n")
        .filter(|p| !p.is_empty())
        .map(Cow::Borrowed)
        .collect()
}

/// `a` with the display text of its stored article (`text`, as [`normalize`] returned it)
/// in place of its own empty one, its fingerprint side derived again from the two: a poll
/// whose item lost its description keeps the lead the archive has (`crate::fold`, rule 1).
/// The stored text's `language` stays with it.
pub fn with_stored_text(
    mut a: Article,
    text: &str,
    language: Option<String>,
    rules: &Rules,
) -> Article {
    let FpBody {
        fp_title,
        fp_text,
        entities,
    } = fp_body(&a.title, &stored_paragraphs(text), rules, true);
    a.script = lang::detect_script(text);
    a.text = text.to_owned();
    a.fp_title = fp_title;
    a.fp_text = fp_text;
    a.entities = entities;
    a.language = language;
    a
}

/// The fingerprint text of a stored article, from its display title and text as
/// [`normalize`] returned them (same cleaning and headline-echo rule): for comparing a short
/// item with a stored long one on their texts (`crate::fold`, short → long).
pub fn stored_fp_text(title: &str, text: &str, rules: &Rules) -> String {
    fp_body(title, &stored_paragraphs(text), rules, true).fp_text
}

/// The entity mask (see [`crate::fingerprint::entities`]) of a stored article, from its display
/// title and text as [`normalize`] returned them: the same paragraphs, cleaning and headline-echo
/// rule as `normalize` uses. For the schema-3 migration, which fills in the masks of articles
/// stored before them.
pub fn lead_entities(title: &str, text: &str, rules: &Rules) -> u64 {
    fp_body(title, &stored_paragraphs(text), rules, true).entities
}

/// The stable key of an entry, as [`normalize`] computes it with the built-in rules:
/// `"g:" + guid` (trimmed, non-empty), else `"u:" + canonical url`, else
/// `"h:" + hex(xxh3_64(fp_title + "\n" + fp_text))`.
///
/// Only the last form depends on the boilerplate rules; with operator-added rules
/// prefer `normalize(raw, opts).key`.
pub fn entry_key(raw: &RawEntry) -> String {
    if let Some(g) = nonempty_guid(raw.guid.as_deref()) {
        return guid_key(g);
    }
    if let Some(u) = article_url(raw) {
        return url_key(&u, raw.link.as_deref());
    }
    let opts = NormalizeOptions::new(DateTime::<Utc>::UNIX_EPOCH);
    normalize(raw, &opts).key
}

/// The key of an entry without a GUID, by its canonical URL `url`, and by the anchor of its
/// raw `link` when it has one: a live blog's posts all link to one page (`…/live#post-1`,
/// `#post-2`), and a feed that carried one post at a time had each overwrite the last. A
/// fragment that looks like tracking (`#xtor=RSS-1`, with `=` or `&`) is no anchor; a route
/// the canonical URL keeps (`#!/…`) is, whatever its length and characters.
fn url_key(url: &str, link: Option<&str>) -> String {
    // A route is the link's anchor, as it was before the canonical URL kept it: the keys
    // of short routes stay what they were. A long one (`#!/news/2026/12/06/a-long-slug`)
    // or one with a query (`#!/article?id=7`) passed for tracking, and every article of
    // such a site had its front page's key: each new one overwrote the last.
    let (page, route) = match url.split_once('#') {
        Some((page, route)) => (page, Some(route)),
        None => (url, None),
    };
    let anchor = link
        .and_then(|l| l.split_once('#'))
        .map(|(_, f)| f.trim())
        .filter(|f| !f.is_empty() && f.len() <= 64 && !f.contains(['=', '&']));
    match anchor.or(route) {
        Some(f) => format!("u:{page}#{f}"),
        None => format!("u:{page}"),
    }
}

/// The longest GUID kept whole in a key, in bytes (URLs, the other key, are at most 8 KiB).
pub const MAX_GUID_KEY_BYTES: usize = 1024;

/// The key of an entry by its GUID `g`: `"g:" + g`, or for a GUID longer than
/// [`MAX_GUID_KEY_BYTES`], `"gh:" + hex(xxh3_128(g))`. A feed of megabyte GUIDs grew the store
/// by their size at every poll (the key is stored with the article and in the key index)
/// and sent them in every `/articles` answer.
fn guid_key(g: &str) -> String {
    if g.len() <= MAX_GUID_KEY_BYTES {
        format!("g:{g}")
    } else {
        format!("gh:{:032x}", xxhash_rust::xxh3::xxh3_128(g.as_bytes()))
    }
}

fn nonempty_guid(guid: Option<&str>) -> Option<&str> {
    guid.map(str::trim).filter(|g| !g.is_empty())
}

/// Canonical URL from the link, else from a GUID that is itself an http(s) URL.
fn article_url(raw: &RawEntry) -> Option<String> {
    raw.link
        .as_deref()
        .and_then(|l| canonical_url(l, None))
        .or_else(|| {
            let g = nonempty_guid(raw.guid.as_deref())?;
            if guid_is_url(g) {
                canonical_url(g, None)
            } else {
                None
            }
        })
}

/// Whether an entry's GUID is an http(s) URL: the article's URL when the entry has no
/// link (so the parse stage does not put an image or a media file in the link's place).
pub fn guid_is_url(guid: &str) -> bool {
    let g = guid.trim();
    g.starts_with("http://") || g.starts_with("https://")
}

fn make_key(raw: &RawEntry, url: Option<&str>, fp_title: &str, fp_text: &str) -> String {
    if let Some(g) = nonempty_guid(raw.guid.as_deref()) {
        return guid_key(g);
    }
    if let Some(u) = url {
        return url_key(u, raw.link.as_deref());
    }
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(fp_title.as_bytes());
    h.update(b"\n");
    h.update(fp_text.as_bytes());
    format!("h:{:016x}", h.digest())
}
