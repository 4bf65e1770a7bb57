//! Test harness: one domain's registry, issuer and status-list services over real gRPC on
//! loopback, on a fresh PostgreSQL database, sharing one fixed clock.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crossauthz_core::clock::{Clock, FixedClock};
use crossauthz_credentials::did_web::DidDocument;
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_issuer::{IssuerConfig, IssuerService, MasterKey};
use crossauthz_proto::common::{Actor, CredentialFormat};
use crossauthz_proto::issuer::GetPublicKeysRequest;
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::registry::registry_client::RegistryClient;
use crossauthz_proto::registry::{CreateAgentRequest, CredentialOptions};
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_registry::{RegistryConfig, RegistryService};
use crossauthz_status_list::{StatusListConfig, StatusListService};
use crossauthz_store::{AuditFilter, Database};
use crossauthz_testkit::TracedChannel;
use crossauthz_testkit::{GrpcServer, TestDatabase, channel_to};
use serde_json::{Value, json};
use tonic::transport::Server;

pub const PUBLIC_URL: &str = "https://alpha.localhost:8443";
pub const DID: &str = "did:web:alpha.localhost%3A8443";

pub fn now0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// A loopback address with a free port (bound, then released).
pub async fn free_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// A running domain.
pub struct Domain {
    db: Option<TestDatabase>,
    pub database: Database,
    pub clock: FixedClock,
    pub service: RegistryService,
    pub issuer_service: IssuerService,
    registry_server: Option<GrpcServer>,
    issuer_server: Option<GrpcServer>,
    status_server: Option<GrpcServer>,
    pub registry_addr: SocketAddr,
    pub issuer_addr: SocketAddr,
    pub status_addr: SocketAddr,
}

impl Domain {
    pub async fn start() -> Self {
        let db = TestDatabase::postgres().await.unwrap();
        let database = db.connect().await.unwrap();
        let clock = FixedClock::new(now0());
        let issuer_addr = free_addr().await;
        let status_addr = free_addr().await;
        let status = StatusListService::new(
            StatusListConfig::new(PUBLIC_URL),
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
        let master = MasterKey::generate_base64url();
        let issuer_service = IssuerService::new(
            IssuerConfig::new(PUBLIC_URL),
            MasterKey::from_base64url(&master).unwrap(),
            database.issuer_store(),
            database.audit_store(),
            Arc::new(clock.clone()) as Arc<dyn Clock>,
            StatusListClient::new(channel_to(status_addr)),
        )
        .await
        .unwrap();
        let issuer_server = GrpcServer::start_on(
            issuer_addr,
            Server::builder().add_service(issuer_service.clone().grpc_server()),
        )
        .await
        .unwrap();
        let service = RegistryService::new(
            RegistryConfig::new(PUBLIC_URL.parse().unwrap()),
            database.registry_store(),
            database.audit_store(),
            Arc::new(clock.clone()),
            channel_to(issuer_addr),
        )
        .unwrap();
        let registry_server =
            GrpcServer::start(Server::builder().add_service(service.clone().grpc_server()))
                .await
                .unwrap();
        Self {
            registry_addr: registry_server.addr(),
            db: Some(db),
            database,
            clock,
            service,
            issuer_service,
            registry_server: Some(registry_server),
            issuer_server: Some(issuer_server),
            status_server: Some(status_server),
            issuer_addr,
            status_addr,
        }
    }

    pub fn registry(&self) -> RegistryClient<TracedChannel> {
        RegistryClient::new(channel_to(self.registry_addr))
    }

    pub fn issuer(&self) -> IssuerClient<TracedChannel> {
        IssuerClient::new(channel_to(self.issuer_addr))
    }

    /// Stops the issuer (its port stays known, so it can be started again).
    pub async fn stop_issuer(&mut self) {
        if let Some(s) = self.issuer_server.take() {
            s.stop().await;
        }
    }

    pub async fn start_issuer(&mut self) {
        self.issuer_server = Some(
            GrpcServer::start_on(
                self.issuer_addr,
                Server::builder().add_service(self.issuer_service.clone().grpc_server()),
            )
            .await
            .unwrap(),
        );
    }

    pub async fn did_document(&self) -> DidDocument {
        let keys = self
            .issuer()
            .get_public_keys(GetPublicKeysRequest {})
            .await
            .unwrap()
            .into_inner();
        let doc: Value = serde_json::from_str(&keys.did_document_json).unwrap();
        DidDocument::parse(&doc, DID).unwrap()
    }

    /// Kinds of the registry's audit events, in order.
    pub async fn registry_audit_kinds(&self) -> Vec<String> {
        self.database
            .audit_store()
            .list(&AuditFilter {
                limit: 1000,
                ..AuditFilter::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.service == "registry")
            .map(|e| e.kind)
            .collect()
    }

    /// Number of live agents in the store.
    pub async fn live_agents(&self) -> usize {
        self.database
            .registry_store()
            .list_agents(1000, None)
            .await
            .unwrap()
            .agents
            .len()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.registry_server.take() {
            s.stop().await;
        }
        self.stop_issuer().await;
        if let Some(s) = self.status_server.take() {
            s.stop().await;
        }
        self.database.close().await;
        if let Some(db) = self.db.take() {
            db.cleanup().await.unwrap();
        }
    }
}

/// An agent key pair: the private key (kept by the agent) and its public JWK with a kid.
pub fn agent_key(kid: &str) -> (SigningKey, Value) {
    let k = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let mut jwk = k.public_jwk().to_json();
    jwk["kid"] = json!(kid);
    (k, jwk)
}

pub fn claims() -> Value {
    json!({
        "authorizedScopes": ["logs:read", "tickets:write"],
        "agentName": "Log reader",
        "dataSensitivityClearance": "internal"
    })
}

pub fn admin() -> Option<Actor> {
    Some(Actor {
        subject: "admin@alpha".into(),
        reason: "test".into(),
    })
}

/// A valid create request with one Ed25519 key.
pub fn create_request(jwk: &Value) -> CreateAgentRequest {
    CreateAgentRequest {
        name: "Log reader".into(),
        agent_type: "tool-agent".into(),
        jwks_json: json!({"keys": [jwk]}).to_string(),
        jwks_uri: String::new(),
        redirect_uris: vec![],
        grant_types: vec!["client_credentials".into()],
        claims_json: claims().to_string(),
        issue_credential: None,
        actor: admin(),
    }
}

pub fn vc_jwt_options() -> Option<CredentialOptions> {
    Some(CredentialOptions {
        format: CredentialFormat::VcJwt as i32,
        validity_seconds: 0,
        disclose: vec![],
        holder_kid: String::new(),
    })
}

/// A registry alone (no issuer listening: its channel points at a closed port), for tests that
/// must not reach the issuer.
pub struct RegistryOnly {
    db: Option<TestDatabase>,
    pub database: Database,
    pub clock: FixedClock,
    pub service: RegistryService,
    server: Option<GrpcServer>,
}

impl RegistryOnly {
    pub async fn start() -> Self {
        let db = TestDatabase::postgres().await.unwrap();
        let database = db.connect().await.unwrap();
        let clock = FixedClock::new(now0());
        let service = RegistryService::new(
            RegistryConfig::new(PUBLIC_URL.parse().unwrap()),
            database.registry_store(),
            database.audit_store(),
            Arc::new(clock.clone()),
            channel_to(free_addr().await),
        )
        .unwrap();
        let server =
            GrpcServer::start(Server::builder().add_service(service.clone().grpc_server()))
                .await
                .unwrap();
        Self {
            db: Some(db),
            database,
            clock,
            service,
            server: Some(server),
        }
    }

    pub fn registry(&self) -> RegistryClient<TracedChannel> {
        RegistryClient::new(self.server.as_ref().unwrap().channel())
    }

    /// Kinds of every audit event, in order.
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

    /// Number of live agents in the store.
    pub async fn live_agents(&self) -> usize {
        self.database
            .registry_store()
            .list_agents(1000, None)
            .await
            .unwrap()
            .agents
            .len()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        self.database.close().await;
        if let Some(db) = self.db.take() {
            db.cleanup().await.unwrap();
        }
    }
}

/// The domain form of a wire create request.
pub fn domain_create(r: &CreateAgentRequest) -> crossauthz_registry::model::CreateAgent {
    use crossauthz_registry::model;
    model::CreateAgent {
        name: r.name.clone(),
        agent_type: r.agent_type.clone(),
        jwks_json: Some(r.jwks_json.clone()).filter(|s| !s.is_empty()),
        jwks_uri: Some(r.jwks_uri.clone()).filter(|s| !s.is_empty()),
        redirect_uris: r.redirect_uris.clone(),
        grant_types: r.grant_types.clone(),
        claims_json: r.claims_json.clone(),
        issue_credential: r
            .issue_credential
            .as_ref()
            .map(|o| model::CredentialOptions {
                format: if o.format == CredentialFormat::DcSdJwt as i32 {
                    model::CredentialFormat::DcSdJwt
                } else {
                    model::CredentialFormat::VcJwt
                },
                validity_seconds: o.validity_seconds,
                disclose: o.disclose.clone(),
                holder_kid: Some(o.holder_kid.clone()).filter(|k| !k.is_empty()),
            }),
        actor: model::Actor {
            subject: "admin@alpha".into(),
            reason: None,
        },
    }
}
