//! `GET /admin/v1/audit` on a real two-domain world (issue 6): filters by time, agent and
//! decision; JSON and JSON lines; admin token required; bad parameters refused. And no event of
//! either domain carries a key, a token or an assertion after a full grant flow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oauth_common;

use oauth_common::*;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::Value;

async fn get(w: &World, query: &str, accept: Option<&str>) -> reqwest::Response {
    let mut r = w
        .http
        .get(format!("{}/admin/v1/audit{query}", w.beta))
        .bearer_auth(ADMIN);
    if let Some(a) = accept {
        r = r.header(header::ACCEPT, a);
    }
    r.send().await.unwrap()
}

async fn events(w: &World, query: &str) -> Vec<Value> {
    let r = get(w, query, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn audit_export_filters_by_time_agent_and_decision_as_json_and_json_lines() {
    let w = start().await;
    let agent = w.agent().await;
    let other = w.agent().await;
    let (status, body) = w.client_credentials(&agent, "logs:read", &w.resource).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = w
        .client_credentials(&agent, "logs:read", "https://mcp.other.test/mcp")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = w.client_credentials(&other, "logs:read", &w.resource).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // No admin token: 401, nothing listed.
    let r = w
        .http
        .get(format!("{}/admin/v1/audit", w.beta))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let all = events(&w, "?limit=1000").await;
    assert!(all.len() >= 6, "{all:?}");
    let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|p| p[0] < p[1]));
    assert!(all.iter().all(|e| e["hash"].as_str().unwrap().len() == 64));

    // Agent + decision.
    let agent_q = form_encode(&[("agent", &agent.client_id), ("decision", "deny")]);
    let denied = events(&w, &format!("?{agent_q}")).await;
    assert!(!denied.is_empty());
    assert!(
        denied
            .iter()
            .all(|e| e["client_id"] == agent.client_id.as_str() && e["decision"] == "deny")
    );
    let agent_q = form_encode(&[("agent", &agent.client_id), ("decision", "allow")]);
    let allowed = events(&w, &format!("?{agent_q}")).await;
    assert!(allowed.iter().any(|e| e["kind"] == "grant.issued"));
    assert!(
        allowed
            .iter()
            .all(|e| e["client_id"] == agent.client_id.as_str() && e["decision"] == "allow")
    );
    let other_q = form_encode(&[("agent", &other.client_id)]);
    assert!(
        events(&w, &format!("?{other_q}"))
            .await
            .iter()
            .all(|e| e["client_id"] == other.client_id.as_str())
    );

    // Time range: everything is before the far future, nothing after it.
    let future = form_encode(&[("since", "2999-01-01T00:00:00Z")]);
    assert!(events(&w, &format!("?{future}")).await.is_empty());
    let past = form_encode(&[("until", "2999-01-01T00:00:00Z"), ("limit", "1000")]);
    assert_eq!(events(&w, &format!("?{past}")).await.len(), all.len());
    let mid = all[all.len() / 2]["at"].as_str().unwrap().to_owned();
    let since_mid = events(
        &w,
        &format!("?{}", form_encode(&[("since", &mid), ("limit", "1000")])),
    )
    .await;
    assert!(!since_mid.is_empty() && since_mid.len() < all.len());
    assert!(
        since_mid
            .iter()
            .all(|e| e["at"].as_str().unwrap() >= mid.as_str())
    );

    // Paging: limit 2, then after the cursor.
    let r = get(&w, "?limit=2", None).await;
    let page: Value = r.json().await.unwrap();
    let next = page["next_after_seq"].as_i64().unwrap();
    assert_eq!(next, seqs[1]);
    let rest = events(&w, &format!("?after_seq={next}&limit=1000")).await;
    assert_eq!(rest.len(), all.len() - 2);

    // JSON lines, by parameter and by Accept: the same events, one per line.
    for (q, accept) in [
        ("?limit=1000&format=jsonl", None),
        ("?limit=1000", Some("application/x-ndjson")),
    ] {
        let r = get(&w, q, accept).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/x-ndjson");
        let text = r.text().await.unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, all);
    }

    // Bad parameters: 400 problem.
    for q in [
        "?since=yesterday",
        "?limit=0",
        "?limit=10001",
        "?after_seq=-1",
        "?format=csv",
        "?agent=",
        "?client=x",
    ] {
        let r = get(&w, q, None).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
    w.stop().await;
}

/// After registration, issuance, grants, a denial, a resource call and introspection, no event
/// of either domain contains a JWT/JWS (`eyJ`), the access token, the client assertion or any
/// private-key member.
#[tokio::test]
async fn no_key_token_or_assertion_is_ever_in_an_audit_event() {
    let w = start().await;
    let agent = w.agent().await;
    let (status, body) = w.client_credentials(&agent, "logs:read", &w.resource).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(w.call_resource(&token).await.status(), StatusCode::OK);
    let (status, _) = w.client_credentials(&agent, "admin:all", &w.resource).await;
    assert_ne!(status, StatusCode::OK);
    let assertion = w.assertion(&agent);
    let r = w
        .post_form(
            "/introspect",
            &[
                ("token", &token),
                ("client_id", &agent.client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &assertion),
            ],
        )
        .await;
    assert!(r.status().is_success() || r.status().is_client_error());
    // A bad assertion (garbage JWS) is denied and must not be echoed either.
    let r = w
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &agent.client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
                ("scope", "logs:read"),
                ("resource", &w.resource),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let events = w.all_events().await;
    assert!(events.len() >= 8, "{}", events.len());
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "credential.issued",
        "grant.decision",
        "grant.issued",
        "grant.denied",
    ] {
        assert!(kinds.contains(&kind), "{kind} not in {kinds:?}");
    }
    let private = agent.key.to_private_jwk_json();
    let private: Value = serde_json::from_str(&private).unwrap();
    let d = private["d"].as_str().unwrap();
    for e in &events {
        let text = serde_json::to_string(e).unwrap();
        assert!(!text.contains("eyJ"), "a JOSE object in {text}");
        assert!(!text.contains(&token), "the access token in {text}");
        assert!(!text.contains(&assertion), "the assertion in {text}");
        assert!(!text.contains(d), "private key material in {text}");
        assert!(!text.contains("\"d\":"), "a private JWK member in {text}");
    }
    w.stop().await;
}
