//! Test harness: one domain's issuer and status-list services over real gRPC on loopback on a
//! fresh PostgreSQL database (the monitor's upstreams), a fixed clock, and superuser access to
//! the database for the tamper tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossauthz_core::clock::{Clock, FixedClock};
use crossauthz_issuer::{IssuerConfig, IssuerService, MasterKey};
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_status_list::{StatusListConfig, StatusListService};
use crossauthz_store::Database;
use crossauthz_testkit::TracedChannel;
use crossauthz_testkit::{GrpcServer, TestDatabase, channel_to};
use sqlx::Connection;
use tonic::transport::Server;

pub const PUBLIC_URL: &str = "https://alpha.localhost";
pub const DID: &str = "did:web:alpha.localhost";

pub async fn free_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

pub fn now0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// A running domain core: issuer + status-list on Postgres.
pub struct Domain {
    pub db: Option<TestDatabase>,
    pub database: Database,
    pub clock: FixedClock,
    pub issuer: IssuerService,
    servers: Vec<GrpcServer>,
    pub issuer_addr: SocketAddr,
    pub status_addr: SocketAddr,
}

impl Domain {
    pub async fn start() -> Self {
        let db = TestDatabase::postgres().await.unwrap();
        let database = db.connect().await.unwrap();
        let clock = FixedClock::new(now0());
        let config = IssuerConfig::new(PUBLIC_URL);
        let issuer_addr = free_addr().await;
        let status_addr = free_addr().await;
        let status = StatusListService::new(
            StatusListConfig::new(config.public_url.clone()),
            database.status_store(),
            database.audit_store(),
            Arc::new(clock.clone()),
            IssuerClient::new(channel_to(issuer_addr)),
        )
        .unwrap();
        let status_server = GrpcServer::start_on(
            status_addr,
            Server::builder().add_service(status.grpc_server()),
        )
        .await
        .unwrap();
        let issuer = IssuerService::new(
            config,
            MasterKey::from_base64url(&MasterKey::generate_base64url()).unwrap(),
            database.issuer_store(),
            database.audit_store(),
            Arc::new(clock.clone()) as Arc<dyn Clock>,
            StatusListClient::new(channel_to(status_addr)),
        )
        .await
        .unwrap();
        let issuer_server = GrpcServer::start_on(
            issuer_addr,
            Server::builder().add_service(issuer.clone().grpc_server()),
        )
        .await
        .unwrap();
        Self {
            db: Some(db),
            database,
            clock,
            issuer,
            servers: vec![status_server, issuer_server],
            issuer_addr,
            status_addr,
        }
    }

    pub fn issuer_client(&self) -> IssuerClient<TracedChannel> {
        IssuerClient::new(channel_to(self.issuer_addr))
    }

    /// Runs `sql` as the database superuser with triggers disabled (the append-only triggers
    /// included): what an attacker with database access could do.
    pub async fn tamper(&self, sql: &str) {
        let url = self.db.as_ref().unwrap().url().to_owned();
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("SET session_replication_role = replica")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }

    pub async fn stop(mut self) {
        for s in self.servers.drain(..) {
            s.stop().await;
        }
        self.database.close().await;
        if let Some(db) = self.db.take() {
            db.cleanup().await.unwrap();
        }
    }
}
