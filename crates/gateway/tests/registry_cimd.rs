//! The hosted Client ID Metadata Document over real HTTPS (test CA, `alpha.localhost` on
//! loopback), through the gateway, the real registry, issuer and status-list services and real
//! Postgres: the whole lifecycle of DESIGN §4 / issue 4, then the HTTP caching rules and the
//! failure answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod registry_common;

use chrono::TimeDelta;
use crossauthz_core::cimd::{CimdLimits, parse_fetched};
use crossauthz_core::clock::Clock;
use crossauthz_credentials::vc_jwt;
use registry_common::*;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

#[tokio::test]
async fn hosted_document_lifecycle_over_https() {
    let stack = Stack::start().await;
    let (_key, jwk) = agent_key("agent-key-1");

    // Onboarding in one request: the agent and its first credential.
    let mut body = agent_body(&jwk);
    body["credential"] = json!({"format": "vc+jwt"});
    let r = stack
        .admin(Method::POST, "/agents")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let agent: Value = r.json().await.unwrap();
    let id = agent["id"].as_str().unwrap().to_owned();
    let client_id = agent["client_id"].as_str().unwrap().to_owned();
    assert_eq!(
        client_id,
        stack.url(&format!("/agents/{id}/client-metadata.json"))
    );
    assert_eq!(agent["version"], 1);
    let credential_id = agent["credential"]["id"].as_str().unwrap().to_owned();

    // Fetch the client_id URL itself, as a foreign AS does.
    let r = stack.http.get(&client_id).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(r.headers()[header::CACHE_CONTROL], "public, max-age=300");
    assert!(r.headers().contains_key(header::LAST_MODIFIED));
    let etag = r.headers()[header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "a strong validator");
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.len() <= 5 * 1024, "C12");
    // C1–C5, C10, C12, M2, M7: the same parser a foreign AS uses, against the fetched URL.
    let validated = parse_fetched(&bytes, &client_id, &CimdLimits::default()).unwrap();
    assert_eq!(
        validated.document.client_name.as_deref(),
        Some("Log reader")
    );
    assert_eq!(
        validated.document.token_endpoint_auth_method.as_deref(),
        Some("private_key_jwt")
    );
    // The vc+jwt member verifies with the domain's did.json, fetched over HTTPS.
    let vc = validated.document.vc_jwt.clone().unwrap();
    assert_eq!(vc, agent["credential"]["credential"].as_str().unwrap());
    let did = stack.did_document().await;
    let verified = vc_jwt::verify(&vc, &did, stack.clock.now(), TimeDelta::zero()).unwrap();
    assert_eq!(verified.issuer, stack.did);
    assert_eq!(verified.vc["credentialSubject"]["id"], client_id.as_str());

    // Conditional GET: the current ETag → 304 without a body.
    let r = stack
        .http
        .get(&client_id)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.headers()[header::ETAG], etag.as_str());
    assert!(r.bytes().await.unwrap().is_empty());

    // Update: a new version, the old one in the history, a new document and ETag.
    let r = stack
        .admin(Method::PATCH, &format!("/agents/{id}"))
        .json(&json!({"name": "Log reader v2", "expected_version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 2);
    let history: Value = stack
        .admin(Method::GET, &format!("/agents/{id}/history"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["document"]["name"], "Log reader");
    assert_eq!(versions[1]["document"]["name"], "Log reader v2");
    let r = stack
        .http
        .get(&client_id)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the old ETag no longer matches");
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["client_name"], "Log reader v2");
    assert_eq!(doc["vc+jwt"], vc.as_str());

    // Revoke the credential (admin REST of the issuer): the document no longer carries it.
    let r = stack
        .admin(
            Method::POST,
            &format!("/credentials/{credential_id}/revoke"),
        )
        .json(&json!({"reason": "test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = stack.http.get(&client_id).send().await.unwrap();
    let bytes = r.bytes().await.unwrap();
    let validated = parse_fetched(&bytes, &client_id, &CimdLimits::default()).unwrap();
    assert!(
        validated.document.vc_jwt.is_none(),
        "never a revoked credential"
    );

    // Delete: the document answers 404, uncacheable.
    let r = stack
        .admin(Method::DELETE, &format!("/agents/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = stack.http.get(&client_id).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        stack.registry_audit_kinds().await,
        [
            "agent.created",
            "credential.attached",
            "agent.updated",
            "agent.deleted"
        ]
    );
    stack.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let stack = Stack::start().await;
    for id in [
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string().to_uppercase(),
        "not-a-uuid".to_owned(),
    ] {
        let r = stack
            .http
            .get(stack.url(&format!("/agents/{id}/client-metadata.json")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{id}");
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }
    // A dot segment never reaches the handler (the URL is normalised away): still 404.
    let r = stack
        .http
        .get(stack.url("/agents/%2e%2e/client-metadata.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    stack.stop().await;
}

#[tokio::test]
async fn upstream_down_is_503_never_a_stale_or_unchecked_document() {
    let mut stack = Stack::start().await;
    let (_key, jwk) = agent_key("k1");
    let mut body = agent_body(&jwk);
    body["credential"] = json!({});
    let agent: Value = stack
        .admin(Method::POST, "/agents")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = agent["client_id"].as_str().unwrap().to_owned();

    // The issuer cannot confirm the credential's status: fail closed.
    stack.stop_issuer().await;
    let r = stack.http.get(&client_id).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");

    // The registry itself is down.
    stack.stop_registry().await;
    let r = stack.http.get(&client_id).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    stack.start_registry().await;
    stack.stop().await;
}
