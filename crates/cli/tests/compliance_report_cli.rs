//! `crossauthz compliance report` as a process against a real PostgreSQL database the monitor
//! has filled: exit 2 and the finding when an agent is not compliant; read-only (no alert
//! raised).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::Arc;

use chrono::{Duration, Utc};
use crossauthz_monitor::{Monitor, MonitorConfig};
use crossauthz_store::testing::TestDatabase;
use crossauthz_store::{AlertFilter, NewAuditEvent};
use serde_json::json;

#[tokio::test]
async fn compliance_report_names_the_finding_and_exits_2() {
    let t = TestDatabase::postgres().await.unwrap();
    let db = t.connect().await.unwrap();
    let mut e = NewAuditEvent::new(Utc::now(), "verifier", "grant.decision");
    e.client_id = Some("https://a.example/agents/1/client-metadata.json".into());
    e.credential_id = Some("urn:uuid:6f1f2d4e-1111-4222-8333-944455556666".into());
    e.issuer = Some("did:web:a.example".into());
    e.decision = Some("allow".into());
    e.details = json!({"valid_until": Utc::now() + Duration::days(1), "claims": {
        "authorizedScopes": ["logs:read"],
        "complianceAttestations": [{"standard": "SOC2", "validUntil": Utc::now() - Duration::days(2)}],
        "trustSignals": {"trustScore": 0.9, "provider": "p", "timestamp": Utc::now()}}});
    db.audit_store().append(e).await.unwrap();
    let monitor = Monitor::new(
        MonitorConfig::default(),
        db.monitor_store(),
        db.audit_store(),
        Arc::new(crossauthz_core::clock::SystemClock),
        None,
        None,
    )
    .unwrap();
    monitor.process_batch().await.unwrap();
    let alerts_before = db
        .monitor_store()
        .list_alerts(&AlertFilter::default())
        .await
        .unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_crossauthz"))
        .args(["compliance", "report", "--database-url", t.url()])
        .env_remove("DATABASE_URL")
        .env_remove("CROSSAUTHZ_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("1 agents evaluated, 0 compliant"),
        "{stdout}"
    );
    assert!(stdout.contains("attestation.expired"), "{stdout}");
    // The trust list is empty: the foreign issuer is reported as untrusted too.
    assert!(stdout.contains("issuer.untrusted"), "{stdout}");
    // Read-only.
    let alerts_after = db
        .monitor_store()
        .list_alerts(&AlertFilter::default())
        .await
        .unwrap();
    assert_eq!(alerts_before, alerts_after);
    db.close().await;
    t.cleanup().await.unwrap();
}
