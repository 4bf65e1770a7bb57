//! What the grants share: who the client says it is ([`ClientAuth`], from the form — the
//! `private_key_jwt` assertion itself is checked by the verifier, never here), the decision
//! (`Verifier/Decide`, DESIGN §6 steps 1–6, failing closed), the mint (`Issuer/SignAccessToken`,
//! step 7) and the token response (RFC 6749 §5.1). Secrets (codes, refresh tokens, consent
//! handles) are 256-bit random values from the OS generator, base64url.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use crossauthz_proto::issuer::SignAccessTokenRequest;
use crossauthz_proto::verifier::{AuthenticateClientRequest, DecideRequest, VerifiedCredential};
use rand::RngCore;
use serde::Serialize;
use uuid::Uuid;

use super::OAuthState;
use super::errors::{ErrorCode, OAuthError};
use super::params::Params;

/// RFC 7523 §2.2 `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest `client_id` accepted.
pub const MAX_CLIENT_ID_LEN: usize = 2048;

/// A fresh 256-bit secret, base64url without padding (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The client as named in a request: `client_id` (or, without it, the `iss` of the assertion,
/// RFC 7523 §3 — unverified here; the verifier checks `iss` = `sub` = client_id, P2) and the
/// assertion, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAuth {
    /// The client_id.
    pub client_id: String,
    /// `client_assertion` (empty for public clients).
    pub assertion: String,
    /// `client_assertion_type`.
    pub assertion_type: String,
}

/// The `iss` of a JWT, unverified (only to learn which client claims to be speaking).
fn unverified_issuer(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_owned)
}

impl ClientAuth {
    /// Reads `client_id`, `client_assertion` and `client_assertion_type`.
    pub fn from_params(params: &Params) -> Result<Self, OAuthError> {
        let assertion = params.get("client_assertion")?.unwrap_or_default();
        let assertion_type = params.get("client_assertion_type")?.unwrap_or_default();
        let client_id = match params.get("client_id")? {
            Some(c) => c.to_owned(),
            None => unverified_issuer(assertion).ok_or_else(|| {
                OAuthError::invalid_client(
                    "client_id (or a client_assertion naming the client) is required",
                )
                .with_reason("client_id_missing")
            })?,
        };
        if client_id.len() > MAX_CLIENT_ID_LEN {
            return Err(OAuthError::invalid_client("client_id is too long"));
        }
        Ok(Self {
            client_id,
            assertion: assertion.to_owned(),
            assertion_type: assertion_type.to_owned(),
        })
    }

    /// True when the client presented an assertion.
    pub fn has_assertion(&self) -> bool {
        !self.assertion.is_empty()
    }
}

/// An allowed decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// Granted scopes (requested ∩ authorized ∩ permitted).
    pub granted_scopes: Vec<String>,
    /// The verified credential, if the client carries one.
    pub credential: Option<VerifiedCredential>,
    /// The verifier's audit record of the decision.
    pub verifier_audit_seq: u64,
}

/// What a grant asks the verifier to decide.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRequest<'a> {
    /// The grant type.
    pub grant_type: &'a str,
    /// The scopes asked for.
    pub scopes: &'a [String],
    /// The audience.
    pub resource: &'a str,
    /// `refresh_token` only: the scopes of the grant being refreshed (RFC 6749 §6).
    pub original_scopes: &'a [String],
}

/// Asks the verifier (DESIGN §6 steps 1–6). A denial is the verifier's OAuth error with its
/// description; the deny code is the audit reason. An unreachable verifier is
/// `temporarily_unavailable`: nothing is granted (fail closed).
pub async fn decide(
    state: &OAuthState,
    client: &ClientAuth,
    asked: DecisionRequest<'_>,
) -> Result<Decided, OAuthError> {
    let request = DecideRequest {
        client_id: client.client_id.clone(),
        client_assertion: client.assertion.clone(),
        client_assertion_type: client.assertion_type.clone(),
        grant_type: asked.grant_type.to_owned(),
        requested_scopes: asked.scopes.to_vec(),
        resource: asked.resource.to_owned(),
        presentation: String::new(),
        presentation_nonce: String::new(),
        original_scopes: asked.original_scopes.to_vec(),
    };
    let d = state
        .inner
        .verifier
        .clone()
        .decide(request)
        .await
        .map_err(|s| OAuthError::upstream("verifier", &s))?
        .into_inner();
    if d.allowed && !d.granted_scopes.is_empty() {
        return Ok(Decided {
            granted_scopes: d.granted_scopes,
            credential: d.credential,
            verifier_audit_seq: d.audit_seq,
        });
    }
    let deny = d.deny.unwrap_or_default();
    let code = ErrorCode::from_verifier(&deny.oauth_error);
    let description = if deny.description.is_empty() {
        "the request was denied".to_owned()
    } else {
        deny.description
    };
    let reason = if deny.code.is_empty() {
        "denied".to_owned()
    } else {
        deny.code
    };
    Err(OAuthError::new(code, description)
        .with_reason(reason)
        .with_challenge("Bearer", state.issuer()))
}

/// Why a client authenticates outside a grant (recorded by the verifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// RFC 7662: only confidential clients (`private_key_jwt`).
    Introspection,
    /// RFC 7009: confidential clients with their assertion, public clients by client_id (§2.1).
    Revocation,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Introspection => "introspection",
            Self::Revocation => "revocation",
        }
    }
}

/// An authenticated (or, for revocation, identified public) client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedClient {
    /// The client authenticated with `private_key_jwt`.
    pub confidential: bool,
    /// The verifier's audit record of the authentication.
    pub verifier_audit_seq: u64,
}

/// Authenticates a client outside a grant (introspection, revocation) through
/// `Verifier/AuthenticateClient`: the same client_id, document, assertion (with replay check)
/// and credential steps as a grant, no grant decision. Any refusal is `invalid_client` (401)
/// with the verifier's reason; an unreachable verifier is `temporarily_unavailable`.
pub async fn authenticate(
    state: &OAuthState,
    client: &ClientAuth,
    purpose: Purpose,
) -> Result<AuthenticatedClient, OAuthError> {
    let answer = state
        .inner
        .verifier
        .clone()
        .authenticate_client(AuthenticateClientRequest {
            client_id: client.client_id.clone(),
            client_assertion: client.assertion.clone(),
            client_assertion_type: client.assertion_type.clone(),
            allow_public: purpose == Purpose::Revocation,
            purpose: purpose.as_str().to_owned(),
        })
        .await
        .map_err(|s| OAuthError::upstream("verifier", &s))?
        .into_inner();
    if answer.authenticated {
        return Ok(AuthenticatedClient {
            confidential: answer.confidential,
            verifier_audit_seq: answer.audit_seq,
        });
    }
    let deny = answer.deny.unwrap_or_default();
    let description = if deny.description.is_empty() {
        "client authentication failed".to_owned()
    } else {
        deny.description
    };
    let reason = if deny.code.is_empty() {
        "client_unauthenticated".to_owned()
    } else {
        deny.code
    };
    Err(OAuthError::invalid_client(description)
        .with_reason(reason)
        .with_challenge("Bearer", state.issuer()))
}

/// A signed access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The JWT.
    pub access_token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: DateTime<Utc>,
    /// Seconds from now to `exp`.
    pub expires_in: i64,
}

/// Asks the issuer to sign an RFC 9068 access token (DESIGN §6 step 7).
pub async fn mint(
    state: &OAuthState,
    client_id: &str,
    subject: &str,
    resource: &str,
    scopes: &[String],
    credential: Option<&VerifiedCredential>,
) -> Result<Minted, OAuthError> {
    let signed = state
        .inner
        .issuer_client
        .clone()
        .sign_access_token(SignAccessTokenRequest {
            audience: resource.to_owned(),
            client_id: client_id.to_owned(),
            scopes: scopes.to_vec(),
            subject: subject.to_owned(),
            credential_id: credential.map(|c| c.id.clone()).unwrap_or_default(),
            issuer_domain: credential
                .map(|c| c.issuer_domain.clone())
                .unwrap_or_default(),
            lifetime_seconds: state.inner.config.access_token_lifetime_seconds,
        })
        .await
        .map_err(|s| OAuthError::upstream("issuer", &s))?
        .into_inner();
    let issued = signed.issued_at.map_or(0, |t| t.seconds);
    let expires = signed.expires_at.map_or(0, |t| t.seconds);
    Ok(Minted {
        access_token: signed.access_token,
        jti: signed.jti,
        expires_at: DateTime::from_timestamp(expires, 0).unwrap_or_default(),
        expires_in: (expires - issued).max(0),
    })
}

/// The successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    /// The RFC 9068 JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// The granted scopes.
    pub scope: String,
    /// A new refresh token (code and refresh grants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// A grant and what its audit record says.
#[derive(Debug, Clone, PartialEq)]
pub struct Granted {
    /// The response.
    pub response: TokenResponse,
    /// The client.
    pub client_id: String,
    /// The token's subject.
    pub subject: String,
    /// The audience.
    pub resource: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The verified credential.
    pub credential: Option<VerifiedCredential>,
    /// The access token's `jti`.
    pub jti: String,
    /// The refresh family, if any.
    pub family_id: Option<Uuid>,
    /// The verifier's audit record.
    pub verifier_audit_seq: u64,
}

impl Granted {
    /// A grant from its parts.
    pub fn new(
        client_id: &str,
        subject: &str,
        resource: &str,
        decided: Decided,
        minted: Minted,
        refresh: Option<(String, Uuid)>,
    ) -> Self {
        let (refresh_token, family_id) = match refresh {
            Some((t, f)) => (Some(t), Some(f)),
            None => (None, None),
        };
        Self {
            response: TokenResponse {
                access_token: minted.access_token,
                token_type: "Bearer",
                expires_in: minted.expires_in,
                scope: decided.granted_scopes.join(" "),
                refresh_token,
            },
            client_id: client_id.to_owned(),
            subject: subject.to_owned(),
            resource: resource.to_owned(),
            scopes: decided.granted_scopes,
            credential: decided.credential,
            jti: minted.jti,
            family_id,
            verifier_audit_seq: decided.verifier_audit_seq,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bit_base64url_and_distinct() {
        let a = random_secret();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, random_secret());
    }

    // RFC 7523 §3: without client_id the client is the assertion's iss (checked by the verifier).
    #[test]
    fn p2_client_id_defaults_to_the_assertion_issuer() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"https://a.example/c.json"}"#);
        let jwt = format!("e30.{payload}.sig");
        let params = Params::parse(format!("client_assertion={jwt}").as_bytes()).unwrap();
        let c = ClientAuth::from_params(&params).unwrap();
        assert_eq!(c.client_id, "https://a.example/c.json");
        assert!(c.has_assertion());
        let none = Params::parse(b"grant_type=client_credentials").unwrap();
        assert_eq!(
            ClientAuth::from_params(&none).unwrap_err().code,
            ErrorCode::InvalidClient
        );
        let garbage = Params::parse(b"client_assertion=not-a-jwt").unwrap();
        assert_eq!(
            ClientAuth::from_params(&garbage).unwrap_err().code,
            ErrorCode::InvalidClient
        );
    }
}
