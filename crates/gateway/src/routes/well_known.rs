//! The domain's key publication (DESIGN §4), served from the issuer's `GetPublicKeys`:
//!
//! - `GET /.well-known/did.json`: the `did:web` document, `application/did+json` (or
//!   `application/json` when that is what the client accepts);
//! - `GET /.well-known/jwks.json`: the JWK Set, `application/jwk-set+json` (or
//!   `application/json`);
//! - `GET /.well-known/jwt-vc-issuer`: SD-JWT VC issuer metadata (§3, V5), `application/json`.
//!
//! Every key the issuer still publishes is in all three (a retired key stays until what it
//! signed has expired). Responses carry `Cache-Control: public, max-age=60` — short, so a
//! verifier sees a rotated key within a minute — `Vary: Accept` and CORS
//! `Access-Control-Allow-Origin: *` (public documents, fetched cross-origin).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crossauthz_proto::issuer::GetPublicKeysRequest;

use crate::AppState;
use crate::problem::Problem;

/// `Cache-Control` of the key documents.
pub const CACHE_CONTROL: &str = "public, max-age=60";
/// Media type of a DID document (DID Core §6.2).
pub const DID_JSON: &str = "application/did+json";
/// Media type of a JWK Set (RFC 7517 §8.5).
pub const JWK_SET_JSON: &str = "application/jwk-set+json";
/// Plain JSON.
pub const JSON: &str = "application/json";

/// The routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/did.json", get(did_json))
        .route("/.well-known/jwks.json", get(jwks_json))
        .route("/.well-known/jwt-vc-issuer", get(jwt_vc_issuer))
}

/// The media ranges of an `Accept` header with a non-zero quality, lower-cased.
fn accepted(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (!media.is_empty() && !refused).then_some(media)
        })
        .collect()
}

/// `specific` unless the client accepts `application/json` but not `specific`.
pub fn negotiate(headers: &HeaderMap, specific: &'static str) -> &'static str {
    let ranges = accepted(headers);
    if ranges.iter().any(|r| r == specific) {
        specific
    } else if ranges.iter().any(|r| r == JSON) {
        JSON
    } else {
        specific
    }
}

fn document(body: String, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn public_keys(state: &AppState) -> Result<crossauthz_proto::issuer::PublicKeys, Problem> {
    Ok(state
        .upstreams
        .issuer
        .clone()
        .get_public_keys(GetPublicKeysRequest {})
        .await?
        .into_inner())
}

async fn did_json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match public_keys(&state).await {
        Ok(k) => document(k.did_document_json, negotiate(&headers, DID_JSON)),
        Err(p) => p.into_response(),
    }
}

async fn jwks_json(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match public_keys(&state).await {
        Ok(k) => document(k.jwks_json, negotiate(&headers, JWK_SET_JSON)),
        Err(p) => p.into_response(),
    }
}

async fn jwt_vc_issuer(State(state): State<AppState>) -> Response {
    match public_keys(&state).await {
        Ok(k) => document(k.jwt_vc_issuer_json, JSON),
        Err(p) => p.into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn content_negotiation_prefers_the_specific_type() {
        assert_eq!(negotiate(&HeaderMap::new(), DID_JSON), DID_JSON);
        assert_eq!(negotiate(&accept("*/*"), DID_JSON), DID_JSON);
        assert_eq!(negotiate(&accept("application/json"), DID_JSON), JSON);
        assert_eq!(
            negotiate(&accept("application/json, application/did+json"), DID_JSON),
            DID_JSON
        );
        assert_eq!(
            negotiate(&accept("Application/JWK-Set+JSON;q=0.9"), JWK_SET_JSON),
            JWK_SET_JSON
        );
        assert_eq!(
            negotiate(
                &accept("application/did+json;q=0, application/json"),
                DID_JSON
            ),
            JSON
        );
    }

    proptest::proptest! {
        // Any Accept header is negotiated without panicking, to one of the two types.
        #[test]
        fn negotiating_any_accept_header_never_panics(s in "[ -~]*") {
            if let Ok(v) = HeaderValue::from_str(&s) {
                let mut h = HeaderMap::new();
                h.insert(header::ACCEPT, v);
                let t = negotiate(&h, DID_JSON);
                proptest::prop_assert!(t == DID_JSON || t == JSON);
            }
        }
    }
}
