//! `wirefold normalize FILE`: each entry of a feed file as the ingest stage normalizes it,
//! with the configured boilerplate rules (built-in and `[[normalize.rules]]`), one JSON object
//! per line. For writing and checking rules: what a rule removes is gone from
//! `fingerprint_text` (and from `text` with `drop_from_display`). Nothing is stored.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::Utc;
use serde::Serialize;

use crate::config::NormalizeConfig;
use crate::ingest::normalize_entries;
use crate::normalize::{Article, NormalizeOptions, Rules};
use crate::parse::parse_feed;

/// One printed line.
#[derive(Debug, Serialize)]
pub struct NormalizedEntry<'a> {
    /// Stable entry key within the feed.
    pub key: &'a str,
    /// Canonical URL.
    pub url: Option<&'a str>,
    /// Display title.
    pub title: &'a str,
    /// Publication date (RFC 3339, whole seconds, as `export` writes it).
    pub published: Option<String>,
    /// Where it came from: `published`, `updated`, `first_seen` (no date: now) or
    /// `clamped_future` (too far ahead: now), as `export` names it.
    pub date_source: &'static str,
    /// Detected or declared language.
    pub language: Option<&'a str>,
    /// Display text, paragraphs separated by a blank line.
    pub text: &'a str,
    /// The title as fingerprinted (site name cut, case-folded).
    pub fingerprint_title: &'a str,
    /// The text as fingerprinted: every rule applied, one paragraph a line.
    pub fingerprint_text: &'a str,
}

impl<'a> From<&'a Article> for NormalizedEntry<'a> {
    fn from(a: &'a Article) -> Self {
        Self {
            key: &a.key,
            url: a.url.as_deref(),
            title: &a.title,
            published: crate::http::rfc3339(a.published.timestamp_millis()),
            date_source: a.date_source.name(),
            language: a.language.as_deref(),
            text: &a.text,
            fingerprint_title: &a.fp_title,
            fingerprint_text: &a.fp_text,
        }
    }
}

/// Parses the feed file at `path`, normalizes its entries with `config`'s rules and writes
/// them to `out`; returns how many.
pub fn normalize_file(
    normalize: &NormalizeConfig,
    path: &Path,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    let body = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let url = std::path::absolute(path)
        .ok()
        .and_then(|p| url::Url::from_file_path(p).ok())
        .map_or_else(|| "file:///".to_owned(), String::from);
    // The parser's message may quote the file (a tag name): escaped as the daemon's log
    // escapes it, so that a feed's escape sequences and line breaks never reach the terminal.
    let mut feed = parse_feed(&body, &url, None)
        .map_err(|e| anyhow::anyhow!(crate::config::shown_message(&e.to_string())))
        .with_context(|| format!("parsing {}", path.display()))?;
    let rules = normalize
        .operator_table()
        .context("compiling normalize.rules")?
        .unwrap_or_else(Rules::shared_default);
    let opts = NormalizeOptions {
        rules,
        ..NormalizeOptions::new(Utc::now())
    };
    let mut n = 0;
    for a in normalize_entries(&mut feed.entries, &opts) {
        serde_json::to_writer(&mut *out, &NormalizedEntry::from(&a))?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}
