//! C13 (CIMD §6.7): the client's `logo_uri`, prefetched and cached so that the consent page can
//! show it from this domain's own origin — the user's browser never contacts the client's
//! domain (no hot-linking: no tracking of who looks at a consent page, no mixed content, no
//! image that changes after the page was rendered).
//!
//! The logo goes through the one SSRF-safe fetcher as [`ResourceKind::ClientLogo`] (https only,
//! the C11 address policy — which CIMD §6.5 asks for URLs inside the document too — no
//! redirects, 200 only, a size cap of 64 KiB by default, timeouts). It is accepted only when the
//! declared `Content-Type` is PNG, JPEG, GIF or WebP **and** the bytes start with that format's
//! signature, so nothing else — SVG (which can carry script), HTML, a polyglot — is ever stored
//! or served. The logo is identified by the hex SHA-256 of its bytes; the gateway asks for it by
//! client_id and that id and gets it from the cache only ([`VerifierService::client_logo`]
//! never fetches).
//!
//! A logo that cannot be fetched or is refused never stops a client: the consent page shows
//! none, and the reason is in the resolution's audit record.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::fetch::{FetchError, Fetched, ResourceKind};
use crate::service::VerifierService;

/// A validated client logo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLogo {
    /// Lowercase hex SHA-256 of `data`.
    pub id: String,
    /// One of [`crate::fetch::LOGO_MEDIA_TYPES`], as sniffed (not as declared).
    pub content_type: &'static str,
    /// The image.
    pub data: Bytes,
}

/// The image type `bytes` start with, by file signature: PNG, JPEG, GIF (87a/89a) or WebP
/// (RIFF….WEBP). `None` for anything else.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn logo_id(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fetcher's validator for a logo: the declared type (already one of the four, checked by
/// the fetcher) must be the sniffed one.
pub fn validate_logo(fetched: &Fetched) -> Result<ClientLogo, String> {
    let declared = fetched
        .content_type
        .trim()
        .parse::<mime::Mime>()
        .map(|m| m.essence_str().to_ascii_lowercase())
        .unwrap_or_default();
    match sniff(&fetched.body) {
        Some(sniffed) if sniffed == declared => Ok(ClientLogo {
            id: logo_id(&fetched.body),
            content_type: sniffed,
            data: fetched.body.clone(),
        }),
        Some(sniffed) => Err(format!(
            "logo declared as {declared} but its bytes are {sniffed}"
        )),
        None => Err(format!(
            "logo declared as {declared} but its bytes are not an image of that type"
        )),
    }
}

/// What became of a logo prefetch, for the audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoOutcome {
    /// The document has no `logo_uri`.
    None,
    /// Prefetching is switched off.
    Disabled,
    /// Fetched (or already cached) and valid.
    Cached(String),
    /// Still loading after the wait; it stays in the cache for the next page if it succeeds.
    Pending,
    /// Refused or failed, with the fetcher's code.
    Refused(&'static str),
}

impl LogoOutcome {
    /// A short word for the audit record.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Disabled => "disabled",
            Self::Cached(_) => "cached",
            Self::Pending => "pending",
            Self::Refused(code) => code,
        }
    }

    /// The logo id when cached.
    pub fn id(&self) -> &str {
        match self {
            Self::Cached(id) => id,
            _ => "",
        }
    }
}

impl VerifierService {
    /// Prefetches `logo_uri` into the cache, waiting at most the configured time. The fetch runs
    /// as its own task, so a slow logo is still cached for the next consent page.
    pub(crate) async fn prefetch_logo(&self, logo_uri: Option<&str>) -> LogoOutcome {
        let Some(uri) = logo_uri.filter(|u| !u.is_empty()) else {
            return LogoOutcome::None;
        };
        let config = &self.inner.config;
        if !config.logo_prefetch {
            return LogoOutcome::Disabled;
        }
        let fetcher = self.inner.fetcher.clone();
        let url = uri.to_owned();
        let task = tokio::spawn(async move {
            fetcher
                .get_validated(&url, ResourceKind::ClientLogo, |fetched| {
                    validate_logo(fetched).map(|logo| (logo, None))
                })
                .await
        });
        let wait = Duration::from_millis(config.logo_wait_ms);
        match tokio::time::timeout(wait, task).await {
            Ok(Ok(Ok(logo))) => LogoOutcome::Cached(logo.id.clone()),
            Ok(Ok(Err(e))) => {
                tracing::info!(%uri, code = e.code(), error = %e, "client logo refused");
                LogoOutcome::Refused(logo_code(&e))
            }
            Ok(Err(join)) => {
                tracing::error!(error = %join, "logo prefetch task failed");
                LogoOutcome::Refused("logo_failed")
            }
            Err(_) => LogoOutcome::Pending,
        }
    }

    /// The logo shown on `client_id`'s consent page, from the cache only: the client's document
    /// and the logo at its `logo_uri` must both still be cached and the logo's id must be
    /// `logo_id`. Never fetches anything.
    pub async fn client_logo(&self, client_id: &str, logo_id: &str) -> Option<ClientLogo> {
        let fetcher = &self.inner.fetcher;
        let document = fetcher
            .cached::<crate::document::ClientDocument>(client_id, ResourceKind::ClientMetadata)
            .await?;
        let uri = document.validated.document.logo_uri.as_deref()?;
        let logo: Arc<ClientLogo> = fetcher.cached(uri, ResourceKind::ClientLogo).await?;
        (logo.id == logo_id).then(|| (*logo).clone())
    }
}

/// The audit word for a refused logo.
fn logo_code(e: &FetchError) -> &'static str {
    match e {
        FetchError::ContentType { .. } => "logo_content_type",
        FetchError::TooLarge { .. } => "logo_too_large",
        FetchError::Invalid(_) => "logo_not_an_image",
        FetchError::ForbiddenAddress { .. } => "logo_ssrf_blocked",
        FetchError::NotHttps | FetchError::InvalidUrl(_) => "logo_url_invalid",
        FetchError::Redirect { .. } | FetchError::Status { .. } => "logo_status",
        _ => "logo_unavailable",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn fetched(content_type: &str, body: &[u8]) -> Fetched {
        Fetched {
            url: url::Url::parse("https://a.test/logo").unwrap(),
            body: Bytes::copy_from_slice(body),
            content_type: content_type.to_owned(),
            fresh_for: Duration::from_secs(60),
            peer: "127.0.0.1:443".parse().unwrap(),
        }
    }

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
    const GIF: &[u8] = b"GIF89a\x01\0\x01\0";
    const WEBP: &[u8] = b"RIFF\x1a\0\0\0WEBPVP8 ";
    const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";

    // C13: the four raster formats are recognised by their signatures, SVG/HTML are not.
    #[test]
    fn c13_sniff_recognises_png_jpeg_gif_webp_only() {
        assert_eq!(sniff(PNG), Some("image/png"));
        assert_eq!(sniff(JPEG), Some("image/jpeg"));
        assert_eq!(sniff(GIF), Some("image/gif"));
        assert_eq!(sniff(b"GIF87a...."), Some("image/gif"));
        assert_eq!(sniff(WEBP), Some("image/webp"));
        assert_eq!(sniff(SVG), None);
        assert_eq!(sniff(b"<!doctype html><script>x</script>"), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(sniff(b""), None);
    }

    // C13: a logo is kept only when its declared type is what its bytes are.
    #[test]
    fn c13_declared_type_must_match_the_bytes() {
        let ok = validate_logo(&fetched("image/png", PNG)).unwrap();
        assert_eq!(ok.content_type, "image/png");
        assert_eq!(ok.id, logo_id(PNG));
        assert_eq!(ok.id.len(), 64);
        assert!(validate_logo(&fetched("Image/JPEG; x=y", JPEG)).is_ok());
        // An SVG (or HTML) sent as image/png is refused.
        assert!(validate_logo(&fetched("image/png", SVG)).is_err());
        // A GIF sent as image/png is refused too: what is served must be what was declared.
        assert!(validate_logo(&fetched("image/png", GIF)).is_err());
    }

    #[test]
    fn logo_id_is_lowercase_hex_sha256() {
        assert_eq!(
            logo_id(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    proptest::proptest! {
        #[test]
        fn sniff_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = sniff(&bytes);
        }
    }
}
