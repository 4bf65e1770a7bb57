//! RFC 7591/7592 over real gRPC on loopback with real Postgres: register, read, update (full
//! replacement) and delete with the registration access token; every call without it, with a
//! wrong one, or for an unknown client is UNAUTHENTICATED (RFC 7592: 401 for both).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use crossauthz_proto::registry::{ClientAccessRequest, RegisterClientRequest, UpdateClientRequest};
use crossauthz_registry::RegistryError;
use crossauthz_registry::dcr::{DcrError, hash_token};
use crossauthz_registry::grpc::oauth_error_of;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tonic::Code;

#[tokio::test]
async fn d2_register_read_update_delete_with_the_registration_token() {
    let r = RegistryOnly::start().await;
    let mut registry = r.registry();
    let (_k, jwk) = agent_key("k1");
    let metadata = json!({
        "client_name": "legacy MCP client",
        "redirect_uris": ["http://127.0.0.1:7777/callback"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [jwk]},
        "grant_types": ["authorization_code", "refresh_token"]
    });
    let registered = registry
        .register_client(RegisterClientRequest {
            metadata_json: metadata.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    // C14: a generated client_id is not an https URL.
    assert!(!registered.client_id.starts_with("https://"));
    assert_eq!(
        registered.registration_client_uri,
        format!("{PUBLIC_URL}/register/{}", registered.client_id)
    );
    let token = registered.registration_access_token.clone();
    assert_eq!(token.len(), 43, "32 random bytes, base64url");
    // Stored only as its SHA-256.
    let stored = r
        .database
        .registry_store()
        .get_dcr_client(&registered.client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.registration_token_hash,
        Sha256::digest(token.as_bytes()).to_vec()
    );
    assert_eq!(stored.registration_token_hash, hash_token(&token));
    assert!(!stored.metadata.to_string().contains(&token));

    let access = |t: &str| ClientAccessRequest {
        client_id: registered.client_id.clone(),
        registration_access_token: t.to_owned(),
    };
    let read = registry
        .get_client(access(&token))
        .await
        .unwrap()
        .into_inner();
    assert!(
        read.registration_access_token.is_empty(),
        "never returned again"
    );
    let read_meta: Value = serde_json::from_str(&read.metadata_json).unwrap();
    assert_eq!(read_meta["client_name"], "legacy MCP client");

    let replaced = registry
        .update_client(UpdateClientRequest {
            client_id: registered.client_id.clone(),
            registration_access_token: token.clone(),
            metadata_json: json!({
                "client_id": registered.client_id,
                "client_name": "renamed",
                "redirect_uris": ["https://client.example/cb"],
                "token_endpoint_auth_method": "none"
            })
            .to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    let meta: Value = serde_json::from_str(&replaced.metadata_json).unwrap();
    assert_eq!(meta["client_name"], "renamed");
    assert!(meta.get("jwks").is_none(), "full replacement");

    registry.delete_client(access(&token)).await.unwrap();
    let status = registry.get_client(access(&token)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "deleted client: 401");
    assert_eq!(
        r.audit_kinds().await,
        ["dcr.registered", "dcr.updated", "dcr.deleted"]
    );
    r.stop().await;
}

#[tokio::test]
async fn d2_missing_or_wrong_token_or_unknown_client_is_unauthenticated() {
    let r = RegistryOnly::start().await;
    let mut registry = r.registry();
    let registered = registry
        .register_client(RegisterClientRequest {
            metadata_json: json!({"redirect_uris": ["https://c.example/cb"]}).to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    let cid = registered.client_id.clone();
    let wrong = format!("{}x", registered.registration_access_token);
    for (client_id, token) in [
        (cid.as_str(), ""),
        (cid.as_str(), wrong.as_str()),
        ("dcr-unknown", registered.registration_access_token.as_str()),
    ] {
        let access = ClientAccessRequest {
            client_id: client_id.into(),
            registration_access_token: token.into(),
        };
        assert_eq!(
            registry
                .get_client(access.clone())
                .await
                .unwrap_err()
                .code(),
            Code::Unauthenticated
        );
        assert_eq!(
            registry.delete_client(access).await.unwrap_err().code(),
            Code::Unauthenticated
        );
        let update = registry
            .update_client(UpdateClientRequest {
                client_id: client_id.into(),
                registration_access_token: token.into(),
                metadata_json: "{not json".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            update.code(),
            Code::Unauthenticated,
            "token checked before the body"
        );
    }
    let err = r.service.get_client(&cid, "nope").await.unwrap_err();
    assert!(matches!(err, RegistryError::DcrUnauthorized));
    // Still there, unchanged.
    registry
        .get_client(ClientAccessRequest {
            client_id: cid,
            registration_access_token: registered.registration_access_token,
        })
        .await
        .unwrap();
    assert_eq!(r.audit_kinds().await, ["dcr.registered"]);
    r.stop().await;
}

#[tokio::test]
async fn d1_refused_registrations_name_their_rfc7591_error_and_store_nothing() {
    let r = RegistryOnly::start().await;
    let cases = [
        (
            json!({"token_endpoint_auth_method": "client_secret_basic", "redirect_uris": ["https://c.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"client_secret": "s3cr3t", "redirect_uris": ["https://c.example/cb"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://c.example/j", "jwks": {"keys": []}, "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt", "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://c.example/cb#x"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"grant_types": ["authorization_code"]}),
            "invalid_redirect_uri",
        ),
    ];
    for (metadata, code) in cases {
        let status = r
            .registry()
            .register_client(RegisterClientRequest {
                metadata_json: metadata.to_string(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{metadata}");
        assert_eq!(oauth_error_of(&status), Some(code), "{metadata}");
    }
    let err = r
        .service
        .register_client(&json!({"token_endpoint_auth_method": "client_secret_post"}).to_string())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        RegistryError::Dcr(DcrError::SymmetricAuthMethod(_))
    ));
    assert!(r.audit_kinds().await.is_empty(), "nothing registered");
    r.stop().await;
}
