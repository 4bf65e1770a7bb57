//! RFC 7591/7592 dynamic client registration, the compatibility path (D1, D2), served from the
//! registry's `RegisterClient` / `GetClient` / `UpdateClient` / `DeleteClient`:
//!
//! - `POST /register` (JSON client metadata) → 201 with `client_id`, `client_id_issued_at`,
//!   `registration_access_token`, `registration_client_uri` and the registered metadata;
//!   a refusal is 400 `{error, error_description}` with the RFC 7591 §3.2.2 code;
//! - `GET | PUT | DELETE /register/{id}` with `Authorization: Bearer <registration access
//!   token>`: 200 (the client information, the presented token echoed as RFC 7592 §3 requires),
//!   200 after a full replacement, 204. A missing or wrong token, or an unknown client, is 401
//!   with `WWW-Authenticate: Bearer` (RFC 7592 §2: the same answer for both).
//!
//! Answers carry `Cache-Control: no-store` (they hold a bearer credential).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use crossauthz_proto::registry::{
    ClientAccessRequest, RegisterClientRequest, RegisteredClient, UpdateClientRequest,
};
use serde_json::{Map, Value, json};

use crate::AppState;

/// The gRPC metadata entry in which the registry names the RFC 7591 error code.
pub const OAUTH_ERROR_METADATA: &str = "oauth-error";

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/register", post(register)).route(
        "/register/{id}",
        axum::routing::get(read).put(replace).delete(remove),
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// An OAuth error answer `{error, error_description}`.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = json_response(
        status,
        &json!({"error": error, "error_description": description}),
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    r
}

fn unauthorized() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "a valid registration access token is required",
    )
}

/// The one table from a registry failure to a DCR answer.
fn from_status(s: &tonic::Status) -> Response {
    use tonic::Code;
    match s.code() {
        Code::InvalidArgument => {
            let code = s
                .metadata()
                .get(OAUTH_ERROR_METADATA)
                .and_then(|v| v.to_str().ok())
                .filter(|c| {
                    matches!(
                        *c,
                        "invalid_redirect_uri"
                            | "invalid_client_metadata"
                            | "invalid_software_statement"
                            | "unapproved_software_statement"
                    )
                })
                .unwrap_or("invalid_client_metadata");
            oauth_error(StatusCode::BAD_REQUEST, code, s.message())
        }
        Code::Unauthenticated | Code::NotFound => unauthorized(),
        Code::Unavailable | Code::DeadlineExceeded => oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the registry is unavailable; try again later",
        ),
        code => {
            tracing::error!(
                ?code,
                message = s.message(),
                "registry failure on /register"
            );
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the registration could not be completed",
            )
        }
    }
}

/// The client information response: the registered metadata plus the server-set members.
fn client_json(c: RegisteredClient, token: Option<&str>) -> Value {
    let mut m = match serde_json::from_str::<Value>(&c.metadata_json) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    m.insert("client_id".into(), json!(c.client_id));
    if let Some(t) = c.client_id_issued_at {
        m.insert("client_id_issued_at".into(), json!(t.seconds));
    }
    m.insert(
        "registration_client_uri".into(),
        json!(c.registration_client_uri),
    );
    let token = Some(c.registration_access_token.as_str())
        .filter(|t| !t.is_empty())
        .or(token);
    if let Some(t) = token {
        m.insert("registration_access_token".into(), json!(t));
    }
    Value::Object(m)
}

/// The bearer token of the request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// True if the request says its body is JSON (`application/json`, parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// The metadata text of a request, or why it is refused (`invalid_client_metadata`).
fn body_text(headers: &HeaderMap, bytes: &Bytes) -> Result<String, &'static str> {
    if !is_json(headers) {
        return Err("the client metadata must be sent as application/json");
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| "the client metadata is not UTF-8")
}

fn refused_body(description: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        description,
    )
}

async fn register(State(state): State<AppState>, headers: HeaderMap, bytes: Bytes) -> Response {
    let metadata_json = match body_text(&headers, &bytes) {
        Ok(t) => t,
        Err(why) => return refused_body(why),
    };
    match state
        .upstreams
        .registry
        .clone()
        .register_client(RegisterClientRequest { metadata_json })
        .await
    {
        Ok(c) => json_response(StatusCode::CREATED, &client_json(c.into_inner(), None)),
        Err(s) => from_status(&s),
    }
}

async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return unauthorized();
    };
    match state
        .upstreams
        .registry
        .clone()
        .get_client(ClientAccessRequest {
            client_id: id,
            registration_access_token: token.to_owned(),
        })
        .await
    {
        Ok(c) => json_response(StatusCode::OK, &client_json(c.into_inner(), Some(token))),
        Err(s) => from_status(&s),
    }
}

async fn replace(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return unauthorized();
    };
    let metadata_json = match body_text(&headers, &bytes) {
        Ok(t) => t,
        Err(why) => return refused_body(why),
    };
    match state
        .upstreams
        .registry
        .clone()
        .update_client(UpdateClientRequest {
            client_id: id,
            registration_access_token: token.to_owned(),
            metadata_json,
        })
        .await
    {
        Ok(c) => json_response(StatusCode::OK, &client_json(c.into_inner(), Some(token))),
        Err(s) => from_status(&s),
    }
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = bearer(&headers) else {
        return unauthorized();
    };
    match state
        .upstreams
        .registry
        .clone()
        .delete_client(ClientAccessRequest {
            client_id: id,
            registration_access_token: token.to_owned(),
        })
        .await
    {
        Ok(_) => {
            let mut r = StatusCode::NO_CONTENT.into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(s) => from_status(&s),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_is_read_case_insensitively_and_empty_is_none() {
        let mut h = HeaderMap::new();
        assert!(bearer(&h).is_none());
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert!(bearer(&h).is_none());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(bearer(&h).is_none());
    }

    #[test]
    fn d1_invalid_argument_keeps_the_rfc7591_code_and_unknown_codes_fall_back() {
        let mut s = tonic::Status::invalid_argument("redirect URI refused");
        s.metadata_mut().insert(
            OAUTH_ERROR_METADATA,
            tonic::metadata::MetadataValue::from_static("invalid_redirect_uri"),
        );
        let r = from_status(&s);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let mut s = tonic::Status::invalid_argument("x");
        s.metadata_mut().insert(
            OAUTH_ERROR_METADATA,
            tonic::metadata::MetadataValue::from_static("made_up"),
        );
        assert_eq!(from_status(&s).status(), StatusCode::BAD_REQUEST);
        let r = from_status(&tonic::Status::unauthenticated("no"));
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        let r = from_status(&tonic::Status::internal("db.rs:12"));
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn client_information_never_has_a_secret_and_echoes_the_token() {
        let c = RegisteredClient {
            client_id: "dcr-1".into(),
            metadata_json: r#"{"client_name":"x"}"#.into(),
            registration_access_token: String::new(),
            registration_client_uri: "https://a.example/register/dcr-1".into(),
            client_id_issued_at: Some(prost_types::Timestamp {
                seconds: 7,
                nanos: 0,
            }),
        };
        let v = client_json(c, Some("tok"));
        assert_eq!(v["client_id"], "dcr-1");
        assert_eq!(v["client_id_issued_at"], 7);
        assert_eq!(v["registration_access_token"], "tok");
        assert!(v.get("client_secret").is_none());
    }

    proptest::proptest! {
        // Any Authorization / Content-Type header value is read without panicking.
        #[test]
        fn header_parsing_never_panics(s in "[ -~]*") {
            if let Ok(v) = HeaderValue::from_str(&s) {
                let mut h = HeaderMap::new();
                h.insert(header::AUTHORIZATION, v.clone());
                h.insert(header::CONTENT_TYPE, v);
                let _ = bearer(&h);
                let _ = is_json(&h);
            }
        }
    }
}
