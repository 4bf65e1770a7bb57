//! Trace context across gRPC.
//!
//! - Servers: [`TracedServer`] wraps a generated tonic server (`XxxServer<S>`); every request
//!   runs inside a `grpc.server` span whose parent is the caller's context from the request's
//!   `traceparent`/`tracestate` metadata, and which names the crossauthz `service` and `domain`
//!   serving it. It keeps the wrapped server's [`NamedService`] name, so
//!   `Server::builder().add_service(traced)` routes exactly as before. [`GrpcTraceLayer`] does the
//!   same as a tower layer (`Server::builder().layer(...)`), for services built elsewhere
//!   (health, reflection).
//! - Clients: [`TracedChannel`] wraps a [`Channel`]; every call runs inside a `grpc.client` span
//!   whose context is written into the outgoing metadata. Generated clients take it in place of
//!   the channel: `IssuerClient::new(traced(channel))` is an `IssuerClient<TracedChannel>`.
//!
//! Span fields are the method path and the service's name and public URL — never a message.

use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::server::NamedService;
use tonic::transport::Channel;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::instrument::Instrumented;

use crate::propagation;

/// `("crossauthz.issuer.v1.Issuer", "SignAccessToken")` from `/crossauthz.issuer.v1.Issuer/SignAccessToken`.
fn rpc_parts(path: &str) -> (&str, &str) {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split_once('/').unwrap_or((path, ""))
}

/// A public URL as the `domain` span field: without a trailing `/`.
pub(crate) fn domain_name(public_url: &str) -> Arc<str> {
    Arc::from(public_url.trim_end_matches('/'))
}

/// The server span of one gRPC request, its parent taken from the request's metadata.
pub fn server_span(
    service: &'static str,
    domain: &str,
    headers: &http::HeaderMap,
    path: &str,
) -> tracing::Span {
    let (rpc_service, rpc_method) = rpc_parts(path);
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = %path.strip_prefix('/').unwrap_or(path),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %rpc_service,
        rpc.method = %rpc_method,
        service = service,
        domain = %domain,
    );
    propagation::set_remote_parent(&span, headers);
    span
}

/// A gRPC server (a generated `XxxServer<S>` or any tower service of `http::Request`s) whose
/// every request runs in a [`server_span`] naming `service` and `domain`.
#[derive(Debug, Clone)]
pub struct TracedServer<S> {
    inner: S,
    service: &'static str,
    domain: Arc<str>,
}

impl<S> TracedServer<S> {
    /// Wraps `inner`, served by the crossauthz `service` (e.g. `"issuer"`) of the domain whose
    /// public URL is `domain` (recorded without a trailing `/`).
    pub fn new(inner: S, service: &'static str, domain: &str) -> Self {
        Self {
            inner,
            service,
            domain: domain_name(domain),
        }
    }

    /// The wrapped server.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: NamedService> NamedService for TracedServer<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for TracedServer<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Instrumented<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let span = server_span(
            self.service,
            &self.domain,
            request.headers(),
            request.uri().path(),
        );
        let future = span.in_scope(|| self.inner.call(request));
        future.instrument(span)
    }
}

/// The tower layer form of [`TracedServer`].
#[derive(Debug, Clone)]
pub struct GrpcTraceLayer {
    service: &'static str,
    domain: Arc<str>,
}

impl GrpcTraceLayer {
    /// Server spans naming `service` of the domain at `domain`.
    pub fn new(service: &'static str, domain: &str) -> Self {
        Self {
            service,
            domain: domain_name(domain),
        }
    }
}

impl<S> Layer<S> for GrpcTraceLayer {
    type Service = TracedServer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TracedServer {
            inner,
            service: self.service,
            domain: self.domain.clone(),
        }
    }
}

/// A [`Channel`] that carries the current trace context to the server: each call runs in a
/// `grpc.client` span written into the request's `traceparent`/`tracestate` metadata. Cheap to
/// clone, like the channel.
#[derive(Debug, Clone)]
pub struct TracedChannel {
    inner: Channel,
}

/// Wraps a channel (e.g. `Endpoint::connect_lazy()`) so that calls through it carry the trace
/// context: the one way crossauthz services build their gRPC clients.
pub fn traced(channel: Channel) -> TracedChannel {
    TracedChannel { inner: channel }
}

impl TracedChannel {
    /// The wrapped channel.
    pub fn channel(&self) -> &Channel {
        &self.inner
    }
}

impl From<Channel> for TracedChannel {
    fn from(channel: Channel) -> Self {
        traced(channel)
    }
}

impl Service<http::Request<tonic::body::Body>> for TracedChannel {
    type Response = http::Response<tonic::body::Body>;
    type Error = tonic::transport::Error;
    type Future = Instrumented<tonic::transport::channel::ResponseFuture>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        let path = request.uri().path();
        let (rpc_service, rpc_method) = rpc_parts(path);
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = %path.strip_prefix('/').unwrap_or(path),
            otel.kind = "client",
            rpc.system = "grpc",
            rpc.service = %rpc_service,
            rpc.method = %rpc_method,
        );
        propagation::inject(&span, request.headers_mut());
        let future = span.in_scope(|| self.inner.call(request));
        future.instrument(span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_parts_split_the_method_path() {
        assert_eq!(
            rpc_parts("/crossauthz.issuer.v1.Issuer/SignAccessToken"),
            ("crossauthz.issuer.v1.Issuer", "SignAccessToken")
        );
        assert_eq!(rpc_parts("/"), ("", ""));
        assert_eq!(rpc_parts("no-slash"), ("no-slash", ""));
    }
}
