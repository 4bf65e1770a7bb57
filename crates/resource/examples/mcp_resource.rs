//! An example MCP-style resource server protected by a crossauthz Authorization Server:
//! `POST /mcp` (JSON-RPC, requires `logs:read`) and its RFC 9728 metadata, over HTTPS.
//!
//! ```text
//! MCP_RESOURCE=https://mcp.beta.localhost:8443/mcp \
//! MCP_AUTHORIZATION_SERVERS=https://beta.localhost:8444 \
//! MCP_BIND=127.0.0.1:8443 MCP_TLS_CERT=cert.pem MCP_TLS_KEY=key.pem \
//! MCP_EXTRA_ROOT_CA=ca.pem cargo run -p crossauthz-resource --example mcp_resource
//! ```
//! `MCP_TLS_CERT` is the certificate chain (PEM) for the resource's host; `MCP_EXTRA_ROOT_CA`
//! (optional) is the development CA the AS's certificate chains to.

use std::sync::Arc;

use anyhow::Context as _;
use crossauthz_core::SystemClock;
use crossauthz_resource::{ProtectedResource, ResourceConfig, example_router};

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set"))
}

fn read(name: &str) -> anyhow::Result<String> {
    let path = env(name)?;
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {name}={path}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let resource = env("MCP_RESOURCE")?.parse().context("MCP_RESOURCE")?;
    let servers = env("MCP_AUTHORIZATION_SERVERS")?
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<Vec<_>, _>>()
        .context("MCP_AUTHORIZATION_SERVERS")?;
    let mut config = ResourceConfig::new(resource, servers);
    config.scopes_supported = vec!["logs:read".into()];
    config.resource_name = Some("crossauthz example MCP server".into());
    if std::env::var_os("MCP_EXTRA_ROOT_CA").is_some() {
        config.extra_root_ca_pem = Some(read("MCP_EXTRA_ROOT_CA")?);
    }
    let protected = ProtectedResource::new(config, Arc::new(SystemClock))?;
    let router = example_router(&protected)?;
    let tls = crossauthz_tls::server_config(&read("MCP_TLS_CERT")?, &read("MCP_TLS_KEY")?)?;
    let bind = std::env::var("MCP_BIND").unwrap_or_else(|_| "127.0.0.1:8443".into());
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("cannot bind {bind}"))?;
    println!(
        "serving {} on https://{bind} (metadata: {})",
        protected.metadata().resource,
        protected.metadata_url()
    );
    crossauthz_gateway::tls::serve_tls(listener, tls, router, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
