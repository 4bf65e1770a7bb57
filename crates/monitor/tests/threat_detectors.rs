//! Threat detectors (issue 6): each fires on a crafted stream and stays quiet on the normal
//! one; the false-positive rate on a generated normal stream is measured and bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use crossauthz_monitor::synthetic::{self, SyntheticStream, decision_event};
use crossauthz_monitor::threat::{Baseline, ThreatConfig, observe, parse_allowed_hours};
use crossauthz_store::{AuditEvent, KnownCredential};

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_798_761_600, 0).unwrap() // 2027-01-01T00:00:00Z
}

/// Runs the detectors over `events`; the rules that fired, per event seq.
fn run(
    stream: &SyntheticStream,
    events: &[AuditEvent],
    config: &ThreatConfig,
) -> Vec<(i64, &'static str)> {
    let credentials: HashMap<&str, &KnownCredential> = stream
        .agents
        .iter()
        .map(|a| (a.client_id.as_str(), &a.credential))
        .collect();
    let mut baselines: HashMap<String, Baseline> = HashMap::new();
    let mut fired = Vec::new();
    for e in events {
        let client = e.client_id.clone().unwrap();
        let b = baselines.entry(client.clone()).or_default();
        let c = credentials.get(client.as_str()).copied();
        for f in observe(b, e, c, c, config) {
            fired.push((e.seq, f.rule));
        }
    }
    fired
}

/// Agent 0 (allowedHours 06:00-22:00 UTC) over 3 normal days, then `extra` appended.
fn with_anomaly(
    extra: impl FnOnce(&SyntheticStream, i64, DateTime<Utc>) -> Vec<AuditEvent>,
) -> (SyntheticStream, Vec<AuditEvent>) {
    let stream = synthetic::generate(7, 1, 3, start());
    let mut events = stream.events.clone();
    let next = events.len() as i64 + 1;
    let t = start() + Duration::days(3) + Duration::hours(10);
    events.extend(extra(&stream, next, t));
    (stream, events)
}

fn normal_request(s: &SyntheticStream, seq: i64, at: DateTime<Utc>) -> AuditEvent {
    let a = &s.agents[0];
    let last = s.events.last().unwrap();
    let scope = a.credential.claims["authorizedScopes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    decision_event(
        seq,
        at,
        &a.client_id,
        &a.domain,
        last.credential_id.as_deref().unwrap(),
        &a.credential.issuer,
        vec![scope],
        synthetic::RESOURCES[0],
        false,
    )
}

fn rules_after(fired: &[(i64, &'static str)], seq: i64) -> Vec<&'static str> {
    let mut r: Vec<&str> = fired
        .iter()
        .filter(|(s, _)| *s >= seq)
        .map(|(_, r)| *r)
        .collect();
    r.dedup();
    r
}

#[test]
fn the_normal_single_agent_stream_is_quiet() {
    let (stream, events) = with_anomaly(|s, seq, t| vec![normal_request(s, seq, t)]);
    assert!(events.len() > 100, "{}", events.len());
    assert_eq!(run(&stream, &events, &ThreatConfig::default()), vec![]);
}

#[test]
fn scope_outside_the_credential_fires() {
    let (stream, events) = with_anomaly(|s, seq, t| {
        let mut e = normal_request(s, seq, t);
        e.scopes = Some(vec!["admin:all".into()]);
        vec![e]
    });
    let next = stream.events.len() as i64 + 1;
    assert_eq!(
        rules_after(&run(&stream, &events, &ThreatConfig::default()), next),
        vec!["scope.outside_credential"]
    );
}

#[test]
fn rate_far_above_the_baseline_fires() {
    let (stream, events) = with_anomaly(|s, seq, t| {
        (0..400)
            .map(|i| normal_request(s, seq + i, t + Duration::seconds(i * 5)))
            .collect()
    });
    let next = stream.events.len() as i64 + 1;
    let fired = rules_after(&run(&stream, &events, &ThreatConfig::default()), next);
    assert_eq!(fired, vec!["rate.spike"]);
}

#[test]
fn activity_outside_the_allowed_hours_fires() {
    let (stream, events) = with_anomaly(|s, seq, t| {
        vec![normal_request(s, seq, t - Duration::hours(7))] // 03:00 UTC
    });
    let next = stream.events.len() as i64 + 1;
    assert_eq!(
        rules_after(&run(&stream, &events, &ThreatConfig::default()), next),
        vec!["time.outside_window"]
    );
}

#[test]
fn a_new_source_domain_fires() {
    let (stream, events) = with_anomaly(|s, seq, t| {
        let mut e = normal_request(s, seq, t);
        e.details = serde_json::json!({"issuer_domain": "evil.example"});
        vec![e]
    });
    let next = stream.events.len() as i64 + 1;
    assert_eq!(
        rules_after(&run(&stream, &events, &ThreatConfig::default()), next),
        vec!["source.new_domain"]
    );
}

#[test]
fn a_burst_of_denials_fires() {
    let (stream, events) = with_anomaly(|s, seq, t| {
        (0..6)
            .map(|i| {
                let mut e = normal_request(s, seq + i, t + Duration::seconds(i * 10));
                e.decision = Some("deny".into());
                e.reason = Some("status_suspended".into());
                e
            })
            .collect()
    });
    let next = stream.events.len() as i64 + 1;
    assert_eq!(
        rules_after(&run(&stream, &events, &ThreatConfig::default()), next),
        vec!["denial.burst"]
    );
}

#[test]
fn a_credential_from_another_issuer_in_the_metadata_fires() {
    let (stream, events) = with_anomaly(|s, seq, t| {
        let mut e = normal_request(s, seq, t);
        e.credential_id = Some("urn:uuid:ffffffff-0000-4000-8000-000000000000".into());
        e.issuer = Some("did:web:evil.example".into());
        vec![e]
    });
    let next = stream.events.len() as i64 + 1;
    assert_eq!(
        rules_after(&run(&stream, &events, &ThreatConfig::default()), next),
        vec!["metadata.changed"]
    );
}

#[test]
fn allowed_hours_parse() {
    assert_eq!(parse_allowed_hours("08:00-18:00 UTC"), Some((480, 1080)));
    assert_eq!(parse_allowed_hours("22:00-06:00"), Some((1320, 360)));
    assert_eq!(parse_allowed_hours("9-5"), None);
    assert_eq!(parse_allowed_hours("25:00-26:00"), None);
}

/// The false-positive rate on a generated normal stream: 50 agents over 14 days. Every alert
/// on this stream is a false positive by construction.
#[test]
fn false_positive_rate_on_a_generated_normal_stream() {
    let stream = synthetic::generate(42, 50, 14, start());
    let fired = run(&stream, &stream.events, &ThreatConfig::default());
    let rate = fired.len() as f64 / stream.events.len() as f64;
    println!(
        "false positives: {} alerts over {} normal requests = {:.4} % ({:?})",
        fired.len(),
        stream.events.len(),
        rate * 100.0,
        {
            let mut by: HashMap<&str, usize> = HashMap::new();
            for (_, r) in &fired {
                *by.entry(r).or_default() += 1;
            }
            by
        }
    );
    assert!(stream.events.len() > 50_000, "{}", stream.events.len());
    assert!(rate < 0.001, "false-positive rate {rate}");
}

#[test]
fn keys_changed_under_the_same_credential_fire() {
    let (stream, events) = with_anomaly(|s, seq, t| {
        let mut a = normal_request(s, seq, t);
        a.details["client_keys"] = serde_json::json!(["k1"]);
        let mut b = normal_request(s, seq + 1, t + Duration::seconds(30));
        b.details["client_keys"] = serde_json::json!(["k1"]);
        let mut c = normal_request(s, seq + 2, t + Duration::seconds(60));
        c.details["client_keys"] = serde_json::json!(["k1", "k2-attacker"]);
        vec![a, b, c]
    });
    let next = stream.events.len() as i64 + 1;
    let fired = run(&stream, &events, &ThreatConfig::default());
    assert_eq!(rules_after(&fired, next), vec!["metadata.changed"]);
    assert_eq!(fired.last().unwrap().0, next + 2);
}
