//! The demo's world: two development domains and beta's MCP resource server, all on loopback
//! under `.localhost` names (RFC 6761 §6.3), with one development CA.
//!
//! Each domain is a [`DevDomain`] — the same code `crossauthz start-dev` runs: every service in
//! the process, talking gRPC on loopback, state in its own SQLite file. Listeners are bound
//! first because every URL a domain publishes names its port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossauthz_core::clock::SystemClock;
use crossauthz_domain::{DevDomain, DevOptions};
use crossauthz_resource::{ProtectedResource, ResourceConfig, example_router, fetch};
use crossauthz_tls::DevCa;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

use crate::DemoError;

/// The host names of the demo.
pub const ALPHA_HOST: &str = "alpha.localhost";
/// The Authorization Server's domain.
pub const BETA_HOST: &str = "beta.localhost";
/// beta's MCP resource server.
pub const MCP_HOST: &str = "mcp.beta.localhost";

/// Two domains, the resource server, and an HTTP client that trusts the development CA and
/// resolves the demo's names to their listeners.
pub struct World {
    /// The domain that hosts the agents and issues their credentials.
    pub alpha: DevDomain,
    /// The domain whose Authorization Server the agents call.
    pub beta: DevDomain,
    /// beta's resource identifier, `https://mcp.beta.localhost:<port>/mcp`.
    pub resource: String,
    /// The client of every request the demo makes (as an agent, an admin, a browser).
    pub http: reqwest::Client,
    /// The development CA certificate file.
    pub ca_path: PathBuf,
    resource_server: Option<(oneshot::Sender<()>, JoinHandle<std::io::Result<()>>)>,
}

async fn bind_loopback() -> Result<(TcpListener, SocketAddr), DemoError> {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| DemoError::Setup(format!("cannot bind a loopback port: {e}")))?;
    let addr = l
        .local_addr()
        .map_err(|e| DemoError::Setup(format!("loopback listener: {e}")))?;
    Ok((l, addr))
}

fn https_url(host: &str, addr: SocketAddr) -> Result<Url, DemoError> {
    Url::parse(&format!("https://{host}:{}", addr.port()))
        .map_err(|e| DemoError::Setup(format!("URL of {host}: {e}")))
}

impl World {
    /// Starts alpha, beta and the resource server with their state under `dir`.
    pub async fn start(dir: &Path) -> Result<Self, DemoError> {
        let dev_ca = dir.join("dev-ca");
        let (alpha_l, alpha_addr) = bind_loopback().await?;
        let (beta_l, beta_addr) = bind_loopback().await?;
        let (mcp_l, mcp_addr) = bind_loopback().await?;

        let domain = |name: &str, url: Url, addr: SocketAddr| DevOptions {
            public_url: url,
            listen: addr,
            data_dir: dir.join(name),
            dev_ca_dir: dev_ca.clone(),
            admin_token: None,
        };
        let alpha = DevDomain::start_on(
            domain("alpha", https_url(ALPHA_HOST, alpha_addr)?, alpha_addr),
            alpha_l,
        )
        .await
        .map_err(|e| DemoError::Setup(format!("alpha did not start: {e}")))?;
        let beta = match DevDomain::start_on(
            domain("beta", https_url(BETA_HOST, beta_addr)?, beta_addr),
            beta_l,
        )
        .await
        {
            Ok(b) => b,
            Err(e) => {
                alpha.stop().await;
                return Err(DemoError::Setup(format!("beta did not start: {e}")));
            }
        };
        let mut world = Self {
            alpha,
            beta,
            resource: format!("https://{MCP_HOST}:{}/mcp", mcp_addr.port()),
            http: reqwest::Client::new(),
            ca_path: dev_ca.join("ca.pem"),
            resource_server: None,
        };
        if let Err(e) = world.start_resource_server(&dev_ca, mcp_l, beta_addr).await {
            world.stop().await;
            return Err(e);
        }
        let ca = reqwest::Certificate::from_pem(world.beta.ca_pem().as_bytes())
            .map_err(|e| DemoError::Setup(format!("development CA: {e}")))?;
        world.http = reqwest::Client::builder()
            .tls_certs_only([ca])
            .resolve(ALPHA_HOST, alpha_addr)
            .resolve(BETA_HOST, beta_addr)
            .resolve(MCP_HOST, mcp_addr)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| DemoError::Setup(format!("HTTP client: {e}")))?;
        Ok(world)
    }

    /// beta's example MCP resource server: RFC 9728 metadata, `POST /mcp` guarded by
    /// `logs:read`, tokens validated offline against beta's JWKS.
    async fn start_resource_server(
        &mut self,
        dev_ca: &Path,
        listener: TcpListener,
        beta_addr: SocketAddr,
    ) -> Result<(), DemoError> {
        let setup = |what: &str, e: &dyn std::fmt::Display| {
            DemoError::Setup(format!("resource server: {what}: {e}"))
        };
        let resource = Url::parse(&self.resource).map_err(|e| setup("identifier", &e))?;
        let beta = self.beta.public_url().clone();
        let mut config = ResourceConfig::new(resource, vec![beta]);
        config.extra_root_ca_pem = Some(self.beta.ca_pem().to_owned());
        config.scopes_supported = vec!["logs:read".into()];
        config.resource_name = Some("beta's operations logs (MCP)".into());
        let client = fetch::client_builder(&config)
            .map_err(|e| setup("config", &e))?
            .resolve(BETA_HOST, beta_addr)
            .build()
            .map_err(|e| setup("HTTP client", &e))?;
        let protected = ProtectedResource::with_http_client(config, client, Arc::new(SystemClock))
            .map_err(|e| setup("config", &e))?;
        let router = example_router(&protected).map_err(|e| setup("router", &e))?;
        let ca = DevCa::load_or_create(dev_ca).map_err(|e| setup("development CA", &e))?;
        let cert = ca
            .issue_server(&[MCP_HOST])
            .map_err(|e| setup("certificate", &e))?;
        let tls = crossauthz_tls::server_config(&cert.chain_pem, &cert.key_pem)
            .map_err(|e| setup("TLS", &e))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crossauthz_gateway::tls::serve_tls(
            listener,
            tls,
            router,
            async move {
                let _ = stopped.await;
            },
        ));
        self.resource_server = Some((stop, task));
        Ok(())
    }

    /// Stops everything.
    pub async fn stop(mut self) {
        if let Some((stop, task)) = self.resource_server.take() {
            let _ = stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        self.alpha.stop().await;
        self.beta.stop().await;
    }
}
