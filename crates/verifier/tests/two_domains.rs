//! Two domains on loopback (issue 7 "Done when"): domain alpha runs its real registry, issuer
//! and status-list services behind its real gateway (HTTPS with its own test CA, its own
//! PostgreSQL database) and hosts an agent; domain beta's verifier (its own database) fetches
//! the agent's CIMD, alpha's did:web document and status lists over HTTPS through the
//! SSRF-safe fetcher (test resolver for `alpha.test`), and decides: allow for the `vc+jwt` and
//! for a key-bound `dc+sd-jwt` presentation, then deny once alpha revokes / suspends the
//! credentials (effective within the lists' `ttl`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod decide_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crossauthz_core::clock::{Clock, SystemClock};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_gateway::admin_auth::AdminToken;
use crossauthz_gateway::{AppState, GatewayConfig, Upstreams};
use crossauthz_issuer::{IssuerConfig, IssuerService, MasterKey};
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::registry::registry_client::RegistryClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_registry::{RegistryConfig, RegistryService};
use crossauthz_status_list::{StatusListConfig, StatusListService};
use crossauthz_store::{Database, TrustedIssuer};
use crossauthz_testkit::{DevCa, GrpcServer, TestDatabase, channel_to};
use crossauthz_verifier::fetch::FetcherConfig;
use crossauthz_verifier::{DecideInput, codes};
use decide_support::{Agent, BETA, Beta, JWT_BEARER, MCP, assertion, now, present};
use serde_json::{Value, json};
use tonic::transport::Server;

const ADMIN_TOKEN: &str = "two-domain-test-admin-token-0123456789";

async fn free_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// Domain alpha: its services, its gateway on real HTTPS, its database.
struct AlphaDomain {
    db: Option<TestDatabase>,
    database: Database,
    base: String,
    did: String,
    addr: SocketAddr,
    ca_pem: String,
    http: reqwest::Client,
    servers: Vec<GrpcServer>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    gateway: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl AlphaDomain {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("https://alpha.test:{}", addr.port());
        let did = format!("did:web:alpha.test%3A{}", addr.port());
        let db = TestDatabase::postgres().await.unwrap();
        let database = db.connect().await.unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let issuer_addr = free_addr().await;
        let status_addr = free_addr().await;
        // A short ttl so that a revocation reaches verifiers within a second.
        let status_config = StatusListConfig {
            ttl_seconds: 1,
            ..StatusListConfig::new(base.clone())
        };
        let status = StatusListService::new(
            status_config,
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
            clock.clone(),
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
        let registry = RegistryService::new(
            RegistryConfig::new(base.parse().unwrap()),
            database.registry_store(),
            database.audit_store(),
            clock,
            channel_to(issuer_addr),
        )
        .unwrap();
        let registry_server =
            GrpcServer::start(Server::builder().add_service(registry.grpc_server()))
                .await
                .unwrap();
        let state = AppState {
            config: Arc::new(GatewayConfig {
                public_url: url::Url::parse(&base).unwrap(),
                admin_token: AdminToken::new(ADMIN_TOKEN).unwrap(),
            }),
            upstreams: Upstreams {
                registry: RegistryClient::new(channel_to(registry_server.addr())),
                issuer: IssuerClient::new(channel_to(issuer_addr)),
                status_list: StatusListClient::new(channel_to(status_addr)),
            },
        };
        let ca = DevCa::generate("alpha test CA").unwrap();
        let cert = ca.issue_server(&["alpha.test"]).unwrap();
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
            .resolve("alpha.test", addr)
            .build()
            .unwrap();
        Self {
            db: Some(db),
            database,
            base,
            did,
            addr,
            ca_pem: ca.cert_pem().to_owned(),
            http,
            servers: vec![status_server, issuer_server, registry_server],
            stop: Some(stop),
            gateway: Some(gateway),
        }
    }

    fn domain(&self) -> String {
        self.base.trim_start_matches("https://").to_owned()
    }

    async fn admin(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/admin/v1{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// Registers an agent (ES256 key) with regulated-grade claims and a vc+jwt.
    async fn agent(&self) -> (Agent, Value) {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let valid_until = (chrono::Utc::now() + chrono::TimeDelta::days(365)).to_rfc3339();
        let created = self
            .admin(
                "/agents",
                json!({
                    "name": "Compliance monitor",
                    "agentType": "tool-agent",
                    "jwks": {"keys": [key.public_jwk().to_json()]},
                    "grant_types": ["client_credentials"],
                    "claims": {
                        "authorizedScopes": ["logs:read", "status:read"],
                        "dataSensitivityClearance": "regulated",
                        "complianceAttestations": [
                            {"standard": "ISO-27001", "validUntil": valid_until},
                            {"standard": "GDPR", "validUntil": valid_until}
                        ],
                        "trustSignals": {"trustScore": 0.94, "provider": "alpha-trust", "timestamp": "2026-01-01T00:00:00Z"}
                    },
                    "credential": {"format": "vc+jwt"}
                }),
            )
            .await;
        let client_id = created["client_id"].as_str().unwrap().to_owned();
        let path = client_id.trim_start_matches(&self.base).to_owned();
        (
            Agent {
                client_id,
                key,
                path,
            },
            created,
        )
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(g) = self.gateway.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), g).await;
        }
        for s in self.servers.drain(..) {
            s.stop().await;
        }
        self.database.close().await;
        if let Some(db) = self.db.take() {
            db.cleanup().await.unwrap();
        }
    }
}

/// Beta's fetcher reaching alpha's gateway: alpha's CA only, `alpha.test` → loopback.
fn beta_fetcher(alpha: &AlphaDomain) -> FetcherConfig {
    FetcherConfig {
        allow_loopback: true,
        extra_roots_pem: Some(alpha.ca_pem.clone()),
        system_roots: false,
        system_resolver: false,
        resolve_overrides: [("alpha.test".to_owned(), vec![alpha.addr])].into(),
        cache_min: Duration::from_millis(500),
        ..FetcherConfig::default()
    }
}

#[tokio::test]
async fn two_domains_allow_then_revocation_and_suspension_deny() {
    let alpha = AlphaDomain::start().await;
    let beta = Beta::start_with(beta_fetcher(&alpha)).await;
    beta.service
        .put_trust_list(
            vec![TrustedIssuer {
                issuer: alpha.did.clone(),
                credential_types: vec!["AgentAuthorizationCredential".into()],
                issuer_domains: vec![alpha.domain()],
            }],
            Some("beta-admin"),
        )
        .await
        .unwrap();

    // vc+jwt hosted in alpha's CIMD document: allowed with the regulated scope.
    let (agent, created) = alpha.agent().await;
    let credential_id = created["credential"]["id"].as_str().unwrap().to_owned();
    let decide = |jti: &str| {
        beta.clock.set(now());
        DecideInput {
            client_id: agent.client_id.clone(),
            client_assertion: assertion(&agent, BETA, jti, beta.now()),
            client_assertion_type: JWT_BEARER.into(),
            grant_type: "client_credentials".into(),
            requested_scopes: vec!["logs:read".into()],
            resource: MCP.into(),
            ..DecideInput::default()
        }
    };
    let d = beta.decide(decide("a-1")).await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.granted_scopes, vec!["logs:read"]);
    let cred = d.credential.unwrap();
    assert_eq!(cred.issuer, alpha.did);
    assert_eq!(cred.issuer_domain, alpha.domain());
    assert!(cred.id.as_deref().unwrap().contains(&credential_id));

    // Alpha suspends the credential: within the lists' ttl beta denies, then un-suspends.
    alpha
        .admin(&format!("/credentials/{credential_id}/suspend"), json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        beta.deny_code(decide("a-2")).await,
        codes::CREDENTIAL_SUSPENDED
    );
    alpha
        .admin(
            &format!("/credentials/{credential_id}/unsuspend"),
            json!({}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(beta.decide(decide("a-3")).await.allowed);

    // Alpha revokes it: denied, for good.
    alpha
        .admin(&format!("/credentials/{credential_id}/revoke"), json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        beta.deny_code(decide("a-4")).await,
        codes::CREDENTIAL_REVOKED
    );

    // dc+sd-jwt issued by alpha's registry, presented with a KB-JWT for beta: allowed through
    // alpha's Token Status List.
    let (sd_agent, created) = alpha.agent().await;
    let id = created["id"].as_str().unwrap();
    let issued = alpha
        .admin(
            &format!("/agents/{id}/credentials"),
            json!({"format": "dc+sd-jwt", "disclose": ["/trustSignals"]}),
        )
        .await;
    let sd = issued["credential"].as_str().unwrap();
    beta.clock.set(now());
    let input = DecideInput {
        client_id: sd_agent.client_id.clone(),
        client_assertion: assertion(&sd_agent, BETA, "sd-1", beta.now()),
        client_assertion_type: JWT_BEARER.into(),
        grant_type: "client_credentials".into(),
        requested_scopes: vec!["logs:read".into()],
        resource: MCP.into(),
        presentation: present(sd, &sd_agent, BETA, "nonce-xyz", beta.now()),
        presentation_nonce: "nonce-xyz".into(),
        ..DecideInput::default()
    };
    let d = beta.decide(input).await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.credential.unwrap().format.as_str(), "dc+sd-jwt");

    // Every decision of beta is in beta's audit log; none in alpha's.
    let decisions = beta
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == "grant.decision")
        .count();
    assert_eq!(decisions, 5);
    beta.finish().await;
    alpha.stop().await;
}
