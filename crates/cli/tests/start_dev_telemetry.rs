//! The real `crossauthz start-dev` binary with `CROSSAUTHZ_TELEMETRY__OTLP_ENDPOINT` and
//! `CROSSAUTHZ_TELEMETRY__LOG_FORMAT=json`: its spans reach an OTLP/gRPC receiver on loopback
//! (flushed on SIGTERM), one request's gateway and issuer spans share a trace, its logs are JSON
//! lines, and `/metrics` on the public listener needs the admin token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

const TOKEN: &str = "start-dev-telemetry-admin-token-0123456789";

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

fn string_attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            _ => None,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_dev_exports_traces_over_otlp_and_logs_json() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = listener.local_addr().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Receiver(tx)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let dir = tempfile::tempdir().unwrap();
    let (data, ca) = (dir.path().join("alpha"), dir.path().join("dev-ca"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("https://alpha.localhost:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_crossauthz"))
        .arg("start-dev")
        .arg("--public-url")
        .arg(&base)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data)
        .arg("--dev-ca")
        .arg(&ca)
        .arg("--admin-token")
        .arg(TOKEN)
        .env(
            "CROSSAUTHZ_TELEMETRY__OTLP_ENDPOINT",
            format!("http://{collector}"),
        )
        .env("CROSSAUTHZ_TELEMETRY__LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let stderr_task = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Ok(Some(line)) = stderr.next_line().await {
            lines.push(line);
        }
        lines
    });
    let ready = tokio::time::timeout(Duration::from_secs(120), stdout.next_line())
        .await
        .expect("start-dev printed nothing within 120 s")
        .unwrap();
    assert_eq!(ready.as_deref(), Some(format!("ready {base}").as_str()));

    let pem = std::fs::read(ca.join("ca.pem")).unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .resolve("alpha.localhost", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    // did.json: the gateway asks the issuer over gRPC.
    let r = http
        .get(format!("{base}/.well-known/did.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let get_metrics = |token: Option<&str>| {
        let mut request = http.get(format!("{base}/metrics"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    assert_eq!(get_metrics(None).await.unwrap().status(), 401);
    let metrics = get_metrics(Some(TOKEN)).await.unwrap();
    assert_eq!(metrics.status(), 200);

    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("start-dev did not stop within 30 s of SIGTERM")
        .unwrap();
    let stderr = stderr_task.await.unwrap();
    assert!(status.success(), "{status:?} {stderr:?}");

    // The spans, flushed at exit: the did.json request and the issuer call it made, one trace.
    let mut spans: HashMap<String, Vec<u8>> = HashMap::new();
    let mut services = Vec::new();
    while let Ok(Some(request)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
        for resource_spans in request.resource_spans {
            if let Some(resource) = &resource_spans.resource {
                services.extend(string_attr(&resource.attributes, "service.name"));
            }
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.insert(span.name, span.trace_id);
                }
            }
        }
        if spans.contains_key("GET /.well-known/did.json")
            && spans.contains_key("crossauthz.issuer.v1.Issuer/GetPublicKeys")
        {
            break;
        }
    }
    assert!(
        services.iter().all(|s| s == "crossauthz-dev"),
        "{services:?}"
    );
    let edge = spans
        .get("GET /.well-known/did.json")
        .expect("the gateway span");
    let issuer = spans
        .get("crossauthz.issuer.v1.Issuer/GetPublicKeys")
        .expect("the issuer span");
    assert_eq!(edge, issuer, "one trace");

    // Logs are JSON lines (the CLI's own messages, like the CA path, are plain eprintln lines).
    let json: Vec<Value> = stderr
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        json.iter()
            .any(|l| l["level"].is_string() && l["fields"].is_object()),
        "{stderr:?}"
    );
    let levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
    for line in &stderr {
        assert!(
            line.starts_with('{') || !levels.iter().any(|l| line.contains(l)),
            "a text-format log line: {line}"
        );
    }
    assert!(
        !stderr.iter().any(|l| l.contains(TOKEN)),
        "the admin token was logged"
    );
}
