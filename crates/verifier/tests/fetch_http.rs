//! The fetcher against a real HTTPS server on loopback: URL rules (C1), status (C2), content
//! type (C5), size cap (C12), timeouts and TLS trust. Loopback only (STACK.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fetch_common;

use std::time::Duration;

use crossauthz_core::ClientIdError;
use crossauthz_verifier::fetch::{FetchError, Fetcher, ResourceKind};
// Used by `fetch_common`.
use crossauthz_verifier::fetch::FetcherConfig;
use fetch_common::TestServer;

const CIMD: ResourceKind = ResourceKind::ClientMetadata;

async fn setup() -> (TestServer, Fetcher) {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(server.config()).unwrap();
    (server, fetcher)
}

#[tokio::test]
async fn a_good_document_is_fetched_with_its_peer_and_content_type() {
    let (server, fetcher) = setup().await;
    let fetched = fetcher.fetch(&server.url("/good"), CIMD).await.unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&fetched.body).unwrap();
    assert_eq!(doc["client_name"], "alpha");
    assert_eq!(fetched.content_type, "application/json");
    assert_eq!(fetched.peer.port(), server.port);
    assert!(fetched.peer.ip().is_loopback());
    assert_eq!(fetched.url.as_str(), server.url("/good"));
    // No Cache-Control: the configured minimum (C7).
    assert_eq!(fetched.fresh_for, server.config().cache_min);
}

#[tokio::test]
async fn other_kinds_accept_their_media_types() {
    let (server, fetcher) = setup().await;
    let did = fetcher
        .fetch(&server.url("/did-json"), ResourceKind::DidDocument)
        .await
        .unwrap();
    assert!(did.content_type.starts_with("application/did+json"));
    let tsl = fetcher
        .fetch(&server.url("/tsl"), ResourceKind::StatusListToken)
        .await
        .unwrap();
    assert_eq!(tsl.content_type, "application/statuslist+jwt");
    // A status list kind refuses JSON, a JSON kind refuses a status list.
    assert!(matches!(
        fetcher
            .fetch(&server.url("/good"), ResourceKind::StatusListToken)
            .await,
        Err(FetchError::ContentType { .. })
    ));
    assert!(matches!(
        fetcher.fetch(&server.url("/tsl"), ResourceKind::Jwks).await,
        Err(FetchError::ContentType { .. })
    ));
}

// C1 (CIMD §3): https only, refused before any connection is opened.
#[tokio::test]
async fn c1_http_is_refused_before_connecting() {
    let (server, fetcher) = setup().await;
    let http = format!("http://alpha.test:{}/good", server.port);
    for kind in ResourceKind::ALL {
        let err = fetcher.fetch(&http, kind).await.unwrap_err();
        assert!(matches!(err, FetchError::NotHttps), "{kind}: {err:?}");
        assert_eq!(err.code(), "fetch_not_https");
    }
    let http_literal = format!("http://127.0.0.1:{}/good", server.port);
    assert!(matches!(
        fetcher.fetch(&http_literal, CIMD).await,
        Err(FetchError::NotHttps)
    ));
    assert_eq!(server.accepts(), 0);
}

// C1 (CIMD §3): each client_id violation is refused by name, before connecting.
#[tokio::test]
async fn c1_client_id_violations_are_refused_before_connecting() {
    let (server, fetcher) = setup().await;
    let base = format!("https://alpha.test:{}", server.port);
    let cases = [
        (format!("{base}/a/../good"), "dot"),
        (format!("{base}/good#frag"), "fragment"),
        (
            format!("https://user:pass@alpha.test:{}/good", server.port),
            "userinfo",
        ),
        (format!("{base}/good?x=1"), "query"),
        (base.clone(), "path"),
        (format!("{base}/"), "path"),
    ];
    for (url, what) in &cases {
        let err = fetcher.fetch(url, CIMD).await.unwrap_err();
        let ok = match *what {
            "dot" => matches!(
                err,
                FetchError::InvalidClientId(ClientIdError::DotSegment { .. })
            ),
            "fragment" => matches!(err, FetchError::InvalidClientId(ClientIdError::Fragment)),
            "userinfo" => matches!(err, FetchError::InvalidClientId(ClientIdError::Userinfo)),
            "query" => matches!(err, FetchError::InvalidClientId(ClientIdError::Query)),
            _ => matches!(err, FetchError::InvalidClientId(ClientIdError::MissingPath)),
        };
        assert!(ok, "{url}: {err:?}");
    }
    // A jwks_uri may carry a query but no fragment or userinfo.
    assert!(matches!(
        fetcher
            .fetch(&format!("{base}/good#f"), ResourceKind::Jwks)
            .await,
        Err(FetchError::InvalidUrl(_))
    ));
    assert!(matches!(
        fetcher.fetch("not a url", ResourceKind::Jwks).await,
        Err(FetchError::InvalidUrl(_) | FetchError::NotHttps)
    ));
    assert_eq!(server.accepts(), 0);
}

// C2 (CIMD §4): redirects are never followed.
#[tokio::test]
async fn c2_redirects_are_refused_not_followed() {
    let (server, fetcher) = setup().await;
    for code in [301u16, 302, 303, 307, 308] {
        let err = fetcher
            .fetch(&server.url(&format!("/status/{code}")), CIMD)
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Redirect { status } if status == code),
            "{code}: {err:?}"
        );
        assert_eq!(err.code(), "fetch_redirect");
    }
    assert_eq!(server.hits("/good"), 0, "the Location was not followed");
}

// C2 (CIMD §4): success MUST be 200; 201, 204, 4xx and 5xx are errors.
#[tokio::test]
async fn c2_every_status_but_200_is_an_error() {
    let (server, fetcher) = setup().await;
    for code in [
        201u16, 202, 203, 204, 206, 400, 401, 403, 404, 410, 500, 502, 503,
    ] {
        let err = fetcher
            .fetch(&server.url(&format!("/status/{code}")), CIMD)
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::Status { status } if status == code),
            "{code}: {err:?}"
        );
        assert_eq!(err.code(), "fetch_status");
    }
    fetcher
        .fetch(&server.url("/status/200"), CIMD)
        .await
        .unwrap();
}

// C5 (CIMD §4.1): the content type is JSON.
#[tokio::test]
async fn c5_wrong_or_missing_content_type_is_refused() {
    let (server, fetcher) = setup().await;
    let err = fetcher.fetch(&server.url("/html"), CIMD).await.unwrap_err();
    assert!(
        matches!(&err, FetchError::ContentType { got } if got == "text/html"),
        "{err:?}"
    );
    let err = fetcher
        .fetch(&server.url("/no-content-type"), CIMD)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::ContentType { got } if got.is_empty()),
        "{err:?}"
    );
}

// C12 (CIMD §6.6): 5 KB cap — 5120 bytes pass, 5121 do not, with or without Content-Length.
#[tokio::test]
async fn c12_body_over_5120_bytes_is_refused() {
    let (server, fetcher) = setup().await;
    let at_cap = fetcher
        .fetch(&server.url("/size/5120"), CIMD)
        .await
        .unwrap();
    assert_eq!(at_cap.body.len(), 5120);
    let err = fetcher
        .fetch(&server.url("/size/5121"), CIMD)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 5120 }),
        "{err:?}"
    );

    // Chunked, no Content-Length: caught while streaming.
    let streamed = fetcher
        .fetch(&server.url("/stream/5120"), CIMD)
        .await
        .unwrap();
    assert_eq!(streamed.body.len(), 5120);
    let err = fetcher
        .fetch(&server.url("/stream/5121"), CIMD)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 5120 }),
        "{err:?}"
    );
    let err = fetcher
        .fetch(&server.url("/stream/200000"), CIMD)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 5120 }),
        "{err:?}"
    );

    // Other kinds have their own, larger caps.
    let jwks = fetcher
        .fetch(&server.url("/size/20000"), ResourceKind::Jwks)
        .await
        .unwrap();
    assert_eq!(jwks.body.len(), 20000);
}

#[tokio::test]
async fn a_configured_cap_applies_per_kind() {
    let server = TestServer::start().await;
    let mut config = server.config();
    config.max_bytes.jwks = 100;
    let fetcher = Fetcher::new(config).unwrap();
    assert!(matches!(
        fetcher
            .fetch(&server.url("/size/101"), ResourceKind::Jwks)
            .await,
        Err(FetchError::TooLarge { limit: 100 })
    ));
    fetcher
        .fetch(&server.url("/size/101"), ResourceKind::ClientMetadata)
        .await
        .unwrap();
}

// A server that never answers, or stalls mid-body, times out (DESIGN §6 step 1: timeouts).
#[tokio::test]
async fn a_slow_server_times_out() {
    let (server, fetcher) = setup().await;
    let started = std::time::Instant::now();
    let err = fetcher
        .fetch(&server.url("/slow-head"), CIMD)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout), "{err:?}");
    let err = fetcher
        .fetch(&server.url("/slow-body"), CIMD)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_total_deadline_bounds_the_whole_fetch() {
    let server = TestServer::start().await;
    let config = FetcherConfig {
        read_timeout: Duration::from_secs(10),
        total_timeout: Duration::from_millis(300),
        ..server.config()
    };
    let fetcher = Fetcher::new(config).unwrap();
    let started = std::time::Instant::now();
    assert!(matches!(
        fetcher.fetch(&server.url("/slow-head"), CIMD).await,
        Err(FetchError::Timeout)
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
}

// TLS: a certificate from a CA we do not trust is refused.
#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let server = TestServer::start().await;
    let other_ca = crossauthz_tls::DevCa::generate("someone else").unwrap();
    let config = FetcherConfig {
        extra_roots_pem: Some(other_ca.cert_pem().to_owned()),
        ..server.config()
    };
    let fetcher = Fetcher::new(config).unwrap();
    let err = fetcher.fetch(&server.url("/good"), CIMD).await.unwrap_err();
    assert!(matches!(err, FetchError::Tls(_)), "{err:?}");
    assert_eq!(server.hits("/good"), 0);
}

// A closed port is a connection error, not a panic.
#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let server = TestServer::start().await;
    let mut config = server.config();
    // Bind and drop a listener to find a port that is now closed.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    config.resolve_overrides.insert(
        "closed.test".into(),
        vec![std::net::SocketAddr::from(([127, 0, 0, 1], closed))],
    );
    let fetcher = Fetcher::new(config).unwrap();
    let err = fetcher
        .fetch("https://closed.test/doc.json", CIMD)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Connect(_)), "{err:?}");
}

#[tokio::test]
async fn an_unknown_host_is_a_dns_error_without_the_system_resolver() {
    let (_server, fetcher) = setup().await;
    let err = fetcher
        .fetch("https://nowhere.test/doc.json", CIMD)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Dns(_)), "{err:?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    // The URL check is a parser of untrusted input: it never panics, and never lets a non-https
    // URL through.
    #[test]
    fn check_url_never_panics(s in "\\PC{0,80}", kind in 0usize..5) {
        // One fetcher for all cases: building the platform TLS verifier is costly.
        static FETCHER: std::sync::LazyLock<Fetcher> =
            std::sync::LazyLock::new(|| Fetcher::new(FetcherConfig::default()).unwrap());
        let fetcher = &*FETCHER;
        let kind = ResourceKind::ALL[kind];
        if let Ok(url) = fetcher.check_url(&s, kind) {
            proptest::prop_assert_eq!(url.scheme(), "https");
        }
    }
}

#[test]
fn a_garbage_extra_root_is_a_config_error() {
    for system_roots in [false, true] {
        let config = FetcherConfig {
            extra_roots_pem: Some(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            ),
            system_roots,
            ..FetcherConfig::default()
        };
        let result = Fetcher::new(config);
        assert!(
            matches!(result, Err(FetchError::Config(_))),
            "system_roots={system_roots}: {result:?}"
        );
    }
}
