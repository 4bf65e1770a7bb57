//! `/metrics` in `serve` mode: a real `serve verifier` (PostgreSQL, internal mutual TLS from
//! `pki init`) answers `/metrics` on its ops listener (internal, no token) in the Prometheus
//! text format, beside `/healthz` and `/readyz`; its public gRPC listener does not serve it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use crossauthz_domain::{DomainConfig, ServiceKind};
use crossauthz_testkit::TestDatabase;

async fn free_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

#[tokio::test]
async fn serve_mode_exposes_metrics_on_the_ops_listener() {
    let db = TestDatabase::postgres().await.unwrap();
    let pki = tempfile::tempdir().unwrap();
    crossauthz_domain::pki::init(pki.path(), &["verifier".to_owned()]).unwrap();
    let (ops, grpc) = (free_addr().await, free_addr().await);
    let toml = format!(
        r#"
public_url = "https://beta.localhost"
[database]
url = "{url}"
[serve]
grpc_listen = "{grpc}"
ops_listen = "{ops}"
[internal_tls]
ca = "{dir}/ca.pem"
cert = "{dir}/verifier.crt"
key = "{dir}/verifier.key"
"#,
        url = db.url(),
        dir = pki.path().display(),
    );
    let config = DomainConfig::from_toml_and_env(&toml, &[]).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crossauthz_domain::serve::serve(
        ServiceKind::Verifier,
        config,
        async move {
            let _ = stopped.await;
        },
    ));

    let http = reqwest::Client::new();
    let mut healthy = false;
    for _ in 0..100 {
        if let Ok(r) = http.get(format!("http://{ops}/healthz")).send().await
            && r.status().is_success()
        {
            healthy = true;
            break;
        }
        assert!(!server.is_finished(), "serve stopped: {:?}", server.await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(healthy, "the ops listener never answered");

    // A recorded event shows in the scrape: the endpoint renders this process's registry.
    crossauthz_telemetry::metrics::status_checked("ops_serve_test");
    let r = http
        .get(format!("http://{ops}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        crossauthz_telemetry::metrics::CONTENT_TYPE
    );
    let text = r.text().await.unwrap();
    assert!(
        text.lines()
            .any(|l| l == r#"crossauthz_status_checks_total{outcome="ops_serve_test"} 1"#),
        "{text}"
    );

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .unwrap()
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    db.cleanup().await.unwrap();
}
