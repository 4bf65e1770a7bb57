//! Why a fetch from another domain failed ([`FetchError`]) and the stable reason codes the
//! verifier puts in its deny decisions.

use std::net::IpAddr;

use crossauthz_core::{ClientIdError, HttpsUrlError};

/// Where an address was refused by the C11 address policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressStage {
    /// The URL's host is an IP literal (`https://127.0.0.2/…`), refused before any connection.
    Literal,
    /// Every address the host name resolved to was refused; no connection was opened.
    Resolved,
    /// The address actually connected to was refused after the response arrived (DNS rebinding
    /// or a connection we cannot account for); the body is discarded.
    Connected,
}

impl std::fmt::Display for AddressStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Literal => "URL host literal",
            Self::Resolved => "resolved address",
            Self::Connected => "connected peer address",
        })
    }
}

/// Why the peer address could not be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum AddressRefusal {
    /// The address is special-use (loopback, private, link-local, …) (C11).
    #[error(transparent)]
    SpecialUse(#[from] crossauthz_core::ForbiddenAddress),
    /// The HTTP stack did not report which address it connected to, so it cannot be checked;
    /// refused (fail closed).
    #[error("the connected peer address is unknown, so it cannot be checked (C11)")]
    UnknownPeer,
}

/// Invalid fetcher configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetcherConfigError {
    /// `cache_min` is greater than `cache_max`.
    #[error("cache_min ({min:?}) is greater than cache_max ({max:?})")]
    CacheBounds {
        /// The minimum.
        min: std::time::Duration,
        /// The maximum.
        max: std::time::Duration,
    },
    /// A timeout is zero.
    #[error("{which} must be greater than zero")]
    ZeroTimeout {
        /// Which setting.
        which: &'static str,
    },
    /// A size cap is zero.
    #[error("max_bytes.{which} must be greater than zero")]
    ZeroSizeCap {
        /// Which resource kind.
        which: &'static str,
    },
    /// `extra_roots_pem` holds no certificate or an unparsable one.
    #[error("extra_roots_pem is not a PEM certificate bundle: {0}")]
    ExtraRoots(String),
    /// No trust anchor at all: system roots off and no extra roots.
    #[error("system_roots is off and extra_roots_pem is empty: nothing would be trusted")]
    NoRoots,
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Why a fetch failed. Every variant fails the decision closed; none is cached (C7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The fetcher configuration is invalid.
    #[error("fetcher configuration: {0}")]
    Config(#[from] FetcherConfigError),
    /// A client_id URL violates C1 (CIMD §3).
    #[error("invalid client_id URL: {0}")]
    InvalidClientId(ClientIdError),
    /// Another URL (jwks_uri, did:web, status list) is malformed, has userinfo or a fragment.
    #[error("invalid URL: {0}")]
    InvalidUrl(HttpsUrlError),
    /// The URL is not `https://` (C1, C11); refused before any connection.
    #[error("only https URLs are fetched (C1)")]
    NotHttps,
    /// The host name did not resolve.
    #[error("DNS resolution failed: {0}")]
    Dns(String),
    /// The address is forbidden by the SSRF policy (C11, CIMD §6.5).
    #[error("forbidden address {addr} ({stage}): {reason}")]
    ForbiddenAddress {
        /// The refused address (for [`AddressRefusal::UnknownPeer`], the unspecified address).
        addr: IpAddr,
        /// Why.
        reason: AddressRefusal,
        /// Where it was caught.
        stage: AddressStage,
    },
    /// The TCP connection failed.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The TLS handshake failed (untrusted certificate, wrong name, protocol error).
    #[error("TLS failure: {0}")]
    Tls(String),
    /// The connection broke or the peer spoke broken HTTP after connecting.
    #[error("HTTP protocol failure: {0}")]
    Protocol(String),
    /// Connect, read or total timeout.
    #[error("the fetch timed out")]
    Timeout,
    /// A 3xx answer; redirects are never followed (C2).
    #[error("redirect status {status} refused: redirects are not followed (C2)")]
    Redirect {
        /// The status code.
        status: u16,
    },
    /// Any status other than 200 (C2: 201, 204, 4xx and 5xx are errors too).
    #[error("status {status} refused: only 200 is a success (C2)")]
    Status {
        /// The status code.
        status: u16,
    },
    /// Missing or wrong `Content-Type` for the resource kind (C5).
    #[error("content type {got:?} refused for this resource (C5)")]
    ContentType {
        /// The header value received (empty if absent).
        got: String,
    },
    /// The body exceeds the size cap for the resource kind (C12).
    #[error("response larger than the {limit}-byte cap (C12)")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The caller's validator rejected the document (C7: not cached).
    #[error("invalid document: {0}")]
    Invalid(String),
}

impl FetchError {
    /// A stable, machine-readable reason code for deny decisions and audit records.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "fetch_config",
            Self::InvalidClientId(_) => "fetch_invalid_client_id",
            Self::InvalidUrl(_) => "fetch_invalid_url",
            Self::NotHttps => "fetch_not_https",
            Self::Dns(_) => "fetch_dns",
            Self::ForbiddenAddress { .. } => "fetch_forbidden_address",
            Self::Connect(_) => "fetch_connect",
            Self::Tls(_) => "fetch_tls",
            Self::Protocol(_) => "fetch_protocol",
            Self::Timeout => "fetch_timeout",
            Self::Redirect { .. } => "fetch_redirect",
            Self::Status { .. } => "fetch_status",
            Self::ContentType { .. } => "fetch_content_type",
            Self::TooLarge { .. } => "fetch_too_large",
            Self::Invalid(_) => "fetch_invalid_document",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_and_prefixed() {
        let all = [
            FetchError::Config(FetcherConfigError::NoRoots),
            FetchError::InvalidClientId(ClientIdError::Fragment),
            FetchError::InvalidUrl(HttpsUrlError::Fragment),
            FetchError::NotHttps,
            FetchError::Dns(String::new()),
            FetchError::ForbiddenAddress {
                addr: IpAddr::from([0, 0, 0, 0]),
                reason: AddressRefusal::UnknownPeer,
                stage: AddressStage::Connected,
            },
            FetchError::Connect(String::new()),
            FetchError::Tls(String::new()),
            FetchError::Protocol(String::new()),
            FetchError::Timeout,
            FetchError::Redirect { status: 302 },
            FetchError::Status { status: 500 },
            FetchError::ContentType { got: String::new() },
            FetchError::TooLarge { limit: 1 },
            FetchError::Invalid(String::new()),
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(FetchError::code).collect();
        assert_eq!(codes.len(), all.len());
        assert!(codes.iter().all(|c| c.starts_with("fetch_")));
    }
}
