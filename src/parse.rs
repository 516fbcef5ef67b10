//! Parse stage: feed bytes → [`ParsedFeed`] of [`RawEntry`]s, with feed-rs.
//!
//! feed-rs reads RSS 0.9x/1.0/2.0, Atom and JSON Feed. It is given bytes already decoded to
//! UTF-8 by [`encoding`] (BOM, prolog, `Content-Type` charset and the usual mismatches; feed-rs
//! alone only reads the prolog). Two of its defaults are overridden:
//! - its id generator: feed-rs invents an id for an entry without one (a hash of link and
//!   title, or a random UUID when there is no link). Either changes when the title is edited
//!   or on every poll, so we register a generator that returns an empty string and leave the
//!   choice of a stable key to `normalize::entry_key` (GUID → canonical URL → content hash);
//! - its timestamp parser: ours (`normalize::date::parse_date`) reads the non-RFC dates real
//!   feeds carry.
//!
//! A document feed-rs refuses, or reads no entry from while it holds some, is repaired as
//! other feed readers take it (`repair`: a bare `&`, an unknown RSS version or namespace,
//! RSS 0.90, Atom 0.3, RSS 1.0 items without link) and parsed again.
//!
//! feed-rs does not read RSS `<skipHours>`/`<skipDays>`; [`skip_times`] picks them out of the
//! decoded text with two small regexes.

pub mod encoding;
mod nesting;
mod repair;

use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::normalize::RawEntry;

/// Why a body is not a feed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is empty or only whitespace.
    #[error("the response body is empty")]
    Empty,
    /// The body is an HTML page (an error page, a login wall, a CDN block, or the site's
    /// home page configured instead of its feed), not a feed. `feeds` are the feeds the page
    /// announces (`<link rel="alternate" type="application/rss+xml" href=…>`), for the
    /// operator to pick from; none is followed.
    #[error("not a feed: the body is an HTML page{}", announced(feeds))]
    NotAFeed {
        /// The announced feeds' URLs, resolved against the page's (at most [`MAX_ANNOUNCED`]).
        feeds: Vec<String>,
    },
    /// The body looks like XML or JSON but is not a feed feed-rs can read.
    #[error("malformed feed: {0}")]
    Malformed(String),
}

impl ParseError {
    /// The error class recorded on the source and counted in metrics.
    pub fn class(&self) -> &'static str {
        match self {
            ParseError::Empty => "empty_body",
            ParseError::NotAFeed { .. } => "not_a_feed",
            ParseError::Malformed(_) => "malformed_feed",
        }
    }
}

/// A parsed feed: its own metadata and its entries in document order.
#[derive(Debug, Default)]
pub struct ParsedFeed {
    /// The feed's title.
    pub title: Option<String>,
    /// RSS `<ttl>` in minutes, if given.
    pub ttl_minutes: Option<u32>,
    /// RSS `<skipHours>`: bit `h` set when hour `h` (UTC) is to be skipped.
    pub skip_hours: u32,
    /// RSS `<skipDays>`: bit `d` set when day `d` (0 = Monday) is to be skipped.
    pub skip_days: u8,
    /// The encoding the body was read as.
    pub encoding: &'static str,
    /// Whether invalid bytes were replaced while decoding.
    pub replaced_bytes: bool,
    /// Entries, in document order.
    pub entries: Vec<RawEntry>,
}

/// Parses a feed body fetched from `url` (used to resolve relative links); `content_type` is
/// the response's `Content-Type`, for its charset.
pub fn parse_feed(
    body: &[u8],
    url: &str,
    content_type: Option<&str>,
) -> Result<ParsedFeed, ParseError> {
    parse_feed_at(body, url, content_type, chrono::Utc::now())
}

/// [`parse_feed`] of a body fetched at `fetched_at` (a replayed capture's time): dates whose
/// day and month could be read either way are read as the nearer to it.
pub fn parse_feed_at(
    body: &[u8],
    url: &str,
    content_type: Option<&str>,
    fetched_at: chrono::DateTime<chrono::Utc>,
) -> Result<ParsedFeed, ParseError> {
    // gzip data the server did not label (a `.xml.gz` file): read as text it was "unable to
    // parse JSON", which named neither gzip nor the missing label.
    if body.starts_with(&[0x1f, 0x8b]) {
        return Err(ParseError::Malformed(
            "the body is still gzip-compressed data (served without Content-Encoding: gzip, \
             as a .gz file is, or compressed twice): label it so on the server, or keep the \
             feed uncompressed"
                .into(),
        ));
    }
    let decoded = encoding::to_utf8(body, content_type.and_then(crate::fetch::charset));
    let bytes: &[u8] = &decoded.bytes;
    let head = first_non_space(bytes);
    if head.is_empty() {
        return Err(ParseError::Empty);
    }
    if looks_like_html(head) {
        return Err(ParseError::NotAFeed {
            feeds: announced_feeds(bytes, url),
        });
    }
    // A parser per attempt: feed-rs keeps the Media RSS state of an entry in the parser, and
    // after a document failed within an entry a second parse by it panicked.
    let parser = || {
        feed_rs::parser::Builder::new()
            .base_uri(Some(url))
            .id_generator(|_, _, _| String::new())
            .timestamp_parser(move |s| crate::normalize::date::parse_date_near(s, fetched_at))
            .build()
    };
    // The XML reader under feed-rs has panicked on malformed documents (a declared encoding met
    // late, found by fuzzing; `to_utf8` now drops declarations): should another such input turn
    // up, a hostile body must give an error, not take the poll down.
    // Its report stays off stderr: the poll's error says it.
    let parse = |bytes: &[u8]| {
        // A stack overflow inside feed-rs is no panic: it would abort the daemon.
        if let Some(depth) = nesting::media_rss_too_deep(bytes, nesting::MAX_MEDIA_DEPTH) {
            return Err(ParseError::Malformed(format!(
                "Media RSS or iTunes elements nested {depth} deep or more (at most {} are read)",
                nesting::MAX_MEDIA_DEPTH
            )));
        }
        crate::telemetry::quietly_catching_panics(|| parser().parse(bytes))
            .map_err(|why| {
                ParseError::Malformed(format!("the XML reader failed on this document: {why}"))
            })?
            .map_err(|e| match e {
                feed_rs::parser::ParseFeedError::ParseError(
                    feed_rs::parser::ParseErrorKind::NoFeedRoot,
                ) => ParseError::Malformed(no_feed_root(bytes)),
                e => ParseError::Malformed(e.to_string()),
            })
    };
    // What the server called the body, when a body is no feed: `unable to parse JSON`
    // alone did not say that it came as an image.
    let served_as = |e: ParseError| match (e, content_type) {
        (ParseError::Malformed(m), Some(ct)) if !ct.trim().is_empty() => {
            ParseError::Malformed(format!("{m} (served as {})", ct.trim()))
        }
        (e, _) => e,
    };
    let is_json = head.first() == Some(&b'{');
    let wrapped = (!is_json)
        .then(|| repair::naked_markup_wrapped(bytes))
        .flatten();
    let bytes: &[u8] = wrapped.as_deref().unwrap_or(bytes);
    let feed = match parse(bytes).map_err(served_as) {
        // An XML feed read without one entry while it holds some: a namespace or a format
        // feed-rs does not read (`repair`).
        Ok(feed) if feed.entries.is_empty() && !is_json => {
            let held = repair::entry_tags(bytes);
            match (held, repair::repaired(bytes)) {
                (0, _) => feed,
                (_, Some(fixed)) => match parse(&fixed).map_err(served_as)? {
                    fixed if !fixed.entries.is_empty() => fixed,
                    _ => return Err(unread_entries(held)),
                },
                (_, None) => return Err(unread_entries(held)),
            }
        }
        // RSS 1.0: feed-rs drops an item without `<link>`; `repair` gives it its
        // `rdf:about`. Only when that went wrong did it read none, and one item of several
        // was dropped unsaid.
        Ok(feed)
            if feed.feed_type == feed_rs::model::FeedType::RSS1
                && repair::entry_tags(bytes) > feed.entries.len() =>
        {
            match repair::repaired(bytes).map(|fixed| parse(&fixed)) {
                Some(Ok(fixed)) if fixed.entries.len() > feed.entries.len() => fixed,
                _ => feed,
            }
        }
        Ok(feed) => feed,
        // JSON Feed readers are to take an item id that is a number as its text (1.1, "id");
        // feed-rs refuses the whole feed instead, as it does for one item's date that is
        // no string.
        Err(e) if is_json => {
            let unpaired = json_surrogates_repaired(bytes);
            let json = unpaired.as_deref().unwrap_or(bytes);
            match json_items_repaired(json).or(unpaired) {
                Some(fixed) => parse(&fixed).map_err(served_as)?,
                None => return Err(e),
            }
        }
        // A bare `&`, an RSS version feed-rs does not know: what other readers take.
        Err(e) => match repair::repaired(bytes) {
            Some(fixed) => parse(&fixed).map_err(|_| e)?,
            None => return Err(e),
        },
    };
    let (skip_hours, skip_days) = skip_times(bytes);
    let feed_language = feed.language.clone();
    // What the format declares plain text is read literally; RSS declares nothing (feed-rs
    // calls its titles plain, but they carry HTML and entities in the wild).
    let declares = !matches!(
        feed.feed_type,
        feed_rs::model::FeedType::RSS0
            | feed_rs::model::FeedType::RSS1
            | feed_rs::model::FeedType::RSS2
    );
    let plain = |media_type: &str| declares && is_plain(media_type);
    // feed-rs resolves RSS and Atom links against the feed's URL, not JSON Feed's: a
    // relative item `url` was dropped as no URL.
    // (Only there: another URL parse per entry is no cost the others need to pay.)
    let base = matches!(feed.feed_type, feed_rs::model::FeedType::JSON)
        .then(|| url::Url::parse(url).ok())
        .flatten();
    let absolute = |href: String| match &base {
        Some(b) if url::Url::parse(&href).is_err() => b.join(&href).map_or(href, |u| u.to_string()),
        _ => href,
    };
    let is_rss2 = matches!(
        feed.feed_type,
        feed_rs::model::FeedType::RSS0 | feed_rs::model::FeedType::RSS2
    );
    let mut entries: Vec<RawEntry> = feed
        .entries
        .into_iter()
        .map(|e| {
            let alternate =
                |l: &&feed_rs::model::Link| l.rel.as_deref().is_none_or(|r| r == "alternate");
            let link = e
                .links
                .iter()
                // The entry's page: an alternate link of no type or an HTML one before
                // another alternate (a PDF, an audio file listed first).
                .find(|l| {
                    alternate(l)
                        && l.media_type.as_deref().is_none_or(|t| {
                            let t = t.trim().to_ascii_lowercase();
                            t.starts_with("text/html") || t.starts_with("application/xhtml")
                        })
                })
                .or_else(|| e.links.iter().find(alternate))
                // Else any link but those that name another resource than the entry: a
                // `related` page, the entry's own `self` or `edit` document, its `replies`.
                .or_else(|| {
                    e.links.iter().find(|l| {
                        !l.rel.as_deref().is_some_and(|r| {
                            matches!(
                                r,
                                "related"
                                    | "self"
                                    | "edit"
                                    | "edit-media"
                                    | "replies"
                                    | "via"
                                    | "license"
                            )
                        })
                    })
                })
                .map(|l| l.href.clone())
                // An item that is only an enclosure (a podcast episode): its file. Not when
                // its GUID is a URL: that is the item's page (`normalize` takes it), which
                // an image or a media file must not stand in for.
                .or_else(|| {
                    if crate::normalize::guid_is_url(&e.id) {
                        return None;
                    }
                    e.media
                        .iter()
                        .flat_map(|m| m.content.iter())
                        .find_map(|c| c.url.as_ref().map(|u| u.to_string()))
                })
                .map(absolute);
            let plain = crate::normalize::PlainText {
                title: e
                    .title
                    .as_ref()
                    .is_some_and(|t| plain(t.content_type.as_str())),
                summary: e
                    .summary
                    .as_ref()
                    .is_some_and(|t| plain(t.content_type.as_str())),
                content: e
                    .content
                    .as_ref()
                    .is_some_and(|c| plain(c.content_type.as_str())),
            };
            RawEntry {
                guid: Some(e.id).filter(|id| !id.trim().is_empty()),
                link,
                title: e.title.map(|t| t.content),
                summary: e.summary.map(|t| t.content),
                // Atom's content of another type than text, HTML or XML is base64 data
                // (RFC 4287 4.1.3.3): no text to show or fold.
                content: e
                    .content
                    .filter(|c| is_text_media(c.content_type.as_str()))
                    .and_then(|c| c.body),
                plain,
                published: e.published,
                updated: e.updated,
                authors: e.authors.into_iter().filter_map(|p| p.name).collect(),
                language: e.language.or_else(|| feed_language.clone()),
            }
        })
        .collect();
    if is_rss2 {
        keep_pub_dates(&mut entries, bytes, fetched_at);
    }
    original_links(&mut entries, bytes);
    raw_item_fallbacks(&mut entries, bytes, &feed.links, url);
    Ok(ParsedFeed {
        title: feed.title.map(|t| t.content),
        ttl_minutes: feed.ttl,
        skip_hours,
        skip_days,
        encoding: decoded.encoding,
        replaced_bytes: decoded.replaced,
        entries,
    })
}

/// feed-rs gives an RSS item the date of whichever of `<pubDate>` and `<dc:date>` comes
/// last, even one it cannot read (`garbage`, empty, 1970): a good `pubDate` was lost and
/// the item dated when first seen. Items left without a usable date take their `pubDate`
/// again, read from the document, when its items are the parsed entries one for one.
fn keep_pub_dates(entries: &mut [RawEntry], xml: &[u8], fetched_at: chrono::DateTime<chrono::Utc>) {
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
fn original_links(entries: &mut [RawEntry], xml: &[u8]) {
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
fn raw_item_fallbacks(
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

fn unread_entries(held: usize) -> ParseError {
    ParseError::Malformed(format!(
        "the document holds {held} item or entry elements but none where its feed format has them \
         (an unknown namespace or format version)"
    ))
}

/// A JSON Feed whose fields feed-rs refuses for a value of the wrong type, repaired, as other
/// readers take them rather than losing every item for one field:
/// - an item's `date_published` or `date_modified` that is a number as the Unix time it says
///   (seconds, or milliseconds when that large), any other non-string date left out (the
///   item is then dated as an undated one);
/// - a text field (an id, a URL, a title, a text) that is a number or a boolean as its text,
///   any other kind left out;
/// - an author given as a name alone (`"author": "Jane"`) as that name, an author list as its
///   authors, `tags` as their strings, `attachments` as those with a URL and a type; anything
///   else in their place left out;
/// - an item that is no object left out;
/// - a version that names JSON Feed 1 in another spelling (`"1.0"`, `"1.1"`,
///   `http://jsonfeed.org/version/1`, a trailing slash) as the URL feed-rs knows.
///
/// `None` when the body is no JSON object or there was nothing to repair.
fn json_items_repaired(bytes: &[u8]) -> Option<Vec<u8>> {
    use serde_json::{Map, Value};
    let mut doc: Value = serde_json::from_slice(bytes).ok()?;
    let mut changed = false;
    /// A string where feed-rs wants one: a number or a boolean as its text, null as absent.
    fn text(v: &Value) -> Option<Value> {
        match v {
            Value::String(_) | Value::Null => Some(v.clone()),
            Value::Number(n) => Some(Value::String(n.to_string())),
            Value::Bool(b) => Some(Value::String(b.to_string())),
            _ => None,
        }
    }
    /// An author object (`name`, `url` strings), from a name alone too.
    fn author(v: &Value) -> Option<Value> {
        match v {
            Value::String(name) => Some(serde_json::json!({ "name": name })),
            Value::Object(o) => {
                let mut a = Map::new();
                for key in ["name", "url", "avatar"] {
                    if let Some(t) = o.get(key).and_then(text) {
                        a.insert(key.into(), t);
                    }
                }
                Some(Value::Object(a))
            }
            _ => None,
        }
    }
    /// `obj[key]` made what `fix` makes of it (removed when nothing); true when it changed.
    fn mend(
        obj: &mut Map<String, Value>,
        key: &str,
        fix: impl Fn(&Value) -> Option<Value>,
    ) -> bool {
        let Some(v) = obj.get(key) else {
            return false;
        };
        match fix(v) {
            Some(fixed) if fixed == *v => false,
            Some(fixed) => {
                obj.insert(key.into(), fixed);
                true
            }
            None => {
                obj.remove(key);
                true
            }
        }
    }
    let authors = |v: &Value| match v {
        Value::Array(list) => Some(Value::Array(list.iter().filter_map(author).collect())),
        Value::String(_) | Value::Object(_) => author(v).map(|a| Value::Array(vec![a])),
        _ => None,
    };
    let feed = doc.as_object_mut()?;
    for key in [
        "title",
        "home_page_url",
        "feed_url",
        "language",
        "description",
        "icon",
        "favicon",
    ] {
        changed |= mend(feed, key, text);
    }
    if !feed.get("title").is_some_and(Value::is_string) {
        // the one text feed-rs cannot do without
        feed.insert("title".into(), Value::String(String::new()));
        changed = true;
    }
    changed |= mend(feed, "author", author);
    changed |= mend(feed, "authors", authors);
    // A version feed-rs does not know but that names JSON Feed 1 all the same: a bare number
    // ("1.0", "1.1") or the URL over http or with a trailing slash.
    if let Some(v) = feed.get("version").and_then(Value::as_str) {
        let spelt = v.trim().trim_end_matches('/');
        let spelt = spelt
            .strip_prefix("https://")
            .or_else(|| spelt.strip_prefix("http://"))
            .unwrap_or(spelt);
        let known = match spelt {
            "1" | "1.0" | "jsonfeed.org/version/1" => Some("https://jsonfeed.org/version/1"),
            "1.1" | "jsonfeed.org/version/1.1" => Some("https://jsonfeed.org/version/1.1"),
            _ => None,
        };
        if let Some(known) = known.filter(|k| k != &v) {
            feed.insert("version".into(), Value::String(known.into()));
            changed = true;
        }
    }
    let items = feed.get_mut("items")?.as_array_mut()?;
    let before = items.len();
    items.retain(Value::is_object);
    changed |= items.len() != before;
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        for key in ["date_published", "date_modified"] {
            let Some(date) = item.get(key).filter(|d| !d.is_string() && !d.is_null()) else {
                continue;
            };
            changed = true;
            let unix = date.as_f64().and_then(|n| {
                let ms = if n.abs() >= 1e11 { n } else { n * 1000.0 };
                chrono::DateTime::from_timestamp_millis(ms as i64)
            });
            match unix {
                Some(t) => {
                    item.insert(key.into(), Value::String(t.to_rfc3339()));
                }
                None => {
                    item.remove(key);
                }
            }
        }
        for key in [
            "id",
            "url",
            "external_url",
            "title",
            "content_html",
            "content_text",
            "summary",
            "language",
            "image",
            "banner_image",
        ] {
            changed |= mend(item, key, text);
        }
        changed |= mend(item, "author", author);
        changed |= mend(item, "authors", authors);
        changed |= mend(item, "tags", |v| match v {
            Value::Array(list) => Some(Value::Array(
                list.iter()
                    .filter_map(|t| text(t).filter(|t| !t.is_null()))
                    .collect(),
            )),
            Value::String(_) => Some(Value::Array(vec![v.clone()])),
            _ => None,
        });
        changed |= mend(item, "attachments", |v| match v {
            Value::Array(list) => Some(Value::Array(
                list.iter()
                    .filter(|a| {
                        a.get("url").is_some_and(Value::is_string)
                            && a.get("mime_type").is_some_and(Value::is_string)
                    })
                    .map(|a| {
                        let mut a = a.clone();
                        if let Some(o) = a.as_object_mut() {
                            mend(o, "title", text);
                            mend(o, "size_in_bytes", |n| n.as_u64().map(Value::from));
                        }
                        a
                    })
                    .collect(),
            )),
            _ => None,
        });
    }
    changed.then(|| serde_json::to_vec(&doc).ok()).flatten()
}

/// JSON text with each unpaired surrogate escape (`\ud83d` with no low surrogate after it,
/// from JavaScript that cut a string inside an emoji; a low one alone) written `\ufffd`:
/// serde_json refuses the whole feed for one. `None` when there is none.
fn json_surrogates_repaired(json: &[u8]) -> Option<Vec<u8>> {
    let unit = |at: usize| {
        let hex = json.get(at..at + 4)?;
        hex.iter()
            .all(u8::is_ascii_hexdigit)
            .then(|| std::str::from_utf8(hex).ok())
            .flatten()
            .and_then(|h| u16::from_str_radix(h, 16).ok())
    };
    let mut unpaired = Vec::new();
    let mut i = 0;
    // Every `\` in JSON starts an escape, in a string: read one escape after another.
    while let Some(off) = json.get(i..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let at = i + off;
        i = at + 2;
        if json.get(at + 1) != Some(&b'u') {
            continue;
        }
        match unit(at + 2) {
            Some(0xD800..=0xDBFF) => {
                let low = (json.get(at + 6..at + 8) == Some(b"\\u"))
                    .then(|| unit(at + 8))
                    .flatten();
                if matches!(low, Some(0xDC00..=0xDFFF)) {
                    i = at + 12;
                } else {
                    unpaired.push(at);
                    i = at + 6;
                }
            }
            Some(0xDC00..=0xDFFF) => {
                unpaired.push(at);
                i = at + 6;
            }
            _ => i = at + 6,
        }
    }
    if unpaired.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(json.len());
    let mut from = 0;
    for at in unpaired {
        out.extend_from_slice(&json[from..at]);
        out.extend_from_slice(b"\\ufffd");
        from = at + 6;
    }
    out.extend_from_slice(&json[from..]);
    Some(out)
}

/// `text/plain`, with or without parameters.
/// What feed-rs's "no root element" means for `bytes`: it found no feed's root, and the
/// document's root, when there is one, says which it found instead.
fn no_feed_root(bytes: &[u8]) -> String {
    match repair::root_name(bytes) {
        Some(b"rss") => "an <rss> document without a <channel> element".to_owned(),
        Some(name) => format!(
            "the root element is <{}>, not an RSS, RDF or Atom feed's",
            String::from_utf8_lossy(name)
        ),
        None => "no root element".to_owned(),
    }
}

/// Whether content of `media_type` is text: `text/*`, HTML, XHTML or XML (Atom's other
/// types are base64 data).
fn is_text_media(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (ty, sub) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
    ty == "text" || sub.contains("html") || sub == "xml" || sub.ends_with("+xml")
}

fn is_plain(media_type: &str) -> bool {
    media_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/plain"))
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

fn first_non_space(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..bytes.len().min(start + 512)]
}

/// An HTML document (not an XML feed that embeds HTML): `<!DOCTYPE html` or `<html` before any
/// feed root element.
/// At most this many announced feeds are named in a [`ParseError::NotAFeed`].
pub const MAX_ANNOUNCED: usize = 3;

fn announced(feeds: &[String]) -> String {
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
fn announced_feeds(html: &[u8], page: &str) -> Vec<String> {
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

fn looks_like_html(head: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    const RSS: &str = r#"<?xml version="1.0"?>
<rss version="2.0"><channel><title>Demo wire</title><ttl>30</ttl>
<item><title>First</title><link>/news/1</link><guid isPermaLink="false">id-1</guid>
<description>One &amp; two</description><pubDate>Mon, 06 Mar 2023 10:00:00 GMT</pubDate></item>
<item><title>No id</title><link>https://example.com/news/2</link></item>
<item><title>No id, no link</title><description>text only</description></item>
</channel></rss>"#;

    #[test]
    fn rss_entries_keep_order_and_resolve_links() {
        let f = parse_feed(RSS.as_bytes(), "https://example.com/feed.xml", None).unwrap();
        assert_eq!(f.title.as_deref(), Some("Demo wire"));
        assert_eq!(f.ttl_minutes, Some(30));
        assert_eq!(f.entries.len(), 3);
        assert_eq!(f.entries[0].guid.as_deref(), Some("id-1"));
        assert_eq!(
            f.entries[0].link.as_deref(),
            Some("https://example.com/news/1")
        );
        assert!(f.entries[0].published.is_some());
    }

    #[test]
    fn a_declaration_past_the_start_is_ignored_not_a_reader_panic() {
        // quick-xml 0.42 asserts when feed-rs hands it a declared encoding after its 64-byte
        // look-ahead is spent: a declaration behind a long comment, or a second one further on.
        // Such declarations are not XML; the body is UTF-8 by then, so they are dropped.
        let comment = format!("<!-- {} -->", "generated ".repeat(12));
        for body in [
            format!("{comment}\n<?xml version=\"1.0\" encoding=\"ISO-8859-5\"?>{RSS_BODY}"),
            format!("<?xml version=\"1.0\"?>{RSS_BODY}<?xml version=\"1.0\" encoding=\"koi8-r\"?>"),
            format!(
                "<?xml version=\"1.0\"{}encoding=\"windows-1251\"?>{RSS_BODY}",
                " ".repeat(80)
            ),
        ] {
            let f = parse_feed(body.as_bytes(), "https://example.com/feed.xml", None)
                .unwrap_or_else(|e| panic!("{e}: {body}"));
            assert_eq!(f.entries.len(), 1, "{body}");
            assert_eq!(f.entries[0].title.as_deref(), Some("Only item"));
        }
    }

    /// gzip data sent unlabelled (a `.xml.gz` file) is named as such, not as bad JSON.
    #[test]
    fn an_unlabelled_gzip_body_is_named() {
        use std::io::Write;
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(RSS_BODY.as_bytes()).unwrap();
        let gz = z.finish().unwrap();
        let e = parse_feed(
            &gz,
            "https://example.com/feed.xml.gz",
            Some("application/rss+xml"),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("still gzip-compressed data (served without Content-Encoding: gzip"),
            "{e}"
        );
    }

    const RSS_BODY: &str = "<rss version=\"2.0\"><channel><title>T</title>\
        <item><title>Only item</title><link>https://example.com/1</link></item></channel></rss>";

    #[test]
    fn an_entry_links_to_its_html_page_before_another_alternate() {
        let link = |links: &str| {
            let xml = format!(
                "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title>\
                 <entry><title>t</title><id>urn:1</id>{links}</entry></feed>"
            );
            let f = parse_feed(xml.as_bytes(), "https://e.com/feed", None).unwrap();
            f.entries[0].link.clone()
        };
        let pdf = "<link rel=\"alternate\" type=\"application/pdf\" href=\"https://e.com/a.pdf\"/>";
        let html = "<link rel=\"alternate\" type=\"text/html\" href=\"https://e.com/a\"/>";
        let untyped = "<link href=\"https://e.com/b\"/>";
        assert_eq!(
            link(&format!("{pdf}{html}")).as_deref(),
            Some("https://e.com/a")
        );
        assert_eq!(
            link(&format!("{pdf}{untyped}")).as_deref(),
            Some("https://e.com/b")
        );
        // The only alternate, whatever its type.
        assert_eq!(link(pdf).as_deref(), Some("https://e.com/a.pdf"));
    }

    #[test]
    fn a_feedburner_item_links_to_the_publishers_page_not_the_proxy() {
        let links = |xml: &str| -> Vec<Option<String>> {
            let f = parse_feed(xml.as_bytes(), "https://feeds.example.com/x", None).unwrap();
            f.entries.into_iter().map(|e| e.link).collect()
        };
        let fb = "xmlns:feedburner=\"http://rssnamespace.org/feedburner/ext/1.0\"";
        let rss = format!(
            "<rss version=\"2.0\" {fb}><channel><title>A</title>\
             <item><title>one</title><link>http://feedproxy.google.com/~r/x/~3/a/</link>\
             <feedburner:origLink>https://news.example.org/a?x=1&amp;y=2</feedburner:origLink></item>\
             <item><title>two</title><link>https://news.example.org/b</link></item>\
             <item><title>three</title><link>http://feedproxy.google.com/~r/x/~3/c/</link>\
             <feedburner:origLink>javascript:alert(1)</feedburner:origLink></item>\
             </channel></rss>"
        );
        assert_eq!(
            links(&rss),
            [
                Some("https://news.example.org/a?x=1&y=2".to_owned()),
                Some("https://news.example.org/b".to_owned()),
                Some("http://feedproxy.google.com/~r/x/~3/c/".to_owned()),
            ]
        );
        let atom = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" {fb}><title>A</title>\
             <entry><title>one</title><id>urn:1</id><link rel=\"alternate\" href=\"http://feedproxy.google.com/~r/x/~3/a/\"/>\
             <feedburner:origLink>https://news.example.org/a</feedburner:origLink></entry></feed>"
        );
        assert_eq!(
            links(&atom),
            [Some("https://news.example.org/a".to_owned())]
        );
    }

    /// Media RSS: an item's own `<media:title>` and `<media:description>`, or those of its
    /// `<media:group>` (YouTube's feeds), stand in for a missing headline or text; a photo's
    /// inside `<media:content>` does not. Such items were stored empty.
    #[test]
    fn an_item_without_a_title_or_text_takes_its_media_one() {
        let rss = "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>A</title>\
            <item><link>https://e.org/1</link><media:title>Harbour reopens</media:title>\
            <media:description>The harbour reopened on Monday.</media:description></item>\
            <item><link>https://e.org/2</link><media:group><media:title type=\"plain\">Storm &amp; floods</media:title>\
            <media:description>Rivers rose overnight.</media:description><media:content url=\"https://e.org/v.mp4\"/></media:group></item>\
            <item><link>https://e.org/3</link><media:content url=\"https://e.org/p.jpg\"><media:title>IMG_1234.jpg</media:title>\
            <media:description>A photo</media:description></media:content></item>\
            <item><title>Own</title><description>Own text</description><link>https://e.org/4</link>\
            <media:title>Other</media:title><media:description>Other text</media:description></item>\
            </channel></rss>";
        let f = parse_feed(rss.as_bytes(), "https://e.org/feed", None).unwrap();
        let got: Vec<(Option<&str>, Option<&str>)> = f
            .entries
            .iter()
            .map(|e| (e.title.as_deref(), e.summary.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Some("Harbour reopens"),
                    Some("The harbour reopened on Monday.")
                ),
                (Some("Storm & floods"), Some("Rivers rose overnight.")),
                (None, None),
                (Some("Own"), Some("Own text")),
            ]
        );
        let youtube = "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:media=\"http://search.yahoo.com/mrss/\">\
            <title>Channel</title><entry><id>yt:video:1</id><title>Launch day</title>\
            <link rel=\"alternate\" href=\"https://www.youtube.com/watch?v=1\"/>\
            <media:group><media:title>Launch day</media:title><media:description>The rocket lifted off at dawn.</media:description></media:group>\
            </entry></feed>";
        let f = parse_feed(youtube.as_bytes(), "https://e.org/feed", None).unwrap();
        let e = &f.entries[0];
        let text = e.summary.as_deref().or(e.content.as_deref());
        assert_eq!(text, Some("The rocket lifted off at dawn."));
    }

    #[test]
    fn an_item_without_a_title_or_text_takes_its_dc_or_itunes_one() {
        let rss = "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
            xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\"><channel><title>A</title>\
            <item><itunes:title>Episode</itunes:title><dc:title><![CDATA[Budget & <b>tax</b>]]></dc:title><link>https://e.org/1</link></item>\
            <item><itunes:title>Fish &amp; chips</itunes:title><link>https://e.org/2</link></item>\
            <item><title>Own</title><dc:title>Other</dc:title><link>https://e.org/3</link></item>\
            <item><title> </title><dc:title> </dc:title><itunes:title>Second choice</itunes:title><link>https://e.org/4</link></item>\
            <item><link>https://e.org/5</link><description>untitled</description></item>\
            </channel></rss>";
        let f = parse_feed(rss.as_bytes(), "https://e.org/feed", None).unwrap();
        let titles: Vec<Option<&str>> = f.entries.iter().map(|e| e.title.as_deref()).collect();
        assert_eq!(
            titles,
            [
                Some("Budget & <b>tax</b>"),
                Some("Fish & chips"),
                Some("Own"),
                Some("Second choice"),
                None,
            ]
        );
        let rss = "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
            xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\"><channel><title>A</title>\
            <item><title>a</title><itunes:summary>Show notes</itunes:summary><dc:description>Budget &amp; tax</dc:description></item>\
            <item><title>b</title><itunes:summary><![CDATA[<p>Notes</p>]]></itunes:summary></item>\
            <item><title>c</title><description>Own</description><dc:description>Other</dc:description></item>\
            <item><title>d</title></item>\
            </channel></rss>";
        let f = parse_feed(rss.as_bytes(), "https://e.org/feed", None).unwrap();
        let texts: Vec<Option<&str>> = f.entries.iter().map(|e| e.summary.as_deref()).collect();
        assert_eq!(
            texts,
            [
                Some("Budget & tax"),
                Some("<p>Notes</p>"),
                Some("Own"),
                None
            ]
        );
    }

    /// feed-rs recurses once per nested Media RSS element: 3,000 levels overflowed the stack
    /// and aborted the process (this test's too, had the guard let it through).
    #[test]
    fn deeply_nested_media_rss_is_a_malformed_feed_not_a_stack_overflow() {
        for (open, close) in [
            ("<media:group>", "</media:group>"),
            (
                "<media:content url=\"https://e.org/a.jpg\">",
                "</media:content>",
            ),
        ] {
            let rss = format!(
                "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>A</title>\
                 <item><title>a</title>{}{}</item></channel></rss>",
                open.repeat(3000),
                close.repeat(3000)
            );
            let e = parse_feed(rss.as_bytes(), "https://e.org/feed", None).unwrap_err();
            assert!(
                matches!(&e, ParseError::Malformed(m) if m.contains("nested 65 deep")),
                "{e}"
            );
        }
    }

    #[test]
    fn a_linkless_items_path_guid_links_to_the_feeds_site() {
        let rss = "<rss version=\"2.0\"><channel><title>A</title>\
            <item><title>a</title><guid>/news/a-1</guid></item>\
            <item><title>b</title><guid isPermaLink=\"false\">/news/b-2</guid></item>\
            <item><title>c</title><guid>/news/c-3</guid><link>https://e.org/c</link></item>\
            <item><title>d</title><guid>//cdn.example/d</guid></item>\
            <item><title>e</title><guid>e-5</guid></item>\
            </channel></rss>";
        let links = |feed_url: &str| -> Vec<Option<String>> {
            let f = parse_feed(rss.as_bytes(), feed_url, None).unwrap();
            f.entries.into_iter().map(|e| e.link).collect()
        };
        assert_eq!(
            links("https://e.org/rss/all.xml"),
            [
                Some("https://e.org/news/a-1".to_owned()),
                None,
                Some("https://e.org/c".to_owned()),
                None,
                None,
            ]
        );
        // A feed read from a file has no site to resolve against.
        assert_eq!(links("file:///srv/feeds/all.xml")[0], None);
        // The channel's link is the site, wherever the feed is served from; a GUID that a URL
        // parser reads as another host, or that says (in any case) it is no permalink, is not
        // followed.
        let rss = "<rss version=\"2.0\"><channel><title>A</title><link>https://www.e.org/</link>\
            <atom:link xmlns:atom=\"http://www.w3.org/2005/Atom\" rel=\"self\" href=\"https://feeds.e.org/rss\"/>\
            <item><title>a</title><guid>/news/a-1</guid></item>\
            <item><title>b</title><guid>/\\evil.example/x</guid></item>\
            <item><title>c</title><guid isPermaLink=\"False\">/news/c-3</guid></item>\
            </channel></rss>";
        let f = parse_feed(rss.as_bytes(), "https://feeds.e.org/rss", None).unwrap();
        let got: Vec<Option<String>> = f.entries.into_iter().map(|e| e.link).collect();
        assert_eq!(
            got,
            [Some("https://www.e.org/news/a-1".to_owned()), None, None]
        );
    }

    #[test]
    fn only_an_items_own_dc_title_counts_and_commented_items_are_no_items() {
        let rss = "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
            xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>A</title>\
            <!-- <item><dc:title>Withdrawn story</dc:title></item> -->\
            <item><media:content url=\"https://e.org/p.jpg\"><dc:title>IMG_4411.jpg</dc:title></media:content>\
            <dc:title>Real headline</dc:title><link>https://e.org/1</link></item>\
            <item><dc:title>Caf&eacute; owners&nbsp;protest</dc:title><link>https://e.org/2</link></item>\
            <item><media:content url=\"https://e.org/q.jpg\"><dc:title>caption only</dc:title></media:content>\
            <link>https://e.org/3</link></item>\
            </channel></rss>";
        let f = parse_feed(rss.as_bytes(), "https://e.org/feed", None).unwrap();
        let titles: Vec<Option<&str>> = f.entries.iter().map(|e| e.title.as_deref()).collect();
        assert_eq!(
            titles,
            [
                Some("Real headline"),
                Some("Caf&eacute; owners&nbsp;protest"),
                None
            ]
        );
    }

    #[test]
    fn a_dc_date_that_says_nothing_does_not_hide_the_pub_date() {
        let rss = "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>A</title>\
            <item><title>a</title><pubDate>Mon, 16 Oct 2017 15:10:00 +0000</pubDate><dc:date>garbage</dc:date></item>\
            <item><title>b</title><pubDate><![CDATA[Tue, 17 Oct 2017 15:10:00 GMT]]></pubDate><dc:date></dc:date></item>\
            <item><title>c</title><pubDate>Wed, 18 Oct 2017 15:10:00 +0000</pubDate><dc:date>1970-01-01T00:00:00Z</dc:date></item>\
            <item><title>d</title><pubDate>Thu, 19 Oct 2017 15:10:00 +0000</pubDate><dc:date>2017-10-19T16:00:00Z</dc:date></item>\
            <item><title>e</title><dc:date>soon</dc:date></item>\
            </channel></rss>";
        let f = parse_feed(rss.as_bytes(), "https://e.com/", None).unwrap();
        let dates: Vec<Option<String>> = f
            .entries
            .iter()
            .map(|e| e.published.map(|d| d.to_rfc3339()))
            .collect();
        assert_eq!(
            dates,
            [
                Some("2017-10-16T15:10:00+00:00".to_owned()),
                Some("2017-10-17T15:10:00+00:00".to_owned()),
                Some("2017-10-18T15:10:00+00:00".to_owned()),
                // a dc:date that reads, after the pubDate, is the one feed-rs took
                Some("2017-10-19T16:00:00+00:00".to_owned()),
                None,
            ]
        );
    }

    /// What other readers take and feed-rs refused, or read no entry from (`repair`).
    #[test]
    fn feeds_feed_rs_refuses_or_reads_empty_are_repaired() {
        let titles = |xml: &str| -> Vec<String> {
            let f = parse_feed(xml.as_bytes(), "https://e.com/feed", None)
                .unwrap_or_else(|e| panic!("{e}: {xml}"));
            f.entries.into_iter().filter_map(|e| e.title).collect()
        };
        let item =
            |t: &str| format!("<item><title>{t}</title><link>https://e.com/{t}</link></item>");
        // A bare `&` in one item's link and another's title.
        let amp = format!(
            "<rss version=\"2.0\"><channel><title>A</title>{}<item><title>Fish & Chips</title>\
             <link>https://e.com/b?x=1&y=2</link></item>{}</channel></rss>",
            item("one"),
            item("three")
        );
        assert_eq!(titles(&amp), ["one", "Fish & Chips", "three"]);
        let f = parse_feed(amp.as_bytes(), "https://e.com/feed", None).unwrap();
        assert_eq!(
            f.entries[1].link.as_deref(),
            Some("https://e.com/b?x=1&y=2")
        );
        // RSS without a version, with one feed-rs does not know, with a default namespace.
        for root in [
            "<rss>",
            "<rss version=\"0.94\">",
            "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\">",
        ] {
            let xml = format!(
                "<?xml version=\"1.0\"?>{root}<channel><title>A</title>{}</channel></rss>",
                item("one")
            );
            assert_eq!(titles(&xml), ["one"], "{root}");
        }
        // RSS 0.90; an RSS 1.0 item without link; Atom 0.3 with its own dates.
        let rdf = |ns: &str, item: &str| {
            format!("<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"{ns}\">\
                <channel><title>A</title><link>https://e.com/</link></channel>{item}</rdf:RDF>")
        };
        assert_eq!(
            titles(&rdf("http://my.netscape.com/rdf/simple/0.9/", &item("one"))),
            ["one"]
        );
        let about = "<item rdf:about=\"https://e.com/a\"><title>no link</title></item>";
        let f = parse_feed(
            rdf("http://purl.org/rss/1.0/", about).as_bytes(),
            "https://e.com/",
            None,
        )
        .unwrap();
        assert_eq!(f.entries[0].link.as_deref(), Some("https://e.com/a"));
        // ... also beside an item with its link, which feed-rs reads: both are entries.
        let linked = "<item rdf:about=\"https://e.com/b\"><title>linked</title><link>https://e.com/b</link></item>";
        let f = parse_feed(
            rdf("http://purl.org/rss/1.0/", &format!("{linked}{about}")).as_bytes(),
            "https://e.com/",
            None,
        )
        .unwrap();
        let got: Vec<Option<&str>> = f.entries.iter().map(|e| e.link.as_deref()).collect();
        assert_eq!(got, [Some("https://e.com/b"), Some("https://e.com/a")]);
        let atom03 = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><title>A</title>\
            <entry><title type=\"text/plain\">old</title><link rel=\"alternate\" href=\"https://e.com/o\"/>\
            <id>tag:e.com,2004:1</id><issued>2004-01-01T19:48:21Z</issued></entry></feed>";
        let f = parse_feed(atom03.as_bytes(), "https://e.com/", None).unwrap();
        assert_eq!(f.entries[0].title.as_deref(), Some("old"));
        assert_eq!(
            f.entries[0].published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2004-01-01T19:48:21+00:00")
        );
        // One text element of a type feed-rs does not know refused the whole feed.
        let entry = |t: &str, extra: &str| {
            format!("<entry><title>{t}</title><id>urn:{t}</id><link href=\"https://e.com/{t}\"/>{extra}</entry>")
        };
        let typed = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title>{}{}{}</feed>",
            entry(
                "one",
                "<summary type=\"text/plain\">AT&amp;T &lt;S&gt;</summary>"
            ),
            entry(
                "two",
                "<content type=\"HTML\">&lt;p&gt;Lead &lt;b&gt;words&lt;/b&gt;&lt;/p&gt;</content>"
            ),
            entry("three", "<rights type=\"\">r</rights>"),
        );
        let f = parse_feed(typed.as_bytes(), "https://e.com/feed", None).unwrap();
        assert_eq!(f.entries.len(), 3);
        assert_eq!(f.entries[0].summary.as_deref(), Some("AT&T <S>"));
        assert!(f.entries[0].plain.summary, "text/plain is plain text");
        assert!(!f.entries[1].plain.content, "HTML is HTML");
        // HTML written as XML in an RSS description: the whole text, not up to `<em>`.
        let naked = "<rss version=\"2.0\"><channel><title>A</title><item><title>t</title>\
            <link>https://e.com/n</link><description>Lead <em>words</em> and the rest.</description>\
            </item></channel></rss>";
        let f = parse_feed(naked.as_bytes(), "https://e.com/", None).unwrap();
        assert_eq!(
            f.entries[0].summary.as_deref(),
            Some("Lead <em>words</em> and the rest.")
        );
        // Entries nothing reads are an error, not a feed that never has news; an empty
        // feed, or an item in a CDATA section, is no such case.
        let unknown = "<rss version=\"2.0\"><channel><title>A</title><x:items xmlns:x=\"urn:x\">\
            <x:item><x:title>t</x:title></x:item></x:items></channel></rss>";
        let err = parse_feed(unknown.as_bytes(), "https://e.com/", None).unwrap_err();
        assert!(
            err.to_string().contains("holds 1 item or entry elements"),
            "{err}"
        );
        let empty = "<rss version=\"2.0\"><channel><title>A</title>\
            <description><![CDATA[<item>]]></description></channel></rss>";
        assert_eq!(titles(empty), Vec::<String>::new());
    }

    #[test]
    fn entries_without_id_get_no_invented_id() {
        // Parsed twice: feed-rs would invent a random UUID for the third entry each time.
        for _ in 0..2 {
            let f = parse_feed(RSS.as_bytes(), "https://example.com/feed.xml", None).unwrap();
            assert_eq!(f.entries[1].guid, None);
            assert_eq!(f.entries[2].guid, None);
            assert_eq!(f.entries[2].link, None);
        }
    }

    #[test]
    fn a_home_page_names_the_feeds_it_announces() {
        let page = br#"<!doctype html><html><head><title>Valley Herald</title>
<link rel="stylesheet" href="/site.css">
<link rel="alternate" type="application/rss+xml" title="News" href="/rss/news.xml">
<LINK REL='alternate' TYPE='application/atom+xml' HREF='https://feeds.example.net/herald.atom?a=1&amp;b=2'>
<link rel="alternate" hreflang="fr" href="/fr/">
<link href=/rss/news.xml type=application/rss+xml rel=alternate>
<link rel="alternate" type="application/feed+json" href="ftp://example.org/feed.json">
<link rel="alternate nofollow" type="application/feed+json" href="feed.json">
<link rel="alternate" type="application/rss+xml" href="/fourth.xml">
</head><body>Welcome</body></html>"#;
        let Err(e) = parse_feed(page, "https://herald.example.org/home/", None) else {
            panic!("a page is not a feed");
        };
        assert_eq!(e.class(), "not_a_feed");
        let ParseError::NotAFeed { feeds } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(
            feeds,
            &[
                "https://herald.example.org/rss/news.xml",
                "https://feeds.example.net/herald.atom?a=1&b=2",
                "https://herald.example.org/home/feed.json",
            ]
        );
        assert_eq!(
            e.to_string(),
            "not a feed: the body is an HTML page that announces feeds: \
             https://herald.example.org/rss/news.xml, https://feeds.example.net/herald.atom?a=1&b=2, \
             https://herald.example.org/home/feed.json (set the source's url to the feed)"
        );
    }

    #[test]
    fn html_pages_and_empty_bodies_are_classified() {
        let html = b"<!DOCTYPE html><html><body>403 Forbidden</body></html>";
        assert!(matches!(
            parse_feed(html, "http://x/", None),
            Err(ParseError::NotAFeed { feeds }) if feeds.is_empty()
        ));
        assert!(matches!(
            parse_feed(b"  \n ", "http://x/", None),
            Err(ParseError::Empty)
        ));
        let bad = parse_feed(b"<rss version=\"2.0\"><channel><item>", "http://x/", None);
        assert!(bad.is_err());
        assert!(matches!(
            parse_feed(b"{\"not\": \"a feed\"}", "http://x/", None),
            Err(ParseError::Malformed(_))
        ));
    }

    #[test]
    fn skip_hours_and_days_are_read() {
        let rss = "<rss version=\"2.0\"><channel><title>S</title>
<skipHours><hour>0</hour><hour> 7 </hour><hour>24</hour><hour>99</hour></skipHours>
<skipDays><day>Saturday</day><day>sunday</day><day>Caturday</day></skipDays>
<item><title>x</title></item></channel></rss>";
        let f = parse_feed(rss.as_bytes(), "http://x/", None).unwrap();
        assert_eq!(f.skip_hours, 1 | (1 << 7));
        assert_eq!(f.skip_days, (1 << 5) | (1 << 6));
        assert_eq!(skip_times(b"<rss></rss>"), (0, 0));
    }

    #[test]
    fn legacy_charsets_reach_feed_rs_as_unicode() {
        // Declared only in Content-Type: feed-rs alone would read these bytes as UTF-8.
        let xml = "<rss version=\"2.0\"><channel><title>Лента</title>
<item><guid>1</guid><title>Новости дня</title></item></channel></rss>";
        let (body, _, _) = encoding_rs::WINDOWS_1251.encode(xml);
        let f = parse_feed(&body, "http://x/", Some("text/xml; charset=windows-1251")).unwrap();
        assert_eq!(f.encoding, "windows-1251");
        assert_eq!(f.title.as_deref(), Some("Лента"));
        assert_eq!(f.entries[0].title.as_deref(), Some("Новости дня"));
        // Declared in the prolog, served with a wrong header charset.
        let xml = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>
<rss version=\"2.0\"><channel><title>ニュース</title><item><guid>1</guid><title>東京</title></item></channel></rss>";
        let (body, _, _) = encoding_rs::SHIFT_JIS.encode(xml);
        let f = parse_feed(&body, "http://x/", Some("text/xml; charset=iso-8859-1")).unwrap();
        assert_eq!(f.title.as_deref(), Some("ニュース"));
        assert_eq!(f.entries[0].title.as_deref(), Some("東京"));
    }

    #[test]
    fn a_reference_to_no_character_costs_its_character_not_the_feed() {
        // XML: a surrogate pair written as two references (Java, JavaScript), one alone,
        // NUL, past U+10FFFF; each made the reader refuse the whole feed.
        let rss = "<rss version=\"2.0\"><channel><title>S</title>
<item><guid>1</guid><title>Smile &#55357;&#56832; &#xD83D;&#xDE00; now</title></item>
<item><guid>2</guid><title>Cut &#55357; here &#56832; &#0; &#1114112; &#99999999999;</title></item>
<item><guid>3</guid><title>Fine &#233; &amp; AT&T</title></item></channel></rss>";
        let f = parse_feed(rss.as_bytes(), "http://x/", None).unwrap();
        let titles: Vec<_> = f.entries.iter().map(|e| e.title.as_deref()).collect();
        assert_eq!(
            titles,
            [
                Some("Smile 😀 😀 now"),
                Some("Cut \u{FFFD} here \u{FFFD} \u{FFFD} \u{FFFD} \u{FFFD}"),
                Some("Fine é & AT&T")
            ]
        );
        // JSON Feed: a lone surrogate escape (a string cut inside an emoji), a low one alone;
        // a pair and an escaped backslash before `u` are left as they are.
        let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [
{"id": "1", "title": "Party \ud83d", "content_text": "a \ude00 b \\ud83d c \ud83d\ude00"},
{"id": "2", "title": "Second", "content_text": "x"}]}"#;
        let f = parse_feed(json.as_bytes(), "http://x/", None).unwrap();
        assert_eq!(f.entries.len(), 2);
        assert_eq!(f.entries[0].title.as_deref(), Some("Party \u{FFFD}"));
        assert_eq!(json_surrogates_repaired(b"\"\\"), None);
        assert_eq!(json_surrogates_repaired(br#""\\ud83d \ud83d\ude00""#), None);
        assert_eq!(
            json_surrogates_repaired(b"\"\\ud83d"),
            Some(b"\"\\ufffd".to_vec())
        );
    }

    #[test]
    fn a_document_that_makes_the_xml_reader_panic_is_a_malformed_feed() {
        // Found by the `feed` fuzz target (issue 9): the XML declaration names an encoding,
        // then a second declaration inside the document names another.
        for body in [
            &include_bytes!("../tests/fixtures/hostile/quick-xml-set-encoding-panic.xml")[..],
            &include_bytes!("../tests/fixtures/hostile/quick-xml-set-encoding-panic-2.xml")[..],
        ] {
            assert!(matches!(
                parse_feed(body, "http://x/", None),
                Err(ParseError::Malformed(_))
            ));
        }
    }

    #[test]
    fn atom_and_json_feed_parse() {
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><id>urn:a:1</id><title>T</title><link href="https://e.com/a"/><summary>S</summary>
<updated>2024-01-02T03:04:05Z</updated></entry></feed>"#;
        let f = parse_feed(atom.as_bytes(), "https://e.com/", None).unwrap();
        assert_eq!(f.entries[0].guid.as_deref(), Some("urn:a:1"));
        assert!(f.entries[0].updated.is_some());
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J",
"items":[{"id":"j1","url":"https://e.com/j1","title":"JT","content_text":"body"}]}"#;
        let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
        assert_eq!(f.entries[0].guid.as_deref(), Some("j1"));
        assert_eq!(f.entries[0].title.as_deref(), Some("JT"));
    }

    #[test]
    fn a_json_feed_items_id_or_date_that_is_a_number_is_read_as_such() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":17,"url":"https://e.com/17","title":"Seventeen","content_text":"x"},
{"id":"s","url":"https://e.com/s","title":"S","content_text":"y"}]}"#;
        let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
        assert_eq!(f.entries[0].guid.as_deref(), Some("17"));
        assert_eq!(f.entries[1].guid.as_deref(), Some("s"));
        // A date that is a number is the Unix time it says; another non-string, no date.
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":"a","url":"https://e.com/a","title":"A","content_text":"x","date_published":1796466864},
{"id":"b","url":"https://e.com/b","title":"B","content_text":"y","date_modified":1796466864000},
{"id":"c","url":"https://e.com/c","title":"C","content_text":"z","date_published":{"at":1}}]}"#;
        let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
        assert_eq!(f.entries.len(), 3);
        let when = |i: usize| {
            let e = &f.entries[i];
            e.published.or(e.updated).map(|t| t.timestamp())
        };
        assert_eq!(when(0), Some(1_796_466_864));
        assert_eq!(when(1), Some(1_796_466_864));
        assert_eq!(when(2), None);
        // JSON that is no feed is still refused, with feed-rs's reason.
        let bad = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":{"a":1}}"#;
        assert!(matches!(
            parse_feed(bad.as_bytes(), "https://e.com/", None),
            Err(ParseError::Malformed(_))
        ));
    }

    /// One field of the wrong type (an attachment without its type, an author given as a
    /// name, tags as a string, a number for a text) refused the whole feed, every good item
    /// with it: the field is now read as other readers read it, or left out.
    #[test]
    fn a_json_feed_version_in_another_spelling_is_read() {
        for version in [
            "1.0",
            "1",
            "1.1",
            "http://jsonfeed.org/version/1",
            "https://jsonfeed.org/version/1.1/",
        ] {
            let json = format!(
                r#"{{"version":"{version}","title":"J","items":[
{{"id":"a","url":"https://e.com/a","title":"A","content_text":"x"}}]}}"#
            );
            let f = parse_feed(json.as_bytes(), "https://e.com/", None)
                .unwrap_or_else(|e| panic!("{version}: {e}"));
            assert_eq!(f.entries.len(), 1, "{version}");
        }
        // another version, or none, is still refused: no JSON Feed says so
        for version in ["\"2.0\"", "\"https://example.com/version/1\"", "null"] {
            let json = format!(
                r#"{{"version":{version},"title":"J","items":[
{{"id":"a","url":"https://e.com/a","title":"A","content_text":"x"}}]}}"#
            );
            assert!(
                parse_feed(json.as_bytes(), "https://e.com/", None).is_err(),
                "{version}"
            );
        }
    }

    #[test]
    fn a_json_feed_field_of_the_wrong_type_costs_that_field_not_the_feed() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":7,"author":"Desk",
"items":[
{"id":"good","url":"https://e.com/good","title":"Good","content_text":"kept"},
{"id":"a","url":"https://e.com/a","title":"A","content_text":"x",
 "attachments":[{"url":"https://e.com/a.mp3"},{"url":"https://e.com/b.mp3","mime_type":"audio/mpeg","size_in_bytes":1.5}]},
{"id":"b","url":"https://e.com/b","title":"B","content_text":"y","author":"Jane","authors":"Joe",
 "tags":"x","summary":123},
{"id":"c","url":"https://e.com/c","title":"C","content_text":"z","tags":[1,"two",null,{}],
 "attachments":{"url":"https://e.com/c.mp3"},"authors":[{"name":"Ann"},"Bo",5]},
"not an item"]}"#;
        let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
        assert_eq!(f.title.as_deref(), Some("7"));
        let got: Vec<(Option<&str>, Vec<&str>)> = f
            .entries
            .iter()
            .map(|e| {
                (
                    e.guid.as_deref(),
                    e.authors.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                // the feed's author stands for an item's without one
                (Some("good"), vec!["Desk"]),
                (Some("a"), vec!["Desk"]),
                (Some("b"), vec!["Jane", "Joe"]),
                (Some("c"), vec!["Ann", "Bo"]),
            ]
        );
        assert_eq!(f.entries[2].summary.as_deref(), Some("123"));
    }

    /// A document with no feed's root says which root it has: feed-rs's "no root element"
    /// was said of documents that have one.
    #[test]
    fn a_document_without_a_feeds_root_names_the_root_it_has() {
        let message = |xml: &str| match parse_feed(xml.as_bytes(), "https://e.com/", None) {
            Err(ParseError::Malformed(m)) => m,
            other => panic!("{xml}: {other:?}"),
        };
        assert!(
            message("<?xml version=\"1.0\"?>\n<rss version=\"2.0\"></rss>")
                .contains("an <rss> document without a <channel> element")
        );
        assert!(message("<note><to>x</to></note>").contains("the root element is <note>"));
    }

    /// Atom content of a type that is not text is base64 data: no article text. Text,
    /// HTML, XHTML and XML content is kept.
    #[test]
    fn atom_content_that_is_not_text_is_no_text() {
        let entry = |ty: &str, body: &str| {
            format!(
                "<entry><id>urn:{ty}</id><title>T</title><summary>S</summary>\
                 <content type=\"{ty}\">{body}</content></entry>"
            )
        };
        let atom = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A</title>{}{}{}{}</feed>",
            entry("application/octet-stream", "RW50cnkgQ29udGVudA=="),
            entry("html", "&lt;p&gt;Body&lt;/p&gt;"),
            entry("text", "Body"),
            entry("image/png", "iVBORw0KGgo="),
        );
        let f = parse_feed(atom.as_bytes(), "https://e.com/", None).unwrap();
        let content: Vec<Option<&str>> = f.entries.iter().map(|e| e.content.as_deref()).collect();
        assert_eq!(content[0], None);
        assert!(
            content[1].is_some_and(|c| c.contains("Body")),
            "{content:?}"
        );
        assert_eq!(content[2], Some("Body"));
        assert_eq!(content[3], None);
        assert!(f.entries.iter().all(|e| e.summary.as_deref() == Some("S")));
        for (ty, text) in [
            ("text/html; charset=utf-8", true),
            ("application/xhtml+xml", true),
            ("application/atom+xml", true),
            ("text/plain", true),
            ("application/octet-stream", false),
            ("audio/mpeg", false),
        ] {
            assert_eq!(is_text_media(ty), text, "{ty}");
        }
    }

    #[test]
    fn an_atom_entry_is_not_linked_to_a_related_page() {
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>urn:f</id>
<updated>2026-12-05T10:00:00Z</updated>
<entry><id>urn:a</id><title>A</title><updated>2026-12-05T10:00:00Z</updated>
<link rel="related" href="https://other.example/background"/></entry>
<entry><id>urn:b</id><title>B</title><updated>2026-12-05T10:00:00Z</updated>
<link rel="self" href="https://e.com/api/b"/><link rel="enclosure" href="https://e.com/b.mp3"/></entry>
<entry><id>urn:c</id><title>C</title><updated>2026-12-05T10:00:00Z</updated>
<link rel="related" href="https://other.example/x"/><link href="https://e.com/c"/></entry>
</feed>"#;
        let f = parse_feed(atom.as_bytes(), "https://e.com/feed", None).unwrap();
        let links: Vec<Option<&str>> = f.entries.iter().map(|e| e.link.as_deref()).collect();
        assert_eq!(
            links,
            [None, Some("https://e.com/b.mp3"), Some("https://e.com/c")]
        );
    }

    #[test]
    fn a_date_either_way_round_is_read_near_the_fetch() {
        let rss = r#"<rss version="2.0"><channel><title>T</title>
<item><guid>a</guid><title>A</title><pubDate>05/12/2026 09:36</pubDate></item>
</channel></rss>"#;
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        // (fetched, read as)
        for (fetched, read) in [
            ("2026-12-05T10:00:00Z", "2026-12-05T09:36:00Z"),
            ("2026-05-12T10:00:00Z", "2026-05-12T09:36:00Z"),
        ] {
            let f = parse_feed_at(rss.as_bytes(), "https://e.com/", None, at(fetched)).unwrap();
            assert_eq!(f.entries[0].published, Some(at(read)), "fetched {fetched}");
        }
    }

    #[test]
    fn a_body_that_is_no_feed_says_what_it_was_served_as() {
        let e = parse_feed(b"\x89PNG\r\n{\x1a\n", "https://e.com/", Some("image/png"))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("(served as image/png)"), "{e}");
    }

    #[test]
    fn a_json_feed_items_relative_url_is_resolved() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":"1","url":"/rel/j1","title":"T","content_text":"x"}]}"#;
        let f = parse_feed(json.as_bytes(), "https://e.com/feeds/all.json", None).unwrap();
        assert_eq!(f.entries[0].link.as_deref(), Some("https://e.com/rel/j1"));
    }

    #[test]
    fn an_item_that_is_only_an_enclosure_links_to_its_file() {
        let rss = "<rss version=\"2.0\"><channel><title>P</title><item><guid>ep1</guid>\
            <enclosure url=\"https://pods.example/ep1.mp3\" type=\"audio/mpeg\" length=\"1\"/>\
            </item><item><guid>ep2</guid><link>https://pods.example/ep2</link>\
            <enclosure url=\"https://pods.example/ep2.mp3\" type=\"audio/mpeg\" length=\"1\"/>\
            </item></channel></rss>";
        let f = parse_feed(rss.as_bytes(), "https://pods.example/", None).unwrap();
        assert_eq!(
            f.entries[0].link.as_deref(),
            Some("https://pods.example/ep1.mp3")
        );
        assert_eq!(
            f.entries[1].link.as_deref(),
            Some("https://pods.example/ep2")
        );
        // A GUID that is a URL is the item's page, not its picture or its file.
        let rss = "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel>\
            <title>P</title><item><guid>https://news.example/b</guid>\
            <media:content url=\"https://cdn.example/b.jpg\" medium=\"image\"/></item>\
            <item><guid>https://pods.example/ep3</guid>\
            <enclosure url=\"https://pods.example/ep3.mp3\" type=\"audio/mpeg\" length=\"1\"/>\
            </item></channel></rss>";
        let f = parse_feed(rss.as_bytes(), "https://news.example/", None).unwrap();
        let opts = crate::normalize::NormalizeOptions::new(chrono::Utc::now());
        let urls: Vec<Option<String>> = f
            .entries
            .iter()
            .map(|e| crate::normalize::normalize(e, &opts).url)
            .collect();
        assert_eq!(
            urls,
            [
                Some("https://news.example/b".to_owned()),
                Some("https://pods.example/ep3".to_owned())
            ]
        );
    }

    /// Plain text as declared: Atom's `type="text"` (also by default) and JSON Feed's plain
    /// fields; never RSS, whose titles and descriptions carry HTML.
    #[test]
    fn the_strings_a_format_declares_plain_text_are_marked() {
        use crate::normalize::PlainText;
        let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><id>1</id><title type="text">Why &lt;script&gt; tags</title>
<summary type="html">&lt;p&gt;S&lt;/p&gt;</summary><content>C</content></entry></feed>"#;
        let f = parse_feed(atom.as_bytes(), "https://e.com/", None).unwrap();
        let want = PlainText {
            title: true,
            summary: false,
            content: true,
        };
        assert_eq!(f.entries[0].plain, want);
        assert_eq!(f.entries[0].title.as_deref(), Some("Why <script> tags"));
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":"1","title":"T","summary":"S","content_text":"a < b"},
{"id":"2","title":"T","content_html":"<p>H</p>"}]}"#;
        let f = parse_feed(json.as_bytes(), "https://e.com/", None).unwrap();
        let all = PlainText {
            title: true,
            summary: true,
            content: true,
        };
        assert_eq!(f.entries[0].plain, all);
        assert_eq!(
            f.entries[1].plain,
            PlainText {
                title: true,
                ..PlainText::default()
            }
        );
        let rss = "<rss version=\"2.0\"><channel><title>R</title><item><guid>1</guid>\
            <title>x &lt;b&gt;</title><description>d</description></item></channel></rss>";
        let f = parse_feed(rss.as_bytes(), "https://e.com/", None).unwrap();
        assert_eq!(f.entries[0].plain, PlainText::default());
    }
}
