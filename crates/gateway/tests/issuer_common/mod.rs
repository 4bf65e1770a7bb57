//! A domain behind its gateway for the issuer route tests: PostgreSQL, the real issuer and
//! status-list services over gRPC on loopback, and the gateway serving real HTTPS with a test CA
//! at `https://alpha.localhost:<port>`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use crossauthz_core::clock::{Clock, SystemClock};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_gateway::admin_auth::AdminToken;
use crossauthz_gateway::{AppState, GatewayConfig, Upstreams};
use crossauthz_issuer::{IssuerConfig, IssuerService, MasterKey};
use crossauthz_proto::common::{Actor, CredentialFormat};
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::issuer::{Credential, IssueCredentialRequest};
use crossauthz_proto::registry::registry_client::RegistryClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_status_list::{StatusListConfig, StatusListService};
use crossauthz_store::{AuditFilter, Database};
use crossauthz_testkit::TracedChannel;
use crossauthz_testkit::{DevCa, GrpcServer, TestDatabase, channel_to};
use serde_json::{Value, json};
use tonic::transport::Server;

pub const ADMIN_TOKEN: &str = "issuer-route-tests-admin-token-0123456789";

async fn free_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

pub struct Stack {
    db: Option<TestDatabase>,
    pub database: Database,
    pub base: String,
    pub did: String,
    pub http: reqwest::Client,
    pub issuer_addr: SocketAddr,
    issuer_server: Option<GrpcServer>,
    status_server: Option<GrpcServer>,
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
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let issuer_addr = free_addr().await;
        let status_addr = free_addr().await;
        let status = StatusListService::new(
            StatusListConfig::new(base.clone()),
            database.status_store(),
            database.audit_store(),
            clock.clone(),
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
            clock,
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

        let state = AppState {
            config: Arc::new(GatewayConfig {
                public_url: url::Url::parse(&base).unwrap(),
                admin_token: AdminToken::new(ADMIN_TOKEN).unwrap(),
            }),
            upstreams: Upstreams {
                // Not called by these routes: a lazy channel to a port nobody listens on.
                registry: RegistryClient::new(channel_to(free_addr().await)),
                issuer: IssuerClient::new(channel_to(issuer_addr)),
                status_list: StatusListClient::new(channel_to(status_addr)),
            },
        };
        let ca = DevCa::generate("issuer route tests CA").unwrap();
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
            base,
            did,
            http,
            issuer_addr,
            issuer_server: Some(issuer_server),
            status_server: Some(status_server),
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

    /// Issues a credential over gRPC (as the registry would).
    pub async fn issue(&self, format: CredentialFormat) -> Credential {
        let holder = SigningKey::generate(Algorithm::EdDSA).unwrap();
        self.issuer()
            .issue_credential(IssueCredentialRequest {
                agent_id: uuid::Uuid::new_v4().to_string(),
                subject: format!("{}/agents/1/client-metadata.json", self.base),
                claims_json: json!({
                    "agentType": "tool-agent",
                    "authorizedScopes": ["logs:read"],
                    "trustSignals": {"trustScore": 0.5, "provider": "p", "timestamp": "2026-01-01T00:00:00Z"}
                })
                .to_string(),
                holder_jwk_json: holder.public_jwk().to_json().to_string(),
                format: format as i32,
                validity_seconds: 0,
                disclose: if format == CredentialFormat::DcSdJwt {
                    vec!["/trustSignals".into()]
                } else {
                    vec![]
                },
                actor: Some(Actor {
                    subject: "registry".into(),
                    reason: String::new(),
                }),
            })
            .await
            .unwrap()
            .into_inner()
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

    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap())
    }

    pub async fn post_json(&self, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut req = self.http.post(self.url(path)).bearer_auth(ADMIN_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(g) = self.gateway.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(15), g).await;
        }
        if let Some(s) = self.issuer_server.take() {
            s.stop().await;
        }
        if let Some(s) = self.status_server.take() {
            s.stop().await;
        }
        self.database.close().await;
        if let Some(db) = self.db.take() {
            db.cleanup().await.unwrap();
        }
    }
}
