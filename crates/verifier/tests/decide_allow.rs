//! Allowed decisions (DESIGN §6): a `vc+jwt` agent, a `dc+sd-jwt` presentation with key
//! binding, plain CIMD clients (confidential and public), `jwks_uri`, warm caches, the audit
//! record of each decision, and GET /authorize client resolution. Real HTTPS on loopback (test
//! CA, test resolver), real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod decide_support;

use crossauthz_verifier::credential::CredentialFormat;
use crossauthz_verifier::{DecideInput, ResolveInput, codes};
use decide_support::*;
use serde_json::json;

async fn env() -> (Site, Alpha, Beta) {
    let site = Site::start().await;
    let beta = Beta::start(&site, true).await;
    let alpha = Alpha::new(&site, beta.now());
    (site, alpha, beta)
}

// DESIGN §6 steps 1–6, E2: a trusted, valid, unrevoked, holder-bound vc+jwt with valid
// ISO-27001 and GDPR attestations and trust score 0.94 gets `logs:read` on the regulated
// resource; the decision is one audit record that names everything but holds no token.
#[tokio::test]
async fn allow_vc_jwt_agent_is_granted_and_audited_once_without_tokens() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(1);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&vc)));
    let input = DecideInput {
        requested_scopes: vec!["logs:read".into(), "records:read".into()],
        ..beta.request(&agent, "jti-allow-1")
    };
    let assertion = input.client_assertion.clone();
    let d = beta.decide(input).await;
    assert!(d.allowed, "{d:?}");
    // records:read is offered by the resource but not in authorizedScopes: not granted.
    assert_eq!(d.granted_scopes, vec!["logs:read"]);
    assert!(d.deny.is_none());
    let cred = d.credential.clone().unwrap();
    assert_eq!(cred.issuer, "did:web:alpha.test");
    assert_eq!(cred.issuer_domain, "alpha.test");
    assert_eq!(cred.format, CredentialFormat::VcJwt);
    assert_eq!(cred.claims_json["agentType"], "tool-agent");
    assert!(cred.id.as_deref().unwrap().starts_with("urn:uuid:"));
    assert!(
        d.policy_ids
            .contains(&"regulated-requires-attestations-and-trust".to_owned()),
        "{:?}",
        d.policy_ids
    );

    let decisions: Vec<_> = beta
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == "grant.decision")
        .collect();
    assert_eq!(decisions.len(), 1);
    let e = &decisions[0];
    assert_eq!(e.seq, d.audit_seq);
    assert_eq!(e.client_id.as_deref(), Some(agent.client_id.as_str()));
    assert_eq!(e.credential_id, cred.id);
    assert_eq!(e.issuer.as_deref(), Some("did:web:alpha.test"));
    assert_eq!(
        e.scopes,
        Some(vec!["logs:read".to_owned(), "records:read".to_owned()])
    );
    assert_eq!(e.resource.as_deref(), Some(MCP));
    assert_eq!(e.decision.as_deref(), Some("allow"));
    assert_eq!(e.details["granted_scopes"], json!(["logs:read"]));
    assert_eq!(e.details["policy_ids"], json!(d.policy_ids));
    let text = serde_json::to_string(&beta.events().await).unwrap();
    assert!(
        !text.contains(&assertion),
        "the assertion must never be audited"
    );
    assert!(!text.contains(&vc), "the credential must never be audited");
    beta.finish().await;
}

// C7: with warm caches a second decision fetches nothing (document, DID document, lists).
#[tokio::test]
async fn c7_warm_caches_serve_the_second_decision_without_fetching() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(1);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&vc)));
    assert!(beta.decide(beta.request(&agent, "j1")).await.allowed);
    let hits = site.total_hits();
    assert_eq!(site.hits(&agent.path), 1);
    assert_eq!(site.hits("/.well-known/did.json"), 1);
    assert_eq!(site.hits("/status/1"), 1);
    assert_eq!(site.hits("/status/1/suspension"), 1);
    assert!(beta.decide(beta.request(&agent, "j2")).await.allowed);
    assert_eq!(site.total_hits(), hits, "warm caches: nothing fetched");
    beta.finish().await;
}

// Issue 7: nothing of a denied request stays cached. A replayed assertion (denied after the
// document was fetched and validated) evicts the client document; the next request fetches it
// again, while the issuer's DID document and lists, shared by all its clients, stay cached.
#[tokio::test]
async fn a_denied_request_leaves_its_client_document_out_of_the_cache() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(1);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&vc)));
    assert!(beta.decide(beta.request(&agent, "j1")).await.allowed);
    assert_eq!(site.hits(&agent.path), 1);
    assert_eq!(
        beta.deny_code(beta.request(&agent, "j1")).await,
        "assertion_replayed"
    );
    assert_eq!(site.hits(&agent.path), 1, "served from cache, then evicted");
    assert!(beta.decide(beta.request(&agent, "j2")).await.allowed);
    assert_eq!(
        site.hits(&agent.path),
        2,
        "the denied request's document was not kept"
    );
    assert_eq!(site.hits("/.well-known/did.json"), 1);
    beta.finish().await;
}

// S5/S7, V1–V4, T1–T5: a dc+sd-jwt presented with a KB-JWT for this AS and its nonce is
// verified, its holder key must be the authenticating key, its status comes from the Token
// Status List; a wrong nonce or audience is refused.
#[tokio::test]
async fn s7_sd_jwt_presentation_with_key_binding_is_allowed_and_checked() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(2);
    publish(&site, &agent, &document(&agent, None));
    let issued = alpha.sd_jwt(&agent, beta.now(), 4);
    let ok = DecideInput {
        presentation: present(&issued, &agent, BETA, "nonce-1", beta.now()),
        presentation_nonce: "nonce-1".into(),
        ..beta.request(&agent, "sd-1")
    };
    let d = beta.decide(ok).await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(
        d.credential.as_ref().unwrap().format,
        CredentialFormat::DcSdJwt
    );
    assert!(d.credential.as_ref().unwrap().id.is_some());
    assert_eq!(site.hits("/tsl/1"), 1);

    let wrong_nonce = DecideInput {
        presentation: present(&issued, &agent, BETA, "nonce-1", beta.now()),
        presentation_nonce: "nonce-2".into(),
        ..beta.request(&agent, "sd-2")
    };
    assert_eq!(
        beta.deny_code(wrong_nonce).await,
        codes::PRESENTATION_INVALID
    );
    let wrong_aud = DecideInput {
        presentation: present(&issued, &agent, "https://other.test", "n", beta.now()),
        presentation_nonce: "n".into(),
        ..beta.request(&agent, "sd-3")
    };
    assert_eq!(beta.deny_code(wrong_aud).await, codes::PRESENTATION_INVALID);
    // Another agent presenting this agent's credential: holder key mismatch.
    let thief = alpha.agent(3);
    publish(&site, &thief, &document(&thief, None));
    let stolen = DecideInput {
        presentation: present(&issued, &agent, BETA, "n", beta.now()),
        presentation_nonce: "n".into(),
        ..beta.request(&thief, "sd-4")
    };
    let code = beta.deny_code(stolen).await;
    assert!(
        code == codes::CREDENTIAL_SUBJECT_MISMATCH || code == codes::HOLDER_KEY_MISMATCH,
        "{code}"
    );
    beta.finish().await;
}

// A document with no credential member is a plain CIMD client (as MCP clients send today):
// authenticated, no verified claims; the example policy grants it only the scopes the resource
// marks open. A public client (method none) may only use the code flow.
#[tokio::test]
async fn plain_cimd_clients_get_only_open_scopes() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(4);
    publish(&site, &agent, &document(&agent, None));
    let d = beta
        .decide(DecideInput {
            requested_scopes: vec!["logs:read".into(), "status:read".into()],
            ..beta.request(&agent, "p1")
        })
        .await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.granted_scopes, vec!["status:read"]);
    assert!(d.credential.is_none());
    assert_eq!(
        beta.deny_code(beta.request(&agent, "p2")).await,
        codes::POLICY_DENIED
    );

    let public = alpha.agent(5);
    publish(
        &site,
        &public,
        &json!({
            "client_id": public.client_id,
            "client_name": "MCP desktop client",
            "redirect_uris": ["http://127.0.0.1:33418/callback"],
            "token_endpoint_auth_method": "none",
        }),
    );
    let code_flow = DecideInput {
        client_id: public.client_id.clone(),
        grant_type: "authorization_code".into(),
        requested_scopes: vec!["status:read".into()],
        resource: MCP.into(),
        ..DecideInput::default()
    };
    let d = beta.decide(code_flow.clone()).await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.granted_scopes, vec!["status:read"]);
    let client_credentials = DecideInput {
        grant_type: "client_credentials".into(),
        ..code_flow.clone()
    };
    // Not in the document's grant types (default authorization_code only).
    assert_eq!(
        beta.deny_code(client_credentials).await,
        codes::GRANT_TYPE_NOT_ALLOWED
    );
    let with_assertion = DecideInput {
        client_assertion: assertion(&public, BETA, "x", beta.now()),
        client_assertion_type: JWT_BEARER.into(),
        ..code_flow
    };
    assert_eq!(
        beta.deny_code(with_assertion).await,
        codes::ASSERTION_UNEXPECTED
    );
    beta.finish().await;
}

// C10 with jwks_uri: the key set is fetched with the same fetcher and checked by the JWK policy.
#[tokio::test]
async fn c10_jwks_uri_keys_authenticate_and_failures_are_denied() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(6);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    let mut doc = document(&agent, Some(&vc));
    doc.as_object_mut().unwrap().remove("jwks");
    doc["jwks_uri"] = json!("https://alpha.test/agents/6/jwks.json");
    publish(&site, &agent, &doc);
    site.set(
        "/agents/6/jwks.json",
        Route::json(&json!({ "keys": [agent.public().to_json()] })),
    );
    assert!(beta.decide(beta.request(&agent, "k1")).await.allowed);

    let other = alpha.agent(7);
    let mut doc = document(&other, None);
    doc.as_object_mut().unwrap().remove("jwks");
    doc["jwks_uri"] = json!("https://alpha.test/agents/7/jwks.json");
    publish(&site, &other, &doc);
    assert_eq!(
        beta.deny_code(beta.request(&other, "k2")).await,
        codes::JWKS_UNAVAILABLE
    );
    site.set(
        "/agents/7/jwks.json",
        Route::json(&json!({ "keys": [{"kty": "oct", "k": "c2VjcmV0"}] })),
    );
    assert_eq!(
        beta.deny_code(beta.request(&other, "k3")).await,
        codes::JWKS_INVALID
    );
    beta.finish().await;
}

// GET /authorize: C8 exact redirect URI, C13 client host, M7 localhost-only warning, the
// credential verified (holder key among the document's keys), one audit record each.
#[tokio::test]
async fn c8_resolve_client_checks_redirect_uri_and_reports_consent_facts() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(8);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&vc)));
    let r = beta
        .service
        .resolve_client(ResolveInput {
            client_id: agent.client_id.clone(),
            redirect_uri: "https://alpha.test/callback".into(),
        })
        .await
        .unwrap();
    assert!(r.ok, "{r:?}");
    assert_eq!(r.client_host, "alpha.test");
    assert_eq!(r.client_name, "Alpha log reader");
    assert!(r.confidential);
    assert!(!r.localhost_redirects_only);
    assert_eq!(r.credential.unwrap().issuer, "did:web:alpha.test");

    for bad in [
        "https://alpha.test/callback/",
        "https://ALPHA.test/callback",
        "",
    ] {
        let r = beta
            .service
            .resolve_client(ResolveInput {
                client_id: agent.client_id.clone(),
                redirect_uri: bad.into(),
            })
            .await
            .unwrap();
        assert!(!r.ok);
        assert_eq!(
            r.deny.unwrap().code,
            codes::REDIRECT_URI_MISMATCH,
            "{bad:?}"
        );
    }

    let public = alpha.agent(9);
    publish(
        &site,
        &public,
        &json!({
            "client_id": public.client_id,
            "client_name": "CLI",
            "redirect_uris": ["http://127.0.0.1:8080/cb", "http://localhost:8080/cb"],
            "token_endpoint_auth_method": "none",
        }),
    );
    let r = beta
        .service
        .resolve_client(ResolveInput {
            client_id: public.client_id.clone(),
            redirect_uri: "http://localhost:8080/cb".into(),
        })
        .await
        .unwrap();
    assert!(r.ok);
    assert!(r.localhost_redirects_only);
    assert!(!r.confidential);
    let resolutions = beta
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == "client.resolved")
        .count();
    assert_eq!(resolutions, 5);
    beta.finish().await;
}
