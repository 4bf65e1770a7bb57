//! Admin REST for the monitor over a real monitor service (gRPC on loopback, PostgreSQL) fed
//! with a crafted audit stream (issue 6): alerts listed, filtered, read, acknowledged and
//! resolved (lifecycle enforced), the compliance report; admin token required.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use crossauthz_core::clock::SystemClock;
use crossauthz_gateway::admin_auth::{AdminToken, require_admin};
use crossauthz_gateway::routes::admin_monitor;
use crossauthz_monitor::engine::{Monitor, MonitorConfig};
use crossauthz_proto::monitor::monitor_client::MonitorClient;
use crossauthz_store::NewAuditEvent;
use crossauthz_testkit::{GrpcServer, TestDatabase};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "monitor-admin-token-0123456789";
const AGENT: &str = "https://alpha.test/agents/1/client-metadata.json";

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    body: Option<Value>,
    auth: bool,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if auth {
        req = req.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn decision(scopes: &[&str], attestation_until: chrono::DateTime<Utc>) -> NewAuditEvent {
    let mut e = NewAuditEvent::new(Utc::now(), "verifier", "grant.decision");
    e.client_id = Some(AGENT.into());
    e.credential_id = Some("urn:uuid:6f1f2d4e-1111-4222-8333-944455556666".into());
    e.issuer = Some("did:web:alpha.test".into());
    e.scopes = Some(scopes.iter().map(|s| (*s).to_owned()).collect());
    e.resource = Some("https://beta.test/mcp".into());
    e.decision = Some("deny".into());
    e.details = json!({
        "issuer_domain": "alpha.test",
        "valid_until": Utc::now() + Duration::days(1),
        "claims": {"agentType": "tool-agent", "authorizedScopes": ["logs:read"],
            "complianceAttestations": [{"standard": "SOC2", "validUntil": attestation_until}],
            "trustSignals": {"trustScore": 0.9, "provider": "p", "timestamp": Utc::now()}}
    });
    e
}

#[tokio::test]
async fn alerts_and_compliance_over_the_admin_api() {
    let tdb = TestDatabase::postgres().await.unwrap();
    let db = tdb.connect().await.unwrap();
    let monitor = Monitor::new(
        MonitorConfig {
            domain_did: "did:web:beta.test".into(),
            ..MonitorConfig::default()
        },
        db.monitor_store(),
        db.audit_store(),
        Arc::new(SystemClock),
        None,
        None,
    )
    .unwrap();
    // A foreign agent asks for a scope outside its credential; its SOC2 attestation has expired.
    db.audit_store()
        .append(decision(&["admin:all"], Utc::now() - Duration::days(1)))
        .await
        .unwrap();
    monitor.process_batch().await.unwrap();
    let server =
        GrpcServer::start(tonic::transport::Server::builder().add_service(monitor.grpc_server()))
            .await
            .unwrap();
    let app: Router = Router::new().nest(
        "/admin/v1",
        admin_monitor::admin_routes(MonitorClient::new(server.channel())).layer(
            axum::middleware::from_fn_with_state(AdminToken::new(TOKEN).unwrap(), require_admin),
        ),
    );

    let (status, _) = call(&app, "GET", "/admin/v1/alerts", None, false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, body) = call(&app, "GET", "/admin/v1/alerts", None, true).await;
    assert_eq!(status, StatusCode::OK);
    let alerts = body["alerts"].as_array().unwrap();
    let mut rules: Vec<&str> = alerts.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    rules.sort();
    assert_eq!(
        rules,
        vec!["attestation.expired", "scope.outside_credential"]
    );

    let (_, body) = call(&app, "GET", "/admin/v1/alerts?category=threat", None, true).await;
    let threat = body["alerts"].as_array().unwrap();
    assert_eq!(threat.len(), 1);
    let id = threat[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(threat[0]["client_id"], AGENT);
    assert_eq!(threat[0]["evidence"]["requested"], json!(["admin:all"]));
    assert_eq!(threat[0]["state"], "open");
    let agent_q = format!("/admin/v1/alerts?agent={}", "https%3A%2F%2Fother.test%2Fa");
    let (_, body) = call(&app, "GET", &agent_q, None, true).await;
    assert_eq!(body["alerts"], json!([]));

    let (status, body) = call(&app, "GET", &format!("/admin/v1/alerts/{id}"), None, true).await;
    assert_eq!(
        (status, body["rule"].as_str()),
        (StatusCode::OK, Some("scope.outside_credential"))
    );

    // Acknowledge (with a note), then resolve; acknowledging again is a conflict.
    let (status, body) = call(
        &app,
        "POST",
        &format!("/admin/v1/alerts/{id}/ack"),
        Some(json!({"note": "reviewed"})),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["state"].as_str(),
            body["acknowledged_by"].as_str(),
            body["note"].as_str()
        ),
        (Some("acknowledged"), Some("admin-api"), Some("reviewed"))
    );
    let (status, body) = call(
        &app,
        "POST",
        &format!("/admin/v1/alerts/{id}/resolve"),
        None,
        true,
    )
    .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (StatusCode::OK, Some("resolved"))
    );
    let (status, _) = call(
        &app,
        "POST",
        &format!("/admin/v1/alerts/{id}/ack"),
        None,
        true,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, body) = call(&app, "GET", "/admin/v1/alerts?state=open", None, true).await;
    assert_eq!(body["alerts"].as_array().unwrap().len(), 1);

    // Refusals.
    for (method, path, body) in [
        ("GET", "/admin/v1/alerts/not-a-uuid".to_owned(), None),
        ("GET", "/admin/v1/alerts?state=sleeping".to_owned(), None),
        ("GET", "/admin/v1/alerts?limit=0".to_owned(), None),
        ("GET", "/admin/v1/alerts?colour=red".to_owned(), None),
        (
            "POST",
            format!("/admin/v1/alerts/{id}/resolve"),
            Some(json!({"note": 1})),
        ),
    ] {
        let (status, _) = call(&app, method, &path, body, true).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}");
    }
    let (status, _) = call(
        &app,
        "GET",
        &format!("/admin/v1/alerts/{}", uuid::Uuid::new_v4()),
        None,
        true,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The compliance report.
    let (status, body) = call(&app, "GET", "/admin/v1/compliance", None, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["agents"].as_u64(), body["compliant"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(body["per_agent"][0]["client_id"], AGENT);
    assert_eq!(
        body["per_agent"][0]["findings"][0]["rule"],
        "attestation.expired"
    );

    server.stop().await;
    db.close().await;
    tdb.cleanup().await.unwrap();
}
