//! `POST /introspect` (RFC 7662), for authenticated callers only (§2.1):
//! - the admin token (`Authorization: Bearer <admin token>`, e.g. for this domain's resource
//!   servers and operators) may introspect any token;
//! - a client authenticated with `private_key_jwt` may introspect its own tokens. The client is
//!   authenticated first, whatever the token, through `Verifier/AuthenticateClient` (client_id,
//!   document, assertion with replay check, the credential its document carries; no grant).
//!
//! A wrong bearer token, a client without an assertion (public clients cannot introspect) or one
//! the verifier does not authenticate is 401 `invalid_client`. Any token that is not an active
//! token of the caller (unknown, forged, expired, revoked, used, another client's) is
//! `{"active": false}` and nothing else (§2.2, §4).
//! Every introspection is an audit event (`token.introspected`). Responses are `no-store`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::OAuthState;
use super::access_token::{Presented, lookup};
use super::errors::{OAuthError, no_store};
use super::grant::{ClientAuth, Purpose, authenticate};
use super::params::Params;

/// The introspection route.
pub fn routes() -> Router<OAuthState> {
    Router::new().route("/introspect", post(introspect))
}

/// Who asks.
enum Caller {
    Admin,
    Client(ClientAuth),
}

/// The token's owner and its full answer when active.
struct Found {
    owner: String,
    answer: Map<String, Value>,
}

fn describe(presented: Presented, now: chrono::DateTime<chrono::Utc>) -> Option<Found> {
    match presented {
        Presented::Access(t) if t.is_active(now) => {
            let mut answer = Map::new();
            answer.insert("active".into(), json!(true));
            answer.insert("token_type".into(), json!("Bearer"));
            for k in [
                "scope",
                "client_id",
                "sub",
                "aud",
                "iss",
                "exp",
                "iat",
                "jti",
                "credential_id",
                "issuer_domain",
            ] {
                if let Some(v) = t.claims.get(k) {
                    answer.insert(k.into(), v.clone());
                }
            }
            Some(Found {
                owner: t.client_id,
                answer,
            })
        }
        Presented::Refresh(r) if r.is_active(now) => {
            let f = &r.family.family;
            let mut answer = Map::new();
            answer.insert("active".into(), json!(true));
            answer.insert("scope".into(), json!(f.scopes.join(" ")));
            answer.insert("client_id".into(), json!(f.client_id));
            answer.insert("sub".into(), json!(f.subject));
            answer.insert("aud".into(), json!(f.resource));
            answer.insert("exp".into(), json!(r.expires_at.timestamp()));
            answer.insert("iat".into(), json!(r.created_at.timestamp()));
            Some(Found {
                owner: f.client_id.clone(),
                answer,
            })
        }
        _ => None,
    }
}

async fn run(
    state: &OAuthState,
    headers: &HeaderMap,
    body: &[u8],
    actor: &mut Option<String>,
    owner: &mut Option<String>,
) -> Result<Value, OAuthError> {
    if body.len() > state.inner.config.max_body_bytes {
        return Err(OAuthError::invalid_request("the request body is too large"));
    }
    let params = Params::form(headers, body)?;
    let caller = match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(v) => {
            let token = v
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim());
            match token {
                Some(t) if state.inner.admin_token.matches(t) => Caller::Admin,
                _ => {
                    return Err(OAuthError::invalid_client(
                        "the bearer token is not valid for introspection",
                    )
                    .with_reason("introspection_unauthenticated")
                    .with_challenge("Bearer", state.issuer()));
                }
            }
        }
        None => {
            let client = ClientAuth::from_params(&params)
                .map_err(|e| e.with_challenge("Bearer", state.issuer()))?;
            if !client.has_assertion() {
                return Err(OAuthError::invalid_client(
                    "introspection requires private_key_jwt client authentication (RFC 7662 §2.1)",
                )
                .with_reason("introspection_unauthenticated")
                .with_challenge("Bearer", state.issuer()));
            }
            Caller::Client(client)
        }
    };
    *actor = Some(match &caller {
        Caller::Admin => "admin".to_owned(),
        Caller::Client(c) => c.client_id.clone(),
    });
    let token = params.require("token")?;
    params.get("token_type_hint")?;
    if let Caller::Client(client) = &caller {
        // RFC 7662 §2.1: the caller is authenticated before anything about the token is said.
        authenticate(state, client, Purpose::Introspection).await?;
    }
    let found = describe(lookup(state, token).await?, state.now());
    let Some(found) = found else {
        return Ok(json!({"active": false}));
    };
    *owner = Some(found.owner.clone());
    match caller {
        Caller::Admin => Ok(Value::Object(found.answer)),
        Caller::Client(client) => {
            if client.client_id != found.owner {
                return Ok(json!({"active": false}));
            }
            Ok(Value::Object(found.answer))
        }
    }
}

async fn introspect(State(state): State<OAuthState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut actor = None;
    let mut owner = None;
    let result = run(&state, &headers, &body, &mut actor, &mut owner).await;
    let mut e = state.event("token.introspected");
    e.actor = actor;
    e.client_id = owner;
    match &result {
        Ok(v) => {
            let active = v.get("active") == Some(&Value::Bool(true));
            e.decision = Some(if active { "active" } else { "inactive" }.to_owned());
            e.reason = Some("introspected".to_owned());
            e.details = json!({"jti": v.get("jti")});
        }
        Err(err) => {
            e.decision = Some("deny".to_owned());
            e.reason = Some(err.reason.clone());
            e.details = json!({"error": err.code.as_str()});
        }
    }
    state.audit(e).await;
    match result {
        Ok(v) => {
            let mut r = (StatusCode::OK, axum::Json(v)).into_response();
            no_store(&mut r);
            r
        }
        Err(e) => e.into_response(),
    }
}
