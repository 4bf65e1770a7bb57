//! A domain behind its gateway for the registry route tests: PostgreSQL, the real registry,
//! issuer and status-list services over gRPC on loopback (one fixed clock), and the gateway
//! serving real HTTPS with a test CA at `https://alpha.localhost:<port>`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::DateTime;
use crossauthz_core::clock::{Clock, FixedClock};
use crossauthz_credentials::did_web::DidDocument;
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_gateway::admin_auth::AdminToken;
use crossauthz_gateway::{AppState, GatewayConfig, Upstreams};
use crossauthz_issuer::{IssuerConfig, IssuerService, MasterKey};
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::registry::registry_client::RegistryClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_registry::{RegistryConfig, RegistryService};
use crossauthz_status_list::{StatusListConfig, StatusListService};
use crossauthz_store::{AuditFilter, Database};
use crossauthz_testkit::TracedChannel;
use crossauthz_testkit::{DevCa, GrpcServer, TestDatabase, channel_to};
use serde_json::{Value, json};
use tonic::transport::Server;

pub const ADMIN_TOKEN: &str = "registry-route-tests-admin-token-0123456789";

async fn free_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

pub struct Stack {
    db: Option<TestDatabase>,
    pub database: Database,
    pub clock: FixedClock,
    pub base: String,
    pub did: String,
    pub http: reqwest::Client,
    pub issuer_addr: SocketAddr,
    pub registry_addr: SocketAddr,
    registry_service: RegistryService,
    issuer_server: Option<GrpcServer>,
    status_server: Option<GrpcServer>,
    registry_server: Option<GrpcServer>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    gateway: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Stack {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let https_addr = listener.local_addr().unwrap();
        let base = format!("https://alpha.localhost:{}", https_addr.port());
        let did = format!("did:web:alpha.localhost%3A{}", https_addr.port());

        let db = TestDatabase::postgres().await.unwrap();
        let database = db.connect().await.unwrap();
        let clock = FixedClock::new(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let issuer_addr = free_addr().await;
        let status_addr = free_addr().await;
        let status = StatusListService::new(
            StatusListConfig::new(base.clone()),
            database.status_store(),
            database.audit_store(),
            shared.clone(),
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
            IssuerConfig::new(base.clone()),
            MasterKey::generate(),
            database.issuer_store(),
            database.audit_store(),
            shared.clone(),
            StatusListClient::new(channel_to(status_addr)),
        )
        .await
        .unwrap();
        let issuer_server = GrpcServer::start_on(
            issuer_addr,
            Server::builder().add_service(issuer.grpc_server()),
        )
        .await
        .unwrap();
        let registry_service = RegistryService::new(
            RegistryConfig::new(base.parse().unwrap()),
            database.registry_store(),
            database.audit_store(),
            shared,
            channel_to(issuer_addr),
        )
        .unwrap();
        let registry_server = GrpcServer::start(
            Server::builder().add_service(registry_service.clone().grpc_server()),
        )
        .await
        .unwrap();
        let registry_addr = registry_server.addr();

        let state = AppState {
            config: Arc::new(GatewayConfig {
                public_url: url::Url::parse(&base).unwrap(),
                admin_token: AdminToken::new(ADMIN_TOKEN).unwrap(),
            }),
            upstreams: Upstreams {
                registry: RegistryClient::new(channel_to(registry_addr)),
                issuer: IssuerClient::new(channel_to(issuer_addr)),
                status_list: StatusListClient::new(channel_to(status_addr)),
            },
        };
        let ca = DevCa::generate("registry route tests CA").unwrap();
        let cert = ca.issue_server(&["alpha.localhost"]).unwrap();
        let tls = crossauthz_tls::server_config(&cert.chain_pem, &cert.key_pem).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let gateway = tokio::spawn(crossauthz_gateway::tls::serve_tls(
            listener,
            tls,
            crossauthz_gateway::router(state),
            async move {
                let _ = stopped.await;
            },
        ));
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap()])
            .resolve("alpha.localhost", https_addr)
            .build()
            .unwrap();
        Self {
            db: Some(db),
            database,
            clock,
            base,
            did,
            http,
            issuer_addr,
            registry_addr,
            registry_service,
            issuer_server: Some(issuer_server),
            status_server: Some(status_server),
            registry_server: Some(registry_server),
            stop: Some(stop),
            gateway: Some(gateway),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn issuer(&self) -> IssuerClient<TracedChannel> {
        IssuerClient::new(channel_to(self.issuer_addr))
    }

    pub async fn stop_registry(&mut self) {
        if let Some(s) = self.registry_server.take() {
            s.stop().await;
        }
    }

    pub async fn start_registry(&mut self) {
        self.registry_server = Some(
            GrpcServer::start_on(
                self.registry_addr,
                Server::builder().add_service(self.registry_service.clone().grpc_server()),
            )
            .await
            .unwrap(),
        );
    }

    pub async fn stop_issuer(&mut self) {
        if let Some(s) = self.issuer_server.take() {
            s.stop().await;
        }
    }

    /// The domain's did.json, fetched over HTTPS from the gateway as a foreign verifier would.
    pub async fn did_document(&self) -> DidDocument {
        let doc: Value = self
            .http
            .get(self.url("/.well-known/did.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        DidDocument::parse(&doc, &self.did).unwrap()
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

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(&format!("/admin/v1{path}")))
            .bearer_auth(ADMIN_TOKEN)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(g) = self.gateway.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(15), g).await;
        }
        self.stop_registry().await;
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

/// An agent key pair with a kid.
pub fn agent_key(kid: &str) -> (SigningKey, Value) {
    let k = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let mut jwk = k.public_jwk().to_json();
    jwk["kid"] = json!(kid);
    (k, jwk)
}

/// A valid `POST /admin/v1/agents` body.
pub fn agent_body(jwk: &Value) -> Value {
    json!({
        "name": "Log reader",
        "agentType": "tool-agent",
        "jwks": {"keys": [jwk]},
        "grant_types": ["client_credentials"],
        "claims": {"authorizedScopes": ["logs:read"], "agentName": "Log reader"}
    })
}
