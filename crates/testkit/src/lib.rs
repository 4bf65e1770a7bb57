//! Test support shared by the crossauthz test suites.
//!
//! - [`TestDatabase`]: a fresh PostgreSQL database per test (or a SQLite file), dropped afterwards.
//! - [`GrpcServer`]: serves a tonic router on `127.0.0.1:0` over real loopback TCP and hands back a
//!   lazily connecting [`TracedChannel`] (the channel type every service's clients use; calls
//!   carry the trace context); dropping or [`GrpcServer::stop`]ping it shuts the server down, which is
//!   how tests kill a service mid-way and start it again.
//! - [`DevCa`]: the test CA (re-exported from `crossauthz-tls`).
#![forbid(unsafe_code)]

use std::net::SocketAddr;

pub use crossauthz_store::testing::TestDatabase;
pub use crossauthz_telemetry::{TracedChannel, traced};
pub use crossauthz_tls::DevCa;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Endpoint;
use tonic::transport::server::Router;

/// A gRPC server on loopback, for one test.
#[derive(Debug)]
pub struct GrpcServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
}

impl GrpcServer {
    /// Serves `router` (e.g. `Server::builder().add_service(svc)`) on `127.0.0.1:0`.
    pub async fn start(router: Router) -> std::io::Result<Self> {
        Self::start_on(
            "127.0.0.1:0".parse().map_err(std::io::Error::other)?,
            router,
        )
        .await
    }

    /// Serves `router` on a given loopback address (to restart a service on the same port).
    pub async fn start_on(addr: SocketAddr, router: Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        // Without TCP_NODELAY every small gRPC message waits ~40 ms for Nagle + delayed ACK.
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A channel to the server (connects lazily, so a stopped server shows as UNAVAILABLE).
    pub fn channel(&self) -> TracedChannel {
        channel_to(self.addr)
    }

    /// Stops the server and waits until it no longer accepts connections.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A lazily connecting, traced channel to a loopback gRPC server.
pub fn channel_to(addr: SocketAddr) -> TracedChannel {
    // The URI is built from a SocketAddr, so it always parses.
    match Endpoint::from_shared(format!("http://{addr}")) {
        Ok(endpoint) => traced(endpoint.connect_lazy()),
        Err(e) => unreachable!("a socket address is a valid URI: {e}"),
    }
}
