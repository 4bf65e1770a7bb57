//! RFC 9457 problem details, and the one table that maps upstream gRPC failures to HTTP.
//!
//! Clients get a status, a stable `type`/`title` and a safe `detail`; internal detail goes to the
//! log only. gRPC statuses produced by our own services carry messages written for clients, so
//! they are passed through for 4xx; for 5xx the message is logged and replaced.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An RFC 9457 problem response (`application/problem+json`).
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// A URI reference naming the problem type (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, human-readable summary of the type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Explanation specific to this occurrence, safe to show to the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Problem {
    /// A problem of type `about:blank` with the status's reason phrase as title.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: Some(detail.into()),
        }
    }

    /// A problem with an explicit type URI (e.g. the Bitstring Status List error types).
    pub fn typed(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            title: title.into(),
            status: status.as_u16(),
            detail: Some(detail.into()),
        }
    }

    /// The HTTP status of this problem.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// Maps an upstream gRPC status to the HTTP problem a client sees.
impl From<tonic::Status> for Problem {
    fn from(status: tonic::Status) -> Self {
        use tonic::Code;
        let http = match status.code() {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => StatusCode::CONFLICT,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Code::Unavailable | Code::DeadlineExceeded => StatusCode::SERVICE_UNAVAILABLE,
            Code::Ok | Code::Cancelled | Code::Unknown | Code::Internal | Code::DataLoss => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        if http.is_server_error() {
            tracing::error!(code = ?status.code(), message = status.message(), "upstream failure");
            Problem::new(http, "the service could not complete the request")
        } else {
            Problem::new(http, status.message())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_keep_their_message_server_errors_hide_it() {
        let p: Problem = tonic::Status::not_found("no credential 42").into();
        assert_eq!(p.status, 404);
        assert_eq!(p.detail.as_deref(), Some("no credential 42"));
        let p: Problem = tonic::Status::internal("pool timed out at db.rs:12").into();
        assert_eq!(p.status, 500);
        assert!(!p.detail.unwrap().contains("db.rs"));
        let p: Problem = tonic::Status::failed_precondition("credential is revoked").into();
        assert_eq!(p.status, 409);
    }
}
