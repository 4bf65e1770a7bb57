//! Admin REST for the credential lifecycle and the signing keys (DESIGN §4), each call mirroring
//! one issuer gRPC method. Mounted under `/admin/v1` behind the bearer middleware (no or a wrong
//! token is 401 before any handler runs).
//!
//! | call | gRPC |
//! |---|---|
//! | `GET /credentials/{id}` | `GetCredential` |
//! | `POST /credentials/{id}/revoke` `{reason?}` | `RevokeCredential` |
//! | `POST /credentials/{id}/suspend` `{reason?}` | `SuspendCredential` |
//! | `POST /credentials/{id}/unsuspend` `{reason?}` | `UnsuspendCredential` |
//! | `POST /keys/rotate` `{algorithm?: "EdDSA"\|"ES256", reason?}` | `RotateKey` |
//! | `GET /keys` | `GetPublicKeys` (the published keys) |
//!
//! Answers are JSON; failures are RFC 9457 problems (unknown credential 404, a forbidden
//! transition such as unsuspending a revoked credential 409, malformed input 400).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crossauthz_proto::common::{self, CredentialFormat, CredentialStatus};
use crossauthz_proto::issuer::{
    ChangeStatusRequest, CredentialInfo, GetCredentialRequest, GetPublicKeysRequest, KeyAlgorithm,
    KeyInfo, RotateKeyRequest,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::problem::Problem;

/// The actor recorded in the audit log for calls made with the admin token.
pub const ADMIN_ACTOR: &str = "admin-api";

/// The routes of this module (mounted under `/admin/v1`).
pub fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/credentials/{id}", get(get_credential))
        .route("/credentials/{id}/revoke", post(revoke))
        .route("/credentials/{id}/suspend", post(suspend))
        .route("/credentials/{id}/unsuspend", post(unsuspend))
        .route("/keys/rotate", post(rotate_key))
        .route("/keys", get(list_keys))
}

/// Body of a status change (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    /// Why (kept in the audit log).
    #[serde(default)]
    reason: Option<String>,
}

/// Body of a key rotation (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    /// `EdDSA` or `ES256`; the issuer's configured algorithm when absent.
    #[serde(default)]
    algorithm: Option<String>,
    /// Why (kept in the audit log).
    #[serde(default)]
    reason: Option<String>,
}

/// Parses an optional JSON body: empty is the default, anything else must be the JSON object.
fn optional_body<T: for<'de> Deserialize<'de> + Default>(body: &Bytes) -> Result<T, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let bad = |detail: String| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("the request body is not the expected JSON object: {detail}"),
        )
    };
    // serde would also build the struct from a JSON array; only an object is accepted.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(bad("expected `{`".to_owned()));
    }
    serde_json::from_slice(body).map_err(|e| bad(e.to_string()))
}

fn rfc3339(t: Option<prost_types::Timestamp>) -> Value {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map_or(Value::Null, |t| {
            json!(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        })
}

fn format_name(f: i32) -> &'static str {
    match CredentialFormat::try_from(f) {
        Ok(CredentialFormat::VcJwt) => "vc+jwt",
        Ok(CredentialFormat::DcSdJwt) => "dc+sd-jwt",
        _ => "unspecified",
    }
}

fn status_name(s: i32) -> &'static str {
    match CredentialStatus::try_from(s) {
        Ok(CredentialStatus::Valid) => "valid",
        Ok(CredentialStatus::Revoked) => "revoked",
        Ok(CredentialStatus::Suspended) => "suspended",
        _ => "unspecified",
    }
}

/// The JSON view of a credential.
pub fn credential_json(c: &CredentialInfo) -> Value {
    json!({
        "id": c.id,
        "agent_id": c.agent_id,
        "subject": c.subject,
        "format": format_name(c.format),
        "status": status_name(c.status),
        "status_reference": c.status_reference.as_ref().map(|r| json!({
            "list_id": r.list_id,
            "index": r.index,
            "uri": r.uri,
        })),
        "issued_at": rfc3339(c.issued_at),
        "valid_until": rfc3339(c.valid_until),
        "kid": c.kid,
    })
}

/// The JSON view of a signing key (public material only).
pub fn key_json(k: &KeyInfo) -> Value {
    let algorithm = match KeyAlgorithm::try_from(k.algorithm) {
        Ok(KeyAlgorithm::Eddsa) => "EdDSA",
        Ok(KeyAlgorithm::Es256) => "ES256",
        _ => "unspecified",
    };
    json!({
        "kid": k.kid,
        "algorithm": algorithm,
        "public_jwk": serde_json::from_str::<Value>(&k.public_jwk_json).unwrap_or(Value::Null),
        "active": k.retired_at.is_none(),
        "created_at": rfc3339(k.created_at),
        "retired_at": rfc3339(k.retired_at),
        "publish_until": rfc3339(k.publish_until),
    })
}

fn actor(reason: Option<String>) -> Option<common::Actor> {
    Some(common::Actor {
        subject: ADMIN_ACTOR.to_owned(),
        reason: reason.unwrap_or_default(),
    })
}

async fn get_credential(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state
        .upstreams
        .issuer
        .clone()
        .get_credential(GetCredentialRequest { id })
        .await
    {
        Ok(c) => Json(credential_json(&c.into_inner())).into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

#[derive(Clone, Copy)]
enum Change {
    Revoke,
    Suspend,
    Unsuspend,
}

async fn change(state: AppState, id: String, body: Bytes, which: Change) -> Response {
    let body: ChangeBody = match optional_body(&body) {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let request = ChangeStatusRequest {
        id,
        actor: actor(body.reason),
    };
    let mut issuer = state.upstreams.issuer.clone();
    let result = match which {
        Change::Revoke => issuer.revoke_credential(request).await,
        Change::Suspend => issuer.suspend_credential(request).await,
        Change::Unsuspend => issuer.unsuspend_credential(request).await,
    };
    match result {
        Ok(c) => Json(credential_json(&c.into_inner())).into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

async fn revoke(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    change(state, id, body, Change::Revoke).await
}

async fn suspend(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    change(state, id, body, Change::Suspend).await
}

async fn unsuspend(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Response {
    change(state, id, body, Change::Unsuspend).await
}

async fn rotate_key(State(state): State<AppState>, body: Bytes) -> Response {
    let body: RotateBody = match optional_body(&body) {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let algorithm = match body.algorithm.as_deref() {
        None => KeyAlgorithm::Unspecified,
        Some("EdDSA") => KeyAlgorithm::Eddsa,
        Some("ES256") => KeyAlgorithm::Es256,
        Some(_) => {
            return Problem::new(StatusCode::BAD_REQUEST, "algorithm must be EdDSA or ES256")
                .into_response();
        }
    };
    match state
        .upstreams
        .issuer
        .clone()
        .rotate_key(RotateKeyRequest {
            algorithm: algorithm as i32,
            actor: actor(body.reason),
        })
        .await
    {
        Ok(k) => Json(key_json(&k.into_inner())).into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

async fn list_keys(State(state): State<AppState>) -> Response {
    match state
        .upstreams
        .issuer
        .clone()
        .get_public_keys(GetPublicKeysRequest {})
        .await
    {
        Ok(k) => Json(json!({
            "keys": k.into_inner().keys.iter().map(key_json).collect::<Vec<_>>()
        }))
        .into_response(),
        Err(s) => Problem::from(s).into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn optional_bodies_parse_or_are_a_400_problem() {
        let b: ChangeBody = optional_body(&Bytes::from_static(b"")).unwrap();
        assert!(b.reason.is_none());
        let b: ChangeBody = optional_body(&Bytes::from_static(b" \n")).unwrap();
        assert!(b.reason.is_none());
        let b: ChangeBody = optional_body(&Bytes::from_static(br#"{"reason":"x"}"#)).unwrap();
        assert_eq!(b.reason.as_deref(), Some("x"));
        for bad in [&b"{"[..], b"[]", br#"{"reason":1}"#, br#"{"other":1}"#] {
            let p = optional_body::<ChangeBody>(&Bytes::copy_from_slice(bad)).unwrap_err();
            assert_eq!(p.status, 400);
        }
    }

    #[test]
    fn key_views_carry_only_public_members() {
        let k = KeyInfo {
            kid: "t".into(),
            algorithm: KeyAlgorithm::Eddsa as i32,
            public_jwk_json: r#"{"kty":"OKP","crv":"Ed25519","x":"abc"}"#.into(),
            created_at: Some(prost_types::Timestamp {
                seconds: 1_800_000_000,
                nanos: 0,
            }),
            retired_at: None,
            publish_until: None,
        };
        let v = key_json(&k);
        assert_eq!(v["algorithm"], "EdDSA");
        assert_eq!(v["active"], true);
        assert_eq!(v["created_at"], "2027-01-15T08:00:00Z");
        assert_eq!(v["retired_at"], Value::Null);
    }

    proptest::proptest! {
        // Any body bytes are parsed or refused without panicking.
        #[test]
        fn parsing_any_body_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = optional_body::<RotateBody>(&Bytes::from(bytes));
        }
    }
}
