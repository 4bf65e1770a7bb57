//! Tests of the JWK acceptance policy: EdDSA/ES256 public keys only (DESIGN §5, C4, P5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ed25519_jwk, p256_jwk};
use crossauthz_core::jwk_policy::{
    JwkPolicyError, JwksError, KeyType, PRIVATE_MEMBERS, SigningAlg, check_jwk, check_jwks,
};
use serde_json::{Value, json};

fn with(mut jwk: Value, name: &str, value: Value) -> Value {
    jwk.as_object_mut().unwrap().insert(name.to_owned(), value);
    jwk
}

#[test]
fn ed25519_and_p256_public_keys_are_accepted() {
    let ed = check_jwk(&ed25519_jwk("k1")).unwrap();
    assert_eq!(ed.key_type, KeyType::Ed25519);
    assert_eq!(ed.kid.as_deref(), Some("k1"));
    assert_eq!(ed.key_type.signing_alg(), SigningAlg::EdDSA);
    let ec = check_jwk(&with(p256_jwk("k2"), "alg", json!("ES256"))).unwrap();
    assert_eq!(ec.key_type, KeyType::P256);
    assert_eq!(ec.alg, Some(SigningAlg::ES256));
    let full = with(
        with(ed25519_jwk("k3"), "use", json!("sig")),
        "key_ops",
        json!(["verify"]),
    );
    assert!(check_jwk(&full).is_ok());
}

// A published key must not carry private material (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
#[test]
fn c4_private_members_are_refused() {
    for name in PRIVATE_MEMBERS {
        let jwk = with(ed25519_jwk("k"), name, json!("AAAA"));
        assert_eq!(
            check_jwk(&jwk),
            Err(JwkPolicyError::PrivateMember {
                name: (*name).to_owned()
            }),
            "{name}"
        );
    }
}

// C4: no symmetric keys; the project accepts EdDSA/ES256 only, so RSA is refused too.
#[test]
fn c4_symmetric_and_rsa_keys_are_refused() {
    assert_eq!(
        check_jwk(&json!({"kty": "oct", "kid": "s"})),
        Err(JwkPolicyError::SymmetricKey)
    );
    let rsa = json!({"kty": "RSA", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"});
    assert_eq!(check_jwk(&rsa), Err(JwkPolicyError::RsaKey));
    assert_eq!(
        check_jwk(&json!({"kty": "XYZ"})),
        Err(JwkPolicyError::UnsupportedKeyType {
            kty: "XYZ".to_owned()
        })
    );
    assert_eq!(
        check_jwk(&json!({"x": "a"})),
        Err(JwkPolicyError::MissingKty)
    );
    assert_eq!(check_jwk(&json!([1])), Err(JwkPolicyError::NotAnObject));
}

#[test]
fn curves_other_than_ed25519_and_p256_are_refused() {
    for (kty, crv) in [
        ("OKP", "X25519"),
        ("OKP", "Ed448"),
        ("EC", "P-384"),
        ("EC", "secp256k1"),
    ] {
        let jwk =
            json!({"kty": kty, "crv": crv, "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert_eq!(
            check_jwk(&jwk),
            Err(JwkPolicyError::UnsupportedCurve {
                kty: kty.to_owned(),
                crv: crv.to_owned()
            })
        );
    }
}

#[test]
fn coordinates_must_be_32_byte_base64url() {
    let mut short = ed25519_jwk("k");
    short["x"] = json!("AAAA");
    assert_eq!(
        check_jwk(&short),
        Err(JwkPolicyError::BadCoordinate { name: "x" })
    );
    let mut padded = ed25519_jwk("k");
    padded["x"] = json!("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    assert_eq!(
        check_jwk(&padded),
        Err(JwkPolicyError::BadCoordinate { name: "x" })
    );
    let mut no_y = p256_jwk("k");
    no_y.as_object_mut().unwrap().remove("y");
    assert_eq!(
        check_jwk(&no_y),
        Err(JwkPolicyError::BadCoordinate { name: "y" })
    );
}

// P5 / J3: `none` and HS* are never acceptable; only EdDSA and ES256.
#[test]
fn p5_alg_none_hs_and_others_are_refused() {
    assert_eq!(
        check_jwk(&with(ed25519_jwk("k"), "alg", json!("none"))),
        Err(JwkPolicyError::AlgNone)
    );
    assert_eq!(
        check_jwk(&with(ed25519_jwk("k"), "alg", json!("HS256"))),
        Err(JwkPolicyError::SymmetricAlg {
            alg: "HS256".to_owned()
        })
    );
    assert_eq!(
        check_jwk(&with(p256_jwk("k"), "alg", json!("RS256"))),
        Err(JwkPolicyError::DisallowedAlg {
            alg: "RS256".to_owned()
        })
    );
    assert_eq!(
        check_jwk(&with(ed25519_jwk("k"), "alg", json!("ES256"))),
        Err(JwkPolicyError::AlgKeyMismatch {
            alg: SigningAlg::ES256,
            key_type: KeyType::Ed25519
        })
    );
    assert_eq!(
        check_jwk(&with(ed25519_jwk("k"), "alg", json!(1))),
        Err(JwkPolicyError::WrongMemberType { name: "alg" })
    );
}

#[test]
fn use_must_be_sig_and_key_ops_only_verify() {
    assert_eq!(
        check_jwk(&with(ed25519_jwk("k"), "use", json!("enc"))),
        Err(JwkPolicyError::WrongUse {
            value: "enc".to_owned()
        })
    );
    assert_eq!(
        check_jwk(&with(
            ed25519_jwk("k"),
            "key_ops",
            json!(["verify", "sign"])
        )),
        Err(JwkPolicyError::DisallowedKeyOp {
            op: "sign".to_owned()
        })
    );
    assert_eq!(
        check_jwk(&with(ed25519_jwk("k"), "key_ops", json!("verify"))),
        Err(JwkPolicyError::WrongMemberType { name: "key_ops" })
    );
    assert_eq!(
        check_jwk(&with(ed25519_jwk("k"), "kid", json!(""))),
        Err(JwkPolicyError::InvalidKid)
    );
}

#[test]
fn jwks_requires_a_non_empty_keys_array() {
    assert_eq!(check_jwks(&json!([])), Err(JwksError::NotAnObject));
    assert_eq!(check_jwks(&json!({})), Err(JwksError::MissingKeys));
    assert_eq!(
        check_jwks(&json!({"keys": {}})),
        Err(JwksError::MissingKeys)
    );
    assert_eq!(
        check_jwks(&json!({"keys": []})),
        Err(JwksError::EmptyKeySet)
    );
    let keys = check_jwks(&json!({"keys": [ed25519_jwk("a"), p256_jwk("b")]})).unwrap();
    assert_eq!(keys.len(), 2);
}

#[test]
fn jwks_duplicate_kid_is_refused() {
    assert_eq!(
        check_jwks(&json!({"keys": [ed25519_jwk("same"), p256_jwk("same")]})),
        Err(JwksError::DuplicateKid {
            kid: "same".to_owned()
        })
    );
}

#[test]
fn jwks_reports_the_index_of_a_bad_key() {
    let bad = with(p256_jwk("b"), "d", json!("secret"));
    assert!(matches!(
        check_jwks(&json!({"keys": [ed25519_jwk("a"), bad]})),
        Err(JwksError::Key {
            index: 1,
            source: JwkPolicyError::PrivateMember { .. }
        })
    ));
}

#[test]
fn signing_alg_parse_round_trips() {
    for alg in [SigningAlg::EdDSA, SigningAlg::ES256] {
        assert_eq!(SigningAlg::parse(alg.as_str()), Ok(alg));
        assert_eq!(serde_json::to_value(alg).unwrap(), json!(alg.as_str()));
    }
    assert_eq!(SigningAlg::parse("none"), Err(JwkPolicyError::AlgNone));
}
