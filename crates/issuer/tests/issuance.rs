//! Issuance over real gRPC on loopback with real PostgreSQL and the real status-list service:
//! both formats verify against the published did.json, holder binding, status entries, validity,
//! selective disclosure rules, and refusals that change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, TimeDelta};
use common::*;
use crossauthz_core::clock::Clock;
use crossauthz_core::profile::{from_sd_jwt_vc_claims, from_vc_document};
use crossauthz_credentials::did_web::{Jwks, JwtVcIssuerMetadata};
use crossauthz_credentials::jose::decode_unverified;
use crossauthz_credentials::sd_jwt::{self, KeyBindingInput, KeyBindingPolicy, VerifyOptions};
use crossauthz_credentials::vc_jwt;
use crossauthz_issuer::{IssuerConfig, SdJwtIssuer};
use crossauthz_proto::common::CredentialFormat;
use crossauthz_proto::issuer::{GetPublicKeysRequest, ListAgentCredentialsRequest};
use serde_json::{Value, json};
use tonic::Code;
use uuid::Uuid;

fn agent() -> String {
    Uuid::new_v4().to_string()
}

// J1/J2/J4/J5 (VC-JOSE-COSE) + DESIGN §5: a vc+jwt whose claims set is the VC, typ vc+jwt, kid a
// DID URL of the issuer, two BitstringStatusListEntry items (B1), cnf.jwk, validFrom/validUntil.
#[tokio::test]
async fn j1_issued_vc_jwt_verifies_against_the_published_did_document() {
    let d = Domain::start().await;
    let (_hk, hjwk) = holder();
    let agent_id = agent();
    let c = d
        .client()
        .issue_credential(issue_request(
            &agent_id,
            CredentialFormat::VcJwt,
            &hjwk,
            &[],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(c.format, CredentialFormat::VcJwt as i32);
    let doc = d.did_document().await;
    let verified = vc_jwt::verify(&c.credential, &doc, d.clock.now(), TimeDelta::zero()).unwrap();
    assert_eq!(verified.issuer, DID);
    assert_eq!(verified.kid, c.kid);
    assert!(c.kid.starts_with(&format!("{DID}#")));
    assert_eq!(verified.header.typ.as_deref(), Some("vc+jwt"));
    let vc = verified.vc;
    assert!(vc.get("vc").is_none(), "J2: no vc claim");
    assert_eq!(vc["id"], json!(format!("urn:uuid:{}", c.id)));
    // Holder binding: the top-level cnf claim carries the agent's key.
    assert_eq!(vc["cnf"]["jwk"]["x"], hjwk["x"]);
    // Validity always set, default one hour.
    assert_eq!(vc["validFrom"], json!("2027-01-15T08:00:00Z"));
    assert_eq!(vc["validUntil"], json!("2027-01-15T09:00:00Z"));
    // B1: revocation at <uri>, suspension at <uri>/suspension, same index.
    let status = c.status.clone().unwrap();
    let entries = vc["credentialStatus"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["statusPurpose"], "revocation");
    assert_eq!(entries[0]["statusListCredential"], json!(status.uri));
    assert_eq!(entries[1]["statusPurpose"], "suspension");
    assert_eq!(
        entries[1]["statusListCredential"],
        json!(format!("{}/suspension", status.uri))
    );
    for e in entries {
        assert_eq!(e["type"], "BitstringStatusListEntry");
        assert_eq!(e["statusListIndex"], json!(status.index.to_string()));
    }
    assert!(status.uri.starts_with("https://alpha.localhost/status/"));
    // The profile reads it back.
    let parsed = from_vc_document(&vc).unwrap();
    assert_eq!(parsed.subject.as_str(), SUBJECT);
    assert_eq!(parsed.claims.issuer_domain, "alpha.localhost");
    // It is in the register, with its agent.
    let list = d
        .client()
        .list_agent_credentials(ListAgentCredentialsRequest {
            agent_id: agent_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.credentials.len(), 1);
    assert_eq!(list.credentials[0].id, c.id);
    d.stop().await;
}

// V1–V4 (SD-JWT VC -18) + S1–S5 (RFC 9901): dc+sd-jwt with caller-chosen disclosures, plain
// iss/vct/cnf/status/validity, key binding by the holder key, status.status_list {idx, uri} (T3).
#[tokio::test]
async fn v1_issued_dc_sd_jwt_verifies_with_key_binding_against_the_did_document() {
    let d = Domain::start().await;
    let (hk, hjwk) = holder();
    let c = d
        .client()
        .issue_credential(issue_request(
            &agent(),
            CredentialFormat::DcSdJwt,
            &hjwk,
            &[
                "/complianceAttestations",
                "/trustSignals",
                "/provenance/commit",
            ],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(c.credential.ends_with('~'), "S1: no KB-JWT, trailing ~");
    let disclosures = sd_jwt::disclosures(&c.credential).unwrap();
    let mut paths: Vec<_> = disclosures.iter().map(|d| d.path.clone()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/complianceAttestations",
            "/provenance/commit",
            "/trustSignals"
        ]
    );
    // The issuer-signed payload hides them; registered claims stay plain (V3).
    let jwt = c.credential.split('~').next().unwrap();
    let (header, payload) = decode_unverified(jwt).unwrap();
    assert_eq!(header.typ.as_deref(), Some("dc+sd-jwt"));
    assert_eq!(header.kid.as_deref(), Some(c.kid.as_str()));
    for hidden in ["complianceAttestations", "trustSignals"] {
        assert!(payload.get(hidden).is_none(), "{hidden} is disclosable");
    }
    for plain in [
        "iss", "vct", "cnf", "status", "iat", "nbf", "exp", "sub", "jti",
    ] {
        assert!(payload.get(plain).is_some(), "{plain} must be plain");
    }
    let status = c.status.clone().unwrap();
    assert_eq!(
        payload["status"],
        json!({"status_list": {"idx": status.index, "uri": status.uri}})
    );
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["nbf"].as_i64().unwrap(),
        3600
    );

    let doc = d.did_document().await;
    let now = d.clock.now();
    let presentation = sd_jwt::present(
        &c.credential,
        &["/trustSignals"],
        Some(&KeyBindingInput {
            holder_key: &hk,
            aud: "https://beta.example",
            nonce: "n-1",
            iat: now,
        }),
    )
    .unwrap();
    let verified = sd_jwt::verify(
        &presentation,
        &doc,
        &VerifyOptions {
            now,
            skew: TimeDelta::zero(),
            key_binding: KeyBindingPolicy::Required {
                aud: "https://beta.example".into(),
                nonce: "n-1".into(),
                max_age: TimeDelta::minutes(5),
            },
        },
    )
    .unwrap();
    assert_eq!(verified.issuer, DID);
    assert!(verified.key_binding.is_some());
    assert!(verified.claims.get("trustSignals").is_some());
    assert!(verified.claims.get("complianceAttestations").is_none());
    let parsed = from_sd_jwt_vc_claims(&verified.claims).unwrap();
    assert_eq!(parsed.subject.as_str(), SUBJECT);
    assert_eq!(parsed.status.idx, status.index);
    d.stop().await;
}

// V5 (SD-JWT VC §3): with an https issuer, the key comes from /.well-known/jwt-vc-issuer whose
// `issuer` is the public URL and whose inline jwks holds the signing key.
#[tokio::test]
async fn v5_dc_sd_jwt_with_url_issuer_verifies_through_jwt_vc_issuer_metadata() {
    let mut config = IssuerConfig::new(PUBLIC_URL);
    config.sd_jwt_issuer = SdJwtIssuer::PublicUrl;
    let d = Domain::start_with(config).await;
    let (_hk, hjwk) = holder();
    let c = d
        .client()
        .issue_credential(issue_request(
            &agent(),
            CredentialFormat::DcSdJwt,
            &hjwk,
            &[],
        ))
        .await
        .unwrap()
        .into_inner();
    let keys = d
        .client()
        .get_public_keys(GetPublicKeysRequest {})
        .await
        .unwrap()
        .into_inner();
    let md: Value = serde_json::from_str(&keys.jwt_vc_issuer_json).unwrap();
    let md = JwtVcIssuerMetadata::from_json(&md, PUBLIC_URL).unwrap();
    let verified = sd_jwt::verify(
        &c.credential,
        &md,
        &VerifyOptions {
            now: d.clock.now(),
            skew: TimeDelta::zero(),
            key_binding: KeyBindingPolicy::NotRequired,
        },
    )
    .unwrap();
    assert_eq!(verified.issuer, PUBLIC_URL);
    // V3: no SD claims → no _sd and no disclosures.
    assert!(sd_jwt::disclosures(&c.credential).unwrap().is_empty());
    // The JWKS serves the same key under the same kid.
    let jwks = Jwks::from_json(&serde_json::from_str(&keys.jwks_json).unwrap()).unwrap();
    jwks.find(&c.kid).unwrap();
    d.stop().await;
}

// V3: iss, nbf, exp, cnf, vct, status (and iat, sub, jti by policy) are never disclosable; the
// refusal is INVALID_ARGUMENT, allocates nothing, records nothing.
#[tokio::test]
async fn v3_disclosing_registered_claims_is_invalid_argument_and_changes_nothing() {
    let d = Domain::start().await;
    let (_hk, hjwk) = holder();
    let agent_id = agent();
    for p in [
        "/iss", "/vct", "/cnf", "/status", "/exp", "/nbf", "/iat", "/sub", "/jti", "/cnf/jwk",
    ] {
        let err = d
            .client()
            .issue_credential(issue_request(
                &agent_id,
                CredentialFormat::DcSdJwt,
                &hjwk,
                &[p],
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{p}");
        assert!(err.message().contains("V3"), "{p}: {}", err.message());
    }
    assert_nothing_issued(&d, &agent_id).await;
    d.stop().await;
}

async fn assert_nothing_issued(d: &Domain, agent_id: &str) {
    let list = d
        .client()
        .list_agent_credentials(ListAgentCredentialsRequest {
            agent_id: agent_id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(list.credentials.is_empty());
    assert!(
        !d.audit_kinds()
            .await
            .iter()
            .any(|k| k == "credential.issued")
    );
    // Nothing was allocated either: no list was even opened.
    assert!(d.database.status_store().lists().await.unwrap().is_empty());
}

// Bad input never changes state: each malformed request is INVALID_ARGUMENT with its reason.
#[tokio::test]
async fn malformed_issue_requests_are_invalid_argument_and_change_nothing() {
    let d = Domain::start().await;
    let (_hk, hjwk) = holder();
    let agent_id = agent();
    let base = || issue_request(&agent_id, CredentialFormat::VcJwt, &hjwk, &[]);
    let mut cases = Vec::new();
    let mut r = base();
    r.format = CredentialFormat::Unspecified as i32;
    cases.push(("format", r));
    let mut r = base();
    r.agent_id = "agent-7".into();
    cases.push(("agent_id", r));
    let mut r = base();
    r.subject = "http://alpha.localhost/agents/7".into();
    cases.push(("client_id", r));
    let mut r = base();
    r.subject = "https://alpha.localhost/agents/../7".into();
    cases.push(("client_id", r));
    let mut r = base();
    r.claims_json = "[1,2]".into();
    cases.push(("JSON object", r));
    let mut r = base();
    r.claims_json = json!({"authorizedScopes": ["a"]}).to_string();
    cases.push(("agentType", r));
    let mut r = base();
    r.claims_json = json!({"agentType": "robot", "authorizedScopes": ["a"]}).to_string();
    cases.push(("agentType", r));
    let mut r = base();
    r.claims_json =
        json!({"agentType": "tool-agent", "authorizedScopes": ["a"], "issuerDomain": "evil.example"})
            .to_string();
    cases.push(("issuerDomain", r));
    let mut r = base();
    let mut private = hjwk.clone();
    private["d"] = json!("AAAA");
    r.holder_jwk_json = private.to_string();
    cases.push(("holder key", r));
    let mut r = base();
    r.holder_jwk_json = json!({"kty": "oct", "k": "c2VjcmV0"}).to_string();
    cases.push(("holder key", r));
    let mut r = base();
    r.holder_jwk_json = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}).to_string();
    cases.push(("holder key", r));
    let mut r = base();
    let mut bad_point = hjwk.clone();
    bad_point["x"] = json!("AAAA");
    r.holder_jwk_json = bad_point.to_string();
    cases.push(("holder key", r));
    let mut r = base();
    r.validity_seconds = 24 * 3600 + 1;
    cases.push(("exceeds the maximum", r));
    let mut r = base();
    r.disclose = vec!["/agentName".into()];
    cases.push(("dc+sd-jwt", r));
    let mut r = issue_request(&agent_id, CredentialFormat::DcSdJwt, &hjwk, &["/nope"]);
    r.actor = None;
    cases.push(("points at no claim", r));
    let r = issue_request(&agent_id, CredentialFormat::DcSdJwt, &hjwk, &["agentName"]);
    cases.push(("JSON pointer", r));
    let r = issue_request(
        &agent_id,
        CredentialFormat::DcSdJwt,
        &hjwk,
        &["/agentName", "/agentName"],
    );
    cases.push(("twice", r));
    let mut r = issue_request(&agent_id, CredentialFormat::DcSdJwt, &hjwk, &[]);
    r.claims_json =
        json!({"agentType": "tool-agent", "authorizedScopes": ["a"], "x-ext": {"_sd": []}})
            .to_string();
    cases.push(("reserved", r));
    for (why, req) in cases {
        let err = d.client().issue_credential(req).await.unwrap_err();
        assert_eq!(
            err.code(),
            Code::InvalidArgument,
            "{why}: {}",
            err.message()
        );
        assert!(err.message().contains(why), "{why}: {}", err.message());
    }
    assert_nothing_issued(&d, &agent_id).await;
    d.stop().await;
}

// Validity is bounded: a requested lifetime within the maximum is honoured exactly.
#[tokio::test]
async fn validity_is_configurable_within_the_maximum() {
    let d = Domain::start().await;
    let (_hk, hjwk) = holder();
    let mut r = issue_request(&agent(), CredentialFormat::VcJwt, &hjwk, &[]);
    r.validity_seconds = 600;
    let c = d.client().issue_credential(r).await.unwrap().into_inner();
    let from = c.valid_from.unwrap().seconds;
    let until = c.valid_until.unwrap().seconds;
    assert_eq!(until - from, 600);
    assert_eq!(from, now0().timestamp());
    // After validUntil the credential no longer verifies (fail closed on time).
    let doc = d.did_document().await;
    let later = now0() + Duration::seconds(601);
    assert!(matches!(
        vc_jwt::verify(&c.credential, &doc, later, TimeDelta::zero()),
        Err(vc_jwt::VcJwtError::Expired(_))
    ));
    d.stop().await;
}

// Without the status-list service there is no status entry, so nothing is issued (fail closed).
#[tokio::test]
async fn issuance_fails_closed_when_the_status_list_is_unavailable() {
    let mut d = Domain::start().await;
    d.stop_status_list().await;
    let (_hk, hjwk) = holder();
    let agent_id = agent();
    let err = d
        .client()
        .issue_credential(issue_request(
            &agent_id,
            CredentialFormat::VcJwt,
            &hjwk,
            &[],
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(
        !d.audit_kinds()
            .await
            .iter()
            .any(|k| k == "credential.issued")
    );
    // And it works again once the status-list is back.
    d.start_status_list().await;
    d.client()
        .issue_credential(issue_request(
            &agent_id,
            CredentialFormat::VcJwt,
            &hjwk,
            &[],
        ))
        .await
        .unwrap();
    d.stop().await;
}

// Concurrent issuances get distinct credentials and distinct status entries.
#[tokio::test]
async fn concurrent_issuances_get_distinct_status_entries() {
    let d = Domain::start().await;
    let (_hk, hjwk) = holder();
    let agent_id = agent();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let client = d.client();
        let format = if i % 2 == 0 {
            CredentialFormat::VcJwt
        } else {
            CredentialFormat::DcSdJwt
        };
        let req = issue_request(&agent_id, format, &hjwk, &[]);
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            client.issue_credential(req).await.unwrap().into_inner()
        }));
    }
    let mut entries = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let c = t.await.unwrap();
        let s = c.status.unwrap();
        assert!(entries.insert((s.list_id, s.index)));
        assert!(ids.insert(c.id));
    }
    assert_eq!(entries.len(), 24);
    d.stop().await;
}
