//! URL canonicalization: one canonical form per article across tracking links, AMP
//! variants and cosmetic differences.
//!
//! Rules: http/https only; scheme and host lowercased and the default port dropped (the
//! `url` crate does that); fragment dropped, but for a route (`#!/…`, `#/…`); tracking
//! parameters dropped; remaining query
//! parameters sorted by key (stable, original encoding kept; a cache-buster `_=TIMESTAMP`
//! dropped too); empty query removed; AMP
//! variants folded (`amp.` host prefix, `/amp` path segments, `.amp.html`, `?amp`,
//! `amp=1`, `outputType=amp`). `www.` and `index.html` are kept as they are. A Unix time
//! under another name than `_` (`t=`, `ts=`, `cb=`) is kept: dropping it (tried in session
//! 51) gave two episodes of a replay page told apart by `?t=` one URL, and without GUIDs one
//! key, so the second overwrote the first's text.

use url::Url;

/// Exact tracking parameter names (compared ASCII-case-insensitively).
const TRACKING: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "igsh",
    "_ga",
    "_gl",
    "yclid",
    "twclid",
    "ttclid",
    "li_fat_id",
    "ref_src",
    "ref_url",
    "cmpid",
    "ocid",
    "ncid",
    "sr_share",
    "_hsenc",
    "_hsmi",
    "__hstc",
    "__hssc",
    "__hsfp",
    "hsctatracking",
    "mkt_tok",
    "vero_id",
    "vero_conv",
    "wt.mc_id",
    "wt_mc",
    "wt_zmc",
    "s_cid",
    "s_kwcid",
    "ef_id",
    "icid",
    "int_cmp",
    "cmp",
    "smid",
    "smtyp",
    "emc",
    "guccounter",
    "guce_referrer",
    "guce_referrer_sig",
    "soc_src",
    "soc_trk",
    "spm",
    "taid",
    "xtor",
    "trk",
    "trkcampaign",
    "oly_anon_id",
    "oly_enc_id",
    "rb_clickid",
    "wickedid",
    "__twitter_impression",
    "__tn__",
    // The Daily Mail's feed links carry `ito=1490` beside `ns_mchannel`/`ns_campaign`.
    "ito",
    // session ids: another one on every request
    "jsessionid",
    "phpsessid",
];

/// Tracking parameter prefixes.
const TRACKING_PREFIX: &[&str] = &["utm_", "at_", "ns_", "sc_", "pk_", "mtm_", "hmb_", "itm_"];

/// Is the (raw, still percent-encoded) query key a tracking or AMP parameter?
fn is_tracking(key: &str, value: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if k == "outputtype" {
        return value.eq_ignore_ascii_case("amp");
    }
    if k == "amp" {
        return value.is_empty() || value == "1" || value.eq_ignore_ascii_case("true");
    }
    if k == "_" {
        // A cache-buster (jQuery's `_=1733390000000`): a timestamp that changes every
        // request, and would make every poll's link another article's.
        return value.len() >= 9 && value.bytes().all(|b| b.is_ascii_digit());
    }
    if matches!(
        k.as_str(),
        "from" | "feature" | "partner" | "source" | "ref"
    ) {
        // Ambiguous keys: only their well-known tracking values (Medium's
        // `source=rss----d12c403d4976--food` and `source=rss-<author>` too: the same story
        // linked from two of its feeds had two URLs).
        let v = value.to_ascii_lowercase();
        if k == "source" && (v.starts_with("rss-") || v.starts_with("rss_")) {
            return true;
        }
        return matches!(
            v.as_str(),
            "rss" | "rss_feed" | "rssfeed" | "feed" | "share" | "social" | "twitter" | "facebook"
        );
    }
    if matches!(k.as_str(), "sc_lang" | "sc_site" | "sc_device") {
        // Sitecore's selectors of the language, site and layout a page is served in:
        // `?sc_lang=de` is another text than `?sc_lang=en`, not a campaign's tag like
        // Adobe's `sc_cid`.
        return false;
    }
    TRACKING.contains(&k.as_str()) || TRACKING_PREFIX.iter().any(|p| k.starts_with(p))
}

/// Canonical form of an article URL; `base` resolves relative references. `None` for
/// unparsable or non-http(s) URLs.
pub fn canonical_url(input: &str, base: Option<&Url>) -> Option<String> {
    let s = input.trim();
    if s.is_empty() || s.len() > 8192 {
        return None;
    }
    let mut url = match Url::parse(s) {
        Ok(u) => u,
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(s).ok()?,
        Err(_) => return None,
    };
    if url.scheme() != "http" && url.scheme() != "https" {
        return None;
    }
    url.host_str()?;
    // A route after `#!` (the hashbang) or `#/` addresses another page of a site built as
    // one script: without it every article of such a site had the site's front page as its
    // URL. Any other fragment is a place in the page.
    let route = url
        .fragment()
        .is_some_and(|f| f.len() > 1 && (f.starts_with('!') || f.starts_with('/')));
    if !route {
        url.set_fragment(None);
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);

    // A fully qualified name's root dot: `news.example.` is `news.example`.
    if let Some(host) = url.host_str() {
        if let Some(bare) = host
            .strip_suffix('.')
            .filter(|h| h.contains(|c: char| c.is_ascii_alphabetic()))
        {
            let bare = bare.to_string();
            let _ = url.set_host(Some(&bare));
        }
    }

    // AMP host prefix: amp.theguardian.com -> theguardian.com.
    if let Some(host) = url.host_str() {
        if let Some(rest) = host.strip_prefix("amp.") {
            if rest.contains('.') {
                let rest = rest.to_string();
                let _ = url.set_host(Some(&rest));
            }
        }
    }

    // AMP path variants, a session id in the path (`/a/1;jsessionid=…`), escapes in one case.
    let path = url.path().to_string();
    let new_path = without_session_id(&same_escapes(&fold_amp_path(&path)));
    if new_path != path {
        url.set_path(&new_path);
    }

    // Query: drop tracking params, sort the rest by key (stable), keep their encoding.
    if let Some(q) = url.query() {
        let cleaned = clean_query(q);
        url.set_query(cleaned.as_deref());
    }
    // A route's own query the same way (`#!/article?id=7&utm_source=rss`): kept whole, it
    // made each poll's tracking tag or cache-buster another article's key.
    if route {
        let fragment = url.fragment().unwrap_or_default().to_owned();
        if let Some((path, q)) = fragment.split_once('?') {
            match clean_query(q) {
                Some(q) => url.set_fragment(Some(&format!("{path}?{q}"))),
                // `#!` or `#/` alone is no route, as above
                None if path.len() <= 1 => url.set_fragment(None),
                None => url.set_fragment(Some(path)),
            }
        }
    }
    Some(url.to_string())
}

/// A query without its tracking parameters, the rest sorted by key (stable) in their own
/// encoding; `None` when nothing is left.
fn clean_query(q: &str) -> Option<String> {
    let q = same_escapes(q);
    let q = q.as_str();
    let mut pairs: Vec<(&str, &str)> = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        // `?a=1&amp;b=2` escaped once too often by the feed: the separator is `&`
        .map(|(k, v)| (k.strip_prefix("amp;").unwrap_or(k), v))
        .filter(|(k, v)| !k.is_empty() && !is_tracking(k, v))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let joined: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            if v.is_empty() && !q.contains(&format!("{k}=")) {
                (*k).to_string()
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    Some(joined.join("&"))
}

/// `path` without a `;jsessionid=…` path parameter (Java servlets' session id, another on
/// every request), in any letter case.
fn without_session_id(path: &str) -> String {
    let mut out = path.to_string();
    // each one, to the next parameter, segment or the path's end
    while let Some(at) = out.to_ascii_lowercase().find(";jsessionid=") {
        let end = out[at + 1..]
            .find([';', '/'])
            .map_or(out.len(), |e| at + 1 + e);
        out.replace_range(at..end, "");
        // a `;` that only ended it goes too
        if &out[at..] == ";" {
            out.pop();
        }
    }
    out
}

/// Percent-escapes written one way (RFC 3986, 6.2.2): hex digits in upper case (`%c3%a9` is
/// `%C3%A9`), and escaped letters, digits, `-`, `_` and `~` as themselves (`%41` is `A`).
/// An escaped `.` stays escaped: unescaped, it could make a `..` path step.
fn same_escapes(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let byte = u8::try_from(h * 16 + l).unwrap_or(0);
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'~') {
                    out.push(char::from(byte));
                } else {
                    out.push('%');
                    out.push(char::from(b[i + 1].to_ascii_uppercase()));
                    out.push(char::from(b[i + 2].to_ascii_uppercase()));
                }
                i += 3;
                continue;
            }
        }
        let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&s[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// Removes AMP markers from a path: `/amp` segments, `.amp.html` -> `.html`, `.amp` suffix.
fn fold_amp_path(path: &str) -> String {
    let is_amp_seg = |s: &str| s.eq_ignore_ascii_case("amp");
    let has_amp = path.split('/').any(|s| {
        is_amp_seg(s) || s.ends_with(".amp.html") || s.ends_with(".amp.htm") || s.ends_with(".amp")
    });
    if !has_amp {
        return path.to_string();
    }
    let parts: Vec<&str> = path.split('/').filter(|s| !is_amp_seg(s)).collect();
    let mut out = String::with_capacity(path.len());
    for (i, seg) in parts.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        if let Some(stem) = seg.strip_suffix(".amp.html") {
            out.push_str(stem);
            out.push_str(".html");
        } else if let Some(stem) = seg.strip_suffix(".amp.htm") {
            out.push_str(stem);
            out.push_str(".htm");
        } else if let Some(stem) = seg.strip_suffix(".amp") {
            out.push_str(stem);
        } else {
            out.push_str(seg);
        }
    }
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Option<String> {
        canonical_url(s, None)
    }

    #[test]
    fn over_escaped_query_separator() {
        // a feed that escaped `&` twice: the link arrives as `?a=1&amp;ref=rss&b=2`
        assert_eq!(
            c("https://news.example/article.cfm?c_id=2&amp;ref=rss&amp;objectid=7").as_deref(),
            Some("https://news.example/article.cfm?c_id=2&objectid=7")
        );
    }

    #[test]
    fn scheme_host_port_fragment() {
        assert_eq!(
            c("HTTPS://Example.COM:443/a/B#frag").as_deref(),
            Some("https://example.com/a/B")
        );
        assert_eq!(
            c("http://example.com:80/x").as_deref(),
            Some("http://example.com/x")
        );
        assert_eq!(
            c("http://example.com:8080/x").as_deref(),
            Some("http://example.com:8080/x")
        );
        // a route of a one-script site is its page: kept
        for route in [
            "https://example.com/#!/news/12",
            "https://example.com/app#/story/7",
        ] {
            assert_eq!(c(route).as_deref(), Some(route));
        }
        // its own query cleaned as a page's is: the same article on every poll
        for tagged in [
            "https://spa.example/#!/article?id=7&utm_source=rss&utm_campaign=mon",
            "https://spa.example/#!/article?utm_campaign=tue&id=7&_=1733390000000",
        ] {
            assert_eq!(
                c(tagged).as_deref(),
                Some("https://spa.example/#!/article?id=7"),
                "{tagged}"
            );
        }
        assert_eq!(
            c("https://spa.example/#!/news/1?fbclid=x").as_deref(),
            Some("https://spa.example/#!/news/1")
        );
        for bare in [
            "https://ex.com/a#!?utm_source=rss",
            "https://ex.com/a#/?utm_source=rss",
        ] {
            assert_eq!(c(bare).as_deref(), Some("https://ex.com/a"), "{bare}");
        }
        assert_eq!(
            c("https://example.com/a#!").as_deref(),
            Some("https://example.com/a")
        );
        assert_eq!(c("ftp://example.com/x"), None);
        assert_eq!(c("mailto:a@b.c"), None);
        assert_eq!(c("javascript:alert(1)"), None);
        assert_eq!(c("not a url"), None);
        assert_eq!(c(""), None);
        assert_eq!(
            c("https://user:pw@example.com/x").as_deref(),
            Some("https://example.com/x")
        );
    }

    #[test]
    fn relative_resolution() {
        let base = Url::parse("https://news.example.com/feeds/rss.xml").unwrap();
        assert_eq!(
            canonical_url("/story/1?utm_source=rss", Some(&base)).as_deref(),
            Some("https://news.example.com/story/1")
        );
        assert_eq!(
            canonical_url("story/2", Some(&base)).as_deref(),
            Some("https://news.example.com/feeds/story/2")
        );
        assert_eq!(canonical_url("/story/1", None), None);
    }

    #[test]
    fn tracking_params_dropped_rest_sorted() {
        assert_eq!(
            c("https://e.com/a?utm_source=x&utm_medium=y&id=5&fbclid=abc&gclid=1&b=2").as_deref(),
            Some("https://e.com/a?b=2&id=5")
        );
        for p in [
            "dclid",
            "msclkid",
            "mc_cid",
            "mc_eid",
            "igshid",
            "_ga",
            "yclid",
            "ref_src",
            "cmpid",
            "ocid",
            "at_medium",
            "at_campaign",
            "ncid",
            "sr_share",
            "UTM_Campaign",
            "smid",
            "xtor",
            "ito",
        ] {
            assert_eq!(
                c(&format!("https://e.com/a?{p}=1")).as_deref(),
                Some("https://e.com/a"),
                "{p}"
            );
        }
        assert_eq!(
            c("https://www.dailymail.co.uk/news/article-1/X.html?ns_mchannel=rss&ito=1490&ns_campaign=1490").as_deref(),
            Some("https://www.dailymail.co.uk/news/article-1/X.html")
        );
        // A campaign tag with the `sc_` prefix goes; Sitecore's language of the page stays.
        assert_eq!(
            c("https://e.com/a?sc_cid=rss&sc_lang=de").as_deref(),
            Some("https://e.com/a?sc_lang=de")
        );
        assert_eq!(
            c("https://e.com/a?SC_Site=int&sc_device=amp").as_deref(),
            Some("https://e.com/a?SC_Site=int&sc_device=amp")
        );
        // Ambiguous keys are dropped only with tracking values.
        assert_eq!(
            c("https://e.com/a?from=rss").as_deref(),
            Some("https://e.com/a")
        );
        assert_eq!(
            c("https://e.com/a?from=2020").as_deref(),
            Some("https://e.com/a?from=2020")
        );
        // Medium names the feed an item was read from in `source`
        for feed in ["rss----d12c403d4976--food", "rss-jane_doe-abc123"] {
            assert_eq!(
                c(&format!("https://medium.example/p/harbour-1?source={feed}")).as_deref(),
                Some("https://medium.example/p/harbour-1")
            );
        }
        assert_eq!(
            c("https://e.com/a?source=rssi").as_deref(),
            Some("https://e.com/a?source=rssi")
        );
        // A cache-buster's timestamp goes; `_` with another value stays.
        assert_eq!(
            c("https://e.com/a?id=4&_=1733390000123").as_deref(),
            Some("https://e.com/a?id=4")
        );
        assert_eq!(
            c("https://e.com/a?_=1733390000").as_deref(),
            Some("https://e.com/a")
        );
        assert_eq!(
            c("https://e.com/a?_=top").as_deref(),
            Some("https://e.com/a?_=top")
        );
        assert_eq!(
            c("https://e.com/a?_=12").as_deref(),
            Some("https://e.com/a?_=12")
        );
        // Stable sort keeps repeated keys in order; encoding preserved.
        assert_eq!(
            c("https://e.com/s?q=b%20c&a=2&a=1").as_deref(),
            Some("https://e.com/s?a=2&a=1&q=b%20c")
        );
        assert_eq!(c("https://e.com/a?").as_deref(), Some("https://e.com/a"));
        assert_eq!(c("https://e.com/a?&&").as_deref(), Some("https://e.com/a"));
        assert_eq!(
            c("https://e.com/a?flag").as_deref(),
            Some("https://e.com/a?flag")
        );
    }

    #[test]
    fn spellings_of_one_url_are_one_url() {
        let one = Some("https://news.example/a/caf%C3%A9".to_string());
        // escapes in either case, raw non-ASCII, escaped letters
        assert_eq!(c("https://news.example/a/caf%c3%a9"), one);
        assert_eq!(c("https://news.example/a/caf%C3%A9"), one);
        assert_eq!(c("https://news.example/a/café"), one);
        assert_eq!(c("https://news.example/a/%63af%c3%a9"), one);
        // the root dot, a session id in the path or the query
        assert_eq!(c("https://news.example./a/caf%C3%A9"), one);
        assert_eq!(
            c("https://news.example/a/caf%C3%A9;jsessionid=ABC0DEF"),
            one
        );
        assert_eq!(
            c("https://news.example/a/caf%C3%A9;JSESSIONID=ABC1DEF"),
            one
        );
        assert_eq!(c("https://news.example/a/caf%C3%A9?PHPSESSID=77"), one);
        // only the session id: another parameter keeps the page apart
        assert_eq!(
            c("http://n.example/view;jsessionid=A1B2;id=101").as_deref(),
            Some("http://n.example/view;id=101")
        );
        assert_eq!(
            c("http://n.example/a;JSessionId=Q/b;jsessionid=R/c").as_deref(),
            Some("http://n.example/a/b/c")
        );
        // an escaped tracking key is a tracking key
        assert_eq!(c("https://news.example/a/caf%C3%A9?%75tm_source=2"), one);
        assert_eq!(c("https://news.example/a/caf%C3%A9;jsessionid=x;"), one);
        assert_eq!(
            c("https://news.example/a;jsessionid=X1/b?q=%e2%82%ac&r=%2e").as_deref(),
            Some("https://news.example/a/b?q=%E2%82%AC&r=%2E")
        );
        // an escaped slash stays escaped; an IP address keeps its form
        assert_eq!(
            c("https://news.example/a/b%2fc").as_deref(),
            Some("https://news.example/a/b%2Fc")
        );
        assert_eq!(
            c("http://192.0.2.1/x").as_deref(),
            Some("http://192.0.2.1/x")
        );
        assert_eq!(
            c("https://news.example/100%").as_deref(),
            Some("https://news.example/100%")
        );
    }

    #[test]
    fn amp_variants_fold() {
        let plain = Some("https://www.e.com/news/story".to_string());
        assert_eq!(c("https://www.e.com/news/story/amp"), plain);
        assert_eq!(c("https://www.e.com/amp/news/story"), plain);
        assert_eq!(c("https://www.e.com/news/story?amp"), plain);
        assert_eq!(c("https://www.e.com/news/story?amp=1"), plain);
        assert_eq!(c("https://www.e.com/news/story?outputType=amp"), plain);
        assert_eq!(c("https://www.e.com/news/story.amp"), plain);
        assert_eq!(
            c("https://www.e.com/news/story/amp/").as_deref(),
            Some("https://www.e.com/news/story/")
        );
        assert_eq!(
            c("https://e.com/a/story.amp.html").as_deref(),
            Some("https://e.com/a/story.html")
        );
        assert_eq!(
            c("https://amp.theguardian.com/world/2023/apr/17/x").as_deref(),
            Some("https://theguardian.com/world/2023/apr/17/x")
        );
        // Words containing "amp" are untouched.
        assert_eq!(
            c("https://e.com/camp/ample").as_deref(),
            Some("https://e.com/camp/ample")
        );
        assert_eq!(
            c("https://e.com/x?amp=0").as_deref(),
            Some("https://e.com/x?amp=0")
        );
    }

    #[test]
    fn www_and_index_kept() {
        assert_eq!(
            c("https://www.e.com/index.html").as_deref(),
            Some("https://www.e.com/index.html")
        );
        assert_eq!(c("https://e.com").as_deref(), Some("https://e.com/"));
    }
}
