//! `POST /revoke` (RFC 7009). The client names itself (`client_id`, and its `private_key_jwt`
//! assertion if it is confidential) and is authenticated first, whatever the token (§2.1), by
//! `Verifier/AuthenticateClient`: a confidential client by its assertion, a public client
//! identified by its (re-resolved) client_id; a refusal is 401 `invalid_client`. The token must
//! have been issued to it (otherwise `invalid_request`, §2.1). Revoking a refresh token revokes its whole family
//! (§2.1: the grant); revoking an access token records its `jti` until its `exp`, so
//! introspection reports it inactive (resource servers validating offline keep accepting it until
//! it expires — access tokens are short-lived for that reason). An unknown, invalid or already
//! revoked token is answered 200 (§2.2). Every call is an audit event (`token.revoked`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use super::OAuthState;
use super::access_token::{Presented, lookup};
use super::errors::{OAuthError, no_store};
use super::grant::{ClientAuth, Purpose, authenticate};
use super::params::Params;
use super::token::authorization_scheme;

/// The revocation route.
pub fn routes() -> Router<OAuthState> {
    Router::new().route("/revoke", post(revoke))
}

/// What happened, for the audit record.
struct Outcome {
    kind: &'static str,
    jti: Option<String>,
    family: Option<uuid::Uuid>,
}

async fn run(
    state: &OAuthState,
    headers: &HeaderMap,
    body: &[u8],
    client_out: &mut Option<String>,
) -> Result<Outcome, OAuthError> {
    if body.len() > state.inner.config.max_body_bytes {
        return Err(OAuthError::invalid_request("the request body is too large"));
    }
    if let Some(scheme) = authorization_scheme(headers) {
        return Err(OAuthError::invalid_client(
            "client authentication in the Authorization header is not supported (C4)",
        )
        .with_challenge(&scheme, state.issuer()));
    }
    let params = Params::form(headers, body)?;
    let client =
        ClientAuth::from_params(&params).map_err(|e| e.with_challenge("Bearer", state.issuer()))?;
    *client_out = Some(client.client_id.clone());
    let token = params.require("token")?;
    params.get("token_type_hint")?;
    // §2.1: the client is authenticated first (a confidential one by its assertion, a public
    // one identified by its client_id), whatever the token.
    authenticate(state, &client, Purpose::Revocation).await?;
    let now = state.now();
    let mismatch = || {
        OAuthError::invalid_request("the token was not issued to this client (RFC 7009 §2.1)")
            .with_reason("token_client_mismatch")
    };
    match lookup(state, token).await? {
        Presented::Unknown => Ok(Outcome {
            kind: "unknown",
            jti: None,
            family: None,
        }),
        Presented::Access(t) => {
            if t.client_id != client.client_id {
                return Err(mismatch());
            }
            if !t.revoked && t.expires_at > now {
                state
                    .inner
                    .store
                    .revoke_access_token(&t.jti, &t.client_id, t.expires_at, now)
                    .await
                    .map_err(|e| OAuthError::store(&e))?;
            }
            Ok(Outcome {
                kind: "access_token",
                jti: Some(t.jti),
                family: None,
            })
        }
        Presented::Refresh(r) => {
            let f = r.family.family;
            if f.client_id != client.client_id {
                return Err(mismatch());
            }
            state
                .inner
                .store
                .revoke_refresh_family(f.family_id, "revoked", now)
                .await
                .map_err(|e| OAuthError::store(&e))?;
            Ok(Outcome {
                kind: "refresh_token",
                jti: None,
                family: Some(f.family_id),
            })
        }
    }
}

async fn revoke(State(state): State<OAuthState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut client = None;
    let result = run(&state, &headers, &body, &mut client).await;
    let mut e = state.event("token.revoked");
    e.actor = client.clone();
    e.client_id = client;
    match &result {
        Ok(o) => {
            e.decision = Some("applied".to_owned());
            e.reason = Some(o.kind.to_owned());
            e.details = json!({"jti": o.jti, "refresh_family": o.family});
        }
        Err(err) => {
            e.decision = Some("deny".to_owned());
            e.reason = Some(err.reason.clone());
            e.details = json!({"error": err.code.as_str()});
        }
    }
    state.audit(e).await;
    match result {
        Ok(_) => {
            let mut r = StatusCode::OK.into_response();
            no_store(&mut r);
            r
        }
        Err(e) => e.into_response(),
    }
}
