//! Client authentication without a grant (`AuthenticateClient`: introspection, revocation) and
//! the `refresh_token` decision for public and confidential CIMD clients (M7, RFC 6749 §6).
//! Real HTTPS on loopback (test CA, test resolver), real PostgreSQL, real gRPC.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod decide_support;

use crossauthz_credentials::status::CredentialState;
use crossauthz_proto::verifier::AuthenticateClientRequest;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_testkit::GrpcServer;
use crossauthz_verifier::fetch::ResourceKind;
use crossauthz_verifier::{AuthenticateInput, DecideInput, OAuthError, codes};
use decide_support::*;
use serde_json::{Value, json};
use tonic::transport::Server;

async fn env() -> (Site, Alpha, Beta) {
    let site = Site::start().await;
    let beta = Beta::start(&site, true).await;
    let alpha = Alpha::new(&site, beta.now());
    (site, alpha, beta)
}

/// A public MCP client's document (auth method `none`), with `grant_types`.
fn public_document(agent: &Agent, grant_types: Option<&[&str]>) -> Value {
    let mut doc = json!({
        "client_id": agent.client_id,
        "client_name": "MCP desktop client",
        "redirect_uris": ["http://127.0.0.1:33418/callback"],
        "token_endpoint_auth_method": "none",
    });
    if let Some(g) = grant_types {
        doc["grant_types"] = json!(g);
    }
    doc
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// A public client's refresh of a grant of `original` scopes, asking for `requested`.
fn public_refresh(agent: &Agent, requested: &[&str], original: &[&str]) -> DecideInput {
    DecideInput {
        client_id: agent.client_id.clone(),
        grant_type: "refresh_token".into(),
        requested_scopes: strings(requested),
        original_scopes: strings(original),
        resource: MCP.into(),
        ..DecideInput::default()
    }
}

/// The deny reason of a decision (panics on allow).
async fn denial(beta: &Beta, input: DecideInput) -> crossauthz_verifier::DenyReason {
    let d = beta.decide(input).await;
    assert!(!d.allowed, "expected a denial, got {d:?}");
    assert!(d.granted_scopes.is_empty());
    d.deny.unwrap()
}

// M7 / RFC 6749 §6: a public CIMD client's refresh is a decision of its own: the document is
// resolved again and must still list refresh_token, no assertion is accepted, and the scopes may
// narrow but never widen. Each refusal carries its RFC 6749 §5.2 error.
#[tokio::test]
async fn m7_public_client_refresh_is_decided_again_with_rfc6749_errors() {
    let (site, alpha, beta) = env().await;
    let public = alpha.agent(1);
    publish(
        &site,
        &public,
        &public_document(&public, Some(&["authorization_code", "refresh_token"])),
    );

    // Allowed: the same scopes, or fewer.
    let d = beta
        .decide(public_refresh(&public, &["status:read"], &["status:read"]))
        .await;
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.granted_scopes, vec!["status:read"]);

    // RFC 6749 §6: a scope not granted originally is invalid_scope, refused before anything is
    // fetched.
    let fetched_before = site.total_hits();
    let r = denial(
        &beta,
        public_refresh(&public, &["status:read", "logs:read"], &["status:read"]),
    )
    .await;
    assert_eq!(r.code, codes::REFRESH_SCOPE_WIDENED);
    assert_eq!(r.oauth_error, OAuthError::InvalidScope);
    let r = denial(&beta, public_refresh(&public, &["status:read"], &[])).await;
    assert_eq!(r.code, codes::REFRESH_SCOPE_WIDENED);
    assert_eq!(site.total_hits(), fetched_before);

    // A public client sends no assertion (invalid_client).
    let mut with_assertion = public_refresh(&public, &["status:read"], &["status:read"]);
    with_assertion.client_assertion = assertion(&public, BETA, "pub-1", beta.now());
    with_assertion.client_assertion_type = JWT_BEARER.into();
    let r = denial(&beta, with_assertion).await;
    assert_eq!(r.code, codes::ASSERTION_UNEXPECTED);
    assert_eq!(r.oauth_error, OAuthError::InvalidClient);

    // The document changed: refresh_token no longer listed (unauthorized_client).
    publish(
        &site,
        &public,
        &public_document(&public, Some(&["authorization_code"])),
    );
    beta.service.fetcher().invalidate(&public.client_id);
    let r = denial(
        &beta,
        public_refresh(&public, &["status:read"], &["status:read"]),
    )
    .await;
    assert_eq!(r.code, codes::GRANT_TYPE_NOT_ALLOWED);
    assert_eq!(r.oauth_error, OAuthError::UnauthorizedClient);
    // Omitted grant_types means authorization_code only (RFC 7591 §2): no refresh either.
    publish(&site, &public, &public_document(&public, None));
    let r = denial(
        &beta,
        public_refresh(&public, &["status:read"], &["status:read"]),
    )
    .await;
    assert_eq!(r.code, codes::GRANT_TYPE_NOT_ALLOWED);

    // The client is gone (404): invalid_client.
    site.set(&public.path, Route::status(404));
    let r = denial(
        &beta,
        public_refresh(&public, &["status:read"], &["status:read"]),
    )
    .await;
    assert_eq!(r.code, codes::FETCH_STATUS);
    assert_eq!(r.oauth_error, OAuthError::InvalidClient);

    // The document became invalid (its client_id no longer matches the URL): invalid_client.
    let mut wrong = public_document(&public, Some(&["authorization_code", "refresh_token"]));
    wrong["client_id"] = json!(format!("{}x", public.client_id));
    publish(&site, &public, &wrong);
    let r = denial(
        &beta,
        public_refresh(&public, &["status:read"], &["status:read"]),
    )
    .await;
    assert_eq!(r.code, codes::CLIENT_ID_MISMATCH);
    assert_eq!(r.oauth_error, OAuthError::InvalidClient);

    // The client became confidential: a refresh without its assertion is invalid_client.
    let mut confidential = document(&public, None);
    confidential["grant_types"] = json!(["authorization_code", "refresh_token"]);
    publish(&site, &public, &confidential);
    let r = denial(
        &beta,
        public_refresh(&public, &["status:read"], &["status:read"]),
    )
    .await;
    assert_eq!(r.code, codes::ASSERTION_MISSING);
    assert_eq!(r.oauth_error, OAuthError::InvalidClient);

    // A public client still may not use client_credentials.
    publish(
        &site,
        &public,
        &public_document(&public, Some(&["authorization_code", "client_credentials"])),
    );
    let r = denial(
        &beta,
        DecideInput {
            grant_type: "client_credentials".into(),
            original_scopes: Vec::new(),
            ..public_refresh(&public, &["status:read"], &[])
        },
    )
    .await;
    assert_eq!(r.code, codes::CLIENT_AUTH_REQUIRED);

    // Every refresh decision is audited with its grant type and the original scopes.
    let refreshes: Vec<_> = beta
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == "grant.decision" && e.details["grant_type"] == "refresh_token")
        .collect();
    assert_eq!(refreshes.len(), 9);
    assert_eq!(refreshes[0].decision.as_deref(), Some("allow"));
    assert_eq!(
        refreshes[0].details["original_scopes"],
        json!(["status:read"])
    );
    assert_eq!(
        refreshes[1].reason.as_deref(),
        Some(codes::REFRESH_SCOPE_WIDENED)
    );
    beta.finish().await;
}

// A confidential client's refresh: its assertion again (C10), the original-scope rule, and a
// credential revoked since the grant stops it.
#[tokio::test]
async fn confidential_refresh_needs_the_assertion_and_a_valid_credential() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(2);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(5));
    let mut doc = document(&agent, Some(&vc));
    doc["grant_types"] = json!(["authorization_code", "refresh_token"]);
    publish(&site, &agent, &doc);
    let refresh = |jti: &str, requested: &[&str]| DecideInput {
        grant_type: "refresh_token".into(),
        requested_scopes: strings(requested),
        original_scopes: strings(&["logs:read"]),
        ..beta.request(&agent, jti)
    };
    let d = beta.decide(refresh("r-1", &["logs:read"])).await;
    assert!(d.allowed, "{d:?}");
    let r = denial(&beta, refresh("r-2", &["logs:read", "status:read"])).await;
    assert_eq!(r.code, codes::REFRESH_SCOPE_WIDENED);
    let r = denial(
        &beta,
        DecideInput {
            client_assertion: String::new(),
            client_assertion_type: String::new(),
            ..refresh("r-3", &["logs:read"])
        },
    )
    .await;
    assert_eq!(r.code, codes::ASSERTION_MISSING);
    alpha.set_state(5, CredentialState::Revoked);
    alpha.publish_status(&site, beta.now());
    beta.service.fetcher().invalidate_all();
    let r = denial(&beta, refresh("r-4", &["logs:read"])).await;
    assert_eq!(r.code, codes::CREDENTIAL_REVOKED);
    assert_eq!(r.oauth_error, OAuthError::InvalidClient);
    beta.finish().await;
}

fn authenticate_input(agent: &Agent, beta: &Beta, jti: &str) -> AuthenticateInput {
    AuthenticateInput {
        client_id: agent.client_id.clone(),
        client_assertion: assertion(agent, BETA, jti, beta.now()),
        client_assertion_type: JWT_BEARER.into(),
        allow_public: false,
        purpose: "introspection".into(),
    }
}

// AuthenticateClient runs steps 1–5 of a grant without a grant decision: P1–P5 on the assertion
// with replay refused (the jti recorded only once authentication passed), the document's
// credential with holder binding and status; no grant type, resource or scope is needed.
#[tokio::test]
async fn p1_p5_authenticate_client_without_a_grant_decision() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(3);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(6));
    let mut doc = document(&agent, Some(&vc));
    // A document that lists only client_credentials may still introspect its own tokens.
    doc["grant_types"] = json!(["client_credentials"]);
    publish(&site, &agent, &doc);

    let a = beta
        .service
        .authenticate_client(authenticate_input(&agent, &beta, "auth-1"))
        .await
        .unwrap();
    assert!(a.authenticated, "{a:?}");
    assert!(a.confidential);
    let credential = a.credential.unwrap();
    assert_eq!(credential.issuer, "did:web:alpha.test");
    assert_eq!(credential.issuer_domain, "alpha.test");

    let deny = |input: AuthenticateInput| {
        let beta = &beta;
        async move {
            let a = beta.service.authenticate_client(input).await.unwrap();
            assert!(!a.authenticated, "{a:?}");
            assert!(a.credential.is_none());
            a.deny.unwrap()
        }
    };
    // P4: replay of the same jti.
    let r = deny(authenticate_input(&agent, &beta, "auth-1")).await;
    assert_eq!(r.code, codes::ASSERTION_REPLAYED);
    assert_eq!(r.oauth_error, OAuthError::InvalidClient);
    // C10: no assertion.
    let r = deny(AuthenticateInput {
        client_assertion: String::new(),
        client_assertion_type: String::new(),
        ..authenticate_input(&agent, &beta, "x")
    })
    .await;
    assert_eq!(r.code, codes::ASSERTION_MISSING);
    // P1: wrong assertion type.
    let r = deny(AuthenticateInput {
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer".into(),
        ..authenticate_input(&agent, &beta, "auth-2")
    })
    .await;
    assert_eq!(r.code, codes::ASSERTION_TYPE_INVALID);
    // P3: aud must be this issuer, not the token endpoint.
    let r = deny(AuthenticateInput {
        client_assertion: assertion(&agent, &format!("{BETA}/token"), "auth-3", beta.now()),
        ..authenticate_input(&agent, &beta, "auth-3")
    })
    .await;
    assert_eq!(r.code, codes::ASSERTION_WRONG_AUDIENCE);
    // P5: signed by another key; the failed attempt does not burn its jti.
    let thief = alpha.agent(99);
    let forged = assertion_with(
        &agent,
        &thief.key,
        json!({
            "iss": agent.client_id, "sub": agent.client_id, "aud": BETA,
            "iat": beta.now().timestamp(), "exp": beta.now().timestamp() + 60, "jti": "auth-4",
        }),
    );
    let r = deny(AuthenticateInput {
        client_assertion: forged,
        ..authenticate_input(&agent, &beta, "auth-4")
    })
    .await;
    assert_eq!(r.code, codes::ASSERTION_BAD_SIGNATURE);
    let a = beta
        .service
        .authenticate_client(authenticate_input(&agent, &beta, "auth-4"))
        .await
        .unwrap();
    assert!(
        a.authenticated,
        "a refused assertion must not record its jti"
    );

    // The credential is checked as a grant would: revoked → refused, and the client's
    // document leaves the cache.
    alpha.set_state(6, CredentialState::Revoked);
    alpha.publish_status(&site, beta.now());
    beta.service.fetcher().invalidate_all();
    let r = deny(authenticate_input(&agent, &beta, "auth-5")).await;
    assert_eq!(r.code, codes::CREDENTIAL_REVOKED);
    assert!(
        beta.service
            .fetcher()
            .cached::<crossauthz_verifier::document::ClientDocument>(
                &agent.client_id,
                ResourceKind::ClientMetadata
            )
            .await
            .is_none()
    );

    // One audit record per authentication, with its purpose, never the assertion.
    let events: Vec<_> = beta
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == "client.authenticated")
        .collect();
    assert_eq!(events.len(), 8);
    assert_eq!(events[0].decision.as_deref(), Some("allow"));
    assert_eq!(events[0].reason.as_deref(), Some("authenticated"));
    assert_eq!(events[0].details["purpose"], "introspection");
    assert_eq!(
        events[0].client_id.as_deref(),
        Some(agent.client_id.as_str())
    );
    assert_eq!(events[1].reason.as_deref(), Some(codes::ASSERTION_REPLAYED));
    for e in &events {
        assert!(
            !e.details.to_string().contains("eyJ"),
            "no JWT in the audit log"
        );
    }
    // No grant decision was made.
    assert!(
        beta.events()
            .await
            .iter()
            .all(|e| e.kind != "grant.decision")
    );
    beta.finish().await;
}

// RFC 7009 §2.1 / RFC 7662 §2.1: a public client is identified by its client_id only where the
// caller allows it (revocation), never where authentication is required (introspection).
#[tokio::test]
async fn public_clients_are_identified_only_where_allowed() {
    let (site, alpha, beta) = env().await;
    let public = alpha.agent(4);
    publish(&site, &public, &public_document(&public, None));
    let input = AuthenticateInput {
        client_id: public.client_id.clone(),
        allow_public: true,
        purpose: "revocation".into(),
        ..AuthenticateInput::default()
    };
    let a = beta
        .service
        .authenticate_client(input.clone())
        .await
        .unwrap();
    assert!(a.authenticated, "{a:?}");
    assert!(!a.confidential);
    let a = beta
        .service
        .authenticate_client(AuthenticateInput {
            allow_public: false,
            purpose: "introspection".into(),
            ..input.clone()
        })
        .await
        .unwrap();
    assert!(!a.authenticated);
    assert_eq!(a.deny.unwrap().code, codes::CLIENT_AUTH_REQUIRED);
    let a = beta
        .service
        .authenticate_client(AuthenticateInput {
            client_assertion: assertion(&public, BETA, "p-1", beta.now()),
            client_assertion_type: JWT_BEARER.into(),
            ..input.clone()
        })
        .await
        .unwrap();
    assert_eq!(a.deny.unwrap().code, codes::ASSERTION_UNEXPECTED);
    // An unknown client, or a client_id that breaks C1, is refused by name.
    let a = beta
        .service
        .authenticate_client(AuthenticateInput {
            client_id: "https://alpha.test/agents/none/client-metadata.json".into(),
            ..input.clone()
        })
        .await
        .unwrap();
    assert_eq!(a.deny.unwrap().code, codes::FETCH_STATUS);
    let a = beta
        .service
        .authenticate_client(AuthenticateInput {
            client_id: "dcr-0123".into(),
            ..input
        })
        .await
        .unwrap();
    assert_eq!(a.deny.unwrap().code, codes::CLIENT_ID_NOT_HTTPS);
    beta.finish().await;
}

// The same over gRPC: a refusal is a normal answer with a reason, not a gRPC error.
#[tokio::test]
async fn authenticate_client_over_grpc() {
    let (site, alpha, beta) = env().await;
    let server =
        GrpcServer::start(Server::builder().add_service(beta.service.clone().grpc_server()))
            .await
            .unwrap();
    let mut client = VerifierClient::new(server.channel());
    let agent = alpha.agent(7);
    let vc = alpha.vc(&agent, beta.now(), &VcOptions::index(7));
    publish(&site, &agent, &document(&agent, Some(&vc)));
    let request = AuthenticateClientRequest {
        client_id: agent.client_id.clone(),
        client_assertion: assertion(&agent, BETA, "g-1", beta.now()),
        client_assertion_type: JWT_BEARER.into(),
        allow_public: false,
        purpose: "revocation".into(),
    };
    let a = client
        .authenticate_client(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(a.authenticated);
    assert!(a.confidential);
    assert_eq!(a.credential.unwrap().issuer_domain, "alpha.test");
    assert!(a.audit_seq > 0);
    let a = client
        .authenticate_client(request)
        .await
        .unwrap()
        .into_inner();
    assert!(!a.authenticated);
    let deny = a.deny.unwrap();
    assert_eq!(deny.code, codes::ASSERTION_REPLAYED);
    assert_eq!(deny.oauth_error, "invalid_client");
    server.stop().await;
    beta.finish().await;
}
