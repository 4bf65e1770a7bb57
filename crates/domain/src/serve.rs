//! `serve <service>`: one service per process on PostgreSQL, its gRPC listener behind mutual
//! TLS with the domain's internal CA, its ops endpoints on their own port.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use crossauthz_core::clock::{Clock, SystemClock};
use crossauthz_gateway::oauth::login;
use crossauthz_store::{Database, PoolSettings};
use tokio_util::sync::CancellationToken;

use crate::config::{DomainConfig, ServiceKind};
use crate::grpc::{self, Admission, BearerTokens, InternalTls};
use crate::runtime::Tasks;
use crate::services::{self, Channels};
use crate::{DomainError, ops};

/// Runs `kind` until `signal` completes (SIGTERM in the binary) or a listener fails. The
/// configuration is checked first ([`DomainConfig::check_for_serve`]), then the service's
/// schemas are migrated, then it serves.
pub async fn serve(
    kind: ServiceKind,
    config: DomainConfig,
    signal: impl Future<Output = ()>,
) -> Result<(), DomainError> {
    config.check_for_serve(kind)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let url = config.database.url.clone().unwrap_or_default();
    let database = Database::connect_with(
        &url,
        &PoolSettings {
            max_connections: config.database.max_connections,
            ..PoolSettings::default()
        },
    )
    .await
    .map_err(DomainError::Store)?;
    for schema in services::schemas_of(kind) {
        database
            .migrate(*schema)
            .await
            .map_err(DomainError::Store)?;
    }

    let tls_section = config
        .internal_tls
        .as_ref()
        .ok_or_else(|| DomainError::Wiring("internal_tls is required in serve mode".to_owned()))?;
    let tls = InternalTls::load(tls_section)?;
    let tokens = match &tls_section.bearer_tokens_file {
        Some(file) => BearerTokens::from_file(file)?,
        None => BearerTokens::default(),
    };
    let mut channels = Channels::default();
    for upstream in kind.upstreams() {
        if let Some(url) = config.upstreams.get(*upstream) {
            let channel = grpc::internal_channel(url, &tls)?;
            match upstream {
                ServiceKind::Registry => channels.registry = Some(channel),
                ServiceKind::Issuer => channels.issuer = Some(channel),
                ServiceKind::StatusList => channels.status_list = Some(channel),
                ServiceKind::Verifier => channels.verifier = Some(channel),
                ServiceKind::Gateway => {}
            }
        }
    }

    let mut tasks = Tasks::new(CancellationToken::new());
    let readiness = ops::Readiness::new(database.clone(), channels.upstreams_of(kind));
    let ops_listener = grpc::bind(config.serve.ops_listen).await?;
    tasks.serve_http("ops", ops_listener, ops::router(readiness));

    if kind == ServiceKind::Gateway {
        let admin_token = config.admin_token()?;
        // No development login in serve (check_for_serve refused it): the authorization
        // endpoint answers login_required until an IdP login is plugged in.
        let users = login::from_config(&config.oauth);
        let router =
            services::gateway_router(&config, &admin_token, &database, clock, &channels, users)?;
        let listener = grpc::bind(config.gateway.listen).await?;
        match (&config.gateway.tls_cert, &config.gateway.tls_key) {
            (Some(cert), Some(key)) => {
                let read = |p: &PathBuf| {
                    std::fs::read_to_string(p).map_err(|e| DomainError::Io(p.clone(), e))
                };
                let server = crossauthz_tls::server_config(&read(cert)?, &read(key)?)
                    .map_err(|e| DomainError::Tls(e.to_string()))?;
                tasks.serve_https(listener, server, router);
            }
            _ => tasks.serve_http("gateway", listener, router),
        }
    } else {
        let routes = services::grpc_routes(kind, &config, &database, clock, &channels).await?;
        let listener = grpc::bind(config.serve.grpc_listen).await?;
        tasks
            .serve_grpc(
                kind,
                Some(&tls),
                Admission::CertificateOrToken(tokens),
                routes,
                listener,
            )
            .await?;
    }
    tracing::info!(service = kind.name(), public_url = %config.public_url, "serving");

    let failed = tokio::select! {
        () = signal => None,
        failure = tasks.first_failure() => Some(failure),
    };
    tracing::info!(service = kind.name(), "stopping");
    tasks.stop().await;
    database.close().await;
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
