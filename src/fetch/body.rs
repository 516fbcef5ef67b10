//! Reading a response body politely and safely.
//!
//! - The cap applies to the **decoded** stream: reqwest inflates gzip/brotli/zstd chunk
//!   by chunk and reading stops as soon as the total passes `max_body_bytes`, so a compression
//!   bomb costs at most the cap plus one chunk (and the `Vec`'s growth slack), never its
//!   inflated size.
//! - A stall guard like curl's `--speed-limit`/`--speed-time`: fewer than `stall_min_bytes`
//!   within any `stall_timeout` window cuts the transfer as stalled, so a server that trickles a
//!   byte a second cannot hold a poll until the total timeout.

use std::time::Duration;

use tokio::time::Instant;

use super::FetchError;

/// Limits of one body read.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest decoded body.
    pub max_bytes: u64,
    /// Length of a stall window.
    pub stall_window: Duration,
    /// Bytes needed per window.
    pub stall_min_bytes: u64,
}

/// `bytes`, read under a `Content-Encoding` reqwest left alone, decoded when it is gzip by
/// another name: reqwest decodes `gzip` only as written, so `GZIP` and `x-gzip` (which RFC
/// 9110 asks a recipient to read as gzip) reached the parser compressed and failed as a
/// malformed feed. Every member of the stream is read, within `max_bytes` decoded. Anything
/// else is returned as it came: a server that writes its charset there
/// (`Content-Encoding: UTF-8`) sends plain text.
pub fn gzip_left_alone(
    coding: Option<&str>,
    bytes: Vec<u8>,
    max_bytes: u64,
) -> Result<Vec<u8>, FetchError> {
    use std::io::Read;
    let Some(coding) = coding.map(str::trim) else {
        return Ok(bytes);
    };
    let gzip = coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip");
    if !gzip || !bytes.starts_with(&[0x1F, 0x8B]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    let read = flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut out);
    match read {
        Err(e) => Err(FetchError::Body(format!(
            "the body sent as Content-Encoding: {coding} is no valid gzip: {e}"
        ))),
        Ok(n) if n as u64 > max_bytes => Err(FetchError::TooLarge { limit: max_bytes }),
        Ok(_) => Ok(out),
    }
}

/// Reads `resp`'s decoded body within `limits`.
pub async fn read_body(
    mut resp: reqwest::Response,
    limits: BodyLimits,
) -> Result<Vec<u8>, FetchError> {
    if resp.content_length().is_some_and(|n| n > limits.max_bytes) {
        return Err(FetchError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let mut body: Vec<u8> = Vec::new();
    let mut window_end = Instant::now() + limits.stall_window;
    let mut window_bytes: u64 = 0;
    loop {
        let chunk = tokio::select! {
            c = resp.chunk() => c.map_err(|e| FetchError::from_body(&e, limits.stall_window))?,
            () = tokio::time::sleep_until(window_end) => {
                if window_bytes < limits.stall_min_bytes {
                    return Err(FetchError::Stalled {
                        got: window_bytes,
                        window: limits.stall_window,
                        min: limits.stall_min_bytes,
                    });
                }
                window_end = Instant::now() + limits.stall_window;
                window_bytes = 0;
                continue;
            }
        };
        let Some(chunk) = chunk else {
            return Ok(body);
        };
        if body.len() as u64 + chunk.len() as u64 > limits.max_bytes {
            return Err(FetchError::TooLarge {
                limit: limits.max_bytes,
            });
        }
        window_bytes += chunk.len() as u64;
        body.extend_from_slice(&chunk);
    }
}
