//! Bounded compression helpers shared by both status-list formats: ZLIB (IETF Token Status List,
//! RFC 1950) and GZIP (W3C Bitstring Status List, RFC 1952), plus unpadded base64url.
//!
//! Decompression never trusts its input: the output is capped, and a stream that inflates past
//! the cap is an error (a "zip bomb"), never a silent truncation.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::read::{GzDecoder, ZlibDecoder};
use flate2::write::{GzEncoder, ZlibEncoder};

/// Default cap on the decompressed size of a status list: 16 MiB.
///
/// That holds 2^24 entries at 8 bits (TSL) or 2^27 one-bit entries (BSL), far above the
/// specs' own examples (2^20 entries), while keeping a hostile list from exhausting memory.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 16 * 1024 * 1024;

/// Why a compressed payload could not be inflated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InflateError {
    /// The stream is not valid ZLIB / GZIP (bad header, checksum, truncated data, ...).
    #[error("corrupt compressed stream: {0}")]
    Corrupt(String),
    /// The stream inflates to more than the allowed number of bytes.
    #[error("decompressed size exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The cap that was exceeded.
        limit: usize,
    },
}

/// Which container wraps the DEFLATE stream.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Container {
    /// RFC 1950 ZLIB.
    Zlib,
    /// RFC 1952 GZIP.
    Gzip,
}

/// Compresses `bytes` at the highest level with the given container.
pub(crate) fn compress(container: Container, bytes: &[u8]) -> Vec<u8> {
    // Writing into a Vec cannot fail; map the impossible io::Error away rather than panic.
    fn run<W: Write>(mut w: W, bytes: &[u8]) -> std::io::Result<W> {
        w.write_all(bytes)?;
        Ok(w)
    }
    match container {
        Container::Zlib => run(ZlibEncoder::new(Vec::new(), Compression::best()), bytes)
            .and_then(|e| e.finish())
            .unwrap_or_default(),
        Container::Gzip => run(GzEncoder::new(Vec::new(), Compression::best()), bytes)
            .and_then(|e| e.finish())
            .unwrap_or_default(),
    }
}

/// Inflates `compressed`, refusing output larger than `max_bytes`.
pub(crate) fn decompress(
    container: Container,
    compressed: &[u8],
    max_bytes: usize,
) -> Result<Vec<u8>, InflateError> {
    match container {
        Container::Zlib => read_bounded(ZlibDecoder::new(compressed), max_bytes),
        Container::Gzip => read_bounded(GzDecoder::new(compressed), max_bytes),
    }
}

fn read_bounded<R: Read>(reader: R, max_bytes: usize) -> Result<Vec<u8>, InflateError> {
    // Read one byte past the cap so "exactly at the cap" and "over the cap" are distinguishable.
    let cap = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut out = Vec::new();
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| InflateError::Corrupt(e.to_string()))?;
    if out.len() > max_bytes {
        return Err(InflateError::TooLarge { limit: max_bytes });
    }
    Ok(out)
}

/// base64url without padding (RFC 4648 §5), as both specs require.
pub(crate) fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes unpadded base64url; padding, `+`, `/` and whitespace are refused.
pub(crate) fn b64url_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_both_containers() {
        for c in [Container::Zlib, Container::Gzip] {
            let data = vec![7u8; 1000];
            let z = compress(c, &data);
            assert_eq!(decompress(c, &z, 1000).unwrap(), data);
            assert_eq!(
                decompress(c, &z, 999),
                Err(InflateError::TooLarge { limit: 999 })
            );
        }
    }

    #[test]
    fn truncated_stream_is_corrupt() {
        for c in [Container::Zlib, Container::Gzip] {
            let z = compress(c, &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
            let cut = &z[..z.len() - 3];
            assert!(matches!(
                decompress(c, cut, 1000),
                Err(InflateError::Corrupt(_))
            ));
        }
    }
}
