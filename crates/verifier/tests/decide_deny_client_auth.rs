//! Denials of step 3, client authentication (RFC 7523 + 7523bis, P1–P5, C10): bad, expired,
//! wrong-audience and replayed assertions, each with its own code; the `jti` is recorded only
//! after authentication succeeded and is shared by replicas through the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod decide_support;

use std::sync::Arc;

use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_verifier::{DecideInput, VerifierConfig, VerifierService, codes};
use decide_support::*;
use serde_json::{Value, json};

async fn env() -> (Site, Alpha, Beta, Agent) {
    let site = Site::start().await;
    let beta = Beta::start(&site, true).await;
    let alpha = Alpha::new(&site, beta.now());
    let agent = alpha.agent(1);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(1));
    publish(&site, &agent, &document(&agent, Some(&vc)));
    (site, alpha, beta, agent)
}

fn claims(agent: &Agent, beta: &Beta) -> Value {
    let t = beta.now().timestamp();
    json!({
        "iss": agent.client_id, "sub": agent.client_id, "aud": BETA,
        "iat": t, "exp": t + 120, "jti": "jti-claims",
    })
}

fn with(agent: &Agent, beta: &Beta, key: &SigningKey, f: impl Fn(&mut Value)) -> DecideInput {
    let mut c = claims(agent, beta);
    f(&mut c);
    DecideInput {
        client_assertion: assertion_with(agent, key, c),
        ..beta.request(agent, "unused")
    }
}

// P1–P5, C10: each failure of the assertion has its own deny code, all `invalid_client`.
#[tokio::test]
async fn p1_p5_each_assertion_failure_has_its_own_code() {
    let (_site, _alpha, beta, agent) = env().await;
    let other = SigningKey::generate(Algorithm::ES256).unwrap();
    let t = beta.now().timestamp();
    let cases: Vec<(DecideInput, &str)> = vec![
        // Bad: signed by a key that is not in the document (with the document key's kid).
        (
            with(&agent, &beta, &other, |_| {}),
            codes::ASSERTION_BAD_SIGNATURE,
        ),
        // Expired (P4).
        (
            with(&agent, &beta, &agent.key, |c| {
                c["iat"] = json!(t - 600);
                c["exp"] = json!(t - 300);
            }),
            codes::ASSERTION_EXPIRED,
        ),
        // aud = the token endpoint (P3: refused), or an array.
        (
            with(&agent, &beta, &agent.key, |c| {
                c["aud"] = json!(format!("{BETA}/token"))
            }),
            codes::ASSERTION_WRONG_AUDIENCE,
        ),
        (
            with(&agent, &beta, &agent.key, |c| c["aud"] = json!([BETA])),
            codes::ASSERTION_WRONG_AUDIENCE,
        ),
        (
            with(&agent, &beta, &agent.key, |c| {
                c["iss"] = json!("https://evil.test/a/b")
            }),
            codes::ASSERTION_ISSUER_MISMATCH,
        ),
        (
            with(&agent, &beta, &agent.key, |c| c["exp"] = json!(t + 86_400)),
            codes::ASSERTION_LIFETIME_TOO_LONG,
        ),
        (
            with(&agent, &beta, &agent.key, |c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            codes::ASSERTION_JTI_MISSING,
        ),
        (
            with(&agent, &beta, &agent.key, |c| c["nbf"] = json!(t + 3600)),
            codes::ASSERTION_NOT_YET_VALID,
        ),
        (
            DecideInput {
                client_assertion: String::new(),
                ..beta.request(&agent, "x")
            },
            codes::ASSERTION_MISSING,
        ),
        (
            DecideInput {
                client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
                    .into(),
                ..beta.request(&agent, "x")
            },
            codes::ASSERTION_TYPE_INVALID,
        ),
        (
            DecideInput {
                client_assertion: "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpc3MiOiJ4In0.".into(),
                ..beta.request(&agent, "x")
            },
            codes::ASSERTION_ALG_DISALLOWED,
        ),
        (
            DecideInput {
                client_assertion: "not-a-jwt".into(),
                ..beta.request(&agent, "x")
            },
            codes::ASSERTION_INVALID,
        ),
    ];
    for (input, code) in cases {
        let d = beta.decide(input).await;
        let deny = d.deny.unwrap();
        assert_eq!(deny.code, code, "{}", deny.description);
        assert_eq!(deny.oauth_error.as_str(), "invalid_client");
        assert!(
            d.credential.is_none(),
            "no credential step after a failed authentication"
        );
    }
    beta.finish().await;
}

// P4 (OIDC Core §9): a jti is refused when replayed within its lifetime. It is recorded only
// once the assertion authenticated the client: a forged assertion cannot burn a jti.
#[tokio::test]
async fn p4_replayed_jti_is_refused_and_recorded_only_after_authentication() {
    let (_site, _alpha, beta, agent) = env().await;
    let other = SigningKey::generate(Algorithm::ES256).unwrap();
    let forged = with(&agent, &beta, &other, |c| c["jti"] = json!("jti-shared"));
    assert_eq!(beta.deny_code(forged).await, codes::ASSERTION_BAD_SIGNATURE);
    let good = beta.request(&agent, "jti-shared");
    assert!(
        beta.decide(good.clone()).await.allowed,
        "the forged attempt did not burn the jti"
    );
    let d = beta.decide(good.clone()).await;
    assert_eq!(d.deny.unwrap().code, codes::ASSERTION_REPLAYED);
    beta.finish().await;
}

// P4, "shared across replicas through the database": a second verifier on the same database
// refuses an assertion the first one accepted.
#[tokio::test]
async fn p4_replay_is_caught_across_replicas() {
    let (site, _alpha, beta, agent) = env().await;
    let db = beta.db.as_ref().unwrap().connect().await.unwrap();
    let mut config = VerifierConfig::for_issuer(BETA);
    config.fetcher = site.fetcher_config(true);
    let replica = VerifierService::new(
        config,
        db.verifier_store(),
        db.audit_store(),
        Arc::new(beta.clock.clone()),
    )
    .unwrap();
    let input = beta.request(&agent, "jti-replica");
    assert!(beta.decide(input.clone()).await.allowed);
    let d = replica.decide(input).await.unwrap();
    assert_eq!(d.deny.unwrap().code, codes::ASSERTION_REPLAYED);
    beta.finish().await;
}
