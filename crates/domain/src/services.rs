//! Builds each service of a domain from its configuration, its database and channels to the
//! services it calls: the one wiring shared by `start-dev` (all in one process) and `serve`
//! (one per process).

use std::sync::Arc;

use axum::Router;
use crossauthz_core::clock::Clock;
use crossauthz_gateway::admin_auth::AdminToken;
use crossauthz_gateway::oauth::login::UserAuthenticator;
use crossauthz_gateway::oauth::{OAuthParts, OAuthState};
use crossauthz_gateway::{AppState, GatewayConfig, Upstreams};
use crossauthz_issuer::IssuerService;
use crossauthz_monitor::Monitor;
use crossauthz_monitor::audit_log::AuditLogService;
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::monitor::monitor_client::MonitorClient;
use crossauthz_proto::registry::registry_client::RegistryClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_registry::RegistryService;
use crossauthz_status_list::StatusListService;
use crossauthz_store::{Database, Service};
use crossauthz_telemetry::TracedChannel;
use crossauthz_verifier::VerifierService;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

use crate::DomainError;
use crate::config::{DomainConfig, ServiceKind};

/// Channels to the services a service calls (each present when that service is an upstream).
/// Every call through them carries the caller's trace context.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    /// The registry.
    pub registry: Option<TracedChannel>,
    /// The issuer.
    pub issuer: Option<TracedChannel>,
    /// The status-list service.
    pub status_list: Option<TracedChannel>,
    /// The verifier.
    pub verifier: Option<TracedChannel>,
    /// The monitor.
    pub monitor: Option<TracedChannel>,
}

impl Channels {
    /// The channel to `kind`.
    pub fn get(&self, kind: ServiceKind) -> Option<&TracedChannel> {
        match kind {
            ServiceKind::Registry => self.registry.as_ref(),
            ServiceKind::Issuer => self.issuer.as_ref(),
            ServiceKind::StatusList => self.status_list.as_ref(),
            ServiceKind::Verifier => self.verifier.as_ref(),
            ServiceKind::Monitor => self.monitor.as_ref(),
            ServiceKind::Gateway => None,
        }
    }

    fn need(&self, of: ServiceKind, kind: ServiceKind) -> Result<TracedChannel, DomainError> {
        self.get(kind)
            .cloned()
            .ok_or_else(|| DomainError::Wiring(format!("{of} needs a channel to {kind}")))
    }

    /// Stores the channel to `kind`.
    pub fn set(&mut self, kind: ServiceKind, channel: TracedChannel) {
        match kind {
            ServiceKind::Registry => self.registry = Some(channel),
            ServiceKind::Issuer => self.issuer = Some(channel),
            ServiceKind::StatusList => self.status_list = Some(channel),
            ServiceKind::Verifier => self.verifier = Some(channel),
            ServiceKind::Monitor => self.monitor = Some(channel),
            ServiceKind::Gateway => {}
        }
    }

    /// `(kind, channel)` of every upstream of `of` (for readiness).
    pub fn upstreams_of(&self, of: ServiceKind) -> Vec<(ServiceKind, TracedChannel)> {
        of.upstreams()
            .iter()
            .filter_map(|k| self.get(*k).map(|c| (*k, c.clone())))
            .collect()
    }
}

/// The store schemas a service owns (besides the shared audit log), migrated at its start.
pub fn schemas_of(kind: ServiceKind) -> &'static [Service] {
    match kind {
        ServiceKind::Registry => &[Service::Registry, Service::Audit],
        ServiceKind::Issuer => &[Service::Issuer, Service::Audit],
        ServiceKind::StatusList => &[Service::Status, Service::Audit],
        ServiceKind::Verifier => &[Service::Verifier, Service::Audit],
        ServiceKind::Monitor => &[Service::Monitor, Service::Audit],
        ServiceKind::Gateway => &[Service::OAuth, Service::Audit],
    }
}

/// The gRPC routes of `kind` (not the gateway), with its dependencies. The monitor's
/// background loop (audit tail, compliance schedule, checkpoints) runs until `shutdown`.
pub async fn grpc_routes(
    kind: ServiceKind,
    config: &DomainConfig,
    database: &Database,
    clock: Arc<dyn Clock>,
    channels: &Channels,
    shutdown: &CancellationToken,
) -> Result<Routes, DomainError> {
    let audit = database.audit_store();
    let routes = match kind {
        ServiceKind::StatusList => {
            let issuer = IssuerClient::new(channels.need(kind, ServiceKind::Issuer)?);
            let service = StatusListService::new(
                config.status_list.clone(),
                database.status_store(),
                audit,
                clock,
                issuer,
            )
            .map_err(|e| DomainError::Start(kind, e.to_string()))?;
            Routes::new(service.grpc_server())
        }
        ServiceKind::Issuer => {
            let master = config
                .issuer
                .master_key
                .load()
                .map_err(|e| DomainError::Start(kind, e.to_string()))?;
            let status = StatusListClient::new(channels.need(kind, ServiceKind::StatusList)?);
            let service = IssuerService::new(
                config.issuer.clone(),
                master,
                database.issuer_store(),
                audit,
                clock,
                status,
            )
            .await
            .map_err(|e| DomainError::Start(kind, e.to_string()))?;
            Routes::new(service.grpc_server())
        }
        ServiceKind::Registry => {
            let service = RegistryService::new(
                config.registry.clone(),
                database.registry_store(),
                audit,
                clock,
                channels.need(kind, ServiceKind::Issuer)?,
            )
            .map_err(|e| DomainError::Start(kind, e.to_string()))?;
            Routes::new(service.grpc_server())
        }
        ServiceKind::Verifier => {
            let service = VerifierService::new(
                config.verifier.clone(),
                database.verifier_store(),
                audit,
                clock,
            )
            .map_err(|e| DomainError::Start(kind, e.to_string()))?;
            Routes::new(service.grpc_server())
        }
        ServiceKind::Monitor => {
            let monitor = Monitor::new(
                config.monitor.clone(),
                database.monitor_store(),
                audit,
                clock,
                Some(IssuerClient::new(channels.need(kind, ServiceKind::Issuer)?)),
                Some(VerifierClient::new(
                    channels.need(kind, ServiceKind::Verifier)?,
                )),
            )
            .map_err(|e| DomainError::Start(kind, e.to_string()))?;
            tokio::spawn(monitor.clone().run(shutdown.child_token()));
            // The monitor also serves the audit log reader (crossauthz.audit.v1.AuditLog).
            Routes::new(monitor.grpc_server())
                .add_service(AuditLogService::new(database.audit_store()).grpc_server())
        }
        ServiceKind::Gateway => {
            return Err(DomainError::Wiring(
                "the gateway serves HTTP, not gRPC".to_owned(),
            ));
        }
    };
    Ok(routes)
}

/// The gateway's public router: every route of the domain and its Authorization Server.
pub fn gateway_router(
    config: &DomainConfig,
    admin_token: &str,
    database: &Database,
    clock: Arc<dyn Clock>,
    channels: &Channels,
    users: Arc<dyn UserAuthenticator>,
) -> Result<Router, DomainError> {
    let kind = ServiceKind::Gateway;
    let admin_token =
        AdminToken::new(admin_token).map_err(|e| DomainError::Start(kind, e.to_owned()))?;
    let state = AppState {
        config: Arc::new(GatewayConfig {
            public_url: config.public_url.clone(),
            admin_token,
        }),
        upstreams: Upstreams {
            registry: RegistryClient::new(channels.need(kind, ServiceKind::Registry)?),
            issuer: IssuerClient::new(channels.need(kind, ServiceKind::Issuer)?),
            status_list: StatusListClient::new(channels.need(kind, ServiceKind::StatusList)?),
        },
    };
    let oauth = OAuthState::new(
        &state,
        OAuthParts {
            config: config.oauth.clone(),
            verifier: VerifierClient::new(channels.need(kind, ServiceKind::Verifier)?),
            store: database.oauth_store(),
            audit: database.audit_store(),
            clock,
            users,
        },
    )
    .map_err(|e| DomainError::Start(kind, e.to_string()))?;
    // The monitor is optional for the gateway: with it, /admin/v1/alerts and /compliance.
    Ok(match channels.monitor.clone() {
        Some(monitor) => crossauthz_gateway::router_with_oauth_and_monitor(
            state,
            oauth,
            MonitorClient::new(monitor),
        ),
        None => crossauthz_gateway::router_with_oauth(state, oauth),
    })
}
