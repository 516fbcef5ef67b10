//! Character encodings: any feed body → UTF-8 before feed-rs sees it.
//!
//! feed-rs decodes by the XML prolog alone. That misses the charset given only in
//! `Content-Type`, and it garbles the common mismatches (a prolog that says ISO-8859-1 over a
//! body that is really UTF-8). So the body is decoded here, with encoding_rs, and the prolog's
//! `encoding` is rewritten to UTF-8. The order of evidence:
//! 1. a byte-order mark (UTF-8, UTF-16LE/BE) wins;
//! 2. a body that is valid UTF-8 is UTF-8, whatever it declares (Miniflux's rule: a legacy
//!    encoding's text is almost never valid UTF-8 by accident, the reverse mistake is common);
//! 3. otherwise the declared legacy encoding: the XML prolog first (it travels with the
//!    document; a header charset is often a server-wide default), then `Content-Type`;
//! 4. nothing usable declared: mostly-valid UTF-8 with a few bad bytes stays UTF-8, anything
//!    else is read as windows-1252 (the web's default for undeclared 8-bit text).
//!
//! Invalid bytes become U+FFFD; decoding never fails.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// A body decoded to UTF-8.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// UTF-8 bytes, the XML declaration (if any) saying `encoding="UTF-8"`.
    pub bytes: Cow<'a, [u8]>,
    /// The encoding the body was read as (its WHATWG name, e.g. `windows-1251`).
    pub encoding: &'static str,
    /// Whether some bytes were invalid in that encoding and replaced by U+FFFD.
    pub replaced: bool,
}

/// Decodes `body` to UTF-8; `http_charset` is the `Content-Type` charset parameter.
pub fn to_utf8<'a>(body: &'a [u8], http_charset: Option<&str>) -> Decoded<'a> {
    if let Some((enc, bom_len)) = Encoding::for_bom(body) {
        let (text, replaced) = enc.decode_without_bom_handling(&body[bom_len..]);
        return finish(text, enc, replaced);
    }
    if let Ok(s) = std::str::from_utf8(body) {
        return finish(Cow::Borrowed(s), UTF_8, false);
    }
    let declared = [prolog_encoding(body), http_charset]
        .into_iter()
        .flatten()
        .filter_map(|label| Encoding::for_label(label.trim().as_bytes()))
        // A UTF-8 (or UTF-16, which cannot be declared in ASCII) label over bytes that are not
        // valid UTF-8 is no help.
        .find(|e| e.is_ascii_compatible() && *e != UTF_8);
    let enc = declared.unwrap_or_else(|| {
        if mostly_utf8(body) {
            UTF_8
        } else {
            WINDOWS_1252
        }
    });
    let (text, replaced) = enc.decode_without_bom_handling(body);
    finish(text, enc, replaced)
}

fn finish<'a>(text: Cow<'a, str>, enc: &'static Encoding, replaced: bool) -> Decoded<'a> {
    let bytes = match text {
        Cow::Borrowed(s) => match rewrite_prolog(s) {
            Some(owned) => Cow::Owned(owned.into_bytes()),
            None => Cow::Borrowed(s.as_bytes()),
        },
        Cow::Owned(s) => Cow::Owned(rewrite_prolog(&s).unwrap_or(s).into_bytes()),
    };
    Decoded {
        bytes,
        encoding: enc.name(),
        replaced,
    }
}

/// The XML declaration at the start of `text`, as `(start, end)` byte offsets, `end` past `?>`.
fn declaration(text: &[u8]) -> Option<(usize, usize)> {
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    if !text[start..].starts_with(b"<?xml") {
        return None;
    }
    let head = &text[start..text.len().min(start + 512)];
    let end = head.windows(2).position(|w| w == b"?>")?;
    Some((start, start + end + 2))
}

/// The value of the `encoding` pseudo-attribute of the XML declaration, if any.
fn prolog_encoding(body: &[u8]) -> Option<&str> {
    let (start, end) = declaration(body)?;
    let decl = std::str::from_utf8(&body[start..end]).ok()?;
    let (_, value) = pseudo_attribute(decl, "encoding")?;
    Some(value)
}

/// Finds `name="value"` (or single quotes) in a declaration: (byte range of the value, value).
fn pseudo_attribute<'d>(decl: &'d str, name: &str) -> Option<(std::ops::Range<usize>, &'d str)> {
    let at = decl.find(name)?;
    let rest = &decl[at + name.len()..];
    let eq = rest.find('=')?;
    if !rest[..eq].trim().is_empty() {
        return None;
    }
    let after_eq = &rest[eq + 1..];
    let q_off = after_eq.find(['"', '\''])?;
    if !after_eq[..q_off].trim().is_empty() {
        return None;
    }
    let quote = after_eq[q_off..].chars().next()?;
    let value_start = q_off + 1;
    let value_len = after_eq[value_start..].find(quote)?;
    let base = at + name.len() + eq + 1;
    let range = base + value_start..base + value_start + value_len;
    Some((range.clone(), &decl[range]))
}

/// `text` with its declaration's encoding set to UTF-8, when it said something else.
fn rewrite_prolog(text: &str) -> Option<String> {
    let (start, end) = declaration(text.as_bytes())?;
    let decl = &text[start..end];
    let (range, value) = pseudo_attribute(decl, "encoding")?;
    if value.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start + range.start]);
    out.push_str("UTF-8");
    out.push_str(&text[start + range.end..]);
    Some(out)
}

/// More valid multi-byte UTF-8 sequences than invalid bytes: UTF-8 with a few bad bytes.
fn mostly_utf8(mut bytes: &[u8]) -> bool {
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                multibyte += s.chars().filter(|c| !c.is_ascii()).count();
                break;
            }
            Err(e) => {
                let valid = &bytes[..e.valid_up_to()];
                multibyte += std::str::from_utf8(valid)
                    .map(|s| s.chars().filter(|c| !c.is_ascii()).count())
                    .unwrap_or(0);
                invalid += 1;
                let skip = e.error_len().unwrap_or(bytes.len() - e.valid_up_to());
                bytes = &bytes[e.valid_up_to() + skip..];
            }
        }
    }
    multibyte > invalid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(d: &Decoded<'_>) -> String {
        String::from_utf8(d.bytes.to_vec()).unwrap()
    }

    #[test]
    fn prolog_declared_legacy_encodings_decode() {
        let (body, _, _) = encoding_rs::WINDOWS_1251.encode(
            "<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss><title>Новости</title></rss>",
        );
        let d = to_utf8(&body, None);
        assert_eq!(d.encoding, "windows-1251");
        assert!(!d.replaced);
        assert_eq!(
            text(&d),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><title>Новости</title></rss>"
        );
    }

    #[test]
    fn content_type_charset_alone_is_enough() {
        for (label, enc, s) in [
            ("koi8-r", encoding_rs::KOI8_R, "Пример ленты"),
            ("Shift_JIS", encoding_rs::SHIFT_JIS, "日本語のニュース"),
            ("gb2312", encoding_rs::GBK, "中文新闻"),
            ("iso-8859-1", encoding_rs::WINDOWS_1252, "Présentation café"),
        ] {
            let xml = format!("<rss><title>{s}</title></rss>");
            let (body, _, _) = enc.encode(&xml);
            let d = to_utf8(&body, Some(label));
            assert_eq!(
                text(&d),
                format!("<rss><title>{s}</title></rss>"),
                "{label}"
            );
        }
    }

    #[test]
    fn valid_utf8_under_a_wrong_declaration_stays_utf8() {
        let body = "<?xml version='1.0' encoding='ISO-8859-1'?><feed><title>Café €</title></feed>";
        let d = to_utf8(body.as_bytes(), Some("windows-1251"));
        assert_eq!(d.encoding, "UTF-8");
        assert_eq!(
            text(&d),
            "<?xml version='1.0' encoding='UTF-8'?><feed><title>Café €</title></feed>"
        );
    }

    #[test]
    fn boms_win() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice("<rss>ü</rss>".as_bytes());
        assert_eq!(text(&to_utf8(&body, Some("koi8-r"))), "<rss>ü</rss>");
        let mut body = vec![0xFF, 0xFE];
        for u in "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss>ü</rss>".encode_utf16() {
            body.extend_from_slice(&u.to_le_bytes());
        }
        let d = to_utf8(&body, None);
        assert_eq!(d.encoding, "UTF-16LE");
        assert_eq!(
            text(&d),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>ü</rss>"
        );
    }

    #[test]
    fn invalid_bytes_are_replaced_never_fatal() {
        // UTF-8 with one stray byte: stays UTF-8, the byte becomes U+FFFD.
        let mut body = "<rss><title>Zürich – Genève".as_bytes().to_vec();
        body.push(0xFF);
        body.extend_from_slice("</title></rss>".as_bytes());
        let d = to_utf8(&body, Some("utf-8"));
        assert!(d.replaced);
        assert_eq!(
            text(&d),
            "<rss><title>Zürich – Genève\u{FFFD}</title></rss>"
        );
        // Undeclared 8-bit text: windows-1252.
        let d = to_utf8(b"<rss><title>caf\xe9</title></rss>", None);
        assert_eq!(d.encoding, "windows-1252");
        assert_eq!(text(&d), "<rss><title>café</title></rss>");
        // A label nobody knows: same fallback.
        let d = to_utf8(
            b"<?xml version=\"1.0\" encoding=\"x-bogus\"?><a>\xe9</a>",
            None,
        );
        assert_eq!(
            text(&d),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>é</a>"
        );
    }
}
