//! Admin REST for the trust list, Cedar policies and resources, over a real verifier service
//! (gRPC on loopback, PostgreSQL). DESIGN §4; issue 7 "validated before they are stored".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use crossauthz_core::clock::SystemClock;
use crossauthz_gateway::admin_auth::{AdminToken, require_admin};
use crossauthz_gateway::routes::admin_settings;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_testkit::{GrpcServer, TestDatabase};
use crossauthz_verifier::config::VerifierConfig;
use crossauthz_verifier::service::VerifierService;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "settings-admin-token-0123456789";

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    body: Option<Value>,
    auth: bool,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if auth {
        req = req.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

#[tokio::test]
async fn trust_policies_and_resources_round_trip_and_bad_input_changes_nothing() {
    let tdb = TestDatabase::postgres().await.unwrap();
    let db = tdb.connect().await.unwrap();
    let config = VerifierConfig {
        issuer: "https://beta.test".into(),
        settings_refresh_seconds: 0,
        ..VerifierConfig::default()
    };
    let service = VerifierService::new(
        config,
        db.verifier_store(),
        db.audit_store(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let server =
        GrpcServer::start(tonic::transport::Server::builder().add_service(service.grpc_server()))
            .await
            .unwrap();
    let client = VerifierClient::new(server.channel());
    let app: Router = Router::new().nest(
        "/admin/v1",
        admin_settings::admin_routes(client).layer(axum::middleware::from_fn_with_state(
            AdminToken::new(TOKEN).unwrap(),
            require_admin,
        )),
    );

    // Without the admin token: 401, and nothing is stored.
    let (status, _) = call(
        &app,
        "PUT",
        "/admin/v1/trust",
        Some(json!({"issuers": [{"issuer": "did:web:alpha.test", "credential_types": ["AgentAuthorizationCredential"], "issuer_domains": ["alpha.test"]}]})),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&app, "GET", "/admin/v1/trust", None, true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["issuers"], json!([]));

    // Trust list round trip.
    let trust = json!({"issuers": [{"issuer": "did:web:alpha.test", "credential_types": ["AgentAuthorizationCredential"], "issuer_domains": ["alpha.test"]}]});
    let (status, _) = call(&app, "PUT", "/admin/v1/trust", Some(trust.clone()), true).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = call(&app, "GET", "/admin/v1/trust", None, true).await;
    assert_eq!(body, trust);

    // A trust entry that is not a did:web issuer is refused and the old list stays.
    let (status, body) = call(
        &app,
        "PUT",
        "/admin/v1/trust",
        Some(json!({"issuers": [{"issuer": "https://not-a-did.test", "credential_types": [], "issuer_domains": []}]})),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, body) = call(&app, "GET", "/admin/v1/trust", None, true).await;
    assert_eq!(body, trust);

    // Policies: a good set is stored; a set Cedar refuses is 400 with Cedar's error, old set kept.
    let good = r#"@id("allow-logs") permit(principal, action == Action::"logs:read", resource);"#;
    let (status, body) = call(
        &app,
        "PUT",
        "/admin/v1/policies",
        Some(json!({"policies": good})),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(
        &app,
        "PUT",
        "/admin/v1/policies",
        Some(json!({"policies": "permit(principal, action, resource"})),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("policy"),
        "{body}"
    );
    let (_, body) = call(&app, "GET", "/admin/v1/policies", None, true).await;
    assert_eq!(body["policies"], good);

    // Resources round trip; a malformed body is 400 and changes nothing.
    let resources = json!({"resources": [{"resource": "https://mcp.beta.test/mcp", "scopes": ["logs:read"], "attributes": {"sensitivity": "regulated"}}]});
    let (status, body) = call(
        &app,
        "PUT",
        "/admin/v1/resources",
        Some(resources.clone()),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = call(
        &app,
        "PUT",
        "/admin/v1/resources",
        Some(json!({"resources": [{"resource": "https://x.test/mcp", "scopes": ["logs:read"], "attributes": ["not", "an", "object"]}]})),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = call(&app, "GET", "/admin/v1/resources", None, true).await;
    assert_eq!(body, resources);

    server.stop().await;
    db.close().await;
    tdb.cleanup().await.unwrap();
}
