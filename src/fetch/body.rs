//! Reading a response body politely and safely.
//!
//! - The cap applies to the **decoded** body: reqwest inflates `br` and `zstd` chunk by chunk
//!   and reading stops as soon as the total passes `max_body_bytes`, so such a compression
//!   bomb costs at most the cap plus one chunk (and the `Vec`'s growth slack), never its
//!   inflated size. The codings wirefold decodes itself ([`decode_left_alone`]: gzip under
//!   any label, the others in capitals or in a list) are read within the cap as they came,
//!   then decoded within it: at most twice the cap.
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

/// `bytes`, read under a `Content-Encoding` reqwest left alone, decoded when it names codings
/// wirefold can undo. reqwest is asked to decode `br` and `zstd` only, which it does as
/// written and one at a time. Coding names are case-insensitive (RFC 9110 8.4.1), so `BR`,
/// `ZSTD` and `GZIP` are decoded here, as is `x-gzip` (which RFC 9110 asks a recipient to
/// read as gzip), `deflate` sent unasked (zlib or raw: wirefold does not ask for it, servers
/// send it without the zlib wrapper HTTP names), and lists (`gzip, gzip`, `gzip, br`), the
/// coding applied last undone first. gzip is always read here, under every label: reqwest read
/// only the first member of a stream of several, and a feed compressed in parts came cut.
/// Every member of a gzip stream and every frame of a zstd one is read, within `max_bytes`
/// decoded. A body labelled gzip or deflate that is not compressed but reads as text is
/// returned as it came, and so is any value that names no coding: a server that writes its
/// charset there (`Content-Encoding: UTF-8`) sends plain text. A coding wirefold cannot undo
/// (`compress`) is an error that names it, and so is a body that is not what its label says.
pub fn decode_left_alone(
    coding: Option<&str>,
    bytes: Vec<u8>,
    max_bytes: u64,
) -> Result<Vec<u8>, FetchError> {
    let Some(header) = coding.map(str::trim) else {
        return Ok(bytes);
    };
    let codings: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect();
    let known = |c: &str| {
        matches!(
            c,
            "gzip" | "x-gzip" | "deflate" | "compress" | "x-compress" | "br" | "zstd"
        )
    };
    if !codings.iter().all(|c| known(c)) {
        return Ok(bytes);
    }
    let mut body = bytes;
    // The last coding applied is undone first.
    for c in codings.iter().rev() {
        body = match c.as_str() {
            // Nothing to undo (a 204, or a 200 with nothing): said as such by the parser.
            _ if body.is_empty() => return Ok(body),
            "gzip" | "x-gzip" if body.starts_with(&[0x1F, 0x8B]) => {
                inflate(Codec::Gzip, &body, header, max_bytes)?
            }
            "deflate" if looks_zlib(&body) => inflate(Codec::Zlib, &body, header, max_bytes)?,
            // Raw DEFLATE has no mark: a stream may start with `<` or `{` too. Tried first;
            // a body that does not inflate and reads as text came uncompressed.
            "deflate" => match inflate(Codec::Raw, &body, header, max_bytes) {
                Ok(out) => out,
                Err(FetchError::Body(_)) if looks_plain(&body) => return Ok(body),
                Err(e) => return Err(e),
            },
            "gzip" | "x-gzip" if looks_plain(&body) => return Ok(body),
            "gzip" | "x-gzip" => {
                return Err(FetchError::Body(format!(
                    "the body is labelled Content-Encoding: {header} but is not gzip data"
                )))
            }
            "br" => inflate(Codec::Brotli, &body, header, max_bytes)?,
            "zstd" => inflate(Codec::Zstd, &body, header, max_bytes)?,
            _ => {
                return Err(FetchError::Body(format!(
                    "the body came as Content-Encoding: {header}, and wirefold cannot undo \"{c}\""
                )))
            }
        };
    }
    Ok(body)
}

/// A compressed stream's format.
#[derive(Clone, Copy)]
enum Codec {
    Gzip,
    Zlib,
    Raw,
    Brotli,
    Zstd,
}

/// Decodes `bytes` as `codec`, within `max_bytes`.
fn inflate(
    codec: Codec,
    bytes: &[u8],
    header: &str,
    max_bytes: u64,
) -> Result<Vec<u8>, FetchError> {
    use std::io::Read;
    let limit = max_bytes.saturating_add(1);
    let mut out = Vec::new();
    let read = match codec {
        // Member after member while the rest starts as one: bytes after the last (a line
        // break a server appended) are left, as gzip(1) leaves "trailing garbage". Read as a
        // broken member, they failed the poll under `x-gzip`, not under `gzip` (reqwest).
        Codec::Gzip => {
            let mut rest = bytes;
            loop {
                let mut member = flate2::bufread::GzDecoder::new(rest);
                let room = limit.saturating_sub(out.len() as u64);
                if let Err(e) = (&mut member).take(room).read_to_end(&mut out) {
                    break Err(e);
                }
                rest = member.into_inner();
                if out.len() as u64 >= limit || !rest.starts_with(&[0x1F, 0x8B]) {
                    break Ok(out.len());
                }
            }
        }
        Codec::Zlib => flate2::read::ZlibDecoder::new(bytes)
            .take(limit)
            .read_to_end(&mut out),
        Codec::Raw => {
            // Raw DEFLATE has no mark and no check: a plain body's first bytes may read as
            // a complete tiny stream (`{` and a line break). Only a stream that takes the
            // whole body is one.
            let mut d = flate2::read::DeflateDecoder::new(bytes);
            let read = (&mut d).take(limit).read_to_end(&mut out);
            match read {
                Ok(n) if n as u64 <= max_bytes && d.total_in() != bytes.len() as u64 => {
                    Err(std::io::Error::other(format!(
                        "the stream ends after {} of {} bytes",
                        d.total_in(),
                        bytes.len()
                    )))
                }
                other => other,
            }
        }
        Codec::Brotli => brotli::Decompressor::new(bytes, 4096)
            .take(limit)
            .read_to_end(&mut out),
        // Frame after frame, as zstd(1) reads them.
        Codec::Zstd => zstd::stream::read::Decoder::with_buffer(bytes)
            .and_then(|d| d.take(limit).read_to_end(&mut out)),
    };
    let name = match codec {
        Codec::Gzip => "gzip",
        Codec::Zlib | Codec::Raw => "deflate",
        Codec::Brotli => "br",
        Codec::Zstd => "zstd",
    };
    match read {
        Err(e) => Err(FetchError::Body(format!(
            "the body sent as Content-Encoding: {header} is no valid {name}: {e}"
        ))),
        Ok(n) if n as u64 > max_bytes => Err(FetchError::TooLarge { limit: max_bytes }),
        Ok(_) => Ok(out),
    }
}

/// A zlib header: method 8 (deflate) and a check value the two bytes divide by 31.
fn looks_zlib(b: &[u8]) -> bool {
    matches!(b, [cmf, flg, ..] if cmf & 0x0F == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0)
}

/// A body that starts as text does (`<`, `{`, a byte-order mark, white space): a feed sent
/// under a `deflate` label without being compressed, once it did not inflate.
fn looks_plain(b: &[u8]) -> bool {
    matches!(
        b.iter().find(|c| !c.is_ascii_whitespace()),
        None | Some(b'<' | b'{' | 0xEF | 0xFE | 0xFF)
    )
}

/// Reads `resp`'s decoded body within `limits`.
pub async fn read_body(
    mut resp: reqwest::Response,
    limits: BodyLimits,
) -> Result<Vec<u8>, FetchError> {
    let announced = resp.content_length();
    if let Some(n) = announced.filter(|&n| n > limits.max_bytes) {
        return Err(FetchError::AnnouncedTooLarge {
            announced: n,
            limit: limits.max_bytes,
        });
    }
    let mut body: Vec<u8> = Vec::new();
    let mut window_end = Instant::now() + limits.stall_window;
    let mut window_bytes: u64 = 0;
    loop {
        let chunk = tokio::select! {
            c = resp.chunk() => c.map_err(|e| {
                FetchError::from_body(&e, body.len() as u64, announced)
            })?,
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
