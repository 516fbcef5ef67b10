//! Character encodings: any feed body → UTF-8 before feed-rs sees it.
//!
//! feed-rs decodes by the XML prolog alone. That misses the charset given only in
//! `Content-Type`, and it garbles the common mismatches (a prolog that says ISO-8859-1 over a
//! body that is really UTF-8). So the body is decoded here, with encoding_rs, and its XML
//! declarations are dropped (see `without_declarations`). The order of evidence:
//! 1. a byte-order mark (UTF-8, UTF-16LE/BE) wins; without one, UTF-16 is told by its first
//!    characters, ASCII markup, every other byte of which is zero (XML 1.0, appendix F);
//! 2. a body that is valid UTF-8 is UTF-8, whatever it declares (Miniflux's rule: a legacy
//!    encoding's text is almost never valid UTF-8 by accident, the reverse mistake is common),
//!    except 7-bit ISO-2022-JP, declared and holding its escape sequences;
//! 3. otherwise the declared legacy encoding: the XML prolog first (it travels with the
//!    document; a header charset is often a server-wide default), then `Content-Type`;
//!    unless that is a single-byte encoding and the body clearly UTF-8 (over four times more
//!    valid multi-byte sequences than invalid ones);
//! 4. UTF-8 with some bad bytes (mostly valid, or declared UTF-8 with sequences of three or
//!    four bytes) stays UTF-8, its invalid bytes read as windows-1252 or the declared
//!    single-byte encoding (an item pasted from a Latin-1 source); anything else is read in
//!    the encoding chardetng (Firefox's detector) guesses when that writes another script
//!    than Latin, else as windows-1252 (the web's default for undeclared 8-bit text).
//!
//! Bytes invalid in a legacy encoding become U+FFFD; decoding never fails.

use std::borrow::Cow;

use encoding_rs::{Encoding, ISO_2022_JP, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

/// A body decoded to UTF-8.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// UTF-8 bytes without XML declarations.
    pub bytes: Cow<'a, [u8]>,
    /// The encoding the body was read as (its WHATWG name, e.g. `windows-1251`).
    pub encoding: &'static str,
    /// Whether some bytes were invalid in that encoding: replaced by U+FFFD, or in UTF-8 read
    /// as windows-1252.
    pub replaced: bool,
}

/// Decodes `body` to UTF-8; `http_charset` is the `Content-Type` charset parameter.
pub fn to_utf8<'a>(body: &'a [u8], http_charset: Option<&str>) -> Decoded<'a> {
    if let Some((enc, bom_len)) = Encoding::for_bom(body) {
        let (text, replaced) = enc.decode_without_bom_handling(&body[bom_len..]);
        return finish(text, enc, replaced);
    }
    if let Some(enc) = utf16_unmarked(body) {
        let (text, replaced) = enc.decode_without_bom_handling(body);
        return finish(text, enc, replaced);
    }
    let declared = || {
        [prolog_encoding(body), http_charset]
            .into_iter()
            .flatten()
            .filter_map(|label| {
                Encoding::for_label(label.trim().as_bytes()).or_else(|| loose_label(label))
            })
    };
    if let Ok(s) = std::str::from_utf8(body) {
        // ISO-2022-JP is 7-bit, so valid UTF-8 too; its escape sequences (ESC is no character
        // XML allows) tell it from ASCII.
        if declared().any(|e| e == ISO_2022_JP) && memchr::memchr(0x1B, body).is_some() {
            let (text, replaced) = ISO_2022_JP.decode_without_bom_handling(body);
            return finish(text, ISO_2022_JP, replaced);
        }
        return finish(Cow::Borrowed(s), UTF_8, false);
    }
    let scan = Utf8Scan::of(body);
    let utf8_declared = declared().any(|e| e == UTF_8);
    // A UTF-8 (or UTF-16, which cannot be declared in ASCII) label over bytes that are not
    // valid UTF-8 is no help.
    let legacy = declared().find(|e| e.is_ascii_compatible() && *e != UTF_8);
    let mixed_with = match legacy {
        // UTF-8 with a few bad bytes under a wrong single-byte label (ISO-8859-1 over UTF-8,
        // one character cut short) is UTF-8 all the same, its bad bytes read by the label.
        // Never under a multi-byte label: a fifth of GB2312's characters, say, are valid
        // UTF-8 pairs by themselves, and a short title or two outweighed the rest.
        Some(enc) if enc.is_single_byte() && scan.clearly_utf8() => Some(enc),
        Some(_) => None,
        // Undeclared and mostly valid; or declared UTF-8 with characters only UTF-8 writes
        // this way (three-byte sequences: ’ “ — …; a windows-1252 letter and a sign that
        // pair as two bytes by accident, `ß“`, are no evidence).
        None if scan.mostly_utf8() || (utf8_declared && scan.long_sequences > 0) => {
            Some(WINDOWS_1252)
        }
        None => None,
    };
    if let Some(fallback) = mixed_with {
        return finish(Cow::Owned(mixed(body, fallback)), UTF_8, true);
    }
    let enc = legacy.unwrap_or_else(|| undeclared(body));
    let (text, replaced) = enc.decode_without_bom_handling(body);
    finish(text, enc, replaced)
}

/// The legacy encoding of an 8-bit body that declares none: the one a browser guesses
/// (chardetng, Firefox's detector) when that writes another script than Latin (Cyrillic,
/// Greek, Hebrew, Arabic, Thai, Chinese, Japanese, Korean), else windows-1252. Read as
/// windows-1252 always, a Russian feed in windows-1251 or a Japanese one in Shift_JIS was
/// stored as Latin letters. Its Latin guesses are not taken: a British feed whose only
/// 8-bit byte was the pound sign came out as ISO-8859-2 (every `£` an `Ł`), and Icelandic
/// as windows-1250, where windows-1252 read both right (the review of session 53).
fn undeclared(body: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(body, true);
    let guess = detector.guess(None, chardetng::Utf8Detection::Deny);
    if latin(guess) {
        WINDOWS_1252
    } else {
        guess
    }
}

/// Whether `enc` is a single-byte encoding of the Latin script (Central European, Turkish,
/// Baltic, Vietnamese, and windows-1252 itself).
fn latin(enc: &'static Encoding) -> bool {
    use encoding_rs::{
        ISO_8859_10, ISO_8859_13, ISO_8859_14, ISO_8859_15, ISO_8859_16, ISO_8859_2, ISO_8859_3,
        ISO_8859_4, WINDOWS_1250, WINDOWS_1254, WINDOWS_1257, WINDOWS_1258,
    };
    [
        WINDOWS_1252,
        WINDOWS_1250,
        WINDOWS_1254,
        WINDOWS_1257,
        WINDOWS_1258,
        ISO_8859_2,
        ISO_8859_3,
        ISO_8859_4,
        ISO_8859_10,
        ISO_8859_13,
        ISO_8859_14,
        ISO_8859_15,
        ISO_8859_16,
    ]
    .contains(&enc)
}

/// `body` (not valid UTF-8) read as UTF-8 where it is valid and each invalid byte in the
/// single-byte encoding `fallback`: a UTF-8 feed holding one item pasted from a Latin-1 source
/// keeps its other items as they are (read whole as windows-1252, every `’` became `â€™`,
/// and stored articles were updated to that), and the pasted item reads as written, not as
/// U+FFFD. A surrogate pair written as two three-byte sequences (CESU-8, Java's modified
/// UTF-8) is the character it encodes.
fn mixed(body: &[u8], fallback: &'static Encoding) -> String {
    let mut out = String::with_capacity(body.len() + body.len() / 8);
    let mut rest = body;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                if let Ok(valid) = std::str::from_utf8(valid) {
                    out.push_str(valid);
                }
                if let Some(c) = cesu_pair(after) {
                    out.push(c);
                    rest = &after[6..];
                    continue;
                }
                let len = e.error_len().unwrap_or(after.len());
                out.push_str(&fallback.decode_without_bom_handling(&after[..len]).0);
                rest = &after[len..];
            }
        }
    }
}

/// The character of a CESU-8 surrogate pair at the start of `b`: `ED A0–AF xx ED B0–BF xx`.
fn cesu_pair(b: &[u8]) -> Option<char> {
    // the UTF-16 code unit a three-byte sequence `ED b1 b2` encodes
    let unit = |s: &[u8], lo: u8, hi: u8| match s {
        [0xED, b1, b2, ..] if (lo..=hi).contains(b1) && (0x80..=0xBF).contains(b2) => {
            Some(0xD000 | (u16::from(b1 & 0x3F) << 6) | u16::from(b2 & 0x3F))
        }
        _ => None,
    };
    let high = unit(b, 0xA0, 0xAF)?;
    let low = unit(b.get(3..)?, 0xB0, 0xBF)?;
    char::decode_utf16([high, low]).next()?.ok()
}

/// UTF-16 without a byte-order mark: its first four characters are ASCII (`<?xm`, `<rss`,
/// white space), so every other one of its first eight bytes is zero: the high bytes, first
/// (big-endian) or second (little-endian). Text in an ASCII-compatible encoding has no zero
/// byte there. Read as UTF-8, an ASCII-only UTF-16 body is even valid (zeros and all), and the
/// XML reader switched decoders on its declaration too late (and panicked).
fn utf16_unmarked(body: &[u8]) -> Option<&'static Encoding> {
    let head = body.get(..8)?;
    let units = || head.chunks_exact(2);
    if units().all(|u| u[0] != 0 && u[0].is_ascii() && u[1] == 0) {
        Some(UTF_16LE)
    } else if units().all(|u| u[0] == 0 && u[1] != 0 && u[1].is_ascii()) {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// A label the encoding standard does not list but feeds write (`win-1251`, `windows1251`,
/// `cp-1251`, `koi8r`, `CP936`, `GB-2312`, `EUC_KR`): read without its separators, and for
/// Windows code pages by number. Without it the body was read as windows-1252.
fn loose_label(label: &str) -> Option<&'static Encoding> {
    let l: String = label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let page = ["windows", "win", "cp"]
        .iter()
        .find_map(|p| l.strip_prefix(p))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let name = match (page, l.as_str()) {
        (Some("936"), _) => "gbk".to_owned(),
        (Some("932"), _) => "shift_jis".to_owned(),
        (Some("949"), _) => "euc-kr".to_owned(),
        (Some("950"), _) => "big5".to_owned(),
        (Some("866"), _) => "ibm866".to_owned(),
        (Some(n), _) => format!("windows-{n}"),
        (None, l) => match l.strip_prefix("iso8859") {
            Some(n) => format!("iso-8859-{n}"),
            None => match l {
                "koi8r" => "koi8-r",
                "koi8u" => "koi8-u",
                "euckr" => "euc-kr",
                "eucjp" => "euc-jp",
                "shiftjis" | "sjis" => "shift_jis",
                "gb2312" => "gbk",
                "utf8" => "utf-8",
                _ => return None,
            }
            .to_owned(),
        },
    };
    Encoding::for_label(name.as_bytes())
}

fn finish<'a>(text: Cow<'a, str>, enc: &'static Encoding, replaced: bool) -> Decoded<'a> {
    let bytes = match text {
        Cow::Borrowed(s) => without_declarations(s.as_bytes()),
        Cow::Owned(s) => {
            // Reuse the transcoded buffer unless declarations past the start force a copy.
            let mut owned = s.into_bytes();
            let prefix = match without_declarations(&owned) {
                Cow::Borrowed(rest) => Ok(owned.len() - rest.len()),
                Cow::Owned(rebuilt) => Err(rebuilt),
            };
            match prefix {
                Ok(cut) => {
                    owned.drain(..cut);
                    Cow::Owned(owned)
                }
                Err(rebuilt) => Cow::Owned(rebuilt),
            }
        }
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
    pseudo_attribute(decl, "encoding")
}

/// Finds `name="value"` (or single quotes) in a declaration and returns the value.
fn pseudo_attribute<'d>(decl: &'d str, name: &str) -> Option<&'d str> {
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
    let value = &after_eq[q_off + 1..];
    Some(&value[..value.find(quote)?])
}

/// UTF-8 `text` without its XML declarations: the one in the prolog and any other processing
/// instruction the XML reader would take for one (target `xml`, then white space or `?>`),
/// outside CDATA sections and comments.
///
/// The body is UTF-8 by now, which is XML's default, so a declaration has nothing left to say;
/// and one that names another encoding is harmful: quick-xml (under feed-rs) switches decoders
/// on it, and panics when it comes after its 64-byte look-ahead (behind a long comment, a second
/// declaration further on; found by fuzzing). In a CDATA section, a comment or a JSON Feed the
/// same characters are text (`Start a file with <?xml …`): cutting from there to the next `?>`
/// cut entries out of the feed. Borrows unless a declaration sits past the start; a borrowed
/// result is always a suffix of `text` (`finish` relies on that).
fn without_declarations(text: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memmem::find(text, b"<?xml") else {
        return Cow::Borrowed(text);
    };
    let only = memchr::memmem::find(&text[first + 5..], b"<?xml").is_none();
    if only && text[..first].iter().all(u8::is_ascii_whitespace) {
        // Most feeds: the prolog, and no other one.
        let declares = matches!(
            text.get(first + 5),
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'?')
        );
        let end = memchr::memmem::find(&text[first + 2..], b"?>").map(|e| first + 2 + e + 2);
        return match (declares, end) {
            (true, Some(end)) => Cow::Borrowed(&text[end..]),
            _ => Cow::Borrowed(text),
        };
    }
    if text.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Cow::Borrowed(text); // JSON: no markup at all
    }
    let mut cut: Vec<std::ops::Range<usize>> = Vec::new();
    super::repair::walk_at(text, |piece, at| {
        if let super::repair::Piece::Declaration(end) = piece {
            cut.push(at..end);
        }
    });
    match cut.as_slice() {
        [] => Cow::Borrowed(text),
        [only] if text[..only.start].iter().all(u8::is_ascii_whitespace) => {
            Cow::Borrowed(&text[only.end..])
        }
        _ => {
            let mut out = Vec::with_capacity(text.len());
            let mut from = 0;
            for r in &cut {
                out.extend_from_slice(&text[from..r.start]);
                from = r.end;
            }
            out.extend_from_slice(&text[from..]);
            Cow::Owned(out)
        }
    }
}

/// What a body that is not valid UTF-8 holds: non-ASCII characters in its valid stretches,
/// and invalid sequences.
struct Utf8Scan {
    multibyte: usize,
    /// Of those, the ones of three or four bytes.
    long_sequences: usize,
    invalid: usize,
}

impl Utf8Scan {
    fn of(mut bytes: &[u8]) -> Self {
        let mut scan = Utf8Scan {
            multibyte: 0,
            long_sequences: 0,
            invalid: 0,
        };
        let mut count = |s: &str| {
            for c in s.chars().filter(|c| !c.is_ascii()) {
                scan.multibyte += 1;
                scan.long_sequences += usize::from(c.len_utf8() > 2);
            }
        };
        loop {
            match std::str::from_utf8(bytes) {
                Ok(s) => {
                    count(s);
                    return scan;
                }
                Err(e) => {
                    let valid = &bytes[..e.valid_up_to()];
                    if let Ok(valid) = std::str::from_utf8(valid) {
                        count(valid);
                    }
                    scan.invalid += 1;
                    let skip = e.error_len().unwrap_or(bytes.len() - e.valid_up_to());
                    bytes = &bytes[e.valid_up_to() + skip..];
                }
            }
        }
    }

    /// More valid multi-byte UTF-8 sequences than invalid ones: UTF-8 with a few bad bytes
    /// (text in a legacy encoding is almost never valid UTF-8 by accident).
    fn mostly_utf8(&self) -> bool {
        self.multibyte > self.invalid
    }

    /// Over four times as many: enough to overrule a declared single-byte encoding.
    fn clearly_utf8(&self) -> bool {
        self.multibyte > self.invalid.saturating_mul(4)
    }
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
        assert_eq!(text(&d), "<rss><title>Новости</title></rss>");

        // Transcoded text with a second declaration further on: both go.
        let (body, _, _) = encoding_rs::WINDOWS_1251.encode(
            "<?xml version=\"1.0\" encoding=\"windows-1251\"?><rss><?xml version=\"1.0\"?>Да</rss>",
        );
        assert_eq!(text(&to_utf8(&body, None)), "<rss>Да</rss>");
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
    fn an_undeclared_legacy_encoding_is_guessed() {
        for (enc, s) in [
            (
                encoding_rs::WINDOWS_1251,
                "Правительство одобрило новый бюджет на следующий год",
            ),
            (
                encoding_rs::KOI8_R,
                "Правительство одобрило новый бюджет на следующий год",
            ),
            (
                encoding_rs::SHIFT_JIS,
                "政府は来年度の新しい予算案を承認した",
            ),
            (encoding_rs::EUC_KR, "정부는 내년 새 예산안을 승인했다"),
            (
                encoding_rs::WINDOWS_1252,
                "Le gouvernement a approuvé le budget de l'année prochaine",
            ),
            // Latin guesses are not taken: chardetng read these as ISO-8859-2 / windows-1250
            (encoding_rs::WINDOWS_1252, "Firm fined £5m over data breach"),
            (
                encoding_rs::WINDOWS_1252,
                "Alþingi samþykkir fjárlög næsta árs, segir Fjármálaráðherra",
            ),
            (encoding_rs::GBK, "政府批准了明年的新预算案"),
            (
                encoding_rs::WINDOWS_1253,
                "Η κυβέρνηση ενέκρινε τον νέο προϋπολογισμό",
            ),
        ] {
            let xml =
                format!("<rss><title>{s}</title><item><description>{s}</description></item></rss>");
            let (body, _, _) = enc.encode(&xml);
            let d = to_utf8(&body, None);
            // (KOI8-R text may be named KOI8-U, its superset: the same letters)
            assert_eq!(text(&d), xml, "{} read as {}", enc.name(), d.encoding);
        }
    }

    #[test]
    fn valid_utf8_under_a_wrong_declaration_stays_utf8() {
        let body = "<?xml version='1.0' encoding='ISO-8859-1'?><feed><title>Café €</title></feed>";
        let d = to_utf8(body.as_bytes(), Some("windows-1251"));
        assert_eq!(d.encoding, "UTF-8");
        assert_eq!(text(&d), "<feed><title>Café €</title></feed>");
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
        assert_eq!(text(&d), "<rss>ü</rss>");
    }

    #[test]
    fn labels_outside_the_standard_are_read_loosely() {
        let cyrillic = "Привет";
        for (label, name) in [
            ("win-1251", "windows-1251"),
            ("windows1251", "windows-1251"),
            ("cp-1251", "windows-1251"),
            ("WIN_1251", "windows-1251"),
        ] {
            let (body, _, _) = encoding_rs::WINDOWS_1251.encode(cyrillic);
            let d = to_utf8(&body, Some(label));
            assert_eq!((d.encoding, text(&d).as_str()), (name, cyrillic), "{label}");
        }
        for (label, name) in [
            ("koi8r", "KOI8-R"),
            ("CP936", "GBK"),
            ("GB-2312", "GBK"),
            ("EUC_KR", "EUC-KR"),
            ("Shift-JIS", "Shift_JIS"),
            ("ISO8859_5", "ISO-8859-5"),
        ] {
            assert_eq!(loose_label(label).map(|e| e.name()), Some(name), "{label}");
        }
        for unknown in ["win", "cp", "cpx1", "klingon", "iso8859"] {
            assert_eq!(loose_label(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn utf16_without_a_bom_is_told_by_its_first_characters() {
        let utf16 = |s: &str, le: bool| -> Vec<u8> {
            s.encode_utf16()
                .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
                .collect()
        };
        let doc =
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss><title>Zürich – Genève</title></rss>";
        for (le, name) in [(true, "UTF-16LE"), (false, "UTF-16BE")] {
            let body = utf16(doc, le);
            let d = to_utf8(&body, None);
            assert_eq!(d.encoding, name);
            assert_eq!(text(&d), "<rss><title>Zürich – Genève</title></rss>");
            // ASCII only (valid UTF-8, zeros and all), and without a declaration.
            let body = utf16("<rss><title>Plain</title></rss>", le);
            let d = to_utf8(&body, Some("utf-8"));
            assert_eq!(d.encoding, name);
            assert_eq!(text(&d), "<rss><title>Plain</title></rss>");
        }
        // Other text has no zero byte among its first characters.
        for other in [
            "<rss>",
            "<?xml version=\"1.0\"?><rss/>",
            "\u{0}\u{0}\u{0}\u{0}<rss/>",
        ] {
            assert_ne!(
                to_utf8(other.as_bytes(), None).encoding,
                "UTF-16LE",
                "{other:?}"
            );
            assert_ne!(
                to_utf8(other.as_bytes(), None).encoding,
                "UTF-16BE",
                "{other:?}"
            );
        }
    }

    #[test]
    fn invalid_bytes_are_replaced_never_fatal() {
        // UTF-8 with one stray byte: stays UTF-8, the byte becomes U+FFFD.
        let mut body = "<rss><title>Zürich – Genève".as_bytes().to_vec();
        body.push(0xFF);
        body.extend_from_slice("</title></rss>".as_bytes());
        let d = to_utf8(&body, Some("utf-8"));
        assert!(d.replaced);
        assert_eq!(text(&d), "<rss><title>Zürich – Genèveÿ</title></rss>");
        // Bytes invalid in a legacy encoding: U+FFFD.
        let d = to_utf8(b"<rss>\x82\xa0\x82</rss>", Some("shift_jis"));
        assert!(d.replaced);
        assert_eq!(text(&d), "<rss>\u{3042}\u{FFFD}</rss>");
        // Undeclared 8-bit text: windows-1252.
        let d = to_utf8(b"<rss><title>caf\xe9</title></rss>", None);
        assert_eq!(d.encoding, "windows-1252");
        assert_eq!(text(&d), "<rss><title>café</title></rss>");
        // A label nobody knows: same fallback.
        let d = to_utf8(
            b"<?xml version=\"1.0\" encoding=\"x-bogus\"?><a>\xe9</a>",
            None,
        );
        assert_eq!(text(&d), "<a>é</a>");
    }

    #[test]
    fn utf8_with_a_few_bad_bytes_keeps_its_good_text() {
        // Declared UTF-8, three curly quotes and one item pasted from a Latin-1 source (more
        // invalid bytes than valid multi-byte characters): each part reads as written.
        let good = "<item>The Fed’s chair</item><item>the city’s budget — 7 to 2</item>";
        let mut body =
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>{good}").into_bytes();
        let (pasted, _, _) = WINDOWS_1252.encode("<item>Café crème brûlée à la française</item>");
        body.extend_from_slice(&pasted);
        body.extend_from_slice(b"</rss>");
        let want = format!("<rss>{good}<item>Café crème brûlée à la française</item></rss>");
        for header in [Some("utf-8"), None] {
            let d = to_utf8(&body, header);
            assert_eq!((d.encoding, d.replaced), ("UTF-8", true));
            assert_eq!(text(&d), want);
        }
        // UTF-8 under a wrong ISO-8859-1 prolog, one character cut short: UTF-8 still.
        let mut body = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss>beschließt für \
                        Großstädte über Österreich"
            .as_bytes()
            .to_vec();
        body.extend_from_slice(b" K\xc3</rss>");
        let d = to_utf8(&body, Some("iso-8859-1"));
        assert_eq!(d.encoding, "UTF-8");
        assert_eq!(
            text(&d),
            "<rss>beschließt für Großstädte über Österreich KÃ</rss>"
        );
        // An emoji written as two surrogates (CESU-8) beside a curly quote.
        let mut body = "<rss>Party ’ ".as_bytes().to_vec();
        body.extend_from_slice(&[0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]);
        body.extend_from_slice(b"</rss>");
        assert_eq!(
            text(&to_utf8(&body, Some("utf-8"))),
            "<rss>Party ’ 😀</rss>"
        );
    }

    #[test]
    fn legacy_text_is_not_taken_for_utf8() {
        // Real sentences in multi-byte and single-byte legacy encodings, declared: never
        // mostly valid UTF-8, so never read as it.
        for (label, enc, s) in [
            (
                "shift_jis",
                encoding_rs::SHIFT_JIS,
                "政府は来年度予算案を閣議決定した。",
            ),
            (
                "euc-jp",
                encoding_rs::EUC_JP,
                "東京株式市場で日経平均株価が続伸した。",
            ),
            (
                "gbk",
                encoding_rs::GBK,
                "交通运输部今年新建改造农村公路三万公里。",
            ),
            (
                "big5",
                encoding_rs::BIG5,
                "立法院今日三讀通過年度總預算案。",
            ),
            (
                "euc-kr",
                encoding_rs::EUC_KR,
                "정부는 내년도 예산안을 의결했다.",
            ),
            (
                "windows-1251",
                encoding_rs::WINDOWS_1251,
                "Правительство одобрило бюджет — «Ёж»",
            ),
            (
                "iso-8859-7",
                encoding_rs::ISO_8859_7,
                "Η κυβέρνηση ενέκρινε τον προϋπολογισμό.",
            ),
        ] {
            let (body, _, _) = enc.encode(s);
            let d = to_utf8(&body, Some(label));
            assert_eq!((d.encoding, text(&d).as_str()), (enc.name(), s), "{label}");
        }
    }

    #[test]
    fn accidental_utf8_pairs_do_not_overrule_a_legacy_text() {
        // windows-1252 under a UTF-8 label: `ß“` (DF 93) is a valid UTF-8 pair by accident,
        // the rest is invalid; read as windows-1252, as before.
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><title>„Der Druck ist \
                   groß“</title><p>Die Bürger in München äußern sich über höhere Preise.</p></rss>";
        let (body, _, _) = WINDOWS_1252.encode(doc);
        let d = to_utf8(&body, Some("utf-8"));
        assert_eq!(d.encoding, "windows-1252");
        assert_eq!(text(&d), doc.split_once("?>").map_or("", |(_, r)| r));
        // GBK, declared, short titles beside ASCII: many of its characters are valid UTF-8
        // pairs by themselves (茅台 is), more than the invalid ones here; GBK all the same.
        let doc = "<?xml version=\"1.0\" encoding=\"GBK\"?><rss><t>茅台: Kweichow Moutai Q3</t>\
                   <t>煤炭: coal</t><t>鲁迅: essays</t><t>庐山: travel</t><t>新闻: news</t></rss>";
        let (body, _, _) = encoding_rs::GBK.encode(doc);
        let d = to_utf8(&body, None);
        assert_eq!(d.encoding, "GBK");
        assert_eq!(text(&d), doc.split_once("?>").map_or("", |(_, r)| r));
    }

    #[test]
    fn iso_2022_jp_is_told_by_its_escapes() {
        let doc = "<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?><rss><title>日本語のニュース</title></rss>";
        let (body, _, _) = ISO_2022_JP.encode(doc);
        assert!(std::str::from_utf8(&body).is_ok());
        for header in [None, Some("ISO-2022-JP")] {
            let d = to_utf8(&body, header);
            assert_eq!(d.encoding, "ISO-2022-JP");
            assert_eq!(text(&d), "<rss><title>日本語のニュース</title></rss>");
        }
        // Declared, but plain ASCII: UTF-8 as before.
        let d = to_utf8(doc.split("<title>").next().unwrap_or("").as_bytes(), None);
        assert_eq!(d.encoding, "UTF-8");
    }

    #[test]
    fn declarations_are_dropped_wherever_the_reader_would_see_one() {
        let strip = |s: &str| String::from_utf8(without_declarations(s.as_bytes()).into_owned());
        let cases = [
            // In the prolog: borrowed, leading blanks go with it.
            ("\n <?xml version=\"1.0\"?><rss/>", "<rss/>"),
            // Late, second, bare, unclosed, and look-alikes that are other instructions.
            (
                "<!-- c --><?xml version='1.0' encoding='koi8-r'?><rss/>",
                "<!-- c --><rss/>",
            ),
            (
                "<?xml version=\"1.0\"?><rss/><?xml\tencoding=\"x\"?>",
                "<rss/>",
            ),
            ("<rss><?xml?></rss>", "<rss></rss>"),
            ("<rss/><?xml encoding=\"x\"", "<rss/><?xml encoding=\"x\""),
            (
                "<?xml-stylesheet href=\"a.xsl\"?><rss/>",
                "<?xml-stylesheet href=\"a.xsl\"?><rss/>",
            ),
            ("<?xmlfoo?><rss/>", "<?xmlfoo?><rss/>"),
            // Text, not markup: in CDATA, in a comment, in a JSON Feed; only the prolog goes.
            (
                "<?xml version=\"1.0\"?><rss><item><description><![CDATA[Start with <?xml and \
                 a version.]]></description></item><item><description>Omit the final ?> \
                 in PHP.</description></item></rss>",
                "<rss><item><description><![CDATA[Start with <?xml and a version.]]>\
                 </description></item><item><description>Omit the final ?> in PHP.\
                 </description></item></rss>",
            ),
            (
                "<rss><!-- <?xml version=\"1.0\"?> --><?xml version=\"1.0\"?></rss>",
                "<rss><!-- <?xml version=\"1.0\"?> --></rss>",
            ),
            // What opens a comment, an instruction or CDATA in an attribute value is its text:
            // the declaration after it still goes.
            (
                "<rss><a d=\"<!--\" e='<?php'>c</a><b d=\"<![CDATA[\"/><?xml version=\"1.0\" \
                 encoding=\"UTF-16\"?></rss>",
                "<rss><a d=\"<!--\" e='<?php'>c</a><b d=\"<![CDATA[\"/></rss>",
            ),
            (
                "{\"items\": [{\"content_text\": \"Write <?xml version=\\\"1.0\\\"?> first\"}]}",
                "{\"items\": [{\"content_text\": \"Write <?xml version=\\\"1.0\\\"?> first\"}]}",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(strip(input).unwrap(), want, "{input:?}");
        }
        assert!(matches!(
            without_declarations(b"  <?xml version=\"1.0\"?><rss/>"),
            Cow::Borrowed(_)
        ));
        // Declarations without their end, one after another, stay (each one was searched to
        // the end of the text: quadratic, 1.9 MB took 5.6 s; the walk now ends at the first).
        let many = "<rss>".to_owned() + &"<?xml x ".repeat(1_000);
        assert_eq!(strip(&many).unwrap(), many);
    }
}
