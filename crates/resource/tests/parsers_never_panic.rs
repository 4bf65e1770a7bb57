//! Every parser of untrusted input in this crate, fed random bytes and strings, returns an error
//! instead of panicking: the `Authorization` header, `aud` comparison, the claims checker and the
//! whole token validator (up to the key lookup, which random input never reaches).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use chrono::DateTime;
use crossauthz_credentials::jose::b64url_encode;
use crossauthz_resource::challenge::bearer_token;
use crossauthz_resource::config::audience_matches;
use crossauthz_resource::token::{ClaimRules, check_claims};
use crossauthz_resource::{KeyCache, ResourceConfig, TokenValidator, fetch};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use url::Url;

fn config() -> ResourceConfig {
    // The AS is a loopback port nobody listens on: nothing here ever connects elsewhere.
    ResourceConfig::new(
        Url::parse("https://mcp.beta.test/mcp").unwrap(),
        vec![Url::parse("https://127.0.0.1:9").unwrap()],
    )
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("https://mcp.beta.test/mcp")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn claims_map() -> impl Strategy<Value = Map<String, Value>> {
    let name = prop_oneof![
        Just("iss".to_owned()),
        Just("aud".to_owned()),
        Just("exp".to_owned()),
        Just("nbf".to_owned()),
        Just("iat".to_owned()),
        Just("client_id".to_owned()),
        Just("scope".to_owned()),
        Just("jti".to_owned()),
        Just("sub".to_owned()),
        ".{0,6}",
    ];
    prop::collection::btree_map(name, json_value(), 0..10)
        .prop_map(|m| m.into_iter().collect::<Map<String, Value>>())
}

proptest! {
    #[test]
    fn authorization_header_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(v) = HeaderValue::from_bytes(&bytes) {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, v);
            let _ = bearer_token(&h);
        }
    }

    #[test]
    fn bearer_prefixed_strings_never_panic(s in "(?i:bearer)[ ]{0,2}.{0,100}") {
        if let Ok(v) = HeaderValue::from_str(&s) {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, v);
            let _ = bearer_token(&h);
        }
    }

    #[test]
    fn audience_comparison_never_panics(s in ".{0,80}") {
        let r = Url::parse("https://mcp.beta.test/mcp").unwrap();
        let _ = audience_matches(&s, &r);
    }

    #[test]
    fn claims_checker_never_panics(claims in claims_map(), now in -100_000_000_000i64..100_000_000_000i64) {
        let rules = ClaimRules::from_config(&config());
        if let Some(now) = DateTime::from_timestamp(now, 0) {
            let _ = check_claims(claims, &rules, now);
        }
    }
}

fn validator() -> &'static TokenValidator {
    static V: std::sync::OnceLock<TokenValidator> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let c = config();
        let keys = KeyCache::new(&c, fetch::client(&c).unwrap());
        TokenValidator::new(&c, keys)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn token_validator_never_panics_on_random_strings(s in ".{0,300}") {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let v = validator();
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        prop_assert!(rt.block_on(v.validate(&s, now)).is_err());
    }

    #[test]
    fn token_validator_never_panics_on_random_jws_parts(
        header in json_value(),
        payload in json_value(),
        sig in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let v = validator();
        let now = DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        let token = format!(
            "{}.{}.{}",
            b64url_encode(header.to_string().as_bytes()),
            b64url_encode(payload.to_string().as_bytes()),
            b64url_encode(&sig)
        );
        prop_assert!(rt.block_on(v.validate(&token, now)).is_err());
    }
}
