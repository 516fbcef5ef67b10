//! A body that is an HTML page, not a feed: how it is recognised, and the feeds it announces.

use std::sync::LazyLock;

use regex::bytes::Regex;

/// At most this many announced feeds are named in a [`ParseError::NotAFeed`](super::ParseError::NotAFeed).
pub const MAX_ANNOUNCED: usize = 3;

pub(super) fn announced(feeds: &[String]) -> String {
    if feeds.is_empty() {
        String::new()
    } else {
        format!(
            " that announces {}: {} (set the source's url to the feed)",
            if feeds.len() == 1 { "a feed" } else { "feeds" },
            feeds.join(", ")
        )
    }
}

/// The feeds an HTML page announces in its `<link rel="alternate">` elements with a feed
/// type, resolved against `page` (http and https only, each once, in page order). Read from
/// the first 256 KiB, where a page's head is.
pub(super) fn announced_feeds(html: &[u8], page: &str) -> Vec<String> {
    static LINK: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"(?i)<link\b[^>]{0,2000}>").ok());
    static ATTR: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r#"(?i)\b(rel|type|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#).ok()
    });
    let (Some(link), Some(attr), Ok(base)) = (&*LINK, &*ATTR, url::Url::parse(page)) else {
        return Vec::new();
    };
    let html = &html[..html.len().min(256 * 1024)];
    let mut feeds: Vec<String> = Vec::new();
    for tag in link.find_iter(html) {
        let (mut rel, mut kind, mut href) = (String::new(), String::new(), None);
        for a in attr.captures_iter(tag.as_bytes()) {
            let value = a
                .get(2)
                .or_else(|| a.get(3))
                .or_else(|| a.get(4))
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            match a[1].to_ascii_lowercase().as_slice() {
                b"rel" => rel = value.to_ascii_lowercase(),
                b"type" => kind = value.trim().to_ascii_lowercase(),
                _ => href = Some(html_escape::decode_html_entities(value.trim()).into_owned()),
            }
        }
        let is_feed = matches!(
            kind.as_str(),
            "application/rss+xml"
                | "application/atom+xml"
                | "application/feed+json"
                | "application/json"
        );
        if !is_feed || !rel.split_ascii_whitespace().any(|r| r == "alternate") {
            continue;
        }
        let Some(url) = href.and_then(|h| base.join(&h).ok()) else {
            continue;
        };
        let url = String::from(url);
        if url.starts_with("http") && url.len() <= 500 && !feeds.contains(&url) {
            feeds.push(url);
            if feeds.len() == MAX_ANNOUNCED {
                break;
            }
        }
    }
    feeds
}

/// An HTML document (not an XML feed that embeds HTML): `<!DOCTYPE html` or `<html` before any
/// feed root element.
pub(super) fn looks_like_html(head: &[u8]) -> bool {
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let find = |needle: &[u8]| lower.windows(needle.len()).position(|w| w == needle);
    let html = find(b"<!doctype html").or_else(|| find(b"<html"));
    let feed = [&b"<rss"[..], b"<feed", b"<rdf", b"<?xml-stylesheet"]
        .iter()
        .filter_map(|n| find(n))
        .min();
    match (html, feed) {
        (Some(h), Some(f)) => h < f,
        (Some(_), None) => true,
        _ => false,
    }
}
