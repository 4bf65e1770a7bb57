//! The Authorization Server's request parsing and error answers, through `Router::oneshot` (no
//! socket): every RFC 6749 §5.2 / RFC 8707 / RFC 7636 error this AS can give before or without
//! a decision, on a SQLite grant store with a fixed clock and upstream services that are down
//! (a connection to 127.0.0.1:1 is refused), which also proves that an unreachable verifier
//! fails closed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use crossauthz_core::clock::FixedClock;
use crossauthz_gateway::admin_auth::AdminToken;
use crossauthz_gateway::oauth::login::{self, DevUser};
use crossauthz_gateway::oauth::{OAuthConfig, OAuthParts, OAuthState};
use crossauthz_gateway::{AppState, GatewayConfig, Upstreams, router_with_oauth};
use crossauthz_proto::issuer::issuer_client::IssuerClient;
use crossauthz_proto::registry::registry_client::RegistryClient;
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_store::{
    Database, NewAuthorizationCode, NewRefreshFamily, OAuthStore, RefreshRotation,
};
use crossauthz_testkit::{TestDatabase, channel_to};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const ISSUER: &str = "https://beta.test";
const ADMIN: &str = "endpoint-tests-admin-token-0123456789";
const CLIENT: &str = "https://client.test/oauth/client-metadata.json";
const MCP: &str = "https://mcp.beta.test/mcp";
const REDIRECT: &str = "http://127.0.0.1:33418/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Harness {
    _db: TestDatabase,
    store: Arc<dyn OAuthStore>,
    router: Router,
    now: DateTime<Utc>,
}

async fn harness() -> Harness {
    let db = TestDatabase::sqlite().unwrap();
    let database: Database = db.connect().await.unwrap();
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let clock = FixedClock::new(now);
    let dead = channel_to("127.0.0.1:1".parse().unwrap());
    let state = AppState {
        config: Arc::new(GatewayConfig {
            public_url: url::Url::parse(ISSUER).unwrap(),
            admin_token: AdminToken::new(ADMIN).unwrap(),
        }),
        upstreams: Upstreams {
            registry: RegistryClient::new(dead.clone()),
            issuer: IssuerClient::new(dead.clone()),
            status_list: StatusListClient::new(dead.clone()),
        },
    };
    let config = OAuthConfig {
        dev_login: Some(DevUser {
            subject: "dev".into(),
            name: None,
        }),
        ..OAuthConfig::default()
    };
    let users = login::from_config(&config);
    let store = database.oauth_store();
    let oauth = OAuthState::new(
        &state,
        OAuthParts {
            config,
            verifier: VerifierClient::new(dead),
            store: store.clone(),
            audit: database.audit_store(),
            clock: Arc::new(clock),
            users,
        },
    )
    .unwrap();
    Harness {
        _db: db,
        store,
        router: router_with_oauth(state, oauth),
        now,
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn send(router: &Router, req: Request<Body>) -> Answer {
    let r = router.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn form(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn enc(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Asserts an RFC 6749 §5.2 error answer.
fn assert_error(a: &Answer, status: StatusCode, error: &str) {
    assert_eq!(a.status, status, "{:?}", a.body);
    assert_eq!(a.body["error"], error, "{:?}", a.body);
    assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
    assert!(a.body["error_description"].is_string());
}

async fn token(h: &Harness, pairs: &[(&str, &str)]) -> Answer {
    send(&h.router, form("/token", &enc(pairs))).await
}

// RFC 6749 §3.2, §5.2: form body, grant dispatch, repeated parameters.
#[tokio::test]
async fn rfc6749_token_request_shape_errors() {
    let h = harness().await;
    let a = token(&h, &[("client_id", CLIENT)]).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_request");
    let a = token(&h, &[("grant_type", "password"), ("client_id", CLIENT)]).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let a = token(&h, &[("grant_type", "implicit")]).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    let a = send(
        &h.router,
        Request::post("/token")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"grant_type":"client_credentials"}"#))
            .unwrap(),
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_request");
    let a = send(
        &h.router,
        form(
            "/token",
            "grant_type=client_credentials&grant_type=client_credentials",
        ),
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_request");
    // No client_id and no assertion naming one.
    let a = token(
        &h,
        &[("grant_type", "client_credentials"), ("resource", MCP)],
    )
    .await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(a.headers.contains_key(header::WWW_AUTHENTICATE));
}

// C4 / RFC 6749 §5.2: HTTP Basic (client_secret_basic) is refused with 401 and a Basic challenge.
#[tokio::test]
async fn c4_client_secret_basic_is_refused_with_a_matching_challenge() {
    let h = harness().await;
    let req = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, "Basic Y2xpZW50OnNlY3JldA==")
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    let a = send(&h.router, req).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(
        a.headers[header::WWW_AUTHENTICATE],
        "Basic realm=\"https://beta.test\", error=\"invalid_client\""
    );
}

// A3 / RFC 8707 §2, M5: resource required, one, absolute, no fragment; scope required.
#[tokio::test]
async fn a3_m5_resource_errors_are_invalid_target() {
    let h = harness().await;
    let base = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT),
        ("scope", "logs:read"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    for extra in [
        vec![],
        vec![("resource", "/mcp")],
        vec![("resource", "https://mcp.beta.test/mcp#top")],
        vec![("resource", "mcp.beta.test/mcp")],
        vec![("resource", MCP), ("resource", "https://other.test/mcp")],
    ] {
        let a = token(&h, &with(&extra)).await;
        assert_error(&a, StatusCode::BAD_REQUEST, "invalid_target");
    }
    let a = token(
        &h,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("resource", MCP),
        ],
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_scope");
    let a = token(
        &h,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("resource", MCP),
            ("scope", "logs:read  x"),
        ],
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_scope");
}

// DESIGN §6: a well-formed request with the verifier unreachable is not granted (fail closed).
#[tokio::test]
async fn an_unreachable_verifier_fails_closed_as_temporarily_unavailable() {
    let h = harness().await;
    let a = token(
        &h,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("resource", MCP),
            ("scope", "logs:read"),
        ],
    )
    .await;
    assert_error(
        &a,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(a.body.get("access_token").is_none());
}

async fn store_code(h: &Harness, code: &str, expires_in: i64) {
    h.store
        .put_authorization_code(
            code,
            &NewAuthorizationCode {
                client_id: CLIENT.into(),
                redirect_uri: REDIRECT.into(),
                resource: MCP.into(),
                scopes: vec!["logs:read".into()],
                code_challenge: CHALLENGE.into(),
                subject: "dev".into(),
                created_at: h.now - Duration::seconds(120),
                expires_at: h.now + Duration::seconds(expires_in),
            },
        )
        .await
        .unwrap();
}

fn code_request<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
        ("client_id", CLIENT),
        ("resource", MCP),
    ]
}

// A4 / RFC 7636 §4.5–4.6 and RFC 6749 §4.1.3: every check before the code is spent.
#[tokio::test]
async fn a4_pkce_and_code_binding_errors() {
    let h = harness().await;
    store_code(&h, "code-1", 60).await;
    let without = |name: &str| {
        code_request("code-1", VERIFIER)
            .into_iter()
            .filter(|(k, _)| *k != name)
            .collect::<Vec<_>>()
    };
    // Missing verifier: invalid_request; malformed (too short, bad character): invalid_request.
    assert_error(
        &token(&h, &without("code_verifier")).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    for bad in ["short", &format!("{}+", &VERIFIER[..43])] {
        assert_error(
            &token(&h, &code_request("code-1", bad)).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
    assert_error(
        &token(&h, &without("code")).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    assert_error(
        &token(&h, &without("redirect_uri")).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    // M5: resource is required at the token endpoint too.
    assert_error(
        &token(&h, &without("resource")).await,
        StatusCode::BAD_REQUEST,
        "invalid_target",
    );
    // A well-formed verifier that does not match: invalid_grant (§4.6).
    let other = "a".repeat(43);
    assert_error(
        &token(&h, &code_request("code-1", &other)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    // Unknown code, another client, another redirect URI, another resource, an expired code.
    assert_error(
        &token(&h, &code_request("nope", VERIFIER)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    let mut r = code_request("code-1", VERIFIER);
    r[4] = ("client_id", "https://evil.test/c.json");
    assert_error(
        &token(&h, &r).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    let mut r = code_request("code-1", VERIFIER);
    r[2] = ("redirect_uri", "http://127.0.0.1:33418/other");
    assert_error(
        &token(&h, &r).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    let mut r = code_request("code-1", VERIFIER);
    r[5] = ("resource", "https://mcp.beta.test/other");
    assert_error(
        &token(&h, &r).await,
        StatusCode::BAD_REQUEST,
        "invalid_target",
    );
    store_code(&h, "code-old", -1).await;
    assert_error(
        &token(&h, &code_request("code-old", VERIFIER)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    // None of this spent the code; the right request reaches the (unreachable) verifier.
    assert!(
        h.store
            .get_authorization_code("code-1")
            .await
            .unwrap()
            .unwrap()
            .redeemed_at
            .is_none()
    );
    assert_error(
        &token(&h, &code_request("code-1", VERIFIER)).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
}

// M7: a used refresh token presented again revokes the whole family, before any decision.
#[tokio::test]
async fn m7_refresh_token_reuse_revokes_the_family() {
    let h = harness().await;
    let family = uuid::Uuid::new_v4();
    h.store
        .create_refresh_family(
            &NewRefreshFamily {
                family_id: family,
                client_id: CLIENT.into(),
                confidential: false,
                subject: "dev".into(),
                resource: MCP.into(),
                scopes: vec!["logs:read".into()],
                credential_id: None,
                issuer_domain: None,
                created_at: h.now - Duration::seconds(10),
                expires_at: h.now + Duration::days(1),
            },
            "rt-1",
            h.now + Duration::hours(1),
        )
        .await
        .unwrap();
    let rotated = h
        .store
        .rotate_refresh_token("rt-1", "rt-2", h.now + Duration::hours(1), h.now)
        .await
        .unwrap();
    assert!(matches!(rotated, RefreshRotation::Rotated(_)));
    let refresh = |t: &'static str, client: &'static str| {
        vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", t),
            ("client_id", client),
        ]
    };
    assert_error(
        &token(&h, &refresh("unknown", CLIENT)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    // Another client presenting the token learns nothing and changes nothing.
    assert_error(
        &token(&h, &refresh("rt-2", "https://evil.test/c.json")).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert!(
        h.store
            .get_refresh_token("rt-2")
            .await
            .unwrap()
            .unwrap()
            .is_active(h.now)
    );
    // A scope beyond the grant is the verifier's to refuse (invalid_scope, tested with a real
    // verifier in oauth_flows): with the verifier down nothing is granted and nothing spent.
    let mut r = refresh("rt-2", CLIENT);
    r.push(("scope", "logs:read admin"));
    assert_error(
        &token(&h, &r).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    assert!(
        h.store
            .get_refresh_token("rt-2")
            .await
            .unwrap()
            .unwrap()
            .is_active(h.now)
    );
    // Another resource is invalid_target, before any decision.
    let mut r = refresh("rt-2", CLIENT);
    r.push(("resource", "https://other.test/mcp"));
    assert_error(
        &token(&h, &r).await,
        StatusCode::BAD_REQUEST,
        "invalid_target",
    );
    // Reuse of rt-1: invalid_grant, and rt-2 is dead too.
    assert_error(
        &token(&h, &refresh("rt-1", CLIENT)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    let t = h.store.get_refresh_token("rt-2").await.unwrap().unwrap();
    assert_eq!(
        t.family.revoked_reason.as_deref(),
        Some("refresh_token_reused")
    );
}

// RFC 7662 §2.1: only authenticated callers. RFC 7009 §2.1: the client is authenticated
// before the token is even looked up, so with the verifier down a revocation fails closed
// (the 200 for unknown tokens, §2.2, is tested with a real verifier in oauth_flows).
#[tokio::test]
async fn introspection_needs_authentication_and_revocation_authenticates_first() {
    let h = harness().await;
    let a = send(&h.router, form("/introspect", "token=abc")).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "invalid_client");
    let req = Request::post("/introspect")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, "Bearer not-the-admin-token-at-all")
        .body(Body::from("token=abc"))
        .unwrap();
    assert_error(
        &send(&h.router, req).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
    let req = Request::post("/introspect")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .body(Body::from("token=abc"))
        .unwrap();
    let a = send(&h.router, req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, serde_json::json!({"active": false}));
    let req = Request::post("/introspect")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .body(Body::from(""))
        .unwrap();
    assert_error(
        &send(&h.router, req).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let a = send(
        &h.router,
        form("/revoke", &enc(&[("token", "abc"), ("client_id", CLIENT)])),
    )
    .await;
    assert_error(
        &a,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    // A client introspecting with an assertion is authenticated by the (unreachable)
    // verifier first: fail closed.
    let a = send(
        &h.router,
        form(
            "/introspect",
            &enc(&[
                ("token", "abc"),
                ("client_id", CLIENT),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", "e30.e30.sig"),
            ]),
        ),
    )
    .await;
    assert_error(
        &a,
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
    );
    let a = send(&h.router, form("/revoke", &enc(&[("client_id", CLIENT)]))).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "invalid_request");
}

// C8 / RFC 9700 §4.11: before the client is resolved nothing is redirected; a verifier that is
// down gives a page, not a redirect.
#[tokio::test]
async fn c8_authorization_errors_before_resolution_are_pages() {
    let h = harness().await;
    let req = |q: &str| {
        Request::get(format!("/authorize?{q}"))
            .body(Body::empty())
            .unwrap()
    };
    for q in [
        String::new(),
        format!("client_id={CLIENT}"),
        enc(&[("redirect_uri", REDIRECT)]),
        enc(&[
            ("client_id", CLIENT),
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
        ]),
    ] {
        let r = h.router.clone().oneshot(req(&q)).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
        assert!(r.headers().get(header::LOCATION).is_none());
        assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
    }
    let q = enc(&[("client_id", CLIENT), ("redirect_uri", REDIRECT)]);
    let r = h.router.clone().oneshot(req(&q)).await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().get(header::LOCATION).is_none());
}

// A1, C9, M3: the metadata over oneshot; an unknown path suffix is 404.
#[tokio::test]
async fn a1_metadata_document_and_path_suffix() {
    let h = harness().await;
    let a = send(
        &h.router,
        Request::get("/.well-known/oauth-authorization-server")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["issuer"], ISSUER);
    assert_eq!(a.body["client_id_metadata_document_supported"], true);
    let a = send(
        &h.router,
        Request::get("/.well-known/oauth-authorization-server/tenant")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    // Any body posted to any endpoint is answered without panicking and never with a 500.
    #[test]
    fn any_body_to_any_endpoint_never_panics(
        body in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        which in 0usize..4,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let h = harness().await;
            let path = ["/token", "/introspect", "/revoke", "/authorize"][which];
            let r = h
                .router
                .clone()
                .oneshot(
                    Request::post(path)
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_ne!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        });
    }
}

// The AS wiring mounts the verifier's admin settings (trust, policies, resources) behind the admin
// bearer token: without it 401 and nothing is forwarded; with it the call reaches the verifier
// (down here, so 503). Unmounted routes would answer 404 to both.
#[tokio::test]
async fn admin_settings_are_mounted_behind_the_admin_token() {
    let h = harness().await;
    for path in [
        "/admin/v1/trust",
        "/admin/v1/policies",
        "/admin/v1/resources",
    ] {
        let anonymous = send(&h.router, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{path}");
        let admin = send(
            &h.router,
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(admin.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
}
