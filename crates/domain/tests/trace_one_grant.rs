//! Issue 8's "done when": one client_credentials grant across two domains is ONE trace. The
//! process's subscriber is the in-memory span exporter and JSON log capture of
//! `crossauthz_telemetry::testing` (process-wide, hence this test has its own binary).
//!
//! The grant: a client POSTs to beta's token endpoint (beta gateway) → beta's verifier (gRPC)
//! fetches the agent's CIMD document, alpha's DID document and status list over HTTPS from
//! alpha's gateway, which asks alpha's registry, issuer and status-list (gRPC) → beta's issuer
//! signs the access token (gRPC). Every one of those server spans must carry the trace id of the
//! token request, and no secret may appear in any span or log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod two_dev_domains;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value;
use two_dev_domains::World;

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// Every string an exported span carries: its name, attribute values, event names and event
/// attribute values.
fn span_strings(span: &SpanData) -> Vec<String> {
    let mut out = vec![span.name.to_string()];
    out.extend(
        span.attributes
            .iter()
            .map(|kv| format!("{}={}", kv.key, kv.value)),
    );
    for event in span.events.iter() {
        out.push(event.name.to_string());
        out.extend(
            event
                .attributes
                .iter()
                .map(|kv| format!("{}={}", kv.key, kv.value)),
        );
    }
    out
}

/// Waits until the server span of beta's token endpoint has ended (a span ends once its response
/// body is sent, which can be just after the client has read it) and returns it.
async fn token_span(
    capture: &crossauthz_telemetry::testing::InMemoryTelemetry,
    beta: &str,
    not_in: &HashSet<SpanId>,
) -> SpanData {
    for _ in 0..100 {
        let found = capture.spans().into_iter().find(|s| {
            !not_in.contains(&s.span_context.span_id())
                && s.name == "POST /token"
                && attr(s, "service").as_deref() == Some("gateway")
                && attr(s, "domain").as_deref() == Some(beta)
        });
        if let Some(span) = found {
            return span;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("beta's token endpoint span was never exported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_cross_domain_grant_is_one_trace_across_every_service() {
    let capture = crossauthz_telemetry::testing::install().unwrap();
    let world = World::start().await;
    world.configure_beta().await;
    let agent = world.agent().await;
    let alpha = world.alpha.base();
    let beta = world.beta.base();

    let earlier: HashSet<SpanId> = capture
        .spans()
        .iter()
        .map(|s| s.span_context.span_id())
        .collect();
    let assertion = world.assertion_for(&agent, &beta);
    let (status, body) = world
        .client_credentials(&agent, &assertion, "logs:read")
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let access_token = body["access_token"].as_str().unwrap().to_owned();

    let root = token_span(capture, &beta, &earlier).await;
    let trace_id: TraceId = root.span_context.trace_id();
    // The client sent no traceparent: the token request is the root of its trace.
    assert_eq!(root.parent_span_id, SpanId::INVALID);
    assert_eq!(
        attr(&root, "http.response.status_code").as_deref(),
        Some("200")
    );

    // Let the last spans of the grant (alpha's responses) end, then take the trace.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let spans = capture.spans();
    let trace: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == trace_id)
        .collect();

    // Every service the grant crossed, named by service and domain.
    let services: BTreeSet<(String, String)> = trace
        .iter()
        .filter_map(|s| Some((attr(s, "service")?, attr(s, "domain")?)))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("gateway", &beta),
        ("verifier", &beta),
        ("issuer", &beta),
        ("gateway", &alpha),
        ("registry", &alpha),
        ("issuer", &alpha),
        ("status-list", &alpha),
    ]
    .into_iter()
    .map(|(s, d)| (s.to_owned(), d.clone()))
    .collect();
    assert_eq!(services, expected, "services in the grant's trace");

    // One tree: every span of the trace reaches the token request through its parents (local or
    // remote, across gRPC metadata and HTTPS headers).
    let by_id: HashMap<SpanId, &SpanData> = trace
        .iter()
        .map(|s| (s.span_context.span_id(), *s))
        .collect();
    for span in &trace {
        let mut at = *span;
        let mut hops = 0;
        while at.span_context.span_id() != root.span_context.span_id() {
            at = by_id.get(&at.parent_span_id).unwrap_or_else(|| {
                panic!("span {:?} of the trace has a parent outside it", span.name)
            });
            hops += 1;
            assert!(hops < 64, "parent chain too long");
        }
    }
    // Alpha's gateway spans are children of beta's verifier fetches (a remote parent in another
    // domain): the CIMD document, the DID document and the status list.
    let alpha_routes: BTreeSet<String> = trace
        .iter()
        .filter(|s| {
            attr(s, "service").as_deref() == Some("gateway")
                && attr(s, "domain").as_deref() == Some(alpha.as_str())
        })
        .map(|s| {
            assert!(s.parent_span_is_remote, "{} has a local parent", s.name);
            let parent = by_id[&s.parent_span_id];
            assert!(
                attr(parent, "fetch.kind").is_some(),
                "the parent of {} is {}, not a fetch",
                s.name,
                parent.name
            );
            s.name.to_string()
        })
        .collect();
    for route in [
        "GET /agents/{id}/client-metadata.json",
        "GET /.well-known/did.json",
        "GET /status/{list}",
    ] {
        assert!(
            alpha_routes.iter().any(|r| r == route),
            "{route} not in {alpha_routes:?}"
        );
    }

    // Nothing of the grant broke off into a trace of its own: every server span of beta's
    // verifier and of alpha that started during the token request is in this trace — except
    // the monitors' background work (audit tail, trust list, checkpoints), which runs in traces
    // of its own rooted at a `service = monitor` span.
    let monitor_traces: HashSet<TraceId> = spans
        .iter()
        .filter(|s| attr(s, "service").as_deref() == Some("monitor"))
        .map(|s| s.span_context.trace_id())
        .collect();
    let during = |s: &&SpanData| {
        s.start_time >= root.start_time
            && s.end_time <= root.end_time
            && !monitor_traces.contains(&s.span_context.trace_id())
    };
    for span in spans.iter().filter(during) {
        let service = attr(span, "service");
        let domain = attr(span, "domain");
        if service.is_some()
            && (domain.as_deref() == Some(alpha.as_str()) || service.as_deref() == Some("verifier"))
        {
            assert_eq!(
                span.span_context.trace_id(),
                trace_id,
                "{} ({service:?} {domain:?}) is in another trace",
                span.name
            );
        }
    }

    // A request carrying an Authorization header and a client_assertion is refused (C4); neither
    // value may reach a span or a log line.
    let header_secret = "header-secret-7b1e0f5c2d9a4e38";
    let second_assertion = world.assertion_for(&agent, &beta);
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "client_credentials"),
            ("client_id", agent.client_id.as_str()),
            ("client_assertion_type", two_dev_domains::JWT_BEARER),
            ("client_assertion", second_assertion.as_str()),
            ("scope", "logs:read"),
            ("resource", two_dev_domains::RESOURCE),
        ])
        .finish();
    let refused = world
        .http
        .post(format!("{beta}/token"))
        .bearer_auth(header_secret)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    let mut seen = earlier.clone();
    seen.insert(root.span_context.span_id());
    let refused_span = token_span(capture, &beta, &seen).await;
    assert_eq!(
        attr(&refused_span, "http.response.status_code").as_deref(),
        Some("401")
    );

    let logs = capture.logs();
    assert!(!logs.trim().is_empty(), "nothing was logged");
    for line in logs.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {line}"));
    }
    let secrets = [
        ("the client assertion", assertion.as_str()),
        (
            "the refused request's client assertion",
            second_assertion.as_str(),
        ),
        ("the Authorization header", header_secret),
        ("the access token", access_token.as_str()),
        ("alpha's admin token", world.alpha.admin_token()),
        ("beta's admin token", world.beta.admin_token()),
    ];
    let all_spans = capture.spans();
    for (what, secret) in secrets {
        // Also the first 40 characters: a truncated token is still a leak.
        let head = &secret[..secret.len().min(40)];
        assert!(!logs.contains(head), "{what} is in the logs");
        for span in &all_spans {
            for s in span_strings(span) {
                assert!(!s.contains(head), "{what} is in span {}: {s}", span.name);
            }
        }
    }
    for span in &all_spans {
        for kv in &span.attributes {
            let key = kv.key.as_str().to_ascii_lowercase();
            assert!(
                !key.contains("authorization")
                    && !key.contains("assertion")
                    && !key.contains("body"),
                "span {} records {key}",
                span.name
            );
        }
    }

    world.stop().await;
}
