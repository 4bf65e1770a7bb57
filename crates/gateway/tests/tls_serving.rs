//! The gateway serves real HTTPS with a test CA, and shuts down cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::routing::get;
use crossauthz_tls::{DevCa, server_config};

#[tokio::test]
async fn serves_https_with_the_test_ca_and_stops_on_shutdown() {
    let ca = DevCa::generate("test CA").unwrap();
    let cert = ca.issue_server(&["alpha.localhost"]).unwrap();
    let tls = server_config(&cert.chain_pem, &cert.key_pem).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let router = Router::new().route("/healthz", get(|| async { "ok" }));
    let server = tokio::spawn(crossauthz_gateway::tls::serve_tls(
        listener,
        tls,
        router,
        async move {
            let _ = stop_rx.await;
        },
    ));

    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap()])
        .resolve("alpha.localhost", addr)
        .build()
        .unwrap();
    let url = format!("https://alpha.localhost:{}/healthz", addr.port());
    let body = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(body, "ok");

    // A client that does not trust the CA is refused at the handshake.
    let untrusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(
            DevCa::generate("other").unwrap().cert_pem().as_bytes(),
        )
        .unwrap()])
        .resolve("alpha.localhost", addr)
        .build()
        .unwrap();
    assert!(untrusting.get(&url).send().await.is_err());

    stop_tx.send(()).unwrap();
    drop(client);
    tokio::time::timeout(std::time::Duration::from_secs(15), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

// A client that connects and never says ClientHello is dropped after the handshake timeout,
// while the server keeps serving others. The clock is paused: the timeout elapses as soon as
// nothing else is runnable.
#[tokio::test(start_paused = true)]
async fn a_connection_that_never_completes_the_handshake_is_closed() {
    use tokio::io::AsyncReadExt;
    let ca = DevCa::generate("test CA").unwrap();
    let cert = ca.issue_server(&["alpha.localhost"]).unwrap();
    let tls = server_config(&cert.chain_pem, &cert.key_pem).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let router = Router::new().route("/healthz", get(|| async { "ok" }));
    let server = tokio::spawn(crossauthz_gateway::tls::serve_tls(
        listener,
        tls,
        router,
        async move {
            let _ = stop_rx.await;
        },
    ));
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = tokio::time::Instant::now();
    let mut buf = [0u8; 16];
    // EOF (or a reset): the server gave up on this connection.
    let read = tokio::time::timeout(
        crossauthz_gateway::tls::HANDSHAKE_TIMEOUT * 3,
        silent.read(&mut buf),
    )
    .await
    .expect("the server still holds the silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= crossauthz_gateway::tls::HANDSHAKE_TIMEOUT);

    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
