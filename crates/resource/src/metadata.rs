//! OAuth 2.0 Protected Resource Metadata (RFC 9728, A2, M6): the document and its well-known
//! URL.
//!
//! The metadata URL is built by inserting `/.well-known/oauth-protected-resource` between the
//! host and the path of the resource identifier (RFC 9728 §3.1), so for
//! `https://mcp.beta.test/mcp` it is
//! `https://mcp.beta.test/.well-known/oauth-protected-resource/mcp`, and the document's
//! `resource` is exactly that identifier (§3.3).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::{ResourceConfig, identifier};

/// The RFC 9728 well-known path prefix.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// The RFC 9728 metadata document of this resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceMetadata {
    /// The resource identifier (REQUIRED, §2), identical to the one the metadata URL is built
    /// from (§3.3).
    pub resource: String,
    /// Issuer identifiers of the authorization servers (at least one, M6).
    pub authorization_servers: Vec<String>,
    /// Scopes the resource understands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How the token may be presented: the `Authorization` header only (RFC 6750 §2.1).
    pub bearer_methods_supported: Vec<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Developer documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
}

impl ResourceMetadata {
    /// The metadata of a (validated) configuration.
    pub fn from_config(config: &ResourceConfig) -> Self {
        Self {
            resource: identifier(&config.resource),
            authorization_servers: config
                .authorization_servers
                .iter()
                .map(identifier)
                .collect(),
            scopes_supported: config.scopes_supported.clone(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: config.resource_name.clone(),
            resource_documentation: config.resource_documentation.as_ref().map(identifier),
        }
    }
}

/// The metadata URL of `resource` (RFC 9728 §3.1): the well-known prefix inserted between the
/// host and the path; a root resource gets the bare prefix. Query and fragment are dropped
/// (a validated resource has none).
pub fn metadata_url(resource: &Url) -> Url {
    let mut u = resource.clone();
    let path = match resource.path() {
        "/" => String::new(),
        p => p.to_owned(),
    };
    u.set_path(&format!("{WELL_KNOWN_PATH}{path}"));
    u.set_query(None);
    u.set_fragment(None);
    u
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // A2, RFC 9728 §3.1 and §3.3.
    #[test]
    fn a2_metadata_url_is_built_from_the_resource_identifier() {
        let u = |s| Url::parse(s).unwrap();
        assert_eq!(
            metadata_url(&u("https://mcp.beta.test/mcp")).as_str(),
            "https://mcp.beta.test/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url(&u("https://mcp.beta.test:8443")).as_str(),
            "https://mcp.beta.test:8443/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn m6_metadata_carries_resource_servers_and_header_method() {
        let mut c = ResourceConfig::new(
            Url::parse("https://mcp.beta.test/mcp").unwrap(),
            vec![Url::parse("https://beta.test").unwrap()],
        );
        c.scopes_supported = vec!["logs:read".into()];
        let v = serde_json::to_value(ResourceMetadata::from_config(&c)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "resource": "https://mcp.beta.test/mcp",
                "authorization_servers": ["https://beta.test"],
                "scopes_supported": ["logs:read"],
                "bearer_methods_supported": ["header"],
            })
        );
    }
}
