//! Denials of steps 4–6 (DESIGN §6): untrusted issuer, bad credential signature, expired and
//! not-yet-valid credentials, subject mismatch, holder key mismatch (J1–J5, E2), revoked and
//! suspended credentials, unreachable or unparsable status lists (B1–B4, T1–T5), and policy
//! denials — each with its own code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod decide_support;

use chrono::TimeDelta;
use crossauthz_credentials::did_web::{did_document, method_id};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_credentials::status::{
    BitstringStatusListCredential, CredentialState, StatusPurpose, StatusRegistryView,
};
use crossauthz_store::TrustedIssuer;
use crossauthz_verifier::{DecideInput, codes};
use decide_support::*;

async fn env() -> (Site, Alpha, Beta) {
    let site = Site::start().await;
    let beta = Beta::start(&site, true).await;
    let alpha = Alpha::new(&site, beta.now());
    (site, alpha, beta)
}

/// Publishes a new agent `n` (documents are cached, so each case gets its own URL) with a
/// credential issued with `o`, and returns the deny code of its request.
async fn code_for(site: &Site, alpha: &Alpha, beta: &Beta, n: u32, o: &VcOptions) -> &'static str {
    let agent = alpha.agent(n);
    let vc = alpha.vc(&agent, beta.now(), o);
    publish(site, &agent, &document(&agent, Some(&vc)));
    beta.deny_code(beta.request(&agent, &format!("j-{}", uuid::Uuid::new_v4())))
        .await
}

// E2 + trust list: an issuer not on this domain's trust list is refused BEFORE its did:web
// document is fetched; an issuer trusted for another issuer domain is refused too.
#[tokio::test]
async fn e2_untrusted_issuer_is_refused_before_fetching_its_keys() {
    let (site, alpha, beta) = env().await;
    beta.service.put_trust_list(vec![], None).await.unwrap();
    assert_eq!(
        code_for(&site, &alpha, &beta, 101, &VcOptions::index(1)).await,
        codes::ISSUER_UNTRUSTED
    );
    assert_eq!(
        site.hits("/.well-known/did.json"),
        0,
        "no fetch for an untrusted issuer"
    );

    beta.service
        .put_trust_list(
            vec![TrustedIssuer {
                issuer: "did:web:alpha.test".into(),
                credential_types: vec!["AgentAuthorizationCredential".into()],
                issuer_domains: vec!["gamma.test".into()],
            }],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        code_for(&site, &alpha, &beta, 102, &VcOptions::index(1)).await,
        codes::ISSUER_UNTRUSTED
    );
    beta.service
        .put_trust_list(
            vec![TrustedIssuer {
                issuer: "did:web:alpha.test".into(),
                credential_types: vec!["SomeOtherCredential".into()],
                issuer_domains: vec!["alpha.test".into()],
            }],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        code_for(&site, &alpha, &beta, 103, &VcOptions::index(1)).await,
        codes::ISSUER_UNTRUSTED
    );
    beta.finish().await;
}

// J1–J5 and E2: signature, validity window, subject and holder binding.
#[tokio::test]
async fn j4_e2_credential_signature_validity_subject_and_holder_are_checked() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(1);
    let forged = VcOptions {
        forge_with: Some(SigningKey::generate(Algorithm::EdDSA).unwrap()),
        ..VcOptions::index(1)
    };
    assert_eq!(
        code_for(&site, &alpha, &beta, 104, &forged).await,
        codes::CREDENTIAL_BAD_SIGNATURE
    );
    let expired = VcOptions {
        from: TimeDelta::days(-2),
        until: TimeDelta::hours(-1),
        ..VcOptions::index(1)
    };
    assert_eq!(
        code_for(&site, &alpha, &beta, 105, &expired).await,
        codes::CREDENTIAL_EXPIRED
    );
    let future = VcOptions {
        from: TimeDelta::hours(2),
        until: TimeDelta::hours(30),
        ..VcOptions::index(1)
    };
    assert_eq!(
        code_for(&site, &alpha, &beta, 106, &future).await,
        codes::CREDENTIAL_NOT_YET_VALID
    );
    let other_subject = VcOptions {
        subject: Some("https://alpha.test/agents/99/client-metadata.json".into()),
        ..VcOptions::index(1)
    };
    assert_eq!(
        code_for(&site, &alpha, &beta, 107, &other_subject).await,
        codes::CREDENTIAL_SUBJECT_MISMATCH
    );
    let other_holder = VcOptions {
        holder: Some(SigningKey::generate(Algorithm::ES256).unwrap().public_jwk()),
        ..VcOptions::index(1)
    };
    assert_eq!(
        code_for(&site, &alpha, &beta, 108, &other_holder).await,
        codes::HOLDER_KEY_MISMATCH
    );
    // A copied credential: agent 2 hosts agent 1's valid credential in its own document.
    let thief = alpha.agent(2);
    let stolen = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &thief, &document(&thief, Some(&stolen)));
    assert_eq!(
        beta.deny_code(beta.request(&thief, "thief")).await,
        codes::CREDENTIAL_SUBJECT_MISMATCH
    );
    // A valid credential verifies with the cached DID document.
    let good = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&good)));
    assert!(beta.decide(beta.request(&agent, "ok")).await.allowed);
    let did_hits = site.hits("/.well-known/did.json");
    // The issuer rotates its key (publishing old and new): the cached DID document does not
    // know the new kid, so it is fetched again once and the credential verifies.
    let mut rotated = alpha;
    let old = rotated.key.public_jwk();
    rotated.key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    rotated.kid = method_id(&rotated.did, &rotated.key.public_jwk());
    site.set(
        "/.well-known/did.json",
        Route::json(&did_document(
            &rotated.did,
            &[rotated.key.public_jwk(), old],
        )),
    );
    let next = rotated.agent(3);
    let fresh = rotated.vc(&next, beta.now(), &VcOptions::index(1));
    publish(&site, &next, &document(&next, Some(&fresh)));
    let d = beta.decide(beta.request(&next, "after-rotation")).await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(site.hits("/.well-known/did.json"), did_hits + 1);
    beta.finish().await;
}

// B1–B4, T3: revoked and suspended credentials are denied, each with its own code; a
// revocation wins over a suspension.
#[tokio::test]
async fn b4_revoked_and_suspended_credentials_are_denied() {
    let (site, alpha, beta) = env().await;
    alpha.set_state(2, CredentialState::Revoked);
    alpha.set_state(3, CredentialState::Suspended);
    alpha.set_state(4, CredentialState::Revoked);
    alpha.publish_status(&site, beta.now());
    assert_eq!(
        code_for(&site, &alpha, &beta, 109, &VcOptions::index(2)).await,
        codes::CREDENTIAL_REVOKED
    );
    assert_eq!(
        code_for(&site, &alpha, &beta, 110, &VcOptions::index(3)).await,
        codes::CREDENTIAL_SUSPENDED
    );
    // Token Status List (SD-JWT VC): INVALID = revoked, SUSPENDED = suspended.
    for (n, index, code) in [
        (4, 4, codes::CREDENTIAL_REVOKED),
        (5, 3, codes::CREDENTIAL_SUSPENDED),
    ] {
        let agent = alpha.agent(n);
        publish(&site, &agent, &document(&agent, None));
        let issued = alpha.sd_jwt(&agent, beta.now(), index);
        let input = DecideInput {
            presentation: present(&issued, &agent, BETA, "n", beta.now()),
            presentation_nonce: "n".into(),
            ..beta.request(&agent, &format!("tsl-{n}"))
        };
        assert_eq!(beta.deny_code(input).await, code);
    }
    beta.finish().await;
}

// Status list unreachable or unparsable = deny (fail closed), never cached: once the list is
// back, the next decision fetches it and succeeds.
#[tokio::test]
async fn b3_unreachable_or_unparsable_status_list_is_denied_and_not_cached() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(1);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&vc)));
    for route in [
        Route::status(503),
        Route::status(404),
        Route::typed("application/vc+jwt", "not a jws"),
        Route::typed("text/plain", "x"),
    ] {
        site.set("/status/1", route.clone());
        let hits = site.hits("/status/1");
        assert_eq!(
            beta.deny_code(beta.request(&agent, &format!("s-{}", uuid::Uuid::new_v4())))
                .await,
            codes::STATUS_UNAVAILABLE,
            "{route:?}"
        );
        assert_eq!(site.hits("/status/1"), hits + 1);
    }
    // A list signed by another key under the issuer's kid is not accepted either (B4).
    let impostor = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let states = vec![CredentialState::Valid; 16];
    let list = BitstringStatusListCredential::new(
        "https://alpha.test/status/1",
        &alpha.did,
        StatusPurpose::Revocation,
        &StatusRegistryView::new(&states).bitstring(&StatusPurpose::Revocation),
        beta.now() - TimeDelta::minutes(1),
    );
    site.set(
        "/status/1",
        Route::typed(
            "application/vc+jwt",
            list.sign(&impostor, &alpha.kid).unwrap(),
        ),
    );
    assert_eq!(
        beta.deny_code(beta.request(&agent, "s-impostor")).await,
        codes::STATUS_UNAVAILABLE
    );
    alpha.publish_status(&site, beta.now());
    assert!(beta.decide(beta.request(&agent, "s-ok")).await.allowed);
    beta.finish().await;
}

// Step 6: the credential covers no requested scope, and the policy permits none (default
// deny) — distinct codes, oauth `invalid_scope`, with the deciding policy ids reported.
#[tokio::test]
async fn policy_denials_are_reported_with_invalid_scope() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(1);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&vc)));
    let not_authorized = DecideInput {
        requested_scopes: vec!["records:read".into()],
        ..beta.request(&agent, "p-1")
    };
    let d = beta.decide(not_authorized).await;
    let deny = d.deny.unwrap();
    assert_eq!(deny.code, codes::SCOPE_NOT_AUTHORIZED);
    assert_eq!(deny.oauth_error.as_str(), "invalid_scope");

    beta.service
        .put_policies(
            r#"@id("orchestrators-only")
               permit (principal, action, resource)
               when { principal has agentType && principal.agentType == "orchestrator-agent" };"#,
            Some("test"),
        )
        .await
        .unwrap();
    let d = beta.decide(beta.request(&agent, "p-2")).await;
    let deny = d.deny.unwrap();
    assert_eq!(deny.code, codes::POLICY_DENIED);
    assert_eq!(deny.oauth_error.as_str(), "invalid_scope");
    assert!(
        d.credential.is_some(),
        "the verified credential is reported with the denial"
    );

    beta.service
        .put_policies(
            r#"@id("all") permit (principal, action, resource);
               @id("no-logs") forbid (principal, action == Action::"logs:read", resource);"#,
            Some("test"),
        )
        .await
        .unwrap();
    let d = beta.decide(beta.request(&agent, "p-3")).await;
    assert_eq!(d.deny.unwrap().code, codes::POLICY_DENIED);
    assert_eq!(d.policy_ids, vec!["no-logs".to_owned()]);
    let event = beta.events().await.into_iter().last().unwrap();
    assert_eq!(event.reason.as_deref(), Some(codes::POLICY_DENIED));
    assert_eq!(event.details["policy_ids"], serde_json::json!(["no-logs"]));
    beta.finish().await;
}

// C7 and "nothing of a denied request lingers": a document whose credential is refused is
// dropped from the cache, so the agent's re-issued credential is seen at the next request.
#[tokio::test]
async fn c7_document_with_a_refused_credential_is_not_kept_in_the_cache() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(1);
    let expired = VcOptions {
        from: TimeDelta::days(-2),
        until: TimeDelta::hours(-1),
        ..VcOptions::index(1)
    };
    let vc = alpha.vc(&agent, beta.now(), &expired);
    publish(&site, &agent, &document(&agent, Some(&vc)));
    assert_eq!(
        beta.deny_code(beta.request(&agent, "e-1")).await,
        codes::CREDENTIAL_EXPIRED
    );
    let renewed = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&renewed)));
    let d = beta.decide(beta.request(&agent, "e-2")).await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(site.hits(&agent.path), 2);
    beta.finish().await;
}

// Clock skew between domains: a status list whose validFrom is ahead of this verifier's clock
// by less than the configured skew (60 s) is accepted; further ahead it is not (fail closed).
#[tokio::test]
async fn b2_status_list_from_a_clock_ahead_is_accepted_within_the_skew_only() {
    for (ahead, allowed) in [(30, true), (600, false)] {
        let (site, alpha, beta) = env().await;
        alpha.publish_status_from(&site, beta.now() + TimeDelta::seconds(ahead), beta.now());
        let agent = alpha.agent(1);
        let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
        publish(&site, &agent, &document(&agent, Some(&vc)));
        let d = beta.decide(beta.request(&agent, "skew")).await;
        assert_eq!(d.allowed, allowed, "{ahead} s ahead: {d:?}");
        if !allowed {
            assert_eq!(d.deny.unwrap().code, codes::STATUS_UNAVAILABLE);
        }
        beta.finish().await;
    }
}
