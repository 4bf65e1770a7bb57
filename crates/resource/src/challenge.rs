//! The HTTP edge of authorization: reading the bearer token from `Authorization` (RFC 6750 §2.1,
//! the only method supported) and the ONE table that maps an [`AuthError`] to a status,
//! an RFC 6750 §3 `WWW-Authenticate: Bearer` challenge carrying `resource_metadata`
//! (RFC 9728 §5.1, A2, M6) and `scope`, and a small JSON body.
//!
//! Clients get the RFC 6750 error code and a fixed, safe description; the detailed reason goes
//! to `tracing` only.

use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use crossauthz_core::scope::ScopeSet;
use url::Url;

use crate::token::TokenError;

/// Why a request was not authorized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No bearer token in the request (no `Authorization` header, or another scheme):
    /// 401 with a challenge and no error code (RFC 6750 §3.1).
    #[error("no bearer token")]
    MissingToken,
    /// The request is malformed (several `Authorization` headers, a non-ASCII header):
    /// 400 `invalid_request` (RFC 6750 §3.1).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The token is malformed, expired, for another resource, from an untrusted issuer or badly
    /// signed: 401 `invalid_token`; or the AS keys are unavailable: 503.
    #[error("invalid token: {0}")]
    InvalidToken(TokenError),
    /// The token is valid but lacks a required scope: 403 `insufficient_scope` (RFC 6750 §3.1,
    /// M6).
    #[error("insufficient scope: {required} required")]
    InsufficientScope {
        /// The scopes the endpoint requires.
        required: ScopeSet,
        /// The scopes the token grants.
        granted: ScopeSet,
    },
}

/// RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// The bearer token of a request: exactly one `Authorization` header with scheme `Bearer`
/// (case-insensitive) and a b64token credential.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::MissingToken);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::InvalidRequest("Authorization header is not ASCII"))?;
    let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    let token = credentials.trim_start_matches(' ');
    if !is_b64token(token) {
        return Err(AuthError::InvalidToken(TokenError::Jose(
            crossauthz_credentials::JoseError::NotCompact,
        )));
    }
    Ok(token)
}

/// A safe description of a token error for `error_description` (no token content).
fn token_description(e: &TokenError) -> &'static str {
    match e {
        TokenError::Expired { .. } => "The access token expired",
        TokenError::NotYetValid { .. } | TokenError::IssuedInTheFuture { .. } => {
            "The access token is not valid yet"
        }
        TokenError::TooOld { .. } => "The access token is too old",
        TokenError::WrongAudience => "The access token is not for this resource",
        TokenError::UntrustedIssuer(_) => {
            "The access token is not from an authorization server of this resource"
        }
        TokenError::UnknownKid(_) | TokenError::MissingKid => {
            "The access token is signed with an unknown key"
        }
        TokenError::MissingClaim(_) | TokenError::InvalidClaim(_) => {
            "The access token lacks a required claim"
        }
        TokenError::Jose(_) => "The access token is malformed or its signature is invalid",
        TokenError::KeysUnavailable(_) => "The authorization server's keys are unavailable",
    }
}

/// The response for `error` on a resource whose metadata is at `metadata_url` and whose endpoint
/// requires `required`. The one mapping table:
///
/// | error | status | `error=` |
/// |---|---|---|
/// | [`AuthError::MissingToken`] | 401 | — |
/// | [`AuthError::InvalidRequest`] | 400 | `invalid_request` |
/// | [`AuthError::InvalidToken`] | 401 | `invalid_token` |
/// | [`AuthError::InvalidToken`] with [`TokenError::KeysUnavailable`] | 503 | — (no challenge) |
/// | [`AuthError::InsufficientScope`] | 403 | `insufficient_scope` |
///
/// Every challenge is `Bearer` with `resource_metadata="<metadata_url>"` and, when the endpoint
/// requires scopes, `scope="<required>"`.
pub fn error_response(error: &AuthError, metadata_url: &Url, required: &ScopeSet) -> Response {
    let (status, code, description) = match error {
        AuthError::MissingToken => (StatusCode::UNAUTHORIZED, None, None),
        AuthError::InvalidRequest(d) => {
            (StatusCode::BAD_REQUEST, Some("invalid_request"), Some(*d))
        }
        AuthError::InvalidToken(TokenError::KeysUnavailable(_)) => {
            tracing::warn!(error = %error, "cannot validate access token");
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
                axum::Json(serde_json::json!({
                    "error": "temporarily_unavailable",
                    "error_description": "The access token cannot be validated right now",
                })),
            )
                .into_response();
            r.headers_mut()
                .insert("retry-after", HeaderValue::from_static("30"));
            return r;
        }
        AuthError::InvalidToken(e) => (
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            Some(token_description(e)),
        ),
        AuthError::InsufficientScope { .. } => (
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            Some("The access token lacks a required scope"),
        ),
    };
    tracing::debug!(error = %error, status = status.as_u16(), "request not authorized");
    let mut challenge = String::from("Bearer ");
    let mut params: Vec<String> = Vec::new();
    if let Some(code) = code {
        params.push(format!("error=\"{code}\""));
    }
    if let Some(d) = description {
        params.push(format!("error_description=\"{d}\""));
    }
    // A URL serialised by `url` percent-encodes `"`, and scope tokens exclude `"` and `\`
    // (RFC 6749 §3.3), so both are valid quoted-strings as they are.
    params.push(format!("resource_metadata=\"{metadata_url}\""));
    if !required.is_empty() {
        params.push(format!("scope=\"{}\"", required.render()));
    }
    challenge.push_str(&params.join(", "));
    let body = match (code, description) {
        (Some(c), Some(d)) => {
            axum::Json(serde_json::json!({"error": c, "error_description": d})).into_response()
        }
        _ => ().into_response(),
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        headers.insert(WWW_AUTHENTICATE, v);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    // RFC 6750 §2.1: the Authorization request header field.
    #[test]
    fn rfc6750_bearer_token_is_read_from_one_authorization_header() {
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.def.ghi"])),
            Ok("abc.def.ghi")
        );
        assert_eq!(bearer_token(&headers(&["bearer abc"])), Ok("abc"));
        assert_eq!(bearer_token(&headers(&[])), Err(AuthError::MissingToken));
        assert_eq!(
            bearer_token(&headers(&["Basic dXNlcg=="])),
            Err(AuthError::MissingToken)
        );
        assert!(matches!(
            bearer_token(&headers(&["Bearer a", "Bearer b"])),
            Err(AuthError::InvalidRequest(_))
        ));
        assert!(matches!(
            bearer_token(&headers(&["Bearer "])),
            Err(AuthError::InvalidToken(_))
        ));
        assert!(matches!(
            bearer_token(&headers(&["Bearer a\"b"])),
            Err(AuthError::InvalidToken(_))
        ));
    }

    // M6 / RFC 9728 §5.1: the challenge names the metadata and the needed scope.
    #[test]
    fn m6_challenges_carry_resource_metadata_and_scope() {
        let url =
            Url::parse("https://mcp.beta.test/.well-known/oauth-protected-resource/mcp").unwrap();
        let scopes = ScopeSet::parse("logs:read").unwrap();
        let r = error_response(&AuthError::MissingToken, &url, &scopes);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.headers()[WWW_AUTHENTICATE],
            "Bearer resource_metadata=\"https://mcp.beta.test/.well-known/oauth-protected-resource/mcp\", scope=\"logs:read\""
        );
        let r = error_response(
            &AuthError::InsufficientScope {
                required: scopes.clone(),
                granted: ScopeSet::new(),
            },
            &url,
            &scopes,
        );
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let v = r.headers()[WWW_AUTHENTICATE].to_str().unwrap();
        assert!(v.starts_with("Bearer error=\"insufficient_scope\""), "{v}");
        let r = error_response(
            &AuthError::InvalidToken(TokenError::KeysUnavailable(
                crate::fetch::FetchError::Status(500),
            )),
            &url,
            &scopes,
        );
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
