//! Tests of CIMD document validation (`parse_fetched`) and the document builder.
//! Rules: C1, C3, C4, C5, C8, C10, C12, C15, D1, M2, M7, E1, E3 (CONFORMANCE.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{CLIENT_ID, bytes, ed25519_jwk, p256_jwk, valid_doc};
use crossauthz_core::cimd::{
    AuthMethod, CimdError, CimdLimits, ClientMetadataDocument, KeySource, RedirectUriError,
    all_redirects_are_localhost, check_redirect_uri, parse_fetched, redirect_uri_matches,
};
use crossauthz_core::client_id::{ClientIdError, ClientIdUrl, HttpsUrlError};
use crossauthz_core::jwk_policy::{JwkPolicyError, JwksError, SigningAlg};
use crossauthz_core::scope::{ScopeError, ScopeSet};
use serde_json::{Value, json};

fn parse(doc: &Value) -> Result<crossauthz_core::ValidatedDocument, CimdError> {
    parse_fetched(&bytes(doc), CLIENT_ID, &CimdLimits::default())
}

fn with(mut doc: Value, name: &str, value: Value) -> Value {
    doc.as_object_mut().unwrap().insert(name.to_owned(), value);
    doc
}

fn without(mut doc: Value, name: &str) -> Value {
    doc.as_object_mut().unwrap().shift_remove(name);
    doc
}

#[test]
fn valid_document_is_accepted_with_its_typed_meaning() {
    let v = parse(&valid_doc()).unwrap();
    assert_eq!(v.client_id.as_str(), CLIENT_ID);
    assert_eq!(v.auth_method, AuthMethod::PrivateKeyJwt);
    assert!(!v.auth_method_defaulted);
    assert!(matches!(&v.keys, Some(KeySource::Jwks { keys, .. }) if keys.len() == 2));
    assert_eq!(
        v.scope,
        Some(ScopeSet::parse("logs:read logs:write").unwrap())
    );
    assert_eq!(v.grant_types, ["authorization_code", "client_credentials"]);
    assert!(!v.localhost_only_redirects);
    assert_eq!(
        v.document.vc_jwt.as_deref(),
        Some("eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0.c2ln")
    );
}

// C12 (CIMD §6.6): the recommended cap is 5 KB = 5120 bytes.
#[test]
fn c12_document_larger_than_5kb_is_refused() {
    let base = bytes(&with(valid_doc(), "pad", json!("")));
    let fill = 5120 - base.len();
    let exact = with(valid_doc(), "pad", json!("x".repeat(fill)));
    assert_eq!(bytes(&exact).len(), 5120);
    assert!(parse(&exact).is_ok(), "exactly 5120 bytes is accepted");
    let over = with(valid_doc(), "pad", json!("x".repeat(fill + 1)));
    assert_eq!(
        parse(&over),
        Err(CimdError::TooLarge {
            size: 5121,
            max: 5120
        })
    );
    assert_eq!(CimdLimits::default().max_bytes, 5120);
    let tight = CimdLimits { max_bytes: 100 };
    assert!(matches!(
        parse_fetched(&bytes(&valid_doc()), CLIENT_ID, &tight),
        Err(CimdError::TooLarge { max: 100, .. })
    ));
}

// C3 (CIMD §4.1): the body is a JSON object.
#[test]
fn c3_body_must_be_a_json_object() {
    let limits = CimdLimits::default();
    assert_eq!(
        parse_fetched(b"[1,2]", CLIENT_ID, &limits),
        Err(CimdError::NotAnObject)
    );
    assert_eq!(
        parse_fetched(b"\"https://a.example/x\"", CLIENT_ID, &limits),
        Err(CimdError::NotAnObject)
    );
    assert!(matches!(
        parse_fetched(b"<html>", CLIENT_ID, &limits),
        Err(CimdError::NotJson(_))
    ));
    assert!(matches!(
        parse_fetched(b"{\"client_id\":1} trailing", CLIENT_ID, &limits),
        Err(CimdError::NotJson(_))
    ));
}

// Two `client_id` members: parsers disagree on which wins, so refuse.
#[test]
fn c3_duplicate_members_are_refused() {
    let text = format!(
        r#"{{"client_id":"https://evil.example/x","client_id":"{CLIENT_ID}","client_name":"n","grant_types":["client_credentials"]}}"#
    );
    assert!(matches!(
        parse_fetched(text.as_bytes(), CLIENT_ID, &CimdLimits::default()),
        Err(CimdError::DuplicateMember(_))
    ));
}

// C3: `client_id` MUST equal the fetched URL by simple string comparison (RFC 3986 §6.2.1).
#[test]
fn c3_client_id_must_match_fetched_url_exactly() {
    for other in [
        "https://A.example/agents/42/client-metadata.json",
        "https://a.example:443/agents/42/client-metadata.json",
        "https://a.example/agents/42/client-metadata.json/",
        "https://a.example/agents/42/client-metadata.jso",
    ] {
        let doc = with(valid_doc(), "client_id", json!(other));
        assert_eq!(
            parse(&doc),
            Err(CimdError::ClientIdMismatch {
                fetched: CLIENT_ID.to_owned(),
                found: other.to_owned()
            }),
            "{other}"
        );
    }
    assert_eq!(
        parse(&without(valid_doc(), "client_id")),
        Err(CimdError::MissingMember {
            member: "client_id"
        })
    );
}

// C1 also applies to the document's client_id (equal to the fetched URL).
#[test]
fn c1_client_id_rules_apply_to_the_document() {
    for (url, err) in [
        ("https://a.example/", ClientIdError::MissingPath),
        (
            "https://a.example/x/../y",
            ClientIdError::DotSegment {
                segment: "..".to_owned(),
            },
        ),
        ("https://a.example/x?q=1", ClientIdError::Query),
        (
            "http://a.example/x",
            ClientIdError::NotHttps {
                scheme: "http".to_owned(),
            },
        ),
    ] {
        let doc = with(valid_doc(), "client_id", json!(url));
        assert_eq!(
            parse_fetched(&bytes(&doc), url, &CimdLimits::default()),
            Err(CimdError::InvalidClientId(err)),
            "{url}"
        );
    }
}

// C4 (CIMD §4.1): `client_secret` and `client_secret_expires_at` MUST NOT be used.
#[test]
fn c4_secret_members_are_refused() {
    for member in ["client_secret", "client_secret_expires_at"] {
        let doc = with(valid_doc(), member, json!("s3cr3t"));
        assert_eq!(parse(&doc), Err(CimdError::SecretMember { member }));
    }
}

// C4: no shared-secret token endpoint auth methods.
#[test]
fn c4_symmetric_auth_methods_are_refused() {
    for method in [
        "client_secret_basic",
        "client_secret_post",
        "client_secret_jwt",
    ] {
        let doc = without(
            with(valid_doc(), "token_endpoint_auth_method", json!(method)),
            "jwks",
        );
        assert_eq!(
            parse(&doc),
            Err(CimdError::SymmetricAuthMethod {
                method: method.to_owned()
            }),
            "{method}"
        );
    }
    let doc = with(
        valid_doc(),
        "token_endpoint_auth_method",
        json!("tls_client_auth"),
    );
    assert_eq!(
        parse(&doc),
        Err(CimdError::UnsupportedAuthMethod {
            method: "tls_client_auth".to_owned()
        })
    );
}

// C5 / E1: extra members are legal and kept as received.
#[test]
fn c5_unknown_members_and_vc_jwt_are_kept() {
    let extra = json!({"nested": {"a": [1, 2.5, "x", null, true]}, "n": 18446744073709551615u64});
    let doc = with(
        with(valid_doc(), "x_vendor", extra.clone()),
        "dc+sd-jwt",
        json!("eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0.c2ln~WyJzYWx0IiwiYSIsMV0~"),
    );
    let v = parse(&doc).unwrap();
    assert_eq!(v.document.extra.get("x_vendor"), Some(&extra));
    assert!(v.document.dc_sd_jwt.is_some());
    // Writing the document back gives the same JSON.
    let rewritten: Value = serde_json::from_slice(&v.document.to_json_bytes().unwrap()).unwrap();
    assert_eq!(rewritten, doc);
}

// C10 (CIMD §6.2): private_key_jwt needs jwks or jwks_uri.
#[test]
fn c10_private_key_jwt_requires_keys() {
    let doc = without(valid_doc(), "jwks");
    assert_eq!(parse(&doc), Err(CimdError::MissingKeys));
    let doc = with(doc, "jwks_uri", json!("https://a.example/jwks.json"));
    let v = parse(&doc).unwrap();
    assert!(
        matches!(&v.keys, Some(KeySource::JwksUri(u)) if u.as_str() == "https://a.example/jwks.json")
    );
    let doc = with(doc, "jwks_uri", json!("http://a.example/jwks.json"));
    assert_eq!(
        parse(&doc),
        Err(CimdError::JwksUri(HttpsUrlError::NotHttps))
    );
}

// D1 (RFC 7591 §2): jwks and jwks_uri MUST NOT both be present.
#[test]
fn d1_jwks_and_jwks_uri_together_are_refused() {
    let doc = with(
        valid_doc(),
        "jwks_uri",
        json!("https://a.example/jwks.json"),
    );
    assert_eq!(parse(&doc), Err(CimdError::BothJwksAndJwksUri));
}

// C15: token_endpoint_auth_method omitted. Choice: treat as `none` when no keys are published;
// reject as ambiguous when jwks/jwks_uri are present.
#[test]
fn c15_omitted_auth_method_without_keys_is_treated_as_none() {
    let doc = without(without(valid_doc(), "token_endpoint_auth_method"), "jwks");
    let v = parse(&doc).unwrap();
    assert_eq!(v.auth_method, AuthMethod::None);
    assert!(v.auth_method_defaulted);
    assert_eq!(v.keys, None);
}

#[test]
fn c15_omitted_auth_method_with_keys_is_rejected_as_ambiguous() {
    let doc = without(valid_doc(), "token_endpoint_auth_method");
    assert_eq!(parse(&doc), Err(CimdError::AmbiguousAuthMethod));
    let doc = with(
        without(doc, "jwks"),
        "jwks_uri",
        json!("https://a.example/jwks.json"),
    );
    assert_eq!(parse(&doc), Err(CimdError::AmbiguousAuthMethod));
}

#[test]
fn c15_explicit_none_is_a_public_client() {
    let doc = without(
        with(valid_doc(), "token_endpoint_auth_method", json!("none")),
        "jwks",
    );
    let v = parse(&doc).unwrap();
    assert_eq!(v.auth_method, AuthMethod::None);
    assert!(!v.auth_method_defaulted);
}

// Keys in the document pass the JWK policy (P5: EdDSA/ES256 public keys only).
#[test]
fn p5_document_jwks_must_pass_the_jwk_policy() {
    let mut leaked = ed25519_jwk("k1");
    leaked["d"] = json!("private");
    let doc = with(valid_doc(), "jwks", json!({"keys": [leaked]}));
    assert_eq!(
        parse(&doc),
        Err(CimdError::Jwks(JwksError::Key {
            index: 0,
            source: JwkPolicyError::PrivateMember {
                name: "d".to_owned()
            }
        }))
    );
    let doc = with(valid_doc(), "jwks", json!({"keys": []}));
    assert_eq!(parse(&doc), Err(CimdError::Jwks(JwksError::EmptyKeySet)));
    let doc = with(
        valid_doc(),
        "jwks",
        json!({"keys": [ed25519_jwk("a"), p256_jwk("a")]}),
    );
    assert!(matches!(
        parse(&doc),
        Err(CimdError::Jwks(JwksError::DuplicateKid { .. }))
    ));
    let doc = with(
        valid_doc(),
        "token_endpoint_auth_signing_alg",
        json!("none"),
    );
    assert_eq!(
        parse(&doc),
        Err(CimdError::SigningAlg(JwkPolicyError::AlgNone))
    );
    let doc = with(
        valid_doc(),
        "token_endpoint_auth_signing_alg",
        json!("HS256"),
    );
    assert!(matches!(
        parse(&doc),
        Err(CimdError::SigningAlg(JwkPolicyError::SymmetricAlg { .. }))
    ));
}

// M2: the document MUST contain client_name.
#[test]
fn m2_client_name_is_required() {
    assert_eq!(
        parse(&without(valid_doc(), "client_name")),
        Err(CimdError::MissingMember {
            member: "client_name"
        })
    );
    assert_eq!(
        parse(&with(valid_doc(), "client_name", json!(""))),
        Err(CimdError::MissingMember {
            member: "client_name"
        })
    );
}

// M2 + RFC 7591 §2: grant_types defaults to ["authorization_code"], which needs redirect_uris.
#[test]
fn m2_redirect_uris_required_for_authorization_code() {
    let doc = without(valid_doc(), "redirect_uris");
    assert_eq!(parse(&doc), Err(CimdError::MissingRedirectUris));
    let doc = without(doc, "grant_types");
    assert_eq!(
        parse(&doc),
        Err(CimdError::MissingRedirectUris),
        "absent grant_types defaults to authorization_code"
    );
    let doc = with(doc, "redirect_uris", json!([]));
    assert_eq!(parse(&doc), Err(CimdError::MissingRedirectUris));
    let doc = with(doc, "grant_types", json!(["client_credentials"]));
    let v = parse(&doc).unwrap();
    assert_eq!(v.grant_types, ["client_credentials"]);
}

#[test]
fn known_members_must_have_the_right_json_type() {
    for (member, value) in [
        ("redirect_uris", json!("https://a.example/cb")),
        ("redirect_uris", json!([1])),
        ("client_name", json!(null)),
        ("jwks", json!([ed25519_jwk("k")])),
        ("vc+jwt", json!({"a": 1})),
        ("scope", json!(["a"])),
    ] {
        let doc = with(valid_doc(), member, value);
        assert!(
            matches!(parse(&doc), Err(CimdError::WrongMemberType { member: m }) if m == member),
            "{member}"
        );
    }
}

// M7: redirect URIs are https or loopback http, absolute, without fragment.
#[test]
fn m7_redirect_uris_must_be_https_or_loopback_http() {
    for ok in [
        "https://a.example/cb",
        "https://a.example:8443/cb?x=1",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:49152/cb",
        "http://[::1]:8080/cb",
        "http://localhost:3000/callback",
    ] {
        assert!(check_redirect_uri(ok).is_ok(), "{ok}");
    }
    for (bad, reason) in [
        ("http://a.example/cb", RedirectUriError::NotHttpsOrLoopback),
        ("http://127.0.0.2/cb", RedirectUriError::NotHttpsOrLoopback),
        (
            "http://localhost.evil.example/cb",
            RedirectUriError::NotHttpsOrLoopback,
        ),
        ("com.example.app:/cb", RedirectUriError::NotHttpsOrLoopback),
        ("javascript:alert(1)", RedirectUriError::NotHttpsOrLoopback),
        ("https://a.example/cb#", RedirectUriError::Fragment),
        ("https://a.example/cb#x", RedirectUriError::Fragment),
        ("/cb", RedirectUriError::NotAbsolute),
        ("https://a.example/c b", RedirectUriError::NotAbsolute),
        ("https://u@a.example/cb", RedirectUriError::Userinfo),
    ] {
        assert_eq!(check_redirect_uri(bad), Err(reason.clone()), "{bad}");
        let doc = with(valid_doc(), "redirect_uris", json!([bad]));
        assert_eq!(
            parse(&doc),
            Err(CimdError::RedirectUri {
                uri: bad.to_owned(),
                reason
            }),
            "{bad}"
        );
    }
}

// M7: the AS SHOULD warn on localhost-only documents.
#[test]
fn m7_localhost_only_documents_are_flagged() {
    let doc = with(
        valid_doc(),
        "redirect_uris",
        json!([
            "http://127.0.0.1:9000/cb",
            "http://localhost/cb",
            "http://[::1]/cb"
        ]),
    );
    let v = parse(&doc).unwrap();
    assert!(v.localhost_only_redirects);
    assert!(all_redirects_are_localhost(&v.document));
    let mixed = parse(&valid_doc()).unwrap();
    assert!(!all_redirects_are_localhost(&mixed.document));
    let none = parse(&with(
        without(valid_doc(), "redirect_uris"),
        "grant_types",
        json!(["client_credentials"]),
    ))
    .unwrap();
    assert!(!all_redirects_are_localhost(&none.document));
}

// C8 (RFC 9700): the redirect_uri of a request must EXACTLY match a registered one.
#[test]
fn c8_redirect_uri_match_is_exact() {
    let v = parse(&valid_doc()).unwrap();
    assert!(redirect_uri_matches(&v.document, "https://a.example/cb"));
    assert!(redirect_uri_matches(
        &v.document,
        "http://127.0.0.1:8765/cb"
    ));
    for near in [
        "https://a.example/cb/",
        "https://A.example/cb",
        "https://a.example:443/cb",
        "https://a.example/cb?x=1",
        "https://a.example/CB",
        "http://127.0.0.1:8766/cb",
    ] {
        assert!(!redirect_uri_matches(&v.document, near), "{near}");
    }
}

#[test]
fn c11_document_urls_must_be_https() {
    let doc = with(valid_doc(), "logo_uri", json!("http://a.example/logo.png"));
    assert_eq!(
        parse(&doc),
        Err(CimdError::DocumentUrl {
            member: "logo_uri",
            reason: HttpsUrlError::NotHttps
        })
    );
    let doc = with(valid_doc(), "client_uri", json!("https://a.example/#about"));
    assert_eq!(
        parse(&doc),
        Err(CimdError::DocumentUrl {
            member: "client_uri",
            reason: HttpsUrlError::Fragment
        })
    );
}

#[test]
fn scope_member_must_be_an_rfc6749_scope_string() {
    let doc = with(valid_doc(), "scope", json!("a  b"));
    assert_eq!(
        parse(&doc),
        Err(CimdError::Scope(ScopeError::EmptyToken { index: 2 }))
    );
}

// E2 groundwork: the vc+jwt member must at least be a compact JWS.
#[test]
fn e2_malformed_vc_jwt_member_is_refused() {
    for bad in ["", "a.b", "a.b.c.d", "a..c", "a.b.c=", "a.b$.c"] {
        let doc = with(valid_doc(), "vc+jwt", json!(bad));
        assert_eq!(
            parse(&doc),
            Err(CimdError::MalformedCredential { member: "vc+jwt" }),
            "{bad:?}"
        );
    }
    let doc = with(valid_doc(), "dc+sd-jwt", json!("a.b.c"));
    assert_eq!(
        parse(&doc),
        Err(CimdError::MalformedCredential {
            member: "dc+sd-jwt"
        })
    );
}

#[test]
fn builder_produces_a_document_that_passes_every_rule() {
    let id = ClientIdUrl::parse(CLIENT_ID).unwrap();
    let doc = ClientMetadataDocument::builder(id.clone(), "Agent 42")
        .grant_types(["client_credentials"])
        .private_key_jwt(json!({"keys": [ed25519_jwk("k1")]}), SigningAlg::EdDSA)
        .scope(&ScopeSet::parse("logs:read").unwrap())
        .client_uri("https://a.example/")
        .software("crossauthz", "0.1.0")
        .vc_jwt("eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJ4In0.c2ln")
        .extension("x_tier", json!({"level": 2}))
        .build()
        .unwrap();
    let served = doc.to_json_bytes().unwrap();
    let v = parse_fetched(&served, CLIENT_ID, &CimdLimits::default()).unwrap();
    assert_eq!(v.auth_method, AuthMethod::PrivateKeyJwt);
    assert_eq!(v.document, doc);

    let public = ClientMetadataDocument::builder(id, "Public MCP client")
        .redirect_uri("http://127.0.0.1:7777/cb")
        .build_validated(&CimdLimits::default())
        .unwrap();
    assert_eq!(public.auth_method, AuthMethod::None);
    assert!(
        !public.auth_method_defaulted,
        "the builder states `none` explicitly"
    );
    assert!(public.localhost_only_redirects);
}

#[test]
fn builder_refuses_what_the_validator_refuses() {
    let id = ClientIdUrl::parse(CLIENT_ID).unwrap();
    // authorization_code (the default) without redirect URIs.
    assert_eq!(
        ClientMetadataDocument::builder(id.clone(), "x").build(),
        Err(CimdError::MissingRedirectUris)
    );
    // An extension that collides with a known member.
    assert!(matches!(
        ClientMetadataDocument::builder(id.clone(), "x")
            .redirect_uri("https://a.example/cb")
            .extension("client_id", json!("https://evil.example/x"))
            .build(),
        Err(CimdError::DuplicateMember(_))
    ));
    // A secret smuggled in as an extension.
    assert_eq!(
        ClientMetadataDocument::builder(id.clone(), "x")
            .redirect_uri("https://a.example/cb")
            .extension("client_secret", json!("s"))
            .build(),
        Err(CimdError::SecretMember {
            member: "client_secret"
        })
    );
    // E3: the whole document, credential included, must stay within 5 KB.
    let huge = format!("eyJhbGciOiJFUzI1NiJ9.{}.c2ln", "A".repeat(6000));
    assert!(matches!(
        ClientMetadataDocument::builder(id, "x")
            .redirect_uri("https://a.example/cb")
            .vc_jwt(huge)
            .build(),
        Err(CimdError::TooLarge { .. })
    ));
}
