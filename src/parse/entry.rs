//! One feed-rs entry as the [`RawEntry`] the normalize stage reads: which of its links is
//! the item's page, which of its texts the format declares plain, and the feed's language
//! for an entry that names none.

use crate::normalize::RawEntry;

/// How the entries of one feed are read.
pub(super) struct Reading {
    /// What the format declares plain text is read literally; RSS declares nothing (feed-rs
    /// calls its titles plain, but they carry HTML and entities in the wild).
    declares: bool,
    /// What a relative item link is read against, where feed-rs does not: a JSON Feed's URL
    /// (feed-rs resolves RSS and Atom links against the feed's URL, not JSON Feed's, and a
    /// relative item `url` was dropped as no URL); for a feed read from a file, the web
    /// address the feed gives for itself (Atom's or JSON Feed's `self`), else its site's
    /// (RSS `<channel><link>`, Atom's alternate link, JSON Feed's `home_page_url`). (Only
    /// there: another URL parse per entry is no cost the others need to pay.)
    base: Option<url::Url>,
    /// The feed's language, for an entry without its own.
    language: Option<String>,
}

impl Reading {
    /// The reading of `feed`'s entries, fetched from `url` (from the web when `web`, else
    /// read from a file).
    pub(super) fn of(feed: &feed_rs::model::Feed, url: &str, web: bool) -> Self {
        use feed_rs::model::FeedType;
        let own_address = || {
            // Without the credentials it may carry (a private feed's `self` link with its
            // token), as a feed fetched from the web is read against its URL without them.
            let web_url = |l: &feed_rs::model::Link| {
                url::Url::parse(&l.href)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .and_then(|u| {
                        url::Url::parse(&crate::config::without_credentials(u.as_str())).ok()
                    })
            };
            let rel =
                |l: &&feed_rs::model::Link, r: &str| l.rel.as_deref().unwrap_or("alternate") == r;
            let links = &feed.links;
            // feed-rs gives JSON Feed's `home_page_url` then its `feed_url`, both without a
            // `rel`: the feed's own address is the last.
            let alternates: Vec<&feed_rs::model::Link> = match feed.feed_type {
                FeedType::JSON => links.iter().rev().collect(),
                _ => links.iter().filter(|l| rel(l, "alternate")).collect(),
            };
            links
                .iter()
                .filter(|l| rel(l, "self"))
                .chain(alternates)
                .find_map(web_url)
        };
        Reading {
            declares: !matches!(
                feed.feed_type,
                FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2
            ),
            base: match feed.feed_type {
                _ if !web => own_address(),
                FeedType::JSON => url::Url::parse(url).ok(),
                _ => None,
            },
            language: feed.language.clone(),
        }
    }

    fn plain(&self, media_type: &str) -> bool {
        self.declares && is_plain(media_type)
    }

    fn absolute(&self, href: String) -> String {
        match &self.base {
            Some(b) if url::Url::parse(&href).is_err() => {
                b.join(&href).map_or(href, |u| u.to_string())
            }
            _ => href,
        }
    }

    /// Entry `e` as a [`RawEntry`].
    pub(super) fn entry(&self, e: feed_rs::model::Entry) -> RawEntry {
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
            .map(|href| self.absolute(href));
        let plain = crate::normalize::PlainText {
            title: e
                .title
                .as_ref()
                .is_some_and(|t| self.plain(t.content_type.as_str())),
            summary: e
                .summary
                .as_ref()
                .is_some_and(|t| self.plain(t.content_type.as_str())),
            content: e
                .content
                .as_ref()
                .is_some_and(|c| self.plain(c.content_type.as_str())),
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
            language: e.language.or_else(|| self.language.clone()),
        }
    }
}

/// Whether content of `media_type` is text: `text/*`, HTML, XHTML or XML (Atom's other
/// types are base64 data).
pub(super) fn is_text_media(media_type: &str) -> bool {
    let essence = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (ty, sub) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
    ty == "text" || sub.contains("html") || sub == "xml" || sub.ends_with("+xml")
}

/// `text/plain`, with or without parameters.
fn is_plain(media_type: &str) -> bool {
    media_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/plain"))
}
