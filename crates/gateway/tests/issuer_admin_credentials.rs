//! Admin REST for the credential lifecycle and keys over real HTTPS, backed by the real issuer
//! and status-list services: JSON answers, RFC 9457 problems, and 401 without changing anything
//! when the admin token is missing or wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod issuer_common;

use crossauthz_proto::common::CredentialFormat;
use crossauthz_proto::issuer::GetCredentialRequest;
use issuer_common::Stack;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

async fn grpc_status(s: &Stack, id: &str) -> i32 {
    s.issuer()
        .get_credential(GetCredentialRequest { id: id.to_owned() })
        .await
        .unwrap()
        .into_inner()
        .status
}

fn is_problem(r: &reqwest::Response) -> bool {
    r.headers()[header::CONTENT_TYPE] == "application/problem+json"
}

// No token or a wrong one is 401 on every route, and nothing changes: the credential stays
// valid, no key is added, no audit event is written.
#[tokio::test]
async fn issuer_admin_routes_without_the_right_token_are_401_and_change_nothing() {
    let s = Stack::start().await;
    let c = s.issue(CredentialFormat::VcJwt).await;
    let before = s.audit_kinds().await;
    let routes = [
        ("GET", format!("/admin/v1/credentials/{}", c.id)),
        ("POST", format!("/admin/v1/credentials/{}/revoke", c.id)),
        ("POST", format!("/admin/v1/credentials/{}/suspend", c.id)),
        ("POST", format!("/admin/v1/credentials/{}/unsuspend", c.id)),
        ("POST", "/admin/v1/keys/rotate".to_owned()),
        ("GET", "/admin/v1/keys".to_owned()),
    ];
    for (method, path) in &routes {
        for token in [None, Some("wrong-token-wrong-token-wrong-token")] {
            let mut req = match *method {
                "GET" => s.http.get(s.url(path)),
                _ => s.http.post(s.url(path)).json(&json!({"reason": "attack"})),
            };
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
            assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
            assert!(is_problem(&r));
        }
    }
    assert_eq!(grpc_status(&s, &c.id).await, 1, "still valid");
    assert_eq!(
        s.database.issuer_store().list_keys().await.unwrap().len(),
        1
    );
    assert_eq!(s.audit_kinds().await, before);
    s.stop().await;
}

// DESIGN §4 admin table: read, suspend, unsuspend, revoke; unsuspending a revoked credential is
// a 409 problem and changes nothing (B4).
#[tokio::test]
async fn issuer_credential_lifecycle_over_admin_rest() {
    let s = Stack::start().await;
    let c = s.issue(CredentialFormat::DcSdJwt).await;
    let path = format!("/admin/v1/credentials/{}", c.id);
    let (status, v) = s.get_json(&path).await;
    assert_eq!(status, 200);
    assert_eq!(v["id"], json!(c.id));
    assert_eq!(v["format"], "dc+sd-jwt");
    assert_eq!(v["status"], "valid");
    assert_eq!(v["kid"], json!(c.kid));
    assert!(
        v["status_reference"]["uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/status/", s.base))
    );
    assert!(v["valid_until"].as_str().unwrap().ends_with('Z'));

    for (action, expected) in [
        ("suspend", "suspended"),
        ("unsuspend", "valid"),
        ("suspend", "suspended"),
    ] {
        let r = s.post_json(&format!("{path}/{action}"), None).await;
        assert_eq!(r.status(), 200, "{action}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], expected, "{action}");
    }
    let r = s
        .post_json(
            &format!("{path}/revoke"),
            Some(json!({"reason": "key compromise"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "revoked");

    let r = s.post_json(&format!("{path}/unsuspend"), None).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(is_problem(&r));
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["status"], 409);
    assert!(problem["detail"].as_str().unwrap().contains("revoked"));
    let (_, v) = s.get_json(&path).await;
    assert_eq!(v["status"], "revoked");

    let events = s
        .database
        .audit_store()
        .list(&crossauthz_store::AuditFilter {
            kind: Some("credential.revoked".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let events: Vec<_> = events.iter().filter(|e| e.service == "issuer").collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor.as_deref(), Some("admin-api"));
    assert_eq!(events[0].reason.as_deref(), Some("key compromise"));
    s.stop().await;
}

// Unknown credential: 404 problem; malformed id or body: 400 problem; nothing changes.
#[tokio::test]
async fn issuer_admin_errors_are_problems_and_change_nothing() {
    let s = Stack::start().await;
    let c = s.issue(CredentialFormat::VcJwt).await;
    let unknown = uuid::Uuid::new_v4();
    let (status, problem) = s
        .get_json(&format!("/admin/v1/credentials/{unknown}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["status"], 404);
    let r = s
        .post_json(&format!("/admin/v1/credentials/{unknown}/revoke"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(is_problem(&r));
    let r = s
        .post_json("/admin/v1/credentials/not-a-uuid/revoke", None)
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(is_problem(&r));
    let r = s
        .http
        .post(s.url(&format!("/admin/v1/credentials/{}/revoke", c.id)))
        .bearer_auth(issuer_common::ADMIN_TOKEN)
        .header(header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(is_problem(&r));
    let r = s
        .post_json("/admin/v1/keys/rotate", Some(json!({"algorithm": "RS256"})))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(grpc_status(&s, &c.id).await, 1, "still valid");
    assert_eq!(
        s.database.issuer_store().list_keys().await.unwrap().len(),
        1
    );
    assert!(
        !s.audit_kinds()
            .await
            .iter()
            .any(|k| k == "credential.revoked" || k == "key.rotated")
    );
    s.stop().await;
}

// POST /admin/v1/keys/rotate and GET /admin/v1/keys: the new key is active, the old one is
// retired with a publication window; only public key material is shown.
#[tokio::test]
async fn issuer_key_rotation_over_admin_rest() {
    let s = Stack::start().await;
    let r = s
        .post_json(
            "/admin/v1/keys/rotate",
            Some(json!({"algorithm": "ES256", "reason": "yearly"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let key: Value = r.json().await.unwrap();
    assert_eq!(key["algorithm"], "ES256");
    assert_eq!(key["active"], true);
    assert_eq!(key["public_jwk"]["crv"], "P-256");
    assert!(key["public_jwk"].get("d").is_none());
    let (status, keys) = s.get_json("/admin/v1/keys").await;
    assert_eq!(status, 200);
    let keys = keys["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let retired: Vec<_> = keys.iter().filter(|k| k["active"] == false).collect();
    assert_eq!(retired.len(), 1);
    assert!(retired[0]["publish_until"].is_string());
    assert!(retired[0]["retired_at"].is_string());
    for k in keys {
        assert!(k["public_jwk"].get("d").is_none());
    }
    assert!(s.audit_kinds().await.contains(&"key.rotated".to_owned()));
    s.stop().await;
}
