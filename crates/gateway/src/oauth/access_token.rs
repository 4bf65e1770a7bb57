//! Recognising a token presented to the introspection and revocation endpoints: one of our
//! RFC 9068 access tokens (compact JWS, `typ: at+jwt`, EdDSA/ES256, `iss` = this issuer, signed
//! by a key of the JWKS the issuer publishes — checked with the credentials crate's JOSE rules),
//! or one of our refresh tokens (looked up by hash in the store), or neither.

use chrono::{DateTime, Utc};
use crossauthz_credentials::did_web::Jwks;
use crossauthz_credentials::jose::CheckedJws;
use crossauthz_proto::issuer::GetPublicKeysRequest;
use crossauthz_store::RefreshToken;
use crossauthz_store::oauth::MAX_SECRET_LEN;
use serde_json::{Map, Value};

use super::OAuthState;
use super::errors::OAuthError;

/// The JOSE `typ` of our access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// One of our access tokens, signature checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    /// Every claim.
    pub claims: Map<String, Value>,
    /// `jti`.
    pub jti: String,
    /// `client_id`.
    pub client_id: String,
    /// `aud` (the resource).
    pub resource: String,
    /// `scope`, split.
    pub scopes: Vec<String>,
    /// `exp`.
    pub expires_at: DateTime<Utc>,
    /// True when revoked through `/revoke`.
    pub revoked: bool,
}

impl AccessToken {
    /// True when unexpired and not revoked at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at > now
    }
}

/// What a presented token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Presented {
    /// One of our access tokens.
    Access(AccessToken),
    /// One of our refresh tokens.
    Refresh(RefreshToken),
    /// Not ours (or malformed, or a forged signature).
    Unknown,
}

fn string(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Verifies `token` as one of our access tokens (signature, `typ`, `iss`); `None` if it is not.
pub async fn verify(state: &OAuthState, token: &str) -> Result<Option<AccessToken>, OAuthError> {
    let Ok(jws) = CheckedJws::decode(token, ACCESS_TOKEN_TYP) else {
        return Ok(None);
    };
    let Some(kid) = jws.header().kid.clone() else {
        return Ok(None);
    };
    if jws.claims().get("iss").and_then(Value::as_str) != Some(state.issuer()) {
        return Ok(None);
    }
    let keys = state
        .inner
        .issuer_client
        .clone()
        .get_public_keys(GetPublicKeysRequest {})
        .await
        .map_err(|s| OAuthError::upstream("issuer", &s))?
        .into_inner();
    let jwks = serde_json::from_str::<Value>(&keys.jwks_json)
        .ok()
        .and_then(|v| Jwks::from_json(&v).ok())
        .unwrap_or_default();
    let Ok(key) = jwks.find(&kid) else {
        return Ok(None);
    };
    if jws.verify_signature(key).is_err() {
        return Ok(None);
    }
    let (_, claims) = jws.into_parts();
    let Value::Object(claims) = claims else {
        return Ok(None);
    };
    let (Some(jti), Some(client_id), Some(resource)) = (
        string(&claims, "jti"),
        string(&claims, "client_id"),
        string(&claims, "aud"),
    ) else {
        return Ok(None);
    };
    let Some(expires_at) = claims
        .get("exp")
        .and_then(Value::as_i64)
        .and_then(|e| DateTime::from_timestamp(e, 0))
    else {
        return Ok(None);
    };
    let scopes = string(&claims, "scope")
        .map(|s| s.split(' ').map(str::to_owned).collect())
        .unwrap_or_default();
    let revoked = state
        .inner
        .store
        .access_token_revoked(&jti)
        .await
        .map_err(|e| OAuthError::store(&e))?;
    Ok(Some(AccessToken {
        claims,
        jti,
        client_id,
        resource,
        scopes,
        expires_at,
        revoked,
    }))
}

/// Recognises a presented token.
pub async fn lookup(state: &OAuthState, token: &str) -> Result<Presented, OAuthError> {
    if token.matches('.').count() == 2 {
        return Ok(verify(state, token)
            .await?
            .map_or(Presented::Unknown, Presented::Access));
    }
    if token.is_empty() || token.len() > MAX_SECRET_LEN {
        return Ok(Presented::Unknown);
    }
    Ok(state
        .inner
        .store
        .get_refresh_token(token)
        .await
        .map_err(|e| OAuthError::store(&e))?
        .map_or(Presented::Unknown, Presented::Refresh))
}
