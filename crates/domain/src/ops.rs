//! Ops endpoints: `/healthz` (the process serves), `/readyz` (its database and every upstream
//! service answer — an orchestrator sends traffic only then) and `/metrics` (Prometheus text,
//! [`crossauthz_telemetry::metrics`]), on the ops listener in `serve` mode and on the public
//! listener in `start-dev` — where `/metrics` needs the domain's admin bearer token, since that
//! listener is the public one.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crossauthz_gateway::admin_auth::{AdminToken, require_admin};
use crossauthz_store::Database;
use crossauthz_telemetry::TracedChannel;
use serde_json::json;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::config::ServiceKind;

/// How long one readiness check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` checks.
#[derive(Clone, Debug)]
pub struct Readiness {
    inner: Arc<ReadinessInner>,
}

#[derive(Debug)]
struct ReadinessInner {
    database: Database,
    upstreams: Vec<(ServiceKind, TracedChannel)>,
}

impl Readiness {
    /// Readiness of a service on `database` calling `upstreams`.
    pub fn new(database: Database, upstreams: Vec<(ServiceKind, TracedChannel)>) -> Self {
        Self {
            inner: Arc::new(ReadinessInner {
                database,
                upstreams,
            }),
        }
    }

    /// Runs every check; the failures, named (empty when ready).
    pub async fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        match tokio::time::timeout(CHECK_TIMEOUT, self.inner.database.ping()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("database: {e}")),
            Err(_) => failures.push("database: no answer within 2 s".to_owned()),
        }
        for (kind, channel) in &self.inner.upstreams {
            if let Err(reason) = upstream_serving(*kind, channel.clone()).await {
                failures.push(format!("{kind}: {reason}"));
            }
        }
        failures
    }
}

/// Asks an upstream's `grpc.health.v1.Health` whether its service is serving.
async fn upstream_serving(kind: ServiceKind, channel: TracedChannel) -> Result<(), String> {
    let service = kind.grpc_service_name().unwrap_or_default().to_owned();
    // The probe is not part of any request: the untraced channel, so probes start no traces.
    let mut client = HealthClient::new(channel.channel().clone());
    let call = client.check(HealthCheckRequest { service });
    match tokio::time::timeout(CHECK_TIMEOUT, call).await {
        Ok(Ok(answer)) if answer.get_ref().status == ServingStatus::Serving as i32 => Ok(()),
        Ok(Ok(answer)) => Err(format!("not serving (status {})", answer.get_ref().status)),
        Ok(Err(status)) => Err(format!("{:?}: {}", status.code(), status.message())),
        Err(_) => Err("no answer within 2 s".to_owned()),
    }
}

/// `/healthz`, `/readyz` and `/metrics` (the ops listener, internal: no authentication).
pub fn router(readiness: Readiness) -> Router {
    readyz_router(readiness)
        .route("/healthz", get(healthz))
        .merge(crossauthz_telemetry::metrics::router())
}

/// `/metrics` behind the admin bearer token (start-dev, where it is on the public listener): 401
/// without it, like the admin API.
pub fn admin_metrics_router(admin_token: AdminToken) -> Router {
    crossauthz_telemetry::metrics::router().layer(axum::middleware::from_fn_with_state(
        admin_token,
        require_admin,
    ))
}

/// `/readyz` alone (merged into the gateway's router, which answers `/healthz` itself).
pub fn readyz_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(json!({"status": "ok"}))).into_response()
}

async fn readyz(State(readiness): State<Readiness>) -> Response {
    let failures = readiness.failures().await;
    if failures.is_empty() {
        (StatusCode::OK, axum::Json(json!({"status": "ready"}))).into_response()
    } else {
        tracing::warn!(?failures, "not ready");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "not ready", "failures": failures})),
        )
            .into_response()
    }
}
