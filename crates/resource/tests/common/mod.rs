//! Test fixture: an AS stand-in (a static axum router serving RFC 8414 metadata and the JWKS of
//! keys this fixture generates, counting its hits) and the example resource server, both over
//! real HTTPS on loopback with a development CA; a client that trusts the CA; tokens signed with
//! `sign_compact` and `typ` `at+jwt`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Duration;
use crossauthz_core::clock::{Clock, FixedClock};
use crossauthz_credentials::did_web::Jwks;
use crossauthz_credentials::jose::sign_compact;
use crossauthz_credentials::{Algorithm, SigningKey};
use crossauthz_resource::{ProtectedResource, ResourceConfig, example_router, fetch};
use crossauthz_tls::DevCa;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// The instant the fixture's clock starts at.
pub const T0: i64 = 1_750_000_000;

/// What the AS stand-in serves and how often it was asked.
#[derive(Default)]
pub struct AsState {
    pub issuer: String,
    pub jwks: RwLock<Value>,
    pub jwks_hits: AtomicUsize,
    pub metadata_hits: AtomicUsize,
    /// When set, the JWKS endpoint answers 500.
    pub broken: AtomicBool,
    /// When set, the metadata names another issuer.
    pub wrong_issuer: AtomicBool,
}

struct Server {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

fn as_router(state: Arc<AsState>) -> Router {
    let meta = state.clone();
    let keys = state;
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || {
                let s = meta.clone();
                async move {
                    s.metadata_hits.fetch_add(1, Ordering::SeqCst);
                    let issuer = if s.wrong_issuer.load(Ordering::SeqCst) {
                        "https://evil.localhost".to_owned()
                    } else {
                        s.issuer.clone()
                    };
                    axum::Json(json!({
                        "issuer": issuer,
                        "jwks_uri": format!("{}/jwks.json", s.issuer),
                        "token_endpoint": format!("{}/token", s.issuer),
                        "response_types_supported": ["code"],
                    }))
                }
            }),
        )
        .route(
            "/jwks.json",
            get(move || {
                let s = keys.clone();
                async move {
                    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
                    if s.broken.load(Ordering::SeqCst) {
                        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    }
                    let v = s.jwks.read().unwrap().clone();
                    axum::Json(v).into_response()
                }
            }),
        )
}

/// The two servers, the keys, the clock and a client.
pub struct Fixture {
    pub ca: DevCa,
    pub as_state: Arc<AsState>,
    pub as_addr: SocketAddr,
    /// The AS issuer identifier, `https://as.localhost:<port>`.
    pub issuer: String,
    /// The resource identifier, `https://mcp.localhost:<port>/mcp`.
    pub resource_id: String,
    pub rs_addr: SocketAddr,
    pub resource: ProtectedResource,
    pub clock: FixedClock,
    /// The AS's current signing key and its kid.
    pub key: SigningKey,
    pub kid: String,
    /// A client trusting the CA, resolving both host names to loopback.
    pub http: reqwest::Client,
    servers: Vec<Server>,
}

impl Fixture {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts both servers; `tweak` may change the resource configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut ResourceConfig)) -> Self {
        let ca = DevCa::generate("resource tests CA").unwrap();
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let kid = "as-key-1".to_owned();

        // The AS names its own address in its metadata: bind first, then fill in the issuer.
        let as_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let as_addr = as_listener.local_addr().unwrap();
        let issuer = format!("https://as.localhost:{}", as_addr.port());
        let as_state = Arc::new(AsState {
            issuer: issuer.clone(),
            jwks: RwLock::new(Jwks::new(vec![key.public_jwk().with_kid(&kid)]).to_json()),
            ..AsState::default()
        });
        let as_server = serve_listener(
            &ca,
            "as.localhost",
            as_listener,
            as_router(as_state.clone()),
        );

        let rs_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rs_addr = rs_listener.local_addr().unwrap();
        let resource_id = format!("https://mcp.localhost:{}/mcp", rs_addr.port());
        let mut config = ResourceConfig::new(
            Url::parse(&resource_id).unwrap(),
            vec![Url::parse(&issuer).unwrap()],
        );
        config.scopes_supported = vec!["logs:read".into(), "logs:write".into()];
        config.resource_name = Some("Example MCP server".into());
        config.extra_root_ca_pem = Some(ca.cert_pem().to_owned());
        tweak(&mut config);
        let client = fetch::client_builder(&config)
            .unwrap()
            .resolve("as.localhost", as_addr)
            .build()
            .unwrap();
        let clock = FixedClock::at_unix(T0).unwrap();
        let resource =
            ProtectedResource::with_http_client(config, client, Arc::new(clock.clone())).unwrap();
        let router = example_router(&resource).unwrap();
        let rs_server = serve_listener(&ca, "mcp.localhost", rs_listener, router);

        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap()])
            .resolve("mcp.localhost", rs_addr)
            .resolve("as.localhost", as_addr)
            .build()
            .unwrap();
        Self {
            ca,
            as_state,
            as_addr,
            issuer,
            resource_id,
            rs_addr,
            resource,
            clock,
            key,
            kid,
            http,
            servers: vec![as_server, rs_server],
        }
    }

    /// `https://mcp.localhost:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://mcp.localhost:{}{path}", self.rs_addr.port())
    }

    pub fn metadata_url(&self) -> String {
        self.url("/.well-known/oauth-protected-resource/mcp")
    }

    /// Valid claims for this resource with `scope`.
    pub fn claims(&self, scope: &str) -> Value {
        let now = self.clock.now().timestamp();
        json!({
            "iss": self.issuer,
            "sub": "https://alpha.localhost/agents/7/client-metadata.json",
            "aud": self.resource_id,
            "client_id": "https://alpha.localhost/agents/7/client-metadata.json",
            "scope": scope,
            "jti": format!("jti-{now}-{scope}"),
            "iat": now - 5,
            "exp": now + 300,
            "issuer_domain": "alpha.localhost",
        })
    }

    /// `claims` signed by the AS key, `typ` `at+jwt`.
    pub fn sign(&self, claims: &Value) -> String {
        sign_compact(&self.key, "at+jwt", Some(&self.kid), claims).unwrap()
    }

    /// A valid token with `scope`.
    pub fn token(&self, scope: &str) -> String {
        self.sign(&self.claims(scope))
    }

    /// A JSON-RPC `logs/read` call on `POST /mcp` with `token` (if any).
    pub async fn call(&self, token: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .post(self.url("/mcp"))
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "logs/read"}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub fn jwks_hits(&self) -> usize {
        self.as_state.jwks_hits.load(Ordering::SeqCst)
    }

    /// Publishes `keys` (with their kids) as the AS's JWKS.
    pub fn publish(&self, keys: &[(&SigningKey, &str)]) {
        let jwks = Jwks::new(
            keys.iter()
                .map(|(k, kid)| k.public_jwk().with_kid(*kid))
                .collect(),
        );
        *self.as_state.jwks.write().unwrap() = jwks.to_json();
    }

    pub fn advance(&self, seconds: i64) {
        self.clock.advance(Duration::seconds(seconds));
    }

    pub async fn stop(self) {
        for s in self.servers {
            let _ = s.stop.send(());
            let _ = tokio::time::timeout(std::time::Duration::from_secs(15), s.task).await;
        }
    }
}

fn serve_listener(ca: &DevCa, host: &str, listener: TcpListener, router: Router) -> Server {
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
    Server { stop, task }
}

/// The `WWW-Authenticate` header of a response.
pub fn challenge(r: &reqwest::Response) -> String {
    r.headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
