//! What the HTML scan recognises as markup: tag names and how each is treated, comments,
//! doctypes and CDATA markers, raw-text elements, markup and escaped markup in decoded text,
//! and the agency-style bracketed names in titles that must not be taken for tags.

/// Tag names that make a string "look like markup" after decoding.
const MARKUP_HINT: &[&[u8]] = &[
    b"p",
    b"a",
    b"b",
    b"i",
    b"u",
    b"em",
    b"strong",
    b"span",
    b"div",
    b"br",
    b"img",
    b"li",
    b"ul",
    b"ol",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"blockquote",
    b"figure",
    b"figcaption",
    b"script",
    b"style",
    b"iframe",
    b"table",
    b"tr",
    b"td",
    b"section",
    b"article",
    b"hr",
    b"font",
    b"small",
    b"sup",
    b"sub",
    b"nav",
    b"aside",
    b"noscript",
    b"picture",
    b"source",
    b"video",
    b"center",
    b"pre",
    b"code",
];

/// A recognised piece of markup starting at a `<`.
pub(super) enum Markup {
    /// Comment, doctype, processing instruction, CDATA marker: nothing to emit.
    Nothing,
    /// `<name ...>`; `self_closing` for `<name/>`.
    Open { name: TagName, self_closing: bool },
    /// `</name>`.
    Close(TagName),
}

/// How the scanner treats an element.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TagClass {
    /// Raw-text element dropped up to its end tag (`script`, `style`, ...).
    RawSkip,
    /// Element dropped with its content, nesting tracked (`nav`, `figure`, ...).
    Skip,
    /// Paragraph break (`p`, `div`, `br`, ...).
    Block,
    /// Word break without a paragraph break (`td`, `img`, ...).
    Spaced,
    /// Anything else: no effect on the text.
    Inline,
}

/// A lowercased ASCII tag name (longer names are kept truncated and never match a list).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct TagName {
    buf: [u8; 16],
    len: u8,
}

impl TagName {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    pub(super) fn class(&self) -> TagClass {
        match self.as_bytes() {
            b"script" | b"style" | b"noscript" | b"iframe" | b"template" | b"textarea" | b"xmp" => {
                TagClass::RawSkip
            }
            b"nav" | b"aside" | b"figure" | b"figcaption" | b"head" | b"svg" | b"math"
            | b"button" | b"select" | b"video" | b"audio" | b"object" => TagClass::Skip,
            b"p" | b"div" | b"br" | b"li" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6"
            | b"blockquote" | b"tr" | b"section" | b"article" | b"ul" | b"ol" | b"dl" | b"dt"
            | b"dd" | b"table" | b"thead" | b"tbody" | b"tfoot" | b"pre" | b"hr" | b"header"
            | b"footer" | b"main" | b"address" | b"center" | b"caption" | b"details"
            | b"summary" | b"fieldset" | b"legend" | b"hgroup" | b"body" | b"html" => {
                TagClass::Block
            }
            // `<wbr>` only marks where a long word may break: it joins, as inline tags do.
            b"td" | b"th" | b"img" | b"option" => TagClass::Spaced,
            _ => TagClass::Inline,
        }
    }
}

/// Reads a tag name at `i`; returns it and the index after it.
fn read_name(b: &[u8], mut i: usize) -> (TagName, usize) {
    let mut name = TagName {
        buf: [0; 16],
        len: 0,
    };
    let mut overlong = false;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b':') {
        if usize::from(name.len) < name.buf.len() {
            name.buf[usize::from(name.len)] = b[i].to_ascii_lowercase();
            name.len += 1;
        } else {
            overlong = true;
        }
        i += 1;
    }
    if overlong {
        // Poison so it matches no list.
        name.buf[0] = b'#';
    }
    (name, i)
}

/// Finds `needle` in `b` from `from`; returns the start index.
pub(super) fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= b.len() || needle.is_empty() {
        return None;
    }
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= b.len() {
        i += memchr::memchr(first, &b[i..])?;
        if i + needle.len() > b.len() {
            return None;
        }
        if &b[i..i + needle.len()] == needle {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Parses markup at `lt` (which holds `<`). Returns the end index and the markup, or `None`
/// when the `<` is literal text. Unterminated markup extends to the end of input (as in
/// browsers), which keeps the scan linear.
pub(super) fn parse_markup(b: &[u8], lt: usize) -> Option<(usize, Markup)> {
    let len = b.len();
    let next = *b.get(lt + 1)?;
    match next {
        b'!' => {
            if b[lt + 1..].starts_with(b"!--") {
                let end = find(b, lt + 4, b"-->").map_or(len, |p| p + 3);
                Some((end, Markup::Nothing))
            } else if b[lt + 1..].starts_with(b"![CDATA[") {
                Some((lt + 9, Markup::Nothing))
            } else {
                let end = find(b, lt + 2, b">").map_or(len, |p| p + 1);
                Some((end, Markup::Nothing))
            }
        }
        b'?' => {
            let end = find(b, lt + 2, b">").map_or(len, |p| p + 1);
            Some((end, Markup::Nothing))
        }
        b'/' => {
            if !b.get(lt + 2)?.is_ascii_alphabetic() {
                return None;
            }
            let (name, after) = read_name(b, lt + 2);
            let end = find(b, after, b">").map_or(len, |p| p + 1);
            Some((end, Markup::Close(name)))
        }
        c if c.is_ascii_alphabetic() => {
            let (name, mut j) = read_name(b, lt + 1);
            let mut last_non_ws = 0u8;
            loop {
                if j >= len {
                    return Some((
                        len,
                        Markup::Open {
                            name,
                            self_closing: false,
                        },
                    ));
                }
                match b[j] {
                    b'>' => {
                        return Some((
                            j + 1,
                            Markup::Open {
                                name,
                                self_closing: last_non_ws == b'/',
                            },
                        ));
                    }
                    q @ (b'"' | b'\'') if last_non_ws == b'=' => {
                        match b[j + 1..].iter().position(|&c| c == q) {
                            Some(off) => j += off + 2,
                            None => j = len,
                        }
                        last_non_ws = q;
                        continue;
                    }
                    c if c.is_ascii_whitespace() => {}
                    c => last_non_ws = c,
                }
                j += 1;
            }
        }
        _ => None,
    }
}

/// Finds the end of the raw-text element `name` starting at `from`: the index after the
/// `>` of its end tag (or the end of input when that `>` is missing); `None` when the
/// element is never closed.
pub(super) fn skip_raw(b: &[u8], from: usize, name: &TagName) -> Option<usize> {
    let n = name.as_bytes();
    let mut i = from;
    while let Some(p) = find(b, i, b"</") {
        let start = p + 2;
        let end = start + n.len();
        if end <= b.len()
            && b[start..end].eq_ignore_ascii_case(n)
            && b.get(end).is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            #[cfg(test)]
            RAW_SEARCHED.with(|c| c.set(c.get() + (end - from)));
            return Some(find(b, end, b">").map_or(b.len(), |q| q + 1));
        }
        i = p + 2;
    }
    #[cfg(test)]
    RAW_SEARCHED.with(|c| c.set(c.get() + b.len().saturating_sub(from)));
    None
}

#[cfg(test)]
thread_local! {
    /// Bytes [`skip_raw`] has searched on this thread, for the tests that check the scan
    /// stays linear.
    pub(super) static RAW_SEARCHED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Does the input contain anything the scanner would treat as markup?
pub(super) fn has_markup(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(p) = find(b, i, b"<") {
        if b.get(p + 1)
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?'))
        {
            return true;
        }
        i = p + 1;
    }
    false
}

/// Does `s` contain something that looks like a real HTML tag or comment: a known element's
/// name whose tag closes (`>`) before the next `<`? Text that says `yes<no, x <b y.` (the
/// display text of `yes&lt;no, x &lt;b y.`) is no markup: read as HTML again, the
/// unterminated `<b` took the rest of the text.
pub(super) fn looks_like_markup(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(p) = find(b, i, b"<") {
        let rest = &b[p + 1..];
        if rest.starts_with(b"!--") || rest.starts_with(b"![CDATA[") {
            return true;
        }
        let rest = rest.strip_prefix(b"/").unwrap_or(rest);
        if tag_hint_at(rest, b">")
            && memchr::memchr2(b'>', b'<', rest).is_some_and(|e| rest[e] == b'>')
        {
            return true;
        }
        i = p + 1;
    }
    false
}

/// Does decoded text read as HTML escaped once more than it was served (`&lt;p&gt;…`), not
/// as words that hold a `<`? It holds a comment, a CDATA section, a known element's closing
/// tag (`</b>`), a known element's opening tag with attributes that each have a value
/// (`<img src="…">`; [`tag_attributes`]), or lower-case tags without attributes: one of
/// those that stand alone (`<br>`, `<hr>`, `<img>`, `<p>`, `<li>`), or two others. A known
/// name followed by words is text: `a<b and c>d` (the display text of `a&lt;b and c&gt;d`)
/// is a `<b>` tag to [`looks_like_markup`], and read again as HTML it lost `b and c`.
pub(super) fn reads_as_markup(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut bare = 0;
    while let Some(p) = find(b, i, b"<") {
        i = p + 1;
        let rest = &b[p + 1..];
        if rest.starts_with(b"!--") || rest.starts_with(b"![CDATA[") {
            return true;
        }
        let (closing, rest) = match rest.strip_prefix(b"/") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let Some(n) = markup_name_len(rest) else {
            continue;
        };
        let Some(end) = memchr::memchr2(b'>', b'<', rest).filter(|&e| rest[e] == b'>') else {
            continue;
        };
        let inner = &rest[n..end];
        if closing {
            if inner.iter().all(u8::is_ascii_whitespace) {
                return true;
            }
            continue;
        }
        if !inner
            .first()
            .is_none_or(|c| c.is_ascii_whitespace() || *c == b'/')
            || !tag_attributes(inner)
        {
            continue;
        }
        if inner.contains(&b'=') {
            return true;
        }
        // A name alone: markup when it stands alone in HTML (`<br>`, `<hr>`, `<img>`, `<p>`,
        // `<li>`) or when a second such tag follows, written in lower case as HTML's are.
        // One tag name in text (`Use the <b> tag`, `x<i>y`) or a type's name (`Vec<Article>`,
        // `<Table>`) is words.
        let name = &rest[..n];
        if !name
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            continue;
        }
        if matches!(name, b"br" | b"hr" | b"img" | b"p" | b"li") {
            return true;
        }
        bare += 1;
        if bare == 2 {
            return true;
        }
    }
    false
}

/// Whether `inner`, what stands between a tag's name and its `>`, reads as a tag's
/// attributes: nothing, or attributes each with a value (`src="x.jpg"`, `width=300`), with
/// a `/` at the end or not. An attribute without a value (`<b and c>`: `and`, `c`) is a
/// word: HTML allows a few (`<input disabled>`), which feeds' text does not need.
fn tag_attributes(inner: &[u8]) -> bool {
    let trimmed = inner.trim_ascii_end();
    let inner = trimmed.strip_suffix(b"/").unwrap_or(trimmed);
    let mut i = 0;
    let skip_space = |mut i: usize| {
        while inner.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    loop {
        i = skip_space(i);
        if i == inner.len() {
            return true;
        }
        let name = i;
        while inner
            .get(i)
            .is_some_and(|c| !c.is_ascii_whitespace() && !b"=/\"'".contains(c))
        {
            i += 1;
        }
        if i == name {
            return false;
        }
        i = skip_space(i);
        if inner.get(i) != Some(&b'=') {
            return false;
        }
        i = skip_space(i + 1);
        match inner.get(i) {
            None => return false,
            Some(&q @ (b'"' | b'\'')) => match memchr::memchr(q, &inner[i + 1..]) {
                Some(close) => i += close + 2,
                None => return false,
            },
            Some(_) => {
                while inner.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    i += 1;
                }
            }
        }
    }
}

/// Titles only: `<SAMSUNG CO>`, `<ARBR>` — an upper-case name in angle brackets that is no
/// HTML tag (agency style for company names and tickers) — escaped so that [`html_to_text`]
/// keeps it as text instead of dropping it as an unknown tag; without it `<SAMSUNG CO>
/// CALENDAR 1986` and `<DAEWOO CORP> CALENDAR 1986` normalize to the same headline. Lower-case
/// or attribute-bearing brackets, and HTML tag names in any case (`<B>`), stay markup.
///
/// [`html_to_text`]: super::html_to_text
pub fn protect_bracketed_names(t: &str) -> std::borrow::Cow<'_, str> {
    let b = t.as_bytes();
    if memchr::memchr(b'<', b).is_none() {
        return std::borrow::Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(t.len() + 8);
    let mut last = 0;
    let mut i = 0;
    while let Some(p) = find(b, i, b"<") {
        i = p + 1;
        let Some(len) = b[p + 1..]
            .iter()
            .take(60)
            .position(|&c| c == b'>' || c == b'<')
        else {
            continue;
        };
        let inner = &b[p + 1..p + 1 + len];
        if b[p + 1 + len] != b'>' || !is_bracketed_name(inner) {
            continue;
        }
        out.push_str(&t[last..p]);
        out.push_str("&lt;");
        out.push_str(&t[p + 1..p + 1 + len]);
        out.push_str("&gt;");
        last = p + 2 + len;
        i = last;
    }
    if last == 0 {
        return std::borrow::Cow::Borrowed(t);
    }
    out.push_str(&t[last..]);
    std::borrow::Cow::Owned(out)
}

/// An upper-case name (letters, digits, spaces and `.&'-/,`) starting with a letter, whose
/// first word is not an HTML tag name.
fn is_bracketed_name(inner: &[u8]) -> bool {
    let first_word = inner
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    inner.first().is_some_and(u8::is_ascii_uppercase)
        && inner
            .iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit() || b" .&'-/,".contains(&c))
        && !is_markup_name(&inner[..first_word])
}

/// Is `name` one of the HTML tag names ([`MARKUP_HINT`]) that mark a text as markup, in any
/// case?
fn is_markup_name(name: &[u8]) -> bool {
    MARKUP_HINT.iter().any(|t| t.eq_ignore_ascii_case(name))
}

/// Does `s` contain escaped markup such as `&lt;p&gt;`?
pub(super) fn looks_like_escaped_markup(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(p) = find(b, i, b"&lt;") {
        let rest = &b[p + 4..];
        let rest = rest.strip_prefix(b"/").unwrap_or(rest);
        if tag_hint_at(rest, b"&gt;") || rest.starts_with(b"!--") || rest.starts_with(b"![CDATA[") {
            return true;
        }
        i = p + 4;
    }
    false
}

/// Does text declared plain carry HTML all the same: a closing tag of a known element, a
/// comment, or a `<br>` or `<p>`? A `<script>` or `<b>` alone is words about markup.
pub(super) fn carries_html(b: &[u8]) -> bool {
    let mut i = 0;
    while let Some(p) = find(b, i, b"<") {
        let rest = &b[p + 1..];
        if rest.starts_with(b"!--") {
            return true;
        }
        if let Some(closing) = rest.strip_prefix(b"/") {
            if tag_hint_at(closing, b">") {
                return true;
            }
        }
        let n = rest
            .iter()
            .take(3)
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        if matches!(&rest[..n], [b'b' | b'B', b'r' | b'R'] | [b'p' | b'P'])
            && rest[n..]
                .first()
                .is_some_and(|c| matches!(c, b'>' | b'/') || c.is_ascii_whitespace())
        {
            return true;
        }
        i = p + 1;
    }
    false
}

/// Does `rest` start with a known tag name followed by whitespace, `/` or `close`?
fn tag_hint_at(rest: &[u8], close: &[u8]) -> bool {
    let Some(n) = markup_name_len(rest) else {
        return false;
    };
    let after = &rest[n..];
    after.starts_with(close)
        || after
            .first()
            .is_some_and(|c| c.is_ascii_whitespace() || *c == b'/')
}

/// The length of the known tag name ([`is_markup_name`]) that `rest`, the bytes after a `<`
/// (or `</`), starts with: up to 12 ASCII letters and digits. `None` when it starts with none.
fn markup_name_len(rest: &[u8]) -> Option<usize> {
    let n = rest
        .iter()
        .take(12)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    (n > 0 && is_markup_name(&rest[..n])).then_some(n)
}
