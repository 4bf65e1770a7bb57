//! Every status-list decoder survives arbitrary input without panicking: `lst` (T1/T2),
//! `encodedList` (B2), Status List Token claims and compact JWS (T2/T5), Bitstring entries and
//! list credentials (B1/B2). Errors are fine; panics are not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeZone, Utc};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_credentials::status::{
    Bitstring, BitstringStatusListCredential, BitstringStatusListEntry, StatusBits, StatusList,
    StatusListReference, StatusListTokenClaims, StatusSize, check_entry, verify_status_list_token,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn bits() -> impl Strategy<Value = StatusBits> {
    prop_oneof![
        Just(StatusBits::One),
        Just(StatusBits::Two),
        Just(StatusBits::Four),
        Just(StatusBits::Eight)
    ]
}

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("sub".to_owned()),
                    Just("iat".to_owned()),
                    Just("exp".to_owned()),
                    Just("ttl".to_owned()),
                    Just("status_list".to_owned()),
                    Just("bits".to_owned()),
                    Just("lst".to_owned()),
                    ".{0,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lst_random_strings_never_panic(b in bits(), s in ".{0,200}") {
        let _ = StatusList::from_lst(b, &s);
    }

    #[test]
    fn lst_random_bytes_never_panic(b in bits(), raw in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = StatusList::from_lst_with_limit(b, &URL_SAFE_NO_PAD.encode(&raw), 1 << 16);
        // Bytes after a valid zlib header reach the inflater itself.
        let mut z = vec![0x78, 0xda];
        z.extend_from_slice(&raw);
        let _ = StatusList::from_lst_with_limit(b, &URL_SAFE_NO_PAD.encode(&z), 1 << 16);
    }

    #[test]
    fn status_list_get_set_never_panic(b in bits(), len in 0usize..64, idx in any::<u64>(), v in any::<u8>()) {
        let mut l = StatusList::new(b, len);
        let _ = l.get(idx);
        let _ = l.set(idx, v);
        let _ = l.status(idx);
    }

    #[test]
    fn encoded_list_random_strings_never_panic(s in ".{0,200}") {
        let _ = Bitstring::decode(&s);
        let _ = Bitstring::decode(&format!("u{s}"));
    }

    #[test]
    fn encoded_list_random_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Bitstring::decode_with_limit(&format!("u{}", URL_SAFE_NO_PAD.encode(&raw)), 1 << 16);
        let mut gz = vec![0x1f, 0x8b, 0x08, 0x00];
        gz.extend_from_slice(&raw);
        let _ = Bitstring::decode_with_limit(&format!("u{}", URL_SAFE_NO_PAD.encode(&gz)), 1 << 16);
    }

    #[test]
    fn bitstring_get_set_never_panic(nbits in 0u64..512, idx in any::<u64>(), size in 0u64..12, v in any::<u8>()) {
        let mut b = Bitstring::new(nbits);
        if let Ok(size) = StatusSize::new(size) {
            let _ = b.get(idx, size);
            let _ = b.set(idx, size, v);
        }
    }

    #[test]
    fn token_claims_random_json_never_panic(v in json_value()) {
        let _ = StatusListTokenClaims::from_json(&v);
    }

    #[test]
    fn entry_and_list_credential_random_json_never_panic(v in json_value(), w in json_value()) {
        let e = BitstringStatusListEntry::from_json(&v);
        let c = BitstringStatusListCredential::from_json(&w);
        if let (Ok(e), Ok(c)) = (e, c) {
            let _ = check_entry(&e, &c);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random compact-JWS-looking strings and random signed claims into the token verifier.
    #[test]
    fn status_list_token_random_input_never_panics(s in "[A-Za-z0-9_.-]{0,300}", v in json_value()) {
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let reference = StatusListReference { idx: 0, uri: "https://s.example/1".into() };
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let _ = verify_status_list_token(&s, &key.public_jwk(), &reference, now);
        if v.is_object() {
            let jws = crossauthz_credentials::jose::sign_compact(&key, "statuslist+jwt", None, &v).unwrap();
            let _ = verify_status_list_token(&jws, &key.public_jwk(), &reference, now);
        }
    }
}

fn valid_pair() -> (Value, Value) {
    let url = "https://s.example/list/1";
    let mut b = Bitstring::for_entries(0, StatusSize::ONE);
    b.set_bit(5, true).unwrap();
    let vc = BitstringStatusListCredential::new(
        url,
        "did:web:s.example",
        crossauthz_credentials::status::StatusPurpose::Revocation,
        &b,
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    );
    let entry = BitstringStatusListEntry::new(
        crossauthz_credentials::status::StatusPurpose::Revocation,
        5,
        url,
    );
    (entry.to_json(), vc.to_json())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A valid entry and list with one member replaced by random JSON (or a random string in
    /// `encodedList` / `statusListIndex`): checking never panics.
    #[test]
    fn mutated_entry_and_list_never_panic(
        which in 0usize..9,
        v in json_value(),
        s in "[A-Za-z0-9_-]{0,80}",
    ) {
        let (mut entry, mut vc) = valid_pair();
        match which {
            0 => entry["statusListIndex"] = v,
            1 => entry["statusListIndex"] = Value::from(s),
            2 => entry["statusSize"] = v,
            3 => entry["statusMessage"] = v,
            4 => vc["credentialSubject"]["encodedList"] = Value::from(format!("u{s}")),
            5 => vc["credentialSubject"]["statusPurpose"] = v,
            6 => vc["credentialSubject"]["ttl"] = v,
            7 => vc["validUntil"] = v,
            _ => vc["type"] = v,
        }
        if let (Ok(e), Ok(c)) = (
            BitstringStatusListEntry::from_json(&entry),
            BitstringStatusListCredential::from_json(&vc),
        ) {
            let _ = check_entry(&e, &c);
        }
    }
}
