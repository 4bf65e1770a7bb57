//! `GET /status/{list}` and `GET /status/{list}/suspension` over real HTTPS (test CA), backed by
//! the real status-list and issuer services on PostgreSQL: content negotiation (T4), caching
//! headers consistent with `ttl`, ETag / 304, gzip, CORS (T4), 404 / 406 / 501 (T5 §8.4) / 503
//! problems, and issue → revoke → the lists a verifier fetches show it (T3, B1, B2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod status_common;

use std::io::Read;

use chrono::Utc;
use crossauthz_credentials::jose::decode_unverified;
use crossauthz_credentials::sd_jwt;
use crossauthz_credentials::status::{
    BitstringStatusListEntry, StatusListReference, StatusType, check_entry,
    verify_status_list_credential, verify_status_list_token,
};
use crossauthz_proto::common::{Actor, CredentialFormat};
use crossauthz_proto::issuer::ChangeStatusRequest;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;
use status_common::Stack;

const TSL: &str = "application/statuslist+jwt";
const VC: &str = "application/vc+jwt";

fn list_path(uri: &str) -> String {
    let (_, path) = uri.split_once(".localhost:").unwrap();
    path.split_once('/').map(|(_, p)| format!("/{p}")).unwrap()
}

async fn get(s: &Stack, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut req = s.http.get(s.url(path));
    if let Some(a) = accept {
        req = req.header(header::ACCEPT, a);
    }
    req.send().await.unwrap()
}

fn assert_problem(r: &reqwest::Response, status: StatusCode) {
    assert_eq!(r.status(), status);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
}

// T4 §8.1/§8.2: Accept statuslist+jwt → the Token Status List, vc+jwt → the Bitstring Status
// List credential, none or */* → the Token Status List, anything else → 406; Content-Type,
// Cache-Control = ttl, ETag, Vary and CORS on every answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t4_content_negotiation_and_headers_over_https() {
    let s = Stack::start().await;
    let r = s.allocate().await;
    let path = list_path(&r.uri);
    assert_eq!(path, format!("/status/{}", r.list_id));

    for (accept, expected, typ) in [
        (None, TSL, "statuslist+jwt"),
        (Some("*/*"), TSL, "statuslist+jwt"),
        (Some(TSL), TSL, "statuslist+jwt"),
        (Some(VC), VC, "vc+jwt"),
        (
            Some("application/statuslist+jwt;q=0.1, application/vc+jwt"),
            VC,
            "vc+jwt",
        ),
    ] {
        let resp = get(&s, &path, accept).await;
        assert_eq!(resp.status(), StatusCode::OK, "{accept:?}");
        let h = resp.headers().clone();
        assert_eq!(h[header::CONTENT_TYPE], expected);
        assert_eq!(h[header::CACHE_CONTROL], "public, max-age=300");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(h[header::VARY].to_str().unwrap().contains("accept"));
        let etag = h[header::ETAG].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "strong ETag");
        let body = resp.text().await.unwrap();
        let (jose, claims) = decode_unverified(&body).unwrap();
        assert_eq!(jose.typ.as_deref(), Some(typ));
        if expected == TSL {
            // T2: `ttl` (seconds) consistent with Cache-Control.
            assert_eq!(claims["ttl"], 300);
            assert_eq!(claims["sub"], r.uri.as_str());
        } else {
            // B2: `ttl` in milliseconds; the revocation list lives at the list URL.
            assert_eq!(claims["credentialSubject"]["ttl"], 300_000);
            assert_eq!(claims["credentialSubject"]["statusPurpose"], "revocation");
            assert_eq!(claims["id"], r.uri.as_str());
        }
    }
    for bad in ["text/html", "application/json", "application/vc+jwt;q=0"] {
        let resp = get(&s, &path, Some(bad)).await;
        assert_problem(&resp, StatusCode::NOT_ACCEPTABLE);
    }

    let sus = get(&s, &format!("{path}/suspension"), Some(VC)).await;
    assert_eq!(sus.status(), StatusCode::OK);
    assert_eq!(sus.headers()[header::CONTENT_TYPE], VC);
    let (_, claims) = decode_unverified(&sus.text().await.unwrap()).unwrap();
    assert_eq!(claims["credentialSubject"]["statusPurpose"], "suspension");
    assert_eq!(claims["id"], format!("{}/suspension", r.uri));
    let sus = get(&s, &format!("{path}/suspension"), None).await;
    assert_eq!(sus.headers()[header::CONTENT_TYPE], VC);
    let sus = get(&s, &format!("{path}/suspension"), Some(TSL)).await;
    assert_problem(&sus, StatusCode::NOT_ACCEPTABLE);

    // HEAD answers the headers alone.
    let head = s
        .http
        .request(Method::HEAD, s.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[header::CONTENT_TYPE], TSL);
    assert!(head.bytes().await.unwrap().is_empty());
    s.stop().await;
}

// ETag / If-None-Match → 304 with no body; a change gives a new ETag and a 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_if_none_match_is_304_until_the_list_changes() {
    let s = Stack::start().await;
    let r = s.allocate().await;
    let path = list_path(&r.uri);
    let first = get(&s, &path, Some(TSL)).await;
    let etag = first.headers()[header::ETAG].clone();

    let not_modified = s
        .http
        .get(s.url(&path))
        .header(header::ACCEPT, TSL)
        .header(header::IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(not_modified.headers()[header::ETAG], etag);
    assert_eq!(
        not_modified.headers()[header::CACHE_CONTROL],
        "public, max-age=300"
    );
    assert!(not_modified.bytes().await.unwrap().is_empty());

    // The other representation has another validator: no 304 across formats.
    let other = s
        .http
        .get(s.url(&path))
        .header(header::ACCEPT, VC)
        .header(header::IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);

    s.status_list()
        .set_status(crossauthz_proto::status_list::SetStatusRequest {
            list_id: r.list_id.clone(),
            index: r.index,
            status: crossauthz_proto::common::CredentialStatus::Revoked as i32,
            actor: None,
        })
        .await
        .unwrap();
    let changed = s
        .http
        .get(s.url(&path))
        .header(header::ACCEPT, TSL)
        .header(header::IF_NONE_MATCH, etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()[header::ETAG], etag);
    s.stop().await;
}

// T4 §8.2: gzip Content-Encoding SHOULD be used — it is when the client accepts it, with its own
// strong validator; the decoded body is the same JWS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t4_gzip_content_encoding_when_accepted() {
    let s = Stack::start().await;
    let r = s.allocate().await;
    let path = list_path(&r.uri);
    let plain = get(&s, &path, Some(TSL)).await;
    let plain_etag = plain.headers()[header::ETAG].clone();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain = plain.text().await.unwrap();

    let gz = s
        .http
        .get(s.url(&path))
        .header(header::ACCEPT, TSL)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), StatusCode::OK);
    assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
    assert!(
        gz.headers()[header::VARY]
            .to_str()
            .unwrap()
            .contains("accept-encoding")
    );
    let gz_etag = gz.headers()[header::ETAG].clone();
    assert_ne!(gz_etag, plain_etag);
    let bytes = gz.bytes().await.unwrap();
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain);

    let not_modified = s
        .http
        .get(s.url(&path))
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::IF_NONE_MATCH, gz_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    s.stop().await;
}

// Unknown list → 404, malformed or non-canonical id → 404, `?time=` → 501 (T5 §8.4), all
// RFC 9457 problems with CORS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t5_unknown_and_malformed_lists_are_404_and_time_is_501() {
    let s = Stack::start().await;
    let r = s.allocate().await;
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/status/{unknown}"),
        format!("/status/{unknown}/suspension"),
        "/status/not-a-list".to_owned(),
        format!("/status/{}", r.list_id.to_uppercase()),
        format!("/status/{}", r.list_id.replace('-', "")),
    ] {
        let resp = get(&s, &path, None).await;
        assert_problem(&resp, StatusCode::NOT_FOUND);
        assert_eq!(resp.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        let p: Value = resp.json().await.unwrap();
        assert_eq!(p["status"], 404, "{path}");
    }
    for path in [
        format!("/status/{}?time=1700000000", r.list_id),
        format!("/status/{}/suspension?time=1700000000", r.list_id),
    ] {
        let resp = get(&s, &path, Some(TSL)).await;
        assert_problem(&resp, StatusCode::NOT_IMPLEMENTED);
    }
    s.stop().await;
}

// T4 §8.1: CORS SHOULD be supported — a browser preflight for a conditional request is allowed
// from any origin and ETag is readable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t4_cors_preflight_and_exposed_headers() {
    let s = Stack::start().await;
    let r = s.allocate().await;
    let path = list_path(&r.uri);
    let pre = s
        .http
        .request(Method::OPTIONS, s.url(&path))
        .header(header::ORIGIN, "https://verifier.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "accept, if-none-match",
        )
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success());
    let h = pre.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let methods = h[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap();
    assert!(methods.contains("GET"));
    let allowed = h[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("if-none-match") && allowed.contains("accept"));

    let resp = s
        .http
        .get(s.url(&path))
        .header(header::ORIGIN, "https://verifier.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let exposed = resp.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("etag"));
    s.stop().await;
}

// The status-list service down: 503 problem (no internal detail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_unavailable_is_503() {
    let mut s = Stack::start().await;
    let r = s.allocate().await;
    s.stop_status_list().await;
    let resp = get(&s, &list_path(&r.uri), Some(TSL)).await;
    assert_problem(&resp, StatusCode::SERVICE_UNAVAILABLE);
    let p: Value = resp.json().await.unwrap();
    assert!(!p["detail"].as_str().unwrap().contains("127.0.0.1"));
    s.stop().await;
}

// The issue's "done when", as a verifier in another domain sees it: issue a credential in both
// formats, revoke / suspend through the issuer, then follow each credential's own status
// reference over HTTPS — T3 `status.status_list {idx, uri}` for dc+sd-jwt, B1
// `BitstringStatusListEntry` items for vc+jwt — verify the list and read the entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_then_revoke_or_suspend_is_visible_through_the_credentials_own_references() {
    let s = Stack::start().await;
    let key = s.issuer_key().await;
    let vc = s.issue(CredentialFormat::VcJwt).await;
    let sd = s.issue(CredentialFormat::DcSdJwt).await;
    let actor = Some(Actor {
        subject: "admin".into(),
        reason: "test".into(),
    });
    s.issuer()
        .revoke_credential(ChangeStatusRequest {
            id: vc.id.clone(),
            actor: actor.clone(),
        })
        .await
        .unwrap();
    s.issuer()
        .suspend_credential(ChangeStatusRequest {
            id: sd.id.clone(),
            actor,
        })
        .await
        .unwrap();

    // vc+jwt: one entry per purpose; revocation set, suspension not.
    let (_, claims) = decode_unverified(&vc.credential).unwrap();
    let entries = claims["credentialStatus"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    for e in entries {
        let entry = BitstringStatusListEntry::from_json(e).unwrap();
        let url = entry.status_list_credential.clone();
        assert!(url.starts_with(&s.base));
        let resp = get(&s, &list_path(&url), Some(VC)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let list =
            verify_status_list_credential(&resp.text().await.unwrap(), &key, Utc::now()).unwrap();
        let result = check_entry(&entry, &list).unwrap();
        let revoked_purpose = entry.status_purpose.as_str() == "revocation";
        assert_eq!(!result.valid, revoked_purpose, "{}", entry.status_purpose);
    }

    // dc+sd-jwt: the Token Status List at `uri`, index `idx`, shows SUSPENDED.
    let issuer_jwt = sd.credential.split('~').next().unwrap();
    let (jose, claims) = decode_unverified(issuer_jwt).unwrap();
    assert_eq!(jose.typ.as_deref(), Some(sd_jwt::TYP));
    let reference: StatusListReference =
        serde_json::from_value(claims["status"]["status_list"].clone()).unwrap();
    let resp = get(&s, &list_path(&reference.uri), Some(TSL)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let token = verify_status_list_token(&resp.text().await.unwrap(), &key, &reference, Utc::now())
        .unwrap();
    assert_eq!(token.status(reference.idx).unwrap(), StatusType::Suspended);
    s.stop().await;
}
