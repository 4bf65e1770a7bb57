//! GetPublishedList over real gRPC and Postgres with the real issuer signing: issue → revoke →
//! both published formats (decoded by the credentials library AND checked bit by bit against
//! the spec encodings: TSL LSB-first 2-bit ZLIB, BSL MSB-first GZIP), suspend → unsuspend round
//! trip, caching by list version and half-lifetime, no revocation lost across a restart, and the
//! error codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::{PUBLIC_URL, Stack, config};
use crossauthz_core::clock::Clock;
use crossauthz_credentials::jose::{b64url_decode, decode_unverified};
use crossauthz_credentials::keys::PublicJwk;
use crossauthz_credentials::status::{
    Bitstring, BitstringStatusListEntry, MIN_ENTRIES, StatusBits, StatusListReference,
    StatusPurpose, StatusType, check_entry, verify_status_list_credential,
    verify_status_list_token,
};
use crossauthz_proto::common::{CredentialStatus, ListFormat, StatusReference};
use crossauthz_proto::status_list::status_list_client::StatusListClient;
use crossauthz_proto::status_list::{
    AllocateEntryRequest, GetPublishedListRequest, PublishedList, SetStatusRequest,
};
use crossauthz_testkit::TracedChannel;
use flate2::read::{GzDecoder, ZlibDecoder};
use std::io::Read;
use tonic::Code;
use uuid::Uuid;

async fn allocate(c: &mut StatusListClient<TracedChannel>) -> StatusReference {
    c.allocate_entry(AllocateEntryRequest {
        credential_id: Uuid::new_v4().to_string(),
    })
    .await
    .unwrap()
    .into_inner()
}

async fn set(c: &mut StatusListClient<TracedChannel>, r: &StatusReference, to: CredentialStatus) {
    c.set_status(SetStatusRequest {
        list_id: r.list_id.clone(),
        index: r.index,
        status: to as i32,
        actor: None,
    })
    .await
    .unwrap();
}

async fn published(
    c: &mut StatusListClient<TracedChannel>,
    list_id: &str,
    format: ListFormat,
    purpose: &str,
) -> Result<PublishedList, tonic::Status> {
    c.get_published_list(GetPublishedListRequest {
        list_id: list_id.into(),
        format: format as i32,
        purpose: purpose.into(),
    })
    .await
    .map(|r| r.into_inner())
}

/// The Token Status List as the library decodes it, plus the raw value at `idx` read straight
/// from the spec encoding: base64url → ZLIB → byte idx/4, bits (idx%4)*2.. LSB-first (T1).
struct Tsl {
    library: Vec<StatusType>,
    raw: Vec<u8>,
}

fn read_tsl(
    jws: &str,
    key: &PublicJwk,
    uri: &str,
    idxs: &[u64],
    now: chrono::DateTime<chrono::Utc>,
) -> Tsl {
    let (header, claims) = decode_unverified(jws).unwrap();
    assert_eq!(header.typ.as_deref(), Some("statuslist+jwt"));
    assert!(
        header
            .kid
            .as_deref()
            .unwrap()
            .starts_with("did:web:alpha.localhost#")
    );
    assert_eq!(claims["sub"], uri);
    assert_eq!(claims["ttl"], 300);
    assert_eq!(claims["status_list"]["bits"], 2);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        86_400
    );
    let verified = verify_status_list_token(
        jws,
        key,
        &StatusListReference {
            idx: idxs[0],
            uri: uri.into(),
        },
        now,
    )
    .unwrap();
    assert_eq!(verified.list.bits(), StatusBits::Two);
    assert_eq!(verified.list.len(), 131_072);
    let library = idxs.iter().map(|&i| verified.status(i).unwrap()).collect();

    let compressed = b64url_decode(claims["status_list"]["lst"].as_str().unwrap()).unwrap();
    let mut bytes = Vec::new();
    ZlibDecoder::new(&compressed[..])
        .read_to_end(&mut bytes)
        .unwrap();
    assert_eq!(bytes.len(), 131_072 / 4);
    let raw = idxs
        .iter()
        .map(|&i| (bytes[(i / 4) as usize] >> ((i % 4) * 2)) & 0b11)
        .collect();
    Tsl { library, raw }
}

/// The bitstring credential's bits at `idxs`, through the library (verify + §3.2 check of an
/// entry) and straight from the spec encoding: `u` + base64url → GZIP → byte idx/8, bit
/// 0x80 >> idx%8, MSB-first (B2).
fn read_bsl(
    jws: &str,
    key: &PublicJwk,
    url: &str,
    purpose: StatusPurpose,
    idxs: &[u64],
    now: chrono::DateTime<chrono::Utc>,
) -> (Vec<bool>, Vec<bool>) {
    let (header, claims) = decode_unverified(jws).unwrap();
    assert_eq!(header.typ.as_deref(), Some("vc+jwt"));
    assert_eq!(claims["id"], url);
    assert_eq!(claims["issuer"], "did:web:alpha.localhost");
    assert_eq!(claims["credentialSubject"]["ttl"], 300_000);
    assert_eq!(
        claims["credentialSubject"]["statusPurpose"],
        purpose.as_str()
    );
    let vc = verify_status_list_credential(jws, key, now).unwrap();
    let library = idxs
        .iter()
        .map(|&i| {
            let entry = BitstringStatusListEntry::new(purpose.clone(), i, url);
            !check_entry(&entry, &vc).unwrap().valid
        })
        .collect();

    let encoded = claims["credentialSubject"]["encodedList"].as_str().unwrap();
    let compressed = b64url_decode(encoded.strip_prefix('u').unwrap()).unwrap();
    let mut bytes = Vec::new();
    GzDecoder::new(&compressed[..])
        .read_to_end(&mut bytes)
        .unwrap();
    assert!(bytes.len() as u64 * 8 >= MIN_ENTRIES);
    assert_eq!(
        Bitstring::from_bytes(bytes.clone()).len_bits(),
        bytes.len() as u64 * 8
    );
    let raw = idxs
        .iter()
        .map(|&i| bytes[(i / 8) as usize] & (0x80 >> (i % 8)) != 0)
        .collect();
    (library, raw)
}

// The "done when": issue → revoke → the published list (both formats, decoded by the
// library and checked against the spec encoding) shows the entry revoked. T1, T2, B2, B4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t1_b2_revocation_and_suspension_show_in_both_published_formats() {
    let stack = Stack::start(config()).await;
    let mut c = stack.client();
    let revoked = allocate(&mut c).await;
    let suspended = allocate(&mut c).await;
    let valid = allocate(&mut c).await;
    set(&mut c, &revoked, CredentialStatus::Revoked).await;
    set(&mut c, &suspended, CredentialStatus::Suspended).await;
    let list_id = revoked.list_id.clone();
    let uri = format!("{PUBLIC_URL}/status/{list_id}");
    assert_eq!(revoked.uri, uri);
    let idxs = [revoked.index, suspended.index, valid.index];
    let key = stack.issuer_key().await;
    let now = stack.clock.now();

    let tsl = published(&mut c, &list_id, ListFormat::TokenStatusList, "")
        .await
        .unwrap();
    assert_eq!(tsl.media_type, "application/statuslist+jwt");
    assert_eq!(tsl.ttl_seconds, 300);
    assert_eq!(tsl.expires_at.unwrap().seconds, now.timestamp() + 86_400);
    assert!(tsl.etag.starts_with('"') && tsl.etag.len() == 45);
    let t = read_tsl(&tsl.body, &key, &uri, &idxs, now);
    assert_eq!(
        t.library,
        vec![
            StatusType::Invalid,
            StatusType::Suspended,
            StatusType::Valid
        ]
    );
    assert_eq!(t.raw, vec![1, 2, 0]);

    let rev = published(
        &mut c,
        &list_id,
        ListFormat::BitstringStatusList,
        "revocation",
    )
    .await
    .unwrap();
    assert_eq!(rev.media_type, "application/vc+jwt");
    let (lib, raw) = read_bsl(&rev.body, &key, &uri, StatusPurpose::Revocation, &idxs, now);
    assert_eq!(lib, vec![true, false, false]);
    assert_eq!(raw, lib);

    let sus = published(
        &mut c,
        &list_id,
        ListFormat::BitstringStatusList,
        "suspension",
    )
    .await
    .unwrap();
    let sus_url = format!("{uri}/suspension");
    let (lib, raw) = read_bsl(
        &sus.body,
        &key,
        &sus_url,
        StatusPurpose::Suspension,
        &idxs,
        now,
    );
    assert_eq!(lib, vec![false, true, false]);
    assert_eq!(raw, lib);
    // Three different documents, three validators.
    assert_ne!(tsl.etag, rev.etag);
    assert_ne!(rev.etag, sus.etag);
    stack.finish().await;
}

// B4: suspension is reversible — suspend then unsuspend, visible in both formats each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b4_suspend_unsuspend_round_trip_is_visible_in_both_formats() {
    let stack = Stack::start(config()).await;
    let mut c = stack.client();
    let r = allocate(&mut c).await;
    let key = stack.issuer_key().await;
    let idxs = [r.index];
    let sus_url = format!("{}/suspension", r.uri);
    let mut etags = Vec::new();
    for (to, tsl_value, bit) in [
        (None, 0u8, false),
        (Some(CredentialStatus::Suspended), 2, true),
        (Some(CredentialStatus::Valid), 0, false),
    ] {
        if let Some(to) = to {
            set(&mut c, &r, to).await;
        }
        let now = stack.clock.now();
        let tsl = published(&mut c, &r.list_id, ListFormat::TokenStatusList, "")
            .await
            .unwrap();
        assert_eq!(
            read_tsl(&tsl.body, &key, &r.uri, &idxs, now).raw,
            vec![tsl_value]
        );
        let sus = published(
            &mut c,
            &r.list_id,
            ListFormat::BitstringStatusList,
            "suspension",
        )
        .await
        .unwrap();
        let (lib, raw) = read_bsl(
            &sus.body,
            &key,
            &sus_url,
            StatusPurpose::Suspension,
            &idxs,
            now,
        );
        assert_eq!((lib[0], raw[0]), (bit, bit));
        let rev = published(&mut c, &r.list_id, ListFormat::BitstringStatusList, "")
            .await
            .unwrap();
        let (lib, _) = read_bsl(
            &rev.body,
            &key,
            &r.uri,
            StatusPurpose::Revocation,
            &idxs,
            now,
        );
        assert!(!lib[0], "a suspension never shows as a revocation");
        etags.push(tsl.etag);
        stack.clock.advance(Duration::seconds(1));
    }
    // Every change gives a new validator.
    assert_ne!(etags[0], etags[1]);
    assert_ne!(etags[1], etags[2]);
    stack.finish().await;
}

// Caching: the same version is served from the cache (same body: its `iat` does not move)
// until half of the lifetime has passed; a change is published at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_list_is_reused_until_the_list_changes_or_half_its_lifetime_passes() {
    let stack = Stack::start(config()).await;
    let mut c = stack.client();
    let r = allocate(&mut c).await;
    let first = published(&mut c, &r.list_id, ListFormat::TokenStatusList, "")
        .await
        .unwrap();
    stack.clock.advance(Duration::seconds(600));
    let again = published(&mut c, &r.list_id, ListFormat::TokenStatusList, "")
        .await
        .unwrap();
    assert_eq!(again, first, "same version, young: served from the cache");

    set(&mut c, &r, CredentialStatus::Revoked).await;
    let changed = published(&mut c, &r.list_id, ListFormat::TokenStatusList, "")
        .await
        .unwrap();
    assert_ne!(changed.etag, first.etag);
    let (_, claims) = decode_unverified(&changed.body).unwrap();
    assert_eq!(
        claims["iat"].as_i64().unwrap(),
        stack.clock.now().timestamp()
    );

    // Just under half of the 24 h lifetime: still cached; at half: re-signed.
    stack.clock.advance(Duration::seconds(43_199));
    let cached = published(&mut c, &r.list_id, ListFormat::TokenStatusList, "")
        .await
        .unwrap();
    assert_eq!(cached, changed);
    stack.clock.advance(Duration::seconds(1));
    let resigned = published(&mut c, &r.list_id, ListFormat::TokenStatusList, "")
        .await
        .unwrap();
    assert_ne!(resigned.body, changed.body);
    assert!(resigned.expires_at.unwrap().seconds > changed.expires_at.unwrap().seconds);
    stack.finish().await;
}

// The issue: kill and restart mid-way — no revocation lost: a fresh instance publishes the
// revocations the old one acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_survive_a_restart_in_the_published_lists() {
    let mut stack = Stack::start(config()).await;
    let mut c = stack.client();
    let mut refs = Vec::new();
    for i in 0..10 {
        let r = allocate(&mut c).await;
        if i % 2 == 0 {
            set(&mut c, &r, CredentialStatus::Revoked).await;
        }
        refs.push(r);
    }
    stack.restart_status_list(config()).await;
    let mut c = stack.client();
    let key = stack.issuer_key().await;
    let tsl = published(&mut c, &refs[0].list_id, ListFormat::TokenStatusList, "")
        .await
        .unwrap();
    let idxs: Vec<u64> = refs.iter().map(|r| r.index).collect();
    let t = read_tsl(&tsl.body, &key, &refs[0].uri, &idxs, stack.clock.now());
    let expected: Vec<u8> = (0..10).map(|i| if i % 2 == 0 { 1 } else { 0 }).collect();
    assert_eq!(t.raw, expected);
    stack.finish().await;
}

// Bad requests: unknown list NOT_FOUND; malformed id, missing format, a purpose on a Token
// Status List or an unknown purpose INVALID_ARGUMENT (B1 names the purposes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b1_bad_publication_requests_are_refused() {
    let stack = Stack::start(config()).await;
    let mut c = stack.client();
    let r = allocate(&mut c).await;
    let cases = [
        (
            Uuid::new_v4().to_string(),
            ListFormat::TokenStatusList,
            "",
            Code::NotFound,
        ),
        (
            "nope".to_owned(),
            ListFormat::TokenStatusList,
            "",
            Code::InvalidArgument,
        ),
        (
            r.list_id.clone(),
            ListFormat::Unspecified,
            "",
            Code::InvalidArgument,
        ),
        (
            r.list_id.clone(),
            ListFormat::TokenStatusList,
            "suspension",
            Code::InvalidArgument,
        ),
        (
            r.list_id.clone(),
            ListFormat::BitstringStatusList,
            "refresh",
            Code::InvalidArgument,
        ),
    ];
    for (list, format, purpose, code) in cases {
        let e = published(&mut c, &list, format, purpose).await.unwrap_err();
        assert_eq!(e.code(), code, "{list} {format:?} {purpose}");
    }
    stack.finish().await;
}

// The issuer down: a list that must be signed is UNAVAILABLE (the gateway answers 503); the
// lists already signed are still served from the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_unavailable_is_unavailable_but_cached_lists_are_still_served() {
    let mut stack = Stack::start(config()).await;
    let mut c = stack.client();
    let r = allocate(&mut c).await;
    let cached = published(&mut c, &r.list_id, ListFormat::TokenStatusList, "")
        .await
        .unwrap();
    stack.issuer_server.take().unwrap().stop().await;
    let e = published(&mut c, &r.list_id, ListFormat::BitstringStatusList, "")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    assert!(
        !e.message().contains("127.0.0.1"),
        "no internal detail on the wire"
    );
    let again = published(&mut c, &r.list_id, ListFormat::TokenStatusList, "")
        .await
        .unwrap();
    assert_eq!(again, cached);
    stack.finish().await;
}
