//! Benchmark: cross-domain `client_credentials` grants per second with warm caches, and p50/p99
//! latency (issue 5).
//!
//! `cargo run --release -p crossauthz-gateway --example bench_grants [grants] [concurrency] [agents]`
//! (defaults 1000, 8, 8). Needs the test PostgreSQL (`CROSSAUTHZ_TEST_PG`). Starts the two
//! domains of the OAuth tests on loopback (alpha hosts the agents' CIMD and `vc+jwt`; beta is the
//! AS with its verifier, issuer and gateway, each domain on its own database), warms the
//! verifier's caches with one grant per agent, pre-signs every client assertion (each grant
//! needs a fresh `jti`), then times `POST /token` over HTTPS: each grant is a full decision
//! (cached CIMD, did:web and status list; assertion signature; `jti` replay record; Cedar
//! policy; the verifier's audit record), an access token signed by beta's issuer, and the
//! gateway's audit record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/oauth_common/mod.rs"]
mod oauth_common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossauthz_gateway::oauth::OAuthConfig;
use oauth_common::{JWT_BEARER, form_encode, start_with};

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let grants = arg(1, 1000);
    let concurrency = arg(2, 8).max(1);
    let agents_n = arg(3, 8).max(1);
    let w = Arc::new(start_with(OAuthConfig::default(), 5).await);
    let mut agents = Vec::new();
    for _ in 0..agents_n {
        agents.push(w.agent().await);
    }
    // Warm-up: one grant per agent fills the verifier's document, DID and status-list caches.
    for a in &agents {
        let (status, body) = w.client_credentials(a, "logs:read", &w.resource).await;
        assert!(status.is_success(), "warm-up: {status} {body}");
    }
    // Pre-signed requests (fresh jti each).
    let bodies: Vec<String> = (0..grants)
        .map(|i| {
            let a = &agents[i % agents.len()];
            form_encode(&[
                ("grant_type", "client_credentials"),
                ("client_id", &a.client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &w.assertion(a)),
                ("scope", "logs:read"),
                ("resource", &w.resource),
            ])
        })
        .collect();
    let queue = Arc::new(tokio::sync::Mutex::new(bodies));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let w = Arc::clone(&w);
        let queue = Arc::clone(&queue);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let Some(body) = queue.lock().await.pop() else {
                    break;
                };
                let t = Instant::now();
                let r = w
                    .http
                    .post(format!("{}/token", w.beta))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let ok = r.status().is_success();
                let _ = r.bytes().await;
                latencies.push(t.elapsed());
                if !ok {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f) = t.await.unwrap();
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "client_credentials grants across domains (warm caches): {grants} grants, concurrency {concurrency}, {agents_n} agents"
    );
    println!(
        "  {:.0} grants/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, failures {failures}",
        grants as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    match Arc::try_unwrap(w) {
        Ok(w) => w.stop().await,
        Err(_) => eprintln!("world still shared; databases are dropped on exit"),
    }
}
