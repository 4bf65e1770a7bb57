//! Tracing, OpenTelemetry export, trace-context propagation and metrics shared by every
//! crossauthz service.
//!
//! - [`init`] installs the global subscriber: structured logs to stderr, filtered by `RUST_LOG`
//!   (default `info`), and — when an OTLP endpoint is configured — spans exported over OTLP/gRPC.
//! - [`propagation`]: W3C trace context (`traceparent`/`tracestate`) in and out of header maps.
//! - [`grpc`]: the traced gRPC server wrapper ([`grpc::TracedServer`]) every service's
//!   `grpc_server()` returns, and the traced client channel ([`grpc::TracedChannel`], made with
//!   [`grpc::traced`]) every service's gRPC clients use.
//! - [`http`]: the HTTP edge's trace layer (the parent comes from the request's headers).
//! - [`metrics`]: grants, denials by reason, fetch latency and cache hits, served at `/metrics`
//!   in the Prometheus text format ([`metrics::router`]).
//!
//! So one grant is one trace: the gateway's request span, the verifier's gRPC span, the remote
//! domain's gateway spans (the verifier's fetches carry `traceparent`), that domain's gRPC spans,
//! and the local issuer's. Server spans name the crossauthz `service` and its `domain` (public
//! URL). Logs and span fields never carry keys, assertions or tokens: that is a rule for the call
//! sites, and the services only ever log identifiers (client_id, credential id, kid, jti hash).
#![forbid(unsafe_code)]

pub mod grpc;
pub mod http;
pub mod metrics;
pub mod propagation;
#[cfg(feature = "testing")]
pub mod testing;

pub use grpc::{GrpcTraceLayer, TracedChannel, TracedServer, traced};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How logs and traces leave the process.
#[derive(Debug, Clone, Default)]
pub struct TelemetryConfig {
    /// The service name reported in traces (`service.name`).
    pub service_name: String,
    /// OTLP/gRPC endpoint, e.g. `http://otel-collector:4317`. No export when `None`.
    pub otlp_endpoint: Option<String>,
    /// Log as JSON lines instead of human-readable text.
    pub json_logs: bool,
}

/// Errors setting up telemetry.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built from the configuration.
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(String),
    /// A global subscriber was already installed.
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
}

/// Keeps the tracer provider alive; flushes and shuts it down on drop.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// True if spans are exported (an OTLP endpoint was configured).
    pub fn exports_traces(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            // Nothing useful to do with a shutdown error at exit.
            let _ = provider.shutdown();
        }
    }
}

/// Installs the global subscriber described by `config`. With an OTLP endpoint, call it inside
/// a Tokio runtime (the gRPC exporter's channel runs on it) and drop the guard before the
/// runtime, so the last spans are flushed.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let provider = match &config.otlp_endpoint {
        Some(endpoint) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
            Some(provider_with_batch(exporter, &config.service_name))
        }
        None => None,
    };
    let fmt = if config.json_logs {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    };
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    if let Some(provider) = &provider {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(config.service_name.clone())));
    tracing_subscriber::registry()
        .with(env_filter())
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInstalled(e.to_string()))?;
    Ok(TelemetryGuard { provider })
}

/// A tracer provider exporting through `exporter` synchronously (tests use an in-memory exporter).
pub fn provider_with_simple<E: SpanExporter + 'static>(
    exporter: E,
    service_name: &str,
) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_resource(resource(service_name))
        .with_simple_exporter(exporter)
        .build()
}

fn provider_with_batch<E: SpanExporter + 'static>(
    exporter: E,
    service_name: &str,
) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_resource(resource(service_name))
        .with_batch_exporter(exporter)
        .build()
}

fn resource(service_name: &str) -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_owned())
        .build()
}

fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use opentelemetry_sdk::trace::InMemorySpanExporter;

    #[test]
    fn spans_reach_the_exporter_with_their_fields() {
        let exporter = InMemorySpanExporter::default();
        let provider = provider_with_simple(exporter.clone(), "crossauthz-test");
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("grant", client_id = "https://a.example/agents/1");
            let _entered = span.enter();
        });
        provider.force_flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].name, "grant");
        let client_id = spans[0]
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "client_id")
            .map(|kv| kv.value.to_string());
        assert_eq!(client_id.as_deref(), Some("https://a.example/agents/1"));
    }
}
