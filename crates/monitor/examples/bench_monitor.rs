//! Benchmark: audit events per second the monitor processes (issue 6), to compare with the
//! grant rate of `crossauthz-gateway`'s `bench_grants` (each grant writes two audit events: the
//! verifier's `grant.decision` and the gateway's `grant.issued`).
//!
//! `cargo run --release -p crossauthz-monitor --example bench_monitor [events] [agents]`
//! (defaults 20000, 50). Needs the test PostgreSQL (`CROSSAUTHZ_TEST_PG`).
//!
//! 1. detectors alone: the generated normal stream through `threat::observe`, in memory;
//! 2. the engine end to end on PostgreSQL: the stream appended to a fresh audit log (through
//!    the hash-chained store, as the services write it), then `Monitor::process_batch` until
//!    the cursor reaches the head — reading, detecting, learning credentials, persisting
//!    baselines and the cursor per batch of 1000.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use crossauthz_core::clock::SystemClock;
use crossauthz_monitor::engine::{Monitor, MonitorConfig};
use crossauthz_monitor::synthetic;
use crossauthz_monitor::threat::{Baseline, ThreatConfig, observe};
use crossauthz_store::NewAuditEvent;
use crossauthz_store::testing::TestDatabase;
use serde_json::json;

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let events_wanted = arg(1, 20_000);
    let agents = arg(2, 50);
    let start = DateTime::<Utc>::from_timestamp(1_798_761_600, 0).unwrap();
    // Enough days for the requested number of events (≈ 160 events per agent per day).
    let days = (events_wanted / (agents * 160)).max(1) as i64 + 1;
    let stream = synthetic::generate(1, agents, days, start);
    let events: Vec<_> = stream.events.into_iter().take(events_wanted).collect();
    let credentials: HashMap<&str, _> = stream
        .agents
        .iter()
        .map(|a| (a.client_id.as_str(), &a.credential))
        .collect();
    println!(
        "{} generated grant.decision events, {} agents",
        events.len(),
        agents
    );

    // 1. Detectors alone.
    let config = ThreatConfig::default();
    let t = Instant::now();
    let mut baselines: HashMap<String, Baseline> = HashMap::new();
    let mut alerts = 0usize;
    for e in &events {
        let client = e.client_id.as_deref().unwrap();
        let b = baselines.entry(client.to_owned()).or_default();
        let c = credentials.get(client).copied();
        alerts += observe(b, e, c, c, &config).len();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "detectors in memory: {:.0} events/s ({} alerts)",
        events.len() as f64 / s,
        alerts
    );

    // 2. The engine on PostgreSQL.
    let tdb = TestDatabase::postgres().await.unwrap();
    let db = tdb.connect().await.unwrap();
    let audit = db.audit_store();
    let t = Instant::now();
    for e in &events {
        let mut n = NewAuditEvent::new(e.at, e.service.clone(), e.kind.clone());
        n.client_id = e.client_id.clone();
        n.credential_id = e.credential_id.clone();
        n.issuer = e.issuer.clone();
        n.scopes = e.scopes.clone();
        n.resource = e.resource.clone();
        n.decision = e.decision.clone();
        n.reason = e.reason.clone();
        let a = stream_agent_claims(&stream.agents, e.client_id.as_deref().unwrap());
        n.details = json!({"issuer_domain": e.details["issuer_domain"],
            "valid_until": start + chrono::Duration::days(days + 1), "claims": a});
        audit.append(n).await.unwrap();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "audit appends (sequential, one transaction each): {:.0} events/s",
        events.len() as f64 / s
    );
    let monitor = Monitor::new(
        MonitorConfig {
            domain_did: "did:web:bench.example".into(),
            ..MonitorConfig::default()
        },
        db.monitor_store(),
        audit.clone(),
        Arc::new(SystemClock),
        None,
        None,
    )
    .unwrap();
    let t = Instant::now();
    let mut processed = 0usize;
    loop {
        let n = monitor.process_batch().await.unwrap();
        if n == 0 {
            break;
        }
        processed += n;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "engine on PostgreSQL (read, detect, learn, persist per batch of 1000): {:.0} events/s ({processed} events in {s:.2} s)",
        processed as f64 / s
    );
    db.close().await;
    tdb.cleanup().await.unwrap();
}

fn stream_agent_claims(agents: &[synthetic::SyntheticAgent], client: &str) -> serde_json::Value {
    agents
        .iter()
        .find(|a| a.client_id == client)
        .map(|a| a.credential.claims.clone())
        .unwrap_or_default()
}
