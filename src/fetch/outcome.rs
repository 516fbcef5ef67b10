//! What a fetch brings back ([`FetchOutcome`]), and the response headers it is read from:
//! validators, freshness (`Cache-Control: max-age`, `Expires`) and `Retry-After`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use url::Url;

/// Validators of a response, sent back on the next poll. For `file://` sources the ETag is
/// made from the file's size and modification time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag` header.
    pub etag: Option<String>,
    /// `Last-Modified` header.
    pub last_modified: Option<String>,
}

/// The body of a successful fetch, or the news that nothing changed.
#[derive(Debug)]
pub enum Content {
    /// 304 (or an unchanged file): nothing changed since the validators were issued.
    NotModified,
    /// A body to parse.
    Body {
        /// The decoded body (transfer compression removed), at most `max_body_bytes`.
        bytes: Vec<u8>,
        /// The `Content-Type` header, for its charset.
        content_type: Option<String>,
        /// The HTTP status it came with (a 2xx), for a message about the body (a `204 No
        /// Content` is an empty body by definition); `None` for a file.
        status: Option<u16>,
    },
}

/// What one successful fetch brought back.
#[derive(Debug)]
pub struct FetchOutcome {
    /// The body, or not modified.
    pub content: Content,
    /// Validators to store for the next poll. On a 304, those it carries (usually none:
    /// the stored ones stay; a new one replaces its stored one, RFC 9111 4.3.4).
    pub validators: Validators,
    /// The URL after redirects (base for relative links).
    pub final_url: Url,
    /// Where the request ended up through permanent redirects (301/308) only, if it was
    /// redirected permanently at least once.
    pub moved_to: Option<Url>,
    /// How long the server says the response stays fresh (`max-age`, else `Expires`).
    pub fresh_for: Option<Duration>,
    /// The server's clock less ours when the response came, in seconds (see `clock_offset`);
    /// `None` without a `Date` (and for files).
    pub clock_offset: Option<i64>,
}

/// What the response's `Date` says of our clock at `now`: the server's time less ours, in
/// seconds, with `Age` added (a cache's copy keeps the `Date` its server gave it).
pub fn clock_offset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<i64> {
    let date = http_date(header_str(headers, header::DATE)?)?;
    let age = header_str(headers, header::AGE)
        .and_then(|a| a.parse::<i64>().ok())
        .unwrap_or(0)
        .clamp(0, 86_400 * 365);
    Some((date - now).num_seconds().saturating_add(age))
}

/// The server's clock when it sent the response (`Date`), else ours.
fn server_now(headers: &HeaderMap) -> DateTime<Utc> {
    header_str(headers, header::DATE)
        .and_then(http_date)
        .unwrap_or_else(Utc::now)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// An HTTP date (IMF-fixdate, RFC 850 or asctime).
fn http_date(raw: &str) -> Option<DateTime<Utc>> {
    httpdate::parse_http_date(raw)
        .ok()
        .map(DateTime::<Utc>::from)
}

/// `Retry-After` as seconds or an HTTP date (measured against the response's `Date`, so a
/// skewed clock on either side does not matter).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = header_str(headers, header::RETRY_AFTER)?;
    if let Some(secs) = delta_seconds(raw) {
        return Some(Duration::from_secs(secs));
    }
    let when = http_date(raw)?;
    Some(
        (when - server_now(headers))
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// A number of seconds as HTTP writes it (digits only); one too large to hold is taken as
/// the largest (RFC 9111 1.2.2: 2^31 at least; the schedule's bounds cap it anyway).
fn delta_seconds(v: &str) -> Option<u64> {
    match v.parse::<u64>() {
        Err(_) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            Some(u64::from(u32::MAX))
        }
        parsed => parsed.ok(),
    }
}

/// Freshness lifetime: `Cache-Control: max-age` (ignored with `no-cache`/`no-store`), else
/// `Expires` minus `Date`.
pub fn fresh_for(headers: &HeaderMap) -> Option<Duration> {
    if let Some(cc) = header_str(headers, header::CACHE_CONTROL) {
        let mut max_age = None;
        for directive in cc.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            if directive == "no-cache" || directive == "no-store" {
                return None;
            }
            if let Some(v) = directive.strip_prefix("max-age=") {
                max_age = delta_seconds(v.trim_matches('"'));
            }
        }
        if let Some(secs) = max_age {
            return Some(Duration::from_secs(secs));
        }
    }
    let expires = http_date(header_str(headers, header::EXPIRES)?)?;
    (expires - server_now(headers)).to_std().ok()
}

/// The `charset` parameter of a `Content-Type` value.
pub fn charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']))
            .filter(|v| !v.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_servers_clock_is_its_date_plus_the_age_of_a_cached_copy() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let h = headers(&[(header::DATE, "Thu, 22 Oct 2015 07:28:30 GMT")]);
        assert_eq!(clock_offset(&h, now), Some(86_430));
        let h = headers(&[
            (header::DATE, "Wed, 21 Oct 2015 07:20:00 GMT"),
            (header::AGE, "480"),
        ]);
        assert_eq!(clock_offset(&h, now), Some(0));
        assert_eq!(clock_offset(&headers(&[(header::DATE, "soon")]), now), None);
        assert_eq!(clock_offset(&HeaderMap::new(), now), None);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let h = headers(&[(header::RETRY_AFTER, "120")]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        // A date is measured against the server's Date header.
        let h = headers(&[
            (header::DATE, "Wed, 21 Oct 2015 07:28:00 GMT"),
            (header::RETRY_AFTER, "Wed, 21 Oct 2015 07:38:00 GMT"),
        ]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(600)));
        // In the past: retry now.
        let h = headers(&[
            (header::DATE, "Wed, 21 Oct 2015 07:28:00 GMT"),
            (header::RETRY_AFTER, "Wed, 21 Oct 2015 07:00:00 GMT"),
        ]);
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        let h = headers(&[(header::RETRY_AFTER, "soon")]);
        assert_eq!(retry_after(&h), None);
        // Too many seconds to hold is the longest pause, not none.
        let h = headers(&[(header::RETRY_AFTER, "99999999999999999999")]);
        assert_eq!(
            retry_after(&h),
            Some(Duration::from_secs(u64::from(u32::MAX)))
        );
    }

    #[test]
    fn freshness_from_max_age_or_expires() {
        let h = headers(&[(header::CACHE_CONTROL, "public, max-age=1800")]);
        assert_eq!(fresh_for(&h), Some(Duration::from_secs(1800)));
        let h = headers(&[(header::CACHE_CONTROL, "max-age=99999999999999999999")]);
        assert_eq!(
            fresh_for(&h),
            Some(Duration::from_secs(u64::from(u32::MAX)))
        );
        let h = headers(&[(header::CACHE_CONTROL, "max-age=-5")]);
        assert_eq!(fresh_for(&h), None);
        let h = headers(&[(header::CACHE_CONTROL, "no-cache, max-age=1800")]);
        assert_eq!(fresh_for(&h), None);
        let h = headers(&[
            (header::DATE, "Wed, 21 Oct 2015 07:28:00 GMT"),
            (header::EXPIRES, "Wed, 21 Oct 2015 08:28:00 GMT"),
        ]);
        assert_eq!(fresh_for(&h), Some(Duration::from_secs(3600)));
        let h = headers(&[(header::EXPIRES, "0")]);
        assert_eq!(fresh_for(&h), None);
    }

    #[test]
    fn charset_parameter() {
        assert_eq!(
            charset("application/rss+xml; charset=windows-1251"),
            Some("windows-1251")
        );
        assert_eq!(charset("text/xml;Charset=\"KOI8-R\""), Some("KOI8-R"));
        assert_eq!(charset("text/xml"), None);
        assert_eq!(charset("text/xml; charset="), None);
    }
}
