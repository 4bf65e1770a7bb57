//! RFC 8414 Authorization Server Metadata (A1, C9, M3, M4): `GET
//! /.well-known/oauth-authorization-server`, and the path-suffixed form
//! `/.well-known/oauth-authorization-server/<issuer path>` when the issuer has a path (RFC 8414
//! §3.1; any other suffix is 404, so the returned `issuer` is always the one the URL was built
//! from, §3.3). `client_id_metadata_document_supported: true` (CIMD §5), PKCE `S256` only,
//! `private_key_jwt` (EdDSA, ES256 — never `none`) and `none` for public clients, RFC 9207 `iss`
//! on authorization responses.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::OAuthState;

/// The well-known path segment (RFC 8414 §3).
pub const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
/// `Cache-Control` of the metadata.
pub const CACHE_CONTROL: &str = "public, max-age=300";

/// The metadata routes.
pub fn routes() -> Router<OAuthState> {
    Router::new()
        .route(WELL_KNOWN, get(root))
        .route(&format!("{WELL_KNOWN}/{{*path}}"), get(suffixed))
}

/// The metadata document of `issuer`.
pub fn document(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "registration_endpoint": format!("{issuer}/register"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256"],
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt", "bearer"],
        "introspection_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256"],
        "revocation_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["EdDSA", "ES256"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
        "resource_indicators_supported": true,
    })
}

fn respond(state: &OAuthState) -> Response {
    let mut r = (StatusCode::OK, axum::Json(document(state.issuer()))).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    r
}

/// The path of the issuer (`/tenant` for `https://h/tenant`, empty for a root issuer).
fn issuer_path(issuer: &str) -> &str {
    issuer
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or("")
}

async fn root(State(state): State<OAuthState>) -> Response {
    if issuer_path(state.issuer()).is_empty() {
        respond(&state)
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn suffixed(State(state): State<OAuthState>, Path(path): Path<String>) -> Response {
    if issuer_path(state.issuer()) == format!("/{path}") {
        respond(&state)
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // A1 (RFC 8414 §2), C9, M4.
    #[test]
    fn a1_c9_m4_metadata_members() {
        let d = document("https://beta.example");
        assert_eq!(d["issuer"], "https://beta.example");
        assert_eq!(d["client_id_metadata_document_supported"], true);
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(d["response_types_supported"], json!(["code"]));
        assert_eq!(
            d["token_endpoint_auth_methods_supported"],
            json!(["private_key_jwt", "none"])
        );
        let algs = d["token_endpoint_auth_signing_alg_values_supported"]
            .as_array()
            .unwrap();
        assert!(!algs.iter().any(|a| a == "none"));
        assert_eq!(d["jwks_uri"], "https://beta.example/.well-known/jwks.json");
        assert_eq!(d["authorization_response_iss_parameter_supported"], true);
        for member in [
            "registration_endpoint",
            "introspection_endpoint",
            "revocation_endpoint",
            "token_endpoint",
            "authorization_endpoint",
        ] {
            assert!(
                d[member]
                    .as_str()
                    .unwrap()
                    .starts_with("https://beta.example/")
            );
        }
    }

    #[test]
    fn issuer_paths() {
        assert_eq!(issuer_path("https://beta.example"), "");
        assert_eq!(issuer_path("https://beta.example/tenant"), "/tenant");
    }
}
