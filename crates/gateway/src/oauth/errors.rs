//! OAuth error responses: the one table from an error code (RFC 6749 §4.1.2.1 / §5.2, RFC 8707
//! §2, RFC 7009 §2.2.1) to its HTTP status and headers. Token-endpoint style errors are JSON
//! `{"error", "error_description"}` with `Cache-Control: no-store`; `invalid_client` is 401 with a
//! `WWW-Authenticate` challenge (RFC 6749 §5.2: the scheme the client used, else `Bearer` naming
//! this issuer as realm). Upstream failures become `server_error` / `temporarily_unavailable` with
//! a safe description; the detail goes to the log only.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The OAuth error codes this Authorization Server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request`: missing, repeated or malformed parameter.
    InvalidRequest,
    /// `invalid_client`: client authentication failed (C10, P1–P5).
    InvalidClient,
    /// `invalid_grant`: code / refresh token invalid, expired, reused, or bound to someone else.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant type.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `invalid_scope`.
    InvalidScope,
    /// `invalid_target` (RFC 8707 §2): missing, malformed or unknown resource.
    InvalidTarget,
    /// `unsupported_token_type` (RFC 7009 §2.2.1).
    UnsupportedTokenType,
    /// `access_denied`: the user refused consent (authorization endpoint).
    AccessDenied,
    /// `unsupported_response_type` (authorization endpoint).
    UnsupportedResponseType,
    /// `server_error`.
    ServerError,
    /// `temporarily_unavailable`: an upstream service is down; nothing was decided.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }

    /// The error of a verifier `DenyReason.oauth_error`; an unknown value fails closed as
    /// `invalid_client`.
    pub fn from_verifier(oauth_error: &str) -> Self {
        match oauth_error {
            "invalid_request" => Self::InvalidRequest,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "invalid_target" => Self::InvalidTarget,
            _ => Self::InvalidClient,
        }
    }

    /// The HTTP status (RFC 6749 §5.2: 400, except 401 for `invalid_client`).
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An OAuth error with a description safe to show to the client, and a reason for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The error code.
    pub code: ErrorCode,
    /// `error_description`: safe to show (never internal detail).
    pub description: String,
    /// Machine-readable reason for the audit record (a verifier deny code, or ours).
    pub reason: String,
    /// The challenge scheme for an `invalid_client` 401 (the one the client used, else `Bearer`).
    pub scheme: Option<String>,
    /// The realm of the challenge (this issuer).
    pub realm: Option<String>,
}

impl OAuthError {
    /// An error whose audit reason is the code itself.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            reason: code.as_str().to_owned(),
            scheme: None,
            realm: None,
        }
    }

    /// The same error with an explicit audit reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// The same error challenging with `scheme` in `realm` (for `invalid_client`).
    pub fn with_challenge(mut self, scheme: &str, realm: &str) -> Self {
        self.scheme = Some(scheme.to_owned());
        self.realm = Some(realm.to_owned());
        self
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_client`.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_target`.
    pub fn invalid_target(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidTarget, description)
    }

    /// `invalid_scope`.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// An upstream gRPC failure: `temporarily_unavailable` when the service is down, else
    /// `server_error`. The status message is logged, not shown.
    pub fn upstream(service: &str, status: &tonic::Status) -> Self {
        tracing::error!(%service, code = ?status.code(), message = status.message(), "upstream failure");
        match status.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => Self::new(
                ErrorCode::TemporarilyUnavailable,
                format!("the {service} service is unavailable; nothing was granted"),
            ),
            _ => Self::new(ErrorCode::ServerError, "the request could not be completed"),
        }
        .with_reason(format!("{service}_unavailable"))
    }

    /// A store failure: `temporarily_unavailable`, detail logged.
    pub fn store(e: &crossauthz_store::StoreError) -> Self {
        tracing::error!(error = %e, "oauth store failure");
        Self::new(
            ErrorCode::TemporarilyUnavailable,
            "the grant store is unavailable; nothing was granted",
        )
        .with_reason("store_unavailable")
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

/// Headers every token-endpoint style response carries (RFC 6749 §5.1).
pub fn no_store(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A quoted-string value for a challenge parameter (quotes and backslashes dropped).
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": self.code.as_str(),
            "error_description": self.description,
        });
        let mut response = (self.code.status(), axum::Json(body)).into_response();
        no_store(&mut response);
        if self.code == ErrorCode::InvalidClient {
            let scheme = self.scheme.as_deref().unwrap_or("Bearer");
            let realm = self.realm.as_deref().unwrap_or("crossauthz");
            let challenge = format!(
                "{} realm=\"{}\", error=\"invalid_client\"",
                quoted(scheme).replace(' ', ""),
                quoted(realm)
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // RFC 6749 §5.2: 400 for every error but invalid_client (401 + WWW-Authenticate).
    #[test]
    fn rfc6749_error_table() {
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::InvalidGrant,
            ErrorCode::UnauthorizedClient,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::InvalidScope,
            ErrorCode::InvalidTarget,
        ] {
            let r = OAuthError::new(code, "x").into_response();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{code:?}");
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
            assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
        }
        let r = OAuthError::invalid_client("no")
            .with_challenge("Basic", "https://beta.example")
            .into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.headers()[header::WWW_AUTHENTICATE],
            "Basic realm=\"https://beta.example\", error=\"invalid_client\""
        );
        let r = OAuthError::invalid_client("no").into_response();
        assert!(
            r.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer ")
        );
    }

    #[test]
    fn verifier_errors_map_and_unknown_ones_fail_closed() {
        assert_eq!(
            ErrorCode::from_verifier("invalid_target"),
            ErrorCode::InvalidTarget
        );
        assert_eq!(
            ErrorCode::from_verifier("invalid_scope"),
            ErrorCode::InvalidScope
        );
        assert_eq!(ErrorCode::from_verifier("weird"), ErrorCode::InvalidClient);
    }

    #[test]
    fn upstream_failures_hide_their_detail() {
        let e = OAuthError::upstream("verifier", &tonic::Status::unavailable("db at 10.0.0.3"));
        assert_eq!(e.code, ErrorCode::TemporarilyUnavailable);
        assert!(!e.description.contains("10.0.0.3"));
        let e = OAuthError::upstream("issuer", &tonic::Status::internal("stack trace"));
        assert_eq!(e.code, ErrorCode::ServerError);
        assert!(!e.description.contains("stack"));
    }
}
