//! The example resource server over real HTTPS on loopback, against an AS stand-in (a static
//! router serving RFC 8414 metadata and a JWKS of a key the test generates): RFC 9728 metadata
//! (A2, M6), RFC 6750 challenges (M6), RFC 9068 validation (M5 audience binding, typ, alg,
//! signature, lifetime, issuer, kid) and the JWKS cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use common::{Fixture, challenge};
use crossauthz_core::scope::ScopeSet;
use crossauthz_credentials::jose::{b64url_encode, sign_compact};
use crossauthz_credentials::{Algorithm, JoseError, SigningKey};
use crossauthz_resource::{AuthError, FetchError, ResourceMetadata, TokenError};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn logs_read() -> ScopeSet {
    ScopeSet::parse("logs:read").unwrap()
}

fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    h
}

/// The library's verdict on `token` for `logs:read`.
async fn verdict(f: &Fixture, token: &str) -> Result<(), AuthError> {
    f.resource
        .authorize(&bearer(token), &logs_read())
        .await
        .map(|_| ())
}

/// Over HTTPS: 401 with `error="invalid_token"`, the metadata URL and the needed scope.
async fn assert_invalid_token_over_https(f: &Fixture, token: &str) {
    let r = f.call(Some(token)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let c = challenge(&r);
    assert!(c.starts_with("Bearer error=\"invalid_token\""), "{c}");
    assert!(
        c.contains(&format!("resource_metadata=\"{}\"", f.metadata_url())),
        "{c}"
    );
    assert!(c.ends_with("scope=\"logs:read\""), "{c}");
}

// A2 (RFC 9728 §3.1, §3.3): the path-suffixed well-known URL; `resource` equals the identifier
// the URL is built from. M6: at least one authorization server.
#[tokio::test]
async fn a2_metadata_is_served_at_the_path_suffixed_well_known_url() {
    let f = Fixture::start().await;
    let r = f.http.get(f.metadata_url()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: Value = r.json().await.unwrap();
    assert_eq!(
        doc,
        json!({
            "resource": f.resource_id,
            "authorization_servers": [f.issuer],
            "scopes_supported": ["logs:read", "logs:write"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Example MCP server",
        })
    );
    let typed: ResourceMetadata = serde_json::from_value(doc).unwrap();
    assert_eq!(&typed, f.resource.metadata());
    assert_eq!(f.resource.metadata_url().as_str(), f.metadata_url());
    f.stop().await;
}

// M6: clients try the path form, then the root form; another suffix is not this resource.
#[tokio::test]
async fn m6_metadata_is_also_served_at_the_root_well_known_url() {
    let f = Fixture::start().await;
    let r = f
        .http
        .get(f.url("/.well-known/oauth-protected-resource"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["resource"], json!(f.resource_id));
    assert_eq!(doc["authorization_servers"], json!([f.issuer]));
    let other = f
        .http
        .get(f.url("/.well-known/oauth-protected-resource/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    f.stop().await;
}

// M6, RFC 9728 §5.1, RFC 6750 §3.1: no token → 401, challenge with resource_metadata and scope,
// no error code; nothing is fetched from the AS.
#[tokio::test]
async fn m6_missing_token_gets_401_with_resource_metadata_and_scope() {
    let f = Fixture::start().await;
    let r = f.call(None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge(&r),
        format!(
            "Bearer resource_metadata=\"{}\", scope=\"logs:read\"",
            f.metadata_url()
        )
    );
    assert_eq!(
        verdict(&f, "").await,
        Err(AuthError::InvalidToken(TokenError::Jose(
            JoseError::NotCompact
        )))
    );
    assert_eq!(
        f.resource.authorize(&HeaderMap::new(), &logs_read()).await,
        Err(AuthError::MissingToken)
    );
    assert_eq!(f.jwks_hits(), 0);
    f.stop().await;
}

// RFC 9068 §2.1, §4: the explicit type must be `at+jwt`; an ID token or a credential JWT is not
// an access token.
#[tokio::test]
async fn rfc9068_wrong_typ_is_refused() {
    let f = Fixture::start().await;
    for typ in ["JWT", "vc+jwt", "id_token+jwt"] {
        let t = sign_compact(&f.key, typ, Some(&f.kid), &f.claims("logs:read")).unwrap();
        assert!(matches!(
            verdict(&f, &t).await,
            Err(AuthError::InvalidToken(TokenError::Jose(
                JoseError::WrongType { .. }
            )))
        ));
        assert_invalid_token_over_https(&f, &t).await;
    }
    // `application/at+jwt` is the same type (RFC 9068 §2.1).
    let t = sign_compact(
        &f.key,
        "application/at+jwt",
        Some(&f.kid),
        &f.claims("logs:read"),
    )
    .unwrap();
    assert_eq!(verdict(&f, &t).await, Ok(()));
    f.stop().await;
}

// J3 (alg allowlist, RFC 8725 §3.1): `none` and HS256 are refused before any key is used.
#[tokio::test]
async fn j3_alg_none_and_hs256_are_refused() {
    let f = Fixture::start().await;
    let payload = b64url_encode(f.claims("logs:read").to_string().as_bytes());
    for (alg, sig) in [
        ("none", String::new()),
        ("HS256", b64url_encode(&[7u8; 32])),
    ] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": f.kid});
        let t = format!(
            "{}.{payload}.{sig}",
            b64url_encode(header.to_string().as_bytes())
        );
        assert_eq!(
            verdict(&f, &t).await,
            Err(AuthError::InvalidToken(TokenError::Jose(
                JoseError::DisallowedAlgorithm(alg.to_owned())
            )))
        );
        assert_invalid_token_over_https(&f, &t).await;
    }
    assert_eq!(
        f.jwks_hits(),
        0,
        "a refused alg never reaches the key lookup"
    );
    f.stop().await;
}

// RFC 9068 §4: the signature must verify with the AS's key named by `kid`.
#[tokio::test]
async fn rfc9068_bad_signature_is_refused() {
    let f = Fixture::start().await;
    let forger = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let forged = sign_compact(&forger, "at+jwt", Some(&f.kid), &f.claims("logs:read")).unwrap();
    assert_eq!(
        verdict(&f, &forged).await,
        Err(AuthError::InvalidToken(TokenError::Jose(
            JoseError::BadSignature
        )))
    );
    assert_invalid_token_over_https(&f, &forged).await;
    // A genuine token whose payload was changed (scope widened).
    let genuine = f.token("logs:read");
    let parts: Vec<&str> = genuine.split('.').collect();
    let widened = b64url_encode(f.claims("logs:read logs:write").to_string().as_bytes());
    let tampered = format!("{}.{widened}.{}", parts[0], parts[2]);
    assert_eq!(
        verdict(&f, &tampered).await,
        Err(AuthError::InvalidToken(TokenError::Jose(
            JoseError::BadSignature
        )))
    );
    // An ES256 key must not verify an EdDSA-labelled token and vice versa.
    let es = SigningKey::generate(Algorithm::ES256).unwrap();
    f.publish(&[(&es, f.kid.as_str())]);
    f.advance(301); // past jwks_cache_seconds: the set is fetched again
    let t = f.token("logs:read");
    assert!(matches!(
        verdict(&f, &t).await,
        Err(AuthError::InvalidToken(TokenError::Jose(
            JoseError::AlgorithmKeyMismatch { .. }
        )))
    ));
    f.stop().await;
}

// RFC 9068 §4: `exp` must be in the future (bounded skew, injected clock).
#[tokio::test]
async fn rfc9068_expired_token_is_refused() {
    let f = Fixture::start().await;
    let token = f.token("logs:read");
    assert_eq!(f.call(Some(&token)).await.status(), StatusCode::OK);
    f.advance(300 + 60); // exp + the 60 s skew
    assert!(matches!(
        verdict(&f, &token).await,
        Err(AuthError::InvalidToken(TokenError::Expired { .. }))
    ));
    assert_invalid_token_over_https(&f, &token).await;
    let r = f.call(Some(&token)).await;
    assert!(challenge(&r).contains("error_description=\"The access token expired\""));
    f.stop().await;
}

// M5 (RFC 8707, RFC 9068 §4): a token for another resource is refused (audience-bound, no
// passthrough); the upper-case scheme/host spelling of this resource is accepted.
#[tokio::test]
async fn m5_token_for_another_resource_is_refused() {
    let f = Fixture::start().await;
    let mut claims = f.claims("logs:read");
    claims["aud"] = json!(format!("https://mcp2.localhost:{}/mcp", f.rs_addr.port()));
    let t = f.sign(&claims);
    assert_eq!(
        verdict(&f, &t).await,
        Err(AuthError::InvalidToken(TokenError::WrongAudience))
    );
    assert_invalid_token_over_https(&f, &t).await;
    claims["aud"] = json!(f.issuer); // a token for the AS itself
    assert_eq!(
        verdict(&f, &f.sign(&claims)).await,
        Err(AuthError::InvalidToken(TokenError::WrongAudience))
    );
    claims["aud"] = json!([
        "https://elsewhere.example/api",
        f.resource_id
            .replace("https://mcp.localhost", "HTTPS://MCP.LOCALHOST")
    ]);
    let upper = f.sign(&claims);
    assert_eq!(verdict(&f, &upper).await, Ok(()));
    assert_eq!(f.call(Some(&upper)).await.status(), StatusCode::OK);
    f.stop().await;
}

// RFC 9068 §4: `iss` must be one of this resource's authorization servers; an unknown issuer is
// refused before any key is fetched (a token cannot choose where the server fetches keys).
#[tokio::test]
async fn m6_token_from_an_unlisted_issuer_is_refused_without_fetching() {
    let f = Fixture::start().await;
    let mut claims = f.claims("logs:read");
    claims["iss"] = json!("https://evil.localhost");
    let t = f.sign(&claims);
    assert_eq!(
        verdict(&f, &t).await,
        Err(AuthError::InvalidToken(TokenError::UntrustedIssuer(
            "https://evil.localhost".into()
        )))
    );
    assert_invalid_token_over_https(&f, &t).await;
    assert_eq!(f.jwks_hits(), 0);
    assert_eq!(f.as_state.metadata_hits.load(Ordering::SeqCst), 0);
    f.stop().await;
}

// RFC 9068 §4 + key rotation: an unknown kid triggers ONE refresh; further unknown kids within
// the refresh interval are answered from the cache (no AS flood); after the interval a rotated
// key is found.
#[tokio::test]
async fn m6_unknown_kid_is_refused_after_one_jwks_refresh() {
    let f = Fixture::start().await;
    assert_eq!(
        f.call(Some(&f.token("logs:read"))).await.status(),
        StatusCode::OK
    );
    assert_eq!(f.jwks_hits(), 1);
    // Right after a fetch an unknown kid is not worth asking about again.
    let early = sign_compact(&f.key, "at+jwt", Some("made-up-0"), &f.claims("logs:read")).unwrap();
    assert_eq!(
        verdict(&f, &early).await,
        Err(AuthError::InvalidToken(TokenError::UnknownKid(
            "made-up-0".into()
        )))
    );
    assert_eq!(
        f.jwks_hits(),
        1,
        "no refresh within the interval after the last fetch"
    );

    f.advance(30);
    let claims = f.claims("logs:read");
    let t1 = sign_compact(&f.key, "at+jwt", Some("made-up-1"), &claims).unwrap();
    assert_eq!(
        verdict(&f, &t1).await,
        Err(AuthError::InvalidToken(TokenError::UnknownKid(
            "made-up-1".into()
        )))
    );
    assert_eq!(f.jwks_hits(), 2, "one refresh for the unknown kid");
    for i in 2..20 {
        let t = sign_compact(&f.key, "at+jwt", Some(&format!("made-up-{i}")), &claims).unwrap();
        assert_invalid_token_over_https(&f, &t).await;
    }
    assert_eq!(f.jwks_hits(), 2, "refreshes are rate-limited");

    // Rotation: the AS publishes a new ES256 key; after the interval the new kid is fetched.
    let next = SigningKey::generate(Algorithm::ES256).unwrap();
    f.publish(&[(&f.key, f.kid.as_str()), (&next, "as-key-2")]);
    f.advance(30);
    let rotated = sign_compact(&next, "at+jwt", Some("as-key-2"), &f.claims("logs:read")).unwrap();
    assert_eq!(f.call(Some(&rotated)).await.status(), StatusCode::OK);
    assert_eq!(f.jwks_hits(), 3);
    // A token without `kid` is refused as such.
    let no_kid = sign_compact(&f.key, "at+jwt", None, &claims).unwrap();
    assert_eq!(
        verdict(&f, &no_kid).await,
        Err(AuthError::InvalidToken(TokenError::MissingKid))
    );
    f.stop().await;
}

// M6, RFC 6750 §3.1: a valid token without the needed scope → 403 insufficient_scope with the
// scope in the challenge.
#[tokio::test]
async fn m6_insufficient_scope_gets_403() {
    let f = Fixture::start().await;
    let t = f.token("logs:write");
    let r = f.call(Some(&t)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        challenge(&r),
        format!(
            "Bearer error=\"insufficient_scope\", error_description=\"The access token lacks a required scope\", resource_metadata=\"{}\", scope=\"logs:read\"",
            f.metadata_url()
        )
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");
    assert!(matches!(
        verdict(&f, &t).await,
        Err(AuthError::InsufficientScope { granted, .. }) if granted.contains_str("logs:write")
    ));
    f.stop().await;
}

// M5/M6: the right scope passes, and the validated claims reach the handler.
#[tokio::test]
async fn m5_valid_token_with_scope_reaches_the_handler_with_its_claims() {
    let f = Fixture::start().await;
    let claims = f.claims("logs:read logs:write");
    let r = f.call(Some(&f.sign(&claims))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], 1);
    let caller = &body["result"]["caller"];
    assert_eq!(caller["client_id"], claims["client_id"]);
    assert_eq!(caller["scope"], "logs:read logs:write");
    assert_eq!(caller["iss"], json!(f.issuer));
    assert_eq!(caller["jti"], claims["jti"]);
    assert!(body["result"]["entries"].as_array().unwrap().len() >= 2);
    let typed = f
        .resource
        .authorize(&bearer(&f.sign(&claims)), &logs_read())
        .await
        .unwrap();
    assert_eq!(typed.claims["issuer_domain"], "alpha.localhost");
    assert_eq!(typed.subject.as_deref(), claims["sub"].as_str());
    f.stop().await;
}

// The JWKS (and the AS metadata) are fetched once for many concurrent requests, and again only
// after the cache time.
#[tokio::test]
async fn m6_jwks_is_fetched_once_for_many_requests() {
    let f = Arc::new(Fixture::start().await);
    let token = f.token("logs:read");
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let f = f.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(
            async move { f.call(Some(&token)).await.status() },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(f.jwks_hits(), 1);
    assert_eq!(f.as_state.metadata_hits.load(Ordering::SeqCst), 1);
    f.advance(299);
    assert_eq!(
        f.call(Some(&f.token("logs:read"))).await.status(),
        StatusCode::OK
    );
    assert_eq!(f.jwks_hits(), 1, "still within jwks_cache_seconds");
    f.advance(1);
    assert_eq!(
        f.call(Some(&f.token("logs:read"))).await.status(),
        StatusCode::OK
    );
    assert_eq!(f.jwks_hits(), 2, "refetched after jwks_cache_seconds");
    assert_eq!(
        f.as_state.metadata_hits.load(Ordering::SeqCst),
        1,
        "jwks_uri is kept"
    );
    Arc::into_inner(f).unwrap().stop().await;
}

// Keys that cannot be obtained are not a verdict on the token: 503, fail closed, and the AS is
// not retried before the interval.
#[tokio::test]
async fn keys_unavailable_is_503_and_retried_only_after_the_interval() {
    let f = Fixture::start().await;
    f.as_state.broken.store(true, Ordering::SeqCst);
    let token = f.token("logs:read");
    assert_eq!(
        verdict(&f, &token).await,
        Err(AuthError::InvalidToken(TokenError::KeysUnavailable(
            FetchError::Status(500)
        )))
    );
    let r = f.call(Some(&token)).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get(reqwest::header::WWW_AUTHENTICATE).is_none());
    assert_eq!(f.jwks_hits(), 1, "the second request did not retry");
    f.as_state.broken.store(false, Ordering::SeqCst);
    f.advance(30);
    assert_eq!(
        f.call(Some(&f.token("logs:read"))).await.status(),
        StatusCode::OK
    );
    assert_eq!(f.jwks_hits(), 2);
    f.stop().await;
}

// RFC 8414 §3.3: AS metadata naming another issuer is refused (its jwks_uri is not used).
#[tokio::test]
async fn rfc8414_metadata_for_another_issuer_is_refused() {
    let f = Fixture::start().await;
    f.as_state.wrong_issuer.store(true, Ordering::SeqCst);
    assert!(matches!(
        verdict(&f, &f.token("logs:read")).await,
        Err(AuthError::InvalidToken(TokenError::KeysUnavailable(
            FetchError::IssuerMismatch { .. }
        )))
    ));
    assert_eq!(f.jwks_hits(), 0);
    f.stop().await;
}
