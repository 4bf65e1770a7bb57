//! Test harness: one domain's issuer and status-list services over real gRPC on loopback, on a
//! fresh PostgreSQL database, with a shared fixed clock.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossauthz_core::clock::{Clock, FixedClock};
use crossauthz_credentials::did_web::DidDocument;
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_issuer::{IssuerConfig, IssuerService, MasterKey, StartupError};
use crossauthz_proto::common::{Actor, CredentialFormat};
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::issuer::{GetPublicKeysRequest, IssueCredentialRequest};
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_status_list::{StatusListConfig, StatusListService};
use crossauthz_store::{AuditFilter, Database};
use crossauthz_testkit::TracedChannel;
use crossauthz_testkit::{GrpcServer, TestDatabase, channel_to};
use serde_json::{Value, json};
use tonic::transport::Server;

pub const PUBLIC_URL: &str = "https://alpha.localhost";
pub const DID: &str = "did:web:alpha.localhost";

/// A loopback address with a free port (bound then released).
pub async fn free_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

pub fn now0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// A running domain (issuer + status-list).
pub struct Domain {
    pub db: Option<TestDatabase>,
    pub database: Database,
    pub clock: FixedClock,
    pub master_b64: String,
    pub config: IssuerConfig,
    pub service: IssuerService,
    pub issuer_server: Option<GrpcServer>,
    pub status_server: Option<GrpcServer>,
    pub issuer_addr: SocketAddr,
    pub status_addr: SocketAddr,
}

impl Domain {
    pub async fn start() -> Self {
        Self::start_with(IssuerConfig::new(PUBLIC_URL)).await
    }

    pub async fn start_with(config: IssuerConfig) -> Self {
        let db = TestDatabase::postgres().await.unwrap();
        let database = db.connect().await.unwrap();
        let clock = FixedClock::new(now0());
        let master_b64 = MasterKey::generate_base64url().to_string();
        let issuer_addr = free_addr().await;
        let status_addr = free_addr().await;
        let status_server =
            start_status_list(&config, &database, &clock, issuer_addr, status_addr).await;
        let service = build_service(&config, &database, &clock, status_addr, &master_b64)
            .await
            .unwrap();
        let issuer_server = GrpcServer::start_on(
            issuer_addr,
            Server::builder().add_service(service.clone().grpc_server()),
        )
        .await
        .unwrap();
        Self {
            db: Some(db),
            database,
            clock,
            master_b64,
            config,
            service,
            issuer_server: Some(issuer_server),
            status_server: Some(status_server),
            issuer_addr,
            status_addr,
        }
    }

    pub async fn start_status_list(&mut self) {
        self.status_server = Some(
            start_status_list(
                &self.config,
                &self.database,
                &self.clock,
                self.issuer_addr,
                self.status_addr,
            )
            .await,
        );
    }

    /// Kills the issuer (its gRPC server) and starts a new instance on the same port and
    /// database, as a restart of the process would.
    pub async fn restart_issuer(&mut self) {
        if let Some(s) = self.issuer_server.take() {
            s.stop().await;
        }
        self.service = self.new_service(&self.master_b64.clone()).await.unwrap();
        self.issuer_server = Some(
            GrpcServer::start_on(
                self.issuer_addr,
                Server::builder().add_service(self.service.clone().grpc_server()),
            )
            .await
            .unwrap(),
        );
    }

    pub async fn stop_status_list(&mut self) {
        if let Some(s) = self.status_server.take() {
            s.stop().await;
        }
    }

    /// A new issuer service instance on the same database with the given master key.
    pub async fn new_service(&self, master_b64: &str) -> Result<IssuerService, StartupError> {
        build_service(
            &self.config,
            &self.database,
            &self.clock,
            self.status_addr,
            master_b64,
        )
        .await
    }

    pub fn client(&self) -> IssuerClient<TracedChannel> {
        IssuerClient::new(channel_to(self.issuer_addr))
    }

    pub fn status_client(&self) -> StatusListClient<TracedChannel> {
        StatusListClient::new(channel_to(self.status_addr))
    }

    pub async fn did_document(&self) -> DidDocument {
        let keys = self
            .client()
            .get_public_keys(GetPublicKeysRequest {})
            .await
            .unwrap()
            .into_inner();
        let doc: Value = serde_json::from_str(&keys.did_document_json).unwrap();
        DidDocument::parse(&doc, DID).unwrap()
    }

    pub async fn audit_kinds(&self) -> Vec<String> {
        self.database
            .audit_store()
            .list(&AuditFilter {
                limit: 1000,
                ..AuditFilter::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.issuer_server.take() {
            s.stop().await;
        }
        self.stop_status_list().await;
        self.database.close().await;
        if let Some(db) = self.db.take() {
            db.cleanup().await.unwrap();
        }
    }
}

async fn start_status_list(
    config: &IssuerConfig,
    database: &Database,
    clock: &FixedClock,
    issuer_addr: SocketAddr,
    status_addr: SocketAddr,
) -> GrpcServer {
    let status = StatusListService::new(
        StatusListConfig::new(config.public_url.clone()),
        database.status_store(),
        database.audit_store(),
        Arc::new(clock.clone()),
        IssuerClient::new(channel_to(issuer_addr)),
    )
    .unwrap();
    GrpcServer::start_on(
        status_addr,
        Server::builder().add_service(status.grpc_server()),
    )
    .await
    .unwrap()
}

async fn build_service(
    config: &IssuerConfig,
    database: &Database,
    clock: &FixedClock,
    status_addr: SocketAddr,
    master_b64: &str,
) -> Result<IssuerService, StartupError> {
    IssuerService::new(
        config.clone(),
        MasterKey::from_base64url(master_b64).unwrap(),
        database.issuer_store(),
        database.audit_store(),
        Arc::new(clock.clone()) as Arc<dyn Clock>,
        StatusListClient::new(channel_to(status_addr)),
    )
    .await
}

/// An agent's holder key and its public JWK.
pub fn holder() -> (SigningKey, Value) {
    let k = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let jwk = k.public_jwk().to_json();
    (k, jwk)
}

pub const SUBJECT: &str = "https://alpha.localhost/agents/7/client-metadata.json";

pub fn claims() -> Value {
    json!({
        "agentType": "tool-agent",
        "authorizedScopes": ["logs:read", "tickets:write"],
        "agentName": "Log reader",
        "complianceAttestations": [{"standard": "SOC2", "scope": "ops", "validUntil": "2030-01-01T00:00:00Z"}],
        "trustSignals": {"trustScore": 0.9, "provider": "acme", "timestamp": "2026-01-01T00:00:00Z"},
        "provenance": {"repo": "https://git.example/agent", "commit": "abc123", "slsaLevel": 3}
    })
}

pub fn issue_request(
    agent_id: &str,
    format: CredentialFormat,
    holder_jwk: &Value,
    disclose: &[&str],
) -> IssueCredentialRequest {
    IssueCredentialRequest {
        agent_id: agent_id.to_owned(),
        subject: SUBJECT.to_owned(),
        claims_json: claims().to_string(),
        holder_jwk_json: holder_jwk.to_string(),
        format: format as i32,
        validity_seconds: 0,
        disclose: disclose.iter().map(|s| (*s).to_owned()).collect(),
        actor: Some(Actor {
            subject: "registry".into(),
            reason: "test".into(),
        }),
    }
}

pub fn admin(reason: &str) -> Option<Actor> {
    Some(Actor {
        subject: "admin@alpha".into(),
        reason: reason.into(),
    })
}
