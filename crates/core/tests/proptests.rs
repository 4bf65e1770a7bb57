//! Property tests: every parser in the crate never panics on arbitrary input, and accepted values
//! keep their invariants (C1, C3, C11, C12, RFC 6749 §3.3, JWK policy, profile parsers).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::{CLIENT_ID, bytes, valid_doc};
use crossauthz_core::cimd::{CimdLimits, check_redirect_uri, parse_fetched};
use crossauthz_core::client_id::{ClientIdUrl, https_url};
use crossauthz_core::jwk_policy::{check_jwk, check_jwks};
use crossauthz_core::net::{AllowLoopback, check_address, forbidden_reason};
use crossauthz_core::profile::{AgentClaims, from_sd_jwt_vc_claims, from_vc_document};
use crossauthz_core::scope::{Scope, ScopeSet};
use crossauthz_core::strict_json;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const KEYS: &[&str] = &[
    "kty",
    "crv",
    "x",
    "y",
    "d",
    "k",
    "alg",
    "use",
    "key_ops",
    "kid",
    "keys",
    "client_id",
    "client_name",
    "redirect_uris",
    "grant_types",
    "jwks",
    "jwks_uri",
    "vc+jwt",
    "scope",
    "@context",
    "type",
    "issuer",
    "validFrom",
    "validUntil",
    "credentialSubject",
    "credentialStatus",
    "agentType",
    "authorizedScopes",
    "issuerDomain",
    "trustSignals",
    "trustScore",
    "vct",
    "iss",
    "sub",
    "exp",
    "nbf",
    "cnf",
    "jwk",
    "status",
    "status_list",
    "idx",
    "uri",
    "_sd",
    "...",
];

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-zA-Z_@#.+-]{0,10}",
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::String),
        proptest::sample::select(vec![
            "OKP",
            "EC",
            "RSA",
            "oct",
            "Ed25519",
            "P-256",
            "EdDSA",
            "ES256",
            "none",
            "HS256",
            "sig",
            "verify",
            "tool-agent",
            "https://a.example/x",
            CLIENT_ID,
            "https://www.w3.org/ns/credentials/v2",
            "did:web:a.example",
            "2026-01-01T00:00:00Z",
            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((arb_key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn c1_client_id_parse_never_panics(raw in ".{0,80}") {
        let _ = ClientIdUrl::parse(&raw);
        let _ = https_url(&raw);
        let _ = check_redirect_uri(&raw);
    }

    // Accepted client_ids keep every C1 invariant on the RAW string, and the URL parser did not
    // have to remove dot segments.
    #[test]
    fn c1_accepted_client_ids_satisfy_the_rules(
        raw in "(https|HTTPS|http)://[a-zA-Z0-9.:@%\\[\\]-]{0,20}(/[a-zA-Z0-9.%?#@:~_-]{0,8}){0,4}[?#]?"
    ) {
        if let Ok(id) = ClientIdUrl::parse(&raw) {
            prop_assert_eq!(id.as_str(), raw.as_str());
            prop_assert!(!raw.contains('#') && !raw.contains('?'));
            let after = &raw[8..];
            let authority = after.split('/').next().unwrap_or_default();
            prop_assert!(!authority.contains('@'));
            let path = id.url().path();
            prop_assert!(path.len() > 1);
            for seg in path.split('/') {
                let lower = seg.to_ascii_lowercase();
                prop_assert!(seg != "." && seg != ".." && lower != "%2e" && lower != "%2e%2e");
            }
            prop_assert_eq!(id.url().scheme(), "https");
        }
    }

    #[test]
    fn c12_parse_fetched_never_panics_on_random_bytes(body in proptest::collection::vec(any::<u8>(), 0..6000)) {
        let _ = parse_fetched(&body, CLIENT_ID, &CimdLimits::default());
        let _ = strict_json::from_slice(&body);
    }

    #[test]
    fn c12_parse_fetched_never_panics_on_random_json(doc in arb_json()) {
        let _ = parse_fetched(&bytes(&doc), CLIENT_ID, &CimdLimits::default());
    }

    // Replace one member of a valid document with arbitrary JSON: never a panic, and the result
    // is either accepted or refused with a typed error.
    #[test]
    fn c3_mutated_valid_document_never_panics(key in arb_key(), value in arb_json()) {
        let mut doc = valid_doc();
        doc.as_object_mut().unwrap().insert(key, value);
        let _ = parse_fetched(&bytes(&doc), CLIENT_ID, &CimdLimits::default());
    }

    #[test]
    fn scope_parse_never_panics_and_renders_back(s in ".{0,40}") {
        let _ = Scope::parse(&s);
        if let Ok(set) = ScopeSet::parse(&s) {
            prop_assert_eq!(ScopeSet::parse(&set.render()).unwrap(), set);
        }
    }

    #[test]
    fn scope_sets_from_valid_tokens_round_trip(tokens in proptest::collection::vec("[!#-\\[\\]-~]{1,8}", 0..6)) {
        let set = ScopeSet::parse(&tokens.join(" ")).unwrap();
        prop_assert!(set.len() <= tokens.len());
        prop_assert_eq!(ScopeSet::parse(&set.render()).unwrap(), set.clone());
        prop_assert!(set.intersection(&set).is_subset(&set));
        let json = serde_json::to_string(&set).unwrap();
        prop_assert_eq!(serde_json::from_str::<ScopeSet>(&json).unwrap(), set);
    }

    #[test]
    fn jwk_policy_never_panics_on_random_json(v in arb_json()) {
        let _ = check_jwk(&v);
        let _ = check_jwks(&v);
        let _ = check_jwks(&json!({"keys": [v]}));
    }

    #[test]
    fn profile_parsers_never_panic_on_random_json(v in arb_json()) {
        let _ = from_vc_document(&v);
        let _ = from_sd_jwt_vc_claims(&v);
        if let Value::Object(map) = v {
            let _ = AgentClaims::from_claims_object(map);
        }
    }

    // C11: every IPv4-mapped address is forbidden; RFC 1918 is always private; classification
    // never panics.
    #[test]
    fn c11_classifier_invariants(v4 in any::<u32>(), v6 in any::<u128>()) {
        let a = Ipv4Addr::from(v4);
        let _ = forbidden_reason(IpAddr::V6(Ipv6Addr::from(v6)));
        let _ = forbidden_reason(IpAddr::V4(a));
        prop_assert!(check_address(IpAddr::V6(a.to_ipv6_mapped()), AllowLoopback::Yes).is_err());
        if a.is_private() || a.is_loopback() || a.is_link_local() || a.is_multicast()
            || a.is_broadcast() || a.is_documentation() || a.is_unspecified()
        {
            prop_assert!(forbidden_reason(IpAddr::V4(a)).is_some(), "{}", a);
        }
        let ip6 = Ipv6Addr::from(v6);
        if ip6.is_loopback() || ip6.is_unspecified() || ip6.is_multicast() {
            prop_assert!(forbidden_reason(IpAddr::V6(ip6)).is_some(), "{}", ip6);
        }
    }
}
