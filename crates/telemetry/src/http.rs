//! Trace context across HTTP.
//!
//! - Incoming: [`trace_layer`] is the edge's `tower_http` trace layer. Its `http.server` span
//!   takes its parent from the request's `traceparent`/`tracestate` headers, names the crossauthz
//!   `service` and `domain`, the method and the matched route *template* (`/status/{list}`, never
//!   the raw path or query), and records the response status. Apply it with `Router::layer` so
//!   the route is known. Headers, bodies, queries and tokens never become span fields.
//! - Outgoing: put [`crate::propagation::current_headers`] on each request
//!   (`reqwest::RequestBuilder::headers`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::MatchedPath;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnRequest, MakeSpan, OnResponse, TraceLayer};

use crate::propagation;

/// The server span of one HTTP request, its parent taken from the request's headers.
pub fn server_span<B>(
    service: &'static str,
    domain: &str,
    request: &http::Request<B>,
) -> tracing::Span {
    let method = request.method().as_str();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let span = tracing::info_span!(
        "http.server",
        otel.name = %match route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        },
        otel.kind = "server",
        http.request.method = %method,
        http.route = route.unwrap_or_default(),
        http.response.status_code = tracing::field::Empty,
        service = service,
        domain = %domain,
    );
    propagation::set_remote_parent(&span, request.headers());
    span
}

/// Makes [`server_span`]s for `tower_http`'s trace layer.
#[derive(Debug, Clone)]
pub struct MakeServerSpan {
    service: &'static str,
    domain: Arc<str>,
}

impl<B> MakeSpan<B> for MakeServerSpan {
    fn make_span(&mut self, request: &http::Request<B>) -> tracing::Span {
        server_span(self.service, &self.domain, request)
    }
}

/// Records the response status on the request span (and logs nothing else).
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordStatus;

impl<B> OnResponse<B> for RecordStatus {
    fn on_response(self, response: &http::Response<B>, _latency: Duration, span: &tracing::Span) {
        span.record("http.response.status_code", response.status().as_u16());
    }
}

/// The trace layer of an HTTP edge: see the module documentation.
pub type HttpTraceLayer = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    MakeServerSpan,
    DefaultOnRequest,
    RecordStatus,
>;

/// The trace layer of the crossauthz `service` (e.g. `"gateway"`) of the domain whose public URL
/// is `domain` (recorded without a trailing `/`).
pub fn trace_layer(service: &'static str, domain: &str) -> HttpTraceLayer {
    TraceLayer::new_for_http()
        .make_span_with(MakeServerSpan {
            service,
            domain: crate::grpc::domain_name(domain),
        })
        .on_response(RecordStatus)
}
