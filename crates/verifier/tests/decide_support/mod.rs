//! Test support for the decision pipeline: a programmable HTTPS site on loopback (test CA,
//! test resolver for `alpha.test` and friends), a test domain "alpha" that publishes its
//! did:web document, agents' CIMD documents, credentials and status lists, and the "beta"
//! verifier under test on its own PostgreSQL database.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode};
use chrono::{DateTime, TimeDelta, Utc};
use crossauthz_core::client_id::ClientIdUrl;
use crossauthz_core::clock::{Clock, FixedClock};
use crossauthz_core::profile::{
    AgentClaims, AgentType, BitstringStatusRef, Clearance, ComplianceAttestation, SdJwtVcInput,
    TokenStatusRef, TrustSignals, VcDocumentInput, to_sd_jwt_vc_claims, to_vc_document,
};
use crossauthz_core::scope::ScopeSet;
use crossauthz_credentials::did_web::{did_document, method_id};
use crossauthz_credentials::jose::{JoseHeader, sign_with_header};
use crossauthz_credentials::keys::{Algorithm, PublicJwk, SigningKey};
use crossauthz_credentials::sd_jwt::{self, IssueOptions, KeyBindingInput};
use crossauthz_credentials::status::{
    BitstringStatusListCredential, CredentialState, StatusListTokenClaims, StatusPurpose,
    StatusRegistryView, sign_status_list_token,
};
use crossauthz_credentials::vc_jwt;
use crossauthz_store::{AuditEvent, AuditFilter, AuditStore, Resource, TrustedIssuer};
use crossauthz_testkit::{DevCa, TestDatabase};
use crossauthz_verifier::fetch::FetcherConfig;
use crossauthz_verifier::{DecideInput, Decision, VerifierConfig, VerifierService};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The verifier's issuer identifier (domain beta).
pub const BETA: &str = "https://beta.test";
/// The regulated resource.
pub const MCP: &str = "https://mcp.beta.test/mcp";
/// An internal-sensitivity resource.
pub const TOOLS: &str = "https://tools.beta.test/mcp";
/// Host names the test resolver maps to the site.
pub const HOSTS: &[&str] = &["alpha.test", "evil.test", "gamma.test"];
/// jwt-bearer.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// One programmed answer.
#[derive(Clone, Debug)]
pub struct Route {
    /// HTTP status.
    pub status: u16,
    /// Content-Type (none if empty).
    pub content_type: String,
    /// Body.
    pub body: Vec<u8>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
}

impl Route {
    /// 200 with a JSON body.
    pub fn json(v: &Value) -> Self {
        Self {
            status: 200,
            content_type: "application/json".into(),
            body: serde_json::to_vec(v).unwrap(),
            headers: vec![("cache-control".into(), "max-age=300".into())],
        }
    }

    /// 200 with a body of the given type.
    pub fn typed(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            content_type: content_type.into(),
            body: body.into(),
            headers: vec![("cache-control".into(), "max-age=300".into())],
        }
    }

    /// A bare status.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            content_type: String::new(),
            body: Vec::new(),
            headers: Vec::new(),
        }
    }
}

#[derive(Default)]
struct SiteState {
    routes: Mutex<HashMap<String, Route>>,
    hits: Mutex<HashMap<String, usize>>,
}

/// An HTTPS site on 127.0.0.1 serving programmed routes for every test host name.
pub struct Site {
    /// The listening address.
    pub addr: SocketAddr,
    /// The CA that signed its certificate.
    pub ca_pem: String,
    state: Arc<SiteState>,
    stop: Option<oneshot::Sender<()>>,
}

impl Site {
    /// Starts the site.
    pub async fn start() -> Self {
        let ca = DevCa::generate("crossauthz verifier test CA").unwrap();
        let cert = ca.issue_server(HOSTS).unwrap();
        let tls = crossauthz_tls::server_config(&cert.chain_pem, &cert.key_pem).unwrap();
        let state = Arc::new(SiteState::default());
        let handler_state = Arc::clone(&state);
        let router = Router::new().fallback(move |req: Request<Body>| {
            let state = Arc::clone(&handler_state);
            async move { answer(&state, req.uri().path(), req.headers()) }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(crossauthz_gateway::tls::serve_tls(
            listener,
            tls,
            router,
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            ca_pem: ca.cert_pem().to_owned(),
            state,
            stop: Some(stop),
        }
    }

    /// Programs `path`.
    pub fn set(&self, path: &str, route: Route) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), route);
    }

    /// Requests received for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received in total.
    pub fn total_hits(&self) -> usize {
        self.state.hits.lock().unwrap().values().sum()
    }

    /// A fetcher configuration that reaches this site (loopback allowed, test CA only, no
    /// system resolver: nothing but loopback is ever contacted).
    pub fn fetcher_config(&self, allow_loopback: bool) -> FetcherConfig {
        FetcherConfig {
            allow_loopback,
            extra_roots_pem: Some(self.ca_pem.clone()),
            system_roots: false,
            system_resolver: false,
            resolve_overrides: HOSTS
                .iter()
                .map(|h| ((*h).to_owned(), vec![self.addr]))
                .collect(),
            connect_timeout: std::time::Duration::from_secs(2),
            read_timeout: std::time::Duration::from_secs(2),
            total_timeout: std::time::Duration::from_secs(4),
            cache_min: std::time::Duration::from_secs(1),
            ..FetcherConfig::default()
        }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn answer(state: &SiteState, path: &str, _headers: &HeaderMap) -> Response<Body> {
    *state
        .hits
        .lock()
        .unwrap()
        .entry(path.to_owned())
        .or_default() += 1;
    let route = state.routes.lock().unwrap().get(path).cloned();
    let Some(route) = route else {
        return Response::builder().status(404).body(Body::empty()).unwrap();
    };
    let mut b = Response::builder().status(StatusCode::from_u16(route.status).unwrap());
    if !route.content_type.is_empty() {
        b = b.header("content-type", route.content_type);
    }
    for (k, v) in route.headers {
        b = b.header(k, v);
    }
    b.body(Body::from(route.body)).unwrap()
}

/// An agent of domain alpha.
#[derive(Clone, Debug)]
pub struct Agent {
    /// Its client_id.
    pub client_id: String,
    /// Its signing key.
    pub key: SigningKey,
    /// The path of its document on the site.
    pub path: String,
}

impl Agent {
    /// The public key as published (with kid = thumbprint).
    pub fn public(&self) -> PublicJwk {
        self.key.public_jwk()
    }
}

/// How to issue a credential.
#[derive(Clone, Debug)]
pub struct VcOptions {
    /// Status index.
    pub index: u64,
    /// The subject (default the agent's client_id).
    pub subject: Option<String>,
    /// The holder key (default the agent's key).
    pub holder: Option<PublicJwk>,
    /// Validity start relative to now.
    pub from: TimeDelta,
    /// Validity end relative to now.
    pub until: TimeDelta,
    /// Sign with this key instead of the issuer's (keeping the issuer's kid).
    pub forge_with: Option<SigningKey>,
    /// Claimed issuer domain.
    pub issuer_domain: String,
}

impl VcOptions {
    /// Defaults: index, valid from an hour ago for a day.
    pub fn index(index: u64) -> Self {
        Self {
            index,
            subject: None,
            holder: None,
            from: TimeDelta::hours(-1),
            until: TimeDelta::hours(24),
            forge_with: None,
            issuer_domain: "alpha.test".into(),
        }
    }
}

/// Domain alpha: its issuer key, did:web document and status lists on the site.
pub struct Alpha {
    /// `did:web:alpha.test`.
    pub did: String,
    /// The issuer key.
    pub key: SigningKey,
    /// The issuer key's DID URL.
    pub kid: String,
    /// State per status index.
    pub states: Mutex<Vec<CredentialState>>,
}

/// The claims every test agent gets (regulated clearance, valid ISO-27001 + GDPR, score 0.94).
pub fn regulated_claims(now: DateTime<Utc>, domain: &str) -> AgentClaims {
    let mut c = AgentClaims::new(
        AgentType::ToolAgent,
        ScopeSet::parse("logs:read status:read").unwrap(),
        domain,
    );
    c.agent_name = Some("log reader".into());
    c.data_sensitivity_clearance = Some(Clearance::Regulated);
    c.compliance_attestations = ["ISO-27001", "GDPR"]
        .iter()
        .map(|s| ComplianceAttestation {
            standard: (*s).into(),
            scope: Some("production".into()),
            valid_until: now + TimeDelta::days(365),
        })
        .collect();
    c.trust_signals = Some(TrustSignals {
        trust_score: 0.94,
        provider: "alpha-trust".into(),
        timestamp: now,
    });
    c
}

impl Alpha {
    /// A domain with a fresh Ed25519 issuer key; publishes its DID document and empty lists.
    pub fn new(site: &Site, now: DateTime<Utc>) -> Self {
        let did = "did:web:alpha.test".to_owned();
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let kid = method_id(&did, &key.public_jwk());
        let alpha = Self {
            did,
            key,
            kid,
            states: Mutex::new(vec![CredentialState::Valid; 16]),
        };
        alpha.publish_did(site);
        alpha.publish_status(site, now);
        alpha
    }

    /// Serves the DID document at `/.well-known/did.json`.
    pub fn publish_did(&self, site: &Site) {
        let doc = did_document(&self.did, &[self.key.public_jwk()]);
        site.set("/.well-known/did.json", Route::json(&doc));
    }

    /// Sets the state of `index` (call `publish_status` after).
    pub fn set_state(&self, index: u64, state: CredentialState) {
        self.states.lock().unwrap()[index as usize] = state;
    }

    /// Serves the status lists: BSL revocation `/status/1`, suspension `/status/1/suspension`,
    /// TSL `/tsl/1`.
    pub fn publish_status(&self, site: &Site, now: DateTime<Utc>) {
        self.publish_status_from(site, now - TimeDelta::minutes(5), now);
    }

    /// As [`publish_status`](Self::publish_status), the Bitstring lists valid from `valid_from`
    /// (a domain whose clock runs ahead), the Token Status List issued at `now`.
    pub fn publish_status_from(&self, site: &Site, valid_from: DateTime<Utc>, now: DateTime<Utc>) {
        let states = self.states.lock().unwrap().clone();
        let view = StatusRegistryView::new(&states);
        for (path, purpose) in [
            ("/status/1", StatusPurpose::Revocation),
            ("/status/1/suspension", StatusPurpose::Suspension),
        ] {
            let url = format!("https://alpha.test{path}");
            let list = BitstringStatusListCredential::new(
                &url,
                &self.did,
                purpose.clone(),
                &view.bitstring(&purpose),
                valid_from,
            )
            .with_ttl_ms(300_000);
            let jws = list.sign(&self.key, &self.kid).unwrap();
            site.set(path, Route::typed("application/vc+jwt", jws));
        }
        let tsl =
            StatusListTokenClaims::new("https://alpha.test/tsl/1", &view.token_status_list(), now)
                .with_issuer(self.did.clone())
                .with_ttl_seconds(300);
        let jws = sign_status_list_token(&self.key, Some(&self.kid), &tsl).unwrap();
        site.set("/tsl/1", Route::typed("application/statuslist+jwt", jws));
    }

    /// A new agent `n` with an ES256 key.
    pub fn agent(&self, n: u32) -> Agent {
        let path = format!("/agents/{n}/client-metadata.json");
        Agent {
            client_id: format!("https://alpha.test{path}"),
            key: SigningKey::generate(Algorithm::ES256).unwrap(),
            path,
        }
    }

    /// A `vc+jwt` Agent Authorization Credential for `agent`.
    pub fn vc(&self, agent: &Agent, now: DateTime<Utc>, o: &VcOptions) -> String {
        let subject = ClientIdUrl::parse(o.subject.as_deref().unwrap_or(&agent.client_id)).unwrap();
        let status = BitstringStatusRef {
            revocation_list: "https://alpha.test/status/1".into(),
            suspension_list: "https://alpha.test/status/1/suspension".into(),
            index: o.index,
        };
        let claims = regulated_claims(now, &o.issuer_domain);
        let mut vc = to_vc_document(&VcDocumentInput {
            credential_id: uuid::Uuid::new_v4(),
            issuer: &self.did,
            subject: &subject,
            valid_from: now + o.from,
            valid_until: now + o.until,
            status: &status,
            claims: &claims,
        })
        .unwrap();
        let holder = o.holder.clone().unwrap_or_else(|| agent.public());
        vc["cnf"] = json!({ "jwk": holder.to_json() });
        let key = o.forge_with.as_ref().unwrap_or(&self.key);
        vc_jwt::issue(&vc, key, &self.kid).unwrap()
    }

    /// A `dc+sd-jwt` credential for `agent` (status in the TSL at `index`).
    pub fn sd_jwt(&self, agent: &Agent, now: DateTime<Utc>, index: u64) -> String {
        let subject = ClientIdUrl::parse(&agent.client_id).unwrap();
        let claims = regulated_claims(now, "alpha.test");
        let holder = agent.public().to_json();
        let mut set = to_sd_jwt_vc_claims(&SdJwtVcInput {
            issuer: &self.did,
            subject: &subject,
            issued_at: now - TimeDelta::minutes(1),
            valid_from: now - TimeDelta::minutes(1),
            valid_until: now + TimeDelta::hours(24),
            holder_jwk: &holder,
            status: &TokenStatusRef {
                idx: index,
                uri: "https://alpha.test/tsl/1".into(),
            },
            claims: &claims,
        })
        .unwrap();
        set["jti"] = json!(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
        sd_jwt::issue(
            &set,
            &["/complianceAttestations", "/trustSignals"],
            &self.key,
            &self.kid,
            &IssueOptions::default(),
        )
        .unwrap()
    }
}

/// A presentation of `issued` revealing everything, key-bound to `aud` and `nonce`.
pub fn present(issued: &str, agent: &Agent, aud: &str, nonce: &str, now: DateTime<Utc>) -> String {
    sd_jwt::present(
        issued,
        &["/complianceAttestations", "/trustSignals"],
        Some(&KeyBindingInput {
            holder_key: &agent.key,
            aud,
            nonce,
            iat: now,
        }),
    )
    .unwrap()
}

/// The CIMD document of a confidential agent with inline keys and optionally a credential.
pub fn document(agent: &Agent, vc: Option<&str>) -> Value {
    let mut doc = json!({
        "client_id": agent.client_id,
        "client_name": "Alpha log reader",
        "redirect_uris": ["https://alpha.test/callback"],
        "grant_types": ["client_credentials", "authorization_code"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": { "keys": [agent.public().to_json()] },
    });
    if let Some(vc) = vc {
        doc["vc+jwt"] = json!(vc);
    }
    doc
}

/// Serves `doc` as `agent`'s document.
pub fn publish(site: &Site, agent: &Agent, doc: &Value) {
    site.set(&agent.path, Route::json(doc));
}

/// A client assertion by `agent` for `aud`.
pub fn assertion(agent: &Agent, aud: &str, jti: &str, now: DateTime<Utc>) -> String {
    assertion_with(
        agent,
        &agent.key,
        json!({
            "iss": agent.client_id, "sub": agent.client_id, "aud": aud,
            "iat": now.timestamp(), "exp": now.timestamp() + 120, "jti": jti,
        }),
    )
}

/// A client assertion with explicit claims, signed by `key` with the agent's kid.
pub fn assertion_with(agent: &Agent, key: &SigningKey, claims: Value) -> String {
    let header = JoseHeader::new(
        key.algorithm(),
        "client-authentication+jwt",
        Some(agent.public().kid().unwrap()),
    );
    sign_with_header(key, &header, &claims).unwrap()
}

/// The verifier under test with its own database.
pub struct Beta {
    /// The database (cleaned up by `finish`).
    pub db: Option<TestDatabase>,
    /// The service.
    pub service: VerifierService,
    /// The clock it reads.
    pub clock: FixedClock,
    /// Its audit store.
    pub audit: Arc<dyn AuditStore>,
}

/// "Now", whole seconds.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
}

impl Beta {
    /// A verifier trusting alpha for AgentAuthorizationCredential, with the example policies
    /// and the two resources.
    pub async fn start(site: &Site, allow_loopback: bool) -> Self {
        Self::start_with(site.fetcher_config(allow_loopback)).await
    }

    /// As [`start`](Self::start) with a given fetcher configuration.
    pub async fn start_with(fetcher: FetcherConfig) -> Self {
        let mut config = VerifierConfig::for_issuer(BETA);
        config.fetcher = fetcher;
        Self::start_config(config).await
    }

    /// As [`start`](Self::start) with a whole configuration (issuer [`BETA`]).
    pub async fn start_config(config: VerifierConfig) -> Self {
        let db = TestDatabase::postgres().await.unwrap();
        let database = db.connect().await.unwrap();
        let clock = FixedClock::new(now());
        let audit = database.audit_store();
        let service = VerifierService::new(
            config,
            database.verifier_store(),
            Arc::clone(&audit),
            Arc::new(clock.clone()),
        )
        .unwrap();
        service
            .put_trust_list(
                vec![TrustedIssuer {
                    issuer: "did:web:alpha.test".into(),
                    credential_types: vec!["AgentAuthorizationCredential".into()],
                    issuer_domains: vec!["alpha.test".into()],
                }],
                Some("test"),
            )
            .await
            .unwrap();
        service
            .put_policies(crossauthz_verifier::policy::EXAMPLE_POLICIES, Some("test"))
            .await
            .unwrap();
        service
            .put_resources(
                vec![
                    Resource {
                        resource: MCP.into(),
                        scopes: vec!["logs:read".into(), "records:read".into(), "status:read".into()],
                        attributes: json!({"sensitivity": "regulated", "openScopes": ["status:read"]}),
                    },
                    Resource {
                        resource: TOOLS.into(),
                        scopes: vec!["logs:read".into()],
                        attributes: json!({"sensitivity": "internal"}),
                    },
                ],
                Some("test"),
            )
            .await
            .unwrap();
        Self {
            db: Some(db),
            service,
            clock,
            audit,
        }
    }

    /// The clock's now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A client_credentials request for `logs:read` on the regulated resource.
    pub fn request(&self, agent: &Agent, jti: &str) -> DecideInput {
        DecideInput {
            client_id: agent.client_id.clone(),
            client_assertion: assertion(agent, BETA, jti, self.now()),
            client_assertion_type: JWT_BEARER.into(),
            grant_type: "client_credentials".into(),
            requested_scopes: vec!["logs:read".into()],
            resource: MCP.into(),
            ..DecideInput::default()
        }
    }

    /// Decides.
    pub async fn decide(&self, input: DecideInput) -> Decision {
        self.service.decide(input).await.unwrap()
    }

    /// The deny code of a decision (panics on allow).
    pub async fn deny_code(&self, input: DecideInput) -> &'static str {
        let d = self.decide(input).await;
        assert!(!d.allowed, "expected a denial, got {d:?}");
        assert!(d.granted_scopes.is_empty());
        d.deny.expect("deny reason").code
    }

    /// Every audit event so far.
    pub async fn events(&self) -> Vec<AuditEvent> {
        self.audit
            .list(&AuditFilter {
                limit: 10_000,
                ..AuditFilter::default()
            })
            .await
            .unwrap()
    }

    /// Drops the database.
    pub async fn finish(mut self) {
        if let Some(db) = self.db.take() {
            db.cleanup().await.unwrap();
        }
    }
}
