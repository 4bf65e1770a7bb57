//! The monitor in a running development domain (issue 6, the demo step): one domain with every
//! service (SQLite, HTTPS on loopback with the development CA, gRPC on loopback). Its own agent
//! gets a token, then asks for a scope outside its credential; the monitor raises a threat
//! alert and suspends the credential through the status list; the agent's next grant (once the
//! verifier's cached status list expires — its `ttl` is 5 s in start-dev) is denied with
//! `credential_suspended`. Acknowledging the alert lifts the suspension and grants resume.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crossauthz_credentials::jose::{JoseHeader, sign_with_header};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_domain::{DevDomain, DevOptions};
use crossauthz_store::AuditFilter;
use reqwest::Method;
use serde_json::{Value, json};

const ADMIN: &str = "monitor-dev-test-admin-token-0123456789";
const RESOURCE: &str = "https://mcp.alpha.localhost/mcp";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct Dev {
    domain: DevDomain,
    http: reqwest::Client,
    base: String,
    _dir: tempfile::TempDir,
}

impl Dev {
    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}/admin/v1{path}", self.base))
            .bearer_auth(ADMIN);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn grant(&self, client_id: &str, key: &SigningKey, scope: &str) -> (u16, Value) {
        let now = chrono::Utc::now().timestamp();
        let header = JoseHeader::new(
            key.algorithm(),
            "client-authentication+jwt",
            key.public_jwk().kid(),
        );
        let assertion = sign_with_header(
            key,
            &header,
            &json!({"iss": client_id, "sub": client_id, "aud": self.base, "iat": now,
                "exp": now + 120, "jti": uuid::Uuid::new_v4().to_string()}),
        )
        .unwrap();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
                ("scope", scope),
                ("resource", RESOURCE),
            ])
            .finish();
        let r = self
            .http
            .post(format!("{}/token", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

async fn start() -> Dev {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("https://alpha.localhost:{}", addr.port());
    let domain = DevDomain::start_on(
        DevOptions {
            public_url: base.parse().unwrap(),
            listen: addr,
            data_dir: dir.path().join("data"),
            dev_ca_dir: dir.path().join("ca"),
            admin_token: Some(ADMIN.into()),
        },
        listener,
    )
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(domain.ca_pem().as_bytes()).unwrap()])
        .resolve("alpha.localhost", domain.listen_addr())
        .build()
        .unwrap();
    Dev {
        domain,
        http,
        base,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_own_agent_is_suspended_and_its_next_grant_denied_until_review() {
    let dev = start().await;
    let host = dev.base.trim_start_matches("https://").to_owned();
    let did = format!("did:web:{}", host.replace(':', "%3A"));
    let (s, b) = dev
        .admin(
            Method::PUT,
            "/trust",
            Some(json!({"issuers": [{"issuer": did, "credential_types": ["AgentAuthorizationCredential"], "issuer_domains": [host]}]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = dev
        .admin(
            Method::PUT,
            "/policies",
            Some(json!({"policies": crossauthz_verifier::policy::EXAMPLE_POLICIES})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = dev
        .admin(
            Method::PUT,
            "/resources",
            Some(
                json!({"resources": [{"resource": RESOURCE, "scopes": ["logs:read", "status:read"],
                "attributes": {"sensitivity": "internal", "openScopes": ["logs:read"]}}]}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let valid_until = (chrono::Utc::now() + chrono::TimeDelta::days(365)).to_rfc3339();
    let (s, agent) = dev
        .admin(
            Method::POST,
            "/agents",
            Some(json!({
                "name": "Log reader", "agentType": "tool-agent",
                "jwks": {"keys": [key.public_jwk().to_json()]},
                "grant_types": ["client_credentials"],
                "claims": {
                    "authorizedScopes": ["logs:read", "status:read"],
                    "dataSensitivityClearance": "regulated",
                    "complianceAttestations": [{"standard": "ISO-27001", "validUntil": valid_until}],
                    "trustSignals": {"trustScore": 0.94, "provider": "alpha-trust", "timestamp": chrono::Utc::now().to_rfc3339()}
                },
                "credential": {"format": "vc+jwt"}
            })),
        )
        .await;
    assert!(s == 200 || s == 201, "{s} {agent}");
    let client_id = agent["client_id"].as_str().unwrap().to_owned();
    let credential_id = agent["credential"]["id"].as_str().unwrap().to_owned();

    let (s, b) = dev.grant(&client_id, &key, "logs:read").await;
    assert_eq!(s, 200, "{b}");

    // Misbehaviour: a scope its credential does not authorize (the grant itself is narrowed to
    // logs:read; the request is what the monitor judges).
    let (_, b) = dev.grant(&client_id, &key, "logs:read admin:all").await;
    assert_ne!(b["scope"], "logs:read admin:all");

    // The monitor (polling every 200 ms in start-dev) raises the alert and suspends.
    let deadline = Instant::now() + Duration::from_secs(15);
    let alert = loop {
        let (_, b) = dev
            .admin(Method::GET, "/alerts?category=threat", None)
            .await;
        let found = b["alerts"].as_array().and_then(|a| {
            a.iter()
                .find(|a| a["rule"] == "scope.outside_credential")
                .cloned()
        });
        if let Some(a) = found
            && a["action"]
                .as_str()
                .is_some_and(|s| s.starts_with("suspended"))
        {
            break a;
        }
        assert!(Instant::now() < deadline, "no suspension: {b}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(alert["client_id"], client_id.as_str());
    assert_eq!(alert["severity"], "high");
    let (s, c) = dev
        .admin(Method::GET, &format!("/credentials/{credential_id}"), None)
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["status"], "suspended", "{c}");

    // The next grant is denied as soon as the verifier's cached list expires (ttl 5 s).
    let suspended_at = Instant::now();
    let denied = loop {
        let (s, b) = dev.grant(&client_id, &key, "logs:read").await;
        if s != 200 {
            break b;
        }
        assert!(
            suspended_at.elapsed() < Duration::from_secs(12),
            "still granted"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let decisions = dev
        .domain
        .database()
        .audit_store()
        .list(&AuditFilter {
            kind: Some("grant.decision".into()),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        decisions.last().unwrap().reason.as_deref(),
        Some("credential_suspended"),
        "{denied}"
    );

    // Review: acknowledge → unsuspended → grants resume.
    let (s, b) = dev
        .admin(
            Method::POST,
            &format!("/alerts/{}/ack", alert["id"].as_str().unwrap()),
            Some(json!({"note": "scope list fixed"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["action"]
            .as_str()
            .unwrap()
            .contains("unsuspended after review")
    );
    let resumed_at = Instant::now();
    loop {
        let (s, _) = dev.grant(&client_id, &key, "logs:read").await;
        if s == 200 {
            break;
        }
        assert!(
            resumed_at.elapsed() < Duration::from_secs(12),
            "still denied"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let kinds: Vec<String> = dev
        .domain
        .database()
        .audit_store()
        .list(&AuditFilter {
            limit: 10_000,
            ..AuditFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    for kind in [
        "alert.raised",
        "credential.auto_suspended",
        "alert.acknowledged",
        "credential.unsuspended_after_review",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing");
    }
    dev.domain.stop().await;
}
