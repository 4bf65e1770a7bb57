//! Benchmark: token-endpoint decisions per second with warm caches (issue 7).
//!
//! One agent of domain "alpha" (ES256 key, Ed25519-signed `vc+jwt`, Bitstring Status Lists) is
//! served over real HTTPS on loopback; the verifier of domain "beta" runs in-process on a real
//! PostgreSQL database (`CROSSAUTHZ_TEST_PG`, default `postgres://postgres@127.0.0.1:5432/postgres`).
//! After a warm-up every document, DID document and status list is cached, so each decision is:
//! assertion check (ES256), `jti` insert, credential check (EdDSA), two status-list look-ups,
//! Cedar evaluation, one audit append. Assertions are signed before the clock starts.
//!
//! Run: `cargo run --release -p crossauthz-verifier --example bench_decide [-- N [CONCURRENCY]]`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/decide_support/mod.rs"]
mod decide_support;

use std::time::Instant;

use crossauthz_credentials::did_web::{DidDocument, did_document};
use crossauthz_credentials::status::{
    BitstringStatusListCredential, BitstringStatusListEntry, CredentialState, StatusPurpose,
    StatusRegistryView, check_entry,
};
use crossauthz_verifier::client_auth::{AssertionPolicy, verify_assertion};
use crossauthz_verifier::policy::{
    CompiledPolicies, CredentialFacts, EXAMPLE_POLICIES, PrincipalFacts, RequestFacts,
    ResourceFacts,
};
use decide_support::*;

/// Milliseconds per call of `f`, over `n` calls.
fn per_call(n: usize, mut f: impl FnMut(usize)) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    start.elapsed().as_secs_f64() * 1000.0 / n as f64
}

/// The CPU cost of each step on its own (no I/O).
fn cpu_breakdown(alpha: &Alpha, agent: &Agent, n: usize) {
    let now = now();
    let keys = vec![agent.public()];
    let policy = AssertionPolicy {
        issuer: BETA.into(),
        skew: chrono::TimeDelta::seconds(60),
        max_lifetime: chrono::TimeDelta::seconds(300),
    };
    let assertions: Vec<String> = (0..n)
        .map(|i| assertion(agent, BETA, &format!("cpu-{i}"), now))
        .collect();
    let t_assertion = per_call(n, |i| {
        verify_assertion(
            &assertions[i],
            JWT_BEARER,
            &agent.client_id,
            &keys,
            &policy,
            now,
        )
        .unwrap();
    });
    let vc = alpha.vc(agent, now, &VcOptions::index(1));
    let did = DidDocument::parse(
        &did_document(&alpha.did, &[alpha.key.public_jwk()]),
        &alpha.did,
    )
    .unwrap();
    let skew = chrono::TimeDelta::seconds(60);
    let t_vc = per_call(n, |_| {
        crossauthz_credentials::vc_jwt::verify(&vc, &did, now, skew).unwrap();
    });
    let states = vec![CredentialState::Valid; 16];
    let url = "https://alpha.test/status/1";
    let list = BitstringStatusListCredential::new(
        url,
        &alpha.did,
        StatusPurpose::Revocation,
        &StatusRegistryView::new(&states).bitstring(&StatusPurpose::Revocation),
        now,
    );
    let entry = BitstringStatusListEntry::new(StatusPurpose::Revocation, 1, url);
    let t_status = per_call(n, |_| {
        check_entry(&entry, &list).unwrap();
    });
    let verified = crossauthz_credentials::vc_jwt::verify(&vc, &did, now, skew).unwrap();
    let parsed = crossauthz_core::profile::from_vc_document(&verified.vc).unwrap();
    let claims_json = serde_json::to_value(&parsed.claims).unwrap();
    let policies = CompiledPolicies::compile(EXAMPLE_POLICIES).unwrap();
    let attributes = serde_json::json!({"sensitivity": "regulated", "openScopes": ["status:read"]});
    let scopes = vec!["logs:read".to_owned()];
    let t_policy = per_call(n, |_| {
        let out = policies
            .evaluate(
                &PrincipalFacts {
                    client_id: &agent.client_id,
                    client_host: "alpha.test",
                    credential: Some(CredentialFacts {
                        issuer: &alpha.did,
                        claims: &parsed.claims,
                        claims_json: &claims_json,
                    }),
                },
                &ResourceFacts {
                    resource: MCP,
                    scopes: &scopes,
                    attributes: &attributes,
                },
                &RequestFacts {
                    grant_type: "client_credentials",
                    requested_scopes: &scopes,
                    now,
                },
                &scopes,
            )
            .unwrap();
        assert_eq!(out.permitted.len(), 1);
    });
    println!(
        "CPU per step: assertion (ES256) {t_assertion:.3} ms, vc+jwt (EdDSA) {t_vc:.3} ms, \
         one status entry {t_status:.3} ms, Cedar {t_policy:.3} ms"
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let concurrency: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);

    let site = Site::start().await;
    let beta = Beta::start(&site, true).await;
    let alpha = Alpha::new(&site, beta.now());
    let agent = alpha.agent(1);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&vc)));

    for i in 0..20 {
        let d = beta
            .decide(beta.request(&agent, &format!("warm-{i}")))
            .await;
        assert!(d.allowed, "{d:?}");
    }
    let fetches = site.total_hits();

    // Sequential.
    let inputs: Vec<_> = (0..n)
        .map(|i| beta.request(&agent, &format!("seq-{i}")))
        .collect();
    let start = Instant::now();
    for input in inputs {
        let d = beta.service.decide(input).await.unwrap();
        assert!(d.allowed);
    }
    let sequential = start.elapsed();

    // Concurrent.
    let inputs: Vec<_> = (0..n)
        .map(|i| beta.request(&agent, &format!("con-{i}")))
        .collect();
    let chunks: Vec<Vec<_>> = {
        let mut chunks: Vec<Vec<_>> = (0..concurrency).map(|_| Vec::new()).collect();
        for (i, input) in inputs.into_iter().enumerate() {
            chunks[i % concurrency].push(input);
        }
        chunks
    };
    let start = Instant::now();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let service = beta.service.clone();
        tasks.push(tokio::spawn(async move {
            for input in chunk {
                let d = service.decide(input).await.unwrap();
                assert!(d.allowed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent = start.elapsed();
    assert_eq!(
        site.total_hits(),
        fetches,
        "warm caches: nothing fetched while timing"
    );

    // Where the time goes: the two writes every decision makes, alone.
    let db = beta.db.as_ref().unwrap().connect().await.unwrap();
    let store = db.verifier_store();
    let start = Instant::now();
    for i in 0..n {
        let until = beta.now() + chrono::TimeDelta::minutes(5);
        store
            .record_jti(
                &agent.client_id,
                &format!("only-jti-{i}"),
                until,
                beta.now(),
            )
            .await
            .unwrap();
    }
    let jti_only = start.elapsed();
    let start = Instant::now();
    for _ in 0..n {
        let mut e = crossauthz_store::NewAuditEvent::new(beta.now(), "verifier", "bench");
        e.client_id = Some(agent.client_id.clone());
        beta.audit.append(e).await.unwrap();
    }
    let audit_only = start.elapsed();
    db.close().await;

    cpu_breakdown(&alpha, &agent, 500.min(n));
    let rate = |d: std::time::Duration| n as f64 / d.as_secs_f64();
    let each = |d: std::time::Duration| d.as_secs_f64() * 1000.0 / n as f64;
    println!(
        "store writes alone (sequential): record_jti {:.2} ms, audit append {:.2} ms",
        each(jti_only),
        each(audit_only)
    );
    println!(
        "  => the rest of a sequential decision (CPU, caches, async): {:.2} ms",
        each(sequential) - each(jti_only) - each(audit_only)
    );
    println!("decisions with warm caches (allow, vc+jwt, PostgreSQL, 2-core machine):");
    println!(
        "  sequential : {n} in {:.2?} = {:.0} decisions/s ({:.2} ms each)",
        sequential,
        rate(sequential),
        sequential.as_secs_f64() * 1000.0 / n as f64
    );
    println!(
        "  concurrent : {n} in {:.2?} with {concurrency} tasks = {:.0} decisions/s",
        concurrent,
        rate(concurrent)
    );
    beta.finish().await;
}
