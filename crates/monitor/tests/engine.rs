//! The monitor engine over real PostgreSQL with the domain's real issuer and status-list over
//! gRPC (issue 6): a credential really issued is learned from the audit log and evaluated; a
//! crafted misbehaviour of this domain's own agent raises a threat alert that suspends the
//! credential through the status list; acknowledging it after review lifts the suspension; all
//! of it audited; alerts go to a loopback webhook with retries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Duration;
use common::*;
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_monitor::engine::{AutoSuspendPolicy, Monitor, MonitorConfig};
use crossauthz_monitor::synthetic::decision_event;
use crossauthz_monitor::webhook::WebhookConfig;
use crossauthz_proto::common::{Actor, CredentialFormat, CredentialStatus};
use crossauthz_proto::issuer::{GetCredentialRequest, IssueCredentialRequest};
use crossauthz_store::{AlertCategory, AlertFilter, AlertState, AuditFilter, Severity};
use serde_json::{Value, json};

const SUBJECT: &str = "https://alpha.localhost/agents/7/client-metadata.json";

async fn issue(d: &Domain, claims: Value) -> String {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    d.issuer_client()
        .issue_credential(IssueCredentialRequest {
            agent_id: uuid::Uuid::new_v4().to_string(),
            subject: SUBJECT.into(),
            claims_json: claims.to_string(),
            holder_jwk_json: key.public_jwk().to_json().to_string(),
            format: CredentialFormat::VcJwt as i32,
            validity_seconds: 0,
            disclose: vec![],
            actor: Some(Actor {
                subject: "registry".into(),
                reason: "test".into(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .id
}

fn claims(valid_until: &str) -> Value {
    json!({
        "agentType": "tool-agent",
        "authorizedScopes": ["logs:read"],
        "issuerDomain": "alpha.localhost",
        "complianceAttestations": [{"standard": "SOC2", "validUntil": valid_until}],
        "trustSignals": {"trustScore": 0.9, "provider": "p", "timestamp": now0().to_rfc3339()}
    })
}

fn monitor(d: &Domain, config: MonitorConfig) -> Monitor {
    Monitor::new(
        config,
        d.database.monitor_store(),
        d.database.audit_store(),
        Arc::new(d.clock.clone()),
        Some(d.issuer_client()),
        None,
    )
    .unwrap()
}

fn config() -> MonitorConfig {
    MonitorConfig {
        domain_did: DID.into(),
        auto_suspend: AutoSuspendPolicy {
            enabled: true,
            min_severity: Severity::High,
        },
        ..MonitorConfig::default()
    }
}

async fn status(d: &Domain, id: &str) -> CredentialStatus {
    let info = d
        .issuer_client()
        .get_credential(GetCredentialRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner();
    CredentialStatus::try_from(info.status).unwrap()
}

async fn kinds(d: &Domain) -> Vec<String> {
    d.database
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

async fn append_decision(d: &Domain, credential_id: &str, scopes: &[&str], denied: bool) {
    let e = decision_event(
        0,
        now0() + Duration::minutes(5),
        SUBJECT,
        "alpha.localhost",
        &format!("urn:uuid:{credential_id}"),
        DID,
        scopes.iter().map(|s| (*s).to_owned()).collect(),
        "https://beta.localhost/mcp",
        denied,
    );
    let mut n = crossauthz_store::NewAuditEvent::new(e.at, e.service, e.kind);
    n.client_id = e.client_id;
    n.credential_id = e.credential_id;
    n.issuer = e.issuer;
    n.scopes = e.scopes;
    n.resource = e.resource;
    n.decision = e.decision;
    n.reason = e.reason;
    n.details = e.details;
    d.database.audit_store().append(n).await.unwrap();
}

#[tokio::test]
async fn own_agent_asking_outside_its_credential_is_suspended_then_unsuspended_after_review() {
    let d = Domain::start().await;
    let id = issue(&d, claims(&(now0() + Duration::days(365)).to_rfc3339())).await;
    let m = monitor(&d, config());

    // Issuance is learned; a clean credential raises nothing; a normal request neither.
    m.process_batch().await.unwrap();
    append_decision(&d, &id, &["logs:read"], false).await;
    m.process_batch().await.unwrap();
    assert!(m.alerts(&AlertFilter::default()).await.unwrap().is_empty());
    assert_eq!(status(&d, &id).await, CredentialStatus::Valid);

    // Misbehaviour: a scope outside its credential.
    append_decision(&d, &id, &["logs:read", "admin:all"], true).await;
    m.process_batch().await.unwrap();
    let alerts = m.alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(
        (a.rule.as_str(), a.category),
        ("scope.outside_credential", AlertCategory::Threat)
    );
    assert_eq!(a.credential_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        a.action.as_deref(),
        Some(format!("suspended {id}").as_str())
    );
    assert_eq!(a.evidence["requested"], json!(["logs:read", "admin:all"]));
    // The suspension is in the issuer and therefore in the status list the verifier reads at
    // the next grant.
    assert_eq!(status(&d, &id).await, CredentialStatus::Suspended);
    let k = kinds(&d).await;
    for kind in [
        "alert.raised",
        "credential.auto_suspended",
        "credential.suspended",
    ] {
        assert!(k.iter().any(|x| x == kind), "{kind} not in {k:?}");
    }

    // The same misbehaviour again bumps the alert; nothing is suspended twice.
    append_decision(&d, &id, &["admin:all"], true).await;
    m.process_batch().await.unwrap();
    let alerts = m.alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!((alerts.len(), alerts[0].occurrences), (1, 2));

    // Review: acknowledge lifts the suspension, audited.
    let acked = m
        .acknowledge(a.id, "ops@alpha", Some("misconfigured scope list, fixed"))
        .await
        .unwrap();
    assert_eq!(acked.state, AlertState::Acknowledged);
    assert!(
        acked
            .action
            .unwrap()
            .contains("unsuspended after review by ops@alpha")
    );
    assert_eq!(status(&d, &id).await, CredentialStatus::Valid);
    let k = kinds(&d).await;
    for kind in [
        "alert.acknowledged",
        "credential.unsuspended_after_review",
        "credential.unsuspended",
    ] {
        assert!(k.iter().any(|x| x == kind), "{kind} not in {k:?}");
    }
    // The monitor's own events are not mistaken for agent activity.
    m.process_batch().await.unwrap();
    assert_eq!(m.alerts(&AlertFilter::default()).await.unwrap().len(), 1);
    d.stop().await;
}

#[tokio::test]
async fn foreign_agents_and_a_disabled_policy_are_never_suspended() {
    let d = Domain::start().await;
    let id = issue(&d, claims(&(now0() + Duration::days(365)).to_rfc3339())).await;
    // Policy off: the alert is raised, nothing is suspended.
    let m = monitor(
        &d,
        MonitorConfig {
            auto_suspend: AutoSuspendPolicy::default(),
            ..config()
        },
    );
    m.process_batch().await.unwrap();
    append_decision(&d, &id, &["admin:all"], true).await;
    m.process_batch().await.unwrap();
    let alerts = m.alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].action, None);
    assert_eq!(status(&d, &id).await, CredentialStatus::Valid);
    d.stop().await;

    // Another domain's DID: the agent is foreign, the policy does not apply.
    let d = Domain::start().await;
    let id = issue(&d, claims(&(now0() + Duration::days(365)).to_rfc3339())).await;
    let m = monitor(
        &d,
        MonitorConfig {
            domain_did: "did:web:other.example".into(),
            ..config()
        },
    );
    m.process_batch().await.unwrap();
    append_decision(&d, &id, &["admin:all"], true).await;
    m.process_batch().await.unwrap();
    assert_eq!(
        m.alerts(&AlertFilter::default()).await.unwrap()[0].action,
        None
    );
    assert_eq!(status(&d, &id).await, CredentialStatus::Valid);
    d.stop().await;
}

#[tokio::test]
async fn a_new_credential_is_evaluated_at_once_and_the_report_covers_every_agent() {
    let d = Domain::start().await;
    // SOC2 expired yesterday (per the fixed clock).
    issue(&d, claims(&(now0() - Duration::days(1)).to_rfc3339())).await;
    let m = monitor(&d, config());
    m.process_batch().await.unwrap();
    let alerts = m
        .alerts(&AlertFilter {
            category: Some(AlertCategory::Compliance),
            ..AlertFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].rule, "attestation.expired");
    assert_eq!(alerts[0].client_id.as_deref(), Some(SUBJECT));
    // Compliance alerts never suspend.
    assert_eq!(alerts[0].action, None);

    let report = m.compliance_report(None).await.unwrap();
    assert_eq!((report.agents, report.compliant), (1, 0));
    assert_eq!(report.by_rule.get("attestation.expired"), Some(&1));
    assert_eq!(report.per_agent[0].client_id, SUBJECT);
    // Re-evaluation bumps the open alert instead of duplicating it.
    let alerts = m.alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!((alerts.len(), alerts[0].occurrences), (1, 2));
    d.stop().await;
}

#[tokio::test]
async fn webhook_receives_each_new_alert_after_retries() {
    use axum::http::StatusCode;
    let hits = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let (h, b) = (hits.clone(), bodies.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let (h, b) = (h.clone(), b.clone());
            async move {
                // The first two attempts fail; the third is accepted.
                if h.fetch_add(1, Ordering::SeqCst) < 2 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                b.lock().unwrap().push(v);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });

    let d = Domain::start().await;
    let id = issue(&d, claims(&(now0() + Duration::days(365)).to_rfc3339())).await;
    let m = monitor(
        &d,
        MonitorConfig {
            webhook: Some(WebhookConfig {
                url: format!("http://{addr}/hook").parse().unwrap(),
                attempts: 4,
                backoff_ms: 20,
                timeout_ms: 2000,
            }),
            ..config()
        },
    );
    m.process_batch().await.unwrap();
    append_decision(&d, &id, &["admin:all"], true).await;
    m.process_batch().await.unwrap();
    for _ in 0..200 {
        if !bodies.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let got = bodies.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["rule"], "scope.outside_credential");
    assert_eq!(got[0]["action"], format!("suspended {id}"));
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    d.stop().await;
}

#[test]
fn webhook_refuses_plain_http_to_a_remote_host() {
    let e = crossauthz_monitor::webhook::Webhook::new(WebhookConfig {
        url: "http://hooks.example/alerts".parse().unwrap(),
        attempts: 1,
        backoff_ms: 1,
        timeout_ms: 1,
    });
    assert!(e.is_err());
}

/// A restarted monitor resumes at its stored cursor with its learned credentials and
/// baselines: nothing is processed twice, and the first request after the restart is judged
/// against the credential learned before it.
#[tokio::test]
async fn a_restarted_monitor_resumes_where_it_stopped() {
    let d = Domain::start().await;
    let id = issue(&d, claims(&(now0() + Duration::days(365)).to_rfc3339())).await;
    let m = monitor(
        &d,
        MonitorConfig {
            auto_suspend: AutoSuspendPolicy::default(),
            ..config()
        },
    );
    m.process_batch().await.unwrap();
    append_decision(&d, &id, &["logs:read"], false).await;
    assert_eq!(m.process_batch().await.unwrap(), 1);
    drop(m);

    let m = monitor(
        &d,
        MonitorConfig {
            auto_suspend: AutoSuspendPolicy::default(),
            ..config()
        },
    );
    assert_eq!(m.process_batch().await.unwrap(), 0, "the cursor was stored");
    // A request outside the credential: the credential comes from the store, not from this
    // event (the event carries no claims).
    let mut e = crossauthz_store::NewAuditEvent::new(
        now0() + Duration::minutes(6),
        "verifier",
        "grant.decision",
    );
    e.client_id = Some(SUBJECT.into());
    e.credential_id = Some(format!("urn:uuid:{id}"));
    e.issuer = Some(DID.into());
    e.scopes = Some(vec!["admin:all".into()]);
    e.decision = Some("deny".into());
    d.database.audit_store().append(e).await.unwrap();
    m.process_batch().await.unwrap();
    let alerts = m.alerts(&AlertFilter::default()).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].rule, "scope.outside_credential");
    d.stop().await;
}
