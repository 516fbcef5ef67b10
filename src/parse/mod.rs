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
//!
//! The parts: `entry` (a feed-rs entry as a [`RawEntry`]), `document` (what feed-rs leaves out,
//! read again from the document), `json` (JSON Feed repairs), `html` (a page instead of a
//! feed), `repair`, `nesting` (input deep enough to overflow feed-rs's stack) and [`encoding`].

mod document;
pub mod encoding;
mod entry;
mod html;
mod json;
mod nesting;
mod repair;

use crate::normalize::RawEntry;
pub use document::skip_times;
use document::{keep_pub_dates, original_links, raw_item_fallbacks};
pub use html::MAX_ANNOUNCED;
use html::{announced, announced_feeds, looks_like_html};
use json::{json_items_repaired, json_surrogates_repaired};

/// Why a body is not a feed. [`parse_feed`] knows the body only; the poll, which knows the
/// answer it came in, adds that with [`ParseError::answered`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is empty or only whitespace.
    #[error("{}the response body is empty", answer_words(*.status, .from.as_deref()))]
    Empty {
        /// The HTTP status it came with: "the response body is empty" alone read as a broken
        /// feed, where a `204 No Content` is the server saying it has none to give.
        status: Option<u16>,
        /// The URL it came from, when redirects led away from the source's own.
        from: Option<String>,
    },
    /// The body is an HTML page (an error page, a login wall, a CDN block, or the site's
    /// home page configured instead of its feed), not a feed. `feeds` are the feeds the page
    /// announces (`<link rel="alternate" type="application/rss+xml" href=…>`), for the
    /// operator to pick from; none is followed.
    #[error("not a feed: the body{} is an HTML page{}", from_words(.from.as_deref()), announced(feeds))]
    NotAFeed {
        /// The announced feeds' URLs, resolved against the page's (at most [`MAX_ANNOUNCED`]).
        feeds: Vec<String>,
        /// The page's URL, when redirects led away from the source's own (a sign-in page
        /// the feed's URL redirects to): the operator looks at the one configured otherwise.
        from: Option<String>,
    },
    /// The body looks like XML or JSON but is not a feed feed-rs can read.
    #[error("malformed feed: {0}")]
    Malformed(String),
}

impl ParseError {
    /// The error class recorded on the source and counted in metrics.
    pub fn class(&self) -> &'static str {
        match self {
            ParseError::Empty { .. } => "empty_body",
            ParseError::NotAFeed { .. } => "not_a_feed",
            ParseError::Malformed(_) => "malformed_feed",
        }
    }

    /// This error, told with what the poll knows of the answer: its HTTP `status` (`None`
    /// for a file), and `from`, the URL the body came from when redirects led away from the
    /// source's own (shown without credentials). An empty body names its status; a body that
    /// is no feed names where it came from.
    pub fn answered(self, status: Option<u16>, from: Option<&str>) -> Self {
        let from = from.map(str::to_owned);
        match self {
            ParseError::Empty { .. } => ParseError::Empty { status, from },
            ParseError::NotAFeed { feeds, .. } => ParseError::NotAFeed { feeds, from },
            ParseError::Malformed(m) => match from {
                Some(url) => ParseError::Malformed(format!(
                    "{m} (from {url}, where the source's URL redirects)"
                )),
                None => ParseError::Malformed(m),
            },
        }
    }
}

/// Before "the response body is empty": the status it came with (`204 No Content: `), and
/// where redirects led.
fn answer_words(status: Option<u16>, from: Option<&str>) -> String {
    let status = status.map(crate::fetch::status_text).unwrap_or_default();
    match (status.as_str(), from_words(from).as_str()) {
        ("", "") => String::new(),
        ("", from) => format!("{}: ", from.trim_start()),
        (status, from) => format!("{status}{from}: "),
    }
}

/// ` from URL (where the source's URL redirects)`, or nothing.
fn from_words(from: Option<&str>) -> String {
    from.map(|url| format!(" from {url} (where the source's URL redirects)"))
        .unwrap_or_default()
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

/// Whether `url` is an `http` or `https` URL (a source's feed fetched from the web, not a
/// file).
fn is_web(url: &str) -> bool {
    let scheme = url.split_once(':').map_or("", |(s, _)| s);
    scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
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
        return Err(ParseError::Empty {
            status: None,
            from: None,
        });
    }
    if looks_like_html(head) {
        return Err(ParseError::NotAFeed {
            feeds: announced_feeds(bytes, url),
            from: None,
        });
    }
    // A parser per attempt: feed-rs keeps the Media RSS state of an entry in the parser, and
    // after a document failed within an entry a second parse by it panicked.
    // Relative links of a feed read from a file are the web site's, not the file's: feed-rs
    // would resolve them to `file:` URLs, which no article keeps (`entry::Reading` resolves
    // them against the feed's own address or its site instead).
    let web = is_web(url);
    let parser = || {
        feed_rs::parser::Builder::new()
            .base_uri(web.then_some(url))
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
    // The wrapped bytes only when they parse: a repair must never refuse a document that
    // parses as it came (a wrap the element pattern paired wrongly).
    let (bytes, first) = match wrapped.as_deref().map(|w| (w, parse(w))) {
        Some((w, Ok(feed))) => (w, Ok(feed)),
        _ => (bytes, parse(bytes)),
    };
    let feed = match first.map_err(served_as) {
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
    let reading = entry::Reading::of(&feed, url, web);
    let is_rss2 = matches!(
        feed.feed_type,
        feed_rs::model::FeedType::RSS0 | feed_rs::model::FeedType::RSS2
    );
    let mut entries: Vec<RawEntry> = feed.entries.into_iter().map(|e| reading.entry(e)).collect();
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

fn unread_entries(held: usize) -> ParseError {
    ParseError::Malformed(format!(
        "the document holds {held} item or entry elements but none where its feed format has them \
         (an unknown namespace or format version)"
    ))
}

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

fn first_non_space(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..bytes.len().min(start + 512)]
}

#[cfg(test)]
mod tests;
