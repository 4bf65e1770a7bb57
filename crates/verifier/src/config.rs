//! [`VerifierConfig`]: this AS's issuer identifier, the time tolerances of client
//! authentication and key binding, how often the admin settings are re-read, and the fetcher.

use serde::Deserialize;

use crate::fetch::FetcherConfig;

/// Largest clock skew accepted in configuration, in seconds.
pub const MAX_CLOCK_SKEW_SECONDS: u64 = 300;
/// Largest client-assertion lifetime accepted in configuration, in seconds.
pub const MAX_ASSERTION_LIFETIME_SECONDS: u64 = 3600;
/// Longest a client resolution may wait for the client's logo, in milliseconds.
pub const MAX_LOGO_WAIT_MS: u64 = 10_000;

/// Why a [`VerifierConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `issuer` is not an https URL without query or fragment (A1, RFC 8414 §2).
    #[error("issuer {0:?} must be an https URL without query or fragment (A1)")]
    Issuer(String),
    /// `clock_skew_seconds` above [`MAX_CLOCK_SKEW_SECONDS`].
    #[error("clock_skew_seconds {0} is above the {MAX_CLOCK_SKEW_SECONDS} s maximum")]
    Skew(u64),
    /// `max_assertion_lifetime_seconds` is zero or above [`MAX_ASSERTION_LIFETIME_SECONDS`].
    #[error(
        "max_assertion_lifetime_seconds {0} must be in 1..={MAX_ASSERTION_LIFETIME_SECONDS} (P4: exp short)"
    )]
    AssertionLifetime(u64),
    /// `key_binding_max_age_seconds` is zero.
    #[error("key_binding_max_age_seconds must be greater than zero")]
    KeyBindingMaxAge,
    /// `logo_wait_ms` is zero or above [`MAX_LOGO_WAIT_MS`].
    #[error("logo_wait_ms {0} must be in 1..={MAX_LOGO_WAIT_MS}")]
    LogoWait(u64),
    /// The fetcher settings are inconsistent.
    #[error("fetcher: {0}")]
    Fetcher(String),
}

/// Configuration of the verifier service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerifierConfig {
    /// This AS's issuer identifier (RFC 8414), e.g. `https://beta.example`. A client assertion's
    /// `aud` must be exactly this string (P3); a KB-JWT's `aud` too.
    pub issuer: String,
    /// Clock skew tolerated on `exp`, `nbf`, `iat` of assertions, credentials and KB-JWTs
    /// (default 60 s, at most 300 s).
    pub clock_skew_seconds: u64,
    /// How far ahead of now a client assertion's `exp` may be (default 300 s; P4 "short").
    pub max_assertion_lifetime_seconds: u64,
    /// How old a KB-JWT's `iat` may be (default 300 s; S7).
    pub key_binding_max_age_seconds: u64,
    /// How long the trust list, policy set and resources are kept in memory before they are
    /// read from the store again (default 5 s; `0` = on every decision). A change made through
    /// this replica is visible at once; other replicas see it within this interval.
    pub settings_refresh_seconds: u64,
    /// Prefetch and cache the client's `logo_uri` when resolving it for the consent page, so
    /// the page shows it from this domain's origin (C13; default `true`).
    pub logo_prefetch: bool,
    /// How long a client resolution waits for the logo (default 2000 ms); a slower logo is
    /// left off that page and cached for the next one.
    pub logo_wait_ms: u64,
    /// The SSRF-safe fetcher (address policy, trust roots, timeouts, cache bounds, size caps).
    pub fetcher: FetcherConfig,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            clock_skew_seconds: 60,
            max_assertion_lifetime_seconds: 300,
            key_binding_max_age_seconds: 300,
            settings_refresh_seconds: 5,
            logo_prefetch: true,
            logo_wait_ms: 2000,
            fetcher: FetcherConfig::default(),
        }
    }
}

impl VerifierConfig {
    /// A configuration for the AS with issuer identifier `issuer`, other settings default.
    pub fn for_issuer(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            ..Self::default()
        }
    }

    /// Checks every setting; call once at start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let issuer_ok = url::Url::parse(&self.issuer).is_ok_and(|u| {
            u.scheme() == "https"
                && u.host_str().is_some_and(|h| !h.is_empty())
                && u.query().is_none()
                && u.fragment().is_none()
                && u.username().is_empty()
                && u.password().is_none()
        }) && !self.issuer.contains('#')
            && !self.issuer.contains('?');
        if !issuer_ok {
            return Err(ConfigError::Issuer(self.issuer.clone()));
        }
        if self.clock_skew_seconds > MAX_CLOCK_SKEW_SECONDS {
            return Err(ConfigError::Skew(self.clock_skew_seconds));
        }
        if self.max_assertion_lifetime_seconds == 0
            || self.max_assertion_lifetime_seconds > MAX_ASSERTION_LIFETIME_SECONDS
        {
            return Err(ConfigError::AssertionLifetime(
                self.max_assertion_lifetime_seconds,
            ));
        }
        if self.key_binding_max_age_seconds == 0 {
            return Err(ConfigError::KeyBindingMaxAge);
        }
        if self.logo_wait_ms == 0 || self.logo_wait_ms > MAX_LOGO_WAIT_MS {
            return Err(ConfigError::LogoWait(self.logo_wait_ms));
        }
        self.fetcher
            .validate()
            .map_err(|e| ConfigError::Fetcher(e.to_string()))
    }

    /// The clock skew as a chrono duration.
    pub(crate) fn skew(&self) -> chrono::TimeDelta {
        seconds(self.clock_skew_seconds)
    }

    /// The maximum assertion lifetime as a chrono duration.
    pub(crate) fn max_assertion_lifetime(&self) -> chrono::TimeDelta {
        seconds(self.max_assertion_lifetime_seconds)
    }

    /// The maximum KB-JWT age as a chrono duration.
    pub(crate) fn key_binding_max_age(&self) -> chrono::TimeDelta {
        seconds(self.key_binding_max_age_seconds)
    }
}

/// Seconds as a chrono duration, saturating (the values are bounded by `validate`).
fn seconds(s: u64) -> chrono::TimeDelta {
    chrono::TimeDelta::try_seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
        .unwrap_or(chrono::TimeDelta::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a1_issuer_must_be_https_without_query_or_fragment() {
        VerifierConfig::for_issuer("https://beta.example")
            .validate()
            .unwrap();
        VerifierConfig::for_issuer("https://beta.example/tenant")
            .validate()
            .unwrap();
        for bad in [
            "",
            "http://beta.example",
            "https://beta.example?x=1",
            "https://beta.example#f",
            "https://u@beta.example",
            "beta.example",
        ] {
            assert!(
                matches!(
                    VerifierConfig::for_issuer(bad).validate(),
                    Err(ConfigError::Issuer(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn p4_assertion_lifetime_and_skew_are_bounded() {
        let mut c = VerifierConfig::for_issuer("https://beta.example");
        c.max_assertion_lifetime_seconds = 0;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::AssertionLifetime(0))
        ));
        c.max_assertion_lifetime_seconds = 7200;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::AssertionLifetime(7200))
        ));
        c.max_assertion_lifetime_seconds = 300;
        c.clock_skew_seconds = 301;
        assert!(matches!(c.validate(), Err(ConfigError::Skew(301))));
        c.clock_skew_seconds = 0;
        c.key_binding_max_age_seconds = 0;
        assert!(matches!(c.validate(), Err(ConfigError::KeyBindingMaxAge)));
    }

    #[test]
    fn config_deserializes_with_defaults_and_refuses_unknown_keys() {
        let c: VerifierConfig = serde_json::from_value(serde_json::json!({
            "issuer": "https://beta.example",
            "clock_skew_seconds": 30,
            "fetcher": { "allow_loopback": true }
        }))
        .unwrap();
        assert_eq!(c.clock_skew_seconds, 30);
        assert_eq!(c.max_assertion_lifetime_seconds, 300);
        assert!(c.fetcher.allow_loopback);
        assert!(serde_json::from_value::<VerifierConfig>(serde_json::json!({"x": 1})).is_err());
    }
}
