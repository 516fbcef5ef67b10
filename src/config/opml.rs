//! OPML subscription lists, what feed readers export (newsboat `-e`, FreshRSS, Inoreader,
//! Feedly), read into `[[sources]]` entries: `wirefold import-opml`; and the configured
//! sources written as one: `wirefold export-opml`.
//!
//! Every `<outline>` with an `xmlUrl`, at any depth (readers nest feeds in folders), is a
//! feed; its `title`, else its `text`, names it. Feeds already configured (the same URL) and
//! feeds listed twice are left out with the reason; names are made unique against the
//! configured ones. The entries are printed as TOML for the operator to append, so the
//! configuration file stays the one place sources are kept (and a reload applies them).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use quick_xml::events::{BytesStart, Event};
use quick_xml::XmlVersion;
use url::Url;

use super::SourceConfig;

/// What stops an OPML file from being read at all.
#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    /// The XML is broken (an unclosed element, a bad attribute).
    #[error("not well-formed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset in the (UTF-8) text where the reader stopped.
        position: u64,
        /// What the XML reader said.
        message: String,
    },
    /// Broken before any element: another kind of file (a TOML file, an HTML error page).
    #[error("not an OPML file: no XML element before this ({0})")]
    NotXml(String),
    /// Well-formed, but another kind of document.
    #[error("the root element is <{0}>, not <opml>: not an OPML file")]
    NotOpml(String),
    /// No element at all.
    #[error("the file holds no XML element: not an OPML file")]
    Empty,
}

/// One feed of an OPML file, as written there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpmlFeed {
    /// `title`, else `text`, whitespace collapsed; empty when neither says anything.
    pub title: String,
    /// `wirefoldName`: the source's name as [`to_opml`] writes it when its title would not
    /// give it back (spaces collapsed, a long name cut), when it may name a source.
    pub name: Option<String>,
    /// `xmlUrl`, trimmed.
    pub url: String,
    /// False when the outline says `wirefoldEnabled="false"` ([`to_opml`] of a disabled
    /// source), so that a list exported by one wirefold and imported by another keeps its
    /// disabled sources disabled.
    pub enabled: bool,
    /// `wirefoldInterval`: the source's own polling interval, as [`to_opml`] writes it.
    pub interval: Option<String>,
    /// `wirefoldAgency="true"`: a wire agency's own feed, as [`to_opml`] writes it.
    pub agency: bool,
    /// What of the outline was not understood (a `wirefoldEnabled` or `wirefoldAgency`
    /// that is neither yes nor no), one line each, for the import's notes.
    pub unread: Vec<String>,
}

/// Every feed of an OPML document, in document order.
pub fn feeds(xml: &[u8]) -> Result<Vec<OpmlFeed>, OpmlError> {
    let text = crate::parse::encoding::to_utf8(xml, None);
    let text = String::from_utf8_lossy(&text.bytes);
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut in_root = false;
    // Elements open; the root's end brings it back to 0, after which nothing may follow.
    let mut open = 0usize;
    let mut feeds = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| {
            if in_root {
                OpmlError::Xml {
                    position: reader.error_position(),
                    message: e.to_string(),
                }
            } else {
                OpmlError::NotXml(e.to_string())
            }
        })?;
        let element = match &event {
            Event::Start(e) | Event::Empty(e) => e,
            Event::End(_) => {
                open = open.saturating_sub(1);
                continue;
            }
            // A file cut short (a download or copy that stopped) ends inside its elements:
            // its feeds up to the cut were all that was read, without a word.
            Event::Eof if open > 0 => {
                return Err(OpmlError::Xml {
                    position: reader.buffer_position(),
                    message: format!(
                        "the file ends with {open} element{} unclosed (cut short?)",
                        if open == 1 { "" } else { "s" }
                    ),
                })
            }
            Event::Eof => break,
            _ => continue,
        };
        if in_root && open == 0 {
            return Err(OpmlError::Xml {
                position: reader.buffer_position(),
                message: "an element after the end of <opml> (two files in one?)".into(),
            });
        }
        if matches!(event, Event::Start(_)) {
            open += 1;
        }
        let name = element.local_name().as_ref().to_owned();
        if !in_root {
            if !name.eq_ignore_ascii_case("opml") {
                return Err(OpmlError::NotOpml(name));
            }
            in_root = true;
            continue;
        }
        if name.eq_ignore_ascii_case("outline") {
            if let Some(feed) = outline(element).map_err(|message| OpmlError::Xml {
                position: reader.buffer_position(),
                message,
            })? {
                feeds.push(feed);
            }
        }
    }
    if !in_root {
        return Err(OpmlError::Empty);
    }
    Ok(feeds)
}

/// The feed an `<outline>` names, if it has an `xmlUrl` (folders have none). Attribute names
/// are matched without regard to case: `xmlurl` is a common misspelling.
fn outline(element: &BytesStart<'_>) -> Result<Option<OpmlFeed>, String> {
    let (mut url, mut title, mut text, mut enabled) = (None, None, None, None);
    let (mut interval, mut agency, mut name) = (None, None, None);
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        let key = attribute.key.local_name().as_ref().to_lowercase();
        let slot = match key.as_str() {
            "xmlurl" => &mut url,
            "title" => &mut title,
            "text" => &mut text,
            "wirefoldenabled" => &mut enabled,
            "wirefoldinterval" => &mut interval,
            "wirefoldagency" => &mut agency,
            "wirefoldname" => &mut name,
            _ => continue,
        };
        // An entity XML does not define (`&eacute;` from an HTML-minded exporter) leaves
        // the value as written rather than losing the feed.
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_or_else(|_| attribute.value.clone().into_owned(), |v| v.into_owned());
        *slot = Some(value);
    }
    // Folders have no `xmlUrl`; an empty one is a feed without its address, left out with
    // the reason rather than taken for a folder.
    let Some(url) = url.map(|u| u.trim().to_owned()) else {
        return Ok(None);
    };
    // A title from someone else's list becomes a source name, which goes into log lines
    // and the configuration: none of what a name may not hold (a terminal escape, a forged
    // line, a direction override), or the configuration it is appended to is refused.
    // A reader writes the feed's URL as its text when it has no title: shown, and taken for
    // the source's name, without the credentials in it.
    let title = [title, text]
        .into_iter()
        .flatten()
        .map(|t| title_as_name(&t))
        // nor dots alone, which cannot be named in the API's URLs (empty: none either)
        .find(|t| !t.bytes().all(|b| b == b'.'))
        .unwrap_or_default();
    let mut unread = Vec::new();
    // yes, no, or neither (noted, and read as `default`)
    let mut flag = |attribute: &str, value: Option<String>, default: bool| {
        let Some(v) = value else {
            return default;
        };
        let v = v.trim();
        if ["true", "yes", "1"]
            .iter()
            .any(|t| v.eq_ignore_ascii_case(t))
        {
            true
        } else if ["false", "no", "0"]
            .iter()
            .any(|t| v.eq_ignore_ascii_case(t))
        {
            false
        } else {
            unread.push(format!(
                "{attribute}=\"{}\" is neither true nor false; read as {default}",
                collapse(v)
            ));
            default
        }
    };
    let enabled = flag("wirefoldEnabled", enabled, true);
    let agency = flag("wirefoldAgency", agency, false);
    let name = name.map(|n| n.trim().to_owned()).filter(|n| {
        let fits = may_name_a_source(n);
        if !fits {
            unread.push(format!(
                "wirefoldName=\"{}\" is no source name; named by its title",
                collapse(n).chars().take(MAX_NAME_CHARS).collect::<String>()
            ));
        }
        fits
    });
    Ok(Some(OpmlFeed {
        title,
        name,
        url,
        enabled,
        interval: interval.map(|i| collapse(&i)).filter(|i| !i.is_empty()),
        agency,
        unread,
    }))
}

/// A feed of the file that is not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The feed as the file has it.
    pub feed: OpmlFeed,
    /// Why it is left out.
    pub reason: String,
}

/// The line `import-opml` prints for a feed it leaves out: its title, its URL as
/// [`super::shown_url`] shows a source's (a password or token in it written `xxxxx`, so
/// that credentials in a file of subscriptions do not end up in a terminal's scrollback or
/// a CI log), and the reason, each on one line.
impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} <{}>: {}",
            self.feed.title,
            one_line(&super::shown_url(&self.feed.url)),
            one_line(&self.reason)
        )
    }
}

/// A source to add: a name unique among the configured and the imported ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSource {
    /// Its name in the configuration.
    pub name: String,
    /// Its URL.
    pub url: Url,
    /// Whether it is polled (`enabled = false` written otherwise).
    pub enabled: bool,
    /// Its own interval, from the file (checked against the schedule's bounds).
    pub interval: Option<String>,
    /// A wire agency's own feed (`agency = true`).
    pub agency: bool,
}

/// What an import adds and what it leaves out.
#[derive(Debug, Default)]
pub struct Import {
    /// The sources to add, in the file's order.
    pub sources: Vec<NewSource>,
    /// The feeds left out.
    pub skipped: Vec<Skipped>,
    /// What of an imported feed was left out, one line each (an interval outside the
    /// schedule's bounds).
    pub notes: Vec<String>,
}

/// Decides which of `feeds` become sources next to the `configured` ones: http(s) URLs not
/// configured yet, each once, under a name no other source has. A feed's own interval is kept
/// when it lies within `schedule`'s bounds.
pub fn plan(
    feeds: Vec<OpmlFeed>,
    configured: &[SourceConfig],
    schedule: &super::ScheduleConfig,
) -> Import {
    // By how they look, as the configuration compares them (`validate::looks`).
    let mut names: HashSet<String> = configured
        .iter()
        .map(|s| super::validate::looks(&s.name))
        .collect();
    let mut urls: HashMap<String, String> = configured
        .iter()
        .map(|s| {
            (
                super::fetched_url(&s.url).as_str().to_owned(),
                format!("configured as \"{}\"", s.name),
            )
        })
        .collect();
    let mut import = Import::default();
    // The next number to try after each name numbered so far ([`unique_name`]).
    let mut numbered = HashMap::new();
    for feed in feeds {
        if feed.url.is_empty() {
            let reason = "its xmlUrl is empty".to_owned();
            import.skipped.push(Skipped { feed, reason });
            continue;
        }
        let url = match Url::parse(&feed.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => u,
            Ok(u) => {
                let reason = format!(
                    "scheme \"{}\": only http and https feeds are imported",
                    u.scheme()
                );
                import.skipped.push(Skipped { feed, reason });
                continue;
            }
            Err(e) => {
                let reason = format!("not a URL ({e})");
                import.skipped.push(Skipped { feed, reason });
                continue;
            }
        };
        if let Some(already) = urls.get(super::fetched_url(&url).as_str()) {
            let reason = format!("already {already}");
            import.skipped.push(Skipped { feed, reason });
            continue;
        }
        let name = match &feed.name {
            Some(own) => unique_name(own, &url, &names, &mut numbered, usize::MAX),
            None => unique_name(&feed.title, &url, &names, &mut numbered, MAX_NAME_CHARS),
        };
        names.insert(super::validate::looks(&name));
        urls.insert(
            super::fetched_url(&url).as_str().to_owned(),
            format!("listed earlier in the file, as \"{name}\""),
        );
        let interval =
            feed.interval
                .as_deref()
                .and_then(|raw| match check_duration(raw, schedule) {
                    Ok(i) => Some(i),
                    Err(why) => {
                        import
                            .notes
                            .push(format!("{name:?}: wirefoldInterval {why}; not kept"));
                        None
                    }
                });
        for n in &feed.unread {
            import.notes.push(format!("{name:?}: {n}"));
        }
        import.sources.push(NewSource {
            name,
            url,
            enabled: feed.enabled,
            interval,
            agency: feed.agency,
        });
    }
    import
}

/// `text` for a comment line of the configuration: its control characters written as
/// escapes (`\n`). A file name with a line break ended the comment the import prints above
/// its entries, and the rest of the name went into the configuration as keys
/// (`subs\nenabled = false\n#.opml` disabled the last configured source).
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || super::unprintable(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Longest name given to an imported source from its title, in characters (an ellipsis
/// added).
const MAX_NAME_CHARS: usize = 80;

/// Longest `wirefoldName` taken (a hostile file's megabytes are not).
const MAX_OWN_NAME_BYTES: usize = 4096;

/// Whether `name` (trimmed) passes as a source's name in the configuration
/// (`validate`: something to show, no control character, not dots alone).
fn may_name_a_source(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_OWN_NAME_BYTES
        && !name.chars().any(super::unprintable)
        && !super::validate::shows_nothing(name)
        && !name.bytes().all(|b| b == b'.')
}

/// The feed's title (cut at `max_chars`), else its host and path; when another source has it
/// (or one that looks the same: `taken` holds names as `validate::looks` gives them), the
/// host is added, then a number: the first free one from where `numbered` says the last
/// one given to that name was. Tried from 2 each time, 8,000 feeds of one title on one host
/// took six minutes to import.
fn unique_name(
    title: &str,
    url: &Url,
    taken: &HashSet<String>,
    numbered: &mut HashMap<String, u64>,
    max_chars: usize,
) -> String {
    let host = url.host_str().unwrap_or_default();
    let base = if super::validate::shows_nothing(title) {
        format!("{host}{}", url.path().trim_end_matches('/'))
    } else {
        title.to_owned()
    };
    // A name goes into every log line, metric label and URL of its source: an outline's
    // title of a whole article (or megabytes, in a hostile file) is cut.
    let base = match base.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", base[..cut].trim_end()),
        None => base,
    };
    let free = |name: &str| !taken.contains(&super::validate::looks(name));
    if free(&base) {
        return base;
    }
    let with_host = format!("{base} ({host})");
    if free(&with_host) {
        return with_host;
    }
    let from = numbered.get(&with_host).copied().unwrap_or(2);
    let Some((n, name)) = (from..)
        .map(|n| (n, format!("{with_host} {n}")))
        .find(|(_, name)| free(name))
    else {
        return with_host;
    };
    numbered.insert(with_host, n + 1);
    name
}

/// `--interval`: a duration within the schedule's bounds, as the configuration would accept
/// it for a source.
pub fn check_interval(raw: &str, schedule: &super::ScheduleConfig) -> Result<String, String> {
    check_duration(raw, schedule).map_err(|why| format!("--interval {why}"))
}

/// `raw`, trimmed, when it is a duration within the schedule's bounds; else why not.
fn check_duration(raw: &str, schedule: &super::ScheduleConfig) -> Result<String, String> {
    let raw = raw.trim();
    let d = humantime::parse_duration(raw)
        .map_err(|e| format!("{raw:?} is not a duration such as 30m ({e})"))?;
    match super::validate::outside_bounds(d, schedule) {
        Some(why) => Err(why),
        None => Ok(raw.to_owned()),
    }
}

/// The sources as `[[sources]]` entries, with `interval` (a duration as the configuration
/// writes it) when given, else each source's own.
pub fn to_toml(sources: &[NewSource], interval: Option<&str>) -> String {
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let mut out = String::new();
    for s in sources {
        out.push_str("\n[[sources]]\n");
        out.push_str(&format!("name = {}\n", quote(&s.name)));
        out.push_str(&format!("url = {}\n", quote(s.url.as_str())));
        if let Some(interval) = interval.or(s.interval.as_deref()) {
            out.push_str(&format!("interval = {}\n", quote(interval)));
        }
        if !s.enabled {
            out.push_str("enabled = false\n");
        }
        if s.agency {
            out.push_str("agency = true\n");
        }
    }
    out
}

/// A title as an import takes it for a name: what may hide a secret (a URL's token) shown
/// hidden, what a name may not hold made a space, spaces collapsed.
fn title_as_name(title: &str) -> String {
    collapse(&super::shown_text(title))
}

/// What a name may not hold (a terminal escape, a forged line, a direction override) made a
/// space, spaces collapsed.
fn collapse(s: &str) -> String {
    s.replace(super::unprintable, " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The sources as an OPML 2.0 subscription list, one `<outline type="rss">` each, named by
/// its name, in configuration order: what another reader (or [`feeds`]) imports. What only
/// wirefold reads, other readers ignore: `wirefoldEnabled="false"` on a disabled source,
/// `wirefoldInterval` on one whose interval is not `default_interval`, `wirefoldAgency="true"`
/// on an agency's feed, and `wirefoldName` on one whose title an import would not take for
/// its name as it is (spaces collapsed, cut at 80 characters): a source renamed is a new
/// source, without the old one's state.
pub fn to_opml(sources: &[SourceConfig], title: &str, default_interval: Duration) -> String {
    use quick_xml::escape::escape;
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n");
    out.push_str(&format!(
        "  <head><title>{}</title></head>\n  <body>\n",
        escape(title)
    ));
    for s in sources {
        let name = escape(s.name.as_str());
        let mut own = String::new();
        if !s.enabled {
            own.push_str(" wirefoldEnabled=\"false\"");
        }
        if s.interval != default_interval {
            own.push_str(&format!(
                " wirefoldInterval=\"{}\"",
                super::validate::shown_duration(s.interval)
            ));
        }
        if s.agency {
            own.push_str(" wirefoldAgency=\"true\"");
        }
        if title_as_name(&s.name) != s.name || s.name.chars().nth(MAX_NAME_CHARS).is_some() {
            own.push_str(&format!(" wirefoldName=\"{name}\""));
        }
        out.push_str(&format!(
            "    <outline type=\"rss\" text=\"{name}\" title=\"{name}\" xmlUrl=\"{}\"{own}/>\n",
            escape(s.url.as_str())
        ));
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const READER_EXPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Agencies" title="Agencies">
      <outline type="rss" text="Harbour Wire" title="Harbour   Wire" xmlUrl=" https://wire.example.org/rss " htmlUrl="https://wire.example.org/"/>
      <outline type="rss" text="Valley &amp; Lake" xmlUrl="https://valley.example.net/feed?format=rss&amp;lang=en"/>
    </outline>
    <outline text="Regional">
      <outline type="rss" xmlurl="http://plain.example.com/news/"/>
      <outline text="Caf&eacute; News" xmlUrl="https://cafe.example.org/atom.xml"></outline>
      <outline text="No feed here" htmlUrl="https://site.example.org/"/>
    </outline>
  </body>
</opml>"#;

    fn feed(title: &str, url: &str) -> OpmlFeed {
        OpmlFeed {
            title: title.into(),
            name: None,
            url: url.into(),
            enabled: true,
            interval: None,
            agency: false,
            unread: Vec::new(),
        }
    }

    #[test]
    fn every_outline_with_a_feed_url_is_a_feed_at_any_depth() {
        let got = feeds(READER_EXPORT.as_bytes()).unwrap();
        assert_eq!(
            got,
            [
                feed("Harbour Wire", "https://wire.example.org/rss"),
                feed(
                    "Valley & Lake",
                    "https://valley.example.net/feed?format=rss&lang=en"
                ),
                feed("", "http://plain.example.com/news/"),
                feed("Caf&eacute; News", "https://cafe.example.org/atom.xml"),
            ]
        );
    }

    #[test]
    fn an_agency_mark_is_read_as_true_yes_or_1() {
        let xml = r#"<opml version="2.0"><body>
            <outline text="a" xmlUrl="https://a.example/rss" wirefoldAgency="TRUE"/>
            <outline text="b" xmlUrl="https://b.example/rss" wirefoldAgency=" yes "/>
            <outline text="c" xmlUrl="https://c.example/rss" wirefoldAgency="1"/>
            <outline text="d" xmlUrl="https://d.example/rss" wirefoldAgency="no"/>
            <outline text="e" xmlUrl="https://e.example/rss"/>
        </body></opml>"#;
        let marks: Vec<bool> = feeds(xml.as_bytes())
            .unwrap()
            .iter()
            .map(|f| f.agency)
            .collect();
        assert_eq!(marks, [true, true, true, false, false]);
    }

    /// An outline with an empty address, and marks that say neither yes nor no: left out
    /// or read as the default, and said, not passed over.
    #[test]
    fn what_an_import_cannot_read_is_said() {
        let xml = r#"<opml version="2.0"><body>
            <outline text="blank" xmlUrl="  "/>
            <outline text="odd" xmlUrl="https://odd.example/rss" wirefoldEnabled="nope" wirefoldAgency="yes please"/>
            <outline text="off" xmlUrl="https://off.example/rss" wirefoldEnabled="no"/>
        </body></opml>"#;
        let found = feeds(xml.as_bytes()).unwrap();
        assert_eq!(found.len(), 3);
        let import = plan(found, &[], &crate::config::ScheduleConfig::default());
        assert_eq!(import.skipped.len(), 1);
        assert_eq!(import.skipped[0].reason, "its xmlUrl is empty");
        assert_eq!(
            import.notes,
            [
                "\"odd\": wirefoldEnabled=\"nope\" is neither true nor false; read as true",
                "\"odd\": wirefoldAgency=\"yes please\" is neither true nor false; read as false",
            ]
        );
        let states: Vec<(bool, bool)> = import
            .sources
            .iter()
            .map(|s| (s.enabled, s.agency))
            .collect();
        assert_eq!(states, [(true, false), (false, false)]);
    }

    #[test]
    fn control_characters_of_a_title_are_left_out() {
        let xml = r#"<opml version="2.0"><body>
            <outline text="Red&#27;[31m Wire&#1;" xmlUrl="https://wire.example.org/rss"/>
            <outline text="u&#x202e;rtl&#x2066;x&#x200f;" xmlUrl="https://rtl.example.org/rss"/>
            <outline text=".." title=" . " xmlUrl="https://dots.example.org/rss"/>
        </body></opml>"#;
        assert_eq!(
            feeds(xml.as_bytes()).unwrap(),
            [
                feed("Red [31m Wire", "https://wire.example.org/rss"),
                feed("u rtl x", "https://rtl.example.org/rss"),
                // dots alone are no name: the host and path will be
                feed("", "https://dots.example.org/rss")
            ]
        );
    }

    #[test]
    fn what_is_not_an_opml_file_is_named() {
        let err = |xml: &str| feeds(xml.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            err("<rss version=\"2.0\"><channel/></rss>"),
            "the root element is <rss>, not <opml>: not an OPML file"
        );
        assert_eq!(err(""), "the file holds no XML element: not an OPML file");
        let text = err("[sources]\nname = \"Q & A\"\n");
        assert!(
            text.starts_with("not an OPML file: no XML element before this ("),
            "{text}"
        );
        let broken = err("<opml><body><outline xmlUrl=\"https://a.example/\"></body></opml>");
        assert!(
            broken.starts_with("not well-formed XML at byte "),
            "{broken}"
        );
        let attribute = err("<opml><body><outline xmlUrl=\"a\" xmlUrl=\"b\"/></body></opml>");
        assert!(
            attribute.starts_with("not well-formed XML at byte "),
            "{attribute}"
        );
        // Cut short after a whole outline: refused, not read as the feeds up to the cut.
        let cut = err("<opml><body><outline text=\"a\" xmlUrl=\"https://a.example/\"/>\n");
        assert!(
            cut.starts_with("not well-formed XML at byte ")
                && cut.ends_with("the file ends with 2 elements unclosed (cut short?)"),
            "{cut}"
        );
        // A second document after the first: refused, not read as more feeds.
        let two = err("<opml><body/></opml><opml><body><outline xmlUrl=\"https://b.example/\"/></body></opml>");
        assert!(two.contains("after the end of <opml>"), "{two}");
        assert!(feeds(b"<opml/>").unwrap().is_empty());
        assert!(err("<opml/><outline xmlUrl=\"https://b.example/\"/>").contains("after the end"));
    }

    proptest::proptest! {
        /// Pieces of OPML in any order: read or refused with an error, never a panic.
        #[test]
        fn any_mix_of_opml_pieces_is_read_or_refused(
            pieces in proptest::collection::vec(0usize..16, 0..40)
        ) {
            const PIECES: [&str; 16] = [
                "<opml>", "</opml>", "<body>", "<outline ", "xmlUrl=\"", "XMLURL='",
                "https://a.example/f?x=1&amp;y=2", "\"", "'", "/>", ">", "</outline>",
                "&eacute;", "&", "text=\"T\" ", "\u{feff}",
            ];
            let xml: String = pieces.iter().map(|&i| PIECES[i]).collect();
            if let Ok(found) = feeds(xml.as_bytes()) {
                for f in found {
                    proptest::prop_assert!(!f.url.is_empty());
                }
            }
        }
    }

    fn configured(name: &str, url: &str) -> SourceConfig {
        SourceConfig {
            name: name.into(),
            url: Url::parse(url).unwrap(),
            interval: Duration::from_secs(900),
            enabled: true,
            agency: false,
            headers: Default::default(),
        }
    }

    #[test]
    fn a_long_title_is_cut_into_a_name() {
        let long = "Wire ".repeat(1000);
        let import = plan(
            vec![feed(&long, "https://wire.example.org/rss")],
            &[],
            &Default::default(),
        );
        let name = &import.sources[0].name;
        assert_eq!(name.chars().count(), MAX_NAME_CHARS);
        assert!(
            name.starts_with("Wire Wire") && name.ends_with("Wire…"),
            "{name}"
        );
    }

    /// Numbers go on from the last one given to a name, past those already configured; the
    /// search no longer starts at 2 for every feed (quadratic: six minutes for 8,000 feeds
    /// of one title on one host, 0.6 s now).
    #[test]
    fn numbered_names_skip_the_configured_ones() {
        let existing = [
            configured("News", "https://a.example.org/0"),
            configured("News (a.example.org) 3", "https://a.example.org/00"),
        ];
        let feeds = (1..=5)
            .map(|i| feed("News", &format!("https://a.example.org/{i}")))
            .collect();
        let import = plan(feeds, &existing, &Default::default());
        let names: Vec<&str> = import.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "News (a.example.org)",
                "News (a.example.org) 2",
                "News (a.example.org) 4",
                "News (a.example.org) 5",
                "News (a.example.org) 6",
            ]
        );
    }

    #[test]
    fn configured_and_repeated_feeds_are_left_out_and_names_stay_unique() {
        let existing = [
            configured("Harbour Wire", "https://wire.example.org/other"),
            configured(
                "valley",
                "https://valley.example.net/feed?format=rss&lang=en",
            ),
        ];
        let import = plan(
            vec![
                feed("Harbour Wire", "https://wire.example.org/rss"),
                // The fragment never reaches the server: the same feed.
                feed(
                    "Valley",
                    "https://valley.example.net/feed?format=rss&lang=en#latest",
                ),
                feed("", "http://plain.example.com/news/"),
                feed("Again", "HTTPS://WIRE.example.org/rss#top"),
                feed("Local file", "file:///srv/feeds/a.xml"),
                feed("Typo", "https//wire.example.org"),
                feed("Harbour Wire", "https://mirror.example.org/rss"),
                feed("Harbour Wire", "https://wire.example.org/rss2"),
            ],
            &existing,
            &Default::default(),
        );
        let added: Vec<(&str, &str)> = import
            .sources
            .iter()
            .map(|s| (s.name.as_str(), s.url.as_str()))
            .collect();
        assert_eq!(
            added,
            [
                (
                    "Harbour Wire (wire.example.org)",
                    "https://wire.example.org/rss"
                ),
                ("plain.example.com/news", "http://plain.example.com/news/"),
                (
                    "Harbour Wire (mirror.example.org)",
                    "https://mirror.example.org/rss"
                ),
                (
                    "Harbour Wire (wire.example.org) 2",
                    "https://wire.example.org/rss2"
                ),
            ]
        );
        let skipped: Vec<(&str, &str)> = import
            .skipped
            .iter()
            .map(|s| (s.feed.title.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("Valley", "already configured as \"valley\""),
                (
                    "Again",
                    "already listed earlier in the file, as \"Harbour Wire (wire.example.org)\""
                ),
                (
                    "Local file",
                    "scheme \"file\": only http and https feeds are imported"
                ),
                ("Typo", "not a URL (relative URL without a base)"),
            ]
        );
    }

    /// Names that look like a configured one, as the configuration compares them, are made
    /// unique too: appended, they would have made the configuration refuse itself.
    #[test]
    fn imported_names_that_look_like_configured_ones_are_made_unique() {
        let existing = [configured("Caf\u{e9}", "https://a.example/feed")];
        let import = plan(
            vec![
                feed("Cafe\u{301}", "https://b.example/feed"),
                feed("news", "https://c.example/feed"),
                feed("ne\u{ad}ws", "https://d.example/feed"),
                // A title of invisible characters alone is no title.
                feed("\u{200b}\u{2060}", "https://e.example/feed/"),
            ],
            &existing,
            &Default::default(),
        );
        let names: Vec<&str> = import.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Cafe\u{301} (b.example)",
                "news",
                "ne\u{ad}ws (d.example)",
                "e.example/feed"
            ]
        );
    }

    /// A name is a source's identity: one that came back with its spaces collapsed or cut at
    /// 80 characters was a new source, which started without the old one's state and stored
    /// its items again as copies.
    #[test]
    fn an_exported_name_that_its_title_would_not_give_back_comes_back_whole() {
        let long = "a name of a hundred characters, ".repeat(4)[..100].to_owned();
        let names = [
            "two  spaces",
            "Le\u{a0}Monde",
            "em\u{2003}space",
            long.as_str(),
            "plain",
            // The import hides what looks like a secret in a title (the recheck: renamed on
            // the way back, a new source without the old one's state).
            "Reuters https://feeds.example/x?token=abc",
        ];
        let sources: Vec<SourceConfig> = names
            .iter()
            .enumerate()
            .map(|(i, n)| configured(n, &format!("https://s{i}.example/rss")))
            .collect();
        let schedule = crate::config::ScheduleConfig::default();
        let xml = to_opml(&sources, "t", schedule.default_interval);
        assert_eq!(xml.matches("wirefoldName").count(), 5, "{xml}");
        let again = plan(feeds(xml.as_bytes()).unwrap(), &[], &schedule);
        let got: Vec<&str> = again.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(got, names, "{xml}");
        // One that may not name a source is said, and the title names it.
        let hostile = r#"<opml version="2.0"><body>
            <outline text="Fine" wirefoldName="two&#10;lines" xmlUrl="https://a.example/rss"/>
            </body></opml>"#;
        let read = feeds(hostile.as_bytes()).unwrap();
        assert_eq!(read[0].name, None);
        assert_eq!(
            read[0].unread,
            ["wirefoldName=\"two lines\" is no source name; named by its title"]
        );
        assert_eq!(plan(read, &[], &schedule).sources[0].name, "Fine");
    }

    /// A feed left out is printed with the credentials in its URL hidden, however it is left
    /// out: by its scheme, as a URL that does not parse, or as one configured already.
    #[test]
    fn a_feed_left_out_is_printed_without_its_credentials() {
        let feeds = vec![
            feed("Files", "ftp://reader:hunter2@files.example/feed.xml"),
            feed("Odd", "https://reader:hun/ter2@odd.example/rss"),
            feed(
                "Again",
                "https://token-hunter2@wire.example/rss?api_key=hunter2",
            ),
            feed("Line", "mailto:desk@example.org\nenabled = false"),
        ];
        let configured = [configured(
            "Wire",
            "https://token-hunter2@wire.example/rss?api_key=hunter2",
        )];
        let import = plan(
            feeds,
            &configured,
            &crate::config::ScheduleConfig::default(),
        );
        let lines: Vec<String> = import.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines.iter().all(|l| !l.contains("hunter2")), "{lines:?}");
        assert!(
            lines[0].starts_with(r#""Files" <ftp://reader:xxxxx@files.example/feed.xml>: scheme"#),
            "{lines:?}"
        );
        assert!(
            lines[2]
                .starts_with(r#""Again" <https://xxxxx@wire.example/rss?api_key=xxxxx>: already"#),
            "{lines:?}"
        );
        assert!(!lines[3].contains('\n'), "{lines:?}");
        // A feed titled by its URL: named, and listed as left out, without its credentials.
        let xml = r#"<opml version="2.0"><body>
            <outline text="https://oz:PW147@feeds.example/rss?token=T148" xmlUrl="https://oz:PW147@feeds.example/rss?token=T148"/>
            <outline text="https://oz:PW147@feeds.example/rss?token=T148" xmlUrl="https://oz:PW147@feeds.example/rss?token=T148"/>
        </body></opml>"#;
        let import = plan(
            super::feeds(xml.as_bytes()).unwrap(),
            &[],
            &crate::config::ScheduleConfig::default(),
        );
        assert_eq!(
            import.sources[0].name,
            "https://oz:xxxxx@feeds.example/rss?token=xxxxx"
        );
        let left_out = import.skipped[0].to_string();
        assert!(
            !left_out.contains("PW147") && !left_out.contains("T148"),
            "{left_out}"
        );
    }

    #[test]
    fn a_file_name_stays_on_its_comment_line() {
        assert_eq!(
            one_line("subs\nenabled = false\r#\u{202e}.opml"),
            "subs\\nenabled = false\\r#\\u{202e}.opml"
        );
        assert_eq!(one_line("Café feeds.opml"), "Café feeds.opml");
    }

    #[test]
    fn an_exported_list_imports_as_the_same_sources() {
        let mut sources = [
            configured(
                "Harbour \"Wire\" & <Co>",
                "https://wire.example.org/rss?a=1&b=2",
            ),
            configured("Valley", "https://valley.example.net/feed"),
        ];
        // A disabled source stays disabled; an agency's feed and a source's own interval
        // are kept (they were lost before: the origin of every story that agency's feed
        // began moved to the first outlet).
        sources[1].enabled = false;
        sources[0].agency = true;
        sources[0].interval = Duration::from_secs(300);
        let schedule = crate::config::ScheduleConfig::default();
        let xml = to_opml(&sources, "wirefold & friends", schedule.default_interval);
        assert_eq!(xml.matches("wirefoldInterval").count(), 1, "{xml}");
        let read = feeds(xml.as_bytes()).unwrap();
        let again = plan(read, &[], &schedule);
        assert!(again.notes.is_empty(), "{:?}", again.notes);
        let toml = to_toml(&again.sources, None);
        let table: toml::Table = toml.parse().unwrap();
        let entries = table["sources"].as_array().unwrap();
        let field = |e: &toml::Value, k: &str| e.get(k).map(|v| v.to_string());
        let got: Vec<[Option<String>; 5]> = entries
            .iter()
            .map(|e| ["name", "url", "interval", "enabled", "agency"].map(|k| field(e, k)))
            .collect();
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            got,
            [
                [
                    s(r#"'Harbour "Wire" & <Co>'"#),
                    s(r#""https://wire.example.org/rss?a=1&b=2""#),
                    s(r#""5m""#),
                    None,
                    s("true")
                ],
                [
                    s(r#""Valley""#),
                    s(r#""https://valley.example.net/feed""#),
                    None,
                    s("false"),
                    None
                ],
            ],
            "{xml}"
        );
        // ...and into the configuration it came from, as nothing new.
        let same = plan(feeds(xml.as_bytes()).unwrap(), &sources, &schedule);
        assert!(same.sources.is_empty() && same.skipped.len() == 2, "{xml}");
        // An interval the importing configuration's bounds refuse is left out, and said.
        let tight = crate::config::ScheduleConfig {
            min_interval: Duration::from_secs(600),
            ..schedule
        };
        let bounded = plan(feeds(xml.as_bytes()).unwrap(), &[], &tight);
        assert_eq!(bounded.sources[0].interval, None);
        assert_eq!(
            bounded.notes,
            ["\"Harbour \\\"Wire\\\" & <Co>\": wirefoldInterval 5m is outside schedule bounds; allowed: 10m to 6h; not kept"]
        );
    }

    #[test]
    fn the_interval_is_a_duration_within_the_schedule_bounds() {
        let schedule = crate::config::ScheduleConfig::default();
        assert_eq!(check_interval(" 30m ", &schedule).unwrap(), "30m");
        assert_eq!(
            check_interval("30s", &schedule).unwrap_err(),
            "--interval 30s is outside schedule bounds; allowed: 1m to 6h"
        );
        let typo = check_interval("30 mins please", &schedule).unwrap_err();
        assert!(typo.contains("is not a duration such as 30m"), "{typo}");
    }

    #[test]
    fn the_entries_are_toml_the_configuration_reads_back() {
        let sources = [
            NewSource {
                name: "Quote \" and \\ back\tslash".into(),
                url: Url::parse("https://a.example.org/feed?x=1&y=\"2\"").unwrap(),
                enabled: true,
                interval: None,
                agency: false,
            },
            NewSource {
                name: "Plain".into(),
                url: Url::parse("https://b.example.org/rss").unwrap(),
                enabled: false,
                // `--interval` comes before the file's own
                interval: Some("2h".into()),
                agency: false,
            },
        ];
        let text = to_toml(&sources, Some("30m"));
        #[derive(serde::Deserialize)]
        struct Entry {
            name: String,
            url: String,
            interval: String,
            enabled: Option<bool>,
        }
        #[derive(serde::Deserialize)]
        struct File {
            sources: Vec<Entry>,
        }
        let file: File = toml::from_str(&text).unwrap();
        assert_eq!(file.sources.len(), 2, "{text}");
        assert_eq!(file.sources[0].name, sources[0].name);
        assert_eq!(file.sources[0].url, sources[0].url.as_str());
        assert_eq!(file.sources[1].interval, "30m");
        assert_eq!(file.sources[0].interval, "30m");
        assert_eq!(
            (file.sources[0].enabled, file.sources[1].enabled),
            (None, Some(false)),
            "{text}"
        );
        // Without `--interval`, each its own.
        let own = to_toml(&sources, None);
        assert!(
            own.matches("interval").count() == 1 && own.contains("interval = \"2h\""),
            "{own}"
        );
    }
}
