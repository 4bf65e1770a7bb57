//! `vc+jwt` (W3C VC-JOSE-COSE): issuance and verification, rules J1–J5, issuer binding, validity.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{Issuer, decode_part, now, raw_sign, raw_token, sample_vc, swap_payload};
use crossauthz_credentials::did_web::{DidDocument, did_document};
use crossauthz_credentials::jose::{ResolveError, sign_compact};
use crossauthz_credentials::keys::{Algorithm, PublicJwk};
use crossauthz_credentials::vc_jwt::{self, VcJwtError};
use serde_json::{Value, json};

fn skew() -> TimeDelta {
    TimeDelta::seconds(60)
}

fn verify(jws: &str, issuer: &Issuer) -> Result<vc_jwt::VerifiedVc, VcJwtError> {
    vc_jwt::verify(jws, &issuer.doc, now(), skew())
}

/// Signs `vc` with the issuer key and a correct `vc+jwt` header, bypassing `issue`'s checks.
fn sign_unchecked(issuer: &Issuer, vc: &Value) -> String {
    raw_sign(
        &issuer.key,
        &json!({"alg": issuer.key.algorithm().as_str(), "typ": "vc+jwt", "kid": issuer.kid}),
        vc,
    )
}

#[test]
fn j1_round_trip_for_ed25519_and_p256() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let issuer = Issuer::new("a.example", alg);
        let vc = sample_vc(&issuer.did);
        let jws = vc_jwt::issue(&vc, &issuer.key, &issuer.kid).unwrap();
        let header = decode_part(jws.split('.').next().unwrap());
        assert_eq!(header["typ"], "vc+jwt");
        assert_eq!(header["cty"], "vc");
        assert_eq!(header["alg"], alg.as_str());
        assert_eq!(header["kid"], json!(issuer.kid));
        // J2: the claims set is the VC itself.
        assert_eq!(decode_part(jws.split('.').nth(1).unwrap()), vc);
        let verified = verify(&jws, &issuer).unwrap();
        assert_eq!(verified.vc, vc);
        assert_eq!(verified.issuer, issuer.did);
        assert_eq!(verified.kid, issuer.kid);
        assert_eq!(
            vc_jwt::peek(&jws).unwrap(),
            (issuer.did.clone(), issuer.kid.clone())
        );
    }
}

#[test]
fn issuer_as_object_with_id_is_accepted() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut vc = sample_vc(&issuer.did);
    vc["issuer"] = json!({"id": issuer.did, "name": "A"});
    let jws = vc_jwt::issue(&vc, &issuer.key, &issuer.kid).unwrap();
    assert_eq!(verify(&jws, &issuer).unwrap().issuer, issuer.did);
}

#[test]
fn j1_non_compact_input_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let jws = vc_jwt::issue(&sample_vc(&issuer.did), &issuer.key, &issuer.kid).unwrap();
    // JSON serialization, a detached payload, garbage.
    for bad in [
        r#"{"payload":"e30","signatures":[]}"#.to_owned(),
        format!("{jws}.x"),
        "abc".to_owned(),
    ] {
        assert!(
            matches!(
                verify(&bad, &issuer).unwrap_err(),
                VcJwtError::NotCompactJws(_)
            ),
            "{bad}"
        );
    }
}

#[test]
fn j1_wrong_typ_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let vc = sample_vc(&issuer.did);
    // ssi's legacy type, the SD-JWT types, and none.
    for typ in ["vc-ld+jwt", "vc+sd-jwt", "dc+sd-jwt", "JWT"] {
        let jws = sign_compact(&issuer.key, typ, Some(&issuer.kid), &vc).unwrap();
        assert!(
            matches!(verify(&jws, &issuer).unwrap_err(), VcJwtError::WrongType(Some(t)) if t == typ)
        );
    }
    let untyped = raw_sign(
        &issuer.key,
        &json!({"alg": "EdDSA", "kid": issuer.kid}),
        &vc,
    );
    assert!(matches!(
        verify(&untyped, &issuer).unwrap_err(),
        VcJwtError::WrongType(None)
    ));
}

#[test]
fn j1_cty_other_than_vc_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let jws = raw_sign(
        &issuer.key,
        &json!({"alg": "EdDSA", "typ": "vc+jwt", "cty": "vp", "kid": issuer.kid}),
        &sample_vc(&issuer.did),
    );
    assert!(
        matches!(verify(&jws, &issuer).unwrap_err(), VcJwtError::WrongContentType(c) if c == "vp")
    );
}

#[test]
fn j3_alg_none_and_hmac_are_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let vc = sample_vc(&issuer.did);
    for alg in ["none", "HS256", "RS256"] {
        let t = raw_token(
            &json!({"alg": alg, "typ": "vc+jwt", "kid": issuer.kid}),
            &vc,
            "",
        );
        assert!(
            matches!(verify(&t, &issuer).unwrap_err(), VcJwtError::DisallowedAlgorithm(a) if a == alg)
        );
    }
}

#[test]
fn j2_vc_or_vp_claim_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut wrapped = sample_vc(&issuer.did);
    wrapped["vc"] = sample_vc(&issuer.did);
    let jws = sign_unchecked(&issuer, &wrapped);
    assert!(matches!(
        verify(&jws, &issuer).unwrap_err(),
        VcJwtError::EmbeddedVcClaim("vc")
    ));
    // A VC-DM 1.1 style JWT (only `vc`) fails the same way.
    let legacy = json!({"iss": issuer.did, "vc": sample_vc(&issuer.did)});
    assert!(matches!(
        verify(&sign_unchecked(&issuer, &legacy), &issuer).unwrap_err(),
        VcJwtError::EmbeddedVcClaim("vc")
    ));
    let mut vp = sample_vc(&issuer.did);
    vp["vp"] = json!({});
    assert!(matches!(
        verify(&sign_unchecked(&issuer, &vp), &issuer).unwrap_err(),
        VcJwtError::EmbeddedVcClaim("vp")
    ));
    // And `issue` refuses to produce it.
    assert!(matches!(
        vc_jwt::issue(&wrapped, &issuer.key, &issuer.kid).unwrap_err(),
        VcJwtError::EmbeddedVcClaim("vc")
    ));
}

#[test]
fn j5_first_context_must_be_vc_v2() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    for ctx in [
        json!(["https://www.w3.org/2018/credentials/v1"]),
        json!([
            "https://example.com/ctx",
            "https://www.w3.org/ns/credentials/v2"
        ]),
        json!("https://www.w3.org/ns/credentials/v2"),
        json!([]),
    ] {
        let mut vc = sample_vc(&issuer.did);
        vc["@context"] = ctx;
        assert!(matches!(
            verify(&sign_unchecked(&issuer, &vc), &issuer).unwrap_err(),
            VcJwtError::MalformedVc(_)
        ));
        assert!(matches!(
            vc_jwt::issue(&vc, &issuer.key, &issuer.kid).unwrap_err(),
            VcJwtError::MalformedVc(_)
        ));
    }
}

#[test]
fn j5_type_issuer_subject_and_dates_must_be_well_formed() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let cases: Vec<(&str, Value)> = vec![
        ("type", json!(["AgentAuthorizationCredential"])),
        ("issuer", json!(42)),
        ("issuer", json!({"name": "no id"})),
        ("credentialSubject", json!("x")),
        ("credentialSubject", json!([])),
        ("validFrom", json!("yesterday")),
        ("validUntil", json!(1700000000)),
        ("exp", json!("tomorrow")),
    ];
    for (member, value) in cases {
        let mut vc = sample_vc(&issuer.did);
        vc[member] = value;
        assert!(
            matches!(
                verify(&sign_unchecked(&issuer, &vc), &issuer).unwrap_err(),
                VcJwtError::MalformedVc(_)
            ),
            "{member}"
        );
    }
    let mut vc = sample_vc(&issuer.did);
    vc.as_object_mut().unwrap().remove("credentialSubject");
    assert!(matches!(
        verify(&sign_unchecked(&issuer, &vc), &issuer).unwrap_err(),
        VcJwtError::MalformedVc(_)
    ));
}

#[test]
fn j4_iss_must_equal_issuer() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut vc = sample_vc(&issuer.did);
    vc["iss"] = json!("did:web:other.example");
    assert!(matches!(
        verify(&sign_unchecked(&issuer, &vc), &issuer).unwrap_err(),
        VcJwtError::IssMismatch { .. }
    ));
    // Equal `iss` is fine.
    vc["iss"] = json!(issuer.did);
    verify(&sign_unchecked(&issuer, &vc), &issuer).unwrap();
}

#[test]
fn j4_kid_is_required() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let jws = raw_sign(
        &issuer.key,
        &json!({"alg": "EdDSA", "typ": "vc+jwt"}),
        &sample_vc(&issuer.did),
    );
    assert!(matches!(
        verify(&jws, &issuer).unwrap_err(),
        VcJwtError::MissingKid
    ));
}

#[test]
fn key_of_another_issuer_is_refused() {
    // ssi does not check this (STACK.md): B signs a credential that names A as its issuer, with
    // B's own (valid, published) key. The kid's DID is not the issuer, so it is refused before any
    // key is fetched.
    let a = Issuer::new("a.example", Algorithm::EdDSA);
    let b = Issuer::new("b.example", Algorithm::EdDSA);
    let forged = raw_sign(
        &b.key,
        &json!({"alg": "EdDSA", "typ": "vc+jwt", "kid": b.kid}),
        &sample_vc(&a.did),
    );
    let err = vc_jwt::verify(&forged, &b.doc, now(), skew()).unwrap_err();
    assert!(
        matches!(err, VcJwtError::IssuerKeyMismatch { ref kid, ref issuer } if *kid == b.kid && *issuer == a.did)
    );
    // A kid that is not a DID URL at all.
    let bare = raw_sign(
        &a.key,
        &json!({"alg": "EdDSA", "typ": "vc+jwt", "kid": a.key.thumbprint()}),
        &sample_vc(&a.did),
    );
    assert!(matches!(
        verify(&bare, &a).unwrap_err(),
        VcJwtError::IssuerKeyMismatch { .. }
    ));
    // `issue` refuses to sign with a kid of another DID.
    assert!(matches!(
        vc_jwt::issue(&sample_vc(&a.did), &b.key, &b.kid).unwrap_err(),
        VcJwtError::IssuerKeyMismatch { .. }
    ));
}

#[test]
fn forged_kid_of_the_issuer_fails_the_signature() {
    // B signs with its key but names A's kid: the key A publishes does not verify it.
    let a = Issuer::new("a.example", Algorithm::EdDSA);
    let b = Issuer::new("b.example", Algorithm::EdDSA);
    let forged = raw_sign(
        &b.key,
        &json!({"alg": "EdDSA", "typ": "vc+jwt", "kid": a.kid}),
        &sample_vc(&a.did),
    );
    assert!(matches!(
        verify(&forged, &a).unwrap_err(),
        VcJwtError::BadSignature
    ));
}

#[test]
fn unknown_kid_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let kid = format!("{}#rotated-away", issuer.did);
    let jws = raw_sign(
        &issuer.key,
        &json!({"alg": "EdDSA", "typ": "vc+jwt", "kid": kid}),
        &sample_vc(&issuer.did),
    );
    assert!(matches!(verify(&jws, &issuer).unwrap_err(), VcJwtError::UnknownKid(k) if k == kid));
}

#[test]
fn key_not_authorised_for_assertions_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut doc = did_document(&issuer.did, &[issuer.key.public_jwk()]);
    doc["assertionMethod"] = json!([]);
    let doc = DidDocument::parse(&doc, &issuer.did).unwrap();
    let jws = vc_jwt::issue(&sample_vc(&issuer.did), &issuer.key, &issuer.kid).unwrap();
    assert!(matches!(
        vc_jwt::verify(&jws, &doc, now(), skew()).unwrap_err(),
        VcJwtError::KeyNotAuthorized(_)
    ));
}

#[test]
fn resolver_failure_is_not_a_definite_verdict() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let jws = vc_jwt::issue(&sample_vc(&issuer.did), &issuer.key, &issuer.kid).unwrap();
    let down = |_: &str, _: &str| -> Result<PublicJwk, ResolveError> {
        Err(ResolveError::Unavailable("timeout".into()))
    };
    assert!(matches!(
        vc_jwt::verify(&jws, &down, now(), skew()).unwrap_err(),
        VcJwtError::KeyUnavailable(_)
    ));
}

#[test]
fn tampered_credential_fails_the_signature() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let issuer = Issuer::new("a.example", alg);
        let vc = sample_vc(&issuer.did);
        let jws = vc_jwt::issue(&vc, &issuer.key, &issuer.kid).unwrap();
        let mut evil = vc.clone();
        evil["credentialSubject"]["authorizedScopes"] = json!(["logs:read", "admin"]);
        assert!(matches!(
            verify(&swap_payload(&jws, &evil), &issuer).unwrap_err(),
            VcJwtError::BadSignature
        ));
    }
}

#[test]
fn alg_of_another_key_type_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let es = crossauthz_credentials::keys::SigningKey::generate(Algorithm::ES256).unwrap();
    let jws = raw_sign(
        &es,
        &json!({"alg": "ES256", "typ": "vc+jwt", "kid": issuer.kid}),
        &sample_vc(&issuer.did),
    );
    assert!(matches!(
        verify(&jws, &issuer).unwrap_err(),
        VcJwtError::AlgorithmKeyMismatch
    ));
}

#[test]
fn valid_from_in_the_future_is_not_yet_valid() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut vc = sample_vc(&issuer.did);
    vc["validFrom"] = json!("2025-06-01T12:05:00Z");
    let jws = vc_jwt::issue(&vc, &issuer.key, &issuer.kid).unwrap();
    assert!(matches!(
        verify(&jws, &issuer).unwrap_err(),
        VcJwtError::NotYetValid("validFrom")
    ));
    // Within the allowed skew it is accepted.
    vc["validFrom"] = json!("2025-06-01T12:00:30Z");
    let jws = vc_jwt::issue(&vc, &issuer.key, &issuer.kid).unwrap();
    verify(&jws, &issuer).unwrap();
}

#[test]
fn valid_until_in_the_past_is_expired() {
    let issuer = Issuer::new("a.example", Algorithm::ES256);
    let mut vc = sample_vc(&issuer.did);
    vc["validUntil"] = json!("2025-06-01T11:58:00Z");
    let jws = vc_jwt::issue(&vc, &issuer.key, &issuer.kid).unwrap();
    assert!(matches!(
        verify(&jws, &issuer).unwrap_err(),
        VcJwtError::Expired("validUntil")
    ));
    vc["validUntil"] = json!("2025-06-01T11:59:30Z");
    let jws = vc_jwt::issue(&vc, &issuer.key, &issuer.kid).unwrap();
    verify(&jws, &issuer).unwrap();
}

#[test]
fn jwt_exp_and_nbf_are_checked_when_present() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let t = now().timestamp();
    let mut vc = sample_vc(&issuer.did);
    vc["exp"] = json!(t - 120);
    let jws = vc_jwt::issue(&vc, &issuer.key, &issuer.kid).unwrap();
    assert!(matches!(
        verify(&jws, &issuer).unwrap_err(),
        VcJwtError::Expired("exp")
    ));
    let mut vc = sample_vc(&issuer.did);
    vc["nbf"] = json!(t + 120);
    let jws = vc_jwt::issue(&vc, &issuer.key, &issuer.kid).unwrap();
    assert!(matches!(
        verify(&jws, &issuer).unwrap_err(),
        VcJwtError::NotYetValid("nbf")
    ));
}

#[test]
fn checks_run_in_the_documented_order() {
    // A token that is wrong in several ways reports the first failing check: typ before J2.
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut vc = sample_vc(&issuer.did);
    vc["vc"] = json!({});
    vc["validUntil"] = json!("2000-01-01T00:00:00Z");
    let jws = sign_compact(&issuer.key, "JWT", Some(&issuer.kid), &vc).unwrap();
    assert!(matches!(
        verify(&jws, &issuer).unwrap_err(),
        VcJwtError::WrongType(_)
    ));
    // Signature before validity: a tampered, expired token is a bad signature.
    let mut expired = sample_vc(&issuer.did);
    expired["validUntil"] = json!("2000-01-01T00:00:00Z");
    let jws = vc_jwt::issue(&expired, &issuer.key, &issuer.kid).unwrap();
    expired["id"] = json!("urn:uuid:other");
    assert!(matches!(
        verify(&swap_payload(&jws, &expired), &issuer).unwrap_err(),
        VcJwtError::BadSignature
    ));
}
