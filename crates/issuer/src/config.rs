//! `IssuerConfig`: the domain's public URL (its `did:web` identity), the signing algorithm of new
//! keys, validity bounds of credentials and signed status lists, where the master key comes
//! from — with defaults and `validate()`, which derives the [`Identity`] the service uses.

use std::path::PathBuf;

use crossauthz_core::jwk_policy::SigningAlg;
use crossauthz_credentials::did_web::did_web_from_url;
use serde::Deserialize;

use crate::master_key::{MASTER_KEY_ENV, MasterKey, MasterKeyError};

/// Default lifetime of a credential when the request gives none: one hour (short by default).
pub const DEFAULT_VALIDITY_SECONDS: u64 = 60 * 60;
/// Default upper bound of a credential's lifetime: one day.
pub const DEFAULT_MAX_VALIDITY_SECONDS: u64 = 24 * 60 * 60;
/// Default upper bound of a signed status list's lifetime: two days.
pub const DEFAULT_MAX_LIST_LIFETIME_SECONDS: u64 = 2 * 24 * 60 * 60;
/// Lifetime of a signed status list when the request gives none: one day.
pub const DEFAULT_LIST_LIFETIME_SECONDS: u64 = 24 * 60 * 60;
/// Default (and default maximum) lifetime of an access token: five minutes (short-lived,
/// RFC 9068 tokens are not revocable at the resource server).
pub const DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS: u64 = 300;
/// Largest access-token lifetime a configuration may allow: one hour.
pub const MAX_ACCESS_TOKEN_LIFETIME_SECONDS: u64 = 60 * 60;

/// Where the master key is read from at start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MasterKeySource {
    /// An environment variable holding the base64url key (`{"env": "CROSSAUTHZ_MASTER_KEY"}`).
    Env(String),
    /// A file holding the base64url key (`{"file": "/run/secrets/master.key"}`).
    File(PathBuf),
}

impl Default for MasterKeySource {
    fn default() -> Self {
        Self::Env(MASTER_KEY_ENV.to_owned())
    }
}

impl MasterKeySource {
    /// Reads the master key.
    pub fn load(&self) -> Result<MasterKey, MasterKeyError> {
        match self {
            Self::Env(var) => MasterKey::from_env(var),
            Self::File(path) => MasterKey::from_file(path),
        }
    }
}

/// What a `dc+sd-jwt` names as its issuer (`iss`). A `vc+jwt` always names the DID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SdJwtIssuer {
    /// `did:web:<host>`: verifiers resolve `/.well-known/did.json` (one discovery path for both
    /// formats, the trust list is keyed by DID).
    #[default]
    Did,
    /// The public URL: verifiers resolve `/.well-known/jwt-vc-issuer` (SD-JWT VC §3, V5).
    PublicUrl,
}

/// Configuration of the issuer service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerConfig {
    /// The domain's public base URL (the gateway), e.g. `https://alpha.example`: `https` (or
    /// `http` on a loopback host, for development), no path, query, fragment or userinfo. The
    /// issuer's DID is `did:web:<host>[%3A<port>]`; status lists are expected under
    /// `<public_url>/status/`.
    pub public_url: String,
    /// Algorithm of generated keys: `EdDSA` (Ed25519, default) or `ES256` (P-256).
    pub key_algorithm: SigningAlg,
    /// Credential lifetime when the request names none (seconds).
    pub default_validity_seconds: u64,
    /// Longest credential lifetime a request may ask for (seconds).
    pub max_validity_seconds: u64,
    /// Longest lifetime of a signed status list (seconds). A retired key stays published at
    /// least this long after its retirement, since lists it signed may still be served.
    pub max_status_list_lifetime_seconds: u64,
    /// `iss` of `dc+sd-jwt` credentials.
    pub sd_jwt_issuer: SdJwtIssuer,
    /// Where the master key is read from.
    pub master_key: MasterKeySource,
    /// Access-token lifetime when `SignAccessToken` names none (seconds; default 300).
    pub default_access_token_lifetime_seconds: u64,
    /// Longest access-token lifetime `SignAccessToken` accepts (seconds; default 300, at most
    /// 3600).
    pub max_access_token_lifetime_seconds: u64,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        Self {
            public_url: String::new(),
            key_algorithm: SigningAlg::EdDSA,
            default_validity_seconds: DEFAULT_VALIDITY_SECONDS,
            max_validity_seconds: DEFAULT_MAX_VALIDITY_SECONDS,
            max_status_list_lifetime_seconds: DEFAULT_MAX_LIST_LIFETIME_SECONDS,
            sd_jwt_issuer: SdJwtIssuer::Did,
            master_key: MasterKeySource::default(),
            default_access_token_lifetime_seconds: DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS,
            max_access_token_lifetime_seconds: DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS,
        }
    }
}

/// Why a configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `public_url` is not an absolute URL.
    #[error("public_url is not an absolute URL")]
    PublicUrlMalformed,
    /// `public_url` is not https (nor http on loopback), has a path, query, fragment or
    /// userinfo, or has no host a `did:web` can name.
    #[error(
        "public_url must be https (http only on loopback) with a host and no path, query, fragment or userinfo"
    )]
    PublicUrlNotAllowed,
    /// A validity or lifetime bound is zero.
    #[error("{0} must be positive")]
    NotPositive(&'static str),
    /// The default credential validity exceeds the maximum.
    #[error("default_validity_seconds must not exceed max_validity_seconds")]
    DefaultAboveMax,
    /// The default access-token lifetime exceeds the maximum, or the maximum exceeds
    /// [`MAX_ACCESS_TOKEN_LIFETIME_SECONDS`].
    #[error(
        "access-token lifetimes: default must not exceed max, max must not exceed {MAX_ACCESS_TOKEN_LIFETIME_SECONDS} s"
    )]
    AccessTokenLifetime,
    /// A bound is so large it cannot be represented as a time span.
    #[error("{0} is too large")]
    TooLarge(&'static str),
}

/// The identity derived from a valid configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `public_url` without a trailing `/`: the `jwt-vc-issuer` `issuer`.
    pub base_url: String,
    /// `did:web:<host>[%3A<port>]`.
    pub did: String,
    /// `<host>[:<port>]`: the `issuerDomain` claim.
    pub domain: String,
    /// `<base_url>/status/`: every status list URL starts with it.
    pub status_prefix: String,
}

/// Ten years: no sane bound is larger, and every sum with it stays inside chrono's range.
const MAX_BOUND_SECONDS: u64 = 10 * 366 * 24 * 60 * 60;

impl IssuerConfig {
    /// A default configuration for `public_url`.
    pub fn new(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into(),
            ..Self::default()
        }
    }

    /// Checks every field and derives the issuer's identity.
    pub fn validate(&self) -> Result<Identity, ConfigError> {
        for (name, v) in [
            ("default_validity_seconds", self.default_validity_seconds),
            ("max_validity_seconds", self.max_validity_seconds),
            (
                "max_status_list_lifetime_seconds",
                self.max_status_list_lifetime_seconds,
            ),
        ] {
            if v == 0 {
                return Err(ConfigError::NotPositive(name));
            }
            if v > MAX_BOUND_SECONDS {
                return Err(ConfigError::TooLarge(name));
            }
        }
        if self.default_validity_seconds > self.max_validity_seconds {
            return Err(ConfigError::DefaultAboveMax);
        }
        if self.default_access_token_lifetime_seconds == 0 {
            return Err(ConfigError::NotPositive(
                "default_access_token_lifetime_seconds",
            ));
        }
        if self.default_access_token_lifetime_seconds > self.max_access_token_lifetime_seconds
            || self.max_access_token_lifetime_seconds > MAX_ACCESS_TOKEN_LIFETIME_SECONDS
        {
            return Err(ConfigError::AccessTokenLifetime);
        }
        identity(&self.public_url)
    }
}

fn identity(public_url: &str) -> Result<Identity, ConfigError> {
    let url = url::Url::parse(public_url).map_err(|_| ConfigError::PublicUrlMalformed)?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(ConfigError::PublicUrlNotAllowed),
    };
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(ConfigError::PublicUrlNotAllowed);
    }
    let host = url.host_str().ok_or(ConfigError::PublicUrlNotAllowed)?;
    let domain = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    // did:web always means https; an http loopback URL (development) names the same host.
    let did = did_web_from_url(&format!("https://{domain}"))
        .map_err(|_| ConfigError::PublicUrlNotAllowed)?;
    let base_url = url.as_str().trim_end_matches('/').to_owned();
    Ok(Identity {
        status_prefix: format!("{base_url}/status/"),
        base_url,
        did,
        domain,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn identity_of_a_public_url() {
        let id = IssuerConfig::new("https://alpha.example/")
            .validate()
            .unwrap();
        assert_eq!(id.base_url, "https://alpha.example");
        assert_eq!(id.did, "did:web:alpha.example");
        assert_eq!(id.domain, "alpha.example");
        assert_eq!(id.status_prefix, "https://alpha.example/status/");
        let id = IssuerConfig::new("https://alpha.localhost:8443")
            .validate()
            .unwrap();
        assert_eq!(id.did, "did:web:alpha.localhost%3A8443");
        assert_eq!(id.domain, "alpha.localhost:8443");
        let id = IssuerConfig::new("http://127.0.0.1:8080")
            .validate()
            .unwrap();
        assert_eq!(id.did, "did:web:127.0.0.1%3A8080");
    }

    #[test]
    fn public_url_rules() {
        for bad in [
            "http://alpha.example",
            "https://alpha.example/prefix",
            "https://alpha.example/?q",
            "https://alpha.example/#f",
            "https://u:p@alpha.example",
            "ftp://alpha.example",
        ] {
            assert_eq!(
                IssuerConfig::new(bad).validate().unwrap_err(),
                ConfigError::PublicUrlNotAllowed,
                "{bad}"
            );
        }
        for bad in ["", "alpha.example", "https://"] {
            assert_eq!(
                IssuerConfig::new(bad).validate().unwrap_err(),
                ConfigError::PublicUrlMalformed,
                "{bad}"
            );
        }
    }

    #[test]
    fn bounds_are_checked() {
        let mut c = IssuerConfig::new("https://a.example");
        c.max_validity_seconds = 0;
        assert_eq!(
            c.validate().unwrap_err(),
            ConfigError::NotPositive("max_validity_seconds")
        );
        c.max_validity_seconds = 60;
        assert_eq!(c.validate().unwrap_err(), ConfigError::DefaultAboveMax);
        c.max_validity_seconds = u64::MAX;
        assert_eq!(
            c.validate().unwrap_err(),
            ConfigError::TooLarge("max_validity_seconds")
        );
    }

    #[test]
    fn deserialises_with_defaults_and_refuses_unknown_fields() {
        let c: IssuerConfig = serde_json::from_str(
            r#"{"public_url":"https://a.example","key_algorithm":"ES256","master_key":{"file":"/run/k"}}"#,
        )
        .unwrap();
        assert_eq!(c.key_algorithm, SigningAlg::ES256);
        assert_eq!(c.master_key, MasterKeySource::File("/run/k".into()));
        assert_eq!(c.default_validity_seconds, 3600);
        assert_eq!(c.sd_jwt_issuer, SdJwtIssuer::Did);
        assert!(serde_json::from_str::<IssuerConfig>(r#"{"bogus":1}"#).is_err());
        assert_eq!(
            IssuerConfig::default().master_key,
            MasterKeySource::Env("CROSSAUTHZ_MASTER_KEY".into())
        );
    }

    proptest::proptest! {
        // Any public_url is accepted or refused without panicking.
        #[test]
        fn any_public_url_never_panics(s in ".*") {
            let _ = IssuerConfig::new(s).validate();
        }
    }
}
