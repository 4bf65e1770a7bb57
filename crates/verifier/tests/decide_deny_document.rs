//! Denials of steps 1–2 (DESIGN §6): every C1 violation, the fetch rules (C2 redirect and
//! non-200, C5 content type, C12 size, C11 special-use addresses) and the document rules (C3,
//! C4, C15), each with its own deny code; failures are never cached (C7) and leave nothing but
//! their audit record.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod decide_support;

use crossauthz_verifier::{DecideInput, codes};
use decide_support::*;
use serde_json::json;

async fn env() -> (Site, Alpha, Beta) {
    let site = Site::start().await;
    let beta = Beta::start(&site, true).await;
    let alpha = Alpha::new(&site, beta.now());
    (site, alpha, beta)
}

fn request_for(client_id: &str) -> DecideInput {
    DecideInput {
        client_id: client_id.into(),
        client_assertion: "a.b.c".into(),
        client_assertion_type: JWT_BEARER.into(),
        grant_type: "client_credentials".into(),
        requested_scopes: vec!["logs:read".into()],
        resource: MCP.into(),
        ..DecideInput::default()
    }
}

// C1 (CIMD §3): each violation has its own code and is refused before any fetch.
#[tokio::test]
async fn c1_each_client_id_violation_is_denied_with_its_own_code_before_any_fetch() {
    let (site, _alpha, beta) = env().await;
    let before = site.total_hits();
    let cases = [
        (
            "http://alpha.test/agents/1/client-metadata.json",
            codes::CLIENT_ID_NOT_HTTPS,
        ),
        ("alpha.test/agents/1", codes::CLIENT_ID_NOT_HTTPS),
        ("https:///agents/1", codes::CLIENT_ID_NO_HOST),
        (
            "https://user:pass@alpha.test/agents/1",
            codes::CLIENT_ID_USERINFO,
        ),
        ("https://alpha.test:99999/agents/1", codes::CLIENT_ID_PORT),
        ("https://alpha.test", codes::CLIENT_ID_NO_PATH),
        ("https://alpha.test/", codes::CLIENT_ID_NO_PATH),
        (
            "https://alpha.test/agents/../admin",
            codes::CLIENT_ID_DOT_SEGMENT,
        ),
        (
            "https://alpha.test/agents/%2e/x",
            codes::CLIENT_ID_DOT_SEGMENT,
        ),
        ("https://alpha.test/agents/1?x=1", codes::CLIENT_ID_QUERY),
        (
            "https://alpha.test/agents/1#frag",
            codes::CLIENT_ID_FRAGMENT,
        ),
        ("https://alpha.test/agents/1 x", codes::CLIENT_ID_MALFORMED),
        ("", codes::CLIENT_ID_NOT_HTTPS),
    ];
    for (client_id, code) in cases {
        let d = beta.decide(request_for(client_id)).await;
        assert!(!d.allowed);
        let deny = d.deny.unwrap();
        assert_eq!(deny.code, code, "{client_id:?}");
        assert_eq!(deny.oauth_error.as_str(), "invalid_client");
    }
    assert_eq!(site.total_hits(), before, "nothing was fetched");
    let decisions = beta
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == "grant.decision" && e.decision.as_deref() == Some("deny"))
        .count();
    assert_eq!(decisions, cases.len(), "one audit record per decision");
    beta.finish().await;
}

// C2 (no redirects, 200 only), C5 (JSON only), C12 (5 KB cap), C7 (errors never cached: the
// second identical request fetches again).
#[tokio::test]
async fn c2_c5_c12_fetch_failures_are_denied_and_never_cached() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(1);
    let mut redirect = Route::status(302);
    redirect
        .headers
        .push(("location".into(), "https://evil.test/doc.json".into()));
    let oversize = Route::typed("application/json", vec![b' '; 5121]);
    let cases = [
        (redirect, codes::FETCH_REDIRECT),
        (Route::status(301), codes::FETCH_REDIRECT),
        (Route::status(404), codes::FETCH_STATUS),
        (Route::status(500), codes::FETCH_STATUS),
        (Route::status(201), codes::FETCH_STATUS),
        (Route::status(204), codes::FETCH_STATUS),
        (
            Route::typed("text/html", "<html></html>"),
            codes::FETCH_CONTENT_TYPE,
        ),
        (oversize, codes::FETCH_TOO_LARGE),
    ];
    for (route, code) in cases {
        site.set(&agent.path, route.clone());
        let hits = site.hits(&agent.path);
        for attempt in 1..=2 {
            assert_eq!(
                beta.deny_code(beta.request(&agent, "j")).await,
                code,
                "{route:?}"
            );
            assert_eq!(
                site.hits(&agent.path),
                hits + attempt,
                "not cached: {route:?}"
            );
        }
    }
    assert_eq!(site.hits("/doc.json"), 0, "the redirect was not followed");
    beta.finish().await;
}

// C3 (exact client_id), C4 (no shared secrets), C15 (method omitted with keys), C10 (keys
// required): each denied with its own code; an invalid document is not cached, so the fixed
// document is fetched and accepted at once.
#[tokio::test]
async fn c3_c4_c15_document_rules_are_denied_and_invalid_documents_not_cached() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(2);
    let good = document(&agent, None);
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut d = good.clone();
        f(&mut d);
        d
    };
    let upper = agent.client_id.replace("alpha.test", "ALPHA.test");
    let cases = [
        (
            with(&|d| d["client_id"] = json!(upper)),
            codes::CLIENT_ID_MISMATCH,
        ),
        (
            with(&|d| d["client_id"] = json!(format!("{}/", agent.client_id))),
            codes::CLIENT_ID_MISMATCH,
        ),
        (
            with(&|d| {
                d["client_id"] = json!(agent.client_id.replace("alpha.test", "alpha.test:443"))
            }),
            codes::CLIENT_ID_MISMATCH,
        ),
        (
            with(&|d| d["token_endpoint_auth_method"] = json!("client_secret_basic")),
            codes::SECRET_AUTH_METHOD,
        ),
        (
            with(&|d| d["token_endpoint_auth_method"] = json!("client_secret_jwt")),
            codes::SECRET_AUTH_METHOD,
        ),
        (
            with(&|d| d["client_secret"] = json!("s3cret")),
            codes::SECRET_IN_DOCUMENT,
        ),
        (
            with(&|d| {
                d.as_object_mut()
                    .unwrap()
                    .remove("token_endpoint_auth_method");
            }),
            codes::AUTH_METHOD_MISSING,
        ),
        (
            with(&|d| {
                d.as_object_mut().unwrap().remove("jwks");
            }),
            codes::KEYS_MISSING,
        ),
        (
            with(&|d| {
                d.as_object_mut().unwrap().remove("client_name");
            }),
            codes::DOCUMENT_INVALID,
        ),
    ];
    for (doc, code) in cases {
        publish(&site, &agent, &doc);
        let hits = site.hits(&agent.path);
        assert_eq!(
            beta.deny_code(beta.request(&agent, "j")).await,
            code,
            "{doc}"
        );
        assert_eq!(site.hits(&agent.path), hits + 1);
    }
    // The valid document is fetched (nothing invalid was cached) and a plain client proceeds.
    publish(&site, &agent, &good);
    let hits = site.hits(&agent.path);
    let d = beta
        .decide(DecideInput {
            requested_scopes: vec!["status:read".into()],
            ..beta.request(&agent, "j-ok")
        })
        .await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(site.hits(&agent.path), hits + 1);
    beta.finish().await;
}

// C11 (CIMD §6.5): with loopback not allowed (production setting) a host name resolving to
// 127.0.0.1 and loopback literals are refused before any connection is made.
#[tokio::test]
async fn c11_special_use_addresses_are_refused_before_connecting() {
    let site = Site::start().await;
    let beta = Beta::start(&site, false).await;
    let alpha = Alpha::new(&site, beta.now());
    let agent = alpha.agent(3);
    publish(&site, &agent, &document(&agent, None));
    let before = site.total_hits();
    assert_eq!(
        beta.deny_code(beta.request(&agent, "j")).await,
        codes::SSRF_BLOCKED
    );
    for literal in [
        "https://127.0.0.2/agents/1/client-metadata.json",
        "https://[::1]/agents/1/client-metadata.json",
        "https://0.0.0.0/agents/1/client-metadata.json",
        "https://[::ffff:127.0.0.1]/agents/1/client-metadata.json",
    ] {
        assert_eq!(
            beta.deny_code(request_for(literal)).await,
            codes::SSRF_BLOCKED,
            "{literal}"
        );
    }
    assert_eq!(site.total_hits(), before, "no request reached the server");
    beta.finish().await;
}

// Request shape: unknown grant type, missing/invalid scope, unknown or missing resource
// (RFC 8707 invalid_target) are refused before anything is fetched.
#[tokio::test]
async fn a3_request_shape_errors_are_refused_before_fetching() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(4);
    publish(&site, &agent, &document(&agent, None));
    let base = beta.request(&agent, "j");
    let cases = [
        (
            DecideInput {
                grant_type: "password".into(),
                ..base.clone()
            },
            codes::GRANT_TYPE_UNSUPPORTED,
            "unsupported_grant_type",
        ),
        (
            DecideInput {
                requested_scopes: vec![],
                ..base.clone()
            },
            codes::SCOPE_MISSING,
            "invalid_scope",
        ),
        (
            DecideInput {
                requested_scopes: vec!["a b".into()],
                ..base.clone()
            },
            codes::SCOPE_INVALID,
            "invalid_scope",
        ),
        (
            DecideInput {
                resource: "https://unknown.beta.test/mcp".into(),
                ..base.clone()
            },
            codes::INVALID_TARGET,
            "invalid_target",
        ),
        (
            DecideInput {
                resource: String::new(),
                ..base.clone()
            },
            codes::INVALID_TARGET,
            "invalid_target",
        ),
    ];
    let before = site.total_hits();
    for (input, code, oauth) in cases {
        let d = beta.decide(input).await;
        let deny = d.deny.unwrap();
        assert_eq!(deny.code, code);
        assert_eq!(deny.oauth_error.as_str(), oauth);
    }
    assert_eq!(site.total_hits(), before);
    beta.finish().await;
}
