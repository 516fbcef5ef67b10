//! The linear HTML -> display text scan behind [`html_to_text`]: the output builder that
//! collapses whitespace and builds paragraphs, entity decoding, and the invisible and C1
//! control characters it drops or maps.

use super::markup::{
    carries_html, find, has_markup, looks_like_escaped_markup, looks_like_markup, parse_markup,
    reads_as_markup, skip_raw, Markup, TagClass, TagName,
};
use crate::normalize::swar;

/// Converts (possibly double-escaped) HTML or plain text to display text: paragraphs
/// separated by `"\n\n"`, whitespace collapsed within paragraphs, no empty paragraphs,
/// entities decoded, zero-width and control characters removed.
///
/// Plain text is accepted too: a blank line in text is a paragraph break.
pub fn html_to_text(input: &str) -> String {
    let mut read = looks_like_markup(input);
    let mut s = strip_pass(input);
    // Double-escaped input shows up as markup (or escaped markup) after a pass, when that
    // pass read none: HTML that has elements of its own and escapes a tag's name in its
    // text (`the &lt;strong&gt; element`, code in `<pre>`) shows it, as a browser does, and
    // so does text whose `<` and `>` are words (`a&lt;b and c&gt;d`: [`reads_as_markup`]).
    // An entity escaped once more than the text was read (`&amp;amp;amp;`,
    // `&amp;amp;#8217;`) shows up as an entity: the display text would show `&amp;`.
    for _ in 0..3 {
        let escaped = !read && (reads_as_markup(&s) || looks_like_escaped_markup(&s));
        if escaped {
            read = looks_like_markup(&s);
            s = strip_pass(&s);
        } else if holds_entity(&s) {
            // Only its entities are read again: a `<` in it is the text it was decoded to
            // (`a<b and c>d &amp; e`, `the <b> tag` of HTML that had tags of its own), not a
            // tag to drop with the words it seems to enclose. (What the last pass read,
            // `read`, stays: its text's `<`s are still text.)
            s = strip_pass(&s.replace('<', "&lt;"));
        } else {
            break;
        }
    }
    s
}

/// Whether display text still holds an entity reference a pass decodes: `&amp;`, `&lt;`,
/// `&gt;`, `&quot;`, `&apos;`, `&nbsp;` or a numeric one.
fn holds_entity(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr_iter(b'&', b).any(|p| {
        let rest = &b[p + 1..];
        let rest = &rest[..rest.len().min(12)];
        let Some(end) = memchr::memchr(b';', rest) else {
            return false;
        };
        match &rest[..end] {
            b"amp" | b"lt" | b"gt" | b"quot" | b"apos" | b"nbsp" => true,
            [b'#', b'x' | b'X', hex @ ..] => {
                !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit)
            }
            [b'#', dec @ ..] => !dec.is_empty() && dec.iter().all(u8::is_ascii_digit),
            _ => false,
        }
    })
}

/// Converts text a feed declares plain (Atom `type="text"`, JSON Feed's `title`, `summary`
/// and `content_text`) to display text as [`html_to_text`] does, but reads `<`, `&` and `]]>`
/// as the characters they are: `Why <script> tags still matter` keeps its words. Text that
/// carries HTML all the same (closing tags, comments, `<br>`, `<p>`: a feed that mislabels
/// its HTML) goes to [`html_to_text`].
pub fn plain_to_text(input: &str) -> String {
    if carries_html(input.as_bytes()) {
        return html_to_text(input);
    }
    let mut out = Out {
        buf: String::with_capacity(input.len()),
        pending_space: false,
        pending_break: false,
        newlines: 0,
        plain: true,
        line_chars: 0,
        line_start: false,
        cdata_ends: false,
    };
    out.literal(input);
    out.buf
}

/// Output builder: collapses whitespace and turns pending breaks into `"\n\n"` lazily so
/// empty paragraphs never appear.
struct Out {
    buf: String,
    pending_space: bool,
    pending_break: bool,
    newlines: u8,
    /// Plain-text input (no markup at all): a line break after a short line is a paragraph
    /// break, so header blocks (section line, author line, headline) stay apart.
    plain: bool,
    /// Characters emitted since the last newline.
    line_chars: usize,
    /// Plain text: a line break read as a space, and nothing visible since. A bullet there
    /// begins a list item of its own, however long the line before it.
    line_start: bool,
    /// `]]>` in text is a CDATA end marker left over from a broken feed (see
    /// [`leftover_cdata_ends`]), dropped; else it is text ("Use ]]> to end a section").
    cdata_ends: bool,
}

/// Whether the `]]>`s of `input` are CDATA end markers left over from a broken feed: it opens
/// a CDATA section itself (one nested in another, `<![CDATA[<![CDATA[x]]>]]>`, leaves the
/// inner one's end as text), or begins or ends with one (a section closed twice). A `]]>`
/// between words is text, and so is a `<![CDATA[` in a comment, which opens nothing.
fn leftover_cdata_ends(input: &str) -> bool {
    let t = input.trim();
    t.starts_with("]]>") || t.ends_with("]]>") || opens_cdata(input.as_bytes())
}

/// Whether `b` opens a CDATA section outside its comments. Linear: each search starts past
/// the last.
fn opens_cdata(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(lt) = find(b, i, b"<!") {
        if b[lt..].starts_with(b"<![CDATA[") {
            return true;
        }
        i = if b[lt..].starts_with(b"<!--") {
            match find(b, lt + 4, b"-->") {
                Some(end) => end + 3,
                None => return false,
            }
        } else {
            lt + 2
        };
    }
    false
}

/// Bullets that begin a list item on a line of plain text (`&bull;` and its kin; not `-` or
/// `*`, which also begin lines of hard-wrapped prose).
pub(crate) fn is_bullet(c: char) -> bool {
    matches!(
        c,
        '•' | '◦' | '‣' | '▪' | '▫' | '●' | '○' | '■' | '□' | '►' | '▸' | '➢' | '➤'
    )
}

/// Lines shorter than this (in chars) end a paragraph in plain text; hard-wrapped prose has
/// longer lines.
const SHORT_LINE: usize = 50;

impl Out {
    /// Writes the paragraph break or space pending before the next visible text (none at
    /// the start) and clears the pending state.
    #[inline]
    fn flush_pending(&mut self) {
        if !self.buf.is_empty() {
            if self.pending_break {
                self.buf.push_str("\n\n");
            } else if self.pending_space {
                self.buf.push(' ');
                self.line_chars += 1;
            }
        }
        self.pending_break = false;
        self.pending_space = false;
        self.newlines = 0;
        self.line_start = false;
    }

    fn emit(&mut self, c: char) {
        if self.line_start && is_bullet(c) {
            self.pending_break = true;
        }
        self.flush_pending();
        self.line_chars += 1;
        self.buf.push(c);
    }

    /// Emits a run of visible ASCII characters and single spaces.
    fn emit_str(&mut self, run: &str) {
        self.flush_pending();
        self.line_chars += run.len();
        self.buf.push_str(run);
    }

    fn space(&mut self) {
        self.pending_space = true;
    }

    fn brk(&mut self) {
        self.pending_break = true;
    }

    /// Feeds raw text (entities still encoded) into the output.
    fn text(&mut self, raw: &str) {
        if raw.is_empty() {
            return;
        }
        // CDATA end markers left over from broken feeds (when they are), then entities. Most
        // text has neither `]` nor `&`: one search says so, instead of one search for each.
        // Many chunks are a line break between two tags: a short one is read byte by byte
        // (cheaper than a call).
        let rb = raw.as_bytes();
        let plain = if rb.len() < 16 {
            !rb.iter().any(|&c| c == b']' || c == b'&')
        } else {
            memchr::memchr2(b']', b'&', rb).is_none()
        };
        let cleaned: std::borrow::Cow<'_, str>;
        let s: &str = if plain {
            raw
        } else {
            let raw: std::borrow::Cow<'_, str> =
                if self.cdata_ends && find(raw.as_bytes(), 0, b"]]>").is_some() {
                    raw.replace("]]>", "").into()
                } else {
                    raw.into()
                };
            cleaned = match without_control_refs(decode_entities(&raw)) {
                std::borrow::Cow::Borrowed(_) => raw,
                std::borrow::Cow::Owned(d) => d.into(),
            };
            &cleaned
        };
        self.literal(s);
    }

    /// Feeds text as it is meant to be read (entities decoded, or plain text) into the output.
    fn literal(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_graphic() {
                // A run of visible ASCII with single spaces inside: emitting it at once is what
                // emitting its words one by one with a space between them does.
                let start = i;
                i += swar::run_len(&bytes[start..], &[(0x21, 0x7e)], |c| c.is_ascii_graphic());
                self.emit_str(&s[start..i]);
                continue;
            }
            if b < 0x80 {
                i += 1;
                match b {
                    b'\n' => self.newline(),
                    b' ' | b'\t' | b'\r' | 0x0B | 0x0C => self.space(),
                    0..=0x1F | 0x7F => {}
                    _ => self.emit(char::from(b)),
                }
                continue;
            }
            let Some(c) = s[i..].chars().next() else {
                break;
            };
            i += c.len_utf8();
            match c {
                '\u{80}'..='\u{9f}' => {
                    if let Some(m) = cp1252_c1(c) {
                        self.emit(m);
                    }
                }
                '\u{2028}' | '\u{2029}' => self.newline(),
                c if c.is_whitespace() => self.space(),
                c if is_invisible(c) => {}
                // A joiner joins two characters of a word (Persian, Indic scripts, emoji
                // sequences); where no word goes on it joins nothing: a paragraph of only
                // `&zwnj;` was kept as a paragraph of one invisible character.
                '\u{200C}' | '\u{200D}' => {
                    if !self.buf.is_empty() && !self.pending_space && !self.pending_break {
                        self.emit(c);
                    }
                }
                _ => self.emit(c),
            }
        }
    }

    fn newline(&mut self) {
        self.newlines = self.newlines.saturating_add(1);
        let short = self.plain && self.line_chars > 0 && self.line_chars < SHORT_LINE;
        self.line_chars = 0;
        if self.newlines >= 2 || short {
            self.brk();
        } else {
            self.space();
            self.line_start = self.plain;
        }
    }
}

/// Characters with no display width that are only noise in feed text.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'
            | '\u{2060}'
            | '\u{FEFF}'
            | '\u{00AD}'
            | '\u{180E}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FFFE}'
            | '\u{FFFF}'
    )
}

/// Windows-1252 meaning of a C1 control (text mislabelled as Latin-1, or `&#146;`).
fn cp1252_c1(c: char) -> Option<char> {
    Some(match c as u32 {
        0x80 => '€',
        0x82 => '‚',
        0x83 => 'ƒ',
        0x84 => '„',
        0x85 => '…',
        0x86 => '†',
        0x87 => '‡',
        0x88 => 'ˆ',
        0x89 => '‰',
        0x8A => 'Š',
        0x8B => '‹',
        0x8C => 'Œ',
        0x8E => 'Ž',
        0x91 => '‘',
        0x92 => '’',
        0x93 => '“',
        0x94 => '”',
        0x95 => '•',
        0x96 => '–',
        0x97 => '—',
        0x98 => '˜',
        0x99 => '™',
        0x9A => 'š',
        0x9B => '›',
        0x9C => 'œ',
        0x9E => 'ž',
        0x9F => 'Ÿ',
        _ => return None,
    })
}

/// `html_escape::decode_html_entities`, which walks the text byte by byte for `&` and then
/// returns it borrowed: the vectorised search says the same for the common text without
/// entities.
fn decode_entities(raw: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr(b'&', raw.as_bytes()).is_none() {
        std::borrow::Cow::Borrowed(raw)
    } else {
        html_escape::decode_html_entities(raw)
    }
}

/// `decoded` (by [`decode_entities`]) without the references html_escape leaves as
/// written: to control characters (`&#0;`, `&#x1F;`), noise in a feed's text, gone like the
/// characters themselves (white space as a space); and to no character at all: a surrogate
/// pair written as two references (`&#55357;&#56832;`, from Java or JavaScript) is the
/// character it encodes, a surrogate alone or a number past U+10FFFF is U+FFFD.
fn without_control_refs(decoded: std::borrow::Cow<'_, str>) -> std::borrow::Cow<'_, str> {
    if !decoded.contains("&#") {
        return decoded;
    }
    /// The number of the character reference `s` starts with (after its `&#`), and the
    /// rest of `s` after its `;`.
    fn number(s: &str) -> Option<(u32, &str)> {
        let (digits, radix) = match s.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16),
            None => (s, 10),
        };
        let len = digits
            .bytes()
            .take_while(|b| char::from(*b).is_digit(radix))
            .count();
        let rest = digits.get(len..)?.strip_prefix(';')?;
        let value = (len > 0 && len <= 8)
            .then(|| u32::from_str_radix(&digits[..len], radix).ok())
            .flatten()?;
        Some((value, rest))
    }
    let mut out = String::with_capacity(decoded.len());
    let mut rest: &str = &decoded;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match number(after) {
            Some((v, next)) if v < 0x20 => {
                if matches!(v, 9 | 10 | 12 | 13) {
                    out.push(' ');
                }
                rest = next;
            }
            Some((high @ 0xD800..=0xDBFF, next)) => {
                let low = next
                    .strip_prefix("&#")
                    .and_then(number)
                    .filter(|(v, _)| (0xDC00..=0xDFFF).contains(v));
                match low {
                    Some((low, after_low)) => {
                        let units = [high, low].map(|u| u16::try_from(u).unwrap_or(0));
                        let c = char::decode_utf16(units).next().and_then(Result::ok);
                        out.push(c.unwrap_or('\u{FFFD}'));
                        rest = after_low;
                    }
                    None => {
                        out.push('\u{FFFD}');
                        rest = next;
                    }
                }
            }
            Some((v, next)) if char::from_u32(v).is_none() => {
                out.push('\u{FFFD}');
                rest = next;
            }
            _ => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// One linear pass: markup removed, entities decoded once, paragraphs built.
fn strip_pass(input: &str) -> String {
    let b = input.as_bytes();
    let mut out = Out {
        buf: String::with_capacity(input.len()),
        pending_space: false,
        pending_break: false,
        newlines: 0,
        plain: !has_markup(b),
        line_chars: 0,
        line_start: false,
        // (most text has no `]`: one quick search spares the others)
        cdata_ends: memchr::memchr(b']', b).is_some() && leftover_cdata_ends(input),
    };
    let mut i = 0;
    // Skip state for nested non-content elements: (name, depth, index after its open tag).
    let mut skip: Option<(TagName, u32, usize)> = None;
    let mut skipping_allowed = true;
    // Raw-text elements found never closed, each with the least position its end tag was
    // sought from: no end tag follows it, so later ones of that name are not sought again
    // (each search ran to the end of the input: `<script>` repeated took quadratic time).
    let mut unclosed: Vec<(TagName, usize)> = Vec::new();

    loop {
        let Some(off) = b.get(i..).and_then(|r| memchr::memchr(b'<', r)) else {
            if let Some((_, _, resume)) = skip {
                if skipping_allowed {
                    // Unclosed non-content element: re-read its content as text, once.
                    skipping_allowed = false;
                    skip = None;
                    out.brk();
                    i = resume;
                    continue;
                }
            } else if i < b.len() {
                out.text(&input[i..]);
            }
            break;
        };
        let lt = i + off;
        let Some((end, markup)) = parse_markup(b, lt) else {
            // Literal '<'.
            if skip.is_none() {
                out.text(&input[i..=lt]);
            }
            i = lt + 1;
            continue;
        };
        if skip.is_none() {
            out.text(&input[i..lt]);
        }
        i = end;
        match markup {
            Markup::Nothing => {}
            Markup::Open { name, self_closing } => {
                let class = name.class();
                if !self_closing && class == TagClass::RawSkip {
                    let known_unclosed =
                        unclosed.iter().any(|(n, from)| *n == name && end >= *from);
                    let after = if known_unclosed {
                        None
                    } else {
                        let after = skip_raw(b, end, &name);
                        if after.is_none() {
                            match unclosed.iter_mut().find(|(n, _)| *n == name) {
                                Some((_, from)) => *from = (*from).min(end),
                                None => unclosed.push((name, end)),
                            }
                        }
                        after
                    };
                    match after {
                        Some(after) => {
                            i = after;
                            out.space();
                        }
                        // Never closed: no script, but words about one (`Why <script>
                        // tags still matter`, or `&lt;script&gt;` decoded by the pass
                        // before), which must not take the rest of the text with them.
                        None => out.text(&input[lt..end]),
                    }
                } else if let Some((sname, depth, _)) = skip.as_mut() {
                    if !self_closing && *sname == name {
                        *depth = depth.saturating_add(1);
                    }
                } else if skipping_allowed && !self_closing && class == TagClass::Skip {
                    skip = Some((name, 1, end));
                    out.brk();
                } else if class == TagClass::Block {
                    out.brk();
                } else if class == TagClass::Spaced {
                    out.space();
                }
            }
            Markup::Close(name) => {
                if let Some((sname, depth, _)) = skip.as_mut() {
                    if *sname == name {
                        *depth -= 1;
                        if *depth == 0 {
                            skip = None;
                            out.brk();
                        }
                    }
                } else {
                    match name.class() {
                        TagClass::Block => out.brk(),
                        TagClass::Spaced => out.space(),
                        _ => {}
                    }
                }
            }
        }
    }
    out.buf
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
