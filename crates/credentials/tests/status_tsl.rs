//! IETF Token Status List (draft-ietf-oauth-status-list-20): the spec's examples and test
//! vectors, codec rules T1/T3, and the signed Status List Token rules T2/T5.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use crossauthz_credentials::jose::{self, JoseError};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_credentials::status::compression::DEFAULT_MAX_DECOMPRESSED_BYTES;
use crossauthz_credentials::status::status_list_token::verify_status_list_token_with_resolver;
use crossauthz_credentials::status::{
    STATUS_LIST_JWT_TYP, StatusBits, StatusClaim, StatusList, StatusListJson, StatusListReference,
    StatusListTokenClaims, StatusListTokenError, StatusType, TslError, check_token_status,
    sign_status_list_token, verify_status_list_token,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

const LIST_URI: &str = "https://status.example/lists/1";

fn vector(name: &str) -> Value {
    let text = match name {
        "1" => include_str!("vectors/status/tsl_1bit_2p20.json"),
        "2" => include_str!("vectors/status/tsl_2bit_2p20.json"),
        "4" => include_str!("vectors/status/tsl_4bit_2p20.json"),
        "8" => include_str!("vectors/status/tsl_8bit_2p20.json"),
        "small" => include_str!("vectors/status/tsl_small_examples.json"),
        "jwt" => include_str!("vectors/status/tsl_jwt_example.json"),
        _ => unreachable!(),
    };
    serde_json::from_str(text).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

// ---------------------------------------------------------------- codec: spec examples (T1, T2)

/// §4.1 examples: 16 one-bit and 12 two-bit statuses; the byte arrays are 0xB9 0xA3 and
/// 0xC9 0x44 0xF9, and §4.2 gives their `lst` (`eNrbuRgAAhcBXQ`, `eNo76fITAAPfAgc`).
#[test]
fn t1_spec_section_4_1_examples_decode_to_listed_statuses() {
    for ex in vector("small")["examples"].as_array().unwrap() {
        let bits = StatusBits::try_from(ex["bits"].as_u64().unwrap()).unwrap();
        let lst = ex["lst"].as_str().unwrap();
        let list = StatusList::from_lst(bits, lst).unwrap();
        assert_eq!(hex(list.as_bytes()), ex["byte_array_hex"].as_str().unwrap());
        for (i, want) in ex["statuses"].as_array().unwrap().iter().enumerate() {
            assert_eq!(
                u64::from(list.get(i as u64).unwrap()),
                want.as_u64().unwrap(),
                "bits {bits:?} index {i}"
            );
        }
    }
}

/// §4.1: building the same statuses with our encoder gives the same byte array, the same
/// compressed bytes and the same `lst` as the spec, and decodes back to the same list.
#[test]
fn t1_lsb_first_packing_matches_spec_example() {
    for ex in vector("small")["examples"].as_array().unwrap() {
        let bits = StatusBits::try_from(ex["bits"].as_u64().unwrap()).unwrap();
        let statuses = ex["statuses"].as_array().unwrap();
        let mut list = StatusList::new(bits, statuses.len());
        for (i, s) in statuses.iter().enumerate() {
            list.set(i as u64, s.as_u64().unwrap() as u8).unwrap();
        }
        assert_eq!(hex(list.as_bytes()), ex["byte_array_hex"].as_str().unwrap());
        let compressed = list.compress();
        // RFC 1950 header: CM = 8 (deflate), CINFO = 7, FLEVEL = 3 (maximum compression).
        assert_eq!(&compressed[..2], &[0x78, 0xda]);
        let again = StatusList::from_lst(bits, &list.to_lst()).unwrap();
        assert_eq!(again, list);
        // With flate2's best level our bytes equal the spec's. (DEFLATE output may differ between
        // compressors; if a backend change breaks this line, decoding equality above still holds.)
        assert_eq!(hex(&compressed), ex["compressed_hex"].as_str().unwrap());
        assert_eq!(list.to_lst(), ex["lst"].as_str().unwrap());
        // The spec's `lst` is exactly the base64url of its compressed hex.
        assert_eq!(
            hex(&base64_url_decode(ex["lst"].as_str().unwrap())),
            ex["compressed_hex"].as_str().unwrap()
        );
    }
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// Appendix "Test vectors for Status List encoding": 2^20 entries at 1, 2, 4 and 8 bits. Every
/// listed status is found, every other entry is VALID, and our re-encoding decodes identically.
#[test]
fn t1_spec_test_vectors_1_2_4_8_bits_decode_and_reencode() {
    for name in ["1", "2", "4", "8"] {
        let v = vector(name);
        let json: StatusListJson =
            serde_json::from_value(json!({"bits": v["bits"], "lst": v["lst"]})).unwrap();
        let list = json.decode().unwrap();
        let size = v["size"].as_u64().unwrap();
        assert_eq!(list.len(), size, "{name}-bit list length");
        let listed = v["statuses"].as_object().unwrap();
        let mut expected = vec![0u8; size as usize];
        for (idx, val) in listed {
            expected[idx.parse::<usize>().unwrap()] = val.as_u64().unwrap() as u8;
        }
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(list.get(i as u64).unwrap(), *want, "{name}-bit index {i}");
        }
        // Our encoder, from the listed statuses alone.
        let mut ours = StatusList::new(list.bits(), size as usize);
        for (idx, val) in listed {
            ours.set(idx.parse().unwrap(), val.as_u64().unwrap() as u8)
                .unwrap();
        }
        assert_eq!(ours, list);
        let back = StatusList::from_lst(ours.bits(), &ours.to_json().lst).unwrap();
        assert_eq!(back, list);
    }
}

/// Seeded randomized round trips for every `bits` value.
#[test]
fn t1_seeded_random_round_trips_for_bits_1_2_4_8() {
    let mut rng = StdRng::seed_from_u64(0x5747_5553);
    for bits in [
        StatusBits::One,
        StatusBits::Two,
        StatusBits::Four,
        StatusBits::Eight,
    ] {
        for _ in 0..20 {
            let len = rng.gen_range(1..5000usize);
            let values: Vec<u8> = (0..len)
                .map(|_| rng.gen_range(0..=bits.max_value()))
                .collect();
            let mut list = StatusList::new(bits, len);
            for (i, v) in values.iter().enumerate() {
                list.set(i as u64, *v).unwrap();
            }
            let decoded = StatusList::from_lst(bits, &list.to_lst()).unwrap();
            for (i, v) in values.iter().enumerate() {
                assert_eq!(decoded.get(i as u64).unwrap(), *v);
            }
        }
    }
}

// ---------------------------------------------------------------- codec: rejections

/// §4.1 step 1: `bits` is 1, 2, 4 or 8.
#[test]
fn t1_bits_other_than_1_2_4_8_are_refused() {
    for bad in [0u64, 3, 5, 6, 7, 9, 16, 255] {
        assert!(matches!(StatusBits::try_from(bad), Err(TslError::InvalidBits(b)) if b == bad));
    }
    let parsed: Result<StatusListJson, _> =
        serde_json::from_value(json!({"bits": 3, "lst": "eNrbuRgAAhcBXQ"}));
    assert!(parsed.is_err());
}

/// §8.3 step 6: an index outside the list MUST be rejected.
#[test]
fn t5_index_out_of_range_is_refused() {
    let list = StatusList::from_lst(StatusBits::One, "eNrbuRgAAhcBXQ").unwrap();
    assert_eq!(list.len(), 16);
    assert!(list.get(15).is_ok());
    assert!(matches!(
        list.get(16),
        Err(TslError::IndexOutOfRange { index: 16, len: 16 })
    ));
    assert!(matches!(
        list.status(u64::MAX),
        Err(TslError::IndexOutOfRange { .. })
    ));
    let mut list = list;
    assert!(matches!(
        list.set(16, 1),
        Err(TslError::IndexOutOfRange { .. })
    ));
}

/// §7: a value must fit in `bits`.
#[test]
fn t1_value_too_large_for_bits_is_refused() {
    let mut list = StatusList::new(StatusBits::Two, 8);
    assert!(matches!(
        list.set(0, 4),
        Err(TslError::ValueTooLarge { value: 4, bits: 2 })
    ));
    let mut one = StatusList::new(StatusBits::One, 8);
    assert!(matches!(
        one.set_status(0, StatusType::Suspended),
        Err(TslError::ValueTooLarge { value: 2, bits: 1 })
    ));
}

/// §4.2: `lst` is base64url WITHOUT padding; padded or standard-alphabet input is refused.
#[test]
fn t2_lst_must_be_unpadded_base64url() {
    assert!(matches!(
        StatusList::from_lst(StatusBits::One, "eNrbuRgAAhcBXQ=="),
        Err(TslError::Base64(_))
    ));
    assert!(matches!(
        StatusList::from_lst(StatusBits::One, "eNrbuRgAAhc+XQ"),
        Err(TslError::Base64(_))
    ));
}

/// §4.1 step 4: the payload must be ZLIB; raw DEFLATE, GZIP or garbage is refused.
#[test]
fn t1_lst_that_is_not_zlib_is_refused() {
    use base64::Engine as _;
    let gzip_hex = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00];
    let lst = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(gzip_hex);
    assert!(matches!(
        StatusList::from_lst(StatusBits::One, &lst),
        Err(TslError::Decompression(_))
    ));
}

/// Security §11.1: a small `lst` that inflates to more than the cap is refused (zip bomb).
#[test]
fn t1_decompression_bomb_is_refused() {
    let big = StatusList::new(StatusBits::Eight, DEFAULT_MAX_DECOMPRESSED_BYTES + 1);
    let lst = big.to_lst();
    assert!(lst.len() < 64 * 1024, "the bomb is small: {}", lst.len());
    assert!(matches!(
        StatusList::from_lst(StatusBits::Eight, &lst),
        Err(TslError::DecompressedTooLarge { limit }) if limit == DEFAULT_MAX_DECOMPRESSED_BYTES
    ));
    // A caller-chosen cap works the same way.
    let small = StatusList::new(StatusBits::One, 8 * 1024).to_lst();
    assert!(matches!(
        StatusList::from_lst_with_limit(StatusBits::One, &small, 1023),
        Err(TslError::DecompressedTooLarge { limit: 1023 })
    ));
    assert!(StatusList::from_lst_with_limit(StatusBits::One, &small, 1024).is_ok());
}

/// §7.1 / T3: 0 VALID, 1 INVALID, 2 SUSPENDED, 3 and 0x0C–0x0F application specific, the rest
/// unknown; only VALID is valid.
#[test]
fn t3_status_type_values() {
    assert_eq!(StatusType::from(0), StatusType::Valid);
    assert_eq!(StatusType::from(1), StatusType::Invalid);
    assert_eq!(StatusType::from(2), StatusType::Suspended);
    for v in [3u8, 0x0C, 0x0D, 0x0E, 0x0F] {
        assert_eq!(StatusType::from(v), StatusType::ApplicationSpecific(v));
    }
    for v in [4u8, 0x0B, 0x10, 0xFF] {
        assert_eq!(StatusType::from(v), StatusType::Unknown(v));
    }
    for v in 0..=255u8 {
        assert_eq!(StatusType::from(v).value(), v);
        assert_eq!(StatusType::from(v).is_valid(), v == 0);
    }
}

/// §6.2 / T3: the referenced token's `status.status_list {idx, uri}`; `idx` non-negative.
#[test]
fn t3_referenced_token_status_claim_serde() {
    let v = vector("jwt")["referenced_token_status"].clone();
    let claim: StatusClaim = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(claim.status_list.idx, 0);
    assert_eq!(claim.status_list.uri, "https://example.com/statuslists/1");
    assert!(claim.status_list.validate().is_ok());
    assert_eq!(serde_json::to_value(&claim).unwrap(), v);
    let negative: Result<StatusClaim, _> =
        serde_json::from_value(json!({"status_list": {"idx": -1, "uri": LIST_URI}}));
    assert!(negative.is_err());
    let bad_uri = StatusListReference {
        idx: 0,
        uri: "not a uri".into(),
    };
    assert!(matches!(bad_uri.validate(), Err(TslError::InvalidUri(_))));
}

// ---------------------------------------------------------------- the Status List Token (T2, T5)

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::EdDSA).unwrap()
}

fn reference(idx: u64) -> StatusListReference {
    StatusListReference {
        idx,
        uri: LIST_URI.into(),
    }
}

fn sample_list() -> StatusList {
    let mut l = StatusList::new(StatusBits::Two, 64);
    l.set_status(3, StatusType::Invalid).unwrap();
    l.set_status(5, StatusType::Suspended).unwrap();
    l
}

fn sample_claims() -> StatusListTokenClaims {
    StatusListTokenClaims::new(LIST_URI, &sample_list(), now() - Duration::minutes(1))
        .with_issuer("did:web:status.example")
        .with_expiry(now() + Duration::hours(1))
        .with_ttl_seconds(300)
}

/// §5.1: header `typ: statuslist+jwt`; claims `iss, sub, iat, exp, ttl, status_list`; round trip.
#[test]
fn t2_token_round_trip_and_header() {
    let k = key();
    let jws =
        sign_status_list_token(&k, Some("did:web:status.example#k1"), &sample_claims()).unwrap();
    let (header, claims) = jose::decode_unverified(&jws).unwrap();
    assert_eq!(header.typ.as_deref(), Some(STATUS_LIST_JWT_TYP));
    assert_eq!(header.kid.as_deref(), Some("did:web:status.example#k1"));
    let keys: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["iss", "sub", "iat", "exp", "ttl", "status_list"]);
    assert_eq!(claims["status_list"]["bits"], 2);

    let verified = verify_status_list_token(&jws, &k.public_jwk(), &reference(3), now()).unwrap();
    assert_eq!(verified.claims, sample_claims());
    assert_eq!(verified.status(0).unwrap(), StatusType::Valid);
    assert_eq!(verified.status(3).unwrap(), StatusType::Invalid);
    assert_eq!(verified.status(5).unwrap(), StatusType::Suspended);
    assert_eq!(
        check_token_status(&jws, &k.public_jwk(), &reference(5), now()).unwrap(),
        StatusType::Suspended
    );
}

/// §5.1: `typ` MUST be `statuslist+jwt`; a `JWT` or missing typ is refused.
#[test]
fn t2_wrong_typ_is_refused() {
    let k = key();
    for typ in ["JWT", "vc+jwt", "statuslist+cwt"] {
        let jws = jose::sign_compact(&k, typ, None, &sample_claims().to_json()).unwrap();
        let err =
            verify_status_list_token(&jws, &k.public_jwk(), &reference(0), now()).unwrap_err();
        assert!(
            matches!(err, StatusListTokenError::Jose(JoseError::WrongType { .. })),
            "{typ}: {err:?}"
        );
    }
}

/// §5.1 rule 2: the token MUST be signed and an invalid signature rejected.
#[test]
fn t2_bad_signature_or_other_key_is_refused() {
    let k = key();
    let jws = sign_status_list_token(&k, None, &sample_claims()).unwrap();
    let other = key();
    assert!(matches!(
        verify_status_list_token(&jws, &other.public_jwk(), &reference(0), now()),
        Err(StatusListTokenError::Jose(JoseError::BadSignature))
    ));
    // Tampered payload: flip the list to all-valid without re-signing.
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let mut claims = sample_claims();
    claims.status_list = StatusList::new(StatusBits::Two, 64).to_json();
    parts[1] = jose::b64url_encode(claims.to_json().to_string().as_bytes());
    let forged = parts.join(".");
    assert!(matches!(
        verify_status_list_token(&forged, &k.public_jwk(), &reference(0), now()),
        Err(StatusListTokenError::Jose(JoseError::BadSignature))
    ));
}

/// RFC 8725 / J3: `alg: none` is refused even for a status list.
#[test]
fn t2_alg_none_is_refused() {
    let h = jose::b64url_encode(br#"{"alg":"none","typ":"statuslist+jwt"}"#);
    let p = jose::b64url_encode(sample_claims().to_json().to_string().as_bytes());
    let jws = format!("{h}.{p}.AAAA");
    assert!(matches!(
        verify_status_list_token(&jws, &key().public_jwk(), &reference(0), now()),
        Err(StatusListTokenError::Jose(JoseError::DisallowedAlgorithm(
            _
        )))
    ));
}

/// §8.3 step 4a: `sub` MUST equal the referenced token's `uri`.
#[test]
fn t5_sub_must_equal_referenced_uri() {
    let k = key();
    let jws = sign_status_list_token(&k, None, &sample_claims()).unwrap();
    let other = StatusListReference {
        idx: 0,
        uri: "https://status.example/lists/2".into(),
    };
    assert!(matches!(
        verify_status_list_token(&jws, &k.public_jwk(), &other, now()),
        Err(StatusListTokenError::SubjectMismatch { .. })
    ));
}

/// §8.3 step 4c: an expired token is refused; `nbf` in the future too.
#[test]
fn t5_expired_token_is_refused() {
    let k = key();
    let jws = sign_status_list_token(&k, None, &sample_claims()).unwrap();
    let later = now() + Duration::hours(1);
    assert!(matches!(
        verify_status_list_token(&jws, &k.public_jwk(), &reference(0), later),
        Err(StatusListTokenError::Expired { .. })
    ));
    let just_before = now() + Duration::hours(1) - Duration::seconds(1);
    assert!(verify_status_list_token(&jws, &k.public_jwk(), &reference(0), just_before).is_ok());

    let mut c = sample_claims().to_json();
    c["nbf"] = json!((now() + Duration::minutes(5)).timestamp());
    let jws = jose::sign_compact(&k, STATUS_LIST_JWT_TYP, None, &c).unwrap();
    assert!(matches!(
        verify_status_list_token(&jws, &k.public_jwk(), &reference(0), now()),
        Err(StatusListTokenError::NotYetValid { .. })
    ));
}

fn sign_raw(k: &SigningKey, claims: &Value) -> String {
    jose::sign_compact(k, STATUS_LIST_JWT_TYP, None, claims).unwrap()
}

/// §5.1: `sub`, `iat` and `status_list` are REQUIRED.
#[test]
fn t2_required_claims_missing_are_refused() {
    let k = key();
    for claim in ["sub", "iat", "status_list"] {
        let mut c = sample_claims().to_json();
        c.as_object_mut().unwrap().remove(claim);
        let jws = sign_raw(&k, &c);
        assert_eq!(
            verify_status_list_token(&jws, &k.public_jwk(), &reference(0), now()).unwrap_err(),
            StatusListTokenError::MissingClaim(claim)
        );
    }
    let mut c = sample_claims().to_json();
    c["status_list"].as_object_mut().unwrap().remove("lst");
    assert_eq!(
        verify_status_list_token(&sign_raw(&k, &c), &k.public_jwk(), &reference(0), now())
            .unwrap_err(),
        StatusListTokenError::MissingClaim("status_list.lst")
    );
}

/// §5.1: `ttl` MUST be a positive number (of seconds); 0, negative, strings are refused.
#[test]
fn t2_ttl_must_be_positive_seconds() {
    let k = key();
    for bad in [json!(0), json!(-5), json!("300"), json!(null)] {
        let mut c = sample_claims().to_json();
        c["ttl"] = bad.clone();
        let err =
            verify_status_list_token(&sign_raw(&k, &c), &k.public_jwk(), &reference(0), now())
                .unwrap_err();
        assert!(
            matches!(err, StatusListTokenError::InvalidClaim { claim: "ttl", .. }),
            "{bad}: {err:?}"
        );
    }
    // `with_ttl_seconds(0)` never emits a non-positive ttl.
    assert_eq!(sample_claims().with_ttl_seconds(0).ttl, None);
}

/// §5.1: claim types (sub string, iat number, bits allowed).
#[test]
fn t2_mistyped_claims_are_refused() {
    let k = key();
    let cases = [
        ("sub", json!(7), "sub"),
        ("iat", json!("yesterday"), "iat"),
        ("iss", json!(["a"]), "iss"),
    ];
    for (claim, value, name) in cases {
        let mut c = sample_claims().to_json();
        c[claim] = value;
        let err =
            verify_status_list_token(&sign_raw(&k, &c), &k.public_jwk(), &reference(0), now())
                .unwrap_err();
        assert!(
            matches!(err, StatusListTokenError::InvalidClaim { claim, .. } if claim == name),
            "{err:?}"
        );
    }
    let mut c = sample_claims().to_json();
    c["status_list"]["bits"] = json!(3);
    assert_eq!(
        verify_status_list_token(&sign_raw(&k, &c), &k.public_jwk(), &reference(0), now())
            .unwrap_err(),
        StatusListTokenError::List(TslError::InvalidBits(3))
    );
}

/// §8.3 step 6 through the token: an index outside the list is rejected, with a typed error.
#[test]
fn t5_token_index_out_of_range_is_refused() {
    let k = key();
    let jws = sign_status_list_token(&k, None, &sample_claims()).unwrap();
    assert_eq!(
        check_token_status(&jws, &k.public_jwk(), &reference(64), now()).unwrap_err(),
        StatusListTokenError::List(TslError::IndexOutOfRange { index: 64, len: 64 })
    );
}

/// Key resolution through the header `kid`; a missing `kid` is a typed error.
#[test]
fn t2_verify_with_resolver_uses_kid() {
    let k = key();
    let public = k.public_jwk();
    let resolver = |iss: &str, kid: &str| {
        if iss == "did:web:status.example" && kid == "did:web:status.example#k1" {
            Ok(public.clone())
        } else {
            Err(jose::ResolveError::UnknownKid(kid.to_owned()))
        }
    };
    let jws =
        sign_status_list_token(&k, Some("did:web:status.example#k1"), &sample_claims()).unwrap();
    let v = verify_status_list_token_with_resolver(
        &jws,
        "did:web:status.example",
        &resolver,
        &reference(3),
        now(),
    )
    .unwrap();
    assert_eq!(v.status(3).unwrap(), StatusType::Invalid);
    let no_kid = sign_status_list_token(&k, None, &sample_claims()).unwrap();
    assert_eq!(
        verify_status_list_token_with_resolver(
            &no_kid,
            "did:web:status.example",
            &resolver,
            &reference(3),
            now()
        )
        .unwrap_err(),
        StatusListTokenError::MissingKid
    );
    let other_kid =
        sign_status_list_token(&k, Some("did:web:status.example#k2"), &sample_claims()).unwrap();
    assert!(matches!(
        verify_status_list_token_with_resolver(
            &other_kid,
            "did:web:status.example",
            &resolver,
            &reference(3),
            now()
        ),
        Err(StatusListTokenError::KeyResolution(
            jose::ResolveError::UnknownKid(_)
        ))
    ));
}

/// §5.1 / §8.2 example token: its header and claims are what the spec prints, and its claims
/// parse and decode with our reader (the ES256 signing key is not published, so the signature
/// is only checked to be refused under a foreign key).
#[test]
fn t2_spec_jwt_example_claims_parse() {
    let v = vector("jwt");
    let raw = v["raw"].as_str().unwrap();
    let (header, claims) = jose::decode_unverified(raw).unwrap();
    assert_eq!(header.typ.as_deref(), Some("statuslist+jwt"));
    assert_eq!(header.alg, "ES256");
    let parsed = StatusListTokenClaims::from_json(&claims).unwrap();
    assert_eq!(parsed.sub, "https://example.com/statuslists/1");
    assert_eq!(parsed.iat, 1_686_920_170);
    assert_eq!(parsed.exp, Some(2_291_720_170));
    assert_eq!(parsed.ttl, Some(43_200));
    assert_eq!(parsed.iss.as_deref(), Some("https://example.com"));
    let list = parsed.status_list.decode().unwrap();
    assert_eq!(list.status(0).unwrap(), StatusType::Invalid);
    assert_eq!(list.status(1).unwrap(), StatusType::Valid);

    let pretty = StatusListTokenClaims::from_json(&v["claims"]).unwrap();
    assert_eq!(pretty.status_list, parsed.status_list);

    let foreign = SigningKey::generate(Algorithm::ES256).unwrap();
    let reference: StatusListReference =
        serde_json::from_value(v["referenced_token_status"]["status_list"].clone()).unwrap();
    assert!(matches!(
        verify_status_list_token(raw, &foreign.public_jwk(), &reference, now()),
        Err(StatusListTokenError::Jose(JoseError::BadSignature))
    ));
}
