//! Admin authentication: `Authorization: Bearer <admin token>` on every `/admin/v1/...` call.
//!
//! A missing or wrong token is 401 with `WWW-Authenticate: Bearer` and the request never reaches a
//! handler, so nothing changes.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::problem::Problem;

/// The admin bearer token. Its `Debug` does not print it.
#[derive(Clone)]
pub struct AdminToken(Arc<str>);

impl AdminToken {
    /// Wraps a configured token. Refuses tokens too short to resist guessing (< 16 characters).
    pub fn new(token: &str) -> Result<Self, &'static str> {
        if token.len() < 16 {
            return Err("the admin token must be at least 16 characters");
        }
        Ok(Self(Arc::from(token)))
    }

    /// Constant-time comparison with a presented token.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// Middleware: lets the request through only with the right bearer token.
pub async fn require_admin(
    State(token): State<AdminToken>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    match presented {
        Some(p) if token.matches(p) => next.run(request).await,
        _ => {
            let mut response =
                Problem::new(StatusCode::UNAUTHORIZED, "admin bearer token required")
                    .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"crossauthz-admin\""),
            );
            response
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::ServiceExt;

    fn app(counter: Arc<AtomicUsize>) -> Router {
        let token = AdminToken::new("0123456789abcdef-admin").unwrap();
        Router::new()
            .route(
                "/change",
                post(move || {
                    let c = counter.clone();
                    async move {
                        c.fetch_add(1, Ordering::SeqCst);
                        "changed"
                    }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(token, require_admin))
    }

    async fn call(app: Router, auth: Option<&str>) -> StatusCode {
        let mut req = axum::http::Request::post("/change");
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        app.oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap()
            .status()
    }

    #[tokio::test]
    async fn missing_or_wrong_token_is_401_and_nothing_runs() {
        let counter = Arc::new(AtomicUsize::new(0));
        for auth in [
            None,
            Some("Bearer wrong-token-wrong-token"),
            Some("Basic MDEyMzQ1Njc4OWFiY2RlZi1hZG1pbg=="),
            Some("Bearer 0123456789abcdef-admi"),
            Some("Bearer"),
        ] {
            assert_eq!(
                call(app(counter.clone()), auth).await,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(counter.load(Ordering::SeqCst), 0);
        assert_eq!(
            call(app(counter.clone()), Some("Bearer 0123456789abcdef-admin")).await,
            StatusCode::OK
        );
        assert_eq!(counter.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn short_tokens_are_refused_and_debug_hides_the_token() {
        assert!(AdminToken::new("short").is_err());
        let t = AdminToken::new("0123456789abcdef-admin").unwrap();
        assert!(!format!("{t:?}").contains("0123"));
    }
}
