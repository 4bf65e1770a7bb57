//! `/metrics` in start-dev: on the public listener, only with the domain's admin bearer token;
//! after a grant and a denial it shows the grant, denial, decision, status-check, fetch-latency
//! and cache counters with their labels. Metrics are process-wide, hence this test's own binary
//! (one test: the counts below are exact).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod two_dev_domains;

use two_dev_domains::World;

/// The value of the sample whose line starts with `series` (name and labels, as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_need_the_admin_token_and_count_grants_denials_fetches_and_status_checks() {
    let world = World::start().await;
    world.configure_beta().await;
    let agent = world.agent().await;
    let beta = world.beta.base();

    // The public listener answers /metrics only to the admin token of its own domain.
    let (status, _) = world.get(&world.beta, "/metrics", None).await;
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
    let (status, _) = world
        .get(&world.beta, "/metrics", Some(world.alpha.admin_token()))
        .await;
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
    let r = world
        .http
        .get(format!("{beta}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap().starts_with("Bearer")),
        "{:?}",
        r.headers()
    );

    // A grant, then the same assertion again: refused as a replay.
    let assertion = world.assertion_for(&agent, &beta);
    let (status, body) = world
        .client_credentials(&agent, &assertion, "logs:read")
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let (status, body) = world
        .client_credentials(&agent, &assertion, "logs:read")
        .await;
    assert!(status.is_client_error(), "{status} {body}");

    let r = world
        .http
        .get(format!("{beta}/metrics"))
        .bearer_auth(world.beta.admin_token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(
        r.headers()["content-type"],
        crossauthz_telemetry::metrics::CONTENT_TYPE
    );
    let text = r.text().await.unwrap();

    let exactly = [
        (
            r#"crossauthz_grants_total{grant_type="client_credentials"}"#,
            1.0,
        ),
        (
            r#"crossauthz_grant_denials_total{grant_type="client_credentials",reason="assertion_replayed"}"#,
            1.0,
        ),
        (
            r#"crossauthz_decisions_total{decision="allow",reason="granted"}"#,
            1.0,
        ),
        (
            r#"crossauthz_decisions_total{decision="deny",reason="assertion_replayed"}"#,
            1.0,
        ),
        // Only the grant got as far as the credential's status.
        (r#"crossauthz_status_checks_total{outcome="valid"}"#, 1.0),
        // The grant fetched the client's document; the replay found it in the cache.
        (
            r#"crossauthz_fetch_cache_misses_total{kind="client_metadata"}"#,
            1.0,
        ),
        (
            r#"crossauthz_fetch_cache_hits_total{kind="client_metadata"}"#,
            1.0,
        ),
        (
            r#"crossauthz_fetch_duration_seconds_count{kind="client_metadata",outcome="ok"}"#,
            1.0,
        ),
        (
            r#"crossauthz_fetch_duration_seconds_count{kind="did_document",outcome="ok"}"#,
            1.0,
        ),
        // The agent's vc+jwt credential names two Bitstring Status Lists (revocation and
        // suspension), each fetched once.
        (
            r#"crossauthz_fetch_duration_seconds_count{kind="status_list_credential",outcome="ok"}"#,
            2.0,
        ),
        (
            r#"crossauthz_fetch_cache_misses_total{kind="status_list_credential"}"#,
            2.0,
        ),
    ];
    for (series, value) in exactly {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    }
    // Labels are bounded codes: no client_id or URL.
    assert!(!text.contains(&agent.client_id), "{text}");
    assert!(!text.contains("https://"), "{text}");

    world.stop().await;
}
