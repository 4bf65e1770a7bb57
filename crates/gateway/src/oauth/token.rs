//! `POST /token` (RFC 6749 §3.2, OAuth 2.1): reads the form (no repeated parameters), refuses
//! HTTP Basic client authentication (shared secrets are refused everywhere, C4) with a 401
//! challenging the scheme the client used, dispatches on `grant_type` (a missing one is
//! `invalid_request`, an unknown one `unsupported_grant_type`), and writes exactly one audit
//! event per request: `grant.issued` or `grant.denied` (client, credential, scopes, resource,
//! reason, the access token's `jti` — never a token, code or assertion). If the audit record of a
//! grant cannot be written, the token is not handed out (`server_error`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use super::errors::{ErrorCode, OAuthError, no_store};
use super::grant::{ClientAuth, Granted};
use super::params::Params;
use super::{OAuthState, authorization_code, client_credentials, refresh_token};

/// The grant types this endpoint serves.
pub const GRANT_TYPES: [&str; 3] = ["authorization_code", "client_credentials", "refresh_token"];

/// The token route.
pub fn routes() -> Router<OAuthState> {
    Router::new().route("/token", post(token))
}

/// The scheme of an `Authorization` header, if any.
pub fn authorization_scheme(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let scheme = v.split(' ').next().unwrap_or_default();
    Some(if scheme.is_empty() {
        "Bearer".to_owned()
    } else {
        scheme.to_owned()
    })
}

async fn run(
    state: &OAuthState,
    headers: &HeaderMap,
    body: &[u8],
    grant_type: &mut Option<String>,
    client: &mut Option<ClientAuth>,
) -> Result<Granted, OAuthError> {
    if body.len() > state.inner.config.max_body_bytes {
        return Err(OAuthError::invalid_request("the request body is too large"));
    }
    if let Some(scheme) = authorization_scheme(headers) {
        return Err(OAuthError::invalid_client(
            "client authentication in the Authorization header is not supported; use private_key_jwt or none (C4)",
        )
        .with_reason("header_client_auth")
        .with_challenge(&scheme, state.issuer()));
    }
    let params = Params::form(headers, body)?;
    let g = params.require("grant_type")?.to_owned();
    *grant_type = Some(g.clone());
    if !GRANT_TYPES.contains(&g.as_str()) {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {g:?} is not supported"),
        ));
    }
    let c =
        ClientAuth::from_params(&params).map_err(|e| e.with_challenge("Bearer", state.issuer()))?;
    *client = Some(c.clone());
    match g.as_str() {
        "client_credentials" => client_credentials::grant(state, &params, &c).await,
        "authorization_code" => authorization_code::grant(state, &params, &c).await,
        _ => refresh_token::grant(state, &params, &c).await,
    }
}

/// The `grant_type` label of the metrics: a grant type this endpoint serves, else `other` (the
/// value comes from the request; labels stay a bounded set).
fn grant_type_label(grant_type: Option<&str>) -> &'static str {
    match grant_type {
        Some(g) => GRANT_TYPES
            .iter()
            .find(|known| **known == g)
            .copied()
            .unwrap_or("other"),
        None => "none",
    }
}

async fn token(State(state): State<OAuthState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut grant_type = None;
    let mut client = None;
    let result = run(&state, &headers, &body, &mut grant_type, &mut client).await;
    let grant_label = grant_type_label(grant_type.as_deref());
    match result {
        Ok(granted) => {
            let mut e = state.event("grant.issued");
            e.actor = Some(granted.client_id.clone());
            e.client_id = Some(granted.client_id.clone());
            e.credential_id = granted.credential.as_ref().map(|c| c.id.clone());
            e.issuer = granted.credential.as_ref().map(|c| c.issuer.clone());
            e.scopes = Some(granted.scopes.clone());
            e.resource = Some(granted.resource.clone());
            e.decision = Some("allow".to_owned());
            e.reason = Some("granted".to_owned());
            e.details = json!({
                "grant_type": grant_type,
                "jti": granted.jti,
                "sub": granted.subject,
                "refresh_family": granted.family_id,
                "issuer_domain": granted.credential.as_ref().map(|c| c.issuer_domain.clone()),
                "verifier_audit_seq": granted.verifier_audit_seq,
            });
            if !state.audit(e).await {
                crossauthz_telemetry::metrics::grant_denied(grant_label, "audit_unavailable");
                return OAuthError::new(
                    ErrorCode::ServerError,
                    "the grant could not be recorded; no token was issued",
                )
                .into_response();
            }
            crossauthz_telemetry::metrics::grant_issued(grant_label);
            let mut r = (StatusCode::OK, axum::Json(granted.response)).into_response();
            no_store(&mut r);
            r
        }
        Err(err) => {
            let mut e = state.event("grant.denied");
            e.actor = client.as_ref().map(|c| c.client_id.clone());
            e.client_id = client.as_ref().map(|c| c.client_id.clone());
            e.decision = Some("deny".to_owned());
            e.reason = Some(err.reason.clone());
            e.details = json!({
                "grant_type": grant_type,
                "error": err.code.as_str(),
                "error_description": err.description,
            });
            state.audit(e).await;
            crossauthz_telemetry::metrics::grant_denied(grant_label, &err.reason);
            err.into_response()
        }
    }
}
