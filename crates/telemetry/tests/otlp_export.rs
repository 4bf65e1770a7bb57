//! `init` with an OTLP endpoint exports spans over OTLP/gRPC: a real trace receiver (the
//! collector's `TraceService`, from `opentelemetry-proto`) on loopback gets the span with the
//! service's name. `init` installs the process's subscriber, hence this test's own binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tokio::sync::mpsc;

struct Receiver(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_to_the_configured_otlp_endpoint() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Receiver(tx)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let guard = crossauthz_telemetry::init(&crossauthz_telemetry::TelemetryConfig {
        service_name: "crossauthz-otlp-test".to_owned(),
        otlp_endpoint: Some(format!("http://{addr}")),
        json_logs: true,
    })
    .unwrap();
    assert!(guard.exports_traces());
    {
        let span = tracing::info_span!("otlp.probe", service = "probe");
        let _entered = span.enter();
        // Inside an exported span the trace context goes out with outgoing requests.
        let headers = crossauthz_telemetry::propagation::current_headers();
        assert!(headers.contains_key("traceparent"), "{headers:?}");
    }
    // Dropping the guard flushes the batch (it blocks, so not on a runtime worker).
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();

    let mut names = Vec::new();
    let mut service_names = Vec::new();
    while names.is_empty() {
        let request = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("no export reached the receiver")
            .unwrap();
        for resource_spans in request.resource_spans {
            if let Some(resource) = &resource_spans.resource {
                for kv in &resource.attributes {
                    if kv.key == "service.name"
                        && let Some(Value::StringValue(s)) =
                            kv.value.as_ref().and_then(|v| v.value.clone())
                    {
                        service_names.push(s);
                    }
                }
            }
            for scope in resource_spans.scope_spans {
                names.extend(scope.spans.into_iter().map(|s| s.name));
            }
        }
    }
    assert_eq!(names, ["otlp.probe"]);
    assert_eq!(service_names, ["crossauthz-otlp-test"]);
}
