//! `RegistryConfig`: what the registry needs to know about its domain, with defaults and one
//! `validate()` run at start.

use serde::Deserialize;
use url::Url;

/// Configuration of the registry service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// The domain's public base URL, e.g. `https://alpha.example`. Agents get the client_id
    /// `<public_url>/agents/<id>/client-metadata.json`; DCR clients the registration URI
    /// `<public_url>/register/<client_id>`.
    pub public_url: Url,
    /// Largest hosted document, in bytes, credential included (C12: 5 KB).
    #[serde(default = "default_max_document_bytes")]
    pub max_document_bytes: usize,
    /// `Cache-Control: max-age` of a hosted document, in seconds.
    #[serde(default = "default_cimd_max_age_seconds")]
    pub cimd_max_age_seconds: u32,
    /// Page size of `ListAgents` when the caller gives none.
    #[serde(default = "default_page_size")]
    pub default_page_size: u32,
    /// Largest page of `ListAgents` (larger requests are clamped).
    #[serde(default = "default_max_page_size")]
    pub max_page_size: u32,
    /// Largest RFC 7591 registration request, in bytes.
    #[serde(default = "default_max_dcr_metadata_bytes")]
    pub max_dcr_metadata_bytes: usize,
}

fn default_max_document_bytes() -> usize {
    crossauthz_core::cimd::DEFAULT_MAX_DOCUMENT_BYTES
}
fn default_cimd_max_age_seconds() -> u32 {
    300
}
fn default_page_size() -> u32 {
    50
}
fn default_max_page_size() -> u32 {
    500
}
fn default_max_dcr_metadata_bytes() -> usize {
    16 * 1024
}

/// Why a [`RegistryConfig`] is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `public_url` is not `https://host[:port][/path]` without query, fragment or userinfo.
    #[error("public_url must be an https URL without userinfo, query or fragment (C1)")]
    PublicUrl,
    /// A numeric setting is zero or out of order.
    #[error("{0}")]
    Limit(&'static str),
}

impl RegistryConfig {
    /// A configuration with every default and the given public URL.
    pub fn new(public_url: Url) -> Self {
        Self {
            public_url,
            max_document_bytes: default_max_document_bytes(),
            cimd_max_age_seconds: default_cimd_max_age_seconds(),
            default_page_size: default_page_size(),
            max_page_size: default_max_page_size(),
            max_dcr_metadata_bytes: default_max_dcr_metadata_bytes(),
        }
    }

    /// Checks the settings once, at start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let u = &self.public_url;
        if u.scheme() != "https"
            || u.host_str().is_none()
            || !u.username().is_empty()
            || u.password().is_some()
            || u.query().is_some()
            || u.fragment().is_some()
        {
            return Err(ConfigError::PublicUrl);
        }
        if self.max_document_bytes == 0 {
            return Err(ConfigError::Limit("max_document_bytes must be positive"));
        }
        if self.default_page_size == 0 || self.max_page_size < self.default_page_size {
            return Err(ConfigError::Limit(
                "default_page_size must be positive and at most max_page_size",
            ));
        }
        if self.max_dcr_metadata_bytes == 0 {
            return Err(ConfigError::Limit(
                "max_dcr_metadata_bytes must be positive",
            ));
        }
        Ok(())
    }

    /// The public base URL without a trailing `/`.
    pub fn base(&self) -> &str {
        self.public_url.as_str().trim_end_matches('/')
    }

    /// The domain as the credential profile names it (`issuerDomain`): host and, if not the
    /// default, port.
    pub fn issuer_domain(&self) -> String {
        let host = self.public_url.host_str().unwrap_or_default();
        match self.public_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The client_id of agent `id`: `<public_url>/agents/<id>/client-metadata.json`.
    pub fn agent_client_id(&self, id: uuid::Uuid) -> String {
        format!(
            "{}/agents/{}/client-metadata.json",
            self.base(),
            id.hyphenated()
        )
    }

    /// The RFC 7592 `registration_client_uri` of a DCR client.
    pub fn registration_client_uri(&self, client_id: &str) -> String {
        format!("{}/register/{client_id}", self.base())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn client_id_has_no_double_slash_and_names_the_document() {
        let c = RegistryConfig::new(Url::parse("https://alpha.example/").unwrap());
        let id = uuid::Uuid::nil();
        assert_eq!(
            c.agent_client_id(id),
            "https://alpha.example/agents/00000000-0000-0000-0000-000000000000/client-metadata.json"
        );
        assert_eq!(c.issuer_domain(), "alpha.example");
        let c = RegistryConfig::new(Url::parse("https://alpha.localhost:8443").unwrap());
        assert_eq!(c.issuer_domain(), "alpha.localhost:8443");
        c.validate().unwrap();
    }

    #[test]
    fn config_refuses_non_https_and_zero_limits() {
        let c = RegistryConfig::new(Url::parse("http://alpha.example").unwrap());
        assert!(matches!(c.validate(), Err(ConfigError::PublicUrl)));
        let c = RegistryConfig::new(Url::parse("https://alpha.example/?q").unwrap());
        assert!(matches!(c.validate(), Err(ConfigError::PublicUrl)));
        let mut c = RegistryConfig::new(Url::parse("https://alpha.example").unwrap());
        c.default_page_size = 0;
        assert!(matches!(c.validate(), Err(ConfigError::Limit(_))));
    }

    #[test]
    fn config_deserialises_with_defaults() {
        let c: RegistryConfig =
            serde_json::from_str(r#"{"public_url":"https://alpha.example"}"#).unwrap();
        assert_eq!(c.max_document_bytes, 5120);
        assert_eq!(c.cimd_max_age_seconds, 300);
        assert!(
            serde_json::from_str::<RegistryConfig>(r#"{"public_url":"https://a.example","x":1}"#)
                .is_err()
        );
    }
}
