//! PLACEHOLDER until the normalize module lands.
pub mod date;
use chrono::{DateTime, Utc};
use std::sync::Arc;
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawEntry {
    pub guid: Option<String>,
    pub link: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub content: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub language: Option<String>,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSource {
    Published,
    Updated,
    FirstSeen,
    ClampedFuture,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    Latin,
    Cyrillic,
    Arabic,
    Cjk,
    Thai,
    Other,
}
#[derive(Debug, Clone)]
pub struct Article {
    pub key: String,
    pub url: Option<String>,
    pub title: String,
    pub text: String,
    pub fp_title: String,
    pub fp_text: String,
    pub published: DateTime<Utc>,
    pub date_source: DateSource,
    pub language: Option<String>,
    pub script: Script,
}
#[derive(Debug, Default)]
pub struct Rules;
pub struct NormalizeOptions {
    pub now: DateTime<Utc>,
    pub max_future: chrono::Duration,
    pub rules: Arc<Rules>,
}
pub fn entry_key(raw: &RawEntry) -> String {
    if let Some(g) = raw.guid.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        return format!("g:{g}");
    }
    if let Some(l) = raw.link.as_deref() {
        return format!("u:{l}");
    }
    format!(
        "h:{:016x}",
        xxhash_rust::xxh3::xxh3_64(format!("{:?}{:?}", raw.title, raw.content).as_bytes())
    )
}
pub fn normalize(raw: &RawEntry, opts: &NormalizeOptions) -> Article {
    let text = raw
        .content
        .clone()
        .or(raw.summary.clone())
        .unwrap_or_default();
    let title = raw.title.clone().unwrap_or_default();
    Article {
        key: entry_key(raw),
        url: raw.link.clone(),
        fp_title: title.to_lowercase(),
        fp_text: text.to_lowercase(),
        title,
        text,
        published: raw.published.unwrap_or(opts.now),
        date_source: DateSource::Published,
        language: None,
        script: Script::Latin,
    }
}
