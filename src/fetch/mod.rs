//! Fetch stage: one polite HTTP (or `file://`) request per poll, returning a [`FetchOutcome`].
//!
//! One [`Fetcher`] is built at start (one `reqwest::Client`: connection pool, user agent,
//! timeouts, gzip/brotli/deflate/zstd) and shared. Each poll sends the stored validators
//! (`If-None-Match`, `If-Modified-Since`) so an unchanged feed costs a 304 and no parse. The
//! body is read chunk by chunk after decompression and cut at `max_body_bytes`, so a
//! compression bomb never inflates past the cap in memory.

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::StatusCode;
use url::Url;

use crate::config::FetchConfig;

/// Validators of a response, sent back on the next poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag` header.
    pub etag: Option<String>,
    /// `Last-Modified` header.
    pub last_modified: Option<String>,
}

/// What one poll brought back.
#[derive(Debug)]
pub enum FetchOutcome {
    /// 304: nothing changed since the validators were issued.
    NotModified,
    /// A body to parse.
    Fetched {
        /// The decoded body, at most `max_body_bytes`.
        body: Vec<u8>,
        /// Validators to store for the next poll.
        validators: Validators,
        /// The URL after redirects (base for relative links).
        final_url: Url,
    },
}

/// Why a poll failed. Each variant has a stable class name for status and metrics.
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
    /// The decoded body exceeded `max_body_bytes`.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// The configured cap.
        limit: u64,
    },
    /// The server answered with an error status.
    #[error("HTTP status {status}")]
    Status {
        /// The status code.
        status: u16,
        /// `Retry-After`, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// Too many redirects, or a loop.
    #[error("redirect error: {0}")]
    Redirect(String),
    /// The body broke off or could not be decoded.
    #[error("reading the body failed: {0}")]
    Body(String),
    /// A `file://` source could not be read.
    #[error("cannot read file: {0}")]
    File(String),
    /// Anything else the client reported.
    #[error("request failed: {0}")]
    Other(String),
}

impl FetchError {
    /// The error class recorded on the source and counted in metrics.
    pub fn class(&self) -> &'static str {
        match self {
            FetchError::Dns(_) => "dns",
            FetchError::Connect(_) => "connect",
            FetchError::Tls(_) => "tls",
            FetchError::Timeout(_) => "timeout",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Status { .. } => "http_status",
            FetchError::Redirect(_) => "redirect",
            FetchError::Body(_) => "body",
            FetchError::File(_) => "file",
            FetchError::Other(_) => "other",
        }
    }

    fn from_reqwest(e: reqwest::Error) -> Self {
        let chain = error_chain(&e);
        let lower = chain.to_ascii_lowercase();
        if e.is_timeout() {
            FetchError::Timeout(chain)
        } else if e.is_redirect() {
            FetchError::Redirect(chain)
        } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
            FetchError::Dns(chain)
        } else if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
        {
            FetchError::Tls(chain)
        } else if e.is_connect() {
            FetchError::Connect(chain)
        } else if e.is_body() || e.is_decode() {
            FetchError::Body(chain)
        } else {
            FetchError::Other(chain)
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
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

/// The shared HTTP client and its limits.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body_bytes: u64,
}

impl Fetcher {
    /// Builds the client once; clone the `Fetcher` to share it.
    pub fn new(cfg: &FetchConfig) -> Result<Self, FetchError> {
        // reqwest is built without a default crypto provider; install ring's once per process.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(&cfg.user_agent)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.timeout.min(Duration::from_secs(30)))
            .redirect(reqwest::redirect::Policy::limited(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| FetchError::Other(error_chain(&e)))?;
        Ok(Self {
            client,
            max_body_bytes: cfg.max_body_bytes,
        })
    }

    /// Polls `url` once, conditionally on `validators`.
    pub async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        if url.scheme() == "file" {
            return self.fetch_file(url).await;
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static(
                "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8",
            ),
        );
        if let Some(v) = validators
            .etag
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::IF_NONE_MATCH, v);
        }
        if let Some(v) = validators
            .last_modified
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::IF_MODIFIED_SINCE, v);
        }
        let mut resp = self
            .client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(FetchError::from_reqwest)?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: retry_after(resp.headers()),
            });
        }
        let header_str = |name: header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let validators = Validators {
            etag: header_str(header::ETAG),
            last_modified: header_str(header::LAST_MODIFIED),
        };
        let final_url = resp.url().clone();
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_body_bytes)
        {
            return Err(FetchError::TooLarge {
                limit: self.max_body_bytes,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(FetchError::from_reqwest)? {
            if body.len() as u64 + chunk.len() as u64 > self.max_body_bytes {
                return Err(FetchError::TooLarge {
                    limit: self.max_body_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fetched {
            body,
            validators,
            final_url,
        })
    }

    async fn fetch_file(&self, url: &Url) -> Result<FetchOutcome, FetchError> {
        let path = url
            .to_file_path()
            .map_err(|()| FetchError::File(format!("{url} is not a local path")))?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| FetchError::File(format!("{}: {e}", path.display())))?;
        if meta.len() > self.max_body_bytes {
            return Err(FetchError::TooLarge {
                limit: self.max_body_bytes,
            });
        }
        let body = tokio::fs::read(&path)
            .await
            .map_err(|e| FetchError::File(format!("{}: {e}", path.display())))?;
        Ok(FetchOutcome::Fetched {
            body,
            validators: Validators::default(),
            final_url: url.clone(),
        })
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    delta.to_std().ok().or(Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        let future = (chrono::Utc::now() + chrono::Duration::seconds(600)).to_rfc2822();
        h.insert(header::RETRY_AFTER, HeaderValue::from_str(&future).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(590) && d <= Duration::from_secs(600),
            "{d:?}"
        );
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }
}
