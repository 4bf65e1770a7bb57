//! The OAuth 2.0 protected-resource side of crossauthz: a small library any axum app (an
//! MCP-style server) uses to be a protected resource of a crossauthz Authorization Server.
//!
//! - [`metadata`]: RFC 9728 Protected Resource Metadata and its well-known URL (A2, M6).
//! - [`challenge`]: the bearer token from `Authorization` (RFC 6750 §2.1) and the one table from
//!   an [`AuthError`] to 401/403/400/503 with `WWW-Authenticate: Bearer resource_metadata=…,
//!   scope=…` (RFC 6750 §3, RFC 9728 §5.1).
//! - [`token`]: offline RFC 9068 validation — `typ` `at+jwt`, EdDSA/ES256, configured `iss`,
//!   audience bound to this resource (M5), validity window with an injected `now`.
//! - [`keys`]: the AS's JWKS from its RFC 8414 metadata, cached, refreshed on an unknown `kid`
//!   at most once per interval.
//! - [`fetch`]: the https-only, no-redirect, size-bounded client those fetches use.
//! - [`protected`]: [`ProtectedResource`], the [`RequireScopes`] layer and [`AccessToken`]
//!   extractor.
//! - [`example`]: the example MCP-style router (`POST /mcp` requiring `logs:read`).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use crossauthz_resource::{ProtectedResource, ResourceConfig};
//! let config = ResourceConfig::new(
//!     "https://mcp.beta.test/mcp".parse()?,
//!     vec!["https://beta.test".parse()?],
//! );
//! let resource = ProtectedResource::new(config, Arc::new(crossauthz_core::SystemClock))?;
//! let app: axum::Router = axum::Router::new()
//!     .route("/mcp", axum::routing::post(|| async { "ok" }))
//!     .route_layer(resource.require_scopes(&["logs:read"])?)
//!     .merge(resource.metadata_router());
//! # let _ = app; Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod challenge;
pub mod config;
pub mod example;
pub mod fetch;
pub mod keys;
pub mod metadata;
pub mod protected;
pub mod token;

pub use challenge::AuthError;
pub use config::{ConfigError, ResourceConfig};
pub use example::example_router;
pub use fetch::FetchError;
pub use keys::{KeyCache, KeyError};
pub use metadata::ResourceMetadata;
pub use protected::{AccessToken, ProtectedResource, RequireScopes};
pub use token::{ACCESS_TOKEN_TYP, AccessTokenClaims, TokenError, TokenValidator};
