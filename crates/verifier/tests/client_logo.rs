//! C13 (CIMD §6.7): the client's `logo_uri` is prefetched through the SSRF-safe fetcher when
//! the client is resolved for the consent page, kept only if it is a PNG, JPEG, GIF or WebP
//! image (declared type = file signature, never SVG) within the size cap, and served from the
//! cache only. A refused logo never stops the client. Real HTTPS on loopback, real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod decide_support;

use crossauthz_proto::verifier::GetClientLogoRequest;
use crossauthz_proto::verifier::verifier_client::VerifierClient;
use crossauthz_testkit::GrpcServer;
use crossauthz_verifier::logo::logo_id;
use crossauthz_verifier::{DecideInput, ResolveInput, VerifierConfig, codes};
use decide_support::*;
use serde_json::{Value, json};
use tonic::transport::Server;

/// A minimal PNG signature and header (what the sniffer looks at).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!";
const SVG: &[u8] =
    b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"><script>alert(2)</script></svg>";
const REDIRECT: &str = "http://127.0.0.1:33418/callback";

async fn env() -> (Site, Alpha, Beta) {
    let site = Site::start().await;
    let beta = Beta::start(&site, true).await;
    let alpha = Alpha::new(&site, beta.now());
    (site, alpha, beta)
}

/// A public client's document naming `logo_uri`.
fn with_logo(agent: &Agent, logo_uri: &str) -> Value {
    json!({
        "client_id": agent.client_id,
        "client_name": "MCP client with a logo",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "logo_uri": logo_uri,
    })
}

async fn resolve(beta: &Beta, agent: &Agent) -> crossauthz_verifier::Resolution {
    let r = beta
        .service
        .resolve_client(ResolveInput {
            client_id: agent.client_id.clone(),
            redirect_uri: REDIRECT.into(),
        })
        .await
        .unwrap();
    assert!(r.ok, "a logo never stops a client: {r:?}");
    r
}

/// The `logo` word of the newest `client.resolved` audit record.
async fn logo_audit(beta: &Beta) -> String {
    let events = beta.events().await;
    let e = events
        .iter()
        .rev()
        .find(|e| e.kind == "client.resolved")
        .unwrap();
    e.details["logo"].as_str().unwrap().to_owned()
}

// C13: a PNG logo is fetched once, cached, and served by id from the cache.
#[tokio::test]
async fn c13_a_png_logo_is_prefetched_cached_and_served_from_the_cache() {
    let (site, alpha, beta) = env().await;
    let agent = alpha.agent(1);
    site.set("/logo.png", Route::typed("image/png", PNG));
    publish(
        &site,
        &agent,
        &with_logo(&agent, "https://alpha.test/logo.png"),
    );

    let r = resolve(&beta, &agent).await;
    assert_eq!(r.logo_id, logo_id(PNG));
    assert_eq!(r.logo_uri, "https://alpha.test/logo.png");
    assert_eq!(logo_audit(&beta).await, "cached");
    let logo = beta
        .service
        .client_logo(&agent.client_id, &r.logo_id)
        .await
        .unwrap();
    assert_eq!(logo.content_type, "image/png");
    assert_eq!(&logo.data[..], PNG);
    // Cached: a second resolution does not fetch the logo again.
    let r2 = resolve(&beta, &agent).await;
    assert_eq!(r2.logo_id, r.logo_id);
    assert_eq!(site.hits("/logo.png"), 1);

    // Only by the right id and client; the cache is never a way to fetch.
    assert!(
        beta.service
            .client_logo(&agent.client_id, &logo_id(b"other"))
            .await
            .is_none()
    );
    let stranger = alpha.agent(2);
    assert!(
        beta.service
            .client_logo(&stranger.client_id, &r.logo_id)
            .await
            .is_none()
    );
    assert_eq!(site.hits(&stranger.path), 0);

    // Over gRPC: the bytes and type; NOT_FOUND for an unknown id.
    let server =
        GrpcServer::start(Server::builder().add_service(beta.service.clone().grpc_server()))
            .await
            .unwrap();
    let mut client = VerifierClient::new(server.channel());
    let got = client
        .get_client_logo(GetClientLogoRequest {
            client_id: agent.client_id.clone(),
            logo_id: r.logo_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.content_type, "image/png");
    assert_eq!(got.data, PNG);
    let missing = client
        .get_client_logo(GetClientLogoRequest {
            client_id: agent.client_id.clone(),
            logo_id: logo_id(b"x"),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);

    // A denied request of that client drops its document and logo from the cache.
    let d = beta
        .decide(DecideInput {
            client_id: agent.client_id.clone(),
            grant_type: "client_credentials".into(),
            requested_scopes: vec!["status:read".into()],
            resource: MCP.into(),
            ..DecideInput::default()
        })
        .await;
    assert!(!d.allowed);
    assert!(
        beta.service
            .client_logo(&agent.client_id, &r.logo_id)
            .await
            .is_none()
    );
    server.stop().await;
    beta.finish().await;
}

// C13: SVG (script), a type that lies about its bytes, a logo above the cap, a redirect, an
// error status and a forbidden address are all refused — and the client still resolves, with
// no logo and the reason in the audit record.
#[tokio::test]
async fn c13_svg_mislabelled_oversized_redirected_and_ssrf_logos_are_refused() {
    let (site, alpha, beta) = env().await;
    site.set("/logo.svg", Route::typed("image/svg+xml", SVG));
    site.set("/svg-as-png", Route::typed("image/png", SVG));
    site.set("/gif-as-png", Route::typed("image/png", GIF));
    site.set(
        "/html",
        Route::typed("text/html", "<script>alert(1)</script>"),
    );
    let mut big = PNG.to_vec();
    big.resize(64 * 1024 + 1, 0);
    site.set("/big.png", Route::typed("image/png", big));
    let mut moved = Route::status(302);
    moved
        .headers
        .push(("location".into(), "https://alpha.test/logo.png".into()));
    site.set("/moved.png", moved);
    site.set("/logo.png", Route::typed("image/png", PNG));
    let cases = [
        ("https://alpha.test/logo.svg", "logo_content_type"),
        ("https://alpha.test/svg-as-png", "logo_not_an_image"),
        ("https://alpha.test/gif-as-png", "logo_not_an_image"),
        ("https://alpha.test/html", "logo_content_type"),
        ("https://alpha.test/big.png", "logo_too_large"),
        ("https://alpha.test/moved.png", "logo_status"),
        ("https://alpha.test/missing.png", "logo_status"),
        // C11: the cloud metadata address, and a private one, are never contacted.
        ("https://169.254.169.254/logo.png", "logo_ssrf_blocked"),
        ("https://10.0.0.1/logo.png", "logo_ssrf_blocked"),
    ];
    for (n, (uri, reason)) in cases.iter().enumerate() {
        let agent = alpha.agent(10 + n as u32);
        publish(&site, &agent, &with_logo(&agent, uri));
        let r = resolve(&beta, &agent).await;
        assert_eq!(r.logo_id, "", "{uri}");
        assert_eq!(&logo_audit(&beta).await, reason, "{uri}");
    }
    // The redirect was not followed.
    assert_eq!(site.hits("/logo.png"), 0);
    // A client that is refused never gets its logo fetched.
    let refused = alpha.agent(2);
    publish(
        &site,
        &refused,
        &with_logo(&refused, "https://alpha.test/logo.png"),
    );
    let r = beta
        .service
        .resolve_client(ResolveInput {
            client_id: refused.client_id.clone(),
            redirect_uri: "https://evil.test/cb".into(),
        })
        .await
        .unwrap();
    assert!(!r.ok);
    assert_eq!(r.deny.unwrap().code, codes::REDIRECT_URI_MISMATCH);
    assert_eq!(r.logo_id, "");
    assert_eq!(site.hits("/logo.png"), 0);
    beta.finish().await;
}

// C13 is a SHOULD: an operator can switch prefetching off; nothing is fetched then.
#[tokio::test]
async fn c13_logo_prefetch_can_be_switched_off() {
    let site = Site::start().await;
    let mut config = VerifierConfig::for_issuer(BETA);
    config.fetcher = site.fetcher_config(true);
    config.logo_prefetch = false;
    let beta = Beta::start_config(config).await;
    let alpha = Alpha::new(&site, beta.now());
    let agent = alpha.agent(1);
    site.set("/logo.png", Route::typed("image/png", PNG));
    publish(
        &site,
        &agent,
        &with_logo(&agent, "https://alpha.test/logo.png"),
    );
    let r = resolve(&beta, &agent).await;
    assert_eq!(r.logo_id, "");
    assert_eq!(logo_audit(&beta).await, "disabled");
    assert_eq!(site.hits("/logo.png"), 0);
    beta.finish().await;
}
