//! Admin REST for agents over real HTTPS through the gateway, the real registry, issuer and
//! status-list services and real Postgres: authentication, RFC 9457 problems naming the rule
//! broken (and nothing stored), version conflicts, paging, issuance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod registry_common;

use registry_common::*;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

async fn problem(r: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    r.json().await.unwrap()
}

async fn agents(stack: &Stack) -> Vec<Value> {
    let v: Value = stack
        .admin(Method::GET, "/agents")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["agents"].as_array().unwrap().clone()
}

#[tokio::test]
async fn admin_agent_calls_need_the_admin_token() {
    let stack = Stack::start().await;
    let (_k, jwk) = agent_key("k1");
    for token in [None, Some("wrong-token-wrong-token")] {
        let mut req = stack
            .http
            .post(stack.url("/admin/v1/agents"))
            .json(&agent_body(&jwk));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    }
    assert!(agents(&stack).await.is_empty());
    assert!(stack.registry_audit_kinds().await.is_empty());
    stack.stop().await;
}

#[tokio::test]
async fn refused_agents_are_400_problems_naming_the_rule_and_store_nothing() {
    let stack = Stack::start().await;
    let (_k, jwk) = agent_key("k1");
    let x = jwk["x"].clone();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"jwks": {"keys": [{"kty":"OKP","crv":"Ed25519","x":x,"d":x}]}}),
            "private member",
        ),
        (
            json!({"jwks": {"keys": [{"kty":"oct","kid":"s"}]}}),
            "symmetric",
        ),
        (
            json!({"jwks": {"keys": [{"kty":"OKP","crv":"Ed25519","x":x,"alg":"none"}]}}),
            "alg: none",
        ),
        (
            json!({"jwks": {"keys": [jwk.clone(), jwk.clone()]}}),
            "more than once",
        ),
        (
            json!({"jwks_uri": "https://alpha.localhost/jwks.json"}),
            "D1",
        ),
        (json!({"redirect_uris": ["http://evil.example/cb"]}), "M7"),
        (
            json!({"redirect_uris": ["https://alpha.example/cb#f"]}),
            "fragment",
        ),
        (
            json!({"claims": {"agentName": "no scopes"}}),
            "authorizedScopes",
        ),
        (
            json!({"redirect_uris": (0..60).map(|i| format!("https://alpha.example/cb/{i}/{}", "x".repeat(60))).collect::<Vec<_>>()}),
            "C12",
        ),
    ];
    for (patch, rule) in cases {
        let mut body = agent_body(&jwk);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = stack
            .admin(Method::POST, "/agents")
            .json(&body)
            .send()
            .await
            .unwrap();
        let p = problem(r, StatusCode::BAD_REQUEST).await;
        assert!(
            p["detail"].as_str().unwrap().contains(rule),
            "{} does not name {rule}",
            p["detail"]
        );
    }
    // Not JSON, a duplicate member, an unknown member (e.g. a client secret): 400 too.
    for raw in [
        "{".to_owned(),
        r#"{"name":"a","name":"b","agentType":"tool-agent","claims":{}}"#.to_owned(),
        {
            let mut b = agent_body(&jwk);
            b["client_secret"] = json!("s");
            b.to_string()
        },
    ] {
        let r = stack
            .admin(Method::POST, "/agents")
            .header(header::CONTENT_TYPE, "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        problem(r, StatusCode::BAD_REQUEST).await;
    }
    assert!(agents(&stack).await.is_empty(), "nothing stored");
    assert!(
        stack.registry_audit_kinds().await.is_empty(),
        "no change audited"
    );
    stack.stop().await;
}

#[tokio::test]
async fn read_update_conflict_list_issue_and_delete() {
    let stack = Stack::start().await;
    let (_k, jwk) = agent_key("k1");
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut body = agent_body(&jwk);
        body["name"] = json!(format!("agent {i}"));
        let r = stack
            .admin(Method::POST, "/agents")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        assert!(r.headers().contains_key(header::LOCATION));
        ids.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let id = ids[0].clone();

    let r = stack
        .admin(Method::GET, &format!("/agents/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["agentType"], "tool-agent");
    assert_eq!(
        a["claims"]["issuerDomain"],
        stack.base.trim_start_matches("https://")
    );

    // Optimistic concurrency: the second writer of version 1 gets 409.
    let patch = |name: &str| json!({"name": name, "expected_version": 1});
    let r = stack
        .admin(Method::PATCH, &format!("/agents/{id}"))
        .json(&patch("first"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = stack
        .admin(Method::PATCH, &format!("/agents/{id}"))
        .json(&patch("second"))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::CONFLICT).await;
    // A refused update is 400 and changes nothing.
    let r = stack
        .admin(Method::PATCH, &format!("/agents/{id}"))
        .json(&json!({"redirect_uris": ["http://evil.example/cb"]}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::BAD_REQUEST).await;
    let a: Value = stack
        .admin(Method::GET, &format!("/agents/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (a["version"].clone(), a["name"].clone()),
        (json!(2), json!("first"))
    );

    // Paging with the opaque token.
    let mut seen = Vec::new();
    let mut path = "/agents?page_size=2".to_owned();
    loop {
        let page: Value = stack
            .admin(Method::GET, &path)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for a in page["agents"].as_array().unwrap() {
            seen.push(a["id"].as_str().unwrap().to_owned());
        }
        match page.get("next_page_token").and_then(Value::as_str) {
            Some(t) => path = format!("/agents?page_size=2&page_token={t}"),
            None => break,
        }
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    let r = stack
        .admin(Method::GET, "/agents?page_token=bogus")
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::BAD_REQUEST).await;

    // Issue a credential (SD-JWT VC here): 201 {id, format, credential}.
    let r = stack
        .admin(Method::POST, &format!("/agents/{id}/credentials"))
        .json(&json!({"format": "dc+sd-jwt", "validity_seconds": 600, "disclose": ["/agentName"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["format"], "dc+sd-jwt");
    assert!(c["credential"].as_str().unwrap().contains('~'));
    let r = stack
        .admin(Method::POST, &format!("/agents/{id}/credentials"))
        .json(&json!({"holder_kid": "nope"}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::BAD_REQUEST).await;

    // Delete: 200 with the revoked credentials; then 404 everywhere.
    let r = stack
        .admin(Method::DELETE, &format!("/agents/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["revoked_credential_ids"], json!([c["id"]]));
    for (method, path) in [
        (Method::GET, format!("/agents/{id}")),
        (Method::DELETE, format!("/agents/{id}")),
        (Method::GET, "/agents/not-a-uuid".to_owned()),
        (
            Method::POST,
            format!("/agents/{}/credentials", uuid::Uuid::new_v4()),
        ),
    ] {
        let r = stack.admin(method, &path).send().await.unwrap();
        problem(r, StatusCode::NOT_FOUND).await;
    }
    stack.stop().await;
}

#[tokio::test]
async fn onboarding_with_the_issuer_down_is_503_and_leaves_nothing() {
    let mut stack = Stack::start().await;
    stack.stop_issuer().await;
    let (_k, jwk) = agent_key("k1");
    let mut body = agent_body(&jwk);
    body["credential"] = json!({"format": "vc+jwt"});
    let r = stack
        .admin(Method::POST, "/agents")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(agents(&stack).await.is_empty());
    stack.stop().await;
}
