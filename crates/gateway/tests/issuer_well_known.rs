//! The key publication routes over real HTTPS, backed by the real issuer: did.json, jwks.json
//! and jwt-vc-issuer with their media types and caching headers; credentials issued by the
//! domain verify against what is fetched; a rotated key is published next to the old one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod issuer_common;

use chrono::{TimeDelta, Utc};
use crossauthz_credentials::did_web::{DidDocument, Jwks, JwtVcIssuerMetadata};
use crossauthz_credentials::sd_jwt::{self, KeyBindingPolicy, VerifyOptions};
use crossauthz_credentials::vc_jwt;
use crossauthz_proto::common::CredentialFormat;
use issuer_common::Stack;
use reqwest::header;
use serde_json::Value;

async fn fetch(s: &Stack, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut req = s.http.get(s.url(path));
    if let Some(a) = accept {
        req = req.header(header::ACCEPT, a);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(
        r.headers()[header::CACHE_CONTROL],
        "public, max-age=60",
        "{path}"
    );
    assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    r
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned()
}

async fn did_document(s: &Stack) -> DidDocument {
    let r = fetch(s, "/.well-known/did.json", None).await;
    let doc: Value = r.json().await.unwrap();
    DidDocument::parse(&doc, &s.did).unwrap()
}

// DESIGN §4: /.well-known/did.json (application/did+json or application/json),
// /.well-known/jwks.json (application/jwk-set+json or application/json),
// /.well-known/jwt-vc-issuer (application/json; V5: issuer = the public URL, inline jwks).
#[tokio::test]
async fn issuer_well_known_documents_are_served_with_media_types_and_cache_control() {
    let s = Stack::start().await;
    let r = fetch(&s, "/.well-known/did.json", None).await;
    assert_eq!(content_type(&r), "application/did+json");
    let doc: Value = r.json().await.unwrap();
    let parsed = DidDocument::parse(&doc, &s.did).unwrap();
    assert_eq!(parsed.keys().count(), 1);
    let r = fetch(&s, "/.well-known/did.json", Some("application/json")).await;
    assert_eq!(content_type(&r), "application/json");

    let r = fetch(&s, "/.well-known/jwks.json", None).await;
    assert_eq!(content_type(&r), "application/jwk-set+json");
    let jwks = Jwks::from_json(&r.json::<Value>().await.unwrap()).unwrap();
    assert_eq!(jwks.keys().len(), 1);
    let r = fetch(&s, "/.well-known/jwks.json", Some("application/json")).await;
    assert_eq!(content_type(&r), "application/json");

    let r = fetch(&s, "/.well-known/jwt-vc-issuer", None).await;
    assert_eq!(content_type(&r), "application/json");
    let md = JwtVcIssuerMetadata::from_json(&r.json::<Value>().await.unwrap(), &s.base).unwrap();
    assert_eq!(md.issuer, s.base);
    s.stop().await;
}

// J1/V1: credentials the domain issues verify against the did.json fetched over HTTPS; after a
// rotation (admin REST) both the old and the new key are published and both credentials verify.
#[tokio::test]
async fn issuer_credentials_verify_against_the_fetched_did_document_across_a_rotation() {
    let s = Stack::start().await;
    let old = s.issue(CredentialFormat::VcJwt).await;
    let old_sd = s.issue(CredentialFormat::DcSdJwt).await;
    let r = s
        .post_json(
            "/admin/v1/keys/rotate",
            Some(serde_json::json!({"reason": "test"})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let new = s.issue(CredentialFormat::VcJwt).await;
    assert_ne!(old.kid, new.kid);
    let doc = did_document(&s).await;
    assert_eq!(doc.keys().count(), 2);
    let now = Utc::now();
    for c in [&old, &new] {
        let v = vc_jwt::verify(&c.credential, &doc, now, TimeDelta::seconds(5)).unwrap();
        assert_eq!(v.issuer, s.did);
    }
    let v = sd_jwt::verify(
        &old_sd.credential,
        &doc,
        &VerifyOptions {
            now,
            skew: TimeDelta::seconds(5),
            key_binding: KeyBindingPolicy::NotRequired,
        },
    )
    .unwrap();
    assert_eq!(v.kid, old_sd.kid);
    let jwks: Value = fetch(&s, "/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    let jwks = Jwks::from_json(&jwks).unwrap();
    jwks.find(&old.kid).unwrap();
    jwks.find(&new.kid).unwrap();
    s.stop().await;
}
