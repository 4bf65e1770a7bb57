//! The two-domain OAuth world of the tests, on `localhost` only (distinct ports), kept running
//! for an independent client library (issue 5: the flows must work with a standard MCP/OAuth
//! client's CIMD support). Used by `examples/interop/run_mcp_client.sh`.
//!
//! `cargo run -p crossauthz-gateway --example oauth_interop_world -- <out.json>`: writes
//! `{"issuer", "resource", "client_id", "redirect_uri", "ca_file"}` to `<out.json>` (the CA
//! certificate beside it), then serves until its standard input is closed, and cleans up its
//! databases. Needs the test PostgreSQL (`CROSSAUTHZ_TEST_PG`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/oauth_common/mod.rs"]
mod oauth_common;

use std::time::Duration;

use crossauthz_gateway::oauth::OAuthConfig;
use oauth_common::{Hosts, REDIRECT, start_on};
use std::io::Read;

#[tokio::main]
async fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: oauth_interop_world <out.json>");
    let w = start_on(Hosts::LOCALHOST, OAuthConfig::default(), 5).await;
    let ca_file = format!("{out}.ca.pem");
    std::fs::write(&ca_file, &w.ca_pem).unwrap();
    let info = serde_json::json!({
        "issuer": w.beta,
        "resource": w.resource,
        "client_id": w.public_client,
        "redirect_uri": REDIRECT,
        "ca_file": ca_file,
    });
    let tmp = format!("{out}.tmp");
    std::fs::write(&tmp, info.to_string()).unwrap();
    std::fs::rename(&tmp, &out).unwrap();
    eprintln!("oauth interop world up: {info}");
    // Serve until stdin closes (bounded: at most ten minutes).
    let eof = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    });
    let _ = tokio::time::timeout(Duration::from_secs(600), eof).await;
    let grants = w.beta_events("grant.issued").await.len();
    eprintln!("oauth interop world: {grants} grant(s) issued; stopping");
    w.stop().await;
}
