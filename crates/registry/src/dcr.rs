//! RFC 7591/7592 dynamic client registration, the compatibility path (D1, D2): validation of the
//! registration metadata, client_id and registration access token generation, and the token
//! check.
//!
//! Only asymmetric client authentication is registered: `private_key_jwt` with exactly one of
//! `jwks`/`jwks_uri`, or `none` for public clients. Every client-secret method and the
//! `client_secret` members are refused (C4). An omitted `token_endpoint_auth_method` (RFC 7591's
//! default is `client_secret_basic`) is read as `none` when no keys are given and refused as
//! ambiguous when keys are given (C15), matching the CIMD parser. Generated client_ids do not
//! start with `https://` (C14), so they can never be confused with a CIMD URL.
//!
//! The registration access token is 32 random bytes, base64url; only its SHA-256 is stored and
//! a presented token is compared by hash in constant time.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crossauthz_core::cimd::{RedirectUriError, check_redirect_uri};
use crossauthz_core::client_id::{HttpsUrlError, https_url};
use crossauthz_core::jwk_policy::{JwkPolicyError, JwksError, SigningAlg, check_jwks};
use crossauthz_core::scope::{ScopeError, ScopeSet};
use crossauthz_core::strict_json;
use rand::RngCore as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::agent::SUPPORTED_GRANT_TYPES;

/// Prefix of generated client_ids (C14: not `https://`).
pub const CLIENT_ID_PREFIX: &str = "dcr-";

/// Members the server sets; a registration request's values are ignored, an update that carries
/// them is refused (RFC 7592 §2.2).
pub const SERVER_MEMBERS: &[&str] = &[
    "registration_access_token",
    "registration_client_uri",
    "client_id_issued_at",
    "client_secret_expires_at",
];

/// RFC 7591 §3.2.2 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DcrErrorCode {
    /// `invalid_redirect_uri`.
    InvalidRedirectUri,
    /// `invalid_client_metadata`.
    InvalidClientMetadata,
    /// `unapproved_software_statement`.
    UnapprovedSoftwareStatement,
}

impl DcrErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::UnapprovedSoftwareStatement => "unapproved_software_statement",
        }
    }
}

/// Why registration metadata was refused. [`DcrError::code`] gives the RFC 7591 error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DcrError {
    /// Larger than the configured cap.
    #[error("registration request is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not strict JSON (or a duplicate member).
    #[error("client metadata is not JSON without duplicate members: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("client metadata is not a JSON object")]
    NotAnObject,
    /// `client_secret` or `client_secret_expires_at` present (C4).
    #[error("client metadata contains `{0}`; client secrets are not issued here (C4)")]
    SecretMember(&'static str),
    /// A shared-secret method (C4).
    #[error(
        "token_endpoint_auth_method `{0}` uses a shared secret (C4); use private_key_jwt or none"
    )]
    SymmetricAuthMethod(String),
    /// Another unsupported method.
    #[error("token_endpoint_auth_method `{0}` is not supported; use private_key_jwt or none")]
    UnsupportedAuthMethod(String),
    /// Method omitted while keys are given (C15).
    #[error(
        "token_endpoint_auth_method is omitted but keys are given; state private_key_jwt or none (C15)"
    )]
    AmbiguousAuthMethod,
    /// Both `jwks` and `jwks_uri` (D1).
    #[error("jwks and jwks_uri must not both be present (D1, RFC 7591 §2)")]
    BothJwksAndJwksUri,
    /// `private_key_jwt` without keys (C10).
    #[error("private_key_jwt requires jwks or jwks_uri (C10)")]
    MissingKeys,
    /// `jwks` breaks the JWK policy.
    #[error("jwks refused (JWK policy): {0}")]
    Jwks(JwksError),
    /// `jwks_uri` is not an https URL.
    #[error("jwks_uri refused: {0}")]
    JwksUri(HttpsUrlError),
    /// `token_endpoint_auth_signing_alg` not EdDSA/ES256.
    #[error("token_endpoint_auth_signing_alg refused: {0}")]
    SigningAlg(JwkPolicyError),
    /// A known member with the wrong JSON type.
    #[error("member `{0}` has the wrong JSON type")]
    WrongMemberType(&'static str),
    /// A grant type we do not serve.
    #[error("grant type {0:?} is not supported")]
    UnsupportedGrantType(String),
    /// A response type other than `code`.
    #[error("response type {0:?} is not supported (only code)")]
    UnsupportedResponseType(String),
    /// A bad redirect URI (M7).
    #[error("redirect URI {uri:?} refused: {reason} (M7)")]
    RedirectUri {
        /// The URI.
        uri: String,
        /// Why.
        reason: RedirectUriError,
    },
    /// Redirect-based grant without redirect URIs.
    #[error("redirect_uris is required for the authorization_code grant (RFC 7591 §2)")]
    MissingRedirectUris,
    /// `client_uri`, `logo_uri`, `tos_uri`, `policy_uri` not https.
    #[error("`{member}` refused: {reason}")]
    DocumentUrl {
        /// The member.
        member: &'static str,
        /// Why.
        reason: HttpsUrlError,
    },
    /// `scope` is not an RFC 6749 scope string.
    #[error("scope refused: {0}")]
    Scope(ScopeError),
    /// Software statements are not accepted.
    #[error("software statements are not accepted by this server")]
    SoftwareStatement,
    /// RFC 7592 §2.2: the update's `client_id` is missing or not the client's.
    #[error("client_id in the request must be the client's current client_id (RFC 7592 §2.2)")]
    ClientIdMismatch,
    /// RFC 7592 §2.2: the update carries a member only the server sets.
    #[error("`{0}` must not be sent in an update (RFC 7592 §2.2)")]
    ServerMember(String),
}

impl DcrError {
    /// The RFC 7591 §3.2.2 error code.
    pub fn code(&self) -> DcrErrorCode {
        match self {
            Self::RedirectUri { .. } | Self::MissingRedirectUris => {
                DcrErrorCode::InvalidRedirectUri
            }
            Self::SoftwareStatement => DcrErrorCode::UnapprovedSoftwareStatement,
            _ => DcrErrorCode::InvalidClientMetadata,
        }
    }
}

const STRING_MEMBERS: &[&str] = &[
    "client_name",
    "client_uri",
    "logo_uri",
    "tos_uri",
    "policy_uri",
    "token_endpoint_auth_method",
    "token_endpoint_auth_signing_alg",
    "jwks_uri",
    "scope",
    "software_id",
    "software_version",
];
const STRING_ARRAY_MEMBERS: &[&str] =
    &["redirect_uris", "grant_types", "response_types", "contacts"];
const URL_MEMBERS: &[&str] = &["client_uri", "logo_uri", "tos_uri", "policy_uri"];
const SECRET_MEMBERS: &[&str] = &["client_secret", "client_secret_expires_at"];
const SYMMETRIC_METHODS: &[&str] = &[
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
];

fn strings<'a>(obj: &'a Map<String, Value>, member: &str) -> Vec<&'a str> {
    obj.get(member)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn check_types(obj: &Map<String, Value>) -> Result<(), DcrError> {
    for m in STRING_MEMBERS {
        if obj.get(*m).is_some_and(|v| !v.is_string()) {
            return Err(DcrError::WrongMemberType(m));
        }
    }
    for m in STRING_ARRAY_MEMBERS {
        if let Some(v) = obj.get(*m)
            && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
        {
            return Err(DcrError::WrongMemberType(m));
        }
    }
    if obj.get("jwks").is_some_and(|v| !v.is_object()) {
        return Err(DcrError::WrongMemberType("jwks"));
    }
    Ok(())
}

/// Parses and validates RFC 7591 client metadata. Returns the metadata to register: as given,
/// with server-set members removed and the defaults made explicit (`token_endpoint_auth_method`,
/// `grant_types`).
pub fn validate_metadata(bytes: &[u8], max_bytes: usize) -> Result<Map<String, Value>, DcrError> {
    if bytes.len() > max_bytes {
        return Err(DcrError::TooLarge {
            size: bytes.len(),
            max: max_bytes,
        });
    }
    let value = strict_json::from_slice(bytes).map_err(|e| DcrError::NotJson(e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(DcrError::NotAnObject);
    };
    if let Some(m) = SECRET_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
        return Err(DcrError::SecretMember(m));
    }
    if obj.contains_key("software_statement") {
        return Err(DcrError::SoftwareStatement);
    }
    for m in SERVER_MEMBERS.iter().chain(std::iter::once(&"client_id")) {
        obj.remove(*m);
    }
    check_types(&obj)?;

    let has_jwks = obj.contains_key("jwks");
    let has_uri = obj.contains_key("jwks_uri");
    if has_jwks && has_uri {
        return Err(DcrError::BothJwksAndJwksUri);
    }
    let method = match obj
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
    {
        None if has_jwks || has_uri => return Err(DcrError::AmbiguousAuthMethod),
        None => "none",
        Some(m @ ("none" | "private_key_jwt")) => m,
        Some(m) if SYMMETRIC_METHODS.contains(&m) => {
            return Err(DcrError::SymmetricAuthMethod(m.to_owned()));
        }
        Some(m) => return Err(DcrError::UnsupportedAuthMethod(m.to_owned())),
    }
    .to_owned();
    if method == "private_key_jwt" && !has_jwks && !has_uri {
        return Err(DcrError::MissingKeys);
    }
    if let Some(jwks) = obj.get("jwks") {
        check_jwks(jwks).map_err(DcrError::Jwks)?;
    }
    if let Some(uri) = obj.get("jwks_uri").and_then(Value::as_str) {
        https_url(uri).map_err(DcrError::JwksUri)?;
    }
    if let Some(alg) = obj
        .get("token_endpoint_auth_signing_alg")
        .and_then(Value::as_str)
    {
        SigningAlg::parse(alg).map_err(DcrError::SigningAlg)?;
    }
    obj.insert("token_endpoint_auth_method".into(), Value::String(method));

    let grants: Vec<String> = if obj.contains_key("grant_types") {
        strings(&obj, "grant_types")
            .into_iter()
            .map(str::to_owned)
            .collect()
    } else {
        vec!["authorization_code".to_owned()]
    };
    let mut seen = HashSet::new();
    for g in &grants {
        if !SUPPORTED_GRANT_TYPES.contains(&g.as_str()) || !seen.insert(g.as_str()) {
            return Err(DcrError::UnsupportedGrantType(g.clone()));
        }
    }
    for r in strings(&obj, "response_types") {
        if r != "code" {
            return Err(DcrError::UnsupportedResponseType(r.to_owned()));
        }
    }
    let redirects = strings(&obj, "redirect_uris");
    for uri in &redirects {
        check_redirect_uri(uri).map_err(|reason| DcrError::RedirectUri {
            uri: (*uri).to_owned(),
            reason,
        })?;
    }
    if grants.iter().any(|g| g == "authorization_code") && redirects.is_empty() {
        return Err(DcrError::MissingRedirectUris);
    }
    for member in URL_MEMBERS {
        if let Some(raw) = obj.get(*member).and_then(Value::as_str) {
            https_url(raw).map_err(|reason| DcrError::DocumentUrl { member, reason })?;
        }
    }
    if let Some(scope) = obj.get("scope").and_then(Value::as_str) {
        ScopeSet::parse(scope).map_err(DcrError::Scope)?;
    }
    obj.insert(
        "grant_types".into(),
        Value::Array(grants.into_iter().map(Value::String).collect()),
    );
    Ok(obj)
}

/// RFC 7592 §2.2 update: the request must name the client (`client_id`) and must not carry the
/// members only the server sets; the rest is validated as a registration.
pub fn validate_update(
    bytes: &[u8],
    client_id: &str,
    max_bytes: usize,
) -> Result<Map<String, Value>, DcrError> {
    if bytes.len() > max_bytes {
        return Err(DcrError::TooLarge {
            size: bytes.len(),
            max: max_bytes,
        });
    }
    let value = strict_json::from_slice(bytes).map_err(|e| DcrError::NotJson(e.to_string()))?;
    let Value::Object(obj) = &value else {
        return Err(DcrError::NotAnObject);
    };
    if obj.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(DcrError::ClientIdMismatch);
    }
    if let Some(m) = SERVER_MEMBERS
        .iter()
        .filter(|m| **m != "client_secret_expires_at")
        .find(|m| obj.contains_key(**m))
    {
        return Err(DcrError::ServerMember((*m).to_owned()));
    }
    validate_metadata(bytes, max_bytes)
}

/// A fresh client_id: `dcr-` and a random UUID (C14: never `https://`).
pub fn new_client_id() -> String {
    format!("{CLIENT_ID_PREFIX}{}", uuid::Uuid::new_v4().simple())
}

/// A fresh registration access token (32 CSPRNG bytes, base64url) and the SHA-256 to store.
pub fn new_registration_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

/// SHA-256 of a token, as stored.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Constant-time check of a presented token against the stored hash.
pub fn token_matches(presented: &str, stored_hash: &[u8]) -> bool {
    let presented = hash_token(presented);
    presented.len() == stored_hash.len() && bool::from(presented.ct_eq(stored_hash))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(j: Value) -> Result<Map<String, Value>, DcrError> {
        validate_metadata(j.to_string().as_bytes(), 16 * 1024)
    }

    #[test]
    fn d1_public_client_without_method_becomes_none() {
        let m = v(json!({"redirect_uris":["http://127.0.0.1:9/cb"],"client_name":"cli"})).unwrap();
        assert_eq!(m["token_endpoint_auth_method"], "none");
        assert_eq!(m["grant_types"], json!(["authorization_code"]));
    }

    #[test]
    fn c4_client_secret_methods_and_members_are_refused() {
        for method in SYMMETRIC_METHODS {
            let e = v(json!({"token_endpoint_auth_method": method})).unwrap_err();
            assert!(matches!(e, DcrError::SymmetricAuthMethod(_)));
            assert_eq!(e.code(), DcrErrorCode::InvalidClientMetadata);
        }
        let e = v(json!({"client_secret":"s","grant_types":["client_credentials"]})).unwrap_err();
        assert!(matches!(e, DcrError::SecretMember("client_secret")));
    }

    #[test]
    fn c15_omitted_method_with_keys_is_ambiguous() {
        let e =
            v(json!({"jwks_uri":"https://c.example/jwks","grant_types":["client_credentials"]}))
                .unwrap_err();
        assert!(matches!(e, DcrError::AmbiguousAuthMethod));
    }

    #[test]
    fn bad_redirect_uri_has_its_own_code() {
        let e = v(json!({"redirect_uris":["http://evil.example/cb"]})).unwrap_err();
        assert_eq!(e.code(), DcrErrorCode::InvalidRedirectUri);
        let e = v(json!({"grant_types":["authorization_code"]})).unwrap_err();
        assert_eq!(e.code(), DcrErrorCode::InvalidRedirectUri);
    }

    #[test]
    fn c14_generated_client_ids_are_not_https() {
        let id = new_client_id();
        assert!(!id.starts_with("https://"));
        assert!(id.starts_with(CLIENT_ID_PREFIX));
    }

    #[test]
    fn registration_token_is_32_bytes_and_only_its_hash_matches() {
        let (token, hash) = new_registration_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&token).unwrap().len(), 32);
        assert_eq!(hash.len(), 32);
        assert!(token_matches(&token, &hash));
        assert!(!token_matches("wrong", &hash));
        assert!(!token_matches(&token, &hash[..31]));
        let (other, _) = new_registration_token();
        assert_ne!(token, other);
    }

    #[test]
    fn d2_update_must_name_the_client_and_not_carry_server_members() {
        let body = json!({"client_id":"dcr-1","redirect_uris":["https://c.example/cb"]});
        assert!(validate_update(body.to_string().as_bytes(), "dcr-1", 1024).is_ok());
        assert!(matches!(
            validate_update(body.to_string().as_bytes(), "dcr-2", 1024),
            Err(DcrError::ClientIdMismatch)
        ));
        let body = json!({"client_id":"dcr-1","registration_access_token":"x","redirect_uris":["https://c.example/cb"]});
        assert!(matches!(
            validate_update(body.to_string().as_bytes(), "dcr-1", 1024),
            Err(DcrError::ServerMember(_))
        ));
    }

    proptest::proptest! {
        // Any bytes: the DCR parser answers Ok or a typed error, never panics.
        #[test]
        fn dcr_metadata_parser_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = validate_metadata(&bytes, 16 * 1024);
            let _ = validate_update(&bytes, "dcr-1", 16 * 1024);
        }

        // Any JSON-ish string: never panics.
        #[test]
        fn dcr_metadata_parser_never_panics_on_json_like_text(s in r#"\{("[a-z_]{1,12}":("[a-z:/.0-9]{0,20}"|\[\]|\{\}|1|null),?){0,6}\}"#) {
            let _ = validate_metadata(s.as_bytes(), 16 * 1024);
        }
    }
}
