//! OAuth Client ID Metadata Documents (CIMD draft -01): the document type, the validation of a
//! fetched document ([`parse_fetched`]), redirect URI matching, and a builder for the documents our
//! registry hosts.
//!
//! Rules enforced (see `CONFORMANCE.md`): C1, C3, C4, C5, C10, C12, C15, D1, M2, M7, plus the
//! JWK policy of [`crate::jwk_policy`]. Fetching (C2, C6, C7, C11) is the verifier's job; this
//! module starts from the bytes of a 200 response.

mod builder;
mod validate;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::client_id::{ClientIdError, ClientIdUrl, HttpsUrlError};
use crate::jwk_policy::{AcceptedJwk, JwkPolicyError, JwksError};
use crate::scope::{ScopeError, ScopeSet};

pub use builder::DocumentBuilder;
pub use validate::{check_redirect_uri, parse_fetched};

/// The CIMD `vc+jwt` extension member (project extension E1–E3; legal per C5).
pub const VC_JWT_MEMBER: &str = "vc+jwt";
/// The CIMD `dc+sd-jwt` extension member.
pub const DC_SD_JWT_MEMBER: &str = "dc+sd-jwt";
/// Recommended maximum document size, in bytes (C12: 5 KB).
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 5 * 1024;

/// A client metadata document (RFC 7591 members used by CIMD, plus our extension members).
/// Unknown members are kept in [`extra`](Self::extra) (C5) and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientMetadataDocument {
    /// The document's own URL (C3).
    pub client_id: String,
    /// Human-readable name (required, M2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// Logo URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Registered redirect URIs (exact match, C8).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
    /// Grant types; absent means `["authorization_code"]` (RFC 7591 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Response types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    /// Token endpoint authentication method (`none` or `private_key_jwt` accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// JWS alg for `private_key_jwt` assertions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg: Option<String>,
    /// Inline JWK Set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// URL of the JWK Set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Space-delimited scopes the client may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Contact e-mail addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// Software identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    /// Software version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    /// Project extension: the agent's Agent Authorization Credential as a compact JWS.
    #[serde(rename = "vc+jwt", default, skip_serializing_if = "Option::is_none")]
    pub vc_jwt: Option<String>,
    /// Project extension: the credential as an SD-JWT VC.
    #[serde(rename = "dc+sd-jwt", default, skip_serializing_if = "Option::is_none")]
    pub dc_sd_jwt: Option<String>,
    /// Every other member, kept as received (C5).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ClientMetadataDocument {
    /// Starts a builder for a document our registry hosts.
    pub fn builder(client_id: ClientIdUrl, client_name: impl Into<String>) -> DocumentBuilder {
        DocumentBuilder::new(client_id, client_name.into())
    }

    /// The JSON bytes to serve (member order as declared, extensions last).
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, CimdError> {
        serde_json::to_vec(self).map_err(|e| CimdError::Serialize(e.to_string()))
    }

    /// The grant types in effect (RFC 7591 default `["authorization_code"]` when absent).
    pub fn effective_grant_types(&self) -> Vec<String> {
        self.grant_types
            .clone()
            .unwrap_or_else(|| vec!["authorization_code".to_owned()])
    }
}

/// Limits applied to a fetched document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CimdLimits {
    /// Maximum body size in bytes (C12; default 5120).
    pub max_bytes: usize,
}

impl Default for CimdLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
        }
    }
}

/// The token endpoint authentication method in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Public client: no client authentication.
    None,
    /// `private_key_jwt` (RFC 7523): a confidential client (C10).
    PrivateKeyJwt,
}

/// Where the client's public keys are.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// Inline `jwks`, with the summary of each accepted key.
    Jwks {
        /// The JWK Set as published.
        jwks: Value,
        /// One entry per key, in order.
        keys: Vec<AcceptedJwk>,
    },
    /// `jwks_uri` (to be fetched with the SSRF-safe client).
    JwksUri(Url),
}

/// A document that passed every rule, with its typed meaning.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedDocument {
    /// The document as received.
    pub document: ClientMetadataDocument,
    /// The validated client_id (equal to the fetched URL).
    pub client_id: ClientIdUrl,
    /// The auth method in effect.
    pub auth_method: AuthMethod,
    /// True when `token_endpoint_auth_method` was omitted and treated as `none` (C15).
    pub auth_method_defaulted: bool,
    /// The client's keys, if any.
    pub keys: Option<KeySource>,
    /// The grant types in effect.
    pub grant_types: Vec<String>,
    /// The parsed `scope`, if present.
    pub scope: Option<ScopeSet>,
    /// M7 warning: every redirect URI points to localhost (show a warning on consent).
    pub localhost_only_redirects: bool,
}

/// Why a redirect URI is not acceptable (M7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// Not an absolute URL, or a character RFC 3986 forbids.
    #[error("redirect URI is not an absolute URL")]
    NotAbsolute,
    /// A fragment (even empty).
    #[error("redirect URI has a fragment (RFC 6749 §3.1.2)")]
    Fragment,
    /// Userinfo present.
    #[error("redirect URI has userinfo")]
    Userinfo,
    /// Neither https nor http on a loopback host (M7).
    #[error("redirect URI must be https, or http on 127.0.0.1, [::1] or localhost (M7)")]
    NotHttpsOrLoopback,
}

/// Why a fetched client metadata document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CimdError {
    /// The body exceeds the size cap (C12).
    #[error("document is {size} bytes, more than the {max} allowed (C12)")]
    TooLarge {
        /// Body size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not JSON (C3/C5).
    #[error("document is not valid JSON: {0}")]
    NotJson(String),
    /// A member appears twice (parsers would disagree on its value).
    #[error("document has a duplicate member: {0}")]
    DuplicateMember(String),
    /// JSON, but not an object (C3: the body is a JSON object).
    #[error("document is not a JSON object (C3)")]
    NotAnObject,
    /// `client_secret` or `client_secret_expires_at` present (C4).
    #[error("document contains `{member}`; shared secrets are forbidden (C4)")]
    SecretMember {
        /// The member.
        member: &'static str,
    },
    /// A known member has the wrong JSON type (or is null).
    #[error("member `{member}` has the wrong JSON type")]
    WrongMemberType {
        /// The member.
        member: &'static str,
    },
    /// A required member is missing (M2).
    #[error("required member `{member}` is missing (M2)")]
    MissingMember {
        /// The member.
        member: &'static str,
    },
    /// `client_id` is not the fetched URL by simple string comparison (C3).
    #[error("client_id {found:?} does not equal the fetched URL {fetched:?} (C3)")]
    ClientIdMismatch {
        /// The fetched URL.
        fetched: String,
        /// The document's client_id.
        found: String,
    },
    /// `client_id` breaks C1.
    #[error("client_id is invalid: {0}")]
    InvalidClientId(#[from] ClientIdError),
    /// A shared-secret auth method (C4).
    #[error("token_endpoint_auth_method `{method}` uses a shared secret (C4)")]
    SymmetricAuthMethod {
        /// The method.
        method: String,
    },
    /// An auth method this server does not support (only `none` and `private_key_jwt`).
    #[error("token_endpoint_auth_method `{method}` is not supported")]
    UnsupportedAuthMethod {
        /// The method.
        method: String,
    },
    /// `token_endpoint_auth_method` omitted while keys are published (C15: ambiguous).
    #[error(
        "token_endpoint_auth_method is omitted but keys are published; state `private_key_jwt` or `none` (C15)"
    )]
    AmbiguousAuthMethod,
    /// Both `jwks` and `jwks_uri` (D1, RFC 7591 §2).
    #[error("jwks and jwks_uri must not both be present (D1, RFC 7591 §2)")]
    BothJwksAndJwksUri,
    /// `private_key_jwt` without `jwks` or `jwks_uri` (C10).
    #[error("private_key_jwt requires jwks or jwks_uri (C10)")]
    MissingKeys,
    /// `jwks` breaks the JWK policy.
    #[error("jwks refused: {0}")]
    Jwks(#[from] JwksError),
    /// `jwks_uri` is not an acceptable https URL.
    #[error("jwks_uri refused: {0}")]
    JwksUri(HttpsUrlError),
    /// `token_endpoint_auth_signing_alg` is not EdDSA/ES256.
    #[error("token_endpoint_auth_signing_alg refused: {0}")]
    SigningAlg(JwkPolicyError),
    /// `redirect_uris` missing or empty while `authorization_code` is a grant type (M2).
    #[error("redirect_uris is required for the authorization_code grant (M2)")]
    MissingRedirectUris,
    /// A redirect URI breaks M7.
    #[error("redirect URI {uri:?} refused: {reason} (M7)")]
    RedirectUri {
        /// The URI.
        uri: String,
        /// Why.
        reason: RedirectUriError,
    },
    /// `client_uri` or `logo_uri` is not an acceptable https URL.
    #[error("`{member}` refused: {reason}")]
    DocumentUrl {
        /// The member.
        member: &'static str,
        /// Why.
        reason: HttpsUrlError,
    },
    /// `scope` is not an RFC 6749 scope string.
    #[error("scope refused: {0}")]
    Scope(#[from] ScopeError),
    /// `vc+jwt` / `dc+sd-jwt` is not a compact JWS / SD-JWT shape.
    #[error("member `{member}` is not a well-formed compact token")]
    MalformedCredential {
        /// The member.
        member: &'static str,
    },
    /// Could not serialise a document (builder).
    #[error("could not serialise the document: {0}")]
    Serialize(String),
}

/// C8 (CIMD §4.5, RFC 9700): true if `uri` is exactly one of the document's `redirect_uris`.
pub fn redirect_uri_matches(doc: &ClientMetadataDocument, uri: &str) -> bool {
    doc.redirect_uris.iter().any(|r| r == uri)
}

/// M7 warning: true if the document has redirect URIs and every one is on a loopback host
/// (`localhost`, `127.0.0.0/8`, `[::1]`), so the consent screen should warn.
pub fn all_redirects_are_localhost(doc: &ClientMetadataDocument) -> bool {
    !doc.redirect_uris.is_empty()
        && doc
            .redirect_uris
            .iter()
            .all(|r| Url::parse(r).is_ok_and(|u| validate::is_loopback_host(&u)))
}
