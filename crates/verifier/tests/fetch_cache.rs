//! The fetcher's cache (C7, CIMD §4.4): RFC 9111 freshness within [min, max], nothing cached
//! from errors or invalid documents, `no-store` honoured, single-flight for concurrent callers.
//! Real HTTPS on loopback; the server counts requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fetch_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crossauthz_verifier::fetch::{FetchError, Fetched, Fetcher, ResourceKind};
// Used by `fetch_common`.
use crossauthz_verifier::fetch::FetcherConfig;
use fetch_common::TestServer;

const CIMD: ResourceKind = ResourceKind::ClientMetadata;

/// A validator that parses JSON and checks `client_id` against the URL fetched.
fn document(fetched: &Fetched) -> Result<(serde_json::Value, Option<Duration>), String> {
    let doc: serde_json::Value =
        serde_json::from_slice(&fetched.body).map_err(|e| e.to_string())?;
    if doc.get("client_id").and_then(|v| v.as_str()).is_none() {
        return Err("no client_id".into());
    }
    Ok((doc, None))
}

fn config(server: &TestServer, min: u64, max: u64) -> FetcherConfig {
    FetcherConfig {
        cache_min: Duration::from_secs(min),
        cache_max: Duration::from_secs(max),
        ..server.config()
    }
}

// C7: a fresh, valid document is served from the cache on the second call.
#[tokio::test]
async fn c7_second_call_is_served_from_cache() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(config(&server, 30, 3600)).unwrap();
    let url = server.url("/max-age/600");
    let first = fetcher.get_validated(&url, CIMD, document).await.unwrap();
    let second = fetcher.get_validated(&url, CIMD, document).await.unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(server.hits("/max-age/600"), 1);

    // invalidate() forces the next call to fetch again.
    fetcher.invalidate(&url);
    fetcher.get_validated(&url, CIMD, document).await.unwrap();
    assert_eq!(server.hits("/max-age/600"), 2);

    // fetch() is never cached.
    fetcher.fetch(&url, CIMD).await.unwrap();
    assert_eq!(server.hits("/max-age/600"), 3);
}

// C7: "within its own minimum and maximum" — max-age is clamped to [cache_min, cache_max].
#[tokio::test]
async fn c7_max_age_is_clamped_to_the_configured_bounds() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(config(&server, 60, 600)).unwrap();
    let fresh = |path: &'static str| {
        let fetcher = fetcher.clone();
        let url = server.url(path);
        async move { fetcher.fetch(&url, CIMD).await.unwrap().fresh_for }
    };
    assert_eq!(fresh("/max-age/5").await, Duration::from_secs(60));
    assert_eq!(fresh("/max-age/0").await, Duration::from_secs(60));
    assert_eq!(fresh("/max-age/300").await, Duration::from_secs(300));
    assert_eq!(fresh("/max-age/86400").await, Duration::from_secs(600));
    assert_eq!(fresh("/good").await, Duration::from_secs(60));
    assert_eq!(fresh("/no-store").await, Duration::ZERO);
}

// C7: cache_max bounds a long max-age in the cache itself, not only in the number.
#[tokio::test]
async fn c7_an_entry_expires_at_cache_max() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(config(&server, 0, 1)).unwrap();
    let url = server.url("/max-age/86400");
    fetcher.get_validated(&url, CIMD, document).await.unwrap();
    fetcher.get_validated(&url, CIMD, document).await.unwrap();
    assert_eq!(server.hits("/max-age/86400"), 1);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    fetcher.get_validated(&url, CIMD, document).await.unwrap();
    assert_eq!(server.hits("/max-age/86400"), 2);
}

// C7 / RFC 9111 §5.2.2.5: `no-store` (and `no-cache`, which we cannot revalidate) is not cached.
#[tokio::test]
async fn c7_no_store_and_no_cache_are_not_cached() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(config(&server, 30, 3600)).unwrap();
    for path in ["/no-store", "/no-cache"] {
        let url = server.url(path);
        fetcher.get_validated(&url, CIMD, document).await.unwrap();
        fetcher.get_validated(&url, CIMD, document).await.unwrap();
        assert_eq!(server.hits(path), 2, "{path}");
    }
}

// C7: "MUST NOT cache error responses" — a 500 is fetched again next time.
#[tokio::test]
async fn c7_an_error_response_is_not_cached() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(config(&server, 30, 3600)).unwrap();
    let url = server.url("/flip");
    let err = fetcher
        .get_validated(&url, CIMD, document)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Status { status: 500 }), "{err:?}");
    // The next call fetches again, gets the good document, and caches it.
    fetcher.get_validated(&url, CIMD, document).await.unwrap();
    fetcher.get_validated(&url, CIMD, document).await.unwrap();
    assert_eq!(server.hits("/flip"), 2);

    let url = server.url("/status/500");
    for _ in 0..3 {
        assert!(matches!(
            fetcher.get_validated(&url, CIMD, document).await,
            Err(FetchError::Status { status: 500 })
        ));
    }
    assert_eq!(server.hits("/status/500"), 3);
}

// C7: "MUST NOT cache invalid or malformed documents" — a validator error is not cached.
#[tokio::test]
async fn c7_an_invalid_document_is_not_cached() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(config(&server, 30, 3600)).unwrap();
    let url = server.url("/max-age/600");
    let calls = AtomicUsize::new(0);
    for _ in 0..2 {
        let err = fetcher
            .get_validated(&url, CIMD, |_: &Fetched| {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<((), Option<Duration>), _>("client_id mismatch".to_owned())
            })
            .await
            .unwrap_err();
        assert!(
            matches!(&err, FetchError::Invalid(r) if r == "client_id mismatch"),
            "{err:?}"
        );
        assert_eq!(err.code(), "fetch_invalid_document");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(server.hits("/max-age/600"), 2);
    // Once valid, it is cached.
    fetcher.get_validated(&url, CIMD, document).await.unwrap();
    fetcher.get_validated(&url, CIMD, document).await.unwrap();
    assert_eq!(server.hits("/max-age/600"), 3);
}

// C7 with a caller override (status list `ttl`/`exp`): it can only shorten the lifetime.
#[tokio::test]
async fn c7_a_validator_limit_shortens_freshness() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(config(&server, 30, 3600)).unwrap();
    let url = server.url("/max-age/600");
    // Limit zero: not cached.
    for _ in 0..2 {
        fetcher
            .get_validated(&url, CIMD, |_: &Fetched| Ok(((), Some(Duration::ZERO))))
            .await
            .unwrap();
    }
    assert_eq!(server.hits("/max-age/600"), 2);
    // A limit above the HTTP freshness does not lengthen it (still cached, 600 s).
    let url = server.url("/max-age/601");
    for _ in 0..2 {
        fetcher
            .get_validated(&url, CIMD, |_: &Fetched| {
                Ok(((), Some(Duration::from_secs(99_999))))
            })
            .await
            .unwrap();
    }
    assert_eq!(server.hits("/max-age/601"), 1);
    // A short limit expires the entry early (1 s instead of 600 s).
    let url = server.url("/max-age/602");
    fetcher
        .get_validated(&url, CIMD, |_: &Fetched| {
            Ok(((), Some(Duration::from_millis(500))))
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    fetcher
        .get_validated(&url, CIMD, |_: &Fetched| Ok(((), None)))
        .await
        .unwrap();
    assert_eq!(server.hits("/max-age/602"), 2);
}

// Concurrent callers for one URL share one fetch (single-flight).
#[tokio::test]
async fn fifty_concurrent_callers_share_one_request() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(config(&server, 30, 3600)).unwrap();
    let url = server.url("/slowish");
    let validations = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let fetcher = fetcher.clone();
            let url = url.clone();
            let validations = validations.clone();
            tokio::spawn(async move {
                fetcher
                    .get_validated(&url, CIMD, move |f: &Fetched| {
                        validations.fetch_add(1, Ordering::SeqCst);
                        document(f)
                    })
                    .await
            })
        })
        .collect();
    let mut values = Vec::new();
    for task in tasks {
        values.push(task.await.unwrap().unwrap());
    }
    assert_eq!(server.hits("/slowish"), 1);
    assert_eq!(validations.load(Ordering::SeqCst), 1);
    assert!(values.iter().all(|v| Arc::ptr_eq(v, &values[0])));
}

// Concurrent callers share an error too, and it is not cached afterwards.
#[tokio::test]
async fn concurrent_callers_share_an_error_which_is_not_cached() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(config(&server, 30, 3600)).unwrap();
    let url = server.url("/slowish");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let fetcher = fetcher.clone();
            let url = url.clone();
            tokio::spawn(async move {
                fetcher
                    .get_validated(&url, CIMD, |_: &Fetched| {
                        Err::<((), Option<Duration>), _>("bad".to_owned())
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert!(matches!(task.await.unwrap(), Err(FetchError::Invalid(_))));
    }
    assert_eq!(server.hits("/slowish"), 1);
    fetcher.get_validated(&url, CIMD, document).await.unwrap();
    assert_eq!(server.hits("/slowish"), 2);
}

// One URL fetched as different kinds, or validated into different types, are separate entries.
#[tokio::test]
async fn entries_are_separate_per_kind_and_type() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(config(&server, 30, 3600)).unwrap();
    let url = server.url("/max-age/600");
    let as_value = fetcher.get_validated(&url, CIMD, document).await.unwrap();
    let as_len = fetcher
        .get_validated(&url, CIMD, |f: &Fetched| Ok((f.body.len(), None)))
        .await
        .unwrap();
    let as_jwks_len = fetcher
        .get_validated(&url, ResourceKind::Jwks, |f: &Fetched| {
            Ok((f.body.len(), None))
        })
        .await
        .unwrap();
    assert_eq!(*as_len, *as_jwks_len);
    assert!(as_value.get("client_id").is_some());
    assert_eq!(server.hits("/max-age/600"), 3);
    // invalidate(url) drops all three.
    fetcher.invalidate(&url);
    fetcher
        .get_validated(&url, CIMD, |f: &Fetched| Ok((f.body.len(), None)))
        .await
        .unwrap();
    assert_eq!(server.hits("/max-age/600"), 4);
}
