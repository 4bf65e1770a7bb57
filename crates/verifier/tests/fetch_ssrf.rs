//! The SSRF guard (C11, CIMD §6.5) end to end. Per STACK.md, only loopback variants are used,
//! with loopback NOT allowed, and the server counts connections to prove nothing reached it;
//! private, link-local and metadata ranges are unit-tested without connecting
//! (`crossauthz_core::net`, `fetch::resolve`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fetch_common;

use std::net::SocketAddr;

use crossauthz_core::ForbiddenAddress as Why;
use crossauthz_core::net::SpecialUse;
use crossauthz_verifier::fetch::{AddressRefusal, AddressStage, FetchError, Fetcher, ResourceKind};
// Used by `fetch_common`.
use crossauthz_verifier::fetch::FetcherConfig;
use fetch_common::TestServer;

// C11: every loopback spelling, as an IP literal, is refused before connecting.
#[tokio::test]
async fn c11_loopback_literals_are_refused_without_connecting() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(server.production_config()).unwrap();
    let port = server.port;
    let cases = [
        format!("https://127.0.0.1:{port}/doc.json"),
        format!("https://127.0.0.2:{port}/doc.json"),
        format!("https://[::1]:{port}/doc.json"),
        format!("https://0.0.0.0:{port}/doc.json"),
        format!("https://127.1:{port}/doc.json"),
        format!("https://2130706433:{port}/doc.json"),
        format!("https://0x7f.1:{port}/doc.json"),
        format!("https://[::ffff:127.0.0.1]:{port}/doc.json"),
        format!("https://[::127.0.0.1]:{port}/doc.json"),
        format!("https://[::]:{port}/doc.json"),
    ];
    for kind in [
        ResourceKind::ClientMetadata,
        ResourceKind::Jwks,
        ResourceKind::DidDocument,
    ] {
        for url in &cases {
            let err = fetcher.fetch(url, kind).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    FetchError::ForbiddenAddress {
                        stage: AddressStage::Literal,
                        reason: AddressRefusal::SpecialUse(_),
                        ..
                    }
                ),
                "{kind} {url}: {err:?}"
            );
            assert_eq!(err.code(), "fetch_forbidden_address");
        }
    }
    assert_eq!(server.accepts(), 0, "no connection reached the server");
}

#[tokio::test]
async fn c11_the_refusal_names_the_range() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(server.production_config()).unwrap();
    let port = server.port;
    let check = |url: String| {
        let fetcher = fetcher.clone();
        async move {
            fetcher
                .fetch(&url, ResourceKind::ClientMetadata)
                .await
                .unwrap_err()
        }
    };
    assert!(matches!(
        check(format!("https://127.0.0.2:{port}/d")).await,
        FetchError::ForbiddenAddress {
            reason: AddressRefusal::SpecialUse(Why::SpecialUse(SpecialUse::Loopback)),
            ..
        }
    ));
    assert!(matches!(
        check(format!("https://0.0.0.0:{port}/d")).await,
        FetchError::ForbiddenAddress {
            reason: AddressRefusal::SpecialUse(Why::SpecialUse(SpecialUse::Unspecified)),
            ..
        }
    ));
    assert!(matches!(
        check(format!("https://[::ffff:127.0.0.1]:{port}/d")).await,
        FetchError::ForbiddenAddress {
            reason: AddressRefusal::SpecialUse(Why::Ipv4Mapped { .. }),
            ..
        }
    ));
    assert_eq!(server.accepts(), 0);
}

// C11: a host name that resolves to loopback is refused at resolution, before connecting.
#[tokio::test]
async fn c11_a_name_resolving_to_loopback_is_refused_without_connecting() {
    let server = TestServer::start().await;
    let mut config = server.production_config();
    config.resolve_overrides.insert(
        "sneaky.test".into(),
        vec![
            SocketAddr::from(([127, 0, 0, 1], server.port)),
            "[::1]:0".parse().unwrap(),
        ],
    );
    let fetcher = Fetcher::new(config).unwrap();
    for url in [
        server.url("/good"),
        "https://sneaky.test/doc.json".to_owned(),
    ] {
        let err = fetcher
            .fetch(&url, ResourceKind::ClientMetadata)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                FetchError::ForbiddenAddress {
                    stage: AddressStage::Resolved,
                    reason: AddressRefusal::SpecialUse(Why::SpecialUse(SpecialUse::Loopback)),
                    ..
                }
            ),
            "{url}: {err:?}"
        );
    }
    assert_eq!(server.accepts(), 0);
}

// C11: `*.localhost` names (RFC 6761) are loopback: refused unless loopback is allowed.
#[tokio::test]
async fn c11_localhost_names_follow_the_loopback_setting() {
    let server = TestServer::start().await;
    let url = format!("https://alpha.localhost:{}/good", server.port);

    let config = FetcherConfig {
        resolve_localhost_names: true,
        ..server.production_config()
    };
    let fetcher = Fetcher::new(config).unwrap();
    let err = fetcher
        .fetch(&url, ResourceKind::ClientMetadata)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::ForbiddenAddress { .. }),
        "{err:?}"
    );
    assert_eq!(server.accepts(), 0);

    // start-dev: loopback allowed and *.localhost resolved locally.
    let config = FetcherConfig {
        resolve_localhost_names: true,
        ..server.config()
    };
    let fetcher = Fetcher::new(config).unwrap();
    let fetched = fetcher
        .fetch(&url, ResourceKind::ClientMetadata)
        .await
        .unwrap();
    assert!(fetched.peer.ip().is_loopback());
}

// The C11 development exception covers plain loopback only: never 0.0.0.0 or mapped forms.
#[tokio::test]
async fn c11_allow_loopback_admits_plain_loopback_only() {
    let server = TestServer::start().await;
    let fetcher = Fetcher::new(server.config()).unwrap();
    let port = server.port;
    let ok = fetcher
        .fetch(
            &format!("https://127.0.0.1:{port}/good"),
            ResourceKind::ClientMetadata,
        )
        .await
        .unwrap();
    assert_eq!(ok.peer, SocketAddr::from(([127, 0, 0, 1], port)));
    let before = server.accepts();
    for url in [
        format!("https://0.0.0.0:{port}/good"),
        format!("https://[::ffff:127.0.0.1]:{port}/good"),
        format!("https://[::]:{port}/good"),
    ] {
        let err = fetcher
            .fetch(&url, ResourceKind::ClientMetadata)
            .await
            .unwrap_err();
        assert!(
            matches!(err, FetchError::ForbiddenAddress { .. }),
            "{url}: {err:?}"
        );
    }
    assert_eq!(server.accepts(), before);
}

// The default configuration is the production policy: loopback refused.
#[tokio::test]
async fn c11_loopback_is_refused_by_default() {
    let fetcher = Fetcher::new(FetcherConfig::default()).unwrap();
    assert!(!fetcher.config().allow_loopback);
    let err = fetcher
        .fetch("https://127.0.0.1:9/doc.json", ResourceKind::ClientMetadata)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        FetchError::ForbiddenAddress {
            stage: AddressStage::Literal,
            ..
        }
    ));
}
