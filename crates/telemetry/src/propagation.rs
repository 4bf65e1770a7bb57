//! W3C trace context (`traceparent` / `tracestate`) in and out of `http::HeaderMap`s — gRPC
//! metadata and HTTP headers alike — through OpenTelemetry's [`TraceContextPropagator`]. Nothing
//! here parses a header by hand.
//!
//! The propagator is used directly (not the process-global one), so propagation is always W3C
//! whatever else a process installs. When no OpenTelemetry layer is installed (no trace export),
//! spans carry no OpenTelemetry context: [`inject`] writes nothing and [`set_remote_parent`] does
//! nothing.

use std::sync::LazyLock;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static PROPAGATOR: LazyLock<TraceContextPropagator> = LazyLock::new(TraceContextPropagator::new);

/// The W3C header names this module reads and writes.
pub const HEADERS: [&str; 2] = ["traceparent", "tracestate"];

/// Writes the trace context of `span` into `headers` (replacing any `traceparent`/`tracestate`
/// already there). Writes nothing if `span` has no valid OpenTelemetry context.
pub fn inject(span: &tracing::Span, headers: &mut http::HeaderMap) {
    for name in HEADERS {
        headers.remove(name);
    }
    let cx = span.context();
    if cx.span().span_context().is_valid() {
        PROPAGATOR.inject_context(&cx, &mut HeaderInjector(headers));
    }
}

/// The trace context of the current span as a fresh header map, for outgoing HTTP requests
/// (`reqwest::RequestBuilder::headers`).
pub fn current_headers() -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    inject(&tracing::Span::current(), &mut headers);
    headers
}

/// The remote context carried by `headers`; an empty context when they carry none or an invalid
/// `traceparent` (the propagator refuses malformed values).
pub fn extract(headers: &http::HeaderMap) -> Context {
    PROPAGATOR.extract(&HeaderExtractor(headers))
}

/// Makes the context carried by `headers` the parent of `span`, which must not have been entered
/// yet. Without a valid remote context `span` keeps its own parent (a root span for a server).
/// Returns whether a remote parent was set.
pub fn set_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) -> bool {
    let cx = extract(headers);
    if !cx.span().span_context().is_valid() {
        return false;
    }
    span.set_parent(cx).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::provider_with_simple;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::InMemorySpanExporter;
    use tracing_subscriber::layer::SubscriberExt;

    fn with_otel<R>(f: impl FnOnce() -> R) -> (R, Vec<opentelemetry_sdk::trace::SpanData>) {
        let exporter = InMemorySpanExporter::default();
        let provider = provider_with_simple(exporter.clone(), "propagation-test");
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let r = tracing::subscriber::with_default(subscriber, f);
        provider.force_flush().unwrap();
        (r, exporter.get_finished_spans().unwrap())
    }

    #[test]
    fn a_span_injected_on_one_side_is_the_parent_on_the_other() {
        let ((), spans) = with_otel(|| {
            let client = tracing::info_span!("client");
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", "00-stale-stale-00".parse().unwrap());
            inject(&client, &mut headers);
            assert_eq!(headers.get_all("traceparent").iter().count(), 1);
            let server = tracing::info_span!("server");
            assert!(set_remote_parent(&server, &headers));
            drop(server.entered());
            drop(client);
        });
        let client = spans.iter().find(|s| s.name == "client").unwrap();
        let server = spans.iter().find(|s| s.name == "server").unwrap();
        assert_eq!(
            server.span_context.trace_id(),
            client.span_context.trace_id()
        );
        assert_eq!(server.parent_span_id, client.span_context.span_id());
        assert!(server.parent_span_is_remote);
    }

    #[test]
    fn a_known_traceparent_is_honoured_and_a_malformed_one_ignored() {
        let ((), spans) = with_otel(|| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                    .parse()
                    .unwrap(),
            );
            let known = tracing::info_span!("known");
            assert!(set_remote_parent(&known, &headers));
            drop(known.entered());
            headers.insert("traceparent", "00-zz-not-hex-01".parse().unwrap());
            let malformed = tracing::info_span!("malformed");
            assert!(!set_remote_parent(&malformed, &headers));
            drop(malformed.entered());
        });
        let known = spans.iter().find(|s| s.name == "known").unwrap();
        assert_eq!(
            known.span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(known.parent_span_id.to_string(), "00f067aa0ba902b7");
        let malformed = spans.iter().find(|s| s.name == "malformed").unwrap();
        assert_eq!(
            malformed.parent_span_id,
            opentelemetry::trace::SpanId::INVALID
        );
    }

    #[test]
    fn without_an_opentelemetry_layer_nothing_is_injected() {
        let mut headers = http::HeaderMap::new();
        inject(&tracing::info_span!("untraced"), &mut headers);
        assert!(headers.is_empty());
    }
}
