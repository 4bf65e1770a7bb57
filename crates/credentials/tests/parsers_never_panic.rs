//! Every parser of untrusted input returns an error instead of panicking, on random strings and
//! random JSON, and on random mutations of valid tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{Issuer, now, sample_vc};
use crossauthz_credentials::did_web::{
    DidDocument, Jwks, JwtVcIssuerMetadata, did_web_from_url, did_web_to_url,
};
use crossauthz_credentials::jose::{decode_unverified, verify_compact};
use crossauthz_credentials::keys::{Algorithm, PublicJwk, SigningKey};
use crossauthz_credentials::sd_jwt::{
    self, IssueOptions, KeyBindingInput, KeyBindingPolicy, VerifyOptions,
};
use crossauthz_credentials::vc_jwt;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::OnceLock;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-zA-Z0-9_~./:#+=-]{0,24}".prop_map(Value::String),
        prop_oneof![
            Just("OKP"),
            Just("EC"),
            Just("RSA"),
            Just("Ed25519"),
            Just("P-256"),
            Just("sha-256"),
            Just("EdDSA"),
            Just("ES256"),
            Just("did:web:a.example"),
            Just("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("kty".to_owned()),
            Just("crv".to_owned()),
            Just("x".to_owned()),
            Just("y".to_owned()),
            Just("d".to_owned()),
            Just("kid".to_owned()),
            Just("alg".to_owned()),
            Just("use".to_owned()),
            Just("id".to_owned()),
            Just("type".to_owned()),
            Just("controller".to_owned()),
            Just("publicKeyJwk".to_owned()),
            Just("verificationMethod".to_owned()),
            Just("assertionMethod".to_owned()),
            Just("keys".to_owned()),
            Just("issuer".to_owned()),
            Just("jwks".to_owned()),
            Just("jwks_uri".to_owned()),
            Just("_sd".to_owned()),
            Just("...".to_owned()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

struct Fixture {
    issuer: Issuer,
    vc: String,
    presentation: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let issuer = Issuer::new("a.example", Algorithm::EdDSA);
        let holder = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let vc = vc_jwt::issue(&sample_vc(&issuer.did), &issuer.key, &issuer.kid).unwrap();
        let claims = json!({
            "iss": issuer.did, "vct": "urn:x", "exp": now().timestamp() + 60,
            "cnf": {"jwk": holder.public_jwk().to_json()},
            "a": 1, "b": [1, 2, {"c": 3}]
        });
        let issued = sd_jwt::issue(
            &claims,
            &["/a", "/b/1", "/b/2/c", "/b/2"],
            &issuer.key,
            &issuer.kid,
            &IssueOptions { decoys: 1 },
        )
        .unwrap();
        let presentation = sd_jwt::present(
            &issued,
            &["/a", "/b/2/c"],
            Some(&KeyBindingInput {
                holder_key: &holder,
                aud: "https://b.example",
                nonce: "n",
                iat: now(),
            }),
        )
        .unwrap();
        Fixture {
            issuer,
            vc,
            presentation,
        }
    })
}

fn sd_opts() -> VerifyOptions {
    VerifyOptions {
        now: now(),
        skew: TimeDelta::seconds(60),
        key_binding: KeyBindingPolicy::Required {
            aud: "https://b.example".into(),
            nonce: "n".into(),
            max_age: TimeDelta::minutes(5),
        },
    }
}

/// Applies random byte-level edits (replace, delete, insert) at random positions.
fn mutate(s: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut b = s.as_bytes().to_vec();
    for &(pos, op, byte) in edits {
        if b.is_empty() {
            break;
        }
        let i = pos % b.len();
        let c = b"~._-aAzZ09{}\"=+/"[usize::from(byte) % 16];
        match op % 3 {
            0 => b[i] = c,
            1 => {
                b.remove(i);
            }
            _ => b.insert(i, c),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decode_unverified_never_panics(s in ".{0,300}") {
        let _ = decode_unverified(&s);
    }

    #[test]
    fn decode_unverified_on_base64ish_parts_never_panics(
        h in "[A-Za-z0-9_-]{0,60}", p in "[A-Za-z0-9_-]{0,60}", sig in "[A-Za-z0-9_-]{0,90}"
    ) {
        let t = format!("{h}.{p}.{sig}");
        let _ = decode_unverified(&t);
        let key = fixture().issuer.key.public_jwk();
        let _ = verify_compact(&t, "vc+jwt", &key);
    }

    #[test]
    fn public_jwk_from_json_never_panics(v in arb_json()) {
        let _ = PublicJwk::from_json(&v);
        let _ = serde_json::from_value::<PublicJwk>(v);
    }

    #[test]
    fn private_jwk_import_never_panics(v in arb_json(), s in ".{0,200}") {
        let _ = SigningKey::from_private_jwk_json(&v.to_string());
        let _ = SigningKey::from_private_jwk_json(&s);
    }

    #[test]
    fn did_document_and_jwks_parsers_never_panic(v in arb_json()) {
        let _ = DidDocument::parse(&v, "did:web:a.example");
        let _ = Jwks::from_json(&v);
        let _ = JwtVcIssuerMetadata::from_json(&v, "https://a.example");
    }

    #[test]
    fn did_web_url_mappings_never_panic(s in ".{0,120}") {
        let _ = did_web_from_url(&s);
        let _ = did_web_to_url(&s);
        let _ = did_web_to_url(&format!("did:web:{s}"));
        let _ = JwtVcIssuerMetadata::well_known_url(&s);
    }

    #[test]
    fn sd_jwt_parse_and_verify_never_panic(s in "[A-Za-z0-9_.~-]{0,300}") {
        let _ = sd_jwt::parse(&s);
        let _ = sd_jwt::disclosures(&s);
        let _ = sd_jwt::verify(&s, &fixture().issuer.doc, &sd_opts());
    }

    #[test]
    fn mutated_sd_jwt_presentation_never_panics(edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
        let f = fixture();
        let m = mutate(&f.presentation, &edits);
        let _ = sd_jwt::verify(&m, &f.issuer.doc, &sd_opts());
        let _ = sd_jwt::disclosures(&m);
        let _ = sd_jwt::present(&m, &["/a"], None);
    }

    #[test]
    fn vc_jwt_verify_never_panics(s in ".{0,300}", edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
        let f = fixture();
        let _ = vc_jwt::verify(&s, &f.issuer.doc, now(), TimeDelta::seconds(60));
        let _ = vc_jwt::peek(&s);
        let m = mutate(&f.vc, &edits);
        let _ = vc_jwt::verify(&m, &f.issuer.doc, now(), TimeDelta::seconds(60));
    }

    #[test]
    fn sd_jwt_with_random_payload_and_disclosures_never_panics(
        payload in arb_json(), discs in prop::collection::vec(arb_json(), 0..4)
    ) {
        // Signed by the real issuer, so processing gets past the signature check.
        let f = fixture();
        let mut payload = payload;
        if let Value::Object(m) = &mut payload {
            m.insert("iss".into(), json!(f.issuer.did));
            m.insert("vct".into(), json!("urn:x"));
        }
        let jwt = common::raw_sign(
            &f.issuer.key,
            &json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": f.issuer.kid}),
            &payload,
        );
        let mut s = format!("{jwt}~");
        for d in discs {
            s.push_str(&crossauthz_credentials::jose::b64url_encode(d.to_string().as_bytes()));
            s.push('~');
        }
        let opts = VerifyOptions { key_binding: KeyBindingPolicy::NotRequired, ..sd_opts() };
        let _ = sd_jwt::verify(&s, &f.issuer.doc, &opts);
        let _ = sd_jwt::disclosures(&s);
    }
}

#[test]
fn deeply_nested_disclosures_are_refused_without_overflow() {
    // A chain of recursive Disclosures deeper than MAX_DEPTH is an error, not a stack overflow.
    let f = fixture();
    let mut value = json!("leaf");
    let mut discs = Vec::new();
    for i in 0..200 {
        let d = crossauthz_credentials::jose::b64url_encode(
            json!([format!("salt{i:04}salt{i:04}"), "n", value])
                .to_string()
                .as_bytes(),
        );
        value = json!({"_sd": [sd_jwt::disclosure_digest(&d)]});
        discs.push(d);
    }
    let mut payload = value;
    payload["iss"] = json!(f.issuer.did);
    payload["vct"] = json!("urn:x");
    let jwt = common::raw_sign(
        &f.issuer.key,
        &json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": f.issuer.kid}),
        &payload,
    );
    let s = format!("{jwt}~{}~", discs.join("~"));
    let opts = VerifyOptions {
        key_binding: KeyBindingPolicy::NotRequired,
        ..sd_opts()
    };
    assert!(matches!(
        sd_jwt::verify(&s, &f.issuer.doc, &opts).unwrap_err(),
        sd_jwt::SdJwtError::TooDeep
    ));
}

#[test]
fn fixture_presentation_verifies() {
    // Guards the proptests above: their base inputs are valid, so mutations probe real paths.
    let f = fixture();
    let v = sd_jwt::verify(&f.presentation, &f.issuer.doc, &sd_opts()).unwrap();
    assert_eq!(v.claims["a"], 1);
    assert_eq!(v.claims["b"], json!([1, {"c": 3}]));
    vc_jwt::verify(&f.vc, &f.issuer.doc, now(), TimeDelta::seconds(60)).unwrap();
}
