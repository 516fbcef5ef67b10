//! How deep a document nests Media RSS elements, checked before feed-rs reads it.
//!
//! feed-rs 3 reads a `<media:group>` by calling itself for each child, and a `<media:content>`
//! the same way, with no limit on the depth: 1,500 nested groups (a 41 KB feed) overflowed an
//! ingest thread's stack. A stack overflow aborts the process — no panic to catch — so one
//! hostile feed stopped the daemon at every start. Real feeds nest Media RSS two or three
//! levels (`group` › `content` › `title`); a document nesting more than [`MAX_MEDIA_DEPTH`] is
//! refused before feed-rs sees it.
//!
//! The check is a byte scan: the prefixes bound to the Media RSS namespace (feed-rs knows it
//! by its URI only), then the depth of elements with one of those prefixes, skipping comments
//! and CDATA sections. It runs only on documents that declare the namespace.

/// The Media RSS namespace, as feed-rs recognises it.
const MEDIA_RSS: &[u8] = b"http://search.yahoo.com/mrss/";

/// Nesting of Media RSS elements allowed; far more than any real feed, far less than what
/// overflowed a 2 MiB stack (about 1,000 levels).
pub const MAX_MEDIA_DEPTH: usize = 64;

/// The Media RSS nesting depth of `xml` once it exceeds `limit` (where the scan stops), or
/// `None` while it stays within it.
pub fn media_rss_too_deep(xml: &[u8], limit: usize) -> Option<usize> {
    let prefixes = media_prefixes(xml);
    if prefixes.is_empty() {
        return None;
    }
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(lt) = memchr::memchr(b'<', &xml[at..]) {
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
        let end = memchr::memchr(b'>', rest).map_or(xml.len(), |e| start + e);
        let tag = &xml[start..end];
        at = (end + 1).min(xml.len());
        let (closing, name) = match tag.strip_prefix(b"/") {
            Some(name) => (true, name),
            None => (false, tag),
        };
        if !prefixes.iter().any(|p| is_prefixed(name, p)) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else if !tag.ends_with(b"/") {
            depth += 1;
            if depth > limit {
                return Some(depth);
            }
        }
    }
    None
}

/// Index just past the first `end` at or after `from`, else the end of `xml`.
fn skip_past(xml: &[u8], from: usize, end: &[u8]) -> usize {
    memchr::memmem::find(&xml[from..], end).map_or(xml.len(), |i| from + i + end.len())
}

/// Whether the element name `name` (what follows `<` or `</`) has the prefix `prefix`.
fn is_prefixed(name: &[u8], prefix: &[u8]) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|rest| rest.first() == Some(&b':'))
}

/// The prefixes `xmlns:PREFIX="…mrss/"` binds to the Media RSS namespace, and the empty
/// prefix when it is declared as a default namespace (`xmlns="…mrss/"`): then unprefixed
/// elements are counted, which over-counts the feed's own elements, harmlessly for a
/// limit this far above real nesting.
fn media_prefixes(xml: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    for i in memchr::memmem::find_iter(xml, MEDIA_RSS) {
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
        let name_start = before
            .iter()
            .rposition(|b| b.is_ascii_whitespace() || *b == b'<')
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
}
