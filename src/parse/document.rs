//! What feed-rs leaves out of a parsed feed, read again from the document's text: RSS
//! `pubDate`s it overwrote, FeedBurner's original links, an item's Dublin Core, iTunes or
//! Media RSS headline and text, a path GUID's link, and `<skipHours>`/`<skipDays>`.

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::nesting;
use crate::normalize::RawEntry;

/// feed-rs gives an RSS item the date of whichever of `<pubDate>` and `<dc:date>` comes
/// last, even one it cannot read (`garbage`, empty, 1970): a good `pubDate` was lost and
/// the item dated when first seen. Items left without a usable date take their `pubDate`
/// again, read from the document, when its items are the parsed entries one for one.
pub(super) fn keep_pub_dates(
    entries: &mut [RawEntry],
    xml: &[u8],
    fetched_at: chrono::DateTime<chrono::Utc>,
) {
    use crate::normalize::date::{is_placeholder, parse_date_near};
    static PUB_DATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?s)<pubDate>\s*(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?\s*</pubDate>")
            .expect("valid regex")
    });
    let undated = |e: &RawEntry| e.published.is_none_or(is_placeholder);
    if !entries.iter().any(undated)
        || memchr::memmem::find(xml, b"pubDate>").is_none()
        || memchr::memmem::find(xml, b":date>").is_none()
    {
        return;
    }
    let Some(items) = raw_items(xml, entries.len()) else {
        return;
    };
    for (entry, item) in entries.iter_mut().zip(items) {
        if !undated(entry) {
            continue;
        }
        let date = PUB_DATE
            .captures(item)
            .and_then(|c| std::str::from_utf8(c.get(1)?.as_bytes()).ok())
            .and_then(|s| parse_date_near(s.trim(), fetched_at))
            .filter(|d| !is_placeholder(*d));
        if date.is_some() {
            entry.published = date;
        }
    }
}

/// A feed served through FeedBurner links each item to its proxy
/// (`feedproxy.google.com/~r/…`) and gives the publisher's own URL in `feedburner:origLink`,
/// which feed-rs does not read: the article took the proxy URL, and its copy on the
/// publisher's own feed another canonical URL. Entries take the original link, read from the
/// document, when its items (or Atom entries) are the parsed entries one for one.
pub(super) fn original_links(entries: &mut [RawEntry], xml: &[u8]) {
    static ORIG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?s)<(?:[\w.-]+:)?origLink>\s*(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?\s*</(?:[\w.-]+:)?origLink>")
            .expect("valid regex")
    });
    if memchr::memmem::find(xml, b"origLink>").is_none() {
        return;
    }
    let Some(items) = raw_items(xml, entries.len()) else {
        return;
    };
    for (entry, item) in entries.iter_mut().zip(items) {
        let original = ORIG
            .captures(item)
            .and_then(|c| std::str::from_utf8(c.get(1)?.as_bytes()).ok())
            .and_then(|s| quick_xml::escape::unescape(s.trim()).ok())
            .filter(|s| url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https")));
        if let Some(link) = original {
            entry.link = Some(link.into_owned());
        }
    }
}

/// What feed-rs leaves out of an entry that lacks a headline, a text or a link, read from
/// the document when its items are the parsed entries one for one, as other readers do
/// (gofeed's item fallbacks):
/// - an item without `<title>` takes its own `<dc:title>`, else its `<itunes:title>`, else
///   its `<media:title>`; an item without `<description>` or content takes its
///   `<dc:description>`, else its `<itunes:summary>`, else its `<media:description>` (a
///   video's, on YouTube's feeds). feed-rs drops the Dublin Core ones and files the others
///   under the entry's media. Only the item's own elements count (or, for Media RSS, those
///   of a `<media:group>` of its own), not those inside a `<media:content>` (a photo's title
///   is a file name or a caption);
/// - an item without a link whose GUID is a path (`<guid>/news/123</guid>`, a permalink unless
///   it says `isPermaLink="false"`) links to that path on the site the feed is about (its
///   `links`: RSS `<channel><link>`, Atom's alternate link), else on the feed's `url`.
///   feed-rs resolves relative links, not GUIDs, and `normalize` takes only an absolute GUID.
pub(super) fn raw_item_fallbacks(
    entries: &mut [RawEntry],
    xml: &[u8],
    links: &[feed_rs::model::Link],
    url: &str,
) {
    static ELEMENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?s)<(dc|itunes|media):(title|description|summary)(?:\s[^>]*)?>\s*(?:<!\[CDATA\[(.*?)\]\]>|([^<]*))\s*</(?:dc|itunes|media):(?:title|description|summary)>",
        )
        .expect("valid regex")
    });
    static NOT_PERMALINK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?i)<guid\s[^>]*isPermaLink\s*=\s*["']\s*false"#).expect("valid regex")
    });
    let blank = |t: Option<&str>| t.is_none_or(|t| t.trim().is_empty());
    let untitled = |e: &RawEntry| blank(e.title.as_deref());
    let textless = |e: &RawEntry| blank(e.summary.as_deref()) && blank(e.content.as_deref());
    let path_guid = |e: &RawEntry| {
        e.link.is_none()
            && e.guid.as_deref().is_some_and(|g| {
                let g = g.trim();
                // not `//host/…`, nor `/\host/…`, which URL parsers read as another host
                g.starts_with('/') && !g.starts_with("//") && !g.contains('\\')
            })
    };
    // Most feeds have neither kind of element: no second scan of their body for items.
    let extended = [b"<dc:".as_slice(), b"<itunes:", b"<media:"]
        .iter()
        .any(|tag| memchr::memmem::find(xml, tag).is_some());
    if !entries
        .iter()
        .any(|e| (extended && (untitled(e) || textless(e))) || path_guid(e))
    {
        return;
    }
    let Some(items) = raw_items(xml, entries.len()) else {
        return;
    };
    // Read once, when the first path GUID needs it.
    let site = std::cell::OnceCell::new();
    let site = || {
        site.get_or_init(|| {
            links
                .iter()
                .filter(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
                .map(|l| l.href.as_str())
                .chain([url])
                .find_map(|href| {
                    url::Url::parse(href)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                })
        })
        .as_ref()
    };
    for (entry, item) in entries.iter_mut().zip(items) {
        let (want_title, want_text) = (extended && untitled(entry), extended && textless(entry));
        if want_title || want_text {
            // The first non-blank of each: dc:title, itunes:title, media:title,
            // dc:description, itunes:summary, media:description.
            let mut found: [Option<String>; 6] = Default::default();
            let mut open = nesting::OpenAt::new(item);
            for c in ELEMENT.captures_iter(item) {
                let slot = match (
                    c.get(1).map(|m| m.as_bytes()),
                    c.get(2).map(|m| m.as_bytes()),
                ) {
                    (Some(b"dc"), Some(b"title")) => 0,
                    (Some(b"itunes"), Some(b"title")) => 1,
                    (Some(b"media"), Some(b"title")) => 2,
                    (Some(b"dc"), Some(b"description")) => 3,
                    (Some(b"itunes"), Some(b"summary")) => 4,
                    (Some(b"media"), Some(b"description")) => 5,
                    _ => continue,
                };
                if found[slot].is_some() {
                    continue;
                }
                // the item's own: one element (the item) open where it starts; for Media
                // RSS also the item's `<media:group>`
                let own = c.get(0).is_some_and(|m| match open.at(m.start()) {
                    [_] => true,
                    [_, group] => slot % 3 == 2 && *group == b"media:group",
                    _ => false,
                });
                if !own {
                    continue;
                }
                // CDATA as it is, else the text unescaped (an HTML entity such as `&eacute;`,
                // which XML does not know, is left for the HTML reading after)
                found[slot] = match (c.get(3), c.get(4)) {
                    (Some(cdata), _) => std::str::from_utf8(cdata.as_bytes())
                        .ok()
                        .map(std::borrow::Cow::Borrowed),
                    (None, Some(t)) => std::str::from_utf8(t.as_bytes()).ok().map(|t| {
                        let t = t.trim();
                        quick_xml::escape::unescape(t).unwrap_or(std::borrow::Cow::Borrowed(t))
                    }),
                    (None, None) => None,
                }
                .filter(|t| !t.trim().is_empty())
                .map(std::borrow::Cow::into_owned);
            }
            let [dc_title, itunes_title, media_title, dc_text, itunes_text, media_text] = found;
            if want_title {
                if let Some(t) = dc_title.or(itunes_title).or(media_title) {
                    entry.title = Some(t);
                }
            }
            if want_text {
                if let Some(t) = dc_text.or(itunes_text).or(media_text) {
                    entry.summary = Some(t);
                }
            }
        }
        if path_guid(entry) && !NOT_PERMALINK.is_match(item) {
            let guid = entry.guid.as_deref().unwrap_or_default();
            if let Some(link) = site().and_then(|b| b.join(guid.trim()).ok()) {
                entry.link = Some(link.to_string());
            }
        }
    }
}

/// The document's RSS items or Atom entries as raw XML, for reading what feed-rs leaves out;
/// `None` unless they are the parsed entries one for one (`n` of them).
fn raw_items(xml: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    // Comments and CDATA sections are matched to be passed over: an item commented out, or
    // one quoted in a description, is no entry.
    static ITEM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?s)<!--.*?-->|<!\[CDATA\[.*?\]\]>|<(?:item|entry)[\s>].*?</(?:item|entry)>")
            .expect("valid regex")
    });
    let items: Vec<&[u8]> = ITEM
        .find_iter(xml)
        .map(|m| m.as_bytes())
        .filter(|m| !m.starts_with(b"<!"))
        .collect();
    (items.len() == n).then_some(items)
}

/// RSS `<skipHours>` and `<skipDays>` as bit masks (hours UTC; 24 is read as 0; days from
/// Monday). A mask that would skip every hour or every day is ignored as a mistake.
///
/// Reads the decoded body as bytes: the two sections are found with `memmem` (SIMD), not by
/// validating the body as UTF-8 again and searching it with `str::find` (two scans of every
/// body at ~10k instructions an item, callgrind; BENCHMARKS.md, issue 8).
pub fn skip_times(text: &[u8]) -> (u32, u8) {
    static HOUR: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"(?i)<hour>\s*(\d{1,2})\s*</hour>").ok());
    static DAY: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"(?i)<day>\s*([a-z]+)\s*</day>").ok());
    let section = |open: &[u8], close: &[u8]| -> Option<&[u8]> {
        let start = memchr::memmem::find(text, open)?;
        let end = memchr::memmem::find(&text[start..], close)?;
        Some(&text[start..start + end])
    };
    let mut hours = 0u32;
    if let (Some(s), Some(re)) = (section(b"<skipHours>", b"</skipHours>"), HOUR.as_ref()) {
        for c in re.captures_iter(s) {
            if let Some(h) = std::str::from_utf8(&c[1])
                .ok()
                .and_then(|h| h.parse::<u32>().ok())
            {
                if h <= 24 {
                    hours |= 1 << (h % 24);
                }
            }
        }
    }
    let mut days = 0u8;
    if let (Some(s), Some(re)) = (section(b"<skipDays>", b"</skipDays>"), DAY.as_ref()) {
        for c in re.captures_iter(s) {
            let d = match c[1].to_ascii_lowercase().as_slice() {
                b"monday" => 0,
                b"tuesday" => 1,
                b"wednesday" => 2,
                b"thursday" => 3,
                b"friday" => 4,
                b"saturday" => 5,
                b"sunday" => 6,
                _ => continue,
            };
            days |= 1 << d;
        }
    }
    if hours == (1 << 24) - 1 {
        hours = 0;
    }
    if days == 0x7f {
        days = 0;
    }
    (hours, days)
}
