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
