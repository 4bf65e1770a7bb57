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

/// The consent page of a fresh authorization request by the public client, and its cookie.
async fn consent_page(w: &World, challenge: &str) -> (reqwest::Response, String) {
    let url = format!(
        "{}/authorize?{}",
        w.beta,
        form_encode(&[
            ("response_type", "code"),
            ("client_id", &w.public_client),
            ("redirect_uri", REDIRECT),
            ("state", "logo"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("resource", &w.resource),
        ])
    );
    let r = w.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    (r, url)
}

// C13 (CIMD §6.7): the client's logo is prefetched by beta and shown from beta's own origin —
// the page never links to the client's site — as the exact PNG bytes, with nosniff and a
// sandboxing CSP; it is fetched from the client once and then served from the cache.
#[tokio::test]
async fn c13_consent_page_shows_the_prefetched_logo_from_this_origin() {
    let w = start().await;
    let (_, challenge) = pkce();
    let (r, url) = consent_page(&w, &challenge).await;
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("img-src 'self'"), "{csp}");
    let page = r.text().await.unwrap();
    let logo_src = html_escape::decode_html_entities(
        page.split("id=\"client-logo\" src=\"")
            .nth(1)
            .expect("a logo on the consent page")
            .split('"')
            .next()
            .unwrap(),
    )
    .into_owned();
    assert!(logo_src.starts_with("/authorize/logo?"), "{logo_src}");
    assert!(
        !page.contains("/oauth/logo.png"),
        "the client's logo URL is never hot-linked"
    );
    let logo = w
        .http
        .get(format!("{}{logo_src}", w.beta))
        .send()
        .await
        .unwrap();
    assert_eq!(logo.status(), StatusCode::OK);
    assert_eq!(logo.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(logo.headers()["x-content-type-options"], "nosniff");
    assert!(
        logo.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(&logo.bytes().await.unwrap()[..], CLIENT_LOGO_PNG);
    assert_eq!(w.client_logo_hits(), 1);
    // A second page: the logo comes from beta's cache.
    let r = w.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(w.client_logo_hits(), 1);
    // Another id, or a malformed one, is 404; nothing is fetched for it.
    for bad in [
        format!(
            "/authorize/logo?{}",
            form_encode(&[("client_id", &w.public_client), ("id", &"0".repeat(64))])
        ),
        format!(
            "/authorize/logo?{}",
            form_encode(&[("client_id", &w.public_client), ("id", "../../etc")])
        ),
        format!(
            "/authorize/logo?{}",
            form_encode(&[
                ("client_id", "https://elsewhere.test/c.json"),
                ("id", &"a".repeat(64))
            ])
        ),
    ] {
        let r = w.http.get(format!("{}{bad}", w.beta)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    assert_eq!(w.client_logo_hits(), 1);
    w.stop().await;
}

/// Runs the code flow for the public client; answers its first refresh token.
async fn public_refresh_token(w: &World) -> String {
    let (verifier, challenge) = pkce();
    let params = authorize(w, &challenge, "st-r").await;
    let code = param(&params, "code").unwrap().to_owned();
    let r = w
        .post_form(
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
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A public client's refresh request.
async fn refresh_public(w: &World, token: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", w.public_client.as_str()),
    ];
    form.extend_from_slice(extra);
    let r = w.post_form("/token", &form).await;
    let status = r.status();
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    (status, r.json().await.unwrap())
}

// M7: a public client's refresh is the verifier's `refresh_token` decision: its CIMD is
// resolved again — changed, gone or turned confidential, the refresh is refused with the RFC
// 6749 §5.2 error — and the scope may only narrow. A refused refresh spends nothing: the same
// token works once the client is whole again.
#[tokio::test]
async fn m7_public_client_refresh_rejections_follow_rfc6749() {
    let w = start().await;
    let token = public_refresh_token(&w).await;
    let original = public_client_document(&w.public_client);

    // RFC 6749 §6: a scope beyond the grant is invalid_scope.
    let (status, body) = refresh_public(&w, &token, &[("scope", "logs:read status:read")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_scope");
    // The client no longer lists refresh_token: unauthorized_client.
    let mut doc = original.clone();
    doc["grant_types"] = serde_json::json!(["authorization_code"]);
    w.set_public_client_document(Some(doc));
    let (status, body) = refresh_public(&w, &token, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unauthorized_client");
    // The client is gone: invalid_client (401 with a challenge).
    w.set_public_client_document(None);
    let r = w
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &token),
                ("client_id", &w.public_client),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    // Its document is invalid now (client_id differs from the URL): invalid_client.
    let mut doc = original.clone();
    doc["client_id"] = serde_json::json!(format!("{}/", w.public_client));
    w.set_public_client_document(Some(doc));
    let (status, body) = refresh_public(&w, &token, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    // It turned confidential: without an assertion, invalid_client.
    let key = crossauthz_credentials::keys::SigningKey::generate(
        crossauthz_credentials::keys::Algorithm::ES256,
    )
    .unwrap();
    let mut doc = original.clone();
    doc["token_endpoint_auth_method"] = serde_json::json!("private_key_jwt");
    doc["jwks"] = serde_json::json!({"keys": [key.public_jwk().to_json()]});
    w.set_public_client_document(Some(doc));
    let (status, body) = refresh_public(&w, &token, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");

    // Nothing was spent: restored, the same token refreshes (and narrows the scope), once.
    w.set_public_client_document(Some(original));
    let (status, body) = refresh_public(&w, &token, &[("scope", "logs:read")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "logs:read");
    let (status, body) = refresh_public(&w, &token, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    // Each refusal is in both audit logs: the verifier's refresh_token decision and the grant
    // denial with the verifier's reason.
    let reasons: Vec<String> = w
        .beta_events("grant.denied")
        .await
        .into_iter()
        .filter_map(|e| e.reason)
        .collect();
    for reason in [
        "refresh_scope_widened",
        "grant_type_not_allowed",
        "fetch_status",
        "client_id_mismatch",
        "assertion_missing",
        "refresh_token_reused",
    ] {
        assert!(reasons.iter().any(|r| r == reason), "{reason}: {reasons:?}");
    }
    let decisions = w.beta_events("grant.decision").await;
    let refreshes: Vec<_> = decisions
        .iter()
        .filter(|e| e.details["grant_type"] == "refresh_token")
        .collect();
    assert_eq!(refreshes.len(), 6);
    assert_eq!(
        refreshes
            .iter()
            .filter(|e| e.decision.as_deref() == Some("allow"))
            .count(),
        1
    );
    w.stop().await;
}

// RFC 7662 §2.1 / RFC 7009 §2.1 through Verifier/AuthenticateClient: the client is
// authenticated before anything about the token is said or done; a replayed assertion is
// invalid_client; a public client may revoke its own tokens by client_id but not introspect,
// nor revoke another client's token.
#[tokio::test]
async fn introspection_and_revocation_authenticate_the_client_first() {
    let w = start().await;
    let agent = w.agent().await;
    let (status, body) = w.client_credentials(&agent, "logs:read", &w.resource).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let client_form = |assertion: &str, token: &str| {
        vec![
            ("token".to_owned(), token.to_owned()),
            ("client_id".to_owned(), agent.client_id.clone()),
            ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
            ("client_assertion".to_owned(), assertion.to_owned()),
        ]
    };
    let post = |path: &'static str, form: Vec<(String, String)>| {
        let w = &w;
        async move {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            w.post_form(path, &pairs).await
        }
    };
    // The agent's document lists only client_credentials: it still introspects its token.
    let a = w.assertion(&agent);
    let r = post("/introspect", client_form(&a, &access)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["active"], true);
    // The same assertion again (P4 replay): 401, even though the token is the caller's.
    let r = post("/introspect", client_form(&a, &access)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    // An assertion for the wrong audience: 401 whatever the token (unknown here).
    let wrong = w.assertion_for(&agent, &format!("{}/introspect", w.beta));
    let r = post("/introspect", client_form(&wrong, "no-such-token")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Authenticated, an unknown token is simply inactive.
    let r = post(
        "/introspect",
        client_form(&w.assertion(&agent), "no-such-token"),
    )
    .await;
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"active": false})
    );

    // The public client: its own refresh token and the agent's access token.
    let refresh = public_refresh_token(&w).await;
    let r = w
        .post_form(
            "/introspect",
            &[("token", &refresh), ("client_id", &w.public_client)],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "public clients cannot introspect"
    );
    let r = w
        .post_form(
            "/revoke",
            &[("token", &access), ("client_id", &w.public_client)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let r = w
        .http
        .post(format!("{}/introspect", w.beta))
        .bearer_auth(ADMIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_encode(&[("token", &access)]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["active"],
        true,
        "not revoked"
    );
    // An unknown token is answered 200 (RFC 7009 §2.2) once the client is identified.
    let r = w
        .post_form(
            "/revoke",
            &[("token", "no-such-token"), ("client_id", &w.public_client)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // A public client whose document is gone is not identified: 401.
    w.set_public_client_document(None);
    let r = w
        .post_form(
            "/revoke",
            &[("token", &refresh), ("client_id", &w.public_client)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    w.set_public_client_document(Some(public_client_document(&w.public_client)));
    // Its own refresh token: revoked, and the family is dead.
    let r = w
        .post_form(
            "/revoke",
            &[
                ("token", &refresh),
                ("token_type_hint", "refresh_token"),
                ("client_id", &w.public_client),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (status, body) = refresh_public(&w, &refresh, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    // The verifier recorded each authentication with its purpose; no grant decision was asked
    // for introspection or revocation.
    let auth = w.beta_events("client.authenticated").await;
    let purposes: Vec<&str> = auth
        .iter()
        .map(|e| e.details["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(
        purposes,
        vec![
            "introspection",
            "introspection",
            "introspection",
            "introspection",
            "revocation",
            "revocation",
            "revocation",
            "revocation"
        ]
    );
    assert_eq!(
        auth.iter()
            .filter(|e| e.decision.as_deref() == Some("deny"))
            .count(),
        3
    );
    w.stop().await;
}
