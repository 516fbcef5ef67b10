//! JSON Feed documents feed-rs refuses for one field, repaired as other readers take them.

/// A JSON Feed whose fields feed-rs refuses for a value of the wrong type, repaired, as other
/// readers take them rather than losing every item for one field:
/// - an item's `date_published` or `date_modified` that is a number as the Unix time it says
///   (seconds, or milliseconds when that large), any other non-string date left out (the
///   item is then dated as an undated one);
/// - a text field (an id, a URL, a title, a text) that is a number or a boolean as its text,
///   any other kind left out;
/// - an author given as a name alone (`"author": "Jane"`) as that name, an author list as its
///   authors, `tags` as their strings, `attachments` as those with a URL and a type; anything
///   else in their place left out;
/// - an item that is no object left out;
/// - a version that names JSON Feed 1 in another spelling (`"1.0"`, `"1.1"`,
///   `http://jsonfeed.org/version/1`, a trailing slash) as the URL feed-rs knows.
///
/// - a member given twice in one object as its last value, as other readers take it;
/// - a number beyond what a JSON reader holds (`1e400`, an integer past 64 bits) as its
///   literal text ([`big_numbers_quoted`]).
///
/// Run only on a document feed-rs refused: the result is written out again even when no
/// field changed, as the re-read alone mends a repeated member. `None` when the body is no
/// JSON object.
pub(super) fn json_items_repaired(bytes: &[u8]) -> Option<Vec<u8>> {
    use serde_json::{Map, Value};
    let quoted = big_numbers_quoted(bytes);
    let mut doc: Value = serde_json::from_slice(quoted.as_deref().unwrap_or(bytes)).ok()?;
    /// A string where feed-rs wants one: a number or a boolean as its text, null as absent.
    fn text(v: &Value) -> Option<Value> {
        match v {
            Value::String(_) | Value::Null => Some(v.clone()),
            Value::Number(n) => Some(Value::String(n.to_string())),
            Value::Bool(b) => Some(Value::String(b.to_string())),
            _ => None,
        }
    }
    /// An author object (`name`, `url` strings), from a name alone too.
    fn author(v: &Value) -> Option<Value> {
        match v {
            Value::String(name) => Some(serde_json::json!({ "name": name })),
            Value::Object(o) => {
                let mut a = Map::new();
                for key in ["name", "url", "avatar"] {
                    if let Some(t) = o.get(key).and_then(text) {
                        a.insert(key.into(), t);
                    }
                }
                Some(Value::Object(a))
            }
            _ => None,
        }
    }
    /// `obj[key]` made what `fix` makes of it (removed when nothing); true when it changed.
    fn mend(
        obj: &mut Map<String, Value>,
        key: &str,
        fix: impl Fn(&Value) -> Option<Value>,
    ) -> bool {
        let Some(v) = obj.get(key) else {
            return false;
        };
        match fix(v) {
            Some(fixed) if fixed == *v => false,
            Some(fixed) => {
                obj.insert(key.into(), fixed);
                true
            }
            None => {
                obj.remove(key);
                true
            }
        }
    }
    let authors = |v: &Value| match v {
        Value::Array(list) => Some(Value::Array(list.iter().filter_map(author).collect())),
        Value::String(_) | Value::Object(_) => author(v).map(|a| Value::Array(vec![a])),
        _ => None,
    };
    let feed = doc.as_object_mut()?;
    for key in [
        "title",
        "home_page_url",
        "feed_url",
        "language",
        "description",
        "icon",
        "favicon",
    ] {
        mend(feed, key, text);
    }
    if !feed.get("title").is_some_and(Value::is_string) {
        // the one text feed-rs cannot do without
        feed.insert("title".into(), Value::String(String::new()));
    }
    mend(feed, "author", author);
    mend(feed, "authors", authors);
    // A version feed-rs does not know but that names JSON Feed 1 all the same: a bare number
    // ("1.0", "1.1") or the URL over http or with a trailing slash.
    if let Some(v) = feed.get("version").and_then(Value::as_str) {
        let spelt = v.trim().trim_end_matches('/');
        let spelt = spelt
            .strip_prefix("https://")
            .or_else(|| spelt.strip_prefix("http://"))
            .unwrap_or(spelt);
        let known = match spelt {
            "1" | "1.0" | "jsonfeed.org/version/1" => Some("https://jsonfeed.org/version/1"),
            "1.1" | "jsonfeed.org/version/1.1" => Some("https://jsonfeed.org/version/1.1"),
            _ => None,
        };
        if let Some(known) = known.filter(|k| k != &v) {
            feed.insert("version".into(), Value::String(known.into()));
        }
    }
    let items = feed.get_mut("items")?.as_array_mut()?;
    items.retain(Value::is_object);
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        for key in ["date_published", "date_modified"] {
            let Some(date) = item.get(key).filter(|d| !d.is_string() && !d.is_null()) else {
                continue;
            };
            let unix = date.as_f64().and_then(|n| {
                let ms = if n.abs() >= 1e11 { n } else { n * 1000.0 };
                chrono::DateTime::from_timestamp_millis(ms as i64)
            });
            match unix {
                Some(t) => {
                    item.insert(key.into(), Value::String(t.to_rfc3339()));
                }
                None => {
                    item.remove(key);
                }
            }
        }
        for key in [
            "id",
            "url",
            "external_url",
            "title",
            "content_html",
            "content_text",
            "summary",
            "language",
            "image",
            "banner_image",
        ] {
            mend(item, key, text);
        }
        mend(item, "author", author);
        mend(item, "authors", authors);
        mend(item, "tags", |v| match v {
            Value::Array(list) => Some(Value::Array(
                list.iter()
                    .filter_map(|t| text(t).filter(|t| !t.is_null()))
                    .collect(),
            )),
            Value::String(_) => Some(Value::Array(vec![v.clone()])),
            _ => None,
        });
        mend(item, "attachments", |v| match v {
            Value::Array(list) => Some(Value::Array(
                list.iter()
                    .filter(|a| {
                        a.get("url").is_some_and(Value::is_string)
                            && a.get("mime_type").is_some_and(Value::is_string)
                    })
                    .map(|a| {
                        let mut a = a.clone();
                        if let Some(o) = a.as_object_mut() {
                            mend(o, "title", text);
                            mend(o, "size_in_bytes", |n| n.as_u64().map(Value::from));
                        }
                        a
                    })
                    .collect(),
            )),
            _ => None,
        });
    }
    serde_json::to_vec(&doc).ok()
}

/// JSON text with each number that serde_json cannot hold as it is written (one past
/// `f64`'s range, which it refuses with "number out of range"; an integer past `u64`/`i64`,
/// which it rounds to a float, so that two ids apart in their last digits became one key)
/// written as a string of its literal text. `None` when there is none.
pub(super) fn big_numbers_quoted(json: &[u8]) -> Option<Vec<u8>> {
    let mut big = Vec::new();
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            // a string: to its closing quote, past escapes
            b'"' => {
                i += 1;
                while let Some(&b) = json.get(i) {
                    i += if b == b'\\' { 2 } else { 1 };
                    if b == b'"' {
                        break;
                    }
                }
            }
            b'-' | b'0'..=b'9' => {
                let len = json[i..]
                    .iter()
                    .position(|b| !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .unwrap_or(json.len() - i);
                let number = std::str::from_utf8(&json[i..i + len]).unwrap_or("");
                let held = if number.contains(['.', 'e', 'E']) {
                    number.parse::<f64>().is_ok_and(f64::is_finite)
                } else {
                    number.parse::<u64>().is_ok() || number.parse::<i64>().is_ok()
                };
                if !held && !number.is_empty() {
                    big.push((i, i + len));
                }
                i += len.max(1);
            }
            _ => i += 1,
        }
    }
    if big.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(json.len() + 2 * big.len());
    let mut from = 0;
    for (start, end) in big {
        out.extend_from_slice(&json[from..start]);
        out.push(b'"');
        out.extend_from_slice(&json[start..end]);
        out.push(b'"');
        from = end;
    }
    out.extend_from_slice(&json[from..]);
    Some(out)
}

/// JSON text with each unpaired surrogate escape (`\ud83d` with no low surrogate after it,
/// from JavaScript that cut a string inside an emoji; a low one alone) written `\ufffd`:
/// serde_json refuses the whole feed for one. `None` when there is none.
pub(super) fn json_surrogates_repaired(json: &[u8]) -> Option<Vec<u8>> {
    let unit = |at: usize| {
        let hex = json.get(at..at + 4)?;
        hex.iter()
            .all(u8::is_ascii_hexdigit)
            .then(|| std::str::from_utf8(hex).ok())
            .flatten()
            .and_then(|h| u16::from_str_radix(h, 16).ok())
    };
    let mut unpaired = Vec::new();
    let mut i = 0;
    // Every `\` in JSON starts an escape, in a string: read one escape after another.
    while let Some(off) = json.get(i..).and_then(|rest| memchr::memchr(b'\\', rest)) {
        let at = i + off;
        i = at + 2;
        if json.get(at + 1) != Some(&b'u') {
            continue;
        }
        match unit(at + 2) {
            Some(0xD800..=0xDBFF) => {
                let low = (json.get(at + 6..at + 8) == Some(b"\\u"))
                    .then(|| unit(at + 8))
                    .flatten();
                if matches!(low, Some(0xDC00..=0xDFFF)) {
                    i = at + 12;
                } else {
                    unpaired.push(at);
                    i = at + 6;
                }
            }
            Some(0xDC00..=0xDFFF) => {
                unpaired.push(at);
                i = at + 6;
            }
            _ => i = at + 6,
        }
    }
    if unpaired.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(json.len());
    let mut from = 0;
    for at in unpaired {
        out.extend_from_slice(&json[from..at]);
        out.extend_from_slice(b"\\ufffd");
        from = at + 6;
    }
    out.extend_from_slice(&json[from..]);
    Some(out)
}
