//! `wirefold export`: every stored article as one JSON object per line.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::http::rfc3339;
use crate::storage::{ArticleRecord, Store};

/// One exported line.
#[derive(Debug, Serialize)]
pub struct ExportedArticle<'a> {
    /// Article id.
    pub id: u64,
    /// Source name.
    pub source: &'a str,
    /// Stable entry key within the source.
    pub key: &'a str,
    /// Canonical URL.
    pub url: Option<&'a str>,
    /// Display title.
    pub title: &'a str,
    /// Publication date (RFC 3339).
    pub published: Option<String>,
    /// Where `published` comes from (`published`, `updated`, `first_seen`, `clamped_future`).
    pub date_source: &'static str,
    /// When wirefold first saw it (RFC 3339).
    pub first_seen: Option<String>,
    /// When its content last changed (RFC 3339).
    pub updated: Option<String>,
    /// Content changes after the first sighting (as `GET /articles/{id}` has it).
    pub revisions: u32,
    /// The story it belongs to.
    pub story: u64,
    /// Similarity to the copy it was matched with.
    pub similarity: f32,
    /// Detected language.
    pub language: Option<&'a str>,
    /// Display text.
    pub text: &'a str,
}

impl<'a> From<&'a ArticleRecord> for ExportedArticle<'a> {
    fn from(a: &'a ArticleRecord) -> Self {
        Self {
            id: a.id,
            source: &a.source,
            key: &a.key,
            url: a.url.as_deref(),
            title: &a.title,
            published: rfc3339(a.published),
            date_source: a.date_origin.name(),
            first_seen: rfc3339(a.first_seen),
            updated: rfc3339(a.updated),
            revisions: a.revisions,
            story: a.story,
            similarity: a.similarity,
            language: a.language.as_deref(),
            text: &a.text,
        }
    }
}

/// Writes the articles first seen at or after `since` to `out`; returns how many.
pub fn export(
    config: &Config,
    since: Option<DateTime<Utc>>,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    if let Some(e) = crate::storage::interrupted_restore(&config.store.path) {
        return Err(e.into());
    }
    if !config.store.path.exists() {
        anyhow::bail!(
            "no store at {} (has the daemon run yet?)",
            config.store.path.display()
        );
    }
    let store = Store::open(&config.store.path, config.store.flush_every)?;
    let since = since.map(|t| t.timestamp_millis()).unwrap_or(i64::MIN);
    let mut n = 0;
    for a in store.articles_from(0) {
        let a = a?;
        if a.first_seen < since {
            continue;
        }
        serde_json::to_writer(&mut *out, &ExportedArticle::from(&a))?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}
