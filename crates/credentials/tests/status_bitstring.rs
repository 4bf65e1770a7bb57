//! W3C Bitstring Status List v1.0: the spec's examples, the entry rules (B1), the list
//! credential secured as `vc+jwt` (B2, B4) and every §3.2 error code (B3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use crossauthz_credentials::jose::{self, JoseError};
use crossauthz_credentials::keys::{Algorithm, SigningKey};
use crossauthz_credentials::status::bitstring::PROBLEM_TYPE_PREFIX;
use crossauthz_credentials::status::bitstring_credential::{VC_JWT_TYP, check_entry_with_minimum};
use crossauthz_credentials::status::compression::DEFAULT_MAX_DECOMPRESSED_BYTES;
use crossauthz_credentials::status::{
    Bitstring, BitstringStatusError, BitstringStatusListCredential, BitstringStatusListEntry,
    MIN_ENTRIES, MalformedValue, StatusPurpose, StatusSize, StatusVerificationFailure, check_entry,
    verify_and_check_entry, verify_status_list_credential,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

const LIST_URL: &str = "https://status.example/credentials/status/3";
const ISSUER: &str = "did:web:status.example";
const KID: &str = "did:web:status.example#key-1";

fn examples() -> Value {
    serde_json::from_str(include_str!("vectors/status/bsl_examples.json")).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::EdDSA).unwrap()
}

// ---------------------------------------------------------------- spec examples

/// §2.2 / Appendix A: the example `encodedList` decodes to a 16 KB (131,072-bit) all-zero list,
/// and the example credential reads as a BitstringStatusListCredential.
#[test]
fn b2_spec_example_encoded_list_decodes() {
    let ex = examples();
    let vc = BitstringStatusListCredential::from_json(&ex["status_list_credential"]).unwrap();
    assert_eq!(
        vc.id.as_deref(),
        Some("https://example.com/credentials/status/3")
    );
    assert_eq!(vc.issuer, "did:example:12345");
    assert_eq!(vc.status_purposes, vec![StatusPurpose::Revocation]);
    let bits = vc.decode_list().unwrap();
    assert_eq!(
        bits.as_bytes().len() as u64,
        ex["decoded_length_bytes"].as_u64().unwrap()
    );
    assert_eq!(bits.len_bits(), MIN_ENTRIES);
    assert!(bits.as_bytes().iter().all(|b| *b == 0));
    // The spec's revocation entry (index 94567) is therefore not revoked.
    let entry = BitstringStatusListEntry::from_json(&ex["entries"][0]).unwrap();
    let r = check_entry(&entry, &vc).unwrap();
    assert_eq!(r.status, 0);
    assert!(r.valid);
    assert_eq!(r.purpose, StatusPurpose::Revocation);
    // Our encoding of the same bitstring decodes identically.
    let again = Bitstring::decode(&bits.encode()).unwrap();
    assert_eq!(again, bits);
}

/// §2.2 and Appendix "Bitstring Encoding": index 0 is the left-most bit; in a 131,072-bit list
/// the last index is 131,071.
#[test]
fn b2_index_0_is_the_left_most_msb_bit() {
    let mut b = Bitstring::for_entries(0, StatusSize::ONE);
    assert_eq!(b.entries(StatusSize::ONE), 131_072);
    b.set_bit(0, true).unwrap();
    assert_eq!(b.as_bytes()[0], 0b1000_0000);
    b.set_bit(7, true).unwrap();
    assert_eq!(b.as_bytes()[0], 0b1000_0001);
    b.set_bit(131_071, true).unwrap();
    assert_eq!(*b.as_bytes().last().unwrap(), 0b0000_0001);
    assert!(matches!(
        b.get_bit(131_072),
        Err(BitstringStatusError::Range { .. })
    ));
    // Through encode/decode the positions survive.
    let d = Bitstring::decode(&b.encode()).unwrap();
    assert!(d.get_bit(0).unwrap() && d.get_bit(7).unwrap() && d.get_bit(131_071).unwrap());
    assert!(!d.get_bit(1).unwrap());
}

/// §2.2: `encodedList` is multibase `u` + base64url without padding of GZIP (RFC 1952).
#[test]
fn b2_encoded_list_is_u_base64url_gzip() {
    let enc = Bitstring::for_entries(0, StatusSize::ONE).encode();
    assert!(enc.starts_with('u'));
    assert!(!enc.contains('=') && !enc.contains('+') && !enc.contains('/'));
    use base64::Engine as _;
    let gz = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&enc[1..])
        .unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "GZIP magic");
}

/// §2.1 examples: the revocation/suspension entries and the 2-bit message entry are valid.
#[test]
fn b1_spec_example_entries_are_valid() {
    let ex = examples();
    for e in ex["entries"].as_array().unwrap() {
        let entry = BitstringStatusListEntry::from_json(e).unwrap();
        assert_eq!(entry.size().unwrap(), StatusSize::ONE);
        assert_eq!(&entry.to_json(), e);
    }
    let m = BitstringStatusListEntry::from_json(&ex["message_entry"]).unwrap();
    assert_eq!(m.status_purpose, StatusPurpose::Message);
    assert_eq!(m.size().unwrap().get(), 2);
    assert_eq!(m.index().unwrap(), 492_847);
    assert_eq!(m.message_for(2), Some("rejected"));
}

/// Seeded randomized round trips of bitstrings with statusSize 1, 2, 4, 8.
#[test]
fn b2_seeded_random_round_trips() {
    let mut rng = StdRng::seed_from_u64(0xB175);
    for size in [1u64, 2, 4, 8] {
        let size = StatusSize::new(size).unwrap();
        let mut b = Bitstring::for_entries(0, size);
        let mut set = Vec::new();
        for _ in 0..500 {
            let idx = rng.gen_range(0..b.entries(size));
            let v = rng.gen_range(0..size.values()) as u8;
            b.set(idx, size, v).unwrap();
            set.retain(|(i, _)| *i != idx);
            set.push((idx, v));
        }
        let d = Bitstring::decode(&b.encode()).unwrap();
        assert_eq!(d, b);
        for (i, v) in set {
            assert_eq!(d.get(i, size).unwrap(), v);
        }
    }
}

// ---------------------------------------------------------------- entry rules (B1)

fn entry(purpose: StatusPurpose, index: u64) -> BitstringStatusListEntry {
    BitstringStatusListEntry::new(purpose, index, LIST_URL)
}

/// §2.1: `type` MUST be BitstringStatusListEntry.
#[test]
fn b1_entry_wrong_type_is_malformed() {
    let mut e = entry(StatusPurpose::Revocation, 1).to_json();
    e["type"] = json!("StatusList2021Entry");
    assert!(matches!(
        BitstringStatusListEntry::from_json(&e),
        Err(BitstringStatusError::MalformedValue(
            MalformedValue::EntryType(_)
        ))
    ));
}

/// §2.1: the entry `id` MUST NOT be the status list URL.
#[test]
fn b1_entry_id_equal_to_list_url_is_malformed() {
    let mut e = entry(StatusPurpose::Revocation, 1);
    e.id = Some(LIST_URL.to_owned());
    assert_eq!(
        e.validate().unwrap_err(),
        BitstringStatusError::MalformedValue(MalformedValue::EntryIdIsListUrl)
    );
    assert_eq!(e.validate().unwrap_err().code(), "MALFORMED_VALUE_ERROR");
    // The builder never produces it.
    let built = entry(StatusPurpose::Revocation, 1);
    assert_eq!(
        built.id.as_deref(),
        Some("https://status.example/credentials/status/3#1")
    );
    assert!(built.validate().is_ok());
}

/// §2.1: `statusListIndex` is a base-10 integer string >= 0.
#[test]
fn b1_status_list_index_must_be_base10_string() {
    for bad in ["", "-1", "0x10", "1.5", " 1", "١٢"] {
        let mut e = entry(StatusPurpose::Revocation, 1);
        e.status_list_index = bad.to_owned();
        assert!(
            matches!(
                e.validate(),
                Err(BitstringStatusError::MalformedValue(
                    MalformedValue::StatusListIndex(_)
                ))
            ),
            "{bad:?}"
        );
    }
    let mut e = entry(StatusPurpose::Revocation, 1).to_json();
    e["statusListIndex"] = json!(5);
    assert!(matches!(
        BitstringStatusListEntry::from_json(&e),
        Err(BitstringStatusError::MalformedValue(MalformedValue::Json(
            _
        )))
    ));
}

/// §2.1: `statusListCredential` MUST be a URL.
#[test]
fn b1_status_list_credential_must_be_url() {
    let mut e = entry(StatusPurpose::Revocation, 1);
    e.status_list_credential = "not a url".into();
    e.id = None;
    assert!(matches!(
        e.validate(),
        Err(BitstringStatusError::MalformedValue(
            MalformedValue::StatusListCredential(_)
        ))
    ));
}

/// §2.1: `statusSize` > 0; when > 1, `statusMessage` MUST be present with 2^size items, each
/// `status` a `0x` hex value.
#[test]
fn b1_status_size_and_status_message_rules() {
    let mut e = entry(StatusPurpose::Message, 1);
    e.status_size = Some(0);
    assert!(matches!(
        e.validate(),
        Err(BitstringStatusError::MalformedValue(
            MalformedValue::StatusSize(0)
        ))
    ));
    e.status_size = Some(2);
    assert_eq!(
        e.validate().unwrap_err(),
        BitstringStatusError::MalformedValue(MalformedValue::StatusMessageCount {
            expected: 4,
            found: 0
        })
    );
    let mut m = examples()["message_entry"].clone();
    m["statusMessage"].as_array_mut().unwrap().pop();
    assert!(matches!(
        BitstringStatusListEntry::from_json(&m),
        Err(BitstringStatusError::MalformedValue(
            MalformedValue::StatusMessageCount {
                expected: 4,
                found: 3
            }
        ))
    ));
    let mut m = examples()["message_entry"].clone();
    m["statusMessage"][1]["status"] = json!("1");
    assert!(matches!(
        BitstringStatusListEntry::from_json(&m),
        Err(BitstringStatusError::MalformedValue(
            MalformedValue::StatusMessageValue(_)
        ))
    ));
}

// ---------------------------------------------------------------- the list credential (B2, B4)

fn list_with(revoked: &[u64]) -> Bitstring {
    let mut b = Bitstring::for_entries(0, StatusSize::ONE);
    for i in revoked {
        b.set_bit(*i, true).unwrap();
    }
    b
}

fn credential(purpose: StatusPurpose, bits: &Bitstring) -> BitstringStatusListCredential {
    BitstringStatusListCredential::new(LIST_URL, ISSUER, purpose, bits, now() - Duration::hours(1))
        .with_valid_until(now() + Duration::hours(1))
        .with_ttl_ms(300_000)
}

/// §2.2: VC 2.0 shape: types, subject type, statusPurpose, encodedList, ttl in ms, validity.
#[test]
fn b2_credential_json_shape() {
    let vc = credential(StatusPurpose::Revocation, &list_with(&[42])).to_json();
    assert_eq!(
        vc["@context"],
        json!(["https://www.w3.org/ns/credentials/v2"])
    );
    assert_eq!(vc["id"], LIST_URL);
    assert_eq!(
        vc["type"],
        json!(["VerifiableCredential", "BitstringStatusListCredential"])
    );
    assert_eq!(vc["issuer"], ISSUER);
    assert_eq!(vc["validFrom"], "2026-01-01T11:00:00Z");
    assert_eq!(vc["validUntil"], "2026-01-01T13:00:00Z");
    let s = &vc["credentialSubject"];
    assert_eq!(s["id"], format!("{LIST_URL}#list"));
    assert_eq!(s["type"], "BitstringStatusList");
    assert_eq!(s["statusPurpose"], "revocation");
    assert_eq!(s["ttl"], 300_000, "ttl is in milliseconds");
    assert!(s["encodedList"].as_str().unwrap().starts_with('u'));
    let back = BitstringStatusListCredential::from_json(&vc).unwrap();
    assert_eq!(
        back,
        credential(StatusPurpose::Revocation, &list_with(&[42]))
    );
}

/// B4: the list is secured as `vc+jwt` (header typ vc+jwt, kid = issuer DID URL, claims = VC),
/// and a revoked index reads as revoked through verification.
#[test]
fn b4_vc_jwt_round_trip_and_revoked_bit() {
    let k = key();
    let vc = credential(StatusPurpose::Revocation, &list_with(&[42]));
    let jws = vc.sign(&k, KID).unwrap();
    let (header, claims) = jose::decode_unverified(&jws).unwrap();
    assert_eq!(header.typ.as_deref(), Some(VC_JWT_TYP));
    assert_eq!(header.kid.as_deref(), Some(KID));
    assert_eq!(claims, vc.to_json());
    assert!(
        claims.get("vc").is_none(),
        "the claims set is the VC itself"
    );

    let verified = verify_status_list_credential(&jws, &k.public_jwk(), now()).unwrap();
    assert_eq!(verified, vc);
    let revoked = check_entry(&entry(StatusPurpose::Revocation, 42), &verified).unwrap();
    assert_eq!((revoked.status, revoked.valid), (1, false));
    let fine = verify_and_check_entry(
        &entry(StatusPurpose::Revocation, 41),
        &jws,
        &k.public_jwk(),
        now(),
    )
    .unwrap();
    assert_eq!((fine.status, fine.valid), (0, true));
}

/// §2.2: a list credential without the BitstringStatusListCredential type, or whose subject is
/// not a BitstringStatusList, is malformed.
#[test]
fn b2_wrong_credential_or_subject_type_is_malformed() {
    let mut vc = credential(StatusPurpose::Revocation, &list_with(&[])).to_json();
    vc["type"] = json!(["VerifiableCredential"]);
    assert_eq!(
        BitstringStatusListCredential::from_json(&vc).unwrap_err(),
        BitstringStatusError::MalformedValue(MalformedValue::CredentialType)
    );
    let mut vc = credential(StatusPurpose::Revocation, &list_with(&[])).to_json();
    vc["credentialSubject"]["type"] = json!("StatusList2021");
    assert_eq!(
        BitstringStatusListCredential::from_json(&vc).unwrap_err(),
        BitstringStatusError::MalformedValue(MalformedValue::SubjectType)
    );
}

// ---------------------------------------------------------------- the §3.2 errors (B3)

/// STATUS_VERIFICATION_ERROR: a list signed by another key, a wrong `typ`, or a tampered list.
#[test]
fn b3_bad_signature_is_status_verification_error() {
    let k = key();
    let jws = credential(StatusPurpose::Revocation, &list_with(&[]))
        .sign(&k, KID)
        .unwrap();
    let err = verify_status_list_credential(&jws, &key().public_jwk(), now()).unwrap_err();
    assert!(matches!(
        err,
        BitstringStatusError::StatusVerification(StatusVerificationFailure::Signature(
            JoseError::BadSignature
        ))
    ));
    assert_eq!(err.code(), "STATUS_VERIFICATION_ERROR");

    let wrong_typ = jose::sign_compact(
        &k,
        "JWT",
        Some(KID),
        &credential(StatusPurpose::Revocation, &list_with(&[])).to_json(),
    )
    .unwrap();
    assert!(matches!(
        verify_status_list_credential(&wrong_typ, &k.public_jwk(), now()),
        Err(BitstringStatusError::StatusVerification(
            StatusVerificationFailure::Signature(JoseError::WrongType { .. })
        ))
    ));
}

/// STATUS_VERIFICATION_ERROR: the entry's purpose is not a purpose of the list (§3.2 step 5).
#[test]
fn b3_purpose_mismatch_is_status_verification_error() {
    let vc = credential(StatusPurpose::Revocation, &list_with(&[]));
    let err = check_entry(&entry(StatusPurpose::Suspension, 1), &vc).unwrap_err();
    assert!(matches!(
        err,
        BitstringStatusError::StatusVerification(StatusVerificationFailure::PurposeMismatch {
            entry: StatusPurpose::Suspension
        })
    ));
    // A list may carry several purposes.
    let mut multi = vc.clone();
    multi.status_purposes = vec![StatusPurpose::Revocation, StatusPurpose::Suspension];
    let reparsed = BitstringStatusListCredential::from_json(&multi.to_json()).unwrap();
    assert!(check_entry(&entry(StatusPurpose::Suspension, 1), &reparsed).is_ok());
}

/// STATUS_VERIFICATION_ERROR: the list is not the one the entry names, or outside its validity.
#[test]
fn b3_other_list_or_expired_list_is_status_verification_error() {
    let vc = credential(StatusPurpose::Revocation, &list_with(&[]));
    let mut e = entry(StatusPurpose::Revocation, 1);
    e.status_list_credential = "https://status.example/credentials/status/4".into();
    e.id = None;
    assert!(matches!(
        check_entry(&e, &vc),
        Err(BitstringStatusError::StatusVerification(
            StatusVerificationFailure::ListUrlMismatch { .. }
        ))
    ));

    let k = key();
    let jws = vc.sign(&k, KID).unwrap();
    assert!(matches!(
        verify_status_list_credential(&jws, &k.public_jwk(), now() + Duration::hours(1)),
        Err(BitstringStatusError::StatusVerification(
            StatusVerificationFailure::Expired(_)
        ))
    ));
    assert!(matches!(
        verify_status_list_credential(&jws, &k.public_jwk(), now() - Duration::hours(2)),
        Err(BitstringStatusError::StatusVerification(
            StatusVerificationFailure::NotYetValid(_)
        ))
    ));
}

/// STATUS_LIST_LENGTH_ERROR: fewer than 131,072 entries (bits / statusSize).
#[test]
fn b3_short_list_is_status_list_length_error() {
    let short = Bitstring::new(MIN_ENTRIES - 8);
    let vc = credential(StatusPurpose::Revocation, &short);
    let err = check_entry(&entry(StatusPurpose::Revocation, 1), &vc).unwrap_err();
    assert_eq!(
        err,
        BitstringStatusError::StatusListLength {
            entries: MIN_ENTRIES - 8,
            minimum: MIN_ENTRIES
        }
    );
    assert_eq!(err.code(), "STATUS_LIST_LENGTH_ERROR");
    // With statusSize 2 a 16 KB list holds only 65,536 entries: too short as well.
    let mut e = examples()["message_entry"].clone();
    e["statusListCredential"] = json!(LIST_URL);
    e["id"] = json!(format!("{LIST_URL}#1"));
    e["statusListIndex"] = json!("1");
    let e = BitstringStatusListEntry::from_json(&e).unwrap();
    let vc = credential(StatusPurpose::Message, &list_with(&[]));
    assert!(matches!(
        check_entry(&e, &vc),
        Err(BitstringStatusError::StatusListLength {
            entries: 65_536,
            ..
        })
    ));
}

/// RANGE_ERROR: the index is outside the list (including indexes beyond u64).
#[test]
fn b3_index_outside_list_is_range_error() {
    let vc = credential(StatusPurpose::Revocation, &list_with(&[]));
    let err = check_entry(&entry(StatusPurpose::Revocation, MIN_ENTRIES), &vc).unwrap_err();
    assert_eq!(
        err,
        BitstringStatusError::Range {
            index: MIN_ENTRIES.to_string(),
            entries: MIN_ENTRIES
        }
    );
    assert_eq!(err.code(), "RANGE_ERROR");
    let mut huge = entry(StatusPurpose::Revocation, 0);
    huge.status_list_index = "99999999999999999999999999".into();
    assert!(matches!(
        check_entry(&huge, &vc),
        Err(BitstringStatusError::Range {
            entries: MIN_ENTRIES,
            ..
        })
    ));
}

/// A predicate on the expected malformed-value detail.
type Expect = fn(&MalformedValue) -> bool;

/// MALFORMED_VALUE_ERROR: `encodedList` without the `u` prefix, not base64url, not GZIP, or a
/// decompression bomb.
#[test]
fn b3_malformed_encoded_list_is_malformed_value_error() {
    let good = list_with(&[]).encode();
    let cases: Vec<(String, Expect)> = vec![
        (good[1..].to_owned(), |m| {
            matches!(m, MalformedValue::EncodedListPrefix)
        }),
        (format!("z{}", &good[1..]), |m| {
            matches!(m, MalformedValue::EncodedListPrefix)
        }),
        (format!("{good}=="), |m| {
            matches!(m, MalformedValue::EncodedListBase64(_))
        }),
        ("u!!!!".to_owned(), |m| {
            matches!(m, MalformedValue::EncodedListBase64(_))
        }),
        ("ueNrbuRgAAhcBXQ".to_owned(), |m| {
            matches!(m, MalformedValue::EncodedListGzip(_))
        }),
    ];
    for (enc, want) in cases {
        match Bitstring::decode(&enc) {
            Err(BitstringStatusError::MalformedValue(m)) => assert!(want(&m), "{enc}: {m:?}"),
            other => panic!("{enc}: {other:?}"),
        }
    }
    let bomb = Bitstring::new((DEFAULT_MAX_DECOMPRESSED_BYTES as u64 + 1) * 8).encode();
    assert!(bomb.len() < 64 * 1024);
    assert!(matches!(
        Bitstring::decode(&bomb),
        Err(BitstringStatusError::MalformedValue(
            MalformedValue::EncodedListTooLarge { .. }
        ))
    ));
}

/// STATUS_RETRIEVAL_ERROR is raised by the fetching caller through the same type.
#[test]
fn b3_retrieval_error_is_constructed_by_the_caller() {
    let err = BitstringStatusError::retrieval("connection refused");
    assert_eq!(err.code(), "STATUS_RETRIEVAL_ERROR");
    assert!(matches!(err, BitstringStatusError::StatusRetrieval(_)));
}

/// §3.5: RFC 9457 problem `type` is `https://www.w3.org/ns/credentials/status-list#<CODE>`.
#[test]
fn b3_problem_details_type_urls() {
    let errors = [
        (
            BitstringStatusError::retrieval("x"),
            "STATUS_RETRIEVAL_ERROR",
        ),
        (
            StatusVerificationFailure::PurposeMismatch {
                entry: StatusPurpose::Revocation,
            }
            .into(),
            "STATUS_VERIFICATION_ERROR",
        ),
        (
            BitstringStatusError::StatusListLength {
                entries: 1,
                minimum: MIN_ENTRIES,
            },
            "STATUS_LIST_LENGTH_ERROR",
        ),
        (
            BitstringStatusError::Range {
                index: "9".into(),
                entries: 1,
            },
            "RANGE_ERROR",
        ),
        (
            MalformedValue::EncodedListPrefix.into(),
            "MALFORMED_VALUE_ERROR",
        ),
    ];
    for (err, code) in errors {
        assert_eq!(err.code(), code);
        let expected = format!("https://www.w3.org/ns/credentials/status-list#{code}");
        assert_eq!(err.problem_type(), expected);
        assert!(expected.starts_with(PROBLEM_TYPE_PREFIX));
        let p = err.problem_details();
        assert_eq!(p["type"], expected);
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(p["detail"].as_str().unwrap().starts_with(code));
    }
}

/// §3.2 step 2 allows an ecosystem minimum; with a lower bound a short list is accepted.
#[test]
fn b3_ecosystem_minimum_can_be_set() {
    let short = Bitstring::new(1024);
    let vc = credential(StatusPurpose::Revocation, &short);
    let r = check_entry_with_minimum(&entry(StatusPurpose::Revocation, 3), &vc, 1024).unwrap();
    assert!(r.valid);
}

/// §2.1 / §3.2 step 15: with statusSize 2 the value is read from 2 bits and its message
/// reported.
#[test]
fn b1_status_size_2_reads_value_and_message() {
    let two = StatusSize::new(2).unwrap();
    let mut b = Bitstring::for_entries(0, two);
    assert_eq!(b.entries(two), MIN_ENTRIES);
    b.set(7, two, 2).unwrap();
    let vc = credential(StatusPurpose::Message, &b);
    let mut e = examples()["message_entry"].clone();
    e["statusListCredential"] = json!(LIST_URL);
    e["id"] = json!(format!("{LIST_URL}#7"));
    e["statusListIndex"] = json!("7");
    let e = BitstringStatusListEntry::from_json(&e).unwrap();
    let r = check_entry(&e, &vc).unwrap();
    assert_eq!(r.status, 2);
    assert!(!r.valid);
    assert_eq!(r.message.as_deref(), Some("rejected"));
}

/// Key resolution from the header `kid` for the list's own `issuer`: the right key verifies; a
/// missing `kid`, a `kid` of another DID, or an unknown `kid` is STATUS_VERIFICATION_ERROR.
#[test]
fn b4_verify_with_resolver_binds_key_to_issuer() {
    use crossauthz_credentials::status::verify_status_list_credential_with_resolver;
    let k = key();
    let public = k.public_jwk();
    let resolver = |iss: &str, kid: &str| {
        if iss == ISSUER && kid == KID {
            Ok(public.clone())
        } else {
            Err(jose::ResolveError::UnknownKid(kid.to_owned()))
        }
    };
    let vc = credential(StatusPurpose::Revocation, &list_with(&[9]));
    let jws = vc.sign(&k, KID).unwrap();
    assert_eq!(
        verify_status_list_credential_with_resolver(&jws, &resolver, now()).unwrap(),
        vc
    );

    let no_kid = jose::sign_compact(&k, VC_JWT_TYP, None, &vc.to_json()).unwrap();
    assert!(matches!(
        verify_status_list_credential_with_resolver(&no_kid, &resolver, now()),
        Err(BitstringStatusError::StatusVerification(
            StatusVerificationFailure::MissingKid
        ))
    ));
    let foreign = vc.sign(&k, "did:web:attacker.example#key-1").unwrap();
    assert!(matches!(
        verify_status_list_credential_with_resolver(&foreign, &resolver, now()),
        Err(BitstringStatusError::StatusVerification(
            StatusVerificationFailure::KidNotOfIssuer { .. }
        ))
    ));
    let prefix_trick = vc
        .sign(&k, "did:web:status.example.attacker#key-1")
        .unwrap();
    assert!(matches!(
        verify_status_list_credential_with_resolver(&prefix_trick, &resolver, now()),
        Err(BitstringStatusError::StatusVerification(
            StatusVerificationFailure::KidNotOfIssuer { .. }
        ))
    ));
    let unknown = vc.sign(&k, "did:web:status.example#key-2").unwrap();
    assert!(matches!(
        verify_status_list_credential_with_resolver(&unknown, &resolver, now()),
        Err(BitstringStatusError::StatusVerification(
            StatusVerificationFailure::KeyResolution(_)
        ))
    ));
    // Signed by another key under the right kid: bad signature.
    let forged = vc.sign(&key(), KID).unwrap();
    assert!(matches!(
        verify_status_list_credential_with_resolver(&forged, &resolver, now()),
        Err(BitstringStatusError::StatusVerification(
            StatusVerificationFailure::Signature(JoseError::BadSignature)
        ))
    ));
}
