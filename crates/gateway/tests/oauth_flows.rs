//! The OAuth flows across two domains over HTTPS on loopback (issue 5 "Done when"): alpha hosts
//! the agent (CIMD + `vc+jwt`); beta is the Authorization Server; an MCP client hosts its own
//! CIMD; the example resource server validates beta's tokens offline against beta's JWKS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod oauth_common;

use oauth_common::*;
use reqwest::StatusCode;
use reqwest::header;
use serde_json::Value;

// A1, C9, M3, M4: the metadata is served at the RFC 8414 well-known URI with this issuer.
#[tokio::test]
async fn a1_c9_metadata_over_https_names_this_issuer() {
    let w = start().await;
    let r = w
        .http
        .get(format!("{}/.well-known/oauth-authorization-server", w.beta))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["issuer"], w.beta.as_str());
    assert_eq!(m["client_id_metadata_document_supported"], true);
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(m["token_endpoint"], format!("{}/token", w.beta));
    // An issuer without a path has no path-suffixed document.
    let r = w
        .http
        .get(format!(
            "{}/.well-known/oauth-authorization-server/other",
            w.beta
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    w.stop().await;
}

// DESIGN §6, C10, P1–P5, A3, M5, M6: client_credentials with private_key_jwt and a CIMD
// client_id from another domain; the token is audience-bound and works at the resource server;
// introspection and revocation; every grant and denial is audited.
#[tokio::test]
async fn client_credentials_with_private_key_jwt_and_a_cimd_client_id_across_domains() {
    let w = start().await;
    let agent = w.agent().await;

    let (status, body) = w.client_credentials(&agent, "logs:read", &w.resource).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "logs:read");
    assert!(body.get("refresh_token").is_none(), "RFC 6749 §4.4.3");
    let token = body["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&token);
    assert_eq!(claims["iss"], w.beta.as_str());
    assert_eq!(claims["aud"], w.resource.as_str());
    assert_eq!(claims["client_id"], agent.client_id.as_str());
    assert_eq!(claims["sub"], agent.client_id.as_str());
    assert_eq!(
        claims["issuer_domain"],
        w.alpha.trim_start_matches("https://")
    );
    assert!(
        claims["credential_id"]
            .as_str()
            .unwrap()
            .contains(&agent.credential_id)
    );

    // The resource server accepts it (keys from beta's jwks_uri), and refuses no token (M6).
    let r = w.call_resource(&token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let rpc: Value = r.json().await.unwrap();
    assert_eq!(
        rpc["result"]["caller"]["client_id"],
        agent.client_id.as_str()
    );
    let r = w
        .http
        .post(&w.resource)
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("resource_metadata=")
    );

    // A3 / M5: an unknown resource is invalid_target; a fragment too.
    let (status, body) = w
        .client_credentials(&agent, "logs:read", "https://mcp.other.test/mcp")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_target");
    let (status, body) = w
        .client_credentials(&agent, "logs:read", &format!("{}#x", w.resource))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_target");

    // P3: an assertion whose aud is the token endpoint URL is refused; C10: none at all too.
    let wrong_aud = w.assertion_for(&agent, &format!("{}/token", w.beta));
    let r = w
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &agent.client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &wrong_aud),
                ("scope", "logs:read"),
                ("resource", &w.resource),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let r = w
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &agent.client_id),
                ("scope", "logs:read"),
                ("resource", &w.resource),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");

    // RFC 7662: the admin sees the token active with its claims; an unauthenticated caller is 401.
    let r = w
        .http
        .post(format!("{}/introspect", w.beta))
        .bearer_auth(ADMIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_encode(&[("token", &token)]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    let i: Value = r.json().await.unwrap();
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], agent.client_id.as_str());
    assert_eq!(i["aud"], w.resource.as_str());
    let r = w.post_form("/introspect", &[("token", &token)]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The client itself, authenticated with private_key_jwt, may introspect its token.
    let a = w.assertion(&agent);
    let r = w
        .post_form(
            "/introspect",
            &[
                ("token", &token),
                ("client_id", &agent.client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &a),
            ],
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["active"], true);

    // RFC 7009: the client revokes the token; introspection then says inactive.
    let a = w.assertion(&agent);
    let r = w
        .post_form(
            "/revoke",
            &[
                ("token", &token),
                ("token_type_hint", "access_token"),
                ("client_id", &agent.client_id),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &a),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = w
        .http
        .post(format!("{}/introspect", w.beta))
        .bearer_auth(ADMIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_encode(&[("token", &token)]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"active": false})
    );

    // Audit: grants, denials, introspections and the revocation are in beta's log.
    assert_eq!(w.beta_events("grant.issued").await.len(), 1);
    let denied = w.beta_events("grant.denied").await;
    assert_eq!(denied.len(), 4);
    assert!(denied.iter().all(|e| e.decision.as_deref() == Some("deny")));
    assert!(
        denied
            .iter()
            .any(|e| e.reason.as_deref() == Some("assertion_wrong_audience"))
    );
    assert_eq!(w.beta_events("token.introspected").await.len(), 4);
    assert_eq!(w.beta_events("token.revoked").await.len(), 1);
    let issued = &w.beta_events("grant.issued").await[0];
    assert!(
        !issued.details.to_string().contains(&token),
        "no token in the audit log"
    );
    w.stop().await;
}

/// Runs /authorize → consent → approve; answers the redirect's query parameters.
async fn authorize(w: &World, challenge: &str, state: &str) -> Vec<(String, String)> {
    let url = format!(
        "{}/authorize?{}",
        w.beta,
        form_encode(&[
            ("response_type", "code"),
            ("client_id", &w.public_client),
            ("redirect_uri", REDIRECT),
            ("state", state),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("resource", &w.resource),
            ("scope", "logs:read"),
        ])
    );
    let r = w.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = r.text().await.unwrap();
    // C13: the client_id's host; M7: the redirect host and the localhost warning.
    assert!(page.contains("id=\"client-host\">client.test<"), "{page}");
    assert!(page.contains("id=\"redirect-host\">127.0.0.1<"));
    assert!(page.contains("id=\"localhost-warning\""));
    assert!(page.contains("id=\"no-credential\""));
    let handle = page
        .split("name=\"request\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = w
        .http
        .post(format!("{}/authorize", w.beta))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_encode(&[
            ("request", &handle),
            ("decision", "approve"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (loc, params) = location_params(&r);
    assert!(loc.starts_with(REDIRECT), "{loc}");
    params
}

// M4/A4 (PKCE S256), M5 (resource), C8, C13, M7: a CIMD public client through consent to a
// token to a call on the resource server; the code is single use; refresh tokens rotate and a
// reused one revokes the family (M7).
#[tokio::test]
async fn code_flow_with_pkce_and_resource_from_a_cimd_public_client_then_refresh_rotation() {
    let w = start().await;
    let (verifier, challenge) = pkce();
    let params = authorize(&w, &challenge, "st-123").await;
    assert_eq!(param(&params, "state"), Some("st-123"));
    assert_eq!(param(&params, "iss"), Some(w.beta.as_str()), "RFC 9207");
    let code = param(&params, "code").unwrap().to_owned();

    let token_request = |code: String, verifier: String| {
        let w = &w;
        async move {
            w.post_form(
                "/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &verifier),
                    ("client_id", &w.public_client),
                    ("resource", &w.resource),
                ],
            )
            .await
        }
    };
    // A4: a wrong verifier is invalid_grant and does not spend the code.
    let (wrong, _) = pkce();
    let r = token_request(code.clone(), wrong).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");

    let r = token_request(code.clone(), verifier.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    let body: Value = r.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh1 = body["refresh_token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&access);
    assert_eq!(claims["sub"], DEV_USER);
    assert_eq!(claims["client_id"], w.public_client.as_str());
    assert_eq!(claims["aud"], w.resource.as_str());
    let r = w.call_resource(&access).await;
    assert_eq!(r.status(), StatusCode::OK);

    // M7: refresh rotates.
    let refresh = |t: String| {
        let w = &w;
        async move {
            w.post_form(
                "/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &t),
                    ("client_id", &w.public_client),
                ],
            )
            .await
        }
    };
    let r = refresh(refresh1.clone()).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let refresh2 = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh2, refresh1);
    assert_eq!(
        w.call_resource(body["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    // Reuse of the first refresh token: invalid_grant, and the whole family is revoked.
    let r = refresh(refresh1).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let r = refresh(refresh2).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // The code is single use: redeeming it again is invalid_grant and revokes what it started
    // (RFC 6749 §4.1.2).
    let (verifier, challenge) = pkce();
    let params = authorize(&w, &challenge, "st-2").await;
    let code = param(&params, "code").unwrap().to_owned();
    let r = token_request(code.clone(), verifier.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let refresh3 = r.json::<Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = token_request(code, verifier).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let r = refresh(refresh3).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");

    let denied = w.beta_events("grant.denied").await;
    assert!(
        denied
            .iter()
            .any(|e| e.reason.as_deref() == Some("refresh_token_reused"))
    );
    assert_eq!(w.beta_events("authorization.consented").await.len(), 2);
    w.stop().await;
}

// C8 and RFC 9700 §4.11: an unverified redirect_uri gets an error page, never a redirect; after
// it is verified, errors go back with state and iss (A4 plain refused, A3 invalid_target,
// unsupported_response_type, access_denied).
#[tokio::test]
async fn authorization_errors_follow_the_spec_and_never_redirect_to_an_unverified_uri() {
    let w = start().await;
    let (_, challenge) = pkce();
    let url = |pairs: &[(&str, &str)]| format!("{}/authorize?{}", w.beta, form_encode(pairs));
    let base = |redirect: &'static str| {
        vec![
            ("response_type", "code"),
            ("client_id", w.public_client.as_str()),
            ("redirect_uri", redirect),
            ("state", "s1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("resource", w.resource.as_str()),
        ]
    };
    // C8: not one of the document's redirect URIs → a page, no Location.
    let r = w
        .http
        .get(url(&base("https://evil.test/callback")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(header::LOCATION).is_none());
    // Missing client_id → a page.
    let r = w
        .http
        .get(format!("{}/authorize?response_type=code", w.beta))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(header::LOCATION).is_none());

    let expect = |pairs: Vec<(&str, &str)>, error: &'static str| {
        let w = &w;
        let u = url(&pairs);
        async move {
            let r = w.http.get(u).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FOUND, "{error}");
            let (_, p) = location_params(&r);
            assert_eq!(param(&p, "error"), Some(error));
            assert_eq!(param(&p, "state"), Some("s1"));
            assert_eq!(param(&p, "iss"), Some(w.beta.as_str()));
        }
    };
    // A4: plain refused, method missing, challenge missing.
    let mut p = base(REDIRECT);
    p[5] = ("code_challenge_method", "plain");
    expect(p, "invalid_request").await;
    let p: Vec<_> = base(REDIRECT)
        .into_iter()
        .filter(|(k, _)| *k != "code_challenge_method")
        .collect();
    expect(p, "invalid_request").await;
    let p: Vec<_> = base(REDIRECT)
        .into_iter()
        .filter(|(k, _)| *k != "code_challenge")
        .collect();
    expect(p, "invalid_request").await;
    // A3 / M5: resource missing, unknown, with a fragment.
    let p: Vec<_> = base(REDIRECT)
        .into_iter()
        .filter(|(k, _)| *k != "resource")
        .collect();
    expect(p, "invalid_target").await;
    let mut p = base(REDIRECT);
    p[6] = ("resource", "https://mcp.other.test/mcp");
    expect(p, "invalid_target").await;
    let frag = format!("{}#f", w.resource);
    let mut p = base(REDIRECT);
    p[6] = ("resource", frag.as_str());
    expect(p, "invalid_target").await;
    // Unsupported response type; a scope the resource does not offer.
    let mut p = base(REDIRECT);
    p[0] = ("response_type", "token");
    expect(p, "unsupported_response_type").await;
    let mut p = base(REDIRECT);
    p.push(("scope", "admin:all"));
    expect(p, "invalid_scope").await;

    // The user denies: access_denied. A consent POST without its cookie is refused.
    let r = w.http.get(url(&base(REDIRECT))).send().await.unwrap();
    let cookie = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = r.text().await.unwrap();
    let handle = page
        .split("name=\"request\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let consent = |cookie: Option<String>, decision: &'static str| {
        let w = &w;
        let handle = handle.clone();
        async move {
            let mut b = w
                .http
                .post(format!("{}/authorize", w.beta))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form_encode(&[("request", &handle), ("decision", decision)]));
            if let Some(c) = cookie {
                b = b.header(header::COOKIE, c);
            }
            b.send().await.unwrap()
        }
    };
    let r = consent(None, "approve").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(header::LOCATION).is_none());
    let r = consent(Some(cookie.clone()), "deny").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, p) = location_params(&r);
    assert_eq!(param(&p, "error"), Some("access_denied"));
    assert_eq!(param(&p, "state"), Some("s1"));
    // Single use: the same consent cannot be answered again.
    let r = consent(Some(cookie), "approve").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(w.beta_events("authorization.denied").await.len(), 1);
    assert!(!w.beta_events("authorization.refused").await.is_empty());
    w.stop().await;
}
