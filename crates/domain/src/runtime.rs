//! The listeners of a process and their shutdown: one cancellation token stops them all; each
//! drains its in-flight requests; a listener that ends on its own is a failure.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic_health::server::HealthReporter;

use crate::DomainError;
use crate::config::ServiceKind;
use crate::grpc::{self, Admission, InternalTls};

/// How long stopping waits for listeners to drain.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The running listeners of a process.
#[derive(Debug)]
pub struct Tasks {
    shutdown: CancellationToken,
    set: JoinSet<Result<(), DomainError>>,
    health: Vec<(String, HealthReporter)>,
}

impl Tasks {
    /// No listeners yet; `shutdown` stops the ones added.
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            set: JoinSet::new(),
            health: Vec::new(),
        }
    }

    /// Serves `routes` of `kind` with health and reflection, TLS when given, and `admission`
    /// on every request.
    pub async fn serve_grpc(
        &mut self,
        kind: ServiceKind,
        tls: Option<&InternalTls>,
        admission: Admission,
        routes: Routes,
        listener: TcpListener,
    ) -> Result<(), DomainError> {
        let name = kind.grpc_service_name().unwrap_or_default();
        let (reporter, routes) = grpc::with_health_and_reflection(routes, name).await?;
        self.health.push((name.to_owned(), reporter));
        let layer = tonic::service::InterceptorLayer::new(move |request| admission.check(request));
        let router = grpc::server(tls)?.layer(layer).add_routes(routes);
        let shutdown = self.shutdown.clone();
        let incoming = grpc::incoming(listener);
        self.set.spawn(async move {
            router
                .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
                .await
                .map_err(|e| DomainError::Serve(kind.name(), e.to_string()))
        });
        Ok(())
    }

    /// Serves `router` over HTTPS.
    pub fn serve_https(
        &mut self,
        listener: TcpListener,
        tls: Arc<rustls::ServerConfig>,
        router: Router,
    ) {
        let shutdown = self.shutdown.clone();
        self.set.spawn(async move {
            crossauthz_gateway::tls::serve_tls(listener, tls, router, shutdown.cancelled_owned())
                .await
                .map_err(|e| DomainError::Serve("gateway", e.to_string()))
        });
    }

    /// Serves `router` over plain HTTP (ops endpoints; a gateway behind a TLS-terminating
    /// ingress).
    pub fn serve_http(&mut self, what: &'static str, listener: TcpListener, router: Router) {
        let shutdown = self.shutdown.clone();
        self.set.spawn(async move {
            crossauthz_gateway::tls::serve_plain(listener, router, shutdown.cancelled_owned())
                .await
                .map_err(|e| DomainError::Serve(what, e.to_string()))
        });
    }

    /// Waits until a listener ends (which, before shutdown, is always a failure).
    pub async fn first_failure(&mut self) -> DomainError {
        match self.set.join_next().await {
            Some(Ok(Err(e))) => e,
            Some(Ok(Ok(()))) => DomainError::Serve("listener", "stopped unexpectedly".into()),
            Some(Err(e)) => DomainError::Serve("listener", format!("task failed: {e}")),
            None => std::future::pending().await,
        }
    }

    /// Reports not-serving, stops every listener and waits (bounded) for them to drain.
    pub async fn stop(mut self) {
        for (name, reporter) in &self.health {
            reporter
                .set_service_status(name, tonic_health::ServingStatus::NotServing)
                .await;
        }
        self.shutdown.cancel();
        let drain = async {
            while let Some(result) = self.set.join_next().await {
                if let Ok(Err(e)) = result {
                    tracing::warn!(error = %e, "listener ended with an error while stopping");
                }
            }
        };
        if tokio::time::timeout(STOP_TIMEOUT, drain).await.is_err() {
            tracing::warn!("listeners still draining after 15 s; aborting them");
            self.set.abort_all();
        }
    }
}
