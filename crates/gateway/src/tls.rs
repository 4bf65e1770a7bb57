//! Serving the router over HTTPS (rustls) or, on loopback in development and tests, plain HTTP.
//!
//! axum's own `serve` speaks plain TCP only; this is the small accept loop that puts rustls in
//! front of it (tokio-rustls + hyper-util), with graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

/// How long shutdown waits for in-flight connections before closing them.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a client may take to complete the TLS handshake: a connection that never sends its
/// ClientHello must not hold a task and a file descriptor forever.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `router` on `listener` with TLS until `shutdown` completes; in-flight connections are
/// drained (up to ten seconds).
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    let (conn_tx, mut conn_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Per-connection accept errors (e.g. EMFILE) must not stop the server.
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            Some(conn) = conn_rx.recv() => {
                // A handshake finished: serve the connection under the shutdown watcher.
                let (tls_stream, peer): (TlsStream<TcpStream>, SocketAddr) = conn;
                let service = TowerToHyperService::new(router.clone());
                let builder = Builder::new(TokioExecutor::new());
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(tls_stream), service)
                    .into_owned();
                let watched = graceful.watch(connection);
                tokio::spawn(async move {
                    if let Err(e) = watched.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
                continue;
            }
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let conn_tx = conn_tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(s)) => {
                    let _ = conn_tx.send((s, peer));
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
    Ok(())
}

/// Serves `router` over plain HTTP until `shutdown` completes (loopback development only).
pub async fn serve_plain(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
