//! `did:web` identifiers and documents, JWK Sets and JWT VC Issuer Metadata (V5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use crossauthz_credentials::did_web::{
    DidDocument, DidWebError, Jwks, JwksSource, JwtVcIssuerMetadata, did_document,
    did_web_from_url, did_web_to_url, method_id,
};
use crossauthz_credentials::jose::{KeyResolver, ResolveError};
use crossauthz_credentials::keys::{Algorithm, KeyError, SigningKey};
use serde_json::json;

#[test]
fn did_web_identifier_from_url_follows_the_method_spec() {
    // did:web method spec §3.2.1 (Create) examples.
    assert_eq!(
        did_web_from_url("https://w3c-ccg.github.io").unwrap(),
        "did:web:w3c-ccg.github.io"
    );
    assert_eq!(
        did_web_from_url("https://w3c-ccg.github.io/user/alice").unwrap(),
        "did:web:w3c-ccg.github.io:user:alice"
    );
    assert_eq!(
        did_web_from_url("https://example.com:3000/").unwrap(),
        "did:web:example.com%3A3000"
    );
    assert_eq!(
        did_web_from_url("https://example.com:3000/user/alice/").unwrap(),
        "did:web:example.com%3A3000:user:alice"
    );
}

#[test]
fn did_web_identifier_refuses_non_https_and_url_extras() {
    for (url, _why) in [
        ("http://example.com", "plain http"),
        ("https://example.com/?q=1", "query"),
        ("https://example.com/#f", "fragment"),
        ("https://user:pw@example.com/", "user info"),
        ("https://example.com/a//b", "empty segment"),
        ("not a url", "relative"),
    ] {
        assert!(
            matches!(
                did_web_from_url(url).unwrap_err(),
                DidWebError::InvalidUrl(_)
            ),
            "{url}"
        );
    }
}

#[test]
fn did_web_document_url_follows_the_method_spec() {
    // did:web method spec §3.2.2 (Read).
    assert_eq!(
        did_web_to_url("did:web:w3c-ccg.github.io")
            .unwrap()
            .as_str(),
        "https://w3c-ccg.github.io/.well-known/did.json"
    );
    assert_eq!(
        did_web_to_url("did:web:w3c-ccg.github.io:user:alice")
            .unwrap()
            .as_str(),
        "https://w3c-ccg.github.io/user/alice/did.json"
    );
    assert_eq!(
        did_web_to_url("did:web:example.com%3A3000:user:alice")
            .unwrap()
            .as_str(),
        "https://example.com:3000/user/alice/did.json"
    );
    for bad in [
        "did:key:z6Mk",
        "did:web:",
        "did:web:a.example#k",
        "did:web:a.example::x",
        "did:web:a.example/x",
    ] {
        assert!(
            matches!(did_web_to_url(bad).unwrap_err(), DidWebError::InvalidDid(_)),
            "{bad}"
        );
    }
}

#[test]
fn did_document_publishes_current_and_previous_keys_as_assertion_methods() {
    let did = "did:web:a.example";
    let current = SigningKey::generate(Algorithm::ES256).unwrap().public_jwk();
    let previous = SigningKey::generate(Algorithm::EdDSA).unwrap().public_jwk();
    let doc = did_document(did, &[current.clone(), previous.clone()]);
    assert_eq!(doc["id"], did);
    assert_eq!(doc["@context"][0], "https://www.w3.org/ns/did/v1");
    assert_eq!(doc["verificationMethod"][0]["type"], "JsonWebKey");
    assert_eq!(doc["verificationMethod"][0]["controller"], did);
    let kid = method_id(did, &current);
    assert_eq!(kid, format!("{did}#{}", current.thumbprint()));
    assert_eq!(doc["assertionMethod"][0], json!(kid));
    assert_eq!(doc["authentication"][1], json!(method_id(did, &previous)));

    let parsed = DidDocument::parse(&doc, did).unwrap();
    assert_eq!(parsed.keys().count(), 2);
    assert!(parsed.assertion_key(&kid).unwrap().same_key(&current));
    let old = parsed.assertion_key(&method_id(did, &previous)).unwrap();
    assert!(old.same_key(&previous));
    assert_eq!(old.kid(), Some(method_id(did, &previous).as_str()));
    // The resolver trait.
    assert!(parsed.resolve(did, &kid).unwrap().same_key(&current));
}

#[test]
fn did_document_whose_id_is_not_the_did_is_refused() {
    // did:web §3.2.2: the resolved document's id must be the DID that was resolved.
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap().public_jwk();
    let doc = did_document("did:web:evil.example", &[key]);
    let err = DidDocument::parse(&doc, "did:web:a.example").unwrap_err();
    assert!(
        matches!(err, DidWebError::DidMismatch { ref expected, ref found } if expected == "did:web:a.example" && found == "did:web:evil.example")
    );
}

#[test]
fn unknown_kid_and_kid_of_another_did_are_refused() {
    let did = "did:web:a.example";
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap().public_jwk();
    let doc = DidDocument::parse(&did_document(did, std::slice::from_ref(&key)), did).unwrap();
    assert!(matches!(
        doc.find_key("did:web:a.example#nope").unwrap_err(),
        DidWebError::UnknownKid(_)
    ));
    let foreign = format!("did:web:b.example#{}", key.thumbprint());
    assert!(matches!(
        doc.find_key(&foreign).unwrap_err(),
        DidWebError::KidOfAnotherDid { .. }
    ));
    assert!(matches!(
        doc.resolve(did, "did:web:a.example#nope").unwrap_err(),
        ResolveError::UnknownKid(_)
    ));
    assert!(matches!(
        doc.resolve("did:web:b.example", &foreign).unwrap_err(),
        ResolveError::WrongIssuer { .. }
    ));
}

#[test]
fn key_not_listed_as_assertion_method_cannot_sign_credentials() {
    let did = "did:web:a.example";
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap().public_jwk();
    let mut doc = did_document(did, std::slice::from_ref(&key));
    doc["assertionMethod"] = json!([]);
    let doc = DidDocument::parse(&doc, did).unwrap();
    let kid = method_id(did, &key);
    assert!(doc.find_key(&kid).is_ok());
    assert!(matches!(
        doc.assertion_key(&kid).unwrap_err(),
        DidWebError::NotAssertionMethod(_)
    ));
    assert!(matches!(
        doc.resolve(did, &kid).unwrap_err(),
        ResolveError::NotAuthorized(_)
    ));
}

#[test]
fn foreign_documents_with_relative_ids_embedded_methods_and_legacy_type_parse() {
    let did = "did:web:b.example";
    let key = SigningKey::generate(Algorithm::ES256).unwrap().public_jwk();
    let doc = json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "verificationMethod": [
            {"id": "#key-1", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": key.to_json()},
            {"id": "#mk", "type": "Multikey", "controller": did, "publicKeyMultibase": "z6Mk"}
        ],
        "assertionMethod": ["#key-1", {
            "id": "did:web:b.example#embedded", "type": "JsonWebKey", "controller": did,
            "publicKeyJwk": key.to_json()
        }]
    });
    let doc = DidDocument::parse(&doc, did).unwrap();
    assert_eq!(doc.keys().count(), 2);
    assert!(doc.assertion_key("did:web:b.example#key-1").is_ok());
    assert!(doc.assertion_key("did:web:b.example#embedded").is_ok());
    assert!(matches!(
        doc.find_key("did:web:b.example#mk").unwrap_err(),
        DidWebError::UnknownKid(_)
    ));
}

#[test]
fn method_with_foreign_controller_bad_key_or_duplicate_id_is_refused() {
    let did = "did:web:a.example";
    let signer = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let key = signer.public_jwk();
    let mut doc = did_document(did, std::slice::from_ref(&key));
    doc["verificationMethod"][0]["controller"] = json!("did:web:evil.example");
    assert!(matches!(
        DidDocument::parse(&doc, did).unwrap_err(),
        DidWebError::ControllerMismatch(_)
    ));

    let mut doc = did_document(did, std::slice::from_ref(&key));
    let private: serde_json::Value = serde_json::from_str(&signer.to_private_jwk_json()).unwrap();
    doc["verificationMethod"][0]["publicKeyJwk"] = private;
    assert!(matches!(
        DidDocument::parse(&doc, did).unwrap_err(),
        DidWebError::InvalidKey {
            source: KeyError::PrivateMemberInPublicKey("d"),
            ..
        }
    ));

    let doc = did_document(did, &[key.clone(), key]);
    assert!(matches!(
        DidDocument::parse(&doc, did).unwrap_err(),
        DidWebError::DuplicateKeyId(_)
    ));

    assert!(matches!(
        DidDocument::parse(&json!([1]), did).unwrap_err(),
        DidWebError::Malformed(_)
    ));
}

#[test]
fn jwks_round_trip_skips_unknown_key_types_and_refuses_private_keys() {
    let a = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let b = SigningKey::generate(Algorithm::ES256).unwrap();
    let set = Jwks::new(vec![a.public_jwk(), b.public_jwk()]);
    let parsed = Jwks::from_json(&set.to_json()).unwrap();
    assert_eq!(parsed.keys().len(), 2);
    assert!(
        parsed
            .find(&b.thumbprint())
            .unwrap()
            .same_key(&b.public_jwk())
    );
    assert!(matches!(
        parsed.find("nope").unwrap_err(),
        DidWebError::UnknownKid(_)
    ));

    // RFC 7517 §5: keys of a type we do not understand are ignored.
    let mut v = set.to_json();
    v["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa"}));
    assert_eq!(Jwks::from_json(&v).unwrap().keys().len(), 2);

    // A private key in a JWKS rejects the whole set.
    let mut v = set.to_json();
    let private: serde_json::Value = serde_json::from_str(&a.to_private_jwk_json()).unwrap();
    v["keys"].as_array_mut().unwrap().push(private);
    assert!(matches!(
        Jwks::from_json(&v).unwrap_err(),
        DidWebError::InvalidKey {
            source: KeyError::PrivateMemberInPublicKey("d"),
            ..
        }
    ));

    // Duplicate kid.
    let dup = json!({"keys": [a.public_jwk().to_json(), a.public_jwk().to_json()]});
    assert!(matches!(
        Jwks::from_json(&dup).unwrap_err(),
        DidWebError::DuplicateKeyId(_)
    ));
    assert!(matches!(
        Jwks::from_json(&json!({"keys": 1})).unwrap_err(),
        DidWebError::Malformed(_)
    ));
}

#[test]
fn v5_jwt_vc_issuer_metadata_example_from_the_spec_parses() {
    // SD-JWT VC -18 §3.3, "Example Metadata with a JSON Web Key Set".
    let md = json!({
       "issuer":"https://example.com",
       "jwks":{
          "keys":[
             {
                "kid":"doc-signer-05-25-2022",
                "kty": "EC", "crv": "P-256",
                "x": "b28d4MwZMjw8-00CG4xfnn9SLMVMM19SlqZpVb_uNtQ",
                "y": "Xv5zWwuoaTgdS6hV43yI6gBwTnjukmFQQnJ_kCxzqk8"
             },
             {
                "kid":"doc-signer-06-05-2025",
                "kty": "EC", "crv": "P-256",
                "x":"DfjUx4WHBds61vGbqUQhsy3FGX13fAS13QWh2EHIkX8",
                "y":"NfqJt9Kp0EA93xq9ysO80DRZ_hCGlISz-pYLgv4RFvg"
             }
          ]
       }
    });
    let parsed = JwtVcIssuerMetadata::from_json(&md, "https://example.com").unwrap();
    let JwksSource::Inline(j) = &parsed.jwks else {
        panic!("expected inline keys")
    };
    assert_eq!(j.keys().len(), 2);
    let k = parsed
        .resolve("https://example.com", "doc-signer-06-05-2025")
        .unwrap();
    assert_eq!(k.kid(), Some("doc-signer-06-05-2025"));
    assert!(matches!(
        parsed.resolve("https://other.example", "doc-signer-06-05-2025"),
        Err(ResolveError::WrongIssuer { .. })
    ));

    // The `jwks_uri` form.
    let md = json!({"issuer": "https://example.com", "jwks_uri": "https://jwt-vc-issuer.example.com/my_public_keys.jwks"});
    let parsed = JwtVcIssuerMetadata::from_json(&md, "https://example.com").unwrap();
    assert!(matches!(parsed.jwks, JwksSource::Uri(ref u) if u.ends_with("my_public_keys.jwks")));
}

#[test]
fn v5_issuer_metadata_for_another_issuer_is_refused() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap().public_jwk();
    let md = JwtVcIssuerMetadata::new("https://a.example", vec![key]).to_json();
    let err = JwtVcIssuerMetadata::from_json(&md, "https://a.example/tenant").unwrap_err();
    assert!(matches!(err, DidWebError::IssuerMismatch { .. }));
}

#[test]
fn v5_issuer_metadata_needs_exactly_one_key_source() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap().public_jwk();
    let jwks = Jwks::new(vec![key]).to_json();
    let both =
        json!({"issuer": "https://a.example", "jwks": jwks, "jwks_uri": "https://a.example/jwks"});
    assert!(matches!(
        JwtVcIssuerMetadata::from_json(&both, "https://a.example").unwrap_err(),
        DidWebError::JwksSourceAmbiguous
    ));
    let neither = json!({"issuer": "https://a.example"});
    assert!(matches!(
        JwtVcIssuerMetadata::from_json(&neither, "https://a.example").unwrap_err(),
        DidWebError::JwksSourceAmbiguous
    ));
}

#[test]
fn v5_well_known_url_inserts_between_host_and_path() {
    // SD-JWT VC -18 §3.1 examples.
    assert_eq!(
        JwtVcIssuerMetadata::well_known_url("https://example.com")
            .unwrap()
            .as_str(),
        "https://example.com/.well-known/jwt-vc-issuer"
    );
    assert_eq!(
        JwtVcIssuerMetadata::well_known_url("https://example.com/tenant/1234")
            .unwrap()
            .as_str(),
        "https://example.com/.well-known/jwt-vc-issuer/tenant/1234"
    );
    assert_eq!(
        JwtVcIssuerMetadata::well_known_url("https://example.com/tenant/1234/")
            .unwrap()
            .as_str(),
        "https://example.com/.well-known/jwt-vc-issuer/tenant/1234"
    );
    for bad in [
        "http://example.com",
        "https://example.com/?a=b",
        "https://example.com/#x",
    ] {
        assert!(matches!(
            JwtVcIssuerMetadata::well_known_url(bad).unwrap_err(),
            DidWebError::InvalidUrl(_)
        ));
    }
}
