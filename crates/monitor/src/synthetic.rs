//! A generated normal audit stream, for measuring the detectors' false-positive rate and the
//! monitor's throughput (tests, `examples/bench_monitor.rs`). Deterministic for a seed.
//!
//! Each agent: one home issuer domain; a credential (8-day lifetime, re-issued by the same
//! issuer after 7 days) authorizing 2–4 scopes, with `allowedHours` `06:00-22:00 UTC` for half
//! of them; activity between 07:00 and 21:00 UTC only, Poisson-distributed per hour around its
//! own mean (2–20 requests per hour, ×0.5–1.5 by time of day); each request asks a non-empty
//! subset of its authorized scopes on one of two resources; 2 % are denied by policy.

use chrono::{DateTime, Duration, Utc};
use crossauthz_store::{AuditEvent, KnownCredential};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// Every scope agents may hold.
pub const SCOPES: [&str; 5] = [
    "logs:read",
    "tickets:read",
    "tickets:write",
    "status:read",
    "metrics:read",
];
/// The two resources.
pub const RESOURCES: [&str; 2] = ["https://b.example/mcp", "https://b.example/tickets"];

/// One generated agent.
#[derive(Debug, Clone)]
pub struct SyntheticAgent {
    /// Its client_id.
    pub client_id: String,
    /// Its issuer domain.
    pub domain: String,
    /// Its credential (the first one; the re-issued ones share its claims).
    pub credential: KnownCredential,
    /// Mean requests per active hour.
    pub mean_per_hour: f64,
}

/// A generated stream.
#[derive(Debug, Clone)]
pub struct SyntheticStream {
    /// The agents.
    pub agents: Vec<SyntheticAgent>,
    /// The `grant.decision` events in time order, `seq` from 1.
    pub events: Vec<AuditEvent>,
}

fn poisson(rng: &mut StdRng, mean: f64) -> u64 {
    // Knuth's method: fine for the means used here (< 40).
    let l = (-mean).exp();
    let mut k = 0u64;
    let mut p = 1.0;
    loop {
        p *= rng.r#gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// A decision event for `client_id`.
#[allow(clippy::too_many_arguments)]
pub fn decision_event(
    seq: i64,
    at: DateTime<Utc>,
    client_id: &str,
    domain: &str,
    credential_id: &str,
    issuer: &str,
    scopes: Vec<String>,
    resource: &str,
    denied: bool,
) -> AuditEvent {
    AuditEvent {
        seq,
        at,
        service: "verifier".into(),
        kind: crate::threat::DECISION_KIND.into(),
        actor: Some(client_id.into()),
        client_id: Some(client_id.into()),
        credential_id: Some(credential_id.into()),
        issuer: Some(issuer.into()),
        scopes: Some(scopes),
        resource: Some(resource.into()),
        decision: Some(if denied { "deny" } else { "allow" }.into()),
        reason: Some(if denied { "policy_denied" } else { "granted" }.into()),
        trace_id: None,
        details: json!({"issuer_domain": domain, "grant_type": "client_credentials"}),
        prev_hash: [0; 32],
        hash: [0; 32],
    }
}

/// Generates `agents` agents over `days` days from `start` (midnight UTC).
pub fn generate(seed: u64, agents: usize, days: i64, start: DateTime<Utc>) -> SyntheticStream {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut list = Vec::with_capacity(agents);
    for i in 0..agents {
        let domain = format!("d{}.example", i % 7);
        let client_id = format!("https://{domain}/agents/{i}/client-metadata.json");
        let n = rng.gen_range(2..=4);
        let mut scopes: Vec<&str> = SCOPES.to_vec();
        for j in (1..scopes.len()).rev() {
            scopes.swap(j, rng.gen_range(0..=j));
        }
        scopes.truncate(n);
        let mut constraints = json!({});
        if i % 2 == 0 {
            constraints = json!({"allowedHours": "06:00-22:00 UTC"});
        }
        let credential = KnownCredential {
            client_id: client_id.clone(),
            credential_id: Some(format!("urn:uuid:{i:08x}-0000-4000-8000-000000000000")),
            issuer: format!("did:web:{domain}"),
            issuer_domain: Some(domain.clone()),
            format: "vc+jwt".into(),
            claims: json!({"agentType": "tool-agent", "authorizedScopes": scopes,
                "issuerDomain": domain, "operationalConstraints": constraints,
                "trustSignals": {"trustScore": 0.9, "provider": "p", "timestamp": start}}),
            valid_until: start + Duration::days(8),
            holder_key: None,
            local: false,
            observed_at: start,
        };
        list.push(SyntheticAgent {
            client_id,
            domain,
            credential,
            mean_per_hour: rng.gen_range(2.0..20.0),
        });
    }
    let mut events = Vec::new();
    for hour in 0..days * 24 {
        let hour_start = start + Duration::hours(hour);
        let hod = hour % 24;
        if !(7..21).contains(&hod) {
            continue;
        }
        let diurnal = 0.5 + (hod - 7) as f64 / 14.0;
        let mut this_hour = Vec::new();
        for a in &list {
            let generation = hour / (7 * 24);
            let credential_id = format!(
                "{}-{generation}",
                a.credential.credential_id.as_deref().unwrap_or("c")
            );
            let authorized: Vec<String> = a.credential.claims["authorizedScopes"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            for _ in 0..poisson(&mut rng, a.mean_per_hour * diurnal) {
                let offset = rng.gen_range(0..3600);
                let mut scopes: Vec<String> = authorized
                    .iter()
                    .filter(|_| rng.gen_bool(0.5))
                    .cloned()
                    .collect();
                if scopes.is_empty() {
                    scopes.push(authorized[rng.gen_range(0..authorized.len())].clone());
                }
                let resource = RESOURCES[rng.gen_range(0..RESOURCES.len())];
                let denied = rng.gen_bool(0.02);
                this_hour.push(decision_event(
                    0,
                    hour_start + Duration::seconds(offset),
                    &a.client_id,
                    &a.domain,
                    &credential_id,
                    &a.credential.issuer,
                    scopes,
                    resource,
                    denied,
                ));
            }
        }
        this_hour.sort_by_key(|e| e.at);
        events.extend(this_hour);
    }
    for (i, e) in events.iter_mut().enumerate() {
        e.seq = i as i64 + 1;
    }
    SyntheticStream {
        agents: list,
        events,
    }
}
