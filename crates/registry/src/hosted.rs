//! The hosted Client ID Metadata Document of an agent: rendered from its [`AgentMetadata`] and
//! (optionally) its newest valid `vc+jwt`, then validated with the same parser a foreign AS
//! runs on a fetched document (`crossauthz_core::cimd::parse_fetched`, C1–C5, C10, C12, M2, M7),
//! so the registry never serves a document a conforming AS would refuse. The `ETag` is a strong
//! validator of the exact bytes served.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crossauthz_core::cimd::{CimdError, CimdLimits, ClientMetadataDocument, parse_fetched};
use crossauthz_core::jwk_policy::check_jwks;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::agent::AgentMetadata;

/// A rendered hosted document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedDocument {
    /// The JSON bytes to serve, exactly.
    pub bytes: Vec<u8>,
    /// Strong entity tag of `bytes` (quoted, RFC 9110 §8.8.3).
    pub etag: String,
}

/// Why a hosted document could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostedError {
    /// Over the size cap (C12; E3 when a credential is included).
    #[error("document is {size} bytes, more than the {max} allowed (C12)")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Refused by the CIMD parser for another reason.
    #[error("{0}")]
    Cimd(CimdError),
}

/// The strong `ETag` of a byte string: the quoted base64url SHA-256 of the bytes.
pub fn strong_etag(bytes: &[u8]) -> String {
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(Sha256::digest(bytes)))
}

/// The holder key (`cnf.jwk`) of a compact JWS credential, read without verifying anything (the
/// registry only needs to know which of the agent's keys it is bound to).
pub fn bound_key(compact: &str) -> Option<Value> {
    let payload = compact.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("cnf")?.get("jwk").cloned()
}

/// True if `key` is one of the agent's inline keys (same key type, curve and coordinates). A
/// credential bound to a key the agent no longer publishes would fail holder binding, so it is
/// not served.
pub fn agent_holds(metadata: &AgentMetadata, key: &Value) -> bool {
    let id = |k: &Value| {
        ["kty", "crv", "x", "y"].map(|m| k.get(m).and_then(Value::as_str).map(str::to_owned))
    };
    let wanted = id(key);
    wanted[2].is_some() && metadata.inline_keys().iter().any(|k| id(k) == wanted)
}

/// The `token_endpoint_auth_signing_alg` to publish: the one algorithm every inline key uses, or
/// none (mixed key types, or keys behind `jwks_uri`).
fn uniform_alg(metadata: &AgentMetadata) -> Option<String> {
    let keys = check_jwks(metadata.jwks.as_ref()?).ok()?;
    let first = keys.first()?.key_type.signing_alg();
    keys.iter()
        .all(|k| k.key_type.signing_alg() == first)
        .then(|| first.as_str().to_owned())
}

/// Renders the hosted document of `metadata` with `vc_jwt` as its `vc+jwt` member, and checks it
/// with [`parse_fetched`] against its own URL under `limits`.
pub fn render(
    metadata: &AgentMetadata,
    vc_jwt: Option<&str>,
    limits: &CimdLimits,
) -> Result<RenderedDocument, HostedError> {
    let document = ClientMetadataDocument {
        client_id: metadata.client_id.clone(),
        client_name: Some(metadata.name.clone()),
        client_uri: None,
        logo_uri: None,
        redirect_uris: metadata.redirect_uris.clone(),
        grant_types: Some(metadata.grant_types.clone()),
        response_types: None,
        token_endpoint_auth_method: Some("private_key_jwt".to_owned()),
        token_endpoint_auth_signing_alg: uniform_alg(metadata),
        jwks: metadata.jwks.clone(),
        jwks_uri: metadata.jwks_uri.clone(),
        scope: None,
        contacts: Vec::new(),
        software_id: None,
        software_version: None,
        vc_jwt: vc_jwt.map(str::to_owned),
        dc_sd_jwt: None,
        extra: Map::new(),
    };
    let bytes = document.to_json_bytes().map_err(HostedError::Cimd)?;
    match parse_fetched(&bytes, &metadata.client_id, limits) {
        Ok(_) => {}
        Err(CimdError::TooLarge { size, max }) => return Err(HostedError::TooLarge { size, max }),
        Err(e) => return Err(HostedError::Cimd(e)),
    }
    let etag = strong_etag(&bytes);
    Ok(RenderedDocument { bytes, etag })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata() -> AgentMetadata {
        AgentMetadata {
            client_id: "https://alpha.example/agents/1/client-metadata.json".into(),
            name: "Agent".into(),
            agent_type: "tool-agent".into(),
            jwks: Some(
                json!({"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}),
            ),
            jwks_uri: None,
            redirect_uris: vec![],
            grant_types: vec!["client_credentials".into()],
            claims: Map::new(),
        }
    }

    #[test]
    fn c3_rendered_document_names_itself_and_uses_private_key_jwt() {
        let r = render(&metadata(), None, &CimdLimits::default()).unwrap();
        let v: Value = serde_json::from_slice(&r.bytes).unwrap();
        assert_eq!(v["client_id"], metadata().client_id);
        assert_eq!(v["token_endpoint_auth_method"], "private_key_jwt");
        assert_eq!(v["token_endpoint_auth_signing_alg"], "EdDSA");
        assert!(v.get("vc+jwt").is_none());
        assert!(
            v.get("claims").is_none(),
            "claims travel in the credential only"
        );
    }

    #[test]
    fn etag_is_a_strong_validator_of_the_exact_bytes() {
        let a = render(&metadata(), None, &CimdLimits::default()).unwrap();
        let b = render(&metadata(), Some("aa.bb.cc"), &CimdLimits::default()).unwrap();
        assert_ne!(a.etag, b.etag);
        assert!(a.etag.starts_with('"') && a.etag.ends_with('"') && !a.etag.starts_with("W/"));
        assert_eq!(a.etag, strong_etag(&a.bytes));
    }

    #[test]
    fn c12_oversize_document_is_refused() {
        let big = "a".repeat(6000);
        let err = render(
            &metadata(),
            Some(&format!("{big}.{big}.{big}")),
            &CimdLimits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, HostedError::TooLarge { max: 5120, .. }));
    }

    #[test]
    fn holder_key_of_a_credential_is_matched_against_the_agent_keys() {
        let jwk =
            json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let payload = URL_SAFE_NO_PAD.encode(json!({"cnf": {"jwk": jwk}}).to_string());
        let compact = format!("e30.{payload}.c2ln");
        let key = bound_key(&compact).unwrap();
        assert!(agent_holds(&metadata(), &key));
        let mut other = metadata();
        other.jwks = Some(
            json!({"keys":[{"kty":"OKP","crv":"Ed25519","x":"Ua7GQ0uSuYlD1xz9Jm6ubbyb8mqgKK5JJ7Y_UD1lA0s"}]}),
        );
        assert!(!agent_holds(&other, &key));
        assert!(bound_key("a.b.c").is_none());
        assert!(bound_key("").is_none());
    }

    proptest::proptest! {
        // Any string as a credential: reading its holder key never panics.
        #[test]
        fn bound_key_never_panics(s in ".*") {
            let _ = bound_key(&s);
        }
    }

    #[test]
    fn malformed_credential_member_is_refused_by_the_cimd_parser() {
        let err = render(&metadata(), Some("not a jws"), &CimdLimits::default()).unwrap_err();
        assert!(matches!(
            err,
            HostedError::Cimd(CimdError::MalformedCredential { .. })
        ));
    }
}
