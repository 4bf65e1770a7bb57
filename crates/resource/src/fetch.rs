//! The outbound HTTPS client of the resource server: the only code that talks to an
//! authorization server (RFC 8414 metadata and its `jwks_uri`).
//!
//! https only, no redirects, bounded time and size, JSON only. The URLs it fetches are the
//! operator-configured authorization servers and the `jwks_uri` their metadata names, never a
//! URL taken from a token, so no SSRF address filter is applied here.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;
use url::Url;

use crate::config::{ConfigError, ResourceConfig};

/// Largest metadata or JWKS document accepted (bytes).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Why a document could not be fetched from an authorization server. Never a definite answer
/// about a token: the resource server answers 503 and tries again later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL is not https.
    #[error("refusing to fetch a non-https URL")]
    NotHttps,
    /// Connection, TLS, timeout or protocol failure.
    #[error("request failed: {0}")]
    Transport(String),
    /// The server answered something other than 200 (redirects are not followed).
    #[error("unexpected HTTP status {0}")]
    Status(u16),
    /// The response is not `application/json` (or a `+json` type).
    #[error("response is not JSON (content type {0:?})")]
    NotJson(Option<String>),
    /// The body exceeds [`MAX_DOCUMENT_BYTES`].
    #[error("response is larger than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge,
    /// The body is not a JSON object.
    #[error("response is not a JSON object")]
    Malformed,
    /// The AS metadata `issuer` is not the issuer it was fetched for (RFC 8414 §3.3).
    #[error("AS metadata names issuer `{found}`, expected `{expected}` (RFC 8414 §3.3)")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The metadata's `issuer`.
        found: String,
    },
    /// The AS metadata has no usable `jwks_uri` (missing, not a string, not https).
    #[error("AS metadata has no https `jwks_uri`")]
    NoJwksUri,
    /// The JWK Set was refused (malformed, private or invalid key, duplicate `kid`).
    #[error("JWKS refused: {0}")]
    BadJwks(String),
}

/// A `reqwest` client builder with the resource server's policy applied: https only, no
/// redirects, the configured timeout and extra root CA. Tests add `.resolve(..)` before `build()`.
pub fn client_builder(config: &ResourceConfig) -> Result<reqwest::ClientBuilder, ConfigError> {
    let mut builder = reqwest::Client::builder()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.http_timeout())
        .connect_timeout(config.http_timeout())
        .user_agent(concat!("crossauthz-resource/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = &config.extra_root_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|_| ConfigError::InvalidRootCa)?;
        builder = builder.tls_certs_merge(certs);
    }
    Ok(builder)
}

/// The client built from [`client_builder`].
pub fn client(config: &ResourceConfig) -> Result<reqwest::Client, ConfigError> {
    client_builder(config)?
        .build()
        .map_err(|e| ConfigError::HttpClient(e.to_string()))
}

fn is_json(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// GETs `url` and returns its body as a JSON object, enforcing https, status 200, a JSON media
/// type and [`MAX_DOCUMENT_BYTES`] (checked while streaming, not only from `Content-Length`).
/// The request carries the current trace context (`traceparent`), so the Authorization Server's
/// spans join the trace of the request that needed its keys.
pub async fn get_json(client: &reqwest::Client, url: &Url) -> Result<Value, FetchError> {
    if url.scheme() != "https" {
        return Err(FetchError::NotHttps);
    }
    let mut response = client
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .headers(crossauthz_telemetry::propagation::current_headers())
        .send()
        .await
        .map_err(|e| FetchError::Transport(e.without_url().to_string()))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(FetchError::Status(response.status().as_u16()));
    }
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !content_type.as_deref().is_some_and(is_json) {
        return Err(FetchError::NotJson(content_type));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::Transport(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(FetchError::Malformed),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/jwk-set+json"));
        assert!(!is_json("text/html"));
        assert!(!is_json("application/jsonx"));
    }

    #[tokio::test]
    async fn plain_http_urls_are_refused_before_any_connection() {
        let config = ResourceConfig::new(
            Url::parse("https://r.test/mcp").unwrap(),
            vec![Url::parse("https://as.test").unwrap()],
        );
        let c = client(&config).unwrap();
        let err = get_json(&c, &Url::parse("http://127.0.0.1:1/x").unwrap())
            .await
            .unwrap_err();
        assert_eq!(err, FetchError::NotHttps);
    }
}
