//! In-crate tests of the fetcher that need its private seam: the post-connect address check
//! (C11, DNS rebinding) proven on a real loopback HTTPS exchange.

use std::sync::Arc;

use crossauthz_core::{AllowLoopback, SystemClock};

use super::*;

#[path = "../../tests/fetch_common/mod.rs"]
mod common;

// C11 (CIMD §6.5): "Test DNS rebinding by checking the address actually connected to." The
// resolver here lets loopback through (as a rebinding DNS answer would slip past a resolve-time
// check), but the policy for the connected peer forbids it: the fetch must fail at the
// `Connected` stage, after the request went out, and return nothing of the response.
#[tokio::test]
async fn c11_post_connect_check_catches_a_peer_the_resolver_let_through() {
    let server = common::TestServer::start().await;
    let fetcher = Fetcher::build(
        server.config(),
        Arc::new(SystemClock),
        AllowLoopback::Yes.into(),
        AllowLoopback::No.into(),
    )
    .unwrap();
    let err = fetcher
        .fetch(&server.url("/good"), ResourceKind::ClientMetadata)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::ForbiddenAddress {
                stage: AddressStage::Connected,
                reason: AddressRefusal::SpecialUse(_),
                ..
            }
        ),
        "{err:?}"
    );
    // The connection was made (this is the post-connect check, not the resolver's).
    assert_eq!(server.hits("/good"), 1);

    // And nothing is cached from it.
    let err = fetcher
        .get_validated(&server.url("/good"), ResourceKind::ClientMetadata, |_| {
            Ok(((), None))
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "fetch_forbidden_address");
    assert_eq!(fetcher.inner.cache.entry_count(), 0);
}

// The same split the other way round proves the resolver filter runs before any connection.
#[tokio::test]
async fn c11_resolver_filter_runs_before_connecting() {
    let server = common::TestServer::start().await;
    let fetcher = Fetcher::build(
        server.config(),
        Arc::new(SystemClock),
        AllowLoopback::No.into(),
        AllowLoopback::Yes.into(),
    )
    .unwrap();
    let err = fetcher
        .fetch(&server.url("/good"), ResourceKind::ClientMetadata)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::ForbiddenAddress {
                stage: AddressStage::Resolved,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.accepts(), 0);
}
