//! Shared harness of the status-list integration tests: a fresh database, the service served
//! over real gRPC on loopback, and its client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use crossauthz_core::clock::{Clock, SystemClock};
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_status_list::{StatusListConfig, StatusListService};
use crossauthz_store::Database;
use crossauthz_testkit::TracedChannel;
use crossauthz_testkit::{GrpcServer, TestDatabase, channel_to};
use tonic::transport::Server;

/// The public URL the tests publish under.
pub const PUBLIC_URL: &str = "https://alpha.localhost";

/// A loopback address nobody listens on (bound then released).
pub async fn unused_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// A config publishing under [`PUBLIC_URL`].
pub fn config() -> StatusListConfig {
    StatusListConfig::new(PUBLIC_URL)
}

/// A fresh Postgres (or SQLite) database with every migration applied.
pub async fn database(pg: bool) -> (TestDatabase, Database) {
    let t = if pg {
        TestDatabase::postgres().await.unwrap()
    } else {
        TestDatabase::sqlite().unwrap()
    };
    let db = t.connect().await.unwrap();
    (t, db)
}

/// A service instance on `db`, signing through the issuer at `issuer` (lazily connected).
pub fn service(
    db: &Database,
    config: StatusListConfig,
    clock: Arc<dyn Clock>,
    issuer: TracedChannel,
) -> StatusListService {
    StatusListService::new(
        config,
        db.status_store(),
        db.audit_store(),
        clock,
        IssuerClient::new(issuer),
    )
    .unwrap()
}

/// Serves `svc` on `addr` (`127.0.0.1:0` for any port).
pub async fn serve(svc: StatusListService, addr: SocketAddr) -> GrpcServer {
    GrpcServer::start_on(addr, Server::builder().add_service(svc.grpc_server()))
        .await
        .unwrap()
}

/// A status-list service on a fresh database, served on loopback, with no issuer behind it
/// (for everything but publication).
pub struct Harness {
    pub tdb: TestDatabase,
    pub db: Database,
    pub server: GrpcServer,
    pub svc: StatusListService,
}

impl Harness {
    pub async fn start(pg: bool, config: StatusListConfig) -> Self {
        let (tdb, db) = database(pg).await;
        let svc = service(
            &db,
            config,
            Arc::new(SystemClock),
            channel_to(unused_addr().await),
        );
        let server = serve(svc.clone(), "127.0.0.1:0".parse().unwrap()).await;
        Self {
            tdb,
            db,
            server,
            svc,
        }
    }

    pub fn client(&self) -> StatusListClient<TracedChannel> {
        StatusListClient::new(self.server.channel())
    }

    pub async fn finish(self) {
        self.server.stop().await;
        self.db.close().await;
        self.tdb.cleanup().await.unwrap();
    }
}

/// Every allocated `(list, index)` in the database, read directly (the store API has no
/// "all entries" query).
pub async fn all_entries(db: &Database) -> std::collections::HashSet<(String, u64)> {
    let rows: Vec<(uuid::Uuid, i64)> = match db {
        Database::Postgres(pool) => sqlx::query_as("SELECT list_id, idx FROM status.entries")
            .fetch_all(pool)
            .await
            .unwrap(),
        Database::Sqlite(pool) => sqlx::query_as("SELECT list_id, idx FROM status_entries")
            .fetch_all(pool)
            .await
            .unwrap(),
    };
    rows.into_iter()
        .map(|(l, i)| (l.to_string(), i as u64))
        .collect()
}

/// The status-list service and a real issuer (which signs the lists) on one database, both
/// served over gRPC on loopback, sharing one settable clock.
pub struct Stack {
    pub tdb: TestDatabase,
    pub db: Database,
    pub clock: crossauthz_core::clock::FixedClock,
    pub issuer_server: Option<GrpcServer>,
    pub issuer_addr: SocketAddr,
    pub status_server: Option<GrpcServer>,
    pub status_addr: SocketAddr,
    pub svc: StatusListService,
}

/// A clock at a fixed, whole-second instant.
pub fn fixed_clock() -> crossauthz_core::clock::FixedClock {
    crossauthz_core::clock::FixedClock::at_unix(1_800_000_000).unwrap()
}

/// Starts the issuer on `addr` (any port when `127.0.0.1:0`).
pub async fn start_issuer(
    db: &Database,
    clock: Arc<dyn Clock>,
    status_addr: SocketAddr,
    addr: SocketAddr,
) -> GrpcServer {
    let issuer = crossauthz_issuer::IssuerService::new(
        crossauthz_issuer::IssuerConfig::new(PUBLIC_URL),
        crossauthz_issuer::MasterKey::generate(),
        db.issuer_store(),
        db.audit_store(),
        clock,
        StatusListClient::new(channel_to(status_addr)),
    )
    .await
    .unwrap();
    GrpcServer::start_on(addr, Server::builder().add_service(issuer.grpc_server()))
        .await
        .unwrap()
}

impl Stack {
    pub async fn start(config: StatusListConfig) -> Self {
        let (tdb, db) = database(true).await;
        let clock = fixed_clock();
        let status_addr = unused_addr().await;
        let issuer_server = start_issuer(
            &db,
            Arc::new(clock.clone()),
            status_addr,
            "127.0.0.1:0".parse().unwrap(),
        )
        .await;
        let issuer_addr = issuer_server.addr();
        let svc = service(
            &db,
            config,
            Arc::new(clock.clone()),
            channel_to(issuer_addr),
        );
        let status_server = serve(svc.clone(), status_addr).await;
        Self {
            tdb,
            db,
            clock,
            issuer_server: Some(issuer_server),
            issuer_addr,
            status_server: Some(status_server),
            status_addr,
            svc,
        }
    }

    pub fn client(&self) -> StatusListClient<TracedChannel> {
        StatusListClient::new(channel_to(self.status_addr))
    }

    pub fn issuer(&self) -> IssuerClient<TracedChannel> {
        IssuerClient::new(channel_to(self.issuer_addr))
    }

    /// The issuer's current public signing key.
    pub async fn issuer_key(&self) -> crossauthz_credentials::keys::PublicJwk {
        let keys = self
            .issuer()
            .get_public_keys(crossauthz_proto::issuer::GetPublicKeysRequest {})
            .await
            .unwrap()
            .into_inner();
        let jwks: serde_json::Value = serde_json::from_str(&keys.jwks_json).unwrap();
        crossauthz_credentials::keys::PublicJwk::from_json(&jwks["keys"][0]).unwrap()
    }

    /// Stops the status-list server and starts a new service instance on the same port and
    /// database.
    pub async fn restart_status_list(&mut self, config: StatusListConfig) {
        if let Some(s) = self.status_server.take() {
            s.stop().await;
        }
        self.svc = service(
            &self.db,
            config,
            Arc::new(self.clock.clone()),
            channel_to(self.issuer_addr),
        );
        self.status_server = Some(serve(self.svc.clone(), self.status_addr).await);
    }

    pub async fn finish(mut self) {
        if let Some(s) = self.status_server.take() {
            s.stop().await;
        }
        if let Some(s) = self.issuer_server.take() {
            s.stop().await;
        }
        self.db.close().await;
        self.tdb.cleanup().await.unwrap();
    }
}
