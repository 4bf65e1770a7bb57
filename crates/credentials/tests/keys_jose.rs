//! Keys (generation, private JWK import/export, public JWK validation, RFC 7638 thumbprints) and
//! compact JWS (explicit typing, algorithm allowlist J3/P5, signatures).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{raw_sign, raw_token};
use crossauthz_credentials::jose::{
    JoseError, b64url_encode, decode_unverified, sign_compact, verify_compact,
};
use crossauthz_credentials::keys::{Algorithm, KeyError, PublicJwk, SigningKey};
use serde_json::{Value, json};

// RFC 8037 Appendix A.1: the Ed25519 key of the examples.
const RFC8037_PRIVATE: &str = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

// The P-256 issuer key of RFC 9901 Appendix A.5 / SD-JWT VC -18 §3.
fn rfc9901_public() -> Value {
    json!({
        "kty": "EC", "crv": "P-256",
        "x": "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
        "y": "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"
    })
}

#[test]
fn rfc8037_a3_ed25519_thumbprint_matches_spec() {
    // RFC 8037 Appendix A.3.
    let key = PublicJwk::from_json(&json!({
        "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    }))
    .unwrap();
    assert_eq!(
        key.thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

#[test]
fn rfc8037_a4_ed25519_signature_matches_spec() {
    // RFC 8037 Appendix A.4: Ed25519 is deterministic, so the signature must equal the spec's.
    let key = SigningKey::from_private_jwk_json(RFC8037_PRIVATE).unwrap();
    let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let sig = key.sign(input.as_bytes()).unwrap();
    assert_eq!(
        b64url_encode(&sig),
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    );
}

#[test]
fn rfc9901_example_issuer_key_is_accepted() {
    // RFC 9901 Appendix A.5: a valid P-256 point.
    let key = PublicJwk::from_json(&rfc9901_public()).unwrap();
    assert_eq!(key.algorithm(), Algorithm::ES256);
    assert_eq!(key.kid(), None);
}

#[test]
fn private_jwk_round_trip_keeps_the_key_for_both_algorithms() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let key = SigningKey::generate(alg).unwrap();
        let exported = key.to_private_jwk_json();
        let back = SigningKey::from_private_jwk_json(&exported).unwrap();
        assert_eq!(back.algorithm(), alg);
        assert_eq!(back.thumbprint(), key.thumbprint());
        assert_eq!(back.public_jwk(), key.public_jwk());
        // A token signed by the re-imported key verifies with the original public key.
        let jws = sign_compact(&back, "test+jwt", None, &json!({"a": 1})).unwrap();
        verify_compact(&jws, "test+jwt", &key.public_jwk()).unwrap();
    }
}

#[test]
fn public_jwk_carries_thumbprint_kid_alg_and_use() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let j = key.public_jwk().to_json();
    assert_eq!(j["kid"], json!(key.thumbprint()));
    assert_eq!(j["alg"], "ES256");
    assert_eq!(j["use"], "sig");
    assert_eq!(j["kty"], "EC");
    assert_eq!(j["crv"], "P-256");
    assert!(j.get("d").is_none());
}

#[test]
fn signing_key_debug_does_not_print_the_private_scalar() {
    let key = SigningKey::from_private_jwk_json(RFC8037_PRIVATE).unwrap();
    let dbg = format!("{key:?}");
    assert!(!dbg.contains("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"));
    assert!(dbg.contains("EdDSA"));
}

#[test]
fn private_key_that_does_not_match_x_is_refused() {
    let mut v: Value = serde_json::from_str(RFC8037_PRIVATE).unwrap();
    let other = SigningKey::generate(Algorithm::EdDSA).unwrap().public_jwk();
    v["x"] = other.to_json()["x"].clone();
    let err = SigningKey::from_private_jwk_json(&v.to_string()).unwrap_err();
    assert!(matches!(err, KeyError::KeyPairMismatch), "{err:?}");

    let p256 = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut v: Value = serde_json::from_str(&p256.to_private_jwk_json()).unwrap();
    let other = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .to_private_jwk_json();
    let other: Value = serde_json::from_str(&other).unwrap();
    v["d"] = other["d"].clone();
    let err = SigningKey::from_private_jwk_json(&v.to_string()).unwrap_err();
    assert!(matches!(err, KeyError::KeyPairMismatch), "{err:?}");
}

#[test]
fn private_jwk_without_d_is_refused() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let err =
        SigningKey::from_private_jwk_json(&key.public_jwk().to_json().to_string()).unwrap_err();
    assert!(matches!(err, KeyError::MissingPrivateKey));
    assert!(matches!(
        SigningKey::from_private_jwk_json("not json").unwrap_err(),
        KeyError::InvalidJson
    ));
}

#[test]
fn public_jwk_with_private_member_is_refused() {
    // A private key in a JWKS, DID document or `cnf` is a leak, never a public key.
    let mut v: Value = serde_json::from_str(RFC8037_PRIVATE).unwrap();
    assert!(matches!(
        PublicJwk::from_json(&v).unwrap_err(),
        KeyError::PrivateMemberInPublicKey("d")
    ));
    v.as_object_mut().unwrap().remove("d");
    v["k"] = json!("AAAA");
    assert!(matches!(
        PublicJwk::from_json(&v).unwrap_err(),
        KeyError::PrivateMemberInPublicKey("k")
    ));
}

#[test]
fn rsa_and_oct_keys_are_refused_by_type() {
    // DESIGN §5: only EdDSA and ES256; RSA and symmetric keys are refused.
    let rsa = json!({"kty": "RSA", "n": "0vx7agoebGcQSuuPiLJXZpt", "e": "AQAB"});
    assert!(
        matches!(PublicJwk::from_json(&rsa).unwrap_err(), KeyError::UnsupportedKeyType(t) if t == "RSA")
    );
    let oct = json!({"kty": "oct", "k": "GawgguFyGrWKav7AX4VKUg"});
    assert!(
        matches!(PublicJwk::from_json(&oct).unwrap_err(), KeyError::UnsupportedKeyType(t) if t == "oct")
    );
}

#[test]
fn other_curves_are_refused() {
    let x25519 =
        json!({"kty": "OKP", "crv": "X25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    assert!(
        matches!(PublicJwk::from_json(&x25519).unwrap_err(), KeyError::UnsupportedCurve(c) if c == "X25519")
    );
    let mut p384 = rfc9901_public();
    p384["crv"] = json!("P-384");
    assert!(matches!(
        PublicJwk::from_json(&p384).unwrap_err(),
        KeyError::UnsupportedCurve(_)
    ));
}

#[test]
fn point_not_on_curve_or_wrong_length_is_refused() {
    let mut bad = rfc9901_public();
    bad["y"] = json!("Yv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8");
    assert!(matches!(
        PublicJwk::from_json(&bad).unwrap_err(),
        KeyError::InvalidKeyMaterial(_)
    ));
    let short = json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"});
    assert!(matches!(
        PublicJwk::from_json(&short).unwrap_err(),
        KeyError::InvalidKeyMaterial(_)
    ));
    let padded = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="});
    assert!(matches!(
        PublicJwk::from_json(&padded).unwrap_err(),
        KeyError::BadEncoding("x")
    ));
    // Non-canonical trailing bits: a second spelling of the same key is refused.
    let noncanonical =
        json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp"});
    assert!(matches!(
        PublicJwk::from_json(&noncanonical).unwrap_err(),
        KeyError::BadEncoding("x")
    ));
}

#[test]
fn jwk_alg_and_use_must_fit() {
    let mut v = rfc9901_public();
    v["alg"] = json!("RS256");
    assert!(
        matches!(PublicJwk::from_json(&v).unwrap_err(), KeyError::AlgorithmMismatch(a) if a == "RS256")
    );
    v["alg"] = json!("EdDSA");
    assert!(matches!(
        PublicJwk::from_json(&v).unwrap_err(),
        KeyError::AlgorithmMismatch(_)
    ));
    v["alg"] = json!("ES256");
    v["use"] = json!("enc");
    assert!(matches!(PublicJwk::from_json(&v).unwrap_err(), KeyError::WrongUse(u) if u == "enc"));
    v["use"] = json!("sig");
    v["kid"] = json!(5);
    assert!(matches!(
        PublicJwk::from_json(&v).unwrap_err(),
        KeyError::WrongMemberType("kid")
    ));
}

#[test]
fn public_jwk_serde_round_trip() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap().public_jwk();
    let s = serde_json::to_string(&key).unwrap();
    let back: PublicJwk = serde_json::from_str(&s).unwrap();
    assert_eq!(back, key);
    assert!(back.same_key(&key));
    // Deserialize validates too.
    assert!(serde_json::from_str::<PublicJwk>(RFC8037_PRIVATE).is_err());
}

#[test]
fn j1_sign_and_verify_round_trip_for_both_algorithms() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let key = SigningKey::generate(alg).unwrap();
        let claims = json!({"sub": "x", "n": 1});
        let jws = sign_compact(&key, "statuslist+jwt", Some("k1"), &claims).unwrap();
        let (h, c) = verify_compact(&jws, "statuslist+jwt", &key.public_jwk()).unwrap();
        assert_eq!(h.alg, alg.as_str());
        assert_eq!(h.typ.as_deref(), Some("statuslist+jwt"));
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert_eq!(c, claims);
        let (h2, c2) = decode_unverified(&jws).unwrap();
        assert_eq!((h2, c2), (h, c));
    }
}

#[test]
fn j3_alg_none_is_refused() {
    // J3 / P5: an unsecured JWS (alg none, empty signature) fails as a disallowed algorithm.
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let none = raw_token(
        &json!({"alg": "none", "typ": "vc+jwt"}),
        &json!({"a": 1}),
        "",
    );
    let err = verify_compact(&none, "vc+jwt", &key.public_jwk()).unwrap_err();
    assert!(matches!(err, JoseError::DisallowedAlgorithm(a) if a == "none"));
    // Also with a non-empty "signature".
    let none = raw_token(
        &json!({"alg": "none", "typ": "vc+jwt"}),
        &json!({"a": 1}),
        "AAAA",
    );
    let err = verify_compact(&none, "vc+jwt", &key.public_jwk()).unwrap_err();
    assert!(matches!(err, JoseError::DisallowedAlgorithm(_)));
}

#[test]
fn p5_hmac_and_rsa_algorithms_are_refused() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    for alg in [
        "HS256", "HS512", "RS256", "PS256", "ES384", "ES256K", "eddsa", "es256",
    ] {
        let t = raw_token(&json!({"alg": alg, "typ": "t+jwt"}), &json!({}), "AAAA");
        let err = verify_compact(&t, "t+jwt", &key.public_jwk()).unwrap_err();
        assert!(
            matches!(err, JoseError::DisallowedAlgorithm(a) if a == alg),
            "{alg}"
        );
    }
}

#[test]
fn explicit_typing_wrong_or_missing_typ_is_refused() {
    // RFC 8725 §3.11: the verifier checks `typ`.
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let jws = sign_compact(&key, "vc-ld+jwt", None, &json!({})).unwrap();
    let err = verify_compact(&jws, "vc+jwt", &key.public_jwk()).unwrap_err();
    assert!(
        matches!(err, JoseError::WrongType { ref expected, found: Some(ref f) } if expected == "vc+jwt" && f == "vc-ld+jwt")
    );
    let untyped = raw_sign(&key, &json!({"alg": "ES256"}), &json!({}));
    let err = verify_compact(&untyped, "vc+jwt", &key.public_jwk()).unwrap_err();
    assert!(matches!(err, JoseError::WrongType { found: None, .. }));
}

#[test]
fn typ_with_application_prefix_or_other_case_is_the_same_media_type() {
    // RFC 7515 §4.1.9: `application/` may be omitted; media types compare case-insensitively.
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    for typ in ["application/vc+jwt", "VC+JWT", "Application/Vc+Jwt"] {
        let jws = sign_compact(&key, typ, None, &json!({})).unwrap();
        verify_compact(&jws, "vc+jwt", &key.public_jwk()).unwrap();
    }
    let jws = sign_compact(&key, "application/vc+jwtx", None, &json!({})).unwrap();
    assert!(matches!(
        verify_compact(&jws, "vc+jwt", &key.public_jwk()).unwrap_err(),
        JoseError::WrongType { .. }
    ));
}

#[test]
fn alg_that_does_not_match_the_key_is_refused() {
    let es = SigningKey::generate(Algorithm::ES256).unwrap();
    let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let jws = sign_compact(&es, "t", None, &json!({})).unwrap();
    let err = verify_compact(&jws, "t", &ed.public_jwk()).unwrap_err();
    assert!(matches!(
        err,
        JoseError::AlgorithmKeyMismatch {
            key: Algorithm::EdDSA,
            ..
        }
    ));
}

#[test]
fn tampered_payload_or_other_key_fails_the_signature() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let key = SigningKey::generate(alg).unwrap();
        let other = SigningKey::generate(alg).unwrap();
        let jws = sign_compact(&key, "t", None, &json!({"scope": "read"})).unwrap();
        let tampered = common::swap_payload(&jws, &json!({"scope": "admin"}));
        assert!(matches!(
            verify_compact(&tampered, "t", &key.public_jwk()).unwrap_err(),
            JoseError::BadSignature
        ));
        assert!(matches!(
            verify_compact(&jws, "t", &other.public_jwk()).unwrap_err(),
            JoseError::BadSignature
        ));
        // Truncated signature.
        let cut = &jws[..jws.len() - 4];
        assert!(matches!(
            verify_compact(cut, "t", &key.public_jwk()).unwrap_err(),
            JoseError::BadSignature | JoseError::BadBase64("signature")
        ));
    }
}

#[test]
fn crit_header_is_refused() {
    // RFC 7515 §4.1.11: we understand no extension, so any `crit` is refused.
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let t = raw_sign(
        &key,
        &json!({"alg": "EdDSA", "typ": "t", "crit": ["exp"], "exp": 1}),
        &json!({}),
    );
    assert!(matches!(
        verify_compact(&t, "t", &key.public_jwk()).unwrap_err(),
        JoseError::UnsupportedCritical
    ));
}

#[test]
fn j1_non_compact_input_is_refused() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap().public_jwk();
    for s in [
        "",
        "a",
        "a.b",
        "a.b.c.d",
        ".b.c",
        "a..c",
        "{\"alg\":\"EdDSA\"}",
    ] {
        assert!(
            matches!(
                verify_compact(s, "t", &key).unwrap_err(),
                JoseError::NotCompact
            ),
            "{s}"
        );
    }
    assert!(matches!(
        decode_unverified("a+b.c.d").unwrap_err(),
        JoseError::BadBase64("header")
    ));
    let padded = format!("{}=.e30.AAAA", b64url_encode(br#"{"alg":"EdDSA"}"#));
    assert!(matches!(
        decode_unverified(&padded).unwrap_err(),
        JoseError::BadBase64("header")
    ));
    let not_json = format!("{}.e30.AAAA", b64url_encode(b"not json"));
    assert!(matches!(
        decode_unverified(&not_json).unwrap_err(),
        JoseError::MalformedHeader(_)
    ));
    let array_payload = format!(
        "{}.{}.AAAA",
        b64url_encode(br#"{"alg":"EdDSA"}"#),
        b64url_encode(b"[1]")
    );
    assert!(matches!(
        decode_unverified(&array_payload).unwrap_err(),
        JoseError::MalformedPayload
    ));
    let no_alg = format!("{}.e30.AAAA", b64url_encode(br#"{"typ":"t"}"#));
    assert!(matches!(
        decode_unverified(&no_alg).unwrap_err(),
        JoseError::MalformedHeader(_)
    ));
}

#[test]
fn header_members_other_than_registered_ones_are_kept() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let t = raw_sign(
        &key,
        &json!({"alg": "EdDSA", "typ": "t", "x5t#S256": "abc"}),
        &json!({}),
    );
    let (h, _) = verify_compact(&t, "t", &key.public_jwk()).unwrap();
    assert_eq!(h.other.get("x5t#S256"), Some(&json!("abc")));
}
