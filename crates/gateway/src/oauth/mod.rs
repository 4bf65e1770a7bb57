//! The domain's OAuth 2.1 Authorization Server (issue 5, DESIGN §4 and §6), one file per flow:
//!
//! - [`metadata`]: RFC 8414 metadata (`/.well-known/oauth-authorization-server`, A1, C9, M3, M4).
//! - [`authorize`]: `GET /authorize` (CIMD client resolved through `Verifier/ResolveClient`, C8,
//!   PKCE S256, `resource`, consent page C13/M7) and `POST /authorize` (the consent decision).
//! - [`login`]: the pluggable user login ([`login::UserAuthenticator`]) and the development login.
//! - [`token`]: `POST /token` — form parsing, client authentication input, grant dispatch, one
//!   audit event per grant or denial.
//! - [`client_credentials`], [`authorization_code`] (+ PKCE, A4), [`refresh_token`] (rotation and
//!   reuse detection, M7): the three grants.
//! - [`grant`]: what the grants share — `Verifier/Decide`, `Issuer/SignAccessToken`, audit.
//! - [`introspect`] (RFC 7662) and [`revoke`] (RFC 7009).
//! - [`access_token`]: verification of our own access tokens (introspection, revocation).
//! - [`params`]: form/query parsing (no repeated parameters) and the `resource` rules (A3, M5).
//! - [`errors`]: the one table from OAuth error code to HTTP status and `WWW-Authenticate`.
//!
//! The gateway keeps no grant state in memory: codes, consents, refresh-token families and
//! revoked access tokens live in the `oauth` schema ([`crossauthz_store::OAuthStore`]). Every
//! decision is the verifier's; every signature is the issuer's.

pub mod access_token;
pub mod authorization_code;
pub mod authorize;
pub mod client_credentials;
pub mod errors;
pub mod grant;
pub mod introspect;
pub mod login;
pub mod metadata;
pub mod params;
pub mod refresh_token;
pub mod revoke;
pub mod token;

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, header};
use chrono::{DateTime, Utc};
use crossauthz_core::clock::Clock;
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_store::{AuditStore, NewAuditEvent, OAuthStore};
use crossauthz_telemetry::TracedChannel;
use serde::Deserialize;
use tower_http::cors::{Any, CorsLayer};

use crate::AppState;
use crate::admin_auth::AdminToken;
use login::UserAuthenticator;

/// The audit `service` name of every event the Authorization Server writes.
pub const AUDIT_SERVICE: &str = "gateway";

/// Why an [`OAuthConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthConfigError {
    /// The public URL cannot be an RFC 8414 issuer (https, no query, fragment or userinfo; A1).
    #[error("public_url {0:?} must be an https URL without query, fragment or userinfo (A1)")]
    Issuer(String),
    /// A lifetime is zero or above its bound.
    #[error("{0} must be positive and within its bound")]
    Lifetime(&'static str),
}

/// Lifetimes and limits of the Authorization Server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthConfig {
    /// How long an authorization code may be redeemed (seconds; default 60, at most 600).
    pub code_lifetime_seconds: u64,
    /// How long a consent page may be answered (seconds; default 600, at most 3600).
    pub consent_lifetime_seconds: u64,
    /// Access-token lifetime asked of the issuer (seconds; 0 = the issuer's default, which is
    /// bounded by its `max_access_token_lifetime_seconds`).
    pub access_token_lifetime_seconds: u64,
    /// Lifetime of each refresh token (seconds; default one day).
    pub refresh_token_lifetime_seconds: u64,
    /// Absolute lifetime of a refresh-token family (seconds; default 30 days).
    pub refresh_family_lifetime_seconds: u64,
    /// Largest request body accepted by the POST endpoints (bytes; default 64 KiB).
    pub max_body_bytes: usize,
    /// The development login: when set, every browser is this user. Never in production; an
    /// operator plugs an upstream OIDC login instead (see [`login`]).
    pub dev_login: Option<login::DevUser>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            code_lifetime_seconds: 60,
            consent_lifetime_seconds: 600,
            access_token_lifetime_seconds: 0,
            refresh_token_lifetime_seconds: 24 * 60 * 60,
            refresh_family_lifetime_seconds: 30 * 24 * 60 * 60,
            max_body_bytes: 64 * 1024,
            dev_login: None,
        }
    }
}

impl OAuthConfig {
    /// Checks every bound.
    pub fn validate(&self) -> Result<(), OAuthConfigError> {
        let within = |v: u64, max: u64| v > 0 && v <= max;
        if !within(self.code_lifetime_seconds, 600) {
            return Err(OAuthConfigError::Lifetime("code_lifetime_seconds"));
        }
        if !within(self.consent_lifetime_seconds, 3600) {
            return Err(OAuthConfigError::Lifetime("consent_lifetime_seconds"));
        }
        if self.access_token_lifetime_seconds > 3600 {
            return Err(OAuthConfigError::Lifetime("access_token_lifetime_seconds"));
        }
        if !within(self.refresh_family_lifetime_seconds, 366 * 24 * 60 * 60) {
            return Err(OAuthConfigError::Lifetime(
                "refresh_family_lifetime_seconds",
            ));
        }
        if !within(
            self.refresh_token_lifetime_seconds,
            self.refresh_family_lifetime_seconds,
        ) {
            return Err(OAuthConfigError::Lifetime("refresh_token_lifetime_seconds"));
        }
        if self.max_body_bytes < 1024 {
            return Err(OAuthConfigError::Lifetime("max_body_bytes"));
        }
        Ok(())
    }
}

/// The RFC 8414 issuer identifier of a public URL: the URL without the trailing `/` of a root
/// path (`https://beta.example/` → `https://beta.example`), the form our issuer service puts in
/// `iss` and clients put in an assertion's `aud` (P3).
pub fn issuer_identifier(public_url: &url::Url) -> Result<String, OAuthConfigError> {
    let ok = public_url.scheme() == "https"
        && public_url.host_str().is_some_and(|h| !h.is_empty())
        && public_url.query().is_none()
        && public_url.fragment().is_none()
        && public_url.username().is_empty()
        && public_url.password().is_none();
    if !ok {
        return Err(OAuthConfigError::Issuer(public_url.to_string()));
    }
    let s = public_url.as_str();
    Ok(s.strip_suffix('/').unwrap_or(s).to_owned())
}

pub(crate) struct Inner {
    pub(crate) config: OAuthConfig,
    pub(crate) issuer: String,
    pub(crate) admin_token: AdminToken,
    pub(crate) issuer_client: IssuerClient<TracedChannel>,
    pub(crate) verifier: VerifierClient<TracedChannel>,
    pub(crate) store: Arc<dyn OAuthStore>,
    pub(crate) audit: Arc<dyn AuditStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) users: Arc<dyn UserAuthenticator>,
}

/// Everything the Authorization Server's handlers share. Cheap to clone.
#[derive(Clone)]
pub struct OAuthState {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for OAuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthState")
            .field("issuer", &self.inner.issuer)
            .field("users", &self.inner.users)
            .finish_non_exhaustive()
    }
}

/// What [`OAuthState::new`] needs beyond the gateway's own state.
#[derive(Clone)]
pub struct OAuthParts {
    /// Lifetimes and limits.
    pub config: OAuthConfig,
    /// The domain's verifier (every grant decision).
    pub verifier: VerifierClient<TracedChannel>,
    /// Grant state.
    pub store: Arc<dyn OAuthStore>,
    /// The audit log.
    pub audit: Arc<dyn AuditStore>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The user login of `/authorize` (see [`login::from_config`]).
    pub users: Arc<dyn UserAuthenticator>,
}

impl OAuthState {
    /// The Authorization Server of the gateway described by `gateway` (its public URL is the
    /// issuer; its issuer client signs the tokens; its admin token may introspect).
    pub fn new(gateway: &AppState, parts: OAuthParts) -> Result<Self, OAuthConfigError> {
        parts.config.validate()?;
        let issuer = issuer_identifier(&gateway.config.public_url)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config: parts.config,
                issuer,
                admin_token: gateway.config.admin_token.clone(),
                issuer_client: gateway.upstreams.issuer.clone(),
                verifier: parts.verifier,
                store: parts.store,
                audit: parts.audit,
                clock: parts.clock,
                users: parts.users,
            }),
        })
    }

    /// The RFC 8414 issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// `<issuer><path>`: an endpoint URL.
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.inner.issuer)
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Appends an audit event; a failure is logged and reported as `false`.
    pub(crate) async fn audit(&self, event: NewAuditEvent) -> bool {
        match self.inner.audit.append(event).await {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(error = %e, "audit append failed");
                false
            }
        }
    }

    /// A new audit event of this service at now.
    pub(crate) fn event(&self, kind: &str) -> NewAuditEvent {
        NewAuditEvent::new(self.now(), AUDIT_SERVICE, kind)
    }
}

/// Every route of the Authorization Server, with its state applied. CORS is open on the
/// metadata and the token, introspection and revocation endpoints (browser-based MCP clients
/// call them cross-origin; none of them uses cookies). The login implementation's own routes
/// (e.g. an OIDC callback) are merged in.
pub fn routes(state: OAuthState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]);
    let login_routes = state.inner.users.routes();
    let api = Router::new()
        .merge(metadata::routes())
        .merge(token::routes())
        .merge(introspect::routes())
        .merge(revoke::routes())
        .layer(cors);
    Router::new()
        .merge(api)
        .merge(authorize::routes())
        .with_state(state)
        .merge(login_routes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // A1 / RFC 8414 §2: https, no query or fragment; the root path's slash dropped.
    #[test]
    fn a1_issuer_identifier_of_the_public_url() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            issuer_identifier(&u("https://beta.example/")).unwrap(),
            "https://beta.example"
        );
        assert_eq!(
            issuer_identifier(&u("https://beta.example:8443")).unwrap(),
            "https://beta.example:8443"
        );
        for bad in [
            "http://beta.example",
            "https://beta.example/?x=1",
            "https://beta.example/#f",
            "https://u@beta.example",
        ] {
            assert!(
                matches!(issuer_identifier(&u(bad)), Err(OAuthConfigError::Issuer(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn config_bounds_are_checked() {
        OAuthConfig::default().validate().unwrap();
        let c = OAuthConfig {
            code_lifetime_seconds: 0,
            ..OAuthConfig::default()
        };
        assert_eq!(
            c.validate(),
            Err(OAuthConfigError::Lifetime("code_lifetime_seconds"))
        );
        let c = OAuthConfig {
            refresh_token_lifetime_seconds: 40 * 24 * 3600,
            ..OAuthConfig::default()
        };
        assert!(c.validate().is_err());
        let c: OAuthConfig = serde_json::from_value(serde_json::json!({
            "code_lifetime_seconds": 30,
            "dev_login": {"subject": "dev", "name": "Dev"}
        }))
        .unwrap();
        assert_eq!(c.code_lifetime_seconds, 30);
        assert!(c.dev_login.is_some());
        assert!(serde_json::from_value::<OAuthConfig>(serde_json::json!({"x": 1})).is_err());
    }
}
