//! Agents on the way in: the metadata the registry keeps for each version of an agent
//! ([`AgentMetadata`]), and its validation ([`AgentDraft::validate`]) against the JWK policy, the
//! redirect URI rule (M7), the grant types we serve, the Agent Authorization Credential profile
//! (DESIGN §5) and the size of the resulting hosted document (C12).
//!
//! Validation is complete before anything is written: a draft either becomes a
//! [`ValidAgent`] (whose hosted document already passed the CIMD parser a foreign AS runs) or
//! fails with one [`AgentInputError`] naming the rule it broke.

use std::collections::HashSet;

use crossauthz_core::cimd::{CimdError, CimdLimits, RedirectUriError, check_redirect_uri};
use crossauthz_core::client_id::{HttpsUrlError, https_url};
use crossauthz_core::jwk_policy::{JwksError, check_jwks};
use crossauthz_core::profile::{AgentClaims, AgentType, ProfileError};
use crossauthz_core::strict_json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hosted::{self, HostedError};

/// Longest agent name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Grant types an agent may register (OAuth 2.1 plus token exchange and JWT bearer).
/// `implicit` and `password` are gone from OAuth 2.1 and refused.
pub const SUPPORTED_GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "client_credentials",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
];

/// The metadata of one version of an agent, as stored (the `document` of the store's version
/// rows) and as shown in its history. The hosted CIMD document is derived from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentMetadata {
    /// The agent's client_id (its hosted document's URL).
    pub client_id: String,
    /// Display name (`client_name`).
    pub name: String,
    /// The agent type (`agentType`).
    pub agent_type: String,
    /// Inline public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// URL of the public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Redirect URIs (exact match, C8).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Grant types.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// The Agent Authorization Credential subject claims.
    #[serde(default)]
    pub claims: Map<String, Value>,
}

impl AgentMetadata {
    /// Reads the stored document of a version.
    pub fn from_document(doc: &Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(doc)
    }

    /// The document to store.
    pub fn to_document(&self) -> Value {
        // Serialising a struct of strings, vectors and JSON values cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The agent's inline keys, in order (empty with `jwks_uri`).
    pub fn inline_keys(&self) -> &[Value] {
        self.jwks
            .as_ref()
            .and_then(|j| j.get("keys"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// Where an agent's public keys are, as given by the caller (raw, unvalidated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeysInput {
    /// Inline JWK Set as JSON text.
    Jwks(String),
    /// A JWK Set URL.
    JwksUri(String),
}

/// An agent as submitted (create, or the merge of an update onto the current version).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentDraft {
    /// Display name.
    pub name: String,
    /// Agent type.
    pub agent_type: String,
    /// Inline keys as JSON text (`None` or empty: absent).
    pub jwks_json: Option<String>,
    /// Keys URL (`None` or empty: absent).
    pub jwks_uri: Option<String>,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Grant types (empty: `client_credentials`, or `authorization_code` with redirect URIs).
    pub grant_types: Vec<String>,
    /// Claims as JSON text (an object).
    pub claims_json: String,
}

/// A draft that passed every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidAgent {
    /// The metadata to store.
    pub metadata: AgentMetadata,
    /// The typed claims.
    pub claims: AgentClaims,
    /// Size of the hosted document without a credential, in bytes.
    pub document_bytes: usize,
}

/// Why an agent was refused on the way in. Each variant names the rule it breaks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentInputError {
    /// Empty, too long, or with control characters.
    #[error(
        "name must be 1 to {MAX_NAME_CHARS} characters without control characters (client_name, M2)"
    )]
    InvalidName,
    /// Not one of the five agent types.
    #[error(
        "agentType {0:?} is not tool-agent, orchestrator-agent, workflow-agent, system-agent or ephemeral-agent (DESIGN §5)"
    )]
    UnknownAgentType(String),
    /// Both `jwks` and `jwks_uri` (D1, RFC 7591 §2).
    #[error("jwks and jwks_uri must not both be present (D1, RFC 7591 §2)")]
    BothJwksAndJwksUri,
    /// Neither `jwks` nor `jwks_uri`: an agent authenticates with `private_key_jwt` (C10).
    #[error("an agent needs jwks or jwks_uri: it authenticates with private_key_jwt (C10)")]
    MissingKeys,
    /// `jwks` is not strict JSON.
    #[error("jwks is not JSON without duplicate members: {0}")]
    JwksNotJson(String),
    /// `jwks` breaks the JWK policy: a private member, a symmetric key or algorithm, `alg:
    /// none`, a key type other than Ed25519/P-256, a duplicate kid, an empty set.
    #[error("jwks refused (JWK policy, C4/C10): {0}")]
    Jwks(#[from] JwksError),
    /// `jwks_uri` is not an https URL without userinfo or fragment.
    #[error("jwks_uri refused: {0}")]
    JwksUri(HttpsUrlError),
    /// A redirect URI that is neither https nor http on loopback, or has a fragment (M7).
    #[error("redirect URI {uri:?} refused: {reason} (M7)")]
    RedirectUri {
        /// The URI.
        uri: String,
        /// Why.
        reason: RedirectUriError,
    },
    /// The same redirect URI twice.
    #[error("redirect URI {0:?} is listed twice")]
    DuplicateRedirectUri(String),
    /// A grant type we do not serve (`implicit` and `password` are not OAuth 2.1).
    #[error("grant type {0:?} is not supported")]
    UnsupportedGrantType(String),
    /// The same grant type twice.
    #[error("grant type {0:?} is listed twice")]
    DuplicateGrantType(String),
    /// `authorization_code` without redirect URIs (M2).
    #[error("redirect_uris is required for the authorization_code grant (M2)")]
    MissingRedirectUris,
    /// Claims are not a strict JSON object.
    #[error("claims are not a JSON object without duplicate members: {0}")]
    ClaimsNotJson(String),
    /// Claims that are not a valid Agent Authorization Credential subject.
    #[error("claims are not a valid Agent Authorization Credential subject (DESIGN §5): {0}")]
    Claims(ProfileError),
    /// A claim that must agree with the agent or the domain does not.
    #[error("claim `{claim}` is {found:?} but must be {expected:?}")]
    ClaimMismatch {
        /// The claim.
        claim: &'static str,
        /// What it must be.
        expected: String,
        /// What it is.
        found: String,
    },
    /// The hosted document would exceed the size cap (C12; E3 with a credential).
    #[error("the hosted document would be {size} bytes, more than the {max} allowed (C12, E3)")]
    DocumentTooLarge {
        /// Its size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// The hosted document would break another CIMD rule.
    #[error("the hosted document would break the CIMD rules: {0}")]
    Document(CimdError),
}

impl From<HostedError> for AgentInputError {
    fn from(e: HostedError) -> Self {
        match e {
            HostedError::TooLarge { size, max } => Self::DocumentTooLarge { size, max },
            HostedError::Cimd(e) => Self::Document(e),
        }
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

fn check_name(name: &str) -> Result<(), AgentInputError> {
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AgentInputError::InvalidName);
    }
    Ok(())
}

fn check_redirects(uris: &[String]) -> Result<(), AgentInputError> {
    let mut seen = HashSet::new();
    for uri in uris {
        check_redirect_uri(uri).map_err(|reason| AgentInputError::RedirectUri {
            uri: uri.clone(),
            reason,
        })?;
        if !seen.insert(uri.as_str()) {
            return Err(AgentInputError::DuplicateRedirectUri(uri.clone()));
        }
    }
    Ok(())
}

fn grant_types(given: &[String], redirect_uris: &[String]) -> Result<Vec<String>, AgentInputError> {
    if given.is_empty() {
        let default = if redirect_uris.is_empty() {
            "client_credentials"
        } else {
            "authorization_code"
        };
        return Ok(vec![default.to_owned()]);
    }
    let mut seen = HashSet::new();
    for g in given {
        if !SUPPORTED_GRANT_TYPES.contains(&g.as_str()) {
            return Err(AgentInputError::UnsupportedGrantType(g.clone()));
        }
        if !seen.insert(g.as_str()) {
            return Err(AgentInputError::DuplicateGrantType(g.clone()));
        }
    }
    if given.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
        return Err(AgentInputError::MissingRedirectUris);
    }
    Ok(given.to_vec())
}

/// Parses the claims, fills `agentType` and `issuerDomain` when absent, refuses them when they
/// disagree with the agent or the domain, and checks the profile.
fn claims(
    claims_json: &str,
    agent_type: AgentType,
    issuer_domain: &str,
) -> Result<(Map<String, Value>, AgentClaims), AgentInputError> {
    let value = strict_json::from_slice(claims_json.as_bytes())
        .map_err(|e| AgentInputError::ClaimsNotJson(e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(AgentInputError::Claims(ProfileError::NotAnObject {
            what: "claims",
        }));
    };
    for (claim, expected) in [
        ("agentType", agent_type.as_str()),
        ("issuerDomain", issuer_domain),
    ] {
        match obj.get(claim) {
            None => {
                obj.insert(claim.to_owned(), Value::String(expected.to_owned()));
            }
            Some(Value::String(found)) if found == expected => {}
            Some(Value::String(found)) => {
                return Err(AgentInputError::ClaimMismatch {
                    claim,
                    expected: expected.to_owned(),
                    found: found.clone(),
                });
            }
            Some(_) => {
                return Err(AgentInputError::Claims(ProfileError::WrongClaimType {
                    claim,
                }));
            }
        }
    }
    let typed = AgentClaims::from_claims_object(obj.clone()).map_err(AgentInputError::Claims)?;
    Ok((obj, typed))
}

impl AgentDraft {
    /// Validates the draft for the agent whose client_id is `client_id`, in the domain
    /// `issuer_domain`, and renders its hosted document under `limits` (C12).
    pub fn validate(
        &self,
        client_id: &str,
        issuer_domain: &str,
        limits: &CimdLimits,
    ) -> Result<ValidAgent, AgentInputError> {
        check_name(&self.name)?;
        let agent_type = AgentType::parse(&self.agent_type)
            .map_err(|_| AgentInputError::UnknownAgentType(self.agent_type.clone()))?;
        let (jwks, jwks_uri) = match (non_empty(&self.jwks_json), non_empty(&self.jwks_uri)) {
            (Some(_), Some(_)) => return Err(AgentInputError::BothJwksAndJwksUri),
            (None, None) => return Err(AgentInputError::MissingKeys),
            (Some(text), None) => {
                let jwks = strict_json::from_slice(text.as_bytes())
                    .map_err(|e| AgentInputError::JwksNotJson(e.to_string()))?;
                check_jwks(&jwks)?;
                (Some(jwks), None)
            }
            (None, Some(uri)) => {
                https_url(uri).map_err(AgentInputError::JwksUri)?;
                (None, Some(uri.to_owned()))
            }
        };
        check_redirects(&self.redirect_uris)?;
        let grant_types = grant_types(&self.grant_types, &self.redirect_uris)?;
        let (claims_obj, typed) = claims(&self.claims_json, agent_type, issuer_domain)?;
        let metadata = AgentMetadata {
            client_id: client_id.to_owned(),
            name: self.name.clone(),
            agent_type: agent_type.as_str().to_owned(),
            jwks,
            jwks_uri,
            redirect_uris: self.redirect_uris.clone(),
            grant_types,
            claims: claims_obj,
        };
        let rendered = hosted::render(&metadata, None, limits)?;
        Ok(ValidAgent {
            metadata,
            claims: typed,
            document_bytes: rendered.bytes.len(),
        })
    }

    /// The draft that reproduces stored metadata (the base an update is merged onto).
    pub fn from_metadata(m: &AgentMetadata) -> Self {
        Self {
            name: m.name.clone(),
            agent_type: m.agent_type.clone(),
            jwks_json: m.jwks.as_ref().map(Value::to_string),
            jwks_uri: m.jwks_uri.clone(),
            redirect_uris: m.redirect_uris.clone(),
            grant_types: m.grant_types.clone(),
            claims_json: Value::Object(m.claims.clone()).to_string(),
        }
    }
}

/// Why no holder key could be chosen for a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HolderKeyError {
    /// The agent publishes its keys by `jwks_uri`; the registry does not fetch URLs, so it has no
    /// key to bind the credential to.
    #[error(
        "the agent publishes its keys by jwks_uri; give it inline jwks to bind a credential to one of them"
    )]
    NoInlineKeys,
    /// `holder_kid` names no key of the agent's `jwks`.
    #[error("holder_kid {0:?} names no key of the agent's jwks")]
    UnknownKid(String),
}

/// The key a credential is bound to (`cnf.jwk`): the key with `holder_kid`, or the first key.
pub fn holder_key<'a>(
    metadata: &'a AgentMetadata,
    holder_kid: Option<&str>,
) -> Result<&'a Value, HolderKeyError> {
    let keys = metadata.inline_keys();
    if keys.is_empty() {
        return Err(HolderKeyError::NoInlineKeys);
    }
    match holder_kid.filter(|k| !k.is_empty()) {
        None => keys.first().ok_or(HolderKeyError::NoInlineKeys),
        Some(kid) => keys
            .iter()
            .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .ok_or_else(|| HolderKeyError::UnknownKid(kid.to_owned())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crossauthz_core::jwk_policy::JwkPolicyError;
    use serde_json::json;

    const CLIENT_ID: &str = "https://alpha.example/agents/7/client-metadata.json";
    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn draft() -> AgentDraft {
        AgentDraft {
            name: "Log reader".into(),
            agent_type: "tool-agent".into(),
            jwks_json: Some(
                json!({"keys":[{"kty":"OKP","crv":"Ed25519","x":X,"kid":"k1"}]}).to_string(),
            ),
            jwks_uri: None,
            redirect_uris: vec![],
            grant_types: vec![],
            claims_json: json!({"authorizedScopes":["logs:read"]}).to_string(),
        }
    }

    fn validate(d: &AgentDraft) -> Result<ValidAgent, AgentInputError> {
        d.validate(CLIENT_ID, "alpha.example", &CimdLimits::default())
    }

    #[test]
    fn a_plain_agent_validates_and_gets_defaults_filled() {
        let v = validate(&draft()).unwrap();
        assert_eq!(v.metadata.grant_types, vec!["client_credentials"]);
        assert_eq!(v.metadata.claims["agentType"], "tool-agent");
        assert_eq!(v.metadata.claims["issuerDomain"], "alpha.example");
        let back = AgentMetadata::from_document(&v.metadata.to_document()).unwrap();
        assert_eq!(back, v.metadata);
        assert_eq!(
            validate(&AgentDraft::from_metadata(&back))
                .unwrap()
                .metadata,
            back
        );
    }

    #[test]
    fn private_key_member_is_refused() {
        let mut d = draft();
        d.jwks_json = Some(json!({"keys":[{"kty":"OKP","crv":"Ed25519","x":X,"d":X}]}).to_string());
        assert!(matches!(
            validate(&d),
            Err(AgentInputError::Jwks(JwksError::Key {
                source: JwkPolicyError::PrivateMember { .. },
                ..
            }))
        ));
    }

    #[test]
    fn claims_that_disagree_with_the_domain_are_refused() {
        let mut d = draft();
        d.claims_json = json!({"authorizedScopes":["a"],"issuerDomain":"evil.example"}).to_string();
        assert!(matches!(
            validate(&d),
            Err(AgentInputError::ClaimMismatch {
                claim: "issuerDomain",
                ..
            })
        ));
        d.claims_json = json!({"authorizedScopes":["a"],"agentType":"system-agent"}).to_string();
        assert!(matches!(
            validate(&d),
            Err(AgentInputError::ClaimMismatch {
                claim: "agentType",
                ..
            })
        ));
    }

    #[test]
    fn m2_authorization_code_needs_redirect_uris() {
        let mut d = draft();
        d.grant_types = vec!["authorization_code".into()];
        assert!(matches!(
            validate(&d),
            Err(AgentInputError::MissingRedirectUris)
        ));
        d.grant_types = vec!["implicit".into()];
        assert!(matches!(
            validate(&d),
            Err(AgentInputError::UnsupportedGrantType(_))
        ));
    }

    proptest::proptest! {
        // Any text in any field: the validator answers a ValidAgent or a typed error, never
        // panics.
        #[test]
        fn agent_validation_never_panics(
            name in ".{0,40}",
            agent_type in "[a-z-]{0,20}",
            jwks in ".{0,80}",
            uri in ".{0,40}",
            redirect in ".{0,40}",
            grant in "[a-z_:-]{0,30}",
            claims in ".{0,80}",
        ) {
            let d = AgentDraft {
                name,
                agent_type,
                jwks_json: Some(jwks),
                jwks_uri: Some(uri),
                redirect_uris: vec![redirect],
                grant_types: vec![grant],
                claims_json: claims,
            };
            let _ = validate(&d);
            let _ = validate(&AgentDraft { jwks_uri: None, ..d.clone() });
            let _ = validate(&AgentDraft { jwks_json: None, ..d });
        }

        // Any JSON-shaped jwks and claims: never panics either.
        #[test]
        fn agent_validation_never_panics_on_json_shaped_input(
            jwks in r#"\{"keys":\[(\{("[a-z]{1,4}":("[A-Za-z0-9_-]{0,44}"|1|null),?){0,5}\},?){0,3}\]\}"#,
            claims in r#"\{("[a-zA-Z]{1,16}":("[a-z:.-]{0,12}"|\[("[a-z:]{0,8}",?){0,3}\]|1|true|\{\}),?){0,5}\}"#,
        ) {
            let mut d = draft();
            d.jwks_json = Some(jwks);
            d.claims_json = claims;
            let _ = validate(&d);
        }
    }

    #[test]
    fn holder_key_is_first_key_or_the_named_one() {
        let mut d = draft();
        d.jwks_json = Some(
            json!({"keys":[
                {"kty":"OKP","crv":"Ed25519","x":X,"kid":"k1"},
                {"kty":"OKP","crv":"Ed25519","x":"Ua7GQ0uSuYlD1xz9Jm6ubbyb8mqgKK5JJ7Y_UD1lA0s","kid":"k2"}
            ]})
            .to_string(),
        );
        let v = validate(&d).unwrap();
        assert_eq!(holder_key(&v.metadata, None).unwrap()["kid"], "k1");
        assert_eq!(holder_key(&v.metadata, Some("k2")).unwrap()["kid"], "k2");
        assert!(matches!(
            holder_key(&v.metadata, Some("k3")),
            Err(HolderKeyError::UnknownKid(_))
        ));
        let mut uri = v.metadata.clone();
        uri.jwks = None;
        uri.jwks_uri = Some("https://alpha.example/jwks".into());
        assert!(matches!(
            holder_key(&uri, None),
            Err(HolderKeyError::NoInlineKeys)
        ));
    }
}
