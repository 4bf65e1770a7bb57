//! Shared fixtures for the credential tests: keys, a did:web issuer, a fixed clock, sample
//! credentials and helpers to craft (mis)signed tokens.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use crossauthz_credentials::did_web::{DidDocument, did_document, method_id};
use crossauthz_credentials::jose::{b64url_decode, b64url_encode};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use serde_json::{Value, json};

/// The fixed "now" of every test: 2025-06-01T12:00:00Z.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
}

/// A did:web issuer with one signing key and its published DID document.
pub struct Issuer {
    pub did: String,
    pub key: SigningKey,
    pub kid: String,
    pub doc: DidDocument,
}

impl Issuer {
    pub fn new(host: &str, alg: Algorithm) -> Self {
        let did = format!("did:web:{host}");
        let key = SigningKey::generate(alg).unwrap();
        let kid = method_id(&did, &key.public_jwk());
        let doc = DidDocument::parse(&did_document(&did, &[key.public_jwk()]), &did).unwrap();
        Issuer { did, key, kid, doc }
    }
}

/// A VC 2.0 Agent Authorization Credential issued by `issuer`, valid 2025-01-01 … 2026-01-01.
pub fn sample_vc(issuer: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:3f1c3f39-5c8e-4d55-9f5d-2f8b0b1f4a11",
        "type": ["VerifiableCredential", "AgentAuthorizationCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "validUntil": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "https://a.example/agents/42/client-metadata.json",
            "agentType": "tool-agent",
            "authorizedScopes": ["logs:read"],
            "issuerDomain": "a.example"
        }
    })
}

/// Signs arbitrary header and claims with `key`, bypassing every library check.
pub fn raw_sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let h = b64url_encode(header.to_string().as_bytes());
    let p = b64url_encode(claims.to_string().as_bytes());
    let input = format!("{h}.{p}");
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64url_encode(&sig))
}

/// An unsigned token with the given header and claims and the given raw signature part.
pub fn raw_token(header: &Value, claims: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{sig}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    )
}

/// Decodes the JSON of one base64url part.
pub fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&b64url_decode(part).unwrap()).unwrap()
}

/// Replaces the payload of a compact JWS, keeping header and signature.
pub fn swap_payload(jws: &str, claims: &Value) -> String {
    let parts: Vec<&str> = jws.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        b64url_encode(claims.to_string().as_bytes()),
        parts[2]
    )
}
