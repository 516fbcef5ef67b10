//! Fetch stage: one polite HTTP (or `file://`) request per poll, returning a [`FetchOutcome`]
//! or a classified [`FetchError`].
//!
//! # Architecture
//! One [`Fetcher`] is built at start and cloned: one `reqwest::Client` (connection pool, user
//! agent, connect timeout, brotli/zstd) behind a guarded DNS resolver
//! ([`guard`]). A fetch:
//! 1. sends the stored validators (`If-None-Match`, `If-Modified-Since`), so an unchanged feed
//!    costs a 304 and no parse;
//! 2. follows redirects itself (reqwest's are switched off): up to `fetch.max_redirects` hops,
//!    a URL seen twice is a `redirect_loop`, a hop from a public address to a private one is
//!    refused, and the URL reached through permanent (301/308) hops only is reported as
//!    [`FetchOutcome::moved_to`] so that the caller can adopt it after several polls. A
//!    redirect policy of reqwest sees one hop at a time and keeps no per-request state, which
//!    is why the loop is here;
//! 3. reads the body through [`body::read_body`]: decoded size capped, trickles cut; the
//!    codings reqwest leaves alone, gzip among them, are undone by
//!    [`body::decode_left_alone`];
//! 4. the whole of it, redirects included, within `fetch.timeout`.
//!
//! Per-host politeness ([`host_limit`]) is applied by the caller around a fetch, so that a poll
//! waits for its host before it takes one of the global slots. The poll's slots
//! ([`PollSlots`]) come into the fetch too: each request of the chain, redirect hops
//! included, waits there for its host's spacing, and that wait is not counted against
//! `fetch.timeout` (the spacing may be minutes, the timeout seconds).

pub mod body;
mod error;
mod file;
pub mod guard;
pub mod host_limit;
mod outcome;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::StatusCode;
use url::Url;

use crate::config::{shown_url, FetchConfig, SourceConfig, SourceHeaders};
use body::BodyLimits;
pub use error::{status_text, FetchError, FetchFailure};
use guard::{Guard, GuardedResolver};
use host_limit::{HostLimiter, PollSlots};
pub use outcome::{charset, Content, FetchOutcome, Validators};

const ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, \
                      application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8";

/// The codings asked for, as reqwest asked for them when it decoded all three. It asks for
/// the ones it decodes only, and gzip is decoded by wirefold ([`body::decode_left_alone`]).
/// Not `deflate`: servers send it raw, without the zlib wrapper HTTP names.
const ACCEPT_ENCODING: &str = "zstd, gzip, br";

/// The shared HTTP client and its limits; cheap to clone.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: BodyLimits,
    timeout: Duration,
    max_redirects: usize,
    guard: Arc<Guard>,
}

/// The fetcher in use: a reload that changes `[fetch]` puts a new one in; each poll takes
/// the one current at its start.
#[derive(Debug)]
pub struct CurrentFetcher(std::sync::RwLock<Fetcher>);

impl CurrentFetcher {
    /// Starts with `fetcher`.
    pub fn new(fetcher: Fetcher) -> Self {
        Self(std::sync::RwLock::new(fetcher))
    }

    /// The fetcher for a poll starting now (a cheap clone).
    pub fn get(&self) -> Fetcher {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the fetcher for the polls that start from now on.
    pub fn set(&self, fetcher: Fetcher) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = fetcher;
    }
}

impl Fetcher {
    /// Builds the client once; clone the `Fetcher` to share it. It goes through the proxy
    /// the environment names (`HTTPS_PROXY` …), as reqwest reads it.
    pub fn new(cfg: &FetchConfig) -> Result<Self, FetchError> {
        Self::build(cfg, HashMap::new(), true)
    }

    /// Like [`Fetcher::new`], with fixed DNS answers for some names (still guarded), and
    /// without the environment's proxy. Tests use it to give a public-looking name a loopback
    /// address, and to reach their loopback servers on a machine set up with a proxy.
    pub fn with_fixed_dns(
        cfg: &FetchConfig,
        fixed: HashMap<String, Vec<IpAddr>>,
    ) -> Result<Self, FetchError> {
        Self::build(cfg, fixed, false)
    }

    fn build(
        cfg: &FetchConfig,
        fixed: HashMap<String, Vec<IpAddr>>,
        env_proxy: bool,
    ) -> Result<Self, FetchError> {
        // reqwest is built without a default crypto provider; install ring's once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut private_hosts: std::collections::HashSet<String> =
            cfg.private_hosts.iter().cloned().collect();
        let proxies = if env_proxy {
            guard::proxy_names(|v| std::env::var(v).ok())
        } else {
            Vec::new()
        };
        for (variable, host) in proxies {
            if private_hosts.insert(host.clone()) {
                tracing::info!(
                    variable,
                    host,
                    "polls go through the proxy the environment names; it may resolve to a private address"
                );
            }
        }
        let guard = Arc::new(Guard {
            refuse_private_redirects: cfg.refuse_private_redirects,
            refuse_private_dns: cfg.refuse_private_dns,
            private_hosts,
        });
        let mut client = reqwest::Client::builder();
        if !env_proxy {
            client = client.no_proxy();
        }
        // No total timeout of the client's own: `fetch.timeout` is the fetcher's deadline
        // around every request and body of the chain. A client timer of the same length fired
        // first about as often, and the poll failed with its bare "operation timed out",
        // without the duration.
        let client = client
            .user_agent(&cfg.user_agent)
            .connect_timeout(cfg.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver::new(guard.clone(), fixed))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| FetchError::Other(error::error_chain(&e)))?;
        Ok(Self {
            client,
            limits: BodyLimits {
                max_bytes: cfg.max_body_bytes,
                stall_window: cfg.stall_timeout,
                stall_min_bytes: cfg.stall_min_bytes,
            },
            timeout: cfg.timeout,
            max_redirects: cfg.max_redirects,
            guard,
        })
    }

    /// Polls `url` once, conditionally on `validators`, no request of it spaced.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        self.fetch_with(url, validators, None, None)
            .await
            .map_err(|f| f.error)
    }

    /// Polls `source` once at `url` (its configured URL, or the one it moved to), with the
    /// source's own headers on every hop that [`sends_own_headers`] allows. With the
    /// poll's `slots`, each request, redirect hops included, first waits for its host's
    /// spacing ([`PollSlots::before_request`]). A failure says how far the chain got
    /// ([`FetchFailure`]): the poll's limits and the network detector need it.
    pub async fn fetch_source(
        &self,
        source: &SourceConfig,
        url: &Url,
        validators: &Validators,
        slots: Option<(&HostLimiter, &mut PollSlots)>,
    ) -> Result<FetchOutcome, FetchFailure> {
        let own = (!source.headers.is_empty()).then_some((&source.url, &source.headers));
        self.fetch_with(url, validators, own, slots).await
    }

    async fn fetch_with(
        &self,
        url: &Url,
        validators: &Validators,
        own: Option<(&Url, &SourceHeaders)>,
        slots: Option<(&HostLimiter, &mut PollSlots)>,
    ) -> Result<FetchOutcome, FetchFailure> {
        if url.scheme() == "file" {
            return file::fetch_file(url, validators, self.limits.max_bytes)
                .await
                .map_err(|e| FetchFailure::at(e, url));
        }
        let mut reached = Reached {
            at: url.clone(),
            answered: false,
        };
        let fetched = self
            .fetch_http(url, validators, own, slots, &mut reached)
            .await;
        fetched.map_err(|error| FetchFailure {
            error,
            at: reached.at,
            answered: reached.answered,
        })
    }

    /// `fetch.timeout` is up, in a request (no answer yet: `answered` false) or in the
    /// body of the answer: that server's slowness, not a sign that the network is down.
    fn timed_out(&self, answered: bool) -> FetchError {
        let timeout = humantime::format_duration(self.timeout);
        if answered {
            FetchError::BodyTimeout(format!(
                "the server answered, but no complete response within {timeout}"
            ))
        } else {
            FetchError::Timeout(format!("no complete response within {timeout}"))
        }
    }

    /// Fetches `url` over HTTP, following redirects; `reached` follows the chain: the
    /// request under way, and whether a server answered one yet.
    async fn fetch_http(
        &self,
        url: &Url,
        validators: &Validators,
        own: Option<(&Url, &SourceHeaders)>,
        mut slots: Option<(&HostLimiter, &mut PollSlots)>,
        reached: &mut Reached,
    ) -> Result<FetchOutcome, FetchError> {
        // The whole of it within `fetch.timeout`, less the waits for the hosts' spacing.
        let mut deadline = tokio::time::Instant::now() + self.timeout;
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static(ACCEPT_ENCODING),
        );
        if let Some(v) = validators.etag.as_deref().and_then(validator_value) {
            headers.insert(header::IF_NONE_MATCH, v);
        }
        if let Some(v) = validators
            .last_modified
            .as_deref()
            .and_then(validator_value)
        {
            headers.insert(header::IF_MODIFIED_SINCE, v);
        }

        let conditional = headers.contains_key(header::IF_NONE_MATCH)
            || headers.contains_key(header::IF_MODIFIED_SINCE);
        let mut visited: Vec<Url> = vec![url.clone()];
        let mut all_permanent = true;
        let mut moved_to = None;
        let resp = loop {
            let current = visited.last().unwrap_or(url).clone();
            reached.at = current.clone();
            if let (Some((limiter, slots)), Some(host)) =
                (slots.as_mut(), host_limit::host_key(&current))
            {
                deadline += slots.before_request(limiter, &host).await;
            }
            let mut hop_headers = headers.clone();
            if let Some((_, own)) = own.filter(|(c, _)| sends_own_headers(c, &current)) {
                for (name, value) in own.iter() {
                    hop_headers.insert(name.clone(), value.clone());
                }
            }
            let send = async {
                match self
                    .client
                    .get(current.clone())
                    .headers(hop_headers.clone())
                    .send()
                    .await
                {
                    Ok(r) => Ok(r),
                    // A kept-alive connection the server closed as the request went out (its
                    // idle timeout and our reuse crossed): once more, on a fresh connection. A
                    // GET changes nothing on the server. The client does not say whether the
                    // connection was a reused one, so a server that closes every connection
                    // unanswered gets two requests a poll (curl retries reused ones only).
                    Err(e) if error::closed_before_answer(&e) => self
                        .client
                        .get(current.clone())
                        .headers(hop_headers)
                        .send()
                        .await
                        .map_err(|e| FetchError::from_reqwest(&e)),
                    Err(e) => Err(FetchError::from_reqwest(&e)),
                }
            };
            let resp = tokio::time::timeout_at(deadline, send)
                .await
                .map_err(|_| self.timed_out(false))??;
            reached.answered = true;
            let status = resp.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break resp;
            }
            let Some(location) = resp.headers().get(header::LOCATION) else {
                break resp; // a 3xx without Location is answered as a status below
            };
            // Visible ASCII, or UTF-8 as some servers send it raw ("/ok/é"): the join below
            // percent-encodes it, as browsers and curl do.
            let location = std::str::from_utf8(location.as_bytes())
                .map_err(|_| FetchError::Redirect("Location is not UTF-8 text".into()))?;
            let next = current.join(location.trim()).map_err(|e| {
                // Not a URL: its query (a signed URL's signature, a token) is left out,
                // and what may be a password hidden as in a source URL that does not parse.
                let hidden = shown_url(location);
                let shown = match hidden.split_once('?') {
                    Some((before, _)) => format!("{before}?…"),
                    None => hidden.into_owned(),
                };
                FetchError::Redirect(format!("Location \"{shown}\": {e}"))
            })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(FetchError::Redirect(format!(
                    "to {}: scheme \"{}\" is not followed",
                    shown_url(next.as_str()),
                    next.scheme()
                )));
            }
            let chain = || {
                let shown: Vec<_> = visited
                    .iter()
                    .chain([&next])
                    .map(|u| shown_url(u.as_str()))
                    .collect();
                shown.join(" → ")
            };
            if visited.contains(&next) {
                return Err(FetchError::RedirectLoop(chain()));
            }
            if visited.len() > self.max_redirects {
                return Err(FetchError::TooManyRedirects(self.max_redirects, chain()));
            }
            // Against the hop that sent it, not where the poll started: a trusted private
            // source whose chain passes a public host must not be sent back inside by it.
            self.guard
                .check_redirect(&current, &next)
                .map_err(|b| FetchError::Blocked(b.0))?;
            if all_permanent
                && matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                )
            {
                moved_to = Some(next.clone());
            } else {
                all_permanent = false;
            }
            visited.push(next);
        };

        let status = resp.status();
        let clock_offset = outcome::clock_offset(resp.headers(), chrono::Utc::now());
        let fresh_for = outcome::fresh_for(resp.headers());
        let final_url = resp.url().clone();
        let header_string = |name: header::HeaderName| resp.headers().get(name).map(validator_text);
        let validators = Validators {
            etag: header_string(header::ETAG),
            last_modified: header_string(header::LAST_MODIFIED),
        };
        if status == StatusCode::NOT_MODIFIED {
            if !conditional {
                // Nothing was asked to be compared: a 304 then says nothing about the feed,
                // and taken as "unchanged" it would keep a source "ok" that never stored
                // an article.
                return Err(FetchError::Protocol(
                    "304 Not Modified to a request without If-None-Match or If-Modified-Since"
                        .into(),
                ));
            }
            return Ok(FetchOutcome {
                content: Content::NotModified,
                validators,
                final_url,
                moved_to,
                fresh_for,
                clock_offset,
            });
        }
        if status == StatusCode::PARTIAL_CONTENT && !whole_range(resp.headers()) {
            // No range was asked for: the body is a part of the feed, which read as the feed
            // fails as a "malformed feed" (or, cut between items, passes for a shorter one).
            // A 206 of the whole (`bytes 0-N-1/N`) is read as the 200 it should have been.
            return Err(FetchError::Protocol(
                "206 Partial Content to a request without Range: the body is only a part of the feed"
                    .into(),
            ));
        }
        if !status.is_success() {
            let retry_after = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            )
            .then(|| outcome::retry_after(resp.headers()))
            .flatten();
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after,
                host: host_limit::host_key(&final_url),
                redirected: !all_permanent,
            });
        }
        let content_type = header_string(header::CONTENT_TYPE);
        // Present only when reqwest did not decode the body.
        let coding = header_string(header::CONTENT_ENCODING);
        let bytes = tokio::time::timeout_at(deadline, body::read_body(resp, self.limits))
            .await
            .map_err(|_| self.timed_out(true))??;
        let bytes = body::decode_left_alone(coding.as_deref(), bytes, self.limits.max_bytes)?;
        Ok(FetchOutcome {
            content: Content::Body {
                bytes,
                content_type,
                status: Some(status.as_u16()),
            },
            validators,
            final_url,
            moved_to,
            fresh_for,
            clock_offset,
        })
    }
}

/// How far a fetch's chain of requests got (see [`FetchFailure`]).
#[derive(Debug)]
struct Reached {
    /// The request under way, or the last one answered.
    at: Url,
    /// A server answered one of the chain's requests.
    answered: bool,
}

/// Whether `Content-Range` says the body is the whole resource (`bytes 0-99/100`).
fn whole_range(headers: &header::HeaderMap) -> bool {
    let Some(range) = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let parsed = range
        .trim()
        .strip_prefix("bytes ")
        .and_then(|r| r.split_once('/'))
        .and_then(|(span, total)| {
            let (start, end) = span.trim().split_once('-')?;
            let number = |n: &str| n.trim().parse::<u64>().ok();
            Some((number(start)?, number(end)?, number(total)?))
        });
    matches!(parsed, Some((0, end, total)) if end.checked_add(1) == Some(total))
}

/// Whether a source's own headers (credentials, as a rule) go to `hop`, a URL its poll of
/// `configured` reached: only on the configured host and port under the same scheme, or
/// after an upgrade from http to https on the default ports (the host's own move to TLS).
/// A redirect to another host, a permanent move there included, leaves them behind, as
/// browsers and curl leave `Authorization` behind: a host the operator never named does not
/// learn the key.
pub fn sends_own_headers(configured: &Url, hop: &Url) -> bool {
    if configured.host_str() != hop.host_str() {
        return false;
    }
    let same = configured.scheme() == hop.scheme()
        && configured.port_or_known_default() == hop.port_or_known_default();
    let upgraded = configured.scheme() == "http"
        && hop.scheme() == "https"
        && configured.port().is_none()
        && hop.port().is_none();
    same || upgraded
}

/// A validator (`ETag`, `Last-Modified`) as it is kept: one character per byte, as Latin-1.
/// RFC 9110 lets an ETag hold bytes 0x80–0xFF, which `to_str` refuses: such a validator was
/// dropped and the feed fetched whole at every poll (fetch audit, session 66). ASCII, what
/// almost every server sends, is kept as it was.
fn validator_text(v: &HeaderValue) -> String {
    v.as_bytes().iter().map(|&b| char::from(b)).collect()
}

/// A kept validator sent back as the bytes it came as ([`validator_text`]); `None` for one
/// no header can carry.
fn validator_value(text: &str) -> Option<HeaderValue> {
    let bytes: Option<Vec<u8>> = text.chars().map(|c| u8::try_from(c).ok()).collect();
    HeaderValue::from_bytes(&bytes?).ok()
}

#[cfg(test)]
mod tests;
