//! CIMD client identifiers (draft -01 §3, rule C1) and the https URL check for URLs found inside
//! a metadata document (`jwks_uri`, `logo_uri`, `client_uri`).
//!
//! The raw string is checked BEFORE any normalisation: the `url` crate silently removes `.`/`..`
//! segments, decodes `%2e`, lower-cases the host, drops `:443`, turns `\` into `/` and strips
//! tabs and newlines, so a check on the parsed [`url::Url`] would accept identifiers the spec
//! forbids. [`ClientIdUrl`] keeps the raw string as the identifier (C3 compares raw strings) and
//! the parsed URL for fetching.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// Longest client_id we accept, in bytes (a denial-of-service guard; CIMD recommends short URLs).
pub const MAX_CLIENT_ID_LEN: usize = 2048;

/// Why a string is not a valid CIMD client_id (C1, CIMD -01 §3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientIdError {
    /// Longer than [`MAX_CLIENT_ID_LEN`].
    #[error("client_id is {len} bytes, more than the {max} accepted")]
    TooLong {
        /// Actual length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A character RFC 3986 does not allow in a URI (space, control, non-ASCII, `\`, `"`, …).
    #[error("client_id has character {ch:?} at byte {index}, not allowed in a URI (RFC 3986 §2)")]
    IllegalCharacter {
        /// The character.
        ch: char,
        /// Its byte offset.
        index: usize,
    },
    /// `%` not followed by two hexadecimal digits.
    #[error("client_id has a malformed percent-encoding at byte {index} (RFC 3986 §2.1)")]
    BadPercentEncoding {
        /// Byte offset of the `%`.
        index: usize,
    },
    /// The scheme is not `https` (C1: MUST have an "https" scheme).
    #[error("client_id scheme is {scheme:?}, must be https (C1, CIMD §3)")]
    NotHttps {
        /// The scheme found (empty if none).
        scheme: String,
    },
    /// `https:` not followed by `//authority`.
    #[error("client_id must start with https:// followed by a host (C1, CIMD §3)")]
    MissingAuthority,
    /// Empty host.
    #[error("client_id has no host (C1, CIMD §3)")]
    MissingHost,
    /// Userinfo (`user@` or `user:pass@`) present (C1: MUST NOT contain a username or password).
    #[error("client_id contains userinfo, which is forbidden (C1, CIMD §3)")]
    Userinfo,
    /// Percent-encoding in the host: legal in RFC 3986 but the URL parser decodes it, so the host
    /// shown to users (C13) would differ from the raw identifier. Refused.
    #[error("client_id has a percent-encoded host (C1, C13)")]
    EncodedHost,
    /// Port empty, non-numeric, zero or above 65535.
    #[error("client_id has an invalid port {port:?} (C1, CIMD §3)")]
    InvalidPort {
        /// The port text.
        port: String,
    },
    /// Path missing, or only `/` (C1: MUST contain a path component; this project requires a
    /// path that names a document, so `/` alone is refused).
    #[error("client_id has no path naming the document; `/` alone does not count (C1, CIMD §3)")]
    MissingPath,
    /// A `.` or `..` segment, also percent-encoded (`%2e`, `%2E%2e`) (C1).
    #[error("client_id contains the dot segment {segment:?} (C1, CIMD §3)")]
    DotSegment {
        /// The raw segment as written.
        segment: String,
    },
    /// A query component, even empty (C1: SHOULD NOT; this project rejects it).
    #[error(
        "client_id contains a query component; this server refuses it (C1, CIMD §3 SHOULD NOT)"
    )]
    Query,
    /// A fragment component, even empty `#` (C1: MUST NOT).
    #[error("client_id contains a fragment component (C1, CIMD §3)")]
    Fragment,
    /// The URL parser refused the string.
    #[error("client_id is not a valid URL: {0}")]
    Malformed(url::ParseError),
}

/// Why a URL inside a metadata document (`jwks_uri`, `logo_uri`, `client_uri`) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpsUrlError {
    /// A character RFC 3986 does not allow, or a bad percent-encoding.
    #[error("URL has an illegal character or percent-encoding at byte {index} (RFC 3986 §2)")]
    IllegalCharacter {
        /// Byte offset.
        index: usize,
    },
    /// Not `https://…`.
    #[error("URL must use https:// (C11 / RFC 8414-style metadata)")]
    NotHttps,
    /// Userinfo present.
    #[error("URL contains userinfo")]
    Userinfo,
    /// Fragment present (even empty).
    #[error("URL contains a fragment")]
    Fragment,
    /// No host.
    #[error("URL has no host")]
    MissingHost,
    /// The URL parser refused the string.
    #[error("not a valid URL: {0}")]
    Malformed(url::ParseError),
}

/// True for characters RFC 3986 allows literally in a URI (unreserved, reserved and `%`).
fn is_uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.'
                | '_'
                | '~'
                | ':'
                | '/'
                | '?'
                | '#'
                | '['
                | ']'
                | '@'
                | '!'
                | '$'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | ';'
                | '='
                | '%'
        )
}

/// Checks the RFC 3986 character set and percent-encodings; returns the first bad byte offset.
pub(crate) fn check_uri_chars(raw: &str) -> Result<(), (usize, Option<char>)> {
    let bytes = raw.as_bytes();
    for (index, ch) in raw.char_indices() {
        if !is_uri_char(ch) {
            return Err((index, Some(ch)));
        }
        if ch == '%' {
            let ok = bytes.get(index + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(index + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return Err((index, None));
            }
        }
    }
    Ok(())
}

/// Percent-decodes a path segment into bytes (input already checked by [`check_uri_chars`]).
fn percent_decode(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(decoded) = hex {
                out.push(decoded);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Splits `https://rest` into (authority, path, has_query, has_fragment) on the raw text.
struct RawParts<'a> {
    authority: &'a str,
    path: &'a str,
    has_query: bool,
    has_fragment: bool,
}

fn split_after_scheme(rest: &str) -> RawParts<'_> {
    let (before_fragment, has_fragment) = match rest.find('#') {
        Some(i) => (&rest[..i], true),
        None => (rest, false),
    };
    let (before_query, has_query) = match before_fragment.find('?') {
        Some(i) => (&before_fragment[..i], true),
        None => (before_fragment, false),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], &before_query[i..]),
        None => (before_query, ""),
    };
    RawParts {
        authority,
        path,
        has_query,
        has_fragment,
    }
}

/// Returns the text after `https://` (scheme case-insensitive), or the reason it is not there.
fn strip_https(raw: &str) -> Result<&str, ClientIdError> {
    let Some(colon) = raw.find(':') else {
        return Err(ClientIdError::NotHttps {
            scheme: String::new(),
        });
    };
    let scheme = &raw[..colon];
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(ClientIdError::NotHttps {
            scheme: scheme.to_owned(),
        });
    }
    raw[colon + 1..]
        .strip_prefix("//")
        .ok_or(ClientIdError::MissingAuthority)
}

/// Validates the port part of a raw authority (after any `[v6]`), if present.
fn check_port(authority: &str) -> Result<(), ClientIdError> {
    let host_end = if authority.starts_with('[') {
        match authority.find(']') {
            Some(i) => i + 1,
            None => return Err(ClientIdError::MissingHost),
        }
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    if host_end == 0 {
        return Err(ClientIdError::MissingHost);
    }
    let after = &authority[host_end..];
    if after.is_empty() {
        return Ok(());
    }
    let Some(port) = after.strip_prefix(':') else {
        return Err(ClientIdError::InvalidPort {
            port: after.to_owned(),
        });
    };
    let valid = !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0);
    if valid {
        Ok(())
    } else {
        Err(ClientIdError::InvalidPort {
            port: port.to_owned(),
        })
    }
}

/// A validated CIMD client identifier: an https URL naming the client's metadata document.
///
/// Equality, hashing and [`as_str`](Self::as_str) use the raw string exactly as received (C3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientIdUrl {
    raw: String,
    url: Url,
}

impl ClientIdUrl {
    /// Validates `raw` against C1 (CIMD -01 §3), on the raw text first, then with the URL parser.
    pub fn parse(raw: &str) -> Result<Self, ClientIdError> {
        if raw.len() > MAX_CLIENT_ID_LEN {
            return Err(ClientIdError::TooLong {
                len: raw.len(),
                max: MAX_CLIENT_ID_LEN,
            });
        }
        check_uri_chars(raw).map_err(|(index, ch)| match ch {
            Some(ch) => ClientIdError::IllegalCharacter { ch, index },
            None => ClientIdError::BadPercentEncoding { index },
        })?;
        let rest = strip_https(raw)?;
        let parts = split_after_scheme(rest);
        if parts.has_fragment {
            return Err(ClientIdError::Fragment);
        }
        if parts.authority.contains('@') {
            return Err(ClientIdError::Userinfo);
        }
        if parts.authority.is_empty() {
            return Err(ClientIdError::MissingHost);
        }
        if parts.authority.contains('%') {
            return Err(ClientIdError::EncodedHost);
        }
        check_port(parts.authority)?;
        if parts.has_query {
            return Err(ClientIdError::Query);
        }
        if parts.path.is_empty() || parts.path == "/" {
            return Err(ClientIdError::MissingPath);
        }
        for segment in parts.path.split('/').skip(1) {
            let decoded = percent_decode(segment);
            if decoded == b"." || decoded == b".." {
                return Err(ClientIdError::DotSegment {
                    segment: segment.to_owned(),
                });
            }
        }
        let url = Url::parse(raw).map_err(ClientIdError::Malformed)?;
        // Defence in depth: the parsed form must agree with the raw checks.
        if url.scheme() != "https" {
            return Err(ClientIdError::NotHttps {
                scheme: url.scheme().to_owned(),
            });
        }
        if url.host().is_none() {
            return Err(ClientIdError::MissingHost);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ClientIdError::Userinfo);
        }
        if url.query().is_some() {
            return Err(ClientIdError::Query);
        }
        if url.fragment().is_some() {
            return Err(ClientIdError::Fragment);
        }
        Ok(Self {
            raw: raw.to_owned(),
            url,
        })
    }

    /// The identifier exactly as received; compare with this (C3).
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parsed URL, for fetching.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The (normalised) host to show on a consent screen (C13).
    pub fn host_str(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// Consumes the value, returning the raw string.
    pub fn into_string(self) -> String {
        self.raw
    }
}

impl fmt::Display for ClientIdUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl std::str::FromStr for ClientIdUrl {
    type Err = ClientIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ClientIdUrl {
    type Error = ClientIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl AsRef<str> for ClientIdUrl {
    fn as_ref(&self) -> &str {
        &self.raw
    }
}

impl Serialize for ClientIdUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for ClientIdUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        ClientIdUrl::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// C3 (CIMD -01 §4.1, RFC 3986 §6.2.1): simple string comparison, no normalisation.
/// Case, `:443` and a trailing `/` all make a difference.
pub fn is_same_url(a: &str, b: &str) -> bool {
    a == b
}

/// Validates a URL found inside a metadata document (`jwks_uri`, `logo_uri`, `client_uri`):
/// `https://`, a host, no userinfo and no fragment (checked on the raw text). A query is allowed.
pub fn https_url(raw: &str) -> Result<Url, HttpsUrlError> {
    check_uri_chars(raw).map_err(|(index, _)| HttpsUrlError::IllegalCharacter { index })?;
    let rest = match strip_https(raw) {
        Ok(rest) => rest,
        Err(_) => return Err(HttpsUrlError::NotHttps),
    };
    let parts = split_after_scheme(rest);
    if parts.has_fragment {
        return Err(HttpsUrlError::Fragment);
    }
    if parts.authority.contains('@') {
        return Err(HttpsUrlError::Userinfo);
    }
    if parts.authority.is_empty() {
        return Err(HttpsUrlError::MissingHost);
    }
    let url = Url::parse(raw).map_err(HttpsUrlError::Malformed)?;
    if url.scheme() != "https" {
        return Err(HttpsUrlError::NotHttps);
    }
    if url.host().is_none() {
        return Err(HttpsUrlError::MissingHost);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HttpsUrlError::Userinfo);
    }
    if url.fragment().is_some() {
        return Err(HttpsUrlError::Fragment);
    }
    Ok(url)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn percent_decode_handles_dots_and_truncation() {
        assert_eq!(percent_decode("%2e%2E"), b"..");
        assert_eq!(percent_decode("a%2"), b"a%2");
        assert_eq!(percent_decode("%41"), b"A");
        assert_eq!(percent_decode(""), b"");
    }
}
