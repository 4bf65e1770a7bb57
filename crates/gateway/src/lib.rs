//! The public HTTPS edge of a crossauthz domain.
//!
//! The gateway holds no state of its own: every request becomes a call to one of the domain's
//! gRPC services ([`Upstreams`]). It owns the HTTP concerns — routing, content negotiation,
//! caching headers, admin authentication, RFC 9457 problem responses — and nothing else.
#![forbid(unsafe_code)]

pub mod admin_auth;
pub mod oauth;
pub mod problem;
pub mod routes;
pub mod tls;

use std::sync::Arc;

use axum::Router;
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::monitor::monitor_client::MonitorClient;
use crossauthz_proto::registry::registry_client::RegistryClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_telemetry::TracedChannel;

/// What a gateway needs to know about its domain.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The domain's public base URL and OAuth issuer, e.g. `https://alpha.example`.
    pub public_url: url::Url,
    /// The admin bearer token for `/admin/v1/...`. Compared in constant time; never logged.
    pub admin_token: admin_auth::AdminToken,
}

/// gRPC clients of the domain's services.
#[derive(Clone, Debug)]
pub struct Upstreams {
    /// The registry service.
    pub registry: RegistryClient<TracedChannel>,
    /// The issuer service.
    pub issuer: IssuerClient<TracedChannel>,
    /// The status-list service.
    pub status_list: StatusListClient<TracedChannel>,
}

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The gateway's configuration.
    pub config: Arc<GatewayConfig>,
    /// The upstream services.
    pub upstreams: Upstreams,
}

/// The whole public router of a domain, without the OAuth Authorization Server.
pub fn router(state: AppState) -> Router {
    build(state, None, None)
}

/// The whole public router of a domain with its OAuth Authorization Server (`/authorize`,
/// `/token`, `/introspect`, `/revoke`, RFC 8414 metadata; see [`oauth`]).
pub fn router_with_oauth(state: AppState, oauth: oauth::OAuthState) -> Router {
    build(state, Some(oauth), None)
}

/// [`router_with_oauth`] plus the monitor's admin routes (`/admin/v1/alerts`,
/// `/admin/v1/compliance`; see [`routes::admin_monitor`]).
pub fn router_with_oauth_and_monitor(
    state: AppState,
    oauth: oauth::OAuthState,
    monitor: MonitorClient<TracedChannel>,
) -> Router {
    build(state, Some(oauth), Some(monitor))
}

fn build(
    state: AppState,
    oauth: Option<oauth::OAuthState>,
    monitor: Option<MonitorClient<TracedChannel>>,
) -> Router {
    // Applied with `Router::layer`, so each request's span knows its route template; its parent
    // is the caller's `traceparent` (e.g. another domain's verifier fetching a document).
    let trace =
        crossauthz_telemetry::http::trace_layer("gateway", state.config.public_url.as_str());
    let mut admin = Router::new()
        .merge(routes::admin_agents::admin_routes())
        .merge(routes::admin_credentials::admin_routes());
    if let Some(oauth) = &oauth {
        // Trust list, policies and resources live in the verifier, which only the AS wiring has.
        admin = admin.merge(routes::admin_settings::admin_routes(
            oauth.inner.verifier.clone(),
        ));
        // The audit log is read from the domain's store, which only the AS wiring hands in.
        admin = admin.merge(routes::admin_audit::admin_routes(oauth.inner.audit.clone()));
    }
    if let Some(monitor) = monitor {
        admin = admin.merge(routes::admin_monitor::admin_routes(monitor));
    }
    let admin = admin.layer(axum::middleware::from_fn_with_state(
        state.config.admin_token.clone(),
        admin_auth::require_admin,
    ));
    Router::new()
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .merge(routes::well_known::routes())
        .merge(routes::status::routes())
        .merge(routes::cimd::routes())
        .merge(routes::dcr::routes())
        .nest("/admin/v1", admin)
        .with_state(state)
        .merge(oauth.map(oauth::routes).unwrap_or_default())
        .layer(trace)
}
