//! Two development domains in one process, as `crossauthz start-dev` runs them, sharing one dev
//! CA directory: **alpha** (`https://alpha.localhost:<port>`) hosts an agent, its CIMD document,
//! DID document and status lists; **beta** (`https://beta.localhost:<port>`) is the
//! Authorization Server whose verifier fetches them from alpha over HTTPS (its fetcher resolves
//! `.localhost` names to loopback and trusts the dev CA, as in start-dev). Everything is real:
//! each domain's five services talk gRPC on loopback, the gateways serve HTTPS, keys and
//! signatures are real.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use crossauthz_credentials::jose::{JoseHeader, sign_with_header};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_domain::{DevDomain, DevOptions};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// RFC 7523 assertion type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The resource beta protects (only its name matters to a client_credentials grant).
pub const RESOURCE: &str = "https://mcp.beta.localhost/mcp";

/// The two domains and an HTTPS client that reaches both.
pub struct World {
    pub alpha: DevDomain,
    pub beta: DevDomain,
    pub http: reqwest::Client,
    _dirs: Vec<tempfile::TempDir>,
}

/// An agent registered in alpha.
pub struct Agent {
    pub client_id: String,
    pub key: SigningKey,
}

async fn start_domain(
    name: &str,
    admin_token: &str,
    ca_dir: &std::path::Path,
    dirs: &mut Vec<tempfile::TempDir>,
) -> DevDomain {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let data = tempfile::tempdir().unwrap();
    let domain = DevDomain::start_on(
        DevOptions {
            public_url: format!("https://{name}.localhost:{port}").parse().unwrap(),
            listen: listener.local_addr().unwrap(),
            data_dir: data.path().to_owned(),
            dev_ca_dir: ca_dir.to_owned(),
            admin_token: Some(admin_token.to_owned()),
        },
        listener,
    )
    .await
    .unwrap();
    dirs.push(data);
    domain
}

fn host_of(domain: &DevDomain) -> String {
    domain.public_url().host_str().unwrap().to_owned()
}

impl World {
    /// Starts alpha then beta (one after the other: the first creates the shared CA).
    pub async fn start() -> Self {
        let ca = tempfile::tempdir().unwrap();
        let mut dirs = Vec::new();
        let alpha = start_domain(
            "alpha",
            "alpha-admin-token-0123456789abcdef",
            ca.path(),
            &mut dirs,
        )
        .await;
        let beta = start_domain(
            "beta",
            "beta-admin-token-0123456789abcdef",
            ca.path(),
            &mut dirs,
        )
        .await;
        dirs.push(ca);
        let loopback = |d: &DevDomain| SocketAddr::from(([127, 0, 0, 1], d.listen_addr().port()));
        let http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(alpha.ca_pem().as_bytes()).unwrap()])
            .resolve(&host_of(&alpha), loopback(&alpha))
            .resolve(&host_of(&beta), loopback(&beta))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            alpha,
            beta,
            http,
            _dirs: dirs,
        }
    }

    /// `did:web` of alpha.
    pub fn alpha_did(&self) -> String {
        let url = self.alpha.public_url();
        format!(
            "did:web:{}%3A{}",
            url.host_str().unwrap(),
            url.port().unwrap()
        )
    }

    async fn admin_put(&self, path: &str, body: Value) {
        let r = self
            .http
            .put(format!("{}/admin/v1{path}", self.beta.base()))
            .bearer_auth(self.beta.admin_token())
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(
            status.is_success(),
            "PUT {path}: {status} {}",
            r.text().await.unwrap()
        );
    }

    /// Beta trusts alpha's issuer, loads the example Cedar policies and protects [`RESOURCE`].
    pub async fn configure_beta(&self) {
        let alpha_authority = self.alpha.base().trim_start_matches("https://").to_owned();
        self.admin_put(
            "/trust",
            json!({"issuers": [{
                "issuer": self.alpha_did(),
                "credential_types": ["AgentAuthorizationCredential"],
                "issuer_domains": [alpha_authority],
            }]}),
        )
        .await;
        self.admin_put(
            "/policies",
            json!({"policies": crossauthz_verifier::policy::EXAMPLE_POLICIES}),
        )
        .await;
        self.admin_put(
            "/resources",
            json!({"resources": [{
                "resource": RESOURCE,
                "scopes": ["logs:read", "status:read"],
                "attributes": {"sensitivity": "internal", "openScopes": ["logs:read"]},
            }]}),
        )
        .await;
    }

    /// Registers an agent in alpha (ES256 key, `vc+jwt` credential in its CIMD document).
    pub async fn agent(&self) -> Agent {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let valid_until = (chrono::Utc::now() + chrono::TimeDelta::days(365)).to_rfc3339();
        let r = self
            .http
            .post(format!("{}/admin/v1/agents", self.alpha.base()))
            .bearer_auth(self.alpha.admin_token())
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
        }
    }

    /// A fresh client assertion by `agent` with audience `aud`.
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

    /// A client_credentials request to beta's token endpoint with `assertion`.
    pub async fn client_credentials(
        &self,
        agent: &Agent,
        assertion: &str,
        scope: &str,
    ) -> (reqwest::StatusCode, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "client_credentials"),
                ("client_id", agent.client_id.as_str()),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
                ("scope", scope),
                ("resource", RESOURCE),
            ])
            .finish();
        let r = self
            .http
            .post(format!("{}/token", self.beta.base()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// GET `path` on `domain`'s public listener, with `bearer` if given: status and body.
    pub async fn get(
        &self,
        domain: &DevDomain,
        path: &str,
        bearer: Option<&str>,
    ) -> (reqwest::StatusCode, String) {
        let mut request = self.http.get(format!("{}{path}", domain.base()));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let r = request.send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    pub async fn stop(self) {
        self.alpha.stop().await;
        self.beta.stop().await;
    }
}
