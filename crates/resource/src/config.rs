//! The resource server's configuration ([`ResourceConfig`]) and the identifier rules it relies on:
//! the canonical resource identifier (RFC 8707, M5), the authorization servers it trusts (M6),
//! and how identifiers are compared (audience with an upper-case scheme/host variant, M5; issuer
//! identifiers per RFC 8414 §3.3).

use std::time::Duration;

use crossauthz_core::scope::{ScopeError, ScopeSet};
use serde::Deserialize;
use url::Url;

/// Why a [`ResourceConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The resource identifier is not an absolute `https` URL (RFC 8707 §2, RFC 9728 §1.2).
    #[error("resource identifier must be an https URL (RFC 8707 §2)")]
    ResourceNotHttps,
    /// The resource identifier has a fragment (RFC 8707 §2: MUST NOT), a query (SHOULD NOT; not
    /// supported here) or user info.
    #[error("resource identifier must not have a {0} (RFC 8707 §2, M5)")]
    ResourceHasForbiddenPart(&'static str),
    /// No authorization server is configured (M6: at least one `authorization_servers` entry).
    #[error("at least one authorization server is required (M6, RFC 9728 §2)")]
    NoAuthorizationServer,
    /// An authorization server issuer identifier is not https without query or fragment
    /// (RFC 8414 §2).
    #[error(
        "authorization server `{url}` is not a valid issuer identifier: {reason} (RFC 8414 §2)"
    )]
    InvalidAuthorizationServer {
        /// The configured value.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `scopes_supported` entry is not a scope-token (RFC 6749 §3.3).
    #[error("invalid scope in scopes_supported: {0}")]
    InvalidScope(#[from] ScopeError),
    /// A duration that must be positive is zero, or the refresh interval exceeds the cache time.
    #[error("invalid duration: {0}")]
    InvalidDuration(&'static str),
    /// The extra root CA is not a PEM certificate bundle.
    #[error("extra_root_ca_pem is not a PEM certificate bundle")]
    InvalidRootCa,
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
}

/// How a resource server protects itself with a crossauthz Authorization Server.
///
/// Deserialisable from a config file; every member but `resource` and `authorization_servers` has
/// a default. Call [`ResourceConfig::validate`] (the constructors of
/// [`crate::ProtectedResource`] do) before use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// The canonical resource identifier, e.g. `https://mcp.beta.test/mcp` (RFC 8707, M5): the
    /// audience access tokens must be bound to, and the `resource` of the RFC 9728 metadata.
    pub resource: Url,
    /// Issuer identifiers of the authorization servers whose tokens are accepted (at least one,
    /// M6), e.g. `https://beta.test`.
    pub authorization_servers: Vec<Url>,
    /// Scopes this resource understands, published as `scopes_supported`.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// Human-readable name published as `resource_name`.
    #[serde(default)]
    pub resource_name: Option<String>,
    /// Developer documentation URL published as `resource_documentation`.
    #[serde(default)]
    pub resource_documentation: Option<Url>,
    /// Allowed clock skew when checking `exp`, `nbf` and `iat` (seconds; default 60).
    #[serde(default = "defaults::clock_skew_seconds")]
    pub clock_skew_seconds: u64,
    /// Oldest accepted `iat` (seconds before now; default 86400). Access tokens are short-lived;
    /// this bounds the damage of a token minted with a far-future `exp`.
    #[serde(default = "defaults::max_token_age_seconds")]
    pub max_token_age_seconds: u64,
    /// How long a fetched JWKS is used before it is fetched again (seconds; default 300).
    #[serde(default = "defaults::jwks_cache_seconds")]
    pub jwks_cache_seconds: u64,
    /// Minimum time between two fetches of one AS's keys, whatever the reason (an unknown `kid`,
    /// a failed fetch). A flood of tokens with made-up `kid`s costs the AS at most one request per
    /// interval (seconds; default 30; must not exceed `jwks_cache_seconds`).
    #[serde(default = "defaults::jwks_refresh_min_interval_seconds")]
    pub jwks_refresh_min_interval_seconds: u64,
    /// Timeout of one metadata or JWKS request (seconds; default 10).
    #[serde(default = "defaults::http_timeout_seconds")]
    pub http_timeout_seconds: u64,
    /// An extra trusted root CA (PEM), added to the platform roots; for development domains
    /// served with the crossauthz development CA.
    #[serde(default)]
    pub extra_root_ca_pem: Option<String>,
}

mod defaults {
    pub fn clock_skew_seconds() -> u64 {
        60
    }
    pub fn max_token_age_seconds() -> u64 {
        86_400
    }
    pub fn jwks_cache_seconds() -> u64 {
        300
    }
    pub fn jwks_refresh_min_interval_seconds() -> u64 {
        30
    }
    pub fn http_timeout_seconds() -> u64 {
        10
    }
}

impl ResourceConfig {
    /// A configuration with the defaults for everything but the resource and its authorization
    /// servers.
    pub fn new(resource: Url, authorization_servers: Vec<Url>) -> Self {
        Self {
            resource,
            authorization_servers,
            scopes_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
            clock_skew_seconds: defaults::clock_skew_seconds(),
            max_token_age_seconds: defaults::max_token_age_seconds(),
            jwks_cache_seconds: defaults::jwks_cache_seconds(),
            jwks_refresh_min_interval_seconds: defaults::jwks_refresh_min_interval_seconds(),
            http_timeout_seconds: defaults::http_timeout_seconds(),
            extra_root_ca_pem: None,
        }
    }

    /// Checks every rule: https resource without fragment, query or user info (M5); at least one
    /// authorization server (M6), each an https issuer identifier without query or fragment;
    /// valid scope tokens; positive durations with the refresh interval within the cache time.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let r = &self.resource;
        if r.scheme() != "https" || r.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::ResourceNotHttps);
        }
        if r.fragment().is_some() {
            return Err(ConfigError::ResourceHasForbiddenPart("fragment"));
        }
        if r.query().is_some() {
            return Err(ConfigError::ResourceHasForbiddenPart("query"));
        }
        if !r.username().is_empty() || r.password().is_some() {
            return Err(ConfigError::ResourceHasForbiddenPart("user info"));
        }
        if self.authorization_servers.is_empty() {
            return Err(ConfigError::NoAuthorizationServer);
        }
        for a in &self.authorization_servers {
            let bad = |reason| ConfigError::InvalidAuthorizationServer {
                url: a.to_string(),
                reason,
            };
            if a.scheme() != "https" || a.host_str().is_none_or(str::is_empty) {
                return Err(bad("not an https URL"));
            }
            if a.query().is_some() || a.fragment().is_some() {
                return Err(bad("has a query or fragment"));
            }
            if !a.username().is_empty() || a.password().is_some() {
                return Err(bad("has user info"));
            }
        }
        ScopeSet::from_tokens(&self.scopes_supported)?;
        if self.jwks_cache_seconds == 0 || self.http_timeout_seconds == 0 {
            return Err(ConfigError::InvalidDuration(
                "jwks_cache_seconds and http_timeout_seconds must be positive",
            ));
        }
        if self.jwks_refresh_min_interval_seconds > self.jwks_cache_seconds {
            return Err(ConfigError::InvalidDuration(
                "jwks_refresh_min_interval_seconds must not exceed jwks_cache_seconds",
            ));
        }
        if self.max_token_age_seconds == 0 {
            return Err(ConfigError::InvalidDuration(
                "max_token_age_seconds must be positive",
            ));
        }
        if let Some(pem) = &self.extra_root_ca_pem {
            match reqwest::Certificate::from_pem_bundle(pem.as_bytes()) {
                Ok(certs) if !certs.is_empty() => {}
                _ => return Err(ConfigError::InvalidRootCa),
            }
        }
        Ok(())
    }

    /// The HTTP timeout as a [`Duration`].
    pub fn http_timeout(&self) -> Duration {
        Duration::from_secs(self.http_timeout_seconds)
    }

    /// The resource identifier as published and compared ([`identifier`]).
    pub fn resource_identifier(&self) -> String {
        identifier(&self.resource)
    }
}

/// The string form of an https identifier URL: the URL as serialised, except that the root path
/// `/` is dropped (`https://as.example/` → `https://as.example`), the form RFC 8414 issuers and
/// MCP canonical server URIs use.
pub fn identifier(url: &Url) -> String {
    let s = url.as_str();
    if url.path() == "/" && url.query().is_none() && url.fragment().is_none() {
        s.strip_suffix('/').unwrap_or(s).to_owned()
    } else {
        s.to_owned()
    }
}

/// True if a token's or metadata document's `iss`/`issuer` names the configured authorization
/// server: identical to [`identifier`] of it, or to its serialisation with the root `/` (the two
/// spellings of one root-path URL). Otherwise an exact string comparison (RFC 8414 §3.3,
/// RFC 9068 §4).
pub fn issuer_matches(iss: &str, configured: &Url) -> bool {
    iss == identifier(configured) || iss == configured.as_str()
}

/// Splits an absolute URL string into lower-cased `scheme://authority` and the rest as is, with
/// a lone `/` rest treated as empty.
fn canonical_identifier(s: &str) -> Option<String> {
    let (scheme, rest) = s.split_once("://")?;
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    if scheme.is_empty() || authority.is_empty() {
        return None;
    }
    let tail = if tail == "/" { "" } else { tail };
    Some(format!(
        "{}://{}{tail}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

/// True if an `aud` value names this resource (M5): equal to the resource identifier, comparing
/// scheme and host ASCII case-insensitively (an upper-case scheme/host variant is accepted) and
/// the path exactly; `https://h` and `https://h/` are the same root. No other normalisation (no
/// dot segments, no default port, no percent-decoding).
pub fn audience_matches(aud: &str, resource: &Url) -> bool {
    match (
        canonical_identifier(aud),
        canonical_identifier(resource.as_str()),
    ) {
        (Some(a), Some(r)) => a == r,
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn config() -> ResourceConfig {
        ResourceConfig::new(
            url("https://mcp.beta.test/mcp"),
            vec![url("https://beta.test")],
        )
    }

    // RFC 8707 §2, M5: upper-case scheme/host accepted; path compared exactly.
    #[test]
    fn m5_audience_accepts_upper_case_scheme_and_host_only() {
        let r = url("https://mcp.beta.test/mcp");
        assert!(audience_matches("https://mcp.beta.test/mcp", &r));
        assert!(audience_matches("HTTPS://MCP.Beta.Test/mcp", &r));
        assert!(!audience_matches("https://mcp.beta.test/MCP", &r));
        assert!(!audience_matches("https://mcp.beta.test/mcp/", &r));
        assert!(!audience_matches("https://mcp.beta.test/x/../mcp", &r));
        assert!(!audience_matches("https://mcp.beta.test/mcp#f", &r));
        assert!(!audience_matches("https://mcp.beta.test:443/mcp", &r));
        assert!(!audience_matches("https://other.test/mcp", &r));
        assert!(!audience_matches("mcp.beta.test/mcp", &r));
        assert!(!audience_matches("", &r));
        let root = url("https://mcp.beta.test");
        assert!(audience_matches("https://mcp.beta.test", &root));
        assert!(audience_matches("https://MCP.BETA.TEST/", &root));
    }

    // RFC 8414 §3.3: the issuer compares exactly, modulo the root-path slash of one URL.
    #[test]
    fn issuer_identifier_compares_exactly_modulo_root_slash() {
        let a = url("https://beta.test");
        assert_eq!(identifier(&a), "https://beta.test");
        assert!(issuer_matches("https://beta.test", &a));
        assert!(issuer_matches("https://beta.test/", &a));
        assert!(!issuer_matches("https://BETA.test", &a));
        assert!(!issuer_matches("https://beta.test/x", &a));
        let p = url("https://beta.test/tenant");
        assert!(issuer_matches("https://beta.test/tenant", &p));
        assert!(!issuer_matches("https://beta.test/tenant/", &p));
    }

    #[test]
    fn m6_at_least_one_authorization_server_is_required() {
        let mut c = config();
        assert_eq!(c.validate(), Ok(()));
        c.authorization_servers.clear();
        assert_eq!(c.validate(), Err(ConfigError::NoAuthorizationServer));
    }

    #[test]
    fn m5_resource_must_be_https_without_fragment_or_query() {
        let mut c = config();
        c.resource = url("http://mcp.beta.test/mcp");
        assert_eq!(c.validate(), Err(ConfigError::ResourceNotHttps));
        c.resource = url("https://mcp.beta.test/mcp#x");
        assert_eq!(
            c.validate(),
            Err(ConfigError::ResourceHasForbiddenPart("fragment"))
        );
        c.resource = url("https://mcp.beta.test/mcp?x=1");
        assert_eq!(
            c.validate(),
            Err(ConfigError::ResourceHasForbiddenPart("query"))
        );
        c.resource = url("https://u@mcp.beta.test/mcp");
        assert_eq!(
            c.validate(),
            Err(ConfigError::ResourceHasForbiddenPart("user info"))
        );
    }

    #[test]
    fn config_refuses_bad_servers_scopes_durations_and_ca() {
        let mut c = config();
        c.authorization_servers = vec![url("http://beta.test")];
        assert!(matches!(
            c.validate(),
            Err(ConfigError::InvalidAuthorizationServer { .. })
        ));
        let mut c = config();
        c.scopes_supported = vec!["logs read".into()];
        assert!(matches!(c.validate(), Err(ConfigError::InvalidScope(_))));
        let mut c = config();
        c.jwks_refresh_min_interval_seconds = c.jwks_cache_seconds + 1;
        assert!(matches!(c.validate(), Err(ConfigError::InvalidDuration(_))));
        let mut c = config();
        c.extra_root_ca_pem = Some("not pem".into());
        assert_eq!(c.validate(), Err(ConfigError::InvalidRootCa));
    }

    #[test]
    fn config_deserialises_with_defaults_and_refuses_unknown_keys() {
        let c: ResourceConfig = serde_json::from_str(
            r#"{"resource":"https://mcp.beta.test/mcp","authorization_servers":["https://beta.test"]}"#,
        )
        .unwrap();
        assert_eq!(c, config());
        assert!(
            serde_json::from_str::<ResourceConfig>(
                r#"{"resource":"https://r.test/","authorization_servers":[],"nope":1}"#
            )
            .is_err()
        );
    }
}
