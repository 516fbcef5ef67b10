//! XML feeds feed-rs refuses, or reads no entry from, that other feed readers take: repaired
//! and parsed again by [`super::parse_feed_at`], only after the document as served failed.
//!
//! - A bare `&` (`AT&T`, `?a=1&b=2`) makes the XML reader refuse the whole feed; it is
//!   written `&amp;` outside CDATA sections, comments and processing instructions.
//! - So does a character reference to no character (`&#0;`, past U+10FFFF, a surrogate):
//!   a surrogate pair written as two references (`&#55357;&#56832;`, from Java or
//!   JavaScript) is the character it encodes, any other such reference U+FFFD.
//! - An `<rss>` root without `version`, or with one feed-rs does not know (`0.93`, `0.94`,
//!   `2.01`, `2.0 `), is "no root element": it is read as RSS 2.0, which reads the others'
//!   elements.
//! - An `<rss>` root with a default namespace (`xmlns="http://backend.userland.com/rss2"`)
//!   puts every element in a namespace feed-rs ignores: the feed parsed with no entries. RSS
//!   has no namespace; the declaration is dropped.
//! - RSS `<title>`, `<description>` and `<content:encoded>` holding HTML elements as XML
//!   ([`naked_markup_wrapped`], the one repair made before the first parse, as nothing
//!   fails: feed-rs cut the text at the first element).
//! - RSS 0.90 (`http://my.netscape.com/rdf/simple/0.9/`) is read as RSS 1.0, and Atom 0.3
//!   (`http://purl.org/atom/ns#`) as Atom 1.0: its `issued` and `modified` are `published`
//!   and `updated`, its MIME-typed text constructs `text`, `html` and `xhtml`.
//! - A text element whose `type` feed-rs does not know refuses the whole feed
//!   ("unsupported content type"): an Atom title, subtitle, summary or rights of
//!   `text/plain`, `HTML` or `""`, a content of `Html`, a Media RSS title or description of
//!   `text/html` or `text`. Such a type is read as the one it names (`text`, `html`,
//!   `xhtml`; Media RSS's `plain`, `html`), and as plain text when it names none.

use std::sync::LazyLock;

use regex::bytes::{Captures, Regex};

/// How many item and entry start tags (`<item`, `<entry`, with any prefix) the document
/// holds outside CDATA sections, comments and processing instructions.
pub(super) fn entry_tags(xml: &[u8]) -> usize {
    let mut found = 0;
    walk_at(xml, |piece, _| {
        if let Piece::EntryTag = piece {
            found += 1;
        }
    });
    found
}

pub(super) enum Piece {
    /// A bare `&`.
    Bare,
    /// An item or entry start tag.
    EntryTag,
    /// An XML declaration (a processing instruction whose target is `xml`), ending before
    /// the position it holds, past its `?>`.
    Declaration(usize),
    /// A character reference to no character XML allows the reader to take (`&#0;`, a
    /// surrogate such as `&#55357;`, past U+10FFFF), ending before `end`; `value` is its
    /// number when it has one.
    BadCharRef { end: usize, value: Option<u32> },
}

/// Calls `seen` with the position of every bare `&`, entry start tag and XML declaration
/// outside CDATA sections, comments and other processing instructions. Linear: a section
/// without its end runs to the end of the document.
pub(super) fn walk_at(xml: &[u8], mut seen: impl FnMut(Piece, usize)) {
    // the `&` at `at`: a bare one, a bad character reference, or a good reference
    let amp = |at: usize, seen: &mut dyn FnMut(Piece, usize)| match reference(&xml[at + 1..]) {
        None => seen(Piece::Bare, at),
        Some(Reference::Number(len, value))
            if value.is_none_or(|v| v == 0 || char::from_u32(v).is_none()) =>
        {
            let end = at + 1 + len;
            seen(Piece::BadCharRef { end, value }, at)
        }
        Some(_) => {}
    };
    let mut i = 0;
    while let Some(off) = memchr::memchr2(b'<', b'&', &xml[i..]) {
        let at = i + off;
        let rest = &xml[at..];
        if rest[0] == b'&' {
            amp(at, &mut seen);
            i = at + 1;
            continue;
        }
        let skip_to =
            |end: &[u8]| memchr::memmem::find(rest, end).map_or(xml.len(), |e| at + e + end.len());
        i = if rest.starts_with(b"<![CDATA[") {
            skip_to(b"]]>")
        } else if rest.starts_with(b"<!--") {
            skip_to(b"-->")
        } else if rest.starts_with(b"<?") {
            // The reader ends a processing instruction at the first `?>` after its `<?`.
            match memchr::memmem::find(&rest[2..], b"?>") {
                Some(e) => {
                    let end = at + 2 + e + 2;
                    // target `xml`, then white space or the end
                    if rest.starts_with(b"<?xml")
                        && matches!(rest.get(5), Some(b' ' | b'\t' | b'\r' | b'\n' | b'?'))
                    {
                        seen(Piece::Declaration(end), at);
                    }
                    end
                }
                None => xml.len(),
            }
        } else if rest.get(1).is_some_and(|b| {
            b.is_ascii_alphabetic() || matches!(b, b'_' | b':' | b'/') || !b.is_ascii()
        }) {
            if is_entry_tag(&rest[1..]) {
                seen(Piece::EntryTag, at);
            }
            // A tag, read to its `>` outside quoted values, as the reader reads it: a `<!--`
            // or `<?` in an attribute value (`domain="<!--"`) is the value's text, not a
            // comment that would hide the rest of the document. Its references still count.
            let end = super::nesting::tag_end(xml, at + 1);
            for amp_at in memchr::memchr_iter(b'&', &xml[at..end]) {
                amp(at + amp_at, &mut seen);
            }
            end
        } else {
            at + 1
        };
    }
}

/// What follows an `&`.
enum Reference {
    /// `name;`
    Entity,
    /// `#123;` or `#x1F;`, so many bytes long (to its `;`), and its number unless it
    /// overflows.
    Number(usize, Option<u32>),
}

/// The entity or character reference `s` (after an `&`) starts with, if any.
fn reference(s: &[u8]) -> Option<Reference> {
    let s = &s[..s.len().min(40)];
    let end = memchr::memchr(b';', s)?;
    let body = &s[..end];
    let number = |digits: &[u8], radix| {
        let ok = !digits.is_empty() && digits.iter().all(|b| char::from(*b).is_digit(radix));
        ok.then(|| {
            let value = std::str::from_utf8(digits).ok();
            Reference::Number(
                end + 1,
                value.and_then(|d| u32::from_str_radix(d, radix).ok()),
            )
        })
    };
    match body {
        [b'#', b'x' | b'X', hex @ ..] => number(hex, 16),
        [b'#', dec @ ..] => number(dec, 10),
        [first, rest @ ..] => ((first.is_ascii_alphabetic() || *first == b'_')
            && rest
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')))
        .then_some(Reference::Entity),
        [] => None,
    }
}

/// Whether `s` (after a `<`) is the name of an item or entry start tag, with any prefix.
fn is_entry_tag(s: &[u8]) -> bool {
    let name_end = s
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.')))
        .unwrap_or(s.len());
    let name = &s[..name_end];
    let local = name.rsplit(|b| *b == b':').next().unwrap_or(name);
    local == b"item" || local == b"entry"
}

/// The document repaired as the module says, or `None` when nothing in it is to repair.
pub(super) fn repaired(xml: &[u8]) -> Option<Vec<u8>> {
    // (start, end, what replaces those bytes)
    let mut edits: Vec<(usize, usize, Edit)> = Vec::new();
    walk_at(xml, |piece, at| match piece {
        Piece::Bare => edits.push((at + 1, at + 1, Edit::Amp)),
        Piece::BadCharRef { end, value } => {
            let low = value.filter(|v| (0xDC00..=0xDFFF).contains(v));
            match (edits.last_mut(), low) {
                // a surrogate pair written as two references: the character it encodes
                (Some((_, prev_end, edit @ Edit::High(_))), Some(low)) if *prev_end == at => {
                    if let Edit::High(high) = *edit {
                        let units = [high, low].map(|u| u16::try_from(u).unwrap_or(0));
                        let c = char::decode_utf16(units).next().and_then(Result::ok);
                        *edit = Edit::Char(c.map_or(0xFFFD, u32::from));
                        *prev_end = end;
                    }
                }
                _ => {
                    let edit = match value {
                        Some(v @ 0xD800..=0xDBFF) => Edit::High(v),
                        _ => Edit::Char(0xFFFD),
                    };
                    edits.push((at, end, edit));
                }
            }
        }
        _ => {}
    });
    let mut out = Vec::with_capacity(xml.len() + 64);
    let mut from = 0;
    for (start, end, edit) in &edits {
        out.extend_from_slice(&xml[from..*start]);
        match edit {
            Edit::Amp => out.extend_from_slice(b"amp;"),
            Edit::High(_) => out.extend_from_slice(b"&#xFFFD;"),
            Edit::Char(c) => out.extend_from_slice(format!("&#x{c:X};").as_bytes()),
        }
        from = *end;
    }
    let mut changed = !edits.is_empty();
    out.extend_from_slice(&xml[from..]);
    for repair in [root_repaired, text_types_known] {
        if let Some(fixed) = repair(&out) {
            out = fixed;
            changed = true;
        }
    }
    changed.then_some(out)
}

/// What [`repaired`] writes in place of a bare `&` or a bad character reference.
enum Edit {
    /// `&amp;` (after the `&`).
    Amp,
    /// A high surrogate, U+FFFD unless a low one follows.
    High(u32),
    /// The reference to this character.
    Char(u32),
}

/// RSS 0.90's namespace, as Netscape published it and as feeds wrote it too.
const RSS_090: [&str; 2] = [
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://channel.netscape.com/rdf/simple/0.9/",
];
const RSS_10: &str = "http://purl.org/rss/1.0/";
const ATOM_03: &str = "http://purl.org/atom/ns#";
const ATOM_10: &str = "http://www.w3.org/2005/Atom";

/// An RSS document whose `<title>`, `<description>` or `<content:encoded>` holds HTML
/// elements as XML (`<description>Text <em>x</em> more</description>`, not escaped, not in
/// CDATA) with that HTML put in CDATA sections: feed-rs reads those elements' text up to the
/// first child element, so the item's text stopped at `Text` (or was none at all). The same
/// for an Atom document's `<title>`, `<subtitle>`, `<summary>` and `<content>`, but those of
/// type `xhtml` (or Atom 0.3's mode `xml`), which hold XML by right. `None` when the document
/// is neither or has no such element. A self-closing element holds nothing, and a body that
/// writes markup escaped is left as it is. Run on every XML body, before the first parse:
/// nothing fails, the text is only cut.
pub(super) fn naked_markup_wrapped(xml: &[u8]) -> Option<Vec<u8>> {
    static NAKED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"<(?:title|description|content:encoded|subtitle|summary|content)(?:\s[^>]*)?>[^<]*<[A-Za-z]")
            .expect("valid regex")
    });
    static RSS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?s)<(title|description|content:encoded)(\s[^>]*[^>/]|\s)?>(.*?)</(title|description|content:encoded)\s*>")
            .expect("valid regex")
    });
    static ATOM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?s)<(title|subtitle|summary|content)(\s[^>]*[^>/]|\s)?>(.*?)</(title|subtitle|summary|content)\s*>")
            .expect("valid regex")
    });
    static XML_BY_RIGHT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?i)\b(?:type\s*=\s*["'][^"']*xhtml|mode\s*=\s*["']\s*xml\b)"#)
            .expect("valid regex")
    });
    let first = NAKED.find(xml)?;
    let element: &Regex = match root_name(xml) {
        Some(b"rss" | b"RDF") => &RSS,
        Some(b"feed") => &ATOM,
        _ => return None,
    };
    // HTML quoted in a CDATA section or a comment is text already: wrapped there, its
    // `]]>` ended the outer section early and a valid feed was refused whole (an HTML
    // `<details><summary>` in an Atom entry's CDATA content).
    let opaque = opaque_sections(xml);
    let mut changed = false;
    let mut out = Vec::with_capacity(xml.len() + 256);
    let mut from = 0;
    let mut at = first.start();
    let mut next = 0;
    while let Some(c) = element.captures_at(xml, at) {
        let (Some(whole), Some(open), Some(body), Some(close)) =
            (c.get(0), c.get(1), c.get(3), c.get(4))
        else {
            break;
        };
        // Matches come in order: the sections before this one are behind for good.
        while opaque
            .get(next)
            .is_some_and(|&(_, end)| end <= whole.start())
        {
            next += 1;
        }
        if let Some(&(_, end)) = opaque.get(next).filter(|(s, _)| *s <= whole.start()) {
            at = end;
            continue;
        }
        at = whole.end();
        let body_bytes = body.as_bytes();
        let naked = open.as_bytes() == close.as_bytes()
            && !c
                .get(2)
                .is_some_and(|a| XML_BY_RIGHT.is_match(a.as_bytes()))
            && memchr::memmem::find(body_bytes, b"<![CDATA[").is_none()
            // Markup written escaped (`&lt;p&gt;`) beside a stray element (a `<br/>`, a
            // tracking pixel): in CDATA its entities would be read as text. A `&lt;` that
            // is a comparison (`&lt; 2 percent`) is no markup, and left the text empty.
            && !escapes_markup(body_bytes)
            && body_bytes
                .windows(2)
                .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/'));
        if !naked {
            continue;
        }
        changed = true;
        out.extend_from_slice(&xml[from..body.start()]);
        out.extend_from_slice(b"<![CDATA[");
        out.extend_from_slice(&replace_all(body_bytes, "]]>", "]]]]><![CDATA[>"));
        out.extend_from_slice(b"]]>");
        from = body.end();
    }
    if !changed {
        return None;
    }
    out.extend_from_slice(&xml[from..]);
    Some(out)
}

/// The byte ranges of `xml`'s CDATA sections and comments, in order (an unclosed one runs
/// to the end): what looks like markup in them is text.
fn opaque_sections(xml: &[u8]) -> Vec<(usize, usize)> {
    let mut sections = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr::memmem::find(&xml[i..], b"<!") {
        let start = i + off;
        let rest = &xml[start..];
        let (open, close): (&[u8], &[u8]) = if rest.starts_with(b"<![CDATA[") {
            (b"<![CDATA[", b"]]>")
        } else if rest.starts_with(b"<!--") {
            (b"<!--", b"-->")
        } else {
            i = start + 2;
            continue;
        };
        let end = memchr::memmem::find(&rest[open.len()..], close)
            .map_or(xml.len(), |e| start + open.len() + e + close.len());
        sections.push((start, end));
        i = end;
    }
    sections
}

/// Whether `text` holds markup written escaped: a `&lt;` before a letter, `/` or `!`
/// (`&lt;p&gt;`, `&lt;/b&gt;`, `&lt;!--`), not one before a space or a digit.
fn escapes_markup(text: &[u8]) -> bool {
    memchr::memmem::find_iter(text, b"&lt;").any(|at| {
        text.get(at + 4)
            .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'/' | b'!'))
    })
}

/// The local name of the document's root element.
pub(super) fn root_name(xml: &[u8]) -> Option<&[u8]> {
    let caps = ROOT.captures(xml)?;
    let name = caps.get(1)?.as_bytes();
    name.rsplit(|b| *b == b':').next()
}

/// The first start tag that is no declaration, comment or processing instruction: the
/// root element's name and its attributes.
static ROOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)\A(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)*<([A-Za-z_][\w.:-]*)([^>]*)>")
        .expect("valid regex")
});

/// The root element's start tag, repaired as the module says; `None` when it needs nothing.
fn root_repaired(xml: &[u8]) -> Option<Vec<u8>> {
    static VERSION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"\sversion\s*=\s*(?:"([^"]*)"|'([^']*)')"#).expect("valid regex")
    });
    static DEFAULT_NS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"\sxmlns\s*=\s*(?:"[^"]*"|'[^']*')"#).expect("valid regex"));
    let caps = ROOT.captures(xml)?;
    let (name, attrs) = (caps.get(1)?, caps.get(2)?);
    let local = name
        .as_bytes()
        .rsplit(|b| *b == b':')
        .next()
        .unwrap_or_default();
    let with_attrs = |new: &[u8]| {
        let mut out = Vec::with_capacity(xml.len() + 16);
        out.extend_from_slice(&xml[..attrs.start()]);
        out.extend_from_slice(new);
        out.extend_from_slice(&xml[attrs.end()..]);
        out
    };
    match local {
        b"rss" => {
            let mut new = attrs.as_bytes().to_vec();
            let known = VERSION.captures(&new).map(|v| {
                let value = v
                    .get(1)
                    .or_else(|| v.get(2))
                    .map_or(&b""[..], |m| m.as_bytes());
                (
                    v.get(0).map_or(0..0, |m| m.range()),
                    matches!(value, b"2.0" | b"" | b"0.91" | b"0.92"),
                )
            });
            let mut changed = false;
            match known {
                Some((_, true)) => {}
                Some((range, false)) => {
                    new.splice(range, b" version=\"2.0\"".iter().copied());
                    changed = true;
                }
                None => {
                    new.extend_from_slice(b" version=\"2.0\"");
                    changed = true;
                }
            }
            if DEFAULT_NS.is_match(&new) {
                new = DEFAULT_NS.replace_all(&new, &b""[..]).into_owned();
                changed = true;
            }
            changed.then(|| with_attrs(&new))
        }
        b"RDF" => {
            let mut out = None;
            for ns in RSS_090 {
                if memchr::memmem::find(attrs.as_bytes(), ns.as_bytes()).is_some() {
                    out = Some(replace_all(xml, ns, RSS_10));
                }
            }
            let linked = items_linked(out.as_deref().unwrap_or(xml));
            linked.or(out)
        }
        b"feed" if memchr::memmem::find(attrs.as_bytes(), ATOM_03.as_bytes()).is_some() => {
            Some(atom_03_as_10(&replace_all(xml, ATOM_03, ATOM_10)))
        }
        _ => None,
    }
}

/// RSS 1.0 items without `<link>` (feed-rs drops them) given their `rdf:about` as link;
/// `None` when every item has one.
fn items_linked(xml: &[u8]) -> Option<Vec<u8>> {
    static ITEM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?s)<item\s[^>]*?rdf:about\s*=\s*(?:"([^"]*)"|'([^']*)')[^>]*>(.*?)</item>"#)
            .expect("valid regex")
    });
    static LINK: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"<(?:[\w.-]+:)?link[\s>]").expect("valid regex"));
    let mut changed = false;
    let out = ITEM.replace_all(xml, |c: &Captures| {
        let whole = &c[0];
        let (Some(about), Some(body)) = (c.get(1).or_else(|| c.get(2)), c.get(3)) else {
            return whole.to_vec();
        };
        if LINK.is_match(body.as_bytes()) {
            return whole.to_vec();
        }
        changed = true;
        let open = body.start() - c.get(0).map_or(0, |m| m.start());
        [
            &whole[..open],
            b"<link>",
            about.as_bytes(),
            b"</link>",
            &whole[open..],
        ]
        .concat()
    });
    changed.then(|| out.into_owned())
}

/// Text elements whose `type` feed-rs refuses, given the one they name (see the module);
/// `None` when there is none.
fn text_types_known(xml: &[u8]) -> Option<Vec<u8>> {
    static TYPED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"<(?:(?:atom:)?(title|subtitle|summary|rights|content)|media:(?:title|description|text))(\s[^>]*?)?\stype\s*=\s*(?:"([^"]*)"|'([^']*)')"#,
        )
        .expect("valid regex")
    });
    let mut changed = false;
    let out = TYPED.replace_all(xml, |c: &Captures| {
        let whole = &c[0];
        let Some(value) = c.get(3).or_else(|| c.get(4)) else {
            return whole.to_vec();
        };
        let named = value.as_bytes().trim_ascii().to_ascii_lowercase();
        let new: &[u8] = match c.get(1).map(|m| m.as_bytes()) {
            // Media RSS: `plain` or `html`.
            None => match &named[..] {
                b"html" | b"text/html" => b"html",
                _ => b"plain",
            },
            Some(element) => match &named[..] {
                b"html" | b"text/html" => b"html",
                b"xhtml" => b"xhtml",
                b"application/xhtml+xml" if element != b"content" => b"xhtml",
                // Content of another media type is read as that type.
                other if element == b"content" && other.contains(&b'/') => value.as_bytes(),
                _ => b"text",
            },
        };
        if new == value.as_bytes() {
            return whole.to_vec();
        }
        changed = true;
        let at = value.start() - c.get(0).map_or(0, |m| m.start());
        [&whole[..at], new, &whole[at + value.len()..]].concat()
    });
    changed.then(|| out.into_owned())
}

fn replace_all(xml: &[u8], from: &str, to: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(xml.len() + 16);
    let mut rest = xml;
    while let Some(at) = memchr::memmem::find(rest, from.as_bytes()) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to.as_bytes());
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Atom 0.3's element names and text types, as Atom 1.0 writes them.
fn atom_03_as_10(xml: &[u8]) -> Vec<u8> {
    static NAMES: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"<(/?)(issued|modified)([\s/>])").expect("valid regex"));
    static TYPES: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"\stype\s*=\s*"(text/plain|application/xhtml\+xml)""#).expect("valid regex")
    });
    let named = NAMES.replace_all(xml, |c: &Captures| {
        let new: &[u8] = if &c[2] == b"issued" {
            b"published"
        } else {
            b"updated"
        };
        [b"<", &c[1], new, &c[3]].concat()
    });
    TYPES
        .replace_all(&named, |c: &Captures| {
            if &c[1] == b"text/plain" {
                b" type=\"text\"".to_vec()
            } else {
                b" type=\"xhtml\"".to_vec()
            }
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(xml: &str) -> String {
        String::from_utf8(repaired(xml.as_bytes()).expect("something to repair")).unwrap()
    }

    #[test]
    fn bare_ampersands_are_escaped_outside_cdata_comments_and_instructions() {
        let xml = "<rss version=\"2.0\"><channel><!-- a&b --><?pi x&y?><item><title>AT&T &amp; Fish &#38; &#x26; &nbsp; & Chips</title>\
            <link>https://e.com/?a=1&b=2</link><description><![CDATA[x & y]]></description></item></channel></rss>";
        assert_eq!(entry_tags(xml.as_bytes()), 1);
        let out = fixed(xml);
        assert_eq!(
            out.matches("&amp;").count(),
            4,
            "three escaped, one as it was: {out}"
        );
        assert!(
            out.contains("<title>AT&amp;T &amp; Fish &#38; &#x26; &nbsp; &amp; Chips</title>"),
            "{out}"
        );
        assert!(out.contains("?a=1&amp;b=2"), "{out}");
        assert!(
            out.contains("<![CDATA[x & y]]>")
                && out.contains("<!-- a&b -->")
                && out.contains("<?pi x&y?>"),
            "{out}"
        );
        assert_eq!(
            repaired(b"<rss version=\"2.0\"><channel><title>A &amp; B</title></channel></rss>"),
            None
        );
    }

    #[test]
    fn an_rss_root_is_given_a_version_feed_rs_reads_and_loses_its_namespace() {
        let decl = "<?xml version=\"1.0\"?>\n<!-- x -->\n<!DOCTYPE rss>\n";
        assert_eq!(
            fixed(&format!("{decl}<rss><channel/></rss>")),
            format!("{decl}<rss version=\"2.0\"><channel/></rss>")
        );
        assert_eq!(
            fixed("<rss version='0.94' a=\"b\"><channel/></rss>"),
            "<rss version=\"2.0\" a=\"b\"><channel/></rss>"
        );
        assert_eq!(
            fixed("<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel/></rss>"),
            "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel/></rss>"
        );
        assert_eq!(repaired(b"<rss version=\"0.91\"><channel/></rss>"), None);
        assert_eq!(
            repaired(b"<feed xmlns=\"http://www.w3.org/2005/Atom\"/>"),
            None
        );
    }

    #[test]
    fn html_written_as_xml_in_rss_text_elements_is_put_in_cdata() {
        let xml = "<rss version=\"2.0\"><channel><title>Feed</title><item>\
            <title><p>Item Title</p></title>\
            <description>Text <em>x</em> more ]]> end</description>\
            <content:encoded><![CDATA[<p>fine</p>]]></content:encoded>\
            <media:title>m <b>x</b></media:title></item></channel></rss>";
        let out = String::from_utf8(naked_markup_wrapped(xml.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            out,
            "<rss version=\"2.0\"><channel><title>Feed</title><item>\
            <title><![CDATA[<p>Item Title</p>]]></title>\
            <description><![CDATA[Text <em>x</em> more ]]]]><![CDATA[> end]]></description>\
            <content:encoded><![CDATA[<p>fine</p>]]></content:encoded>\
            <media:title>m <b>x</b></media:title></item></channel></rss>"
        );
        assert_eq!(
            naked_markup_wrapped(
                b"<rss version=\"2.0\"><channel><title>A &lt;b&gt;</title></channel></rss>"
            ),
            None
        );
        // Atom's xhtml is XML by right.
        assert_eq!(naked_markup_wrapped(b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"xhtml\"><div>x</div></title></feed>"), None);
        assert_eq!(naked_markup_wrapped(b"<feed xmlns=\"http://purl.org/atom/ns#\"><content type=\"application/xhtml+xml\" mode=\"xml\"><div>x</div></content></feed>"), None);
    }

    #[test]
    fn html_written_as_xml_in_atom_text_elements_is_put_in_cdata() {
        let xml = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Feed</title><entry>\
            <title type=\"html\">Senate passes <em>budget</em> bill</title>\
            <summary>Lead <b>bold</b> tail</summary>\
            <content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>x</p></div></content>\
            </entry></feed>";
        let out = String::from_utf8(naked_markup_wrapped(xml.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            out,
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Feed</title><entry>\
            <title type=\"html\"><![CDATA[Senate passes <em>budget</em> bill]]></title>\
            <summary><![CDATA[Lead <b>bold</b> tail]]></summary>\
            <content type=\"xhtml\"><div xmlns=\"http://www.w3.org/1999/xhtml\"><p>x</p></div></content>\
            </entry></feed>"
        );
        // Read whole: the title and the summary.
        let feed = crate::parse::parse_feed(xml.as_bytes(), "http://example.com/", None).unwrap();
        let e = &feed.entries[0];
        assert!(
            e.title.as_deref().is_some_and(|t| t.contains("bill")),
            "{e:?}"
        );
        assert!(
            e.summary.as_deref().is_some_and(|t| t.contains("tail")),
            "{e:?}"
        );
        // A self-closing element holds nothing: the next element of its name is not its
        // end. Escaped markup beside a stray element is left as it is.
        let closed = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Feed</title>\
            <entry><title type=\"text\" /><summary>Lead <b>bold</b> tail</summary>\
            <content type=\"audio/mpeg\" src=\"http://e.com/a.mp3\"/></entry>\
            <entry><content type=\"html\">&lt;p&gt;Hello&lt;/p&gt;<br/></content><title>Two</title></entry></feed>";
        let wrapped = String::from_utf8(naked_markup_wrapped(closed.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            wrapped,
            closed.replace("Lead <b>bold</b> tail", "<![CDATA[Lead <b>bold</b> tail]]>")
        );
        let read =
            crate::parse::parse_feed(wrapped.as_bytes(), "http://example.com/", None).unwrap();
        assert_eq!(read.entries.len(), 2);
    }

    #[test]
    fn text_types_feed_rs_refuses_are_read_as_the_one_they_name() {
        let cases = [
            ("<summary type=\"text/plain\">x", "<summary type=\"text\">x"),
            ("<title type='HTML'>x", "<title type='html'>x"),
            ("<rights type=\"\">x", "<rights type=\"text\">x"),
            (
                "<atom:subtitle type=\"application/xhtml+xml\">",
                "<atom:subtitle type=\"xhtml\">",
            ),
            (
                "<content xml:lang=\"en\" type=\" Html \">",
                "<content xml:lang=\"en\" type=\"html\">",
            ),
            ("<summary type=\"image/png\">", "<summary type=\"text\">"),
            (
                "<media:description type=\"text/html\">",
                "<media:description type=\"html\">",
            ),
            (
                "<media:title type=\"text\">",
                "<media:title type=\"plain\">",
            ),
        ];
        for (from, to) in cases {
            assert_eq!(fixed(from), to);
        }
        // What feed-rs reads stays as it is: content of a media type, the right names.
        for kept in [
            "<content type=\"text/plain\">x",
            "<content type=\"application/xhtml+xml\">",
            "<content type=\"image/png\">",
            "<media:content type=\"image/jpeg\"/>",
            "<title type=\"xhtml\">",
            "<media:description type=\"plain\">",
            "<textInput type=\"x\">",
        ] {
            assert_eq!(repaired(kept.as_bytes()), None, "{kept}");
        }
    }

    #[test]
    fn old_formats_are_read_as_their_successors() {
        for ns in RSS_090 {
            let rss090 = format!("<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"{ns}\"><item><link>l</link></item></rdf:RDF>");
            assert!(fixed(&rss090).contains(&format!("xmlns=\"{RSS_10}\"")));
        }
        let rdf = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">\
            <item rdf:about=\"https://e.com/1\"><title>T</title></item>\
            <item rdf:about='https://e.com/2'><link>https://e.com/two</link></item></rdf:RDF>";
        let out = fixed(rdf);
        assert!(out.contains("<item rdf:about=\"https://e.com/1\"><link>https://e.com/1</link><title>T</title></item>"), "{out}");
        assert!(
            out.contains("<item rdf:about='https://e.com/2'><link>https://e.com/two</link></item>"),
            "{out}"
        );
        let atom03 = format!("<feed version=\"0.3\" xmlns=\"{ATOM_03}\"><entry><title type=\"text/plain\">T</title><issued>2004-01-01T19:48:21Z</issued><modified>2004-01-02T00:00:00Z</modified><content type=\"application/xhtml+xml\"><div/></content></entry></feed>");
        let out = fixed(&atom03);
        assert!(out.contains(&format!("xmlns=\"{ATOM_10}\"")), "{out}");
        assert!(out.contains("<published>2004-01-01T19:48:21Z</published><updated>2004-01-02T00:00:00Z</updated>"), "{out}");
        assert!(
            out.contains("<title type=\"text\">") && out.contains("<content type=\"xhtml\">"),
            "{out}"
        );
    }
}
