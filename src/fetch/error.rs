//! [`FetchError`]: why a request failed, with a stable class name per variant.
//!
//! reqwest reports most transport problems as one opaque error with a chain of causes; the
//! class is read from that chain (our own guard errors are found by downcasting, the rest by
//! the flags reqwest sets and, last, by the words hyper and the resolver use).

use std::time::Duration;

use super::guard::BlockedAddress;

/// Why a fetch failed. Each variant has a stable class name for status and metrics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The host name did not resolve.
    #[error("DNS lookup failed: {0}")]
    Dns(String),
    /// TCP connection refused, reset or unreachable.
    #[error("connection failed: {0}")]
    Connect(String),
    /// TLS handshake or certificate problem.
    #[error("TLS failed: {0}")]
    Tls(String),
    /// The request took longer than the configured timeout.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The server answered, but its body did not arrive within the configured timeout: the
    /// same class as [`FetchError::Timeout`], but no sign that the network is down.
    #[error("timed out: {0}")]
    BodyTimeout(String),
    /// The body arrived too slowly (a trickle): fewer than the configured bytes per window.
    #[error("the transfer stalled: {got} bytes in {window:?} (at least {min} needed)")]
    Stalled {
        /// Bytes received in the last window.
        got: u64,
        /// The stall window.
        window: Duration,
        /// Bytes required per window.
        min: u64,
    },
    /// The decoded body exceeded `max_body_bytes`; reading stopped at the cap.
    #[error("body larger than {limit} bytes (cut at the cap)")]
    TooLarge {
        /// The configured cap.
        limit: u64,
    },
    /// The response announced a `Content-Length` over `max_body_bytes`: nothing was read.
    #[error("Content-Length announces {announced} bytes, over the {limit} bytes allowed (fetch.max_body_bytes); not read")]
    AnnouncedTooLarge {
        /// The length announced.
        announced: u64,
        /// The configured cap.
        limit: u64,
    },
    /// The server answered with an error status.
    #[error("HTTP status {status}{}{}", status_words(*.status, *.retry_after), redirected_words(*.redirected, .host.as_deref()))]
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After`, when the server sent one (429 and 503 only).
        retry_after: Option<Duration>,
        /// The host (`host:port`) that answered: another than the source's after a
        /// temporary redirect. Its pause (`Retry-After`) is that host's.
        host: Option<String>,
        /// The answer came through a temporary redirect (302, 303, 307): it is the
        /// redirect target's, not the feed URL's (a 410 there does not end the source).
        redirected: bool,
    },
    /// A redirect led back to a URL already visited.
    #[error("redirect loop: {0}")]
    RedirectLoop(String),
    /// More redirects than `fetch.max_redirects`: the limit, and the chain followed (URLs as
    /// logs show them), as a loop names its own.
    #[error("more than {0} redirects: {1}")]
    TooManyRedirects(usize, String),
    /// A redirect without a usable `Location` (missing, unparsable, or not http/https).
    #[error("bad redirect: {0}")]
    Redirect(String),
    /// A redirect or DNS answer pointed at a loopback, private, link-local or metadata address.
    #[error("refused: {0}")]
    Blocked(String),
    /// The body broke off (connection reset, truncated chunked encoding, bad compression).
    #[error("reading the body failed: {0}")]
    Body(String),
    /// The server broke the exchange before its answer: the connection reset or closed
    /// after the request was sent, a reply that is not HTTP, or a response head HTTP does not
    /// allow (two different `Content-Length`s, a negative one, a NUL in a header). A server's fault, not the
    /// network's: something answered.
    #[error("the server broke the exchange: {0}")]
    Protocol(String),
    /// A `file://` source could not be read.
    #[error("cannot read file: {0}")]
    File(String),
    /// Anything else the client reported.
    #[error("request failed: {0}")]
    Other(String),
}

/// A failed fetch, and how far its chain of requests got: which request failed, and whether
/// a server answered any of them. A poll redirected to a dead host failed *after* its own
/// host answered: the network works (no evidence that it is down), and the host whose limits
/// bind the source's next polls is the one the chain reached, whatever the failure there.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct FetchFailure {
    /// Why it failed.
    pub error: FetchError,
    /// The URL of the request that failed, or whose answer did: the last of the chain (the
    /// poll's first when nothing redirected it).
    pub at: url::Url,
    /// A server answered at least one request of the chain, a redirect included.
    pub answered: bool,
}

impl FetchFailure {
    /// `error`, for a fetch that failed at `at` with nothing answered before.
    pub fn at(error: FetchError, at: &url::Url) -> Self {
        Self {
            error,
            at: at.clone(),
            answered: false,
        }
    }
}

/// A status as an operator reads it: the code and its reason phrase (`204 No Content`), or
/// the code alone when it has no standard one (`599`).
pub fn status_text(status: u16) -> String {
    format!("{status}{}", status_words(status, None))
}

/// After a status code: its reason phrase (`404 Not Found`), and the pause a server asked for
/// (`Retry-After`).
fn status_words(status: u16, retry_after: Option<Duration>) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default();
    match retry_after {
        Some(d) => format!(
            "{reason} (Retry-After: {})",
            humantime::format_duration(Duration::from_secs(d.as_secs()))
        ),
        None => reason,
    }
}

fn redirected_words(redirected: bool, host: Option<&str>) -> String {
    match (redirected, host) {
        (false, _) => String::new(),
        (true, Some(h)) => format!(" from {h}, after a temporary redirect"),
        (true, None) => " after a temporary redirect".into(),
    }
}

impl FetchError {
    /// True for a status answered by the feed URL itself, or through permanent moves
    /// only: not the target of a temporary redirect.
    pub fn from_feed_url(&self) -> bool {
        !matches!(
            self,
            FetchError::Status {
                redirected: true,
                ..
            }
        )
    }

    /// The error class recorded on the source and counted by class.
    pub fn class(&self) -> &'static str {
        match self {
            FetchError::Dns(_) => "dns",
            FetchError::Connect(_) => "connect",
            FetchError::Tls(_) => "tls",
            FetchError::Timeout(_) | FetchError::BodyTimeout(_) => "timeout",
            FetchError::Stalled { .. } => "stalled",
            FetchError::TooLarge { .. } | FetchError::AnnouncedTooLarge { .. } => "too_large",
            FetchError::Status { .. } => "http_status",
            FetchError::RedirectLoop(_) => "redirect_loop",
            FetchError::TooManyRedirects(..) => "too_many_redirects",
            FetchError::Redirect(_) => "redirect",
            FetchError::Blocked(_) => "blocked_address",
            FetchError::Body(_) => "body",
            FetchError::Protocol(_) => "protocol",
            FetchError::File(_) => "file",
            FetchError::Other(_) => "other",
        }
    }

    /// The host that answered a [`FetchError::Status`] (`host:port`).
    pub fn answered_by(&self) -> Option<&str> {
        match self {
            FetchError::Status { host, .. } => host.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status of a [`FetchError::Status`].
    pub fn http_status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for errors that say "this machine cannot reach the network" as much as "this
    /// server is down": used to notice that every source fails at once. A server that
    /// answered and then sent its body too slowly says the network works.
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            FetchError::Dns(_) | FetchError::Connect(_) | FetchError::Timeout(_)
        )
    }

    /// Classifies an error reqwest returned while sending a request or reading headers.
    pub(super) fn from_reqwest(e: &reqwest::Error) -> Self {
        let mut chain = error_chain(e);
        // reqwest names the URL ("error sending request for url (…)") without its password
        // but with its query: shown as everywhere else, without credentials.
        if let Some(url) = e.url() {
            let shown = crate::config::shown_url(url.as_str());
            if shown != url.as_str() {
                chain = chain.replace(url.as_str(), &shown);
            }
        }
        if let Some(blocked) = find_cause::<BlockedAddress>(e) {
            return FetchError::Blocked(blocked.to_string());
        }
        let lower = chain.to_ascii_lowercase();
        if e.is_timeout() {
            FetchError::Timeout(chain)
        } else if lower.contains("dns error")
            || lower.contains("failed to lookup address")
            || lower.contains("name or service not known")
            || lower.contains("no address associated")
        {
            FetchError::Dns(chain)
        } else if find_cause::<rustls::Error>(e).is_some()
            || lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
        {
            FetchError::Tls(chain)
        } else if e.is_connect() {
            FetchError::Connect(chain)
        } else if e.is_body() || e.is_decode() {
            FetchError::Body(chain)
        } else if find_cause::<hyper::Error>(e)
            .is_some_and(|h| h.is_parse() || h.is_parse_status() || h.is_incomplete_message())
            || lower.contains("connection reset")
            || lower.contains("connection closed before message completed")
            || lower.contains("broken pipe")
            || lower.contains("invalid http version")
            || lower.contains("invalid status")
            || lower.contains("invalid header")
            || lower.contains("message head is too large")
        {
            FetchError::Protocol(chain)
        } else {
            FetchError::Other(chain)
        }
    }

    /// Classifies an error reqwest returned while the body streamed in, `got` bytes of
    /// it read, of the `announced` `Content-Length` when there was one. The client has no
    /// timer of its own that could end a body (`fetch.timeout` is the fetcher's deadline),
    /// and no gzip decoder (gzip is read by [`super::body`]).
    pub(super) fn from_body(e: &reqwest::Error, got: u64, announced: Option<u64>) -> Self {
        let chain = error_chain(e);
        match announced {
            // hyper: "end of file before message length reached"
            Some(n) if find_cause::<hyper::Error>(e).is_some_and(hyper::Error::is_incomplete_message)
                || chain.contains("before message length reached") =>
            {
                FetchError::Body(format!(
                    "the connection closed after {got} of the {n} bytes Content-Length announced ({chain})"
                ))
            }
            _ => FetchError::Body(chain),
        }
    }
}

/// Did the connection close before any answer came (hyper's "connection closed before
/// message completed")? The mark of a kept-alive connection the server had just closed.
pub(super) fn closed_before_answer(e: &reqwest::Error) -> bool {
    find_cause::<hyper::Error>(e).is_some_and(hyper::Error::is_incomplete_message)
}

/// The first error of type `T` in `e`'s chain of causes.
fn find_cause<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        // An `io::Error`'s `source()` skips the error it wraps (rustls' travels inside two,
        // nested: a plain-HTTP answer to a TLS hello names neither TLS nor a certificate),
        // so each wrapper is opened too.
        let mut wrapped = err;
        loop {
            if let Some(found) = wrapped.downcast_ref::<T>() {
                return Some(found);
            }
            match wrapped
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
            {
                Some(inner) => wrapped = inner,
                None => break,
            }
        }
        cur = err.source();
    }
    None
}

/// `e` and its causes, joined with `: `, without repeating a message already included.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let msg = inner.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_error_says_what_the_code_means_and_the_pause_asked_for() {
        let status = |status, retry_after| FetchError::Status {
            status,
            retry_after,
            host: None,
            redirected: false,
        };
        assert_eq!(status(404, None).to_string(), "HTTP status 404 Not Found");
        assert_eq!(
            status(429, Some(Duration::from_millis(120_400))).to_string(),
            "HTTP status 429 Too Many Requests (Retry-After: 2m)"
        );
        assert_eq!(status(599, None).to_string(), "HTTP status 599");
        let moved = FetchError::Status {
            status: 410,
            retry_after: None,
            host: Some("b.example:80".into()),
            redirected: true,
        };
        assert_eq!(
            moved.to_string(),
            "HTTP status 410 Gone from b.example:80, after a temporary redirect"
        );
    }
}
