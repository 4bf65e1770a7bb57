//! `crossauthz demo`: two domains on this machine, and the story of one cross-domain agent.
//!
//! alpha registers an agent with its credential; the agent obtains a token from beta's
//! Authorization Server with nothing but its client_id (a Client ID Metadata Document carrying
//! a `vc+jwt`), calls beta's MCP resource, is revoked by alpha and denied by beta at its next
//! grant; an agent without the compliance beta's policy requires is denied; an agent that asks
//! for more than its credential grants is caught by alpha's monitor, suspended automatically
//! through the status list, denied by beta, and reinstated after review. Every step is
//! checked against what the system answered over HTTPS, not against what the demo did; the
//! first check that does not hold ends the demo with [`DemoError::Step`].
//!
//! Nothing here is a mock: each domain is the `start-dev` runtime ([`crossauthz_domain::DevDomain`]),
//! the resource server is [`crossauthz_resource`]'s example, and every request goes over HTTPS
//! on loopback.
#![forbid(unsafe_code)]

pub mod narrate;
pub mod world;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crossauthz_credentials::jose::{JoseHeader, sign_with_header};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_domain::DevDomain;
use crossauthz_store::{AuditEvent, AuditFilter};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

pub use narrate::Narrator;
use world::World;

/// RFC 7523 §2.2 client assertion type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The scope the agents ask for (the resource server's `logs/read` needs it).
pub const SCOPE: &str = "logs:read";
/// How long step 6 waits for beta to see the revocation (beta caches alpha's status list for its
/// `ttl`, 5 s in start-dev).
pub const REVOCATION_DEADLINE: Duration = Duration::from_secs(30);
/// The steps of the story.
pub const STEPS: usize = 8;

/// Why the demo did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The world could not be started.
    #[error("the demo could not start: {0}")]
    Setup(String),
    /// A request of the story failed before any answer (a domain unreachable, a database error).
    #[error("the demo could not go on: {0}")]
    Request(String),
    /// A step did not behave as narrated.
    #[error("step {step} ({title}) did not behave as narrated: expected {expected}; saw {seen}")]
    Step {
        /// The step number.
        step: usize,
        /// Its title.
        title: String,
        /// The check that did not hold.
        expected: String,
        /// What the system answered.
        seen: String,
    },
}

/// Where the demo keeps its state.
#[derive(Debug, Default, Clone)]
pub struct DemoOptions {
    /// A directory to keep the domains' data and the development CA in; a temporary directory
    /// (removed at the end) when `None`.
    pub keep_dir: Option<PathBuf>,
}

/// What a successful run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Steps run.
    pub steps: usize,
    /// Checks that held.
    pub checks: usize,
    /// How long beta took to deny the revoked agent, from alpha's revocation.
    pub revocation_seen_after: Duration,
}

/// Runs the demo, narrating to `narrator`.
pub async fn run(options: DemoOptions, narrator: &mut Narrator) -> Result<Summary, DemoError> {
    let temp;
    let dir = match options.keep_dir {
        Some(dir) => dir,
        None => {
            temp = tempfile::Builder::new()
                .prefix("crossauthz-demo-")
                .tempdir()
                .map_err(|e| DemoError::Setup(format!("temporary directory: {e}")))?;
            temp.path().to_path_buf()
        }
    };
    let world = World::start(&dir).await?;
    let started = Instant::now();
    let result = Story::new(&world).tell(narrator).await;
    world.stop().await;
    let revocation_seen_after = result?;
    narrator.say(&format!(
        "\ndemo passed: {} steps, {} checks, {:.1} s",
        narrator.steps_run(),
        narrator.checks(),
        started.elapsed().as_secs_f64()
    ));
    Ok(Summary {
        steps: narrator.steps_run(),
        checks: narrator.checks(),
        revocation_seen_after,
    })
}

/// An agent alpha registered: its client_id, its key and the credential alpha issued.
struct Agent {
    client_id: String,
    key: SigningKey,
    credential_id: String,
}

/// An HTTP answer: status and JSON body (`Null` when the body is not JSON).
struct Answer {
    status: StatusCode,
    body: Value,
    www_authenticate: Option<String>,
}

impl Answer {
    fn show(&self) -> String {
        format!("{} {}", self.status, self.body)
    }
}

struct Story<'w> {
    w: &'w World,
}

impl<'w> Story<'w> {
    fn new(w: &'w World) -> Self {
        Self { w }
    }

    async fn tell(&self, n: &mut Narrator) -> Result<Duration, DemoError> {
        let (alpha, beta) = (&self.w.alpha, &self.w.beta);
        n.say("crossauthz demo: two domains on this machine, no database server");
        n.say(&format!("  alpha  {:<36} {}", alpha.base(), did(alpha)));
        n.say(&format!(
            "  beta   {:<36} the Authorization Server",
            beta.base()
        ));
        n.say(&format!(
            "  mcp    {:<36} beta's MCP resource server",
            self.w.resource
        ));
        n.say(&format!(
            "  development CA: {} (curl --cacert it; names under .localhost are loopback)",
            self.w.ca_path.display()
        ));

        self.configure_beta(n).await?;
        let agent = self.register_agent(n).await?;
        let token = self.obtain_token(n, &agent).await?;
        self.call_resource(n, &agent, &token).await?;
        self.revoke(n, &agent).await?;
        let seen_after = self.denied_after_revocation(n, &agent).await?;
        self.uncompliant_agent_denied(n).await?;
        self.misbehaving_agent_suspended(n).await?;
        Ok(seen_after)
    }

    // Step 1: beta's administrator trusts alpha's DID for agent credentials, loads the policy
    // set, and registers the resource as regulated.
    async fn configure_beta(&self, n: &mut Narrator) -> Result<(), DemoError> {
        n.step("beta trusts alpha's agent credentials and protects a regulated MCP resource");
        let (alpha, beta) = (&self.w.alpha, &self.w.beta);
        let alpha_did = did(alpha);
        let trust = json!({"issuers": [{
            "issuer": alpha_did,
            "credential_types": ["AgentAuthorizationCredential"],
            "issuer_domains": [host_port(alpha)],
        }]});
        let a = self
            .admin(beta, Method::PUT, "/admin/v1/trust", Some(&trust))
            .await?;
        n.ensure(
            a.status == StatusCode::OK && a.body["issuers"][0]["issuer"] == alpha_did.as_str(),
            &format!("trust list: {alpha_did} may issue AgentAuthorizationCredential"),
            || a.show(),
        )?;
        let policies = json!({"policies": crossauthz_verifier::policy::EXAMPLE_POLICIES});
        let a = self
            .admin(beta, Method::PUT, "/admin/v1/policies", Some(&policies))
            .await?;
        n.ensure(
            a.status == StatusCode::OK && a.body["version"].as_u64().is_some_and(|v| v >= 1),
            "Cedar policy set (crates/verifier/policies/example.cedar) loaded: regulated resources \
             need valid ISO-27001 and GDPR attestations, trust score >= 0.80, regulated clearance",
            || a.show(),
        )?;
        let resources = json!({"resources": [{
            "resource": self.w.resource,
            "scopes": [SCOPE],
            "attributes": {"sensitivity": "regulated"},
        }]});
        let a = self
            .admin(beta, Method::PUT, "/admin/v1/resources", Some(&resources))
            .await?;
        n.ensure(
            a.status == StatusCode::OK,
            &format!(
                "resource {} registered: sensitivity regulated, scope {SCOPE}",
                self.w.resource
            ),
            || a.show(),
        )?;
        Ok(())
    }

    // Step 2: alpha registers an agent; its client_id is the URL of a public CIMD carrying the
    // credential.
    async fn register_agent(&self, n: &mut Narrator) -> Result<Agent, DemoError> {
        n.step("alpha registers agent \"Log reader\" with a credential");
        let agent = self
            .register(n, "Log reader", &["ISO-27001", "GDPR"], 0.94)
            .await?;
        n.check(&format!("client_id {}", agent.client_id));
        n.check(&format!(
            "credential {} (vc+jwt, with a status list entry)",
            agent.credential_id
        ));
        // The document is public: fetched anonymously, as beta's verifier will.
        let r = self.get(&agent.client_id).await?;
        n.ensure(
            r.status == StatusCode::OK && r.body["client_id"] == agent.client_id.as_str(),
            "its Client ID Metadata Document is public and names itself (client_id = its URL)",
            || r.show(),
        )?;
        let vc = r.body["vc+jwt"]
            .as_str()
            .or_else(|| r.body["credentials"][0]["vc+jwt"].as_str());
        let vc_claims = vc.and_then(jwt_payload);
        n.ensure(
            vc_claims
                .as_ref()
                .is_some_and(|c| issuer_of(c) == Some(did(&self.w.alpha).as_str())),
            "the document carries the vc+jwt, issued by alpha's DID",
            || {
                format!(
                    "document keys {:?}, credential {:?}",
                    keys_of(&r.body),
                    vc_claims
                )
            },
        )?;
        Ok(agent)
    }

    // Step 3: client_credentials with private_key_jwt; beta resolves everything else itself.
    async fn obtain_token(&self, n: &mut Narrator, agent: &Agent) -> Result<String, DemoError> {
        n.step("the agent asks beta for a token with only its client_id (client_credentials, private_key_jwt)");
        let a = self.client_credentials(agent).await?;
        let token = a.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        n.ensure(
            a.status == StatusCode::OK && !token.is_empty() && a.body["scope"] == SCOPE,
            &format!("200: an access token for scope {SCOPE}"),
            || a.show(),
        )?;
        let claims = jwt_payload(&token).unwrap_or(Value::Null);
        n.ensure(
            claims["aud"] == self.w.resource.as_str()
                && claims["iss"] == self.w.beta.base().as_str()
                && claims["client_id"] == agent.client_id.as_str()
                && names_credential(&claims["credential_id"], &agent.credential_id)
                && claims["issuer_domain"] == host_port(&self.w.alpha).as_str(),
            "the token (RFC 9068 at+jwt) is bound to the resource (aud) and names the agent, its \
             credential and its issuer's domain",
            || claims.to_string(),
        )?;
        n.note(&format!(
            "beta fetched the agent's document, alpha's did:web document and status list over HTTPS, \
             verified the credential and evaluated its policy; the token expires in {} s",
            a.body["expires_in"]
        ));
        let issued = self.beta_audit("grant.issued", &agent.client_id).await?;
        n.ensure(
            issued.len() == 1 && issued[0].resource.as_deref() == Some(self.w.resource.as_str()),
            "beta's audit log holds the grant (grant.issued, with the resource)",
            || format!("{issued:?}"),
        )?;
        Ok(token)
    }

    // Step 4: the resource validates the token offline against beta's JWKS.
    async fn call_resource(
        &self,
        n: &mut Narrator,
        agent: &Agent,
        token: &str,
    ) -> Result<(), DemoError> {
        n.step("the agent calls beta's MCP resource with the token");
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "logs/read"});
        let anonymous = self.w.http.post(&self.w.resource).json(&call).send().await;
        let a = answer(anonymous)
            .await
            .map_err(|e| n.failed("the resource answers", &e))?;
        n.ensure(
            a.status == StatusCode::UNAUTHORIZED
                && a.www_authenticate
                    .as_deref()
                    .is_some_and(|h| h.contains("resource_metadata=")),
            "without a token: 401 with WWW-Authenticate naming its RFC 9728 metadata",
            || format!("{} WWW-Authenticate: {:?}", a.show(), a.www_authenticate),
        )?;
        let r = self
            .w
            .http
            .post(&self.w.resource)
            .bearer_auth(token)
            .json(&call)
            .send()
            .await;
        let a = answer(r)
            .await
            .map_err(|e| n.failed("the resource answers", &e))?;
        n.ensure(
            a.status == StatusCode::OK
                && a.body["result"]["caller"]["client_id"] == agent.client_id.as_str(),
            "with the token: 200, logs/read answered for the agent (token checked offline against beta's JWKS)",
            || a.show(),
        )?;
        Ok(())
    }

    // Step 5: alpha revokes the credential (its status list bit is set and re-published).
    async fn revoke(&self, n: &mut Narrator, agent: &Agent) -> Result<(), DemoError> {
        n.step("alpha revokes the agent's credential");
        let path = format!("/admin/v1/credentials/{}/revoke", agent.credential_id);
        let body = json!({"reason": "demo: the agent was decommissioned"});
        let a = self
            .admin(&self.w.alpha, Method::POST, &path, Some(&body))
            .await?;
        n.ensure(
            a.status == StatusCode::OK,
            "alpha accepted the revocation",
            || a.show(),
        )?;
        let path = format!("/admin/v1/credentials/{}", agent.credential_id);
        let a = self.admin(&self.w.alpha, Method::GET, &path, None).await?;
        n.ensure(
            a.body["status"] == "revoked",
            "the credential's status is revoked",
            || a.show(),
        )?;
        Ok(())
    }

    // Step 6: beta denies the next grant once its cached copy of alpha's status list expires.
    async fn denied_after_revocation(
        &self,
        n: &mut Narrator,
        agent: &Agent,
    ) -> Result<Duration, DemoError> {
        n.step("beta denies the agent's next grant");
        let since = Instant::now();
        let mut granted_meanwhile = 0;
        let denial = loop {
            let a = self.client_credentials(agent).await?;
            if a.status != StatusCode::OK {
                break a;
            }
            granted_meanwhile += 1;
            if since.elapsed() > REVOCATION_DEADLINE {
                return Err(n.failed(
                    &format!(
                        "a denial within {} s of the revocation",
                        REVOCATION_DEADLINE.as_secs()
                    ),
                    &format!("{granted_meanwhile} grants still issued"),
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        let seen_after = since.elapsed();
        if granted_meanwhile > 0 {
            n.note(&format!(
                "{granted_meanwhile} grant(s) in the first {:.1} s: beta held alpha's status list for its ttl (5 s in start-dev)",
                seen_after.as_secs_f64()
            ));
        }
        let description = a_str(&denial.body, "error_description");
        n.ensure(
            denial.status.is_client_error()
                && denial.body["error"] == "invalid_client"
                && description.contains("revoked"),
            &format!(
                "{}: {} \"{}\"",
                denial.status,
                denial.body["error"].as_str().unwrap_or("?"),
                description
            ),
            || denial.show(),
        )?;
        let denied = self.beta_audit("grant.denied", &agent.client_id).await?;
        n.ensure(
            denied.len() == 1 && denied[0].reason.as_deref() == Some("credential_revoked"),
            "beta's audit log records the denial: grant.denied, reason credential_revoked",
            || format!("{denied:?}"),
        )?;
        n.note("tokens issued before the revocation stay valid until they expire: access tokens are short-lived");
        Ok(seen_after)
    }

    // Step 7: same issuer, same trust, but no GDPR attestation: the regulated resource's policy
    // does not permit it.
    async fn uncompliant_agent_denied(&self, n: &mut Narrator) -> Result<(), DemoError> {
        n.step("an agent without a GDPR attestation asks for the regulated resource");
        let agent = self
            .register(n, "Report drafter", &["ISO-27001"], 0.91)
            .await?;
        n.check(&format!(
            "alpha registered {} (ISO-27001 only)",
            agent.client_id
        ));
        let a = self.client_credentials(&agent).await?;
        let description = a_str(&a.body, "error_description");
        n.ensure(
            a.status == StatusCode::BAD_REQUEST && a.body["error"] == "invalid_scope",
            &format!(
                "{}: {} \"{}\"",
                a.status,
                a.body["error"].as_str().unwrap_or("?"),
                description
            ),
            || a.show(),
        )?;
        // The credential itself verified (same issuer, trusted); the policy said no.
        let decisions = self.beta_audit("grant.decision", &agent.client_id).await?;
        let decision = decisions.last();
        n.ensure(
            decision.is_some_and(|d| {
                d.reason.as_deref() == Some("policy_denied")
                    && d.details["credential_format"] == "vc+jwt"
                    && d.details["issuer_domain"] == host_port(&self.w.alpha).as_str()
            }),
            "beta's verifier verified the credential (vc+jwt from alpha) and its policy denied it: \
             reason policy_denied, no permit for a regulated resource without GDPR",
            || format!("{decision:?}"),
        )?;
        Ok(())
    }

    // Step 8: alpha's monitor watches alpha's audit log; an agent asking alpha's own AS for a
    // scope outside its credential raises a threat alert, and alpha's auto-suspension policy
    // suspends the credential through the status list, which beta sees at its next grant.
    async fn misbehaving_agent_suspended(&self, n: &mut Narrator) -> Result<(), DemoError> {
        n.step("alpha's monitor catches an agent asking for more than its credential grants");
        let alpha = &self.w.alpha;
        // alpha's own AS accepts alpha's own agents for an internal resource.
        let own_resource = format!("https://ops.{}/mcp", host_port(alpha));
        let trust = json!({"issuers": [{
            "issuer": did(alpha),
            "credential_types": ["AgentAuthorizationCredential"],
            "issuer_domains": [host_port(alpha)],
        }]});
        let policies = json!({"policies": crossauthz_verifier::policy::EXAMPLE_POLICIES});
        let resources = json!({"resources": [{
            "resource": own_resource,
            "scopes": [SCOPE, "status:read"],
            "attributes": {"sensitivity": "internal"},
        }]});
        for (path, body) in [
            ("/admin/v1/trust", &trust),
            ("/admin/v1/policies", &policies),
            ("/admin/v1/resources", &resources),
        ] {
            let a = self.admin(alpha, Method::PUT, path, Some(body)).await?;
            if a.status != StatusCode::OK {
                return Err(n.failed(&format!("alpha's admin PUT {path}"), &a.show()));
            }
        }
        let agent = self
            .register(n, "Status poller", &["ISO-27001", "GDPR"], 0.93)
            .await?;
        let a = self.client_credentials(&agent).await?;
        n.ensure(
            a.status == StatusCode::OK,
            &format!(
                "alpha registered {}; beta grants it {SCOPE}",
                agent.client_id
            ),
            || a.show(),
        )?;

        let a = self
            .token_request(alpha, &agent, "logs:read admin:all", &own_resource)
            .await?;
        n.ensure(
            a.body["scope"] != "logs:read admin:all",
            &format!(
                "it asks alpha's AS for \"logs:read admin:all\" (its credential authorizes {SCOPE}): \
                 {} {}",
                a.status,
                a.body["scope"].as_str().or(a.body["error"].as_str()).unwrap_or("?")
            ),
            || a.show(),
        )?;

        // The monitor tails the audit log (every 200 ms in start-dev).
        let deadline = Instant::now() + Duration::from_secs(15);
        let alert = loop {
            let a = self
                .admin(alpha, Method::GET, "/admin/v1/alerts?category=threat", None)
                .await?;
            let found = a.body["alerts"].as_array().and_then(|alerts| {
                alerts
                    .iter()
                    .find(|x| {
                        x["rule"] == "scope.outside_credential"
                            && x["client_id"] == agent.client_id.as_str()
                            && x["action"]
                                .as_str()
                                .is_some_and(|s| s.starts_with("suspended"))
                    })
                    .cloned()
            });
            if let Some(alert) = found {
                break alert;
            }
            if Instant::now() > deadline {
                return Err(n.failed("a suspending threat alert within 15 s", &a.show()));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        n.ensure(
            alert["severity"] == "high",
            &format!(
                "alpha's monitor raised {} (severity {}, score {}): \"{}\"",
                alert["rule"].as_str().unwrap_or("?"),
                alert["severity"].as_str().unwrap_or("?"),
                alert["score"],
                alert["summary"].as_str().unwrap_or("?")
            ),
            || alert.to_string(),
        )?;
        let path = format!("/admin/v1/credentials/{}", agent.credential_id);
        let a = self.admin(alpha, Method::GET, &path, None).await?;
        n.ensure(
            a.body["status"] == "suspended",
            &format!(
                "alpha's auto-suspension policy acted: {}; the credential is suspended",
                alert["action"].as_str().unwrap_or("?")
            ),
            || a.show(),
        )?;

        let since = Instant::now();
        let denial = loop {
            let a = self.client_credentials(&agent).await?;
            if a.status != StatusCode::OK {
                break a;
            }
            if since.elapsed() > REVOCATION_DEADLINE {
                return Err(n.failed("beta denies the suspended agent", &a.show()));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        let decisions = self.beta_audit("grant.decision", &agent.client_id).await?;
        let reason = decisions.last().and_then(|d| d.reason.clone());
        n.ensure(
            reason.as_deref() == Some("credential_suspended"),
            &format!(
                "after {:.1} s beta denies its next grant: {} {} \"{}\" (reason credential_suspended)",
                since.elapsed().as_secs_f64(),
                denial.status,
                denial.body["error"].as_str().unwrap_or("?"),
                a_str(&denial.body, "error_description")
            ),
            || format!("{} / last decision reason {reason:?}", denial.show()),
        )?;

        // Review: alpha's security team acknowledges the alert; the suspension is lifted.
        let id = alert["id"].as_str().unwrap_or_default();
        let body = json!({"note": "demo: reviewed, the agent's configuration was fixed"});
        let a = self
            .admin(
                alpha,
                Method::POST,
                &format!("/admin/v1/alerts/{id}/ack"),
                Some(&body),
            )
            .await?;
        n.ensure(
            a.status == StatusCode::OK,
            "after review alpha acknowledges the alert, which lifts the suspension",
            || a.show(),
        )?;
        let since = Instant::now();
        loop {
            let a = self.client_credentials(&agent).await?;
            if a.status == StatusCode::OK {
                break;
            }
            if since.elapsed() > REVOCATION_DEADLINE {
                return Err(n.failed("beta grants again after the review", &a.show()));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let granted_after = since.elapsed();
        let mut missing = Vec::new();
        for kind in [
            "alert.raised",
            "credential.auto_suspended",
            "alert.acknowledged",
            "credential.unsuspended_after_review",
        ] {
            if self.audit(alpha, kind, None).await?.is_empty() {
                missing.push(kind);
            }
        }
        n.ensure(
            missing.is_empty(),
            &format!(
                "beta grants it again after {:.1} s; alpha's audit log holds the alert, the \
                 suspension, the acknowledgement and the reinstatement",
                granted_after.as_secs_f64()
            ),
            || format!("missing from alpha's audit log: {missing:?}"),
        )?;
        Ok(())
    }

    async fn register(
        &self,
        n: &mut Narrator,
        name: &str,
        standards: &[&str],
        trust_score: f64,
    ) -> Result<Agent, DemoError> {
        let key = SigningKey::generate(Algorithm::ES256)
            .map_err(|e| n.failed("an agent key", &e.to_string()))?;
        let valid_until = (chrono::Utc::now() + chrono::TimeDelta::days(365)).to_rfc3339();
        let attestations: Vec<Value> = standards
            .iter()
            .map(|s| json!({"standard": s, "validUntil": valid_until}))
            .collect();
        let body = json!({
            "name": name,
            "agentType": "tool-agent",
            "jwks": {"keys": [key.public_jwk().to_json()]},
            "grant_types": ["client_credentials"],
            "claims": {
                "authorizedScopes": [SCOPE],
                "dataSensitivityClearance": "regulated",
                "complianceAttestations": attestations,
                "trustSignals": {
                    "trustScore": trust_score,
                    "provider": "alpha-trust",
                    "timestamp": chrono::Utc::now().to_rfc3339(),
                },
            },
            "credential": {"format": "vc+jwt"},
        });
        let a = self
            .admin(&self.w.alpha, Method::POST, "/admin/v1/agents", Some(&body))
            .await?;
        let client_id = a_str(&a.body, "client_id");
        let credential_id = a.body["credential"]["id"].as_str().unwrap_or_default();
        if !a.status.is_success() || client_id.is_empty() || credential_id.is_empty() {
            return Err(n.failed(
                "alpha registers the agent and issues its credential",
                &a.show(),
            ));
        }
        Ok(Agent {
            client_id: client_id.to_owned(),
            key,
            credential_id: credential_id.to_owned(),
        })
    }

    /// A client_credentials request by `agent` to beta for [`SCOPE`] on beta's resource.
    async fn client_credentials(&self, agent: &Agent) -> Result<Answer, DemoError> {
        self.token_request(&self.w.beta, agent, SCOPE, &self.w.resource)
            .await
    }

    /// A client_credentials request by `agent` to `domain`'s AS, authenticated by a fresh
    /// private_key_jwt assertion whose audience is that AS's issuer.
    async fn token_request(
        &self,
        domain: &DevDomain,
        agent: &Agent,
        scope: &str,
        resource: &str,
    ) -> Result<Answer, DemoError> {
        let assertion = assertion(agent, &domain.base())
            .map_err(|e| DemoError::Request(format!("client assertion: {e}")))?;
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &agent.client_id)
            .append_pair("client_assertion_type", JWT_BEARER)
            .append_pair("client_assertion", &assertion)
            .append_pair("scope", scope)
            .append_pair("resource", resource);
        let r = self
            .w
            .http
            .post(format!("{}/token", domain.base()))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form.finish())
            .send()
            .await;
        answer(r)
            .await
            .map_err(|e| DemoError::Request(format!("{}/token: {e}", domain.base())))
    }

    async fn admin(
        &self,
        domain: &DevDomain,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, DemoError> {
        let mut req = self
            .w
            .http
            .request(method, format!("{}{path}", domain.base()))
            .bearer_auth(domain.admin_token());
        if let Some(body) = body {
            req = req.json(body);
        }
        answer(req.send().await)
            .await
            .map_err(|e| DemoError::Request(format!("{}{path}: {e}", domain.base())))
    }

    async fn get(&self, url: &str) -> Result<Answer, DemoError> {
        answer(self.w.http.get(url).send().await)
            .await
            .map_err(|e| DemoError::Request(format!("{url}: {e}")))
    }

    /// beta's audit events of `kind` for `client_id`, oldest first.
    async fn beta_audit(&self, kind: &str, client_id: &str) -> Result<Vec<AuditEvent>, DemoError> {
        self.audit(&self.w.beta, kind, Some(client_id)).await
    }

    /// `domain`'s audit events of `kind` (for `client_id` if given), oldest first.
    async fn audit(
        &self,
        domain: &DevDomain,
        kind: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<AuditEvent>, DemoError> {
        let events = domain
            .database()
            .audit_store()
            .list(&AuditFilter {
                kind: Some(kind.to_owned()),
                client_id: client_id.map(str::to_owned),
                limit: 1000,
                ..AuditFilter::default()
            })
            .await
            .map_err(|e| DemoError::Request(format!("{}'s audit log: {e}", domain.base())))?;
        Ok(events)
    }
}

async fn answer(r: Result<reqwest::Response, reqwest::Error>) -> Result<Answer, String> {
    let r = r.map_err(|e| e.to_string())?;
    let status = r.status();
    let www_authenticate = r
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = r.bytes().await.map_err(|e| e.to_string())?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        body,
        www_authenticate,
    })
}

/// A client assertion (RFC 7523, `typ` client-authentication+jwt) by `agent` for `aud`.
fn assertion(agent: &Agent, aud: &str) -> Result<String, String> {
    let now = chrono::Utc::now().timestamp();
    let jwk = agent.key.public_jwk();
    let header = JoseHeader::new(
        agent.key.algorithm(),
        "client-authentication+jwt",
        jwk.kid(),
    );
    sign_with_header(
        &agent.key,
        &header,
        &json!({
            "iss": agent.client_id, "sub": agent.client_id, "aud": aud,
            "iat": now, "exp": now + 60, "jti": uuid::Uuid::new_v4().to_string(),
        }),
    )
    .map_err(|e| e.to_string())
}

/// The payload of a compact JWS, unverified (the demo shows what was issued; the verifying is
/// done by the parties).
fn jwt_payload(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Whether a token's `credential_id` is the credential the admin API named (the token carries
/// the credential's `id`, `urn:uuid:<uuid>`; the admin API names it by its uuid).
fn names_credential(claim: &Value, id: &str) -> bool {
    claim
        .as_str()
        .is_some_and(|c| c == id || c.strip_prefix("urn:uuid:") == Some(id))
}

/// The issuer of a VC-JOSE-COSE payload (`issuer`, a string or an object with `id`), or `iss`.
fn issuer_of(vc: &Value) -> Option<&str> {
    vc["issuer"]
        .as_str()
        .or_else(|| vc["issuer"]["id"].as_str())
        .or_else(|| vc["iss"].as_str())
}

fn a_str<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key].as_str().unwrap_or_default()
}

fn keys_of(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn did(domain: &DevDomain) -> String {
    crossauthz_domain::config::did_of(domain.public_url())
}

fn host_port(domain: &DevDomain) -> String {
    domain.base().trim_start_matches("https://").to_owned()
}
