//! SD-JWT VC (`dc+sd-jwt`): RFC 9901 digest vectors, issuance, presentation with key binding, and
//! each verification failure of RFC 9901 §7.1/§7.3 and SD-JWT VC -18 (rules S1–S7, V1–V4).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::TimeDelta;
use common::{Issuer, decode_part, now, raw_sign, raw_token};
use crossauthz_credentials::jose::{b64url_decode, b64url_encode};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_credentials::sd_jwt::{
    self, IssueOptions, KeyBindingInput, KeyBindingPolicy, SdJwtError, VerifyOptions,
    disclosure_digest, sha256_b64,
};
use serde_json::{Value, json};

const AUD: &str = "https://b.example";
const NONCE: &str = "n-0S6_WzA2Mj";
const VCT: &str = "https://a.example/vct/agent-authorization";

fn claims(issuer: &Issuer, holder: &SigningKey) -> Value {
    let t = now().timestamp();
    json!({
        "iss": issuer.did,
        "vct": VCT,
        "iat": t - 60,
        "exp": t + 3600,
        "cnf": {"jwk": holder.public_jwk().to_json()},
        "status": {"status_list": {"idx": 42, "uri": "https://a.example/status/1"}},
        "sub": "https://a.example/agents/42/client-metadata.json",
        "agentType": "tool-agent",
        "authorizedScopes": ["logs:read", "logs:write", "metrics:read"],
        "complianceAttestations": [{"standard": "SOC2", "scope": "ops"}],
        "provenance": {"repo": "https://git.example/agent", "commit": "abc123", "slsaLevel": 3}
    })
}

const DISCLOSABLE: [&str; 5] = [
    "/complianceAttestations",
    "/provenance/commit",
    "/provenance",
    "/authorizedScopes/1",
    "/sub",
];

fn required() -> KeyBindingPolicy {
    KeyBindingPolicy::Required {
        aud: AUD.into(),
        nonce: NONCE.into(),
        max_age: TimeDelta::minutes(5),
    }
}

fn opts(key_binding: KeyBindingPolicy) -> VerifyOptions {
    VerifyOptions {
        now: now(),
        skew: TimeDelta::seconds(60),
        key_binding,
    }
}

fn kb<'a>(holder: &'a SigningKey) -> KeyBindingInput<'a> {
    KeyBindingInput {
        holder_key: holder,
        aud: AUD,
        nonce: NONCE,
        iat: now(),
    }
}

struct Setup {
    issuer: Issuer,
    holder: SigningKey,
    issued: String,
}

fn setup(issuer_alg: Algorithm, holder_alg: Algorithm) -> Setup {
    let issuer = Issuer::new("a.example", issuer_alg);
    let holder = SigningKey::generate(holder_alg).unwrap();
    let issued = sd_jwt::issue(
        &claims(&issuer, &holder),
        &DISCLOSABLE,
        &issuer.key,
        &issuer.kid,
        &IssueOptions::default(),
    )
    .unwrap();
    Setup {
        issuer,
        holder,
        issued,
    }
}

fn verify(s: &Setup, presentation: &str) -> Result<sd_jwt::VerifiedSdJwt, SdJwtError> {
    sd_jwt::verify(presentation, &s.issuer.doc, &opts(required()))
}

/// Encodes a Disclosure from its JSON array.
fn disc(v: Value) -> String {
    b64url_encode(v.to_string().as_bytes())
}

/// An SD-JWT with a hand-made payload signed by the issuer (header typ dc+sd-jwt).
fn craft(issuer: &Issuer, payload: &Value, disclosures: &[String]) -> String {
    let jwt = raw_sign(
        &issuer.key,
        &json!({"alg": issuer.key.algorithm().as_str(), "typ": "dc+sd-jwt", "kid": issuer.kid}),
        payload,
    );
    let mut s = format!("{jwt}~");
    for d in disclosures {
        s.push_str(d);
        s.push('~');
    }
    s
}

fn base_payload(issuer: &Issuer) -> Value {
    json!({"iss": issuer.did, "vct": VCT, "exp": now().timestamp() + 3600})
}

fn no_kb() -> VerifyOptions {
    opts(KeyBindingPolicy::NotRequired)
}

// ------------------------------------------------------------------------------------------------
// RFC 9901 vectors
// ------------------------------------------------------------------------------------------------

#[test]
fn s3_disclosure_digest_matches_rfc9901_object_property_example() {
    // RFC 9901 §4.2.1 and §4.2.3: digest over the ASCII of the base64url Disclosure.
    let d = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0";
    assert_eq!(
        disclosure_digest(d),
        "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
    );
    let decoded: Value = serde_json::from_slice(&b64url_decode(d).unwrap()).unwrap();
    assert_eq!(
        decoded,
        json!(["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"])
    );
}

#[test]
fn s3_disclosure_digest_matches_rfc9901_array_element_example() {
    // RFC 9901 §4.2.2 / §4.2.4.2.
    let d = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0";
    assert_eq!(
        disclosure_digest(d),
        "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"
    );
}

#[test]
fn rfc9901_object_property_example_is_processed() {
    // RFC 9901 §4.2.4.1: {"given_name": "Alice", "_sd": ["X9yH…"]} + the family_name Disclosure.
    let issuer = Issuer::new("a.example", Algorithm::ES256);
    let mut payload = base_payload(&issuer);
    payload["given_name"] = json!("Alice");
    payload["_sd"] = json!(["X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"]);
    let d = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0".to_owned();
    let v = sd_jwt::verify(&craft(&issuer, &payload, &[d]), &issuer.doc, &no_kb()).unwrap();
    assert_eq!(v.claims["family_name"], "Möbius");
    assert_eq!(v.claims["given_name"], "Alice");
    assert!(v.claims.get("_sd").is_none());
}

#[test]
fn rfc9901_array_element_example_is_processed() {
    // RFC 9901 §4.2.4.2: ["DE", {"...": "w0I8…"}, "US"] gives ["DE","FR","US"] with the
    // Disclosure and ["DE","US"] without it.
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut payload = base_payload(&issuer);
    payload["nationalities"] =
        json!(["DE", {"...": "w0I8EKcdCtUPkGCNUrfwVp2xEgNjtoIDlOxc9-PlOhs"}, "US"]);
    let d = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0".to_owned();
    let with = sd_jwt::verify(&craft(&issuer, &payload, &[d]), &issuer.doc, &no_kb()).unwrap();
    assert_eq!(with.claims["nationalities"], json!(["DE", "FR", "US"]));
    let without = sd_jwt::verify(&craft(&issuer, &payload, &[]), &issuer.doc, &no_kb()).unwrap();
    assert_eq!(without.claims["nationalities"], json!(["DE", "US"]));
}

// ------------------------------------------------------------------------------------------------
// Round trips
// ------------------------------------------------------------------------------------------------

#[test]
fn issue_present_verify_round_trip_for_all_key_pairs() {
    for (ia, ha) in [
        (Algorithm::EdDSA, Algorithm::EdDSA),
        (Algorithm::ES256, Algorithm::ES256),
        (Algorithm::EdDSA, Algorithm::ES256),
        (Algorithm::ES256, Algorithm::EdDSA),
    ] {
        let s = setup(ia, ha);
        let p = sd_jwt::present(
            &s.issued,
            &["/authorizedScopes/1", "/provenance/commit"],
            Some(&kb(&s.holder)),
        )
        .unwrap();
        let v = verify(&s, &p).unwrap();
        let c = &v.claims;
        assert_eq!(v.vct, VCT);
        assert_eq!(v.issuer, s.issuer.did);
        assert_eq!(
            c["authorizedScopes"],
            json!(["logs:read", "logs:write", "metrics:read"])
        );
        // The recursive parent was kept to reach the commit; its other members are plain.
        assert_eq!(c["provenance"]["commit"], "abc123");
        assert_eq!(c["provenance"]["slsaLevel"], 3);
        assert!(c.get("complianceAttestations").is_none());
        assert!(c.get("sub").is_none());
        assert!(c.get("_sd").is_none() && c.get("_sd_alg").is_none());
        assert!(c["provenance"].get("_sd").is_none());
        let binding = v.key_binding.unwrap();
        assert_eq!(binding.aud, AUD);
        assert!(binding.holder_key.same_key(&s.holder.public_jwk()));
    }
}

#[test]
fn undisclosed_array_element_and_claims_are_absent() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let p = sd_jwt::present(&s.issued, &[], Some(&kb(&s.holder))).unwrap();
    assert_eq!(p.matches('~').count(), 1, "no disclosures: JWT~KB");
    let c = verify(&s, &p).unwrap().claims;
    assert_eq!(c["authorizedScopes"], json!(["logs:read", "metrics:read"]));
    assert!(c.get("provenance").is_none());
    assert_eq!(c["agentType"], "tool-agent");
    assert_eq!(c["status"]["status_list"]["idx"], 42);
}

#[test]
fn issued_sd_jwt_has_dc_sd_jwt_typ_sd_alg_and_sorted_digests() {
    let s = setup(Algorithm::ES256, Algorithm::EdDSA);
    assert!(s.issued.ends_with('~'));
    let jwt = s.issued.split('~').next().unwrap();
    let header = decode_part(jwt.split('.').next().unwrap());
    assert_eq!(header["typ"], "dc+sd-jwt");
    assert_eq!(header["kid"], json!(s.issuer.kid));
    let payload = decode_part(jwt.split('.').nth(1).unwrap());
    assert_eq!(payload["_sd_alg"], "sha-256");
    let sd: Vec<&str> = payload["_sd"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut sorted = sd.clone();
    sorted.sort();
    assert_eq!(sd, sorted, "the _sd order must not reveal claim order");
    // V3: never-disclosable claims stay plain.
    for c in ["iss", "vct", "exp", "cnf", "status", "iat"] {
        assert!(payload.get(c).is_some(), "{c}");
    }
    assert!(payload.get("sub").is_none());
    assert_eq!(payload["authorizedScopes"][1].as_object().unwrap().len(), 1);
    // The holder can list what it may disclose.
    let list = sd_jwt::disclosures(&s.issued).unwrap();
    let mut paths: Vec<&str> = list.iter().map(|d| d.path.as_str()).collect();
    paths.sort();
    let mut expected = DISCLOSABLE.to_vec();
    expected.sort();
    assert_eq!(paths, expected);
}

#[test]
fn s4_salts_are_at_least_128_bits_and_unique() {
    // RFC 9901 §4.2.1 / §9.3.
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let mut salts = std::collections::HashSet::new();
    for d in s.issued.split('~').skip(1).filter(|d| !d.is_empty()) {
        let arr: Value = serde_json::from_slice(&b64url_decode(d).unwrap()).unwrap();
        let salt = arr[0].as_str().unwrap();
        assert!(b64url_decode(salt).unwrap().len() >= 16);
        assert!(salts.insert(salt.to_owned()));
    }
    assert_eq!(salts.len(), DISCLOSABLE.len());
    // A second issuance of the same claims uses fresh salts.
    let again = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    for d in again.issued.split('~').skip(1).filter(|d| !d.is_empty()) {
        let arr: Value = serde_json::from_slice(&b64url_decode(d).unwrap()).unwrap();
        assert!(!salts.contains(arr[0].as_str().unwrap()));
    }
}

#[test]
fn decoy_digests_are_added_and_ignored() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let holder = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let issued = sd_jwt::issue(
        &claims(&issuer, &holder),
        &["/sub"],
        &issuer.key,
        &issuer.kid,
        &IssueOptions { decoys: 3 },
    )
    .unwrap();
    let payload = decode_part(issued.split('.').nth(1).unwrap());
    assert_eq!(payload["_sd"].as_array().unwrap().len(), 4);
    let p = sd_jwt::present(&issued, &["/sub"], Some(&kb(&holder))).unwrap();
    let v = sd_jwt::verify(&p, &issuer.doc, &opts(required())).unwrap();
    assert_eq!(
        v.claims["sub"],
        "https://a.example/agents/42/client-metadata.json"
    );
}

#[test]
fn v3_no_selectively_disclosable_claims_means_no_sd_and_no_disclosures() {
    // SD-JWT VC -18 §2.2.2.5.
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let holder = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let issued = sd_jwt::issue(
        &claims(&issuer, &holder),
        &[],
        &issuer.key,
        &issuer.kid,
        &IssueOptions::default(),
    )
    .unwrap();
    assert_eq!(issued.matches('~').count(), 1);
    let payload = decode_part(issued.split('.').nth(1).unwrap());
    assert!(payload.get("_sd").is_none() && payload.get("_sd_alg").is_none());
    sd_jwt::verify(&issued, &issuer.doc, &no_kb()).unwrap();
}

// ------------------------------------------------------------------------------------------------
// Issuance refusals
// ------------------------------------------------------------------------------------------------

#[test]
fn v3_security_critical_claims_cannot_be_made_disclosable() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let holder = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let mut c = claims(&issuer, &holder);
    c["nbf"] = json!(0);
    c["vct#integrity"] = json!("sha256-abc");
    for p in [
        "/iss",
        "/nbf",
        "/exp",
        "/cnf",
        "/cnf/jwk",
        "/vct",
        "/vct#integrity",
        "/status",
        "/status/status_list",
        "/iat",
    ] {
        let err = sd_jwt::issue(&c, &[p], &issuer.key, &issuer.kid, &IssueOptions::default())
            .unwrap_err();
        assert!(matches!(err, SdJwtError::NotDisclosable(_)), "{p}: {err:?}");
    }
}

#[test]
fn v2_issuance_without_vct_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let holder = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let mut c = claims(&issuer, &holder);
    c.as_object_mut().unwrap().remove("vct");
    assert!(matches!(
        sd_jwt::issue(&c, &[], &issuer.key, &issuer.kid, &IssueOptions::default()).unwrap_err(),
        SdJwtError::MissingVct
    ));
}

#[test]
fn issuance_refuses_bad_pointers_reserved_names_and_foreign_kid() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let other = Issuer::new("b.example", Algorithm::EdDSA);
    let holder = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let c = claims(&issuer, &holder);
    let o = IssueOptions::default();
    let k = &issuer.key;
    assert!(matches!(
        sd_jwt::issue(&c, &["sub"], k, &issuer.kid, &o).unwrap_err(),
        SdJwtError::InvalidPointer(_)
    ));
    assert!(matches!(
        sd_jwt::issue(&c, &["/nope"], k, &issuer.kid, &o).unwrap_err(),
        SdJwtError::PointerNotFound(_)
    ));
    assert!(matches!(
        sd_jwt::issue(&c, &["/authorizedScopes/9"], k, &issuer.kid, &o).unwrap_err(),
        SdJwtError::PointerNotFound(_)
    ));
    assert!(matches!(
        sd_jwt::issue(&c, &["/authorizedScopes/01"], k, &issuer.kid, &o).unwrap_err(),
        SdJwtError::InvalidPointer(_)
    ));
    assert!(matches!(
        sd_jwt::issue(&c, &["/sub", "/sub"], k, &issuer.kid, &o).unwrap_err(),
        SdJwtError::DuplicatePointer(_)
    ));
    let mut reserved = c.clone();
    reserved["x"] = json!({"_sd": []});
    assert!(matches!(
        sd_jwt::issue(&reserved, &[], k, &issuer.kid, &o).unwrap_err(),
        SdJwtError::ReservedClaimName(_)
    ));
    assert!(matches!(
        sd_jwt::issue(&c, &[], k, &other.kid, &o).unwrap_err(),
        SdJwtError::IssuerKeyMismatch { .. }
    ));
    let mut bad_cnf = c.clone();
    bad_cnf["cnf"] = json!({"jwk": {"kty": "oct", "k": "AAAA"}});
    assert!(matches!(
        sd_jwt::issue(&bad_cnf, &[], k, &issuer.kid, &o).unwrap_err(),
        SdJwtError::InvalidCnf(_)
    ));
}

#[test]
fn pointer_escapes_reach_names_with_slash_and_tilde() {
    // RFC 6901: `~1` is `/`, `~0` is `~`.
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut c = base_payload(&issuer);
    c["a/b"] = json!(1);
    c["c~d"] = json!(2);
    let issued = sd_jwt::issue(
        &c,
        &["/a~1b", "/c~0d"],
        &issuer.key,
        &issuer.kid,
        &IssueOptions::default(),
    )
    .unwrap();
    let v = sd_jwt::verify(&issued, &issuer.doc, &no_kb()).unwrap();
    assert_eq!(v.claims["a/b"], 1);
    assert_eq!(v.claims["c~d"], 2);
    let p = sd_jwt::present(&issued, &["/c~0d"], None).unwrap();
    let v = sd_jwt::verify(&p, &issuer.doc, &no_kb()).unwrap();
    assert!(v.claims.get("a/b").is_none());
    assert_eq!(v.claims["c~d"], 2);
}

#[test]
fn holder_refuses_an_sd_jwt_kb_as_issued_input() {
    // RFC 9901 §7.2: the issuer sends an SD-JWT, never an SD-JWT+KB.
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let p = sd_jwt::present(&s.issued, &[], Some(&kb(&s.holder))).unwrap();
    assert!(matches!(
        sd_jwt::present(&p, &[], None).unwrap_err(),
        SdJwtError::UnexpectedKeyBinding
    ));
}

// ------------------------------------------------------------------------------------------------
// S1 format
// ------------------------------------------------------------------------------------------------

#[test]
fn s1_missing_trailing_tilde_or_bad_components_are_refused() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let jwt = s.issued.split('~').next().unwrap();
    let d0 = s.issued.split('~').nth(1).unwrap();
    for bad in [
        jwt.to_owned(),                  // no `~` at all
        format!("{jwt}~{d0}"),           // last component is a Disclosure, not empty / KB-JWT
        format!("{jwt}~~"),              // empty Disclosure
        format!("{jwt}~{d0}~~"),         // empty Disclosure in the middle
        format!("~{d0}~"),               // no JWT
        format!("{jwt}~a=b~"),           // not base64url
        format!("{jwt}~{d0}~not.a-jwt"), // two-part KB-JWT
        format!("{jwt}.x~"),             // four-part JWT
    ] {
        assert!(
            matches!(
                sd_jwt::verify(&bad, &s.issuer.doc, &no_kb()).unwrap_err(),
                SdJwtError::MalformedFormat(_)
            ),
            "{bad}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Issuer-signed JWT: S2, V1, V2, key discovery
// ------------------------------------------------------------------------------------------------

#[test]
fn s2_alg_none_and_hmac_are_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    for alg in ["none", "HS256", "RS256"] {
        let t = raw_token(
            &json!({"alg": alg, "typ": "dc+sd-jwt", "kid": issuer.kid}),
            &base_payload(&issuer),
            "",
        );
        let err = sd_jwt::verify(&format!("{t}~"), &issuer.doc, &no_kb()).unwrap_err();
        assert!(matches!(err, SdJwtError::DisallowedAlgorithm(a) if a == alg));
    }
}

#[test]
fn v1_typ_must_be_dc_sd_jwt() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    for typ in [Some("vc+sd-jwt"), Some("vc+jwt"), Some("JWT"), None] {
        let mut header = json!({"alg": "EdDSA", "kid": issuer.kid});
        if let Some(t) = typ {
            header["typ"] = json!(t);
        }
        let t = raw_sign(&issuer.key, &header, &base_payload(&issuer));
        let err = sd_jwt::verify(&format!("{t}~"), &issuer.doc, &no_kb()).unwrap_err();
        assert!(
            matches!(err, SdJwtError::WrongType(ref f) if f.as_deref() == typ),
            "{typ:?}"
        );
    }
}

#[test]
fn v2_vct_is_required() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut p = base_payload(&issuer);
    p.as_object_mut().unwrap().remove("vct");
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::MissingVct
    ));
    p["vct"] = json!("");
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::MissingVct
    ));
}

#[test]
fn v4_issuer_key_must_belong_to_iss() {
    let a = Issuer::new("a.example", Algorithm::EdDSA);
    let b = Issuer::new("b.example", Algorithm::EdDSA);
    // B signs with its own key a credential claiming to be from A.
    let jwt = raw_sign(
        &b.key,
        &json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": b.kid}),
        &base_payload(&a),
    );
    assert!(matches!(
        sd_jwt::verify(&format!("{jwt}~"), &b.doc, &no_kb()).unwrap_err(),
        SdJwtError::IssuerKeyMismatch { .. }
    ));
    // B names A's kid: A's published key does not verify it.
    let jwt = raw_sign(
        &b.key,
        &json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": a.kid}),
        &base_payload(&a),
    );
    assert!(matches!(
        sd_jwt::verify(&format!("{jwt}~"), &a.doc, &no_kb()).unwrap_err(),
        SdJwtError::BadSignature
    ));
    // Unknown kid, missing kid, missing iss.
    let kid = format!("{}#gone", a.did);
    let jwt = raw_sign(
        &a.key,
        &json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": kid}),
        &base_payload(&a),
    );
    assert!(matches!(
        sd_jwt::verify(&format!("{jwt}~"), &a.doc, &no_kb()).unwrap_err(),
        SdJwtError::UnknownKid(_)
    ));
    let jwt = raw_sign(
        &a.key,
        &json!({"alg": "EdDSA", "typ": "dc+sd-jwt"}),
        &base_payload(&a),
    );
    assert!(matches!(
        sd_jwt::verify(&format!("{jwt}~"), &a.doc, &no_kb()).unwrap_err(),
        SdJwtError::MissingKid
    ));
    let mut p = base_payload(&a);
    p.as_object_mut().unwrap().remove("iss");
    assert!(matches!(
        sd_jwt::verify(&craft(&a, &p, &[]), &a.doc, &no_kb()).unwrap_err(),
        SdJwtError::MissingIssuer
    ));
}

#[test]
fn tampered_issuer_jwt_fails_the_signature() {
    let s = setup(Algorithm::ES256, Algorithm::EdDSA);
    let jwt = s.issued.split('~').next().unwrap();
    let mut payload = decode_part(jwt.split('.').nth(1).unwrap());
    payload["agentType"] = json!("system-agent");
    let tampered = s
        .issued
        .replacen(jwt, &common::swap_payload(jwt, &payload), 1);
    assert!(matches!(
        sd_jwt::verify(&tampered, &s.issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::BadSignature
    ));
}

// ------------------------------------------------------------------------------------------------
// S3 _sd_alg
// ------------------------------------------------------------------------------------------------

#[test]
fn s3_sd_alg_other_than_sha256_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut p = base_payload(&issuer);
    p["_sd_alg"] = json!("sha-512");
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::UnsupportedSdAlg(a) if a == "sha-512"
    ));
}

#[test]
fn s3_sd_alg_below_top_level_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut p = base_payload(&issuer);
    p["address"] = json!({"_sd_alg": "sha-256", "city": "X"});
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::SdAlgNotTopLevel
    ));
    // Also inside a Disclosure's value.
    let d = disc(json!(["c2FsdHNhbHRzYWx0c2FsdA", "address", {"_sd_alg": "sha-256"}]));
    let mut p = base_payload(&issuer);
    p["_sd"] = json!([disclosure_digest(&d)]);
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[d]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::SdAlgNotTopLevel
    ));
}

// ------------------------------------------------------------------------------------------------
// S6 Disclosures
// ------------------------------------------------------------------------------------------------

fn with_disclosure(issuer: &Issuer, d: &str) -> String {
    let mut p = base_payload(issuer);
    p["_sd"] = json!([disclosure_digest(d)]);
    craft(issuer, &p, &[d.to_owned()])
}

#[test]
fn s6_malformed_disclosures_are_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    for d in [
        disc(json!({"salt": "x"})),                      // not an array
        disc(json!(["salt", "name", "value", "extra"])), // 4 elements
        disc(json!(["salt"])),                           // 1 element
        disc(json!([1, "name", "value"])),               // salt not a string
        disc(json!(["salt", 7, "value"])),               // name not a string
        b64url_encode(b"not json"),                      // not JSON
    ] {
        let err = sd_jwt::verify(&with_disclosure(&issuer, &d), &issuer.doc, &no_kb()).unwrap_err();
        assert!(
            matches!(err, SdJwtError::MalformedDisclosure { index: 0, .. }),
            "{err:?}"
        );
    }
}

#[test]
fn s6_reserved_claim_names_in_disclosures_are_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    for name in ["_sd", "..."] {
        let d = disc(json!(["c2FsdHNhbHRzYWx0c2FsdA", name, "x"]));
        let err = sd_jwt::verify(&with_disclosure(&issuer, &d), &issuer.doc, &no_kb()).unwrap_err();
        assert!(matches!(err, SdJwtError::ReservedClaimName(n) if n == name));
    }
    // `...` as a plain claim name outside an array element.
    let mut p = base_payload(&issuer);
    p["..."] = json!("x");
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::ReservedClaimName(_)
    ));
}

#[test]
fn s6_disclosed_name_colliding_with_a_plain_claim_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let d = disc(json!([
        "c2FsdHNhbHRzYWx0c2FsdA",
        "agentType",
        "system-agent"
    ]));
    let mut p = base_payload(&issuer);
    p["agentType"] = json!("tool-agent");
    p["_sd"] = json!([disclosure_digest(&d)]);
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[d]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::ClaimNameCollision(n) if n == "agentType"
    ));
    // Two Disclosures with the same name.
    let d1 = disc(json!(["c2FsdDE", "x", 1]));
    let d2 = disc(json!(["c2FsdDI", "x", 2]));
    let mut p = base_payload(&issuer);
    p["_sd"] = json!([disclosure_digest(&d1), disclosure_digest(&d2)]);
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[d1, d2]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::ClaimNameCollision(_)
    ));
}

#[test]
fn s2_duplicate_digest_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let d = disc(json!(["c2FsdHNhbHRzYWx0c2FsdA", "x", 1]));
    let dig = disclosure_digest(&d);
    // Twice in one `_sd`.
    let mut p = base_payload(&issuer);
    p["_sd"] = json!([dig, dig]);
    assert!(matches!(
        sd_jwt::verify(
            &craft(&issuer, &p, std::slice::from_ref(&d)),
            &issuer.doc,
            &no_kb()
        )
        .unwrap_err(),
        SdJwtError::DuplicateDigest(_)
    ));
    // Once in `_sd`, once in an array, even without the Disclosure (a decoy repeated).
    let mut p = base_payload(&issuer);
    p["_sd"] = json!([dig]);
    p["list"] = json!([{"...": dig}]);
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::DuplicateDigest(_)
    ));
}

#[test]
fn s6_unreferenced_or_forged_disclosure_is_refused() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let jwt = s.issued.split('~').next().unwrap();
    let forged = disc(json!([
        "c2FsdHNhbHRzYWx0c2FsdA",
        "agentType",
        "system-agent"
    ]));
    let err = sd_jwt::verify(&format!("{jwt}~{forged}~"), &s.issuer.doc, &no_kb()).unwrap_err();
    assert!(matches!(err, SdJwtError::UnreferencedDisclosure(0)));
    // A child Disclosure without its recursive parent cannot connect either.
    let infos = sd_jwt::disclosures(&s.issued).unwrap();
    let child = infos
        .iter()
        .find(|d| d.path == "/provenance/commit")
        .unwrap();
    let err = sd_jwt::verify(
        &format!("{jwt}~{}~", child.encoded),
        &s.issuer.doc,
        &no_kb(),
    )
    .unwrap_err();
    assert!(matches!(err, SdJwtError::UnreferencedDisclosure(0)));
}

#[test]
fn disclosure_sent_twice_is_refused() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let jwt = s.issued.split('~').next().unwrap();
    let d = s.issued.split('~').nth(1).unwrap();
    let err = sd_jwt::verify(&format!("{jwt}~{d}~{d}~"), &s.issuer.doc, &no_kb()).unwrap_err();
    assert!(matches!(err, SdJwtError::RepeatedDisclosure(1)));
}

#[test]
fn disclosure_of_the_wrong_kind_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    // An array-element Disclosure referenced from `_sd`.
    let elem = disc(json!(["c2FsdHNhbHRzYWx0c2FsdA", "FR"]));
    let err = sd_jwt::verify(&with_disclosure(&issuer, &elem), &issuer.doc, &no_kb()).unwrap_err();
    assert!(matches!(
        err,
        SdJwtError::WrongDisclosureKind {
            expected: "object property",
            ..
        }
    ));
    // An object-property Disclosure referenced from an array.
    let prop = disc(json!(["c2FsdHNhbHRzYWx0c2FsdA", "x", "FR"]));
    let mut p = base_payload(&issuer);
    p["list"] = json!([{"...": disclosure_digest(&prop)}]);
    let err = sd_jwt::verify(&craft(&issuer, &p, &[prop]), &issuer.doc, &no_kb()).unwrap_err();
    assert!(matches!(
        err,
        SdJwtError::WrongDisclosureKind {
            expected: "array element",
            ..
        }
    ));
}

#[test]
fn malformed_digest_containers_are_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut p = base_payload(&issuer);
    p["_sd"] = json!("abc");
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::MalformedDigests(_)
    ));
    let mut p = base_payload(&issuer);
    p["_sd"] = json!([1]);
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::MalformedDigests(_)
    ));
    let mut p = base_payload(&issuer);
    p["list"] = json!([{"...": "abc", "other": 1}]);
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::MalformedDigests(_)
    ));
}

#[test]
fn v3_security_critical_claim_received_through_a_disclosure_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let mut p = json!({"iss": issuer.did, "vct": VCT});
    let d = disc(json!(["c2FsdHNhbHRzYWx0c2FsdA", "exp", 4102444800_i64]));
    p["_sd"] = json!([disclosure_digest(&d)]);
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[d]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::DisclosedReservedClaim(n) if n == "exp"
    ));
}

#[test]
fn s6_expired_and_not_yet_valid_are_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let t = now().timestamp();
    let mut p = base_payload(&issuer);
    p["exp"] = json!(t - 61);
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::Expired
    ));
    p["exp"] = json!(t - 30); // within skew
    sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap();
    let mut p = base_payload(&issuer);
    p["nbf"] = json!(t + 61);
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::NotYetValid
    ));
    p["nbf"] = json!("soon");
    assert!(matches!(
        sd_jwt::verify(&craft(&issuer, &p, &[]), &issuer.doc, &no_kb()).unwrap_err(),
        SdJwtError::MalformedTimeClaim("nbf")
    ));
}

// ------------------------------------------------------------------------------------------------
// S5 / S7 key binding
// ------------------------------------------------------------------------------------------------

#[test]
fn s7_missing_kb_when_required_is_refused() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let p = sd_jwt::present(&s.issued, &["/sub"], None).unwrap();
    assert!(matches!(
        verify(&s, &p).unwrap_err(),
        SdJwtError::KeyBindingRequired
    ));
    // Without the requirement the same presentation is fine (policy, not presence, decides).
    let v = sd_jwt::verify(&p, &s.issuer.doc, &no_kb()).unwrap();
    assert!(v.key_binding.is_none());
}

#[test]
fn s7_kb_present_but_not_required_is_not_checked() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let mut input = kb(&s.holder);
    input.nonce = "some other nonce";
    let p = sd_jwt::present(&s.issued, &[], Some(&input)).unwrap();
    let v = sd_jwt::verify(&p, &s.issuer.doc, &no_kb()).unwrap();
    assert!(v.key_binding.is_none());
}

#[test]
fn s7_kb_without_cnf_in_the_credential_is_refused() {
    let issuer = Issuer::new("a.example", Algorithm::EdDSA);
    let holder = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let mut c = claims(&issuer, &holder);
    c.as_object_mut().unwrap().remove("cnf");
    let issued =
        sd_jwt::issue(&c, &[], &issuer.key, &issuer.kid, &IssueOptions::default()).unwrap();
    let p = sd_jwt::present(&issued, &[], Some(&kb(&holder))).unwrap();
    assert!(matches!(
        sd_jwt::verify(&p, &issuer.doc, &opts(required())).unwrap_err(),
        SdJwtError::MissingCnf
    ));
}

/// Replaces the KB-JWT of a presentation with one made of the given header and claims.
fn with_kb(presentation: &str, key: &SigningKey, header: Value, claims: Value) -> String {
    let base = &presentation[..=presentation.rfind('~').unwrap()];
    format!("{base}{}", raw_sign(key, &header, &claims))
}

fn kb_claims(presentation: &str) -> Value {
    let base = &presentation[..=presentation.rfind('~').unwrap()];
    json!({"iat": now().timestamp(), "aud": AUD, "nonce": NONCE, "sd_hash": sha256_b64(base)})
}

#[test]
fn s5_kb_jwt_has_the_required_header_and_claims() {
    let s = setup(Algorithm::EdDSA, Algorithm::ES256);
    let p = sd_jwt::present(&s.issued, &["/sub"], Some(&kb(&s.holder))).unwrap();
    let kb_jwt = &p[p.rfind('~').unwrap() + 1..];
    let header = decode_part(kb_jwt.split('.').next().unwrap());
    assert_eq!(header["typ"], "kb+jwt");
    assert_eq!(header["alg"], "ES256");
    let c = decode_part(kb_jwt.split('.').nth(1).unwrap());
    assert_eq!(c, kb_claims(&p));
}

#[test]
fn s7_kb_typ_must_be_kb_jwt() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let p = sd_jwt::present(&s.issued, &[], Some(&kb(&s.holder))).unwrap();
    let bad = with_kb(
        &p,
        &s.holder,
        json!({"alg": "EdDSA", "typ": "JWT"}),
        kb_claims(&p),
    );
    assert!(matches!(
        verify(&s, &bad).unwrap_err(),
        SdJwtError::KbWrongType(Some(t)) if t == "JWT"
    ));
}

#[test]
fn s5_kb_alg_none_is_refused() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let p = sd_jwt::present(&s.issued, &[], Some(&kb(&s.holder))).unwrap();
    let base = &p[..=p.rfind('~').unwrap()];
    let none = raw_token(&json!({"alg": "none", "typ": "kb+jwt"}), &kb_claims(&p), "");
    assert!(matches!(
        verify(&s, &format!("{base}{none}")).unwrap_err(),
        SdJwtError::KbDisallowedAlgorithm(a) if a == "none"
    ));
}

#[test]
fn s7_kb_signed_by_another_key_than_cnf_is_refused() {
    // A stolen credential presented with the thief's key.
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let thief = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let p = sd_jwt::present(&s.issued, &["/sub"], Some(&kb(&thief))).unwrap();
    assert!(matches!(
        verify(&s, &p).unwrap_err(),
        SdJwtError::KbBadSignature
    ));
}

#[test]
fn s7_kb_iat_outside_the_window_is_refused() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let mut input = kb(&s.holder);
    input.iat = now() - TimeDelta::minutes(10);
    let p = sd_jwt::present(&s.issued, &[], Some(&input)).unwrap();
    assert!(matches!(verify(&s, &p).unwrap_err(), SdJwtError::KbTooOld));
    input.iat = now() + TimeDelta::minutes(5);
    let p = sd_jwt::present(&s.issued, &[], Some(&input)).unwrap();
    assert!(matches!(
        verify(&s, &p).unwrap_err(),
        SdJwtError::KbIatInFuture
    ));
    input.iat = now() - TimeDelta::minutes(4);
    let p = sd_jwt::present(&s.issued, &[], Some(&input)).unwrap();
    verify(&s, &p).unwrap();
}

#[test]
fn s7_kb_nonce_mismatch_is_refused() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let mut input = kb(&s.holder);
    input.nonce = "replayed-nonce";
    let p = sd_jwt::present(&s.issued, &[], Some(&input)).unwrap();
    assert!(matches!(
        verify(&s, &p).unwrap_err(),
        SdJwtError::KbNonceMismatch
    ));
}

#[test]
fn s7_kb_audience_mismatch_or_array_is_refused() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let mut input = kb(&s.holder);
    input.aud = "https://c.example";
    let p = sd_jwt::present(&s.issued, &[], Some(&input)).unwrap();
    assert!(matches!(
        verify(&s, &p).unwrap_err(),
        SdJwtError::KbAudienceMismatch
    ));
    // S5: `aud` is a single string, not an array containing it.
    let p = sd_jwt::present(&s.issued, &[], Some(&kb(&s.holder))).unwrap();
    let mut c = kb_claims(&p);
    c["aud"] = json!([AUD]);
    let bad = with_kb(&p, &s.holder, json!({"alg": "EdDSA", "typ": "kb+jwt"}), c);
    assert!(matches!(
        verify(&s, &bad).unwrap_err(),
        SdJwtError::KbAudienceMismatch
    ));
}

#[test]
fn s7_kb_sd_hash_mismatch_is_refused() {
    // Dropping a Disclosure after the holder signed changes the sd_hash input.
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let p = sd_jwt::present(
        &s.issued,
        &["/sub", "/complianceAttestations"],
        Some(&kb(&s.holder)),
    )
    .unwrap();
    let comps: Vec<&str> = p.split('~').collect();
    let trimmed = format!("{}~{}~{}", comps[0], comps[1], comps[comps.len() - 1]);
    assert!(matches!(
        verify(&s, &trimmed).unwrap_err(),
        SdJwtError::KbSdHashMismatch
    ));
    // A KB-JWT whose sd_hash was taken without the trailing `~`.
    let base = &p[..p.rfind('~').unwrap()];
    let mut c = kb_claims(&p);
    c["sd_hash"] = json!(sha256_b64(base));
    let bad = with_kb(&p, &s.holder, json!({"alg": "EdDSA", "typ": "kb+jwt"}), c);
    assert!(matches!(
        verify(&s, &bad).unwrap_err(),
        SdJwtError::KbSdHashMismatch
    ));
}

#[test]
fn s5_kb_missing_claims_are_refused() {
    let s = setup(Algorithm::EdDSA, Algorithm::EdDSA);
    let p = sd_jwt::present(&s.issued, &[], Some(&kb(&s.holder))).unwrap();
    for claim in ["iat", "nonce", "aud", "sd_hash"] {
        let mut c = kb_claims(&p);
        c.as_object_mut().unwrap().remove(claim);
        let bad = with_kb(&p, &s.holder, json!({"alg": "EdDSA", "typ": "kb+jwt"}), c);
        assert!(
            matches!(verify(&s, &bad).unwrap_err(), SdJwtError::KbMissingClaim(n) if n == claim),
            "{claim}"
        );
    }
}
