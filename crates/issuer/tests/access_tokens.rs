//! `SignAccessToken` over real gRPC (issue 5): an access-token request is signed as an RFC 9068
//! JWT (`typ: at+jwt`, `kid` = the DID URL published in the JWKS, `iss` = the public URL) that
//! the resource library's claim rules accept; anything else is refused with INVALID_ARGUMENT
//! before any signature is made.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use crossauthz_credentials::did_web::Jwks;
use crossauthz_credentials::jose::CheckedJws;
use crossauthz_proto::issuer::{
    GetPublicKeysRequest, KeyAlgorithm, RotateKeyRequest, SignAccessTokenRequest,
};
use crossauthz_resource::token::{ClaimRules, check_claims};
use serde_json::Value;
use tonic::Code;

const MCP: &str = "https://mcp.beta.localhost/mcp";
const CLIENT: &str = "https://alpha.localhost/agents/7/client-metadata.json";

fn request() -> SignAccessTokenRequest {
    SignAccessTokenRequest {
        audience: MCP.into(),
        client_id: CLIENT.into(),
        scopes: vec!["logs:read".into()],
        subject: String::new(),
        credential_id: "urn:uuid:3f0c".into(),
        issuer_domain: "alpha.localhost".into(),
        lifetime_seconds: 0,
    }
}

async fn jwks(d: &Domain) -> Jwks {
    let keys = d
        .client()
        .get_public_keys(GetPublicKeysRequest {})
        .await
        .unwrap()
        .into_inner();
    Jwks::from_json(&serde_json::from_str::<Value>(&keys.jwks_json).unwrap()).unwrap()
}

// RFC 9068 §2: typ at+jwt, iss, exp, aud, sub, client_id, iat, jti; verifiable from the JWKS.
#[tokio::test]
async fn rfc9068_access_token_is_signed_and_verifies_against_the_published_jwks() {
    let d = Domain::start().await;
    let signed = d
        .client()
        .sign_access_token(request())
        .await
        .unwrap()
        .into_inner();
    let jws = CheckedJws::decode(&signed.access_token, "at+jwt").unwrap();
    let kid = jws.header().kid.clone().unwrap();
    assert_eq!(kid, signed.kid);
    assert!(kid.starts_with(&format!("{DID}#")), "{kid}");
    jws.verify_signature(jwks(&d).await.find(&kid).unwrap())
        .unwrap();
    let (_, claims) = jws.into_parts();
    let claims = claims.as_object().unwrap().clone();
    assert_eq!(claims["iss"], PUBLIC_URL);
    assert_eq!(claims["aud"], MCP);
    assert_eq!(claims["client_id"], CLIENT);
    assert_eq!(claims["sub"], CLIENT);
    assert_eq!(claims["scope"], "logs:read");
    assert_eq!(claims["jti"], signed.jti.as_str());
    assert_eq!(claims["credential_id"], "urn:uuid:3f0c");
    assert_eq!(claims["issuer_domain"], "alpha.localhost");
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(iat, now0().timestamp());
    assert_eq!(claims["exp"].as_i64().unwrap() - iat, 300);
    // The resource library's RFC 9068 claim rules accept it for this resource.
    let rules = ClaimRules {
        resource: MCP.parse().unwrap(),
        skew: Duration::seconds(60),
        max_age: Duration::seconds(3600),
    };
    let checked = check_claims(claims, &rules, now0()).unwrap();
    assert_eq!(checked.client_id, CLIENT);

    // Every token has its own jti; after a rotation the new key signs.
    let again = d
        .client()
        .sign_access_token(request())
        .await
        .unwrap()
        .into_inner();
    assert_ne!(again.jti, signed.jti);
    d.client()
        .rotate_key(RotateKeyRequest {
            algorithm: KeyAlgorithm::Es256 as i32,
            actor: None,
        })
        .await
        .unwrap();
    let rotated = d
        .client()
        .sign_access_token(request())
        .await
        .unwrap()
        .into_inner();
    assert_ne!(rotated.kid, signed.kid);
    let jws = CheckedJws::decode(&rotated.access_token, "at+jwt").unwrap();
    jws.verify_signature(jwks(&d).await.find(&rotated.kid).unwrap())
        .unwrap();
    d.stop().await;
}

// Only the access-token shape is signed: A3 audiences, scopes, lifetime bound, claim values.
#[tokio::test]
async fn a3_sign_access_token_refuses_anything_but_an_access_token_request() {
    let d = Domain::start().await;
    let mut cases: Vec<(&str, SignAccessTokenRequest)> = Vec::new();
    for aud in [
        "",
        "/mcp",
        "https://mcp.beta.localhost/mcp#f",
        "http://mcp.beta.localhost/mcp",
        "did:web:alpha.localhost",
    ] {
        let mut r = request();
        r.audience = aud.into();
        cases.push(("audience", r));
    }
    let mut r = request();
    r.scopes.clear();
    cases.push(("no scope", r));
    let mut r = request();
    r.scopes = vec!["logs read".into()];
    cases.push(("bad scope", r));
    let mut r = request();
    r.client_id.clear();
    cases.push(("client_id", r));
    let mut r = request();
    r.lifetime_seconds = 301;
    cases.push(("lifetime above max", r));
    let mut r = request();
    r.subject = "user\u{0}".into();
    cases.push(("control character", r));
    for (what, r) in cases {
        let e = d.client().sign_access_token(r).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{what}: {e:?}");
    }
    // A configured shorter lifetime is honoured.
    let mut r = request();
    r.lifetime_seconds = 60;
    let t = d.client().sign_access_token(r).await.unwrap().into_inner();
    assert_eq!(
        t.expires_at.unwrap().seconds - t.issued_at.unwrap().seconds,
        60
    );
    d.stop().await;
}
