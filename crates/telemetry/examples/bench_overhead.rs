//! Benchmark (not a test): what telemetry costs per request.
//!
//! 1. A gRPC call over loopback (`grpc.health.v1.Health/Check`) through a plain `Channel` to a
//!    plain server, then through `TracedChannel` to `TracedServer` with spans exported (the
//!    in-memory exporter of the `testing` feature): the difference is the per-hop cost of a
//!    client span, a server span and `traceparent` inject/extract.
//! 2. Recording a metric (`grant_issued`) and rendering `/metrics`.
//!
//! ```sh
//! cargo run --release -p crossauthz-telemetry --features testing --example bench_overhead
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossauthz_telemetry::{TracedServer, traced};
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const CALLS: usize = 5_000;

async fn serve(traced_server: bool) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    if traced_server {
        let service = TracedServer::new(health, "bench", "https://bench.localhost");
        tokio::spawn(
            Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming),
        );
    } else {
        tokio::spawn(
            Server::builder()
                .add_service(health)
                .serve_with_incoming(incoming),
        );
    }
    addr
}

fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .tcp_nodelay(true)
        .connect_lazy()
}

fn report(what: &str, samples: &mut [Duration]) -> Duration {
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{what:<34} mean {:>7.1} µs  p50 {:>7.1} µs  p99 {:>7.1} µs",
        mean.as_secs_f64() * 1e6,
        p(0.5).as_secs_f64() * 1e6,
        p(0.99).as_secs_f64() * 1e6
    );
    mean
}

async fn calls<T>(mut client: HealthClient<T>) -> Vec<Duration>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let request = || HealthCheckRequest {
        service: String::new(),
    };
    for _ in 0..200 {
        client.check(request()).await.unwrap();
    }
    let mut samples = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        client.check(request()).await.unwrap();
        samples.push(started.elapsed());
    }
    samples
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let capture = crossauthz_telemetry::testing::install().unwrap();

    let plain = serve(false).await;
    let mut untraced = calls(HealthClient::new(channel(plain))).await;
    let untraced = report("gRPC call, untraced", &mut untraced);

    let traced_addr = serve(true).await;
    let before = capture.spans().len();
    let parent = tracing::info_span!("bench.request");
    let mut with_spans = {
        use tracing::Instrument;
        calls(HealthClient::new(traced(channel(traced_addr))))
            .instrument(parent)
            .await
    };
    let exported = capture.spans().len() - before;
    let traced_mean = report("gRPC call, traced + exported", &mut with_spans);
    println!(
        "{:<34} {:>+7.1} µs per call ({} spans exported for {} calls)",
        "overhead",
        (traced_mean.as_secs_f64() - untraced.as_secs_f64()) * 1e6,
        exported,
        CALLS + 200
    );

    let n = 1_000_000;
    let started = Instant::now();
    for _ in 0..n {
        crossauthz_telemetry::metrics::grant_issued("client_credentials");
    }
    println!(
        "{:<34} {:>7.1} ns",
        "metrics: record one grant",
        started.elapsed().as_secs_f64() * 1e9 / n as f64
    );
    for reason in 0..50 {
        crossauthz_telemetry::metrics::grant_denied("client_credentials", &format!("r{reason}"));
    }
    let started = Instant::now();
    let renders = 1_000;
    let mut bytes = 0;
    for _ in 0..renders {
        bytes = crossauthz_telemetry::metrics::render().unwrap().len();
    }
    println!(
        "{:<34} {:>7.1} µs ({bytes} bytes)",
        "metrics: render /metrics",
        started.elapsed().as_secs_f64() * 1e6 / renders as f64
    );
}
