//! RFC 7591/7592 over real HTTPS through the gateway and the real registry on Postgres:
//! register → read → replace → delete with the registration access token; 401 without it, with
//! a wrong one, or for an unknown client; RFC 7591 §3.2.2 errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod registry_common;

use registry_common::*;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

#[tokio::test]
async fn d2_register_read_replace_delete_with_the_token() {
    let stack = Stack::start().await;
    let (_k, jwk) = agent_key("k1");
    let r = stack
        .http
        .post(stack.url("/register"))
        .json(&json!({
            "client_name": "legacy client",
            "redirect_uris": ["http://127.0.0.1:7777/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [jwk]}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    let reg: Value = r.json().await.unwrap();
    let client_id = reg["client_id"].as_str().unwrap().to_owned();
    let token = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!client_id.starts_with("https://"), "C14");
    assert!(reg["client_id_issued_at"].is_i64());
    assert!(reg.get("client_secret").is_none());
    let uri = reg["registration_client_uri"].as_str().unwrap().to_owned();
    assert_eq!(uri, stack.url(&format!("/register/{client_id}")));

    let r = stack
        .http
        .get(&uri)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let read: Value = r.json().await.unwrap();
    assert_eq!(read["client_name"], "legacy client");
    assert_eq!(read["registration_access_token"], token.as_str());

    let r = stack
        .http
        .put(&uri)
        .bearer_auth(&token)
        .json(&json!({
            "client_id": client_id,
            "client_name": "renamed",
            "redirect_uris": ["https://client.example/cb"],
            "token_endpoint_auth_method": "none"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let replaced: Value = r.json().await.unwrap();
    assert_eq!(replaced["client_name"], "renamed");
    assert!(replaced.get("jwks").is_none(), "full replacement");

    let r = stack
        .http
        .delete(&uri)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = stack
        .http
        .get(&uri)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        stack.registry_audit_kinds().await,
        ["dcr.registered", "dcr.updated", "dcr.deleted"]
    );
    stack.stop().await;
}

#[tokio::test]
async fn d2_no_token_wrong_token_or_unknown_client_is_401() {
    let stack = Stack::start().await;
    let reg: Value = stack
        .http
        .post(stack.url("/register"))
        .json(&json!({"redirect_uris": ["https://client.example/cb"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uri = reg["registration_client_uri"].as_str().unwrap().to_owned();
    let token = reg["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown = stack.url("/register/dcr-0000");
    let body = json!({"client_id": reg["client_id"], "redirect_uris": ["https://x.example/cb"]});
    for (url, auth) in [
        (uri.as_str(), None),
        (uri.as_str(), Some("wrong")),
        (uri.as_str(), Some(&format!("{token}A")[..])),
        (unknown.as_str(), Some(token.as_str())),
    ] {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
        ] {
            let mut req = stack.http.request(method.clone(), url).json(&body);
            if let Some(t) = auth {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {url} {auth:?}"
            );
            assert!(
                r.headers()[header::WWW_AUTHENTICATE]
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer")
            );
            let e: Value = r.json().await.unwrap();
            assert_eq!(e["error"], "invalid_token");
        }
    }
    // Untouched.
    let r = stack
        .http
        .get(&uri)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(stack.registry_audit_kinds().await, ["dcr.registered"]);
    stack.stop().await;
}

#[tokio::test]
async fn d1_refused_registrations_are_rfc7591_errors() {
    let stack = Stack::start().await;
    for (metadata, code) in [
        (
            json!({"token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ["https://c.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_secret": "x", "redirect_uris": ["https://c.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
    ] {
        let r = stack
            .http
            .post(stack.url("/register"))
            .json(&metadata)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"], code, "{metadata}");
        assert!(e["error_description"].is_string());
    }
    let r = stack
        .http
        .post(stack.url("/register"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(stack.registry_audit_kinds().await.is_empty());
    stack.stop().await;
}
