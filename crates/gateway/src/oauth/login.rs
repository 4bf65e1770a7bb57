//! The user login of the authorization endpoint, as a pluggable step.
//!
//! `GET /authorize` and `POST /authorize` ask a [`UserAuthenticator`] who the user behind the
//! browser is. It either names the user ([`LoginOutcome::Authenticated`]) or answers the
//! browser itself ([`LoginOutcome::Respond`]) — typically a redirect to a login page.
//!
//! Shipped implementations:
//! - [`DevUserAuthenticator`]: every browser is one fixed development user. Only built from an
//!   explicit `dev_login` setting ([`from_config`]); never use it in production.
//! - [`NoLogin`]: the default when nothing is configured — the authorization endpoint answers
//!   503 (the code flow is off; client_credentials still works).
//!
//! **Plugging in an upstream OIDC login (the production path).** Implement [`UserAuthenticator`]
//! in a crate of your own: `authenticate` reads your session cookie from
//! [`LoginRequest::headers`]; without a valid session it answers
//! `LoginOutcome::Respond(Redirect::to(<your IdP's authorization URL with state = an opaque
//! handle you map to LoginRequest::return_to>))`. Serve the OIDC callback from
//! [`UserAuthenticator::routes`] (e.g. `GET /login/callback`): exchange the code at your IdP
//! (any OIDC client crate), validate the ID token, set an `HttpOnly; Secure; SameSite=Lax`
//! session cookie, and redirect back to `return_to`. The subject you return becomes the access
//! token's `sub`. Hand the implementation to `OAuthParts::users`.

use std::fmt::Debug;

use async_trait::async_trait;
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::OAuthConfig;

/// The authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    /// A stable identifier: the access token's `sub`.
    pub subject: String,
    /// A name to greet the user with on the consent page.
    pub name: Option<String>,
}

/// What the login step sees of a request.
#[derive(Debug, Clone, Copy)]
pub struct LoginRequest<'a> {
    /// The request headers (cookies).
    pub headers: &'a HeaderMap,
    /// Where to send the browser back after a login (the full `/authorize` URL), for
    /// implementations that redirect to an IdP.
    pub return_to: &'a str,
}

/// The outcome of the login step.
#[derive(Debug)]
pub enum LoginOutcome {
    /// The user is known.
    Authenticated(AuthenticatedUser),
    /// Answer the browser with this (a redirect to a login page, an error page).
    Respond(Response),
}

/// Who is the user behind a browser request.
#[async_trait]
pub trait UserAuthenticator: Send + Sync + Debug {
    /// Authenticates the user of `request`, or answers the browser.
    async fn authenticate(&self, request: &LoginRequest<'_>) -> LoginOutcome;

    /// Routes this login needs (e.g. an OIDC callback), merged into the gateway's router.
    fn routes(&self) -> Router {
        Router::new()
    }
}

/// The development user of the `dev_login` setting.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevUser {
    /// The subject (`sub`) of every token obtained through the code flow.
    pub subject: String,
    /// The name shown on the consent page.
    #[serde(default)]
    pub name: Option<String>,
}

/// Every browser is the configured development user. Development only.
#[derive(Debug, Clone)]
pub struct DevUserAuthenticator {
    user: DevUser,
}

impl DevUserAuthenticator {
    /// The development login for `user` (built only from an explicit setting; see
    /// [`from_config`]).
    pub fn new(user: DevUser) -> Self {
        tracing::warn!(subject = %user.subject, "development login enabled: every browser is this user");
        Self { user }
    }
}

#[async_trait]
impl UserAuthenticator for DevUserAuthenticator {
    async fn authenticate(&self, _request: &LoginRequest<'_>) -> LoginOutcome {
        LoginOutcome::Authenticated(AuthenticatedUser {
            subject: self.user.subject.clone(),
            name: self.user.name.clone(),
        })
    }
}

/// No login configured: the authorization endpoint is unavailable.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLogin;

#[async_trait]
impl UserAuthenticator for NoLogin {
    async fn authenticate(&self, _request: &LoginRequest<'_>) -> LoginOutcome {
        LoginOutcome::Respond(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Html("<!doctype html><title>Login unavailable</title><p>No user login is configured for this authorization server.</p>"),
            )
                .into_response(),
        )
    }
}

/// The login a configuration asks for: the development user when `dev_login` is set, else
/// [`NoLogin`] (plug a real one in through `OAuthParts::users`).
pub fn from_config(config: &OAuthConfig) -> std::sync::Arc<dyn UserAuthenticator> {
    match &config.dev_login {
        Some(user) => std::sync::Arc::new(DevUserAuthenticator::new(user.clone())),
        None => std::sync::Arc::new(NoLogin),
    }
}
