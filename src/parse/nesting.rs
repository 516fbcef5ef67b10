//! How deep a document nests Media RSS and iTunes elements, checked before feed-rs reads it.
//!
//! feed-rs 3 reads a `<media:group>` by calling itself for each child, a `<media:content>`
//! and an `<itunes:category>` the same way, with no limit on the depth: 1,500 nested groups
//! (a 41 KB feed) overflowed an ingest thread's stack. A stack overflow aborts the process —
//! no panic to catch — so one hostile feed stopped the daemon at every start. Real feeds nest Media RSS two or three
//! levels (`group` › `content` › `title`), iTunes categories two; a document nesting them
//! more than [`MAX_MEDIA_DEPTH`] deep is refused before feed-rs sees it.
//!
//! The check is a byte scan: the prefixes bound to those namespaces (feed-rs knows them by
//! their URI only), then the depth of elements with one of those prefixes, skipping comments,
//! CDATA sections and quoted attribute values. It runs only on documents that declare one.

/// The namespaces whose elements feed-rs reads by recursion, as it recognises them: Media RSS
/// (`group`, `content`) and iTunes (`category` in `category`).
const RECURSIVE_NAMESPACES: [&[u8]; 2] = [
    b"http://search.yahoo.com/mrss/",
    b"http://www.itunes.com/dtds/podcast-1.0.dtd",
];

/// Nesting of Media RSS and iTunes elements allowed; far more than any real feed, far less
/// than what overflowed a 2 MiB stack (about 1,000 levels).
pub const MAX_MEDIA_DEPTH: usize = 64;

/// The Media RSS and iTunes nesting depth of `xml` once it exceeds `limit` (where the scan
/// stops), or `None` while it stays within it.
pub fn media_rss_too_deep(xml: &[u8], limit: usize) -> Option<usize> {
    let prefixes = media_prefixes(xml);
    if prefixes.is_empty() {
        return None;
    }
    let mut depth = 0usize;
    for tag in tags(xml) {
        if !prefixes.iter().any(|p| is_prefixed(tag.name, p)) {
            continue;
        }
        match tag.kind {
            TagKind::Close => depth = depth.saturating_sub(1),
            TagKind::Open => {
                depth += 1;
                if depth > limit {
                    return Some(depth);
                }
            }
            TagKind::Empty => {}
        }
    }
    None
}

/// The elements open at positions of one document, asked in increasing order and read in
/// one pass: a gallery item of 20,000 photos was read again from its start for each of
/// their titles (18 s for 2 MB).
pub struct OpenAt<'a> {
    start: usize,
    tags: std::iter::Peekable<Box<dyn Iterator<Item = Tag<'a>> + 'a>>,
    open: Vec<&'a [u8]>,
}

impl<'a> OpenAt<'a> {
    pub fn new(xml: &'a [u8]) -> Self {
        let tags: Box<dyn Iterator<Item = Tag<'a>> + 'a> = Box::new(tags(xml));
        OpenAt {
            start: xml.as_ptr() as usize,
            tags: tags.peekable(),
            open: Vec::new(),
        }
    }

    /// The names of the elements open at byte `pos` (no lower than the last one asked),
    /// outermost first.
    pub fn at(&mut self, pos: usize) -> &[&'a [u8]] {
        let start = self.start;
        // a tag whose name begins at or before `pos` began before it (at its `<`)
        while let Some(tag) = self
            .tags
            .next_if(|t| t.name.as_ptr() as usize - start <= pos)
        {
            match tag.kind {
                TagKind::Open => {
                    let end = tag
                        .name
                        .iter()
                        .position(|b| b.is_ascii_whitespace() || *b == b'/')
                        .unwrap_or(tag.name.len());
                    self.open.push(&tag.name[..end]);
                }
                TagKind::Close => {
                    self.open.pop();
                }
                TagKind::Empty => {}
            }
        }
        &self.open
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Open,
    Close,
    Empty,
}

/// One element tag of a document.
struct Tag<'a> {
    kind: TagKind,
    /// What follows `<` or `</`: the name, then the attributes.
    name: &'a [u8],
}

/// The element tags of `xml` in order, past comments, CDATA sections, processing
/// instructions and declarations, each read to its `>` outside quoted values.
fn tags(xml: &[u8]) -> impl Iterator<Item = Tag<'_>> {
    let mut at = 0;
    std::iter::from_fn(move || loop {
        let lt = memchr::memchr(b'<', xml.get(at..)?)?;
        let start = at + lt + 1;
        let rest = &xml[start..];
        if rest.starts_with(b"!--") {
            at = skip_past(xml, start, b"-->");
            continue;
        }
        if rest.starts_with(b"![CDATA[") {
            at = skip_past(xml, start, b"]]>");
            continue;
        }
        let end = tag_end(xml, start);
        let tag = &xml[start..end];
        at = (end + 1).min(xml.len());
        if matches!(tag.first(), Some(b'!' | b'?')) {
            continue;
        }
        return Some(match tag.strip_prefix(b"/") {
            Some(name) => Tag {
                kind: TagKind::Close,
                name,
            },
            None => Tag {
                kind: if tag.ends_with(b"/") {
                    TagKind::Empty
                } else {
                    TagKind::Open
                },
                name: tag,
            },
        });
    })
}

/// Index of the `>` that ends the tag starting at `from` (after its `<`), outside quoted
/// attribute values (`url="a>b"`); the end of `xml` when there is none.
pub(super) fn tag_end(xml: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(off) = memchr::memchr3(b'>', b'"', b'\'', &xml[i..]) {
        let at = i + off;
        match xml[at] {
            b'>' => return at,
            q => match memchr::memchr(q, &xml[at + 1..]) {
                Some(close) => i = at + 1 + close + 1,
                None => return xml.len(),
            },
        }
    }
    xml.len()
}

/// Index just past the first `end` at or after `from`, else the end of `xml`.
fn skip_past(xml: &[u8], from: usize, end: &[u8]) -> usize {
    memchr::memmem::find(&xml[from..], end).map_or(xml.len(), |i| from + i + end.len())
}

/// Whether the element name `name` (what follows `<` or `</`) has the prefix `prefix`; the
/// empty prefix (a default namespace) is that of a name without one.
fn is_prefixed(name: &[u8], prefix: &[u8]) -> bool {
    if prefix.is_empty() {
        let qname_end = name
            .iter()
            .position(|b| b.is_ascii_whitespace() || *b == b'/')
            .unwrap_or(name.len());
        return name.first().is_some_and(u8::is_ascii_alphabetic)
            && !name[..qname_end].contains(&b':');
    }
    name.strip_prefix(prefix)
        .is_some_and(|rest| rest.first() == Some(&b':'))
}

/// The prefixes `xmlns:PREFIX="…"` binds to those namespaces, and the empty prefix when one
/// is declared as a default namespace (`xmlns="…mrss/"`): then unprefixed elements are
/// counted, which over-counts the feed's own elements, harmlessly for a limit this far above
/// real nesting.
fn media_prefixes(xml: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let uses = RECURSIVE_NAMESPACES
        .iter()
        .flat_map(|ns| memchr::memmem::find_iter(xml, ns));
    for i in uses {
        // `xmlns:media = "` before the URI: back over the quote, spaces, `=`, spaces.
        let before = &xml[..i];
        if !matches!(before.last(), Some(b'"' | b'\'')) {
            continue;
        }
        let before = before[..before.len() - 1].trim_ascii_end();
        let Some(before) = before.strip_suffix(b"=") else {
            continue;
        };
        let before = before.trim_ascii_end();
        // (the XML reader also takes `version="2.0"xmlns:media=…`, without a space)
        let name_start = before
            .iter()
            .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'<' | b'"' | b'\''))
            .map_or(0, |p| p + 1);
        let attr = &before[name_start..];
        let prefix: &[u8] = match attr.strip_prefix(b"xmlns") {
            Some(b"") => b"",
            Some(rest) => match rest.strip_prefix(b":") {
                Some(p) if !p.is_empty() => p,
                _ => continue,
            },
            None => continue,
        };
        if !found.contains(&prefix) {
            found.push(prefix);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize, prefix: &str) -> String {
        format!(
            "<rss version=\"2.0\" xmlns:{prefix}=\"http://search.yahoo.com/mrss/\"><channel><item>{}{}</item></channel></rss>",
            format!("<{prefix}:group>").repeat(depth),
            format!("</{prefix}:group>").repeat(depth)
        )
    }

    #[test]
    fn deep_media_rss_is_found_under_any_prefix() {
        assert_eq!(
            media_rss_too_deep(nested(65, "media").as_bytes(), 64),
            Some(65)
        );
        assert_eq!(media_rss_too_deep(nested(64, "media").as_bytes(), 64), None);
        assert_eq!(
            media_rss_too_deep(nested(200, "m").as_bytes(), 64),
            Some(65)
        );
    }

    #[test]
    fn siblings_self_closing_tags_comments_and_cdata_do_not_add_depth() {
        let item = "<media:group><media:content url=\"a\"/><media:content url=\"b\">\
            <media:title>t</media:title></media:content></media:group>";
        let doc = format!(
            "<rss xmlns:media='http://search.yahoo.com/mrss/'><channel>{}\
             <!-- {} --><item><description><![CDATA[{}]]></description></item></channel></rss>",
            item.repeat(500),
            "<media:group>".repeat(100),
            "<media:group>".repeat(100),
        );
        // group › content › title
        assert_eq!(media_rss_too_deep(doc.as_bytes(), 3), None);
        assert_eq!(media_rss_too_deep(doc.as_bytes(), 2), Some(3));
    }

    #[test]
    fn itunes_categories_and_unspaced_declarations_count() {
        let itunes = format!(
            "<rss xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\"><channel>{}{}</channel></rss>",
            "<itunes:category text=\"a\">".repeat(100),
            "</itunes:category>".repeat(100)
        );
        assert!(media_rss_too_deep(itunes.as_bytes(), 64).is_some());
        let unspaced = nested(100, "media")
            .replace("<rss version=\"2.0\" xmlns:", "<rss version=\"2.0\"xmlns:");
        assert!(unspaced.contains("\"2.0\"xmlns:media"));
        assert!(media_rss_too_deep(unspaced.as_bytes(), 64).is_some());
        // A closing tag inside a quoted value closes nothing.
        let hidden = format!(
            "<rss xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><item>{}</item></channel></rss>",
            "<media:group a=\"x></media:group>z\">".repeat(100)
        );
        assert!(media_rss_too_deep(hidden.as_bytes(), 64).is_some());
    }

    #[test]
    fn a_default_namespace_and_quoted_brackets_are_read_right() {
        let default = format!(
            "<rss version=\"2.0\"><channel><item><group xmlns=\"http://search.yahoo.com/mrss/\">{}{}</group></item></channel></rss>",
            "<group>".repeat(100),
            "</group>".repeat(100)
        );
        assert!(media_rss_too_deep(default.as_bytes(), 64).is_some());
        // `>` inside a quoted value does not end the tag: these are self-closing siblings.
        let quoted = format!(
            "<rss xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><item>{}</item></channel></rss>",
            "<media:content url=\"https://e.org/a?x=>\" title='b>c'/>".repeat(100)
        );
        assert_eq!(media_rss_too_deep(quoted.as_bytes(), 64), None);
    }

    #[test]
    fn other_namespaces_and_undeclared_prefixes_are_not_counted() {
        let undeclared = nested(100, "media").replace("http://search.yahoo.com/mrss/", "urn:x");
        assert_eq!(media_rss_too_deep(undeclared.as_bytes(), 64), None);
        let other = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:media=\"http://search.yahoo.com/mrss/\">{}{}</feed>",
            "<x:div>".repeat(100),
            "</x:div>".repeat(100)
        );
        assert_eq!(media_rss_too_deep(other.as_bytes(), 64), None);
    }

    /// One pass over a document answers at each position what a pass from its start to that
    /// position answers: past comments, CDATA, self-closing and quoted `>`.
    #[test]
    fn the_open_elements_read_in_one_pass_are_those_read_from_the_start() {
        let xml = br#"<item><title>t</title><!-- <media:group> --><media:group a="x>y">
<media:title>a</media:title><![CDATA[ <media:content> ]]><media:content url="u"/>
<media:content><media:title>photo</media:title></media:content></media:group>
<media:description>d</media:description></item>"#;
        let mut once = OpenAt::new(xml);
        let mut checked = 0;
        for pos in (0..xml.len()).filter(|&p| xml[p] == b'<') {
            let from_start: Vec<&[u8]> = OpenAt::new(xml).at(pos).to_vec();
            assert_eq!(once.at(pos), from_start.as_slice(), "at {pos}");
            checked += 1;
        }
        assert!(checked > 10);
        let photo = xml.windows(12).position(|w| w == b"<media:title").unwrap();
        let later = photo
            + 1
            + xml[photo + 1..]
                .windows(12)
                .position(|w| w == b"<media:title")
                .unwrap();
        let names = |p: usize| -> Vec<String> {
            OpenAt::new(xml)
                .at(p)
                .iter()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect()
        };
        assert_eq!(names(photo), ["item", "media:group"]);
        assert_eq!(names(later), ["item", "media:group", "media:content"]);
    }
}
