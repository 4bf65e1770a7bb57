//! Key custody and rotation over real gRPC and PostgreSQL: the first key is generated at first
//! start and reused after a restart; a wrong master key stops the service at start; rotation
//! keeps old credentials verifiable while new ones use the new key; a retired key leaves
//! publication after its window (injected clock); private material is never answered, logged or
//! printed; SignStatusList signs status lists and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, TimeDelta};
use common::*;
use crossauthz_core::clock::Clock;
use crossauthz_credentials::did_web::{DidDocument, Jwks};
use crossauthz_credentials::jose::decode_unverified;
use crossauthz_credentials::keys::SigningKey;
use crossauthz_credentials::status::{StatusBits, StatusList, StatusListReference};
use crossauthz_credentials::{status, vc_jwt};
use crossauthz_issuer::custody::CustodyError;
use crossauthz_issuer::{MasterKey, StartupError};
use crossauthz_proto::common::{CredentialFormat, ListFormat};
use crossauthz_proto::issuer::{
    GetPublicKeysRequest, KeyAlgorithm, ListAgentCredentialsRequest, PublicKeys, RotateKeyRequest,
    SignStatusListRequest,
};
use crossauthz_store::NewSigningKey;
use serde_json::{Value, json};
use tonic::Code;
use uuid::Uuid;

async fn public_keys(d: &Domain) -> PublicKeys {
    d.client()
        .get_public_keys(GetPublicKeysRequest {})
        .await
        .unwrap()
        .into_inner()
}

async fn issue_vc(d: &Domain) -> crossauthz_proto::issuer::Credential {
    let (_hk, hjwk) = holder();
    d.client()
        .issue_credential(issue_request(
            &Uuid::new_v4().to_string(),
            CredentialFormat::VcJwt,
            &hjwk,
            &[],
        ))
        .await
        .unwrap()
        .into_inner()
}

fn rotate(alg: KeyAlgorithm) -> RotateKeyRequest {
    RotateKeyRequest {
        algorithm: alg as i32,
        actor: admin("scheduled rotation"),
    }
}

// The first start generates exactly one key; a restart with the same master key reuses it.
#[tokio::test]
async fn first_start_generates_a_key_and_a_restart_reuses_it() {
    let d = Domain::start().await;
    let keys = d.database.issuer_store().list_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].is_active());
    assert_eq!(keys[0].alg, "EdDSA");
    let again = d.new_service(&d.master_b64).await.unwrap();
    assert_eq!(
        d.database.issuer_store().list_keys().await.unwrap().len(),
        1
    );
    assert_eq!(again.public_keys().await.unwrap().keys[0].kid, keys[0].kid);
    assert_eq!(
        d.audit_kinds()
            .await
            .iter()
            .filter(|k| *k == "key.activated")
            .count(),
        1
    );
    d.stop().await;
}

// A wrong master key fails at start with a clear error, and changes nothing (no new key).
#[tokio::test]
async fn a_wrong_master_key_is_refused_at_start() {
    let d = Domain::start().await;
    let wrong = MasterKey::generate_base64url();
    let err = d.new_service(&wrong).await.unwrap_err();
    assert!(
        matches!(
            err,
            StartupError::Custody(CustodyError::WrongMasterKey { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("wrong master key"));
    assert!(!err.to_string().contains(wrong.as_str()));
    assert_eq!(
        d.database.issuer_store().list_keys().await.unwrap().len(),
        1
    );
    d.stop().await;
}

// A wrong master key is refused even when no key is active yet (a key stored but never
// activated), instead of generating a new key beside it.
#[tokio::test]
async fn a_wrong_master_key_is_refused_before_anything_is_generated() {
    let db = crossauthz_testkit::TestDatabase::postgres().await.unwrap();
    let database = db.connect().await.unwrap();
    let store = database.issuer_store();
    let master = MasterKey::generate();
    let key = SigningKey::generate(crossauthz_credentials::Algorithm::EdDSA).unwrap();
    let kid = key.thumbprint();
    store
        .insert_key(&NewSigningKey {
            kid: kid.clone(),
            alg: "EdDSA".into(),
            public_jwk: key.public_jwk().to_json(),
            encrypted_private: master
                .seal(&kid, key.to_private_jwk_json().as_bytes())
                .unwrap(),
            created_at: now0(),
        })
        .await
        .unwrap();
    let err = crossauthz_issuer::custody::KeyCustody::open(
        store.clone(),
        MasterKey::generate(),
        DID,
        crossauthz_credentials::Algorithm::EdDSA,
        now0(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CustodyError::WrongMasterKey { .. }));
    assert_eq!(store.list_keys().await.unwrap().len(), 1);
    // With the right key the stored, never-activated key is activated (no second key).
    let (custody, activated) = crossauthz_issuer::custody::KeyCustody::open(
        store.clone(),
        master,
        DID,
        crossauthz_credentials::Algorithm::EdDSA,
        now0(),
    )
    .await
    .unwrap();
    assert_eq!(activated.as_deref(), Some(kid.as_str()));
    assert_eq!(custody.active().await.unwrap().thumbprint, kid);
    assert_eq!(store.list_keys().await.unwrap().len(), 1);
    database.close().await;
    db.cleanup().await.unwrap();
}

// A sealed key moved to another kid (the kid is the associated data) does not open.
#[tokio::test]
async fn a_sealed_key_under_another_kid_is_refused() {
    let db = crossauthz_testkit::TestDatabase::postgres().await.unwrap();
    let database = db.connect().await.unwrap();
    let store = database.issuer_store();
    let master = MasterKey::generate();
    let key = SigningKey::generate(crossauthz_credentials::Algorithm::EdDSA).unwrap();
    let other = SigningKey::generate(crossauthz_credentials::Algorithm::EdDSA).unwrap();
    store
        .insert_key(&NewSigningKey {
            kid: key.thumbprint(),
            alg: "EdDSA".into(),
            public_jwk: key.public_jwk().to_json(),
            encrypted_private: master
                .seal(&other.thumbprint(), key.to_private_jwk_json().as_bytes())
                .unwrap(),
            created_at: now0(),
        })
        .await
        .unwrap();
    store.activate_key(&key.thumbprint(), now0()).await.unwrap();
    let err = crossauthz_issuer::custody::KeyCustody::open(
        store,
        master,
        DID,
        crossauthz_credentials::Algorithm::EdDSA,
        now0(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CustodyError::WrongMasterKey { .. }));
    database.close().await;
    db.cleanup().await.unwrap();
}

// Rotation: a new key signs from now on; the previous public key stays in did.json, jwks.json
// and jwt-vc-issuer, so credentials it signed still verify; the audit row exists.
#[tokio::test]
async fn rotation_keeps_old_credentials_verifiable_and_new_ones_use_the_new_key() {
    let d = Domain::start().await;
    let old = issue_vc(&d).await;
    d.clock.advance(Duration::minutes(10));
    let new_key = d
        .client()
        .rotate_key(rotate(KeyAlgorithm::Unspecified))
        .await
        .unwrap()
        .into_inner();
    assert!(new_key.retired_at.is_none());
    let new = issue_vc(&d).await;
    assert_ne!(old.kid, new.kid);
    assert_eq!(new.kid, format!("{DID}#{}", new_key.kid));

    let keys = public_keys(&d).await;
    assert_eq!(keys.keys.len(), 2);
    let doc: Value = serde_json::from_str(&keys.did_document_json).unwrap();
    let doc = DidDocument::parse(&doc, DID).unwrap();
    let now = d.clock.now();
    for c in [&old, &new] {
        let v = vc_jwt::verify(&c.credential, &doc, now, TimeDelta::zero()).unwrap();
        assert_eq!(v.kid, c.kid);
    }
    let jwks = Jwks::from_json(&serde_json::from_str(&keys.jwks_json).unwrap()).unwrap();
    jwks.find(&old.kid).unwrap();
    jwks.find(&new.kid).unwrap();
    let md: Value = serde_json::from_str(&keys.jwt_vc_issuer_json).unwrap();
    assert_eq!(md["issuer"], PUBLIC_URL);
    assert_eq!(md["jwks"]["keys"].as_array().unwrap().len(), 2);

    // The retired key's window: max(latest validUntil it signed, now + list lifetime bound).
    let old_info = keys
        .keys
        .iter()
        .find(|k| format!("{DID}#{}", k.kid) == old.kid)
        .unwrap();
    assert_eq!(old_info.retired_at.unwrap().seconds, now.timestamp());
    let list_floor = now + Duration::seconds(2 * 24 * 3600);
    let expected = list_floor
        .max(chrono::DateTime::from_timestamp(old.valid_until.unwrap().seconds, 0).unwrap());
    assert_eq!(
        old_info.publish_until.unwrap().seconds,
        expected.timestamp()
    );

    let events = d
        .database
        .audit_store()
        .list(&crossauthz_store::AuditFilter {
            kind: Some("key.rotated".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor.as_deref(), Some("admin@alpha"));
    assert_eq!(events[0].details["previous_kid"], json!(old.kid));
    assert_eq!(events[0].details["kid"], json!(new.kid));
    d.stop().await;
}

// After publish_until the retired key is no longer published; what it signed then no longer
// verifies (it had expired anyway), and the active key stays.
#[tokio::test]
async fn a_retired_key_leaves_publication_after_publish_until() {
    let mut config = crossauthz_issuer::IssuerConfig::new(PUBLIC_URL);
    config.max_status_list_lifetime_seconds = 600;
    let d = Domain::start_with(config).await;
    let old = issue_vc(&d).await; // valid one hour
    d.client()
        .rotate_key(rotate(KeyAlgorithm::Eddsa))
        .await
        .unwrap();
    let start = d.clock.now();
    // Still published just before the old credential expires.
    d.clock.set(start + Duration::minutes(59));
    assert_eq!(public_keys(&d).await.keys.len(), 2);
    let doc = d.did_document().await;
    vc_jwt::verify(&old.credential, &doc, d.clock.now(), TimeDelta::zero()).unwrap();
    // Gone once everything it signed has expired.
    d.clock.set(start + Duration::minutes(61));
    let keys = public_keys(&d).await;
    assert_eq!(keys.keys.len(), 1);
    assert!(keys.keys[0].retired_at.is_none());
    let doc = d.did_document().await;
    assert!(matches!(
        vc_jwt::verify(&old.credential, &doc, d.clock.now(), TimeDelta::hours(2)),
        Err(vc_jwt::VcJwtError::UnknownKid(_))
    ));
    let jwks: Value = serde_json::from_str(&keys.jwks_json).unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    d.stop().await;
}

// ES256 is selectable at rotation; credentials then carry alg ES256 and verify.
#[tokio::test]
async fn es256_keys_can_be_selected_at_rotation() {
    let d = Domain::start().await;
    let k = d
        .client()
        .rotate_key(rotate(KeyAlgorithm::Es256))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(k.algorithm, KeyAlgorithm::Es256 as i32);
    let jwk: Value = serde_json::from_str(&k.public_jwk_json).unwrap();
    assert_eq!(jwk["crv"], "P-256");
    let c = issue_vc(&d).await;
    let (header, _) = decode_unverified(&c.credential).unwrap();
    assert_eq!(header.alg, "ES256");
    let doc = d.did_document().await;
    vc_jwt::verify(&c.credential, &doc, d.clock.now(), TimeDelta::zero()).unwrap();
    let err = d
        .client()
        .rotate_key(RotateKeyRequest {
            algorithm: 99,
            actor: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    d.stop().await;
}

/// The private scalars (`d`) of every stored key, decrypted with the master key.
async fn private_scalars(d: &Domain) -> Vec<String> {
    let master = MasterKey::from_base64url(&d.master_b64).unwrap();
    let mut out = Vec::new();
    for k in d.database.issuer_store().list_keys().await.unwrap() {
        let plain = master.open(&k.kid, &k.encrypted_private).unwrap();
        let jwk: Value = serde_json::from_slice(&plain).unwrap();
        out.push(jwk["d"].as_str().unwrap().to_owned());
    }
    out
}

fn has_member(v: &Value, name: &str) -> bool {
    match v {
        Value::Object(m) => m.contains_key(name) || m.values().any(|v| has_member(v, name)),
        Value::Array(a) => a.iter().any(|v| has_member(v, name)),
        _ => false,
    }
}

// Private key material and the master key appear in no API answer and in no Debug output; the
// stored private key is ciphertext.
#[tokio::test]
async fn private_material_is_absent_from_every_answer_and_from_debug_output() {
    let d = Domain::start().await;
    let (_hk, hjwk) = holder();
    let agent_id = Uuid::new_v4().to_string();
    let mut answers = Vec::new();
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
    answers.push(format!("{c:?}"));
    let (_, payload) = decode_unverified(&c.credential).unwrap();
    answers.push(payload.to_string());
    let sd = d
        .client()
        .issue_credential(issue_request(
            &agent_id,
            CredentialFormat::DcSdJwt,
            &hjwk,
            &["/agentName"],
        ))
        .await
        .unwrap()
        .into_inner();
    answers.push(sd.credential.clone());
    let rotated = d
        .client()
        .rotate_key(rotate(KeyAlgorithm::Es256))
        .await
        .unwrap()
        .into_inner();
    answers.push(format!("{rotated:?}"));
    let keys = public_keys(&d).await;
    answers.push(format!("{keys:?}"));
    for doc in [
        &keys.did_document_json,
        &keys.jwks_json,
        &keys.jwt_vc_issuer_json,
    ] {
        let v: Value = serde_json::from_str(doc).unwrap();
        assert!(!has_member(&v, "d"), "a private member in {doc}");
    }
    for k in &keys.keys {
        let v: Value = serde_json::from_str(&k.public_jwk_json).unwrap();
        assert!(!has_member(&v, "d"));
    }
    let list = d
        .client()
        .list_agent_credentials(ListAgentCredentialsRequest {
            agent_id: agent_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    answers.push(format!("{list:?}"));
    answers.push(format!("{:?}", d.service));
    answers.push(format!(
        "{:?}",
        MasterKey::from_base64url(&d.master_b64).unwrap()
    ));
    let events = d
        .database
        .audit_store()
        .list(&crossauthz_store::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    answers.push(format!("{events:?}"));

    let secrets = private_scalars(&d).await;
    assert_eq!(secrets.len(), 2);
    for answer in &answers {
        for s in &secrets {
            assert!(!answer.contains(s.as_str()), "a private key leaked");
        }
        assert!(!answer.contains(&d.master_b64), "the master key leaked");
    }
    // At rest the private key is sealed: its scalar is not in the stored bytes.
    for k in d.database.issuer_store().list_keys().await.unwrap() {
        let stored = String::from_utf8_lossy(&k.encrypted_private).to_string();
        for s in &secrets {
            assert!(!stored.contains(s.as_str()));
        }
        assert_eq!(k.encrypted_private[0], 1, "sealed format version");
    }
    d.stop().await;
}

fn tsl_payload(sub: &str) -> Value {
    json!({
        "sub": sub,
        "ttl": 300,
        "status_list": StatusList::new(StatusBits::Two, 1024).to_json(),
    })
}

// T2: SignStatusList signs a Token Status List with typ statuslist+jwt; the issuer sets iss,
// iat and exp itself (a caller's values are replaced).
#[tokio::test]
async fn t2_sign_status_list_signs_a_token_status_list_and_sets_iss_iat_exp() {
    let d = Domain::start().await;
    let sub = format!("{PUBLIC_URL}/status/{}", Uuid::new_v4());
    let mut payload = tsl_payload(&sub);
    payload["iss"] = json!("https://evil.example");
    payload["exp"] = json!(4_000_000_000i64);
    let signed = d
        .client()
        .sign_status_list(SignStatusListRequest {
            format: ListFormat::TokenStatusList as i32,
            payload_json: payload.to_string(),
            lifetime_seconds: 3600,
        })
        .await
        .unwrap()
        .into_inner();
    let doc = d.did_document().await;
    let now = d.clock.now();
    let verified = status::verify_status_list_token_with_resolver(
        &signed.jws,
        DID,
        &doc,
        &StatusListReference { idx: 3, uri: sub },
        now,
    )
    .unwrap();
    assert_eq!(verified.header.typ.as_deref(), Some("statuslist+jwt"));
    assert_eq!(verified.claims.iss.as_deref(), Some(DID));
    assert_eq!(verified.claims.iat, now.timestamp());
    assert_eq!(verified.claims.exp, Some(now.timestamp() + 3600));
    assert_eq!(signed.expires_at.unwrap().seconds, now.timestamp() + 3600);
    assert_eq!(verified.claims.ttl, Some(300));
    d.stop().await;
}

// SignStatusList must not be usable to sign an Agent Authorization Credential (or any other
// payload): INVALID_ARGUMENT, in either format, and for a list outside this domain's /status/.
#[tokio::test]
async fn sign_status_list_refuses_a_verifiable_credential_payload() {
    let d = Domain::start().await;
    let (_hk, hjwk) = holder();
    let vc = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": format!("{PUBLIC_URL}/status/{}", Uuid::new_v4()),
        "type": ["VerifiableCredential", "AgentAuthorizationCredential"],
        "credentialSubject": {
            "id": SUBJECT,
            "agentType": "orchestrator-agent",
            "authorizedScopes": ["admin:all"],
            "issuerDomain": "alpha.localhost"
        },
        "cnf": {"jwk": hjwk}
    });
    let sd_claims = json!({
        "vct": "urn:crossauthz:vct:agent-authorization:1",
        "sub": SUBJECT,
        "agentType": "tool-agent",
        "authorizedScopes": ["admin:all"],
        "cnf": {"jwk": hjwk},
    });
    let foreign = tsl_payload("https://evil.example/status/x");
    let cases = [
        (ListFormat::BitstringStatusList, vc.clone()),
        (ListFormat::TokenStatusList, vc),
        (ListFormat::TokenStatusList, sd_claims.clone()),
        (ListFormat::BitstringStatusList, sd_claims),
        (ListFormat::TokenStatusList, foreign),
        (
            ListFormat::Unspecified,
            tsl_payload(&format!("{PUBLIC_URL}/status/x")),
        ),
    ];
    for (format, payload) in cases {
        let err = d
            .client()
            .sign_status_list(SignStatusListRequest {
                format: format as i32,
                payload_json: payload.to_string(),
                lifetime_seconds: 60,
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{payload}");
    }
    let err = d
        .client()
        .sign_status_list(SignStatusListRequest {
            format: ListFormat::TokenStatusList as i32,
            payload_json: tsl_payload(&format!("{PUBLIC_URL}/status/x")).to_string(),
            lifetime_seconds: 10 * 24 * 3600,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    d.stop().await;
}

// Rotations racing with issuances: every credential is signed by a key that is published, so
// every one verifies against did.json afterwards.
#[tokio::test]
async fn rotation_racing_with_issuance_leaves_every_credential_verifiable() {
    let d = Domain::start().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let client = d.client();
        let (_hk, hjwk) = holder();
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            if i % 5 == 0 {
                client
                    .rotate_key(rotate(KeyAlgorithm::Unspecified))
                    .await
                    .unwrap();
                None
            } else {
                let req = issue_request(
                    &Uuid::new_v4().to_string(),
                    CredentialFormat::VcJwt,
                    &hjwk,
                    &[],
                );
                Some(client.issue_credential(req).await.unwrap().into_inner())
            }
        }));
    }
    let mut credentials = Vec::new();
    for t in tasks {
        if let Some(c) = t.await.unwrap() {
            credentials.push(c);
        }
    }
    let doc = d.did_document().await;
    for c in &credentials {
        vc_jwt::verify(&c.credential, &doc, d.clock.now(), TimeDelta::zero()).unwrap();
    }
    assert_eq!(public_keys(&d).await.keys.len(), 5);
    d.stop().await;
}
