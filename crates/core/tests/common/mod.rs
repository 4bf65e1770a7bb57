//! Shared fixtures for the integration tests: public JWKs from the RFCs and a valid CIMD.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

/// RFC 8037 §A.2 Ed25519 public key.
pub fn ed25519_jwk(kid: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": kid})
}

/// RFC 7517 §A.1 P-256 public key.
pub fn p256_jwk(kid: &str) -> Value {
    json!({
        "kty": "EC", "crv": "P-256",
        "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
        "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
        "kid": kid
    })
}

/// The client_id used by the CIMD tests.
pub const CLIENT_ID: &str = "https://a.example/agents/42/client-metadata.json";

/// A document that passes every rule (confidential client with inline jwks).
pub fn valid_doc() -> Value {
    json!({
        "client_id": CLIENT_ID,
        "client_name": "Log reader agent",
        "redirect_uris": ["https://a.example/cb", "http://127.0.0.1:8765/cb"],
        "grant_types": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "EdDSA",
        "jwks": {"keys": [ed25519_jwk("k1"), p256_jwk("k2")]},
        "scope": "logs:read logs:write",
        "vc+jwt": "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0.c2ln"
    })
}

/// Serialises a JSON value.
pub fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}
