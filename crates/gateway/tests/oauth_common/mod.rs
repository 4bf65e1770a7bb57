//! Two domains on loopback for the OAuth flow tests (issue 5 "Done when"), all over real HTTPS
//! with one test CA:
//! - **alpha** (`https://alpha.test:<port>`): its own PostgreSQL database, registry, issuer and
//!   status-list services behind its gateway; hosts agents' CIMD documents and credentials.
//! - **beta** (`https://beta.test:<port>`), the Authorization Server: its own database, issuer
//!   and status-list (it signs access tokens and publishes its JWKS), verifier (fetches alpha's
//!   documents, DID, status lists through the SSRF-safe fetcher with loopback allowed), and the
//!   gateway with the OAuth routes and the development login.
//! - **client.test**: a static site hosting a public MCP client's CIMD (auth method `none`,
//!   localhost redirect).
//! - **mcp.beta.test**: the example resource server (`crossauthz_resource::example_router`)
//!   validating beta's tokens offline against beta's JWKS.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crossauthz_core::clock::{Clock, SystemClock};
use crossauthz_credentials::jose::{JoseHeader, sign_with_header};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_gateway::admin_auth::AdminToken;
use crossauthz_gateway::oauth::login::{self, DevUser};
use crossauthz_gateway::oauth::{OAuthConfig, OAuthParts, OAuthState};
use crossauthz_gateway::{AppState, GatewayConfig, Upstreams};
use crossauthz_issuer::{IssuerConfig, IssuerService, MasterKey};
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::registry::registry_client::RegistryClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_registry::{RegistryConfig, RegistryService};
use crossauthz_resource::{ProtectedResource, ResourceConfig, example_router, fetch};
use crossauthz_status_list::{StatusListConfig, StatusListService};
use crossauthz_store::{AuditEvent, AuditFilter, Database, Resource, TrustedIssuer};
use crossauthz_testkit::{DevCa, GrpcServer, TestDatabase, channel_to};
use crossauthz_verifier::fetch::FetcherConfig;
use crossauthz_verifier::{VerifierConfig, VerifierService};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Server;

/// Admin token of both domains.
pub const ADMIN: &str = "oauth-flow-tests-admin-token-0123456789";
/// The development user of beta's login.
pub const DEV_USER: &str = "dev-user-1";
/// RFC 7523 assertion type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The public client's redirect URI (localhost: the consent page warns).
pub const REDIRECT: &str = "http://127.0.0.1:33418/callback";
/// The public client's logo (a 1×1 PNG), served at `<client site>/oauth/logo.png` (C13).
pub const CLIENT_LOGO_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// What the public client's site serves: its document (`None` = 404) and how often its logo
/// was fetched.
#[derive(Default)]
pub struct ClientSite {
    document: Mutex<Option<Value>>,
    logo_hits: AtomicUsize,
}

async fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// A running HTTPS server.
struct Https {
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Https {
    fn serve(ca: &DevCa, host: &str, listener: TcpListener, router: Router) -> Self {
        let cert = ca.issue_server(&[host]).unwrap();
        let tls = crossauthz_tls::server_config(&cert.chain_pem, &cert.key_pem).unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crossauthz_gateway::tls::serve_tls(
            listener,
            tls,
            router,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

/// Issuer + status-list of a domain on its database.
async fn signing_services(
    base: &str,
    database: &Database,
    clock: Arc<dyn Clock>,
) -> (SocketAddr, SocketAddr, Vec<GrpcServer>) {
    let issuer_addr = free_addr().await;
    let status_addr = free_addr().await;
    let status = StatusListService::new(
        StatusListConfig {
            ttl_seconds: 1,
            ..StatusListConfig::new(base.to_owned())
        },
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
        IssuerConfig::new(base.to_owned()),
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
    (issuer_addr, status_addr, vec![status_server, issuer_server])
}

fn app_state(base: &str, issuer: SocketAddr, status: SocketAddr, registry: SocketAddr) -> AppState {
    AppState {
        config: Arc::new(GatewayConfig {
            public_url: url::Url::parse(base).unwrap(),
            admin_token: AdminToken::new(ADMIN).unwrap(),
        }),
        upstreams: Upstreams {
            registry: RegistryClient::new(channel_to(registry)),
            issuer: IssuerClient::new(channel_to(issuer)),
            status_list: StatusListClient::new(channel_to(status)),
        },
    }
}

/// An agent of alpha: its client_id and key.
#[derive(Clone, Debug)]
pub struct Agent {
    /// The hosted CIMD URL.
    pub client_id: String,
    /// Its private key.
    pub key: SigningKey,
    /// The credential id alpha issued.
    pub credential_id: String,
}

/// Both domains, the client site and the resource server.
pub struct World {
    /// The CA every site uses.
    pub ca_pem: String,
    /// `https://alpha.test:<port>`.
    pub alpha: String,
    /// alpha's DID.
    pub alpha_did: String,
    /// `https://beta.test:<port>`: the AS issuer.
    pub beta: String,
    /// The resource identifier `https://mcp.beta.test:<port>/mcp`.
    pub resource: String,
    /// The public client's client_id.
    pub public_client: String,
    /// The public client's site (its document can be changed or removed).
    pub client_site: Arc<ClientSite>,
    /// A client trusting the CA, resolving every test host to loopback, not following redirects.
    pub http: reqwest::Client,
    /// beta's verifier (for settings).
    pub verifier: VerifierService,
    /// beta's database.
    pub beta_db: Database,
    alpha_db: Database,
    dbs: Vec<TestDatabase>,
    servers: Vec<GrpcServer>,
    sites: Vec<Https>,
}

/// The host names of the four sites.
#[derive(Debug, Clone)]
pub struct Hosts {
    /// Domain alpha.
    pub alpha: &'static str,
    /// Domain beta (the AS).
    pub beta: &'static str,
    /// The public client's site.
    pub client: &'static str,
    /// The resource server.
    pub rs: &'static str,
}

impl Hosts {
    /// `alpha.test`, `beta.test`, `client.test`, `mcp.beta.test` (resolved by the test clients).
    pub const TEST: Hosts = Hosts {
        alpha: "alpha.test",
        beta: "beta.test",
        client: "client.test",
        rs: "mcp.beta.test",
    };
    /// Every site on `localhost` (distinct ports), for clients that use the system resolver.
    pub const LOCALHOST: Hosts = Hosts {
        alpha: "localhost",
        beta: "localhost",
        client: "localhost",
        rs: "localhost",
    };

    fn is_localhost(&self) -> bool {
        self.beta == "localhost"
    }
}

/// A world with the default OAuth configuration; the verifier re-reads its settings on every
/// decision.
pub async fn start() -> World {
    start_with(OAuthConfig::default(), 0).await
}

/// Starts everything on the `.test` hosts; `config.dev_login` is set to [`DEV_USER`]; the
/// verifier keeps its settings for `settings_refresh_seconds`.
pub async fn start_with(config: OAuthConfig, settings_refresh_seconds: u64) -> World {
    start_on(Hosts::TEST, config, settings_refresh_seconds).await
}

/// Starts everything on `hosts`.
pub async fn start_on(
    hosts: Hosts,
    mut config: OAuthConfig,
    settings_refresh_seconds: u64,
) -> World {
    let ca = DevCa::generate("oauth flow tests CA").unwrap();
    let ca_pem = ca.cert_pem().to_owned();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut servers = Vec::new();
    let mut sites = Vec::new();
    let mut dbs = Vec::new();

    // Listeners first: every URL names its port.
    let alpha_l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let beta_l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client_l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rs_l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (alpha_addr, beta_addr, client_addr, rs_addr) = (
        alpha_l.local_addr().unwrap(),
        beta_l.local_addr().unwrap(),
        client_l.local_addr().unwrap(),
        rs_l.local_addr().unwrap(),
    );
    let alpha = format!("https://{}:{}", hosts.alpha, alpha_addr.port());
    let alpha_did = format!("did:web:{}%3A{}", hosts.alpha, alpha_addr.port());
    let beta = format!("https://{}:{}", hosts.beta, beta_addr.port());
    let resource = format!("https://{}:{}/mcp", hosts.rs, rs_addr.port());
    let client_base = format!("https://{}:{}", hosts.client, client_addr.port());
    let public_client = format!("{client_base}/oauth/client-metadata.json");

    // Alpha: registry, issuer, status-list, gateway.
    let adb = TestDatabase::postgres().await.unwrap();
    let alpha_db = adb.connect().await.unwrap();
    dbs.push(adb);
    let (a_issuer, a_status, mut s) = signing_services(&alpha, &alpha_db, clock.clone()).await;
    servers.append(&mut s);
    let registry = RegistryService::new(
        RegistryConfig::new(alpha.parse().unwrap()),
        alpha_db.registry_store(),
        alpha_db.audit_store(),
        clock.clone(),
        channel_to(a_issuer),
    )
    .unwrap();
    let registry_server = GrpcServer::start(Server::builder().add_service(registry.grpc_server()))
        .await
        .unwrap();
    let a_state = app_state(&alpha, a_issuer, a_status, registry_server.addr());
    servers.push(registry_server);
    sites.push(Https::serve(
        &ca,
        hosts.alpha,
        alpha_l,
        crossauthz_gateway::router(a_state),
    ));

    // The public MCP client's own site: its document and its logo.
    let client_site = Arc::new(ClientSite::default());
    *client_site.document.lock().unwrap() = Some(public_client_document(&public_client));
    let doc_site = Arc::clone(&client_site);
    let logo_site = Arc::clone(&client_site);
    let client_router = Router::new()
        .route(
            "/oauth/client-metadata.json",
            get(move || {
                let doc = doc_site.document.lock().unwrap().clone();
                async move {
                    match doc {
                        Some(doc) => (
                            [
                                (header::CONTENT_TYPE, "application/json"),
                                (header::CACHE_CONTROL, "max-age=60"),
                            ],
                            doc.to_string(),
                        )
                            .into_response(),
                        None => axum::http::StatusCode::NOT_FOUND.into_response(),
                    }
                }
            }),
        )
        .route(
            "/oauth/logo.png",
            get(move || {
                logo_site.logo_hits.fetch_add(1, Ordering::SeqCst);
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "image/png"),
                            (header::CACHE_CONTROL, "max-age=600"),
                        ],
                        CLIENT_LOGO_PNG,
                    )
                        .into_response()
                }
            }),
        );
    sites.push(Https::serve(&ca, hosts.client, client_l, client_router));

    // Beta: issuer, status-list, verifier, gateway with the Authorization Server.
    let bdb = TestDatabase::postgres().await.unwrap();
    let beta_db = bdb.connect().await.unwrap();
    dbs.push(bdb);
    let (b_issuer, b_status, mut s) = signing_services(&beta, &beta_db, clock.clone()).await;
    servers.append(&mut s);
    let mut vconfig = VerifierConfig::for_issuer(beta.clone());
    vconfig.settings_refresh_seconds = settings_refresh_seconds;
    vconfig.fetcher = FetcherConfig {
        allow_loopback: true,
        extra_roots_pem: Some(ca_pem.clone()),
        system_roots: false,
        system_resolver: false,
        resolve_overrides: if hosts.is_localhost() {
            Default::default()
        } else {
            [
                (hosts.alpha.to_owned(), vec![alpha_addr]),
                (hosts.client.to_owned(), vec![client_addr]),
            ]
            .into()
        },
        resolve_localhost_names: hosts.is_localhost(),
        ..FetcherConfig::default()
    };
    let verifier = VerifierService::new(
        vconfig,
        beta_db.verifier_store(),
        beta_db.audit_store(),
        clock.clone(),
    )
    .unwrap();
    verifier
        .put_trust_list(
            vec![TrustedIssuer {
                issuer: alpha_did.clone(),
                credential_types: vec!["AgentAuthorizationCredential".into()],
                issuer_domains: vec![alpha.trim_start_matches("https://").to_owned()],
            }],
            Some("beta-admin"),
        )
        .await
        .unwrap();
    verifier
        .put_policies(
            crossauthz_verifier::policy::EXAMPLE_POLICIES,
            Some("beta-admin"),
        )
        .await
        .unwrap();
    verifier
        .put_resources(
            vec![Resource {
                resource: resource.clone(),
                scopes: vec!["logs:read".into(), "status:read".into()],
                attributes: json!({"sensitivity": "internal", "openScopes": ["logs:read"]}),
            }],
            Some("beta-admin"),
        )
        .await
        .unwrap();
    let verifier_server =
        GrpcServer::start(Server::builder().add_service(verifier.clone().grpc_server()))
            .await
            .unwrap();
    let b_state = app_state(&beta, b_issuer, b_status, free_addr().await);
    config.dev_login = Some(DevUser {
        subject: DEV_USER.into(),
        name: Some("Dev User".into()),
    });
    let users = login::from_config(&config);
    let oauth = OAuthState::new(
        &b_state,
        OAuthParts {
            config,
            verifier: VerifierClient::new(verifier_server.channel()),
            store: beta_db.oauth_store(),
            audit: beta_db.audit_store(),
            clock: clock.clone(),
            users,
        },
    )
    .unwrap();
    servers.push(verifier_server);
    sites.push(Https::serve(
        &ca,
        hosts.beta,
        beta_l,
        crossauthz_gateway::router_with_oauth(b_state, oauth),
    ));

    // The resource server, trusting beta as its AS.
    let mut rconfig = ResourceConfig::new(
        url::Url::parse(&resource).unwrap(),
        vec![url::Url::parse(&beta).unwrap()],
    );
    rconfig.extra_root_ca_pem = Some(ca_pem.clone());
    rconfig.scopes_supported = vec!["logs:read".into(), "status:read".into()];
    let rs_client = fetch::client_builder(&rconfig)
        .unwrap()
        .resolve(hosts.beta, beta_addr)
        .build()
        .unwrap();
    let protected = ProtectedResource::with_http_client(rconfig, rs_client, clock).unwrap();
    sites.push(Https::serve(
        &ca,
        hosts.rs,
        rs_l,
        example_router(&protected).unwrap(),
    ));

    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .resolve(hosts.alpha, alpha_addr)
        .resolve(hosts.beta, beta_addr)
        .resolve(hosts.client, client_addr)
        .resolve(hosts.rs, rs_addr)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    World {
        ca_pem,
        alpha,
        alpha_did,
        beta,
        resource,
        public_client,
        client_site,
        http,
        verifier,
        beta_db,
        alpha_db,
        dbs,
        servers,
        sites,
    }
}

/// The public client's document: auth method `none`, a localhost redirect, code and refresh
/// grants, a logo on its own site.
pub fn public_client_document(client_id: &str) -> Value {
    let logo = client_id.replace("/oauth/client-metadata.json", "/oauth/logo.png");
    json!({
        "client_id": client_id,
        "client_name": "Example MCP client",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "logo_uri": logo,
    })
}

impl World {
    /// Serves `document` as the public client's document (`None`: 404) and drops beta's cached
    /// copy, as if its cache lifetime had ended.
    pub fn set_public_client_document(&self, document: Option<Value>) {
        *self.client_site.document.lock().unwrap() = document;
        self.verifier.fetcher().invalidate(&self.public_client);
    }

    /// How often the public client's logo was fetched.
    pub fn client_logo_hits(&self) -> usize {
        self.client_site.logo_hits.load(Ordering::SeqCst)
    }

    /// Registers an alpha agent (ES256 key, `vc+jwt` credential in its CIMD).
    pub async fn agent(&self) -> Agent {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let valid_until = (chrono::Utc::now() + chrono::TimeDelta::days(365)).to_rfc3339();
        let r = self
            .http
            .post(format!("{}/admin/v1/agents", self.alpha))
            .bearer_auth(ADMIN)
            .json(&json!({
                "name": "Log reader",
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
            }))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{status} {v}");
        Agent {
            client_id: v["client_id"].as_str().unwrap().to_owned(),
            key,
            credential_id: v["credential"]["id"].as_str().unwrap().to_owned(),
        }
    }

    /// A fresh client assertion by `agent` for beta (`aud` = beta's issuer, P3).
    pub fn assertion(&self, agent: &Agent) -> String {
        self.assertion_for(agent, &self.beta)
    }

    /// A client assertion with a given audience.
    pub fn assertion_for(&self, agent: &Agent, aud: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let header = JoseHeader::new(
            agent.key.algorithm(),
            "client-authentication+jwt",
            agent.key.public_jwk().kid(),
        );
        sign_with_header(
            &agent.key,
            &header,
            &json!({
                "iss": agent.client_id, "sub": agent.client_id, "aud": aud,
                "iat": now, "exp": now + 120, "jti": uuid::Uuid::new_v4().to_string(),
            }),
        )
        .unwrap()
    }

    /// POSTs a form to beta.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = form_encode(form);
        self.http
            .post(format!("{}{path}", self.beta))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// A client_credentials token request by `agent` for `scope` on `resource`.
    pub async fn client_credentials(
        &self,
        agent: &Agent,
        scope: &str,
        resource: &str,
    ) -> (reqwest::StatusCode, Value) {
        let assertion = self.assertion(agent);
        let r = self
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &agent.client_id),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", &assertion),
                    ("scope", scope),
                    ("resource", resource),
                ],
            )
            .await;
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Calls the example resource server's `logs/read` with `token`.
    pub async fn call_resource(&self, token: &str) -> reqwest::Response {
        self.http
            .post(&self.resource)
            .bearer_auth(token)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "logs/read"}))
            .send()
            .await
            .unwrap()
    }

    /// beta's audit events of `kind`.
    pub async fn beta_events(&self, kind: &str) -> Vec<AuditEvent> {
        self.beta_db
            .audit_store()
            .list(&AuditFilter {
                kind: Some(kind.to_owned()),
                limit: 1000,
                ..AuditFilter::default()
            })
            .await
            .unwrap()
    }

    /// Stops everything and drops both databases.
    pub async fn stop(mut self) {
        for s in self.sites.drain(..) {
            s.stop().await;
        }
        for s in self.servers.drain(..) {
            s.stop().await;
        }
        self.alpha_db.close().await;
        self.beta_db.close().await;
        for db in self.dbs.drain(..) {
            db.cleanup().await.unwrap();
        }
    }
}

/// `application/x-www-form-urlencoded` of `pairs`.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2), computed independently of the
/// gateway's code.
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The claims of a JWT (unverified; for assertions about what was issued).
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The query parameters of a `Location`.
pub fn location_params(r: &reqwest::Response) -> (String, Vec<(String, String)>) {
    let loc = r
        .headers()
        .get(header::LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned();
    let url = url::Url::parse(&loc).unwrap();
    let params = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (loc, params)
}

/// The value of `name` among `params`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
